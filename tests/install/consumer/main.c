/* A program outside the source tree, built against an installed zkvault
 * (tests/install/install_test.sh): seals a one-item vault and opens it again.
 * With ZKVAULT_SERVER defined it also answers one request with an embedded
 * server (libvault-server). Prints "consumer ok <version>". */
#include <stdio.h>
#include <string.h>

#include <vault.h>

static int check(int rc, const char *what)
{
    if (rc != VAULT_OK)
        fprintf(stderr, "%s: %s (%s)\n", what, vault_strerror(rc), vault_last_error());
    return rc;
}

#ifdef ZKVAULT_SERVER
static int serve_once(const char *db)
{
    static const uint8_t pepper[32] = "consumer-pepper-consumer-pepper";
    vault_server *s = NULL;
    char *answer = NULL;
    static const char request[] = "{\"v\":1,\"op\":\"no_such_op\"}";
    int rc = check(vault_server_open(&s, db, pepper, sizeof pepper, 0), "vault_server_open");
    if (rc == VAULT_OK)
        rc = check(vault_server_handle(s, request, strlen(request), &answer), "handle");
    if (rc == VAULT_OK && strstr(answer, "\"ok\":false") == NULL)
        rc = VAULT_E_INTERNAL;
    vault_free(answer);
    vault_server_close(s);
    return rc;
}
#endif

int main(int argc, char **argv)
{
    uint8_t key[VAULT_KEY_BYTES] = {1};
    const char *account = "0123456789abcdef0123456789abcdef";
    vault *v = NULL, *back = NULL;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    char *list = NULL;
    int rc = check(vault_init(), "vault_init");
    if (rc == VAULT_OK)
        rc = check(vault_new(&v), "vault_new");
    if (rc == VAULT_OK)
        rc = check(vault_item_add(v, "{\"type\":\"note\",\"title\":\"hello\"}", NULL), "add");
    if (rc == VAULT_OK)
        rc = check(vault_seal(v, key, account, 1, &blob, &blob_len), "seal");
    if (rc == VAULT_OK)
        rc = check(vault_open(&back, key, account, 1, blob, blob_len), "open");
    if (rc == VAULT_OK)
        rc = check(vault_item_list(back, 0, &list), "list");
    if (rc == VAULT_OK && strstr(list, "\"hello\"") == NULL)
        rc = VAULT_E_INTERNAL;
#ifdef ZKVAULT_SERVER
    if (rc == VAULT_OK)
        rc = serve_once(argc > 1 ? argv[1] : "consumer-server.db");
#else
    (void)argc;
    (void)argv;
#endif
    if (rc == VAULT_OK)
        printf("consumer ok %s\n", vault_version());
    vault_free(list);
    vault_free(blob);
    vault_close(back);
    vault_close(v);
    return rc == VAULT_OK ? 0 : 1;
}
