/* otpkey.h - what otpkey's files share: the commands, the CLI helpers, input, files, output. */
#ifndef OTPKEY_H
#define OTPKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <qrencode.h>

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

/* ---- the commands (cmd_*.c): each returns an exit status ---- */

int cmd_init(const char *db, int argc, char **argv);
int cmd_sheet(const char *db, int argc, char **argv);
int cmd_info(const char *db, int argc, char **argv);
int cmd_remove(const char *db, int argc, char **argv);
int cmd_disable(const char *db, int argc, char **argv);
int cmd_enable(const char *db, int argc, char **argv);
int cmd_unlock(const char *db, int argc, char **argv);
int cmd_apop(const char *db, int argc, char **argv);
int cmd_list(const char *db, int argc, char **argv);
int cmd_audit(const char *db, int argc, char **argv);
int cmd_import_wrap(const char *db, int argc, char **argv);
int cmd_import(const char *db, int argc, char **argv);
int cmd_init_token(const char *db, int argc, char **argv);
int cmd_import_token(const char *db, int argc, char **argv);
int cmd_create(const char *db, int argc, char **argv);
int cmd_migrate(const char *db, int argc, char **argv);

/* ---- cli.c ---- */

/* stdout through our own buffer; out_flush writes it, wipes it, and returns false on a write error. */
void out_init(void);
bool out_flush(void);

/* "otpkey: <message>" on stderr, one line. */
void errmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A usage error: the message and a hint, on one line; returns EX_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A usage error for getopt's answer o (':' or '?'), naming the option; returns EX_USAGE. */
int bad_option(const char *cmd, int o, char **argv);

/* Reports a store error about user (may be NULL) or the store; returns EX_FAIL. */
int db_error(const char *path, const char *user, enum otp_err rc);

/* Returns whether user is a well-formed name, after saying why not. */
bool check_user(const char *user);

/* Parses what (a number from min to max) into *out; false after a usage error. */
bool parse_num(const char *what, const char *s, unsigned long min, unsigned long max,
               unsigned *out);

/* Returns t as local time in buf, or "never" for 0. */
const char *fmt_time(int64_t t, char *buf, size_t size);

/* Reads a non-empty line for what (read_input_line), saying why on every failure. */
bool read_input(const char *prompt, const char *what, bool secret, char *buf, size_t size,
                size_t *len);

/* The one argument of cmd: a checked user name, or NULL with *ret set after reporting. */
const char *one_user(const char *cmd, int argc, char **argv, int *ret);

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

/* ---- files.c ---- */

enum read_res { READ_OK, READ_EOF, READ_LONG, READ_ERR };

/* Opens path for reading, a regular file only (no symlink unless follow); -1 after saying why. */
int open_source(const char *path, bool follow);

/* Reads all of fd into buf (max + 1 bytes): READ_OK with *len, READ_LONG beyond max, READ_ERR. */
enum read_res read_bounded(int fd, char *buf, size_t max, size_t *len);

/* open_source + read_bounded of path into buf (max + 1 bytes); false after saying why (buf wiped). */
bool slurp(const char *path, char *buf, size_t max, size_t *len);

/* Lines from a descriptor, through a fixed buffer the caller wipes. */
struct reader {
	int fd;
	char buf[4096];
	size_t pos, len;
	bool eof;
};

/* The next line without its "\n": READ_OK, READ_EOF, READ_LONG (the rest dropped) or READ_ERR. */
enum read_res next_line(struct reader *rd, char *line, size_t size, size_t *len);

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

/* ---- qr.c ---- */

/* The QR code q on a terminal, black on white half blocks with a quiet zone. */
void qr_terminal(FILE *out, const QRcode *q);

/* q as a PNG or SVG image in path (mode 0600); false after saying why. */
bool qr_png(const char *path, const QRcode *q);
bool qr_svg(const char *path, const QRcode *q);

#endif /* OTPKEY_H */
