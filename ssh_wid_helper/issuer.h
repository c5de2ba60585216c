/*
 * Evidence-gated issuance: the one place a certificate request is
 * judged, shared by `issue --config` (one request) and `serve` (a
 * daemon).
 *
 *   evidence (JWT-SVID for our audience, or X.509-SVID + proof of
 *   possession over the SSH key) -> policy decision for (rule,
 *   "ssh_issue") -> the rule's ssh block (principals, TTL, source-address,
 *   force-command, extensions) -> every certificate check -> ssh_issue
 *   receipt appended -> sign -> issued-certificates index -> return.
 *
 * Every request, allowed or denied (a malformed one too), leaves exactly
 * one ssh_issue receipt, written before anything is returned.  Nothing
 * is signed unless every check passed and the receipt was appended.
 */
#ifndef SSH_WID_ISSUER_H
#define SSH_WID_ISSUER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "bundle.h"
#include "conf.h"
#include "journal.h"
#include "policy.h"
#include "receipt.h"
#include "sshcert.h"

#define SSH_REQUEST_MAX   (64u * 1024u)   /* bytes of one request */
/*
 * Bytes of one answer from the daemon, which is what its clients accept.
 * An answer is written after the certificate was signed, recorded and
 * indexed: a client that refused it would strand a certificate.  So this
 * bounds what the daemon can produce (cmd_serve.c checks it against the
 * certificate field limits at compile time): 256 principals of 256 bytes
 * travel twice (in the certificate, base64, and as a list).
 */
#define SSH_ANSWER_MAX    (1024u * 1024u)
#define SSH_JWT_LEEWAY    30              /* seconds of clock skew */

typedef struct {
    const ssh_conf  *conf;
    wid_policy      *policy;          /* NULL while policy_rc says why */
    wid_reason_t     policy_rc;
    struct stat      policy_st, sig_st;
    wid_pubkey       signer;
    int              have_signer;
    wid_bundle_set  *bundles;
    unsigned char   *ca_sk;           /* sodium_malloc'd, no access at rest */
    unsigned char    ca_pk[SSH_ED25519_PK_LEN];
    wid_journal     *journal;
    /* The policy's trusted_verifiers keys (parsed once per policy load)
     * and, for each, the index of its entry. */
    wid_pubkey      *vkeys;
    size_t          *vkey_entry;
    size_t           nvkeys;
    /* journal_fsync interval: lines appended to the index since its
     * last fsync (made with the journal's, from ssh_issuer_tick). */
    int              index_unsynced;
} ssh_issuer;

/* A parsed request.  Absent members are NULL / 0. */
typedef struct {
    unsigned char   pk[SSH_ED25519_PK_LEN];
    int             have_pk;
    char           *rule;
    char          **principals;
    size_t          nprincipals;
    int             have_principals;
    uint64_t        ttl;
    int             have_ttl;
    char          **extensions;
    size_t          nextensions;
    int             have_extensions;
    char           *jwt;
    char           *x509;
    char           *proof;
    char           *attestation;      /* signed attestation result (JWS) */
} ssh_issue_req;

typedef struct {
    wid_verdict_t   verdict;
    wid_reason_t    reason;
    char            receipt[WID_RECEIPT_ID_SIZE];   /* "" if none written */
    char           *cert_line;        /* allow: "ssh-ed25519-cert-v01... \n" */
    char           *key_id;
    char          **principals;       /* allow: what the certificate holds */
    size_t          nprincipals;
    uint64_t        serial, valid_after, valid_before;
} ssh_issue_result;

/*
 * Load the policy, bundles, CA key (guarded memory) and open the journal
 * as writer "ssh-<role>-<pid>-<ms>".  Any failure is fatal (exit 2): a
 * helper that cannot record or decide does not issue.
 */
wid_reason_t ssh_issuer_open(ssh_issuer *is, const ssh_conf *conf,
                             const char *role, char *err, size_t errlen);
/* Final checkpoint, close the journal, wipe the CA key. */
wid_reason_t ssh_issuer_close(ssh_issuer *is);
/* Journal timers (checkpoints, fsync) and bundle refresh. */
wid_reason_t ssh_issuer_tick(ssh_issuer *is);

/* Parse a JSON request; ssh.request_malformed (or a finer code). */
wid_reason_t ssh_issue_req_parse(const char *buf, size_t len,
                                 ssh_issue_req *req);
void ssh_issue_req_free(ssh_issue_req *req);

/*
 * Decide and, on allow, issue.  req may be NULL when parsing failed with
 * parse_rc (the deny is still recorded).  peer describes the requester
 * for the receipt.  Returns res->reason; a journal failure is returned
 * as such and nothing is issued.
 */
wid_reason_t ssh_issuer_handle(ssh_issuer *is, const ssh_issue_req *req,
                               wid_reason_t parse_rc, const char *peer,
                               ssh_issue_result *res);
void ssh_issue_result_free(ssh_issue_result *res);

/*
 * A request carrying an ssh_login receipt from `principals`
 * ({"version":1,"login_receipt":{JSON form of a receipt}}): is this one?
 * *obj receives the parsed request (the caller frees it) when it is.
 */
int ssh_login_submission(const char *buf, size_t len, struct json_t **obj);

/*
 * Append a submitted ssh_login receipt to this daemon's journal: only
 * from a peer whose uid is on allow_login_uid (ssh.peer_not_allowed;
 * peer_rc is the peer attestation's result), only version 1 and one
 * receipt of surface ssh_login (ssh.request_malformed, receipt.*).  The
 * receipt's request.peer is set to the submitting peer.  Journal errors
 * are returned as such (the daemon stops).
 */
wid_reason_t ssh_issuer_login_receipt(ssh_issuer *is, struct json_t *obj,
                                      wid_reason_t peer_rc, uint64_t peer_uid,
                                      const char *peer,
                                      char id[WID_RECEIPT_ID_SIZE]);

/* The JSON response (a new jansson object; NULL on allocation failure). */
struct json_t *ssh_issue_result_json(const ssh_issue_result *res);

/* Open the journal for this process (also used by `principals`). */
wid_reason_t ssh_journal_open(const ssh_conf *conf, const char *role,
                              const unsigned char ca_pk[SSH_ED25519_PK_LEN],
                              wid_journal **out, char *err, size_t errlen);

uint64_t ssh_now_ms(void);

#endif
