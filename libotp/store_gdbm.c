/* store_gdbm.c - the local store: one GDBM file, its lock, journalled durable updates, recovery (otpkeys(5)). */
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
#include "store.h"

/* Journal entry: magic, u16 op, u16 key length, u32 value length, key, value, check. */
#define JNL_MAGIC          "OTPJRNL1"
#define JNL_MAGIC_LEN      8
#define JNL_HDR_LEN        16
#define JNL_OP_STORE       1
#define JNL_OP_DELETE      2
#define JNL_KEY_MAX        255
#define JNL_VAL_MAX        4096
#define JNL_MAX            (JNL_HDR_LEN + JNL_KEY_MAX + JNL_VAL_MAX + OTP_CHECK_LEN)

/*
 * Reserved entries: keys starting with a space, which no user name has.
 * " NAME" holds the store-wide value NAME (" host-secret", " profile"),
 * " m:USER" a user's outstanding challenges, " sync" nothing of meaning:
 * it is rewritten when a transaction must cost a durable write.
 */
#define MARKS_PREFIX       " m:"
#define SYNC_KEY           " sync"

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

/* ---- user names and paths ------------------------------------------------ */

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

/* A file that holds secrets: as above, and readable by nobody else either. */
static bool secret_mode_ok(const struct stat *st)
{
	return owner_mode_ok(st) && (st->st_mode & (S_IRGRP | S_IROTH)) == 0;
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
	else if (!S_ISREG(st.st_mode) || !secret_mode_ok(&st))
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
	if ((size_t)got != n || n < JNL_HDR_LEN + OTP_CHECK_LEN ||
	    memcmp(j, JNL_MAGIC, JNL_MAGIC_LEN) != 0)
		goto discard;
	op = otp_get_u16(j + 8);
	keylen = otp_get_u16(j + 10);
	vallen = otp_get_u32(j + 12);
	if ((op != JNL_OP_STORE && op != JNL_OP_DELETE) || keylen == 0 ||
	    keylen > JNL_KEY_MAX || vallen > JNL_VAL_MAX ||
	    (op == JNL_OP_DELETE && vallen != 0) ||
	    n != JNL_HDR_LEN + keylen + vallen + OTP_CHECK_LEN ||
	    !otp_check_ok(j, n - OTP_CHECK_LEN, j + n - OTP_CHECK_LEN))
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
	size_t n = JNL_HDR_LEN + keylen + vallen + OTP_CHECK_LEN;
	enum otp_err rc;

	if (keylen == 0 || keylen > JNL_KEY_MAX || vallen > JNL_VAL_MAX)
		return OTP_ERR_INVALID;
	memcpy(j, JNL_MAGIC, JNL_MAGIC_LEN);
	otp_put_u16(j + 8, (uint16_t)op);
	otp_put_u16(j + 10, (uint16_t)keylen);
	otp_put_u32(j + 12, (uint32_t)vallen);
	memcpy(j + JNL_HDR_LEN, key, keylen);
	if (vallen > 0)
		memcpy(j + JNL_HDR_LEN + keylen, val, vallen);
	if ((rc = otp_check_sum(j, n - OTP_CHECK_LEN, j + n - OTP_CHECK_LEN)) != OTP_OK)
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
	if ((rc = make_paths(db, path)) != OTP_OK)
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

/* ---- the store interface ------------------------------------------------------ */

struct gdbm_store {
	struct otp_store base;
	char path[PATH_MAX];
	bool create;
};

static struct gdbm_store *gs(struct otp_store *s)
{
	return (struct gdbm_store *)(void *)s;
}

/* The reserved key for user's marks, or for a store-wide value; false if it does not fit. */
static bool reserved_key(const char *prefix, const char *name, char *key, size_t size)
{
	int n = snprintf(key, size, "%s%s", prefix, name);

	return n > 0 && (size_t)n < size && (size_t)n <= JNL_KEY_MAX;
}

static enum otp_err read_marks(struct db *db, const char *user, struct otp_marks *m)
{
	unsigned char buf[OTP_MARKS_BUFSZ + 1];
	char key[OTP_USER_MAX + 8];
	size_t len = 0;
	bool found = false;
	enum otp_err rc;

	memset(m, 0, sizeof(*m));
	if (!reserved_key(MARKS_PREFIX, user, key, sizeof(key)))
		return OTP_ERR_INVALID;
	rc = fetch(db, key, strlen(key), buf, sizeof(buf), &len, &found);
	if (rc == OTP_OK && found)
		otp_marks_decode(buf, len, m);
	return rc;
}

static enum otp_err write_marks(struct db *db, const char *user, const struct otp_marks *m)
{
	unsigned char buf[OTP_MARKS_BUFSZ];
	char key[OTP_USER_MAX + 8];
	size_t len;

	if (!reserved_key(MARKS_PREFIX, user, key, sizeof(key)))
		return OTP_ERR_INVALID;
	if (m->n == 0)
		return commit(db, JNL_OP_DELETE, key, strlen(key), NULL, 0);
	if ((len = otp_marks_encode(m, buf)) == 0)
		return OTP_ERR_CRYPTO;
	return commit(db, JNL_OP_STORE, key, strlen(key), buf, len);
}

static enum otp_err g_txn(struct otp_store *s, const char *user, unsigned flags,
                          otp_txn_fn fn, void *arg)
{
	struct otp_txn t;
	struct db db;
	unsigned char buf[OTP_REC_MAX_SIZE];
	size_t len = 0;
	bool wrote = false;
	enum otp_db_action act;
	enum otp_err cberr = OTP_OK;
	enum otp_err rc;

	db_init(&db);
	memset(&t, 0, sizeof(t));
	memset(buf, 0, sizeof(buf));
	t.user = user;
	if ((rc = otp_user_check(user)) != OTP_OK)
		goto out;
	rc = db_open(&db, gs(s)->path, true, gs(s)->create || (flags & OTP_TXN_CREATE), s->lock_ms);
	if (rc != OTP_OK)
		goto out;
	rc = read_record(&db, user, &t.rec, &t.exists);
	if (needs_repair(&db, rc) && (rc = recover(&db)) == OTP_OK &&
	    (rc = journal_replay(&db)) == OTP_OK)
		rc = read_record(&db, user, &t.rec, &t.exists);
	if (rc == OTP_OK && (flags & OTP_TXN_MARKS))
		rc = read_marks(&db, user, &t.marks);
	if (rc != OTP_OK)
		goto out;

	act = fn(&t, arg, &cberr);
	if (cberr != OTP_OK) {
		rc = cberr;
		goto out;
	}
	switch (act) {
	case OTP_DB_KEEP:
		break;
	case OTP_DB_STORE:
		if ((rc = otp_record_encode(&t.rec, buf, sizeof(buf), &len)) == OTP_OK)
			rc = commit(&db, JNL_OP_STORE, user, strlen(user), buf, len);
		wrote = true;
		break;
	case OTP_DB_DELETE:
		if (t.exists)
			rc = commit(&db, JNL_OP_DELETE, user, strlen(user), NULL, 0);
		wrote = t.exists;
		break;
	default:
		rc = OTP_ERR_INVALID;
		break;
	}
	if (rc == OTP_OK && (flags & OTP_TXN_MARKS) && t.marks_changed)
		rc = write_marks(&db, user, &t.marks);
	if (rc == OTP_OK && t.sync && !wrote) {
		static const unsigned char nothing[8] = "OTPSYNC1";

		rc = commit(&db, JNL_OP_STORE, SYNC_KEY, strlen(SYNC_KEY), nothing, sizeof(nothing));
	}
out:
	db_close(&db);
	otp_wipe(&t, sizeof(t));
	otp_wipe(buf, sizeof(buf));
	return rc;
}

static enum otp_err g_get(struct otp_store *s, const char *user, struct otp_record *rec)
{
	const char *path = gs(s)->path;
	struct db db;
	bool exists = false;
	enum otp_err rc;

	db_init(&db);
	memset(rec, 0, sizeof(*rec));
	if ((rc = otp_user_check(user)) != OTP_OK)
		goto out;
	if ((rc = db_open(&db, path, false, false, s->lock_ms)) != OTP_OK)
		goto out;
	rc = read_record(&db, user, rec, &exists);
	if (needs_repair(&db, rc) && (rc = reopen_for_repair(&db, path, s->lock_ms)) == OTP_OK)
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
static enum otp_err g_foreach(struct otp_store *s, otp_db_each_fn fn, void *arg)
{
	const char *path = gs(s)->path;
	unsigned lock_ms = s->lock_ms;
	struct db db;
	unsigned visited = 0;
	enum otp_err rc, bad = OTP_OK;

	db_init(&db);
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


static enum otp_err g_meta_get(struct otp_store *s, const char *name, unsigned char *buf,
                               size_t size, size_t *len)
{
	char key[64];
	struct db db;
	bool found = false;
	enum otp_err rc;

	db_init(&db);
	*len = 0;
	if (!reserved_key(" ", name, key, sizeof(key)))
		return OTP_ERR_INVALID;
	if ((rc = db_open(&db, gs(s)->path, false, false, s->lock_ms)) == OTP_OK)
		rc = fetch(&db, key, strlen(key), buf, size, len, &found);
	db_close(&db);
	if (rc == OTP_OK && !found)
		rc = OTP_ERR_NOUSER;
	return rc;
}

static enum otp_err g_meta_put(struct otp_store *s, const char *name, const unsigned char *val,
                               size_t len, bool create_only)
{
	unsigned char old[16];
	char key[64];
	struct db db;
	size_t olen = 0;
	bool found = false;
	enum otp_err rc;

	db_init(&db);
	if (!reserved_key(" ", name, key, sizeof(key)) || len > JNL_VAL_MAX)
		return OTP_ERR_INVALID;
	if ((rc = db_open(&db, gs(s)->path, true, gs(s)->create, s->lock_ms)) != OTP_OK)
		goto out;
	if (create_only) {
		rc = fetch(&db, key, strlen(key), old, sizeof(old), &olen, &found);
		otp_wipe(old, sizeof(old));
		if (rc == OTP_OK && found)
			rc = OTP_ERR_EXISTS;
		if (rc != OTP_OK)
			goto out;
	}
	rc = commit(&db, JNL_OP_STORE, key, strlen(key), val, len);
out:
	db_close(&db);
	return rc;
}

static void g_close(struct otp_store *s)
{
	otp_wipe(s, sizeof(struct gdbm_store));
	free(s);
}

static const struct otp_store_ops gdbm_ops = {
	.txn = g_txn,
	.get = g_get,
	.foreach = g_foreach,
	.meta_get = g_meta_get,
	.meta_put = g_meta_put,
	.close = g_close,
};

enum otp_err otp_gdbm_open(const char *path, unsigned lock_ms, bool create,
                           struct otp_store **out)
{
	struct gdbm_store *g;
	int n;

	*out = NULL;
	if (path == NULL || path[0] == '\0')
		return OTP_ERR_INVALID;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return OTP_ERR_NOMEM;
	n = snprintf(g->path, sizeof(g->path), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(g->path)) {
		free(g);
		return OTP_ERR_TOO_LONG;
	}
	g->base.ops = &gdbm_ops;
	g->base.lock_ms = lock_ms;
	g->create = create;
	*out = &g->base;
	return OTP_OK;
}
