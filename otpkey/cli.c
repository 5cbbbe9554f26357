/* cli.c - what otpkey's commands share: one-line messages, checked arguments, input, output. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	fputs(" (see otpkey --help)\n", stderr);
	return EX_USAGE;
}

int bad_option(const char *cmd, int o, char **argv)
{
	const char *pre = cmd != NULL ? cmd : "", *sep = cmd != NULL ? ": " : "";

	if (o == ':')
		return usage_error("%s%soption %s needs a value", pre, sep, argv[optind - 1]);
	if (optopt > 0 && optopt < 0x80)
		return usage_error("%s%sbad option -%c", pre, sep, optopt);
	return usage_error("%s%sbad option %s", pre, sep, argv[optind - 1]);
}

int db_error(const char *path, const char *user, enum otp_err rc)
{
	switch (rc) {
	case OTP_ERR_NOUSER:
		errmsg("%s: no key for this user", user);
		break;
	case OTP_ERR_EXISTS:
		errmsg("%s: already has a key (use -f to replace it)", user);
		break;
	case OTP_ERR_DB_MISSING:
	case OTP_ERR_DB_OPEN:
	case OTP_ERR_DB_PERM:
	case OTP_ERR_DB_LOCK:
	case OTP_ERR_DB_IO:
	case OTP_ERR_DB_CORRUPT:
	case OTP_ERR_DB_VERSION:
		errmsg("%s: %s", otp_db_path(path), otp_strerror(rc));
		break;
	default:
		if (user != NULL)
			errmsg("%s: %s", user, otp_strerror(rc));
		else
			errmsg("%s", otp_strerror(rc));
		break;
	}
	return EX_FAIL;
}


bool check_user(const char *user)
{
	enum otp_err rc = otp_user_check(user);

	if (rc != OTP_OK)
		errmsg("bad user name: want 1 to %d printable ASCII characters without "
		       "blanks, ':' or '/', not starting with '-'", OTP_USER_MAX);
	return rc == OTP_OK;
}

bool parse_num(const char *what, const char *s, unsigned long min, unsigned long max,
               unsigned *out)
{
	unsigned long v;

	if (otp_parse_uint(s, min, max, &v) != OTP_OK) {
		usage_error("%s must be a number from %lu to %lu", what, min, max);
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
		return "never";
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
		errmsg("empty %s", what);
		return false;
	case OTP_LINE_EOF:
		errmsg("no %s given", what);
		return false;
	case OTP_LINE_LONG:
		errmsg("%s too long", what);
		return false;
	case OTP_LINE_BAD:
		errmsg("NUL byte in the %s", what);
		return false;
	default:
		errmsg("cannot read the %s: %s", what, strerror(errno));
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
		*ret = usage_error("%s: give one USER", cmd);
		return NULL;
	}
	if (!check_user(argv[1])) {
		*ret = EX_FAIL;
		return NULL;
	}
	return argv[1];
}

