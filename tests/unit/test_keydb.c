/* test_keydb.c - the key database: record format, update rules, permissions, lock, journal. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>

#include <cmocka.h>
#include <gdbm.h>
#include <openssl/evp.h>

#include "otp.h"
#include "internal.h"
#include "gdbm_store.h"
#include "tmpdir.h"

/* Offsets of records v1 and v2, as otpkeys(5) gives them. */
#define R_VERSION  4
#define R_ALG      6
#define R_SEEDLEN  7
#define R_FLAGS    8
#define R_SEQ      12
#define R_SEED     16
#define R_RES0     44
#define R_CREATED  48
#define R_RESERVED 96
#define R_CHECK    120
#define R2_APOPLEN 96
#define R2_APOP    97
#define R2_TOKEN   160
#define R2_RESERVED 240
#define R2_CHECK   248
#define SAMPLE_APOP "tanstaaf tanstaaf"

struct fx {
	char dir[256];
	char db[300];
	char lock[310];
	char journal[310];
	char wal[310];
};

/* ---- helpers ------------------------------------------------------------- */

static void sha8(const unsigned char *p, size_t n, unsigned char out[8])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	assert_int_equal(EVP_Digest(p, n, md, &len, EVP_sha256(), NULL), 1);
	memcpy(out, md, 8);
}

/* Recomputes a v1 record's check after a test has edited it. */
static void resign(unsigned char r[OTP_REC_V1_SIZE])
{
	sha8(r, R_CHECK, r + R_CHECK);
}

/* The same for a v2 record. */
static void resign2(unsigned char r[OTP_REC_V2_SIZE])
{
	sha8(r, R2_CHECK, r + R2_CHECK);
}

static void sample(struct otp_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->alg = OTP_ALG_SHA1;
	rec->seq = 9999;
	strcpy(rec->seed, "Ab12Cd34Ef56Gh78");
	for (int i = 0; i < OTP_KEY_LEN; i++)
		rec->last.b[i] = (unsigned char)(0xf0 + i);
	rec->flags = OTP_REC_DISABLED;
	rec->failures = 0xfedcba98u;
	rec->created = 1700000000;
	rec->last_success = INT64_MAX;
	rec->last_failure = 1;
	rec->locked_until = 0x0102030405060708LL;
	strcpy(rec->apop_secret, SAMPLE_APOP);
}

/* The sample as the encoder writes it: format v2. */
static void encoded(unsigned char r[OTP_REC_V2_SIZE])
{
	struct otp_record rec;
	size_t len = 0;

	sample(&rec);
	assert_int_equal(otp_record_encode(&rec, r, OTP_REC_V2_SIZE, &len), OTP_OK);
	assert_int_equal(len, OTP_REC_V2_SIZE);
}

/* The sample as an older program wrote it: format v1, no APOP secret. */
static void encoded_v1(unsigned char r[OTP_REC_V1_SIZE])
{
	unsigned char v2[OTP_REC_V2_SIZE];

	encoded(v2);
	memcpy(r, v2, R_RESERVED);
	memset(r + R_RESERVED, 0, OTP_REC_V1_SIZE - R_RESERVED);
	r[R_VERSION] = 1;
	resign(r);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	if (tmpdir_make(f->dir, sizeof(f->dir), "test_keydb") != 0) {
		free(f);
		return -1;
	}
	snprintf(f->db, sizeof(f->db), "%s/otpkeys.db", f->dir);
	snprintf(f->lock, sizeof(f->lock), "%s.lock", f->db);
	snprintf(f->journal, sizeof(f->journal), "%s.journal", f->db);
	snprintf(f->wal, sizeof(f->wal), "%s.wal", f->db);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tmpdir_remove(f->dir);
	free(f);
	return 0;
}

/* The update callback most tests use: arg says what to do. */
struct act {
	enum otp_db_action action;
	unsigned seq;
	enum otp_err err;
	bool saw_exists;
	int calls;
};

static enum otp_db_action act_fn(const char *user, struct otp_record *rec, bool exists,
                                 void *arg, enum otp_err *err)
{
	struct act *a = arg;

	(void)user;
	a->calls++;
	a->saw_exists = exists;
	if (!exists) {
		rec->alg = OTP_ALG_MD5;
		strcpy(rec->seed, "seed1");
	}
	rec->seq = a->seq;
	if (a->err != OTP_OK)
		*err = a->err;
	return a->action;
}

static enum otp_err put(const char *db, const char *user, unsigned seq)
{
	struct act a = { OTP_DB_STORE, seq, OTP_OK, false, 0 };

	return otp_db_update(db, user, true, 1000, act_fn, &a);
}

static unsigned get_seq(const char *db, const char *user)
{
	struct otp_record rec;

	assert_int_equal(otp_db_get(db, user, 1000, &rec), OTP_OK);
	return rec.seq;
}

/* Stores raw bytes under a key, bypassing keydb (for damaged records). */
static void raw_store(const char *db, const char *key, const void *val, size_t len)
{
	GDBM_FILE dbf = gdbm_open(db, 0, GDBM_WRITER | GDBM_NOLOCK, 0600, NULL);
	datum k = { (char *)key, (int)strlen(key) }, v = { (char *)val, (int)len };

	assert_non_null(dbf);
	assert_int_equal(gdbm_store(dbf, k, v, GDBM_REPLACE), 0);
	assert_int_equal(gdbm_close(dbf), 0);
	otp_db_release();       /* GDBM changed behind the store's back: no reader kept from before */
}

static void write_file(const char *p, const void *buf, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static off_t file_size(const char *p)
{
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

/* A journal entry as otpkeys(5) describes it; returns its length. */
static size_t journal_entry(unsigned char *j, unsigned op, const char *key,
                            const unsigned char *val, size_t vallen)
{
	size_t klen = strlen(key), n = 16 + klen + vallen;

	memcpy(j, "OTPJRNL1", 8);
	j[8] = (unsigned char)op;
	j[9] = 0;
	j[10] = (unsigned char)klen;
	j[11] = 0;
	j[12] = (unsigned char)vallen;
	j[13] = (unsigned char)(vallen >> 8);
	j[14] = j[15] = 0;
	memcpy(j + 16, key, klen);
	if (vallen > 0)
		memcpy(j + 16 + klen, val, vallen);
	sha8(j, n, j + n);
	return n + 8;
}

static bool stop_fn(const char *user, const struct otp_record *rec, void *arg);

/* ---- record format ------------------------------------------------------- */

static void test_record_round_trip(void **state)
{
	struct otp_record in, out;
	unsigned char r[OTP_REC_V2_SIZE + 8], v1[OTP_REC_V1_SIZE];
	size_t len = 0;

	(void)state;
	sample(&in);
	assert_int_equal(otp_record_encode(&in, r, sizeof(r), &len), OTP_OK);
	assert_int_equal(len, OTP_REC_V2_SIZE);
	assert_memory_equal(r, "OTPK\x02\x00", 6);
	assert_int_equal(otp_record_decode(r, len, &out), OTP_OK);
	assert_int_equal(out.version, 2);
	assert_string_equal(out.apop_secret, SAMPLE_APOP);
	assert_int_equal(r[R2_APOPLEN], strlen(SAMPLE_APOP));
	assert_memory_equal(r + R2_APOP, SAMPLE_APOP, strlen(SAMPLE_APOP));
	assert_int_equal(out.alg, in.alg);
	assert_int_equal(out.seq, in.seq);
	assert_string_equal(out.seed, "ab12cd34ef56gh78");   /* stored lower-cased */
	assert_memory_equal(out.last.b, in.last.b, OTP_KEY_LEN);
	assert_int_equal(out.flags, in.flags);
	assert_int_equal(out.failures, in.failures);
	assert_true(out.created == in.created && out.last_success == in.last_success &&
	            out.last_failure == in.last_failure && out.locked_until == in.locked_until);
	/* Little-endian on disk, whatever the host. */
	assert_memory_equal(r + R_SEQ, "\x0f\x27\x00\x00", 4);
	assert_memory_equal(r + R_CREATED, "\x00\xf1\x53\x65\x00\x00\x00\x00", 8);

	/* No APOP secret: a zero length and an all-zero area. */
	in.apop_secret[0] = '\0';
	assert_int_equal(otp_record_encode(&in, r, sizeof(r), &len), OTP_OK);
	assert_int_equal(r[R2_APOPLEN], 0);
	assert_int_equal(otp_record_decode(r, len, &out), OTP_OK);
	assert_string_equal(out.apop_secret, "");

	/* A v1 record reads with every v1 field and no APOP secret ... */
	encoded_v1(v1);
	assert_int_equal(otp_record_decode(v1, sizeof(v1), &out), OTP_OK);
	assert_int_equal(out.version, 1);
	assert_string_equal(out.seed, "ab12cd34ef56gh78");
	assert_int_equal(out.seq, 9999);
	assert_int_equal(out.failures, 0xfedcba98u);
	assert_true(out.locked_until == 0x0102030405060708LL);
	assert_string_equal(out.apop_secret, "");
	/* ... and is written back as v2, its v1 fields where they were. */
	assert_int_equal(otp_record_encode(&out, r, sizeof(r), &len), OTP_OK);
	assert_int_equal(len, OTP_REC_V2_SIZE);
	assert_int_equal(r[R_VERSION], 2);
	assert_memory_equal(r + R_ALG, v1 + R_ALG, R_RESERVED - R_ALG);
	otp_wipe(&out, sizeof(out));
}

static void test_record_encode_rejects(void **state)
{
	struct otp_record rec;
	unsigned char r[OTP_REC_V2_SIZE];
	size_t len = 0;

	(void)state;
	sample(&rec);
	assert_int_equal(otp_record_encode(&rec, r, sizeof(r) - 1, &len), OTP_ERR_BUFFER);
	assert_int_equal(otp_record_encode(&rec, r, OTP_REC_V1_SIZE, &len), OTP_ERR_BUFFER);
	strcpy(rec.apop_secret, "tab\tinside");                   /* not printable */
	assert_int_equal(otp_record_encode(&rec, r, sizeof(r), &len), OTP_ERR_INVALID);
	memset(rec.apop_secret, 'a', sizeof(rec.apop_secret));   /* no terminator */
	assert_int_equal(otp_record_encode(&rec, r, sizeof(r), &len), OTP_ERR_INVALID);
	sample(&rec);
	rec.alg = 7;
	assert_int_equal(otp_record_encode(&rec, r, sizeof(r), &len), OTP_ERR_ALG);
	sample(&rec);
	rec.seq = OTP_SEQ_MAX + 1;
	assert_int_equal(otp_record_encode(&rec, r, sizeof(r), &len), OTP_ERR_SEQ);
	sample(&rec);
	rec.seed[0] = '\0';
	assert_int_equal(otp_record_encode(&rec, r, sizeof(r), &len), OTP_ERR_SEED_LEN);
	strcpy(rec.seed, "bad seed");
	assert_int_equal(otp_record_encode(&rec, r, sizeof(r), &len), OTP_ERR_SEED_CHAR);
	sample(&rec);
	memset(rec.seed, 'a', sizeof(rec.seed));   /* no terminator */
	assert_int_equal(otp_record_encode(&rec, r, sizeof(r), &len), OTP_ERR_SEED_LEN);
	sample(&rec);
	rec.flags = 0x80;
	assert_int_equal(otp_record_encode(&rec, r, sizeof(r), &len), OTP_ERR_INVALID);
	sample(&rec);
	rec.locked_until = -1;
	assert_int_equal(otp_record_encode(&rec, r, sizeof(r), &len), OTP_ERR_INVALID);
	assert_int_equal(len, 0);
}

static void expect_decode(const unsigned char *r, size_t len, enum otp_err want)
{
	struct otp_record rec;

	memset(&rec, 0xa5, sizeof(rec));
	assert_int_equal(otp_record_decode(r, len, &rec), want);
	if (want != OTP_OK)
		assert_int_equal(rec.seq, 0);   /* zeroed on failure */
}

static void test_record_decode_rejects(void **state)
{
	unsigned char r[OTP_REC_V2_SIZE + 1];

	(void)state;
	encoded_v1(r);
	r[OTP_REC_V1_SIZE] = 0;
	expect_decode(NULL, OTP_REC_V1_SIZE, OTP_ERR_DB_CORRUPT);
	expect_decode(r, 0, OTP_ERR_DB_CORRUPT);
	expect_decode(r, 5, OTP_ERR_DB_CORRUPT);
	expect_decode(r, OTP_REC_V1_SIZE - 1, OTP_ERR_DB_CORRUPT);       /* short */
	expect_decode(r, OTP_REC_V1_SIZE + 1, OTP_ERR_DB_CORRUPT);       /* long */
	expect_decode(r, OTP_REC_V1_SIZE, OTP_OK);

	encoded_v1(r);
	r[0] = 'X';                                                      /* magic */
	resign(r);
	expect_decode(r, OTP_REC_V1_SIZE, OTP_ERR_DB_CORRUPT);
	encoded_v1(r);
	r[R_VERSION] = 4;                                                /* version */
	resign(r);
	expect_decode(r, OTP_REC_V1_SIZE, OTP_ERR_DB_VERSION);
	expect_decode(r, 6, OTP_ERR_DB_VERSION);                         /* any length */
	encoded_v1(r);
	r[R_VERSION + 1] = 1;                                            /* 257 */
	expect_decode(r, OTP_REC_V1_SIZE, OTP_ERR_DB_VERSION);
	encoded_v1(r);
	r[R_SEQ + 3] ^= 1;                                               /* check */
	expect_decode(r, OTP_REC_V1_SIZE, OTP_ERR_DB_CORRUPT);
	encoded_v1(r);
	r[R_CHECK + 7] ^= 0x80;
	expect_decode(r, OTP_REC_V1_SIZE, OTP_ERR_DB_CORRUPT);

	/* Well signed, but a field out of range. */
	static const struct { int off; unsigned char v; } bad[] = {
		{ R_ALG, 0 }, { R_ALG, 4 }, { R_ALG, 0xff },                 /* alg */
		{ R_SEQ, 0x10 },                                             /* seq 10000 */
		{ R_SEQ + 2, 1 },
		{ R_SEEDLEN, 0 }, { R_SEEDLEN, 17 }, { R_SEEDLEN, 0xff },    /* seed length */
		{ R_SEED, '-' }, { R_SEED + 3, 0 },                          /* seed chars */
		{ R_SEED + 1, 'A' },                                         /* not lower case */
		{ R_FLAGS, 0x2 }, { R_FLAGS + 3, 0x80 },                     /* unknown flag */
		{ R_RES0, 1 }, { R_RESERVED, 1 }, { R_CHECK - 1, 1 },        /* reserved */
		{ R_CREATED + 7, 0x80 },                                     /* negative time */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* The same damage in a v1 record and in a v2 one (offsets below 96 are shared). */
		for (int v = 1; v <= 2; v++) {
			if (v == 2 && bad[i].off >= R_RESERVED)
				continue;
			if (v == 1)
				encoded_v1(r);
			else
				encoded(r);
			if (bad[i].off == R_SEQ) {
				memcpy(r + R_SEQ, "\x10\x27\x00\x00", 4);
			} else {
				r[bad[i].off] = bad[i].v;
			}
			if (v == 1) {
				resign(r);
				expect_decode(r, OTP_REC_V1_SIZE, OTP_ERR_DB_CORRUPT);
			} else {
				resign2(r);
				expect_decode(r, OTP_REC_V2_SIZE, OTP_ERR_DB_CORRUPT);
			}
		}
	}
	/* A 12-character seed with a stray byte in its padding. */
	encoded_v1(r);
	r[R_SEEDLEN] = 12;
	resign(r);
	expect_decode(r, OTP_REC_V1_SIZE, OTP_ERR_DB_CORRUPT);
	memset(r + R_SEED + 12, 0, 4);
	resign(r);
	expect_decode(r, OTP_REC_V1_SIZE, OTP_OK);

	/* Version 2: exactly 256 bytes, and the sizes are not interchangeable. */
	encoded(r);
	r[OTP_REC_V2_SIZE] = 0;
	expect_decode(r, OTP_REC_V2_SIZE, OTP_OK);
	expect_decode(r, OTP_REC_V2_SIZE - 1, OTP_ERR_DB_CORRUPT);
	expect_decode(r, OTP_REC_V2_SIZE + 1, OTP_ERR_DB_CORRUPT);
	expect_decode(r, OTP_REC_V1_SIZE, OTP_ERR_DB_CORRUPT);
	encoded_v1(r);
	memset(r + OTP_REC_V1_SIZE, 0, OTP_REC_V2_SIZE - OTP_REC_V1_SIZE);
	expect_decode(r, OTP_REC_V2_SIZE, OTP_ERR_DB_CORRUPT);           /* v1 padded to 256 */
	encoded(r);
	r[R2_CHECK + 3] ^= 4;                                            /* check */
	expect_decode(r, OTP_REC_V2_SIZE, OTP_ERR_DB_CORRUPT);
	encoded(r);
	r[R2_APOP] ^= 1;                                                 /* covered by the check */
	expect_decode(r, OTP_REC_V2_SIZE, OTP_ERR_DB_CORRUPT);

	/* Well signed v2, but the APOP area, token area or reserved bytes wrong. */
	static const struct { int off; unsigned char v; } bad2[] = {
		{ R2_APOPLEN, OTP_APOP_SECRET_MAX + 1 }, { R2_APOPLEN, 0xff },
		{ R2_APOPLEN, 40 },                              /* length past the secret: NUL padding inside */
		{ R2_APOP + 2, 0 }, { R2_APOP + 2, 0x1f }, { R2_APOP, 0x7f }, { R2_APOP + 5, 0x80 },
		{ R2_APOP + 30, 'x' }, { R2_TOKEN - 1, 1 },     /* padding after the secret */
		{ R2_TOKEN, 1 }, { R2_TOKEN + 79, 0x80 },        /* token area, not yet defined */
		{ R2_RESERVED, 1 }, { R2_CHECK - 1, 1 },         /* reserved */
	};
	for (size_t i = 0; i < sizeof(bad2) / sizeof(bad2[0]); i++) {
		encoded(r);
		r[bad2[i].off] = bad2[i].v;
		resign2(r);
		expect_decode(r, OTP_REC_V2_SIZE, OTP_ERR_DB_CORRUPT);
	}
	/* A one-byte and a 63-byte secret are both fine. */
	encoded(r);
	r[R2_APOPLEN] = 1;
	memset(r + R2_APOP + 1, 0, OTP_APOP_SECRET_MAX - 1);
	resign2(r);
	expect_decode(r, OTP_REC_V2_SIZE, OTP_OK);
	r[R2_APOPLEN] = OTP_APOP_SECRET_MAX;
	memset(r + R2_APOP, '~', OTP_APOP_SECRET_MAX);
	resign2(r);
	expect_decode(r, OTP_REC_V2_SIZE, OTP_OK);
}

/* Hostile bytes: random lengths and contents, and single-byte damage. */
static void test_record_decode_random(void **state)
{
	unsigned char r[OTP_REC_V2_SIZE * 2], good[OTP_REC_V2_SIZE];
	struct otp_record rec;
	enum otp_err e;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t len;

		assert_int_equal(otp_random_bytes(r, sizeof(r)), OTP_OK);
		len = (r[0] | (size_t)r[1] << 8) % sizeof(r);
		if (i % 4 == 1)
			len = OTP_REC_V1_SIZE;
		if (i % 4 == 3)
			len = OTP_REC_V2_SIZE;
		if (i % 2 == 0)
			memcpy(r, "OTPK\x01\x00", 6);
		else if (i % 4 == 3)
			memcpy(r, "OTPK\x02\x00", 6);
		e = otp_record_decode(r, len, &rec);
		assert_true(e == OTP_ERR_DB_CORRUPT || e == OTP_ERR_DB_VERSION);
	}
	/* Every single-bit change to a good v1 and a good v2 record is caught. */
	for (int v = 1; v <= 2; v++) {
		size_t n = v == 1 ? OTP_REC_V1_SIZE : OTP_REC_V2_SIZE;

		if (v == 1)
			encoded_v1(good);
		else
			encoded(good);
		for (size_t off = 0; off < n; off++) {
			for (int bit = 0; bit < 8; bit++) {
				memcpy(r, good, n);
				r[off] ^= (unsigned char)(1u << bit);
				e = otp_record_decode(r, n, &rec);
				assert_true(e == OTP_ERR_DB_CORRUPT || e == OTP_ERR_DB_VERSION);
			}
		}
	}
}

static void test_user_check(void **state)
{
	static const char *good[] = { "a", "root", "john.doe", "x_y-z", "A@B", "~!", "1" };
	static const char *bad[] = { "", "-rf", "a b", "a\tb", "a:b", "a/b", "caf\xc3\xa9", "a\x7f",
	                             " lead", "trail\n" };
	char longest[OTP_USER_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(otp_user_check(good[i]), OTP_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(otp_user_check(bad[i]), OTP_ERR_USER);
	assert_int_equal(otp_user_check(NULL), OTP_ERR_USER);
	memset(longest, 'u', OTP_USER_MAX);
	longest[OTP_USER_MAX] = '\0';
	assert_int_equal(otp_user_check(longest), OTP_OK);
	longest[OTP_USER_MAX] = 'u';
	longest[OTP_USER_MAX + 1] = '\0';
	assert_int_equal(otp_user_check(longest), OTP_ERR_USER);
}

static void test_db_path(void **state)
{
	(void)state;
	assert_string_equal(otp_db_path(NULL), OTP_DEFAULT_DB);
	assert_string_equal(otp_db_path("/x/y.db"), "/x/y.db");
}

/* ---- update and read ------------------------------------------------------ */

static void test_update_rules(void **state)
{
	struct fx *f = *state;
	struct act a = { OTP_DB_STORE, 77, OTP_OK, true, 0 };
	struct otp_record rec;

	assert_int_equal(otp_db_update(f->db, "alice", true, 1000, act_fn, &a), OTP_OK);
	assert_false(a.saw_exists);                          /* insert */
	assert_int_equal(get_seq(f->db, "alice"), 77);
	a.seq = 76;
	assert_int_equal(otp_db_update(f->db, "alice", false, 1000, act_fn, &a), OTP_OK);
	assert_true(a.saw_exists);                           /* replace */
	assert_int_equal(get_seq(f->db, "alice"), 76);
	a.action = OTP_DB_KEEP;
	a.seq = 5;
	assert_int_equal(otp_db_update(f->db, "alice", false, 1000, act_fn, &a), OTP_OK);
	assert_int_equal(get_seq(f->db, "alice"), 76);       /* keep */
	a.action = OTP_DB_DELETE;
	assert_int_equal(otp_db_update(f->db, "alice", false, 1000, act_fn, &a), OTP_OK);
	assert_int_equal(otp_db_get(f->db, "alice", 1000, &rec), OTP_ERR_NOUSER);
	a.calls = 0;
	assert_int_equal(otp_db_update(f->db, "alice", false, 1000, act_fn, &a), OTP_OK);
	assert_int_equal(a.calls, 1);                        /* delete of nobody */
	assert_false(a.saw_exists);
	a.action = (enum otp_db_action)99;
	assert_int_equal(otp_db_update(f->db, "alice", false, 1000, act_fn, &a), OTP_ERR_INVALID);
	/* The record the callback leaves must be valid to be stored. */
	a.action = OTP_DB_STORE;
	a.seq = OTP_SEQ_MAX + 1;
	assert_int_equal(otp_db_update(f->db, "alice", false, 1000, act_fn, &a), OTP_ERR_SEQ);
	assert_int_equal(otp_db_get(f->db, "alice", 1000, &rec), OTP_ERR_NOUSER);
	assert_int_equal(otp_db_update(f->db, "bad user", true, 1000, act_fn, &a), OTP_ERR_USER);
	assert_int_equal(otp_db_update(f->db, "ok", true, 1000, NULL, &a), OTP_ERR_INVALID);
	assert_int_equal(otp_db_get(f->db, "-x", 1000, &rec), OTP_ERR_USER);
	/* The log is preallocated whole: writing it never changes its size. */
	assert_true(file_size(f->wal) >= 65536);
}

static void test_callback_error_writes_nothing(void **state)
{
	struct fx *f = *state;
	struct act a = { OTP_DB_STORE, 5, OTP_ERR_EXISTS, false, 0 };
	struct otp_record rec;

	assert_int_equal(put(f->db, "bob", 10), OTP_OK);
	assert_int_equal(otp_db_update(f->db, "bob", false, 1000, act_fn, &a), OTP_ERR_EXISTS);
	assert_int_equal(get_seq(f->db, "bob"), 10);
	a.action = OTP_DB_DELETE;
	assert_int_equal(otp_db_update(f->db, "bob", false, 1000, act_fn, &a), OTP_ERR_EXISTS);
	assert_int_equal(get_seq(f->db, "bob"), 10);
	a.action = OTP_DB_STORE;
	assert_int_equal(otp_db_update(f->db, "carol", false, 1000, act_fn, &a), OTP_ERR_EXISTS);
	assert_int_equal(otp_db_get(f->db, "carol", 1000, &rec), OTP_ERR_NOUSER);
}

static void test_missing_db(void **state)
{
	struct fx *f = *state;
	struct act a = { OTP_DB_STORE, 5, OTP_OK, false, 0 };
	struct otp_record rec;
	unsigned char secret[32];
	char deep[400];
	int n = 0;

	assert_int_equal(otp_db_update(f->db, "dave", false, 1000, act_fn, &a), OTP_ERR_DB_MISSING);
	assert_int_equal(a.calls, 0);
	assert_int_equal(otp_db_get(f->db, "dave", 1000, &rec), OTP_ERR_DB_MISSING);
	assert_int_equal(otp_db_foreach(f->db, 1000, stop_fn, &n), OTP_ERR_DB_MISSING);
	assert_int_equal(otp_db_foreach(f->db, 1000, NULL, NULL), OTP_ERR_INVALID);
	assert_int_equal(n, 0);
	assert_int_equal(otp_db_host_secret(f->db, 1000, secret), OTP_ERR_DB_MISSING);
	assert_int_equal(access(f->db, F_OK), -1);
	assert_int_equal(access(f->lock, F_OK), -1);          /* nothing left behind */
	snprintf(deep, sizeof(deep), "%s/sub/otpkeys.db", f->dir);
	assert_int_equal(otp_db_get(deep, "dave", 1000, &rec), OTP_ERR_DB_MISSING);
	snprintf(deep, sizeof(deep), "%s/no/sub/otpkeys.db", f->dir);
	assert_int_equal(put(deep, "dave", 1), OTP_ERR_DB_OPEN);   /* one level only */
}

static void test_create_modes(void **state)
{
	struct fx *f = *state;
	char dir[300], db[320], p[340];
	struct stat st;
	mode_t old = umask(0);

	snprintf(dir, sizeof(dir), "%s/new", f->dir);
	snprintf(db, sizeof(db), "%s/otpkeys.db", dir);
	assert_int_equal(put(db, "erin", 3), OTP_OK);
	umask(old);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(db, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(p, sizeof(p), "%s.lock", db);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(p, sizeof(p), "%s.wal", db);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(get_seq(db, "erin"), 3);
}

static void expect_perm(const char *db)
{
	struct otp_record rec;

	assert_int_equal(otp_db_get(db, "alice", 1000, &rec), OTP_ERR_DB_PERM);
	assert_int_equal(put(db, "alice", 2), OTP_ERR_DB_PERM);
}

static void test_perms(void **state)
{
	struct fx *f = *state;
	const char *files[] = { f->db, f->lock, f->wal };
	char link[400];

	assert_int_equal(put(f->db, "alice", 1), OTP_OK);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(chmod(files[i], 0620), 0);
		expect_perm(f->db);
		assert_int_equal(chmod(files[i], 0602), 0);
		expect_perm(f->db);
		/* Readable by others is refused too: the files hold secrets. */
		assert_int_equal(chmod(files[i], 0640), 0);
		expect_perm(f->db);
		assert_int_equal(chmod(files[i], 0604), 0);
		expect_perm(f->db);
		assert_int_equal(chmod(files[i], 0600), 0);
		assert_int_equal(get_seq(f->db, "alice"), 1);
	}
	assert_int_equal(chmod(f->dir, 0720), 0);
	expect_perm(f->db);
	assert_int_equal(chmod(f->dir, 0702), 0);
	expect_perm(f->db);
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(get_seq(f->db, "alice"), 1);

	/* Owned by someone else (needs root to arrange). */
	if (geteuid() == 0) {
		assert_int_equal(chown(f->db, 65534, 65534), 0);
		expect_perm(f->db);
		assert_int_equal(chown(f->db, 0, 0), 0);
		assert_int_equal(chown(f->dir, 65534, 0), 0);
		expect_perm(f->db);
		assert_int_equal(chown(f->dir, 0, 0), 0);
	}
	/* A symlink to a good database, and a database that is a directory. */
	snprintf(link, sizeof(link), "%s/link.db", f->dir);
	assert_int_equal(symlink(f->db, link), 0);
	expect_perm(link);
	snprintf(link, sizeof(link), "%s/dir.db", f->dir);
	assert_int_equal(mkdir(link, 0700), 0);
	expect_perm(link);
	assert_int_equal(get_seq(f->db, "alice"), 1);
}

/* ---- the lock ------------------------------------------------------------- */

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static enum otp_err no_init(struct gshm *m, void *arg)
{
	(void)m;
	(void)arg;
	return OTP_ERR_INVALID;     /* the state is set up already: this is never called */
}

/*
 * A child holds the store's lock until the returned pipe is closed, or
 * for hold_ms when that is not zero; then it exits without letting go
 * (the lock is robust: the next taker goes on from there).
 */
static pid_t hold_lock_for(const char *db, int *release, long hold_ms)
{
	int ready[2], go[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct gpaths p;
		struct gshm m;

		close(ready[0]);
		close(go[1]);
		if (gpaths_make(&p, db) != OTP_OK || gshm_open(&m, &p, 1000, no_init, NULL) != OTP_OK ||
		    gshm_lock(&m, 1000) != OTP_OK)
			_exit(1);
		(void)!write(ready[1], "x", 1);
		if (hold_ms > 0) {
			struct timespec d = { hold_ms / 1000, hold_ms % 1000 * 1000000L };
			nanosleep(&d, NULL);
		} else {
			(void)!read(go[0], &c, 1);   /* until the parent closes its end */
		}
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*release = go[1];
	return pid;
}

static pid_t hold_lock(const char *db, int *release)
{
	return hold_lock_for(db, release, 0);
}

static void release_lock(pid_t pid, int release)
{
	int status;

	close(release);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_lock_timeout(void **state)
{
	struct fx *f = *state;
	struct otp_record rec;
	int release;
	double t;
	pid_t pid;

	assert_int_equal(put(f->db, "alice", 9), OTP_OK);

	pid = hold_lock(f->db, &release);
	t = now_ms();
	assert_int_equal(put(f->db, "alice", 8), OTP_ERR_DB_LOCK);
	t = now_ms() - t;
	assert_true(t >= 990 && t < 3000);        /* put() waits 1000 ms */
	t = now_ms();
	assert_int_equal(otp_db_get(f->db, "alice", 200, &rec), OTP_ERR_DB_LOCK);
	t = now_ms() - t;
	assert_true(t >= 190 && t < 2000);
	assert_int_equal(otp_db_get(f->db, "alice", 0, &rec), OTP_ERR_DB_LOCK);
	release_lock(pid, release);
	/* Its holder exited holding it: the next taker goes on. */
	assert_int_equal(get_seq(f->db, "alice"), 9);

	/* A waiter gets the lock once it is let go within its time. */
	pid = hold_lock_for(f->db, &release, 150);
	t = now_ms();
	assert_int_equal(put(f->db, "alice", 7), OTP_OK);
	t = now_ms() - t;
	assert_true(t >= 100);
	release_lock(pid, release);
	assert_int_equal(get_seq(f->db, "alice"), 7);
}

/* ---- after a crash: the journal of earlier versions, the log ----------------- */

/* What a restart does to the shared state in DB.lock: the next open rebuilds it from the files. */
static void reboot(const struct fx *f)
{
	assert_int_equal(truncate(f->lock, 0), 0);
}

static bool gone(const char *p)
{
	struct stat st;

	return lstat(p, &st) != 0 && errno == ENOENT;
}

/* A journal entry left by an earlier version is applied once, at the first open after a start. */
static void test_journal_replay(void **state)
{
	struct fx *f = *state;
	unsigned char r[OTP_REC_V2_SIZE], j[512];
	struct otp_record rec;
	size_t n;

	assert_int_equal(put(f->db, "alice", 5), OTP_OK);
	assert_int_equal(otp_db_flush(f->db, 1000), OTP_OK);
	encoded(r);

	/* A complete entry: replayed before anything is read. */
	n = journal_entry(j, 1, "zed", r, sizeof(r));
	write_file(f->journal, j, n);
	reboot(f);
	assert_int_equal(otp_db_get(f->db, "zed", 1000, &rec), OTP_OK);
	assert_int_equal(rec.seq, 9999);
	assert_string_equal(rec.seed, "ab12cd34ef56gh78");
	assert_string_equal(rec.apop_secret, SAMPLE_APOP);
	assert_true(gone(f->journal));

	/* A delete entry, replayed by a writer on another user. */
	n = journal_entry(j, 2, "zed", NULL, 0);
	write_file(f->journal, j, n);
	reboot(f);
	assert_int_equal(put(f->db, "alice", 4), OTP_OK);
	assert_int_equal(otp_db_get(f->db, "zed", 1000, &rec), OTP_ERR_NOUSER);
	assert_true(gone(f->journal));

	/* Torn, damaged or padded entries were never acknowledged: dropped. */
	n = journal_entry(j, 1, "zed", r, sizeof(r));
	for (int kind = 0; kind < 5; kind++) {
		unsigned char t[512];
		size_t tn = n;

		memcpy(t, j, n);
		switch (kind) {
		case 0: tn = n - 1; break;                       /* torn */
		case 1: tn = 10; break;
		case 2: t[40] ^= 1; break;                        /* bad check */
		case 3: t[tn++] = 0; break;                       /* trailing byte */
		case 4: t[8] = 3; sha8(t, n - 8, t + n - 8); break; /* unknown op */
		}
		write_file(f->journal, t, tn);
		reboot(f);
		assert_int_equal(otp_db_get(f->db, "zed", 1000, &rec), OTP_ERR_NOUSER);
		assert_true(gone(f->journal));
	}
	assert_int_equal(get_seq(f->db, "alice"), 4);
	/* A journal that is a symlink is refused, not followed. */
	assert_int_equal(symlink(f->db, f->journal), 0);
	reboot(f);
	assert_int_equal(otp_db_get(f->db, "alice", 1000, &rec), OTP_ERR_DB_PERM);
}

/*
 * What the log is for: a record torn in the GDBM file (as a power cut in
 * the middle of a checkpoint leaves it) is read from the log, which holds
 * it whole, and the next checkpoint writes it whole again.
 */
static void test_torn_record_replay(void **state)
{
	struct fx *f = *state;
	struct otp_record rec;
	unsigned char old[OTP_REC_V2_SIZE], new[OTP_REC_V2_SIZE], file[1 << 16];
	size_t len;
	ssize_t got;
	unsigned char *at;
	int fd;

	assert_int_equal(put(f->db, "alice", 50), OTP_OK);
	assert_int_equal(otp_db_flush(f->db, 1000), OTP_OK);
	assert_int_equal(otp_db_get(f->db, "alice", 1000, &rec), OTP_OK);
	assert_int_equal(otp_record_encode(&rec, old, sizeof(old), &len), OTP_OK);
	rec.seq = 49;
	assert_int_equal(otp_record_encode(&rec, new, sizeof(new), &len), OTP_OK);
	assert_int_equal(put(f->db, "alice", 49), OTP_OK);      /* in the log */

	fd = open(f->db, O_RDWR);
	assert_true(fd >= 0);
	got = pread(fd, file, sizeof(file), 0);
	assert_true(got > 0);
	at = memmem(file, (size_t)got, old, sizeof(old));
	assert_non_null(at);
	/* First half new, second half old. */
	assert_int_equal(pwrite(fd, new, 128, at - file), 128);
	close(fd);
	reboot(f);
	assert_int_equal(get_seq(f->db, "alice"), 49);
	assert_int_equal(otp_db_flush(f->db, 1000), OTP_OK);
	assert_int_equal(get_seq(f->db, "alice"), 49);
	/* And the base alone has it whole now. */
	fd = open(f->db, O_RDONLY);
	assert_true(fd >= 0);
	got = pread(fd, file, sizeof(file), 0);
	close(fd);
	assert_non_null(memmem(file, (size_t)got, new, sizeof(new)));

	/* Torn in the base with nothing newer in the log: detected, never used. */
	memcpy(old, new, sizeof(old));
	at = memmem(file, (size_t)got, old, sizeof(old));
	fd = open(f->db, O_RDWR);
	assert_int_equal(pwrite(fd, "XXXXXXXX", 8, at - file + 100), 8);
	close(fd);
	reboot(f);
	assert_int_equal(otp_db_get(f->db, "alice", 1000, &rec), OTP_ERR_DB_CORRUPT);
}

/* ---- damaged records, reserved entries, foreach --------------------------- */

static void test_damaged_records(void **state)
{
	struct fx *f = *state;
	unsigned char r[OTP_REC_V2_SIZE + 1];
	struct otp_record rec;
	struct act a = { OTP_DB_STORE, 1, OTP_OK, false, 0 };

	assert_int_equal(put(f->db, "alice", 5), OTP_OK);
	encoded(r);
	r[50] ^= 1;
	raw_store(f->db, "torn", r, OTP_REC_V2_SIZE);
	encoded(r);
	r[R_VERSION] = 4;
	resign2(r);
	raw_store(f->db, "future", r, OTP_REC_V2_SIZE);
	encoded(r);
	raw_store(f->db, "long", r, OTP_REC_V2_SIZE + 1);
	assert_int_equal(otp_db_get(f->db, "torn", 1000, &rec), OTP_ERR_DB_CORRUPT);
	assert_int_equal(otp_db_get(f->db, "future", 1000, &rec), OTP_ERR_DB_VERSION);
	assert_int_equal(otp_db_get(f->db, "long", 1000, &rec), OTP_ERR_DB_CORRUPT);
	/* An update never hands a damaged record to its callback. */
	assert_int_equal(otp_db_update(f->db, "torn", false, 1000, act_fn, &a), OTP_ERR_DB_CORRUPT);
	assert_int_equal(a.calls, 0);
	assert_int_equal(get_seq(f->db, "alice"), 5);
}

/* A v1 record left by an older program is read, and rewritten as v2 by the next update. */
static void test_v1_upgrade(void **state)
{
	struct fx *f = *state;
	unsigned char r[OTP_REC_V1_SIZE];
	struct otp_record rec;
	struct act a = { OTP_DB_STORE, 77, OTP_OK, false, 0 };
	GDBM_FILE dbf;
	datum k = { (char *)"old", 3 }, v;

	assert_int_equal(put(f->db, "alice", 5), OTP_OK);
	encoded_v1(r);
	raw_store(f->db, "old", r, sizeof(r));
	assert_int_equal(otp_db_get(f->db, "old", 1000, &rec), OTP_OK);
	assert_int_equal(rec.version, 1);
	assert_int_equal(rec.seq, 9999);
	assert_string_equal(rec.apop_secret, "");
	assert_int_equal(otp_db_update(f->db, "old", false, 1000, act_fn, &a), OTP_OK);
	assert_int_equal(otp_db_get(f->db, "old", 1000, &rec), OTP_OK);
	assert_int_equal(rec.version, 2);
	assert_int_equal(rec.seq, 77);
	assert_string_equal(rec.seed, "ab12cd34ef56gh78");
	assert_int_equal(otp_db_flush(f->db, 1000), OTP_OK);
	dbf = gdbm_open(f->db, 0, GDBM_READER | GDBM_NOLOCK, 0600, NULL);
	assert_non_null(dbf);
	v = gdbm_fetch(dbf, k);
	assert_non_null(v.dptr);
	assert_int_equal(v.dsize, OTP_REC_V2_SIZE);
	free(v.dptr);
	gdbm_close(dbf);
}

static bool count_fn(const char *user, const struct otp_record *rec, void *arg)
{
	int *n = arg;

	assert_true(user[0] != ' ');
	assert_int_equal(otp_user_check(user), OTP_OK);
	assert_int_equal(rec->seq, 100 + (unsigned)(user[1] - '0'));
	(*n)++;
	return true;
}

static bool stop_fn(const char *user, const struct otp_record *rec, void *arg)
{
	(void)user;
	(void)rec;
	return ++*(int *)arg < 2;
}

static void test_foreach_and_secret(void **state)
{
	struct fx *f = *state;
	unsigned char s1[32], s2[32], zero[32] = { 0 }, r[OTP_REC_V2_SIZE];
	char user[16];
	int n = 0;

	for (int i = 0; i < 6; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		assert_int_equal(put(f->db, user, 100 + (unsigned)i), OTP_OK);
	}
	assert_int_equal(otp_db_host_secret(f->db, 1000, s1), OTP_OK);
	assert_memory_not_equal(s1, zero, 32);
	assert_int_equal(otp_db_host_secret(f->db, 1000, s2), OTP_OK);
	assert_memory_equal(s1, s2, 32);
	assert_int_equal(otp_db_foreach(f->db, 1000, count_fn, &n), OTP_OK);
	assert_int_equal(n, 6);
	n = 0;
	assert_int_equal(otp_db_foreach(f->db, 1000, stop_fn, &n), OTP_OK);
	assert_int_equal(n, 2);

	/* A damaged entry is reported after the walk, not in place of it. */
	assert_int_equal(otp_db_flush(f->db, 1000), OTP_OK);
	encoded(r);
	r[70] ^= 1;
	raw_store(f->db, "u9", r, sizeof(r));
	n = 0;
	assert_int_equal(otp_db_foreach(f->db, 1000, count_fn, &n), OTP_ERR_DB_CORRUPT);
	assert_int_equal(n, 6);

	/* Still the same secret, and a damaged one is not silently replaced. */
	assert_int_equal(otp_db_host_secret(f->db, 1000, s2), OTP_OK);
	assert_memory_equal(s1, s2, 32);
	raw_store(f->db, " host-secret", "short", 5);
	assert_int_equal(otp_db_host_secret(f->db, 1000, s2), OTP_ERR_DB_CORRUPT);
	assert_memory_equal(s2, zero, 32);
	otp_wipe(s1, sizeof(s1));
}

/* GDBM's structure damaged: repaired, with the damaged file kept aside. */
static void test_gdbm_repair(void **state)
{
	struct fx *f = *state;
	unsigned char junk[64];
	char user[16], backup[330];
	int fd, n = 0;
	enum otp_err rc;

	for (int i = 0; i < 300; i++) {
		snprintf(user, sizeof(user), "u%d%03d", i % 10, i);
		assert_int_equal(put(f->db, user, 100 + (unsigned)(i % 10)), OTP_OK);
	}
	/* Damage the first block after the header, a bucket in GDBM 1.23's layout. */
	memset(junk, 0xff, sizeof(junk));
	fd = open(f->db, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), 4096), (ssize_t)sizeof(junk));
	close(fd);
	otp_db_release();
	rc = otp_db_foreach(f->db, 1000, count_fn, &n);
	/* Either everything came back, or the loss is reported: never silent. */
	assert_true((rc == OTP_OK && n == 300) || rc == OTP_ERR_DB_CORRUPT);
	if (rc == OTP_OK) {
		snprintf(backup, sizeof(backup), "%s.~1~", f->db);
		assert_int_equal(access(backup, F_OK), 0);
	}
	n = 0;
	rc = otp_db_foreach(f->db, 1000, count_fn, &n);
	assert_true(rc == OTP_OK || rc == OTP_ERR_DB_CORRUPT);
	assert_int_equal(put(f->db, "u0000", 100), OTP_OK);
	assert_int_equal(get_seq(f->db, "u0000"), 100);
}

/* The raw profile; its length. */
static size_t profile_get(const char *db, unsigned char *v, size_t size)
{
	struct otp_store *s;
	size_t len = 0;

	assert_int_equal(otp_store_open(db, 1000, false, &s), OTP_OK);
	assert_int_equal(s->ops->meta_get(s, OTP_META_PROFILE, v, size, &len), OTP_OK);
	otp_store_close(s);
	return len;
}

static void profile_put(const char *db, const unsigned char *v, size_t len)
{
	struct otp_store *s;

	assert_int_equal(otp_store_open(db, 1000, false, &s), OTP_OK);
	assert_int_equal(s->ops->meta_put(s, OTP_META_PROFILE, v, len, false), OTP_OK);
	otp_store_close(s);
}

/* The sample of names fakes are modelled on: written in version 2, version 1 still read. */
static void test_profile_versions(void **state)
{
	struct fx *f = *state;
	unsigned char v[8192], sum[8];
	const char *names[] = { "alice", "bob" };
	size_t len;

	assert_int_equal(put(f->db, "alice", 5), OTP_OK);
	assert_int_equal(put(f->db, "bob", 5), OTP_OK);
	len = profile_get(f->db, v, sizeof(v));
	/* Magic, count, n, zeros, each name after its length, the check. */
	assert_int_equal(len, 24 + (1 + 5) + (1 + 3) + 8);
	assert_memory_equal(v, "OTPPROF2", 8);
	assert_int_equal(v[16], 2);
	assert_int_equal(v[24], 5);
	assert_memory_equal(v + 25, "alice", 5);

	/* Version 1 (100 slots of 65 bytes), as earlier versions wrote it, with a count of 1000. */
	memset(v, 0, sizeof(v));
	memcpy(v, "OTPPROF1", 8);
	v[9] = 1000 >> 8;
	v[8] = 1000 & 0xff;
	v[16] = 2;
	for (int i = 0; i < 2; i++)
		memcpy(v + 24 + i * 65, names[i], strlen(names[i]));
	sha8(v, 24 + 100 * 65, sum);
	memcpy(v + 24 + 100 * 65, sum, 8);
	profile_put(f->db, v, 24 + 100 * 65 + 8);
	/* Read, not rebuilt: the count goes on from 1000 (a rebuild would count 3). */
	assert_int_equal(put(f->db, "carol", 5), OTP_OK);
	len = profile_get(f->db, v, sizeof(v));
	assert_memory_equal(v, "OTPPROF2", 8);
	assert_int_equal(v[8] | v[9] << 8, 1001);
	assert_int_equal(v[16], 3);

	/* Damaged (one byte changed): rebuilt from the users. */
	v[24] = 200;
	profile_put(f->db, v, len);
	assert_int_equal(put(f->db, "dave", 5), OTP_OK);
	len = profile_get(f->db, v, sizeof(v));
	assert_int_equal(v[8] | v[9] << 8, 4);
	assert_int_equal(v[16], 4);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* The store kept open between calls: never across a fork, never holding a flock, never past its files. */
static void test_kept_open(void **state)
{
	struct fx *f = *state;
	int before, fd, st;
	pid_t pid;

	otp_db_release();
	before = count_fds();
	assert_int_equal(put(f->db, "alice", 7), OTP_OK);
	assert_int_equal(count_fds(), before);          /* a store made by the call is not kept */
	assert_int_equal(get_seq(f->db, "alice"), 7);
	assert_int_equal(count_fds(), before + 3);      /* the lock file, the log, the base */
	assert_int_equal(get_seq(f->db, "alice"), 7);
	assert_int_equal(count_fds(), before + 3);      /* taken back, not opened again */

	/* No flock is held while it is kept: a rebuild after a reboot never waits for it. */
	fd = open(f->lock, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);

	/* A child does not inherit it. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(count_fds() == before ? 0 : 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* The store removed and made again by another process: the new one is read. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unlink(f->db) != 0 || unlink(f->wal) != 0 || unlink(f->lock) != 0)
			_exit(1);
		_exit(put(f->db, "alice", 9) == OTP_OK ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(get_seq(f->db, "alice"), 9);
	assert_int_equal(count_fds(), before + 3);

	/* What another process writes meanwhile is read: in the same log, then past checkpoints. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(put(f->db, "alice", 10) == OTP_OK && put(f->db, "bob", 3) == OTP_OK ? 0 : 1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(get_seq(f->db, "alice"), 10);
	assert_int_equal(get_seq(f->db, "bob"), 3);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char u[16];

		for (unsigned i = 0; i < 300; i++) {
			snprintf(u, sizeof(u), "u%u", i);
			if (put(f->db, u, i + 2) != OTP_OK)
				_exit(1);
		}
		_exit(put(f->db, "alice", 11) == OTP_OK && otp_db_flush(f->db, 1000) == OTP_OK &&
		      put(f->db, "alice", 12) == OTP_OK ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(get_seq(f->db, "alice"), 12);
	assert_int_equal(get_seq(f->db, "bob"), 3);
	for (unsigned i = 0; i < 300; i++) {
		char u[16];

		snprintf(u, sizeof(u), "u%u", i);
		assert_int_equal(get_seq(f->db, u), i + 2);
	}
	assert_int_equal(count_fds(), before + 3);

	/* Its checks are made again when it is taken back. */
	assert_int_equal(chmod(f->wal, 0640), 0);
	expect_perm(f->db);
	assert_int_equal(chmod(f->wal, 0600), 0);
	assert_int_equal(get_seq(f->db, "alice"), 12);
	otp_db_release();
	assert_int_equal(count_fds(), before);
}

static void test_foreach_empty(void **state)
{
	struct fx *f = *state;
	struct act a = { OTP_DB_KEEP, 1, OTP_OK, false, 0 };
	int n = 0;

	/* create with KEEP makes an empty database. */
	assert_int_equal(otp_db_update(f->db, "nobody", true, 1000, act_fn, &a), OTP_OK);
	assert_int_equal(otp_db_foreach(f->db, 1000, count_fn, &n), OTP_OK);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_round_trip),
		cmocka_unit_test(test_record_encode_rejects),
		cmocka_unit_test(test_record_decode_rejects),
		cmocka_unit_test(test_record_decode_random),
		cmocka_unit_test(test_user_check),
		cmocka_unit_test(test_db_path),
		cmocka_unit_test_setup_teardown(test_update_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callback_error_writes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_db, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_perms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lock_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_journal_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_record_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1_upgrade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreach_and_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gdbm_repair, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreach_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_profile_versions, setup, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
