/*
 * Fuzz target: PSAT and GitHub Actions OIDC tokens (attest_token.h) with
 * the fixture's JWKS (tests/fuzz/make-attest-seeds).  The first byte:
 * bit 1 picks the kind (0 PSAT, 1 GitHub), bits 0 and 2 the entry point:
 *
 *   0  a claims object, checked as if its signature had verified
 *      (wid_token_check_claims): every claim rule on arbitrary payloads
 *   1  a compact token              wid_token_verify with the JWKS
 *   4  fuzzed parameters (s64 now, u16 leeway, u32 max lifetime, u32
 *      TTL, big-endian) then a claims object
 *
 * Beyond "no crash": an accepted token has exactly the configured
 * issuer, the audience among its aud, an exp that is still ahead (within
 * the leeway), no nbf or iat ahead, a lifetime within the maximum, and
 * an attestation that ends no later than the token (or one second after
 * now) and within the TTL.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "attest_fixture.h"
#include "attest_token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define K8S_ISSUER "https://kubernetes.default.svc.cluster.local"

static int
claim_time(const json_t *c, const char *name, int64_t *v)
{
    json_t *t = json_object_get(c, name);

    if (t == NULL) {
        return 0;
    }
    if (!json_is_integer(t)) {
        abort();                    /* accepted a non-integer time */
    }
    *v = (int64_t) json_integer_value(t);
    return 1;
}

static void
check_accepted(const json_t *c, const wid_token_params *p,
               wid_attest_kind kind, const wid_attestation *a)
{
    const json_t *aud = json_object_get(c, "aud"), *v;
    int64_t       exp = 0, nbf = 0, iat = 0, start;
    int           found = 0, has_nbf, has_iat;
    size_t        i;

    if (strcmp(json_string_value(json_object_get(c, "iss")), p->issuer)
        != 0)
    {
        abort();
    }
    if (json_is_string(aud)) {
        found = strcmp(json_string_value(aud), p->audience) == 0;
    } else {
        json_array_foreach(aud, i, v) {
            found |= json_is_string(v)
                     && strcmp(json_string_value(v), p->audience) == 0;
        }
    }
    if (!found || !claim_time(c, "exp", &exp) || exp < 0) {
        abort();
    }
    has_nbf = claim_time(c, "nbf", &nbf);
    has_iat = claim_time(c, "iat", &iat);
    if (p->now >= exp + p->leeway
        || (has_nbf && nbf > p->now + p->leeway)
        || (has_iat && iat > p->now + p->leeway))
    {
        abort();
    }
    start = has_iat ? iat : has_nbf ? nbf : p->now;
    if (p->max_lifetime > 0 && exp - start > p->max_lifetime) {
        abort();
    }
    if (a->kind != kind || a->issued_at != p->now
        || a->expires_at > p->now + p->ttl
        || (a->expires_at > exp && a->expires_at > p->now + 1)
        || a->expires_at <= a->issued_at)
    {
        abort();
    }
}

static uint64_t
get_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    while (n-- > 0) {
        v = v << 8 | *p++;
    }
    return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wid_token_params  p;
    wid_attest_kind   kind;
    wid_attestation  *a;
    const char       *jwks;
    json_t           *claims;
    wid_reason_t      rc;

    if (size < 1) {
        return 0;
    }
    kind = (data[0] & 2) ? WID_ATTEST_GITHUB_OIDC : WID_ATTEST_K8S_PSAT;
    memset(&p, 0, sizeof(p));
    p.issuer = kind == WID_ATTEST_K8S_PSAT ? K8S_ISSUER
                                           : WID_GITHUB_OIDC_ISSUER;
    p.audience = "wid";
    p.now = ATTEST_NOW;
    p.leeway = 30;
    p.max_lifetime = (data[0] & 8) ? 0 : 3600;
    p.ttl = 600;
    p.verifier = "fuzz";
    data++;
    size--;
    if ((a = malloc(sizeof(*a))) == NULL) {
        return 0;
    }

    switch (data[-1] & 5) {
    case 1:
    case 5:
        jwks = kind == WID_ATTEST_K8S_PSAT ? token_jwks_k8s : token_jwks_gh;
        rc = wid_token_verify(kind, data, size,
                              (const unsigned char *) jwks, strlen(jwks),
                              &p, a);
        if (getenv("FUZZ_DEBUG") != NULL) {
            fprintf(stderr, "verify: %s\n", wid_reason_code(rc));
        }
        if (rc != WID_OK && a->kind != WID_ATTEST_NONE) {
            abort();
        }
        break;

    case 4:
        if (size < 18) {
            break;
        }
        p.now = (int64_t) get_be(data, 8);
        p.leeway = (int64_t) get_be(data + 8, 2);
        p.max_lifetime = (int64_t) get_be(data + 10, 4);
        p.ttl = (int64_t) get_be(data + 14, 4);
        data += 18;
        size -= 18;
        /* fall through */
    default:
        claims = json_loadb((const char *) data, size,
                            JSON_REJECT_DUPLICATES, NULL);
        if (claims == NULL) {
            break;
        }
        rc = wid_token_check_claims(kind, claims, &p, data, size, a);
        if (getenv("FUZZ_DEBUG") != NULL) {
            fprintf(stderr, "claims: %s\n", wid_reason_code(rc));
        }
        if (rc == WID_OK) {
            check_accepted(claims, &p, kind, a);
        } else if (a->kind != WID_ATTEST_NONE) {
            abort();
        }
        json_decref(claims);
        break;
    }
    free(a);
    return 0;
}
