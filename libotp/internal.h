/* internal.h - helpers shared by libotp's files, not part of the API. */
#ifndef OTP_INTERNAL_H
#define OTP_INTERNAL_H

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

#endif /* OTP_INTERNAL_H */
