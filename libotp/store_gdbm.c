/* store_gdbm.c - the local store: GDBM as of the last checkpoint, the log since, the shared lock (otpkeys(5)). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <gdbm.h>

#include "otp.h"
#include "internal.h"
#include "store.h"
#include "gdbm_store.h"

#define SYNC_KEY        " sync"     /* the key of entries that only cost a durable write */
static struct gdbm_store *gs(struct otp_store *s)
{
	return (struct gdbm_store *)(void *)s;
}

/* ---- after a boot (gshm_open calls it under the exclusive flock) ------------------ */

/* The log file, whole: preallocated with zeros and on disk, so that writing it never changes its size. */
static enum otp_err wal_prepare(const struct gpaths *p, bool wipe)
{
	static const unsigned char zeros[65536];
	struct stat st;
	bool created = false;
	int fd;
	enum otp_err rc = gfile_open(p->wal, O_RDWR, true, &fd, &created);

	if (rc != OTP_OK)
		return rc;
	if (gfile_fstatat(fd, "", AT_EMPTY_PATH, &st) != 0) {
		rc = OTP_ERR_DB_IO;
		goto out;
	}
	for (off_t off = wipe ? 0 : st.st_size; off < (off_t)WAL_SIZE; off += (off_t)sizeof(zeros))
		if (pwrite(fd, zeros, sizeof(zeros), off) != (ssize_t)sizeof(zeros)) {
			rc = OTP_ERR_DB_IO;
			goto out;
		}
	if (fsync(fd) != 0 || (created && gfile_sync_dir(p->dir) != OTP_OK))
		rc = OTP_ERR_DB_IO;
out:
	close(fd);
	return rc;
}

/* A new, empty base whose log is empty too: nothing of an earlier store at this path survives. */
static enum otp_err fresh_base(const struct gpaths *p)
{
	enum otp_err rc;

	if ((rc = wal_prepare(p, true)) != OTP_OK)
		return rc;
	return gdb_create(p);
}

static enum otp_err boot_recover(struct gshm *m, void *arg)
{
	struct gdbm_store *g = arg;
	struct gwal w = { .fd = -1, .buf = NULL };
	struct stat st;
	GDBM_FILE dbf = NULL;
	uint64_t gen = 0, head;
	enum otp_err rc;

	if (unlink(g->p.newdb) != 0 && errno != ENOENT)     /* a checkpoint that never finished */
		return OTP_ERR_DB_IO;
	if (gfile_fstatat(AT_FDCWD, g->p.db, AT_SYMLINK_NOFOLLOW, &st) != 0) {
		if (errno != ENOENT)
			return OTP_ERR_DB_OPEN;
		if (!g->create)
			return OTP_ERR_DB_MISSING;
		if ((rc = fresh_base(&g->p)) != OTP_OK)
			return rc;
	}
	if ((rc = legacy_journal(&g->p)) != OTP_OK || (rc = wal_prepare(&g->p, false)) != OTP_OK)
		return rc;
	if ((rc = gdb_open(g->p.db, false, &dbf)) != OTP_OK)
		return rc;
	rc = gdb_gen(dbf, &gen);
	gdbm_close(dbf);
	if (rc != OTP_OK || (rc = gwal_open(&w, &g->p)) != OTP_OK)
		return rc;
	/* What the log holds whole is what the disk kept: all of it durable. */
	head = gen << 32 | gwal_recover(&w, gen);
	gwal_close(&w);
	__atomic_store_n(&m->h->head, head, __ATOMIC_RELEASE);
	__atomic_store_n(&m->h->synced, head, __ATOMIC_RELEASE);
	return OTP_OK;
}

/* ---- the lock, and the base as of the current generation ---------------------------- */

enum otp_err gdbm_reader(struct gdbm_store *g)
{
	enum otp_err rc;

	if (g->dbf != NULL)
		gdbm_close(g->dbf);
	g->dbf_gen = GEN(g->head);
	g->dbf_base = __atomic_load_n(&g->m.h->base_id, __ATOMIC_ACQUIRE);
	if ((rc = gdb_open(g->p.db, false, &g->dbf)) != OTP_OK)
		g->dbf = NULL;
	else if ((rc = gfile_id_of(gdbm_fdesc(g->dbf), &g->dbf_id)) != OTP_OK) {
		gdbm_close(g->dbf);
		g->dbf = NULL;
	}
	return rc;
}

void gdbm_base_changes(struct gdbm_store *g)
{
	__atomic_add_fetch(&g->m.h->base_id, 1, __ATOMIC_ACQ_REL);
}

static enum otp_err enter(struct gdbm_store *g)
{
	enum otp_err rc = gshm_lock(&g->m, g->base.lock_ms);

	if (rc != OTP_OK)
		return rc;
	g->head = __atomic_load_n(&g->m.h->head, __ATOMIC_ACQUIRE);
	/*
	 * A checkpoint, finished or not (its process killed), or a repair
	 * changed the base since we opened it: open it again.
	 */
	if (g->dbf == NULL || g->dbf_gen != GEN(g->head) ||
	    g->dbf_base != __atomic_load_n(&g->m.h->base_id, __ATOMIC_ACQUIRE))
		rc = gdbm_reader(g);
	if (rc != OTP_OK)
		gshm_unlock(&g->m);
	return rc;
}

static void leave(struct gdbm_store *g)
{
	gshm_unlock(&g->m);
}

/* After leave: the log made durable up to mark, then, the lock free, the base written ahead. */
static enum otp_err durable(struct gdbm_store *g, uint64_t mark)
{
	enum otp_err rc;

	if ((rc = gwal_durable(&g->w, &g->m, mark, g->base.lock_ms)) == OTP_OK)
		gckpt_ahead(g);
	return rc;
}

/* GDBM found its own structure damaged: its salvage, then the log still holds what is newer. */
static enum otp_err repair(struct gdbm_store *g)
{
	GDBM_FILE w = NULL;
	enum otp_err rc;

	gdbm_close(g->dbf);
	g->dbf = NULL;
	if ((rc = gshm_base_lock(&g->m, g->base.lock_ms)) != OTP_OK)
		return rc;
	gdbm_base_changes(g);
	if ((rc = gdb_open(g->p.db, true, &w)) == OTP_OK) {
		rc = gdb_recover(w, g->p.dir);
		gdbm_close(w);
	}
	gshm_base_unlock(&g->m);
	if (rc == OTP_OK)
		rc = gdbm_reader(g);
	return rc;
}

/* key's value under the lock: the log's latest entry, else the base's. */
static enum otp_err read_key(struct gdbm_store *g, const char *key, unsigned char *buf,
                             size_t size, size_t *len, bool *found, bool *in_log)
{
	size_t keylen = strlen(key);
	struct wal_ref ref;
	enum otp_err rc;

	*len = 0;
	*found = false;
	*in_log = false;
	if ((rc = gwal_find(&g->w, GEN(g->head), END(g->head), key, keylen, &ref, in_log)) != OTP_OK)
		return rc;
	if (*in_log) {
		if (ref.type == WAL_STORE) {
			*found = true;
			*len = ref.vallen < size ? ref.vallen : size;
			memcpy(buf, ref.val, *len);
		}
		return OTP_OK;
	}
	rc = gdb_fetch(g->dbf, key, keylen, buf, size, len, found);
	if (rc == OTP_ERR_DB_CORRUPT && gdbm_needs_recovery(g->dbf) && (rc = repair(g)) == OTP_OK)
		rc = gdb_fetch(g->dbf, key, keylen, buf, size, len, found);
	if (rc != OTP_OK)
		g->suspect = true;
	return rc;
}

/* The work of checking n bytes (at most a record's entry), where there are none to check. */
static void check_cost(size_t n)
{
	unsigned char buf[KEY_MAX + OTP_REC_MAX_SIZE + 32], sum[OTP_CHECK_LEN];

	if (n > sizeof(buf))
		n = sizeof(buf);
	memset(buf, 0, n);
	(void)otp_check_sum(buf, n, sum);
}

/*
 * A record read costs the same wherever it lies, and when there is none:
 * a record found in the log is checked twice (its entry, then itself),
 * so one found in the base, and a user who has no record, pay for the
 * checks they were spared.  An observer timing logins cannot tell an
 * enrolled user from an unknown name, nor a user who logged in lately.
 */
static enum otp_err read_record(struct gdbm_store *g, const char *user, struct otp_record *rec,
                                bool *exists)
{
	unsigned char buf[OTP_REC_MAX_SIZE + 1];
	size_t len = 0;
	bool in_log = false;
	enum otp_err rc;

	memset(rec, 0, sizeof(*rec));
	rc = read_key(g, user, buf, sizeof(buf), &len, exists, &in_log);
	if (rc == OTP_OK && !in_log)
		check_cost(gwal_size(strlen(user), *exists ? len : OTP_REC_V2_SIZE) - OTP_CHECK_LEN);
	if (rc == OTP_OK && *exists)
		rc = otp_record_decode(buf, len, rec);
	else if (rc == OTP_OK)
		check_cost(OTP_REC_V2_SIZE);
	otp_wipe(buf, sizeof(buf));
	return rc;
}

/* Under the lock: one entry at the log's end (after a checkpoint when it is full); *mark to wait for. */
static enum otp_err append(struct gdbm_store *g, enum wal_type type, const char *key,
                           const unsigned char *val, size_t vallen, uint64_t *mark)
{
	size_t keylen = strlen(key), n = gwal_size(keylen, vallen);
	enum otp_err rc;

	if (END(g->head) + n > WAL_CHECKPOINT && (rc = gckpt_run(g)) != OTP_OK)
		return rc;
	rc = gwal_append(&g->w, GEN(g->head), END(g->head), type, key, keylen, val, vallen);
	if (rc != OTP_OK)
		return rc;
	g->head += n;
	/* The entry counts from here on, for every process: it is whole. */
	__atomic_store_n(&g->m.h->head, g->head, __ATOMIC_RELEASE);
	*mark = g->head;
	return OTP_OK;
}

/*
 * A login that changes nothing writes an entry of no effect, after a
 * record's encoding's cost, and about as long as a record without a token
 * under a short name (its key padded to the longest): the same sync, the
 * same checks, the same share of the log, so checkpoints as often.
 */
static enum otp_err append_noop(struct gdbm_store *g, uint64_t *mark)
{
	char key[KEY_MAX + 1];
	size_t n = strlen(SYNC_KEY);

	memcpy(key, SYNC_KEY, n);
	memset(key + n, '.', KEY_MAX - n);
	key[KEY_MAX] = '\0';
	check_cost(OTP_REC_V2_SIZE);
	return append(g, WAL_NOOP, key, NULL, 0, mark);
}

/* ---- the store interface ---------------------------------------------------------------- */

static enum otp_err g_txn(struct otp_store *s, const char *user, unsigned flags,
                          otp_txn_fn fn, void *arg)
{
	struct gdbm_store *g = gs(s);
	struct otp_txn t;
	unsigned char buf[OTP_REC_MAX_SIZE];
	size_t len = 0;
	uint64_t mark = 0;
	enum otp_db_action act;
	enum otp_err cberr = OTP_OK;
	enum otp_err rc;

	(void)flags;
	memset(&t, 0, sizeof(t));
	memset(buf, 0, sizeof(buf));
	t.user = user;
	if ((rc = otp_user_check(user)) != OTP_OK)
		return rc;
	if ((rc = enter(g)) != OTP_OK)
		return rc;
	if ((rc = read_record(g, user, &t.rec, &t.exists)) != OTP_OK)
		goto out;
	gshm_marks_get(&g->m, user, &t.marks);
	act = fn(&t, arg, &cberr);
	if ((rc = cberr) != OTP_OK)
		goto out;
	switch (act) {
	case OTP_DB_STORE:
		if ((rc = otp_record_encode(&t.rec, buf, sizeof(buf), &len)) == OTP_OK)
			rc = append(g, WAL_STORE, user, buf, len, &mark);
		break;
	case OTP_DB_DELETE:
		if (t.exists)
			rc = append(g, WAL_DELETE, user, NULL, 0, &mark);
		break;
	case OTP_DB_KEEP:
		break;
	default:
		rc = OTP_ERR_INVALID;
		break;
	}
	/* As much as a login's write costs, for a login that changes nothing. */
	if (rc == OTP_OK && mark == 0 && t.sync)
		rc = append_noop(g, &mark);
	if (rc == OTP_OK && t.marks_changed)
		gshm_marks_put(&g->m, user, &t.marks, otp_now());
out:
	leave(g);
	/* The lock is free while we wait for the disk: the others' entries share our sync. */
	if (rc == OTP_OK && mark != 0)
		rc = durable(g, mark);
	otp_wipe(&t, sizeof(t));
	otp_wipe(buf, sizeof(buf));
	return rc;
}

static enum otp_err g_get(struct otp_store *s, const char *user, struct otp_record *rec)
{
	struct gdbm_store *g = gs(s);
	bool exists = false;
	enum otp_err rc;

	memset(rec, 0, sizeof(*rec));
	if ((rc = otp_user_check(user)) != OTP_OK)
		return rc;
	if ((rc = enter(g)) != OTP_OK)
		return rc;
	rc = read_record(g, user, rec, &exists);
	leave(g);
	if (rc == OTP_OK && !exists)
		rc = OTP_ERR_NOUSER;
	if (rc != OTP_OK)
		otp_wipe(rec, sizeof(*rec));
	return rc;
}

/* One user's record to fn; a name or record that fails its checks is kept in *bad and skipped. */
static bool visit(const char *key, size_t keylen, const unsigned char *val, size_t vallen,
                  otp_db_each_fn fn, void *arg, enum otp_err *bad)
{
	char user[OTP_USER_MAX + 1];
	struct otp_record rec;
	enum otp_err e = OTP_ERR_DB_CORRUPT;
	bool go = true;

	if (keylen > 0 && key[0] == ' ')
		return true;        /* the reserved entries */
	if (keylen <= OTP_USER_MAX) {
		memcpy(user, key, keylen);
		user[keylen] = '\0';
		if (otp_user_check(user) == OTP_OK && (e = otp_record_decode(val, vallen, &rec)) == OTP_OK)
			go = fn(user, &rec, arg);
	}
	if (e != OTP_OK && *bad == OTP_OK)
		*bad = e;
	otp_wipe(&rec, sizeof(rec));
	return go;
}

static enum otp_err g_foreach(struct otp_store *s, otp_db_each_fn fn, void *arg)
{
	struct gdbm_store *g = gs(s);
	struct ents e = { 0 };
	datum key, next;
	bool go = true;
	enum otp_err rc, bad = OTP_OK;

	if ((rc = enter(g)) != OTP_OK)
		return rc;
	if ((rc = gckpt_collect(g, 0, &e)) != OTP_OK)
		goto out;
	/* The base's users the log does not change, then the log's latest. */
	for (key = gdbm_firstkey(g->dbf); key.dptr != NULL; key = next) {
		size_t kl = key.dsize > 0 ? (size_t)key.dsize : 0;

		if (go && !gckpt_has(&e, key.dptr, kl)) {
			datum v = gdbm_fetch(g->dbf, key);

			if (v.dptr == NULL)
				bad = bad == OTP_OK ? gdb_err(gdbm_errno) : bad;
			else
				go = visit(key.dptr, kl, (const unsigned char *)v.dptr, (size_t)v.dsize, fn,
				           arg, &bad);
			if (v.dptr != NULL) {
				otp_wipe(v.dptr, (size_t)v.dsize);
				free(v.dptr);
			}
		}
		next = go ? gdbm_nextkey(g->dbf, key) : (datum){ NULL, 0 };
		free(key.dptr);
	}
	if (go && gdbm_needs_recovery(g->dbf))
		rc = OTP_ERR_DB_CORRUPT;
	for (size_t i = 0; i < e.n && go && rc == OTP_OK; i++)
		if (e.v[i].ref.type == WAL_STORE)
			go = visit(e.v[i].key, e.v[i].keylen, e.v[i].ref.val, e.v[i].ref.vallen, fn, arg,
			           &bad);
out:
	leave(g);
	free(e.v);
	if (rc != OTP_OK || bad != OTP_OK)
		g->suspect = true;
	return rc == OTP_OK ? bad : rc;
}

static bool meta_key(const char *name, char *key, size_t size)
{
	int n = snprintf(key, size, " %s", name);

	return n > 1 && (size_t)n < size;
}

static enum otp_err g_meta_get(struct otp_store *s, const char *name, unsigned char *buf,
                               size_t size, size_t *len)
{
	struct gdbm_store *g = gs(s);
	char key[64];
	bool found = false, in_log = false;
	enum otp_err rc;

	*len = 0;
	if (!meta_key(name, key, sizeof(key)))
		return OTP_ERR_INVALID;
	if ((rc = enter(g)) != OTP_OK)
		return rc;
	rc = read_key(g, key, buf, size, len, &found, &in_log);
	leave(g);
	if (rc == OTP_OK && !found)
		rc = OTP_ERR_NOUSER;
	return rc;
}

static enum otp_err g_meta_put(struct otp_store *s, const char *name, const unsigned char *val,
                               size_t len, bool create_only)
{
	struct gdbm_store *g = gs(s);
	unsigned char old[16];
	char key[64];
	size_t olen = 0;
	uint64_t mark = 0;
	bool found = false, in_log = false;
	enum otp_err rc;

	if (!meta_key(name, key, sizeof(key)) || len > OTP_META_MAX)
		return OTP_ERR_INVALID;
	if ((rc = enter(g)) != OTP_OK)
		return rc;
	if (create_only && (rc = read_key(g, key, old, sizeof(old), &olen, &found, &in_log)) == OTP_OK && found)
		rc = OTP_ERR_EXISTS;
	if (rc == OTP_OK)
		rc = append(g, WAL_STORE, key, val, len, &mark);
	leave(g);
	otp_wipe(old, sizeof(old));
	if (rc == OTP_OK)
		rc = durable(g, mark);
	return rc;
}

static enum otp_err g_flush(struct otp_store *s)
{
	struct gdbm_store *g = gs(s);
	enum otp_err rc;

	if ((rc = enter(g)) != OTP_OK)
		return rc;
	rc = gckpt_run(g);
	leave(g);
	return rc;
}

static void g_free(struct gdbm_store *g)
{
	if (g->dbf != NULL)
		gdbm_close(g->dbf);
	gwal_close(&g->w);
	gshm_close(&g->m);
	otp_wipe(g, sizeof(*g));
	free(g);
}

/*
 * ---- one store kept open between the calls of a process -----------------------------
 *
 * A process that runs many logins (a daemon: pam_otp.so is never unloaded)
 * keeps the last store it closed open, with no lock held (not even the
 * shared flock, so a rebuild after a reboot never waits for it) and its
 * copy of the log wiped; the next open of the same path takes it back once
 * its files are still the ones at the path and still safe, and the shared
 * state still for this boot.  A child forked meanwhile never has it.
 */
static pthread_mutex_t park_mx = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t park_once = PTHREAD_ONCE_INIT;
static struct gdbm_store *parked;

static void park_prepare(void)
{
	pthread_mutex_lock(&park_mx);
}

static void park_parent(void)
{
	pthread_mutex_unlock(&park_mx);
}

static void park_child(void)
{
	struct gdbm_store *g = parked;

	parked = NULL;
	pthread_mutex_unlock(&park_mx);
	if (g != NULL)
		g_free(g);
}

static void park_init(void)
{
	(void)pthread_atfork(park_prepare, park_parent, park_child);
}

static bool still_ours(struct gdbm_store *g)
{
	return g->euid == geteuid() && flock(g->m.fd, LOCK_SH | LOCK_NB) == 0 &&
	       gfile_check_dir(g->p.dir, false) == OTP_OK &&
	       gfile_still(&g->lock_id, g->p.lock, SHM_SIZE) == OTP_OK &&
	       gfile_still(&g->wal_id, g->p.wal, WAL_SIZE) == OTP_OK &&
	       (g->dbf == NULL || gfile_still(&g->dbf_id, g->p.db, 1) == OTP_OK) &&
	       gshm_current(&g->m);
}

/* The parked store, no longer parked (NULL if none). */
static struct gdbm_store *take_parked(void)
{
	struct gdbm_store *g;

	pthread_mutex_lock(&park_mx);
	g = parked;
	parked = NULL;
	pthread_mutex_unlock(&park_mx);
	return g;
}

/* The parked store for the base at path, if it is still good to use (any other is closed). */
static struct gdbm_store *unpark(const char *path)
{
	struct gdbm_store *g = take_parked();

	if (g != NULL && (strcmp(g->p.db, path) != 0 || !still_ours(g))) {
		g_free(g);
		g = NULL;
	}
	return g;
}

void otp_gdbm_release(void)
{
	struct gdbm_store *g = take_parked();

	if (g != NULL)
		g_free(g);
}

static void g_close(struct otp_store *s)
{
	struct gdbm_store *g = gs(s);

	if (!g->create && !g->suspect && pthread_once(&park_once, park_init) == 0) {
		pthread_mutex_lock(&park_mx);
		if (parked == NULL && flock(g->m.fd, LOCK_UN) == 0) {
			parked = g;
			g = NULL;
		}
		pthread_mutex_unlock(&park_mx);
	}
	if (g != NULL)
		g_free(g);
}

static const struct otp_store_ops gdbm_ops = {
	.txn = g_txn,
	.get = g_get,
	.foreach = g_foreach,
	.meta_get = g_meta_get,
	.meta_put = g_meta_put,
	.flush = g_flush,
	.close = g_close,
};

enum otp_err otp_gdbm_open(const char *path, unsigned lock_ms, bool create,
                           struct otp_store **out)
{
	struct gdbm_store *g, *k;
	struct stat st;
	enum otp_err rc;

	*out = NULL;
	/* The store is there and good (create would change nothing): the one kept open. */
	if (path != NULL && (k = unpark(path)) != NULL) {
		k->base.lock_ms = lock_ms;
		*out = &k->base;
		return OTP_OK;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return OTP_ERR_NOMEM;
	g->base.ops = &gdbm_ops;
	g->base.lock_ms = lock_ms;
	g->create = create;
	g->euid = geteuid();
	g->m.fd = g->w.fd = -1;
	if ((rc = gpaths_make(&g->p, path)) != OTP_OK)
		goto out;
	if ((rc = gfile_check_dir(g->p.dir, create)) != OTP_OK)
		goto out;
	/* Nothing is made beside a base that is not there, unless asked to. */
	if (!create && gfile_fstatat(AT_FDCWD, g->p.db, AT_SYMLINK_NOFOLLOW, &st) != 0) {
		rc = errno == ENOENT ? OTP_ERR_DB_MISSING : OTP_ERR_DB_OPEN;
		goto out;
	}
	if ((rc = gshm_open(&g->m, &g->p, lock_ms, boot_recover, g)) != OTP_OK ||
	    (rc = gwal_open(&g->w, &g->p)) != OTP_OK ||
	    (rc = gfile_id_of(g->m.fd, &g->lock_id)) != OTP_OK ||
	    (rc = gfile_id_of(g->w.fd, &g->wal_id)) != OTP_OK)
		goto out;
	*out = &g->base;
out:
	if (rc != OTP_OK)
		g_free(g);
	return rc;
}
