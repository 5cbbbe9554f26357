/* main.c - otpkey, the administrator's tool: its usage, its command table, and main. */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>

#include "otpkey.h"
#include "otp_paths.h"

/* The usage, in pieces a translator can keep within 80 columns. */
static void usage(void)
{
	fputs(_("usage: otpkey [--db PATH] COMMAND [OPTIONS] [USER]\n"
	        "\n"
	        "Commands:\n"
	        "  init [-f] [-a ALG] [-n SEQ] [-s SEED] USER\n"
	        "                  new key from a pass phrase typed twice on this console\n"
	        "  init --remote [-f] [-a ALG] [-n SEQ] [-s SEED] USER\n"
	        "                  new key from the response to \"otp-ALG SEQ SEED\" computed on\n"
	        "                  a trusted device: the pass phrase never crosses the line\n"
	        "  init --sheet [-f] [-c COUNT] [-a ALG] [-n SEQ] [-s SEED] [SHEET OPTIONS] USER\n"
	        "                  new random key nobody knows, printed as a paper sheet\n"
	        "  sheet [-f] [-c COUNT] [SHEET OPTIONS] USER\n"
	        "                  a sheet of the next COUNT responses (asks the pass phrase)\n"), stdout);
	fputs(_("  info USER       the challenge a login shows now, then the key's state\n"
	        "  list            every user: name, algorithm, next sequence, seed, flags\n"
	        "  remove USER     delete the user's key\n"
	        "  disable USER    refuse the user's logins until enabled\n"
	        "  enable USER     allow the user's logins again\n"
	        "  unlock USER     clear failures, the lockout and any pending challenge\n"
	        "  apop USER       set the user's APOP secret (for apop-proxy), typed twice\n"
	        "  apop -d USER    clear the user's APOP secret\n"
	        "  checkpoint      write the log into the key database file, so that the file\n"
	        "                  alone is complete (before copying it, as a backup)\n"
	        "  create          create an empty key store (a GDBM file, or the schema of a\n"
	        "                  PostgreSQL store)\n"
	        "  migrate [-f] DEST\n"
	        "                  copy every user and the host secret to the store DEST\n"
	        "  audit [-l LIMIT]\n"
	        "                  users with fewer than LIMIT responses left (default 10);\n"
	        "                  exit status 1 if there are any\n"), stdout);
	fputs(_("  init --totp|--hotp [-f] [--hmac ALG] [--digits N] [--step S] [--issuer NAME]\n"
	        "       [--scratch N] [--png FILE] [--svg FILE] [--pdf FILE [--paper P]] USER\n"
	        "                  new RFC 6238 TOTP or RFC 4226 HOTP token for an authenticator\n"
	        "                  app: prints the otpauth:// URI and a QR code, asks for one\n"
	        "                  current code, then prints the emergency scratch codes\n"
	        "  import [-f] --opie FILE | --skey PATH\n"
	        "                  import OPIE's opiekeys, S/Key's skey directory or skeykeys\n"
	        "  import [-f] --google-authenticator FILE USER | --pam-oath FILE\n"
	        "                  import a ~/.google_authenticator file or pam_oath's users file\n"), stdout);
	fputs(_("\n"
	        "Options:\n"
	        "  -a, --alg ALG       md4, md5 or sha1 (default md5)\n"
	        "  -n, --seq SEQ       sequence number of the new key, 2 to 9999 (default 499)\n"
	        "  -s, --seed SEED     1 to 16 letters and digits (default: random, ab123456)\n"
	        "  -c, --count COUNT   responses on a sheet, 1 to 100 (default 100)\n"
	        "  -l, --limit LIMIT   audit threshold, 1 to 10000 (default 10)\n"
	        "  -f, --force         replace an existing key, token or output file\n"
	        "Sheet options (a sheet goes to standard output unless one of these is given):\n"
	        "  -o, --output FILE   the text sheet into FILE\n"
	        "  --pdf FILE          a one-page PDF to print, with a box to strike each line\n"
	        "  --paper a4|letter   the PDF's paper size (default a4)\n"
	        "Files holding secrets are created new with mode 0600; an existing one is\n"
	        "replaced (by a new file) only with -f.\n"), stdout);
	printf(_("  --db PATH           the key database (default: $OTP_DB, else\n"
	         "                      %s)\n"
	         "  -h, --help          this help\n"
	         "  --version           the version\n"
	         "\n"
	         "Exit status: 0 done, 1 error (or audit found users), 2 usage error.\n"),
	       OTP_DEFAULT_DB);
}

/* ---- main ---- */

static const struct command {
	const char *name;
	int (*fn)(const char *db, int, char **);
	bool secrets;                   /* reads or makes pass phrases, keys or secret files */
} commands[] = {
	{ "init", cmd_init, true },
	{ "sheet", cmd_sheet, true },
	{ "info", cmd_info, false },
	{ "list", cmd_list, false },
	{ "remove", cmd_remove, false },
	{ "disable", cmd_disable, false },
	{ "enable", cmd_enable, false },
	{ "unlock", cmd_unlock, false },
	{ "apop", cmd_apop, true },
	{ "audit", cmd_audit, false },
	{ "checkpoint", cmd_checkpoint, false },
	{ "import", cmd_import_wrap, true },
	{ "create", cmd_create, false },
	{ "migrate", cmd_migrate, true },
};

/* Writes out what is buffered; a failed write (a full disk) is an error. */
static int finish(int ret)
{
	if (!out_flush()) {
		errmsg(_("write error: %s"), strerror(errno));
		return EX_FAIL;
	}
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
	const char *db = NULL;
	const char *env;
	bool locked;
	int o, lock_errno;

	/* No core, not dumpable, memory locked: before any secret exists. */
	locked = otp_cli_harden(true);
	lock_errno = errno;
	/* root's tool, never setuid: it trusts its environment and arguments. */
	if (getauxval(AT_SECURE) != 0) {
		fputs("otpkey: refusing to run setuid or setgid\n", stderr);
		return EX_FAIL;
	}
	umask(077);
	/* Messages and their character set follow the locale; numbers, times and sorting stay C's. */
	setlocale(LC_CTYPE, "");
	setlocale(LC_MESSAGES, "");
	bindtextdomain(OTP_TEXTDOMAIN, OTP_LOCALEDIR);
	textdomain(OTP_TEXTDOMAIN);
	out_init();

	opterr = 0;
	while ((o = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (o) {
		case OPT_DB:
			if (optarg[0] == '\0')
				return usage_error(_("--db needs a path"));
			db = optarg;
			break;
		case 'h':
			usage();
			return finish(EX_OK);
		case OPT_VERSION:
			printf("otpkey %s\n", OTPKEY_VERSION);
			return finish(EX_OK);
		default:
			return bad_option(NULL, o, argv);
		}
	}
	if (optind >= argc)
		return usage_error(_("no command given"));
	if (db == NULL && (env = getenv("OTP_DB")) != NULL && env[0] != '\0')
		db = env;
	db = otp_db_path(db);

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		/* "otpkey init -h": no user name starts with '-', so this is help. */
		for (int j = optind + 1; j < argc && strcmp(argv[j], "--") != 0; j++) {
			if (strcmp(argv[j], "-h") == 0 || strcmp(argv[j], "--help") == 0) {
				usage();
				return finish(EX_OK);
			}
		}
		if (commands[i].secrets && !locked)
			errmsg(_("warning: cannot lock memory (%s): secrets may be written to swap"),
			       strerror(lock_errno));
		return finish(commands[i].fn(db, argc - optind, argv + optind));
	}
	return usage_error(_("unknown command %s"), argv[optind]);
}

