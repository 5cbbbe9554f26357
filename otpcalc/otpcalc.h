/* otpcalc.h - what the calculator's files share: its options, its secrets, its messages. */
#ifndef OTPCALC_H
#define OTPCALC_H

#include <libintl.h>
#include <stdbool.h>
#include <stddef.h>

#include "otp.h"

#define OTP_TEXTDOMAIN  "otp"
#define _(s)            gettext(s)

#define EXIT_USAGE      2
/* A pass phrase line: up to OTP_PASS_MAX bytes, a CR, and one byte more to tell "too long". */
#define PASS_BUFSZ      (OTP_PASS_MAX + 3)

/* Everything secret lives here, so that one wipe at the end covers it. */
struct secrets {
	char pass[PASS_BUFSZ];
	char newpass[PASS_BUFSZ];
	char again[PASS_BUFSZ];
	size_t pass_len, newpass_len, again_len;
	otp_key cur, next;
	char enc[OTP_WORDS_BUFSZ];
	char line[OTP_RESPONSE_MAX];
};

struct opts {
	const char *alg;
	bool hex;
	const char *count;
	const char *init;
	const char *pass_file;
	const char *new_seed;
	const char *new_seq;
	const char *new_alg;
	enum otp_tok_type token;        /* --totp / --hotp */
	bool totp_given, hotp_given;
	const char *counter, *hmac, *digits, *step, *time;
};

/* passphrase.c: reads the current pass phrase and, for -t (want_new), the new one; 0, or 1 after saying why. */
int read_passphrases(const struct opts *o, bool want_new, struct secrets *s);

/* passphrase.c: checks a pass phrase; 0 (setting *warn_long), or 1 after saying why, prefixed by what (or not). */
int check_passphrase(const char *what, const char *pass, size_t len, bool *warn_long);

/* passphrase.c: locks n bytes at p in memory, or says once that it could not. */
void lock_secret(void *p, size_t n);

/* token.c: --totp / --hotp, one code from a base32 secret; the exit status. */
int run_token(const struct opts *o, int argc, struct secrets *s);

#endif /* OTPCALC_H */
