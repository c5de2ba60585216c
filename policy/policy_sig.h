/*
 * Detached policy signatures (governance).
 *
 * FILE.sig is a small text file, exactly four LF-terminated lines:
 *
 *     wid-policy-signature-v1
 *     algorithm: ed25519
 *     key-id: <16 lowercase hex: first 8 bytes of SHA-256(public key)>
 *     signature: <standard base64 of the 64-byte Ed25519 signature>
 *
 * The signature is over the domain-separation prefix
 * "wid-policy-signature-v1" followed by one NUL byte, followed by the
 * exact bytes of FILE: a signature made for a policy can never be
 * replayed as a signature of some other wid object, and nothing is
 * re-serialised before signing or checking.
 */
#ifndef WID_POLICY_SIG_H
#define WID_POLICY_SIG_H

#include <stddef.h>

#include "keyfile.h"
#include "reason.h"

#define WID_POLICY_SIG_CONTEXT  "wid-policy-signature-v1"
#define WID_POLICY_SIG_MAX      4096   /* a .sig file is far smaller */

/* Text of FILE.sig for bytes; *out is malloc'd, NUL-terminated. */
wid_reason_t wid_policy_sig_create(const unsigned char *bytes, size_t len,
                                   const wid_seckey *key, char **out,
                                   size_t *out_len);

/*
 * Check sig (the text of FILE.sig) over bytes with pub.  Returns WID_OK,
 * policy.signature_malformed, policy.signer_mismatch (names another key)
 * or policy.signature_invalid.  key_id (may be NULL) receives the key id
 * the file names when it parses.
 */
wid_reason_t wid_policy_sig_verify(const unsigned char *bytes, size_t len,
                                   const unsigned char *sig, size_t sig_len,
                                   const wid_pubkey *pub,
                                   char key_id[WID_KEY_ID_HEX_LEN + 1]);

#endif
