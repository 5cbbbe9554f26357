/* cli.c - what otpkey's commands share: one-line messages, checked arguments, input, output. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "otpkey.h"

/* Our own stdout buffer, so that responses and secrets printed can be wiped after. */
static char outbuf[8192];

void out_init(void)
{
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
}

bool out_flush(void)
{
	bool ok = fflush(stdout) == 0 && !ferror(stdout);

	otp_wipe(outbuf, sizeof(outbuf));
	return ok;
}

void errmsg(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("otpkey: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("otpkey: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " %s\n", _("(see otpkey --help)"));
	return EX_USAGE;
}

int bad_option(const char *cmd, int o, char **argv)
{
	const char *pre = cmd != NULL ? cmd : "", *sep = cmd != NULL ? ": " : "";

	if (o == ':')
		return usage_error(_("%s%soption %s needs a value"), pre, sep, argv[optind - 1]);
	if (optopt > 0 && optopt < 0x80)
		return usage_error(_("%s%sbad option -%c"), pre, sep, optopt);
	return usage_error(_("%s%sbad option %s"), pre, sep, argv[optind - 1]);
}

/*
 * The key store refused its files (OTP_ERR_DB_PERM): names the first
 * file or directory at fault and the command that fixes it.  Returns
 * false when none is found (a remote store, or a race): the library's
 * message then says what it must be.
 */
static bool db_perm_fix(const char *db)
{
	static const char *const sfx[] = { "", ".wal", ".lock", ".journal" };
	char p[PATH_MAX], dir[PATH_MAX];
	const char *slash = strrchr(db, '/');
	struct stat st;

	if (otp_db_is_remote(db) || slash == NULL)
		return false;
	snprintf(dir, sizeof(dir), "%.*s", slash == db ? 1 : (int)(slash - db), db);
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid != 0 && st.st_uid != geteuid()) {
		errmsg(_("%s: the key store's directory is not root's: fix with chown root %s"), dir, dir);
		return true;
	}
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & (S_IWGRP | S_IWOTH))) {
		errmsg(_("%s: the key store's directory is writable by others (mode %04o): "
		         "fix with chmod go-w %s"), dir, (unsigned)(st.st_mode & 07777), dir);
		return true;
	}
	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if ((size_t)snprintf(p, sizeof(p), "%s%s", db, sfx[i]) >= sizeof(p) || lstat(p, &st) != 0)
			continue;
		if (!S_ISREG(st.st_mode)) {
			errmsg(_("%s: not a regular file: the key store must be one"), p);
			return true;
		}
		if (st.st_uid != 0 && st.st_uid != geteuid()) {
			errmsg(_("%s: the key store is not root's: fix with chown root %s"), p, p);
			return true;
		}
		if (st.st_mode & (S_IRGRP | S_IROTH | S_IWGRP | S_IWOTH)) {
			errmsg(_("%s: the key store is open to group or others (mode %04o): "
			         "fix with chmod 600 %s"), p, (unsigned)(st.st_mode & 07777), p);
			return true;
		}
	}
	return false;
}

int db_error(const char *path, const char *user, enum otp_err rc)
{
	switch (rc) {
	case OTP_ERR_NOUSER:
		errmsg(_("%s: no key for this user"), user);
		break;
	case OTP_ERR_EXISTS:
		errmsg(_("%s: already has a key (use -f to replace it)"), user);
		break;
	case OTP_ERR_DB_PERM:
		if (db_perm_fix(otp_db_path(path)))
			break;
		/* FALLTHROUGH */
	case OTP_ERR_DB_MISSING:
	case OTP_ERR_DB_OPEN:
	case OTP_ERR_DB_LOCK:
	case OTP_ERR_DB_IO:
	case OTP_ERR_DB_CORRUPT:
	case OTP_ERR_DB_VERSION:
		errmsg("%s: %s", otp_db_path(path), _(otp_strerror(rc)));
		break;
	default:
		if (user != NULL)
			errmsg("%s: %s", user, _(otp_strerror(rc)));
		else
			errmsg("%s", _(otp_strerror(rc)));
		break;
	}
	return EX_FAIL;
}


bool check_user(const char *user)
{
	enum otp_err rc = otp_user_check(user);

	if (rc != OTP_OK)
		errmsg(_("bad user name: want 1 to %d printable ASCII characters without "
		         "blanks, ':' or '/', not starting with '-'"), OTP_USER_MAX);
	return rc == OTP_OK;
}

bool parse_num(const char *what, const char *s, unsigned long min, unsigned long max,
               unsigned *out)
{
	unsigned long v;

	if (otp_parse_uint(s, min, max, &v) != OTP_OK) {
		usage_error(_("%s must be a number from %lu to %lu"), what, min, max);
		return false;
	}
	*out = (unsigned)v;
	return true;
}

const char *fmt_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0)
		return _("never");
	if (localtime_r(&tt, &tm) == NULL || strftime(buf, size, "%Y-%m-%d %H:%M:%S %z", &tm) == 0)
		snprintf(buf, size, "@%lld", (long long)t);
	return buf;
}

bool read_input(const char *prompt, const char *what, bool secret, char *buf, size_t size,
                size_t *len)
{
	switch (read_input_line(prompt, secret, buf, size, len)) {
	case OTP_LINE_OK:
		if (*len > 0)
			return true;
		errmsg(_("empty %s"), what);
		return false;
	case OTP_LINE_EOF:
		errmsg(_("no %s given"), what);
		return false;
	case OTP_LINE_LONG:
		errmsg(_("%s too long"), what);
		return false;
	case OTP_LINE_BAD:
		errmsg(_("NUL byte in the %s"), what);
		return false;
	default:
		errmsg(_("cannot read the %s: %s"), what, strerror(errno));
		return false;
	}
}

/* The one argument: a checked user name, or NULL after reporting. */
const char *one_user(const char *cmd, int argc, char **argv, int *ret)
{
	if (argc == 3 && strcmp(argv[1], "--") == 0) {
		argc--;
		argv++;
	} else if (argc == 2 && argv[1][0] == '-') {
		argc = 0;       /* an option: none is taken */
	}
	if (argc != 2) {
		*ret = usage_error(_("%s: give one USER"), cmd);
		return NULL;
	}
	if (!check_user(argv[1])) {
		*ret = EX_FAIL;
		return NULL;
	}
	return argv[1];
}


bool parse_paper(const char *s, enum paper *p)
{
	if (strcmp(s, "a4") == 0 || strcmp(s, "A4") == 0)
		*p = PAPER_A4;
	else if (strcmp(s, "letter") == 0)
		*p = PAPER_LETTER;
	else {
		usage_error(_("unknown paper %s (a4 or letter)"), s);
		return false;
	}
	return true;
}

int sheet_option(int o, const char *arg, struct sheet_out *out)
{
	switch (o) {
	case 'o':
		out->text = arg;
		return 1;
	case OPT_PDF:
		out->pdf = arg;
		return 1;
	case OPT_PAPER:
		return parse_paper(arg, &out->paper) ? 1 : -1;
	default:
		return 0;
	}
}
