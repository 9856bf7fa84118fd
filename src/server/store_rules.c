/*
 * The decisions every store backend takes on the rows it has read: login
 * throttling, session and device checks, device-link quotas and state rules
 * (store.h). They live here once, so that the SQLite and PostgreSQL backends
 * cannot drift apart; each backend only reads and writes its rows. Pure
 * functions: no database, no clock of their own.
 */
#include <sodium.h>

#include "common/common.h"
#include "server/store.h"

#define LOGIN_WAIT_CAP_MS (15 * 60 * 1000LL)

int64_t vault_server__login_wait_ms(uint64_t failures, uint32_t free_failures)
{
    if (failures < free_failures)
        return 0;
    uint64_t doublings = failures - free_failures;
    if (doublings >= 10) /* 2^10 s is past the cap already */
        return LOGIN_WAIT_CAP_MS;
    int64_t wait = (int64_t)1000 << doublings;
    return wait < LOGIN_WAIT_CAP_MS ? wait : LOGIN_WAIT_CAP_MS;
}

int vault_server__login_throttle(uint64_t failures, int64_t last_ms, int64_t now_ms,
                                 uint32_t free_failures, int64_t *retry_after_ms)
{
    int64_t allowed_at = last_ms + vault_server__login_wait_ms(failures, free_failures);
    if (failures > 0 && now_ms < allowed_at) {
        *retry_after_ms = allowed_at - now_ms;
        return vault__fail(VAULT_E_RATE_LIMITED, "too many failed attempts");
    }
    return VAULT_OK;
}

int vault_server__session_check(int revoked, int64_t expires_ms, int64_t now_ms)
{
    if (revoked)
        return vault__fail(VAULT_E_REVOKED, "this device was revoked");
    if (expires_ms <= now_ms)
        return vault__fail(VAULT_E_EXPIRED, "session expired");
    return VAULT_OK;
}

int vault_server__device_check_revoked(int revoked)
{
    return revoked ? vault__fail(VAULT_E_REVOKED, "this device was revoked") : VAULT_OK;
}

int vault_server__device_check_credential(int revoked, int has_credential)
{
    if (revoked)
        return vault__fail(VAULT_E_REVOKED, "this device was revoked");
    if (!has_credential)
        return vault__fail(VAULT_E_NOT_FOUND, "no such linked device");
    return VAULT_OK;
}

/* ---- device links ------------------------------------------------------------------ */

int vault_server__link_check_quota(uint32_t role, int64_t live)
{
    if (role == VAULT_STORE_LINK_REVERSE)
        return live >= VAULT_STORE_LINKS_UNBOUND_MAX
                   ? vault__fail(VAULT_E_LIMIT, "too many pending device links; retry later")
                   : VAULT_OK;
    return live >= VAULT_STORE_LINKS_MAX
               ? vault__fail(VAULT_E_LIMIT,
                             "too many open device links; wait for them to expire")
               : VAULT_OK;
}

int vault_server__link_check_postable(const vault_store_link *link, uint32_t role,
                                      int64_t now_ms)
{
    if (link->role != role)
        return vault__fail(VAULT_E_NOT_FOUND, "no such device link");
    if (now_ms >= link->expires_ms)
        return vault__fail(VAULT_E_EXPIRED, "this device link has expired");
    return VAULT_OK;
}

int vault_server__link_fail_reused(void)
{
    return vault__fail(VAULT_E_STATE, "this link code was already used by another device");
}

int vault_server__link_check_deliverable(const vault_store_link *link,
                                         const uint8_t *account_id, int64_t now_ms)
{
    if (sodium_memcmp(link->account_id, account_id, VAULT_STORE_ID_BYTES) != 0)
        return vault__fail(VAULT_E_NOT_FOUND, "no such device link");
    if (now_ms >= link->expires_ms)
        return vault__fail(VAULT_E_EXPIRED, "this device link has expired");
    if (link->extra_posts > 0)
        return vault__fail(VAULT_E_STATE, "another device also tried this link code");
    if (link->state != VAULT_STORE_LINK_POSTED)
        return vault__fail(VAULT_E_STATE, "this device link is not waiting for an envelope");
    return VAULT_OK;
}

static int link_is_live(uint32_t state)
{
    return state == VAULT_STORE_LINK_OPEN || state == VAULT_STORE_LINK_POSTED ||
           state == VAULT_STORE_LINK_DELIVERED;
}

int vault_server__link_check_transition(const vault_store_link *link, uint32_t expect)
{
    int expected = expect == VAULT_STORE_LINK_ANY_LIVE ? link_is_live(link->state)
                                                       : link->state == expect;
    if (expected)
        return VAULT_OK;
    return vault__fail(VAULT_E_STATE, link->state == VAULT_STORE_LINK_DONE
                                          ? "this device link was already used"
                                          : "this device link is not in that step");
}

int vault_server__link_state_is_final(uint32_t state)
{
    return state == VAULT_STORE_LINK_DONE || state == VAULT_STORE_LINK_ABORTED;
}
