/* verify.c - the one login state machine shared by pam_otp and apop-proxy. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "otp.h"
#include "internal.h"

#define FAKE_LABEL "pam_otp fake challenge v1"

struct begin_ctx {
	const struct otp_policy *p;
	struct otp_login *L;
	int64_t now;
	bool busy;
};

struct finish_ctx {
	const struct otp_policy *p;
	struct otp_login *L;
	const struct otp_response *r;
	bool parsed;
	const char *code;       /* the response as a token code (6..8 digits), or NULL */
	int64_t now;
	enum otp_err verdict;   /* stored along with the record, unlike *err */
};

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

void otp_policy_init(struct otp_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->db = NULL;
	p->lock_ms = OTP_DB_LOCK_MS;
	p->challenge_ttl = 120;
	p->busy_wait_ms = 3000;
	p->max_failures = 5;
	p->lockout = 600;
	p->window = 1;
	p->totp_window = 1;
	p->hotp_window = 10;
	p->ext = true;
	p->fake_unknown = true;
}

static void set_challenge(struct otp_login *L, enum otp_alg alg, unsigned seq,
                          const char *seed, bool ext)
{
	L->chal.alg = alg;
	L->chal.seq = seq;
	L->chal.ext = ext;
	memcpy(L->chal.seed, seed, strnlen(seed, OTP_SEED_MAX));
	L->chal.seed[strnlen(seed, OTP_SEED_MAX)] = '\0';
	if (otp_challenge_format(&L->chal, L->challenge, sizeof(L->challenge)) != OTP_OK)
		L->challenge[0] = '\0';
}

static const char *token_name(enum otp_tok_type t)
{
	return t == OTP_TOK_HOTP ? "HOTP" : "TOTP";
}

/* The prompt text for what the user holds (otp.h, struct otp_login). */
static void set_prompt(struct otp_login *L, bool key, enum otp_tok_type tok)
{
	int n;

	L->token = tok;
	if (key && tok != OTP_TOK_NONE)
		n = snprintf(L->prompt, sizeof(L->prompt), "%s, Response or %s code",
		             L->challenge, token_name(tok));
	else if (key)
		n = snprintf(L->prompt, sizeof(L->prompt), "%s, Response", L->challenge);
	else
		n = snprintf(L->prompt, sizeof(L->prompt), "%s code", token_name(tok));
	if (n < 0 || (size_t)n >= sizeof(L->prompt))
		L->prompt[0] = '\0';
}

/* The user has an RFC 2289 key that can still issue a challenge (RFC 2243 s4.3: not below 1). */
static bool key_usable(const struct otp_record *rec)
{
	return !(rec->flags & OTP_REC_NO_KEY) && rec->seq >= 2;
}

static enum otp_db_action begin_cb(const char *user, struct otp_record *rec, bool exists,
                                   void *arg, enum otp_err *err)
{
	struct begin_ctx *c = arg;

	(void)user;
	if (!exists)
		*err = OTP_ERR_NOUSER;
	else if (rec->flags & OTP_REC_DISABLED)
		*err = OTP_ERR_DISABLED;
	else if (rec->locked_until > c->now)
		*err = OTP_ERR_LOCKED;
	else if (!key_usable(rec) && rec->tok.type == OTP_TOK_NONE)
		*err = OTP_ERR_EXHAUSTED;   /* RFC 2243 s4.3: no challenge below 1 */
	else if (rec->pending_id != 0 && rec->pending_until > c->now)
		c->busy = true;
	else {
		rec->pending_id = c->L->pending_id;
		rec->pending_until = c->now + c->p->challenge_ttl;
		if (key_usable(rec))
			set_challenge(c->L, rec->alg, rec->seq - 1, rec->seed, c->p->ext);
		set_prompt(c->L, key_usable(rec), rec->tok.type);
		return OTP_DB_STORE;
	}
	return OTP_DB_KEEP;
}

/*
 * An unknown user's challenge: stable for the name, keyed by the host
 * secret so it cannot be told from a real one without that secret.
 */
enum otp_err otp_login_begin_fake(const struct otp_policy *p, const char *user,
                                  struct otp_login *L)
{
	unsigned char secret[32], mac[EVP_MAX_MD_SIZE];
	unsigned char msg[sizeof(FAKE_LABEL) + OTP_USER_MAX];
	char seed[OTP_SEED_MAX + 1];
	size_t maclen = 0;
	size_t ulen;
	enum otp_err rc;

	memset(L, 0, sizeof(*L));
	if ((rc = otp_user_check(user)) != OTP_OK)
		return rc;
	ulen = strlen(user);
	memcpy(L->user, user, ulen + 1);
	/* A durable update, as a real begin's pending mark: the same time. */
	if ((rc = otp_db_host_secret_sync(p->db, p->lock_ms, secret)) != OTP_OK)
		goto out;
	memcpy(msg, FAKE_LABEL, sizeof(FAKE_LABEL));
	memcpy(msg + sizeof(FAKE_LABEL), L->user, ulen);
	rc = OTP_ERR_CRYPTO;
	ERR_set_mark();
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, sizeof(secret),
	              msg, sizeof(FAKE_LABEL) + ulen, mac, sizeof(mac), &maclen) == NULL ||
	    maclen < 10) {
		ERR_pop_to_mark();
		goto out;
	}
	ERR_pop_to_mark();
	otp_seed_from_bytes(mac, seed);
	/* Sequences as enrolled ones show them: counting down from 499. */
	set_challenge(L, OTP_ALG_MD5, 10 + ((unsigned)mac[8] << 8 | mac[9]) % 489, seed, p->ext);
	set_prompt(L, true, OTP_TOK_NONE);
	L->fake = true;
	rc = OTP_OK;
out:
	otp_wipe(secret, sizeof(secret));
	otp_wipe(mac, sizeof(mac));
	otp_wipe(msg, sizeof(msg));
	return rc;
}

enum otp_err otp_login_begin(const struct otp_policy *p, const char *user, struct otp_login *L)
{
	struct begin_ctx c = { .p = p, .L = L };
	uint64_t deadline = now_ms() + p->busy_wait_ms;
	enum otp_err rc;

	memset(L, 0, sizeof(*L));
	if ((rc = otp_user_check(user)) != OTP_OK)
		return rc;
	memcpy(L->user, user, strlen(user) + 1);
	while (L->pending_id == 0)
		if ((rc = otp_random_bytes(&L->pending_id, sizeof(L->pending_id))) != OTP_OK)
			return rc;
	for (;;) {
		c.now = now_s();
		c.busy = false;
		rc = otp_db_update(p->db, user, false, p->lock_ms, begin_cb, &c);
		if (rc != OTP_OK || !c.busy)
			break;
		if (now_ms() >= deadline)
			return OTP_ERR_BUSY;
		sleep_ms(50);
	}
	if (rc == OTP_ERR_NOUSER && p->fake_unknown)
		rc = otp_login_begin_fake(p, user, L);
	return rc;
}

/* Applies hash steps to each candidate; *matched is the step count of a match, or 0. */
static enum otp_err match(const struct otp_policy *p, const struct otp_response *r,
                          const struct otp_record *rec, unsigned *matched, otp_key *which)
{
	unsigned window = p->window < 1 ? 1 : p->window;
	otp_key k;
	enum otp_err rc = OTP_OK;

	*matched = 0;
	/* The same work whatever the outcome: every candidate, the whole window. */
	for (unsigned c = 0; c < r->ncand; c++) {
		k = r->cand[c];
		for (unsigned i = 1; i <= window; i++) {
			if ((rc = otp_hash_step(rec->alg, &k, &k)) != OTP_OK)
				goto out;
			if (otp_key_equal(&k, &rec->last) && *matched == 0 && rec->seq > i) {
				*matched = i;
				*which = r->cand[c];
			}
		}
	}
out:
	otp_wipe(&k, sizeof(k));
	return rc;
}

/* True when the new key lies on the chain the current OTP came from (RFC 2289 s8). */
static bool same_chain(enum otp_alg alg, const otp_key *cur, unsigned cur_seq,
                       const otp_key *new_key, unsigned new_seq)
{
	const otp_key *from = new_seq <= cur_seq ? new_key : cur;
	const otp_key *to = new_seq <= cur_seq ? cur : new_key;
	unsigned steps = new_seq <= cur_seq ? cur_seq - new_seq : new_seq - cur_seq;
	otp_key k = *from;
	bool same = true;   /* on any hashing error, refuse the re-key */

	for (unsigned i = 0; i < steps; i++)
		if (otp_hash_step(alg, &k, &k) != OTP_OK)
			goto out;
	same = otp_key_equal(&k, to);
out:
	otp_wipe(&k, sizeof(k));
	return same;
}

static void count_failure(const struct otp_policy *p, struct otp_record *rec, int64_t now)
{
	rec->failures++;
	rec->last_failure = now;
	if (p->max_failures > 0 && rec->failures >= p->max_failures)
		rec->locked_until = now + p->lockout;
}

static enum otp_db_action finish_cb(const char *user, struct otp_record *rec, bool exists,
                                    void *arg, enum otp_err *err)
{
	struct finish_ctx *c = arg;
	const struct otp_response *r = c->r;
	unsigned step = 0;
	otp_key cur;
	enum otp_err rc;

	(void)user;
	if (!exists || rec->pending_id != c->L->pending_id) {
		*err = OTP_ERR_STALE;
		return OTP_DB_KEEP;
	}
	rec->pending_id = 0;
	rec->pending_until = 0;
	if (rec->flags & OTP_REC_DISABLED) {
		c->verdict = OTP_ERR_DISABLED;
		return OTP_DB_STORE;
	}
	if (c->code != NULL && rec->tok.type != OTP_TOK_NONE) {
		int which = 0;

		rc = otp_token_verify(&rec->tok, c->code, c->now, rec->tok.type == OTP_TOK_TOTP ?
		                      c->p->totp_window : c->p->hotp_window, &which);
		if (rc != OTP_OK) {
			*err = rc;
			return OTP_DB_KEEP;
		}
		if (which == 0) {
			count_failure(c->p, rec, c->now);
			c->verdict = OTP_ERR_BAD_OTP;
			return OTP_DB_STORE;
		}
		c->L->used = which;
		for (unsigned i = 0; i < rec->tok.nscratch; i++)
			if (rec->tok.scratch[i] != OTP_SCRATCH_USED)
				c->L->scratch_left++;
		rec->failures = 0;
		rec->locked_until = 0;
		rec->last_success = c->now;
		c->L->remaining = key_usable(rec) ? rec->seq - 1 : 0;
		return OTP_DB_STORE;
	}
	if (!c->parsed || (rec->flags & OTP_REC_NO_KEY)) {
		count_failure(c->p, rec, c->now);
		c->verdict = OTP_ERR_BAD_OTP;
		return OTP_DB_STORE;
	}
	if ((rc = match(c->p, r, rec, &step, &cur)) != OTP_OK) {
		*err = rc;
		return OTP_DB_KEEP;
	}
	if (step == 0) {
		count_failure(c->p, rec, c->now);
		c->verdict = OTP_ERR_BAD_OTP;
		return OTP_DB_STORE;
	}

	/* The current OTP verified: it is consumed whatever follows. */
	rec->seq -= step;
	rec->last = cur;
	if (r->type == OTP_RESP_INIT_HEX || r->type == OTP_RESP_INIT_WORD) {
		const struct otp_challenge *n = &r->new_chal;

		if (r->init_err != OTP_OK || n->seq < 2 ||
		    (n->alg == rec->alg && strcmp(n->seed, rec->seed) == 0 &&
		     same_chain(rec->alg, &cur, rec->seq, &r->new_key, n->seq))) {
			c->verdict = OTP_ERR_REINIT;
			otp_wipe(&cur, sizeof(cur));
			return OTP_DB_STORE;
		}
		rec->alg = n->alg;
		rec->seq = n->seq;
		memcpy(rec->seed, n->seed, sizeof(rec->seed));
		rec->last = r->new_key;
		c->L->rekeyed = true;
	}
	rec->failures = 0;
	rec->locked_until = 0;
	rec->last_success = c->now;
	c->L->remaining = rec->seq - 1;
	otp_wipe(&cur, sizeof(cur));
	return OTP_DB_STORE;
}

enum otp_err otp_login_finish(const struct otp_policy *p, struct otp_login *L, const char *response)
{
	struct otp_response r;
	struct finish_ctx c = { .p = p, .L = L, .r = &r, .now = now_s() };
	char code[OTP_TOK_DIGITS_MAX + 1];
	enum otp_err rc;

	/* 6 to 8 digits, blanks around them ignored: a token or scratch code. */
	if (response != NULL) {
		const char *s = response, *e;

		while (otp_isspace((unsigned char)*s))
			s++;
		for (e = s; *e >= '0' && *e <= '9' && e - s <= OTP_TOK_DIGITS_MAX; e++)
			;
		if (e - s >= OTP_TOK_DIGITS_MIN && e - s <= OTP_TOK_DIGITS_MAX) {
			const char *t = e;

			while (otp_isspace((unsigned char)*t))
				t++;
			if (*t == '\0') {
				memcpy(code, s, (size_t)(e - s));
				code[e - s] = '\0';
				c.code = code;
			}
		}
	}
	c.parsed = otp_response_parse(response, &r) == OTP_OK;
	/* RFC 2243 s2.2 (4): refuse extended types we did not offer. */
	if (c.parsed && !p->ext && r.type != OTP_RESP_STANDARD)
		c.parsed = false;
	if (L->fake) {
		struct otp_record none = { .alg = OTP_ALG_MD5, .seq = L->chal.seq + 1 };
		unsigned char secret[32];
		unsigned step;
		otp_key k;

		/* Do the work a real login does, durable update included, then fail. */
		if (c.parsed)
			(void)match(p, &r, &none, &step, &k);
		otp_wipe(&k, sizeof(k));
		rc = otp_db_host_secret_sync(p->db, p->lock_ms, secret);
		otp_wipe(secret, sizeof(secret));
		if (rc == OTP_OK)
			rc = OTP_ERR_BAD_OTP;
		goto out;
	}
	rc = otp_db_update(p->db, L->user, false, p->lock_ms, finish_cb, &c);
	if (rc == OTP_OK)
		rc = c.verdict;
out:
	otp_wipe(&r, sizeof(r));
	otp_wipe(code, sizeof(code));
	return rc;
}

static enum otp_db_action abort_cb(const char *user, struct otp_record *rec, bool exists,
                                   void *arg, enum otp_err *err)
{
	const struct otp_login *L = arg;

	(void)user;
	(void)err;
	if (!exists || rec->pending_id != L->pending_id)
		return OTP_DB_KEEP;
	rec->pending_id = 0;
	rec->pending_until = 0;
	return OTP_DB_STORE;
}

void otp_login_abort(const struct otp_policy *p, struct otp_login *L)
{
	if (!L->fake && L->pending_id != 0)
		(void)otp_db_update(p->db, L->user, false, p->lock_ms, abort_cb, L);
	L->pending_id = 0;
}

/* ---- APOP (RFC 1939 s7) -------------------------------------------------- */

struct apop_ctx {
	const struct otp_policy *p;
	const char *stamp;
	const unsigned char *want;      /* the client's digest, 16 bytes */
	int64_t now;
	bool matched;
	enum otp_err why;               /* the real reason, for the log */
	enum otp_err err;               /* a crypto failure */
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
 * Decides an APOP attempt on rec.  Returns true when the record must be
 * written: a failure to count, or failures to reset after a success.
 */
static bool apop_decide(struct apop_ctx *c, struct otp_record *rec, bool exists)
{
	bool usable = exists && !(rec->flags & OTP_REC_DISABLED) &&
	              rec->locked_until <= c->now && rec->apop_secret[0] != '\0';
	bool m = false;

	/* One MD5 whatever the case, so that timing tells nothing either. */
	c->err = apop_match(c->stamp, usable ? rec->apop_secret : "", c->want, &m);
	c->matched = false;
	if (c->err != OTP_OK)
		return false;
	if (!exists)
		c->why = OTP_ERR_NOUSER;
	else if (rec->flags & OTP_REC_DISABLED)
		c->why = OTP_ERR_DISABLED;
	else if (rec->locked_until > c->now)
		c->why = OTP_ERR_LOCKED;
	else if (rec->apop_secret[0] == '\0')
		c->why = OTP_ERR_NO_APOP;
	else if (!m) {
		c->why = OTP_ERR_BAD_OTP;
		count_failure(c->p, rec, c->now);
		return true;
	} else {
		c->why = OTP_OK;
		c->matched = true;
		if (rec->failures == 0 && rec->locked_until == 0)
			return false;
		rec->failures = 0;
		rec->locked_until = 0;
		rec->last_success = c->now;
		return true;
	}
	return false;
}

static enum otp_db_action apop_cb(const char *user, struct otp_record *rec, bool exists,
                                  void *arg, enum otp_err *err)
{
	struct apop_ctx *c = arg;
	bool store;

	(void)user;
	store = apop_decide(c, rec, exists);
	if (c->err != OTP_OK) {
		*err = c->err;
		return OTP_DB_KEEP;
	}
	return store ? OTP_DB_STORE : OTP_DB_KEEP;
}

/*
 * A shared-lock read decides; only when something must be recorded is the
 * attempt decided again under the exclusive lock and written.
 */
enum otp_err otp_apop_verify(const struct otp_policy *p, const char *user,
                             const char *timestamp, const char *digest_hex,
                             enum otp_err *why)
{
	struct apop_ctx c = { .p = p, .stamp = timestamp, .now = now_s(), .why = OTP_ERR_BAD_OTP };
	struct otp_record rec;
	unsigned char want[16];
	bool exists, bad_input = false;
	enum otp_err rc;

	memset(&rec, 0, sizeof(rec));
	memset(want, 0, sizeof(want));
	if (timestamp == NULL || digest_hex == NULL || strlen(timestamp) > OTP_APOP_STAMP_MAX)
		return OTP_ERR_INVALID;
	if (strlen(digest_hex) != OTP_APOP_DIGEST_LEN)
		bad_input = true;
	for (size_t i = 0; !bad_input && i < 16; i++) {
		int hi = otp_hexval((unsigned char)digest_hex[2 * i]);
		int lo = otp_hexval((unsigned char)digest_hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			bad_input = true;
		else
			want[i] = (unsigned char)(hi << 4 | lo);
	}
	c.want = want;
	if (otp_user_check(user) != OTP_OK) {
		c.why = OTP_ERR_USER;
		rc = OTP_ERR_BAD_OTP;
		goto out;
	}
	rc = otp_db_get(p->db, user, p->lock_ms, &rec);
	if (rc != OTP_OK && rc != OTP_ERR_NOUSER)
		goto out;
	exists = rc == OTP_OK;
	if (bad_input) {
		/* A malformed digest cannot match: counted like a wrong one. */
		memset(want, 0, sizeof(want));
	}
	if (apop_decide(&c, &rec, exists)) {
		rc = otp_db_update(p->db, user, false, p->lock_ms, apop_cb, &c);
	} else {
		rc = c.err;
		/*
		 * A refusal that records nothing (unknown, disabled, locked, no
		 * secret) still costs a durable update, as a counted failure
		 * does, so that timing does not tell which users exist.
		 */
		if (rc == OTP_OK && !c.matched) {
			unsigned char secret[32];

			rc = otp_db_host_secret_sync(p->db, p->lock_ms, secret);
			otp_wipe(secret, sizeof(secret));
		}
	}
	if (rc == OTP_OK && !c.matched)
		rc = OTP_ERR_BAD_OTP;
	if (rc == OTP_ERR_NOUSER) {         /* deleted between the two looks */
		c.why = OTP_ERR_NOUSER;
		rc = OTP_ERR_BAD_OTP;
	}
out:
	if (why != NULL)
		*why = rc == OTP_ERR_BAD_OTP ? c.why : rc;
	otp_wipe(&rec, sizeof(rec));
	otp_wipe(want, sizeof(want));
	return rc;
}
