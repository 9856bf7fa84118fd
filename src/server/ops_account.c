/*
 * Account operations of protocol 2: register_start, register, login_start,
 * login_finish, change_password, delete_account. Login is OPAQUE-3DH (RFC
 * 9807): the server never sees the password nor anything derived from it
 * that would let it test a guess; it keeps the client's OPAQUE record, and
 * its own OPRF seed and AKE key come from the pepper (keys.c). An unknown
 * email is answered from a fake record, indistinguishable without the
 * password. The credential identifier is the email's keyed hash.
 */
#include <sodium.h>
#include <string.h>

#include "server/server.h"

static vault_store *store_of(const vault_server_call *call)
{
    return call->server->store;
}

/* The request's email and its keyed hash (the OPAQUE credential id). */
static int read_email_hash(vault_server_call *call, uint8_t email_hash[VAULT_SERVER_HASH_BYTES])
{
    char email[VAULT_SERVER_EMAIL_MAX + 1];
    size_t email_len = 0;
    int status = vault_server__req_email(call, email, &email_len);
    if (status == VAULT_OK)
        vault_server__email_hash(call->server, email, email_len, email_hash);
    sodium_memzero(email, sizeof email);
    return status;
}

int vault_server__op_register_start(vault_server_call *call)
{
    uint8_t email_hash[VAULT_SERVER_HASH_BYTES], request[VAULT_OPAQUE_REG_REQUEST_BYTES];
    uint8_t response[VAULT_OPAQUE_REG_RESPONSE_BYTES];
    int status;
    if ((status = read_email_hash(call, email_hash)) ||
        (status = vault_server__req_hex(call, "request", request, sizeof request)))
        return status;
    status = vault__opaque_reg_respond(response, request, &call->server->keys->opaque,
                                       email_hash, sizeof email_hash);
    if (status == VAULT_E_INVALID)
        return vault__fail(VAULT_E_INVALID, "register_start: \"request\" is not a group element");
    if (status == VAULT_OK)
        status = vault_server__reply_hex(call, "response", response, sizeof response);
    return status;
}

/* Reads the register request into acct (all but the email hash). */
static int read_register(vault_server_call *call, vault_store_account *acct,
                         uint8_t *device_id, const char **device_name)
{
    int status;
    if ((status = vault_server__req_hex(call, "account_id", acct->id, sizeof acct->id)) ||
        (status = vault_server__req_hex(call, "record", acct->record, sizeof acct->record)) ||
        (status = vault_server__req_kdf(call, &acct->opslimit, &acct->memlimit)) ||
        (status = vault_server__req_hex(call, "protected_key", acct->protected_key,
                                        sizeof acct->protected_key)) ||
        (status = vault_server__req_hex(call, "device_id", device_id, VAULT_STORE_ID_BYTES)))
        return status;
    if (vault__opaque_record_check(acct->record) != VAULT_OK)
        return vault__fail(VAULT_E_INVALID, "%s: \"record\" holds no valid public key", call->op);
    vault_server__mask_protected_key(call->server, acct->id, acct->protected_key);
    return vault_server__req_name(call, "device_name", VAULT_STORE_DEVICE_NAME_MAX,
                                  device_name);
}

int vault_server__op_register(vault_server_call *call)
{
    vault_store_account acct;
    vault_store_new_session sess;
    uint8_t token[VAULT_SERVER_TOKEN_BYTES] = {0}, device_id[VAULT_STORE_ID_BYTES];
    const char *device_name = NULL;
    uint8_t *blob = NULL;
    size_t blob_len = 0;
    int status;
    memset(&acct, 0, sizeof acct);
    if ((status = read_email_hash(call, acct.email_hash)) != VAULT_OK ||
        (status = read_register(call, &acct, device_id, &device_name)) != VAULT_OK ||
        (status = vault_server__req_blob(call, "blob", &blob, &blob_len)) != VAULT_OK ||
        (status = vault_server__check_blob(blob, blob_len, acct.id, 1)) != VAULT_OK)
        goto done;
    acct.revision = 1;
    vault_server__new_session(call, device_id, device_name, token, &sess);
    status = store_of(call)->ops->create_account(store_of(call), &acct, blob, blob_len, &sess,
                                                 call->now_ms);
    if (status == VAULT_E_EXISTS)
        status = vault__fail(VAULT_E_EXISTS, "this email or account id is already registered");
    if (status == VAULT_OK)
        status = vault_server__reply_session(call, token, &sess);
done:
    sodium_memzero(token, sizeof token);
    sodium_memzero(&acct, sizeof acct);
    vault_free(blob);
    return status;
}

/* KE2 for the account (or, for an unknown email or an account of protocol
 * 1, for a fake record), the account's costs (the defaults when unknown),
 * and the sealed state. The attempt counts as failed until login_finish
 * (or a step-up operation) proves the password. */
int vault_server__op_login_start(vault_server_call *call)
{
    vault_store *st = store_of(call);
    vault_store_account acct;
    vault_server_login_state ls;
    vault_opaque_cfg cfg;
    uint8_t ke1[VAULT_OPAQUE_KE1_BYTES], ke2[VAULT_OPAQUE_KE2_BYTES];
    int status;
    memset(&acct, 0, sizeof acct);
    memset(&ls, 0, sizeof ls);
    if ((status = read_email_hash(call, ls.email_hash)) ||
        (status = vault_server__req_hex(call, "ke1", ke1, sizeof ke1)))
        goto done;
    status = st->ops->login_attempt_begin(st, ls.email_hash, call->now_ms,
                                          (uint32_t)call->server->login_free,
                                          &call->retry_after_ms);
    if (status == VAULT_OK)
        status = st->ops->get_account_by_email_hash(st, ls.email_hash, &acct);
    if (status == VAULT_OK && vault__opaque_record_check(acct.record) == VAULT_OK) {
        ls.known = 1;
        memcpy(ls.account_id, acct.id, sizeof ls.account_id);
    } else if (status == VAULT_OK || status == VAULT_E_NOT_FOUND) {
        acct.opslimit = VAULT_KDF_OPSLIMIT_DEFAULT;
        acct.memlimit = VAULT_KDF_MEMLIMIT_DEFAULT;
        status = VAULT_OK;
        vault__clear_error();
    }
    if (status != VAULT_OK)
        goto done;
    vault_server__opaque_cfg(&cfg);
    status = vault__opaque_ke2(&ls.opaque, ke2, &call->server->keys->opaque,
                               ls.known ? acct.record : NULL, ls.email_hash,
                               sizeof ls.email_hash, ke1, &cfg, NULL, NULL, NULL);
    if (status == VAULT_E_INVALID)
        status = vault__fail(VAULT_E_INVALID, "login_start: \"ke1\" is not valid");
    if (status == VAULT_OK &&
        (status = vault_server__reply_hex(call, "ke2", ke2, sizeof ke2)) == VAULT_OK &&
        (status = vault_server__reply_u64(call, "opslimit", acct.opslimit)) == VAULT_OK &&
        (status = vault_server__reply_u64(call, "memlimit", acct.memlimit)) == VAULT_OK)
        status = vault_server__reply_login_state(call, &ls);
done:
    sodium_memzero(&ls, sizeof ls);
    sodium_memzero(&acct, sizeof acct);
    return status;
}

int vault_server__op_login_finish(vault_server_call *call)
{
    vault_store *st = store_of(call);
    vault_store_account acct;
    vault_server_login_state ls;
    vault_store_new_session sess;
    uint8_t session_key[VAULT_OPAQUE_NX], device_id[VAULT_STORE_ID_BYTES];
    const char *device_name = NULL;
    int status;
    memset(&acct, 0, sizeof acct);
    memset(&ls, 0, sizeof ls);
    memset(session_key, 0, sizeof session_key);
    if ((status = vault_server__req_hex(call, "device_id", device_id, sizeof device_id)) ||
        (status = vault_server__req_name(call, "device_name", VAULT_STORE_DEVICE_NAME_MAX,
                                         &device_name)) ||
        (status = vault_server__check_proof(call, &ls, session_key)))
        goto done;
    if ((status = st->ops->get_account(st, ls.account_id, &acct)) != VAULT_OK) {
        if (status == VAULT_E_NOT_FOUND)
            status = vault__fail(VAULT_E_AUTH, "wrong email or password");
        goto done;
    }
    vault_server__proof_session(call, device_id, device_name, session_key, &sess);
    status = st->ops->login_succeeded(st, acct.id, ls.email_hash, &sess, call->now_ms);
    if (status == VAULT_E_NOT_FOUND)
        status = vault__fail(VAULT_E_AUTH, "wrong email or password");
    if (status == VAULT_OK &&
        (status = vault_server__reply_u64(call, "expires_ms", (uint64_t)sess.expires_ms)) ==
            VAULT_OK &&
        (status = vault_server__reply_hex(call, "account_id", acct.id, sizeof acct.id)) ==
            VAULT_OK)
        status = vault_server__reply_account_keys(call, &acct);
done:
    sodium_memzero(session_key, sizeof session_key);
    sodium_memzero(&ls, sizeof ls);
    sodium_memzero(&acct, sizeof acct);
    return status;
}

static int read_credentials(vault_server_call *call, vault_store_credentials *cred)
{
    int status;
    if ((status = vault_server__req_hex(call, "record", cred->record, sizeof cred->record)) ||
        (status = vault_server__req_kdf(call, &cred->opslimit, &cred->memlimit)) ||
        (status = vault_server__req_hex(call, "protected_key", cred->protected_key,
                                        sizeof cred->protected_key)))
        return status;
    if (vault__opaque_record_check(cred->record) != VAULT_OK)
        return vault__fail(VAULT_E_INVALID, "%s: \"record\" holds no valid public key", call->op);
    vault_server__mask_protected_key(call->server, call->session.account_id,
                                     cred->protected_key);
    return VAULT_OK;
}

/* Re-registration: the new record replaces the old one after a fresh proof
 * of the old password; every session ends, and the caller's new session is
 * the one derived from that proof. */
int vault_server__op_change_password(vault_server_call *call)
{
    vault_store *st = store_of(call);
    vault_store_credentials cred;
    vault_server_login_state ls;
    vault_store_new_session sess;
    uint8_t session_key[VAULT_OPAQUE_NX];
    int status;
    memset(&ls, 0, sizeof ls);
    memset(session_key, 0, sizeof session_key);
    if ((status = read_credentials(call, &cred)) ||
        (status = vault_server__step_up(call, &ls, session_key)))
        goto done;
    vault_server__proof_session(call, call->session.device_id, NULL, session_key, &sess);
    status = vault_server__session_status(st->ops->update_credentials(
        st, call->session.account_id, ls.email_hash, &cred, &sess, call->now_ms));
    if (status == VAULT_OK)
        status = vault_server__reply_u64(call, "expires_ms", (uint64_t)sess.expires_ms);
done:
    sodium_memzero(session_key, sizeof session_key);
    sodium_memzero(&cred, sizeof cred);
    sodium_memzero(&ls, sizeof ls);
    return status;
}

int vault_server__op_delete_account(vault_server_call *call)
{
    vault_store *st = store_of(call);
    vault_server_login_state ls;
    uint8_t session_key[VAULT_OPAQUE_NX];
    memset(&ls, 0, sizeof ls);
    int status = vault_server__step_up(call, &ls, session_key);
    if (status == VAULT_OK)
        status = vault_server__session_status(
            st->ops->delete_account(st, call->session.account_id, ls.email_hash));
    sodium_memzero(session_key, sizeof session_key);
    sodium_memzero(&ls, sizeof ls);
    return status;
}
