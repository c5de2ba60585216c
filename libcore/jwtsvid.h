/*
 * JWT-SVID verification (JWT-SVID spec).
 *
 * Compact JWS only; alg RS/ES/PS 256/384/512 matching the key; header
 * members alg, kid, typ (JWT or JOSE) only, crit refused; sub a valid
 * SPIFFE ID with a path (a bare trust domain names no workload), whose
 * trust domain selects the bundle; kid selects among
 * that trust domain's JWT authorities (no kid: each key that fits alg is
 * tried); aud required and containing the expected audience; exp
 * required; nbf and iat honoured; all times with a leeway.  The
 * signature is verified before exp/nbf/iat/aud are looked at.
 */
#ifndef WID_JWTSVID_H
#define WID_JWTSVID_H

#include <stddef.h>
#include <stdint.h>

#include "bundle.h"
#include "identity.h"
#include "reason.h"

/* Default size limit of a JWT-SVID (SPIRE's are well under 1 KiB). */
#define WID_JWTSVID_MAX_LEN 8192

/*
 * Verify token (len bytes) for the expected audience at unix time now,
 * allowing leeway seconds of clock skew.  An empty or NULL audience is
 * a configuration error (jwt.audience_not_configured), never "any".
 * On success fills *out (serial = SHA-256 of the signing input, audience = the
 * matched audience, bundle_sha256 = the file that held the key).
 */
wid_reason_t wid_jwtsvid_verify(const wid_bundle_set *set, const char *token,
                                size_t len, const char *audience,
                                int64_t now, int64_t leeway,
                                wid_identity *out);

/* Upper bound of wid_jwtsvid_opts.max_lifetime: 400 days. */
#define WID_JWTSVID_LIFETIME_MAX (400LL * 86400)

/* Never use the memo of validated headers (jws.h): the full check. */
#define WID_JWTSVID_NO_MEMO 0x1u

typedef struct {
    const char *audience;      /* required, non-empty */
    int64_t     now;           /* unix seconds */
    int64_t     leeway;        /* 0 .. WID_LEEWAY_MAX seconds of skew */
    /*
     * 0: no limit.  Otherwise the longest lifetime accepted, in seconds:
     * exp - iat, or exp - now when the token has no iat (then with the
     * leeway added).  Longer: jwt.lifetime_too_long.
     */
    int64_t     max_lifetime;
    unsigned    flags;         /* WID_JWTSVID_NO_MEMO */
} wid_jwtsvid_opts;

/*
 * wid_jwtsvid_verify with every option.  A negative leeway or lifetime,
 * or one over its bound, is a configuration error (internal.config).
 * The result does not depend on WID_JWTSVID_NO_MEMO; tests and the
 * fuzzer check that.
 */
wid_reason_t wid_jwtsvid_verify_opts(const wid_bundle_set *set,
                                     const char *token, size_t len,
                                     const wid_jwtsvid_opts *opts,
                                     wid_identity *out);

#endif
