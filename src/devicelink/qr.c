/*
 * QR rendering with libqrencode (byte mode, error correction level M).
 *
 *   VAULT_QR_TEXT  UTF-8 half blocks, two module rows per text line, a 4-module
 *                  quiet zone. Light modules are drawn (█ ▀ ▄), dark ones are
 *                  blank: meant for the usual light-on-dark terminal, like
 *                  `qrencode -t UTF8`.
 *   VAULT_QR_SVG   one <path> of dark runs over a white background, 4-module
 *                  quiet zone, one user unit per module.
 *   VAULT_QR_PGM   binary P5 greyscale, 8 pixels per module, 4-module quiet zone.
 */
#include <errno.h>
#include <qrencode.h>
#include <stdio.h>
#include <string.h>

#include "common/common.h"
#include "devicelink/devicelink.h"

#define QR_TEXT_MAX 2048u /* far above a link payload, below QR's byte capacity */
#define QUIET 4
#define PGM_SCALE 8

typedef struct qr_grid {
    const QRcode *code;
    int width; /* modules including the quiet zone on both sides */
} qr_grid;

/* Whether the module at (x, y) of the padded grid is dark. */
static int dark_at(const qr_grid *g, int x, int y)
{
    int size = g->code->width;
    x -= QUIET;
    y -= QUIET;
    if (x < 0 || y < 0 || x >= size || y >= size)
        return 0;
    return g->code->data[(size_t)y * (size_t)size + (size_t)x] & 1;
}

static int render_text(const qr_grid *g, uint8_t **out, size_t *out_len)
{
    static const char *const glyph[4] = {
        "\xe2\x96\x88", /* both light: full block */
        "\xe2\x96\x80", /* top light, bottom dark: upper half */
        "\xe2\x96\x84", /* top dark, bottom light: lower half */
        " ",            /* both dark */
    };
    int rows = (g->width + 1) / 2;
    size_t cap = (size_t)rows * ((size_t)g->width * 3u + 1u);
    uint8_t *buf = vault__out_alloc(cap);
    size_t at = 0;
    if (buf == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory rendering the QR code");
    for (int r = 0; r < rows; r++) {
        for (int x = 0; x < g->width; x++) {
            /* Below the last padded row there is nothing: treat it as dark. */
            int bottom_dark = 2 * r + 1 >= g->width ? 1 : dark_at(g, x, 2 * r + 1);
            const char *s = glyph[dark_at(g, x, 2 * r) * 2 + bottom_dark];
            size_t n = strlen(s);
            memcpy(buf + at, s, n);
            at += n;
        }
        buf[at++] = '\n';
    }
    buf[at] = '\0';
    *out = vault__out_shrink(buf, at);
    *out_len = at;
    return VAULT_OK;
}

static int render_svg(const qr_grid *g, uint8_t **out, size_t *out_len)
{
    /* Worst case per dark run "M123,123h123v1h-123z" < 32 bytes; at most
     * width/2+1 runs per row. */
    size_t runs = (size_t)g->width * ((size_t)g->width / 2u + 1u);
    size_t cap = 512u + runs * 32u;
    char *buf = vault__out_alloc(cap);
    size_t at = 0;
    if (buf == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory rendering the QR code");
    at += (size_t)snprintf(buf + at, cap - at,
                           "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                           "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" "
                           "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
                           "shape-rendering=\"crispEdges\">\n"
                           "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n"
                           "<path fill=\"#000000\" d=\"",
                           g->width, g->width, g->width * PGM_SCALE, g->width * PGM_SCALE,
                           g->width, g->width);
    for (int y = 0; y < g->width; y++) {
        for (int x = 0; x < g->width;) {
            if (!dark_at(g, x, y)) {
                x++;
                continue;
            }
            int start = x;
            while (x < g->width && dark_at(g, x, y))
                x++;
            at += (size_t)snprintf(buf + at, cap - at, "M%d,%dh%dv1h-%dz", start, y,
                                   x - start, x - start);
        }
    }
    at += (size_t)snprintf(buf + at, cap - at, "\"/>\n</svg>\n");
    *out = (uint8_t *)vault__out_shrink(buf, at);
    *out_len = at;
    return VAULT_OK;
}

static int render_pgm(const qr_grid *g, uint8_t **out, size_t *out_len)
{
    int side = g->width * PGM_SCALE;
    char header[64];
    int hlen = snprintf(header, sizeof header, "P5\n%d %d\n255\n", side, side);
    size_t total = (size_t)hlen + (size_t)side * (size_t)side;
    uint8_t *buf = vault__out_alloc(total);
    if (buf == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory rendering the QR code");
    memcpy(buf, header, (size_t)hlen);
    uint8_t *px = buf + hlen;
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++)
            px[(size_t)y * (size_t)side + (size_t)x] =
                dark_at(g, x / PGM_SCALE, y / PGM_SCALE) ? 0 : 255;
    *out = buf;
    *out_len = total;
    return VAULT_OK;
}

static int encode(QRcode **code, const char *text)
{
    errno = 0;
    *code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (*code != NULL)
        return VAULT_OK;
    if (errno == ERANGE)
        return vault__fail(VAULT_E_LIMIT, "QR: text too long for a QR code");
    if (errno == ENOMEM)
        return vault__fail(VAULT_E_NOMEM, "QR: out of memory");
    return vault__fail(VAULT_E_INVALID, "QR: libqrencode could not encode the text");
}

int vault_qr_render(const char *text, uint32_t format, uint8_t **out, size_t *out_len)
{
    QRcode *code = NULL;
    int rc;
    if (out == NULL || out_len == NULL)
        return vault__fail(VAULT_E_INVALID, "QR: NULL output");
    *out = NULL;
    if (text == NULL || text[0] == '\0')
        return vault__fail(VAULT_E_INVALID, "QR: empty text");
    if (format != VAULT_QR_TEXT && format != VAULT_QR_SVG && format != VAULT_QR_PGM)
        return vault__fail(VAULT_E_INVALID, "QR: unknown format %u", format);
    if (strnlen(text, QR_TEXT_MAX + 1) > QR_TEXT_MAX)
        return vault__fail(VAULT_E_LIMIT, "QR: text over %u bytes", QR_TEXT_MAX);
    if ((rc = encode(&code, text)) != VAULT_OK)
        return rc;
    qr_grid g = {code, code->width + 2 * QUIET};
    if (format == VAULT_QR_TEXT)
        rc = render_text(&g, out, out_len);
    else if (format == VAULT_QR_SVG)
        rc = render_svg(&g, out, out_len);
    else
        rc = render_pgm(&g, out, out_len);
    QRcode_free(code);
    return rc;
}
