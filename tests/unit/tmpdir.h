/* tmpdir.h - the unit tests' private temporary directory: made 0700 under $TMPDIR, removed whole. */
#ifndef OTP_TEST_TMPDIR_H
#define OTP_TEST_TMPDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static int tmpdir_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* A new directory $TMPDIR/NAME.XXXXXX (or under /tmp) into dir; 0, or -1 when it cannot be made. */
static int tmpdir_make(char *dir, size_t size, const char *name)
{
	const char *tmp = getenv("TMPDIR");

	if ((size_t)snprintf(dir, size, "%s/%s.XXXXXX", tmp != NULL ? tmp : "/tmp", name) >= size)
		return -1;
	return mkdtemp(dir) == NULL ? -1 : chmod(dir, 0700);
}

/* The directory and all below it, whatever a test left its mode; 0 when gone. */
static int tmpdir_remove(const char *dir)
{
	chmod(dir, 0700);
	return nftw(dir, tmpdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif /* OTP_TEST_TMPDIR_H */
