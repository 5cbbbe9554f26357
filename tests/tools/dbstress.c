/* dbstress.c - drives the key database for the concurrency, crash and bench scripts. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <gdbm.h>

#include "otp.h"

/*
 * The counter under test lives in the record's failures field: a plain
 * u32 with no range rule of its own, so every value is a valid record.
 */
#define LOCK_MS 60000u

static const char *prog = "dbstress";

static void usage(void)
{
	fprintf(stderr,
	        "usage: %s incr DB USER N       N increments, each acknowledged value on stdout\n"
	        "       %s insert DB PREFIX N   insert users PREFIX0..PREFIX<N-1>, each name on stdout\n"
	        "       %s get DB USER          print the user's counter\n"
	        "       %s dump DB              print \"user counter\" for every user\n"
	        "       %s secret DB            print the host secret in hex\n"
	        "       %s fill DB PREFIX N     store N users straight through GDBM (bench setup)\n"
	        "       %s clone DB USER PREFIX N  copy USER's record to PREFIX0..PREFIX<N-1> (bench setup)\n"
	        "       %s bench DB USER N      time N increments: updates/s and mean latency\n"
	        "       %s fsyncrate DIR N      time N pwrite+fdatasync of one byte in DIR\n",
	        prog, prog, prog, prog, prog, prog, prog, prog, prog);
	exit(2);
}

static void fail(const char *what, enum otp_err e)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, otp_strerror(e));
	exit(1);
}

static unsigned long number(const char *s, unsigned long max)
{
	unsigned long v;

	if (otp_parse_uint(s, 0, max, &v) != OTP_OK) {
		fprintf(stderr, "%s: bad number: %s\n", prog, s);
		exit(2);
	}
	return v;
}

static void new_record(struct otp_record *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->alg = OTP_ALG_MD5;
	rec->seq = 500;
	strcpy(rec->seed, "stress1");
	rec->created = (int64_t)time(NULL);
}

static enum otp_db_action incr_fn(const char *user, struct otp_record *rec, bool exists,
                                  void *arg, enum otp_err *err)
{
	(void)user;
	(void)err;
	if (!exists)
		new_record(rec);
	rec->failures++;
	/* Every byte of the record changes with the counter: a torn write shows. */
	for (size_t i = 0; i < sizeof(rec->last.b); i++)
		rec->last.b[i] = (unsigned char)(rec->failures >> (i % 4 * 8));
	rec->last_failure = (int64_t)(rec->failures * 0x9e3779b9ull);
	rec->last_success = rec->failures;
	*(uint32_t *)arg = rec->failures;
	return OTP_DB_STORE;
}

static enum otp_db_action insert_fn(const char *user, struct otp_record *rec, bool exists,
                                    void *arg, enum otp_err *err)
{
	(void)user;
	(void)arg;
	if (exists) {
		*err = OTP_ERR_EXISTS;
		return OTP_DB_KEEP;
	}
	new_record(rec);
	return OTP_DB_STORE;
}

/* Checks the fields incr_fn ties to the counter. */
static bool consistent(const struct otp_record *rec)
{
	for (size_t i = 0; i < sizeof(rec->last.b); i++)
		if (rec->last.b[i] != (unsigned char)(rec->failures >> (i % 4 * 8)))
			return false;
	return rec->last_failure == (int64_t)(rec->failures * 0x9e3779b9ull) &&
	       rec->last_success == (int64_t)rec->failures;
}

static bool dump_fn(const char *user, const struct otp_record *rec, void *arg)
{
	(void)arg;
	printf("%s %u%s\n", user, (unsigned)rec->failures, consistent(rec) ? "" : " INCONSISTENT");
	return true;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmd_incr(const char *db, const char *user, unsigned long n)
{
	uint32_t v = 0;
	enum otp_err rc;

	/* Line-buffered: an acknowledged value is out before the next update. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (unsigned long i = 0; i < n; i++) {
		if ((rc = otp_db_update(db, user, true, LOCK_MS, incr_fn, &v)) != OTP_OK)
			fail("update", rc);
		printf("%u\n", (unsigned)v);
	}
	return 0;
}

static int cmd_insert(const char *db, const char *prefix, unsigned long n)
{
	char user[OTP_USER_MAX + 1];
	enum otp_err rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (unsigned long i = 0; i < n; i++) {
		int len = snprintf(user, sizeof(user), "%s%lu", prefix, i);

		if (len < 0 || (size_t)len >= sizeof(user))
			fail("user name", OTP_ERR_TOO_LONG);
		if ((rc = otp_db_update(db, user, true, LOCK_MS, insert_fn, NULL)) != OTP_OK)
			fail("insert", rc);
		printf("%s\n", user);
	}
	return 0;
}

static int cmd_get(const char *db, const char *user)
{
	struct otp_record rec;
	enum otp_err rc;

	if ((rc = otp_db_get(db, user, LOCK_MS, &rec)) != OTP_OK)
		fail("get", rc);
	printf("%u%s\n", (unsigned)rec.failures, consistent(&rec) ? "" : " INCONSISTENT");
	return 0;
}

static int cmd_dump(const char *db)
{
	enum otp_err rc;

	if ((rc = otp_db_foreach(db, LOCK_MS, dump_fn, NULL)) != OTP_OK)
		fail("foreach", rc);
	return 0;
}

static int cmd_secret(const char *db)
{
	unsigned char s[32];
	enum otp_err rc;

	if ((rc = otp_db_host_secret(db, LOCK_MS, s)) != OTP_OK)
		fail("host secret", rc);
	for (size_t i = 0; i < sizeof(s); i++)
		printf("%02x", s[i]);
	printf("\n");
	otp_wipe(s, sizeof(s));
	return 0;
}

static int cmd_fill(const char *db, const char *prefix, unsigned long n)
{
	struct otp_record rec;
	unsigned char buf[OTP_REC_V2_SIZE];
	char user[OTP_USER_MAX + 1];
	size_t len;
	GDBM_FILE dbf;
	enum otp_err rc;

	dbf = gdbm_open(db, 0, GDBM_WRCREAT | GDBM_NOLOCK, 0600, NULL);
	if (dbf == NULL) {
		fprintf(stderr, "%s: gdbm_open %s: %s\n", prog, db, gdbm_strerror(gdbm_errno));
		return 1;
	}
	new_record(&rec);
	if ((rc = otp_record_encode(&rec, buf, sizeof(buf), &len)) != OTP_OK)
		fail("encode", rc);
	for (unsigned long i = 0; i < n; i++) {
		int ulen = snprintf(user, sizeof(user), "%s%lu", prefix, i);
		datum k = { user, ulen }, v = { (char *)buf, (int)len };

		if (gdbm_store(dbf, k, v, GDBM_REPLACE) != 0) {
			fprintf(stderr, "%s: gdbm_store: %s\n", prog, gdbm_strerror(gdbm_errno));
			return 1;
		}
	}
	if (gdbm_sync(dbf) != 0 || gdbm_close(dbf) != 0 || chmod(db, 0600) != 0) {
		fprintf(stderr, "%s: closing %s failed\n", prog, db);
		return 1;
	}
	return 0;
}

static int cmd_clone(const char *db, const char *from, const char *prefix, unsigned long n)
{
	GDBM_FILE dbf = gdbm_open(db, 0, GDBM_WRITER | GDBM_NOLOCK, 0600, NULL);
	datum k = { (char *)from, (int)strlen(from) }, v;
	char user[OTP_USER_MAX + 1];

	if (dbf == NULL) {
		fprintf(stderr, "%s: gdbm_open %s: %s\n", prog, db, gdbm_strerror(gdbm_errno));
		return 1;
	}
	v = gdbm_fetch(dbf, k);
	if (v.dptr == NULL) {
		fprintf(stderr, "%s: no user %s\n", prog, from);
		return 1;
	}
	for (unsigned long i = 0; i < n; i++) {
		datum nk = { user, snprintf(user, sizeof(user), "%s%lu", prefix, i) };

		if (gdbm_store(dbf, nk, v, GDBM_REPLACE) != 0) {
			fprintf(stderr, "%s: gdbm_store: %s\n", prog, gdbm_strerror(gdbm_errno));
			return 1;
		}
	}
	free(v.dptr);
	if (gdbm_sync(dbf) != 0 || gdbm_close(dbf) != 0) {
		fprintf(stderr, "%s: closing %s failed\n", prog, db);
		return 1;
	}
	return 0;
}

static int cmd_bench(const char *db, const char *user, unsigned long n)
{
	uint32_t v = 0;
	double t0, t;
	enum otp_err rc;

	/*
	 * One untimed update and a checkpoint first, so that neither creation
	 * nor the first checkpoint (which gives a base made elsewhere its
	 * generation key: a copy of the base) is measured.
	 */
	if ((rc = otp_db_update(db, user, true, LOCK_MS, incr_fn, &v)) != OTP_OK ||
	    (rc = otp_db_flush(db, LOCK_MS)) != OTP_OK)
		fail("update", rc);
	t0 = now_s();
	for (unsigned long i = 0; i < n; i++)
		if ((rc = otp_db_update(db, user, true, LOCK_MS, incr_fn, &v)) != OTP_OK)
			fail("update", rc);
	t = now_s() - t0;
	printf("%.1f %.1f\n", (double)n / t, t / (double)n * 1e6);
	return 0;
}

static int cmd_fsyncrate(const char *dir, unsigned long n)
{
	char path[4096];
	double t0, t;
	int fd;

	if (snprintf(path, sizeof(path), "%s/fsyncrate.tmp", dir) >= (int)sizeof(path))
		return 2;
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		return 1;
	}
	t0 = now_s();
	for (unsigned long i = 0; i < n; i++) {
		unsigned char b = (unsigned char)i;

		if (pwrite(fd, &b, 1, 0) != 1 || fdatasync(fd) != 0) {
			fprintf(stderr, "%s: write/fdatasync: %s\n", prog, strerror(errno));
			return 1;
		}
	}
	t = now_s() - t0;
	close(fd);
	unlink(path);
	printf("%.1f %.1f\n", (double)n / t, t / (double)n * 1e6);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 3)
		usage();
	cmd = argv[1];
	if (strcmp(cmd, "incr") == 0 && argc == 5)
		return cmd_incr(argv[2], argv[3], number(argv[4], 100000000));
	if (strcmp(cmd, "insert") == 0 && argc == 5)
		return cmd_insert(argv[2], argv[3], number(argv[4], 100000000));
	if (strcmp(cmd, "get") == 0 && argc == 4)
		return cmd_get(argv[2], argv[3]);
	if (strcmp(cmd, "dump") == 0 && argc == 3)
		return cmd_dump(argv[2]);
	if (strcmp(cmd, "secret") == 0 && argc == 3)
		return cmd_secret(argv[2]);
	if (strcmp(cmd, "clone") == 0 && argc == 6)
		return cmd_clone(argv[2], argv[3], argv[4], number(argv[5], 100000000));
	if (strcmp(cmd, "fill") == 0 && argc == 5)
		return cmd_fill(argv[2], argv[3], number(argv[4], 100000000));
	if (strcmp(cmd, "bench") == 0 && argc == 5)
		return cmd_bench(argv[2], argv[3], number(argv[4], 100000000));
	if (strcmp(cmd, "fsyncrate") == 0 && argc == 4)
		return cmd_fsyncrate(argv[2], number(argv[3], 100000000));
	usage();
	return 2;
}
