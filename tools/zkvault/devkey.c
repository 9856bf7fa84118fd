/*
 * The device key of a linked device.
 *
 * A linked device never learns the account's password keys: the vault key
 * arrives sealed in the link envelope and the library keeps it wrapped under a
 * 32-byte local key that the app provides. The app's "keychain" here is a
 * device password: local key = Argon2id(device password, this device's salt),
 * the salt and parameters in STORE.devkey (no secret in it).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "cli.h"

char *cli_devkey_path(const cli *c)
{
    size_t len = strlen(c->store) + sizeof ".devkey";
    char *p = malloc(len);
    if (p != NULL)
        snprintf(p, len, "%s.devkey", c->store);
    return p;
}

int cli_is_linked(const cli *c)
{
    char *path = cli_devkey_path(c);
    int linked = path != NULL && access(path, F_OK) == 0;
    free(path);
    return linked;
}

static int write_devkey(cli *c, const char *path, uint8_t salt[VAULT_SALT_BYTES])
{
    char hex[2 * VAULT_SALT_BYTES + 1], text[256];
    vault_kdf_salt(salt);
    sodium_bin2hex(hex, sizeof hex, salt, VAULT_SALT_BYTES);
    if (c->kdf_ops == 0 && c->kdf_mem == 0) {
        c->kdf_ops = vault_kdf_opslimit_default();
        c->kdf_mem = vault_kdf_memlimit_default();
    }
    int st = vault_kdf_check_params(c->kdf_ops, c->kdf_mem);
    if (st != VAULT_OK)
        return cli_fail(NULL, st, "device key parameters");
    int n = snprintf(text, sizeof text, "{\"salt\": \"%s\", \"opslimit\": %llu, \"memlimit\": %llu}\n",
                     hex, (unsigned long long)c->kdf_ops, (unsigned long long)c->kdf_mem);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int ok = fd >= 0 && n > 0 && write(fd, text, (size_t)n) == n;
    if (fd >= 0 && close(fd) != 0)
        ok = 0;
    if (!ok)
        return cli_error(CLI_EXIT_ERROR, "cannot create %s: %s", path, strerror(errno));
    return CLI_EXIT_OK;
}

static int read_devkey(cli *c, const char *path, uint8_t salt[VAULT_SALT_BYTES])
{
    FILE *f = fopen(path, "rb");
    size_t len = 0;
    char *text = f == NULL ? NULL : cli_read_stream(f, 4096, &len);
    if (f != NULL)
        fclose(f);
    cJSON *conf = text == NULL ? NULL : cJSON_ParseWithLength(text, len);
    const cJSON *hex = cJSON_GetObjectItemCaseSensitive(conf, "salt");
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(conf, "opslimit");
    const cJSON *mem = cJSON_GetObjectItemCaseSensitive(conf, "memlimit");
    size_t bin_len = 0;
    int ok = cJSON_IsString(hex) && cJSON_IsNumber(ops) && cJSON_IsNumber(mem) &&
             strlen(hex->valuestring) == 2 * VAULT_SALT_BYTES &&
             sodium_hex2bin(salt, VAULT_SALT_BYTES, hex->valuestring, 2 * VAULT_SALT_BYTES, NULL,
                            &bin_len, NULL) == 0 &&
             bin_len == VAULT_SALT_BYTES && ops->valuedouble >= 1 && mem->valuedouble >= 1;
    if (ok) {
        c->kdf_ops = (uint64_t)ops->valuedouble;
        c->kdf_mem = (uint64_t)mem->valuedouble;
    }
    cJSON_Delete(conf);
    cli_free_text(text, len + 1);
    return ok ? CLI_EXIT_OK : cli_error(CLI_EXIT_REFUSED, "%s is missing or malformed", path);
}

/* The local device key: create makes the salt file (a new link), else it is
 * read. Argon2id refuses parameters below the floor, so an edited file
 * cannot weaken the key. */
int cli_device_key(cli *c, const char *password, int create, uint8_t key[VAULT_KEY_BYTES])
{
    uint8_t salt[VAULT_SALT_BYTES];
    char *path = cli_devkey_path(c);
    if (path == NULL)
        return cli_error(CLI_EXIT_ERROR, "out of memory");
    int rc = create ? write_devkey(c, path, salt) : read_devkey(c, path, salt);
    free(path);
    if (rc != CLI_EXIT_OK)
        return rc;
    cli_progress_begin(c, "deriving key");
    int st = vault_kdf_derive(NULL, key, password, strlen(password), salt, c->kdf_ops,
                              c->kdf_mem);
    cli_progress_end(c);
    return st == VAULT_OK ? CLI_EXIT_OK : cli_fail(NULL, st, "cannot derive the device key");
}

int cli_unlock_device(cli *c, const char *password)
{
    uint8_t key[VAULT_KEY_BYTES];
    int rc = cli_device_key(c, password, 0, key);
    if (rc == CLI_EXIT_OK)
        rc = cli_check(c, vault_client_unlock_device(c->client, key), "cannot unlock");
    sodium_memzero(key, sizeof key);
    return rc;
}

