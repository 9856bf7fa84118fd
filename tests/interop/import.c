/* Import of each format from realistic samples (tests/vectors/interop). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

static void counts(const cJSON *report, double imported, double dups, double skipped)
{
    assert_int_equal((int)it_num(report, "imported"), (int)imported);
    assert_int_equal((int)it_num(report, "duplicates"), (int)dups);
    assert_int_equal((int)it_num(report, "skipped"), (int)skipped);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(report, "problems")), 0);
}

static void test_interop_import__bitwarden_json_maps_every_type(void **state)
{
    (void)state;
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    cJSON *r = it_import(v, "bitwarden-json", "bitwarden.json", VAULT_OK);
    counts(r, 5, 1, 1); /* a second "Wi-Fi at home"; one item in the trash */
    assert_int_equal(it_count(v), 5);
    cJSON *list = it_items(v);
    const cJSON *gh = it_titled(list, "GitHub");
    assert_string_equal(it_str(gh, "type"), "login");
    assert_string_equal(it_field(gh, "username"), "ada");
    assert_string_equal(it_field(gh, "password"), "correct horse battery staple");
    assert_int_equal(it_hidden(gh, "password"), 1);
    assert_int_equal(it_hidden(gh, "username"), 0);
    assert_string_equal(it_field(gh, "url"), "https://github.com/login");
    assert_string_equal(it_field(gh, "url 2"), "https://gist.github.com");
    assert_int_equal(it_hidden(gh, "totp"), 1);
    assert_non_null(strstr(it_field(gh, "totp"), "secret=JBSWY3DPEHPK3PXP"));
    assert_string_equal(it_field_type(gh, "totp"), "totp"); /* the library makes codes from it */
    char *code = NULL;
    uint32_t left = 0;
    assert_int_equal(vault_totp_code(it_field(gh, "totp"), 1700000000, &code, &left), VAULT_OK);
    vault_free(code);
    assert_string_equal(it_field(gh, "note"), "recovery codes in the safe,\n\"second\" line");
    assert_string_equal(it_field(gh, "Recovery email"), "ada@example.org");
    assert_int_equal(it_hidden(gh, "PIN"), 1);
    assert_string_equal(it_field(gh, "2FA enabled"), "true");
    assert_null(it_field(gh, "Linked user")); /* a link to another field: nothing to copy */
    assert_true(it_has_tag(gh, "Work") && it_has_tag(gh, "favorite"));
    const cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(gh, "history"), 0);
    assert_string_equal(it_str(h, "value"), "old-pass-1");
    assert_true(it_num(gh, "created") == 1668464000000.0);
    assert_true(it_num(gh, "updated") == 1683016200123.0);
    const cJSON *dr = it_titled(list, "Praxis Dr. Müller 🩺");
    assert_string_equal(it_field(dr, "username"), "müller@例え.jp");
    assert_string_equal(it_field(dr, "password"), "pässwörd€");
    assert_true(it_has_tag(dr, "Ärzte"));
    assert_null(it_field(dr, "note")); /* null notes: no empty field */
    const cJSON *card = it_titled(list, "Visa");
    assert_string_equal(it_str(card, "type"), "card");
    assert_int_equal(it_hidden(card, "number"), 1);
    assert_int_equal(it_hidden(card, "code"), 1);
    assert_int_equal(it_hidden(card, "cardholderName"), 0);
    const cJSON *me = it_titled(list, "Me");
    assert_string_equal(it_str(me, "type"), "identity");
    assert_int_equal(it_hidden(me, "ssn"), 1);
    assert_string_equal(it_field(me, "lastName"), "Lovelace");
    assert_null(it_field(me, "phone"));
    assert_string_equal(it_str(it_titled(list, "Wi-Fi at home"), "type"), "note");
    cJSON_Delete(list);
    cJSON_Delete(r);
    vault_close(v);
}

static void test_interop_import__bitwarden_json_refuses_encrypted_and_foreign(void **state)
{
    (void)state;
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    const char *enc = "{\"encrypted\": true, \"encKeyValidation_DO_NOT_EDIT\": \"2.x\", \"items\": []}";
    it_import_data(v, "bitwarden-json", (const uint8_t *)enc, strlen(enc), 0, VAULT_E_FORMAT);
    it_error_has("encrypted Bitwarden export");
    const char *other = "{\"format\": 1, \"rows\": []}";
    it_import_data(v, "bitwarden-json", (const uint8_t *)other, strlen(other), 0, VAULT_E_FORMAT);
    it_error_has("line 1: not a Bitwarden JSON export");
    /* A broken file names the line where parsing stopped; nothing is added. */
    const char *broken = "{\"encrypted\": false,\n \"items\": [\n {\"type\": 1, \"name\": \"a\"},\n"
                         " {\"type\": 1, \"name\": \"b\" \"login\": {}}\n]}";
    it_import_data(v, "bitwarden-json", (const uint8_t *)broken, strlen(broken), 0,
                   VAULT_E_FORMAT);
    it_error_has("line 4: malformed JSON");
    /* An item that is no Bitwarden item is a problem of that item. */
    const char *bad = "{\"items\": [{\"type\": 1, \"name\": \"ok\"}, {\"type\": 9, \"name\": \"x\"}]}";
    it_import_data(v, "bitwarden-json", (const uint8_t *)bad, strlen(bad), 0, VAULT_E_FORMAT);
    it_error_has("item 2:");
    assert_int_equal(it_count(v), 0);
    vault_close(v);
}

static void test_interop_import__bitwarden_csv_quotes_fields_and_empty_rows(void **state)
{
    (void)state;
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    cJSON *r = it_import(v, "bitwarden-csv", "bitwarden.csv", VAULT_OK);
    counts(r, 3, 1, 1);
    cJSON *list = it_items(v);
    const cJSON *gh = it_titled(list, "GitHub");
    assert_string_equal(it_field(gh, "note"), "recovery codes in the safe,\r\n\"second\" line");
    assert_string_equal(it_field(gh, "Recovery email"), "ada@example.org");
    assert_int_equal(it_hidden(gh, "PIN"), 1);
    assert_string_equal(it_field(gh, "totp"), "JBSWY3DPEHPK3PXP");
    assert_true(it_has_tag(gh, "Work") && it_has_tag(gh, "favorite"));
    assert_string_equal(it_str(it_titled(list, "Wi-Fi at home"), "type"), "note");
    const cJSON *dr = it_titled(list, "Praxis Dr. Müller 🩺");
    assert_string_equal(it_field(dr, "password"), "pässwörd€");
    assert_true(it_has_tag(dr, "Ärzte"));
    /* The report names each row's line: the duplicate starts on line 8 (quoted values span lines). */
    const cJSON *e;
    int seen_dup = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(r, "items"))
        if (strcmp(it_str(e, "status"), "duplicate") == 0) {
            assert_int_equal((int)it_num(e, "line"), 8);
            seen_dup = 1;
        }
    assert_true(seen_dup);
    cJSON_Delete(list);
    cJSON_Delete(r);
    vault_close(v);
}

static void test_interop_import__chrome_csv(void **state)
{
    (void)state;
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    cJSON *r = it_import(v, "chrome-csv", "chrome.csv", VAULT_OK);
    counts(r, 5, 1, 0);
    cJSON *list = it_items(v);
    const cJSON *gh = it_titled(list, "github.com");
    assert_string_equal(it_field(gh, "password"), "p,ass\"word");
    assert_null(it_field(gh, "note")); /* empty cells make no field */
    assert_string_equal(it_field(it_titled(list, "accounts.google.com"), "note"), "two\nlines");
    /* No name: the URL's host is the title. */
    assert_string_equal(it_field(it_titled(list, "news.ycombinator.com"), "username"), "ada");
    const cJSON *ex = it_titled(list, "example.com");
    assert_null(it_field(ex, "username"));
    assert_string_equal(it_field(ex, "url"), "https://example.com");
    assert_string_equal(it_field(it_titled(list, "bücher.de"), "password"), "日本語パスワード");
    cJSON_Delete(list);
    cJSON_Delete(r);
    vault_close(v);
}

static void test_interop_import__firefox_csv_titles_from_hosts(void **state)
{
    (void)state;
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    cJSON *r = it_import(v, "firefox-csv", "firefox.csv", VAULT_OK);
    counts(r, 3, 0, 0);
    cJSON *list = it_items(v);
    const cJSON *gh = it_titled(list, "github.com");
    assert_string_equal(it_field(gh, "password"), "p,ass\"word");
    assert_string_equal(it_field(gh, "formActionOrigin"), "https://github.com"); /* kept */
    assert_null(it_field(gh, "guid"));
    assert_true(it_num(gh, "created") == 1668464000000.0);
    assert_true(it_num(gh, "updated") == 1680000000000.0);
    assert_string_equal(it_field(it_titled(list, "intranet.example.com"), "httpRealm"),
                        "Intranet Realm");
    assert_null(it_field(it_titled(list, "mail.example.org"), "username"));
    cJSON_Delete(list);
    cJSON_Delete(r);
    vault_close(v);
}

static void test_interop_import__safari_csv_with_bom_and_crlf(void **state)
{
    (void)state;
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    cJSON *r = it_import(v, "safari-csv", "safari.csv", VAULT_OK);
    counts(r, 3, 0, 0);
    cJSON *list = it_items(v);
    const cJSON *gh = it_titled(list, "github.com (ada)");
    assert_int_equal(it_hidden(gh, "totp"), 1);
    assert_string_equal(it_field(gh, "url"), "https://github.com/");
    const cJSON *a = it_titled(list, "Ärzte-Portal");
    assert_string_equal(it_field(a, "note"), "Note with \"quotes\"\r\nand a second line");
    assert_string_equal(it_field(a, "password"), "ä€");
    cJSON_Delete(list);
    cJSON_Delete(r);
    vault_close(v);
}

static void test_interop_import__lastpass_csv_notes_and_groups(void **state)
{
    (void)state;
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    cJSON *r = it_import(v, "lastpass-csv", "lastpass.csv", VAULT_OK);
    counts(r, 3, 1, 0);
    cJSON *list = it_items(v);
    const cJSON *gh = it_titled(list, "GitHub");
    assert_true(it_has_tag(gh, "Work/Dev") && it_has_tag(gh, "favorite"));
    assert_string_equal(it_field(gh, "totp"), "JBSWY3DPEHPK3PXP");
    assert_string_equal(it_field(gh, "note"), "recovery codes in the safe");
    const cJSON *db = it_titled(list, "Database server");
    assert_string_equal(it_str(db, "type"), "note");
    assert_null(it_field(db, "url")); /* LastPass's "http://sn" marker is not a URL */
    assert_non_null(strstr(it_field(db, "note"), "Hostname:db1"));
    assert_false(it_has_tag(it_titled(list, "Bank ☺"), "favorite"));
    cJSON_Delete(list);
    cJSON_Delete(r);
    vault_close(v);
}

static void test_interop_import__1password_csv_keeps_unknown_columns(void **state)
{
    (void)state;
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    cJSON *r = it_import(v, "1password-csv", "1password.csv", VAULT_OK);
    counts(r, 3, 0, 0);
    cJSON *list = it_items(v);
    const cJSON *gh = it_titled(list, "GitHub");
    assert_true(it_has_tag(gh, "work") && it_has_tag(gh, "dev") && it_has_tag(gh, "favorite"));
    assert_string_equal(it_field(gh, "Security question"), "First pet?");
    assert_string_equal(it_field(gh, "note"), "recovery codes\nin the safe");
    assert_true(it_has_tag(it_titled(list, "Old mail"), "archived"));
    assert_string_equal(it_field(it_titled(list, "Ärzte"), "username"), "Bö");
    cJSON_Delete(list);
    cJSON_Delete(r);
    vault_close(v);
}

static void test_interop_import__generic_csv(void **state)
{
    (void)state;
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    cJSON *r = it_import(v, "csv", "generic.csv", VAULT_OK);
    counts(r, 2, 0, 0);
    cJSON *list = it_items(v);
    const cJSON *door = it_titled(list, "Door");
    assert_true(it_has_tag(door, "home") && it_has_tag(door, "office"));
    assert_string_equal(it_field_type(door, "totp"), "text"); /* not a TOTP secret: kept as text */
    assert_int_equal(it_hidden(door, "totp"), 1);
    assert_int_equal(it_hidden(door, "pin"), 1);
    assert_string_equal(it_field(door, "Server room"), "B2");
    assert_int_equal(it_hidden(door, "Server room"), 0);
    assert_string_equal(it_str(it_titled(list, "Recipe"), "type"), "note");
    cJSON_Delete(list);
    cJSON_Delete(r);
    vault_close(v);
}

static void test_interop_import__malformed_csv_imports_nothing(void **state)
{
    (void)state;
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    it_import(v, "chrome-csv", "malformed.csv", VAULT_E_FORMAT);
    it_error_has("line 3: 3 values, but the header has 5 columns");
    it_error_has("2 problems");
    assert_int_equal(it_count(v), 0);
    /* A dry run lists every problem with its line. */
    size_t len;
    uint8_t *data = it_sample("malformed.csv", &len);
    cJSON *r = it_import_data(v, "chrome-csv", data, len, VAULT_IMPORT_DRY_RUN, VAULT_OK);
    free(data);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(r, "problems");
    assert_int_equal(cJSON_GetArraySize(p), 2);
    assert_int_equal((int)it_num(cJSON_GetArrayItem(p, 0), "line"), 3);
    assert_int_equal((int)it_num(cJSON_GetArrayItem(p, 1), "line"), 5);
    cJSON_Delete(r);
    /* An unterminated quote: the line where the value opened. */
    it_import(v, "chrome-csv", "unterminated.csv", VAULT_E_FORMAT);
    it_error_has("line 3: a quoted value is never closed");
    assert_int_equal(it_count(v), 0);
    vault_close(v);
}

static void test_interop_import__wrong_and_unknown_format(void **state)
{
    (void)state;
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    it_import(v, "firefox-csv", "chrome.csv", VAULT_E_FORMAT);
    it_error_has("line 1: not a firefox-csv file: no \"httprealm\" column");
    it_import(v, "keepass-xml", "bitwarden.json", VAULT_E_FORMAT);
    it_error_has("line 1: malformed XML");
    it_import(v, "bitwarden-json", "chrome.csv", VAULT_E_FORMAT);
    it_error_has("line 1: malformed JSON");
    it_import(v, "zkvault", "bitwarden.json", VAULT_E_FORMAT);
    it_import(v, "1password-csv", "bitwarden.json", VAULT_E_FORMAT);
    it_import(v, "pwsafe", "chrome.csv", VAULT_E_INVALID);
    it_error_has("unknown import format");
    it_import_data(v, "chrome-csv", (const uint8_t *)"", 0, 0, VAULT_E_FORMAT);
    it_error_has("empty file");
    assert_int_equal(it_count(v), 0);
    vault_close(v);
}

static void test_interop_import__dry_run_and_reimport(void **state)
{
    (void)state;
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    size_t len;
    uint8_t *data = it_sample("chrome.csv", &len);
    cJSON *dry = it_import_data(v, "chrome-csv", data, len, VAULT_IMPORT_DRY_RUN, VAULT_OK);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dry, "dry_run")));
    assert_int_equal((int)it_num(dry, "imported"), 5);
    assert_int_equal(it_count(v), 0);
    cJSON *real = it_import_data(v, "chrome-csv", data, len, 0, VAULT_OK);
    assert_int_equal((int)it_num(real, "imported"), 5);
    assert_int_equal(it_count(v), 5);
    /* The same file again: every row is already there. */
    cJSON *again = it_import_data(v, "chrome-csv", data, len, 0, VAULT_OK);
    assert_int_equal((int)it_num(again, "imported"), 0);
    assert_int_equal((int)it_num(again, "duplicates"), 6);
    assert_int_equal(it_count(v), 5);
    /* The report has titles, never values. */
    char *text = cJSON_PrintUnformatted(real);
    assert_null(strstr(text, "hn-pass"));
    assert_null(strstr(text, "g00gle"));
    free(text);
    cJSON_Delete(dry);
    cJSON_Delete(real);
    cJSON_Delete(again);
    free(data);
    vault_close(v);
}

static void test_interop_import__duplicate_of_an_existing_item(void **state)
{
    (void)state;
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    /* The same fields in another order is the same item. */
    const char *item = "{\"type\":\"login\",\"title\":\"github.com\",\"fields\":["
                       "{\"name\":\"password\",\"value\":\"p,ass\\\"word\",\"hidden\":true},"
                       "{\"name\":\"url\",\"value\":\"https://github.com/login\",\"hidden\":false},"
                       "{\"name\":\"username\",\"value\":\"ada\",\"hidden\":false}]}";
    assert_int_equal(vault_item_add(v, item, NULL), VAULT_OK);
    cJSON *r = it_import(v, "chrome-csv", "chrome.csv", VAULT_OK);
    counts(r, 4, 2, 0);
    assert_int_equal(it_count(v), 5);
    cJSON_Delete(r);
    vault_close(v);
}

static void test_interop_import__row_over_a_limit_names_its_line(void **state)
{
    (void)state;
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    size_t n = 2000;
    char *csv = malloc(n + 200);
    assert_non_null(csv);
    int k = snprintf(csv, 200, "name,url,username,password\nok,https://a,b,c\n");
    memset(csv + k, 'x', n);
    snprintf(csv + k + n, 100, ",https://b,c,d\nok2,https://c,d,e\n");
    it_import_data(v, "chrome-csv", (const uint8_t *)csv, strlen(csv), 0, VAULT_E_FORMAT);
    it_error_has("line 3: item: ");
    assert_int_equal(it_count(v), 0);
    free(csv);
    vault_close(v);
}

static void test_interop_import__invalid_utf8_is_a_problem(void **state)
{
    (void)state;
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    const char *csv = "name,url,username,password\nok,https://a,b,c\nbad\xC3(,https://b,c,d\n";
    it_import_data(v, "chrome-csv", (const uint8_t *)csv, strlen(csv), 0, VAULT_E_FORMAT);
    it_error_has("line 3:");
    assert_int_equal(it_count(v), 0);
    vault_close(v);
}

static void test_interop_import__formats_list(void **state)
{
    (void)state;
    char *json = NULL;
    assert_int_equal(vault_interop_formats(&json), VAULT_OK);
    cJSON *list = cJSON_Parse(json);
    vault_free(json);
    int imports = 0, exports = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, list) {
        imports += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "import"));
        exports += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(f, "export"));
        if (strcmp(it_str(f, "name"), "zkvault-encrypted") == 0)
            assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(f, "plaintext")));
    }
    assert_int_equal(imports, 11);
    assert_int_equal(exports, 5);
    cJSON_Delete(list);
}

int it_run_import(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interop_import__bitwarden_json_maps_every_type),
        cmocka_unit_test(test_interop_import__bitwarden_json_refuses_encrypted_and_foreign),
        cmocka_unit_test(test_interop_import__bitwarden_csv_quotes_fields_and_empty_rows),
        cmocka_unit_test(test_interop_import__chrome_csv),
        cmocka_unit_test(test_interop_import__firefox_csv_titles_from_hosts),
        cmocka_unit_test(test_interop_import__safari_csv_with_bom_and_crlf),
        cmocka_unit_test(test_interop_import__lastpass_csv_notes_and_groups),
        cmocka_unit_test(test_interop_import__1password_csv_keeps_unknown_columns),
        cmocka_unit_test(test_interop_import__generic_csv),
        cmocka_unit_test(test_interop_import__malformed_csv_imports_nothing),
        cmocka_unit_test(test_interop_import__wrong_and_unknown_format),
        cmocka_unit_test(test_interop_import__dry_run_and_reimport),
        cmocka_unit_test(test_interop_import__duplicate_of_an_existing_item),
        cmocka_unit_test(test_interop_import__row_over_a_limit_names_its_line),
        cmocka_unit_test(test_interop_import__invalid_utf8_is_a_problem),
        cmocka_unit_test(test_interop_import__formats_list),
    };
    return cmocka_run_group_tests_name("interop_import", tests, NULL, NULL);
}
