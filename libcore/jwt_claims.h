/*
 * JWT claims (RFC 7519) that a verifier of JWT-SVIDs needs: sub, aud,
 * exp, nbf, iat.  Extraction only; what each finding means for a token
 * (and in which order the rules apply) is jwtsvid.c's business.
 *
 * Flat claims (flatjson.h: the shape SPIRE and most issuers emit) are
 * read without a jansson tree; anything else is parsed by jansson with
 * duplicate members refused and the depth limit.  Both paths fill the
 * same wid_jwt_claims with the same values (WID_JWT_CLAIMS_NO_FASTPATH
 * forces jansson, so tests and fuzzers can compare them).
 */
#ifndef WID_JWT_CLAIMS_H
#define WID_JWT_CLAIMS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "reason.h"

#define WID_JWT_CLAIMS_NO_FASTPATH 0x1u

/* A NumericDate claim. */
typedef struct {
    int           present;
    wid_reason_t  status;    /* WID_OK, or jwt.claim_invalid (type/range) */
    int64_t       value;     /* seconds, rounded down; when status is OK */
} wid_jwt_time;

typedef struct {
    json_t       *json;      /* owned; the jansson tree, NULL on the fast path */
    int           fast;      /* 1 when the fast path read the claims */
    const char   *sub;       /* NULL when absent or not a string */
    size_t        sub_len;   /* sub may contain NUL bytes (jansson \u0000) */
    wid_jwt_time  exp, nbf, iat;
    /*
     * aud against the expected audience: WID_OK (contained),
     * jwt.aud_missing (absent, "" or []), jwt.aud_mismatch,
     * jwt.claim_invalid (not a string or an array of strings).
     */
    wid_reason_t  aud;
} wid_jwt_claims;

/*
 * Read the claims in len bytes of decoded payload.  audience (aud_len
 * bytes) is the expected audience.  Returns WID_OK, or the parse error
 * of the general path: jwt.payload_invalid (not a JSON object),
 * jwt.duplicate_key, jwt.json_too_deep.  The claims point into buf (fast
 * path) or into c->json: both must outlive them.  Free with
 * wid_jwt_claims_clear() in every case.
 */
wid_reason_t wid_jwt_claims_read(const unsigned char *buf, size_t len,
                                 unsigned max_depth, const char *audience,
                                 size_t aud_len, unsigned flags,
                                 wid_jwt_claims *c);

void wid_jwt_claims_clear(wid_jwt_claims *c);

#endif
