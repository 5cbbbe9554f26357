/* test_oath.c - HOTP/TOTP against the RFC 4226 and RFC 6238 vectors, base32, URIs, token verification, record v3, imports. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "otp.h"

/* RFC 4226 Appendix D: the ASCII secret "12345678901234567890", counters 0..9. */
static const char *const hotp_vectors[10] = {
	"755224", "287082", "359152", "969429", "338314",
	"254676", "287922", "162583", "399871", "520489"
};

#define SEED20 "12345678901234567890"
#define SEED32 "12345678901234567890123456789012"
#define SEED64 "1234567890123456789012345678901234567890123456789012345678901234"

/* RFC 6238 Appendix B: 8 digits, 30 s steps, each HMAC with its own seed. */
static const struct {
	int64_t t;
	enum otp_hmac h;
	const char *code;
} totp_vectors[] = {
	{ 59, OTP_HMAC_SHA1, "94287082" },
	{ 59, OTP_HMAC_SHA256, "46119246" },
	{ 59, OTP_HMAC_SHA512, "90693936" },
	{ 1111111109, OTP_HMAC_SHA1, "07081804" },
	{ 1111111109, OTP_HMAC_SHA256, "68084774" },
	{ 1111111109, OTP_HMAC_SHA512, "25091201" },
	{ 1111111111, OTP_HMAC_SHA1, "14050471" },
	{ 1111111111, OTP_HMAC_SHA256, "67062674" },
	{ 1111111111, OTP_HMAC_SHA512, "99943326" },
	{ 1234567890, OTP_HMAC_SHA1, "89005924" },
	{ 1234567890, OTP_HMAC_SHA256, "91819424" },
	{ 1234567890, OTP_HMAC_SHA512, "93441116" },
	{ 2000000000, OTP_HMAC_SHA1, "69279037" },
	{ 2000000000, OTP_HMAC_SHA256, "90698825" },
	{ 2000000000, OTP_HMAC_SHA512, "38618901" },
	{ 20000000000, OTP_HMAC_SHA1, "65353130" },
	{ 20000000000, OTP_HMAC_SHA256, "77737706" },
	{ 20000000000, OTP_HMAC_SHA512, "47863826" },
};

static const char *seed_for(enum otp_hmac h)
{
	return h == OTP_HMAC_SHA1 ? SEED20 : h == OTP_HMAC_SHA256 ? SEED32 : SEED64;
}

static void test_hotp_rfc4226(void **state)
{
	char code[OTP_TOK_DIGITS_MAX + 1];

	(void)state;
	for (uint64_t c = 0; c < 10; c++) {
		assert_int_equal(otp_hotp(OTP_HMAC_SHA1, (const unsigned char *)SEED20, 20, c, 6, code),
		                 OTP_OK);
		assert_string_equal(code, hotp_vectors[c]);
	}
	assert_int_equal(otp_hotp(OTP_HMAC_SHA1, (const unsigned char *)SEED20, 20, 0, 5, code),
	                 OTP_ERR_INVALID);
	assert_int_equal(otp_hotp(OTP_HMAC_SHA1, (const unsigned char *)SEED20, 20, 0, 9, code),
	                 OTP_ERR_INVALID);
	assert_int_equal(otp_hotp((enum otp_hmac)9, (const unsigned char *)SEED20, 20, 0, 6, code),
	                 OTP_ERR_ALG);
}

static void test_totp_rfc6238(void **state)
{
	char code[OTP_TOK_DIGITS_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(totp_vectors) / sizeof(totp_vectors[0]); i++) {
		const char *seed = seed_for(totp_vectors[i].h);

		assert_int_equal(otp_hotp(totp_vectors[i].h, (const unsigned char *)seed, strlen(seed),
		                          otp_totp_step(totp_vectors[i].t, 30), 8, code), OTP_OK);
		assert_string_equal(code, totp_vectors[i].code);
	}
	assert_int_equal(otp_totp_step(-1, 30), 0);
	assert_int_equal(otp_totp_step(59, 60), 0);
	assert_int_equal(otp_totp_step(60, 60), 1);
}

/* RFC 4648 s10, upper case, with and without padding. */
static void test_base32(void **state)
{
	static const struct { const char *raw, *enc, *padded; } v[] = {
		{ "", "", "" },
		{ "f", "MY", "MY======" },
		{ "fo", "MZXQ", "MZXQ====" },
		{ "foo", "MZXW6", "MZXW6===" },
		{ "foob", "MZXW6YQ", "MZXW6YQ=" },
		{ "fooba", "MZXW6YTB", "MZXW6YTB" },
		{ "foobar", "MZXW6YTBOI", "MZXW6YTBOI======" },
	};
	static const char *const bad[] = {
		"M", "MZX", "MZXW6Y", "MY=", "MY=======", "MZ", "MY======MY", "M1", "MY==X===",
		"MZXW6YTB========", "MY ", " MY", "MZXQ=",
	};
	unsigned char out[64];
	char enc[128];
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(otp_base32_encode((const unsigned char *)v[i].raw, strlen(v[i].raw),
		                                   enc, sizeof(enc)), OTP_OK);
		assert_string_equal(enc, v[i].enc);
		assert_int_equal(otp_base32_decode(v[i].enc, out, sizeof(out), &len), OTP_OK);
		assert_int_equal(len, strlen(v[i].raw));
		assert_memory_equal(out, v[i].raw, len);
		assert_int_equal(otp_base32_decode(v[i].padded, out, sizeof(out), &len), OTP_OK);
		assert_int_equal(len, strlen(v[i].raw));
	}
	assert_int_equal(otp_base32_decode("mzxw6ytboi", out, sizeof(out), &len), OTP_OK);
	assert_memory_equal(out, "foobar", 6);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(otp_base32_decode(bad[i], out, sizeof(out), &len), OTP_OK);
	/* "MZ": the bits past the byte are not zero (MY is the canonical form). */
	assert_int_equal(otp_base32_decode("MZXW6YTBOI", out, 5, &len), OTP_ERR_BUFFER);
	assert_int_equal(otp_base32_encode((const unsigned char *)"foobar", 6, enc, 10),
	                 OTP_ERR_BUFFER);
}

static void totp_token(struct otp_token *t)
{
	memset(t, 0, sizeof(*t));
	t->type = OTP_TOK_TOTP;
	t->hmac = OTP_HMAC_SHA1;
	t->digits = 8;
	t->step = 30;
	t->secret_len = 20;
	memcpy(t->secret, SEED20, 20);
}

static void test_uri(void **state)
{
	struct otp_token t;
	char uri[OTP_URI_MAX];

	(void)state;
	totp_token(&t);
	assert_int_equal(otp_uri_format(&t, "My Co", "host.example", "a b@c", uri, sizeof(uri)),
	                 OTP_OK);
	assert_string_equal(uri, "otpauth://totp/host.example:a%20b%40c?secret="
	                    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=My%20Co&algorithm=SHA1&"
	                    "digits=8&period=30");
	t.type = OTP_TOK_HOTP;
	t.step = 0;
	t.counter = 7;
	t.hmac = OTP_HMAC_SHA512;
	assert_int_equal(otp_uri_format(&t, "otp", "h", "u", uri, sizeof(uri)), OTP_OK);
	assert_string_equal(uri, "otpauth://hotp/h:u?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	                    "&issuer=otp&algorithm=SHA512&digits=8&counter=7");
	assert_int_equal(otp_uri_format(&t, "otp", "h", "u", uri, 40), OTP_ERR_BUFFER);
	t.digits = 9;
	assert_int_equal(otp_uri_format(&t, "otp", "h", "u", uri, sizeof(uri)), OTP_ERR_TOKEN);
}

static void test_totp_verify(void **state)
{
	struct otp_token t;
	int which;

	(void)state;
	totp_token(&t);
	/* 59 s is step 1; 94287082 is its code.  Window 1 around step 2 covers it. */
	assert_int_equal(otp_token_verify(&t, "94287082", 60, 1, &which), OTP_OK);
	assert_int_equal(which, 1);
	assert_int_equal(t.counter, 1);
	assert_int_equal(t.drift, -1);
	assert_int_equal(otp_token_verify(&t, "94287082", 60, 1, &which), OTP_OK);
	assert_int_equal(which, 0);                     /* replay */
	totp_token(&t);
	assert_int_equal(otp_token_verify(&t, "94287082", 90, 1, &which), OTP_OK);
	assert_int_equal(which, 0);                     /* two steps behind */
	assert_int_equal(otp_token_verify(&t, "94287082", 90, 2, &which), OTP_OK);
	assert_int_equal(which, 1);                     /* a wider window */
	totp_token(&t);
	assert_int_equal(otp_token_verify(&t, "9428708", 59, 1, &which), OTP_OK);
	assert_int_equal(which, 0);                     /* wrong length */
	assert_int_equal(otp_token_verify(&t, "9428708x", 59, 1, &which), OTP_OK);
	assert_int_equal(which, 0);
	assert_int_equal(otp_token_verify(&t, "94287083", 59, 1, &which), OTP_OK);
	assert_int_equal(which, 0);
}

static void test_hotp_verify_and_scratch(void **state)
{
	struct otp_token t;
	int which;

	(void)state;
	totp_token(&t);
	t.type = OTP_TOK_HOTP;
	t.step = 0;
	t.digits = 6;
	t.nscratch = 2;
	t.scratch[0] = 12345678;
	t.scratch[1] = 87654321;
	assert_int_equal(otp_token_verify(&t, hotp_vectors[3], 0, 5, &which), OTP_OK);
	assert_int_equal(which, 1);
	assert_int_equal(t.counter, 4);
	assert_int_equal(otp_token_verify(&t, hotp_vectors[3], 0, 5, &which), OTP_OK);
	assert_int_equal(which, 0);                     /* behind the counter */
	assert_int_equal(otp_token_verify(&t, hotp_vectors[9], 0, 5, &which), OTP_OK);
	assert_int_equal(which, 0);                     /* beyond the look-ahead */
	assert_int_equal(otp_token_verify(&t, "87654321", 0, 5, &which), OTP_OK);
	assert_int_equal(which, 2);
	assert_int_equal(t.scratch[1], OTP_SCRATCH_USED);
	assert_int_equal(otp_token_verify(&t, "87654321", 0, 5, &which), OTP_OK);
	assert_int_equal(which, 0);                     /* single use */
	assert_int_equal(t.counter, 4);
}

static void test_record_v3(void **state)
{
	struct otp_record rec, out;
	unsigned char buf[OTP_REC_MAX_SIZE];
	size_t len = 0;

	(void)state;
	memset(&rec, 0, sizeof(rec));
	rec.flags = OTP_REC_NO_KEY;
	totp_token(&rec.tok);
	rec.tok.counter = 123456789;
	rec.tok.drift = -1;
	rec.tok.nscratch = 3;
	rec.tok.scratch[0] = 11111111;
	rec.tok.scratch[1] = OTP_SCRATCH_USED;
	rec.tok.scratch[2] = 99999999;
	assert_int_equal(otp_record_encode(&rec, buf, OTP_REC_V2_SIZE, &len), OTP_ERR_BUFFER);
	assert_int_equal(otp_record_encode(&rec, buf, sizeof(buf), &len), OTP_OK);
	assert_int_equal(len, OTP_REC_V3_SIZE);
	assert_int_equal(buf[4], 3);
	assert_int_equal(otp_record_decode(buf, len, &out), OTP_OK);
	assert_int_equal(out.version, 3);
	assert_int_equal(out.flags, OTP_REC_NO_KEY);
	assert_memory_equal(&out.tok, &rec.tok, sizeof(rec.tok));
	/* Any flipped byte is refused: the check covers the token area. */
	buf[200] ^= 1;
	assert_int_equal(otp_record_decode(buf, len, &out), OTP_ERR_DB_CORRUPT);
	buf[200] ^= 1;
	assert_int_equal(otp_record_decode(buf, len - 1, &out), OTP_ERR_DB_CORRUPT);
	/* A token-only flag without a token cannot be written. */
	rec.tok.type = OTP_TOK_NONE;
	assert_int_equal(otp_record_encode(&rec, buf, sizeof(buf), &len), OTP_ERR_INVALID);
	/* Without a token the record stays v2, for older readers. */
	rec.flags = 0;
	rec.alg = OTP_ALG_MD5;
	rec.seq = 10;
	strcpy(rec.seed, "ab12");
	assert_int_equal(otp_record_encode(&rec, buf, sizeof(buf), &len), OTP_OK);
	assert_int_equal(len, OTP_REC_V2_SIZE);
	rec.tok.type = OTP_TOK_TOTP;
	rec.tok.digits = 5;
	assert_int_equal(otp_record_encode(&rec, buf, sizeof(buf), &len), OTP_ERR_TOKEN);
}

static void test_import_ga(void **state)
{
	static const char good[] = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n\" RATE_LIMIT 3 30\n"
	                           "\" WINDOW_SIZE 17\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n"
	                           "12345678\n87654321\n";
	static const char hotp[] = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n\" HOTP_COUNTER 5\n";
	static const struct { const char *text; unsigned line; } bad[] = {
		{ "", 0 },
		{ "GEZDGNBVGY3TQOJQ1\n\" TOTP_AUTH\n", 1 },
		{ "GEZDGNBV\n\" TOTP_AUTH\n", 1 },                      /* 5 bytes: too short */
		{ "GEZDGNBVGY3TQOJQ\n", 0 },                            /* no mode */
		{ "GEZDGNBVGY3TQOJQ\n\" TOTP_AUTH\n\" HOTP_COUNTER 1\n", 0 },
		{ "GEZDGNBVGY3TQOJQ\n\" TOTP_AUTH\n1234567\n", 3 },
		{ "GEZDGNBVGY3TQOJQ\n\" TOTP_AUTH\n\" STEP_SIZE 45\n", 3 },
		{ "GEZDGNBVGY3TQOJQ\n\" TOTP_AUTH\n12345678\n\" WINDOW_SIZE 3\n", 4 },
		{ "GEZDGNBVGY3TQOJQ\n\" FROB\n", 2 },
	};
	struct otp_token t;
	const char *why;
	unsigned ln;

	(void)state;
	assert_int_equal(otp_import_ga_file(good, strlen(good), &t, &ln, &why), OTP_IMPORT_OK);
	assert_int_equal(t.type, OTP_TOK_TOTP);
	assert_int_equal(t.secret_len, 20);
	assert_memory_equal(t.secret, SEED20, 20);
	assert_int_equal(t.nscratch, 2);
	assert_int_equal(t.scratch[1], 87654321);
	assert_int_equal(otp_import_ga_file(hotp, strlen(hotp), &t, &ln, &why), OTP_IMPORT_OK);
	assert_int_equal(t.type, OTP_TOK_HOTP);
	assert_int_equal(t.counter, 5);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(otp_import_ga_file(bad[i].text, strlen(bad[i].text), &t, &ln, &why),
		                 OTP_IMPORT_BAD);
		assert_int_equal(ln, bad[i].line);
		assert_int_equal(t.secret_len, 0);
	}
}

static void test_import_oath(void **state)
{
	static const char *const bad[] = {
		"HOTP u 1234 3132333435363738393031323334353637383930",    /* a PIN */
		"TOTP u - 3132333435363738393031323334353637383930",       /* unknown type */
		"HOTP/T45 u - 3132333435363738393031323334353637383930",
		"HOTP/E/9 u - 3132333435363738393031323334353637383930",
		"HOTP u - 3132333435363738393031323334353637383930a",      /* odd length */
		"HOTP u - 313233343536373839",                             /* 9 bytes */
		"HOTP u - 3132333435363738393031323334353637383g30",
		"HOTP u - 3132333435363738393031323334353637383930 x",
		"HOTP/T30 u - 3132333435363738393031323334353637383930 0 123456 2024-13-01T00:00:00L",
		"HOTP u:x - 3132333435363738393031323334353637383930",
		"HOTP u",
	};
	char user[OTP_USER_MAX + 1];
	struct otp_token t;
	const char *why, *l;

	(void)state;
	l = "HOTP/T60/8\tbob  -  3132333435363738393031323334353637383930";
	assert_int_equal(otp_import_oath_line(l, strlen(l), user, &t, &why), OTP_IMPORT_OK);
	assert_string_equal(user, "bob");
	assert_int_equal(t.type, OTP_TOK_TOTP);
	assert_int_equal(t.step, 60);
	assert_int_equal(t.digits, 8);
	assert_memory_equal(t.secret, SEED20, 20);
	l = "HOTP/E alice - 3132333435363738393031323334353637383930 7 123456";
	assert_int_equal(otp_import_oath_line(l, strlen(l), user, &t, &why), OTP_IMPORT_OK);
	assert_int_equal(t.type, OTP_TOK_HOTP);
	assert_int_equal(t.counter, 8);     /* a last OTP was shown: its counter is used */
	l = "  # comment";
	assert_int_equal(otp_import_oath_line(l, strlen(l), user, &t, &why), OTP_IMPORT_IGNORE);
	assert_int_equal(otp_import_oath_line("", 0, user, &t, &why), OTP_IMPORT_IGNORE);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(otp_import_oath_line(bad[i], strlen(bad[i]), user, &t, &why),
		                 OTP_IMPORT_BAD);
	}
	assert_int_equal(otp_import_oath_line("HOTP u - 31\0" "32", 14, user, &t, &why),
	                 OTP_IMPORT_BAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hotp_rfc4226),
		cmocka_unit_test(test_totp_rfc6238),
		cmocka_unit_test(test_base32),
		cmocka_unit_test(test_uri),
		cmocka_unit_test(test_totp_verify),
		cmocka_unit_test(test_hotp_verify_and_scratch),
		cmocka_unit_test(test_record_v3),
		cmocka_unit_test(test_import_ga),
		cmocka_unit_test(test_import_oath),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
