/* Fuzzes the vault and item JSON parsers. The first byte picks:
 *   even: the rest is a whole vault → vault_from_json; what parses must
 *         print and parse back to the same JSON, and survive a merge with
 *         itself unchanged;
 *   odd:  the rest is an item → vault_item_add into a vault that holds one
 *         item; then update, get, list, search and delete it. */
#include <string.h>

#include "fuzz.h"

static void check_vault(const char *json, size_t len)
{
    vault *v = NULL, *again = NULL, *merged = NULL;
    char *out = NULL, *out2 = NULL, *out3 = NULL;
    int rc = vault_from_json(&v, json, len);
    FUZZ_CHECK_STATUS(rc);
    if (rc != VAULT_OK)
        return;
    FUZZ_CHECK(vault_to_json(v, &out) == VAULT_OK);
    FUZZ_CHECK(vault_from_json(&again, out, strlen(out)) == VAULT_OK);
    FUZZ_CHECK(vault_to_json(again, &out2) == VAULT_OK);
    FUZZ_CHECK(out2 != NULL && strcmp(out, out2) == 0);
    rc = vault_merge(&merged, v, v, v);
    FUZZ_CHECK(rc == VAULT_OK || rc == VAULT_E_LIMIT || rc == VAULT_E_NOMEM);
    if (rc == VAULT_OK) {
        FUZZ_CHECK(vault_to_json(merged, &out3) == VAULT_OK);
        FUZZ_CHECK(out3 != NULL && strcmp(out, out3) == 0);
    }
    vault_free(out);
    vault_free(out2);
    vault_free(out3);
    vault_close(v);
    vault_close(again);
    vault_close(merged);
}

static void check_item(const char *json)
{
    vault *v = NULL;
    char *id = NULL, *out = NULL;
    uint64_t count = 0;
    if (vault_new(&v) != VAULT_OK)
        return;
    FUZZ_CHECK(vault_item_add(v, "{\"type\":\"note\",\"title\":\"seed\"}", NULL) == VAULT_OK);
    int rc = vault_item_add(v, json, &id);
    FUZZ_CHECK_STATUS(rc);
    FUZZ_CHECK(vault_item_count(v, &count) == VAULT_OK);
    FUZZ_CHECK(count == (rc == VAULT_OK ? 2u : 1u));
    if (rc == VAULT_OK) {
        FUZZ_CHECK(vault_item_get(v, id, &out) == VAULT_OK);
        vault_free(out);
        out = NULL;
        rc = vault_item_update(v, id, json);
        FUZZ_CHECK(rc == VAULT_OK || rc == VAULT_E_NOMEM);
        FUZZ_CHECK(vault_item_list(v, VAULT_LIST_DELETED, &out) == VAULT_OK);
        vault_free(out);
        out = NULL;
        FUZZ_CHECK(vault_item_search(v, "a", &out) == VAULT_OK);
        vault_free(out);
        FUZZ_CHECK(vault_item_delete(v, id) == VAULT_OK);
    }
    vault_free(id);
    vault_close(v);
}

FUZZ_ENTRY(item_json)
{
    vault_init();
    if (size < 1)
        return 0;
    char *text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if ((data[0] & 1) == 0)
        check_vault(text, size - 1);
    else
        check_item(text);
    free(text);
    return 0;
}
