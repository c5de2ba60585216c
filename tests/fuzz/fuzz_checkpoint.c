/*
 * Fuzz target: C2SP signed-note / tlog-checkpoint parsing and Ed25519
 * verification (wid_checkpoint_verify, wid_checkpoint_parse) and the
 * origin's writer/epoch split, with the fixed key of the seed corpus.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "checkpoint.h"
#include "journal_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    static int     init;
    wid_checkpoint c;
    char           w[WID_WRITER_MAX + 1];
    uint32_t       epoch;

    if (!init) {
        uint8_t seed[32], sk[64];

        if (sodium_init() < 0) {
            return 0;
        }
        memset(seed, 7, sizeof(seed));
        crypto_sign_seed_keypair(pk, sk, seed);
        init = 1;
    }
    if (wid_checkpoint_parse((const char *) data, size, &c) == WID_OK) {
        (void) wid_origin_writer(c.origin, w, &epoch);
    }
    (void) wid_checkpoint_verify((const char *) data, size, pk, &c);
    return 0;
}
