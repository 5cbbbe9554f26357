/* pdf.c - the sheets to print: one PDF page drawn with cairo, its text laid out by pango, fonts embedded. */
#include <string.h>

#include <cairo.h>
#include <cairo-pdf.h>
#include <pango/pangocairo.h>

#include "otpkey.h"

#define PT_PER_MM     (72.0 / 25.4)
#define MARGIN        (15 * PT_PER_MM)
#define BOX           7.0           /* the box to strike, points */
#define ROW_MAX       14.0          /* row height on a short sheet */
#define QR_MODULE_MAX 4.0           /* points per QR module; a 4-module quiet zone around */
#define QR_SIDE_MAX   (65 * PT_PER_MM)
#define TEXT_MAX      1024          /* a heading or a paragraph */

/* One page being drawn; y is where the next block of text goes. */
struct page {
	cairo_surface_t *surface;
	cairo_t *cr;
	PangoLayout *layout;
	double w, h, y;
};

static cairo_status_t write_out(void *closure, const unsigned char *data, unsigned int len)
{
	return fwrite(data, 1, len, closure) == len ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

/*
 * The language of the messages (the catalogue's "Language:" header), so
 * that pango draws the glyphs that language writes (Japanese forms of Han
 * characters under ja) whatever LC_CTYPE says.
 */
static PangoLanguage *message_language(void)
{
	const char *meta = gettext(""), *l = strstr(meta, "Language: ");
	char tag[16];
	size_t n = 0;

	if (l == NULL)
		return pango_language_from_string("en");
	for (l += 10; n + 1 < sizeof(tag) && l[n] != '\0' && l[n] != '\n'; n++)
		tag[n] = l[n];
	tag[n] = '\0';
	return pango_language_from_string(tag);
}

static bool page_open(struct page *p, FILE *f, enum paper paper, const char *title)
{
	memset(p, 0, sizeof(*p));
	p->w = paper == PAPER_LETTER ? 612.0 : 210 * PT_PER_MM;
	p->h = paper == PAPER_LETTER ? 792.0 : 297 * PT_PER_MM;
	p->y = MARGIN;
	p->surface = cairo_pdf_surface_create_for_stream(write_out, f, p->w, p->h);
	cairo_pdf_surface_set_metadata(p->surface, CAIRO_PDF_METADATA_TITLE, title);
	cairo_pdf_surface_set_metadata(p->surface, CAIRO_PDF_METADATA_CREATOR, "otpkey " OTPKEY_VERSION);
	p->cr = cairo_create(p->surface);
	p->layout = pango_cairo_create_layout(p->cr);
	/* Font sizes in points: the PDF's own unit, not pango's default of 96 dpi. */
	pango_cairo_context_set_resolution(pango_layout_get_context(p->layout), 72);
	pango_context_set_language(pango_layout_get_context(p->layout), message_language());
	pango_layout_context_changed(p->layout);
	pango_layout_set_wrap(p->layout, PANGO_WRAP_WORD_CHAR);
	return cairo_status(p->cr) == CAIRO_STATUS_SUCCESS;
}

/* Ends the page and the document; false after saying why. */
static bool page_close(struct page *p, bool ok)
{
	cairo_status_t st;

	if (ok)
		cairo_show_page(p->cr);
	if (p->layout != NULL) {
		pango_layout_set_text(p->layout, "", 0);
		g_object_unref(p->layout);
	}
	st = cairo_status(p->cr);
	cairo_destroy(p->cr);
	cairo_surface_finish(p->surface);
	if (st == CAIRO_STATUS_SUCCESS)
		st = cairo_surface_status(p->surface);
	cairo_surface_destroy(p->surface);
	if (ok && st != CAIRO_STATUS_SUCCESS)
		errmsg(_("cannot draw the PDF: %s"), cairo_status_to_string(st));
	return ok && st == CAIRO_STATUS_SUCCESS;
}

/* Lays out s in font within width points (0: one line); returns its height in points. */
static double layout(struct page *p, const char *font, const char *s, double width)
{
	PangoFontDescription *fd = pango_font_description_from_string(font);
	int w, h;

	pango_layout_set_font_description(p->layout, fd);
	pango_font_description_free(fd);
	pango_layout_set_width(p->layout, width > 0 ? (int)(width * PANGO_SCALE) : -1);
	pango_layout_set_text(p->layout, s, -1);
	pango_layout_get_size(p->layout, &w, &h);
	return (double)h / PANGO_SCALE;
}

/* Draws s at (x, y); returns its height. */
static double text_at(struct page *p, double x, double y, const char *font, const char *s,
                      double width)
{
	double h = layout(p, font, s, width);

	cairo_move_to(p->cr, x, y);
	pango_cairo_show_layout(p->cr, p->layout);
	return h;
}

/* A paragraph across the page at p->y, then a gap below it. */
static void paragraph(struct page *p, const char *font, const char *s, double gap)
{
	p->y += text_at(p, MARGIN, p->y, font, s, p->w - 2 * MARGIN) + gap;
}

/*
 * A message laid out for 80 columns, as one paragraph: its single line
 * breaks go, replaced by a space after Latin text, by nothing after
 * Japanese (or any non-ASCII) text.
 */
static void unwrap(const char *in, char *out, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; in[i] != '\0' && n + 1 < size; i++) {
		if (in[i] != '\n' || in[i + 1] == '\n' || in[i + 1] == '\0' || (i > 0 && in[i - 1] == '\n'))
			out[n++] = in[i];
		else if (i > 0 && (unsigned char)in[i - 1] < 0x80)
			out[n++] = ' ';
	}
	while (n > 0 && out[n - 1] == '\n')
		n--;
	out[n] = '\0';
}

/* The title and the heading lines, then a rule. */
static void heading(struct page *p, const char *title, const char *body)
{
	paragraph(p, "Sans Bold 15", title, 6);
	paragraph(p, "Sans 10", body, 6);
	cairo_set_line_width(p->cr, 0.6);
	cairo_move_to(p->cr, MARGIN, p->y);
	cairo_line_to(p->cr, p->w - MARGIN, p->y);
	cairo_stroke(p->cr);
	p->y += 10;
}

/* A box to strike, then s beside it, with the box's top at y. */
static void boxed(struct page *p, double x, double y, const char *font, const char *s)
{
	double h = layout(p, font, s, 0);

	cairo_set_line_width(p->cr, 0.7);
	cairo_rectangle(p->cr, x, y + (h - BOX) / 2, BOX, BOX);
	cairo_stroke(p->cr);
	cairo_move_to(p->cr, x + BOX + 5, y);
	pango_cairo_show_layout(p->cr, p->layout);
}

/* The responses in two columns (one up to 50), in the text sheet's order, between y and bottom. */
static bool responses(struct page *p, const struct sheet_head *h, const otp_key *keys, double bottom)
{
	unsigned rows = sheet_rows(h->count), n = h->count;
	double row = (bottom - p->y) / rows, col = (p->w - 2 * MARGIN) / 2;
	char cell[64];
	bool ok = true;

	if (row > ROW_MAX)
		row = ROW_MAX;
	for (unsigned i = 0; i < n && ok; i++) {
		unsigned c = i / rows, r = i % rows;

		ok = sheet_cell(cell, sizeof(cell), h->first - i, &keys[n - 1 - i], 0);
		if (ok)
			boxed(p, MARGIN + c * col, p->y + r * row, "Monospace 10", cell);
	}
	otp_wipe(cell, sizeof(cell));
	p->y += rows * row + 8;
	return ok;
}

bool pdf_sheet(FILE *f, enum paper paper, const struct sheet_head *h, const otp_key *keys)
{
	char title[128], body[512], answer[256], foot[2 * TEXT_MAX], strike[TEXT_MAX];
	struct page p;
	double bottom;
	bool ok;

	if (!sheet_heading(h, false, title, sizeof(title), body, sizeof(body)))
		return false;
	snprintf(answer, sizeof(answer), _("Answer the challenge \"otp-%s N %s\" with line N.\n"),
	         otp_alg_name(h->alg), h->seed);
	unwrap(_("Strike out each line once used.  When few lines are left, ask the\n"
	         "administrator for a new sheet or a new key.  Keep this sheet safe.\n"),
	       strike, sizeof(strike));
	unwrap(answer, answer, sizeof(answer));
	if ((size_t)snprintf(foot, sizeof(foot), "%s\n%s", answer, strike) >= sizeof(foot))
		return false;
	ok = page_open(&p, f, paper, title);
	if (ok) {
		heading(&p, title, body);
		bottom = p.h - MARGIN - layout(&p, "Sans 10", foot, p.w - 2 * MARGIN) - 10;
		ok = responses(&p, h, keys, bottom);
		p.y = bottom + 10;
		paragraph(&p, "Sans 10", foot, 0);
	}
	return page_close(&p, ok);
}

/* q at (x, y), QR_MODULE_MAX points a module or less to fit QR_SIDE_MAX, quiet zone included. */
static double qr_draw(struct page *p, const QRcode *q, double x, double y)
{
	double m = QR_SIDE_MAX / (q->width + 8);

	if (m > QR_MODULE_MAX)
		m = QR_MODULE_MAX;
	for (int r = 0; r < q->width; r++)
		for (int c = 0; c < q->width; c++)
			if (qr_dark(q, c, r))
				cairo_rectangle(p->cr, x + (c + 4) * m, y + (r + 4) * m, m, m);
	cairo_fill(p->cr);
	return (q->width + 8) * m;
}

/* The scratch codes, one a line, each with its box. */
static void scratch_codes(struct page *p, const uint32_t *codes, unsigned n)
{
	char cell[16];

	for (unsigned i = 0; i < n; i++) {
		if (codes[i] == OTP_SCRATCH_USED)
			continue;
		snprintf(cell, sizeof(cell), "%08u", (unsigned)codes[i]);
		boxed(p, MARGIN + 10, p->y, "Monospace 12", cell);
		p->y += 18;
	}
	otp_wipe(cell, sizeof(cell));
	p->y += 6;
}

bool pdf_token(FILE *f, enum paper paper, const struct sheet_head *h, const char *uri,
               const QRcode *q, const uint32_t *codes, unsigned n)
{
	char title[128], body[512], foot[TEXT_MAX];
	struct page p;
	bool ok;

	if (!sheet_heading(h, true, title, sizeof(title), body, sizeof(body)))
		return false;
	ok = page_open(&p, f, paper, _("Authenticator app enrolment"));
	if (ok) {
		heading(&p, _("Authenticator app enrolment"), body);
		paragraph(&p, "Sans 10", _("Scan the code with an authenticator app, or enter the URI "
		                           "by hand."), 4);
		p.y += qr_draw(&p, q, MARGIN, p.y) + 4;
		paragraph(&p, "Monospace 8", uri, 14);
		if (n > 0) {
			paragraph(&p, "Sans Bold 12", title, 6);
			scratch_codes(&p, codes, n);
			unwrap(_("Each code logs in once, in place of the app's code, when the phone\n"
			         "is lost.  Strike out each code once used.  Keep this sheet safe.\n"),
			       foot, sizeof(foot));
			paragraph(&p, "Sans 10", foot, 0);
		}
	}
	return page_close(&p, ok);
}
