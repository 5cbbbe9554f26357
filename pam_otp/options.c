/* options.c - pam_otp's module options: one pass over argv into a struct, values range-checked. */
#include <stddef.h>
#include <string.h>
#include <syslog.h>

#include "options.h"

/* The module's own switches; the login settings come from libotp's table. */
static bool own_flag(struct options *o, const char *a)
{
	static const struct {
		const char *name;
		size_t off;
	} flags[] = {
		{ "debug", offsetof(struct options, debug) },
		{ "nullok", offsetof(struct options, nullok) },
		{ "echo", offsetof(struct options, echo) },
		{ "use_first_pass", offsetof(struct options, use_first_pass) },
		{ "try_first_pass", offsetof(struct options, try_first_pass) },
	};

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (strcmp(a, flags[i].name) == 0) {
			*(bool *)(void *)((char *)o + flags[i].off) = true;
			return true;
		}
	return false;
}

bool pam_otp_parse_options(int argc, const char **argv, struct options *o,
                           pam_otp_log_fn log, void *ctx)
{
	memset(o, 0, sizeof(*o));
	otp_policy_init(&o->policy);
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *eq = strchr(a, '=');
		size_t nlen = eq != NULL ? (size_t)(eq - a) : strlen(a);
		const struct otp_policy_opt *opt;

		if (own_flag(o, a))
			continue;
		opt = otp_policy_option(a, nlen);
		/* A flag takes no value here, every other setting one. */
		if (opt == NULL || (opt->kind == OTP_OPT_FLAG) != (eq == NULL)) {
			log(ctx, LOG_ERR, "unknown option: %.*s", (int)nlen, a);
			continue;
		}
		if (otp_policy_set(&o->policy, opt, eq != NULL ? eq + 1 : NULL) == OTP_OK)
			continue;
		if (opt->kind == OTP_OPT_NUM)
			log(ctx, LOG_ERR, "option %s: value must be %lu to %lu", opt->name, opt->min,
			    opt->max);
		else
			log(ctx, LOG_ERR, "option %s= needs an absolute path or a postgresql:// URI",
			    opt->name);
		return false;
	}
	o->policy.fake_unknown = !o->nullok;
	return true;
}
