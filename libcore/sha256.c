/*
 * SHA-256 through OpenSSL's SHA256_Init/Update/Final.
 *
 * OpenSSL 3 deprecates these in favour of EVP, but they reach the same
 * block function (SHA-NI, AVX2) with a fraction of the code: no provider
 * dispatch, no context allocation, no parameter lookups.  That code is
 * what matters between two requests, when the caches hold nginx's and
 * TLS's working set rather than ours: a 381-byte leaf hash costs 470 ns
 * this way and 900 ns through a reused EVP context (406 and 360 ns with
 * hot caches; see bench/NOTES.md).
 *
 * These functions cannot fail for in-memory input; a failure would make
 * every proof meaningless, so it aborts.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <stdlib.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "sha256.h"


_Static_assert(sizeof(SHA256_CTX) <= sizeof(wid_sha256_ctx),
               "wid_sha256_ctx holds a SHA256_CTX");
_Static_assert(_Alignof(SHA256_CTX) <= _Alignof(wid_sha256_ctx),
               "wid_sha256_ctx is aligned for a SHA256_CTX");


void
wid_sha256_init(wid_sha256_ctx *c)
{
    if (SHA256_Init((SHA256_CTX *) c) != 1) {
        abort();
    }
}


void
wid_sha256_update(wid_sha256_ctx *c, const void *data, size_t len)
{
    if (len && SHA256_Update((SHA256_CTX *) c, data, len) != 1) {
        abort();
    }
}


void
wid_sha256_final_public(wid_sha256_ctx *c, uint8_t out[WID_SHA256_LEN])
{
    if (SHA256_Final(out, (SHA256_CTX *) c) != 1) {
        abort();
    }
}


void
wid_sha256_final(wid_sha256_ctx *c, uint8_t out[WID_SHA256_LEN])
{
    wid_sha256_final_public(c, out);
    OPENSSL_cleanse(c, sizeof(*c));
}


void
wid_sha256(const void *data, size_t len, uint8_t out[WID_SHA256_LEN])
{
    wid_sha256_part part = { data, len };

    wid_sha256_parts(&part, 1, out);
}


void
wid_sha256_parts(const wid_sha256_part *parts, size_t n,
                 uint8_t out[WID_SHA256_LEN])
{
    wid_sha256_ctx  c;
    size_t          i;

    wid_sha256_init(&c);
    for (i = 0; i < n; i++) {
        wid_sha256_update(&c, parts[i].data, parts[i].len);
    }
    /* The input may be a bearer token: final leaves none of it behind. */
    wid_sha256_final(&c, out);
}


void
wid_sha256_prefix(const void *data, size_t prefix_len, size_t len,
                  uint8_t prefix_md[WID_SHA256_LEN],
                  uint8_t whole_md[WID_SHA256_LEN])
{
    wid_sha256_ctx  c, whole;

    if (prefix_len > len) {
        abort();
    }
    wid_sha256_init(&c);
    wid_sha256_update(&c, data, prefix_len);
    if (whole_md != NULL) {
        /* The state after the prefix is where the whole continues. */
        whole = c;
        wid_sha256_update(&whole, (const uint8_t *) data + prefix_len,
                          len - prefix_len);
        wid_sha256_final(&whole, whole_md);
    }
    wid_sha256_final(&c, prefix_md);
}
