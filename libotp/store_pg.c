/* store_pg.c - the PostgreSQL store: many hosts, one key store; each user's transaction under a row lock (otpkeys(5)). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "otp.h"
#include "internal.h"
#include "store.h"
#include "pg.h"

/*
 * Exactly once across hosts: every transaction of a user takes an
 * advisory lock on the name (names without a row, unknown users' and new
 * ones', are locked too) and reads the record with SELECT ... FOR UPDATE,
 * so a second host waits, then reads what the first committed.  Both are
 * held to the COMMIT, and a lock not had within lock_ms is OTP_ERR_DB_LOCK
 * (lock_timeout).
 */
static const char sql_timeouts[] =
	"SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true),"
	" set_config('idle_in_transaction_session_timeout', $2, true)";
static const char sql_lock[] = "SELECT pg_advisory_xact_lock(" PG_LOCK_CLASS ", hashtext($1))";
/* Both locks within lock_ms in all: the row lock gets what the name's lock left. */
static const char sql_lock_rest[] =
	"SELECT set_config('lock_timeout', greatest(1, $1::integer - (1000 * extract(epoch FROM"
	" clock_timestamp() - transaction_timestamp()))::integer) || 'ms', true)";
static const char sql_get_locked[] = "SELECT record FROM otp.users WHERE name = $1 FOR UPDATE";
static const char sql_get[] = "SELECT record FROM otp.users WHERE name = $1";
static const char sql_marks[] = "SELECT marks FROM otp.marks WHERE name = $1";
static const char sql_all[] = "SELECT name, record FROM otp.users ORDER BY name";

/* The plain columns beside the record are for an administrator's SQL; the record is what counts. */
#define COLS "alg, seq, seed, token, disabled, failures, locked_until, last_success, last_failure"
#define VALS "$3, $4::integer, $5, $6, $7::boolean, $8::integer," \
	" to_timestamp(NULLIF($9::bigint, 0)), to_timestamp(NULLIF($10::bigint, 0))," \
	" to_timestamp(NULLIF($11::bigint, 0))"
static const char sql_insert[] =
	"INSERT INTO otp.users (name, record, " COLS ") VALUES ($1, $2, " VALS ")";
static const char sql_update[] =
	"UPDATE otp.users SET (record, " COLS ", updated) = ($2, " VALS ", now()) WHERE name = $1";
static const char sql_delete[] = "DELETE FROM otp.users WHERE name = $1";

/* Marks: kept for unknown names too, so expired rows are dropped a few at a time. */
static const char sql_marks_put[] =
	"INSERT INTO otp.marks (name, marks, expires) VALUES ($1, $2, $3::bigint)"
	" ON CONFLICT (name) DO UPDATE SET marks = EXCLUDED.marks, expires = EXCLUDED.expires";
static const char sql_marks_drop[] = "DELETE FROM otp.marks WHERE name = $1";
static const char sql_marks_expire[] =
	"DELETE FROM otp.marks WHERE name IN (SELECT name FROM otp.marks"
	" WHERE expires < $1::bigint AND name <> $2 ORDER BY expires LIMIT 8 FOR UPDATE SKIP LOCKED)";

/* A durable commit that changes nothing that matters (t->sync): one of a few rows, at random. */
static const char sql_sync[] = "UPDATE otp.sync SET n = n + 1 WHERE slot = $1::integer";
/* A record's change waits for the disk (and any synchronous standby) whatever the server's default. */
static const char sql_durable[] =
	"SELECT set_config('synchronous_commit', CASE current_setting('synchronous_commit')"
	" WHEN 'off' THEN 'on' ELSE current_setting('synchronous_commit') END, true)";
/* New marks alone need not wait for it. */
static const char sql_lazy[] = "SELECT set_config('synchronous_commit', 'off', true)";

static const char sql_meta_add[] =
	"INSERT INTO otp.meta (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING";
static const char sql_meta_set[] =
	"INSERT INTO otp.meta (name, value) VALUES ($1, $2)"
	" ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value";
static const char sql_meta_get[] = "SELECT value FROM otp.meta WHERE name = $1";

static struct pg_store *ps(struct otp_store *s)
{
	return (struct pg_store *)(void *)s;
}

static unsigned wait_ms(const struct pg_store *p)
{
	return p->base.lock_ms + PG_SLACK_MS;
}

/* A connection lost between transactions is made again: nothing of the next one has run. */
static enum otp_err ready(struct pg_store *p)
{
	if (p->conn != NULL && PQstatus(p->conn) == CONNECTION_OK &&
	    PQtransactionStatus(p->conn) == PQTRANS_IDLE)
		return OTP_OK;
	return pg_connect(p);
}

static void rollback(struct pg_store *p)
{
	if (p->conn != NULL && PQtransactionStatus(p->conn) != PQTRANS_IDLE &&
	    pg_simple(p, "ROLLBACK", PG_SLACK_MS) != OTP_OK)
		pg_disconnect(p);
}

static enum otp_err decode_one(const PGresult *r, struct otp_record *rec, bool *exists)
{
	*exists = false;
	memset(rec, 0, sizeof(*rec));
	if (PQntuples(r) == 0)
		return OTP_OK;
	if (PQntuples(r) != 1 || PQnfields(r) != 1 || PQgetisnull(r, 0, 0))
		return OTP_ERR_DB_CORRUPT;
	*exists = true;
	return otp_record_decode((const unsigned char *)PQgetvalue(r, 0, 0),
	                         (size_t)PQgetlength(r, 0, 0), rec);
}

/* ---- one user's transaction ------------------------------------------------------ */

/* BEGIN, the timeouts, the locks and the reads: one round trip. */
static enum otp_err read_locked(struct pg_store *p, struct otp_txn *t, unsigned flags)
{
	char lock[24], ms[16], stmt[24];
	struct pg_stmt st[6] = {
		{ .sql = "BEGIN" },
		{ .sql = sql_timeouts },
		{ .sql = sql_lock },
		{ .sql = sql_lock_rest },
		{ .sql = sql_get_locked, .binary = 1 },
		{ .sql = sql_marks, .binary = 1 },
	};
	size_t n = (flags & OTP_TXN_MARKS) ? 6 : 5;
	unsigned wait = p->base.lock_ms > 0 ? p->base.lock_ms : 1;   /* lock_timeout 0: for ever */
	enum otp_err rc;

	snprintf(lock, sizeof(lock), "%ums", wait);
	snprintf(ms, sizeof(ms), "%u", wait);
	snprintf(stmt, sizeof(stmt), "%ums", p->base.lock_ms + PG_SLACK_MS / 2);
	pg_text(pg_text(&st[1], lock), stmt);
	pg_text(&st[2], t->user);
	pg_text(&st[3], ms);
	pg_text(&st[4], t->user);
	pg_text(&st[5], t->user);
	for (int attempt = 0;; attempt++) {
		if ((rc = ready(p)) != OTP_OK)
			goto out;
		rc = pg_run(p, st, n, wait_ms(p));
		/* Lost before anything was written: once more on a new connection. */
		if (rc == OTP_OK || attempt > 0 || p->conn != NULL)
			break;
		pg_done(st, n);
	}
	if (rc == OTP_OK)
		rc = decode_one(st[4].res, &t->rec, &t->exists);
	if (rc == OTP_OK && n == 6 && PQntuples(st[5].res) == 1)
		otp_marks_decode((const unsigned char *)PQgetvalue(st[5].res, 0, 0),
		                 (size_t)PQgetlength(st[5].res, 0, 0), &t->marks);
out:
	pg_done(st, n);
	return rc;
}

/* The record's plain columns, as text parameters. */
struct cols {
	char seq[12], failures[12], locked[24], success[24], failure[24];
};

static void record_params(struct pg_stmt *st, const char *user, const struct otp_record *rec,
                          const unsigned char *buf, size_t len, struct cols *c)
{
	bool key = otp_record_has_key(rec);

	snprintf(c->seq, sizeof(c->seq), "%u", rec->seq);
	snprintf(c->failures, sizeof(c->failures), "%lu", (unsigned long)rec->failures);
	snprintf(c->locked, sizeof(c->locked), "%lld", (long long)rec->locked_until);
	snprintf(c->success, sizeof(c->success), "%lld", (long long)rec->last_success);
	snprintf(c->failure, sizeof(c->failure), "%lld", (long long)rec->last_failure);
	pg_bin(pg_text(st, user), buf, len);
	pg_text(pg_text(pg_text(st, key ? otp_alg_name(rec->alg) : NULL), key ? c->seq : NULL),
	        key ? rec->seed : NULL);
	pg_text(pg_text(st, otp_tok_name(rec->tok.type)),
	        rec->flags & OTP_REC_DISABLED ? "true" : "false");
	pg_text(pg_text(pg_text(pg_text(st, c->failures), c->locked), c->success), c->failure);
}

struct writes {
	struct pg_stmt st[8];
	size_t n;
	int record;                     /* index of the record's statement, or -1 */
	unsigned char rec[OTP_REC_MAX_SIZE];
	unsigned char marks[OTP_MARKS_BUFSZ];
	struct cols cols;
	char now[24], expires[24], slot[12];
};

static struct pg_stmt *add(struct writes *w, const char *sql)
{
	struct pg_stmt *st = &w->st[w->n++];

	memset(st, 0, sizeof(*st));
	st->sql = sql;
	return st;
}

static enum otp_err add_marks(struct writes *w, const struct otp_txn *t)
{
	int64_t last = 0;
	size_t len;

	if (t->marks.n == 0) {
		pg_text(add(w, sql_marks_drop), t->user);
		return OTP_OK;
	}
	if ((len = otp_marks_encode(&t->marks, w->marks)) == 0)
		return OTP_ERR_CRYPTO;
	for (unsigned i = 0; i < t->marks.n; i++)
		if (t->marks.m[i].expires > last)
			last = t->marks.m[i].expires;
	snprintf(w->now, sizeof(w->now), "%lld", (long long)otp_now());
	snprintf(w->expires, sizeof(w->expires), "%lld", (long long)last);
	pg_text(pg_text(add(w, sql_marks_expire), w->now), t->user);
	pg_text(pg_bin(pg_text(add(w, sql_marks_put), t->user), w->marks, len), w->expires);
	return OTP_OK;
}

/* What the callback asked for, then COMMIT: one round trip. */
static enum otp_err write_commit(struct pg_store *p, struct otp_txn *t, enum otp_db_action act,
                                 unsigned flags, struct writes *w)
{
	unsigned char r = 0;
	size_t len = 0;
	bool durable = false;
	enum otp_err rc = OTP_OK;

	w->record = -1;
	if (act == OTP_DB_STORE) {
		if ((rc = otp_record_encode(&t->rec, w->rec, sizeof(w->rec), &len)) != OTP_OK)
			return rc;
		w->record = (int)w->n;
		record_params(add(w, t->exists ? sql_update : sql_insert), t->user, &t->rec, w->rec, len,
		              &w->cols);
		durable = true;
	} else if (act == OTP_DB_DELETE && t->exists) {
		pg_text(add(w, sql_delete), t->user);
		durable = true;
	} else if (act != OTP_DB_KEEP && act != OTP_DB_DELETE) {
		return OTP_ERR_INVALID;
	}
	if ((flags & OTP_TXN_MARKS) && t->marks_changed && (rc = add_marks(w, t)) != OTP_OK)
		return rc;
	if (t->sync && !durable) {
		if ((rc = otp_random_bytes(&r, 1)) != OTP_OK)
			return rc;
		snprintf(w->slot, sizeof(w->slot), "%u", (unsigned)r % PG_SYNC_SLOTS);
		pg_text(add(w, sql_sync), w->slot);
		durable = true;
	}
	if (durable || w->n > 0)
		add(w, durable ? sql_durable : sql_lazy);
	add(w, "COMMIT");
	if ((rc = pg_run(p, w->st, w->n, wait_ms(p))) != OTP_OK)
		return rc;
	/* An aborted transaction answers COMMIT with ROLLBACK. */
	if (strcmp(PQcmdStatus(w->st[w->n - 1].res), "COMMIT") != 0 ||
	    (w->record >= 0 && strcmp(PQcmdTuples(w->st[w->record].res), "1") != 0))
		rc = OTP_ERR_DB_IO;
	return rc;
}

static enum otp_err pg_txn(struct otp_store *s, const char *user, unsigned flags, otp_txn_fn fn,
                           void *arg)
{
	struct pg_store *p = ps(s);
	struct otp_txn t;
	struct writes *w = NULL;
	enum otp_db_action act;
	enum otp_err cberr = OTP_OK, rc;

	memset(&t, 0, sizeof(t));
	t.user = user;
	/* From the first transaction on, get reads what the server holds now. */
	pg_pre_free(p);
	if ((rc = otp_user_check(user)) != OTP_OK)
		goto out;
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		rc = OTP_ERR_NOMEM;
		goto out;
	}
	if ((rc = read_locked(p, &t, flags)) != OTP_OK)
		goto out;
	act = fn(&t, arg, &cberr);
	if (cberr != OTP_OK) {
		rc = cberr;
		goto out;
	}
	rc = write_commit(p, &t, act, flags, w);
out:
	if (rc != OTP_OK)
		rollback(p);
	if (w != NULL) {
		pg_done(w->st, w->n);
		otp_wipe(w, sizeof(*w));
		free(w);
	}
	otp_wipe(&t, sizeof(t));
	return rc;
}

/* ---- reads ---------------------------------------------------------------------------- */

static enum otp_err pg_get(struct otp_store *s, const char *user, struct otp_record *rec)
{
	struct pg_store *p = ps(s);
	struct pg_stmt st = { .sql = sql_get, .binary = 1 };
	bool exists = false;
	enum otp_err rc;

	memset(rec, 0, sizeof(*rec));
	if ((rc = otp_user_check(user)) != OTP_OK)
		goto out;
	/* A sampled user read with the open, as committed a moment ago. */
	for (unsigned i = 0; i < p->npre; i++)
		if (strcmp(p->pre[i].name, user) == 0) {
			rc = otp_record_decode(p->pre[i].rec, p->pre[i].len, rec);
			goto out;
		}
	if ((rc = ready(p)) != OTP_OK)
		goto out;
	pg_text(&st, user);
	if ((rc = pg_run(p, &st, 1, wait_ms(p))) == OTP_OK)
		rc = decode_one(st.res, rec, &exists);
	if (rc == OTP_OK && !exists)
		rc = OTP_ERR_NOUSER;
out:
	pg_done(&st, 1);
	if (rc != OTP_OK)
		otp_wipe(rec, sizeof(*rec));
	return rc;
}

struct walk {
	otp_db_each_fn fn;
	void *arg;
	enum otp_err bad;               /* the first row that failed its checks */
};

/* One row of the walk; a bad one is skipped and remembered, as by the local store. */
static bool walk_row(const PGresult *r, void *arg)
{
	struct walk *w = arg;
	struct otp_record rec;
	char user[OTP_USER_MAX + 1];
	int ulen = PQgetlength(r, 0, 0);
	enum otp_err e = OTP_ERR_DB_CORRUPT;
	bool go = true;

	memset(&rec, 0, sizeof(rec));
	if (PQnfields(r) == 2 && ulen > 0 && ulen <= OTP_USER_MAX && !PQgetisnull(r, 0, 1)) {
		memcpy(user, PQgetvalue(r, 0, 0), (size_t)ulen);
		user[ulen] = '\0';
		if (strlen(user) == (size_t)ulen && otp_user_check(user) == OTP_OK)
			e = otp_record_decode((const unsigned char *)PQgetvalue(r, 0, 1),
			                      (size_t)PQgetlength(r, 0, 1), &rec);
	}
	if (e == OTP_OK)
		go = w->fn(user, &rec, w->arg);
	else if (w->bad == OTP_OK)
		w->bad = e;
	otp_wipe(&rec, sizeof(rec));
	return go;
}

static enum otp_err pg_foreach(struct otp_store *s, otp_db_each_fn fn, void *arg)
{
	struct pg_store *p = ps(s);
	struct pg_stmt st = { .sql = sql_all, .binary = 1 };
	struct walk w = { .fn = fn, .arg = arg, .bad = OTP_OK };
	enum otp_err rc;

	if ((rc = ready(p)) == OTP_OK)
		rc = pg_rows(p, &st, wait_ms(p), walk_row, &w);
	return rc == OTP_OK ? w.bad : rc;
}

/* ---- store-wide values: read at the open, written through --------------------------------- */

static enum otp_err pg_meta_get(struct otp_store *s, const char *name, unsigned char *buf,
                                size_t size, size_t *len)
{
	struct pg_store *p = ps(s);

	*len = 0;
	for (unsigned i = 0; i < p->nmeta; i++) {
		if (strcmp(p->meta[i].name, name) != 0)
			continue;
		*len = p->meta[i].len < size ? p->meta[i].len : size;
		memcpy(buf, p->meta[i].val, *len);
		return OTP_OK;
	}
	return OTP_ERR_NOUSER;
}

static enum otp_err pg_meta_put(struct otp_store *s, const char *name, const unsigned char *val,
                                size_t len, bool create_only)
{
	struct pg_store *p = ps(s);
	struct pg_stmt st[5] = {
		{ .sql = "BEGIN" },
		{ .sql = sql_durable },
		{ .sql = create_only ? sql_meta_add : sql_meta_set },
		{ .sql = sql_meta_get, .binary = 1 },
		{ .sql = "COMMIT" },
	};
	enum otp_err rc;

	if (strlen(name) >= PG_META_NAME || len > OTP_META_MAX)
		return OTP_ERR_INVALID;
	if ((rc = ready(p)) != OTP_OK)
		return rc;
	pg_bin(pg_text(&st[2], name), val, len);
	pg_text(&st[3], name);
	if ((rc = pg_run(p, st, 5, wait_ms(p))) != OTP_OK)
		goto out;
	if (strcmp(PQcmdStatus(st[4].res), "COMMIT") != 0 || PQntuples(st[3].res) != 1) {
		rc = OTP_ERR_DB_IO;
		goto out;
	}
	/* What the server holds now, whoever set it: two hosts making a secret agree on one. */
	rc = pg_meta_cache(p, name, (const unsigned char *)PQgetvalue(st[3].res, 0, 0),
	                   (size_t)PQgetlength(st[3].res, 0, 0));
	if (rc == OTP_OK && create_only && strcmp(PQcmdTuples(st[2].res), "1") != 0)
		rc = OTP_ERR_EXISTS;
out:
	if (rc != OTP_OK && rc != OTP_ERR_EXISTS)
		rollback(p);
	pg_done(st, 5);
	return rc;
}

static void pg_close(struct otp_store *s)
{
	struct pg_store *p = ps(s);

	pg_disconnect(p);
	pg_meta_free(p);
	pg_pre_free(p);
	if (p->uri != NULL) {
		otp_wipe(p->uri, strlen(p->uri));
		free(p->uri);
	}
	otp_wipe(p, sizeof(*p));
	free(p);
}

static const struct otp_store_ops pg_ops = {
	.txn = pg_txn,
	.get = pg_get,
	.foreach = pg_foreach,
	.meta_get = pg_meta_get,
	.meta_put = pg_meta_put,
	.close = pg_close,
};

/*
 * Connects to the database uri names and checks its schema (making it with
 * create).  Returns OTP_OK with *out to be closed by otp_store_close, or
 * the error (*out NULL): OTP_ERR_INVALID for a refused URI, OTP_ERR_DB_OPEN
 * for a server or a schema not had (or not allowed), OTP_ERR_DB_MISSING or
 * OTP_ERR_DB_VERSION for the schema.
 */
enum otp_err otp_pg_open(const char *uri, unsigned lock_ms, bool create, struct otp_store **out)
{
	struct pg_store *p;
	enum otp_err rc;

	*out = NULL;
	if (uri == NULL)
		return OTP_ERR_INVALID;
	if ((rc = pg_load()) != OTP_OK)
		return rc;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return OTP_ERR_NOMEM;
	p->base.ops = &pg_ops;
	p->base.lock_ms = lock_ms;
	if ((p->uri = strdup(uri)) == NULL)
		rc = OTP_ERR_NOMEM;
	else if ((rc = pg_connect(p)) == OTP_OK)
		rc = pg_schema_open(p, create);
	if (rc != OTP_OK) {
		pg_close(&p->base);
		return rc;
	}
	*out = &p->base;
	return OTP_OK;
}
