/* cmd_token.c - "otpkey init --totp/--hotp" with QR enrolment, and imports of google-authenticator and pam_oath files. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <qrencode.h>

#include "otpkey.h"

#define ISSUER_MAX    64
#define CODE_LINE_MAX 32

enum { OPT_TOTP = 0x200, OPT_HOTP, OPT_HMAC, OPT_DIGITS, OPT_STEP, OPT_ISSUER, OPT_PNG,
       OPT_SVG, OPT_SCRATCH, OPT_GA, OPT_OATH };

/* ---- storing a token ----------------------------------------------------------- */

struct token_arg {
	const struct otp_token *tok;
	bool force;
};

/* Puts the token beside any RFC 2289 key (otp_record_set_token); replaces one only with -f. */
static enum otp_db_action token_cb(const char *user, struct otp_record *rec, bool exists,
                                   void *arg, enum otp_err *err)
{
	const struct token_arg *a = arg;

	(void)user;
	if (exists && rec->tok.type != OTP_TOK_NONE && !a->force) {
		*err = OTP_ERR_EXISTS;
		return OTP_DB_KEEP;
	}
	*err = otp_record_set_token(rec, exists, a->tok, (int64_t)time(NULL));
	return *err == OTP_OK ? OTP_DB_STORE : OTP_DB_KEEP;
}

static int store_token(const char *db, const char *user, const struct otp_token *tok, bool force)
{
	struct token_arg a = { .tok = tok, .force = force };
	enum otp_err rc = otp_db_update(db, user, true, OTP_DB_LOCK_MS, token_cb, &a);

	if (rc == OTP_ERR_EXISTS) {
		errmsg(_("%s: already has a token (use -f to replace it)"), user);
		return EX_FAIL;
	}
	return rc == OTP_OK ? EX_OK : db_error(db, user, rc);
}

static bool new_scratch(struct otp_token *t, unsigned n)
{
	for (t->nscratch = 0; t->nscratch < n; t->nscratch++) {
		uint32_t c;
		bool dup = false;

		if (otp_scratch_random(&c) != OTP_OK) {
			errmsg("%s", _(otp_strerror(OTP_ERR_RANDOM)));
			return false;
		}
		for (unsigned i = 0; i < t->nscratch; i++)
			dup |= t->scratch[i] == c;
		if (dup)
			t->nscratch--;      /* draw again */
		else
			t->scratch[t->nscratch] = c;
	}
	return true;
}

/* ---- init --totp / --hotp ------------------------------------------------------- */

/* What init --totp/--hotp was asked, checked. */
struct token_opts {
	struct otp_token t;             /* the parameters; the secret comes later */
	const char *issuer, *png, *svg, *user;
	struct sheet_out out;           /* --pdf and --paper */
	unsigned scratch;
	bool force, totp;
};

/* One option of init --totp/--hotp into *to; returns -1, or the exit status after a usage error. */
static int token_option(int o, struct token_opts *to, bool *totp, bool *hotp)
{
	unsigned long n;

	switch (o) {
	case OPT_TOTP: *totp = true; break;
	case OPT_HOTP: *hotp = true; break;
	case 'f': to->force = true; break;
	case OPT_HMAC:
		if (otp_hmac_parse(optarg, &to->t.hmac) != OTP_OK)
			return usage_error(_("unknown HMAC algorithm %s (sha1, sha256 or sha512)"), optarg);
		break;
	case OPT_DIGITS:
		if (otp_parse_uint(optarg, OTP_TOK_DIGITS_MIN, OTP_TOK_DIGITS_MAX, &n) != OTP_OK)
			return usage_error(_("DIGITS must be %d to %d"), OTP_TOK_DIGITS_MIN,
			                   OTP_TOK_DIGITS_MAX);
		to->t.digits = (unsigned)n;
		break;
	case OPT_STEP:
		if (otp_parse_uint(optarg, 30, 60, &n) != OTP_OK || (n != 30 && n != 60))
			return usage_error(_("STEP must be 30 or 60 seconds"));
		to->t.step = (unsigned)n;
		break;
	case OPT_ISSUER:
		if (optarg[0] == '\0' || strlen(optarg) > ISSUER_MAX)
			return usage_error(_("ISSUER must be 1 to %d characters"), ISSUER_MAX);
		to->issuer = optarg;
		break;
	case OPT_PNG: to->png = optarg; break;
	case OPT_SVG: to->svg = optarg; break;
	case OPT_SCRATCH:
		if (otp_parse_uint(optarg, 0, OTP_SCRATCH_MAX, &n) != OTP_OK)
			return usage_error(_("SCRATCH must be a number from 0 to %d"), OTP_SCRATCH_MAX);
		to->scratch = (unsigned)n;
		break;
	default:
		return EX_USAGE;     /* getopt's own answers are taken by the caller */
	}
	return -1;
}

static int token_parse(int argc, char **argv, struct token_opts *to)
{
	static const struct option opts[] = {
		{ "totp", no_argument, NULL, OPT_TOTP },
		{ "hotp", no_argument, NULL, OPT_HOTP },
		{ "hmac", required_argument, NULL, OPT_HMAC },
		{ "digits", required_argument, NULL, OPT_DIGITS },
		{ "step", required_argument, NULL, OPT_STEP },
		{ "issuer", required_argument, NULL, OPT_ISSUER },
		{ "png", required_argument, NULL, OPT_PNG },
		{ "svg", required_argument, NULL, OPT_SVG },
		{ "pdf", required_argument, NULL, OPT_PDF },
		{ "paper", required_argument, NULL, OPT_PAPER },
		{ "scratch", required_argument, NULL, OPT_SCRATCH },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	bool totp = false, hotp = false;
	int o, r;

	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":f", opts, NULL)) != -1) {
		if (o == ':' || o == '?')
			return bad_option("init", o, argv);
		if (o == OPT_PDF || o == OPT_PAPER) {
			if (sheet_option(o, optarg, &to->out) < 0)
				return EX_USAGE;
		} else if ((r = token_option(o, to, &totp, &hotp)) >= 0) {
			return r;
		}
	}
	if (totp == hotp)
		return usage_error(_("init: give one of --totp or --hotp"));
	if (hotp && to->t.step != OTP_TOK_STEP_DEF)
		return usage_error(_("init: --step goes with --totp"));
	if (optind != argc - 1)
		return usage_error(_("init: give one USER"));
	to->user = argv[optind];
	to->totp = totp;
	to->t.type = totp ? OTP_TOK_TOTP : OTP_TOK_HOTP;
	if (hotp)
		to->t.step = 0;
	to->out.force = to->force;
	return -1;
}

/* The URI and its QR code shown, and written where asked; false after saying why. */
static bool show_token(struct token_opts *to, const char *uri, const QRcode *q, const char *host)
{
	struct secret_file sf;
	struct sheet_head h;

	printf(_("Scan this with an authenticator app, or enter the URI by hand:\n%s\n\n"), uri);
	qr_terminal(stdout, q);
	fflush(stdout);
	if ((to->png != NULL && !qr_png(to->png, to->force, q)) ||
	    (to->svg != NULL && !qr_svg(to->svg, to->force, q)))
		return false;
	if (to->out.pdf == NULL)
		return true;
	if (!secret_create(&sf, to->out.pdf, to->force))
		return false;
	sheet_head_init(&h, to->user);
	snprintf(h.host, sizeof(h.host), "%s", host);
	return secret_finish(&sf, pdf_token(sf.f, to->out.paper, &h, uri, q, to->t.scratch,
	                                    to->t.nscratch));
}

/* One current code proves the app holds the secret; advances to->t past it. False after saying why. */
static bool confirm_code(struct token_opts *to)
{
	struct otp_token probe;
	char line[CODE_LINE_MAX];
	size_t len = 0;
	int which = 0;
	bool ok = false;
	enum otp_err rc;

	memset(line, 0, sizeof(line));
	if (!input_is_tty())
		fputs(_("Current code from the app: "), stdout);
	fflush(stdout);
	switch (read_input_line(_("Current code from the app: "), false, line, sizeof(line), &len)) {
	case OTP_LINE_OK:
		break;
	case OTP_LINE_EOF:
		errmsg(_("no code given: nothing stored"));
		goto out;
	default:
		errmsg(_("cannot read the code: nothing stored"));
		goto out;
	}
	if (!input_is_tty())
		putchar('\n');
	probe = to->t;
	probe.nscratch = 0;     /* the code must come from the app, not the sheet */
	rc = otp_token_verify(&probe, line, (int64_t)time(NULL),
	                      to->totp ? 1 : OTP_HOTP_WINDOW_MAX / 10, &which);
	if (rc != OTP_OK || which != 1) {
		errmsg(_("%s: that code does not match: nothing stored"), to->user);
		goto out;
	}
	/* The confirmed code is used: replay protection starts from it. */
	to->t.counter = probe.counter;
	to->t.drift = probe.drift;
	ok = true;
out:
	otp_wipe(&probe, sizeof(probe));
	otp_wipe(line, sizeof(line));
	return ok;
}

/* A fresh secret and scratch codes, the URI and QR code shown; then the code, and the store. */
static int enrol_token(const char *db, struct token_opts *to)
{
	char uri[OTP_URI_MAX], host[HOST_MAX + 1];
	struct sheet_head h;
	QRcode *q = NULL;
	int ret = EX_FAIL;
	enum otp_err rc;

	memset(uri, 0, sizeof(uri));
	/* RFC 6238 App. B's key sizes: the hash's output length. */
	to->t.secret_len = to->t.hmac == OTP_HMAC_SHA512 ? 64 : to->t.hmac == OTP_HMAC_SHA256 ? 32 : 20;
	if ((rc = otp_random_bytes(to->t.secret, to->t.secret_len)) != OTP_OK) {
		errmsg("%s", _(otp_strerror(rc)));
		goto out;
	}
	if (!new_scratch(&to->t, to->scratch))
		goto out;
	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "localhost");
	host[HOST_MAX] = '\0';
	/* The Key Uri Format wants the label's prefix to be the issuer. */
	if (to->issuer == NULL)
		to->issuer = host;
	if ((rc = otp_uri_format(&to->t, to->issuer, to->issuer, to->user, uri, sizeof(uri))) != OTP_OK) {
		errmsg("%s", _(otp_strerror(rc)));
		goto out;
	}
	if ((q = QRcode_encodeString(uri, 0, QR_ECLEVEL_M, QR_MODE_8, 1)) == NULL) {
		errmsg(_("cannot make the QR code: %s"), strerror(errno));
		goto out;
	}
	if (!show_token(to, uri, q, host) || !confirm_code(to))
		goto out;
	if ((ret = store_token(db, to->user, &to->t, to->force)) != EX_OK)
		goto out;
	printf(_("%s: %s token stored.\n"), to->user, to->totp ? "TOTP" : "HOTP");
	if (to->t.nscratch > 0) {
		putchar('\n');
		sheet_head_init(&h, to->user);
		if (!scratch_sheet_print(stdout, &h, to->t.scratch, to->t.nscratch)) {
			errmsg(_("cannot format the scratch codes"));
			ret = EX_FAIL;
		}
	}
out:
	if (q != NULL) {
		otp_wipe(q->data, (size_t)q->width * (size_t)q->width);
		QRcode_free(q);
	}
	otp_wipe(uri, sizeof(uri));
	return ret;
}

int cmd_init_token(const char *db, int argc, char **argv)
{
	struct token_opts to;
	struct otp_record old;
	int ret;
	enum otp_err rc;

	memset(&to, 0, sizeof(to));
	memset(&old, 0, sizeof(old));
	to.t.hmac = OTP_HMAC_SHA1;
	to.t.digits = 6;
	to.t.step = OTP_TOK_STEP_DEF;
	to.scratch = OTP_SCRATCH_DEF;
	if ((ret = token_parse(argc, argv, &to)) >= 0)
		return ret;
	ret = EX_FAIL;
	if (!check_user(to.user))
		return EX_FAIL;
	/* Refuse early, before anyone scans anything; token_cb checks again under the lock. */
	rc = otp_db_get(db, to.user, OTP_DB_LOCK_MS, &old);
	if (rc == OTP_OK && old.tok.type != OTP_TOK_NONE && !to.force)
		errmsg(_("%s: already has a token (use -f to replace it)"), to.user);
	else if (rc != OTP_OK && rc != OTP_ERR_NOUSER && rc != OTP_ERR_DB_MISSING)
		ret = db_error(db, to.user, rc);
	else
		ret = enrol_token(db, &to);
	otp_wipe(&to, sizeof(to));
	otp_wipe(&old, sizeof(old));
	return ret;
}

/* ---- imports --------------------------------------------------------------------- */

static int import_ga(const char *db, const char *path, const char *user, bool force)
{
	char text[OTP_GA_FILE_MAX + 1];
	struct otp_token t;
	const char *why = NULL;
	unsigned ln = 0;
	size_t len = 0;
	int ret = EX_FAIL;

	memset(&t, 0, sizeof(t));
	if (!check_user(user))
		return EX_FAIL;
	if (!slurp(path, text, OTP_GA_FILE_MAX, &len))
		goto out;
	if (otp_import_ga_file(text, len, &t, &ln, &why) != OTP_IMPORT_OK) {
		if (ln > 0)
			errmsg("%s:%u: %s", path, ln, _(why));
		else
			errmsg("%s: %s", path, _(why));
		goto out;
	}
	if ((ret = store_token(db, user, &t, force)) == EX_OK)
		printf(_("imported %s token for %s with %u scratch codes\n"),
		       t.type == OTP_TOK_TOTP ? "TOTP" : "HOTP", user, t.nscratch);
out:
	otp_wipe(text, sizeof(text));
	otp_wipe(&t, sizeof(t));
	return ret;
}

static int import_oath(const char *db, const char *path, bool force)
{
	char text[65536 + 1], user[OTP_USER_MAX + 1];
	struct otp_token t;
	const char *why;
	unsigned imported = 0, skipped = 0, ln = 0;
	size_t len = 0, pos = 0;
	int ret = EX_FAIL;

	memset(&t, 0, sizeof(t));
	if (!slurp(path, text, sizeof(text) - 1, &len))
		goto out;
	while (pos < len) {
		const char *l = text + pos, *nl = memchr(l, '\n', len - pos);
		size_t ll = nl != NULL ? (size_t)(nl - l) : len - pos;

		pos += ll + (nl != NULL);
		ln++;
		switch (otp_import_oath_line(l, ll, user, &t, &why)) {
		case OTP_IMPORT_IGNORE:
			break;
		case OTP_IMPORT_BAD:
			errmsg("%s:%u: %s", path, ln, _(why));
			skipped++;
			break;
		case OTP_IMPORT_OK:
			if (store_token(db, user, &t, force) == EX_OK)
				imported++;
			else
				skipped++;
			break;
		}
		otp_wipe(&t, sizeof(t));
	}
	printf(_("imported %u users, skipped %u\n"), imported, skipped);
	ret = skipped > 0 ? EX_FAIL : EX_OK;
out:
	otp_wipe(text, sizeof(text));
	otp_wipe(&t, sizeof(t));
	return ret;
}

/* "import --google-authenticator FILE USER" and "import --pam-oath FILE". */
int cmd_import_token(const char *db, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "google-authenticator", required_argument, NULL, OPT_GA },
		{ "pam-oath", required_argument, NULL, OPT_OATH },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	const char *ga = NULL, *oath = NULL;
	bool force = false;
	int o;

	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":f", opts, NULL)) != -1) {
		switch (o) {
		case OPT_GA: ga = optarg; break;
		case OPT_OATH: oath = optarg; break;
		case 'f': force = true; break;
		default:
			return bad_option("import", o, argv);
		}
	}
	if ((ga == NULL) == (oath == NULL))
		return usage_error(_("import: give one of --google-authenticator FILE USER or "
		                     "--pam-oath FILE"));
	if (ga != NULL) {
		if (optind != argc - 1)
			return usage_error(_("import: --google-authenticator FILE needs one USER"));
		return import_ga(db, ga, argv[optind], force);
	}
	if (optind != argc)
		return usage_error(_("import: unexpected argument %s"), argv[optind]);
	return import_oath(db, oath, force);
}
