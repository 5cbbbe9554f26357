/* session.c - the unprivileged half of a connection: the POP3 AUTHORIZATION dialogue, then the relay. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/time.h>

#include <openssl/ssl.h>

#include "session.h"

#define BAD_CMDS_MAX    10      /* protocol errors before we hang up */
#define ASK_SLACK_S     10      /* beyond a failure's longest delay and a backend login */

/* The fixed reply for each refusal the monitor names (never the backend's own text). */
static const char *const refusal[RC__COUNT] = {
	[RC_AUTH]      = "-ERR [AUTH] authentication failed",
	[RC_USER]      = "-ERR [AUTH] invalid user name",
	[RC_NEED_TLS]  = "-ERR [AUTH] reusable passwords are accepted only after STLS",
	[RC_AUTHZ]     = "-ERR [AUTH] logging in as another user is not allowed",
	[RC_REINIT]    = "-ERR [AUTH] the one-time password is used up, but the re-key was refused",
	[RC_TEMP]      = "-ERR [SYS/TEMP] authentication is unavailable, try again later",
	[RC_BE_DOWN]   = "-ERR [SYS/TEMP] the mail store is unavailable, try again later",
	[RC_BE_IN_USE] = "-ERR [IN-USE] the mailbox is in use, try again later",
	[RC_BE_DELAY]  = "-ERR [LOGIN-DELAY] too soon since the last login",
	[RC_BE_PERM]   = "-ERR [SYS/PERM] the mail store refused the login",
	[RC_BE_AUTH]   = "-ERR [AUTH] the mail store refused the login",
	[RC_BE_TEMP]   = "-ERR [SYS/TEMP] the mail store refused the login, try again later",
	[RC_LIMIT]     = "-ERR too many commands, bye",
};

/* ---- replies and lines ------------------------------------------------------------ */

static int64_t client_deadline(const struct sess *s)
{
	int64_t idle = mono_ms() + (int64_t)s->cf->auth_idle_timeout * 1000;

	return idle < s->login_deadline ? idle : s->login_deadline;
}

bool say(struct sess *s, const char *fmt, ...)
{
	char buf[POP3_REPLY_MAX + 1];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf) - 2)
		return false;
	memcpy(buf + n, "\r\n", 2);
	return conn_write_all(&s->cl, buf, (size_t)n + 2,
	                      mono_ms() + (int64_t)s->cf->auth_idle_timeout * 1000);
}

int bad(struct sess *s, const char *why)
{
	if (++s->bad_cmds >= BAD_CMDS_MAX) {
		(void)say(s, "-ERR too many errors, bye");
		return 1;
	}
	return say(s, "-ERR %s", why) ? GO_ON : 1;
}

int counted(struct sess *s)
{
	return ++s->bad_cmds >= BAD_CMDS_MAX ? 1 : GO_ON;
}

/* Drops the first used bytes of the input, leaving no copy behind (the line may be a PASS). */
static void consume(struct sess *s, size_t used)
{
	memmove(s->in, s->in + used, s->inlen - used);
	s->inlen -= used;
	otp_wipe(s->in + s->inlen, used);
}

int get_line(struct sess *s, size_t max, char *line, size_t *len)
{
	bool discarding = false;

	for (;;) {
		size_t ll = 0, used = 0;
		int f = pop3_find_line(s->in, s->inlen, max, &ll, &used);
		ssize_t r;

		if (f == 1) {
			if (!discarding) {
				memcpy(line, s->in, ll);
				line[ll] = '\0';
				*len = ll;
			}
			consume(s, used);
			return discarding ? LINE_LONG : GO_ON;
		}
		if (f < 0) {
			char *lf = memchr(s->in, '\n', s->inlen);

			if (lf != NULL) {
				consume(s, (size_t)(lf - s->in) + 1);
				return LINE_LONG;
			}
			/* Drop it all: the line end has yet to come. */
			discarding = true;
			consume(s, s->inlen);
		}
		if (mono_ms() >= s->login_deadline) {
			(void)say(s, "-ERR [SYS/TEMP] login took too long, bye");
			return 1;
		}
		/* A client answers after our reply: wait first, no read that would say EAGAIN. */
		if (s->cl.ssl == NULL && wait_fd(s->cl.fd, POLLIN, client_deadline(s)) == 0)
			r = IO_TIMEOUT;
		else
			r = conn_read(&s->cl, s->in + s->inlen, sizeof(s->in) - s->inlen,
			              client_deadline(s));
		if (r == IO_TIMEOUT) {
			(void)say(s, "-ERR timeout, bye");
			return 1;
		}
		if (r <= 0)
			return 1;
		s->inlen += (size_t)r;
	}
}

/* ---- the monitor ------------------------------------------------------------------- */

bool ask(struct sess *s, uint32_t type, const void *payload, size_t len, struct answer *a)
{
	ssize_t n;

	a->type = 0;
	a->len = 0;
	a->fd = -1;
	/* The wait is bounded by the channel's receive timeout (session_run). */
	if (!msg_send(s->mon, type, payload, len, -1))
		return false;
	n = msg_recv(s->mon, &a->type, a->payload, sizeof(a->payload) - 1, &a->fd);
	if (n < 0 || (a->fd >= 0 && a->type != RP_OK)) {
		if (a->fd >= 0)
			close(a->fd);
		a->type = 0;
		a->fd = -1;
		return false;
	}
	a->len = (size_t)n;
	a->payload[n] = '\0';
	return true;
}

/* Logged in: the backend descriptor is the session's; tell the client, relay until the end. */
static int relay_to(struct sess *s, struct answer *a)
{
	struct rp_ok ok;
	struct conn be = { .fd = a->fd, .ssl = NULL };

	/* The monitor made the descriptor non-blocking, without Nagle: the file description is shared. */
	a->fd = -1;
	if (a->len < sizeof(ok) || be.fd < 0) {
		conn_close(&be);
		return 1;
	}
	memcpy(&ok, a->payload, sizeof(ok));
	if (ok.flags & RPF_REKEYED)
		(void)say(s, "+OK logged in; the key was re-initialised, %u one-time passwords left",
		          ok.remaining);
	else if (ok.flags & RPF_WARN)
		(void)say(s, "+OK logged in; %u one-time passwords left: re-key soon", ok.remaining);
	else
		(void)say(s, "+OK logged in");
	/* Commands the client pipelined after its login go first, and the backend's extra bytes. */
	if (!relay(&s->cl, &be, s->in, s->inlen, a->payload + sizeof(ok), a->len - sizeof(ok),
	           (int64_t)s->cf->idle_timeout * 1000))
		plog(LOG_INFO, "idle timeout for %s", s->ci->rhost);
	s->inlen = 0;
	conn_close(&be);
	return 0;
}

int conclude(struct sess *s, struct answer *a)
{
	struct rp_fail f;

	s->st = ST_START;
	if (a->type == RP_OK)
		return relay_to(s, a);
	if (a->type != RP_FAIL || a->len != sizeof(f))
		return 1;
	memcpy(&f, a->payload, sizeof(f));
	if (f.code == 0 || f.code >= RC__COUNT)
		return 1;
	return say(s, "%s", refusal[f.code]) && !f.close ? GO_ON : 1;
}

/* ---- the commands ---------------------------------------------------------------------- */

static int cmd_user(struct sess *s, const struct pop3_cmd *c)
{
	struct answer a;

	if (!ask(s, RQ_USER, c->arg[0], strlen(c->arg[0]), &a))
		return 1;
	s->st = ST_START;
	if (a.type == RP_CHALLENGE) {
		s->st = ST_USER;
		return say(s, "+OK %s", (const char *)a.payload) ? GO_ON : 1;
	}
	return conclude(s, &a);
}

static int cmd_pass(struct sess *s, const struct pop3_cmd *c)
{
	unsigned char req[1 + POP3_PASS_MAX];
	size_t n = strlen(c->rest);
	struct answer a;
	bool asked;

	/* The TLS state is the session's to tell: it alone sees the client's connection. */
	req[0] = s->tls;
	memcpy(req + 1, c->rest, n);
	asked = ask(s, RQ_PASS, req, 1 + n, &a);
	otp_wipe(req, sizeof(req));
	return asked ? conclude(s, &a) : 1;
}

static int cmd_apop(struct sess *s, const struct pop3_cmd *c)
{
	char req[2 * POP3_ARG_MAX + 2];
	size_t ul = strlen(c->arg[0]), dl = strlen(c->arg[1]);
	struct answer a;

	memcpy(req, c->arg[0], ul);
	req[ul] = '\0';
	memcpy(req + ul + 1, c->arg[1], dl);
	if (!ask(s, RQ_APOP, req, ul + 1 + dl, &a))
		return 1;
	return conclude(s, &a);
}

static int cmd_capa(struct sess *s, const struct pop3_cmd *c)
{
	const char *mechs = sasl_mechs(s);
	char buf[320];
	int n;

	(void)c;
	n = snprintf(buf, sizeof(buf), "+OK capability list follows\r\nUSER\r\nTOP\r\nUIDL\r\n"
	             "RESP-CODES\r\nAUTH-RESP-CODE\r\n%s%s%s%s.\r\n",
	             mechs[0] != '\0' ? "SASL " : "", mechs, mechs[0] != '\0' ? "\r\n" : "",
	             s->px->tls_server != NULL && !s->tls ? "STLS\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(buf))
		return 1;
	return conn_write_all(&s->cl, buf, (size_t)n, client_deadline(s)) ? GO_ON : 1;
}

static int cmd_stls(struct sess *s, const struct pop3_cmd *c)
{
	(void)c;
	if (s->px->tls_server == NULL)
		return say(s, "-ERR STLS is not offered here") ? GO_ON : 1;
	if (s->tls)
		return say(s, "-ERR TLS is already active") ? GO_ON : 1;
	if (!say(s, "+OK begin TLS negotiation"))
		return 1;
	/* Whatever was sent after STLS in clear is dropped (RFC 2595 s3.1, CVE-2011-0411). */
	consume(s, s->inlen);
	s->cl.ssl = SSL_new(s->px->tls_server);
	if (s->cl.ssl == NULL || SSL_set_fd(s->cl.ssl, s->cl.fd) != 1 ||
	    !tls_handshake(&s->cl, true, client_deadline(s))) {
		plog(LOG_NOTICE, "TLS handshake failed with %s", s->ci->rhost);
		return 1;
	}
	s->tls = true;
	return GO_ON;
}

static int cmd_quit(struct sess *s, const struct pop3_cmd *c)
{
	(void)c;
	/* The monitor gives back an outstanding challenge when this channel closes. */
	(void)say(s, "+OK bye");
	return 0;
}

static int cmd_not_yet(struct sess *s, const struct pop3_cmd *c)
{
	(void)c;
	return say(s, "-ERR not logged in: use APOP, or USER and PASS") ? GO_ON : 1;
}

/* The dispatcher: which commands each state takes. */
#define IN_START (1u << ST_START)
#define IN_USER  (1u << ST_USER)
static const struct {
	unsigned states;
	int (*fn)(struct sess *, const struct pop3_cmd *);
} dispatch[CMD__COUNT] = {
	[CMD_CAPA] = { IN_START | IN_USER, cmd_capa },
	[CMD_USER] = { IN_START | IN_USER, cmd_user },
	[CMD_PASS] = { IN_USER, cmd_pass },
	[CMD_APOP] = { IN_START | IN_USER, cmd_apop },
	[CMD_STLS] = { IN_START, cmd_stls },
	[CMD_AUTH] = { IN_START | IN_USER, cmd_auth },
	[CMD_QUIT] = { IN_START | IN_USER, cmd_quit },
	[CMD_NOOP] = { IN_START | IN_USER, cmd_not_yet },
	[CMD_STAT] = { IN_START | IN_USER, cmd_not_yet },
	[CMD_LIST] = { IN_START | IN_USER, cmd_not_yet },
	[CMD_RETR] = { IN_START | IN_USER, cmd_not_yet },
	[CMD_DELE] = { IN_START | IN_USER, cmd_not_yet },
	[CMD_RSET] = { IN_START | IN_USER, cmd_not_yet },
	[CMD_TOP]  = { IN_START | IN_USER, cmd_not_yet },
	[CMD_UIDL] = { IN_START | IN_USER, cmd_not_yet },
};

static int parse_error(struct sess *s, enum pop3_parse_res pr)
{
	switch (pr) {
	case P3_TOO_LONG:
		return bad(s, "line too long (at most 255 octets)");
	case P3_BAD_CHAR:
		return bad(s, "control character (NUL, CR, LF...) in the command");
	case P3_ARG_LONG:
		return bad(s, "argument too long (at most 40 octets)");
	case P3_ARGS:
		return bad(s, "wrong arguments");
	default:
		return bad(s, "unknown command");
	}
}

static int authorization(struct sess *s)
{
	char line[POP3_LINE_MAX + 1];
	struct pop3_cmd c;
	size_t len = 0;
	int ret = GO_ON;

	while (ret == GO_ON) {
		enum pop3_parse_res pr;

		ret = get_line(s, POP3_LINE_MAX, line, &len);
		if (ret == LINE_LONG) {
			ret = bad(s, "line too long (at most 255 octets)");
			continue;
		}
		if (ret != GO_ON)
			break;
		pr = pop3_parse(line, len, &c);
		otp_wipe(line, sizeof(line));
		if (pr != P3_OK)
			ret = parse_error(s, pr);
		else if (!(dispatch[c.id].states & (1u << s->st)))
			ret = bad(s, c.id == CMD_PASS ? "USER first" : "not allowed now");
		else
			ret = dispatch[c.id].fn(s, &c);
		otp_wipe(&c, sizeof(c));
	}
	return ret;
}

int session_run(const struct proxy *px, int client_fd, int mon_fd, const struct client_info *ci)
{
	struct sess s;
	struct timeval wait = { 0, 0 };
	int one = 1, ret = 1;

	memset(&s, 0, sizeof(s));
	s.px = px;
	s.cf = &px->cf;
	s.cl.fd = client_fd;
	s.mon = mon_fd;
	s.ci = ci;
	s.st = ST_START;
	s.login_deadline = mono_ms() + (int64_t)px->cf.login_timeout * 1000;
	/* The master accepted it non-blocking; replies go out at once. */
	(void)setsockopt(client_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* The monitor answers within a failure's longest delay and a backend login. */
	wait.tv_sec = (time_t)(s.cf->fail_delay_max_ms / 1000 + s.cf->backend_timeout + ASK_SLACK_S);
	if (setsockopt(mon_fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait)) != 0)
		goto out;
	if (say(&s, "+OK POP3 proxy ready %s", ci->stamp))
		ret = authorization(&s);
out:
	close(s.mon);
	conn_close(&s.cl);
	otp_wipe(&s, sizeof(s));
	return ret;
}

void session_worker(const struct proxy *px, int ctl)
{
	for (unsigned n = 0; n < px->cf.session_reuse; n++) {
		struct client_info ci;
		uint32_t type = 0;
		int fds[2];
		ssize_t r = msg_recv_fds(ctl, &type, &ci, sizeof(ci), fds, 2);

		if (r != (ssize_t)sizeof(ci) || type != MM_CONN || fds[0] < 0 || fds[1] < 0)
			_exit(r == MSG_EOF ? 0 : 1);
		ci.rhost[sizeof(ci.rhost) - 1] = '\0';
		ci.stamp[sizeof(ci.stamp) - 1] = '\0';
		(void)session_run(px, fds[0], fds[1], &ci);
		otp_wipe(&ci, sizeof(ci));
		/* The last one needs no word: the master sees the process end. */
		if (n + 1 < px->cf.session_reuse && !msg_send(ctl, MM_DONE, NULL, 0, -1))
			break;
	}
	_exit(0);
}
