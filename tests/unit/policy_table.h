/*
 * The policy decision table shared by the unit tests: one fixture policy,
 * identities, attestation claims and rows with the decision a user would
 * see.  test_policy_decide checks every row (and replays it through the
 * CLI); test_policy_noalloc runs every row with the allocator trapped.
 */
#ifndef WID_TEST_POLICY_TABLE_H
#define WID_TEST_POLICY_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#define NOW 1750000000

/* Identities (index into policy_ids; I_NONE: unauthenticated). */
enum {
    I_NONE = -1, I_WORKER, I_SHARD, I_EVIL, I_RECON_JWT, I_WORKER_URI,
    I_OTHER_TD, I_TD_SUFFIX, I_PARENT, I_SVC_URI, I_SVC_X509, I_TD_ONLY,
    I_INCONSISTENT, I_BAD_KIND, I_PAY_X509, I_PAY_JWT, I_DOTDOT
};

/* Attestation claims (A_NONE: no evidence). */
enum {
    A_NONE = -1, A_FAM_OK, A_FAM_NOKEY, A_FAM_OTHERKEY, A_NOFAM, A_OTHERFAM,
    A_NOFAM_JWT, A_UNTRUSTED, A_TPM_OK, A_TPM_WRONGTYPE, A_TPM_STALE,
    A_TPM_AGE_EDGE, A_TPM_EXPIRED, A_TPM_FUTURE, A_CONFLICT, A_UNBOUND,
    A_DISTRUSTED, A_BAD, A_NOFAM_STALE, A_NOKEY_SELF, A_NOKEY_NULL,
    A_NOKEY_CONFLICT, A_TPM_NOSIG, A_TPM_OTHERKEY
};

#define T(x) (WID_TIER_##x)
#define ANY_TTL UINT32_MAX

typedef struct {
    const char    *rule;
    const char    *op;
    int            id, att;
    int            assume;
    wid_tier_t     assumed;
    const char    *verdict;
    const char    *reason;
    wid_tier_t     eff;
    const char    *failed;      /* NULL: none expected */
    int            nnotes;      /* -1: prefer not evaluated */
    uint32_t       ttl;         /* ANY_TTL: not checked */
    int            cli;         /* replayable through the CLI */
} policy_row;

#define ALLOW(r, o, i, a, e, n, ttl) \
    { r, o, i, a, 0, T(NONE), "allow", "ok", e, NULL, n, ttl, 1 }
#define DENY(r, o, i, a, code, e, f) \
    { r, o, i, a, 0, T(NONE), "deny", code, e, f, -1, ANY_TTL, 1 }
#define WHATIF(r, o, i, t, v, code, f) \
    { r, o, i, A_NONE, 1, t, v, code, t, f, -1, ANY_TTL, 1 }

extern const char                policy_fixture[];
extern const size_t              policy_fixture_len;
extern const wid_policy_identity policy_ids[];
extern const policy_row          policy_table[];
extern const size_t              policy_table_rows;

/* Fill *in (and *a when the row has evidence) for row r. */
void policy_table_input(const policy_row *r, wid_policy_input *in,
                        wid_policy_attestation *a);

#endif
