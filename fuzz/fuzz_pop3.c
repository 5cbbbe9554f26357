/* fuzz_pop3.c - apop-proxy's POP3 framing and command parser: limits hold, no control byte passes. */
#include "../apop-proxy/proxy.h"
#include "fuzz.h"

static void check_cmd(const char *line, size_t len)
{
	struct pop3_cmd c;
	enum pop3_parse_res r = pop3_parse(line, len, &c);

	if (r != P3_OK)
		return;
	FUZZ_ASSERT(len + 2 <= POP3_LINE_MAX);
	FUZZ_ASSERT((unsigned)c.id < CMD__COUNT);
	FUZZ_ASSERT(c.nargs <= POP3_ARGS);
	/* PASS's argument, and AUTH's initial response after the mechanism, are in rest. */
	bool in_rest = c.id == CMD_PASS || (c.id == CMD_AUTH && c.nargs == 2);
	unsigned words = c.id == CMD_PASS ? 0 : in_rest ? c.nargs - 1 : c.nargs;

	for (unsigned i = 0; i < words; i++) {
		size_t n = strlen(c.arg[i]);

		FUZZ_ASSERT(n >= 1 && n <= POP3_ARG_MAX);
		for (size_t k = 0; k < n; k++)
			FUZZ_ASSERT((unsigned char)c.arg[i][k] > 0x20 && (unsigned char)c.arg[i][k] != 0x7f);
	}
	if (in_rest) {
		FUZZ_ASSERT(c.rest[0] != '\0' && strlen(c.rest) <= POP3_PASS_MAX);
		FUZZ_ASSERT(c.id != CMD_PASS || c.nargs == 1);
		for (const char *p = c.rest; *p != '\0'; p++)
			FUZZ_ASSERT((unsigned char)*p >= 0x20 && (unsigned char)*p != 0x7f);
	}
	/* The keyword is the one the table names, in any case. */
	FUZZ_ASSERT(strncasecmp(line, pop3_cmd_name(c.id), strlen(pop3_cmd_name(c.id))) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf = fuzz_copy(data, size);
	size_t off = 0;

	/* Frame the input as the session does, and parse every line found. */
	while (off < size) {
		size_t linelen = 0, used = 0;
		int f = pop3_find_line((const char *)buf + off, size - off, POP3_LINE_MAX, &linelen,
		                       &used);

		if (f <= 0) {
			FUZZ_ASSERT(f == 0 || size - off >= POP3_LINE_MAX);
			break;
		}
		FUZZ_ASSERT(used >= 1 && used <= POP3_LINE_MAX && linelen < used);
		FUZZ_ASSERT(buf[off + used - 1] == '\n');
		check_cmd((const char *)buf + off, linelen);
		off += used;
	}
	/* The whole input as one line, too. */
	check_cmd((const char *)buf, size);
	free(buf);
	return 0;
}
