/* token.c - otpcalc --totp and --hotp: an RFC 6238 or RFC 4226 code from a base32 secret. */
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "otpcalc.h"

/* The token's parameters from the options into *t and *now; 0, 1 after saying why, or EXIT_USAGE. */
static int token_params(const struct opts *o, int argc, struct otp_token *t, int64_t *now)
{
	unsigned long n;

	if (argc != 0) {
		warnx("%s", _("--totp and --hotp take no SEQ, SEED or challenge"));
		return EXIT_USAGE;
	}
	if ((o->token == OTP_TOK_HOTP) != (o->counter != NULL) ||
	    (o->token == OTP_TOK_HOTP && (o->step != NULL || o->time != NULL))) {
		warnx("%s", _("--counter goes with --hotp (and is needed there); --step and --time with --totp"));
		return EXIT_USAGE;
	}
	if (o->hmac != NULL && otp_hmac_parse(o->hmac, &t->hmac) != OTP_OK) {
		warnx(_("HMAC algorithm \"%s\": want sha1, sha256 or sha512"), o->hmac);
		return 1;
	}
	if (o->digits != NULL) {
		if (otp_parse_uint(o->digits, OTP_TOK_DIGITS_MIN, OTP_TOK_DIGITS_MAX, &n) != OTP_OK) {
			warnx(_("digits \"%s\": want %d to %d"), o->digits, OTP_TOK_DIGITS_MIN,
			      OTP_TOK_DIGITS_MAX);
			return 1;
		}
		t->digits = (unsigned)n;
	}
	if (o->step != NULL) {
		if (otp_parse_uint(o->step, 30, 60, &n) != OTP_OK || (n != 30 && n != 60)) {
			warnx(_("step \"%s\": want 30 or 60 seconds"), o->step);
			return 1;
		}
		t->step = (unsigned)n;
	}
	if (o->time != NULL) {
		if (otp_parse_uint(o->time, 0, (unsigned long)INT64_MAX, &n) != OTP_OK) {
			warnx(_("time \"%s\": want seconds since 1970"), o->time);
			return 1;
		}
		*now = (int64_t)n;
	}
	if (o->counter != NULL) {
		unsigned long long c;
		char *end;

		errno = 0;
		c = strtoull(o->counter, &end, 10);
		if (o->counter[0] < '0' || o->counter[0] > '9' || *end != '\0' || errno != 0) {
			warnx(_("counter \"%s\": want a number from 0 to %llu"), o->counter,
			      (unsigned long long)UINT64_MAX);
			return 1;
		}
		t->counter = c;
	}
	return 0;
}

int run_token(const struct opts *o, int argc, struct secrets *s)
{
	struct otp_token t;
	char code[OTP_TOK_DIGITS_MAX + 1];
	size_t j = 0;
	int64_t now;
	enum otp_err e;
	int ret = 1;

	memset(&t, 0, sizeof(t));
	lock_secret(&t, sizeof(t));
	t.type = o->token;
	t.hmac = OTP_HMAC_SHA1;
	t.digits = 6;
	t.step = o->token == OTP_TOK_TOTP ? OTP_TOK_STEP_DEF : 0;
	now = (int64_t)time(NULL);
	if ((ret = token_params(o, argc, &t, &now)) != 0)
		goto out;
	ret = 1;
	if (read_passphrases(o, false, s) != 0)
		goto out;
	/* Authenticator apps show secrets in groups: blanks and hyphens do not count. */
	for (size_t i = 0; i < s->pass_len; i++)
		if (s->pass[i] != ' ' && s->pass[i] != '\t' && s->pass[i] != '-')
			s->line[j++] = s->pass[i];
	s->line[j] = '\0';
	e = otp_base32_decode(s->line, t.secret, sizeof(t.secret), &t.secret_len);
	if (e == OTP_OK && t.secret_len == 0)
		e = OTP_ERR_BASE32;
	if (e != OTP_OK) {
		warnx(_("secret: %s"), _(otp_strerror(e)));
		goto out;
	}
	e = otp_hotp(t.hmac, t.secret, t.secret_len,
	             o->token == OTP_TOK_TOTP ? otp_totp_step(now, t.step) : t.counter,
	             t.digits, code);
	if (e != OTP_OK) {
		warnx("%s", _(otp_strerror(e)));
		goto out;
	}
	if (t.secret_len < OTP_TOK_SECRET_MIN)
		warnx(_("warning: a secret of %zu bytes is short (RFC 4226 s4 R6: at least 16)"),
		      t.secret_len);
	printf("%s\n", code);
	ret = 0;
out:
	otp_wipe(code, sizeof(code));
	otp_wipe(&t, sizeof(t));
	(void)munlock(&t, sizeof(t));
	return ret;
}
