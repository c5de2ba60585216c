/*
 * The login-time decision behind `ssh-wid-helper principals`
 * (sshd's AuthorizedPrincipalsCommand).
 *
 * ssh_login_decide() is the one place a login is judged: CA, validity,
 * KRL, principal, and then, when a policy is configured, the rule the
 * certificate was issued under, re-decided as it stands now (the policy
 * file is read afresh on every run).  ssh_login_record() is where the
 * decision leaves the process: syslog, the optional log file, and an
 * ssh_login receipt in the journal.
 */
#ifndef SSH_WID_LOGIN_H
#define SSH_WID_LOGIN_H

#include <stdint.h>

#include "conf.h"
#include "keyid.h"
#include "policy.h"
#include "reason.h"
#include "sshcert.h"

/* from="<64 CIDRs>" fits. */
#define SSH_LOGIN_OPTIONS_MAX 4096

typedef struct {
    const char     *user;       /* %u: the account being logged into */
    const ssh_cert *cert;       /* parsed and signature-checked, or NULL */
    uint64_t        now;
} ssh_login_req;

typedef struct {
    /* On allow: print "[options ]principal" as one line. */
    const char     *principal;
    char            options[SSH_LOGIN_OPTIONS_MAX];

    /* What the policy re-check established, for the receipt. */
    ssh_wid_key_id  kid;
    int             have_kid;
    int             have_dec;
    wid_tier_t      effective_tier;
    /* The policy in force (configured and loaded): on every receipt. */
    int             have_policy;
    unsigned char   policy_hash[32];
    char            policy_signer[96];
} ssh_login_result;

/* Decide; out is reset first and filled whatever the verdict. */
wid_reason_t ssh_login_decide(const ssh_conf *conf, const ssh_login_req *req,
                              ssh_login_result *out);

/*
 * For a refusal decided before ssh_login_decide could run (the
 * certificate does not parse, sshd's arguments disagree with it): reset
 * out and note the policy in force in it, for the receipt.
 */
void ssh_login_note_policy(const ssh_conf *conf, ssh_login_result *out);

/*
 * Record the decision rc for req (res may be NULL): syslog, the optional
 * log file, and an ssh_login receipt when a journal is configured.
 * Returns WID_OK, or an error when a configured log or the journal could
 * not be written (the caller then denies).
 */
wid_reason_t ssh_login_record(const ssh_conf *conf, const ssh_login_req *req,
                              wid_reason_t rc);
wid_reason_t ssh_login_record_result(const ssh_conf *conf,
                                     const ssh_login_req *req,
                                     const ssh_login_result *res,
                                     wid_reason_t rc,
                                     char receipt[WID_RECEIPT_ID_SIZE]);

#endif
