/* policy.c - the login settings: one table of names, ranges and defaults for pam_otp and apop-proxy. */
#include <stddef.h>
#include <string.h>

#include "otp.h"

struct entry {
	struct otp_policy_opt opt;
	size_t off;                 /* into struct otp_policy */
};

#define NUM(n, lo, hi, field, alias) \
	{ { n, OTP_OPT_NUM, lo, hi, alias }, offsetof(struct otp_policy, field) }

/* The order is that of pam_otp(8) and apop-proxy.conf(5). */
static const struct entry table[] = {
	{ { "db", OTP_OPT_DB, 0, 0, NULL }, offsetof(struct otp_policy, db) },
	NUM("window", 1, OTP_WINDOW_MAX, window, NULL),
	NUM("totp_window", 0, OTP_TOTP_WINDOW_MAX, totp_window, NULL),
	NUM("hotp_window", 1, OTP_HOTP_WINDOW_MAX, hotp_window, NULL),
	NUM("challenge_ttl", 1, OTP_CHALLENGE_TTL_MAX, challenge_ttl, "lock_timeout"),
	NUM("max_failures", 0, OTP_MAX_FAILURES_MAX, max_failures, NULL),
	NUM("lockout", 1, OTP_LOCKOUT_MAX, lockout, NULL),
	NUM("warn", 0, OTP_SEQ_MAX, warn, NULL),
	{ { "no_ext", OTP_OPT_FLAG, 0, 1, NULL }, offsetof(struct otp_policy, ext) },
};
#define NTABLE (sizeof(table) / sizeof(table[0]))

void otp_policy_init(struct otp_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->db = NULL;
	p->lock_ms = OTP_DB_LOCK_MS;
	p->challenge_ttl = 120;
	p->max_failures = 5;
	p->lockout = 600;
	p->window = 1;
	p->totp_window = 1;
	p->hotp_window = 10;
	p->warn = 10;
	p->ext = true;
	p->fake_unknown = true;
}

static bool is(const char *want, const char *name, size_t len)
{
	return want != NULL && strlen(want) == len && strncmp(want, name, len) == 0;
}

const struct otp_policy_opt *otp_policy_option(const char *name, size_t len)
{
	for (size_t i = 0; i < NTABLE; i++)
		if (is(table[i].opt.name, name, len) || is(table[i].opt.alias, name, len))
			return &table[i].opt;
	return NULL;
}

void otp_policy_each(void (*fn)(const struct otp_policy_opt *o, void *arg), void *arg)
{
	for (size_t i = 0; i < NTABLE; i++)
		fn(&table[i].opt, arg);
}

enum otp_err otp_policy_set(struct otp_policy *p, const struct otp_policy_opt *o,
                            const char *value)
{
	const struct entry *e = (const struct entry *)(const void *)o;
	char *field;
	unsigned long v;

	/* o must be one of ours: opt is the first member of an entry of the table. */
	if (e < table || e >= table + NTABLE)
		return OTP_ERR_INVALID;
	field = (char *)p + e->off;
	switch (o->kind) {
	case OTP_OPT_NUM:
		if (otp_parse_uint(value, o->min, o->max, &v) != OTP_OK)
			return OTP_ERR_INVALID;
		*(unsigned *)(void *)field = (unsigned)v;
		return OTP_OK;
	case OTP_OPT_FLAG:
		/* The flag names the non-default ("no_ext"): set, it clears the field. */
		if (value == NULL || strcmp(value, "yes") == 0)
			*(bool *)(void *)field = false;
		else if (strcmp(value, "no") == 0)
			*(bool *)(void *)field = true;
		else
			return OTP_ERR_INVALID;
		return OTP_OK;
	case OTP_OPT_DB:
		if (otp_db_spec_check(value) != OTP_OK)
			return OTP_ERR_INVALID;
		*(const char **)(void *)field = value;
		return OTP_OK;
	}
	return OTP_ERR_INVALID;
}
