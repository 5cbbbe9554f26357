/* fuzz_sasl.c - apop-proxy's SASL base64 and client messages: exact decoding, fields within bounds. */
#include "../apop-proxy/proxy.h"
#include "fuzz.h"

/* Whatever decodes is canonical base64: encoding the result gives the input back. */
static void check_b64(const char *in, size_t size)
{
	unsigned char out[SASL_MSG_MAX + 1];
	char enc[2 * SASL_LINE_MAX];
	size_t n = 0;

	if (!sasl_b64_decode(in, size, out, sizeof(out), &n))
		return;
	FUZZ_ASSERT(n <= sizeof(out));
	FUZZ_ASSERT(sasl_b64_encode(out, n, enc, sizeof(enc)));
	FUZZ_ASSERT(strlen(enc) == size && memcmp(enc, in, size) == 0);
}

/* A split names exactly nfields pieces of msg, within the limits sasl_split promises. */
static void check_split(const unsigned char *msg, size_t size, unsigned nfields)
{
	const char *field[3];
	size_t flen[3], total = 0;

	if (!sasl_split(msg, size, nfields, field, flen))
		return;
	for (unsigned i = 0; i < nfields; i++) {
		FUZZ_ASSERT(flen[i] <= SASL_FIELD_MAX && (i == 0 || flen[i] > 0));
		FUZZ_ASSERT(field[i] >= (const char *)msg &&
		            field[i] + flen[i] <= (const char *)msg + size);
		FUZZ_ASSERT(memchr(field[i], '\0', flen[i]) == NULL);
		for (size_t k = 0; k < flen[i] && !(nfields == 3 && i == 2); k++)
			FUZZ_ASSERT((unsigned char)field[i][k] >= 0x20 && (unsigned char)field[i][k] != 0x7f);
		total += flen[i];
	}
	FUZZ_ASSERT(total + nfields - 1 == size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf = fuzz_copy(data, size);

	check_b64((const char *)buf, size);
	check_split(buf, size, 2);
	check_split(buf, size, 3);
	free(buf);
	return 0;
}
