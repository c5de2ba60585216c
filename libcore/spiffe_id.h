/*
 * SPIFFE IDs (SPIFFE-ID spec): spiffe://<trust-domain>[/<path>].
 *
 * Strict: lowercase scheme and trust domain ([a-z0-9._-], at most 255
 * bytes), path segments [a-zA-Z0-9._-] with no empty, "." or ".."
 * segment and no trailing slash, no percent-encoding, userinfo, port,
 * query or fragment, at most 2048 bytes in all.  Every rule has its own
 * reason code (libcore/reasons/id.def).
 */
#ifndef WID_SPIFFE_ID_H
#define WID_SPIFFE_ID_H

#include <stddef.h>

#include "identity.h"
#include "reason.h"

typedef struct {
    char   id[WID_SPIFFE_ID_MAX + 1];
    char   trust_domain[WID_TRUST_DOMAIN_MAX + 1];
    char   path[WID_SPIFFE_ID_MAX + 1];     /* "" when the ID is the root */
    size_t td_len;
    size_t path_len;
} wid_spiffe_id;

/*
 * Parse len bytes at s (which need not be NUL-terminated and may
 * contain NUL bytes, e.g. from a certificate SAN).  out may be NULL to
 * only validate.  On failure out is zeroed.
 */
wid_reason_t wid_spiffe_id_parse(const char *s, size_t len,
                                 wid_spiffe_id *out);

/* Validate a bare trust domain name (as in TD=FILE). */
wid_reason_t wid_trust_domain_check(const char *td, size_t len);

#endif
