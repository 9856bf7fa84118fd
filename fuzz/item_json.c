/* Fuzzes the vault and item JSON parsers. The first byte picks:
 *   even: the rest is a whole vault → vault_from_json; the streaming parser
 *         fed the same text in pieces must reach the same verdict and vault;
 *         what parses must print and parse back to the same JSON, and
 *         survive a merge with itself unchanged;
 *   odd:  the rest is an item → vault_item_add into a vault that holds one
 *         item; then update, get, list, search and delete it. */
#include <string.h>

#include "fuzz.h"
#include "vault/vault_int.h"

static int same_json(const vault *a, const vault *b)
{
    char *ja = NULL, *jb = NULL;
    int same = vault_to_json(a, &ja) == VAULT_OK && vault_to_json(b, &jb) == VAULT_OK &&
               strcmp(ja, jb) == 0;
    vault_free(ja);
    vault_free(jb);
    return same;
}

/* vault_open parses the text in 64 KiB pieces: any split must give what the
 * whole text gives (the piece size comes from the input's length). */
static void check_split(const char *json, size_t len, int whole_rc, const vault *whole)
{
    size_t piece = 1 + len % 97;
    vault_parser *p = NULL;
    vault *v = NULL;
    int rc = vault_vault__parse_begin(&p);
    for (size_t off = 0; rc == VAULT_OK && off < len; off += piece)
        rc = vault_vault__parse_feed(p, json + off, len - off < piece ? len - off : piece);
    if (rc == VAULT_OK)
        rc = vault_vault__parse_end(p, &v);
    else
        vault_vault__parse_abort(p);
    if (rc != VAULT_E_NOMEM && whole_rc != VAULT_E_NOMEM)
        FUZZ_CHECK(rc == whole_rc);
    if (rc == VAULT_OK && whole_rc == VAULT_OK)
        FUZZ_CHECK(same_json(v, whole));
    vault_close(v);
}

static void check_vault(const char *json, size_t len)
{
    vault *v = NULL, *again = NULL, *merged = NULL;
    char *out = NULL, *out2 = NULL, *out3 = NULL;
    int rc = vault_from_json(&v, json, len);
    FUZZ_CHECK_STATUS(rc);
    check_split(json, len, rc, v);
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
