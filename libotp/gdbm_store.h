/* gdbm_store.h - the local store's parts: its files, the shared state, the log (otpkeys(5)). */
#ifndef OTP_GDBM_STORE_H
#define OTP_GDBM_STORE_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <gdbm.h>

#include "otp.h"
#include "store.h"

/*
 * The files beside the GDBM base file DB:
 *   DB        the records as of the last checkpoint (GDBM)
 *   DB.wal    the log: every change since, durable before it is acknowledged
 *   DB.lock   the state processes share while the machine is up (mapped):
 *             the lock, where the log ends and what of it is on disk, and
 *             the outstanding challenges; rebuilt after every boot
 *   DB.journal  the journal of earlier versions, replayed once if present
 */
struct gpaths {
	char db[PATH_MAX];
	char dir[PATH_MAX];
	char lock[PATH_MAX];
	char wal[PATH_MAX];
	char journal[PATH_MAX];
	char newdb[PATH_MAX];
};

#define RESERVED_GEN   " wal-gen"   /* in GDBM: the checkpoints it holds (8 bytes) */
#define KEY_MAX        255

/* ---- files and GDBM (gfile.c) --------------------------------------------- */

enum otp_err gpaths_make(struct gpaths *p, const char *path);
/* The directory: OTP_ERR_DB_MISSING, or made 0700 with create; OTP_ERR_DB_PERM if unsafe. */
enum otp_err gfile_check_dir(const char *dir, bool create);
/* fstatat(2), but never asking for the file's times (gfile.c says why). */
int gfile_fstatat(int dirfd, const char *path, int flags, struct stat *st);
/* Opens a file of the store (never through a symlink), checked safe; may create it 0600. */
enum otp_err gfile_open(const char *p, int flags, bool may_create, int *fd, bool *created);
enum otp_err gfile_sync_dir(const char *dir);
/* Which file an open descriptor is. */
struct gfile_id {
	dev_t dev;
	ino_t ino;
};
enum otp_err gfile_id_of(int fd, struct gfile_id *id);
/*
 * The file id was opened as is still the one at p (not replaced, no
 * symlink), still safe as gfile_open checks, and min_size bytes at least.
 */
enum otp_err gfile_still(const struct gfile_id *id, const char *p, size_t min_size);
enum otp_err gdb_err(int gdbm_errno_value);
/* Opens the GDBM file at path, checked, as a reader or a writer. */
enum otp_err gdb_open(const char *path, bool write, GDBM_FILE *dbf);
/* gdbm_fetch into buf (size bytes: one more than any value accepted); *found. */
enum otp_err gdb_fetch(GDBM_FILE dbf, const char *key, size_t keylen, unsigned char *buf,
                       size_t size, size_t *len, bool *found);
/* The checkpoint count GDBM holds (0 when none is recorded). */
enum otp_err gdb_gen(GDBM_FILE dbf, uint64_t *gen);
/* A new, empty GDBM file at p->db, built aside and renamed into place. */
enum otp_err gdb_create(const struct gpaths *p);
/* GDBM's own salvage of a damaged file, keeping a backup beside it. */
enum otp_err gdb_recover(GDBM_FILE dbf, const char *dir);
/* An earlier version's journal entry, if any, applied to the base and the journal removed. */
enum otp_err legacy_journal(const struct gpaths *p);

/* ---- the shared state (gshm.c) -------------------------------------------- */

#define MARK_SETS   2048
#define MARK_WAYS   4

struct mark_slot {
	unsigned char tag[OTP_CHECK_LEN];   /* the user's name, hashed */
	uint32_t len;
	unsigned char blob[OTP_MARKS_BUFSZ];
};

struct shm_hdr {
	char magic[8];
	uint32_t version;
	uint32_t ready;                 /* set last, once the rest is valid for this boot */
	char boot[40];                  /* the boot it is valid for */
	pthread_mutex_t lock;           /* the store's lock (robust, process-shared) */
	pthread_mutex_t sync;           /* held by the process making the log durable */
	uint64_t head;                  /* gen << 32 | bytes of the log in use; gen: checkpoints made */
	uint64_t synced;                /* gen << 32 | the log's bytes known to be on disk */
	uint64_t checkpoints, syncs;    /* counters, for otpkeys(5)'s claims and the bench */
	uint32_t sync_seq;              /* moved on by every sync, and waited on (a futex) */
	uint64_t base_id;               /* changes whenever the base may have: a reader of an older one opens it again */
	pthread_mutex_t base;           /* held by whoever writes the base (robust, process-shared) */
	uint64_t applied;               /* gen << 32 | the log's bytes written into the base ahead */
	uint64_t shared;                /* changes made durable by another process's sync */
	uint64_t shared_at;             /* how many at the last checkpoint */
};

#define SHM_MARKS_OFF 4096
_Static_assert(sizeof(struct shm_hdr) <= SHM_MARKS_OFF, "the lock file's header meets its marks");
#define SHM_SIZE      (SHM_MARKS_OFF + (size_t)MARK_SETS * MARK_WAYS * sizeof(struct mark_slot))

struct gshm {
	int fd;
	struct shm_hdr *h;              /* the mapping: SHM_SIZE bytes */
	char boot[40];                  /* the boot it was opened in */
};

/*
 * Maps DB.lock, holding a shared flock on it while the store is open; when
 * its state is not for this boot (a new file, or the machine restarted),
 * takes the flock exclusively and calls init (the log's recovery) first.
 */
typedef enum otp_err (*gshm_init_fn)(struct gshm *m, void *arg);
enum otp_err gshm_open(struct gshm *m, const struct gpaths *p, unsigned lock_ms,
                       gshm_init_fn init, void *arg);
void gshm_close(struct gshm *m);
/* The state is still valid for the boot it was opened in (a process never outlives its boot). */
bool gshm_current(const struct gshm *m);
/* The store's lock, waited for at most lock_ms: OTP_ERR_DB_LOCK. */
enum otp_err gshm_lock(struct gshm *m, unsigned lock_ms);
void gshm_unlock(struct gshm *m);
/*
 * The base's lock: whoever writes the base holds it, and a checkpoint or a
 * repair takes it under the store's lock, never the other way round.
 * lock_ms 0: only if it is free at once.
 */
enum otp_err gshm_base_lock(struct gshm *m, unsigned lock_ms);
void gshm_base_unlock(struct gshm *m);
/* The user's marks (none when unknown or damaged), and keeping new ones. */
void gshm_marks_get(struct gshm *m, const char *user, struct otp_marks *out);
void gshm_marks_put(struct gshm *m, const char *user, const struct otp_marks *in, int64_t now);

/* ---- the log (gwal.c) ---------------------------------------------------- */

#define WAL_CHECKPOINT (64u << 10)  /* the log in use never grows past this: cheap to read */
#define WAL_SIZE       (2 * WAL_CHECKPOINT)   /* preallocated, so that a write never changes its size */

enum wal_type { WAL_STORE = 1, WAL_DELETE = 2, WAL_NOOP = 3 };

/* An entry of the index: where the latest entry of a key starts (+ 1; 0 = free), and the key's hash. */
struct wal_slot {
	uint32_t off;
	uint32_t hash;
};

#define WAL_INDEX 4096              /* twice the most entries WAL_CHECKPOINT bytes can hold */

/*
 * The log's descriptor, its read-only mapping and an index of the entries
 * of generation gen up to have: each entry is indexed once, then only what
 * was added since, for as long as the store stays open (kept open too).
 */
struct gwal {
	int fd;
	const unsigned char *buf;       /* the first WAL_CHECKPOINT bytes, mapped shared */
	struct wal_slot *idx;           /* WAL_INDEX slots */
	size_t have;                    /* of generation gen, indexed */
	uint64_t gen;
};

/* One entry, as found in the log. */
struct wal_ref {
	enum wal_type type;
	size_t off, len;                /* where the entry starts in the log, and its size */
	const unsigned char *val;       /* into the mapping: valid while the store is open */
	size_t vallen;
};

enum otp_err gwal_open(struct gwal *w, const struct gpaths *p);
void gwal_close(struct gwal *w);
/*
 * After a boot: the entries of generation gen that are whole, from the
 * start; returns the bytes they take.  What follows was never durable.
 */
size_t gwal_recover(struct gwal *w, uint64_t gen);
/* The latest entry for key in [0, end) of generation gen; false when none. */
enum otp_err gwal_find(struct gwal *w, uint64_t gen, size_t end, const char *key, size_t keylen,
                       struct wal_ref *ref, bool *found);
/* Calls fn for the latest entry of every key in [0, end), in log order. */
typedef bool (*gwal_each_fn)(const char *key, size_t keylen, const struct wal_ref *ref, void *arg);
enum otp_err gwal_latest(struct gwal *w, uint64_t gen, size_t end, gwal_each_fn fn,
                         void *arg);
/* Whether the index, as far as it goes, knows a later entry for key (gen) than the one at off. */
bool gwal_later(const struct gwal *w, uint64_t gen, const char *key, size_t keylen, size_t off);
/* Calls fn for every entry in [from, to) of generation gen, in order, each checked whole. */
enum otp_err gwal_each(struct gwal *w, uint64_t gen, size_t from, size_t to, gwal_each_fn fn,
                       void *arg);
/* The bytes an entry takes. */
size_t gwal_size(size_t keylen, size_t vallen);
/* Writes an entry at offset end (not yet durable). */
enum otp_err gwal_append(struct gwal *w, uint64_t gen, size_t end, enum wal_type type,
                         const char *key, size_t keylen, const unsigned char *val, size_t vallen);
/*
 * Returns once the log is on disk up to mark (a head: gen << 32 | end), sharing
 * one fdatasync among the processes waiting (group commit).
 */
enum otp_err gwal_durable(struct gwal *w, struct gshm *m, uint64_t mark, unsigned lock_ms);

/* ---- the store, and its checkpoints (store_gdbm.c, gckpt.c) ---------------- */

/* A head: the log's generation in the high 32 bits, where its entries end in the low. */
#define GEN(h)          ((h) >> 32)
#define END(h)          ((size_t)((h) & 0xffffffffu))

struct gdbm_store {
	struct otp_store base;
	struct gpaths p;
	struct gshm m;
	struct gwal w;
	GDBM_FILE dbf;                  /* a reader of the base, for generation dbf_gen and base_id dbf_base */
	uint64_t dbf_gen, dbf_base;
	struct gfile_id lock_id, wal_id, dbf_id;   /* the files open, as opened */
	uint64_t head;                  /* the log's head while we hold the lock */
	bool create;
	uid_t euid;                     /* who opened it */
	bool suspect;                   /* a read failed: not kept open for the next open */
};

struct ent {
	const char *key;
	size_t keylen;
	struct wal_ref ref;
};

struct ents {
	struct ent *v;
	size_t n, cap;
	bool nomem;
};

/* Under the lock: g->dbf a new reader of the base (closed first if open), or NULL on failure. */
enum otp_err gdbm_reader(struct gdbm_store *g);
/* Under the lock, before the base is written: every reader of it opens it again. */
void gdbm_base_changes(struct gdbm_store *g);

/* Under the lock: the log's latest entry of every key, if at from or later (e->v into the log). */
enum otp_err gckpt_collect(struct gdbm_store *g, size_t from, struct ents *e);
bool gckpt_has(const struct ents *e, const char *key, size_t keylen);
/*
 * Under the lock: the log made durable, its latest entries written into
 * the base and the base synced, then the log started again under the next
 * generation.
 */
enum otp_err gckpt_run(struct gdbm_store *g);
/*
 * Without the store's lock, after a durable write, while changes are made
 * side by side: once a quarter of the log more is durable, its entries that
 * replace a record of the same size written into the base ahead of the
 * checkpoint, which is left the less to do under the lock.  Nothing happens
 * if another process is writing the base; a failure only leaves the work to
 * the checkpoint.
 */
void gckpt_ahead(struct gdbm_store *g);

#endif /* OTP_GDBM_STORE_H */
