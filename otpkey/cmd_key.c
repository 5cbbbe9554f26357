/* cmd_key.c - "otpkey init" (console, remote, random-secret sheet) and "otpkey sheet": RFC 2289 keys. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "otpkey.h"

/* ---- init ---- */

enum init_mode { INIT_CONSOLE, INIT_REMOTE, INIT_SHEET };

struct init_arg {
	bool force;
	enum otp_alg alg;
	unsigned seq;
	const char *seed;
	otp_key key;                    /* the OTP at seq */
	const char *why;                /* a refusal the store has no error code for */
};

/*
 * Under the lock: the new key replaces an old one only with -f, and only
 * when it does not continue the old chain (RFC 2289 s8).  What outlives a
 * re-key (APOP secret, token, disabled flag) is kept by otp_record_set_key.
 */
static enum otp_db_action init_cb(const char *user, struct otp_record *rec, bool exists,
                                  void *arg, enum otp_err *err)
{
	struct init_arg *a = arg;
	enum otp_chain chain = OTP_CHAIN_NEW;

	(void)user;
	/* A token only: the new key goes beside it, no -f needed. */
	if (exists && otp_record_has_key(rec)) {
		if (!a->force) {
			*err = OTP_ERR_EXISTS;
			return OTP_DB_KEEP;
		}
		if ((*err = otp_record_chain(rec, a->alg, a->seq, a->seed, &a->key, &chain)) != OTP_OK)
			return OTP_DB_KEEP;
		if (chain == OTP_CHAIN_SAME) {
			a->why = "the new key repeats the old pass phrase and seed: change one";
			*err = OTP_ERR_INVALID;
			return OTP_DB_KEEP;
		}
	}
	*err = otp_record_set_key(rec, a->alg, a->seq, a->seed, &a->key, (int64_t)time(NULL));
	return *err == OTP_OK ? OTP_DB_STORE : OTP_DB_KEEP;
}

static int store_key(const char *db, const char *user, struct init_arg *a)
{
	enum otp_err rc = otp_db_update(db, user, true, OTP_DB_LOCK_MS, init_cb, a);

	if (rc == OTP_OK)
		return EX_OK;
	if (a->why != NULL) {
		errmsg("%s: %s", user, a->why);
		return EX_FAIL;
	}
	return db_error(db, user, rc);
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

	ok = out_flush() && ok;
	if (!ok) {
		errmsg("cannot format the sheet");
		return EX_FAIL;
	}
	return EX_OK;
}

int cmd_init(const char *db, int argc, char **argv)
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
			return cmd_init_token(db, argc, argv);
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
			otp_ascii_lower(seed);
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
	rc = otp_db_get(db, user, OTP_DB_LOCK_MS, &old);
	if (rc == OTP_OK && !a.force && !(old.flags & OTP_REC_NO_KEY)) {
		ret = db_error(db, user, OTP_ERR_EXISTS);
		goto out;
	}
	if (rc != OTP_OK && rc != OTP_ERR_NOUSER && rc != OTP_ERR_DB_MISSING) {
		ret = db_error(db, user, rc);
		goto out;
	}

	switch (mode) {
	case INIT_CONSOLE:
		if (!get_new_pass(seed, pass, sizeof(pass), &len))
			goto out;
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
	if ((ret = store_key(db, user, &a)) != EX_OK)
		goto out;

	if (mode == INIT_SHEET) {
		ret = print_sheet(user, a.alg, seed, a.seq - 1, count, keys);
	} else {
		struct otp_record now = { .alg = a.alg, .seq = a.seq };

		memcpy(now.seed, seed, sizeof(now.seed));
		if (otp_record_challenge(&now, true, &ch) &&
		    otp_challenge_format(&ch, chal, sizeof(chal)) == OTP_OK)
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

int cmd_sheet(const char *db, int argc, char **argv)
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
	if ((rc = otp_db_get(db, user, OTP_DB_LOCK_MS, &rec)) != OTP_OK) {
		ret = db_error(db, user, rc);
		goto out;
	}
	if (rec.flags & OTP_REC_NO_KEY) {
		errmsg("%s: %s", user, otp_strerror(OTP_ERR_NO_KEY));
		goto out;
	}
	if (otp_record_remaining(&rec) == 0) {
		errmsg("%s: no responses left: give a new key (otpkey init -f)", user);
		goto out;
	}
	count = sheet_count(count, otp_record_remaining(&rec));
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

