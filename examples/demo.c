/*
 * The end-to-end demo (scripts/demo.sh): a server, an account, items, a second
 * device, an edit synced back, and the server's database as a thief sees it.
 * Every step prints what it did; any failure stops the demo with exit 1.
 */
#define _GNU_SOURCE /* memmem */
#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vault.h"

#define EMAIL "ada@example.org"
#define PASSWORD "correct horse battery staple"

static void check(int rc, const char *what)
{
    if (rc != VAULT_OK) {
        fprintf(stderr, "demo: %s failed: %s (%s)\n", what, vault_strerror(rc), vault_last_error());
        exit(1);
    }
}

static void check_client(vault_client *c, int rc, const char *what)
{
    if (rc != VAULT_OK) {
        fprintf(stderr, "demo: %s failed: %s (%s)\n", what, vault_strerror(rc),
                vault_client_errmsg(c));
        exit(1);
    }
}

static const char *items[] = {
    "{\"type\":\"login\",\"title\":\"Example Mail\",\"fields\":["
    "{\"name\":\"url\",\"value\":\"https://mail.example.org\",\"hidden\":false},"
    "{\"name\":\"username\",\"value\":\"ada.lovelace\",\"hidden\":false},"
    "{\"name\":\"password\",\"value\":\"Analytical-Engine-1843\",\"hidden\":true}],"
    "\"tags\":[\"personal\"]}",
    "{\"type\":\"note\",\"title\":\"Notes on the Engine\",\"fields\":["
    "{\"name\":\"text\",\"value\":\"The engine weaves algebraic patterns like the Jacquard loom "
    "weaves flowers.\",\"hidden\":false}]}",
    "{\"type\":\"card\",\"title\":\"Babbage Bank Visa\",\"fields\":["
    "{\"name\":\"number\",\"value\":\"4111111111111111\",\"hidden\":true},"
    "{\"name\":\"expiry\",\"value\":\"12/29\",\"hidden\":false}]}",
};

static const char *secrets[] = {"Example Mail", "mail.example.org", "ada.lovelace",
                                "Analytical-Engine-1843", "Jacquard", "4111111111111111",
                                "Babbage Bank", EMAIL, PASSWORD};

/* Prints one line per item: type, title and the non-hidden fields. Items come
 * out of the library as JSON, as they would for an app. */
static void print_vault(vault_client *c, const char *who)
{
    vault *v = NULL;
    char *list = NULL;
    const cJSON *item = NULL, *field = NULL;
    check_client(c, vault_client_vault(c, &v), "vault");
    check(vault_item_list(v, 0, &list), "list");
    cJSON *items_json = cJSON_Parse(list);
    vault_free(list);
    printf("  %s sees %d items:\n", who, cJSON_GetArraySize(items_json));
    cJSON_ArrayForEach(item, items_json)
    {
        printf("    [%-5s] %-22s", cJSON_GetObjectItem(item, "type")->valuestring,
               cJSON_GetObjectItem(item, "title")->valuestring);
        cJSON_ArrayForEach(field, cJSON_GetObjectItem(item, "fields"))
        {
            int hidden = cJSON_IsTrue(cJSON_GetObjectItem(field, "hidden"));
            printf(" %s=%s", cJSON_GetObjectItem(field, "name")->valuestring,
                   hidden ? "••••••" : cJSON_GetObjectItem(field, "value")->valuestring);
        }
        printf("\n");
    }
    cJSON_Delete(items_json);
}

/* A tablet joins without the master password: the laptop shows a QR code,
 * the tablet scans it, both show the same short code, the laptop confirms
 * and the vault key travels sealed through the server's relay. */
static void link_tablet(vault_client *laptop, vault_client *tablet)
{
    vault_link *offer = NULL, *join = NULL;
    char *uri = NULL, *sas_a = NULL, *sas_b = NULL;
    uint8_t *qr = NULL;
    size_t qr_len = 0;
    uint8_t local_key[VAULT_KEY_BYTES]; /* would come from the OS keychain */
    FILE *rnd = fopen("/dev/urandom", "rb");
    if (rnd == NULL || fread(local_key, 1, sizeof local_key, rnd) != sizeof local_key)
        exit(1);
    fclose(rnd);

    check_client(laptop, vault_link_offer(&offer, laptop), "link offer");
    check_client(laptop, vault_link_payload(offer, &uri), "link payload");
    check(vault_qr_render(uri, VAULT_QR_TEXT, &qr, &qr_len), "QR render");
    printf("  the laptop shows this QR code (payload %s):\n%s", uri, (char *)qr);
    check_client(tablet, vault_link_join(&join, tablet, uri), "link join");
    check_client(laptop, vault_link_poll(offer), "link poll");
    check_client(tablet, vault_link_sas(join, &sas_b), "tablet code");
    check_client(laptop, vault_link_sas(offer, &sas_a), "laptop code");
    printf("  short code on the laptop: %s   on the tablet: %s   (the user compares them)\n",
           sas_a, sas_b);
    /* each device is given the code read on the other; a mismatch is
     * VAULT_E_SAS (someone is in the middle) and the link is aborted */
    check_client(laptop, vault_link_confirm_sas(offer, "tablet", sas_b), "link confirm");
    check_client(tablet, vault_link_complete_sas(join, local_key, sas_a), "link complete");
    print_vault(tablet, "tablet");
    vault_link_free(offer);
    vault_link_free(join);
    vault_free(uri);
    vault_free(qr);
    vault_free(sas_a);
    vault_free(sas_b);
}

/* The thief's view: every table and row count, and a byte search of the
 * database file (and its WAL) for every plaintext we put in. */
static int show_attacker_view(const char *db_path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    printf("\n== 7. The server's database, as a thief sees it (%s) ==\n", db_path);
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return 1;
    sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name", -1,
                       &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char sql[256];
        sqlite3_stmt *count = NULL;
        snprintf(sql, sizeof sql, "SELECT count(*) FROM \"%s\"", sqlite3_column_text(st, 0));
        sqlite3_prepare_v2(db, sql, -1, &count, NULL);
        if (sqlite3_step(count) == SQLITE_ROW)
            printf("  table %-22s %d rows\n", sqlite3_column_text(st, 0),
                   sqlite3_column_int(count, 0));
        sqlite3_finalize(count);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);

    int leaks = 0;
    const char *suffixes[] = {"", "-wal"};
    for (size_t s = 0; s < 2; s++) {
        char path[1024];
        snprintf(path, sizeof path, "%s%s", db_path, suffixes[s]);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *bytes = malloc((size_t)size);
        size_t got = fread(bytes, 1, (size_t)size, f);
        fclose(f);
        for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
            if (memmem(bytes, got, secrets[i], strlen(secrets[i])) != NULL) {
                printf("  LEAK: \"%s\" found in %s\n", secrets[i], path);
                leaks++;
            }
        free(bytes);
        printf("  %s: %ld bytes scanned\n", path, size);
    }
    printf("  searched for %zu known plaintexts (titles, URLs, usernames, passwords, notes, "
           "email, master password): %d found\n",
           sizeof secrets / sizeof secrets[0], leaks);
    return leaks;
}

int main(void)
{
    char dir[] = "/tmp/zkvault-demo-XXXXXX";
    char server_db[128], a_db[128], b_db[128], t_db[128];
    uint8_t pepper[32];
    vault_server *srv = NULL;
    vault_client *a = NULL, *b = NULL, *t = NULL;
    vault *v = NULL;
    char *ids[3];

    check(vault_init(), "vault_init");
    if (mkdtemp(dir) == NULL)
        return 1;
    snprintf(server_db, sizeof server_db, "%s/server.db", dir);
    snprintf(a_db, sizeof a_db, "%s/laptop.db", dir);
    snprintf(b_db, sizeof b_db, "%s/phone.db", dir);
    snprintf(t_db, sizeof t_db, "%s/tablet.db", dir);
    printf("zkvault %s demo (files in %s)\n", vault_version(), dir);

    printf("\n== 1. An embedded server starts (SQLite store, secret pepper) ==\n");
    FILE *rnd = fopen("/dev/urandom", "rb");
    if (rnd == NULL || fread(pepper, 1, sizeof pepper, rnd) != sizeof pepper)
        return 1;
    fclose(rnd);
    check(vault_server_open(&srv, server_db, pepper, sizeof pepper, 0), "server open");

    printf("\n== 2. The laptop creates a vault (Argon2id, 3 passes, 64 MiB) and registers ==\n");
    check(vault_client_open(&a, a_db, 0), "laptop open");
    vault_client_connect_local(a, srv);
    check_client(a, vault_client_create(a, PASSWORD, 0, 0), "create");
    check_client(a, vault_client_vault(a, &v), "vault");
    for (int i = 0; i < 3; i++)
        check(vault_item_add(v, items[i], &ids[i]), "item add");
    check_client(a, vault_client_save(a), "save");
    check_client(a, vault_client_register(a, EMAIL), "register");
    check_client(a, vault_client_sync(a), "sync");
    printf("  registered %s with 3 items (OPAQUE: the server got a record, not a password hash)\n",
           EMAIL);

    printf("\n== 2b. The Emergency Kit: print it, keep it offline ==\n");
    char *kit = NULL, secret_key[40] = "";
    uint8_t *qr = NULL;
    size_t qr_len = 0;
    check_client(a, vault_client_emergency_kit(a, &kit), "emergency kit");
    check_client(a, vault_client_emergency_kit_qr(a, VAULT_QR_TEXT, &qr, &qr_len), "kit QR");
    printf("%s\n%s", kit, (const char *)qr);
    sscanf(strstr(kit, "ZK1-"), "%39s", secret_key);
    vault_free(kit);
    vault_free(qr);

    printf("\n== 3. The laptop locks, then unlocks with the master password ==\n");
    vault_client_lock(a);
    int rc = vault_client_unlock(a, "wrong password");
    printf("  wrong password: %s\n", vault_strerror(rc));
    check_client(a, vault_client_unlock(a, PASSWORD), "unlock");
    print_vault(a, "laptop");

    printf("\n== 4. A phone logs in with email, password and the kit's Secret Key ==\n");
    check(vault_client_open(&b, b_db, 0), "phone open");
    vault_client_connect_local(b, srv);
    rc = vault_client_login(b, EMAIL, PASSWORD);
    printf("  without the Secret Key: %s\n", vault_strerror(rc));
    check_client(b, vault_client_set_secret_key(b, secret_key), "Secret Key");
    check_client(b, vault_client_login(b, EMAIL, PASSWORD), "login");
    print_vault(b, "phone");

    printf("\n== 5. The phone edits the card; the laptop edits the mail login; both sync ==\n");
    check_client(b, vault_client_vault(b, &v), "vault");
    check(vault_item_update(v, ids[2],
                            "{\"type\":\"card\",\"title\":\"Babbage Bank Visa\",\"fields\":["
                            "{\"name\":\"number\",\"value\":\"4111111111111111\",\"hidden\":true},"
                            "{\"name\":\"expiry\",\"value\":\"01/31\",\"hidden\":false}]}"),
          "phone edit");
    check_client(a, vault_client_vault(a, &v), "vault");
    check(vault_item_update(v, ids[0],
                            "{\"type\":\"login\",\"title\":\"Example Mail\",\"fields\":["
                            "{\"name\":\"url\",\"value\":\"https://mail.example.org\",\"hidden\":false},"
                            "{\"name\":\"username\",\"value\":\"ada.lovelace\",\"hidden\":false},"
                            "{\"name\":\"password\",\"value\":\"Analytical-Engine-1843-v2\",\"hidden\":true}],"
                            "\"tags\":[\"personal\"]}"),
          "laptop edit");
    check_client(b, vault_client_sync(b), "phone sync");
    check_client(a, vault_client_sync(a), "laptop sync");
    check_client(b, vault_client_sync(b), "phone sync");
    uint64_t ra = 0, rb = 0;
    vault_client_revision(a, &ra);
    vault_client_revision(b, &rb);
    char *card = NULL;
    check_client(a, vault_client_vault(a, &v), "vault");
    check(vault_item_get(v, ids[2], &card), "get");
    char *mail = NULL;
    check_client(b, vault_client_vault(b, &v), "vault");
    check(vault_item_get(v, ids[0], &mail), "get");
    int ok = strstr(card, "01/31") != NULL && strstr(mail, "1843-v2") != NULL && ra == rb;
    printf("  both at revision %llu / %llu; laptop sees the phone's card edit: %s; "
           "phone sees the laptop's new password (old one kept in history): %s\n",
           (unsigned long long)ra, (unsigned long long)rb,
           strstr(card, "01/31") != NULL ? "yes" : "NO",
           strstr(mail, "1843-v2") != NULL ? "yes" : "NO");
    vault_free(card);
    vault_free(mail);

    printf("\n== 6. A tablet links by QR code: no password typed, the server cannot get in "
           "the middle ==\n");
    check(vault_client_open(&t, t_db, 0), "tablet open");
    vault_client_connect_local(t, srv);
    link_tablet(a, t);

    for (int i = 0; i < 3; i++)
        vault_free(ids[i]);
    vault_client_close(t);
    vault_client_close(a);
    vault_client_close(b);
    vault_server_close(srv);
    int leaks = show_attacker_view(server_db);
    printf("\n%s\n", ok && leaks == 0 ? "demo finished: OK" : "demo finished: FAILED");
    return ok && leaks == 0 ? 0 : 1;
}
