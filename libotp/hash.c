/* hash.c - RFC 2289 key crunch, hash step and 64-bit fold through OpenSSL EVP. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include "otp.h"
#include "internal.h"

/*
 * One digest in use.  MD4 lives in OpenSSL 3's legacy provider; rather
 * than load that into the caller's default library context (we run inside
 * sshd and login), MD4 gets a private context that is freed with the hasher.
 */
struct hasher {
	enum otp_alg alg;
	OSSL_LIB_CTX *libctx;
	OSSL_PROVIDER *legacy;
	EVP_MD *md;
	EVP_MD_CTX *ctx;
};

static void hasher_close(struct hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
	/* A provider still loaded would keep the context alive: unload it first. */
	if (h->legacy != NULL)
		OSSL_PROVIDER_unload(h->legacy);
	OSSL_LIB_CTX_free(h->libctx);
	memset(h, 0, sizeof(*h));
}

static enum otp_err hasher_open(struct hasher *h, enum otp_alg alg)
{
	const char *name;
	enum otp_err rc = OTP_ERR_CRYPTO;

	memset(h, 0, sizeof(*h));
	h->alg = alg;
	switch (alg) {
	case OTP_ALG_MD4: name = "MD4"; break;
	case OTP_ALG_MD5: name = "MD5"; break;
	case OTP_ALG_SHA1: name = "SHA1"; break;
	default: return OTP_ERR_ALG;
	}

	/* Leave the caller's OpenSSL error queue as we found it. */
	ERR_set_mark();
	h->md = EVP_MD_fetch(NULL, name, NULL);
	if (h->md == NULL && alg == OTP_ALG_MD4) {
		rc = OTP_ERR_MD4_UNAVAIL;
		h->libctx = OSSL_LIB_CTX_new();
		if (h->libctx == NULL)
			goto out;
		h->legacy = OSSL_PROVIDER_load(h->libctx, "legacy");
		if (h->legacy == NULL)
			goto out;
		h->md = EVP_MD_fetch(h->libctx, name, NULL);
	}
	if (h->md == NULL)
		goto out;
	rc = OTP_ERR_NOMEM;
	h->ctx = EVP_MD_CTX_new();
	if (h->ctx == NULL)
		goto out;
	rc = OTP_OK;
out:
	ERR_pop_to_mark();
	if (rc != OTP_OK)
		hasher_close(h);
	return rc;
}

/* Hashes n bytes and folds the digest to 64 bits as RFC 2289 App. A says. */
static enum otp_err hasher_fold(struct hasher *h, const void *in, size_t n, otp_key *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	enum otp_err rc = OTP_ERR_CRYPTO;

	ERR_set_mark();
	if (!EVP_DigestInit_ex2(h->ctx, h->md, NULL) ||
	    !EVP_DigestUpdate(h->ctx, in, n) ||
	    !EVP_DigestFinal_ex(h->ctx, d, &dlen))
		goto out;

	if (h->alg == OTP_ALG_SHA1) {
		if (dlen != 20)
			goto out;
		/*
		 * SHA-1 yields five big-endian words; the RFC folds them as
		 * w0^w2^w4, w1^w3 and stores each word little-endian.
		 */
		for (int i = 0; i < 4; i++) {
			out->b[i] = d[3 - i] ^ d[11 - i] ^ d[19 - i];
			out->b[4 + i] = d[7 - i] ^ d[15 - i];
		}
	} else {
		if (dlen != 16)
			goto out;
		for (int i = 0; i < 8; i++)
			out->b[i] = d[i] ^ d[i + 8];
	}
	rc = OTP_OK;
out:
	ERR_pop_to_mark();
	otp_wipe(d, sizeof(d));
	return rc;
}

enum otp_err otp_seed_check(const char *seed)
{
	size_t n = 0;

	if (seed == NULL)
		return OTP_ERR_INVALID;
	for (; seed[n] != '\0'; n++) {
		if (n >= OTP_SEED_MAX)
			return OTP_ERR_SEED_LEN;
		if (!otp_isalnum((unsigned char)seed[n]))
			return OTP_ERR_SEED_CHAR;
	}
	return n < OTP_SEED_MIN ? OTP_ERR_SEED_LEN : OTP_OK;
}

void otp_ascii_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)otp_tolower((unsigned char)*s);
}

enum otp_err otp_passphrase_check(const char *pass, size_t len, bool *warn_long)
{
	if (warn_long != NULL)
		*warn_long = false;
	if (pass == NULL)
		return OTP_ERR_INVALID;
	if (len < OTP_PASS_MIN)
		return OTP_ERR_PASS_SHORT;
	if (len > OTP_PASS_MAX)
		return OTP_ERR_PASS_LONG;
	if (warn_long != NULL)
		*warn_long = len > OTP_PASS_WARN;
	return OTP_OK;
}

bool otp_passphrase_is_seed(const char *pass, size_t len, const char *seed)
{
	unsigned char diff = 0;

	if (pass == NULL || seed == NULL || len != strlen(seed))
		return false;
	for (size_t i = 0; i < len; i++)
		diff |= (unsigned char)(otp_tolower((unsigned char)pass[i]) ^
		                        otp_tolower((unsigned char)seed[i]));
	return diff == 0;
}

static enum otp_err crunch(struct hasher *h, const char *seed, const char *pass,
                           size_t len, otp_key *out)
{
	unsigned char buf[OTP_SEED_MAX + OTP_PASS_MAX];
	size_t slen;
	enum otp_err rc;

	if ((rc = otp_seed_check(seed)) != OTP_OK)
		return rc;
	if ((rc = otp_passphrase_check(pass, len, NULL)) != OTP_OK)
		return rc;
	slen = strlen(seed);
	for (size_t i = 0; i < slen; i++)
		buf[i] = (unsigned char)otp_tolower((unsigned char)seed[i]);
	memcpy(buf + slen, pass, len);
	rc = hasher_fold(h, buf, slen + len, out);
	otp_wipe(buf, sizeof(buf));
	return rc;
}

enum otp_err otp_keycrunch(enum otp_alg alg, const char *seed,
                           const char *pass, size_t len, otp_key *out)
{
	struct hasher h;
	enum otp_err rc;

	if ((rc = hasher_open(&h, alg)) != OTP_OK)
		return rc;
	rc = crunch(&h, seed, pass, len, out);
	hasher_close(&h);
	return rc;
}

enum otp_err otp_hash_step(enum otp_alg alg, const otp_key *in, otp_key *out)
{
	struct hasher h;
	otp_key tmp;
	enum otp_err rc;

	if ((rc = hasher_open(&h, alg)) != OTP_OK)
		return rc;
	tmp = *in;
	rc = hasher_fold(&h, tmp.b, sizeof(tmp.b), out);
	otp_wipe(&tmp, sizeof(tmp));
	hasher_close(&h);
	return rc;
}

enum otp_err otp_compute_range(enum otp_alg alg, unsigned seq, unsigned count,
                               const char *seed, const char *pass, size_t len,
                               otp_key *out)
{
	struct hasher h;
	otp_key k;
	enum otp_err rc;
	unsigned first;

	if (seq > OTP_SEQ_MAX)
		return OTP_ERR_SEQ;
	if (count == 0 || count > seq + 1 || out == NULL)
		return OTP_ERR_INVALID;
	first = seq + 1 - count;
	if ((rc = hasher_open(&h, alg)) != OTP_OK)
		return rc;
	if ((rc = crunch(&h, seed, pass, len, &k)) != OTP_OK)
		goto out;
	for (unsigned i = 0; i <= seq; i++) {
		if (i > 0 && (rc = hasher_fold(&h, k.b, sizeof(k.b), &k)) != OTP_OK)
			goto out;
		if (i >= first)
			out[i - first] = k;
	}
out:
	otp_wipe(&k, sizeof(k));
	hasher_close(&h);
	if (rc != OTP_OK)
		otp_wipe(out, (size_t)count * sizeof(*out));
	return rc;
}

enum otp_err otp_compute(enum otp_alg alg, unsigned seq, const char *seed,
                         const char *pass, size_t len, otp_key *out)
{
	return otp_compute_range(alg, seq, 1, seed, pass, len, out);
}

const char *otp_alg_name(enum otp_alg alg)
{
	switch (alg) {
	case OTP_ALG_MD4: return "md4";
	case OTP_ALG_MD5: return "md5";
	case OTP_ALG_SHA1: return "sha1";
	}
	return NULL;
}

enum otp_err otp_alg_parse(const char *name, enum otp_alg *alg)
{
	static const enum otp_alg all[] = { OTP_ALG_MD4, OTP_ALG_MD5, OTP_ALG_SHA1 };

	if (name == NULL)
		return OTP_ERR_ALG;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(name, otp_alg_name(all[i])) == 0) {
			*alg = all[i];
			return OTP_OK;
		}
	}
	return OTP_ERR_ALG;
}
