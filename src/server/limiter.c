/*
 * Per-address and global rate limits, in the server process's memory
 * (docs/security.md, "Abuse cases" A4 and A5).
 *
 * Why memory and not the store: a client address is transient and says
 * nothing about an account, so it does not belong in the database; a
 * counter here costs no transaction on the hot path of every login; and an
 * attacker who spreads over many addresses is what the global counter is
 * for. The price, accepted: several vaultd processes sharing one PostgreSQL
 * database each keep their own counters (N processes allow N times the
 * per-address rate), and a restart forgets them. The per-account lockout,
 * which must hold across processes, stays in the store.
 *
 * Fixed windows in an open-addressing table keyed by SipHash (a random key
 * per server, so a client cannot aim collisions) of the kind and the peer.
 * The table is small and bounded: when the probe range is full, the entry
 * whose window started first is reused, so a client with very many
 * addresses can push others' counters out; the global counter still bounds
 * it.
 */
#include <sodium.h>
#include <string.h>

#include "server/server.h"

#define SLOTS 4096u /* a power of two */
#define PROBES 8u

typedef struct {
    uint64_t key; /* 0: free */
    int64_t window_start_ms;
    uint32_t count;
} slot;

struct vault_server_limiter {
    pthread_mutex_t lock;
    uint8_t hash_key[crypto_shorthash_KEYBYTES];
    slot slots[SLOTS];
};

/* The window of each kind; the allowance is the server's option. */
static const int64_t window_ms[VAULT_SERVER_LIMIT_KINDS] = {
    [VAULT_SERVER_LIMIT_RELAY] = 300 * 1000,
    [VAULT_SERVER_LIMIT_GUESS_ADDRESS] = 15 * 60 * 1000,
    [VAULT_SERVER_LIMIT_GUESS_GLOBAL] = 60 * 1000,
};

int vault_server__limiter_new(vault_server_limiter **out)
{
    vault_server_limiter *l = vault__calloc(1, sizeof *l);
    if (l == NULL)
        return vault__fail(VAULT_E_NOMEM, "out of memory");
    pthread_mutex_init(&l->lock, NULL);
    crypto_shorthash_keygen(l->hash_key);
    *out = l;
    return VAULT_OK;
}

void vault_server__limiter_free(vault_server_limiter *l)
{
    if (l == NULL)
        return;
    pthread_mutex_destroy(&l->lock);
    vault__free(l);
}

static uint64_t key_of(const vault_server_limiter *l, int kind, const char *peer)
{
    uint8_t in[1 + 256], out[crypto_shorthash_BYTES];
    size_t n = strlen(peer);
    if (n > sizeof in - 1)
        n = sizeof in - 1;
    in[0] = (uint8_t)kind;
    memcpy(in + 1, peer, n);
    crypto_shorthash(out, in, n + 1, l->hash_key);
    uint64_t k = 0;
    memcpy(&k, out, sizeof k);
    return k != 0 ? k : 1;
}

/* The slot for key: its own, a free one, or the oldest in the probe range
 * (reset). Called with the lock held. */
static slot *find_slot(vault_server_limiter *l, uint64_t key)
{
    slot *victim = NULL;
    for (uint32_t i = 0; i < PROBES; i++) {
        slot *s = &l->slots[(key + i) & (SLOTS - 1)];
        if (s->key == key)
            return s;
        int better = victim == NULL ||
                     (victim->key != 0 && (s->key == 0 ||
                                           s->window_start_ms < victim->window_start_ms));
        if (better)
            victim = s;
    }
    victim->key = key;
    victim->window_start_ms = 0;
    victim->count = 0;
    return victim;
}

int vault_server__limit_take(vault_server_call *call, int kind, const char *peer)
{
    vault_server_limiter *l = call->server->limiter;
    uint64_t key = key_of(l, kind, peer);
    int status = VAULT_OK;
    pthread_mutex_lock(&l->lock);
    slot *s = find_slot(l, key);
    if (call->now_ms - s->window_start_ms >= window_ms[kind] ||
        call->now_ms < s->window_start_ms) {
        s->window_start_ms = call->now_ms;
        s->count = 0;
    }
    if ((int64_t)s->count >= call->server->limit_max[kind]) {
        call->retry_after_ms = s->window_start_ms + window_ms[kind] - call->now_ms;
        status = VAULT_E_RATE_LIMITED;
    } else {
        s->count++;
    }
    pthread_mutex_unlock(&l->lock);
    return status;
}

void vault_server__limit_refund(vault_server_call *call, int kind, const char *peer)
{
    vault_server_limiter *l = call->server->limiter;
    uint64_t key = key_of(l, kind, peer);
    pthread_mutex_lock(&l->lock);
    slot *s = find_slot(l, key);
    if (s->count > 0)
        s->count--;
    pthread_mutex_unlock(&l->lock);
}
