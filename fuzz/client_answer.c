/* Fuzzes the client's parsing of server answers: a custom transport that
 * answers honestly (an in-process server) while the harness sets up one
 * registered, unlocked client, and then returns the fuzz input as the
 * answer to the call under test. The first byte picks the call:
 *   0 (mod 16): login on the known account ("login_start" honest,
 *      "login_finish" fuzzed; one Argon2id at the floor per input, hence rare)
 *   1: logout (the generic error-answer path)
 *   2..8: push (answer to "push")
 *   otherwise: pull (answer to "pull")
 * The honest session is put back after each input (the fuzzed call never
 * reached the server, so it is still valid there), which keeps Argon2id
 * out of the loop.
 * After each input the client must still be usable: its revision never
 * moves backwards. */
#include <string.h>
#include <unistd.h>

#include "client/client.h"
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
static char honest_session[sizeof client->session];

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

static char paths[2][256];

static void remove_db(const char *path)
{
    char side[300];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static void close_all(void)
{
    vault_client_close(client);
    vault_server_close(ctx.server);
    remove_db(paths[0]);
    remove_db(paths[1]);
}

static void set_up(void)
{
    static const uint8_t pepper[32] = "fuzz-pepper-fuzz-pepper-fuzz-pep";
    vault_init();
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(paths[0], sizeof paths[0], "%s/zkvault-fuzz-answer-server-%ld.db", dir,
             (long)getpid());
    snprintf(paths[1], sizeof paths[1], "%s/zkvault-fuzz-answer-client-%ld.db", dir,
             (long)getpid());
    remove_db(paths[0]);
    remove_db(paths[1]);
    if (vault_server_open(&ctx.server, paths[0], pepper, sizeof pepper, 0) != VAULT_OK)
        abort();
    if (vault_client_open(&client, paths[1], 0) != VAULT_OK ||
        vault_client_connect_custom(client, transport, &ctx) != VAULT_OK ||
        vault_client_create(client, PASSWORD, VAULT_KDF_OPSLIMIT_MIN, VAULT_KDF_MEMLIMIT_MIN) !=
            VAULT_OK ||
        vault_client_register(client, EMAIL) != VAULT_OK)
        abort();
    memcpy(honest_session, client->session, sizeof honest_session);
    atexit(close_all);
}

/* The honest session again, and the client unlocked (a failed login on a
 * known account may leave it locked). */
static void restore_session(void)
{
    ctx.fuzz_op = NULL;
    memcpy(client->session, honest_session, sizeof honest_session);
    int32_t unlocked = 0;
    vault_client_is_unlocked(client, &unlocked);
    if (!unlocked && vault_client_unlock(client, PASSWORD) != VAULT_OK)
        abort();
}

FUZZ_ENTRY(client_answer)
{
    uint64_t before = 0, after = 0;
    if (client == NULL)
        set_up();
    if (size < 1)
        return 0;
    unsigned which = data[0] % 16;
    ctx.data = data + 1;
    ctx.size = size - 1;
    vault_client_revision(client, &before);
    int rc;
    if (which == 0) {
        ctx.fuzz_op = "login_finish";
        rc = vault_client_login(client, EMAIL, PASSWORD);
    } else if (which == 1) {
        ctx.fuzz_op = "logout";
        rc = vault_client_logout(client);
    } else if (which <= 8) {
        ctx.fuzz_op = "push";
        rc = vault_client_push(client);
    } else {
        ctx.fuzz_op = "pull";
        rc = vault_client_pull(client);
    }
    FUZZ_CHECK_STATUS(rc);
    vault_client_revision(client, &after);
    FUZZ_CHECK(after >= before);
    restore_session();
    return 0;
}
