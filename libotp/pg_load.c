/* pg_load.c - libpq, loaded with dlopen when the first PostgreSQL store is opened, and kept. */
#define PG_LOADER
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>

#include "otp.h"
#include "pg.h"

#define LIBPQ_SONAME "libpq.so.5"

struct pg_api pg_api;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static enum otp_err loaded = OTP_ERR_DB_OPEN;

static void load(void)
{
	struct pg_api api;
	void *h;

	memset(&api, 0, sizeof(api));
	/* NODELETE: a PAM stack unloads the module after every login; libpq need not go with it. */
	if ((h = dlopen(LIBPQ_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE)) == NULL)
		return;
#define PG_API_SYM(f) \
	if ((api.f = (__typeof__(&f))dlsym(h, #f)) == NULL) \
		return;
	PG_API(PG_API_SYM)
#undef PG_API_SYM
	pg_api = api;
	loaded = OTP_OK;
}

enum otp_err pg_load(void)
{
	if (pthread_once(&once, load) != 0)
		return OTP_ERR_DB_OPEN;
	return loaded;
}
