/*
 * RFC 6962 Merkle trees: public verification vectors, and proofs we
 * generate checked against every tree shape up to 70 leaves.
 *
 * tests/unit/data/rfc6962_vectors.json holds the inclusion and consistency
 * vectors of transparency-dev/merkle (testdata/inclusion and
 * testdata/consistency, Apache-2.0, commit 417fb0c3; its "source" field
 * says so).  Each case says whether verification must succeed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "merkle.h"

#define MAXN 70

static json_t *vectors;

static int
setup(void **state)
{
    char         path[512];
    const char  *src = __FILE__;
    const char  *slash = strrchr(src, '/');
    json_error_t err;

    (void) state;
    snprintf(path, sizeof(path), "%.*s/data/rfc6962_vectors.json",
             slash ? (int) (slash - src) : 1, slash ? src : ".");
    vectors = json_load_file(path, 0, &err);
    if (vectors == NULL) {
        fprintf(stderr, "%s: %s\n", path, err.text);
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void) state;
    json_decref(vectors);
    return 0;
}

static uint64_t
u64(json_t *c, const char *key)
{
    const char *s = json_string_value(json_object_get(c, key));

    assert_non_null(s);
    return strtoull(s, NULL, 10);
}

/*
 * Decode base64 into a 32-byte hash.  A few vectors use short placeholder
 * roots ("don't care"); they are zero-padded, which keeps equal inputs
 * equal and different inputs different.  Empty or longer values are -1:
 * an API of fixed-size hashes cannot even be handed them.
 */
static int
b64hash(json_t *v, uint8_t out[WID_HASH_LEN])
{
    const char *s = json_string_value(v);
    uint8_t     buf[128];
    size_t      len;

    if (s == NULL || sodium_base642bin(buf, sizeof(buf), s, strlen(s), NULL,
                                       &len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL) != 0
        || len == 0 || len > WID_HASH_LEN)
    {
        return -1;
    }
    memset(out, 0, WID_HASH_LEN);
    memcpy(out, buf, len);
    return 0;
}

/* -1 if any element is not a 32-byte hash (such a proof cannot verify). */
static int
b64exact(json_t *v, uint8_t out[WID_HASH_LEN])
{
    const char *s = json_string_value(v);
    uint8_t     buf[128];
    size_t      len;

    if (s == NULL || sodium_base642bin(buf, sizeof(buf), s, strlen(s), NULL,
                                       &len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL) != 0
        || len != WID_HASH_LEN)
    {
        return -1;
    }
    memcpy(out, buf, WID_HASH_LEN);
    return 0;
}

static int
b64proof(json_t *arr, uint8_t proof[][WID_HASH_LEN], size_t *count)
{
    size_t  i;
    json_t *v;

    *count = 0;
    if (json_is_null(arr)) {
        return 0;
    }
    if (json_array_size(arr) > WID_MERKLE_MAX_PROOF) {
        return -1;
    }
    json_array_foreach(arr, i, v) {
        if (b64exact(v, proof[i]) != 0) {
            return -1;
        }
    }
    *count = json_array_size(arr);
    return 0;
}

static void
test_public_inclusion_vectors(void **state)
{
    json_t  *c;
    size_t   i, count, ok = 0, bad = 0;
    uint8_t  leaf[WID_HASH_LEN], root[WID_HASH_LEN];
    uint8_t  proof[WID_MERKLE_MAX_PROOF][WID_HASH_LEN];
    int      r;

    (void) state;
    json_array_foreach(json_object_get(vectors, "inclusion"), i, c) {
        int want_err = json_is_true(json_object_get(c, "wantErr"));

        r = -1;
        if (b64hash(json_object_get(c, "leafHash"), leaf) == 0
            && b64hash(json_object_get(c, "root"), root) == 0
            && b64proof(json_object_get(c, "proof"), proof, &count) == 0)
        {
            r = wid_merkle_verify_inclusion(
                    u64(c, "leafIdx"),
                    u64(c, "treeSize"),
                    leaf, (const uint8_t (*)[WID_HASH_LEN]) proof, count,
                    root);
        }
        if ((r != 0) != want_err) {
            fail_msg("inclusion vector %s: got %d",
                     json_string_value(json_object_get(c, "file")), r);
        }
        want_err ? bad++ : ok++;
    }
    /* The file must really exercise both outcomes. */
    assert_true(ok >= 5);
    assert_true(bad >= 50);
}

static void
test_public_consistency_vectors(void **state)
{
    json_t  *c;
    size_t   i, count, ok = 0, bad = 0;
    uint8_t  r1[WID_HASH_LEN], r2[WID_HASH_LEN];
    uint8_t  proof[WID_MERKLE_MAX_PROOF][WID_HASH_LEN];
    int      r;

    (void) state;
    json_array_foreach(json_object_get(vectors, "consistency"), i, c) {
        int want_err = json_is_true(json_object_get(c, "wantErr"));

        r = -1;
        if (b64hash(json_object_get(c, "root1"), r1) == 0
            && b64hash(json_object_get(c, "root2"), r2) == 0
            && b64proof(json_object_get(c, "proof"), proof, &count) == 0)
        {
            r = wid_merkle_verify_consistency(
                    u64(c, "size1"),
                    u64(c, "size2"),
                    r1, r2, (const uint8_t (*)[WID_HASH_LEN]) proof, count);
        }
        if ((r != 0) != want_err) {
            fail_msg("consistency vector %s: got %d",
                     json_string_value(json_object_get(c, "file")), r);
        }
        want_err ? bad++ : ok++;
    }
    assert_true(ok >= 5);
    assert_true(bad >= 50);
}

/*
 * The RFC 6962 reference tree of eight leaves (the inputs used by the
 * Certificate Transparency test suites): its root is the root2 of the
 * public happy-path vectors above.
 */
static void
test_reference_tree_root(void **state)
{
    static const char *hex[8] = {
        "", "00", "10", "2021", "3031", "40414243",
        "5051525354555657", "606162636465666768696a6b6c6d6e6f",
    };
    uint8_t  leaves[8][WID_HASH_LEN], root[WID_HASH_LEN], want[WID_HASH_LEN];
    uint8_t  data[16];
    size_t   len, i;
    json_t  *c = json_array_get(json_object_get(vectors, "inclusion"), 0);
    json_t  *v;

    (void) state;
    for (i = 0; i < 8; i++) {
        assert_int_equal(sodium_hex2bin(data, sizeof(data), hex[i],
                                        strlen(hex[i]), NULL, &len, NULL), 0);
        wid_merkle_leaf_hash(data, len, leaves[i]);
    }
    wid_merkle_root((const uint8_t (*)[WID_HASH_LEN]) leaves, 8, root);
    json_array_foreach(json_object_get(vectors, "inclusion"), i, v) {
        if (u64(v, "treeSize") == 8
            && !json_is_true(json_object_get(v, "wantErr")))
        {
            c = v;
            break;
        }
    }
    assert_int_equal(b64hash(json_object_get(c, "root"), want), 0);
    assert_memory_equal(root, want, WID_HASH_LEN);

    /* And the empty tree is SHA-256 of nothing. */
    wid_merkle_root(NULL, 0, root);
    assert_int_equal(sodium_hex2bin(want, sizeof(want),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        64, NULL, &len, NULL), 0);
    assert_memory_equal(root, want, WID_HASH_LEN);
}

static uint8_t leaves[MAXN][WID_HASH_LEN];

static void
make_leaves(void)
{
    unsigned i;
    char     buf[32];

    for (i = 0; i < MAXN; i++) {
        int n = snprintf(buf, sizeof(buf), "leaf %u", i);
        wid_merkle_leaf_hash(buf, (size_t) n, leaves[i]);
    }
}

static void
test_generated_inclusion_proofs(void **state)
{
    uint8_t  root[WID_HASH_LEN], proof[WID_MERKLE_MAX_PROOF][WID_HASH_LEN];
    size_t   count, k;
    uint64_t n, i;

    (void) state;
    make_leaves();
    for (n = 1; n <= MAXN; n++) {
        wid_merkle_root((const uint8_t (*)[WID_HASH_LEN]) leaves, n, root);
        for (i = 0; i < n; i++) {
            assert_int_equal(wid_merkle_inclusion_proof(
                wid_merkle_array_range, leaves, i, n, proof, &count), 0);
            assert_int_equal(wid_merkle_verify_inclusion(i, n, leaves[i],
                (const uint8_t (*)[WID_HASH_LEN]) proof, count, root), 0);
            /* Wrong index, wrong leaf, damaged proof: refused. */
            assert_int_not_equal(wid_merkle_verify_inclusion(i, n,
                leaves[(i + 1) % MAXN],
                (const uint8_t (*)[WID_HASH_LEN]) proof, count, root), 0);
            if (n > 1) {
                assert_int_not_equal(wid_merkle_verify_inclusion(
                    (i + 1) % n, n, leaves[i],
                    (const uint8_t (*)[WID_HASH_LEN]) proof, count, root), 0);
            }
            for (k = 0; k < count; k++) {
                proof[k][k % WID_HASH_LEN] ^= 0x20;
                assert_int_not_equal(wid_merkle_verify_inclusion(i, n,
                    leaves[i], (const uint8_t (*)[WID_HASH_LEN]) proof, count,
                    root), 0);
                proof[k][k % WID_HASH_LEN] ^= 0x20;
            }
        }
        assert_int_not_equal(wid_merkle_inclusion_proof(
            wid_merkle_array_range, leaves, n, n, proof, &count), 0);
    }
}

static void
test_generated_consistency_proofs(void **state)
{
    uint8_t  r1[WID_HASH_LEN], r2[WID_HASH_LEN];
    uint8_t  proof[WID_MERKLE_MAX_PROOF][WID_HASH_LEN];
    size_t   count, k;
    uint64_t n, m;

    (void) state;
    make_leaves();
    for (n = 1; n <= MAXN; n++) {
        wid_merkle_root((const uint8_t (*)[WID_HASH_LEN]) leaves, n, r2);
        for (m = 1; m <= n; m++) {
            wid_merkle_root((const uint8_t (*)[WID_HASH_LEN]) leaves, m, r1);
            assert_int_equal(wid_merkle_consistency_proof(
                wid_merkle_array_range, leaves, m, n, proof, &count), 0);
            assert_int_equal(wid_merkle_verify_consistency(m, n, r1, r2,
                (const uint8_t (*)[WID_HASH_LEN]) proof, count), 0);
            if (m == n) {
                continue;
            }
            /* A forked old tree (r2 under r1's name) is refused. */
            assert_int_not_equal(wid_merkle_verify_consistency(m, n, r2, r2,
                (const uint8_t (*)[WID_HASH_LEN]) proof, count), 0);
            for (k = 0; k < count; k++) {
                proof[k][7] ^= 1;
                assert_int_not_equal(wid_merkle_verify_consistency(m, n, r1,
                    r2, (const uint8_t (*)[WID_HASH_LEN]) proof, count), 0);
                proof[k][7] ^= 1;
            }
        }
    }
}

/* Proofs built from a saved frontier plus only the newer leaves. */
struct split_ctx {
    wid_merkle_frontier *old;
    uint64_t             m;
};

static int
split_range(void *ctx, uint64_t lo, uint64_t hi, uint8_t out[WID_HASH_LEN])
{
    struct split_ctx *s = ctx;

    if (hi <= s->m) {
        return wid_merkle_frontier_node(s->old, lo, hi, out);
    }
    if (lo < s->m) {
        return -1;
    }
    wid_merkle_root((const uint8_t (*)[WID_HASH_LEN]) leaves + lo, hi - lo,
                    out);
    return 0;
}

static void
test_frontier_matches_array(void **state)
{
    wid_merkle_frontier f, saved;
    struct split_ctx    s;
    uint8_t  r1[WID_HASH_LEN], r2[WID_HASH_LEN];
    uint8_t  p1[WID_MERKLE_MAX_PROOF][WID_HASH_LEN];
    uint8_t  p2[WID_MERKLE_MAX_PROOF][WID_HASH_LEN];
    size_t   c1, c2;
    uint64_t n, m;

    (void) state;
    make_leaves();
    wid_merkle_frontier_init(&f);
    for (n = 1; n <= MAXN; n++) {
        assert_int_equal(wid_merkle_frontier_append(&f, leaves[n - 1]), 0);
        wid_merkle_frontier_root(&f, r1);
        wid_merkle_root((const uint8_t (*)[WID_HASH_LEN]) leaves, n, r2);
        assert_memory_equal(r1, r2, WID_HASH_LEN);
    }
    for (m = 1; m < MAXN; m++) {
        wid_merkle_frontier_init(&saved);
        for (n = 0; n < m; n++) {
            wid_merkle_frontier_append(&saved, leaves[n]);
        }
        s.old = &saved;
        s.m = m;
        for (n = m; n <= MAXN; n++) {
            assert_int_equal(wid_merkle_consistency_proof(split_range, &s,
                m, n, p1, &c1), 0);
            assert_int_equal(wid_merkle_consistency_proof(
                wid_merkle_array_range, leaves, m, n, p2, &c2), 0);
            assert_int_equal(c1, c2);
            if (c1) {
                assert_memory_equal(p1, p2, c1 * WID_HASH_LEN);
            }
        }
    }
    /* A full tree refuses another leaf. */
    f.size = UINT64_MAX;
    assert_int_equal(wid_merkle_frontier_append(&f, leaves[0]), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_public_inclusion_vectors),
        cmocka_unit_test(test_public_consistency_vectors),
        cmocka_unit_test(test_reference_tree_root),
        cmocka_unit_test(test_generated_inclusion_proofs),
        cmocka_unit_test(test_generated_consistency_proofs),
        cmocka_unit_test(test_frontier_matches_array),
    };
    return cmocka_run_group_tests_name("merkle", tests, setup, teardown);
}
