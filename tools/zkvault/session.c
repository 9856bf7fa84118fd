/*
 * One run's session: the local store, the small config file beside it, the
 * server connection (vaultd over HTTP, or an embedded server in a SQLite file)
 * and unlocking.
 *
 * The config file (STORE.conf, JSON, mode 0600) remembers the account email
 * and the server so that `zkvault sync` needs no options. It holds no secret;
 * the email is personal data, and it lives on the user's own device only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cli.h"

#define PEPPER_BYTES 32u
#define PEPPER_MAX 1024u
#define CONF_MAX (64u * 1024u)

/* mkdir -p for the parent directories of path, mode 0700. */
static int make_parents(const char *path)
{
    char *dir = strdup(path);
    if (dir == NULL)
        return -1;
    for (char *p = dir + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            free(dir);
            return -1;
        }
        *p = '/';
    }
    free(dir);
    return 0;
}

static char *path_with_suffix(const char *path, const char *suffix)
{
    size_t len = strlen(path) + strlen(suffix) + 1;
    char *out = malloc(len);
    if (out != NULL)
        snprintf(out, len, "%s%s", path, suffix);
    return out;
}

static int default_store(cli *c)
{
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    char buf[4096];
    if (xdg != NULL && xdg[0] == '/')
        snprintf(buf, sizeof buf, "%s/zkvault/device.db", xdg);
    else if (home != NULL && home[0] != '\0')
        snprintf(buf, sizeof buf, "%s/.local/share/zkvault/device.db", home);
    else
        return cli_usage("HOME is not set: give the store with --store PATH");
    c->store_owned = strdup(buf);
    if (c->store_owned == NULL)
        return cli_error(CLI_EXIT_ERROR, "out of memory");
    c->store = c->store_owned;
    if (make_parents(c->store) != 0)
        return cli_error(CLI_EXIT_ERROR, "cannot create the directory of %s: %s", c->store,
                         strerror(errno));
    return CLI_EXIT_OK;
}

/* Reads a whole small file; NULL with errno set on failure. */
static char *read_small_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf == NULL ? 0 : fread(buf, 1, max + 1, f);
    int bad = buf == NULL || ferror(f) || n > max;
    fclose(f);
    if (bad) {
        if (buf != NULL)
            sodium_memzero(buf, max + 1);
        free(buf);
        errno = EFBIG;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static char *conf_member(const cJSON *conf, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(conf, name);
    return cJSON_IsString(item) ? strdup(item->valuestring) : NULL;
}

static void load_conf(cli *c)
{
    char *path = path_with_suffix(c->store, ".conf");
    size_t len = 0;
    char *text = path == NULL ? NULL : read_small_file(path, CONF_MAX, &len);
    cJSON *conf = text == NULL ? NULL : cJSON_ParseWithLength(text, len);
    if (text != NULL && conf == NULL)
        fprintf(stderr, "zkvault: warning: ignoring the malformed %s\n", path);
    if (conf != NULL) {
        c->conf_email = conf_member(conf, "email");
        c->conf_server_url = conf_member(conf, "server");
        c->conf_server_db = conf_member(conf, "server_db");
        const cJSON *days = cJSON_GetObjectItemCaseSensitive(conf, "trash_days");
        if (cJSON_IsNumber(days) && days->valuedouble >= 0 && days->valuedouble <= 36500)
            c->conf_trash_days = (long)days->valuedouble;
    }
    cJSON_Delete(conf);
    free(text);
    free(path);
}

/* Writes path atomically (temp file + rename), mode 0600. */
static int write_file_0600(const char *path, const char *data, size_t len)
{
    char *tmp = path_with_suffix(path, ".tmp");
    if (tmp == NULL)
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int ok = fd >= 0 && write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (ok && rename(tmp, path) != 0)
        ok = 0;
    if (!ok)
        unlink(tmp);
    free(tmp);
    return ok ? 0 : -1;
}

int cli_remember(cli *c, const char *email)
{
    const char *url = c->server_url, *db = c->server_db;
    if (email == NULL)
        email = c->email != NULL ? c->email : c->conf_email;
    if (url == NULL && db == NULL) {
        url = c->conf_server_url;
        db = c->conf_server_db;
    }
    cJSON *conf = cJSON_CreateObject();
    int ok = conf != NULL;
    if (ok && email != NULL)
        ok = cJSON_AddStringToObject(conf, "email", email) != NULL;
    if (ok && url != NULL)
        ok = cJSON_AddStringToObject(conf, "server", url) != NULL;
    if (ok && c->conf_trash_days >= 0)
        ok = cJSON_AddNumberToObject(conf, "trash_days", (double)c->conf_trash_days) != NULL;
    if (ok && url == NULL && db != NULL) {
        /* An absolute path, so that the store works from any directory. */
        char *abs = realpath(db, NULL);
        ok = cJSON_AddStringToObject(conf, "server_db", abs != NULL ? abs : db) != NULL;
        free(abs);
    }
    char *text = ok ? cJSON_Print(conf) : NULL;
    char *path = path_with_suffix(c->store, ".conf");
    int rc = CLI_EXIT_OK;
    if (text == NULL || path == NULL)
        rc = cli_error(CLI_EXIT_ERROR, "out of memory");
    else if (write_file_0600(path, text, strlen(text)) != 0)
        rc = cli_error(CLI_EXIT_ERROR, "cannot write %s: %s", path, strerror(errno));
    free(path);
    cJSON_free(text);
    cJSON_Delete(conf);
    return rc;
}

int cli_forget_account(cli *c)
{
    free(c->conf_email);
    free(c->conf_server_url);
    free(c->conf_server_db);
    c->conf_email = c->conf_server_url = c->conf_server_db = NULL;
    c->email = c->server_url = c->server_db = NULL;
    return cli_remember(c, NULL);
}

int cli_open_client(cli *c)
{
    if (c->client != NULL)
        return CLI_EXIT_OK;
    if (c->store == NULL) {
        int rc = default_store(c);
        if (rc != CLI_EXIT_OK)
            return rc;
    }
    load_conf(c);
    int rc = vault_client_open(&c->client, c->store, 0);
    if (rc != VAULT_OK)
        return cli_fail(c, rc, c->store);
    return CLI_EXIT_OK;
}

/* Commands that need an existing vault must not leave an empty store behind. */
int cli_open_existing(cli *c)
{
    if (c->store == NULL) {
        int rc = default_store(c);
        if (rc != CLI_EXIT_OK)
            return rc;
    }
    if (access(c->store, F_OK) != 0)
        return cli_error(CLI_EXIT_NOT_FOUND,
                         "no vault at %s: create one with `zkvault init`, or fetch an account "
                         "with `zkvault login EMAIL`", c->store);
    return cli_open_client(c);
}

/* The embedded server's pepper: the raw bytes of DB.pepper (>= 32), as vaultd
 * --pepper-file reads it; made with 32 random bytes on first use. */
static int load_pepper(const char *db, uint8_t **pepper, size_t *len)
{
    char *path = path_with_suffix(db, ".pepper");
    if (path == NULL)
        return cli_error(CLI_EXIT_ERROR, "out of memory");
    int rc = CLI_EXIT_OK;
    *pepper = (uint8_t *)read_small_file(path, PEPPER_MAX, len);
    if (*pepper == NULL && errno == ENOENT) {
        uint8_t fresh[PEPPER_BYTES];
        randombytes_buf(fresh, sizeof fresh);
        if (write_file_0600(path, (const char *)fresh, sizeof fresh) != 0)
            rc = cli_error(CLI_EXIT_ERROR, "cannot create %s: %s", path, strerror(errno));
        sodium_memzero(fresh, sizeof fresh);
        if (rc == CLI_EXIT_OK)
            *pepper = (uint8_t *)read_small_file(path, PEPPER_MAX, len);
    }
    if (rc == CLI_EXIT_OK && *pepper == NULL)
        rc = cli_error(CLI_EXIT_ERROR, "cannot read %s: %s", path, strerror(errno));
    if (rc == CLI_EXIT_OK && *len < VAULT_PEPPER_MIN_BYTES) {
        rc = cli_error(CLI_EXIT_ERROR, "%s is shorter than %u bytes", path,
                       VAULT_PEPPER_MIN_BYTES);
        sodium_memzero(*pepper, *len);
        free(*pepper);
        *pepper = NULL;
    }
    free(path);
    return rc;
}

static int open_embedded_server(cli *c, const char *db)
{
    uint8_t *pepper = NULL;
    size_t len = 0;
    int rc = load_pepper(db, &pepper, &len);
    if (rc != CLI_EXIT_OK)
        return rc;
    int st = vault_server_open(&c->server, db, pepper, len, 0);
    sodium_memzero(pepper, len);
    free(pepper);
    if (st != VAULT_OK)
        return cli_fail(NULL, st, db);
    st = vault_client_connect_local(c->client, c->server);
    return st == VAULT_OK ? CLI_EXIT_OK : cli_fail(c, st, "embedded server");
}

int cli_has_server(const cli *c)
{
    return c->server_url != NULL || c->server_db != NULL || c->conf_server_url != NULL ||
           c->conf_server_db != NULL;
}

int cli_connect(cli *c)
{
    const char *url = c->server_url, *db = c->server_db;
    if (c->connected)
        return CLI_EXIT_OK;
    if (url == NULL && db == NULL) {
        url = c->conf_server_url;
        db = c->conf_server_db;
    }
    int rc;
    if (url != NULL) {
        int st = vault_client_connect_http_ca(c->client, url,
                                              c->insecure ? VAULT_HTTP_ALLOW_INSECURE : 0,
                                              c->ca_file);
        /* The library's message names its flag; here the switch is --insecure. */
        if (st == VAULT_E_INSECURE)
            rc = cli_error(cli_exit_code(st), "%s: plain http:// is refused for a non-loopback "
                           "host: use https://, or --insecure if the network is trusted (%s)",
                           url, vault_strerror(st));
        else
            rc = st == VAULT_OK ? CLI_EXIT_OK : cli_fail(c, st, url);
    } else if (db != NULL) {
        rc = open_embedded_server(c, db);
    } else {
        rc = cli_usage("no server: give --server URL or --server-db PATH");
    }
    c->connected = rc == CLI_EXIT_OK;
    return rc;
}

/* A password this store does not know may be the one set on another device:
 * with a server and the account's email known, sign in with it. The library
 * checks that the server's new protected key opens this device's vault and
 * only then re-wraps the store; otherwise it is just a wrong password. */
static int unlock_changed_elsewhere(cli *c, const char *password)
{
    const char *email = c->email != NULL ? c->email : c->conf_email;
    if (email == NULL || !cli_has_server(c))
        return cli_fail(c, VAULT_E_AUTH, "cannot unlock");
    int rc = cli_connect(c);
    if (rc != CLI_EXIT_OK)
        return rc;
    cli_progress_begin(c, "signing in");
    int st = vault_client_sign_in(c->client, email, password);
    cli_progress_end(c);
    /* Signed in, but the catch-up pull met a fork: sync resolves it. */
    if (st != VAULT_OK && st != VAULT_E_FORK)
        return cli_fail(c, st, "cannot unlock");
    fputs("zkvault: the master password was changed on another device; this device now "
          "uses the new one\n", stderr);
    return CLI_EXIT_OK;
}

/* A linked device unlocks with its device key; connected first (when it knows
 * a server), so that the library signs in with the device credential and picks
 * up a vault key rotated since. */
static int unlock_with(cli *c, const char *password)
{
    if (cli_is_linked(c)) {
        int rc = cli_has_server(c) ? cli_connect(c) : CLI_EXIT_OK;
        return rc == CLI_EXIT_OK ? cli_unlock_device(c, password) : rc;
    }
    cli_progress_begin(c, "deriving key");
    int st = vault_client_unlock(c->client, password);
    cli_progress_end(c);
    if (st == VAULT_E_AUTH)
        return unlock_changed_elsewhere(c, password);
    if (st == VAULT_E_NOT_FOUND)
        return cli_error(CLI_EXIT_NOT_FOUND,
                         "no vault in %s: create one with `zkvault init`, or fetch an account "
                         "with `zkvault login EMAIL`", c->store);
    return st == VAULT_OK ? CLI_EXIT_OK : cli_fail(c, st, "cannot unlock");
}

static int unlock_keep_password(cli *c, char **password_out)
{
    int rc = cli_open_existing(c);
    char *password = NULL;
    /* In the shell the vault stays unlocked between commands; a command
     * that needs the password itself (passwd, delete-account) still asks. */
    int32_t unlocked = 0;
    if (rc == CLI_EXIT_OK && password_out == NULL &&
        vault_client_is_unlocked(c->client, &unlocked) == VAULT_OK && unlocked)
        return CLI_EXIT_OK;
    if (rc == CLI_EXIT_OK)
        rc = cli_read_password(c, cli_is_linked(c) ? "Device password: " : "Master password: ",
                               "ZKVAULT_PASSWORD", 0, &password);
    if (rc == CLI_EXIT_OK)
        rc = unlock_with(c, password);
    if (rc != CLI_EXIT_OK || password_out == NULL) {
        cli_secret_free(password);
        password = NULL;
    }
    if (password_out != NULL)
        *password_out = password;
    return rc;
}

int cli_unlock(cli *c)
{
    return unlock_keep_password(c, NULL);
}

/* Opens a server session for an unlocked password device. A linked device
 * needs none of this: its unlock signed in with the device credential. */
static int login_with(cli *c, const char *password)
{
    if (cli_is_linked(c))
        return c->connected ? CLI_EXIT_OK
                            : cli_usage("no server: give --server URL or --server-db PATH");
    const char *email = c->email != NULL ? c->email : c->conf_email;
    if (email == NULL)
        return cli_usage("no account email: give --email EMAIL, or `zkvault register EMAIL` / "
                         "`zkvault login EMAIL` first");
    int rc = cli_connect(c);
    if (rc != CLI_EXIT_OK)
        return rc;
    cli_progress_begin(c, "signing in");
    int st = vault_client_login(c->client, email, password);
    cli_progress_end(c);
    return st == VAULT_OK ? CLI_EXIT_OK : cli_fail(c, st, "login failed");
}

int cli_unlock_and_login(cli *c, char **password_out)
{
    char *password = NULL;
    int rc = unlock_keep_password(c, &password);
    if (rc == CLI_EXIT_OK)
        rc = login_with(c, password);
    if (rc != CLI_EXIT_OK || password_out == NULL) {
        cli_secret_free(password);
        password = NULL;
    }
    if (password_out != NULL)
        *password_out = password;
    return rc;
}

/* Items trashed longer ago than the setting are purged as the vault is
 * saved: a tombstone then syncs their deletion. 0 days keeps the trash. */
static int expire_trash(cli *c)
{
    long days = c->trash_days >= 0 ? c->trash_days
                : c->conf_trash_days >= 0 ? c->conf_trash_days : CLI_TRASH_DAYS;
    vault *v = NULL;
    uint64_t purged = 0;
    if (days == 0)
        return CLI_EXIT_OK;
    int st = vault_client_vault(c->client, &v);
    if (st == VAULT_OK)
        st = vault_trash_expire(v, (uint32_t)days, &purged);
    if (st != VAULT_OK)
        return cli_fail(c, st, "cannot empty the trash");
    if (purged > 0)
        fprintf(stderr, "zkvault: purged %llu item(s) in the trash for %ld days or more\n",
                (unsigned long long)purged, days);
    return CLI_EXIT_OK;
}

int cli_save(cli *c)
{
    int rc = expire_trash(c);
    if (rc != CLI_EXIT_OK)
        return rc;
    int st = vault_client_save(c->client);
    return st == VAULT_OK ? CLI_EXIT_OK : cli_fail(c, st, "cannot save the vault");
}

void cli_close(cli *c)
{
    vault_client_close(c->client); /* locks: wipes keys and plaintext */
    vault_server_close(c->server);
    free(c->store_owned);
    free(c->conf_email);
    free(c->conf_server_url);
    free(c->conf_server_db);
    c->client = NULL;
    c->server = NULL;
    c->store_owned = c->conf_email = c->conf_server_url = c->conf_server_db = NULL;
    c->connected = 0;
}
