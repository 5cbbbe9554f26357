/* pg_conn.c - the PostgreSQL store's connection: the URI's settings and no environment's, pipelines, bounded waits. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "otp.h"
#include "internal.h"
#include "store.h"
#include "pg.h"

/*
 * libpq fills every setting a connection string leaves out from an
 * environment variable (PGHOST, PGSSLROOTCERT, ...) or from $HOME
 * (~/.pgpass, ~/.postgresql/root.crt), and the caller of su or sudo sets
 * both.  So each such setting the URI does not give is pinned here to
 * libpq's own default for the effective user, found through the password
 * database; one that has no default to pin must not be set in the
 * environment at all (pg_connect refuses).  pam_otp(8) lists them.
 */
enum pin_how { PIN_VALUE, PIN_HOME, PIN_USER, PIN_DBNAME, PIN_HOST };

static const struct pin {
	const char *kw;
	enum pin_how how;
	const char *val;
} pins[] = {
	{ "user", PIN_USER, NULL },
	{ "dbname", PIN_DBNAME, NULL },
	{ "passfile", PIN_HOME, ".pgpass" },
	{ "channel_binding", PIN_VALUE, "prefer" },
	{ "connect_timeout", PIN_VALUE, PG_CONNECT_TIMEOUT },
	{ "host", PIN_HOST, "/var/run/postgresql" },     /* Debian's libpq's socket directory */
	{ "port", PIN_VALUE, "5432" },
	{ "client_encoding", PIN_VALUE, "UTF8" },
	{ "application_name", PIN_VALUE, "otp" },
	{ "sslmode", PIN_VALUE, "prefer" },
	{ "sslcompression", PIN_VALUE, "0" },
	{ "sslcert", PIN_HOME, ".postgresql/postgresql.crt" },
	{ "sslkey", PIN_HOME, ".postgresql/postgresql.key" },
	{ "sslrootcert", PIN_HOME, ".postgresql/root.crt" },
	{ "sslcrl", PIN_HOME, ".postgresql/root.crl" },
	{ "sslsni", PIN_VALUE, "1" },
	{ "ssl_min_protocol_version", PIN_VALUE, "TLSv1.2" },
	/* Kerberos finds its credentials and configuration through the environment too. */
	{ "gssencmode", PIN_VALUE, "disable" },
	{ "krbsrvname", PIN_VALUE, "postgres" },
	{ "target_session_attrs", PIN_VALUE, "any" },
};
#define NPINS (sizeof(pins) / sizeof(pins[0]))
#define PIN_HOME_MAX 5

/* Never in a URI: secrets go in the passfile; a service file is looked up through $HOME. */
static const char *const refused_kw[] = { "password", "sslpassword", "service" };
/* Read by libpq whatever the URI says: its message catalogues' directory. */
static const char *const refused_env[] = { "PGLOCALEDIR" };

struct pinned {
	char user[256];
	char home[PATH_MAX];
	char path[PIN_HOME_MAX][PATH_MAX];
	unsigned npath;
	bool have_pw;
};

static const char *given(const PQconninfoOption *o, const char *kw)
{
	for (; o->keyword != NULL; o++)
		if (strcmp(o->keyword, kw) == 0)
			return o->val != NULL && o->val[0] != '\0' ? o->val : NULL;
	return NULL;
}

static void load_pw(struct pinned *pn)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) != 0 || res == NULL)
		return;
	if (snprintf(pn->user, sizeof(pn->user), "%s", pw.pw_name) >= (int)sizeof(pn->user) ||
	    snprintf(pn->home, sizeof(pn->home), "%s", pw.pw_dir) >= (int)sizeof(pn->home))
		return;
	pn->have_pw = true;
}

/* The value kw is pinned to when the URI leaves it out, or NULL when it has none. */
static const char *pinned_value(const struct pin *pin, const PQconninfoOption *uri,
                                struct pinned *pn)
{
	int n;

	switch (pin->how) {
	case PIN_VALUE:
		return pin->val;
	case PIN_USER:
		return pn->have_pw ? pn->user : NULL;
	case PIN_DBNAME:
		return given(uri, "user") != NULL ? given(uri, "user") : pn->have_pw ? pn->user : NULL;
	case PIN_HOST:
		return given(uri, "hostaddr") == NULL ? pin->val : NULL;
	case PIN_HOME:
		if (!pn->have_pw || pn->npath >= PIN_HOME_MAX)
			return NULL;
		n = snprintf(pn->path[pn->npath], PATH_MAX, "%s/%s", pn->home, pin->val);
		if (n < 0 || n >= PATH_MAX)
			return NULL;
		return pn->path[pn->npath++];
	}
	return NULL;
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;      /* NOTICEs ("already exists, skipping") are no one's business */
}

/* Fills kw/val (room for max pairs and the NULL) from uri and the pins. */
static enum otp_err settings(const PQconninfoOption *uri, struct pinned *pn, const char **kw,
                             const char **val, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(refused_kw) / sizeof(refused_kw[0]); i++)
		if (given(uri, refused_kw[i]) != NULL)
			return OTP_ERR_INVALID;
	for (size_t i = 0; i < sizeof(refused_env) / sizeof(refused_env[0]); i++)
		if (getenv(refused_env[i]) != NULL)
			return OTP_ERR_DB_OPEN;
	for (const PQconninfoOption *o = uri; o->keyword != NULL; o++) {
		const char *v = given(uri, o->keyword);

		for (size_t i = 0; v == NULL && i < NPINS; i++)
			if (strcmp(pins[i].kw, o->keyword) == 0)
				v = pinned_value(&pins[i], uri, pn);
		if (v == NULL) {
			/* Nothing to pin: libpq would read the variable, so it must not be there. */
			if (o->envvar != NULL && getenv(o->envvar) != NULL)
				return OTP_ERR_DB_OPEN;
			continue;
		}
		if (n + 1 >= max)
			return OTP_ERR_TOO_LONG;
		kw[n] = o->keyword;
		val[n++] = v;
	}
	kw[n] = val[n] = NULL;
	return OTP_OK;
}

enum otp_err pg_connect(struct pg_store *p)
{
	PQconninfoOption *uri = NULL;
	struct pinned *pn = NULL;
	const char *kw[64], *val[64];
	char *err = NULL;
	enum otp_err rc;

	pg_disconnect(p);
	if ((uri = PQconninfoParse(p->uri, &err)) == NULL) {
		rc = err != NULL ? OTP_ERR_INVALID : OTP_ERR_NOMEM;
		goto out;
	}
	if ((pn = calloc(1, sizeof(*pn))) == NULL) {
		rc = OTP_ERR_NOMEM;
		goto out;
	}
	load_pw(pn);
	if ((rc = settings(uri, pn, kw, val, sizeof(kw) / sizeof(kw[0]))) != OTP_OK)
		goto out;
	if ((p->conn = PQconnectdbParams(kw, val, 0)) == NULL) {
		rc = OTP_ERR_NOMEM;
		goto out;
	}
	if (PQstatus(p->conn) != CONNECTION_OK || PQsetnonblocking(p->conn, 1) != 0) {
		rc = OTP_ERR_DB_OPEN;
		goto out;
	}
	PQsetNoticeProcessor(p->conn, quiet, NULL);
out:
	if (rc != OTP_OK)
		pg_disconnect(p);
	if (pn != NULL) {
		otp_wipe(pn, sizeof(*pn));
		free(pn);
	}
	PQfreemem(err);
	PQconninfoFree(uri);
	return rc;
}

void pg_disconnect(struct pg_store *p)
{
	if (p->conn != NULL)
		PQfinish(p->conn);
	p->conn = NULL;
}

/* ---- statements ---------------------------------------------------------------- */

static struct pg_stmt *param(struct pg_stmt *st, const char *v, int len, int fmt)
{
	if (st->n < PG_PARAMS_MAX) {
		st->val[st->n] = v;
		st->len[st->n] = len;
		st->fmt[st->n] = fmt;
		st->n++;
	} else {
		st->n = PG_PARAMS_MAX + 1;      /* refused by pg_run */
	}
	return st;
}

struct pg_stmt *pg_text(struct pg_stmt *st, const char *v)
{
	return param(st, v, 0, 0);
}

struct pg_stmt *pg_bin(struct pg_stmt *st, const void *v, size_t len)
{
	return param(st, (const char *)v, len > INT_MAX ? INT_MAX : (int)len, 1);
}

static void clear_wiped(PGresult *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < PQntuples(r); i++)
		for (int j = 0; j < PQnfields(r); j++)
			otp_wipe(PQgetvalue(r, i, j), (size_t)PQgetlength(r, i, j));
	PQclear(r);
}

void pg_done(struct pg_stmt *st, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		clear_wiped(st[i].res);
		st[i].res = NULL;
	}
}

enum otp_err pg_result_err(const PGresult *r)
{
	const char *state;

	if (r == NULL)
		return OTP_ERR_DB_IO;
	switch (PQresultStatus(r)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
	case PGRES_SINGLE_TUPLE:
		return OTP_OK;
	case PGRES_FATAL_ERROR:
		break;
	default:
		return OTP_ERR_DB_IO;
	}
	if ((state = PQresultErrorField(r, PG_DIAG_SQLSTATE)) == NULL)
		return OTP_ERR_DB_IO;
	/* lock_not_available, query_canceled (statement_timeout), serialization, deadlock */
	if (strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0 ||
	    strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
		return OTP_ERR_DB_LOCK;
	if (strcmp(state, "42P01") == 0 || strcmp(state, "3F000") == 0)
		return OTP_ERR_DB_MISSING;      /* undefined table or schema: no store here yet */
	/* insufficient_privilege is the role's, not a file mode: "cannot open" says it better. */
	if (strcmp(state, "42501") == 0)
		return OTP_ERR_DB_OPEN;
	return OTP_ERR_DB_IO;
}

/* ---- waiting, always with a deadline ----------------------------------------------- */

static enum otp_err wait_io(PGconn *c, short events, uint64_t deadline)
{
	struct pollfd pfd = { .fd = PQsocket(c), .events = events };
	uint64_t now = otp_mono_ms();
	int r;

	if (pfd.fd < 0 || now >= deadline)
		return OTP_ERR_DB_IO;
	r = poll(&pfd, 1, deadline - now > INT_MAX ? INT_MAX : (int)(deadline - now));
	if (r < 0)
		return errno == EINTR ? OTP_OK : OTP_ERR_DB_IO;
	return r == 0 ? OTP_ERR_DB_IO : OTP_OK;
}

static enum otp_err flush(PGconn *c, uint64_t deadline)
{
	int f;

	while ((f = PQflush(c)) == 1)
		if (wait_io(c, POLLOUT | POLLIN, deadline) != OTP_OK || !PQconsumeInput(c))
			return OTP_ERR_DB_IO;
	return f == 0 ? OTP_OK : OTP_ERR_DB_IO;
}

/* The next result, or NULL at the end of one statement's; never blocks past deadline. */
static enum otp_err next_result(PGconn *c, uint64_t deadline, PGresult **out)
{
	*out = NULL;
	if (PQstatus(c) != CONNECTION_OK)
		return OTP_ERR_DB_IO;
	while (PQisBusy(c))
		if (wait_io(c, POLLIN, deadline) != OTP_OK || !PQconsumeInput(c))
			return OTP_ERR_DB_IO;
	*out = PQgetResult(c);
	return OTP_OK;
}

/* After a failure: a connection in an unknown state is not used again. */
static enum otp_err fail(struct pg_store *p, enum otp_err rc)
{
	if (rc == OTP_ERR_DB_IO || p->conn == NULL || PQstatus(p->conn) != CONNECTION_OK) {
		pg_disconnect(p);
		rc = OTP_ERR_DB_IO;
	}
	return rc;
}

static enum otp_err collect(PGconn *c, struct pg_stmt *st, size_t n, uint64_t deadline)
{
	size_t got = 0, nulls = 0;
	PGresult *r;
	enum otp_err rc;

	for (;;) {
		if ((rc = next_result(c, deadline, &r)) != OTP_OK)
			return rc;
		if (r == NULL) {
			/* One NULL ends each statement's results: more means the pipeline is lost. */
			if (++nulls > n)
				return OTP_ERR_DB_IO;
			continue;
		}
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		if (got < n)
			st[got++].res = r;
		else
			clear_wiped(r);
	}
	return got == n ? OTP_OK : OTP_ERR_DB_IO;
}

enum otp_err pg_run(struct pg_store *p, struct pg_stmt *st, size_t n, unsigned wait_ms)
{
	uint64_t deadline = otp_mono_ms() + wait_ms;
	PGconn *c = p->conn;
	enum otp_err rc = OTP_OK;

	for (size_t i = 0; i < n; i++)
		st[i].res = NULL;
	if (c == NULL || !PQenterPipelineMode(c))
		return fail(p, OTP_ERR_DB_IO);
	for (size_t i = 0; i < n && rc == OTP_OK; i++)
		if (st[i].n > PG_PARAMS_MAX ||
		    !PQsendQueryParams(c, st[i].sql, st[i].n, NULL, st[i].val, st[i].len, st[i].fmt,
		                       st[i].binary))
			rc = OTP_ERR_DB_IO;
	if (rc == OTP_OK && !PQpipelineSync(c))
		rc = OTP_ERR_DB_IO;
	if (rc == OTP_OK)
		rc = flush(c, deadline);
	if (rc == OTP_OK)
		rc = collect(c, st, n, deadline);
	if (rc == OTP_OK && !PQexitPipelineMode(c))
		rc = OTP_ERR_DB_IO;
	for (size_t i = 0; i < n && rc == OTP_OK; i++)
		rc = pg_result_err(st[i].res);
	if (rc != OTP_OK)
		rc = fail(p, rc);
	return rc;
}

enum otp_err pg_simple(struct pg_store *p, const char *sql, unsigned wait_ms)
{
	uint64_t deadline = otp_mono_ms() + wait_ms;
	PGresult *r = NULL;
	enum otp_err rc = OTP_OK, first = OTP_OK;

	if (p->conn == NULL || !PQsendQuery(p->conn, sql))
		return fail(p, OTP_ERR_DB_IO);
	if ((rc = flush(p->conn, deadline)) != OTP_OK)
		return fail(p, rc);
	do {
		if ((rc = next_result(p->conn, deadline, &r)) != OTP_OK)
			return fail(p, rc);
		if (r != NULL && first == OTP_OK)
			first = pg_result_err(r);
		clear_wiped(r);
	} while (r != NULL);
	return first == OTP_OK ? OTP_OK : fail(p, first);
}

enum otp_err pg_rows(struct pg_store *p, struct pg_stmt *st, unsigned wait_ms,
                     bool (*fn)(const PGresult *row, void *arg), void *arg)
{
	PGresult *r = NULL;
	bool go = true;
	enum otp_err rc, first = OTP_OK;

	if (p->conn == NULL || st->n > PG_PARAMS_MAX ||
	    !PQsendQueryParams(p->conn, st->sql, st->n, NULL, st->val, st->len, st->fmt, 1) ||
	    !PQsetSingleRowMode(p->conn))
		return fail(p, OTP_ERR_DB_IO);
	if ((rc = flush(p->conn, otp_mono_ms() + wait_ms)) != OTP_OK)
		return fail(p, rc);
	do {
		/* Each row has its own wait: a long walk is not a stuck one. */
		if ((rc = next_result(p->conn, otp_mono_ms() + wait_ms, &r)) != OTP_OK)
			return fail(p, rc);
		if (r != NULL && first == OTP_OK)
			first = pg_result_err(r);
		if (r != NULL && first == OTP_OK && go && PQresultStatus(r) == PGRES_SINGLE_TUPLE)
			go = fn(r, arg);
		clear_wiped(r);
	} while (r != NULL);
	return first == OTP_OK ? OTP_OK : fail(p, first);
}
