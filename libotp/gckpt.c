/* gckpt.c - the local store's checkpoints: the log's latest entries written into the GDBM base (otpkeys(5)). */
#include <stdlib.h>
#include <string.h>

#include <gdbm.h>

#include "otp.h"
#include "internal.h"
#include "store.h"
#include "gdbm_store.h"

static bool collect_cb(const char *key, size_t keylen, const struct wal_ref *ref, void *arg)
{
	struct ents *e = arg;

	if (ref->type == WAL_NOOP)
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

enum otp_err gckpt_collect(struct gdbm_store *g, struct ents *e)
{
	enum otp_err rc;

	memset(e, 0, sizeof(*e));
	rc = gwal_latest(&g->w, GEN(g->head), END(g->head), collect_cb, e);
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
 * The log's latest entries into the base.  A record replaced by one of
 * the same size (what logins write) GDBM writes where the old one was,
 * touching nothing else, so a write torn by a power cut hurts only a record
 * the log still holds whole.  Users added or removed change GDBM's own
 * structure; that GDBM does in place too, as it always did here.
 */
static enum otp_err apply_all(struct gdbm_store *g, const struct ents *e, uint64_t gen)
{
	unsigned char v[8];
	GDBM_FILE w = NULL;
	enum otp_err rc;

	if ((rc = gdb_open(g->p.db, true, &w)) != OTP_OK)
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
 * Under the lock: the log made durable, its latest entries written into
 * the base and the base synced, then the log started again under the next
 * generation.  A crash at any point leaves a base plus a log that together
 * hold every acknowledged change.
 */
enum otp_err gckpt_run(struct gdbm_store *g)
{
	uint64_t gen = GEN(g->head) + 1, head = gen << 32;
	struct ents e;
	enum otp_err rc;

	if ((rc = gwal_durable(&g->w, &g->m, g->head, g->base.lock_ms)) != OTP_OK)
		return rc;
	if ((rc = gckpt_collect(g, &e)) != OTP_OK)
		goto out;
	if ((rc = apply_all(g, &e, gen)) != OTP_OK)
		goto out;
	__atomic_store_n(&g->m.h->head, head, __ATOMIC_RELEASE);
	__atomic_store_n(&g->m.h->synced, head, __ATOMIC_RELEASE);
	__atomic_add_fetch(&g->m.h->checkpoints, 1, __ATOMIC_RELAXED);
	g->head = head;
	gdbm_close(g->dbf);
	if ((rc = gdb_open(g->p.db, false, &g->dbf)) == OTP_OK)
		g->dbf_gen = gen;
	else
		g->dbf = NULL;
out:
	free(e.v);
	return rc;
}
