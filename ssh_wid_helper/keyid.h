/*
 * The key id of a certificate wid issued from evidence:
 *
 *   <SPIFFE ID> receipt=<receipt id> rule=<rule> cred=<kind> tier=<tier>
 *
 * e.g. "spiffe://example.org/ci/deploy receipt=wr1-0123...ef
 * rule=ssh_deploy cred=jwt_svid tier=none" (one line).  sshd logs the key
 * id on every login, so a login leads to its issuance receipt.  The CA
 * signs it, so at login the helper can trust it to name the identity,
 * the rule it was issued under, how the identity was proven and the
 * runtime assurance tier established at issuance, and re-decide with
 * the policy as it stands now.
 */
#ifndef SSH_WID_KEYID_H
#define SSH_WID_KEYID_H

#include <stddef.h>

#include "credential.h"
#include "policy.h"
#include "receipt.h"
#include "spiffe_id.h"

#define SSH_RULE_NAME_MAX 128

typedef struct {
    wid_spiffe_id    id;
    char             receipt[WID_RECEIPT_ID_SIZE];
    char             rule[SSH_RULE_NAME_MAX + 1];
    wid_cred_kind_t  kind;
    wid_tier_t       tier;
} ssh_wid_key_id;

/* A receipt id of the right shape, all zeros: a placeholder of the final
 * length, so a key id can be checked before the receipt exists. */
#define SSH_RECEIPT_ID_PLACEHOLDER "wr1-00000000000000000000000000000000"

/* Returns 0, or -1 when out is too small. */
int ssh_key_id_format(char *out, size_t outlen, const char *spiffe_id,
                      const char *receipt, const char *rule,
                      wid_cred_kind_t kind, wid_tier_t tier);

/* Strict: exactly these five fields in this order; ssh.key_id_foreign
 * otherwise. */
wid_reason_t ssh_key_id_parse(const char *key_id, ssh_wid_key_id *out);

/* [A-Za-z0-9_.-]{1,128}, the policy's rule-name grammar. */
int ssh_rule_name_ok(const char *s, size_t len);

#endif
