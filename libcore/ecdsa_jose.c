/*
 * ECDSA over a JOSE r || s signature, through OpenSSL's ECDSA_do_verify.
 *
 * The EVP route wants DER: the signature was encoded (ECDSA_SIG, two
 * BIGNUMs, i2d) only for the provider to decode it again (d2i) before
 * the same ECDSA_do_verify.  Inside nginx, between requests, that round
 * trip and the provider dispatch cost about 1.3 us of a cache-missed
 * ES256 request (bench/NOTES.md); OpenSSL 3 deprecates the EC_KEY
 * functions used here but ships them, and they reach the same code.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>

#include "ecdsa_jose.h"


EC_KEY *
wid_ecdsa_jose_key(EVP_PKEY *pkey)
{
    EC_KEY *ec = (EC_KEY *) EVP_PKEY_get0_EC_KEY(pkey);

    if (ec == NULL) {
        ERR_clear_error();
    }
    return ec;
}

int
wid_ecdsa_jose_verify(EVP_PKEY *pkey, EC_KEY **ec, const unsigned char *md,
                      size_t md_len, const unsigned char *rs, size_t coord)
{
    ECDSA_SIG *sig;
    BIGNUM    *r, *s;
    int        rc;

    if (*ec == NULL && (*ec = wid_ecdsa_jose_key(pkey)) == NULL) {
        return -1;
    }

    sig = ECDSA_SIG_new();
    r = BN_bin2bn(rs, (int) coord, NULL);
    s = BN_bin2bn(rs + coord, (int) coord, NULL);
    if (sig == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(sig, r, s)) {
        ECDSA_SIG_free(sig);
        BN_free(r);
        BN_free(s);
        ERR_clear_error();
        return -1;
    }

    /* Out-of-range r or s (zero, >= the order) is a bad signature. */
    rc = ECDSA_do_verify(md, (int) md_len, sig, *ec);
    ECDSA_SIG_free(sig);
    if (rc != 1) {
        ERR_clear_error();
    }
    return rc == 1 ? 1 : rc == 0 ? 0 : -1;
}
