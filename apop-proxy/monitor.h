/* monitor.h - the root monitor's parts: the process loop (monitor.c), the login decisions (authz.c), the backend (backend.c). */
#ifndef APOP_MONITOR_H
#define APOP_MONITOR_H

#include "proxy.h"
#include "conn.h"
#include "mon_proto.h"

/* The backend login the monitor makes for a session, step by step (backend.c). */
enum be_state { BE_IDLE, BE_CONNECT, BE_TLS, BE_GREETING, BE_STLS, BE_TLS2, BE_AUTH, BE_USER, BE_PASS };

#define BE_MORE (-1)            /* be_step: waiting for b->wait on b->c.fd */

struct be_login {
	struct conn c;
	enum be_state st;
	short wait;                     /* the poll events it waits for */
	int64_t deadline;
	char user[OTP_USER_MAX + 1];
	char password[POP3_PASS_MAX + 1];   /* a pass-through's, else ""; wiped once sent */
	bool pass;                      /* USER and PASS with the client's own password */
	char bin[POP3_REPLY_MAX * 2];   /* what the backend sent and we did not use yet */
	size_t binlen;
};

/* Where a session's login stands: what it may ask next (authz.c's table). */
enum mon_state {
	MS_FRESH,               /* no challenge outstanding */
	MS_USER,                /* USER answered with a challenge: PASS may follow */
	MS_SASL,                /* AUTH OTP answered with a challenge: its response may follow */
	MS_DONE                 /* logged in and handed over, or given up on: nothing more */
};

/* A reply, sent at once or, after a failure, when its delay is over. */
struct mon_reply {
	uint32_t type;
	unsigned char payload[MSG_PAYLOAD_MAX];
	size_t len;
	int fd;                 /* the backend for the session, or -1 */
	int64_t due;            /* mono_ms when it may go */
	bool close;             /* after it, the monitor drops the session */
};

/* One session's login, as the monitor alone keeps it. */
struct mon_sess {
	int chan;               /* -1: the slot is free */
	struct client_info ci;  /* the stamp in it is the master's, for APOP */
	enum mon_state st;
	struct otp_login L;
	bool have_login;        /* L holds a challenge (real or fake) */
	char user[OTP_USER_MAX + 1];
	const char *method;
	unsigned failures;
	unsigned requests;
	int64_t deadline;       /* login_timeout and a grace, for a silent session */
	bool pending;           /* reply waits for its delay */
	struct mon_reply reply;
	/* A backend login under way, and what to do once it is done: */
	struct be_login be;
	uint32_t ok_flags, ok_remaining;
	bool be_counted;        /* a pass-through whose failure was counted already */
};

/*
 * authz.c: decides one request of session m (type, len payload bytes) and
 * fills m->reply.  Returns false for a request no honest session sends
 * (out of order, malformed, over a limit): the monitor then drops the
 * session without an answer.
 */
bool authz_request(const struct proxy *px, struct mon_sess *m, uint32_t type,
                   const unsigned char *payload, size_t len);

/*
 * authz.c: the backend login of m ended with rc (0 or an RC_BE_* code):
 * fills m->reply (the descriptor for the session, or why not).
 */
void authz_backend(const struct proxy *px, struct mon_sess *m, int rc);

/* authz.c: gives back the outstanding challenge, if any (the session ended or asked). */
void authz_give_back(const struct proxy *px, struct mon_sess *m);

/* monitor.c: a TLS relay child was forked (the monitor reaps it). */
void mon_forked(void);

/* monitor.c: tells the master the outcome of a login, for its per-address delays. */
void mon_report(const struct mon_sess *m, bool success);

/*
 * Starts logging user in to the backend: with the master credential
 * (password NULL: SASL PLAIN with user as the authorisation identity,
 * RFC 4616), or with the client's own password.  Returns BE_MORE (the
 * monitor waits for b->wait on b->c.fd, then calls be_step), or a final
 * result as be_step does.
 */
int be_begin(const struct proxy *px, struct be_login *b, const char *user, const char *password);

/*
 * Goes on as far as it can without blocking.  Returns BE_MORE, 0 with
 * b->c logged in, or the RC_BE_* code for the client (the reason is
 * logged).  Anything but 0 leaves b for be_abandon.
 */
int be_step(const struct proxy *px, struct be_login *b);

/* Closes and wipes b (a login given up on). */
void be_abandon(struct be_login *b);

/*
 * The descriptor the session relays to: the backend socket itself (b->bin
 * then holds the bytes to pass on with it), or for a TLS backend one end
 * of a socket pair whose other end a child of the monitor relays through
 * the TLS (which takes b->bin along).  b is closed and emptied either way.
 * Returns -1 on failure.
 */
int be_handover(const struct proxy *px, struct be_login *b);

#endif /* APOP_MONITOR_H */
