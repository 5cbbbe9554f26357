/* oath.c - RFC 4226 HOTP and RFC 6238 TOTP codes, RFC 4648 base32, otpauth:// URIs, scratch codes. */
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "otp.h"
#include "internal.h"

static const char b32_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/* RFC 4226 s5.3 Digit: 10^digits, for 6..8 digits. */
static const uint32_t pow10_tab[OTP_TOK_DIGITS_MAX + 1] = {
	1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000
};

const char *otp_hmac_name(enum otp_hmac h)
{
	switch (h) {
	case OTP_HMAC_SHA1: return "SHA1";
	case OTP_HMAC_SHA256: return "SHA256";
	case OTP_HMAC_SHA512: return "SHA512";
	}
	return NULL;
}

enum otp_err otp_hmac_parse(const char *name, enum otp_hmac *h)
{
	static const enum otp_hmac all[] = { OTP_HMAC_SHA1, OTP_HMAC_SHA256, OTP_HMAC_SHA512 };

	if (name == NULL || h == NULL)
		return OTP_ERR_INVALID;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *n = otp_hmac_name(all[i]);

		if (strlen(name) == strlen(n) && strncasecmp(name, n, strlen(n)) == 0) {
			*h = all[i];
			return OTP_OK;
		}
	}
	return OTP_ERR_ALG;
}

enum otp_err otp_token_check(const struct otp_token *t)
{
	if (t == NULL)
		return OTP_ERR_INVALID;
	if (t->type != OTP_TOK_HOTP && t->type != OTP_TOK_TOTP)
		return OTP_ERR_TOKEN;
	if (otp_hmac_name(t->hmac) == NULL || t->digits < OTP_TOK_DIGITS_MIN ||
	    t->digits > OTP_TOK_DIGITS_MAX || t->secret_len < OTP_TOK_SECRET_MIN ||
	    t->secret_len > OTP_TOK_SECRET_MAX || t->nscratch > OTP_SCRATCH_MAX)
		return OTP_ERR_TOKEN;
	if (t->type == OTP_TOK_TOTP ? (t->step != 30 && t->step != 60) : t->step != 0)
		return OTP_ERR_TOKEN;
	if (t->type == OTP_TOK_HOTP && t->drift != 0)
		return OTP_ERR_TOKEN;
	if (t->drift < -OTP_TOTP_WINDOW_MAX || t->drift > OTP_TOTP_WINDOW_MAX)
		return OTP_ERR_TOKEN;
	for (unsigned i = 0; i < t->nscratch; i++)
		if (t->scratch[i] != OTP_SCRATCH_USED && t->scratch[i] > 99999999u)
			return OTP_ERR_TOKEN;
	return OTP_OK;
}

enum otp_err otp_hotp(enum otp_hmac h, const unsigned char *secret, size_t len,
                      uint64_t counter, unsigned digits, char *code)
{
	unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
	size_t maclen = 0;
	unsigned off;
	uint32_t bin;
	enum otp_err rc = OTP_ERR_CRYPTO;

	if (otp_hmac_name(h) == NULL)
		return OTP_ERR_ALG;
	if (secret == NULL || len == 0 || code == NULL || digits < OTP_TOK_DIGITS_MIN ||
	    digits > OTP_TOK_DIGITS_MAX)
		return OTP_ERR_INVALID;
	for (int i = 7; i >= 0; i--, counter >>= 8)
		msg[i] = (unsigned char)counter;
	if (otp_hmac_calc(h, secret, len, msg, sizeof(msg), mac, sizeof(mac), &maclen) != OTP_OK ||
	    maclen < 20)
		goto out;
	/* RFC 4226 s5.4 dynamic truncation. */
	off = mac[maclen - 1] & 0x0f;
	bin = (uint32_t)(mac[off] & 0x7f) << 24 | (uint32_t)mac[off + 1] << 16 |
	      (uint32_t)mac[off + 2] << 8 | mac[off + 3];
	bin %= pow10_tab[digits];
	for (unsigned i = digits; i > 0; i--, bin /= 10)
		code[i - 1] = (char)('0' + bin % 10);
	code[digits] = '\0';
	rc = OTP_OK;
out:
	otp_wipe(mac, sizeof(mac));
	otp_wipe(msg, sizeof(msg));
	otp_wipe(&bin, sizeof(bin));
	return rc;
}

uint64_t otp_totp_step(int64_t t, unsigned step)
{
	if (t < 0 || step == 0)
		return 0;
	return (uint64_t)t / step;
}

/* ---- base32 (RFC 4648 s6) ------------------------------------------------- */

enum otp_err otp_base32_encode(const unsigned char *in, size_t len, char *out, size_t size)
{
	size_t n = 0, need = (len * 8 + 4) / 5;
	unsigned acc = 0, bits = 0;

	if (in == NULL || out == NULL)
		return OTP_ERR_INVALID;
	if (need >= size)
		return OTP_ERR_BUFFER;
	for (size_t i = 0; i < len; i++) {
		acc = (acc << 8 | in[i]) & 0xfff;
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[n++] = b32_alphabet[(acc >> bits) & 31];
		}
	}
	if (bits > 0)
		out[n++] = b32_alphabet[(acc << (5 - bits)) & 31];
	out[n] = '\0';
	acc = 0;
	return OTP_OK;
}

static int b32_value(int c)
{
	c = otp_toupper(c);
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

enum otp_err otp_base32_decode(const char *s, unsigned char *out, size_t size, size_t *len)
{
	size_t n = 0, chars = 0, pad = 0, slen;
	unsigned acc = 0, bits = 0;
	enum otp_err rc = OTP_ERR_BASE32;

	if (s == NULL || out == NULL || len == NULL)
		return OTP_ERR_INVALID;
	*len = 0;
	slen = strnlen(s, OTP_BASE32_MAX + 8);
	if (slen > OTP_BASE32_MAX + 7) {
		rc = OTP_ERR_TOO_LONG;
		goto out;
	}
	while (chars < slen && s[chars] != '=')
		chars++;
	for (size_t i = chars; i < slen; i++) {
		if (s[i] != '=')
			goto out;
		pad++;
	}
	/* A final quantum of 2, 4, 5 or 7 letters; padding, if any, completes a block of 8. */
	switch (chars % 8) {
	case 1: case 3: case 6:
		goto out;
	}
	if (pad != 0 && (chars % 8 == 0 || (chars + pad) % 8 != 0))
		goto out;
	for (size_t i = 0; i < chars; i++) {
		int v = b32_value((unsigned char)s[i]);

		if (v < 0)
			goto out;
		acc = (acc << 5 | (unsigned)v) & 0xfff;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (n >= size) {
				rc = OTP_ERR_BUFFER;
				goto out;
			}
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	/* Canonical form only: the bits past the last byte must be zero. */
	if ((acc & ((1u << bits) - 1)) != 0)
		goto out;
	*len = n;
	rc = OTP_OK;
out:
	if (rc != OTP_OK)
		otp_wipe(out, size);
	acc = 0;
	return rc;
}

/* ---- otpauth:// URIs --------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t size, n;
	bool over;
};

static void put_raw(struct sbuf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (b->n + 1 >= b->size) {
			b->over = true;
			return;
		}
		b->p[b->n++] = *s;
	}
	b->p[b->n] = '\0';
}

/* RFC 3986 s2.3: everything but unreserved characters percent-encoded. */
static void put_pct(struct sbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char e[4];

		if (otp_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			e[0] = (char)c;
			e[1] = '\0';
		} else {
			e[0] = '%';
			e[1] = hex[c >> 4];
			e[2] = hex[c & 15];
			e[3] = '\0';
		}
		put_raw(b, e);
	}
}

enum otp_err otp_uri_format(const struct otp_token *t, const char *issuer, const char *host,
                            const char *user, char *out, size_t size)
{
	char secret[OTP_BASE32_MAX + 1], num[32];
	struct sbuf b = { .p = out, .size = size };
	enum otp_err rc;

	if (out == NULL || size == 0 || issuer == NULL || host == NULL || user == NULL)
		return OTP_ERR_INVALID;
	out[0] = '\0';
	if ((rc = otp_token_check(t)) != OTP_OK)
		return rc;
	if ((rc = otp_base32_encode(t->secret, t->secret_len, secret, sizeof(secret))) != OTP_OK)
		return rc;
	put_raw(&b, t->type == OTP_TOK_TOTP ? "otpauth://totp/" : "otpauth://hotp/");
	put_pct(&b, host);
	put_raw(&b, ":");
	put_pct(&b, user);
	put_raw(&b, "?secret=");
	put_raw(&b, secret);
	put_raw(&b, "&issuer=");
	put_pct(&b, issuer);
	put_raw(&b, "&algorithm=");
	put_raw(&b, otp_hmac_name(t->hmac));
	snprintf(num, sizeof(num), "&digits=%u", t->digits);
	put_raw(&b, num);
	if (t->type == OTP_TOK_TOTP)
		snprintf(num, sizeof(num), "&period=%u", t->step);
	else
		snprintf(num, sizeof(num), "&counter=%llu", (unsigned long long)t->counter);
	put_raw(&b, num);
	otp_wipe(secret, sizeof(secret));
	if (b.over) {
		otp_wipe(out, size);
		return OTP_ERR_BUFFER;
	}
	return OTP_OK;
}

/* ---- verification ------------------------------------------------------------ */

/* Whether a == b for two digit strings of the same length n, in constant time. */
static bool code_equal(const char *a, const char *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

enum otp_err otp_token_verify(struct otp_token *t, const char *code, int64_t now,
                              unsigned window, int *which)
{
	char want[OTP_TOK_DIGITS_MAX + 1];
	size_t n;
	uint64_t first, last, hit = 0, base;
	uint32_t v = 0;
	bool found = false, digits = true;
	unsigned slot = OTP_SCRATCH_MAX;
	enum otp_err rc;

	if (which == NULL || code == NULL)
		return OTP_ERR_INVALID;
	*which = 0;
	if ((rc = otp_token_check(t)) != OTP_OK)
		return rc;
	n = strnlen(code, OTP_TOK_DIGITS_MAX + 1);
	for (size_t i = 0; i < n; i++)
		if (code[i] < '0' || code[i] > '9')
			digits = false;
	if (!digits || n < OTP_TOK_DIGITS_MIN || n > OTP_TOK_DIGITS_MAX)
		return OTP_OK;

	if (t->type == OTP_TOK_TOTP) {
		if (window > OTP_TOTP_WINDOW_MAX)
			window = OTP_TOTP_WINDOW_MAX;
		base = otp_totp_step(now, t->step);
		first = base >= window ? base - window : 0;
		last = base + window;
	} else {
		if (window < 1)
			window = 1;
		if (window > OTP_HOTP_WINDOW_MAX)
			window = OTP_HOTP_WINDOW_MAX;
		base = t->counter;
		if (base > UINT64_MAX - window)
			return OTP_ERR_TOKEN;
		first = base;
		last = base + window - 1;
	}
	/* Every candidate is computed and compared, matched or not. */
	for (uint64_t c = first; c <= last; c++) {
		bool fresh = t->type == OTP_TOK_HOTP || c > t->counter;

		if ((rc = otp_hotp(t->hmac, t->secret, t->secret_len, c, t->digits, want)) != OTP_OK)
			goto out;
		if (n == t->digits && code_equal(want, code, n) && fresh && !found) {
			found = true;
			hit = c;
		}
	}
	if (n == OTP_SCRATCH_DIGITS) {
		for (size_t i = 0; i < n; i++)
			v = v * 10 + (uint32_t)(code[i] - '0');
		for (unsigned i = 0; i < t->nscratch; i++)
			if (CRYPTO_memcmp(&t->scratch[i], &v, sizeof(v)) == 0 && slot == OTP_SCRATCH_MAX)
				slot = i;
	}
	if (found) {
		*which = 1;
		if (t->type == OTP_TOK_TOTP) {
			t->counter = hit;
			t->drift = (int)((int64_t)hit - (int64_t)base);
		} else {
			t->counter = hit + 1;
		}
	} else if (slot < OTP_SCRATCH_MAX) {
		*which = 2;
		t->scratch[slot] = OTP_SCRATCH_USED;
	}
	rc = OTP_OK;
out:
	otp_wipe(want, sizeof(want));
	otp_wipe(&v, sizeof(v));
	return rc;
}

enum otp_err otp_scratch_random(uint32_t *code)
{
	uint32_t r;
	enum otp_err rc;

	/* Rejection sampling: uniform over 90,000,000 values. */
	do {
		if ((rc = otp_random_bytes(&r, sizeof(r))) != OTP_OK)
			return rc;
	} while (r >= 4230000000u);
	*code = 10000000u + r % 90000000u;
	otp_wipe(&r, sizeof(r));
	return OTP_OK;
}
