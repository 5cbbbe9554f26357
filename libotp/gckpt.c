/* gckpt.c - the local store's checkpoints: the log's latest entries written into the GDBM base (otpkeys(5)). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gdbm.h>

#include "otp.h"
#include "internal.h"
#include "store.h"
#include "gdbm_store.h"

struct collect {
	struct ents *e;
	size_t from;
};

static bool collect_cb(const char *key, size_t keylen, const struct wal_ref *ref, void *arg)
{
	struct collect *c = arg;
	struct ents *e = c->e;

	if (ref->type == WAL_NOOP || ref->off < c->from)
		return true;
	if (e->n == e->cap) {
		size_t cap = e->cap ? 2 * e->cap : 64;
		struct ent *v = realloc(e->v, cap * sizeof(*v));

		if (v == NULL) {
			e->nomem = true;
			return false;
		}
		e->v = v;
		e->cap = cap;
	}
	e->v[e->n].key = key;
	e->v[e->n].keylen = keylen;
	e->v[e->n].ref = *ref;
	e->n++;
	return true;
}

enum otp_err gckpt_collect(struct gdbm_store *g, size_t from, struct ents *e)
{
	struct collect c = { .e = e, .from = from };
	enum otp_err rc;

	memset(e, 0, sizeof(*e));
	rc = gwal_latest(&g->w, GEN(g->head), END(g->head), collect_cb, &c);
	return rc == OTP_OK && e->nomem ? OTP_ERR_NOMEM : rc;
}

bool gckpt_has(const struct ents *e, const char *key, size_t keylen)
{
	for (size_t i = 0; i < e->n; i++)
		if (e->v[i].keylen == keylen && memcmp(e->v[i].key, key, keylen) == 0)
			return true;
	return false;
}

static enum otp_err put(GDBM_FILE dbf, const char *key, size_t keylen, const void *val, size_t vallen)
{
	datum k = { .dptr = (char *)key, .dsize = (int)keylen };
	datum v = { .dptr = (char *)val, .dsize = (int)vallen };

	return gdbm_store(dbf, k, v, GDBM_REPLACE) == 0 ? OTP_OK : gdb_err(gdbm_errno);
}

static enum otp_err del(GDBM_FILE dbf, const char *key, size_t keylen)
{
	datum k = { .dptr = (char *)key, .dsize = (int)keylen };

	if (gdbm_delete(dbf, k) == 0 || gdbm_errno == GDBM_ITEM_NOT_FOUND)
		return OTP_OK;
	return gdb_err(gdbm_errno);
}

/*
 * The log's latest entries into the GDBM file at path, synced, then the
 * generation that says the log is in, synced.
 */
static enum otp_err apply_all(const char *path, const struct ents *e, uint64_t gen)
{
	unsigned char v[8];
	GDBM_FILE w = NULL;
	enum otp_err rc;

	if ((rc = gdb_open(path, true, &w)) != OTP_OK)
		return rc;
	for (size_t i = 0; i < e->n && rc == OTP_OK; i++)
		rc = e->v[i].ref.type == WAL_STORE
		     ? put(w, e->v[i].key, e->v[i].keylen, e->v[i].ref.val, e->v[i].ref.vallen)
		     : del(w, e->v[i].key, e->v[i].keylen);
	/* The records on disk first; only then the generation that says the log is in. */
	if (rc == OTP_OK && gdbm_sync(w) != 0)
		rc = OTP_ERR_DB_IO;
	otp_put_u64(v, gen);
	if (rc == OTP_OK)
		rc = put(w, RESERVED_GEN, strlen(RESERVED_GEN), v, sizeof(v));
	if (rc == OTP_OK && gdbm_sync(w) != 0)
		rc = OTP_ERR_DB_IO;
	if (gdbm_close(w) != 0 && rc == OTP_OK)
		rc = OTP_ERR_DB_IO;
	return rc;
}

/*
 * Whether every entry replaces a record of the same size, which GDBM
 * writes where the old one was, touching nothing else: a write cut short
 * (a process killed, a power cut) then hurts only a record the log still
 * holds whole.  Users added or removed, or a record that changes size,
 * change GDBM's own structure, which GDBM does in place and not atomically.
 */
/* Whether the entry replaces a record of the same size in the base that dbf reads. */
static enum otp_err replaces_same(GDBM_FILE dbf, const char *key, size_t keylen,
                                  const struct wal_ref *ref, bool *same)
{
	datum k = { .dptr = (char *)key, .dsize = (int)keylen };
	datum v;

	*same = false;
	if (ref->type != WAL_STORE)
		return OTP_OK;
	v = gdbm_fetch(dbf, k);
	if (v.dptr == NULL)
		return gdbm_errno == GDBM_ITEM_NOT_FOUND ? OTP_OK : gdb_err(gdbm_errno);
	*same = (size_t)v.dsize == ref->vallen;
	otp_wipe(v.dptr, (size_t)v.dsize);
	free(v.dptr);
	return OTP_OK;
}

static enum otp_err same_places(struct gdbm_store *g, const struct ents *e, bool *same)
{
	datum gen = { .dptr = (char *)RESERVED_GEN, .dsize = (int)strlen(RESERVED_GEN) };
	enum otp_err rc = OTP_OK;

	/* The generation is written too: a base without one yet gains a key. */
	*same = gdbm_exists(g->dbf, gen) != 0;
	for (size_t i = 0; i < e->n && *same && rc == OTP_OK; i++)
		rc = replaces_same(g->dbf, e->v[i].key, e->v[i].keylen, &e->v[i].ref, same);
	return rc;
}

/* The disk (or the owner's quota) is full. */
static bool full(int e)
{
	return e == ENOSPC || e == EDQUOT;
}

/*
 * A copy of the base at p->newdb, new and 0600 (an older one, of a
 * checkpoint cut short, removed first); *nospace when the disk was full.
 */
static enum otp_err copy_base(const struct gpaths *p, bool *nospace)
{
	unsigned char buf[65536];
	int in = -1, out = -1;
	ssize_t n = 0;
	enum otp_err rc;

	if (unlink(p->newdb) != 0 && errno != ENOENT)
		return OTP_ERR_DB_IO;
	if ((rc = gfile_open(p->db, O_RDONLY, false, &in, NULL)) != OTP_OK)
		return rc;
	out = open(p->newdb, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		*nospace = full(errno);
		rc = OTP_ERR_DB_IO;
	}
	while (rc == OTP_OK && (n = read(in, buf, sizeof(buf))) != 0) {
		ssize_t w;

		if (n < 0) {
			if (errno != EINTR)
				rc = OTP_ERR_DB_IO;
			continue;
		}
		if ((w = write(out, buf, (size_t)n)) != n) {
			/* A short write to a file: the disk is full. */
			*nospace = w >= 0 || full(errno);
			rc = OTP_ERR_DB_IO;
		}
	}
	if (out >= 0 && close(out) != 0 && rc == OTP_OK) {
		*nospace = full(errno);
		rc = OTP_ERR_DB_IO;
	}
	close(in);
	otp_wipe(buf, sizeof(buf));
	if (rc != OTP_OK)
		unlink(p->newdb);
	return rc;
}

/*
 * Into the base: in place when every entry keeps its record's size (what
 * logins write); otherwise into a copy that replaces the base by rename,
 * so that a checkpoint cut short anywhere leaves the old base whole.  With
 * no room on the disk for the copy, in place after all: otherwise every
 * login would fail until there is room again (the log is full).
 */
static enum otp_err apply(struct gdbm_store *g, const struct ents *e, uint64_t gen)
{
	bool same = false, nospace = false;
	enum otp_err rc;

	if ((rc = same_places(g, e, &same)) != OTP_OK)
		return rc;
	gdbm_base_changes(g);
	if (same)
		return apply_all(g->p.db, e, gen);
	if ((rc = copy_base(&g->p, &nospace)) == OTP_OK) {
		rc = apply_all(g->p.newdb, e, gen);
		nospace = rc != OTP_OK && full(errno);
		if (rc == OTP_OK && rename(g->p.newdb, g->p.db) != 0)
			rc = OTP_ERR_DB_IO;
	}
	if (rc != OTP_OK) {
		unlink(g->p.newdb);
		return nospace ? apply_all(g->p.db, e, gen) : rc;
	}
	return gfile_sync_dir(g->p.dir);
}

/*
 * Under the lock: the log made durable, its latest entries written into
 * the base and the base synced, then the log started again under the next
 * generation.  A crash at any point leaves a base plus a log that together
 * hold every acknowledged change.
 */
/* Where the base written ahead ends in the log of generation gen (0: nothing written ahead). */
static size_t ahead_end(const struct shm_hdr *h, uint64_t gen)
{
	uint64_t applied = __atomic_load_n(&h->applied, __ATOMIC_ACQUIRE);

	return GEN(applied) == gen ? END(applied) : 0;
}

enum otp_err gckpt_run(struct gdbm_store *g)
{
	uint64_t gen = GEN(g->head) + 1, head = gen << 32;
	struct ents e = { 0 };
	enum otp_err rc;

	if ((rc = gwal_durable(&g->w, &g->m, g->head, g->base.lock_ms)) != OTP_OK)
		return rc;
	if ((rc = gshm_base_lock(&g->m, g->base.lock_ms)) != OTP_OK)
		return rc;
	/* What was written ahead, in this generation, is in the base already. */
	if ((rc = gckpt_collect(g, ahead_end(g->m.h, GEN(g->head)), &e)) != OTP_OK)
		goto out;
	if ((rc = apply(g, &e, gen)) != OTP_OK)
		goto out;
	__atomic_store_n(&g->m.h->head, head, __ATOMIC_RELEASE);
	__atomic_store_n(&g->m.h->synced, head, __ATOMIC_RELEASE);
	__atomic_store_n(&g->m.h->applied, head, __ATOMIC_RELEASE);
	__atomic_store_n(&g->m.h->shared_at, __atomic_load_n(&g->m.h->shared, __ATOMIC_RELAXED),
	                 __ATOMIC_RELAXED);
	__atomic_add_fetch(&g->m.h->checkpoints, 1, __ATOMIC_RELAXED);
	g->head = head;
	rc = gdbm_reader(g);
out:
	gshm_base_unlock(&g->m);
	free(e.v);
	return rc;
}

/* ---- ahead of the checkpoint ------------------------------------------------------ */

#define AHEAD_STEP (WAL_CHECKPOINT / 4)

struct ahead {
	struct gdbm_store *g;
	GDBM_FILE w;
	uint64_t gen;
	size_t done;                /* the log's entries up to here are in the base, or have a later one */
	enum otp_err rc;
};

/*
 * An entry into the base, in order, while each is a record replaced by one
 * of the same size (written where the old one was: a torn write hurts only
 * a record the log holds whole); the first that is not stops the run.  An
 * entry the log has a later one for is passed over: that one is written
 * instead, by a later run or by the checkpoint.
 */
static bool ahead_cb(const char *key, size_t keylen, const struct wal_ref *ref, void *arg)
{
	struct ahead *a = arg;
	bool same = false;

	if (ref->type == WAL_NOOP || gwal_later(&a->g->w, a->gen, key, keylen, ref->off)) {
		a->done = ref->off + ref->len;
		return true;
	}
	/* The size through the process's reader: mapped, and no older than this generation's base. */
	if (replaces_same(a->g->dbf, key, keylen, ref, &same) != OTP_OK || !same)
		return false;
	if ((a->rc = put(a->w, key, keylen, ref->val, ref->vallen)) != OTP_OK)
		return false;
	a->done = ref->off + ref->len;
	return true;
}

/* Some change since the last checkpoint was made durable by another process's sync. */
static bool side_by_side(const struct shm_hdr *h)
{
	return __atomic_load_n(&h->shared, __ATOMIC_RELAXED) !=
	       __atomic_load_n(&h->shared_at, __ATOMIC_RELAXED);
}

void gckpt_ahead(struct gdbm_store *g)
{
	struct shm_hdr *h = g->m.h;
	struct ahead a = { .g = g, .w = NULL, .rc = OTP_OK };
	uint64_t synced = __atomic_load_n(&h->synced, __ATOMIC_ACQUIRE);
	size_t from = ahead_end(h, GEN(synced));

	/*
	 * Only while changes are made side by side: alone, a process keeps
	 * nobody waiting for the lock, and would only pay one more sync of the
	 * base a run.
	 */
	if (END(synced) < from + AHEAD_STEP || !side_by_side(h) || gshm_base_lock(&g->m, 0) != OTP_OK)
		return;
	/* Under the base's lock no checkpoint moves the log on: look again. */
	synced = __atomic_load_n(&h->synced, __ATOMIC_ACQUIRE);
	a.gen = GEN(synced);
	from = a.done = ahead_end(h, a.gen);
	if (END(synced) < from + AHEAD_STEP || g->dbf == NULL || g->dbf_gen != a.gen ||
	    g->dbf_base != __atomic_load_n(&h->base_id, __ATOMIC_ACQUIRE) ||
	    gdb_open(g->p.db, true, &a.w) != OTP_OK)
		goto out;
	/* Only what is durable: the base never holds a change the log could lose. */
	if (gwal_each(&g->w, a.gen, from, END(synced), ahead_cb, &a) != OTP_OK)
		a.rc = OTP_ERR_DB_CORRUPT;
	/* GDBM syncs a writer's file as it closes it: the base holds them before they count. */
	if (gdbm_close(a.w) != 0)
		a.rc = OTP_ERR_DB_IO;
	if (a.rc == OTP_OK && a.done > from)
		__atomic_store_n(&h->applied, a.gen << 32 | a.done, __ATOMIC_RELEASE);
out:
	gshm_base_unlock(&g->m);
}
