/*
 * Session operations on the vault blob: logout, pull, push. The server reads
 * only a blob's clear header (account, revision); the rest is ciphertext.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "server/server.h"

int vault_server__op_logout(vault_server_call *call)
{
    vault_store *st = call->server->store;
    return st->ops->session_delete(st, call->session_hash);
}

/* The pull answer is written directly into output memory: the blob can be
 * tens of MiB, and a cJSON tree would copy its base64 three more times. */
static int pull_response(uint64_t revision, const uint8_t *blob, size_t blob_len, char **out)
{
    char head[80];
    int n = snprintf(head, sizeof head, "{\"ok\":true,\"revision\":%" PRIu64 ",\"blob\":\"",
                     revision);
    size_t b64 = sodium_base64_ENCODED_LEN(blob_len, sodium_base64_VARIANT_ORIGINAL);
    size_t total = (size_t)n + (b64 - 1) + 2;
    char *text = vault__out_alloc(total);
    if (text == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory building the pull answer");
    memcpy(text, head, (size_t)n);
    sodium_bin2base64(text + n, b64, blob, blob_len, sodium_base64_VARIANT_ORIGINAL);
    memcpy(text + (size_t)n + b64 - 1, "\"}", 2);
    *out = text;
    return VAULT_OK;
}

int vault_server__op_pull(vault_server_call *call)
{
    vault_store *st = call->server->store;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    uint64_t revision = 0;
    int status = vault_server__session_status(
        st->ops->get_blob(st, call->session.account_id, &revision, &blob, &blob_len));
    if (status == VAULT_OK)
        status = pull_response(revision, blob, blob_len, &call->raw_reply);
    vault__free(blob);
    return status;
}

int vault_server__op_push(vault_server_call *call)
{
    vault_store *st = call->server->store;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    uint64_t base = 0;
    int status;
    if ((status = vault_server__req_u64(call, "base_revision", &base)) != VAULT_OK ||
        (status = vault_server__req_blob(call, "blob", &blob, &blob_len)) != VAULT_OK ||
        (status = vault_server__check_blob(blob, blob_len, call->session.account_id,
                                           base + 1)) != VAULT_OK)
        goto done;
    status = vault_server__session_status(
        st->ops->put_blob_cas(st, call->session.account_id, base, blob, blob_len, call->now_ms,
                              &call->current_revision));
    if (status == VAULT_OK)
        status = vault_server__reply_u64(call, "revision", base + 1);
done:
    vault_free(blob);
    return status;
}
