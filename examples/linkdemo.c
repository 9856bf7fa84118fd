/*
 * Device-linking demo (docs/devicelink.md): one process, three clearly
 * separated parties that talk only through the server's JSON handler:
 *
 *   [server]  an in-process vault_server on a temporary SQLite file
 *   [phone]   device A: creates an account with items, offers a link, shows
 *             the QR code in the terminal and the short code (SAS)
 *   [laptop]  device B: an empty store that "scans" the code (the payload
 *             string is handed over as a camera would), shows its SAS, and
 *             prints the vault it received
 *
 * Usage: linkdemo [directory]   (default: a fresh directory under /tmp). With
 * a directory, link.svg and link.pgm (scan them with zbarimg) are written there.
 * Any failure stops the demo with exit status 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vault.h"

#define EMAIL "ada@example.org"
#define PASSWORD "correct horse battery staple"

static void check(int rc, const char *who, const char *what, const char *detail)
{
    if (rc != VAULT_OK) {
        fprintf(stderr, "[%s] %s failed: %s (%s)\n", who, what, vault_strerror(rc), detail);
        exit(1);
    }
}

#define CHECK_A(c, rc, what) check((rc), "phone", (what), vault_client_errmsg(c))
#define CHECK_B(c, rc, what) check((rc), "laptop", (what), vault_client_errmsg(c))

static void write_file(const char *dir, const char *name, const uint8_t *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
    printf("[phone]  wrote %s\n", path);
}

static void show_qr(const char *uri, const char *dir)
{
    uint8_t *out = NULL;
    size_t len = 0;
    check(vault_qr_render(uri, VAULT_QR_TEXT, &out, &len), "phone", "render QR", vault_last_error());
    printf("[phone]  scan this with the new device:\n%s", (const char *)out);
    vault_free(out);
    check(vault_qr_render(uri, VAULT_QR_SVG, &out, &len), "phone", "render SVG", vault_last_error());
    write_file(dir, "link.svg", out, len);
    vault_free(out);
    check(vault_qr_render(uri, VAULT_QR_PGM, &out, &len), "phone", "render PGM", vault_last_error());
    write_file(dir, "link.pgm", out, len);
    vault_free(out);
}

static vault_client *phone_with_account(vault_server *server, const char *dir)
{
    char path[1024];
    vault_client *a = NULL;
    vault *v = NULL;
    snprintf(path, sizeof path, "%s/phone.db", dir);
    remove(path);
    CHECK_A(a, vault_client_open(&a, path, 0), "open store");
    CHECK_A(a, vault_client_connect_local(a, server), "connect");
    CHECK_A(a, vault_client_create(a, PASSWORD, VAULT_KDF_OPSLIMIT_MIN, VAULT_KDF_MEMLIMIT_MIN),
            "create vault");
    CHECK_A(a, vault_client_vault(a, &v), "open vault");
    CHECK_A(a, vault_item_add(v, "{\"type\":\"login\",\"title\":\"Example Mail\",\"fields\":["
                                 "{\"name\":\"username\",\"value\":\"ada\",\"hidden\":false},"
                                 "{\"name\":\"password\",\"value\":\"Analytical-Engine-1843\","
                                 "\"hidden\":true}]}", NULL), "add item");
    CHECK_A(a, vault_item_add(v, "{\"type\":\"note\",\"title\":\"Notes on the Engine\"}", NULL),
            "add item");
    CHECK_A(a, vault_client_save(a), "save");
    CHECK_A(a, vault_client_register(a, EMAIL), "register");
    printf("[phone]  account registered with 2 items\n");
    return a;
}

int main(int argc, char **argv)
{
    char tmpl[] = "/tmp/zkvault-linkdemo-XXXXXX";
    const char *dir = argc > 1 ? argv[1] : mkdtemp(tmpl);
    char path[1024];
    uint8_t pepper[32], local_key[32];
    vault_server *server = NULL;
    vault_client *b = NULL;
    vault_link *offer = NULL, *join = NULL;
    char *uri = NULL, *sas_a = NULL, *sas_b = NULL, *items = NULL, *devices = NULL;
    vault *v = NULL;

    if (dir == NULL || vault_init() != VAULT_OK)
        return 1;
    mkdir(dir, 0700);

    /* [server] */
    memset(pepper, 0x5a, sizeof pepper); /* a real server reads its pepper from config */
    snprintf(path, sizeof path, "%s/server.db", dir);
    remove(path);
    check(vault_server_open(&server, path, pepper, sizeof pepper, 0), "server", "open",
          vault_last_error());
    printf("[server] relay ready (%s)\n", path);

    /* [phone] offers a link and shows the QR code */
    vault_client *a = phone_with_account(server, dir);
    CHECK_A(a, vault_link_offer(&offer, a), "offer link");
    CHECK_A(a, vault_link_payload(offer, &uri), "payload");
    show_qr(uri, dir);
    printf("[phone]  payload: %s\n", uri);
    if (vault_link_poll(offer) == VAULT_E_PENDING)
        printf("[phone]  waiting for the new device...\n");

    /* [laptop] scans the code */
    snprintf(path, sizeof path, "%s/laptop.db", dir);
    remove(path);
    CHECK_B(b, vault_client_open(&b, path, 0), "open store");
    CHECK_B(b, vault_client_connect_local(b, server), "connect");
    CHECK_B(b, vault_link_join(&join, b, uri), "join");
    CHECK_B(b, vault_link_sas(join, &sas_b), "short code");
    printf("[laptop] scanned; code on this screen: %s\n", sas_b);

    /* [phone] verifies the laptop's key and shows its code */
    CHECK_A(a, vault_link_poll(offer), "poll");
    CHECK_A(a, vault_link_sas(offer, &sas_a), "short code");
    printf("[phone]  new device's key verified; code on this screen: %s\n", sas_a);
    /* the user types on each device the code shown on the other: the library
     * compares and aborts the link with VAULT_E_SAS if they differ */
    printf("[phone]  user types the laptop's code: %s\n", sas_b);
    CHECK_A(a, vault_link_confirm_sas(offer, "laptop", sas_b), "confirm");

    /* [laptop] receives the vault */
    memset(local_key, 0x42, sizeof local_key); /* an app takes this from the OS keychain */
    printf("[laptop] user types the phone's code: %s\n", sas_a);
    CHECK_B(b, vault_link_complete_sas(join, local_key, sas_a), "complete");
    CHECK_B(b, vault_client_vault(b, &v), "open vault");
    CHECK_B(b, vault_item_list(v, 0, &items), "list items");
    CHECK_B(b, vault_client_devices(b, &devices), "devices");
    printf("[laptop] linked; the vault it received:\n%s\n", items);
    printf("[laptop] trusted devices in the vault: %s\n", devices);
    CHECK_B(b, vault_client_lock(b), "lock");
    CHECK_B(b, vault_client_unlock_device(b, local_key), "unlock with the device key");
    printf("[laptop] locked and unlocked again with its device key (no password)\n");

    vault_free(uri);
    vault_free(sas_a);
    vault_free(sas_b);
    vault_free(items);
    vault_free(devices);
    vault_link_free(offer);
    vault_link_free(join);
    vault_client_close(a);
    vault_client_close(b);
    vault_server_close(server);
    printf("done (files in %s)\n", dir);
    return 0;
}
