/* gshm.c - the local store's shared state: the lock, the log's ends, outstanding challenges; one boot long. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "otp.h"
#include "internal.h"
#include "gdbm_store.h"

#define SHM_MAGIC    "OTPSHM01"
#define SHM_VERSION  2     /* 2: the base's lock, and what of the log is written ahead */
#define BOOT_ID      "/proc/sys/kernel/random/boot_id"

/* ---- the boot ------------------------------------------------------------------- */

/*
 * Which boot this is: the state in DB.lock (the lock, what of the log is
 * on disk) describes the running system only, and after a crash or a
 * power loss it must be rebuilt from the files.
 */
static enum otp_err boot_id(char out[40])
{
	char buf[64];
	ssize_t n = -1;
	int fd = open(BOOT_ID, O_RDONLY | O_CLOEXEC);

	memset(out, 0, 40);
	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (n < 32)
		return OTP_ERR_DB_OPEN;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(out, 40, "%.39s", buf);
	return OTP_OK;
}

/* ---- flock, waited for without signals ------------------------------------------ */

static enum otp_err flock_wait(int fd, int op, unsigned lock_ms)
{
	uint64_t deadline = otp_mono_ms() + lock_ms;
	unsigned nap = 1;

	for (;;) {
		if (flock(fd, op | LOCK_NB) == 0)
			return OTP_OK;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return OTP_ERR_DB_IO;
		if (otp_mono_ms() >= deadline)
			return OTP_ERR_DB_LOCK;
		otp_sleep_ms(nap);
		nap = nap < 16 ? nap * 2 : 16;
	}
}

/* ---- the mapping ----------------------------------------------------------------- */

static bool valid(const struct shm_hdr *h, const char *boot)
{
	return memcmp(h->magic, SHM_MAGIC, 8) == 0 && h->version == SHM_VERSION &&
	       __atomic_load_n(&h->ready, __ATOMIC_ACQUIRE) == 1 &&
	       strncmp(h->boot, boot, sizeof(h->boot)) == 0;
}

static enum otp_err mutex_init(pthread_mutex_t *mx)
{
	pthread_mutexattr_t a;
	int r;

	if (pthread_mutexattr_init(&a) != 0)
		return OTP_ERR_DB_IO;
	r = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) |
	    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) |
	    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK) |
	    pthread_mutex_init(mx, &a);
	pthread_mutexattr_destroy(&a);
	return r == 0 ? OTP_OK : OTP_ERR_DB_IO;
}

/* Under the exclusive flock: everything from the files, as after a power loss. */
static enum otp_err rebuild(struct gshm *m, const char *boot, gshm_init_fn init, void *arg)
{
	struct shm_hdr *h = m->h;
	enum otp_err rc;
	int r;

	__atomic_store_n(&h->ready, 0, __ATOMIC_RELEASE);
	/* Dropping the pages zeroes the marks too: a stale mark is only a skipped line anyway. */
	if (ftruncate(m->fd, 0) != 0 || ftruncate(m->fd, (off_t)SHM_SIZE) != 0)
		return OTP_ERR_DB_IO;
	/*
	 * Its blocks reserved now: a page of the mapping first touched later, on
	 * a full disk, would kill the process (SIGBUS) rather than fail a call.
	 */
	r = posix_fallocate(m->fd, 0, (off_t)SHM_SIZE);
	if (r != 0 && r != EOPNOTSUPP && r != EINVAL)
		return OTP_ERR_DB_IO;
	if ((rc = mutex_init(&h->lock)) != OTP_OK || (rc = mutex_init(&h->sync)) != OTP_OK ||
	    (rc = mutex_init(&h->base)) != OTP_OK)
		return rc;
	/* Whatever base another process's reader knew of before, it opens it again. */
	if ((rc = otp_random_bytes(&h->base_id, sizeof(h->base_id))) != OTP_OK ||
	    (rc = init(m, arg)) != OTP_OK)
		return rc;
	memcpy(h->magic, SHM_MAGIC, 8);
	h->version = SHM_VERSION;
	memcpy(h->boot, boot, sizeof(h->boot));
	__atomic_store_n(&h->ready, 1, __ATOMIC_RELEASE);
	return OTP_OK;
}

enum otp_err gshm_open(struct gshm *m, const struct gpaths *p, unsigned lock_ms,
                       gshm_init_fn init, void *arg)
{
	struct stat st;
	char boot[40];
	void *map;
	enum otp_err rc;

	m->fd = -1;
	m->h = NULL;
	if ((rc = boot_id(boot)) != OTP_OK)
		return rc;
	memcpy(m->boot, boot, sizeof(m->boot));
	if ((rc = gfile_open(p->lock, O_RDWR, true, &m->fd, NULL)) != OTP_OK)
		return rc;
	if (gfile_fstatat(m->fd, "", AT_EMPTY_PATH, &st) != 0 ||
	    ((size_t)st.st_size < SHM_SIZE && ftruncate(m->fd, (off_t)SHM_SIZE) != 0)) {
		rc = OTP_ERR_DB_IO;
		goto out;
	}
	map = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	if (map == MAP_FAILED) {
		rc = OTP_ERR_DB_IO;
		goto out;
	}
	m->h = map;
	if ((rc = flock_wait(m->fd, LOCK_SH, lock_ms)) != OTP_OK || valid(m->h, boot))
		goto out;
	/* Not yet for this boot: whoever gets the exclusive flock first rebuilds it. */
	if (flock(m->fd, LOCK_UN) != 0 || (rc = flock_wait(m->fd, LOCK_EX, lock_ms)) != OTP_OK)
		goto out;
	if (!valid(m->h, boot))
		rc = rebuild(m, boot, init, arg);
	if (rc == OTP_OK && flock(m->fd, LOCK_SH) != 0)
		rc = OTP_ERR_DB_IO;
out:
	if (rc != OTP_OK)
		gshm_close(m);
	return rc;
}

bool gshm_current(const struct gshm *m)
{
	return m->h != NULL && valid(m->h, m->boot);
}

void gshm_close(struct gshm *m)
{
	if (m->h != NULL)
		munmap(m->h, SHM_SIZE);
	if (m->fd >= 0)
		close(m->fd);      /* drops the flock */
	m->h = NULL;
	m->fd = -1;
}

/* ---- the lock -------------------------------------------------------------------------- */

static enum otp_err mutex_take(pthread_mutex_t *mx, unsigned lock_ms)
{
	struct timespec t;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += lock_ms / 1000;
	t.tv_nsec += (long)(lock_ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	r = lock_ms == 0 ? pthread_mutex_trylock(mx) : pthread_mutex_clocklock(mx, CLOCK_MONOTONIC, &t);
	/*
	 * Its holder died (SIGKILL) inside: what it left is safe to go on from,
	 * since a log entry counts only once the log's end includes it, a torn
	 * mark fails its check, and the base is written only with what the log
	 * still holds.
	 */
	if (r == EOWNERDEAD && pthread_mutex_consistent(mx) == 0)
		r = 0;
	if (r == 0)
		return OTP_OK;
	return r == ETIMEDOUT || r == EBUSY ? OTP_ERR_DB_LOCK : OTP_ERR_DB_IO;
}

enum otp_err gshm_lock(struct gshm *m, unsigned lock_ms)
{
	return mutex_take(&m->h->lock, lock_ms);
}

void gshm_unlock(struct gshm *m)
{
	pthread_mutex_unlock(&m->h->lock);
}

enum otp_err gshm_base_lock(struct gshm *m, unsigned lock_ms)
{
	return mutex_take(&m->h->base, lock_ms);
}

void gshm_base_unlock(struct gshm *m)
{
	pthread_mutex_unlock(&m->h->base);
}

/* ---- outstanding challenges ---------------------------------------------------------- */

static struct mark_slot *set_of(struct gshm *m, const unsigned char tag[OTP_CHECK_LEN])
{
	unsigned set = (unsigned)(otp_get_u32(tag) % MARK_SETS);

	return (struct mark_slot *)(void *)((char *)m->h + SHM_MARKS_OFF) + (size_t)set * MARK_WAYS;
}

static bool tag_of(const char *user, unsigned char tag[OTP_CHECK_LEN])
{
	return otp_check_sum(user, strlen(user), tag) == OTP_OK;
}

void gshm_marks_get(struct gshm *m, const char *user, struct otp_marks *out)
{
	unsigned char tag[OTP_CHECK_LEN];
	struct mark_slot *s;

	memset(out, 0, sizeof(*out));
	if (!tag_of(user, tag))
		return;
	s = set_of(m, tag);
	for (unsigned i = 0; i < MARK_WAYS; i++)
		if (memcmp(s[i].tag, tag, sizeof(tag)) == 0 && s[i].len <= sizeof(s[i].blob)) {
			otp_marks_decode(s[i].blob, s[i].len, out);
			return;
		}
}

/* The latest expiry a slot holds; 0 for an empty or damaged one. */
static int64_t slot_until(const struct mark_slot *s)
{
	struct otp_marks mk;
	int64_t until = 0;

	if (s->len > sizeof(s->blob))
		return 0;
	otp_marks_decode(s->blob, s->len, &mk);
	for (unsigned i = 0; i < mk.n; i++)
		if (mk.m[i].expires > until)
			until = mk.m[i].expires;
	return until;
}

void gshm_marks_put(struct gshm *m, const char *user, const struct otp_marks *in, int64_t now)
{
	unsigned char tag[OTP_CHECK_LEN], blob[OTP_MARKS_BUFSZ];
	struct mark_slot *s, *use = NULL;
	size_t len;

	if (!tag_of(user, tag))
		return;
	s = set_of(m, tag);
	for (unsigned i = 0; i < MARK_WAYS && use == NULL; i++)
		if (memcmp(s[i].tag, tag, sizeof(tag)) == 0)
			use = &s[i];
	/* Else the slot that is free or ends first: a name crowded out loses only its marks. */
	for (unsigned i = 0; i < MARK_WAYS && use == NULL && in->n > 0; i++)
		if (slot_until(&s[i]) <= now)
			use = &s[i];
	if (use == NULL && in->n > 0) {
		use = &s[0];
		for (unsigned i = 1; i < MARK_WAYS; i++)
			if (slot_until(&s[i]) < slot_until(use))
				use = &s[i];
	}
	if (use == NULL)
		return;
	if (in->n == 0) {
		memset(use, 0, sizeof(*use));
		return;
	}
	if ((len = otp_marks_encode(in, blob)) == 0)
		return;
	memcpy(use->tag, tag, sizeof(tag));
	memcpy(use->blob, blob, len);
	use->len = (uint32_t)len;
}
