/* fake.h - what unknown names are shown: challenges shaped like the enrolled users' (fake.c). */
#ifndef OTP_FAKE_H
#define OTP_FAKE_H

#include <stdbool.h>

#include "otp.h"
#include "store.h"

/*
 * What a login shows and verifies against, for a real user or a made-up
 * one: the RFC 2289 key's algorithm, the record's count (the next
 * challenge is seq-1), the seed; the token type.
 */
struct otp_shape {
	bool has_key;
	enum otp_alg alg;
	unsigned seq;
	char seed[OTP_SEED_MAX + 1];
	enum otp_tok_type token;
};

/*
 * The shape name would have if it were enrolled, stable for the name and
 * the same on every host that shares the store: modelled on users sampled
 * from this store (the profile), keyed by the store's host secret, so that
 * it cannot be told from a real one without that secret.  key gets 32
 * bytes that key the fake's made-up chain and token (the caller wipes it).
 * Costs the same store reads whoever name is; call it for every login.
 */
enum otp_err otp_fake_shape(struct otp_store *s, const unsigned char secret[32], const char *name,
                            struct otp_shape *sh, unsigned char key[32]);

/*
 * Keeps the profile, a uniform sample of enrolled names, current: after
 * user was inserted (inserted) or deleted.  Returns OTP_OK or a store error.
 */
enum otp_err otp_profile_note(struct otp_store *s, const char *user, bool inserted);

#endif /* OTP_FAKE_H */
