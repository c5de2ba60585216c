/*
 * RFC 6962 / RFC 9162 Merkle tree hashing with SHA-256: leaf and node
 * hashes, an append-only frontier (the compact state a log writer keeps),
 * inclusion and consistency proof generation and verification.
 *
 *   leaf hash  = SHA-256(0x00 || data)
 *   node hash  = SHA-256(0x01 || left || right)
 *   empty tree = SHA-256("")
 */
#ifndef WID_MERKLE_H
#define WID_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

#define WID_HASH_LEN WID_SHA256_LEN

/* Longest proof for a tree of at most 2^64 - 1 leaves (consistency: 64+1). */
#define WID_MERKLE_MAX_PROOF 66

void wid_merkle_leaf_hash(const void *data, size_t len,
                          uint8_t out[WID_HASH_LEN]);

/*
 * A leaf hash in two steps, for leaves that share their first bytes:
 * begin with those (len bytes at data), then finish a copy of c with the
 * rest of each leaf.  The same hash as wid_merkle_leaf_hash of the whole.
 */
void wid_merkle_leaf_begin(wid_sha256_ctx *c, const void *data, size_t len);
void wid_merkle_leaf_finish(const wid_sha256_ctx *c, const void *rest,
                            size_t len, uint8_t out[WID_HASH_LEN]);
void wid_merkle_node_hash(const uint8_t left[WID_HASH_LEN],
                          const uint8_t right[WID_HASH_LEN],
                          uint8_t out[WID_HASH_LEN]);

/*
 * The frontier of a tree of `size` leaves: for every bit k set in size,
 * nodes[k] is the hash of the perfect subtree of 2^k leaves that ends
 * where the next smaller one begins.  That is all a writer needs to append
 * and to compute the root: O(log n) memory, amortised one hash per leaf.
 */
typedef struct {
    uint64_t size;
    uint8_t  nodes[64][WID_HASH_LEN];
} wid_merkle_frontier;

void wid_merkle_frontier_init(wid_merkle_frontier *f);

/* Returns -1 (and changes nothing) if the tree is full. */
int wid_merkle_frontier_append(wid_merkle_frontier *f,
                               const uint8_t leaf_hash[WID_HASH_LEN]);

void wid_merkle_frontier_root(const wid_merkle_frontier *f,
                              uint8_t out[WID_HASH_LEN]);

/*
 * If [lo, hi) is one of the frontier's perfect subtrees, copy its hash to
 * out and return 0; else return -1.
 */
int wid_merkle_frontier_node(const wid_merkle_frontier *f, uint64_t lo,
                             uint64_t hi, uint8_t out[WID_HASH_LEN]);

/* Root (MTH) over an array of leaf hashes. */
void wid_merkle_root(const uint8_t (*leaves)[WID_HASH_LEN], uint64_t n,
                     uint8_t out[WID_HASH_LEN]);

/*
 * Proof generation asks the caller for the hash of leaf range [lo, hi)
 * (a node of the tree); returns 0 on success.  This lets a verifier that
 * keeps only a frontier plus recent leaves produce proofs cheaply.
 */
typedef int (*wid_merkle_range_fn)(void *ctx, uint64_t lo, uint64_t hi,
                                   uint8_t out[WID_HASH_LEN]);

/* Range callback over a plain array of leaf hashes (ctx is the array). */
int wid_merkle_array_range(void *ctx, uint64_t lo, uint64_t hi,
                           uint8_t out[WID_HASH_LEN]);

/*
 * RFC 6962 PATH(index, D[size]) and PROOF(m, D[n]).  proof must hold
 * WID_MERKLE_MAX_PROOF hashes; *count receives the number written.
 * Return 0, or -1 on bad arguments or a failing range callback.
 */
int wid_merkle_inclusion_proof(wid_merkle_range_fn fn, void *ctx,
                               uint64_t index, uint64_t size,
                               uint8_t proof[][WID_HASH_LEN], size_t *count);
int wid_merkle_consistency_proof(wid_merkle_range_fn fn, void *ctx,
                                 uint64_t m, uint64_t n,
                                 uint8_t proof[][WID_HASH_LEN],
                                 size_t *count);

/*
 * RFC 9162 section 2.1.3.2 and 2.1.4.2 verification.  Return 0 when the
 * proof shows the claim, -1 otherwise.
 */
int wid_merkle_verify_inclusion(uint64_t index, uint64_t size,
                                const uint8_t leaf_hash[WID_HASH_LEN],
                                const uint8_t proof[][WID_HASH_LEN],
                                size_t count,
                                const uint8_t root[WID_HASH_LEN]);
int wid_merkle_verify_consistency(uint64_t size1, uint64_t size2,
                                  const uint8_t root1[WID_HASH_LEN],
                                  const uint8_t root2[WID_HASH_LEN],
                                  const uint8_t proof[][WID_HASH_LEN],
                                  size_t count);

#endif
