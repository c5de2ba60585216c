/*
 * Signed attestation results: the verifier bridge's output, consumed by
 * the nginx module (attestation-result header) and the SSH helper.
 *
 * A result is a compact JWS signed with the verifier's Ed25519 key
 * (wid keygen):
 *   header  {"alg":"EdDSA","typ":"wid-attestation-result+jws",
 *            "kid":"<wid key id of the public key>"}
 *   payload {"schema":"wid.attestation-result.v1","verifier":...,
 *            "issuedAt":N,"expiresAt":N,"evidenceSha256":"<hex>",
 *            "attestationType":"tpm_quote"|...,
 *            "workloadIdentity":{"scheme":"spiffe","uri":...,
 *                                "trustDomain":...,"path":...},
 *            "tier":"verified"|...|"", "subject":...,
 *            "selectors":["type:value",...]}
 *
 * A consumer verifies with the keys of its trusted_verifiers only
 * (the kid picks the key; no key, no trust), checks the time window and
 * the maximum age, then the type against the verifier's allowed types
 * and workloadIdentity against the authenticated SVID: a different SPIFFE
 * ID is a conflict and denies.  The tier applied is the policy's
 * effective_tier for that verifier, never a tier the result claims.
 */
#ifndef WID_ATTEST_RESULT_H
#define WID_ATTEST_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "attest.h"
#include "keyfile.h"
#include "reason.h"

#define WID_ATTEST_RESULT_SCHEMA "wid.attestation-result.v1"
#define WID_ATTEST_RESULT_TYP    "wid-attestation-result+jws"
#define WID_ATTEST_RESULT_MAX    16384

typedef struct {
    char          verifier[WID_ATTEST_NAME_MAX + 1];
    char          type[WID_ATTEST_SEL_TYPE_MAX + 1];
    char          spiffe_id[WID_ATTEST_ID_MAX + 1];
    char          tier[WID_ATTEST_SEL_TYPE_MAX + 1];   /* informative */
    char          kid[WID_KEY_ID_HEX_LEN + 1];
    int64_t       issued_at;
    int64_t       expires_at;
    unsigned char evidence_sha256[32];
    size_t        key_index;      /* which of the trusted keys signed */
} wid_attest_result;

/*
 * Sign the attestation as a result JWS (fresh NUL-terminated string in
 * *jws).  The attestation must bind a SPIFFE ID (attest.result_malformed
 * otherwise): a result that names no identity cannot be checked against
 * one.
 */
wid_reason_t wid_attest_result_sign(const wid_attestation *a,
                                    const wid_seckey *key, char **jws);

/*
 * Verify a result with the trusted verifier keys: structure, kid among
 * the keys (attest.untrusted_verifier), signature, schema, window
 * issuedAt <= now < expiresAt (attest.not_yet_valid /
 * attest.evidence_stale) and, if max_age > 0, now - issuedAt <= max_age.
 */
wid_reason_t wid_attest_result_verify(const char *jws, size_t len,
                                      const wid_pubkey *keys, size_t nkeys,
                                      int64_t now, int64_t max_age,
                                      wid_attest_result *out);

/*
 * The consumer's checks after verification: the type is one of the
 * allowed types (attest.type_not_allowed; ntypes 0 allows none) and the
 * result binds exactly the authenticated SPIFFE ID
 * (attest.identity_conflict).
 */
wid_reason_t wid_attest_result_check(const wid_attest_result *r,
                                     const char *authenticated_spiffe_id,
                                     const char *const *allowed_types,
                                     size_t ntypes);

#endif
