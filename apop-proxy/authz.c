/* authz.c - the monitor's decisions: what each state permits, and every login, by libotp's rules alone. */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "monitor.h"

#define MON_REQUESTS_MAX 32     /* requests on one connection before it is cut off */

/*
 * What each state permits, and the payload each request may carry.
 * Anything else is a session lying about the dialogue: it is dropped.
 */
#define IN(st) (1u << (st))
static const struct {
	unsigned states;
	size_t min, max;
} permit[RQ__COUNT] = {
	[RQ_USER]       = { IN(MS_FRESH) | IN(MS_USER), 1, OTP_USER_MAX },
	[RQ_PASS]       = { IN(MS_USER), 2, 1 + POP3_PASS_MAX },
	[RQ_APOP]       = { IN(MS_FRESH) | IN(MS_USER), 2, OTP_USER_MAX + 1 + POP3_ARG_MAX },
	[RQ_SASL_OTP]   = { IN(MS_FRESH) | IN(MS_USER), 2, 2 * SASL_FIELD_MAX + 1 },
	[RQ_SASL_RESP]  = { IN(MS_SASL), 0, OTP_RESPONSE_MAX },
	[RQ_SASL_PLAIN] = { IN(MS_FRESH) | IN(MS_USER), 5, 1 + SASL_MSG_MAX },
	[RQ_ABORT]      = { IN(MS_FRESH) | IN(MS_USER) | IN(MS_SASL), 0, 0 },
};

/* ---- replies ------------------------------------------------------------------ */

static void reply(struct mon_sess *m, uint32_t type, const void *p, size_t len)
{
	m->reply.type = type;
	m->reply.len = len < sizeof(m->reply.payload) ? len : sizeof(m->reply.payload);
	memcpy(m->reply.payload, p, m->reply.len);
}

static void reply_code(struct mon_sess *m, enum rp_code code, bool close)
{
	struct rp_fail f = { .code = code, .close = close };

	reply(m, RP_FAIL, &f, sizeof(f));
	m->reply.close = close;
	if (close)
		m->st = MS_DONE;
}

/* The delay before a failure is answered: doubling per failure from this address. */
static unsigned fail_delay(const struct config *cf, const struct mon_sess *m)
{
	unsigned n = m->ci.prior_failures + m->failures - 1;
	uint64_t d = cf->fail_delay_ms;

	if (d == 0)
		return 0;
	d <<= n > 20 ? 20 : n;
	return d > cf->fail_delay_max_ms ? cf->fail_delay_max_ms : (unsigned)d;
}

/* Counts, logs, reports and delays a failed attempt; the session may hang up after max_auth_failures. */
static void failure(const struct proxy *px, struct mon_sess *m, const char *user, const char *why,
                    enum rp_code code)
{
	char u[OTP_USER_MAX + 1];

	log_safe(u, sizeof(u), user);
	m->failures++;
	plog(LOG_NOTICE, "authentication failure; method=%s user=%s rhost=%s reason=%s",
	     m->method, u[0] != '\0' ? u : "-", m->ci.rhost, why);
	mon_report(m, false);
	m->reply.due = mono_ms() + fail_delay(&px->cf, m);
	reply_code(m, code, m->failures >= px->cf.max_auth_failures);
}

static void unavailable(struct mon_sess *m, const char *user, enum otp_err why)
{
	char u[OTP_USER_MAX + 1];

	log_safe(u, sizeof(u), user);
	plog(LOG_ERR, "user %s: %s", u, otp_strerror(why));
	reply_code(m, RC_TEMP, false);
}

/* ---- after a success ------------------------------------------------------------ */

/* Hands the session its backend: the reply carries the descriptor; the session is then done. */
static void hand_over(const struct proxy *px, struct mon_sess *m)
{
	unsigned char out[sizeof(struct rp_ok) + sizeof(m->be.bin)];
	struct rp_ok ok = { .flags = m->ok_flags, .remaining = m->ok_remaining };
	int fd = be_handover(px, &m->be);

	if (fd < 0) {
		reply_code(m, RC_BE_DOWN, true);
		return;
	}
	memcpy(out, &ok, sizeof(ok));
	memcpy(out + sizeof(ok), m->be.bin, m->be.binlen);
	reply(m, RP_OK, out, sizeof(ok) + m->be.binlen);
	m->reply.fd = fd;
	m->reply.close = true;
	m->st = MS_DONE;
	be_abandon(&m->be);
}

/* Starts the backend login; a failure at once is answered like a late one. */
static void backend(const struct proxy *px, struct mon_sess *m, const char *user, const char *password)
{
	int rc = be_begin(px, &m->be, user, password);

	if (rc != BE_MORE)
		authz_backend(px, m, rc);
}

/* A login the key store accepted: log it, then the master login to the backend. */
static void logged_in(const struct proxy *px, struct mon_sess *m, const char *user, uint32_t flags,
                      uint32_t remaining)
{
	if (flags & RPF_OTP)
		plog(LOG_INFO, "login; method=%s user=%s rhost=%s remaining=%u", m->method, user,
		     m->ci.rhost, remaining);
	else
		plog(LOG_INFO, "login; method=%s user=%s rhost=%s", m->method, user, m->ci.rhost);
	/* Only a success that clears failures is news to the master. */
	if (m->ci.prior_failures > 0 || m->failures > 0)
		mon_report(m, true);
	m->ok_flags = flags;
	m->ok_remaining = remaining;
	m->be_counted = false;
	backend(px, m, user, NULL);
}

/*
 * A reusable password passed through (allow_plain_pass): the backend
 * judges the password, libotp the user (disabled, locked out, failures)
 * once it has (authz_backend).  counted: a failure of this attempt was
 * counted already (a wrong APOP secret), so a refused password is not
 * counted twice.
 */
static void pass_through(const struct proxy *px, struct mon_sess *m, const char *user,
                         const char *password, bool counted)
{
	m->ok_flags = m->ok_remaining = 0;
	m->be_counted = counted;
	backend(px, m, user, password);
}

/* The pass-through's verdict, now that the backend judged the password. */
static void verdict(const struct proxy *px, struct mon_sess *m, int rc)
{
	char user[OTP_USER_MAX + 1];
	enum otp_err why = OTP_OK;
	enum otp_login_res r;

	memcpy(user, m->be.user, sizeof(user));
	if (rc == RC_BE_AUTH && m->be_counted) {
		be_abandon(&m->be);
		failure(px, m, user, otp_strerror(OTP_ERR_BAD_OTP), RC_AUTH);
		return;
	}
	r = otp_password_verdict(&px->policy, user, rc == 0, &why);
	if (r == OTP_LOGIN_OK) {
		plog(LOG_INFO, "login; method=%s user=%s rhost=%s", m->method, user, m->ci.rhost);
		if (m->ci.prior_failures > 0 || m->failures > 0)
			mon_report(m, true);
		hand_over(px, m);
		return;
	}
	be_abandon(&m->be);
	if (r == OTP_LOGIN_REFUSED)
		failure(px, m, user, rc == RC_BE_AUTH ? "the backend refused the password" :
		        otp_strerror(why), RC_AUTH);
	else
		unavailable(m, user, why);
}

void authz_backend(const struct proxy *px, struct mon_sess *m, int rc)
{
	memset(&m->reply, 0, sizeof(m->reply));
	m->reply.fd = -1;
	m->reply.due = mono_ms();
	if (m->be.pass && (rc == 0 || rc == RC_BE_AUTH)) {
		verdict(px, m, rc);
	} else if (m->be.pass) {
		be_abandon(&m->be);
		reply_code(m, (enum rp_code)rc, false);  /* the store could not judge the password */
	} else if (rc == 0) {
		hand_over(px, m);
	} else {
		plog(LOG_ERR, "backend login failed; method=%s user=%s rhost=%s", m->method, m->be.user,
		     m->ci.rhost);
		be_abandon(&m->be);
		reply_code(m, (enum rp_code)rc, true);
	}
}

/* ---- the one-time-password transaction ---------------------------------------------- */

void authz_give_back(const struct proxy *px, struct mon_sess *m)
{
	if (m->have_login)
		otp_login_abort(&px->policy, &m->L);
	m->have_login = false;
	otp_wipe(&m->L, sizeof(m->L));
	if (m->st == MS_USER || m->st == MS_SASL)
		m->st = MS_FRESH;
}

/* What USER's reply (and the OTP mechanism's challenge) shows for L. */
static void challenge_text(const struct otp_login *L, char *out, size_t size)
{
	/* RFC 2289 users see the bare challenge, as clients expect; token users what to send. */
	if (L->token == OTP_TOK_NONE)
		snprintf(out, size, "%s", L->challenge);
	else if (L->has_key)
		snprintf(out, size, "%s or %s code", L->challenge, otp_tok_name(L->token));
	else
		snprintf(out, size, "%s", L->prompt);
}

static void begin(const struct proxy *px, struct mon_sess *m, const char *user, enum mon_state st)
{
	char text[OTP_PROMPT_BUFSZ + 16];

	authz_give_back(px, m);
	switch (otp_login_begin(&px->policy, user, &m->L)) {
	case OTP_LOGIN_OK:
		m->have_login = true;
		m->st = st;
		challenge_text(&m->L, text, sizeof(text));
		reply(m, RP_CHALLENGE, text, strlen(text));
		break;
	case OTP_LOGIN_REFUSED:
		failure(px, m, user, "malformed user name", RC_USER);
		break;
	default:
		unavailable(m, user, m->L.why);
		break;
	}
}

static void finish(const struct proxy *px, struct mon_sess *m, const char *answer)
{
	struct otp_login *L = &m->L;
	enum otp_login_res r;

	memcpy(m->user, L->user, sizeof(m->user));
	r = otp_login_finish(&px->policy, L, answer);
	m->have_login = false;
	m->st = MS_FRESH;
	if (r == OTP_LOGIN_OK) {
		/* A token or scratch code: no RFC 2289 count to report or warn about. */
		uint32_t flags = L->used == OTP_USED_KEY ? RPF_OTP : 0;

		if (L->rekeyed)
			flags |= RPF_REKEYED;
		if ((flags & RPF_OTP) && L->remaining < px->policy.warn)
			flags |= RPF_WARN;
		logged_in(px, m, m->user, flags, L->remaining);
	} else if (r == OTP_LOGIN_REFUSED) {
		failure(px, m, m->user, otp_strerror(L->why), L->why == OTP_ERR_REINIT ? RC_REINIT : RC_AUTH);
	} else {
		unavailable(m, m->user, L->why);
	}
	otp_wipe(L, sizeof(*L));
}

/* ---- the requests ---------------------------------------------------------------------- */

/* The payload as a string of exactly len bytes, none of them NUL or a control character. */
static bool text_field(const unsigned char *p, size_t len, char *out, size_t size)
{
	if (len >= size)
		return false;
	for (size_t i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
	memcpy(out, p, len);
	out[len] = '\0';
	return true;
}

static bool do_pass(const struct proxy *px, struct mon_sess *m, const unsigned char *p, size_t len)
{
	char text[POP3_PASS_MAX + 1], user[OTP_USER_MAX + 1];
	bool tls = p[0] == 1;

	if (p[0] > 1 || !text_field(p + 1, len - 1, text, sizeof(text)))
		return false;
	if (!px->cf.allow_plain_pass || otp_login_takes(&m->L, text)) {
		m->method = "otp";
		finish(px, m, text);
	} else {
		/* Not a one-time answer: the user's reusable password, if allowed and over TLS. */
		memcpy(user, m->L.user, sizeof(user));
		authz_give_back(px, m);
		m->method = "pass";
		if (!tls)
			failure(px, m, user, "a reusable password before STLS", RC_NEED_TLS);
		else
			pass_through(px, m, user, text, false);
	}
	otp_wipe(text, sizeof(text));
	return true;
}

static bool do_apop(const struct proxy *px, struct mon_sess *m, const unsigned char *p, size_t len)
{
	const char *f[3];
	size_t fl[3];
	char user[OTP_USER_MAX + 1], digest[POP3_ARG_MAX + 1];
	enum otp_err why = OTP_OK;
	enum otp_login_res r;

	if (!sasl_split(p, len, 2, f, fl) || fl[0] == 0 || fl[0] > OTP_USER_MAX || fl[1] > POP3_ARG_MAX)
		return false;
	memcpy(user, f[0], fl[0]);
	user[fl[0]] = '\0';
	memcpy(digest, f[1], fl[1]);
	digest[fl[1]] = '\0';
	authz_give_back(px, m);
	m->method = "apop";
	if (otp_user_check(user) != OTP_OK) {
		failure(px, m, user, "malformed user name", RC_AUTH);
		return true;
	}
	r = otp_apop_verify(&px->policy, user, m->ci.stamp, digest, &why);
	if (r == OTP_LOGIN_OK)
		logged_in(px, m, user, 0, 0);
	else if (r == OTP_LOGIN_REFUSED)
		failure(px, m, user, why == OTP_ERR_BAD_OTP ? "wrong APOP digest" : otp_strerror(why),
		        RC_AUTH);
	else
		unavailable(m, user, why);
	return true;
}

/*
 * SASL's authorisation identity: empty, or the authentication identity
 * itself (no logging in as someone else).  Copies authcid into user.
 */
static bool sasl_identity(const char *const f[3], const size_t fl[3], char user[OTP_USER_MAX + 1])
{
	size_t n = fl[1] > OTP_USER_MAX ? OTP_USER_MAX : fl[1];

	memcpy(user, f[1], n);
	user[n] = '\0';
	return fl[0] == 0 || (fl[0] == fl[1] && memcmp(f[0], f[1], fl[0]) == 0);
}

static bool do_sasl_otp(const struct proxy *px, struct mon_sess *m, const unsigned char *p, size_t len)
{
	const char *f[3];
	size_t fl[3];
	char user[OTP_USER_MAX + 1];

	/* RFC 2444 s3: the extended syntax is a must, so no OTP mechanism without it. */
	if (!px->policy.ext || !sasl_split(p, len, 2, f, fl))
		return false;
	m->method = "sasl-otp";
	if (!sasl_identity(f, fl, user)) {
		authz_give_back(px, m);
		failure(px, m, user, "another authorisation identity", RC_AUTHZ);
	} else if (fl[1] > OTP_USER_MAX) {
		authz_give_back(px, m);
		failure(px, m, user, "malformed user name", RC_USER);
	} else {
		begin(px, m, user, MS_SASL);
	}
	return true;
}

static bool do_sasl_resp(const struct proxy *px, struct mon_sess *m, const unsigned char *p, size_t len)
{
	char text[OTP_RESPONSE_MAX + 1];

	if (!text_field(p, len, text, sizeof(text)))
		return false;
	m->method = "sasl-otp";
	finish(px, m, text);
	otp_wipe(text, sizeof(text));
	return true;
}

/* MD5(stamp || secret) as 32 hex digits: a PLAIN password checked as the APOP secret it may be. */
static bool plain_digest(const char *stamp, const char *pw, size_t pwlen, char hex[33])
{
	unsigned char msg[OTP_APOP_STAMP_MAX + SASL_FIELD_MAX], md[EVP_MAX_MD_SIZE];
	size_t sl = strlen(stamp), mdlen = 0;
	bool ok;

	memcpy(msg, stamp, sl);
	memcpy(msg + sl, pw, pwlen);
	ok = EVP_Q_digest(NULL, "MD5", NULL, msg, sl + pwlen, md, &mdlen) == 1 && mdlen == 16;
	for (size_t i = 0; ok && i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	otp_wipe(msg, sizeof(msg));
	otp_wipe(md, sizeof(md));
	return ok;
}

/*
 * PLAIN (after STLS only): the password is the user's APOP secret, or
 * with allow_plain_pass a reusable password for the backend to judge.
 */
static bool do_sasl_plain(const struct proxy *px, struct mon_sess *m, const unsigned char *p, size_t len)
{
	const char *f[3];
	size_t fl[3];
	char user[OTP_USER_MAX + 1], pw[SASL_FIELD_MAX + 1], hex[33];
	enum otp_err why = OTP_OK;
	enum otp_login_res r;

	if (p[0] != 1 || !sasl_split(p + 1, len - 1, 3, f, fl))
		return false;
	authz_give_back(px, m);
	m->method = "sasl-plain";
	memcpy(pw, f[2], fl[2]);
	pw[fl[2]] = '\0';
	if (!sasl_identity(f, fl, user))
		failure(px, m, user, "another authorisation identity", RC_AUTHZ);
	else if (fl[1] > OTP_USER_MAX || otp_user_check(user) != OTP_OK)
		failure(px, m, user, "malformed user name", RC_AUTH);
	else if (!plain_digest(m->ci.stamp, pw, fl[2], hex))
		unavailable(m, user, OTP_ERR_CRYPTO);
	else if ((r = otp_apop_verify(&px->policy, user, m->ci.stamp, hex, &why)) == OTP_LOGIN_OK)
		logged_in(px, m, user, 0, 0);
	else if (r != OTP_LOGIN_REFUSED)
		unavailable(m, user, why);
	else if (px->cf.allow_plain_pass &&
	         (why == OTP_ERR_NOUSER || why == OTP_ERR_NO_APOP || why == OTP_ERR_BAD_OTP))
		pass_through(px, m, user, pw, why == OTP_ERR_BAD_OTP);
	else
		failure(px, m, user, why == OTP_ERR_BAD_OTP ? "wrong password" : otp_strerror(why), RC_AUTH);
	otp_wipe(pw, sizeof(pw));
	otp_wipe(hex, sizeof(hex));
	return true;
}

bool authz_request(const struct proxy *px, struct mon_sess *m, uint32_t type,
                   const unsigned char *payload, size_t len)
{
	char user[OTP_USER_MAX + 1];

	memset(&m->reply, 0, sizeof(m->reply));
	m->reply.fd = -1;
	m->reply.due = mono_ms();
	if (type < RQ_USER || type >= RQ__COUNT || !(permit[type].states & IN(m->st)) ||
	    len < permit[type].min || len > permit[type].max)
		return false;
	if (++m->requests > MON_REQUESTS_MAX) {
		authz_give_back(px, m);
		reply_code(m, RC_LIMIT, true);
		return true;
	}
	switch (type) {
	case RQ_USER:
		if (!text_field(payload, len, user, sizeof(user)))
			return false;
		m->method = "otp";
		begin(px, m, user, MS_USER);
		return true;
	case RQ_PASS:
		return do_pass(px, m, payload, len);
	case RQ_APOP:
		return do_apop(px, m, payload, len);
	case RQ_SASL_OTP:
		return do_sasl_otp(px, m, payload, len);
	case RQ_SASL_RESP:
		return do_sasl_resp(px, m, payload, len);
	case RQ_SASL_PLAIN:
		return do_sasl_plain(px, m, payload, len);
	case RQ_ABORT:
		authz_give_back(px, m);
		return true;            /* no answer */
	}
	return false;
}
