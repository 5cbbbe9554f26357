/* challenge.c - "otp-md5 498 seed ext" challenges and RFC 2243 extended responses. */
#include <stdio.h>
#include <string.h>

#include "otp.h"
#include "internal.h"

static int is_blank(int c)
{
	return c == ' ' || c == '\t';
}

static const char *skip_ws(const char *s)
{
	while (otp_isspace((unsigned char)*s))
		s++;
	return s;
}

/* Copies the token [s, end) into buf (size n) with surrounding whitespace trimmed. */
static enum otp_err copy_trimmed(const char *s, const char *end, char *buf, size_t n)
{
	size_t len;

	s = skip_ws(s);
	while (end > s && otp_isspace((unsigned char)end[-1]))
		end--;
	len = (size_t)(end - s);
	if (len >= n)
		return OTP_ERR_TOO_LONG;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return OTP_OK;
}

static enum otp_err parse_challenge(const char *s, struct otp_challenge *c)
{
	char tok[OTP_SEED_MAX + 2];
	unsigned long seq;
	size_t n;
	enum otp_err rc;

	s = skip_ws(s);
	if (strncmp(s, "otp-", 4) != 0)
		return OTP_ERR_CHALLENGE;
	s += 4;

	for (n = 0; s[n] != '\0' && !otp_isspace((unsigned char)s[n]); n++)
		if (n >= 4)
			return OTP_ERR_ALG;
	memcpy(tok, s, n);
	tok[n] = '\0';
	if (otp_alg_parse(tok, &c->alg) != OTP_OK)
		return OTP_ERR_ALG;
	s += n;

	if (!is_blank((unsigned char)*s))
		return OTP_ERR_CHALLENGE;
	while (is_blank((unsigned char)*s))
		s++;
	for (n = 0; s[n] >= '0' && s[n] <= '9'; n++)
		if (n >= 4)
			return OTP_ERR_SEQ;
	if (n == 0 || !is_blank((unsigned char)s[n]))
		return OTP_ERR_CHALLENGE;
	memcpy(tok, s, n);
	tok[n] = '\0';
	if (otp_parse_uint(tok, 0, OTP_SEQ_MAX, &seq) != OTP_OK)
		return OTP_ERR_SEQ;
	c->seq = (unsigned)seq;
	s += n;

	while (is_blank((unsigned char)*s))
		s++;
	/* A comma may follow the seed directly in a pasted "seed, Response:" prompt. */
	for (n = 0; s[n] != '\0' && !otp_isspace((unsigned char)s[n]) && s[n] != ','; n++)
		if (n > OTP_SEED_MAX)
			return OTP_ERR_SEED_LEN;
	memcpy(tok, s, n);
	tok[n] = '\0';
	if ((rc = otp_seed_check(tok)) != OTP_OK)
		return rc;
	memcpy(c->seed, tok, n + 1);
	otp_ascii_lower(c->seed);
	s += n;

	if (otp_isspace((unsigned char)*s)) {
		s = skip_ws(s);
		if (strncmp(s, "ext", 3) == 0 &&
		    (s[3] == '\0' || s[3] == ',' || otp_isspace((unsigned char)s[3])))
			c->ext = true;
	}
	return OTP_OK;
}

/* On failure *c is left zeroed, never half-filled. */
enum otp_err otp_challenge_parse(const char *s, struct otp_challenge *c)
{
	enum otp_err rc;

	memset(c, 0, sizeof(*c));
	if (s == NULL)
		return OTP_ERR_INVALID;
	if ((rc = parse_challenge(s, c)) != OTP_OK)
		memset(c, 0, sizeof(*c));
	return rc;
}

enum otp_err otp_challenge_format(const struct otp_challenge *c, char *buf, size_t size)
{
	const char *alg = otp_alg_name(c->alg);
	int n;

	if (alg == NULL)
		return OTP_ERR_ALG;
	if (c->seq > OTP_SEQ_MAX)
		return OTP_ERR_SEQ;
	if (otp_seed_check(c->seed) != OTP_OK)
		return OTP_ERR_INVALID;
	n = snprintf(buf, size, "otp-%s %u %s%s", alg, c->seq, c->seed, c->ext ? " ext" : "");
	if (n < 0 || (size_t)n >= size)
		return OTP_ERR_BUFFER;
	return OTP_OK;
}

/* new-params: "<alg> <seq> <seed>", any case, any whitespace around the fields. */
static enum otp_err parse_params(const char *s, const char *end, struct otp_challenge *c)
{
	char buf[64], *alg, *seq, *seed, *save = NULL;
	unsigned long n;
	enum otp_err rc;

	memset(c, 0, sizeof(*c));
	if ((rc = copy_trimmed(s, end, buf, sizeof(buf))) != OTP_OK)
		return OTP_ERR_RESPONSE;
	otp_ascii_lower(buf);
	alg = strtok_r(buf, " \t\r\n\v\f", &save);
	seq = strtok_r(NULL, " \t\r\n\v\f", &save);
	seed = strtok_r(NULL, " \t\r\n\v\f", &save);
	if (seed == NULL || strtok_r(NULL, " \t\r\n\v\f", &save) != NULL)
		return OTP_ERR_RESPONSE;
	if (otp_alg_parse(alg, &c->alg) != OTP_OK)
		return OTP_ERR_ALG;
	if (strlen(seq) > 4 || otp_parse_uint(seq, 1, OTP_SEQ_MAX, &n) != OTP_OK)
		return OTP_ERR_SEQ;
	c->seq = (unsigned)n;
	if ((rc = otp_seed_check(seed)) != OTP_OK)
		return rc;
	memcpy(c->seed, seed, strlen(seed) + 1);
	c->ext = true;
	return OTP_OK;
}

/* Decodes one labelled OTP field [s, end) as hex or six words. */
static enum otp_err decode_field(const char *s, const char *end, bool hex, otp_key *out)
{
	char buf[OTP_RESPONSE_MAX + 1];
	enum otp_err rc;

	if (copy_trimmed(s, end, buf, sizeof(buf)) != OTP_OK)
		return OTP_ERR_TOO_LONG;
	rc = hex ? otp_key_from_hex(buf, out) : otp_key_from_words(buf, out);
	otp_wipe(buf, sizeof(buf));
	return rc;
}

static enum otp_err parse_standard(const char *s, struct otp_response *r)
{
	enum otp_err wrc, hrc;

	r->type = OTP_RESP_STANDARD;
	if (*skip_ws(s) == '\0')
		return OTP_ERR_RESPONSE;
	wrc = otp_key_from_words(s, &r->cand[r->ncand]);
	if (wrc == OTP_OK)
		r->ncand++;
	hrc = otp_key_from_hex(s, &r->cand[r->ncand]);
	if (hrc == OTP_OK)
		r->ncand++;
	if (r->ncand > 0)
		return OTP_OK;
	/* Neither reading: name the more likely mistake. */
	for (const char *p = s; *p != '\0'; p++) {
		int ch = (unsigned char)*p;

		if (!otp_isspace(ch) && !((ch >= '0' && ch <= '9') ||
		    (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F')))
			return wrc;
	}
	return hrc;
}

enum otp_err otp_response_parse(const char *s, struct otp_response *r)
{
	static const struct {
		const char *name;
		enum otp_resp_type type;
	} types[] = {
		{ "hex", OTP_RESP_HEX }, { "word", OTP_RESP_WORD },
		{ "init-hex", OTP_RESP_INIT_HEX }, { "init-word", OTP_RESP_INIT_WORD },
	};
	const char *colon, *p, *end;
	const char *f[3];
	char type[16];
	size_t len, nf = 0;
	bool hex;
	enum otp_err rc;

	memset(r, 0, sizeof(*r));
	if (s == NULL)
		return OTP_ERR_INVALID;
	len = strnlen(s, OTP_RESPONSE_MAX + 1);
	if (len > OTP_RESPONSE_MAX)
		return OTP_ERR_TOO_LONG;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch < 0x20 && !otp_isspace(ch)) || ch == 0x7f)
			return OTP_ERR_RESPONSE;
	}
	end = s + len;
	colon = strchr(s, ':');
	if (colon == NULL)
		return parse_standard(s, r);

	if (copy_trimmed(s, colon, type, sizeof(type)) != OTP_OK)
		return OTP_ERR_RESPONSE_TYPE;
	otp_ascii_lower(type);
	rc = OTP_ERR_RESPONSE_TYPE;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcmp(type, types[i].name) == 0) {
			r->type = types[i].type;
			rc = OTP_OK;
		}
	}
	if (rc != OTP_OK)
		return rc;

	/* Split the arguments at the colons: f[i] starts each one. */
	for (p = colon + 1;; p++) {
		if (nf == 3)
			return OTP_ERR_RESPONSE;
		f[nf++] = p;
		p = strchr(p, ':');
		if (p == NULL)
			break;
	}
	hex = r->type == OTP_RESP_HEX || r->type == OTP_RESP_INIT_HEX;
	if (r->type == OTP_RESP_HEX || r->type == OTP_RESP_WORD) {
		if (nf != 1)
			return OTP_ERR_RESPONSE;
		rc = decode_field(f[0], end, hex, &r->cand[0]);
		if (rc == OTP_OK)
			r->ncand = 1;
		return rc;
	}

	if (nf != 3)
		return OTP_ERR_RESPONSE;
	if ((rc = decode_field(f[0], f[1] - 1, hex, &r->cand[0])) != OTP_OK)
		return rc;
	r->ncand = 1;
	/* The current OTP stands; a bad new part is reported, not fatal (RFC 2243 s4.3). */
	r->init_err = parse_params(f[1], f[2] - 1, &r->new_chal);
	if (r->init_err == OTP_OK)
		r->init_err = decode_field(f[2], end, hex, &r->new_key);
	return OTP_OK;
}

enum otp_err otp_response_format_init(enum otp_resp_type type, const otp_key *cur,
                                      const struct otp_challenge *new_chal,
                                      const otp_key *new_key, char *buf, size_t size)
{
	char a[OTP_WORDS_BUFSZ], b[OTP_WORDS_BUFSZ];
	const char *alg = otp_alg_name(new_chal->alg);
	enum otp_err rc = OTP_OK;
	int n;

	if (alg == NULL)
		return OTP_ERR_ALG;
	if (new_chal->seq < 1 || new_chal->seq > OTP_SEQ_MAX)
		return OTP_ERR_SEQ;
	if ((rc = otp_seed_check(new_chal->seed)) != OTP_OK)
		return rc;
	if (type == OTP_RESP_INIT_HEX) {
		otp_key_to_hex(cur, a);
		otp_key_to_hex(new_key, b);
	} else if (type == OTP_RESP_INIT_WORD) {
		otp_key_to_words(cur, a);
		otp_key_to_words(new_key, b);
	} else {
		return OTP_ERR_RESPONSE_TYPE;
	}
	n = snprintf(buf, size, "%s:%s:%s %u %s:%s",
	             type == OTP_RESP_INIT_HEX ? "init-hex" : "init-word",
	             a, alg, new_chal->seq, new_chal->seed, b);
	if (n < 0 || (size_t)n >= size) {
		otp_wipe(buf, size);
		rc = OTP_ERR_BUFFER;
	}
	otp_wipe(a, sizeof(a));
	otp_wipe(b, sizeof(b));
	return rc;
}
