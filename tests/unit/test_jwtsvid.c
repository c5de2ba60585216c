/*
 * JWT-SVID verification against tokens minted at test time by
 * tests/tools/mint-jwt: valid ones by python3-jwcrypto (independent of
 * wid), attack ones assembled byte by byte and correctly signed, so
 * that each is rejected for the rule it breaks and no other.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>
#include <sodium.h>

#include "bundle.h"
#include "identity_support.h"
#include "json_arena.h"
#include "jws.h"
#include "jwtsvid.h"
#include "sha256.h"

#define NOW 1800000000LL

static char            dir[256];
static wid_bundle_set *set;       /* a.org=a.org.json, b.org=b.org.json */

static char *
token(const char *name, size_t *len)
{
    char  path[512];
    char *t;

    snprintf(path, sizeof(path), "%s/tok/%s.jwt", dir, name);
    t = idt_slurp(path, len);
    if (t == NULL) {
        fail_msg("missing token %s", path);
    }
    return t;
}

static wid_reason_t
verify_in(wid_bundle_set *s, const char *name, const char *aud, long long now,
          long long leeway, wid_identity *id)
{
    size_t       len;
    char        *t = token(name, &len);
    wid_reason_t r;

    r = wid_jwtsvid_verify(s, t, len, aud, now, leeway, id);
    free(t);
    return r;
}

static wid_reason_t
verify(const char *name)
{
    wid_identity id;

    return verify_in(set, name, "wid-test", NOW, 0, &id);
}

static const struct {
    const char   *name;
    wid_reason_t  want;
} cases[] = {
    { "valid_es256", WID_OK },
    { "valid_es384", WID_OK },
    { "valid_es512", WID_OK },
    { "valid_rs256", WID_OK },
    { "valid_rs384", WID_OK },
    { "valid_rs512", WID_OK },
    { "valid_ps256", WID_OK },
    { "valid_ps384", WID_OK },
    { "valid_ps512", WID_OK },
    { "valid_nokid", WID_OK },
    { "valid_nokid_es384", WID_OK },
    { "valid_typ_jose", WID_OK },
    { "valid_no_typ", WID_OK },
    { "valid_aud_string", WID_OK },
    { "valid_b", WID_OK },
    { "raw_valid", WID_OK },
    { "exp_real", WID_OK },
    { "alg_none", WID_R_JWT_ALG_NOT_ALLOWED },
    { "alg_none_sig", WID_R_JWT_ALG_NOT_ALLOWED },
    { "hs256_pubkey", WID_R_JWT_ALG_NOT_ALLOWED },
    { "alg_eddsa", WID_R_JWT_ALG_NOT_ALLOWED },
    { "alg_missing", WID_R_JWT_ALG_MISSING },
    { "rs256_on_ec", WID_R_JWT_ALG_KEY_MISMATCH },
    { "es256_on_p384", WID_R_JWT_ALG_KEY_MISMATCH },
    { "der_es256", WID_R_JWT_SIGNATURE_LENGTH },
    { "sig_truncated", WID_R_JWT_SIGNATURE_LENGTH },
    { "es_r_zero", WID_R_JWT_BAD_SIGNATURE },
    { "es_s_order", WID_R_JWT_BAD_SIGNATURE },
    { "es_s_mirrored", WID_OK },
    { "tampered_payload", WID_R_JWT_BAD_SIGNATURE },
    { "nokid_other_td", WID_R_JWT_BAD_SIGNATURE },
    { "kid_other_td", WID_R_JWT_KID_UNKNOWN },
    { "kid_unknown", WID_R_JWT_KID_UNKNOWN },
    { "kid_int", WID_R_JWT_KID_INVALID },
    { "exp_missing", WID_R_JWT_EXP_MISSING },
    { "exp_past", WID_R_JWT_EXPIRED },
    { "exp_string", WID_R_JWT_CLAIM_INVALID },
    { "nbf_future", WID_R_JWT_NOT_YET_VALID },
    { "iat_future", WID_R_JWT_IAT_FUTURE },
    { "aud_missing", WID_R_JWT_AUD_MISSING },
    { "aud_empty", WID_R_JWT_AUD_MISSING },
    { "aud_wrong", WID_R_JWT_AUD_MISMATCH },
    { "aud_number", WID_R_JWT_CLAIM_INVALID },
    { "sub_missing", WID_R_JWT_SUB_MISSING },
    { "sub_invalid", WID_R_JWT_SUB_INVALID },
    { "sub_not_spiffe", WID_R_JWT_SUB_INVALID },
    { "sub_unknown_td", WID_R_BUNDLE_UNKNOWN_TD },
    { "sub_root_path", WID_R_JWT_SUB_ROOT_PATH },
    { "no_iat", WID_OK },
    { "typ_bad", WID_R_JWT_TYP_NOT_ALLOWED },
    { "crit", WID_R_JWT_CRIT_NOT_ALLOWED },
    { "header_jku", WID_R_JWT_HEADER_NOT_ALLOWED },
    { "header_array", WID_R_JWT_HEADER_INVALID },
    { "payload_array", WID_R_JWT_PAYLOAD_INVALID },
    { "dup_header", WID_R_JWT_DUPLICATE_KEY },
    { "dup_payload", WID_R_JWT_DUPLICATE_KEY },
    { "too_deep", WID_R_JWT_TOO_DEEP },
    { "too_large", WID_R_JWT_TOO_LARGE },
    { "json_serialization", WID_R_JWT_NOT_COMPACT },
    { "bad_base64_header", WID_R_JWT_BAD_BASE64 },
    { "bad_base64_payload", WID_R_JWT_BAD_BASE64 },
    { "bad_base64_sig", WID_R_JWT_BAD_BASE64 },
    { "two_parts", WID_R_JWT_MALFORMED },
    { "four_parts", WID_R_JWT_MALFORMED },
    { "empty_payload", WID_R_JWT_MALFORMED },
    /* JSON edges: jansson decides, the rules apply unchanged. */
    { "fp_flat_exact", WID_OK },
    { "fp_escaped_sub", WID_OK },
    { "fp_spaces", WID_OK },
    { "fp_trailing_space", WID_OK },
    { "fp_escaped_kid", WID_OK },
    { "fp_escaped_typ", WID_OK },
    { "fp_escaped_alg_none", WID_R_JWT_ALG_NOT_ALLOWED },
    { "fp_empty_kid", WID_R_JWT_KID_INVALID },
    { "fp_long_kid", WID_R_JWT_KID_UNKNOWN },
    { "fp_dup_typ", WID_R_JWT_DUPLICATE_KEY },
    { "fp_header_bool", WID_R_JWT_HEADER_NOT_ALLOWED },
    { "fp_exp_int64_max", WID_OK },
    { "fp_exp_too_big", WID_R_JWT_PAYLOAD_INVALID },
    { "fp_unread_int_too_big", WID_R_JWT_PAYLOAD_INVALID },
    { "fp_exp_negative", WID_R_JWT_EXPIRED },
    { "fp_exp_minus_zero", WID_R_JWT_EXPIRED },
    { "fp_exp_leading_zero", WID_R_JWT_PAYLOAD_INVALID },
    { "fp_exp_exponent", WID_OK },
    { "fp_exp_zero", WID_R_JWT_EXPIRED },
    { "fp_exp_array", WID_R_JWT_CLAIM_INVALID },
    { "fp_trailing_junk", WID_R_JWT_PAYLOAD_INVALID },
    { "fp_two_objects", WID_R_JWT_PAYLOAD_INVALID },
    { "fp_aud_17", WID_OK },
    { "fp_aud_16_miss", WID_R_JWT_AUD_MISMATCH },
    { "fp_aud_nested", WID_R_JWT_CLAIM_INVALID },
    { "fp_aud_mixed", WID_R_JWT_CLAIM_INVALID },
    { "fp_aud_escaped", WID_OK },
    { "fp_aud_trailing_comma", WID_R_JWT_PAYLOAD_INVALID },
    { "fp_aud_empty_string", WID_R_JWT_AUD_MISSING },
    { "fp_sub_nul", WID_R_JWT_PAYLOAD_INVALID },
    { "fp_sub_number", WID_R_JWT_SUB_MISSING },
    { "fp_sub_utf8", WID_R_JWT_SUB_INVALID },
    { "fp_bad_utf8", WID_R_JWT_PAYLOAD_INVALID },
    { "fp_unknown_claims", WID_OK },
    { "fp_17_members", WID_OK },
    { "fp_dup_unknown", WID_R_JWT_DUPLICATE_KEY },
    { "fp_empty_object", WID_R_JWT_SUB_MISSING },
    { "fp_nbf_string", WID_R_JWT_CLAIM_INVALID },
    { "fp_iat_real_future", WID_R_JWT_IAT_FUTURE },
};

static void
test_cases(void **state)
{
    size_t       i;
    wid_reason_t r;
    int          bad = 0;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        r = verify(cases[i].name);
        if (r != cases[i].want) {
            print_error("%s: got %s, want %s\n", cases[i].name,
                        wid_reason_code(r), wid_reason_code(cases[i].want));
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

static void
sha256_hex(const void *data, size_t len, char *hex)
{
    unsigned char md[SHA256_DIGEST_LENGTH];

    SHA256(data, len, md);
    wid_hex(md, sizeof(md), hex);
}

static void
test_identity_fields(void **state)
{
    wid_identity id;
    char         path[512], hex[65], *t, *b;
    size_t       len, blen;

    (void) state;
    t = token("valid_es256", &len);
    assert_int_equal(wid_jwtsvid_verify(set, t, len, "wid-test", NOW, 0, &id),
                     WID_OK);
    assert_string_equal(id.spiffe_id, "spiffe://a.org/workload");
    assert_string_equal(id.trust_domain, "a.org");
    assert_string_equal(id.path, "/workload");
    assert_int_equal(id.kind, WID_CRED_JWT_SVID);
    assert_string_equal(wid_cred_kind_name(id.kind), "jwt_svid");
    assert_int_equal(id.not_after, NOW + 3600);
    assert_string_equal(id.audience, "wid-test");
    assert_string_equal(id.fingerprint, "");
    /* The credential id: the SHA-256 of the signing input. */
    sha256_hex(t, (size_t) (strrchr(t, '.') - t), hex);
    assert_string_equal(id.serial, hex);
    snprintf(path, sizeof(path), "%s/a.org.json", dir);
    b = idt_slurp(path, &blen);
    assert_non_null(b);
    sha256_hex(b, blen, hex);
    assert_string_equal(id.bundle_sha256, hex);
    free(b);

    /* The second audience of the token matches as well. */
    assert_int_equal(wid_jwtsvid_verify(set, t, len, "other", NOW, 0, &id),
                     WID_OK);
    assert_string_equal(id.audience, "other");
    free(t);
}

/*
 * The serial is the SHA-256 of the signing input for every algorithm
 * (the *256 ones take the signature's own digest; the others hash
 * anew), so two encodings of one ECDSA signature, s and n - s, both
 * valid, name one credential.
 */
static void
test_serial_every_alg(void **state)
{
    static const char *names[] = {
        "valid_es256", "valid_es384", "valid_es512", "valid_rs256",
        "valid_rs384", "valid_rs512", "valid_ps256", "valid_ps384",
        "valid_ps512", "valid_nokid", "fp_spaces", "fp_aud_17", "no_iat",
    };
    wid_identity     id, mirrored;
    char             hex[65], *t;
    size_t           i, len;

    (void) state;
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        t = token(names[i], &len);
        assert_int_equal(wid_jwtsvid_verify(set, t, len, "wid-test", NOW, 0,
                                            &id), WID_OK);
        sha256_hex(t, (size_t) (strrchr(t, '.') - t), hex);
        assert_string_equal(id.serial, hex);
        assert_string_equal(id.spiffe_id, "spiffe://a.org/workload");
        free(t);
    }

    /* es_s_mirrored is raw_valid with s replaced by n - s. */
    t = token("raw_valid", &len);
    assert_int_equal(wid_jwtsvid_verify(set, t, len, "wid-test", NOW, 0, &id),
                     WID_OK);
    free(t);
    t = token("es_s_mirrored", &len);
    assert_int_equal(wid_jwtsvid_verify(set, t, len, "wid-test", NOW, 0,
                                        &mirrored), WID_OK);
    free(t);
    assert_string_equal(mirrored.serial, id.serial);
}

static wid_reason_t
verify_opts(wid_bundle_set *s, const char *name, const wid_jwtsvid_opts *o,
            wid_identity *id)
{
    size_t       len;
    char        *t = token(name, &len);
    wid_reason_t r;

    r = wid_jwtsvid_verify_opts(s, t, len, o, id);
    free(t);
    return r;
}

/*
 * Every token of the suite, under several audiences, times and
 * leeways: with the header memo (cold, then warm: each header of a
 * token that verified is remembered) and without it, the result is the
 * same, byte for byte, in the reason and in the whole wid_identity.
 */
static void
test_memo_equivalence(void **state)
{
    static const struct {
        const char *aud;
        long long   now, leeway;
    } ctx[] = {
        { "wid-test", NOW, 0 }, { "other", NOW, 0 }, { "nope", NOW, 0 },
        { "wid-test", NOW + 3600, 0 }, { "wid-test", NOW + 3600, 60 },
        { "wid-test", NOW - 700, 0 }, { "wid-test", NOW + 601, 600 },
    };
    wid_jwtsvid_opts o;
    char             path[1024];
    DIR             *d;
    struct dirent   *e;
    wid_identity     a, b, c;
    wid_reason_t     ra, rb, rc;
    char            *t;
    size_t           len, i, n = 0;
    int              bad = 0, pass;

    (void) state;
    for (pass = 0; pass < 2; pass++) {
        wid_jws_memo_clear();
        snprintf(path, sizeof(path), "%s/tok", dir);
        d = opendir(path);
        assert_non_null(d);
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.') {
                continue;
            }
            snprintf(path, sizeof(path), "%s/tok/%s", dir, e->d_name);
            t = idt_slurp(path, &len);
            assert_non_null(t);
            for (i = 0; i < sizeof(ctx) / sizeof(ctx[0]); i++) {
                memset(&o, 0, sizeof(o));
                o.audience = ctx[i].aud;
                o.now = ctx[i].now;
                o.leeway = ctx[i].leeway;
                memset(&a, 0xa5, sizeof(a));
                memset(&b, 0x5a, sizeof(b));
                memset(&c, 0x3c, sizeof(c));
                /* Pass 1 fills the memo first, pass 2 checks it cold. */
                o.flags = pass == 0 ? 0 : WID_JWTSVID_NO_MEMO;
                ra = wid_jwtsvid_verify_opts(set, t, len, &o, &a);
                o.flags = pass == 0 ? WID_JWTSVID_NO_MEMO : 0;
                rb = wid_jwtsvid_verify_opts(set, t, len, &o, &b);
                o.flags = 0;
                rc = wid_jwtsvid_verify_opts(set, t, len, &o, &c);
                if (ra != rb || rb != rc || memcmp(&a, &b, sizeof(a)) != 0
                    || memcmp(&b, &c, sizeof(b)) != 0)
                {
                    print_error("%s (%s): %s / %s / %s\n", e->d_name,
                                ctx[i].aud, wid_reason_code(ra),
                                wid_reason_code(rb), wid_reason_code(rc));
                    bad++;
                }
            }
            free(t);
            n++;
        }
        closedir(d);
    }
    assert_true(n >= 2 * 90);
    assert_int_equal(bad, 0);
    /* The suite's valid tokens use several headers: all remembered. */
    assert_true(wid_jws_memo_count() >= 5);
}

/*
 * The memo at the JWS level: a header is taken from it only after a
 * token with it verified, under the same rules; a different header
 * byte, other rules, or WID_JWS_NO_MEMO do the full check.
 */
static void
test_memo_rules(void **state)
{
    wid_jws_opts  strict = {
        WID_JWTSVID_MAX_LEN, 0, WID_JWS_HDR_STRICT | WID_JWS_HDR_TYP_JWT,
        NULL, NULL
    };
    wid_jws_opts  loose = { WID_JWTSVID_MAX_LEN, 0, 0, NULL, NULL };
    wid_jws_opts  nomemo = strict;
    wid_jws      *j = malloc(sizeof(*j));
    wid_identity  id;
    char         *t, *u;
    size_t        len, ulen;

    (void) state;
    assert_non_null(j);
    nomemo.flags |= WID_JWS_NO_MEMO;
    wid_jws_memo_clear();
    t = token("valid_rs256", &len);

    /* Parsing alone never fills the memo. */
    assert_int_equal(wid_jws_parse(t, len, &strict, j), WID_OK);
    assert_false(j->from_memo);
    assert_non_null(j->header);
    wid_jws_clear(j);
    assert_int_equal(wid_jws_memo_count(), 0);

    /* A token that fails its signature does not enter it either. */
    assert_int_equal(verify("tampered_payload"), WID_R_JWT_BAD_SIGNATURE);
    assert_int_equal(wid_jws_memo_count(), 0);

    assert_int_equal(wid_jwtsvid_verify(set, t, len, "wid-test", NOW, 0,
                                        &id), WID_OK);
    assert_int_equal(wid_jws_memo_count(), 1);
    assert_int_equal(wid_jws_parse(t, len, &strict, j), WID_OK);
    assert_true(j->from_memo);
    assert_null(j->header);
    assert_int_equal(j->alg, WID_JWS_RS256);
    assert_string_equal(j->kid, "a-rsa");
    wid_jws_clear(j);
    assert_int_equal(wid_jws_parse(t, len, &loose, j), WID_OK);
    assert_false(j->from_memo);
    wid_jws_clear(j);
    assert_int_equal(wid_jws_parse(t, len, &nomemo, j), WID_OK);
    assert_false(j->from_memo);
    wid_jws_clear(j);

    /* Another header of the same meaning is a different key. */
    u = token("fp_spaces", &ulen);
    assert_int_equal(wid_jws_parse(u, ulen, &strict, j), WID_OK);
    assert_false(j->from_memo);
    wid_jws_clear(j);
    free(u);

    /*
     * The table is bounded: 40 distinct headers remembered, 16 kept,
     * the oldest gone (the rest of the token does not matter to it).
     */
    {
        char   hdr[64], b64[128], *tok, *dot = memchr(t, '.', len);
        size_t i, tlen;

        wid_jws_memo_clear();
        for (i = 0; i < 40; i++) {
            snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"k%zu\"}",
                     i);
            sodium_bin2base64(b64, sizeof(b64), (unsigned char *) hdr,
                              strlen(hdr),
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING);
            tlen = strlen(b64) + len - (size_t) (dot - t);
            tok = malloc(tlen + 1);
            assert_non_null(tok);
            memcpy(tok, b64, strlen(b64));
            memcpy(tok + strlen(b64), dot, len - (size_t) (dot - t));
            assert_int_equal(wid_jws_parse(tok, tlen, &strict, j), WID_OK);
            assert_false(j->from_memo);
            wid_jws_memo_remember(j);
            wid_jws_clear(j);
            assert_int_equal(wid_jws_parse(tok, tlen, &strict, j), WID_OK);
            assert_true(j->from_memo);
            snprintf(hdr, sizeof(hdr), "k%zu", i);
            assert_string_equal(j->kid, hdr);
            /* A header from the memo is not remembered twice. */
            wid_jws_memo_remember(j);
            wid_jws_clear(j);
            assert_int_equal(wid_jws_memo_count(), i < 16 ? i + 1 : 16);
            if (i == 39) {
                /* Still there; k0 (replaced long ago) is not. */
                assert_int_equal(wid_jws_parse(tok, tlen, &strict, j),
                                 WID_OK);
                assert_true(j->from_memo);
                wid_jws_clear(j);
            }
            free(tok);
        }
    }
    /* The token's own header went with the cleared table: a miss. */
    assert_int_equal(wid_jws_parse(t, len, &strict, j), WID_OK);
    assert_false(j->from_memo);
    wid_jws_clear(j);
    free(t);
    free(j);
}

/* A JWT-SVID must name a workload: a bare trust domain is refused. */
static void
test_sub_root_path(void **state)
{
    wid_identity id;

    (void) state;
    assert_int_equal(verify_in(set, "sub_root_path", "wid-test", NOW, 0,
                               &id), WID_R_JWT_SUB_ROOT_PATH);
    assert_string_equal(id.spiffe_id, "");
    assert_int_equal(id.detail, WID_OK);
}

/* The optional lifetime bound: exp - iat, or exp - now without iat. */
static void
test_max_lifetime(void **state)
{
    wid_jwtsvid_opts o = { "wid-test", NOW, 0, 0, 0 };
    wid_identity     id;

    (void) state;
    /* iat = NOW - 10, exp = NOW + 3600: lives 3610 s. */
    assert_int_equal(verify_opts(set, "valid_es256", &o, &id), WID_OK);
    o.max_lifetime = 3610;
    assert_int_equal(verify_opts(set, "valid_es256", &o, &id), WID_OK);
    o.max_lifetime = 3609;
    assert_int_equal(verify_opts(set, "valid_es256", &o, &id),
                     WID_R_JWT_LIFETIME_TOO_LONG);
    assert_string_equal(id.spiffe_id, "");
    /* The leeway does not stretch a lifetime measured from iat. */
    o.leeway = 600;
    assert_int_equal(verify_opts(set, "valid_rs256", &o, &id),
                     WID_R_JWT_LIFETIME_TOO_LONG);

    /* No iat: exp - now = 3600, with the leeway for a fast issuer. */
    o.leeway = 0;
    o.max_lifetime = 3600;
    assert_int_equal(verify_opts(set, "no_iat", &o, &id), WID_OK);
    o.max_lifetime = 3599;
    assert_int_equal(verify_opts(set, "no_iat", &o, &id),
                     WID_R_JWT_LIFETIME_TOO_LONG);
    o.leeway = 1;
    assert_int_equal(verify_opts(set, "no_iat", &o, &id), WID_OK);
    o.now = NOW + 1;
    o.leeway = 0;
    assert_int_equal(verify_opts(set, "no_iat", &o, &id), WID_OK);

    /* Huge exp against iat: overflow counts as too long. */
    o.now = NOW;
    o.max_lifetime = WID_JWTSVID_LIFETIME_MAX;
    assert_int_equal(verify_opts(set, "fp_exp_int64_max", &o, &id),
                     WID_R_JWT_LIFETIME_TOO_LONG);
    o.max_lifetime = 0;
    assert_int_equal(verify_opts(set, "fp_exp_int64_max", &o, &id), WID_OK);

    /* Out-of-range bounds are a configuration error. */
    o.max_lifetime = -1;
    assert_int_equal(verify_opts(set, "valid_es256", &o, &id),
                     WID_R_INTERNAL_CONFIG);
    o.max_lifetime = WID_JWTSVID_LIFETIME_MAX + 1;
    assert_int_equal(verify_opts(set, "valid_es256", &o, &id),
                     WID_R_INTERNAL_CONFIG);
    /* Expiry is still checked first. */
    o.max_lifetime = 10;
    assert_int_equal(verify_opts(set, "exp_past", &o, &id),
                     WID_R_JWT_EXPIRED);
}

static void
test_audience_must_be_configured(void **state)
{
    wid_identity id;

    (void) state;
    assert_int_equal(verify_in(set, "valid_es256", "", NOW, 0, &id),
                     WID_R_JWT_AUD_NOT_CONFIGURED);
    assert_int_equal(verify_in(set, "valid_es256", NULL, NOW, 0, &id),
                     WID_R_JWT_AUD_NOT_CONFIGURED);
    /* An audience that is a prefix of the token's is no match. */
    assert_int_equal(verify_in(set, "valid_es256", "wid", NOW, 0, &id),
                     WID_R_JWT_AUD_MISMATCH);
    assert_int_equal(verify_in(set, "valid_es256", "wid-test2", NOW, 0, &id),
                     WID_R_JWT_AUD_MISMATCH);
}

static void
test_time_and_leeway(void **state)
{
    wid_identity id;

    (void) state;
    /* exp = NOW + 3600: valid one second before, expired at exp. */
    assert_int_equal(verify_in(set, "valid_es256", "wid-test",
                               NOW + 3599, 0, &id), WID_OK);
    assert_int_equal(verify_in(set, "valid_es256", "wid-test",
                               NOW + 3600, 0, &id), WID_R_JWT_EXPIRED);
    assert_int_equal(verify_in(set, "valid_es256", "wid-test",
                               NOW + 3650, 60, &id), WID_OK);
    /* exp_past: exp = NOW - 120. */
    assert_int_equal(verify_in(set, "exp_past", "wid-test", NOW, 60, &id),
                     WID_R_JWT_EXPIRED);
    assert_int_equal(verify_in(set, "exp_past", "wid-test", NOW, 180, &id),
                     WID_OK);
    /* nbf / iat = NOW + 600. */
    assert_int_equal(verify_in(set, "nbf_future", "wid-test", NOW, 599, &id),
                     WID_R_JWT_NOT_YET_VALID);
    assert_int_equal(verify_in(set, "nbf_future", "wid-test", NOW, 600, &id),
                     WID_OK);
    assert_int_equal(verify_in(set, "iat_future", "wid-test", NOW + 601, 0,
                               &id), WID_OK);
    /* Fractions round towards the stricter check: exp = NOW + 3600.5
     * ends at NOW + 3600, nbf = iat = NOW + 0.5 starts at NOW + 1. */
    assert_int_equal(verify_in(set, "exp_real", "wid-test", NOW + 3599, 0,
                               &id), WID_OK);
    assert_int_equal(id.not_after, NOW + 3600);
    assert_int_equal(verify_in(set, "exp_real", "wid-test", NOW + 3600, 0,
                               &id), WID_R_JWT_EXPIRED);
    assert_int_equal(verify_in(set, "nbf_real", "wid-test", NOW, 0, &id),
                     WID_R_JWT_NOT_YET_VALID);
    assert_int_equal(verify_in(set, "nbf_real", "wid-test", NOW + 1, 0,
                               &id), WID_OK);
    /* Absurd leeways are a configuration error, not a free pass. */
    assert_int_equal(verify_in(set, "exp_past", "wid-test", NOW, -5, &id),
                     WID_R_INTERNAL_CONFIG);
    assert_int_equal(verify_in(set, "exp_past", "wid-test", NOW,
                               100LL * 86400, &id), WID_R_INTERNAL_CONFIG);
}

static void
test_sub_detail(void **state)
{
    wid_identity id;

    (void) state;
    assert_int_equal(verify_in(set, "sub_invalid", "wid-test", NOW, 0, &id),
                     WID_R_JWT_SUB_INVALID);
    assert_int_equal(id.detail, WID_R_ID_PATH_DOT_SEGMENT);
    assert_string_equal(id.spiffe_id, "");
}

/* Keys are selected within the token's own trust domain only. */
static void
test_no_key_in_domain(void **state)
{
    wid_bundle_set *s = wid_bundle_set_new();
    wid_identity    id;
    char            arg[512];

    (void) state;
    /* a.org trusts only b's P-256 key: ES384 has no candidate at all. */
    snprintf(arg, sizeof(arg), "a.org=%s/b.org.json", dir);
    assert_int_equal(wid_bundle_set_add_arg(s, arg), WID_OK);
    assert_int_equal(verify_in(s, "valid_nokid_es384", "wid-test", NOW, 0,
                               &id), WID_R_JWT_NO_KEY);
    /* b's kid is now an a.org key: a.org token by b's key verifies. */
    assert_int_equal(verify_in(s, "kid_other_td", "wid-test", NOW, 0, &id),
                     WID_OK);
    assert_int_equal(verify_in(s, "valid_es256", "wid-test", NOW, 0, &id),
                     WID_R_JWT_KID_UNKNOWN);
    wid_bundle_set_free(s);
}

/* spiffe-helper's jwt_bundle.json map, whole or by trust domain. */
static void
test_map_bundle(void **state)
{
    wid_bundle_set *s = wid_bundle_set_new();
    wid_identity    id;
    char            arg[512], hex[65], *b;
    size_t          blen;

    (void) state;
    snprintf(arg, sizeof(arg), "%s/jwt_bundle.json", dir);
    assert_int_equal(wid_bundle_set_add_arg(s, arg), WID_OK);
    assert_int_equal(wid_bundle_set_count(s), 2);
    assert_int_equal(verify_in(s, "valid_ps256", "wid-test", NOW, 0, &id),
                     WID_OK);
    b = idt_slurp(arg, &blen);
    sha256_hex(b, blen, hex);
    free(b);
    assert_string_equal(id.bundle_sha256, hex);
    assert_int_equal(verify_in(s, "valid_b", "wid-test", NOW, 0, &id),
                     WID_OK);
    assert_int_equal(verify_in(s, "kid_other_td", "wid-test", NOW, 0, &id),
                     WID_R_JWT_KID_UNKNOWN);
    wid_bundle_set_free(s);

    s = wid_bundle_set_new();
    snprintf(arg, sizeof(arg), "b.org=%s/jwt_bundle.json", dir);
    assert_int_equal(wid_bundle_set_add_arg(s, arg), WID_OK);
    assert_int_equal(wid_bundle_set_count(s), 1);
    assert_int_equal(verify_in(s, "valid_b", "wid-test", NOW, 0, &id),
                     WID_OK);
    assert_int_equal(verify_in(s, "valid_es256", "wid-test", NOW, 0, &id),
                     WID_R_BUNDLE_UNKNOWN_TD);
    wid_bundle_set_free(s);
}

static void
test_jws_names(void **state)
{
    (void) state;
    assert_int_equal(wid_jws_alg_from_name("ES256"), WID_JWS_ES256);
    assert_int_equal(wid_jws_alg_from_name("PS512"), WID_JWS_PS512);
    assert_int_equal(wid_jws_alg_from_name("none"), WID_JWS_ALG_NONE);
    assert_int_equal(wid_jws_alg_from_name("HS256"), WID_JWS_ALG_NONE);
    assert_int_equal(wid_jws_alg_from_name("EdDSA"), WID_JWS_ALG_NONE);
    assert_int_equal(wid_jws_alg_from_name("es256"), WID_JWS_ALG_NONE);
    assert_string_equal(wid_jws_alg_name(WID_JWS_RS384), "RS384");
    assert_null(wid_jws_alg_name(WID_JWS_ALG_NONE));
}

/*
 * An EC authority gets OpenSSL's legacy view when it is loaded, not at
 * its first token (jws.h): what OpenSSL allocates for it is allocated
 * with the bundle.  An RSA authority has none.
 */
static void
test_key_init_ec_view(void **state)
{
    wid_jws_key  key;
    EVP_PKEY    *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    EVP_PKEY    *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t) 2048);

    (void) state;
    assert_non_null(ec);
    assert_non_null(rsa);

    assert_int_equal(wid_jws_key_init(&key, ec), WID_OK);
    assert_int_equal(key.type, WID_JWS_KEY_P256);
    assert_non_null(key.ec);
    wid_jws_key_clear(&key);

    assert_int_equal(wid_jws_key_init(&key, rsa), WID_OK);
    assert_int_equal(key.type, WID_JWS_KEY_RSA);
    assert_null(key.ec);
    wid_jws_key_clear(&key);
}

/*
 * wid_jws_thread_init leaves the thread ready to verify: the memo
 * empty, the JSON arena free for the next token.
 */
static void
test_thread_init(void **state)
{
    wid_identity  id;
    char         *t;
    size_t        len;

    (void) state;
    t = token("valid_es256", &len);
    assert_int_equal(wid_jwtsvid_verify(set, t, len, "wid-test", NOW, 0,
                                        &id), WID_OK);
    assert_true(wid_jws_memo_count() > 0);

    wid_jws_thread_init();
    assert_int_equal(wid_jws_memo_count(), 0);
    assert_int_equal(wid_json_arena_take(), 1);
    wid_json_arena_stop();
    wid_json_arena_give();

    assert_int_equal(wid_jwtsvid_verify(set, t, len, "wid-test", NOW, 0,
                                        &id), WID_OK);
    assert_string_equal(id.spiffe_id, "spiffe://a.org/workload");
    assert_int_equal(wid_jws_memo_count(), 1);
    free(t);
}

/* Garbage never crashes and never verifies. */
static void
test_garbage(void **state)
{
    static const char *junk[] = {
        "", ".", "..", "...", "a.b.c", "e30.e30.", "e30.e30.e30",
        "eyJhbGciOiJFUzI1NiJ9.e30.AAAA", "\x01\x02.\x03.\x04",
        " eyJhbGciOiJFUzI1NiJ9.e30.AA", "{\"payload\":\"x\"}",
    };
    wid_identity id;
    size_t       i;

    (void) state;
    for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        assert_int_not_equal(wid_jwtsvid_verify(set, junk[i], strlen(junk[i]),
                                                "wid-test", NOW, 0, &id),
                             WID_OK);
    }
    assert_int_equal(wid_jwtsvid_verify(set, NULL, 0, "wid-test", NOW, 0, &id),
                     WID_R_JWT_MALFORMED);
}

static int
setup(void **state)
{
    char arg[512];

    (void) state;
    if (idt_mkdtemp(dir, sizeof(dir), "jwt") != 0
        || idt_run("/usr/bin/python3 %s/mint-jwt suite %s --now %lld"
                   " >/dev/null", idt_tools_dir(), dir, NOW) != 0)
    {
        return -1;
    }
    set = wid_bundle_set_new();
    snprintf(arg, sizeof(arg), "a.org=%s/a.org.json", dir);
    if (wid_bundle_set_add_arg(set, arg) != WID_OK) {
        return -1;
    }
    snprintf(arg, sizeof(arg), "b.org=%s/b.org.json", dir);
    return wid_bundle_set_add_arg(set, arg) == WID_OK ? 0 : -1;
}

static int
teardown(void **state)
{
    (void) state;
    wid_bundle_set_free(set);
    idt_rmtree(dir);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_identity_fields),
        cmocka_unit_test(test_serial_every_alg),
        cmocka_unit_test(test_memo_equivalence),
        cmocka_unit_test(test_memo_rules),
        cmocka_unit_test(test_sub_root_path),
        cmocka_unit_test(test_max_lifetime),
        cmocka_unit_test(test_audience_must_be_configured),
        cmocka_unit_test(test_time_and_leeway),
        cmocka_unit_test(test_sub_detail),
        cmocka_unit_test(test_no_key_in_domain),
        cmocka_unit_test(test_map_bundle),
        cmocka_unit_test(test_jws_names),
        cmocka_unit_test(test_key_init_ec_view),
        cmocka_unit_test(test_thread_init),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests_name("jwtsvid", tests, setup, teardown);
}
