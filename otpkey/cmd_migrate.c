/* cmd_migrate.c - "otpkey migrate": every user and the host secret from one key store to another (GDBM, PostgreSQL). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otpkey.h"
/* The copy goes through the store interface: one connection each, and the store-wide values. */
#include "store.h"
#include "fake.h"

#define CLASH_SHOWN 5       /* names listed when users exist in both stores */

struct user {
	char name[OTP_USER_MAX + 1];
	struct otp_record rec;
};

struct users {
	struct user *v;
	size_t n, cap;
	bool nomem;
	bool records;           /* keep the records, not only the names */
};

static bool collect_cb(const char *name, const struct otp_record *rec, void *arg)
{
	struct users *u = arg;

	if (u->n == u->cap) {
		size_t cap = u->cap ? 2 * u->cap : 64;
		struct user *v = calloc(cap, sizeof(*v));

		if (v == NULL) {
			u->nomem = true;
			return false;
		}
		if (u->n > 0)
			memcpy(v, u->v, u->n * sizeof(*v));
		otp_wipe(u->v, u->cap * sizeof(*u->v));
		free(u->v);
		u->v = v;
		u->cap = cap;
	}
	snprintf(u->v[u->n].name, sizeof(u->v[u->n].name), "%s", name);
	if (u->records)
		u->v[u->n].rec = *rec;
	u->n++;
	return true;
}

static void users_free(struct users *u)
{
	otp_wipe(u->v, u->cap * sizeof(*u->v));
	free(u->v);
	memset(u, 0, sizeof(*u));
}

/* Every user of the store (none when it does not exist yet). */
static enum otp_err read_all(struct otp_store *s, struct users *u, bool records)
{
	enum otp_err rc;

	u->records = records;
	rc = s->ops->foreach(s, collect_cb, u);
	if (rc == OTP_OK && u->nomem)
		rc = OTP_ERR_NOMEM;
	return rc == OTP_ERR_DB_MISSING && !records ? OTP_OK : rc;
}

static bool in(const struct users *u, const char *name)
{
	for (size_t i = 0; i < u->n; i++)
		if (strcmp(u->v[i].name, name) == 0)
			return true;
	return false;
}

/* Without -f, nobody in both: says who and returns false. */
static bool no_clash(const struct users *src, const struct users *dst, const char *dest)
{
	char names[CLASH_SHOWN * (OTP_USER_MAX + 2) + 8];
	size_t clash = 0, off = 0;

	names[0] = '\0';
	for (size_t i = 0; i < src->n; i++) {
		if (!in(dst, src->v[i].name))
			continue;
		if (clash++ < CLASH_SHOWN)
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
			                        off > 0 ? " " : "", src->v[i].name);
	}
	if (clash == 0)
		return true;
	errmsg(ngettext("migrate: %zu user is already in %s (%s%s); nothing copied (use -f to replace them)",
	                "migrate: %zu users are already in %s (%s%s); nothing copied (use -f to replace them)",
	                clash),
	       clash, otp_db_path(dest), names, clash > CLASH_SHOWN ? " ..." : "");
	return false;
}

/*
 * The store-wide values: the host secret (made in the source now if it
 * had none) and, into an empty store, the profile of sampled names, both
 * byte for byte, so that unknown names are shown the same fake challenges
 * by both stores.  A different secret in a store with users is replaced
 * only when replace; *refused says so.
 */
static enum otp_err copy_meta(struct otp_store *from, struct otp_store *to, bool replace,
                              bool empty, bool *refused)
{
	unsigned char secret[32], v[OTP_META_MAX + 1], w[OTP_META_MAX + 1];
	size_t len = 0, wlen = 0;
	enum otp_err rc;

	*refused = false;
	if ((rc = otp_store_host_secret(from, secret)) != OTP_OK ||
	    (rc = from->ops->meta_get(from, OTP_META_HOST_SECRET, v, sizeof(v), &len)) != OTP_OK)
		goto out;
	rc = to->ops->meta_get(to, OTP_META_HOST_SECRET, w, sizeof(w), &wlen);
	if (rc == OTP_OK && !replace && !empty &&
	    !otp_secret_equal((const char *)v, len, (const char *)w, wlen)) {
		*refused = true;
		goto out;
	}
	if (rc != OTP_OK && rc != OTP_ERR_NOUSER && rc != OTP_ERR_DB_MISSING)
		goto out;
	if ((rc = to->ops->meta_put(to, OTP_META_HOST_SECRET, v, len, false)) != OTP_OK || !empty)
		goto out;
	rc = from->ops->meta_get(from, OTP_META_PROFILE, v, sizeof(v), &len);
	if (rc == OTP_OK)
		rc = to->ops->meta_put(to, OTP_META_PROFILE, v, len, false);
	else if (rc == OTP_ERR_NOUSER)
		rc = OTP_OK;        /* a store made before profiles: the next change rebuilds one */
out:
	otp_wipe(secret, sizeof(secret));
	otp_wipe(v, sizeof(v));
	otp_wipe(w, sizeof(w));
	return rc;
}

struct copy_arg {
	const struct otp_record *rec;
	bool force;
	bool existed;
};

/* The record as it was, through the one codec: the same sheets, calculators, tokens. */
static enum otp_db_action copy_cb(struct otp_txn *t, void *arg, enum otp_err *err)
{
	struct copy_arg *a = arg;

	a->existed = t->exists;
	if (t->exists && !a->force) {
		*err = OTP_ERR_EXISTS;
		return OTP_DB_KEEP;
	}
	t->rec = *a->rec;
	return OTP_DB_STORE;
}

static int copy_all(struct otp_store *to, const char *dest, const struct users *src, bool force,
                    bool note, size_t *moved)
{
	enum otp_err rc;

	*moved = 0;
	for (size_t i = 0; i < src->n; i++) {
		struct copy_arg a = { .rec = &src->v[i].rec, .force = force };

		rc = to->ops->txn(to, src->v[i].name, OTP_TXN_CREATE, copy_cb, &a);
		/* Into a store that had users, the profile samples the newcomers too. */
		if (rc == OTP_OK && note && !a.existed)
			rc = otp_profile_note(to, src->v[i].name, true);
		if (rc != OTP_OK) {
			errmsg(_("migrate: stopped after %zu of %zu users"), *moved, src->n);
			return db_error(dest, src->v[i].name, rc);
		}
		(*moved)++;
	}
	return EX_OK;
}

int cmd_migrate(const char *db, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct users src = { 0 }, dst = { 0 };
	struct otp_store *from = NULL, *to = NULL;
	const char *dest;
	size_t moved = 0;
	bool force = false, refused = false;
	enum otp_err rc;
	int o, ret = EX_FAIL;

	optind = 1;
	while ((o = getopt_long(argc, argv, "+:f", opts, NULL)) != -1) {
		if (o != 'f')
			return bad_option("migrate", o, argv);
		force = true;
	}
	if (optind != argc - 1)
		return usage_error(_("migrate: give one DEST store"));
	dest = argv[optind];
	if (otp_db_spec_check(dest) != OTP_OK)
		return usage_error(_("migrate: DEST must be an absolute path or a postgresql:// URI"));
	if (strcmp(otp_db_path(db), dest) == 0)
		return usage_error(_("migrate: DEST is the store it would copy from"));
	if ((rc = otp_store_open(db, OTP_DB_LOCK_MS, false, &from)) != OTP_OK ||
	    (rc = read_all(from, &src, true)) != OTP_OK) {
		ret = db_error(db, NULL, rc);
		goto out;
	}
	if ((rc = otp_store_open(dest, OTP_DB_LOCK_MS, true, &to)) != OTP_OK ||
	    (rc = read_all(to, &dst, false)) != OTP_OK) {
		ret = db_error(dest, NULL, rc);
		goto out;
	}
	if (!force && !no_clash(&src, &dst, dest))
		goto out;
	if ((rc = copy_meta(from, to, force, dst.n == 0, &refused)) != OTP_OK) {
		ret = db_error(dest, NULL, rc);
		goto out;
	}
	if (refused) {
		errmsg(_("migrate: %s has users and another host secret; nothing copied (use -f to replace it)"),
		       otp_db_path(dest));
		goto out;
	}
	if ((ret = copy_all(to, dest, &src, force, dst.n > 0, &moved)) != EX_OK)
		goto out;
	printf(ngettext("migrated %zu user and the host secret from %s to %s\n",
	                "migrated %zu users and the host secret from %s to %s\n", moved),
	       moved, otp_db_path(db), otp_db_path(dest));
	ret = EX_OK;
out:
	otp_store_close(from);
	otp_store_close(to);
	users_free(&src);
	users_free(&dst);
	return ret;
}
