/*
 * Building imported items, recording problems, and the import's bookkeeping.
 *
 * Items are built directly in the stored form (member order of docs/items.md)
 * and checked by the vault module, which stays the one place that knows what
 * an item may hold.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "interop/interop_int.h"
#include "vault/vault.h"

static uint64_t now_ms(void)
{
    int64_t t = vault__now_ms();
    return t > 0 ? (uint64_t)t : 0;
}

cJSON *vault_interop__item_new(const char *type, const char *title)
{
    char id[2 * VAULT_ACCOUNT_ID_BYTES + 1];
    vault__random_id(id);
    double now = (double)now_ms();
    cJSON *item = cJSON_CreateObject();
    if (item == NULL || !cJSON_AddStringToObject(item, "id", id) ||
        !cJSON_AddStringToObject(item, "type", type) ||
        !cJSON_AddStringToObject(item, "title", title) || !cJSON_AddArrayToObject(item, "fields") ||
        !cJSON_AddArrayToObject(item, "tags") || !cJSON_AddNumberToObject(item, "created", now) ||
        !cJSON_AddNumberToObject(item, "updated", now) ||
        !cJSON_AddNumberToObject(item, "rev", 1) || !cJSON_AddFalseToObject(item, "deleted") ||
        !cJSON_AddNumberToObject(item, "trashed", 0) || !cJSON_AddArrayToObject(item, "history")) {
        cJSON_Delete(item);
        return NULL;
    }
    return item;
}

/* In place: cJSON's replace-in-object leaves a NULL member name when it
 * runs out of memory. */
static int set_string(cJSON *item, const char *key, const char *value)
{
    return cJSON_SetValuestring(cJSON_GetObjectItemCaseSensitive(item, key), value) != NULL ? 0
                                                                                         : -1;
}

int vault_interop__set_title(cJSON *item, const char *title)
{
    return set_string(item, "title", title);
}

int vault_interop__set_type(cJSON *item, const char *type)
{
    return set_string(item, "type", type);
}

void vault_interop__set_times(cJSON *item, uint64_t created_ms, uint64_t updated_ms)
{
    if (created_ms != 0)
        cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(item, "created"), (double)created_ms);
    if (updated_ms != 0 || created_ms != 0)
        cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(item, "updated"),
                             (double)(updated_ms > created_ms ? updated_ms : created_ms));
}

const char *vault_interop__field(const cJSON *item, const char *name)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(item, "fields")) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(f, "name");
        if (strcmp(n->valuestring, name) == 0)
            return cJSON_GetObjectItemCaseSensitive(f, "value")->valuestring;
    }
    return NULL;
}

int vault_interop__add_field(cJSON *item, const char *name, const char *value, int hidden,
                             int keep_empty)
{
    if (value == NULL || (value[0] == '\0' && !keep_empty))
        return 0;
    if (name == NULL || name[0] == '\0')
        name = "field";
    char unique[320]; /* a name over 256 bytes is refused by the item check */
    snprintf(unique, sizeof unique, "%s", name);
    for (unsigned k = 2; vault_interop__field(item, unique) != NULL && k < 10000; k++)
        snprintf(unique, sizeof unique, "%.256s %u", name, k);
    cJSON *f = cJSON_CreateObject();
    if (f == NULL || !cJSON_AddStringToObject(f, "name", unique) ||
        !cJSON_AddStringToObject(f, "value", value) || !cJSON_AddBoolToObject(f, "hidden", hidden != 0)) {
        cJSON_Delete(f);
        return -1;
    }
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(item, "fields"), f);
    return 0;
}

int vault_interop__add_totp(cJSON *item, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return 0;
    if (vault_interop__add_field(item, "totp", value, 1, 0) != 0)
        return -1;
    if (vault_totp_check(value) != VAULT_OK)
        return 0; /* not a secret the library can use: kept as a hidden text field */
    cJSON *fields = cJSON_GetObjectItemCaseSensitive(item, "fields");
    cJSON *last = cJSON_GetArrayItem(fields, cJSON_GetArraySize(fields) - 1);
    return cJSON_AddStringToObject(last, "type", "totp") != NULL ? 0 : -1;
}

int vault_interop__add_tag(cJSON *item, const char *tag)
{
    if (tag == NULL || tag[0] == '\0')
        return 0;
    cJSON *tags = cJSON_GetObjectItemCaseSensitive(item, "tags");
    const cJSON *t;
    cJSON_ArrayForEach(t, tags)
        if (strcmp(t->valuestring, tag) == 0)
            return 0;
    cJSON *s = cJSON_CreateString(tag);
    if (s == NULL)
        return -1;
    cJSON_AddItemToArray(tags, s);
    return 0;
}

int vault_interop__add_history(cJSON *item, const char *name, const char *value,
                               uint64_t changed_ms)
{
    cJSON *h = cJSON_CreateObject();
    if (h == NULL || !cJSON_AddStringToObject(h, "name", name) ||
        !cJSON_AddStringToObject(h, "value", value) ||
        !cJSON_AddNumberToObject(h, "changed", (double)changed_ms)) {
        cJSON_Delete(h);
        return -1;
    }
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(item, "history"), h);
    return 0;
}

int vault_interop__secret_name(const char *name)
{
    static const char *const secret[] = {"password", "passwd", "pin", "cvv", "cvc", "code",
                                         "secret", "totp", "otp", "otpauth", "passphrase",
                                         "private key", "privatekey", "number", "ssn",
                                         "security code", "card number", "seed"};
    char n[64];
    vault_interop__norm(name, n, sizeof n);
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
        if (strcmp(n, secret[i]) == 0)
            return 1;
    return 0;
}

/* ---- candidates, problems, skipped rows ------------------------------------ */

static cJSON *pos_entry(interop_pos pos)
{
    cJSON *e = cJSON_CreateObject();
    if (e != NULL && pos.line > 0 && !cJSON_AddNumberToObject(e, "line", (double)pos.line))
        goto fail;
    if (e != NULL && pos.line <= 0 && !cJSON_AddNumberToObject(e, "index", (double)pos.index))
        goto fail;
    return e;
fail:
    cJSON_Delete(e);
    return NULL;
}

static void pos_text(interop_pos pos, char *out, size_t len)
{
    if (pos.line > 0)
        snprintf(out, len, "line %ld", pos.line);
    else
        snprintf(out, len, "item %ld", pos.index);
}

int vault_interop__problem(interop_import *s, interop_pos pos, const char *fmt, ...)
{
    char msg[VAULT_ERRMSG_MAX], where[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pos_text(pos, where, sizeof where);
    if (s->n_problems++ == 0)
        snprintf(s->first_problem, sizeof s->first_problem, "%s: %.200s", where, msg);
    cJSON *e = pos_entry(pos);
    if (e == NULL || !cJSON_AddStringToObject(e, "message", msg)) {
        cJSON_Delete(e);
        return vault__fail(VAULT_E_NOMEM, "out of memory recording a problem");
    }
    cJSON_AddItemToArray(s->problems, e);
    return VAULT_OK;
}

int vault_interop__skip(interop_import *s, interop_pos pos, const char *title,
                        const char *reason)
{
    cJSON *e = pos_entry(pos);
    if (e == NULL || !cJSON_AddStringToObject(e, "title", title != NULL ? title : "") ||
        !cJSON_AddStringToObject(e, "status", "skipped") ||
        !cJSON_AddStringToObject(e, "reason", reason)) {
        cJSON_Delete(e);
        return vault__fail(VAULT_E_NOMEM, "out of memory recording a skipped row");
    }
    cJSON_AddItemToArray(s->skipped, e);
    return VAULT_OK;
}

int vault_interop__wrong(long line, const char *fmt, ...)
{
    char msg[VAULT_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return vault__fail(VAULT_E_FORMAT, "line %ld: %s", line, msg);
}

int vault_interop__accept(interop_import *s, cJSON *item, interop_pos pos, const char *note)
{
    if (item == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory building an item");
    int rc = vault_vault__check_new(item, "item");
    if (rc != VAULT_OK) {
        cJSON_Delete(item);
        return rc == VAULT_E_NOMEM ? rc : vault_interop__problem(s, pos, "%s", vault_last_error());
    }
    if (s->n == s->cap) {
        size_t cap = s->cap != 0 ? 2 * s->cap : 64;
        interop_cand *c = vault__realloc(s->cands, cap * sizeof *c);
        if (c == NULL) {
            cJSON_Delete(item);
            return vault__fail(VAULT_E_NOMEM, "out of memory collecting items");
        }
        s->cands = c;
        s->cap = cap;
    }
    char *copy = note != NULL ? vault__strdup(note) : NULL;
    if (note != NULL && copy == NULL) {
        cJSON_Delete(item);
        return vault__fail(VAULT_E_NOMEM, "out of memory collecting items");
    }
    s->cands[s->n++] = (interop_cand){item, pos.line, pos.index, 0, copy};
    return VAULT_OK;
}

/* ---- the live items of a vault --------------------------------------------- */

int vault_interop__is_live(const cJSON *item)
{
    const cJSON *trashed = cJSON_GetObjectItemCaseSensitive(item, "trashed");
    return !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(item, "deleted")) &&
           !(cJSON_IsNumber(trashed) && trashed->valuedouble != 0);
}

cJSON *vault_interop__live_items(const vault *v)
{
    cJSON *list = cJSON_CreateArray();
    const cJSON *it;
    cJSON_ArrayForEach(it, vault_vault__items_const(v)) {
        if (list == NULL)
            return NULL;
        if (!vault_interop__is_live(it))
            continue;
        if (!cJSON_AddItemReferenceToArray(list, (cJSON *)(uintptr_t)it)) {
            cJSON_Delete(list);
            list = NULL;
        }
    }
    return list;
}
