/*
 * vault_seal / vault_open: the vault's JSON through the blob layer as a
 * stream, so that neither ever holds the whole text beside the tree. Kept
 * apart from vault.c so that the item layer links without the blob module.
 */
#include "blob/blob.h"
#include "vault/vault_int.h"

static int seal_piece(void *sealer, const char *piece, size_t len)
{
    return vault_blob__seal_write(sealer, piece, len);
}

int vault_seal(const vault *v, const uint8_t *key, const char *account_id,
               uint64_t revision, uint8_t **blob, size_t *blob_len)
{
    return vault_vault__seal_chain(v, key, account_id, revision, NULL, blob, blob_len);
}

int vault_vault__seal_chain(const vault *v, const uint8_t *key, const char *account_id,
                            uint64_t revision, const vault_chain *chain, uint8_t **blob,
                            size_t *blob_len)
{
    vault_blob__sealer *s = NULL;
    if (blob != NULL)
        *blob = NULL;
    if (v == NULL || blob == NULL || blob_len == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_seal: NULL argument");
    int rc = vault_blob__seal_begin_chain(&s, key, account_id, revision, chain, v->json_hint,
                                          NULL);
    if (rc != VAULT_OK)
        return rc;
    rc = vault_vault__print_stream(v->root, seal_piece, s);
    if (rc != VAULT_OK) {
        vault_blob__seal_abort(s);
        return rc;
    }
    return vault_blob__seal_end(s, blob, blob_len);
}

static int parse_piece(void *parser, const uint8_t *piece, size_t len, size_t total)
{
    (void)total;
    return vault_vault__parse_feed(parser, (const char *)piece, len);
}

int vault_open(vault **out, const uint8_t *key, const char *account_id, uint64_t revision,
               const uint8_t *blob, size_t blob_len)
{
    return vault_vault__open_chain(out, key, account_id, revision, blob, blob_len, NULL);
}

int vault_vault__open_chain(vault **out, const uint8_t *key, const char *account_id,
                            uint64_t revision, const uint8_t *blob, size_t blob_len,
                            vault_chain *chain)
{
    vault_parser *p = NULL;
    if (out == NULL)
        return vault__fail(VAULT_E_INVALID, "vault_open: out is NULL");
    *out = NULL;
    int rc = vault_vault__parse_begin(&p);
    if (rc == VAULT_OK)
        rc = vault_blob__open_chain(key, account_id, revision, blob, blob_len, chain, parse_piece,
                                    p);
    if (rc != VAULT_OK) {
        vault_vault__parse_abort(p);
        return rc;
    }
    return vault_vault__parse_end(p, out);
}
