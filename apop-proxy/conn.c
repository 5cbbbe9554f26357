/* conn.c - one connection's I/O, plain or TLS, non-blocking underneath, with deadlines. */
#include <errno.h>
#include <poll.h>
#include <unistd.h>
#include <sys/socket.h>

#include <openssl/err.h>

#include "proxy.h"
#include "conn.h"

int wait_fd(int fd, short ev, int64_t deadline)
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

static ssize_t ssl_result(SSL *ssl, int r, bool reading)
{
	int e = SSL_get_error(ssl, r);

	if (e == SSL_ERROR_WANT_READ)
		return IO_WANT_READ;
	if (e == SSL_ERROR_WANT_WRITE)
		return IO_WANT_WRITE;
	return reading && e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

ssize_t conn_read_nb(struct conn *c, void *buf, size_t n)
{
	if (c->ssl != NULL) {
		int r;

		ERR_clear_error();
		r = SSL_read(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
		return r > 0 ? r : ssl_result(c->ssl, r, true);
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

ssize_t conn_write_nb(struct conn *c, const void *buf, size_t n)
{
	if (c->ssl != NULL) {
		int r;

		ERR_clear_error();
		r = SSL_write(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
		return r > 0 ? r : ssl_result(c->ssl, r, false);
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

ssize_t conn_read(struct conn *c, void *buf, size_t n, int64_t deadline)
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

bool conn_write_all(struct conn *c, const void *buf, size_t n, int64_t deadline)
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

bool tls_handshake(struct conn *c, bool server, int64_t deadline)
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

void conn_close(struct conn *c)
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
