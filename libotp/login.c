/* login.c - the one login transaction shared by pam_otp and apop-proxy: begin, finish, abort. */
#include <stdio.h>
#include <string.h>

#include "otp.h"
#include "internal.h"
#include "store.h"
#include "fake.h"

/* ---- what is shown ------------------------------------------------------------ */

/* The shape of an enrolled user's login, and the real reason it cannot succeed, if any. */
static enum otp_err real_shape(const struct otp_record *rec, int64_t now, struct otp_shape *sh)
{
	memset(sh, 0, sizeof(*sh));
	sh->token = rec->tok.type;
	sh->has_key = otp_record_has_key(rec);
	if (sh->has_key) {
		sh->alg = rec->alg;
		sh->seq = rec->seq;
		memcpy(sh->seed, rec->seed, sizeof(sh->seed));
		sh->seed[OTP_SEED_MAX] = '\0';
	}
	if (rec->flags & OTP_REC_DISABLED)
		return OTP_ERR_DISABLED;
	if (rec->locked_until > now)
		return OTP_ERR_LOCKED;
	if (otp_record_remaining(rec) == 0 && sh->token == OTP_TOK_NONE)
		return OTP_ERR_EXHAUSTED;
	return OTP_OK;
}

static void drop_expired(struct otp_marks *m, int64_t now)
{
	unsigned j = 0;

	for (unsigned i = 0; i < m->n; i++)
		if (m->m[i].expires > now)
			m->m[j++] = m->m[i];
	m->n = j;
}

static bool seq_held(const struct otp_marks *m, unsigned seq, uint64_t except)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->m[i].seq == seq && m->m[i].id != except)
			return true;
	return false;
}

/*
 * The sequence number to show a new login (RFC 2289 s9: never one another
 * outstanding login shows): the highest of seq-1 .. seq-OTP_PENDING_MAX
 * that no live mark holds.  When all are held (more than OTP_PENDING_MAX
 * logins at once), the line of the mark that expires first: add_mark then
 * drops that mark, so the two logins share one line, and whichever answers
 * first uses it up; the other is refused.  Never below 1 (RFC 2243 s4.3);
 * an exhausted key shows 1, which cannot verify.
 */
static unsigned pick_seq(const struct otp_marks *m, unsigned seq)
{
	unsigned lowest = 1;
	int first = -1;

	for (unsigned k = 1; k <= OTP_PENDING_MAX && seq > k; k++) {
		lowest = seq - k;
		if (!seq_held(m, lowest, 0))
			return lowest;
	}
	for (unsigned i = 0; i < m->n; i++)
		if (m->m[i].seq >= lowest && m->m[i].seq < seq &&
		    (first < 0 || m->m[i].expires < m->m[first].expires))
			first = (int)i;
	return first >= 0 ? m->m[first].seq : lowest;
}

/*
 * A new mark for line seq (0: a token login, whose marks never share a
 * line).  A mark already holding seq gives way to it (the earliest to
 * expire, if several); otherwise, when the table is full, the earliest to
 * expire of all.
 */
static void add_mark(struct otp_marks *m, uint64_t id, int64_t expires, unsigned seq)
{
	int victim = -1;

	for (unsigned i = 0; seq != 0 && i < m->n; i++)
		if (m->m[i].seq == seq && (victim < 0 || m->m[i].expires < m->m[victim].expires))
			victim = (int)i;
	if (victim < 0 && m->n == OTP_PENDING_MAX) {
		victim = 0;
		for (unsigned i = 1; i < m->n; i++)
			if (m->m[i].expires < m->m[victim].expires)
				victim = (int)i;
	}
	if (victim >= 0)
		m->m[victim] = m->m[--m->n];
	m->m[m->n].id = id;
	m->m[m->n].expires = expires;
	m->m[m->n].seq = seq;
	m->n++;
}

/* Removes L's own mark; returns whether it was still there. */
static bool drop_mark(struct otp_marks *m, uint64_t id)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->m[i].id == id) {
			m->m[i] = m->m[--m->n];
			return true;
		}
	return false;
}

/* The challenge and prompt text for shape sh at sequence number seq. */
static void show(struct otp_login *L, const struct otp_shape *sh, unsigned seq, bool ext)
{
	const char *tok = otp_tok_name(sh->token);
	int n;

	L->has_key = sh->has_key;
	L->token = sh->token;
	L->challenge[0] = '\0';
	if (sh->has_key) {
		L->chal.alg = sh->alg;
		L->chal.seq = seq;
		L->chal.ext = ext;
		memcpy(L->chal.seed, sh->seed, sizeof(L->chal.seed));
		if (otp_challenge_format(&L->chal, L->challenge, sizeof(L->challenge)) != OTP_OK)
			L->challenge[0] = '\0';
	}
	if (sh->has_key && tok != NULL)
		n = snprintf(L->prompt, sizeof(L->prompt), "%s, Response or %s code", L->challenge, tok);
	else if (sh->has_key)
		n = snprintf(L->prompt, sizeof(L->prompt), "%s, Response", L->challenge);
	else
		n = snprintf(L->prompt, sizeof(L->prompt), "%s code", tok != NULL ? tok : "TOTP");
	if (n < 0 || (size_t)n >= sizeof(L->prompt))
		L->prompt[0] = '\0';
}

/* ---- begin ---------------------------------------------------------------------- */

struct begin_ctx {
	const struct otp_policy *p;
	struct otp_login *L;
	const struct otp_shape *fake;
	int64_t now;
	bool nokey;
};

static enum otp_db_action begin_cb(struct otp_txn *t, void *arg, enum otp_err *err)
{
	struct begin_ctx *c = arg;
	struct otp_login *L = c->L;
	struct otp_shape real;
	const struct otp_shape *sh = c->fake;
	unsigned seq = 0;

	(void)err;
	if (!t->exists && !c->p->fake_unknown) {
		c->nokey = true;
		return OTP_DB_KEEP;
	}
	if (t->exists) {
		L->why = real_shape(&t->rec, c->now, &real);
		sh = &real;
	} else {
		L->why = OTP_ERR_NOUSER;
		L->fake = true;
	}
	drop_expired(&t->marks, c->now);
	if (sh->has_key)
		seq = pick_seq(&t->marks, sh->seq);
	add_mark(&t->marks, L->mark, c->now + c->p->challenge_ttl, seq);
	t->marks_changed = true;
	show(L, sh, seq, c->p->ext);
	return OTP_DB_KEEP;
}

enum otp_login_res otp_login_begin(const struct otp_policy *p, const char *user,
                                   struct otp_login *L)
{
	struct begin_ctx c = { .p = p, .L = L, .now = otp_now() };
	struct otp_shape fake;
	unsigned char secret[32];
	enum otp_err rc;

	memset(L, 0, sizeof(*L));
	memset(secret, 0, sizeof(secret));
	if (otp_user_check(user) != OTP_OK) {
		L->why = OTP_ERR_USER;
		return OTP_LOGIN_REFUSED;
	}
	memcpy(L->user, user, strlen(user) + 1);
	while (L->mark == 0)
		if ((rc = otp_random_bytes(&L->mark, sizeof(L->mark))) != OTP_OK)
			goto out;
	if ((rc = otp_store_open(p->db, p->lock_ms, false, &L->store)) != OTP_OK)
		goto out;
	/* Whoever the name is, the same reads: the fake's shape is made for every login. */
	if ((rc = otp_store_host_secret(L->store, secret)) != OTP_OK ||
	    (rc = otp_fake_shape(L->store, secret, user, &fake, L->fake_key)) != OTP_OK)
		goto out;
	c.fake = &fake;
	rc = L->store->ops->txn(L->store, user, OTP_TXN_MARKS, begin_cb, &c);
	if (rc == OTP_OK && c.nokey) {
		L->why = OTP_ERR_NOUSER;
		otp_store_close(L->store);
		L->store = NULL;
		otp_wipe(secret, sizeof(secret));
		return OTP_LOGIN_NOKEY;
	}
out:
	otp_wipe(secret, sizeof(secret));
	otp_wipe(&fake, sizeof(fake));
	if (rc != OTP_OK) {
		otp_store_close(L->store);
		L->store = NULL;
		L->why = rc;
	}
	return otp_store_res(rc);
}

/* ---- answers -------------------------------------------------------------------- */

/* The response as a token code: 6 to 8 digits, blanks around ignored; false if it is not one. */
static bool as_code(const char *s, char code[OTP_TOK_DIGITS_MAX + 1])
{
	size_t n = 0;

	while (otp_isspace((unsigned char)*s))
		s++;
	while (otp_isdigit((unsigned char)s[n]) && n <= OTP_TOK_DIGITS_MAX)
		n++;
	if (n < OTP_TOK_DIGITS_MIN || n > OTP_TOK_DIGITS_MAX)
		return false;
	for (const char *t = s + n; *t != '\0'; t++)
		if (!otp_isspace((unsigned char)*t))
			return false;
	memcpy(code, s, n);
	code[n] = '\0';
	return true;
}

bool otp_login_takes(const struct otp_login *L, const char *text)
{
	char code[OTP_TOK_DIGITS_MAX + 1];
	struct otp_response r;
	bool yes = false;

	if (text == NULL)
		return false;
	if (L->token != OTP_TOK_NONE && as_code(text, code))
		yes = true;
	else if (L->has_key && otp_response_parse(text, &r) == OTP_OK)
		yes = true;
	otp_wipe(code, sizeof(code));
	otp_wipe(&r, sizeof(r));
	return yes;
}

/* ---- finish ---------------------------------------------------------------------- */

struct finish_ctx {
	const struct otp_policy *p;
	struct otp_login *L;
	const struct otp_response *r;   /* parsed, or NULL */
	const char *code;               /* the answer as a token code, or NULL */
	int64_t now;
	enum otp_login_res res;
};

/*
 * The RFC 2289 response for the shown challenge (seq s) or one of the
 * next window-1 (sheet lines skipped): it must hash to the stored last OTP
 * in d steps, d from seq-s to seq-s+window-1.  The same work whatever the
 * outcome: every candidate reading, every step.  Returns the step count of
 * a match in *d (0: none) and the matching key in *which.
 */
static enum otp_err match(const struct otp_response *r, enum otp_alg alg, unsigned seq,
                          const otp_key *last, unsigned s, unsigned window, unsigned *d,
                          otp_key *which)
{
	unsigned lo = seq > s ? seq - s : 0, hi = lo + (window < 1 ? 1 : window) - 1;
	otp_key k;
	enum otp_err rc = OTP_OK;

	*d = 0;
	for (unsigned c = 0; c < r->ncand; c++) {
		k = r->cand[c];
		for (unsigned i = 1; i <= hi; i++) {
			if ((rc = otp_hash_step(alg, &k, &k)) != OTP_OK)
				goto out;
			if (i >= lo && i < seq && otp_key_equal(&k, last) && *d == 0) {
				*d = i;
				*which = r->cand[c];
			}
		}
	}
out:
	otp_wipe(&k, sizeof(k));
	return rc;
}

static void succeed(struct finish_ctx *c, struct otp_record *rec)
{
	otp_record_success(rec, c->now);
	c->L->remaining = otp_record_remaining(rec);
	c->L->why = OTP_OK;
	c->res = OTP_LOGIN_OK;
}

/* RFC 2243 s4.3: the current OTP verified; re-key unless the new part is bad or repeats the chain. */
static void rekey(struct finish_ctx *c, struct otp_record *rec)
{
	const struct otp_challenge *n = &c->r->new_chal;
	enum otp_chain chain = OTP_CHAIN_SAME;

	if (c->r->init_err == OTP_OK && n->seq >= 2 &&
	    otp_record_chain(rec, n->alg, n->seq, n->seed, &c->r->new_key, &chain) == OTP_OK &&
	    chain != OTP_CHAIN_SAME) {
		int64_t created = rec->created;

		(void)otp_record_set_key(rec, n->alg, n->seq, n->seed, &c->r->new_key, created);
		c->L->rekeyed = true;
		return;
	}
	c->L->why = OTP_ERR_REINIT;
}

/*
 * Under the lock: an enrolled user's answer.  A disabled user's answer is
 * checked on a copy, so that it costs the same, and refused: nothing is
 * consumed or counted.  A lockout refuses, the same way, only answers that
 * can be guessed (token and scratch codes); a 64-bit RFC 2289 response is
 * not guessed by trying, so a stranger's failures never keep its owner
 * out.  A response that verifies is consumed even when another login now
 * shows its challenge (its own mark expired or was withdrawn): then it is
 * refused, and nobody can use it again.
 */
static enum otp_db_action finish_real(struct finish_ctx *c, struct otp_txn *t, bool own_mark,
                                      enum otp_err *err)
{
	struct otp_record copy, *rec = &t->rec;
	struct otp_login *L = c->L;
	bool disabled = (rec->flags & OTP_REC_DISABLED) != 0;
	bool locked = rec->locked_until > c->now;
	unsigned d = 0, shown = L->chal.seq;
	otp_key cur;
	enum otp_err rc;

	c->res = OTP_LOGIN_REFUSED;
	L->why = OTP_ERR_BAD_OTP;
	if (c->code != NULL && rec->tok.type != OTP_TOK_NONE && L->token != OTP_TOK_NONE) {
		int which = 0;

		copy = *rec;
		rc = otp_token_verify(&copy.tok, c->code, c->now, rec->tok.type == OTP_TOK_TOTP ?
		                      c->p->totp_window : c->p->hotp_window, &which);
		if (rc != OTP_OK) {
			otp_wipe(&copy, sizeof(copy));
			*err = rc;
			return OTP_DB_KEEP;
		}
		if (disabled || locked) {
			otp_wipe(&copy, sizeof(copy));
			L->why = disabled ? OTP_ERR_DISABLED : OTP_ERR_LOCKED;
			t->sync = true;
			return OTP_DB_KEEP;
		}
		rec->tok = copy.tok;
		otp_wipe(&copy, sizeof(copy));
		if (which == 0) {
			otp_record_failure(rec, c->p->max_failures, c->p->lockout, c->now);
			return OTP_DB_STORE;
		}
		L->used = which == 2 ? OTP_USED_SCRATCH : OTP_USED_TOKEN;
		L->scratch_left = otp_record_scratch_left(rec);
		succeed(c, rec);
		return OTP_DB_STORE;
	}
	if (c->r == NULL || !otp_record_has_key(rec) || !L->has_key) {
		if (disabled) {
			L->why = OTP_ERR_DISABLED;
			t->sync = true;
			return OTP_DB_KEEP;
		}
		otp_record_failure(rec, c->p->max_failures, c->p->lockout, c->now);
		return OTP_DB_STORE;
	}
	if (rec->seq <= shown) {
		/* A lower line was accepted meanwhile, or none is left: dead, not guessed. */
		L->why = otp_record_remaining(rec) == 0 ? OTP_ERR_EXHAUSTED : OTP_ERR_STALE;
		t->sync = true;
		return OTP_DB_KEEP;
	}
	if ((rc = match(c->r, rec->alg, rec->seq, &rec->last, shown, c->p->window, &d, &cur)) != OTP_OK) {
		*err = rc;
		return OTP_DB_KEEP;
	}
	if (disabled) {
		otp_wipe(&cur, sizeof(cur));
		L->why = OTP_ERR_DISABLED;
		t->sync = true;
		return OTP_DB_KEEP;
	}
	if (d == 0) {
		otp_record_failure(rec, c->p->max_failures, c->p->lockout, c->now);
		return OTP_DB_STORE;
	}
	/* The current OTP verified: it is consumed whatever follows. */
	rec->seq -= d;
	rec->last = cur;
	otp_wipe(&cur, sizeof(cur));
	L->used = OTP_USED_KEY;
	if (c->r->type == OTP_RESP_INIT_HEX || c->r->type == OTP_RESP_INIT_WORD)
		rekey(c, rec);
	if (!own_mark && seq_held(&t->marks, shown, L->mark))
		L->why = OTP_ERR_STALE;     /* another login shows this challenge now */
	else if (L->why != OTP_ERR_REINIT)
		succeed(c, rec);
	return OTP_DB_STORE;
}

/* Under the lock: a made-up login does a real one's work, then fails durably like one. */
static void finish_fake(struct finish_ctx *c, struct otp_txn *t)
{
	struct otp_login *L = c->L;
	unsigned d = 0, seq = L->chal.seq + 1;
	otp_key last, k;

	memcpy(last.b, L->fake_key, sizeof(last.b));
	if (c->code != NULL && L->token != OTP_TOK_NONE) {
		struct otp_token tok = { .type = L->token, .hmac = OTP_HMAC_SHA1, .digits = 6,
		                         .step = L->token == OTP_TOK_TOTP ? OTP_TOK_STEP_DEF : 0,
		                         .secret_len = 20, .counter = 1 };
		int which = 0;

		memcpy(tok.secret, L->fake_key + 8, 20);
		(void)otp_token_verify(&tok, c->code, c->now, L->token == OTP_TOK_TOTP ?
		                       c->p->totp_window : c->p->hotp_window, &which);
		otp_wipe(&tok, sizeof(tok));
	} else if (c->r != NULL && L->has_key) {
		(void)match(c->r, L->chal.alg, seq, &last, L->chal.seq, c->p->window, &d, &k);
	}
	otp_wipe(&last, sizeof(last));
	otp_wipe(&k, sizeof(k));
	L->why = OTP_ERR_NOUSER;
	c->res = OTP_LOGIN_REFUSED;
	t->sync = true;
}

static enum otp_db_action finish_cb(struct otp_txn *t, void *arg, enum otp_err *err)
{
	struct finish_ctx *c = arg;
	bool own = drop_mark(&t->marks, c->L->mark);

	t->marks_changed = true;
	if (c->L->fake || !t->exists) {
		finish_fake(c, t);
		return OTP_DB_KEEP;
	}
	return finish_real(c, t, own, err);
}

enum otp_login_res otp_login_finish(const struct otp_policy *p, struct otp_login *L,
                                    const char *response)
{
	struct otp_response r;
	char code[OTP_TOK_DIGITS_MAX + 1];
	struct finish_ctx c = { .p = p, .L = L, .now = otp_now(), .res = OTP_LOGIN_REFUSED };
	bool parsed;
	enum otp_err rc;

	memset(&r, 0, sizeof(r));
	memset(code, 0, sizeof(code));
	if (L->store == NULL) {
		L->why = OTP_ERR_INVALID;
		return OTP_LOGIN_UNAVAIL;
	}
	if (response != NULL && as_code(response, code))
		c.code = code;
	parsed = response != NULL && otp_response_parse(response, &r) == OTP_OK;
	/* RFC 2243 s2.2 (4): refuse extended types we did not offer. */
	if (parsed && !p->ext && r.type != OTP_RESP_STANDARD)
		parsed = false;
	c.r = parsed ? &r : NULL;
	rc = L->store->ops->txn(L->store, L->user, OTP_TXN_MARKS, finish_cb, &c);
	otp_store_close(L->store);
	L->store = NULL;
	otp_wipe(&r, sizeof(r));
	otp_wipe(code, sizeof(code));
	otp_wipe(L->fake_key, sizeof(L->fake_key));
	if (rc != OTP_OK) {
		L->why = rc;
		return otp_store_res(rc);
	}
	return c.res;
}

/* ---- abort ------------------------------------------------------------------------ */

static enum otp_db_action abort_cb(struct otp_txn *t, void *arg, enum otp_err *err)
{
	const struct otp_login *L = arg;

	(void)err;
	t->marks_changed = drop_mark(&t->marks, L->mark);
	return OTP_DB_KEEP;
}

void otp_login_abort(const struct otp_policy *p, struct otp_login *L)
{
	(void)p;
	if (L->store != NULL)
		(void)L->store->ops->txn(L->store, L->user, OTP_TXN_MARKS, abort_cb, L);
	otp_store_close(L->store);
	L->store = NULL;
	otp_wipe(L->fake_key, sizeof(L->fake_key));
}
