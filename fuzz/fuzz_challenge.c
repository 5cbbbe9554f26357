/* fuzz_challenge.c - otp_challenge_parse: a parsed challenge is well-formed and round-trips. */
#include "otp.h"
#include "fuzz.h"

static bool same(const struct otp_challenge *a, const struct otp_challenge *b)
{
	return a->alg == b->alg && a->seq == b->seq && a->ext == b->ext &&
	       strcmp(a->seed, b->seed) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char suffix[] = ", Response: ";
	struct otp_challenge c, again;
	char buf[OTP_CHALLENGE_BUFSZ], *s = fuzz_cstr(data, size), *pasted;
	size_t len = strlen(s);
	enum otp_err rc = otp_challenge_parse(s, &c);

	if (rc != OTP_OK) {
		/* Nothing half-filled is left behind. */
		FUZZ_ASSERT(c.seq == 0 && c.seed[0] == '\0' && !c.ext);
		goto out;
	}
	FUZZ_ASSERT(otp_alg_name(c.alg) != NULL);
	FUZZ_ASSERT(c.seq <= OTP_SEQ_MAX);
	FUZZ_ASSERT(otp_seed_check(c.seed) == OTP_OK);
	for (const char *p = c.seed; *p != '\0'; p++)
		FUZZ_ASSERT(*p == fuzz_lower((unsigned char)*p));

	/* Formats, and the formatted text parses back to the same challenge. */
	FUZZ_ASSERT(otp_challenge_format(&c, buf, sizeof(buf)) == OTP_OK);
	FUZZ_ASSERT(strncmp(buf, "otp-", 4) == 0);
	FUZZ_ASSERT(otp_challenge_parse(buf, &again) == OTP_OK);
	FUZZ_ASSERT(same(&c, &again));
	/* A buffer one byte short is refused, not overrun. */
	FUZZ_ASSERT(otp_challenge_format(&c, buf, strlen(buf)) == OTP_ERR_BUFFER);

	/* Pasted with the prompt's tail, it is still the same challenge. */
	pasted = malloc(len + sizeof(suffix));
	FUZZ_ASSERT(pasted != NULL);
	memcpy(pasted, s, len);
	memcpy(pasted + len, suffix, sizeof(suffix));
	FUZZ_ASSERT(otp_challenge_parse(pasted, &again) == OTP_OK);
	FUZZ_ASSERT(same(&c, &again));
	free(pasted);
out:
	free(s);
	return 0;
}
