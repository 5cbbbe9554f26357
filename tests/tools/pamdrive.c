/* pamdrive.c - drive a PAM service through the real libpam from a private config dir. */
#include <dlfcn.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "otp.h"

/*
 * Usage:
 *   pamdrive CONFDIR SERVICE USER [ANSWER...]
 *     One authentication.  Each prompt is answered with the next ANSWER
 *     ("-" reads a line from stdin); with none left the conversation fails.
 *     Prints PROMPT/INFO/ERROR lines and "RESULT: <code> <text>"; exits
 *     with the PAM code (0 for PAM_SUCCESS).
 *   pamdrive -p THREADS CONFDIR SERVICE USER ANSWER
 *     THREADS authentications at once in one process, all with ANSWER;
 *     prints "success N failure M".
 *   pamdrive -b SECONDS[:MAX] CONFDIR SERVICE PREFIX NUSERS ANSWER [FIRST]
 *     Benchmark: authenticate for SECONDS (and at most MAX times), users
 *     PREFIX0 .. PREFIX<NUSERS-1> in turn from PREFIX<FIRST>, each answered
 *     with ANSWER; prints "auths N ok K seconds S rate R".
 *
 *   pamdrive -k MODULE ...
 *     Before any of these: MODULE (a path) loaded once and kept loaded, so
 *     that libpam's pam_end does not unload it between logins (pam_otp.so
 *     keeps itself loaded); repeatable.
 *
 *   pamdrive -t CONFDIR SERVICE ANSWER USER...
 *     Timing: one authentication per USER, answered with ANSWER; prints
 *     "USER PROMPT_US VERDICT_US RESULT PROMPT" for each: microseconds from
 *     pam_start to the prompt, and from the answer to the verdict.
 *
 * An ANSWER "@PASSPHRASE" plays an automated generator: it reads the
 * challenge from the prompt and answers with the OTP computed from
 * PASSPHRASE (as OPIE's opiekey would), in six words.  An ANSWER
 * "%HEXSECRET" plays a HOTP token (RFC 4226, SHA1, 6 digits) whose
 * counter starts at 0 for each user and moves on with each login.  The
 * locale is the environment's (setlocale), as in the login programs.
 */

struct answers {
	char **list;
	int n, next;
	int quiet;
	uint64_t *counter;          /* "%HEX" answers: this user's next HOTP counter */
	double prompted;            /* -t: when the (last) prompt came */
	char prompt[256];
};

static double now(void);

/* The HOTP code for counter from the hex secret; -1 if malformed. */
static int hotp_code(const char *hex, uint64_t counter, char code[OTP_TOK_DIGITS_MAX + 1])
{
	unsigned char secret[OTP_TOK_SECRET_MAX];
	size_t n = strlen(hex) / 2;
	unsigned v;

	if (n == 0 || n > sizeof(secret) || strlen(hex) % 2 != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		secret[i] = (unsigned char)v;
	}
	return otp_hotp(OTP_HMAC_SHA1, secret, n, counter, 6, code) == OTP_OK ? 0 : -1;
}

/*
 * The "@PASSPHRASE" answers' chain, computed once per (algorithm, seed,
 * pass phrase) so that benchmarks time the server, not this generator.
 */
static struct {
	enum otp_alg alg;
	char seed[OTP_SEED_MAX + 1];
	char pass[OTP_PASS_MAX + 1];
	otp_key keys[OTP_SEQ_MAX + 1];
	unsigned top;
	int valid;
} chain;
static pthread_mutex_t chain_lock = PTHREAD_MUTEX_INITIALIZER;

static int chain_key(const struct otp_challenge *ch, const char *pass, otp_key *k)
{
	int rc = 0;

	pthread_mutex_lock(&chain_lock);
	if (!chain.valid || chain.alg != ch->alg || strcmp(chain.seed, ch->seed) != 0 ||
	    strcmp(chain.pass, pass) != 0 || ch->seq > chain.top) {
		chain.valid = 0;
		if (strlen(pass) > OTP_PASS_MAX ||
		    otp_compute_range(ch->alg, ch->seq, ch->seq + 1, ch->seed, pass, strlen(pass),
		                      chain.keys) != OTP_OK) {
			rc = -1;
			goto out;
		}
		chain.alg = ch->alg;
		strcpy(chain.seed, ch->seed);
		strcpy(chain.pass, pass);
		chain.top = ch->seq;
		chain.valid = 1;
	}
	*k = chain.keys[ch->seq];
out:
	pthread_mutex_unlock(&chain_lock);
	return rc;
}

static int conv(int num, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct answers *a = data;
	struct pam_response *r = calloc((size_t)num, sizeof(*r));
	char line[1024];

	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < num; i++) {
		const char *m = msg[i]->msg;

		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			a->prompted = now();
			snprintf(a->prompt, sizeof(a->prompt), "%s", m);
			if (!a->quiet)
				printf("PROMPT%s: %s\n", msg[i]->msg_style == PAM_PROMPT_ECHO_ON ? "-ECHO" : "", m);
			if (a->next >= a->n)
				goto fail;
			if (a->list[a->next][0] == '%') {
				if (a->counter == NULL || hotp_code(a->list[a->next] + 1, *a->counter, line) != 0)
					goto fail;
				(*a->counter)++;
				r[i].resp = strdup(line);
			} else if (a->list[a->next][0] == '@') {
				const char *pass = a->list[a->next] + 1;
				struct otp_challenge ch;
				otp_key k;

				if (otp_challenge_parse(m, &ch) != OTP_OK || chain_key(&ch, pass, &k) != 0)
					goto fail;
				otp_key_to_words(&k, line);
				r[i].resp = strdup(line);
			} else if (strcmp(a->list[a->next], "-") == 0) {
				if (fgets(line, sizeof(line), stdin) == NULL)
					goto fail;
				line[strcspn(line, "\r\n")] = '\0';
				r[i].resp = strdup(line);
			} else {
				r[i].resp = strdup(a->list[a->next]);
			}
			a->next++;
			if (r[i].resp == NULL)
				goto fail;
			break;
		case PAM_TEXT_INFO:
			if (!a->quiet)
				printf("INFO: %s\n", m);
			break;
		case PAM_ERROR_MSG:
			if (!a->quiet)
				printf("ERROR: %s\n", m);
			break;
		default:
			goto fail;
		}
	}
	fflush(stdout);
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (int i = 0; i < num; i++)
		free(r[i].resp);
	free(r);
	return PAM_CONV_ERR;
}

static int auth_once(const char *confdir, const char *service, const char *user,
                     struct answers *a)
{
	struct pam_conv c = { conv, a };
	pam_handle_t *pamh = NULL;
	int rc = pam_start_confdir(service, user, &c, confdir, &pamh);

	if (rc != PAM_SUCCESS)
		return rc;
	(void)pam_set_item(pamh, PAM_RHOST, "127.0.0.1");
	(void)pam_set_item(pamh, PAM_TTY, "pamdrive");
	rc = pam_authenticate(pamh, 0);
	pam_end(pamh, rc);
	return rc;
}

struct job {
	const char *confdir, *service, *user;
	char *answer;
	int rc;
};

static void *thread_main(void *arg)
{
	struct job *j = arg;
	struct answers a = { &j->answer, 1, 0, 1, NULL, 0, "" };

	j->rc = auth_once(j->confdir, j->service, j->user, &a);
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parallel(int n, char **argv)
{
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	struct job *j = calloc((size_t)n, sizeof(*j));
	int ok = 0, bad = 0;

	if (t == NULL || j == NULL)
		return 1;
	for (int i = 0; i < n; i++) {
		j[i] = (struct job){ argv[0], argv[1], argv[2], argv[3], -1 };
		if (pthread_create(&t[i], NULL, thread_main, &j[i]) != 0)
			return 1;
	}
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		if (j[i].rc == PAM_SUCCESS)
			ok++;
		else
			bad++;
	}
	printf("success %d failure %d\n", ok, bad);
	free(t);
	free(j);
	return 0;
}

static int bench(const char *limit, int argc, char **argv)
{
	char *end;
	double seconds = strtod(limit, &end);
	long max = *end == ':' ? strtol(end + 1, NULL, 10) : 0;
	char user[128];
	long n = 0, ok = 0, nusers = strtol(argv[3], NULL, 10);
	long first = argc > 5 ? strtol(argv[5], NULL, 10) : 0;
	uint64_t *counters;
	double start = now(), el;

	if (nusers < 1 || first < 0 || (counters = calloc((size_t)nusers, sizeof(*counters))) == NULL)
		return 2;
	do {
		long u = (first + n) % nusers;
		struct answers a = { &argv[4], 1, 0, 1, &counters[u], 0, "" };

		snprintf(user, sizeof(user), "%s%ld", argv[2], u);
		if (auth_once(argv[0], argv[1], user, &a) == PAM_SUCCESS)
			ok++;
		n++;
		el = now() - start;
	} while (el < seconds && (max <= 0 || n < max));
	printf("auths %ld ok %ld seconds %.3f rate %.1f\n", n, ok, el, (double)n / el);
	free(counters);
	return 0;
}

static int timing(int argc, char **argv)
{
	for (int i = 3; i < argc; i++) {
		struct answers a = { &argv[2], 1, 0, 1, NULL, 0, "" };
		double t0 = now(), t1;
		int rc = auth_once(argv[0], argv[1], argv[i], &a);

		t1 = now();
		if (a.prompted == 0)
			a.prompted = t1;
		printf("%s %.0f %.0f %d %s\n", argv[i], (a.prompted - t0) * 1e6, (t1 - a.prompted) * 1e6,
		       rc, a.prompt);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct answers a;
	int rc;

	/* As login, su and sudo do: the module speaks the locale's language. */
	setlocale(LC_ALL, "");
	/* -k MODULE: loaded once and kept, as pam_otp.so keeps itself (-z nodelete). */
	while (argc >= 3 && strcmp(argv[1], "-k") == 0) {
		if (dlopen(argv[2], RTLD_NOW | RTLD_NODELETE) == NULL) {
			fprintf(stderr, "pamdrive: %s\n", dlerror());
			return 2;
		}
		argv[2] = argv[0];
		argc -= 2;
		argv += 2;
	}
	if (argc >= 7 && strcmp(argv[1], "-p") == 0)
		return parallel((int)strtol(argv[2], NULL, 10), argv + 3);
	if (argc >= 6 && strcmp(argv[1], "-t") == 0)
		return timing(argc - 2, argv + 2);
	if (argc >= 8 && strcmp(argv[1], "-b") == 0)
		return bench(argv[2], argc - 3, argv + 3);
	if (argc < 4) {
		fprintf(stderr, "usage: pamdrive CONFDIR SERVICE USER [ANSWER...]\n");
		return 2;
	}
	a = (struct answers){ argv + 4, argc - 4, 0, 0, NULL, 0, "" };
	rc = auth_once(argv[1], argv[2], argv[3], &a);
	printf("RESULT: %d %s\n", rc, pam_strerror(NULL, rc));
	return rc;
}
