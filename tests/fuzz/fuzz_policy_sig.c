/*
 * Fuzz target: detached policy signature files (wid-policy-signature-v1),
 * checked over a fixed policy with a fixed public key.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "policy_sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char pol[] = "rules:\n  r:\n    allow: [a]\n";
    wid_pubkey pub;
    char       kid[WID_KEY_ID_HEX_LEN + 1];

    memset(&pub, 0x42, sizeof(pub));
    (void) wid_policy_sig_verify(pol, sizeof(pol) - 1, data, size, &pub,
                                 kid);
    return 0;
}
