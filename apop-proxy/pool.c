/* pool.c - the master's session processes: each forked before its connection, unprivileged, then handed it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include "pool.h"
#include "hosts.h"

static struct sproc *procs;     /* in memory the sessions do not inherit */
static unsigned nprocs, nbusy, nidle;
static pid_t master;

bool pool_init(unsigned limit)
{
	procs = wiped_on_fork(limit * sizeof(*procs));
	nprocs = limit;
	master = getpid();
	for (unsigned i = 0; procs != NULL && i < limit; i++)
		procs[i] = (struct sproc){ .pid = 0, .ctl = -1, .host = -1, .mon = -1 };
	return procs != NULL;
}

struct sproc *pool_slot(unsigned i)
{
	return &procs[i];
}

unsigned pool_busy(void)
{
	return nbusy;
}

unsigned pool_spares(void)
{
	return nidle;
}

int pool_spawn(const struct proxy *px, void (*child_start)(void), pool_watch_fn watch)
{
	int sv[2], hi;
	unsigned i;
	pid_t pid;

	for (i = 0; i < nprocs && procs[i].pid > 0; i++)
		;
	if (i == nprocs || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	hi = fcntl(sv[0], F_DUPFD_CLOEXEC, FD_PRIVATE);
	close(sv[0]);
	/* The master never waits for a session process. */
	if (hi < 0 || fcntl(hi, F_SETFL, O_NONBLOCK) != 0) {
		if (hi >= 0)
			close(hi);
		close(sv[1]);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		child_start();
		/* After the switch of user, which clears the parent-death signal. */
		if (!drop_privileges(px) || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
		    getppid() != master)
			_exit(1);
		session_worker(px, sv[1]);
	}
	close(sv[1]);
	if (pid < 0) {
		plog(LOG_ERR, "fork: %s", strerror(errno));
		close(hi);
		return -1;
	}
	procs[i] = (struct sproc){ .pid = pid, .ctl = hi, .host = -1, .mon = -1 };
	nidle++;
	watch(hi, i);
	return (int)i;
}

int pool_idle(const struct proxy *px, void (*child_start)(void), pool_watch_fn watch)
{
	for (unsigned i = 0; i < nprocs && nidle > 0; i++)
		if (procs[i].pid != 0 && !procs[i].busy && procs[i].ctl >= 0)
			return (int)i;
	return pool_spawn(px, child_start, watch);
}

bool pool_hand(unsigned i, int fd, int chan, const struct client_info *ci, int host, int mon)
{
	struct sproc *p = &procs[i];
	int fds[2] = { fd, chan };

	if (!msg_send_fds(p->ctl, MM_CONN, ci, sizeof(*ci), fds, 2))
		return false;
	p->busy = true;
	p->conn = ci->conn;
	p->host = host;
	p->mon = mon;
	nidle--;
	nbusy++;
	return true;
}

/* Slot i's connection is over. */
static void ended(struct sproc *p, int *host, int *mon)
{
	*host = p->host;
	*mon = p->mon;
	p->busy = false;
	p->conn = 0;
	p->host = p->mon = -1;
	nbusy--;
}

bool pool_on_ctl(unsigned i, int *host, int *mon)
{
	struct sproc *p = &procs[i];
	uint32_t type = 0;
	ssize_t n;

	if (p->pid <= 0 || p->ctl < 0)
		return false;
	n = msg_recv(p->ctl, &type, NULL, 0, NULL);
	if (n == MSG_AGAIN)
		return false;
	if (n == 0 && type == MM_DONE && p->busy) {
		ended(p, host, mon);
		nidle++;
		return true;
	}
	/* It ended or lied: it takes no more connections; its end is counted when it is reaped. */
	close(p->ctl);
	p->ctl = -1;
	if (!p->busy)
		nidle--;
	kill(p->pid, SIGKILL);
	return false;
}

bool pool_reaped(pid_t pid, bool *busy, int *host, int *mon)
{
	for (unsigned i = 0; i < nprocs; i++) {
		struct sproc *p = &procs[i];

		if (p->pid != pid || pid <= 0)
			continue;
		*busy = p->busy;
		if (p->busy)
			ended(p, host, mon);
		else if (p->ctl >= 0)
			nidle--;
		if (p->ctl >= 0)
			close(p->ctl);
		*p = (struct sproc){ .pid = 0, .ctl = -1, .host = -1, .mon = -1 };
		return true;
	}
	return false;
}

void pool_kill(uint64_t conn, int mon)
{
	/* Only the process still serving that connection for that monitor: it is not yet reaped. */
	for (unsigned i = 0; i < nprocs; i++)
		if (procs[i].pid > 0 && procs[i].busy && procs[i].conn == conn && procs[i].mon == mon)
			kill(procs[i].pid, SIGKILL);
}

void pool_retire(unsigned i)
{
	struct sproc *p = &procs[i];

	/* An idle one reads the end of its channel and exits; it is reaped like any other. */
	if (p->pid != 0 && !p->busy && p->ctl >= 0) {
		close(p->ctl);
		p->ctl = -1;
		nidle--;
	}
}

void pool_kill_all(void)
{
	for (unsigned i = 0; i < nprocs; i++)
		if (procs[i].pid > 0)
			kill(procs[i].pid, SIGKILL);
}
