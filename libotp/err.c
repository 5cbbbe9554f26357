/* err.c - otp_strerror(): the one table of libotp's error messages. */
#include "otp.h"

static const char *const messages[OTP_ERR__COUNT] = {
	[OTP_OK]                = "success",
	[OTP_ERR_NOMEM]         = "out of memory",
	[OTP_ERR_CRYPTO]        = "OpenSSL digest operation failed",
	[OTP_ERR_MD4_UNAVAIL]   = "md4 unavailable: OpenSSL offers no MD4 (legacy provider missing)",
	[OTP_ERR_ALG]           = "unknown hash algorithm (expected md4, md5 or sha1)",
	[OTP_ERR_SEED_LEN]      = "seed must be between 1 and 16 characters in length",
	[OTP_ERR_SEED_CHAR]     = "seed must be purely alphanumeric",
	[OTP_ERR_PASS_SHORT]    = "pass phrase too short (at least 10 characters)",
	[OTP_ERR_PASS_LONG]     = "pass phrase too long (at most 255 characters)",
	[OTP_ERR_PASS_SEED]     = "pass phrase must not be the same as the seed",
	[OTP_ERR_SEQ]           = "sequence number out of range (0 to 9999)",
	[OTP_ERR_CHALLENGE]     = "malformed challenge (expected \"otp-<alg> <seq> <seed> [ext]\")",
	[OTP_ERR_WORD]          = "word not in the standard OTP dictionary",
	[OTP_ERR_WORD_COUNT]    = "a six-word response needs exactly six words",
	[OTP_ERR_CHECKSUM]      = "six-word response has a bad checksum",
	[OTP_ERR_HEX]           = "hexadecimal response needs exactly 16 hex digits",
	[OTP_ERR_RESPONSE]      = "malformed response",
	[OTP_ERR_RESPONSE_TYPE] = "unsupported extended response type",
	[OTP_ERR_TOO_LONG]      = "input too long",
	[OTP_ERR_BUFFER]        = "output buffer too small",
	[OTP_ERR_RANDOM]        = "random number generator failed",
	[OTP_ERR_INVALID]       = "invalid argument",
	[OTP_ERR_USER]          = "malformed user name",
	[OTP_ERR_NOUSER]        = "no such user in the key database",
	[OTP_ERR_EXISTS]        = "user already has a key",
	[OTP_ERR_DB_MISSING]    = "key database does not exist",
	[OTP_ERR_DB_OPEN]       = "cannot open key database",
	[OTP_ERR_DB_PERM]       = "unsafe owner or mode: the key store must be root's, mode 0600, in a directory only root can write (chown root, chmod 600)",
	[OTP_ERR_DB_LOCK]       = "timed out waiting for the key database lock",
	[OTP_ERR_DB_IO]         = "key database read, write or sync failed",
	[OTP_ERR_DB_CORRUPT]    = "key database record is corrupt",
	[OTP_ERR_DB_VERSION]    = "key database record has an unknown format version",
	[OTP_ERR_DISABLED]      = "one-time passwords are disabled for this user",
	[OTP_ERR_LOCKED]        = "too many failed logins: temporarily locked",
	[OTP_ERR_EXHAUSTED]     = "no one-time passwords left: the key must be re-initialised",
	[OTP_ERR_BUSY]          = "another login for this user is in progress",
	[OTP_ERR_BAD_OTP]       = "one-time password does not verify",
	[OTP_ERR_REINIT]        = "one-time password accepted but re-initialisation refused",
	[OTP_ERR_STALE]         = "challenge withdrawn before the response arrived",
	[OTP_ERR_NO_APOP]       = "no APOP secret for this user",
	[OTP_ERR_BASE32]        = "malformed base32 secret",
	[OTP_ERR_TOKEN]         = "bad HOTP/TOTP token parameters",
	[OTP_ERR_NO_TOKEN]      = "no HOTP/TOTP token for this user",
	[OTP_ERR_NO_KEY]        = "no RFC 2289 key for this user (token only)",
};

const char *otp_strerror(enum otp_err e)
{
	if ((unsigned)e >= OTP_ERR__COUNT || messages[e] == NULL)
		return "unknown error";
	return messages[e];
}
