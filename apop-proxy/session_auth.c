/* session_auth.c - AUTH (RFC 5034): the OTP mechanism (RFC 2444) and, after STLS, PLAIN (RFC 4616). */
#include <string.h>

#include "session.h"

const char *sasl_mechs(const struct sess *s)
{
	/* RFC 2444 s3: the OTP mechanism needs extended responses; PLAIN only inside TLS. */
	if (s->px->policy.ext)
		return s->tls ? "OTP PLAIN" : "OTP";
	return s->tls ? "PLAIN" : "";
}

static bool is_mech(const char *arg, const char *mech)
{
	size_t n = strlen(mech);

	if (strlen(arg) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((arg[i] >= 'a' && arg[i] <= 'z' ? arg[i] - 'a' + 'A' : arg[i]) != mech[i])
			return false;
	return true;
}

/*
 * One client message: the initial response given with AUTH (initial not
 * NULL; "=" is an empty one), else a continuation line after the
 * challenge in b64chal.  Returns GO_ON with the decoded bytes, 0 when the
 * client cancelled or sent what cannot be decoded (it was told), else the
 * session's exit status.
 */
static int client_msg(struct sess *s, const char *initial, const char *b64chal,
                      unsigned char *out, size_t size, size_t *outlen)
{
	char line[SASL_LINE_MAX + 1];
	const char *text = initial;
	size_t len = 0;
	int r = GO_ON;

	if (text == NULL) {
		if (!say(s, "+ %s", b64chal))
			return 1;
		r = get_line(s, SASL_LINE_MAX, line, &len);
		if (r == LINE_LONG)
			r = say(s, "-ERR [AUTH] response too long") ? 0 : 1;
		if (r != GO_ON)
			goto out;
		text = line;
	} else if (strcmp(text, "=") == 0) {
		text = "";
	}
	len = strlen(text);
	/* RFC 5034 s4: "*" cancels; what is not base64 fails the command. */
	if (strcmp(text, "*") == 0)
		r = say(s, "-ERR [AUTH] authentication cancelled") ? 0 : 1;
	else if (!sasl_b64_decode(text, len, out, size, outlen))
		r = say(s, "-ERR [AUTH] malformed base64") ? 0 : 1;
out:
	otp_wipe(line, sizeof(line));
	return r;
}

/* The OTP mechanism: authzid NUL authcid, the challenge from the login transaction, the response. */
static int auth_otp(struct sess *s, const char *initial)
{
	unsigned char msg[SASL_MSG_MAX];
	char b64[(OTP_PROMPT_BUFSZ + 32) / 3 * 4 + 8];
	const char *f[3];
	size_t fl[3], len = 0;
	struct answer a;
	int r = client_msg(s, initial, "", msg, sizeof(msg), &len);

	if (r != GO_ON)
		return r == 0 ? counted(s) : r;
	if (!sasl_split(msg, len, 2, f, fl))
		return bad(s, "[AUTH] malformed OTP message (authzid NUL authcid)");
	if (!ask(s, RQ_SASL_OTP, msg, len, &a))
		return 1;
	if (a.type != RP_CHALLENGE)
		return conclude(s, &a);
	if (!sasl_b64_encode(a.payload, a.len, b64, sizeof(b64)))
		return 1;
	r = client_msg(s, NULL, b64, msg, OTP_RESPONSE_MAX, &len);
	/* A response may end in blanks or a line end (RFC 2444 s4 allows them, SHOULD NOT). */
	while (r == GO_ON && len > 0 && (msg[len - 1] == ' ' || msg[len - 1] == '\t' ||
	                                 msg[len - 1] == '\r' || msg[len - 1] == '\n'))
		len--;
	for (size_t i = 0; r == GO_ON && i < len; i++)
		if (msg[i] < 0x20 || msg[i] == 0x7f)
			r = say(s, "-ERR [AUTH] malformed response") ? 0 : 1;
	if (r == GO_ON) {
		r = ask(s, RQ_SASL_RESP, msg, len, &a) ? conclude(s, &a) : 1;
	} else {
		/* Cancelled, or nothing to verify: the challenge goes back. */
		(void)msg_send(s->mon, RQ_ABORT, NULL, 0, -1);
		r = r == 0 ? counted(s) : r;
	}
	otp_wipe(msg, sizeof(msg));
	return r;
}

/* PLAIN, inside TLS: authzid NUL authcid NUL passwd, judged by the monitor. */
static int auth_plain(struct sess *s, const char *initial)
{
	unsigned char req[1 + SASL_MSG_MAX];
	const char *f[3];
	size_t fl[3], len = 0;
	struct answer a;
	int r = client_msg(s, initial, "", req + 1, sizeof(req) - 1, &len);

	if (r == GO_ON && !sasl_split(req + 1, len, 3, f, fl))
		r = say(s, "-ERR [AUTH] malformed PLAIN message") ? 0 : 1;
	if (r == GO_ON) {
		req[0] = 1;
		r = ask(s, RQ_SASL_PLAIN, req, 1 + len, &a) ? conclude(s, &a) : 1;
	} else if (r == 0) {
		r = counted(s);
	}
	otp_wipe(req, sizeof(req));
	return r;
}

int cmd_auth(struct sess *s, const struct pop3_cmd *c)
{
	const char *mechs = sasl_mechs(s), *initial = c->nargs == 2 ? c->rest : NULL;
	char list[32];
	size_t j = 0;

	if (c->nargs == 0) {
		/* The mechanisms, one a line, as some clients ask (RFC 1734's AUTH without a name). */
		for (size_t i = 0; mechs[i] != '\0' && j + 3 < sizeof(list); i++)
			if (mechs[i] == ' ') {
				list[j++] = '\r';
				list[j++] = '\n';
			} else {
				list[j++] = mechs[i];
			}
		list[j] = '\0';
		return say(s, "+OK SASL mechanisms follow\r\n%s%s.", list, j > 0 ? "\r\n" : "") ? GO_ON : 1;
	}
	/* The monitor withdraws a challenge USER left outstanding when the mechanism begins. */
	s->st = ST_START;
	if (is_mech(c->arg[0], "OTP") && s->px->policy.ext)
		return auth_otp(s, initial);
	if (is_mech(c->arg[0], "PLAIN") && s->tls)
		return auth_plain(s, initial);
	if (is_mech(c->arg[0], "PLAIN"))
		return bad(s, "[AUTH] PLAIN is offered only after STLS");
	return bad(s, "[AUTH] unknown SASL mechanism (CAPA lists them)");
}
