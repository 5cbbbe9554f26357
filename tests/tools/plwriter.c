/* plwriter.c - real logins through libotp's login transaction, for the crash and power-loss tests. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otp.h"

/*
 * Usage:
 *   plwriter login DB USER PASS N
 *     N logins of USER, each answered with the response to the challenge
 *     shown, computed from PASS.  Prints "ok SEQ HEX" once a login is
 *     acknowledged (its consumption durable), "no" for a refusal; exits
 *     3 on a store error.
 *   plwriter replay DB USER HEX
 *     One login answered with HEX, whatever the challenge, with a window
 *     of 100: exits 0 when refused, 1 when accepted, 3 on a store error.
 *   plwriter check DB ACKED INSERTED
 *     After a crash: every record reads whole; for each line "USER SEQ HEX
 *     R" of ACKED (an acknowledged login), USER's count is at most SEQ,
 *     and when R is 1 its response HEX is refused when replayed; every
 *     name in INSERTED (acknowledged inserts) is there.  Prints what is
 *     wrong; exits 0 when nothing is, 1 otherwise, 3 on a store error.
 */

static void policy(struct otp_policy *p, const char *db, unsigned window)
{
	otp_policy_init(p);
	p->db = db;
	p->max_failures = 0;
	p->window = window;
	p->lock_ms = 20000;
}

static int logins(const char *db, const char *user, const char *pass, unsigned long n)
{
	struct otp_policy p;
	struct otp_login L;
	char words[OTP_WORDS_BUFSZ], hex[OTP_HEX_BUFSZ];
	otp_key k;

	policy(&p, db, 1);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (unsigned long i = 0; i < n; i++) {
		enum otp_login_res r = otp_login_begin(&p, user, &L);

		if (r != OTP_LOGIN_OK || !L.has_key) {
			fprintf(stderr, "plwriter: begin: %s\n", otp_strerror(L.why));
			return 3;
		}
		if (otp_compute(L.chal.alg, L.chal.seq, L.chal.seed, pass, strlen(pass), &k) != OTP_OK) {
			otp_login_abort(&p, &L);
			return 3;
		}
		otp_key_to_words(&k, words);
		otp_key_to_hex(&k, hex);
		r = otp_login_finish(&p, &L, words);
		if (r == OTP_LOGIN_OK)
			printf("ok %u %s\n", L.chal.seq, hex);
		else if (r == OTP_LOGIN_REFUSED)
			printf("no\n");
		else {
			fprintf(stderr, "plwriter: finish: %s\n", otp_strerror(L.why));
			return 3;
		}
	}
	return 0;
}

static int replay(const char *db, const char *user, const char *hex)
{
	struct otp_policy p;
	struct otp_login L;
	char resp[OTP_HEX_BUFSZ + 8];
	enum otp_login_res r;

	policy(&p, db, 100);
	snprintf(resp, sizeof(resp), "hex:%s", hex);
	if (otp_login_begin(&p, user, &L) != OTP_LOGIN_OK)
		return 3;
	r = otp_login_finish(&p, &L, resp);
	return r == OTP_LOGIN_REFUSED ? 0 : r == OTP_LOGIN_OK ? 1 : 3;
}

struct names {
	char (*v)[OTP_USER_MAX + 1];
	size_t n, cap;
};

static bool name_cb(const char *user, const struct otp_record *rec, void *arg)
{
	struct names *nm = arg;

	(void)rec;
	if (nm->n == nm->cap) {
		size_t cap = nm->cap ? 2 * nm->cap : 256;
		void *v = realloc(nm->v, cap * sizeof(*nm->v));

		if (v == NULL)
			return false;
		nm->v = v;
		nm->cap = cap;
	}
	snprintf(nm->v[nm->n++], sizeof(nm->v[0]), "%s", user);
	return true;
}

static bool has(const struct names *nm, const char *user)
{
	for (size_t i = 0; i < nm->n; i++)
		if (strcmp(nm->v[i], user) == 0)
			return true;
	return false;
}

static int check(const char *db, const char *acked, const char *inserted)
{
	struct names nm = { 0 };
	char line[256], user[OTP_USER_MAX + 1], hex[64];
	unsigned seq, again;
	int bad = 0;
	enum otp_err rc = otp_db_foreach(db, 20000, name_cb, &nm);
	FILE *f;

	if (rc != OTP_OK) {
		printf("the store: %s\n", otp_strerror(rc));
		return rc == OTP_ERR_DB_CORRUPT ? 1 : 3;
	}
	if ((f = fopen(acked, "r")) == NULL)
		return 3;
	while (fgets(line, sizeof(line), f) != NULL) {
		struct otp_record rec;

		if (sscanf(line, "%64s %u %63s %u", user, &seq, hex, &again) != 4)
			continue;
		if (otp_db_get(db, user, 20000, &rec) != OTP_OK) {
			printf("%s: no record\n", user);
			bad = 1;
		} else if (rec.seq > seq) {
			printf("%s: count %u, but %u was acknowledged\n", user, rec.seq, seq);
			bad = 1;
		}
		if (again && replay(db, user, hex) != 0) {
			printf("%s: the acknowledged response %s was accepted again\n", user, hex);
			bad = 1;
		}
	}
	fclose(f);
	if ((f = fopen(inserted, "r")) == NULL)
		return 3;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, " \n")] = '\0';
		if (line[0] != '\0' && !has(&nm, line)) {
			printf("%s: an acknowledged insert is missing\n", line);
			bad = 1;
		}
	}
	fclose(f);
	free(nm.v);
	return bad;
}

int main(int argc, char **argv)
{
	unsigned long n;

	if (argc == 6 && strcmp(argv[1], "login") == 0 &&
	    otp_parse_uint(argv[5], 1, 100000000, &n) == OTP_OK)
		return logins(argv[2], argv[3], argv[4], n);
	if (argc == 5 && strcmp(argv[1], "replay") == 0)
		return replay(argv[2], argv[3], argv[4]);
	if (argc == 5 && strcmp(argv[1], "check") == 0)
		return check(argv[2], argv[3], argv[4]);
	fprintf(stderr, "usage: plwriter login DB USER PASS N | replay DB USER HEX | "
	        "check DB ACKED INSERTED\n");
	return 2;
}
