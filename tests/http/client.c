/* End to end over HTTP: two devices register, log in, push and pull through
 * vault_httpd with vault_client_connect_http(). */
#include "http_tests.h"
#include "world.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PASSWORD TW_PASSWORD
#define EMAIL "grace@example.com"

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
    tw_world *w = tw_new("http-client", NULL);
    tw_serve_http(w);
    vault_client *a = tw_device_open(w, "a")->c;
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

    vault_client *b = tw_device_open(w, "b")->c;
    assert_int_equal(vault_client_set_secret_key(b, tw_secret_key(w, EMAIL)), VAULT_OK);
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

    vault_client *c = tw_device_open(w, "c")->c;
    assert_int_equal(vault_client_login(c, EMAIL, PASSWORD), VAULT_E_STATE); /* no Secret Key */
    assert_int_equal(vault_client_set_secret_key(c, tw_secret_key(w, EMAIL)), VAULT_OK);
    assert_int_equal(vault_client_login(c, EMAIL, "wrong password"), VAULT_E_AUTH);
    vault_free(id);
    tw_free(w);
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
    return cmocka_run_group_tests_name("http_client", tests, NULL, NULL);
}
