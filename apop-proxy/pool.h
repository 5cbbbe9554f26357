/* pool.h - the master's session processes (pool.c): forked ahead, handed connections. */
#ifndef APOP_POOL_H
#define APOP_POOL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "proxy.h"

/* The master's descriptors live from here up (main.c): a child drops them with one close_range. */
#define FD_PRIVATE 64

struct sproc {
	pid_t pid;              /* 0: a free slot */
	int ctl;                /* the master's end of its control channel */
	bool busy;              /* serving a connection */
	uint64_t conn;          /* that connection */
	int host;               /* its client's entry in the host table */
	int mon;                /* its monitor */
};

/* Makes the table for limit processes; false on failure. */
bool pool_init(unsigned limit);

/* Called for each new control descriptor, to watch it (main.c registers it with its poll set). */
typedef void (*pool_watch_fn)(int fd, unsigned slot);

/*
 * Forks a session process, unprivileged and confined before any
 * connection comes; child_start (main.c) clears the child of the
 * master's state.  Returns its slot or -1.
 */
int pool_spawn(const struct proxy *px, void (*child_start)(void), pool_watch_fn watch);

/* An idle session process, forked now if none waits; -1 if none can be had. */
int pool_idle(const struct proxy *px, void (*child_start)(void), pool_watch_fn watch);

/* Hands connection ci (client fd, monitor channel chan) to slot i; false if it cannot take it. */
bool pool_hand(unsigned i, int fd, int chan, const struct client_info *ci, int host, int mon);

struct sproc *pool_slot(unsigned i);

/* Connections being served. */
unsigned pool_busy(void);

/* Idle processes waiting for a connection. */
unsigned pool_spares(void);

/*
 * Slot i's control channel has something: MM_DONE (its connection is
 * over: *host and *mon say whose) or its end.  Returns true when a
 * connection ended.
 */
bool pool_on_ctl(unsigned i, int *host, int *mon);

/* A child ended: if it was a session process, frees its slot; true with *host and *mon if it was serving. */
bool pool_reaped(pid_t pid, bool *busy, int *host, int *mon);

/* Kills the process serving connection conn, if monitor mon is its monitor. */
void pool_kill(uint64_t conn, int mon);

/* Lets idle slot i go: there are spares enough. */
void pool_retire(unsigned i);

/* Kills every session process (the master stops). */
void pool_kill_all(void);

#endif /* APOP_POOL_H */
