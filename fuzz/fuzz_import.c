/*
 * fuzz_import.c - the OPIE and S/Key importers (otp_import_*): the first
 * byte picks the format, the rest is the line or file.  An accepted entry
 * is a storable record and round-trips through its own format; a refused
 * one leaves nothing behind and says why.
 */
#include "otp.h"
#include "fuzz.h"

static bool same_key(const struct otp_record *a, const struct otp_record *b)
{
	return a->alg == b->alg && a->seq == b->seq && strcmp(a->seed, b->seed) == 0 &&
	       otp_key_equal(&a->last, &b->last);
}

/* Checks one parser result; returns true for an accepted entry. */
static bool check(enum otp_import_res res, const char *user, const struct otp_record *rec,
                  const char *why)
{
	unsigned char buf[512];
	struct otp_record back;
	size_t len;

	switch (res) {
	case OTP_IMPORT_OK:
		FUZZ_ASSERT(why == NULL);
		FUZZ_ASSERT(otp_user_check(user) == OTP_OK);
		FUZZ_ASSERT(rec->seq >= 1 && rec->seq <= OTP_SEQ_MAX);
		FUZZ_ASSERT(rec->version == 0 && rec->flags == 0 && rec->failures == 0 &&
		            rec->created == 0 && rec->locked_until == 0);
		for (const char *s = rec->seed; *s != '\0'; s++)
			FUZZ_ASSERT(*s == fuzz_lower((unsigned char)*s));
		/* Whatever is imported can be stored and read back. */
		FUZZ_ASSERT(otp_record_encode(rec, buf, sizeof(buf), &len) == OTP_OK);
		FUZZ_ASSERT(otp_record_decode(buf, len, &back) == OTP_OK && same_key(rec, &back));
		return true;
	case OTP_IMPORT_IGNORE:
		FUZZ_ASSERT(why == NULL && user[0] == '\0' && fuzz_all_zero(rec, sizeof(*rec)));
		return false;
	case OTP_IMPORT_BAD:
		FUZZ_ASSERT(why != NULL && why[0] != '\0');
		FUZZ_ASSERT(fuzz_all_zero(user, OTP_USER_MAX + 1) && fuzz_all_zero(rec, sizeof(*rec)));
		return false;
	}
	FUZZ_ASSERT(!"unknown result");
	return false;
}

static void lines(bool opie, const char *line, size_t len)
{
	char user[OTP_USER_MAX + 1], user2[OTP_USER_MAX + 1], out[256], hex[OTP_HEX_BUFSZ], *p;
	struct otp_record rec, rec2;
	const char *why;
	enum otp_import_res res;
	int n;

	res = opie ? otp_import_opie_line(line, len, user, &rec, &why)
	           : otp_import_skeykeys_line(line, len, user, &rec, &why);
	if (!check(res, user, &rec, why))
		return;
	FUZZ_ASSERT(opie ? rec.alg == OTP_ALG_MD5 : otp_alg_name(rec.alg) != NULL);
	/* Written back in the same format (hex without blanks), it reads the same. */
	otp_key_to_hex(&rec.last, hex);
	for (char *s = hex, *d = hex;; s++)
		if (*s != ' ' && (*d++ = *s) == '\0')
			break;
	if (opie)
		n = snprintf(out, sizeof(out), "%s %04u %s %s Jan 01,1970 00:00:00", user,
		             rec.seq, rec.seed, hex);
	else
		n = snprintf(out, sizeof(out), "%s %s %u %s %s", user, otp_alg_name(rec.alg),
		             rec.seq, rec.seed, hex);
	FUZZ_ASSERT(n > 0 && (size_t)n < sizeof(out));
	p = fuzz_cstr((const uint8_t *)out, (size_t)n);
	res = opie ? otp_import_opie_line(p, (size_t)n, user2, &rec2, &why)
	           : otp_import_skeykeys_line(p, (size_t)n, user2, &rec2, &why);
	FUZZ_ASSERT(res == OTP_IMPORT_OK);
	FUZZ_ASSERT(strcmp(user, user2) == 0 && same_key(&rec, &rec2));
	free(p);
}

static void skey_file(const char *text, size_t len)
{
	char user[OTP_USER_MAX + 1], name[OTP_USER_MAX + 1];
	struct otp_record rec;
	const char *why;
	unsigned ln;
	size_t n = 0;
	enum otp_import_res res;

	/* The file's name: its first word when that could be one, else "alice". */
	while (n < len && n < OTP_USER_MAX && text[n] > ' ' && text[n] < 0x7f)
		n++;
	memcpy(name, n > 0 ? text : "alice", n > 0 ? n : 6);
	name[n > 0 ? n : 5] = '\0';
	res = otp_import_skey_file(name, text, len, user, &rec, &ln, &why);
	if (check(res, user, &rec, why))
		FUZZ_ASSERT(strcmp(user, name) == 0 && ln >= 5);
	if (res == OTP_IMPORT_BAD)
		FUZZ_ASSERT(ln <= len + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *text;

	if (size < 1)
		return 0;
	text = fuzz_copy(data + 1, size - 1);
	switch (data[0] % 3) {
	case 0: lines(true, (const char *)text, size - 1); break;
	case 1: lines(false, (const char *)text, size - 1); break;
	default: skey_file((const char *)text, size - 1); break;
	}
	free(text);
	return 0;
}
