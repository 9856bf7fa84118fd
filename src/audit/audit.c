/*
 * vault_audit: weak (zxcvbn), reused, old and breached (offline Pwned
 * Passwords file) secrets among the hidden text fields of the live items.
 *
 * The report names items and fields, never a value. Reuse is found by
 * sorting keyed BLAKE2b digests of the values (a fresh random key per call),
 * so no two secrets are ever compared byte by byte and nothing derived from
 * them outlives the call.
 */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <zxcvbn.h>

#include "audit/audit_int.h"

#define DAY_MS 86400000ull
#define DIGEST_BYTES 16u

/* One audited secret: a hidden text field of a live item. */
typedef struct secret {
    const cJSON *item;
    const char *field;
    const char *value;
    uint64_t changed; /* ms: when the current value was set, as far as known */
    uint8_t digest[DIGEST_BYTES];
    size_t reused; /* other secrets with the same value */
} secret;

typedef struct audit_run {
    secret *list;
    size_t n;
    uint8_t key[crypto_generichash_KEYBYTES];
} audit_run;

static const char *str(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key)->valuestring;
}

static int is_hidden_text(const cJSON *f)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(f, "type");
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "hidden")) &&
           (type == NULL || strcmp(type->valuestring, "text") == 0) && str(f, "value")[0] != '\0';
}

/* The current value's age: the newest history entry for this field records
 * when the value before it was replaced; without one, the item's creation. */
static uint64_t value_changed(const cJSON *item, const char *name)
{
    uint64_t when = (uint64_t)cJSON_GetObjectItemCaseSensitive(item, "created")->valuedouble;
    const cJSON *history = cJSON_GetObjectItemCaseSensitive(item, "history");
    for (const cJSON *h = history->child; h != NULL; h = h->next) {
        uint64_t t = (uint64_t)cJSON_GetObjectItemCaseSensitive(h, "changed")->valuedouble;
        if (strcmp(str(h, "name"), name) == 0 && t > when)
            when = t;
    }
    return when;
}

static int collect(audit_run *r, const cJSON *items)
{
    size_t cap = 0;
    for (const cJSON *it = items->child; it != NULL; it = it->next)
        for (const cJSON *f = cJSON_GetObjectItemCaseSensitive(it, "fields")->child; f != NULL;
             f = f->next)
            cap += (size_t)is_hidden_text(f);
    if ((r->list = vault__calloc(cap + 1, sizeof *r->list)) == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory auditing");
    for (const cJSON *it = items->child; it != NULL; it = it->next)
        for (const cJSON *f = cJSON_GetObjectItemCaseSensitive(it, "fields")->child; f != NULL;
             f = f->next) {
            if (!is_hidden_text(f))
                continue;
            secret *s = &r->list[r->n++];
            s->item = it;
            s->field = str(f, "name");
            s->value = str(f, "value");
            s->changed = value_changed(it, s->field);
            crypto_generichash(s->digest, DIGEST_BYTES, (const uint8_t *)s->value,
                               strlen(s->value), r->key, sizeof r->key);
        }
    return VAULT_OK;
}

static int by_digest(const void *a, const void *b)
{
    return memcmp(((const secret *const *)a)[0]->digest, ((const secret *const *)b)[0]->digest,
                  DIGEST_BYTES);
}

/* Counts, for each secret, the others with the same digest. */
static int find_reuse(audit_run *r)
{
    secret **order = vault__malloc((r->n + 1) * sizeof *order);
    if (order == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory auditing");
    for (size_t i = 0; i < r->n; i++)
        order[i] = &r->list[i];
    qsort(order, r->n, sizeof *order, by_digest);
    for (size_t i = 0, j; i < r->n; i = j) {
        for (j = i + 1; j < r->n && by_digest(&order[i], &order[j]) == 0; j++)
            ;
        for (size_t k = i; k < j; k++)
            order[k]->reused = j - i - 1;
    }
    vault__free(order);
    return VAULT_OK;
}

/* zxcvbn's estimate in bits (log2 of the guesses), with the item's title and
 * visible values as a user dictionary: a password made of them is weak. */
static double strength_bits(const secret *s)
{
    const char *dict[8];
    size_t n = 0;
    dict[n++] = str(s->item, "title");
    for (const cJSON *f = cJSON_GetObjectItemCaseSensitive(s->item, "fields")->child;
         f != NULL && n < 7; f = f->next)
        if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "hidden")))
            dict[n++] = str(f, "value");
    dict[n] = NULL;
    return ZxcvbnMatch(s->value, dict, NULL);
}

typedef struct totals {
    uint64_t checked, weak, reused, old, breached;
} totals;

/* The finding for one secret, or NULL when it has no problem (*rc VAULT_OK). */
static cJSON *finding(const secret *s, const vault_audit__breach *breach, uint32_t old_days,
                      uint64_t now, totals *t, int *rc)
{
    uint64_t seen = 0;
    *rc = VAULT_OK;
    if (breach != NULL && (*rc = vault_audit__breach_count(breach, s->value, &seen)) != VAULT_OK)
        return NULL;
    double bits = strength_bits(s);
    uint64_t age_days = now > s->changed ? (now - s->changed) / DAY_MS : 0;
    int weak = bits < VAULT_AUDIT_WEAK_BITS, old = old_days > 0 && age_days >= old_days;
    t->checked++;
    t->weak += (uint64_t)weak;
    t->reused += s->reused > 0;
    t->old += (uint64_t)old;
    t->breached += seen > 0;
    if (!weak && !old && s->reused == 0 && seen == 0)
        return NULL;
    cJSON *f = cJSON_CreateObject();
    if (f == NULL || !cJSON_AddStringToObject(f, "id", str(s->item, "id")) ||
        !cJSON_AddStringToObject(f, "title", str(s->item, "title")) ||
        !cJSON_AddStringToObject(f, "field", s->field) ||
        !cJSON_AddBoolToObject(f, "weak", weak) ||
        !cJSON_AddNumberToObject(f, "strength_bits", (double)(long)(bits * 10) / 10) ||
        !cJSON_AddNumberToObject(f, "reused", (double)s->reused) ||
        !cJSON_AddBoolToObject(f, "old", old) ||
        !cJSON_AddNumberToObject(f, "age_days", (double)age_days) ||
        (breach != NULL && !cJSON_AddNumberToObject(f, "breached", (double)seen))) {
        cJSON_Delete(f);
        *rc = vault__fail(VAULT_E_NOMEM, "out of memory auditing");
        return NULL;
    }
    return f;
}

static int report(const audit_run *r, const vault_audit__breach *breach, uint32_t old_days,
                  char **json)
{
    totals t = {0, 0, 0, 0, 0};
    uint64_t now = (uint64_t)(vault__now_ms() > 0 ? vault__now_ms() : 0);
    cJSON *root = cJSON_CreateObject(), *findings = cJSON_CreateArray();
    int rc = VAULT_OK;
    if (root == NULL || findings == NULL) {
        rc = vault__fail(VAULT_E_NOMEM, "out of memory auditing");
        goto done;
    }
    for (size_t i = 0; i < r->n && rc == VAULT_OK; i++) {
        cJSON *f = finding(&r->list[i], breach, old_days, now, &t, &rc);
        if (f != NULL)
            cJSON_AddItemToArray(findings, f);
    }
    if (rc != VAULT_OK)
        goto done;
    cJSON *summary = cJSON_AddObjectToObject(root, "summary");
    if (summary == NULL || !cJSON_AddNumberToObject(summary, "checked", (double)t.checked) ||
        !cJSON_AddNumberToObject(summary, "weak", (double)t.weak) ||
        !cJSON_AddNumberToObject(summary, "reused", (double)t.reused) ||
        !cJSON_AddNumberToObject(summary, "old", (double)t.old) ||
        (breach != NULL && !cJSON_AddNumberToObject(summary, "breached", (double)t.breached))) {
        rc = vault__fail(VAULT_E_NOMEM, "out of memory auditing");
        goto done;
    }
    cJSON_AddItemToObject(root, "findings", findings);
    findings = NULL;
    rc = vault__json_print(root, json);
done:
    cJSON_Delete(findings);
    cJSON_Delete(root);
    return rc;
}

int vault_audit(const vault *v, const char *breach_file, uint32_t old_days, char **json)
{
    audit_run r = {NULL, 0, {0}};
    vault_audit__breach breach = {-1, 0};
    char *list_json = NULL;
    cJSON *items = NULL;
    int rc;
    if (json != NULL)
        *json = NULL;
    if (v == NULL || json == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_audit: NULL argument");
    if (breach_file != NULL && (rc = vault_audit__breach_open(&breach, breach_file)) != VAULT_OK)
        return rc;
    crypto_generichash_keygen(r.key);
    if ((rc = vault_item_list(v, 0, &list_json)) != VAULT_OK ||
        (rc = vault__json_parse(list_json, strlen(list_json), &items)) != VAULT_OK ||
        (rc = collect(&r, items)) != VAULT_OK || (rc = find_reuse(&r)) != VAULT_OK)
        goto done;
    rc = report(&r, breach_file != NULL ? &breach : NULL, old_days, json);
done:
    vault__wipe_free(r.list, (r.n + 1) * sizeof *r.list);
    sodium_memzero(r.key, sizeof r.key);
    cJSON_Delete(items); /* wiped by the free hook */
    vault_free(list_json);
    vault_audit__breach_close(&breach);
    return rc;
}
