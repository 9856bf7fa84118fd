/*
 * Password proofs: the OPAQUE state between login_start and the request that
 * carries KE3 (login_finish, or a step-up operation), and its check.
 *
 * The server keeps no table of pending logins: login_start seals its state
 * (what KE3 must be, the session key, the account, an expiry) with
 * XChaCha20-Poly1305 under a pepper subkey and hands it to the client, which
 * returns it with KE3. The client can read nothing in it and change nothing
 * without failing the tag. A state is good for LOGIN_STATE_TTL_MS.
 */
#include <sodium.h>
#include <string.h>

#include "server/server.h"

#define LOGIN_STATE_TTL_MS (5 * 60 * 1000LL)
#define STATE_VERSION 2u
#define PLAIN_BYTES (1u + 8u + VAULT_SERVER_HASH_BYTES + VAULT_STORE_ID_BYTES + 1u + \
                     VAULT_OPAQUE_NM + VAULT_OPAQUE_NX)
#define SEALED_BYTES                                                                       \
    (crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + PLAIN_BYTES +                            \
     crypto_aead_xchacha20poly1305_ietf_ABYTES)

static const uint8_t STATE_AD[] = "zkvault login state";

int vault_server__reply_login_state(vault_server_call *call, vault_server_login_state *st)
{
    uint8_t plain[PLAIN_BYTES], sealed[SEALED_BYTES];
    uint8_t *p = plain;
    *p++ = STATE_VERSION;
    st->expires_ms = call->now_ms + LOGIN_STATE_TTL_MS;
    vault__store64_be(p, (uint64_t)st->expires_ms);
    p += 8;
    memcpy(p, st->email_hash, VAULT_SERVER_HASH_BYTES);
    p += VAULT_SERVER_HASH_BYTES;
    memcpy(p, st->account_id, VAULT_STORE_ID_BYTES);
    p += VAULT_STORE_ID_BYTES;
    *p++ = st->known;
    memcpy(p, st->opaque.expected_client_mac, VAULT_OPAQUE_NM);
    p += VAULT_OPAQUE_NM;
    memcpy(p, st->opaque.session_key, VAULT_OPAQUE_NX);
    randombytes_buf(sealed, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        sealed + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL, plain, sizeof plain,
        STATE_AD, sizeof STATE_AD - 1, NULL, sealed, call->server->keys->login_state);
    sodium_memzero(plain, sizeof plain);
    return vault_server__reply_hex(call, "login_state", sealed, sizeof sealed);
}

static int open_state(vault_server_call *call, vault_server_login_state *st)
{
    uint8_t sealed[SEALED_BYTES], plain[PLAIN_BYTES];
    const uint8_t *p = plain;
    int status = vault_server__req_hex(call, "login_state", sealed, sizeof sealed);
    if (status != VAULT_OK)
        return status;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            plain, NULL, NULL, sealed + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
            sizeof sealed - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, STATE_AD,
            sizeof STATE_AD - 1, sealed, call->server->keys->login_state) != 0 ||
        plain[0] != STATE_VERSION)
        return vault__fail(VAULT_E_AUTH, "%s: login state not issued by this server", call->op);
    p++;
    st->expires_ms = (int64_t)vault__load64_be(p);
    p += 8;
    memcpy(st->email_hash, p, VAULT_SERVER_HASH_BYTES);
    p += VAULT_SERVER_HASH_BYTES;
    memcpy(st->account_id, p, VAULT_STORE_ID_BYTES);
    p += VAULT_STORE_ID_BYTES;
    st->known = *p++;
    memcpy(st->opaque.expected_client_mac, p, VAULT_OPAQUE_NM);
    p += VAULT_OPAQUE_NM;
    memcpy(st->opaque.session_key, p, VAULT_OPAQUE_NX);
    sodium_memzero(plain, sizeof plain);
    if (call->now_ms >= st->expires_ms)
        return vault__fail(VAULT_E_EXPIRED, "%s: the login took too long; start again", call->op);
    return VAULT_OK;
}

int vault_server__check_proof(vault_server_call *call, vault_server_login_state *st,
                              uint8_t session_key[VAULT_OPAQUE_NX])
{
    uint8_t ke3[VAULT_OPAQUE_KE3_BYTES];
    int status = vault_server__req_hex(call, "ke3", ke3, sizeof ke3);
    if (status == VAULT_OK)
        status = open_state(call, st);
    if (status != VAULT_OK)
        return status;
    /* An unknown email's state fails here too, in the same way: its
     * expected MAC came from a fake record nobody can answer. */
    status = vault__opaque_server_finish(session_key, &st->opaque, ke3);
    if (status != VAULT_OK || !st->known)
        return vault__fail(VAULT_E_AUTH, "wrong email or password");
    /* The guess login_start kept (VAULT_SERVER_OP_GUESS_KEPT) was right. */
    vault_server__limit_refund(call, VAULT_SERVER_LIMIT_GUESS_GLOBAL, "");
    if (call->peer != NULL)
        vault_server__limit_refund(call, VAULT_SERVER_LIMIT_GUESS_ADDRESS, call->peer);
    return VAULT_OK;
}

int vault_server__step_up(vault_server_call *call, vault_server_login_state *st,
                          uint8_t session_key[VAULT_OPAQUE_NX])
{
    int status = vault_server__check_proof(call, st, session_key);
    if (status == VAULT_OK &&
        sodium_memcmp(st->account_id, call->session.account_id, VAULT_STORE_ID_BYTES) != 0)
        status = vault__fail(VAULT_E_AUTH, "%s: the password proof is for another account",
                             call->op);
    if (status != VAULT_OK)
        sodium_memzero(session_key, VAULT_OPAQUE_NX);
    return status;
}
