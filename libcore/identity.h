/*
 * wid_identity: the verified identity of a workload, the result of
 * X.509-SVID or JWT-SVID verification.  Fixed-size, bounded buffers so
 * that callers (nginx module, SSH helper, receipts) can copy it freely
 * and never allocate per request.
 */
#ifndef WID_IDENTITY_H
#define WID_IDENTITY_H

#include <stdint.h>

#include "credential.h"
#include "reason.h"

#define WID_SPIFFE_ID_MAX   2048    /* bytes, without the NUL */
#define WID_TRUST_DOMAIN_MAX 255    /* bytes, without the NUL */
#define WID_SERIAL_HEX_MAX  128     /* 64 serial bytes; RFC 5280 allows 20 */
#define WID_SHA256_HEX      64
#define WID_AUDIENCE_MAX    1024
/* Largest clock-skew allowance the verifiers accept (seconds). */
#define WID_LEEWAY_MAX      (24 * 3600)

typedef struct {
    char          spiffe_id[WID_SPIFFE_ID_MAX + 1];
    char          trust_domain[WID_TRUST_DOMAIN_MAX + 1];
    char          path[WID_SPIFFE_ID_MAX + 1];    /* "" or "/a/b" */
    wid_cred_kind_t kind;
    /*
     * Unix seconds.  X.509: the earliest notAfter of the verified path
     * (leaf, intermediates, anchor); JWT: exp.
     */
    int64_t       not_after;

    /*
     * X.509: the leaf serial number, lowercase hex of its magnitude.
     * JWT: lowercase hex SHA-256 of the JWS signing input (the token up
     * to its last '.'): what the issuer signed, so every encoding of one
     * signature names the same credential.
     */
    char          serial[WID_SERIAL_HEX_MAX + 1];

    /* X.509 only: SHA-256 of the leaf DER; "" for JWT. */
    char          fingerprint[WID_SHA256_HEX + 1];

    /* SHA-256 of the bytes of the bundle file that held the authority. */
    char          bundle_sha256[WID_SHA256_HEX + 1];

    /* JWT only: the expected audience that the token's aud contained. */
    char          audience[WID_AUDIENCE_MAX + 1];

    /*
     * On failure, a finer code where one exists: e.g. jwt.sub_invalid
     * with detail id.path_dot_segment.  WID_OK otherwise.
     */
    wid_reason_t  detail;
} wid_identity;

/* "x509_svid", "jwt_svid" or "none". */

#endif
