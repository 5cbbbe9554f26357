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

#define HOST_MAX      64
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
		errmsg("%s: already has a token (use -f to replace it)", user);
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
			errmsg("%s", otp_strerror(OTP_ERR_RANDOM));
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

int cmd_init_token(const char *db, int argc, char **argv)
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
		{ "scratch", required_argument, NULL, OPT_SCRATCH },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct otp_token t, probe;
	struct otp_record old;
	char uri[OTP_URI_MAX], host[HOST_MAX + 1], line[CODE_LINE_MAX];
	const char *issuer = NULL, *png = NULL, *svg = NULL, *user;
	unsigned scratch = OTP_SCRATCH_DEF;
	unsigned long n;
	bool force = false, totp = false, hotp = false;
	QRcode *q = NULL;
	size_t len = 0;
	int o, which = 0, ret = EX_FAIL;
	enum otp_err rc;

	memset(&t, 0, sizeof(t));
	memset(&probe, 0, sizeof(probe));
	memset(&old, 0, sizeof(old));
	memset(uri, 0, sizeof(uri));
	memset(line, 0, sizeof(line));
	t.hmac = OTP_HMAC_SHA1;
	t.digits = 6;
	t.step = OTP_TOK_STEP_DEF;
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, ":f", opts, NULL)) != -1) {
		switch (o) {
		case OPT_TOTP: totp = true; break;
		case OPT_HOTP: hotp = true; break;
		case 'f': force = true; break;
		case OPT_HMAC:
			if (otp_hmac_parse(optarg, &t.hmac) != OTP_OK)
				return usage_error("unknown HMAC algorithm %s (sha1, sha256 or sha512)",
				                   optarg);
			break;
		case OPT_DIGITS:
			if (otp_parse_uint(optarg, OTP_TOK_DIGITS_MIN, OTP_TOK_DIGITS_MAX, &n) != OTP_OK)
				return usage_error("DIGITS must be %d to %d", OTP_TOK_DIGITS_MIN,
				                   OTP_TOK_DIGITS_MAX);
			t.digits = (unsigned)n;
			break;
		case OPT_STEP:
			if (otp_parse_uint(optarg, 30, 60, &n) != OTP_OK || (n != 30 && n != 60))
				return usage_error("STEP must be 30 or 60 seconds");
			t.step = (unsigned)n;
			break;
		case OPT_ISSUER:
			if (optarg[0] == '\0' || strlen(optarg) > ISSUER_MAX)
				return usage_error("ISSUER must be 1 to %d characters", ISSUER_MAX);
			issuer = optarg;
			break;
		case OPT_PNG: png = optarg; break;
		case OPT_SVG: svg = optarg; break;
		case OPT_SCRATCH:
			if (otp_parse_uint(optarg, 0, OTP_SCRATCH_MAX, &n) != OTP_OK)
				return usage_error("SCRATCH must be a number from 0 to %d",
				                   OTP_SCRATCH_MAX);
			scratch = (unsigned)n;
			break;
		default:
			return bad_option("init", o, argv);
		}
	}
	if (totp == hotp)
		return usage_error("init: give one of --totp or --hotp");
	if (hotp && t.step != OTP_TOK_STEP_DEF)
		return usage_error("init: --step goes with --totp");
	if (optind != argc - 1)
		return usage_error("init: give one USER");
	user = argv[optind];
	if (otp_user_check(user) != OTP_OK) {
		errmsg("bad user name: want 1 to %d printable ASCII characters without "
		       "blanks, ':' or '/', not starting with '-'", OTP_USER_MAX);
		return EX_FAIL;
	}
	t.type = totp ? OTP_TOK_TOTP : OTP_TOK_HOTP;
	if (hotp)
		t.step = 0;

	/* Refuse early, before anyone scans anything; token_cb checks again under the lock. */
	rc = otp_db_get(db, user, OTP_DB_LOCK_MS, &old);
	if (rc == OTP_OK && old.tok.type != OTP_TOK_NONE && !force) {
		errmsg("%s: already has a token (use -f to replace it)", user);
		goto out;
	}
	if (rc != OTP_OK && rc != OTP_ERR_NOUSER && rc != OTP_ERR_DB_MISSING) {
		ret = db_error(db, user, rc);
		goto out;
	}

	/* RFC 6238 App. B's key sizes: the hash's output length. */
	t.secret_len = t.hmac == OTP_HMAC_SHA512 ? 64 : t.hmac == OTP_HMAC_SHA256 ? 32 : 20;
	if ((rc = otp_random_bytes(t.secret, t.secret_len)) != OTP_OK) {
		errmsg("%s", otp_strerror(rc));
		goto out;
	}
	if (!new_scratch(&t, scratch))
		goto out;
	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "localhost");
	host[HOST_MAX] = '\0';
	/* The Key Uri Format wants the label's prefix to be the issuer. */
	if (issuer == NULL)
		issuer = host;
	if ((rc = otp_uri_format(&t, issuer, issuer, user, uri, sizeof(uri))) != OTP_OK) {
		errmsg("%s", otp_strerror(rc));
		goto out;
	}
	if ((q = QRcode_encodeString(uri, 0, QR_ECLEVEL_M, QR_MODE_8, 1)) == NULL) {
		errmsg("cannot make the QR code: %s", strerror(errno));
		goto out;
	}
	printf("Scan this with an authenticator app, or enter the URI by hand:\n%s\n\n", uri);
	qr_terminal(stdout, q);
	fflush(stdout);
	if ((png != NULL && !qr_png(png, q)) || (svg != NULL && !qr_svg(svg, q)))
		goto out;

	/* One current code proves the app holds the secret before we store it. */
	if (!input_is_tty())
		fputs("Current code from the app: ", stdout);
	fflush(stdout);
	switch (read_input_line("Current code from the app: ", false, line, sizeof(line), &len)) {
	case OTP_LINE_OK:
		break;
	case OTP_LINE_EOF:
		errmsg("no code given: nothing stored");
		goto out;
	default:
		errmsg("cannot read the code: nothing stored");
		goto out;
	}
	if (!input_is_tty())
		putchar('\n');
	probe = t;
	probe.nscratch = 0;     /* the code must come from the app, not the sheet */
	rc = otp_token_verify(&probe, line, (int64_t)time(NULL),
	                      totp ? 1 : OTP_HOTP_WINDOW_MAX / 10, &which);
	if (rc != OTP_OK || which != 1) {
		errmsg("%s: that code does not match: nothing stored", user);
		goto out;
	}
	/* The confirmed code is used: replay protection starts from it. */
	t.counter = probe.counter;
	t.drift = probe.drift;
	if ((ret = store_token(db, user, &t, force)) != EX_OK)
		goto out;
	printf("%s: %s token stored.\n", user, totp ? "TOTP" : "HOTP");
	if (t.nscratch > 0) {
		putchar('\n');
		if (!scratch_sheet_print(stdout, user, t.scratch, t.nscratch)) {
			errmsg("cannot format the scratch codes");
			ret = EX_FAIL;
		}
	}
out:
	if (q != NULL) {
		otp_wipe(q->data, (size_t)q->width * (size_t)q->width);
		QRcode_free(q);
	}
	otp_wipe(&t, sizeof(t));
	otp_wipe(&probe, sizeof(probe));
	otp_wipe(&old, sizeof(old));
	otp_wipe(uri, sizeof(uri));
	otp_wipe(line, sizeof(line));
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
	if (otp_user_check(user) != OTP_OK) {
		errmsg("bad user name");
		return EX_FAIL;
	}
	if (!slurp(path, text, OTP_GA_FILE_MAX, &len))
		goto out;
	if (otp_import_ga_file(text, len, &t, &ln, &why) != OTP_IMPORT_OK) {
		if (ln > 0)
			errmsg("%s:%u: %s", path, ln, why);
		else
			errmsg("%s: %s", path, why);
		goto out;
	}
	if ((ret = store_token(db, user, &t, force)) == EX_OK)
		printf("imported %s token for %s with %u scratch codes\n",
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
			errmsg("%s:%u: %s", path, ln, why);
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
	printf("imported %u users, skipped %u\n", imported, skipped);
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
		return usage_error("import: give one of --google-authenticator FILE USER or "
		                   "--pam-oath FILE");
	if (ga != NULL) {
		if (optind != argc - 1)
			return usage_error("import: --google-authenticator FILE needs one USER");
		return import_ga(db, ga, argv[optind], force);
	}
	if (optind != argc)
		return usage_error("import: unexpected argument %s", argv[optind]);
	return import_oath(db, oath, force);
}
