/* cmd_user.c - otpkey's commands on one user: info, remove, disable, enable, unlock, apop. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "otpkey.h"

int cmd_info(const char *db, int argc, char **argv)
{
	char chal[OTP_CHALLENGE_BUFSZ], t[64];
	struct otp_challenge ch;
	struct otp_record rec;
	unsigned pending = 0;
	time_t now = time(NULL);
	const char *user;
	enum otp_err rc;
	int ret = EX_FAIL;

	if ((user = one_user("info", argc, argv, &ret)) == NULL)
		return ret;
	memset(&rec, 0, sizeof(rec));
	if ((rc = otp_db_get(db, user, OTP_DB_LOCK_MS, &rec)) != OTP_OK) {
		otp_wipe(&rec, sizeof(rec));
		return db_error(db, user, rc);
	}
	if (!otp_record_has_key(&rec))
		printf(_("%s code\n"), otp_tok_name(rec.tok.type));
	else if (otp_record_challenge(&rec, true, &ch) &&
	         otp_challenge_format(&ch, chal, sizeof(chal)) == OTP_OK)
		printf("%s\n", chal);
	else
		printf(_("none: no responses left, give a new key (otpkey init -f %s)\n"), user);
	if (rec.flags & OTP_REC_NO_KEY)
		fputs(_("remaining: no RFC 2289 key\n"), stdout);
	else
		printf(_("remaining: %u\n"), otp_record_remaining(&rec));
	printf(_("created: %s\n"), fmt_time(rec.created, t, sizeof(t)));
	printf(_("last success: %s\n"), fmt_time(rec.last_success, t, sizeof(t)));
	printf(_("last failure: %s\n"), fmt_time(rec.last_failure, t, sizeof(t)));
	printf(_("failures: %lu\n"), (unsigned long)rec.failures);
	printf(_("disabled: %s\n"), rec.flags & OTP_REC_DISABLED ? _("yes") : _("no"));
	printf(_("apop: %s\n"), rec.apop_secret[0] != '\0' ? _("set") : _("not set"));
	if (rec.locked_until > (int64_t)now)
		printf(_("locked until: %s\n"), fmt_time(rec.locked_until, t, sizeof(t)));
	else
		fputs(_("locked until: no\n"), stdout);
	if (otp_db_pending(db, user, OTP_DB_LOCK_MS, false, &pending) == OTP_OK && pending > 0)
		printf(ngettext("pending challenge: yes (%u login)\n", "pending challenge: yes (%u logins)\n",
		                pending), pending);
	else
		fputs(_("pending challenge: no\n"), stdout);
	if (rec.tok.type != OTP_TOK_NONE) {
		const struct otp_token *k = &rec.tok;

		if (k->type == OTP_TOK_TOTP)
			printf(_("token: TOTP %s, %u digits, %u s steps\n"), otp_hmac_name(k->hmac),
			       k->digits, k->step);
		else
			printf(_("token: HOTP %s, %u digits\n"), otp_hmac_name(k->hmac), k->digits);
		if (k->type == OTP_TOK_HOTP)
			printf(_("token next counter: %llu\n"), (unsigned long long)k->counter);
		else if (k->counter == 0)
			fputs(_("token last step: none\n"), stdout);
		else
			printf(_("token last step: %llu (drift %+d)\n"), (unsigned long long)k->counter,
			       k->drift);
		printf(_("scratch codes left: %u\n"), otp_record_scratch_left(&rec));
	}
	otp_wipe(&rec, sizeof(rec));
	return EX_OK;
}

enum user_op { OP_REMOVE, OP_DISABLE, OP_ENABLE, OP_UNLOCK };

static enum otp_db_action user_op_cb(const char *user, struct otp_record *rec, bool exists,
                                     void *arg, enum otp_err *err)
{
	(void)user;
	if (!exists) {
		*err = OTP_ERR_NOUSER;
		return OTP_DB_KEEP;
	}
	switch (*(const enum user_op *)arg) {
	case OP_REMOVE:
		return OTP_DB_DELETE;
	case OP_DISABLE:
		rec->flags |= OTP_REC_DISABLED;
		break;
	case OP_ENABLE:
		rec->flags &= ~OTP_REC_DISABLED;
		break;
	case OP_UNLOCK:
		rec->failures = 0;
		rec->locked_until = 0;
		break;
	}
	return OTP_DB_STORE;
}

static int user_op(const char *db, const char *cmd, enum user_op op, int argc, char **argv)
{
	const char *user;
	unsigned pending = 0;
	enum otp_err rc;
	int ret = EX_FAIL;

	if ((user = one_user(cmd, argc, argv, &ret)) == NULL)
		return ret;
	rc = otp_db_update(db, user, false, OTP_DB_LOCK_MS, user_op_cb, &op);
	/* unlock also forgets the outstanding challenges of logins that never ended. */
	if (rc == OTP_OK && op == OP_UNLOCK)
		rc = otp_db_pending(db, user, OTP_DB_LOCK_MS, true, &pending);
	return rc == OTP_OK ? EX_OK : db_error(db, user, rc);
}

int cmd_remove(const char *db, int argc, char **argv)
{
	return user_op(db, "remove", OP_REMOVE, argc, argv);
}

int cmd_disable(const char *db, int argc, char **argv)
{
	return user_op(db, "disable", OP_DISABLE, argc, argv);
}

int cmd_enable(const char *db, int argc, char **argv)
{
	return user_op(db, "enable", OP_ENABLE, argc, argv);
}

int cmd_unlock(const char *db, int argc, char **argv)
{
	return user_op(db, "unlock", OP_UNLOCK, argc, argv);
}

/* ---- the APOP secret ---- */

static enum otp_db_action apop_cb(const char *user, struct otp_record *rec, bool exists,
                                  void *arg, enum otp_err *err)
{
	const char *secret = arg;   /* NULL: clear */

	(void)user;
	if (!exists) {
		*err = OTP_ERR_NOUSER;
		return OTP_DB_KEEP;
	}
	otp_wipe(rec->apop_secret, sizeof(rec->apop_secret));
	if (secret != NULL)
		memcpy(rec->apop_secret, secret, strlen(secret) + 1);
	return OTP_DB_STORE;
}

/* Two matching APOP secrets of OTP_APOP_SECRET_MIN..MAX printable characters. */
static bool get_apop_secret(char *secret, size_t size)
{
	char again[256];
	size_t len = 0, len2 = 0;
	bool ok = false;

	if (!read_input(_("New APOP secret: "), _("APOP secret"), true, secret, size, &len))
		goto out;
	if (!read_input(_("Again, to check: "), _("second APOP secret"), true, again, sizeof(again),
	                &len2))
		goto out;
	if (!otp_secret_equal(secret, len, again, len2)) {
		errmsg(_("the APOP secrets differ"));
		goto out;
	}
	switch (otp_apop_secret_check(secret, len)) {
	case OTP_OK:
		break;
	case OTP_ERR_INVALID:
		errmsg(_("an APOP secret must be printable ASCII"));
		goto out;
	default:
		errmsg(_("an APOP secret must have %d to %d characters"), OTP_APOP_SECRET_MIN,
		       OTP_APOP_SECRET_MAX);
		goto out;
	}
	ok = true;
out:
	otp_wipe(again, sizeof(again));
	if (!ok)
		otp_wipe(secret, size);
	return ok;
}

int cmd_apop(const char *db, int argc, char **argv)
{
	char secret[256];
	const char *user;
	bool clear = false;
	enum otp_err rc;
	int ret = EX_FAIL;

	if (argc >= 2 && strcmp(argv[1], "-d") == 0) {
		clear = true;
		argc--;
		argv++;
	}
	if ((user = one_user("apop", argc, argv, &ret)) == NULL)
		return ret;
	memset(secret, 0, sizeof(secret));
	if (!clear && !get_apop_secret(secret, sizeof(secret)))
		return EX_FAIL;
	rc = otp_db_update(db, user, false, OTP_DB_LOCK_MS, apop_cb, clear ? NULL : secret);
	otp_wipe(secret, sizeof(secret));
	return rc == OTP_OK ? EX_OK : db_error(db, user, rc);
}

