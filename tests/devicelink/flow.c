/* Device linking between clients through the in-process server: the full
 * exchange, a relay that substitutes its own key, codes that differ, a racer
 * with a copied code, expired and reused links, a tampered envelope, and
 * revocation with key rotation. */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"
#include "common/common.h"
#include "devicelink/devicelink.h"
#include "suites.h"
#include "testutil.h"

#define EMAIL "ada@example.org"
#define PASSWORD "correct horse battery staple"

/* A transport in front of the in-process server that can misbehave. */
typedef struct relay_mitm {
    vault_server *server;
    int swap_posted_key; /* replace the public key in link_post_key by its own */
    int flip_envelope;   /* flip a byte of the envelope in link_fetch answers */
} relay_mitm;

typedef struct world {
    vault_server *server;
    relay_mitm relay;
    vault_client *a;
} world;

static const uint8_t pepper[32] = "0123456789abcdef0123456789abcdef";

static char *replace_member(const char *text, size_t len, const char *name, const char *value)
{
    cJSON *j = cJSON_ParseWithLength(text, len);
    assert_non_null(j);
    cJSON_ReplaceItemInObjectCaseSensitive(j, name, cJSON_CreateString(value));
    char *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return out;
}

static void flip_envelope(char **response, size_t *response_len)
{
    cJSON *j = cJSON_Parse(*response);
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(j, "envelope");
    if (cJSON_IsString(env)) {
        uint8_t bin[VAULT_DEVICELINK_ENVELOPE_MAX];
        size_t n = 0;
        assert_int_equal(sodium_base642bin(bin, sizeof bin, env->valuestring,
                                           strlen(env->valuestring), NULL, &n, NULL,
                                           sodium_base64_VARIANT_ORIGINAL), 0);
        bin[n - 5] ^= 0x20;
        char b64[sodium_base64_ENCODED_LEN(VAULT_DEVICELINK_ENVELOPE_MAX,
                                           sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(b64, sizeof b64, bin, n, sodium_base64_VARIANT_ORIGINAL);
        cJSON_ReplaceItemInObjectCaseSensitive(j, "envelope", cJSON_CreateString(b64));
        char *text = cJSON_PrintUnformatted(j);
        vault_free(*response);
        *response_len = strlen(text);
        *response = vault__out_dup(text, *response_len);
        cJSON_free(text);
    }
    cJSON_Delete(j);
}

static int mitm_transport(const char *request, size_t request_len, char **response,
                          size_t *response_len, void *ctx)
{
    relay_mitm *m = ctx;
    char *rewritten = NULL;
    if (m->swap_posted_key && (strstr(request, "\"link_post_key\"") != NULL ||
                               strstr(request, "\"link_accept\"") != NULL)) {
        uint8_t pk[32], sk[32];
        char hex[65];
        crypto_box_keypair(pk, sk);
        vault__bin2hex(hex, pk, sizeof pk);
        rewritten = replace_member(request, request_len, "public_key", hex);
        request = rewritten;
        request_len = strlen(rewritten);
    }
    int rc = vault_server_handle(m->server, request, request_len, response);
    if (rewritten != NULL)
        cJSON_free(rewritten);
    if (rc != VAULT_OK)
        return VAULT_E_NETWORK;
    *response_len = strlen(*response);
    if (m->flip_envelope && strstr(request, "\"link_fetch\"") != NULL)
        flip_envelope(response, response_len);
    return VAULT_OK;
}

static int offline_transport(const char *request, size_t request_len, char **response,
                             size_t *response_len, void *ctx)
{
    (void)request, (void)request_len, (void)response, (void)response_len, (void)ctx;
    return VAULT_E_NETWORK;
}

static vault_client *fresh_client(world *w, const char *name)
{
    static int n;
    char file[64];
    vault_client *c = NULL;
    snprintf(file, sizeof file, "%s%d.db", name, n++);
    const char *path = test_path(file);
    unlink(path);
    assert_int_equal(vault_client_open(&c, path, 0), VAULT_OK);
    assert_int_equal(vault_client_connect_custom(c, mitm_transport, &w->relay), VAULT_OK);
    return c;
}

static int setup(void **state)
{
    static int n;
    char name[64];
    world *w = calloc(1, sizeof *w);
    snprintf(name, sizeof name, "linkserver%d.db", n++);
    unlink(test_path(name));
    assert_int_equal(vault_server_open(&w->server, test_path(name), pepper, sizeof pepper, 0),
                     VAULT_OK);
    w->relay.server = w->server;
    w->a = fresh_client(w, "a");
    assert_int_equal(vault_client_create(w->a, PASSWORD, TEST_OPS, TEST_MEM), VAULT_OK);
    vault *v = NULL;
    assert_int_equal(vault_client_vault(w->a, &v), VAULT_OK);
    assert_int_equal(vault_item_add(v, "{\"type\":\"login\",\"title\":\"GitHub\","
                                       "\"fields\":[{\"name\":\"password\",\"value\":\"s3cret\","
                                       "\"hidden\":true}]}", NULL),
                     VAULT_OK);
    assert_int_equal(vault_client_save(w->a), VAULT_OK);
    assert_int_equal(vault_client_register(w->a, EMAIL), VAULT_OK);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    vault_client_close(w->a);
    vault_server_close(w->server);
    vault__set_clock_for_tests(0);
    free(w);
    return 0;
}

static char *payload_of(vault_link *offer)
{
    char *uri = NULL;
    assert_int_equal(vault_link_payload(offer, &uri), VAULT_OK);
    return uri;
}

static char *sas_of(vault_link *l)
{
    char *sas = NULL;
    assert_int_equal(vault_link_sas(l, &sas), VAULT_OK);
    assert_int_equal(strlen(sas), 6);
    return sas;
}

/* Links a new client to A; returns it unlocked. */
static vault_client *link_new_device(world *w, const char *name, const uint8_t *local_key)
{
    vault_client *b = fresh_client(w, name);
    vault_link *offer = NULL, *join = NULL;
    assert_int_equal(vault_link_offer(&offer, w->a), VAULT_OK);
    char *uri = payload_of(offer);
    assert_int_equal(vault_link_poll(offer), VAULT_E_PENDING);
    assert_int_equal(vault_link_join(&join, b, uri), VAULT_OK);
    assert_int_equal(vault_link_poll(offer), VAULT_OK);
    char *sas_a = sas_of(offer), *sas_b = sas_of(join);
    assert_string_equal(sas_a, sas_b);
    assert_int_equal(vault_link_complete(join, local_key), VAULT_E_PENDING);
    assert_int_equal(vault_link_confirm(offer, name), VAULT_OK);
    assert_int_equal(vault_link_complete(join, local_key), VAULT_OK);
    vault_free(sas_a);
    vault_free(sas_b);
    vault_free(uri);
    vault_link_free(offer);
    vault_link_free(join);
    return b;
}

static int has_item_titled(vault_client *c, const char *title)
{
    vault *v = NULL;
    char *list = NULL;
    assert_int_equal(vault_client_vault(c, &v), VAULT_OK);
    assert_int_equal(vault_item_list(v, 0, &list), VAULT_OK);
    int found = strstr(list, title) != NULL;
    vault_free(list);
    return found;
}

static void test_devicelink_flow__full_link_then_unlock_with_device_key(void **state)
{
    world *w = *state;
    uint8_t local_key[32], wrong[32];
    test_key(local_key, 0x21);
    test_key(wrong, 0x22);
    vault_client *b = link_new_device(w, "laptop", local_key);
    assert_true(has_item_titled(b, "GitHub"));
    char *a_id = NULL, *b_id = NULL;
    assert_int_equal(vault_client_account_id(w->a, &a_id), VAULT_OK);
    assert_int_equal(vault_client_account_id(b, &b_id), VAULT_OK);
    assert_string_equal(a_id, b_id);

    /* B listed itself in the vault; A sees it after a pull */
    char *devices = NULL;
    assert_int_equal(vault_client_devices(b, &devices), VAULT_OK);
    cJSON *list = cJSON_Parse(devices);
    assert_int_equal(cJSON_GetArraySize(list), 1);
    const cJSON *me = cJSON_GetArrayItem(list, 0);
    assert_string_equal(cJSON_GetObjectItem(me, "name")->valuestring, "laptop");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(me, "current")));
    assert_int_equal(strlen(cJSON_GetObjectItem(me, "public_key")->valuestring), 64);
    cJSON_Delete(list);
    vault_free(devices);
    assert_int_equal(vault_client_pull(w->a), VAULT_OK);
    assert_int_equal(vault_client_devices(w->a, &devices), VAULT_OK);
    assert_non_null(strstr(devices, "laptop"));
    assert_non_null(strstr(devices, "\"current\":false"));
    vault_free(devices);

    /* the linked device unlocks without the password */
    assert_int_equal(vault_client_lock(b), VAULT_OK);
    assert_int_equal(vault_client_unlock_device(b, wrong), VAULT_E_AUTH);
    assert_int_equal(vault_client_unlock_device(b, local_key), VAULT_OK);
    assert_true(has_item_titled(b, "GitHub"));
    assert_int_equal(vault_client_pull(b), VAULT_OK);
    /* offline, the local copy still opens with the device key */
    assert_int_equal(vault_client_lock(b), VAULT_OK);
    assert_int_equal(vault_client_connect_custom(b, offline_transport, NULL), VAULT_OK);
    assert_int_equal(vault_client_unlock_device(b, local_key), VAULT_OK);
    assert_true(has_item_titled(b, "GitHub"));
    assert_int_equal(vault_client_pull(b), VAULT_E_STATE); /* no session offline */
    vault_free(a_id);
    vault_free(b_id);
    vault_client_close(b);
}

/* The relay swaps B's public key for its own: A's MAC check fails, A sends no
 * envelope and the link is cancelled. */
static void test_devicelink_flow__substituted_key_is_refused(void **state)
{
    world *w = *state;
    uint8_t local_key[32];
    test_key(local_key, 0x31);
    vault_client *b = fresh_client(w, "b");
    vault_link *offer = NULL, *join = NULL;
    assert_int_equal(vault_link_offer(&offer, w->a), VAULT_OK);
    char *uri = payload_of(offer);
    w->relay.swap_posted_key = 1;
    assert_int_equal(vault_link_join(&join, b, uri), VAULT_OK);
    w->relay.swap_posted_key = 0;
    assert_int_equal(vault_link_poll(offer), VAULT_E_AUTH);
    assert_non_null(strstr(vault_client_errmsg(w->a), "MAC"));
    char *sas = NULL;
    assert_int_equal(vault_link_sas(offer, &sas), VAULT_E_STATE);
    assert_int_equal(vault_link_confirm(offer, "laptop"), VAULT_E_STATE);
    /* no envelope ever: the link was cancelled */
    assert_int_equal(vault_link_complete(join, local_key), VAULT_E_STATE);
    int32_t unlocked = 1;
    assert_int_equal(vault_client_is_unlocked(b, &unlocked), VAULT_OK);
    assert_int_equal(unlocked, 0);
    vault_free(uri);
    vault_link_free(offer);
    vault_link_free(join);
    vault_client_close(b);
}

/* The user sees different codes and aborts on A: B never gets anything. */
static void test_devicelink_flow__sas_mismatch_abort(void **state)
{
    world *w = *state;
    uint8_t local_key[32];
    test_key(local_key, 0x41);
    vault_client *b = fresh_client(w, "b");
    vault_link *offer = NULL, *join = NULL;
    assert_int_equal(vault_link_offer(&offer, w->a), VAULT_OK);
    char *uri = payload_of(offer);
    assert_int_equal(vault_link_join(&join, b, uri), VAULT_OK);
    assert_int_equal(vault_link_poll(offer), VAULT_OK);
    assert_int_equal(vault_devicelink__sas_equal("123456", "654321"), VAULT_E_SAS);
    assert_int_equal(vault_link_abort(offer), VAULT_OK);
    assert_int_equal(vault_link_confirm(offer, "laptop"), VAULT_E_STATE);
    assert_int_equal(vault_link_complete(join, local_key), VAULT_E_STATE);
    assert_non_null(strstr(vault_client_errmsg(b), "cancelled"));
    vault_free(uri);
    vault_link_free(offer);
    vault_link_free(join);
    vault_client_close(b);
}

/* A third party with a copy of the QR code posts first: the real device is
 * refused and told so; A sees the second attempt and cancels. */
static void test_devicelink_flow__racer_with_copied_code_is_detected(void **state)
{
    world *w = *state;
    uint8_t local_key[32];
    test_key(local_key, 0x51);
    vault_client *b = fresh_client(w, "b"), *racer = fresh_client(w, "racer");
    vault_link *offer = NULL, *join = NULL, *race = NULL;
    assert_int_equal(vault_link_offer(&offer, w->a), VAULT_OK);
    char *uri = payload_of(offer);
    assert_int_equal(vault_link_join(&race, racer, uri), VAULT_OK);
    assert_int_equal(vault_link_join(&join, b, uri), VAULT_E_STATE);
    assert_null(join);
    assert_non_null(strstr(vault_client_errmsg(b), "copied"));
    assert_int_equal(vault_link_poll(offer), VAULT_E_AUTH);
    assert_non_null(strstr(vault_client_errmsg(w->a), "another device"));
    assert_int_equal(vault_link_complete(race, local_key), VAULT_E_STATE);
    vault_free(uri);
    vault_link_free(offer);
    vault_link_free(race);
    vault_client_close(b);
    vault_client_close(racer);
}

/* The racer posts, A polls before the real device tries: A shows the racer's
 * code, which the real device cannot show (its join is refused); the user
 * aborts. */
static void test_devicelink_flow__racer_before_poll_shows_wrong_code(void **state)
{
    world *w = *state;
    uint8_t local_key[32];
    test_key(local_key, 0x52);
    vault_client *b = fresh_client(w, "b"), *racer = fresh_client(w, "racer");
    vault_link *offer = NULL, *join = NULL, *race = NULL;
    assert_int_equal(vault_link_offer(&offer, w->a), VAULT_OK);
    char *uri = payload_of(offer);
    assert_int_equal(vault_link_join(&race, racer, uri), VAULT_OK);
    assert_int_equal(vault_link_poll(offer), VAULT_OK);
    assert_int_equal(vault_link_join(&join, b, uri), VAULT_E_STATE);
    assert_int_equal(vault_link_abort(offer), VAULT_OK);
    assert_int_equal(vault_link_complete(race, local_key), VAULT_E_STATE);
    vault_free(uri);
    vault_link_free(offer);
    vault_link_free(race);
    vault_client_close(b);
    vault_client_close(racer);
}

static void test_devicelink_flow__expired_and_reused_links(void **state)
{
    world *w = *state;
    uint8_t local_key[32];
    test_key(local_key, 0x61);
    vault_client *b = fresh_client(w, "b");
    vault_link *offer = NULL, *join = NULL;
    assert_int_equal(vault_link_offer(&offer, w->a), VAULT_OK);
    char *uri = payload_of(offer);
    assert_int_equal(vault_server_set_option(w->server, VAULT_SERVER_CLOCK_SKEW, 301), VAULT_OK);
    assert_int_equal(vault_link_join(&join, b, uri), VAULT_E_EXPIRED);
    assert_int_equal(vault_link_poll(offer), VAULT_E_EXPIRED);
    assert_int_equal(vault_server_set_option(w->server, VAULT_SERVER_CLOCK_SKEW, 0), VAULT_OK);
    vault_free(uri);
    vault_link_free(offer);
    vault_client_close(b);

    /* a used code cannot be used again, and a completed link cannot be replayed */
    b = link_new_device(w, "laptop", local_key);
    vault_client *c = fresh_client(w, "c");
    assert_int_equal(vault_link_offer(&offer, w->a), VAULT_OK);
    uri = payload_of(offer);
    assert_int_equal(vault_link_join(&join, c, uri), VAULT_OK);
    assert_int_equal(vault_link_poll(offer), VAULT_OK);
    assert_int_equal(vault_link_confirm(offer, "tablet"), VAULT_OK);
    assert_int_equal(vault_link_confirm(offer, "tablet"), VAULT_E_STATE);
    assert_int_equal(vault_link_complete(join, local_key), VAULT_OK);
    assert_int_equal(vault_link_complete(join, local_key), VAULT_E_STATE);
    vault_link_free(join);
    join = NULL;
    vault_client *d = fresh_client(w, "d");
    assert_int_equal(vault_link_join(&join, d, uri), VAULT_E_STATE);
    assert_int_equal(vault_link_join(&join, b, uri), VAULT_E_EXISTS); /* not an empty store */
    assert_int_equal(vault_link_join(&join, d, "zkvlink:1/o/garbage"), VAULT_E_INVALID);
    assert_int_equal(vault_link_join(&join, d, "zkvlink:2/o/anything"), VAULT_E_VERSION);
    vault_free(uri);
    vault_link_free(offer);
    vault_client_close(b);
    vault_client_close(c);
    vault_client_close(d);
}

static void test_devicelink_flow__tampered_envelope_is_refused(void **state)
{
    world *w = *state;
    uint8_t local_key[32];
    test_key(local_key, 0x71);
    vault_client *b = fresh_client(w, "b");
    vault_link *offer = NULL, *join = NULL;
    assert_int_equal(vault_link_offer(&offer, w->a), VAULT_OK);
    char *uri = payload_of(offer);
    assert_int_equal(vault_link_join(&join, b, uri), VAULT_OK);
    assert_int_equal(vault_link_poll(offer), VAULT_OK);
    assert_int_equal(vault_link_confirm(offer, "laptop"), VAULT_OK);
    w->relay.flip_envelope = 1;
    assert_int_equal(vault_link_complete(join, local_key), VAULT_E_AUTH);
    w->relay.flip_envelope = 0;
    char *id = NULL;
    assert_int_equal(vault_client_account_id(b, &id), VAULT_E_NOT_FOUND); /* nothing adopted */
    vault_free(uri);
    vault_link_free(offer);
    vault_link_free(join);
    vault_client_close(b);
}

/* A revokes C: C's session and credential stop working and C's old key does
 * not open the new revision; B, unlocked again, picks up the rotated key at
 * its next pull. */
static void test_devicelink_flow__revoke_rotates_the_vault_key(void **state)
{
    world *w = *state;
    uint8_t key_b[32], key_c[32], old_vk[32];
    test_key(key_b, 0x81);
    test_key(key_c, 0x91);
    vault_client *b = link_new_device(w, "laptop", key_b);
    vault_client *c = link_new_device(w, "tablet", key_c);
    memcpy(old_vk, c->keys->vault_key, sizeof old_vk);
    char *c_id = NULL;
    assert_int_equal(vault_client_devices(c, &c_id), VAULT_OK);
    vault_free(c_id);
    c_id = vault__out_dup(c->device_id, strlen(c->device_id));

    assert_int_equal(vault_client_pull(w->a), VAULT_OK);
    assert_int_equal(vault_client_revoke(w->a, w->a->device_id), VAULT_E_INVALID);
    assert_int_equal(vault_client_revoke(w->a, "00000000000000000000000000000000"),
                     VAULT_E_NOT_FOUND);
    assert_int_equal(vault_client_revoke(b, c_id), VAULT_E_STATE); /* no password on B */
    assert_int_equal(vault_client_revoke(w->a, c_id), VAULT_OK);
    char *devices = NULL;
    assert_int_equal(vault_client_devices(w->a, &devices), VAULT_OK);
    assert_null(strstr(devices, c_id));
    assert_non_null(strstr(devices, "laptop"));
    vault_free(devices);

    /* a new revision after the rotation */
    vault *v = NULL;
    assert_int_equal(vault_client_vault(w->a, &v), VAULT_OK);
    assert_int_equal(vault_item_add(v, "{\"type\":\"note\",\"title\":\"After revoke\"}", NULL),
                     VAULT_OK);
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);

    /* C: refused by the server, and its key does not open the new blob */
    assert_int_equal(vault_client_pull(c), VAULT_E_REVOKED);
    assert_int_equal(vault_client_lock(c), VAULT_OK);
    assert_int_equal(vault_client_unlock_device(c, key_c), VAULT_E_REVOKED);
    uint8_t *blob = NULL, *plain = NULL;
    size_t blob_len = 0, plain_len = 0;
    uint64_t rev = 0;
    assert_int_equal(vault_client_revision(w->a, &rev), VAULT_OK);
    assert_int_equal(vault_client__store_get(w->a, "base_blob", &blob, &blob_len), VAULT_OK);
    assert_int_equal(vault_blob_open(&plain, &plain_len, old_vk, w->a->account_id, rev, blob,
                                     blob_len), VAULT_E_AUTH);
    assert_int_equal(vault_blob_open(&plain, &plain_len, w->a->keys->vault_key,
                                     w->a->account_id, rev, blob, blob_len), VAULT_OK);
    vault_free(plain);
    vault_free(blob);

    /* B: unlocks with its old key, adopts the rotated one at its pull and
     * reads the new revision */
    assert_int_equal(vault_client_lock(b), VAULT_OK);
    assert_int_equal(vault_client_unlock_device(b, key_b), VAULT_OK);
    assert_memory_equal(b->keys->vault_key, old_vk, 32);
    /* a linked device never had the password: it has no local
     * password-wrapped key until a password login makes one */
    assert_int_equal(vault_client_lock(b), VAULT_OK);
    assert_int_equal(vault_client_unlock(b, PASSWORD), VAULT_E_STATE);
    assert_int_equal(vault_client_unlock_device(b, key_b), VAULT_OK);
    assert_int_equal(vault_client_pull(b), VAULT_OK);
    assert_memory_equal(b->keys->vault_key, w->a->keys->vault_key, 32);
    assert_true(has_item_titled(b, "After revoke"));
    assert_int_equal(vault_client_lock(b), VAULT_OK); /* and again, from the re-sealed store */
    assert_int_equal(vault_client_unlock_device(b, key_b), VAULT_OK);
    assert_true(has_item_titled(b, "After revoke"));
    vault_free(c_id);
    vault_client_close(b);
    vault_client_close(c);
}

/* A device that logs in with the password (not linked) learns the rotated key
 * from the re-wrapped protected key at its next login, and an edit it made
 * offline under the old key survives and syncs. */
static void test_devicelink_flow__password_device_adopts_rotated_key(void **state)
{
    world *w = *state;
    uint8_t key_c[32];
    test_key(key_c, 0xa1);
    vault_client *p = fresh_client(w, "pw-device");
    char *kit = NULL, sk[40] = "";
    assert_int_equal(vault_client_emergency_kit(w->a, &kit), VAULT_OK);
    sscanf(strstr(kit, "ZK1-"), "%39s", sk);
    assert_int_equal(vault_client_set_secret_key(p, sk), VAULT_OK);
    vault_free(kit);
    assert_int_equal(vault_client_login(p, EMAIL, PASSWORD), VAULT_OK);
    vault_client *c = link_new_device(w, "tablet", key_c);
    vault *v = NULL;
    assert_int_equal(vault_client_vault(p, &v), VAULT_OK);
    assert_int_equal(vault_item_add(v, "{\"type\":\"note\",\"title\":\"Offline edit\"}", NULL),
                     VAULT_OK);
    assert_int_equal(vault_client_save(p), VAULT_OK);

    assert_int_equal(vault_client_pull(w->a), VAULT_OK);
    assert_int_equal(vault_client_revoke(w->a, c->device_id), VAULT_OK);
    assert_int_equal(vault_client_pull(p), VAULT_E_AUTH); /* old key, new blob */
    assert_true(has_item_titled(p, "Offline edit"));      /* nothing lost locally */

    assert_int_equal(vault_client_login(p, EMAIL, PASSWORD), VAULT_OK);
    assert_memory_equal(p->keys->vault_key, w->a->keys->vault_key, 32);
    assert_true(has_item_titled(p, "Offline edit"));
    assert_int_equal(vault_client_sync(p), VAULT_OK);
    assert_int_equal(vault_client_pull(w->a), VAULT_OK);
    assert_true(has_item_titled(w->a, "Offline edit"));
    /* and the re-sealed local store unlocks with the password alone */
    vault_client_lock(p);
    assert_int_equal(vault_client_unlock(p, PASSWORD), VAULT_OK);
    assert_true(has_item_titled(p, "Offline edit"));
    vault_client_close(p);
    vault_client_close(c);
}

/* Reverse direction: the new device shows the code, the logged-in device
 * scans it. */
static void test_devicelink_flow__reverse_direction(void **state)
{
    world *w = *state;
    uint8_t local_key[32];
    test_key(local_key, 0xb1);
    vault_client *b = fresh_client(w, "rev-b");
    vault_link *shown = NULL, *accepted = NULL, *wrong = NULL;
    assert_int_equal(vault_link_request(&shown, b), VAULT_OK);
    char *uri = payload_of(shown);
    assert_int_equal(strncmp(uri, "zkvlink:1/n/", 12), 0);
    assert_int_equal(vault_link_poll(shown), VAULT_E_PENDING);
    /* the codes of the two directions are not interchangeable */
    vault_client *other = fresh_client(w, "rev-other");
    assert_int_equal(vault_link_join(&wrong, other, uri), VAULT_E_INVALID);
    vault_client_close(other);
    assert_int_equal(vault_link_accept(&accepted, w->a, uri), VAULT_OK);
    assert_int_equal(vault_link_poll(shown), VAULT_OK);
    char *sas_a = sas_of(accepted), *sas_b = sas_of(shown);
    assert_string_equal(sas_a, sas_b);
    assert_int_equal(vault_link_complete(shown, local_key), VAULT_E_PENDING);
    assert_int_equal(vault_link_confirm(accepted, "desktop"), VAULT_OK);
    assert_int_equal(vault_link_complete(shown, local_key), VAULT_OK);
    assert_true(has_item_titled(b, "GitHub"));
    assert_int_equal(vault_client_lock(b), VAULT_OK);
    assert_int_equal(vault_client_unlock_device(b, local_key), VAULT_OK);
    vault_free(sas_a);
    vault_free(sas_b);
    vault_free(uri);
    vault_link_free(shown);
    vault_link_free(accepted);
    vault_client_close(b);
}

/* Reverse direction, the relay swaps the logged-in device's key: the new
 * device's MAC check fails, it cancels, and no envelope can be delivered. */
static void test_devicelink_flow__reverse_substituted_key_is_refused(void **state)
{
    world *w = *state;
    uint8_t local_key[32];
    test_key(local_key, 0xb2);
    vault_client *b = fresh_client(w, "rev-b");
    vault_link *shown = NULL, *accepted = NULL;
    assert_int_equal(vault_link_request(&shown, b), VAULT_OK);
    char *uri = payload_of(shown);
    w->relay.swap_posted_key = 1;
    assert_int_equal(vault_link_accept(&accepted, w->a, uri), VAULT_OK);
    w->relay.swap_posted_key = 0;
    assert_int_equal(vault_link_poll(shown), VAULT_E_AUTH);
    assert_int_equal(vault_link_confirm(accepted, "desktop"), VAULT_E_STATE);
    assert_int_equal(vault_link_complete(shown, local_key), VAULT_E_STATE);
    vault_free(uri);
    vault_link_free(shown);
    vault_link_free(accepted);
    vault_client_close(b);
}

/* Reverse direction, someone else's account accepts a copied code first: the
 * user's own device is refused, and the new device sees two accepts and
 * cancels, so it never joins the stranger's account. */
static void test_devicelink_flow__reverse_racer_is_detected(void **state)
{
    world *w = *state;
    uint8_t local_key[32];
    test_key(local_key, 0xb3);
    vault_client *x = fresh_client(w, "stranger");
    assert_int_equal(vault_client_create(x, "another password", TEST_OPS, TEST_MEM), VAULT_OK);
    assert_int_equal(vault_client_register(x, "mallory@example.org"), VAULT_OK);
    vault_client *b = fresh_client(w, "rev-b");
    vault_link *shown = NULL, *mine = NULL, *theirs = NULL;
    assert_int_equal(vault_link_request(&shown, b), VAULT_OK);
    char *uri = payload_of(shown);
    assert_int_equal(vault_link_accept(&theirs, x, uri), VAULT_OK);
    assert_int_equal(vault_link_accept(&mine, w->a, uri), VAULT_E_STATE);
    assert_non_null(strstr(vault_client_errmsg(w->a), "another device"));
    assert_int_equal(vault_link_poll(shown), VAULT_E_AUTH);
    assert_int_equal(vault_link_confirm(theirs, "desktop"), VAULT_E_STATE);
    char *id = NULL;
    assert_int_equal(vault_client_account_id(b, &id), VAULT_E_NOT_FOUND);
    vault_free(uri);
    vault_link_free(shown);
    vault_link_free(theirs);
    vault_client_close(b);
    vault_client_close(x);
}

/* Every allocation of vault_link_join (client and in-process relay) failing
 * in turn: each run ends with a status, never a crash or a leak (ASan), and
 * once no allocation fails the join succeeds. */
static void test_devicelink_flow__join_survives_allocation_failures(void **state)
{
    world *w = *state;
    int nomem = 0, done = 0;
    for (uint64_t n = 1; n < 2000 && !done; n++) {
        vault_client *b = fresh_client(w, "alloc");
        vault_link *offer = NULL, *join = NULL;
        assert_int_equal(vault_link_offer(&offer, w->a), VAULT_OK);
        char *uri = payload_of(offer);
        vault__alloc_fail_after(n);
        int rc = vault_link_join(&join, b, uri);
        int hit = vault__alloc_count() >= n;
        vault__alloc_fail_after(0);
        if (rc == VAULT_E_NOMEM)
            nomem++;
        if (rc == VAULT_OK)
            assert_non_null(join);
        else
            assert_null(join);
        done = !hit;
        if (done)
            assert_int_equal(rc, VAULT_OK);
        vault_link_abort(offer);
        vault_free(uri);
        vault_link_free(offer);
        vault_link_free(join);
        vault_client_close(b);
    }
    assert_true(done);
    assert_true(nomem > 0);
}

/* The same exchange over HTTP through the reference daemon (libmicrohttpd on
 * loopback, libcurl in the clients). */
static void test_devicelink_flow__full_link_over_http(void **state)
{
    world *w = *state;
    vault_httpd *httpd = NULL;
    char url[64];
    uint8_t local_key[32];
    test_key(local_key, 0xa1);
    assert_int_equal(vault_httpd_start(&httpd, w->server, "127.0.0.1", 0, NULL, NULL, 2),
                     VAULT_OK);
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)vault_httpd_port(httpd));
    char *session = vault__out_dup(w->a->session, strlen(w->a->session));
    assert_int_equal(vault_client_connect_http(w->a, url, 0), VAULT_OK);
    memcpy(w->a->session, session, strlen(session) + 1); /* keep A's session */
    vault_free(session);

    vault_client *b = fresh_client(w, "http-b");
    assert_int_equal(vault_client_connect_http(b, url, 0), VAULT_OK);
    vault_link *offer = NULL, *join = NULL;
    assert_int_equal(vault_link_offer(&offer, w->a), VAULT_OK);
    char *uri = payload_of(offer);
    assert_int_equal(vault_link_join(&join, b, uri), VAULT_OK);
    assert_int_equal(vault_link_poll(offer), VAULT_OK);
    char *sas_a = sas_of(offer), *sas_b = sas_of(join);
    assert_string_equal(sas_a, sas_b);
    assert_int_equal(vault_link_confirm(offer, "http laptop"), VAULT_OK);
    assert_int_equal(vault_link_complete(join, local_key), VAULT_OK);
    assert_true(has_item_titled(b, "GitHub"));
    vault_free(sas_a);
    vault_free(sas_b);
    vault_free(uri);
    vault_link_free(offer);
    vault_link_free(join);
    vault_client_close(b);
    vault_httpd_stop(httpd);
}

int test_devicelink_flow_suite(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_devicelink_flow__full_link_then_unlock_with_device_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_flow__substituted_key_is_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_flow__sas_mismatch_abort, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_flow__racer_with_copied_code_is_detected,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_flow__racer_before_poll_shows_wrong_code,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_flow__expired_and_reused_links, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_flow__tampered_envelope_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_flow__password_device_adopts_rotated_key,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_flow__revoke_rotates_the_vault_key,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_flow__full_link_over_http, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_flow__reverse_direction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_flow__reverse_substituted_key_is_refused,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_flow__reverse_racer_is_detected, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_flow__join_survives_allocation_failures,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("devicelink_flow", tests, NULL, NULL);
}
