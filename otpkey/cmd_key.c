/* cmd_key.c - "otpkey init" (console, remote, random-secret sheet) and "otpkey sheet": RFC 2289 keys. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "otpkey.h"

/* ---- where a sheet goes ---- */

/* The sheet's files, made before a key is stored, so that a refused file stores nothing. */
struct sheet_dest {
	const struct sheet_out *o;
	struct secret_file text, pdf;
};

static bool dest_open(struct sheet_dest *d, const struct sheet_out *o)
{
	d->o = o;
	if (o->text != NULL && !secret_create(&d->text, o->text, o->force))
		return false;
	if (o->pdf != NULL && !secret_create(&d->pdf, o->pdf, o->force)) {
		if (o->text != NULL)
			secret_finish(&d->text, false);
		return false;
	}
	return true;
}

/* Writes the sheet where d says, or with !ok removes d's files; returns an exit status. */
static int dest_write(struct sheet_dest *d, const struct sheet_head *h, const otp_key *keys, bool ok)
{
	const struct sheet_out *o = d->o;
	bool done = ok;

	if (o->text == NULL && o->pdf == NULL) {
		if (!ok)
			return EX_FAIL;
		done = sheet_print(stdout, h, keys);
		done = out_flush() && done;
		if (!done)
			errmsg(_("cannot format the sheet"));
		return done ? EX_OK : EX_FAIL;
	}
	if (o->text != NULL) {
		bool w = ok && sheet_print(d->text.f, h, keys);

		if (ok && !w)
			errmsg(_("%s: cannot format the sheet"), o->text);
		done = secret_finish(&d->text, w) && done && w;
	}
	if (o->pdf != NULL)
		done = secret_finish(&d->pdf, ok && pdf_sheet(d->pdf.f, o->paper, h, keys)) && done;
	if (!done)
		return EX_FAIL;
	if (o->text != NULL)
		printf(_("%s: responses %u down to %u written to %s\n"), h->user, h->first,
		       h->first - h->count + 1, o->text);
	if (o->pdf != NULL)
		printf(_("%s: responses %u down to %u written to %s\n"), h->user, h->first,
		       h->first - h->count + 1, o->pdf);
	return EX_OK;
}

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

/* What init was asked, checked. */
struct init_opts {
	enum init_mode mode;
	unsigned count;
	char seed[OTP_SEED_MAX + 1];
	struct sheet_out out;
	const char *user;
};

/* Everything secret init holds, wiped in one place. */
struct init_secrets {
	char pass[OTP_PASS_MAX + 2];
	char line[OTP_RESPONSE_MAX + 2];
	unsigned char secret[20];
	char secret_hex[2 * 20 + 1];
	otp_key keys[SHEET_COUNT_MAX + 1];
	struct otp_response resp;
	struct otp_record old;
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
			a->why = N_("the new key repeats the old pass phrase and seed: change one");
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
		errmsg("%s: %s", user, _(a->why));
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

	if (!read_input(_("New secret pass phrase: "), _("pass phrase"), true, pass, size, len))
		goto out;
	if (!read_input(_("Again, to check: "), _("second pass phrase"), true, again, sizeof(again),
	                &len2))
		goto out;
	if (!otp_secret_equal(pass, *len, again, len2)) {
		errmsg(_("the pass phrases differ"));
		goto out;
	}
	if ((rc = otp_passphrase_check(pass, *len, &warn)) != OTP_OK) {
		errmsg("%s", _(otp_strerror(rc)));
		goto out;
	}
	if (otp_passphrase_is_seed(pass, *len, seed)) {
		errmsg("%s", _(otp_strerror(OTP_ERR_PASS_SEED)));
		goto out;
	}
	if (warn)
		errmsg(_("warning: pass phrase longer than %d characters; some calculators "
		         "may not accept it"), OTP_PASS_WARN);
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

/* init's options into *io and *a; returns -1, or the exit status after a usage error. */
static int init_parse(int argc, char **argv, struct init_opts *io, struct init_arg *a)
{
	static const struct option opts[] = {
		{ "remote", no_argument, NULL, OPT_REMOTE },
		{ "sheet", no_argument, NULL, OPT_SHEET },
		{ "alg", required_argument, NULL, 'a' },
		{ "seq", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "pdf", required_argument, NULL, OPT_PDF },
		{ "paper", required_argument, NULL, OPT_PAPER },
		{ NULL, 0, NULL, 0 }
	};
	bool count_given = false, remote = false, sheet = false, out_given = false;
	int o, taken;

	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":a:n:s:c:fo:", opts, NULL)) != -1) {
		if ((taken = sheet_option(o, optarg, &io->out)) != 0) {
			if (taken < 0)
				return EX_USAGE;
			out_given = true;
			continue;
		}
		switch (o) {
		case OPT_REMOTE: remote = true; break;
		case OPT_SHEET: sheet = true; break;
		case 'f': a->force = true; break;
		case 'a':
			if (otp_alg_parse(optarg, &a->alg) != OTP_OK)
				return usage_error(_("unknown algorithm %s (md4, md5 or sha1)"), optarg);
			break;
		case 'n':
			if (!parse_num("SEQ", optarg, 2, OTP_SEQ_MAX, &a->seq))
				return EX_USAGE;
			break;
		case 's':
			if (strlen(optarg) > OTP_SEED_MAX || otp_seed_check(optarg) != OTP_OK)
				return usage_error(_("the seed must be 1 to %d letters and digits"),
				                   OTP_SEED_MAX);
			strcpy(io->seed, optarg);
			otp_ascii_lower(io->seed);
			break;
		case 'c':
			if (!parse_num("COUNT", optarg, 1, SHEET_COUNT_MAX, &io->count))
				return EX_USAGE;
			count_given = true;
			break;
		default:
			return bad_option("init", o, argv);
		}
	}
	if (remote && sheet)
		return usage_error(_("init: --remote and --sheet exclude each other"));
	io->mode = remote ? INIT_REMOTE : sheet ? INIT_SHEET : INIT_CONSOLE;
	if (count_given && io->mode != INIT_SHEET)
		return usage_error(_("init: -c goes with --sheet"));
	if (out_given && io->mode != INIT_SHEET)
		return usage_error(_("init: -o, --pdf and --paper go with --sheet"));
	if (optind != argc - 1)
		return usage_error(_("init: give one USER"));
	io->user = argv[optind];
	io->out.force = a->force;
	return -1;
}

/* init --remote: the response to the new challenge, computed elsewhere, is the key; false after saying why. */
static bool remote_key(struct init_arg *a, struct init_secrets *s)
{
	struct otp_challenge ch;
	char chal[OTP_CHALLENGE_BUFSZ];
	size_t len = 0;
	enum otp_err rc;

	memset(&ch, 0, sizeof(ch));
	ch.alg = a->alg;
	ch.seq = a->seq;
	strcpy(ch.seed, a->seed);
	if ((rc = otp_challenge_format(&ch, chal, sizeof(chal))) != OTP_OK) {
		errmsg("%s", _(otp_strerror(rc)));
		return false;
	}
	printf("%s\n", chal);
	fflush(stdout);
	if (!read_input(_("Response: "), _("response"), false, s->line, sizeof(s->line), &len))
		return false;
	rc = otp_response_parse(s->line, &s->resp);
	if (rc == OTP_OK && s->resp.type != OTP_RESP_STANDARD && s->resp.type != OTP_RESP_HEX &&
	    s->resp.type != OTP_RESP_WORD)
		rc = OTP_ERR_RESPONSE_TYPE;
	if (rc != OTP_OK) {
		errmsg(_("bad response: %s"), _(otp_strerror(rc)));
		return false;
	}
	/* Six words win over hex when both readings decode (RFC 2289 s6). */
	a->key = s->resp.cand[0];
	return true;
}

/* The new key by io->mode into a->key (and the sheet's count + 1 keys); false after saying why. */
static bool make_key(const struct init_opts *io, struct init_arg *a, struct init_secrets *s,
                     unsigned count)
{
	size_t len = 0;
	enum otp_err rc = OTP_OK;

	switch (io->mode) {
	case INIT_CONSOLE:
		if (!get_new_pass(io->seed, s->pass, sizeof(s->pass), &len))
			return false;
		rc = otp_compute(a->alg, a->seq, io->seed, s->pass, len, &a->key);
		break;
	case INIT_REMOTE:
		return remote_key(a, s);
	case INIT_SHEET:
		if ((rc = otp_random_bytes(s->secret, sizeof(s->secret))) != OTP_OK)
			break;
		for (size_t i = 0; i < sizeof(s->secret); i++)
			snprintf(s->secret_hex + 2 * i, 3, "%02x", s->secret[i]);
		rc = otp_compute_range(a->alg, a->seq, count + 1, io->seed, s->secret_hex,
		                       strlen(s->secret_hex), s->keys);
		a->key = s->keys[count];
		break;
	}
	if (rc != OTP_OK)
		errmsg("%s", _(otp_strerror(rc)));
	return rc == OTP_OK;
}

/* Refuses early, before anyone types a secret; init_cb checks again under the lock. */
static int init_precheck(const char *db, const char *user, bool force, struct otp_record *old)
{
	enum otp_err rc = otp_db_get(db, user, OTP_DB_LOCK_MS, old);

	if (rc == OTP_OK && !force && !(old->flags & OTP_REC_NO_KEY))
		return db_error(db, user, OTP_ERR_EXISTS);
	if (rc != OTP_OK && rc != OTP_ERR_NOUSER && rc != OTP_ERR_DB_MISSING)
		return db_error(db, user, rc);
	return EX_OK;
}

/* The challenge the new key's first login shows. */
static void print_next(const struct init_arg *a)
{
	struct otp_record now = { .alg = a->alg, .seq = a->seq };
	struct otp_challenge ch;
	char chal[OTP_CHALLENGE_BUFSZ];

	memcpy(now.seed, a->seed, strlen(a->seed) + 1);
	if (otp_record_challenge(&now, true, &ch) && otp_challenge_format(&ch, chal, sizeof(chal)) == OTP_OK)
		printf("%s\n", chal);
}

int cmd_init(const char *db, int argc, char **argv)
{
	struct init_opts io = { .count = SHEET_COUNT_DEF };
	struct init_arg a = { .alg = OTP_ALG_MD5, .seq = SEQ_DEFAULT };
	struct init_secrets s;
	struct sheet_dest dest;
	struct sheet_head h;
	bool files = false;
	int ret = EX_FAIL;
	enum otp_err rc;

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--totp") == 0 || strcmp(argv[i], "--hotp") == 0)
			return cmd_init_token(db, argc, argv);
	memset(&s, 0, sizeof(s));
	memset(&dest, 0, sizeof(dest));
	if ((ret = init_parse(argc, argv, &io, &a)) >= 0)
		return ret;
	ret = EX_FAIL;
	if (!check_user(io.user))
		return EX_FAIL;
	if (io.seed[0] == '\0' && (rc = otp_seed_random(io.seed)) != OTP_OK) {
		errmsg("%s", _(otp_strerror(rc)));
		return EX_FAIL;
	}
	a.seed = io.seed;
	if ((ret = init_precheck(db, io.user, a.force, &s.old)) != EX_OK)
		goto out;
	ret = EX_FAIL;
	if (io.mode == INIT_SHEET) {
		io.count = sheet_count(io.count, a.seq - 1);
		if (!(files = dest_open(&dest, &io.out)))
			goto out;
	}
	if (!make_key(&io, &a, &s, io.count))
		goto out;
	if ((ret = store_key(db, io.user, &a)) != EX_OK)
		goto out;
	if (io.mode == INIT_SHEET) {
		sheet_head_init(&h, io.user);
		h.alg = a.alg;
		h.seed = io.seed;
		h.first = a.seq - 1;
		h.count = io.count;
		files = false;
		ret = dest_write(&dest, &h, s.keys, true);
	} else {
		print_next(&a);
		ret = EX_OK;
	}
out:
	if (files)
		dest_write(&dest, NULL, NULL, false);
	otp_wipe(&s, sizeof(s));
	otp_wipe(&a.key, sizeof(a.key));
	return ret;
}

/* ---- sheet ---- */

/* sheet's options into *out and *count; returns -1, or the exit status after a usage error. */
static int sheet_parse(int argc, char **argv, struct sheet_out *out, unsigned *count)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "pdf", required_argument, NULL, OPT_PDF },
		{ "paper", required_argument, NULL, OPT_PAPER },
		{ NULL, 0, NULL, 0 }
	};
	int o, taken;

	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":c:fo:", opts, NULL)) != -1) {
		if ((taken = sheet_option(o, optarg, out)) < 0)
			return EX_USAGE;
		if (taken > 0)
			continue;
		if (o == 'f')
			out->force = true;
		else if (o != 'c')
			return bad_option("sheet", o, argv);
		else if (!parse_num("COUNT", optarg, 1, SHEET_COUNT_MAX, count))
			return EX_USAGE;
	}
	return -1;
}

int cmd_sheet(const char *db, int argc, char **argv)
{
	struct init_secrets s;
	struct sheet_out out = { .paper = PAPER_A4 };
	struct sheet_dest dest;
	struct sheet_head h;
	unsigned count = SHEET_COUNT_DEF;
	const char *user;
	size_t len = 0;
	bool files = false;
	int ret = EX_FAIL;
	enum otp_err rc;

	memset(&s, 0, sizeof(s));
	memset(&dest, 0, sizeof(dest));
	if ((ret = sheet_parse(argc, argv, &out, &count)) >= 0)
		return ret;
	ret = EX_FAIL;
	if (optind != argc - 1)
		return usage_error(_("sheet: give one USER"));
	user = argv[optind];
	if (!check_user(user))
		return EX_FAIL;
	if ((rc = otp_db_get(db, user, OTP_DB_LOCK_MS, &s.old)) != OTP_OK) {
		ret = db_error(db, user, rc);
		goto out;
	}
	if (s.old.flags & OTP_REC_NO_KEY) {
		errmsg("%s: %s", user, _(otp_strerror(OTP_ERR_NO_KEY)));
		goto out;
	}
	if (otp_record_remaining(&s.old) == 0) {
		errmsg(_("%s: no responses left: give a new key (otpkey init -f)"), user);
		goto out;
	}
	count = sheet_count(count, otp_record_remaining(&s.old));
	if (!(files = dest_open(&dest, &out)))
		goto out;
	if (!read_input(_("Secret pass phrase: "), _("pass phrase"), true, s.pass, sizeof(s.pass), &len))
		goto out;
	rc = otp_compute_range(s.old.alg, s.old.seq, count + 1, s.old.seed, s.pass, len, s.keys);
	otp_wipe(s.pass, sizeof(s.pass));
	if (rc != OTP_OK) {
		errmsg("%s", _(otp_strerror(rc)));
		goto out;
	}
	if (!otp_key_equal(&s.keys[count], &s.old.last)) {
		errmsg(_("%s: pass phrase does not match"), user);
		goto out;
	}
	sheet_head_init(&h, user);
	h.alg = s.old.alg;
	h.seed = s.old.seed;
	h.first = s.old.seq - 1;
	h.count = count;
	files = false;
	ret = dest_write(&dest, &h, s.keys, true);
out:
	if (files)
		dest_write(&dest, NULL, NULL, false);
	otp_wipe(&s, sizeof(s));
	return ret;
}
