/*
 * X.509-SVID verification (X509-SVID spec, RFC 5280).
 *
 * The chain is validated by OpenSSL against the X509_STORE of the
 * leaf's own trust domain only (never a merged store), with the
 * presented intermediates as untrusted certificates; bundle authorities
 * are trust anchors even when not self-signed.  The SVID rules OpenSSL
 * does not know are enforced here: exactly one URI SAN, a spiffe ID with
 * a non-root path, leaf not a CA, keyUsage digitalSignature without
 * keyCertSign/cRLSign, EKU (if any) with serverAuth and clientAuth;
 * signing certificates CA with keyCertSign, their SPIFFE ID (if any) in
 * the leaf's trust domain and without path.  Validity is checked for
 * every certificate of the built chain at `now` with a leeway.
 */
#ifndef WID_X509SVID_H
#define WID_X509SVID_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "bundle.h"
#include "identity.h"
#include "reason.h"

/* Most certificates accepted in a presented chain (leaf included). */
#define WID_X509_MAX_CHAIN 8

/*
 * Verify leaf (with optional untrusted intermediates) at unix time now
 * with leeway seconds of clock skew allowed.  On success fills *out.
 * On failure *out holds no identity and out->detail may hold a finer
 * code (e.g. the id.* rule broken by the URI SAN).
 */
wid_reason_t wid_x509svid_verify(const wid_bundle_set *set, X509 *leaf,
                                 STACK_OF(X509) *intermediates, int64_t now,
                                 int64_t leeway, wid_identity *out);

/*
 * Parse a PEM (or single DER) certificate chain, leaf first.  The
 * caller frees *leaf with X509_free and *rest with
 * sk_X509_pop_free(rest, X509_free).
 */
wid_reason_t wid_x509_chain_parse(const unsigned char *buf, size_t len,
                                  X509 **leaf, STACK_OF(X509) **rest);

#endif
