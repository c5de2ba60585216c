/*
 * Signed-token attestation: Kubernetes projected service-account tokens
 * (PSAT) and GitHub Actions OIDC tokens.
 *
 * Nothing is optional that makes a token safe to accept: iss is required
 * and must equal the configured issuer exactly; aud is required and must
 * contain the configured audience; exp is required and in the future;
 * nbf and iat, when present, are not in the future; a maximum lifetime
 * (exp - iat) can be imposed, because Kubernetes can be configured to
 * mint year-long tokens.  The signature is checked with the issuer's JWKS
 * (key chosen by kid) before any claim is looked at.
 *
 * Claims become selectors:
 *   k8s:ns:<namespace>  k8s:sa:<service account>  k8s:pod-name:<name>
 *   k8s:pod-uid:<uid>   k8s:node-name:<name>
 *   github:repository:<owner/repo>  github:repository_owner:<owner>
 *   github:ref:<ref>  github:sha:<sha>  github:workflow:<name>
 *   github:job_workflow_ref:<ref>  github:environment:<env>
 *   github:event_name:<event>  github:runner_environment:<env>
 */
#ifndef WID_ATTEST_TOKEN_H
#define WID_ATTEST_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "attest.h"
#include "reason.h"

#define WID_GITHUB_OIDC_ISSUER "https://token.actions.githubusercontent.com"

typedef struct {
    const char *issuer;        /* required, compared exactly */
    const char *audience;      /* required, must be in aud */
    int64_t     now;
    int64_t     leeway;        /* clock skew allowed on exp/nbf/iat, >= 0 */
    int64_t     max_lifetime;  /* 0: no limit; else exp - iat <= this */
    int64_t     ttl;           /* attestation lifetime cap */
    const char *verifier;
} wid_token_params;

/*
 * Check the claims of a token whose signature already verified, and fill
 * *out.  kind is WID_ATTEST_K8S_PSAT or WID_ATTEST_GITHUB_OIDC; token is
 * the exact token text (hashed into evidenceSha256).
 */
wid_reason_t wid_token_check_claims(wid_attest_kind kind,
                                    const json_t *claims,
                                    const wid_token_params *p,
                                    const unsigned char *token, size_t len,
                                    wid_attestation *out);

/*
 * Verify a compact JWS token with the issuer's JWKS (kid required and
 * present in the JWKS: attest.token_key_unknown; signature:
 * attest.token_bad_signature), then its claims as above.
 */
wid_reason_t wid_token_verify(wid_attest_kind kind,
                              const unsigned char *token, size_t len,
                              const unsigned char *jwks, size_t jwks_len,
                              const wid_token_params *p,
                              wid_attestation *out);

#endif
