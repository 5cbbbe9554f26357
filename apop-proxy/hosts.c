/* hosts.c - the master's table of client addresses: connections each holds, failures remembered. */
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <netinet/in.h>

#include "hosts.h"

#define HOSTS_MAX   2048    /* addresses remembered: more than max_connections allows */

static struct host *hosts;

void *wiped_on_fork(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* The sessions are forked from here: they must not see other clients' addresses. */
	if (madvise(p, size, MADV_WIPEONFORK) != 0) {
		munmap(p, size);
		return NULL;
	}
	return p;
}

bool hosts_init(void)
{
	hosts = wiped_on_fork(HOSTS_MAX * sizeof(*hosts));
	return hosts != NULL;
}

struct host *host_at(int i)
{
	return &hosts[i];
}

void addr_key(const struct sockaddr_storage *ss, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	*family = (uint8_t)ss->ss_family;
	if (ss->ss_family == AF_INET)
		memcpy(addr, &((const struct sockaddr_in *)(const void *)ss)->sin_addr, 4);
	else if (ss->ss_family == AF_INET6)
		memcpy(addr, &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr, 16);
}

int host_find(uint8_t family, const uint8_t addr[16], bool create)
{
	int free_slot = -1, oldest = -1;

	for (int i = 0; i < HOSTS_MAX; i++) {
		struct host *h = &hosts[i];

		if (!h->used) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (h->family == family && memcmp(h->addr, addr, 16) == 0)
			return i;
		if (h->conns == 0 && (oldest < 0 || h->last_failure < hosts[oldest].last_failure))
			oldest = i;
	}
	if (!create)
		return -1;
	if (free_slot < 0)
		free_slot = oldest;
	if (free_slot < 0)
		return -1;
	memset(&hosts[free_slot], 0, sizeof(hosts[free_slot]));
	hosts[free_slot].used = true;
	hosts[free_slot].family = family;
	memcpy(hosts[free_slot].addr, addr, 16);
	return free_slot;
}

void host_release(int i)
{
	struct host *h = &hosts[i];

	if (h->conns > 0)
		h->conns--;
	if (h->conns == 0 && h->failures == 0)
		h->used = false;
}

unsigned host_failures(int i, unsigned memory)
{
	struct host *h = &hosts[i];

	if (h->failures > 0 && time(NULL) - h->last_failure > (time_t)memory)
		h->failures = 0;
	return h->failures;
}

void host_outcome(const struct outcome *o, unsigned memory)
{
	int i = host_find(o->family, o->addr, !o->success);

	if (i < 0)
		return;
	if (o->success) {
		hosts[i].failures = 0;
		return;
	}
	(void)host_failures(i, memory);
	hosts[i].failures++;
	hosts[i].last_failure = time(NULL);
}
