/* store.c - the key store behind one interface: choosing a store by its spec, and the calls every program uses. */
#include <string.h>

#include "otp.h"
#include "internal.h"
#include "store.h"
#include "fake.h"

#define HOST_SECRET_MAGIC "OTPHSEC1"
#define HOST_SECRET_LEN   32
#define HOST_SECRET_VLEN  (8 + HOST_SECRET_LEN + OTP_CHECK_LEN)
#define MARKS_MAGIC       0x4d4bu      /* "KM" */

const char *otp_db_path(const char *spec)
{
	return spec != NULL ? spec : OTP_DEFAULT_DB;
}

bool otp_db_is_remote(const char *spec)
{
	spec = otp_db_path(spec);
	return strncmp(spec, "postgresql://", 13) == 0 || strncmp(spec, "postgres://", 11) == 0;
}

enum otp_err otp_db_spec_check(const char *spec)
{
	if (spec == NULL || spec[0] == '\0' || strlen(spec) >= 4096)
		return OTP_ERR_INVALID;
	if (otp_db_is_remote(spec) || spec[0] == '/')
		return OTP_OK;
	return OTP_ERR_INVALID;
}

enum otp_err otp_store_open(const char *spec, unsigned lock_ms, bool create,
                            struct otp_store **s)
{
	*s = NULL;
	spec = otp_db_path(spec);
	if (spec[0] == '\0')
		return OTP_ERR_INVALID;
	if (otp_db_is_remote(spec))
		return otp_pg_open(spec, lock_ms, create, s);
	return otp_gdbm_open(spec, lock_ms, create, s);
}

void otp_store_close(struct otp_store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

void otp_db_release(void)
{
	otp_gdbm_release();
}

enum otp_login_res otp_store_res(enum otp_err e)
{
	switch (e) {
	case OTP_OK:
		return OTP_LOGIN_OK;
	case OTP_ERR_DB_LOCK:
		return OTP_LOGIN_BUSY;
	default:
		/* Missing, unreadable, unsafe, corrupt or unreachable: never a success. */
		return OTP_LOGIN_UNAVAIL;
	}
}

/* ---- marks ------------------------------------------------------------------- */

size_t otp_marks_encode(const struct otp_marks *m, unsigned char buf[OTP_MARKS_BUFSZ])
{
	unsigned n = m->n > OTP_PENDING_MAX ? OTP_PENDING_MAX : m->n;
	size_t len = 4 + (size_t)n * OTP_MARK_SIZE;

	memset(buf, 0, OTP_MARKS_BUFSZ);
	otp_put_u16(buf, MARKS_MAGIC);
	otp_put_u16(buf + 2, (uint16_t)n);
	for (unsigned i = 0; i < n; i++) {
		unsigned char *p = buf + 4 + (size_t)i * OTP_MARK_SIZE;

		otp_put_u64(p, m->m[i].id);
		otp_put_u64(p + 8, (uint64_t)m->m[i].expires);
		otp_put_u32(p + 16, m->m[i].seq);
	}
	if (otp_check_sum(buf, len, buf + len) != OTP_OK)
		return 0;
	return len + OTP_CHECK_LEN;
}

void otp_marks_decode(const unsigned char *buf, size_t len, struct otp_marks *m)
{
	unsigned n;

	memset(m, 0, sizeof(*m));
	if (buf == NULL || len < 4 + OTP_CHECK_LEN || otp_get_u16(buf) != MARKS_MAGIC)
		return;
	n = otp_get_u16(buf + 2);
	if (n > OTP_PENDING_MAX || len != 4 + (size_t)n * OTP_MARK_SIZE + OTP_CHECK_LEN ||
	    !otp_check_ok(buf, len - OTP_CHECK_LEN, buf + len - OTP_CHECK_LEN))
		return;
	for (unsigned i = 0; i < n; i++) {
		const unsigned char *p = buf + 4 + (size_t)i * OTP_MARK_SIZE;

		m->m[i].id = otp_get_u64(p);
		m->m[i].expires = (int64_t)otp_get_u64(p + 8);
		m->m[i].seq = otp_get_u32(p + 16);
	}
	m->n = n;
}

/* ---- the host secret ------------------------------------------------------------ */

static enum otp_err secret_encode(const unsigned char secret[32], unsigned char v[HOST_SECRET_VLEN])
{
	memcpy(v, HOST_SECRET_MAGIC, 8);
	memcpy(v + 8, secret, HOST_SECRET_LEN);
	return otp_check_sum(v, HOST_SECRET_VLEN - OTP_CHECK_LEN, v + HOST_SECRET_VLEN - OTP_CHECK_LEN);
}

static enum otp_err secret_read(struct otp_store *s, unsigned char out[32])
{
	unsigned char v[HOST_SECRET_VLEN + 1];
	size_t len = 0;
	enum otp_err rc = s->ops->meta_get(s, OTP_META_HOST_SECRET, v, sizeof(v), &len);

	if (rc == OTP_OK) {
		if (len != HOST_SECRET_VLEN || memcmp(v, HOST_SECRET_MAGIC, 8) != 0 ||
		    !otp_check_ok(v, HOST_SECRET_VLEN - OTP_CHECK_LEN, v + HOST_SECRET_VLEN - OTP_CHECK_LEN))
			rc = OTP_ERR_DB_CORRUPT;
		else
			memcpy(out, v + 8, HOST_SECRET_LEN);
	}
	otp_wipe(v, sizeof(v));
	return rc;
}

enum otp_err otp_store_host_secret(struct otp_store *s, unsigned char out[32])
{
	unsigned char v[HOST_SECRET_VLEN], fresh[HOST_SECRET_LEN];
	enum otp_err rc = secret_read(s, out);

	if (rc != OTP_ERR_NOUSER)
		goto out;
	/* The first use: one host (or process) wins the race, all use its secret. */
	if ((rc = otp_random_bytes(fresh, sizeof(fresh))) != OTP_OK ||
	    (rc = secret_encode(fresh, v)) != OTP_OK)
		goto out;
	rc = s->ops->meta_put(s, OTP_META_HOST_SECRET, v, sizeof(v), true);
	if (rc == OTP_OK || rc == OTP_ERR_EXISTS)
		rc = secret_read(s, out);
out:
	if (rc != OTP_OK)
		otp_wipe(out, HOST_SECRET_LEN);
	otp_wipe(v, sizeof(v));
	otp_wipe(fresh, sizeof(fresh));
	return rc;
}

/* ---- the calls every program uses ------------------------------------------------- */

struct update_ctx {
	otp_db_update_fn fn;
	void *arg;
	enum otp_db_action act;
	bool existed;
};

static enum otp_db_action update_cb(struct otp_txn *t, void *arg, enum otp_err *err)
{
	struct update_ctx *u = arg;

	u->existed = t->exists;
	u->act = u->fn(t->user, &t->rec, t->exists, u->arg, err);
	return u->act;
}

enum otp_err otp_db_update(const char *spec, const char *user, bool create,
                           unsigned lock_ms, otp_db_update_fn fn, void *arg)
{
	struct update_ctx u = { .fn = fn, .arg = arg, .act = OTP_DB_KEEP };
	struct otp_store *s = NULL;
	enum otp_err rc;

	if (fn == NULL)
		return OTP_ERR_INVALID;
	if ((rc = otp_user_check(user)) != OTP_OK)
		return rc;
	if ((rc = otp_store_open(spec, lock_ms, create, &s)) != OTP_OK)
		return rc;
	rc = s->ops->txn(s, user, create ? OTP_TXN_CREATE : 0, update_cb, &u);
	/*
	 * The store-wide values logins need are made by the programs that add
	 * users, so that no login ever adds an entry to the store.
	 */
	if (rc == OTP_OK && create) {
		unsigned char secret[32];

		rc = otp_store_host_secret(s, secret);
		otp_wipe(secret, sizeof(secret));
	}
	/* Who is enrolled shapes the fake challenges: keep their sample current. */
	if (rc == OTP_OK && u.act == OTP_DB_STORE && !u.existed)
		rc = otp_profile_note(s, user, true);
	else if (rc == OTP_OK && u.act == OTP_DB_DELETE && u.existed)
		rc = otp_profile_note(s, user, false);
	otp_store_close(s);
	return rc;
}

enum otp_err otp_db_get(const char *spec, const char *user, unsigned lock_ms,
                        struct otp_record *rec)
{
	struct otp_store *s = NULL;
	enum otp_err rc;

	if (rec == NULL)
		return OTP_ERR_INVALID;
	memset(rec, 0, sizeof(*rec));
	if ((rc = otp_user_check(user)) != OTP_OK)
		return rc;
	if ((rc = otp_store_open(spec, lock_ms, false, &s)) != OTP_OK)
		return rc;
	rc = s->ops->get(s, user, rec);
	otp_store_close(s);
	if (rc != OTP_OK)
		otp_wipe(rec, sizeof(*rec));
	return rc;
}

enum otp_err otp_db_foreach(const char *spec, unsigned lock_ms, otp_db_each_fn fn, void *arg)
{
	struct otp_store *s = NULL;
	enum otp_err rc;

	if (fn == NULL)
		return OTP_ERR_INVALID;
	if ((rc = otp_store_open(spec, lock_ms, false, &s)) != OTP_OK)
		return rc;
	rc = s->ops->foreach(s, fn, arg);
	otp_store_close(s);
	return rc;
}

enum otp_err otp_db_host_secret(const char *spec, unsigned lock_ms, unsigned char out[32])
{
	struct otp_store *s = NULL;
	enum otp_err rc;

	if (out == NULL)
		return OTP_ERR_INVALID;
	if ((rc = otp_store_open(spec, lock_ms, false, &s)) != OTP_OK)
		return rc;
	rc = otp_store_host_secret(s, out);
	otp_store_close(s);
	return rc;
}

enum otp_err otp_db_set_host_secret(const char *spec, unsigned lock_ms, const unsigned char in[32],
                                    bool force)
{
	unsigned char v[HOST_SECRET_VLEN], cur[HOST_SECRET_LEN];
	struct otp_store *s = NULL;
	enum otp_err rc;

	if ((rc = otp_store_open(spec, lock_ms, true, &s)) != OTP_OK)
		return rc;
	rc = secret_read(s, cur);
	if (rc == OTP_OK && otp_secret_equal((const char *)cur, sizeof(cur), (const char *)in,
	                                     HOST_SECRET_LEN))
		goto out;
	if (rc == OTP_OK && !force) {
		rc = OTP_ERR_EXISTS;
		goto out;
	}
	if (rc != OTP_OK && rc != OTP_ERR_NOUSER)
		goto out;
	if ((rc = secret_encode(in, v)) == OTP_OK)
		rc = s->ops->meta_put(s, OTP_META_HOST_SECRET, v, sizeof(v), false);
out:
	otp_store_close(s);
	otp_wipe(v, sizeof(v));
	otp_wipe(cur, sizeof(cur));
	return rc;
}

struct pending_ctx {
	bool clear;
	int64_t now;
	unsigned n;
};

static enum otp_db_action pending_cb(struct otp_txn *t, void *arg, enum otp_err *err)
{
	struct pending_ctx *c = arg;

	(void)err;
	for (unsigned i = 0; i < t->marks.n; i++)
		c->n += t->marks.m[i].expires > c->now;
	if (c->clear && t->marks.n > 0) {
		memset(&t->marks, 0, sizeof(t->marks));
		t->marks_changed = true;
	}
	return OTP_DB_KEEP;
}

enum otp_err otp_db_pending(const char *spec, const char *user, unsigned lock_ms, bool clear,
                            unsigned *n)
{
	struct pending_ctx c = { .clear = clear, .now = otp_now() };
	struct otp_store *s = NULL;
	enum otp_err rc;

	*n = 0;
	if ((rc = otp_user_check(user)) != OTP_OK)
		return rc;
	if ((rc = otp_store_open(spec, lock_ms, false, &s)) != OTP_OK)
		return rc;
	rc = s->ops->txn(s, user, OTP_TXN_MARKS, pending_cb, &c);
	otp_store_close(s);
	if (rc == OTP_OK)
		*n = c.n;
	return rc;
}

enum otp_err otp_db_flush(const char *spec, unsigned lock_ms)
{
	struct otp_store *s = NULL;
	enum otp_err rc;

	if ((rc = otp_store_open(spec, lock_ms, false, &s)) != OTP_OK)
		return rc;
	if (s->ops->flush != NULL)
		rc = s->ops->flush(s);
	otp_store_close(s);
	return rc;
}
