/* setup.c - the configuration and everything it names, checked once as the running proxy needs them. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "proxy.h"

#define FDS_SPARE 128       /* descriptors beyond one per connection: listeners, channels, logs */

void die(const char *fmt, ...)
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
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                 SSL_MODE_RELEASE_BUFFERS);
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

/*
 * Cores and descriptors: no core of a process holding secrets; two
 * descriptors per connection (a monitor holds each session's channel and,
 * while it logs in, its backend).
 */
static void limits(const struct config *cf)
{
	struct rlimit zero = { 0, 0 }, fds;
	rlim_t need = 2 * (rlim_t)cf->max_connections + FDS_SPARE;

	if (setrlimit(RLIMIT_CORE, &zero) != 0 || getrlimit(RLIMIT_NOFILE, &fds) != 0)
		die("setrlimit: %s", strerror(errno));
	if (fds.rlim_max != RLIM_INFINITY && fds.rlim_max < need)
		die("the descriptor limit %llu is below the %llu that max_connections %u needs",
		    (unsigned long long)fds.rlim_max, (unsigned long long)need, cf->max_connections);
	if (fds.rlim_cur != RLIM_INFINITY && fds.rlim_cur < need) {
		fds.rlim_cur = need;
		if (setrlimit(RLIMIT_NOFILE, &fds) != 0)
			die("setrlimit: %s", strerror(errno));
	}
}

/*
 * The key store (which makes its secret on first use) and the backend's
 * password file, read by a child that then exits, so that neither stays
 * in this process, from which every session is forked.
 */
static void check_secrets(const struct proxy *px)
{
	pid_t pid = fork();
	int status = 0;

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		unsigned char secret[32];
		char pass[MASTER_PASS_MAX + 1];
		enum otp_err e = otp_db_host_secret(px->policy.db, px->policy.lock_ms, secret);

		otp_wipe(secret, sizeof(secret));
		if (e != OTP_OK)
			die("%s: %s", otp_db_path(px->policy.db), otp_strerror(e));
		if (px->cf.master_user[0] != '\0') {
			if (!master_password_read(&px->cf, pass))
				die("%s: not usable as the backend password file (see above)",
				    px->cf.master_password_file);
			otp_wipe(pass, sizeof(pass));
		}
		exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		exit(1);
}

void proxy_setup(struct proxy *px, const char *path, bool foreground, bool secrets)
{
	struct config *cf = &px->cf;
	struct passwd *pw;
	char name[CONF_NAME_MAX + 1];

	memset(px, 0, sizeof(*px));
	read_config(path, cf);
	log_init(foreground || cf->log == LOGTO_STDERR ? LOGTO_STDERR : LOGTO_SYSLOG);
	if ((pw = getpwnam(cf->user)) == NULL)
		die("user %s: no such account", cf->user);
	if (pw->pw_uid == 0)
		die("user %s: must not be root", cf->user);
	px->uid = pw->pw_uid;
	px->gid = pw->pw_gid;
	check_chroot(cf->chroot_dir);
	if (cf->hostname[0] != '\0')
		snprintf(name, sizeof(name), "%s", cf->hostname);
	else if (gethostname(name, sizeof(name)) != 0)
		name[0] = '\0';
	name[sizeof(name) - 1] = '\0';
	if (!config_banner_host(name, px->host, sizeof(px->host)))
		die("host name %.40s...: too long for the banner's timestamp (at most %d characters)",
		    name, CONF_BANNER_HOST_MAX);
	if (!to_sockaddr(cf->backend_addr, cf->backend_port, &px->backend, &px->backend_len))
		die("backend: bad address %s", cf->backend_addr);
	/* OpenSSL's start-up, its configuration and the contexts: once, here, before any fork. */
	if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) != 1)
		die("OpenSSL cannot start");
	if (cf->tls_cert[0] != '\0')
		px->tls_server = tls_server(cf);
	if (cf->backend_tls != BTLS_NONE)
		px->tls_client = tls_client(cf);
	px->policy = cf->policy;
	px->policy.db = cf->db[0] != '\0' ? cf->db : NULL;
	limits(cf);
	if (secrets)
		check_secrets(px);
}

bool drop_privileges(const struct proxy *px)
{
	const struct config *cf = &px->cf;

	if (cf->chroot_dir[0] != '\0') {
		if (chroot(cf->chroot_dir) != 0 || chdir("/") != 0) {
			plog(LOG_ERR, "chroot %s: %s", cf->chroot_dir, strerror(errno));
			return false;
		}
	} else if (chdir("/") != 0) {
		return false;
	}
	if (setgroups(0, NULL) != 0 || setresgid(px->gid, px->gid, px->gid) != 0 ||
	    setresuid(px->uid, px->uid, px->uid) != 0) {
		plog(LOG_ERR, "cannot switch to user %s: %s", cf->user, strerror(errno));
		return false;
	}
	if (px->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		plog(LOG_ERR, "could regain root after dropping it");
		return false;
	}
	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0;
}
