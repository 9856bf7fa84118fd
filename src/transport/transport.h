/*
 * Client transports: how a vault_client's JSON requests reach a server.
 * Both functions below match vault_transport_fn; the response is allocated
 * with vault__out_alloc (freed, and wiped, by vault_free). docs/vaultd.md
 * describes the HTTP rules (insecure scheme, status codes, limits).
 */
#ifndef VAULT_TRANSPORT_H
#define VAULT_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "vault.h"

/* The largest response the HTTP transport accepts: a full request's worth
 * (a pull answer is a blob plus a few small members) and some slack. */
#define VAULT_TRANSPORT__MAX_RESPONSE (VAULT_SERVER_MAX_REQUEST + 1024u * 1024u)

/* A transport the client calls: fn(request, len, &response, &response_len, ctx). */
typedef struct vault_transport__http vault_transport__http;

/* Checks base_url ("https://host[:port][/prefix]") and makes a transport that
 * POSTs to <base_url>/v1/api/<op> with libcurl. Nothing is sent yet.
 * Errors: VAULT_E_INVALID (not a URL, not http/https, has a query or fragment),
 * VAULT_E_INSECURE (http:// to a non-loopback host without
 * VAULT_HTTP_ALLOW_INSECURE), VAULT_E_NOMEM, VAULT_E_INTERNAL (libcurl). */
int vault_transport__http_new(vault_transport__http **out, const char *base_url, uint32_t flags);

/* As vault_transport__http_new, trusting the PEM bundle ca_file; NULL picks
 * $ZKVAULT_CA_FILE, $SSL_CERT_FILE, $CURL_CA_BUNDLE (the first one set), else
 * the system store (http_new does the same). Also VAULT_E_IO: the file cannot
 * be read. */
int vault_transport__http_new_ca(vault_transport__http **out, const char *base_url,
                                 uint32_t flags, const char *ca_file);

/* ctx = vault_transport__http*; matches vault_transport_fn. One call at a time
 * per transport (it reuses one connection). Errors: VAULT_E_INVALID,
 * VAULT_E_LIMIT (request over VAULT_SERVER_MAX_REQUEST, or response over
 * VAULT_TRANSPORT__MAX_RESPONSE), VAULT_E_NETWORK (connection, TLS, timeout,
 * or an HTTP status other than 200 that carries no protocol error), VAULT_E_NOMEM. */
int vault_transport__http_call(const char *request, size_t request_len, char **response,
                               size_t *response_len, void *ctx);

/* Closes the connection and frees. NULL is a no-op. */
void vault_transport__http_free(vault_transport__http *t);

/* In-process transport: ctx = vault_server*. Matches vault_transport_fn. */
int vault_transport__local_call(const char *request, size_t request_len, char **response,
                                size_t *response_len, void *ctx);

/* The URL checks of vault_transport__http_new() alone, without libcurl's
 * easy handle: on success *api_url (vault__free) is the URL to POST to and
 * *loopback tells whether the host is a loopback one. Errors as http_new. */
int vault_transport__check_url(const char *base_url, uint32_t flags, char **api_url,
                               int *loopback);

#endif
