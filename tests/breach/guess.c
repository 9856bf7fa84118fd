/* Offline guessing with the stolen database. The thief computes everything
 * from the documents (docs/protocol.md, docs/format.md) with libsodium, not
 * with the server's code: Argon2id of a guess under the stored salt and
 * parameters, then whatever comparison the stolen row allows. */
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "blob/blob.h"
#include "breach.h"
#include "common/common.h"

typedef struct stolen_account {
    uint8_t id[VAULT_ACCOUNT_ID_BYTES];
    uint8_t email_hash[32];
    uint8_t verifier[32];
    uint8_t salt[VAULT_SALT_BYTES];
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
                                        "SELECT id, email_hash, verifier, salt, opslimit, "
                                        "memlimit, protected_key FROM accounts WHERE id = ?1",
                                        -1, &q, NULL),
                     SQLITE_OK);
    sqlite3_bind_blob(q, 1, id, sizeof id, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    copy_column(q, 0, a->id, sizeof a->id);
    copy_column(q, 1, a->email_hash, sizeof a->email_hash);
    copy_column(q, 2, a->verifier, sizeof a->verifier);
    copy_column(q, 3, a->salt, sizeof a->salt);
    a->opslimit = (uint64_t)sqlite3_column_int64(q, 4);
    a->memlimit = (uint64_t)sqlite3_column_int64(q, 5);
    copy_column(q, 6, a->protected_key, sizeof a->protected_key);
    sqlite3_finalize(q);
    sqlite3_close(db);
}

/* One guess: Argon2id at the account's stored parameters → auth ‖ enc. */
static void argon2id(uint8_t out[64], const char *guess, const stolen_account *a)
{
    assert_int_equal(crypto_pwhash(out, 64, guess, strlen(guess), a->salt, a->opslimit,
                                   (size_t)a->memlimit, crypto_pwhash_ALG_ARGON2ID13),
                     0);
}

/* The server's subkey `id` as docs/protocol.md defines it: needs the pepper. */
static void pepper_subkey(uint8_t out[32], uint64_t id)
{
    uint8_t master[32];
    crypto_generichash(master, sizeof master, breach_pepper, sizeof breach_pepper, NULL, 0);
    crypto_kdf_derive_from_key(out, 32, id, "zkvsrvr1", master);
    sodium_memzero(master, sizeof master);
}

static void keyed_verifier(uint8_t out[32], const uint8_t key[32], const uint8_t auth[32],
                           const uint8_t id[VAULT_ACCOUNT_ID_BYTES])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, key, key != NULL ? 32 : 0, 32);
    crypto_generichash_update(&st, auth, 32);
    crypto_generichash_update(&st, id, VAULT_ACCOUNT_ID_BYTES);
    crypto_generichash_final(&st, out, 32);
}

/* Even holding the right password, the thief without the pepper finds no
 * computation that reproduces the stored verifier: it is a keyed hash. The
 * pepper-keyed construction does reproduce it (so the test knows the right
 * formula and is not comparing against noise). */
void test_breach_guess__db_alone_cannot_check_the_verifier(void **state)
{
    breach_world *w = *state;
    stolen_account a;
    uint8_t out[64], cand[32], zero_key[32] = {0}, key[32];
    read_victim(w, &a);
    argon2id(out, BREACH_VICTIM_PASSWORD, &a);
    const uint8_t *auth = out;

    const uint8_t *raw[] = {auth, out + 32};
    for (size_t i = 0; i < 2; i++)
        assert_false(sodium_memcmp(raw[i], a.verifier, 32) == 0);
    crypto_generichash(cand, 32, auth, 32, NULL, 0); /* BLAKE2b(auth) */
    assert_false(sodium_memcmp(cand, a.verifier, 32) == 0);
    keyed_verifier(cand, NULL, auth, a.id); /* BLAKE2b(auth ‖ id), unkeyed */
    assert_false(sodium_memcmp(cand, a.verifier, 32) == 0);
    keyed_verifier(cand, zero_key, auth, a.id); /* an all-zero pepper */
    assert_false(sodium_memcmp(cand, a.verifier, 32) == 0);
    crypto_hash_sha256(cand, auth, 32);
    assert_false(sodium_memcmp(cand, a.verifier, 32) == 0);
    crypto_auth_hmacsha256(cand, a.id, sizeof a.id, auth); /* HMAC keyed by auth */
    assert_false(sodium_memcmp(cand, a.verifier, 32) == 0);

    pepper_subkey(key, 3);
    keyed_verifier(cand, key, auth, a.id);
    assert_int_equal(sodium_memcmp(cand, a.verifier, 32), 0);
    sodium_memzero(out, sizeof out);
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

/* The database row also holds the protected vault key, wrapped under the
 * encryption half of the same Argon2id output, with a key-commitment tag. Kept
 * as the client sent it, that tag would tell a right guess from a wrong one
 * without the pepper (finding F1 in docs/security.md). The server therefore
 * stores the tag and ciphertext masked under pepper subkey 4: with the
 * database alone even the right password does not unwrap it; with the pepper
 * it does (so the test models the attacker exactly, and the fix is real). */
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

void test_breach_guess__db_alone_protected_key_is_no_guess_oracle(void **state)
{
    breach_world *w = *state;
    stolen_account a;
    uint8_t out[64], vk[VAULT_KEY_BYTES];
    read_victim(w, &a);
    argon2id(out, "not-the-password", &a);
    assert_int_equal(vault_blob__unwrap_key(vk, out + 32, a.protected_key, sizeof a.protected_key),
                     VAULT_E_AUTH);
    argon2id(out, BREACH_VICTIM_PASSWORD, &a);
    assert_int_equal(vault_blob__unwrap_key(vk, out + 32, a.protected_key, sizeof a.protected_key),
                     VAULT_E_AUTH); /* the right password: still no signal */
    unmask_with_pepper(&a);
    assert_int_equal(vault_blob__unwrap_key(vk, out + 32, a.protected_key, sizeof a.protected_key),
                     VAULT_OK); /* with the pepper it is one Argon2id per guess again */
    sodium_memzero(out, sizeof out);
    sodium_memzero(vk, sizeof vk);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* With the database and the pepper: a dictionary attack on the weak password
 * of an account at the floor parameters. The only way to test a guess is one
 * Argon2id at the stored parameters, then one keyed hash. */
void test_breach_guess__with_pepper_each_guess_costs_one_argon2id(void **state)
{
    static const char *const words[] = {"123456",   "password", "qwerty",  "letmein",
                                        "dragon",   "monkey",   "football", "iloveyou",
                                        "princess", "shadow",   "sunshine", "trustno1"};
    breach_world *w = *state;
    stolen_account a;
    uint8_t key[32], out[64], cand[32];
    const char *found = NULL;
    size_t guesses = 0, matches = 0;
    struct timespec t0;
    read_victim(w, &a);
    /* The victim's parameters are exactly the floor: the cheapest a client
     * accepts, so the fastest this attack can be. */
    assert_int_equal(a.opslimit, VAULT_KDF_OPSLIMIT_MIN);
    assert_int_equal(a.memlimit, VAULT_KDF_MEMLIMIT_MIN);
    pepper_subkey(key, 3);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        argon2id(out, words[i], &a);
        keyed_verifier(cand, key, out, a.id);
        guesses++;
        if (sodium_memcmp(cand, a.verifier, 32) == 0) {
            found = words[i];
            matches++;
        }
    }
    double s = seconds_since(&t0);
    assert_int_equal(matches, 1);
    assert_string_equal(found, BREACH_VICTIM_PASSWORD);
    printf("offline attack with the pepper: %zu guesses in %.2f s = %.1f guesses/s per core "
           "(Argon2id opslimit %llu, %llu MiB)\n",
           guesses, s, (double)guesses / s, (unsigned long long)a.opslimit,
           (unsigned long long)(a.memlimit >> 20));
    sodium_memzero(out, sizeof out);
    sodium_memzero(key, sizeof key);
}
