/* internal.h - helpers shared by libotp's files, not part of the API. */
#ifndef OTP_INTERNAL_H
#define OTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otp.h"

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

/* ---- little-endian fields of the on-disk formats (otpkeys(5)) ---------- */

static inline void otp_put_u16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void otp_put_u32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline void otp_put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint16_t otp_get_u16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (unsigned)p[1] << 8);
}

static inline uint32_t otp_get_u32(const unsigned char *p)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline uint64_t otp_get_u64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* True when the n bytes at p are all zero; constant time. */
static inline bool otp_all_zero(const unsigned char *p, size_t n)
{
	unsigned char acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* The check that ends every on-disk structure: the first 8 bytes of SHA-256 (util.c). */
#define OTP_CHECK_LEN 8
enum otp_err otp_check_sum(const void *p, size_t n, unsigned char out[OTP_CHECK_LEN]);
/* True when want is the check of p[0..n-1]; compared in constant time. */
bool otp_check_ok(const void *p, size_t n, const unsigned char *want);

/* HMAC with h's digest into out (at most outsize bytes; *outlen set), through EVP (util.c). */
enum otp_err otp_hmac_calc(enum otp_hmac h, const void *key, size_t keylen, const void *msg,
                           size_t msglen, unsigned char *out, size_t outsize, size_t *outlen);

/* Time: Unix seconds, and milliseconds on the monotonic clock (util.c). */
int64_t otp_now(void);
uint64_t otp_mono_ms(void);
void otp_sleep_ms(unsigned ms);

#endif /* OTP_INTERNAL_H */
