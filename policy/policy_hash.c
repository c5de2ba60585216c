#include <openssl/sha.h>

#include "policy_hash.h"

void
wid_policy_hash(const unsigned char *bytes, size_t len,
                unsigned char out[WID_POLICY_HASH_LEN])
{
    SHA256(bytes, len, out);
}
