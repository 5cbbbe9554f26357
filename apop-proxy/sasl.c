/* sasl.c - SASL's base64 (RFC 4648 s4) and client messages of OTP (RFC 2444) and PLAIN (RFC 4616), no I/O. */
#include <string.h>

#include "proxy.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Only the canonical form is taken: groups of four, '=' padding in the
 * last group alone, and the bits the padding leaves over zero (RFC 4648
 * s3.5), so that every message has exactly one spelling.
 */
bool sasl_b64_decode(const char *in, size_t len, unsigned char *out, size_t size, size_t *outlen)
{
	size_t o = 0;

	*outlen = 0;
	if (len % 4 != 0)
		return false;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		unsigned pad = 0;
		bool last = i + 4 == len;

		for (unsigned k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];

			if (c == '=' && last && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = b64val(c)) < 0)
				return false;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];

		if ((pad == 1 && (w & 0xff) != 0) || (pad == 2 && (w & 0xffff) != 0))
			return false;
		if (o + 3 - pad > size)
			return false;
		out[o++] = (unsigned char)(w >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(w >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)w;
	}
	*outlen = o;
	return true;
}

bool sasl_b64_encode(const unsigned char *in, size_t len, char *out, size_t size)
{
	size_t o = 0;

	if ((len + 2) / 3 * 4 + 1 > size)
		return false;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t w = (uint32_t)in[i] << 16;
		size_t n = len - i < 3 ? len - i : 3;

		if (n > 1)
			w |= (uint32_t)in[i + 1] << 8;
		if (n > 2)
			w |= in[i + 2];
		out[o++] = b64[w >> 18 & 63];
		out[o++] = b64[w >> 12 & 63];
		out[o++] = n > 1 ? b64[w >> 6 & 63] : '=';
		out[o++] = n > 2 ? b64[w & 63] : '=';
	}
	out[o] = '\0';
	return true;
}

bool sasl_split(const unsigned char *msg, size_t len, unsigned nfields,
                const char *field[3], size_t flen[3])
{
	size_t start = 0;
	unsigned f = 0;

	if (nfields < 2 || nfields > 3)
		return false;
	for (size_t i = 0; i <= len; i++) {
		bool end = i == len || msg[i] == '\0';
		bool secret = nfields == 3 && f == 2;

		if (!end) {
			if (!secret && (msg[i] < 0x20 || msg[i] == 0x7f))
				return false;
			continue;
		}
		if (f == nfields)
			return false;   /* a NUL too many */
		field[f] = (const char *)msg + start;
		flen[f] = i - start;
		if (flen[f] > SASL_FIELD_MAX || (f > 0 && flen[f] == 0))
			return false;
		f++;
		start = i + 1;
	}
	return f == nfields;
}
