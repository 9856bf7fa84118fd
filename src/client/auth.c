/*
 * The client's side of the account protocol (version 2, docs/protocol.md):
 * OPAQUE-3DH with Argon2id as its key-stretching function, and the Secret
 * Key mixed in twice.
 *
 *   password_key = HMAC-SHA512(key = Secret Key, "zkvault-v2 password" || password)
 *     is OPAQUE's password input: a thief of the server (database, pepper,
 *     OPRF seed, AKE key) cannot test a guess without the 128-bit Secret Key.
 *   KEK = HKDF-SHA512(salt = Secret Key, ikm = OPAQUE export key,
 *         info = "zkvault-v2 vault key wrap" || opslimit || memlimit)
 *     wraps the vault key stored on the server. The Argon2id costs are in
 *     the info, so costs changed by the server give a KEK that opens
 *     nothing: they are authenticated under a key the server never has.
 *
 * The server chooses nothing the client derives with: the Argon2id salt is
 * fixed (the OPRF output it stretches is already per account and secret),
 * the costs are vetted (floor, ceiling, never weaker than seen) and then
 * authenticated as above, and a wrong answer only makes the login fail.
 */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <string.h>

#include "client/client.h"
#include "kdf/kdf.h"
#include "opaque/opaque.h"

static const char PASSWORD_LABEL[] = "zkvault-v2 password";
static const char WRAP_LABEL[] = "zkvault-v2 vault key wrap";

int vault_client__password_key(vault_client *c, vault_client__keys *k, const char *password)
{
    crypto_auth_hmacsha512_state st;
    if (!c->has_secret_key)
        return vault__fail(VAULT_E_STATE, "a password login on a new device needs the account's "
                                          "Secret Key (from its Emergency Kit)");
    crypto_auth_hmacsha512_init(&st, c->secret_key, sizeof c->secret_key);
    crypto_auth_hmacsha512_update(&st, (const uint8_t *)PASSWORD_LABEL, sizeof PASSWORD_LABEL);
    crypto_auth_hmacsha512_update(&st, (const uint8_t *)password, strlen(password));
    crypto_auth_hmacsha512_final(&st, k->password_key);
    sodium_memzero(&st, sizeof st);
    k->has_password_keys = 1;
    return VAULT_OK;
}

int vault_client__local_key(vault_client *c, vault_client__keys *k)
{
    if (!k->has_password_keys)
        return vault__fail(VAULT_E_STATE, "unlock with the password first");
    int rc = vault_kdf_derive(NULL, k->enc_key, (const char *)k->password_key,
                              sizeof k->password_key, c->salt, c->opslimit, c->memlimit);
    k->has_enc_key = rc == VAULT_OK;
    return rc;
}

static void derive_kek(uint8_t kek[VAULT_KEY_BYTES], const vault_client *c,
                       const uint8_t export_key[VAULT_OPAQUE_NH], uint64_t ops, uint64_t mem)
{
    uint8_t prk[VAULT_OPAQUE_NX], info[sizeof WRAP_LABEL + 16];
    memcpy(info, WRAP_LABEL, sizeof WRAP_LABEL);
    vault__store64_be(info + sizeof WRAP_LABEL, ops);
    vault__store64_be(info + sizeof WRAP_LABEL + 8, mem);
    vault__hkdf_extract(prk, c->secret_key, sizeof c->secret_key, export_key, VAULT_OPAQUE_NH);
    vault__hkdf_expand(kek, VAULT_KEY_BYTES, prk, info, sizeof info);
    sodium_memzero(prk, sizeof prk);
}

static void opaque_cfg(vault_opaque_cfg *cfg, vault_opaque_argon2 *costs)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->context = (const uint8_t *)VAULT_OPAQUE_APP_CONTEXT;
    cfg->context_len = sizeof VAULT_OPAQUE_APP_CONTEXT - 1;
    cfg->ksf = vault__opaque_ksf_argon2id;
    cfg->ksf_ctx = costs;
}

static int add_email(const vault_client *c, cJSON *req, const char *email)
{
    if (email == NULL)
        email = c->email;
    if (email[0] == '\0')
        return vault__fail(VAULT_E_STATE, "this store does not know the account's email");
    if (cJSON_AddStringToObject(req, "email", email) == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory building a request");
    return VAULT_OK;
}

/* The costs the server announces: within the floor and the ceiling, and
 * never weaker than this device already accepted for its account. */
static int vet_costs(const vault_client *c, const cJSON *resp, uint64_t *ops, uint64_t *mem)
{
    if (vault__json_u64(resp, "opslimit", "server answer", ops) != VAULT_OK ||
        vault__json_u64(resp, "memlimit", "server answer", mem) != VAULT_OK)
        return vault__fail(VAULT_E_SERVER, "server answer: bad KDF parameters");
    int rc = vault_kdf_check_params(*ops, *mem);
    if (rc == VAULT_E_WEAK_KDF)
        return vault__fail(rc, "server offered KDF parameters below the floor");
    if (rc != VAULT_OK)
        return vault__fail(VAULT_E_SERVER, "server offered out-of-range KDF parameters");
    if (c->has_account && vault_kdf__is_weaker(*ops, *mem, c->opslimit, c->memlimit))
        return vault__fail(VAULT_E_WEAK_KDF,
                           "server offered weaker KDF parameters than this device accepted");
    return VAULT_OK;
}

/* login_start: KE1 out, KE2 and the sealed server state back. */
static int login_start(vault_client *c, const char *email,
                       const uint8_t ke1[VAULT_OPAQUE_KE1_BYTES], cJSON **resp)
{
    cJSON *req = NULL;
    int rc = vault_client__request_new(&req, "login_start");
    if (rc == VAULT_OK)
        rc = add_email(c, req, email);
    if (rc == VAULT_OK)
        rc = vault_client__add_hex(req, "ke1", ke1, VAULT_OPAQUE_KE1_BYTES);
    if (rc == VAULT_OK)
        rc = vault_client__call(c, req, resp);
    cJSON_Delete(req);
    return rc;
}

int vault_client__prove(vault_client *c, const char *email,
                        const uint8_t password_key[VAULT_PASSWORD_KEY_BYTES], cJSON *req,
                        vault_client__proof *out)
{
    vault_opaque_client st;
    vault_opaque_cfg cfg;
    vault_opaque_argon2 costs = {0, 0};
    uint8_t ke1[VAULT_OPAQUE_KE1_BYTES], ke2[VAULT_OPAQUE_KE2_BYTES], ke3[VAULT_OPAQUE_KE3_BYTES];
    uint8_t export_key[VAULT_OPAQUE_NH];
    const char *state = NULL;
    cJSON *resp = NULL;
    int rc = vault__opaque_ke1(&st, ke1, password_key, VAULT_PASSWORD_KEY_BYTES, NULL, NULL, NULL);
    if (rc == VAULT_OK)
        rc = login_start(c, email, ke1, &resp);
    if (rc == VAULT_OK)
        rc = vault_client__response_hex(resp, "ke2", ke2, sizeof ke2);
    if (rc == VAULT_OK)
        rc = vet_costs(c, resp, &costs.opslimit, &costs.memlimit);
    if (rc == VAULT_OK && (vault__json_string(resp, "login_state", "server answer", &state) !=
                               VAULT_OK ||
                           strlen(state) > 1024))
        rc = vault__fail(VAULT_E_SERVER, "server answer: bad \"login_state\"");
    if (rc != VAULT_OK)
        goto done;
    opaque_cfg(&cfg, &costs);
    rc = vault__opaque_ke3(ke3, out->session_key, export_key, &st, password_key,
                           VAULT_PASSWORD_KEY_BYTES, ke2, &cfg);
    if (rc == VAULT_E_AUTH)
        rc = vault__fail(VAULT_E_AUTH, "wrong password or Secret Key, or unknown account");
    if (rc != VAULT_OK)
        goto done;
    derive_kek(out->kek, c, export_key, costs.opslimit, costs.memlimit);
    out->opslimit = costs.opslimit;
    out->memlimit = costs.memlimit;
    rc = vault_client__add_hex(req, "ke3", ke3, sizeof ke3);
    if (rc == VAULT_OK && cJSON_AddStringToObject(req, "login_state", state) == NULL)
        rc = vault__fail(VAULT_E_NOMEM, "out of memory building a request");
done:
    sodium_memzero(&st, sizeof st);
    sodium_memzero(export_key, sizeof export_key);
    sodium_memzero(ke3, sizeof ke3);
    cJSON_Delete(resp);
    if (rc != VAULT_OK)
        sodium_memzero(out, sizeof *out);
    return rc;
}

int vault_client__opaque_register(vault_client *c, const char *email,
                                  const uint8_t password_key[VAULT_PASSWORD_KEY_BYTES],
                                  uint64_t opslimit, uint64_t memlimit, uint8_t *record,
                                  uint8_t kek[VAULT_KEY_BYTES])
{
    vault_opaque_client st;
    vault_opaque_cfg cfg;
    vault_opaque_argon2 costs = {opslimit, memlimit};
    uint8_t request[VAULT_OPAQUE_REG_REQUEST_BYTES], response[VAULT_OPAQUE_REG_RESPONSE_BYTES];
    uint8_t export_key[VAULT_OPAQUE_NH];
    cJSON *req = NULL, *resp = NULL;
    int rc = vault__opaque_reg_start(&st, request, password_key, VAULT_PASSWORD_KEY_BYTES, NULL);
    if (rc == VAULT_OK)
        rc = vault_client__request_new(&req, "register_start");
    if (rc == VAULT_OK)
        rc = add_email(c, req, email);
    if (rc == VAULT_OK)
        rc = vault_client__add_hex(req, "request", request, sizeof request);
    if (rc == VAULT_OK)
        rc = vault_client__call(c, req, &resp);
    if (rc == VAULT_OK)
        rc = vault_client__response_hex(resp, "response", response, sizeof response);
    if (rc != VAULT_OK)
        goto done;
    opaque_cfg(&cfg, &costs);
    rc = vault__opaque_reg_finish(record, export_key, &st, password_key,
                                  VAULT_PASSWORD_KEY_BYTES, response, &cfg, NULL);
    if (rc == VAULT_E_INVALID)
        rc = vault__fail(VAULT_E_SERVER, "server answer: invalid registration response");
    if (rc == VAULT_OK)
        derive_kek(kek, c, export_key, opslimit, memlimit);
done:
    sodium_memzero(&st, sizeof st);
    sodium_memzero(export_key, sizeof export_key);
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return rc;
}

void vault_client__take_proof_session(vault_client *c, const vault_client__proof *p)
{
    uint8_t token[32];
    vault__opaque_session_token(token, p->session_key);
    vault__bin2hex(c->session, token, sizeof token);
    sodium_memzero(token, sizeof token);
}
