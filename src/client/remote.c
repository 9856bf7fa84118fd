/*
 * Talking to the server: transports, the request/response helper, and the
 * account calls register, login and logout. The server is untrusted: every
 * answer is parsed strictly, and nothing it says about keys or parameters is
 * accepted unless it checks out cryptographically or against what this
 * device already knows (KDF downgrade protection).
 */
#include <cjson/cJSON.h>
#include <sodium.h>
#include <string.h>

#include "blob/blob.h"
#include "client/client.h"
#include "kdf/kdf.h"
#include "opaque/opaque.h"
#include "transport/transport.h"


static void disconnect(vault_client *c)
{
    vault_transport__http_free(c->http);
    c->http = NULL;
    c->transport = NULL;
    c->transport_ctx = NULL;
    sodium_memzero(c->session, sizeof c->session);
}

int vault_client_connect_custom(vault_client *c, vault_transport_fn fn, void *ctx)
{
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    disconnect(c);
    c->transport = fn;
    c->transport_ctx = ctx;
    return VAULT_OK;
}

int vault_client_connect_http(vault_client *c, const char *base_url, uint32_t flags)
{
    return vault_client_connect_http_ca(c, base_url, flags, NULL);
}

int vault_client_connect_http_ca(vault_client *c, const char *base_url, uint32_t flags,
                                 const char *ca_file)
{
    vault_transport__http *t = NULL;
    if (c == NULL || base_url == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_client_connect_http: NULL argument");
    int rc = vault_transport__http_new_ca(&t, base_url, flags, ca_file);
    if (rc != VAULT_OK)
        return vault_client__done(c, rc);
    vault_client_connect_custom(c, vault_transport__http_call, t);
    c->http = t;
    return VAULT_OK;
}

static int map_server_error(const char *code)
{
    static const struct {
        const char *name;
        int code;
    } map[] = {
        {"invalid", VAULT_E_SERVER},   {"version", VAULT_E_VERSION},
        {"limit", VAULT_E_LIMIT},      {"auth", VAULT_E_AUTH},
        {"expired", VAULT_E_EXPIRED},  {"rate_limited", VAULT_E_RATE_LIMITED},
        {"exists", VAULT_E_EXISTS},    {"not_found", VAULT_E_NOT_FOUND},
        {"conflict", VAULT_E_CONFLICT}, {"revoked", VAULT_E_REVOKED},
        {"state", VAULT_E_STATE},      {"internal", VAULT_E_SERVER},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(code, map[i].name) == 0)
            return map[i].code;
    return VAULT_E_SERVER;
}

/* Turns {"ok":false,"error":{...}} into a status with a message that quotes
 * the server, truncated and restricted to printable ASCII (it is untrusted
 * text that may reach a UI). */
static int server_error(const cJSON *response)
{
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(response, "error");
    const char *code = NULL, *message = NULL;
    if (vault__json_string(err, "code", "server error", &code) != VAULT_OK)
        return vault__fail(VAULT_E_SERVER, "malformed error answer from the server");
    if (vault__json_string(err, "message", "server error", &message) != VAULT_OK)
        message = "";
    char clean[128];
    size_t n = 0;
    for (; message[n] != '\0' && n < sizeof clean - 1; n++)
        clean[n] = (message[n] >= 0x20 && message[n] < 0x7f) ? message[n] : '?';
    clean[n] = '\0';
    int rc = map_server_error(code);
    const cJSON *retry = cJSON_GetObjectItemCaseSensitive(err, "retry_after_ms");
    if (rc == VAULT_E_RATE_LIMITED && cJSON_IsNumber(retry))
        return vault__fail(rc, "server: %s (retry after %.0f ms)", clean, retry->valuedouble);
    return vault__fail(rc, "server: %s", clean);
}

int vault_client__call(vault_client *c, cJSON *request, cJSON **response)
{
    char *text = NULL, *answer = NULL;
    size_t answer_len = 0;
    cJSON *parsed = NULL;
    *response = NULL;
    if (c->transport == NULL)
        return vault__fail(VAULT_E_STATE, "not connected to a server");
    if (cJSON_AddNumberToObject(request, "v", 2) == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory building a request");
    int rc = vault__json_print(request, &text);
    if (rc != VAULT_OK)
        return rc;
    rc = c->transport(text, strlen(text), &answer, &answer_len, c->transport_ctx);
    if (rc != VAULT_OK && rc != VAULT_E_NOMEM && rc != VAULT_E_INSECURE)
        rc = vault__fail(VAULT_E_NETWORK, "transport failed: %s", vault_last_error());
    if (rc == VAULT_OK && answer == NULL)
        rc = vault__fail(VAULT_E_SERVER, "empty answer from the server");
    if (rc == VAULT_OK && answer_len > VAULT_TRANSPORT__MAX_RESPONSE)
        rc = vault__fail(VAULT_E_SERVER, "server answer too large");
    if (rc == VAULT_OK && vault__json_parse(answer, answer_len, &parsed) != VAULT_OK)
        rc = vault__fail(VAULT_E_SERVER, "malformed answer from the server: %s",
                         vault_last_error());
    if (rc == VAULT_OK) {
        const cJSON *ok = cJSON_GetObjectItemCaseSensitive(parsed, "ok");
        if (!cJSON_IsObject(parsed) || !cJSON_IsBool(ok))
            rc = vault__fail(VAULT_E_SERVER, "malformed answer from the server");
        else if (!cJSON_IsTrue(ok))
            rc = server_error(parsed);
    }
    if (rc == VAULT_OK) {
        *response = parsed;
        parsed = NULL;
    }
    cJSON_Delete(parsed);
    vault_free(text); /* wipes: requests may carry auth keys */
    vault_free(answer);
    return rc;
}

int vault_client__add_session(vault_client *c, cJSON *request)
{
    if (c->session[0] == '\0')
        return vault__fail(VAULT_E_STATE, "not logged in");
    if (cJSON_AddStringToObject(request, "session", c->session) == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory building a request");
    return VAULT_OK;
}

/* Reads a hex member of exactly len bytes into out. */
int vault_client__response_hex(const cJSON *resp, const char *key, uint8_t *out, size_t len)
{
    const char *hex = NULL;
    if (vault__json_string(resp, key, "server answer", &hex) != VAULT_OK ||
        vault__hex2bin(out, len, hex) != VAULT_OK)
        return vault__fail(VAULT_E_SERVER, "server answer: bad \"%s\"", key);
    return VAULT_OK;
}

static int take_session(vault_client *c, const cJSON *resp)
{
    uint8_t token[32];
    int rc = vault_client__response_hex(resp, "session", token, sizeof token);
    if (rc == VAULT_OK)
        vault__bin2hex(c->session, token, sizeof token);
    sodium_memzero(token, sizeof token);
    return rc;
}

static int add_hex(cJSON *obj, const char *key, const uint8_t *bin, size_t len)
{
    char hex[2 * 512 + 1]; /* the largest member sent is an OPAQUE record (192 bytes) */
    if (len > 512)
        return vault__fail(VAULT_E_INTERNAL, "request member \"%s\" too long", key);
    vault__bin2hex(hex, bin, len);
    cJSON *item = cJSON_AddStringToObject(obj, key, hex);
    sodium_memzero(hex, 2 * len + 1);
    return item != NULL ? VAULT_OK : vault__fail(VAULT_E_NOMEM, "out of memory building a request");
}

static int add_blob(cJSON *obj, const char *key, const uint8_t *blob, size_t len)
{
    char *b64 = NULL;
    int rc = vault__base64_encode(blob, len, &b64);
    if (rc == VAULT_OK && cJSON_AddStringToObject(obj, key, b64) == NULL)
        rc = vault__fail(VAULT_E_NOMEM, "out of memory building a request");
    vault_free(b64);
    return rc;
}

int vault_client__request_new(cJSON **out, const char *op)
{
    *out = cJSON_CreateObject();
    if (*out == NULL || cJSON_AddStringToObject(*out, "op", op) == NULL) {
        cJSON_Delete(*out);
        *out = NULL;
        return vault__fail(VAULT_E_NOMEM, "out of memory building a request");
    }
    return VAULT_OK;
}

int vault_client__add_hex(cJSON *obj, const char *key, const uint8_t *bin, size_t len)
{
    return add_hex(obj, key, bin, len);
}

int vault_client__add_blob(cJSON *obj, const char *key, const uint8_t *blob, size_t len)
{
    return add_blob(obj, key, blob, len);
}

static int check_email_arg(const char *email)
{
    if (email == NULL || strlen(email) < 3 || strlen(email) > 254 || strchr(email, '@') == NULL)
        return vault__fail(VAULT_E_INVALID, "email must be 3..254 bytes with an '@'");
    return VAULT_OK;
}

/* Stores, in one transaction, the account state, the vault key wrapped
 * under the local KEK (when the caller has it) and the server's copy as last
 * seen (a later login compares it to notice a password change or a key
 * rotation made elsewhere). */
int vault_client__store_keys(vault_client *c, const uint8_t *local_protected,
                             const uint8_t *server_protected)
{
    int rc = vault_client__store_begin(c);
    if (rc == VAULT_OK)
        rc = vault_client__put_state(c);
    if (rc == VAULT_OK && local_protected != NULL)
        rc = vault_client__store_put(c, "protected_key", local_protected,
                                     VAULT_PROTECTED_KEY_BYTES);
    if (rc == VAULT_OK && server_protected != NULL)
        rc = vault_client__store_put(c, "server_protected_key", server_protected,
                                     VAULT_PROTECTED_KEY_BYTES);
    if (rc == VAULT_OK)
        rc = vault_client__store_commit(c);
    else
        vault_client__store_rollback(c);
    return rc;
}

static int register_request(vault_client *c, const char *email, const uint8_t *record,
                            const uint8_t *server_protected, const uint8_t *blob,
                            size_t blob_len, cJSON **resp)
{
    cJSON *req = NULL;
    int rc = vault_client__request_new(&req, "register");
    if (rc != VAULT_OK)
        return rc;
    if (cJSON_AddStringToObject(req, "email", email) == NULL ||
        cJSON_AddStringToObject(req, "account_id", c->account_id) == NULL ||
        cJSON_AddNumberToObject(req, "opslimit", (double)c->opslimit) == NULL ||
        cJSON_AddNumberToObject(req, "memlimit", (double)c->memlimit) == NULL ||
        cJSON_AddStringToObject(req, "device_id", c->device_id) == NULL ||
        cJSON_AddStringToObject(req, "device_name", "primary") == NULL)
        rc = vault__fail(VAULT_E_NOMEM, "out of memory building a request");
    if (rc == VAULT_OK)
        rc = add_hex(req, "record", record, VAULT_OPAQUE_RECORD_BYTES);
    if (rc == VAULT_OK)
        rc = add_hex(req, "protected_key", server_protected, VAULT_PROTECTED_KEY_BYTES);
    if (rc == VAULT_OK)
        rc = add_blob(req, "blob", blob, blob_len);
    if (rc == VAULT_OK)
        rc = vault_client__call(c, req, resp);
    cJSON_Delete(req);
    return rc;
}

int vault_client_register(vault_client *c, const char *email)
{
    cJSON *resp = NULL;
    uint8_t *blob = NULL;
    uint8_t record[VAULT_OPAQUE_RECORD_BYTES], kek[VAULT_KEY_BYTES];
    uint8_t server_protected[VAULT_PROTECTED_KEY_BYTES];
    size_t blob_len = 0;
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    int rc = check_email_arg(email);
    if (rc == VAULT_OK && (c->keys == NULL || !c->keys->has_password_keys))
        rc = vault__fail(VAULT_E_STATE, "unlock with the password before registering");
    if (rc == VAULT_OK && c->base_revision != 0)
        rc = vault__fail(VAULT_E_EXISTS, "this vault is already registered");
    if (rc == VAULT_OK)
        rc = vault_client__opaque_register(c, email, c->keys->password_key, c->opslimit,
                                           c->memlimit, record, kek);
    if (rc == VAULT_OK)
        rc = vault_blob__wrap_key(server_protected, kek, c->keys->vault_key);
    if (rc == VAULT_OK)
        rc = vault_seal(c->v, c->keys->vault_key, c->account_id, 1, &blob, &blob_len);
    if (rc == VAULT_OK)
        rc = register_request(c, email, record, server_protected, blob, blob_len, &resp);
    if (rc == VAULT_OK)
        rc = take_session(c, resp);
    if (rc != VAULT_OK)
        goto done;

    /* Revision 1 is now the synced base; the local blob moves to revision 2. */
    c->base_revision = c->highest_revision = 1;
    memcpy(c->email, email, strlen(email) + 1);
    rc = vault_client__store_begin(c);
    if (rc == VAULT_OK)
        rc = vault_client__put_state(c);
    if (rc == VAULT_OK)
        rc = vault_client__store_put(c, "server_protected_key", server_protected,
                                     sizeof server_protected);
    if (rc == VAULT_OK)
        rc = vault_client__stage_point(c, "base_blob", blob, blob_len);
    if (rc == VAULT_OK)
        rc = vault_client__put_local_blob(c);
    if (rc == VAULT_OK)
        rc = vault_client__store_commit(c);
    if (rc != VAULT_OK) {
        vault_client__store_rollback(c);
        c->base_revision = c->highest_revision = 0;
        c->email[0] = '\0';
    }
done:
    sodium_memzero(kek, sizeof kek);
    cJSON_Delete(resp);
    vault_free(blob);
    return vault_client__done(c, rc);
}

/* login_start + login_finish; *resp is login_finish's answer and the
 * session (derived from the key exchange) is adopted. */
static int login_exchange(vault_client *c, const char *email, const vault_client__keys *k,
                          vault_client__proof *proof, cJSON **resp)
{
    cJSON *req = NULL;
    int rc = vault_client__request_new(&req, "login_finish");
    if (rc == VAULT_OK && (cJSON_AddStringToObject(req, "device_id", c->device_id) == NULL ||
                           cJSON_AddStringToObject(req, "device_name", "device") == NULL))
        rc = vault__fail(VAULT_E_NOMEM, "out of memory building a request");
    if (rc == VAULT_OK)
        rc = vault_client__prove(c, email, k->password_key, req, proof);
    if (rc == VAULT_OK)
        rc = vault_client__call(c, req, resp);
    if (rc == VAULT_OK)
        vault_client__take_proof_session(c, proof);
    cJSON_Delete(req);
    return rc;
}

/* The server's answer must name this store's account (if it has one) and
 * its protected key must open under the KEK of the key exchange: a key
 * swapped by the server, or costs changed by it, fail here. */
static int check_login_answer(vault_client *c, const cJSON *resp, const vault_client__proof *p,
                              vault_client__keys *k,
                              uint8_t server_protected[VAULT_PROTECTED_KEY_BYTES])
{
    const char *account_id = NULL;
    int rc = vault_client__response_hex(resp, "protected_key", server_protected,
                                        VAULT_PROTECTED_KEY_BYTES);
    if (rc == VAULT_OK && (vault__json_string(resp, "account_id", "server answer", &account_id) !=
                               VAULT_OK ||
                           strlen(account_id) != 2 * VAULT_ACCOUNT_ID_BYTES))
        rc = vault__fail(VAULT_E_SERVER, "server answer: bad account id");
    if (rc == VAULT_OK && c->has_account && strcmp(account_id, c->account_id) != 0)
        rc = vault__fail(VAULT_E_MISMATCH, "the server answered for another account");
    if (rc == VAULT_OK &&
        vault_blob__unwrap_key(k->vault_key, p->kek, server_protected, VAULT_PROTECTED_KEY_BYTES) !=
            VAULT_OK)
        rc = vault__fail(VAULT_E_AUTH, "the server's protected vault key does not open");
    if (rc == VAULT_OK && !c->has_account) {
        memcpy(c->account_id, account_id, sizeof c->account_id);
        c->base_revision = c->highest_revision = 0;
    }
    return rc;
}

/* Whether the server's protected key is the one this device saw last and
 * the device has its local password-wrapped key: then the local KEK and the
 * local blob are still current and the login costs a single Argon2id. */
static int server_key_unchanged(vault_client *c, const uint8_t *server_protected)
{
    uint8_t *seen = NULL, *local = NULL;
    size_t len = 0, local_len = 0;
    int same = vault_client__store_get(c, "server_protected_key", &seen, &len) == VAULT_OK &&
               len == VAULT_PROTECTED_KEY_BYTES &&
               sodium_memcmp(seen, server_protected, len) == 0 &&
               vault_client__store_get(c, "protected_key", &local, &local_len) == VAULT_OK;
    vault_free(seen);
    vault_free(local);
    vault__clear_error();
    return same;
}

/* The vault key the local blobs are sealed under, in case the server's
 * differs (a rotation elsewhere): the local copy opens under this password's
 * local key, or the client is unlocked already (its password changed
 * elsewhere). 0 if neither. */
static int local_key_for(vault_client *c, const vault_client__keys *k, uint8_t *old_vk)
{
    if (vault_client__local_vault_key(c, k, old_vk) == VAULT_OK)
        return 1;
    vault__clear_error();
    if (c->keys == NULL)
        return 0;
    memcpy(old_vk, c->keys->vault_key, VAULT_KEY_BYTES);
    return 1;
}

/* One transaction: the account state, the local copy of the vault key (if
 * new), the server's copy as last seen, and, when the local blobs were
 * opened under old_key (a rotation elsewhere), their re-seal under the
 * unlocked vault key: a store is never left half re-wrapped. */
static int store_login(vault_client *c, const uint8_t *local_protected,
                       const uint8_t *server_protected, const uint8_t *old_key)
{
    int rc = vault_client__store_begin(c);
    if (rc == VAULT_OK)
        rc = vault_client__put_state(c);
    if (rc == VAULT_OK && local_protected != NULL)
        rc = vault_client__store_put(c, "protected_key", local_protected,
                                     VAULT_PROTECTED_KEY_BYTES);
    if (rc == VAULT_OK)
        rc = vault_client__store_put(c, "server_protected_key", server_protected,
                                     VAULT_PROTECTED_KEY_BYTES);
    if (rc == VAULT_OK && old_key != NULL)
        rc = vault_client__stage_rekey(c, old_key, c->keys->vault_key);
    if (rc == VAULT_OK)
        rc = vault_client__store_commit(c);
    else
        vault_client__store_rollback(c);
    return rc;
}

/* Opens the vault the login proved, before anything is stored. A known
 * device whose server copy did not change: the local vault under the vault
 * key (one Argon2id in all). A known device otherwise (password changed or
 * key rotated elsewhere): the local key is derived again and the local vault
 * opens under the new vault key or the one it was sealed under. A fresh
 * device: its own salt and local key (a second Argon2id, once), an empty
 * vault. *local_protected is set (*has_local) when the local copy changes. */
static int open_login_vault(vault_client *c, int known, vault_client__keys *k,
                            const uint8_t *server_protected, vault **v, uint8_t *old_vk,
                            int *used_old, uint8_t *local_protected, int *has_local)
{
    int rc;
    *has_local = 0;
    if (known && server_key_unchanged(c, server_protected) &&
        vault_client__open_local(c, k, v) == VAULT_OK)
        return VAULT_OK;
    vault__clear_error();
    if (!known)
        randombytes_buf(c->salt, sizeof c->salt);
    rc = vault_client__local_key(c, k);
    if (rc == VAULT_OK && known) {
        int have_old = local_key_for(c, k, old_vk);
        rc = vault_client__open_local_any(c, k, have_old ? old_vk : NULL, v, used_old);
    } else if (rc == VAULT_OK) {
        rc = vault_new(v);
    }
    if (rc == VAULT_OK)
        rc = vault_blob__wrap_key(local_protected, k->enc_key, k->vault_key);
    *has_local = rc == VAULT_OK;
    return rc;
}

/* Unlocks with what the login proved and stores it (see open_login_vault). */
static int adopt_login(vault_client *c, int known, vault_client__keys **k,
                       const uint8_t *server_protected)
{
    uint8_t old_vk[VAULT_KEY_BYTES], local_protected[VAULT_PROTECTED_KEY_BYTES];
    vault *v = NULL;
    int used_old = 0, has_local = 0;
    int rc = open_login_vault(c, known, *k, server_protected, &v, old_vk, &used_old,
                              local_protected, &has_local);
    if (rc == VAULT_OK) {
        vault_client__set_unlocked(c, *k, v);
        *k = NULL;
        v = NULL;
        rc = store_login(c, has_local ? local_protected : NULL, server_protected,
                         used_old ? old_vk : NULL);
        if (rc != VAULT_OK)
            vault_client_lock(c);
    }
    vault_close(v);
    sodium_memzero(old_vk, sizeof old_vk);
    return rc;
}

int vault_client_login(vault_client *c, const char *email, const char *password)
{
    vault_client__keys *k = NULL;
    vault_client__proof proof;
    cJSON *resp = NULL;
    uint8_t server_protected[VAULT_PROTECTED_KEY_BYTES];
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    memset(&proof, 0, sizeof proof);
    int known = c->has_account;
    int rc = check_email_arg(email);
    if (rc == VAULT_OK)
        rc = vault_client__check_password(password);
    if (rc == VAULT_OK)
        rc = vault_client__keys_new(&k);
    if (rc == VAULT_OK)
        rc = vault_client__password_key(c, k, password);
    if (rc == VAULT_OK)
        rc = login_exchange(c, email, k, &proof, &resp);
    if (rc == VAULT_E_AUTH && known && c->keys != NULL && c->keys->has_password_keys &&
        sodium_memcmp(c->keys->password_key, k->password_key, VAULT_PASSWORD_KEY_BYTES) == 0)
        /* This store is unlocked with this very password: the server's
         * record belongs to another one, set on another device. */
        rc = vault__fail(VAULT_E_AUTH, "the master password was changed on another device: "
                                       "sign in with the new one (local edits are kept)");
    if (rc != VAULT_OK)
        goto done; /* the session this device had, if any, is untouched */
    rc = check_login_answer(c, resp, &proof, k, server_protected);
    if (rc == VAULT_OK) {
        memcpy(c->email, email, strlen(email) + 1);
        c->opslimit = proof.opslimit;
        c->memlimit = proof.memlimit;
        /* A fresh device: if anything below fails, the store is left empty
         * rather than half-adopted. */
        c->has_account = 1;
        rc = adopt_login(c, known, &k, server_protected);
    }
    /* A known account keeps its session when only the catch-up pull failed:
     * the fork or roll-back it reports is the app's to resolve, and
     * vault_client_resolve_fork needs the session. */
    int signed_in = rc == VAULT_OK && known;
    if (rc == VAULT_OK)
        rc = vault_client_pull(c);
    if (rc != VAULT_OK && !signed_in)
        sodium_memzero(c->session, sizeof c->session);
    if (rc != VAULT_OK && !known && c->has_account)
        vault_client__forget_account(c);
done:
    vault_client__keys_free(k);
    cJSON_Delete(resp);
    sodium_memzero(&proof, sizeof proof);
    return vault_client__done(c, rc);
}

int vault_client_sign_in(vault_client *c, const char *email, const char *password)
{
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    if (!c->has_account)
        return vault_client_login(c, email, password);
    int rc = vault_client_unlock(c, password);
    if (rc == VAULT_OK)
        return vault_client_login(c, email, password);
    if (rc != VAULT_E_AUTH)
        return rc;
    /* Not this store's password: perhaps the one set on another device. */
    vault__clear_error();
    rc = vault_client_login(c, email, password);
    if (rc == VAULT_E_AUTH)
        rc = vault__fail(VAULT_E_AUTH, "wrong password");
    return vault_client__done(c, rc);
}

int vault_client_logout(vault_client *c)
{
    cJSON *req = NULL, *resp = NULL;
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    int rc = vault_client__request_new(&req, "logout");
    if (rc == VAULT_OK)
        rc = vault_client__add_session(c, req);
    if (rc == VAULT_OK)
        rc = vault_client__call(c, req, &resp);
    sodium_memzero(c->session, sizeof c->session);
    cJSON_Delete(req);
    cJSON_Delete(resp);
    return vault_client__done(c, rc);
}
