/*
 * zlib streams for the blob. zlib's internal state (window, hash chains,
 * pending output) holds plaintext, so its memory comes from vault__malloc
 * (allocation-failure injection reaches it) and is wiped before it is freed.
 * Each block carries its size in a small header because zfree gets no size.
 */
#include <limits.h>
#include <sodium.h>
#include <string.h>
#include <zlib.h>

#include "blob/blob_int.h"
#include "common/common.h"

#define ZBLOCK_HEADER 16u /* keeps zlib's blocks 16-byte aligned */

static voidpf zalloc_wiping(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    size_t n = (size_t)items * size;
    if (size != 0 && n / size != items)
        return Z_NULL;
    uint8_t *base = vault__malloc(ZBLOCK_HEADER + n);
    if (base == NULL)
        return Z_NULL;
    memcpy(base, &n, sizeof n);
    return base + ZBLOCK_HEADER;
}

static void zfree_wiping(voidpf opaque, voidpf ptr)
{
    (void)opaque;
    if (ptr == NULL)
        return;
    uint8_t *base = (uint8_t *)ptr - ZBLOCK_HEADER;
    size_t n;
    memcpy(&n, base, sizeof n);
    vault__wipe_free(base, ZBLOCK_HEADER + n);
}

static void init_stream(z_stream *s)
{
    memset(s, 0, sizeof *s);
    s->zalloc = zalloc_wiping;
    s->zfree = zfree_wiping;
    s->opaque = Z_NULL;
}

size_t vault_blob__deflate_bound(size_t src_len)
{
    /* compressBound() is zlib's bound for exactly our parameters (deflateInit
     * defaults); a little headroom costs nothing. */
    return (size_t)compressBound((uLong)src_len) + 64u;
}

int vault_blob__deflate(uint8_t *dst, size_t *dst_len, const uint8_t *src, size_t src_len)
{
    if (src_len > UINT_MAX || *dst_len > UINT_MAX || *dst_len < vault_blob__deflate_bound(src_len))
        return vault__fail(VAULT_E_INTERNAL, "deflate buffer sizes out of range");
    z_stream s;
    init_stream(&s);
    int zrc = deflateInit(&s, BLOB_ZLIB_LEVEL);
    if (zrc == Z_MEM_ERROR)
        return vault__fail(VAULT_E_NOMEM, "no memory for zlib compression");
    if (zrc != Z_OK)
        return vault__fail(VAULT_E_INTERNAL, "zlib deflateInit failed (%d)", zrc);

    /* zlib only reads through next_in, but its API type is not const. */
    s.next_in = (Bytef *)(uintptr_t)src;
    s.avail_in = (uInt)src_len;
    s.next_out = dst;
    s.avail_out = (uInt)*dst_len;
    zrc = deflate(&s, Z_FINISH); /* one call: the output fits by construction */
    size_t produced = s.total_out;
    deflateEnd(&s);
    if (zrc != Z_STREAM_END)
        return vault__fail(VAULT_E_INTERNAL, "zlib deflate did not finish (%d)", zrc);
    *dst_len = produced;
    return VAULT_OK;
}

/* Z_FINISH in a single call lets inflate write straight into dst without
 * keeping a sliding window. avail_out is exactly the announced length, so a
 * stream that would inflate further stops there: no decompression bomb can
 * write past dst. */
int vault_blob__inflate(uint8_t *dst, size_t dst_len, const uint8_t *src, size_t src_len)
{
    if (src_len > UINT_MAX || dst_len > UINT_MAX)
        return vault__fail(VAULT_E_CORRUPT, "compressed data too large");
    z_stream s;
    init_stream(&s);
    s.next_in = (Bytef *)(uintptr_t)src;
    s.avail_in = (uInt)src_len;
    int zrc = inflateInit(&s);
    if (zrc == Z_MEM_ERROR)
        return vault__fail(VAULT_E_NOMEM, "no memory for zlib decompression");
    if (zrc != Z_OK)
        return vault__fail(VAULT_E_INTERNAL, "zlib inflateInit failed (%d)", zrc);
    s.next_out = dst;
    s.avail_out = (uInt)dst_len;
    zrc = inflate(&s, Z_FINISH);
    size_t produced = s.total_out;
    uInt left_in = s.avail_in;
    inflateEnd(&s);

    if (zrc == Z_MEM_ERROR)
        return vault__fail(VAULT_E_NOMEM, "no memory for zlib decompression");
    if (zrc == Z_DATA_ERROR || zrc == Z_NEED_DICT)
        return vault__fail(VAULT_E_CORRUPT, "compressed data is not a valid zlib stream");
    if (zrc != Z_STREAM_END) {
        if (produced == dst_len)
            return vault__fail(VAULT_E_CORRUPT, "inflated data longer than announced");
        return vault__fail(VAULT_E_CORRUPT, "compressed data truncated");
    }
    if (produced != dst_len)
        return vault__fail(VAULT_E_CORRUPT, "inflated data shorter than announced");
    if (left_in != 0)
        return vault__fail(VAULT_E_CORRUPT, "trailing bytes after the compressed data");
    return VAULT_OK;
}
