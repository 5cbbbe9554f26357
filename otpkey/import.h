/* import.h - parsers for OPIE's and S/Key's key files: pure functions, no I/O. */
#ifndef OTPKEY_IMPORT_H
#define OTPKEY_IMPORT_H

#include <stddef.h>

#include "otp.h"

#define IMPORT_LINE_MAX  1024   /* OPIE's and S/Key's own readers stop at 256 */
#define IMPORT_FILE_MAX  4096   /* one /etc/skey/USER file: five short lines */

/* One user's key as the old system kept it. */
struct import_rec {
	char user[OTP_USER_MAX + 1];
	enum otp_alg alg;
	unsigned seq;                   /* count of last: the next challenge is seq-1 */
	char seed[OTP_SEED_MAX + 1];    /* lower case */
	otp_key last;                   /* the last accepted OTP */
};

enum import_res {
	IMPORT_OK,      /* *r holds a record */
	IMPORT_IGNORE,  /* a blank line, a comment or a removed entry */
	IMPORT_BAD      /* *why says what is wrong */
};

/*
 * One line of OPIE's /etc/opiekeys, without its newline (len bytes, NUL
 * bytes are rejected): "name seq seed hexkey date...", md5.  On
 * IMPORT_BAD, *why is a static reason.  r must be wiped by the caller.
 */
enum import_res import_opie_line(const char *line, size_t len, struct import_rec *r,
                                 const char **why);

/*
 * One line of S/Key's older /etc/skeykeys: "name [alg] seq seed hexkey
 * date..."; no alg means md4; '#' starts a comment or a removed entry.
 */
enum import_res import_skeykeys_line(const char *line, size_t len, struct import_rec *r,
                                     const char **why);

/*
 * The whole of OpenBSD's /etc/skey/NAME: five lines, user (must be name),
 * algorithm, sequence, seed, hexkey.  An empty file is IMPORT_IGNORE (no
 * key).  On IMPORT_BAD, *lineno is the line at fault.
 */
enum import_res import_skey_file(const char *name, const char *text, size_t len,
                                 struct import_rec *r, unsigned *lineno, const char **why);

#endif /* OTPKEY_IMPORT_H */
