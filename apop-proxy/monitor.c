/* monitor.c - a root monitor: the only code that touches the key store, serving many sessions' logins. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <sys/wait.h>

#include "monitor.h"

#define MONITOR_GRACE_MS 30000  /* beyond login_timeout, before a silent session is dropped */

struct mon {
	const struct proxy *px;
	int chan;                   /* to the master */
	struct mon_sess *s;         /* max_connections slots */
	struct pollfd *p;
	struct mon_sess **pm;       /* the session of each p[] after the first */
	unsigned nslots;
	unsigned hi;                /* slots [hi, nslots) are free */
	unsigned relays;            /* TLS relays forked, not yet reaped */
};

static struct mon M;

static bool drop_capabilities(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	return syscall(SYS_capset, &h, d) == 0;
}

void mon_forked(void)
{
	M.relays++;
}

void mon_report(const struct mon_sess *m, bool success)
{
	struct outcome o;
	const struct sockaddr_storage *ss = &m->ci.addr;

	memset(&o, 0, sizeof(o));
	o.family = (uint8_t)ss->ss_family;
	if (ss->ss_family == AF_INET)
		memcpy(o.addr, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, 4);
	else if (ss->ss_family == AF_INET6)
		memcpy(o.addr, &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr, 16);
	o.success = success;
	(void)msg_send(M.chan, MM_OUTCOME, &o, sizeof(o), -1);
}

/*
 * Reads what a session sent and the monitor will not answer: a channel
 * closed with unread messages would lose the last reply for it (the
 * kernel resets the peer).  Bounded, whatever keeps coming.
 */
static void drain(int chan)
{
	char junk[64];

	for (int i = 0; i < 64 && recv(chan, junk, sizeof(junk), MSG_DONTWAIT) > 0; i++)
		;
}

/* Forgets a session; with kill, the master ends its process too (it lied, or stalled). */
static void drop(struct mon_sess *m, bool kill)
{
	uint64_t conn = m->ci.conn;

	authz_give_back(M.px, m);
	if (m->reply.fd >= 0)
		close(m->reply.fd);
	drain(m->chan);
	close(m->chan);
	if (kill)
		(void)msg_send(M.chan, MM_KILL, &conn, sizeof(conn), -1);
	be_abandon(&m->be);
	otp_wipe(m, sizeof(*m));
	m->chan = -1;
	m->reply.fd = -1;
	m->be.c.fd = -1;
	while (M.hi > 0 && M.s[M.hi - 1].chan < 0)
		M.hi--;
}

static void add_session(const struct client_info *ci, int fd)
{
	struct mon_sess *m = NULL;

	for (unsigned i = 0; i < M.nslots && m == NULL; i++)
		if (M.s[i].chan < 0)
			m = &M.s[i];
	if (m == NULL) {
		close(fd);
		return;
	}
	if ((unsigned)(m - M.s) >= M.hi)
		M.hi = (unsigned)(m - M.s) + 1;
	memset(m, 0, sizeof(*m));
	m->chan = fd;
	m->reply.fd = -1;
	m->be.c.fd = -1;
	m->ci = *ci;
	m->ci.rhost[sizeof(m->ci.rhost) - 1] = '\0';
	m->method = "-";
	m->st = MS_FRESH;
	m->deadline = mono_ms() + (int64_t)M.px->cf.login_timeout * 1000 + MONITOR_GRACE_MS;
	m->ci.stamp[sizeof(m->ci.stamp) - 1] = '\0';
}

static void send_reply(struct mon_sess *m)
{
	struct mon_reply *r = &m->reply;
	bool sent = msg_send(m->chan, r->type, r->payload, r->len, r->fd);
	bool close_after = r->close;

	if (r->fd >= 0)
		close(r->fd);
	otp_wipe(r, sizeof(*r));
	r->fd = -1;
	m->pending = false;
	if (!sent || close_after)
		drop(m, !sent);
}

/* Sends the reply authz made, now or after its delay; none while the backend login goes on. */
static void answer(struct mon_sess *m)
{
	if (m->reply.type == 0 || m->be.st != BE_IDLE)
		return;
	if (m->reply.due > mono_ms())
		m->pending = true;      /* a failure's delay: other sessions go on meanwhile */
	else
		send_reply(m);
}

/* The backend answered (or may have) for m's login. */
static void on_backend(struct mon_sess *m)
{
	int rc = be_step(M.px, &m->be);

	if (rc == BE_MORE)
		return;
	authz_backend(M.px, m, rc);
	answer(m);
}

static void on_request(struct mon_sess *m)
{
	unsigned char buf[MSG_PAYLOAD_MAX];
	uint32_t type = 0;
	ssize_t n = msg_recv(m->chan, &type, buf, sizeof(buf), NULL);

	if (n == MSG_EOF) {
		drop(m, false);         /* the session ended: its challenge goes back */
		return;
	}
	if (n == MSG_BAD || !authz_request(M.px, m, type, buf, (size_t)n)) {
		plog(LOG_ERR, "malformed or out-of-order request from the session for %s: ending it",
		     m->ci.rhost);
		otp_wipe(buf, sizeof(buf));
		drop(m, true);
		return;
	}
	otp_wipe(buf, sizeof(buf));
	answer(m);
}

/* The master's side: a new session's channel, or the end of the master. */
static void on_master(void)
{
	struct client_info ci;
	uint32_t type = 0;
	int fd = -1;
	ssize_t n = msg_recv(M.chan, &type, &ci, sizeof(ci), &fd);

	if (n == MSG_EOF) {
		for (unsigned i = 0; i < M.hi; i++)
			if (M.s[i].chan >= 0)
				drop(&M.s[i], false);
		_exit(0);
	}
	if (n == (ssize_t)sizeof(ci) && type == MM_SESSION && fd >= 0) {
		add_session(&ci, fd);
		return;
	}
	if (fd >= 0)
		close(fd);
}

/* Sends the replies whose delay is over, drops sessions past their time; the next poll timeout. */
static int timers(void)
{
	int64_t now = mono_ms(), next = now + 60000;

	for (unsigned i = 0; i < M.hi; i++) {
		struct mon_sess *m = &M.s[i];

		if (m->chan < 0)
			continue;
		if (m->be.st != BE_IDLE && now >= m->be.deadline)
			on_backend(m);          /* it gives up: the deadline is past */
		else if (m->pending && m->reply.due <= now)
			send_reply(m);
		else if (!m->pending && m->be.st == BE_IDLE && now >= m->deadline) {
			plog(LOG_NOTICE, "session from %s overran its login time", m->ci.rhost);
			drop(m, true);
		}
		if (m->chan >= 0) {
			int64_t t = m->be.st != BE_IDLE ? m->be.deadline : m->pending ? m->reply.due :
			            m->deadline;

			if (t < next)
				next = t;
		}
	}
	return next <= now ? 0 : (int)(next - now);
}

static void serve(void) __attribute__((noreturn));

static void serve(void)
{
	for (;;) {
		unsigned n = 1;
		int timeout = timers();

		while (M.relays > 0 && waitpid(-1, NULL, WNOHANG) > 0)
			M.relays--;     /* TLS relays that ended */
		M.p[0] = (struct pollfd){ .fd = M.chan, .events = POLLIN };
		for (unsigned i = 0; i < M.hi; i++) {
			struct mon_sess *m = &M.s[i];

			if (m->chan < 0 || m->pending)
				continue;
			/* During its backend login a session waits: the backend is watched, not it. */
			if (m->be.st != BE_IDLE)
				M.p[n] = (struct pollfd){ .fd = m->be.c.fd, .events = m->be.wait };
			else
				M.p[n] = (struct pollfd){ .fd = m->chan, .events = POLLIN };
			M.pm[n++] = m;
		}
		if (poll(M.p, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			plog(LOG_ERR, "monitor: poll: %s", strerror(errno));
			_exit(1);
		}
		for (unsigned i = 1; i < n; i++) {
			struct mon_sess *m = M.pm[i];

			if (M.p[i].revents == 0 || m->chan < 0)
				continue;
			if (m->be.st != BE_IDLE && m->be.c.fd == M.p[i].fd)
				on_backend(m);
			else if (m->be.st == BE_IDLE && m->chan == M.p[i].fd)
				on_request(m);
		}
		if (M.p[0].revents != 0)
			on_master();
	}
}

void monitor_run(const struct proxy *px, int chan)
{
	M.px = px;
	M.chan = chan;
	M.nslots = px->cf.max_connections;
	M.s = calloc(M.nslots, sizeof(*M.s));
	M.p = calloc(M.nslots + 1, sizeof(*M.p));
	M.pm = calloc(M.nslots + 1, sizeof(*M.pm));
	if (M.s == NULL || M.p == NULL || M.pm == NULL) {
		plog(LOG_ERR, "monitor: out of memory");
		_exit(1);
	}
	for (unsigned i = 0; i < M.nslots; i++) {
		M.s[i].chan = -1;
		M.s[i].reply.fd = -1;
		M.s[i].be.c.fd = -1;
	}
	/*
	 * Holding key-store state: never dumped, never read through /proc or
	 * ptrace by anyone but a process with CAP_SYS_PTRACE.  It stays uid 0,
	 * which owns the key store and the password file, but needs none of
	 * root's capabilities, so it keeps none.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) != 0 ||
	    getppid() == 1 || !drop_capabilities())
		_exit(1);
	serve();
}
