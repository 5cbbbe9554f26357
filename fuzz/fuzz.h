/* fuzz.h - helpers shared by the libFuzzer harnesses (one harness per fuzz_*.c file). */
#ifndef OTP_FUZZ_H
#define OTP_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * An invariant that must hold for every input: on failure, say which and
 * abort, so that libFuzzer saves the input as a crash.
 */
#define FUZZ_ASSERT(cond)                                                        \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, \
			        __LINE__, #cond);                                \
			abort();                                                 \
		}                                                                \
	} while (0)

/*
 * The input as a C string in a heap block of exactly size + 1 bytes, so
 * that AddressSanitizer sees any read past its end.  Stops at the first
 * NUL, as every string interface does.  The caller frees it.
 */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* True when n bytes at p are all zero: what a refused parse must leave. */
static inline bool fuzz_all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/* The input as an exactly sized heap copy (malloc(0) avoided). */
static inline unsigned char *fuzz_copy(const uint8_t *data, size_t size)
{
	unsigned char *p = malloc(size ? size : 1);

	if (p == NULL)
		abort();
	memcpy(p, data, size);
	return p;
}

static inline int fuzz_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static inline int fuzz_upper(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* OTP_FUZZ_H */
