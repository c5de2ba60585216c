/*
 * The normalized attestation, registration entries (two phases, subset
 * matching), signed results, verifier state, TPM counter rules, TPM
 * evidence parsing, and the Unix peer attestor.
 */
#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sodium.h>

#include "attest.h"
#include "attest_registry.h"
#include "attest_result.h"
#include "attest_state.h"
#include "attest_tpm.h"
#include "attest_unix.h"
#include "bytes.h"
#include "keyfile.h"

static char dir[] = "/tmp/wid-test-attest-XXXXXX";
static wid_attestation att;

#define NOW 1800000000


static void
test_selectors_and_json(void **state)
{
    json_t *j;

    (void) state;
    wid_attestation_init(&att, WID_ATTEST_UNIX, "v");
    assert_string_equal(att.type, "unix");
    assert_int_equal(wid_attestation_add_selector(&att, "unix", "uid:1"),
                     WID_OK);
    assert_int_equal(wid_attestation_add_selector(&att, "unix", "uid:1"),
                     WID_OK);
    assert_int_equal(att.nselectors, 1);       /* duplicates collapse */
    assert_int_equal(wid_attestation_add_selector(&att, "unix", "a\nb"),
                     WID_R_ATTEST_EVIDENCE_MALFORMED);
    assert_int_equal(wid_attestation_add_selector(&att, "", "x"),
                     WID_R_ATTEST_EVIDENCE_MALFORMED);
    for (int i = 0; i < WID_ATTEST_SELECTORS_MAX; i++) {
        char v[32];

        snprintf(v, sizeof(v), "gid:%d", i);
        (void) wid_attestation_add_selector(&att, "unix", v);
    }
    assert_int_equal(wid_attestation_add_selector(&att, "unix", "more"),
                     WID_R_ATTEST_EVIDENCE_TOO_LARGE);

    assert_int_equal(wid_attestation_set_window(&att, NOW, 60), WID_OK);
    assert_int_equal(wid_attestation_set_window(&att, INT64_MAX - 5, 60),
                     WID_R_ATTEST_CONFIG_INVALID);
    assert_int_equal(wid_attestation_set_window(&att, NOW, 0),
                     WID_R_ATTEST_CONFIG_INVALID);

    wid_attestation_hash_evidence(&att, (const unsigned char *) "abc", 3);
    j = wid_attestation_to_json(&att);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j,
                        "evidenceSha256")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(json_integer_value(json_object_get(j, "expiresAt")),
                     NOW + 60);
    json_decref(j);

    assert_int_equal(wid_attest_kind_from_name("tpm"), WID_ATTEST_TPM);
    assert_int_equal(wid_attest_kind_from_name("TPM"), WID_ATTEST_NONE);
    assert_int_equal(wid_attest_kind_role(WID_ATTEST_AWS_IID),
                     WID_ATTEST_ROLE_NODE);
}


static void
test_base64_strict(void **state)
{
    unsigned char *out, buf[8];
    size_t         n;

    (void) state;
    assert_int_equal(wid_attest_b64_decode("aGVsbG8=", 64, &out, &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "hello", 5);
    free(out);
    assert_int_equal(wid_attest_b64_decode("aGVsbG8", 64, &out, &n), -1);
    assert_int_equal(wid_attest_b64_decode("aGV sbG8=", 64, &out, &n), -1);
    assert_int_equal(wid_attest_b64_decode("aG=sbG8=", 64, &out, &n), -1);
    assert_int_equal(wid_attest_b64_decode("aGVsbG8=", 4, &out, &n), -1);
    assert_int_equal(wid_attest_b64_decode("", 4, &out, &n), -1);
    assert_int_equal(wid_attest_unhex("00ff", buf, sizeof(buf), &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(wid_attest_unhex("0g", buf, sizeof(buf), &n), -1);
    assert_int_equal(wid_attest_unhex("000", buf, sizeof(buf), &n), -1);
}


static const char entries[] =
    "{\"nodes\":["
    " {\"id\":\"spiffe://td/node/a\",\"tier\":\"verified\","
    "  \"selectors\":[\"tpm:ek_sha256:aa\"]},"
    " {\"id\":\"spiffe://td/node/b\",\"selectors\":[\"tpm:ek_sha256:bb\"]},"
    " {\"id\":\"spiffe://td/node/c\",\"selectors\":[\"tpm:pcr:sha256:7:00\"]}"
    "],\"workloads\":["
    " {\"id\":\"spiffe://td/app\",\"parent\":\"spiffe://td/node/a\","
    "  \"tier\":\"attested\",\"selectors\":[\"unix:uid:1000\","
    "  \"unix:path:/usr/bin/app\"]},"
    " {\"id\":\"spiffe://td/app\",\"parent\":\"spiffe://td/node/a\","
    "  \"tier\":\"basic\",\"selectors\":[\"unix:uid:1000\"]},"
    " {\"id\":\"spiffe://td/db\",\"parent\":\"spiffe://td/node/b\","
    "  \"selectors\":[\"unix:uid:1000\"]},"
    " {\"id\":\"spiffe://td/x\",\"parent\":\"spiffe://td/node/a\","
    "  \"selectors\":[\"unix:gid:5\"]}"
    "]}";


static void
test_registry_two_phases(void **state)
{
    wid_registry    *r;
    wid_attestation  wl;

    (void) state;
    assert_int_equal(wid_registry_load((const unsigned char *) entries,
                                       strlen(entries), &r), WID_OK);

    /* Phase 1: node a; the node carries more selectors than needed. */
    wid_attestation_init(&att, WID_ATTEST_TPM, "v");
    wid_attestation_add_selector(&att, "tpm", "ek_sha256:aa");
    wid_attestation_add_selector(&att, "tpm", "pcr:sha256:0:11");
    assert_int_equal(wid_registry_match_node(r, &att), WID_OK);
    assert_string_equal(att.spiffe_id, "spiffe://td/node/a");
    assert_string_equal(att.tier, "verified");

    /* Unknown node. */
    wid_attestation_init(&att, WID_ATTEST_TPM, "v");
    wid_attestation_add_selector(&att, "tpm", "ek_sha256:cc");
    assert_int_equal(wid_registry_match_node(r, &att), WID_R_ATTEST_NO_MATCH);
    assert_string_equal(att.spiffe_id, "");

    /* A node matching entries of two different IDs is ambiguous. */
    wid_attestation_add_selector(&att, "tpm", "ek_sha256:bb");
    wid_attestation_add_selector(&att, "tpm", "pcr:sha256:7:00");
    assert_int_equal(wid_registry_match_node(r, &att),
                     WID_R_ATTEST_AMBIGUOUS);

    /* Workload evidence is never matched as a node. */
    wid_attestation_init(&wl, WID_ATTEST_UNIX, "v");
    wid_attestation_add_selector(&wl, "unix", "uid:1000");
    assert_int_equal(wid_registry_match_node(r, &wl),
                     WID_R_ATTEST_NODE_NOT_ATTESTED);

    /* Phase 2: only beneath an attested node. */
    assert_int_equal(wid_registry_match_workload(r, NULL, &wl),
                     WID_R_ATTEST_NODE_NOT_ATTESTED);
    assert_int_equal(wid_registry_match_workload(r, "", &wl),
                     WID_R_ATTEST_NODE_NOT_ATTESTED);
    assert_int_equal(wid_registry_match_workload(r, "spiffe://td/node/a",
                                                 &wl), WID_OK);
    assert_string_equal(wl.spiffe_id, "spiffe://td/app");
    assert_string_equal(wl.tier, "basic");
    /* With the path too, the more specific entry's higher tier. */
    wid_attestation_add_selector(&wl, "unix", "path:/usr/bin/app");
    assert_int_equal(wid_registry_match_workload(r, "spiffe://td/node/a",
                                                 &wl), WID_OK);
    assert_string_equal(wl.tier, "attested");
    /* The same selectors beneath node b name another workload. */
    assert_int_equal(wid_registry_match_workload(r, "spiffe://td/node/b",
                                                 &wl), WID_OK);
    assert_string_equal(wl.spiffe_id, "spiffe://td/db");
    /* Under node c nothing is registered. */
    assert_int_equal(wid_registry_match_workload(r, "spiffe://td/node/c",
                                                 &wl), WID_R_ATTEST_NO_MATCH);
    /* Two IDs under node a: ambiguous, not "the first one". */
    wid_attestation_add_selector(&wl, "unix", "gid:5");
    assert_int_equal(wid_registry_match_workload(r, "spiffe://td/node/a",
                                                 &wl),
                     WID_R_ATTEST_AMBIGUOUS);
    wid_registry_free(r);
}


static void
test_registry_invalid(void **state)
{
    static const char *bad[] = {
        "[]",
        "{\"nodes\":[{\"id\":\"spiffe://td/n\",\"selectors\":[]}]}",
        "{\"nodes\":[{\"id\":\"http://td/n\",\"selectors\":[\"a:b\"]}]}",
        "{\"nodes\":[{\"id\":\"spiffe://td/n\",\"selectors\":[\"ab\"]}]}",
        "{\"nodes\":[{\"id\":\"spiffe://td/n\",\"selectors\":[\"a:b\"],"
        "\"tier\":\"gold\"}]}",
        "{\"nodes\":[{\"id\":\"spiffe://td/n\",\"selector\":[\"a:b\"]}]}",
        "{\"workloads\":[{\"id\":\"spiffe://td/w\",\"selectors\":[\"a:b\"]}]}",
        "{\"nodes\":[],\"extra\":1}",
        "{\"nodes\":[{\"id\":\"spiffe://td/n\",\"id\":\"spiffe://td/m\","
        "\"selectors\":[\"a:b\"]}]}",
    };
    wid_registry *r;

    (void) state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(wid_registry_load((const unsigned char *) bad[i],
                                           strlen(bad[i]), &r),
                         WID_R_ATTEST_REG_INVALID);
        assert_null(r);
    }
}


static char *
b64url(const void *in, size_t len)
{
    size_t n = sodium_base64_ENCODED_LEN(len,
                   sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char  *out = malloc(n);

    sodium_bin2base64(out, n, in, len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return out;
}


/* A result JWS with an arbitrary payload, signed with key. */
static char *
sign_raw(const wid_seckey *key, const char *payload)
{
    char           kid[WID_KEY_ID_HEX_LEN + 1], hdr[160], *h, *p, *s, *out;
    unsigned char  sig[64];
    size_t         n;

    wid_pubkey_id(&key->pub, kid);
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"EdDSA\",\"kid\":\"%s\",\"typ\":"
             "\"" WID_ATTEST_RESULT_TYP "\"}", kid);
    h = b64url(hdr, strlen(hdr));
    p = b64url(payload, strlen(payload));
    out = malloc(strlen(h) + strlen(p) + 100);
    n = (size_t) sprintf(out, "%s.%s", h, p);
    wid_sign(key, (unsigned char *) out, n, sig);
    s = b64url(sig, sizeof(sig));
    sprintf(out + n, ".%s", s);
    free(h);
    free(p);
    free(s);
    return out;
}


/* payload signed with key as a bridge would, verified as a consumer. */
static wid_reason_t
verify_signed(const wid_seckey *key, const char *payload,
              const wid_pubkey keys[2], wid_attest_result *r)
{
    char         *raw = sign_raw(key, payload);
    wid_reason_t  rc;

    rc = wid_attest_result_verify(raw, strlen(raw), keys, 2, NOW, 0, r);
    free(raw);
    return rc;
}


static void
test_result_sign_verify(void **state)
{
    wid_seckey         sk, other;
    wid_pubkey         keys[2];
    wid_attest_result  r;
    char               path[600], *jws;
    const char        *types[] = { "tpm_quote", "aws_iid" };

    (void) state;
    snprintf(path, sizeof(path), "%s/v", dir);
    assert_int_equal(wid_keypair_generate(path), WID_OK);
    snprintf(path, sizeof(path), "%s/v.key", dir);
    assert_int_equal(wid_seckey_load(path, &sk), WID_OK);
    snprintf(path, sizeof(path), "%s/o", dir);
    assert_int_equal(wid_keypair_generate(path), WID_OK);
    snprintf(path, sizeof(path), "%s/o.key", dir);
    assert_int_equal(wid_seckey_load(path, &other), WID_OK);
    keys[0] = other.pub;
    keys[1] = sk.pub;

    wid_attestation_init(&att, WID_ATTEST_TPM, "https://v.example");
    wid_attestation_set_window(&att, NOW, 120);
    wid_attestation_hash_evidence(&att, (const unsigned char *) "ev", 2);
    /* No bound identity: nothing to sign. */
    assert_int_equal(wid_attest_result_sign(&att, &sk, &jws),
                     WID_R_ATTEST_RESULT_MALFORMED);
    strcpy(att.spiffe_id, "spiffe://td/node/a");
    strcpy(att.tier, "verified");
    assert_int_equal(wid_attest_result_sign(&att, &sk, &jws), WID_OK);

    assert_int_equal(wid_attest_result_verify(jws, strlen(jws), keys, 2,
                                              NOW + 10, 60, &r), WID_OK);
    assert_int_equal(r.key_index, 1);
    assert_string_equal(r.spiffe_id, "spiffe://td/node/a");
    assert_string_equal(r.type, "tpm_quote");
    assert_string_equal(r.verifier, "https://v.example");
    assert_memory_equal(r.evidence_sha256, att.evidence_sha256, 32);
    assert_int_equal(wid_attest_result_check(&r, "spiffe://td/node/a",
                                             types, 2), WID_OK);
    assert_int_equal(wid_attest_result_check(&r, "spiffe://td/node/b",
                                             types, 2),
                     WID_R_ATTEST_IDENTITY_CONFLICT);
    assert_int_equal(wid_attest_result_check(&r, NULL, types, 2),
                     WID_R_ATTEST_IDENTITY_CONFLICT);
    assert_int_equal(wid_attest_result_check(&r, "spiffe://td/node/a",
                                             types + 1, 1),
                     WID_R_ATTEST_TYPE_NOT_ALLOWED);
    assert_int_equal(wid_attest_result_check(&r, "spiffe://td/node/a",
                                             types, 0),
                     WID_R_ATTEST_TYPE_NOT_ALLOWED);

    /* Time window and age. */
    assert_int_equal(wid_attest_result_verify(jws, strlen(jws), keys, 2,
                                              NOW - 1, 0, &r),
                     WID_R_ATTEST_NOT_YET_VALID);
    assert_int_equal(wid_attest_result_verify(jws, strlen(jws), keys, 2,
                                              NOW + 120, 0, &r),
                     WID_R_ATTEST_EVIDENCE_STALE);
    assert_int_equal(wid_attest_result_verify(jws, strlen(jws), keys, 2,
                                              NOW + 61, 60, &r),
                     WID_R_ATTEST_EVIDENCE_STALE);

    /* Only trusted keys. */
    assert_int_equal(wid_attest_result_verify(jws, strlen(jws), keys, 1,
                                              NOW + 10, 0, &r),
                     WID_R_ATTEST_UNTRUSTED_VERIFIER);

    /* Tampering. */
    jws[strlen(jws) - 2] = jws[strlen(jws) - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(wid_attest_result_verify(jws, strlen(jws), keys, 2,
                                              NOW + 10, 0, &r),
                     WID_R_ATTEST_RESULT_BAD_SIGNATURE);
    assert_int_equal(wid_attest_result_verify("a.b", 3, keys, 2, NOW, 0, &r),
                     WID_R_ATTEST_RESULT_MALFORMED);
    assert_int_equal(wid_attest_result_verify("a.b.c.d", 7, keys, 2, NOW, 0,
                                              &r),
                     WID_R_ATTEST_RESULT_MALFORMED);
    free(jws);

    /* Signed, but another schema / a missing identity. */
    assert_int_equal(verify_signed(&sk, "{\"schema\":"
                                   "\"chio.runtime-attestation.v1\"}",
                                   keys, &r),
                     WID_R_ATTEST_RESULT_SCHEMA);
    assert_int_equal(verify_signed(&sk, "{\"schema\":\""
                                   WID_ATTEST_RESULT_SCHEMA "\","
                                   "\"verifier\":\"v\","
                                   "\"attestationType\":\"tpm_quote\","
                                   "\"issuedAt\":1,\"expiresAt\":2000000000,"
                                   "\"evidenceSha256\":\"00\"}", keys, &r),
                     WID_R_ATTEST_RESULT_MALFORMED);

    /*
     * Signed by a trusted key, but the bridge projected something that is
     * not a SPIFFE ID: the identity core's reason names what is wrong.
     */
#define RESULT_HEAD                                                         \
    "{\"schema\":\"" WID_ATTEST_RESULT_SCHEMA "\",\"verifier\":\"v\","         \
    "\"attestationType\":\"k8s_psat\",\"issuedAt\":1799999990,"            \
    "\"expiresAt\":1800000100,\"evidenceSha256\":\"" HEX64 "\","             \
    "\"workloadIdentity\":"
#define RESULT_WI(scheme, uri)                                              \
    RESULT_HEAD "{\"scheme\":\"" scheme "\",\"uri\":\"" uri "\"}}"
#define HEX64 "00000000000000000000000000000000" \
              "00000000000000000000000000000000"
    assert_int_equal(verify_signed(&sk,
                                   RESULT_WI("spiffe", "spiffe://td/w"),
                                   keys, &r),
                     WID_OK);
    assert_string_equal(r.spiffe_id, "spiffe://td/w");
    assert_int_equal(verify_signed(&sk,
                                   RESULT_WI("k8s",
                                             "system:serviceaccount:"
                                             "payments:worker"),
                                   keys, &r),
                     WID_R_ID_WRONG_SCHEME);
    assert_int_equal(verify_signed(&sk,
                                   RESULT_WI("spiffe",
                                             "system:serviceaccount:"
                                             "payments:worker"),
                                   keys, &r),
                     WID_R_ID_WRONG_SCHEME);
    assert_int_equal(verify_signed(&sk,
                                   RESULT_WI("spiffe",
                                             "spiffe:///payments/worker"),
                                   keys, &r),
                     WID_R_ID_TD_EMPTY);

    /* trustDomain and path, when present, must restate the uri. */
#define RESULT_WI_PARTS(td, path)                                           \
    RESULT_HEAD "{\"scheme\":\"spiffe\",\"uri\":\"spiffe://td/w\","        \
    "\"trustDomain\":" td ",\"path\":" path "}}"
    assert_int_equal(verify_signed(&sk,
                                   RESULT_WI_PARTS("\"td\"", "\"/w\""),
                                   keys, &r),
                     WID_OK);
    assert_int_equal(verify_signed(&sk,
                                   RESULT_WI_PARTS("\"other\"", "\"/w\""),
                                   keys, &r),
                     WID_R_ATTEST_RESULT_MALFORMED);
    assert_int_equal(verify_signed(&sk,
                                   RESULT_WI_PARTS("\"td\"", "\"/admin\""),
                                   keys, &r),
                     WID_R_ATTEST_RESULT_MALFORMED);
    assert_int_equal(verify_signed(&sk,
                                   RESULT_WI_PARTS("\"td\"", "7"),
                                   keys, &r),
                     WID_R_ATTEST_RESULT_MALFORMED);
#undef RESULT_WI_PARTS
#undef RESULT_WI
#undef RESULT_HEAD
#undef HEX64

    wid_seckey_wipe(&sk);
    wid_seckey_wipe(&other);
}


/*
 * What the bridge signs, every consumer must be able to verify: a result
 * wid_attest_result_verify would refuse (found by fuzz_attest_result:
 * an empty verifier name, a window the reader refuses, a JWS above
 * WID_ATTEST_RESULT_MAX) is refused at signing instead.
 */
static void
test_result_sign_refuses_unverifiable(void **state)
{
    wid_seckey        sk;
    wid_attest_result r;
    char              path[600], name[300], value[500], type[8], *jws;
    size_t            i;

    (void) state;
    snprintf(path, sizeof(path), "%s/u", dir);
    assert_int_equal(wid_keypair_generate(path), WID_OK);
    snprintf(path, sizeof(path), "%s/u.key", dir);
    assert_int_equal(wid_seckey_load(path, &sk), WID_OK);

    /* A verifier name too long to keep is cut to "": not signed. */
    memset(name, 'v', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    wid_attestation_init(&att, WID_ATTEST_AWS_IID, name);
    wid_attestation_set_window(&att, NOW, 120);
    strcpy(att.spiffe_id, "spiffe://td/node/a");
    assert_int_equal(wid_attest_result_sign(&att, &sk, &jws),
                     WID_R_ATTEST_RESULT_MALFORMED);
    assert_null(jws);

    /* Windows the reader refuses. */
    strcpy(att.verifier, "bridge");
    att.issued_at = NOW;
    att.expires_at = NOW;
    assert_int_equal(wid_attest_result_sign(&att, &sk, &jws),
                     WID_R_ATTEST_RESULT_MALFORMED);
    att.issued_at = -5;
    att.expires_at = NOW;
    assert_int_equal(wid_attest_result_sign(&att, &sk, &jws),
                     WID_R_ATTEST_RESULT_MALFORMED);
    att.issued_at = NOW;
    att.expires_at = ((int64_t) 1 << 40) + 1;
    assert_int_equal(wid_attest_result_sign(&att, &sk, &jws),
                     WID_R_ATTEST_RESULT_MALFORMED);

    /* The same with a sound window signs and verifies. */
    att.expires_at = NOW + 120;
    assert_int_equal(wid_attest_result_sign(&att, &sk, &jws), WID_OK);
    assert_int_equal(wid_attest_result_verify(jws, strlen(jws), &sk.pub, 1,
                                              NOW, 0, &r), WID_OK);
    assert_string_equal(r.verifier, "bridge");
    free(jws);

    /* Too many large selectors: above what a consumer reads. */
    memset(value, 'x', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    for (i = 0; i < WID_ATTEST_SELECTORS_MAX; i++) {
        snprintf(type, sizeof(type), "t%zu", i);
        assert_int_equal(wid_attestation_add_selector(&att, type, value),
                         WID_OK);
    }
    assert_int_equal(wid_attest_result_sign(&att, &sk, &jws),
                     WID_R_ATTEST_RESULT_MALFORMED);
    assert_null(jws);
    wid_seckey_wipe(&sk);
}


static void
test_tpm_counters(void **state)
{
    wid_tpm_counters last = { 1, 5, 2, 1000 }, now = { 1, 5, 2, 1001 };

    (void) state;
    assert_int_equal(wid_tpm_counters_check(NULL, &now), WID_OK);
    assert_int_equal(wid_tpm_counters_check(&last, &now), WID_OK);
    now.reset_count = 4;
    now.restart_count = 9;
    assert_int_equal(wid_tpm_counters_check(&last, &now),
                     WID_R_ATTEST_TPM_COUNTER_DECREASED);
    now.reset_count = 5;
    now.restart_count = 1;
    assert_int_equal(wid_tpm_counters_check(&last, &now),
                     WID_R_ATTEST_TPM_COUNTER_DECREASED);
    now.restart_count = 2;
    now.clock = 1000;
    assert_int_equal(wid_tpm_counters_check(&last, &now),
                     WID_R_ATTEST_TPM_CLOCK_REPLAY);
    /* Clock survives reboots: after one it must still be higher... */
    now.reset_count = 6;
    now.restart_count = 0;
    now.clock = 1200;
    assert_int_equal(wid_tpm_counters_check(&last, &now), WID_OK);
    /* ... a lower one is an older state, however high the counts. */
    now.clock = 10;
    assert_int_equal(wid_tpm_counters_check(&last, &now),
                     WID_R_ATTEST_TPM_COUNTER_DECREASED);
    now.reset_count = 0x7d0a1b2c;     /* as an owner-hierarchy AK shows */
    now.restart_count = 0x83838383;
    assert_int_equal(wid_tpm_counters_check(&last, &now),
                     WID_R_ATTEST_TPM_COUNTER_DECREASED);
}


static void
test_state(void **state)
{
    wid_tpm_challenge     ch, got;
    wid_tpm_counters      last, c = { 1, 3, 0, 77 };
    wid_attest_node_lock  lk;
    char                  sd[600], id[65], path[700];
    FILE                 *f;

    (void) state;
    snprintf(sd, sizeof(sd), "%s/state", dir);
    memset(&ch, 0, sizeof(ch));
    randombytes_buf(ch.nonce, sizeof(ch.nonce));
    randombytes_buf(ch.secret, sizeof(ch.secret));
    ch.ak_name_len = 34;
    memset(ch.ak_name, 0x0b, 34);
    ch.expires_at = NOW;

    assert_int_equal(wid_attest_state_challenge_put(sd, &ch, id), WID_OK);
    assert_int_equal(wid_attest_state_challenge_take(sd, id, &got), WID_OK);
    assert_memory_equal(got.nonce, ch.nonce, sizeof(ch.nonce));
    assert_memory_equal(got.secret, ch.secret, sizeof(ch.secret));
    assert_int_equal(got.expires_at, NOW);
    /* Single use. */
    assert_int_equal(wid_attest_state_challenge_take(sd, id, &got),
                     WID_R_ATTEST_CHALLENGE_UNKNOWN);
    assert_int_equal(wid_attest_state_challenge_take(sd, "../../etc/passwd",
                                                     &got),
                     WID_R_ATTEST_CHALLENGE_UNKNOWN);

    /* Counters round-trip; a corrupt record is not "never seen". */
    assert_int_equal(wid_attest_state_node_begin(sd, ch.nonce, &lk, &last),
                     WID_OK);
    assert_false(last.present);
    assert_int_equal(wid_attest_state_node_commit(&lk, &c), WID_OK);
    wid_attest_state_node_end(&lk);
    assert_int_equal(wid_attest_state_node_begin(sd, ch.nonce, &lk, &last),
                     WID_OK);
    assert_true(last.present);
    assert_int_equal(last.reset_count, 3);
    assert_int_equal(last.clock, 77);
    f = fopen(lk.path, "w");
    fputs("{\"resetCount\":", f);
    fclose(f);
    wid_attest_state_node_end(&lk);
    assert_int_equal(wid_attest_state_node_begin(sd, ch.nonce, &lk, &last),
                     WID_R_ATTEST_STATE_UNAVAILABLE);

    /* A FIFO in the state directory is refused at once, not waited on
     * (the alarm catches a reader that waits for a writer). */
    alarm(10);
    assert_int_equal(unlink(lk.path), 0);
    assert_int_equal(mkfifo(lk.path, 0600), 0);
    assert_int_equal(wid_attest_state_node_begin(sd, ch.nonce, &lk, &last),
                     WID_R_ATTEST_STATE_UNAVAILABLE);
    assert_int_equal(unlink(lk.path), 0);
    assert_int_equal(wid_attest_state_challenge_put(sd, &ch, id), WID_OK);
    snprintf(path, sizeof(path), "%s/challenges/%s.json", sd, id);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkfifo(path, 0600), 0);
    assert_int_equal(wid_attest_state_challenge_take(sd, id, &got),
                     WID_R_ATTEST_STATE_UNAVAILABLE);
    alarm(0);

    /* First use. */
    assert_int_equal(wid_attest_state_first_use(sd, "aws_iid", "i-1", "x",
                                                WID_R_ATTEST_IID_REPLAYED),
                     WID_OK);
    assert_int_equal(wid_attest_state_first_use(sd, "aws_iid", "i-1", "x",
                                                WID_R_ATTEST_IID_REPLAYED),
                     WID_R_ATTEST_IID_REPLAYED);
    assert_int_equal(wid_attest_state_first_use(sd, "aws_iid", "../x", "x",
                                                WID_R_ATTEST_IID_REPLAYED),
                     WID_R_ATTEST_EVIDENCE_MALFORMED);

    /* An unwritable state directory refuses, it does not skip. */
    snprintf(path, sizeof(path), "%s/file", dir);
    f = fopen(path, "w");
    fclose(f);
    assert_int_equal(wid_attest_state_first_use(path, "aws_iid", "i-2", "x",
                                                WID_R_ATTEST_IID_REPLAYED),
                     WID_R_ATTEST_STATE_UNAVAILABLE);
    assert_int_equal(wid_attest_state_challenge_put(path, &ch, id),
                     WID_R_ATTEST_STATE_UNAVAILABLE);
}


static void
test_tpm_evidence_rejects(void **state)
{
    wid_tpm_challenge     ch;
    wid_tpm_verify_params p;
    wid_tpm_counters      q;
    X509_STORE           *roots = X509_STORE_new();
    char                  id[65];
    const char           *bad[] = {
        "", "[]", "{\"challenge\":\"x\"}",
        "{\"challenge\":\"000000000000000000000000000000000000000000000000"
        "0000000000000000\",\"ekCert\":\"AA==\"}",
    };

    (void) state;
    memset(&ch, 0, sizeof(ch));
    ch.expires_at = NOW + 10;
    memset(&p, 0, sizeof(p));
    p.roots = roots;
    p.challenge = &ch;
    p.now = NOW;
    p.ttl = 60;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(wid_tpm_verify((const unsigned char *) bad[i],
                                        strlen(bad[i]), &p, &att, &q),
                         WID_R_ATTEST_EVIDENCE_MALFORMED);
    }
    assert_int_equal(wid_tpm_evidence_challenge_id((const unsigned char *)
                                                   bad[2], strlen(bad[2]),
                                                   id),
                     WID_R_ATTEST_EVIDENCE_MALFORMED);
    p.now = NOW + 10;
    assert_int_equal(wid_tpm_verify((const unsigned char *) bad[3],
                                    strlen(bad[3]), &p, &att, &q),
                     WID_R_ATTEST_CHALLENGE_EXPIRED);
    p.roots = NULL;
    assert_int_equal(wid_tpm_verify((const unsigned char *) bad[3],
                                    strlen(bad[3]), &p, &att, &q),
                     WID_R_ATTEST_CONFIG_INVALID);
    X509_STORE_free(roots);

    /* An AK public area that is not one. */
    unsigned char name[WID_TPM_NAME_MAX];
    size_t        nlen;
    assert_int_equal(wid_tpm_ak_check((const unsigned char *) "\x00\x02\x00",
                                      3, name, &nlen),
                     WID_R_ATTEST_EVIDENCE_MALFORMED);
}


static void
test_unix_peer(void **state)
{
    wid_unix_params  p;
    int              sv[2];
    unsigned char    digest[32];
    char             hex[65], sel[80], path[4096], proc[64];
    unsigned char    buf[65536];
    int              dirfd, fd;
    EVP_MD_CTX      *ctx;
    ssize_t          n;
    pid_t            child;
    struct ucred     cred;
    socklen_t        clen = sizeof(cred);

    (void) state;
    memset(&p, 0, sizeof(p));
    p.now = NOW;
    p.ttl = 60;
    p.verifier = "helper";
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);

    /*
     * The peer is this very process: its exe hash must be ours, read the
     * way the attester reads it (through a /proc/<pid> directory handle:
     * under valgrind that is valgrind's own binary, since valgrind
     * redirects only the paths /proc/self/exe and /proc/<pid>/exe).
     */
    assert_int_equal(wid_unix_attest_fd(sv[0], &p, &att), WID_OK);
    n = snprintf(proc, sizeof(proc), "/proc/%ld", (long) getpid());
    assert_true(n > 0 && (size_t) n < sizeof(proc));
    dirfd = open(proc, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(dirfd >= 0);
    n = readlinkat(dirfd, "exe", path, sizeof(path) - 1);
    assert_true(n > 0);
    path[n] = '\0';
    fd = openat(dirfd, "exe", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    close(dirfd);
    ctx = EVP_MD_CTX_new();
    assert_non_null(ctx);
    assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        assert_int_equal(EVP_DigestUpdate(ctx, buf, (size_t) n), 1);
    }
    assert_int_equal(n, 0);
    assert_int_equal(EVP_DigestFinal_ex(ctx, digest, NULL), 1);
    EVP_MD_CTX_free(ctx);
    close(fd);
    wid_hex(digest, 32, hex);
    snprintf(sel, sizeof(sel), "sha256:%s", hex);
    assert_true(wid_attestation_has_selector(&att, "unix", sel));
    snprintf(sel, sizeof(sel), "uid:%u", (unsigned) geteuid());
    assert_true(wid_attestation_has_selector(&att, "unix", sel));
    assert_string_equal(att.type, "unix");
    assert_int_equal(strncmp(att.subject, "pid:", 4), 0);

    /* The exe hash cache: a second attestation hits it, same result. */
    {
        wid_unix_exe_cache cache;
        wid_unix_peer      f;

        memset(&cache, 0, sizeof(cache));
        p.cache = &cache;
        assert_int_equal(wid_unix_attest_peer(sv[0], &p, &f, &att), WID_OK);
        assert_true(f.complete && f.have_cred);
        assert_int_equal(f.pid, getpid());
        assert_string_equal(f.exe, path);
        assert_memory_equal(f.exe_sha256, digest, 32);
        assert_int_equal(cache.next, 1);
        assert_true(cache.e[0].used);
        assert_memory_equal(cache.e[0].h, digest, 32);
        /* A poisoned entry is what a hit returns: proof the cache is
         * consulted by inode and times, not re-hashed. */
        memset(cache.e[0].h, 0xee, 32);
        assert_int_equal(wid_unix_attest_peer(sv[0], &p, &f, &att), WID_OK);
        assert_int_equal(cache.next, 1);
        assert_int_equal(f.exe_sha256[0], 0xee);
        p.cache = NULL;

        /* Started after the connection was accepted: not the peer. */
        p.accept_ticks = 1;
        assert_int_equal(wid_unix_attest_peer(sv[0], &p, &f, &att),
                         WID_R_ATTEST_UNIX_PROCESS_CHANGED);
        assert_true(f.have_cred && !f.complete);
        assert_int_equal(f.uid, geteuid());
        p.accept_ticks = wid_unix_ticks_now();
        assert_true(p.accept_ticks > 0);
        assert_int_equal(wid_unix_attest_peer(sv[0], &p, &f, &att), WID_OK);
        p.accept_ticks = 0;

        /* Without names: the ids are there, user:/group: are not. */
        {
            struct passwd *pw = getpwuid(geteuid());
            char           usel[300];

            assert_non_null(pw);
            snprintf(usel, sizeof(usel), "user:%s", pw->pw_name);
            assert_true(wid_attestation_has_selector(&att, "unix", usel));
            p.no_names = 1;
            assert_int_equal(wid_unix_attest_fd(sv[0], &p, &att), WID_OK);
            assert_false(wid_attestation_has_selector(&att, "unix", usel));
            snprintf(usel, sizeof(usel), "uid:%u", (unsigned) geteuid());
            assert_true(wid_attestation_has_selector(&att, "unix", usel));
            p.no_names = 0;
        }
    }

    /* Size limit. */
    p.exe_max = 1024;
    assert_int_equal(wid_unix_attest_fd(sv[0], &p, &att),
                     WID_R_ATTEST_UNIX_EXE_TOO_LARGE);
    p.exe_max = 0;

    /* Ids that are not the process's (as if it changed them). */
    assert_int_equal(wid_unix_attest_pid(getpid(), geteuid() + 1, getegid(),
                                         &p, &att),
                     WID_R_ATTEST_UNIX_PROCESS_CHANGED);
    close(sv[0]);
    close(sv[1]);

    /* A peer that exited before we looked: its pid is stale. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(sv[0]);
        _exit(0);
    }
    close(sv[1]);
    assert_int_equal(waitpid(child, NULL, 0), child);
    assert_int_equal(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cred,
                                &clen), 0);
    /* socketpair credentials are the creator's; ask about the child. */
    assert_int_equal(wid_unix_attest_pid(child, cred.uid, cred.gid, &p,
                                         &att),
                     WID_R_ATTEST_UNIX_PROCESS_CHANGED);
    close(sv[0]);

    /* /proc entries that cannot be read (a fake /proc without exe). */
    {
        char  root[100], cmd[400];

        snprintf(root, sizeof(root), "%s/proc", dir);
        snprintf(cmd, sizeof(cmd), "mkdir -p %s/42 && cp /proc/self/stat"
                 " /proc/self/status %s/42/", root, root);
        assert_int_equal(system(cmd), 0);
        p.proc_root = root;
        assert_int_equal(wid_unix_attest_pid(42, geteuid(), getegid(), &p,
                                             &att),
                         WID_R_ATTEST_UNIX_PROC);
        p.proc_root = NULL;
    }

    /* Not a socket at all. */
    assert_int_equal(wid_unix_attest_fd(0 - 1, &p, &att),
                     WID_R_ATTEST_UNIX_PEERCRED);
    assert_int_equal(wid_unix_attest_pid(0, 0, 0, &p, &att),
                     WID_R_ATTEST_UNIX_PEERCRED);
}


static int
setup(void **state)
{
    (void) state;
    if (sodium_init() < 0) {
        return -1;
    }
    return mkdtemp(dir) == NULL ? -1 : 0;
}


static int
teardown(void **state)
{
    char cmd[600];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_selectors_and_json),
        cmocka_unit_test(test_base64_strict),
        cmocka_unit_test(test_registry_two_phases),
        cmocka_unit_test(test_registry_invalid),
        cmocka_unit_test(test_result_sign_verify),
        cmocka_unit_test(test_result_sign_refuses_unverifiable),
        cmocka_unit_test(test_tpm_counters),
        cmocka_unit_test(test_state),
        cmocka_unit_test(test_tpm_evidence_rejects),
        cmocka_unit_test(test_unix_peer),
    };
    return cmocka_run_group_tests_name("attest", tests, setup, teardown);
}
