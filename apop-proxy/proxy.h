/* proxy.h - what apop-proxy's files share: limits, the config, the parsers, the processes. */
#ifndef APOP_PROXY_H
#define APOP_PROXY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "otp.h"

#define PROXY_VERSION      "0.2"

/* ---- POP3 limits -------------------------------------------------------- */

#define POP3_LINE_MAX      255  /* RFC 2449 s4: a command line, CRLF included */
#define POP3_ARG_MAX       40   /* RFC 2449 s4: each argument */
/*
 * PASS takes the rest of the line as one argument (RFC 1939 s7: it may hold
 * spaces, as six-word OTPs do); RFC 2243 init-word responses exceed 40
 * octets, so PASS alone is bounded by the line, not by POP3_ARG_MAX.  So is
 * AUTH's initial response (RFC 5034 s4).
 */
#define POP3_PASS_MAX      (POP3_LINE_MAX - 7)
#define POP3_ARGS          2    /* APOP name digest: the most any command takes */
#define POP3_REPLY_MAX     512  /* RFC 1939 s3: replies up to 512 octets */

/* ---- SASL (RFC 4422, RFC 5034 for POP3) -------------------------------- */

#define SASL_FIELD_MAX     255  /* RFC 2444 s4, RFC 4616 s2: authzid, authcid, passwd */
/* The longest decoded client message: PLAIN's authzid NUL authcid NUL passwd. */
#define SASL_MSG_MAX       (3 * SASL_FIELD_MAX + 2)
/*
 * A client's continuation line: base64 of SASL_MSG_MAX (RFC 5034 s4: the
 * 255-octet limit of commands does not apply; the server must take what
 * its mechanisms need), CRLF not counted.
 */
#define SASL_LINE_MAX      ((SASL_MSG_MAX + 2) / 3 * 4)

/* Decodes RFC 4648 s4 base64 (padding required, nothing else allowed) into out. */
bool sasl_b64_decode(const char *in, size_t len, unsigned char *out, size_t size, size_t *outlen);

/* Encodes len bytes as base64 into out (NUL-terminated); false if it does not fit. */
bool sasl_b64_encode(const unsigned char *in, size_t len, char *out, size_t size);

/*
 * Splits a decoded SASL message of len bytes at its NULs: exactly nfields
 * fields (2 for OTP: authzid, authcid; 3 for PLAIN: authzid, authcid,
 * passwd), each within SASL_FIELD_MAX, all but the first non-empty, none
 * holding a control character other than in a password.  Fills field[i]
 * and flen[i] (pointers into msg).  Returns false for anything else.
 */
bool sasl_split(const unsigned char *msg, size_t len, unsigned nfields,
                const char *field[3], size_t flen[3]);

/* ---- config (config.c: a pure parser, no I/O) -------------------------- */

#define CONF_LISTEN_MAX    8
#define CONF_TEXT_MAX      65536  /* a config file larger than this is refused */
#define CONF_NAME_MAX      255    /* host names, RFC 1035 s2.3.4 */
#define CONF_ADDR_MAX      64     /* a numeric IPv4 or IPv6 address, with room */
/*
 * The banner's host: "<pid.time.random@host>" must stay within
 * OTP_APOP_STAMP_MAX (a timestamp fits an RFC 1939/2449 reply and the
 * APOP rules of libotp): pid and time take at most 7 and 11 digits, the
 * random part 16, the punctuation 5.
 */
#define CONF_STAMP_FIXED   (7 + 11 + 16 + 5)
#define CONF_BANNER_HOST_MAX (OTP_APOP_STAMP_MAX - CONF_STAMP_FIXED)
#define CONF_MONITORS_MAX  64

enum backend_tls { BTLS_NONE, BTLS_STLS, BTLS_POP3S };
enum log_target { LOGTO_SYSLOG, LOGTO_STDERR };

struct listen_addr {
	char addr[CONF_ADDR_MAX];
	unsigned port;
};

struct config {
	struct listen_addr listen[CONF_LISTEN_MAX];
	unsigned nlisten;
	char hostname[CONF_NAME_MAX + 1];       /* "" = gethostname() */
	char user[33];                          /* the unprivileged account */
	char chroot_dir[PATH_MAX];              /* "" = none */
	char db[PATH_MAX];                      /* "" = the compiled default */
	char tls_cert[PATH_MAX];                /* both set: STLS offered */
	char tls_key[PATH_MAX];
	char backend_addr[CONF_ADDR_MAX];
	unsigned backend_port;
	enum backend_tls backend_tls;
	char backend_ca[PATH_MAX];
	char backend_tls_name[CONF_NAME_MAX + 1];
	char master_user[OTP_USER_MAX + 1];
	char master_password_file[PATH_MAX];
	bool allow_plain_pass;
	unsigned max_connections;
	unsigned max_per_host;
	unsigned monitors;                      /* root monitor processes */
	unsigned session_reuse;                 /* connections a session process serves in turn */
	unsigned login_timeout;                 /* the whole AUTHORIZATION phase */
	unsigned auth_idle_timeout;             /* idle, before login */
	unsigned idle_timeout;                  /* idle, after login (RFC 1939 s3: >= 600) */
	unsigned backend_timeout;
	unsigned max_auth_failures;             /* per connection */
	unsigned fail_delay_ms;                 /* first delay after a failure */
	unsigned fail_delay_max_ms;
	unsigned fail_memory;                   /* seconds an address's failures are remembered */
	struct otp_policy policy;               /* libotp's login settings (db set from db[]) */
	enum log_target log;
};

/* Fills c with the defaults of apop-proxy.conf(5). */
void config_defaults(struct config *c);

/*
 * Parses len bytes of config text into c (which config_defaults filled)
 * and checks the result as a whole.  Returns true, or false with a
 * one-line reason ("line 3: unknown key frob") in err.  No I/O.
 */
bool config_parse(const char *text, size_t len, struct config *c, char *err, size_t errsize);

/*
 * The banner's host from a configured or system host name: its letters,
 * digits and dots (mpop refuses anything else), "localhost" when none is
 * left.  Returns false when it is longer than CONF_BANNER_HOST_MAX.
 */
bool config_banner_host(const char *name, char *out, size_t size);

/* ---- POP3 command lines (pop3_parse.c: pure, no I/O) ------------------- */

enum pop3_cmd_id {
	CMD_CAPA, CMD_USER, CMD_PASS, CMD_APOP, CMD_STLS, CMD_AUTH, CMD_QUIT, CMD_NOOP,
	/* TRANSACTION commands, recognised only to answer "not logged in" */
	CMD_STAT, CMD_LIST, CMD_RETR, CMD_DELE, CMD_RSET, CMD_TOP, CMD_UIDL,
	CMD__COUNT
};

struct pop3_cmd {
	enum pop3_cmd_id id;
	unsigned nargs;
	char arg[POP3_ARGS][POP3_ARG_MAX + 1];
	char rest[POP3_PASS_MAX + 1];           /* PASS, and AUTH's initial response */
};

enum pop3_parse_res {
	P3_OK,
	P3_EMPTY,       /* an empty line */
	P3_TOO_LONG,    /* over POP3_LINE_MAX octets */
	P3_BAD_CHAR,    /* NUL, a bare CR or another control character */
	P3_UNKNOWN,     /* no such command */
	P3_ARGS,        /* the wrong number of arguments */
	P3_ARG_LONG     /* an argument over POP3_ARG_MAX octets */
};

/* The keyword of a command ("APOP"), for replies and logs. */
const char *pop3_cmd_name(enum pop3_cmd_id id);

/*
 * Finds the end of the first line in buf[0..len-1], which must come within
 * max octets (line end included).  Returns 1 with *linelen (without CRLF
 * or LF) and *consumed (with it), 0 when more bytes are needed, -1 when no
 * line end comes within max octets.
 */
int pop3_find_line(const char *buf, size_t len, size_t max, size_t *linelen, size_t *consumed);

/*
 * Parses one command line of len bytes (without its line end) into *cmd:
 * a keyword of 3 or 4 letters, any case, then arguments separated by
 * single spaces, each within POP3_ARG_MAX; PASS takes the rest of the
 * line, and so does AUTH's second argument (the initial response, in
 * cmd->rest).  Bytes below 0x20 (NUL, CR, LF, TAB...) and 0x7f are
 * refused anywhere.  The caller wipes cmd (it may hold a password).
 */
enum pop3_parse_res pop3_parse(const char *line, size_t len, struct pop3_cmd *cmd);

/* ---- processes ---------------------------------------------------------- */

/* Everything a connection's processes inherit from the master. */
struct proxy {
	struct config cf;
	struct otp_policy policy;
	uid_t uid;
	gid_t gid;
	struct sockaddr_storage backend;
	socklen_t backend_len;
	void *tls_server;       /* SSL_CTX *, or NULL without STLS */
	void *tls_client;       /* SSL_CTX * for the backend, or NULL */
	char host[CONF_NAME_MAX + 1];   /* for the banner: letters, digits, '.' */
};

struct client_info {
	struct sockaddr_storage addr;
	char rhost[64];         /* printable address */
	uint32_t prior_failures;
	int32_t pid;            /* the session's process */
	uint64_t conn;          /* the master's number for the connection */
	/* The banner's timestamp, made by the master: no session can choose one to replay. */
	char stamp[OTP_APOP_STAMP_MAX + 1];
};

/*
 * setup.c: reads and checks the configuration and everything it names, as
 * the running proxy would (apop-proxy -t); dies with one line on trouble.
 * With check_secrets, also the key database and the backend password file
 * (in a child process, so that nothing of them stays in the caller).
 */
void proxy_setup(struct proxy *px, const char *path, bool foreground, bool check_secrets);

/*
 * backend.c: the backend master user's password, from the first line of
 * master_password_file (a regular file owned by root, mode 0600 or 0400),
 * into pass.  Returns false after logging why; the caller wipes pass.
 */
#define MASTER_PASS_MAX 255
bool master_password_read(const struct config *cf, char pass[MASTER_PASS_MAX + 1]);

/* setup.c: the session side: chroot, the configured account, no way back. */
bool drop_privileges(const struct proxy *px);

/* setup.c: one line to standard error (and the log), then exit(1). */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/*
 * monitor.c: a root monitor serving the sessions the master hands it over
 * chan (monitor protocol, mon_proto.h) until chan closes; never returns.
 */
void monitor_run(const struct proxy *px, int chan) __attribute__((noreturn));

/* session.c: the unprivileged POP3 session for one connection; returns the exit status. */
int session_run(const struct proxy *px, int client_fd, int mon_fd, const struct client_info *ci);

/*
 * session.c: a session process: takes connections from the master over
 * ctl, one at a time, px->cf.session_reuse of them, then exits.
 */
void session_worker(const struct proxy *px, int ctl) __attribute__((noreturn));

/* log.c */
void log_init(enum log_target t);
enum log_target log_target(void);
void plog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A user name as it may appear in a log line: printable, no blanks, capped. */
void log_safe(char *dst, size_t size, const char *src);

/* Milliseconds on the monotonic clock. */
int64_t mono_ms(void);

#endif /* APOP_PROXY_H */
