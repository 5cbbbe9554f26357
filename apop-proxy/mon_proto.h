/* mon_proto.h - the messages between the master, the monitors and the sessions. */
#ifndef APOP_MON_PROTO_H
#define APOP_MON_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proxy.h"

/*
 * Every channel is an AF_UNIX SOCK_SEQPACKET socket pair: one message is
 * one struct msg_hdr and len payload bytes, at most MSG_PAYLOAD_MAX, and
 * at most one descriptor rides along (SCM_RIGHTS).  A message of another
 * size, a truncated one, or a descriptor where none belongs is malformed.
 */
#define MSG_PAYLOAD_MAX 1024
#define MSG_FDS_MAX     2       /* the master hands a session its client and its channel */

struct msg_hdr {
	uint32_t type;
	uint32_t len;
};

/* ---- master <-> monitor --------------------------------------------------- */

enum {
	MM_SESSION = 1,         /* master: struct client_info, and the session's channel */
	MM_OUTCOME,             /* monitor: struct outcome, a login's result for the address */
	MM_KILL                 /* monitor: uint64_t conn, a connection whose session it gave up on */
};

/* ---- master <-> session process ---------------------------------------------- */

enum {
	MM_CONN = 10,           /* master: struct client_info, the client and the monitor channel */
	MM_DONE                 /* session: nothing; the connection is over, the next may come */
};

struct outcome {
	uint8_t family;
	uint8_t addr[16];
	uint8_t success;
};

/* ---- session <-> monitor ---------------------------------------------------- */

enum mon_req {
	RQ_USER = 1,            /* user: begin a one-time-password login */
	RQ_PASS,                /* tls byte, then PASS's argument: the monitor says what it is */
	RQ_APOP,                /* user NUL digest */
	RQ_SASL_OTP,            /* authzid NUL authcid: begin an AUTH OTP login */
	RQ_SASL_RESP,           /* the OTP mechanism's response */
	RQ_SASL_PLAIN,          /* tls byte, then authzid NUL authcid NUL passwd */
	RQ_ABORT,               /* nothing: withdraw the outstanding challenge */
	RQ__COUNT
};

enum mon_rep {
	RP_CHALLENGE = 100,     /* what the USER reply or the OTP mechanism shows */
	RP_OK,                  /* struct rp_ok, then bytes the backend sent after its login; with its descriptor */
	RP_FAIL                 /* struct rp_fail */
};

#define RPF_OTP      0x1u   /* an RFC 2289 response logged in: remaining counts */
#define RPF_REKEYED  0x2u   /* an init-hex/init-word response re-keyed the user */
#define RPF_WARN     0x4u   /* fewer than the warn setting are left */

struct rp_ok {
	uint32_t flags;
	uint32_t remaining;
};

/* Why a request failed: the session turns each into its fixed reply. */
enum rp_code {
	RC_AUTH = 1,            /* authentication failed */
	RC_USER,                /* a malformed user name */
	RC_NEED_TLS,            /* a reusable password before STLS */
	RC_AUTHZ,               /* SASL: another authorisation identity */
	RC_REINIT,              /* the OTP was used up, but the re-key it carried refused */
	RC_TEMP,                /* the key store is unavailable */
	RC_BE_DOWN,             /* the mail store cannot be reached */
	RC_BE_IN_USE,           /* the mail store's [IN-USE] */
	RC_BE_DELAY,            /* [LOGIN-DELAY] */
	RC_BE_PERM,             /* [SYS/PERM] */
	RC_BE_AUTH,             /* [AUTH]: it refused our login */
	RC_BE_TEMP,             /* any other refusal */
	RC_LIMIT,               /* too many requests on this connection */
	RC__COUNT
};

struct rp_fail {
	uint32_t code;          /* enum rp_code */
	uint32_t close;         /* the monitor will answer nothing more: hang up */
};

/* ---- msg.c ------------------------------------------------------------------ */

/* Sends one message, with descriptor fd unless it is -1.  Returns false on failure. */
bool msg_send(int sock, uint32_t type, const void *payload, size_t len, int fd);

/* The same with nfds (at most MSG_FDS_MAX) descriptors. */
bool msg_send_fds(int sock, uint32_t type, const void *payload, size_t len, const int *fds,
                  unsigned nfds);

/*
 * Receives one message into *type and payload (size bytes).  With fd not
 * NULL, a passed descriptor goes to *fd (else -1); with fd NULL any
 * descriptor makes the message malformed (and is closed).  Returns the
 * payload length, MSG_BAD for a malformed message, MSG_EOF at the end of
 * the channel or on an error, MSG_AGAIN when a non-blocking channel is empty.
 */
#define MSG_BAD   (-1)
#define MSG_EOF   (-2)
#define MSG_AGAIN (-3)
ssize_t msg_recv(int sock, uint32_t *type, void *payload, size_t size, int *fd);

/* The same taking up to want descriptors into fds[] (-1 for those that did not come). */
ssize_t msg_recv_fds(int sock, uint32_t *type, void *payload, size_t size, int *fds, unsigned want);

#endif /* APOP_MON_PROTO_H */
