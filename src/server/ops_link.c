/*
 * Device-link relay operations (docs/devicelink.md): link_create, link_post_key,
 * link_poll, link_deliver, link_fetch, link_cancel, link_abort, and for the
 * reverse direction (the new device shows the code) link_request, link_accept,
 * link_wait.
 *
 * The relay is untrusted by design: it stores a public key, two MACs it cannot
 * check (it never sees the link secret) and an envelope it cannot open. What it
 * enforces is lifetime and single use: a link expires LINK_TTL after creation,
 * accepts one key (every later post is refused and counted, so the old device
 * learns that a copied code was used), one envelope, and one fetch, by the
 * poster only (proof: the fetch token whose hash came with the key). A wrong
 * fetch token aborts the link.
 */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <string.h>

#include "devicelink/devicelink.h"
#include "server/server.h"

static vault_store *store_of(const vault_server_call *call)
{
    return call->server->store;
}

static int read_link_id(const vault_server_call *call, uint8_t *id)
{
    return vault_server__req_hex(call, "link_id", id, VAULT_STORE_ID_BYTES);
}

/* The link the request names, whoever asks (callers prove their right). */
static int requested_link(vault_server_call *call, uint8_t *link_id, vault_store_link *link,
                          uint8_t **envelope, size_t *envelope_len)
{
    int status = read_link_id(call, link_id);
    if (status != VAULT_OK)
        return status;
    return store_of(call)->ops->link_get(store_of(call), link_id, link, envelope, envelope_len);
}

/* A link of this session's account, or VAULT_E_NOT_FOUND (also for another
 * account's link: its existence is not revealed). */
static int own_link(vault_server_call *call, uint8_t *link_id, vault_store_link *link)
{
    int status = requested_link(call, link_id, link, NULL, NULL);
    if (status != VAULT_OK)
        return status;
    if (sodium_memcmp(link->account_id, call->session.account_id, VAULT_STORE_ID_BYTES) != 0)
        return vault__fail(VAULT_E_NOT_FOUND, "no such device link");
    return VAULT_OK;
}

static int reply_base64(vault_server_call *call, const char *name, const uint8_t *bin,
                        size_t len)
{
    char b64[sodium_base64_ENCODED_LEN(VAULT_DEVICELINK_ENVELOPE_MAX,
                                       sodium_base64_VARIANT_ORIGINAL)];
    if (len > VAULT_DEVICELINK_ENVELOPE_MAX)
        return vault__fail(VAULT_E_INTERNAL, "stored envelope too long");
    sodium_bin2base64(b64, sizeof b64, bin, len, sodium_base64_VARIANT_ORIGINAL);
    if (cJSON_AddStringToObject(call->reply, name, b64) == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory building a reply");
    return VAULT_OK;
}

static int reply_ready(vault_server_call *call, int ready)
{
    if (cJSON_AddBoolToObject(call->reply, "ready", ready) == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory building a reply");
    return VAULT_OK;
}

/* Cancels a link in any live step; an already finished one is VAULT_E_STATE. */
static int abort_link(const vault_server_call *call, const uint8_t *link_id)
{
    return store_of(call)->ops->link_set_state(store_of(call), link_id,
                                               VAULT_STORE_LINK_ANY_LIVE,
                                               VAULT_STORE_LINK_ABORTED);
}

static int link_state_error(const vault_store_link *link)
{
    if (link->state == VAULT_STORE_LINK_ABORTED)
        return vault__fail(VAULT_E_STATE, "this device link was cancelled");
    if (link->state == VAULT_STORE_LINK_DONE)
        return vault__fail(VAULT_E_STATE, "this device link was already used");
    return vault__fail(VAULT_E_STATE, "this device link is not in that step");
}

/* Gives a new link (role and owner already set) a random id and its lifetime. */
static void start_link(const vault_server_call *call, vault_store_link *link)
{
    randombytes_buf(link->id, sizeof link->id);
    link->expires_ms = call->now_ms + call->server->link_ttl_s * 1000;
}

static int reply_new_link(vault_server_call *call, const vault_store_link *link)
{
    int status = vault_server__reply_hex(call, "link_id", link->id, sizeof link->id);
    if (status != VAULT_OK)
        return status;
    return vault_server__reply_u64(call, "expires_ms", (uint64_t)link->expires_ms);
}

int vault_server__op_link_create(vault_server_call *call)
{
    vault_store *st = store_of(call);
    vault_store_link link;
    int status;
    memset(&link, 0, sizeof link);
    link.role = VAULT_STORE_LINK_OFFER;
    memcpy(link.account_id, call->session.account_id, sizeof link.account_id);
    memcpy(link.device_id, call->session.device_id, sizeof link.device_id);
    start_link(call, &link);
    if ((status = st->ops->link_create(st, &link, call->now_ms)) != VAULT_OK)
        return status;
    return reply_new_link(call, &link);
}

static int read_posted_key(const vault_server_call *call, vault_store_link *posted)
{
    int status;
    if ((status = read_link_id(call, posted->id)) != VAULT_OK ||
        (status = vault_server__req_hex(call, "public_key", posted->peer_pk,
                                        sizeof posted->peer_pk)) != VAULT_OK ||
        (status = vault_server__req_hex(call, "mac", posted->post_mac,
                                        sizeof posted->post_mac)) != VAULT_OK)
        return status;
    return vault_server__req_hex(call, "confirm", posted->confirm_tag,
                                 sizeof posted->confirm_tag);
}

int vault_server__op_link_post_key(vault_server_call *call)
{
    vault_store *st = store_of(call);
    vault_store_link posted;
    int status;
    memset(&posted, 0, sizeof posted);
    posted.role = VAULT_STORE_LINK_OFFER;
    if ((status = read_posted_key(call, &posted)) != VAULT_OK ||
        (status = vault_server__req_hex(call, "fetch_hash", posted.fetch_hash,
                                        sizeof posted.fetch_hash)) != VAULT_OK)
        return status;
    return st->ops->link_post_key(st, &posted, call->now_ms);
}

/* The posted key for whoever shows the QR code: {"ready":false} while the
 * link is open, then the key, both MACs and the count of refused posts. */
static int reply_posted_key(vault_server_call *call, const vault_store_link *l)
{
    int status;
    if (l->state == VAULT_STORE_LINK_OPEN) {
        if (call->now_ms >= l->expires_ms)
            return vault__fail(VAULT_E_EXPIRED, "this device link has expired");
        return reply_ready(call, 0);
    }
    if (l->state != VAULT_STORE_LINK_POSTED && l->state != VAULT_STORE_LINK_DELIVERED)
        return link_state_error(l);
    if ((status = reply_ready(call, 1)) != VAULT_OK ||
        (status = vault_server__reply_hex(call, "public_key", l->peer_pk,
                                          sizeof l->peer_pk)) != VAULT_OK ||
        (status = vault_server__reply_hex(call, "mac", l->post_mac, sizeof l->post_mac)) !=
            VAULT_OK ||
        (status = vault_server__reply_hex(call, "confirm", l->confirm_tag,
                                          sizeof l->confirm_tag)) != VAULT_OK)
        return status;
    return vault_server__reply_u64(call, "extra_posts", l->extra_posts);
}

/* The old device polls its offer (extra_posts > 0: the code was used by
 * someone else too). */
int vault_server__op_link_poll(vault_server_call *call)
{
    vault_store_link link;
    uint8_t link_id[VAULT_STORE_ID_BYTES];
    int status;
    if ((status = own_link(call, link_id, &link)) != VAULT_OK)
        return status;
    if (link.role != VAULT_STORE_LINK_OFFER)
        return vault__fail(VAULT_E_NOT_FOUND, "no such device link");
    return reply_posted_key(call, &link);
}

/* The envelope: standard padded base64 of at most VAULT_DEVICELINK_ENVELOPE_MAX
 * bytes; the text length is checked before anything is decoded. out has room
 * for VAULT_DEVICELINK_ENVELOPE_MAX + 3 bytes (one base64 group of slack). */
static int read_envelope(const vault_server_call *call, uint8_t *out, size_t *out_len)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(call->req, "envelope");
    const char *end = NULL;
    if (!cJSON_IsString(item) || item->valuestring == NULL)
        return vault__fail(VAULT_E_INVALID, "%s: \"envelope\" must be a string", call->op);
    size_t len = strlen(item->valuestring);
    if (len > sodium_base64_ENCODED_LEN(VAULT_DEVICELINK_ENVELOPE_MAX,
                                        sodium_base64_VARIANT_ORIGINAL) - 1)
        return vault__fail(VAULT_E_LIMIT, "%s: the envelope is larger than %u bytes", call->op,
                           VAULT_DEVICELINK_ENVELOPE_MAX);
    if (len == 0 || len % 4 != 0 ||
        sodium_base642bin(out, VAULT_DEVICELINK_ENVELOPE_MAX + 3, item->valuestring, len, NULL,
                          out_len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != item->valuestring + len)
        return vault__fail(VAULT_E_INVALID, "%s: \"envelope\" is not padded base64", call->op);
    if (*out_len > VAULT_DEVICELINK_ENVELOPE_MAX)
        return vault__fail(VAULT_E_LIMIT, "%s: the envelope is larger than %u bytes", call->op,
                           VAULT_DEVICELINK_ENVELOPE_MAX);
    if (*out_len < VAULT_DEVICELINK_ENVELOPE_OVERHEAD)
        return vault__fail(VAULT_E_INVALID, "%s: the envelope is too short", call->op);
    return VAULT_OK;
}

int vault_server__op_link_deliver(vault_server_call *call)
{
    vault_store *st = store_of(call);
    vault_store_new_device dev;
    uint8_t link_id[VAULT_STORE_ID_BYTES];
    uint8_t envelope[VAULT_DEVICELINK_ENVELOPE_MAX + 3];
    size_t envelope_len = 0;
    int status;
    memset(&dev, 0, sizeof dev);
    if ((status = read_link_id(call, link_id)) != VAULT_OK ||
        (status = read_envelope(call, envelope, &envelope_len)) != VAULT_OK ||
        (status = vault_server__req_hex(call, "device_id", dev.id, sizeof dev.id)) != VAULT_OK ||
        (status = vault_server__req_name(call, "device_name", VAULT_STORE_DEVICE_NAME_MAX,
                                         &dev.name)) != VAULT_OK ||
        (status = vault_server__req_hex(call, "credential_hash", dev.credential_hash,
                                        sizeof dev.credential_hash)) != VAULT_OK)
        return status;
    status = st->ops->link_deliver(st, link_id, call->session.account_id, envelope, envelope_len,
                                   &dev, call->now_ms);
    if (status == VAULT_E_EXISTS)
        status = vault__fail(VAULT_E_EXISTS, "this device id is already registered");
    return status;
}

/* Checks the poster's fetch token in constant time; a wrong one aborts the
 * link (only a third party can get it wrong). */
static int check_fetch_token(vault_server_call *call, const uint8_t *link_id,
                             const vault_store_link *link)
{
    uint8_t token[VAULT_DEVICELINK_KEY_BYTES], hash[VAULT_STORE_HASH_BYTES];
    int status = vault_server__req_hex(call, "fetch_token", token, sizeof token);
    if (status != VAULT_OK)
        return status;
    vault_devicelink__token_hash(hash, token);
    /* For role 'o' the hash arrives with the post; for role 'n' it came
     * with the request. */
    int posted = link->role == VAULT_STORE_LINK_REVERSE || link->state != VAULT_STORE_LINK_OPEN;
    int same = sodium_memcmp(hash, link->fetch_hash, sizeof hash) == 0;
    sodium_memzero(token, sizeof token);
    if (posted && same)
        return VAULT_OK;
    if (posted)
        abort_link(call, link_id);
    return vault__fail(VAULT_E_AUTH, "wrong fetch token for this device link; link cancelled");
}

int vault_server__op_link_fetch(vault_server_call *call)
{
    vault_store *st = store_of(call);
    vault_store_link link;
    uint8_t link_id[VAULT_STORE_ID_BYTES];
    uint8_t *envelope = NULL;
    size_t envelope_len = 0;
    int status;
    if ((status = requested_link(call, link_id, &link, &envelope, &envelope_len)) != VAULT_OK)
        return status;
    if ((status = check_fetch_token(call, link_id, &link)) != VAULT_OK)
        goto done;
    if (link.state == VAULT_STORE_LINK_POSTED || link.state == VAULT_STORE_LINK_DELIVERED) {
        if (call->now_ms >= link.expires_ms) {
            status = vault__fail(VAULT_E_EXPIRED, "this device link has expired");
            goto done;
        }
    }
    if (link.state == VAULT_STORE_LINK_POSTED) {
        status = reply_ready(call, 0);
        goto done;
    }
    if (link.state != VAULT_STORE_LINK_DELIVERED || envelope == NULL) {
        status = link_state_error(&link);
        goto done;
    }
    /* Single use: the first fetch moves the link to DONE; a concurrent one
     * loses the compare-and-set and gets "already used". */
    if ((status = st->ops->link_set_state(st, link_id, VAULT_STORE_LINK_DELIVERED,
                                          VAULT_STORE_LINK_DONE)) == VAULT_OK &&
        (status = reply_ready(call, 1)) == VAULT_OK)
        status = reply_base64(call, "envelope", envelope, envelope_len);
done:
    vault__free(envelope);
    return status;
}

int vault_server__op_link_cancel(vault_server_call *call)
{
    vault_store_link link;
    uint8_t link_id[VAULT_STORE_ID_BYTES];
    int status;
    if ((status = own_link(call, link_id, &link)) != VAULT_OK)
        return status;
    return abort_link(call, link_id);
}

int vault_server__op_link_abort(vault_server_call *call)
{
    vault_store_link link;
    uint8_t link_id[VAULT_STORE_ID_BYTES];
    int status;
    if ((status = requested_link(call, link_id, &link, NULL, NULL)) != VAULT_OK ||
        (status = check_fetch_token(call, link_id, &link)) != VAULT_OK)
        return status;
    return abort_link(call, link_id);
}

/* ---- reverse direction: the new device shows the QR code ----------------------- */

int vault_server__op_link_request(vault_server_call *call)
{
    vault_store *st = store_of(call);
    vault_store_link link;
    int status;
    memset(&link, 0, sizeof link);
    if ((status = vault_server__req_hex(call, "fetch_hash", link.fetch_hash,
                                        sizeof link.fetch_hash)) != VAULT_OK)
        return status;
    link.role = VAULT_STORE_LINK_REVERSE;
    start_link(call, &link);
    if ((status = st->ops->link_request(st, &link, call->now_ms)) != VAULT_OK)
        return status;
    return reply_new_link(call, &link);
}

/* The logged-in device scanned the new device's code: its key is posted and
 * the link is bound to its account (and can then be delivered by it only). */
int vault_server__op_link_accept(vault_server_call *call)
{
    vault_store *st = store_of(call);
    vault_store_link posted;
    int status;
    memset(&posted, 0, sizeof posted);
    posted.role = VAULT_STORE_LINK_REVERSE;
    memcpy(posted.account_id, call->session.account_id, sizeof posted.account_id);
    memcpy(posted.device_id, call->session.device_id, sizeof posted.device_id);
    if ((status = read_posted_key(call, &posted)) != VAULT_OK)
        return status;
    status = st->ops->link_post_key(st, &posted, call->now_ms);
    if (status == VAULT_E_STATE)
        status = vault__fail(VAULT_E_STATE, "this link code was already accepted by another "
                                            "device");
    return status;
}

/* The new device waits for the logged-in device's key (proof: its token). */
int vault_server__op_link_wait(vault_server_call *call)
{
    vault_store_link link;
    uint8_t link_id[VAULT_STORE_ID_BYTES];
    int status;
    if ((status = requested_link(call, link_id, &link, NULL, NULL)) != VAULT_OK)
        return status;
    if (link.role != VAULT_STORE_LINK_REVERSE)
        return vault__fail(VAULT_E_NOT_FOUND, "no such device link");
    if ((status = check_fetch_token(call, link_id, &link)) != VAULT_OK)
        return status;
    return reply_posted_key(call, &link);
}
