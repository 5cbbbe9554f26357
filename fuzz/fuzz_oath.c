/*
 * fuzz_oath.c - base32, otpauth:// URIs and the google-authenticator and
 * pam_oath parsers (oath.c, oath_import.c): the first byte picks which.
 * Decoded base32 re-encodes to the canonical input; an accepted token
 * builds a URI whose secret decodes back, and stores as a v3 record.
 */
#include "otp.h"
#include "fuzz.h"

/* A parsed token builds a URI whose secret decodes to the same bytes, and a storable record. */
static void token_round_trip(const struct otp_token *t)
{
	char uri[OTP_URI_MAX];
	unsigned char back[OTP_TOK_SECRET_MAX], buf[OTP_REC_MAX_SIZE];
	struct otp_record rec, got;
	const char *s, *e;
	char b32[OTP_BASE32_MAX + 1];
	size_t len;
	char code[OTP_TOK_DIGITS_MAX + 1];

	FUZZ_ASSERT(otp_token_check(t) == OTP_OK);
	FUZZ_ASSERT(otp_uri_format(t, "otp", "host", "user", uri, sizeof(uri)) == OTP_OK);
	s = strstr(uri, "secret=");
	FUZZ_ASSERT(s != NULL);
	s += 7;
	e = strchr(s, '&');
	FUZZ_ASSERT(e != NULL && (size_t)(e - s) < sizeof(b32));
	memcpy(b32, s, (size_t)(e - s));
	b32[e - s] = '\0';
	FUZZ_ASSERT(otp_base32_decode(b32, back, sizeof(back), &len) == OTP_OK);
	FUZZ_ASSERT(len == t->secret_len && memcmp(back, t->secret, len) == 0);
	FUZZ_ASSERT(otp_hotp(t->hmac, t->secret, t->secret_len, t->counter, t->digits, code) == OTP_OK);
	FUZZ_ASSERT(strlen(code) == t->digits);
	memset(&rec, 0, sizeof(rec));
	rec.flags = OTP_REC_NO_KEY;
	rec.tok = *t;
	FUZZ_ASSERT(otp_record_encode(&rec, buf, sizeof(buf), &len) == OTP_OK);
	FUZZ_ASSERT(len == OTP_REC_V3_SIZE);
	FUZZ_ASSERT(otp_record_decode(buf, len, &got) == OTP_OK);
	FUZZ_ASSERT(memcmp(&got.tok, t, sizeof(*t)) == 0);
}

static void base32(const char *s)
{
	unsigned char out[OTP_TOK_SECRET_MAX];
	char enc[OTP_BASE32_MAX + 1], canon[OTP_BASE32_MAX + 8];
	size_t len, n = 0;

	if (otp_base32_decode(s, out, sizeof(out), &len) != OTP_OK) {
		FUZZ_ASSERT(fuzz_all_zero(out, sizeof(out)));
		return;
	}
	/* Accepted input is the canonical encoding, up to case and padding. */
	FUZZ_ASSERT(otp_base32_encode(out, len, enc, sizeof(enc)) == OTP_OK);
	for (const char *p = s; *p != '\0' && *p != '='; p++)
		canon[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
	canon[n] = '\0';
	FUZZ_ASSERT(strcmp(enc, canon) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char user[OTP_USER_MAX + 1], *text;
	struct otp_token t;
	const char *why;
	unsigned ln;
	enum otp_import_res res;

	if (size < 1)
		return 0;
	text = fuzz_cstr(data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		base32(text);
		break;
	case 1:
		res = otp_import_ga_file(text, size - 1, &t, &ln, &why);
		if (res == OTP_IMPORT_OK) {
			FUZZ_ASSERT(why == NULL);
			token_round_trip(&t);
		} else {
			FUZZ_ASSERT(res == OTP_IMPORT_BAD && why != NULL && fuzz_all_zero(&t, sizeof(t)));
		}
		break;
	default:
		res = otp_import_oath_line(text, size - 1, user, &t, &why);
		if (res == OTP_IMPORT_OK) {
			FUZZ_ASSERT(why == NULL && otp_user_check(user) == OTP_OK);
			token_round_trip(&t);
		} else if (res == OTP_IMPORT_IGNORE) {
			FUZZ_ASSERT(why == NULL && fuzz_all_zero(&t, sizeof(t)));
		} else {
			FUZZ_ASSERT(res == OTP_IMPORT_BAD && why != NULL && fuzz_all_zero(&t, sizeof(t)));
			FUZZ_ASSERT(fuzz_all_zero(user, sizeof(user)));
		}
		break;
	}
	free(text);
	return 0;
}
