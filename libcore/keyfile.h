/*
 * Ed25519 key files for receipts, policy signatures and the SSH CA.
 *
 * Secret keys are PKCS#8 PEM ("BEGIN PRIVATE KEY"), public keys SPKI PEM
 * ("BEGIN PUBLIC KEY"): the formats `openssl genpkey -algorithm ed25519`
 * writes, so operators and auditors can use standard tools.  OpenSSL
 * parses the files; libsodium signs.
 *
 * A secret key file must be a regular file (never followed through a
 * symlink), owned by the reading user and not accessible by group or
 * others.  Secret bytes are wiped as soon as they are no longer needed.
 */
#ifndef WID_KEYFILE_H
#define WID_KEYFILE_H

#include <stddef.h>

#include "reason.h"

#define WID_ED25519_PK_LEN   32
#define WID_ED25519_SK_LEN   64     /* libsodium layout: seed || pk */
#define WID_ED25519_SIG_LEN  64
#define WID_KEY_ID_HEX_LEN   16     /* hex of the first 8 fingerprint bytes */

typedef struct {
    unsigned char pk[WID_ED25519_PK_LEN];
} wid_pubkey;

typedef struct {
    unsigned char sk[WID_ED25519_SK_LEN];
    wid_pubkey    pub;
} wid_seckey;

/* Load a secret key file (permissions checked, O_NOFOLLOW). */
wid_reason_t wid_seckey_load(const char *path, wid_seckey *out);

/* Wipe a secret key held in memory. */
void wid_seckey_wipe(wid_seckey *key);

/* Load a public key: an SPKI PEM file, or the public half of a secret key
 * file given by mistake is refused (key.malformed). */
wid_reason_t wid_pubkey_load(const char *path, wid_pubkey *out);

/* Parse an SPKI PEM public key held in memory. */
wid_reason_t wid_pubkey_parse_pem(const unsigned char *pem, size_t len,
                                  wid_pubkey *out);

/*
 * Create PREFIX.key (mode 0600, never overwriting) and PREFIX.pub.
 */
wid_reason_t wid_keypair_generate(const char *prefix);

/* Detached Ed25519 signature / verification over a message. */
void wid_sign(const wid_seckey *key, const unsigned char *msg, size_t len,
              unsigned char sig[WID_ED25519_SIG_LEN]);
int wid_verify(const wid_pubkey *pub, const unsigned char *msg, size_t len,
               const unsigned char sig[WID_ED25519_SIG_LEN]);

/*
 * Key id: lowercase hex of the first 8 bytes of SHA-256 of the 32-byte
 * public key; names the signer on receipts and policy signatures.
 */
void wid_pubkey_id(const wid_pubkey *pub, char out[WID_KEY_ID_HEX_LEN + 1]);

#endif
