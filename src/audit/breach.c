/*
 * Offline Pwned Passwords lookups: a local file of "SHA1HEX:COUNT" lines
 * sorted by hash (the format haveibeenpwned.com's downloader writes, CRLF or
 * LF), searched by binary search over byte offsets, so a 30 GB file costs
 * about 40 small reads per password and is never loaded. SHA-1 is nettle's.
 */
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha1.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/audit_int.h"

#define HASH_HEX 40
#define LINE_MAX_BYTES 128   /* 40 hex + ':' + a count + CRLF, with room */
#define SCAN_BELOW 4096      /* below this span, scan lines instead of bisecting */

int vault_audit__breach_open(vault_audit__breach *b, const char *path)
{
    struct stat st;
    b->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (b->fd < 0)
        return vault__fail(VAULT_E_IO, "breach file: cannot open: %s", strerror(errno));
    if (fstat(b->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(b->fd);
        b->fd = -1;
        return vault__fail(VAULT_E_IO, "breach file: not a regular file");
    }
    b->size = (uint64_t)st.st_size;
    return VAULT_OK;
}

void vault_audit__breach_close(vault_audit__breach *b)
{
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
}

/* The line starting at `at`: its hash (upper case) and count, and where the
 * next line starts. VAULT_E_INVALID when it is not HASH:COUNT. */
static int read_line(const vault_audit__breach *b, uint64_t at, char hash[HASH_HEX],
                     uint64_t *count, uint64_t *next)
{
    char buf[LINE_MAX_BYTES];
    ssize_t n = pread(b->fd, buf, sizeof buf, (off_t)at);
    if (n < 0)
        return vault__fail(VAULT_E_IO, "breach file: read failed: %s", strerror(errno));
    size_t len = (size_t)n, i = 0;
    for (; i < HASH_HEX && i < len; i++) {
        char c = buf[i];
        if (c >= 'a' && c <= 'f')
            c = (char)(c - ('a' - 'A'));
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
            break;
        hash[i] = c;
    }
    if (i != HASH_HEX || i >= len || buf[i] != ':')
        return vault__fail(VAULT_E_INVALID, "breach file: malformed line at byte %llu "
                           "(expected SHA1HEX:COUNT)", (unsigned long long)at);
    uint64_t c = 0;
    size_t digits = 0;
    for (i++; i < len && buf[i] >= '0' && buf[i] <= '9' && digits < 19; i++, digits++)
        c = c * 10 + (uint64_t)(buf[i] - '0');
    if (i < len && buf[i] == '\r')
        i++;
    if (digits == 0 || (i < len && buf[i] != '\n') || (i == len && at + len != b->size))
        return vault__fail(VAULT_E_INVALID, "breach file: malformed line at byte %llu "
                           "(expected SHA1HEX:COUNT)", (unsigned long long)at);
    *count = c;
    *next = at + i + (i < len);
    return VAULT_OK;
}

/* The first line start at or after pos (pos itself if a line ends just
 * before it); b->size if none. */
static int line_start_from(const vault_audit__breach *b, uint64_t pos, uint64_t *out)
{
    char buf[LINE_MAX_BYTES];
    uint64_t at = pos - 1; /* pos > 0 */
    for (;;) {
        ssize_t n = pread(b->fd, buf, sizeof buf, (off_t)at);
        if (n < 0)
            return vault__fail(VAULT_E_IO, "breach file: read failed: %s", strerror(errno));
        if (n == 0) {
            *out = b->size;
            return VAULT_OK;
        }
        const char *nl = memchr(buf, '\n', (size_t)n);
        if (nl != NULL) {
            *out = at + (uint64_t)(nl - buf) + 1;
            return VAULT_OK;
        }
        if ((size_t)n >= sizeof buf)
            return vault__fail(VAULT_E_INVALID, "breach file: a line is longer than %d bytes "
                               "near byte %llu", LINE_MAX_BYTES, (unsigned long long)at);
        at += (uint64_t)n;
    }
}

/* Invariant: the line for `want`, if any, starts in [lo, hi); lo is a line
 * start. Bisect while the span is large, then read the lines that remain. */
static int search(const vault_audit__breach *b, const char want[HASH_HEX], uint64_t *count)
{
    uint64_t lo = 0, hi = b->size, next, c;
    char hash[HASH_HEX];
    int rc;
    *count = 0;
    while (hi - lo > SCAN_BELOW) {
        uint64_t mid = lo + (hi - lo) / 2, start = hi;
        if ((rc = line_start_from(b, mid, &start)) != VAULT_OK)
            return rc;
        if (start >= hi) {
            hi = mid; /* no line starts in [mid, hi) */
            continue;
        }
        if ((rc = read_line(b, start, hash, &c, &next)) != VAULT_OK)
            return rc;
        int cmp = memcmp(hash, want, HASH_HEX);
        if (cmp == 0) {
            *count = c;
            return VAULT_OK;
        }
        if (cmp < 0)
            lo = next;
        else
            hi = start;
    }
    for (uint64_t at = lo; at < hi; at = next) {
        if ((rc = read_line(b, at, hash, &c, &next)) != VAULT_OK)
            return rc;
        int cmp = memcmp(hash, want, HASH_HEX);
        if (cmp == 0)
            *count = c;
        if (cmp >= 0)
            break;
    }
    return VAULT_OK;
}

int vault_audit__breach_count(const vault_audit__breach *b, const char *password,
                              uint64_t *count)
{
    struct sha1_ctx ctx;
    uint8_t digest[SHA1_DIGEST_SIZE];
    char hex[2 * SHA1_DIGEST_SIZE + 1];
    sha1_init(&ctx);
    sha1_update(&ctx, strlen(password), (const uint8_t *)password);
    sha1_digest(&ctx, sizeof digest, digest);
    vault__bin2hex(hex, digest, sizeof digest);
    for (size_t i = 0; i < HASH_HEX; i++)
        if (hex[i] >= 'a' && hex[i] <= 'f')
            hex[i] = (char)(hex[i] - ('a' - 'A'));
    int rc = search(b, hex, count);
    sodium_memzero(&ctx, sizeof ctx);
    sodium_memzero(digest, sizeof digest);
    sodium_memzero(hex, sizeof hex);
    return rc;
}
