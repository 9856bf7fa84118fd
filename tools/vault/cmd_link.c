/*
 * Device linking from the terminal: `link show` on the logged-in device
 * (QR code, short code to compare, confirmation) and `link join PAYLOAD` on
 * the new one.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"

#define POLL_INTERVAL_MS 500
#define POLL_LIMIT_S 600 /* longer than any link lives on the server */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Calls step until it stops answering VAULT_E_PENDING (bounded in time). */
static int wait_while_pending(int (*step)(vault_link *, const uint8_t *), vault_link *l,
                              const uint8_t *arg)
{
    time_t start = time(NULL);
    for (;;) {
        int st = step(l, arg);
        if (st != VAULT_E_PENDING)
            return st;
        if (time(NULL) - start > POLL_LIMIT_S)
            return VAULT_E_EXPIRED;
        sleep_ms(POLL_INTERVAL_MS);
    }
}

static int poll_step(vault_link *l, const uint8_t *unused)
{
    (void)unused;
    return vault_link_poll(l);
}

static int complete_step(vault_link *l, const uint8_t *key)
{
    return vault_link_complete(l, key);
}

/* The user's yes/no: from the terminal if there is one, else one line of
 * standard input (so a script can answer). */
static int confirm(const char *question)
{
    char answer[16] = {0};
    int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    int fd = tty >= 0 ? tty : STDIN_FILENO;
    if (tty >= 0 && write(tty, question, strlen(question)) < 0) {
        close(tty);
        return 0;
    }
    if (tty < 0) {
        fputs(question, stdout);
        fflush(stdout);
    }
    size_t n = 0;
    char ch;
    while (n + 1 < sizeof answer && read(fd, &ch, 1) == 1 && ch != '\n')
        answer[n++] = ch;
    if (tty >= 0)
        close(tty);
    return strcmp(answer, "y") == 0 || strcmp(answer, "yes") == 0;
}

static void print_qr(const char *payload)
{
    uint8_t *qr = NULL;
    size_t len = 0;
    if (vault_qr_render(payload, VAULT_QR_TEXT, &qr, &len) == VAULT_OK)
        fwrite(qr, 1, len, stdout);
    vault_free(qr);
}

static const char link_help[] =
    "usage: vault link show [--name DEVICE_NAME]\n"
    "       vault link join PAYLOAD\n"
    "\n"
    "show (on a device that holds the account): prints a QR code and its text\n"
    "  payload, waits for the new device, then shows a 6-digit code. Confirm\n"
    "  only if the new device shows the same code: the vault key is then sent,\n"
    "  sealed to the new device. --name names the new device in `vault devices`.\n"
    "join (on the new device, with an empty store and --server/--server-db):\n"
    "  takes the payload (scanned from the QR code, or copied), shows the same\n"
    "  6-digit code, and waits for the confirmation. It asks for the master\n"
    "  password, which protects the vault key on this device.\n"
    "The answer to the confirmation is read from the terminal, or from one line\n"
    "of standard input (\"y\" or \"yes\") when there is no terminal.\n";

static int link_show(cli *c, const char *device_name)
{
    vault_link *l = NULL;
    char *payload = NULL, *sas = NULL;
    int rc = cli_unlock_and_login(c, NULL);
    int st = VAULT_OK;
    if (rc == CLI_EXIT_OK && (st = vault_link_offer(&l, c->client)) == VAULT_OK)
        st = vault_link_payload(l, &payload);
    if (rc == CLI_EXIT_OK && st == VAULT_OK) {
        if (c->tty_out)
            print_qr(payload);
        printf("link payload: %s\n", payload);
        puts("waiting for the new device (vault link join PAYLOAD)...");
        fflush(stdout);
        st = wait_while_pending(poll_step, l, NULL);
    }
    if (rc == CLI_EXIT_OK && st == VAULT_OK)
        st = vault_link_sas(l, &sas);
    if (rc == CLI_EXIT_OK && st == VAULT_OK) {
        printf("code: %s\n", sas);
        fflush(stdout);
        if (confirm("Does the new device show the same code? [y/N] ")) {
            st = vault_link_confirm(l, device_name);
        } else {
            vault_link_abort(l);
            rc = cli_error(CLI_EXIT_AUTH, "linking aborted: the codes were not confirmed");
        }
    }
    if (rc == CLI_EXIT_OK && st != VAULT_OK)
        rc = cli_fail(c, st, "linking failed");
    if (rc == CLI_EXIT_OK)
        printf("linked \"%s\"\n", device_name);
    vault_free(payload);
    vault_free(sas);
    vault_link_free(l);
    return rc;
}

static int link_join(cli *c, const char *payload)
{
    vault_link *l = NULL;
    char *sas = NULL, *password = NULL;
    uint8_t local_key[VAULT_KEY_BYTES];
    int rc = cli_open_client(c);
    if (rc == CLI_EXIT_OK)
        rc = cli_connect(c);
    if (rc == CLI_EXIT_OK)
        rc = cli_read_password(c, "Master password: ", "VAULT_PASSWORD", 0, &password);
    if (rc == CLI_EXIT_OK)
        rc = cli_device_key(c, password, 1, local_key);
    int st = VAULT_OK;
    if (rc == CLI_EXIT_OK && (st = vault_link_join(&l, c->client, payload)) == VAULT_OK)
        st = vault_link_sas(l, &sas);
    if (rc == CLI_EXIT_OK && st == VAULT_OK) {
        printf("code: %s\n", sas);
        puts("check that the other device shows the same code, and confirm there...");
        fflush(stdout);
        st = wait_while_pending(complete_step, l, local_key);
    }
    if (rc == CLI_EXIT_OK && st != VAULT_OK)
        rc = cli_fail(c, st, "linking failed");
    if (rc == CLI_EXIT_OK) {
        puts("linked: this device now holds the vault");
        if (c->email != NULL)
            rc = cli_remember(c, c->email);
    }
    sodium_memzero(local_key, sizeof local_key);
    cli_secret_free(password);
    vault_free(sas);
    vault_link_free(l);
    return rc;
}

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
    if (optind < argc && strcmp(argv[optind], "show") == 0 && optind == argc - 1)
        return link_show(c, name);
    if (optind < argc && strcmp(argv[optind], "join") == 0 && optind == argc - 2)
        return link_join(c, argv[optind + 1]);
    return cli_usage("link takes `show` or `join PAYLOAD`");
}
