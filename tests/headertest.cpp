// vault.h must stand alone and build as C++ (extern "C" guards).
#include "vault.h"

int main()
{
    vault_transport_fn fn = nullptr;
    return fn == nullptr && VAULT_OK == 0 ? 0 : 1;
}
