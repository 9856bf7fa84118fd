/*
 * The PostgreSQL store of a build without libpq (-DVAULT_WITH_POSTGRES=OFF):
 * a postgresql:// URI is refused with VAULT_E_UNSUPPORTED, naming the option,
 * instead of being taken for a SQLite file name.
 */
#include "common/common.h"
#include "server/store.h"

int vault_server__store_open_pg(vault_store **out, const char *uri)
{
    (void)uri;
    *out = NULL;
    return vault__fail(VAULT_E_UNSUPPORTED, "this vaultd was built without PostgreSQL "
                                            "(-DVAULT_WITH_POSTGRES=OFF)");
}
