/* options.h - pam_otp's module options, parsed without a PAM handle (for the fuzzer too). */
#ifndef PAM_OTP_OPTIONS_H
#define PAM_OTP_OPTIONS_H

#include <stdbool.h>

#include "otp.h"

struct options {
	struct otp_policy policy;   /* the settings shared with apop-proxy (libotp's table) */
	bool debug;
	bool nullok;
	bool echo;
	bool use_first_pass;
	bool try_first_pass;
};

/* Where complaints go: pam_syslog in the module, anything in a test. */
typedef void (*pam_otp_log_fn)(void *ctx, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Parses argv once into *o (policy.db points into argv).  Unknown options
 * are logged and ignored.  Returns true, or false after logging why on a
 * bad value.
 */
bool pam_otp_parse_options(int argc, const char **argv, struct options *o,
                           pam_otp_log_fn log, void *ctx);

#endif /* PAM_OTP_OPTIONS_H */
