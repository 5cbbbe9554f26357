/* apop.c - RFC 1939 s7 APOP logins and reusable-password pass-through, under the same rules as one-time passwords. */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "otp.h"
#include "internal.h"
#include "store.h"

struct apop_ctx {
	const struct otp_policy *p;
	const char *stamp;
	const unsigned char *want;      /* the client's digest, 16 bytes */
	int64_t now;
	bool matched;
	enum otp_err why;               /* the real reason, for the log */
};

/* MD5(stamp || secret) == want, in constant time; the same work for secret "". */
static enum otp_err apop_match(const char *stamp, const char *secret,
                               const unsigned char want[16], bool *matched)
{
	unsigned char msg[OTP_APOP_STAMP_MAX + OTP_APOP_SECRET_MAX];
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t slen = strlen(stamp), klen = strnlen(secret, OTP_APOP_SECRET_MAX);
	size_t mdlen = 0;
	enum otp_err rc = OTP_ERR_CRYPTO;

	*matched = false;
	memcpy(msg, stamp, slen);
	memcpy(msg + slen, secret, klen);
	ERR_set_mark();
	if (EVP_Q_digest(NULL, "MD5", NULL, msg, slen + klen, md, &mdlen) == 1 && mdlen == 16) {
		*matched = CRYPTO_memcmp(md, want, 16) == 0 && klen > 0;
		rc = OTP_OK;
	}
	ERR_pop_to_mark();
	otp_wipe(msg, sizeof(msg));
	otp_wipe(md, sizeof(md));
	return rc;
}

/*
 * Under the lock: one MD5 whatever the case, then a durable write for
 * every refusal (a counted failure, or a no-op for the unknown, disabled,
 * locked and secretless), so that neither the answer nor its timing tells
 * which users exist.  A success with nothing to reset writes nothing.
 */
static enum otp_db_action apop_cb(struct otp_txn *t, void *arg, enum otp_err *err)
{
	struct apop_ctx *c = arg;
	struct otp_record *rec = &t->rec;
	bool usable = t->exists && !(rec->flags & OTP_REC_DISABLED) &&
	              rec->locked_until <= c->now && rec->apop_secret[0] != '\0';
	bool m = false;

	if ((*err = apop_match(c->stamp, usable ? rec->apop_secret : "", c->want, &m)) != OTP_OK)
		return OTP_DB_KEEP;
	t->sync = true;
	if (!t->exists)
		c->why = OTP_ERR_NOUSER;
	else if (rec->flags & OTP_REC_DISABLED)
		c->why = OTP_ERR_DISABLED;
	else if (rec->locked_until > c->now)
		c->why = OTP_ERR_LOCKED;
	else if (rec->apop_secret[0] == '\0')
		c->why = OTP_ERR_NO_APOP;
	else if (!m) {
		c->why = OTP_ERR_BAD_OTP;
		otp_record_failure(rec, c->p->max_failures, c->p->lockout, c->now);
		return OTP_DB_STORE;
	} else {
		c->why = OTP_OK;
		c->matched = true;
		t->sync = false;
		if (rec->failures == 0 && rec->locked_until == 0)
			return OTP_DB_KEEP;
		otp_record_success(rec, c->now);
		return OTP_DB_STORE;
	}
	return OTP_DB_KEEP;
}

enum otp_login_res otp_apop_verify(const struct otp_policy *p, const char *user,
                                   const char *timestamp, const char *digest_hex,
                                   enum otp_err *why)
{
	struct apop_ctx c = { .p = p, .stamp = timestamp, .now = otp_now(), .why = OTP_ERR_BAD_OTP };
	struct otp_store *s = NULL;
	unsigned char want[16];
	enum otp_login_res res = OTP_LOGIN_REFUSED;
	enum otp_err rc;

	memset(want, 0, sizeof(want));
	if (timestamp == NULL || digest_hex == NULL || strlen(timestamp) > OTP_APOP_STAMP_MAX) {
		c.why = OTP_ERR_INVALID;
		goto out;
	}
	/* A malformed digest cannot match: it is checked like a wrong one (all zero). */
	if (strlen(digest_hex) == OTP_APOP_DIGEST_LEN) {
		for (size_t i = 0; i < 16; i++) {
			int hi = otp_hexval((unsigned char)digest_hex[2 * i]);
			int lo = otp_hexval((unsigned char)digest_hex[2 * i + 1]);

			if (hi < 0 || lo < 0) {
				memset(want, 0, sizeof(want));
				break;
			}
			want[i] = (unsigned char)(hi << 4 | lo);
		}
	}
	c.want = want;
	if (otp_user_check(user) != OTP_OK) {
		c.why = OTP_ERR_USER;
		goto out;
	}
	if ((rc = otp_store_open(p->db, p->lock_ms, false, &s)) == OTP_OK)
		rc = s->ops->txn(s, user, 0, apop_cb, &c);
	otp_store_close(s);
	if (rc != OTP_OK) {
		c.why = rc;
		res = otp_store_res(rc);
	} else if (c.matched) {
		res = OTP_LOGIN_OK;
	}
out:
	if (why != NULL)
		*why = c.why;
	otp_wipe(want, sizeof(want));
	return res;
}

/* ---- reusable-password pass-through (apop-proxy's allow_plain_pass) ------------ */

struct pass_ctx {
	const struct otp_policy *p;
	bool backend_ok;
	int64_t now;
	enum otp_login_res res;
	enum otp_err why;
};

static enum otp_db_action pass_cb(struct otp_txn *t, void *arg, enum otp_err *err)
{
	struct pass_ctx *c = arg;
	struct otp_record *rec = &t->rec;

	(void)err;
	c->res = OTP_LOGIN_REFUSED;
	t->sync = true;
	if (!t->exists) {
		/* Not ours to judge: the mail store's password decides alone. */
		c->why = c->backend_ok ? OTP_OK : OTP_ERR_BAD_OTP;
		c->res = c->backend_ok ? OTP_LOGIN_OK : OTP_LOGIN_REFUSED;
		return OTP_DB_KEEP;
	}
	if (rec->flags & OTP_REC_DISABLED) {
		c->why = OTP_ERR_DISABLED;
		return OTP_DB_KEEP;
	}
	if (rec->locked_until > c->now) {
		/* A reusable password can be guessed: the lockout holds. */
		c->why = OTP_ERR_LOCKED;
		return OTP_DB_KEEP;
	}
	if (!c->backend_ok) {
		c->why = OTP_ERR_BAD_OTP;
		otp_record_failure(rec, c->p->max_failures, c->p->lockout, c->now);
		return OTP_DB_STORE;
	}
	c->why = OTP_OK;
	c->res = OTP_LOGIN_OK;
	t->sync = false;
	if (rec->failures == 0 && rec->locked_until == 0)
		return OTP_DB_KEEP;
	otp_record_success(rec, c->now);
	return OTP_DB_STORE;
}

enum otp_login_res otp_password_verdict(const struct otp_policy *p, const char *user,
                                        bool backend_ok, enum otp_err *why)
{
	struct pass_ctx c = { .p = p, .backend_ok = backend_ok, .now = otp_now(),
	                      .res = OTP_LOGIN_REFUSED, .why = OTP_ERR_BAD_OTP };
	struct otp_store *s = NULL;
	enum otp_err rc;

	if (otp_user_check(user) != OTP_OK) {
		c.why = OTP_ERR_USER;
		goto out;
	}
	if ((rc = otp_store_open(p->db, p->lock_ms, false, &s)) == OTP_OK)
		rc = s->ops->txn(s, user, 0, pass_cb, &c);
	otp_store_close(s);
	if (rc != OTP_OK) {
		c.why = rc;
		c.res = otp_store_res(rc);
	}
out:
	if (why != NULL)
		*why = c.why;
	return c.res;
}
