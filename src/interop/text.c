/*
 * Text helpers shared by the readers and writers: times, URLs, an output
 * buffer that wipes what it leaves behind, JSON in and out.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "interop/interop_int.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so no time zone or libc extension is involved. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

uint64_t vault_interop__parse_time(const char *t)
{
    int y, mo, d, h, mi, se, ms = 0;
    if (t == NULL || strlen(t) < 19 || !digits(t, 4, &y) || t[4] != '-' ||
        !digits(t + 5, 2, &mo) || t[7] != '-' || !digits(t + 8, 2, &d) ||
        (t[10] != 'T' && t[10] != ' ') || !digits(t + 11, 2, &h) || t[13] != ':' ||
        !digits(t + 14, 2, &mi) || t[16] != ':' || !digits(t + 17, 2, &se))
        return 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return 0;
    const char *p = t + 19;
    if (*p == '.') {
        int scale = 100;
        for (p++; isdigit((unsigned char)*p); p++, scale /= 10)
            ms += (*p - '0') * scale;
    }
    int64_t offset_s = 0;
    int oh, om;
    if ((*p == '+' || *p == '-') && digits(p + 1, 2, &oh) && p[3] == ':' && digits(p + 4, 2, &om))
        offset_s = (*p == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - offset_s;
    return secs > 0 ? (uint64_t)secs * 1000u + (uint64_t)ms : 0;
}

void vault_interop__format_time(uint64_t ms, int millis, char out[INTEROP_TIME_CHARS])
{
    int64_t secs = (int64_t)(ms / 1000u);
    int y;
    unsigned m, d;
    civil_from_days(secs / 86400, &y, &m, &d);
    int64_t r = secs % 86400;
    if (millis)
        snprintf(out, INTEROP_TIME_CHARS, "%04d-%02u-%02uT%02d:%02d:%02d.%03uZ", y, m, d, (int)(r / 3600),
                 (int)(r / 60 % 60), (int)(r % 60), (unsigned)(ms % 1000u));
    else
        snprintf(out, INTEROP_TIME_CHARS, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, m, d, (int)(r / 3600),
                 (int)(r / 60 % 60), (int)(r % 60));
}

long vault_interop__line_at(const char *text, size_t at)
{
    long line = 1;
    for (size_t i = 0; i < at; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

void vault_interop__url_host(const char *url, char *out, size_t out_len)
{
    const char *p = strstr(url, "://");
    p = p != NULL ? p + 3 : url;
    const char *at = p + strcspn(p, "/?#");
    const char *user = memchr(p, '@', (size_t)(at - p));
    if (user != NULL)
        p = user + 1;
    size_t n = strcspn(p, ":/?#");
    if (n >= out_len)
        n = out_len - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

void vault_interop__norm(const char *s, char *out, size_t out_len)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = 0;
    for (; s[n] != '\0' && n + 1 < out_len; n++)
        out[n] = (char)tolower((unsigned char)s[n]);
    while (n > 0 && isspace((unsigned char)out[n - 1]))
        n--;
    out[n] = '\0';
}

/* ---- output buffer ------------------------------------------------------------ */

void vault_interop__put(interop_buf *b, const char *s, size_t len)
{
    if (b->failed)
        return;
    if (b->cap - b->len <= len) {
        size_t cap = b->cap != 0 ? b->cap : 4096;
        while (cap - b->len <= len)
            cap *= 2;
        char *p = b->p == NULL ? vault__out_alloc(cap) : vault__out_grow(b->p, b->len, cap);
        if (p == NULL) {
            vault_free(b->p);
            *b = (interop_buf){NULL, 0, 0, 1};
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, len);
    b->len += len;
}

void vault_interop__puts(interop_buf *b, const char *s)
{
    vault_interop__put(b, s, strlen(s));
}

int vault_interop__buf_end(interop_buf *b, uint8_t **out, size_t *out_len)
{
    vault_interop__put(b, "", 1);
    if (b->failed)
        return vault__fail(VAULT_E_NOMEM, "out of memory writing the export");
    *out = (uint8_t *)b->p;
    *out_len = b->len - 1;
    return VAULT_OK;
}

/* ---- JSON --------------------------------------------------------------------- */

int vault_interop__json_parse(const uint8_t *data, size_t len, cJSON **out)
{
    const char *text = (const char *)data, *end = NULL;
    *out = NULL;
    uint64_t failures = vault__alloc_failures();
    size_t skip = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    cJSON *json = cJSON_ParseWithLengthOpts(text + skip, len - skip, &end, 0);
    if (json == NULL) {
        if (vault__alloc_failures() != failures)
            return vault__fail(VAULT_E_NOMEM, "out of memory parsing JSON");
        size_t at = end != NULL && end >= text ? (size_t)(end - text) : 0;
        return vault_interop__wrong(vault_interop__line_at(text, at < len ? at : len),
                                    "malformed JSON");
    }
    size_t used = (size_t)(end - text);
    while (used < len && isspace((unsigned char)text[used]))
        used++;
    if (used < len && !(used + 1 == len && text[used] == '\0')) {
        cJSON_Delete(json);
        return vault_interop__wrong(vault_interop__line_at(text, used), "data after the JSON");
    }
    *out = json;
    return VAULT_OK;
}

int vault_interop__json_out(const cJSON *json, int formatted, uint8_t **out, size_t *out_len)
{
    char *text = formatted ? cJSON_Print(json) : cJSON_PrintUnformatted(json);
    if (text == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory printing JSON");
    size_t len = strlen(text);
    *out = (uint8_t *)vault__out_dup(text, len);
    sodium_memzero(text, len);
    cJSON_free(text);
    if (*out == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory printing JSON");
    *out_len = len;
    return VAULT_OK;
}
