/* Fuzzes the server's request handler: the input is one request, as any
 * client on the network could send it. One server for the whole run, its
 * SQLite file on tmpfs when there is one (fsync dominates otherwise). Every
 * request must get exactly one well-formed JSON answer with "ok". */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static vault_server *server;
static char path[256];

static void close_server(void)
{
    char side[300];
    vault_server_close(server);
    server = NULL;
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

static vault_server *the_server(void)
{
    static const uint8_t pepper[32] = "fuzz-pepper-fuzz-pepper-fuzz-pep";
    if (server != NULL)
        return server;
    vault_init();
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(path, sizeof path, "%s/zkvault-fuzz-server-%ld.db", dir, (long)getpid());
    unlink(path);
    if (vault_server_open(&server, path, pepper, sizeof pepper, 0) != VAULT_OK)
        abort(); /* the harness cannot run at all */
    atexit(close_server);
    return server;
}

FUZZ_ENTRY(server_request)
{
    vault_server *s = the_server();
    char *response = NULL;
    int rc = vault_server_handle(s, (const char *)data, size, &response);
    FUZZ_CHECK(rc == VAULT_OK || rc == VAULT_E_NOMEM);
    if (rc != VAULT_OK)
        return 0;
    cJSON *json = cJSON_Parse(response);
    FUZZ_CHECK(json != NULL);
    FUZZ_CHECK(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(json, "ok")));
    cJSON_Delete(json);
    vault_free(response);
    return 0;
}
