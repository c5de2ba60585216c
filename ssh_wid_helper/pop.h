/*
 * Proof of possession for X.509-SVIDs: the workload signs, with the
 * SVID's private key, a challenge naming the SSH public key it wants
 * certified, the helper's audience and the time.
 *
 * Challenge (ASCII, each line ending in LF; docs/ssh.md):
 *
 *   wid-ssh-pop-v1
 *   audience <the helper's configured audience>
 *   time <Unix seconds, decimal>
 *   ssh-key ssh-ed25519 <base64 of the SSH public key blob>
 *
 * The first line separates this from anything else an SVID key signs
 * (TLS handshakes sign binary structures that never start like this).
 * Signature: ECDSA with SHA-256 (DER, as `openssl dgst -sha256 -sign`
 * writes it) for EC keys, RSASSA-PKCS1-v1_5 with SHA-256 for RSA keys,
 * pure Ed25519 for Ed25519 keys.
 *
 * Proof as sent: "wid-ssh-pop-v1 <time> <base64 signature>".  Fresh when
 * now - max_age <= time <= now + 30 s.  Replaying a proof within that
 * window gains nothing: it can only certify the SSH key it names, whose
 * private key the replayer does not hold.
 */
#ifndef SSH_WID_POP_H
#define SSH_WID_POP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "reason.h"
#include "sshcert.h"

#define SSH_POP_VERSION     "wid-ssh-pop-v1"
#define SSH_POP_MAX         4096        /* bytes of a proof line */
#define SSH_POP_FUTURE_SKEW 30
#define SSH_POP_KEY_MAX     65536       /* bytes of an SVID key file */

/*
 * An audience fits the challenge's one "audience" line: 1..1024 bytes,
 * no control character (a newline would add a line to what is signed),
 * no space or tab at either end.  The same rule for the configuration's
 * `audience` and for --audience.  0 or -1.
 */
#define SSH_POP_AUDIENCE_MAX 1024
#define SSH_POP_AUDIENCE_RULE \
    "an audience is 1-1024 bytes without control characters (newline, " \
    "tab, ...) and without a space at either end"

int ssh_pop_audience_ok(const char *aud);

/* The challenge text (malloc'd, NUL-terminated; *len without the NUL). */
wid_reason_t ssh_pop_challenge(const char *audience, uint64_t t,
                               const unsigned char pk[SSH_ED25519_PK_LEN],
                               char **out, size_t *len);

wid_reason_t ssh_pop_verify(X509 *leaf, const char *audience,
                            const unsigned char pk[SSH_ED25519_PK_LEN],
                            const char *proof, uint64_t now,
                            uint64_t max_age);

/*
 * Load the SVID's private key (PEM: PKCS#8, SEC1 or PKCS#1) through
 * wid_read_file, so a FIFO in its place is refused (internal.io_error)
 * instead of waited on; key.malformed when no key parses.
 */
wid_reason_t ssh_pop_key_load(const char *path, EVP_PKEY **key);

/* Sign the challenge with key; *proof is the proof line (malloc'd). */
wid_reason_t ssh_pop_sign(EVP_PKEY *key, const char *audience, uint64_t t,
                          const unsigned char pk[SSH_ED25519_PK_LEN],
                          char **proof);

#endif
