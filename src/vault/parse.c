/*
 * Parsing a vault as its text arrives: the top-level object is walked here,
 * and each value in it (each item, the devices, the format number) is parsed
 * by cJSON as soon as its last byte is in. An item is checked, its member
 * names swapped for static strings and indexed before the next one is read,
 * so opening a blob never holds the whole text beside the tree, and the tree
 * holds no copy of the format's member names.
 *
 * Only the boundaries of a value are found here (brackets outside strings);
 * cJSON then parses exactly that span, so what is accepted is still what
 * cJSON accepts, plus the vault's own checks.
 */
#include <string.h>

#include "vault/vault_int.h"

enum parse_state {
    EXPECT_OBJECT,    /* before the root's "{" */
    EXPECT_FIRST_KEY, /* after "{": a key or "}" */
    EXPECT_KEY,
    EXPECT_COLON,
    EXPECT_VALUE,     /* "[" of "items" starts the item stream */
    EXPECT_MEMBER,    /* a whole value for the current key */
    EXPECT_FIRST_ITEM,
    EXPECT_ITEM,
    AFTER_ITEM,       /* "," or "]" */
    AFTER_MEMBER,     /* "," or "}" */
    AFTER_ROOT        /* only white space, or one final NUL */
};

/* What kind of value a span is, which decides where it ends. */
enum span_kind { SPAN_NESTED, SPAN_STRING, SPAN_SCALAR };

static const char *const top_keys[] = {"format", "items", "devices"};
enum { KEY_FORMAT, KEY_ITEMS, KEY_DEVICES, KEY_COUNT };

struct vault_parser {
    vault *v;                   /* the vault being built; its root is the tree */
    enum parse_state state;
    int key;                    /* member being read: a KEY_* */
    int seen[KEY_COUNT];
    int nul_seen;
    size_t items;               /* items read so far */
    size_t fed;                 /* bytes given so far */
    size_t consumed;            /* document offset of the first unconsumed byte */
    /* the scan of a value that a piece ended in, carried to the next piece */
    size_t depth;
    enum span_kind kind;
    int in_string, escaped;
    /* unconsumed text carried over to the next piece (plaintext: wiped) */
    char *pending;
    size_t pending_len, pending_cap;
};

static int is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static int malformed(const vault_parser *p, size_t at)
{
    return vault__fail(VAULT_E_INVALID, "malformed JSON near byte %zu", p->consumed + at);
}

/* ---- span boundaries ------------------------------------------------------ */

/* Starts the scan of a value at its first byte; returns where the scan
 * goes on (a scalar's first byte is one of its own). */
static size_t start_span(vault_parser *p, char first)
{
    p->depth = 1;
    p->in_string = first == '"';
    p->escaped = 0;
    p->kind = first == '{' || first == '[' ? SPAN_NESTED
              : first == '"'               ? SPAN_STRING
                                           : SPAN_SCALAR;
    return p->kind == SPAN_SCALAR ? 0 : 1;
}

/* Advances the scan over c outside strings: 1 if c ends the span (a scalar
 * ends before it, a nested value with it). */
static int ends_span(vault_parser *p, char c)
{
    if (p->kind == SPAN_SCALAR)
        return is_space(c) || c == ',' || c == ']' || c == '}';
    if (c == '"')
        p->in_string = 1;
    else if (c == '{' || c == '[')
        p->depth++;
    else if (c == '}' || c == ']')
        return --p->depth == 0;
    return 0;
}

/* The index of the quote that closes the string being scanned, or n if it is
 * not in t[i..n). Strings are most of a vault's text, so this jumps with
 * memchr: to the next quote, and to each backslash before it (an escape pair
 * is skipped whole; a quote it swallowed is searched again after it). Linear:
 * no byte is searched twice for the same character. */
static size_t string_end(vault_parser *p, const char *t, size_t i, size_t n)
{
    size_t k = p->escaped ? i + 1 : i; /* a piece ended right after a backslash */
    size_t quote = SIZE_MAX;
    p->escaped = 0;
    for (;;) {
        if (k >= n) {
            p->escaped = k > n; /* the backslash was the last byte */
            return n;
        }
        if (quote == SIZE_MAX || quote < k) {
            const char *q = memchr(t + k, '"', n - k);
            quote = q != NULL ? (size_t)(q - t) : n;
        }
        const char *b = memchr(t + k, '\\', quote - k);
        if (b == NULL)
            return quote;
        k = (size_t)(b - t) + 2;
    }
}

/* Scans t[from..n) on: the value's end (exclusive) in t, or SIZE_MAX if it
 * goes on past n (the state is kept for the next piece). */
static size_t scan_span(vault_parser *p, const char *t, size_t from, size_t n)
{
    for (size_t i = from; i < n; i++) {
        int ends;
        if (p->in_string) {
            if ((i = string_end(p, t, i, n)) == n)
                break;
            p->in_string = 0;
            ends = p->kind == SPAN_STRING;
        } else {
            ends = ends_span(p, t[i]);
        }
        if (ends)
            return p->kind == SPAN_SCALAR ? i : i + 1;
    }
    return SIZE_MAX;
}

/* cJSON parses exactly the span t[0..len) at offset at of the window. */
static int parse_span(vault_parser *p, const char *t, size_t len, size_t at, cJSON **out)
{
    int rc = vault__json_parse(t, len, out);
    if (rc == VAULT_E_INVALID)
        return malformed(p, at); /* the offset in the document, not in the span */
    return rc;
}

/* ---- the root's members ----------------------------------------------------- */

static int read_key(vault_parser *p, const cJSON *name)
{
    if (!cJSON_IsString(name))
        return vault__fail(VAULT_E_INVALID, "vault: member names must be strings");
    int k = 0;
    while (k < KEY_COUNT && strcmp(name->valuestring, top_keys[k]) != 0)
        k++;
    if (k == KEY_COUNT)
        return vault__fail(VAULT_E_INVALID, "vault: unknown member \"%.40s\"", name->valuestring);
    if (p->seen[k])
        return vault__fail(VAULT_E_INVALID, "vault: duplicate member \"%s\"", top_keys[k]);
    p->seen[k] = 1;
    p->key = k;
    return VAULT_OK;
}

static int check_member(int key, const cJSON *value)
{
    switch (key) {
    case KEY_FORMAT:
        if (!cJSON_IsNumber(value))
            return vault__fail(VAULT_E_INVALID, "vault: \"format\" must be a number");
        if (value->valuedouble != (double)VAULT_FORMAT)
            return vault__fail(VAULT_E_VERSION, "vault: unsupported format %g",
                               value->valuedouble);
        return VAULT_OK;
    case KEY_ITEMS:
        return vault__fail(VAULT_E_INVALID, "vault: \"items\" must be an array");
    default:
        return vault_vault__check_devices(value);
    }
}

/* Takes value over (freed on error). */
static int add_member(vault_parser *p, cJSON *value)
{
    int rc = check_member(p->key, value);
    if (rc != VAULT_OK) {
        cJSON_Delete(value);
        return rc;
    }
    cJSON_AddItemToObjectCS(p->v->root, top_keys[p->key], value);
    if (p->key == KEY_DEVICES)
        p->v->devices = value;
    return VAULT_OK;
}

static int start_items(vault_parser *p)
{
    cJSON *items = cJSON_CreateArray();
    if (items == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory reading the vault");
    cJSON_AddItemToObjectCS(p->v->root, top_keys[KEY_ITEMS], items);
    p->v->items = items;
    return VAULT_OK;
}

/* Takes item over (freed on error). */
static int add_item(vault_parser *p, cJSON *item)
{
    vault_item_view view;
    size_t index = p->items++;
    int rc = VAULT_OK;
    if (index >= VAULT_STORED_ITEMS_MAX)
        rc = vault__fail(VAULT_E_LIMIT, "vault: more than %u items", VAULT_STORED_ITEMS_MAX);
    if (rc == VAULT_OK && vault_vault__check_stored(item, &view, "item") != VAULT_OK) {
        char what[40]; /* checked again only to name the item's index */
        snprintf(what, sizeof what, "item %zu", index);
        rc = vault_vault__check_stored(item, &view, what);
    }
    if (rc == VAULT_OK && vault_vault__find(p->v, view.id->valuestring) != NULL)
        rc = vault__fail(VAULT_E_INVALID, "item %zu: duplicate id", index);
    if (rc == VAULT_OK)
        rc = vault_vault__reserve(p->v, 1);
    if (rc != VAULT_OK) {
        cJSON_Delete(item);
        return rc;
    }
    vault_vault__intern_keys(item);
    vault_vault__append(p->v, item);
    return VAULT_OK;
}

/* A whole value has arrived for the current state: parse it and move on. */
static int take_span(vault_parser *p, const char *t, size_t len, size_t at)
{
    cJSON *value = NULL;
    int rc = parse_span(p, t, len, at, &value);
    if (rc != VAULT_OK)
        return rc;
    if (p->state == EXPECT_OBJECT) {
        cJSON_Delete(value);
        return vault__fail(VAULT_E_INVALID, "vault: must be a JSON object");
    }
    if (p->state == EXPECT_KEY) {
        rc = read_key(p, value);
        cJSON_Delete(value);
        p->state = EXPECT_COLON;
        return rc;
    }
    if (p->state == EXPECT_ITEM) {
        p->state = AFTER_ITEM;
        return add_item(p, value);
    }
    p->state = AFTER_MEMBER;
    return add_member(p, value);
}

/* ---- the state machine ------------------------------------------------------ */

/* The punctuation c in the current state: VAULT_OK with the next state, or
 * malformed. A value's first byte is left for the span reader (*is_value). */
static int take_byte(vault_parser *p, char c, size_t at, int *is_value)
{
    *is_value = 0;
    switch (p->state) {
    case EXPECT_OBJECT:
        if (c == '{')
            p->state = EXPECT_FIRST_KEY;
        else
            *is_value = 1; /* parsed only to tell broken JSON from another type */
        return VAULT_OK;
    case EXPECT_FIRST_KEY:
        if (c == '}') {
            p->state = AFTER_ROOT;
            return VAULT_OK;
        }
        p->state = EXPECT_KEY;
        *is_value = 1;
        return VAULT_OK;
    case EXPECT_COLON:
        if (c != ':')
            return malformed(p, at);
        p->state = p->key == KEY_ITEMS ? EXPECT_VALUE : EXPECT_MEMBER;
        return VAULT_OK;
    case EXPECT_VALUE:
        if (c != '[') {
            p->state = EXPECT_MEMBER; /* not an array: refused once parsed */
            *is_value = 1;
            return VAULT_OK;
        }
        p->state = EXPECT_FIRST_ITEM;
        return start_items(p);
    case EXPECT_FIRST_ITEM:
        if (c == ']') {
            p->state = AFTER_MEMBER;
            return VAULT_OK;
        }
        p->state = EXPECT_ITEM;
        *is_value = 1;
        return VAULT_OK;
    case AFTER_ITEM:
        if (c != ',' && c != ']')
            return malformed(p, at);
        p->state = c == ',' ? EXPECT_ITEM : AFTER_MEMBER;
        return VAULT_OK;
    case AFTER_MEMBER:
        if (c != ',' && c != '}')
            return malformed(p, at);
        p->state = c == ',' ? EXPECT_KEY : AFTER_ROOT;
        return VAULT_OK;
    case AFTER_ROOT:
        if (c != '\0' || p->nul_seen)
            return vault__fail(VAULT_E_INVALID, "trailing data after JSON at byte %zu",
                               p->consumed + at);
        p->nul_seen = 1;
        return VAULT_OK;
    default: /* EXPECT_KEY, EXPECT_MEMBER, EXPECT_ITEM: a value starts here */
        *is_value = 1;
        return VAULT_OK;
    }
}

/* Consumes what it can of t[0..n); *used is how much. What is left is the
 * start of a value that is not complete yet (its scan state is kept). */
static int run(vault_parser *p, const char *t, size_t n, size_t *used)
{
    size_t i = 0;
    int rc = VAULT_OK;
    while (rc == VAULT_OK && i < n) {
        int is_value;
        if (is_space(t[i])) {
            i++;
            continue;
        }
        rc = take_byte(p, t[i], i, &is_value);
        if (!is_value) {
            i++;
            continue;
        }
        size_t len = rc == VAULT_OK ? scan_span(p, t + i, start_span(p, t[i]), n - i) : 0;
        if (rc != VAULT_OK || len == SIZE_MAX)
            break;
        rc = take_span(p, t + i, len, i);
        i += len;
    }
    *used = i;
    return rc;
}

/* ---- the carried-over text -------------------------------------------------- */

static int keep_pending(vault_parser *p, const char *t, size_t n)
{
    if (n == 0)
        return VAULT_OK;
    if (p->pending_cap - p->pending_len < n) {
        size_t cap = 2 * p->pending_cap > p->pending_len + n ? 2 * p->pending_cap
                                                             : p->pending_len + n;
        char *buf = vault__malloc(cap);
        if (buf == NULL)
            return vault__fail(VAULT_E_NOMEM, "out of memory reading the vault");
        if (p->pending_len > 0)
            memcpy(buf, p->pending, p->pending_len);
        vault__wipe_free(p->pending, p->pending_cap);
        p->pending = buf;
        p->pending_cap = cap;
    }
    memcpy(p->pending + p->pending_len, t, n);
    p->pending_len += n;
    return VAULT_OK;
}

/* Completes the value a piece ended in with the start of the next, copying
 * only that value's bytes; *t and *n move past them. At the end of the
 * document a scalar ends with the text. */
static int finish_pending(vault_parser *p, const char **t, size_t *n, int at_end)
{
    size_t end = scan_span(p, *t, 0, *n);
    if (end == SIZE_MAX) {
        if (!at_end || p->kind != SPAN_SCALAR)
            return keep_pending(p, *t, *n); /* still incomplete */
        end = *n;
    }
    int rc = keep_pending(p, *t, end);
    if (rc == VAULT_OK)
        rc = take_span(p, p->pending, p->pending_len, 0);
    p->consumed += p->pending_len;
    sodium_memzero(p->pending, p->pending_len);
    p->pending_len = 0;
    *t += end;
    *n -= end;
    return rc;
}

/* Runs over text straight from the caller's memory (the whole document in
 * vault_from_json); only a value cut by the end of a piece is copied. */
static int consume(vault_parser *p, const char *t, size_t n, int at_end)
{
    size_t used = 0;
    if (p->pending_len > 0) {
        int rc = finish_pending(p, &t, &n, at_end);
        if (rc != VAULT_OK || p->pending_len > 0)
            return rc;
    }
    int rc = run(p, t, n, &used);
    p->consumed += used;
    return rc == VAULT_OK ? keep_pending(p, t + used, n - used) : rc;
}

/* ---- interface ---------------------------------------------------------------- */

int vault_vault__parse_begin(vault_parser **out)
{
    *out = NULL;
    vault_parser *p = vault__calloc(1, sizeof *p);
    if (p == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory reading the vault");
    cJSON *root = cJSON_CreateObject();
    if (root == NULL) {
        vault__free(p);
        return vault__fail(VAULT_E_NOMEM, "out of memory reading the vault");
    }
    int rc = vault_vault__wrap(&p->v, root);
    if (rc != VAULT_OK) {
        vault__free(p);
        return rc;
    }
    *out = p;
    return VAULT_OK;
}

int vault_vault__parse_feed(vault_parser *p, const char *text, size_t len)
{
    if (len > VAULT_BLOB_MAX_PLAINTEXT - p->fed)
        return vault__fail(VAULT_E_LIMIT, "vault JSON larger than %u bytes",
                           VAULT_BLOB_MAX_PLAINTEXT);
    p->fed += len;
    return consume(p, text, len, 0);
}

void vault_vault__parse_abort(vault_parser *p)
{
    if (p == NULL)
        return;
    vault_close(p->v);
    vault__wipe_free(p->pending, p->pending_cap);
    vault__free(p);
}

int vault_vault__parse_end(vault_parser *p, vault **out)
{
    *out = NULL;
    int rc = consume(p, "", 0, 1);
    if (rc == VAULT_OK && p->pending_len > 0)
        rc = vault__fail(VAULT_E_INVALID, "malformed JSON: truncated at byte %zu", p->fed);
    if (rc == VAULT_OK && p->state != AFTER_ROOT)
        rc = vault__fail(VAULT_E_INVALID, "malformed JSON: truncated at byte %zu", p->fed);
    for (int k = 0; rc == VAULT_OK && k < KEY_COUNT; k++)
        if (!p->seen[k])
            rc = vault__fail(VAULT_E_INVALID, "vault: missing member \"%s\"", top_keys[k]);
    if (rc == VAULT_OK) {
        p->v->json_hint = p->fed;
        *out = p->v;
        p->v = NULL;
    }
    vault_vault__parse_abort(p);
    return rc;
}

int vault_from_json(vault **out, const char *json, size_t json_len)
{
    vault_parser *p = NULL;
    if (out == NULL || json == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_from_json: NULL argument");
    *out = NULL;
    int rc = vault_vault__parse_begin(&p);
    if (rc == VAULT_OK)
        rc = vault_vault__parse_feed(p, json, json_len);
    if (rc != VAULT_OK) {
        vault_vault__parse_abort(p);
        return rc;
    }
    return vault_vault__parse_end(p, out);
}
