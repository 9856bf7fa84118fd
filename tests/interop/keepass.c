/* KeePass 2 XML with the real KeePassXC: its export imported here, and our
 * export through `keepassxc-cli import` and `export` and back. Skipped where
 * keepassxc-cli is not installed (scripts/deps.sh --with-extras installs it). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "itest.h"

static const char *dir;

static int have_keepassxc(void)
{
    return system("command -v keepassxc-cli >/dev/null 2>&1") == 0;
}

/* Runs a shell command in the test directory, headless; asserts success. */
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    char cmd[4096];
    int n = snprintf(cmd, sizeof cmd, "cd '%s' && export QT_QPA_PLATFORM=offscreen && ", dir);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof cmd - (size_t)n, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "failed (%d): %s\n", rc, cmd);
    assert_int_equal(rc, 0);
}

static void write_file(const char *name, const uint8_t *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static uint8_t *read_back(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    uint8_t *data = test_read_file(path, len);
    assert_non_null(data);
    return data;
}

static int setup(void **state)
{
    (void)state;
    dir = test_path("keepassxc");
    mkdir(dir, 0700);
    return 0;
}

static void test_interop_keepass__imports_what_keepassxc_exports(void **state)
{
    (void)state;
    if (!have_keepassxc())
        skip();
    sh("rm -f db.kdbx && printf 'pw\\npw\\n' | keepassxc-cli import -q -p -t 100 "
       "'%s/interop/keepass-seed.xml' db.kdbx", VAULT_TEST_VECTORS);
    sh("printf 'pw\\n' | keepassxc-cli mkdir -q db.kdbx Work");
    sh("printf 'pw\\n' | keepassxc-cli mkdir -q db.kdbx Work/Email");
    sh("printf 'pw\\nsecret1\\n' | keepassxc-cli add -q -u ada --url https://github.com "
       "--notes \"$(printf 'line1\\nline2')\" -p db.kdbx Work/GitHub");
    sh("printf 'pw\\nsecret2\\n' | keepassxc-cli edit -q -p db.kdbx Work/GitHub");
    sh("printf 'pw\\nä€\\n' | keepassxc-cli add -q -u 'Bö' -p db.kdbx 'Work/Email/Ärzte'");
    sh("printf 'pw\\nold\\n' | keepassxc-cli add -q -u old -p db.kdbx Work/Old");
    sh("printf 'pw\\n' | keepassxc-cli rm -q db.kdbx Work/Old"); /* to the recycle bin */
    sh("printf 'pw\\n' | keepassxc-cli export -q -f xml db.kdbx > out.xml");
    size_t len;
    uint8_t *xml = read_back("out.xml", &len);
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    cJSON *r = it_import_data(v, "keepass-xml", xml, len, 0, VAULT_OK);
    assert_int_equal((int)it_num(r, "imported"), 4);
    assert_int_equal((int)it_num(r, "skipped"), 1); /* the recycle bin's entry */
    cJSON *list = it_items(v);
    const cJSON *bank = it_titled(list, "Bank & Co");
    assert_string_equal(it_field(bank, "password"), "s3cret<>");
    assert_int_equal(it_hidden(bank, "password"), 1);
    assert_string_equal(it_field(bank, "PIN"), "1234");
    assert_int_equal(it_hidden(bank, "PIN"), 1);
    assert_string_equal(it_field(bank, "branch"), "Main st");
    assert_int_equal(it_hidden(bank, "branch"), 0);
    assert_string_equal(it_field(bank, "empty attribute"), "");
    assert_non_null(strstr(it_field(bank, "totp"), "secret=JBSWY3DPEHPK3PXP"));
    assert_int_equal(it_hidden(bank, "totp"), 1);
    assert_true(it_has_tag(bank, "work") && it_has_tag(bank, "a b"));
    const cJSON *h = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(bank, "history"), 0);
    assert_string_equal(it_str(h, "name"), "PIN");
    assert_string_equal(it_str(h, "value"), "0000");
    assert_true(it_num(h, "changed") == 1640995200000.0);
    assert_true(it_num(bank, "created") == 1700000000000.0);
    const cJSON *gh = it_titled(list, "GitHub");
    assert_string_equal(it_field(gh, "password"), "secret2");
    assert_string_equal(it_field(gh, "note"), "line1\nline2");
    assert_string_equal(it_field(gh, "url"), "https://github.com");
    assert_true(it_has_tag(gh, "Work"));
    h = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(gh, "history"), 0);
    assert_string_equal(it_str(h, "value"), "secret1");
    const cJSON *dr = it_titled(list, "Ärzte");
    assert_string_equal(it_field(dr, "password"), "ä€");
    assert_true(it_has_tag(dr, "Work/Email"));
    const cJSON *note = it_titled(list, "Shopping list");
    assert_string_equal(it_str(note, "type"), "note");
    assert_string_equal(it_field(note, "note"), "milk\n日本茶");
    cJSON_Delete(list);
    cJSON_Delete(r);
    free(xml);
    vault_close(v);
}

static void test_interop_keepass__round_trip_through_keepassxc(void **state)
{
    (void)state;
    if (!have_keepassxc())
        skip();
    vault *v = NULL;
    assert_int_equal(vault_new(&v), VAULT_OK);
    cJSON_Delete(it_import(v, "bitwarden-json", "bitwarden.json", VAULT_OK));
    cJSON_Delete(it_import(v, "csv", "generic.csv", VAULT_OK));
    uint8_t *out = NULL;
    size_t len = 0;
    assert_int_equal(vault_export(v, "keepass-xml", NULL, 0, 0, &out, &len), VAULT_OK);
    write_file("ours.xml", out, len);
    vault_free(out);
    sh("rm -f rt.kdbx && printf 'pw\\npw\\n' | keepassxc-cli import -q -p -t 100 ours.xml rt.kdbx");
    sh("printf 'pw\\n' | keepassxc-cli export -q -f xml rt.kdbx > theirs.xml");
    uint8_t *xml = read_back("theirs.xml", &len);
    vault *w = NULL;
    assert_int_equal(vault_new(&w), VAULT_OK);
    cJSON *r = it_import_data(w, "keepass-xml", xml, len, 0, VAULT_OK);
    cJSON *a = it_items(v), *b = it_items(w);
    it_same_items(a, b, 0, 1);
    cJSON_Delete(a);
    cJSON_Delete(b);
    cJSON_Delete(r);
    free(xml);
    vault_close(v);
    vault_close(w);
}

int it_run_keepass(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interop_keepass__imports_what_keepassxc_exports),
        cmocka_unit_test(test_interop_keepass__round_trip_through_keepassxc),
    };
    return cmocka_run_group_tests_name("interop_keepass", tests, setup, NULL);
}
