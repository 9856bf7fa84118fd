/*
 * Small shared helpers: library start-up, hex, ids, clock, byte order and
 * strict JSON access.
 */
#include <cjson/cJSON.h>
#include <malloc.h>
#include <pthread.h>
#include <sodium.h>
#include <string.h>
#include <time.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/resource.h>
#endif

#include "common.h"

/* cJSON holds item titles, passwords and notes; its free hook wipes every
 * block before releasing it. malloc_usable_size() gives the block's size. */
static void json_wiping_free(void *ptr)
{
    if (ptr == NULL)
        return;
    sodium_memzero(ptr, malloc_usable_size(ptr));
    free(ptr);
}

static int init_status = VAULT_E_INTERNAL;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_library(void)
{
    if (sodium_init() < 0)
        return;
    cJSON_Hooks hooks = {vault__malloc, json_wiping_free};
    cJSON_InitHooks(&hooks);
    init_status = VAULT_OK;
}

int vault_init(void)
{
    pthread_once(&init_once, init_library);
    if (init_status != VAULT_OK)
        return vault__fail(VAULT_E_INTERNAL, "libsodium failed to initialise");
    return VAULT_OK;
}

const char *vault_version(void)
{
    return VAULT_VERSION_STRING;
}

void vault__bin2hex(char *hex, const uint8_t *bin, size_t len)
{
    sodium_bin2hex(hex, 2 * len + 1, bin, len);
}

int vault__hex2bin(uint8_t *bin, size_t bin_len, const char *hex)
{
    size_t got = 0;
    const char *end = NULL;
    if (hex == NULL || strlen(hex) != 2 * bin_len)
        return VAULT_E_INVALID;
    if (sodium_hex2bin(bin, bin_len, hex, 2 * bin_len, NULL, &got, &end) != 0 ||
        got != bin_len || *end != '\0')
        return VAULT_E_INVALID;
    return VAULT_OK;
}

void vault__random_id(char out[2 * VAULT_ACCOUNT_ID_BYTES + 1])
{
    uint8_t raw[VAULT_ACCOUNT_ID_BYTES];
    randombytes_buf(raw, sizeof raw);
    vault__bin2hex(out, raw, sizeof raw);
}

static _Atomic int64_t fixed_clock_ms;

void vault__set_clock_for_tests(int64_t fixed_ms)
{
    fixed_clock_ms = fixed_ms;
}

int64_t vault__now_ms(void)
{
    int64_t fixed = fixed_clock_ms;
    if (fixed != 0)
        return fixed;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void vault__store64_be(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

uint64_t vault__load64_be(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

void vault__store32_be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

uint32_t vault__load32_be(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int vault__json_string(const cJSON *obj, const char *key, const char *what,
                       const char **out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(item) || item->valuestring == NULL)
        return vault__fail(VAULT_E_INVALID, "%s: \"%s\" must be a string", what, key);
    *out = item->valuestring;
    return VAULT_OK;
}

int vault__json_u64(const cJSON *obj, const char *key, const char *what, uint64_t *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    /* JSON numbers are doubles: integers are exact only up to 2^53. */
    if (!cJSON_IsNumber(item) || item->valuedouble < 0 ||
        item->valuedouble > 9007199254740992.0 ||
        item->valuedouble != (double)(uint64_t)item->valuedouble)
        return vault__fail(VAULT_E_INVALID, "%s: \"%s\" must be a non-negative integer",
                           what, key);
    *out = (uint64_t)item->valuedouble;
    return VAULT_OK;
}

int vault__json_bool(const cJSON *obj, const char *key, const char *what, int *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsBool(item))
        return vault__fail(VAULT_E_INVALID, "%s: \"%s\" must be true or false", what, key);
    *out = cJSON_IsTrue(item);
    return VAULT_OK;
}

int vault__json_print(const cJSON *json, char **out)
{
    char *text = cJSON_PrintUnformatted(json);
    if (text == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory printing JSON");
    *out = vault__out_dup(text, strlen(text));
    cJSON_free(text); /* wipes, through the hook */
    if (*out == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory printing JSON");
    return VAULT_OK;
}

int vault__json_parse(const char *text, size_t len, cJSON **out)
{
    const char *end = NULL;
    *out = NULL;
    if (text == NULL)
        return vault__fail(VAULT_E_INVALID, "JSON text is NULL");
    uint64_t failures_before = vault__alloc_failures();
    cJSON *json = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (json == NULL) {
        /* cJSON fails the same way when out of memory: our allocator counts. */
        if (vault__alloc_failures() != failures_before)
            return vault__fail(VAULT_E_NOMEM, "out of memory parsing JSON");
        size_t at = (end != NULL && end >= text) ? (size_t)(end - text) : 0;
        return vault__fail(VAULT_E_INVALID, "malformed JSON near byte %zu", at);
    }
    /* Trailing bytes other than white space (or one NUL) are refused. */
    size_t used = (size_t)(end - text);
    while (used < len && (text[used] == ' ' || text[used] == '\n' ||
                          text[used] == '\r' || text[used] == '\t'))
        used++;
    if (used < len && !(used + 1 == len && text[used] == '\0')) {
        cJSON_Delete(json);
        return vault__fail(VAULT_E_INVALID, "trailing data after JSON at byte %zu", used);
    }
    *out = json;
    return VAULT_OK;
}

int vault__base64_encode(const uint8_t *bin, size_t len, char **out)
{
    const int variant = sodium_base64_VARIANT_ORIGINAL;
    size_t size = sodium_base64_encoded_len(len, variant);
    *out = vault__out_alloc(size);
    if (*out == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory encoding base64");
    sodium_bin2base64(*out, size, bin, len, variant);
    vault__out_shrink(*out, size - 1);
    return VAULT_OK;
}

int vault__base64_decode(const char *b64, size_t max_len, uint8_t **out, size_t *out_len)
{
    size_t b64_len = strlen(b64), bin_len = 0;
    const char *end = NULL;
    *out = NULL;
    if (b64_len / 4 * 3 > max_len + 2)
        return vault__fail(VAULT_E_LIMIT, "base64 data larger than %zu bytes", max_len);
    uint8_t *bin = vault__out_alloc(b64_len / 4 * 3 + 3);
    if (bin == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory decoding base64");
    if (sodium_base642bin(bin, b64_len / 4 * 3 + 3, b64, b64_len, NULL, &bin_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        end != b64 + b64_len) {
        vault_free(bin);
        return vault__fail(VAULT_E_INVALID, "malformed base64");
    }
    if (bin_len > max_len) {
        vault_free(bin);
        return vault__fail(VAULT_E_LIMIT, "base64 data larger than %zu bytes", max_len);
    }
    *out = vault__out_shrink(bin, bin_len);
    *out_len = bin_len;
    return VAULT_OK;
}

/* Both knobs, because each covers a gap of the other: RLIMIT_CORE 0 stops a
 * core file but not a piped core_pattern (systemd-coredump, apport), which the
 * kernel feeds regardless of the limit; a non-dumpable process gets neither. */
int vault_process_harden(void)
{
#ifdef __linux__
    struct rlimit none = {0, 0};
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return vault__fail(VAULT_E_IO, "prctl(PR_SET_DUMPABLE, 0) failed");
    if (setrlimit(RLIMIT_CORE, &none) != 0)
        return vault__fail(VAULT_E_IO, "setrlimit(RLIMIT_CORE, 0) failed");
    return VAULT_OK;
#else
    return vault__fail(VAULT_E_UNSUPPORTED, "vault_process_harden: Linux only");
#endif
}
