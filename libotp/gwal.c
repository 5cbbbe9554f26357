/* gwal.c - the local store's log: every change since the last checkpoint, durable before it counts; group commit. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "otp.h"
#include "internal.h"
#include "gdbm_store.h"

/*
 * An entry (otpkeys(5)): magic, the low 32 bits of its generation, type,
 * a zero byte, key length (u16), value length (u32), key, value, zero
 * padding to a multiple of 8, and the check over all of that.
 */
#define ENT_MAGIC   "OTPW"
#define ENT_HDR     16
#define ENT_VAL_MAX 8192
#define ENT_MIN     32          /* gwal_size(1, 0) */

/* Half full at most, so that a probe always ends. */
_Static_assert(WAL_INDEX >= 2 * (WAL_CHECKPOINT / ENT_MIN), "the log's index is too small");

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

size_t gwal_size(size_t keylen, size_t vallen)
{
	return pad8(ENT_HDR + keylen + vallen) + OTP_CHECK_LEN;
}

enum otp_err gwal_open(struct gwal *w, const struct gpaths *p)
{
	struct stat st;
	void *map;
	enum otp_err rc;

	w->buf = NULL;
	w->idx = NULL;
	w->have = 0;
	w->gen = 0;
	if ((rc = gfile_open(p->wal, O_RDWR, false, &w->fd, NULL)) != OTP_OK)
		return rc;
	/* Never shorter than its mapping (nothing shortens it): reading it cannot fault. */
	if (gfile_fstatat(w->fd, "", AT_EMPTY_PATH, &st) != 0 || (size_t)st.st_size < WAL_SIZE) {
		gwal_close(w);
		return OTP_ERR_DB_CORRUPT;
	}
	/* Read through the page cache, written with pwrite: no copy of its own to wipe. */
	map = mmap(NULL, WAL_CHECKPOINT, PROT_READ, MAP_SHARED, w->fd, 0);
	if (map == MAP_FAILED) {
		gwal_close(w);
		return OTP_ERR_DB_IO;
	}
	w->buf = map;
	if ((w->idx = calloc(WAL_INDEX, sizeof(*w->idx))) == NULL) {
		gwal_close(w);
		return OTP_ERR_NOMEM;
	}
	return OTP_OK;
}

/* The index emptied: the next read indexes the log from its start. */
static void gwal_forget(struct gwal *w)
{
	if (w->idx != NULL)
		memset(w->idx, 0, WAL_INDEX * sizeof(*w->idx));
	w->have = 0;
}

void gwal_close(struct gwal *w)
{
	gwal_forget(w);
	if (w->buf != NULL)
		munmap((void *)w->buf, WAL_CHECKPOINT);
	free(w->idx);
	if (w->fd >= 0)
		close(w->fd);
	w->buf = NULL;
	w->idx = NULL;
	w->fd = -1;
}

static size_t entry_at(const struct gwal *w, size_t off, size_t end, uint64_t gen, bool check,
                       const unsigned char **key, size_t *keylen, struct wal_ref *ref);
static void index_entry(struct gwal *w, size_t off, const unsigned char *key, size_t keylen);

/*
 * The index brought up to end bytes of generation gen: the entries added
 * since it was last brought up indexed (all of them in a new generation);
 * OTP_ERR_DB_CORRUPT when they do not fill the bytes in use.  Within a
 * generation the log only grows (otpkeys(5)), so what is indexed stays true.
 */
static enum otp_err catch_up(struct gwal *w, uint64_t gen, size_t end)
{
	const unsigned char *k;
	struct wal_ref ref;
	size_t off, kl, n;

	if (w->gen != gen || w->have > end) {
		gwal_forget(w);
		w->gen = gen;
	}
	/* Headers only on the way; an entry used is checked whole. */
	for (off = w->have; (n = entry_at(w, off, end, gen, false, &k, &kl, &ref)) > 0; off += n) {
		w->have = off + n;
		index_entry(w, off, k, kl);
	}
	if (off != end) {
		gwal_forget(w);
		return OTP_ERR_DB_CORRUPT;
	}
	return OTP_OK;
}

/*
 * The entry at off: its size, or 0 when there is none there (a different
 * generation, a bad header, past the end).  With check, the whole entry
 * must also pass its check.
 */
static size_t entry_at(const struct gwal *w, size_t off, size_t end, uint64_t gen, bool check,
                       const unsigned char **key, size_t *keylen, struct wal_ref *ref)
{
	const unsigned char *e = w->buf + off;
	size_t kl, vl, n;

	if (off + ENT_HDR + OTP_CHECK_LEN > end || memcmp(e, ENT_MAGIC, 4) != 0 ||
	    otp_get_u32(e + 4) != (uint32_t)gen || e[8] < WAL_STORE || e[8] > WAL_NOOP || e[9] != 0)
		return 0;
	kl = otp_get_u16(e + 10);
	vl = otp_get_u32(e + 12);
	if (kl == 0 || kl > KEY_MAX || vl > ENT_VAL_MAX || (e[8] != WAL_STORE && vl != 0))
		return 0;
	n = gwal_size(kl, vl);
	if (off + n > end || (check && !otp_check_ok(e, n - OTP_CHECK_LEN, e + n - OTP_CHECK_LEN)))
		return 0;
	*key = e + ENT_HDR;
	*keylen = kl;
	ref->off = off;
	ref->len = n;
	ref->type = (enum wal_type)e[8];
	ref->val = e + ENT_HDR + kl;
	ref->vallen = vl;
	return n;
}

size_t gwal_recover(struct gwal *w, uint64_t gen)
{
	const unsigned char *key;
	struct wal_ref ref;
	size_t off = 0, kl, n;

	gwal_forget(w);
	w->gen = gen;
	while ((n = entry_at(w, off, WAL_CHECKPOINT, gen, true, &key, &kl, &ref)) > 0)
		off += n;
	return off;
}

/* ---- the index: every key's latest entry in the copy ------------------------------ */

static uint32_t hash_key(const unsigned char *k, size_t n)
{
	uint32_t h = 2166136261u;   /* FNV-1a: an index in memory, nothing stored */

	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 16777619u;
	return h;
}

/* The slot for key: its own, or the free one it would take (the index is never full). */
static struct wal_slot *lookup(const struct gwal *w, const unsigned char *key, size_t keylen, uint32_t h)
{
	for (size_t i = h & (WAL_INDEX - 1);; i = (i + 1) & (WAL_INDEX - 1)) {
		struct wal_slot *t = &w->idx[i];
		const unsigned char *k;
		struct wal_ref ref;
		size_t kl;

		if (t->off == 0)
			return t;
		if (t->hash == h && entry_at(w, t->off - 1, w->have, w->gen, false, &k, &kl, &ref) > 0 &&
		    kl == keylen && memcmp(k, key, keylen) == 0)
			return t;
	}
}

static void index_entry(struct gwal *w, size_t off, const unsigned char *key, size_t keylen)
{
	uint32_t h = hash_key(key, keylen);
	struct wal_slot *s = lookup(w, key, keylen, h);

	s->off = (uint32_t)off + 1;
	s->hash = h;
}

enum otp_err gwal_find(struct gwal *w, uint64_t gen, size_t end, const char *key, size_t keylen,
                       struct wal_ref *out, bool *found)
{
	const unsigned char *k;
	const struct wal_slot *s;
	size_t kl;
	enum otp_err rc;

	*found = false;
	if ((rc = catch_up(w, gen, end)) != OTP_OK)
		return rc;
	s = lookup(w, (const unsigned char *)key, keylen, hash_key((const unsigned char *)key, keylen));
	if (s->off == 0)
		return OTP_OK;
	if (entry_at(w, s->off - 1, end, gen, true, &k, &kl, out) == 0)
		return OTP_ERR_DB_CORRUPT;
	*found = true;
	return OTP_OK;
}

enum otp_err gwal_latest(struct gwal *w, uint64_t gen, size_t end, gwal_each_fn fn,
                         void *arg)
{
	const unsigned char *k;
	struct wal_ref ref;
	size_t off, n, kl;
	enum otp_err rc;

	if ((rc = catch_up(w, gen, end)) != OTP_OK)
		return rc;
	for (off = 0; (n = entry_at(w, off, end, gen, false, &k, &kl, &ref)) > 0; off += n) {
		if (lookup(w, k, kl, hash_key(k, kl))->off != off + 1)
			continue;       /* a later entry for the key follows */
		if (entry_at(w, off, end, gen, true, &k, &kl, &ref) == 0)
			return OTP_ERR_DB_CORRUPT;
		if (!fn((const char *)k, kl, &ref, arg))
			break;
	}
	return OTP_OK;
}

bool gwal_later(const struct gwal *w, uint64_t gen, const char *key, size_t keylen, size_t off)
{
	const struct wal_slot *s;

	if (w->gen != gen)
		return false;
	s = lookup(w, (const unsigned char *)key, keylen, hash_key((const unsigned char *)key, keylen));
	return s->off != 0 && s->off - 1 > off;
}

enum otp_err gwal_each(struct gwal *w, uint64_t gen, size_t from, size_t to, gwal_each_fn fn,
                       void *arg)
{
	const unsigned char *k;
	struct wal_ref ref;
	size_t off, n, kl;

	for (off = from; off < to; off += n) {
		if ((n = entry_at(w, off, to, gen, true, &k, &kl, &ref)) == 0)
			return OTP_ERR_DB_CORRUPT;
		if (!fn((const char *)k, kl, &ref, arg))
			break;
	}
	return OTP_OK;
}

/* ---- writing, and making it durable ------------------------------------------------ */

enum otp_err gwal_append(struct gwal *w, uint64_t gen, size_t end, enum wal_type type,
                         const char *key, size_t keylen, const unsigned char *val, size_t vallen)
{
	unsigned char e[ENT_HDR + KEY_MAX + ENT_VAL_MAX + 16];
	size_t n = gwal_size(keylen, vallen);
	enum otp_err rc;

	if (keylen == 0 || keylen > KEY_MAX || vallen > ENT_VAL_MAX || end + n > WAL_CHECKPOINT)
		return OTP_ERR_INVALID;
	memset(e, 0, n);
	memcpy(e, ENT_MAGIC, 4);
	otp_put_u32(e + 4, (uint32_t)gen);
	e[8] = (unsigned char)type;
	otp_put_u16(e + 10, (uint16_t)keylen);
	otp_put_u32(e + 12, (uint32_t)vallen);
	memcpy(e + ENT_HDR, key, keylen);
	if (vallen > 0)
		memcpy(e + ENT_HDR + keylen, val, vallen);
	if ((rc = otp_check_sum(e, n - OTP_CHECK_LEN, e + n - OTP_CHECK_LEN)) == OTP_OK &&
	    pwrite(w->fd, e, n, (off_t)end) != (ssize_t)n)
		rc = OTP_ERR_DB_IO;
	otp_wipe(e, n);
	return rc;
}

static void raise_to(uint64_t *v, uint64_t to)
{
	uint64_t cur = __atomic_load_n(v, __ATOMIC_ACQUIRE);

	while (cur < to && !__atomic_compare_exchange_n(v, &cur, to, false, __ATOMIC_ACQ_REL,
	                                                __ATOMIC_ACQUIRE))
		;
}

/* Waits (at most ms) for *word to change from seen, woken by the process that moves it on. */
static void wait_word(uint32_t *word, uint32_t seen, unsigned ms)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	/* Shared between processes: not a private futex. */
	(void)syscall(SYS_futex, word, FUTEX_WAIT, seen, &t, NULL, 0);
}

static void wake_word(uint32_t *word)
{
	__atomic_add_fetch(word, 1, __ATOMIC_RELEASE);
	(void)syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Under the sync lock: everything written before this point made durable, for whoever wrote it. */
static enum otp_err sync_all(struct gwal *w, struct shm_hdr *h)
{
	uint64_t head = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE);

	if (fdatasync(w->fd) != 0)
		return OTP_ERR_DB_IO;
	__atomic_add_fetch(&h->syncs, 1, __ATOMIC_RELAXED);
	raise_to(&h->synced, head);
	return OTP_OK;
}

/*
 * Whoever finds the sync lock free syncs everything written so far and
 * wakes every waiter at once; the others wait for that, and look again
 * whether it covered their entry.  A syncer that died holding the lock
 * (robust) is taken over after at most one nap.
 */
enum otp_err gwal_durable(struct gwal *w, struct gshm *m, uint64_t mark, unsigned lock_ms)
{
	struct shm_hdr *h = m->h;
	uint64_t deadline = otp_mono_ms() + lock_ms + 1000;
	enum otp_err rc;
	bool waited = false;

	for (;;) {
		uint32_t seen = __atomic_load_n(&h->sync_seq, __ATOMIC_ACQUIRE);
		int r;

		if (__atomic_load_n(&h->synced, __ATOMIC_ACQUIRE) >= mark) {
			if (waited)
				__atomic_add_fetch(&h->shared, 1, __ATOMIC_RELAXED);
			return OTP_OK;
		}
		r = pthread_mutex_trylock(&h->sync);
		if (r == EOWNERDEAD && pthread_mutex_consistent(&h->sync) == 0)
			r = 0;
		if (r == 0) {
			rc = __atomic_load_n(&h->synced, __ATOMIC_ACQUIRE) >= mark ? OTP_OK : sync_all(w, h);
			wake_word(&h->sync_seq);
			pthread_mutex_unlock(&h->sync);
			if (rc != OTP_OK)
				return rc;
			continue;
		}
		if (r != EBUSY)
			return OTP_ERR_DB_IO;
		if (otp_mono_ms() >= deadline)
			return OTP_ERR_DB_LOCK;
		/* Another process is syncing: changes are being made side by side. */
		waited = true;
		wait_word(&h->sync_seq, seen, 10);
	}
}
