/* fuzz_apop_config.c - apop-proxy.conf(5) parser: hostile text never yields an invalid config. */
#include "../apop-proxy/proxy.h"
#include "fuzz.h"

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = (char *)fuzz_copy(data, size), err[256];
	struct config c;
	bool ok;

	config_defaults(&c);
	ok = config_parse(text, size, &c, err, sizeof(err));
	FUZZ_ASSERT(terminated(err, sizeof(err)));
	if (!ok) {
		FUZZ_ASSERT(err[0] != '\0');
	} else {
		FUZZ_ASSERT(c.nlisten >= 1 && c.nlisten <= CONF_LISTEN_MAX);
		for (unsigned i = 0; i < c.nlisten; i++)
			FUZZ_ASSERT(c.listen[i].port >= 1 && c.listen[i].port <= 65535 &&
			            terminated(c.listen[i].addr, sizeof(c.listen[i].addr)));
		FUZZ_ASSERT(c.backend_port >= 1 && c.backend_port <= 65535);
		FUZZ_ASSERT(strcmp(c.user, "root") != 0 && c.user[0] != '\0');
		FUZZ_ASSERT(c.idle_timeout >= 600 && c.auth_idle_timeout <= c.login_timeout);
		FUZZ_ASSERT(c.max_per_host <= c.max_connections && c.max_connections <= 1000);
		FUZZ_ASSERT(c.fail_delay_ms <= c.fail_delay_max_ms);
		FUZZ_ASSERT(c.master_user[0] != '\0' || c.allow_plain_pass);
		FUZZ_ASSERT(!c.allow_plain_pass || c.tls_cert[0] != '\0');
		FUZZ_ASSERT(terminated(c.chroot_dir, sizeof(c.chroot_dir)) &&
		            terminated(c.master_password_file, sizeof(c.master_password_file)));
		FUZZ_ASSERT(c.chroot_dir[0] == '\0' || c.chroot_dir[0] == '/');
	}
	free(text);
	return 0;
}
