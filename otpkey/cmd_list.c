/* cmd_list.c - otpkey's commands on every user: list, audit, checkpoint, and the import dispatcher. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otpkey.h"

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
	e->seq = otp_record_remaining(rec);
	memcpy(e->seed, rec->seed, sizeof(e->seed));
	e->seed[OTP_SEED_MAX] = '\0';
	e->flags = rec->flags;
	e->locked = rec->locked_until > (int64_t)cl->now;
	e->token = rec->tok.type;
	return true;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->user, ((const struct entry *)b)->user);
}

static int collect_all(const char *db, struct collect *cl)
{
	enum otp_err rc;

	memset(cl, 0, sizeof(*cl));
	cl->now = time(NULL);
	rc = otp_db_foreach(db, OTP_DB_LOCK_MS, collect_cb, cl);
	if (rc == OTP_OK && cl->nomem)
		rc = OTP_ERR_NOMEM;
	if (rc != OTP_OK) {
		free(cl->v);
		cl->v = NULL;
		return db_error(db, NULL, rc);
	}
	if (cl->n > 0)
		qsort(cl->v, cl->n, sizeof(*cl->v), by_name);
	/* Outstanding challenges are kept beside the records, not in them. */
	for (size_t i = 0; i < cl->n; i++) {
		unsigned n = 0;

		if (otp_db_pending(db, cl->v[i].user, OTP_DB_LOCK_MS, false, &n) == OTP_OK)
			cl->v[i].pending = n > 0;
	}
	return EX_OK;
}

int cmd_list(const char *db, int argc, char **argv)
{
	struct collect cl;
	int ret, width = 8;

	(void)argv;
	if (argc != 1)
		return usage_error(_("list: takes no arguments"));
	if ((ret = collect_all(db, &cl)) != EX_OK)
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

int cmd_audit(const char *db, int argc, char **argv)
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
		return usage_error(_("audit: unexpected argument %s"), argv[optind]);
	if ((ret = collect_all(db, &cl)) != EX_OK)
		return ret;
	for (size_t i = 0; i < cl.n; i++) {
		/* A token never runs out; a token-only user has no responses to count. */
		if (cl.v[i].seq >= limit || (cl.v[i].flags & OTP_REC_NO_KEY))
			continue;
		if (cl.v[i].flags & OTP_REC_DISABLED)
			printf(_("%s: %u responses left (disabled)\n"), cl.v[i].user, cl.v[i].seq);
		else
			printf(_("%s: %u responses left\n"), cl.v[i].user, cl.v[i].seq);
		low++;
	}
	free(cl.v);
	return low > 0 ? EX_FAIL : EX_OK;
}

int cmd_import_wrap(const char *db, int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strncmp(argv[i], "--google-authenticator", 22) == 0 ||
		    strncmp(argv[i], "--pam-oath", 10) == 0)
			return cmd_import_token(db, argc, argv);
	return cmd_import(db, argc, argv);
}


int cmd_checkpoint(const char *db, int argc, char **argv)
{
	enum otp_err rc;

	(void)argv;
	if (argc != 1)
		return usage_error(_("checkpoint: takes no arguments"));
	rc = otp_db_flush(db, OTP_DB_LOCK_MS);
	return rc == OTP_OK ? EX_OK : db_error(db, NULL, rc);
}
