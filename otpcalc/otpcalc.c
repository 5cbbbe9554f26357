/* otpcalc.c - the calculator: RFC 2289 one-time passwords and RFC 2243 re-initialisation responses. */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "otpcalc.h"
#include "otp_paths.h"

#ifndef OTP_VERSION
#define OTP_VERSION "0.1"
#endif

/* RFC 2243 s4.2: the next challenge is new-seq - 1, and s4.3 needs that to be at least 1. */
#define NEW_SEQ_MIN     2
#define NEW_SEQ_DEFAULT 499     /* the RFC 2243 appendix's, and OPIE's, initial count */

/* What the command line asks for, checked, before any pass phrase is read. */
struct job {
	struct otp_challenge chal, newc;
	enum otp_resp_type init;
	unsigned long count;
};

static void usage(FILE *f)
{
	fputs(_("usage: otpcalc [-x] [-a md4|md5|sha1] [-n COUNT] [--passphrase-file FILE] SEQ SEED\n"
	        "       otpcalc [options] 'otp-ALG SEQ SEED [ext]'\n"
	        "       otpcalc -t init-hex|init-word [--new-seed SEED] [--new-seq N]\n"
	        "               [--new-alg ALG] [options] SEQ SEED | CHALLENGE\n"
	        "       otpcalc --totp [--hmac ALG] [--digits N] [--step S] [--time T]\n"
	        "               [--passphrase-file FILE]\n"
	        "       otpcalc --hotp --counter N [--hmac ALG] [--digits N] [--passphrase-file FILE]\n"), f);
}

static void help(void)
{
	usage(stdout);
	fputs(_("\n"
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
	        "  --new-alg ALG          -t: new algorithm (default: the current one)\n"), stdout);
	fputs(_("  --totp                 RFC 6238 TOTP code from a base32 secret (read like a\n"
	        "                         pass phrase; blanks in it are ignored)\n"
	        "  --hotp                 RFC 4226 HOTP code; needs --counter N\n"
	        "  --hmac ALG             sha1 (default), sha256 or sha512\n"
	        "  --digits N             6 (default), 7 or 8\n"
	        "  --step S               TOTP time step, 30 (default) or 60 seconds\n"
	        "  --time T               TOTP: Unix time T instead of now\n"
	        "  --passphrase-file FILE read the pass phrase from FILE's first line\n"
	        "                         (-t: the new one from its second line)\n"
	        "  -h, --help             print this help and exit\n"
	        "  --version              print the version and exit\n"), stdout);
}

/* Checks seed and stores it lower-cased (seeds are case-insensitive, RFC 2289 s6). */
static int take_seed(const char *what, const char *seed, char out[OTP_SEED_MAX + 1])
{
	enum otp_err e = otp_seed_check(seed);

	if (e != OTP_OK) {
		warnx("%s \"%s\": %s", what, seed, _(otp_strerror(e)));
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
		warnx("%s \"%s\": %s", what, name, _(otp_strerror(OTP_ERR_ALG)));
		return 1;
	}
	return 0;
}

/* RFC 2289 App. C's warning, for what (a pass phrase) above 63 characters. */
static void warn_long_pass(const char *what)
{
	warnx(_("warning: %s longer than the recommended maximum length of %d"), what, OTP_PASS_WARN);
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
		warnx("%s", _(otp_strerror(OTP_ERR_NOMEM)));
		goto out;
	}
	lock_secret(keys, count * sizeof(*keys));
	e = otp_compute_range(alg, seq, count, seed, s->pass, s->pass_len, keys);
	if (e != OTP_OK) {
		warnx("%s", _(otp_strerror(e)));
		goto out;
	}
	if (warn_long)
		warn_long_pass(_("pass phrase"));
	if (warn_seq)
		warnx(_("warning: sequence number %u is below %d; re-initialise soon (otpcalc -t)"),
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

/* The options into *o; returns -1 to go on, or the exit status (help, version, usage error). */
static int parse_options(int argc, char **argv, struct opts *o)
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
	int ch;

	/* getopt's own messages would name argv[0] whole; ours say "otpcalc:". */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":a:xn:t:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': o->alg = optarg; break;
		case 'x': o->hex = true; break;
		case 'n': o->count = optarg; break;
		case 't': o->init = optarg; break;
		case 'p': o->pass_file = optarg; break;
		case 'S': o->new_seed = optarg; break;
		case 'N': o->new_seq = optarg; break;
		case 'A': o->new_alg = optarg; break;
		case 'T': o->token = OTP_TOK_TOTP; o->totp_given = true; break;
		case 'H': o->token = OTP_TOK_HOTP; o->hotp_given = true; break;
		case 'C': o->counter = optarg; break;
		case 'M': o->hmac = optarg; break;
		case 'D': o->digits = optarg; break;
		case 'P': o->step = optarg; break;
		case 'I': o->time = optarg; break;
		case 'h':
			help();
			return 0;
		case 'V':
			printf("otpcalc %s\n", OTP_VERSION);
			return 0;
		case ':':
			warnx(_("option %s needs an argument"), argv[optind - 1]);
			return EXIT_USAGE;
		default:
			if (strncmp(argv[optind - 1], "--", 2) == 0)
				warnx(_("bad option %s"), argv[optind - 1]);
			else
				warnx(_("unknown option -%c"), optopt);
			return EXIT_USAGE;
		}
	}
	return -1;
}

/* Options that exclude each other; 0, or EXIT_USAGE after saying why. */
static int check_combination(const struct opts *o, int argc)
{
	const char *why = NULL;

	if (o->totp_given && o->hotp_given)
		why = _("--totp and --hotp exclude each other");
	else if (o->token != OTP_TOK_NONE && (o->init != NULL || o->count != NULL || o->hex ||
	         o->new_seed != NULL || o->new_seq != NULL || o->new_alg != NULL))
		why = _("--totp and --hotp cannot be combined with RFC 2289 options");
	else if (o->token != OTP_TOK_NONE)
		return 0;
	else if (o->counter != NULL || o->hmac != NULL || o->digits != NULL || o->step != NULL ||
	         o->time != NULL)
		why = _("--counter, --hmac, --digits, --step and --time need --totp or --hotp");
	else if (argc < 1 || argc > 2)
		why = _("expected SEQ SEED or one quoted challenge");
	else if (o->init == NULL && (o->new_seed != NULL || o->new_seq != NULL || o->new_alg != NULL))
		why = _("--new-seed, --new-seq and --new-alg need -t");
	else if (o->init != NULL && (o->count != NULL || o->hex))
		why = _("-t cannot be combined with -n or -x");
	if (why == NULL)
		return 0;
	warnx("%s", why);
	return EXIT_USAGE;
}

/* The challenge from SEQ SEED or a pasted one, and -n; 0, or 1 after saying why. */
static int take_challenge(const struct opts *o, int argc, char **argv, struct job *j)
{
	unsigned long n;
	enum otp_err e;

	if (parse_alg(_("algorithm"), o->alg, &j->chal.alg) != 0)
		return 1;
	if (argc == 1) {
		/* A pasted challenge: its algorithm wins over -a. */
		if ((e = otp_challenge_parse(argv[0], &j->chal)) != OTP_OK) {
			warnx(_("challenge \"%s\": %s"), argv[0], _(otp_strerror(e)));
			return 1;
		}
	} else {
		if (otp_parse_uint(argv[0], 0, OTP_SEQ_MAX, &n) != OTP_OK) {
			warnx(_("sequence number \"%s\": %s"), argv[0], _(otp_strerror(OTP_ERR_SEQ)));
			return 1;
		}
		j->chal.seq = (unsigned)n;
		if (take_seed(_("seed"), argv[1], j->chal.seed) != 0)
			return 1;
	}
	if (o->count != NULL &&
	    otp_parse_uint(o->count, 1, (unsigned long)j->chal.seq + 1, &j->count) != OTP_OK) {
		warnx(_("count \"%s\" out of range (1 to %u for sequence number %u)"),
		      o->count, j->chal.seq + 1, j->chal.seq);
		return 1;
	}
	return 0;
}

/* -t: the response type and the new challenge; 0, or 1 after saying why. */
static int take_init(const struct opts *o, struct job *j)
{
	unsigned long n;

	if (strcmp(o->init, "init-hex") == 0) {
		j->init = OTP_RESP_INIT_HEX;
	} else if (strcmp(o->init, "init-word") == 0) {
		j->init = OTP_RESP_INIT_WORD;
	} else {
		warnx(_("response type \"%s\": expected init-hex or init-word"), o->init);
		return 1;
	}
	j->newc.alg = j->chal.alg;
	if (o->new_alg != NULL && parse_alg(_("new algorithm"), o->new_alg, &j->newc.alg) != 0)
		return 1;
	j->newc.seq = NEW_SEQ_DEFAULT;
	if (o->new_seq != NULL) {
		if (otp_parse_uint(o->new_seq, NEW_SEQ_MIN, OTP_SEQ_MAX, &n) != OTP_OK) {
			warnx(_("new sequence number \"%s\" out of range (%d to %d)"),
			      o->new_seq, NEW_SEQ_MIN, OTP_SEQ_MAX);
			return 1;
		}
		j->newc.seq = (unsigned)n;
	}
	if (o->new_seed != NULL)
		return take_seed(_("new seed"), o->new_seed, j->newc.seed);
	if (next_seed(j->chal.seed, j->newc.seed) != 0) {
		warnx(_("cannot derive a new seed from \"%s\"; give one with --new-seed"), j->chal.seed);
		return 1;
	}
	return 0;
}

/* -t with both pass phrases read: the RFC 2243 response; the exit status. */
static int reinit(const struct job *j, struct secrets *s, bool warn_long)
{
	bool warn_newlong = false;
	enum otp_err e;

	if (check_passphrase(_("new pass phrase"), s->newpass, s->newpass_len, &warn_newlong) != 0)
		return 1;
	if (strcmp(j->newc.seed, j->chal.seed) == 0 &&
	    otp_secret_equal(s->pass, s->pass_len, s->newpass, s->newpass_len)) {
		warnx("%s", _("re-initialisation must change the seed or the pass phrase (RFC 2289 s8)"));
		return 1;
	}
	if (otp_passphrase_is_seed(s->newpass, s->newpass_len, j->newc.seed)) {
		warnx(_("new pass phrase: %s"), _(otp_strerror(OTP_ERR_PASS_SEED)));
		return 1;
	}
	e = otp_compute(j->chal.alg, j->chal.seq, j->chal.seed, s->pass, s->pass_len, &s->cur);
	if (e == OTP_OK)
		e = otp_compute(j->newc.alg, j->newc.seq, j->newc.seed, s->newpass, s->newpass_len, &s->next);
	if (e == OTP_OK)
		e = otp_response_format_init(j->init, &s->cur, &j->newc, &s->next, s->line, sizeof(s->line));
	if (e != OTP_OK) {
		warnx("%s", _(otp_strerror(e)));
		return 1;
	}
	if (warn_long)
		warn_long_pass(_("pass phrase"));
	if (warn_newlong)
		warn_long_pass(_("new pass phrase"));
	if (j->chal.seq < OTP_SEQ_WARN)
		warnx(_("warning: sequence number %u is below %d"), j->chal.seq, OTP_SEQ_WARN);
	printf("%s\n", s->line);
	return 0;
}

/*
 * The whole program but the final flush.  Returns the exit status; every
 * pass phrase and key it read or made is wiped before it returns.
 */
static int run(int argc, char **argv)
{
	struct opts o = { .alg = "md5" };
	struct job j;
	struct secrets s;
	bool warn_long = false;
	int ret;

	memset(&s, 0, sizeof(s));
	memset(&j, 0, sizeof(j));
	lock_secret(&s, sizeof(s));
	j.init = OTP_RESP_STANDARD;
	j.count = 1;
	if ((ret = parse_options(argc, argv, &o)) >= 0)
		goto done;
	argc -= optind;
	argv += optind;
	if ((ret = check_combination(&o, argc)) != 0)
		goto done;
	ret = 1;
	if (o.token != OTP_TOK_NONE) {
		ret = run_token(&o, argc, &s);
		goto done;
	}
	/* Everything the command line says is checked before any pass phrase is read. */
	if (take_challenge(&o, argc, argv, &j) != 0 || (o.init != NULL && take_init(&o, &j) != 0))
		goto done;
	if (read_passphrases(&o, j.init != OTP_RESP_STANDARD, &s) != 0 ||
	    check_passphrase(NULL, s.pass, s.pass_len, &warn_long) != 0)
		goto done;
	if (j.init == OTP_RESP_STANDARD)
		ret = print_range(j.chal.alg, j.chal.seq, (unsigned)j.count, o.count != NULL, o.hex,
		                  j.chal.seed, &s, j.chal.seq < OTP_SEQ_WARN, warn_long);
	else
		ret = reinit(&j, &s, warn_long);
done:
	if (ret == EXIT_USAGE)
		usage(stderr);
	otp_wipe(&s, sizeof(s));
	otp_wipe(&j, sizeof(j));
	return ret;
}

int main(int argc, char **argv)
{
	int ret;

	/* A core dump or a debugger would see the pass phrase. */
	(void)otp_cli_harden(false);
	/* Messages and their character set follow the locale; nothing else does. */
	setlocale(LC_CTYPE, "");
	setlocale(LC_MESSAGES, "");
	bindtextdomain(OTP_TEXTDOMAIN, OTP_LOCALEDIR);
	textdomain(OTP_TEXTDOMAIN);
	ret = run(argc, argv);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		warnx("%s", _("error writing to standard output"));
		ret = 1;
	}
	return ret;
}
