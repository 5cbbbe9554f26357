/*
 * test_badinput.c - every class of malformed input, with its expected outcome:
 * over-long, non-ASCII, embedded NUL, bad checksum, wrong word, truncated
 * extended responses, absurd numbers, hostile key-database files.  None may
 * crash and none may log anyone in.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "otp.h"
#include "tmpdir.h"

#define PASS "This is a test."
#define SEED "test"
#define START_SEQ 100

/* A NUL inside a C string literal: the length says how much is meant. */
struct blob {
	const char *p;
	size_t len;
};
#define BLOB(s) { s, sizeof(s) - 1 }

static char tmpdir[256];

static int setup(void **state)
{
	(void)state;
	return tmpdir_make(tmpdir, sizeof(tmpdir), "otp-badinput");
}

static int teardown(void **state)
{
	(void)state;
	return tmpdir_remove(tmpdir);
}

/* ---- responses -------------------------------------------------------------- */

static const struct {
	const char *why, *in;
	enum otp_err want;
} bad_responses[] = {
	{ "empty", "", OTP_ERR_RESPONSE },
	{ "blanks only", " \t ", OTP_ERR_RESPONSE },
	{ "non-ASCII: UTF-8 umlaut in a word", "B\xc3\x96ND FOGY DRAB NE RISE MART", OTP_ERR_WORD },
	{ "non-ASCII: Latin-1 byte", "BOND FOGY DRAB NE RISE MAR\xd4", OTP_ERR_WORD },
	{ "non-ASCII: high bytes only", "\xff\xfe\xfd\xfc", OTP_ERR_WORD },
	{ "control character", "BOND FOGY\x1b DRAB NE RISE MART", OTP_ERR_RESPONSE },
	{ "DEL character", "5bf0 75d9 959d 036f\x7f", OTP_ERR_RESPONSE },
	{ "embedded NUL cuts the words short", "BOND FOGY\0DRAB NE RISE MART", OTP_ERR_WORD_COUNT },
	{ "bad checksum", "BOND FOGY DRAB NE RISE MAST", OTP_ERR_CHECKSUM },
	{ "wrong word", "BOND FOGY DRAB NE RISE XYZZY", OTP_ERR_WORD },
	{ "word too long for the dictionary", "BONDS FOGY DRAB NE RISE MART", OTP_ERR_WORD },
	{ "five words", "BOND FOGY DRAB NE RISE", OTP_ERR_WORD_COUNT },
	{ "seven words", "BOND FOGY DRAB NE RISE MART A", OTP_ERR_WORD_COUNT },
	{ "hex one digit short", "5bf0 75d9 959d 036", OTP_ERR_HEX },
	{ "hex one digit long", "5bf0 75d9 959d 036f0", OTP_ERR_HEX },
	{ "truncated: hex: label only", "hex:", OTP_ERR_HEX },
	{ "truncated: word: two words", "word:BOND FOGY", OTP_ERR_WORD_COUNT },
	{ "truncated: init-hex without new parts", "init-hex:5bf0 75d9 959d 036f", OTP_ERR_RESPONSE },
	{ "truncated: init-hex without new OTP", "init-hex:5bf0 75d9 959d 036f:md5 499 ke1235",
	  OTP_ERR_RESPONSE },
	{ "truncated: init-word label only", "init-word:", OTP_ERR_RESPONSE },
	{ "truncated: init-word: current OTP cut", "init-word:BOND FOGY:md5 499 ke1235:RED HERD",
	  OTP_ERR_WORD_COUNT },
	{ "unknown extended type", "x-foo:5bf0 75d9 959d 036f", OTP_ERR_RESPONSE_TYPE },
	{ "over-long type", "init-hexadecimal-and-more:5bf0 75d9 959d 036f", OTP_ERR_RESPONSE_TYPE },
	{ "too many fields", "init-hex:a:b:c:d", OTP_ERR_RESPONSE },
};

static void test_bad_responses(void **state)
{
	struct otp_response r;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_responses) / sizeof(bad_responses[0]); i++) {
		enum otp_err got = otp_response_parse(bad_responses[i].in, &r);

		if (got != bad_responses[i].want)
			fail_msg("%s: got %s, want %s", bad_responses[i].why, otp_strerror(got),
			         otp_strerror(bad_responses[i].want));
		assert_int_equal(r.ncand, 0);
	}
}

/* Over-long input is refused by length before anything looks at it. */
static void test_overlong(void **state)
{
	size_t sizes[] = { OTP_RESPONSE_MAX + 1, 4096, 1 << 20 };
	struct otp_response r;
	struct otp_challenge c;

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *s = malloc(sizes[i] + 1);

		assert_non_null(s);
		memset(s, ' ', sizes[i]);
		memcpy(s, "5bf0 75d9 959d 036f", 19);   /* valid, then padding */
		s[sizes[i]] = '\0';
		assert_int_equal(otp_response_parse(s, &r), OTP_ERR_TOO_LONG);
		memcpy(s, "hex:", 4);
		assert_int_equal(otp_response_parse(s, &r), OTP_ERR_TOO_LONG);
		memset(s, 'a', sizes[i]);
		memcpy(s, "otp-md5 99 ", 11);
		assert_int_equal(otp_challenge_parse(s, &c), OTP_ERR_SEED_LEN);
		assert_int_equal(otp_user_check(s), OTP_ERR_USER);
		free(s);
	}
}

/* A bad new part of an init response: the current OTP stands, the re-key does not. */
static void test_truncated_init(void **state)
{
	static const struct {
		const char *in;
		enum otp_err want;
	} cases[] = {
		{ "init-hex:5bf0 75d9 959d 036f:md5 499 ke1235:3712", OTP_ERR_HEX },
		{ "init-hex:5bf0 75d9 959d 036f:md5 499 ke1235:", OTP_ERR_HEX },
		{ "init-hex:5bf0 75d9 959d 036f::3712 dcb4 aa53 16c1", OTP_ERR_RESPONSE },
		{ "init-hex:5bf0 75d9 959d 036f:md5:3712 dcb4 aa53 16c1", OTP_ERR_RESPONSE },
		{ "init-word:BOND FOGY DRAB NE RISE MART:md5 499 ke1235:RED HERD NOW",
		  OTP_ERR_WORD_COUNT },
		{ "init-hex:5bf0 75d9 959d 036f:md5 18446744073709551616 ke1235:3712 dcb4 aa53 16c1",
		  OTP_ERR_SEQ },
		{ "init-hex:5bf0 75d9 959d 036f:md5 -1 ke1235:3712 dcb4 aa53 16c1", OTP_ERR_SEQ },
		{ "init-hex:5bf0 75d9 959d 036f:md5 499 " "seedwaytoolongforus:3712 dcb4 aa53 16c1",
		  OTP_ERR_SEED_LEN },
		{ "init-hex:5bf0 75d9 959d 036f:md5 499 k\xc3\xa9:3712 dcb4 aa53 16c1",
		  OTP_ERR_SEED_CHAR },
	};
	struct otp_response r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(otp_response_parse(cases[i].in, &r), OTP_OK);
		assert_int_equal(r.ncand, 1);
		if (r.init_err != cases[i].want)
			fail_msg("%s: init_err %s, want %s", cases[i].in, otp_strerror(r.init_err),
			         otp_strerror(cases[i].want));
	}
}

/* ---- challenges and numbers --------------------------------------------------- */

static void test_absurd_numbers(void **state)
{
	static const struct {
		const char *in;
		enum otp_err want;
	} chal[] = {
		{ "otp-md5 10000 ab12", OTP_ERR_SEQ },
		{ "otp-md5 4294967296 ab12", OTP_ERR_SEQ },
		{ "otp-md5 18446744073709551616 ab12", OTP_ERR_SEQ },
		{ "otp-md5 99999999999999999999999999999999 ab12", OTP_ERR_SEQ },
		{ "otp-md5 -1 ab12", OTP_ERR_CHALLENGE },
		{ "otp-md5 +5 ab12", OTP_ERR_CHALLENGE },
		{ "otp-md5 0x10 ab12", OTP_ERR_CHALLENGE },
		{ "otp-md5 1e3 ab12", OTP_ERR_CHALLENGE },
		{ "otp-md5\xc2\xa0" "99 ab12", OTP_ERR_ALG },
		{ "otp-md5 99 \xc3\xa9t\xc3\xa9", OTP_ERR_SEED_CHAR },
	};
	static const char *nums[] = {
		"", "-1", "+1", " 1", "1 ", "0x10", "1e3", "4294967296", "18446744073709551616",
		"99999999999999999999999999999999999999", "\xd9\xa1\xd9\xa2", "1\n",
	};
	struct otp_challenge c;
	unsigned long v;

	(void)state;
	for (size_t i = 0; i < sizeof(chal) / sizeof(chal[0]); i++) {
		enum otp_err got = otp_challenge_parse(chal[i].in, &c);

		if (got != chal[i].want)
			fail_msg("%s: got %s, want %s", chal[i].in, otp_strerror(got),
			         otp_strerror(chal[i].want));
		assert_int_equal(c.seq, 0);
	}
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
		if (otp_parse_uint(nums[i], 0, 100000, &v) != OTP_ERR_INVALID)
			fail_msg("otp_parse_uint accepted \"%s\"", nums[i]);
	assert_int_equal(otp_compute(OTP_ALG_MD5, OTP_SEQ_MAX + 1, SEED, PASS, strlen(PASS),
	                             &(otp_key){ { 0 } }), OTP_ERR_SEQ);
	assert_int_equal(otp_compute(OTP_ALG_MD5, UINT32_MAX, SEED, PASS, strlen(PASS),
	                             &(otp_key){ { 0 } }), OTP_ERR_SEQ);
}

/* ---- import lines ------------------------------------------------------------ */

static void test_bad_import(void **state)
{
	static const struct {
		struct blob line;
		const char *why;
	} opie[] = {
		{ BLOB("alice 0099 TeSt\0 50fe1962c4965880  Apr 04,1999 12:00:00"), "NUL byte in line" },
		{ BLOB("alice 99999 TeSt 50fe1962c4965880"), "bad sequence number" },
		{ BLOB("alice 4294967296 TeSt 50fe1962c4965880"), "bad sequence number" },
		{ BLOB("alice 0000 TeSt 50fe1962c4965880"), "bad sequence number" },
		{ BLOB("al\xc3\xaf" "ce 0099 TeSt 50fe1962c4965880"), "bad user name" },
		{ BLOB("alice 0099 T\xc3\xa9St 50fe1962c4965880"), "bad seed" },
		{ BLOB("alice 0099 TeSt 50fe1962c49658\xc3\xa9"), "bad key (want 16 hex digits)" },
		{ BLOB("alice 0099 TeSt 50fe1962c4965880ff"), "bad key (want 16 hex digits)" },
		{ BLOB("alice 0099 TeSt"), "too few fields" },
		{ BLOB("aliceaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
		       "0099 TeSt 50fe1962c4965880"), "bad user name" },
	};
	char user[OTP_USER_MAX + 1];
	struct otp_record rec;
	const char *why;
	unsigned ln;

	(void)state;
	for (size_t i = 0; i < sizeof(opie) / sizeof(opie[0]); i++) {
		assert_int_equal(otp_import_opie_line(opie[i].line.p, opie[i].line.len, user, &rec, &why),
		                 OTP_IMPORT_BAD);
		assert_string_equal(why, opie[i].why);
		assert_int_equal(user[0], '\0');
	}
	/* An indented, commented-out entry is a comment, not a user named "#alice". */
	assert_int_equal(otp_import_opie_line("  #alice 0099 TeSt 50fe1962c4965880", 35, user, &rec,
	                                      &why), OTP_IMPORT_IGNORE);
	assert_int_equal(otp_import_skeykeys_line("\t#alice md5 99 TeSt 50fe1962c4965880", 36, user,
	                                          &rec, &why), OTP_IMPORT_IGNORE);
	assert_int_equal(otp_import_skeykeys_line("bob md5\0 99 TeSt 50fe1962c4965880", 33, user,
	                                          &rec, &why), OTP_IMPORT_BAD);
	assert_string_equal(why, "NUL byte in line");
	assert_int_equal(otp_import_skeykeys_line("bob rmd160 99 TeSt 50fe1962c4965880", 35, user,
	                                          &rec, &why), OTP_IMPORT_BAD);
	assert_string_equal(why, "unsupported hash algorithm");
	assert_int_equal(otp_import_skey_file("bob", "bob\nmd5\n99\0\nTeSt\n50fe1962c4965880\n", 33,
	                                      user, &rec, &ln, &why), OTP_IMPORT_BAD);
	assert_string_equal(why, "NUL byte in file");
	assert_int_equal(otp_import_skey_file("bob", "bob\nmd5\n99\nTeSt\n", 16, user, &rec, &ln, &why),
	                 OTP_IMPORT_BAD);
	assert_string_equal(why, "missing field");
	assert_int_equal(ln, 5);
}

/* ---- records ------------------------------------------------------------------ */

/* otpkeys(5): a record ends in the first 8 bytes of SHA-256 over all before them. */
static void resum(unsigned char *buf, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(buf, len - 8, md, &n, EVP_sha256(), NULL), 1);
	memcpy(buf + len - 8, md, 8);
}

static void test_bad_records(void **state)
{
	unsigned char buf[1024];
	struct otp_record rec;
	size_t len = 0;

	(void)state;
	memset(&rec, 0, sizeof(rec));
	rec.alg = OTP_ALG_MD5;
	rec.seq = 99;
	strcpy(rec.seed, SEED);
	assert_int_equal(otp_record_encode(&rec, buf, sizeof(buf), &len), OTP_OK);
	assert_int_equal(otp_record_decode(buf, len, &rec), OTP_OK);
	for (size_t n = 0; n < len; n++)   /* every truncation */
		assert_int_equal(otp_record_decode(buf, n, &rec), OTP_ERR_DB_CORRUPT);
	assert_int_equal(otp_record_decode(buf, len + 1, &rec), OTP_ERR_DB_CORRUPT);
	buf[len - 1] ^= 1;                 /* check sum */
	assert_int_equal(otp_record_decode(buf, len, &rec), OTP_ERR_DB_CORRUPT);
	buf[len - 1] ^= 1;
	buf[17] = 0;                       /* a NUL inside the seed, under a good check sum */
	resum(buf, len);
	assert_int_equal(otp_record_decode(buf, len, &rec), OTP_ERR_DB_CORRUPT);
	assert_int_equal(rec.seq, 0);
	assert_int_equal(otp_random_bytes(buf, sizeof(buf)), OTP_OK);
	assert_int_equal(otp_record_decode(buf, 128, &rec), OTP_ERR_DB_CORRUPT);
	assert_int_equal(otp_record_decode(NULL, 0, &rec), OTP_ERR_DB_CORRUPT);

	/* Absurd numbers are refused on the way in, too. */
	memset(&rec, 0, sizeof(rec));
	rec.alg = OTP_ALG_MD5;
	strcpy(rec.seed, SEED);
	rec.seq = UINT32_MAX;
	assert_int_equal(otp_record_encode(&rec, buf, sizeof(buf), &len), OTP_ERR_SEQ);
	rec.seq = 99;
	rec.created = -1;
	assert_int_equal(otp_record_encode(&rec, buf, sizeof(buf), &len), OTP_ERR_INVALID);
	rec.created = 0;
	rec.alg = (enum otp_alg)77;
	assert_int_equal(otp_record_encode(&rec, buf, sizeof(buf), &len), OTP_ERR_ALG);
}

/* ---- logins against a real database -------------------------------------------- */

static enum otp_db_action enrol_fn(const char *user, struct otp_record *rec, bool exists,
                                   void *arg, enum otp_err *err)
{
	(void)user;
	(void)exists;
	(void)arg;
	memset(rec, 0, sizeof(*rec));
	rec->alg = OTP_ALG_MD5;
	rec->seq = START_SEQ;
	strcpy(rec->seed, SEED);
	*err = otp_compute(OTP_ALG_MD5, START_SEQ, SEED, PASS, strlen(PASS), &rec->last);
	return OTP_DB_STORE;
}

static void enrol(const char *db)
{
	assert_int_equal(otp_db_update(db, "alice", true, 1000, enrol_fn, NULL), OTP_OK);
}

static unsigned seq_of(const char *db)
{
	struct otp_record rec;

	assert_int_equal(otp_db_get(db, "alice", 1000, &rec), OTP_OK);
	return rec.seq;
}

static void policy(struct otp_policy *p, const char *db)
{
	otp_policy_init(p);
	p->db = db;
	p->max_failures = 0;       /* the table must not lock alice out */
}

/* Every bad response, as a whole login: refused, and nothing consumed. */
static void test_bad_logins(void **state)
{
	char db[300], words[OTP_WORDS_BUFSZ];
	struct otp_policy p;
	struct otp_login L;
	otp_key k;

	(void)state;
	snprintf(db, sizeof(db), "%s/logins/otpkeys.db", tmpdir);
	policy(&p, db);
	enrol(db);
	for (size_t i = 0; i < sizeof(bad_responses) / sizeof(bad_responses[0]); i++) {
		assert_int_equal(otp_login_begin(&p, "alice", &L), OTP_LOGIN_OK);
		if (otp_login_finish(&p, &L, bad_responses[i].in) != OTP_LOGIN_REFUSED ||
		    L.why != OTP_ERR_BAD_OTP)
			fail_msg("%s: not refused as OTP_ERR_BAD_OTP", bad_responses[i].why);
		assert_int_equal(seq_of(db), START_SEQ);
	}
	/* The right words with a NUL after the fourth: still refused. */
	assert_int_equal(otp_compute(OTP_ALG_MD5, START_SEQ - 1, SEED, PASS, strlen(PASS), &k), OTP_OK);
	otp_key_to_words(&k, words);
	*strrchr(strrchr(words, ' ') - 1, ' ') = '\0';
	assert_int_equal(otp_login_begin(&p, "alice", &L), OTP_LOGIN_OK);
	assert_int_equal(otp_login_finish(&p, &L, words), OTP_LOGIN_REFUSED);
	assert_int_equal(L.why, OTP_ERR_BAD_OTP);
	/* Over-long, with the right response in front. */
	otp_key_to_words(&k, words);
	{
		char big[OTP_RESPONSE_MAX + 64];

		memset(big, ' ', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		memcpy(big, words, strlen(words));
		assert_int_equal(otp_login_begin(&p, "alice", &L), OTP_LOGIN_OK);
		assert_int_equal(otp_login_finish(&p, &L, big), OTP_LOGIN_REFUSED);
		assert_int_equal(L.why, OTP_ERR_BAD_OTP);
	}
	assert_int_equal(seq_of(db), START_SEQ);
	/* A truncated init response: the current OTP is consumed, no re-key (RFC 2243 s4.3). */
	{
		char hex[OTP_HEX_BUFSZ], init[128];

		otp_key_to_hex(&k, hex);
		snprintf(init, sizeof(init), "init-hex:%s:md5 99999999999 ke1235:3712", hex);
		assert_int_equal(otp_login_begin(&p, "alice", &L), OTP_LOGIN_OK);
		assert_int_equal(otp_login_finish(&p, &L, init), OTP_LOGIN_REFUSED);
		assert_int_equal(L.why, OTP_ERR_REINIT);
		assert_int_equal(seq_of(db), START_SEQ - 1);
	}
	/* Hostile user names never reach the store. */
	assert_int_equal(otp_login_begin(&p, "al ice", &L), OTP_LOGIN_REFUSED);
	assert_int_equal(otp_login_begin(&p, "\xc3\xa4lice", &L), OTP_LOGIN_REFUSED);
	assert_int_equal(otp_login_begin(&p, "../../etc/passwd", &L), OTP_LOGIN_REFUSED);
	assert_int_equal(otp_login_begin(&p, "", &L), OTP_LOGIN_REFUSED);
	/* The store still works: the table could have failed. */
	assert_int_equal(otp_compute(OTP_ALG_MD5, START_SEQ - 2, SEED, PASS, strlen(PASS), &k), OTP_OK);
	otp_key_to_words(&k, words);
	assert_int_equal(otp_login_begin(&p, "alice", &L), OTP_LOGIN_OK);
	assert_int_equal(otp_login_finish(&p, &L, words), OTP_LOGIN_OK);
}

/* ---- hostile database files ---------------------------------------------------- */

enum hostile {
	H_RANDOM, H_TRUNCATED, H_EMPTY, H_DIRECTORY, H_SYMLINK, H_FIFO, H_WORLD_WRITABLE,
	H_GROUP_WRITABLE, H_WRONG_OWNER, H_DIR_WORLD_WRITABLE, H_DIR_IS_FILE,
};

static const struct {
	enum hostile kind;
	const char *why;
	enum otp_err want;
	bool root_only;
} hostile[] = {
	{ H_RANDOM, "random bytes", OTP_ERR_DB_CORRUPT, false },
	{ H_TRUNCATED, "a good database cut to 100 bytes", OTP_ERR_DB_CORRUPT, false },
	/* GDBM alone would make this a new, empty store: every key silently lost. */
	{ H_EMPTY, "an empty file", OTP_ERR_DB_CORRUPT, false },
	{ H_DIRECTORY, "a directory", OTP_ERR_DB_PERM, false },
	{ H_SYMLINK, "a symlink to a good database", OTP_ERR_DB_PERM, false },
	{ H_FIFO, "a FIFO (readers used to block opening it)", OTP_ERR_DB_PERM, false },
	{ H_WORLD_WRITABLE, "world-writable", OTP_ERR_DB_PERM, false },
	{ H_GROUP_WRITABLE, "group-writable", OTP_ERR_DB_PERM, false },
	{ H_WRONG_OWNER, "owned by another user", OTP_ERR_DB_PERM, true },
	{ H_DIR_WORLD_WRITABLE, "in a world-writable directory", OTP_ERR_DB_PERM, false },
	{ H_DIR_IS_FILE, "its directory is a file", OTP_ERR_DB_PERM, false },
};

static void copy_file(const char *from, const char *to, size_t max)
{
	unsigned char buf[65536];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;

	assert_non_null(in);
	assert_non_null(out);
	n = fread(buf, 1, max < sizeof(buf) ? max : sizeof(buf), in);
	assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	fclose(out);
	chmod(to, 0600);
}

static void on_alarm(int sig)
{
	(void)sig;
	fail_msg("a hostile database file made the store hang");
}

static void test_hostile_db(void **state)
{
	char good[300], dir[300], db[330];
	struct otp_policy p;
	struct otp_login L;
	struct otp_record rec;
	unsigned char junk[8192];

	(void)state;
	snprintf(good, sizeof(good), "%s/good/otpkeys.db", tmpdir);
	enrol(good);
	signal(SIGALRM, on_alarm);
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		enum otp_err got_get;
		enum otp_login_res got_begin;

		if (hostile[i].root_only && geteuid() != 0) {
			print_message("# skipped (needs root): %s\n", hostile[i].why);
			continue;
		}
		snprintf(dir, sizeof(dir), "%s/h%zu", tmpdir, i);
		snprintf(db, sizeof(db), "%s/otpkeys.db", dir);
		assert_int_equal(mkdir(dir, 0700), 0);
		switch (hostile[i].kind) {
		case H_RANDOM:
			assert_int_equal(otp_random_bytes(junk, sizeof(junk)), OTP_OK);
			{
				FILE *f = fopen(db, "wb");

				assert_non_null(f);
				assert_int_equal(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
				fclose(f);
				chmod(db, 0600);
			}
			break;
		case H_TRUNCATED:
			copy_file(good, db, 100);
			break;
		case H_EMPTY:
			copy_file(good, db, 0);
			break;
		case H_DIRECTORY:
			assert_int_equal(mkdir(db, 0700), 0);
			break;
		case H_SYMLINK:
			assert_int_equal(symlink(good, db), 0);
			break;
		case H_FIFO:
			assert_int_equal(mkfifo(db, 0600), 0);
			break;
		case H_WORLD_WRITABLE:
			copy_file(good, db, SIZE_MAX);
			assert_int_equal(chmod(db, 0606), 0);
			break;
		case H_GROUP_WRITABLE:
			copy_file(good, db, SIZE_MAX);
			assert_int_equal(chmod(db, 0620), 0);
			break;
		case H_WRONG_OWNER:
			copy_file(good, db, SIZE_MAX);
			assert_int_equal(chown(db, 65534, 65534), 0);
			break;
		case H_DIR_WORLD_WRITABLE:
			copy_file(good, db, SIZE_MAX);
			assert_int_equal(chmod(dir, 0777), 0);
			break;
		case H_DIR_IS_FILE:
			assert_int_equal(rmdir(dir), 0);
			copy_file(good, dir, SIZE_MAX);
			break;
		}
		policy(&p, db);
		alarm(10);
		got_get = otp_db_get(db, "alice", 1000, &rec);
		got_begin = otp_login_begin(&p, "alice", &L);
		alarm(0);
		if (got_get != hostile[i].want || L.why != hostile[i].want)
			fail_msg("%s: get %s, login %s; want %s", hostile[i].why, otp_strerror(got_get),
			         otp_strerror(L.why), otp_strerror(hostile[i].want));
		if (got_begin != OTP_LOGIN_UNAVAIL)
			fail_msg("%s: a login began", hostile[i].why);
		chmod(dir, 0700);
	}
	signal(SIGALRM, SIG_DFL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_responses),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_truncated_init),
		cmocka_unit_test(test_absurd_numbers),
		cmocka_unit_test(test_bad_import),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_bad_logins),
		cmocka_unit_test(test_hostile_db),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
