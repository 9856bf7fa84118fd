/* End to end over HTTP: two devices register, log in, push and pull through
 * vault_httpd with vault_client_connect_http(). */
#include "http_tests.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PASSWORD "correct horse battery staple"
#define EMAIL "grace@example.com"

static http_fixture fx;

static int setup(void **state)
{
    (void)state;
    http_fixture_start(&fx, "client.db");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    http_fixture_stop(&fx);
    return 0;
}

static vault_client *open_client(const char *name)
{
    const char *path = test_path(name);
    unlink(path);
    vault_client *c = NULL;
    assert_int_equal(vault_client_open(&c, path, 0), VAULT_OK);
    assert_int_equal(vault_client_connect_http(c, fx.base_url, 0), VAULT_OK);
    return c;
}

static void expect_title(vault_client *c, const char *id, const char *title)
{
    vault *v = NULL;
    assert_int_equal(vault_client_vault(c, &v), VAULT_OK);
    char *json = NULL;
    assert_int_equal(vault_item_get(v, id, &json), VAULT_OK);
    char want[128];
    snprintf(want, sizeof want, "\"title\":\"%s\"", title);
    assert_non_null(strstr(json, want));
    vault_free(json);
}

static void test_http_client__two_devices_sync_through_the_daemon(void **state)
{
    (void)state;
    vault_client *a = open_client("device-a.db");
    assert_int_equal(vault_client_create(a, PASSWORD, TEST_OPS, TEST_MEM), VAULT_OK);
    vault *va = NULL;
    assert_int_equal(vault_client_vault(a, &va), VAULT_OK);
    char *id = NULL;
    assert_int_equal(vault_item_add(va, "{\"type\":\"login\",\"title\":\"GitHub\"}", &id),
                     VAULT_OK);
    assert_int_equal(vault_client_save(a), VAULT_OK);
    int rc = vault_client_register(a, EMAIL);
    if (rc != VAULT_OK)
        print_error("register: %s\n", vault_client_errmsg(a));
    assert_int_equal(rc, VAULT_OK);

    vault_client *b = open_client("device-b.db");
    char *kit = NULL, secret_key[40] = "";
    assert_int_equal(vault_client_emergency_kit(a, &kit), VAULT_OK);
    sscanf(strstr(kit, "ZK1-"), "%39s", secret_key);
    vault_free(kit);
    assert_int_equal(vault_client_set_secret_key(b, secret_key), VAULT_OK);
    rc = vault_client_login(b, EMAIL, PASSWORD);
    if (rc != VAULT_OK)
        print_error("login: %s\n", vault_client_errmsg(b));
    assert_int_equal(rc, VAULT_OK);
    expect_title(b, id, "GitHub");

    assert_int_equal(vault_item_update(va, id, "{\"type\":\"login\",\"title\":\"GitHub work\"}"),
                     VAULT_OK);
    assert_int_equal(vault_client_save(a), VAULT_OK);
    assert_int_equal(vault_client_sync(a), VAULT_OK);
    assert_int_equal(vault_client_pull(b), VAULT_OK);
    expect_title(b, id, "GitHub work");
    uint64_t ra = 0, rb = 0;
    assert_int_equal(vault_client_revision(a, &ra), VAULT_OK);
    assert_int_equal(vault_client_revision(b, &rb), VAULT_OK);
    assert_int_equal(ra, 2);
    assert_int_equal(rb, 2);

    vault_client *c = open_client("device-c.db");
    assert_int_equal(vault_client_login(c, EMAIL, PASSWORD), VAULT_E_STATE); /* no Secret Key */
    assert_int_equal(vault_client_set_secret_key(c, secret_key), VAULT_OK);
    assert_int_equal(vault_client_login(c, EMAIL, "wrong password"), VAULT_E_AUTH);
    vault_client_close(c);
    vault_free(id);
    vault_client_close(b);
    vault_client_close(a);
}

static void test_http_client__insecure_url_is_refused_by_connect(void **state)
{
    (void)state;
    const char *path = test_path("device-d.db");
    unlink(path);
    vault_client *d = NULL;
    assert_int_equal(vault_client_open(&d, path, 0), VAULT_OK);
    assert_int_equal(vault_client_connect_http(d, "http://example.com", 0), VAULT_E_INSECURE);
    assert_int_equal(vault_client_connect_http(d, "ftp://127.0.0.1", 0), VAULT_E_INVALID);
    vault_client_close(d);
}

int http_run_client_tests(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_client__two_devices_sync_through_the_daemon),
        cmocka_unit_test(test_http_client__insecure_url_is_refused_by_connect),
    };
    return cmocka_run_group_tests_name("http_client", tests, setup, teardown);
}
