/*
 * The decision table: one compiled policy, many inputs, each with the
 * verdict, reason code, effective tier and failed requirement a user
 * would see.  The same rows are then replayed through
 * `wid policy explain --json` to show the CLI answers with the very
 * engine nginx and the SSH helper call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "policy.h"

#define NOW 1750000000

static const char fixture[] =
    "version: 1\n"
    "rules:\n"
    "  pay:\n"
    "    enabled: true\n"
    "    default: block\n"
    "    allow: [transfer, reconcile, shared]\n"
    "    deny: [shared, drain]\n"
    "    require_workload_identity:\n"
    "      scheme: spiffe\n"
    "      trust_domain: prod.example\n"
    "      path_prefixes: [/payments/worker, /payments/reconciler]\n"
    "      credential_kinds: [x509_svid, jwt_svid]\n"
    "    require_runtime_assurance_tier: attested\n"
    "  anyop:\n"
    "    allow: ['*']\n"
    "    deny: [drop]\n"
    "    require_workload_identity:\n"
    "      trust_domain: prod.example\n"
    "  denyall:\n"
    "    allow: [read]\n"
    "    deny: ['*']\n"
    "  open:\n"
    "    default: allow\n"
    "    deny: [delete]\n"
    "  closed:\n"
    "    default: block\n"
    "  off:\n"
    "    enabled: false\n"
    "    allow: ['*']\n"
    "  soft:\n"
    "    allow: [read]\n"
    "    prefer_workload_identity:\n"
    "      trust_domain: prod.example\n"
    "      path_prefixes: [/payments]\n"
    "      credential_kinds: [x509_svid]\n"
    "  svc:\n"
    "    allow: [get]\n"
    "    require_workload_identity:\n"
    "      trust_domain: prod.example\n"
    "      path_prefixes: [/svc]\n"
    "  basic_rule:\n"
    "    allow: [op, wipe]\n"
    "    require_runtime_assurance_tier: basic\n"
    "  verified_rule:\n"
    "    allow: [op]\n"
    "    require_runtime_assurance_tier: verified\n"
    "  none_rule:\n"
    "    allow: [op]\n"
    "    require_runtime_assurance_tier: none\n"
    "  ssh_rule:\n"
    "    allow: [ssh_issue]\n"
    "    require_runtime_assurance_tier: basic\n"
    "    ssh:\n"
    "      principals: [deploy]\n"
    "      max_ttl_seconds: 600\n"
    "  ssh_plain:\n"
    "    allow: [ssh_issue]\n"
    "    ssh:\n"
    "      principals: [deploy]\n"
    "      max_ttl_seconds: 900\n"
    "extensions:\n"
    "  runtime_assurance:\n"
    "    tiers:\n"
    "      basic_scope:\n"
    "        minimum_attestation_tier: basic\n"
    "        max_scope:\n"
    "          operations: [op, read, get, ssh_issue]\n"
    "          ttl_seconds: 120\n"
    "      attested_scope:\n"
    "        minimum_attestation_tier: attested\n"
    "      verified_scope:\n"
    "        minimum_attestation_tier: verified\n"
    "        max_scope:\n"
    "          ttl_seconds: 60\n"
    "    trusted_verifiers:\n"
    "      spire_fam:\n"
    "        schema: s1\n"
    "        verifier: v1\n"
    "        verifier_family: spiffe\n"
    "        effective_tier: verified\n"
    "        max_evidence_age_seconds: 120\n"
    "        allowed_attestation_types: [x509_svid]\n"
    "        key: |\n"
    "          -----BEGIN PUBLIC KEY-----\n"
    "          MCowBQYDK2VwAyEAfL6wEndbhX9MTJsmcFv7xQzvP+PWQDw20rezSZ5nJms=\n"
    "          -----END PUBLIC KEY-----\n"
    "      spire_any:\n"
    "        schema: s1\n"
    "        verifier: v1\n"
    "        effective_tier: basic\n"
    "        max_evidence_age_seconds: 60\n"
    "        allowed_attestation_types: [x509_svid, jwt_svid]\n"
    "      tpm:\n"
    "        schema: s2\n"
    "        verifier: v2\n"
    "        effective_tier: attested\n"
    "        max_evidence_age_seconds: 300\n"
    "        allowed_attestation_types: [tpm_quote]\n"
    "      distrusted:\n"
    "        schema: s3\n"
    "        verifier: v3\n"
    "        effective_tier: none\n"
    "        max_evidence_age_seconds: 100\n"
    "        allowed_attestation_types: [x]\n";

/* ---- identities ---- */

enum {
    I_NONE = -1, I_WORKER, I_SHARD, I_EVIL, I_RECON_JWT, I_WORKER_URI,
    I_OTHER_TD, I_TD_SUFFIX, I_PARENT, I_SVC_URI, I_SVC_X509, I_TD_ONLY,
    I_INCONSISTENT, I_BAD_KIND, I_PAY_X509, I_PAY_JWT
};

static const wid_policy_identity ids[] = {
    [I_WORKER] = { "spiffe://prod.example/payments/worker", "prod.example",
                   "/payments/worker", WID_CRED_X509_SVID },
    [I_SHARD] = { "spiffe://prod.example/payments/worker/shard-3",
                  "prod.example", "/payments/worker/shard-3",
                  WID_CRED_X509_SVID },
    [I_EVIL] = { "spiffe://prod.example/payments/worker-evil",
                 "prod.example", "/payments/worker-evil",
                 WID_CRED_X509_SVID },
    [I_RECON_JWT] = { "spiffe://prod.example/payments/reconciler",
                      "prod.example", "/payments/reconciler",
                      WID_CRED_JWT_SVID },
    [I_WORKER_URI] = { "spiffe://prod.example/payments/worker",
                       "prod.example", "/payments/worker", WID_CRED_URI },
    [I_OTHER_TD] = { "spiffe://evil.example/payments/worker", "evil.example",
                     "/payments/worker", WID_CRED_X509_SVID },
    [I_TD_SUFFIX] = { "spiffe://prod.example.evil/payments/worker",
                      "prod.example.evil", "/payments/worker",
                      WID_CRED_X509_SVID },
    [I_PARENT] = { "spiffe://prod.example/payments", "prod.example",
                   "/payments", WID_CRED_X509_SVID },
    [I_SVC_URI] = { "spiffe://prod.example/svc/a", "prod.example", "/svc/a",
                    WID_CRED_URI },
    [I_SVC_X509] = { "spiffe://prod.example/svcx", "prod.example", "/svcx",
                     WID_CRED_X509_SVID },
    [I_TD_ONLY] = { "spiffe://prod.example", "prod.example", "",
                    WID_CRED_X509_SVID },
    /* Caller bug: the ID says one thing, the parts another. */
    [I_INCONSISTENT] = { "spiffe://evil.example/payments/worker",
                         "prod.example", "/payments/worker",
                         WID_CRED_X509_SVID },
    [I_BAD_KIND] = { "spiffe://prod.example/payments/worker", "prod.example",
                     "/payments/worker", (wid_cred_kind_t) 3 },
    [I_PAY_X509] = { "spiffe://prod.example/payments/api", "prod.example",
                     "/payments/api", WID_CRED_X509_SVID },
    [I_PAY_JWT] = { "spiffe://prod.example/payments/api", "prod.example",
                    "/payments/api", WID_CRED_JWT_SVID },
};

/* ---- attestation claims (workload_id "=" means: the row's identity) ---- */

enum {
    A_NONE = -1, A_FAM_OK, A_FAM_NOKEY, A_FAM_OTHERKEY, A_NOFAM, A_OTHERFAM,
    A_NOFAM_JWT, A_UNTRUSTED, A_TPM_OK, A_TPM_WRONGTYPE, A_TPM_STALE,
    A_TPM_AGE_EDGE, A_TPM_EXPIRED, A_TPM_FUTURE, A_CONFLICT, A_UNBOUND,
    A_DISTRUSTED, A_BAD, A_NOFAM_STALE
};

typedef struct {
    const char *schema, *verifier, *family;
    int64_t     issued, expires;          /* relative to NOW */
    const char *type, *workload, *verified_by;
    wid_tier_t  claimed;
} att_spec;

static const att_spec atts[] = {
    [A_FAM_OK] = { "s1", "v1", "spiffe", -10, 100, "x509_svid", "=",
                   "spire_fam", WID_TIER_BASIC },
    [A_FAM_NOKEY] = { "s1", "v1", "spiffe", -10, 100, "x509_svid", "=",
                      NULL, WID_TIER_VERIFIED },
    /* Verified by a key, but not the key of the entry that matched first:
     * there is no fall-through to spire_any. */
    [A_FAM_OTHERKEY] = { "s1", "v1", "spiffe", -10, 100, "x509_svid", "=",
                         "spire_any", WID_TIER_VERIFIED },
    [A_NOFAM] = { "s1", "v1", NULL, -10, 100, "x509_svid", "=", NULL,
                  WID_TIER_VERIFIED },
    [A_OTHERFAM] = { "s1", "v1", "k8s", -10, 100, "x509_svid", "=", NULL,
                     WID_TIER_VERIFIED },
    [A_NOFAM_JWT] = { "s1", "v1", NULL, -10, 100, "jwt_svid", "=", NULL,
                      WID_TIER_NONE },
    [A_UNTRUSTED] = { "s9", "v1", NULL, -10, 100, "x509_svid", "=", NULL,
                      WID_TIER_VERIFIED },
    [A_TPM_OK] = { "s2", "v2", NULL, -10, 100, "tpm_quote", "=", NULL,
                   WID_TIER_ATTESTED },
    [A_TPM_WRONGTYPE] = { "s2", "v2", NULL, -10, 100, "x509_svid", "=",
                          NULL, WID_TIER_ATTESTED },
    [A_TPM_STALE] = { "s2", "v2", NULL, -301, 100, "tpm_quote", "=", NULL,
                      WID_TIER_ATTESTED },
    [A_TPM_AGE_EDGE] = { "s2", "v2", NULL, -300, 100, "tpm_quote", "=",
                         NULL, WID_TIER_ATTESTED },
    [A_TPM_EXPIRED] = { "s2", "v2", NULL, -10, 0, "tpm_quote", "=", NULL,
                        WID_TIER_ATTESTED },
    [A_TPM_FUTURE] = { "s2", "v2", NULL, 1, 100, "tpm_quote", "=", NULL,
                       WID_TIER_ATTESTED },
    [A_CONFLICT] = { "s2", "v2", NULL, -10, 100, "tpm_quote",
                     "spiffe://prod.example/payments/other", NULL,
                     WID_TIER_ATTESTED },
    [A_UNBOUND] = { "s2", "v2", NULL, -10, 100, "tpm_quote", NULL, NULL,
                    WID_TIER_ATTESTED },
    [A_DISTRUSTED] = { "s3", "v3", NULL, -10, 100, "x", "=", NULL,
                       WID_TIER_VERIFIED },
    [A_BAD] = { NULL, "v2", NULL, -10, 100, "tpm_quote", "=", NULL,
                WID_TIER_ATTESTED },
    [A_NOFAM_STALE] = { "s1", "v1", NULL, -61, 100, "x509_svid", "=", NULL,
                        WID_TIER_VERIFIED },
};

/* ---- the table ---- */

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
} row;

#define ALLOW(r, o, i, a, e, n, ttl) \
    { r, o, i, a, 0, T(NONE), "allow", "ok", e, NULL, n, ttl, 1 }
#define DENY(r, o, i, a, code, e, f) \
    { r, o, i, a, 0, T(NONE), "deny", code, e, f, -1, ANY_TTL, 1 }
#define WHATIF(r, o, i, t, v, code, f) \
    { r, o, i, A_NONE, 1, t, v, code, t, f, -1, ANY_TTL, 1 }

static const row table[] = {
    /* 0: the seed rule, full match with verified evidence */
    ALLOW("pay", "transfer", I_WORKER, A_FAM_OK, T(VERIFIED), -1, 60),
    /* whole-segment prefixes */
    ALLOW("pay", "transfer", I_SHARD, A_FAM_OK, T(VERIFIED), -1, 60),
    DENY("pay", "transfer", I_EVIL, A_FAM_OK, "policy.path_prefix",
         T(VERIFIED),
         "require_workload_identity.path_prefixes"),
    DENY("pay", "transfer", I_PARENT, A_FAM_OK, "policy.path_prefix",
         T(VERIFIED), "require_workload_identity.path_prefixes"),
    DENY("pay", "transfer", I_TD_ONLY, A_NONE, "policy.path_prefix",
         T(NONE), "require_workload_identity.path_prefixes"),
    ALLOW("pay", "reconcile", I_RECON_JWT, A_TPM_OK, T(ATTESTED), -1, 0),
    /* trust domain exact */
    DENY("pay", "transfer", I_OTHER_TD, A_NONE, "policy.trust_domain_mismatch",
         T(NONE), "require_workload_identity.trust_domain"),
    DENY("pay", "transfer", I_TD_SUFFIX, A_NONE,
         "policy.trust_domain_mismatch", T(NONE),
         "require_workload_identity.trust_domain"),
    /* credential kinds listed: uri is not among them */
    DENY("pay", "transfer", I_WORKER_URI, A_NONE, "policy.credential_kind",
         T(NONE), "require_workload_identity.credential_kinds"),
    /* identity missing */
    DENY("pay", "transfer", I_NONE, A_NONE, "policy.identity_missing",
         T(NONE), "require_workload_identity"),
    /* 10: operations: deny beats allow, unknown op, no op */
    DENY("pay", "shared", I_WORKER, A_FAM_OK, "policy.operation_denied",
         T(VERIFIED), "deny"),
    DENY("pay", "drain", I_WORKER, A_FAM_OK, "policy.operation_denied",
         T(VERIFIED), "deny"),
    DENY("pay", "refund", I_WORKER, A_FAM_OK, "policy.operation_not_allowed",
         T(VERIFIED), "allow"),
    DENY("pay", NULL, I_WORKER, A_FAM_OK, "policy.operation_not_allowed",
         T(VERIFIED), "allow"),
    DENY("pay", "Transfer", I_WORKER, A_FAM_OK,
         "policy.operation_not_allowed", T(VERIFIED), "allow"),
    /* '*' means any operation; deny still wins */
    ALLOW("anyop", "anything", I_WORKER, A_NONE, T(NONE), -1, 0),
    ALLOW("anyop", NULL, I_WORKER, A_NONE, T(NONE), -1, 0),
    DENY("anyop", "drop", I_WORKER, A_NONE, "policy.operation_denied",
         T(NONE), "deny"),
    DENY("denyall", "read", I_WORKER, A_NONE, "policy.operation_denied",
         T(NONE), "deny"),
    /* omitted path_prefixes and credential_kinds: any of them */
    ALLOW("anyop", "x", I_WORKER_URI, A_NONE, T(NONE), -1, 0),
    /* 20 */
    ALLOW("anyop", "x", I_TD_ONLY, A_NONE, T(NONE), -1, 0),
    DENY("anyop", "x", I_OTHER_TD, A_NONE, "policy.trust_domain_mismatch",
         T(NONE), "require_workload_identity.trust_domain"),
    ALLOW("svc", "get", I_SVC_URI, A_NONE, T(NONE), -1, 0),
    DENY("svc", "get", I_SVC_X509, A_NONE, "policy.path_prefix", T(NONE),
         "require_workload_identity.path_prefixes"),
    /* default allow / block */
    ALLOW("open", "whatever", I_NONE, A_NONE, T(NONE), -1, 0),
    ALLOW("open", NULL, I_NONE, A_NONE, T(NONE), -1, 0),
    DENY("open", "delete", I_NONE, A_NONE, "policy.operation_denied",
         T(NONE), "deny"),
    DENY("closed", "read", I_WORKER, A_NONE, "policy.operation_not_allowed",
         T(NONE), "default"),
    /* disabled and unknown rules */
    DENY("off", "read", I_WORKER, A_NONE, "policy.rule_disabled", T(NONE),
         "enabled"),
    DENY("nope", "read", I_WORKER, A_NONE, "policy.unknown_rule", T(NONE),
         "rules"),
    /* 30 */
    DENY("", "read", I_WORKER, A_NONE, "policy.unknown_rule", T(NONE),
         "rules"),
    /* soft match: never denies, notes every miss */
    ALLOW("soft", "read", I_WORKER, A_NONE, T(NONE), 0, 0),
    ALLOW("soft", "read", I_RECON_JWT, A_NONE, T(NONE), 1, 0),
    ALLOW("soft", "read", I_OTHER_TD, A_NONE, T(NONE), 1, 0),
    ALLOW("soft", "read", I_TD_SUFFIX, A_NONE, T(NONE), 1, 0),
    ALLOW("soft", "read", I_SVC_URI, A_NONE, T(NONE), 2, 0),
    ALLOW("soft", "read", I_NONE, A_NONE, T(NONE), 1, 0),
    ALLOW("soft", "read", I_PAY_X509, A_NONE, T(NONE), 0, 0),
    ALLOW("soft", "read", I_PAY_JWT, A_NONE, T(NONE), 1, 0),
    DENY("soft", "write", I_WORKER, A_NONE, "policy.operation_not_allowed",
         T(NONE), "allow"),
    /* 40: tiers: none < basic < attested < verified */
    DENY("pay", "transfer", I_WORKER, A_NONE, "policy.attestation_missing",
         T(NONE), "require_runtime_assurance_tier"),
    WHATIF("pay", "transfer", I_WORKER, T(BASIC), "deny",
           "policy.tier_insufficient", "require_runtime_assurance_tier"),
    WHATIF("pay", "transfer", I_WORKER, T(ATTESTED), "allow", "ok", NULL),
    WHATIF("pay", "transfer", I_WORKER, T(VERIFIED), "allow", "ok", NULL),
    WHATIF("verified_rule", "op", I_WORKER, T(ATTESTED), "deny",
           "policy.tier_insufficient", "require_runtime_assurance_tier"),
    WHATIF("basic_rule", "op", I_NONE, T(BASIC), "allow", "ok", NULL),
    WHATIF("basic_rule", "op", I_NONE, T(NONE), "deny",
           "policy.tier_insufficient", "require_runtime_assurance_tier"),
    ALLOW("none_rule", "op", I_NONE, A_NONE, T(NONE), -1, 0),
    /* trusted verifiers: first match decides, with its key, family,
     * types and age; the claimed tier is never used */
    ALLOW("verified_rule", "op", I_WORKER, A_FAM_OK, T(VERIFIED), -1, 60),
    DENY("verified_rule", "op", I_WORKER, A_FAM_NOKEY,
         "policy.verifier_key_mismatch", T(NONE),
         "require_runtime_assurance_tier"),
    /* 50 */
    DENY("verified_rule", "op", I_WORKER, A_FAM_OTHERKEY,
         "policy.verifier_key_mismatch", T(NONE),
         "require_runtime_assurance_tier"),
    DENY("verified_rule", "op", I_WORKER, A_NOFAM, "policy.tier_insufficient",
         T(BASIC), "require_runtime_assurance_tier"),
    ALLOW("basic_rule", "op", I_WORKER, A_NOFAM, T(BASIC), -1, 120),
    ALLOW("basic_rule", "op", I_WORKER, A_OTHERFAM, T(BASIC), -1, 120),
    ALLOW("basic_rule", "op", I_WORKER, A_NOFAM_JWT, T(BASIC), -1, 120),
    DENY("basic_rule", "op", I_WORKER, A_NOFAM_STALE, "policy.evidence_stale",
         T(NONE), "require_runtime_assurance_tier"),
    DENY("basic_rule", "op", I_WORKER, A_UNTRUSTED,
         "policy.untrusted_evidence", T(NONE),
         "require_runtime_assurance_tier"),
    DENY("pay", "transfer", I_WORKER, A_TPM_WRONGTYPE,
         "policy.attestation_type_not_allowed", T(NONE),
         "require_runtime_assurance_tier"),
    DENY("pay", "transfer", I_WORKER, A_TPM_STALE, "policy.evidence_stale",
         T(NONE), "require_runtime_assurance_tier"),
    ALLOW("pay", "transfer", I_WORKER, A_TPM_AGE_EDGE, T(ATTESTED), -1, 0),
    /* 60 */
    DENY("pay", "transfer", I_WORKER, A_TPM_EXPIRED, "policy.evidence_expired",
         T(NONE), "require_runtime_assurance_tier"),
    DENY("pay", "transfer", I_WORKER, A_TPM_FUTURE,
         "policy.evidence_not_yet_valid", T(NONE),
         "require_runtime_assurance_tier"),
    DENY("basic_rule", "op", I_WORKER, A_DISTRUSTED,
         "policy.tier_insufficient", T(NONE),
         "require_runtime_assurance_tier"),
    /* identity conflict denies even where no tier is required */
    DENY("pay", "transfer", I_WORKER, A_CONFLICT, "policy.identity_conflict",
         T(NONE), "attestation.workload_identity"),
    DENY("open", "x", I_WORKER, A_CONFLICT, "policy.identity_conflict",
         T(NONE), "attestation.workload_identity"),
    DENY("pay", "transfer", I_WORKER, A_UNBOUND, "policy.evidence_unbound",
         T(NONE), "require_runtime_assurance_tier"),
    DENY("basic_rule", "op", I_NONE, A_TPM_OK, "policy.evidence_unbound",
         T(NONE), "require_runtime_assurance_tier"),
    /* untrusted evidence where no tier is needed: allowed, tier none */
    ALLOW("open", "x", I_WORKER, A_UNTRUSTED, T(NONE), -1, 0),
    /* max_scope of the highest tier profile reached */
    DENY("basic_rule", "wipe", I_WORKER, A_NOFAM, "policy.tier_scope_exceeded",
         T(BASIC), "max_scope.operations"),
    ALLOW("basic_rule", "wipe", I_WORKER, A_TPM_OK, T(ATTESTED), -1, 0),
    /* 70: credential lifetime: ssh max_ttl capped by the tier profile */
    ALLOW("ssh_rule", "ssh_issue", I_WORKER, A_NOFAM, T(BASIC), -1, 120),
    ALLOW("ssh_rule", "ssh_issue", I_WORKER, A_TPM_OK, T(ATTESTED), -1, 600),
    ALLOW("ssh_rule", "ssh_issue", I_WORKER, A_FAM_OK, T(VERIFIED), -1, 60),
    ALLOW("ssh_plain", "ssh_issue", I_WORKER, A_NONE, T(NONE), -1, 900),
    /* caller bugs are denies, never matches */
    { "pay", "transfer", I_INCONSISTENT, A_FAM_OK, 0, T(NONE), "deny",
      "policy.bad_input", T(NONE), "input", -1, ANY_TTL, 0 },
    { "anyop", "x", I_BAD_KIND, A_NONE, 0, T(NONE), "deny",
      "policy.bad_input", T(NONE), "input", -1, ANY_TTL, 0 },
    { "pay", "transfer", I_WORKER, A_BAD, 0, T(NONE), "deny",
      "policy.bad_input", T(NONE), "input", -1, ANY_TTL, 0 },
    { NULL, "x", I_WORKER, A_NONE, 0, T(NONE), "deny",
      "policy.bad_input", T(NONE), "rule", -1, ANY_TTL, 0 },
};

#define NROWS (sizeof(table) / sizeof(table[0]))

static wid_policy *policy;

static int
setup(void **state)
{
    wid_diags d;

    (void) state;
    if (wid_policy_load_bytes((const unsigned char *) fixture,
                              sizeof(fixture) - 1, &policy, &d) != WID_OK)
    {
        for (unsigned i = 0; i < d.ndiags; i++) {
            fprintf(stderr, "fixture:%u:%u: %s\n", d.diags[i].line,
                    d.diags[i].column, d.diags[i].message);
        }
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void) state;
    wid_policy_free(policy);
    return 0;
}

static void
build_input(const row *r, wid_policy_input *in, wid_policy_attestation *a)
{
    memset(in, 0, sizeof(*in));
    in->rule = r->rule;
    in->operation = r->op;
    in->now = NOW;
    in->identity = r->id >= 0 ? &ids[r->id] : NULL;
    in->assume_tier = r->assume;
    in->assumed_tier = r->assumed;
    if (r->att >= 0) {
        const att_spec *s = &atts[r->att];

        memset(a, 0, sizeof(*a));
        a->schema = s->schema;
        a->verifier = s->verifier;
        a->verifier_family = s->family;
        a->issued_at = NOW + s->issued;
        a->expires_at = NOW + s->expires;
        a->attestation_type = s->type;
        a->workload_id = s->workload && strcmp(s->workload, "=") == 0
                         ? (in->identity ? in->identity->spiffe_id : NULL)
                         : s->workload;
        a->verified_by = s->verified_by;
        a->claimed_tier = s->claimed;
        in->attestation = a;
    }
}

static void
check_row(size_t i, const row *r, const wid_policy_decision *d)
{
    const char *verdict = wid_verdict_name(d->verdict);
    const char *reason = wid_reason_code(d->reason);

    if (strcmp(verdict, r->verdict) != 0 || strcmp(reason, r->reason) != 0) {
        fail_msg("row %zu (%s/%s): got %s %s, want %s %s", i,
                 r->rule ? r->rule : "(null)", r->op ? r->op : "(null)",
                 verdict, reason, r->verdict, r->reason);
    }
    if (d->effective_tier != r->eff) {
        fail_msg("row %zu: effective tier %s, want %s", i,
                 wid_tier_name(d->effective_tier), wid_tier_name(r->eff));
    }
    if ((r->failed == NULL) != (d->failed == NULL)
        || (r->failed && strcmp(r->failed, d->failed) != 0))
    {
        fail_msg("row %zu: failed '%s', want '%s'", i,
                 d->failed ? d->failed : "(none)",
                 r->failed ? r->failed : "(none)");
    }
    if (r->nnotes >= 0) {
        if (!d->soft_evaluated || (int) d->nnotes != r->nnotes
            || d->soft_matched != (r->nnotes == 0))
        {
            fail_msg("row %zu: soft match %d/%u notes, want %d", i,
                     d->soft_evaluated, d->nnotes, r->nnotes);
        }
    } else if (strcmp(r->verdict, "allow") == 0 && d->soft_evaluated) {
        fail_msg("row %zu: unexpected soft match", i);
    }
    if (r->ttl != ANY_TTL && d->max_ttl_seconds != r->ttl) {
        fail_msg("row %zu: max ttl %u, want %u", i, d->max_ttl_seconds,
                 r->ttl);
    }
    /* Every decision names the policy that made it. */
    assert_non_null(d->policy_hash);
    assert_string_equal(d->policy_hash_hex, wid_policy_sha256_hex(policy));
    assert_string_equal(d->signer, "unsigned");
    if (d->verdict == WID_VERDICT_DENY) {
        assert_int_not_equal(d->reason, WID_OK);
    }
}

static void
test_table(void **state)
{
    wid_policy_input       in;
    wid_policy_attestation a;
    wid_policy_decision    d;

    (void) state;
    assert_true(NROWS >= 60);
    for (size_t i = 0; i < NROWS; i++) {
        wid_reason_t rc;

        build_input(&table[i], &in, &a);
        rc = wid_policy_decide(policy, &in, &d);
        assert_int_equal(rc, d.reason);
        check_row(i, &table[i], &d);
    }
}

/* Every decision reason code of the policy area appears in the table. */
static void
test_table_covers_every_decision_code(void **state)
{
    static const char *const codes[] = {
        "policy.bad_input", "policy.unknown_rule", "policy.rule_disabled",
        "policy.operation_denied", "policy.operation_not_allowed",
        "policy.identity_missing", "policy.trust_domain_mismatch",
        "policy.path_prefix", "policy.credential_kind",
        "policy.identity_conflict", "policy.attestation_missing",
        "policy.evidence_unbound", "policy.untrusted_evidence",
        "policy.verifier_key_mismatch", "policy.attestation_type_not_allowed",
        "policy.evidence_not_yet_valid", "policy.evidence_expired",
        "policy.evidence_stale", "policy.tier_insufficient",
        "policy.tier_scope_exceeded",
    };

    (void) state;
    for (size_t c = 0; c < sizeof(codes) / sizeof(codes[0]); c++) {
        size_t i;

        assert_int_not_equal(wid_reason_from_code(codes[c]), WID_R__COUNT);
        for (i = 0; i < NROWS; i++) {
            if (strcmp(table[i].reason, codes[c]) == 0) {
                break;
            }
        }
        if (i == NROWS) {
            fail_msg("no row triggers %s", codes[c]);
        }
    }
}

/* Soft-match notes say which part missed. */
static void
test_soft_notes(void **state)
{
    wid_policy_input       in;
    wid_policy_attestation a;
    wid_policy_decision    d;
    row r = ALLOW("soft", "read", I_SVC_URI, A_NONE, T(NONE), 2, 0);

    (void) state;
    build_input(&r, &in, &a);
    wid_policy_decide(policy, &in, &d);
    assert_int_equal(d.verdict, WID_VERDICT_ALLOW);
    assert_int_equal(d.nnotes, 2);
    assert_int_equal(d.notes[0].reason, WID_R_POLICY_PATH_PREFIX);
    assert_string_equal(d.notes[0].requirement,
                        "prefer_workload_identity.path_prefixes");
    assert_int_equal(d.notes[1].reason, WID_R_POLICY_CREDENTIAL_KIND);
    assert_string_equal(d.notes[1].requirement,
                        "prefer_workload_identity.credential_kinds");
}

/* A deny names where the failed requirement is written. */
static void
test_failed_position(void **state)
{
    wid_policy_input       in;
    wid_policy_attestation a;
    wid_policy_decision    d;
    row r = DENY("pay", "transfer", I_EVIL, A_NONE, "policy.path_prefix",
                 T(NONE), "require_workload_identity.path_prefixes");

    (void) state;
    build_input(&r, &in, &a);
    wid_policy_decide(policy, &in, &d);
    assert_int_equal(d.failed_line, 11);        /* path_prefixes: [...] */
    assert_int_equal(d.failed_column, 22);
    assert_string_equal(d.rule, "pay");
    assert_int_equal(d.required_tier, WID_TIER_ATTESTED);
}

/* Trusted verifier reported on the decision; evidence problems recorded
 * even where they did not decide. */
static void
test_evidence_recorded(void **state)
{
    wid_policy_input       in;
    wid_policy_attestation a;
    wid_policy_decision    d;
    row ok = ALLOW("pay", "transfer", I_WORKER, A_FAM_OK, T(VERIFIED), -1, 60);
    row un = ALLOW("open", "x", I_WORKER, A_UNTRUSTED, T(NONE), -1, 0);

    (void) state;
    build_input(&ok, &in, &a);
    wid_policy_decide(policy, &in, &d);
    assert_string_equal(d.verifier, "spire_fam");
    assert_string_equal(d.tier_profile, "verified_scope");
    assert_int_equal(d.evidence_reason, WID_OK);

    build_input(&un, &in, &a);
    wid_policy_decide(policy, &in, &d);
    assert_null(d.verifier);
    assert_int_equal(d.evidence_reason, WID_R_POLICY_UNTRUSTED_EVIDENCE);
    assert_null(d.tier_profile);
}

/* Same input, same answer: no hidden state between decisions. */
static void
test_deterministic(void **state)
{
    wid_policy_input       in;
    wid_policy_attestation a;
    wid_policy_decision    d1, d2;

    (void) state;
    for (size_t i = 0; i < NROWS; i++) {
        build_input(&table[i], &in, &a);
        wid_policy_decide(policy, &in, &d1);
        for (size_t j = 0; j < NROWS; j += 7) {
            wid_policy_input       in2;
            wid_policy_attestation a2;

            build_input(&table[j], &in2, &a2);
            wid_policy_decide(policy, &in2, &d2);
        }
        wid_policy_decide(policy, &in, &d2);
        assert_memory_equal(&d1, &d2, sizeof(d1));
    }
}

static void
test_null_policy_denies(void **state)
{
    wid_policy_input    in;
    wid_policy_decision d;

    (void) state;
    memset(&in, 0, sizeof(in));
    in.rule = "pay";
    assert_int_equal(wid_policy_decide(NULL, &in, &d), WID_R_POLICY_BAD_INPUT);
    assert_int_equal(d.verdict, WID_VERDICT_DENY);
    assert_int_equal(wid_policy_decide(policy, NULL, &d),
                     WID_R_POLICY_BAD_INPUT);
}

/* ---- the CLI answers with the same engine ---- */

static char *
write_temp(const char *dir, const char *name, const char *text)
{
    char *path = NULL;
    FILE *f;

    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void
test_cli_explain_matches_library(void **state)
{
    const char            *wid = getenv("WID_BIN");
    char                   dir[] = "/tmp/wid-policy-XXXXXX";
    char                  *pol, *att = NULL, *cmd;
    wid_policy_input       in;
    wid_policy_attestation a;
    wid_policy_decision    d;
    size_t                 replayed = 0;

    (void) state;
    if (wid == NULL) {
        skip();
    }
    assert_non_null(mkdtemp(dir));
    pol = write_temp(dir, "p.yaml", fixture);

    for (size_t i = 0; i < NROWS; i++) {
        const row    *r = &table[i];
        char          args[1024] = "";
        size_t        off = 0;
        FILE         *p;
        json_t       *j;
        json_error_t  err;
        int           status;

        if (!r->cli || r->rule == NULL || r->rule[0] == '\0') {
            continue;
        }
        build_input(r, &in, &a);
        wid_policy_decide(policy, &in, &d);

        off += (size_t) snprintf(args + off, sizeof(args) - off,
                                 " --rule %s --now %d", r->rule, NOW);
        if (r->op != NULL) {
            off += (size_t) snprintf(args + off, sizeof(args) - off,
                                     " --operation %s", r->op);
        }
        if (in.identity != NULL) {
            off += (size_t) snprintf(args + off, sizeof(args) - off,
                                     " --spiffe-id %s --credential %s",
                                     in.identity->spiffe_id,
                                     wid_cred_kind_name(in.identity->kind));
        }
        if (r->assume) {
            off += (size_t) snprintf(args + off, sizeof(args) - off,
                                     " --tier %s", wid_tier_name(r->assumed));
        }
        if (in.attestation != NULL) {
            json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s}",
                                  "schema", a.schema, "verifier", a.verifier,
                                  "issued_at", (json_int_t) a.issued_at,
                                  "expires_at", (json_int_t) a.expires_at,
                                  "attestation_type", a.attestation_type,
                                  "tier", wid_tier_name(a.claimed_tier));
            char   *text;

            if (a.verifier_family) {
                json_object_set_new(o, "verifier_family",
                                    json_string(a.verifier_family));
            }
            if (a.workload_id) {
                json_object_set_new(o, "workload_identity",
                                    json_string(a.workload_id));
            }
            if (a.verified_by) {
                json_object_set_new(o, "verified_by",
                                    json_string(a.verified_by));
            }
            text = json_dumps(o, 0);
            json_decref(o);
            free(att);
            att = write_temp(dir, "att.json", text);
            free(text);
            off += (size_t) snprintf(args + off, sizeof(args) - off,
                                     " --attestation %s", att);
        }
        assert_true(off < sizeof(args));

        assert_true(asprintf(&cmd, "%s policy explain %s%s --json 2>/dev/null",
                             wid, pol, args) > 0);
        p = popen(cmd, "r");
        assert_non_null(p);
        j = json_loadf(p, 0, &err);
        status = pclose(p);
        if (j == NULL) {
            fail_msg("row %zu: no JSON from: %s", i, cmd);
        }
        if (strcmp(json_string_value(json_object_get(j, "verdict")),
                   wid_verdict_name(d.verdict)) != 0
            || strcmp(json_string_value(json_object_get(j, "reason")),
                      wid_reason_code(d.reason)) != 0)
        {
            fail_msg("row %zu: CLI says %s %s, library %s %s (%s)", i,
                     json_string_value(json_object_get(j, "verdict")),
                     json_string_value(json_object_get(j, "reason")),
                     wid_verdict_name(d.verdict), wid_reason_code(d.reason),
                     cmd);
        }
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(j, "tier"), "effective")),
                            wid_tier_name(d.effective_tier));
        assert_int_equal(WEXITSTATUS(status),
                         d.verdict == WID_VERDICT_ALLOW ? 0 : 1);
        json_decref(j);
        free(cmd);
        replayed++;
    }
    assert_true(replayed >= 60);
    unlink(pol);
    if (att) {
        unlink(att);
    }
    free(pol);
    free(att);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_table_covers_every_decision_code),
        cmocka_unit_test(test_soft_notes),
        cmocka_unit_test(test_failed_position),
        cmocka_unit_test(test_evidence_recorded),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_null_policy_denies),
        cmocka_unit_test(test_cli_explain_matches_library),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
