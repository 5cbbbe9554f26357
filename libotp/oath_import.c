/* oath_import.c - parsers for ~/.google_authenticator files and pam_oath users files: no I/O. */
#include <string.h>
#include <time.h>

#include "otp.h"
#include "internal.h"

#define OATH_FIELDS 7
#define FIELD_MAX   160     /* a 64-byte secret in hex is 128 characters */

/* A whole decimal field within [min, max]. */
static bool num(const struct otp_field *f, unsigned long long min, unsigned long long max,
                unsigned long long *out)
{
	unsigned long long v = 0;

	if (f->len == 0 || f->len > 20)
		return false;
	for (size_t i = 0; i < f->len; i++) {
		if (!otp_isdigit((unsigned char)f->p[i]) || v > (max - (unsigned)(f->p[i] - '0')) / 10)
			return false;
		v = v * 10 + (unsigned)(f->p[i] - '0');
	}
	if (v < min)
		return false;
	*out = v;
	return true;
}

/* ---- ~/.google_authenticator ------------------------------------------------ */

enum otp_import_res otp_import_ga_file(const char *text, size_t len, struct otp_token *tok,
                                       unsigned *lineno, const char **why)
{
	char buf[OTP_BASE32_MAX + 8];
	size_t pos = 0, ll, n;
	unsigned line = 0;
	bool totp = false, hotp = false, in_codes = false;
	unsigned long long v;
	enum otp_import_res res = OTP_IMPORT_BAD;

	*why = "malformed file";
	*lineno = 0;
	memset(tok, 0, sizeof(*tok));
	memset(buf, 0, sizeof(buf));
	if (text == NULL || len > OTP_GA_FILE_MAX) {
		*why = "file too long";
		goto out;
	}
	if (memchr(text, '\0', len) != NULL) {
		*why = "NUL byte in the file";
		goto out;
	}
	tok->hmac = OTP_HMAC_SHA1;
	tok->digits = 6;
	tok->step = OTP_TOK_STEP_DEF;
	while (pos < len) {
		const char *l = text + pos;
		const char *nl = memchr(l, '\n', len - pos);
		struct otp_field f[4];

		ll = nl != NULL ? (size_t)(nl - l) : len - pos;
		pos += ll + (nl != NULL);
		if (ll > 0 && l[ll - 1] == '\r')
			ll--;
		*lineno = ++line;
		if (line == 1) {
			if (ll == 0 || ll >= sizeof(buf)) {
				*why = "the first line is not a base32 secret";
				goto out;
			}
			memcpy(buf, l, ll);
			buf[ll] = '\0';
			if (otp_base32_decode(buf, tok->secret, sizeof(tok->secret), &tok->secret_len)
			    != OTP_OK || tok->secret_len < OTP_TOK_SECRET_MIN) {
				*why = "the first line is not a base32 secret of 10 to 64 bytes";
				goto out;
			}
			continue;
		}
		n = otp_fields_split(l, ll, f, 3);
		if (n == 0)
			continue;
		if (l[0] == '"') {
			if (in_codes || !otp_field_is(&f[0], "\"") || n < 2) {
				*why = "misplaced or malformed option line";
				goto out;
			}
			if (otp_field_is(&f[1], "TOTP_AUTH") && n == 2) {
				totp = true;
			} else if (otp_field_is(&f[1], "HOTP_COUNTER") && n == 3 &&
			           num(&f[2], 0, UINT64_MAX - OTP_HOTP_WINDOW_MAX, &v)) {
				hotp = true;
				tok->counter = v;
			} else if (otp_field_is(&f[1], "STEP_SIZE") && n == 3 && num(&f[2], 30, 60, &v) &&
			           (v == 30 || v == 60)) {
				tok->step = (unsigned)v;
			} else if (!otp_field_is(&f[1], "RATE_LIMIT") && !otp_field_is(&f[1], "WINDOW_SIZE") &&
			           !otp_field_is(&f[1], "DISALLOW_REUSE")) {
				*why = "unknown or unsupported option";
				goto out;
			}
			continue;
		}
		in_codes = true;
		if (n != 1 || f[0].len != OTP_SCRATCH_DIGITS || !num(&f[0], 10000000, 99999999, &v)) {
			*why = "a scratch code is not 8 digits";
			goto out;
		}
		if (tok->nscratch == OTP_SCRATCH_MAX) {
			*why = "more than 10 scratch codes";
			goto out;
		}
		tok->scratch[tok->nscratch++] = (uint32_t)v;
	}
	if (line == 0) {
		*why = "empty file";
		goto out;
	}
	*lineno = 0;
	if (totp == hotp) {
		*why = totp ? "both TOTP_AUTH and HOTP_COUNTER" : "neither TOTP_AUTH nor HOTP_COUNTER";
		goto out;
	}
	tok->type = totp ? OTP_TOK_TOTP : OTP_TOK_HOTP;
	if (hotp)
		tok->step = 0;
	if (otp_token_check(tok) != OTP_OK) {
		*why = "bad token parameters";
		goto out;
	}
	res = OTP_IMPORT_OK;
	*why = NULL;
out:
	otp_wipe(buf, sizeof(buf));
	if (res != OTP_IMPORT_OK)
		otp_wipe(tok, sizeof(*tok));
	return res;
}

/* ---- pam_oath users file ------------------------------------------------------ */

/* "HOTP", "HOTP/E", "HOTP/E/8", "HOTP/T30", "HOTP/T60/7". */
static bool oath_type(const struct otp_field *f, struct otp_token *tok)
{
	char t[16];
	char *p;

	if (f->len >= sizeof(t))
		return false;
	memcpy(t, f->p, f->len);
	t[f->len] = '\0';
	if (strncmp(t, "HOTP", 4) != 0)
		return false;
	p = t + 4;
	tok->type = OTP_TOK_HOTP;
	tok->digits = 6;
	if (*p == '\0')
		return true;
	if (*p++ != '/')
		return false;
	if (*p == 'E') {
		p++;
	} else if (strncmp(p, "T30", 3) == 0 || strncmp(p, "T60", 3) == 0) {
		tok->type = OTP_TOK_TOTP;
		tok->step = p[1] == '3' ? 30 : 60;
		p += 3;
	} else {
		return false;
	}
	if (*p == '\0')
		return true;
	if (p[0] != '/' || p[1] < '6' || p[1] > '8' || p[2] != '\0')
		return false;
	tok->digits = (unsigned)(p[1] - '0');
	return true;
}

/* "2009-12-07T15:39:13L": local time, as liboath writes it. */
static bool oath_time(const struct otp_field *f, int64_t *out)
{
	static const unsigned lens[6] = { 4, 2, 2, 2, 2, 2 };
	static const char seps[6] = { '-', '-', 'T', ':', ':', 'L' };
	int v[6];
	size_t i = 0;
	struct tm tm;
	time_t t;

	for (int k = 0; k < 6; k++) {
		v[k] = 0;
		for (unsigned d = 0; d < lens[k]; d++, i++) {
			if (i >= f->len || !otp_isdigit((unsigned char)f->p[i]))
				return false;
			v[k] = v[k] * 10 + (f->p[i] - '0');
		}
		if (i >= f->len || f->p[i++] != seps[k])
			return false;
	}
	if (i != f->len || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 ||
	    v[4] > 59 || v[5] > 60 || v[0] < 1970)
		return false;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) == (time_t)-1 || t < 0)
		return false;
	*out = (int64_t)t;
	return true;
}

enum otp_import_res otp_import_oath_line(const char *line, size_t len,
                                         char user[OTP_USER_MAX + 1],
                                         struct otp_token *tok, const char **why)
{
	struct otp_field f[OATH_FIELDS];
	size_t n, i = 0;
	unsigned long long v = 0;
	int64_t t;
	enum otp_import_res res = OTP_IMPORT_BAD;

	*why = "malformed line";
	memset(tok, 0, sizeof(*tok));
	user[0] = '\0';
	if (line == NULL || memchr(line, '\0', len) != NULL) {
		*why = "NUL byte in the line";
		goto out;
	}
	while (i < len && otp_isblank_line((unsigned char)line[i]))
		i++;
	if (i == len || line[i] == '#') {
		*why = NULL;
		return OTP_IMPORT_IGNORE;
	}
	n = otp_fields_split(line, len, f, OATH_FIELDS);
	if (n < 4 || n > OATH_FIELDS) {
		*why = "want TYPE USER PIN SECRET [COUNTER [LASTOTP [TIME]]]";
		goto out;
	}
	for (size_t k = 0; k < n; k++)
		if (f[k].len > FIELD_MAX) {
			*why = "field too long";
			goto out;
		}
	if (!oath_type(&f[0], tok)) {
		*why = "unknown token type (want HOTP, HOTP/E[/D] or HOTP/T30|T60[/D])";
		goto out;
	}
	if (f[1].len > OTP_USER_MAX) {
		*why = "bad user name";
		goto out;
	}
	memcpy(user, f[1].p, f[1].len);
	user[f[1].len] = '\0';
	if (otp_user_check(user) != OTP_OK) {
		*why = "bad user name";
		goto out;
	}
	if (!otp_field_is(&f[2], "-")) {
		*why = "a PIN (static password) is not supported: want \"-\"";
		goto out;
	}
	if (f[3].len % 2 != 0 || f[3].len / 2 < OTP_TOK_SECRET_MIN ||
	    f[3].len / 2 > OTP_TOK_SECRET_MAX) {
		*why = "the secret must be 10 to 64 bytes in hex";
		goto out;
	}
	for (size_t k = 0; k < f[3].len; k += 2) {
		int hi = otp_hexval((unsigned char)f[3].p[k]), lo = otp_hexval((unsigned char)f[3].p[k + 1]);

		if (hi < 0 || lo < 0) {
			*why = "the secret is not hexadecimal";
			goto out;
		}
		tok->secret[k / 2] = (unsigned char)(hi << 4 | lo);
	}
	tok->secret_len = f[3].len / 2;
	tok->hmac = OTP_HMAC_SHA1;
	if (n >= 5 && !num(&f[4], 0, UINT64_MAX - OTP_HOTP_WINDOW_MAX - 1, &v)) {
		*why = "bad counter";
		goto out;
	}
	if (n >= 6 && (f[5].len < OTP_TOK_DIGITS_MIN || f[5].len > OTP_TOK_DIGITS_MAX ||
	               !num(&f[5], 0, 99999999, &(unsigned long long){ 0 }))) {
		*why = "bad last OTP";
		goto out;
	}
	if (n >= 7 && !oath_time(&f[6], &t)) {
		*why = "bad time (want YYYY-MM-DDTHH:MM:SSL)";
		goto out;
	}
	if (tok->type == OTP_TOK_HOTP) {
		tok->counter = v + (n >= 6 ? 1 : 0);
	} else if (n >= 7) {
		tok->counter = otp_totp_step(t, tok->step);
	}
	if (otp_token_check(tok) != OTP_OK) {
		*why = "bad token parameters";
		goto out;
	}
	res = OTP_IMPORT_OK;
	*why = NULL;
out:
	if (res != OTP_IMPORT_OK) {
		otp_wipe(tok, sizeof(*tok));
		otp_wipe(user, OTP_USER_MAX + 1);
	}
	return res;
}
