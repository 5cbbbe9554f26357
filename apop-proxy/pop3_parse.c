/* pop3_parse.c - POP3 command lines: line framing, keywords and argument rules, no I/O. */
#include <string.h>

#include "proxy.h"

/* The command table: per-command argument rules (RFC 1939, 2449, 2595, 5034). */
static const struct {
	const char *name;
	unsigned min_args, max_args;
	bool rest;              /* the last argument: the rest of the line */
} table[CMD__COUNT] = {
	[CMD_CAPA] = { "CAPA", 0, 0, false },
	[CMD_USER] = { "USER", 1, 1, false },
	[CMD_PASS] = { "PASS", 1, 1, true },
	[CMD_APOP] = { "APOP", 2, 2, false },
	[CMD_STLS] = { "STLS", 0, 0, false },
	[CMD_AUTH] = { "AUTH", 0, 2, true },
	[CMD_QUIT] = { "QUIT", 0, 0, false },
	[CMD_NOOP] = { "NOOP", 0, 0, false },
	[CMD_STAT] = { "STAT", 0, 0, false },
	[CMD_LIST] = { "LIST", 0, 1, false },
	[CMD_RETR] = { "RETR", 1, 1, false },
	[CMD_DELE] = { "DELE", 1, 1, false },
	[CMD_RSET] = { "RSET", 0, 0, false },
	[CMD_TOP]  = { "TOP",  2, 2, false },
	[CMD_UIDL] = { "UIDL", 0, 1, false },
};

const char *pop3_cmd_name(enum pop3_cmd_id id)
{
	return (unsigned)id < CMD__COUNT ? table[id].name : "?";
}

int pop3_find_line(const char *buf, size_t len, size_t max, size_t *linelen, size_t *consumed)
{
	size_t scan = len < max ? len : max;
	const char *lf = memchr(buf, '\n', scan);
	size_t n;

	if (lf == NULL)
		return len >= max ? -1 : 0;
	n = (size_t)(lf - buf);
	*consumed = n + 1;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	*linelen = n;
	return 1;
}

static int upper(int ch)
{
	return ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch;
}

enum pop3_parse_res pop3_parse(const char *line, size_t len, struct pop3_cmd *cmd)
{
	size_t i, kw, start;
	unsigned k;

	memset(cmd, 0, sizeof(*cmd));
	if (len + 2 > POP3_LINE_MAX)
		return P3_TOO_LONG;
	for (i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] == 0x7f)
			return P3_BAD_CHAR;
	if (len == 0)
		return P3_EMPTY;
	for (kw = 0; kw < len && line[kw] != ' '; kw++)
		;
	if (kw < 3 || kw > 4)
		return P3_UNKNOWN;
	for (k = 0; k < CMD__COUNT; k++) {
		const char *name = table[k].name;

		if (strlen(name) != kw)
			continue;
		for (i = 0; i < kw && upper((unsigned char)line[i]) == name[i]; i++)
			;
		if (i == kw)
			break;
	}
	if (k == CMD__COUNT)
		return P3_UNKNOWN;
	cmd->id = (enum pop3_cmd_id)k;

	if (table[k].rest && table[k].max_args == 1) {
		/* "PASS " and then anything printable, spaces included. */
		if (kw + 1 >= len)
			return P3_ARGS;
		memcpy(cmd->rest, line + kw + 1, len - kw - 1);
		cmd->rest[len - kw - 1] = '\0';
		cmd->nargs = 1;
		return P3_OK;
	}
	start = kw;
	while (start < len) {
		size_t end;

		/* Exactly one space between arguments (RFC 1939 s3). */
		if (line[start] != ' ' || start + 1 >= len || line[start + 1] == ' ')
			return P3_ARGS;
		start++;
		if (cmd->nargs == table[k].max_args)
			return P3_ARGS;
		if (table[k].rest && cmd->nargs + 1 == table[k].max_args) {
			/* AUTH's initial response: the rest of the line, within it. */
			memcpy(cmd->rest, line + start, len - start);
			cmd->rest[len - start] = '\0';
			cmd->nargs++;
			break;
		}
		for (end = start; end < len && line[end] != ' '; end++)
			;
		if (end - start > POP3_ARG_MAX)
			return P3_ARG_LONG;
		memcpy(cmd->arg[cmd->nargs], line + start, end - start);
		cmd->arg[cmd->nargs][end - start] = '\0';
		cmd->nargs++;
		start = end;
	}
	if (cmd->nargs < table[k].min_args)
		return P3_ARGS;
	return P3_OK;
}
