/* main.c - apop-proxy's master: listening sockets, the monitors, a session process per connection, limits. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "proxy.h"
#include "hosts.h"
#include "pool.h"

#ifndef APOP_PROXY_CONF
#define APOP_PROXY_CONF "/etc/apop-proxy.conf"
#endif

/* nginx's and Apache's default: a burst of connections waits in the kernel, not refused. */
#define LISTEN_BACKLOG 511
#define ACCEPTS_PER_WAKE 64
#define STOP_WAIT_MS 5000
#define SPARES_MIN 4            /* session processes forked ahead of their connections */
#define SPARES_MAX 32           /* idle ones kept with session_reuse */

/* What an epoll event is about: the tag in the high half, an index in the low. */
enum { EV_LISTEN = 1, EV_SIGNAL, EV_MONITOR, EV_SESSION };
#define EV(tag, i) ((uint64_t)(tag) << 32 | (uint32_t)(i))

struct monitor {
	pid_t pid;
	int chan;
	unsigned load;          /* its connections still running */
	time_t started;
};

static struct proxy px;
static int listen_fds[CONF_LISTEN_MAX];
static unsigned nlisten;
static int sig_fd = -1, ep = -1;
static sigset_t sig_mask;
static struct monitor mons[CONF_MONITORS_MAX];
static uint64_t next_conn = 1;

/* ---- set-up ------------------------------------------------------------------ */

/* fd moved to FD_PRIVATE or above, close-on-exec: one close_range drops them all in a child. */
static int private_fd(int fd)
{
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, FD_PRIVATE);

	if (hi < 0)
		die("fcntl: %s", strerror(errno));
	close(fd);
	return hi;
}

static void watch(int fd, uint64_t what)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = what };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		die("epoll_ctl: %s", strerror(errno));
}

static void watch_session(int fd, unsigned slot)
{
	watch(fd, EV(EV_SESSION, slot));
}

static void open_listeners(const struct config *cf)
{
	for (unsigned i = 0; i < cf->nlisten; i++) {
		struct sockaddr_storage ss;
		struct sockaddr_in *in4 = (struct sockaddr_in *)(void *)&ss;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)&ss;
		socklen_t len = 0;
		int fd, one = 1;

		memset(&ss, 0, sizeof(ss));
		if (inet_pton(AF_INET, cf->listen[i].addr, &in4->sin_addr) == 1) {
			in4->sin_family = AF_INET;
			in4->sin_port = htons((uint16_t)cf->listen[i].port);
			len = sizeof(*in4);
		} else if (inet_pton(AF_INET6, cf->listen[i].addr, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons((uint16_t)cf->listen[i].port);
			len = sizeof(*in6);
		} else {
			die("listen: bad address %s", cf->listen[i].addr);
		}
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket: %s", strerror(errno));
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ss.ss_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, LISTEN_BACKLOG) != 0)
			die("listen on %s port %u: %s", cf->listen[i].addr, cf->listen[i].port,
			    strerror(errno));
		listen_fds[nlisten] = private_fd(fd);
		watch(listen_fds[nlisten], EV(EV_LISTEN, nlisten));
		nlisten++;
	}
}

/* Signals arrive on a descriptor: no handler, no signal frames. */
static void signals(void)
{
	sigemptyset(&sig_mask);
	sigaddset(&sig_mask, SIGCHLD);
	sigaddset(&sig_mask, SIGTERM);
	sigaddset(&sig_mask, SIGINT);
	sigaddset(&sig_mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &sig_mask, NULL) != 0 ||
	    (sig_fd = signalfd(-1, &sig_mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
		die("signalfd: %s", strerror(errno));
	sig_fd = private_fd(sig_fd);
	watch(sig_fd, EV(EV_SIGNAL, 0));
	signal(SIGPIPE, SIG_IGN);
}

/* In a new child: nothing of the master's but the descriptors below FD_PRIVATE. */
static void child_start(void)
{
	(void)close_range(FD_PRIVATE, ~0U, 0);
	(void)sigprocmask(SIG_UNBLOCK, &sig_mask, NULL);
}

static void start_monitor(unsigned i)
{
	int sv[2];
	pid_t pid;

	mons[i].started = time(NULL);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		plog(LOG_ERR, "socketpair: %s", strerror(errno));
		return;
	}
	sv[0] = private_fd(sv[0]);
	pid = fork();
	if (pid == 0) {
		child_start();
		monitor_run(&px, sv[1]);
	}
	close(sv[1]);
	if (pid < 0) {
		plog(LOG_ERR, "fork: %s", strerror(errno));
		close(sv[0]);
		return;
	}
	/* A busy monitor must not stall the accepting: the next one takes the connection. */
	(void)fcntl(sv[0], F_SETFL, O_NONBLOCK);
	mons[i] = (struct monitor){ .pid = pid, .chan = sv[0], .started = mons[i].started };
	watch(sv[0], EV(EV_MONITOR, i));
}

/* ---- connections ---------------------------------------------------------------- */

static void refuse(int fd, const char *msg)
{
	(void)!send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* The running monitors, least loaded first into order[]; how many. */
static unsigned monitors_by_load(unsigned order[CONF_MONITORS_MAX])
{
	unsigned n = 0;

	for (unsigned i = 0; i < px.cf.monitors; i++) {
		unsigned k;

		if (mons[i].chan < 0)
			continue;
		for (k = n++; k > 0 && mons[order[k - 1]].load > mons[i].load; k--)
			order[k] = order[k - 1];
		order[k] = i;
	}
	return n;
}

/* "<pid.time.random@host>": letters, digits, '.' and one '@' (RFC 1939 s7), unique per connection. */
static bool make_stamp(pid_t pid, char *buf, size_t size)
{
	unsigned char r[8];
	int n;

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return false;
	n = snprintf(buf, size, "<%ld.%lld.%02x%02x%02x%02x%02x%02x%02x%02x@%s>", (long)pid,
	             (long long)time(NULL), r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], px.host);
	return n > 0 && (size_t)n < size;
}

/* Gives the connection a session process and a monitor; false if none takes it. */
static bool start_connection(int fd, struct client_info *ci, int h)
{
	unsigned order[CONF_MONITORS_MAX], n = monitors_by_load(order), k;
	int slot = pool_idle(&px, child_start, watch_session), sv[2];
	bool ok = false;

	if (n == 0 || slot < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return false;
	ci->pid = (int32_t)pool_slot((unsigned)slot)->pid;
	ci->conn = next_conn++;
	if (!make_stamp(ci->pid, ci->stamp, sizeof(ci->stamp))) {
		close(sv[0]);
		close(sv[1]);
		return false;
	}
	for (k = 0; k < n; k++)
		if (msg_send(mons[order[k]].chan, MM_SESSION, ci, sizeof(*ci), sv[0]))
			break;
	if (k < n && pool_hand((unsigned)slot, fd, sv[1], ci, h, (int)order[k])) {
		mons[order[k]].load++;
		host_at(h)->conns++;
		ok = true;
	} else {
		plog(LOG_ERR, "no monitor or session process took the connection from %s", ci->rhost);
	}
	close(sv[0]);
	close(sv[1]);
	return ok;
}

/* Takes one waiting connection; false when none is waiting. */
static bool accept_one(int lfd)
{
	struct client_info ci;
	socklen_t len = sizeof(ci.addr);
	uint8_t family, addr[16];
	int fd, h;

	memset(&ci, 0, sizeof(ci));
	fd = accept4(lfd, (struct sockaddr *)&ci.addr, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return errno != EAGAIN && errno != EWOULDBLOCK;
	/*
	 * Above FD_PRIVATE, so that a session process forked for it (or ahead)
	 * does not inherit it: a stray copy would hold the connection open
	 * after its own session closed it.
	 */
	if ((h = fcntl(fd, F_DUPFD_CLOEXEC, FD_PRIVATE)) < 0) {
		close(fd);
		return true;
	}
	close(fd);
	fd = h;
	if (ci.addr.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)&ci.addr)->sin_addr, ci.rhost,
		          sizeof(ci.rhost));
	else if (ci.addr.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)&ci.addr)->sin6_addr, ci.rhost,
		          sizeof(ci.rhost));
	else
		snprintf(ci.rhost, sizeof(ci.rhost), "?");
	addr_key(&ci.addr, &family, addr);
	if (pool_busy() >= px.cf.max_connections) {
		plog(LOG_NOTICE, "too many connections; refused rhost=%s", ci.rhost);
		refuse(fd, "-ERR [SYS/TEMP] too many connections, try again later\r\n");
		return true;
	}
	h = host_find(family, addr, true);
	if (h < 0 || host_at(h)->conns >= px.cf.max_per_host) {
		plog(LOG_NOTICE, "too many connections from one address; refused rhost=%s", ci.rhost);
		refuse(fd, "-ERR [SYS/TEMP] too many connections from your address\r\n");
		return true;
	}
	ci.prior_failures = host_failures(h, px.cf.fail_memory);
	if (!start_connection(fd, &ci, h)) {
		refuse(fd, "-ERR [SYS/TEMP] try again later\r\n");
		return true;
	}
	close(fd);
	return true;
}

/* ---- the children's messages, children ending ---------------------------------------- */

static void connection_ended(int host, int mon)
{
	if (host >= 0)
		host_release(host);
	if (mon >= 0 && mons[mon].load > 0)
		mons[mon].load--;
}

static void on_monitor(unsigned i)
{
	unsigned char buf[sizeof(struct outcome) + sizeof(uint64_t)];
	uint32_t type = 0;

	for (;;) {
		ssize_t n = msg_recv(mons[i].chan, &type, buf, sizeof(buf), NULL);
		uint64_t conn;

		if (n == MSG_AGAIN)
			return;
		if (n == MSG_EOF) {
			close(mons[i].chan);
			mons[i].chan = -1;      /* started again once reaped */
			return;
		}
		if (type == MM_OUTCOME && n == (ssize_t)sizeof(struct outcome)) {
			host_outcome((const struct outcome *)(const void *)buf, px.cf.fail_memory);
		} else if (type == MM_KILL && n == (ssize_t)sizeof(conn)) {
			memcpy(&conn, buf, sizeof(conn));
			pool_kill(conn, (int)i);
		}
	}
}

static void on_session(unsigned slot)
{
	int host = -1, mon = -1;

	if (!pool_on_ctl(slot, &host, &mon))
		return;
	connection_ended(host, mon);
	if (pool_spares() > SPARES_MAX)
		pool_retire(slot);
}

static void reaped(pid_t pid)
{
	int host = -1, mon = -1;
	bool busy = false;

	if (pool_reaped(pid, &busy, &host, &mon)) {
		if (busy)
			connection_ended(host, mon);
		return;
	}
	for (unsigned i = 0; i < px.cf.monitors; i++)
		if (mons[i].pid == pid) {
			plog(LOG_ERR, "monitor %ld ended; starting another", (long)pid);
			if (mons[i].chan >= 0)
				close(mons[i].chan);
			mons[i].chan = -1;
			mons[i].pid = 0;
		}
}

/* Children that ended; monitors that died started again (at most once a second each). */
static void reap(void)
{
	pid_t pid;

	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
		reaped(pid);
	for (unsigned i = 0; i < px.cf.monitors; i++)
		if (mons[i].pid == 0 && time(NULL) != mons[i].started)
			start_monitor(i);
}

static void shutdown_all(void) __attribute__((noreturn));

static void shutdown_all(void)
{
	int64_t until = mono_ms() + STOP_WAIT_MS;

	pool_kill_all();
	for (unsigned i = 0; i < px.cf.monitors; i++)
		if (mons[i].pid > 0)
			kill(mons[i].pid, SIGTERM);
	/* Every child waited for (bounded), so that none outlives the master. */
	while (mono_ms() < until) {
		pid_t pid = waitpid(-1, NULL, WNOHANG);

		if (pid < 0)
			break;
		if (pid == 0)
			(void)poll(NULL, 0, 10);
	}
	plog(LOG_INFO, "stopped");
	exit(0);
}

static void on_signals(void)
{
	struct signalfd_siginfo si;

	while (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT || si.ssi_signo == SIGHUP)
			shutdown_all();
	reap();
}

static void dispatch(uint64_t what)
{
	unsigned i = (uint32_t)what;

	switch (what >> 32) {
	case EV_LISTEN:
		for (int k = 0; k < ACCEPTS_PER_WAKE && accept_one(listen_fds[i]); k++)
			;
		break;
	case EV_SIGNAL:
		on_signals();
		break;
	case EV_MONITOR:
		if (mons[i].chan >= 0)
			on_monitor(i);
		break;
	case EV_SESSION:
		if (pool_slot(i)->ctl >= 0)
			on_session(i);
		break;
	}
}

static void serve(void) __attribute__((noreturn));

static void serve(void)
{
	struct epoll_event evs[64];
	bool can_spawn = true;

	plog(LOG_INFO, "started; backend %s port %u, %u monitors", px.cf.backend_addr,
	     px.cf.backend_port, px.cf.monitors);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, can_spawn && pool_spares() < SPARES_MIN ? 0 : 1000);

		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		/* Outcomes and ends first, so that a client's next connection sees its last failure. */
		for (int pass = 0; pass < 2; pass++)
			for (int k = 0; k < n; k++)
				if ((evs[k].data.u64 >> 32 == EV_LISTEN) == (pass == 1))
					dispatch(evs[k].data.u64);
		if (n == 0) {
			reap();
			/* Quiet: fork the spares the next connections will take (retried each second after a failure). */
			can_spawn = pool_spares() >= SPARES_MIN ||
			            pool_spawn(&px, child_start, watch_session) >= 0;
		} else {
			can_spawn = true;
		}
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: apop-proxy [-d] [-t] [-f CONFIG]\n"
	        "  -f CONFIG  the configuration file (default " APOP_PROXY_CONF ")\n"
	        "  -d         log to standard error instead of syslog\n"
	        "  -t         check the configuration and everything it names, then exit\n"
	        "  -V         print the version\n");
}

int main(int argc, char **argv)
{
	const char *conf = APOP_PROXY_CONF;
	bool foreground = false, test_only = false;
	int o;

	while ((o = getopt(argc, argv, "df:thV")) != -1) {
		switch (o) {
		case 'd':
			foreground = true;
			break;
		case 'f':
			conf = optarg;
			break;
		case 't':
			test_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("apop-proxy %s\n", PROXY_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (geteuid() != 0 && !test_only)
		die("must be started as root (it binds, then drops to its user)");
	proxy_setup(&px, conf, foreground, true);
	if (test_only) {
		printf("%s: configuration OK\n", conf);
		return 0;
	}
	/* Root, with the key store's state in its monitors: no ptrace by the sessions' user, no core. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		die("prctl: %s", strerror(errno));
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll: %s", strerror(errno));
	ep = private_fd(ep);
	open_listeners(&px.cf);
	if (!pool_init(px.cf.max_connections + SPARES_MAX + 1) || !hosts_init())
		die("out of memory");
	signals();
	for (unsigned i = 0; i < CONF_MONITORS_MAX; i++)
		mons[i].chan = -1;
	for (unsigned i = 0; i < px.cf.monitors; i++)
		start_monitor(i);
	serve();
}
