/*
 * Printing the vault: cJSON's unformatted output, produced either as one
 * buffer (a single item, vault_to_json) or as a stream of pieces (vault_seal
 * feeds the pieces to the blob layer, so the whole text never exists).
 */
#include <limits.h>
#include <string.h>

#include "vault/vault_int.h"

/* Upper bounds of cJSON's unformatted output, so that one buffer of the right
 * size can be handed to cJSON_PrintPreallocated: cJSON_Print would grow its
 * buffer by doubling and copy the result once more (3x the document). */
static size_t string_bound(const char *s)
{
    size_t n = 2; /* quotes */
    if (s == NULL)
        return n;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        switch (*p) {
        case '"': case '\\': case '\b': case '\f': case '\n': case '\r': case '\t':
            n += 2;
            break;
        default:
            n += *p < 32 ? 6 : 1;
        }
    }
    return n;
}

static size_t number_bound(double d)
{
    /* Integers up to 2^53 print as at most their decimal digits (cJSON may
     * pick a shorter exponent form); anything else fits cJSON's 26 bytes. */
    double a = d < 0 ? -d : d;
    if (a <= 9007199254740992.0 && a == (double)(uint64_t)a) {
        uint64_t x = (uint64_t)a;
        size_t digits = 1;
        while (x >= 10) {
            x /= 10;
            digits++;
        }
        return digits + (d < 0);
    }
    return 26;
}

static size_t json_bound(const cJSON *n)
{
    switch (n->type & 0xff) {
    case cJSON_NULL: return 4;
    case cJSON_False: return 5;
    case cJSON_True: return 4;
    case cJSON_Number: return number_bound(n->valuedouble);
    case cJSON_String: return string_bound(n->valuestring);
    case cJSON_Raw: return n->valuestring != NULL ? strlen(n->valuestring) : 0;
    case cJSON_Array:
    case cJSON_Object: {
        size_t total = 2;
        for (const cJSON *c = n->child; c != NULL; c = c->next) {
            total += json_bound(c) + 1; /* comma */
            if ((n->type & 0xff) == cJSON_Object)
                total += string_bound(c->string) + 1; /* key and colon */
        }
        return total;
    }
    default: return 0;
    }
}

int vault_vault__print(const cJSON *node, char **out, size_t *out_len)
{
    *out = NULL;
    size_t bound = json_bound(node) + 64;
    if (bound > (size_t)INT_MAX)
        return vault__fail(VAULT_E_LIMIT, "vault too large to serialize");
    char *buf = vault__out_alloc(bound);
    if (buf == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory serializing the vault");
    if (!cJSON_PrintPreallocated((cJSON *)node, buf, (int)bound, 0)) {
        vault_free(buf); /* wipes */
        return vault__fail(VAULT_E_INTERNAL, "vault JSON outgrew its computed size");
    }
    size_t len = strlen(buf);
    *out = vault__out_shrink(buf, len);
    if (out_len != NULL)
        *out_len = len;
    return VAULT_OK;
}

/* ---- the streaming printer ------------------------------------------------ */

/* Pieces of about PRINT_PIECE bytes reach emit; the buffer holds twice that
 * so that a typical item always fits after a flush. */
#define PRINT_PIECE (64u * 1024u)

typedef struct printer {
    char *buf; /* plaintext: wiped when freed */
    size_t cap, used;
    vault_vault__emit emit;
    void *ctx;
} printer;

static int flush(printer *p)
{
    if (p->used == 0)
        return VAULT_OK;
    int rc = p->emit(p->ctx, p->buf, p->used);
    p->used = 0;
    return rc;
}

/* A short literal (a bracket, a key); the buffer always has room after a flush. */
static int put_text(printer *p, const char *text)
{
    size_t n = strlen(text);
    if (p->cap - p->used < n) {
        int rc = flush(p);
        if (rc != VAULT_OK)
            return rc;
    }
    memcpy(p->buf + p->used, text, n);
    p->used += n;
    return VAULT_OK;
}

/* Replaces the (empty) buffer by one of size bytes. */
static int grow_buffer(printer *p, size_t size)
{
    char *buf = vault__malloc(size);
    if (buf == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory serializing the vault");
    vault__wipe_free(p->buf, p->cap);
    p->buf = buf;
    p->cap = size;
    return VAULT_OK;
}

/* Appends node's JSON. It is printed in place when it fits the room left
 * (nearly always); otherwise after a flush, and a node larger than the whole
 * buffer gets a buffer of its exact bound. */
static int put_node(printer *p, const cJSON *node)
{
    int rc = p->used >= PRINT_PIECE ? flush(p) : VAULT_OK;
    while (rc == VAULT_OK) {
        size_t room = p->cap - p->used;
        if (room > (size_t)INT_MAX)
            room = (size_t)INT_MAX;
        if (cJSON_PrintPreallocated((cJSON *)node, p->buf + p->used, (int)room, 0)) {
            p->used += strlen(p->buf + p->used);
            return VAULT_OK;
        }
        if (p->used > 0) {
            rc = flush(p);
            continue;
        }
        size_t bound = json_bound(node) + 64;
        if (bound <= p->cap)
            return vault__fail(VAULT_E_INTERNAL, "vault JSON outgrew its computed size");
        if (bound > (size_t)INT_MAX)
            return vault__fail(VAULT_E_LIMIT, "vault item too large to serialize");
        rc = grow_buffer(p, bound);
    }
    return rc;
}

/* An array element by element, so that no piece holds more than one item. */
static int put_array(printer *p, const cJSON *array)
{
    int rc = put_text(p, "[");
    for (const cJSON *c = array->child; c != NULL && rc == VAULT_OK; c = c->next) {
        if (c != array->child)
            rc = put_text(p, ",");
        if (rc == VAULT_OK)
            rc = put_node(p, c);
    }
    return rc == VAULT_OK ? put_text(p, "]") : rc;
}

/* The root's members are the vault format's fixed names (checked on parse,
 * static on creation): none needs escaping. */
static int put_member(printer *p, const cJSON *member, int first)
{
    int rc = put_text(p, first ? "\"" : ",\"");
    if (rc == VAULT_OK)
        rc = put_text(p, member->string);
    if (rc == VAULT_OK)
        rc = put_text(p, "\":");
    if (rc != VAULT_OK)
        return rc;
    return cJSON_IsArray(member) ? put_array(p, member) : put_node(p, member);
}

int vault_vault__print_stream(const cJSON *root, vault_vault__emit emit, void *ctx)
{
    printer p = {NULL, 0, 0, emit, ctx};
    int rc = grow_buffer(&p, 2 * PRINT_PIECE);
    if (rc == VAULT_OK)
        rc = put_text(&p, "{");
    for (const cJSON *c = root->child; c != NULL && rc == VAULT_OK; c = c->next)
        rc = put_member(&p, c, c == root->child);
    if (rc == VAULT_OK)
        rc = put_text(&p, "}");
    if (rc == VAULT_OK)
        rc = flush(&p);
    vault__wipe_free(p.buf, p.cap);
    return rc;
}

/* ---- vault_to_json: the stream collected into one output buffer ----------- */

typedef struct json_text {
    char *buf; /* output memory */
    size_t len, cap;
} json_text;

static int append_piece(void *ctx, const char *piece, size_t len)
{
    json_text *t = ctx;
    if (t->cap - t->len < len) {
        size_t cap = t->cap * 2 > t->len + len ? t->cap * 2 : t->len + len;
        char *buf = vault__out_grow(t->buf, t->len, cap);
        if (buf == NULL)
            return vault__fail(VAULT_E_NOMEM, "out of memory serializing the vault");
        t->buf = buf;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, piece, len);
    t->len += len;
    return VAULT_OK;
}

/* Room for a few edits since the hint was taken. */
#define PRINT_HINT_SLACK(hint) ((hint) / 64 + 16384u)

int vault_to_json(const vault *v, char **json)
{
    if (json != NULL)
        *json = NULL;
    if (v == NULL || json == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_to_json: NULL argument");
    json_text t = {NULL, 0, v->json_hint + PRINT_HINT_SLACK(v->json_hint)};
    t.buf = vault__out_alloc(t.cap);
    if (t.buf == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory serializing the vault");
    int rc = vault_vault__print_stream(v->root, append_piece, &t);
    if (rc != VAULT_OK) {
        vault_free(t.buf); /* wipes */
        return rc;
    }
    t.buf[t.len] = 0;
    *json = vault__out_shrink(t.buf, t.len);
    return VAULT_OK;
}
