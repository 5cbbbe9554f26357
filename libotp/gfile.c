/* gfile.c - the local store's files: paths, ownership and modes, GDBM access, creation, salvage. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <gdbm.h>

#include "otp.h"
#include "internal.h"
#include "gdbm_store.h"

#define GDBM_OPEN_FLAGS (GDBM_NOLOCK | GDBM_CLOEXEC | GDBM_CLOERROR)
/*
 * A writer writes and syncs through write(2) and fsync(2); a reader reads
 * through GDBM's mapping of the file (no system call per record).  Nothing
 * shortens a base in place, so the mapping never reaches past its end.
 */
#define GDBM_WRITE_FLAGS (GDBM_WRITER | GDBM_NOMMAP)

/* The journal of earlier versions: magic, u16 op, u16 key length, u32 value length, key, value, check. */
#define JNL_MAGIC      "OTPJRNL1"
#define JNL_HDR_LEN    16
#define JNL_OP_STORE   1
#define JNL_OP_DELETE  2
#define JNL_VAL_MAX    4096
#define JNL_MAX        (JNL_HDR_LEN + KEY_MAX + JNL_VAL_MAX + OTP_CHECK_LEN)

/* ---- paths ------------------------------------------------------------------ */

static bool put_path(char *dst, const char *path, const char *suffix)
{
	int n = snprintf(dst, PATH_MAX, "%s%s", path, suffix);

	return n > 0 && n < PATH_MAX;
}

enum otp_err gpaths_make(struct gpaths *p, const char *path)
{
	const char *slash;
	int n;

	memset(p, 0, sizeof(*p));
	if (path == NULL || path[0] == '\0')
		return OTP_ERR_INVALID;
	if (!put_path(p->db, path, "") || !put_path(p->lock, path, ".lock") ||
	    !put_path(p->wal, path, ".wal") || !put_path(p->journal, path, ".journal") ||
	    !put_path(p->newdb, path, ".new"))
		return OTP_ERR_TOO_LONG;
	slash = strrchr(path, '/');
	if (slash == NULL)
		n = snprintf(p->dir, sizeof(p->dir), ".");
	else if (slash == path)
		n = snprintf(p->dir, sizeof(p->dir), "/");
	else
		n = snprintf(p->dir, sizeof(p->dir), "%.*s", (int)(slash - path), path);
	if (n < 0 || (size_t)n >= sizeof(p->dir) || (slash != NULL && slash[1] == '\0'))
		return OTP_ERR_INVALID;
	return OTP_OK;
}

/* ---- ownership, modes, creation ------------------------------------------------ */

/*
 * fstatat(2) without the times, which no check here needs: on Linux 6.13
 * and later a file whose times were asked for gets a finer time at its
 * next write, so every write to the log would change its inode, and
 * fdatasync(2) (on ext4 without a journal) would write the inode as well
 * as the entry: 40 % more per sync, measured.
 */
int gfile_fstatat(int dirfd, const char *path, int flags, struct stat *st)
{
	const unsigned want = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_GID |
	                      STATX_INO | STATX_SIZE;
	struct statx x;

	if (statx(dirfd, path, flags, want, &x) != 0)
		return -1;
	if ((x.stx_mask & want) != want) {
		errno = EIO;
		return -1;
	}
	memset(st, 0, sizeof(*st));
	st->st_dev = makedev(x.stx_dev_major, x.stx_dev_minor);
	st->st_ino = x.stx_ino;
	st->st_mode = x.stx_mode;
	st->st_nlink = x.stx_nlink;
	st->st_uid = x.stx_uid;
	st->st_gid = x.stx_gid;
	st->st_size = (off_t)x.stx_size;
	return 0;
}

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

/* A store file: regular, and safe to hold secrets. */
static bool secret_file_ok(const struct stat *st)
{
	return S_ISREG(st->st_mode) && secret_mode_ok(st);
}

enum otp_err gfile_sync_dir(const char *dir)
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

enum otp_err gfile_check_dir(const char *dir, bool create)
{
	struct stat st;

	if (gfile_fstatat(AT_FDCWD, dir, 0, &st) != 0) {
		if (errno != ENOENT)
			return OTP_ERR_DB_OPEN;
		if (!create)
			return OTP_ERR_DB_MISSING;
		/* Only the last component: we do not invent a whole tree. */
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			return OTP_ERR_DB_OPEN;
		if (gfile_fstatat(AT_FDCWD, dir, 0, &st) != 0)
			return OTP_ERR_DB_OPEN;
		if (S_ISDIR(st.st_mode) && st.st_uid == geteuid() && chmod(dir, 0700) != 0)
			return OTP_ERR_DB_OPEN;
		if (gfile_fstatat(AT_FDCWD, dir, 0, &st) != 0)
			return OTP_ERR_DB_OPEN;
	}
	if (!S_ISDIR(st.st_mode) || !owner_mode_ok(&st))
		return OTP_ERR_DB_PERM;
	return OTP_OK;
}

enum otp_err gfile_open(const char *p, int flags, bool may_create, int *fdp, bool *created)
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
	else if (gfile_fstatat(fd, "", AT_EMPTY_PATH, &st) != 0)
		rc = OTP_ERR_DB_IO;
	else if (!secret_file_ok(&st))
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

enum otp_err gfile_id_of(int fd, struct gfile_id *id)
{
	struct stat st;

	if (gfile_fstatat(fd, "", AT_EMPTY_PATH, &st) != 0)
		return OTP_ERR_DB_OPEN;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return OTP_OK;
}

enum otp_err gfile_still(const struct gfile_id *id, const char *p, size_t min_size)
{
	struct stat at;

	if (gfile_fstatat(AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, &at) != 0)
		return OTP_ERR_DB_OPEN;
	if (at.st_dev != id->dev || at.st_ino != id->ino)
		return OTP_ERR_DB_OPEN;     /* replaced, or removed and made again */
	/* The same file: its mode, owner and size are those of the one open. */
	if (!secret_file_ok(&at))
		return OTP_ERR_DB_PERM;
	/* Shorter than a mapping of it: touching the mapping would kill the process. */
	return (size_t)at.st_size >= min_size ? OTP_OK : OTP_ERR_DB_CORRUPT;
}

/* ---- GDBM ------------------------------------------------------------------------ */

enum otp_err gdb_err(int e)
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

enum otp_err gdb_open(const char *path, bool write, GDBM_FILE *dbf)
{
	struct stat st;
	int fd = -1;
	enum otp_err rc;

	*dbf = NULL;
	if ((rc = gfile_open(path, write ? O_RDWR : O_RDONLY, false, &fd, NULL)) != OTP_OK)
		return rc;
	/* GDBM would quietly turn an empty file into a new, empty database. */
	if (gfile_fstatat(fd, "", AT_EMPTY_PATH, &st) != 0)
		rc = OTP_ERR_DB_IO;
	else if (st.st_size == 0)
		rc = OTP_ERR_DB_CORRUPT;
	if (rc != OTP_OK) {
		close(fd);
		return rc;
	}
	*dbf = gdbm_fd_open(fd, path, 0, (write ? GDBM_WRITE_FLAGS : GDBM_READER) | GDBM_OPEN_FLAGS, NULL);
	if (*dbf == NULL)
		return gdb_err(gdbm_errno);      /* GDBM_CLOERROR: fd is closed */
	return OTP_OK;
}

enum otp_err gdb_fetch(GDBM_FILE dbf, const char *key, size_t keylen, unsigned char *buf,
                       size_t size, size_t *len, bool *found)
{
	datum k = { .dptr = (char *)key, .dsize = (int)keylen };
	datum v;
	enum otp_err rc = OTP_OK;

	*found = false;
	*len = 0;
	v = gdbm_fetch(dbf, k);
	if (v.dptr == NULL) {
		if (gdbm_errno != GDBM_ITEM_NOT_FOUND)
			rc = gdb_err(gdbm_errno);
		return rc;
	}
	*found = true;
	/* A value longer than size still reads as too long, and its head can be checked. */
	*len = v.dsize < 0 ? 0 : (size_t)v.dsize < size ? (size_t)v.dsize : size;
	memcpy(buf, v.dptr, *len);
	otp_wipe(v.dptr, v.dsize > 0 ? (size_t)v.dsize : 0);
	free(v.dptr);
	return rc;
}

enum otp_err gdb_gen(GDBM_FILE dbf, uint64_t *gen)
{
	unsigned char v[9];
	size_t len = 0;
	bool found = false;
	enum otp_err rc = gdb_fetch(dbf, RESERVED_GEN, strlen(RESERVED_GEN), v, sizeof(v), &len, &found);

	*gen = 0;
	if (rc == OTP_OK && found) {
		if (len != 8)
			return OTP_ERR_DB_CORRUPT;
		*gen = otp_get_u64(v);
	}
	return rc;
}

enum otp_err gdb_create(const struct gpaths *p)
{
	GDBM_FILE dbf = NULL;
	int fd = -1;
	enum otp_err rc;

	if (unlink(p->newdb) != 0 && errno != ENOENT)
		return OTP_ERR_DB_OPEN;
	if ((rc = gfile_open(p->newdb, O_RDWR, true, &fd, NULL)) != OTP_OK)
		return rc;
	dbf = gdbm_fd_open(fd, p->newdb, 0, GDBM_NEWDB | GDBM_NOMMAP | GDBM_OPEN_FLAGS, NULL);
	if (dbf == NULL) {
		rc = gdb_err(gdbm_errno);
		goto out;
	}
	if (gdbm_sync(dbf) != 0)
		rc = OTP_ERR_DB_IO;
	if (gdbm_close(dbf) != 0 && rc == OTP_OK)
		rc = OTP_ERR_DB_IO;
	if (rc == OTP_OK && rename(p->newdb, p->db) != 0)
		rc = OTP_ERR_DB_OPEN;
	if (rc == OTP_OK)
		rc = gfile_sync_dir(p->dir);
out:
	if (rc != OTP_OK)
		unlink(p->newdb);
	return rc;
}

enum otp_err gdb_recover(GDBM_FILE dbf, const char *dir)
{
	gdbm_recovery r;
	int fd;
	enum otp_err rc = OTP_OK;

	memset(&r, 0, sizeof(r));
	if (gdbm_recover(dbf, &r, GDBM_RCVR_BACKUP | GDBM_RCVR_FORCE) != 0) {
		rc = OTP_ERR_DB_CORRUPT;
		goto out;
	}
	fd = gdbm_fdesc(dbf);
	if (fd < 0 || fchmod(fd, 0600) != 0 || fsync(fd) != 0 || gfile_sync_dir(dir) != OTP_OK)
		rc = OTP_ERR_DB_IO;
	/* Salvaged, but with entries lost: say so rather than carry on. */
	else if (r.failed_keys != 0 || r.failed_buckets != 0)
		rc = OTP_ERR_DB_CORRUPT;
out:
	free(r.backup_name);
	return rc;
}

/* ---- the journal of earlier versions --------------------------------------------------- */

/* A complete, valid entry is applied to the base; a torn one was never acknowledged. */
static enum otp_err apply_entry(const struct gpaths *p, const unsigned char *j, size_t n)
{
	GDBM_FILE dbf = NULL;
	unsigned op = otp_get_u16(j + 8);
	size_t keylen = otp_get_u16(j + 10), vallen = otp_get_u32(j + 12);
	datum k, v;
	enum otp_err rc;

	if (n < JNL_HDR_LEN + OTP_CHECK_LEN || memcmp(j, JNL_MAGIC, 8) != 0 ||
	    (op != JNL_OP_STORE && op != JNL_OP_DELETE) || keylen == 0 || keylen > KEY_MAX ||
	    vallen > JNL_VAL_MAX || n != JNL_HDR_LEN + keylen + vallen + OTP_CHECK_LEN ||
	    !otp_check_ok(j, n - OTP_CHECK_LEN, j + n - OTP_CHECK_LEN))
		return OTP_OK;
	if ((rc = gdb_open(p->db, true, &dbf)) != OTP_OK)
		return rc;
	k.dptr = (char *)j + JNL_HDR_LEN;
	k.dsize = (int)keylen;
	v.dptr = (char *)j + JNL_HDR_LEN + keylen;
	v.dsize = (int)vallen;
	if (op == JNL_OP_STORE ? gdbm_store(dbf, k, v, GDBM_REPLACE) != 0
	                       : gdbm_delete(dbf, k) != 0 && gdbm_errno != GDBM_ITEM_NOT_FOUND)
		rc = gdb_err(gdbm_errno);
	else if (gdbm_sync(dbf) != 0)
		rc = OTP_ERR_DB_IO;
	if (gdbm_close(dbf) != 0 && rc == OTP_OK)
		rc = OTP_ERR_DB_IO;
	return rc;
}

enum otp_err legacy_journal(const struct gpaths *p)
{
	unsigned char j[JNL_MAX + 1];
	struct stat st;
	ssize_t got;
	int fd = -1;
	enum otp_err rc = gfile_open(p->journal, O_RDONLY, false, &fd, NULL);

	if (rc == OTP_ERR_DB_MISSING)
		return OTP_OK;
	if (rc != OTP_OK)
		return rc;
	if (gfile_fstatat(fd, "", AT_EMPTY_PATH, &st) != 0) {
		rc = OTP_ERR_DB_IO;
		goto out;
	}
	if (st.st_size > 0 && st.st_size <= JNL_MAX) {
		got = pread(fd, j, (size_t)st.st_size, 0);
		if (got != st.st_size) {
			rc = OTP_ERR_DB_IO;
			goto out;
		}
		if ((rc = apply_entry(p, j, (size_t)got)) != OTP_OK)
			goto out;
	}
	if (unlink(p->journal) != 0 || gfile_sync_dir(p->dir) != OTP_OK)
		rc = OTP_ERR_DB_IO;
out:
	close(fd);
	otp_wipe(j, sizeof(j));
	return rc;
}
