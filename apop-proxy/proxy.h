/* proxy.h - what apop-proxy's files share: limits, the config, the POP3 parser, the processes. */
#ifndef APOP_PROXY_H
#define APOP_PROXY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "otp.h"

#define PROXY_VERSION      "0.1"

/* ---- POP3 limits -------------------------------------------------------- */

#define POP3_LINE_MAX      255  /* RFC 2449 s4: a command line, CRLF included */
#define POP3_ARG_MAX       40   /* RFC 2449 s4: each argument */
/*
 * PASS takes the rest of the line as one argument (RFC 1939 s7: it may hold
 * spaces, as six-word OTPs do); RFC 2243 init-word responses exceed 40
 * octets, so PASS alone is bounded by the line, not by POP3_ARG_MAX.
 */
#define POP3_PASS_MAX      (POP3_LINE_MAX - 7)
#define POP3_ARGS          2    /* APOP name digest: the most any command takes */
#define POP3_REPLY_MAX     512  /* RFC 1939 s3: replies up to 512 octets */

/* ---- config (config.c: a pure parser, no I/O) -------------------------- */

#define CONF_LISTEN_MAX    8
#define CONF_TEXT_MAX      65536  /* a config file larger than this is refused */
#define CONF_NAME_MAX      255    /* host names, RFC 1035 s2.3.4 */
#define CONF_ADDR_MAX      64     /* a numeric IPv4 or IPv6 address, with room */

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
	char rest[POP3_PASS_MAX + 1];           /* PASS: the rest of the line */
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
 * Finds the end of the first line in buf[0..len-1].  Returns 1 with
 * *linelen (without CRLF or LF) and *consumed (with it), 0 when more
 * bytes are needed, -1 when no line end comes within POP3_LINE_MAX octets.
 */
int pop3_find_line(const char *buf, size_t len, size_t *linelen, size_t *consumed);

/*
 * Parses one command line of len bytes (without its line end) into *cmd:
 * a keyword of 3 or 4 letters, any case, then arguments separated by
 * single spaces, each within POP3_ARG_MAX; PASS takes the rest of the
 * line.  Bytes below 0x20 (NUL, CR, LF, TAB...) and 0x7f are refused
 * anywhere.  The caller wipes cmd (it may hold a password).
 */
enum pop3_parse_res pop3_parse(const char *line, size_t len, struct pop3_cmd *cmd);

/* ---- the monitor protocol (monitor.c <-> session.c) -------------------- */

enum mon_type {
	MON_OTP_BEGIN = 1,      /* user: reply has the challenge */
	MON_PASS,               /* arg: PASS's argument; the monitor says what it is */
	MON_OTP_ABORT,
	MON_APOP,               /* user, arg: the 32 hex digits */
	MON_BACKEND_RESULT      /* ok: whether the backend took the login */
};

struct mon_req {
	uint32_t type;
	uint32_t ok;
	char user[OTP_USER_MAX + 1];
	char arg[POP3_PASS_MAX + 1];
};

enum mon_status {
	MST_OK = 1,
	MST_FAIL,               /* authentication failed */
	MST_BUSY,               /* another login for the user holds the challenge */
	MST_TEMP,               /* the key database is unusable */
	MST_REFUSED,            /* a request out of order or malformed */
	MST_PLAIN               /* PASS is a backend password: try it, then report the result */
};

struct mon_rep {
	uint32_t status;
	uint32_t remaining;     /* OTP logins left, on success; UINT32_MAX: a token login */
	uint32_t close;         /* too many failures: the session must end */
	char challenge[OTP_PROMPT_BUFSZ];    /* what the USER reply shows */
	char master_user[OTP_USER_MAX + 1];
	char master_pass[256];
};

/* What a monitor tells the master about a login, over the status pipe. */
struct outcome {
	uint8_t family;
	uint8_t addr[16];
	uint8_t success;
};

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
	int status_fd;          /* write end of the status pipe */
	char host[CONF_NAME_MAX + 1];   /* for the banner: letters, digits, '.' */
};

struct client_info {
	struct sockaddr_storage addr;
	char rhost[64];         /* printable address */
	unsigned prior_failures;
};

/* monitor.c: runs one connection (forks the session); never returns. */
void monitor_run(const struct proxy *px, int client_fd, const struct client_info *ci)
	__attribute__((noreturn));

/* session.c: the unprivileged POP3 session; returns the exit status. */
int session_run(const struct proxy *px, int client_fd, int mon_fd, const char *stamp,
                const char *rhost);

/* log.c */
void log_init(enum log_target t);
enum log_target log_target(void);
void plog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A user name as it may appear in a log line: printable, no blanks, capped. */
void log_safe(char *dst, size_t size, const char *src);

/* Milliseconds on the monotonic clock. */
int64_t mono_ms(void);

#endif /* APOP_PROXY_H */
