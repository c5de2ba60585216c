/*
 * ECDSA verification of a JOSE signature (RFC 7518 3.4: r || s, each
 * exactly the curve's coordinate length) over a digest.
 */
#ifndef WID_ECDSA_JOSE_H
#define WID_ECDSA_JOSE_H

#include <stddef.h>

#include <openssl/evp.h>

/*
 * pkey's EC_KEY (owned by pkey: never free it), or NULL if it is not an
 * EC key.  OpenSSL 3 makes it on first request and keeps it.
 */
EC_KEY *wid_ecdsa_jose_key(EVP_PKEY *pkey);

/*
 * 1: the signature verifies; 0: it does not; -1: OpenSSL failed (no
 * memory, not an EC key).  *ec is the key's EC_KEY (wid_ecdsa_jose_key),
 * or NULL to look it up and keep it there.
 */
int wid_ecdsa_jose_verify(EVP_PKEY *pkey, EC_KEY **ec,
                          const unsigned char *md, size_t md_len,
                          const unsigned char *rs, size_t coord);

#endif
