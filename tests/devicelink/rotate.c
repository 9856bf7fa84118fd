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
#include "liar.h"
#include "suites.h"
#include "testutil.h"
#include "vault/vault.h"

#define EMAIL "ada@rotate.example"
#define EVE_EMAIL "eve@rotate.example"
#define PASSWORD "correct horse battery staple"
#define SEALED_HEX (2 * (crypto_box_SEALBYTES + VAULT_KEY_BYTES) + 1)

static const uint8_t pepper[32] = "rotate-test-pepper-rotate-test-p";

/* One client, its lying transport and what it answers to device_key. */
typedef struct device {
    vault_client *c;
    liar lie;
    char path[768];
    const char *sealed_key; /* device_key answers with this hex; "" = not_found */
} device;

typedef struct world {
    vault_server *server;
    device a, b, c, x;
} world;

static const char *op_of(const char *request, size_t len, char *op, size_t op_size)
{
    cJSON *req = cJSON_ParseWithLength(request, len);
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(req, "op");
    snprintf(op, op_size, "%s", cJSON_IsString(o) ? o->valuestring : "");
    cJSON_Delete(req);
    return op;
}

static char *answer(const char *text)
{
    return vault__out_dup(text, strlen(text));
}

static int device_transport(const char *request, size_t request_len, char **response,
                            size_t *response_len, void *ctx)
{
    device *d = ctx;
    char op[32], text[256];
    if (d->sealed_key == NULL ||
        strcmp(op_of(request, request_len, op, sizeof op), "device_key") != 0)
        return liar_transport(request, request_len, response, response_len, &d->lie);
    if (d->sealed_key[0] == '\0')
        snprintf(text, sizeof text,
                 "{\"ok\":false,\"error\":{\"code\":\"not_found\",\"message\":\"no key\"}}");
    else
        snprintf(text, sizeof text, "{\"ok\":true,\"sealed_key\":\"%s\"}", d->sealed_key);
    *response = answer(text);
    *response_len = strlen(text);
    return VAULT_OK;
}

static int offline_transport(const char *request, size_t request_len, char **response,
                             size_t *response_len, void *ctx)
{
    (void)request, (void)request_len, (void)response, (void)response_len, (void)ctx;
    return VAULT_E_NETWORK;
}

static void open_device(world *w, device *d, const char *name)
{
    static int n;
    char file[64];
    snprintf(file, sizeof file, "rot-%s%d.db", name, n++);
    snprintf(d->path, sizeof d->path, "%s", test_path(file));
    unlink(d->path);
    d->lie.server = w->server;
    assert_int_equal(vault_client_open(&d->c, d->path, 0), VAULT_OK);
    assert_int_equal(vault_client_connect_custom(d->c, device_transport, d), VAULT_OK);
}

static void add_item(vault_client *c, const char *title)
{
    vault *v = NULL;
    char json[256];
    snprintf(json, sizeof json, "{\"type\":\"note\",\"title\":\"%s\"}", title);
    assert_int_equal(vault_client_vault(c, &v), VAULT_OK);
    assert_int_equal(vault_item_add(v, json, NULL), VAULT_OK);
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

static int setup(void **state)
{
    static int n;
    char name[64];
    world *w = calloc(1, sizeof *w);
    snprintf(name, sizeof name, "rotserver%d.db", n++);
    unlink(test_path(name));
    assert_int_equal(vault_server_open(&w->server, test_path(name), pepper, sizeof pepper, 0),
                     VAULT_OK);
    open_device(w, &w->a, "a");
    assert_int_equal(vault_client_create(w->a.c, PASSWORD, TEST_OPS, TEST_MEM), VAULT_OK);
    add_item(w->a.c, "GitHub");
    assert_int_equal(vault_client_save(w->a.c), VAULT_OK);
    assert_int_equal(vault_client_register(w->a.c, EMAIL), VAULT_OK);
    *state = w;
    return 0;
}

static void close_device(device *d)
{
    vault_client_close(d->c);
    liar_reset(&d->lie);
}

static int teardown(void **state)
{
    world *w = *state;
    close_device(&w->a);
    close_device(&w->b);
    close_device(&w->c);
    close_device(&w->x);
    vault_server_close(w->server);
    free(w);
    return 0;
}

/* Links d to A by QR code (offer direction); d is unlocked afterwards. */
static void link_device(world *w, device *d, const char *name, const uint8_t *local_key)
{
    vault_link *offer = NULL, *join = NULL;
    char *uri = NULL;
    open_device(w, d, name);
    assert_int_equal(vault_link_offer(&offer, w->a.c), VAULT_OK);
    assert_int_equal(vault_link_payload(offer, &uri), VAULT_OK);
    assert_int_equal(vault_link_join(&join, d->c, uri), VAULT_OK);
    assert_int_equal(vault_link_poll(offer), VAULT_OK);
    assert_int_equal(vault_link_confirm(offer, name), VAULT_OK);
    assert_int_equal(vault_link_complete(join, local_key), VAULT_OK);
    vault_free(uri);
    vault_link_free(offer);
    vault_link_free(join);
}

/* A revokes victim (rotating the vault key) and syncs a new item. */
static void revoke_then_write(world *w, device *victim, const char *title)
{
    assert_int_equal(vault_client_pull(w->a.c), VAULT_OK);
    assert_int_equal(vault_client_revoke(w->a.c, victim->c->device_id), VAULT_OK);
    add_item(w->a.c, title);
    assert_int_equal(vault_client_sync(w->a.c), VAULT_OK);
}

/* key sealed to d's long-term device key, as hex. */
static void seal_to(const device *d, const uint8_t *key, char hex[SEALED_HEX])
{
    uint8_t pk[crypto_box_PUBLICKEYBYTES], sealed[crypto_box_SEALBYTES + VAULT_KEY_BYTES];
    assert_true(d->c->keys->has_device_keys);
    crypto_scalarmult_base(pk, d->c->keys->device_sk);
    assert_int_equal(crypto_box_seal(sealed, key, VAULT_KEY_BYTES, pk), 0);
    vault__bin2hex(hex, sealed, sizeof sealed);
}

/* The sealed key the server holds for d right now (asked with d's session). */
static void current_sealed_key(device *d, char hex[SEALED_HEX])
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

typedef struct stored_state {
    uint8_t *db, *wal;
    size_t db_len, wal_len;
    char *json;
    uint64_t revision;
    uint8_t vault_key[VAULT_KEY_BYTES];
} stored_state;

static void capture(const device *d, stored_state *s)
{
    char wal[800];
    vault *v = NULL;
    memset(s, 0, sizeof *s);
    s->db = test_read_file(d->path, &s->db_len);
    assert_non_null(s->db);
    snprintf(wal, sizeof wal, "%s-wal", d->path);
    s->wal = test_read_file(wal, &s->wal_len);
    assert_int_equal(vault_client_vault(d->c, &v), VAULT_OK);
    assert_int_equal(vault_to_json(v, &s->json), VAULT_OK);
    assert_int_equal(vault_client_revision(d->c, &s->revision), VAULT_OK);
    memcpy(s->vault_key, d->c->keys->vault_key, sizeof s->vault_key);
}

static void release(stored_state *s)
{
    free(s->db);
    free(s->wal);
    vault_free(s->json);
}

static void assert_same_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    assert_int_equal(alen, blen);
    if (alen > 0)
        assert_memory_equal(a, b, alen);
}

static void assert_untouched(const device *d, stored_state *before)
{
    stored_state after;
    capture(d, &after);
    assert_same_bytes(before->db, before->db_len, after.db, after.db_len);
    assert_int_equal(before->wal != NULL, after.wal != NULL);
    assert_same_bytes(before->wal, before->wal_len, after.wal, after.wal_len);
    assert_string_equal(before->json, after.json);
    assert_int_equal(before->revision, after.revision);
    assert_memory_equal(before->vault_key, after.vault_key, VAULT_KEY_BYTES);
    release(before);
    release(&after);
}

/* d's pull with the current lie: code rc, the message contains what, and
 * nothing local changed. */
static void assert_lie_refused(device *d, int rc, const char *what)
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
    test_key(key_b, 0x11);
    test_key(key_c, 0x12);
    link_device(w, &w->b, "laptop", key_b);
    link_device(w, &w->c, "tablet", key_c);
    memcpy(old_vk, w->b.c->keys->vault_key, sizeof old_vk);

    revoke_then_write(w, &w->c, "After revoke");
    assert_int_equal(vault_client_sync(w->b.c), VAULT_OK);
    assert_memory_equal(w->b.c->keys->vault_key, w->a.c->keys->vault_key, VAULT_KEY_BYTES);
    assert_memory_not_equal(w->b.c->keys->vault_key, old_vk, VAULT_KEY_BYTES);
    assert_true(has_item_titled(w->b.c, "After revoke"));
    uint64_t rev_a = 0, rev_b = 0;
    assert_int_equal(vault_client_revision(w->a.c, &rev_a), VAULT_OK);
    assert_int_equal(vault_client_revision(w->b.c, &rev_b), VAULT_OK);
    assert_int_equal(rev_b, rev_a);

    /* B's next push is sealed under the new key: A reads it */
    add_item(w->b.c, "From B");
    assert_int_equal(vault_client_sync(w->b.c), VAULT_OK);
    assert_int_equal(vault_client_pull(w->a.c), VAULT_OK);
    assert_true(has_item_titled(w->a.c, "From B"));

    /* the re-sealed store and the re-wrapped key agree, even offline */
    assert_int_equal(vault_client_lock(w->b.c), VAULT_OK);
    assert_int_equal(vault_client_connect_custom(w->b.c, offline_transport, NULL), VAULT_OK);
    assert_int_equal(vault_client_unlock_device(w->b.c, key_b), VAULT_OK);
    assert_memory_equal(w->b.c->keys->vault_key, w->a.c->keys->vault_key, VAULT_KEY_BYTES);
    assert_true(has_item_titled(w->b.c, "After revoke"));
    assert_true(has_item_titled(w->b.c, "From B"));

    /* C, revoked, in the middle of its own session and at its next unlock */
    assert_int_equal(vault_client_pull(w->c.c), VAULT_E_REVOKED);
    assert_int_equal(vault_client_sync(w->c.c), VAULT_E_REVOKED);
    assert_false(has_item_titled(w->c.c, "After revoke"));
    assert_memory_equal(w->c.c->keys->vault_key, old_vk, VAULT_KEY_BYTES);
    assert_int_equal(vault_client_lock(w->c.c), VAULT_OK);
    assert_int_equal(vault_client_unlock_device(w->c.c, key_c), VAULT_E_REVOKED);

    /* B, a linked device, got the Secret Key in its envelope: one password
     * login (no Secret Key asked) and the master password opens its
     * re-sealed store too */
    assert_int_equal(vault_client_lock(w->b.c), VAULT_OK);
    assert_int_equal(vault_client_connect_custom(w->b.c, device_transport, &w->b), VAULT_OK);
    assert_int_equal(vault_client_unlock_device(w->b.c, key_b), VAULT_OK);
    assert_int_equal(vault_client_unlock(w->b.c, PASSWORD), VAULT_E_STATE);
    assert_int_equal(vault_client_login(w->b.c, EMAIL, PASSWORD), VAULT_OK);
    assert_int_equal(vault_client_lock(w->b.c), VAULT_OK);
    assert_int_equal(vault_client_unlock(w->b.c, PASSWORD), VAULT_OK);
    assert_true(has_item_titled(w->b.c, "From B"));
}

/* B edits and saves without syncing; A revokes C meanwhile. B's sync
 * re-seals the offline edit under the new key, merges and pushes it. */
static void test_devicelink_rotate__offline_edits_survive_the_rotation(void **state)
{
    world *w = *state;
    uint8_t key_b[32], key_c[32];
    test_key(key_b, 0x21);
    test_key(key_c, 0x22);
    link_device(w, &w->b, "laptop", key_b);
    link_device(w, &w->c, "tablet", key_c);
    add_item(w->b.c, "Offline edit");
    assert_int_equal(vault_client_save(w->b.c), VAULT_OK);

    revoke_then_write(w, &w->c, "After revoke");
    assert_int_equal(vault_client_sync(w->b.c), VAULT_OK);
    assert_true(has_item_titled(w->b.c, "Offline edit"));
    assert_true(has_item_titled(w->b.c, "After revoke"));
    assert_int_equal(vault_client_pull(w->a.c), VAULT_OK);
    assert_true(has_item_titled(w->a.c, "Offline edit"));
    assert_true(has_item_titled(w->a.c, "GitHub"));

    /* and a crash right now would leave a store that opens under the new key */
    assert_int_equal(vault_client_lock(w->b.c), VAULT_OK);
    assert_int_equal(vault_client_connect_custom(w->b.c, offline_transport, NULL), VAULT_OK);
    assert_int_equal(vault_client_unlock_device(w->b.c, key_b), VAULT_OK);
    assert_true(has_item_titled(w->b.c, "Offline edit"));
    assert_true(has_item_titled(w->b.c, "After revoke"));
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
    test_key(key_b, 0x31);
    test_key(key_c, 0x32);
    link_device(w, &w->b, "laptop", key_b);
    link_device(w, &w->c, "tablet", key_c);
    open_device(w, &w->x, "eve");
    assert_int_equal(vault_client_create(w->x.c, PASSWORD, TEST_OPS, TEST_MEM), VAULT_OK);
    assert_int_equal(vault_client_register(w->x.c, EVE_EMAIL), VAULT_OK);
    memcpy(held, w->b.c->keys->vault_key, sizeof held);
    revoke_then_write(w, &w->c, "After revoke");

    randombytes_buf(random_key, sizeof random_key);
    const uint8_t *wrong[] = {random_key, w->x.c->keys->vault_key};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        seal_to(&w->b, wrong[i], hex);
        w->b.sealed_key = hex;
        assert_lie_refused(&w->b, VAULT_E_AUTH, "does not open its vault");
    }
    seal_to(&w->b, held, hex);
    w->b.sealed_key = hex;
    assert_lie_refused(&w->b, VAULT_E_AUTH, "tampered, or a rotation not sealed to it");

    /* sealed to another device's key: B cannot open it */
    uint8_t other_pk[crypto_box_PUBLICKEYBYTES], other_sk[crypto_box_SECRETKEYBYTES];
    uint8_t sealed[crypto_box_SEALBYTES + VAULT_KEY_BYTES];
    crypto_box_keypair(other_pk, other_sk);
    assert_int_equal(crypto_box_seal(sealed, w->a.c->keys->vault_key, VAULT_KEY_BYTES, other_pk),
                     0);
    vault__bin2hex(hex, sealed, sizeof sealed);
    w->b.sealed_key = hex;
    assert_lie_refused(&w->b, VAULT_E_AUTH, "does not open with this device's key");

    w->b.sealed_key = ""; /* "no key was sealed to you" */
    assert_lie_refused(&w->b, VAULT_E_AUTH, "no rotated key");

    w->b.sealed_key = NULL;
    assert_int_equal(vault_client_sync(w->b.c), VAULT_OK);
    assert_true(has_item_titled(w->b.c, "After revoke"));
    assert_memory_equal(w->b.c->keys->vault_key, w->a.c->keys->vault_key, VAULT_KEY_BYTES);
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
    test_key(key_b, 0x41);
    test_key(key_c, 0x42);
    test_key(key_x, 0x43);
    link_device(w, &w->b, "laptop", key_b);
    link_device(w, &w->c, "tablet", key_c);
    link_device(w, &w->x, "phone", key_x);

    revoke_then_write(w, &w->c, "First rotation");
    current_sealed_key(&w->b, first);
    w->a.lie.mode = LIAR_RECORD_PULL; /* the first rotation's revision, as served */
    assert_int_equal(vault_client_pull(w->a.c), VAULT_OK);
    char *first_pull = vault__out_dup(w->a.lie.recorded, strlen(w->a.lie.recorded));
    liar_reset(&w->a.lie);
    revoke_then_write(w, &w->x, "Second rotation");

    w->b.sealed_key = first;
    assert_lie_refused(&w->b, VAULT_E_AUTH, "does not open its vault");

    w->b.sealed_key = NULL;
    assert_int_equal(vault_client_pull(w->b.c), VAULT_OK);
    assert_memory_equal(w->b.c->keys->vault_key, w->a.c->keys->vault_key, VAULT_KEY_BYTES);
    assert_true(has_item_titled(w->b.c, "First rotation"));
    assert_true(has_item_titled(w->b.c, "Second rotation"));

    w->b.sealed_key = first;
    w->b.lie.recorded = first_pull;
    w->b.lie.mode = LIAR_REPLAY_PULL;
    assert_lie_refused(&w->b, VAULT_E_ROLLBACK, "older than");
}

/* Forges a rotation of the account at the server's current revision: a vault
 * holding "Forged" (and listing d with its public key if list_d), sealed
 * under a key of the forger's choosing, which is sealed to d. */
static void forge_rotation(world *w, device *d, int list_d, char sealed_hex[SEALED_HEX],
                           char **blob_json)
{
    uint8_t evil[VAULT_KEY_BYTES], pk[crypto_box_PUBLICKEYBYTES];
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    char *b64 = NULL, pk_hex[2 * crypto_box_PUBLICKEYBYTES + 1];
    uint64_t revision = 0;
    vault *v = NULL;
    randombytes_buf(evil, sizeof evil);
    assert_int_equal(vault_client_revision(w->a.c, &revision), VAULT_OK);
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
    *blob_json = malloc(strlen(b64) + 3);
    sprintf(*blob_json, "\"%s\"", b64);
    seal_to(d, evil, sealed_hex);
    vault_free(b64);
    vault_free(blob);
    vault_close(v);
}

/* A forged rotation whose vault does not list B (made by someone who holds
 * B's public key, e.g. the revoked device, with the server's help): refused. */
static void test_devicelink_rotate__forged_rotation_not_listing_device_is_refused(void **state)
{
    world *w = *state;
    uint8_t key_b[32], key_c[32];
    char hex[SEALED_HEX], *blob_json = NULL;
    test_key(key_b, 0x51);
    test_key(key_c, 0x52);
    link_device(w, &w->b, "laptop", key_b);
    link_device(w, &w->c, "tablet", key_c);
    revoke_then_write(w, &w->c, "After revoke");

    forge_rotation(w, &w->b, 0, hex, &blob_json);
    w->b.sealed_key = hex;
    w->b.lie.mode = LIAR_REWRITE;
    w->b.lie.op = "pull";
    w->b.lie.member = "blob";
    w->b.lie.value = blob_json;
    assert_lie_refused(&w->b, VAULT_E_AUTH, "does not list this device");
    free(blob_json);

    liar_reset(&w->b.lie);
    w->b.sealed_key = NULL;
    assert_int_equal(vault_client_sync(w->b.c), VAULT_OK);
    assert_false(has_item_titled(w->b.c, "Forged"));
    assert_true(has_item_titled(w->b.c, "After revoke"));
}

/* The limit (docs/security.md §4): a sealed key has no sender, so a revoked
 * device that knows B's public key, together with the server, can forge a
 * whole rotation that lists B, and B adopts it, as it would accept any vault
 * that device seals under a key B still holds. Neither can do it alone. */
static void test_devicelink_rotate__limit_revoked_device_with_server_can_forge(void **state)
{
    world *w = *state;
    uint8_t key_b[32], key_c[32];
    char hex[SEALED_HEX], *blob_json = NULL;
    test_key(key_b, 0x61);
    test_key(key_c, 0x62);
    link_device(w, &w->b, "laptop", key_b);
    link_device(w, &w->c, "tablet", key_c);
    revoke_then_write(w, &w->c, "After revoke");

    forge_rotation(w, &w->b, 1, hex, &blob_json);
    w->b.sealed_key = hex;
    w->b.lie.mode = LIAR_REWRITE;
    w->b.lie.op = "pull";
    w->b.lie.member = "blob";
    w->b.lie.value = blob_json;
    assert_int_equal(vault_client_pull(w->b.c), VAULT_OK);
    assert_true(has_item_titled(w->b.c, "Forged"));
    assert_memory_not_equal(w->b.c->keys->vault_key, w->a.c->keys->vault_key, VAULT_KEY_BYTES);
    free(blob_json);
}

int test_devicelink_rotate_suite(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_devicelink_rotate__linked_device_syncs_across_revocation, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_devicelink_rotate__offline_edits_survive_the_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_devicelink_rotate__wrong_sealed_key_changes_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_devicelink_rotate__replayed_earlier_rotation_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_devicelink_rotate__forged_rotation_not_listing_device_is_refused, setup,
            teardown),
        cmocka_unit_test_setup_teardown(
            test_devicelink_rotate__limit_revoked_device_with_server_can_forge, setup, teardown),
    };
    return cmocka_run_group_tests_name("devicelink_rotate", tests, NULL, NULL);
}
