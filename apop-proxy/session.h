/* session.h - the unprivileged session's parts: the dialogue (session.c) and AUTH (session_auth.c). */
#ifndef APOP_SESSION_H
#define APOP_SESSION_H

#include "proxy.h"
#include "conn.h"
#include "mon_proto.h"

enum sess_state { ST_START, ST_USER };

struct sess {
	const struct proxy *px;
	const struct config *cf;
	struct conn cl;
	int mon;
	const struct client_info *ci;
	enum sess_state st;
	bool tls;
	char in[SASL_LINE_MAX + 2];     /* client bytes not yet parsed: a line and its end */
	size_t inlen;
	int64_t login_deadline;
	unsigned bad_cmds;
};

/* What the monitor answered a request. */
struct answer {
	uint32_t type;              /* RP_*, 0 when the monitor is gone */
	unsigned char payload[MSG_PAYLOAD_MAX + 1];
	size_t len;                 /* payload is NUL-terminated after len bytes */
	int fd;                     /* with RP_OK: the backend */
};

/* Results of the command handlers: go on reading commands, or end with a status. */
#define GO_ON (-1)

/* get_line's results besides GO_ON. */
#define LINE_LONG 2             /* an over-long line, consumed */

/* Writes one reply line (CRLF added); false if it cannot be sent. */
bool say(struct sess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Reads the next line of at most max octets (without its end) into line;
 * GO_ON, LINE_LONG when the line was longer (it is skipped), else the
 * session's exit status (timeout, end of input; the client was told).
 */
int get_line(struct sess *s, size_t max, char *line, size_t *len);

/* Sends a request and waits for the answer; false when the monitor is gone. */
bool ask(struct sess *s, uint32_t type, const void *payload, size_t len, struct answer *a);

/*
 * What to do with an answer to a login request: RP_OK logs in and relays
 * until the end (the exit status), RP_FAIL says why and returns GO_ON or,
 * when the monitor will answer no more, 1.
 */
int conclude(struct sess *s, struct answer *a);

/* A protocol error: -ERR with why, and the end after too many. */
int bad(struct sess *s, const char *why);

/* A protocol error already answered: counted the same way. */
int counted(struct sess *s);

/* session_auth.c: AUTH (RFC 5034) with OTP (RFC 2444) and, after STLS, PLAIN (RFC 4616). */
int cmd_auth(struct sess *s, const struct pop3_cmd *c);

/* session_auth.c: the SASL capability line's mechanisms ("OTP PLAIN"), "" for none. */
const char *sasl_mechs(const struct sess *s);

#endif /* APOP_SESSION_H */
