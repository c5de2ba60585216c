/*
 * The SSH CA key.
 *
 * The secret key is an Ed25519 PKCS#8 PEM file (what `wid keygen` and
 * `openssl genpkey -algorithm ed25519` write).  It must be a regular
 * file, opened without following symlinks, owned by the user running
 * the helper and not accessible by group or others; the secret bytes
 * are wiped as soon as the caller is done.
 *
 * The public key is read from an OpenSSH line ("ssh-ed25519 AAAA...",
 * what sshd's TrustedUserCAKeys holds) or an SPKI PEM file.
 */
#ifndef SSH_WID_CAKEY_H
#define SSH_WID_CAKEY_H

#include "reason.h"
#include "sshcert.h"

typedef struct {
    unsigned char sk[SSH_ED25519_SK_LEN];      /* libsodium seed || pk */
    unsigned char pk[SSH_ED25519_PK_LEN];
} ssh_ca_key;

wid_reason_t ssh_ca_key_load(const char *path, ssh_ca_key *out);
void ssh_ca_key_wipe(ssh_ca_key *key);

/* An OpenSSH ssh-ed25519 line or an SPKI PEM Ed25519 public key file. */
wid_reason_t ssh_ca_pub_load(const char *path,
                             unsigned char pk[SSH_ED25519_PK_LEN]);

/*
 * Refuse to run with the CA key doubling as the receipt signing key:
 * a compromise of one must not forge the other.  receipt_pub_path is
 * the receipt public key (same formats as ssh_ca_pub_load); NULL skips.
 */
wid_reason_t ssh_ca_check_separate(const unsigned char ca_pk[SSH_ED25519_PK_LEN],
                                   const char *receipt_pub_path);

#endif
