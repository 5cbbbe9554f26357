/* internal.h - helpers shared by libotp's files, not part of the API. */
#ifndef OTP_INTERNAL_H
#define OTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Locale-independent character classes: libotp runs inside programs
 * (login, sshd) that may have set any locale, and the RFCs speak of ASCII.
 */
static inline int otp_isspace(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static inline int otp_isalnum(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline int otp_tolower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static inline int otp_toupper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

static inline int otp_isdigit(int c)
{
	return c >= '0' && c <= '9';
}

/* The value of a hex digit, or -1. */
static inline int otp_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Blanks within a line of a key file: its newline has already been taken off. */
static inline int otp_isblank_line(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* One blank-separated field of a key-file line: not NUL-terminated. */
struct otp_field {
	const char *p;
	size_t len;
};

/* Splits line at blanks into at most max fields; returns how many (max+1 if more). */
size_t otp_fields_split(const char *line, size_t len, struct otp_field *f, size_t max);

/* True when field f is exactly the string s. */
bool otp_field_is(const struct otp_field *f, const char *s);

#endif /* OTP_INTERNAL_H */
