/* monstand.c - apop-proxy's real monitor, with the master played here and the session by any program. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "proxy.h"
#include "mon_proto.h"

/*
 * Usage: monstand CONFIG PROGRAM [ARG...]
 *   Sets up as apop-proxy does from CONFIG (everything -t checks), starts
 *   one monitor with monitor_run() exactly as the master does, and hands
 *   it one connection whose session is PROGRAM: run with the session's
 *   channel to the monitor on descriptor 3 and the banner's timestamp in
 *   $STAMP, as root (the stand-in for a session that is not to be
 *   trusted).  What the monitor tells the master goes to standard error
 *   beside the monitor's log ("master: outcome fail", "master: outcome
 *   ok", "master: kill"), and "master: monitor ended" once PROGRAM has
 *   exited and the monitor with it.  Exits with PROGRAM's status.  Every
 *   wait is bounded (120 s).
 */

#define WAIT_MS 120000

static void on_master_msg(int chan)
{
	unsigned char buf[64];
	uint32_t type = 0;
	ssize_t n = msg_recv(chan, &type, buf, sizeof(buf), NULL);

	/* One write per line, as the monitor's log lines are. */
	if (n == (ssize_t)sizeof(struct outcome) && type == MM_OUTCOME)
		dprintf(2, "master: outcome %s\n", ((struct outcome *)(void *)buf)->success ? "ok" : "fail");
	else if (n == (ssize_t)sizeof(uint64_t) && type == MM_KILL)
		dprintf(2, "master: kill\n");
	else if (n >= 0)
		dprintf(2, "master: unexpected message %u\n", type);
	else if (n == MSG_EOF)
		(void)poll(NULL, 0, 50);
}

static pid_t start_program(int chan, const char *stamp, char **argv)
{
	pid_t pid = fork();

	if (pid == 0) {
		if (dup2(chan, 3) != 3 || setenv("STAMP", stamp, 1) != 0)
			_exit(127);
		(void)close_range(4, ~0U, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int main(int argc, char **argv)
{
	struct proxy px;
	struct client_info ci;
	struct sockaddr_in *in4 = (struct sockaddr_in *)(void *)&ci.addr;
	int mm[2], sc[2], status = 0;
	pid_t mon, prog;
	int64_t until;

	if (argc < 3) {
		fprintf(stderr, "usage: monstand CONFIG PROGRAM [ARG...]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	proxy_setup(&px, argv[1], true, true);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, mm) != 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sc) != 0)
		die("socketpair: %s", strerror(errno));
	mon = fork();
	if (mon == 0) {
		close(mm[0]);
		close(sc[0]);
		close(sc[1]);
		monitor_run(&px, mm[1]);
	}
	close(mm[1]);
	memset(&ci, 0, sizeof(ci));
	in4->sin_family = AF_INET;
	in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	snprintf(ci.rhost, sizeof(ci.rhost), "127.0.0.1");
	if (snprintf(ci.stamp, sizeof(ci.stamp), "<%ld.1700000000.0123456789abcdef@%s>",
	             (long)getpid(), px.host) >= (int)sizeof(ci.stamp))
		die("host name too long");
	ci.conn = 1;
	prog = start_program(sc[1], ci.stamp, argv + 2);
	close(sc[1]);
	ci.pid = (int32_t)prog;
	if (mon < 0 || prog < 0 || !msg_send(mm[0], MM_SESSION, &ci, sizeof(ci), sc[0]))
		die("cannot start the monitor or the program");
	close(sc[0]);
	until = mono_ms() + WAIT_MS;
	while (waitpid(prog, &status, WNOHANG) == 0 && mono_ms() < until) {
		struct pollfd p = { .fd = mm[0], .events = POLLIN };

		if (poll(&p, 1, 100) > 0)
			on_master_msg(mm[0]);
	}
	kill(prog, SIGKILL);
	(void)waitpid(prog, &status, WNOHANG);
	/* What the monitor said last, then it ends as it does when its master does. */
	for (int k = 0; k < 100 && poll(&(struct pollfd){ .fd = mm[0], .events = POLLIN }, 1, 200) > 0;
	     k++)
		on_master_msg(mm[0]);
	close(mm[0]);
	until = mono_ms() + WAIT_MS;
	while (waitpid(mon, NULL, WNOHANG) == 0 && mono_ms() < until)
		(void)poll(NULL, 0, 20);
	kill(mon, SIGKILL);
	dprintf(2, "master: monitor ended\n");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
