/*
 * vault_import, vault_export and the list of formats: dispatch, duplicate
 * detection, the all-or-nothing commit and the report.
 */
#include <string.h>

#include <sodium.h>

#include "interop/interop_int.h"
#include "vault/vault.h"

typedef struct format_info {
    const char *name;
    const char *description;
    int import, export, plaintext;
} format_info;

static const format_info formats[] = {
    {"zkvault-encrypted", "encrypted export (Argon2id + sealed blob), the recommended one", 1, 1, 0},
    {"zkvault", "this library's vault JSON", 1, 1, 1},
    {"keepass-xml", "KeePass 2 XML (keepassxc-cli export -f xml / import)", 1, 1, 1},
    {"bitwarden-json", "Bitwarden unencrypted JSON export", 1, 1, 1},
    {"bitwarden-csv", "Bitwarden CSV export", 1, 0, 1},
    {"1password-csv", "1Password CSV export", 1, 0, 1},
    {"chrome-csv", "Chrome / Chromium passwords CSV", 1, 0, 1},
    {"firefox-csv", "Firefox logins CSV", 1, 0, 1},
    {"safari-csv", "Safari passwords CSV", 1, 0, 1},
    {"lastpass-csv", "LastPass CSV export", 1, 0, 1},
    {"csv", "CSV with a header: title, type, tags, then one column per field", 1, 1, 1},
};

static const format_info *find_format(const char *name)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strcmp(formats[i].name, name) == 0)
            return &formats[i];
    return NULL;
}

int vault_interop_formats(char **json)
{
    if (json == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_interop_formats: NULL argument");
    *json = NULL;
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; list != NULL && i < sizeof formats / sizeof formats[0]; i++) {
        const format_info *f = &formats[i];
        cJSON *e = cJSON_CreateObject();
        if (e == NULL || !cJSON_AddStringToObject(e, "name", f->name) ||
            !cJSON_AddStringToObject(e, "description", f->description) ||
            !cJSON_AddBoolToObject(e, "import", f->import) ||
            !cJSON_AddBoolToObject(e, "export", f->export) ||
            !cJSON_AddBoolToObject(e, "plaintext", f->plaintext) || !cJSON_AddItemToArray(list, e)) {
            cJSON_Delete(e);
            cJSON_Delete(list);
            list = NULL;
        }
    }
    if (list == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory listing formats");
    size_t len;
    int rc = vault_interop__json_out(list, 0, (uint8_t **)json, &len);
    cJSON_Delete(list);
    return rc;
}

/* ---- duplicates ----------------------------------------------------------- */

#define KEY_BYTES 16u

/* Type, title and the set of fields (order does not matter: the per-field
 * hashes are added), hashed: two items with the same key have the same
 * content for all practical purposes. */
static void content_key(const cJSON *item, uint8_t key[KEY_BYTES])
{
    uint64_t sum[2] = {0, 0};
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(item, "fields")) {
        crypto_generichash_state st;
        uint64_t h[2];
        const char *name = cJSON_GetObjectItemCaseSensitive(f, "name")->valuestring;
        const char *value = cJSON_GetObjectItemCaseSensitive(f, "value")->valuestring;
        crypto_generichash_init(&st, NULL, 0, sizeof h);
        crypto_generichash_update(&st, (const uint8_t *)name, strlen(name) + 1);
        crypto_generichash_update(&st, (const uint8_t *)value, strlen(value) + 1);
        crypto_generichash_final(&st, (uint8_t *)h, sizeof h);
        sum[0] += h[0];
        sum[1] += h[1];
    }
    const char *type = cJSON_GetObjectItemCaseSensitive(item, "type")->valuestring;
    const char *title = cJSON_GetObjectItemCaseSensitive(item, "title")->valuestring;
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, KEY_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)type, strlen(type) + 1);
    crypto_generichash_update(&st, (const uint8_t *)title, strlen(title) + 1);
    crypto_generichash_update(&st, (const uint8_t *)sum, sizeof sum);
    crypto_generichash_final(&st, key, KEY_BYTES);
    sodium_memzero(sum, sizeof sum);
}

typedef struct keyset {
    uint8_t (*keys)[KEY_BYTES];
    uint8_t *used;
    size_t cap;
} keyset;

/* Inserts key; 1 if it was already there. Keys are uniform hashes: their
 * first bytes index the table directly. */
static int keyset_add(keyset *k, const uint8_t key[KEY_BYTES])
{
    uint64_t x;
    memcpy(&x, key, sizeof x);
    for (size_t i = (size_t)x & (k->cap - 1);; i = (i + 1) & (k->cap - 1)) {
        if (!k->used[i]) {
            memcpy(k->keys[i], key, KEY_BYTES);
            k->used[i] = 1;
            return 0;
        }
        if (memcmp(k->keys[i], key, KEY_BYTES) == 0)
            return 1;
    }
}

/* Marks the candidates that repeat a live item of v or an earlier candidate
 * (same content), and, when ids are kept, those whose id v already has. */
static int mark_duplicates(const vault *v, interop_import *s, int keep_ids)
{
    size_t existing = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, vault_vault__items_const(v))
        existing++;
    keyset k = {NULL, NULL, 64};
    while (k.cap < 2 * (existing + s->n))
        k.cap *= 2;
    k.keys = vault__malloc(k.cap * KEY_BYTES);
    k.used = vault__calloc(k.cap, 1);
    if (k.keys == NULL || k.used == NULL) {
        vault__free(k.keys);
        vault__free(k.used);
        return vault__fail(VAULT_E_NOMEM, "out of memory finding duplicates");
    }
    uint8_t key[KEY_BYTES];
    cJSON_ArrayForEach(it, vault_vault__items_const(v)) {
        if (!vault_interop__is_live(it))
            continue;
        content_key(it, key);
        keyset_add(&k, key);
    }
    for (size_t i = 0; i < s->n; i++) {
        content_key(s->cands[i].item, key);
        s->cands[i].dup = keyset_add(&k, key);
        if (!s->cands[i].dup && keep_ids && existing > 0)
            s->cands[i].dup = vault_vault__has_id(
                v, cJSON_GetObjectItemCaseSensitive(s->cands[i].item, "id")->valuestring);
    }
    vault__wipe_free(k.keys, k.cap * KEY_BYTES);
    vault__free(k.used);
    return VAULT_OK;
}

/* ---- report --------------------------------------------------------------- */

static cJSON *cand_entry(const interop_cand *c)
{
    const cJSON *item = c->item;
    cJSON *e = cJSON_CreateObject();
    if (e == NULL ||
        (c->line > 0 ? !cJSON_AddNumberToObject(e, "line", (double)c->line)
                     : !cJSON_AddNumberToObject(e, "index", (double)c->index)) ||
        !cJSON_AddStringToObject(e, "title",
                                 cJSON_GetObjectItemCaseSensitive(item, "title")->valuestring) ||
        !cJSON_AddStringToObject(e, "type",
                                 cJSON_GetObjectItemCaseSensitive(item, "type")->valuestring) ||
        !cJSON_AddStringToObject(e, "status", c->dup ? "duplicate" : "imported") ||
        (c->note != NULL && !cJSON_AddStringToObject(e, "note", c->note))) {
        cJSON_Delete(e);
        return NULL;
    }
    return e;
}

static int make_report(interop_import *s, uint32_t flags, char **report)
{
    size_t imported = 0, dups = 0;
    cJSON *r = cJSON_CreateObject(), *items = NULL;
    if (r == NULL || !cJSON_AddStringToObject(r, "format", s->format) ||
        !cJSON_AddBoolToObject(r, "dry_run", (flags & VAULT_IMPORT_DRY_RUN) != 0))
        goto nomem;
    for (size_t i = 0; i < s->n; i++)
        s->cands[i].dup ? dups++ : imported++;
    if (!cJSON_AddNumberToObject(r, "imported", (double)imported) ||
        !cJSON_AddNumberToObject(r, "duplicates", (double)dups) ||
        !cJSON_AddNumberToObject(r, "skipped", (double)cJSON_GetArraySize(s->skipped)))
        goto nomem;
    cJSON_AddItemToObjectCS(r, "problems", s->problems);
    s->problems = NULL;
    if ((items = cJSON_AddArrayToObject(r, "items")) == NULL)
        goto nomem;
    for (size_t i = 0; i < s->n; i++) {
        cJSON *e = cand_entry(&s->cands[i]);
        if (e == NULL)
            goto nomem;
        cJSON_AddItemToArray(items, e);
    }
    cJSON *sk;
    while ((sk = s->skipped->child) != NULL)
        cJSON_AddItemToArray(items, cJSON_DetachItemViaPointer(s->skipped, sk));
    size_t len;
    int rc = vault_interop__json_out(r, 0, (uint8_t **)report, &len);
    cJSON_Delete(r);
    return rc;
nomem:
    cJSON_Delete(r);
    return vault__fail(VAULT_E_NOMEM, "out of memory writing the import report");
}

/* ---- import ----------------------------------------------------------------- */

static int read_file(interop_import *s, const char *format, const uint8_t *data, size_t len,
                     const char *password)
{
    if (strcmp(format, "bitwarden-json") == 0)
        return vault_interop__read_bitwarden(s, data, len);
    if (strcmp(format, "keepass-xml") == 0)
        return vault_interop__read_keepass(s, data, len);
    if (strcmp(format, "zkvault") == 0)
        return vault_interop__read_native(s, data, len);
    if (strcmp(format, "zkvault-encrypted") == 0)
        return vault_interop__read_sealed(s, data, len, password);
    return vault_interop__read_csv(s, format, data, len);
}

/* Moves the new candidates into the vault in one batch. The candidates keep
 * their pointers for the report: the nodes move, they are not copied. */
static int commit(vault *v, interop_import *s)
{
    cJSON *batch = cJSON_CreateArray();
    if (batch == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory importing");
    for (size_t i = 0; i < s->n; i++)
        if (!s->cands[i].dup)
            cJSON_AddItemToArray(batch, s->cands[i].item);
    int rc = vault_vault__add_all(v, batch);
    cJSON *it; /* on failure the items are still in the batch: take them back */
    while ((it = batch->child) != NULL)
        cJSON_DetachItemViaPointer(batch, it);
    cJSON_Delete(batch);
    s->committed = rc == VAULT_OK;
    return rc;
}

static void import_free(interop_import *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (!s->committed || s->cands[i].dup)
            cJSON_Delete(s->cands[i].item);
        vault__free(s->cands[i].note);
    }
    vault__free(s->cands);
    cJSON_Delete(s->skipped);
    cJSON_Delete(s->problems);
}

int vault_import(vault *v, const char *format, const uint8_t *data, size_t len,
                 const char *password, uint32_t flags, char **report)
{
    if (report != NULL)
        *report = NULL;
    if (v == NULL || format == NULL || (data == NULL && len > 0))
        return vault__fail(VAULT_E_INVALID, "vault_import: NULL argument");
    const format_info *fi = find_format(format);
    if (fi == NULL || !fi->import)
        return vault__fail(VAULT_E_INVALID, "unknown import format \"%.40s\"", format);
    if ((flags & ~VAULT_IMPORT_DRY_RUN) != 0)
        return vault__fail(VAULT_E_INVALID, "vault_import: unknown flags");
    if (len > VAULT_BLOB_MAX_PLAINTEXT)
        return vault__fail(VAULT_E_LIMIT, "the file is larger than %u bytes",
                           VAULT_BLOB_MAX_PLAINTEXT);
    interop_import s = {.format = fi->name};
    s.skipped = cJSON_CreateArray();
    s.problems = cJSON_CreateArray();
    int rc = (s.skipped == NULL || s.problems == NULL)
                 ? vault__fail(VAULT_E_NOMEM, "out of memory importing")
                 : read_file(&s, fi->name, data != NULL ? data : (const uint8_t *)"", len, password);
    int keep_ids = strncmp(fi->name, "zkvault", 7) == 0;
    if (rc == VAULT_OK)
        rc = mark_duplicates(v, &s, keep_ids);
    int dry = (flags & VAULT_IMPORT_DRY_RUN) != 0;
    if (rc == VAULT_OK && s.n_problems > 0 && !dry)
        rc = vault__fail(VAULT_E_FORMAT, "%s (%zu problem%s in all; nothing was imported)",
                         s.first_problem, s.n_problems, s.n_problems == 1 ? "" : "s");
    /* The report is written first: once the items are in, nothing may fail. */
    char *text = NULL;
    if (rc == VAULT_OK && report != NULL)
        rc = make_report(&s, flags, &text);
    if (rc == VAULT_OK && !dry)
        rc = commit(v, &s);
    if (rc == VAULT_OK && report != NULL)
        *report = text;
    else
        vault_free(text);
    import_free(&s);
    return rc;
}

/* ---- export ----------------------------------------------------------------- */

int vault_export(const vault *v, const char *format, const char *password, uint64_t opslimit,
                 uint64_t memlimit, uint8_t **out, size_t *out_len)
{
    if (out != NULL)
        *out = NULL;
    if (v == NULL || format == NULL || out == NULL || out_len == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_export: NULL argument");
    const format_info *fi = find_format(format);
    if (fi == NULL || !fi->export)
        return vault__fail(VAULT_E_INVALID, "unknown export format \"%.40s\"", format);
    if (strcmp(format, "zkvault-encrypted") == 0)
        return vault_interop__write_sealed(v, password, opslimit, memlimit, out, out_len);
    if (strcmp(format, "zkvault") == 0)
        return vault_interop__write_native(v, out, out_len);
    if (strcmp(format, "keepass-xml") == 0)
        return vault_interop__write_keepass(v, out, out_len);
    if (strcmp(format, "bitwarden-json") == 0)
        return vault_interop__write_bitwarden(v, out, out_len);
    return vault_interop__write_csv(v, out, out_len);
}
