/* pam_otp.c - PAM glue for RFC 2289 one-time passwords: options, conversation, syslog. */
#include <errno.h>
#include <libintl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <security/pam_modutil.h>

#include "otp.h"
#include "options.h"
#include "otp_paths.h"

/*
 * What the user reads is in the application's language (the locale it
 * set: login, su and sudo do; sshd does not, so its users read English),
 * from otp-tools' catalogue; the log lines stay English for log parsers.
 */
#define OTP_TEXTDOMAIN "otp"
#define _(s) dgettext(OTP_TEXTDOMAIN, s)

/* pam_otp_parse_options' logger: pam_syslog on the handle in ctx. */
__attribute__((format(printf, 3, 4)))
static void log_pam(void *ctx, int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pam_vsyslog(ctx, prio, fmt, ap);
	va_end(ap);
}

/* Copies an item for a log line: printable ASCII without spaces, capped. */
static void log_safe(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; src != NULL && src[i] != '\0' && i + 1 < size; i++)
		dst[i] = (src[i] > 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

static const char *item(pam_handle_t *pamh, int type)
{
	const void *v = NULL;

	if (pam_get_item(pamh, type, &v) != PAM_SUCCESS || v == NULL)
		return "";
	return v;
}

/*
 * The outcome line, in pam_unix's form so that fail2ban's pam-generic
 * filter, logcheck and swatch match it; reason goes on a line of its own.
 */
static void log_outcome(pam_handle_t *pamh, const char *user, bool success,
                        const char *reason, unsigned remaining)
{
	char u[OTP_USER_MAX + 1], rhost[128], ruser[64], tty[64], logname[64];
	const char *ln = pam_modutil_getlogin(pamh);

	log_safe(u, sizeof(u), user);
	log_safe(rhost, sizeof(rhost), item(pamh, PAM_RHOST));
	log_safe(ruser, sizeof(ruser), item(pamh, PAM_RUSER));
	log_safe(tty, sizeof(tty), item(pamh, PAM_TTY));
	log_safe(logname, sizeof(logname), ln != NULL ? ln : "");
	if (success) {
		pam_syslog(pamh, LOG_INFO, "authentication success; logname=%s uid=%d euid=%d "
		           "tty=%s ruser=%s rhost=%s user=%s remaining=%u", logname,
		           (int)getuid(), (int)geteuid(), tty, ruser, rhost, u, remaining);
		return;
	}
	pam_syslog(pamh, LOG_NOTICE, "authentication failure; logname=%s uid=%d euid=%d "
	           "tty=%s ruser=%s rhost=%s  user=%s", logname, (int)getuid(),
	           (int)geteuid(), tty, ruser, rhost, u);
	if (reason != NULL)
		pam_syslog(pamh, LOG_NOTICE, "user %s: %s", u, reason);
}

/* The one mapping from the login transaction's results to PAM's codes. */
static int pam_code(enum otp_login_res r)
{
	switch (r) {
	case OTP_LOGIN_OK:
		return PAM_SUCCESS;
	case OTP_LOGIN_REFUSED:
		return PAM_AUTH_ERR;
	case OTP_LOGIN_NOKEY:
		return PAM_IGNORE;
	case OTP_LOGIN_BUSY:
	case OTP_LOGIN_UNAVAIL:
	default:
		/* Missing, unreadable, unsafe, corrupt, unreachable or busy store: never success. */
		return PAM_AUTHINFO_UNAVAIL;
	}
}

/*
 * The prompt, without its final ": ", in the user's language: L->prompt
 * (libotp's English) composed again from its parts.  The challenge is never
 * translated and is always followed by ", " so that calculators parse it
 * the same in every language; in the C locale this is L->prompt exactly.
 */
static void prompt_text(const struct otp_login *L, char *buf, size_t size)
{
	const char *tok = otp_tok_name(L->token);
	char what[OTP_PROMPT_BUFSZ];
	int n;

	if (L->has_key && tok != NULL)
		n = snprintf(what, sizeof(what), _("Response or %s code"), tok);
	else if (L->has_key)
		n = snprintf(what, sizeof(what), "%s", _("Response"));
	else
		n = snprintf(what, sizeof(what), _("%s code"), tok != NULL ? tok : "TOTP");
	if (n < 0 || (size_t)n >= sizeof(what))
		what[0] = '\0';
	if (L->has_key)
		n = snprintf(buf, size, "%s, %s", L->challenge, what);
	else
		n = snprintf(buf, size, "%s", what);
	/* A translation too long for the buffer: libotp's English, never a cut challenge. */
	if (n < 0 || (size_t)n >= size || what[0] == '\0')
		snprintf(buf, size, "%s", L->prompt);
}

/* Asks the challenge; on an empty answer asks once more with echo on (OPIE's habit). */
static int ask(pam_handle_t *pamh, const struct options *o, const struct otp_login *L,
               char **resp)
{
	char text[2 * OTP_PROMPT_BUFSZ];
	int rc;

	*resp = NULL;
	prompt_text(L, text, sizeof(text));
	rc = pam_prompt(pamh, o->echo ? PAM_PROMPT_ECHO_ON : PAM_PROMPT_ECHO_OFF, resp,
	                "%s: ", text);
	if (rc == PAM_SUCCESS && *resp != NULL && (*resp)[0] == '\0' && !o->echo) {
		free(*resp);
		*resp = NULL;
		rc = pam_prompt(pamh, PAM_PROMPT_ECHO_ON, resp,
		                "%s %s: ", text, _("(echo on)"));
	}
	if (rc == PAM_SUCCESS && *resp == NULL)
		rc = PAM_CONV_ERR;
	return rc;
}

static void free_resp(char **resp)
{
	if (*resp != NULL) {
		otp_wipe(*resp, strlen(*resp));
		free(*resp);
		*resp = NULL;
	}
}

/* The first password from an earlier module, if it reads as an answer to L's prompt. */
static const char *first_pass(pam_handle_t *pamh, const struct otp_login *L)
{
	const void *tok = NULL;

	if (pam_get_item(pamh, PAM_AUTHTOK, &tok) != PAM_SUCCESS || tok == NULL)
		return NULL;
	return otp_login_takes(L, tok) ? tok : NULL;
}

/*
 * Before the answer: a low-key warning, from the challenge shown alone (so
 * made-up challenges warn alike).  Sent before the prompt, it is what sshd
 * shows with the challenge, where a message after the last prompt would
 * reach "ssh HOST COMMAND" only by chance.
 */
static void warn_low(pam_handle_t *pamh, const struct options *o, const struct otp_login *L)
{
	if (L->has_key && L->chal.seq >= 1 && L->chal.seq - 1 < o->policy.warn)
		pam_info(pamh, _("Warning: only %u one-time passwords left after this one. Re-key "
		                 "with an init-word or init-hex response (otpcalc -t) or ask for a new "
		                 "sheet."), L->chal.seq - 1);
}

/* What the user is told after the verdict: the login programs show it, FTP daemons may not. */
static void tell(pam_handle_t *pamh, const struct otp_login *L, enum otp_login_res r)
{
	if (r == OTP_LOGIN_OK && L->used == OTP_USED_SCRATCH)
		pam_info(pamh, _("Emergency scratch code used; %u left."), L->scratch_left);
	else if (r == OTP_LOGIN_OK && L->rekeyed)
		pam_info(pamh, "%s", _("Your one-time password key has been re-initialised."));
	else if (r == OTP_LOGIN_REFUSED && L->why == OTP_ERR_REINIT)
		pam_error(pamh, "%s", _("Re-initialisation refused; that one-time password is now used."));
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct options o;
	struct otp_login L;
	const char *user = NULL, *tok;
	char *resp = NULL;
	enum otp_login_res r;
	int rc;

	(void)flags;
	memset(&L, 0, sizeof(L));
	bindtextdomain(OTP_TEXTDOMAIN, OTP_LOCALEDIR);
	if (!pam_otp_parse_options(argc, argv, &o, log_pam, pamh))
		return PAM_SERVICE_ERR;
	rc = pam_get_user(pamh, &user, NULL);
	if (rc != PAM_SUCCESS || user == NULL || user[0] == '\0')
		return rc == PAM_SUCCESS ? PAM_USER_UNKNOWN : rc;

	r = otp_login_begin(&o.policy, user, &L);
	if (r == OTP_LOGIN_NOKEY) {
		if (o.debug)
			pam_syslog(pamh, LOG_DEBUG, "no OTP key for %s: ignored (nullok)", L.user);
		rc = PAM_IGNORE;
		goto out;
	}
	if (r != OTP_LOGIN_OK) {
		/* A malformed name cannot be enrolled: saying so tells nothing. */
		log_outcome(pamh, user, false, otp_strerror(L.why), 0);
		rc = r == OTP_LOGIN_REFUSED ? PAM_USER_UNKNOWN : pam_code(r);
		goto out;
	}
	if (o.debug)
		pam_syslog(pamh, LOG_DEBUG, "challenge for %s: %s", L.user, L.challenge);

	tok = (o.use_first_pass || o.try_first_pass) ? first_pass(pamh, &L) : NULL;
	if (tok == NULL && o.use_first_pass) {
		otp_login_abort(&o.policy, &L);
		log_outcome(pamh, user, false, "use_first_pass: no OTP response from an earlier module", 0);
		rc = PAM_AUTH_ERR;
		goto out;
	}
	if (tok != NULL) {
		r = otp_login_finish(&o.policy, &L, tok);
		if (r != OTP_LOGIN_REFUSED || o.use_first_pass)
			goto verdict;
		/* try_first_pass and it did not verify: ask, with a new challenge. */
		if ((r = otp_login_begin(&o.policy, user, &L)) != OTP_LOGIN_OK) {
			log_outcome(pamh, user, false, otp_strerror(L.why), 0);
			rc = pam_code(r);
			goto out;
		}
	}

	warn_low(pamh, &o, &L);
	rc = ask(pamh, &o, &L, &resp);
	if (rc != PAM_SUCCESS) {
		otp_login_abort(&o.policy, &L);
		if (o.debug)
			pam_syslog(pamh, LOG_DEBUG, "conversation failed for %s", L.user);
		goto out;
	}
	r = otp_login_finish(&o.policy, &L, resp);
verdict:
	rc = pam_code(r);
	log_outcome(pamh, user, r == OTP_LOGIN_OK, otp_strerror(L.why), L.remaining);
	tell(pamh, &L, r);
out:
	free_resp(&resp);
	otp_wipe(&L, sizeof(L));
	otp_wipe(&o, sizeof(o));
	return rc;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
