#include "proof.h"

#include <cjson/cJSON.h>
#include <sodium.h>
#include <string.h>

#include "common/common.h"
#include "opaque/opaque.h"

/* {"v":2,"op":op,"email":email, name:hex}, escaped by cJSON, answered. */
static cJSON *call_from(vault_server *s, const char *peer, const char *op, const char *email,
                        const char *name, const char *hex)
{
    char *answer = NULL;
    cJSON *req = cJSON_CreateObject();
    assert_non_null(req);
    cJSON_AddNumberToObject(req, "v", 2);
    cJSON_AddStringToObject(req, "op", op);
    cJSON_AddStringToObject(req, "email", email);
    cJSON_AddStringToObject(req, name, hex);
    char *text = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    assert_non_null(text);
    assert_int_equal(vault_server_handle_from(s, peer, NULL, text, strlen(text), &answer),
                     VAULT_OK);
    cJSON_free(text);
    cJSON *r = cJSON_Parse(answer);
    vault_free(answer);
    assert_non_null(r);
    return r;
}

static const char *member(const cJSON *o, const char *name)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(m) ? m->valuestring : NULL;
}

static void cfg_of(vault_opaque_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->context = (const uint8_t *)VAULT_OPAQUE_APP_CONTEXT;
    cfg->context_len = sizeof VAULT_OPAQUE_APP_CONTEXT - 1;
}

void test_opaque_record_for(vault_server *s, const char *email, const char *password,
                            char record_hex[2 * 192 + 1])
{
    vault_opaque_client st;
    vault_opaque_cfg cfg;
    uint8_t req[32], resp[64], record[192], export_key[64];
    char req_hex[65];
    cfg_of(&cfg);
    assert_int_equal(vault__opaque_reg_start(&st, req, (const uint8_t *)password,
                                             strlen(password), NULL),
                     VAULT_OK);
    vault__bin2hex(req_hex, req, sizeof req);
    cJSON *r = call_from(s, NULL, "register_start", email, "request", req_hex);
    const char *hex = member(r, "response");
    assert_non_null(hex);
    assert_int_equal(vault__hex2bin(resp, sizeof resp, hex), VAULT_OK);
    cJSON_Delete(r);
    assert_int_equal(vault__opaque_reg_finish(record, export_key, &st, (const uint8_t *)password,
                                              strlen(password), resp, &cfg, NULL),
                     VAULT_OK);
    vault__bin2hex(record_hex, record, sizeof record);
}

static int error_status(const cJSON *r)
{
    static const struct {
        const char *code;
        int status;
    } map[] = {{"auth", VAULT_E_AUTH},       {"rate_limited", VAULT_E_RATE_LIMITED},
               {"invalid", VAULT_E_INVALID}, {"expired", VAULT_E_EXPIRED},
               {"limit", VAULT_E_LIMIT},     {"version", VAULT_E_VERSION}};
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(r, "error");
    const char *code = member(err, "code");
    for (size_t i = 0; code != NULL && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(code, map[i].code) == 0)
            return map[i].status;
    return VAULT_E_SERVER;
}

int test_opaque_prove(vault_server *s, const char *email, const char *password, test_proof *out)
{
    cJSON *error = NULL;
    int rc = test_opaque_prove_ex(s, email, password, out, &error);
    cJSON_Delete(error);
    return rc;
}

int test_opaque_prove_ex(vault_server *s, const char *email, const char *password,
                         test_proof *out, cJSON **error)
{
    return test_opaque_prove_from(s, NULL, email, password, out, error);
}

int test_opaque_prove_from(vault_server *s, const char *peer, const char *email,
                           const char *password, test_proof *out, cJSON **error)
{
    vault_opaque_client st;
    vault_opaque_cfg cfg;
    uint8_t ke1[96], ke2[320], ke3[64], session_key[64], export_key[64], token[32];
    char ke1_hex[193];
    cfg_of(&cfg);
    memset(out, 0, sizeof *out);
    assert_int_equal(vault__opaque_ke1(&st, ke1, (const uint8_t *)password, strlen(password),
                                       NULL, NULL, NULL),
                     VAULT_OK);
    vault__bin2hex(ke1_hex, ke1, sizeof ke1);
    cJSON *r = call_from(s, peer, "login_start", email, "ke1", ke1_hex);
    *error = NULL;
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok"))) {
        int status = error_status(r);
        *error = r;
        return status;
    }
    const char *ke2_hex = member(r, "ke2"), *state = member(r, "login_state");
    assert_non_null(ke2_hex);
    assert_non_null(state);
    assert_true(strlen(state) < sizeof out->state);
    strcpy(out->state, state);
    assert_int_equal(vault__hex2bin(ke2, sizeof ke2, ke2_hex), VAULT_OK);
    cJSON_Delete(r);
    int rc = vault__opaque_ke3(ke3, session_key, export_key, &st, (const uint8_t *)password,
                               strlen(password), ke2, &cfg);
    if (rc != VAULT_OK) {
        randombytes_buf(ke3, sizeof ke3);
        vault__bin2hex(out->ke3, ke3, sizeof ke3);
        return rc;
    }
    vault__bin2hex(out->ke3, ke3, sizeof ke3);
    vault__opaque_session_token(token, session_key);
    vault__bin2hex(out->session, token, sizeof token);
    return VAULT_OK;
}
