/*
 * Client lifecycle: open the local store, create a vault, unlock with the
 * password, lock, save. Keys live in one sodium_malloc block while unlocked
 * and are wiped on lock; the store only ever sees ciphertext.
 */
#include <sodium.h>
#include <string.h>

#include "blob/blob.h"
#include "client/client.h"
#include "kdf/kdf.h"


int vault_client__keys_new(vault_client__keys **out)
{
    *out = vault__secure_alloc(sizeof **out);
    if (*out == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of secure memory for keys");
    sodium_memzero(*out, sizeof **out);
    (*out)->adopt_rotated_key = NULL; /* a null pointer need not be all-zero bits */
    return VAULT_OK;
}

void vault_client__keys_free(vault_client__keys *k)
{
    vault__secure_free(k);
}

static int put_email(vault_client *c);
static void load_email(vault_client *c);

/* The email survives the lock in between: a login sets it before. */
void vault_client__set_unlocked(vault_client *c, vault_client__keys *keys, vault *v)
{
    char email[VAULT_EMAIL_MAX + 1];
    memcpy(email, c->email, sizeof email);
    vault_client_lock(c);
    c->keys = keys;
    c->v = v;
    memcpy(c->email, email, sizeof email);
    sodium_memzero(email, sizeof email);
    if (c->email[0] == '\0')
        load_email(c);
    else if (c->has_account && put_email(c) != VAULT_OK)
        vault__clear_error(); /* kept in memory; stored with the next state write */
}

static int ensure_device_id(vault_client *c)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    int rc = vault_client__store_get(c, "device_id", &raw, &len);
    if (rc == VAULT_E_NOT_FOUND) {
        vault__random_id(c->device_id);
        return vault_client__store_put(c, "device_id", c->device_id, 2 * VAULT_ACCOUNT_ID_BYTES);
    }
    if (rc == VAULT_OK && len != 2 * VAULT_ACCOUNT_ID_BYTES)
        rc = vault__fail(VAULT_E_CORRUPT, "local store: bad device id");
    if (rc == VAULT_OK)
        memcpy(c->device_id, raw, len);
    vault_free(raw);
    return rc;
}

/* The Secret Key (always there for an account). */
static int load_account_secrets(vault_client *c)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    int rc = vault_client__store_get(c, "secret_key", &raw, &len);
    if (rc == VAULT_OK && len != VAULT_SECRET_KEY_BYTES)
        rc = vault__fail(VAULT_E_CORRUPT, "local store: bad Secret Key");
    if (rc == VAULT_OK) {
        memcpy(c->secret_key, raw, len);
        c->has_secret_key = 1;
    }
    vault_free(raw);
    raw = NULL;
    if (rc != VAULT_OK)
        return rc;
    c->email[0] = '\0'; /* sealed in the store: read when unlocked (load_email) */
    return VAULT_OK;
}

int vault_client__load_state(vault_client *c)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    int rc = ensure_device_id(c);
    if (rc != VAULT_OK)
        return rc;
    rc = vault_client__store_get(c, "account_id", &raw, &len);
    if (rc == VAULT_E_NOT_FOUND) {
        c->has_account = 0;
        vault__clear_error();
        return VAULT_OK;
    }
    if (rc == VAULT_OK && len != 2 * VAULT_ACCOUNT_ID_BYTES)
        rc = vault__fail(VAULT_E_CORRUPT, "local store: bad account id");
    if (rc == VAULT_OK) {
        memcpy(c->account_id, raw, len);
        c->account_id[len] = '\0';
    }
    vault_free(raw);
    raw = NULL;
    if (rc == VAULT_OK)
        rc = vault_client__store_get(c, "salt", &raw, &len);
    if (rc == VAULT_OK && len != VAULT_SALT_BYTES)
        rc = vault__fail(VAULT_E_CORRUPT, "local store: bad salt");
    if (rc == VAULT_OK)
        memcpy(c->salt, raw, len);
    vault_free(raw);
    if (rc == VAULT_OK)
        rc = vault_client__store_get_u64(c, "opslimit", &c->opslimit);
    if (rc == VAULT_OK)
        rc = vault_client__store_get_u64(c, "memlimit", &c->memlimit);
    if (rc == VAULT_OK)
        rc = vault_client__store_get_u64(c, "base_revision", &c->base_revision);
    if (rc == VAULT_OK)
        rc = vault_client__store_get_u64(c, "highest_revision", &c->highest_revision);
    if (rc == VAULT_OK)
        rc = load_account_secrets(c);
    if (rc == VAULT_E_NOT_FOUND)
        rc = vault__fail(VAULT_E_CORRUPT, "local store is incomplete");
    c->has_account = rc == VAULT_OK;
    return rc;
}

/* The email is kept in the store sealed under a key derived from the vault
 * key (so a stolen store does not name its owner), sealed again with every
 * state write while unlocked, and read back at unlock. */
static void email_key(uint8_t key[crypto_secretbox_KEYBYTES], const uint8_t *vault_key)
{
    static const char label[] = "zkvault local email";
    crypto_generichash(key, crypto_secretbox_KEYBYTES, (const uint8_t *)label, sizeof label - 1,
                       vault_key, VAULT_KEY_BYTES);
}

static int put_email(vault_client *c)
{
    uint8_t key[crypto_secretbox_KEYBYTES];
    uint8_t sealed[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + VAULT_EMAIL_MAX];
    size_t len = strlen(c->email);
    if (len == 0 || c->keys == NULL)
        return VAULT_OK;
    email_key(key, c->keys->vault_key);
    randombytes_buf(sealed, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(sealed + crypto_secretbox_NONCEBYTES, (const uint8_t *)c->email, len,
                          sealed, key);
    sodium_memzero(key, sizeof key);
    return vault_client__store_put(c, "email", sealed,
                                   crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + len);
}

static void load_email(vault_client *c)
{
    uint8_t key[crypto_secretbox_KEYBYTES], *sealed = NULL;
    size_t len = 0;
    enum { OVERHEAD = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES };
    if (vault_client__store_get(c, "email", &sealed, &len) == VAULT_OK && len > OVERHEAD &&
        len - OVERHEAD <= VAULT_EMAIL_MAX) {
        email_key(key, c->keys->vault_key);
        if (crypto_secretbox_open_easy((uint8_t *)c->email, sealed + crypto_secretbox_NONCEBYTES,
                                       len - crypto_secretbox_NONCEBYTES, sealed, key) == 0)
            c->email[len - OVERHEAD] = '\0';
        else
            c->email[0] = '\0';
        sodium_memzero(key, sizeof key);
    }
    vault_free(sealed);
    vault__clear_error();
}

int vault_client__put_state(vault_client *c)
{
    int rc = vault_client__store_put(c, "account_id", c->account_id, 2 * VAULT_ACCOUNT_ID_BYTES);
    if (rc == VAULT_OK)
        rc = vault_client__store_put(c, "salt", c->salt, VAULT_SALT_BYTES);
    if (rc == VAULT_OK)
        rc = vault_client__store_put_u64(c, "opslimit", c->opslimit);
    if (rc == VAULT_OK)
        rc = vault_client__store_put_u64(c, "memlimit", c->memlimit);
    if (rc == VAULT_OK)
        rc = vault_client__store_put_u64(c, "base_revision", c->base_revision);
    if (rc == VAULT_OK)
        rc = vault_client__store_put_u64(c, "highest_revision", c->highest_revision);
    if (rc == VAULT_OK && c->has_secret_key)
        rc = vault_client__store_put(c, "secret_key", c->secret_key, VAULT_SECRET_KEY_BYTES);
    if (rc == VAULT_OK)
        rc = put_email(c);
    return rc;
}

int vault_client__put_local_blob(vault_client *c)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    int rc = vault_seal(c->v, c->keys->vault_key, c->account_id, c->base_revision + 1, &blob, &len);
    if (rc == VAULT_OK)
        rc = vault_client__store_put(c, "local_blob", blob, len);
    vault_free(blob);
    return rc;
}

int vault_client_open(vault_client **out, const char *path, uint32_t flags)
{
    int rc = vault_init();
    vault_client *c = NULL;
    if (out != NULL)
        *out = NULL;
    if (rc != VAULT_OK)
        return rc;
    if (out == NULL || path == NULL || flags != 0)
        return vault__fail(VAULT_E_INVALID, "vault_client_open: bad arguments");
    c = vault__calloc(1, sizeof *c);
    if (c == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory");
    rc = vault_client__store_open(c, path);
    if (rc == VAULT_OK)
        rc = vault_client__load_state(c);
    if (rc != VAULT_OK) {
        vault_client_close(c);
        return rc;
    }
    *out = c;
    return VAULT_OK;
}

void vault_client_close(vault_client *c)
{
    if (c == NULL)
        return;
    vault_client_lock(c);
    vault_client_connect_custom(c, NULL, NULL);
    vault_client__store_close(c);
    sodium_memzero(c, sizeof *c);
    vault__free(c);
}

const char *vault_client_errmsg(const vault_client *c)
{
    return c != NULL ? c->errmsg : "no client";
}

int vault_client_lock(vault_client *c)
{
    if (c == NULL)
        return VAULT_OK;
    sodium_memzero(c->email, sizeof c->email);
    vault_close(c->v);
    c->v = NULL;
    vault_client__keys_free(c->keys);
    c->keys = NULL;
    return VAULT_OK;
}

void vault_client__forget_account(vault_client *c)
{
    vault_client_lock(c);
    sodium_memzero(c->session, sizeof c->session);
    vault_client__store_clear(c);
    c->has_account = 0;
    c->base_revision = c->highest_revision = 0;
    sodium_memzero(c->account_id, sizeof c->account_id);
    sodium_memzero(c->secret_key, sizeof c->secret_key);
    c->has_secret_key = 0;
    c->email[0] = '\0';
}

int vault_client_is_unlocked(const vault_client *c, int32_t *unlocked)
{
    if (c == NULL || unlocked == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_client_is_unlocked: NULL argument");
    *unlocked = c->keys != NULL;
    return VAULT_OK;
}

int vault_client_vault(vault_client *c, vault **v)
{
    if (v != NULL)
        *v = NULL;
    if (c == NULL || v == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_client_vault: NULL argument");
    if (c->v == NULL)
        return vault_client__done(c, vault__fail(VAULT_E_LOCKED, "the client is locked"));
    *v = c->v;
    return VAULT_OK;
}

int vault_client_account_id(const vault_client *c, char **out)
{
    if (out != NULL)
        *out = NULL;
    if (c == NULL || out == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_client_account_id: NULL argument");
    if (!c->has_account)
        return vault__fail(VAULT_E_NOT_FOUND, "no vault in this store");
    *out = vault__out_dup(c->account_id, strlen(c->account_id));
    return *out != NULL ? VAULT_OK : vault__fail(VAULT_E_NOMEM, "out of memory");
}

int vault_client__check_password(const char *password)
{
    if (password == NULL)
        return vault__fail(VAULT_E_INVALID, "password is NULL");
    size_t n = strlen(password);
    if (n == 0 || n > VAULT_PASSWORD_MAX_BYTES)
        return vault__fail(VAULT_E_INVALID, "password must be 1..%u bytes",
                           VAULT_PASSWORD_MAX_BYTES);
    return VAULT_OK;
}

int vault_client__store_account(vault_client *c, const uint8_t *protected_key, int with_local)
{
    int rc = vault_client__store_begin(c);
    if (rc == VAULT_OK)
        rc = vault_client__put_state(c);
    if (rc == VAULT_OK)
        rc = vault_client__store_put(c, "protected_key", protected_key, VAULT_PROTECTED_KEY_BYTES);
    if (rc == VAULT_OK && with_local)
        rc = vault_client__put_local_blob(c);
    if (rc == VAULT_OK)
        rc = vault_client__store_commit(c);
    else
        vault_client__store_rollback(c);
    return rc;
}

/* The OPAQUE password and the local KEK of password (one Argon2id). */
static int derive_password_keys(vault_client *c, vault_client__keys *k, const char *password)
{
    int rc = vault_client__password_key(c, k, password);
    if (rc == VAULT_OK)
        rc = vault_client__local_key(c, k);
    return rc;
}

int vault_client_create(vault_client *c, const char *password, uint64_t opslimit,
                        uint64_t memlimit)
{
    vault_client__keys *k = NULL;
    vault *v = NULL;
    uint8_t protected_key[VAULT_PROTECTED_KEY_BYTES];
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    int rc = vault_client__check_password(password);
    if (rc == VAULT_OK && c->has_account)
        rc = vault__fail(VAULT_E_EXISTS, "this store already holds a vault");
    if (opslimit == 0 && memlimit == 0) {
        opslimit = VAULT_KDF_OPSLIMIT_DEFAULT;
        memlimit = VAULT_KDF_MEMLIMIT_DEFAULT;
    }
    if (rc == VAULT_OK)
        rc = vault_kdf_check_params(opslimit, memlimit);
    if (rc == VAULT_OK)
        rc = vault_client__keys_new(&k);
    if (rc == VAULT_OK)
        rc = vault_new(&v);
    if (rc != VAULT_OK)
        goto done;

    vault__random_id(c->account_id);
    randombytes_buf(c->salt, sizeof c->salt);
    randombytes_buf(c->secret_key, sizeof c->secret_key);
    c->has_secret_key = 1;
    c->email[0] = '\0';
    c->opslimit = opslimit;
    c->memlimit = memlimit;
    c->base_revision = c->highest_revision = 0;
    rc = derive_password_keys(c, k, password);
    if (rc != VAULT_OK)
        goto done;
    randombytes_buf(k->vault_key, sizeof k->vault_key);
    rc = vault_blob__wrap_key(protected_key, k->enc_key, k->vault_key);
    if (rc != VAULT_OK)
        goto done;

    vault_client__set_unlocked(c, k, v);
    k = NULL;
    v = NULL;
    rc = vault_client__store_account(c, protected_key, 1);
    if (rc != VAULT_OK) {
        vault_client_lock(c);
        sodium_memzero(c->secret_key, sizeof c->secret_key);
        c->has_secret_key = 0;
    }
    c->has_account = rc == VAULT_OK;
done:
    vault_client__keys_free(k);
    vault_close(v);
    return vault_client__done(c, rc);
}

int vault_client__open_local(vault_client *c, const vault_client__keys *k, vault **out)
{
    uint8_t *blob = NULL;
    size_t len = 0;
    int rc = vault_client__store_get(c, "local_blob", &blob, &len);
    if (rc == VAULT_E_NOT_FOUND)
        rc = vault__fail(VAULT_E_CORRUPT, "local store has no vault blob");
    if (rc == VAULT_OK)
        rc = vault_open(out, k->vault_key, c->account_id, c->base_revision + 1, blob, len);
    vault_free(blob);
    return rc;
}

int vault_client_unlock(vault_client *c, const char *password)
{
    vault_client__keys *k = NULL;
    vault *v = NULL;
    uint8_t *protected_key = NULL;
    size_t len = 0;
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    int rc = vault_client__check_password(password);
    if (rc == VAULT_OK && !c->has_account)
        rc = vault__fail(VAULT_E_NOT_FOUND, "no vault in this store");
    if (rc == VAULT_OK)
        rc = vault_client__keys_new(&k);
    if (rc == VAULT_OK)
        rc = derive_password_keys(c, k, password);
    if (rc == VAULT_OK) {
        rc = vault_client__store_get(c, "protected_key", &protected_key, &len);
        if (rc == VAULT_E_NOT_FOUND)
            rc = vault__fail(VAULT_E_STATE, "this device was linked: unlock it with its device "
                                            "key, or log in once with the password");
    }
    if (rc == VAULT_OK) {
        rc = vault_blob__unwrap_key(k->vault_key, k->enc_key, protected_key, len);
        if (rc == VAULT_E_AUTH)
            rc = vault__fail(VAULT_E_AUTH, "wrong password");
    }
    if (rc == VAULT_OK)
        rc = vault_client__open_local(c, k, &v);
    if (rc == VAULT_OK) {
        vault_client__set_unlocked(c, k, v);
        k = NULL;
    }
    vault_client__keys_free(k);
    vault_free(protected_key);
    return vault_client__done(c, rc);
}

int vault_client_save(vault_client *c)
{
    if (c == NULL)
        return vault__fail(VAULT_E_INVALID, "client is NULL");
    if (c->v == NULL)
        return vault_client__done(c, vault__fail(VAULT_E_LOCKED, "the client is locked"));
    int rc = vault_client__store_begin(c);
    if (rc == VAULT_OK)
        rc = vault_client__put_local_blob(c);
    if (rc == VAULT_OK)
        rc = vault_client__store_commit(c);
    else
        vault_client__store_rollback(c);
    return vault_client__done(c, rc);
}
