/*
 * powercut.c - an LD_PRELOAD shim for the power-loss test: it keeps, for
 * every file in one directory, a copy of what a power cut would leave of
 * it: its content as of its last fsync/fdatasync (a file never synced
 * leaves nothing).  A rename or unlink there is applied to the copies too
 * (the store syncs the directory right after each).  The test then puts
 * the copies in place of the files, as a power cut would, and starts the
 * next "boot" (this shim also answers the boot id from a file).
 *
 *   POWERCUT_DIR     the directory whose files are watched
 *   POWERCUT_SHADOW  where the copies are kept
 *   POWERCUT_BOOT    a file holding the boot id to report
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#define BOOT_ID "/proc/sys/kernel/random/boot_id"

static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_unlink)(const char *);
static int (*real_open)(const char *, int, ...);
static int (*real_openat)(int, const char *, int, ...);

/*
 * Run as a constructor, and again by any call that comes first: a
 * sanitizer's runtime, started before us, opens files from its own start.
 */
__attribute__((constructor))
static void init(void)
{
	if (real_openat != NULL)
		return;
	real_fsync = dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
	real_rename = dlsym(RTLD_NEXT, "rename");
	real_unlink = dlsym(RTLD_NEXT, "unlink");
	real_open = dlsym(RTLD_NEXT, "open");
	real_openat = dlsym(RTLD_NEXT, "openat");
}

/* The watched file's name, if path (absolute) is directly in POWERCUT_DIR. */
static const char *watched(const char *path)
{
	const char *dir = getenv("POWERCUT_DIR"), *slash;
	size_t n;

	if (dir == NULL || path == NULL)
		return NULL;
	n = strlen(dir);
	if (strncmp(path, dir, n) != 0 || path[n] != '/')
		return NULL;
	slash = strrchr(path, '/');
	return slash == path + n ? slash + 1 : NULL;
}

static int shadow_path(char *out, const char *name)
{
	const char *sh = getenv("POWERCUT_SHADOW");

	return sh != NULL && snprintf(out, PATH_MAX, "%s/%s", sh, name) < PATH_MAX;
}

/* One copier at a time, so that an older copy never replaces a newer one. */
static int shadow_lock(void)
{
	char p[PATH_MAX];
	int fd;

	if (!shadow_path(p, ".lock"))
		return -1;
	fd = real_open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		flock(fd, LOCK_EX);
	return fd;
}

/* What fd holds now is what the sync being made guarantees: copy it. */
static void keep(int fd)
{
	char self[64], path[PATH_MAX], dst[PATH_MAX], tmp[PATH_MAX + 8], buf[65536];
	const char *name;
	ssize_t n, len;
	off_t off = 0;
	int out;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	len = readlink(self, path, sizeof(path) - 1);
	if (len <= 0)
		return;
	path[len] = '\0';
	if ((name = watched(path)) == NULL || !shadow_path(dst, name))
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
	out = real_open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0)
		return;
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		if (write(out, buf, (size_t)n) != n)
			break;
		off += n;
	}
	close(out);
	real_rename(tmp, dst);
}

static int synced(int fd, int (*real)(int))
{
	int l = shadow_lock(), r;

	keep(fd);
	r = real(fd);
	if (l >= 0)
		close(l);
	return r;
}

int fsync(int fd)
{
	init();
	return synced(fd, real_fsync);
}

int fdatasync(int fd)
{
	init();
	return synced(fd, real_fdatasync);
}

int rename(const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];
	const char *fa = watched(from), *fb = watched(to);
	int l, r;

	init();
	l = shadow_lock();
	r = real_rename(from, to);
	if (r == 0 && fa != NULL && fb != NULL && shadow_path(a, fa) && shadow_path(b, fb) &&
	    real_rename(a, b) != 0 && errno == ENOENT)
		real_unlink(b);     /* renamed over by a file never synced: nothing survives */
	if (l >= 0)
		close(l);
	return r;
}

int unlink(const char *path)
{
	char a[PATH_MAX];
	const char *f = watched(path);
	int r;

	init();
	r = real_unlink(path);
	if (r == 0 && f != NULL && shadow_path(a, f))
		real_unlink(a);
	return r;
}

static const char *boot(const char *path)
{
	const char *b = getenv("POWERCUT_BOOT");

	return b != NULL && path != NULL && strcmp(path, BOOT_ID) == 0 ? b : path;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	init();
	va_start(ap, flags);
	mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
	va_end(ap);
	return real_open(boot(path), flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	init();
	va_start(ap, flags);
	mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
	va_end(ap);
	return real_openat(dirfd, boot(path), flags, mode);
}

int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));
