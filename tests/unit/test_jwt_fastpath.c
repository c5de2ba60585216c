/*
 * The JWT fast paths against the general ones they stand in for:
 * flatjson (libcore/flatjson.h) against jansson, the claims reader's
 * fast path against its jansson path, and the one-pass base64url
 * decoder against OpenSSL's EVP_DecodeBlock.  Random inputs are drawn
 * from alphabets that make the interesting cases frequent; a fixed seed
 * keeps runs reproducible.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "flatjson.h"
#include "jws.h"
#include "jwt_claims.h"

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
scan(const char *s, wid_fj_member *m)
{
    return wid_flatjson_scan(s, strlen(s), m);
}

static void
test_flatjson_shapes(void **state)
{
    static const char *yes[] = {
        "{}",
        "{\"a\":\"b\"}",
        "{\"alg\":\"ES256\",\"kid\":\"k 1\",\"typ\":\"JWT\"}",
        "{\"exp\":0,\"n\":999999999999999999,\"aud\":[],\"x\":[\"\"]}",
        "{\"\":\"\"}",
    };
    static const char *no[] = {
        "", "{", "}", "[]", "\"x\"", "{ }", "{\"a\":\"b\"} ", " {}",
        "{\"a\":\"b\",}", "{\"a\" :\"b\"}", "{\"a\":\"b\"}x", "{}{}",
        "{\"a\":\"\\u0041\"}", "{\"a\\n\":1}", "{\"a\":\"\x01\"}",
        "{\"a\":\"\xc3\xa9\"}", "{\"a\":01}", "{\"a\":-1}", "{\"a\":1.0}",
        "{\"a\":1e3}", "{\"a\":1000000000000000000}", "{\"a\":true}",
        "{\"a\":null}", "{\"a\":{}}", "{\"a\":[1]}", "{\"a\":[[]]}",
        "{\"a\":[\"x\",]}", "{\"a\":[\"x\"}", "{\"a\":1,\"a\":1}",
        "{\"a\":1,\"b\":2,\"a\":\"x\"}", "{\"a\"}", "{\"a\":}", "{a:1}",
        "{\"a\":\"b\"", "{\"a\":\"b", "{'a':1}",
    };
    wid_fj_member m[WID_FLATJSON_MAX];
    const char   *s;
    size_t        i, pos = 0, len;
    char          big[1024];

    (void) state;
    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (scan(yes[i], m) < 0) {
            fail_msg("not recognized: %s", yes[i]);
        }
    }
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        if (scan(no[i], m) >= 0) {
            fail_msg("recognized: %s", no[i]);
        }
    }

    assert_int_equal(scan(yes[3], m), 4);
    assert_int_equal(m[0].type, WID_FJ_INTEGER);
    assert_int_equal(m[0].integer, 0);
    assert_int_equal(m[1].integer, 999999999999999999LL);
    assert_int_equal(m[2].type, WID_FJ_ARRAY);
    assert_int_equal(m[2].nitems, 0);
    assert_false(wid_flatjson_item(&m[2], &pos, &s, &len));
    assert_int_equal(m[3].nitems, 1);
    pos = 0;
    assert_true(wid_flatjson_item(&m[3], &pos, &s, &len));
    assert_int_equal(len, 0);
    assert_false(wid_flatjson_item(&m[3], &pos, &s, &len));
    assert_null(wid_flatjson_get(m, 4, "ex"));
    assert_non_null(wid_flatjson_get(m, 4, "exp"));

    /* Member and item limits: one more goes to jansson. */
    strcpy(big, "{");
    for (i = 0; i < WID_FLATJSON_MAX; i++) {
        snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s\"m%zu\":1",
                 i == 0 ? "" : ",", i);
    }
    strcat(big, "}");
    assert_int_equal(scan(big, m), WID_FLATJSON_MAX);
    big[strlen(big) - 1] = '\0';
    strcat(big, ",\"z\":1}");
    assert_int_equal(scan(big, m), -1);

    strcpy(big, "{\"aud\":[");
    for (i = 0; i < WID_FLATJSON_MAX_ITEMS; i++) {
        strcat(big, i == 0 ? "\"a\"" : ",\"a\"");
    }
    strcat(big, "]}");
    assert_int_equal(scan(big, m), 1);
    assert_int_equal(m[0].nitems, WID_FLATJSON_MAX_ITEMS);
    pos = 0;
    for (i = 0; wid_flatjson_item(&m[0], &pos, &s, &len); i++) {
        assert_int_equal(len, 1);
        assert_int_equal(s[0], 'a');
    }
    assert_int_equal(i, WID_FLATJSON_MAX_ITEMS);
    big[strlen(big) - 2] = '\0';
    strcat(big, ",\"a\"]}");
    assert_int_equal(scan(big, m), -1);
}

/* Random text over a JSON-heavy alphabet. */
static size_t
random_json(char *buf, size_t max)
{
    static const char *tokens[] = {
        "{", "}", "[", "]", ",", ":", "\"", "\"a\"", "\"b\"", "\"aud\"",
        "\"sub\"", "\"exp\"", "0", "1", "12", "-", ".", "e", " ", "\\",
        "\\u0041", "true", "null", "\x01", "\xff", "\xc3\xa9", "x",
        "999999999999999999", "9999999999999999999",
    };
    size_t len = 0, n = 1 + rnd(24), i, t;

    /* Mostly start like an object, so that many inputs get far. */
    if (rnd(8) != 0) {
        buf[len++] = '{';
    }
    for (i = 0; i < n; i++) {
        t = rnd(sizeof(tokens) / sizeof(tokens[0]));
        if (len + strlen(tokens[t]) + 1 >= max) {
            break;
        }
        memcpy(buf + len, tokens[t], strlen(tokens[t]));
        len += strlen(tokens[t]);
    }
    if (rnd(4) != 0 && len + 1 < max) {
        buf[len++] = '}';
    }
    buf[len] = '\0';
    return len;
}

/* A flat object built to be recognized, with random members. */
static size_t
random_flat(char *buf, size_t max)
{
    static const char *names[] = { "aud", "sub", "exp", "nbf", "iat", "x" };
    static const char *strs[] = {
        "\"wid-test\"", "\"spiffe://a.org/w\"", "\"\"", "\"other\"",
        "\"spiffe://A.org/w\"",
    };
    size_t len = 0, n = rnd(6), i, k, items;

    len += (size_t) snprintf(buf + len, max - len, "{");
    for (i = 0; i < n; i++) {
        len += (size_t) snprintf(buf + len, max - len, "%s\"%s\":",
                                 i == 0 ? "" : ",", names[rnd(6)]);
        switch (rnd(3)) {
        case 0:
            len += (size_t) snprintf(buf + len, max - len, "%s",
                                     strs[rnd(5)]);
            break;
        case 1:
            len += (size_t) snprintf(buf + len, max - len, "%u",
                                     rnd(2) ? rnd(10) : 1799999000 + rnd(2000));
            break;
        default:
            items = rnd(4);
            len += (size_t) snprintf(buf + len, max - len, "[");
            for (k = 0; k < items; k++) {
                len += (size_t) snprintf(buf + len, max - len, "%s%s",
                                         k == 0 ? "" : ",", strs[rnd(5)]);
            }
            len += (size_t) snprintf(buf + len, max - len, "]");
            break;
        }
    }
    len += (size_t) snprintf(buf + len, max - len, "}");
    return len;
}

/* Whatever flatjson recognizes, jansson parses to the same members. */
static void
check_against_jansson(const char *buf, size_t len, int *recognized)
{
    wid_fj_member  m[WID_FLATJSON_MAX];
    json_error_t   err;
    json_t        *j, *v, *item;
    const char    *s;
    size_t         pos, k, ilen;
    int            n, i;

    n = wid_flatjson_scan(buf, len, m);
    if (n < 0) {
        return;
    }
    (*recognized)++;
    j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL || !json_is_object(j)) {
        fail_msg("recognized but jansson refuses: %.*s", (int) len, buf);
    }
    assert_int_equal(json_object_size(j), (size_t) n);
    for (i = 0; i < n; i++) {
        char name[64];

        assert_true(m[i].name_len < sizeof(name));
        memcpy(name, m[i].name, m[i].name_len);
        name[m[i].name_len] = '\0';
        v = json_object_get(j, name);
        assert_non_null(v);
        switch (m[i].type) {
        case WID_FJ_STRING:
            assert_true(json_is_string(v));
            assert_int_equal(json_string_length(v), m[i].str_len);
            assert_memory_equal(json_string_value(v), m[i].str,
                                m[i].str_len);
            break;
        case WID_FJ_INTEGER:
            assert_true(json_is_integer(v));
            assert_int_equal(json_integer_value(v), m[i].integer);
            break;
        case WID_FJ_ARRAY:
            assert_true(json_is_array(v));
            assert_int_equal(json_array_size(v), m[i].nitems);
            pos = 0;
            k = 0;
            while (wid_flatjson_item(&m[i], &pos, &s, &ilen)) {
                item = json_array_get(v, k++);
                assert_true(json_is_string(item));
                assert_int_equal(json_string_length(item), ilen);
                assert_memory_equal(json_string_value(item), s, ilen);
            }
            assert_int_equal(k, m[i].nitems);
            break;
        }
    }
    json_decref(j);
}

static void
test_flatjson_vs_jansson(void **state)
{
    char   buf[512];
    size_t len;
    int    i, recognized = 0;

    (void) state;
    for (i = 0; i < 200000; i++) {
        len = i % 2 ? random_json(buf, sizeof(buf))
                    : random_flat(buf, sizeof(buf));
        check_against_jansson(buf, len, &recognized);
    }
    /* The generator must reach the recognized shape often. */
    assert_true(recognized > 50000);
}

static void
claims_equal(const wid_jwt_claims *a, const wid_jwt_claims *b)
{
    assert_int_equal(a->sub == NULL, b->sub == NULL);
    if (a->sub != NULL) {
        assert_int_equal(a->sub_len, b->sub_len);
        assert_memory_equal(a->sub, b->sub, a->sub_len);
    }
    assert_int_equal(a->exp.present, b->exp.present);
    assert_int_equal(a->exp.status, b->exp.status);
    assert_int_equal(a->exp.value, b->exp.value);
    assert_int_equal(a->nbf.present, b->nbf.present);
    assert_int_equal(a->nbf.status, b->nbf.status);
    assert_int_equal(a->nbf.value, b->nbf.value);
    assert_int_equal(a->iat.present, b->iat.present);
    assert_int_equal(a->iat.status, b->iat.status);
    assert_int_equal(a->iat.value, b->iat.value);
    assert_int_equal(a->aud, b->aud);
}

/* The claims reader gives the same findings on either path. */
static void
test_claims_fast_vs_jansson(void **state)
{
    static const char *auds[] = { "wid-test", "other", "x" };
    wid_jwt_claims     f, g;
    wid_reason_t       rf, rg;
    char               buf[512];
    size_t             len;
    int                i, fast = 0;

    (void) state;
    for (i = 0; i < 100000; i++) {
        const char *aud = auds[rnd(3)];

        len = i % 2 ? random_json(buf, sizeof(buf))
                    : random_flat(buf, sizeof(buf));
        rf = wid_jwt_claims_read((unsigned char *) buf, len, 16, aud,
                                 strlen(aud), 0, &f);
        rg = wid_jwt_claims_read((unsigned char *) buf, len, 16, aud,
                                 strlen(aud), WID_JWT_CLAIMS_NO_FASTPATH, &g);
        assert_int_equal(rf, rg);
        assert_false(g.fast);
        if (rf == WID_OK) {
            claims_equal(&f, &g);
            fast += f.fast;
        }
        wid_jwt_claims_clear(&f);
        wid_jwt_claims_clear(&g);
    }
    assert_true(fast > 25000);
}

static void
test_claims_examples(void **state)
{
    static const char flat[] =
        "{\"aud\":[\"a\",\"wid-test\"],\"exp\":1800003600,"
        "\"iat\":17,\"sub\":\"spiffe://a.org/w\"}";
    wid_jwt_claims c;

    (void) state;
    assert_int_equal(wid_jwt_claims_read((const unsigned char *) flat,
                                         strlen(flat), 16, "wid-test", 8, 0,
                                         &c), WID_OK);
    assert_true(c.fast);
    assert_int_equal(c.aud, WID_OK);
    assert_true(c.exp.present);
    assert_int_equal(c.exp.value, 1800003600LL);
    assert_false(c.nbf.present);
    assert_int_equal(c.iat.value, 17);
    assert_int_equal(c.sub_len, strlen("spiffe://a.org/w"));
    wid_jwt_claims_clear(&c);

    /* A depth limit below the flat shape's two levels: jansson decides. */
    assert_int_equal(wid_jwt_claims_read((const unsigned char *) flat,
                                         strlen(flat), 1, "wid-test", 8, 0,
                                         &c), WID_R_JWT_TOO_DEEP);
    wid_jwt_claims_clear(&c);

    /* Reals are floored the same way as before. */
    assert_int_equal(wid_jwt_claims_read(
                         (const unsigned char *) "{\"exp\":-1.5}", 12, 16,
                         "a", 1, 0, &c), WID_OK);
    assert_false(c.fast);
    assert_int_equal(c.exp.value, -2);
    assert_int_equal(c.aud, WID_R_JWT_AUD_MISSING);
    wid_jwt_claims_clear(&c);

    assert_int_equal(wid_jwt_claims_read(
                         (const unsigned char *) "{\"exp\":1e300}", 13, 16,
                         "a", 1, 0, &c), WID_OK);
    assert_int_equal(c.exp.status, WID_R_JWT_CLAIM_INVALID);
    wid_jwt_claims_clear(&c);

    assert_int_equal(wid_jwt_claims_read(
                         (const unsigned char *) "{\"a\":1,\"a\":1}", 13, 16,
                         "a", 1, 0, &c), WID_R_JWT_DUPLICATE_KEY);
    wid_jwt_claims_clear(&c);
}

/* OpenSSL's decoder on the url alphabet mapped back, padding restored. */
static int
reference_decode(const char *in, size_t len, unsigned char *out,
                 size_t *out_len)
{
    char          std[600];
    size_t        i, pad, n;
    int           m;
    char          enc[600];

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
        rb = reference_decode(enc, len, b, &blen);
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
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flatjson_shapes),
        cmocka_unit_test(test_flatjson_vs_jansson),
        cmocka_unit_test(test_claims_fast_vs_jansson),
        cmocka_unit_test(test_claims_examples),
        cmocka_unit_test(test_b64url_vs_openssl),
    };
    return cmocka_run_group_tests_name("jwt_fastpath", tests, NULL, NULL);
}
