/*
 * zlib streams for the blob. zlib's internal state (window, hash chains,
 * pending output) holds plaintext, so its memory comes from vault__malloc
 * (allocation-failure injection reaches it) and is wiped before it is freed.
 * Each block carries its size in a small header because zfree gets no size.
 */
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

static int init_status(int zrc, const char *what)
{
    if (zrc == Z_OK)
        return VAULT_OK;
    if (zrc == Z_MEM_ERROR)
        return vault__fail(VAULT_E_NOMEM, "no memory for zlib %s", what);
    return vault__fail(VAULT_E_INTERNAL, "zlib %sInit failed (%d)", what, zrc);
}

int vault_blob__deflate_init(z_stream *s)
{
    init_stream(s);
    return init_status(deflateInit(s, BLOB_ZLIB_LEVEL), "deflate");
}

int vault_blob__inflate_init(z_stream *s)
{
    init_stream(s);
    return init_status(inflateInit(s), "inflate");
}
