/*
 * fuzz_pam_options.c - pam_otp's option parser (pam_otp_parse_options), fed
 * the input split at newlines into argv.  Every value it accepts is within
 * its documented range, flags match their words, and a refusal is logged.
 */
#include <stdarg.h>

#include "options.h"
#include "fuzz.h"

#define MAX_ARGS 64

struct log_ctx {
	unsigned lines, errors;
};

__attribute__((format(printf, 3, 4)))
static void log_fn(void *ctx, int prio, const char *fmt, ...)
{
	struct log_ctx *l = ctx;
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	l->lines++;
	l->errors += prio <= 3;   /* LOG_ERR */
}

static bool present(int argc, char **argv, const char *word)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], word) == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS];
	int argc = 0;
	size_t i = 0;
	struct options o, o2;
	struct log_ctx l = { 0, 0 }, l2 = { 0, 0 };
	bool ok, ok2;

	/* One heap block per argument, so that a read past one is caught. */
	while (i <= size && argc < MAX_ARGS) {
		size_t j = i;

		while (j < size && data[j] != '\n')
			j++;
		argv[argc++] = fuzz_cstr(data + i, j - i);
		i = j + 1;
	}
	ok = pam_otp_parse_options(argc, (const char **)argv, &o, log_fn, &l);
	if (!ok) {
		FUZZ_ASSERT(l.errors >= 1);
	} else {
		FUZZ_ASSERT(o.policy.window >= 1 && o.policy.window <= 100);
		FUZZ_ASSERT(o.policy.challenge_ttl >= 1 && o.policy.challenge_ttl <= 3600);
		FUZZ_ASSERT(o.policy.max_failures <= 1000);
		FUZZ_ASSERT(o.policy.lockout >= 1 && o.policy.lockout <= 31 * 86400);
		FUZZ_ASSERT(o.policy.warn <= OTP_SEQ_MAX);
		FUZZ_ASSERT(o.policy.totp_window <= OTP_TOTP_WINDOW_MAX);
		FUZZ_ASSERT(o.policy.hotp_window >= 1 && o.policy.hotp_window <= OTP_HOTP_WINDOW_MAX);
		FUZZ_ASSERT(o.debug == present(argc, argv, "debug"));
		FUZZ_ASSERT(o.nullok == present(argc, argv, "nullok"));
		FUZZ_ASSERT(o.echo == present(argc, argv, "echo"));
		FUZZ_ASSERT(o.use_first_pass == present(argc, argv, "use_first_pass"));
		FUZZ_ASSERT(o.try_first_pass == present(argc, argv, "try_first_pass"));
		FUZZ_ASSERT(o.policy.ext == !present(argc, argv, "no_ext"));
		FUZZ_ASSERT(o.policy.fake_unknown == !o.nullok);
		if (o.policy.db != NULL) {
			bool inside = false;

			FUZZ_ASSERT(otp_db_spec_check(o.policy.db) == OTP_OK);
			/* It points into the last db= argument, not a copy. */
			for (int k = 0; k < argc; k++)
				inside |= o.policy.db == argv[k] + 3 && strncmp(argv[k], "db=", 3) == 0;
			FUZZ_ASSERT(inside);
		}
		/* Parsing is a pure function of argv. */
		ok2 = pam_otp_parse_options(argc, (const char **)argv, &o2, log_fn, &l2);
		FUZZ_ASSERT(ok2 && memcmp(&o, &o2, sizeof(o)) == 0 && l.lines == l2.lines);
	}
	for (int k = 0; k < argc; k++)
		free(argv[k]);
	return 0;
}
