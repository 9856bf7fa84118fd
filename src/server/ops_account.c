/*
 * Account operations: prelogin, register, login, change_password,
 * delete_account. The server never sees a password; it keeps a keyed hash of
 * the client's auth key (the verifier) and checks it in constant time.
 */
#include <sodium.h>
#include <string.h>

#include "server/server.h"

#define WRONG_CREDENTIALS "wrong email or key"

static vault_store *store_of(const vault_server_call *call)
{
    return call->server->store;
}

int vault_server__op_prelogin(vault_server_call *call)
{
    vault_server *s = call->server;
    char email[VAULT_SERVER_EMAIL_MAX + 1];
    uint8_t email_hash[VAULT_SERVER_HASH_BYTES], fake_salt[VAULT_SALT_BYTES];
    vault_store_account acct;
    size_t email_len = 0;
    int status = vault_server__req_email(call, email, &email_len);
    if (status != VAULT_OK)
        return status;
    vault_server__email_hash(s, email, email_len, email_hash);
    /* Computed for known emails too, so both answers cost the same. */
    vault_server__fake_salt(s, email, email_len, fake_salt);
    sodium_memzero(email, sizeof email);
    status = store_of(call)->ops->get_account_by_email_hash(store_of(call), email_hash, &acct);
    if (status == VAULT_E_NOT_FOUND) {
        memcpy(acct.salt, fake_salt, sizeof acct.salt);
        acct.opslimit = VAULT_KDF_OPSLIMIT_DEFAULT;
        acct.memlimit = VAULT_KDF_MEMLIMIT_DEFAULT;
        status = VAULT_OK;
    }
    if (status == VAULT_OK &&
        (status = vault_server__reply_hex(call, "salt", acct.salt, sizeof acct.salt)) ==
            VAULT_OK &&
        (status = vault_server__reply_u64(call, "opslimit", acct.opslimit)) == VAULT_OK)
        status = vault_server__reply_u64(call, "memlimit", acct.memlimit);
    sodium_memzero(&acct, sizeof acct);
    return status;
}

/* Reads the register request into acct (all but email hash and verifier). */
static int read_register(vault_server_call *call, vault_store_account *acct,
                         uint8_t *auth_key, uint8_t *device_id, const char **device_name)
{
    int status;
    if ((status = vault_server__req_hex(call, "account_id", acct->id, sizeof acct->id)) ||
        (status = vault_server__req_hex(call, "auth_key", auth_key, VAULT_KEY_BYTES)) ||
        (status = vault_server__req_hex(call, "salt", acct->salt, sizeof acct->salt)) ||
        (status = vault_server__req_kdf(call, &acct->opslimit, &acct->memlimit)) ||
        (status = vault_server__req_hex(call, "protected_key", acct->protected_key,
                                        sizeof acct->protected_key)) ||
        (status = vault_server__req_hex(call, "device_id", device_id, VAULT_STORE_ID_BYTES)))
        return status;
    vault_server__mask_protected_key(call->server, acct->id, acct->protected_key);
    return vault_server__req_name(call, "device_name", VAULT_STORE_DEVICE_NAME_MAX,
                                  device_name);
}

int vault_server__op_register(vault_server_call *call)
{
    vault_server *s = call->server;
    vault_store_account acct;
    vault_store_new_session sess;
    char email[VAULT_SERVER_EMAIL_MAX + 1];
    uint8_t auth_key[VAULT_KEY_BYTES], token[VAULT_SERVER_TOKEN_BYTES];
    uint8_t device_id[VAULT_STORE_ID_BYTES];
    const char *device_name = NULL;
    uint8_t *blob = NULL;
    size_t email_len = 0, blob_len = 0;
    int status;
    memset(&acct, 0, sizeof acct);
    if ((status = vault_server__req_email(call, email, &email_len)) != VAULT_OK ||
        (status = read_register(call, &acct, auth_key, device_id, &device_name)) != VAULT_OK ||
        (status = vault_server__req_blob(call, "blob", &blob, &blob_len)) != VAULT_OK ||
        (status = vault_server__check_blob(blob, blob_len, acct.id, 1)) != VAULT_OK)
        goto done;
    vault_server__email_hash(s, email, email_len, acct.email_hash);
    vault_server__verifier(s, auth_key, acct.id, acct.verifier);
    acct.revision = 1;
    vault_server__new_session(call, device_id, device_name, token, &sess);
    status = store_of(call)->ops->create_account(store_of(call), &acct, blob, blob_len, &sess,
                                                 call->now_ms);
    if (status == VAULT_E_EXISTS)
        status = vault__fail(VAULT_E_EXISTS, "this email or account id is already registered");
    if (status == VAULT_OK)
        status = vault_server__reply_session(call, token, &sess);
done:
    sodium_memzero(auth_key, sizeof auth_key);
    sodium_memzero(token, sizeof token);
    sodium_memzero(email, sizeof email);
    sodium_memzero(&acct, sizeof acct);
    vault_free(blob);
    return status;
}

/* Constant-time check of auth_key against the account's verifier. A missing
 * account (acct == NULL) costs the same and fails the same way. */
static int verify_key(const vault_server *s, const vault_store_account *acct,
                      const uint8_t *auth_key)
{
    static const uint8_t no_id[VAULT_ACCOUNT_ID_BYTES];
    uint8_t expected[VAULT_SERVER_HASH_BYTES] = {0};
    uint8_t computed[VAULT_SERVER_HASH_BYTES];
    if (acct != NULL)
        memcpy(expected, acct->verifier, sizeof expected);
    vault_server__verifier(s, auth_key, acct != NULL ? acct->id : no_id, computed);
    int equal = sodium_memcmp(computed, expected, sizeof computed) == 0;
    sodium_memzero(computed, sizeof computed);
    sodium_memzero(expected, sizeof expected);
    if (acct == NULL || !equal)
        return vault__fail(VAULT_E_AUTH, WRONG_CREDENTIALS);
    return VAULT_OK;
}

/* Rate limit first (an early attempt is not even checked), then the key. */
static int check_credential(vault_server_call *call, const vault_store_account *acct,
                            const uint8_t *email_hash, const uint8_t *auth_key)
{
    vault_store *st = store_of(call);
    int status = st->ops->login_attempt_begin(st, email_hash, call->now_ms,
                                              (uint32_t)call->server->login_free,
                                              &call->retry_after_ms);
    if (status != VAULT_OK)
        return status;
    return verify_key(call->server, acct, auth_key);
}

static int login_reply(vault_server_call *call, const vault_store_account *acct,
                       const uint8_t *token, const vault_store_new_session *sess)
{
    uint8_t protected_key[VAULT_PROTECTED_KEY_BYTES];
    memcpy(protected_key, acct->protected_key, sizeof protected_key);
    vault_server__mask_protected_key(call->server, acct->id, protected_key);
    int status = vault_server__reply_hex(call, "protected_key", protected_key,
                                         sizeof protected_key);
    sodium_memzero(protected_key, sizeof protected_key);
    if (status ||
        (status = vault_server__reply_session(call, token, sess)) ||
        (status = vault_server__reply_hex(call, "account_id", acct->id, sizeof acct->id)) ||
        (status = vault_server__reply_hex(call, "salt", acct->salt, sizeof acct->salt)) ||
        (status = vault_server__reply_u64(call, "opslimit", acct->opslimit)) ||
        (status = vault_server__reply_u64(call, "memlimit", acct->memlimit)))
        return status;
    return vault_server__reply_u64(call, "revision", acct->revision);
}

int vault_server__op_login(vault_server_call *call)
{
    vault_server *s = call->server;
    vault_store *st = store_of(call);
    vault_store_account acct;
    vault_store_new_session sess;
    char email[VAULT_SERVER_EMAIL_MAX + 1];
    uint8_t email_hash[VAULT_SERVER_HASH_BYTES], auth_key[VAULT_KEY_BYTES];
    uint8_t token[VAULT_SERVER_TOKEN_BYTES], device_id[VAULT_STORE_ID_BYTES];
    const char *device_name = NULL;
    size_t email_len = 0;
    int status;
    memset(&acct, 0, sizeof acct);
    memset(token, 0, sizeof token);
    if ((status = vault_server__req_email(call, email, &email_len)) != VAULT_OK ||
        (status = vault_server__req_hex(call, "auth_key", auth_key, sizeof auth_key)) !=
            VAULT_OK)
        goto done;
    if ((status = vault_server__req_hex(call, "device_id", device_id, sizeof device_id)) ||
        (status = vault_server__req_name(call, "device_name", VAULT_STORE_DEVICE_NAME_MAX,
                                         &device_name)))
        goto done;
    vault_server__email_hash(s, email, email_len, email_hash);
    status = st->ops->get_account_by_email_hash(st, email_hash, &acct);
    if (status != VAULT_OK && status != VAULT_E_NOT_FOUND)
        goto done;
    status = check_credential(call, status == VAULT_OK ? &acct : NULL, email_hash, auth_key);
    if (status != VAULT_OK)
        goto done;
    vault_server__new_session(call, device_id, device_name, token, &sess);
    status = st->ops->login_succeeded(st, acct.id, email_hash, &sess, call->now_ms);
    if (status == VAULT_E_NOT_FOUND)
        status = vault__fail(VAULT_E_AUTH, WRONG_CREDENTIALS);
    if (status == VAULT_OK)
        status = login_reply(call, &acct, token, &sess);
done:
    sodium_memzero(auth_key, sizeof auth_key);
    sodium_memzero(token, sizeof token);
    sodium_memzero(email, sizeof email);
    sodium_memzero(&acct, sizeof acct);
    return status;
}

/* The logged-in account, for the operations that re-check the auth key. */
static int session_account(vault_server_call *call, vault_store_account *acct)
{
    vault_store *st = store_of(call);
    int status = st->ops->get_account(st, call->session.account_id, acct);
    if (status == VAULT_E_NOT_FOUND)
        return vault__fail(VAULT_E_AUTH, "unknown session");
    return status;
}

static int read_credentials(vault_server_call *call, uint8_t *new_auth_key,
                            vault_store_credentials *cred)
{
    int status;
    if ((status = vault_server__req_hex(call, "new_auth_key", new_auth_key, VAULT_KEY_BYTES)) ||
        (status = vault_server__req_hex(call, "salt", cred->salt, sizeof cred->salt)) ||
        (status = vault_server__req_kdf(call, &cred->opslimit, &cred->memlimit)))
        return status;
    status = vault_server__req_hex(call, "protected_key", cred->protected_key,
                                   sizeof cred->protected_key);
    if (status == VAULT_OK)
        vault_server__mask_protected_key(call->server, call->session.account_id,
                                         cred->protected_key);
    return status;
}

int vault_server__op_change_password(vault_server_call *call)
{
    vault_server *s = call->server;
    vault_store *st = store_of(call);
    vault_store_account acct;
    vault_store_credentials cred;
    vault_store_new_session sess;
    uint8_t old_key[VAULT_KEY_BYTES], new_key[VAULT_KEY_BYTES];
    uint8_t token[VAULT_SERVER_TOKEN_BYTES];
    int status;
    memset(&acct, 0, sizeof acct);
    memset(token, 0, sizeof token);
    if ((status = vault_server__req_hex(call, "old_auth_key", old_key, sizeof old_key)) ||
        (status = read_credentials(call, new_key, &cred)) ||
        (status = session_account(call, &acct)) ||
        (status = check_credential(call, &acct, acct.email_hash, old_key)))
        goto done;
    vault_server__verifier(s, new_key, acct.id, cred.verifier);
    vault_server__new_session(call, call->session.device_id, NULL, token, &sess);
    status = st->ops->update_credentials(st, acct.id, acct.email_hash, &cred, &sess,
                                         call->now_ms);
    if (status == VAULT_E_NOT_FOUND)
        status = vault__fail(VAULT_E_AUTH, "unknown session");
    if (status == VAULT_OK)
        status = vault_server__reply_session(call, token, &sess);
done:
    sodium_memzero(old_key, sizeof old_key);
    sodium_memzero(new_key, sizeof new_key);
    sodium_memzero(token, sizeof token);
    sodium_memzero(&cred, sizeof cred);
    sodium_memzero(&acct, sizeof acct);
    return status;
}

int vault_server__op_delete_account(vault_server_call *call)
{
    vault_store *st = store_of(call);
    vault_store_account acct;
    uint8_t auth_key[VAULT_KEY_BYTES];
    int status;
    memset(&acct, 0, sizeof acct);
    if ((status = vault_server__req_hex(call, "auth_key", auth_key, sizeof auth_key)) ||
        (status = session_account(call, &acct)) ||
        (status = check_credential(call, &acct, acct.email_hash, auth_key)))
        goto done;
    status = st->ops->delete_account(st, acct.id, acct.email_hash);
    if (status == VAULT_E_NOT_FOUND)
        status = vault__fail(VAULT_E_AUTH, "unknown session");
done:
    sodium_memzero(auth_key, sizeof auth_key);
    sodium_memzero(&acct, sizeof acct);
    return status;
}
