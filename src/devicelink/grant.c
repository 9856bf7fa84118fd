/*
 * The grant: the JSON sealed inside the link envelope.
 *
 *   {"v":2,"account_id":"<32 hex>","vault_key":"<64 hex>","device_id":"<32 hex>",
 *    "credential":"<64 hex>","secret_key":"<32 hex>","email":"a@example.com",
 *    "opslimit":3,"memlimit":67108864,"revision":7,"head":"<64 hex>",
 *    "device_name":"laptop"}
 *
 * The Secret Key travels here, end-to-end encrypted to the new device, so
 * that a linked device never asks the user for it.
 *
 * Decoding is strict (exact member set, lowercase hex of exact lengths, KDF
 * parameters within policy) because a new device must never act on a half
 * understood grant. The JSON is plaintext holding the vault key: it lives in
 * output memory that vault_free() wipes, and cJSON's free hook wipes its nodes.
 */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <string.h>

#include "common/common.h"
#include "devicelink/devicelink.h"

#define GRANT_MEMBERS 12

static const char *const grant_members[GRANT_MEMBERS] = {
    "v", "account_id", "vault_key", "device_id", "credential", "secret_key",
    "email", "opslimit", "memlimit", "revision", "head", "device_name"};

static int add_hex(cJSON *obj, const char *key, const uint8_t *bin, size_t len)
{
    char hex[2 * 64 + 1];
    cJSON *item;
    vault__bin2hex(hex, bin, len);
    item = cJSON_AddStringToObject(obj, key, hex);
    sodium_memzero(hex, sizeof hex);
    return item != NULL ? VAULT_OK : VAULT_E_NOMEM;
}

static int add_u64(cJSON *obj, const char *key, uint64_t v)
{
    return cJSON_AddNumberToObject(obj, key, (double)v) != NULL ? VAULT_OK : VAULT_E_NOMEM;
}

int vault_devicelink__grant_encode(char **json, const vault_devicelink_grant *g)
{
    cJSON *obj = NULL;
    int rc = VAULT_E_NOMEM;
    if (json == NULL || g == NULL)
        return vault__fail(VAULT_E_INVALID, "link grant: NULL argument");
    *json = NULL;
    if (strlen(g->account_id) != 2 * VAULT_ACCOUNT_ID_BYTES ||
        strlen(g->device_id) != 2 * VAULT_ACCOUNT_ID_BYTES)
        return vault__fail(VAULT_E_INVALID, "link grant: ids must be 32 hex characters");
    if (g->device_name[0] == '\0' || strnlen(g->device_name, sizeof g->device_name) >
                                         VAULT_DEVICELINK_NAME_MAX)
        return vault__fail(VAULT_E_INVALID, "link grant: device name must be 1..%u bytes",
                           VAULT_DEVICELINK_NAME_MAX);
    if ((obj = cJSON_CreateObject()) == NULL)
        goto done;
    if (add_u64(obj, "v", VAULT_DEVICELINK_GRANT_VERSION) != VAULT_OK ||
        cJSON_AddStringToObject(obj, "account_id", g->account_id) == NULL ||
        add_hex(obj, "vault_key", g->vault_key, sizeof g->vault_key) != VAULT_OK ||
        cJSON_AddStringToObject(obj, "device_id", g->device_id) == NULL ||
        add_hex(obj, "credential", g->credential, sizeof g->credential) != VAULT_OK ||
        add_hex(obj, "secret_key", g->secret_key, sizeof g->secret_key) != VAULT_OK ||
        cJSON_AddStringToObject(obj, "email", g->email) == NULL ||
        add_u64(obj, "opslimit", g->opslimit) != VAULT_OK ||
        add_u64(obj, "memlimit", g->memlimit) != VAULT_OK ||
        add_u64(obj, "revision", g->revision) != VAULT_OK ||
        add_hex(obj, "head", g->head, sizeof g->head) != VAULT_OK ||
        cJSON_AddStringToObject(obj, "device_name", g->device_name) == NULL)
        goto done;
    rc = vault__json_print(obj, json);
done:
    cJSON_Delete(obj);
    if (rc == VAULT_E_NOMEM)
        return vault__fail(VAULT_E_NOMEM, "out of memory encoding the link grant");
    return rc;
}

static int only_known_members(const cJSON *obj)
{
    int count = 0;
    for (const cJSON *m = obj->child; m != NULL; m = m->next) {
        int known = 0;
        for (size_t i = 0; i < GRANT_MEMBERS; i++)
            if (m->string != NULL && strcmp(m->string, grant_members[i]) == 0)
                known = 1;
        if (!known)
            return vault__fail(VAULT_E_INVALID, "link grant: unknown member");
        count++;
    }
    if (count != GRANT_MEMBERS)
        return vault__fail(VAULT_E_INVALID, "link grant: duplicate or missing members");
    return VAULT_OK;
}

/* Exact-length lowercase hex, so one grant has one spelling. */
static int get_hex(const cJSON *obj, const char *key, uint8_t *bin, size_t len)
{
    const char *s = NULL;
    int rc = vault__json_string(obj, key, "link grant", &s);
    if (rc != VAULT_OK)
        return rc;
    for (const char *c = s; *c != '\0'; c++)
        if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f')))
            return vault__fail(VAULT_E_INVALID, "link grant: \"%s\" must be lowercase hex", key);
    if (vault__hex2bin(bin, len, s) != VAULT_OK)
        return vault__fail(VAULT_E_INVALID, "link grant: \"%s\" must be %zu hex characters",
                           key, 2 * len);
    return VAULT_OK;
}

static int get_id(const cJSON *obj, const char *key, char out[2 * VAULT_ACCOUNT_ID_BYTES + 1])
{
    uint8_t raw[VAULT_ACCOUNT_ID_BYTES];
    int rc = get_hex(obj, key, raw, sizeof raw);
    if (rc == VAULT_OK)
        vault__bin2hex(out, raw, sizeof raw);
    return rc;
}

/* 1..64 bytes without control characters; the vault checks UTF-8 when the
 * name lands in its device list. */
static int get_name(const cJSON *obj, char out[VAULT_DEVICELINK_NAME_MAX + 1])
{
    const char *s = NULL;
    int rc = vault__json_string(obj, "device_name", "link grant", &s);
    if (rc != VAULT_OK)
        return rc;
    size_t n = strlen(s);
    if (n == 0 || n > VAULT_DEVICELINK_NAME_MAX)
        return vault__fail(VAULT_E_INVALID, "link grant: device name must be 1..%u bytes",
                           VAULT_DEVICELINK_NAME_MAX);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return vault__fail(VAULT_E_INVALID, "link grant: control character in device name");
    memcpy(out, s, n + 1);
    return VAULT_OK;
}

/* 3..254 bytes with an '@', no control characters. */
static int get_email(const cJSON *obj, char out[255])
{
    const char *s = NULL;
    int rc = vault__json_string(obj, "email", "link grant", &s);
    if (rc != VAULT_OK)
        return rc;
    size_t n = strlen(s);
    if (n < 3 || n > 254 || strchr(s, '@') == NULL)
        return vault__fail(VAULT_E_INVALID, "link grant: bad email");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return vault__fail(VAULT_E_INVALID, "link grant: control character in email");
    memcpy(out, s, n + 1);
    return VAULT_OK;
}

static int check_kdf(uint64_t ops, uint64_t mem)
{
    int rc = vault_kdf_check_params(ops, mem);
    if (rc != VAULT_OK)
        return vault__fail(rc, "link grant: KDF parameters %s", rc == VAULT_E_WEAK_KDF
                                                                    ? "below the floor"
                                                                    : "above the maximum");
    return VAULT_OK;
}

static int decode_members(vault_devicelink_grant *g, const cJSON *obj)
{
    uint64_t v = 0;
    int rc;
    /* The version first: an older grant has other members. */
    if ((rc = vault__json_u64(obj, "v", "link grant", &v)) != VAULT_OK)
        return rc;
    if (v != VAULT_DEVICELINK_GRANT_VERSION)
        return vault__fail(VAULT_E_VERSION, "link grant: version %llu not supported (the "
                                            "other device needs the same zkvault version)",
                           (unsigned long long)v);
    if ((rc = only_known_members(obj)) != VAULT_OK)
        return rc;
    if ((rc = get_id(obj, "account_id", g->account_id)) != VAULT_OK ||
        (rc = get_hex(obj, "vault_key", g->vault_key, sizeof g->vault_key)) != VAULT_OK ||
        (rc = get_id(obj, "device_id", g->device_id)) != VAULT_OK ||
        (rc = get_hex(obj, "credential", g->credential, sizeof g->credential)) != VAULT_OK ||
        (rc = get_hex(obj, "secret_key", g->secret_key, sizeof g->secret_key)) != VAULT_OK ||
        (rc = get_email(obj, g->email)) != VAULT_OK ||
        (rc = vault__json_u64(obj, "opslimit", "link grant", &g->opslimit)) != VAULT_OK ||
        (rc = vault__json_u64(obj, "memlimit", "link grant", &g->memlimit)) != VAULT_OK ||
        (rc = vault__json_u64(obj, "revision", "link grant", &g->revision)) != VAULT_OK ||
        (rc = get_hex(obj, "head", g->head, sizeof g->head)) != VAULT_OK)
        return rc;
    if ((rc = get_name(obj, g->device_name)) != VAULT_OK)
        return rc;
    return check_kdf(g->opslimit, g->memlimit);
}

int vault_devicelink__grant_decode(vault_devicelink_grant *g, const char *json, size_t json_len)
{
    cJSON *obj = NULL;
    int rc;
    if (g == NULL || json == NULL)
        return vault__fail(VAULT_E_INVALID, "link grant: NULL argument");
    sodium_memzero(g, sizeof *g);
    if ((rc = vault__json_parse(json, json_len, &obj)) != VAULT_OK)
        return rc;
    if (!cJSON_IsObject(obj))
        rc = vault__fail(VAULT_E_INVALID, "link grant: not a JSON object");
    else
        rc = decode_members(g, obj);
    cJSON_Delete(obj);
    if (rc != VAULT_OK)
        sodium_memzero(g, sizeof *g);
    return rc;
}
