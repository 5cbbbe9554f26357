/*
 * test_verify.c - the login transaction (libotp/login.c) as a table: every
 * kind of user against every kind of answer, then the concurrent, abandoned,
 * expired and held-open logins, the replay that expired challenges once let
 * through, re-keys and the window.
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "otp.h"
#include "tmpdir.h"

#define PASS   "This is a test."
#define SECRET "12345678901234567890"   /* the tokens' (RFC 4226 App. D) */

static char tmpdir[256], db[300];

enum kind { K_MD5, K_SHA1, K_MD4, K_TOTP, K_HOTP, K_BOTH, K_DISABLED, K_LOCKED, K_EXHAUSTED,
            K_UNKNOWN, K__COUNT };
static const char *const kind_name[K__COUNT] = {
	"md5", "sha1", "md4", "totp", "hotp", "both", "disabled", "locked", "exhausted", "unknown"
};

enum answer { A_RIGHT_KEY, A_RIGHT_CODE, A_SCRATCH, A_WRONG_KEY, A_WRONG_CODE, A_MALFORMED,
              A__COUNT };
static const char *const answer_name[A__COUNT] = {
	"right response", "right code", "scratch code", "wrong response", "wrong code", "malformed"
};

static bool md4_ok;

static int setup(void **state)
{
	otp_key k;

	(void)state;
	if (tmpdir_make(tmpdir, sizeof(tmpdir), "test_verify") != 0)
		return -1;
	md4_ok = otp_compute(OTP_ALG_MD4, 1, "x", PASS, strlen(PASS), &k) == OTP_OK;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return tmpdir_remove(tmpdir);
}

static void policy(struct otp_policy *p)
{
	otp_policy_init(p);
	p->db = db;
	p->max_failures = 3;
}

/* ---- enrolling each kind -------------------------------------------------- */

struct mk {
	enum kind kind;
};

static void token(struct otp_token *t, enum otp_tok_type type)
{
	memset(t, 0, sizeof(*t));
	t->type = type;
	t->hmac = OTP_HMAC_SHA1;
	t->digits = 6;
	t->step = type == OTP_TOK_TOTP ? 30 : 0;
	t->secret_len = 20;
	memcpy(t->secret, SECRET, 20);
	t->nscratch = 1;
	t->scratch[0] = 12345678;
}

static enum otp_db_action mk_fn(const char *user, struct otp_record *rec, bool exists, void *arg,
                                enum otp_err *err)
{
	const struct mk *m = arg;
	enum otp_alg alg = m->kind == K_SHA1 ? OTP_ALG_SHA1 : m->kind == K_MD4 ? OTP_ALG_MD4 : OTP_ALG_MD5;
	unsigned seq = m->kind == K_EXHAUSTED ? 1 : 100;
	struct otp_token t;
	otp_key k;

	(void)user;
	if (m->kind == K_TOTP || m->kind == K_HOTP) {
		token(&t, m->kind == K_TOTP ? OTP_TOK_TOTP : OTP_TOK_HOTP);
		*err = otp_record_set_token(rec, exists, &t, time(NULL));
		return OTP_DB_STORE;
	}
	assert_int_equal(otp_compute(alg, seq, "seed1", PASS, strlen(PASS), &k), OTP_OK);
	*err = otp_record_set_key(rec, alg, seq, "seed1", &k, time(NULL));
	if (m->kind == K_BOTH) {
		token(&t, OTP_TOK_TOTP);
		assert_int_equal(otp_record_set_token(rec, true, &t, time(NULL)), OTP_OK);
	}
	if (m->kind == K_DISABLED)
		rec->flags |= OTP_REC_DISABLED;
	if (m->kind == K_LOCKED) {
		rec->failures = 3;
		rec->locked_until = time(NULL) + 600;
	}
	return OTP_DB_STORE;
}

/* A fresh store with the one user "u" of the given kind (none for K_UNKNOWN). */
static void enrol(enum kind kind, const char *tag)
{
	struct mk m = { kind };

	snprintf(db, sizeof(db), "%s/%s/otpkeys.db", tmpdir, tag);
	assert_int_equal(otp_db_update(db, "filler", true, 1000, mk_fn, &(struct mk){ K_MD5 }), OTP_OK);
	if (kind != K_UNKNOWN)
		assert_int_equal(otp_db_update(db, "u", true, 1000, mk_fn, &m), OTP_OK);
}

/* ---- answers ---------------------------------------------------------------- */

static void key_answer(const struct otp_login *L, bool right, char *out, size_t size)
{
	const char *pass = right ? PASS : "Not the pass phrase.";
	otp_key k;

	assert_true(L->has_key);
	assert_int_equal(otp_compute(L->chal.alg, L->chal.seq, L->chal.seed, pass, strlen(pass), &k),
	                 OTP_OK);
	assert_true(size >= OTP_WORDS_BUFSZ);
	otp_key_to_words(&k, out);
}

static void code_answer(enum kind kind, bool right, char *out)
{
	uint64_t c = kind == K_HOTP ? 0 : otp_totp_step(time(NULL), 30);

	assert_int_equal(otp_hotp(OTP_HMAC_SHA1, (const unsigned char *)SECRET, 20, c, 6, out), OTP_OK);
	if (!right)
		out[0] = out[0] == '9' ? '0' : (char)(out[0] + 1);
}

static void answer(enum kind kind, enum answer a, const struct otp_login *L, char *out, size_t size)
{
	switch (a) {
	case A_RIGHT_KEY:
	case A_WRONG_KEY:
		if (L->has_key)
			key_answer(L, a == A_RIGHT_KEY, out, size);
		else
			snprintf(out, size, "ABE ACE ADA ADD AGO AID");
		break;
	case A_RIGHT_CODE:
	case A_WRONG_CODE:
		code_answer(kind, a == A_RIGHT_CODE, out);
		break;
	case A_SCRATCH:
		snprintf(out, size, "12345678");
		break;
	case A_MALFORMED:
		snprintf(out, size, "hex:not hex at all");
		break;
	default:
		fail();
	}
}

/* Whether an answer logs in: the table's one rule, written out. */
static bool accepted(enum kind k, enum answer a)
{
	bool key = k == K_MD5 || k == K_SHA1 || k == K_MD4 || k == K_BOTH;
	bool tok = k == K_TOTP || k == K_HOTP || k == K_BOTH;

	if (k == K_LOCKED)          /* a lockout stops what can be guessed, not a 64-bit response */
		return a == A_RIGHT_KEY;
	return (key && a == A_RIGHT_KEY) || (tok && (a == A_RIGHT_CODE || a == A_SCRATCH));
}

static void test_table(void **state)
{
	char tag[64], ans[128], c2[OTP_CHALLENGE_BUFSZ];
	struct otp_policy p;
	struct otp_login L;

	(void)state;
	for (int k = 0; k < K__COUNT; k++) {
		if (k == K_MD4 && !md4_ok)
			continue;
		for (int a = 0; a < A__COUNT; a++) {
			enum otp_login_res r;

			snprintf(tag, sizeof(tag), "t%d_%d", k, a);
			enrol((enum kind)k, tag);
			policy(&p);
			assert_int_equal(otp_login_begin(&p, "u", &L), OTP_LOGIN_OK);
			/* Every kind gets a prompt of a kind real users have, whatever it is. */
			assert_true(L.has_key || L.token != OTP_TOK_NONE);
			snprintf(c2, sizeof(c2), "%s", L.challenge);
			answer((enum kind)k, (enum answer)a, &L, ans, sizeof(ans));
			r = otp_login_finish(&p, &L, ans);
			if ((r == OTP_LOGIN_OK) != accepted((enum kind)k, (enum answer)a))
				fail_msg("%s user, %s: %s (%s)", kind_name[k], answer_name[a],
				         r == OTP_LOGIN_OK ? "accepted" : "refused", otp_strerror(L.why));
			if (r != OTP_LOGIN_OK && r != OTP_LOGIN_REFUSED)
				fail_msg("%s user, %s: the store failed", kind_name[k], answer_name[a]);
			/* What was accepted is used up: the same answer again is refused. */
			if (r == OTP_LOGIN_OK) {
				assert_int_equal(otp_login_begin(&p, "u", &L), OTP_LOGIN_OK);
				assert_int_equal(otp_login_finish(&p, &L, ans), OTP_LOGIN_REFUSED);
			}
			/* What was refused to a disabled user used nothing up: the same challenge again. */
			if (k == K_DISABLED) {
				assert_int_equal(otp_login_begin(&p, "u", &L), OTP_LOGIN_OK);
				assert_string_equal(L.challenge, c2);
				otp_login_abort(&p, &L);
			}
		}
	}
}

/* ---- concurrent logins -------------------------------------------------------- */

static void test_concurrent(void **state)
{
	char a1[OTP_WORDS_BUFSZ], a2[OTP_WORDS_BUFSZ];
	struct otp_policy p;
	struct otp_login L1, L2, L3;

	(void)state;
	enrol(K_MD5, "conc");
	policy(&p);
	/* Two at once: different challenges, the later one lower; the same prompt form. */
	assert_int_equal(otp_login_begin(&p, "u", &L1), OTP_LOGIN_OK);
	assert_int_equal(otp_login_begin(&p, "u", &L2), OTP_LOGIN_OK);
	assert_int_equal(L1.chal.seq, 99);
	assert_int_equal(L2.chal.seq, 98);
	key_answer(&L1, true, a1, sizeof(a1));
	key_answer(&L2, true, a2, sizeof(a2));
	/* The lower line first: the higher one is skipped and dies. */
	assert_int_equal(otp_login_finish(&p, &L2, a2), OTP_LOGIN_OK);
	assert_int_equal(otp_login_finish(&p, &L1, a1), OTP_LOGIN_REFUSED);
	assert_int_equal(L1.why, OTP_ERR_STALE);
	/* The higher first: both in turn. */
	assert_int_equal(otp_login_begin(&p, "u", &L1), OTP_LOGIN_OK);
	assert_int_equal(otp_login_begin(&p, "u", &L2), OTP_LOGIN_OK);
	key_answer(&L1, true, a1, sizeof(a1));
	key_answer(&L2, true, a2, sizeof(a2));
	assert_int_equal(otp_login_finish(&p, &L1, a1), OTP_LOGIN_OK);
	assert_int_equal(otp_login_finish(&p, &L2, a2), OTP_LOGIN_OK);
	/* One response for two challenges: only the login it answers. */
	assert_int_equal(otp_login_begin(&p, "u", &L1), OTP_LOGIN_OK);
	assert_int_equal(otp_login_begin(&p, "u", &L2), OTP_LOGIN_OK);
	assert_int_equal(otp_login_begin(&p, "u", &L3), OTP_LOGIN_OK);
	key_answer(&L1, true, a1, sizeof(a1));
	assert_int_equal(otp_login_finish(&p, &L3, a1), OTP_LOGIN_REFUSED);
	assert_int_equal(otp_login_finish(&p, &L2, a1), OTP_LOGIN_REFUSED);
	assert_int_equal(otp_login_finish(&p, &L1, a1), OTP_LOGIN_OK);
}

static void test_abandoned_and_held(void **state)
{
	char first[OTP_CHALLENGE_BUFSZ], a[OTP_WORDS_BUFSZ];
	struct otp_policy p;
	struct otp_login L, held[OTP_PENDING_MAX + 4];
	unsigned seen[OTP_PENDING_MAX + 4];
	time_t t0;

	(void)state;
	enrol(K_MD5, "aband");
	policy(&p);
	/* Abandoned (the client went away): the challenge comes back at once. */
	assert_int_equal(otp_login_begin(&p, "u", &L), OTP_LOGIN_OK);
	snprintf(first, sizeof(first), "%s", L.challenge);
	otp_login_abort(&p, &L);
	assert_int_equal(otp_login_begin(&p, "u", &L), OTP_LOGIN_OK);
	assert_string_equal(L.challenge, first);
	otp_login_abort(&p, &L);
	/*
	 * Held open, many of them: every new login gets a challenge at once,
	 * never refused nor waiting, never one a live login shows (up to the
	 * 16 tracked), and the user still logs in while they are held.
	 */
	t0 = time(NULL);
	for (unsigned i = 0; i < OTP_PENDING_MAX + 4; i++) {
		assert_int_equal(otp_login_begin(&p, "u", &held[i]), OTP_LOGIN_OK);
		seen[i] = held[i].chal.seq;
		for (unsigned j = 0; j < i && i < OTP_PENDING_MAX; j++)
			assert_int_not_equal(seen[i], seen[j]);
	}
	assert_true(time(NULL) - t0 <= 2);
	assert_int_equal(otp_login_begin(&p, "u", &L), OTP_LOGIN_OK);
	key_answer(&L, true, a, sizeof(a));
	assert_int_equal(otp_login_finish(&p, &L, a), OTP_LOGIN_OK);
	/* At most OTP_PENDING_MAX - 1 lines skipped: the count is still near the top. */
	assert_true(L.remaining >= 99 - OTP_PENDING_MAX - 1);
	for (unsigned i = 0; i < OTP_PENDING_MAX + 4; i++)
		otp_login_abort(&p, &held[i]);
}

/*
 * The replay an expired challenge once allowed: a slow login's right answer
 * arrives after its challenge expired and a later login took it over.  It is
 * used up when it verifies, so the later login cannot reuse it.
 */
static void test_expired_replay(void **state)
{
	char a[OTP_WORDS_BUFSZ];
	struct otp_policy p;
	struct otp_login slow, later;

	(void)state;
	enrol(K_MD5, "expired");
	policy(&p);
	p.challenge_ttl = 1;
	assert_int_equal(otp_login_begin(&p, "u", &slow), OTP_LOGIN_OK);
	sleep(2);
	assert_int_equal(otp_login_begin(&p, "u", &later), OTP_LOGIN_OK);
	assert_int_equal(later.chal.seq, slow.chal.seq);    /* the expired one's line, free again */
	key_answer(&slow, true, a, sizeof(a));
	assert_int_equal(otp_login_finish(&p, &slow, a), OTP_LOGIN_REFUSED);
	assert_int_equal(slow.why, OTP_ERR_STALE);
	assert_int_equal(otp_login_finish(&p, &later, a), OTP_LOGIN_REFUSED);
	/* And with nobody else showing it, a late right answer still counts. */
	assert_int_equal(otp_login_begin(&p, "u", &slow), OTP_LOGIN_OK);
	sleep(2);
	key_answer(&slow, true, a, sizeof(a));
	assert_int_equal(otp_login_finish(&p, &slow, a), OTP_LOGIN_OK);
}

static void test_window_and_rekey(void **state)
{
	char a[OTP_WORDS_BUFSZ], init[256];
	struct otp_challenge nc = { .alg = OTP_ALG_SHA1, .seq = 50, .seed = "new1" };
	struct otp_policy p;
	struct otp_login L;
	otp_key cur, nk;

	(void)state;
	enrol(K_MD5, "window");
	policy(&p);
	p.window = 3;
	/* A sheet user may skip two lines: the response for 97 to challenge 99. */
	assert_int_equal(otp_login_begin(&p, "u", &L), OTP_LOGIN_OK);
	assert_int_equal(otp_compute(OTP_ALG_MD5, 97, "seed1", PASS, strlen(PASS), &cur), OTP_OK);
	otp_key_to_words(&cur, a);
	assert_int_equal(otp_login_finish(&p, &L, a), OTP_LOGIN_OK);
	assert_int_equal(L.remaining, 96);
	/* But not three. */
	assert_int_equal(otp_login_begin(&p, "u", &L), OTP_LOGIN_OK);
	assert_int_equal(otp_compute(OTP_ALG_MD5, 93, "seed1", PASS, strlen(PASS), &cur), OTP_OK);
	otp_key_to_words(&cur, a);
	assert_int_equal(otp_login_finish(&p, &L, a), OTP_LOGIN_REFUSED);
	/* init-word: re-keyed to the new parameters. */
	assert_int_equal(otp_login_begin(&p, "u", &L), OTP_LOGIN_OK);
	assert_int_equal(otp_compute(OTP_ALG_MD5, L.chal.seq, "seed1", PASS, strlen(PASS), &cur), OTP_OK);
	assert_int_equal(otp_compute(OTP_ALG_SHA1, 50, "new1", "Another pass.", 13, &nk), OTP_OK);
	assert_int_equal(otp_response_format_init(OTP_RESP_INIT_WORD, &cur, &nc, &nk, init, sizeof(init)),
	                 OTP_OK);
	assert_int_equal(otp_login_finish(&p, &L, init), OTP_LOGIN_OK);
	assert_true(L.rekeyed);
	assert_int_equal(otp_login_begin(&p, "u", &L), OTP_LOGIN_OK);
	assert_string_equal(L.challenge, "otp-sha1 49 new1 ext");
	/* A re-key that keeps the chain: refused, and the current OTP used up. */
	assert_int_equal(otp_compute(OTP_ALG_SHA1, 49, "new1", "Another pass.", 13, &cur), OTP_OK);
	assert_int_equal(otp_compute(OTP_ALG_SHA1, 60, "new1", "Another pass.", 13, &nk), OTP_OK);
	nc.seq = 60;
	assert_int_equal(otp_response_format_init(OTP_RESP_INIT_HEX, &cur, &nc, &nk, init, sizeof(init)),
	                 OTP_OK);
	assert_int_equal(otp_login_finish(&p, &L, init), OTP_LOGIN_REFUSED);
	assert_int_equal(L.why, OTP_ERR_REINIT);
	assert_int_equal(otp_login_begin(&p, "u", &L), OTP_LOGIN_OK);
	assert_string_equal(L.challenge, "otp-sha1 48 new1 ext");
	otp_login_abort(&p, &L);
}

/* nullok: an unknown name is the next module's, a known one still answers. */
static void test_nullok(void **state)
{
	struct otp_policy p;
	struct otp_login L;

	(void)state;
	enrol(K_UNKNOWN, "nullok");
	policy(&p);
	p.fake_unknown = false;
	assert_int_equal(otp_login_begin(&p, "u", &L), OTP_LOGIN_NOKEY);
	assert_int_equal(otp_login_begin(&p, "filler", &L), OTP_LOGIN_OK);
	otp_login_abort(&p, &L);
	assert_int_equal(otp_login_begin(&p, "bad name", &L), OTP_LOGIN_REFUSED);
	assert_int_equal(L.why, OTP_ERR_USER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_abandoned_and_held),
		cmocka_unit_test(test_expired_replay),
		cmocka_unit_test(test_window_and_rekey),
		cmocka_unit_test(test_nullok),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
