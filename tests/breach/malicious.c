/* A malicious server (tests/support/liar.c), one lie at a time. Each lie
 * must end in its specific error AND leave everything the client stores
 * untouched: the bytes of its SQLite file and WAL, its vault and revision.
 * (tests/sync/sync.c has the first versions of some of these, checking the
 * vault and revision; here the check is byte for byte, and the cases the
 * issue lists that were missing are added: another account's blob, forged
 * headers, oversized and absurd answers, replayed device-link keys and
 * envelopes, and the limit of a brand-new device.) */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "breach.h"
#include "client/client.h"
#include "common/common.h"
#include "liar.h"
#include "transport/transport.h"

#define EMAIL "ada@liar.example"
#define EVE_EMAIL "eve@liar.example"
#define PASSWORD "correct horse battery staple"

static const uint8_t pepper[32] = "liar-test-pepper-liar-test-peppe";

typedef struct liar_world {
    vault_server *server;
    liar lie_a, lie_eve;
    vault_client *a, *eve;
    char a_path[768];
} liar_world;

static vault_client *client_at(const char *name, liar *l, char *path_out)
{
    vault_client *c = NULL;
    const char *path = test_path(name);
    unlink(path);
    assert_int_equal(vault_client_open(&c, path, 0), VAULT_OK);
    assert_int_equal(vault_client_connect_custom(c, liar_transport, l), VAULT_OK);
    if (path_out != NULL)
        snprintf(path_out, 768, "%s", path);
    return c;
}

static void add_and_sync(vault_client *c, const char *title)
{
    vault *v = NULL;
    char json[256];
    snprintf(json, sizeof json, "{\"type\":\"note\",\"title\":\"%s\"}", title);
    assert_int_equal(vault_client_vault(c, &v), VAULT_OK);
    assert_int_equal(vault_item_add(v, json, NULL), VAULT_OK);
    assert_int_equal(vault_client_sync(c), VAULT_OK);
}

/* Ada (A) and Eve, each at revision 2 on the same server. */
static int liar_setup(void **state)
{
    static int n;
    char name[64];
    liar_world *w = calloc(1, sizeof *w);
    snprintf(name, sizeof name, "liarserver%d.db", n);
    unlink(test_path(name));
    assert_int_equal(vault_server_open(&w->server, test_path(name), pepper, sizeof pepper, 0),
                     VAULT_OK);
    w->lie_a.server = w->lie_eve.server = w->server;
    snprintf(name, sizeof name, "liar-a%d.db", n);
    w->a = client_at(name, &w->lie_a, w->a_path);
    snprintf(name, sizeof name, "liar-eve%d.db", n++);
    w->eve = client_at(name, &w->lie_eve, NULL);
    assert_int_equal(vault_client_create(w->a, PASSWORD, TEST_OPS, TEST_MEM), VAULT_OK);
    assert_int_equal(vault_client_register(w->a, EMAIL), VAULT_OK);
    add_and_sync(w->a, "Ada's note");
    assert_int_equal(vault_client_create(w->eve, PASSWORD, TEST_OPS, TEST_MEM), VAULT_OK);
    assert_int_equal(vault_client_register(w->eve, EVE_EMAIL), VAULT_OK);
    add_and_sync(w->eve, "Eve's note");
    *state = w;
    return 0;
}

static int liar_teardown(void **state)
{
    liar_world *w = *state;
    vault_client_close(w->a);
    vault_client_close(w->eve);
    vault_server_close(w->server);
    liar_reset(&w->lie_a);
    liar_reset(&w->lie_eve);
    free(w);
    return 0;
}

/* Everything a client stores: its file and WAL bytes, vault JSON, revision. */
typedef struct stored_state {
    uint8_t *db, *wal;
    size_t db_len, wal_len;
    char *json;
    uint64_t revision;
} stored_state;

static void capture(vault_client *c, const char *path, stored_state *s)
{
    char wal[800];
    vault *v = NULL;
    memset(s, 0, sizeof *s);
    s->db = test_read_file(path, &s->db_len);
    assert_non_null(s->db);
    snprintf(wal, sizeof wal, "%s-wal", path);
    s->wal = test_read_file(wal, &s->wal_len);
    if (vault_client_vault(c, &v) == VAULT_OK)
        assert_int_equal(vault_to_json(v, &s->json), VAULT_OK);
    assert_int_equal(vault_client_revision(c, &s->revision), VAULT_OK);
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

/* Compares with a capture taken before the lie, then releases both. */
static void assert_untouched(vault_client *c, const char *path, stored_state *before)
{
    stored_state after;
    capture(c, path, &after);
    assert_same_bytes(before->db, before->db_len, after.db, after.db_len);
    assert_int_equal(before->wal != NULL, after.wal != NULL);
    assert_same_bytes(before->wal, before->wal_len, after.wal, after.wal_len);
    assert_int_equal(before->json != NULL, after.json != NULL);
    if (before->json != NULL)
        assert_string_equal(before->json, after.json);
    assert_int_equal(before->revision, after.revision);
    release(before);
    release(&after);
}

/* The honest pull answer's blob, decoded. */
static uint8_t *honest_blob(liar_world *w, vault_client *c, liar *l, size_t *len)
{
    uint8_t *blob = NULL;
    l->mode = LIAR_RECORD_PULL;
    assert_int_equal(vault_client_pull(c), VAULT_OK);
    cJSON *resp = cJSON_Parse(l->recorded);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(resp, "blob");
    assert_int_equal(vault__base64_decode(b->valuestring, VAULT_BLOB_MAX_BYTES, &blob, len),
                     VAULT_OK);
    cJSON_Delete(resp);
    liar_reset(l);
    l->server = w->server;
    return blob;
}

static void serve_blob(liar *l, const uint8_t *blob, size_t len)
{
    static char value[4096];
    char *b64 = NULL;
    assert_int_equal(vault__base64_encode(blob, len, &b64), VAULT_OK);
    assert_true(strlen(b64) + 3 < sizeof value);
    snprintf(value, sizeof value, "\"%s\"", b64);
    vault_free(b64);
    l->mode = LIAR_REWRITE;
    l->op = "pull";
    l->member = "blob";
    l->value = value;
}

static void test_breach_liar__another_accounts_blob_is_mismatch(void **state)
{
    liar_world *w = *state;
    size_t len = 0;
    uint8_t *eve_blob = honest_blob(w, w->eve, &w->lie_eve, &len);
    stored_state before;
    capture(w->a, w->a_path, &before);
    /* Eve's genuine revision-2 blob, served as Ada's revision 2. */
    serve_blob(&w->lie_a, eve_blob, len);
    assert_int_equal(vault_client_pull(w->a), VAULT_E_MISMATCH);
    assert_int_equal(w->lie_a.replays, 1);
    assert_untouched(w->a, w->a_path, &before);

    /* The same blob relabelled with Ada's account id in its clear header:
     * the key-commitment tag covers the header, and Eve's key is not Ada's. */
    capture(w->a, w->a_path, &before);
    assert_int_equal(vault__hex2bin(eve_blob + 8, VAULT_ACCOUNT_ID_BYTES, w->a->account_id),
                     VAULT_OK);
    serve_blob(&w->lie_a, eve_blob, len);
    assert_int_equal(vault_client_pull(w->a), VAULT_E_AUTH);
    assert_untouched(w->a, w->a_path, &before);
    vault_free(eve_blob);
}

/* The error each flipped bit must give, by where it lands in the blob
 * (docs/format.md): the clear header is checked against what the client
 * expects before any key is used; everything after it is authenticated. */
static int expected_for_bit(size_t bit)
{
    size_t byte = bit / 8;
    if (byte < 4 || byte == 6 || byte == 7)
        return VAULT_E_CORRUPT; /* magic, reserved */
    if (byte < 6)
        return VAULT_E_VERSION; /* format version, algorithm */
    if (byte < 24)
        return VAULT_E_MISMATCH; /* account id */
    if (byte < 32)
        return VAULT_E_ROLLBACK; /* revision: differs from the server's claim */
    return VAULT_E_AUTH;         /* nonce, commitment tag, MAC, ciphertext */
}

static void test_breach_liar__each_flipped_bit_gives_its_specific_error(void **state)
{
    liar_world *w = *state;
    size_t len = 0;
    uint8_t *blob = honest_blob(w, w->a, &w->lie_a, &len);
    stored_state before;
    capture(w->a, w->a_path, &before);
    w->lie_a.mode = LIAR_FLIP_BLOB_BIT;
    /* Every bit of the 104-byte header, then a sample of the ciphertext. */
    for (size_t bit = 0; bit < 8 * len; bit += bit < 8 * 104 ? 1 : 61) {
        w->lie_a.arg = bit;
        int rc = vault_client_pull(w->a);
        if (rc != expected_for_bit(bit))
            fail_msg("bit %zu (byte %zu): got %d, expected %d", bit, bit / 8, rc,
                     expected_for_bit(bit));
    }
    assert_untouched(w->a, w->a_path, &before);
    vault_free(blob);
}

static void test_breach_liar__rollback_and_claimed_revision_leave_store_untouched(void **state)
{
    liar_world *w = *state;
    w->lie_a.mode = LIAR_RECORD_PULL;
    assert_int_equal(vault_client_pull(w->a), VAULT_OK); /* revision 2 */
    w->lie_a.mode = LIAR_HONEST;
    add_and_sync(w->a, "newer"); /* revision 3 */
    stored_state before;
    capture(w->a, w->a_path, &before);
    w->lie_a.mode = LIAR_REPLAY_PULL;
    assert_int_equal(vault_client_pull(w->a), VAULT_E_ROLLBACK);
    w->lie_a.mode = LIAR_CLAIM_NEXT_REVISION;
    assert_int_equal(vault_client_pull(w->a), VAULT_E_ROLLBACK);
    assert_untouched(w->a, w->a_path, &before);
}

static void test_breach_liar__dropped_push_is_caught_without_local_change(void **state)
{
    liar_world *w = *state;
    vault *v = NULL;
    assert_int_equal(vault_client_vault(w->a, &v), VAULT_OK);
    assert_int_equal(vault_item_add(v, "{\"type\":\"note\",\"title\":\"lost?\"}", NULL), VAULT_OK);
    w->lie_a.mode = LIAR_DROP_PUSH;
    assert_int_equal(vault_client_sync(w->a), VAULT_OK);
    assert_int_equal(w->lie_a.dropped_pushes, 1);
    w->lie_a.mode = LIAR_HONEST;
    stored_state before;
    capture(w->a, w->a_path, &before);
    assert_int_equal(before.revision, 3);
    /* The server is still at 2: below what it acknowledged. The edit stays
     * local (nothing is lost) and the client says why it stopped. */
    assert_int_equal(vault_client_sync(w->a), VAULT_E_ROLLBACK);
    assert_untouched(w->a, w->a_path, &before);
}

/* Answers no honest server gives: too large, absurd numbers, broken text. */
static void test_breach_liar__oversized_and_absurd_answers_are_server_errors(void **state)
{
    static const char *const revisions[] = {"1e300", "-1", "2.5", "\"2\"", "null",
                                            "9007199254740994", "[2]"};
    liar_world *w = *state;
    stored_state before;
    capture(w->a, w->a_path, &before);
    w->lie_a.mode = LIAR_OVERSIZE;
    w->lie_a.arg = VAULT_TRANSPORT__MAX_RESPONSE + 1;
    assert_int_equal(vault_client_pull(w->a), VAULT_E_SERVER);
    assert_non_null(strstr(vault_client_errmsg(w->a), "too large"));
    assert_int_equal(vault_client_login(w->a, EMAIL, PASSWORD), VAULT_E_SERVER);
    w->lie_a.arg = 64; /* small, well-formed, but missing every member */
    assert_int_equal(vault_client_pull(w->a), VAULT_E_SERVER);
    for (size_t i = 0; i < sizeof revisions / sizeof revisions[0]; i++) {
        liar_reset(&w->lie_a);
        w->lie_a.server = w->server;
        w->lie_a.mode = LIAR_REWRITE;
        w->lie_a.op = "pull";
        w->lie_a.member = "revision";
        w->lie_a.value = revisions[i];
        assert_int_equal(vault_client_pull(w->a), VAULT_E_SERVER);
        /* The message quotes the parser's own message intact (formatting
         * the error buffer into itself was undefined behaviour). */
        assert_string_equal(vault_client_errmsg(w->a),
                            "malformed pull answer: pull: \"revision\" must be a non-negative "
                            "integer");
    }
    /* 2^53 is still a valid number: then it is a claim the sealed blob
     * contradicts. */
    w->lie_a.value = "9007199254740992";
    assert_int_equal(vault_client_pull(w->a), VAULT_E_ROLLBACK);
    w->lie_a.member = "blob";
    w->lie_a.value = "\"not base64!\"";
    assert_int_equal(vault_client_pull(w->a), VAULT_E_SERVER);
    w->lie_a.mode = LIAR_GARBAGE;
    assert_int_equal(vault_client_pull(w->a), VAULT_E_SERVER);
    w->lie_a.mode = LIAR_TRUNCATE;
    w->lie_a.arg = 40;
    assert_int_equal(vault_client_pull(w->a), VAULT_E_SERVER);
    liar_reset(&w->lie_a);
    assert_untouched(w->a, w->a_path, &before);
}

/* At login on a device that knows the account: weaker KDF parameters, a
 * swapped protected key, another account's id. Nothing is adopted. */
static void test_breach_liar__login_lies_leave_store_untouched(void **state)
{
    liar_world *w = *state;
    char eve_id[40];
    snprintf(eve_id, sizeof eve_id, "\"%s\"", w->eve->account_id);
    w->lie_eve.mode = LIAR_RECORD_KEY;
    assert_int_equal(vault_client_login(w->eve, EVE_EMAIL, PASSWORD), VAULT_OK);
    assert_non_null(w->lie_eve.recorded);

    stored_state before;
    capture(w->a, w->a_path, &before);
    w->lie_a.mode = LIAR_WEAK_KDF;
    w->lie_a.arg = 1;
    assert_int_equal(vault_client_login(w->a, EMAIL, PASSWORD), VAULT_E_WEAK_KDF);
    w->lie_a.mode = LIAR_REWRITE;
    w->lie_a.op = "prelogin";
    w->lie_a.member = "memlimit";
    w->lie_a.value = "1048576";
    assert_int_equal(vault_client_login(w->a, EMAIL, PASSWORD), VAULT_E_WEAK_KDF);
    w->lie_a.op = "login";
    w->lie_a.member = "account_id";
    w->lie_a.value = eve_id;
    assert_int_equal(vault_client_login(w->a, EMAIL, PASSWORD), VAULT_E_MISMATCH);
    w->lie_a.recorded = w->lie_eve.recorded;
    w->lie_eve.recorded = NULL;
    w->lie_a.mode = LIAR_SWAP_PROTECTED_KEY;
    assert_int_equal(vault_client_login(w->a, EMAIL, PASSWORD), VAULT_E_AUTH);
    liar_reset(&w->lie_a);
    assert_untouched(w->a, w->a_path, &before);
}

/* DESIGN limit, modelled: a device that never saw the newer revision (a
 * fresh login) cannot tell a rollback. It accepts the older revision it is
 * served — and refuses it as soon as it has seen the newer one. */
static void test_breach_liar__fresh_device_cannot_detect_rollback(void **state)
{
    liar_world *w = *state;
    liar lie_b = {.server = w->server};
    w->lie_a.mode = LIAR_RECORD_PULL;
    assert_int_equal(vault_client_pull(w->a), VAULT_OK); /* revision 2 */
    w->lie_a.mode = LIAR_HONEST;
    add_and_sync(w->a, "newer"); /* revision 3 */
    vault_client *b = client_at("liar-fresh.db", &lie_b, NULL);
    lie_b.recorded = w->lie_a.recorded;
    w->lie_a.recorded = NULL;
    lie_b.mode = LIAR_REPLAY_PULL;
    uint64_t rev = 0;
    assert_int_equal(vault_client_login(b, EMAIL, PASSWORD), VAULT_OK);
    assert_int_equal(vault_client_revision(b, &rev), VAULT_OK);
    assert_int_equal(rev, 2); /* accepted: it has no way to know */
    lie_b.mode = LIAR_HONEST;
    assert_int_equal(vault_client_pull(b), VAULT_OK);
    lie_b.mode = LIAR_REPLAY_PULL;
    assert_int_equal(vault_client_pull(b), VAULT_E_ROLLBACK);
    vault_client_close(b);
    liar_reset(&lie_b);
}

/* ---- device linking --------------------------------------------------- */

/* One link from A to a new device b (both through their liars); returns
 * VAULT_OK or the first failing status of poll/complete. */
static int link_once(liar_world *w, vault_client *b, const uint8_t *local_key, int *poll_rc)
{
    vault_link *offer = NULL, *join = NULL;
    char *uri = NULL;
    assert_int_equal(vault_link_offer(&offer, w->a), VAULT_OK);
    assert_int_equal(vault_link_payload(offer, &uri), VAULT_OK);
    assert_int_equal(vault_link_join(&join, b, uri), VAULT_OK);
    int rc = *poll_rc = vault_link_poll(offer);
    if (rc == VAULT_OK)
        rc = vault_link_confirm(offer, "tablet");
    if (rc == VAULT_OK)
        rc = vault_link_complete(join, local_key);
    vault_free(uri);
    vault_link_free(offer);
    vault_link_free(join);
    return rc;
}

/* The relay answers a new link's poll with the key, MAC and confirmation
 * tag a device posted for an earlier link: the MAC binds the link id and
 * the link secret, so A refuses it and sends no envelope. */
static void test_breach_liar__replayed_link_key_is_refused(void **state)
{
    liar_world *w = *state;
    uint8_t key[32];
    int poll_rc = 0;
    liar lie_b1 = {.server = w->server}, lie_b2 = {.server = w->server};
    test_key(key, 0x11);
    vault_client *b1 = client_at("liar-link-b1.db", &lie_b1, NULL);
    vault_client *b2 = client_at("liar-link-b2.db", &lie_b2, NULL);
    w->lie_a.mode = LIAR_RECORD_OP;
    w->lie_a.op = "link_poll";
    assert_int_equal(link_once(w, b1, key, &poll_rc), VAULT_OK);
    assert_non_null(w->lie_a.recorded);
    w->lie_a.mode = LIAR_REPLAY_OP;
    stored_state before;
    capture(w->a, w->a_path, &before);
    assert_int_equal(link_once(w, b2, key, &poll_rc), VAULT_E_AUTH);
    assert_int_equal(poll_rc, VAULT_E_AUTH);
    assert_int_equal(w->lie_a.replays, 1);
    char *id = NULL;
    assert_int_equal(vault_client_account_id(b2, &id), VAULT_E_NOT_FOUND);
    liar_reset(&w->lie_a);
    assert_untouched(w->a, w->a_path, &before);
    vault_client_close(b1);
    vault_client_close(b2);
    liar_reset(&lie_b1);
    liar_reset(&lie_b2);
}

/* The relay hands a new device the envelope of an earlier link, or one it
 * made itself: neither opens under this link's session key; the device
 * adopts nothing and its store keeps its bytes. */
static void test_breach_liar__replayed_or_forged_envelope_is_refused(void **state)
{
    liar_world *w = *state;
    uint8_t key[32], junk[200];
    char forged[512], b64[300];
    int poll_rc = 0;
    liar lie_b1 = {.server = w->server}, lie_b2 = {.server = w->server};
    test_key(key, 0x12);
    vault_client *b1 = client_at("liar-env-b1.db", &lie_b1, NULL);
    lie_b1.mode = LIAR_RECORD_OP;
    lie_b1.op = "link_fetch";
    assert_int_equal(link_once(w, b1, key, &poll_rc), VAULT_OK);
    assert_non_null(lie_b1.recorded);

    char b2_path[768];
    vault_client *b2 = client_at("liar-env-b2.db", &lie_b2, b2_path);
    lie_b2.recorded = lie_b1.recorded;
    lie_b1.recorded = NULL;
    lie_b2.mode = LIAR_REPLAY_OP;
    lie_b2.op = "link_fetch";
    stored_state before;
    capture(b2, b2_path, &before);
    assert_int_equal(link_once(w, b2, key, &poll_rc), VAULT_E_AUTH);
    assert_int_equal(poll_rc, VAULT_OK);
    assert_int_equal(lie_b2.replays, 1);
    assert_untouched(b2, b2_path, &before);

    /* An envelope the relay made: version byte 1, random nonce and body. */
    randombytes_buf(junk, sizeof junk);
    junk[0] = 1;
    sodium_bin2base64(b64, sizeof b64, junk, sizeof junk, sodium_base64_VARIANT_ORIGINAL);
    snprintf(forged, sizeof forged, "\"%s\"", b64);
    liar_reset(&lie_b2);
    lie_b2.server = w->server;
    lie_b2.mode = LIAR_REWRITE;
    lie_b2.op = "link_fetch";
    lie_b2.member = "envelope";
    lie_b2.value = forged;
    capture(b2, b2_path, &before);
    assert_int_equal(link_once(w, b2, key, &poll_rc), VAULT_E_AUTH);
    assert_int_equal(lie_b2.replays, 1);
    assert_untouched(b2, b2_path, &before);
    vault_client_close(b1);
    vault_client_close(b2);
    liar_reset(&lie_b1);
    liar_reset(&lie_b2);
}

int breach_run_liar_tests(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, liar_setup, liar_teardown)
    const struct CMUnitTest tests[] = {
        T(test_breach_liar__another_accounts_blob_is_mismatch),
        T(test_breach_liar__each_flipped_bit_gives_its_specific_error),
        T(test_breach_liar__rollback_and_claimed_revision_leave_store_untouched),
        T(test_breach_liar__dropped_push_is_caught_without_local_change),
        T(test_breach_liar__oversized_and_absurd_answers_are_server_errors),
        T(test_breach_liar__login_lies_leave_store_untouched),
        T(test_breach_liar__fresh_device_cannot_detect_rollback),
        T(test_breach_liar__replayed_link_key_is_refused),
        T(test_breach_liar__replayed_or_forged_envelope_is_refused),
    };
#undef T
    return cmocka_run_group_tests_name("breach_liar", tests, NULL, NULL);
}
