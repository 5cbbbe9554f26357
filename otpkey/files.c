/* files.c - reading the key files otpkey imports: bounded, regular files only, no stdio copies. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "otpkey.h"

int open_source(const char *path, bool follow)
{
	int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	struct stat sb;

	if (fd < 0) {
		errmsg("%s: %s", path, errno == ELOOP ? "a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		errmsg("%s: not a regular file", path);
		close(fd);
		return -1;
	}
	return fd;
}

enum read_res read_bounded(int fd, char *buf, size_t max, size_t *len)
{
	ssize_t got = 0;

	*len = 0;
	/* One byte more than max, to tell a file of max bytes from a longer one. */
	while (*len <= max) {
		got = read(fd, buf + *len, max + 1 - *len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		*len += (size_t)got;
	}
	if (got < 0)
		return READ_ERR;
	return *len > max ? READ_LONG : READ_OK;
}

bool slurp(const char *path, char *buf, size_t max, size_t *len)
{
	int fd = open_source(path, false);
	enum read_res r;

	*len = 0;
	if (fd < 0)
		return false;
	r = read_bounded(fd, buf, max, len);
	close(fd);
	if (r == READ_ERR)
		errmsg("%s: %s", path, strerror(errno));
	else if (r == READ_LONG)
		errmsg("%s: file too large", path);
	if (r != READ_OK)
		otp_wipe(buf, max + 1);
	return r == READ_OK;
}

enum read_res next_line(struct reader *rd, char *line, size_t size, size_t *len)
{
	size_t n = 0;
	bool got = false, long_line = false;

	for (;;) {
		char c;

		if (rd->pos == rd->len) {
			ssize_t r;

			if (rd->eof)
				break;
			do
				r = read(rd->fd, rd->buf, sizeof(rd->buf));
			while (r < 0 && errno == EINTR);
			if (r < 0)
				return READ_ERR;
			if (r == 0) {
				rd->eof = true;
				break;
			}
			rd->pos = 0;
			rd->len = (size_t)r;
		}
		c = rd->buf[rd->pos++];
		got = true;
		if (c == '\n')
			break;
		if (n + 1 >= size)
			long_line = true;
		else
			line[n++] = c;
	}
	line[n] = '\0';
	*len = n;
	if (!got)
		return READ_EOF;
	return long_line ? READ_LONG : READ_OK;
}
