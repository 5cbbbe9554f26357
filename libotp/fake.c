/* fake.c - what unknown names are shown: challenges shaped like the enrolled users', from a sample of them. */
#include <stdio.h>
#include <string.h>

#include "otp.h"
#include "internal.h"
#include "store.h"
#include "fake.h"

#define SHAPE_LABEL    "otp fake shape v2"
#define KEY_LABEL      "otp fake key v2"

/*
 * The profile (otpkeys(5)): magic, how many users were sampled from, how
 * many names it holds, the names, the check.  Version 1 holds every name
 * in a slot of PROFILE_NAME bytes; version 2, written since, each name
 * after its length, so that the log an enrolment writes stays small.
 */
#define PROFILE_MAGIC1 "OTPPROF1"
#define PROFILE_MAGIC  "OTPPROF2"
#define PROFILE_SLOTS  100    /* every user, in a store of up to 100; a uniform sample beyond */
#define PROFILE_NAME   (OTP_USER_MAX + 1)
#define PROFILE_OFF_COUNT 8
#define PROFILE_OFF_N     16
#define PROFILE_OFF_NAMES 24
#define PROFILE_LEN    (PROFILE_OFF_NAMES + PROFILE_SLOTS * PROFILE_NAME + OTP_CHECK_LEN)

struct profile {
	uint64_t count;
	unsigned n;
	char name[PROFILE_SLOTS][PROFILE_NAME];
};

/* The names of a profile of version 1 (slots) or 2 (each after its length) at v, n bytes. */
static bool profile_names(const unsigned char *v, size_t n, bool slots, struct profile *p)
{
	size_t off = PROFILE_OFF_NAMES;

	for (unsigned i = 0; i < p->n; i++) {
		size_t len = slots ? PROFILE_NAME : (size_t)v[off++];
		size_t keep = len < OTP_USER_MAX ? len : OTP_USER_MAX;   /* a slot's last byte is its NUL */

		if (len == 0 || len > (slots ? PROFILE_NAME : OTP_USER_MAX) || off + len > n ||
		    (!slots && memchr(v + off, '\0', len) != NULL))
			return false;
		memcpy(p->name[i], v + off, keep);
		p->name[i][keep] = '\0';
		off += len;
		if (otp_user_check(p->name[i]) != OTP_OK)
			return false;
	}
	return slots || off == n;
}

/* A damaged profile reads as none: it only shapes fakes, and is rebuilt. */
static enum otp_err profile_read(struct otp_store *s, struct profile *p)
{
	unsigned char v[PROFILE_LEN + 1];
	size_t len = 0;
	bool slots;
	enum otp_err rc;

	memset(p, 0, sizeof(*p));
	rc = s->ops->meta_get(s, OTP_META_PROFILE, v, sizeof(v), &len);
	if (rc != OTP_OK)
		return rc;
	slots = len >= 8 && memcmp(v, PROFILE_MAGIC1, 8) == 0;
	if ((slots ? len != PROFILE_LEN : len < PROFILE_OFF_NAMES + OTP_CHECK_LEN || len > PROFILE_LEN) ||
	    (!slots && memcmp(v, PROFILE_MAGIC, 8) != 0) ||
	    !otp_check_ok(v, len - OTP_CHECK_LEN, v + len - OTP_CHECK_LEN) ||
	    v[PROFILE_OFF_N] > PROFILE_SLOTS)
		return OTP_ERR_DB_CORRUPT;
	p->count = otp_get_u64(v + PROFILE_OFF_COUNT);
	p->n = v[PROFILE_OFF_N];
	if (!profile_names(v, len - OTP_CHECK_LEN, slots, p)) {
		memset(p, 0, sizeof(*p));
		return OTP_ERR_DB_CORRUPT;
	}
	return OTP_OK;
}

static enum otp_err profile_write(struct otp_store *s, const struct profile *p)
{
	unsigned char v[PROFILE_LEN];
	size_t off = PROFILE_OFF_NAMES;
	enum otp_err rc;

	memset(v, 0, sizeof(v));
	memcpy(v, PROFILE_MAGIC, 8);
	otp_put_u64(v + PROFILE_OFF_COUNT, p->count);
	v[PROFILE_OFF_N] = (unsigned char)p->n;
	for (unsigned i = 0; i < p->n; i++) {
		size_t len = strlen(p->name[i]);

		v[off++] = (unsigned char)len;
		memcpy(v + off, p->name[i], len);
		off += len;
	}
	rc = otp_check_sum(v, off, v + off);
	if (rc == OTP_OK)
		rc = s->ops->meta_put(s, OTP_META_PROFILE, v, off + OTP_CHECK_LEN, false);
	return rc;
}

/* Reservoir sampling (Vitter's algorithm R): every enrolled name equally likely. */
static enum otp_err profile_add(struct profile *p, const char *user)
{
	uint64_t r;
	enum otp_err rc;

	for (unsigned i = 0; i < p->n; i++)
		if (strcmp(p->name[i], user) == 0)
			return OTP_OK;
	p->count++;
	if (p->n < PROFILE_SLOTS) {
		snprintf(p->name[p->n++], PROFILE_NAME, "%s", user);
		return OTP_OK;
	}
	if ((rc = otp_random_bytes(&r, sizeof(r))) != OTP_OK)
		return rc;
	r %= p->count;
	if (r < PROFILE_SLOTS)
		snprintf(p->name[r], PROFILE_NAME, "%s", user);
	return OTP_OK;
}

struct rebuild {
	struct profile *p;
	enum otp_err rc;
};

static bool rebuild_cb(const char *user, const struct otp_record *rec, void *arg)
{
	struct rebuild *b = arg;

	(void)rec;
	b->rc = profile_add(b->p, user);
	return b->rc == OTP_OK;
}

enum otp_err otp_profile_note(struct otp_store *s, const char *user, bool inserted)
{
	struct profile p;
	struct rebuild b = { .p = &p, .rc = OTP_OK };
	enum otp_err rc = profile_read(s, &p);

	if (rc == OTP_ERR_NOUSER || rc == OTP_ERR_DB_CORRUPT) {
		/* None yet (a store made before profiles, or damaged): sample every user. */
		memset(&p, 0, sizeof(p));
		rc = s->ops->foreach(s, rebuild_cb, &b);
		if (rc == OTP_OK)
			rc = b.rc;
		if (rc != OTP_OK && rc != OTP_ERR_DB_CORRUPT)
			return rc;
		return profile_write(s, &p);
	}
	if (rc != OTP_OK)
		return rc;
	if (inserted) {
		if ((rc = profile_add(&p, user)) != OTP_OK)
			return rc;
	} else {
		for (unsigned i = 0; i < p.n; i++) {
			if (strcmp(p.name[i], user) != 0)
				continue;
			memmove(p.name[i], p.name[i + 1], (p.n - i - 1) * sizeof(p.name[0]));
			p.n--;
			break;
		}
		if (p.count > p.n)
			p.count--;
	}
	return profile_write(s, &p);
}

/* HMAC-SHA256(secret, label || 0 || name) into out. */
static enum otp_err keyed(const unsigned char secret[32], const char *label, const char *name,
                          unsigned char out[32])
{
	unsigned char msg[32 + OTP_USER_MAX + 1];
	size_t llen = strlen(label) + 1, nlen = strnlen(name, OTP_USER_MAX), maclen = 0;
	enum otp_err rc = OTP_ERR_CRYPTO;

	memcpy(msg, label, llen);
	memcpy(msg + llen, name, nlen);
	if (otp_hmac_calc(OTP_HMAC_SHA256, secret, 32, msg, llen + nlen, out, 32, &maclen) == OTP_OK &&
	    maclen == 32)
		rc = OTP_OK;
	otp_wipe(msg, sizeof(msg));
	return rc;
}

static unsigned u16at(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* A seed like model, character class by character class, from the bytes at b. */
static void seed_like(const char *model, const unsigned char *b, char seed[OTP_SEED_MAX + 1])
{
	size_t n = strnlen(model, OTP_SEED_MAX);

	for (size_t i = 0; i < n; i++)
		seed[i] = otp_isdigit((unsigned char)model[i]) ? (char)('0' + b[i] % 10)
		                                               : (char)('a' + b[i] % 26);
	seed[n] = '\0';
}

/* The shape of an unknown name when nobody is enrolled: OPIE's defaults, as before. */
static void default_shape(const unsigned char mac[32], struct otp_shape *sh)
{
	sh->has_key = true;
	sh->alg = OTP_ALG_MD5;
	sh->seq = 11 + u16at(mac + 6) % 489;    /* challenges 10..498 */
	otp_seed_from_bytes(mac + 8, sh->seed);
	sh->token = OTP_TOK_NONE;
}

/*
 * Modelled on the sampled user A: the same kind of key and token, a seed
 * of the same form, and a count near A's: A's plus up to a quarter of how
 * far two other sampled users B and C lie apart, either way, reflected back
 * into the range the three span.  So the counts of fakes follow those of
 * real users (clustered when they cluster, spread when they spread) without
 * landing on real users' counts more often than real users do.
 */
static void shape_from(const struct otp_record *a, const struct otp_record *b,
                       const struct otp_record *c, const unsigned char mac[32], struct otp_shape *sh)
{
	long seq, lo, hi, spread = 0, off = 0;

	memset(sh, 0, sizeof(*sh));
	sh->token = a->tok.type;
	sh->has_key = otp_record_has_key(a);
	if (!sh->has_key)
		return;
	sh->alg = a->alg;
	seed_like(a->seed, mac + 8, sh->seed);
	if (sh->seed[0] == '\0')
		otp_seed_from_bytes(mac + 8, sh->seed);
	seq = lo = hi = a->seq;
	if (b != NULL && c != NULL) {
		lo = a->seq < b->seq ? (a->seq < c->seq ? a->seq : c->seq) : (b->seq < c->seq ? b->seq : c->seq);
		hi = a->seq > b->seq ? (a->seq > c->seq ? a->seq : c->seq) : (b->seq > c->seq ? b->seq : c->seq);
		spread = b->seq > c->seq ? (long)(b->seq - c->seq) : (long)(c->seq - b->seq);
	}
	if (spread >= 2)
		off = (long)(u16at(mac + 24) % (unsigned)(spread / 2 + 1)) - spread / 4;
	seq += off;
	if (seq > hi)
		seq = hi - (seq - hi);
	if (seq < lo)
		seq = lo + (lo - seq);
	seq = seq < lo ? lo : seq > hi ? hi : seq;
	sh->seq = seq < 1 ? 1 : seq > OTP_SEQ_MAX ? OTP_SEQ_MAX : (unsigned)seq;
}

enum otp_err otp_fake_shape(struct otp_store *s, const unsigned char secret[32], const char *name,
                            struct otp_shape *sh, unsigned char key[32])
{
	struct otp_record t[3];
	struct profile p;
	unsigned char mac[32];
	bool got[3] = { false, false, false };
	enum otp_err rc;

	memset(sh, 0, sizeof(*sh));
	memset(t, 0, sizeof(t));
	if ((rc = keyed(secret, SHAPE_LABEL, name, mac)) != OTP_OK ||
	    (rc = keyed(secret, KEY_LABEL, name, key)) != OTP_OK)
		goto out;
	rc = profile_read(s, &p);
	if (rc == OTP_ERR_NOUSER || rc == OTP_ERR_DB_CORRUPT) {
		p.n = 0;
		rc = OTP_OK;
	}
	if (rc != OTP_OK)
		goto out;
	for (unsigned i = 0; i < 3 && p.n > 0; i++) {
		rc = s->ops->get(s, p.name[u16at(mac + 2 * i) % p.n], &t[i]);
		if (rc == OTP_OK)
			got[i] = true;
		else if (rc != OTP_ERR_NOUSER)
			goto out;
		rc = OTP_OK;
	}
	if (!got[0])
		default_shape(mac, sh);
	else
		shape_from(&t[0], got[1] && otp_record_has_key(&t[1]) ? &t[1] : NULL,
		           got[2] && otp_record_has_key(&t[2]) ? &t[2] : NULL, mac, sh);
out:
	otp_wipe(t, sizeof(t));
	otp_wipe(mac, sizeof(mac));
	if (rc != OTP_OK)
		otp_wipe(key, 32);
	return rc;
}
