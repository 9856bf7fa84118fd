/* A linked device catching up with a vault-key rotation in the middle of a
 * session: a revocation made on another device, offline edits made before
 * it, and a lying server handing the device keys sealed to it (a wrong key,
 * another account's, the one it holds, an earlier rotation's, a forged
 * rotation). Every lie ends in its error and leaves the device's store (file
 * and WAL bytes), vault, revision and key untouched. */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client.h"
#include "common/common.h"
#include "suites.h"
#include "world.h"
#include "vault/vault.h"

#define EMAIL "ada@rotate.example"
#define EVE_EMAIL "eve@rotate.example"
#define PASSWORD TW_PASSWORD
#define SEALED_HEX (2 * (crypto_box_SEALBYTES + VAULT_KEY_BYTES) + 1)

typedef struct world {
    tw_world *tw;
    tw_device *a, *b, *c, *x;
} world;

/* d's device_key requests get this answer instead of the server's: the key
 * sealed as hex, "no key was sealed to you" if hex is "", or (NULL) the
 * server's own answer again. */
static void serve_sealed_key(tw_device *d, const char *hex)
{
    static char text[256];
    d->lie.canned_op = hex != NULL ? "device_key" : NULL;
    if (hex != NULL && hex[0] == '\0')
        snprintf(text, sizeof text,
                 "{\"ok\":false,\"error\":{\"code\":\"not_found\",\"message\":\"no key\"}}");
    else if (hex != NULL)
        snprintf(text, sizeof text, "{\"ok\":true,\"sealed_key\":\"%s\"}", hex);
    d->lie.canned = text;
}

/* A: a vault holding a "GitHub" note, registered. */
static int setup(void **state)
{
    world *w = tw_state_new(sizeof *w, "rot");
    w->a = tw_device_open(w->tw, "a");
    assert_int_equal(vault_client_create(w->a->c, PASSWORD, TEST_OPS, TEST_MEM), VAULT_OK);
    tw_add_note(w->a->c, "GitHub");
    assert_int_equal(vault_client_save(w->a->c), VAULT_OK);
    assert_int_equal(vault_client_register(w->a->c, EMAIL), VAULT_OK);
    *state = w;
    return 0;
}

/* B ("laptop") and C ("tablet") linked to A, with the local keys made from
 * seed and seed + 1. */
static void link_b_and_c(world *w, uint8_t key_b[32], uint8_t key_c[32], uint8_t seed)
{
    test_key(key_b, seed);
    test_key(key_c, (uint8_t)(seed + 1));
    w->b = tw_linked(w->tw, w->a, "laptop", key_b);
    w->c = tw_linked(w->tw, w->a, "tablet", key_c);
}

/* A revokes victim (rotating the vault key) and syncs a new item. */
static void revoke_then_write(world *w, tw_device *victim, const char *title)
{
    assert_int_equal(vault_client_pull(w->a->c), VAULT_OK);
    assert_int_equal(vault_client_revoke(w->a->c, victim->c->device_id), VAULT_OK);
    tw_add_note(w->a->c, title);
    assert_int_equal(vault_client_sync(w->a->c), VAULT_OK);
}

/* key sealed to d's long-term device key, as hex. */
static void seal_to(const tw_device *d, const uint8_t *key, char hex[SEALED_HEX])
{
    uint8_t pk[crypto_box_PUBLICKEYBYTES], sealed[crypto_box_SEALBYTES + VAULT_KEY_BYTES];
    assert_true(d->c->keys->has_device_keys);
    crypto_scalarmult_base(pk, d->c->keys->device_sk);
    assert_int_equal(crypto_box_seal(sealed, key, VAULT_KEY_BYTES, pk), 0);
    vault__bin2hex(hex, sealed, sizeof sealed);
}

/* The sealed key the server holds for d right now (asked with d's session). */
static void current_sealed_key(tw_device *d, char hex[SEALED_HEX])
{
    cJSON *req = NULL, *resp = NULL;
    assert_int_equal(vault_client__request_new(&req, "device_key"), VAULT_OK);
    assert_int_equal(vault_client__add_session(d->c, req), VAULT_OK);
    assert_int_equal(vault_client__call(d->c, req, &resp), VAULT_OK);
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(resp, "sealed_key");
    assert_true(cJSON_IsString(k));
    assert_int_equal(strlen(k->valuestring), SEALED_HEX - 1);
    memcpy(hex, k->valuestring, SEALED_HEX);
    cJSON_Delete(req);
    cJSON_Delete(resp);
}

/* ---- "nothing local changed" ---------------------------------------------------- */

/* What tw_snapshot keeps, and the session's vault key. */
typedef struct stored_state {
    tw_snapshot s;
    uint8_t vault_key[VAULT_KEY_BYTES];
} stored_state;

static void capture(const tw_device *d, stored_state *st)
{
    tw_snapshot_take(d, &st->s);
    assert_non_null(st->s.json); /* unlocked */
    memcpy(st->vault_key, d->c->keys->vault_key, sizeof st->vault_key);
}

static void assert_untouched(const tw_device *d, stored_state *before)
{
    tw_assert_untouched(d, &before->s);
    assert_memory_equal(before->vault_key, d->c->keys->vault_key, VAULT_KEY_BYTES);
}

/* d's pull with the current lie: code rc, the message contains what, and
 * nothing local changed. */
static void assert_lie_refused(tw_device *d, int rc, const char *what)
{
    stored_state before;
    capture(d, &before);
    assert_int_equal(vault_client_pull(d->c), rc);
    assert_non_null(strstr(vault_client_errmsg(d->c), what));
    assert_untouched(d, &before);
}

/* ---- tests ------------------------------------------------------------------------ */

/* B stays unlocked, with its session, while A revokes C: B's next sync picks
 * up the rotated key, reads the new revision and pushes under the new key;
 * its re-sealed store then unlocks offline. C stays revoked. */
static void test_devicelink_rotate__linked_device_syncs_across_revocation(void **state)
{
    world *w = *state;
    uint8_t key_b[32], key_c[32], old_vk[VAULT_KEY_BYTES];
    link_b_and_c(w, key_b, key_c, 0x11);
    memcpy(old_vk, w->b->c->keys->vault_key, sizeof old_vk);

    revoke_then_write(w, w->c, "After revoke");
    assert_int_equal(vault_client_sync(w->b->c), VAULT_OK);
    assert_memory_equal(w->b->c->keys->vault_key, w->a->c->keys->vault_key, VAULT_KEY_BYTES);
    assert_memory_not_equal(w->b->c->keys->vault_key, old_vk, VAULT_KEY_BYTES);
    assert_true(tw_has_title(w->b->c, "After revoke"));
    uint64_t rev_a = 0, rev_b = 0;
    assert_int_equal(vault_client_revision(w->a->c, &rev_a), VAULT_OK);
    assert_int_equal(vault_client_revision(w->b->c, &rev_b), VAULT_OK);
    assert_int_equal(rev_b, rev_a);

    /* B's next push is sealed under the new key: A reads it */
    tw_add_note(w->b->c, "From B");
    assert_int_equal(vault_client_sync(w->b->c), VAULT_OK);
    assert_int_equal(vault_client_pull(w->a->c), VAULT_OK);
    assert_true(tw_has_title(w->a->c, "From B"));

    /* the re-sealed store and the re-wrapped key agree, even offline */
    assert_int_equal(vault_client_lock(w->b->c), VAULT_OK);
    assert_int_equal(vault_client_connect_custom(w->b->c, liar_offline_transport, NULL), VAULT_OK);
    assert_int_equal(vault_client_unlock_device(w->b->c, key_b), VAULT_OK);
    assert_memory_equal(w->b->c->keys->vault_key, w->a->c->keys->vault_key, VAULT_KEY_BYTES);
    assert_true(tw_has_title(w->b->c, "After revoke"));
    assert_true(tw_has_title(w->b->c, "From B"));

    /* C, revoked, in the middle of its own session and at its next unlock */
    assert_int_equal(vault_client_pull(w->c->c), VAULT_E_REVOKED);
    assert_int_equal(vault_client_sync(w->c->c), VAULT_E_REVOKED);
    assert_false(tw_has_title(w->c->c, "After revoke"));
    assert_memory_equal(w->c->c->keys->vault_key, old_vk, VAULT_KEY_BYTES);
    assert_int_equal(vault_client_lock(w->c->c), VAULT_OK);
    assert_int_equal(vault_client_unlock_device(w->c->c, key_c), VAULT_E_REVOKED);

    /* B, a linked device, got the Secret Key in its envelope: one password
     * login (no Secret Key asked) and the master password opens its
     * re-sealed store too */
    assert_int_equal(vault_client_lock(w->b->c), VAULT_OK);
    assert_int_equal(vault_client_connect_custom(w->b->c, liar_transport, &w->b->lie), VAULT_OK);
    assert_int_equal(vault_client_unlock_device(w->b->c, key_b), VAULT_OK);
    assert_int_equal(vault_client_unlock(w->b->c, PASSWORD), VAULT_E_STATE);
    assert_int_equal(vault_client_login(w->b->c, EMAIL, PASSWORD), VAULT_OK);
    assert_int_equal(vault_client_lock(w->b->c), VAULT_OK);
    assert_int_equal(vault_client_unlock(w->b->c, PASSWORD), VAULT_OK);
    assert_true(tw_has_title(w->b->c, "From B"));
}

/* B edits and saves without syncing; A revokes C meanwhile. B's sync
 * re-seals the offline edit under the new key, merges and pushes it. */
static void test_devicelink_rotate__offline_edits_survive_the_rotation(void **state)
{
    world *w = *state;
    uint8_t key_b[32], key_c[32];
    link_b_and_c(w, key_b, key_c, 0x21);
    tw_add_note(w->b->c, "Offline edit");
    assert_int_equal(vault_client_save(w->b->c), VAULT_OK);

    revoke_then_write(w, w->c, "After revoke");
    assert_int_equal(vault_client_sync(w->b->c), VAULT_OK);
    assert_true(tw_has_title(w->b->c, "Offline edit"));
    assert_true(tw_has_title(w->b->c, "After revoke"));
    assert_int_equal(vault_client_pull(w->a->c), VAULT_OK);
    assert_true(tw_has_title(w->a->c, "Offline edit"));
    assert_true(tw_has_title(w->a->c, "GitHub"));

    /* and a crash right now would leave a store that opens under the new key */
    assert_int_equal(vault_client_lock(w->b->c), VAULT_OK);
    assert_int_equal(vault_client_connect_custom(w->b->c, liar_offline_transport, NULL), VAULT_OK);
    assert_int_equal(vault_client_unlock_device(w->b->c, key_b), VAULT_OK);
    assert_true(tw_has_title(w->b->c, "Offline edit"));
    assert_true(tw_has_title(w->b->c, "After revoke"));
}

/* After the rotation, the server hands B keys sealed to B's own device key
 * that are not the rotated one: a random key, another account's vault key,
 * the key B already holds; then a key B cannot open and no key at all. Each
 * is refused and changes nothing; the honest answer then works. */
static void test_devicelink_rotate__wrong_sealed_key_changes_nothing(void **state)
{
    world *w = *state;
    uint8_t key_b[32], key_c[32], random_key[VAULT_KEY_BYTES], held[VAULT_KEY_BYTES];
    char hex[SEALED_HEX];
    link_b_and_c(w, key_b, key_c, 0x31);
    w->x = tw_device_open(w->tw, "eve");
    assert_int_equal(vault_client_create(w->x->c, PASSWORD, TEST_OPS, TEST_MEM), VAULT_OK);
    assert_int_equal(vault_client_register(w->x->c, EVE_EMAIL), VAULT_OK);
    memcpy(held, w->b->c->keys->vault_key, sizeof held);
    revoke_then_write(w, w->c, "After revoke");

    randombytes_buf(random_key, sizeof random_key);
    const uint8_t *wrong[] = {random_key, w->x->c->keys->vault_key};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        seal_to(w->b, wrong[i], hex);
        serve_sealed_key(w->b, hex);
        assert_lie_refused(w->b, VAULT_E_AUTH, "does not open its vault");
    }
    seal_to(w->b, held, hex);
    serve_sealed_key(w->b, hex);
    assert_lie_refused(w->b, VAULT_E_AUTH, "tampered, or a rotation not sealed to it");

    /* sealed to another device's key: B cannot open it */
    uint8_t other_pk[crypto_box_PUBLICKEYBYTES], other_sk[crypto_box_SECRETKEYBYTES];
    uint8_t sealed[crypto_box_SEALBYTES + VAULT_KEY_BYTES];
    crypto_box_keypair(other_pk, other_sk);
    assert_int_equal(crypto_box_seal(sealed, w->a->c->keys->vault_key, VAULT_KEY_BYTES, other_pk),
                     0);
    vault__bin2hex(hex, sealed, sizeof sealed);
    serve_sealed_key(w->b, hex);
    assert_lie_refused(w->b, VAULT_E_AUTH, "does not open with this device's key");

    serve_sealed_key(w->b, ""); /* "no key was sealed to you" */
    assert_lie_refused(w->b, VAULT_E_AUTH, "no rotated key");

    serve_sealed_key(w->b, NULL);
    assert_int_equal(vault_client_sync(w->b->c), VAULT_OK);
    assert_true(tw_has_title(w->b->c, "After revoke"));
    assert_memory_equal(w->b->c->keys->vault_key, w->a->c->keys->vault_key, VAULT_KEY_BYTES);
}

/* Two rotations while B is unlocked and idle. The server replays the key the
 * first rotation sealed to B: it does not open the latest blob. B then
 * adopts the latest key directly; replaying the first rotation's blob with
 * its key afterwards is a rollback. */
static void test_devicelink_rotate__replayed_earlier_rotation_is_refused(void **state)
{
    world *w = *state;
    uint8_t key_b[32], key_c[32], key_x[32];
    char first[SEALED_HEX];
    link_b_and_c(w, key_b, key_c, 0x41);
    test_key(key_x, 0x43);
    w->x = tw_linked(w->tw, w->a, "phone", key_x);

    revoke_then_write(w, w->c, "First rotation");
    current_sealed_key(w->b, first);
    w->a->lie.mode = LIAR_RECORD_PULL; /* the first rotation's revision, as served */
    assert_int_equal(vault_client_pull(w->a->c), VAULT_OK);
    char *first_pull = vault__out_dup(w->a->lie.recorded, strlen(w->a->lie.recorded));
    liar_reset(&w->a->lie);
    revoke_then_write(w, w->x, "Second rotation");

    serve_sealed_key(w->b, first);
    assert_lie_refused(w->b, VAULT_E_AUTH, "does not open its vault");

    serve_sealed_key(w->b, NULL);
    assert_int_equal(vault_client_pull(w->b->c), VAULT_OK);
    assert_memory_equal(w->b->c->keys->vault_key, w->a->c->keys->vault_key, VAULT_KEY_BYTES);
    assert_true(tw_has_title(w->b->c, "First rotation"));
    assert_true(tw_has_title(w->b->c, "Second rotation"));

    serve_sealed_key(w->b, first);
    w->b->lie.recorded = first_pull;
    w->b->lie.mode = LIAR_REPLAY_PULL;
    assert_lie_refused(w->b, VAULT_E_ROLLBACK, "older than");
}

/* Forges a rotation of the account at the server's current revision: a vault
 * holding "Forged" (and listing d with its public key if list_d), sealed
 * under a key of the forger's choosing, which is sealed to d; and has d's
 * liar serve both. Returns the liar's blob value (free() it after use). */
static char *serve_forged_rotation(world *w, tw_device *d, int list_d)
{
    char sealed_hex[SEALED_HEX], *blob_json = NULL;
    uint8_t evil[VAULT_KEY_BYTES], pk[crypto_box_PUBLICKEYBYTES];
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    char *b64 = NULL, pk_hex[2 * crypto_box_PUBLICKEYBYTES + 1];
    uint64_t revision = 0;
    vault *v = NULL;
    randombytes_buf(evil, sizeof evil);
    assert_int_equal(vault_client_revision(w->a->c, &revision), VAULT_OK);
    assert_int_equal(vault_new(&v), VAULT_OK);
    assert_int_equal(vault_item_add(v, "{\"type\":\"note\",\"title\":\"Forged\"}", NULL),
                     VAULT_OK);
    if (list_d) {
        cJSON *entry = cJSON_CreateObject();
        crypto_scalarmult_base(pk, d->c->keys->device_sk);
        vault__bin2hex(pk_hex, pk, sizeof pk);
        cJSON_AddStringToObject(entry, "id", d->c->device_id);
        cJSON_AddStringToObject(entry, "name", "laptop");
        cJSON_AddStringToObject(entry, "public_key", pk_hex);
        cJSON_AddNumberToObject(entry, "added", 1);
        cJSON_AddItemToArray(vault_vault__devices(v), entry);
    }
    assert_int_equal(vault_seal(v, evil, d->c->account_id, revision, &blob, &blob_len),
                     VAULT_OK);
    assert_int_equal(vault__base64_encode(blob, blob_len, &b64), VAULT_OK);
    blob_json = malloc(strlen(b64) + 3);
    sprintf(blob_json, "\"%s\"", b64);
    seal_to(d, evil, sealed_hex);
    vault_free(b64);
    vault_free(blob);
    vault_close(v);
    serve_sealed_key(d, sealed_hex);
    d->lie.mode = LIAR_REWRITE;
    d->lie.op = "pull";
    d->lie.member = "blob";
    d->lie.value = blob_json;
    return blob_json;
}

/* A forged rotation whose vault does not list B (made by someone who holds
 * B's public key, e.g. the revoked device, with the server's help): refused. */
static void test_devicelink_rotate__forged_rotation_not_listing_device_is_refused(void **state)
{
    world *w = *state;
    uint8_t key_b[32], key_c[32];
    link_b_and_c(w, key_b, key_c, 0x51);
    revoke_then_write(w, w->c, "After revoke");

    char *blob_json = serve_forged_rotation(w, w->b, 0);
    assert_lie_refused(w->b, VAULT_E_AUTH, "does not list this device");
    free(blob_json);

    liar_reset(&w->b->lie);
    serve_sealed_key(w->b, NULL);
    assert_int_equal(vault_client_sync(w->b->c), VAULT_OK);
    assert_false(tw_has_title(w->b->c, "Forged"));
    assert_true(tw_has_title(w->b->c, "After revoke"));
}

/* The limit (docs/security.md §4): a sealed key has no sender, so a revoked
 * device that knows B's public key, together with the server, can forge a
 * whole rotation that lists B, and B adopts it, as it would accept any vault
 * that device seals under a key B still holds. Neither can do it alone. */
static void test_devicelink_rotate__limit_revoked_device_with_server_can_forge(void **state)
{
    world *w = *state;
    uint8_t key_b[32], key_c[32];
    link_b_and_c(w, key_b, key_c, 0x61);
    revoke_then_write(w, w->c, "After revoke");

    char *blob_json = serve_forged_rotation(w, w->b, 1);
    assert_int_equal(vault_client_pull(w->b->c), VAULT_OK);
    assert_true(tw_has_title(w->b->c, "Forged"));
    assert_memory_not_equal(w->b->c->keys->vault_key, w->a->c->keys->vault_key, VAULT_KEY_BYTES);
    free(blob_json);
}

int test_devicelink_rotate_suite(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, tw_teardown)
    const struct CMUnitTest tests[] = {
        T(test_devicelink_rotate__linked_device_syncs_across_revocation),
        T(test_devicelink_rotate__offline_edits_survive_the_rotation),
        T(test_devicelink_rotate__wrong_sealed_key_changes_nothing),
        T(test_devicelink_rotate__replayed_earlier_rotation_is_refused),
        T(test_devicelink_rotate__forged_rotation_not_listing_device_is_refused),
        T(test_devicelink_rotate__limit_revoked_device_with_server_can_forge),
    };
#undef T
    return cmocka_run_group_tests_name("devicelink_rotate", tests, NULL, NULL);
}
