/* msg.c - one framed message over a SOCK_SEQPACKET channel, with at most one descriptor. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "mon_proto.h"

bool msg_send(int sock, uint32_t type, const void *payload, size_t len, int fd)
{
	int fds[1] = { fd };

	return msg_send_fds(sock, type, payload, len, fds, fd >= 0 ? 1 : 0);
}

bool msg_send_fds(int sock, uint32_t type, const void *payload, size_t len, const int *fds,
                  unsigned nfds)
{
	struct msg_hdr h = { .type = type, .len = (uint32_t)len };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)(uintptr_t)payload, len } };
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(sizeof(int) * MSG_FDS_MAX)];
	} ctl;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = len > 0 ? 2 : 1 };
	ssize_t n;

	if (len > MSG_PAYLOAD_MAX || nfds > MSG_FDS_MAX)
		return false;
	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		m.msg_control = ctl.buf;
		m.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		ctl.c.cmsg_level = SOL_SOCKET;
		ctl.c.cmsg_type = SCM_RIGHTS;
		ctl.c.cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(&ctl.c), fds, sizeof(int) * nfds);
	}
	do
		n = sendmsg(sock, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)(sizeof(h) + len);
}

/* Takes up to want descriptors a message carried into fds, closes the rest; returns how many came. */
static unsigned take_passed(struct msghdr *m, int *fds, unsigned want)
{
	unsigned n = 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t off = 0; CMSG_LEN(off + sizeof(int)) <= c->cmsg_len; off += sizeof(int)) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + off, sizeof(int));
			if (n < want)
				fds[n] = fd;
			else
				close(fd);
			n++;
		}
	}
	return n;
}

ssize_t msg_recv_fds(int sock, uint32_t *type, void *payload, size_t size, int *fds, unsigned want)
{
	struct msg_hdr h;
	struct iovec iov[2] = { { &h, sizeof(h) }, { payload, size } };
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(sizeof(int) * (MSG_FDS_MAX + 1))];
	} ctl;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = ctl.buf,
	                    .msg_controllen = sizeof(ctl.buf) };
	unsigned nfds;
	ssize_t n;

	for (unsigned i = 0; i < want; i++)
		fds[i] = -1;
	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return MSG_AGAIN;
	if (n <= 0)
		return MSG_EOF;
	nfds = take_passed(&m, fds, want);
	if ((m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 || (size_t)n < sizeof(h) ||
	    h.len != (size_t)n - sizeof(h) || nfds > want) {
		for (unsigned i = 0; i < want; i++)
			if (fds[i] >= 0) {
				close(fds[i]);
				fds[i] = -1;
			}
		return MSG_BAD;
	}
	*type = h.type;
	return (ssize_t)h.len;
}

ssize_t msg_recv(int sock, uint32_t *type, void *payload, size_t size, int *fd)
{
	int dummy;

	return msg_recv_fds(sock, type, payload, size, fd != NULL ? fd : &dummy, fd != NULL ? 1 : 0);
}
