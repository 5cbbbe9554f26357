/* cmd_create.c - "otpkey create": an empty key store (a GDBM file in a 0700 directory, or the PostgreSQL schema). */
#include <stdio.h>

#include "otpkey.h"

/* The name the empty transaction is made under; nothing of it is read or written. */
#define CREATE_NAME "otpkey-create"

static enum otp_db_action keep_cb(const char *user, struct otp_record *rec, bool exists,
                                  void *arg, enum otp_err *err)
{
	(void)user;
	(void)rec;
	(void)exists;
	(void)arg;
	(void)err;
	return OTP_DB_KEEP;
}

static bool count_cb(const char *user, const struct otp_record *rec, void *arg)
{
	(void)user;
	(void)rec;
	(*(unsigned long *)arg)++;
	return true;
}

int cmd_create(const char *db, int argc, char **argv)
{
	unsigned char secret[32];
	unsigned long n = 0;
	enum otp_err rc;

	(void)argv;
	if (argc != 1)
		return usage_error(_("create: takes no arguments"));
	rc = otp_db_foreach(db, OTP_DB_LOCK_MS, count_cb, &n);
	if (rc == OTP_OK) {
		printf(ngettext("%s: exists already, %lu user\n", "%s: exists already, %lu users\n", n),
		       otp_db_path(db), n);
		return EX_OK;
	}
	if (rc != OTP_ERR_DB_MISSING)
		return db_error(db, NULL, rc);
	/* Opening for an update with create makes the store; an empty transaction writes nothing. */
	rc = otp_db_update(db, CREATE_NAME, true, OTP_DB_LOCK_MS, keep_cb, NULL);
	/* And the host secret now, so that a login never has to write one. */
	if (rc == OTP_OK)
		rc = otp_db_host_secret(db, OTP_DB_LOCK_MS, secret);
	otp_wipe(secret, sizeof(secret));
	if (rc != OTP_OK)
		return db_error(db, NULL, rc);
	printf(_("%s: created, empty\n"), otp_db_path(db));
	return EX_OK;
}
