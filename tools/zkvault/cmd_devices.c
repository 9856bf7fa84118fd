/*
 * Device commands: link (a new device by QR code, both directions), devices,
 * revoke. The device key of a linked device is in devkey.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cli.h"
#include "commands.h"
#include "items.h"

#define POLL_INTERVAL_MS 500
#define POLL_LIMIT_S 900 /* longer than a link lives on the relay */

/* ---- linking ---------------------------------------------------------------- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Repeats step until it stops answering VAULT_E_PENDING (bounded in time). */
static int until_ready(vault_link *l, const uint8_t *key)
{
    time_t start = time(NULL);
    for (;;) {
        int st = key == NULL ? vault_link_poll(l) : vault_link_complete(l, key);
        if (st != VAULT_E_PENDING)
            return st;
        if (time(NULL) - start > POLL_LIMIT_S)
            return VAULT_E_EXPIRED;
        sleep_ms(POLL_INTERVAL_MS);
    }
}

/* Prints the QR code (on a terminal) and the payload text. */
static int show_payload(cli *c, vault_link *l)
{
    char *payload = NULL;
    int st = vault_link_payload(l, &payload);
    if (st != VAULT_OK)
        return cli_fail(c, st, "linking failed");
    uint8_t *qr = NULL;
    size_t len = 0;
    if (c->tty_out && vault_qr_render(payload, VAULT_QR_TEXT, &qr, &len) == VAULT_OK)
        fwrite(qr, 1, len, stdout);
    vault_free(qr);
    printf("link payload: %s\n", payload);
    fflush(stdout);
    vault_free(payload);
    return CLI_EXIT_OK;
}

/* Shows this device's link code, says what to do on the other device, and
 * waits for that device's key. */
static int show_and_wait(cli *c, vault_link *l, const char *next_step)
{
    int rc = show_payload(c, l);
    if (rc != CLI_EXIT_OK)
        return rc;
    puts(next_step);
    fflush(stdout);
    return cli_check(c, until_ready(l, NULL), "linking failed");
}

static int print_sas(cli *c, vault_link *l)
{
    char *sas = NULL;
    int st = vault_link_sas(l, &sas);
    if (st != VAULT_OK)
        return cli_fail(c, st, "linking failed");
    printf("code: %s\n", sas);
    fflush(stdout);
    vault_free(sas);
    return CLI_EXIT_OK;
}

/* Logged-in device, after the exchange: the user compares the codes. */
static int confirm_and_send(cli *c, vault_link *l, const char *device_name)
{
    int rc = print_sas(c, l);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (!cli_confirm("Does the new device show the same code? [y/N] ")) {
        vault_link_abort(l);
        return cli_error(CLI_EXIT_AUTH, "linking aborted: the codes were not confirmed");
    }
    int st = vault_link_confirm(l, device_name);
    if (st != VAULT_OK)
        return cli_fail(c, st, "linking failed");
    printf("linked \"%s\": it now holds the vault\n", device_name);
    return CLI_EXIT_OK;
}

/* New device, after the exchange: waits for the envelope. */
static int receive_vault(cli *c, vault_link *l, const uint8_t *key)
{
    int rc = print_sas(c, l);
    if (rc != CLI_EXIT_OK)
        return rc;
    puts("check that the other device shows the same code, and confirm there...");
    fflush(stdout);
    int st = until_ready(l, key);
    if (st != VAULT_OK)
        return cli_fail(c, st, "linking failed");
    puts("linked: this device now holds the vault");
    return CLI_EXIT_OK;
}

static int link_show(cli *c, const char *name)
{
    vault_link *l = NULL;
    int rc = cli_unlock_and_login(c, NULL);
    int st = rc == CLI_EXIT_OK ? vault_link_offer(&l, c->client) : VAULT_OK;
    if (st != VAULT_OK)
        rc = cli_fail(c, st, "cannot start linking");
    if (rc == CLI_EXIT_OK)
        rc = show_and_wait(c, l, "on the new device: zkvault link join PAYLOAD");
    if (rc == CLI_EXIT_OK)
        rc = confirm_and_send(c, l, name);
    vault_link_free(l);
    return rc;
}

static int link_accept(cli *c, const char *payload, const char *name)
{
    vault_link *l = NULL;
    int rc = cli_unlock_and_login(c, NULL);
    int st = rc == CLI_EXIT_OK ? vault_link_accept(&l, c->client, payload) : VAULT_OK;
    if (st != VAULT_OK)
        rc = cli_fail(c, st, "linking failed");
    if (rc == CLI_EXIT_OK)
        rc = confirm_and_send(c, l, name);
    vault_link_free(l);
    return rc;
}

/* New device: an empty store, a server, a device password. join: payload
 * from the other device; else (request) this device shows the code. */
static int link_new_device(cli *c, const char *payload)
{
    vault_link *l = NULL;
    char *password = NULL;
    uint8_t key[VAULT_KEY_BYTES];
    int made_key = 0;
    int rc = cli_open_client(c);
    char *account = NULL;
    if (rc == CLI_EXIT_OK && vault_client_account_id(c->client, &account) == VAULT_OK)
        rc = cli_error(CLI_EXIT_EXISTS, "%s already holds a vault: link into an empty store",
                       c->store);
    vault_free(account);
    if (rc == CLI_EXIT_OK && cli_is_linked(c))
        rc = cli_error(CLI_EXIT_EXISTS, "%s.devkey exists: remove it or use another store",
                       c->store);
    if (rc == CLI_EXIT_OK)
        rc = cli_connect(c);
    if (rc == CLI_EXIT_OK)
        rc = cli_read_password(c, "New password for this device: ", "ZKVAULT_PASSWORD", 1,
                               &password);
    if (rc == CLI_EXIT_OK && (rc = cli_device_key(c, password, 1, key)) == CLI_EXIT_OK)
        made_key = 1;
    int st = VAULT_OK;
    if (rc == CLI_EXIT_OK)
        st = payload != NULL ? vault_link_join(&l, c->client, payload)
                             : vault_link_request(&l, c->client);
    if (st != VAULT_OK)
        rc = cli_fail(c, st, "linking failed");
    if (rc == CLI_EXIT_OK && payload == NULL)
        rc = show_and_wait(c, l, "on the other device: zkvault link accept PAYLOAD");
    if (rc == CLI_EXIT_OK)
        rc = receive_vault(c, l, key);
    if (rc == CLI_EXIT_OK)
        rc = cli_remember(c, NULL);
    if (rc != CLI_EXIT_OK && made_key) {
        char *path = cli_devkey_path(c); /* the store stays empty: forget the salt too */
        if (path != NULL)
            unlink(path);
        free(path);
    }
    sodium_memzero(key, sizeof key);
    cli_secret_free(password);
    vault_link_free(l);
    return rc;
}

static const char link_help[] =
    "usage: zkvault link show [--name NAME]       on the device that holds the account\n"
    "       zkvault link join PAYLOAD             on the new device\n"
    "   or: zkvault link request                  on the new device (it shows the code)\n"
    "       zkvault link accept PAYLOAD [--name NAME]   on the device with the account\n"
    "\n"
    "Links a new device: the vault key travels sealed through the server, which\n"
    "cannot read it or put itself in the middle. Both devices then show the same\n"
    "6-digit code: confirm on the device with the account only if they match.\n"
    "The confirmation is read from the terminal, or from one line of standard\n"
    "input (\"y\") when there is none.\n"
    "The new device needs an empty store, --server or --server-db, and a new\n"
    "device password (asked twice), which unlocks the vault on that device from\n"
    "then on; its Argon2id salt and parameters are kept in STORE.devkey.\n"
    "  -n, --name NAME   the new device's name in `zkvault devices` (default \"new device\")\n";

int cli_cmd_link(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"name", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    const char *name = "new device";
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "hn:", opts, link_help)) != OPT_END) {
        if (opt == 'n')
            name = optarg;
        else
            return CLI_OPT_RETURN(opt);
    }
    const char *verb = optind < argc ? argv[optind] : "";
    int operands = argc - optind;
    if (strcmp(verb, "show") == 0 && operands == 1)
        return link_show(c, name);
    if (strcmp(verb, "join") == 0 && operands == 2)
        return link_new_device(c, argv[optind + 1]);
    if (strcmp(verb, "request") == 0 && operands == 1)
        return link_new_device(c, NULL);
    if (strcmp(verb, "accept") == 0 && operands == 2)
        return link_accept(c, argv[optind + 1], name);
    return cli_usage("link takes show, join PAYLOAD, request or accept PAYLOAD");
}

/* ---- devices and revocation --------------------------------------------------- */

static const char devices_help[] =
    "usage: zkvault devices [--json]\n"
    "\n"
    "Lists the account's linked devices, kept inside the encrypted vault (pulled\n"
    "from the server first when there is an account): \"*\" marks this device,\n"
    "then id, when it was added, name.\n";

int cli_cmd_devices(cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    int as_json = 0, opt;
    while ((opt = cli_getopt(c, argc, argv, "h", opts, devices_help)) != OPT_END) {
        if (opt == 'j')
            as_json = 1;
        else
            return CLI_OPT_RETURN(opt);
    }
    if (optind != argc)
        return cli_usage("devices takes no arguments");
    char *json = NULL;
    cJSON *list = NULL;
    /* The list lives in the vault: with an account, pull first so that a
     * device linked elsewhere shows up. */
    int rc = cli_open_existing(c);
    if (rc != CLI_EXIT_OK)
        return rc;
    int online = cli_has_server(c) && (c->email != NULL || c->conf_email != NULL ||
                                       cli_is_linked(c));
    rc = online ? cli_unlock_and_login(c, NULL) : cli_unlock(c);
    if (rc == CLI_EXIT_OK && online)
        rc = cli_check(c, vault_client_pull(c->client), "cannot fetch the device list");
    if (rc == CLI_EXIT_OK) {
        int st = vault_client_devices(c->client, &json);
        if (st != VAULT_OK)
            return cli_fail(c, st, "cannot list devices");
        if (as_json) { /* public keys and names only: nothing to hide */
            puts(json);
            vault_free(json);
            return CLI_EXIT_OK;
        }
        rc = cli_parse_owned(json, &list);
    }
    if (rc == CLI_EXIT_OK && cJSON_GetArraySize(list) == 0)
        puts("no linked devices");
    const cJSON *d;
    cJSON_ArrayForEach(d, list) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(d, "id");
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(d, "name");
        const cJSON *added = cJSON_GetObjectItemCaseSensitive(d, "added");
        char when[32];
        cli_format_time(cJSON_IsNumber(added) ? added->valuedouble : 0, when, sizeof when);
        printf("%s %s  %s  %s\n",
               cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(d, "current")) ? "*" : " ",
               cJSON_IsString(id) ? id->valuestring : "?", when,
               cJSON_IsString(name) ? name->valuestring : "");
    }
    cJSON_Delete(list);
    return rc;
}

static const char revoke_help[] =
    "usage: zkvault revoke DEVICE_ID\n"
    "\n"
    "Revokes a linked device (see `zkvault devices`): its server credential stops\n"
    "working, the vault key is rotated and sealed to each remaining device. Run\n"
    "it on a device that unlocks with the master password.\n";

int cli_cmd_revoke(cli *c, int argc, char **argv)
{
    int opt;
    while ((opt = cli_getopt(c, argc, argv, "h", NULL, revoke_help)) != OPT_END)
        return CLI_OPT_RETURN(opt);
    if (optind != argc - 1)
        return cli_usage("revoke takes one DEVICE_ID");
    const char *device = argv[optind];
    int rc = cli_unlock_and_login(c, NULL);
    if (rc == CLI_EXIT_OK)
        rc = cli_check(c, vault_client_revoke(c->client, device), "cannot revoke");
    if (rc == CLI_EXIT_OK)
        printf("revoked %s; the vault key was rotated\n", device);
    return rc;
}
