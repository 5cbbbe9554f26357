/* input.c - reading pass phrases and responses: echo off on a terminal, plain lines otherwise. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "otpkey.h"

static struct termios saved_tio;
static volatile sig_atomic_t echo_is_off;
static const int echo_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

/* A signal while the echo is off: put the terminal back, then die of it. */
static void restore_and_die(int sig)
{
	if (echo_is_off)
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	(void)signal(sig, SIG_DFL);
	(void)raise(sig);
}

static bool echo_off(struct sigaction old[])
{
	struct termios tio;
	struct sigaction sa;

	if (tcgetattr(STDIN_FILENO, &saved_tio) != 0)
		return false;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = restore_and_die;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(echo_signals) / sizeof(echo_signals[0]); i++)
		(void)sigaction(echo_signals[i], &sa, &old[i]);
	tio = saved_tio;
	tio.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	tio.c_lflag |= ECHONL;
	echo_is_off = 1;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio) != 0) {
		echo_is_off = 0;
		return false;
	}
	return true;
}

static void echo_on(const struct sigaction old[])
{
	(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	echo_is_off = 0;
	for (size_t i = 0; i < sizeof(echo_signals) / sizeof(echo_signals[0]); i++)
		(void)sigaction(echo_signals[i], &old[i], NULL);
}

bool input_is_tty(void)
{
	return isatty(STDIN_FILENO) == 1;
}

enum in_res read_input_line(const char *prompt, bool secret, char *buf, size_t size,
                            size_t *len)
{
	struct sigaction old[sizeof(echo_signals) / sizeof(echo_signals[0])];
	bool tty = input_is_tty(), quiet = false, got = false;
	enum in_res res = IN_OK;
	size_t n = 0;
	char c;

	*len = 0;
	if (size == 0)
		return IN_LONG;
	buf[0] = '\0';
	if (tty) {
		fputs(prompt, stderr);
		fflush(stderr);
		if (secret) {
			if (!echo_off(old))
				return IN_ERR;
			quiet = true;
		}
	}
	for (;;) {
		ssize_t r = read(STDIN_FILENO, &c, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			res = IN_ERR;
			break;
		}
		if (r == 0) {
			if (!got)
				res = IN_EOF;
			break;
		}
		got = true;
		if (c == '\n')
			break;
		if (res != IN_OK)
			continue;       /* drain the rest of a bad line */
		if (c == '\0')
			res = IN_BAD;
		else if (n + 1 >= size)
			res = IN_LONG;
		else
			buf[n++] = c;
	}
	c = 0;
	if (quiet)
		echo_on(old);
	if (res != IN_OK) {
		otp_wipe(buf, size);
		return res;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return IN_OK;
}
