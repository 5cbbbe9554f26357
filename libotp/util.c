/* util.c - wiping, constant-time comparison, checks, HMAC, bounded number parsing, randomness, time. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "otp.h"
#include "internal.h"

void otp_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

bool otp_key_equal(const otp_key *a, const otp_key *b)
{
	return CRYPTO_memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

bool otp_secret_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	return alen == blen && CRYPTO_memcmp(a, b, alen) == 0;
}

enum otp_err otp_parse_uint(const char *s, unsigned long min, unsigned long max,
                            unsigned long *out)
{
	char *end;
	unsigned long v;

	if (s == NULL || *s < '0' || *s > '9')
		return OTP_ERR_INVALID;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return OTP_ERR_INVALID;
	*out = v;
	return OTP_OK;
}

enum otp_err otp_random_bytes(void *buf, size_t n)
{
	if (n > (size_t)INT32_MAX)
		return OTP_ERR_INVALID;
	return RAND_bytes(buf, (int)n) == 1 ? OTP_OK : OTP_ERR_RANDOM;
}

void otp_seed_from_bytes(const unsigned char b[8], char seed[OTP_SEED_MAX + 1])
{
	uint64_t v = 0;

	/* 2^64 is 2.7e10 times 26*26*10^6, so the modulo bias is negligible. */
	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	seed[0] = (char)('a' + v % 26);
	v /= 26;
	seed[1] = (char)('a' + v % 26);
	v /= 26;
	for (int i = 7; i >= 2; i--, v /= 10)
		seed[i] = (char)('0' + v % 10);
	seed[8] = '\0';
}

enum otp_err otp_seed_random(char seed[OTP_SEED_MAX + 1])
{
	unsigned char b[8];
	enum otp_err rc = otp_random_bytes(b, sizeof(b));

	if (rc == OTP_OK)
		otp_seed_from_bytes(b, seed);
	otp_wipe(b, sizeof(b));
	return rc;
}

/*
 * SHA-256 fetched once per process (the check runs many times per login);
 * never freed, as OpenSSL keeps its own; EVP_sha256 if the fetch failed.
 */
static const EVP_MD *check_md;
static pthread_once_t check_once = PTHREAD_ONCE_INIT;

static void check_md_fetch(void)
{
	check_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

enum otp_err otp_check_sum(const void *p, size_t n, unsigned char out[OTP_CHECK_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	enum otp_err rc = OTP_ERR_CRYPTO;
	const EVP_MD *alg;

	(void)pthread_once(&check_once, check_md_fetch);
	alg = check_md != NULL ? check_md : EVP_sha256();
	if (EVP_Digest(p, n, md, &mdlen, alg, NULL) == 1 && mdlen >= OTP_CHECK_LEN) {
		memcpy(out, md, OTP_CHECK_LEN);
		rc = OTP_OK;
	}
	otp_wipe(md, sizeof(md));
	return rc;
}

bool otp_check_ok(const void *p, size_t n, const unsigned char *want)
{
	unsigned char got[OTP_CHECK_LEN];
	bool ok;

	ok = otp_check_sum(p, n, got) == OTP_OK && CRYPTO_memcmp(got, want, OTP_CHECK_LEN) == 0;
	otp_wipe(got, sizeof(got));
	return ok;
}

/*
 * HMAC.  Fetching the algorithm and its digest costs more than the MAC of
 * a short message, so each digest's context is made once per process,
 * with a fixed key that is no secret, and copied for every call (the copy
 * takes the caller's key); EVP_Q_mac when that could not be made.
 */
static EVP_MAC_CTX *mac_base[OTP_HMAC_SHA512 + 1];
static pthread_once_t mac_once = PTHREAD_ONCE_INIT;

static void mac_make(void)
{
	static const unsigned char nokey[1];
	EVP_MAC *mac;

	ERR_set_mark();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) != NULL) {
		for (int h = OTP_HMAC_SHA1; h <= OTP_HMAC_SHA512; h++) {
			OSSL_PARAM par[2] = {
				OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
				                                 (char *)otp_hmac_name((enum otp_hmac)h), 0),
				OSSL_PARAM_construct_end()
			};
			EVP_MAC_CTX *c = EVP_MAC_CTX_new(mac);

			if (c != NULL && EVP_MAC_init(c, nokey, sizeof(nokey), par) != 1) {
				EVP_MAC_CTX_free(c);
				c = NULL;
			}
			mac_base[h] = c;
		}
		EVP_MAC_free(mac);      /* each context holds its own reference */
	}
	ERR_pop_to_mark();
}

enum otp_err otp_hmac_calc(enum otp_hmac h, const void *key, size_t keylen, const void *msg,
                           size_t msglen, unsigned char *out, size_t outsize, size_t *outlen)
{
	const char *md = otp_hmac_name(h);
	EVP_MAC_CTX *c;
	enum otp_err rc = OTP_ERR_CRYPTO;

	*outlen = 0;
	if (md == NULL)
		return OTP_ERR_ALG;
	(void)pthread_once(&mac_once, mac_make);
	ERR_set_mark();
	if (mac_base[h] != NULL && (c = EVP_MAC_CTX_dup(mac_base[h])) != NULL) {
		if (EVP_MAC_init(c, key, keylen, NULL) == 1 && EVP_MAC_update(c, msg, msglen) == 1 &&
		    EVP_MAC_final(c, out, outlen, outsize) == 1)
			rc = OTP_OK;
		EVP_MAC_CTX_free(c);    /* the provider wipes the key and the state */
	} else if (EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, key, keylen, msg, msglen, out, outsize,
	                     outlen) != NULL) {
		rc = OTP_OK;
	}
	ERR_pop_to_mark();
	if (rc != OTP_OK)
		*outlen = 0;
	return rc;
}

int64_t otp_now(void)
{
	return (int64_t)time(NULL);
}

uint64_t otp_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void otp_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}
