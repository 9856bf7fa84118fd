/*
 * CSV: an RFC 4180 reader (quoted fields with "" and line breaks, CRLF or LF,
 * a UTF-8 BOM), the header-driven mapping of each manager's columns onto
 * item fields, and the "csv" writer.
 *
 * The header decides: each format names the columns it knows (compared
 * case-insensitively) and the ones it requires, so a file of another format
 * is refused at line 1; any other column becomes a field of that name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "interop/interop_int.h"
#include "vault/vault.h"

/* ---- reader ------------------------------------------------------------------- */

typedef struct csv_reader {
    const char *p, *end;
    long line; /* the line the next record starts on */
} csv_reader;

#define CSV_MAX_COLUMNS 512u
#define NAME_BYTES 260u /* a field name longer than 256 bytes is refused by the item check */
#define TAG_BYTES 128u

typedef struct csv_row {
    char *buf; /* the unescaped cells, each NUL-terminated */
    size_t len, cap;
    size_t at[CSV_MAX_COLUMNS]; /* offsets of the cells in buf */
    size_t n;
    long line;
} csv_row;

static int row_put(csv_row *r, char c)
{
    if (r->len == r->cap) {
        size_t cap = r->cap != 0 ? 2 * r->cap : 1024;
        char *b = vault__malloc(cap);
        if (b == NULL)
            return vault__fail(VAULT_E_NOMEM, "out of memory reading CSV");
        if (r->buf != NULL)
            memcpy(b, r->buf, r->len);
        vault__wipe_free(r->buf, r->cap);
        r->buf = b;
        r->cap = cap;
    }
    r->buf[r->len++] = c;
    return VAULT_OK;
}

static int row_end_cell(csv_row *r)
{
    if (r->n == CSV_MAX_COLUMNS)
        return vault_interop__wrong(r->line, "more than %u columns", CSV_MAX_COLUMNS);
    int rc = row_put(r, '\0');
    return rc;
}

/* Reads one record into r. 1 = a record, 0 = end of input, or an error:
 * VAULT_E_FORMAT for a quote never closed or text after a closing quote
 * (the reader cannot tell where the record ends then). Empty lines are
 * skipped. */
static int csv_next(csv_reader *c, csv_row *r)
{
    while (c->p < c->end && (*c->p == '\n' || *c->p == '\r')) {
        if (*c->p == '\n' || (c->p + 1 < c->end && c->p[1] != '\n'))
            c->line++;
        c->p++;
    }
    if (c->p >= c->end)
        return 0;
    r->len = r->n = 0;
    r->line = c->line;
    int rc;
    for (;;) {
        r->at[r->n] = r->len;
        if (c->p < c->end && *c->p == '"') {
            long opened = c->line;
            for (c->p++;; c->p++) {
                if (c->p >= c->end)
                    return vault_interop__wrong(opened, "a quoted value is never closed");
                if (*c->p == '"' && c->p + 1 < c->end && c->p[1] == '"') {
                    c->p++;
                } else if (*c->p == '"') {
                    c->p++;
                    break;
                }
                if (*c->p == '\n')
                    c->line++;
                if ((rc = row_put(r, *c->p)) != VAULT_OK)
                    return rc;
            }
            if (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
                return vault_interop__wrong(c->line, "text after a closing quote");
        } else {
            while (c->p < c->end && *c->p != ',' && *c->p != '\n' && *c->p != '\r')
                if ((rc = row_put(r, *c->p++)) != VAULT_OK)
                    return rc;
        }
        if ((rc = row_end_cell(r)) != VAULT_OK)
            return rc;
        r->n++;
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        return 1; /* at a line break or the end; csv_next skips the break */
    }
}

static const char *cell(const csv_row *r, size_t i)
{
    return r->buf + r->at[i];
}

/* ---- formats ------------------------------------------------------------------ */

enum target {
    T_FIELD, T_TITLE, T_URL, T_USERNAME, T_PASSWORD, T_NOTE, T_TOTP, T_GROUP, T_TAGS, T_TYPE,
    T_FLAG, T_BW_FIELDS, T_CREATED, T_UPDATED, T_IGNORE
};

typedef struct column {
    const char *header; /* lowercase */
    enum target target;
    const char *arg; /* T_FLAG: the tag; T_GROUP: the path separator */
} column;

typedef struct csv_format {
    const char *name;
    const char *const *required; /* lowercase headers, NULL-terminated */
    column cols[24];
} csv_format;

static const char *const req_chrome[] = {"name", "url", "username", "password", NULL};
static const char *const req_firefox[] = {"url", "username", "password", "httprealm", NULL};
static const char *const req_safari[] = {"title", "url", "username", "password", NULL};
static const char *const req_lastpass[] = {"url", "username", "password", "extra", "name",
                                           "grouping", NULL};
static const char *const req_1password[] = {"title", "username", "password", NULL};
static const char *const req_bitwarden[] = {"type", "name", "login_username", "login_password",
                                            NULL};
static const char *const req_generic[] = {"title", NULL};

static const csv_format csv_formats[] = {
    {"chrome-csv", req_chrome,
     {{"name", T_TITLE, NULL}, {"url", T_URL, NULL}, {"username", T_USERNAME, NULL},
      {"password", T_PASSWORD, NULL}, {"note", T_NOTE, NULL}}},
    {"firefox-csv", req_firefox,
     {{"url", T_URL, NULL}, {"username", T_USERNAME, NULL}, {"password", T_PASSWORD, NULL},
      {"timecreated", T_CREATED, NULL}, {"timepasswordchanged", T_UPDATED, NULL},
      {"guid", T_IGNORE, NULL}, {"timelastused", T_IGNORE, NULL}}},
    {"safari-csv", req_safari,
     {{"title", T_TITLE, NULL}, {"url", T_URL, NULL}, {"username", T_USERNAME, NULL},
      {"password", T_PASSWORD, NULL}, {"notes", T_NOTE, NULL}, {"otpauth", T_TOTP, NULL}}},
    {"lastpass-csv", req_lastpass,
     {{"url", T_URL, NULL}, {"username", T_USERNAME, NULL}, {"password", T_PASSWORD, NULL},
      {"totp", T_TOTP, NULL}, {"extra", T_NOTE, NULL}, {"name", T_TITLE, NULL},
      {"grouping", T_GROUP, "\\"}, {"fav", T_FLAG, "favorite"}}},
    {"1password-csv", req_1password,
     {{"title", T_TITLE, NULL}, {"url", T_URL, NULL}, {"website", T_URL, NULL},
      {"urls", T_URL, NULL}, {"username", T_USERNAME, NULL}, {"password", T_PASSWORD, NULL},
      {"otpauth", T_TOTP, NULL}, {"one-time password", T_TOTP, NULL},
      {"favorite", T_FLAG, "favorite"}, {"archived", T_FLAG, "archived"},
      {"tags", T_TAGS, NULL}, {"notes", T_NOTE, NULL}, {"notesplain", T_NOTE, NULL},
      {"type", T_TYPE, NULL}, {"category", T_TYPE, NULL}}},
    {"bitwarden-csv", req_bitwarden,
     {{"folder", T_GROUP, "/"}, {"collections", T_TAGS, NULL}, {"favorite", T_FLAG, "favorite"},
      {"type", T_TYPE, NULL}, {"name", T_TITLE, NULL}, {"notes", T_NOTE, NULL},
      {"fields", T_BW_FIELDS, NULL}, {"reprompt", T_IGNORE, NULL}, {"login_uri", T_URL, NULL},
      {"login_username", T_USERNAME, NULL}, {"login_password", T_PASSWORD, NULL},
      {"login_totp", T_TOTP, NULL}}},
    {"csv", req_generic,
     {{"title", T_TITLE, NULL}, {"type", T_TYPE, NULL}, {"tags", T_TAGS, NULL}}},
};

static const csv_format *find_csv(const char *name)
{
    for (size_t i = 0; i < sizeof csv_formats / sizeof csv_formats[0]; i++)
        if (strcmp(csv_formats[i].name, name) == 0)
            return &csv_formats[i];
    return NULL;
}

/* The mapping of a header row: one column per cell. */
typedef struct mapping {
    column col[CSV_MAX_COLUMNS];
    char name[CSV_MAX_COLUMNS][NAME_BYTES]; /* the header as written */
} mapping;

#define ONCE ((1u << T_TITLE) | (1u << T_TYPE) | (1u << T_TAGS) | (1u << T_USERNAME) | \
              (1u << T_PASSWORD) | (1u << T_NOTE) | (1u << T_TOTP))

/* A column name that repeats one already mapped (an exported field called
 * "title") is a field of that name. */
static int map_header(const csv_format *f, const csv_row *h, mapping *m)
{
    unsigned seen = 0;
    for (size_t i = 0; i < h->n; i++) {
        char norm[64];
        vault_interop__norm(cell(h, i), norm, sizeof norm);
        m->col[i] = (column){NULL, T_FIELD, NULL};
        for (const column *c = f->cols; c->header != NULL; c++)
            if (strcmp(norm, c->header) == 0)
                m->col[i] = *c;
        unsigned bit = 1u << m->col[i].target;
        if ((bit & ONCE) != 0 && (seen & bit) != 0)
            m->col[i] = (column){NULL, T_FIELD, NULL};
        seen |= bit;
        snprintf(m->name[i], sizeof m->name[i], "%s", cell(h, i));
    }
    for (const char *const *r = f->required; *r != NULL; r++) {
        size_t i = 0;
        char norm[64];
        for (; i < h->n; i++) {
            vault_interop__norm(cell(h, i), norm, sizeof norm);
            if (strcmp(norm, *r) == 0)
                break;
        }
        if (i == h->n)
            return vault_interop__wrong(h->line, "not a %s file: no \"%s\" column", f->name, *r);
    }
    return VAULT_OK;
}

/* ---- one row → one item ------------------------------------------------------- */

static int truthy(const char *v)
{
    char n[8];
    vault_interop__norm(v, n, sizeof n);
    return strcmp(n, "1") == 0 || strcmp(n, "true") == 0 || strcmp(n, "yes") == 0 ||
           strcmp(n, "y") == 0;
}

/* The row's type: the file's word for it ("Secure Note", "Credit Card", or
 * already a type name, lowercased into buf), else "note" for a row that holds
 * only a note (or a LastPass secure note), else "login". */
static const char *row_type(const char *word, int note_only, char buf[64])
{
    static const char *const words[][2] = {
        {"login", "login"},      {"password", "login"},  {"note", "note"},
        {"secure note", "note"}, {"securenote", "note"}, {"card", "card"},
        {"credit card", "card"}, {"creditcard", "card"}, {"identity", "identity"}};
    vault_interop__norm(word != NULL ? word : "", buf, 64);
    if (buf[0] == '\0')
        return note_only ? "note" : "login";
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strcmp(buf, words[i][0]) == 0)
            return words[i][1];
    for (const char *p = buf; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' ||
              *p == '-'))
            return "login";
    return buf;
}

/* Tags from "a,b;c" (1Password, the generic format). */
static int add_tags(cJSON *item, const char *list, const char *seps)
{
    char tag[TAG_BYTES + 1];
    while (*list != '\0') {
        size_t n = strcspn(list, seps);
        while (n > 0 && *list == ' ') {
            list++;
            n--;
        }
        size_t k = n < TAG_BYTES ? n : TAG_BYTES;
        memcpy(tag, list, k);
        tag[k] = '\0';
        while (k > 0 && tag[k - 1] == ' ')
            tag[--k] = '\0';
        if (vault_interop__add_tag(item, tag) != 0)
            return -1;
        list += n;
        if (*list != '\0')
            list++;
    }
    return 0;
}

/* Bitwarden's "fields" column: one "name: value" per line. */
static int add_bw_fields(cJSON *item, char *text)
{
    for (char *line = text; line != NULL && *line != '\0';) {
        char *next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        char *colon = strstr(line, ": ");
        const char *value = colon != NULL ? colon + 2 : "";
        if (colon != NULL)
            *colon = '\0';
        if (vault_interop__add_field(item, line, value, vault_interop__secret_name(line), 1) != 0)
            return -1;
        line = next;
    }
    return 0;
}

typedef struct row_state {
    const char *title, *type, *url, *note;
    uint64_t created, updated;
} row_state;

static int map_cell(cJSON *item, const column *col, const char *name, char *v, row_state *st)
{
    switch (col->target) {
    case T_TITLE: st->title = v; return 0;
    case T_TYPE: st->type = v; return 0;
    case T_URL:
        if (st->url == NULL)
            st->url = v;
        return vault_interop__add_field(item, "url", v, 0, 0);
    case T_USERNAME: return vault_interop__add_field(item, "username", v, 0, 0);
    case T_PASSWORD: return vault_interop__add_field(item, "password", v, 1, 0);
    case T_TOTP: return vault_interop__add_totp(item, v);
    case T_NOTE: st->note = v; return vault_interop__add_field(item, "note", v, 0, 0);
    case T_GROUP: {
        /* A folder path "a\b" becomes the tag "a/b". */
        for (char *p = v; *p != '\0'; p++)
            if (*p == col->arg[0])
                *p = '/';
        return vault_interop__add_tag(item, v);
    }
    case T_TAGS: return add_tags(item, v, ",;");
    case T_FLAG: return truthy(v) ? vault_interop__add_tag(item, col->arg) : 0;
    case T_BW_FIELDS: return add_bw_fields(item, v);
    case T_CREATED: st->created = vault_interop__parse_time(v) ? vault_interop__parse_time(v)
                                                                : strtoull(v, NULL, 10);
                    return 0;
    case T_UPDATED: st->updated = vault_interop__parse_time(v) ? vault_interop__parse_time(v)
                                                                : strtoull(v, NULL, 10);
                    return 0;
    case T_IGNORE: return 0;
    case T_FIELD: break;
    }
    return vault_interop__add_field(item, name, v, vault_interop__secret_name(name), 0);
}

static void remove_field(cJSON *item, const char *name)
{
    cJSON *fields = cJSON_GetObjectItemCaseSensitive(item, "fields"), *f;
    cJSON_ArrayForEach(f, fields)
        if (strcmp(cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring, name) == 0) {
            cJSON_Delete(cJSON_DetachItemViaPointer(fields, f));
            return;
        }
}

static int row_empty(const csv_row *r)
{
    for (size_t i = 0; i < r->n; i++)
        for (const char *p = cell(r, i); *p != '\0'; p++)
            if (*p != ' ' && *p != '\t')
                return 0;
    return 1;
}

/* A title for a row without one: the URL's host, else the username. */
static void fallback_title(const cJSON *item, const row_state *st, char *out, size_t len)
{
    out[0] = '\0';
    if (st->url != NULL)
        vault_interop__url_host(st->url, out, len);
    const char *user = vault_interop__field(item, "username");
    if (out[0] == '\0' && user != NULL)
        snprintf(out, len, "%s", user);
    if (out[0] == '\0')
        snprintf(out, len, "%s", "untitled");
}

static int read_row(interop_import *s, const csv_format *f, const mapping *m, csv_row *r,
                    size_t columns)
{
    interop_pos pos = {r->line, 0};
    if (r->n != columns)
        return vault_interop__problem(s, pos, "%zu values, but the header has %zu columns", r->n,
                                      columns);
    if (row_empty(r))
        return vault_interop__skip(s, pos, "", "empty row");
    cJSON *item = vault_interop__item_new("login", "");
    row_state st = {NULL, NULL, NULL, NULL, 0, 0};
    for (size_t i = 0; item != NULL && i < r->n; i++)
        if (map_cell(item, &m->col[i], m->name[i], r->buf + r->at[i], &st) != 0) {
            cJSON_Delete(item);
            item = NULL;
        }
    if (item == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory importing a row");
    /* LastPass marks secure notes with the URL "http://sn". */
    int sn = strcmp(f->name, "lastpass-csv") == 0 && st.url != NULL &&
             strcmp(st.url, "http://sn") == 0;
    if (sn)
        remove_field(item, "url");
    cJSON *fields = cJSON_GetObjectItemCaseSensitive(item, "fields");
    int note_only = sn || fields->child == NULL ||
                    (fields->child->next == NULL && vault_interop__field(item, "note") != NULL);
    char buf[64];
    const char *type = row_type(st.type, note_only, buf);
    char fallback[256];
    const char *title = st.title;
    if (title == NULL || title[0] == '\0') {
        fallback_title(item, &st, fallback, sizeof fallback);
        title = fallback;
    }
    if (vault_interop__set_type(item, type) != 0 || vault_interop__set_title(item, title) != 0) {
        cJSON_Delete(item);
        return vault__fail(VAULT_E_NOMEM, "out of memory importing a row");
    }
    vault_interop__set_times(item, st.created, st.updated);
    return vault_interop__accept(s, item, pos, NULL);
}

int vault_interop__read_csv(interop_import *s, const char *format, const uint8_t *data,
                            size_t len)
{
    const csv_format *f = find_csv(format);
    if (f == NULL)
        return vault__fail(VAULT_E_INVALID, "unknown CSV format");
    csv_reader rd = {(const char *)data, (const char *)data + len, 1};
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        rd.p += 3;
    csv_row row = {0};
    mapping *m = vault__malloc(sizeof *m);
    int rc = m == NULL ? vault__fail(VAULT_E_NOMEM, "out of memory reading CSV")
                       : csv_next(&rd, &row);
    if (rc == 0)
        rc = vault_interop__wrong(1, "empty file: no header");
    if (rc == 1)
        rc = map_header(f, &row, m);
    size_t columns = row.n;
    while (rc == VAULT_OK) {
        rc = csv_next(&rd, &row);
        if (rc == 1)
            rc = read_row(s, f, m, &row, columns);
        else if (rc == 0)
            break;
    }
    vault__wipe_free(row.buf, row.cap);
    vault__free(m);
    return rc;
}

/* ---- writer ------------------------------------------------------------------- */

/* RFC 4180: a value with a comma, quote, line break or leading space is
 * quoted, and its quotes doubled. */
static void put_cell(interop_buf *b, const char *v)
{
    if (strpbrk(v, ",\"\r\n") == NULL && v[0] != ' ') {
        vault_interop__puts(b, v);
        return;
    }
    vault_interop__put(b, "\"", 1);
    for (const char *p = v; *p != '\0'; p++) {
        if (*p == '"')
            vault_interop__put(b, "\"", 1);
        vault_interop__put(b, p, 1);
    }
    vault_interop__put(b, "\"", 1);
}

/* Columns: title, type, tags, then every field name in order of first use,
 * the usual login fields first. */
static int collect_columns(const cJSON *items, cJSON *names)
{
    static const char *const first[] = {"username", "password", "url", "totp", "note"};
    for (size_t i = 0; i < sizeof first / sizeof first[0]; i++) {
        const cJSON *it;
        cJSON_ArrayForEach(it, items)
            if (vault_interop__field(it, first[i]) != NULL) {
                if (!cJSON_AddItemToArray(names, cJSON_CreateString(first[i])))
                    return -1;
                break;
            }
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, items) {
        const cJSON *fl;
        cJSON_ArrayForEach(fl, cJSON_GetObjectItemCaseSensitive(it, "fields")) {
            const char *n = cJSON_GetObjectItemCaseSensitive(fl, "name")->valuestring;
            const cJSON *k;
            int seen = 0;
            cJSON_ArrayForEach(k, names)
                seen |= strcmp(k->valuestring, n) == 0;
            if (!seen && !cJSON_AddItemToArray(names, cJSON_CreateString(n)))
                return -1;
        }
    }
    return 0;
}

int vault_interop__write_csv(const vault *v, uint8_t **out, size_t *out_len)
{
    cJSON *items = vault_interop__live_items(v), *names = cJSON_CreateArray();
    if (items == NULL || names == NULL || collect_columns(items, names) != 0) {
        cJSON_Delete(items);
        cJSON_Delete(names);
        return vault__fail(VAULT_E_NOMEM, "out of memory writing CSV");
    }
    interop_buf b = {0};
    vault_interop__puts(&b, "title,type,tags");
    const cJSON *n;
    cJSON_ArrayForEach(n, names) {
        vault_interop__put(&b, ",", 1);
        put_cell(&b, n->valuestring);
    }
    vault_interop__put(&b, "\r\n", 2);
    const cJSON *it;
    cJSON_ArrayForEach(it, items) {
        put_cell(&b, cJSON_GetObjectItemCaseSensitive(it, "title")->valuestring);
        vault_interop__put(&b, ",", 1);
        put_cell(&b, cJSON_GetObjectItemCaseSensitive(it, "type")->valuestring);
        vault_interop__put(&b, ",", 1);
        interop_buf tags = {0};
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(it, "tags")) {
            if (tags.len > 0)
                vault_interop__put(&tags, ",", 1);
            vault_interop__puts(&tags, t->valuestring);
        }
        vault_interop__put(&tags, "", 1);
        if (tags.failed) {
            vault_free(b.p);
            b = (interop_buf){NULL, 0, 0, 1};
        }
        put_cell(&b, tags.failed ? "" : tags.p);
        vault_free(tags.p);
        cJSON_ArrayForEach(n, names) {
            const char *val = vault_interop__field(it, n->valuestring);
            vault_interop__put(&b, ",", 1);
            put_cell(&b, val != NULL ? val : "");
        }
        vault_interop__put(&b, "\r\n", 2);
    }
    cJSON_Delete(items);
    cJSON_Delete(names);
    return vault_interop__buf_end(&b, out, out_len);
}
