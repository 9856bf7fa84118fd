/*
 * The in-process transport: the embedded default used by tests and the demo.
 * The request goes straight to vault_server_handle(), which is thread-safe, so
 * several clients may share one server. It is part of the server library
 * (libvault-server), so it reaches the client through the public
 * vault_client_connect_custom() only.
 */
#include <string.h>

#include "common/common.h"
#include "transport/transport.h"

int vault_transport__local_call(const char *request, size_t request_len, char **response,
                                size_t *response_len, void *ctx)
{
    if (response == NULL || response_len == NULL)
        return vault__fail(VAULT_E_INVALID, "NULL argument");
    *response = NULL;
    *response_len = 0;
    if (ctx == NULL || request == NULL)
        return vault__fail(VAULT_E_INVALID, "NULL argument");
    char *answer = NULL;
    int rc = vault_server_handle(ctx, request, request_len, &answer);
    if (rc != VAULT_OK) {
        vault_free(answer);
        return rc;
    }
    if (answer == NULL)
        return vault__fail(VAULT_E_INTERNAL, "the server produced no answer");
    *response = answer;
    *response_len = strlen(answer);
    return VAULT_OK;
}

int vault_client_connect_local(vault_client *c, vault_server *s)
{
    if (c == NULL || s == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_client_connect_local: NULL argument");
    return vault_client_connect_custom(c, vault_transport__local_call, s);
}
