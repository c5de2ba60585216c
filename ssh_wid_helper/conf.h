/*
 * ssh-wid-helper configuration file, shared by `principals`, `issue
 * --config` and `serve`.  Line-oriented, like sshd_config: one
 * "keyword value" per line, '#' starts a comment line.  docs/ssh.md has
 * the table of keywords and which command needs which.
 *
 * Unknown keywords, repeated single-valued keywords, bad values and
 * missing values are errors: a typo must never silently weaken a check.
 * The file must not be writable by group or others.
 */
#ifndef SSH_WID_CONF_H
#define SSH_WID_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "journal.h"
#include "reason.h"
#include "sshcert.h"

#define SSH_CONF_MAX_LIST        64
#define SSH_CONF_DEFAULT_BACKDATE 30
#define SSH_CONF_DEFAULT_POP_AGE  120
#define SSH_CONF_DEFAULT_TIMEOUT  2000            /* ms */
#define SSH_CONF_DEFAULT_EXE_MAX  (256u << 20)    /* bytes hashed at most */

typedef struct {
    /* Login (principals). */
    char          *ca_pubkey_path;
    unsigned char  ca_pk[SSH_ED25519_PK_LEN];   /* set when loaded */
    char          *krl_path;
    char          *receipt_pubkey_path;
    char          *log_path;
    char          *journal_socket;              /* serve's socket */

    /* Shared by login and issuance. */
    char          *policy_path;
    char          *policy_signer_path;          /* require a signed policy */
    char          *rules[SSH_CONF_MAX_LIST];    /* rules this helper serves */
    size_t         nrules;
    char          *journal_dir;
    char          *receipt_key_path;
    wid_fsync_mode journal_fsync;               /* default: always */

    /* Issuance (issue --config, serve). */
    char          *ca_key_path;
    char          *audience;
    char          *bundles[SSH_CONF_MAX_LIST];  /* TD=FILE or DIR */
    size_t         nbundles;
    char          *index_path;
    uint64_t       backdate;                    /* seconds, <= 60 */
    uint64_t       pop_max_age;                 /* seconds */

    /* serve. */
    uint64_t       allow_uids[SSH_CONF_MAX_LIST];
    size_t         nallow_uids;
    unsigned char  allow_exe[SSH_CONF_MAX_LIST][32];
    size_t         nallow_exe;
    uint64_t       login_uids[SSH_CONF_MAX_LIST];   /* may submit ssh_login */
    size_t         nlogin_uids;
    unsigned       socket_mode;                 /* default 0660 */
    char          *socket_group;
    uint64_t       request_timeout_ms;
    uint64_t       exe_max_bytes;
} ssh_conf;

/*
 * Parse and check values, then require what `principals` needs
 * (ca_pubkey, krl; the CA public key is loaded and checked against
 * receipt_pubkey).  On failure err explains which line or key was wrong.
 */
wid_reason_t ssh_conf_load(const char *path, ssh_conf *conf, char *err,
                           size_t errlen);

/*
 * Parse and check values, then require what issuance needs: ca_key,
 * policy, rule, audience, bundle, journal, receipt_key, index.
 */
wid_reason_t ssh_conf_load_issuer(const char *path, ssh_conf *conf,
                                  char *err, size_t errlen);

/* Is rule one of the configured `rule` lines? */
int ssh_conf_has_rule(const ssh_conf *conf, const char *rule);

void ssh_conf_free(ssh_conf *conf);

#endif
