/*
 * libcore/base64.h: the one base64 module.  Standard base64 against the
 * RFC 4648 vectors, OpenSSL's encoder and libsodium's strict decoder
 * (an independent implementation); everything non-canonical refused;
 * base64url against OpenSSL's EVP_DecodeBlock on the mapped alphabet
 * and libsodium's strict url decoder; the unpadded encoders against
 * libsodium; WID_B64_ANY_LAST_BITS against the attestation decoder it
 * replaced.  Random inputs come from a fixed-seed generator
 * (reproducible).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "base64.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(uint32_t n)
{
    /* xorshift64*: reproducible, good enough to pick test bytes. */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t) ((rng * 0x2545f4914f6cdd1dULL) >> 32) % n;
}

static int
dec(const char *s, unsigned flags, unsigned char *out, size_t max,
    size_t *n)
{
    return wid_b64_decode(s, strlen(s), flags, out, max, n);
}

/* RFC 4648 section 10, both ways. */
static void
test_rfc4648_vectors(void **state)
{
    static const char *const v[][2] = {
        { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
        { "foobar", "Zm9vYmFy" },
    };
    unsigned char out[16];
    char          enc[16];
    size_t        i, n;

    (void) state;
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(dec(v[i][1], 0, out, sizeof(out), &n), 0);
        assert_int_equal(n, strlen(v[i][0]));
        assert_memory_equal(out, v[i][0], n);
        assert_int_equal(wid_b64_encode((const unsigned char *) v[i][0],
                                        strlen(v[i][0]), enc, sizeof(enc)),
                         (int) strlen(v[i][1]));
        assert_string_equal(enc, v[i][1]);
    }
    /* The output bound is exact. */
    assert_int_equal(dec("Zm9vYmE=", 0, out, 5, &n), 0);
    assert_int_equal(dec("Zm9vYmE=", 0, out, 4, &n), -1);
    assert_int_equal(dec("Zg==", 0, out, 0, &n), -1);
    /* The encoder needs room for the NUL too. */
    assert_int_equal(wid_b64_encode((const unsigned char *) "foo", 3, enc, 4),
                     -1);
    assert_int_equal(wid_b64_encode((const unsigned char *) "foo", 3, enc, 5),
                     4);
}

/* Every spelling OpenSSL or a lenient decoder would take, refused. */
static void
test_strict(void **state)
{
    static const char *const bad[] = {
        "Zg",           /* padding missing */
        "Zg=",          /* padding short */
        "Zg===",        /* padding long */
        "Zh==",         /* trailing bits not zero (1 byte) */
        "Zm9=",         /* trailing bits not zero (2 bytes) */
        "Zm8=Zm8=",     /* padding in the middle */
        "Z=g=",         /* '=' inside a quad */
        "====",
        "Zm9v-_8=",     /* url alphabet in standard base64 */
        "Zm9v\x80Zm9v",
        " Zm9v",        /* whitespace, not allowed by default */
        "Zm9v\n",
        "Zm 9v",
    };
    unsigned char out[16];
    size_t        i, n;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (dec(bad[i], 0, out, sizeof(out), &n) != -1) {
            fail_msg("accepted '%s'", bad[i]);
        }
    }
    /* A NUL byte inside the length is not base64. */
    assert_int_equal(wid_b64_decode("Zm9v\0AAA", 8, 0, out, sizeof(out), &n),
                     -1);
    assert_int_equal(wid_b64_decode(NULL, 4, 0, out, sizeof(out), &n), -1);
    assert_int_equal(wid_b64_decode(NULL, 0, 0, out, sizeof(out), &n), 0);
    assert_int_equal(n, 0);
}

static void
test_whitespace_allowed(void **state)
{
    unsigned char out[16], *p;
    size_t        n;

    (void) state;
    assert_int_equal(dec(" Zm9v\r\nYmFy\t", WID_B64_ALLOW_WS, out,
                         sizeof(out), &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(out, "foobar", 6);
    assert_int_equal(dec("Zm9v YmE=\n", WID_B64_ALLOW_WS, out, sizeof(out),
                         &n), 0);
    assert_int_equal(n, 5);
    /* Whitespace never makes a bad text good. */
    assert_int_equal(dec("Zm9 vYmE", WID_B64_ALLOW_WS, out, sizeof(out), &n),
                     -1);
    assert_int_equal(dec("Zh= =", WID_B64_ALLOW_WS, out, sizeof(out), &n), -1);
    assert_int_equal(dec("\n\n", WID_B64_ALLOW_WS, out, sizeof(out), &n), 0);
    assert_int_equal(n, 0);

    assert_int_equal(wid_b64_decode_alloc("Zm9v\nYmFy", 9, WID_B64_ALLOW_WS,
                                          &p, &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(p, "foobar", 6);
    free(p);
    assert_int_equal(wid_b64_decode_alloc("Zm9v\nYmFy", 9, 0, &p, &n), -1);
    assert_null(p);
}

/*
 * Random bytes: the encoder matches libsodium's, the decoder inverts it
 * at every length; random text: the decoder and libsodium's strict
 * decoder (padding required, no ignored characters) agree on the
 * verdict and the bytes.
 */
static void
test_vs_sodium(void **state)
{
    static const char alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        "=-_ \n.";
    unsigned char raw[200], a[300], b[300];
    char          enc[300], ref[300];
    const char   *end;
    size_t        i, k, len, alen, blen;
    int           ra, rb, ok = 0;

    (void) state;
    assert_int_equal(sodium_init() >= 0, 1);
    for (len = 0; len < sizeof(raw); len++) {
        for (k = 0; k < len; k++) {
            raw[k] = (unsigned char) rnd(256);
        }
        assert_int_equal(wid_b64_encode(raw, len, enc, sizeof(enc)),
                         (int) WID_B64_ENCODED_LEN(len));
        sodium_bin2base64(ref, sizeof(ref), raw, len,
                          sodium_base64_VARIANT_ORIGINAL);
        assert_string_equal(enc, ref);
        assert_int_equal(dec(enc, 0, a, sizeof(a), &alen), 0);
        assert_int_equal(alen, len);
        assert_memory_equal(a, raw, len);
        if (len > 0) {
            assert_int_equal(dec(enc, 0, a, len - 1, &alen), -1);
        }
    }
    for (i = 0; i < 300000; i++) {
        len = rnd(13);
        for (k = 0; k < len; k++) {
            enc[k] = rnd(8) != 0 ? alpha[rnd(64)]
                                 : alpha[rnd(sizeof(alpha) - 1)];
        }
        /* Padding is where lenient decoders differ: make it frequent. */
        if (len >= 2 && rnd(3) == 0) {
            enc[len - 1] = '=';
            if (rnd(2) == 0) {
                enc[len - 2] = '=';
            }
        }
        ra = wid_b64_decode(enc, len, 0, a, sizeof(a), &alen);
        rb = sodium_base642bin(b, sizeof(b), enc, len, NULL, &blen, &end,
                               sodium_base64_VARIANT_ORIGINAL) == 0
             && end == enc + len ? 0 : -1;
        if (ra != rb) {
            fail_msg("'%.*s': decoder %d, libsodium %d", (int) len, enc, ra,
                     rb);
        }
        if (ra == 0) {
            assert_int_equal(alen, blen);
            assert_memory_equal(a, b, alen);
            ok++;
        }
    }
    assert_true(ok > 10000);
}

/* OpenSSL's decoder on the url alphabet mapped back, padding restored. */
static int
reference_url_decode(const char *in, size_t len, unsigned char *out,
                     size_t *out_len)
{
    char   std[600], enc[600];
    size_t i, pad, n;
    int    m;

    if (len % 4 == 1 || len + 3 > sizeof(std)) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        char c = in[i];

        if (c == '+' || c == '/' || c == '=') {
            return -1;      /* standard alphabet only in standard base64 */
        }
        std[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    pad = (4 - len % 4) % 4;
    memset(std + len, '=', pad);
    m = EVP_DecodeBlock(out, (unsigned char *) std, (int) (len + pad));
    if (m < 0 || (size_t) m < pad) {
        return -1;
    }
    n = (size_t) m - pad;
    /* Canonical: re-encoding gives the same text back. */
    EVP_EncodeBlock((unsigned char *) enc, out, (int) n);
    for (i = 0; i < len; i++) {
        char c = enc[i] == '+' ? '-' : enc[i] == '/' ? '_' : enc[i];

        if (c != in[i]) {
            return -1;
        }
    }
    *out_len = n;
    return 0;
}

static void
test_b64url_vs_openssl(void **state)
{
    static const char alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        "+/= .\n\x80";
    unsigned char raw[300], a[600], b[600];
    char          enc[600];
    size_t        i, k, len, alen, blen;
    int           ra, rb, ok = 0;

    (void) state;
    /* Round trips: every length, random bytes. */
    for (len = 0; len < sizeof(raw); len++) {
        for (k = 0; k < len; k++) {
            raw[k] = (unsigned char) rnd(256);
        }
        EVP_EncodeBlock((unsigned char *) enc, raw, (int) len);
        for (k = 0; enc[k] != '\0'; k++) {
            enc[k] = enc[k] == '+' ? '-' : enc[k] == '/' ? '_' : enc[k];
        }
        while (k > 0 && enc[k - 1] == '=') {
            k--;
        }
        assert_int_equal(wid_b64url_decode(enc, k, a, sizeof(a), &alen), 0);
        assert_int_equal(alen, len);
        assert_memory_equal(a, raw, len);
        /* The output bound is exact: one byte less fails. */
        if (len > 0) {
            assert_int_equal(wid_b64url_decode(enc, k, a, len - 1, &alen),
                             -1);
        }
    }
    /* Random text: same verdict and bytes as the reference. */
    for (i = 0; i < 300000; i++) {
        len = rnd(12);
        for (k = 0; k < len; k++) {
            /* Mostly valid characters, sometimes anything. */
            enc[k] = rnd(10) != 0 ? alpha[rnd(64)]
                                  : alpha[rnd(sizeof(alpha) - 1)];
        }
        ra = wid_b64url_decode(enc, len, a, sizeof(a), &alen);
        rb = reference_url_decode(enc, len, b, &blen);
        if (ra != rb) {
            fail_msg("'%.*s': decoder %d, reference %d", (int) len, enc, ra,
                     rb);
        }
        if (ra == 0) {
            assert_int_equal(alen, blen);
            assert_memory_equal(a, b, alen);
            ok++;
        }
    }
    assert_true(ok > 30000);
    /* Padding, which JWS forbids, and the standard alphabet: refused. */
    assert_int_equal(wid_b64url_decode("Zg==", 4, a, sizeof(a), &alen), -1);
    assert_int_equal(wid_b64url_decode("+/8", 3, a, sizeof(a), &alen), -1);
    assert_int_equal(wid_b64url_decode("-_8", 3, a, sizeof(a), &alen), 0);
    assert_int_equal(alen, 2);
    assert_int_equal(wid_b64url_decode("-_9", 3, a, sizeof(a), &alen), -1);
}


/* 1 when the strict decoder refuses what the lenient one took. */
static int
dec_strict_fails(const char *s, size_t len)
{
    unsigned char out[64];
    size_t        n;

    return wid_b64_decode(s, len, 0, out, sizeof(out), &n) != 0;
}

/*
 * base64url decoding agrees with libsodium's strict decoder (no padding,
 * nothing ignored, all input consumed), which the attestation result
 * parser used before.
 */
static void
test_b64url_vs_sodium(void **state)
{
    static const char alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        "+/= .\n";
    unsigned char a[64], b[64];
    char          enc[64];
    const char   *end;
    size_t        i, k, len, alen, blen;
    int           ra, rb, ok = 0;

    (void) state;
    for (i = 0; i < 300000; i++) {
        len = rnd(12);
        for (k = 0; k < len; k++) {
            enc[k] = rnd(10) != 0 ? alpha[rnd(64)]
                                  : alpha[rnd(sizeof(alpha) - 1)];
        }
        ra = wid_b64url_decode(enc, len, a, sizeof(a), &alen);
        rb = sodium_base642bin(b, sizeof(b), enc, len, NULL, &blen, &end,
                               sodium_base64_VARIANT_URLSAFE_NO_PADDING) == 0
             && end == enc + len ? 0 : -1;
        if (ra != rb) {
            fail_msg("'%.*s': decoder %d, libsodium %d", (int) len, enc, ra,
                     rb);
        }
        if (ra == 0) {
            assert_int_equal(alen, blen);
            assert_memory_equal(a, b, alen);
            ok++;
        }
    }
    assert_true(ok > 30000);
}

/* The unpadded encoders: libsodium's output, exact bounds, round trips. */
static void
test_unpadded_encoders(void **state)
{
    unsigned char raw[200], back[200];
    char          enc[300], ref[300], *p;
    size_t        k, len, n;

    (void) state;
    assert_int_equal(sodium_init() >= 0, 1);
    for (len = 0; len < sizeof(raw); len++) {
        for (k = 0; k < len; k++) {
            raw[k] = (unsigned char) rnd(256);
        }
        /* Standard alphabet, no padding (OpenSSH fingerprints). */
        assert_int_equal(wid_b64_encode_nopad(raw, len, enc, sizeof(enc)),
                         (int) WID_B64_UNPADDED_LEN(len));
        sodium_bin2base64(ref, sizeof(ref), raw, len,
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
        assert_string_equal(enc, ref);
        assert_null(strchr(enc, '='));
        assert_int_equal(wid_b64_encode_nopad(raw, len, enc,
                                              WID_B64_UNPADDED_LEN(len)), -1);
        assert_int_equal(wid_b64_encode_nopad(raw, len, enc,
                                              WID_B64_UNPADDED_LEN(len) + 1),
                         (int) WID_B64_UNPADDED_LEN(len));

        /* url alphabet, no padding (JWS). */
        assert_int_equal(wid_b64url_encode(raw, len, enc, sizeof(enc)),
                         (int) WID_B64_UNPADDED_LEN(len));
        sodium_bin2base64(ref, sizeof(ref), raw, len,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        assert_string_equal(enc, ref);
        assert_int_equal(wid_b64url_decode(enc, strlen(enc), back,
                                           sizeof(back), &n), 0);
        assert_int_equal(n, len);
        assert_memory_equal(back, raw, len);
        assert_int_equal(wid_b64url_encode(raw, len, enc,
                                           WID_B64_UNPADDED_LEN(len)), -1);

        p = wid_b64url_encode_alloc(raw, len);
        assert_non_null(p);
        assert_string_equal(p, ref);
        free(p);
        p = wid_b64_encode_alloc(raw, len);
        assert_non_null(p);
        sodium_bin2base64(ref, sizeof(ref), raw, len,
                          sodium_base64_VARIANT_ORIGINAL);
        assert_string_equal(p, ref);
        free(p);
    }
    assert_int_equal(wid_b64url_encode((const unsigned char *) "\xfb\xff", 2,
                                       enc, sizeof(enc)), 3);
    assert_string_equal(enc, "-_8");
    assert_int_equal(wid_b64_encode_nopad((const unsigned char *) "\xfb\xff",
                                          2, enc, sizeof(enc)), 3);
    assert_string_equal(enc, "+/8");
}

/*
 * The decoder libcore/attest.c had before it used this module: strict
 * alphabet, length and padding, OpenSSL for the bits (which it does not
 * check in the last character).  WID_B64_ANY_LAST_BITS must reproduce it.
 */
static int
attest_reference(const char *in, size_t len, unsigned char *out,
                 size_t *out_len)
{
    unsigned char buf[64];
    size_t        pad = 0, i;
    int           r;

    if (len % 4 != 0 || len + 1 > sizeof(buf) / 3 * 4) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                   "0123456789+/=", in[i]) == NULL || in[i] == '\0')
        {
            return -1;
        }
    }
    if (len == 0) {
        *out_len = 0;
        return 0;
    }
    if (in[len - 1] == '=') {
        pad++;
        if (in[len - 2] == '=') {
            pad++;
        }
    }
    if (memchr(in, '=', len - pad) != NULL) {
        return -1;
    }
    r = EVP_DecodeBlock(buf, (const unsigned char *) in, (int) len);
    if (r < 0 || (size_t) r != len / 4 * 3) {
        return -1;
    }
    *out_len = len / 4 * 3 - pad;
    memcpy(out, buf, *out_len);
    return 0;
}

static void
test_any_last_bits(void **state)
{
    static const char alpha[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
        "=-_ \n";
    unsigned char a[64], b[64];
    char          enc[32];
    size_t        i, k, len, alen, blen;
    int           ra, rb, lax = 0;

    (void) state;
    /* Non-zero unused bits: refused by default, OpenSSL's bytes with the
     * flag; nothing else is relaxed. */
    assert_int_equal(dec("Zh==", 0, a, sizeof(a), &alen), -1);
    assert_int_equal(dec("Zh==", WID_B64_ANY_LAST_BITS, a, sizeof(a), &alen),
                     0);
    assert_int_equal(alen, 1);
    assert_int_equal(a[0], 'f');
    assert_int_equal(dec("Zm9=", WID_B64_ANY_LAST_BITS, a, sizeof(a), &alen),
                     0);
    assert_int_equal(alen, 2);
    assert_memory_equal(a, "fo", 2);
    assert_int_equal(dec("Zh", WID_B64_ANY_LAST_BITS, a, sizeof(a), &alen),
                     -1);
    assert_int_equal(dec("Zh=", WID_B64_ANY_LAST_BITS, a, sizeof(a), &alen),
                     -1);
    assert_int_equal(dec("Z=h=", WID_B64_ANY_LAST_BITS, a, sizeof(a), &alen),
                     -1);
    assert_int_equal(dec("Zh== ", WID_B64_ANY_LAST_BITS, a, sizeof(a),
                         &alen), -1);

    for (i = 0; i < 300000; i++) {
        len = rnd(13);
        for (k = 0; k < len; k++) {
            enc[k] = rnd(8) != 0 ? alpha[rnd(64)]
                                 : alpha[rnd(sizeof(alpha) - 1)];
        }
        if (len >= 2 && rnd(3) == 0) {
            enc[len - 1] = '=';
            if (rnd(2) == 0) {
                enc[len - 2] = '=';
            }
        }
        ra = wid_b64_decode(enc, len, WID_B64_ANY_LAST_BITS, a, sizeof(a),
                            &alen);
        rb = attest_reference(enc, len, b, &blen);
        if (ra != rb) {
            fail_msg("'%.*s': decoder %d, reference %d", (int) len, enc, ra,
                     rb);
        }
        if (ra == 0) {
            assert_int_equal(alen, blen);
            assert_memory_equal(a, b, alen);
            lax += dec_strict_fails(enc, len);
        }
    }
    /* The random texts did exercise the difference. */
    assert_true(lax > 1000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_strict),
        cmocka_unit_test(test_whitespace_allowed),
        cmocka_unit_test(test_vs_sodium),
        cmocka_unit_test(test_b64url_vs_openssl),
        cmocka_unit_test(test_b64url_vs_sodium),
        cmocka_unit_test(test_unpadded_encoders),
        cmocka_unit_test(test_any_last_bits),
    };
    return cmocka_run_group_tests_name("base64", tests, NULL, NULL);
}
