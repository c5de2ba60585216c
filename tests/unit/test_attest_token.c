/*
 * PSAT and GitHub OIDC claim rules: iss exact, aud required and
 * contained, exp required, nbf/iat honoured, lifetime cap, claims to
 * selectors.  (The signature step is exercised end to end.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "attest_token.h"

#define NOW 1800000000
#define ISS "https://kubernetes.default.svc"

static wid_attestation att;


static wid_token_params
params(void)
{
    wid_token_params p;

    memset(&p, 0, sizeof(p));
    p.issuer = ISS;
    p.audience = "wid";
    p.now = NOW;
    p.leeway = 0;
    p.ttl = 300;
    p.verifier = "test";
    return p;
}


/* A valid PSAT payload, edited by the caller through json_object_set. */
static json_t *
psat(void)
{
    return json_pack("{s:s,s:[s,s],s:I,s:I,s:I,s:s,s:{s:s,s:{s:s,s:s},"
                     "s:{s:s,s:s},s:{s:s,s:s}}}",
                     "iss", ISS, "aud", "other", "wid",
                     "exp", (json_int_t) NOW + 600,
                     "iat", (json_int_t) NOW - 10,
                     "nbf", (json_int_t) NOW - 10,
                     "sub", "system:serviceaccount:payments:worker",
                     "kubernetes.io", "namespace", "payments",
                     "serviceaccount", "name", "worker", "uid", "u-1",
                     "pod", "name", "worker-7d9", "uid", "p-1",
                     "node", "name", "node-a", "uid", "n-1");
}


static wid_reason_t
check(wid_attest_kind kind, json_t *claims, const wid_token_params *p)
{
    wid_reason_t rc = wid_token_check_claims(kind, claims, p,
                                             (const unsigned char *) "t", 1,
                                             &att);
    json_decref(claims);
    return rc;
}


static void
test_psat_valid(void **state)
{
    wid_token_params p = params();

    (void) state;
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, psat(), &p), WID_OK);
    assert_int_equal(att.kind, WID_ATTEST_K8S_PSAT);
    assert_string_equal(att.type, "k8s_psat");
    assert_string_equal(att.subject, "system:serviceaccount:payments:worker");
    assert_true(wid_attestation_has_selector(&att, "k8s", "ns:payments"));
    assert_true(wid_attestation_has_selector(&att, "k8s", "sa:worker"));
    assert_true(wid_attestation_has_selector(&att, "k8s",
                                             "pod-name:worker-7d9"));
    assert_true(wid_attestation_has_selector(&att, "k8s", "pod-uid:p-1"));
    assert_true(wid_attestation_has_selector(&att, "k8s", "node-name:node-a"));
    assert_int_equal(att.issued_at, NOW);
    assert_int_equal(att.expires_at, NOW + 300);   /* ttl below exp */

    /* aud may be a single string. */
    json_t *c = psat();
    json_object_set_new(c, "aud", json_string("wid"));
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p), WID_OK);

    /* An attestation never outlives its token. */
    c = psat();
    json_object_set_new(c, "exp", json_integer(NOW + 60));
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p), WID_OK);
    assert_int_equal(att.expires_at, NOW + 60);
}


static void
test_issuer_and_audience_required(void **state)
{
    wid_token_params p = params();
    json_t          *c;

    (void) state;
    c = psat();
    json_object_del(c, "iss");
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p),
                     WID_R_ATTEST_TOKEN_ISSUER);
    c = psat();
    json_object_set_new(c, "iss", json_string(ISS "/"));
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p),
                     WID_R_ATTEST_TOKEN_ISSUER);
    c = psat();
    json_object_set_new(c, "iss", json_integer(1));
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p),
                     WID_R_ATTEST_TOKEN_ISSUER);

    c = psat();
    json_object_del(c, "aud");
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p),
                     WID_R_ATTEST_TOKEN_AUDIENCE);
    c = psat();
    json_object_set_new(c, "aud", json_pack("[s]", "wid-other"));
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p),
                     WID_R_ATTEST_TOKEN_AUDIENCE);
    c = psat();
    json_object_set_new(c, "aud", json_string("wi"));
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p),
                     WID_R_ATTEST_TOKEN_AUDIENCE);

    /* No configured issuer or audience is a configuration error, never
     * "accept any". */
    p.issuer = "";
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, psat(), &p),
                     WID_R_ATTEST_CONFIG_INVALID);
    p = params();
    p.audience = NULL;
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, psat(), &p),
                     WID_R_ATTEST_CONFIG_INVALID);
}


static void
test_times(void **state)
{
    wid_token_params p = params();
    json_t          *c;

    (void) state;
    c = psat();
    json_object_del(c, "exp");
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p),
                     WID_R_ATTEST_TOKEN_EXP_MISSING);
    c = psat();
    json_object_set_new(c, "exp", json_integer(0));
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p),
                     WID_R_ATTEST_TOKEN_EXPIRED);
    c = psat();
    json_object_set_new(c, "exp", json_string("1900000000"));
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p),
                     WID_R_ATTEST_TOKEN_EXP_MISSING);
    c = psat();
    json_object_set_new(c, "exp", json_integer(NOW));
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p),
                     WID_R_ATTEST_TOKEN_EXPIRED);
    c = psat();
    json_object_set_new(c, "nbf", json_integer(NOW + 30));
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p),
                     WID_R_ATTEST_TOKEN_NOT_YET_VALID);
    c = psat();
    json_object_set_new(c, "iat", json_integer(NOW + 30));
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p),
                     WID_R_ATTEST_TOKEN_NOT_YET_VALID);

    /* Leeway: a few seconds of skew are tolerated, no more. */
    p.leeway = 60;
    c = psat();
    json_object_set_new(c, "nbf", json_integer(NOW + 30));
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p), WID_OK);

    /* Year-long tokens are refused when a maximum lifetime is set. */
    p = params();
    p.max_lifetime = 3600;
    c = psat();
    json_object_set_new(c, "exp", json_integer(NOW + 365 * 86400));
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p),
                     WID_R_ATTEST_TOKEN_LIFETIME);
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, psat(), &p), WID_OK);

    /* Absurd times are malformed, not overflowed. */
    c = psat();
    json_object_set_new(c, "exp", json_integer(INT64_MAX));
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p),
                     WID_R_ATTEST_TOKEN_EXP_MISSING);
    c = psat();
    json_object_set_new(c, "nbf", json_integer(-5));
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p),
                     WID_R_ATTEST_TOKEN_CLAIMS);
}


static void
test_psat_claims(void **state)
{
    wid_token_params p = params();
    json_t          *c;

    (void) state;
    /* sub must agree with the structured claims. */
    c = psat();
    json_object_set_new(c, "sub",
                        json_string("system:serviceaccount:kube-system:x"));
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p),
                     WID_R_ATTEST_TOKEN_CLAIMS);
    c = psat();
    json_object_del(c, "kubernetes.io");
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p),
                     WID_R_ATTEST_TOKEN_CLAIMS);
    c = psat();
    json_object_set_new(json_object_get(c, "kubernetes.io"), "namespace",
                        json_string("pay\nments"));
    assert_int_equal(check(WID_ATTEST_K8S_PSAT, c, &p),
                     WID_R_ATTEST_TOKEN_CLAIMS);
}


static void
test_github(void **state)
{
    wid_token_params p = params();
    json_t          *c;

    (void) state;
    p.issuer = WID_GITHUB_OIDC_ISSUER;
    c = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
                  "iss", WID_GITHUB_OIDC_ISSUER, "aud", "wid",
                  "exp", (json_int_t) NOW + 300, "iat", (json_int_t) NOW,
                  "sub", "repo:acme/app:ref:refs/heads/main",
                  "repository", "acme/app", "repository_owner", "acme",
                  "ref", "refs/heads/main", "sha", "0123abcd",
                  "workflow", "Release build",
                  "runner_environment", "github-hosted");
    assert_int_equal(check(WID_ATTEST_GITHUB_OIDC, json_incref(c), &p),
                     WID_OK);
    assert_string_equal(att.type, "github_oidc");
    assert_true(wid_attestation_has_selector(&att, "github",
                                             "repository:acme/app"));
    assert_true(wid_attestation_has_selector(&att, "github",
                                             "ref:refs/heads/main"));
    assert_true(wid_attestation_has_selector(&att, "github",
                                             "workflow:Release build"));

    json_object_del(c, "repository");
    assert_int_equal(check(WID_ATTEST_GITHUB_OIDC, c, &p),
                     WID_R_ATTEST_TOKEN_CLAIMS);

    /* A PSAT issuer's token is not a GitHub token. */
    assert_int_equal(check(WID_ATTEST_GITHUB_OIDC, psat(), &p),
                     WID_R_ATTEST_TOKEN_ISSUER);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_psat_valid),
        cmocka_unit_test(test_issuer_and_audience_required),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_psat_claims),
        cmocka_unit_test(test_github),
    };
    return cmocka_run_group_tests_name("attest_token", tests, NULL, NULL);
}
