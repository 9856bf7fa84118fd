/* QR rendering: the PGM image, the terminal text (turned back into pixels)
 * and the SVG path (rasterised back) all decode with zbarimg to the exact
 * payload; the three forms draw the same module grid. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "devicelink/devicelink.h"
#include "suites.h"
#include "testutil.h"

#define QUIET 4
#define SCALE 8

static const char PAYLOAD[] =
    "zkvlink:1/o/a0a1a2a3a4a5a6a7a8a9aaabacadaeaf/"
    "B6N8vBQgk8i3VdwbEOhstCY3StFqqFPtC9_AsrhtHHw/gYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6A";

static int have_zbarimg(void)
{
    return system("command -v zbarimg >/dev/null 2>&1") == 0;
}

/* Runs zbarimg on a file and returns what it decoded (static buffer), with the
 * trailing newline removed, or "" if nothing. */
static const char *zbar_decode(const char *path)
{
    static char out[4096];
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "zbarimg --raw -q '%s' 2>/dev/null", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    pclose(p);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = '\0';
    return out;
}

static void write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* A module grid (1 = dark), side*side, from the PGM image. */
typedef struct grid {
    int side;
    unsigned char cell[200 * 200];
} grid;

static void grid_from_pgm(grid *g, const uint8_t *pgm, size_t len)
{
    int w = 0, h = 0, consumed = 0;
    assert_int_equal(sscanf((const char *)pgm, "P5\n%d %d\n255\n%n", &w, &h, &consumed), 2);
    assert_int_equal(w, h);
    assert_int_equal(w % SCALE, 0);
    assert_int_equal((size_t)consumed + (size_t)w * (size_t)h, len);
    g->side = w / SCALE;
    assert_true(g->side <= 200);
    for (int y = 0; y < g->side; y++)
        for (int x = 0; x < g->side; x++) {
            /* Every pixel of a module has the module's colour. */
            uint8_t v = pgm[consumed + (y * SCALE) * w + x * SCALE];
            for (int dy = 0; dy < SCALE; dy++)
                for (int dx = 0; dx < SCALE; dx++)
                    assert_int_equal(pgm[consumed + (y * SCALE + dy) * w + x * SCALE + dx], v);
            assert_true(v == 0 || v == 255);
            g->cell[y * g->side + x] = v == 0;
        }
}

static void write_grid_pgm(const char *path, const grid *g)
{
    int side = g->side * SCALE;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fprintf(f, "P5\n%d %d\n255\n", side, side);
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++)
            fputc(g->cell[(y / SCALE) * g->side + x / SCALE] ? 0 : 255, f);
    fclose(f);
}

static void render_grid(grid *g, const char *text)
{
    uint8_t *pgm = NULL;
    size_t len = 0;
    assert_int_equal(vault_qr_render(text, VAULT_QR_PGM, &pgm, &len), VAULT_OK);
    grid_from_pgm(g, pgm, len);
    vault_free(pgm);
}

static void test_devicelink_qr__pgm_decodes_with_zbarimg(void **state)
{
    (void)state;
    if (!have_zbarimg())
        skip(); /* scripts/deps.sh --with-extras installs zbar-tools */
    uint8_t *pgm = NULL;
    size_t len = 0;
    assert_int_equal(vault_qr_render(PAYLOAD, VAULT_QR_PGM, &pgm, &len), VAULT_OK);
    const char *path = test_path("link.pgm");
    write_file(path, pgm, len);
    vault_free(pgm);
    assert_string_equal(zbar_decode(path), PAYLOAD);
}

static void test_devicelink_qr__pgm_has_quiet_zone(void **state)
{
    (void)state;
    grid g;
    render_grid(&g, PAYLOAD);
    /* version v has 17 + 4v modules; plus 4 on each side */
    assert_int_equal((g.side - 2 * QUIET - 17) % 4, 0);
    for (int i = 0; i < g.side; i++)
        for (int q = 0; q < QUIET; q++) {
            assert_int_equal(g.cell[q * g.side + i], 0);
            assert_int_equal(g.cell[(g.side - 1 - q) * g.side + i], 0);
            assert_int_equal(g.cell[i * g.side + q], 0);
            assert_int_equal(g.cell[i * g.side + g.side - 1 - q], 0);
        }
    /* The finder pattern's corner module is dark. */
    assert_int_equal(g.cell[QUIET * g.side + QUIET], 1);
}

/* Reads the UTF-8 half-block text back into a grid: light modules are drawn. */
static void grid_from_text(grid *g, const char *text, int side)
{
    const char *p = text;
    g->side = side;
    memset(g->cell, 1, sizeof g->cell);
    for (int row = 0; row < (side + 1) / 2; row++) {
        for (int x = 0; x < side; x++) {
            int top_light, bottom_light;
            if (*p == ' ') {
                top_light = bottom_light = 0;
                p++;
            } else {
                assert_true((unsigned char)p[0] == 0xe2 && (unsigned char)p[1] == 0x96);
                unsigned char c = (unsigned char)p[2];
                assert_true(c == 0x88 || c == 0x80 || c == 0x84);
                top_light = c == 0x88 || c == 0x80;
                bottom_light = c == 0x88 || c == 0x84;
                p += 3;
            }
            g->cell[2 * row * side + x] = (unsigned char)!top_light;
            if (2 * row + 1 < side)
                g->cell[(2 * row + 1) * side + x] = (unsigned char)!bottom_light;
            else
                assert_false(bottom_light); /* nothing drawn below the code */
        }
        assert_int_equal(*p, '\n');
        p++;
    }
    assert_int_equal(*p, '\0');
}

static void test_devicelink_qr__text_matches_image_and_decodes(void **state)
{
    (void)state;
    grid img, txt;
    uint8_t *text = NULL;
    size_t len = 0;
    render_grid(&img, PAYLOAD);
    assert_int_equal(vault_qr_render(PAYLOAD, VAULT_QR_TEXT, &text, &len), VAULT_OK);
    assert_int_equal(strlen((char *)text), len);
    grid_from_text(&txt, (char *)text, img.side);
    vault_free(text);
    assert_memory_equal(img.cell, txt.cell, (size_t)img.side * (size_t)img.side);
    if (!have_zbarimg())
        return;
    const char *path = test_path("link-text.pgm");
    write_grid_pgm(path, &txt);
    assert_string_equal(zbar_decode(path), PAYLOAD);
}

/* Rasterises the SVG's path ("M x,y h n v1 h-n z" runs) into a grid. */
static void grid_from_svg(grid *g, const char *svg, int side)
{
    char want[128];
    snprintf(want, sizeof want, "viewBox=\"0 0 %d %d\"", side, side);
    assert_non_null(strstr(svg, want));
    assert_non_null(strstr(svg, "<rect width=\"") );
    assert_non_null(strstr(svg, "</svg>"));
    const char *d = strstr(svg, " d=\"");
    assert_non_null(d);
    d += 4;
    g->side = side;
    memset(g->cell, 0, sizeof g->cell);
    while (*d == 'M') {
        int x, y, n, n2, used = 0;
        assert_int_equal(sscanf(d, "M%d,%dh%dv1h-%dz%n", &x, &y, &n, &n2, &used), 4);
        assert_int_equal(n, n2);
        assert_true(x >= 0 && y >= 0 && n > 0 && x + n <= side && y < side);
        for (int i = 0; i < n; i++)
            g->cell[y * side + x + i] = 1;
        d += used;
    }
    assert_int_equal(*d, '"');
}

static void test_devicelink_qr__svg_draws_the_same_modules(void **state)
{
    (void)state;
    grid img, vec;
    uint8_t *svg = NULL;
    size_t len = 0;
    render_grid(&img, PAYLOAD);
    assert_int_equal(vault_qr_render(PAYLOAD, VAULT_QR_SVG, &svg, &len), VAULT_OK);
    assert_int_equal(strlen((char *)svg), len);
    assert_int_equal(strncmp((char *)svg, "<?xml", 5), 0);
    grid_from_svg(&vec, (char *)svg, img.side);
    vault_free(svg);
    assert_memory_equal(img.cell, vec.cell, (size_t)img.side * (size_t)img.side);
    if (!have_zbarimg())
        return;
    const char *path = test_path("link-svg.pgm");
    write_grid_pgm(path, &vec);
    assert_string_equal(zbar_decode(path), PAYLOAD);
}

static void test_devicelink_qr__rejects_bad_input(void **state)
{
    (void)state;
    uint8_t *out = (uint8_t *)1;
    size_t len = 0;
    assert_int_equal(vault_qr_render("", VAULT_QR_TEXT, &out, &len), VAULT_E_INVALID);
    assert_null(out);
    assert_int_equal(vault_qr_render(NULL, VAULT_QR_TEXT, &out, &len), VAULT_E_INVALID);
    assert_int_equal(vault_qr_render("x", 0, &out, &len), VAULT_E_INVALID);
    assert_int_equal(vault_qr_render("x", 4, &out, &len), VAULT_E_INVALID);
    assert_int_equal(vault_qr_render("x", VAULT_QR_PGM, NULL, &len), VAULT_E_INVALID);
    /* Over the library's 2048-byte cap; the cap itself still fits a QR code
     * (version 40-M holds 2331 bytes). */
    static char big[4000];
    memset(big, 'a', sizeof big - 1);
    assert_int_equal(vault_qr_render(big, VAULT_QR_SVG, &out, &len), VAULT_E_LIMIT);
    big[2049] = '\0';
    assert_int_equal(vault_qr_render(big, VAULT_QR_SVG, &out, &len), VAULT_E_LIMIT);
    assert_null(out);
    big[2048] = '\0';
    assert_int_equal(vault_qr_render(big, VAULT_QR_TEXT, &out, &len), VAULT_OK);
    vault_free(out);
    vault__alloc_fail_after(1);
    assert_int_equal(vault_qr_render(PAYLOAD, VAULT_QR_PGM, &out, &len), VAULT_E_NOMEM);
    vault__alloc_fail_after(0);
    assert_null(out);
}

int test_devicelink_qr_suite(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_devicelink_qr__pgm_decodes_with_zbarimg),
        cmocka_unit_test(test_devicelink_qr__pgm_has_quiet_zone),
        cmocka_unit_test(test_devicelink_qr__text_matches_image_and_decodes),
        cmocka_unit_test(test_devicelink_qr__svg_draws_the_same_modules),
        cmocka_unit_test(test_devicelink_qr__rejects_bad_input),
    };
    return cmocka_run_group_tests_name("devicelink_qr", tests, NULL, NULL);
}
