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

static vault_client *device(const char *name)
{
    vault_client *c = NULL;
    const char *path = test_path(name);
    unlink(path);
    assert_int_equal(vault_client_open(&c, path, 0), VAULT_OK);
    return c;
}

static vault *vault_of(vault_client *c)
{
    vault *v = NULL;
    assert_int_equal(vault_client_vault(c, &v), VAULT_OK);
    return v;
}

static char *add(vault_client *c, const char *json)
{
    char *id = NULL;
    assert_int_equal(vault_item_add(vault_of(c), json, &id), VAULT_OK);
    return id;
}

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
    vault_free(add(c, json));
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

static vault_client *new_account(vault_server *s, const char *store, const char *email,
                                 const char *password)
{
    vault_client *c = device(store);
    assert_int_equal(vault_client_connect_local(c, s), VAULT_OK);
    assert_int_equal(vault_client_create(c, password, TEST_OPS, TEST_MEM), VAULT_OK);
    assert_int_equal(vault_client_register(c, email), VAULT_OK);
    return c;
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
    assert_true(w->nkeys + 3 <= BREACH_MAX_KEYS);
    memcpy(w->keys[w->nkeys++], c->keys->vault_key, 32);
    if (c->keys->has_password_keys) {
        memcpy(w->keys[w->nkeys++], c->keys->auth_key, 32);
        memcpy(w->keys[w->nkeys++], c->keys->enc_key, 32);
    }
}

/* A third device joins by QR code (the relay stores keys, MACs and the
 * envelope while the link runs). */
static vault_client *link_tablet(vault_server *s, vault_client *a1)
{
    uint8_t local_key[32];
    vault_link *offer = NULL, *join = NULL;
    char *uri = NULL;
    vault_client *tablet = device("alice-tablet.db");
    test_key(local_key, 0x5a);
    assert_int_equal(vault_client_connect_local(tablet, s), VAULT_OK);
    assert_int_equal(vault_link_offer(&offer, a1), VAULT_OK);
    assert_int_equal(vault_link_payload(offer, &uri), VAULT_OK);
    assert_int_equal(vault_link_join(&join, tablet, uri), VAULT_OK);
    assert_int_equal(vault_link_poll(offer), VAULT_OK);
    assert_int_equal(vault_link_confirm(offer, "tablet"), VAULT_OK);
    assert_int_equal(vault_link_complete(join, local_key), VAULT_OK);
    vault_free(uri);
    vault_link_free(offer);
    vault_link_free(join);
    return tablet;
}

/* Alice: two devices, a merge (both edited offline), an edited password that
 * lands in the item's history, a password change, then a third device linked
 * by QR code that adds an item. */
static void alice(breach_world *w, vault_server *s)
{
    vault_client *a1 = new_account(s, "alice1.db", ALICE_EMAIL, ALICE_OLD_PASSWORD);
    char *bank = add(a1, login_json("Zephyrine Savings Bank",
                                    "https://zephyrine-savings.example/login",
                                    "alice.wanderlust", "Qx7!plumbago-Heron", "finance-private"));
    add_note(a1, "Locker combination memo", "Combination 31-07-2291 under the blue stairs");
    assert_int_equal(vault_client_sync(a1), VAULT_OK);

    vault_client *a2 = device("alice2.db");
    assert_int_equal(vault_client_connect_local(a2, s), VAULT_OK);
    assert_int_equal(vault_client_login(a2, ALICE_EMAIL, ALICE_OLD_PASSWORD), VAULT_OK);
    vault_free(add(a2, login_json("Marmalade Forum Account", "https://marmalade-forum.example",
                                  "wanderlust_marmalade", "gR4ph!te-Otter-99", "forums")));
    assert_int_equal(vault_item_update(vault_of(a2), bank,
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
    vault_client *tablet = link_tablet(s, a1);
    add_note(tablet, "Added on the linked tablet", NULL);
    assert_int_equal(vault_client_sync(tablet), VAULT_OK);
    assert_int_equal(vault_client_sync(a1), VAULT_OK);
    keep_keys(w, a1);
    keep_keys(w, a2);
    keep_keys(w, tablet);
    vault_free(bank);
    vault_client_close(a1);
    vault_client_close(a2);
    vault_client_close(tablet);
}

int breach_scenario_setup(void **state)
{
    breach_world *w = calloc(1, sizeof *w);
    vault_server *s = NULL;
    assert_non_null(w);
    w->secrets = secrets;
    snprintf(w->server_db, sizeof w->server_db, "%s", test_path("server.db"));
    unlink(w->server_db);
    assert_int_equal(vault_server_open(&s, w->server_db, breach_pepper, sizeof breach_pepper, 0),
                     VAULT_OK);
    alice(w, s);

    vault_client *bob = new_account(s, "bob.db", BOB_EMAIL, BOB_PASSWORD);
    vault_free(add(bob, login_json("J\xc3\xb6rmungandr Caf\xc3\xa9 Wi-Fi", "http://10.0.0.1",
                                   "bobby.tables.secret",
                                   BOB_WIFI_PASSWORD,
                                   "home")));
    add_note(bob, "Safe", "\xd0\x9a\xd0\xbb\xd1\x8e\xd1\x87 \xd0\xbe\xd1\x82 "
                          "\xd1\x81\xd0\xb5\xd0\xb9\xd1\x84\xd0\xb0: 7741");
    assert_int_equal(vault_client_sync(bob), VAULT_OK);

    /* Two small vaults with different item counts (1 and 3). */
    vault_client *carol = new_account(s, "carol.db", BREACH_VICTIM_EMAIL, BREACH_VICTIM_PASSWORD);
    add_note(carol, "Carolingian diary entry", "Met the quartermaster at dawn");
    assert_int_equal(vault_client_sync(carol), VAULT_OK);
    vault_client *dave = new_account(s, "dave.db", DAVE_EMAIL, DAVE_PASSWORD);
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
    vault_server_close(s);
    steal_with_wal(w, w->server_db);
    keep_keys(w, bob);
    keep_keys(w, carol);
    keep_keys(w, dave);
    vault_client_close(bob);
    vault_client_close(carol);
    vault_client_close(dave);
    static const char *const stores[] = {"alice1.db", "alice2.db", "alice-tablet.db", "bob.db",
                                         "carol.db", "dave.db"};
    for (size_t i = 0; i < sizeof stores / sizeof stores[0]; i++)
        steal(w, test_path(stores[i]));
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
