#include <sodium.h>

#include "policy_hash.h"

/*
 * libsodium's SHA-256: the same digest as OpenSSL's, without a provider
 * fetch (measurable in `ssh-wid-helper principals`, which hashes the
 * policy once per login and exits).
 */
void
wid_policy_hash(const unsigned char *bytes, size_t len,
                unsigned char out[WID_POLICY_HASH_LEN])
{
    /* Idempotent and cheap after the first call; required before use.
     * SHA-256 itself cannot fail: -1 (no usable randomness) does not
     * concern it. */
    if (sodium_init() < 0) {
        /* fall through: crypto_hash_sha256 needs no random source */
    }
    crypto_hash_sha256(out, bytes, (unsigned long long) len);
}
