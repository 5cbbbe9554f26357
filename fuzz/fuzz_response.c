/*
 * fuzz_response.c - otp_response_parse over six words, hex and every RFC 2243
 * form: results are consistent, case does not matter, and what parses
 * re-encodes and parses back to the same keys.
 */
#include "otp.h"
#include "fuzz.h"

static bool same_chal(const struct otp_challenge *a, const struct otp_challenge *b)
{
	return a->alg == b->alg && a->seq == b->seq && a->ext == b->ext &&
	       strcmp(a->seed, b->seed) == 0;
}

static bool same(const struct otp_response *a, const struct otp_response *b)
{
	if (a->type != b->type || a->ncand != b->ncand || a->init_err != b->init_err)
		return false;
	for (unsigned i = 0; i < a->ncand; i++)
		if (!otp_key_equal(&a->cand[i], &b->cand[i]))
			return false;
	if (a->type == OTP_RESP_INIT_HEX || a->type == OTP_RESP_INIT_WORD)
		if (a->init_err == OTP_OK &&
		    (!same_chal(&a->new_chal, &b->new_chal) || !otp_key_equal(&a->new_key, &b->new_key)))
			return false;
	return true;
}

static bool has_cand(const struct otp_response *r, const otp_key *k)
{
	for (unsigned i = 0; i < r->ncand; i++)
		if (otp_key_equal(&r->cand[i], k))
			return true;
	return false;
}

/* The key, written as six words and as hex, plain and labelled, parses back. */
static void round_trip(const otp_key *k)
{
	char words[OTP_WORDS_BUFSZ], hex[OTP_HEX_BUFSZ], buf[64];
	struct otp_response r;

	otp_key_to_words(k, words);
	otp_key_to_hex(k, hex);
	FUZZ_ASSERT(otp_response_parse(words, &r) == OTP_OK);
	FUZZ_ASSERT(r.type == OTP_RESP_STANDARD && has_cand(&r, k));
	FUZZ_ASSERT(otp_response_parse(hex, &r) == OTP_OK);
	FUZZ_ASSERT(r.type == OTP_RESP_STANDARD && r.ncand == 1 && otp_key_equal(&r.cand[0], k));
	snprintf(buf, sizeof(buf), "word:%s", words);
	FUZZ_ASSERT(otp_response_parse(buf, &r) == OTP_OK);
	FUZZ_ASSERT(r.type == OTP_RESP_WORD && r.ncand == 1 && otp_key_equal(&r.cand[0], k));
	snprintf(buf, sizeof(buf), "hex:%s", hex);
	FUZZ_ASSERT(otp_response_parse(buf, &r) == OTP_OK);
	FUZZ_ASSERT(r.type == OTP_RESP_HEX && r.ncand == 1 && otp_key_equal(&r.cand[0], k));
	otp_wipe(&r, sizeof(r));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct otp_response r, again;
	char *s = fuzz_cstr(data, size), *t, buf[OTP_RESPONSE_MAX];
	size_t len = strlen(s);
	enum otp_err rc = otp_response_parse(s, &r), rc2;

	if (len > OTP_RESPONSE_MAX)
		FUZZ_ASSERT(rc == OTP_ERR_TOO_LONG);
	if (rc != OTP_OK) {
		FUZZ_ASSERT(rc < OTP_ERR__COUNT);
		FUZZ_ASSERT(r.ncand == 0);
	} else {
		FUZZ_ASSERT(r.ncand >= 1 && r.ncand <= 2);
		FUZZ_ASSERT(r.ncand == 1 || r.type == OTP_RESP_STANDARD);
		if (r.ncand == 2)   /* words first, then hex: two different readings */
			FUZZ_ASSERT(!otp_key_equal(&r.cand[0], &r.cand[1]));
		for (unsigned i = 0; i < r.ncand; i++)
			round_trip(&r.cand[i]);
		if (r.type == OTP_RESP_INIT_HEX || r.type == OTP_RESP_INIT_WORD) {
			FUZZ_ASSERT(r.init_err < OTP_ERR__COUNT);
			if (r.init_err == OTP_OK) {
				FUZZ_ASSERT(otp_alg_name(r.new_chal.alg) != NULL);
				FUZZ_ASSERT(r.new_chal.seq >= 1 && r.new_chal.seq <= OTP_SEQ_MAX);
				FUZZ_ASSERT(otp_seed_check(r.new_chal.seed) == OTP_OK);
				/* Formatted again, it reads the same. */
				FUZZ_ASSERT(otp_response_format_init(r.type, &r.cand[0], &r.new_chal,
				                                     &r.new_key, buf, sizeof(buf)) == OTP_OK);
				FUZZ_ASSERT(otp_response_parse(buf, &again) == OTP_OK);
				FUZZ_ASSERT(same(&r, &again));
			}
		} else {
			FUZZ_ASSERT(r.init_err == OTP_OK);
		}
	}

	/* RFC 2243 s2.2: the type and both encodings ignore case. */
	t = fuzz_cstr((const uint8_t *)s, len);
	for (size_t i = 0; i < len; i++)
		t[i] = (char)fuzz_lower((unsigned char)t[i]);
	rc2 = otp_response_parse(t, &again);
	FUZZ_ASSERT(rc2 == rc);
	FUZZ_ASSERT(rc != OTP_OK || same(&r, &again));
	for (size_t i = 0; i < len; i++)
		t[i] = (char)fuzz_upper((unsigned char)t[i]);
	rc2 = otp_response_parse(t, &again);
	FUZZ_ASSERT(rc2 == rc);
	FUZZ_ASSERT(rc != OTP_OK || same(&r, &again));

	otp_wipe(&r, sizeof(r));
	otp_wipe(&again, sizeof(again));
	free(t);
	free(s);
	return 0;
}
