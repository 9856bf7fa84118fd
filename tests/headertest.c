/* vault.h must stand alone: no dependency headers, valid C99 and C++. */
#include "vault.h"

int main(void)
{
    return VAULT_OK == 0 && VAULT_KEY_BYTES == 32u ? 0 : 1;
}
