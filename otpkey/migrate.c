/* migrate.c - "otpkey import": OPIE's opiekeys, S/Key's skey directory or skeykeys file. */
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

/* A buffered reader of lines from a descriptor, with a fixed buffer we can wipe. */
struct reader {
	int fd;
	char buf[4096];
	size_t pos, len;
	bool eof;
};

enum { LINE_OK, LINE_EOF, LINE_LONG, LINE_ERR };

static int next_line(struct reader *rd, char *line, size_t size, size_t *len)
{
	size_t n = 0;
	bool got = false, long_line = false;

	for (;;) {
		char c;

		if (rd->pos == rd->len) {
			ssize_t r;

			if (rd->eof)
				break;
			do
				r = read(rd->fd, rd->buf, sizeof(rd->buf));
			while (r < 0 && errno == EINTR);
			if (r < 0)
				return LINE_ERR;
			if (r == 0) {
				rd->eof = true;
				break;
			}
			rd->pos = 0;
			rd->len = (size_t)r;
		}
		c = rd->buf[rd->pos++];
		got = true;
		if (c == '\n')
			break;
		if (n + 1 >= size)
			long_line = true;
		else
			line[n++] = c;
	}
	line[n] = '\0';
	*len = n;
	if (!got)
		return LINE_EOF;
	return long_line ? LINE_LONG : LINE_OK;
}

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

static enum otp_db_action store_cb(const char *user, struct otp_record *rec, bool exists,
                                   void *arg, enum otp_err *err)
{
	const struct store_arg *a = arg;
	uint32_t flags = exists ? rec->flags & OTP_REC_DISABLED : 0;
	unsigned version = rec->version;
	char apop[sizeof(rec->apop_secret)];
	struct otp_token tok = rec->tok;

	(void)user;
	/* A token-only user has no RFC 2289 key to replace. */
	if (exists && !a->force && !(rec->flags & OTP_REC_NO_KEY)) {
		*err = OTP_ERR_EXISTS;
		otp_wipe(&tok, sizeof(tok));
		return OTP_DB_KEEP;
	}
	memcpy(apop, rec->apop_secret, sizeof(apop));   /* the APOP secret is not imported */
	otp_wipe(rec, sizeof(*rec));
	memcpy(rec->apop_secret, apop, sizeof(apop));
	otp_wipe(apop, sizeof(apop));
	rec->tok = tok;                                 /* nor is a token */
	otp_wipe(&tok, sizeof(tok));
	rec->version = version;
	rec->flags = flags;
	rec->alg = a->r->alg;
	rec->seq = a->r->seq;
	memcpy(rec->seed, a->r->seed, sizeof(rec->seed));
	rec->last = a->r->last;
	rec->created = (int64_t)time(NULL);
	return OTP_DB_STORE;
}

static void skip(struct import_state *st, const char *file, unsigned line, const char *why)
{
	if (line > 0)
		errmsg("%s:%u: %s", file, line, why);
	else
		errmsg("%s: %s", file, why);
	st->skipped++;
}

/* Stores one parsed record, or says why not.  line 0: the file as a whole. */
static void import_one(struct import_state *st, const char *file, unsigned line,
                       const char *user, const struct otp_record *r)
{
	struct store_arg a = { r, st->force };
	enum otp_err rc;

	if (seen_before(st, user)) {
		skip(st, file, line, "a second entry for this user (the first one counts)");
		return;
	}
	if (!remember(st, user)) {
		errmsg("%s", otp_strerror(OTP_ERR_NOMEM));
		st->fatal = true;
		return;
	}
	rc = otp_db_update(st->db, user, true, OTP_DB_LOCK_MS, store_cb, &a);
	if (rc == OTP_OK) {
		st->imported++;
	} else if (rc == OTP_ERR_EXISTS) {
		char why[OTP_USER_MAX + 64];

		snprintf(why, sizeof(why), "%s already has a key (use -f to replace it)", user);
		skip(st, file, line, why);
	} else {
		db_error(st->db, user, rc);
		st->fatal = true;
	}
}

static int open_source(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	struct stat sb;

	if (fd < 0) {
		errmsg("%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		errmsg("%s: not a regular file", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* A file of one record per line: OPIE's opiekeys or S/Key's skeykeys. */
static void import_lines(struct import_state *st, const char *path, bool opie)
{
	struct reader *rd;
	char line[OTP_IMPORT_LINE_MAX + 1], user[OTP_USER_MAX + 1];
	struct otp_record r;
	unsigned ln = 0;
	size_t len;
	int fd, res;

	if ((fd = open_source(path)) < 0) {
		st->fatal = true;
		return;
	}
	if ((rd = calloc(1, sizeof(*rd))) == NULL) {
		errmsg("%s", otp_strerror(OTP_ERR_NOMEM));
		st->fatal = true;
		close(fd);
		return;
	}
	rd->fd = fd;
	while (!st->fatal && (res = next_line(rd, line, sizeof(line), &len)) != LINE_EOF) {
		const char *why;
		enum otp_import_res ir;

		ln++;
		if (res == LINE_ERR) {
			errmsg("%s: %s", path, strerror(errno));
			st->fatal = true;
			break;
		}
		if (res == LINE_LONG) {
			skip(st, path, ln, "line too long");
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
		ssize_t got;
		struct stat sb;
		int fd;

		if (st->fatal)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
			skip(st, name, 0, "path too long");
			continue;
		}
		fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			skip(st, path, 0, errno == ELOOP ? "a symbolic link" : strerror(errno));
			continue;
		}
		if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			close(fd);
			skip(st, path, 0, "not a regular file");
			continue;
		}
		while (len < sizeof(text)) {
			got = read(fd, text + len, sizeof(text) - len);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				break;
			len += (size_t)got;
		}
		close(fd);
		if (len > OTP_IMPORT_FILE_MAX) {
			skip(st, path, 0, "file too large");
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
		return usage_error("import: unexpected argument %s", argv[optind]);
	if ((opie == NULL) == (skey == NULL))
		return usage_error("import: give one of --opie FILE or --skey PATH");

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
			errmsg("stopped after importing %u users", st.imported);
		return EX_FAIL;
	}
	printf("imported %u users, skipped %u\n", st.imported, st.skipped);
	return st.skipped > 0 ? EX_FAIL : EX_OK;
}
