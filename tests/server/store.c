/* The store's device-link and device operations, called through the store
 * interface itself (store.h), so that every backend is held to the same
 * contract: states, quotas, what is committed and what is rolled back.
 * The protocol around them is tested in tests/devicelink/relay.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "server/server.h"
#include "server_test.h"

#define LINK_TTL_MS (300 * 1000LL)

typedef struct fixture {
    vault_server *s;
    vault_store *st;
    ts_account a;
    uint8_t account_id[VAULT_STORE_ID_BYTES];
    uint8_t device_id[VAULT_STORE_ID_BYTES];
} fixture;

static void open_fixture(fixture *f, const char *name)
{
    memset(f, 0, sizeof *f);
    f->s = ts_open(name, 1);
    f->st = f->s->store;
    ts_account_init(&f->a, 1);
    ts_register(f->s, &f->a);
    assert_int_equal(vault__hex2bin(f->account_id, sizeof f->account_id, f->a.account_id),
                     VAULT_OK);
    assert_int_equal(vault__hex2bin(f->device_id, sizeof f->device_id, f->a.device_id),
                     VAULT_OK);
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i);
}

static vault_store_link new_link(const fixture *f, uint8_t seed)
{
    vault_store_link link;
    memset(&link, 0, sizeof link);
    link.role = VAULT_STORE_LINK_OFFER;
    fill(link.id, sizeof link.id, seed);
    memcpy(link.account_id, f->account_id, sizeof link.account_id);
    memcpy(link.device_id, f->device_id, sizeof link.device_id);
    link.expires_ms = TS_NOW_MS + LINK_TTL_MS;
    return link;
}

static vault_store_link posted_key(const vault_store_link *link, uint8_t seed)
{
    vault_store_link posted = *link;
    fill(posted.peer_pk, sizeof posted.peer_pk, seed);
    fill(posted.post_mac, sizeof posted.post_mac, (uint8_t)(seed + 1));
    fill(posted.confirm_tag, sizeof posted.confirm_tag, (uint8_t)(seed + 2));
    fill(posted.fetch_hash, sizeof posted.fetch_hash, (uint8_t)(seed + 3));
    return posted;
}

static vault_store_link get_link(vault_store *st, const uint8_t *id, uint8_t **envelope,
                                 size_t *envelope_len)
{
    vault_store_link out;
    assert_int_equal(st->ops->link_get(st, id, &out, envelope, envelope_len), VAULT_OK);
    return out;
}

static vault_store_new_device new_device(uint8_t seed, const char *name)
{
    vault_store_new_device dev;
    memset(&dev, 0, sizeof dev);
    fill(dev.id, sizeof dev.id, seed);
    dev.name = name;
    fill(dev.credential_hash, sizeof dev.credential_hash, (uint8_t)(seed + 50));
    return dev;
}

void test_server_links__relay_lifecycle(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f, "store_links");
    vault_store *st = f.st;
    const int64_t now = TS_NOW_MS;
    uint8_t *env = NULL;
    size_t env_len = 0;

    vault_store_link link = new_link(&f, 10);
    assert_int_equal(st->ops->link_create(st, &link, now), VAULT_OK);
    assert_int_equal(st->ops->link_create(st, &link, now), VAULT_E_EXISTS);
    vault_store_link got = get_link(st, link.id, &env, &env_len);
    assert_int_equal(got.state, VAULT_STORE_LINK_OPEN);
    assert_int_equal(got.expires_ms, link.expires_ms);
    assert_int_equal(got.extra_posts, 0);
    assert_memory_equal(got.account_id, f.account_id, sizeof got.account_id);
    assert_memory_equal(got.device_id, f.device_id, sizeof got.device_id);
    assert_null(env);
    assert_int_equal(env_len, 0);

    /* The new device posts its key; a second post (a copied code) is refused
     * but counted, and a counted link cannot be delivered. */
    vault_store_link posted = posted_key(&link, 100);
    assert_int_equal(st->ops->link_post_key(st, &posted, now), VAULT_OK);
    got = get_link(st, link.id, NULL, NULL);
    assert_int_equal(got.state, VAULT_STORE_LINK_POSTED);
    assert_memory_equal(got.peer_pk, posted.peer_pk, sizeof got.peer_pk);
    assert_memory_equal(got.post_mac, posted.post_mac, sizeof got.post_mac);
    assert_memory_equal(got.confirm_tag, posted.confirm_tag, sizeof got.confirm_tag);
    assert_memory_equal(got.fetch_hash, posted.fetch_hash, sizeof got.fetch_hash);
    vault_store_link racer = posted_key(&link, 200);
    assert_int_equal(st->ops->link_post_key(st, &racer, now), VAULT_E_STATE);
    got = get_link(st, link.id, NULL, NULL);
    assert_int_equal(got.extra_posts, 1);
    assert_memory_equal(got.peer_pk, posted.peer_pk, sizeof got.peer_pk);
    const uint8_t envelope[] = "sealed envelope bytes";
    vault_store_new_device dev = new_device(30, "phone");
    assert_int_equal(st->ops->link_deliver(st, link.id, f.account_id, envelope, sizeof envelope,
                                           &dev, now),
                     VAULT_E_STATE);

    /* A clean link: delivered with the device it creates, fetched once. */
    vault_store_link clean = new_link(&f, 40);
    assert_int_equal(st->ops->link_create(st, &clean, now), VAULT_OK);
    posted = posted_key(&clean, 120);
    assert_int_equal(st->ops->link_post_key(st, &posted, now), VAULT_OK);
    uint8_t other_account[VAULT_STORE_ID_BYTES];
    fill(other_account, sizeof other_account, 99);
    assert_int_equal(st->ops->link_deliver(st, clean.id, other_account, envelope,
                                           sizeof envelope, &dev, now),
                     VAULT_E_NOT_FOUND);
    assert_int_equal(st->ops->link_deliver(st, clean.id, f.account_id, envelope,
                                           sizeof envelope, &dev, clean.expires_ms),
                     VAULT_E_EXPIRED);
    /* The device id is taken (the account's own device): nothing is kept. */
    vault_store_new_device taken = dev;
    memcpy(taken.id, f.device_id, sizeof taken.id);
    assert_int_equal(st->ops->link_deliver(st, clean.id, f.account_id, envelope,
                                           sizeof envelope, &taken, now),
                     VAULT_E_EXISTS);
    got = get_link(st, clean.id, &env, &env_len);
    assert_int_equal(got.state, VAULT_STORE_LINK_POSTED);
    assert_null(env);
    assert_int_equal(st->ops->link_deliver(st, clean.id, f.account_id, envelope,
                                           sizeof envelope, &dev, now),
                     VAULT_OK);
    got = get_link(st, clean.id, &env, &env_len);
    assert_int_equal(got.state, VAULT_STORE_LINK_DELIVERED);
    assert_int_equal(env_len, sizeof envelope);
    assert_memory_equal(env, envelope, sizeof envelope);
    vault__free(env);
    uint8_t credential[VAULT_STORE_HASH_BYTES];
    assert_int_equal(st->ops->device_credential(st, f.account_id, dev.id, credential), VAULT_OK);
    assert_memory_equal(credential, dev.credential_hash, sizeof credential);

    assert_int_equal(st->ops->link_set_state(st, clean.id, VAULT_STORE_LINK_DELIVERED,
                                             VAULT_STORE_LINK_DONE),
                     VAULT_OK);
    got = get_link(st, clean.id, &env, &env_len);
    assert_int_equal(got.state, VAULT_STORE_LINK_DONE);
    assert_null(env); /* dropped with the final state */
    assert_int_equal(st->ops->link_set_state(st, clean.id, VAULT_STORE_LINK_DELIVERED,
                                             VAULT_STORE_LINK_DONE),
                     VAULT_E_STATE);
    assert_int_equal(st->ops->link_set_state(st, clean.id, VAULT_STORE_LINK_ANY_LIVE,
                                             VAULT_STORE_LINK_ABORTED),
                     VAULT_E_STATE);

    /* Expired, and unknown. */
    vault_store_link late = new_link(&f, 70);
    assert_int_equal(st->ops->link_create(st, &late, now), VAULT_OK);
    posted = posted_key(&late, 140);
    assert_int_equal(st->ops->link_post_key(st, &posted, late.expires_ms), VAULT_E_EXPIRED);
    assert_int_equal(get_link(st, late.id, NULL, NULL).state, VAULT_STORE_LINK_OPEN);
    uint8_t unknown[VAULT_STORE_ID_BYTES];
    fill(unknown, sizeof unknown, 222);
    vault_store_link out;
    assert_int_equal(st->ops->link_get(st, unknown, &out, NULL, NULL), VAULT_E_NOT_FOUND);
    assert_int_equal(st->ops->link_set_state(st, unknown, VAULT_STORE_LINK_ANY_LIVE,
                                             VAULT_STORE_LINK_ABORTED),
                     VAULT_E_NOT_FOUND);
    vault_server_close(f.s);
}

/* A link requested by a new device: no account until a logged-in device
 * posts to it, and only a post in that role is taken. */
void test_server_links__reverse_request(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f, "store_reverse");
    vault_store *st = f.st;
    const int64_t now = TS_NOW_MS;
    vault_store_link link;
    memset(&link, 0, sizeof link);
    link.role = VAULT_STORE_LINK_REVERSE;
    fill(link.id, sizeof link.id, 60);
    fill(link.fetch_hash, sizeof link.fetch_hash, 61);
    link.expires_ms = now + LINK_TTL_MS;
    assert_int_equal(st->ops->link_request(st, &link, now), VAULT_OK);
    assert_int_equal(st->ops->link_request(st, &link, now), VAULT_E_EXISTS);
    vault_store_link got = get_link(st, link.id, NULL, NULL);
    uint8_t zero[VAULT_STORE_ID_BYTES] = {0};
    assert_int_equal(got.role, VAULT_STORE_LINK_REVERSE);
    assert_int_equal(got.state, VAULT_STORE_LINK_OPEN);
    assert_memory_equal(got.account_id, zero, sizeof zero);
    assert_memory_equal(got.device_id, zero, sizeof zero);
    assert_memory_equal(got.fetch_hash, link.fetch_hash, sizeof got.fetch_hash);

    /* An offer-role post to it is as if the link did not exist. */
    vault_store_link wrong = posted_key(&link, 70);
    wrong.role = VAULT_STORE_LINK_OFFER;
    assert_int_equal(st->ops->link_post_key(st, &wrong, now), VAULT_E_NOT_FOUND);
    assert_int_equal(get_link(st, link.id, NULL, NULL).extra_posts, 0);

    /* The logged-in device accepts: the link is now the account's. */
    vault_store_link accept = posted_key(&link, 80);
    memcpy(accept.account_id, f.account_id, sizeof accept.account_id);
    memcpy(accept.device_id, f.device_id, sizeof accept.device_id);
    assert_int_equal(st->ops->link_post_key(st, &accept, now), VAULT_OK);
    got = get_link(st, link.id, NULL, NULL);
    assert_int_equal(got.state, VAULT_STORE_LINK_POSTED);
    assert_memory_equal(got.account_id, f.account_id, sizeof got.account_id);
    assert_memory_equal(got.device_id, f.device_id, sizeof got.device_id);
    assert_memory_equal(got.peer_pk, accept.peer_pk, sizeof got.peer_pk);
    assert_memory_equal(got.fetch_hash, link.fetch_hash, sizeof got.fetch_hash);
    const uint8_t envelope[] = "for the new device";
    vault_store_new_device dev = new_device(90, "tablet");
    assert_int_equal(st->ops->link_deliver(st, link.id, f.account_id, envelope, sizeof envelope,
                                           &dev, now),
                     VAULT_OK);
    assert_int_equal(get_link(st, link.id, NULL, NULL).state, VAULT_STORE_LINK_DELIVERED);
    vault_server_close(f.s);
}

void test_server_links__quota_and_states(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f, "store_quota");
    vault_store *st = f.st;
    const int64_t now = TS_NOW_MS;
    for (int i = 0; i < VAULT_STORE_LINKS_MAX; i++) {
        vault_store_link link = new_link(&f, (uint8_t)(i * 3));
        assert_int_equal(st->ops->link_create(st, &link, now), VAULT_OK);
    }
    vault_store_link extra = new_link(&f, 200);
    assert_int_equal(st->ops->link_create(st, &extra, now), VAULT_E_LIMIT);
    /* An ended link no longer counts. */
    vault_store_link first = new_link(&f, 0);
    assert_int_equal(st->ops->link_set_state(st, first.id, VAULT_STORE_LINK_ANY_LIVE,
                                             VAULT_STORE_LINK_ABORTED),
                     VAULT_OK);
    assert_int_equal(get_link(st, first.id, NULL, NULL).state, VAULT_STORE_LINK_ABORTED);
    assert_int_equal(st->ops->link_create(st, &extra, now), VAULT_OK);
    /* Expired links do not count either; long-expired ones are forgotten. */
    vault_store_link later = new_link(&f, 210);
    later.expires_ms = now + LINK_TTL_MS + VAULT_STORE_LINK_MEMORY_MS + 2 * LINK_TTL_MS;
    int64_t after = now + LINK_TTL_MS + VAULT_STORE_LINK_MEMORY_MS + 1;
    assert_int_equal(st->ops->link_create(st, &later, after), VAULT_OK);
    vault_store_link out;
    assert_int_equal(st->ops->link_get(st, extra.id, &out, NULL, NULL), VAULT_E_NOT_FOUND);
    assert_int_equal(get_link(st, later.id, NULL, NULL).state, VAULT_STORE_LINK_OPEN);
    /* No link for an account that does not exist. */
    vault_store_link orphan = new_link(&f, 220);
    fill(orphan.account_id, sizeof orphan.account_id, 7);
    assert_int_equal(st->ops->link_create(st, &orphan, now), VAULT_E_NOT_FOUND);
    vault_server_close(f.s);
}

static vault_store_device find_device(vault_store *st, const uint8_t *account_id,
                                      const uint8_t *device_id, size_t expect_count)
{
    vault_store_device *list = NULL, found;
    size_t count = 0;
    int seen = 0;
    memset(&found, 0, sizeof found);
    assert_int_equal(st->ops->device_list(st, account_id, &list, &count), VAULT_OK);
    assert_int_equal(count, expect_count);
    for (size_t i = 0; i < count; i++) {
        if (memcmp(list[i].id, device_id, VAULT_STORE_ID_BYTES) == 0) {
            found = list[i];
            seen = 1;
        }
    }
    vault__free(list);
    assert_true(seen);
    return found;
}

void test_server_devices__list_revoke_rotate(void **state)
{
    (void)state;
    fixture f;
    open_fixture(&f, "store_devices");
    vault_store *st = f.st;
    const int64_t now = TS_NOW_MS;
    /* A second device, logged in a second later. */
    ts_account second = f.a;
    snprintf(second.device_id, sizeof second.device_id, "%032x", 77);
    assert_int_equal(vault_server_set_option(f.s, VAULT_SERVER_CLOCK_SKEW, 1), VAULT_OK);
    ts_expect_ok(ts_login(f.s, &second, second.password));
    uint8_t second_id[VAULT_STORE_ID_BYTES];
    assert_int_equal(vault__hex2bin(second_id, sizeof second_id, second.device_id), VAULT_OK);

    vault_store_device *list = NULL;
    size_t count = 0;
    assert_int_equal(st->ops->device_list(st, f.account_id, &list, &count), VAULT_OK);
    assert_int_equal(count, 2);
    assert_memory_equal(list[0].id, f.device_id, VAULT_STORE_ID_BYTES); /* oldest first */
    assert_string_equal(list[0].name, "test laptop");
    assert_int_equal(list[0].added_ms, now);
    assert_int_equal(list[1].added_ms, now + 1000);
    assert_int_equal(list[1].last_seen_ms, now + 1000);
    assert_int_equal(list[1].revoked_ms, 0);
    assert_int_equal(list[1].linked, 0);
    vault__free(list);
    uint8_t nobody[VAULT_STORE_ID_BYTES];
    fill(nobody, sizeof nobody, 5);
    assert_int_equal(st->ops->device_list(st, nobody, &list, &count), VAULT_OK);
    assert_int_equal(count, 0);
    assert_null(list);

    /* Revoke the second device and rotate: all of it at once. */
    const uint8_t blob[] = "revision two";
    uint8_t pk[VAULT_PROTECTED_KEY_BYTES];
    fill(pk, sizeof pk, 9);
    vault_store_sealed_key key;
    memcpy(key.device_id, f.device_id, sizeof key.device_id);
    fill(key.sealed, sizeof key.sealed, 33);
    uint64_t current = 0;
    assert_int_equal(st->ops->device_revoke_rotate(st, f.account_id, second_id, 1, blob,
                                                   sizeof blob, pk, &key, 1, now, &current),
                     VAULT_OK);
    vault_store_account acct;
    assert_int_equal(st->ops->get_account(st, f.account_id, &acct), VAULT_OK);
    assert_int_equal(acct.revision, 2);
    assert_memory_equal(acct.protected_key, pk, sizeof pk);
    uint8_t sealed[VAULT_STORE_SEALED_KEY_BYTES];
    assert_int_equal(st->ops->device_sealed_key(st, f.account_id, f.device_id, sealed),
                     VAULT_OK);
    assert_memory_equal(sealed, key.sealed, sizeof sealed);
    assert_int_equal(st->ops->device_sealed_key(st, f.account_id, second_id, sealed),
                     VAULT_E_NOT_FOUND);
    assert_int_equal(find_device(st, f.account_id, second_id, 2).revoked_ms, now);
    uint8_t credential[VAULT_STORE_HASH_BYTES];
    assert_int_equal(st->ops->device_credential(st, f.account_id, second_id, credential),
                     VAULT_E_REVOKED);
    assert_int_equal(st->ops->device_credential(st, f.account_id, f.device_id, credential),
                     VAULT_E_NOT_FOUND); /* not a linked device */

    /* On a stale base nothing happens: the first device stays unrevoked. */
    uint8_t pk2[VAULT_PROTECTED_KEY_BYTES];
    fill(pk2, sizeof pk2, 90);
    assert_int_equal(st->ops->device_revoke_rotate(st, f.account_id, f.device_id, 1, blob,
                                                   sizeof blob, pk2, NULL, 0, now, &current),
                     VAULT_E_CONFLICT);
    assert_int_equal(current, 2);
    assert_int_equal(find_device(st, f.account_id, f.device_id, 2).revoked_ms, 0);
    /* A sealed key for an unknown (or the revoked) device: nothing happens. */
    memcpy(key.device_id, nobody, sizeof key.device_id);
    assert_int_equal(st->ops->device_revoke_rotate(st, f.account_id, f.device_id, 2, blob,
                                                   sizeof blob, pk2, &key, 1, now, &current),
                     VAULT_E_NOT_FOUND);
    assert_int_equal(st->ops->device_revoke_rotate(st, f.account_id, nobody, 2, blob,
                                                   sizeof blob, pk2, NULL, 0, now, &current),
                     VAULT_E_NOT_FOUND);
    assert_int_equal(st->ops->get_account(st, f.account_id, &acct), VAULT_OK);
    assert_int_equal(acct.revision, 2);
    assert_memory_equal(acct.protected_key, pk, sizeof pk);
    assert_int_equal(find_device(st, f.account_id, f.device_id, 2).revoked_ms, 0);
    vault_server_close(f.s);
}
