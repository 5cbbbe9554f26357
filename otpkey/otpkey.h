/* otpkey.h - what otpkey's files share: messages, input, the paper sheet. */
#ifndef OTPKEY_H
#define OTPKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "otp.h"

#define OTPKEY_VERSION   "0.1"
#define SHEET_COUNT_MAX  100   /* two columns of 50 lines: one A4 or Letter page */
#define SHEET_COUNT_DEF  100
#define SEQ_DEFAULT      499   /* the first challenge is 498, as OPIE's and S/Key's */
#define AUDIT_LIMIT_DEF  10    /* RFC 2243 s4.3: warn below ten */

/* getopt values of the long-only options, beyond any character. */
enum { OPT_DB = 0x100, OPT_VERSION, OPT_REMOTE, OPT_SHEET, OPT_OPIE, OPT_SKEY };

/* Exit statuses (otpkey(8) EXIT STATUS). */
enum { EX_OK = 0, EX_FAIL = 1, EX_USAGE = 2 };

/* "otpkey: <message>" on stderr, one line. */
void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A usage error: the message and a hint, on one line; returns EX_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A usage error for getopt's answer o (':' or '?'), naming the option; returns EX_USAGE. */
int bad_option(const char *cmd, int o, char **argv);

/* Reports a store error about user (may be NULL) or the database path; returns EX_FAIL. */
int db_error(const char *path, const char *user, enum otp_err rc);

/* ---- input.c ---- */

/*
 * Reads one line: from the terminal through otp_read_tty (prompting, echo
 * off with secret) when standard input is one, else the next line of
 * standard input.  The caller owns buf and wipes it.
 */
enum otp_line read_input_line(const char *prompt, bool secret, char *buf, size_t size,
                              size_t *len);

/* True when standard input is a terminal. */
bool input_is_tty(void);

/* ---- sheet.c ---- */

/*
 * Prints the paper sheet to out: the responses for sequence numbers first
 * down to first-count+1, where keys[i] is the OTP for first-count+1+i.
 * Returns false on a formatting failure.  Every buffer holding a response
 * is wiped; the caller still owns keys and out's buffer.
 */
bool sheet_print(FILE *out, const char *user, enum otp_alg alg, const char *seed,
                 unsigned first, unsigned count, const otp_key *keys);

/*
 * Prints the emergency scratch codes of a token (n of them, used slots
 * skipped) in the paper sheet's layout.  Returns false on a formatting
 * failure; buffers holding codes are wiped.
 */
bool scratch_sheet_print(FILE *out, const char *user, const uint32_t *codes, unsigned n);

/* ---- token.c ---- */

int cmd_init_token(const char *db, int argc, char **argv);
int cmd_import_token(const char *db, int argc, char **argv);

/* ---- migrate.c ---- */

int cmd_import(const char *db, int argc, char **argv);

#endif /* OTPKEY_H */
