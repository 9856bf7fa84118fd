#include "liar.h"

#include "common/common.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *out_string(const char *text)
{
    size_t n = strlen(text);
    char *p = vault_malloc(n + 1);
    if (p != NULL)
        memcpy(p, text, n + 1);
    return p;
}

static char *reprint(cJSON *json)
{
    char *text = cJSON_PrintUnformatted(json);
    char *p = text != NULL ? out_string(text) : NULL;
    cJSON_free(text);
    return p;
}

/* Tests are single-threaded per liar: a static buffer is enough. */
static const char *op_of(const char *request, size_t len)
{
    static char op[32];
    cJSON *req = cJSON_ParseWithLength(request, len);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(req, "op");
    snprintf(op, sizeof op, "%s", cJSON_IsString(o) ? o->valuestring : "");
    cJSON_Delete(req);
    return op;
}

/* Rewrites the base64 member name with one bit flipped: bit counts from the
 * first byte, or from the last one if from_end. */
static void flip_bit(cJSON *resp, const char *name, size_t bit, int from_end)
{
    cJSON *b = cJSON_GetObjectItemCaseSensitive(resp, name);
    uint8_t *bin = NULL;
    size_t len = 0;
    char *enc = NULL;
    if (!cJSON_IsString(b) ||
        vault__base64_decode(b->valuestring, VAULT_BLOB_MAX_BYTES, &bin, &len) != VAULT_OK)
        return;
    if (bit / 8 < len)
        bin[from_end ? len - 1 - bit / 8 : bit / 8] ^= (uint8_t)(1u << (bit % 8));
    if (vault__base64_encode(bin, len, &enc) == VAULT_OK)
        cJSON_SetValuestring(b, enc);
    vault_free(enc);
    vault_free(bin);
}

static char *lie(liar *l, const char *op, char *honest)
{
    cJSON *resp = cJSON_Parse(honest);
    char *out = NULL;
    if (resp == NULL)
        return honest;
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(resp, "blob");
    if (strcmp(op, "pull") == 0 && cJSON_IsString(b)) {
        size_t n = strlen(b->valuestring), pad = 0;
        while (pad < n && pad < 2 && b->valuestring[n - 1 - pad] == '=')
            pad++;
        l->last_blob_len = n / 4 * 3 - pad;
    }
    if (strcmp(op, "pull") == 0 && l->mode == LIAR_RECORD_PULL && l->recorded == NULL) {
        l->recorded = out_string(honest);
    } else if (strcmp(op, "login_finish") == 0 && l->mode == LIAR_RECORD_KEY &&
               l->recorded == NULL) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(resp, "protected_key");
        if (cJSON_IsString(k))
            l->recorded = out_string(k->valuestring);
    } else if (strcmp(op, "pull") == 0 && l->mode == LIAR_REPLAY_PULL && l->recorded != NULL) {
        out = out_string(l->recorded);
    } else if (strcmp(op, "pull") == 0 && l->mode == LIAR_FLIP_BLOB_BIT) {
        flip_bit(resp, "blob", l->arg, 0);
        out = reprint(resp);
    } else if (strcmp(op, "link_fetch") == 0 && l->mode == LIAR_FLIP_ENVELOPE) {
        flip_bit(resp, "envelope", l->arg, 1);
        out = reprint(resp);
    } else if (strcmp(op, "pull") == 0 && l->mode == LIAR_CLAIM_NEXT_REVISION) {
        cJSON *r = cJSON_GetObjectItemCaseSensitive(resp, "revision");
        cJSON_SetNumberValue(r, r->valuedouble + 1);
        out = reprint(resp);
    } else if (strcmp(op, "login_start") == 0 && l->mode == LIAR_WEAK_KDF) {
        cJSON_SetNumberValue(cJSON_GetObjectItemCaseSensitive(resp, "opslimit"), (double)l->arg);
        out = reprint(resp);
    } else if (strcmp(op, "login_finish") == 0 && l->mode == LIAR_SWAP_PROTECTED_KEY &&
               l->recorded != NULL) {
        cJSON_SetValuestring(cJSON_GetObjectItemCaseSensitive(resp, "protected_key"),
                             l->recorded);
        out = reprint(resp);
    } else if (l->mode == LIAR_RECORD_OP && l->recorded == NULL && strcmp(op, l->op) == 0 &&
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(resp, "ok")) &&
               !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(resp, "ready"))) {
        l->recorded = out_string(honest);
    } else if (l->mode == LIAR_REWRITE && strcmp(op, l->op) == 0) {
        cJSON *value = cJSON_Parse(l->value);
        if (value != NULL && cJSON_GetObjectItemCaseSensitive(resp, l->member) != NULL)
            cJSON_ReplaceItemInObjectCaseSensitive(resp, l->member, value);
        else
            cJSON_Delete(value);
        out = reprint(resp);
        l->replays++;
    } else if (l->mode == LIAR_TRUNCATE && strlen(honest) > l->arg) {
        out = out_string(honest);
        out[l->arg] = '\0';
    } else if (l->mode == LIAR_GARBAGE) {
        out = out_string("\x01\x02 not json at all \xff");
    }
    cJSON_Delete(resp);
    if (out == NULL)
        return honest;
    vault_free(honest);
    return out;
}

/* Answers a push as accepted without storing it. */
static char *fake_push_ack(const char *request, size_t len)
{
    cJSON *req = cJSON_ParseWithLength(request, len);
    const cJSON *base = cJSON_GetObjectItemCaseSensitive(req, "base_revision");
    char text[64];
    snprintf(text, sizeof text, "{\"ok\":true,\"revision\":%.0f}",
             cJSON_IsNumber(base) ? base->valuedouble + 1 : 0.0);
    cJSON_Delete(req);
    return out_string(text);
}

/* A well-formed success answer of exactly len bytes (len >= 12). */
static char *oversized(size_t len)
{
    char *p = vault_malloc(len + 1);
    if (p == NULL)
        return NULL;
    memset(p, ' ', len);
    memcpy(p, "{\"ok\":true", 10);
    p[len - 1] = '}';
    p[len] = '\0';
    return p;
}

/* The request with its "public_key" replaced by a fresh X25519 key (NULL if
 * out of memory); cJSON_free it. */
static char *swap_public_key(const char *request, size_t len)
{
    uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
    char hex[2 * crypto_box_PUBLICKEYBYTES + 1];
    cJSON *req = cJSON_ParseWithLength(request, len);
    crypto_box_keypair(pk, sk);
    vault__bin2hex(hex, pk, sizeof pk);
    cJSON_ReplaceItemInObjectCaseSensitive(req, "public_key", cJSON_CreateString(hex));
    char *text = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    return text;
}

int liar_transport(const char *request, size_t request_len, char **response,
                   size_t *response_len, void *ctx)
{
    liar *l = ctx;
    const char *op = op_of(request, request_len);
    char *answer = NULL, *swapped = NULL;
    snprintf(l->last_op, sizeof l->last_op, "%s", op);
    if (l->keep_requests) {
        char *grown = vault_malloc(l->requests_len + request_len + 1);
        if (grown == NULL)
            return VAULT_E_NOMEM;
        if (l->requests_len)
            memcpy(grown, l->requests, l->requests_len);
        memcpy(grown + l->requests_len, request, request_len);
        grown[l->requests_len + request_len] = '\0';
        vault_free(l->requests);
        l->requests = grown;
        l->requests_len += request_len;
    }
    if (l->mode == LIAR_SWAP_LINK_KEY &&
        (strcmp(op, "link_post_key") == 0 || strcmp(op, "link_accept") == 0)) {
        if ((swapped = swap_public_key(request, request_len)) == NULL)
            return VAULT_E_NOMEM;
        request = swapped;
        request_len = strlen(swapped);
    }
    if (l->canned_op != NULL && strcmp(op, l->canned_op) == 0) {
        answer = out_string(l->canned);
    } else if (l->mode == LIAR_OVERSIZE) {
        answer = oversized(l->arg);
    } else if (l->mode == LIAR_REPLAY_OP && l->recorded != NULL && strcmp(op, l->op) == 0) {
        answer = out_string(l->recorded);
        l->replays++;
    } else if (strcmp(op, "push") == 0 && l->mode == LIAR_DROP_PUSH) {
        answer = fake_push_ack(request, request_len);
        l->dropped_pushes++;
    } else {
        int rc = vault_server_handle(l->server, request, request_len, &answer);
        if (rc != VAULT_OK) {
            cJSON_free(swapped);
            return rc;
        }
        answer = lie(l, op, answer);
        if (strcmp(op, "push") == 0 && l->mode == LIAR_LOSE_PUSH_ANSWER) {
            vault_free(answer);
            cJSON_free(swapped);
            return VAULT_E_NETWORK;
        }
    }
    cJSON_free(swapped);
    if (answer == NULL)
        return VAULT_E_NOMEM;
    *response = answer;
    *response_len = strlen(answer);
    return VAULT_OK;
}

void liar_reset(liar *l)
{
    vault_free(l->recorded);
    l->recorded = NULL;
    l->mode = LIAR_HONEST;
    l->arg = 0;
    l->dropped_pushes = 0;
    l->op = l->member = l->value = NULL;
    l->replays = 0;
    vault_free(l->requests);
    l->requests = NULL;
    l->requests_len = 0;
    l->keep_requests = 0;
    l->canned_op = l->canned = NULL;
}

int liar_offline_transport(const char *request, size_t request_len, char **response,
                           size_t *response_len, void *ctx)
{
    (void)request, (void)request_len, (void)response, (void)response_len, (void)ctx;
    return VAULT_E_NETWORK;
}
