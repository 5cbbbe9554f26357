/* options.c - pam_otp's module options: one pass over argv into a struct, values range-checked. */
#include <stddef.h>
#include <string.h>
#include <syslog.h>

#include "options.h"

/* A numeric option: NAME=N within [min, max]. */
struct num_opt {
	const char *name;
	unsigned long min, max;
	size_t offset;          /* into struct options */
};

#define NUM(name, min, max, field) { name, min, max, offsetof(struct options, field) }
static const struct num_opt num_opts[] = {
	NUM("warn", 0, OTP_SEQ_MAX, warn),
	NUM("window", 1, OTP_WINDOW_MAX, policy.window),
	NUM("totp_window", 0, OTP_TOTP_WINDOW_MAX, policy.totp_window),
	NUM("hotp_window", 1, OTP_HOTP_WINDOW_MAX, policy.hotp_window),
	NUM("lock_timeout", 1, OTP_CHALLENGE_TTL_MAX, policy.challenge_ttl),
	NUM("max_failures", 0, OTP_MAX_FAILURES_MAX, policy.max_failures),
	NUM("lockout", 1, OTP_LOCKOUT_MAX, policy.lockout),
};

bool pam_otp_parse_options(int argc, const char **argv, struct options *o,
                           pam_otp_log_fn log, void *ctx)
{
	memset(o, 0, sizeof(*o));
	otp_policy_init(&o->policy);
	o->warn = 10;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *eq = strchr(a, '=');
		size_t nlen = eq != NULL ? (size_t)(eq - a) : strlen(a);
		bool known = false;

		if (strcmp(a, "debug") == 0)
			o->debug = known = true;
		else if (strcmp(a, "nullok") == 0)
			o->nullok = known = true;
		else if (strcmp(a, "echo") == 0)
			o->echo = known = true;
		else if (strcmp(a, "use_first_pass") == 0)
			o->use_first_pass = known = true;
		else if (strcmp(a, "try_first_pass") == 0)
			o->try_first_pass = known = true;
		else if (strcmp(a, "no_ext") == 0) {
			o->policy.ext = false;
			known = true;
		} else if (strncmp(a, "db=", 3) == 0) {
			if (a[3] != '/') {
				log(ctx, LOG_ERR, "option db= needs an absolute path");
				return false;
			}
			o->policy.db = a + 3;
			known = true;
		}
		for (size_t j = 0; !known && eq != NULL && j < sizeof(num_opts) / sizeof(num_opts[0]); j++) {
			const struct num_opt *n = &num_opts[j];
			unsigned long v;

			if (strlen(n->name) != nlen || strncmp(a, n->name, nlen) != 0)
				continue;
			if (otp_parse_uint(eq + 1, n->min, n->max, &v) != OTP_OK) {
				log(ctx, LOG_ERR, "option %s: value must be %lu to %lu",
				    n->name, n->min, n->max);
				return false;
			}
			*(unsigned *)(void *)((char *)o + n->offset) = (unsigned)v;
			known = true;
		}
		if (!known)
			log(ctx, LOG_ERR, "unknown option: %.*s", (int)nlen, a);
	}
	o->policy.fake_unknown = !o->nullok;
	return true;
}
