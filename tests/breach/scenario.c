/* The scenario a thief later finds on the server: four accounts with known
 * master passwords, items with known titles, URLs, usernames, passwords and
 * notes (ASCII and non-ASCII), two devices syncing one account with a merge,
 * an edit that puts an old password in an item's history, and a password
 * change, and a third device linked by QR code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "breach.h"
#include "client/client.h"
#include "world.h"

const uint8_t breach_pepper[32] = "breach-test-pepper-32-bytes-long";

#define ALICE_EMAIL "alice.wanderlust@breach.example"
#define ALICE_OLD_PASSWORD "Alice-master-Pa55phrase!"
#define ALICE_NEW_PASSWORD "Alice-rotated-Pa55phrase#2"
#define BOB_EMAIL "bob.tables@breach.example"
#define BOB_PASSWORD "Bob's vault key #7"
/* "Ünïcödé-Pässwörd-42" */
#define BOB_WIFI_PASSWORD "\xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9-P\xc3\xa4ssw\xc3\xb6rd-42"
#define DAVE_EMAIL "dave.port@breach.example"
#define DAVE_PASSWORD "Dave-master-Pa55phrase$"

/* Every string below must stay out of the server's files, in any encoding. */
static const char *const secrets[] = {
    /* emails and master passwords */
    ALICE_EMAIL, ALICE_OLD_PASSWORD, ALICE_NEW_PASSWORD, BOB_EMAIL, BOB_PASSWORD,
    BREACH_VICTIM_EMAIL, BREACH_VICTIM_PASSWORD, DAVE_EMAIL, DAVE_PASSWORD,
    /* alice's items (device 1) */
    "Zephyrine Savings Bank", "https://zephyrine-savings.example/login", "alice.wanderlust",
    "Qx7!plumbago-Heron", "finance-private", "Locker combination memo",
    "Combination 31-07-2291 under the blue stairs",
    /* alice's items (device 2), and the new password of her bank login */
    "Marmalade Forum Account", "https://marmalade-forum.example", "wanderlust_marmalade",
    "gR4ph!te-Otter-99", "Qx8!plumbago-Heron-v2",
    /* bob: non-ASCII */
    "J\xc3\xb6rmungandr Caf\xc3\xa9 Wi-Fi", "bobby.tables.secret",
    BOB_WIFI_PASSWORD,
    "\xd0\x9a\xd0\xbb\xd1\x8e\xd1\x87 \xd0\xbe\xd1\x82 \xd1\x81\xd0\xb5\xd0\xb9\xd1\x84\xd0\xb0: 7741",
    /* carol and dave */
    "Carolingian diary entry", "Met the quartermaster at dawn", "Davenport recipe one",
    "Davenport recipe two", "Davenport recipe three", "Added on the linked tablet",
    NULL};

static void add_note(vault_client *c, const char *title, const char *note)
{
    char json[512];
    if (note != NULL)
        snprintf(json, sizeof json,
                 "{\"type\":\"note\",\"title\":\"%s\",\"fields\":[{\"name\":\"notes\","
                 "\"value\":\"%s\",\"hidden\":false}]}",
                 title, note);
    else
        snprintf(json, sizeof json, "{\"type\":\"note\",\"title\":\"%s\"}", title);
    vault_free(tw_add(c, json));
}

static const char *login_json(const char *title, const char *url, const char *user,
                              const char *password, const char *tag)
{
    static char json[1024];
    snprintf(json, sizeof json,
             "{\"type\":\"login\",\"title\":\"%s\",\"fields\":["
             "{\"name\":\"url\",\"value\":\"%s\",\"hidden\":false},"
             "{\"name\":\"username\",\"value\":\"%s\",\"hidden\":false},"
             "{\"name\":\"password\",\"value\":\"%s\",\"hidden\":true}],\"tags\":[\"%s\"]}",
             title, url, user, password, tag);
    return json;
}

static void account_id_of(vault_client *c, char out[33])
{
    char *id = NULL;
    assert_int_equal(vault_client_account_id(c, &id), VAULT_OK);
    snprintf(out, 33, "%s", id);
    vault_free(id);
}

static void steal(breach_world *w, const char *path)
{
    assert_true(w->nfiles < BREACH_MAX_FILES);
    breach_file *f = &w->files[w->nfiles++];
    int n = snprintf(f->path, sizeof f->path, "%s", path);
    assert_true(n >= 0 && (size_t)n < sizeof f->path);
    f->data = test_read_file(path, &f->len);
}

static void steal_with_wal(breach_world *w, const char *path)
{
    char side[800];
    steal(w, path);
    snprintf(side, sizeof side, "%s-wal", path);
    steal(w, side);
    snprintf(side, sizeof side, "%s-shm", path);
    steal(w, side);
}

/* The keys a device holds while unlocked: none may reach the server. */
static void keep_keys(breach_world *w, const vault_client *c)
{
    assert_non_null(c->keys);
    assert_true(w->nkeys + 4 <= BREACH_MAX_KEYS);
    memcpy(w->keys[w->nkeys++], c->keys->vault_key, 32);
    if (c->keys->has_password_keys) {
        memcpy(w->keys[w->nkeys++], c->keys->password_key, 32);
        memcpy(w->keys[w->nkeys++], c->keys->password_key + 32, 32);
    }
    if (c->keys->has_enc_key)
        memcpy(w->keys[w->nkeys++], c->keys->enc_key, 32);
}

/* Alice: two devices, a merge (both edited offline), an edited password that
 * lands in the item's history, a password change, then a third device linked
 * by QR code that adds an item. */
static void alice(breach_world *w, tw_world *tw)
{
    uint8_t local_key[32];
    vault_client *a1 = tw_registered(tw, "alice1", ALICE_EMAIL, ALICE_OLD_PASSWORD)->c;
    char *bank = tw_add(a1, login_json("Zephyrine Savings Bank",
                                       "https://zephyrine-savings.example/login",
                                       "alice.wanderlust", "Qx7!plumbago-Heron",
                                       "finance-private"));
    add_note(a1, "Locker combination memo", "Combination 31-07-2291 under the blue stairs");
    assert_int_equal(vault_client_sync(a1), VAULT_OK);

    vault_client *a2 = tw_logged_in(tw, "alice2", ALICE_EMAIL, ALICE_OLD_PASSWORD)->c;
    vault_free(tw_add(a2, login_json("Marmalade Forum Account",
                                     "https://marmalade-forum.example", "wanderlust_marmalade",
                                     "gR4ph!te-Otter-99", "forums")));
    assert_int_equal(vault_item_update(tw_vault(a2), bank,
                                       login_json("Zephyrine Savings Bank",
                                                  "https://zephyrine-savings.example/login",
                                                  "alice.wanderlust", "Qx8!plumbago-Heron-v2",
                                                  "finance-private")),
                     VAULT_OK);
    add_note(a1, "Locker combination memo 2", NULL); /* offline edit on device 1 too */
    assert_int_equal(vault_client_sync(a2), VAULT_OK);
    assert_int_equal(vault_client_sync(a1), VAULT_OK); /* conflict → merge → push */
    assert_int_equal(vault_client_sync(a2), VAULT_OK);

    assert_int_equal(vault_client_change_password(a1, ALICE_OLD_PASSWORD, ALICE_NEW_PASSWORD, 0,
                                                  0),
                     VAULT_OK);
    assert_int_equal(vault_client_login(a2, ALICE_EMAIL, ALICE_NEW_PASSWORD), VAULT_OK);
    assert_int_equal(vault_client_sync(a2), VAULT_OK);
    /* A third device joins by QR code (the relay stores keys, MACs and the
     * envelope while the link runs). */
    test_key(local_key, 0x5a);
    vault_client *tablet = tw_linked(tw, tw->dev[0], "tablet", local_key)->c;
    add_note(tablet, "Added on the linked tablet", NULL);
    assert_int_equal(vault_client_sync(tablet), VAULT_OK);
    assert_int_equal(vault_client_sync(a1), VAULT_OK);
    keep_keys(w, a1);
    keep_keys(w, a2);
    keep_keys(w, tablet);
    vault_free(bank);
}

int breach_scenario_setup(void **state)
{
    breach_world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->secrets = secrets;
    tw_world *tw = tw_new("breach", breach_pepper);
    tw->direct = 1;
    snprintf(w->server_db, sizeof w->server_db, "%s", tw->server_path);
    alice(w, tw);

    vault_client *bob = tw_registered(tw, "bob", BOB_EMAIL, BOB_PASSWORD)->c;
    vault_free(tw_add(bob, login_json("J\xc3\xb6rmungandr Caf\xc3\xa9 Wi-Fi", "http://10.0.0.1",
                                      "bobby.tables.secret", BOB_WIFI_PASSWORD, "home")));
    add_note(bob, "Safe", "\xd0\x9a\xd0\xbb\xd1\x8e\xd1\x87 \xd0\xbe\xd1\x82 "
                          "\xd1\x81\xd0\xb5\xd0\xb9\xd1\x84\xd0\xb0: 7741");
    assert_int_equal(vault_client_sync(bob), VAULT_OK);

    /* Two small vaults with different item counts (1 and 3). */
    vault_client *carol =
        tw_registered(tw, "carol", BREACH_VICTIM_EMAIL, BREACH_VICTIM_PASSWORD)->c;
    memcpy(w->victim_secret_key, carol->secret_key, sizeof w->victim_secret_key);
    add_note(carol, "Carolingian diary entry", "Met the quartermaster at dawn");
    assert_int_equal(vault_client_sync(carol), VAULT_OK);
    vault_client *dave = tw_registered(tw, "dave", DAVE_EMAIL, DAVE_PASSWORD)->c;
    add_note(dave, "Davenport recipe one", NULL);
    add_note(dave, "Davenport recipe two", NULL);
    add_note(dave, "Davenport recipe three", NULL);
    assert_int_equal(vault_client_sync(dave), VAULT_OK);
    account_id_of(carol, w->small_account_a);
    account_id_of(dave, w->small_account_b);
    w->small_items_a = 1;
    w->small_items_b = 3;

    /* The thief copies the files of the running server (the WAL holds the
     * newest pages), then the database again once the server has closed. */
    steal_with_wal(w, w->server_db);
    vault_server_close(tw->server);
    tw->server = NULL;
    steal_with_wal(w, w->server_db);
    keep_keys(w, bob);
    keep_keys(w, carol);
    keep_keys(w, dave);
    /* And every device's store (alice1, alice2, the tablet, bob, carol, dave). */
    tw_close_clients(tw);
    assert_int_equal(tw->ndev, 6);
    for (size_t i = 0; i < tw->ndev; i++)
        steal(w, tw->dev[i]->path);
    tw_free(tw);
    *state = w;
    return 0;
}

int breach_scenario_teardown(void **state)
{
    breach_world *w = *state;
    for (size_t i = 0; i < w->nfiles; i++)
        free(w->files[i].data);
    free(w);
    return 0;
}
