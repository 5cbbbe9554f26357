/* monitor.c - the privileged half of a connection: the only code that touches the key database. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include "proxy.h"

#define MONITOR_GRACE_S 30  /* beyond login_timeout, before a silent session is killed */

struct mon {
	const struct proxy *px;
	const struct client_info *ci;
	const char *stamp;
	pid_t session;
	struct otp_login L;
	bool have_login;            /* L holds a challenge (real or fake) */
	bool authed;
	bool plain_pending;
	char user[OTP_USER_MAX + 1];
	const char *method;
	unsigned failures;
};

/* ---- privileges ---------------------------------------------------------- */

/* Session side: chroot, then the configured account, and no way back. */
static bool drop_privileges(const struct proxy *px)
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
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return false;
	return true;
}

/* ---- helpers --------------------------------------------------------------- */

/* "<pid.time.random@host>": letters, digits, '.' and one '@' (RFC 1939 s7). */
static bool make_stamp(const struct proxy *px, char *buf, size_t size)
{
	unsigned char r[8];
	int n;

	if (otp_random_bytes(r, sizeof(r)) != OTP_OK)
		return false;
	n = snprintf(buf, size, "<%ld.%lld.%02x%02x%02x%02x%02x%02x%02x%02x@%s>", (long)getpid(),
	             (long long)time(NULL), r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7],
	             px->host);
	return n > 0 && (size_t)n < size;
}

static void report(const struct mon *m, bool success)
{
	struct outcome o;
	const struct sockaddr_storage *ss = &m->ci->addr;

	memset(&o, 0, sizeof(o));
	o.family = (uint8_t)ss->ss_family;
	if (ss->ss_family == AF_INET)
		memcpy(o.addr, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, 4);
	else if (ss->ss_family == AF_INET6)
		memcpy(o.addr, &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr, 16);
	o.success = success;
	(void)!write(m->px->status_fd, &o, sizeof(o));
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* The delay before a failure is answered: doubling per failure from this address. */
static unsigned fail_delay(const struct mon *m)
{
	const struct config *cf = &m->px->cf;
	unsigned n = m->ci->prior_failures + m->failures - 1;
	uint64_t d = cf->fail_delay_ms;

	if (d == 0)
		return 0;
	d <<= n > 20 ? 20 : n;
	return d > cf->fail_delay_max_ms ? cf->fail_delay_max_ms : (unsigned)d;
}

static void log_success(const struct mon *m, unsigned remaining, bool otp)
{
	if (otp)
		plog(LOG_INFO, "login; method=%s user=%s rhost=%s remaining=%u", m->method, m->user,
		     m->ci->rhost, remaining);
	else
		plog(LOG_INFO, "login; method=%s user=%s rhost=%s", m->method, m->user, m->ci->rhost);
}

/* Counts, logs, reports and delays a failed attempt; fills the reply. */
static void failure(struct mon *m, struct mon_rep *rep, const char *user, const char *why)
{
	char u[OTP_USER_MAX + 1];

	log_safe(u, sizeof(u), user);
	m->failures++;
	plog(LOG_NOTICE, "authentication failure; method=%s user=%s rhost=%s reason=%s",
	     m->method, u[0] != '\0' ? u : "-", m->ci->rhost, why);
	report(m, false);
	sleep_ms(fail_delay(m));
	rep->status = MST_FAIL;
	rep->close = m->failures >= m->px->cf.max_auth_failures;
}

/* The backend's credential, from its root-only file; false after logging why. */
static bool master_credential(const struct config *cf, struct mon_rep *rep)
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
	n = read(fd, rep->master_pass, sizeof(rep->master_pass) - 1);
	if (n <= 0) {
		plog(LOG_ERR, "%s: empty or unreadable", cf->master_password_file);
		goto out;
	}
	rep->master_pass[n] = '\0';
	rep->master_pass[strcspn(rep->master_pass, "\r\n")] = '\0';
	if (rep->master_pass[0] == '\0' || memchr(rep->master_pass, '\0', (size_t)n) !=
	    rep->master_pass + strlen(rep->master_pass)) {
		plog(LOG_ERR, "%s: malformed password line", cf->master_password_file);
		goto out;
	}
	memcpy(rep->master_user, cf->master_user, strlen(cf->master_user) + 1);
	ok = true;
out:
	close(fd);
	if (!ok)
		otp_wipe(rep->master_pass, sizeof(rep->master_pass));
	return ok;
}

static void success(struct mon *m, struct mon_rep *rep, unsigned remaining, bool otp)
{
	if (!master_credential(&m->px->cf, rep)) {
		rep->status = MST_TEMP;
		rep->close = 1;
		return;
	}
	m->authed = true;
	rep->status = MST_OK;
	rep->remaining = remaining;
	log_success(m, remaining, otp);
	report(m, true);
}

static void give_back(struct mon *m)
{
	if (m->have_login)
		otp_login_abort(&m->px->policy, &m->L);
	m->have_login = false;
	otp_wipe(&m->L, sizeof(m->L));
}

/* ---- requests ------------------------------------------------------------- */

static bool str_ok(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static void do_begin(struct mon *m, const struct mon_req *q, struct mon_rep *rep)
{
	const struct otp_policy *p = &m->px->policy;
	struct otp_login *L = &m->L;

	give_back(m);
	m->method = "otp";
	switch (otp_login_begin(p, q->user, L)) {
	case OTP_LOGIN_OK:
		m->have_login = true;
		/* RFC 2289 users see the bare challenge, as clients expect; token users what to send. */
		if (L->token == OTP_TOK_NONE)
			snprintf(rep->challenge, sizeof(rep->challenge), "%s", L->challenge);
		else if (L->has_key)
			snprintf(rep->challenge, sizeof(rep->challenge), "%s or %s code",
			         L->challenge, otp_tok_name(L->token));
		else
			snprintf(rep->challenge, sizeof(rep->challenge), "%s", L->prompt);
		rep->status = MST_OK;
		break;
	case OTP_LOGIN_REFUSED:
		failure(m, rep, q->user, "malformed user name");
		break;
	default:
		plog(LOG_ERR, "user %s: %s", L->user, otp_strerror(L->why));
		rep->status = MST_TEMP;
		break;
	}
}

static void do_finish(struct mon *m, const char *answer, struct mon_rep *rep)
{
	struct otp_login *L = &m->L;
	enum otp_login_res r;

	m->method = "otp";
	memcpy(m->user, L->user, sizeof(m->user));
	r = otp_login_finish(&m->px->policy, L, answer);
	m->have_login = false;
	if (r == OTP_LOGIN_OK)
		/* A token or scratch code: no RFC 2289 count to report or warn about. */
		success(m, rep, L->used == OTP_USED_KEY ? L->remaining : UINT32_MAX,
		        L->used == OTP_USED_KEY);
	else if (r == OTP_LOGIN_REFUSED)
		failure(m, rep, m->user, otp_strerror(L->why));
	else {
		plog(LOG_ERR, "user %s: %s", m->user, otp_strerror(L->why));
		rep->status = MST_TEMP;
	}
	otp_wipe(L, sizeof(*L));
}

/*
 * PASS after USER: a one-time answer (an RFC 2289 response, or a code when
 * the prompt asks for one) goes to the login transaction; anything else,
 * where allow_plain_pass permits, is a backend password to pass through.
 */
static void do_pass(struct mon *m, const struct mon_req *q, struct mon_rep *rep)
{
	if (!m->px->cf.allow_plain_pass || otp_login_takes(&m->L, q->arg)) {
		do_finish(m, q->arg, rep);
		return;
	}
	memcpy(m->user, m->L.user, sizeof(m->user));
	give_back(m);
	m->plain_pending = true;
	m->method = "pass";
	rep->status = MST_PLAIN;
}

static void do_apop(struct mon *m, const struct mon_req *q, struct mon_rep *rep)
{
	enum otp_login_res r;
	enum otp_err why = OTP_OK;

	give_back(m);
	m->method = "apop";
	if (otp_user_check(q->user) != OTP_OK) {
		failure(m, rep, q->user, "malformed user name");
		return;
	}
	memcpy(m->user, q->user, sizeof(m->user));
	r = otp_apop_verify(&m->px->policy, q->user, m->stamp, q->arg, &why);
	if (r == OTP_LOGIN_OK)
		success(m, rep, 0, false);
	else if (r == OTP_LOGIN_REFUSED)
		failure(m, rep, q->user, why == OTP_ERR_BAD_OTP ? "wrong APOP digest" : otp_strerror(why));
	else {
		plog(LOG_ERR, "user %s: %s", q->user, otp_strerror(why));
		rep->status = MST_TEMP;
	}
}

/* Returns false on a request no honest session sends. */
static bool handle(struct mon *m, const struct mon_req *q, struct mon_rep *rep)
{
	if (!str_ok(q->user, sizeof(q->user)) || !str_ok(q->arg, sizeof(q->arg)))
		return false;
	if (m->authed && q->type != MON_BACKEND_RESULT)
		return false;
	switch (q->type) {
	case MON_OTP_BEGIN:
		if (m->plain_pending)
			return false;
		do_begin(m, q, rep);
		return true;
	case MON_PASS:
		if (!m->have_login || m->plain_pending)
			return false;
		do_pass(m, q, rep);
		return true;
	case MON_OTP_ABORT:
		give_back(m);
		rep->status = MST_OK;
		return true;
	case MON_APOP:
		if (m->plain_pending)
			return false;
		do_apop(m, q, rep);
		return true;
	case MON_BACKEND_RESULT:
		if (m->plain_pending) {
			m->plain_pending = false;
			if (q->ok) {
				m->authed = true;
				log_success(m, 0, false);
				report(m, true);
				rep->status = MST_OK;
			} else {
				failure(m, rep, m->user, "the backend refused the password");
			}
			return true;
		}
		if (!m->authed)
			return false;
		if (!q->ok)
			plog(LOG_ERR, "backend login failed; method=%s user=%s rhost=%s", m->method,
			     m->user, m->ci->rhost);
		rep->status = MST_OK;
		return true;
	default:
		return false;
	}
}

static void serve(struct mon *m, int fd)
{
	struct mon_req q;
	struct mon_rep rep;
	int64_t deadline = mono_ms() + ((int64_t)m->px->cf.login_timeout + MONITOR_GRACE_S) * 1000;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int timeout = -1;
		ssize_t n;
		int r;

		if (!m->authed) {
			int64_t left = deadline - mono_ms();

			if (left <= 0) {
				plog(LOG_NOTICE, "session from %s overran its login time", m->ci->rhost);
				return;
			}
			timeout = (int)left;
		}
		r = poll(&pfd, 1, timeout);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		n = recv(fd, &q, sizeof(q), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;     /* the session ended */
		memset(&rep, 0, sizeof(rep));
		if ((size_t)n != sizeof(q) || !handle(m, &q, &rep)) {
			plog(LOG_ERR, "malformed request from the session for %s: ending it", m->ci->rhost);
			otp_wipe(&q, sizeof(q));
			return;
		}
		otp_wipe(&q, sizeof(q));
		n = send(fd, &rep, sizeof(rep), MSG_NOSIGNAL);
		otp_wipe(&rep, sizeof(rep));
		if (n != (ssize_t)sizeof(rep))
			return;
	}
}

void monitor_run(const struct proxy *px, int client_fd, const struct client_info *ci)
{
	struct mon m;
	char stamp[OTP_APOP_STAMP_MAX + 1];
	pid_t monitor;
	int sv[2];
	int status;

	memset(&m, 0, sizeof(m));
	m.px = px;
	m.ci = ci;
	m.stamp = stamp;
	m.method = "-";
	if (!make_stamp(px, stamp, sizeof(stamp)) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		plog(LOG_ERR, "cannot start a session for %s", ci->rhost);
		_exit(1);
	}
	monitor = getpid();
	m.session = fork();
	if (m.session < 0) {
		plog(LOG_ERR, "fork: %s", strerror(errno));
		_exit(1);
	}
	if (m.session == 0) {
		close(sv[0]);
		close(px->status_fd);
		/* After the switch of user, which clears the parent-death signal. */
		if (!drop_privileges(px) || prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
		    getppid() != monitor)
			_exit(1);
		_exit(session_run(px, client_fd, sv[1], stamp, ci->rhost));
	}
	close(sv[1]);
	close(client_fd);
	serve(&m, sv[0]);
	give_back(&m);
	close(sv[0]);
	kill(m.session, SIGKILL);
	while (waitpid(m.session, &status, 0) < 0 && errno == EINTR)
		;
	otp_wipe(&m, sizeof(m));
	_exit(0);
}
