/*
 * libcore/sha256.c: the FIPS 180-4 example vectors, the same digest
 * however the input is split into parts, and agreement with OpenSSL's
 * EVP interface on every length from 0 to 300 bytes (block and padding
 * boundaries), and the prefix-and-whole digest of a JWS.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "jws.h"
#include "sha256.h"

static void
test_fips_vectors(void **state)
{
    static const struct {
        const char *msg;
        const char *digest;
    } v[] = {
        { "",
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
        { "abc",
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
        { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
    };
    uint8_t d[WID_SHA256_LEN];
    char    h[2 * WID_SHA256_LEN + 1];
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        wid_sha256(v[i].msg, strlen(v[i].msg), d);
        wid_hex(d, sizeof(d), h);
        assert_string_equal(h, v[i].digest);
    }
}

/* One million 'a' (FIPS 180-4), fed as 1000 parts of 1000 bytes. */
static void
test_million_a_in_parts(void **state)
{
    static char      block[1000];
    wid_sha256_part *parts;
    uint8_t          d[WID_SHA256_LEN];
    char             h[2 * WID_SHA256_LEN + 1];
    size_t           i;

    (void) state;
    memset(block, 'a', sizeof(block));
    parts = calloc(1000, sizeof(*parts));
    assert_non_null(parts);
    for (i = 0; i < 1000; i++) {
        parts[i].data = block;
        parts[i].len = sizeof(block);
    }
    wid_sha256_parts(parts, 1000, d);
    free(parts);
    wid_hex(d, sizeof(d), h);
    assert_string_equal(
        h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Every length 0..300, every split point: the parts' digest is the
 * one-shot digest, and EVP's. */
static void
test_against_evp(void **state)
{
    uint8_t          msg[300], one[WID_SHA256_LEN], two[WID_SHA256_LEN];
    uint8_t          evp[WID_SHA256_LEN];
    unsigned int     n;
    wid_sha256_part  p[3];
    size_t           len, cut, i;

    (void) state;
    for (i = 0; i < sizeof(msg); i++) {
        msg[i] = (uint8_t) (i * 131 + 7);
    }
    for (len = 0; len <= sizeof(msg); len++) {
        wid_sha256(msg, len, one);
        assert_int_equal(EVP_Digest(msg, len, evp, &n, EVP_sha256(), NULL),
                         1);
        assert_int_equal(n, WID_SHA256_LEN);
        assert_memory_equal(one, evp, WID_SHA256_LEN);
        for (cut = 0; cut <= len; cut += 13) {
            p[0].data = msg;
            p[0].len = cut;
            p[1].data = NULL;   /* an empty part in between */
            p[1].len = 0;
            p[2].data = msg + cut;
            p[2].len = len - cut;
            wid_sha256_parts(p, 3, two);
            assert_memory_equal(one, two, WID_SHA256_LEN);
        }
    }
}

/* Every length 0..300 and every prefix: both digests are one-shot
 * digests, and the whole may be left out. */
static void
test_prefix_and_whole(void **state)
{
    uint8_t  msg[300], pre[WID_SHA256_LEN], whole[WID_SHA256_LEN];
    uint8_t  want[WID_SHA256_LEN], alone[WID_SHA256_LEN];
    size_t   len, cut, i;

    (void) state;
    for (i = 0; i < sizeof(msg); i++) {
        msg[i] = (uint8_t) (i * 17 + 3);
    }
    for (len = 0; len <= sizeof(msg); len++) {
        for (cut = 0; cut <= len; cut += (len < 70 ? 1 : 7)) {
            wid_sha256_prefix(msg, cut, len, pre, whole);
            wid_sha256(msg, cut, want);
            assert_memory_equal(pre, want, WID_SHA256_LEN);
            wid_sha256(msg, len, want);
            assert_memory_equal(whole, want, WID_SHA256_LEN);
            wid_sha256_prefix(msg, cut, len, alone, NULL);
            assert_memory_equal(alone, pre, WID_SHA256_LEN);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fips_vectors),
        cmocka_unit_test(test_million_a_in_parts),
        cmocka_unit_test(test_against_evp),
        cmocka_unit_test(test_prefix_and_whole),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
