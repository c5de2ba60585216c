/*
 * ECDSA verification of a JOSE signature (RFC 7518 3.4: r || s, each
 * exactly the curve's coordinate length) over a digest.
 */
#ifndef WID_ECDSA_JOSE_H
#define WID_ECDSA_JOSE_H

#include <stddef.h>

#include <openssl/evp.h>

/*
 * 1: the signature verifies; 0: it does not; -1: OpenSSL failed (no
 * memory, not an EC key).  *ec caches the key's EC_KEY for the next
 * call (owned by pkey: start with NULL, never free it).
 */
int wid_ecdsa_jose_verify(EVP_PKEY *pkey, EC_KEY **ec,
                          const unsigned char *md, size_t md_len,
                          const unsigned char *rs, size_t coord);

#endif
