/* The client's local part: create, unlock, lock, save, reopen; the store
 * holds nothing readable. */
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define PASSWORD "correct horse battery staple"

static const char *item_json =
    "{\"type\":\"login\",\"title\":\"Zebra Bank\",\"fields\":["
    "{\"name\":\"username\",\"value\":\"ada.lovelace@example.org\",\"hidden\":false},"
    "{\"name\":\"password\",\"value\":\"Tr0ub4dor&3-unique\",\"hidden\":true}],"
    "\"tags\":[\"finance\"]}";

static vault_client *create_client(const char *name)
{
    vault_client *c = NULL;
    unlink(name);
    assert_int_equal(vault_client_open(&c, name, 0), VAULT_OK);
    assert_int_equal(vault_client_create(c, PASSWORD, TEST_OPS, TEST_MEM), VAULT_OK);
    return c;
}

static char *add_item(vault_client *c, const char *json)
{
    vault *v = NULL;
    char *id = NULL;
    assert_int_equal(vault_client_vault(c, &v), VAULT_OK);
    assert_int_equal(vault_item_add(v, json, &id), VAULT_OK);
    return id;
}

static void test_client_local__create_save_reopen_unlock(void **state)
{
    (void)state;
    const char *path = test_path("reopen.db");
    vault_client *c = create_client(path);
    char *id = add_item(c, item_json);
    assert_int_equal(vault_client_save(c), VAULT_OK);
    vault_client_close(c);

    assert_int_equal(vault_client_open(&c, path, 0), VAULT_OK);
    int32_t unlocked = 1;
    assert_int_equal(vault_client_is_unlocked(c, &unlocked), VAULT_OK);
    assert_int_equal(unlocked, 0);
    vault *v = NULL;
    assert_int_equal(vault_client_vault(c, &v), VAULT_E_LOCKED);
    assert_null(v);
    assert_int_equal(vault_client_unlock(c, PASSWORD), VAULT_OK);
    assert_int_equal(vault_client_vault(c, &v), VAULT_OK);
    char *json = NULL;
    assert_int_equal(vault_item_get(v, id, &json), VAULT_OK);
    assert_non_null(strstr(json, "Zebra Bank"));
    assert_non_null(strstr(json, "Tr0ub4dor&3-unique"));
    vault_free(json);
    vault_free(id);
    vault_client_close(c);
}

static void test_client_local__wrong_password_is_auth(void **state)
{
    (void)state;
    const char *path = test_path("wrongpw.db");
    vault_client *c = create_client(path);
    vault_client_lock(c);
    assert_int_equal(vault_client_unlock(c, "correct horse battery stapl"), VAULT_E_AUTH);
    assert_string_equal(vault_client_errmsg(c), "wrong password");
    int32_t unlocked = 1;
    vault_client_is_unlocked(c, &unlocked);
    assert_int_equal(unlocked, 0);
    assert_int_equal(vault_client_unlock(c, PASSWORD), VAULT_OK);
    vault_client_close(c);
}

static void test_client_local__lock_discards_unsaved_changes(void **state)
{
    (void)state;
    const char *path = test_path("unsaved.db");
    vault_client *c = create_client(path);
    char *id = add_item(c, item_json);
    assert_int_equal(vault_client_lock(c), VAULT_OK);
    assert_int_equal(vault_client_unlock(c, PASSWORD), VAULT_OK);
    vault *v = NULL;
    uint64_t count = 99;
    assert_int_equal(vault_client_vault(c, &v), VAULT_OK);
    assert_int_equal(vault_item_count(v, &count), VAULT_OK);
    assert_int_equal(count, 0);
    vault_free(id);
    vault_client_close(c);
}

static void test_client_local__create_refuses_existing_and_weak_kdf(void **state)
{
    (void)state;
    const char *path = test_path("exists.db");
    vault_client *c = create_client(path);
    assert_int_equal(vault_client_create(c, PASSWORD, TEST_OPS, TEST_MEM), VAULT_E_EXISTS);
    vault_client_close(c);

    unlink(test_path("weak.db"));
    assert_int_equal(vault_client_open(&c, test_path("weak.db"), 0), VAULT_OK);
    assert_int_equal(vault_client_create(c, PASSWORD, 1, TEST_MEM), VAULT_E_WEAK_KDF);
    assert_int_equal(vault_client_create(c, PASSWORD, TEST_OPS, TEST_MEM - 1), VAULT_E_WEAK_KDF);
    assert_int_equal(vault_client_create(c, "", TEST_OPS, TEST_MEM), VAULT_E_INVALID);
    assert_int_equal(vault_client_create(c, NULL, TEST_OPS, TEST_MEM), VAULT_E_INVALID);
    assert_int_equal(vault_client_unlock(c, PASSWORD), VAULT_E_NOT_FOUND);
    char *id = NULL;
    assert_int_equal(vault_client_account_id(c, &id), VAULT_E_NOT_FOUND);
    vault_client_close(c);
}

static void test_client_local__store_holds_no_plaintext(void **state)
{
    (void)state;
    const char *path = test_path("plain.db");
    vault_client *c = create_client(path);
    char *id = add_item(c, item_json);
    assert_int_equal(vault_client_save(c), VAULT_OK);
    vault_client_close(c);
    vault_free(id);

    /* Check the database and any WAL / journal files beside it. */
    const char *suffixes[] = {"", "-wal", "-journal", "-shm"};
    const char *secrets[] = {"Zebra Bank", "ada.lovelace", "Tr0ub4dor", "finance", "username",
                             PASSWORD};
    for (size_t s = 0; s < sizeof suffixes / sizeof suffixes[0]; s++) {
        char file[900];
        size_t len = 0;
        snprintf(file, sizeof file, "%s%s", path, suffixes[s]);
        uint8_t *bytes = test_read_file(file, &len);
        if (bytes == NULL)
            continue;
        for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
            assert_false(test_contains(bytes, len, secrets[i], strlen(secrets[i])));
        free(bytes);
    }
}

static void test_client_local__open_rejects_bad_arguments_and_files(void **state)
{
    (void)state;
    vault_client *c = (vault_client *)1;
    assert_int_equal(vault_client_open(&c, NULL, 0), VAULT_E_INVALID);
    assert_null(c);
    assert_int_equal(vault_client_open(&c, test_path("x.db"), 7), VAULT_E_INVALID);
    assert_int_equal(vault_client_open(&c, "/nonexistent-dir/x/y.db", 0), VAULT_E_IO);
    assert_null(c);
    FILE *f = fopen(test_path("garbage.db"), "wb");
    fputs("this is not a database, just some text long enough to matter............", f);
    fclose(f);
    assert_int_equal(vault_client_open(&c, test_path("garbage.db"), 0), VAULT_E_IO);
    assert_null(c);
    vault_client_close(NULL);
}

static void test_client_local__unlock_after_reopen_in_new_process(void **state)
{
    (void)state;
    const char *path = test_path("fork.db");
    vault_client *c = create_client(path);
    char *id = add_item(c, item_json);
    assert_int_equal(vault_client_save(c), VAULT_OK);
    vault_client_close(c);
    /* A child process opens the file fresh: nothing is shared but the file. */
    pid_t pid = fork();
    if (pid == 0) {
        vault_client *child = NULL;
        vault *v = NULL;
        char *json = NULL;
        int ok = vault_client_open(&child, path, 0) == VAULT_OK &&
                 vault_client_unlock(child, PASSWORD) == VAULT_OK &&
                 vault_client_vault(child, &v) == VAULT_OK &&
                 vault_item_get(v, id, &json) == VAULT_OK && strstr(json, "Zebra Bank") != NULL;
        /* Free everything, so that valgrind sees no leak in the child either. */
        vault_free(json);
        vault_free(id);
        vault_client_close(child);
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    vault_free(id);
}

int main(void)
{
    vault_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_local__create_save_reopen_unlock),
        cmocka_unit_test(test_client_local__wrong_password_is_auth),
        cmocka_unit_test(test_client_local__lock_discards_unsaved_changes),
        cmocka_unit_test(test_client_local__create_refuses_existing_and_weak_kdf),
        cmocka_unit_test(test_client_local__store_holds_no_plaintext),
        cmocka_unit_test(test_client_local__open_rejects_bad_arguments_and_files),
        cmocka_unit_test(test_client_local__unlock_after_reopen_in_new_process),
    };
    return cmocka_run_group_tests_name("client_local", tests, NULL, NULL);
}
