/* otpkey.h - what otpkey's files share: the commands, the CLI helpers, input, files, output. */
#ifndef OTPKEY_H
#define OTPKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <libintl.h>
#include <limits.h>

#include <qrencode.h>

#include "otp.h"

/* Messages through gettext (domain OTP_TEXTDOMAIN); N_ marks a string translated later. */
#define OTP_TEXTDOMAIN   "otp"
#define _(s)             gettext(s)
#define N_(s)            s

#define OTPKEY_VERSION   "0.1"
#define SHEET_COUNT_MAX  100   /* two columns of 50 lines: one A4 or Letter page */
#define SHEET_COUNT_DEF  100
#define SEQ_DEFAULT      499   /* the first challenge is 498, as OPIE's and S/Key's */
#define AUDIT_LIMIT_DEF  10    /* RFC 2243 s4.3: warn below ten */

/* getopt values of the long-only options, beyond any character. */
enum { OPT_DB = 0x100, OPT_VERSION, OPT_REMOTE, OPT_SHEET, OPT_OPIE, OPT_SKEY, OPT_PDF, OPT_PAPER };

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
int cmd_checkpoint(const char *db, int argc, char **argv);
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

/*
 * A file that will hold a secret (a QR image, a sheet, a PDF).  Without
 * force, path is created new (O_EXCL|O_NOFOLLOW, mode 0600) and an
 * existing one is refused; with force, a new 0600 file beside it is
 * renamed over it by secret_finish, so the old file, whoever owns it, is
 * never written.  Write to f; false after saying why.
 */
struct secret_file {
	char path[PATH_MAX];
	char tmp[PATH_MAX];             /* the file renamed over path with force, else "" */
	int fd;
	FILE *f;
	char buf[4096];                 /* f's buffer, wiped by secret_finish */
};
bool secret_create(struct secret_file *sf, const char *path, bool force);

/*
 * Completes the file when ok (flushed, synced, renamed into place) or
 * removes what secret_create made; returns whether the file is complete,
 * after saying why not on a write error.
 */
bool secret_finish(struct secret_file *sf, bool ok);

/* ---- sheet.c ---- */

#define HOST_MAX 64

/* What heads a sheet: whose, from where, when; for RFC 2289 sheets the key and the range. */
struct sheet_head {
	const char *user;
	char host[HOST_MAX + 1];
	char date[32];                  /* YYYY-MM-DD, local time */
	enum otp_alg alg;
	const char *seed;
	unsigned first, count;          /* responses first down to first-count+1 */
};

/* Fills h for user with this host's name and today's date; the caller sets the rest. */
void sheet_head_init(struct sheet_head *h, const char *user);

/*
 * The sheet's title and the heading lines under it ("\n"-separated): of a
 * response sheet, or of the scratch codes.  False when they do not fit or
 * h is not a valid range.
 */
bool sheet_heading(const struct sheet_head *h, bool scratch, char *title, size_t tsize,
                   char *body, size_t bsize);

/* "SEQ: SIX WORDS" into buf, the words padded to pad columns; the caller wipes buf. */
bool sheet_cell(char *buf, size_t size, unsigned seq, const otp_key *k, int pad);

/* Rows of a sheet of count responses: one column up to 50, else two. */
unsigned sheet_rows(unsigned count);

/*
 * Prints the paper sheet to out: the responses for sequence numbers
 * h->first down to first-count+1, where keys[i] is the OTP for
 * first-count+1+i.  Returns false on a formatting failure.  Every buffer
 * holding a response is wiped; the caller still owns keys and out's buffer.
 */
bool sheet_print(FILE *out, const struct sheet_head *h, const otp_key *keys);

/*
 * Prints the emergency scratch codes of a token (n of them, used slots
 * skipped) in the paper sheet's layout.  Returns false on a formatting
 * failure; buffers holding codes are wiped.
 */
bool scratch_sheet_print(FILE *out, const struct sheet_head *h, const uint32_t *codes, unsigned n);

/* Where a sheet goes: standard output, a text file, a PDF (or both files). */
enum paper { PAPER_A4, PAPER_LETTER };
struct sheet_out {
	const char *text;               /* -o FILE */
	const char *pdf;                /* --pdf FILE */
	enum paper paper;
	bool force;                     /* -f: replace existing files */
};

/* --paper's value into *p; false after a usage error. */
bool parse_paper(const char *s, enum paper *p);

/*
 * Takes getopt's answer o with its argument if it is a sheet option (-o,
 * --pdf, --paper) into *out.  Returns 1 when taken, 0 when o is not one,
 * -1 after a usage error.
 */
int sheet_option(int o, const char *arg, struct sheet_out *out);

/* ---- pdf.c ---- */

/*
 * Draws a one-page PDF sheet on f (cairo, text through pango, fonts
 * embedded): the heading, the responses in the text sheet's order with a
 * box to strike each, and the instructions.  False after saying why.
 */
bool pdf_sheet(FILE *f, enum paper paper, const struct sheet_head *h, const otp_key *keys);

/*
 * Draws a one-page PDF for a token's enrolment on f: the heading, the QR
 * code q of uri and uri itself, then the n scratch codes (used slots
 * skipped), each with a box.  False after saying why.
 */
bool pdf_token(FILE *f, enum paper paper, const struct sheet_head *h, const char *uri,
               const QRcode *q, const uint32_t *codes, unsigned n);

/* ---- qr.c ---- */

/* The QR code q on a terminal, black on white half blocks with a quiet zone. */
void qr_terminal(FILE *out, const QRcode *q);

/* q as a PNG or SVG image in path, a secret file (secret_create); false after saying why. */
bool qr_png(const char *path, bool force, const QRcode *q);
bool qr_svg(const char *path, bool force, const QRcode *q);

/* Whether module (x, y) of q is dark; false outside the symbol. */
bool qr_dark(const QRcode *q, int x, int y);

#endif /* OTPKEY_H */
