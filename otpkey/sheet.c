/* sheet.c - the paper sheet: one page of responses, next first, within 80 columns. */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "otpkey.h"

#define SHEET_ROWS_MAX   (SHEET_COUNT_MAX / 2)  /* 50 rows + 9 lines of text: one page */
#define SHEET_CELL       38                     /* "9999: " + six words (29) + gap */
#define HOST_MAX         64

/* One entry, "SEQ: SIX WORDS", padded to a column when pad. */
static bool cell(char *buf, size_t size, unsigned seq, const otp_key *k, bool pad)
{
	char words[OTP_WORDS_BUFSZ];
	int n;

	otp_key_to_words(k, words);
	if (pad)
		n = snprintf(buf, size, "%4u: %-*s", seq, SHEET_CELL - 6, words);
	else
		n = snprintf(buf, size, "%4u: %s", seq, words);
	otp_wipe(words, sizeof(words));
	return n > 0 && (size_t)n < size;
}

bool sheet_print(FILE *out, const char *user, enum otp_alg alg, const char *seed,
                 unsigned first, unsigned count, const otp_key *keys)
{
	char host[HOST_MAX + 1], date[32], line[2 * SHEET_CELL + 8];
	char left[SHEET_CELL + 8], right[SHEET_CELL + 8];
	const char *algname = otp_alg_name(alg);
	unsigned rows, j;
	struct tm tm;
	time_t now = time(NULL);
	bool ok = false;

	if (count == 0 || count > SHEET_COUNT_MAX || count > first || algname == NULL)
		return false;
	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "(unknown)");
	host[HOST_MAX] = '\0';
	if (localtime_r(&now, &tm) == NULL || strftime(date, sizeof(date), "%Y-%m-%d", &tm) == 0)
		strcpy(date, "(unknown)");

	fprintf(out, "One-time passwords (RFC 2289)\nUser: %s\nHost: %s\n", user, host);
	fprintf(out, "Algorithm: %s   Seed: %s   Printed: %s\n", algname, seed, date);
	fprintf(out, "Responses %u down to %u, in the order they will be asked for\n\n",
	        first, first - count + 1);

	/* Down the left column, then down the right one. */
	rows = count <= SHEET_ROWS_MAX ? count : (count + 1) / 2;
	for (j = 0; j < rows; j++) {
		unsigned r = j + rows;
		bool two = count > SHEET_ROWS_MAX && r < count;

		if (!cell(left, sizeof(left), first - j, &keys[count - 1 - j], two))
			goto out;
		if (two) {
			if (!cell(right, sizeof(right), first - r, &keys[count - 1 - r], false))
				goto out;
		} else {
			right[0] = '\0';
		}
		if ((size_t)snprintf(line, sizeof(line), "%s%s", left, right) >= sizeof(line))
			goto out;
		fprintf(out, "%s\n", line);
	}

	fprintf(out, "\nAnswer the challenge \"otp-%s N %s\" with line N.\n", algname, seed);
	fputs("Strike out each line once used.  When few lines are left, ask the\n"
	      "administrator for a new sheet or a new key.  Keep this sheet safe.\n", out);
	ok = true;
out:
	otp_wipe(left, sizeof(left));
	otp_wipe(right, sizeof(right));
	otp_wipe(line, sizeof(line));
	return ok;
}

bool scratch_sheet_print(FILE *out, const char *user, const uint32_t *codes, unsigned n)
{
	char host[HOST_MAX + 1], date[32], cell8[16];
	struct tm tm;
	time_t now = time(NULL);
	unsigned shown = 0;

	if (gethostname(host, sizeof(host)) != 0)
		strcpy(host, "(unknown)");
	host[HOST_MAX] = '\0';
	if (localtime_r(&now, &tm) == NULL || strftime(date, sizeof(date), "%Y-%m-%d", &tm) == 0)
		strcpy(date, "(unknown)");
	fprintf(out, "Emergency scratch codes (RFC 4226/6238 token)\nUser: %s\nHost: %s\n", user, host);
	fprintf(out, "Printed: %s\n\n", date);
	for (unsigned i = 0; i < n; i++) {
		if (codes[i] == OTP_SCRATCH_USED)
			continue;
		if (snprintf(cell8, sizeof(cell8), "%08u", (unsigned)codes[i]) != OTP_SCRATCH_DIGITS)
			return false;
		fprintf(out, "    %s\n", cell8);
		shown++;
	}
	otp_wipe(cell8, sizeof(cell8));
	fprintf(out, "\nEach code logs in once, in place of the app's code, when the phone\n"
	        "is lost.  Strike out each code once used.  Keep this sheet safe.\n");
	return shown > 0;
}
