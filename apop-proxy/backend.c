/* backend.c - the monitor's login to the mail store on a session's behalf, and the handover. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "monitor.h"

/* ---- the master credential ----------------------------------------------------- */

bool master_password_read(const struct config *cf, char pass[MASTER_PASS_MAX + 1])
{
	struct stat st;
	ssize_t n;
	int fd = open(cf->master_password_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	bool ok = false;

	if (fd < 0) {
		plog(LOG_ERR, "%s: %s", cf->master_password_file, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 077) != 0) {
		plog(LOG_ERR, "%s: must be a regular file owned by root, mode 0600 or 0400",
		     cf->master_password_file);
		goto out;
	}
	n = read(fd, pass, MASTER_PASS_MAX);
	if (n <= 0) {
		plog(LOG_ERR, "%s: empty or unreadable", cf->master_password_file);
		goto out;
	}
	pass[n] = '\0';
	pass[strcspn(pass, "\r\n")] = '\0';
	if (pass[0] == '\0' || memchr(pass, '\0', (size_t)n) != pass + strlen(pass)) {
		plog(LOG_ERR, "%s: malformed password line", cf->master_password_file);
		goto out;
	}
	ok = true;
out:
	close(fd);
	if (!ok)
		otp_wipe(pass, MASTER_PASS_MAX + 1);
	return ok;
}

/* ---- the backend's replies -------------------------------------------------------- */

/*
 * One reply line into line (without CRLF), from what was read or what
 * can be read now: 1 a line, 0 none yet (b->wait says what for), -1 trouble.
 */
static int be_line(struct be_login *b, char *line, size_t size)
{
	for (;;) {
		char *lf = memchr(b->bin, '\n', b->binlen);
		ssize_t r;

		if (lf != NULL) {
			size_t n = (size_t)(lf - b->bin), used = n + 1;

			if (n > 0 && b->bin[n - 1] == '\r')
				n--;
			if (n >= size)
				return -1;
			memcpy(line, b->bin, n);
			line[n] = '\0';
			memmove(b->bin, b->bin + used, b->binlen - used);
			b->binlen -= used;
			return 1;
		}
		if (b->binlen == sizeof(b->bin))
			return -1;
		r = conn_read_nb(&b->c, b->bin + b->binlen, sizeof(b->bin) - b->binlen);
		if (r == IO_WANT_READ || r == IO_WANT_WRITE) {
			b->wait = r == IO_WANT_READ ? POLLIN : POLLOUT;
			return 0;
		}
		if (r <= 0)
			return -1;
		b->binlen += (size_t)r;
	}
}

/* A command line: short, to a fresh connection, so sent at once (bounded by the deadline). */
static bool be_send(struct be_login *b, const char *cmd)
{
	char buf[POP3_LINE_MAX * 4];
	size_t n = strlen(cmd);
	bool ok;

	if (n + 2 > sizeof(buf))
		return false;
	memcpy(buf, cmd, n);
	memcpy(buf + n, "\r\n", 2);
	ok = conn_write_all(&b->c, buf, n + 2, b->deadline);
	otp_wipe(buf, sizeof(buf));
	return ok;
}

static bool is_ok(const char *line)
{
	return strncmp(line, "+OK", 3) == 0 && (line[3] == '\0' || line[3] == ' ');
}

/* An RFC 2449/3206 response code for a refusal; never the backend's own text. */
static int refusal(const char *line)
{
	if (strncmp(line, "-ERR [IN-USE]", 13) == 0)
		return RC_BE_IN_USE;
	if (strncmp(line, "-ERR [LOGIN-DELAY]", 18) == 0)
		return RC_BE_DELAY;
	if (strncmp(line, "-ERR [SYS/PERM]", 15) == 0)
		return RC_BE_PERM;
	if (strncmp(line, "-ERR [AUTH]", 11) == 0)
		return RC_BE_AUTH;
	return RC_BE_TEMP;
}

/* ---- TLS ------------------------------------------------------------------------------ */

/* True for an IPv4 or IPv6 literal, which RFC 6066 keeps out of SNI. */
static bool is_ip_literal(const char *name)
{
	unsigned char a[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, name, a) == 1 || inet_pton(AF_INET6, name, a) == 1;
}

static bool tls_setup(const struct proxy *px, struct be_login *b)
{
	const char *name = px->cf.backend_tls_name;

	b->c.ssl = SSL_new(px->tls_client);
	/* SSL_set1_host checks a DNS name or, for a literal, the IP address. */
	if (b->c.ssl == NULL || SSL_set_fd(b->c.ssl, b->c.fd) != 1 ||
	    (!is_ip_literal(name) && SSL_set_tlsext_host_name(b->c.ssl, name) != 1) ||
	    SSL_set1_host(b->c.ssl, name) != 1)
		return false;
	SSL_set_verify(b->c.ssl, SSL_VERIFY_PEER, NULL);
	return true;
}

/* One handshake step: 1 done, 0 waiting (b->wait), -1 failed (logged). */
static int tls_step(struct be_login *b)
{
	int r, e;

	ERR_clear_error();
	r = SSL_connect(b->c.ssl);
	if (r == 1)
		return 1;
	e = SSL_get_error(b->c.ssl, r);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		b->wait = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return 0;
	}
	long v = SSL_get_verify_result(b->c.ssl);
	const char *why = ERR_reason_error_string(ERR_peek_last_error());

	/* The verify result is X509_V_OK when the handshake failed for another reason. */
	plog(LOG_ERR, "backend TLS failed: %s", v != X509_V_OK ? X509_verify_cert_error_string(v) :
	     why != NULL ? why : "no handshake (connection closed)");
	return -1;
}

/* ---- the login, step by step ---------------------------------------------------------- */

/* AUTH PLAIN as the master user for b->user, in one line (RFC 5034 s4: an initial response). */
static bool send_master(const struct proxy *px, struct be_login *b)
{
	unsigned char plain[2 * OTP_USER_MAX + MASTER_PASS_MAX + 3];
	char pass[MASTER_PASS_MAX + 1], cmd[sizeof(plain) / 3 * 4 + 16];
	size_t ul = strlen(b->user), ml = strlen(px->cf.master_user), pl, n = 0;
	bool ok = false;

	if (!master_password_read(&px->cf, pass))
		return false;
	pl = strlen(pass);
	memcpy(plain + n, b->user, ul);
	n += ul;
	plain[n++] = '\0';
	memcpy(plain + n, px->cf.master_user, ml);
	n += ml;
	plain[n++] = '\0';
	memcpy(plain + n, pass, pl);
	n += pl;
	memcpy(cmd, "AUTH PLAIN ", 11);
	ok = sasl_b64_encode(plain, n, cmd + 11, sizeof(cmd) - 11) && be_send(b, cmd);
	otp_wipe(plain, sizeof(plain));
	otp_wipe(pass, sizeof(pass));
	otp_wipe(cmd, sizeof(cmd));
	return ok;
}

/* A line of ours to the backend: no control character can start a command of the client's. */
static bool send_arg(struct be_login *b, const char *verb, const char *arg)
{
	char cmd[POP3_LINE_MAX + 1];
	bool ok;

	for (const char *p = arg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	ok = snprintf(cmd, sizeof(cmd), "%s %s", verb, arg) < (int)sizeof(cmd) && be_send(b, cmd);
	otp_wipe(cmd, sizeof(cmd));
	return ok;
}

/* The login command, once the greeting (and STLS) are done. */
static int send_login(const struct proxy *px, struct be_login *b)
{
	if (b->pass) {
		b->st = BE_USER;
		return send_arg(b, "USER", b->user) ? BE_MORE : RC_BE_DOWN;
	}
	b->st = BE_AUTH;
	return send_master(px, b) ? BE_MORE : RC_BE_DOWN;
}

/* What a reply line means in state b->st: BE_MORE to go on, or a result. */
static int on_line(const struct proxy *px, struct be_login *b, const char *line)
{
	switch (b->st) {
	case BE_GREETING:
		if (!is_ok(line)) {
			plog(LOG_ERR, "backend: no greeting");
			return RC_BE_DOWN;
		}
		if (px->cf.backend_tls != BTLS_STLS)
			return send_login(px, b);
		b->st = BE_STLS;
		return be_send(b, "STLS") ? BE_MORE : RC_BE_DOWN;
	case BE_STLS:
		if (!is_ok(line)) {
			plog(LOG_ERR, "backend: STLS refused");
			return RC_BE_DOWN;
		}
		/* Nothing sent in clear before the handshake counts (RFC 2595 s3.1). */
		b->binlen = 0;
		b->st = BE_TLS2;
		return tls_setup(px, b) ? BE_MORE : RC_BE_DOWN;
	case BE_AUTH:
		if (strncmp(line, "+ ", 2) == 0 || strcmp(line, "+") == 0) {
			/* No initial response accepted: cancel (RFC 5034 s4). */
			(void)be_send(b, "*");
			plog(LOG_ERR, "backend: AUTH PLAIN with an initial response refused");
			return RC_BE_DOWN;
		}
		return is_ok(line) ? 0 : refusal(line);
	case BE_USER:
		if (!is_ok(line))
			return refusal(line);
		b->st = BE_PASS;
		{
			bool sent = send_arg(b, "PASS", b->password);

			otp_wipe(b->password, sizeof(b->password));
			return sent ? BE_MORE : RC_BE_DOWN;
		}
	case BE_PASS:
		return is_ok(line) ? 0 : refusal(line);
	default:
		return RC_BE_DOWN;
	}
}

static int advance(const struct proxy *px, struct be_login *b)
{
	char line[POP3_REPLY_MAX + 1];
	int err = 0, r;
	socklen_t elen = sizeof(err);

	for (;;) {
		switch (b->st) {
		case BE_CONNECT:
			if (getsockopt(b->c.fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0) {
				plog(LOG_ERR, "backend %s port %u: cannot connect", px->cf.backend_addr,
				     px->cf.backend_port);
				return RC_BE_DOWN;
			}
			b->st = px->cf.backend_tls == BTLS_POP3S ? BE_TLS : BE_GREETING;
			if (b->st == BE_TLS && !tls_setup(px, b))
				return RC_BE_DOWN;
			continue;
		case BE_TLS:
		case BE_TLS2:
			if ((r = tls_step(b)) <= 0)
				return r == 0 ? BE_MORE : RC_BE_DOWN;
			if (b->st == BE_TLS) {
				b->st = BE_GREETING;
				continue;
			}
			if ((r = send_login(px, b)) != BE_MORE)
				return r;
			continue;
		default:
			if ((r = be_line(b, line, sizeof(line))) <= 0) {
				if (r < 0 && b->st == BE_GREETING)
					plog(LOG_ERR, "backend: no greeting");
				return r == 0 ? BE_MORE : RC_BE_DOWN;
			}
			if ((r = on_line(px, b, line)) != BE_MORE)
				return r;
		}
	}
}

int be_step(const struct proxy *px, struct be_login *b)
{
	int r = advance(px, b);

	if (r == BE_MORE && mono_ms() >= b->deadline) {
		plog(LOG_ERR, "backend %s port %u: no answer in %u s", px->cf.backend_addr,
		     px->cf.backend_port, px->cf.backend_timeout);
		r = RC_BE_DOWN;
	}
	if (r == 0)
		b->st = BE_IDLE;
	return r;
}

int be_begin(const struct proxy *px, struct be_login *b, const char *user, const char *password)
{
	int fd, one = 1;

	be_abandon(b);
	b->deadline = mono_ms() + (int64_t)px->cf.backend_timeout * 1000;
	snprintf(b->user, sizeof(b->user), "%s", user);
	b->pass = password != NULL;
	if (password != NULL && snprintf(b->password, sizeof(b->password), "%s", password) >=
	    (int)sizeof(b->password))
		return RC_BE_DOWN;
	fd = socket(px->backend.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return RC_BE_DOWN;
	b->c.fd = fd;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	b->st = BE_CONNECT;
	b->wait = POLLOUT;
	if (connect(fd, (const struct sockaddr *)&px->backend, px->backend_len) != 0 &&
	    errno != EINPROGRESS) {
		plog(LOG_ERR, "backend %s port %u: cannot connect", px->cf.backend_addr,
		     px->cf.backend_port);
		return RC_BE_DOWN;
	}
	return BE_MORE;
}

void be_abandon(struct be_login *b)
{
	int fd = b->c.fd;

	if (b->c.ssl != NULL)
		SSL_free(b->c.ssl);
	if (fd >= 0)
		close(fd);
	otp_wipe(b, sizeof(*b));
	b->c.fd = -1;
	b->st = BE_IDLE;
}

/* ---- the handover -------------------------------------------------------------------- */

/* Closes every descriptor but standard ones, a and b (the TLS relay's own). */
static void close_others(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo > 3)
		(void)close_range(3, (unsigned)lo - 1, 0);
	if (hi > lo + 1)
		(void)close_range((unsigned)lo + 1, (unsigned)hi - 1, 0);
	(void)close_range((unsigned)hi + 1, ~0U, 0);
}

int be_handover(const struct proxy *px, struct be_login *b)
{
	int sv[2], fd;
	pid_t pid;

	if (b->c.ssl == NULL) {
		fd = b->c.fd;
		b->c.fd = -1;
		return fd;
	}
	/*
	 * A TLS backend: the keys stay with root.  A child of the monitor (so
	 * root and undumpable like it) relays between the TLS and a plain
	 * socket pair, the session gets the other end.
	 */
	fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) != 0)
		goto out;
	pid = fork();
	if (pid == 0) {
		struct conn s = { .fd = sv[0], .ssl = NULL };

		close(sv[1]);
		close_others(sv[0], b->c.fd);
		signal(SIGCHLD, SIG_DFL);
		(void)relay(&s, &b->c, NULL, 0, b->bin, b->binlen, (int64_t)px->cf.idle_timeout * 1000);
		conn_close(&b->c);
		_exit(0);
	}
	close(sv[0]);
	if (pid < 0) {
		plog(LOG_ERR, "fork: %s", strerror(errno));
		close(sv[1]);
		goto out;
	}
	mon_forked();
	fd = sv[1];
out:
	/* The child owns the TLS now: free it here without a close_notify. */
	SSL_free(b->c.ssl);
	b->c.ssl = NULL;
	close(b->c.fd);
	b->c.fd = -1;
	otp_wipe(b->bin, sizeof(b->bin));
	b->binlen = 0;
	return fd;
}
