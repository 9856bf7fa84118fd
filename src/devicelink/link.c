/*
 * vault_link_*: device linking driven step by step by an app (docs/devicelink.md).
 *
 *   old device A (logged in)            relay               new device B (empty store)
 *   vault_link_offer  ── link_create ──►
 *   vault_link_payload → QR code  ········ camera ········►  vault_link_join
 *                                      ◄── link_post_key ──  (pk_B, MAC under s, confirm tag)
 *   vault_link_poll   ── link_poll ───►  checks MAC, derives, checks the confirmation tag
 *   vault_link_sas            both screens show the same 6 digits            vault_link_sas
 *   vault_link_confirm ── link_deliver ─► (envelope: grant sealed with the session key)
 *                                      ◄── link_fetch ─────  vault_link_complete
 *
 * Every ephemeral secret (X25519 secret key, link secret, derived keys, fetch
 * token) lives in one sodium_malloc block, wiped by vault_link_free() and at
 * the end or abort of the exchange.
 */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <string.h>

#include "blob/blob.h"
#include "client/client.h"
#include "devicelink/devicelink.h"

#define DONE(l, rc) vault__capture((l)->c->errmsg, (rc))

enum link_step { STEP_OFFERED, STEP_JOINED, STEP_KEYED, STEP_SENT, STEP_DONE, STEP_ABORTED };

typedef struct link_secrets {
    vault_devicelink_payload payload; /* link id, shower pk, link secret */
    uint8_t my_sk[VAULT_DEVICELINK_SK_BYTES];
    uint8_t fetch_token[VAULT_DEVICELINK_KEY_BYTES];
    vault_devicelink_keys keys;
} link_secrets;

struct vault_link {
    vault_client *c;
    int is_old; /* 1: the logged-in device that offered; 0: the new device */
    enum link_step step;
    char link_id[2 * VAULT_DEVICELINK_ID_BYTES + 1];
    vault_devicelink_transcript t;
    link_secrets *sec;
};

static void wipe_secrets(vault_link *l)
{
    vault__secure_free(l->sec);
    l->sec = NULL;
}

static int new_link(vault_link **out, vault_client *c, int is_old)
{
    vault_link *l = vault__calloc(1, sizeof *l);
    if (l == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory starting a device link");
    l->sec = vault__secure_alloc(sizeof *l->sec);
    if (l->sec == NULL) {
        vault__free(l);
        return vault__fail(VAULT_E_NOMEM, "out of secure memory for a device link");
    }
    sodium_memzero(l->sec, sizeof *l->sec);
    l->c = c;
    l->is_old = is_old;
    *out = l;
    return VAULT_OK;
}

void vault_link_free(vault_link *l)
{
    if (l == NULL)
        return;
    wipe_secrets(l);
    sodium_memzero(l, sizeof *l);
    vault__free(l);
}

/* ---- requests ---------------------------------------------------------------- */

/* Sends {"op": op, "link_id": ..., extra members...}; *resp on success. */
static int link_request(vault_link *l, cJSON *req, cJSON **resp)
{
    int rc = VAULT_OK;
    if (cJSON_AddStringToObject(req, "link_id", l->link_id) == NULL)
        rc = vault__fail(VAULT_E_NOMEM, "out of memory building a request");
    if (rc == VAULT_OK)
        rc = vault_client__call(l->c, req, resp);
    return rc;
}

/* A hex member of the relay's answer, exactly len bytes (shared with device.c). */
int vault_devicelink__response_hex(const cJSON *resp, const char *name, uint8_t *out,
                                   size_t len)
{
    const char *hex = NULL;
    if (vault__json_string(resp, name, "server answer", &hex) != VAULT_OK ||
        vault__hex2bin(out, len, hex) != VAULT_OK)
        return vault__fail(VAULT_E_SERVER, "server answer: bad \"%s\"", name);
    return VAULT_OK;
}

/* VAULT_E_PENDING with `waiting` until the relay answers "ready": true. */
static int response_ready(const cJSON *resp, const char *waiting)
{
    int ready = 0;
    if (vault__json_bool(resp, "ready", "server answer", &ready) != VAULT_OK)
        return vault__fail(VAULT_E_SERVER, "server answer: missing \"ready\"");
    return ready ? VAULT_OK : vault__fail(VAULT_E_PENDING, "%s", waiting);
}

/* A request for op, authenticated as this side: the old device by its
 * session, the new device by its fetch token. */
static int new_request(vault_link *l, const char *op, cJSON **req)
{
    int rc = vault_client__request_new(req, op);
    if (rc == VAULT_OK)
        rc = l->is_old ? vault_client__add_session(l->c, *req)
                       : vault_client__add_hex(*req, "fetch_token", l->sec->fetch_token,
                                               sizeof l->sec->fetch_token);
    return rc;
}

/* Tells the relay to forget the link; best effort (the link expires anyway). */
static void cancel_on_server(vault_link *l)
{
    cJSON *req = NULL, *resp = NULL;
    if (new_request(l, l->is_old ? "link_cancel" : "link_abort", &req) == VAULT_OK)
        link_request(l, req, &resp);
    cJSON_Delete(req);
    cJSON_Delete(resp);
}

/* Aborts after a failed check: the relay forgets the link, secrets are wiped,
 * and the original failure (code and message) is what the caller sees. */
static int abort_with(vault_link *l, int rc)
{
    char msg[VAULT_ERRMSG_MAX];
    vault__capture(msg, rc);
    if (l->sec != NULL)
        cancel_on_server(l);
    wipe_secrets(l);
    l->step = STEP_ABORTED;
    return vault__fail(rc, "%s", msg);
}

/* Fills the payload and transcript of a showing side (role and link id set). */
static void make_shower(vault_link *l, uint8_t role)
{
    l->sec->payload.role = role;
    crypto_box_keypair(l->sec->payload.shower_pk, l->sec->my_sk);
    randombytes_buf(l->sec->payload.secret, sizeof l->sec->payload.secret);
    l->t.role = role;
    memcpy(l->t.link_id, l->sec->payload.link_id, sizeof l->t.link_id);
    memcpy(l->t.shower_pk, l->sec->payload.shower_pk, sizeof l->t.shower_pk);
    vault__bin2hex(l->link_id, l->sec->payload.link_id, VAULT_DEVICELINK_ID_BYTES);
    l->step = STEP_OFFERED;
}

/* Sends the request that opens the link on the relay; this side then shows
 * the code. */
static int open_on_server(vault_link *l, cJSON *req, uint8_t role)
{
    cJSON *resp = NULL;
    int rc = vault_client__call(l->c, req, &resp);
    if (rc == VAULT_OK)
        rc = vault_devicelink__response_hex(resp, "link_id", l->sec->payload.link_id,
                                            VAULT_DEVICELINK_ID_BYTES);
    if (rc == VAULT_OK)
        make_shower(l, role);
    cJSON_Delete(resp);
    return rc;
}

/* Once the scanner's key is posted only the session keys (and, on a new
 * device, the fetch token) are needed. */
static void scanned(vault_link *l)
{
    sodium_memzero(l->sec->my_sk, sizeof l->sec->my_sk);
    sodium_memzero(l->sec->payload.secret, sizeof l->sec->payload.secret);
    l->step = STEP_KEYED;
}

/* ---- old device ------------------------------------------------------------- */

int vault_link_offer(vault_link **out, vault_client *c)
{
    vault_link *l = NULL;
    cJSON *req = NULL;
    if (out != NULL)
        *out = NULL;
    if (out == NULL || c == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_link_offer: NULL argument");
    if (c->keys == NULL)
        return vault__capture(c->errmsg, vault__fail(VAULT_E_LOCKED, "unlock this device first"));
    int rc = new_link(&l, c, 1);
    if (rc == VAULT_OK)
        rc = new_request(l, "link_create", &req);
    if (rc == VAULT_OK)
        rc = open_on_server(l, req, VAULT_DEVICELINK_OFFER);
    if (rc == VAULT_OK) {
        *out = l;
        l = NULL;
    }
    cJSON_Delete(req);
    vault_link_free(l);
    return vault__capture(c->errmsg, rc);
}

int vault_link_payload(const vault_link *l, char **uri)
{
    if (uri != NULL)
        *uri = NULL;
    if (l == NULL || uri == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_link_payload: NULL argument");
    if (l->step != STEP_OFFERED || l->sec == NULL)
        return vault__fail(VAULT_E_STATE, "the QR code exists only while an offer waits");
    return vault_devicelink__payload_format(uri, &l->sec->payload);
}

/* Checks what the relay returned: no second poster, the MAC under the link
 * secret, then (after deriving) the key-confirmation tag. */
static int verify_posted_key(vault_link *l, const cJSON *resp)
{
    uint8_t mac[VAULT_DEVICELINK_MAC_BYTES], tag[VAULT_DEVICELINK_MAC_BYTES];
    uint64_t extra = 0;
    int rc = vault_devicelink__response_hex(resp, "public_key", l->t.scanner_pk,
                                            sizeof l->t.scanner_pk);
    if (rc == VAULT_OK)
        rc = vault_devicelink__response_hex(resp, "mac", mac, sizeof mac);
    if (rc == VAULT_OK)
        rc = vault_devicelink__response_hex(resp, "confirm", tag, sizeof tag);
    if (rc == VAULT_OK && vault__json_u64(resp, "extra_posts", "server answer", &extra) != VAULT_OK)
        rc = vault__fail(VAULT_E_SERVER, "server answer: bad \"extra_posts\"");
    if (rc != VAULT_OK)
        return rc;
    if (extra > 0)
        return vault__fail(VAULT_E_AUTH, "another device also used this link code (it may have "
                                         "been copied); link cancelled, start again");
    if ((rc = vault_devicelink__check_post_mac(mac, l->sec->payload.secret, &l->t)) != VAULT_OK)
        return rc;
    if ((rc = vault_devicelink__derive(&l->sec->keys, l->sec->payload.secret, l->sec->my_sk,
                                       &l->t, 1)) != VAULT_OK)
        return rc;
    return vault_devicelink__check_confirm_tag(tag, &l->sec->keys, &l->t);
}

/* Whoever shows the QR code polls for the scanner's key: the old device
 * with its session (offer), the new device with its fetch token (reverse). */
int vault_link_poll(vault_link *l)
{
    cJSON *req = NULL, *resp = NULL;
    if (l == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_link_poll: NULL link");
    if (l->step != STEP_OFFERED)
        return DONE(l, vault__fail(VAULT_E_STATE, "vault_link_poll: not waiting for a device"));
    int rc = new_request(l, l->is_old ? "link_poll" : "link_wait", &req);
    if (rc == VAULT_OK)
        rc = link_request(l, req, &resp);
    if (rc == VAULT_OK)
        rc = response_ready(resp, "no device has scanned the code yet");
    if (rc == VAULT_OK) {
        rc = verify_posted_key(l, resp);
        if (rc == VAULT_OK)
            scanned(l); /* same clean-up as the scanner: only session keys remain */
        else if (rc == VAULT_E_AUTH)
            rc = abort_with(l, rc);
    }
    if (rc == VAULT_E_EXPIRED) {
        wipe_secrets(l);
        l->step = STEP_ABORTED;
    }
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return DONE(l, rc);
}

int vault_link_sas(const vault_link *l, char **sas)
{
    if (sas != NULL)
        *sas = NULL;
    if (l == NULL || sas == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_link_sas: NULL argument");
    if (l->step != STEP_KEYED || l->sec == NULL)
        return vault__fail(VAULT_E_STATE, "no short code yet: the key exchange is not complete");
    *sas = vault__out_dup(l->sec->keys.sas, VAULT_DEVICELINK_SAS_DIGITS);
    return *sas != NULL ? VAULT_OK : vault__fail(VAULT_E_NOMEM, "out of memory");
}

/* The grant for the new device: a fresh device id and credential, the vault
 * key and the account's KDF parameters, and our highest revision with the
 * name of our blob at it (the chain head the new device checks against). */
static int make_grant(vault_link *l, vault_devicelink_grant *g, const char *device_name)
{
    vault_client *c = l->c;
    memcpy(g->device_name, device_name, strlen(device_name) + 1);
    memcpy(g->account_id, c->account_id, sizeof g->account_id);
    memcpy(g->vault_key, c->keys->vault_key, sizeof g->vault_key);
    vault__random_id(g->device_id);
    randombytes_buf(g->credential, sizeof g->credential);
    memcpy(g->secret_key, c->secret_key, sizeof g->secret_key);
    memcpy(g->email, c->email, strlen(c->email) + 1);
    g->opslimit = c->opslimit;
    g->memlimit = c->memlimit;
    g->revision = c->highest_revision;
    return vault_client__head(c, g->head);
}

static int deliver(vault_link *l, const vault_devicelink_grant *g, const uint8_t *env,
                   size_t env_len, const char *device_name)
{
    cJSON *req = NULL, *resp = NULL;
    uint8_t cred_hash[32];
    vault_devicelink__token_hash(cred_hash, g->credential);
    int rc = new_request(l, "link_deliver", &req);
    if (rc == VAULT_OK)
        rc = vault_client__add_blob(req, "envelope", env, env_len);
    if (rc == VAULT_OK)
        rc = vault_client__add_hex(req, "credential_hash", cred_hash, sizeof cred_hash);
    if (rc == VAULT_OK && (cJSON_AddStringToObject(req, "device_id", g->device_id) == NULL ||
                           cJSON_AddStringToObject(req, "device_name", device_name) == NULL))
        rc = vault__fail(VAULT_E_NOMEM, "out of memory building a request");
    if (rc == VAULT_OK)
        rc = link_request(l, req, &resp);
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return rc;
}

int vault_link_confirm(vault_link *l, const char *device_name)
{
    vault_devicelink_grant *g = NULL;
    char *json = NULL;
    uint8_t *env = NULL;
    size_t env_len = 0;
    if (l == NULL || device_name == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_link_confirm: NULL argument");
    size_t name_len = strlen(device_name);
    if (name_len == 0 || name_len > VAULT_DEVICELINK_NAME_MAX)
        return DONE(l, vault__fail(VAULT_E_INVALID, "device name must be 1..%u bytes",
                                   VAULT_DEVICELINK_NAME_MAX));
    if (!l->is_old || l->step != STEP_KEYED)
        return DONE(l, vault__fail(VAULT_E_STATE, "confirm only after the codes were shown"));
    if (l->c->keys == NULL)
        return DONE(l, vault__fail(VAULT_E_LOCKED, "the client was locked meanwhile"));
    int rc = (g = vault__secure_alloc(sizeof *g)) != NULL
                 ? VAULT_OK
                 : vault__fail(VAULT_E_NOMEM, "out of secure memory");
    if (rc == VAULT_OK)
        rc = make_grant(l, g, device_name);
    if (rc == VAULT_OK)
        rc = vault_devicelink__grant_encode(&json, g);
    if (rc == VAULT_OK)
        rc = vault_devicelink__envelope_seal(&env, &env_len, &l->sec->keys, &l->t,
                                             (const uint8_t *)json, strlen(json));
    if (rc == VAULT_OK)
        rc = deliver(l, g, env, env_len, device_name);
    if (rc == VAULT_OK) {
        l->step = STEP_SENT;
        wipe_secrets(l); /* A needs nothing more: the envelope is out */
    } else if (rc == VAULT_E_STATE || rc == VAULT_E_EXPIRED) {
        rc = abort_with(l, rc);
    }
    vault_free(json);
    vault_free(env);
    vault__secure_free(g);
    return DONE(l, rc);
}

/* The digits the user read on the other screen against ours, in constant
 * time; a mismatch aborts the link on both sides (the relay forgets it). */
static int check_seen_sas(vault_link *l, const char *seen)
{
    if (l->step != STEP_KEYED || l->sec == NULL)
        return vault__fail(VAULT_E_STATE, "no short code yet: the key exchange is not complete");
    int rc = vault_devicelink__sas_equal(l->sec->keys.sas, seen);
    return rc == VAULT_OK ? VAULT_OK : abort_with(l, rc);
}

int vault_link_confirm_sas(vault_link *l, const char *device_name, const char *sas_seen)
{
    if (l == NULL || device_name == NULL || sas_seen == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_link_confirm_sas: NULL argument");
    if (!l->is_old)
        return DONE(l, vault__fail(VAULT_E_STATE, "confirm only on the device that sends "
                                                  "the key"));
    int rc = check_seen_sas(l, sas_seen);
    return rc == VAULT_OK ? vault_link_confirm(l, device_name) : DONE(l, rc);
}

int vault_link_abort(vault_link *l)
{
    if (l == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_link_abort: NULL link");
    if (l->sec != NULL && l->step != STEP_DONE)
        cancel_on_server(l);
    wipe_secrets(l);
    l->step = STEP_ABORTED;
    return VAULT_OK;
}

/* ---- reverse direction: the new device shows the code ------------------------ */

int vault_link_request(vault_link **out, vault_client *c)
{
    vault_link *l = NULL;
    cJSON *req = NULL;
    uint8_t hash[32];
    if (out != NULL)
        *out = NULL;
    if (out == NULL || c == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_link_request: NULL argument");
    if (c->has_account)
        return vault__capture(c->errmsg, vault__fail(VAULT_E_EXISTS, "this store already "
                                                     "holds a vault; link into an empty one"));
    int rc = new_link(&l, c, 0);
    if (rc != VAULT_OK)
        return vault__capture(c->errmsg, rc);
    randombytes_buf(l->sec->fetch_token, sizeof l->sec->fetch_token);
    vault_devicelink__token_hash(hash, l->sec->fetch_token);
    rc = vault_client__request_new(&req, "link_request");
    if (rc == VAULT_OK)
        rc = vault_client__add_hex(req, "fetch_hash", hash, sizeof hash);
    if (rc == VAULT_OK)
        rc = open_on_server(l, req, VAULT_DEVICELINK_REVERSE);
    if (rc == VAULT_OK) {
        *out = l;
        l = NULL;
    }
    cJSON_Delete(req);
    vault_link_free(l);
    return vault__capture(c->errmsg, rc);
}

/* Parses a scanned code of the expected role into l's payload and transcript
 * and makes the scanner's key pair and session keys. */
static int scan(vault_link *l, const char *payload, uint8_t role)
{
    int rc = vault_devicelink__payload_parse(&l->sec->payload, payload);
    if (rc == VAULT_OK && l->sec->payload.role != role)
        rc = vault__fail(VAULT_E_INVALID, role == VAULT_DEVICELINK_OFFER
                                              ? "this code is shown by a new device: scan it "
                                                "with your logged-in device instead"
                                              : "this code is shown by a logged-in device: "
                                                "scan it with the new device instead");
    if (rc != VAULT_OK)
        return rc;
    vault__bin2hex(l->link_id, l->sec->payload.link_id, VAULT_DEVICELINK_ID_BYTES);
    l->t.role = role;
    memcpy(l->t.link_id, l->sec->payload.link_id, sizeof l->t.link_id);
    memcpy(l->t.shower_pk, l->sec->payload.shower_pk, sizeof l->t.shower_pk);
    crypto_box_keypair(l->t.scanner_pk, l->sec->my_sk);
    return vault_devicelink__derive(&l->sec->keys, l->sec->payload.secret, l->sec->my_sk, &l->t,
                                    0);
}

/* The scanner's key, MAC and confirmation tag as request members. */
static int add_scanner_key(vault_link *l, cJSON *req)
{
    uint8_t mac[VAULT_DEVICELINK_MAC_BYTES], tag[VAULT_DEVICELINK_MAC_BYTES];
    vault_devicelink__post_mac(mac, l->sec->payload.secret, &l->t);
    vault_devicelink__confirm_tag(tag, &l->sec->keys, &l->t);
    int rc = vault_client__add_hex(req, "public_key", l->t.scanner_pk, sizeof l->t.scanner_pk);
    if (rc == VAULT_OK)
        rc = vault_client__add_hex(req, "mac", mac, sizeof mac);
    if (rc == VAULT_OK)
        rc = vault_client__add_hex(req, "confirm", tag, sizeof tag);
    return rc;
}

int vault_link_accept(vault_link **out, vault_client *c, const char *payload)
{
    vault_link *l = NULL;
    cJSON *req = NULL, *resp = NULL;
    if (out != NULL)
        *out = NULL;
    if (out == NULL || c == NULL || payload == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_link_accept: NULL argument");
    if (c->keys == NULL)
        return vault__capture(c->errmsg, vault__fail(VAULT_E_LOCKED, "unlock this device first"));
    int rc = new_link(&l, c, 1);
    if (rc == VAULT_OK)
        rc = scan(l, payload, VAULT_DEVICELINK_REVERSE);
    if (rc == VAULT_OK)
        rc = new_request(l, "link_accept", &req);
    if (rc == VAULT_OK)
        rc = add_scanner_key(l, req);
    if (rc == VAULT_OK)
        rc = link_request(l, req, &resp);
    if (rc == VAULT_OK) {
        scanned(l);
        *out = l;
        l = NULL;
    }
    cJSON_Delete(req);
    cJSON_Delete(resp);
    vault_link_free(l);
    return vault__capture(c->errmsg, rc);
}

/* ---- new device -------------------------------------------------------------- */

static int post_key(vault_link *l)
{
    cJSON *req = NULL, *resp = NULL;
    uint8_t hash[32];
    vault_devicelink__token_hash(hash, l->sec->fetch_token);
    int rc = vault_client__request_new(&req, "link_post_key");
    if (rc == VAULT_OK)
        rc = add_scanner_key(l, req);
    if (rc == VAULT_OK)
        rc = vault_client__add_hex(req, "fetch_hash", hash, sizeof hash);
    if (rc == VAULT_OK)
        rc = link_request(l, req, &resp);
    if (rc == VAULT_E_STATE)
        rc = vault__fail(VAULT_E_STATE, "this link code was already used by another device: "
                                        "someone may have copied it. Cancel on your other "
                                        "device and start again");
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return rc;
}

int vault_link_join(vault_link **out, vault_client *c, const char *payload)
{
    vault_link *l = NULL;
    if (out != NULL)
        *out = NULL;
    if (out == NULL || c == NULL || payload == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_link_join: NULL argument");
    if (c->has_account)
        return vault__capture(c->errmsg, vault__fail(VAULT_E_EXISTS, "this store already "
                                                     "holds a vault; link into an empty one"));
    int rc = new_link(&l, c, 0);
    if (rc == VAULT_OK)
        rc = scan(l, payload, VAULT_DEVICELINK_OFFER);
    if (rc == VAULT_OK) {
        randombytes_buf(l->sec->fetch_token, sizeof l->sec->fetch_token);
        rc = post_key(l);
    }
    if (rc == VAULT_OK) {
        scanned(l);
        *out = l;
        l = NULL;
    }
    vault_link_free(l);
    return vault__capture(c->errmsg, rc);
}

static int fetch_envelope(vault_link *l, uint8_t **env, size_t *env_len)
{
    cJSON *req = NULL, *resp = NULL;
    const char *b64 = NULL;
    *env = NULL;
    int rc = new_request(l, "link_fetch", &req);
    if (rc == VAULT_OK)
        rc = link_request(l, req, &resp);
    if (rc == VAULT_OK)
        rc = response_ready(resp, "the other device has not confirmed yet");
    if (rc == VAULT_OK && (vault__json_string(resp, "envelope", "server answer", &b64) != VAULT_OK ||
                           vault__base64_decode(b64, VAULT_DEVICELINK_ENVELOPE_MAX, env,
                                                env_len) != VAULT_OK))
        rc = vault__fail(VAULT_E_SERVER, "server answer: bad envelope");
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return rc;
}

int vault_link_complete(vault_link *l, const uint8_t *local_key)
{
    vault_devicelink_grant *g = NULL;
    uint8_t *env = NULL, *json = NULL;
    size_t env_len = 0, json_len = 0;
    if (l == NULL || local_key == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_link_complete: NULL argument");
    if (l->is_old || l->step != STEP_KEYED)
        return DONE(l, vault__fail(VAULT_E_STATE, "vault_link_complete: not joined"));
    int rc = fetch_envelope(l, &env, &env_len);
    if (rc == VAULT_OK)
        rc = vault_devicelink__envelope_open(&json, &json_len, &l->sec->keys, &l->t, env, env_len);
    if (rc == VAULT_OK)
        rc = (g = vault__secure_alloc(sizeof *g)) != NULL
                 ? VAULT_OK
                 : vault__fail(VAULT_E_NOMEM, "out of secure memory");
    if (rc == VAULT_OK)
        rc = vault_devicelink__grant_decode(g, (const char *)json, json_len);
    if (rc == VAULT_OK)
        rc = vault_devicelink__adopt_grant(l->c, g, local_key);
    if (rc == VAULT_OK) {
        l->step = STEP_DONE;
        wipe_secrets(l);
    } else if (rc != VAULT_E_PENDING && rc != VAULT_E_NETWORK) {
        /* A tampered envelope or a refused link: nothing to retry. */
        wipe_secrets(l);
        l->step = STEP_ABORTED;
    }
    vault__secure_free(g);
    vault_free(json);
    vault_free(env);
    return DONE(l, rc);
}

int vault_link_complete_sas(vault_link *l, const uint8_t *local_key, const char *sas_seen)
{
    if (l == NULL || local_key == NULL || sas_seen == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_link_complete_sas: NULL argument");
    if (l->is_old)
        return DONE(l, vault__fail(VAULT_E_STATE, "vault_link_complete_sas: not joined"));
    int rc = check_seen_sas(l, sas_seen);
    return rc == VAULT_OK ? vault_link_complete(l, local_key) : DONE(l, rc);
}
