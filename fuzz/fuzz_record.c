/*
 * fuzz_record.c - otp_record_decode on hostile bytes (with and without a
 * valid check sum), and otp_record_encode -> decode round trips of records
 * built from the input.  A record that decodes re-encodes to the same bytes.
 */
#include <openssl/evp.h>

#include "otp.h"
#include "fuzz.h"

/* Room for any record size otpkeys(5) defines. */
#define ENC_MAX 512
#define CHECK_LEN 8     /* otpkeys(5): the last 8 bytes, SHA-256 of all before them */

static bool same(const struct otp_record *a, const struct otp_record *b)
{
	return a->flags == b->flags && a->alg == b->alg && a->seq == b->seq &&
	       strcmp(a->seed, b->seed) == 0 && otp_key_equal(&a->last, &b->last) &&
	       a->failures == b->failures && a->created == b->created &&
	       a->last_success == b->last_success && a->last_failure == b->last_failure &&
	       a->locked_until == b->locked_until && memcmp(&a->tok, &b->tok, sizeof(a->tok)) == 0;
}

static void decode_one(const unsigned char *buf, size_t len)
{
	unsigned char *copy = fuzz_copy(buf, len), out[ENC_MAX], out2[ENC_MAX];
	struct otp_record rec, back;
	size_t outlen = 0, outlen2 = 0;
	enum otp_err rc = otp_record_decode(copy, len, &rec);

	if (rc != OTP_OK) {
		FUZZ_ASSERT(rc == OTP_ERR_DB_CORRUPT || rc == OTP_ERR_DB_VERSION);
		FUZZ_ASSERT(fuzz_all_zero(&rec, sizeof(rec)));
		goto out;
	}
	FUZZ_ASSERT(rec.version >= 1);
	if (rec.flags & OTP_REC_NO_KEY) {
		/* A token only (v3): no RFC 2289 key fields at all. */
		FUZZ_ASSERT(rec.version == 3 && rec.alg == 0 && rec.seq == 0 && rec.seed[0] == '\0');
		FUZZ_ASSERT(rec.tok.type != OTP_TOK_NONE);
	} else {
		FUZZ_ASSERT(otp_alg_name(rec.alg) != NULL && rec.seq <= OTP_SEQ_MAX);
		FUZZ_ASSERT(otp_seed_check(rec.seed) == OTP_OK);
	}
	FUZZ_ASSERT(rec.tok.type == OTP_TOK_NONE ? rec.version <= 2
	                                         : rec.version == 3 && otp_token_check(&rec.tok) == OTP_OK);
	FUZZ_ASSERT(rec.created >= 0 && rec.last_success >= 0 && rec.last_failure >= 0 &&
	            rec.locked_until >= 0);
	/* What decodes re-encodes, and that decodes to the same record. */
	FUZZ_ASSERT(otp_record_encode(&rec, out, sizeof(out), &outlen) == OTP_OK);
	FUZZ_ASSERT(otp_record_decode(out, outlen, &back) == OTP_OK && same(&rec, &back));
	FUZZ_ASSERT(otp_record_encode(&back, out2, sizeof(out2), &outlen2) == OTP_OK);
	FUZZ_ASSERT(outlen2 == outlen && memcmp(out, out2, outlen) == 0);
	/*
	 * The encoding is canonical: a record in the written format re-encodes
	 * to itself, but for the obsolete challenge fields (bytes 80..95,
	 * otpkeys(5)), written zero, and the check that covers them.
	 */
	if (outlen == len && fuzz_all_zero(copy + 80, 16))
		FUZZ_ASSERT(memcmp(out, copy, len) == 0);
	otp_wipe(&back, sizeof(back));
out:
	otp_wipe(&rec, sizeof(rec));
	free(copy);
}

static uint64_t take(const uint8_t **p, size_t *n, size_t want)
{
	uint64_t v = 0;

	for (size_t i = 0; i < want && *n > 0; i++, (*p)++, (*n)--)
		v |= (uint64_t)**p << (8 * i);
	return v;
}

/* A record whose every field comes from the input, valid or not. */
static void encode_one(const uint8_t *p, size_t n)
{
	struct otp_record rec, back;
	unsigned char buf[ENC_MAX];
	size_t len = 0, seedlen;
	enum otp_err rc;

	memset(&rec, 0, sizeof(rec));
	rec.alg = (enum otp_alg)(take(&p, &n, 1) % 5);
	rec.flags = (uint32_t)take(&p, &n, 1) % 3;
	rec.seq = (unsigned)(take(&p, &n, 2) % (OTP_SEQ_MAX + 3));
	seedlen = (size_t)take(&p, &n, 1) % (OTP_SEED_MAX + 1);
	for (size_t i = 0; i < seedlen; i++)
		rec.seed[i] = (char)take(&p, &n, 1);
	for (size_t i = 0; i < OTP_KEY_LEN; i++)
		rec.last.b[i] = (unsigned char)take(&p, &n, 1);
	rec.failures = (uint32_t)take(&p, &n, 4);
	rec.created = (int64_t)take(&p, &n, 8);
	rec.last_success = (int64_t)take(&p, &n, 8);
	rec.last_failure = (int64_t)take(&p, &n, 8);
	rec.locked_until = (int64_t)take(&p, &n, 8);
	(void)take(&p, &n, 8);      /* where the obsolete challenge fields were: the corpus keeps its shape */
	(void)take(&p, &n, 8);
	/* A token, valid or not, when the next byte says so. */
	if (take(&p, &n, 1) & 1) {
		rec.tok.type = (enum otp_tok_type)(take(&p, &n, 1) % 4);
		rec.tok.hmac = (enum otp_hmac)(take(&p, &n, 1) % 5);
		rec.tok.digits = (unsigned)take(&p, &n, 1) % 10;
		rec.tok.step = (unsigned)take(&p, &n, 1) % 70;
		rec.tok.secret_len = (size_t)take(&p, &n, 1) % (OTP_TOK_SECRET_MAX + 2);
		for (size_t i = 0; i < rec.tok.secret_len && i < OTP_TOK_SECRET_MAX; i++)
			rec.tok.secret[i] = (unsigned char)take(&p, &n, 1);
		rec.tok.counter = take(&p, &n, 8);
		rec.tok.drift = (int)(int8_t)take(&p, &n, 1);
		rec.tok.nscratch = (unsigned)take(&p, &n, 1) % (OTP_SCRATCH_MAX + 2);
		for (unsigned i = 0; i < OTP_SCRATCH_MAX; i++)
			rec.tok.scratch[i] = i < rec.tok.nscratch ? (uint32_t)take(&p, &n, 4) : 0;
		if (rec.tok.type == OTP_TOK_NONE)   /* no token: the other fields are not stored */
			memset(&rec.tok, 0, sizeof(rec.tok));
	}
	if (rec.flags & OTP_REC_NO_KEY) {
		/* Encode ignores the key fields of a token-only record; decode gives zeros. */
		rec.alg = 0;
		rec.seq = 0;
		memset(rec.seed, 0, sizeof(rec.seed));
		memset(&rec.last, 0, sizeof(rec.last));
	}

	rc = otp_record_encode(&rec, buf, sizeof(buf), &len);
	if (rc != OTP_OK)
		return;
	FUZZ_ASSERT(len >= OTP_REC_V1_SIZE && len <= sizeof(buf));
	/* Anything encode accepts, decode gives back (the seed lower-cased). */
	FUZZ_ASSERT(otp_record_decode(buf, len, &back) == OTP_OK);
	for (char *s = rec.seed; *s != '\0'; s++)
		*s = (char)fuzz_lower((unsigned char)*s);
	FUZZ_ASSERT(same(&rec, &back));
	/* And a too-small buffer is refused, not overrun. */
	FUZZ_ASSERT(otp_record_encode(&rec, buf, len - 1, &len) == OTP_ERR_BUFFER);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	decode_one(data, size);

	/* Random bytes almost never carry a good check sum: give them one. */
	if (size > CHECK_LEN && size <= ENC_MAX) {
		unsigned char fixed[ENC_MAX], md[EVP_MAX_MD_SIZE];
		unsigned int mdlen = 0;

		memcpy(fixed, data, size);
		FUZZ_ASSERT(EVP_Digest(fixed, size - CHECK_LEN, md, &mdlen, EVP_sha256(), NULL) == 1);
		memcpy(fixed + size - CHECK_LEN, md, CHECK_LEN);
		decode_one(fixed, size);
	}
	encode_one(data, size);
	return 0;
}
