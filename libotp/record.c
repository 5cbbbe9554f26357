/* record.c - the key record: its byte format (otpkeys(5)) and the rules every program applies to it. */
#include <string.h>

#include <openssl/crypto.h>

#include "otp.h"
#include "internal.h"

/*
 * Formats are described byte by byte in otpkeys(5); keep the two in step.
 *
 * Record v1 (OTP_REC_V1_SIZE bytes, little-endian):
 */
#define REC_MAGIC          "OTPK"
#define REC_MAGIC_LEN      4
#define REC_OFF_VERSION    4    /* u16 */
#define REC_OFF_ALG        6    /* u8 */
#define REC_OFF_SEEDLEN    7    /* u8 */
#define REC_OFF_FLAGS      8    /* u32 */
#define REC_OFF_SEQ        12   /* u32 */
#define REC_OFF_SEED       16   /* 16 bytes, NUL padded */
#define REC_OFF_LAST       32   /* 8 bytes */
#define REC_OFF_FAILURES   40   /* u32 */
#define REC_OFF_RESERVED0  44   /* u32, zero */
#define REC_OFF_CREATED    48   /* i64 */
#define REC_OFF_LAST_OK    56
#define REC_OFF_LAST_FAIL  64
#define REC_OFF_LOCKED     72
#define REC_OFF_PENDING    80   /* i64: obsolete (challenges are kept outside the record), written zero */
#define REC_OFF_PENDING_ID 88   /* u64, the same */
#define REC_OFF_RESERVED   96   /* 24 bytes, zero */
#define REC_OFF_CHECK      120  /* first 8 bytes of SHA-256 over bytes 0..119 */
#define REC_V1             1
/*
 * Record v2 (OTP_REC_V2_SIZE bytes): the v1 fields at offsets 0..95, then
 * the APOP shared secret, the token area, reserved bytes and the check.
 */
#define REC_V2             2
#define REC2_OFF_APOP_LEN  96   /* u8, 0 = no APOP secret */
#define REC2_OFF_APOP      97   /* OTP_APOP_SECRET_MAX bytes, NUL padded */
#define REC2_OFF_TOKEN     160  /* REC2_TOKEN_LEN bytes, zero until HOTP/TOTP define it */
#define REC2_TOKEN_LEN     80
#define REC2_OFF_RESERVED  240  /* 8 bytes, zero */
#define REC2_OFF_CHECK     248  /* first 8 bytes of SHA-256 over bytes 0..247 */
#define REC_FLAGS_V2       OTP_REC_DISABLED
/*
 * Record v3 (OTP_REC_V3_SIZE bytes): v2's bytes 0..159, then a token
 * area that replaces v2's (which v2 keeps all zero), reserved bytes and
 * the check.  Flag OTP_REC_NO_KEY (v3 only) says there is no RFC 2289
 * key: its fields (alg, seq, seed, last) are then all zero.
 */
#define REC_V3             3
#define REC3_OFF_TYPE      160  /* u8: 1 HOTP, 2 TOTP */
#define REC3_OFF_HMAC      161  /* u8: 1 SHA1, 2 SHA256, 3 SHA512 */
#define REC3_OFF_DIGITS    162  /* u8: 6..8 */
#define REC3_OFF_STEP      163  /* u8: TOTP 30 or 60; HOTP 0 */
#define REC3_OFF_SECLEN    164  /* u8: 10..64 */
#define REC3_OFF_DRIFT     165  /* i8: TOTP drift of the last accepted step */
#define REC3_OFF_NSCRATCH  166  /* u8: 0..10 scratch slots */
#define REC3_OFF_RES1      167  /* u8, zero */
#define REC3_OFF_COUNTER   168  /* u64: HOTP next counter / TOTP last accepted step */
#define REC3_OFF_SECRET    176  /* 64 bytes, zero padded */
#define REC3_OFF_SCRATCH   240  /* 10 x u32, unused slots zero */
#define REC3_OFF_RESERVED  280  /* 96 bytes, zero */
#define REC3_OFF_CHECK     376  /* first 8 bytes of SHA-256 over bytes 0..375 */
#define REC_FLAGS_KNOWN    (OTP_REC_DISABLED | OTP_REC_NO_KEY)

/* ---- records ------------------------------------------------------------- */

static bool alg_known(enum otp_alg alg)
{
	return otp_alg_name(alg) != NULL;
}

/* An APOP secret of min..OTP_APOP_SECRET_MAX printable ASCII bytes. */
static bool apop_secret_ok(const char *s, size_t n, size_t min)
{
	if (n < min || n > OTP_APOP_SECRET_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

/* Encodes t into the v3 token area at r (zeroed by the caller). */
static enum otp_err token_encode(const struct otp_token *t, unsigned char *r)
{
	enum otp_err rc;

	if ((rc = otp_token_check(t)) != OTP_OK)
		return rc;
	r[REC3_OFF_TYPE] = (unsigned char)t->type;
	r[REC3_OFF_HMAC] = (unsigned char)t->hmac;
	r[REC3_OFF_DIGITS] = (unsigned char)t->digits;
	r[REC3_OFF_STEP] = (unsigned char)t->step;
	r[REC3_OFF_SECLEN] = (unsigned char)t->secret_len;
	r[REC3_OFF_DRIFT] = (unsigned char)(int8_t)t->drift;
	r[REC3_OFF_NSCRATCH] = (unsigned char)t->nscratch;
	otp_put_u64(r + REC3_OFF_COUNTER, t->counter);
	memcpy(r + REC3_OFF_SECRET, t->secret, t->secret_len);
	for (unsigned i = 0; i < t->nscratch; i++)
		otp_put_u32(r + REC3_OFF_SCRATCH + 4 * i, t->scratch[i]);
	return OTP_OK;
}

/* Decodes the v3 token area at r into *t; false when it is not well formed. */
static bool token_decode(const unsigned char *r, struct otp_token *t)
{
	memset(t, 0, sizeof(*t));
	t->type = (enum otp_tok_type)r[REC3_OFF_TYPE];
	t->hmac = (enum otp_hmac)r[REC3_OFF_HMAC];
	t->digits = r[REC3_OFF_DIGITS];
	t->step = r[REC3_OFF_STEP];
	t->secret_len = r[REC3_OFF_SECLEN];
	t->drift = (int8_t)r[REC3_OFF_DRIFT];
	t->nscratch = r[REC3_OFF_NSCRATCH];
	t->counter = otp_get_u64(r + REC3_OFF_COUNTER);
	if (r[REC3_OFF_RES1] != 0 || otp_token_check(t) != OTP_OK ||
	    !otp_all_zero(r + REC3_OFF_SECRET + t->secret_len, OTP_TOK_SECRET_MAX - t->secret_len) ||
	    !otp_all_zero(r + REC3_OFF_SCRATCH + 4 * t->nscratch, 4 * (OTP_SCRATCH_MAX - t->nscratch)))
		return false;
	memcpy(t->secret, r + REC3_OFF_SECRET, t->secret_len);
	for (unsigned i = 0; i < t->nscratch; i++)
		t->scratch[i] = otp_get_u32(r + REC3_OFF_SCRATCH + 4 * i);
	return otp_token_check(t) == OTP_OK;
}

/*
 * Encodes rec into buf (at least the size of the version written): as
 * format v2 when it has no token, else as v3 (the oldest format that holds
 * it, so that older programs keep reading records without tokens); the
 * seed is stored lower-cased.  Sets *len.  Returns OTP_ERR_ALG, _SEQ,
 * _SEED_*, _TOKEN, _INVALID (unknown flags, negative times, a malformed
 * APOP secret, OTP_REC_NO_KEY without a token) or _BUFFER without writing
 * a partial record.  The caller owns and must wipe buf.
 */
enum otp_err otp_record_encode(const struct otp_record *rec, unsigned char *buf, size_t size,
                               size_t *len)
{
	unsigned char r[OTP_REC_MAX_SIZE];
	size_t seedlen, apoplen, want;
	bool has_tok, nokey;
	enum otp_err rc;

	if (rec == NULL || buf == NULL || len == NULL)
		return OTP_ERR_INVALID;
	has_tok = rec->tok.type != OTP_TOK_NONE;
	nokey = (rec->flags & OTP_REC_NO_KEY) != 0;
	want = has_tok ? OTP_REC_V3_SIZE : OTP_REC_V2_SIZE;
	if (size < want)
		return OTP_ERR_BUFFER;
	if (nokey && !has_tok)
		return OTP_ERR_INVALID;
	if (!nokey) {
		if (!alg_known(rec->alg))
			return OTP_ERR_ALG;
		if (rec->seq > OTP_SEQ_MAX)
			return OTP_ERR_SEQ;
		if (memchr(rec->seed, '\0', sizeof(rec->seed)) == NULL)
			return OTP_ERR_SEED_LEN;
		if ((rc = otp_seed_check(rec->seed)) != OTP_OK)
			return rc;
	}
	if ((rec->flags & ~REC_FLAGS_KNOWN) != 0 || rec->created < 0 || rec->last_success < 0 ||
	    rec->last_failure < 0 || rec->locked_until < 0)
		return OTP_ERR_INVALID;
	apoplen = strnlen(rec->apop_secret, sizeof(rec->apop_secret));
	if (apoplen == sizeof(rec->apop_secret) ||
	    (apoplen > 0 && !apop_secret_ok(rec->apop_secret, apoplen, 1)))
		return OTP_ERR_INVALID;

	memset(r, 0, sizeof(r));
	memcpy(r, REC_MAGIC, REC_MAGIC_LEN);
	otp_put_u16(r + REC_OFF_VERSION, has_tok ? REC_V3 : REC_V2);
	otp_put_u32(r + REC_OFF_FLAGS, rec->flags);
	if (!nokey) {
		r[REC_OFF_ALG] = (unsigned char)rec->alg;
		seedlen = strlen(rec->seed);
		r[REC_OFF_SEEDLEN] = (unsigned char)seedlen;
		otp_put_u32(r + REC_OFF_SEQ, rec->seq);
		for (size_t i = 0; i < seedlen; i++)
			r[REC_OFF_SEED + i] = (unsigned char)otp_tolower((unsigned char)rec->seed[i]);
		memcpy(r + REC_OFF_LAST, rec->last.b, OTP_KEY_LEN);
	}
	otp_put_u32(r + REC_OFF_FAILURES, rec->failures);
	otp_put_u64(r + REC_OFF_CREATED, (uint64_t)rec->created);
	otp_put_u64(r + REC_OFF_LAST_OK, (uint64_t)rec->last_success);
	otp_put_u64(r + REC_OFF_LAST_FAIL, (uint64_t)rec->last_failure);
	otp_put_u64(r + REC_OFF_LOCKED, (uint64_t)rec->locked_until);
	r[REC2_OFF_APOP_LEN] = (unsigned char)apoplen;
	memcpy(r + REC2_OFF_APOP, rec->apop_secret, apoplen);
	if (has_tok) {
		if ((rc = token_encode(&rec->tok, r)) == OTP_OK)
			rc = otp_check_sum(r, REC3_OFF_CHECK, r + REC3_OFF_CHECK);
	} else {
		rc = otp_check_sum(r, REC2_OFF_CHECK, r + REC2_OFF_CHECK);
	}
	if (rc == OTP_OK) {
		memcpy(buf, r, want);
		*len = want;
	}
	otp_wipe(r, sizeof(r));
	return rc;
}

static bool time_ok(const unsigned char *p)
{
	return otp_get_u64(p) <= (uint64_t)INT64_MAX;
}

/*
 * Decodes len bytes of hostile input into *rec: a v1 record
 * (OTP_REC_V1_SIZE bytes), a v2 one (OTP_REC_V2_SIZE) or a v3 one
 * (OTP_REC_V3_SIZE).  OTP_ERR_DB_VERSION for a record of another format
 * version, OTP_ERR_DB_CORRUPT for anything else that is not well formed;
 * *rec is zeroed on failure and must be wiped by the caller on success (it
 * may hold an APOP secret and a token secret).
 */
/*
 * The checks that depend on the record's version: its size, check bytes,
 * flags, reserved bytes, token and APOP secret.  Sets *apoplen and *nokey.
 */
static bool layout_ok(const unsigned char *r, size_t len, unsigned version, uint32_t flags,
                      struct otp_record *rec, size_t *apoplen, bool *nokey)
{
	*apoplen = 0;
	*nokey = false;
	if (version == REC_V1)
		return len == OTP_REC_V1_SIZE && otp_check_ok(r, REC_OFF_CHECK, r + REC_OFF_CHECK) &&
		       otp_all_zero(r + REC_OFF_RESERVED, REC_OFF_CHECK - REC_OFF_RESERVED) &&
		       (flags & ~REC_FLAGS_V2) == 0;
	if (version == REC_V2) {
		if (len != OTP_REC_V2_SIZE || !otp_check_ok(r, REC2_OFF_CHECK, r + REC2_OFF_CHECK) ||
		    (flags & ~REC_FLAGS_V2) != 0 ||
		    !otp_all_zero(r + REC2_OFF_TOKEN, REC2_TOKEN_LEN) ||
		    !otp_all_zero(r + REC2_OFF_RESERVED, REC2_OFF_CHECK - REC2_OFF_RESERVED))
			return false;
	} else {
		if (len != OTP_REC_V3_SIZE || !otp_check_ok(r, REC3_OFF_CHECK, r + REC3_OFF_CHECK) ||
		    (flags & ~REC_FLAGS_KNOWN) != 0 ||
		    !otp_all_zero(r + REC3_OFF_RESERVED, REC3_OFF_CHECK - REC3_OFF_RESERVED) ||
		    !token_decode(r, &rec->tok))
			return false;
		*nokey = (flags & OTP_REC_NO_KEY) != 0;
	}
	*apoplen = r[REC2_OFF_APOP_LEN];
	return *apoplen <= OTP_APOP_SECRET_MAX &&
	       (*apoplen == 0 || apop_secret_ok((const char *)r + REC2_OFF_APOP, *apoplen, 1)) &&
	       otp_all_zero(r + REC2_OFF_APOP + *apoplen, OTP_APOP_SECRET_MAX - *apoplen);
}

/* The RFC 2289 key's fields: all zero without a key, else well formed; the seed into rec. */
static bool key_ok(const unsigned char *r, bool nokey, struct otp_record *rec)
{
	size_t seedlen = r[REC_OFF_SEEDLEN];

	if (nokey)
		return r[REC_OFF_ALG] == 0 && seedlen == 0 && otp_get_u32(r + REC_OFF_SEQ) == 0 &&
		       otp_all_zero(r + REC_OFF_SEED, OTP_SEED_MAX) && otp_all_zero(r + REC_OFF_LAST, OTP_KEY_LEN);
	if (!alg_known((enum otp_alg)r[REC_OFF_ALG]) ||
	    otp_get_u32(r + REC_OFF_SEQ) > OTP_SEQ_MAX ||
	    seedlen < OTP_SEED_MIN || seedlen > OTP_SEED_MAX ||
	    !otp_all_zero(r + REC_OFF_SEED + seedlen, OTP_SEED_MAX - seedlen))
		return false;
	memcpy(rec->seed, r + REC_OFF_SEED, seedlen);
	rec->seed[seedlen] = '\0';
	/* strlen must be seedlen too: no NUL inside, and lower case only. */
	if (strlen(rec->seed) != seedlen || otp_seed_check(rec->seed) != OTP_OK)
		return false;
	for (size_t i = 0; i < seedlen; i++)
		if (rec->seed[i] != otp_tolower((unsigned char)rec->seed[i]))
			return false;
	return true;
}

enum otp_err otp_record_decode(const unsigned char *buf, size_t len, struct otp_record *rec)
{
	const unsigned char *r = buf;
	size_t apoplen = 0;
	unsigned version;
	uint32_t flags;
	bool nokey = false;
	enum otp_err rc = OTP_ERR_DB_CORRUPT;

	if (rec == NULL)
		return OTP_ERR_INVALID;
	memset(rec, 0, sizeof(*rec));
	if (buf == NULL || len < REC_OFF_VERSION + 2 || memcmp(r, REC_MAGIC, REC_MAGIC_LEN) != 0)
		goto out;
	version = otp_get_u16(r + REC_OFF_VERSION);
	if (version != REC_V1 && version != REC_V2 && version != REC_V3) {
		rc = OTP_ERR_DB_VERSION;
		goto out;
	}
	/* Only looked at once the length below is known to be right. */
	flags = len >= REC_OFF_FLAGS + 4 ? otp_get_u32(r + REC_OFF_FLAGS) : 0;
	if (!layout_ok(r, len, version, flags, rec, &apoplen, &nokey) ||
	    otp_get_u32(r + REC_OFF_RESERVED0) != 0 || !key_ok(r, nokey, rec))
		goto out;
	for (int off = REC_OFF_CREATED; off <= REC_OFF_PENDING; off += 8)
		if (!time_ok(r + off))
			goto out;

	rec->version = version;
	rec->flags = flags;
	rec->alg = (enum otp_alg)r[REC_OFF_ALG];
	rec->seq = otp_get_u32(r + REC_OFF_SEQ);
	memcpy(rec->last.b, r + REC_OFF_LAST, OTP_KEY_LEN);
	rec->failures = otp_get_u32(r + REC_OFF_FAILURES);
	rec->created = (int64_t)otp_get_u64(r + REC_OFF_CREATED);
	rec->last_success = (int64_t)otp_get_u64(r + REC_OFF_LAST_OK);
	rec->last_failure = (int64_t)otp_get_u64(r + REC_OFF_LAST_FAIL);
	rec->locked_until = (int64_t)otp_get_u64(r + REC_OFF_LOCKED);
	memcpy(rec->apop_secret, r + REC2_OFF_APOP, apoplen);
	rec->apop_secret[apoplen] = '\0';
	rc = OTP_OK;
out:
	if (rc != OTP_OK)
		otp_wipe(rec, sizeof(*rec));
	return rc;
}

/* ---- user names and paths ------------------------------------------------ */

/* Returns OTP_OK for a well-formed user name, else OTP_ERR_USER. */
enum otp_err otp_user_check(const char *user)
{
	size_t n;

	if (user == NULL || user[0] == '-')
		return OTP_ERR_USER;
	for (n = 0; user[n] != '\0'; n++) {
		unsigned char c = (unsigned char)user[n];

		if (n >= OTP_USER_MAX || c < 0x21 || c > 0x7e || c == ':' || c == '/')
			return OTP_ERR_USER;
	}
	return n == 0 ? OTP_ERR_USER : OTP_OK;
}


/* ---- rules ---------------------------------------------------------------- */

enum otp_err otp_apop_secret_check(const char *secret, size_t len)
{
	/* What "otpkey apop" stores; a shorter one read from disk is still used. */
	if (len < OTP_APOP_SECRET_MIN || len > OTP_APOP_SECRET_MAX)
		return OTP_ERR_TOO_LONG;
	return apop_secret_ok(secret, len, OTP_APOP_SECRET_MIN) ? OTP_OK : OTP_ERR_INVALID;
}

bool otp_record_has_key(const struct otp_record *rec)
{
	return !(rec->flags & OTP_REC_NO_KEY);
}

unsigned otp_record_remaining(const struct otp_record *rec)
{
	return otp_record_has_key(rec) && rec->seq > 1 ? rec->seq - 1 : 0;
}

unsigned otp_record_scratch_left(const struct otp_record *rec)
{
	unsigned n = 0;

	for (unsigned i = 0; i < rec->tok.nscratch && i < OTP_SCRATCH_MAX; i++)
		n += rec->tok.scratch[i] != OTP_SCRATCH_USED;
	return rec->tok.type != OTP_TOK_NONE ? n : 0;
}

bool otp_record_challenge(const struct otp_record *rec, bool ext, struct otp_challenge *c)
{
	memset(c, 0, sizeof(*c));
	if (otp_record_remaining(rec) == 0)
		return false;
	c->alg = rec->alg;
	c->seq = rec->seq - 1;
	memcpy(c->seed, rec->seed, sizeof(c->seed));
	c->seed[OTP_SEED_MAX] = '\0';
	c->ext = ext;
	return true;
}

const char *otp_tok_name(enum otp_tok_type t)
{
	return t == OTP_TOK_HOTP ? "HOTP" : t == OTP_TOK_TOTP ? "TOTP" : NULL;
}

enum otp_err otp_record_set_key(struct otp_record *rec, enum otp_alg alg, unsigned seq,
                                const char *seed, const otp_key *key, int64_t now)
{
	enum otp_err rc;

	if (!alg_known(alg))
		return OTP_ERR_ALG;
	if (seq > OTP_SEQ_MAX)
		return OTP_ERR_SEQ;
	if (strlen(seed) > OTP_SEED_MAX)
		return OTP_ERR_SEED_LEN;
	if ((rc = otp_seed_check(seed)) != OTP_OK)
		return rc;
	rec->flags &= ~OTP_REC_NO_KEY;
	rec->alg = alg;
	rec->seq = seq;
	memset(rec->seed, 0, sizeof(rec->seed));
	memcpy(rec->seed, seed, strlen(seed));
	otp_ascii_lower(rec->seed);
	rec->last = *key;
	rec->failures = 0;
	rec->locked_until = 0;
	rec->created = now;
	return OTP_OK;
}

/*
 * Same seed and algorithm: the chain is the same when hashing the OTP with
 * the lower count up to the higher count gives the other (OTP(n+1) =
 * H(OTP(n))), whichever of the two is the new one.
 */
enum otp_err otp_record_chain(const struct otp_record *old, enum otp_alg alg, unsigned new_seq,
                              const char *seed, const otp_key *key, enum otp_chain *res)
{
	const otp_key *from = new_seq <= old->seq ? key : &old->last;
	const otp_key *to = new_seq <= old->seq ? &old->last : key;
	unsigned steps = new_seq <= old->seq ? old->seq - new_seq : new_seq - old->seq;
	otp_key k;
	enum otp_err rc = OTP_OK;

	*res = OTP_CHAIN_NEW;
	if (!otp_record_has_key(old) || old->alg != alg || strcmp(old->seed, seed) != 0)
		return OTP_OK;
	k = *from;
	for (unsigned i = 0; i < steps && rc == OTP_OK; i++)
		rc = otp_hash_step(alg, &k, &k);
	if (rc != OTP_OK || otp_key_equal(&k, to))
		*res = OTP_CHAIN_SAME;
	otp_wipe(&k, sizeof(k));
	return rc;
}

void otp_record_failure(struct otp_record *rec, unsigned max_failures, unsigned lockout, int64_t now)
{
	rec->failures++;
	rec->last_failure = now;
	/* A lockout runs its course: failures while it runs do not prolong it. */
	if (max_failures > 0 && rec->failures >= max_failures && rec->locked_until <= now)
		rec->locked_until = now + lockout;
}

void otp_record_success(struct otp_record *rec, int64_t now)
{
	rec->failures = 0;
	rec->locked_until = 0;
	rec->last_success = now;
}

enum otp_err otp_record_set_token(struct otp_record *rec, bool exists, const struct otp_token *tok,
                                  int64_t now)
{
	enum otp_err rc;

	if ((rc = otp_token_check(tok)) != OTP_OK)
		return rc;
	if (!exists) {
		otp_wipe(rec, sizeof(*rec));
		rec->flags = OTP_REC_NO_KEY;
		rec->created = now;
	}
	otp_wipe(&rec->tok, sizeof(rec->tok));
	rec->tok = *tok;
	return OTP_OK;
}
