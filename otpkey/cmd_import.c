/* cmd_import.c - "otpkey import": OPIE's opiekeys, S/Key's skey directory or skeykeys file. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "otpkey.h"

struct import_state {
	const char *db;
	bool force;
	unsigned imported, skipped;
	char **seen;            /* users already taken from this source */
	size_t nseen, capseen;
	bool fatal;
};

static bool seen_before(struct import_state *st, const char *user)
{
	for (size_t i = 0; i < st->nseen; i++)
		if (strcmp(st->seen[i], user) == 0)
			return true;
	return false;
}

static bool remember(struct import_state *st, const char *user)
{
	if (st->nseen == st->capseen) {
		size_t cap = st->capseen ? 2 * st->capseen : 64;
		char **n = realloc(st->seen, cap * sizeof(*n));

		if (n == NULL)
			return false;
		st->seen = n;
		st->capseen = cap;
	}
	if ((st->seen[st->nseen] = strdup(user)) == NULL)
		return false;
	st->nseen++;
	return true;
}

struct store_arg {
	const struct otp_record *r;
	bool force;
};

/* The imported key replaces an RFC 2289 key only with -f; APOP secret, token and flags stay. */
static enum otp_db_action store_cb(const char *user, struct otp_record *rec, bool exists,
                                   void *arg, enum otp_err *err)
{
	const struct store_arg *a = arg;
	const struct otp_record *r = a->r;

	(void)user;
	if (exists && !a->force && otp_record_has_key(rec)) {
		*err = OTP_ERR_EXISTS;
		return OTP_DB_KEEP;
	}
	/* The old system's count of the last OTP, kept as it was (0 or 1: used up). */
	*err = otp_record_set_key(rec, r->alg, r->seq, r->seed, &r->last, (int64_t)time(NULL));
	return *err == OTP_OK ? OTP_DB_STORE : OTP_DB_KEEP;
}

static void skip(struct import_state *st, const char *file, unsigned line, const char *why)
{
	if (line > 0)
		errmsg("%s:%u: %s", file, line, _(why));
	else
		errmsg("%s: %s", file, _(why));
	st->skipped++;
}

/* Stores one parsed record, or says why not.  line 0: the file as a whole. */
static void import_one(struct import_state *st, const char *file, unsigned line,
                       const char *user, const struct otp_record *r)
{
	struct store_arg a = { r, st->force };
	enum otp_err rc;

	if (seen_before(st, user)) {
		skip(st, file, line, N_("a second entry for this user (the first one counts)"));
		return;
	}
	if (!remember(st, user)) {
		errmsg("%s", _(otp_strerror(OTP_ERR_NOMEM)));
		st->fatal = true;
		return;
	}
	rc = otp_db_update(st->db, user, true, OTP_DB_LOCK_MS, store_cb, &a);
	if (rc == OTP_OK) {
		st->imported++;
	} else if (rc == OTP_ERR_EXISTS) {
		char why[OTP_USER_MAX + 64];

		snprintf(why, sizeof(why), _("%s already has a key (use -f to replace it)"), user);
		skip(st, file, line, why);
	} else {
		db_error(st->db, user, rc);
		st->fatal = true;
	}
}

/* A file of one record per line: OPIE's opiekeys or S/Key's skeykeys. */
static void import_lines(struct import_state *st, const char *path, bool opie)
{
	struct reader *rd;
	char line[OTP_IMPORT_LINE_MAX + 1], user[OTP_USER_MAX + 1];
	struct otp_record r;
	unsigned ln = 0;
	size_t len;
	enum read_res res;
	int fd;

	if ((fd = open_source(path, true)) < 0) {
		st->fatal = true;
		return;
	}
	if ((rd = calloc(1, sizeof(*rd))) == NULL) {
		errmsg("%s", _(otp_strerror(OTP_ERR_NOMEM)));
		st->fatal = true;
		close(fd);
		return;
	}
	rd->fd = fd;
	while (!st->fatal && (res = next_line(rd, line, sizeof(line), &len)) != READ_EOF) {
		const char *why;
		enum otp_import_res ir;

		ln++;
		if (res == READ_ERR) {
			errmsg("%s: %s", path, strerror(errno));
			st->fatal = true;
			break;
		}
		if (res == READ_LONG) {
			skip(st, path, ln, N_("line too long"));
			continue;
		}
		ir = opie ? otp_import_opie_line(line, len, user, &r, &why)
		          : otp_import_skeykeys_line(line, len, user, &r, &why);
		if (ir == OTP_IMPORT_BAD)
			skip(st, path, ln, why);
		else if (ir == OTP_IMPORT_OK)
			import_one(st, path, ln, user, &r);
		otp_wipe(&r, sizeof(r));
	}
	otp_wipe(line, sizeof(line));
	otp_wipe(rd, sizeof(*rd));
	free(rd);
	close(fd);
}

static int no_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* OpenBSD's /etc/skey: one file per user, named for the user. */
static void import_dir(struct import_state *st, const char *dir)
{
	struct dirent **names = NULL;
	char path[4096], text[OTP_IMPORT_FILE_MAX + 1], user[OTP_USER_MAX + 1];
	struct otp_record r;
	int n;

	if ((n = scandir(dir, &names, no_dot, alphasort)) < 0) {
		errmsg("%s: %s", dir, strerror(errno));
		st->fatal = true;
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name, *why;
		unsigned ln;
		size_t len = 0;
		enum read_res rr;
		int fd;

		if (st->fatal)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
			skip(st, name, 0, N_("path too long"));
			continue;
		}
		if ((fd = open_source(path, false)) < 0) {
			st->skipped++;
			continue;
		}
		rr = read_bounded(fd, text, OTP_IMPORT_FILE_MAX, &len);
		close(fd);
		if (rr == READ_ERR) {
			skip(st, path, 0, strerror(errno));
			otp_wipe(text, sizeof(text));
			continue;
		}
		if (rr == READ_LONG) {
			skip(st, path, 0, N_("file too large"));
		} else {
			enum otp_import_res ir = otp_import_skey_file(name, text, len, user, &r,
			                                              &ln, &why);

			if (ir == OTP_IMPORT_BAD)
				skip(st, path, ln, why);
			else if (ir == OTP_IMPORT_OK)
				import_one(st, path, 0, user, &r);
		}
		otp_wipe(&r, sizeof(r));
		otp_wipe(text, sizeof(text));
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int cmd_import(const char *db, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "opie", required_argument, NULL, OPT_OPIE },
		{ "skey", required_argument, NULL, OPT_SKEY },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct import_state st = { .db = db };
	const char *opie = NULL, *skey = NULL;
	struct stat sb;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f", opts, NULL)) != -1) {
		switch (c) {
		case OPT_OPIE: opie = optarg; break;
		case OPT_SKEY: skey = optarg; break;
		case 'f': st.force = true; break;
		default:
			return bad_option("import", c, argv);
		}
	}
	if (optind != argc)
		return usage_error(_("import: unexpected argument %s"), argv[optind]);
	if ((opie == NULL) == (skey == NULL))
		return usage_error(_("import: give one of --opie FILE or --skey PATH"));

	if (opie != NULL) {
		import_lines(&st, opie, true);
	} else if (stat(skey, &sb) != 0) {
		errmsg("%s: %s", skey, strerror(errno));
		st.fatal = true;
	} else if (S_ISDIR(sb.st_mode)) {
		import_dir(&st, skey);
	} else {
		import_lines(&st, skey, false);
	}

	for (size_t i = 0; i < st.nseen; i++)
		free(st.seen[i]);
	free(st.seen);
	if (st.fatal) {
		if (st.imported > 0)
			errmsg(_("stopped after importing %u users"), st.imported);
		return EX_FAIL;
	}
	printf(_("imported %u users, skipped %u\n"), st.imported, st.skipped);
	return st.skipped > 0 ? EX_FAIL : EX_OK;
}
