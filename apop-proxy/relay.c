/* relay.c - both ways between two connections after the login: splice(2) between plain sockets, buffers with TLS. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/socket.h>

#include "proxy.h"
#include "conn.h"

#define RELAY_BUF  16384        /* one TLS record */
#define PIPE_CAP   65536        /* Linux's default pipe size */

/* One direction; with a pipe (splice) or a buffer. */
struct dir {
	struct conn *from, *to;
	int pipe[2];
	char *buf;
	size_t off, len;        /* in buf, or (len) in the pipe */
	bool eof;
	short want_from, want_to;   /* poll events the last attempt asked for */
};

static short want_events(ssize_t r)
{
	return r == IO_WANT_READ ? POLLIN : POLLOUT;
}

/* splice(2) with the result in the conn_*_nb convention. */
static ssize_t splice_nb(int from, int to, size_t n, bool into_pipe)
{
	ssize_t r;

	do
		r = splice(from, NULL, to, NULL, n, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	while (r < 0 && errno == EINTR);
	if (r >= 0)
		return r;
	if (errno == EAGAIN)
		return into_pipe ? IO_WANT_READ : IO_WANT_WRITE;
	return -1;
}

static ssize_t dir_read(struct dir *d)
{
	if (d->buf == NULL)
		return splice_nb(d->from->fd, d->pipe[1], PIPE_CAP, true);
	return conn_read_nb(d->from, d->buf, RELAY_BUF);
}

static ssize_t dir_write(struct dir *d)
{
	if (d->buf == NULL)
		return splice_nb(d->pipe[0], d->to->fd, d->len, false);
	return conn_write_nb(d->to, d->buf + d->off, d->len);
}

/*
 * Moves what it can without blocking; false when this direction is
 * finished or broken.  From a plain socket it reads once per readiness
 * (the next read would only say EAGAIN: a system call saved per command);
 * from TLS until OpenSSL has nothing buffered.
 */
static bool pump(struct dir *d, bool *moved)
{
	d->want_from = d->want_to = 0;
	for (;;) {
		/* Read only into an empty pipe: a full one cannot be told from a socket with nothing. */
		if (!d->eof && d->len == 0) {
			ssize_t r = dir_read(d);

			if (r == IO_WANT_READ || r == IO_WANT_WRITE)
				d->want_from = want_events(r);
			else if (r <= 0)
				d->eof = true;
			else {
				if (d->buf != NULL)
					d->off = 0;
				d->len += (size_t)r;
				*moved = true;
			}
		}
		if (d->len == 0)
			return !d->eof;
		ssize_t w = dir_write(d);

		if (w == IO_WANT_READ || w == IO_WANT_WRITE) {
			d->want_to = want_events(w);
			return true;
		}
		if (w <= 0)
			return false;
		d->off += (size_t)w;
		d->len -= (size_t)w;
		*moved = true;
		if (d->len > 0)
			continue;       /* a short write: the next says EAGAIN and what to wait for */
		if (d->want_from != 0)
			return true;
		if (d->from->ssl == NULL || SSL_pending(d->from->ssl) == 0) {
			d->want_from = POLLIN;
			return true;
		}
	}
}

/* Bytes OpenSSL decrypted already, which no poll will announce. */
static bool buffered(const struct dir *d)
{
	return d->from->ssl != NULL && d->len == 0 && !d->eof && SSL_pending(d->from->ssl) > 0;
}

/* Whether poll's answer lets direction d move. */
static bool ready(const struct dir *d, const struct pollfd *from, const struct pollfd *to)
{
	if (buffered(d))
		return true;
	if ((from->revents & (POLLHUP | POLLERR | POLLNVAL)) || (to->revents & (POLLHUP | POLLERR)))
		return true;
	return (d->want_from != 0 && (from->revents & d->want_from)) ||
	       (d->want_to != 0 && (to->revents & d->want_to));
}

static bool dir_open(struct dir *d, struct conn *from, struct conn *to, bool spliced)
{
	d->from = from;
	d->to = to;
	d->pipe[0] = d->pipe[1] = -1;
	if (spliced)
		return pipe2(d->pipe, O_CLOEXEC | O_NONBLOCK) == 0;
	d->buf = malloc(RELAY_BUF);
	return d->buf != NULL;
}

static void dir_close(struct dir *d)
{
	if (d->pipe[0] >= 0)
		close(d->pipe[0]);
	if (d->pipe[1] >= 0)
		close(d->pipe[1]);
	if (d->buf != NULL) {
		otp_wipe(d->buf, RELAY_BUF);
		free(d->buf);
	}
}

/* The loop: until a side is done, or idle_ms pass with nothing moved (RFC 1939 s3). */
static bool run(struct dir d[2], int64_t idle_ms)
{
	int64_t last = mono_ms();
	bool up_open = true;
	struct pollfd p[2] = { { .fd = d[0].from->fd }, { .fd = d[1].from->fd } };

	d[0].want_from = d[1].want_from = POLLIN;
	for (;;) {
		bool moved = false;

		p[0].events = d[0].want_from | d[1].want_to;
		p[1].events = d[1].want_from | d[0].want_to;
		p[0].revents = p[1].revents = 0;
		int64_t left = last + idle_ms - mono_ms();
		if (left <= 0 && !buffered(&d[0]) && !buffered(&d[1]))
			return false;
		if (buffered(&d[0]) || buffered(&d[1]))
			left = 0;
		if (poll(p, 2, left > 60000 ? 60000 : (int)left) < 0 && errno != EINTR)
			return true;
		if (up_open && ready(&d[0], &p[0], &p[1]) && !pump(&d[0], &moved)) {
			/* a is done sending: a plain b may still answer, then close. */
			if (!d[0].eof || d[0].len > 0 || d[0].to->ssl != NULL)
				return true;
			up_open = false;
			d[0].want_from = d[0].want_to = 0;
			(void)shutdown(d[0].to->fd, SHUT_WR);
		}
		if (ready(&d[1], &p[1], &p[0]) && !pump(&d[1], &moved))
			return true;
		if (moved)
			last = mono_ms();
	}
}

bool relay(struct conn *a, struct conn *b, const void *up, size_t uplen,
           const void *down, size_t downlen, int64_t idle_ms)
{
	bool spliced = a->ssl == NULL && b->ssl == NULL;
	int64_t deadline = mono_ms() + idle_ms;
	struct dir d[2];
	bool clean = true;

	memset(d, 0, sizeof(d));
	d[0].pipe[0] = d[0].pipe[1] = d[1].pipe[0] = d[1].pipe[1] = -1;
	/* What was read already goes first: commands pipelined after the login, the backend's extra bytes. */
	if ((uplen > 0 && !conn_write_all(b, up, uplen, deadline)) ||
	    (downlen > 0 && !conn_write_all(a, down, downlen, deadline)))
		goto out;
	if (!dir_open(&d[0], a, b, spliced) || !dir_open(&d[1], b, a, spliced)) {
		plog(LOG_ERR, "relay: %s", strerror(errno));
		goto out;
	}
	clean = run(d, idle_ms);
out:
	dir_close(&d[0]);
	dir_close(&d[1]);
	return clean;
}
