/*
 * Fuzz target: public-key PEM files as operators and auditors supply them
 * (policy signer keys, receipt verification keys).
 */
#include <stddef.h>
#include <stdint.h>

#include "keyfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wid_pubkey pub;

    (void) wid_pubkey_parse_pem(data, size, &pub);
    return 0;
}
