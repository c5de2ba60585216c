/*
 * The login-time decision behind `ssh-wid-helper principals`
 * (sshd's AuthorizedPrincipalsCommand).
 *
 * ssh_login_decide() is the one place a login is judged: CA, validity,
 * KRL, principal, and then ssh_login_policy(), the integration point
 * where the rule's ssh block is re-evaluated as it stands now.
 * ssh_login_record() is where the decision leaves the process (syslog
 * and the optional log file today; an ssh_login receipt in the journal
 * once the journal lands).
 */
#ifndef SSH_WID_LOGIN_H
#define SSH_WID_LOGIN_H

#include <stdint.h>

#include "conf.h"
#include "reason.h"
#include "sshcert.h"

#define SSH_LOGIN_OPTIONS_MAX 1024

typedef struct {
    const char     *user;       /* %u: the account being logged into */
    const ssh_cert *cert;       /* parsed and signature-checked, or NULL */
    uint64_t        now;
} ssh_login_req;

typedef struct {
    /* On allow: print "[options ]principal" as one line. */
    const char *principal;
    char        options[SSH_LOGIN_OPTIONS_MAX];
} ssh_login_result;

wid_reason_t ssh_login_decide(const ssh_conf *conf, const ssh_login_req *req,
                              ssh_login_result *out);

/*
 * Record the decision rc for req.  Returns WID_OK, or an error when a
 * configured log could not be written (the caller then denies).
 */
wid_reason_t ssh_login_record(const ssh_conf *conf, const ssh_login_req *req,
                              wid_reason_t rc);

#endif
