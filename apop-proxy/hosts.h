/* hosts.h - the master's per-address table (hosts.c). */
#ifndef APOP_HOSTS_H
#define APOP_HOSTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/socket.h>

#include "mon_proto.h"

struct host {
	bool used;
	uint8_t family;
	uint8_t addr[16];
	unsigned conns;
	unsigned failures;
	time_t last_failure;
};

/* Anonymous memory a forked child sees zeroed (MADV_WIPEONFORK); NULL on failure. */
void *wiped_on_fork(size_t size);

/* Makes the table (in memory the sessions do not inherit); false on failure. */
bool hosts_init(void);

struct host *host_at(int i);

/* The table's key for a socket address. */
void addr_key(const struct sockaddr_storage *ss, uint8_t *family, uint8_t addr[16]);

/* The entry for an address, made (evicting an idle one) when create; -1 if none. */
int host_find(uint8_t family, const uint8_t addr[16], bool create);

/* One connection of entry i ended. */
void host_release(int i);

/* The failures entry i remembers, forgotten memory seconds after the last. */
unsigned host_failures(int i, unsigned memory);

/* A login's outcome from a monitor: a failure counts, a success clears. */
void host_outcome(const struct outcome *o, unsigned memory);

#endif /* APOP_HOSTS_H */
