/* Fuzzes the client's parsing of server answers: a custom transport that
 * answers honestly (an in-process server) while the harness sets up one
 * registered, unlocked client, and then returns the fuzz input as the
 * answer to the call under test. The first byte picks the call:
 *   0: pull (answer to "pull")
 *   1: push (answer to "push")
 *   2: login on the known account ("prelogin" honest, "login" fuzzed;
 *      costs one Argon2id at the floor per input)
 *   3: logout (the generic error-answer path)
 * After each input the client must still be usable: its revision never
 * moves backwards. */
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

#define EMAIL "fuzz@example.org"
#define PASSWORD "fuzz password"

typedef struct answer_ctx {
    vault_server *server;
    const char *fuzz_op; /* the op whose answer is the input, or NULL */
    const uint8_t *data;
    size_t size;
} answer_ctx;

static answer_ctx ctx;
static vault_client *client;

static int is_op(const char *request, const char *op)
{
    char needle[64];
    snprintf(needle, sizeof needle, "\"op\":\"%s\"", op);
    return strstr(request, needle) != NULL;
}

static int transport(const char *request, size_t request_len, char **response,
                     size_t *response_len, void *c)
{
    answer_ctx *a = c;
    if (a->fuzz_op != NULL && is_op(request, a->fuzz_op)) {
        char *copy = vault_malloc(a->size + 1);
        if (copy == NULL)
            return VAULT_E_NOMEM;
        memcpy(copy, a->data, a->size);
        copy[a->size] = '\0';
        *response = copy;
        *response_len = a->size;
        return VAULT_OK;
    }
    int rc = vault_server_handle(a->server, request, request_len, response);
    if (rc == VAULT_OK)
        *response_len = strlen(*response);
    return rc;
}

static void close_all(void)
{
    vault_client_close(client);
    vault_server_close(ctx.server);
}

static void set_up(void)
{
    static const uint8_t pepper[32] = "fuzz-pepper-fuzz-pepper-fuzz-pep";
    char path[256];
    vault_init();
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/zkvault-fuzz-answer-server-%ld.db", dir, (long)getpid());
    unlink(path);
    if (vault_server_open(&ctx.server, path, pepper, sizeof pepper, 0) != VAULT_OK)
        abort();
    snprintf(path, sizeof path, "%s/zkvault-fuzz-answer-client-%ld.db", dir, (long)getpid());
    unlink(path);
    if (vault_client_open(&client, path, 0) != VAULT_OK ||
        vault_client_connect_custom(client, transport, &ctx) != VAULT_OK ||
        vault_client_create(client, PASSWORD, VAULT_KDF_OPSLIMIT_MIN, VAULT_KDF_MEMLIMIT_MIN) !=
            VAULT_OK ||
        vault_client_register(client, EMAIL) != VAULT_OK)
        abort();
    atexit(close_all);
}

/* Gets a fresh honest session back if the last input ended it. */
static void ensure_session(void)
{
    ctx.fuzz_op = NULL;
    if (vault_client_pull(client) == VAULT_E_STATE)
        vault_client_login(client, EMAIL, PASSWORD);
}

FUZZ_ENTRY(client_answer)
{
    static const char *const ops[] = {"pull", "push", "login", "logout"};
    uint64_t before = 0, after = 0;
    if (client == NULL)
        set_up();
    if (size < 1)
        return 0;
    unsigned which = data[0] % 4;
    ctx.fuzz_op = ops[which];
    ctx.data = data + 1;
    ctx.size = size - 1;
    vault_client_revision(client, &before);
    int rc;
    switch (which) {
    case 0:
        rc = vault_client_pull(client);
        break;
    case 1:
        rc = vault_client_push(client);
        break;
    case 2:
        rc = vault_client_login(client, EMAIL, PASSWORD);
        break;
    default:
        rc = vault_client_logout(client);
        break;
    }
    FUZZ_CHECK_STATUS(rc);
    vault_client_revision(client, &after);
    FUZZ_CHECK(after >= before);
    ensure_session();
    return 0;
}
