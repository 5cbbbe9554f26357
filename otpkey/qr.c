/* qr.c - a token's otpauth:// URI as a QR code: on the terminal, as PNG (libpng) or SVG. */
#include <stdio.h>
#include <stdlib.h>

#include <png.h>
#include <qrencode.h>

#include "otpkey.h"

#define QR_QUIET      4     /* ISO/IEC 18004: a quiet zone of four modules */
#define PNG_SCALE     8     /* pixels per module */

bool qr_dark(const QRcode *q, int x, int y)
{
	if (x < 0 || y < 0 || x >= q->width || y >= q->width)
		return false;
	return q->data[y * q->width + x] & 1;
}

/*
 * Two modules per character cell with UTF-8 half blocks, in explicit
 * colours (black on bright white), so that it reads the same on dark and
 * light terminals; the quiet zone is drawn too.
 */
void qr_terminal(FILE *out, const QRcode *q)
{
	int lo = -QR_QUIET, hi = q->width + QR_QUIET;

	for (int y = lo; y < hi; y += 2) {
		fputs("\033[30;107m", out);
		for (int x = lo; x < hi; x++) {
			bool top = qr_dark(q, x, y), bottom = y + 1 < hi && qr_dark(q, x, y + 1);

			fputs(top && bottom ? "\u2588" : top ? "\u2580" : bottom ? "\u2584" : " ", out);
		}
		fputs("\033[0m\n", out);
	}
}

/* Writes q as a greyscale PNG to f; false on any libpng error. */
static bool png_write(FILE *f, const QRcode *q)
{
	int size = (q->width + 2 * QR_QUIET) * PNG_SCALE;
	png_structp volatile png = NULL;
	png_infop volatile info = NULL;
	unsigned char *volatile row = NULL;
	volatile bool ok = false;

	if ((row = malloc((size_t)size)) == NULL ||
	    (png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL)) == NULL ||
	    (info = png_create_info_struct(png)) == NULL)
		goto out;
	if (setjmp(png_jmpbuf(png)))
		goto out;
	png_init_io(png, f);
	png_set_IHDR(png, info, (png_uint_32)size, (png_uint_32)size, 8, PNG_COLOR_TYPE_GRAY,
	             PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < size; y++) {
		for (int x = 0; x < size; x++)
			row[x] = qr_dark(q, x / PNG_SCALE - QR_QUIET, y / PNG_SCALE - QR_QUIET) ? 0 : 255;
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	ok = true;
out:
	if (png != NULL) {
		png_structp pp = png;
		png_infop ip = info;

		png_destroy_write_struct(&pp, ip != NULL ? &ip : NULL);
	}
	if (row != NULL)
		otp_wipe(row, (size_t)size);
	free(row);
	return ok;
}

bool qr_png(const char *path, bool force, const QRcode *q)
{
	struct secret_file sf;
	bool ok;

	if (!secret_create(&sf, path, force))
		return false;
	ok = png_write(sf.f, q);
	if (!ok)
		errmsg(_("%s: cannot write the PNG image"), path);
	return secret_finish(&sf, ok);
}

bool qr_svg(const char *path, bool force, const QRcode *q)
{
	int size = q->width + 2 * QR_QUIET;
	struct secret_file sf;
	bool ok;

	if (!secret_create(&sf, path, force))
		return false;
	fprintf(sf.f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
	        "width=\"%d\" height=\"%d\" shape-rendering=\"crispEdges\">\n"
	        "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n<path fill=\"#000000\" d=\"",
	        size, size, size * PNG_SCALE, size * PNG_SCALE, size, size);
	for (int y = 0; y < q->width; y++)
		for (int x = 0; x < q->width; x++)
			if (qr_dark(q, x, y))
				fprintf(sf.f, "M%d %dh1v1h-1z", x + QR_QUIET, y + QR_QUIET);
	fputs("\"/>\n</svg>\n", sf.f);
	ok = !ferror(sf.f);
	if (!ok)
		errmsg(_("%s: cannot write the SVG image"), path);
	return secret_finish(&sf, ok);
}
