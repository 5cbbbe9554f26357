/* input.c - lines and pass phrases for the command-line tools, and the hardening of their process. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <bsd/readpassphrase.h>
#include <openssl/crypto.h>

#include "otp.h"

enum otp_line otp_read_line(int fd, char *buf, size_t size, size_t *len)
{
	enum otp_line rc = OTP_LINE_EOF;
	size_t n = 0;
	char c = 0;

	*len = 0;
	if (size == 0)
		return OTP_LINE_LONG;
	for (;;) {
		ssize_t r = read(fd, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = OTP_LINE_ERR;
			break;
		}
		if (r == 0 || c == '\n') {
			if (r != 0 && rc == OTP_LINE_EOF)
				rc = OTP_LINE_OK;
			break;
		}
		if (rc == OTP_LINE_EOF)
			rc = OTP_LINE_OK;
		if (rc != OTP_LINE_OK)
			continue;       /* drain the rest of a bad line */
		if (c == '\0')
			rc = OTP_LINE_BAD;
		else if (n + 1 >= size)
			rc = OTP_LINE_LONG;
		else
			buf[n++] = c;
	}
	c = 0;
	if (rc != OTP_LINE_OK) {
		otp_wipe(buf, size);
		return rc;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return OTP_LINE_OK;
}

enum otp_line otp_read_tty(const char *prompt, bool echo, char *buf, size_t size, size_t *len)
{
	/* One spare byte: readpassphrase truncates silently, we must not. */
	char *tmp = malloc(size + 1);
	enum otp_line rc = OTP_LINE_ERR;
	size_t n;

	*len = 0;
	if (tmp == NULL || size == 0)
		goto out;
	if (readpassphrase(prompt, tmp, size + 1,
	                   RPP_REQUIRE_TTY | (echo ? RPP_ECHO_ON : RPP_ECHO_OFF)) == NULL)
		goto out;
	n = strlen(tmp);
	/* readpassphrase cannot tell an empty line from ^D: both mean no answer. */
	if (n == 0) {
		rc = OTP_LINE_EOF;
		goto out;
	}
	if (n >= size) {
		rc = OTP_LINE_LONG;
		goto out;
	}
	memcpy(buf, tmp, n + 1);
	*len = n;
	rc = OTP_LINE_OK;
out:
	if (tmp != NULL) {
		otp_wipe(tmp, size + 1);
		free(tmp);
	}
	if (rc != OTP_LINE_OK && size > 0)
		otp_wipe(buf, size);
	return rc;
}

bool otp_cli_harden(bool lock_all)
{
	static const struct rlimit nocore = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &nocore);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	if (!lock_all)
		return true;
	/* Pages are locked as they are first touched; kernels before 4.4 lack MCL_ONFAULT. */
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0)
		return true;
	return errno == EINVAL && mlockall(MCL_CURRENT | MCL_FUTURE) == 0;
}
