/*
 * Fuzz target: `wid receipt verify` input, a receipt proof file
 * (wid-receipt-proof-v1 JSON), checked with the fixed key of the seed
 * corpus; a proof that verifies is rendered as the CLI does.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "journal_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static wid_pubkey pk;
    static int        init;
    json_t           *proof, *out;
    json_error_t      err;
    uint8_t          *bytes = NULL;
    wid_receipt_view  v;
    wid_checkpoint    cp;

    if (!init) {
        uint8_t seed[32], sk[64];

        if (sodium_init() < 0) {
            return 0;
        }
        memset(seed, 7, sizeof(seed));
        crypto_sign_seed_keypair(pk.pk, sk, seed);
        init = 1;
    }
    proof = json_loadb((const char *) data, size, 0, &err);
    if (proof == NULL) {
        return 0;
    }
    if (wid_receipt_proof_verify(proof, &pk, &bytes, &v, &cp) == WID_OK) {
        out = wid_receipt_view_json(&v, json_string_value(
                                        json_object_get(proof, "id")));
        json_decref(out);
        free(bytes);
    }
    json_decref(proof);
    return 0;
}
