/*
 * PSAT and GitHub Actions OIDC token claims.
 */
#include <stdio.h>
#include <string.h>

#include "attest_token.h"
#include "jws.h"

/* Bounds for time claims: beyond 2^40 seconds nothing is meaningful and
 * sums stay far from overflow. */
#define WID_TOKEN_TIME_MAX ((json_int_t) 1 << 40)


static int
wid_token_time(const json_t *claims, const char *name, int64_t *out,
               int *present)
{
    json_t *v = json_object_get(claims, name);

    *present = 0;
    if (v == NULL) {
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0
        || json_integer_value(v) > WID_TOKEN_TIME_MAX)
    {
        return -1;
    }
    *out = (int64_t) json_integer_value(v);
    *present = 1;
    return 0;
}


static int
wid_token_aud_contains(const json_t *aud, const char *want)
{
    size_t  i;
    json_t *v;

    if (json_is_string(aud)) {
        return strcmp(json_string_value(aud), want) == 0;
    }
    if (!json_is_array(aud)) {
        return 0;
    }
    json_array_foreach(aud, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0) {
            return 1;
        }
    }
    return 0;
}


/* A string member at path a[.b[.c]] or NULL. */
static const char *
wid_token_str(const json_t *o, const char *a, const char *b, const char *c)
{
    const json_t *v = json_object_get(o, a);

    if (b != NULL) {
        v = json_object_get(v, b);
    }
    if (c != NULL) {
        v = json_object_get(v, c);
    }
    return json_is_string(v) && json_string_length(v) > 0
           && strlen(json_string_value(v)) == json_string_length(v)
           ? json_string_value(v) : NULL;
}


static wid_reason_t
wid_token_sel(wid_attestation *a, const char *type, const char *key,
              const char *value, int required)
{
    char sel[WID_ATTEST_SEL_VALUE_MAX + 1];
    int  n;

    if (value == NULL) {
        return required ? WID_R_ATTEST_TOKEN_CLAIMS : WID_OK;
    }
    n = snprintf(sel, sizeof(sel), "%s:%s", key, value);
    if (n < 0 || (size_t) n >= sizeof(sel)) {
        return WID_R_ATTEST_TOKEN_CLAIMS;
    }
    return wid_attestation_add_selector(a, type, sel) == WID_OK
           ? WID_OK : WID_R_ATTEST_TOKEN_CLAIMS;
}


static wid_reason_t
wid_token_k8s(const json_t *claims, wid_attestation *a)
{
    const char *ns, *sa, *sub;
    char        want[WID_ATTEST_SEL_VALUE_MAX + 1];
    int         n;
    wid_reason_t rc;

    ns = wid_token_str(claims, "kubernetes.io", "namespace", NULL);
    sa = wid_token_str(claims, "kubernetes.io", "serviceaccount", "name");
    sub = wid_token_str(claims, "sub", NULL, NULL);
    if (ns == NULL || sa == NULL || sub == NULL) {
        return WID_R_ATTEST_TOKEN_CLAIMS;
    }
    /* The subject and the structured claims must tell the same story. */
    n = snprintf(want, sizeof(want), "system:serviceaccount:%s:%s", ns, sa);
    if (n < 0 || (size_t) n >= sizeof(want) || strcmp(sub, want) != 0) {
        return WID_R_ATTEST_TOKEN_CLAIMS;
    }
    rc = wid_token_sel(a, "k8s", "ns", ns, 1);
    if (rc == WID_OK) {
        rc = wid_token_sel(a, "k8s", "sa", sa, 1);
    }
    if (rc == WID_OK) {
        rc = wid_token_sel(a, "k8s", "pod-name",
                           wid_token_str(claims, "kubernetes.io", "pod",
                                         "name"), 0);
    }
    if (rc == WID_OK) {
        rc = wid_token_sel(a, "k8s", "pod-uid",
                           wid_token_str(claims, "kubernetes.io", "pod",
                                         "uid"), 0);
    }
    if (rc == WID_OK) {
        rc = wid_token_sel(a, "k8s", "node-name",
                           wid_token_str(claims, "kubernetes.io", "node",
                                         "name"), 0);
    }
    if (rc == WID_OK && wid_attestation_set_subject(a, sub) != WID_OK) {
        rc = WID_R_ATTEST_TOKEN_CLAIMS;
    }
    return rc;
}


static wid_reason_t
wid_token_github(const json_t *claims, wid_attestation *a)
{
    static const struct {
        const char *claim;
        int         required;
    } sels[] = {
        { "repository", 1 }, { "repository_owner", 0 }, { "ref", 0 },
        { "sha", 0 }, { "workflow", 0 }, { "job_workflow_ref", 0 },
        { "environment", 0 }, { "event_name", 0 },
        { "runner_environment", 0 },
    };
    const char  *sub = wid_token_str(claims, "sub", NULL, NULL);
    size_t       i;
    wid_reason_t rc;

    if (sub == NULL) {
        return WID_R_ATTEST_TOKEN_CLAIMS;
    }
    for (i = 0; i < sizeof(sels) / sizeof(sels[0]); i++) {
        rc = wid_token_sel(a, "github", sels[i].claim,
                           wid_token_str(claims, sels[i].claim, NULL, NULL),
                           sels[i].required);
        if (rc != WID_OK) {
            return rc;
        }
    }
    return wid_attestation_set_subject(a, sub) == WID_OK
           ? WID_OK : WID_R_ATTEST_TOKEN_CLAIMS;
}


wid_reason_t
wid_token_check_claims(wid_attest_kind kind, const json_t *claims,
                       const wid_token_params *p, const unsigned char *token,
                       size_t len, wid_attestation *out)
{
    const json_t *iss;
    int64_t       exp = 0, nbf = 0, iat = 0, start, ttl;
    int           has_exp, has_nbf, has_iat;
    wid_reason_t  rc;

    memset(out, 0, sizeof(*out));
    if ((kind != WID_ATTEST_K8S_PSAT && kind != WID_ATTEST_GITHUB_OIDC)
        || p->issuer == NULL || p->issuer[0] == '\0'
        || p->audience == NULL || p->audience[0] == '\0'
        || p->leeway < 0 || p->leeway > 3600 || p->max_lifetime < 0
        || p->ttl <= 0 || p->now < 0 || p->now > WID_TOKEN_TIME_MAX)
    {
        return WID_R_ATTEST_CONFIG_INVALID;
    }
    if (!json_is_object(claims)) {
        return WID_R_ATTEST_TOKEN_CLAIMS;
    }

    iss = json_object_get(claims, "iss");
    if (!json_is_string(iss) || strcmp(json_string_value(iss), p->issuer) != 0
        || strlen(json_string_value(iss)) != json_string_length(iss))
    {
        return WID_R_ATTEST_TOKEN_ISSUER;
    }
    if (!wid_token_aud_contains(json_object_get(claims, "aud"), p->audience))
    {
        return WID_R_ATTEST_TOKEN_AUDIENCE;
    }

    if (wid_token_time(claims, "exp", &exp, &has_exp) != 0 || !has_exp) {
        return WID_R_ATTEST_TOKEN_EXP_MISSING;
    }
    if (wid_token_time(claims, "nbf", &nbf, &has_nbf) != 0
        || wid_token_time(claims, "iat", &iat, &has_iat) != 0)
    {
        return WID_R_ATTEST_TOKEN_CLAIMS;
    }
    /*
     * No leeway for exp: the attestation lives no longer than the token,
     * and one past its exp has no time left to vouch for.  (All values
     * are below 2^40: the sums below cannot overflow.)
     */
    if (exp <= p->now) {
        return WID_R_ATTEST_TOKEN_EXPIRED;
    }
    if ((has_nbf && nbf > p->now + p->leeway)
        || (has_iat && iat > p->now + p->leeway))
    {
        return WID_R_ATTEST_TOKEN_NOT_YET_VALID;
    }
    if (p->max_lifetime > 0) {
        start = has_iat ? iat : has_nbf ? nbf : p->now;
        if (exp - start > p->max_lifetime) {
            return WID_R_ATTEST_TOKEN_LIFETIME;
        }
    }

    wid_attestation_init(out, kind, p->verifier);
    wid_attestation_hash_evidence(out, token, len);
    ttl = exp - p->now < p->ttl ? exp - p->now : p->ttl;
    rc = wid_attestation_set_window(out, p->now, ttl);
    if (rc == WID_OK) {
        rc = kind == WID_ATTEST_K8S_PSAT ? wid_token_k8s(claims, out)
                                         : wid_token_github(claims, out);
    }
    if (rc != WID_OK) {
        memset(out, 0, sizeof(*out));
    }
    return rc;
}



/* The JWKS key whose kid is the token's; the JWKS is the issuer's
 * (Kubernetes service-account issuer, GitHub's OIDC keys). */
static wid_reason_t
wid_token_key(const unsigned char *jwks, size_t jwks_len, const char *kid,
              wid_jws_key *key)
{
    json_t       *doc, *keys, *k, *v;
    json_error_t  err;
    size_t        i;
    wid_reason_t  rc = WID_R_ATTEST_TOKEN_KEY_UNKNOWN;

    doc = json_loadb((const char *) jwks, jwks_len, JSON_REJECT_DUPLICATES,
                     &err);
    keys = json_object_get(doc, "keys");
    if (!json_is_array(keys)) {
        json_decref(doc);
        return WID_R_ATTEST_CONFIG_INVALID;
    }
    json_array_foreach(keys, i, k) {
        v = json_object_get(k, "kid");
        if (!json_is_string(v) || strcmp(json_string_value(v), kid) != 0) {
            continue;
        }
        rc = wid_jws_key_from_jwk(k, key) == WID_OK
             ? WID_OK : WID_R_ATTEST_CONFIG_INVALID;
        break;
    }
    json_decref(doc);
    return rc;
}


wid_reason_t
wid_token_verify(wid_attest_kind kind, const unsigned char *token,
                 size_t len, const unsigned char *jwks, size_t jwks_len,
                 const wid_token_params *p, wid_attestation *out)
{
    wid_jws       jws;
    wid_jws_key   key;
    wid_jws_opts  opts;
    wid_reason_t  rc;

    memset(out, 0, sizeof(*out));
    memset(&opts, 0, sizeof(opts));
    if (len > WID_JWS_MAX_LEN) {
        return WID_R_ATTEST_EVIDENCE_TOO_LARGE;
    }
    if (wid_jws_parse((const char *) token, len, &opts, &jws) != WID_OK) {
        return WID_R_ATTEST_EVIDENCE_MALFORMED;
    }
    memset(&key, 0, sizeof(key));
    rc = jws.kid != NULL ? wid_token_key(jwks, jwks_len, jws.kid, &key)
                         : WID_R_ATTEST_TOKEN_KEY_UNKNOWN;
    if (rc == WID_OK) {
        rc = wid_jws_verify(&jws, &key) == WID_OK
             ? WID_OK : WID_R_ATTEST_TOKEN_BAD_SIGNATURE;
        wid_jws_key_clear(&key);
    }
    if (rc == WID_OK) {
        rc = jws.payload != NULL
             ? wid_token_check_claims(kind, jws.payload, p, token, len, out)
             : WID_R_ATTEST_EVIDENCE_MALFORMED;
    }
    wid_jws_clear(&jws);
    return rc;
}
