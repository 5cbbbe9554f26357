/* main.c - apop-proxy's master: config, listening sockets, connection limits, failure delays. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "proxy.h"

#ifndef APOP_PROXY_CONF
#define APOP_PROXY_CONF "/etc/apop-proxy.conf"
#endif

#define HOSTS_MAX   2048    /* addresses remembered: more than max_connections allows */
#define LISTEN_BACKLOG 128

struct host {
	bool used;
	uint8_t family;
	uint8_t addr[16];
	unsigned conns;
	unsigned failures;
	time_t last_failure;
};

struct child {
	pid_t pid;
	int host;
};

static struct proxy px;
static int listen_fds[CONF_LISTEN_MAX];
static unsigned nlisten;
static int sig_pipe[2] = { -1, -1 };
static int status_rd = -1;
static struct host hosts[HOSTS_MAX];
static struct child *children;
static unsigned nchildren;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (log_target() == LOGTO_SYSLOG)
		fprintf(stderr, "apop-proxy: %s\n", buf);
	plog(LOG_ERR, "%s", buf);
	exit(1);
}

static void on_signal(int sig)
{
	int e = errno;
	unsigned char c = (unsigned char)sig;

	(void)!write(sig_pipe[1], &c, 1);
	errno = e;
}

/* ---- set-up ------------------------------------------------------------------ */

static void read_config(const char *path, struct config *cf)
{
	char *text = NULL, err[256];
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		die("%s: not a regular file", path);
	if ((st.st_mode & 022) != 0 || (st.st_uid != 0 && st.st_uid != geteuid()))
		die("%s: writable by others than its owner, or not owned by root", path);
	if (st.st_size > CONF_TEXT_MAX)
		die("%s: file too large", path);
	text = malloc((size_t)st.st_size + 1);
	if (text == NULL)
		die("out of memory");
	n = read(fd, text, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size)
		die("%s: read failed", path);
	config_defaults(cf);
	if (!config_parse(text, (size_t)n, cf, err, sizeof(err)))
		die("%s: %s", path, err);
	free(text);
}

static SSL_CTX *tls_server(const struct config *cf)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, cf->tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, cf->tls_key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		die("TLS: cannot use %s and %s: %s", cf->tls_cert, cf->tls_key,
		    ERR_reason_error_string(ERR_get_error()));
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

static SSL_CTX *tls_client(const struct config *cf)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_load_verify_locations(ctx, cf->backend_ca, NULL) != 1)
		die("TLS: cannot load the backend CA %s: %s", cf->backend_ca,
		    ERR_reason_error_string(ERR_get_error()));
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	return ctx;
}

static bool to_sockaddr(const char *addr, unsigned port, struct sockaddr_storage *ss,
                        socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return true;
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return true;
	}
	return false;
}

static void open_listeners(const struct config *cf)
{
	for (unsigned i = 0; i < cf->nlisten; i++) {
		struct sockaddr_storage ss;
		socklen_t len;
		int fd, one = 1;

		if (!to_sockaddr(cf->listen[i].addr, cf->listen[i].port, &ss, &len))
			die("listen: bad address %s", cf->listen[i].addr);
		fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket: %s", strerror(errno));
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (ss.ss_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, LISTEN_BACKLOG) != 0)
			die("listen on %s port %u: %s", cf->listen[i].addr, cf->listen[i].port,
			    strerror(errno));
		listen_fds[nlisten++] = fd;
	}
}

/* The banner's host: letters, digits and dots only (mpop refuses anything else). */
static void banner_host(const struct config *cf, char *out, size_t size)
{
	char name[CONF_NAME_MAX + 1];
	size_t j = 0;

	if (cf->hostname[0] != '\0')
		snprintf(name, sizeof(name), "%s", cf->hostname);
	else if (gethostname(name, sizeof(name)) != 0)
		name[0] = '\0';
	name[sizeof(name) - 1] = '\0';
	for (size_t i = 0; name[i] != '\0' && j + 1 < size; i++) {
		char ch = name[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '.')
			out[j++] = ch;
	}
	out[j] = '\0';
	if (j == 0)
		snprintf(out, size, "localhost");
}

static void check_chroot(const char *dir)
{
	struct stat st;

	if (dir[0] == '\0')
		return;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		die("chroot %s: not a directory", dir);
	if (st.st_uid != 0 || (st.st_mode & 022) != 0)
		die("chroot %s: must be owned by root and writable by nobody else", dir);
}

static void setup(const char *path, bool foreground, bool test_only)
{
	struct config *cf = &px.cf;
	struct passwd *pw;
	unsigned char secret[32];
	enum otp_err e;
	int sp[2];

	read_config(path, cf);
	log_init(foreground || cf->log == LOGTO_STDERR ? LOGTO_STDERR : LOGTO_SYSLOG);
	if ((pw = getpwnam(cf->user)) == NULL)
		die("user %s: no such account", cf->user);
	if (pw->pw_uid == 0)
		die("user %s: must not be root", cf->user);
	px.uid = pw->pw_uid;
	px.gid = pw->pw_gid;
	check_chroot(cf->chroot_dir);
	banner_host(cf, px.host, sizeof(px.host));
	if (!to_sockaddr(cf->backend_addr, cf->backend_port, &px.backend, &px.backend_len))
		die("backend: bad address %s", cf->backend_addr);
	if (cf->tls_cert[0] != '\0')
		px.tls_server = tls_server(cf);
	if (cf->backend_tls != BTLS_NONE)
		px.tls_client = tls_client(cf);

	px.policy = cf->policy;
	px.policy.db = cf->db[0] != '\0' ? cf->db : NULL;
	/* The database must be usable now, not at the first login; this also makes the host secret. */
	if ((e = otp_db_host_secret(px.policy.db, px.policy.lock_ms, secret)) != OTP_OK)
		die("%s: %s", otp_db_path(px.policy.db), otp_strerror(e));
	otp_wipe(secret, sizeof(secret));
	if (test_only) {
		printf("%s: configuration OK\n", path);
		exit(0);
	}

	open_listeners(cf);
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0 || pipe2(sp, O_CLOEXEC) != 0)
		die("pipe: %s", strerror(errno));
	status_rd = sp[0];
	px.status_fd = sp[1];
	if (fcntl(status_rd, F_SETFL, O_NONBLOCK) != 0)
		die("fcntl: %s", strerror(errno));
	children = calloc(cf->max_connections, sizeof(*children));
	if (children == NULL)
		die("out of memory");

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* ---- addresses ---------------------------------------------------------------- */

static void addr_key(const struct sockaddr_storage *ss, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	*family = (uint8_t)ss->ss_family;
	if (ss->ss_family == AF_INET)
		memcpy(addr, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, 4);
	else if (ss->ss_family == AF_INET6)
		memcpy(addr, &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr, 16);
}

/* The entry for an address, made (evicting an idle one) when create; -1 if none. */
static int host_find(uint8_t family, const uint8_t addr[16], bool create)
{
	int free_slot = -1, oldest = -1;

	for (int i = 0; i < HOSTS_MAX; i++) {
		struct host *h = &hosts[i];

		if (!h->used) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (h->family == family && memcmp(h->addr, addr, 16) == 0)
			return i;
		if (h->conns == 0 && (oldest < 0 || h->last_failure < hosts[oldest].last_failure))
			oldest = i;
	}
	if (!create)
		return -1;
	if (free_slot < 0)
		free_slot = oldest;
	if (free_slot < 0)
		return -1;
	memset(&hosts[free_slot], 0, sizeof(hosts[free_slot]));
	hosts[free_slot].used = true;
	hosts[free_slot].family = family;
	memcpy(hosts[free_slot].addr, addr, 16);
	return free_slot;
}

static void host_release(int i)
{
	struct host *h = &hosts[i];

	if (h->conns > 0)
		h->conns--;
	if (h->conns == 0 && h->failures == 0)
		h->used = false;
}

static void read_outcomes(void)
{
	struct outcome o;

	while (read(status_rd, &o, sizeof(o)) == (ssize_t)sizeof(o)) {
		int i = host_find(o.family, o.addr, !o.success);

		if (i < 0)
			continue;
		if (o.success) {
			hosts[i].failures = 0;
		} else {
			if (time(NULL) - hosts[i].last_failure > (time_t)px.cf.fail_memory)
				hosts[i].failures = 0;
			hosts[i].failures++;
			hosts[i].last_failure = time(NULL);
		}
	}
}

/* ---- connections ---------------------------------------------------------------- */

static void refuse(int fd, const char *msg)
{
	(void)!send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static void accept_one(int lfd)
{
	struct client_info ci;
	socklen_t len = sizeof(ci.addr);
	uint8_t family, addr[16];
	pid_t pid;
	int fd, h;

	memset(&ci, 0, sizeof(ci));
	fd = accept4(lfd, (struct sockaddr *)&ci.addr, &len, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (ci.addr.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)&ci.addr)->sin_addr, ci.rhost,
		          sizeof(ci.rhost));
	else if (ci.addr.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)&ci.addr)->sin6_addr, ci.rhost,
		          sizeof(ci.rhost));
	else
		snprintf(ci.rhost, sizeof(ci.rhost), "?");
	addr_key(&ci.addr, &family, addr);
	if (nchildren >= px.cf.max_connections) {
		plog(LOG_NOTICE, "too many connections; refused rhost=%s", ci.rhost);
		refuse(fd, "-ERR [SYS/TEMP] too many connections, try again later\r\n");
		return;
	}
	h = host_find(family, addr, true);
	if (h < 0 || hosts[h].conns >= px.cf.max_per_host) {
		plog(LOG_NOTICE, "too many connections from one address; refused rhost=%s", ci.rhost);
		refuse(fd, "-ERR [SYS/TEMP] too many connections from your address\r\n");
		return;
	}
	if (hosts[h].failures > 0 &&
	    time(NULL) - hosts[h].last_failure > (time_t)px.cf.fail_memory)
		hosts[h].failures = 0;
	ci.prior_failures = hosts[h].failures;
	pid = fork();
	if (pid < 0) {
		plog(LOG_ERR, "fork: %s", strerror(errno));
		refuse(fd, "-ERR [SYS/TEMP] try again later\r\n");
		return;
	}
	if (pid == 0) {
		signal(SIGCHLD, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		for (unsigned i = 0; i < nlisten; i++)
			close(listen_fds[i]);
		close(sig_pipe[0]);
		close(sig_pipe[1]);
		close(status_rd);
		free(children);
		monitor_run(&px, fd, &ci);
	}
	close(fd);
	hosts[h].conns++;
	for (unsigned i = 0; i < px.cf.max_connections; i++)
		if (children[i].pid == 0) {
			children[i].pid = pid;
			children[i].host = h;
			nchildren++;
			break;
		}
}

static void reap(void)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (unsigned i = 0; i < px.cf.max_connections; i++)
			if (children[i].pid == pid) {
				host_release(children[i].host);
				children[i].pid = 0;
				nchildren--;
				break;
			}
}

static void shutdown_all(void)
{
	for (unsigned i = 0; i < px.cf.max_connections; i++)
		if (children[i].pid > 0)
			kill(children[i].pid, SIGTERM);
	plog(LOG_INFO, "stopped");
	exit(0);
}

static void serve(void)
{
	struct pollfd p[CONF_LISTEN_MAX + 2];
	unsigned n = 0;

	for (unsigned i = 0; i < nlisten; i++)
		p[n++] = (struct pollfd){ .fd = listen_fds[i], .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = status_rd, .events = POLLIN };
	p[n++] = (struct pollfd){ .fd = sig_pipe[0], .events = POLLIN };
	plog(LOG_INFO, "started; backend %s port %u", px.cf.backend_addr, px.cf.backend_port);
	for (;;) {
		if (poll(p, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll: %s", strerror(errno));
		}
		if (p[n - 1].revents & POLLIN) {
			unsigned char sig[64];
			ssize_t got = read(sig_pipe[0], sig, sizeof(sig));

			for (ssize_t i = 0; i < got; i++)
				if (sig[i] == SIGTERM || sig[i] == SIGINT || sig[i] == SIGHUP)
					shutdown_all();
			reap();
		}
		if (p[n - 2].revents & POLLIN)
			read_outcomes();
		/* Outcomes first, so a client's next connection sees its last failure. */
		for (unsigned i = 0; i < nlisten; i++)
			if (p[i].revents & POLLIN)
				for (int k = 0; k < 16; k++) {
					struct pollfd q = { .fd = listen_fds[i], .events = POLLIN };

					if (poll(&q, 1, 0) <= 0)
						break;
					reap();
					accept_one(listen_fds[i]);
				}
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: apop-proxy [-d] [-t] [-f CONFIG]\n"
	        "  -f CONFIG  the configuration file (default " APOP_PROXY_CONF ")\n"
	        "  -d         log to standard error instead of syslog\n"
	        "  -t         check the configuration and the key database, then exit\n"
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
	setup(conf, foreground, test_only);
	serve();
	return 0;
}
