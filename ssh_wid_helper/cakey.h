/*
 * The SSH CA key.
 *
 * The secret key is a libcore key file (libcore/keyfile.h: Ed25519
 * PKCS#8 PEM, as `wid keygen` writes it): a regular file, opened without
 * following symlinks, owned by the user running the helper, with no
 * access for group or others, wiped after use.  Load it with
 * wid_seckey_load() and wipe it with wid_seckey_wipe().
 *
 * The public key is read from an OpenSSH line ("ssh-ed25519 AAAA...",
 * what sshd's TrustedUserCAKeys holds) or an SPKI PEM file.
 */
#ifndef SSH_WID_CAKEY_H
#define SSH_WID_CAKEY_H

#include "keyfile.h"
#include "reason.h"
#include "sshcert.h"

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
