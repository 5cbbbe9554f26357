/* sheet.c - the paper sheets in text: one page of responses, next first, within 80 columns; scratch codes. */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "otpkey.h"

#define SHEET_ROWS_MAX   (SHEET_COUNT_MAX / 2)  /* 50 rows + 9 lines of text: one page */
#define SHEET_CELL       38                     /* "9999: " + six words (29) + gap */

void sheet_head_init(struct sheet_head *h, const char *user)
{
	time_t now = time(NULL);
	struct tm tm;

	memset(h, 0, sizeof(*h));
	h->user = user;
	if (gethostname(h->host, sizeof(h->host)) != 0)
		strcpy(h->host, "(unknown)");
	h->host[HOST_MAX] = '\0';
	if (localtime_r(&now, &tm) == NULL || strftime(h->date, sizeof(h->date), "%Y-%m-%d", &tm) == 0)
		strcpy(h->date, "(unknown)");
}

bool sheet_heading(const struct sheet_head *h, bool scratch, char *title, size_t tsize,
                   char *body, size_t bsize)
{
	const char *alg = otp_alg_name(h->alg);
	int t, b;

	if (scratch) {
		t = snprintf(title, tsize, "%s", _("Emergency scratch codes (RFC 4226/6238 token)"));
		b = snprintf(body, bsize, _("User: %s\nHost: %s\nPrinted: %s"), h->user, h->host, h->date);
	} else {
		if (alg == NULL || h->count == 0 || h->count > h->first)
			return false;
		t = snprintf(title, tsize, "%s", _("One-time passwords (RFC 2289)"));
		b = snprintf(body, bsize, _("User: %s\nHost: %s\nAlgorithm: %s   Seed: %s   Printed: %s\n"
		                            "Responses %u down to %u, in the order they will be asked for"),
		             h->user, h->host, alg, h->seed, h->date, h->first, h->first - h->count + 1);
	}
	return t > 0 && (size_t)t < tsize && b > 0 && (size_t)b < bsize;
}

bool sheet_cell(char *buf, size_t size, unsigned seq, const otp_key *k, int pad)
{
	char words[OTP_WORDS_BUFSZ];
	int n;

	otp_key_to_words(k, words);
	n = snprintf(buf, size, "%4u: %-*s", seq, pad, words);
	otp_wipe(words, sizeof(words));
	return n > 0 && (size_t)n < size;
}

unsigned sheet_rows(unsigned count)
{
	return count <= SHEET_ROWS_MAX ? count : (count + 1) / 2;
}

bool sheet_print(FILE *out, const struct sheet_head *h, const otp_key *keys)
{
	char title[128], body[512], line[2 * SHEET_CELL + 8];
	char left[SHEET_CELL + 8], right[SHEET_CELL + 8];
	unsigned rows = sheet_rows(h->count), n = h->count, j;
	bool ok = false;

	if (n > SHEET_COUNT_MAX || !sheet_heading(h, false, title, sizeof(title), body, sizeof(body)))
		return false;
	fprintf(out, "%s\n%s\n\n", title, body);
	/* Down the left column, then down the right one. */
	for (j = 0; j < rows; j++) {
		unsigned r = j + rows;
		bool two = r < n;

		if (!sheet_cell(left, sizeof(left), h->first - j, &keys[n - 1 - j], two ? SHEET_CELL - 6 : 0))
			goto out;
		if (two) {
			if (!sheet_cell(right, sizeof(right), h->first - r, &keys[n - 1 - r], 0))
				goto out;
		} else {
			right[0] = '\0';
		}
		if ((size_t)snprintf(line, sizeof(line), "%s%s", left, right) >= sizeof(line))
			goto out;
		fprintf(out, "%s\n", line);
	}
	fputc('\n', out);
	fprintf(out, _("Answer the challenge \"otp-%s N %s\" with line N.\n"), otp_alg_name(h->alg),
	        h->seed);
	fputs(_("Strike out each line once used.  When few lines are left, ask the\n"
	        "administrator for a new sheet or a new key.  Keep this sheet safe.\n"), out);
	ok = true;
out:
	otp_wipe(left, sizeof(left));
	otp_wipe(right, sizeof(right));
	otp_wipe(line, sizeof(line));
	return ok;
}

bool scratch_sheet_print(FILE *out, const struct sheet_head *h, const uint32_t *codes, unsigned n)
{
	char title[128], body[512], cell8[16];
	unsigned shown = 0;

	if (!sheet_heading(h, true, title, sizeof(title), body, sizeof(body)))
		return false;
	fprintf(out, "%s\n%s\n\n", title, body);
	for (unsigned i = 0; i < n; i++) {
		if (codes[i] == OTP_SCRATCH_USED)
			continue;
		if (snprintf(cell8, sizeof(cell8), "%08u", (unsigned)codes[i]) != OTP_SCRATCH_DIGITS)
			return false;
		fprintf(out, "    %s\n", cell8);
		shown++;
	}
	otp_wipe(cell8, sizeof(cell8));
	fputc('\n', out);
	fputs(_("Each code logs in once, in place of the app's code, when the phone\n"
	        "is lost.  Strike out each code once used.  Keep this sheet safe.\n"), out);
	return shown > 0;
}
