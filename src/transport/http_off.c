/*
 * The HTTP client transport of a build without libcurl
 * (-DVAULT_WITH_HTTP_CLIENT=OFF): vault_client_connect_http() keeps its
 * symbol, so the ABI is the same in every build, and fails with
 * VAULT_E_UNSUPPORTED. A custom transport (vault_client_connect_custom) still
 * reaches any server.
 */
#include "common/common.h"
#include "transport/transport.h"

int vault_transport__http_new(vault_transport__http **out, const char *base_url, uint32_t flags)
{
    return vault_transport__http_new_ca(out, base_url, flags, NULL);
}

int vault_transport__http_new_ca(vault_transport__http **out, const char *base_url,
                                 uint32_t flags, const char *ca_file)
{
    (void)base_url;
    (void)flags;
    (void)ca_file;
    if (out != NULL)
        *out = NULL;
    return vault__fail(VAULT_E_UNSUPPORTED,
                       "this libvault was built without the HTTP client (libcurl)");
}

int vault_transport__http_call(const char *request, size_t request_len, char **response,
                               size_t *response_len, void *ctx)
{
    (void)request;
    (void)request_len;
    (void)ctx;
    if (response != NULL)
        *response = NULL;
    if (response_len != NULL)
        *response_len = 0;
    return vault__fail(VAULT_E_UNSUPPORTED,
                       "this libvault was built without the HTTP client (libcurl)");
}

void vault_transport__http_free(vault_transport__http *t)
{
    (void)t;
}
