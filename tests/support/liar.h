/* A malicious server for tests: forwards to a real in-process vault_server
 * and then lies in one chosen way. Use liar_transport with
 * vault_client_connect_custom(c, liar_transport, &liar); tests/support/world.h
 * gives every device of a scenario its own liar. */
#ifndef VAULT_TEST_LIAR_H
#define VAULT_TEST_LIAR_H

#include <stddef.h>

#include "vault.h"

typedef enum {
    LIAR_HONEST,
    LIAR_RECORD_PULL,       /* honest, but keeps a copy of the next pull answer */
    LIAR_REPLAY_PULL,       /* answers pulls with the recorded (older) answer */
    LIAR_FLIP_BLOB_BIT,     /* flips bit `arg` of the pulled blob */
    LIAR_CLAIM_NEXT_REVISION, /* claims revision+1 for the current blob */
    LIAR_WEAK_KDF,          /* login_start offers opslimit `arg` */
    LIAR_RECORD_KEY,        /* honest, but keeps the protected key of the next login_finish */
    LIAR_SWAP_PROTECTED_KEY, /* login_finish returns the recorded protected key */
    LIAR_DROP_PUSH,         /* acknowledges pushes without storing them */
    LIAR_TRUNCATE,          /* cuts every answer to `arg` bytes */
    LIAR_GARBAGE,           /* answers with non-JSON bytes */
    LIAR_RECORD_OP,         /* honest, but keeps the next successful answer to op `op` */
    LIAR_REPLAY_OP,         /* answers op `op` with the recorded answer (no server call) */
    LIAR_OVERSIZE,          /* answers every request with `arg` bytes: {"ok":true, spaces } */
    LIAR_REWRITE,           /* in answers to op `op`, sets member `member` to the JSON `value` */
    LIAR_SWAP_LINK_KEY,     /* link_post_key / link_accept requests carry a public key of its own */
    LIAR_FLIP_ENVELOPE,     /* flips bit `arg` of link_fetch's envelope, counted from its end */
    LIAR_LOSE_PUSH_ANSWER,  /* stores pushes, then fails the transport (the answer is lost) */
} liar_mode;

typedef struct liar {
    vault_server *server;
    liar_mode mode;
    size_t arg;
    char *recorded;     /* a recorded answer (pull or login), vault_free'd by liar_reset */
    int dropped_pushes; /* how many pushes were acknowledged but not stored */
    size_t last_blob_len; /* decoded size of the last honest pull's blob */
    const char *op;     /* the operation LIAR_RECORD_OP / LIAR_REPLAY_OP / LIAR_REWRITE act on */
    const char *member; /* LIAR_REWRITE: the answer member to replace */
    const char *value;  /* LIAR_REWRITE: its new value, as JSON text */
    int replays;        /* how many answers LIAR_REPLAY_OP / LIAR_REWRITE forged */
    char last_op[32];   /* the operation of the last request the client sent */
    /* With keep_requests set: every request text the client sent, one after
     * the other (vault_free'd by liar_reset), as a malicious server keeps. */
    int keep_requests;
    char *requests;
    size_t requests_len;
    /* Whatever the mode: requests to op `canned_op` are answered with the JSON
     * text `canned`, without reaching the server (NULL: off). */
    const char *canned_op;
    const char *canned;
} liar;

int liar_transport(const char *request, size_t request_len, char **response,
                   size_t *response_len, void *ctx);
/* Resets everything but the server: honest again, nothing recorded. */
void liar_reset(liar *l);

/* A transport with no server behind it: every call is VAULT_E_NETWORK. */
int liar_offline_transport(const char *request, size_t request_len, char **response,
                           size_t *response_len, void *ctx);

#endif
