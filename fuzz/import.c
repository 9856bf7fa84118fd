/* Fuzzes vault_import: the first byte picks the format, the rest is the file.
 * Invariants: a known status; a dry run and the real import agree (same
 * verdict, same report); the vault then holds exactly what the report says
 * was imported, or nothing on failure; what was imported exports in every
 * plaintext format, and the "zkvault" export imports back whole. The
 * encrypted format is left out: each run would pay for Argon2id. */
#include <string.h>

#include <cjson/cJSON.h>

#include "fuzz.h"

static const char *const formats[] = {"bitwarden-json", "bitwarden-csv", "keepass-xml",
                                      "1password-csv",  "chrome-csv",    "firefox-csv",
                                      "safari-csv",     "lastpass-csv",  "csv",
                                      "zkvault"};

static double imported(const char *report)
{
    cJSON *r = cJSON_Parse(report);
    FUZZ_CHECK(r != NULL);
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(r, "imported");
    double v = cJSON_IsNumber(n) ? n->valuedouble : -1;
    cJSON_Delete(r);
    return v;
}

static void check_exports(const vault *v, uint64_t count)
{
    static const char *const out_formats[] = {"zkvault", "bitwarden-json", "csv", "keepass-xml"};
    for (size_t i = 0; i < sizeof out_formats / sizeof out_formats[0]; i++) {
        uint8_t *out = NULL;
        size_t len = 0;
        int rc = vault_export(v, out_formats[i], NULL, 0, 0, &out, &len);
        /* KeePass XML refuses control characters rather than change them. */
        FUZZ_CHECK(rc == VAULT_OK || rc == VAULT_E_NOMEM ||
                   (rc == VAULT_E_INVALID && i == 3));
        if (rc == VAULT_OK && i == 0) {
            vault *w = NULL;
            uint64_t back = 0;
            FUZZ_CHECK(vault_new(&w) == VAULT_OK);
            rc = vault_import(w, "zkvault", out, len, NULL, 0, NULL);
            FUZZ_CHECK(rc == VAULT_OK || rc == VAULT_E_NOMEM);
            FUZZ_CHECK(vault_item_count(w, &back) == VAULT_OK);
            FUZZ_CHECK(rc != VAULT_OK || back == count);
            vault_close(w);
        }
        vault_free(out);
    }
}

FUZZ_ENTRY(import)
{
    vault_init();
    if (size < 1)
        return 0;
    const char *format = formats[data[0] % (sizeof formats / sizeof formats[0])];
    vault *v = NULL;
    char *dry = NULL, *real = NULL;
    uint64_t count = 0;
    if (vault_new(&v) != VAULT_OK)
        return 0;
    int dry_rc = vault_import(v, format, data + 1, size - 1, NULL, VAULT_IMPORT_DRY_RUN, &dry);
    FUZZ_CHECK_STATUS(dry_rc);
    FUZZ_CHECK(vault_item_count(v, &count) == VAULT_OK && count == 0);
    int rc = vault_import(v, format, data + 1, size - 1, NULL, 0, &real);
    FUZZ_CHECK_STATUS(rc);
    FUZZ_CHECK(vault_item_count(v, &count) == VAULT_OK);
    /* A file the dry run refused outright is refused again; one whose dry
     * run listed problems is refused with VAULT_E_FORMAT. */
    if (dry_rc != VAULT_OK)
        FUZZ_CHECK(rc == dry_rc);
    if (rc != VAULT_OK)
        FUZZ_CHECK(count == 0);
    if (rc == VAULT_OK) {
        FUZZ_CHECK((double)count == imported(real));
        FUZZ_CHECK(dry != NULL && imported(dry) == imported(real));
        check_exports(v, count);
    }
    vault_free(dry);
    vault_free(real);
    vault_close(v);
    return 0;
}
