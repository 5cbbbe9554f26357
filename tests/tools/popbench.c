/* popbench.c - a POP3 load client for bench/apop.sh: many sessions at once from one thread. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <openssl/evp.h>

/*
 * Usage:
 *   popbench sessions PORT MODE SECONDS CONC USER NUSERS SECRET MSG
 *     CONC sessions at once on 127.0.0.1:PORT for SECONDS, each: banner,
 *     login, STAT, RETR MSG, QUIT, then the next.  MODE pass logs in with
 *     USER and PASS SECRET, apop with APOP and the digest of the banner's
 *     timestamp and SECRET.  Slot k logs in as USER<k % NUSERS> (NUSERS 0:
 *     USER itself).  After SECONDS no session starts, and those under way
 *     finish.  Prints "sessions N seconds S errors E p50 X p99 Y" (S the
 *     time until the last ended; session times in ms); the first errors go
 *     to standard error.
 *   popbench bigretr PORT MODE USER SECRET MSG TIMES
 *     One session: the login, then RETR MSG TIMES times.  Prints
 *     "bytes N seconds S errors E".
 * Every wait is bounded: a session silent for 30 s is an error.
 */

#define BUF_SZ     65536
#define IDLE_US    30000000LL
#define MAX_CONC   2000
#define MAX_LAT    2000000

enum st { S_CONNECT, S_BANNER, S_USER, S_LOGIN, S_STAT, S_RETR, S_BODY, S_QUIT };

struct slot {
	int fd;
	enum st st;
	char buf[BUF_SZ];
	size_t len;
	unsigned match;         /* how much of "\r\n.\r\n" the body has ended with */
	unsigned retrs;
	long long start_us, last_us;
	char user[80];
};

static const char *mode, *secret;
static unsigned port, msg, times_wanted = 1;
static int ep;
static long long sessions, errors, total_bytes;
static double *lat;
static size_t nlat;

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void fail(struct slot *s, const char *why)
{
	if (errors++ < 5)
		fprintf(stderr, "popbench: %s: %s (state %d)\n", s->user, why, (int)s->st);
	close(s->fd);
	s->fd = -1;
}

static bool start(struct slot *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = s };
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return false;
	(void)setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->st = S_CONNECT;
	s->len = 0;
	s->retrs = 0;
	s->start_us = s->last_us = now_us();
	if (connect(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno != EINPROGRESS) {
		fail(s, strerror(errno));
		return false;
	}
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
		fail(s, "epoll_ctl");
		return false;
	}
	return true;
}

static bool sendf(struct slot *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static bool sendf(struct slot *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* A command line always fits the socket buffer of a fresh connection. */
	return n > 0 && (size_t)n < sizeof(line) && send(s->fd, line, (size_t)n, MSG_NOSIGNAL) == n;
}

static bool apop_line(struct slot *s, const char *banner)
{
	const char *lt = strchr(banner, '<'), *gt = lt != NULL ? strchr(lt, '>') : NULL;
	unsigned char md[EVP_MAX_MD_SIZE], in[1024];
	char hex[33];
	size_t mdlen = 0, n, k = strlen(secret);

	if (gt == NULL || (size_t)(gt - lt + 1) + k > sizeof(in))
		return false;
	n = (size_t)(gt - lt + 1);
	memcpy(in, lt, n);
	memcpy(in + n, secret, k);
	if (EVP_Q_digest(NULL, "MD5", NULL, in, n + k, md, &mdlen) != 1 || mdlen != 16)
		return false;
	for (size_t i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return sendf(s, "APOP %s %s\r\n", s->user, hex);
}

/* Scans body bytes for the end of a multi-line reply; returns the bytes after it, or -1. */
static long body_end(struct slot *s, const char *p, size_t n)
{
	static const char end[] = "\r\n.\r\n";

	for (size_t i = 0; i < n; i++) {
		if (p[i] == end[s->match])
			s->match++;
		else
			s->match = p[i] == '\r' ? 1 : 0;
		if (s->match == 5)
			return (long)(n - i - 1);
	}
	return -1;
}

/* One reply line for the state; false ends the session as an error. */
static bool on_line(struct slot *s, const char *line)
{
	if (strncmp(line, "+OK", 3) != 0) {
		fail(s, line);
		return false;
	}
	switch (s->st) {
	case S_BANNER:
		s->st = strcmp(mode, "apop") == 0 ? S_LOGIN : S_USER;
		return s->st == S_LOGIN ? apop_line(s, line) : sendf(s, "USER %s\r\n", s->user);
	case S_USER:
		s->st = S_LOGIN;
		return sendf(s, "PASS %s\r\n", secret);
	case S_LOGIN:
		s->st = S_STAT;
		return sendf(s, "STAT\r\n");
	case S_STAT:
	case S_BODY:
		s->st = S_RETR;
		return sendf(s, "RETR %u\r\n", msg);
	case S_RETR:
		s->st = S_BODY;
		s->match = 2;   /* the header's CRLF: a body may be empty */
		return true;
	case S_QUIT:
		return true;
	default:
		return false;
	}
}

static void done(struct slot *s)
{
	long long t = now_us();

	sessions++;
	if (nlat < MAX_LAT)
		lat[nlat++] = (double)(t - s->start_us) / 1000.0;
	close(s->fd);
	s->fd = -1;
}

/* Handles what arrived; false when the slot's session ended (done or failed). */
static bool on_input(struct slot *s)
{
	for (;;) {
		ssize_t r = recv(s->fd, s->buf + s->len, sizeof(s->buf) - s->len - 1, 0);

		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		if (r <= 0) {
			if (s->st == S_QUIT && r == 0) {
				done(s);
				return false;
			}
			fail(s, r == 0 ? "connection closed" : strerror(errno));
			return false;
		}
		s->last_us = now_us();
		s->len += (size_t)r;
		for (;;) {
			if (s->st == S_BODY) {
				long rest = body_end(s, s->buf, s->len);

				total_bytes += (long long)s->len - (rest < 0 ? 0 : rest);
				if (rest < 0) {
					s->len = 0;
					break;
				}
				memmove(s->buf, s->buf + s->len - (size_t)rest, (size_t)rest);
				s->len = (size_t)rest;
				if (++s->retrs < times_wanted) {
					if (!on_line(s, "+OK"))
						return false;
					continue;
				}
				s->st = S_QUIT;
				if (!sendf(s, "QUIT\r\n")) {
					fail(s, "send");
					return false;
				}
				continue;
			}
			char *lf = memchr(s->buf, '\n', s->len);

			if (lf == NULL) {
				if (s->len >= sizeof(s->buf) - 1) {
					fail(s, "line too long");
					return false;
				}
				break;
			}
			*lf = '\0';
			if (lf > s->buf && lf[-1] == '\r')
				lf[-1] = '\0';
			if (!on_line(s, s->buf))
				return false;
			size_t used = (size_t)(lf - s->buf) + 1;
			memmove(s->buf, s->buf + used, s->len - used);
			s->len -= used;
		}
	}
}

static void on_event(struct slot *s, uint32_t ev)
{
	if (s->st == S_CONNECT) {
		int err = 0;
		socklen_t el = sizeof(err);
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = s };

		if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
			fail(s, err != 0 ? strerror(err) : "connect");
			return;
		}
		(void)epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &e);
		s->st = S_BANNER;
	}
	(void)on_input(s);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void run(struct slot *sl, unsigned conc, double seconds)
{
	long long t0 = now_us(), stop = t0 + (long long)(seconds * 1e6);
	struct epoll_event evs[256];

	for (unsigned i = 0; i < conc; i++)
		(void)start(&sl[i]);
	for (;;) {
		long long t = now_us();
		int n = epoll_wait(ep, evs, 256, 100);
		bool live = false;

		for (int i = 0; i < n; i++)
			on_event(evs[i].data.ptr, evs[i].events);
		t = now_us();
		for (unsigned i = 0; i < conc; i++) {
			struct slot *s = &sl[i];

			if (s->fd >= 0 && t - s->last_us > IDLE_US)
				fail(s, "timeout");
			if (s->fd < 0 && t < stop && times_wanted == 1)
				(void)start(s);
			live |= s->fd >= 0;
		}
		/* No new session after the end; those under way finish (their CPU is theirs). */
		if (t >= stop && !live)
			break;
	}
	seconds = (double)(now_us() - t0) / 1e6;
	if (times_wanted > 1) {
		printf("bytes %lld seconds %.3f errors %lld\n", total_bytes, seconds, errors);
		return;
	}
	qsort(lat, nlat, sizeof(*lat), cmp_double);
	printf("sessions %lld seconds %.3f errors %lld p50 %.2f p99 %.2f\n", sessions, seconds, errors,
	       nlat > 0 ? lat[nlat / 2] : 0.0, nlat > 0 ? lat[nlat * 99 / 100] : 0.0);
}

static unsigned num(const char *s, unsigned lo, unsigned hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < lo || v > hi) {
		fprintf(stderr, "popbench: bad number %s\n", s);
		exit(2);
	}
	return (unsigned)v;
}

int main(int argc, char **argv)
{
	struct slot *sl;
	unsigned conc = 1, nusers = 0;
	double seconds;
	const char *user;

	if (argc == 10 && strcmp(argv[1], "sessions") == 0) {
		seconds = num(argv[4], 1, 3600);
		conc = num(argv[5], 1, MAX_CONC);
		user = argv[6];
		nusers = num(argv[7], 0, 100000);
		secret = argv[8];
		msg = num(argv[9], 1, 1000000);
	} else if (argc == 8 && strcmp(argv[1], "bigretr") == 0) {
		seconds = 0;
		user = argv[4];
		secret = argv[5];
		msg = num(argv[6], 1, 1000000);
		times_wanted = num(argv[7], 2, 100000);
	} else {
		fprintf(stderr, "usage: popbench sessions PORT MODE SECONDS CONC USER NUSERS SECRET MSG\n"
		        "       popbench bigretr PORT MODE USER SECRET MSG TIMES\n");
		return 2;
	}
	port = num(argv[2], 1, 65535);
	mode = argv[3];
	if (strcmp(mode, "pass") != 0 && strcmp(mode, "apop") != 0) {
		fprintf(stderr, "popbench: MODE is pass or apop\n");
		return 2;
	}
	sl = calloc(conc, sizeof(*sl));
	lat = calloc(MAX_LAT, sizeof(*lat));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (sl == NULL || lat == NULL || ep < 0)
		return 1;
	for (unsigned i = 0; i < conc; i++) {
		sl[i].fd = -1;
		if (nusers > 0)
			snprintf(sl[i].user, sizeof(sl[i].user), "%s%u", user, i % nusers);
		else
			snprintf(sl[i].user, sizeof(sl[i].user), "%s", user);
	}
	run(sl, conc, seconds);
	return 0;
}
