/* Fuzzes the device-link parsers. The first byte picks:
 *   even: the rest is a scanned QR payload → vault_devicelink__payload_parse;
 *         the parse is strict and canonical, so what parses must format
 *         back to exactly the input;
 *   odd:  the rest is an envelope's content → vault_devicelink__grant_decode;
 *         what decodes must encode and decode to the same grant. */
#include <string.h>

#include "devicelink/devicelink.h"
#include "fuzz.h"

static void check_payload(const char *uri)
{
    vault_devicelink_payload p;
    char *again = NULL;
    int rc = vault_devicelink__payload_parse(&p, uri);
    FUZZ_CHECK_STATUS(rc);
    if (rc != VAULT_OK)
        return;
    FUZZ_CHECK(vault_devicelink__payload_format(&again, &p) == VAULT_OK);
    FUZZ_CHECK(again != NULL && strcmp(again, uri) == 0);
    vault_free(again);
}

static void check_grant(const char *json, size_t len)
{
    vault_devicelink_grant g, g2;
    char *again = NULL;
    memset(&g, 0, sizeof g);
    memset(&g2, 0, sizeof g2);
    int rc = vault_devicelink__grant_decode(&g, json, len);
    FUZZ_CHECK_STATUS(rc);
    if (rc != VAULT_OK)
        return;
    FUZZ_CHECK(vault_devicelink__grant_encode(&again, &g) == VAULT_OK);
    FUZZ_CHECK(vault_devicelink__grant_decode(&g2, again, strlen(again)) == VAULT_OK);
    FUZZ_CHECK(memcmp(&g, &g2, sizeof g) == 0);
    vault_free(again);
}

FUZZ_ENTRY(link_payload)
{
    vault_init();
    if (size < 1)
        return 0;
    char *text = malloc(size);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    if ((data[0] & 1) == 0)
        check_payload(text);
    else
        check_grant(text, size - 1);
    free(text);
    return 0;
}
