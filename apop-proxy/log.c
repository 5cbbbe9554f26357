/* log.c - one log line at a time, to syslog (mail facility) or standard error. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "proxy.h"

static enum log_target target = LOGTO_STDERR;

/*
 * LOG_NDELAY opens the socket now, while /dev/log can still be reached:
 * the sessions inherit it into their chroot.
 */
void log_init(enum log_target t)
{
	target = t;
	if (t == LOGTO_SYSLOG)
		openlog("apop-proxy", LOG_PID | LOG_NDELAY, LOG_MAIL);
}

enum log_target log_target(void)
{
	return target;
}

void plog(int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (target == LOGTO_SYSLOG) {
		syslog(prio, "%s", line);
		return;
	}
	/* One write per line, so that lines of concurrent processes never mix. */
	char out[1100];
	n = snprintf(out, sizeof(out), "apop-proxy[%ld]: %s\n", (long)getpid(), line);
	if (n > 0)
		(void)!write(STDERR_FILENO, out, (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1);
}

void log_safe(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; src != NULL && src[i] != '\0' && i + 1 < size && i < OTP_USER_MAX; i++)
		dst[i] = (src[i] > 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
