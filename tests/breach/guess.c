/* Offline guessing with the stolen database, then with the database and every
 * server secret (the pepper, hence the OPRF seed, the AKE key and every
 * subkey). The thief follows the documents (docs/protocol.md): for a guess
 * it builds the OPAQUE password input, evaluates the OPRF with the server's
 * key, stretches with Argon2id at the stored costs, rebuilds the record with
 * the stored envelope nonce and compares it with the stored one. The
 * standard parts (RFC 9497's OPRF, RFC 9807's Store, HKDF) come from the
 * library's implementation of those RFCs, checked against their vectors. */
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "blob/blob.h"
#include "breach.h"
#include "common/common.h"
#include "opaque/opaque.h"

#define RECORD_BYTES VAULT_OPAQUE_RECORD_BYTES

typedef struct stolen_account {
    uint8_t id[VAULT_ACCOUNT_ID_BYTES];
    uint8_t email_hash[32];
    uint8_t record[RECORD_BYTES];
    uint64_t opslimit, memlimit;
    uint8_t protected_key[VAULT_PROTECTED_KEY_BYTES];
} stolen_account;

static void copy_column(sqlite3_stmt *q, int col, uint8_t *out, size_t len)
{
    assert_int_equal((size_t)sqlite3_column_bytes(q, col), len);
    memcpy(out, sqlite3_column_blob(q, col), len);
}

static void read_victim(const breach_world *w, stolen_account *a)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *q = NULL;
    uint8_t id[VAULT_ACCOUNT_ID_BYTES];
    assert_int_equal(vault__hex2bin(id, sizeof id, w->small_account_a), VAULT_OK);
    assert_int_equal(sqlite3_open_v2(w->server_db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT id, email_hash, record, opslimit, memlimit, "
                                        "protected_key FROM accounts WHERE id = ?1",
                                        -1, &q, NULL),
                     SQLITE_OK);
    sqlite3_bind_blob(q, 1, id, sizeof id, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    copy_column(q, 0, a->id, sizeof a->id);
    copy_column(q, 1, a->email_hash, sizeof a->email_hash);
    copy_column(q, 2, a->record, sizeof a->record);
    a->opslimit = (uint64_t)sqlite3_column_int64(q, 3);
    a->memlimit = (uint64_t)sqlite3_column_int64(q, 4);
    copy_column(q, 5, a->protected_key, sizeof a->protected_key);
    sqlite3_finalize(q);
    sqlite3_close(db);
}

/* The server's subkey `id` as docs/protocol.md defines it: needs the pepper. */
static void pepper_subkey(uint8_t out[32], uint64_t id)
{
    uint8_t master[32];
    crypto_generichash(master, sizeof master, breach_pepper, sizeof breach_pepper, NULL, 0);
    crypto_kdf_derive_from_key(out, 32, id, "zkvsrvr1", master);
    sodium_memzero(master, sizeof master);
}

/* What the thief holds: the OPRF key of the victim's credential and the
 * server's public key, both derived from the pepper as documented (or, for
 * the database-alone thief, from a guessed all-zero seed). */
typedef struct thief_keys {
    uint8_t oprf_key[32];
    uint8_t server_pk[32];
} thief_keys;

static void thief_keys_from(thief_keys *t, const stolen_account *a, int with_pepper)
{
    uint8_t seed[64] = {0}, kseed[32], prk_info[32 + 7], ake_seed[32] = {0}, sk[32], pk[32];
    if (with_pepper) {
        pepper_subkey(seed, 5);
        pepper_subkey(seed + 32, 6);
        pepper_subkey(ake_seed, 7);
    }
    memcpy(prk_info, a->email_hash, 32);
    memcpy(prk_info + 32, "OprfKey", 7);
    assert_int_equal(vault__hkdf_expand(kseed, sizeof kseed, seed, prk_info, sizeof prk_info),
                     VAULT_OK);
    assert_int_equal(vault__oprf_derive_keypair(t->oprf_key, pk, kseed,
                                                (const uint8_t *)"OPAQUE-DeriveKeyPair", 20),
                     VAULT_OK);
    assert_int_equal(vault__opaque_derive_keypair(sk, t->server_pk, ake_seed), VAULT_OK);
    sodium_memzero(seed, sizeof seed);
    sodium_memzero(sk, sizeof sk);
}

/* OPAQUE's password input: HMAC-SHA512 keyed by the Secret Key of the label
 * "zkvault-v2 password", a zero byte, and the password. */
static void password_input(uint8_t out[64], const uint8_t secret_key[16], const char *password)
{
    static const char label[] = "zkvault-v2 password";
    crypto_auth_hmacsha512_state st;
    crypto_auth_hmacsha512_init(&st, secret_key, 16);
    crypto_auth_hmacsha512_update(&st, (const uint8_t *)label, sizeof label);
    crypto_auth_hmacsha512_update(&st, (const uint8_t *)password, strlen(password));
    crypto_auth_hmacsha512_final(&st, out);
}

/* What the thief computes for a guess: the record (and export key) that
 * (password, Secret Key) would have registered, with the stored envelope
 * nonce. One Argon2id at the stored costs and a few scalar multiplications;
 * the thief evaluates the OPRF itself (blind 1, then the server's key). */
static void rebuild(uint8_t record[RECORD_BYTES], uint8_t export_key[64], const stolen_account *a,
                    const thief_keys *t, const uint8_t secret_key[16], const char *password)
{
    vault_opaque_client st;
    vault_opaque_cfg cfg;
    vault_opaque_argon2 costs = {a->opslimit, a->memlimit};
    uint8_t input[64], one[32] = {1}, blinded[32], response[64];
    password_input(input, secret_key, password);
    memset(&cfg, 0, sizeof cfg);
    cfg.context = (const uint8_t *)VAULT_OPAQUE_APP_CONTEXT;
    cfg.context_len = sizeof VAULT_OPAQUE_APP_CONTEXT - 1;
    cfg.ksf = vault__opaque_ksf_argon2id;
    cfg.ksf_ctx = &costs;
    assert_int_equal(vault__opaque_reg_start(&st, blinded, input, sizeof input, one), VAULT_OK);
    assert_int_equal(vault__oprf_blind_evaluate(response, t->oprf_key, blinded), VAULT_OK);
    memcpy(response + 32, t->server_pk, 32);
    assert_int_equal(vault__opaque_reg_finish(record, export_key, &st, input, sizeof input,
                                              response, &cfg,
                                              a->record + 32 + 64 /* the envelope nonce */),
                     VAULT_OK);
    sodium_memzero(input, sizeof input);
}

/* One guess: does (password, Secret Key) rebuild the stored record? */
static int guess_matches(const stolen_account *a, const thief_keys *t,
                         const uint8_t secret_key[16], const char *password)
{
    uint8_t record[RECORD_BYTES], export_key[64];
    rebuild(record, export_key, a, t, secret_key, password);
    sodium_memzero(export_key, sizeof export_key);
    return sodium_memcmp(record, a->record, sizeof record) == 0;
}

/* With the database alone, even the right password and the right Secret Key
 * do not rebuild the record: the OPRF key comes from the pepper. With the
 * pepper they do (so the test computes exactly what the documents say). */
void test_breach_guess__db_alone_cannot_check_the_record(void **state)
{
    breach_world *w = *state;
    stolen_account a;
    thief_keys t;
    read_victim(w, &a);
    thief_keys_from(&t, &a, 0);
    assert_false(guess_matches(&a, &t, w->victim_secret_key, BREACH_VICTIM_PASSWORD));
    thief_keys_from(&t, &a, 1);
    assert_true(guess_matches(&a, &t, w->victim_secret_key, BREACH_VICTIM_PASSWORD));
    sodium_memzero(&t, sizeof t);
}

/* The email column is a keyed hash too: the plain hashes of the known email
 * do not match; the pepper-keyed one does. */
void test_breach_guess__db_alone_cannot_reverse_the_email_hash(void **state)
{
    breach_world *w = *state;
    stolen_account a;
    uint8_t cand[32], key[32];
    const char *email = BREACH_VICTIM_EMAIL;
    read_victim(w, &a);
    crypto_generichash(cand, 32, (const uint8_t *)email, strlen(email), NULL, 0);
    assert_false(memcmp(cand, a.email_hash, 32) == 0);
    crypto_hash_sha256(cand, (const uint8_t *)email, strlen(email));
    assert_false(memcmp(cand, a.email_hash, 32) == 0);
    pepper_subkey(key, 1);
    crypto_generichash(cand, 32, (const uint8_t *)email, strlen(email), key, sizeof key);
    assert_int_equal(memcmp(cand, a.email_hash, 32), 0);
}

/* The protected vault key is wrapped under a KEK that needs the OPAQUE export
 * key and the Secret Key, and stored masked under pepper subkey 4: with the
 * database alone the mask hides even its commitment tag; with the pepper the
 * unmasked key still opens only with the export key of the right password
 * and the Secret Key together. */
static void unmask_with_pepper(stolen_account *a)
{
    uint8_t key[32], nonce[crypto_stream_xchacha20_NONCEBYTES];
    crypto_generichash_state st;
    pepper_subkey(key, 4);
    crypto_generichash_init(&st, NULL, 0, sizeof nonce);
    crypto_generichash_update(&st, a->id, VAULT_ACCOUNT_ID_BYTES);
    crypto_generichash_update(&st, a->protected_key + 8, 24);
    crypto_generichash_final(&st, nonce, sizeof nonce);
    crypto_stream_xchacha20_xor(a->protected_key + 32, a->protected_key + 32,
                                sizeof a->protected_key - 32, nonce, key);
    sodium_memzero(key, sizeof key);
}

/* KEK = HKDF-SHA512(salt = Secret Key, ikm = export key, info = label, a zero
 * byte, opslimit and memlimit as 8-byte big-endian numbers). */
static void kek_of(uint8_t kek[32], const uint8_t secret_key[16], const uint8_t export_key[64],
                   const stolen_account *a)
{
    static const char label[] = "zkvault-v2 vault key wrap";
    uint8_t prk[64], info[sizeof label + 16];
    memcpy(info, label, sizeof label);
    vault__store64_be(info + sizeof label, a->opslimit);
    vault__store64_be(info + sizeof label + 8, a->memlimit);
    vault__hkdf_extract(prk, secret_key, 16, export_key, 64);
    assert_int_equal(vault__hkdf_expand(kek, 32, prk, info, sizeof info), VAULT_OK);
}

/* The export key a thief with the pepper would get for a guess. */
static void export_key_of(uint8_t export_key[64], const stolen_account *a, const thief_keys *t,
                          const uint8_t secret_key[16], const char *password)
{
    uint8_t record[RECORD_BYTES];
    rebuild(record, export_key, a, t, secret_key, password);
}

void test_breach_guess__db_alone_protected_key_is_no_guess_oracle(void **state)
{
    breach_world *w = *state;
    stolen_account a;
    thief_keys t;
    uint8_t export_key[64], kek[32], vk[VAULT_KEY_BYTES], no_secret[16] = {0};
    read_victim(w, &a);
    thief_keys_from(&t, &a, 1);
    export_key_of(export_key, &a, &t, w->victim_secret_key, BREACH_VICTIM_PASSWORD);
    kek_of(kek, w->victim_secret_key, export_key, &a);
    /* Masked (database alone): even the right KEK finds no tag to check. */
    assert_int_equal(vault_blob__unwrap_key(vk, kek, a.protected_key, sizeof a.protected_key),
                     VAULT_E_AUTH);
    unmask_with_pepper(&a);
    /* With the pepper, but not the Secret Key: the right password fails. */
    export_key_of(export_key, &a, &t, no_secret, BREACH_VICTIM_PASSWORD);
    kek_of(kek, no_secret, export_key, &a);
    assert_int_equal(vault_blob__unwrap_key(vk, kek, a.protected_key, sizeof a.protected_key),
                     VAULT_E_AUTH);
    /* Only the device's Secret Key and the password together open it. */
    export_key_of(export_key, &a, &t, w->victim_secret_key, BREACH_VICTIM_PASSWORD);
    kek_of(kek, w->victim_secret_key, export_key, &a);
    assert_int_equal(vault_blob__unwrap_key(vk, kek, a.protected_key, sizeof a.protected_key),
                     VAULT_OK);
    sodium_memzero(export_key, sizeof export_key);
    sodium_memzero(kek, sizeof kek);
    sodium_memzero(vk, sizeof vk);
    sodium_memzero(&t, sizeof t);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static const char *const words[] = {"123456",   "password", "qwerty",   "letmein",
                                    "dragon",   "monkey",   "football", "iloveyou",
                                    "princess", "shadow",   "sunshine", "trustno1"};
#define NWORDS (sizeof words / sizeof words[0])

/* Runs the dictionary with a candidate Secret Key: how many words match. */
static size_t dictionary(const stolen_account *a, const thief_keys *t,
                         const uint8_t secret_key[16], const char **found)
{
    size_t matches = 0;
    for (size_t i = 0; i < NWORDS; i++)
        if (guess_matches(a, t, secret_key, words[i])) {
            *found = words[i];
            matches++;
        }
    return matches;
}

/* The database AND the pepper (so the OPRF seed, the AKE key and every
 * subkey): the weak password from the list is NOT found, because each guess
 * also needs the 128-bit Secret Key that only the victim's devices hold. The
 * same attack with that key (which no thief of the server has) finds it, so
 * the attack itself is right. */
void test_breach_guess__db_and_every_server_secret_find_no_password(void **state)
{
    breach_world *w = *state;
    stolen_account a;
    thief_keys t;
    uint8_t guessed[3][16] = {{0}, {0}, {0}};
    const char *found = NULL;
    struct timespec t0;
    read_victim(w, &a);
    /* The victim's costs are exactly the floor: the fastest attack there is. */
    assert_int_equal(a.opslimit, VAULT_KDF_OPSLIMIT_MIN);
    assert_int_equal(a.memlimit, VAULT_KDF_MEMLIMIT_MIN);
    thief_keys_from(&t, &a, 1);
    memset(guessed[1], 0xff, 16);
    randombytes_buf(guessed[2], 16);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t k = 0; k < 3; k++)
        assert_int_equal(dictionary(&a, &t, guessed[k], &found), 0);
    double s = seconds_since(&t0);
    assert_null(found);
    printf("offline attack with the database and every server secret: %zu guesses in %.2f s "
           "(%.1f/s per core), none matches: each also needs a 2^128 Secret Key guess\n",
           3 * NWORDS, s, (double)(3 * NWORDS) / s);
    assert_int_equal(dictionary(&a, &t, w->victim_secret_key, &found), 1);
    assert_string_equal(found, BREACH_VICTIM_PASSWORD);
    sodium_memzero(&t, sizeof t);
}
