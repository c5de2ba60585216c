/*
 * RFC 6962 Merkle trees.  Hashing goes through OpenSSL's SHA-256
 * (sha256.h); the tree shapes follow RFC 6962 section 2.1 and the
 * verification algorithms RFC 9162 section 2.1.3.2 / 2.1.4.2.  What a
 * tree hashes is public (leaves are stored as they are), so no hash
 * context here is wiped.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "merkle.h"
#include "sha256.h"


void
wid_merkle_leaf_hash(const void *data, size_t len, uint8_t out[WID_HASH_LEN])
{
    wid_sha256_ctx  c;

    wid_merkle_leaf_begin(&c, data, len);
    wid_sha256_final_public(&c, out);
}


void
wid_merkle_leaf_begin(wid_sha256_ctx *c, const void *data, size_t len)
{
    static const uint8_t  prefix = 0x00;

    wid_sha256_init(c);
    wid_sha256_update(c, &prefix, 1);
    wid_sha256_update(c, data, len);
}


void
wid_merkle_leaf_finish(const wid_sha256_ctx *c, const void *rest, size_t len,
                       uint8_t out[WID_HASH_LEN])
{
    wid_sha256_ctx  leaf = *c;

    wid_sha256_update(&leaf, rest, len);
    wid_sha256_final_public(&leaf, out);
}


void
wid_merkle_node_hash(const uint8_t left[WID_HASH_LEN],
                     const uint8_t right[WID_HASH_LEN],
                     uint8_t out[WID_HASH_LEN])
{
    wid_sha256_ctx  c;
    uint8_t         buf[1 + 2 * WID_HASH_LEN];

    buf[0] = 0x01;
    memcpy(buf + 1, left, WID_HASH_LEN);
    memcpy(buf + 1 + WID_HASH_LEN, right, WID_HASH_LEN);
    wid_sha256_init(&c);
    wid_sha256_update(&c, buf, sizeof(buf));
    wid_sha256_final_public(&c, out);
}


void
wid_merkle_frontier_init(wid_merkle_frontier *f)
{
    memset(f, 0, sizeof(*f));
}


int
wid_merkle_frontier_append(wid_merkle_frontier *f,
                           const uint8_t leaf_hash[WID_HASH_LEN])
{
    uint8_t  h[WID_HASH_LEN];
    unsigned k = 0;

    if (f->size == UINT64_MAX) {
        return -1;
    }
    memcpy(h, leaf_hash, WID_HASH_LEN);
    /* Carry: every set low bit merges into one bigger perfect subtree. */
    while (f->size & ((uint64_t) 1 << k)) {
        wid_merkle_node_hash(f->nodes[k], h, h);
        k++;
    }
    memcpy(f->nodes[k], h, WID_HASH_LEN);
    f->size++;
    return 0;
}


void
wid_merkle_frontier_root(const wid_merkle_frontier *f,
                         uint8_t out[WID_HASH_LEN])
{
    uint8_t  h[WID_HASH_LEN];
    unsigned k;
    int      have = 0;

    if (f->size == 0) {
        wid_sha256("", 0, out);
        return;
    }
    /* Fold from the smallest (rightmost) subtree towards the left. */
    for (k = 0; k < 64; k++) {
        if (!(f->size & ((uint64_t) 1 << k))) {
            continue;
        }
        if (!have) {
            memcpy(h, f->nodes[k], WID_HASH_LEN);
            have = 1;
        } else {
            wid_merkle_node_hash(f->nodes[k], h, h);
        }
    }
    memcpy(out, h, WID_HASH_LEN);
}


int
wid_merkle_frontier_node(const wid_merkle_frontier *f, uint64_t lo,
                         uint64_t hi, uint8_t out[WID_HASH_LEN])
{
    uint64_t w;
    unsigned k;

    if (hi <= lo || hi > f->size) {
        return -1;
    }
    w = hi - lo;
    if (w & (w - 1)) {
        return -1;
    }
    k = (unsigned) __builtin_ctzll(w);
    if (!(f->size & w)) {
        return -1;
    }
    /* Subtree k starts after all bigger subtrees: size with bits <= k off. */
    if (k == 63 ? lo != 0 : lo != ((f->size >> (k + 1)) << (k + 1))) {
        return -1;
    }
    memcpy(out, f->nodes[k], WID_HASH_LEN);
    return 0;
}


void
wid_merkle_root(const uint8_t (*leaves)[WID_HASH_LEN], uint64_t n,
                uint8_t out[WID_HASH_LEN])
{
    wid_merkle_frontier f;
    uint64_t            i;

    wid_merkle_frontier_init(&f);
    for (i = 0; i < n; i++) {
        (void) wid_merkle_frontier_append(&f, leaves[i]);
    }
    wid_merkle_frontier_root(&f, out);
}


int
wid_merkle_array_range(void *ctx, uint64_t lo, uint64_t hi,
                       uint8_t out[WID_HASH_LEN])
{
    const uint8_t (*leaves)[WID_HASH_LEN] = ctx;

    if (hi <= lo) {
        return -1;
    }
    wid_merkle_root(leaves + lo, hi - lo, out);
    return 0;
}


/* Largest power of two strictly below n (n >= 2). */
static uint64_t
wid_merkle_split(uint64_t n)
{
    return (uint64_t) 1 << (63 - __builtin_clzll(n - 1));
}


static int
wid_merkle_push(wid_merkle_range_fn fn, void *ctx, uint64_t lo, uint64_t hi,
                uint8_t proof[][WID_HASH_LEN], size_t *count)
{
    if (*count >= WID_MERKLE_MAX_PROOF) {
        return -1;
    }
    if (fn(ctx, lo, hi, proof[*count]) != 0) {
        return -1;
    }
    (*count)++;
    return 0;
}


/*
 * PATH(m, D[off:off+n]).  Recursion depth is at most 64.  The sibling of
 * the top split is pushed last, so the proof runs from leaf to root.
 */
static int
wid_merkle_path(wid_merkle_range_fn fn, void *ctx, uint64_t m, uint64_t off,
                uint64_t n, uint8_t proof[][WID_HASH_LEN], size_t *count)
{
    uint64_t k;

    if (n <= 1) {
        return 0;
    }
    k = wid_merkle_split(n);
    if (m < k) {
        if (wid_merkle_path(fn, ctx, m, off, k, proof, count) != 0) {
            return -1;
        }
        return wid_merkle_push(fn, ctx, off + k, off + n, proof, count);
    }
    if (wid_merkle_path(fn, ctx, m - k, off + k, n - k, proof, count) != 0) {
        return -1;
    }
    return wid_merkle_push(fn, ctx, off, off + k, proof, count);
}


int
wid_merkle_inclusion_proof(wid_merkle_range_fn fn, void *ctx, uint64_t index,
                           uint64_t size, uint8_t proof[][WID_HASH_LEN],
                           size_t *count)
{
    *count = 0;
    if (index >= size) {
        return -1;
    }
    return wid_merkle_path(fn, ctx, index, 0, size, proof, count);
}


/* SUBPROOF(m, D[off:off+n], b) of RFC 6962 section 2.1.2. */
static int
wid_merkle_subproof(wid_merkle_range_fn fn, void *ctx, uint64_t m,
                    uint64_t off, uint64_t n, int b,
                    uint8_t proof[][WID_HASH_LEN], size_t *count)
{
    uint64_t k;

    if (m == n) {
        return b ? 0 : wid_merkle_push(fn, ctx, off, off + n, proof, count);
    }
    k = wid_merkle_split(n);
    if (m <= k) {
        if (wid_merkle_subproof(fn, ctx, m, off, k, b, proof, count) != 0) {
            return -1;
        }
        return wid_merkle_push(fn, ctx, off + k, off + n, proof, count);
    }
    if (wid_merkle_subproof(fn, ctx, m - k, off + k, n - k, 0, proof, count)
        != 0)
    {
        return -1;
    }
    return wid_merkle_push(fn, ctx, off, off + k, proof, count);
}


int
wid_merkle_consistency_proof(wid_merkle_range_fn fn, void *ctx, uint64_t m,
                             uint64_t n, uint8_t proof[][WID_HASH_LEN],
                             size_t *count)
{
    *count = 0;
    if (m > n) {
        return -1;
    }
    if (m == 0 || m == n) {
        return 0;
    }
    return wid_merkle_subproof(fn, ctx, m, 0, n, 1, proof, count);
}


int
wid_merkle_verify_inclusion(uint64_t index, uint64_t size,
                            const uint8_t leaf_hash[WID_HASH_LEN],
                            const uint8_t proof[][WID_HASH_LEN], size_t count,
                            const uint8_t root[WID_HASH_LEN])
{
    uint8_t  r[WID_HASH_LEN];
    uint64_t fn, sn;
    size_t   i;

    if (index >= size || count > WID_MERKLE_MAX_PROOF) {
        return -1;
    }
    fn = index;
    sn = size - 1;
    memcpy(r, leaf_hash, WID_HASH_LEN);
    for (i = 0; i < count; i++) {
        if (sn == 0) {
            return -1;
        }
        if ((fn & 1) || fn == sn) {
            wid_merkle_node_hash(proof[i], r, r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            wid_merkle_node_hash(r, proof[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0) {
        return -1;
    }
    return sodium_memcmp(r, root, WID_HASH_LEN) == 0 ? 0 : -1;
}


int
wid_merkle_verify_consistency(uint64_t size1, uint64_t size2,
                              const uint8_t root1[WID_HASH_LEN],
                              const uint8_t root2[WID_HASH_LEN],
                              const uint8_t proof[][WID_HASH_LEN],
                              size_t count)
{
    uint8_t        fr[WID_HASH_LEN], sr[WID_HASH_LEN];
    const uint8_t *c;
    uint64_t       fn, sn;
    size_t         i, start;

    if (size2 < size1 || count > WID_MERKLE_MAX_PROOF) {
        return -1;
    }
    if (size1 == 0) {
        /* Trivially true, so proving it proves nothing: refuse. */
        return -1;
    }
    if (size1 == size2) {
        if (count != 0) {
            return -1;
        }
        return sodium_memcmp(root1, root2, WID_HASH_LEN) == 0 ? 0 : -1;
    }
    if (count == 0) {
        return -1;
    }

    /* A power-of-two first tree is itself the first node of the path. */
    if ((size1 & (size1 - 1)) == 0) {
        c = root1;
        start = 0;
    } else {
        c = proof[0];
        start = 1;
    }
    fn = size1 - 1;
    sn = size2 - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    memcpy(fr, c, WID_HASH_LEN);
    memcpy(sr, c, WID_HASH_LEN);
    for (i = start; i < count; i++) {
        if (sn == 0) {
            return -1;
        }
        if ((fn & 1) || fn == sn) {
            wid_merkle_node_hash(proof[i], fr, fr);
            wid_merkle_node_hash(proof[i], sr, sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            wid_merkle_node_hash(sr, proof[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0) {
        return -1;
    }
    if (sodium_memcmp(fr, root1, WID_HASH_LEN) != 0
        || sodium_memcmp(sr, root2, WID_HASH_LEN) != 0)
    {
        return -1;
    }
    return 0;
}
