/* session.c - the unprivileged half of a connection: POP3 AUTHORIZATION, backend login, relay. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "proxy.h"

#define RELAY_BUF       65536
#define BAD_CMDS_MAX    10      /* protocol errors before we hang up */
#define IO_TIMEOUT      (-2)
#define IO_WANT_READ    (-3)
#define IO_WANT_WRITE   (-4)

enum state { ST_START, ST_USER };

struct conn {
	int fd;
	SSL *ssl;
};

struct sess {
	const struct proxy *px;
	const struct config *cf;
	struct conn cl, be;
	int mon;
	const char *stamp;
	const char *rhost;
	enum state st;
	bool tls;
	char user[OTP_USER_MAX + 1];
	char in[POP3_LINE_MAX * 4];     /* client bytes not yet parsed */
	size_t inlen;
	char bin[POP3_REPLY_MAX * 2];   /* backend bytes not yet parsed */
	size_t binlen;
	int64_t login_deadline;
	unsigned bad_cmds;
};

/* ---- I/O with deadlines ---------------------------------------------------- */

static int wait_fd(int fd, short ev, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = ev };
		int64_t left = deadline - mono_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* One non-blocking attempt: > 0 bytes, 0 end of stream, -1 error, IO_WANT_*. */
static ssize_t conn_read_nb(struct conn *c, void *buf, size_t n)
{
	if (c->ssl != NULL) {
		int r, e;

		ERR_clear_error();
		r = SSL_read(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
		if (r > 0)
			return r;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			return IO_WANT_READ;
		if (e == SSL_ERROR_WANT_WRITE)
			return IO_WANT_WRITE;
		return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
	}
	for (;;) {
		ssize_t r = read(c->fd, buf, n);

		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? IO_WANT_READ : -1;
	}
}

static ssize_t conn_write_nb(struct conn *c, const void *buf, size_t n)
{
	if (c->ssl != NULL) {
		int r, e;

		ERR_clear_error();
		r = SSL_write(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
		if (r > 0)
			return r;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ)
			return IO_WANT_READ;
		if (e == SSL_ERROR_WANT_WRITE)
			return IO_WANT_WRITE;
		return -1;
	}
	for (;;) {
		ssize_t r = send(c->fd, buf, n, MSG_NOSIGNAL);

		if (r >= 0)
			return r;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? IO_WANT_WRITE : -1;
	}
}

/* Blocking read until the deadline: > 0, 0 end, -1 error, IO_TIMEOUT. */
static ssize_t conn_read(struct conn *c, void *buf, size_t n, int64_t deadline)
{
	for (;;) {
		ssize_t r = conn_read_nb(c, buf, n);
		int w;

		if (r != IO_WANT_READ && r != IO_WANT_WRITE)
			return r;
		w = wait_fd(c->fd, r == IO_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (w <= 0)
			return w == 0 ? IO_TIMEOUT : -1;
	}
}

static bool conn_write_all(struct conn *c, const void *buf, size_t n, int64_t deadline)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t r = conn_write_nb(c, p, n);

		if (r == IO_WANT_READ || r == IO_WANT_WRITE) {
			if (wait_fd(c->fd, r == IO_WANT_READ ? POLLIN : POLLOUT, deadline) <= 0)
				return false;
			continue;
		}
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static bool tls_handshake(struct conn *c, bool server, int64_t deadline)
{
	for (;;) {
		int r, e;

		ERR_clear_error();
		r = server ? SSL_accept(c->ssl) : SSL_connect(c->ssl);
		if (r == 1)
			return true;
		e = SSL_get_error(c->ssl, r);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return false;
		if (wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline) <= 0)
			return false;
	}
}

static void conn_close(struct conn *c)
{
	if (c->ssl != NULL) {
		(void)SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* ---- replies ----------------------------------------------------------------- */

static int64_t client_deadline(const struct sess *s)
{
	int64_t idle = mono_ms() + (int64_t)s->cf->auth_idle_timeout * 1000;

	return idle < s->login_deadline ? idle : s->login_deadline;
}

static bool say(struct sess *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool say(struct sess *s, const char *fmt, ...)
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

/* ---- the monitor ------------------------------------------------------------- */

static bool ask(struct sess *s, enum mon_type type, const char *user, const char *arg, bool ok,
                struct mon_rep *rep)
{
	struct mon_req q;
	ssize_t n;
	bool good = false;

	memset(&q, 0, sizeof(q));
	memset(rep, 0, sizeof(*rep));
	q.type = type;
	q.ok = ok;
	if (user != NULL)
		snprintf(q.user, sizeof(q.user), "%s", user);
	if (arg != NULL)
		snprintf(q.arg, sizeof(q.arg), "%s", arg);
	n = send(s->mon, &q, sizeof(q), MSG_NOSIGNAL);
	if (n != (ssize_t)sizeof(q))
		goto out;
	do
		n = recv(s->mon, rep, sizeof(*rep), 0);
	while (n < 0 && errno == EINTR);
	good = n == (ssize_t)sizeof(*rep);
out:
	otp_wipe(&q, sizeof(q));
	return good;
}

/* ---- the backend -------------------------------------------------------------- */

/* Reads one backend reply line into line (without CRLF); false on trouble. */
static bool be_line(struct sess *s, char *line, size_t size, int64_t deadline)
{
	for (;;) {
		char *lf = memchr(s->bin, '\n', s->binlen);

		if (lf != NULL) {
			size_t n = (size_t)(lf - s->bin), used = n + 1;

			if (n > 0 && s->bin[n - 1] == '\r')
				n--;
			if (n >= size)
				return false;
			memcpy(line, s->bin, n);
			line[n] = '\0';
			memmove(s->bin, s->bin + used, s->binlen - used);
			s->binlen -= used;
			return true;
		}
		if (s->binlen == sizeof(s->bin))
			return false;
		ssize_t r = conn_read(&s->be, s->bin + s->binlen, sizeof(s->bin) - s->binlen, deadline);
		if (r <= 0)
			return false;
		s->binlen += (size_t)r;
	}
}

static bool be_command(struct sess *s, const char *cmd, char *line, size_t size, int64_t deadline)
{
	char buf[POP3_LINE_MAX * 2];
	size_t n = strlen(cmd);
	bool ok;

	if (n + 2 > sizeof(buf))
		return false;
	memcpy(buf, cmd, n);
	memcpy(buf + n, "\r\n", 2);
	ok = conn_write_all(&s->be, buf, n + 2, deadline) && be_line(s, line, size, deadline);
	otp_wipe(buf, sizeof(buf));
	return ok;
}

static bool is_ok(const char *line)
{
	return strncmp(line, "+OK", 3) == 0 && (line[3] == '\0' || line[3] == ' ');
}

/* An RFC 2449/3206 response code for a backend refusal; never the backend's own text. */
static const char *refusal_reply(const char *line)
{
	if (strncmp(line, "-ERR [IN-USE]", 13) == 0)
		return "-ERR [IN-USE] the mailbox is in use, try again later";
	if (strncmp(line, "-ERR [LOGIN-DELAY]", 18) == 0)
		return "-ERR [LOGIN-DELAY] too soon since the last login";
	if (strncmp(line, "-ERR [SYS/PERM]", 15) == 0)
		return "-ERR [SYS/PERM] the mail store refused the login";
	if (strncmp(line, "-ERR [AUTH]", 11) == 0)
		return "-ERR [AUTH] the mail store refused the login";
	return "-ERR [SYS/TEMP] the mail store refused the login, try again later";
}

static bool be_connect(struct sess *s, int64_t deadline)
{
	const struct proxy *px = s->px;
	int fd, one = 1, err = 0;
	socklen_t elen = sizeof(err);

	fd = socket(px->backend.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	s->be.fd = fd;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&px->backend, px->backend_len) != 0) {
		if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) <= 0 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0)
			return false;
	}
	return true;
}

/* True for an IPv4 or IPv6 literal, which RFC 6066 keeps out of SNI. */
static bool is_ip_literal(const char *name)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

static bool be_tls(struct sess *s, int64_t deadline)
{
	const char *name = s->cf->backend_tls_name;

	s->be.ssl = SSL_new(s->px->tls_client);
	/* SSL_set1_host checks a DNS name or, for a literal, the IP address. */
	if (s->be.ssl == NULL || SSL_set_fd(s->be.ssl, s->be.fd) != 1 ||
	    (!is_ip_literal(name) && SSL_set_tlsext_host_name(s->be.ssl, name) != 1) ||
	    SSL_set1_host(s->be.ssl, name) != 1)
		return false;
	SSL_set_verify(s->be.ssl, SSL_VERIFY_PEER, NULL);
	if (!tls_handshake(&s->be, false, deadline)) {
		long v = SSL_get_verify_result(s->be.ssl);
		const char *why = ERR_reason_error_string(ERR_peek_last_error());

		/* The verify result is X509_V_OK when the handshake failed for another reason. */
		plog(LOG_ERR, "backend TLS failed: %s", v != X509_V_OK ? X509_verify_cert_error_string(v) :
		     why != NULL ? why : "no handshake (timeout or connection closed)");
		return false;
	}
	return true;
}

/*
 * Opens the backend session for user: with the master credential in rep
 * (SASL PLAIN with user as the authorisation identity, RFC 4616), or with
 * the client's own password.  Returns NULL, or the -ERR line for the client.
 */
static const char *be_login(struct sess *s, const char *user, const struct mon_rep *rep,
                            const char *password)
{
	int64_t deadline = mono_ms() + (int64_t)s->cf->backend_timeout * 1000;
	const char *down = "-ERR [SYS/TEMP] the mail store is unavailable, try again later";
	char line[POP3_REPLY_MAX + 1], cmd[POP3_LINE_MAX + 1];
	unsigned char plain[3 * OTP_USER_MAX + 256 + 4], b64[(sizeof(plain) + 2) / 3 * 4 + 1];
	const char *res = down;
	size_t n = 0;
	int r;

	if (!be_connect(s, deadline)) {
		plog(LOG_ERR, "backend %s port %u: cannot connect", s->cf->backend_addr,
		     s->cf->backend_port);
		goto out;
	}
	if (s->cf->backend_tls == BTLS_POP3S && !be_tls(s, deadline))
		goto out;
	if (!be_line(s, line, sizeof(line), deadline) || !is_ok(line)) {
		plog(LOG_ERR, "backend: no greeting");
		goto out;
	}
	if (s->cf->backend_tls == BTLS_STLS) {
		if (!be_command(s, "STLS", line, sizeof(line), deadline) || !is_ok(line)) {
			plog(LOG_ERR, "backend: STLS refused");
			goto out;
		}
		s->binlen = 0;
		if (!be_tls(s, deadline))
			goto out;
	}
	if (password == NULL) {
		size_t ul = strlen(user), ml = strlen(rep->master_user), pl = strlen(rep->master_pass);

		memcpy(plain + n, user, ul);
		n += ul;
		plain[n++] = '\0';
		memcpy(plain + n, rep->master_user, ml);
		n += ml;
		plain[n++] = '\0';
		memcpy(plain + n, rep->master_pass, pl);
		n += pl;
		r = EVP_EncodeBlock(b64, plain, (int)n);
		if (r <= 0 || snprintf(cmd, sizeof(cmd), "AUTH PLAIN %s", b64) >= (int)sizeof(cmd))
			goto out;
		if (!be_command(s, cmd, line, sizeof(line), deadline))
			goto out;
		if (strncmp(line, "+ ", 2) == 0 || strcmp(line, "+") == 0) {
			/* No initial response accepted: cancel (RFC 5034 s4). */
			(void)be_command(s, "*", line, sizeof(line), deadline);
			plog(LOG_ERR, "backend: AUTH PLAIN with an initial response refused");
			goto out;
		}
	} else {
		if (snprintf(cmd, sizeof(cmd), "USER %s", user) >= (int)sizeof(cmd) ||
		    !be_command(s, cmd, line, sizeof(line), deadline))
			goto out;
		if (is_ok(line) &&
		    (snprintf(cmd, sizeof(cmd), "PASS %s", password) >= (int)sizeof(cmd) ||
		     !be_command(s, cmd, line, sizeof(line), deadline)))
			goto out;
	}
	res = is_ok(line) ? NULL : refusal_reply(line);
out:
	otp_wipe(plain, sizeof(plain));
	otp_wipe(b64, sizeof(b64));
	otp_wipe(cmd, sizeof(cmd));
	return res;
}

/* ---- the relay ----------------------------------------------------------------- */

struct dir {
	struct conn *from, *to;
	char *buf;
	size_t off, len;
	bool eof;
	short want_from, want_to;   /* poll events the last attempt asked for */
};

static short want_events(ssize_t r)
{
	return r == IO_WANT_READ ? POLLIN : POLLOUT;
}

/* Moves what it can without blocking; false when this direction is finished or broken. */
static bool pump(struct dir *d, bool *moved)
{
	d->want_from = d->want_to = 0;
	for (;;) {
		if (d->len == 0 && !d->eof) {
			ssize_t r = conn_read_nb(d->from, d->buf, RELAY_BUF);

			if (r == IO_WANT_READ || r == IO_WANT_WRITE)
				d->want_from = want_events(r);
			else if (r <= 0)
				d->eof = true;
			else {
				d->off = 0;
				d->len = (size_t)r;
				*moved = true;
			}
		}
		if (d->len == 0)
			return !d->eof;
		ssize_t w = conn_write_nb(d->to, d->buf + d->off, d->len);

		if (w == IO_WANT_READ || w == IO_WANT_WRITE) {
			d->want_to = want_events(w);
			return true;
		}
		if (w <= 0)
			return false;
		d->off += (size_t)w;
		d->len -= (size_t)w;
		*moved = true;
		if (d->len > 0 || d->want_from != 0)
			return true;
	}
}

/* Both ways until either side closes or the client is idle too long (RFC 1939 s3). */
static void relay(struct sess *s)
{
	static char up[RELAY_BUF], down[RELAY_BUF];
	struct dir d[2] = {
		{ .from = &s->cl, .to = &s->be, .buf = up },
		{ .from = &s->be, .to = &s->cl, .buf = down },
	};
	int64_t idle_ms = (int64_t)s->cf->idle_timeout * 1000, last = mono_ms();

	/* Commands the client pipelined after its login go first, and the backend's extra bytes. */
	memcpy(up, s->in, s->inlen);
	d[0].len = s->inlen;
	s->inlen = 0;
	memcpy(down, s->bin, s->binlen);
	d[1].len = s->binlen;
	s->binlen = 0;
	bool up_open = true;

	for (;;) {
		struct pollfd p[2];
		bool moved = false;
		int r;

		if (up_open && !pump(&d[0], &moved)) {
			/* The client is done sending: let the backend answer and close. */
			if (!d[0].eof || d[0].len > 0 || s->be.ssl != NULL)
				return;
			up_open = false;
			d[0].want_from = d[0].want_to = 0;
			(void)shutdown(s->be.fd, SHUT_WR);
		}
		if (!pump(&d[1], &moved))
			return;
		if (moved) {
			last = mono_ms();
			continue;
		}
		p[0].fd = s->cl.fd;
		p[0].events = d[0].want_from | d[1].want_to;
		p[1].fd = s->be.fd;
		p[1].events = d[1].want_from | d[0].want_to;
		p[0].revents = p[1].revents = 0;
		int64_t left = last + idle_ms - mono_ms();
		if (left <= 0) {
			plog(LOG_INFO, "idle timeout for %s", s->rhost);
			return;
		}
		r = poll(p, 2, left > 60000 ? 60000 : (int)left);
		if (r < 0 && errno != EINTR)
			return;
	}
}

/* ---- AUTHORIZATION ---------------------------------------------------------------- */

/* After a successful authentication: the backend login, then the relay. */
static int logged_in(struct sess *s, const char *user, struct mon_rep *rep, const char *password,
                     bool otp)
{
	struct mon_rep r2;
	const char *err = be_login(s, user, rep, password);

	otp_wipe(rep->master_pass, sizeof(rep->master_pass));
	if (!ask(s, MON_BACKEND_RESULT, NULL, NULL, err == NULL, &r2))
		err = err != NULL ? err : "-ERR [SYS/TEMP] internal error";
	else if (err == NULL && r2.status != MST_OK)
		err = "-ERR [AUTH] authentication failed";
	if (err != NULL) {
		(void)say(s, "%s", err);
		return 1;
	}
	if (otp && rep->remaining < 10)
		(void)say(s, "+OK logged in; %u one-time passwords left: re-key soon", rep->remaining);
	else
		(void)say(s, "+OK logged in");
	relay(s);
	return 0;
}

static bool reply_temp(struct sess *s, const struct mon_rep *rep)
{
	if (rep->status == MST_BUSY)
		return say(s, "-ERR [IN-USE] another login for this user is in progress");
	return say(s, "-ERR [SYS/TEMP] authentication is unavailable, try again later");
}

/* Returns -1 to go on reading commands, else the session's exit status. */
static int cmd_user(struct sess *s, const struct pop3_cmd *c)
{
	struct mon_rep rep;

	if (!ask(s, MON_OTP_BEGIN, c->arg[0], NULL, false, &rep))
		return 1;
	s->st = ST_START;
	if (rep.status == MST_OK) {
		snprintf(s->user, sizeof(s->user), "%s", c->arg[0]);
		s->st = ST_USER;
		return say(s, "+OK %s", rep.challenge) ? -1 : 1;
	}
	if (rep.status == MST_FAIL)
		return say(s, "-ERR [AUTH] invalid user name") && !rep.close ? -1 : 1;
	return reply_temp(s, &rep) ? -1 : 1;
}

static int cmd_pass(struct sess *s, const struct pop3_cmd *c)
{
	struct mon_rep rep;
	int ret;

	s->st = ST_START;
	if (!ask(s, MON_PASS, NULL, c->rest, false, &rep))
		return 1;
	if (rep.status == MST_PLAIN) {
		if (!s->tls) {
			if (!ask(s, MON_BACKEND_RESULT, NULL, NULL, false, &rep))
				return 1;
			return say(s, "-ERR [AUTH] reusable passwords are accepted only after STLS")
			       && !rep.close ? -1 : 1;
		}
		return logged_in(s, s->user, &rep, c->rest, false);
	}
	if (rep.status == MST_OK) {
		ret = logged_in(s, s->user, &rep, NULL, true);
		otp_wipe(&rep, sizeof(rep));
		return ret;
	}
	if (rep.status == MST_FAIL)
		return say(s, "-ERR [AUTH] authentication failed") && !rep.close ? -1 : 1;
	return reply_temp(s, &rep) && !rep.close ? -1 : 1;
}

static int cmd_apop(struct sess *s, const struct pop3_cmd *c)
{
	struct mon_rep rep;
	int ret;

	s->st = ST_START;
	if (!ask(s, MON_APOP, c->arg[0], c->arg[1], false, &rep))
		return 1;
	if (rep.status == MST_OK) {
		ret = logged_in(s, c->arg[0], &rep, NULL, false);
		otp_wipe(&rep, sizeof(rep));
		return ret;
	}
	if (rep.status == MST_FAIL)
		return say(s, "-ERR [AUTH] authentication failed") && !rep.close ? -1 : 1;
	return reply_temp(s, &rep) && !rep.close ? -1 : 1;
}

static int cmd_capa(struct sess *s, const struct pop3_cmd *c)
{
	char buf[256];
	int n;

	(void)c;
	n = snprintf(buf, sizeof(buf), "+OK capability list follows\r\nUSER\r\nTOP\r\nUIDL\r\n"
	             "RESP-CODES\r\nAUTH-RESP-CODE\r\n%s.\r\n",
	             s->px->tls_server != NULL && !s->tls ? "STLS\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(buf))
		return 1;
	return conn_write_all(&s->cl, buf, (size_t)n, client_deadline(s)) ? -1 : 1;
}

static int cmd_stls(struct sess *s, const struct pop3_cmd *c)
{
	(void)c;
	if (s->px->tls_server == NULL)
		return say(s, "-ERR STLS is not offered here") ? -1 : 1;
	if (s->tls)
		return say(s, "-ERR TLS is already active") ? -1 : 1;
	if (!say(s, "+OK begin TLS negotiation"))
		return 1;
	/* Whatever was sent after STLS in clear is dropped (RFC 2595 s3.1, CVE-2011-0411). */
	s->inlen = 0;
	s->cl.ssl = SSL_new(s->px->tls_server);
	if (s->cl.ssl == NULL || SSL_set_fd(s->cl.ssl, s->cl.fd) != 1 ||
	    !tls_handshake(&s->cl, true, client_deadline(s))) {
		plog(LOG_NOTICE, "TLS handshake failed with %s", s->rhost);
		return 1;
	}
	s->tls = true;
	return -1;
}

static int cmd_auth(struct sess *s, const struct pop3_cmd *c)
{
	(void)c;
	return say(s, "-ERR no SASL mechanism is offered: use APOP, or USER and PASS") ? -1 : 1;
}

static int cmd_quit(struct sess *s, const struct pop3_cmd *c)
{
	struct mon_rep rep;

	(void)c;
	(void)ask(s, MON_OTP_ABORT, NULL, NULL, false, &rep);
	(void)say(s, "+OK bye");
	return 0;
}

static int cmd_not_yet(struct sess *s, const struct pop3_cmd *c)
{
	(void)c;
	return say(s, "-ERR not logged in: use APOP, or USER and PASS") ? -1 : 1;
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

/* A protocol error: -ERR with why, and the end after too many. */
static int bad(struct sess *s, const char *why)
{
	if (++s->bad_cmds >= BAD_CMDS_MAX) {
		(void)say(s, "-ERR too many errors, bye");
		return 1;
	}
	return say(s, "-ERR %s", why) ? -1 : 1;
}

/* Reads the next command line into line; -1 to go on, else an exit status. */
static int next_line(struct sess *s, char *line, size_t *len)
{
	bool discarding = false;

	for (;;) {
		size_t ll = 0, used = 0;
		int f = pop3_find_line(s->in, s->inlen, &ll, &used);
		ssize_t r;

		if (f == 1 && discarding) {
			memmove(s->in, s->in + used, s->inlen - used);
			s->inlen -= used;
			return bad(s, "line too long (at most 255 octets)") == -1 ? 2 : 1;
		}
		if (f == 1) {
			memcpy(line, s->in, ll);
			line[ll] = '\0';
			*len = ll;
			memmove(s->in, s->in + used, s->inlen - used);
			s->inlen -= used;
			/* The line may be a PASS: leave no copy behind the new end. */
			otp_wipe(s->in + s->inlen, used);
			return -1;
		}
		if (f < 0) {
			char *lf = memchr(s->in, '\n', s->inlen);

			if (lf != NULL) {
				used = (size_t)(lf - s->in) + 1;
				memmove(s->in, s->in + used, s->inlen - used);
				s->inlen -= used;
				return bad(s, "line too long (at most 255 octets)") == -1 ? 2 : 1;
			}
			/* Drop it all: the line end has yet to come. */
			discarding = true;
			s->inlen = 0;
		}
		if (mono_ms() >= s->login_deadline) {
			(void)say(s, "-ERR [SYS/TEMP] login took too long, bye");
			return 1;
		}
		r = conn_read(&s->cl, s->in + s->inlen, sizeof(s->in) - s->inlen, client_deadline(s));
		if (r == IO_TIMEOUT) {
			(void)say(s, "-ERR timeout, bye");
			return 1;
		}
		if (r <= 0)
			return 1;
		s->inlen += (size_t)r;
	}
}

static int authorization(struct sess *s)
{
	char line[sizeof(s->in) + 1];
	struct pop3_cmd c;
	size_t len = 0;
	int ret = -1;

	while (ret < 0) {
		enum pop3_parse_res pr;

		ret = next_line(s, line, &len);
		if (ret == 2) {         /* an over-long line, answered */
			ret = -1;
			continue;
		}
		if (ret >= 0)
			break;
		pr = pop3_parse(line, len, &c);
		otp_wipe(line, sizeof(line));
		switch (pr) {
		case P3_OK:
			if (!(dispatch[c.id].states & (1u << s->st)))
				ret = bad(s, c.id == CMD_PASS ? "USER first" : "not allowed now");
			else
				ret = dispatch[c.id].fn(s, &c);
			break;
		case P3_TOO_LONG:
			ret = bad(s, "line too long (at most 255 octets)");
			break;
		case P3_BAD_CHAR:
			ret = bad(s, "control character (NUL, CR, LF...) in the command");
			break;
		case P3_ARG_LONG:
			ret = bad(s, "argument too long (at most 40 octets)");
			break;
		case P3_ARGS:
			ret = bad(s, "wrong arguments");
			break;
		case P3_EMPTY:
		case P3_UNKNOWN:
			ret = bad(s, "unknown command");
			break;
		}
		otp_wipe(&c, sizeof(c));
	}
	return ret;
}

int session_run(const struct proxy *px, int client_fd, int mon_fd, const char *stamp,
                const char *rhost)
{
	struct sess s;
	int one = 1, ret;

	memset(&s, 0, sizeof(s));
	s.px = px;
	s.cf = &px->cf;
	s.cl.fd = client_fd;
	s.be.fd = -1;
	s.mon = mon_fd;
	s.stamp = stamp;
	s.rhost = rhost;
	s.st = ST_START;
	s.login_deadline = mono_ms() + (int64_t)px->cf.login_timeout * 1000;
	(void)setsockopt(client_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (fcntl(client_fd, F_SETFL, fcntl(client_fd, F_GETFL) | O_NONBLOCK) != 0)
		return 1;
	if (!say(&s, "+OK POP3 proxy ready %s", stamp))
		ret = 1;
	else
		ret = authorization(&s);
	conn_close(&s.be);
	conn_close(&s.cl);
	otp_wipe(&s, sizeof(s));
	return ret;
}
