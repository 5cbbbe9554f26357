/* test_core.c - libotp hashing, encodings, challenges and responses against the RFCs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "otp.h"
#include "vectors.h"

static void hex_of(const char *printed, otp_key *k)
{
	assert_int_equal(otp_key_from_hex(printed, k), OTP_OK);
}

static void test_rfc2289_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc2289_vectors) / sizeof(rfc2289_vectors[0]); i++) {
		const struct rfc2289_vector *v = &rfc2289_vectors[i];
		enum otp_alg alg;
		otp_key k, want, fromw;
		char words[OTP_WORDS_BUFSZ], hex[OTP_HEX_BUFSZ], lower[OTP_HEX_BUFSZ];

		assert_int_equal(otp_alg_parse(v->alg, &alg), OTP_OK);
		assert_int_equal(otp_compute(alg, v->count, v->seed, v->pass, strlen(v->pass), &k), OTP_OK);
		hex_of(v->hex, &want);
		assert_true(otp_key_equal(&k, &want));
		otp_key_to_words(&k, words);
		assert_string_equal(words, v->words);
		otp_key_to_hex(&k, hex);
		for (size_t j = 0; j <= strlen(v->hex); j++)
			lower[j] = (char)(v->hex[j] >= 'A' && v->hex[j] <= 'F' ? v->hex[j] + 32 : v->hex[j]);
		assert_string_equal(hex, lower);
		assert_int_equal(otp_key_from_words(v->words, &fromw), OTP_OK);
		assert_true(otp_key_equal(&fromw, &want));
	}
}

/* One hash step from count N gives count N+1, and the range walks the chain. */
static void test_step_and_range(void **state)
{
	const char *p = "This is a test.";
	otp_key k0, k1, step, range[100];

	(void)state;
	assert_int_equal(otp_compute(OTP_ALG_SHA1, 0, "TeSt", p, strlen(p), &k0), OTP_OK);
	assert_int_equal(otp_compute(OTP_ALG_SHA1, 1, "TeSt", p, strlen(p), &k1), OTP_OK);
	assert_int_equal(otp_hash_step(OTP_ALG_SHA1, &k0, &step), OTP_OK);
	assert_true(otp_key_equal(&step, &k1));
	assert_int_equal(otp_keycrunch(OTP_ALG_SHA1, "TeSt", p, strlen(p), &step), OTP_OK);
	assert_true(otp_key_equal(&step, &k0));

	assert_int_equal(otp_compute_range(OTP_ALG_MD5, 99, 100, "TeSt", p, strlen(p), range), OTP_OK);
	hex_of("9E87 6134 D904 99DD", &k0);
	assert_true(otp_key_equal(&range[0], &k0));
	hex_of("7965 E054 36F5 029F", &k1);
	assert_true(otp_key_equal(&range[1], &k1));
	hex_of("50FE 1962 C496 5880", &k1);
	assert_true(otp_key_equal(&range[99], &k1));
	for (unsigned i = 1; i < 100; i++) {
		assert_int_equal(otp_hash_step(OTP_ALG_MD5, &range[i - 1], &step), OTP_OK);
		assert_true(otp_key_equal(&step, &range[i]));
	}
	assert_int_equal(otp_compute_range(OTP_ALG_MD5, 99, 0, "TeSt", p, strlen(p), range), OTP_ERR_INVALID);
	assert_int_equal(otp_compute_range(OTP_ALG_MD5, 99, 101, "TeSt", p, strlen(p), range), OTP_ERR_INVALID);
	assert_int_equal(otp_compute(OTP_ALG_MD5, 10000, "TeSt", p, strlen(p), &k0), OTP_ERR_SEQ);
}

/* RFC 2289 App. C "General checks". */
static void test_general_checks(void **state)
{
	const char *good = "A_Valid_Pass_Phrase";
	const char *long64 = "1234567890123456789012345678901234567890123456789012345678901234";
	char huge[OTP_PASS_MAX + 2];
	bool warn;
	otp_key k;

	(void)state;
	assert_int_equal(otp_passphrase_check("Too_short", 9, &warn), OTP_ERR_PASS_SHORT);
	assert_int_equal(otp_compute(OTP_ALG_MD5, 99, "iamvalid", "Too_short", 9, &k), OTP_ERR_PASS_SHORT);
	assert_int_equal(otp_passphrase_check(long64, strlen(long64), &warn), OTP_OK);
	assert_true(warn);
	assert_int_equal(otp_passphrase_check(good, strlen(good), &warn), OTP_OK);
	assert_false(warn);
	memset(huge, 'x', sizeof(huge));
	assert_int_equal(otp_passphrase_check(huge, sizeof(huge), &warn), OTP_ERR_PASS_LONG);
	assert_int_equal(otp_compute(OTP_ALG_MD5, 99, "iamvalid", huge, sizeof(huge), &k), OTP_ERR_PASS_LONG);

	assert_int_equal(otp_seed_check("Length_Okay"), OTP_ERR_SEED_CHAR);
	assert_int_equal(otp_seed_check("LengthOfSeventeen"), OTP_ERR_SEED_LEN);
	assert_int_equal(otp_seed_check("A Seed"), OTP_ERR_SEED_CHAR);
	assert_int_equal(otp_seed_check(""), OTP_ERR_SEED_LEN);
	assert_int_equal(otp_seed_check("\xc3\xa9t\xc3\xa9"), OTP_ERR_SEED_CHAR);
	assert_int_equal(otp_seed_check("LengthOfSixteen1"), OTP_OK);
	assert_int_equal(otp_compute(OTP_ALG_MD5, 99, "Length_Okay", good, strlen(good), &k), OTP_ERR_SEED_CHAR);

	/* Parity example: the correct six words, and three with a bad last word. */
	assert_int_equal(otp_compute(OTP_ALG_MD5, 99, "AValidSeed", good, strlen(good), &k), OTP_OK);
	{
		char w[OTP_WORDS_BUFSZ];
		otp_key want, got;

		hex_of("85c43ee03857765b", &want);
		assert_true(otp_key_equal(&k, &want));
		otp_key_to_words(&k, w);
		assert_string_equal(w, "FOWL KID MASH DEAD DUAL OAF");
		assert_int_equal(otp_key_from_words("FOWL KID MASH DEAD DUAL NUT", &got), OTP_ERR_CHECKSUM);
		assert_int_not_equal(otp_key_from_words("FOWL KID MASH DEAD DUAL O", &got), OTP_OK);
		assert_int_equal(otp_key_from_words("FOWL KID MASH DEAD DUAL OAK", &got), OTP_ERR_CHECKSUM);
	}
}

static void test_words_parsing(void **state)
{
	otp_key a, b;

	(void)state;
	/* RFC 2289 s6: servers accept any case and white space. */
	assert_int_equal(otp_key_from_words("OUST COAT FOAL MUG BEAK TOTE", &a), OTP_OK);
	assert_int_equal(otp_key_from_words("  oust coat foal  mug\tbeak  tote\n", &b), OTP_OK);
	assert_true(otp_key_equal(&a, &b));

	static const struct { const char *in; enum otp_err want; } bad[] = {
		{ "", OTP_ERR_WORD_COUNT },
		{ "OUST COAT FOAL MUG BEAK", OTP_ERR_WORD_COUNT },
		{ "OUST COAT FOAL MUG BEAK TOTE TOTE", OTP_ERR_WORD_COUNT },
		{ "OUST COAT FOAL MUG BEAK TOTEM", OTP_ERR_WORD },
		{ "OUST COAT FOAL MUG BEAK ZZZZ", OTP_ERR_WORD },
		{ "OUST COAT FOAL MUG BEAK T\xc3\x96TE", OTP_ERR_WORD },
		{ "OUST-COAT FOAL MUG BEAK TOTE", OTP_ERR_WORD },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(otp_key_from_words(bad[i].in, &a), bad[i].want);
		for (int j = 0; j < OTP_KEY_LEN; j++)
			assert_int_equal(a.b[j], 0);
	}
}

/* RFC 2289 s6 hex examples. */
static void test_hex_parsing(void **state)
{
	static const struct { const char *in, *want; } good[] = {
		{ "3503785b369cda8b", "3503 785b 369c da8b" },
		{ "e5cc a1b8 7c13 096b", "e5cc a1b8 7c13 096b" },
		{ "C7 48 90 F4 27 7B A1 CF", "c748 90f4 277b a1cf" },
		{ "47 9 A68 28 4C 9D 0 1BC", "479a 6828 4c9d 01bc" },
	};
	static const char *const bad[] = {
		"", "3503785b369cda8", "3503785b369cda8b0", "3503785b369cda8g", "0x3503785b369cda8b",
		"3503:785b369cda8b",
	};
	otp_key k;
	char out[OTP_HEX_BUFSZ];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(otp_key_from_hex(good[i].in, &k), OTP_OK);
		otp_key_to_hex(&k, out);
		assert_string_equal(out, good[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(otp_key_from_hex(bad[i], &k), OTP_ERR_HEX);
}

static void test_challenges(void **state)
{
	struct otp_challenge c;
	char buf[OTP_CHALLENGE_BUFSZ];

	(void)state;
	assert_int_equal(otp_challenge_parse("otp-md5 499 ke1234 ext", &c), OTP_OK);
	assert_int_equal(c.alg, OTP_ALG_MD5);
	assert_int_equal(c.seq, 499);
	assert_string_equal(c.seed, "ke1234");
	assert_true(c.ext);
	assert_int_equal(otp_challenge_format(&c, buf, sizeof(buf)), OTP_OK);
	assert_string_equal(buf, "otp-md5 499 ke1234 ext");

	assert_int_equal(otp_challenge_parse("  otp-sha1\t0  DoG2", &c), OTP_OK);
	assert_int_equal(c.alg, OTP_ALG_SHA1);
	assert_int_equal(c.seq, 0);
	assert_string_equal(c.seed, "dog2");
	assert_false(c.ext);
	assert_int_equal(otp_challenge_format(&c, buf, sizeof(buf)), OTP_OK);
	assert_string_equal(buf, "otp-sha1 0 dog2");

	/* A pasted prompt, and an extension list. */
	assert_int_equal(otp_challenge_parse("otp-md4 9999 ab1 ext, Response: ", &c), OTP_OK);
	assert_true(c.ext && c.seq == 9999 && c.alg == OTP_ALG_MD4);
	assert_int_equal(otp_challenge_parse("otp-md5 123 mi1234 ext,foo", &c), OTP_OK);
	assert_true(c.ext);
	assert_int_equal(otp_challenge_parse("otp-md5 123 mi1234 extra", &c), OTP_OK);
	assert_false(c.ext);

	static const struct { const char *in; enum otp_err want; } bad[] = {
		{ "", OTP_ERR_CHALLENGE },
		{ "OTP-md5 499 ke1234", OTP_ERR_CHALLENGE },
		{ "otp-MD5 499 ke1234", OTP_ERR_ALG },
		{ "otp-sha256 499 ke1234", OTP_ERR_ALG },
		{ "otp-md5", OTP_ERR_CHALLENGE },
		{ "otp-md5 499", OTP_ERR_CHALLENGE },
		{ "otp-md5 499 ", OTP_ERR_SEED_LEN },
		{ "otp-md5 10000 ke1234", OTP_ERR_SEQ },
		{ "otp-md5 -1 ke1234", OTP_ERR_CHALLENGE },
		{ "otp-md5 4x9 ke1234", OTP_ERR_CHALLENGE },
		{ "otp-md5 499 ke_1234", OTP_ERR_SEED_CHAR },
		{ "otp-md5 499 LengthOfSeventeen", OTP_ERR_SEED_LEN },
		{ "otp-md5 99999999999999999999 ke1234", OTP_ERR_SEQ },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(otp_challenge_parse(bad[i].in, &c), bad[i].want);
}

/* RFC 2243 appendix reference responses. */
static void test_rfc2243_responses(void **state)
{
	const char *p = RFC2243_PASS;
	otp_key cur, next, want;
	struct otp_response r;
	char buf[OTP_RESPONSE_MAX];

	(void)state;
	assert_int_equal(otp_compute(OTP_ALG_MD5, 499, "ke1234", p, strlen(p), &cur), OTP_OK);
	hex_of(RFC2243_HEX, &want);
	assert_true(otp_key_equal(&cur, &want));
	otp_key_to_words(&cur, buf);
	assert_string_equal(buf, RFC2243_WORDS);

	static const struct { const char *in; enum otp_resp_type type; unsigned ncand; } forms[] = {
		{ RFC2243_HEX, OTP_RESP_STANDARD, 1 },
		{ RFC2243_WORDS, OTP_RESP_STANDARD, 1 },
		{ RFC2243_EXT_HEX, OTP_RESP_HEX, 1 },
		{ RFC2243_EXT_WORD, OTP_RESP_WORD, 1 },
		{ "  HEX :5bf075d9959d036f  ", OTP_RESP_HEX, 1 },
		{ "Word:bond fogy drab ne rise mart", OTP_RESP_WORD, 1 },
		{ RFC2243_INIT_HEX, OTP_RESP_INIT_HEX, 1 },
		{ RFC2243_INIT_WORD, OTP_RESP_INIT_WORD, 1 },
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		assert_int_equal(otp_response_parse(forms[i].in, &r), OTP_OK);
		assert_int_equal(r.type, forms[i].type);
		assert_int_equal(r.ncand, forms[i].ncand);
		assert_true(otp_key_equal(&r.cand[0], &cur));
	}

	assert_int_equal(otp_compute(OTP_ALG_MD5, 499, "ke1235", p, strlen(p), &next), OTP_OK);
	hex_of(RFC2243_NEW_HEX, &want);
	assert_true(otp_key_equal(&next, &want));
	assert_int_equal(otp_response_parse(RFC2243_INIT_WORD, &r), OTP_OK);
	assert_int_equal(r.init_err, OTP_OK);
	assert_int_equal(r.new_chal.alg, OTP_ALG_MD5);
	assert_int_equal(r.new_chal.seq, 499);
	assert_string_equal(r.new_chal.seed, "ke1235");
	assert_true(otp_key_equal(&r.new_key, &next));

	struct otp_challenge nc = { .alg = OTP_ALG_MD5, .seq = 499, .seed = "ke1235" };
	assert_int_equal(otp_response_format_init(OTP_RESP_INIT_HEX, &cur, &nc, &next, buf, sizeof(buf)), OTP_OK);
	assert_string_equal(buf, RFC2243_INIT_HEX);
	assert_int_equal(otp_response_format_init(OTP_RESP_INIT_WORD, &cur, &nc, &next, buf, sizeof(buf)), OTP_OK);
	assert_string_equal(buf, "init-word:BOND FOGY DRAB NE RISE MART:md5 499 ke1235:RED HERD NOW BEAN PA BURG");
	assert_int_equal(otp_response_format_init(OTP_RESP_INIT_WORD, &cur, &nc, &next, buf, 20), OTP_ERR_BUFFER);
}

/* The RFC 2243 s3 example that reads both as six words and as hex. */
static void test_ambiguous_standard(void **state)
{
	struct otp_response r;

	(void)state;
	assert_int_equal(otp_response_parse("ABE ACE ADA ADD BAD A", &r), OTP_OK);
	assert_int_equal(r.ncand, 2);
}

static void test_bad_responses(void **state)
{
	char longbuf[OTP_RESPONSE_MAX + 10];
	struct otp_response r;

	(void)state;
	static const struct { const char *in; enum otp_err want; } bad[] = {
		{ "", OTP_ERR_RESPONSE },
		{ " \t\r\n", OTP_ERR_RESPONSE },
		{ "BOND FOGY DRAB NE RISE", OTP_ERR_WORD_COUNT },
		{ "BOND FOGY DRAB NE RISE MAST", OTP_ERR_CHECKSUM },
		{ "5bf0 75d9 959d 036", OTP_ERR_HEX },
		{ "foo:some data", OTP_ERR_RESPONSE_TYPE },
		{ "x-foo:bar", OTP_ERR_RESPONSE_TYPE },
		{ ":5bf0 75d9 959d 036f", OTP_ERR_RESPONSE_TYPE },
		{ "hex:", OTP_ERR_HEX },
		{ "hex:5bf0 75d9 959d 036f:extra", OTP_ERR_RESPONSE },
		{ "hex:BOND FOGY DRAB NE RISE MART", OTP_ERR_HEX },
		{ "word:5bf0 75d9 959d 036f", OTP_ERR_WORD },
		{ "init-hex:5bf0 75d9 959d 036f", OTP_ERR_RESPONSE },
		{ "init-hex:5bf0 75d9 959d 036f:md5 499 ke1235", OTP_ERR_RESPONSE },
		{ "init-hex:5bf0 75d9 959d 036x:md5 499 ke1235:3712 dcb4 aa53 16c1", OTP_ERR_HEX },
		{ "init-hex:a:b:c:d", OTP_ERR_RESPONSE },
		{ "5bf0 75d9\001959d 036f", OTP_ERR_RESPONSE },
		{ "5bf0 75d9\x7f" "959d 036f", OTP_ERR_RESPONSE },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(otp_response_parse(bad[i].in, &r), bad[i].want);
		assert_int_equal(r.ncand, 0);
	}
	memset(longbuf, ' ', sizeof(longbuf) - 1);
	longbuf[sizeof(longbuf) - 1] = '\0';
	memcpy(longbuf, RFC2243_HEX, strlen(RFC2243_HEX));
	assert_int_equal(otp_response_parse(longbuf, &r), OTP_ERR_TOO_LONG);
}

/* A bad new part keeps the current OTP usable (RFC 2243 s4.3 server req. 3). */
static void test_init_bad_new_part(void **state)
{
	static const struct { const char *in; enum otp_err want; } cases[] = {
		{ "init-hex:5bf0 75d9 959d 036f:md5 499 ke_1235:3712 dcb4 aa53 16c1", OTP_ERR_SEED_CHAR },
		{ "init-hex:5bf0 75d9 959d 036f:sha256 499 ke1235:3712 dcb4 aa53 16c1", OTP_ERR_ALG },
		{ "init-hex:5bf0 75d9 959d 036f:md5 0 ke1235:3712 dcb4 aa53 16c1", OTP_ERR_SEQ },
		{ "init-hex:5bf0 75d9 959d 036f:md5 10000 ke1235:3712 dcb4 aa53 16c1", OTP_ERR_SEQ },
		{ "init-hex:5bf0 75d9 959d 036f:md5 499:3712 dcb4 aa53 16c1", OTP_ERR_RESPONSE },
		{ "init-hex:5bf0 75d9 959d 036f:md5 499 ke1235:3712 dcb4 aa53", OTP_ERR_HEX },
		{ "init-word:BOND FOGY DRAB NE RISE MART:md5 499 ke1235:RED HERD NOW BEAN PA BURN", OTP_ERR_CHECKSUM },
	};
	struct otp_response r;
	otp_key want;

	(void)state;
	hex_of(RFC2243_HEX, &want);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(otp_response_parse(cases[i].in, &r), OTP_OK);
		assert_int_equal(r.ncand, 1);
		assert_true(otp_key_equal(&r.cand[0], &want));
		assert_int_equal(r.init_err, cases[i].want);
	}
}

static void test_md4_available(void **state)
{
	otp_key k;

	(void)state;
	/* Debian's libssl3 ships the legacy provider; the error path is named. */
	assert_int_equal(otp_keycrunch(OTP_ALG_MD4, "TeSt", "This is a test.", 15, &k), OTP_OK);
	assert_string_equal(otp_strerror(OTP_ERR_MD4_UNAVAIL),
	                    "md4 unavailable: OpenSSL offers no MD4 (legacy provider missing)");
}

static void test_util(void **state)
{
	unsigned long v;
	otp_key a = { { 1, 2, 3, 4, 5, 6, 7, 8 } }, b = a;

	(void)state;
	assert_true(otp_key_equal(&a, &b));
	b.b[7] ^= 1;
	assert_false(otp_key_equal(&a, &b));
	otp_wipe(&a, sizeof(a));
	for (int i = 0; i < OTP_KEY_LEN; i++)
		assert_int_equal(a.b[i], 0);

	assert_int_equal(otp_parse_uint("9999", 0, 9999, &v), OTP_OK);
	assert_int_equal(v, 9999);
	assert_int_equal(otp_parse_uint("0", 0, 9999, &v), OTP_OK);
	static const char *const bad[] = { "", "-1", "+1", " 1", "1 ", "10000", "1x",
		"99999999999999999999999", "0x10" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(otp_parse_uint(bad[i], 0, 9999, &v), OTP_ERR_INVALID);

	for (int e = 0; e < OTP_ERR__COUNT; e++)
		assert_string_not_equal(otp_strerror((enum otp_err)e), "unknown error");
	assert_string_equal(otp_strerror((enum otp_err)-1), "unknown error");
	assert_string_equal(otp_strerror(OTP_ERR__COUNT), "unknown error");
	assert_null(otp_alg_name((enum otp_alg)0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc2289_vectors),
		cmocka_unit_test(test_step_and_range),
		cmocka_unit_test(test_general_checks),
		cmocka_unit_test(test_words_parsing),
		cmocka_unit_test(test_hex_parsing),
		cmocka_unit_test(test_challenges),
		cmocka_unit_test(test_rfc2243_responses),
		cmocka_unit_test(test_ambiguous_standard),
		cmocka_unit_test(test_bad_responses),
		cmocka_unit_test(test_init_bad_new_part),
		cmocka_unit_test(test_md4_available),
		cmocka_unit_test(test_util),
	};
	return cmocka_run_group_tests_name("libotp core", tests, NULL, NULL);
}
