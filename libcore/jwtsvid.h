/*
 * JWT-SVID verification (JWT-SVID spec).
 *
 * Compact JWS only; alg RS/ES/PS 256/384/512 matching the key; header
 * members alg, kid, typ (JWT or JOSE) only, crit refused; sub a valid
 * SPIFFE ID whose trust domain selects the bundle; kid selects among
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
 * On success fills *out (serial = SHA-256 of the token, audience = the
 * matched audience, bundle_sha256 = the file that held the key).
 */
wid_reason_t wid_jwtsvid_verify(const wid_bundle_set *set, const char *token,
                                size_t len, const char *audience,
                                int64_t now, int64_t leeway,
                                wid_identity *out);

#endif
