/* store_pg.c - the PostgreSQL store: many hosts, one key store (not built yet). */
#include "otp.h"
#include "store.h"

enum otp_err otp_pg_open(const char *uri, unsigned lock_ms, bool create, struct otp_store **s)
{
	(void)uri;
	(void)lock_ms;
	(void)create;
	*s = NULL;
	return OTP_ERR_DB_OPEN;
}
