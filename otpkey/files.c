/* files.c - the files otpkey reads (bounded, regular files only) and writes (secret: new, 0600, replaced atomically). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "otpkey.h"

int open_source(const char *path, bool follow)
{
	int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	struct stat sb;

	if (fd < 0) {
		errmsg("%s: %s", path, errno == ELOOP ? _("a symbolic link") : strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		errmsg(_("%s: not a regular file"), path);
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
		errmsg(_("%s: file too large"), path);
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

/* ---- files that hold a secret ---- */

/* path's directory and last component, for a sibling temporary file. */
static bool split_path(const char *path, char *tmp, size_t size)
{
	const char *slash = strrchr(path, '/');
	int n;

	if (slash == NULL)
		n = snprintf(tmp, size, ".%s.XXXXXX", path);
	else
		n = snprintf(tmp, size, "%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1);
	return n > 0 && (size_t)n < size && (slash == NULL || slash[1] != '\0');
}

bool secret_create(struct secret_file *sf, const char *path, bool force)
{
	memset(sf, 0, sizeof(*sf));
	sf->fd = -1;
	if (path[0] == '\0' || strlen(path) >= sizeof(sf->path) || !split_path(path, sf->tmp, sizeof(sf->tmp))) {
		errmsg(_("%s: not a usable file name"), path);
		return false;
	}
	strcpy(sf->path, path);
	if (!force) {
		/* Never an existing file, nor through a symbolic link: a new one, ours, 0600. */
		sf->tmp[0] = '\0';
		sf->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (sf->fd < 0 && errno == EEXIST)
			errmsg(_("%s: already exists (use -f to replace it)"), path);
	} else {
		/* A new 0600 file beside it, renamed over it once complete. */
		sf->fd = mkostemp(sf->tmp, O_CLOEXEC);
	}
	if (sf->fd < 0) {
		if (errno != EEXIST || force)
			errmsg("%s: %s", path, strerror(errno));
		return false;
	}
	if (fchmod(sf->fd, 0600) != 0 || (sf->f = fdopen(sf->fd, "wb")) == NULL) {
		errmsg("%s: %s", path, strerror(errno));
		secret_finish(sf, false);
		return false;
	}
	/* Our own buffer, wiped after: stdio's would keep a copy of the secret. */
	setvbuf(sf->f, sf->buf, _IOFBF, sizeof(sf->buf));
	return true;
}

bool secret_finish(struct secret_file *sf, bool ok)
{
	const char *made = sf->tmp[0] != '\0' ? sf->tmp : sf->path;
	bool opened = sf->fd >= 0;
	int err = 0;

	if (sf->f == NULL) {
		if (opened)
			close(sf->fd);
		ok = false;
	} else {
		errno = EIO;
		if (ok && (fflush(sf->f) != 0 || ferror(sf->f) || fsync(sf->fd) != 0))
			err = errno;
		if (fclose(sf->f) != 0 && ok && err == 0)
			err = errno;
		if (ok && err == 0 && sf->tmp[0] != '\0' && rename(sf->tmp, sf->path) != 0)
			err = errno;
	}
	if (err != 0) {
		errmsg("%s: %s", sf->path, strerror(err));
		ok = false;
	}
	if (!ok && opened)
		unlink(made);
	otp_wipe(sf->buf, sizeof(sf->buf));
	sf->f = NULL;
	sf->fd = -1;
	return ok;
}
