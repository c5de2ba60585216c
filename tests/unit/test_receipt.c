/*
 * Receipt v3: canonical encoding round trip, the JSON form, a known-answer
 * receipt id (checked against tests/tools/receipt-ref, a second
 * implementation written from docs/receipts.md, and against a fixed
 * vector), and every way stored bytes can fail to be a canonical receipt.
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
#include "receipt.h"

/* Every field set; UTF-8 of 2, 3 and 4 bytes in the request. */
static const char *const full_json =
    "{\"time_ms\": 1767225600123, \"surface\": \"ssh_issue\","
    " \"verdict\": \"deny\", \"reason\": \"policy.path_prefix\","
    " \"rule\": \"payments\", \"operation\": \"issue\","
    " \"policy\": {\"hash\": \"000102030405060708090a0b0c0d0e0f"
    "101112131415161718191a1b1c1d1e1f\", \"signer\": \"ops\"},"
    " \"identity\": {\"spiffe_id\": \"spiffe://example.org/payments/worker\","
    " \"trust_domain\": \"example.org\", \"path\": \"/payments/worker\","
    " \"credential_kind\": \"jwt_svid\", \"credential_id\": \"sha256:ab\","
    " \"not_after\": 1767229200, \"bundle_hash\": \"2020202020202020"
    "202020202020202020202020202020202020202020202020\","
    " \"prefer\": \"unmatched\"},"
    " \"attestation\": {\"tier\": \"attested\", \"schema\": \"tpm-quote-v1\","
    " \"verifier\": \"tpm.example\", \"evidence_hash\": \"ffeeddccbbaa9988"
    "7766554433221100ffeeddccbbaa99887766554433221100\"},"
    " \"request\": {\"method\": \"GET\", \"host\": \"h\\u00e9.example\","
    " \"path\": \"/caf\\u00e9/\\u20ac/\\ud83d\\ude00\", \"path_hash\":"
    " \"0101010101010101010101010101010101010101010101010101010101010101\","
    " \"peer\": \"10.0.0.1\"},"
    " \"ssh\": {\"key_fingerprint\": \"SHA256:xyz\","
    " \"principals\": \"deploy,ops\", \"serial\": 42,"
    " \"valid_after\": 1767225600, \"valid_before\": 1767229200}}";

/* Derived once with tests/tools/receipt-ref (and sha256sum) from
 * full_json, writer "nginx-1-2", seq 7. */
#define FULL_ID "wr1-2698078c320167e5ce316f5f2e192577"

static json_t *
load(const char *text)
{
    json_error_t err;
    json_t      *j = json_loads(text, 0, &err);

    if (j == NULL) {
        fail_msg("bad test JSON: %s", err.text);
    }
    return j;
}

static size_t
encode_full(uint8_t *buf, size_t cap)
{
    json_t      *j = load(full_json);
    wid_receipt  r;
    size_t       len;

    assert_int_equal(wid_receipt_from_json(j, &r), WID_OK);
    assert_int_equal(wid_receipt_encode(&r, "nginx-1-2", 7, buf, cap, &len),
                     WID_OK);
    json_decref(j);
    return len;
}

static int
span_is(wid_span s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

static void
test_round_trip(void **state)
{
    uint8_t          buf[WID_RECEIPT_MAX], buf2[WID_RECEIPT_MAX];
    size_t           len, len2, k;
    wid_receipt_view v;
    wid_receipt      r;
    json_t          *j, *back;
    char             id[WID_RECEIPT_ID_SIZE];

    (void) state;
    len = encode_full(buf, sizeof(buf));
    assert_int_equal(wid_receipt_decode(buf, len, &v), WID_OK);
    assert_int_equal(v.time_ms, 1767225600123ull);
    assert_int_equal(v.seq, 7);
    assert_int_equal(v.surface, WID_SURFACE_SSH_ISSUE);
    assert_int_equal(v.verdict, WID_VERDICT_DENY);
    assert_int_equal(v.prefer, WID_PREFER_UNMATCHED);
    assert_int_equal(v.not_after, 1767229200);
    assert_int_equal(v.ssh_serial, 42);
    assert_int_equal(v.ssh_valid_after, 1767225600);
    assert_int_equal(v.ssh_valid_before, 1767229200);
    assert_true(v.policy_hash.set && v.bundle_hash.set
                && v.evidence_hash.set && v.path_hash.set);
    for (k = 0; k < 32; k++) {
        assert_int_equal(v.policy_hash.h[k], k);
    }
    assert_true(span_is(v.str[WID_RF_WRITER], "nginx-1-2"));
    assert_true(span_is(v.str[WID_RF_SPIFFE_ID],
                        "spiffe://example.org/payments/worker"));
    assert_true(span_is(v.str[WID_RF_REQ_PATH],
                        "/caf\xc3\xa9/\xe2\x82\xac/\xf0\x9f\x98\x80"));
    assert_true(span_is(v.str[WID_RF_SSH_PRINCIPALS], "deploy,ops"));
    assert_true(span_is(v.str[WID_RF_POLICY_SIGNER], "ops"));

    /* JSON form -> receipt -> the same bytes: nothing lost or moved. */
    wid_receipt_id(buf, len, id);
    j = wid_receipt_view_json(&v, id);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "id")), id);
    assert_string_equal(json_string_value(json_object_get(j, "time")),
                        "2026-01-01T00:00:00.123Z");
    assert_string_equal(json_string_value(json_object_get(
        json_object_get(j, "identity"), "spiffe_id")),
        "spiffe://example.org/payments/worker");
    assert_string_equal(json_string_value(json_object_get(
        json_object_get(j, "policy"), "hash")),
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    assert_string_equal(json_string_value(json_object_get(
        json_object_get(j, "ssh"), "serial")), "42");
    assert_int_equal(wid_receipt_from_json(j, &r), WID_OK);
    assert_int_equal(wid_receipt_encode(&r, "nginx-1-2", 7, buf2,
                                        sizeof(buf2), &len2), WID_OK);
    assert_int_equal(len2, len);
    assert_memory_equal(buf2, buf, len);
    json_decref(j);

    /* A minimal receipt: absent fields are omitted from the JSON form. */
    memset(&r, 0, sizeof(r));
    r.surface = WID_SURFACE_HTTP;
    r.verdict = WID_VERDICT_ALLOW;
    assert_int_equal(wid_receipt_encode(&r, "w", 0, buf, sizeof(buf), &len),
                     WID_OK);
    /* An HTTP receipt: 17 strings, none of SSH's. */
    assert_int_equal(len, WID_RECEIPT_FIXED + 17 * 2 + 1);
    assert_int_equal(wid_receipt_decode(buf, len, &v), WID_OK);
    back = wid_receipt_view_json(&v, NULL);
    assert_null(json_object_get(back, "identity"));
    assert_null(json_object_get(back, "policy"));
    assert_null(json_object_get(back, "id"));
    assert_string_equal(json_string_value(json_object_get(back, "verdict")),
                        "allow");
    json_decref(back);
}

/* Serials use all 64 bits: the JSON form keeps every one of them. */
static void
test_serial_u64_json(void **state)
{
    static const uint64_t serials[] = {
        1, UINT64_C(9223372036854775807), UINT64_C(9223372036854775808),
        UINT64_C(18446744073709551615)
    };
    static const char *const text[] = {
        "1", "9223372036854775807", "9223372036854775808",
        "18446744073709551615"
    };
    uint8_t          buf[WID_RECEIPT_MAX], buf2[WID_RECEIPT_MAX];
    size_t           len, len2, i;
    wid_receipt      r;
    wid_receipt_view v;
    json_t          *j;
    char            *s;

    (void) state;
    for (i = 0; i < sizeof(serials) / sizeof(serials[0]); i++) {
        memset(&r, 0, sizeof(r));
        r.surface = WID_SURFACE_SSH_ISSUE;
        r.verdict = WID_VERDICT_ALLOW;
        r.ssh_serial = serials[i];
        assert_int_equal(wid_receipt_encode(&r, "w", 1, buf, sizeof(buf),
                                            &len), WID_OK);
        assert_int_equal(wid_receipt_decode(buf, len, &v), WID_OK);
        assert_true(v.ssh_serial == serials[i]);
        j = wid_receipt_view_json(&v, NULL);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(
            json_object_get(j, "ssh"), "serial")), text[i]);
        /* Through text and back: the same receipt bytes. */
        s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        j = load(s);
        free(s);
        assert_int_equal(wid_receipt_from_json(j, &r), WID_OK);
        assert_true(r.ssh_serial == serials[i]);
        assert_int_equal(wid_receipt_encode(&r, "w", 1, buf2, sizeof(buf2),
                                            &len2), WID_OK);
        assert_int_equal(len2, len);
        assert_memory_equal(buf2, buf, len);
        json_decref(j);
    }
}

/* So can an SSH validity ("forever" is 2^64-1) and a not-after: below
 * 2^63 as JSON integers, from there as decimal strings, and back to the
 * same receipt bytes either way. */
static void
test_times_u64_json(void **state)
{
    static const uint64_t t[] = {
        1795539302, UINT64_C(9223372036854775807),
        UINT64_C(9223372036854775808), UINT64_C(18446744073709551615)
    };
    uint8_t          buf[WID_RECEIPT_MAX], buf2[WID_RECEIPT_MAX];
    size_t           len, len2, i;
    wid_receipt      r;
    wid_receipt_view v;
    json_t          *j, *vb;
    char            *s;

    (void) state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        memset(&r, 0, sizeof(r));
        r.surface = WID_SURFACE_SSH_LOGIN;
        r.verdict = WID_VERDICT_DENY;
        r.ssh_valid_after = t[i] / 2;
        r.ssh_valid_before = t[i];
        r.not_after = t[i];
        assert_int_equal(wid_receipt_encode(&r, "w", 1, buf, sizeof(buf),
                                            &len), WID_OK);
        assert_int_equal(wid_receipt_decode(buf, len, &v), WID_OK);
        j = wid_receipt_view_json(&v, NULL);
        assert_non_null(j);
        vb = json_object_get(json_object_get(j, "ssh"), "valid_before");
        if (t[i] > (uint64_t) INT64_MAX) {
            assert_true(json_is_string(vb));
        } else {
            assert_true(json_is_integer(vb)
                        && (uint64_t) json_integer_value(vb) == t[i]);
        }
        s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        j = load(s);
        free(s);
        assert_int_equal(wid_receipt_from_json(j, &r), WID_OK);
        assert_int_equal(wid_receipt_encode(&r, "w", 1, buf2, sizeof(buf2),
                                            &len2), WID_OK);
        assert_int_equal(len2, len);
        assert_memory_equal(buf2, buf, len);
        json_decref(j);
    }
}


/* The id and bytes agree with a second implementation of the spec. */
static void
test_known_answer_id(void **state)
{
    uint8_t     buf[WID_RECEIPT_MAX];
    size_t      len;
    char        id[WID_RECEIPT_ID_SIZE], cmd[1200], *hex, *line, tmpl[32];
    const char *pki = getenv("WID_PKI");
    FILE       *p, *f;
    size_t      cap = 2 * WID_RECEIPT_MAX + 16;
    int         fd;

    (void) state;
    len = encode_full(buf, sizeof(buf));
    wid_receipt_id(buf, len, id);
    assert_string_equal(id, FULL_ID);

    /* tests/tools/receipt-ref lives next to widpki. */
    assert_non_null(pki);
    snprintf(tmpl, sizeof(tmpl), "/tmp/wid-rref-XXXXXX");
    fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(full_json, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "\"$(dirname '%s')/receipt-ref\" nginx-1-2 7"
             " < %s", pki, tmpl);
    p = popen(cmd, "r");
    assert_non_null(p);
    hex = malloc(cap);
    line = malloc(cap);
    assert_non_null(fgets(hex, (int) cap, p));
    assert_non_null(fgets(line, (int) cap, p));
    assert_int_equal(pclose(p), 0);
    remove(tmpl);
    hex[strcspn(hex, "\n")] = '\0';
    line[strcspn(line, "\n")] = '\0';
    {
        char *mine = malloc(2 * len + 1);

        sodium_bin2hex(mine, 2 * len + 1, buf, len);
        assert_string_equal(mine, hex);
        free(mine);
    }
    assert_string_equal(line, FULL_ID);
    free(hex);
    free(line);
}

/*
 * Lengths given by the caller (wid_receipt.str_len): strings need no NUL
 * terminator and encode exactly as the same C strings would; a NUL inside
 * the given length, or bad UTF-8 after a long ASCII run (the encoder
 * checks ASCII eight bytes at a time), is still refused.
 */
static void
test_encode_lengths(void **state)
{
    uint8_t     a[WID_RECEIPT_MAX], b[WID_RECEIPT_MAX];
    size_t      alen, blen, lens[WID_RECEIPT_NSTR];
    wid_receipt r;
    unsigned    i;
    static const char *const bad[] = {
        "0123456789abcdef\0x",               /* NUL after two words */
        "01234567\xc3",                      /* cut short after a word */
        "0123456789abcdef0123\xed\xa0\x80", /* surrogate after a run */
        "abcdefg\x80hijklmno",               /* high bit inside a word */
    };
    static const size_t bad_len[] = { 18, 9, 23, 16 };
    /* Not NUL-terminated where the length ends. */
    static const char path[] = "/index.html?query-is-not-recorded";

    (void) state;
    memset(&r, 0, sizeof(r));
    memset(lens, 0, sizeof(lens));
    r.surface = WID_SURFACE_HTTP;
    r.verdict = WID_VERDICT_ALLOW;
    r.str[WID_RF_SPIFFE_ID] = "spiffe://example.org/ns/default/sa/\xc3\xa9t\xc3\xa9";
    r.str[WID_RF_REQ_PATH] = "/index.html";
    r.str[WID_RF_METHOD] = "GET";
    assert_int_equal(wid_receipt_encode(&r, "w", 1, a, sizeof(a), &alen),
                     WID_OK);

    r.str[WID_RF_REQ_PATH] = path;
    lens[WID_RF_REQ_PATH] = strlen("/index.html");
    lens[WID_RF_SPIFFE_ID] = strlen(r.str[WID_RF_SPIFFE_ID]);
    lens[WID_RF_METHOD] = 3;
    r.str_len = lens;
    assert_int_equal(wid_receipt_encode(&r, "w", 1, b, sizeof(b), &blen),
                     WID_OK);
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, alen);

    /* Too long by length alone. */
    lens[WID_RF_HOST] = WID_RECEIPT_STR_MAX + 1;
    r.str[WID_RF_HOST] = path;
    assert_int_equal(wid_receipt_encode(&r, "w", 1, b, sizeof(b), &blen),
                     WID_R_RECEIPT_FIELD_TOO_LONG);
    lens[WID_RF_HOST] = 0;
    r.str[WID_RF_HOST] = NULL;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        r.str[WID_RF_RULE] = bad[i];
        lens[WID_RF_RULE] = bad_len[i];
        assert_int_equal(wid_receipt_encode(&r, "w", 1, b, sizeof(b), &blen),
                         WID_R_RECEIPT_FIELD_INVALID);
    }
}

/*
 * Strings of 1-40 bytes, each with a NUL, a stray continuation byte or an
 * 0xff at every position in turn (the encoder reads long strings a word
 * at a time, the last word overlapping): every one refused, and the same
 * strings with a valid two-byte character there accepted; and
 * wid_receipt_text_ok() says the same of each.
 */
static void
refuse_bad_byte_anywhere(wid_receipt *r, uint8_t *buf)
{
    static const char bad[] = { '\0', '\x80', '\xff' };
    char              s[48];
    size_t            n, at, k, len, lens[WID_RECEIPT_NSTR];

    memset(lens, 0, sizeof(lens));
    r->str_len = lens;
    for (n = 1; n <= 40; n++) {
        for (at = 0; at < n; at++) {
            for (k = 0; k < sizeof(bad); k++) {
                memset(s, 'a', n);
                s[at] = bad[k];
                r->str[WID_RF_HOST] = s;
                lens[WID_RF_HOST] = n;
                assert_int_equal(wid_receipt_encode(r, "w", 1, buf,
                                                    WID_RECEIPT_MAX, &len),
                                 WID_R_RECEIPT_FIELD_INVALID);
                assert_int_equal(len, 0);
                /* The module asks this before it records a raw fact. */
                assert_false(wid_receipt_text_ok(s, n));
            }
            if (at + 1 < n) {
                s[at] = '\xc3';        /* U+00E9 */
                s[at + 1] = '\xa9';
                assert_int_equal(wid_receipt_encode(r, "w", 1, buf,
                                                    WID_RECEIPT_MAX, &len),
                                 WID_OK);
                assert_true(wid_receipt_text_ok(s, n));
            }
        }
    }
    r->str[WID_RF_HOST] = NULL;
    r->str_len = NULL;
}


static void
test_encode_refusals(void **state)
{
    uint8_t     buf[WID_RECEIPT_MAX];
    size_t      len;
    wid_receipt r;
    char       *big = malloc(WID_RECEIPT_STR_MAX + 2);
    unsigned    f;
    static const char *const bad_utf8[] = {
        "\xc0\x80",            /* overlong NUL */
        "\xe0\x80\xaf",        /* overlong '/' */
        "\xed\xa0\x80",        /* surrogate */
        "\xf4\x90\x80\x80",    /* beyond U+10FFFF */
        "\x80",                /* lone continuation byte */
        "a\xe2\x82",           /* cut short */
        "\xff",
    };

    (void) state;
    memset(big, 'x', WID_RECEIPT_STR_MAX + 1);
    big[WID_RECEIPT_STR_MAX + 1] = '\0';
    memset(&r, 0, sizeof(r));
    r.surface = WID_SURFACE_SSH_ISSUE;        /* every field is used */
    r.verdict = WID_VERDICT_ALLOW;

    /* 4096 bytes is the longest string, in every field. */
    for (f = 1; f < WID_RECEIPT_NSTR; f++) {
        r.str[f] = big + 1;
        assert_int_equal(wid_receipt_encode(&r, "w", 1, buf, sizeof(buf),
                                            &len), WID_OK);
        r.str[f] = big;
        assert_int_equal(wid_receipt_encode(&r, "w", 1, buf, sizeof(buf),
                                            &len),
                         WID_R_RECEIPT_FIELD_TOO_LONG);
        assert_int_equal(len, 0);
        r.str[f] = NULL;
    }
    assert_int_equal(wid_receipt_encode(&r, big, 1, buf, sizeof(buf), &len),
                     WID_R_RECEIPT_FIELD_TOO_LONG);
    /* Every string set to the maximum still fits WID_RECEIPT_MAX. */
    for (f = 1; f < WID_RECEIPT_NSTR; f++) {
        r.str[f] = big + 1;
    }
    r.policy_hash.set = r.bundle_hash.set = r.evidence_hash.set =
        r.path_hash.set = 1;
    assert_int_equal(wid_receipt_encode(&r, big + 1, 1, buf, sizeof(buf),
                                        &len), WID_OK);
    assert_int_equal(len, WID_RECEIPT_MAX);
    /* A buffer one byte short is refused, not overrun. */
    assert_int_equal(wid_receipt_encode(&r, big + 1, 1, buf, len - 1, &len),
                     WID_R_INTERNAL_NOMEM);
    memset(&r, 0, sizeof(r));
    r.surface = WID_SURFACE_HTTP;
    r.verdict = WID_VERDICT_ALLOW;

    for (f = 0; f < sizeof(bad_utf8) / sizeof(bad_utf8[0]); f++) {
        r.str[WID_RF_REQ_PATH] = bad_utf8[f];
        assert_int_equal(wid_receipt_encode(&r, "w", 1, buf, sizeof(buf),
                                            &len),
                         WID_R_RECEIPT_FIELD_INVALID);
    }
    r.str[WID_RF_REQ_PATH] = NULL;

    refuse_bad_byte_anywhere(&r, buf);

    /* An HTTP receipt has no room for SSH's fields: refused, not lost. */
    r.str[WID_RF_SSH_PRINCIPALS] = "deploy";
    assert_int_equal(wid_receipt_encode(&r, "w", 1, buf, sizeof(buf), &len),
                     WID_R_RECEIPT_FIELD_INVALID);
    r.str[WID_RF_SSH_PRINCIPALS] = "";
    assert_int_equal(wid_receipt_encode(&r, "w", 1, buf, sizeof(buf), &len),
                     WID_OK);
    r.str[WID_RF_SSH_PRINCIPALS] = NULL;
    r.ssh_serial = 1;
    assert_int_equal(wid_receipt_encode(&r, "w", 1, buf, sizeof(buf), &len),
                     WID_R_RECEIPT_FIELD_INVALID);
    r.ssh_serial = 0;
    r.ssh_valid_before = 1;
    assert_int_equal(wid_receipt_encode(&r, "w", 1, buf, sizeof(buf), &len),
                     WID_R_RECEIPT_FIELD_INVALID);
    r.ssh_valid_before = 0;

    r.surface = 0;
    assert_int_equal(wid_receipt_encode(&r, "w", 1, buf, sizeof(buf), &len),
                     WID_R_RECEIPT_FIELD_INVALID);
    r.surface = WID_SURFACE_SSH_LOGIN + 1;
    assert_int_equal(wid_receipt_encode(&r, "w", 1, buf, sizeof(buf), &len),
                     WID_R_RECEIPT_FIELD_INVALID);
    r.surface = WID_SURFACE_HTTP;
    r.verdict = WID_VERDICT_OBSERVE + 1;
    assert_int_equal(wid_receipt_encode(&r, "w", 1, buf, sizeof(buf), &len),
                     WID_R_RECEIPT_FIELD_INVALID);
    r.verdict = WID_VERDICT_ALLOW;
    r.prefer = WID_PREFER_UNMATCHED + 1;
    assert_int_equal(wid_receipt_encode(&r, "w", 1, buf, sizeof(buf), &len),
                     WID_R_RECEIPT_FIELD_INVALID);
    free(big);
}

static void
test_from_json_refusals(void **state)
{
    static const char *const bad[] = {
        "[]",
        "{\"verdict\": \"allow\"}",
        "{\"surface\": \"http\"}",
        "{\"surface\": \"ftp\", \"verdict\": \"allow\"}",
        "{\"surface\": \"http\", \"verdict\": \"maybe\"}",
        "{\"surface\": \"http\", \"verdict\": \"allow\", \"time_ms\": -1}",
        "{\"surface\": \"http\", \"verdict\": \"allow\", \"time_ms\": \"1\"}",
        "{\"surface\": \"http\", \"verdict\": \"allow\", \"rule\": 5}",
        "{\"surface\": \"http\", \"verdict\": \"allow\","
        " \"policy\": {\"hash\": \"abcd\"}}",
        "{\"surface\": \"http\", \"verdict\": \"allow\","
        " \"policy\": {\"hash\": \"zz0102030405060708090a0b0c0d0e0f"
        "101112131415161718191a1b1c1d1e1f\"}}",
        "{\"surface\": \"http\", \"verdict\": \"allow\","
        " \"identity\": {\"prefer\": \"sometimes\"}}",
        "{\"surface\": \"http\", \"verdict\": \"allow\","
        " \"ssh\": {\"serial\": -5}}",
        "{\"surface\": \"http\", \"verdict\": \"allow\","
        " \"ssh\": {\"serial\": \"18446744073709551616\"}}",
        "{\"surface\": \"http\", \"verdict\": \"allow\","
        " \"ssh\": {\"serial\": \"-1\"}}",
        "{\"surface\": \"http\", \"verdict\": \"allow\","
        " \"ssh\": {\"serial\": \"012\"}}",
        "{\"surface\": \"http\", \"verdict\": \"allow\","
        " \"ssh\": {\"serial\": \"12 \"}}",
        "{\"surface\": \"http\", \"verdict\": \"allow\","
        " \"ssh\": {\"serial\": \"\"}}",
        "{\"surface\": \"http\", \"verdict\": \"allow\","
        " \"identity\": {\"not_after\": \"5\"}}",
    };
    wid_receipt r;
    json_t     *j;
    size_t      i;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = load(bad[i]);
        if (wid_receipt_from_json(j, &r) != WID_R_RECEIPT_FIELD_INVALID) {
            fail_msg("accepted: %s", bad[i]);
        }
        json_decref(j);
    }
}

/*
 * Offsets in the encoding of an HTTP receipt without hashes whose writer
 * is "w": the head's writer, bundle hash flag, first string, policy hash
 * flag and signer, then the decision's fields.
 */
#define OFF_VERSION   7
#define OFF_WRITER    8
#define OFF_FLAG      19
#define OFF_HEAD_STR  20
#define OFF_POLICY    30
#define OFF_SIGNER    31
#define OFF_SURFACE   49
#define OFF_VERDICT   50
#define OFF_PREFER    51
#define OFF_BITMAP    52
#define OFF_STRINGS   53

static void
expect(const uint8_t *b, size_t len, wid_reason_t want, const char *what)
{
    wid_receipt_view v;
    wid_reason_t     rc = wid_receipt_decode(b, len, &v);

    if (rc != want) {
        fail_msg("%s: got %s, want %s", what, wid_reason_code(rc),
                 wid_reason_code(want));
    }
}

/*
 * good (len bytes) with its one-byte string at offset at (u16 length 1
 * and the byte) replaced by n bytes of s, into b; returns b's length.
 */
static size_t
splice_str(uint8_t *b, const uint8_t *good, size_t len, size_t at,
           const void *s, size_t n)
{
    memcpy(b, good, at);
    b[at] = (uint8_t) (n >> 8);
    b[at + 1] = (uint8_t) n;
    memcpy(b + at + 2, s, n);
    memcpy(b + at + 2 + n, good + at + 3, len - at - 3);
    return len - 1 + n;
}

/*
 * The 32-byte hash that flag bit (in the byte at flag_at) announces at
 * offset at: announced but not there, there but not announced (both
 * malformed), both (valid, which proves the offsets right).
 */
static void
expect_hash_slot(uint8_t *b, const uint8_t *good, size_t len,
                 size_t flag_at, uint8_t bit, size_t at, const char *what)
{
    char msg[64];

    memcpy(b, good, len);
    b[flag_at] = bit;
    snprintf(msg, sizeof(msg), "missing %s", what);
    expect(b, len, WID_R_RECEIPT_MALFORMED, msg);
    memcpy(b, good, at);
    memset(b + at, 0, 32);
    memcpy(b + at + 32, good + at, len - at);
    snprintf(msg, sizeof(msg), "unannounced %s", what);
    expect(b, len + 32, WID_R_RECEIPT_MALFORMED, msg);
    b[flag_at] = bit;
    snprintf(msg, sizeof(msg), "announced %s", what);
    expect(b, len + 32, WID_OK, msg);
}

static void
test_decode_malformed(void **state)
{
    static uint8_t b[WID_RECEIPT_MAX + 64];
    static char big[WID_RECEIPT_STR_MAX + 1];
    uint8_t     good[512];
    size_t      len, n;
    uint64_t    seq;
    wid_receipt r;
    unsigned    k;
    static const struct {
        const char *bytes;
        size_t      n;
        const char *what;
    } strs[] = {
        { "\xc0\x80", 2, "overlong NUL" },
        { "\xed\xb0\x80", 3, "surrogate" },
        { "\xf4\x90\x80\x80", 4, "beyond U+10FFFF" },
        { "\xf8\x88\x80\x80\x80", 5, "five-byte form" },
        { "\x80", 1, "lone continuation" },
        { "\xe2\x82", 2, "cut short" },
        { "a\0b", 3, "NUL byte" },
    };

    (void) state;
    memset(&r, 0, sizeof(r));
    r.surface = WID_SURFACE_HTTP;
    r.verdict = WID_VERDICT_ALLOW;
    r.str[WID_RF_RULE] = "r";
    assert_int_equal(wid_receipt_encode(&r, "w", 3, good, sizeof(good),
                                        &len), WID_OK);
    expect(good, len, WID_OK, "good");
    /* The layout the offsets above assume: writer; reason, rule. */
    assert_int_equal(good[OFF_WRITER + 1], 1);
    assert_int_equal(good[OFF_WRITER + 2], 'w');
    assert_int_equal(good[OFF_FLAG], 0);
    assert_int_equal(good[OFF_POLICY], 0);
    assert_int_equal(good[OFF_SURFACE], WID_SURFACE_HTTP);
    assert_int_equal(good[OFF_BITMAP], 0);
    assert_int_equal(good[OFF_STRINGS + 3], 1);
    assert_int_equal(good[OFF_STRINGS + 4], 'r');
    assert_int_equal(wid_receipt_seq(good, len, &seq), 0);
    assert_int_equal(seq, 3);
    for (n = 0; n < OFF_SURFACE - 3; n++) {
        assert_int_equal(wid_receipt_seq(good, n, &seq), -1);
    }

    expect(good, 0, WID_R_RECEIPT_MALFORMED, "empty");
    expect(good, WID_RECEIPT_FIXED - 1, WID_R_RECEIPT_MALFORMED, "short");
    for (n = 0; n < len; n++) {
        expect(good, n, WID_R_RECEIPT_MALFORMED, "truncated");
    }
    memcpy(b, good, len);
    b[len] = 0;
    expect(b, len + 1, WID_R_RECEIPT_MALFORMED, "trailing byte");

    memcpy(b, good, len);
    b[0] = 'X';
    expect(b, len, WID_R_RECEIPT_MALFORMED, "magic");
    for (k = 0; k < 256; k++) {
        if (k == WID_RECEIPT_VERSION || k == 2) {
            continue;               /* 2: test_decode_v2 */
        }
        memcpy(b, good, len);
        b[OFF_VERSION] = (uint8_t) k;
        expect(b, len, WID_R_RECEIPT_UNSUPPORTED_VERSION, "version");
    }
    memcpy(b, good, len);
    b[OFF_SURFACE] = 0;
    expect(b, len, WID_R_RECEIPT_MALFORMED, "surface 0");
    b[OFF_SURFACE] = 4;
    expect(b, len, WID_R_RECEIPT_MALFORMED, "surface 4");
    memcpy(b, good, len);
    b[OFF_VERDICT] = 0;
    expect(b, len, WID_R_RECEIPT_MALFORMED, "verdict 0");
    b[OFF_VERDICT] = 4;
    expect(b, len, WID_R_RECEIPT_MALFORMED, "verdict 4");
    memcpy(b, good, len);
    b[OFF_PREFER] = 3;
    expect(b, len, WID_R_RECEIPT_MALFORMED, "prefer 3");
    for (k = 2; k < 8; k++) {
        memcpy(b, good, len);
        b[OFF_BITMAP] = (uint8_t) (1u << k);
        expect(b, len, WID_R_RECEIPT_MALFORMED, "unknown bitmap bit");
    }
    for (k = 2; k < 256; k++) {
        memcpy(b, good, len);
        b[OFF_FLAG] = (uint8_t) k;
        expect(b, len, WID_R_RECEIPT_MALFORMED, "bundle hash flag");
        memcpy(b, good, len);
        b[OFF_POLICY] = (uint8_t) k;
        expect(b, len, WID_R_RECEIPT_MALFORMED, "policy hash flag");
    }
    expect_hash_slot(b, good, len, OFF_FLAG, 1, OFF_HEAD_STR, "bundle hash");
    expect_hash_slot(b, good, len, OFF_POLICY, 1, OFF_SIGNER, "policy hash");
    expect_hash_slot(b, good, len, OFF_BITMAP, 1, OFF_STRINGS,
                     "evidence hash");
    expect_hash_slot(b, good, len, OFF_BITMAP, 2, OFF_STRINGS, "path hash");

    /* An SSH receipt ends with SSH's fields; an HTTP one has none. */
    n = encode_full(b, sizeof(b));          /* ssh_issue */
    expect(b, n, WID_OK, "ssh");
    for (k = 0; k < 28; k++) {
        expect(b, n - 1 - k, WID_R_RECEIPT_MALFORMED, "ssh part cut");
    }
    memcpy(b, good, len);
    b[OFF_SURFACE] = WID_SURFACE_SSH_LOGIN;
    expect(b, len, WID_R_RECEIPT_MALFORMED, "ssh without its part");
    memcpy(b, good, len);
    memset(b + len, 0, 28);
    expect(b, len + 28, WID_R_RECEIPT_MALFORMED, "http with an ssh part");
    b[OFF_SURFACE] = WID_SURFACE_SSH_LOGIN;
    expect(b, len + 28, WID_OK, "ssh login, empty ssh part");

    /* A string length running past the end. */
    memcpy(b, good, len);
    b[OFF_WRITER] = 0x01;           /* writer length 257 */
    expect(b, len, WID_R_RECEIPT_MALFORMED, "string past the end");

    /* A 4097-byte writer, even with all the bytes present; 4096 is
     * fine. */
    memset(big, 'a', sizeof(big));
    n = splice_str(b, good, len, OFF_WRITER, big, WID_RECEIPT_STR_MAX + 1);
    expect(b, n, WID_R_RECEIPT_MALFORMED, "string too long");
    n = splice_str(b, good, len, OFF_WRITER, big, WID_RECEIPT_STR_MAX);
    expect(b, n, WID_OK, "string of 4096");
    assert_int_equal(wid_receipt_seq(b, n, &seq), 0);
    assert_int_equal(seq, 3);

    /* Bad UTF-8 or a NUL in a string: the writer (one byte long), the
     * rule (one byte long, after the empty reason). */
    for (k = 0; k < sizeof(strs) / sizeof(strs[0]); k++) {
        n = splice_str(b, good, len, OFF_WRITER, strs[k].bytes, strs[k].n);
        expect(b, n, WID_R_RECEIPT_MALFORMED, strs[k].what);
        n = splice_str(b, good, len, OFF_STRINGS + 2, strs[k].bytes,
                       strs[k].n);
        expect(b, n, WID_R_RECEIPT_MALFORMED, strs[k].what);
    }
    /* Longer than any receipt can be. */
    expect(b, WID_RECEIPT_MAX + 1, WID_R_RECEIPT_MALFORMED, "too big");
}

/*
 * Version 2, as written before version 3 (tests/tools/receipt-ref at v2,
 * from full_json): still decoded, with its own id, so that logs written
 * before the change verify.
 */
static const char *const full_v2_hex =
    "574944524350540200096e67696e782d312d32000000006955c7100120202020"
    "2020202020202020202020202020202020202020202020202020202000247370"
    "696666653a2f2f6578616d706c652e6f72672f7061796d656e74732f776f726b"
    "6572000b6578616d706c652e6f726700102f7061796d656e74732f776f726b65"
    "7200086a77745f7376696400097368613235363a61620000019b76daa87b0000"
    "000000000007020202000000000000002a000000006955b900000000006955c7"
    "1007000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d"
    "1e1fffeeddccbbaa99887766554433221100ffeeddccbbaa9988776655443322"
    "1100010101010101010101010101010101010101010101010101010101010101"
    "01010012706f6c6963792e706174685f70726566697800087061796d656e7473"
    "0005697373756500036f707300086174746573746564000c74706d2d71756f74"
    "652d7631000b74706d2e6578616d706c650003474554000b68c3a92e6578616d"
    "706c65000f2f636166c3a92fe282ac2ff09f9880000831302e302e302e31000a"
    "5348413235363a78797a000a6465706c6f792c6f7073";
#define FULL_V2_ID "wr1-98c25c61c4c2907b79754e44849355cb"

static void
test_decode_v2(void **state)
{
    static uint8_t   b[WID_RECEIPT_MAX];
    size_t           len = strlen(full_v2_hex) / 2, n;
    uint64_t         seq;
    wid_receipt_view v;
    json_t          *j;
    char             id[WID_RECEIPT_ID_SIZE];

    (void) state;
    assert_int_equal(sodium_hex2bin(b, sizeof(b), full_v2_hex,
                                    strlen(full_v2_hex), NULL, &n, NULL), 0);
    assert_int_equal(n, len);
    assert_int_equal(b[7], 2);
    assert_int_equal(wid_receipt_decode(b, len, &v), WID_OK);
    assert_int_equal(v.version, 2);
    assert_int_equal(v.seq, 7);
    assert_int_equal(v.surface, WID_SURFACE_SSH_ISSUE);
    assert_int_equal(v.ssh_serial, 42);
    assert_int_equal(v.ssh_valid_before, 1767229200);
    assert_true(v.policy_hash.set && v.policy_hash.h[31] == 31);
    assert_true(v.bundle_hash.set && v.evidence_hash.set && v.path_hash.set);
    assert_true(span_is(v.str[WID_RF_POLICY_SIGNER], "ops"));
    assert_true(span_is(v.str[WID_RF_PEER], "10.0.0.1"));
    assert_true(span_is(v.str[WID_RF_SSH_PRINCIPALS], "deploy,ops"));
    assert_int_equal(wid_receipt_seq(b, len, &seq), 0);
    assert_int_equal(seq, 7);
    wid_receipt_id(b, len, id);
    assert_string_equal(id, FULL_V2_ID);
    j = wid_receipt_view_json(&v, id);
    assert_int_equal(json_integer_value(json_object_get(j, "schema")), 2);
    json_decref(j);

    for (n = 0; n < len; n++) {
        expect(b, n, WID_R_RECEIPT_MALFORMED, "v2 truncated");
    }
    b[len] = 0;
    expect(b, len + 1, WID_R_RECEIPT_MALFORMED, "v2 trailing byte");
}

/*
 * A receipt encoded after its head is byte for byte the one encoded
 * whole, and the head's begun leaf hash finishes to the whole's leaf
 * hash: for heads of every length across three SHA-256 blocks, with and
 * without a bundle hash, from a copy of the head's used bytes, and
 * whatever identity the receipt passed with the head carries.
 */
static void
test_head_same_bytes(void **state)
{
    static uint8_t    a[WID_RECEIPT_MAX], b[WID_RECEIPT_MAX];
    static char       id[300];
    wid_receipt       r, other;
    wid_receipt_head  h, *copy;
    uint8_t           la[32], lb[32];
    size_t            alen, blen, n;
    unsigned          bundle;

    (void) state;
    memset(&r, 0, sizeof(r));
    r.time_ms = 1767225600123ull;
    r.surface = WID_SURFACE_HTTP;
    r.verdict = WID_VERDICT_DENY;
    r.not_after = 1767229200;
    r.policy_hash.set = 1;
    memset(r.policy_hash.h, 0xab, 32);
    memset(r.bundle_hash.h, 0xcd, 32);
    r.str[WID_RF_REASON] = "policy.denied";
    r.str[WID_RF_RULE] = "api";
    r.str[WID_RF_TRUST_DOMAIN] = "example.org";
    r.str[WID_RF_CREDENTIAL_KIND] = "jwt_svid";
    r.str[WID_RF_CREDENTIAL_ID] = "00ff";
    r.str[WID_RF_METHOD] = "GET";
    r.str[WID_RF_PEER] = "127.0.0.1";

    other = r;
    other.not_after = 1;
    other.bundle_hash.set = 0;
    other.str[WID_RF_SPIFFE_ID] = "spiffe://other.org/x";
    other.str[WID_RF_CREDENTIAL_ID] = "ffff";

    for (bundle = 0; bundle < 2; bundle++) {
        r.bundle_hash.set = (uint8_t) bundle;
        for (n = 0; n < 200; n++) {
            memset(id, 'a', n);
            id[n] = '\0';
            r.str[WID_RF_SPIFFE_ID] = id;
            r.str[WID_RF_ID_PATH] = id;
            assert_int_equal(wid_receipt_encode(&r, "nginx-1-2", 9, a,
                                                sizeof(a), &alen), WID_OK);
            assert_int_equal(wid_receipt_head_make(&r, "nginx-1-2", &h),
                             WID_OK);
            assert_true(h.len < alen);
            assert_memory_equal(h.bytes, a, h.len);

            /* The identity passed with the head is not read. */
            assert_int_equal(wid_receipt_encode_after(&h, &other, 9, b,
                                                      sizeof(b), &blen),
                             WID_OK);
            assert_int_equal(blen, alen);
            assert_memory_equal(b, a, alen);

            wid_merkle_leaf_hash(a, alen, la);
            wid_merkle_leaf_finish(&h.leaf, b + h.len, blen - h.len, lb);
            assert_memory_equal(lb, la, 32);

            copy = malloc(wid_receipt_head_size(&h));
            assert_non_null(copy);
            memcpy(copy, &h, wid_receipt_head_size(&h));
            assert_int_equal(wid_receipt_encode_after(copy, &r, 9, b,
                                                      sizeof(b), &blen),
                             WID_OK);
            assert_memory_equal(b, a, alen);
            wid_merkle_leaf_finish(&copy->leaf, b + copy->len,
                                   blen - copy->len, lb);
            assert_memory_equal(lb, la, 32);
            free(copy);
        }
    }

    /* The writer and the policy the head names. */
    assert_true(wid_receipt_head_fits(&h, "nginx-1-2", &r));
    assert_true(wid_receipt_head_fits(&h, "nginx-1-2", &other));
    assert_false(wid_receipt_head_fits(&h, "nginx-1-", &r));
    assert_false(wid_receipt_head_fits(&h, "nginx-1-23", &r));
    assert_false(wid_receipt_head_fits(&h, "nginx-1-3", &r));
    other.policy_hash.h[31] ^= 1;
    assert_false(wid_receipt_head_fits(&h, "nginx-1-2", &other));
    other.policy_hash = r.policy_hash;
    other.policy_hash.set = 0;
    assert_false(wid_receipt_head_fits(&h, "nginx-1-2", &other));
    other.policy_hash = r.policy_hash;
    other.str[WID_RF_POLICY_SIGNER] = "ops";
    assert_false(wid_receipt_head_fits(&h, "nginx-1-2", &other));
    r.str[WID_RF_POLICY_SIGNER] = "ops";
    assert_int_equal(wid_receipt_head_make(&r, "nginx-1-2", &h), WID_OK);
    assert_true(wid_receipt_head_fits(&h, "nginx-1-2", &other));
    other.str[WID_RF_POLICY_SIGNER] = "opz";
    assert_false(wid_receipt_head_fits(&h, "nginx-1-2", &other));
    other.str[WID_RF_POLICY_SIGNER] = NULL;
    assert_false(wid_receipt_head_fits(&h, "nginx-1-2", &other));
    r.str[WID_RF_POLICY_SIGNER] = NULL;
    assert_int_equal(wid_receipt_head_make(&r, "nginx-1-2", &h), WID_OK);

    /* The decision is still checked; the room too. */
    other.verdict = 0;
    assert_int_equal(wid_receipt_encode_after(&h, &other, 9, b, sizeof(b),
                                              &blen),
                     WID_R_RECEIPT_FIELD_INVALID);
    assert_int_equal(blen, 0);
    assert_int_equal(wid_receipt_encode_after(&h, &r, 9, b, h.len, &blen),
                     WID_R_INTERNAL_NOMEM);
    r.str[WID_RF_HOST] = "\xff";
    assert_int_equal(wid_receipt_encode_after(&h, &r, 9, b, sizeof(b),
                                              &blen),
                     WID_R_RECEIPT_FIELD_INVALID);
    assert_int_equal(blen, 0);
    r.str[WID_RF_HOST] = NULL;

    /* Heads that cannot be: too long to keep, or not UTF-8. */
    {
        static char big[WID_RECEIPT_HEAD_MAX + 1];

        memset(big, 'a', sizeof(big) - 1);
        r.str[WID_RF_SPIFFE_ID] = big;
        assert_int_equal(wid_receipt_head_make(&r, "w", &h),
                         WID_R_INTERNAL_NOMEM);
        assert_int_equal(h.len, 0);
        /* ... which is encoded whole. */
        assert_int_equal(wid_receipt_encode(&r, "w", 9, a, sizeof(a), &alen),
                         WID_OK);
    }
    r.str[WID_RF_SPIFFE_ID] = "a\xc0\x80";
    assert_int_equal(wid_receipt_head_make(&r, "w", &h),
                     WID_R_RECEIPT_FIELD_INVALID);
    assert_int_equal(h.len, 0);
}

/* Changing any byte of the encoding changes the id; ids are prefixed. */
static void
test_id_binds_every_byte(void **state)
{
    uint8_t buf[WID_RECEIPT_MAX], leaf[32];
    size_t  len, i;
    char    id[WID_RECEIPT_ID_SIZE], id2[WID_RECEIPT_ID_SIZE];

    (void) state;
    len = encode_full(buf, sizeof(buf));
    wid_receipt_id(buf, len, id);
    wid_merkle_leaf_hash(buf, len, leaf);
    wid_receipt_id_from_leaf(leaf, id2);
    assert_string_equal(id, id2);
    assert_int_equal(strlen(id), WID_RECEIPT_ID_LEN);
    for (i = 0; i < len; i++) {
        buf[i] ^= 1;
        wid_receipt_id(buf, len, id2);
        assert_string_not_equal(id, id2);
        buf[i] ^= 1;
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_known_answer_id),
        cmocka_unit_test(test_encode_refusals),
        cmocka_unit_test(test_encode_lengths),
        cmocka_unit_test(test_from_json_refusals),
        cmocka_unit_test(test_serial_u64_json),
        cmocka_unit_test(test_times_u64_json),
        cmocka_unit_test(test_decode_malformed),
        cmocka_unit_test(test_decode_v2),
        cmocka_unit_test(test_head_same_bytes),
        cmocka_unit_test(test_id_binds_every_byte),
    };

    if (sodium_init() < 0) {
        return 1;
    }
    return cmocka_run_group_tests_name("receipt", tests, NULL, NULL);
}
