/* pg.h - what the PostgreSQL store's files share: the handle, statements, the connection (store_pg.c, pg_conn.c, pg_schema.c). */
#ifndef OTP_PG_H
#define OTP_PG_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "otp.h"
#include "store.h"

/*
 * libpq is loaded when the first postgresql:// store is opened (pg_load.c),
 * not linked: its dependencies (Kerberos, LDAP, GnuTLS, ...) would otherwise
 * be mapped and relocated at every load of pam_otp.so, for every login,
 * GDBM ones too.  Once loaded it stays (RTLD_NODELETE).  The calls below
 * go through this table.
 */
#define PG_API(X) \
	X(PQclear) \
	X(PQcmdStatus) \
	X(PQcmdTuples) \
	X(PQconnectdbParams) \
	X(PQconninfoFree) \
	X(PQconninfoParse) \
	X(PQconsumeInput) \
	X(PQenterPipelineMode) \
	X(PQexitPipelineMode) \
	X(PQfinish) \
	X(PQflush) \
	X(PQfreemem) \
	X(PQgetResult) \
	X(PQgetisnull) \
	X(PQgetlength) \
	X(PQgetvalue) \
	X(PQisBusy) \
	X(PQnfields) \
	X(PQntuples) \
	X(PQpipelineSync) \
	X(PQresultErrorField) \
	X(PQresultStatus) \
	X(PQsendQuery) \
	X(PQsendQueryParams) \
	X(PQsetNoticeProcessor) \
	X(PQsetSingleRowMode) \
	X(PQsetnonblocking) \
	X(PQsocket) \
	X(PQstatus) \
	X(PQtransactionStatus)

struct pg_api {
#define PG_API_PTR(f) __typeof__(&f) f;
	PG_API(PG_API_PTR)
#undef PG_API_PTR
};
extern struct pg_api pg_api;

/* Loads libpq once per process.  Returns OTP_OK, or OTP_ERR_DB_OPEN when it is not installed. */
enum otp_err pg_load(void);

#ifndef PG_LOADER
#define PQclear                pg_api.PQclear
#define PQcmdStatus            pg_api.PQcmdStatus
#define PQcmdTuples            pg_api.PQcmdTuples
#define PQconnectdbParams      pg_api.PQconnectdbParams
#define PQconninfoFree         pg_api.PQconninfoFree
#define PQconninfoParse        pg_api.PQconninfoParse
#define PQconsumeInput         pg_api.PQconsumeInput
#define PQenterPipelineMode    pg_api.PQenterPipelineMode
#define PQexitPipelineMode     pg_api.PQexitPipelineMode
#define PQfinish               pg_api.PQfinish
#define PQflush                pg_api.PQflush
#define PQfreemem              pg_api.PQfreemem
#define PQgetResult            pg_api.PQgetResult
#define PQgetisnull            pg_api.PQgetisnull
#define PQgetlength            pg_api.PQgetlength
#define PQgetvalue             pg_api.PQgetvalue
#define PQisBusy               pg_api.PQisBusy
#define PQnfields              pg_api.PQnfields
#define PQntuples              pg_api.PQntuples
#define PQpipelineSync         pg_api.PQpipelineSync
#define PQresultErrorField     pg_api.PQresultErrorField
#define PQresultStatus         pg_api.PQresultStatus
#define PQsendQuery            pg_api.PQsendQuery
#define PQsendQueryParams      pg_api.PQsendQueryParams
#define PQsetNoticeProcessor   pg_api.PQsetNoticeProcessor
#define PQsetSingleRowMode     pg_api.PQsetSingleRowMode
#define PQsetnonblocking       pg_api.PQsetnonblocking
#define PQsocket               pg_api.PQsocket
#define PQstatus               pg_api.PQstatus
#define PQtransactionStatus    pg_api.PQtransactionStatus
#endif

#define PG_SCHEMA_VERSION 1         /* the schema this program makes and knows (otpkeys(5)) */
#define PG_CONNECT_TIMEOUT "5"      /* seconds, unless the URI says connect_timeout= */
#define PG_SLACK_MS       5000      /* a statement's wait beyond the lock wait */
#define PG_PARAMS_MAX     12
#define PG_META_MAX       4         /* store-wide values kept from the open */
#define PG_META_NAME      32
#define PG_SYNC_SLOTS     64        /* rows of otp.sync */
/* The advisory locks' first key: "OTP1", so that no other use of them collides with ours. */
#define PG_LOCK_CLASS     "1330925617"

struct pg_meta {
	char name[PG_META_NAME];
	unsigned char *val;             /* malloc'd, wiped before free */
	size_t len;
};

/* A record read at the open, for get until the first transaction. */
struct pg_pre {
	char name[OTP_USER_MAX + 1];
	unsigned char *rec;             /* malloc'd, wiped before free */
	size_t len;
};
#define PG_PRE_MAX        32        /* the profile's slots (otpkeys(5)) */

struct pg_store {
	struct otp_store base;
	PGconn *conn;                   /* NULL once lost: made again before the next transaction */
	char *uri;                      /* wiped before free */
	unsigned nmeta;
	struct pg_meta meta[PG_META_MAX];
	unsigned npre;
	struct pg_pre pre[PG_PRE_MAX];
};

/* One statement of a pipeline: its text, its parameters, and after pg_run its result. */
struct pg_stmt {
	const char *sql;
	int n;
	const char *val[PG_PARAMS_MAX]; /* NULL: SQL NULL */
	int len[PG_PARAMS_MAX];
	int fmt[PG_PARAMS_MAX];         /* 1: binary (bytea) */
	int binary;                     /* results in binary */
	PGresult *res;
};

/* Appends a text parameter (NULL: SQL NULL) or a binary one to st; returns st. */
struct pg_stmt *pg_text(struct pg_stmt *st, const char *v);
struct pg_stmt *pg_bin(struct pg_stmt *st, const void *v, size_t len);

/*
 * Connects p to p->uri with nothing taken from the environment (pg_conn.c).
 * Returns OTP_OK, OTP_ERR_INVALID for a URI that names a password, a
 * service or cannot be parsed, OTP_ERR_DB_OPEN when the server cannot be
 * had within the connect timeout (or the environment names a setting the
 * URI leaves open).
 */
enum otp_err pg_connect(struct pg_store *p);

/* Closes p's connection, if any. */
void pg_disconnect(struct pg_store *p);

/*
 * Sends the n statements as one pipeline (one round trip) and collects a
 * result for each into st[i].res, waiting at most wait_ms.  Returns OTP_OK,
 * or the first statement's error (the rest are then aborted by the
 * server); on a lost or stuck connection OTP_ERR_DB_IO, with p->conn closed.
 * The caller clears the results (pg_done).
 */
enum otp_err pg_run(struct pg_store *p, struct pg_stmt *st, size_t n, unsigned wait_ms);

/* Runs sql (several statements, no parameters) by the simple protocol; Returns OTP_OK or its error. */
enum otp_err pg_simple(struct pg_store *p, const char *sql, unsigned wait_ms);

/*
 * Streams the rows of st (one row at a time, binary) to fn until it
 * returns false, each row's values wiped after.  Returns OTP_OK or the
 * store's error.
 */
enum otp_err pg_rows(struct pg_store *p, struct pg_stmt *st, unsigned wait_ms,
                     bool (*fn)(const PGresult *row, void *arg), void *arg);

/* Wipes every value of the statements' results and clears them. */
void pg_done(struct pg_stmt *st, size_t n);

/* The error a result stands for (OTP_OK for a success). */
enum otp_err pg_result_err(const PGresult *r);

/*
 * Checks the schema's version and loads the store-wide values into p's
 * cache (pg_schema.c); with create, makes a missing schema first.  Returns
 * OTP_OK, OTP_ERR_DB_MISSING (no schema), OTP_ERR_DB_VERSION (a newer
 * schema than this program knows), OTP_ERR_DB_OPEN (the role may not read
 * it), or another store error.
 */
enum otp_err pg_schema_open(struct pg_store *p, bool create);

/* Replaces the cached value name with the len bytes at val (pg_schema.c). */
enum otp_err pg_meta_cache(struct pg_store *p, const char *name, const unsigned char *val,
                           size_t len);

/* Wipes and frees the cached store-wide values (pg_schema.c). */
void pg_meta_free(struct pg_store *p);

/* Wipes and frees the records read at the open (pg_schema.c). */
void pg_pre_free(struct pg_store *p);

#endif /* OTP_PG_H */
