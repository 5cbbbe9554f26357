/* otpcalc.c - the calculator: RFC 2289 one-time passwords and RFC 2243 re-initialisation responses. */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "otp.h"

#ifndef OTP_VERSION
#define OTP_VERSION "0.1"
#endif

#define EXIT_USAGE      2
/* A pass phrase line: up to OTP_PASS_MAX bytes, a CR, and one byte more to tell "too long". */
#define PASS_BUFSZ      (OTP_PASS_MAX + 3)
/* RFC 2243 s4.2: the next challenge is new-seq - 1, and s4.3 needs that to be at least 1. */
#define NEW_SEQ_MIN     2
#define NEW_SEQ_DEFAULT 499     /* the RFC 2243 appendix's, and OPIE's, initial count */


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
	const char *counter, *hmac, *digits, *step, *time;
};

static void usage(FILE *f)
{
	fputs("usage: otpcalc [-x] [-a md4|md5|sha1] [-n COUNT] [--passphrase-file FILE] SEQ SEED\n"
	      "       otpcalc [options] 'otp-ALG SEQ SEED [ext]'\n"
	      "       otpcalc -t init-hex|init-word [--new-seed SEED] [--new-seq N]\n"
	      "               [--new-alg ALG] [options] SEQ SEED | CHALLENGE\n"
	      "       otpcalc --totp [--hmac ALG] [--digits N] [--step S] [--time T]\n"
	      "               [--passphrase-file FILE]\n"
	      "       otpcalc --hotp --counter N [--hmac ALG] [--digits N] [--passphrase-file FILE]\n", f);
}

static void help(void)
{
	usage(stdout);
	fputs("\n"
	      "Computes one-time passwords (RFC 2289) from a pass phrase read from the\n"
	      "terminal with echo off, or else from the first line of standard input.\n"
	      "\n"
	      "  -a ALG                 hash algorithm: md4, md5 (default) or sha1;\n"
	      "                         a challenge's own algorithm wins\n"
	      "  -x                     print hexadecimal instead of six words\n"
	      "  -n COUNT               print COUNT responses \"SEQ: RESPONSE\", SEQ-COUNT+1..SEQ\n"
	      "  -t init-hex|init-word  print an RFC 2243 re-initialisation response;\n"
	      "                         asks for the new pass phrase too\n"
	      "  --new-seed SEED        -t: new seed (default: the current one, its number + 1)\n"
	      "  --new-seq N            -t: new sequence number, 2 to 9999 (default 499)\n"
	      "  --new-alg ALG          -t: new algorithm (default: the current one)\n"
	      "  --totp                 RFC 6238 TOTP code from a base32 secret (read like a\n"
	      "                         pass phrase; blanks in it are ignored)\n"
	      "  --hotp                 RFC 4226 HOTP code; needs --counter N\n"
	      "  --hmac ALG             sha1 (default), sha256 or sha512\n"
	      "  --digits N             6 (default), 7 or 8\n"
	      "  --step S               TOTP time step, 30 (default) or 60 seconds\n"
	      "  --time T               TOTP: Unix time T instead of now\n"
	      "  --passphrase-file FILE read the pass phrase from FILE's first line\n"
	      "                         (-t: the new one from its second line)\n"
	      "  -h, --help             print this help and exit\n"
	      "  --version              print the version and exit\n", stdout);
}

/* Prints the one line that says why a pass phrase could not be read. */
static void line_error(enum otp_line rc, const char *what, const char *from)
{
	switch (rc) {
	case OTP_LINE_EOF:
		warnx("no %s on %s", what, from);
		break;
	case OTP_LINE_LONG:
		warnx("%s from %s: %s", what, from, otp_strerror(OTP_ERR_PASS_LONG));
		break;
	case OTP_LINE_BAD:
		warnx("%s from %s contains a NUL byte", what, from);
		break;
	case OTP_LINE_ERR:
		warn("cannot read %s from %s", what, from);
		break;
	case OTP_LINE_OK:
		break;
	}
}

/*
 * Reads the current pass phrase and, for -t (want_new), the new one into s.
 * Returns 0, or 1 after printing why not.
 */
static int read_passphrases(const struct opts *o, bool want_new, struct secrets *s)
{
	enum otp_line rc = OTP_LINE_OK;
	const char *from;
	int fd = -1, ret = 1;

	if (o->pass_file != NULL) {
		from = o->pass_file;
		fd = open(o->pass_file, O_RDONLY | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			warn("%s", o->pass_file);
			goto out;
		}
	} else if (isatty(STDIN_FILENO)) {
		from = "the terminal";
		rc = otp_read_tty("Secret pass phrase: ", false, s->pass, sizeof(s->pass), &s->pass_len);
		if (rc != OTP_LINE_OK) {
			line_error(rc, "pass phrase", from);
			goto out;
		}
		if (want_new) {
			rc = otp_read_tty("New secret pass phrase: ", false, s->newpass, sizeof(s->newpass),
			              &s->newpass_len);
			if (rc == OTP_LINE_OK)
				rc = otp_read_tty("New secret pass phrase again: ", false, s->again,
				              sizeof(s->again), &s->again_len);
			if (rc != OTP_LINE_OK) {
				line_error(rc, "new pass phrase", from);
				goto out;
			}
			if (!otp_secret_equal(s->newpass, s->newpass_len, s->again, s->again_len)) {
				warnx("the new pass phrases do not match");
				goto out;
			}
		}
		ret = 0;
		goto out;
	} else {
		from = "standard input";
		fd = STDIN_FILENO;
	}

	rc = otp_read_line(fd, s->pass, sizeof(s->pass), &s->pass_len);
	if (rc != OTP_LINE_OK) {
		line_error(rc, "pass phrase", from);
		goto out;
	}
	if (want_new) {
		rc = otp_read_line(fd, s->newpass, sizeof(s->newpass), &s->newpass_len);
		if (rc != OTP_LINE_OK) {
			line_error(rc, "new pass phrase (second line)", from);
			goto out;
		}
	}
	ret = 0;
out:
	if (fd > STDIN_FILENO)
		(void)close(fd);
	return ret;
}

/*
 * Checks a pass phrase; returns 0 (setting *warn_long), or 1 after printing
 * why not, prefixed by what (NULL for none).
 */
static int check_passphrase(const char *what, const char *pass, size_t len, bool *warn_long)
{
	enum otp_err e = otp_passphrase_check(pass, len, warn_long);

	if (e == OTP_OK)
		return 0;
	if (what != NULL)
		warnx("%s: %s", what, otp_strerror(e));
	else
		warnx("%s", otp_strerror(e));
	return 1;
}

/* Checks seed and stores it lower-cased (seeds are case-insensitive, RFC 2289 s6). */
static int take_seed(const char *what, const char *seed, char out[OTP_SEED_MAX + 1])
{
	enum otp_err e = otp_seed_check(seed);

	if (e != OTP_OK) {
		warnx("%s \"%s\": %s", what, seed, otp_strerror(e));
		return 1;
	}
	/* otp_seed_check has bounded it to OTP_SEED_MAX characters. */
	for (size_t i = 0, len = strlen(seed); i <= len; i++)
		out[i] = (char)(seed[i] >= 'A' && seed[i] <= 'Z' ? seed[i] - 'A' + 'a' : seed[i]);
	return 0;
}

/*
 * The default new seed, OPIE style: the trailing number plus one (ke1234 ->
 * ke1235, ab99 -> ab100), or "1" appended when there is none.  Fails when
 * the result would be longer than OTP_SEED_MAX.
 */
static int next_seed(const char *seed, char out[OTP_SEED_MAX + 1])
{
	char buf[OTP_SEED_MAX + 2];
	size_t len = strlen(seed), d = len, i = len;
	bool done = false;

	if (len > OTP_SEED_MAX)
		return 1;
	memcpy(buf, seed, len + 1);
	while (d > 0 && buf[d - 1] >= '0' && buf[d - 1] <= '9')
		d--;
	while (!done && i > d) {
		i--;
		if (buf[i] == '9') {
			buf[i] = '0';
		} else {
			buf[i]++;
			done = true;
		}
	}
	if (!done) {
		/* All nines, or no digits at all: the number gains a leading 1. */
		if (len + 1 > OTP_SEED_MAX)
			return 1;
		memmove(buf + d + 1, buf + d, len - d + 1);
		buf[d] = '1';
	}
	memcpy(out, buf, strlen(buf) + 1);
	return 0;
}

static int parse_alg(const char *what, const char *name, enum otp_alg *alg)
{
	if (otp_alg_parse(name, alg) != OTP_OK) {
		warnx("%s \"%s\": %s", what, name, otp_strerror(OTP_ERR_ALG));
		return 1;
	}
	return 0;
}

/* RFC 2289 App. C's warning, for what (a pass phrase) above 63 characters. */
static void warn_long_pass(const char *what)
{
	warnx("warning: %s longer than the recommended maximum length of %d", what, OTP_PASS_WARN);
}

/* Prints the responses for seq-count+1 .. seq; returns 0, or 1 after printing why not. */
static int print_range(enum otp_alg alg, unsigned seq, unsigned count, bool numbered, bool hex,
                       const char *seed, struct secrets *s, bool warn_seq, bool warn_long)
{
	otp_key *keys;
	enum otp_err e;
	int ret = 1;

	keys = calloc(count, sizeof(*keys));
	if (keys == NULL) {
		warnx("%s", otp_strerror(OTP_ERR_NOMEM));
		goto out;
	}
	(void)mlock(keys, count * sizeof(*keys));
	e = otp_compute_range(alg, seq, count, seed, s->pass, s->pass_len, keys);
	if (e != OTP_OK) {
		warnx("%s", otp_strerror(e));
		goto out;
	}
	if (warn_long)
		warn_long_pass("pass phrase");
	if (warn_seq)
		warnx("warning: sequence number %u is below %d; re-initialise soon (otpcalc -t)",
		      seq, OTP_SEQ_WARN);
	for (unsigned i = 0; i < count; i++) {
		if (hex)
			otp_key_to_hex(&keys[i], s->enc);
		else
			otp_key_to_words(&keys[i], s->enc);
		if (numbered)
			printf("%u: %s\n", seq - count + 1 + i, s->enc);
		else
			printf("%s\n", s->enc);
	}
	ret = 0;
out:
	if (keys != NULL) {
		otp_wipe(keys, count * sizeof(*keys));
		(void)munlock(keys, count * sizeof(*keys));
		free(keys);
	}
	return ret;
}

/* --totp / --hotp: one code from a base32 secret.  Returns the exit status. */
static int run_token(const struct opts *o, int argc, struct secrets *s)
{
	struct otp_token t;
	unsigned long n;
	char code[OTP_TOK_DIGITS_MAX + 1];
	size_t j = 0;
	int64_t now;
	enum otp_err e;
	int ret = 1;

	memset(&t, 0, sizeof(t));
	(void)mlock(&t, sizeof(t));
	t.type = o->token;
	t.hmac = OTP_HMAC_SHA1;
	t.digits = 6;
	t.step = o->token == OTP_TOK_TOTP ? OTP_TOK_STEP_DEF : 0;
	now = (int64_t)time(NULL);
	if (argc != 0) {
		warnx("--totp and --hotp take no SEQ, SEED or challenge");
		ret = EXIT_USAGE;
		goto out;
	}
	if ((o->token == OTP_TOK_HOTP) != (o->counter != NULL) ||
	    (o->token == OTP_TOK_HOTP && (o->step != NULL || o->time != NULL))) {
		warnx("--counter goes with --hotp (and is needed there); --step and --time with --totp");
		ret = EXIT_USAGE;
		goto out;
	}
	if (o->hmac != NULL && otp_hmac_parse(o->hmac, &t.hmac) != OTP_OK) {
		warnx("HMAC algorithm \"%s\": want sha1, sha256 or sha512", o->hmac);
		goto out;
	}
	if (o->digits != NULL) {
		if (otp_parse_uint(o->digits, OTP_TOK_DIGITS_MIN, OTP_TOK_DIGITS_MAX, &n) != OTP_OK) {
			warnx("digits \"%s\": want %d to %d", o->digits, OTP_TOK_DIGITS_MIN,
			      OTP_TOK_DIGITS_MAX);
			goto out;
		}
		t.digits = (unsigned)n;
	}
	if (o->step != NULL) {
		if (otp_parse_uint(o->step, 30, 60, &n) != OTP_OK || (n != 30 && n != 60)) {
			warnx("step \"%s\": want 30 or 60 seconds", o->step);
			goto out;
		}
		t.step = (unsigned)n;
	}
	if (o->time != NULL) {
		if (otp_parse_uint(o->time, 0, (unsigned long)INT64_MAX, &n) != OTP_OK) {
			warnx("time \"%s\": want seconds since 1970", o->time);
			goto out;
		}
		now = (int64_t)n;
	}
	if (o->counter != NULL) {
		unsigned long long c;
		char *end;

		errno = 0;
		c = strtoull(o->counter, &end, 10);
		if (o->counter[0] < '0' || o->counter[0] > '9' || *end != '\0' || errno != 0) {
			warnx("counter \"%s\": want a number from 0 to %llu", o->counter,
			      (unsigned long long)UINT64_MAX);
			goto out;
		}
		t.counter = c;
	}
	if (read_passphrases(o, false, s) != 0)
		goto out;
	/* Authenticator apps show secrets in groups: blanks and hyphens do not count. */
	for (size_t i = 0; i < s->pass_len; i++)
		if (s->pass[i] != ' ' && s->pass[i] != '\t' && s->pass[i] != '-')
			s->line[j++] = s->pass[i];
	s->line[j] = '\0';
	e = otp_base32_decode(s->line, t.secret, sizeof(t.secret), &t.secret_len);
	if (e == OTP_OK && t.secret_len == 0)
		e = OTP_ERR_BASE32;
	if (e != OTP_OK) {
		warnx("secret: %s", otp_strerror(e));
		goto out;
	}
	e = otp_hotp(t.hmac, t.secret, t.secret_len,
	             o->token == OTP_TOK_TOTP ? otp_totp_step(now, t.step) : t.counter,
	             t.digits, code);
	if (e != OTP_OK) {
		warnx("%s", otp_strerror(e));
		goto out;
	}
	if (t.secret_len < OTP_TOK_SECRET_MIN)
		warnx("warning: a secret of %zu bytes is short (RFC 4226 s4 R6: at least 16)",
		      t.secret_len);
	printf("%s\n", code);
	ret = 0;
out:
	otp_wipe(code, sizeof(code));
	otp_wipe(&t, sizeof(t));
	(void)munlock(&t, sizeof(t));
	return ret;
}

/*
 * The whole program but the final flush.  Returns the exit status; every
 * pass phrase and key it read or made is wiped before it returns.
 */
static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "new-seed",        required_argument, NULL, 'S' },
		{ "new-seq",         required_argument, NULL, 'N' },
		{ "new-alg",         required_argument, NULL, 'A' },
		{ "totp",            no_argument,       NULL, 'T' },
		{ "hotp",            no_argument,       NULL, 'H' },
		{ "counter",         required_argument, NULL, 'C' },
		{ "hmac",            required_argument, NULL, 'M' },
		{ "digits",          required_argument, NULL, 'D' },
		{ "step",            required_argument, NULL, 'P' },
		{ "time",            required_argument, NULL, 'I' },
		{ "help",            no_argument,       NULL, 'h' },
		{ "version",         no_argument,       NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o = { .alg = "md5" };
	struct secrets s;
	struct otp_challenge chal, newc;
	enum otp_resp_type init = OTP_RESP_STANDARD;
	enum otp_err e;
	unsigned long n, count = 1;
	bool warn_long = false, warn_newlong = false, totp_given = false, hotp_given = false;
	int ch, ret = 1;

	memset(&s, 0, sizeof(s));
	(void)mlock(&s, sizeof(s));
	memset(&chal, 0, sizeof(chal));
	memset(&newc, 0, sizeof(newc));
	/* getopt's own messages would name argv[0] whole; ours say "otpcalc:". */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":a:xn:t:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': o.alg = optarg; break;
		case 'x': o.hex = true; break;
		case 'n': o.count = optarg; break;
		case 't': o.init = optarg; break;
		case 'p': o.pass_file = optarg; break;
		case 'S': o.new_seed = optarg; break;
		case 'N': o.new_seq = optarg; break;
		case 'A': o.new_alg = optarg; break;
		case 'T': o.token = OTP_TOK_TOTP; totp_given = true; break;
		case 'H': o.token = OTP_TOK_HOTP; hotp_given = true; break;
		case 'C': o.counter = optarg; break;
		case 'M': o.hmac = optarg; break;
		case 'D': o.digits = optarg; break;
		case 'P': o.step = optarg; break;
		case 'I': o.time = optarg; break;
		case 'h':
			help();
			ret = 0;
			goto out;
		case 'V':
			printf("otpcalc %s\n", OTP_VERSION);
			ret = 0;
			goto out;
		case ':':
			warnx("option %s needs an argument", argv[optind - 1]);
			goto usage;
		default:
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				warnx("bad option %s", argv[optind - 1]);
			else
				warnx("unknown option -%c", optopt);
			goto usage;
		}
	}
	argc -= optind;
	argv += optind;
	if (totp_given && hotp_given) {
		warnx("--totp and --hotp exclude each other");
		goto usage;
	}
	if (o.token != OTP_TOK_NONE) {
		if (o.init != NULL || o.count != NULL || o.hex || o.new_seed != NULL ||
		    o.new_seq != NULL || o.new_alg != NULL) {
			warnx("--totp and --hotp cannot be combined with RFC 2289 options");
			goto usage;
		}
		ret = run_token(&o, argc, &s);
		if (ret == EXIT_USAGE)
			goto usage;
		goto out;
	}
	if (o.counter != NULL || o.hmac != NULL || o.digits != NULL || o.step != NULL ||
	    o.time != NULL) {
		warnx("--counter, --hmac, --digits, --step and --time need --totp or --hotp");
		goto usage;
	}
	if (argc < 1 || argc > 2) {
		warnx("expected SEQ SEED or one quoted challenge");
		goto usage;
	}
	if (o.init == NULL && (o.new_seed != NULL || o.new_seq != NULL || o.new_alg != NULL)) {
		warnx("--new-seed, --new-seq and --new-alg need -t");
		goto usage;
	}
	if (o.init != NULL && (o.count != NULL || o.hex)) {
		warnx("-t cannot be combined with -n or -x");
		goto usage;
	}

	/* Everything the command line says is checked before any pass phrase is read. */
	if (parse_alg("algorithm", o.alg, &chal.alg) != 0)
		goto out;
	if (argc == 1) {
		/* A pasted challenge: its algorithm wins over -a. */
		e = otp_challenge_parse(argv[0], &chal);
		if (e != OTP_OK) {
			warnx("challenge \"%s\": %s", argv[0], otp_strerror(e));
			goto out;
		}
	} else {
		if (otp_parse_uint(argv[0], 0, OTP_SEQ_MAX, &n) != OTP_OK) {
			warnx("sequence number \"%s\": %s", argv[0], otp_strerror(OTP_ERR_SEQ));
			goto out;
		}
		chal.seq = (unsigned)n;
		if (take_seed("seed", argv[1], chal.seed) != 0)
			goto out;
	}
	if (o.count != NULL &&
	    otp_parse_uint(o.count, 1, (unsigned long)chal.seq + 1, &count) != OTP_OK) {
		warnx("count \"%s\" out of range (1 to %u for sequence number %u)",
		      o.count, chal.seq + 1, chal.seq);
		goto out;
	}
	if (o.init != NULL) {
		if (strcmp(o.init, "init-hex") == 0) {
			init = OTP_RESP_INIT_HEX;
		} else if (strcmp(o.init, "init-word") == 0) {
			init = OTP_RESP_INIT_WORD;
		} else {
			warnx("response type \"%s\": expected init-hex or init-word", o.init);
			goto out;
		}
		newc.alg = chal.alg;
		if (o.new_alg != NULL && parse_alg("new algorithm", o.new_alg, &newc.alg) != 0)
			goto out;
		newc.seq = NEW_SEQ_DEFAULT;
		if (o.new_seq != NULL) {
			if (otp_parse_uint(o.new_seq, NEW_SEQ_MIN, OTP_SEQ_MAX, &n) != OTP_OK) {
				warnx("new sequence number \"%s\" out of range (%d to %d)",
				      o.new_seq, NEW_SEQ_MIN, OTP_SEQ_MAX);
				goto out;
			}
			newc.seq = (unsigned)n;
		}
		if (o.new_seed != NULL) {
			if (take_seed("new seed", o.new_seed, newc.seed) != 0)
				goto out;
		} else if (next_seed(chal.seed, newc.seed) != 0) {
			warnx("cannot derive a new seed from \"%s\"; give one with --new-seed",
			      chal.seed);
			goto out;
		}
	}

	if (read_passphrases(&o, init != OTP_RESP_STANDARD, &s) != 0)
		goto out;
	if (check_passphrase(NULL, s.pass, s.pass_len, &warn_long) != 0)
		goto out;

	if (init == OTP_RESP_STANDARD) {
		ret = print_range(chal.alg, chal.seq, (unsigned)count, o.count != NULL, o.hex,
		                  chal.seed, &s, chal.seq < OTP_SEQ_WARN, warn_long);
		goto out;
	}

	if (check_passphrase("new pass phrase", s.newpass, s.newpass_len, &warn_newlong) != 0)
		goto out;
	if (strcmp(newc.seed, chal.seed) == 0 &&
	    otp_secret_equal(s.pass, s.pass_len, s.newpass, s.newpass_len)) {
		warnx("re-initialisation must change the seed or the pass phrase (RFC 2289 s8)");
		goto out;
	}
	if (otp_passphrase_is_seed(s.newpass, s.newpass_len, newc.seed)) {
		warnx("new pass phrase: %s", otp_strerror(OTP_ERR_PASS_SEED));
		goto out;
	}
	e = otp_compute(chal.alg, chal.seq, chal.seed, s.pass, s.pass_len, &s.cur);
	if (e == OTP_OK)
		e = otp_compute(newc.alg, newc.seq, newc.seed, s.newpass, s.newpass_len, &s.next);
	if (e == OTP_OK)
		e = otp_response_format_init(init, &s.cur, &newc, &s.next, s.line, sizeof(s.line));
	if (e != OTP_OK) {
		warnx("%s", otp_strerror(e));
		goto out;
	}
	if (warn_long)
		warn_long_pass("pass phrase");
	if (warn_newlong)
		warn_long_pass("new pass phrase");
	if (chal.seq < OTP_SEQ_WARN)
		warnx("warning: sequence number %u is below %d", chal.seq, OTP_SEQ_WARN);
	printf("%s\n", s.line);
	ret = 0;
	goto out;
usage:
	usage(stderr);
	ret = EXIT_USAGE;
out:
	otp_wipe(&s, sizeof(s));
	(void)munlock(&s, sizeof(s));
	return ret;
}

int main(int argc, char **argv)
{
	static const struct rlimit nocore = { 0, 0 };
	int ret;

	/* A core dump would hold the pass phrase. */
	(void)setrlimit(RLIMIT_CORE, &nocore);
	ret = run(argc, argv);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		warnx("error writing to standard output");
		ret = 1;
	}
	return ret;
}
