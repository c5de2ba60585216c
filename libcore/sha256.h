/*
 * SHA-256 on the hot paths: receipt leaf and Merkle node hashes, JWT
 * cache keys.  OpenSSL's own implementation (with the CPU's SHA
 * instructions where it has them), reached without the EVP layer: see
 * sha256.c for why.
 */
#ifndef WID_SHA256_H
#define WID_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define WID_SHA256_LEN 32

typedef struct {
    const void  *data;
    size_t       len;
} wid_sha256_part;

/*
 * A hash in progress, for input whose start is hashed once and then
 * continued many times (a copy of the context continues it): OpenSSL's
 * SHA256_CTX, kept opaque here so that callers need no OpenSSL header.
 */
typedef struct {
    uint64_t     opaque[16];
} wid_sha256_ctx;

void wid_sha256_init(wid_sha256_ctx *c);
void wid_sha256_update(wid_sha256_ctx *c, const void *data, size_t len);
/* The digest; *c is wiped. */
void wid_sha256_final(wid_sha256_ctx *c, uint8_t out[WID_SHA256_LEN]);
/*
 * The digest of public input (receipts, Merkle nodes: bytes that are
 * written to disk as they are), *c left as OpenSSL leaves it: no wipe.
 */
void wid_sha256_final_public(wid_sha256_ctx *c, uint8_t out[WID_SHA256_LEN]);

/* SHA-256 of data. */
void wid_sha256(const void *data, size_t len, uint8_t out[WID_SHA256_LEN]);

/* SHA-256 of the concatenation of n parts. */
void wid_sha256_parts(const wid_sha256_part *parts, size_t n,
                      uint8_t out[WID_SHA256_LEN]);

/*
 * In one pass: the SHA-256 of the first prefix_len of len bytes at data
 * into prefix_md, and, when whole_md is not NULL, that of all len bytes
 * (a JWS's signing input and the whole token).  prefix_len <= len.
 */
void wid_sha256_prefix(const void *data, size_t prefix_len, size_t len,
                       uint8_t prefix_md[WID_SHA256_LEN],
                       uint8_t whole_md[WID_SHA256_LEN]);

#endif
