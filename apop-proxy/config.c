/* config.c - apop-proxy.conf(5): "key value" lines parsed and checked, with no I/O. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "proxy.h"

#define CONF_LINE_MAX 1024
#define POLICY_KEYS_MAX 16     /* more than libotp's table has */

enum kind { K_STR, K_PATH, K_DB, K_UINT, K_BOOL, K_LISTEN, K_ADDRPORT, K_BTLS, K_LOG };

struct key {
	const char *name;
	enum kind kind;
	size_t off;             /* into struct config */
	size_t size;            /* K_STR, K_PATH: the buffer */
	unsigned long min, max; /* K_UINT */
};

#define OFF(f) offsetof(struct config, f)
#define STR(n, f)  { n, K_STR, OFF(f), sizeof(((struct config *)0)->f), 0, 0 }
#define PATH(n, f) { n, K_PATH, OFF(f), sizeof(((struct config *)0)->f), 0, 0 }
#define UINT(n, f, lo, hi) { n, K_UINT, OFF(f), 0, lo, hi }
#define BOOL(n, f) { n, K_BOOL, OFF(f), 0, 0, 0 }

static const struct key keys[] = {
	{ "listen", K_LISTEN, 0, 0, 0, 0 },
	STR("hostname", hostname),
	STR("user", user),
	PATH("chroot", chroot_dir),
	{ "db", K_DB, OFF(db), sizeof(((struct config *)0)->db), 0, 0 },
	PATH("tls_cert", tls_cert),
	PATH("tls_key", tls_key),
	{ "backend", K_ADDRPORT, 0, 0, 0, 0 },
	{ "backend_tls", K_BTLS, 0, 0, 0, 0 },
	PATH("backend_ca", backend_ca),
	STR("backend_tls_name", backend_tls_name),
	STR("backend_master_user", master_user),
	PATH("backend_master_password_file", master_password_file),
	BOOL("allow_plain_pass", allow_plain_pass),
	UINT("max_connections", max_connections, 1, 1000),
	UINT("max_per_host", max_per_host, 1, 1000),
	UINT("monitors", monitors, 1, CONF_MONITORS_MAX),
	UINT("session_reuse", session_reuse, 1, 100000),
	UINT("login_timeout", login_timeout, 5, 3600),
	UINT("auth_idle_timeout", auth_idle_timeout, 5, 600),
	UINT("idle_timeout", idle_timeout, 600, 86400),     /* RFC 1939 s3: at least 10 minutes */
	UINT("backend_timeout", backend_timeout, 1, 600),
	UINT("max_auth_failures", max_auth_failures, 1, 100),
	UINT("fail_delay_ms", fail_delay_ms, 0, 60000),
	UINT("fail_delay_max_ms", fail_delay_max_ms, 0, 600000),
	UINT("fail_memory", fail_memory, 1, 86400),
	{ "log", K_LOG, 0, 0, 0, 0 },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->user, sizeof(c->user), "nobody");
	c->backend_tls = BTLS_NONE;
	c->max_connections = 100;
	c->max_per_host = 10;
	c->monitors = 1;
	c->session_reuse = 1;
	c->login_timeout = 120;
	c->auth_idle_timeout = 60;
	c->idle_timeout = 600;
	c->backend_timeout = 30;
	c->max_auth_failures = 3;
	c->fail_delay_ms = 1000;
	c->fail_delay_max_ms = 30000;
	c->fail_memory = 900;
	/* The login settings and their defaults are libotp's, the same as pam_otp's. */
	otp_policy_init(&c->policy);
	c->policy.fake_unknown = true;
	c->log = LOGTO_SYSLOG;
}

static bool fail(char *err, size_t size, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static bool fail(char *err, size_t size, unsigned line, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (size == 0)
		return false;
	if (line > 0)
		n = snprintf(err, size, "line %u: ", line);
	if (n < 0 || (size_t)n >= size)
		n = 0;
	va_start(ap, fmt);
	vsnprintf(err + n, size - (size_t)n, fmt, ap);
	va_end(ap);
	return false;
}

static bool is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Splits s (NUL-terminated, edited in place) into at most max words. */
static unsigned split(char *s, char **w, unsigned max)
{
	unsigned n = 0;

	for (;;) {
		while (is_blank(*s))
			*s++ = '\0';
		if (*s == '\0')
			return n;
		if (n == max)
			return max + 1;
		w[n++] = s;
		while (*s != '\0' && !is_blank(*s))
			s++;
	}
}

static bool numeric_addr(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= CONF_ADDR_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
		      (ch >= 'A' && ch <= 'F') || ch == '.' || ch == ':'))
			return false;
	}
	return true;
}

static bool printable_word(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static bool set_value(const struct key *k, struct config *c, char **w, unsigned nw,
                      unsigned line, char *err, size_t errsize)
{
	char *base = (char *)c;
	unsigned long v;

	if (k->kind != K_LISTEN && k->kind != K_ADDRPORT && nw != 1)
		return fail(err, errsize, line, "%s takes one value", k->name);
	switch (k->kind) {
	case K_STR:
	case K_PATH:
	case K_DB:
		if (strlen(w[0]) >= k->size)
			return fail(err, errsize, line, "%s: value too long", k->name);
		if (!printable_word(w[0]))
			return fail(err, errsize, line, "%s: value must be printable ASCII", k->name);
		if (k->kind == K_PATH && w[0][0] != '/')
			return fail(err, errsize, line, "%s needs an absolute path", k->name);
		if (k->kind == K_DB && otp_db_spec_check(w[0]) != OTP_OK)
			return fail(err, errsize, line, "%s needs an absolute path or a postgresql:// URI",
			            k->name);
		memcpy(base + k->off, w[0], strlen(w[0]) + 1);
		return true;
	case K_UINT:
		if (otp_parse_uint(w[0], k->min, k->max, &v) != OTP_OK)
			return fail(err, errsize, line, "%s: value must be a number from %lu to %lu",
			            k->name, k->min, k->max);
		*(unsigned *)(void *)(base + k->off) = (unsigned)v;
		return true;
	case K_BOOL:
		if (strcmp(w[0], "yes") != 0 && strcmp(w[0], "no") != 0)
			return fail(err, errsize, line, "%s: value must be yes or no", k->name);
		*(bool *)(void *)(base + k->off) = strcmp(w[0], "yes") == 0;
		return true;
	case K_BTLS:
		if (strcmp(w[0], "none") == 0)
			c->backend_tls = BTLS_NONE;
		else if (strcmp(w[0], "stls") == 0)
			c->backend_tls = BTLS_STLS;
		else if (strcmp(w[0], "pop3s") == 0)
			c->backend_tls = BTLS_POP3S;
		else
			return fail(err, errsize, line, "backend_tls: value must be none, stls or pop3s");
		return true;
	case K_LOG:
		if (strcmp(w[0], "syslog") == 0)
			c->log = LOGTO_SYSLOG;
		else if (strcmp(w[0], "stderr") == 0)
			c->log = LOGTO_STDERR;
		else
			return fail(err, errsize, line, "log: value must be syslog or stderr");
		return true;
	case K_LISTEN:
	case K_ADDRPORT:
		if (nw != 2)
			return fail(err, errsize, line, "%s takes an address and a port", k->name);
		if (!numeric_addr(w[0]))
			return fail(err, errsize, line, "%s: %s is not a numeric IPv4 or IPv6 address",
			            k->name, w[0]);
		if (otp_parse_uint(w[1], 1, 65535, &v) != OTP_OK)
			return fail(err, errsize, line, "%s: port must be a number from 1 to 65535",
			            k->name);
		if (k->kind == K_LISTEN) {
			if (c->nlisten == CONF_LISTEN_MAX)
				return fail(err, errsize, line, "at most %d listen lines", CONF_LISTEN_MAX);
			memcpy(c->listen[c->nlisten].addr, w[0], strlen(w[0]) + 1);
			c->listen[c->nlisten++].port = (unsigned)v;
		} else {
			memcpy(c->backend_addr, w[0], strlen(w[0]) + 1);
			c->backend_port = (unsigned)v;
		}
		return true;
	}
	return fail(err, errsize, line, "internal error");
}

/*
 * A login setting from libotp's table (the names, ranges and defaults of
 * pam_otp(8)); flags take yes or no.  seen remembers those given.
 */
static bool set_policy(struct config *c, char **w, unsigned nw,
                       const struct otp_policy_opt **seen, unsigned line, char *err, size_t errsize)
{
	const struct otp_policy_opt *o = otp_policy_option(w[0], strlen(w[0]));
	unsigned i;

	if (o == NULL || o->kind == OTP_OPT_DB)
		return fail(err, errsize, line, "unknown key %.40s", w[0]);
	if (nw != 2)
		return fail(err, errsize, line, "%s takes one value", o->name);
	for (i = 0; i < POLICY_KEYS_MAX && seen[i] != NULL; i++)
		if (seen[i] == o)
			return fail(err, errsize, line, "%s given twice", o->name);
	if (i < POLICY_KEYS_MAX)
		seen[i] = o;
	if (otp_policy_set(&c->policy, o, w[1]) == OTP_OK)
		return true;
	if (o->kind == OTP_OPT_FLAG)
		return fail(err, errsize, line, "%s: value must be yes or no", o->name);
	return fail(err, errsize, line, "%s: value must be a number from %lu to %lu", o->name,
	            o->min, o->max);
}

bool config_banner_host(const char *name, char *out, size_t size)
{
	size_t j = 0;

	for (size_t i = 0; name[i] != '\0'; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '.'))
			continue;
		if (j >= CONF_BANNER_HOST_MAX || j + 1 >= size)
			return false;
		out[j++] = ch;
	}
	out[j] = '\0';
	if (j == 0)
		snprintf(out, size, "localhost");
	return true;
}

/* Checks the settings as a whole. */
static bool check(const struct config *c, char *err, size_t errsize)
{
	char host[CONF_NAME_MAX + 1];

	if (c->nlisten == 0)
		return fail(err, errsize, 0, "no listen address");
	if (c->backend_addr[0] == '\0')
		return fail(err, errsize, 0, "no backend");
	if (c->user[0] == '\0' || strcmp(c->user, "root") == 0)
		return fail(err, errsize, 0, "user must name an unprivileged account");
	if ((c->tls_cert[0] == '\0') != (c->tls_key[0] == '\0'))
		return fail(err, errsize, 0, "tls_cert and tls_key go together");
	if ((c->master_user[0] == '\0') != (c->master_password_file[0] == '\0'))
		return fail(err, errsize, 0,
		            "backend_master_user and backend_master_password_file go together");
	if (c->master_user[0] != '\0' && otp_user_check(c->master_user) != OTP_OK)
		return fail(err, errsize, 0, "backend_master_user: not a valid user name");
	if (c->master_user[0] == '\0' && !c->allow_plain_pass)
		return fail(err, errsize, 0, "no way to log in to the backend: set "
		            "backend_master_user (or allow_plain_pass)");
	if (c->allow_plain_pass && c->tls_cert[0] == '\0')
		return fail(err, errsize, 0, "allow_plain_pass needs TLS (tls_cert, tls_key)");
	if (c->backend_tls != BTLS_NONE && c->backend_ca[0] == '\0')
		return fail(err, errsize, 0, "backend_tls needs backend_ca to check the certificate");
	if (c->backend_tls != BTLS_NONE && c->backend_tls_name[0] == '\0')
		return fail(err, errsize, 0, "backend_tls needs backend_tls_name");
	if (c->fail_delay_max_ms < c->fail_delay_ms)
		return fail(err, errsize, 0, "fail_delay_max_ms is below fail_delay_ms");
	if (c->auth_idle_timeout > c->login_timeout)
		return fail(err, errsize, 0, "auth_idle_timeout is above login_timeout");
	if (c->max_per_host > c->max_connections)
		return fail(err, errsize, 0, "max_per_host is above max_connections");
	if (!config_banner_host(c->hostname, host, sizeof(host)))
		return fail(err, errsize, 0, "hostname: at most %d letters, digits and dots (the "
		            "banner's timestamp must fit %d octets)", CONF_BANNER_HOST_MAX,
		            OTP_APOP_STAMP_MAX);
	return true;
}

bool config_parse(const char *text, size_t len, struct config *c, char *err, size_t errsize)
{
	char line[CONF_LINE_MAX + 1];
	bool seen[NKEYS];
	const struct otp_policy_opt *pseen[POLICY_KEYS_MAX] = { NULL };
	size_t pos = 0;
	unsigned lineno = 0;

	memset(seen, 0, sizeof(seen));
	if (errsize > 0)
		err[0] = '\0';
	if (len > CONF_TEXT_MAX)
		return fail(err, errsize, 0, "file too large");
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - (text + pos)) : len - pos;
		char *w[3], *s;
		unsigned nw;
		size_t k;

		lineno++;
		if (n > CONF_LINE_MAX)
			return fail(err, errsize, lineno, "line too long");
		memcpy(line, text + pos, n);
		line[n] = '\0';
		pos += n + (nl != NULL);
		if (memchr(text + pos - n - (nl != NULL), '\0', n) != NULL)
			return fail(err, errsize, lineno, "NUL byte");
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		for (s = line; is_blank(*s); s++)
			;
		if (*s == '\0' || *s == '#')
			continue;
		for (size_t i = 0; i < n; i++)
			if (((unsigned char)line[i] < 0x20 && line[i] != '\t') ||
			    (unsigned char)line[i] == 0x7f)
				return fail(err, errsize, lineno, "control character");
		nw = split(s, w, 3);
		if (nw > 3)
			return fail(err, errsize, lineno, "too many values");
		for (k = 0; k < NKEYS; k++)
			if (strcmp(w[0], keys[k].name) == 0)
				break;
		if (k == NKEYS) {
			if (!set_policy(c, w, nw, pseen, lineno, err, errsize))
				return false;
			continue;
		}
		if (nw < 2)
			return fail(err, errsize, lineno, "%s needs a value", keys[k].name);
		if (seen[k] && keys[k].kind != K_LISTEN)
			return fail(err, errsize, lineno, "%s given twice", keys[k].name);
		seen[k] = true;
		if (!set_value(&keys[k], c, w + 1, nw - 1, lineno, err, errsize))
			return false;
	}
	return check(c, err, errsize);
}
