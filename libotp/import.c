/* import.c - parsers for OPIE's /etc/opiekeys and S/Key's /etc/skey and /etc/skeykeys: no I/O. */
#include <string.h>

#include "otp.h"
#include "internal.h"

#define MAX_FIELDS 8

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_hex(int c)
{
	return otp_hexval(c) >= 0;
}

size_t otp_fields_split(const char *line, size_t len, struct otp_field *f, size_t max)
{
	size_t i = 0, n = 0;

	while (i < len) {
		while (i < len && otp_isblank_line((unsigned char)line[i]))
			i++;
		if (i == len)
			break;
		if (n == max)
			return max + 1;
		f[n].p = line + i;
		while (i < len && !otp_isblank_line((unsigned char)line[i]))
			i++;
		f[n].len = (size_t)(line + i - f[n].p);
		n++;
	}
	return n;
}

bool otp_field_is(const struct otp_field *f, const char *s)
{
	return f->len == strlen(s) && memcmp(f->p, s, f->len) == 0;
}

static const char *parse_user(const struct otp_field *f, char user[OTP_USER_MAX + 1])
{
	if (f->len > OTP_USER_MAX)
		return "bad user name";
	memcpy(user, f->p, f->len);
	user[f->len] = '\0';
	return otp_user_check(user) == OTP_OK ? NULL : "bad user name";
}

static const char *parse_alg(const struct otp_field *f, struct otp_record *rec)
{
	if (otp_field_is(f, "md4"))
		rec->alg = OTP_ALG_MD4;
	else if (otp_field_is(f, "md5"))
		rec->alg = OTP_ALG_MD5;
	else if (otp_field_is(f, "sha1"))
		rec->alg = OTP_ALG_SHA1;
	else
		return "unsupported hash algorithm";
	return NULL;
}

/* 1..4 decimal digits, zero-padded or not ("0499"), 1..OTP_SEQ_MAX. */
static const char *parse_seq(const struct otp_field *f, struct otp_record *rec)
{
	unsigned v = 0;

	if (f->len == 0 || f->len > 4)
		return "bad sequence number";
	for (size_t i = 0; i < f->len; i++) {
		if (!otp_isdigit((unsigned char)f->p[i]))
			return "bad sequence number";
		v = v * 10 + (unsigned)(f->p[i] - '0');
	}
	if (v < 1 || v > OTP_SEQ_MAX)
		return "bad sequence number";
	rec->seq = v;
	return NULL;
}

static const char *parse_seed(const struct otp_field *f, struct otp_record *rec)
{
	if (f->len > OTP_SEED_MAX)
		return "bad seed";
	memcpy(rec->seed, f->p, f->len);
	rec->seed[f->len] = '\0';
	if (otp_seed_check(rec->seed) != OTP_OK)
		return "bad seed";
	for (char *s = rec->seed; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
	return NULL;
}

/* Exactly 16 hex digits, as OPIE and S/Key write them. */
static const char *parse_key(const struct otp_field *f, struct otp_record *rec)
{
	char hex[2 * OTP_KEY_LEN + 1];
	size_t stars = 0;
	const char *why = NULL;

	for (size_t i = 0; i < f->len; i++)
		stars += f->p[i] == '*';
	if (f->len > 0 && stars == f->len)
		return "disabled entry (no key)";
	if (f->len != 2 * OTP_KEY_LEN)
		return "bad key (want 16 hex digits)";
	for (size_t i = 0; i < f->len; i++)
		if (!is_hex((unsigned char)f->p[i]))
			return "bad key (want 16 hex digits)";
	memcpy(hex, f->p, f->len);
	hex[f->len] = '\0';
	if (otp_key_from_hex(hex, &rec->last) != OTP_OK)
		why = "bad key (want 16 hex digits)";
	otp_wipe(hex, sizeof(hex));
	return why;
}

static bool has_nul(const char *s, size_t len)
{
	return memchr(s, '\0', len) != NULL;
}

/* Blank, or a comment: '#' first, after any blanks (an indented, removed entry too). */
static bool is_empty_or_comment(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!otp_isblank_line((unsigned char)s[i]))
			return s[i] == '#';
	return true;
}

static void start(char *user, struct otp_record *rec, const char **why)
{
	memset(user, 0, OTP_USER_MAX + 1);
	memset(rec, 0, sizeof(*rec));
	*why = NULL;
}

static enum otp_import_res bad(char *user, struct otp_record *rec, const char **why,
                               const char *reason)
{
	otp_wipe(user, OTP_USER_MAX + 1);
	otp_wipe(rec, sizeof(*rec));
	*why = reason;
	return OTP_IMPORT_BAD;
}

/*
 * What both one-line formats start with: reset the outputs, refuse a NUL,
 * skip blanks and comments, and split into at least four fields (the
 * unused ones left with len 0).
 */
static enum otp_import_res begin_line(const char *line, size_t len,
                                      struct otp_field f[MAX_FIELDS],
                                      char user[OTP_USER_MAX + 1],
                                      struct otp_record *rec, const char **why)
{
	start(user, rec, why);
	if (has_nul(line, len))
		return bad(user, rec, why, "NUL byte in line");
	if (is_empty_or_comment(line, len))
		return OTP_IMPORT_IGNORE;
	memset(f, 0, MAX_FIELDS * sizeof(*f));
	if (otp_fields_split(line, len, f, MAX_FIELDS) < 4)
		return bad(user, rec, why, "too few fields");
	return OTP_IMPORT_OK;
}

enum otp_import_res otp_import_opie_line(const char *line, size_t len,
                                         char user[OTP_USER_MAX + 1],
                                         struct otp_record *rec, const char **why)
{
	struct otp_field f[MAX_FIELDS];
	enum otp_import_res r;
	const char *e;

	if ((r = begin_line(line, len, f, user, rec, why)) != OTP_IMPORT_OK)
		return r;
	rec->alg = OTP_ALG_MD5;
	if ((e = parse_user(&f[0], user)) != NULL || (e = parse_seq(&f[1], rec)) != NULL ||
	    (e = parse_seed(&f[2], rec)) != NULL || (e = parse_key(&f[3], rec)) != NULL)
		return bad(user, rec, why, e);
	return OTP_IMPORT_OK;
}

enum otp_import_res otp_import_skeykeys_line(const char *line, size_t len,
                                             char user[OTP_USER_MAX + 1],
                                             struct otp_record *rec, const char **why)
{
	struct otp_field f[MAX_FIELDS];
	enum otp_import_res r;
	size_t i = 1;
	const char *e;

	if ((r = begin_line(line, len, f, user, rec, why)) != OTP_IMPORT_OK)
		return r;
	/* The original format had no algorithm: it was md4. */
	rec->alg = OTP_ALG_MD4;
	if (is_alpha((unsigned char)f[1].p[0])) {
		if ((e = parse_alg(&f[1], rec)) != NULL)
			return bad(user, rec, why, e);
		i = 2;
		if (f[4].len == 0)      /* one field more with the algorithm */
			return bad(user, rec, why, "too few fields");
	}
	if ((e = parse_user(&f[0], user)) != NULL || (e = parse_seq(&f[i], rec)) != NULL ||
	    (e = parse_seed(&f[i + 1], rec)) != NULL || (e = parse_key(&f[i + 2], rec)) != NULL)
		return bad(user, rec, why, e);
	return OTP_IMPORT_OK;
}

enum otp_import_res otp_import_skey_file(const char *name, const char *text, size_t len,
                                         char user[OTP_USER_MAX + 1],
                                         struct otp_record *rec, unsigned *lineno,
                                         const char **why)
{
	struct otp_field f[2];
	const char *p = text, *end = text + len, *e = NULL;
	unsigned ln = 0;

	start(user, rec, why);
	*lineno = 0;
	if (len == 0)
		return OTP_IMPORT_IGNORE;
	if (has_nul(text, len))
		return bad(user, rec, why, "NUL byte in file");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		size_t n = otp_fields_split(p, l, f, 1);

		*lineno = ++ln;
		p += l + (nl != NULL);
		if (ln > 5) {
			if (n != 0)
				return bad(user, rec, why, "unexpected text after the key");
			continue;
		}
		if (n != 1)
			return bad(user, rec, why, n == 0 ? "missing field" : "more than one field");
		switch (ln) {
		case 1:
			if ((e = parse_user(&f[0], user)) == NULL && strcmp(user, name) != 0)
				e = "user name differs from the file name";
			break;
		case 2:
			e = parse_alg(&f[0], rec);
			break;
		case 3:
			e = parse_seq(&f[0], rec);
			break;
		case 4:
			e = parse_seed(&f[0], rec);
			break;
		default:
			e = parse_key(&f[0], rec);
			break;
		}
		if (e != NULL)
			return bad(user, rec, why, e);
	}
	if (ln < 5) {
		*lineno = ln + 1;
		return bad(user, rec, why, "missing field");
	}
	return OTP_IMPORT_OK;
}
