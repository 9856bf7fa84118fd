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
#include "world.h"
#include "transport/transport.h"

#define EMAIL "ada@liar.example"
#define EVE_EMAIL "eve@liar.example"
#define PASSWORD TW_PASSWORD

typedef struct liar_world {
    tw_world *tw;
    tw_device *a, *eve;
} liar_world;

static void add_and_sync(vault_client *c, const char *title)
{
    tw_add_note(c, title);
    assert_int_equal(vault_client_sync(c), VAULT_OK);
}

/* Ada (A) and Eve, each at revision 2 on the same server. */
static int liar_setup(void **state)
{
    liar_world *w = tw_state_new(sizeof *w, "liar");
    w->a = tw_registered(w->tw, "a", EMAIL, PASSWORD);
    add_and_sync(w->a->c, "Ada's note");
    w->eve = tw_registered(w->tw, "eve", EVE_EMAIL, PASSWORD);
    add_and_sync(w->eve->c, "Eve's note");
    *state = w;
    return 0;
}

/* The honest pull answer's blob, decoded. */
static uint8_t *honest_blob(tw_device *d, size_t *len)
{
    uint8_t *blob = NULL;
    vault_client *c = d->c;
    liar *l = &d->lie;
    l->mode = LIAR_RECORD_PULL;
    assert_int_equal(vault_client_pull(c), VAULT_OK);
    cJSON *resp = cJSON_Parse(l->recorded);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(resp, "blob");
    assert_int_equal(vault__base64_decode(b->valuestring, VAULT_BLOB_MAX_BYTES, &blob, len),
                     VAULT_OK);
    cJSON_Delete(resp);
    liar_reset(l);
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
    uint8_t *eve_blob = honest_blob(w->eve, &len);
    tw_snapshot before;
    tw_snapshot_take(w->a, &before);
    /* Eve's genuine revision-2 blob, served as Ada's revision 2. */
    serve_blob(&w->a->lie, eve_blob, len);
    assert_int_equal(vault_client_pull(w->a->c), VAULT_E_MISMATCH);
    assert_int_equal(w->a->lie.replays, 1);
    tw_assert_untouched(w->a, &before);

    /* The same blob relabelled with Ada's account id in its clear header:
     * the key-commitment tag covers the header, and Eve's key is not Ada's. */
    tw_snapshot_take(w->a, &before);
    assert_int_equal(vault__hex2bin(eve_blob + 8, VAULT_ACCOUNT_ID_BYTES, w->a->c->account_id),
                     VAULT_OK);
    serve_blob(&w->a->lie, eve_blob, len);
    assert_int_equal(vault_client_pull(w->a->c), VAULT_E_AUTH);
    tw_assert_untouched(w->a, &before);
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
    uint8_t *blob = honest_blob(w->a, &len);
    tw_snapshot before;
    tw_snapshot_take(w->a, &before);
    w->a->lie.mode = LIAR_FLIP_BLOB_BIT;
    /* Every bit of the 104-byte header, then a sample of the ciphertext. */
    for (size_t bit = 0; bit < 8 * len; bit += bit < 8 * 104 ? 1 : 61) {
        w->a->lie.arg = bit;
        int rc = vault_client_pull(w->a->c);
        if (rc != expected_for_bit(bit))
            fail_msg("bit %zu (byte %zu): got %d, expected %d", bit, bit / 8, rc,
                     expected_for_bit(bit));
    }
    tw_assert_untouched(w->a, &before);
    vault_free(blob);
}

static void test_breach_liar__rollback_and_claimed_revision_leave_store_untouched(void **state)
{
    liar_world *w = *state;
    w->a->lie.mode = LIAR_RECORD_PULL;
    assert_int_equal(vault_client_pull(w->a->c), VAULT_OK); /* revision 2 */
    w->a->lie.mode = LIAR_HONEST;
    add_and_sync(w->a->c, "newer"); /* revision 3 */
    tw_snapshot before;
    tw_snapshot_take(w->a, &before);
    w->a->lie.mode = LIAR_REPLAY_PULL;
    assert_int_equal(vault_client_pull(w->a->c), VAULT_E_ROLLBACK);
    w->a->lie.mode = LIAR_CLAIM_NEXT_REVISION;
    assert_int_equal(vault_client_pull(w->a->c), VAULT_E_ROLLBACK);
    tw_assert_untouched(w->a, &before);
}

static void test_breach_liar__dropped_push_is_caught_without_local_change(void **state)
{
    liar_world *w = *state;
    vault *v = NULL;
    assert_int_equal(vault_client_vault(w->a->c, &v), VAULT_OK);
    assert_int_equal(vault_item_add(v, "{\"type\":\"note\",\"title\":\"lost?\"}", NULL), VAULT_OK);
    w->a->lie.mode = LIAR_DROP_PUSH;
    assert_int_equal(vault_client_sync(w->a->c), VAULT_OK);
    assert_int_equal(w->a->lie.dropped_pushes, 1);
    w->a->lie.mode = LIAR_HONEST;
    tw_snapshot before;
    tw_snapshot_take(w->a, &before);
    assert_int_equal(before.revision, 3);
    /* The server is still at 2: below what it acknowledged. The edit stays
     * local (nothing is lost) and the client says why it stopped. */
    assert_int_equal(vault_client_sync(w->a->c), VAULT_E_ROLLBACK);
    tw_assert_untouched(w->a, &before);
}

/* Answers no honest server gives: too large, absurd numbers, broken text. */
static void test_breach_liar__oversized_and_absurd_answers_are_server_errors(void **state)
{
    static const char *const revisions[] = {"1e300", "-1", "2.5", "\"2\"", "null",
                                            "9007199254740994", "[2]"};
    liar_world *w = *state;
    tw_snapshot before;
    tw_snapshot_take(w->a, &before);
    w->a->lie.mode = LIAR_OVERSIZE;
    w->a->lie.arg = VAULT_TRANSPORT__MAX_RESPONSE + 1;
    assert_int_equal(vault_client_pull(w->a->c), VAULT_E_SERVER);
    assert_non_null(strstr(vault_client_errmsg(w->a->c), "too large"));
    assert_int_equal(vault_client_login(w->a->c, EMAIL, PASSWORD), VAULT_E_SERVER);
    w->a->lie.arg = 64; /* small, well-formed, but missing every member */
    assert_int_equal(vault_client_pull(w->a->c), VAULT_E_SERVER);
    for (size_t i = 0; i < sizeof revisions / sizeof revisions[0]; i++) {
        liar_reset(&w->a->lie);
            w->a->lie.mode = LIAR_REWRITE;
        w->a->lie.op = "pull";
        w->a->lie.member = "revision";
        w->a->lie.value = revisions[i];
        assert_int_equal(vault_client_pull(w->a->c), VAULT_E_SERVER);
        /* The message quotes the parser's own message intact (formatting
         * the error buffer into itself was undefined behaviour). */
        assert_string_equal(vault_client_errmsg(w->a->c),
                            "malformed pull answer: pull: \"revision\" must be a non-negative "
                            "integer");
    }
    /* 2^53 is still a valid number: then it is a claim the sealed blob
     * contradicts. */
    w->a->lie.value = "9007199254740992";
    assert_int_equal(vault_client_pull(w->a->c), VAULT_E_ROLLBACK);
    w->a->lie.member = "blob";
    w->a->lie.value = "\"not base64!\"";
    assert_int_equal(vault_client_pull(w->a->c), VAULT_E_SERVER);
    w->a->lie.mode = LIAR_GARBAGE;
    assert_int_equal(vault_client_pull(w->a->c), VAULT_E_SERVER);
    w->a->lie.mode = LIAR_TRUNCATE;
    w->a->lie.arg = 40;
    assert_int_equal(vault_client_pull(w->a->c), VAULT_E_SERVER);
    liar_reset(&w->a->lie);
    tw_assert_untouched(w->a, &before);
}

/* At login on a device that knows the account: weaker KDF parameters, a
 * swapped protected key, another account's id. Nothing is adopted. */
static void test_breach_liar__login_lies_leave_store_untouched(void **state)
{
    liar_world *w = *state;
    char eve_id[40];
    snprintf(eve_id, sizeof eve_id, "\"%s\"", w->eve->c->account_id);
    w->eve->lie.mode = LIAR_RECORD_KEY;
    assert_int_equal(vault_client_login(w->eve->c, EVE_EMAIL, PASSWORD), VAULT_OK);
    assert_non_null(w->eve->lie.recorded);

    tw_snapshot before;
    tw_snapshot_take(w->a, &before);
    w->a->lie.mode = LIAR_WEAK_KDF;
    w->a->lie.arg = 1;
    assert_int_equal(vault_client_login(w->a->c, EMAIL, PASSWORD), VAULT_E_WEAK_KDF);
    w->a->lie.mode = LIAR_REWRITE;
    w->a->lie.op = "login_start";
    w->a->lie.member = "memlimit";
    w->a->lie.value = "1048576";
    assert_int_equal(vault_client_login(w->a->c, EMAIL, PASSWORD), VAULT_E_WEAK_KDF);
    w->a->lie.op = "login_finish";
    w->a->lie.member = "account_id";
    w->a->lie.value = eve_id;
    assert_int_equal(vault_client_login(w->a->c, EMAIL, PASSWORD), VAULT_E_MISMATCH);
    w->a->lie.recorded = w->eve->lie.recorded;
    w->eve->lie.recorded = NULL;
    w->a->lie.mode = LIAR_SWAP_PROTECTED_KEY;
    assert_int_equal(vault_client_login(w->a->c, EMAIL, PASSWORD), VAULT_E_AUTH);
    liar_reset(&w->a->lie);
    tw_assert_untouched(w->a, &before);
}

/* DESIGN limit, modelled: a device that never saw the newer revision (a
 * fresh login) cannot tell a rollback. It accepts the older revision it is
 * served — and refuses it as soon as it has seen the newer one. */
static void test_breach_liar__fresh_device_cannot_detect_rollback(void **state)
{
    liar_world *w = *state;
    w->a->lie.mode = LIAR_RECORD_PULL;
    assert_int_equal(vault_client_pull(w->a->c), VAULT_OK); /* revision 2 */
    w->a->lie.mode = LIAR_HONEST;
    add_and_sync(w->a->c, "newer"); /* revision 3 */
    tw_device *fresh = tw_device_open(w->tw, "fresh");
    vault_client *b = fresh->c;
    liar *lie_b = &fresh->lie;
    assert_int_equal(vault_client_set_secret_key(b, tw_secret_key(w->tw, EMAIL)), VAULT_OK);
    lie_b->recorded = w->a->lie.recorded;
    w->a->lie.recorded = NULL;
    lie_b->mode = LIAR_REPLAY_PULL;
    uint64_t rev = 0;
    assert_int_equal(vault_client_login(b, EMAIL, PASSWORD), VAULT_OK);
    assert_int_equal(vault_client_revision(b, &rev), VAULT_OK);
    assert_int_equal(rev, 2); /* accepted: it has no way to know */
    lie_b->mode = LIAR_HONEST;
    assert_int_equal(vault_client_pull(b), VAULT_OK);
    lie_b->mode = LIAR_REPLAY_PULL;
    assert_int_equal(vault_client_pull(b), VAULT_E_ROLLBACK);
}

/* ---- device linking --------------------------------------------------- */

/* One link from A to a new device b (both through their liars); returns
 * VAULT_OK or the first failing status of poll/complete. */
static int link_once(liar_world *w, vault_client *b, const uint8_t *local_key, int *poll_rc)
{
    vault_link *offer = NULL, *join = NULL;
    char *uri = NULL;
    assert_int_equal(vault_link_offer(&offer, w->a->c), VAULT_OK);
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
    test_key(key, 0x11);
    vault_client *b1 = tw_device_open(w->tw, "link-b1")->c;
    vault_client *b2 = tw_device_open(w->tw, "link-b2")->c;
    w->a->lie.mode = LIAR_RECORD_OP;
    w->a->lie.op = "link_poll";
    assert_int_equal(link_once(w, b1, key, &poll_rc), VAULT_OK);
    assert_non_null(w->a->lie.recorded);
    w->a->lie.mode = LIAR_REPLAY_OP;
    tw_snapshot before;
    tw_snapshot_take(w->a, &before);
    assert_int_equal(link_once(w, b2, key, &poll_rc), VAULT_E_AUTH);
    assert_int_equal(poll_rc, VAULT_E_AUTH);
    assert_int_equal(w->a->lie.replays, 1);
    char *id = NULL;
    assert_int_equal(vault_client_account_id(b2, &id), VAULT_E_NOT_FOUND);
    liar_reset(&w->a->lie);
    tw_assert_untouched(w->a, &before);
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
    test_key(key, 0x12);
    tw_device *d1 = tw_device_open(w->tw, "env-b1");
    vault_client *b1 = d1->c;
    liar *lie_b1 = &d1->lie;
    lie_b1->mode = LIAR_RECORD_OP;
    lie_b1->op = "link_fetch";
    assert_int_equal(link_once(w, b1, key, &poll_rc), VAULT_OK);
    assert_non_null(lie_b1->recorded);

    tw_device *d2 = tw_device_open(w->tw, "env-b2");
    vault_client *b2 = d2->c;
    liar *lie_b2 = &d2->lie;
    lie_b2->recorded = lie_b1->recorded;
    lie_b1->recorded = NULL;
    lie_b2->mode = LIAR_REPLAY_OP;
    lie_b2->op = "link_fetch";
    tw_snapshot before;
    tw_snapshot_take(d2, &before);
    assert_int_equal(link_once(w, b2, key, &poll_rc), VAULT_E_AUTH);
    assert_int_equal(poll_rc, VAULT_OK);
    assert_int_equal(lie_b2->replays, 1);
    tw_assert_untouched(d2, &before);

    /* An envelope the relay made: version byte 1, random nonce and body. */
    randombytes_buf(junk, sizeof junk);
    junk[0] = 1;
    sodium_bin2base64(b64, sizeof b64, junk, sizeof junk, sodium_base64_VARIANT_ORIGINAL);
    snprintf(forged, sizeof forged, "\"%s\"", b64);
    liar_reset(lie_b2);
    lie_b2->mode = LIAR_REWRITE;
    lie_b2->op = "link_fetch";
    lie_b2->member = "envelope";
    lie_b2->value = forged;
    tw_snapshot_take(d2, &before);
    assert_int_equal(link_once(w, b2, key, &poll_rc), VAULT_E_AUTH);
    assert_int_equal(lie_b2->replays, 1);
    tw_assert_untouched(d2, &before);
}

/* A hostile server choosing the parameters a fresh device derives with: in
 * protocol 2 there is no salt to choose at all, and costs of its choosing
 * (here stronger than the account's: a fresh device has nothing to compare
 * them with) only make the key exchange fail on the device. The device then
 * sends nothing after KE1: no KE3, no key, nothing to test a guess with. */
static void test_breach_liar__chosen_parameters_get_nothing_usable(void **state)
{
    liar_world *w = *state;
    tw_device *fresh = tw_device_open(w->tw, "fresh");
    assert_int_equal(vault_client_set_secret_key(fresh->c, tw_secret_key(w->tw, EMAIL)),
                     VAULT_OK);
    static const char *const costs[][2] = {{"memlimit", "20971520"}, {"opslimit", "3"}};
    for (size_t i = 0; i < 2; i++) {
        fresh->lie.mode = LIAR_REWRITE;
        fresh->lie.op = "login_start";
        fresh->lie.member = costs[i][0];
        fresh->lie.value = costs[i][1];
        fresh->lie.keep_requests = 1;
        assert_int_equal(vault_client_login(fresh->c, EMAIL, PASSWORD), VAULT_E_AUTH);
        assert_int_equal(fresh->lie.replays, 1);
        assert_string_equal(fresh->lie.last_op, "login_start"); /* no login_finish */
        assert_null(strstr(fresh->lie.requests, "ke3"));
        assert_null(strstr(fresh->lie.requests, "salt"));
        char *acct = NULL;
        assert_int_equal(vault_client_account_id(fresh->c, &acct), VAULT_E_NOT_FOUND);
        liar_reset(&fresh->lie);
    }
    /* Honest costs: the same device logs in. */
    assert_int_equal(vault_client_login(fresh->c, EMAIL, PASSWORD), VAULT_OK);
}

/* Everything a client sends in a registration, logins, a password change
 * and a deletion, kept by a hostile server: it holds neither the password
 * nor the OPAQUE password input (password and Secret Key), in any encoding,
 * nor the Secret Key. */
static void test_breach_liar__server_receives_nothing_password_derived(void **state)
{
    liar_world *w = *state;
    static const char *const new_password = "an entirely new passphrase";
    tw_device *d = tw_device_open(w->tw, "recorded");
    d->lie.keep_requests = 1;
    assert_int_equal(vault_client_create(d->c, PASSWORD, TEST_OPS, TEST_MEM), VAULT_OK);
    assert_int_equal(vault_client_register(d->c, "recorded@liar.example"), VAULT_OK);
    uint8_t secrets[3][64];
    memcpy(secrets[0], d->c->keys->password_key, 64);
    memcpy(secrets[1], d->c->secret_key, 16);
    assert_int_equal(vault_client_login(d->c, "recorded@liar.example", PASSWORD), VAULT_OK);
    assert_int_equal(vault_client_change_password(d->c, PASSWORD, new_password, 0, 0), VAULT_OK);
    memcpy(secrets[2], d->c->keys->password_key, 64);
    assert_int_equal(vault_client_delete_account(d->c, new_password), VAULT_OK);
    const uint8_t *log = (const uint8_t *)d->lie.requests;
    size_t n = d->lie.requests_len;
    const char *encoding = NULL;
    assert_false(breach_contains_any_encoding(log, n, PASSWORD, &encoding));
    assert_false(breach_contains_any_encoding(log, n, new_password, &encoding));
    const size_t lens[3] = {64, 16, 64};
    for (size_t i = 0; i < 3; i++) {
        char hex[129];
        vault__bin2hex(hex, secrets[i], lens[i]);
        assert_false(test_contains(log, n, secrets[i], 8));
        assert_false(test_contains(log, n, hex, 16));
    }
    /* The log is real: it holds the four kinds of proof-carrying requests. */
    assert_non_null(strstr(d->lie.requests, "\"op\":\"register_start\""));
    assert_non_null(strstr(d->lie.requests, "\"op\":\"login_finish\""));
    assert_non_null(strstr(d->lie.requests, "\"op\":\"change_password\""));
    assert_non_null(strstr(d->lie.requests, "\"op\":\"delete_account\""));
    sodium_memzero(secrets, sizeof secrets);
}

int breach_run_liar_tests(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, liar_setup, tw_teardown)
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
        T(test_breach_liar__chosen_parameters_get_nothing_usable),
        T(test_breach_liar__server_receives_nothing_password_derived),
    };
#undef T
    return cmocka_run_group_tests_name("breach_liar", tests, NULL, NULL);
}
