/* keydb.c - the GDBM key store: record format, lock, journalled durable update, recovery. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <gdbm.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

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
#define REC_OFF_PENDING    80
#define REC_OFF_PENDING_ID 88   /* u64 */
#define REC_OFF_RESERVED   96   /* 24 bytes, zero */
#define REC_OFF_CHECK      120  /* first 8 bytes of SHA-256 over bytes 0..119 */
#define CHECK_LEN          8
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

/* Journal entry: magic, u16 op, u16 key length, u32 value length, key, value, check. */
#define JNL_MAGIC          "OTPJRNL1"
#define JNL_MAGIC_LEN      8
#define JNL_HDR_LEN        16
#define JNL_OP_STORE       1
#define JNL_OP_DELETE      2
#define JNL_KEY_MAX        255
#define JNL_VAL_MAX        4096
#define JNL_MAX            (JNL_HDR_LEN + JNL_KEY_MAX + JNL_VAL_MAX + CHECK_LEN)

/* Reserved entries: keys starting with a space, which no user name has. */
#define HOST_SECRET_KEY    " host-secret"
#define HOST_SECRET_MAGIC  "OTPHSEC1"
#define HOST_SECRET_LEN    32
#define HOST_SECRET_VLEN   (8 + HOST_SECRET_LEN + CHECK_LEN)

/* Lock polling: short sleeps with jitter, so waiters do not march in step. */
#define LOCK_SLEEP_MIN_MS  2
#define LOCK_SLEEP_SPAN_MS 9

#define GDBM_OPEN_FLAGS    (GDBM_NOLOCK | GDBM_NOMMAP | GDBM_CLOEXEC | GDBM_CLOERROR)

struct db {
	char path[PATH_MAX];
	char dir[PATH_MAX];
	char lockpath[PATH_MAX];
	char jpath[PATH_MAX];
	char newpath[PATH_MAX];
	int lockfd;
	int jfd;
	GDBM_FILE dbf;
	bool excl;
	struct timespec deadline;
};

/* ---- little-endian fields ------------------------------------------------ */

static void put_u16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t get_u16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static uint32_t get_u32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get_u64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static bool all_zero(const unsigned char *p, size_t n)
{
	unsigned char acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* The first CHECK_LEN bytes of SHA-256(p[0..n-1]). */
static enum otp_err check_sum(const void *p, size_t n, unsigned char out[CHECK_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	enum otp_err rc = OTP_ERR_CRYPTO;

	if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen >= CHECK_LEN) {
		memcpy(out, md, CHECK_LEN);
		rc = OTP_OK;
	}
	otp_wipe(md, sizeof(md));
	return rc;
}

/* Constant time, like every comparison here that involves record bytes. */
static bool check_ok(const void *p, size_t n, const unsigned char *want)
{
	unsigned char got[CHECK_LEN];
	bool ok;

	ok = check_sum(p, n, got) == OTP_OK && CRYPTO_memcmp(got, want, CHECK_LEN) == 0;
	otp_wipe(got, sizeof(got));
	return ok;
}

/* ---- records ------------------------------------------------------------- */

static bool alg_known(enum otp_alg alg)
{
	return otp_alg_name(alg) != NULL;
}

/* An APOP secret as stored: 1..OTP_APOP_SECRET_MAX printable ASCII bytes. */
static bool apop_secret_ok(const char *s, size_t n)
{
	if (n < 1 || n > OTP_APOP_SECRET_MAX)
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
	put_u64(r + REC3_OFF_COUNTER, t->counter);
	memcpy(r + REC3_OFF_SECRET, t->secret, t->secret_len);
	for (unsigned i = 0; i < t->nscratch; i++)
		put_u32(r + REC3_OFF_SCRATCH + 4 * i, t->scratch[i]);
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
	t->counter = get_u64(r + REC3_OFF_COUNTER);
	if (r[REC3_OFF_RES1] != 0 || otp_token_check(t) != OTP_OK ||
	    !all_zero(r + REC3_OFF_SECRET + t->secret_len, OTP_TOK_SECRET_MAX - t->secret_len) ||
	    !all_zero(r + REC3_OFF_SCRATCH + 4 * t->nscratch, 4 * (OTP_SCRATCH_MAX - t->nscratch)))
		return false;
	memcpy(t->secret, r + REC3_OFF_SECRET, t->secret_len);
	for (unsigned i = 0; i < t->nscratch; i++)
		t->scratch[i] = get_u32(r + REC3_OFF_SCRATCH + 4 * i);
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
	    rec->last_failure < 0 || rec->locked_until < 0 || rec->pending_until < 0)
		return OTP_ERR_INVALID;
	apoplen = strnlen(rec->apop_secret, sizeof(rec->apop_secret));
	if (apoplen == sizeof(rec->apop_secret) ||
	    (apoplen > 0 && !apop_secret_ok(rec->apop_secret, apoplen)))
		return OTP_ERR_INVALID;

	memset(r, 0, sizeof(r));
	memcpy(r, REC_MAGIC, REC_MAGIC_LEN);
	put_u16(r + REC_OFF_VERSION, has_tok ? REC_V3 : REC_V2);
	put_u32(r + REC_OFF_FLAGS, rec->flags);
	if (!nokey) {
		r[REC_OFF_ALG] = (unsigned char)rec->alg;
		seedlen = strlen(rec->seed);
		r[REC_OFF_SEEDLEN] = (unsigned char)seedlen;
		put_u32(r + REC_OFF_SEQ, rec->seq);
		for (size_t i = 0; i < seedlen; i++)
			r[REC_OFF_SEED + i] = (unsigned char)otp_tolower((unsigned char)rec->seed[i]);
		memcpy(r + REC_OFF_LAST, rec->last.b, OTP_KEY_LEN);
	}
	put_u32(r + REC_OFF_FAILURES, rec->failures);
	put_u64(r + REC_OFF_CREATED, (uint64_t)rec->created);
	put_u64(r + REC_OFF_LAST_OK, (uint64_t)rec->last_success);
	put_u64(r + REC_OFF_LAST_FAIL, (uint64_t)rec->last_failure);
	put_u64(r + REC_OFF_LOCKED, (uint64_t)rec->locked_until);
	put_u64(r + REC_OFF_PENDING, (uint64_t)rec->pending_until);
	put_u64(r + REC_OFF_PENDING_ID, rec->pending_id);
	r[REC2_OFF_APOP_LEN] = (unsigned char)apoplen;
	memcpy(r + REC2_OFF_APOP, rec->apop_secret, apoplen);
	if (has_tok) {
		if ((rc = token_encode(&rec->tok, r)) == OTP_OK)
			rc = check_sum(r, REC3_OFF_CHECK, r + REC3_OFF_CHECK);
	} else {
		rc = check_sum(r, REC2_OFF_CHECK, r + REC2_OFF_CHECK);
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
	return get_u64(p) <= (uint64_t)INT64_MAX;
}

/*
 * Decodes len bytes of hostile input into *rec: a v1 record
 * (OTP_REC_V1_SIZE bytes), a v2 one (OTP_REC_V2_SIZE) or a v3 one
 * (OTP_REC_V3_SIZE).  OTP_ERR_DB_VERSION for a record of another format
 * version, OTP_ERR_DB_CORRUPT for anything else that is not well formed;
 * *rec is zeroed on failure and must be wiped by the caller on success (it
 * may hold an APOP secret and a token secret).
 */
enum otp_err otp_record_decode(const unsigned char *buf, size_t len, struct otp_record *rec)
{
	const unsigned char *r = buf;
	size_t seedlen, apoplen = 0;
	unsigned version;
	uint32_t flags;
	bool nokey = false;
	enum otp_err rc = OTP_ERR_DB_CORRUPT;

	if (rec == NULL)
		return OTP_ERR_INVALID;
	memset(rec, 0, sizeof(*rec));
	if (buf == NULL || len < REC_OFF_VERSION + 2 || memcmp(r, REC_MAGIC, REC_MAGIC_LEN) != 0)
		goto out;
	version = get_u16(r + REC_OFF_VERSION);
	if (version != REC_V1 && version != REC_V2 && version != REC_V3) {
		rc = OTP_ERR_DB_VERSION;
		goto out;
	}
	/* Only looked at once the length below is known to be right. */
	flags = len >= REC_OFF_FLAGS + 4 ? get_u32(r + REC_OFF_FLAGS) : 0;
	if (version == REC_V1) {
		if (len != OTP_REC_V1_SIZE || !check_ok(r, REC_OFF_CHECK, r + REC_OFF_CHECK) ||
		    !all_zero(r + REC_OFF_RESERVED, REC_OFF_CHECK - REC_OFF_RESERVED) ||
		    (flags & ~REC_FLAGS_V2) != 0)
			goto out;
	} else {
		if (version == REC_V2) {
			if (len != OTP_REC_V2_SIZE || !check_ok(r, REC2_OFF_CHECK, r + REC2_OFF_CHECK) ||
			    (flags & ~REC_FLAGS_V2) != 0 ||
			    !all_zero(r + REC2_OFF_TOKEN, REC2_TOKEN_LEN) ||
			    !all_zero(r + REC2_OFF_RESERVED, REC2_OFF_CHECK - REC2_OFF_RESERVED))
				goto out;
		} else {
			if (len != OTP_REC_V3_SIZE || !check_ok(r, REC3_OFF_CHECK, r + REC3_OFF_CHECK) ||
			    (flags & ~REC_FLAGS_KNOWN) != 0 ||
			    !all_zero(r + REC3_OFF_RESERVED, REC3_OFF_CHECK - REC3_OFF_RESERVED) ||
			    !token_decode(r, &rec->tok))
				goto out;
			nokey = (flags & OTP_REC_NO_KEY) != 0;
		}
		apoplen = r[REC2_OFF_APOP_LEN];
		if (apoplen > OTP_APOP_SECRET_MAX ||
		    (apoplen > 0 && !apop_secret_ok((const char *)r + REC2_OFF_APOP, apoplen)) ||
		    !all_zero(r + REC2_OFF_APOP + apoplen, OTP_APOP_SECRET_MAX - apoplen))
			goto out;
	}
	seedlen = r[REC_OFF_SEEDLEN];
	if (get_u32(r + REC_OFF_RESERVED0) != 0)
		goto out;
	if (nokey) {
		/* No RFC 2289 key: its fields are all zero. */
		if (r[REC_OFF_ALG] != 0 || seedlen != 0 || get_u32(r + REC_OFF_SEQ) != 0 ||
		    !all_zero(r + REC_OFF_SEED, OTP_SEED_MAX) || !all_zero(r + REC_OFF_LAST, OTP_KEY_LEN))
			goto out;
	} else {
		if (!alg_known((enum otp_alg)r[REC_OFF_ALG]) ||
		    get_u32(r + REC_OFF_SEQ) > OTP_SEQ_MAX ||
		    seedlen < OTP_SEED_MIN || seedlen > OTP_SEED_MAX ||
		    !all_zero(r + REC_OFF_SEED + seedlen, OTP_SEED_MAX - seedlen))
			goto out;
		memcpy(rec->seed, r + REC_OFF_SEED, seedlen);
		rec->seed[seedlen] = '\0';
		/* strlen must be seedlen too: no NUL inside, and lower case only. */
		if (strlen(rec->seed) != seedlen || otp_seed_check(rec->seed) != OTP_OK)
			goto out;
		for (size_t i = 0; i < seedlen; i++)
			if (rec->seed[i] != otp_tolower((unsigned char)rec->seed[i]))
				goto out;
	}
	for (int off = REC_OFF_CREATED; off <= REC_OFF_PENDING; off += 8)
		if (!time_ok(r + off))
			goto out;

	rec->version = version;
	rec->flags = flags;
	rec->alg = (enum otp_alg)r[REC_OFF_ALG];
	rec->seq = get_u32(r + REC_OFF_SEQ);
	memcpy(rec->last.b, r + REC_OFF_LAST, OTP_KEY_LEN);
	rec->failures = get_u32(r + REC_OFF_FAILURES);
	rec->created = (int64_t)get_u64(r + REC_OFF_CREATED);
	rec->last_success = (int64_t)get_u64(r + REC_OFF_LAST_OK);
	rec->last_failure = (int64_t)get_u64(r + REC_OFF_LAST_FAIL);
	rec->locked_until = (int64_t)get_u64(r + REC_OFF_LOCKED);
	rec->pending_until = (int64_t)get_u64(r + REC_OFF_PENDING);
	rec->pending_id = get_u64(r + REC_OFF_PENDING_ID);
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

/* Returns path, or the compiled-in default when path is NULL; never NULL. */
const char *otp_db_path(const char *path)
{
	return path != NULL ? path : OTP_DEFAULT_DB;
}

static enum otp_err make_paths(struct db *db, const char *path)
{
	const char *slash;
	int n;

	if (path == NULL || path[0] == '\0')
		return OTP_ERR_INVALID;
	n = snprintf(db->path, sizeof(db->path), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(db->path))
		return OTP_ERR_TOO_LONG;
	slash = strrchr(path, '/');
	if (slash == NULL)
		n = snprintf(db->dir, sizeof(db->dir), ".");
	else if (slash == path)
		n = snprintf(db->dir, sizeof(db->dir), "/");
	else
		n = snprintf(db->dir, sizeof(db->dir), "%.*s", (int)(slash - path), path);
	if (n < 0 || (size_t)n >= sizeof(db->dir) || (slash != NULL && slash[1] == '\0'))
		return OTP_ERR_INVALID;
	n = snprintf(db->lockpath, sizeof(db->lockpath), "%s.lock", path);
	if (n < 0 || (size_t)n >= sizeof(db->lockpath))
		return OTP_ERR_TOO_LONG;
	n = snprintf(db->jpath, sizeof(db->jpath), "%s.journal", path);
	if (n < 0 || (size_t)n >= sizeof(db->jpath))
		return OTP_ERR_TOO_LONG;
	n = snprintf(db->newpath, sizeof(db->newpath), "%s.new", path);
	if (n < 0 || (size_t)n >= sizeof(db->newpath))
		return OTP_ERR_TOO_LONG;
	return OTP_OK;
}

/* ---- files: ownership, modes, creation ----------------------------------- */

/* Owned by root or by us, and writable by nobody else. */
static bool owner_mode_ok(const struct stat *st)
{
	return (st->st_uid == 0 || st->st_uid == geteuid()) && (st->st_mode & (S_IWGRP | S_IWOTH)) == 0;
}

static enum otp_err sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	enum otp_err rc = OTP_OK;

	if (fd < 0)
		return OTP_ERR_DB_IO;
	if (fsync(fd) != 0)
		rc = OTP_ERR_DB_IO;
	close(fd);
	return rc;
}

static enum otp_err check_dir(const struct db *db, bool create)
{
	struct stat st;

	if (stat(db->dir, &st) != 0) {
		if (errno != ENOENT)
			return OTP_ERR_DB_OPEN;
		if (!create)
			return OTP_ERR_DB_MISSING;
		/* Only the last component: we do not invent a whole tree. */
		if (mkdir(db->dir, 0700) != 0 && errno != EEXIST)
			return OTP_ERR_DB_OPEN;
		if (stat(db->dir, &st) != 0)
			return OTP_ERR_DB_OPEN;
		if (S_ISDIR(st.st_mode) && st.st_uid == geteuid() && chmod(db->dir, 0700) != 0)
			return OTP_ERR_DB_OPEN;
		if (stat(db->dir, &st) != 0)
			return OTP_ERR_DB_OPEN;
	}
	if (!S_ISDIR(st.st_mode) || !owner_mode_ok(&st))
		return OTP_ERR_DB_PERM;
	return OTP_OK;
}

/*
 * Opens p (never through a symlink) and checks it is a safe regular file.
 * With may_create, a missing file is created 0600 whatever the umask;
 * *created says so.  Missing otherwise: OTP_ERR_DB_MISSING.
 */
static enum otp_err open_checked(const char *p, int flags, bool may_create, int *fdp,
                                 bool *created)
{
	struct stat st;
	int fd;
	bool made = false;
	enum otp_err rc = OTP_OK;

	*fdp = -1;
	for (;;) {
		/* O_NONBLOCK: a FIFO planted here must not hang the login. */
		fd = open(p, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
		if (fd >= 0 || errno != ENOENT || !may_create)
			break;
		fd = open(p, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd >= 0) {
			made = true;
			break;
		}
		if (errno != EEXIST)
			break;
	}
	if (fd < 0) {
		if (errno == ENOENT)
			return OTP_ERR_DB_MISSING;
		/* A symlink, or a directory where a file should be. */
		return errno == ELOOP || errno == EISDIR ? OTP_ERR_DB_PERM : OTP_ERR_DB_OPEN;
	}
	if (made && fchmod(fd, 0600) != 0)
		rc = OTP_ERR_DB_OPEN;
	else if (fstat(fd, &st) != 0)
		rc = OTP_ERR_DB_IO;
	else if (!S_ISREG(st.st_mode) || !owner_mode_ok(&st))
		rc = OTP_ERR_DB_PERM;
	if (rc != OTP_OK) {
		close(fd);
		return rc;
	}
	*fdp = fd;
	if (created != NULL)
		*created = made;
	return OTP_OK;
}

/* ---- the lock ------------------------------------------------------------ */

static bool past(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/*
 * flock() polled without blocking until the deadline: no signals or
 * alarms, which a threaded caller such as sshd could not afford.
 */
static enum otp_err lock_wait(struct db *db, int op)
{
	struct timespec now;
	uint32_t x;

	clock_gettime(CLOCK_MONOTONIC, &now);
	x = (uint32_t)now.tv_nsec ^ (uint32_t)getpid() ^ (uint32_t)(uintptr_t)db;
	for (;;) {
		if (flock(db->lockfd, op | LOCK_NB) == 0)
			return OTP_OK;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return OTP_ERR_DB_IO;
		if (past(&db->deadline))
			return OTP_ERR_DB_LOCK;
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		struct timespec nap = {
			.tv_sec = 0,
			.tv_nsec = (long)(LOCK_SLEEP_MIN_MS + x % LOCK_SLEEP_SPAN_MS) * 1000000L
		};
		nanosleep(&nap, NULL);
	}
}

/* ---- GDBM ------------------------------------------------------------------ */

static enum otp_err gdbm_err(int e)
{
	switch (e) {
	case GDBM_MALLOC_ERROR:
		return OTP_ERR_NOMEM;
	case GDBM_FILE_OPEN_ERROR:
	case GDBM_CANT_BE_READER:
	case GDBM_CANT_BE_WRITER:
	case GDBM_BAD_OPEN_FLAGS:
		return OTP_ERR_DB_OPEN;
	case GDBM_BLOCK_SIZE_ERROR:
	case GDBM_BAD_MAGIC_NUMBER:
	case GDBM_EMPTY_DATABASE:
	case GDBM_BYTE_SWAPPED:
	case GDBM_BAD_FILE_OFFSET:
	case GDBM_FILE_EOF:
	case GDBM_NEED_RECOVERY:
	case GDBM_DIR_OVERFLOW:
	case GDBM_BAD_BUCKET:
	case GDBM_BAD_HEADER:
	case GDBM_BAD_AVAIL:
	case GDBM_BAD_HASH_TABLE:
	case GDBM_BAD_DIR_ENTRY:
	case GDBM_BUCKET_CACHE_CORRUPTED:
	case GDBM_BAD_HASH_ENTRY:
		return OTP_ERR_DB_CORRUPT;
	default:
		return OTP_ERR_DB_IO;
	}
}

/* gdbm_fetch into a caller buffer; the GDBM copy is wiped and freed here. */
static enum otp_err fetch(struct db *db, const char *key, size_t keylen,
                          unsigned char *buf, size_t size, size_t *len, bool *found)
{
	datum k = { .dptr = (char *)key, .dsize = (int)keylen };
	datum v;
	enum otp_err rc = OTP_OK;

	*found = false;
	*len = 0;
	v = gdbm_fetch(db->dbf, k);
	if (v.dptr == NULL) {
		if (gdbm_errno != GDBM_ITEM_NOT_FOUND)
			rc = gdbm_err(gdbm_errno);
		goto out;
	}
	*found = true;
	/*
	 * Callers pass a buffer one byte longer than any value they accept, so
	 * a longer value still reads as too long, and its head can be checked.
	 */
	*len = v.dsize < 0 ? 0 : (size_t)v.dsize < size ? (size_t)v.dsize : size;
	memcpy(buf, v.dptr, *len);
out:
	if (v.dptr != NULL) {
		otp_wipe(v.dptr, v.dsize > 0 ? (size_t)v.dsize : 0);
		free(v.dptr);
	}
	return rc;
}

static enum otp_err apply(struct db *db, int op, const char *key, size_t keylen,
                          const unsigned char *val, size_t vallen)
{
	datum k = { .dptr = (char *)key, .dsize = (int)keylen };
	datum v = { .dptr = (char *)val, .dsize = (int)vallen };

	if (op == JNL_OP_STORE) {
		if (gdbm_store(db->dbf, k, v, GDBM_REPLACE) != 0)
			return gdbm_err(gdbm_errno);
	} else if (gdbm_delete(db->dbf, k) != 0 && gdbm_errno != GDBM_ITEM_NOT_FOUND) {
		return gdbm_err(gdbm_errno);
	}
	return gdbm_sync(db->dbf) == 0 ? OTP_OK : OTP_ERR_DB_IO;
}

/* A new database is built aside and renamed into place: never half-made. */
static enum otp_err create_db(struct db *db)
{
	GDBM_FILE dbf = NULL;
	int fd = -1;
	enum otp_err rc;

	if (unlink(db->newpath) != 0 && errno != ENOENT)
		return OTP_ERR_DB_OPEN;
	if ((rc = open_checked(db->newpath, O_RDWR, true, &fd, NULL)) != OTP_OK)
		return rc;
	dbf = gdbm_fd_open(fd, db->newpath, 0, GDBM_NEWDB | GDBM_OPEN_FLAGS, NULL);
	if (dbf == NULL) {
		rc = gdbm_err(gdbm_errno);
		goto out;
	}
	if (gdbm_sync(dbf) != 0)
		rc = OTP_ERR_DB_IO;
	if (gdbm_close(dbf) != 0 && rc == OTP_OK)
		rc = OTP_ERR_DB_IO;
	if (rc == OTP_OK && rename(db->newpath, db->path) != 0)
		rc = OTP_ERR_DB_OPEN;
	if (rc == OTP_OK)
		rc = sync_dir(db->dir);
out:
	if (rc != OTP_OK)
		unlink(db->newpath);
	return rc;
}

/*
 * GDBM's own salvage, keeping a backup of the damaged file beside it; then
 * the journal is replayed by the caller, since the salvage may have lost
 * the entry the journal describes.
 */
static enum otp_err recover(struct db *db)
{
	gdbm_recovery r;
	int fd;
	enum otp_err rc = OTP_OK;

	memset(&r, 0, sizeof(r));
	if (!db->excl || gdbm_recover(db->dbf, &r, GDBM_RCVR_BACKUP | GDBM_RCVR_FORCE) != 0) {
		rc = OTP_ERR_DB_CORRUPT;
		goto out;
	}
	fd = gdbm_fdesc(db->dbf);
	if (fd < 0 || fchmod(fd, 0600) != 0 || fsync(fd) != 0 || sync_dir(db->dir) != OTP_OK)
		rc = OTP_ERR_DB_IO;
	/* Salvaged, but with entries lost: say so rather than carry on. */
	else if (r.failed_keys != 0 || r.failed_buckets != 0)
		rc = OTP_ERR_DB_CORRUPT;
out:
	free(r.backup_name);
	return rc;
}

/* ---- the journal ----------------------------------------------------------- */

static enum otp_err journal_clear(struct db *db)
{
	if (ftruncate(db->jfd, 0) != 0 || fdatasync(db->jfd) != 0)
		return OTP_ERR_DB_IO;
	return OTP_OK;
}

/*
 * Applies a complete, valid journal entry (again: every op is idempotent)
 * and empties the journal; an incomplete or damaged one was never
 * acknowledged and is dropped.
 */
static enum otp_err journal_replay(struct db *db)
{
	unsigned char *j = NULL;
	struct stat st;
	ssize_t got;
	size_t n = 0, keylen, vallen;
	unsigned op;
	enum otp_err rc = OTP_OK;

	if (fstat(db->jfd, &st) != 0)
		return OTP_ERR_DB_IO;
	if (st.st_size == 0)
		return OTP_OK;
	if (st.st_size < 0 || st.st_size > JNL_MAX)
		goto discard;
	n = (size_t)st.st_size;
	if ((j = malloc(n)) == NULL)
		return OTP_ERR_NOMEM;
	got = pread(db->jfd, j, n, 0);
	if (got < 0) {
		rc = OTP_ERR_DB_IO;
		goto out;
	}
	if ((size_t)got != n || n < JNL_HDR_LEN + CHECK_LEN ||
	    memcmp(j, JNL_MAGIC, JNL_MAGIC_LEN) != 0)
		goto discard;
	op = get_u16(j + 8);
	keylen = get_u16(j + 10);
	vallen = get_u32(j + 12);
	if ((op != JNL_OP_STORE && op != JNL_OP_DELETE) || keylen == 0 ||
	    keylen > JNL_KEY_MAX || vallen > JNL_VAL_MAX ||
	    (op == JNL_OP_DELETE && vallen != 0) ||
	    n != JNL_HDR_LEN + keylen + vallen + CHECK_LEN ||
	    !check_ok(j, n - CHECK_LEN, j + n - CHECK_LEN))
		goto discard;
	rc = apply(db, (int)op, (const char *)j + JNL_HDR_LEN, keylen,
	           j + JNL_HDR_LEN + keylen, vallen);
	if (rc != OTP_OK && gdbm_needs_recovery(db->dbf)) {
		if ((rc = recover(db)) == OTP_OK)
			rc = apply(db, (int)op, (const char *)j + JNL_HDR_LEN, keylen,
			           j + JNL_HDR_LEN + keylen, vallen);
	}
	if (rc != OTP_OK)
		goto out;
discard:
	rc = journal_clear(db);
out:
	if (j != NULL) {
		otp_wipe(j, n);
		free(j);
	}
	return rc;
}

/*
 * The one durable write: journal entry, fsync, GDBM op, sync, empty journal.
 * Once the journal fsync is done the change will survive a crash, so a
 * later failure leaves the entry for the next open to replay.
 */
static enum otp_err commit(struct db *db, int op, const char *key, size_t keylen,
                           const unsigned char *val, size_t vallen)
{
	unsigned char j[JNL_MAX];
	size_t n = JNL_HDR_LEN + keylen + vallen + CHECK_LEN;
	enum otp_err rc;

	if (keylen == 0 || keylen > JNL_KEY_MAX || vallen > JNL_VAL_MAX)
		return OTP_ERR_INVALID;
	memcpy(j, JNL_MAGIC, JNL_MAGIC_LEN);
	put_u16(j + 8, (uint16_t)op);
	put_u16(j + 10, (uint16_t)keylen);
	put_u32(j + 12, (uint32_t)vallen);
	memcpy(j + JNL_HDR_LEN, key, keylen);
	if (vallen > 0)
		memcpy(j + JNL_HDR_LEN + keylen, val, vallen);
	if ((rc = check_sum(j, n - CHECK_LEN, j + n - CHECK_LEN)) != OTP_OK)
		goto out;
	if (pwrite(db->jfd, j, n, 0) != (ssize_t)n || ftruncate(db->jfd, (off_t)n) != 0 ||
	    fdatasync(db->jfd) != 0) {
		rc = OTP_ERR_DB_IO;
		goto out;
	}
	rc = apply(db, op, key, keylen, val, vallen);
	if (rc != OTP_OK && gdbm_needs_recovery(db->dbf) && (rc = recover(db)) == OTP_OK) {
		rc = journal_replay(db);
		goto out;
	}
	if (rc == OTP_OK)
		rc = journal_clear(db);
out:
	otp_wipe(j, n);
	return rc;
}

/* ---- open and close -------------------------------------------------------- */

static void db_init(struct db *db)
{
	memset(db, 0, sizeof(*db));
	db->lockfd = -1;
	db->jfd = -1;
}

static void db_close(struct db *db)
{
	if (db->dbf != NULL)
		gdbm_close(db->dbf);
	if (db->jfd >= 0)
		close(db->jfd);
	if (db->lockfd >= 0)
		close(db->lockfd);   /* drops the flock */
	db_init(db);
}

static enum otp_err journal_pending(struct db *db, bool *pending)
{
	struct stat st;
	int fd;
	enum otp_err rc;

	*pending = false;
	rc = open_checked(db->jpath, O_RDONLY, false, &fd, NULL);
	if (rc == OTP_ERR_DB_MISSING)
		return OTP_OK;
	if (rc != OTP_OK)
		return rc;
	if (fstat(fd, &st) != 0)
		rc = OTP_ERR_DB_IO;
	else
		*pending = st.st_size != 0;
	close(fd);
	return rc;
}

/*
 * Opens and locks the database: exclusive for a writer, or for a reader
 * that finds a journal to replay; shared otherwise.
 */
static enum otp_err db_open(struct db *db, const char *path, bool write, bool create,
                            unsigned lock_ms)
{
	struct stat st;
	bool pending = false, created = false;
	int fd = -1;
	enum otp_err rc;

	db_init(db);
	clock_gettime(CLOCK_MONOTONIC, &db->deadline);
	db->deadline.tv_sec += lock_ms / 1000;
	db->deadline.tv_nsec += (long)(lock_ms % 1000) * 1000000L;
	if (db->deadline.tv_nsec >= 1000000000L) {
		db->deadline.tv_sec++;
		db->deadline.tv_nsec -= 1000000000L;
	}
	create = create && write;
	if ((rc = make_paths(db, otp_db_path(path))) != OTP_OK)
		goto out;
	if ((rc = check_dir(db, create)) != OTP_OK)
		goto out;
	if (!create && lstat(db->path, &st) != 0) {
		rc = errno == ENOENT ? OTP_ERR_DB_MISSING : OTP_ERR_DB_OPEN;
		goto out;
	}
	if ((rc = open_checked(db->lockpath, O_RDWR, true, &db->lockfd, NULL)) != OTP_OK)
		goto out;
	if ((rc = lock_wait(db, write ? LOCK_EX : LOCK_SH)) != OTP_OK)
		goto out;
	db->excl = write;
	if (!write) {
		if ((rc = journal_pending(db, &pending)) != OTP_OK)
			goto out;
		if (pending) {
			flock(db->lockfd, LOCK_UN);
			if ((rc = lock_wait(db, LOCK_EX)) != OTP_OK)
				goto out;
			db->excl = true;
		}
	}

	rc = open_checked(db->path, db->excl ? O_RDWR : O_RDONLY, false, &fd, NULL);
	if (rc == OTP_ERR_DB_MISSING && create) {
		if ((rc = create_db(db)) != OTP_OK)
			goto out;
		rc = open_checked(db->path, O_RDWR, false, &fd, NULL);
	}
	if (rc != OTP_OK)
		goto out;
	/* GDBM would quietly turn an empty file into a new, empty database. */
	if (fstat(fd, &st) != 0)
		rc = OTP_ERR_DB_IO;
	else if (st.st_size == 0)
		rc = OTP_ERR_DB_CORRUPT;
	if (rc != OTP_OK) {
		close(fd);
		goto out;
	}
	db->dbf = gdbm_fd_open(fd, db->path, 0,
	                       (db->excl ? GDBM_WRITER : GDBM_READER) | GDBM_OPEN_FLAGS, NULL);
	if (db->dbf == NULL) {
		rc = gdbm_err(gdbm_errno);
		goto out;
	}
	if (db->excl) {
		rc = open_checked(db->jpath, O_RDWR, true, &db->jfd, &created);
		if (rc == OTP_OK && created)
			rc = sync_dir(db->dir);
		if (rc == OTP_OK)
			rc = journal_replay(db);
	}
out:
	if (rc != OTP_OK)
		db_close(db);
	return rc;
}

/*
 * A read that finds GDBM's structure damaged is retried once as a writer,
 * which may salvage the file (recover) and replay the journal.
 */
static enum otp_err reopen_for_repair(struct db *db, const char *path, unsigned lock_ms)
{
	enum otp_err rc;

	db_close(db);
	if ((rc = db_open(db, path, true, false, lock_ms)) != OTP_OK)
		return rc;
	if ((rc = recover(db)) != OTP_OK)
		return rc;
	return journal_replay(db);
}

static enum otp_err read_record(struct db *db, const char *user, struct otp_record *rec,
                                bool *exists)
{
	unsigned char buf[OTP_REC_MAX_SIZE + 1];
	size_t len = 0;
	enum otp_err rc;

	memset(rec, 0, sizeof(*rec));
	rc = fetch(db, user, strlen(user), buf, sizeof(buf), &len, exists);
	if (rc == OTP_OK && *exists)
		rc = otp_record_decode(buf, len, rec);
	otp_wipe(buf, sizeof(buf));
	return rc;
}

static bool needs_repair(const struct db *db, enum otp_err rc)
{
	return rc == OTP_ERR_DB_CORRUPT && db->dbf != NULL && gdbm_needs_recovery(db->dbf);
}

/* ---- entry points ---------------------------------------------------------- */

/*
 * Returns OTP_OK once the callback's change (if any) is on disk; otherwise
 * the callback's error, or the store's.  An update that fails after its
 * journal entry was written may still take effect at the next open, but
 * never half-way.  rec handed to fn is wiped here afterwards.
 */
enum otp_err otp_db_update(const char *path, const char *user, bool create,
                           unsigned lock_ms, otp_db_update_fn fn, void *arg)
{
	struct db db;
	struct otp_record rec;
	unsigned char buf[OTP_REC_MAX_SIZE];
	size_t len = 0;
	bool exists = false;
	enum otp_db_action act;
	enum otp_err cberr = OTP_OK;
	enum otp_err rc;

	db_init(&db);
	memset(&rec, 0, sizeof(rec));
	memset(buf, 0, sizeof(buf));
	if (fn == NULL) {
		rc = OTP_ERR_INVALID;
		goto out;
	}
	if ((rc = otp_user_check(user)) != OTP_OK)
		goto out;
	if ((rc = db_open(&db, path, true, create, lock_ms)) != OTP_OK)
		goto out;
	rc = read_record(&db, user, &rec, &exists);
	if (needs_repair(&db, rc) && (rc = recover(&db)) == OTP_OK &&
	    (rc = journal_replay(&db)) == OTP_OK)
		rc = read_record(&db, user, &rec, &exists);
	if (rc != OTP_OK)
		goto out;

	act = fn(user, &rec, exists, arg, &cberr);
	if (cberr != OTP_OK) {
		rc = cberr;
		goto out;
	}
	switch (act) {
	case OTP_DB_KEEP:
		break;
	case OTP_DB_STORE:
		if ((rc = otp_record_encode(&rec, buf, sizeof(buf), &len)) == OTP_OK)
			rc = commit(&db, JNL_OP_STORE, user, strlen(user), buf, len);
		break;
	case OTP_DB_DELETE:
		if (exists)
			rc = commit(&db, JNL_OP_DELETE, user, strlen(user), NULL, 0);
		break;
	default:
		rc = OTP_ERR_INVALID;
		break;
	}
out:
	db_close(&db);
	otp_wipe(&rec, sizeof(rec));
	otp_wipe(buf, sizeof(buf));
	return rc;
}

/* Returns OTP_OK with *rec filled, OTP_ERR_NOUSER, or an error (*rec zeroed). */
enum otp_err otp_db_get(const char *path, const char *user, unsigned lock_ms,
                        struct otp_record *rec)
{
	struct db db;
	bool exists = false;
	enum otp_err rc;

	db_init(&db);
	if (rec == NULL)
		return OTP_ERR_INVALID;
	memset(rec, 0, sizeof(*rec));
	if ((rc = otp_user_check(user)) != OTP_OK)
		goto out;
	if ((rc = db_open(&db, path, false, false, lock_ms)) != OTP_OK)
		goto out;
	rc = read_record(&db, user, rec, &exists);
	if (needs_repair(&db, rc) && (rc = reopen_for_repair(&db, path, lock_ms)) == OTP_OK)
		rc = read_record(&db, user, rec, &exists);
	if (rc == OTP_OK && !exists)
		rc = OTP_ERR_NOUSER;
out:
	db_close(&db);
	if (rc != OTP_OK)
		otp_wipe(rec, sizeof(*rec));
	return rc;
}

/*
 * One walk over the keys.  *visited counts calls of fn; a key or record
 * that fails its checks is skipped and the first such error kept in *bad.
 */
static enum otp_err walk(struct db *db, otp_db_each_fn fn, void *arg, unsigned *visited,
                         enum otp_err *bad)
{
	struct otp_record rec;
	unsigned char buf[OTP_REC_MAX_SIZE + 1];
	char user[OTP_USER_MAX + 1];
	datum key, next;
	size_t len;
	bool found, stopped = false;
	enum otp_err rc = OTP_OK;

	memset(&rec, 0, sizeof(rec));
	for (key = gdbm_firstkey(db->dbf); key.dptr != NULL; key = next) {
		enum otp_err e = OTP_OK;
		bool go = true;

		if (key.dsize > 0 && key.dptr[0] == ' ')
			goto next;
		if (key.dsize <= 0 || key.dsize > OTP_USER_MAX) {
			e = OTP_ERR_DB_CORRUPT;
			goto next;
		}
		memcpy(user, key.dptr, (size_t)key.dsize);
		user[key.dsize] = '\0';
		if (otp_user_check(user) != OTP_OK) {
			e = OTP_ERR_DB_CORRUPT;
			goto next;
		}
		e = fetch(db, key.dptr, (size_t)key.dsize, buf, sizeof(buf), &len, &found);
		if (e == OTP_OK && found && (e = otp_record_decode(buf, len, &rec)) == OTP_OK) {
			(*visited)++;
			go = fn(user, &rec, arg);
		}
		otp_wipe(&rec, sizeof(rec));
		otp_wipe(buf, sizeof(buf));
next:
		if (e != OTP_OK && *bad == OTP_OK)
			*bad = e;
		if (!go || gdbm_needs_recovery(db->dbf)) {
			stopped = go == false;
			free(key.dptr);
			break;
		}
		next = gdbm_nextkey(db->dbf, key);
		free(key.dptr);
	}
	if (gdbm_needs_recovery(db->dbf))
		rc = OTP_ERR_DB_CORRUPT;
	else if (!stopped && gdbm_errno != GDBM_ITEM_NOT_FOUND && gdbm_errno != GDBM_NO_ERROR)
		rc = gdbm_err(gdbm_errno);
	return rc;
}

/*
 * Calls fn for every user record, in GDBM's order, until fn returns false.
 * A key or record that fails its checks is skipped and the first such
 * error is returned after the walk, so one bad entry hides no others.
 * When GDBM finds its structure damaged the file is repaired, and the walk
 * made again if fn has not yet been called; otherwise OTP_ERR_DB_CORRUPT.
 * Each record handed to fn is wiped afterwards.
 */
enum otp_err otp_db_foreach(const char *path, unsigned lock_ms, otp_db_each_fn fn, void *arg)
{
	struct db db;
	unsigned visited = 0;
	enum otp_err rc, bad = OTP_OK;

	db_init(&db);
	if (fn == NULL)
		return OTP_ERR_INVALID;
	if ((rc = db_open(&db, path, false, false, lock_ms)) != OTP_OK)
		goto out;
	rc = walk(&db, fn, arg, &visited, &bad);
	if (needs_repair(&db, rc)) {
		if ((rc = reopen_for_repair(&db, path, lock_ms)) == OTP_OK) {
			bad = OTP_OK;
			rc = visited == 0 ? walk(&db, fn, arg, &visited, &bad) : OTP_ERR_DB_CORRUPT;
		}
	}
	if (rc == OTP_OK)
		rc = bad;
out:
	db_close(&db);
	return rc;
}

static enum otp_err read_secret(struct db *db, unsigned char out[HOST_SECRET_LEN], bool *found)
{
	unsigned char v[HOST_SECRET_VLEN + 1];
	size_t len = 0;
	enum otp_err rc;

	rc = fetch(db, HOST_SECRET_KEY, strlen(HOST_SECRET_KEY), v, sizeof(v), &len, found);
	if (rc == OTP_OK && *found) {
		if (len != HOST_SECRET_VLEN || memcmp(v, HOST_SECRET_MAGIC, 8) != 0 ||
		    !check_ok(v, HOST_SECRET_VLEN - CHECK_LEN, v + HOST_SECRET_VLEN - CHECK_LEN))
			rc = OTP_ERR_DB_CORRUPT;
		else
			memcpy(out, v + 8, HOST_SECRET_LEN);
	}
	otp_wipe(v, sizeof(v));
	return rc;
}

/*
 * The host secret into out (the caller wipes it), made and stored under the
 * exclusive lock the first time.  With rewrite, the exclusive lock is taken
 * at once and the secret is always stored again through the journal.
 */
static enum otp_err host_secret(const char *path, unsigned lock_ms, unsigned char out[32],
                                bool rewrite)
{
	struct db db;
	unsigned char v[HOST_SECRET_VLEN];
	bool found = false;
	enum otp_err rc;

	db_init(&db);
	memset(v, 0, sizeof(v));
	if (out == NULL)
		return OTP_ERR_INVALID;
	if (!rewrite) {
		if ((rc = db_open(&db, path, false, false, lock_ms)) != OTP_OK)
			goto out;
		if ((rc = read_secret(&db, out, &found)) != OTP_OK || found)
			goto out;
		db_close(&db);
	}

	/* Someone may have made it between our two locks: look again. */
	if ((rc = db_open(&db, path, true, false, lock_ms)) != OTP_OK)
		goto out;
	if ((rc = read_secret(&db, out, &found)) != OTP_OK || (found && !rewrite))
		goto out;
	memcpy(v, HOST_SECRET_MAGIC, 8);
	if (found)
		memcpy(v + 8, out, HOST_SECRET_LEN);
	else if ((rc = otp_random_bytes(v + 8, HOST_SECRET_LEN)) != OTP_OK)
		goto out;
	if ((rc = check_sum(v, HOST_SECRET_VLEN - CHECK_LEN, v + HOST_SECRET_VLEN - CHECK_LEN)) != OTP_OK)
		goto out;
	rc = commit(&db, JNL_OP_STORE, HOST_SECRET_KEY, strlen(HOST_SECRET_KEY), v, sizeof(v));
	if (rc == OTP_OK)
		memcpy(out, v + 8, HOST_SECRET_LEN);
out:
	db_close(&db);
	otp_wipe(v, sizeof(v));
	if (rc != OTP_OK)
		otp_wipe(out, HOST_SECRET_LEN);
	return rc;
}

/* Returns OTP_OK with the host secret in out (the caller wipes it).  The database must exist. */
enum otp_err otp_db_host_secret(const char *path, unsigned lock_ms, unsigned char out[32])
{
	return host_secret(path, lock_ms, out, false);
}

/*
 * The same, always ending in a journalled store of the unchanged secret: a
 * durable update that changes nothing and costs what a login's update
 * costs.  Logins of unknown users use it so their timing matches real ones.
 */
enum otp_err otp_db_host_secret_sync(const char *path, unsigned lock_ms, unsigned char out[32])
{
	return host_secret(path, lock_ms, out, true);
}
