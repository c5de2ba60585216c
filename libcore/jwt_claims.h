/*
 * JWT claims (RFC 7519) that a verifier of JWT-SVIDs needs: sub, aud,
 * exp, nbf, iat.  Extraction only; what each finding means for a token
 * (and in which order the rules apply) is jwtsvid.c's business.
 *
 * The claims are parsed by jansson with duplicate members refused and
 * the depth limit.
 */
#ifndef WID_JWT_CLAIMS_H
#define WID_JWT_CLAIMS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "reason.h"

/* A NumericDate claim. */
typedef struct {
    int           present;
    wid_reason_t  status;    /* WID_OK, or jwt.claim_invalid (type/range) */
    int64_t       value;     /* seconds, rounded down; when status is OK */
} wid_jwt_time;

typedef struct {
    json_t       *json;      /* owned; the jansson tree */
    int           arena;     /* json lives in this thread's JSON arena */
    const char   *sub;       /* NULL when absent or not a string */
    size_t        sub_len;
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
 * bytes) is the expected audience.  Returns WID_OK, or the parse error:
 * jwt.payload_invalid (not a JSON object),
 * jwt.duplicate_key, jwt.json_too_deep.  sub points into c->json.
 * Free with wid_jwt_claims_clear() in every case.
 */
wid_reason_t wid_jwt_claims_read(const unsigned char *buf, size_t len,
                                 unsigned max_depth, const char *audience,
                                 size_t aud_len, wid_jwt_claims *c);

void wid_jwt_claims_clear(wid_jwt_claims *c);

#endif
