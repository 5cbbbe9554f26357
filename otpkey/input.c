/* input.c - where otpkey's input lines come from: the terminal or standard input. */
#include <unistd.h>

#include "otpkey.h"

bool input_is_tty(void)
{
	return isatty(STDIN_FILENO) == 1;
}

enum otp_line read_input_line(const char *prompt, bool secret, char *buf, size_t size,
                              size_t *len)
{
	if (input_is_tty())
		return otp_read_tty(prompt, !secret, buf, size, len);
	return otp_read_line(STDIN_FILENO, buf, size, len);
}
