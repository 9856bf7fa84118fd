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
#include "world.h"

#define EMAIL "ada@example.org"
#define PASSWORD TW_PASSWORD

typedef struct world {
    tw_world *tw;
    vault_server *server;
    tw_device *da;
    vault_client *a;
} world;

static vault_client *fresh_client(world *w, const char *name)
{
    return tw_device_open(w->tw, name)->c;
}

/* A: a vault holding a "GitHub" login, registered. */
static int setup(void **state)
{
    world *w = tw_state_new(sizeof *w, "link");
    w->server = w->tw->server;
    w->da = tw_device_open(w->tw, "a");
    w->a = w->da->c;
    assert_int_equal(vault_client_create(w->a, PASSWORD, TEST_OPS, TEST_MEM), VAULT_OK);
    assert_int_equal(vault_item_add(tw_vault(w->a), "{\"type\":\"login\",\"title\":\"GitHub\","
                                    "\"fields\":[{\"name\":\"password\",\"value\":\"s3cret\","
                                    "\"hidden\":true}]}", NULL),
                     VAULT_OK);
    assert_int_equal(vault_client_save(w->a), VAULT_OK);
    assert_int_equal(vault_client_register(w->a, EMAIL), VAULT_OK);
    *state = w;
    return 0;
}

static char *payload_of(vault_link *offer)
{
    char *uri = NULL;
    assert_int_equal(vault_link_payload(offer, &uri), VAULT_OK);
    return uri;
}

static void test_devicelink_flow__full_link_then_unlock_with_device_key(void **state)
{
    world *w = *state;
    uint8_t local_key[32], wrong[32];
    test_key(local_key, 0x21);
    test_key(wrong, 0x22);
    vault_client *b = tw_linked(w->tw, w->da, "laptop", local_key)->c;
    assert_true(tw_has_title(b, "GitHub"));
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
    assert_true(tw_has_title(b, "GitHub"));
    assert_int_equal(vault_client_pull(b), VAULT_OK);
    /* offline, the local copy still opens with the device key */
    assert_int_equal(vault_client_lock(b), VAULT_OK);
    assert_int_equal(vault_client_connect_custom(b, liar_offline_transport, NULL), VAULT_OK);
    assert_int_equal(vault_client_unlock_device(b, local_key), VAULT_OK);
    assert_true(tw_has_title(b, "GitHub"));
    assert_int_equal(vault_client_pull(b), VAULT_E_STATE); /* no session offline */
    vault_free(a_id);
    vault_free(b_id);
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
    tw_lie_all(w->tw, LIAR_SWAP_LINK_KEY, 0);
    assert_int_equal(vault_link_join(&join, b, uri), VAULT_OK);
    tw_lie_all(w->tw, LIAR_HONEST, 0);
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

    /* a used code cannot be used again, and a completed link cannot be replayed */
    b = tw_linked(w->tw, w->da, "laptop", local_key)->c;
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
    tw_lie_all(w->tw, LIAR_FLIP_ENVELOPE, 37); /* byte n-5, 0x20 */
    assert_int_equal(vault_link_complete(join, local_key), VAULT_E_AUTH);
    tw_lie_all(w->tw, LIAR_HONEST, 0);
    char *id = NULL;
    assert_int_equal(vault_client_account_id(b, &id), VAULT_E_NOT_FOUND); /* nothing adopted */
    vault_free(uri);
    vault_link_free(offer);
    vault_link_free(join);
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
    vault_client *b = tw_linked(w->tw, w->da, "laptop", key_b)->c;
    vault_client *c = tw_linked(w->tw, w->da, "tablet", key_c)->c;
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
    /* A's own push stays pending until a pull shows it (docs/sync.md). */
    assert_int_equal(vault_client__store_get(w->a, "pending_blob", &blob, &blob_len), VAULT_OK);
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
    assert_int_equal(vault_client_lock(b), VAULT_OK);
    assert_int_equal(vault_client_unlock(b, PASSWORD), VAULT_E_STATE);
    assert_int_equal(vault_client_unlock_device(b, key_b), VAULT_OK);
    assert_int_equal(vault_client_pull(b), VAULT_OK);
    assert_memory_equal(b->keys->vault_key, w->a->keys->vault_key, 32);
    assert_true(tw_has_title(b, "After revoke"));
    assert_int_equal(vault_client_lock(b), VAULT_OK); /* and again, from the re-sealed store */
    assert_int_equal(vault_client_unlock_device(b, key_b), VAULT_OK);
    assert_true(tw_has_title(b, "After revoke"));
    vault_free(c_id);
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
    vault_client *c = tw_linked(w->tw, w->da, "tablet", key_c)->c;
    vault *v = NULL;
    assert_int_equal(vault_client_vault(p, &v), VAULT_OK);
    assert_int_equal(vault_item_add(v, "{\"type\":\"note\",\"title\":\"Offline edit\"}", NULL),
                     VAULT_OK);
    assert_int_equal(vault_client_save(p), VAULT_OK);

    assert_int_equal(vault_client_pull(w->a), VAULT_OK);
    assert_int_equal(vault_client_revoke(w->a, c->device_id), VAULT_OK);
    assert_int_equal(vault_client_pull(p), VAULT_E_AUTH); /* old key, new blob */
    assert_true(tw_has_title(p, "Offline edit"));      /* nothing lost locally */

    assert_int_equal(vault_client_login(p, EMAIL, PASSWORD), VAULT_OK);
    assert_memory_equal(p->keys->vault_key, w->a->keys->vault_key, 32);
    assert_true(tw_has_title(p, "Offline edit"));
    assert_int_equal(vault_client_sync(p), VAULT_OK);
    assert_int_equal(vault_client_pull(w->a), VAULT_OK);
    assert_true(tw_has_title(w->a, "Offline edit"));
    /* and the re-sealed local store unlocks with the password alone */
    vault_client_lock(p);
    assert_int_equal(vault_client_unlock(p, PASSWORD), VAULT_OK);
    assert_true(tw_has_title(p, "Offline edit"));
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
    assert_int_equal(vault_link_accept(&accepted, w->a, uri), VAULT_OK);
    assert_int_equal(vault_link_poll(shown), VAULT_OK);
    char *sas_a = tw_sas(accepted), *sas_b = tw_sas(shown);
    assert_string_equal(sas_a, sas_b);
    assert_int_equal(vault_link_complete_sas(shown, local_key, sas_a), VAULT_E_PENDING);
    assert_int_equal(vault_link_confirm_sas(accepted, "desktop", sas_b), VAULT_OK);
    assert_int_equal(vault_link_complete_sas(shown, local_key, sas_a), VAULT_OK);
    assert_true(tw_has_title(b, "GitHub"));
    assert_int_equal(vault_client_lock(b), VAULT_OK);
    assert_int_equal(vault_client_unlock_device(b, local_key), VAULT_OK);
    vault_free(sas_a);
    vault_free(sas_b);
    vault_free(uri);
    vault_link_free(shown);
    vault_link_free(accepted);
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
    tw_lie_all(w->tw, LIAR_SWAP_LINK_KEY, 0);
    assert_int_equal(vault_link_accept(&accepted, w->a, uri), VAULT_OK);
    tw_lie_all(w->tw, LIAR_HONEST, 0);
    assert_int_equal(vault_link_poll(shown), VAULT_E_AUTH);
    assert_int_equal(vault_link_confirm(accepted, "desktop"), VAULT_E_STATE);
    assert_int_equal(vault_link_complete(shown, local_key), VAULT_E_STATE);
    vault_free(uri);
    vault_link_free(shown);
    vault_link_free(accepted);
}

/* A logged-in device of someone else's account. */
static vault_client *stranger(world *w)
{
    vault_client *x = fresh_client(w, "stranger");
    assert_int_equal(vault_client_create(x, "another password", TEST_OPS, TEST_MEM), VAULT_OK);
    assert_int_equal(vault_client_register(x, "mallory@example.org"), VAULT_OK);
    return x;
}

/* Reverse direction, someone else's account accepts a copied code first: the
 * user's own device is refused, and the new device sees two accepts and
 * cancels, so it never joins the stranger's account. */
static void test_devicelink_flow__reverse_racer_is_detected(void **state)
{
    world *w = *state;
    uint8_t local_key[32];
    test_key(local_key, 0xb3);
    vault_client *x = stranger(w);
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
}

/* The code of l with its first digit changed: what a user reads off a
 * screen showing a different code. */
static char *wrong_sas(vault_link *l)
{
    char *sas = tw_sas(l);
    sas[0] = (char)('0' + (sas[0] - '0' + 1) % 10);
    return sas;
}

/* The user types on A digits that differ from A's code: VAULT_E_SAS, no
 * envelope is sent and the link is gone for B too. */
static void test_devicelink_flow__sas_wrong_digits_on_sender_sends_nothing(void **state)
{
    world *w = *state;
    uint8_t local_key[32];
    test_key(local_key, 0x42);
    vault_client *b = fresh_client(w, "b");
    vault_link *offer = NULL, *join = NULL;
    assert_int_equal(vault_link_offer(&offer, w->a), VAULT_OK);
    char *uri = payload_of(offer);
    assert_int_equal(vault_link_join(&join, b, uri), VAULT_OK);
    assert_int_equal(vault_link_poll(offer), VAULT_OK);
    char *seen = wrong_sas(join);
    assert_int_equal(vault_link_confirm_sas(offer, "laptop", seen), VAULT_E_SAS);
    assert_non_null(strstr(vault_client_errmsg(w->a), "differ"));
    assert_int_equal(vault_link_confirm(offer, "laptop"), VAULT_E_STATE);
    assert_int_equal(vault_link_complete(join, local_key), VAULT_E_STATE);
    char *id = NULL;
    assert_int_equal(vault_client_account_id(b, &id), VAULT_E_NOT_FOUND);
    vault_free(seen);
    vault_free(uri);
    vault_link_free(offer);
    vault_link_free(join);
}

/* A sent the envelope, but the digits typed on B differ from B's code:
 * VAULT_E_SAS before anything is fetched, and B adopts nothing. */
static void test_devicelink_flow__sas_wrong_digits_on_receiver_adopts_nothing(void **state)
{
    world *w = *state;
    uint8_t local_key[32];
    test_key(local_key, 0x43);
    vault_client *b = fresh_client(w, "b");
    vault_link *offer = NULL, *join = NULL;
    assert_int_equal(vault_link_offer(&offer, w->a), VAULT_OK);
    char *uri = payload_of(offer);
    assert_int_equal(vault_link_join(&join, b, uri), VAULT_OK);
    assert_int_equal(vault_link_poll(offer), VAULT_OK);
    char *right = tw_sas(join), *seen = wrong_sas(offer);
    assert_int_equal(vault_link_confirm_sas(offer, "laptop", right), VAULT_OK);
    assert_int_equal(vault_link_complete_sas(join, local_key, seen), VAULT_E_SAS);
    assert_int_equal(vault_link_complete_sas(join, local_key, right), VAULT_E_STATE);
    char *id = NULL;
    assert_int_equal(vault_client_account_id(b, &id), VAULT_E_NOT_FOUND);
    int32_t unlocked = 1;
    assert_int_equal(vault_client_is_unlocked(b, &unlocked), VAULT_OK);
    assert_int_equal(unlocked, 0);
    vault_free(right);
    vault_free(seen);
    vault_free(uri);
    vault_link_free(offer);
    vault_link_free(join);
}

/* Reverse direction, a stranger's account accepts first and the new device
 * polls before the owner's device tries, so it sees one accept and shows the
 * stranger's code; the stranger delivers; then the owner's accept is counted
 * as a second post. The relay refuses the fetch: the new device never joins
 * the stranger's account. */
static void test_devicelink_flow__reverse_stranger_first_is_not_joined(void **state)
{
    world *w = *state;
    uint8_t local_key[32];
    test_key(local_key, 0xb4);
    vault_client *x = stranger(w);
    vault_client *b = fresh_client(w, "rev-b");
    vault_link *shown = NULL, *mine = NULL, *theirs = NULL;
    assert_int_equal(vault_link_request(&shown, b), VAULT_OK);
    char *uri = payload_of(shown);
    assert_int_equal(vault_link_accept(&theirs, x, uri), VAULT_OK);
    assert_int_equal(vault_link_poll(shown), VAULT_OK);
    assert_int_equal(vault_link_confirm(theirs, "desktop"), VAULT_OK);
    assert_int_equal(vault_link_accept(&mine, w->a, uri), VAULT_E_STATE);
    assert_int_equal(vault_link_complete(shown, local_key), VAULT_E_STATE);
    assert_non_null(strstr(vault_client_errmsg(b), "another device"));
    char *id = NULL;
    assert_int_equal(vault_client_account_id(b, &id), VAULT_E_NOT_FOUND);
    vault_free(uri);
    vault_link_free(shown);
    vault_link_free(theirs);
}

/* Every allocation of vault_link_join (client and in-process relay) failing
 * in turn: each run ends with a status, never a crash or a leak (ASan), and
 * once no allocation fails the join succeeds. */
static void test_devicelink_flow__join_survives_allocation_failures(void **state)
{
    world *w = *state;
    int nomem = 0, done = 0;
    for (uint64_t n = 1; n < 2000 && !done; n++) {
        tw_device *bd = tw_device_open(w->tw, "alloc");
        vault_client *b = bd->c;
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
        tw_device_close(w->tw, bd);
    }
    assert_true(done);
    assert_true(nomem > 0);
}

/* The same exchange over HTTP through the reference daemon (libmicrohttpd on
 * loopback, libcurl in the clients). */
static void test_devicelink_flow__full_link_over_http(void **state)
{
    world *w = *state;
    uint8_t local_key[32];
    test_key(local_key, 0xa1);
    tw_serve_http(w->tw);
    char *session = vault__out_dup(w->a->session, strlen(w->a->session));
    assert_int_equal(vault_client_connect_http(w->a, w->tw->url, 0), VAULT_OK);
    memcpy(w->a->session, session, strlen(session) + 1); /* keep A's session */
    vault_free(session);

    vault_client *b = fresh_client(w, "http-b"); /* over HTTP too */
    vault_link *offer = NULL, *join = NULL;
    assert_int_equal(vault_link_offer(&offer, w->a), VAULT_OK);
    char *uri = payload_of(offer);
    assert_int_equal(vault_link_join(&join, b, uri), VAULT_OK);
    assert_int_equal(vault_link_poll(offer), VAULT_OK);
    char *sas_a = tw_sas(offer), *sas_b = tw_sas(join);
    assert_string_equal(sas_a, sas_b);
    assert_int_equal(vault_link_confirm(offer, "http laptop"), VAULT_OK);
    assert_int_equal(vault_link_complete(join, local_key), VAULT_OK);
    assert_true(tw_has_title(b, "GitHub"));
    vault_free(sas_a);
    vault_free(sas_b);
    vault_free(uri);
    vault_link_free(offer);
    vault_link_free(join);
}

int test_devicelink_flow_suite(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, tw_teardown)
    const struct CMUnitTest tests[] = {
        T(test_devicelink_flow__full_link_then_unlock_with_device_key),
        T(test_devicelink_flow__substituted_key_is_refused),
        T(test_devicelink_flow__sas_mismatch_abort),
        T(test_devicelink_flow__racer_with_copied_code_is_detected),
        T(test_devicelink_flow__racer_before_poll_shows_wrong_code),
        T(test_devicelink_flow__expired_and_reused_links),
        T(test_devicelink_flow__tampered_envelope_is_refused),
        T(test_devicelink_flow__password_device_adopts_rotated_key),
        T(test_devicelink_flow__revoke_rotates_the_vault_key),
        T(test_devicelink_flow__full_link_over_http),
        T(test_devicelink_flow__reverse_direction),
        T(test_devicelink_flow__reverse_substituted_key_is_refused),
        T(test_devicelink_flow__reverse_racer_is_detected),
        T(test_devicelink_flow__sas_wrong_digits_on_sender_sends_nothing),
        T(test_devicelink_flow__sas_wrong_digits_on_receiver_adopts_nothing),
        T(test_devicelink_flow__reverse_stranger_first_is_not_joined),
        T(test_devicelink_flow__join_survives_allocation_failures),
    };
#undef T
    return cmocka_run_group_tests_name("devicelink_flow", tests, NULL, NULL);
}
