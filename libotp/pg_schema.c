/* pg_schema.c - the PostgreSQL store's schema: made on first use, its version checked, its store-wide values loaded. */
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "otp.h"
#include "internal.h"
#include "store.h"
#include "pg.h"

/*
 * The schema, version 1 (otpkeys(5)).  Two hosts making it at once
 * serialise on an advisory lock, and every step is "if not exists", so
 * both end with the same one.  The marks table is UNLOGGED: outstanding
 * challenges need not survive a crash, and writing them costs no WAL.
 */
static const char schema_sql[] =
	"BEGIN;"
	"SELECT pg_advisory_xact_lock(" PG_LOCK_CLASS ", 0);"
	"CREATE SCHEMA IF NOT EXISTS otp;"
	"CREATE TABLE IF NOT EXISTS otp.schema_version (version integer NOT NULL);"
	"CREATE TABLE IF NOT EXISTS otp.users ("
	" name text PRIMARY KEY,"
	" record bytea NOT NULL,"
	" alg text, seq integer, seed text, token text,"
	" disabled boolean NOT NULL DEFAULT false,"
	" failures integer NOT NULL DEFAULT 0,"
	" locked_until timestamptz, last_success timestamptz, last_failure timestamptz,"
	" updated timestamptz NOT NULL DEFAULT now());"
	"CREATE TABLE IF NOT EXISTS otp.meta (name text PRIMARY KEY, value bytea NOT NULL);"
	"CREATE UNLOGGED TABLE IF NOT EXISTS otp.marks ("
	" name text PRIMARY KEY, marks bytea NOT NULL, expires bigint NOT NULL);"
	"CREATE INDEX IF NOT EXISTS marks_expires ON otp.marks (expires);"
	"CREATE TABLE IF NOT EXISTS otp.sync (slot integer PRIMARY KEY, n bigint NOT NULL);"
	"INSERT INTO otp.sync SELECT s, 0 FROM generate_series(0, 63) s ON CONFLICT DO NOTHING;"
	"INSERT INTO otp.schema_version SELECT 1"
	" WHERE NOT EXISTS (SELECT 1 FROM otp.schema_version);"
	"COMMIT;";

static void meta_free(struct pg_store *p)
{
	for (unsigned i = 0; i < p->nmeta; i++) {
		otp_wipe(p->meta[i].val, p->meta[i].len);
		free(p->meta[i].val);
	}
	otp_wipe(p->meta, sizeof(p->meta));
	p->nmeta = 0;
}

enum otp_err pg_meta_cache(struct pg_store *p, const char *name, const unsigned char *val,
                           size_t len)
{
	struct pg_meta *m = NULL;
	unsigned char *copy;

	if (strlen(name) >= PG_META_NAME)
		return OTP_ERR_INVALID;
	/* Kept one byte past the largest value, so that a longer one still reads as too long. */
	if (len > OTP_META_MAX + 1)
		len = OTP_META_MAX + 1;
	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		return OTP_ERR_NOMEM;
	memcpy(copy, val, len);
	for (unsigned i = 0; i < p->nmeta && m == NULL; i++)
		if (strcmp(p->meta[i].name, name) == 0)
			m = &p->meta[i];
	if (m == NULL && p->nmeta < PG_META_MAX)
		m = &p->meta[p->nmeta++];
	if (m == NULL) {
		/* More store-wide names than any program uses: read them from the server. */
		otp_wipe(copy, len);
		free(copy);
		return OTP_OK;
	}
	if (m->val != NULL) {
		otp_wipe(m->val, m->len);
		free(m->val);
	}
	memcpy(m->name, name, strlen(name) + 1);
	m->val = copy;
	m->len = len;
	return OTP_OK;
}

/*
 * The records of the users the profile samples (its layout in otpkeys(5):
 * the count at byte 16, 65-byte NUL-padded names from byte 24), which
 * every login's fake shape reads: fetched with the open, they cost it no
 * round trips of their own.  A profile of another layout finds nothing,
 * and get reads from the server as ever.
 */
static const char sql_sampled[] =
	"SELECT u.name, u.record FROM otp.meta m"
	" CROSS JOIN LATERAL generate_series(0, least(get_byte(m.value, 16), 32) - 1) i"
	" JOIN otp.users u ON u.name = encode(rtrim(substring(m.value FROM 25 + i * 65 FOR 65),"
	" '\\x00'::bytea), 'escape')"
	" WHERE m.name = 'profile' AND length(m.value) = 2112"
	" AND substring(m.value FOR 8) = 'OTPPROF1'::bytea";

void pg_pre_free(struct pg_store *p)
{
	for (unsigned i = 0; i < p->npre; i++) {
		otp_wipe(p->pre[i].rec, p->pre[i].len);
		free(p->pre[i].rec);
	}
	otp_wipe(p->pre, sizeof(p->pre));
	p->npre = 0;
}

static enum otp_err keep_sampled(struct pg_store *p, const PGresult *r)
{
	for (int i = 0; i < PQntuples(r) && p->npre < PG_PRE_MAX; i++) {
		struct pg_pre *e = &p->pre[p->npre];
		size_t nlen = (size_t)PQgetlength(r, i, 0), len = (size_t)PQgetlength(r, i, 1);

		if (nlen == 0 || nlen > OTP_USER_MAX || len == 0 || len > OTP_REC_MAX_SIZE)
			continue;
		if ((e->rec = malloc(len)) == NULL)
			return OTP_ERR_NOMEM;
		memcpy(e->name, PQgetvalue(r, i, 0), nlen);
		e->name[nlen] = '\0';
		memcpy(e->rec, PQgetvalue(r, i, 1), len);
		e->len = len;
		p->npre++;
	}
	return OTP_OK;
}

/* The schema's version, every store-wide value and the sampled users' records, in one round trip. */
static enum otp_err load(struct pg_store *p)
{
	struct pg_stmt st[3] = {
		{ .sql = "SELECT version FROM otp.schema_version" },
		{ .sql = "SELECT name, value FROM otp.meta", .binary = 1 },
		{ .sql = sql_sampled, .binary = 1 },
	};
	unsigned long version = 0;
	enum otp_err rc;

	meta_free(p);
	pg_pre_free(p);
	if ((rc = pg_run(p, st, 3, p->base.lock_ms + PG_SLACK_MS)) != OTP_OK)
		goto out;
	if (PQntuples(st[0].res) != 1 || PQnfields(st[0].res) != 1 ||
	    otp_parse_uint(PQgetvalue(st[0].res, 0, 0), 1, 1000000, &version) != OTP_OK) {
		rc = OTP_ERR_DB_CORRUPT;
		goto out;
	}
	if (version > PG_SCHEMA_VERSION) {
		/* Made by a newer program: its meaning is not ours to guess. */
		rc = OTP_ERR_DB_VERSION;
		goto out;
	}
	for (int i = 0; i < PQntuples(st[1].res) && rc == OTP_OK; i++) {
		const char *name = PQgetvalue(st[1].res, i, 0);

		if (PQgetlength(st[1].res, i, 0) < PG_META_NAME && strlen(name) < PG_META_NAME)
			rc = pg_meta_cache(p, name, (const unsigned char *)PQgetvalue(st[1].res, i, 1),
			                   (size_t)PQgetlength(st[1].res, i, 1));
	}
	if (rc == OTP_OK)
		rc = keep_sampled(p, st[2].res);
out:
	pg_done(st, 3);
	return rc;
}

static enum otp_err create(struct pg_store *p)
{
	unsigned char secret[32];
	enum otp_err rc = pg_simple(p, schema_sql, p->base.lock_ms + PG_SLACK_MS);

	if (rc != OTP_OK) {
		if (p->conn != NULL)
			(void)pg_simple(p, "ROLLBACK", PG_SLACK_MS);
		return rc;
	}
	if ((rc = load(p)) != OTP_OK)
		return rc;
	/* The host secret now, by the schema's owner: logins need only read it. */
	rc = otp_store_host_secret(&p->base, secret);
	otp_wipe(secret, sizeof(secret));
	return rc;
}

enum otp_err pg_schema_open(struct pg_store *p, bool create_missing)
{
	enum otp_err rc = load(p);

	if (rc == OTP_ERR_DB_MISSING && create_missing)
		rc = create(p);
	return rc;
}

void pg_meta_free(struct pg_store *p)
{
	meta_free(p);
}
