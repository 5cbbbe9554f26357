/* otp.h - the one public header of libotp, the RFC 2289/2243 one-time-password core. */
#ifndef OTP_H
#define OTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Limits, each with where it comes from ---------------------------- */

#define OTP_KEY_LEN        8    /* RFC 2289 s5: every OTP is folded to 64 bits */
#define OTP_SEED_MIN       1    /* RFC 2289 s6 "Form of Inputs": 1 to 16 alphanumerics */
#define OTP_SEED_MAX       16
#define OTP_PASS_MIN       10   /* RFC 2289 s6: pass phrases MUST have at least 10 characters */
#define OTP_PASS_WARN      63   /* RFC 2289 App. C: warn above the recommended 63 */
#define OTP_PASS_MAX       255  /* our hard cap, like OpenBSD S/Key's SKEY_MAX_PW_LEN - 1 */
#define OTP_SEQ_MAX        9999 /* RFC 2243 s4.1 new-params: at most four digits */
#define OTP_SEQ_WARN       10   /* RFC 2243 s4.3: generators SHOULD warn below ten */
#define OTP_WORDS_BUFSZ    30   /* six words of at most 4 letters, 5 spaces, NUL */
#define OTP_HEX_BUFSZ      20   /* "xxxx xxxx xxxx xxxx" + NUL */
#define OTP_RESPONSE_MAX   512  /* RFC 2243 s2.2 (6): "MUST limit the length of the input reasonably" */
#define OTP_CHALLENGE_BUFSZ 48  /* "otp-sha1 9999 " + 16-char seed + " ext" + NUL, with room */

/* ---- Errors ----------------------------------------------------------- */

enum otp_err {
	OTP_OK = 0,
	OTP_ERR_NOMEM,
	OTP_ERR_CRYPTO,         /* OpenSSL refused a digest operation */
	OTP_ERR_MD4_UNAVAIL,    /* no OpenSSL provider offers MD4 */
	OTP_ERR_ALG,            /* unknown hash algorithm */
	OTP_ERR_SEED_LEN,       /* seed not 1..16 characters */
	OTP_ERR_SEED_CHAR,      /* seed not purely alphanumeric */
	OTP_ERR_PASS_SHORT,     /* pass phrase shorter than 10 characters */
	OTP_ERR_PASS_LONG,      /* pass phrase longer than OTP_PASS_MAX */
	OTP_ERR_PASS_SEED,      /* pass phrase equal to the seed (RFC 2243 s4.3) */
	OTP_ERR_SEQ,            /* sequence number out of range */
	OTP_ERR_CHALLENGE,      /* malformed challenge */
	OTP_ERR_WORD,           /* a word is not in the dictionary */
	OTP_ERR_WORD_COUNT,     /* not exactly six words */
	OTP_ERR_CHECKSUM,       /* six words with a bad 2-bit checksum */
	OTP_ERR_HEX,            /* malformed hexadecimal OTP */
	OTP_ERR_RESPONSE,       /* malformed response */
	OTP_ERR_RESPONSE_TYPE,  /* extended response of a type we do not support */
	OTP_ERR_TOO_LONG,       /* input longer than its limit */
	OTP_ERR_BUFFER,         /* output buffer too small */
	OTP_ERR_RANDOM,         /* the CSPRNG failed */
	OTP_ERR_INVALID,        /* an argument the caller should not have passed */
	OTP_ERR_USER,           /* malformed user name */
	OTP_ERR_NOUSER,         /* no such user in the key database */
	OTP_ERR_EXISTS,         /* the user already has a key */
	OTP_ERR_DB_MISSING,     /* the key database does not exist */
	OTP_ERR_DB_OPEN,        /* the key database cannot be opened */
	OTP_ERR_DB_PERM,        /* unsafe owner or mode on the database or its directory */
	OTP_ERR_DB_LOCK,        /* timed out waiting for the database lock */
	OTP_ERR_DB_IO,          /* a read, write or fsync failed */
	OTP_ERR_DB_CORRUPT,     /* a record or the journal fails its checks */
	OTP_ERR_DB_VERSION,     /* a record of a format version we do not know */
	OTP_ERR_DISABLED,       /* the user's key is disabled */
	OTP_ERR_LOCKED,         /* too many failures: locked out for a while */
	OTP_ERR_EXHAUSTED,      /* no one-time passwords left: re-key needed */
	OTP_ERR_BUSY,           /* another login for this user holds the challenge */
	OTP_ERR_BAD_OTP,        /* the response does not verify */
	OTP_ERR_REINIT,         /* OTP accepted and consumed, re-initialisation refused */
	OTP_ERR_STALE,          /* the challenge was withdrawn before the response came */
	OTP_ERR_NO_APOP,        /* the user has no APOP secret */
	OTP_ERR_BASE32,         /* malformed base32 (RFC 4648 s6) */
	OTP_ERR_TOKEN,          /* bad HOTP/TOTP parameters */
	OTP_ERR_NO_TOKEN,       /* the user has no HOTP/TOTP token */
	OTP_ERR_NO_KEY,         /* the user has no RFC 2289 key (token only) */
	OTP_ERR__COUNT
};

/*
 * A static, one-line English description of e.
 * Returns: the description; "unknown error" for a value outside the enum, never NULL.
 */
const char *otp_strerror(enum otp_err e);

/* ---- Algorithms (RFC 2289 s6: identifiers are case sensitive) --------- */

enum otp_alg {
	OTP_ALG_MD4 = 1,
	OTP_ALG_MD5 = 2,
	OTP_ALG_SHA1 = 3
};

/*
 * The RFC 2289 identifier of alg.
 * Returns: "md4", "md5" or "sha1" (static), or NULL for an unknown value.
 */
const char *otp_alg_name(enum otp_alg alg);

/*
 * Parses an exact, lower-case algorithm identifier into *alg.
 * Returns: OTP_OK, or OTP_ERR_ALG for NULL, any other spelling or an unknown name (*alg
 * unchanged).
 */
enum otp_err otp_alg_parse(const char *name, enum otp_alg *alg);

/* ---- Hashing (hash.c) ------------------------------------------------- */

/* A 64-bit one-time password or intermediate key, in RFC 2289 byte order. */
typedef struct {
	unsigned char b[OTP_KEY_LEN];
} otp_key;

/*
 * Checks a seed: 1..16 ASCII alphanumerics, either case.
 * Returns: OTP_OK; OTP_ERR_SEED_LEN for an empty seed or one over 16 characters,
 * OTP_ERR_SEED_CHAR for another character (whichever comes first), OTP_ERR_INVALID for NULL.
 */
enum otp_err otp_seed_check(const char *seed);

/*
 * Lower-cases the ASCII letters of s in place, as seeds are kept (RFC 2289 s6: case-insensitive).
 * Returns: nothing; s is changed in place.
 */
void otp_ascii_lower(char *s);

/*
 * Checks a pass phrase of len bytes: OTP_ERR_PASS_SHORT below 10,
 * OTP_ERR_PASS_LONG above OTP_PASS_MAX.  Sets *warn_long (if not NULL)
 * when it is longer than the recommended 63.
 * Returns: OTP_OK, OTP_ERR_PASS_SHORT, OTP_ERR_PASS_LONG, or OTP_ERR_INVALID for a NULL
 * pass; *warn_long is false on any failure.
 */
enum otp_err otp_passphrase_check(const char *pass, size_t len, bool *warn_long);

/*
 * True when the pass phrase of len bytes equals the seed, ignoring case as
 * seeds do: RFC 2243 s4.3 says not to allow it.  Constant time in the content.
 * Returns: true when they are equal; false when they differ, differ in length, or either is
 * NULL.
 */
bool otp_passphrase_is_seed(const char *pass, size_t len, const char *seed);

/*
 * RFC 2289 initial step: hash(lower(seed) || pass) folded to 64 bits.
 * The pass phrase is used as len raw bytes.  Intermediate buffers are
 * wiped; the caller owns and must wipe *out.  A pass phrase equal to the
 * seed is not refused here (otp_passphrase_is_seed).
 * Returns: OTP_OK; OTP_ERR_SEED_LEN, _SEED_CHAR, _PASS_SHORT, _PASS_LONG or _INVALID (a NULL
 * seed or pass) for bad input; OTP_ERR_ALG, _MD4_UNAVAIL, _CRYPTO or _NOMEM from the digest.
 * *out is not written on failure.
 */
enum otp_err otp_keycrunch(enum otp_alg alg, const char *seed,
                           const char *pass, size_t len, otp_key *out);

/*
 * One RFC 2289 hash step: out = fold(hash(in)).  in and out may alias.
 * Returns: OTP_OK, or OTP_ERR_ALG, _MD4_UNAVAIL, _CRYPTO or _NOMEM (*out not written).
 */
enum otp_err otp_hash_step(enum otp_alg alg, const otp_key *in, otp_key *out);

/*
 * The OTP for challenge (alg, seq, seed): keycrunch then seq hash steps.
 * Returns: as otp_compute_range with count 1.
 */
enum otp_err otp_compute(enum otp_alg alg, unsigned seq, const char *seed,
                         const char *pass, size_t len, otp_key *out);

/*
 * The count OTPs for sequence numbers seq-count+1 .. seq, in one pass over
 * the chain: out[0] is for seq-count+1, out[count-1] for seq.  Costs seq+1
 * hashes, whatever count is.  Requires 1 <= count <= seq + 1.
 * Returns: OTP_OK; OTP_ERR_SEQ for seq above OTP_SEQ_MAX, OTP_ERR_INVALID for a bad count
 * or a NULL out; otherwise otp_keycrunch's errors.  On failure out[] holds no key
 * (untouched, or zeroed once hashing began).
 */
enum otp_err otp_compute_range(enum otp_alg alg, unsigned seq, unsigned count,
                               const char *seed, const char *pass, size_t len,
                               otp_key *out);

/* ---- Encodings (words.c) ---------------------------------------------- */

/*
 * Six upper-case words, single spaces, into buf (>= OTP_WORDS_BUFSZ).
 * Returns: nothing; buf always holds a NUL-terminated string.
 */
void otp_key_to_words(const otp_key *k, char buf[OTP_WORDS_BUFSZ]);

/*
 * 16 lower-case hex digits in groups of four ("5bf0 75d9 959d 036f"), into buf.
 * Returns: nothing; buf always holds a NUL-terminated string.
 */
void otp_key_to_hex(const otp_key *k, char buf[OTP_HEX_BUFSZ]);

/*
 * Decodes six standard-dictionary words, any case, any whitespace between
 * them.  Rejects unknown words, a word count other than six and a bad
 * checksum.  *out is left zeroed on failure.
 * Returns: OTP_OK; OTP_ERR_WORD for a word not in the dictionary (or longer than four
 * letters), OTP_ERR_WORD_COUNT for other than six words, OTP_ERR_CHECKSUM, OTP_ERR_INVALID
 * for NULL.
 */
enum otp_err otp_key_from_words(const char *s, otp_key *out);

/*
 * Decodes exactly 16 hex digits, any case, whitespace anywhere ignored.
 * Returns: OTP_OK; OTP_ERR_HEX for a non-hex character or other than 16 digits,
 * OTP_ERR_INVALID for NULL.  *out is left zeroed on failure.
 */
enum otp_err otp_key_from_hex(const char *s, otp_key *out);

/* ---- Challenges and responses (challenge.c) --------------------------- */

struct otp_challenge {
	enum otp_alg alg;
	unsigned seq;                   /* 0..OTP_SEQ_MAX */
	char seed[OTP_SEED_MAX + 1];    /* lower case */
	bool ext;                       /* RFC 2243 "ext" capability */
};

/*
 * Parses "otp-<alg> <seq> <seed> [ext[,...]]".  Leading whitespace is
 * skipped; the challenge ends at the end of the string, at a comma right
 * after the seed, or at whitespace after the seed or capability list
 * (RFC 2289 s6), and anything after that (such as ", Response:") is
 * ignored.  The seed is lower-cased.  On failure *c is left zeroed.
 * Returns: OTP_OK; OTP_ERR_CHALLENGE for a missing "otp-" or a missing or ill-separated
 * sequence number, OTP_ERR_ALG, OTP_ERR_SEQ (over four digits or above OTP_SEQ_MAX),
 * OTP_ERR_SEED_LEN (a missing seed too) or _SEED_CHAR, OTP_ERR_INVALID for NULL.
 */
enum otp_err otp_challenge_parse(const char *s, struct otp_challenge *c);

/*
 * Formats c as "otp-md5 498 ab1234 ext" (no "ext" when !c->ext), the seed as it is in c.
 * Returns: OTP_OK; OTP_ERR_ALG, OTP_ERR_SEQ, OTP_ERR_INVALID for a bad seed (buf untouched),
 * or OTP_ERR_BUFFER when it does not fit (buf then holds a truncated string).
 */
enum otp_err otp_challenge_format(const struct otp_challenge *c, char *buf, size_t size);

enum otp_resp_type {
	OTP_RESP_STANDARD,   /* six words or hex, not labelled: try both (RFC 2289 s6) */
	OTP_RESP_HEX,        /* "hex:" */
	OTP_RESP_WORD,       /* "word:" */
	OTP_RESP_INIT_HEX,   /* "init-hex:" */
	OTP_RESP_INIT_WORD   /* "init-word:" */
};

struct otp_response {
	enum otp_resp_type type;
	/*
	 * The current OTP.  A standard response may decode both as six words
	 * and as hex; cand[0..ncand-1] then hold each reading, words first.
	 */
	otp_key cand[2];
	unsigned ncand;
	/* For init-hex and init-word only: */
	enum otp_err init_err;          /* OTP_OK, or why the new part is bad */
	struct otp_challenge new_chal;  /* new-params: seq is the new-OTP's count */
	otp_key new_key;                /* the OTP for new_chal */
};

/*
 * Parses a response of at most OTP_RESPONSE_MAX bytes.  The extended type
 * is case-insensitive and whitespace around every field is ignored
 * (RFC 2243 s2.2).  For an init response whose current-OTP decodes but
 * whose new-params or new-OTP does not, returns OTP_OK with r->init_err
 * set, so that a server can still consume the current OTP (RFC 2243 s4.3
 * requirement 3).  r must be wiped by the caller (otp_wipe).
 * Returns: OTP_OK with r->ncand 1 or 2; on failure r->ncand is 0 and no key is kept:
 * OTP_ERR_TOO_LONG (over OTP_RESPONSE_MAX), OTP_ERR_RESPONSE (control characters, nothing
 * to decode, wrong number of fields), OTP_ERR_RESPONSE_TYPE (unknown label), the current
 * OTP's OTP_ERR_WORD, _WORD_COUNT, _CHECKSUM or _HEX, OTP_ERR_INVALID for NULL.
 * r->init_err takes the same codes, and _ALG, _SEQ, _SEED_* for new-params.
 */
enum otp_err otp_response_parse(const char *s, struct otp_response *r);

/*
 * Formats an RFC 2243 re-initialisation response:
 * "init-hex:<cur>:<alg> <seq> <seed>:<new>" (or init-word with six words).
 * Returns: OTP_OK; OTP_ERR_ALG, OTP_ERR_SEQ (new seq not 1..OTP_SEQ_MAX), OTP_ERR_SEED_LEN
 * or _SEED_CHAR for new_chal, OTP_ERR_RESPONSE_TYPE for a type other than the two init
 * ones (buf untouched), or OTP_ERR_BUFFER (buf wiped: it held the OTPs).
 */
enum otp_err otp_response_format_init(enum otp_resp_type type, const otp_key *cur,
                                      const struct otp_challenge *new_chal,
                                      const otp_key *new_key, char *buf, size_t size);

/* ---- HOTP (RFC 4226) and TOTP (RFC 6238) tokens (oath.c) -------------- */

enum otp_tok_type { OTP_TOK_NONE = 0, OTP_TOK_HOTP = 1, OTP_TOK_TOTP = 2 };
enum otp_hmac { OTP_HMAC_SHA1 = 1, OTP_HMAC_SHA256 = 2, OTP_HMAC_SHA512 = 3 };

#define OTP_TOK_DIGITS_MIN   6    /* RFC 4226 s5.3: at least 6 digits */
#define OTP_TOK_DIGITS_MAX   8    /* RFC 4226 App. E.1 / RFC 6238 App. A: up to 8 */
#define OTP_TOK_SECRET_MIN   10   /* 80 bits: google-authenticator's 16 base32 letters */
#define OTP_TOK_SECRET_MAX   64   /* RFC 6238 App. B: 64 bytes for HMAC-SHA512 */
#define OTP_TOK_SECRET_DEF   20   /* RFC 4226 s4 R6: 160 bits recommended */
#define OTP_TOK_STEP_DEF     30   /* RFC 6238 s5.2: 30 s recommended */
#define OTP_SCRATCH_MAX      10   /* emergency codes a record holds */
#define OTP_SCRATCH_DEF      5
#define OTP_SCRATCH_DIGITS   8
#define OTP_SCRATCH_USED     0xffffffffu   /* a consumed slot */
#define OTP_TOTP_WINDOW_MAX  10   /* steps either side; RFC 6238 s5.2 says at most one */
#define OTP_HOTP_WINDOW_MAX  100  /* RFC 4226 s7.4 look-ahead parameter s */
#define OTP_BASE32_MAX       ((OTP_TOK_SECRET_MAX * 8 + 4) / 5)   /* 103 letters */
#define OTP_URI_MAX          1024

struct otp_token {
	enum otp_tok_type type;
	enum otp_hmac hmac;
	unsigned digits;                /* 6..8 */
	unsigned step;                  /* TOTP: 30 or 60 seconds; HOTP: 0 */
	size_t secret_len;              /* 10..64 bytes when type != NONE */
	unsigned char secret[OTP_TOK_SECRET_MAX];
	/*
	 * HOTP: the next counter value a code may have.  TOTP: the last time
	 * step accepted (0: none).  A code for a smaller value is a replay.
	 */
	uint64_t counter;
	int drift;                      /* TOTP: step of the last accepted code minus the clock's */
	unsigned nscratch;              /* slots used in scratch[] */
	uint32_t scratch[OTP_SCRATCH_MAX];   /* 8-digit codes, OTP_SCRATCH_USED once consumed */
};

/*
 * The otpauth spelling of h.
 * Returns: "SHA1", "SHA256" or "SHA512" (static), or NULL for an unknown value.
 */
const char *otp_hmac_name(enum otp_hmac h);

/*
 * Parses "sha1", "SHA256", ... (any case) into *h.
 * Returns: OTP_OK, OTP_ERR_ALG for an unknown name, OTP_ERR_INVALID for NULL (*h unchanged
 * on failure).
 */
enum otp_err otp_hmac_parse(const char *name, enum otp_hmac *h);

/*
 * Checks type, hmac, digits (6..8), step (30/60 for TOTP, 0 for HOTP), secret length, drift
 * (0 for HOTP, within OTP_TOTP_WINDOW_MAX for TOTP), scratch.
 * Returns: OTP_OK, OTP_ERR_TOKEN for any bad field (OTP_TOK_NONE included), OTP_ERR_INVALID
 * for NULL.
 */
enum otp_err otp_token_check(const struct otp_token *t);

/*
 * RFC 4226 HOTP value for counter, as digits decimal digits plus NUL in
 * code (at least OTP_TOK_DIGITS_MAX + 1 bytes).  The caller wipes code.
 * Returns: OTP_OK; OTP_ERR_ALG for an unknown h, OTP_ERR_INVALID for a NULL or empty secret,
 * a NULL code or digits outside 6..8, OTP_ERR_CRYPTO when OpenSSL fails (code not written).
 */
enum otp_err otp_hotp(enum otp_hmac h, const unsigned char *secret, size_t len,
                      uint64_t counter, unsigned digits, char *code);

/*
 * RFC 6238 time step of Unix time t (>= 0) for step seconds: floor(t / step).
 * Returns: the step; 0 when t is negative or step is 0.
 */
uint64_t otp_totp_step(int64_t t, unsigned step);

/*
 * RFC 4648 base32: encode len bytes (upper case, no padding) into out of
 * size bytes; decode s (either case; '=' padding only as a whole, correct
 * tail; unused trailing bits must be zero; no whitespace) into at most
 * size bytes, *len set to the count.
 * Returns: encode: OTP_OK, OTP_ERR_BUFFER when size is not more than the letters needed (out
 * untouched), OTP_ERR_INVALID for NULL.  decode: OTP_OK, OTP_ERR_BASE32 for anything not
 * canonical, OTP_ERR_TOO_LONG over OTP_BASE32_MAX + 7 characters, OTP_ERR_BUFFER over size
 * bytes, OTP_ERR_INVALID for NULL; on failure *len is 0 and all of out is wiped.
 */
enum otp_err otp_base32_encode(const unsigned char *in, size_t len, char *out, size_t size);
enum otp_err otp_base32_decode(const char *s, unsigned char *out, size_t size, size_t *len);

/*
 * The otpauth:// URI for t (Google's Key Uri Format): label
 * "host:user" percent-encoded (otpkey passes the issuer as host, so that
 * the label's prefix is the issuer, as the format recommends), secret,
 * issuer, algorithm, digits, and period (TOTP) or counter (HOTP).  The
 * caller wipes out (it holds the secret).
 * Returns: OTP_OK; OTP_ERR_BUFFER if it does not fit (out wiped), otp_token_check's error
 * for a bad t (out ""), OTP_ERR_INVALID for a NULL argument or size 0 (out untouched).
 */
enum otp_err otp_uri_format(const struct otp_token *t, const char *issuer, const char *host,
                            const char *user, char *out, size_t size);

/*
 * Checks code (digits only, any length) against t's codes around the
 * clock (TOTP: steps now-window..now+window, window at most
 * OTP_TOTP_WINDOW_MAX; HOTP: counters counter..counter+window-1, window
 * 1..OTP_HOTP_WINDOW_MAX), never a TOTP step at or below the last one
 * accepted nor an HOTP counter below t->counter, and (8 digits) against
 * the unused scratch codes.  On a match advances t (HOTP counter, TOTP
 * last step and drift) or consumes the scratch code and sets *which to 1
 * (token) or 2 (scratch); else *which = 0.  The same work whatever the
 * outcome for any 6-8 digit code (anything else is refused at once);
 * comparisons in constant time.
 * Returns: OTP_OK whether or not it matched (*which says); OTP_ERR_INVALID for a NULL code,
 * which or t, otp_token_check's OTP_ERR_TOKEN (also for an HOTP counter that would
 * overflow), otp_hotp's OTP_ERR_CRYPTO.  On failure *which is 0 and t is unchanged.
 */
enum otp_err otp_token_verify(struct otp_token *t, const char *code, int64_t now,
                              unsigned window, int *which);

/*
 * A fresh CSPRNG scratch code (10000000..99999999) into *code.
 * Returns: OTP_OK, or OTP_ERR_RANDOM (*code untouched).
 */
enum otp_err otp_scratch_random(uint32_t *code);

/* ---- Key records (record.c) -------------------------------------------
 *
 * One fixed-size record per user, byte by byte in otpkeys(5), and the
 * rules every program applies to a record.  Outstanding challenges are
 * not part of the record: the login transaction keeps them in the store
 * beside it (login.c).
 */

#define OTP_USER_MAX        64   /* our cap; Linux's own is 32 (useradd) */
#define OTP_REC_DISABLED    0x1u /* flags: refused until "otpkey enable" */
#define OTP_REC_NO_KEY      0x2u /* flags: no RFC 2289 key, a token only (record v3) */
#define OTP_APOP_SECRET_MIN 10   /* our floor, as for pass phrases (RFC 2289 s6) */
#define OTP_APOP_SECRET_MAX 63   /* what record v2 holds (otpkeys(5)) */

struct otp_record {
	unsigned version;               /* format version it was read as */
	uint32_t flags;                 /* OTP_REC_* */
	enum otp_alg alg;
	unsigned seq;                   /* count of last; the next challenge is seq-1 */
	char seed[OTP_SEED_MAX + 1];    /* lower case */
	otp_key last;                   /* last accepted OTP (RFC 2289 s7) */
	uint32_t failures;              /* consecutive failed logins */
	int64_t created;                /* Unix times; 0 = never */
	int64_t last_success;
	int64_t last_failure;
	int64_t locked_until;           /* failure lockout ends; 0 = none */
	char apop_secret[OTP_APOP_SECRET_MAX + 1]; /* RFC 1939 s7 shared secret; "" = none */
	struct otp_token tok;           /* HOTP/TOTP token (v3); type OTP_TOK_NONE = none */
};

/*
 * Checks a user name: 1..OTP_USER_MAX printable ASCII, no blanks, ':' or '/', not starting
 * with '-'.
 * Returns: OTP_OK for a well-formed name, else OTP_ERR_USER (NULL included).
 */
enum otp_err otp_user_check(const char *user);

/* Record (de)serialisation, exposed for otpkeys(5) tests and the fuzzers. */
#define OTP_REC_V1_SIZE 128
#define OTP_REC_V2_SIZE 256     /* written for records without a token */
#define OTP_REC_V3_SIZE 384     /* written for records with a token; all three are read */
#define OTP_REC_MAX_SIZE OTP_REC_V3_SIZE

/*
 * Encodes rec into buf (size bytes) as the oldest format that holds it:
 * v2 without a token, v3 with one.  The caller owns and must wipe buf.
 * Returns: OTP_OK with *len set, or OTP_ERR_ALG, _SEQ, _SEED_*, _TOKEN, _INVALID (NULL
 * arguments, unknown flags, negative times, a malformed APOP secret, OTP_REC_NO_KEY without
 * a token), _BUFFER or _CRYPTO (the check sum) without writing a partial record.
 */
enum otp_err otp_record_encode(const struct otp_record *rec, unsigned char *buf, size_t size,
                               size_t *len);

/*
 * Decodes len bytes of hostile input.
 * Returns: OTP_OK (the caller must wipe *rec: it may hold secrets), OTP_ERR_DB_VERSION for
 * an unknown format version, OTP_ERR_DB_CORRUPT for anything else not well formed (a NULL
 * buf included), OTP_ERR_INVALID for a NULL rec; *rec is zeroed on failure.
 */
enum otp_err otp_record_decode(const unsigned char *buf, size_t len, struct otp_record *rec);

/*
 * Whether rec holds an RFC 2289 key.
 * Returns: true unless rec is a token-only record (OTP_REC_NO_KEY), false then.
 */
bool otp_record_has_key(const struct otp_record *rec);

/*
 * The RFC 2289 responses left before a re-key is needed: the challenges
 * seq-1 down to 1 (RFC 2243 s4.3: none below 1).
 * Returns: seq - 1, or 0 when seq is 0 or 1 or rec is token-only.
 */
unsigned otp_record_remaining(const struct otp_record *rec);

/*
 * The unused scratch codes of rec's token.
 * Returns: their number; 0 without a token.
 */
unsigned otp_record_scratch_left(const struct otp_record *rec);

/*
 * Fills c with the next challenge of rec: (alg, seq-1, seed), with ext.
 * Returns: true when c holds it; false, c zeroed, when rec has no key or none is left.
 */
bool otp_record_challenge(const struct otp_record *rec, bool ext, struct otp_challenge *c);

/*
 * Gives rec a new RFC 2289 key (alg, seq, seed, key = the OTP at seq),
 * keeping what outlives a re-key: the APOP secret, the token, the
 * disabled flag.  Failures and the lockout are cleared, created is set
 * to now; the seed is stored lower-cased.  seq may be 0 or 1 (an
 * imported key that is used up).
 * Returns: OTP_OK, or OTP_ERR_SEQ / _SEED_* / _ALG for bad values (rec unchanged).
 */
enum otp_err otp_record_set_key(struct otp_record *rec, enum otp_alg alg, unsigned seq,
                                const char *seed, const otp_key *key, int64_t now);

/*
 * Gives rec the token tok, beside its RFC 2289 key if it has one; a new
 * record (!exists) is a token-only one (OTP_REC_NO_KEY) created now.
 * Returns: OTP_OK, or OTP_ERR_TOKEN (OTP_ERR_INVALID for a NULL tok), rec unchanged.
 */
enum otp_err otp_record_set_token(struct otp_record *rec, bool exists, const struct otp_token *tok,
                                  int64_t now);

/*
 * RFC 2289 s8: a new key must not continue the old chain.  With the old
 * key (alg, seq, seed, last) in old and the new one's (alg, new_seq, seed,
 * key = the OTP at new_seq), sets *res to OTP_CHAIN_SAME when they lie on
 * one hash chain, else OTP_CHAIN_NEW (always when old has no key or its
 * alg or seed differ; seed is compared exactly, so pass it lower-cased).
 * Returns: OTP_OK, or otp_hash_step's error (then *res is OTP_CHAIN_SAME: refuse).
 */
enum otp_chain { OTP_CHAIN_NEW, OTP_CHAIN_SAME };
enum otp_err otp_record_chain(const struct otp_record *old, enum otp_alg alg, unsigned new_seq,
                              const char *seed, const otp_key *key, enum otp_chain *res);

/*
 * Checks an APOP secret of len bytes for storing: OTP_APOP_SECRET_MIN to
 * _MAX printable ASCII characters.
 * Returns: OTP_OK, OTP_ERR_TOO_LONG for a length out of range (either way),
 * OTP_ERR_INVALID for another character.
 */
enum otp_err otp_apop_secret_check(const char *secret, size_t len);

/*
 * Counts a failed login at time now: from max_failures consecutive ones
 * (0: never) the user is locked out for lockout seconds; failures during a
 * lockout do not prolong it.
 * Returns: nothing; rec->failures and ->last_failure are updated, ->locked_until set when a
 * lockout starts.  The count is not reset when a lockout ends, so the next failure after
 * one starts another.
 */
void otp_record_failure(struct otp_record *rec, unsigned max_failures, unsigned lockout,
                        int64_t now);

/*
 * Records a successful login at time now: the failures and any lockout are cleared.
 * Returns: nothing; rec->failures, ->locked_until and ->last_success are set.
 */
void otp_record_success(struct otp_record *rec, int64_t now);

/*
 * The name of a token type.
 * Returns: "HOTP" or "TOTP" (static), or NULL for OTP_TOK_NONE or an unknown value.
 */
const char *otp_tok_name(enum otp_tok_type t);

/* ---- Key store (store.c) ---------------------------------------------
 *
 * Where records live, behind one interface: a store spec that begins
 * with "postgresql://" or "postgres://" is a libpq connection URI (one
 * store shared by many hosts, libpq loaded when first used); anything
 * else is the path of a local GDBM file (otpkeys(5)).  NULL means the compiled default (OTP_DEFAULT_DB);
 * libotp itself never reads the environment (it runs inside setuid
 * programs' PAM stacks).  Every call below opens, works and closes: no
 * lock is held between calls, so none is held while a person types, and
 * a call returns OTP_OK only once its change is durable.  A process keeps
 * the last local store it closed open (unlocked; the log and the base
 * read through read-only mappings) for its next call, checked first to
 * be still the same files, still safe; a child it forks does not inherit
 * it.
 */

#define OTP_DB_LOCK_MS      5000 /* default wait for the store's lock */

/* What an update callback asks to happen to the record. */
enum otp_db_action {
	OTP_DB_KEEP,     /* change nothing */
	OTP_DB_STORE,    /* write *rec durably (insert or replace) */
	OTP_DB_DELETE    /* remove the record */
};

/*
 * Called under the store's exclusive lock with the user's record (zeroed,
 * and exists false, when there is none).  It must not block on a person.
 * It may set *err to make otp_db_update return that error; with an error
 * set, nothing is written whatever it returns.
 */
typedef enum otp_db_action (*otp_db_update_fn)(const char *user, struct otp_record *rec,
                                               bool exists, void *arg, enum otp_err *err);

/* Called for each user in turn; return false to stop. */
typedef bool (*otp_db_each_fn)(const char *user, const struct otp_record *rec, void *arg);

/*
 * The store spec in force.
 * Returns: spec if not NULL, else the compiled default; never NULL.
 */
const char *otp_db_path(const char *spec);

/*
 * Whether spec (NULL: the compiled default) names the PostgreSQL store.
 * Returns: true for a spec beginning "postgresql://" or "postgres://", else false.
 */
bool otp_db_is_remote(const char *spec);

/*
 * Checks a store spec as a configuration value: an absolute path or a
 * postgresql:// URI.
 * Returns: OTP_OK, or OTP_ERR_INVALID for NULL, "", a relative path or 4096 bytes or more.
 */
enum otp_err otp_db_spec_check(const char *spec);

/*
 * Read-modify-write of one user's record under the exclusive lock,
 * waiting at most lock_ms for it.  With create, a missing store (a GDBM
 * file and its 0700 directory, or the PostgreSQL schema) is created;
 * otherwise it is OTP_ERR_DB_MISSING.  With create, the store's secret
 * (otp_db_host_secret) is made too if it has none.
 * Returns: OTP_OK once any change is durable; OTP_ERR_INVALID for a NULL fn, OTP_ERR_USER
 * for a malformed user, the callback's error (nothing written), or the store's error
 * (OTP_ERR_DB_*, _NOMEM, and with create _RANDOM).
 */
enum otp_err otp_db_update(const char *spec, const char *user, bool create,
                           unsigned lock_ms, otp_db_update_fn fn, void *arg);

/*
 * Reads one record.  The caller must wipe *rec.
 * Returns: OTP_OK, OTP_ERR_NOUSER if absent, OTP_ERR_USER for a malformed user,
 * OTP_ERR_INVALID for a NULL rec, or a store error; *rec is zeroed on failure.
 */
enum otp_err otp_db_get(const char *spec, const char *user, unsigned lock_ms,
                        struct otp_record *rec);

/*
 * Visits every user record, until fn returns false.  A record that fails
 * its checks is skipped and its error returned after the walk, so one
 * bad entry hides no others.
 * Returns: OTP_OK (also when fn stopped the walk), or the first error: OTP_ERR_DB_CORRUPT or
 * _DB_VERSION for a bad record, a store error, OTP_ERR_INVALID for a NULL fn.
 */
enum otp_err otp_db_foreach(const char *spec, unsigned lock_ms, otp_db_each_fn fn, void *arg);

/*
 * The store's 32-byte secret for keyed hashes (fake challenges for
 * unknown users), made with the CSPRNG and stored on first use, so that
 * every host sharing the store derives the same ones.
 * Returns: OTP_OK with the secret in out (the caller wipes it); OTP_ERR_RANDOM on a first
 * use, OTP_ERR_DB_CORRUPT for a stored secret that fails its check, another store error,
 * OTP_ERR_INVALID for a NULL out.  out holds no secret on failure.
 */
enum otp_err otp_db_host_secret(const char *spec, unsigned lock_ms, unsigned char out[32]);

/*
 * Sets the store's secret (otpkey migrate), creating a missing store as
 * otp_db_update with create does.
 * Returns: OTP_OK (nothing written when the same one is already set), OTP_ERR_EXISTS when a
 * different one is set and !force, or a store error.
 */
enum otp_err otp_db_set_host_secret(const char *spec, unsigned lock_ms, const unsigned char in[32],
                                    bool force);

/*
 * Writes everything the store holds into its main file: for the local
 * store, a checkpoint of the log into the GDBM file, so that the GDBM
 * file alone is complete (to copy it, say).
 * Returns: OTP_OK, or a store error (OTP_ERR_DB_MISSING for a store that does not exist).
 */
enum otp_err otp_db_flush(const char *spec, unsigned lock_ms);

/*
 * Closes the local store this process keeps open between calls: for a
 * program that changes the store's files by other means than these calls
 * (a test), or that gives up its privileges without exec.
 * Returns: nothing.
 */
void otp_db_release(void);

/*
 * The user's outstanding logins (RFC 2289 s9 challenges not yet answered
 * nor expired) into *n; with clear, forgets them (otpkey unlock).
 * Returns: OTP_OK, OTP_ERR_USER for a malformed user, or a store error; *n is 0 on failure.
 */
enum otp_err otp_db_pending(const char *spec, const char *user, unsigned lock_ms, bool clear,
                            unsigned *n);

/* ---- OPIE and S/Key key files (import.c) ------------------------------
 *
 * Pure parsers of hostile text, no I/O: the caller reads the file.  On
 * OTP_IMPORT_OK, user holds the name and rec the key as the old system
 * kept it (alg, seq = count of the last accepted OTP, lower-case seed,
 * last); every other field of rec is zero.  On OTP_IMPORT_BAD, *why is a
 * static one-line reason and user and rec are wiped.  The caller must
 * wipe rec.
 */

#define OTP_IMPORT_LINE_MAX 1024   /* OPIE's and S/Key's own readers stop at 256 */
#define OTP_IMPORT_FILE_MAX 4096   /* one /etc/skey/USER file: five short lines */

enum otp_import_res {
	OTP_IMPORT_OK,       /* user and *rec hold an entry */
	OTP_IMPORT_IGNORE,   /* a blank line, a comment or a removed entry */
	OTP_IMPORT_BAD       /* *why says what is wrong */
};

/*
 * One line of OPIE's /etc/opiekeys, without its newline (len bytes; a NUL
 * byte is OTP_IMPORT_BAD): "name seq seed hexkey date...", always md5.
 * Returns: OTP_IMPORT_OK; OTP_IMPORT_IGNORE for a blank or '#' line; OTP_IMPORT_BAD for a
 * NUL byte, fewer than four fields, a bad name, seq (1..OTP_SEQ_MAX), seed or key (a key of
 * '*'s, OPIE's disabled entry, included).
 */
enum otp_import_res otp_import_opie_line(const char *line, size_t len,
                                         char user[OTP_USER_MAX + 1],
                                         struct otp_record *rec, const char **why);

/*
 * One line of S/Key's older /etc/skeykeys: "name [alg] seq seed hexkey
 * date..."; no alg means md4; '#' (after any blanks) starts a comment or a
 * removed entry, in both line formats.
 * Returns: OTP_IMPORT_OK, OTP_IMPORT_IGNORE or OTP_IMPORT_BAD, as otp_import_opie_line; an
 * unknown algorithm is OTP_IMPORT_BAD.
 */
enum otp_import_res otp_import_skeykeys_line(const char *line, size_t len,
                                             char user[OTP_USER_MAX + 1],
                                             struct otp_record *rec, const char **why);

/*
 * The whole of OpenBSD's /etc/skey/NAME (len bytes): five lines, user
 * (must be name), algorithm, sequence, seed, hexkey.  An empty file is
 * OTP_IMPORT_IGNORE (no key).  *lineno is the line at fault on
 * OTP_IMPORT_BAD (0 for the file as a whole).
 * Returns: OTP_IMPORT_OK; OTP_IMPORT_IGNORE for an empty file only; OTP_IMPORT_BAD for a NUL
 * byte, a missing or extra field, a name other than name, a bad algorithm, seq, seed or key,
 * or text after the fifth line.
 */
enum otp_import_res otp_import_skey_file(const char *name, const char *text, size_t len,
                                         char user[OTP_USER_MAX + 1],
                                         struct otp_record *rec, unsigned *lineno,
                                         const char **why);

/* ---- google-authenticator and pam_oath files (oath_import.c) -----------
 *
 * Pure parsers of hostile text, as above.  On OTP_IMPORT_OK *tok holds
 * the token (and user, for pam_oath); on OTP_IMPORT_BAD *why is a static
 * one-line reason and everything is wiped.  The caller must wipe *tok.
 */

#define OTP_GA_FILE_MAX 2048   /* ~/.google_authenticator: a secret, options, scratch codes */

/*
 * The whole of a ~/.google_authenticator file (len bytes): a base32
 * secret line, option lines starting with '"' (TOTP_AUTH, HOTP_COUNTER N,
 * STEP_SIZE 30|60, and RATE_LIMIT, WINDOW_SIZE, DISALLOW_REUSE which are
 * ours to decide and ignored), then up to OTP_SCRATCH_MAX 8-digit
 * scratch codes.  Always SHA1, 6 digits.  *lineno is the line at fault.
 * Returns: OTP_IMPORT_OK, or OTP_IMPORT_BAD (never _IGNORE, an empty file is BAD too) with
 * *lineno 0 for the file as a whole: too long, a NUL byte, empty, neither or both of
 * TOTP_AUTH and HOTP_COUNTER.
 */
enum otp_import_res otp_import_ga_file(const char *text, size_t len, struct otp_token *tok,
                                       unsigned *lineno, const char **why);

/*
 * One line of pam_oath's users file (len bytes, no newline): "TYPE USER
 * PIN HEXSECRET [COUNTER [LASTOTP [TIME]]]", any blanks between fields,
 * '#' comments.  TYPE is HOTP, HOTP/E[/D] (counter based) or HOTP/Tn[/D]
 * (time based, n 30 or 60), D the digits (6..8, default 6).  PIN must be
 * "-" (we keep no static passwords).  HOTP: the next counter is COUNTER,
 * or COUNTER + 1 once LASTOTP shows a code was used; TOTP: TIME
 * ("YYYY-MM-DDTHH:MM:SSL", local time) marks its step as used.
 * Returns: OTP_IMPORT_OK; OTP_IMPORT_IGNORE (user "", *why NULL) for a blank or '#' line;
 * OTP_IMPORT_BAD for a NUL byte, a field count other than 4..7 or anything malformed.
 */
enum otp_import_res otp_import_oath_line(const char *line, size_t len,
                                         char user[OTP_USER_MAX + 1],
                                         struct otp_token *tok, const char **why);


/* ---- Login policy (policy.c) -----------------------------------------
 *
 * One table of settings, with the same names, ranges and defaults for
 * pam_otp's module options (pam_otp(8)) and apop-proxy.conf(5).
 */

struct otp_policy {
	const char *db;             /* the store spec; NULL: the compiled default */
	unsigned lock_ms;           /* wait for the store's lock */
	unsigned challenge_ttl;     /* seconds an outstanding challenge holds */
	unsigned max_failures;      /* consecutive failures before a lockout; 0: never */
	unsigned lockout;           /* seconds a lockout lasts */
	unsigned window;            /* also accept the next window-1 responses; >= 1 */
	unsigned totp_window;       /* TOTP: accept steps this far either side of now */
	unsigned hotp_window;       /* HOTP: look-ahead, counters counter..counter+n-1; >= 1 */
	unsigned warn;              /* warn when fewer responses than this are left */
	bool ext;                   /* offer and accept RFC 2243 extended responses */
	bool fake_unknown;          /* unknown users get a fake challenge, not OTP_LOGIN_NOKEY */
};

enum otp_opt_kind {
	OTP_OPT_NUM,                /* NAME=N within [min, max] */
	OTP_OPT_FLAG,               /* NAME alone (pam_otp) or NAME = yes|no (apop-proxy.conf) */
	OTP_OPT_DB                  /* the store spec (otp_db_spec_check) */
};

struct otp_policy_opt {
	const char *name;
	enum otp_opt_kind kind;
	unsigned long min, max;     /* OTP_OPT_NUM */
	const char *alias;          /* an older name also accepted, or NULL */
};

/* The ranges of the table (otp_policy_option), for messages and tests. */
#define OTP_WINDOW_MAX        100        /* a sheet user skipping more is lost anyway */
#define OTP_CHALLENGE_TTL_MAX 3600
#define OTP_MAX_FAILURES_MAX  1000
#define OTP_LOCKOUT_MAX       (31 * 86400)

/*
 * Fills p with the defaults (those of pam_otp(8) and apop-proxy.conf(5)).
 * Returns: nothing; every field of p is set (db NULL, the compiled default).
 */
void otp_policy_init(struct otp_policy *p);

/*
 * Looks up the setting named by the len bytes at name (or by its alias), case sensitive.
 * Returns: a pointer into the static table, or NULL for an unknown name.
 */
const struct otp_policy_opt *otp_policy_option(const char *name, size_t len);

/*
 * Sets o in p from value: a decimal number for OTP_OPT_NUM, "yes"/"no"
 * (or NULL for yes) for OTP_OPT_FLAG, a spec for OTP_OPT_DB (p->db then
 * points into value).
 * Returns: OTP_OK, or OTP_ERR_INVALID for a value out of range or malformed, or an o not
 * from the table (p unchanged).
 */
enum otp_err otp_policy_set(struct otp_policy *p, const struct otp_policy_opt *o,
                            const char *value);

/*
 * Calls fn for each setting of the table, in order (documentation, tests).
 * Returns: nothing.
 */
void otp_policy_each(void (*fn)(const struct otp_policy_opt *o, void *arg), void *arg);

struct otp_store;

/* ---- Login transaction (login.c) -------------------------------------
 *
 * The one login transaction, shared by pam_otp and apop-proxy; the front
 * ends only speak their protocol around it:
 *
 *   otp_login_begin()   yields what to show, for ANY well-formed name:
 *                       the user's challenge, or for unknown, disabled,
 *                       locked-out and exhausted users one that cannot be
 *                       told from a real one (decided here, never by the
 *                       caller; the real reason is kept in L->why);
 *   (the caller asks the person, with no lock held)
 *   otp_login_finish()  verifies and stores the outcome durably before it
 *                       says OTP_LOGIN_OK;
 *   otp_login_abort()   when no answer will come.
 *
 * Concurrent logins of one user are shown different challenges (RFC 2289
 * s9), lower sequence numbers for the later ones, so that none waits,
 * none is refused and none sees another prompt because of another; the
 * lines skipped die once a lower one is accepted (pam_otp(8) says what an
 * abandoned login costs).  A response that verifies against the stored
 * state is consumed whatever happened to its challenge meanwhile.
 * Exactly one of finish or abort must follow a begin that returned
 * OTP_LOGIN_OK.
 */

enum otp_login_res {
	OTP_LOGIN_OK = 0,           /* begin: *L holds the challenge; finish: accepted, durable */
	OTP_LOGIN_REFUSED,          /* finish: not accepted; begin: malformed user name only */
	OTP_LOGIN_NOKEY,            /* begin, without fake_unknown only: the user has no key */
	OTP_LOGIN_BUSY,             /* the store's lock was not had in time: try again later */
	OTP_LOGIN_UNAVAIL           /* the store is missing, unsafe, corrupt or unreachable */
};

#define OTP_PROMPT_BUFSZ (OTP_CHALLENGE_BUFSZ + 32)
#define OTP_PENDING_MAX  16     /* concurrent logins of one user with a challenge each */

enum otp_used { OTP_USED_KEY, OTP_USED_TOKEN, OTP_USED_SCRATCH };

struct otp_login {
	char user[OTP_USER_MAX + 1];
	struct otp_challenge chal;              /* valid when has_key */
	char challenge[OTP_CHALLENGE_BUFSZ];    /* "otp-md5 498 ab1234 ext"; "" for a token only */
	/*
	 * What to ask, without the final ": ": "otp-md5 498 ab1234 ext,
	 * Response" (RFC 2289 key only), "TOTP code" or "HOTP code" (token
	 * only), "otp-md5 498 ab1234 ext, Response or TOTP code" (both).
	 */
	char prompt[OTP_PROMPT_BUFSZ];
	bool has_key;                           /* an RFC 2289 challenge is shown */
	enum otp_tok_type token;                /* a token code is asked for, or OTP_TOK_NONE */
	/*
	 * For the log only, never for the dialogue: OTP_OK, or why the login
	 * cannot or did not succeed (OTP_ERR_NOUSER, _DISABLED, _LOCKED,
	 * _EXHAUSTED, _BAD_OTP, _STALE, _REINIT, or the store's error).
	 */
	enum otp_err why;
	/* Set by otp_login_finish on success: */
	unsigned remaining;                     /* RFC 2289 responses left */
	bool rekeyed;                           /* an init-hex/init-word response re-keyed the user */
	enum otp_used used;
	unsigned scratch_left;                  /* after a scratch code: the unused ones left */
	/* The transaction's own state: */
	struct otp_store *store;
	uint64_t mark;                          /* this login's outstanding-challenge id */
	bool fake;
	unsigned char fake_key[32];             /* keys the fake's made-up token and chain */
};

/*
 * Starts a login for user.  Takes and holds nothing but L's store handle.
 * Returns: OTP_LOGIN_OK with the challenge and prompt in *L (real or fake: the caller cannot
 * tell, L->why can) and L's store handle open; OTP_LOGIN_REFUSED for a malformed user name,
 * OTP_LOGIN_NOKEY for an unknown user when p->fake_unknown is false, OTP_LOGIN_BUSY or
 * OTP_LOGIN_UNAVAIL (also when the CSPRNG fails).  On all but OTP_LOGIN_OK, L->why says why
 * and no store handle is held.
 */
enum otp_login_res otp_login_begin(const struct otp_policy *p, const char *user,
                                   struct otp_login *L);

/*
 * Whether text reads as an answer to L's prompt (not whether it verifies).
 * The same answer for real and fake logins of the same prompt form.
 * (apop-proxy tells one-time answers from passwords with it.)
 * Returns: true for an RFC 2289 response when a challenge is shown, or a 6-8 digit code
 * (blanks around it ignored) when a token code is asked for; false otherwise or for NULL.
 */
bool otp_login_takes(const struct otp_login *L, const char *text);

/*
 * Verifies response and stores the outcome durably.  Closes L's store
 * handle.
 * Returns: OTP_LOGIN_OK (accepted: the new state is durable; L->remaining, ->rekeyed,
 * ->used, ->scratch_left say what to tell the user), OTP_LOGIN_REFUSED (wrong, malformed,
 * replayed, stale, or the user may not log in; L->why says why, and OTP_ERR_REINIT means the
 * OTP was accepted but the re-key refused, which the user should be told), OTP_LOGIN_BUSY or
 * OTP_LOGIN_UNAVAIL (never a success; also for a hashing failure, and with L->why
 * OTP_ERR_INVALID when L holds no store handle).
 */
enum otp_login_res otp_login_finish(const struct otp_policy *p, struct otp_login *L,
                                    const char *response);

/*
 * Withdraws L's challenge when no answer will come, and closes L's store handle.
 * Returns: nothing.  Does nothing to the store when L holds no handle; if the store fails,
 * the challenge stays outstanding until challenge_ttl runs out.
 */
void otp_login_abort(const struct otp_policy *p, struct otp_login *L);

/* ---- APOP and reusable-password pass-through (apop.c) ------------------- */

#define OTP_APOP_DIGEST_LEN 32  /* RFC 1939 s7: MD5 as 32 hex digits */
#define OTP_APOP_STAMP_MAX  255 /* a banner timestamp fits a POP3 reply line */

/*
 * RFC 1939 s7 APOP: checks digest_hex (32 hex digits, either case) against
 * MD5(timestamp || the user's APOP secret), under the same rules as an OTP
 * login: disabled and locked-out users fail, a failure is counted durably
 * (and may start a lockout), a success resets the failure count.
 * Unknown users, users without an APOP secret, disabled and locked ones
 * all fail after the same work, so the caller cannot tell them apart;
 * *why (if not NULL) gets the real reason, for the log only.  A malformed
 * digest is checked, and counted, like a wrong one.
 * Returns: OTP_LOGIN_OK, OTP_LOGIN_REFUSED (also, without touching the store, for a
 * malformed user name or a NULL or over-long timestamp), OTP_LOGIN_BUSY or
 * OTP_LOGIN_UNAVAIL.
 */
enum otp_login_res otp_apop_verify(const struct otp_policy *p, const char *user,
                                   const char *timestamp, const char *digest_hex,
                                   enum otp_err *why);

/*
 * A reusable-password login passed through to the mail store (apop-proxy's
 * allow_plain_pass), judged by the same rules once the store has answered
 * (backend_ok): a disabled or locked-out user is refused whatever the
 * store said, a refused password is counted durably like any failure (and
 * may start a lockout), a success resets the count; a user without a
 * record is the mail store's alone.  *why (if not NULL) gets the real
 * reason, for the log only.
 * Returns: OTP_LOGIN_OK, OTP_LOGIN_REFUSED (also for a malformed user name, the store
 * untouched), OTP_LOGIN_BUSY or OTP_LOGIN_UNAVAIL.
 */
enum otp_login_res otp_password_verdict(const struct otp_policy *p, const char *user,
                                        bool backend_ok, enum otp_err *why);

/* ---- Input for the command-line tools (input.c) -----------------------
 * Not used by the PAM module.  Lines are read a byte at a time so that no
 * stdio buffer keeps a copy of a secret.
 */

enum otp_line {
	OTP_LINE_OK,
	OTP_LINE_EOF,   /* end of input before any byte */
	OTP_LINE_LONG,  /* the line does not fit the buffer (the rest is drained) */
	OTP_LINE_BAD,   /* a NUL byte in the line (the rest is drained) */
	OTP_LINE_ERR    /* read error or terminal trouble; errno says which */
};

/*
 * Reads one line from fd into buf (size bytes, NUL-terminated on
 * OTP_LINE_OK), dropping its "\n" or "\r\n"; *len is its length.  buf is
 * wiped on any other outcome.
 * Returns: OTP_LINE_OK (a last line without "\n" too), OTP_LINE_EOF, OTP_LINE_LONG (also for
 * size 0, nothing read), OTP_LINE_BAD or OTP_LINE_ERR; *len is 0 unless OTP_LINE_OK.
 */
enum otp_line otp_read_line(int fd, char *buf, size_t size, size_t *len);

/*
 * Prompts on the controlling terminal and reads a line from it, echo off
 * unless echo, with libbsd's readpassphrase(3): the terminal is restored
 * on every path, signals included.  Same results as otp_read_line, but an
 * empty line counts as OTP_LINE_EOF (readpassphrase cannot tell them apart),
 * and a NUL byte ends the line instead of making it OTP_LINE_BAD.
 * Returns: OTP_LINE_OK, OTP_LINE_EOF, OTP_LINE_LONG, or OTP_LINE_ERR (also with no terminal,
 * out of memory or size 0); buf is wiped and *len 0 unless OTP_LINE_OK.
 */
enum otp_line otp_read_tty(const char *prompt, bool echo, char *buf, size_t size, size_t *len);

/*
 * For a tool about to hold secrets, first thing in main: a zero core limit
 * (soft and hard) and not dumpable (PR_SET_DUMPABLE 0: no core even
 * through a core_pattern pipe, no ptrace by the same user).  With
 * lock_all, all present and future memory is locked (mlockall), so that no
 * secret, the libraries' copies included, reaches swap; returns false when
 * that was refused (errno says why): the caller warns, or locks its own
 * secret buffers (mlock).
 * Returns: true, always without lock_all; false only when mlockall was refused.  The core
 * limit and dumpable flag are set either way (their failures are ignored).
 */
bool otp_cli_harden(bool lock_all);

/* ---- Utilities (util.c) ----------------------------------------------- */

/*
 * Overwrites n bytes at p in a way the compiler may not elide (OPENSSL_cleanse).
 * Returns: nothing; a NULL p or n of 0 does nothing.
 */
void otp_wipe(void *p, size_t n);

/*
 * Compares two secrets in time that depends only on their lengths.
 * Returns: true when they have the same length and bytes, else false.
 */
bool otp_secret_equal(const char *a, size_t alen, const char *b, size_t blen);

/*
 * Constant-time equality of two OTP keys (CRYPTO_memcmp).
 * Returns: true when all 8 bytes are equal, else false.
 */
bool otp_key_equal(const otp_key *a, const otp_key *b);

/*
 * Parses a whole decimal string into *out within [min, max]: no sign, no
 * leading or trailing junk, no overflow.
 * Returns: OTP_OK, or OTP_ERR_INVALID for NULL, "", a sign, junk, overflow or a value
 * outside [min, max] (*out unchanged).
 */
enum otp_err otp_parse_uint(const char *s, unsigned long min, unsigned long max,
                            unsigned long *out);

/*
 * An OPIE-style seed, two lower-case letters and six digits ("ab123456"),
 * taken from the 8 bytes at b.  otp_seed_random() uses CSPRNG bytes.
 * Returns: otp_seed_from_bytes nothing (seed always filled); otp_seed_random OTP_OK, or
 * OTP_ERR_RANDOM (seed untouched).
 */
void otp_seed_from_bytes(const unsigned char b[8], char seed[OTP_SEED_MAX + 1]);
enum otp_err otp_seed_random(char seed[OTP_SEED_MAX + 1]);

/*
 * Fills buf with n bytes from the OpenSSL CSPRNG.
 * Returns: OTP_OK; OTP_ERR_RANDOM when the CSPRNG fails, OTP_ERR_INVALID for n over
 * INT32_MAX (buf then holds nothing to use).
 */
enum otp_err otp_random_bytes(void *buf, size_t n);

#endif /* OTP_H */
