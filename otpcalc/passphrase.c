/* passphrase.c - otpcalc's pass phrases: from the terminal, standard input or a file; checked; locked in memory. */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "otpcalc.h"

void lock_secret(void *p, size_t n)
{
	static bool said;

	if (mlock(p, n) == 0 || said)
		return;
	said = true;
	warn("%s", _("warning: cannot lock the pass phrase in memory; it may be written to swap"));
}

/* Prints the one line that says why a pass phrase could not be read. */
static void line_error(enum otp_line rc, const char *what, const char *from)
{
	switch (rc) {
	case OTP_LINE_EOF:
		warnx(_("no %s on %s"), what, from);
		break;
	case OTP_LINE_LONG:
		warnx(_("%s from %s: %s"), what, from, _(otp_strerror(OTP_ERR_PASS_LONG)));
		break;
	case OTP_LINE_BAD:
		warnx(_("%s from %s contains a NUL byte"), what, from);
		break;
	case OTP_LINE_ERR:
		warn(_("cannot read %s from %s"), what, from);
		break;
	case OTP_LINE_OK:
		break;
	}
}

int read_passphrases(const struct opts *o, bool want_new, struct secrets *s)
{
	enum otp_line rc = OTP_LINE_OK;
	const char *from;
	int fd = -1, ret = 1;

	if (o->pass_file != NULL) {
		from = o->pass_file;
		fd = open(o->pass_file, O_RDONLY | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			warn("%s", o->pass_file);
			goto out;
		}
	} else if (isatty(STDIN_FILENO)) {
		from = _("the terminal");
		rc = otp_read_tty(_("Secret pass phrase: "), false, s->pass, sizeof(s->pass), &s->pass_len);
		if (rc != OTP_LINE_OK) {
			line_error(rc, _("pass phrase"), from);
			goto out;
		}
		if (want_new) {
			rc = otp_read_tty(_("New secret pass phrase: "), false, s->newpass, sizeof(s->newpass),
			              &s->newpass_len);
			if (rc == OTP_LINE_OK)
				rc = otp_read_tty(_("New secret pass phrase again: "), false, s->again,
				              sizeof(s->again), &s->again_len);
			if (rc != OTP_LINE_OK) {
				line_error(rc, _("new pass phrase"), from);
				goto out;
			}
			if (!otp_secret_equal(s->newpass, s->newpass_len, s->again, s->again_len)) {
				warnx("%s", _("the new pass phrases do not match"));
				goto out;
			}
		}
		ret = 0;
		goto out;
	} else {
		from = _("standard input");
		fd = STDIN_FILENO;
	}

	rc = otp_read_line(fd, s->pass, sizeof(s->pass), &s->pass_len);
	if (rc != OTP_LINE_OK) {
		line_error(rc, _("pass phrase"), from);
		goto out;
	}
	if (want_new) {
		rc = otp_read_line(fd, s->newpass, sizeof(s->newpass), &s->newpass_len);
		if (rc != OTP_LINE_OK) {
			line_error(rc, _("new pass phrase (second line)"), from);
			goto out;
		}
	}
	ret = 0;
out:
	if (fd > STDIN_FILENO)
		(void)close(fd);
	return ret;
}

int check_passphrase(const char *what, const char *pass, size_t len, bool *warn_long)
{
	enum otp_err e = otp_passphrase_check(pass, len, warn_long);

	if (e == OTP_OK)
		return 0;
	if (what != NULL)
		warnx("%s: %s", what, _(otp_strerror(e)));
	else
		warnx("%s", _(otp_strerror(e)));
	return 1;
}
