/* store.h - the key store interface: what the login and record rules need from storage. */
#ifndef OTP_STORE_H
#define OTP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otp.h"
#include "internal.h"

/*
 * One outstanding challenge (RFC 2289 s9): the login that holds it, when
 * it expires, and the sequence number it shows.  Marks are kept beside the
 * records, not in them, and need not survive a crash: losing one costs at
 * most a skipped line, never a replay, since a response is checked against
 * the record alone.
 */
struct otp_mark {
	uint64_t id;
	int64_t expires;
	uint32_t seq;
};

struct otp_marks {
	unsigned n;
	struct otp_mark m[OTP_PENDING_MAX];
};

/* One read-modify-write of a user's record and marks, under the store's lock. */
struct otp_txn {
	const char *user;
	bool exists;
	struct otp_record rec;      /* zeroed when !exists */
	struct otp_marks marks;     /* with OTP_TXN_MARKS */
	bool marks_changed;         /* set by the callback: keep the new marks (lazily) */
	bool sync;                  /* set by the callback: commit durably even if the record is kept */
};

/*
 * Called under the store's exclusive lock; must not block on a person.
 * Returns what to do with the record; an error set in *err makes the
 * transaction write nothing and return it.
 */
typedef enum otp_db_action (*otp_txn_fn)(struct otp_txn *t, void *arg, enum otp_err *err);

#define OTP_TXN_CREATE  0x1u    /* create the store (file or schema) if missing */
#define OTP_TXN_MARKS   0x2u    /* load the user's marks into t->marks */

/* Names of the store-wide values (meta_get/meta_put). */
#define OTP_META_HOST_SECRET "host-secret"
#define OTP_META_PROFILE     "profile"
#define OTP_META_MAX         8192   /* the largest value */

struct otp_store;

/*
 * Every store implements these; the rules above call nothing else.  Each
 * returns OTP_OK or an enum otp_err: OTP_ERR_DB_LOCK when the lock was not
 * had within lock_ms, OTP_ERR_DB_* for the store's own troubles.
 */
struct otp_store_ops {
	/*
	 * Reads user's record (and marks), calls fn, then writes: a record
	 * change (or t->sync) durably before returning OTP_OK; new marks
	 * without waiting for the disk.
	 */
	enum otp_err (*txn)(struct otp_store *s, const char *user, unsigned flags,
	                    otp_txn_fn fn, void *arg);
	/* One record; OTP_ERR_NOUSER when absent. */
	enum otp_err (*get)(struct otp_store *s, const char *user, struct otp_record *rec);
	/* Every record, as otp_db_foreach. */
	enum otp_err (*foreach)(struct otp_store *s, otp_db_each_fn fn, void *arg);
	/* A store-wide value into buf (size bytes); OTP_ERR_NOUSER when absent. */
	enum otp_err (*meta_get)(struct otp_store *s, const char *name, unsigned char *buf,
	                         size_t size, size_t *len);
	/* Stores one durably; with create_only, OTP_ERR_EXISTS when it is already set. */
	enum otp_err (*meta_put)(struct otp_store *s, const char *name, const unsigned char *val,
	                         size_t len, bool create_only);
	/* Optional: make the store's main file hold everything (a checkpoint); NULL: nothing to do. */
	enum otp_err (*flush)(struct otp_store *s);
	void (*close)(struct otp_store *s);
};

struct otp_store {
	const struct otp_store_ops *ops;
	unsigned lock_ms;
};

/*
 * Opens the store spec names (otp_db_path), creating it when create is set
 * and it is missing.  Returns OTP_OK with *s to be closed by
 * otp_store_close, or the store's error (*s NULL).
 */
enum otp_err otp_store_open(const char *spec, unsigned lock_ms, bool create,
                            struct otp_store **s);
void otp_store_close(struct otp_store *s);

/* The one mapping from a store's errors to what a front end may say (store.c). */
enum otp_login_res otp_store_res(enum otp_err e);

/* The store's host secret, made on first use (store.c).  The caller wipes out. */
enum otp_err otp_store_host_secret(struct otp_store *s, unsigned char out[32]);

/* The implementations (store_gdbm.c, store_pg.c). */
enum otp_err otp_gdbm_open(const char *path, unsigned lock_ms, bool create,
                           struct otp_store **s);
enum otp_err otp_pg_open(const char *uri, unsigned lock_ms, bool create,
                         struct otp_store **s);
/* Closes the local store kept open for the next open (otp_db_release). */
void otp_gdbm_release(void);

/* Marks, encoded the same way by every store (store.c). */
#define OTP_MARK_SIZE   20
#define OTP_MARKS_BUFSZ (4 + OTP_PENDING_MAX * OTP_MARK_SIZE + OTP_CHECK_LEN)
size_t otp_marks_encode(const struct otp_marks *m, unsigned char buf[OTP_MARKS_BUFSZ]);
/* Hostile bytes: anything malformed reads as no marks (they may be lost, never trusted). */
void otp_marks_decode(const unsigned char *buf, size_t len, struct otp_marks *m);

#endif /* OTP_STORE_H */
