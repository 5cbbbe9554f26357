/* otpkey.c - the administrator's tool: enrol, inspect, lock and migrate users' OTP keys. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <time.h>

#include "otpkey.h"

/* What the commands share: where the database is. */
struct ctx {
	const char *db;
};

/* Our own stdout buffer, so the sheet's responses can be wiped after printing. */
static char outbuf[8192];

static const char usage_text[] =
"usage: otpkey [--db PATH] COMMAND [OPTIONS] [USER]\n"
"\n"
"Commands:\n"
"  init [-f] [-a ALG] [-n SEQ] [-s SEED] USER\n"
"                  new key from a pass phrase typed twice on this console\n"
"  init --remote [-f] [-a ALG] [-n SEQ] [-s SEED] USER\n"
"                  new key from the response to \"otp-ALG SEQ SEED\" computed on\n"
"                  a trusted device: the pass phrase never crosses the line\n"
"  init --sheet [-f] [-c COUNT] [-a ALG] [-n SEQ] [-s SEED] USER\n"
"                  new random key nobody knows, printed as a paper sheet\n"
"  sheet [-c COUNT] USER\n"
"                  a sheet of the next COUNT responses (asks the pass phrase)\n"
"  info USER       the challenge a login shows now, then the key's state\n"
"  list            every user: name, algorithm, next sequence, seed, flags\n"
"  remove USER     delete the user's key\n"
"  disable USER    refuse the user's logins until enabled\n"
"  enable USER     allow the user's logins again\n"
"  unlock USER     clear failures, the lockout and any pending challenge\n"
"  apop USER       set the user's APOP secret (for apop-proxy), typed twice\n"
"  apop -d USER    clear the user's APOP secret\n"
"  audit [-l LIMIT]\n"
"                  users with fewer than LIMIT responses left (default 10);\n"
"                  exit status 1 if there are any\n"
"  init --totp|--hotp [-f] [--hmac ALG] [--digits N] [--step S] [--issuer NAME]\n"
"       [--scratch N] [--png FILE] [--svg FILE] USER\n"
"                  new RFC 6238 TOTP or RFC 4226 HOTP token for an authenticator\n"
"                  app: prints the otpauth:// URI and a QR code, asks for one\n"
"                  current code, then prints the emergency scratch codes\n"
"  import [-f] --opie FILE | --skey PATH\n"
"                  import OPIE's opiekeys, S/Key's skey directory or skeykeys\n"
"  import [-f] --google-authenticator FILE USER | --pam-oath FILE\n"
"                  import a ~/.google_authenticator file or pam_oath's users file\n"
"\n"
"Options:\n"
"  -a, --alg ALG       md4, md5 or sha1 (default md5)\n"
"  -n, --seq SEQ       sequence number of the new key, 2 to 9999 (default 499)\n"
"  -s, --seed SEED     1 to 16 letters and digits (default: random, ab123456)\n"
"  -c, --count COUNT   responses on a sheet, 1 to 100 (default 100)\n"
"  -l, --limit LIMIT   audit threshold, 1 to 10000 (default 10)\n"
"  -f, --force         replace an existing key\n"
"  --db PATH           the key database (default: $OTP_DB, else\n"
"                      " OTP_DEFAULT_DB ")\n"
"  -h, --help          this help\n"
"  --version           the version\n"
"\n"
"Exit status: 0 done, 1 error (or audit found users), 2 usage error.\n";

void errmsg(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("otpkey: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("otpkey: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see otpkey --help)\n", stderr);
	return EX_USAGE;
}

int bad_option(const char *cmd, int o, char **argv)
{
	const char *pre = cmd != NULL ? cmd : "", *sep = cmd != NULL ? ": " : "";

	if (o == ':')
		return usage_error("%s%soption %s needs a value", pre, sep, argv[optind - 1]);
	if (optopt > 0 && optopt < 0x80)
		return usage_error("%s%sbad option -%c", pre, sep, optopt);
	return usage_error("%s%sbad option %s", pre, sep, argv[optind - 1]);
}

int db_error(const char *path, const char *user, enum otp_err rc)
{
	switch (rc) {
	case OTP_ERR_NOUSER:
		errmsg("%s: no key for this user", user);
		break;
	case OTP_ERR_EXISTS:
		errmsg("%s: already has a key (use -f to replace it)", user);
		break;
	case OTP_ERR_DB_MISSING:
	case OTP_ERR_DB_OPEN:
	case OTP_ERR_DB_PERM:
	case OTP_ERR_DB_LOCK:
	case OTP_ERR_DB_IO:
	case OTP_ERR_DB_CORRUPT:
	case OTP_ERR_DB_VERSION:
		errmsg("%s: %s", otp_db_path(path), otp_strerror(rc));
		break;
	default:
		if (user != NULL)
			errmsg("%s: %s", user, otp_strerror(rc));
		else
			errmsg("%s", otp_strerror(rc));
		break;
	}
	return EX_FAIL;
}

/* ---- helpers ---- */

static bool check_user(const char *user)
{
	enum otp_err rc = otp_user_check(user);

	if (rc != OTP_OK)
		errmsg("bad user name: want 1 to %d printable ASCII characters without "
		       "blanks, ':' or '/', not starting with '-'", OTP_USER_MAX);
	return rc == OTP_OK;
}

static bool parse_num(const char *what, const char *s, unsigned long min, unsigned long max,
                      unsigned *out)
{
	unsigned long v;

	if (otp_parse_uint(s, min, max, &v) != OTP_OK) {
		usage_error("%s must be a number from %lu to %lu", what, min, max);
		return false;
	}
	*out = (unsigned)v;
	return true;
}

static void lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static const char *fmt_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0)
		return "never";
	if (localtime_r(&tt, &tm) == NULL || strftime(buf, size, "%Y-%m-%d %H:%M:%S %z", &tm) == 0)
		snprintf(buf, size, "@%lld", (long long)t);
	return buf;
}

/* The challenge a login shows for rec, or false when none can be issued (RFC 2243 s4.3). */
static bool next_challenge(const struct otp_record *rec, char *buf, size_t size)
{
	struct otp_challenge ch;

	if (rec->seq < 2)
		return false;
	memset(&ch, 0, sizeof(ch));
	ch.alg = rec->alg;
	ch.seq = rec->seq - 1;
	memcpy(ch.seed, rec->seed, sizeof(ch.seed));
	ch.ext = true;
	return otp_challenge_format(&ch, buf, size) == OTP_OK;
}

static unsigned remaining(const struct otp_record *rec)
{
	return rec->seq > 0 ? rec->seq - 1 : 0;
}

static const char *token_name(enum otp_tok_type t)
{
	return t == OTP_TOK_HOTP ? "HOTP" : "TOTP";
}

static unsigned scratch_left(const struct otp_token *t)
{
	unsigned n = 0;

	for (unsigned i = 0; i < t->nscratch; i++)
		n += t->scratch[i] != OTP_SCRATCH_USED;
	return n;
}

/* Reads a line of input for what, reporting every failure. */
static bool read_input(const char *prompt, const char *what, bool secret, char *buf,
                       size_t size, size_t *len)
{
	switch (read_input_line(prompt, secret, buf, size, len)) {
	case OTP_LINE_OK:
		if (*len > 0)
			return true;
		errmsg("empty %s", what);
		return false;
	case OTP_LINE_EOF:
		errmsg("no %s given", what);
		return false;
	case OTP_LINE_LONG:
		errmsg("%s too long", what);
		return false;
	case OTP_LINE_BAD:
		errmsg("NUL byte in the %s", what);
		return false;
	default:
		errmsg("cannot read the %s: %s", what, strerror(errno));
		return false;
	}
}

/* ---- init ---- */

enum init_mode { INIT_CONSOLE, INIT_REMOTE, INIT_SHEET };

struct init_arg {
	bool force;
	enum otp_alg alg;
	unsigned seq;
	const char *seed;
	otp_key key;                    /* the OTP at seq */
	const char *pass;               /* console mode, for the reuse check; else NULL */
	size_t passlen;
	const char *why;                /* a refusal the store has no error code for */
};

enum chain { CHAIN_NEW, CHAIN_SAME, CHAIN_UNKNOWN };

/*
 * RFC 2289 s8: a new key must change the seed or the pass phrase.  Same
 * seed: is the new chain the old one?  Hash the new OTP up to the old count,
 * or (below it) recompute from the pass phrase when we have it.
 */
static enum otp_err same_chain(const struct init_arg *a, const struct otp_record *old,
                               enum chain *res)
{
	otp_key k;
	enum otp_err rc = OTP_OK;

	*res = CHAIN_NEW;
	if (old->alg != a->alg || strcmp(old->seed, a->seed) != 0)
		return OTP_OK;
	if (old->seq >= a->seq) {
		k = a->key;
		for (unsigned i = a->seq; i < old->seq && rc == OTP_OK; i++)
			rc = otp_hash_step(a->alg, &k, &k);
	} else if (a->pass != NULL) {
		rc = otp_compute(a->alg, old->seq, a->seed, a->pass, a->passlen, &k);
	} else {
		*res = CHAIN_UNKNOWN;
		return OTP_OK;
	}
	if (rc == OTP_OK && otp_key_equal(&k, &old->last))
		*res = CHAIN_SAME;
	otp_wipe(&k, sizeof(k));
	return rc;
}

static enum otp_db_action init_cb(const char *user, struct otp_record *rec, bool exists,
                                  void *arg, enum otp_err *err)
{
	struct init_arg *a = arg;
	uint32_t flags = 0;
	unsigned version = rec->version;
	char apop[sizeof(rec->apop_secret)];
	struct otp_token tok = rec->tok;
	enum chain chain;

	(void)user;
	if (exists && (rec->flags & OTP_REC_NO_KEY)) {
		/* A token only: the new key goes beside it, no -f needed. */
		flags = rec->flags & OTP_REC_DISABLED;
	} else if (exists) {
		if (!a->force) {
			*err = OTP_ERR_EXISTS;
			otp_wipe(&tok, sizeof(tok));
			return OTP_DB_KEEP;
		}
		if ((*err = same_chain(a, rec, &chain)) != OTP_OK) {
			otp_wipe(&tok, sizeof(tok));
			return OTP_DB_KEEP;
		}
		if (chain != CHAIN_NEW) {
			a->why = chain == CHAIN_SAME
			         ? "the new key repeats the old pass phrase and seed: change one"
			         : "re-keying with the same seed needs a new pass phrase, which "
			           "cannot be checked here: choose a new seed";
			*err = OTP_ERR_INVALID;
			otp_wipe(&tok, sizeof(tok));
			return OTP_DB_KEEP;
		}
		flags = rec->flags & OTP_REC_DISABLED;  /* disabling outlives a re-key */
	}
	memcpy(apop, rec->apop_secret, sizeof(apop));   /* so does the APOP secret */
	otp_wipe(rec, sizeof(*rec));
	memcpy(rec->apop_secret, apop, sizeof(apop));
	otp_wipe(apop, sizeof(apop));
	rec->tok = tok;                                 /* and a token */
	otp_wipe(&tok, sizeof(tok));
	rec->version = version;
	rec->flags = flags;
	rec->alg = a->alg;
	rec->seq = a->seq;
	memcpy(rec->seed, a->seed, strlen(a->seed) + 1);
	rec->last = a->key;
	rec->created = (int64_t)time(NULL);
	return OTP_DB_STORE;
}

static int store_key(const struct ctx *c, const char *user, struct init_arg *a)
{
	enum otp_err rc = otp_db_update(c->db, user, true, OTP_DB_LOCK_MS, init_cb, a);

	if (rc == OTP_OK)
		return EX_OK;
	if (a->why != NULL) {
		errmsg("%s: %s", user, a->why);
		return EX_FAIL;
	}
	return db_error(c->db, user, rc);
}

/* Two matching pass phrases, checked (RFC 2289 s6, RFC 2243 s4.3). */
static bool get_new_pass(const char *seed, char *pass, size_t size, size_t *len)
{
	char again[OTP_PASS_MAX + 2];
	size_t len2 = 0;
	bool ok = false, warn = false;
	enum otp_err rc;

	if (!read_input("New secret pass phrase: ", "pass phrase", true, pass, size, len))
		goto out;
	if (!read_input("Again, to check: ", "second pass phrase", true, again, sizeof(again),
	                &len2))
		goto out;
	if (!otp_secret_equal(pass, *len, again, len2)) {
		errmsg("the pass phrases differ");
		goto out;
	}
	if ((rc = otp_passphrase_check(pass, *len, &warn)) != OTP_OK) {
		errmsg("%s", otp_strerror(rc));
		goto out;
	}
	if (otp_passphrase_is_seed(pass, *len, seed)) {
		errmsg("%s", otp_strerror(OTP_ERR_PASS_SEED));
		goto out;
	}
	if (warn)
		errmsg("warning: pass phrase longer than %d characters; some calculators "
		       "may not accept it", OTP_PASS_WARN);
	ok = true;
out:
	otp_wipe(again, sizeof(again));
	if (!ok)
		otp_wipe(pass, size);
	return ok;
}

/* Sheet sizes: the one asked for, within what is left and one page. */
static unsigned sheet_count(unsigned asked, unsigned left)
{
	return asked < left ? asked : left;
}

static int print_sheet(const char *user, enum otp_alg alg, const char *seed, unsigned first,
                       unsigned count, const otp_key *keys)
{
	bool ok = sheet_print(stdout, user, alg, seed, first, count, keys);

	fflush(stdout);
	otp_wipe(outbuf, sizeof(outbuf));
	if (!ok) {
		errmsg("cannot format the sheet");
		return EX_FAIL;
	}
	return EX_OK;
}

static int cmd_init(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "remote", no_argument, NULL, OPT_REMOTE },
		{ "sheet", no_argument, NULL, OPT_SHEET },
		{ "alg", required_argument, NULL, 'a' },
		{ "seq", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	enum init_mode mode = INIT_CONSOLE;
	struct init_arg a = { .alg = OTP_ALG_MD5, .seq = SEQ_DEFAULT };
	char seed[OTP_SEED_MAX + 1] = "", pass[OTP_PASS_MAX + 2], line[OTP_RESPONSE_MAX + 2];
	char chal[OTP_CHALLENGE_BUFSZ];
	unsigned char secret[20];
	char secret_hex[2 * sizeof(secret) + 1];
	otp_key keys[SHEET_COUNT_MAX + 1];
	struct otp_response resp;
	struct otp_challenge ch;
	struct otp_record old;
	unsigned count = SHEET_COUNT_DEF;
	bool count_given = false, remote = false, sheet = false;
	const char *user;
	size_t len = 0;
	int o, ret = EX_FAIL;
	enum otp_err rc;

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--totp") == 0 || strcmp(argv[i], "--hotp") == 0)
			return cmd_init_token(c->db, argc, argv);
	memset(&resp, 0, sizeof(resp));
	memset(&old, 0, sizeof(old));
	memset(keys, 0, sizeof(keys));
	memset(secret, 0, sizeof(secret));
	memset(secret_hex, 0, sizeof(secret_hex));
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":a:n:s:c:f", opts, NULL)) != -1) {
		switch (o) {
		case OPT_REMOTE: remote = true; break;
		case OPT_SHEET: sheet = true; break;
		case 'f': a.force = true; break;
		case 'a':
			if (otp_alg_parse(optarg, &a.alg) != OTP_OK)
				return usage_error("unknown algorithm %s (md4, md5 or sha1)", optarg);
			break;
		case 'n':
			if (!parse_num("SEQ", optarg, 2, OTP_SEQ_MAX, &a.seq))
				return EX_USAGE;
			break;
		case 's':
			if (strlen(optarg) > OTP_SEED_MAX || otp_seed_check(optarg) != OTP_OK)
				return usage_error("the seed must be 1 to %d letters and digits",
				                   OTP_SEED_MAX);
			strcpy(seed, optarg);
			lower(seed);
			break;
		case 'c':
			if (!parse_num("COUNT", optarg, 1, SHEET_COUNT_MAX, &count))
				return EX_USAGE;
			count_given = true;
			break;
		default:
			return bad_option("init", o, argv);
		}
	}
	if (remote && sheet)
		return usage_error("init: --remote and --sheet exclude each other");
	mode = remote ? INIT_REMOTE : sheet ? INIT_SHEET : INIT_CONSOLE;
	if (count_given && mode != INIT_SHEET)
		return usage_error("init: -c goes with --sheet");
	if (optind != argc - 1)
		return usage_error("init: give one USER");
	user = argv[optind];
	if (!check_user(user))
		return EX_FAIL;
	if (seed[0] == '\0' && (rc = otp_seed_random(seed)) != OTP_OK) {
		errmsg("%s", otp_strerror(rc));
		return EX_FAIL;
	}
	a.seed = seed;

	/* Refuse early, before anyone types a secret; init_cb checks again under the lock. */
	rc = otp_db_get(c->db, user, OTP_DB_LOCK_MS, &old);
	if (rc == OTP_OK && !a.force && !(old.flags & OTP_REC_NO_KEY)) {
		ret = db_error(c->db, user, OTP_ERR_EXISTS);
		goto out;
	}
	if (rc != OTP_OK && rc != OTP_ERR_NOUSER && rc != OTP_ERR_DB_MISSING) {
		ret = db_error(c->db, user, rc);
		goto out;
	}

	switch (mode) {
	case INIT_CONSOLE:
		if (!get_new_pass(seed, pass, sizeof(pass), &len))
			goto out;
		a.pass = pass;
		a.passlen = len;
		rc = otp_compute(a.alg, a.seq, seed, pass, len, &a.key);
		break;
	case INIT_REMOTE:
		memset(&ch, 0, sizeof(ch));
		ch.alg = a.alg;
		ch.seq = a.seq;
		strcpy(ch.seed, seed);
		if ((rc = otp_challenge_format(&ch, chal, sizeof(chal))) != OTP_OK)
			break;
		printf("%s\n", chal);
		fflush(stdout);
		if (!read_input("Response: ", "response", false, line, sizeof(line), &len))
			goto out;
		rc = otp_response_parse(line, &resp);
		if (rc == OTP_OK && resp.type != OTP_RESP_STANDARD && resp.type != OTP_RESP_HEX &&
		    resp.type != OTP_RESP_WORD)
			rc = OTP_ERR_RESPONSE_TYPE;
		if (rc != OTP_OK) {
			errmsg("bad response: %s", otp_strerror(rc));
			goto out;
		}
		/* Six words win over hex when both readings decode (RFC 2289 s6). */
		a.key = resp.cand[0];
		break;
	case INIT_SHEET:
		count = sheet_count(count, a.seq - 1);
		if ((rc = otp_random_bytes(secret, sizeof(secret))) != OTP_OK)
			break;
		for (size_t i = 0; i < sizeof(secret); i++)
			snprintf(secret_hex + 2 * i, 3, "%02x", secret[i]);
		rc = otp_compute_range(a.alg, a.seq, count + 1, seed, secret_hex,
		                       strlen(secret_hex), keys);
		a.key = keys[count];
		break;
	}
	if (rc != OTP_OK) {
		errmsg("%s", otp_strerror(rc));
		goto out;
	}
	if ((ret = store_key(c, user, &a)) != EX_OK)
		goto out;

	if (mode == INIT_SHEET) {
		ret = print_sheet(user, a.alg, seed, a.seq - 1, count, keys);
	} else {
		struct otp_record now = { .alg = a.alg, .seq = a.seq };

		memcpy(now.seed, seed, sizeof(now.seed));
		if (next_challenge(&now, chal, sizeof(chal)))
			printf("%s\n", chal);
		ret = EX_OK;
	}
out:
	otp_wipe(pass, sizeof(pass));
	otp_wipe(line, sizeof(line));
	otp_wipe(secret, sizeof(secret));
	otp_wipe(secret_hex, sizeof(secret_hex));
	otp_wipe(keys, sizeof(keys));
	otp_wipe(&resp, sizeof(resp));
	otp_wipe(&a.key, sizeof(a.key));
	otp_wipe(&old, sizeof(old));
	return ret;
}

/* ---- sheet ---- */

static int cmd_sheet(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	char pass[OTP_PASS_MAX + 2];
	otp_key keys[SHEET_COUNT_MAX + 1];
	struct otp_record rec;
	unsigned count = SHEET_COUNT_DEF;
	const char *user;
	size_t len = 0;
	int o, ret = EX_FAIL;
	enum otp_err rc;

	memset(keys, 0, sizeof(keys));
	memset(&rec, 0, sizeof(rec));
	memset(pass, 0, sizeof(pass));
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":c:", opts, NULL)) != -1) {
		if (o != 'c')
			return bad_option("sheet", o, argv);
		if (!parse_num("COUNT", optarg, 1, SHEET_COUNT_MAX, &count))
			return EX_USAGE;
	}
	if (optind != argc - 1)
		return usage_error("sheet: give one USER");
	user = argv[optind];
	if (!check_user(user))
		return EX_FAIL;
	if ((rc = otp_db_get(c->db, user, OTP_DB_LOCK_MS, &rec)) != OTP_OK) {
		ret = db_error(c->db, user, rc);
		goto out;
	}
	if (rec.flags & OTP_REC_NO_KEY) {
		errmsg("%s: %s", user, otp_strerror(OTP_ERR_NO_KEY));
		goto out;
	}
	if (remaining(&rec) == 0) {
		errmsg("%s: no responses left: give a new key (otpkey init -f)", user);
		goto out;
	}
	count = sheet_count(count, remaining(&rec));
	if (!read_input("Secret pass phrase: ", "pass phrase", true, pass, sizeof(pass), &len))
		goto out;
	rc = otp_compute_range(rec.alg, rec.seq, count + 1, rec.seed, pass, len, keys);
	otp_wipe(pass, sizeof(pass));
	if (rc != OTP_OK) {
		errmsg("%s", otp_strerror(rc));
		goto out;
	}
	if (!otp_key_equal(&keys[count], &rec.last)) {
		errmsg("%s: pass phrase does not match", user);
		goto out;
	}
	ret = print_sheet(user, rec.alg, rec.seed, rec.seq - 1, count, keys);
out:
	otp_wipe(pass, sizeof(pass));
	otp_wipe(keys, sizeof(keys));
	otp_wipe(&rec, sizeof(rec));
	return ret;
}

/* ---- commands on one user ---- */

/* The one argument: a checked user name, or NULL after reporting. */
static const char *one_user(const char *cmd, int argc, char **argv, int *ret)
{
	if (argc == 3 && strcmp(argv[1], "--") == 0) {
		argc--;
		argv++;
	} else if (argc == 2 && argv[1][0] == '-') {
		argc = 0;       /* an option: none is taken */
	}
	if (argc != 2) {
		*ret = usage_error("%s: give one USER", cmd);
		return NULL;
	}
	if (!check_user(argv[1])) {
		*ret = EX_FAIL;
		return NULL;
	}
	return argv[1];
}

static int cmd_info(struct ctx *c, int argc, char **argv)
{
	char chal[OTP_CHALLENGE_BUFSZ], t[64];
	struct otp_record rec;
	time_t now = time(NULL);
	const char *user;
	enum otp_err rc;
	int ret = EX_FAIL;

	if ((user = one_user("info", argc, argv, &ret)) == NULL)
		return ret;
	memset(&rec, 0, sizeof(rec));
	if ((rc = otp_db_get(c->db, user, OTP_DB_LOCK_MS, &rec)) != OTP_OK) {
		otp_wipe(&rec, sizeof(rec));
		return db_error(c->db, user, rc);
	}
	if (rec.flags & OTP_REC_NO_KEY)
		printf("%s code\n", token_name(rec.tok.type));
	else if (next_challenge(&rec, chal, sizeof(chal)))
		printf("%s\n", chal);
	else
		printf("none: no responses left, give a new key (otpkey init -f %s)\n", user);
	if (rec.flags & OTP_REC_NO_KEY)
		printf("remaining: no RFC 2289 key\n");
	else
		printf("remaining: %u\n", remaining(&rec));
	printf("created: %s\n", fmt_time(rec.created, t, sizeof(t)));
	printf("last success: %s\n", fmt_time(rec.last_success, t, sizeof(t)));
	printf("last failure: %s\n", fmt_time(rec.last_failure, t, sizeof(t)));
	printf("failures: %lu\n", (unsigned long)rec.failures);
	printf("disabled: %s\n", rec.flags & OTP_REC_DISABLED ? "yes" : "no");
	printf("apop: %s\n", rec.apop_secret[0] != '\0' ? "set" : "not set");
	if (rec.locked_until > (int64_t)now)
		printf("locked until: %s\n", fmt_time(rec.locked_until, t, sizeof(t)));
	else
		printf("locked until: no\n");
	if (rec.pending_until > (int64_t)now)
		printf("pending challenge: yes (expires %s)\n",
		       fmt_time(rec.pending_until, t, sizeof(t)));
	else
		printf("pending challenge: no\n");
	if (rec.tok.type != OTP_TOK_NONE) {
		const struct otp_token *k = &rec.tok;

		if (k->type == OTP_TOK_TOTP)
			printf("token: TOTP %s, %u digits, %u s steps\n", otp_hmac_name(k->hmac),
			       k->digits, k->step);
		else
			printf("token: HOTP %s, %u digits\n", otp_hmac_name(k->hmac), k->digits);
		if (k->type == OTP_TOK_HOTP)
			printf("token next counter: %llu\n", (unsigned long long)k->counter);
		else if (k->counter == 0)
			printf("token last step: none\n");
		else
			printf("token last step: %llu (drift %+d)\n", (unsigned long long)k->counter,
			       k->drift);
		printf("scratch codes left: %u\n", scratch_left(k));
	}
	otp_wipe(&rec, sizeof(rec));
	return EX_OK;
}

enum user_op { OP_REMOVE, OP_DISABLE, OP_ENABLE, OP_UNLOCK };

static enum otp_db_action user_op_cb(const char *user, struct otp_record *rec, bool exists,
                                     void *arg, enum otp_err *err)
{
	(void)user;
	if (!exists) {
		*err = OTP_ERR_NOUSER;
		return OTP_DB_KEEP;
	}
	switch (*(const enum user_op *)arg) {
	case OP_REMOVE:
		return OTP_DB_DELETE;
	case OP_DISABLE:
		rec->flags |= OTP_REC_DISABLED;
		break;
	case OP_ENABLE:
		rec->flags &= ~OTP_REC_DISABLED;
		break;
	case OP_UNLOCK:
		rec->failures = 0;
		rec->locked_until = 0;
		rec->pending_until = 0;
		rec->pending_id = 0;
		break;
	}
	return OTP_DB_STORE;
}

static int user_op(struct ctx *c, const char *cmd, enum user_op op, int argc, char **argv)
{
	const char *user;
	enum otp_err rc;
	int ret = EX_FAIL;

	if ((user = one_user(cmd, argc, argv, &ret)) == NULL)
		return ret;
	rc = otp_db_update(c->db, user, false, OTP_DB_LOCK_MS, user_op_cb, &op);
	return rc == OTP_OK ? EX_OK : db_error(c->db, user, rc);
}

static int cmd_remove(struct ctx *c, int argc, char **argv)
{
	return user_op(c, "remove", OP_REMOVE, argc, argv);
}

static int cmd_disable(struct ctx *c, int argc, char **argv)
{
	return user_op(c, "disable", OP_DISABLE, argc, argv);
}

static int cmd_enable(struct ctx *c, int argc, char **argv)
{
	return user_op(c, "enable", OP_ENABLE, argc, argv);
}

static int cmd_unlock(struct ctx *c, int argc, char **argv)
{
	return user_op(c, "unlock", OP_UNLOCK, argc, argv);
}

/* ---- the APOP secret ---- */

static enum otp_db_action apop_cb(const char *user, struct otp_record *rec, bool exists,
                                  void *arg, enum otp_err *err)
{
	const char *secret = arg;   /* NULL: clear */

	(void)user;
	if (!exists) {
		*err = OTP_ERR_NOUSER;
		return OTP_DB_KEEP;
	}
	otp_wipe(rec->apop_secret, sizeof(rec->apop_secret));
	if (secret != NULL)
		memcpy(rec->apop_secret, secret, strlen(secret) + 1);
	return OTP_DB_STORE;
}

/* Two matching APOP secrets of OTP_APOP_SECRET_MIN..MAX printable characters. */
static bool get_apop_secret(char *secret, size_t size)
{
	char again[256];
	size_t len = 0, len2 = 0;
	bool ok = false;

	if (!read_input("New APOP secret: ", "APOP secret", true, secret, size, &len))
		goto out;
	if (!read_input("Again, to check: ", "second APOP secret", true, again, sizeof(again),
	                &len2))
		goto out;
	if (!otp_secret_equal(secret, len, again, len2)) {
		errmsg("the APOP secrets differ");
		goto out;
	}
	if (len < OTP_APOP_SECRET_MIN || len > OTP_APOP_SECRET_MAX) {
		errmsg("an APOP secret must have %d to %d characters", OTP_APOP_SECRET_MIN,
		       OTP_APOP_SECRET_MAX);
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)secret[i] < 0x20 || (unsigned char)secret[i] > 0x7e) {
			errmsg("an APOP secret must be printable ASCII");
			goto out;
		}
	ok = true;
out:
	otp_wipe(again, sizeof(again));
	if (!ok)
		otp_wipe(secret, size);
	return ok;
}

static int cmd_apop(struct ctx *c, int argc, char **argv)
{
	char secret[256];
	const char *user;
	bool clear = false;
	enum otp_err rc;
	int ret = EX_FAIL;

	if (argc >= 2 && strcmp(argv[1], "-d") == 0) {
		clear = true;
		argc--;
		argv++;
	}
	if ((user = one_user("apop", argc, argv, &ret)) == NULL)
		return ret;
	memset(secret, 0, sizeof(secret));
	if (!clear && !get_apop_secret(secret, sizeof(secret)))
		return EX_FAIL;
	rc = otp_db_update(c->db, user, false, OTP_DB_LOCK_MS, apop_cb, clear ? NULL : secret);
	otp_wipe(secret, sizeof(secret));
	return rc == OTP_OK ? EX_OK : db_error(c->db, user, rc);
}

/* ---- list and audit ---- */

struct entry {
	char user[OTP_USER_MAX + 1];
	enum otp_alg alg;
	unsigned seq;
	char seed[OTP_SEED_MAX + 1];
	uint32_t flags;
	bool locked, pending;
	enum otp_tok_type token;
};

struct collect {
	struct entry *v;
	size_t n, cap;
	bool nomem;
	time_t now;
};

static bool collect_cb(const char *user, const struct otp_record *rec, void *arg)
{
	struct collect *cl = arg;
	struct entry *e;

	if (cl->n == cl->cap) {
		size_t cap = cl->cap ? 2 * cl->cap : 64;
		struct entry *v = realloc(cl->v, cap * sizeof(*v));

		if (v == NULL) {
			cl->nomem = true;
			return false;
		}
		cl->v = v;
		cl->cap = cap;
	}
	e = &cl->v[cl->n++];
	memset(e, 0, sizeof(*e));
	snprintf(e->user, sizeof(e->user), "%s", user);
	e->alg = rec->alg;
	e->seq = remaining(rec);
	memcpy(e->seed, rec->seed, sizeof(e->seed));
	e->seed[OTP_SEED_MAX] = '\0';
	e->flags = rec->flags;
	e->locked = rec->locked_until > (int64_t)cl->now;
	e->pending = rec->pending_until > (int64_t)cl->now;
	e->token = rec->tok.type;
	return true;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->user, ((const struct entry *)b)->user);
}

static int collect_all(struct ctx *c, struct collect *cl)
{
	enum otp_err rc;

	memset(cl, 0, sizeof(*cl));
	cl->now = time(NULL);
	rc = otp_db_foreach(c->db, OTP_DB_LOCK_MS, collect_cb, cl);
	if (rc == OTP_OK && cl->nomem)
		rc = OTP_ERR_NOMEM;
	if (rc != OTP_OK) {
		free(cl->v);
		cl->v = NULL;
		return db_error(c->db, NULL, rc);
	}
	if (cl->n > 0)
		qsort(cl->v, cl->n, sizeof(*cl->v), by_name);
	return EX_OK;
}

static int cmd_list(struct ctx *c, int argc, char **argv)
{
	struct collect cl;
	int ret, width = 8;

	(void)argv;
	if (argc != 1)
		return usage_error("list: takes no arguments");
	if ((ret = collect_all(c, &cl)) != EX_OK)
		return ret;
	for (size_t i = 0; i < cl.n; i++)
		if ((int)strlen(cl.v[i].user) > width)
			width = (int)strlen(cl.v[i].user);
	for (size_t i = 0; i < cl.n; i++) {
		const struct entry *e = &cl.v[i];
		char flags[48] = "";

		if (e->flags & OTP_REC_DISABLED)
			strcat(flags, ",disabled");
		if (e->locked)
			strcat(flags, ",locked");
		if (e->pending)
			strcat(flags, ",pending");
		if (e->seq == 0 && !(e->flags & OTP_REC_NO_KEY))
			strcat(flags, ",used-up");
		if (e->token == OTP_TOK_TOTP)
			strcat(flags, ",totp");
		else if (e->token == OTP_TOK_HOTP)
			strcat(flags, ",hotp");
		if (e->flags & OTP_REC_NO_KEY)
			printf("%-*s %-4s %4s %-16s %s\n", width, e->user, "-", "-", "-",
			       flags[0] ? flags + 1 : "-");
		else
			printf("%-*s %-4s %4u %-16s %s\n", width, e->user, otp_alg_name(e->alg) ?
			       otp_alg_name(e->alg) : "?", e->seq, e->seed, flags[0] ? flags + 1 : "-");
	}
	free(cl.v);
	return EX_OK;
}

static int cmd_audit(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "limit", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 }
	};
	struct collect cl;
	unsigned limit = AUDIT_LIMIT_DEF, low = 0;
	int o, ret;

	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":l:", opts, NULL)) != -1) {
		if (o != 'l')
			return bad_option("audit", o, argv);
		if (!parse_num("LIMIT", optarg, 1, OTP_SEQ_MAX + 1, &limit))
			return EX_USAGE;
	}
	if (optind != argc)
		return usage_error("audit: unexpected argument %s", argv[optind]);
	if ((ret = collect_all(c, &cl)) != EX_OK)
		return ret;
	for (size_t i = 0; i < cl.n; i++) {
		/* A token never runs out; a token-only user has no responses to count. */
		if (cl.v[i].seq >= limit || (cl.v[i].flags & OTP_REC_NO_KEY))
			continue;
		printf("%s: %u responses left%s\n", cl.v[i].user, cl.v[i].seq,
		       cl.v[i].flags & OTP_REC_DISABLED ? " (disabled)" : "");
		low++;
	}
	free(cl.v);
	return low > 0 ? EX_FAIL : EX_OK;
}

static int cmd_import_wrap(struct ctx *c, int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strncmp(argv[i], "--google-authenticator", 22) == 0 ||
		    strncmp(argv[i], "--pam-oath", 10) == 0)
			return cmd_import_token(c->db, argc, argv);
	return cmd_import(c->db, argc, argv);
}

/* ---- main ---- */

static const struct command {
	const char *name;
	int (*fn)(struct ctx *, int, char **);
} commands[] = {
	{ "init", cmd_init },
	{ "sheet", cmd_sheet },
	{ "info", cmd_info },
	{ "list", cmd_list },
	{ "remove", cmd_remove },
	{ "disable", cmd_disable },
	{ "enable", cmd_enable },
	{ "unlock", cmd_unlock },
	{ "apop", cmd_apop },
	{ "audit", cmd_audit },
	{ "import", cmd_import_wrap },
};

/* Writes out what is buffered; a failed write (a full disk) is an error. */
static int finish(int ret)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		otp_wipe(outbuf, sizeof(outbuf));
		fprintf(stderr, "otpkey: write error: %s\n", strerror(errno));
		return EX_FAIL;
	}
	otp_wipe(outbuf, sizeof(outbuf));
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, OPT_DB },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ NULL, 0, NULL, 0 }
	};
	struct ctx c = { NULL };
	const char *env;
	int o;

	/* root's tool, never setuid: it trusts its environment and arguments. */
	if (getauxval(AT_SECURE) != 0) {
		fputs("otpkey: refusing to run setuid or setgid\n", stderr);
		return EX_FAIL;
	}
	umask(077);
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));

	opterr = 0;
	while ((o = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (o) {
		case OPT_DB:
			if (optarg[0] == '\0')
				return usage_error("--db needs a path");
			c.db = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return finish(EX_OK);
		case OPT_VERSION:
			printf("otpkey %s\n", OTPKEY_VERSION);
			return finish(EX_OK);
		default:
			return bad_option(NULL, o, argv);
		}
	}
	if (optind >= argc)
		return usage_error("no command given");
	if (c.db == NULL && (env = getenv("OTP_DB")) != NULL && env[0] != '\0')
		c.db = env;
	c.db = otp_db_path(c.db);

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		/* "otpkey init -h": no user name starts with '-', so this is help. */
		for (int j = optind + 1; j < argc && strcmp(argv[j], "--") != 0; j++) {
			if (strcmp(argv[j], "-h") == 0 || strcmp(argv[j], "--help") == 0) {
				fputs(usage_text, stdout);
				return finish(EX_OK);
			}
		}
		return finish(commands[i].fn(&c, argc - optind, argv + optind));
	}
	return usage_error("unknown command %s", argv[optind]);
}
