/*
 * ssh-wid-helper configuration file (used by `principals`; `serve`
 * will share it).  Line-oriented, like sshd_config:
 *
 *   # comment
 *   ca_pubkey      /etc/wid/ssh_ca.pub     (required; OpenSSH or SPKI PEM)
 *   krl            /etc/ssh/wid_revoked.krl (required; sshd RevokedKeys)
 *   receipt_pubkey /etc/wid/receipt.pub    (optional; must differ from CA)
 *   log            /var/log/wid/ssh.log    (optional; JSON line per decision)
 *
 * Unknown keywords, repeated keywords and missing values are errors:
 * a typo must never silently weaken a check.  The file must not be
 * writable by group or others.
 */
#ifndef SSH_WID_CONF_H
#define SSH_WID_CONF_H

#include <stddef.h>

#include "reason.h"
#include "sshcert.h"

typedef struct {
    char          *ca_pubkey_path;
    unsigned char  ca_pk[SSH_ED25519_PK_LEN];
    char          *krl_path;
    char          *receipt_pubkey_path;
    char          *log_path;
} ssh_conf;

/* On failure err explains which line or key was wrong. */
wid_reason_t ssh_conf_load(const char *path, ssh_conf *conf, char *err,
                           size_t errlen);
void ssh_conf_free(ssh_conf *conf);

#endif
