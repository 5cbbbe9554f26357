/* conn.h - one connection's I/O, plain or TLS, with deadlines (conn.c), and the relay (relay.c). */
#ifndef APOP_CONN_H
#define APOP_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#define IO_TIMEOUT      (-2)
#define IO_WANT_READ    (-3)
#define IO_WANT_WRITE   (-4)

struct conn {
	int fd;
	SSL *ssl;
};

/* Waits for ev on fd until deadline (mono_ms): 1 ready, 0 timed out, -1 error. */
int wait_fd(int fd, short ev, int64_t deadline);

/* One non-blocking attempt: > 0 bytes, 0 end of stream, -1 error, IO_WANT_*. */
ssize_t conn_read_nb(struct conn *c, void *buf, size_t n);
ssize_t conn_write_nb(struct conn *c, const void *buf, size_t n);

/* Reads until deadline: > 0, 0 end, -1 error, IO_TIMEOUT. */
ssize_t conn_read(struct conn *c, void *buf, size_t n, int64_t deadline);

/* Writes all n bytes before deadline; false otherwise. */
bool conn_write_all(struct conn *c, const void *buf, size_t n, int64_t deadline);

/* A TLS handshake on c->ssl (server or client side) before deadline. */
bool tls_handshake(struct conn *c, bool server, int64_t deadline);

/* Shuts TLS down, frees it, closes the descriptor. */
void conn_close(struct conn *c);

/*
 * relay.c: moves bytes both ways between a and b until either side is
 * done or nothing moves for idle_ms; up and down are the bytes already
 * read for each direction (a to b, b to a), sent first.  Between two
 * plain sockets the bytes move by splice(2) and never enter user space.
 * Returns true on a clean end, false on an idle timeout.
 */
bool relay(struct conn *a, struct conn *b, const void *up, size_t uplen,
           const void *down, size_t downlen, int64_t idle_ms);

#endif /* APOP_CONN_H */
