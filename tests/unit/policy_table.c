/*
 * The decision table (see policy_table.h).  Every trusted verifier of the
 * fixture has a key except 'nokey', which shows that a keyless entry
 * never grants its tier.  The keys are public keys generated once for
 * these tests; no test needs their private halves.
 */
#include <string.h>

#include "policy_table.h"

const char policy_fixture[] =
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
    "        key: |\n"
    "          -----BEGIN PUBLIC KEY-----\n"
    "          MCowBQYDK2VwAyEAXi3BcfwQoIqkA61Oe4n3hwPGRYTj6nOxedcp9bXrlsA=\n"
    "          -----END PUBLIC KEY-----\n"
    "      tpm:\n"
    "        schema: s2\n"
    "        verifier: v2\n"
    "        effective_tier: attested\n"
    "        max_evidence_age_seconds: 300\n"
    "        allowed_attestation_types: [tpm_quote]\n"
    "        key: |\n"
    "          -----BEGIN PUBLIC KEY-----\n"
    "          MCowBQYDK2VwAyEAbc1bhman1KIEwQk+G5Nu8e+AFDnOyA1loTZaoWMkhX4=\n"
    "          -----END PUBLIC KEY-----\n"
    "      distrusted:\n"
    "        schema: s3\n"
    "        verifier: v3\n"
    "        effective_tier: none\n"
    "        max_evidence_age_seconds: 100\n"
    "        allowed_attestation_types: [x]\n"
    "        key: |\n"
    "          -----BEGIN PUBLIC KEY-----\n"
    "          MCowBQYDK2VwAyEA1e8mTogRhFAjxCq2erP6L70dDAzv1a0sw0gjFbzLnnY=\n"
    "          -----END PUBLIC KEY-----\n"
    /* No key: matches its evidence, can never grant its tier. */
    "      nokey:\n"
    "        schema: s4\n"
    "        verifier: v4\n"
    "        effective_tier: verified\n"
    "        max_evidence_age_seconds: 300\n"
    "        allowed_attestation_types: [tpm_quote]\n";

const size_t policy_fixture_len = sizeof(policy_fixture) - 1;


/* ---- identities ---- */

const wid_policy_identity policy_ids[] = {
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
    /* Caller bug: consistent parts, but not a SPIFFE ID ("..") */
    [I_DOTDOT] = { "spiffe://prod.example/payments/worker/../admin",
                   "prod.example", "/payments/worker/../admin",
                   WID_CRED_X509_SVID },
};

/* ---- attestation claims (workload_id "=" means: the row's identity) ---- */

typedef struct {
    const char *schema, *verifier, *family;
    int64_t     issued, expires;          /* relative to NOW */
    const char *type, *workload, *verified_by;
    wid_tier_t  claimed;
} att_spec;

static const att_spec atts[] = {
    [A_FAM_OK] = { "s1", "v1", "spiffe", -10, 100, "x509_svid", "=",
                   "spire_fam", WID_TIER_BASIC },
    /* Matches spire_fam (which has a key), but no key verified it. */
    [A_FAM_NOKEY] = { "s1", "v1", "spiffe", -10, 100, "x509_svid", "=",
                      NULL, WID_TIER_VERIFIED },
    /* Verified by a key, but not the key of the entry that matched first:
     * there is no fall-through to spire_any. */
    [A_FAM_OTHERKEY] = { "s1", "v1", "spiffe", -10, 100, "x509_svid", "=",
                         "spire_any", WID_TIER_VERIFIED },
    [A_NOFAM] = { "s1", "v1", NULL, -10, 100, "x509_svid", "=", "spire_any",
                  WID_TIER_VERIFIED },
    [A_OTHERFAM] = { "s1", "v1", "k8s", -10, 100, "x509_svid", "=",
                     "spire_any", WID_TIER_VERIFIED },
    [A_NOFAM_JWT] = { "s1", "v1", NULL, -10, 100, "jwt_svid", "=",
                      "spire_any", WID_TIER_NONE },
    [A_UNTRUSTED] = { "s9", "v1", NULL, -10, 100, "x509_svid", "=", NULL,
                      WID_TIER_VERIFIED },
    [A_TPM_OK] = { "s2", "v2", NULL, -10, 100, "tpm_quote", "=", "tpm",
                   WID_TIER_ATTESTED },
    [A_TPM_WRONGTYPE] = { "s2", "v2", NULL, -10, 100, "x509_svid", "=",
                          "tpm", WID_TIER_ATTESTED },
    [A_TPM_STALE] = { "s2", "v2", NULL, -301, 100, "tpm_quote", "=", "tpm",
                      WID_TIER_ATTESTED },
    [A_TPM_AGE_EDGE] = { "s2", "v2", NULL, -300, 100, "tpm_quote", "=",
                         "tpm", WID_TIER_ATTESTED },
    [A_TPM_EXPIRED] = { "s2", "v2", NULL, -10, 0, "tpm_quote", "=", "tpm",
                        WID_TIER_ATTESTED },
    [A_TPM_FUTURE] = { "s2", "v2", NULL, 1, 100, "tpm_quote", "=", "tpm",
                       WID_TIER_ATTESTED },
    [A_CONFLICT] = { "s2", "v2", NULL, -10, 100, "tpm_quote",
                     "spiffe://prod.example/payments/other", "tpm",
                     WID_TIER_ATTESTED },
    [A_UNBOUND] = { "s2", "v2", NULL, -10, 100, "tpm_quote", NULL, "tpm",
                    WID_TIER_ATTESTED },
    [A_DISTRUSTED] = { "s3", "v3", NULL, -10, 100, "x", "=", "distrusted",
                       WID_TIER_VERIFIED },
    [A_BAD] = { NULL, "v2", NULL, -10, 100, "tpm_quote", "=", NULL,
                WID_TIER_ATTESTED },
    [A_NOFAM_STALE] = { "s1", "v1", NULL, -61, 100, "x509_svid", "=",
                        "spire_any", WID_TIER_VERIFIED },
    /* The review finding: evidence matching a keyless entry, claiming to
     * be verified by it.  Nothing could have checked its signature. */
    [A_NOKEY_SELF] = { "s4", "v4", NULL, -10, 100, "tpm_quote", "=",
                       "nokey", WID_TIER_VERIFIED },
    [A_NOKEY_NULL] = { "s4", "v4", NULL, -10, 100, "tpm_quote", "=", NULL,
                       WID_TIER_VERIFIED },
    /* A keyless entry's evidence bound to someone else: still a conflict. */
    [A_NOKEY_CONFLICT] = { "s4", "v4", NULL, -10, 100, "tpm_quote",
                           "spiffe://prod.example/payments/other", "nokey",
                           WID_TIER_VERIFIED },
    /* Matches tpm, whose key did not verify it (no key did, or another
     * entry's key did). */
    [A_TPM_NOSIG] = { "s2", "v2", NULL, -10, 100, "tpm_quote", "=", NULL,
                      WID_TIER_ATTESTED },
    [A_TPM_OTHERKEY] = { "s2", "v2", NULL, -10, 100, "tpm_quote", "=",
                         "spire_fam", WID_TIER_ATTESTED },
};

/* ---- the table ---- */

const policy_row policy_table[] = {
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
    /* a verifier's tier needs its key: a keyless entry never grants it
     * (the review finding: matching schema and verifier strings was
     * enough), and a keyed entry only when its own key verified */
    DENY("verified_rule", "op", I_WORKER, A_NOKEY_SELF,
         "policy.verifier_without_key", T(NONE),
         "require_runtime_assurance_tier"),
    DENY("basic_rule", "op", I_WORKER, A_NOKEY_NULL,
         "policy.verifier_without_key", T(NONE),
         "require_runtime_assurance_tier"),
    DENY("pay", "transfer", I_SHARD, A_NOKEY_SELF,
         "policy.verifier_without_key", T(NONE),
         "require_runtime_assurance_tier"),
    ALLOW("open", "x", I_WORKER, A_NOKEY_SELF, T(NONE), -1, 0),
    DENY("open", "x", I_WORKER, A_NOKEY_CONFLICT, "policy.identity_conflict",
         T(NONE), "attestation.workload_identity"),
    DENY("pay", "transfer", I_WORKER, A_TPM_NOSIG,
         "policy.verifier_key_mismatch", T(NONE),
         "require_runtime_assurance_tier"),
    DENY("pay", "transfer", I_WORKER, A_TPM_OTHERKEY,
         "policy.verifier_key_mismatch", T(NONE),
         "require_runtime_assurance_tier"),
    ALLOW("open", "x", I_WORKER, A_TPM_NOSIG, T(NONE), -1, 0),
    /* caller bugs are denies, never matches */
    { "pay", "transfer", I_INCONSISTENT, A_FAM_OK, 0, T(NONE), "deny",
      "policy.bad_input", T(NONE), "input", -1, ANY_TTL, 0 },
    { "anyop", "x", I_BAD_KIND, A_NONE, 0, T(NONE), "deny",
      "policy.bad_input", T(NONE), "input", -1, ANY_TTL, 0 },
    { "pay", "transfer", I_DOTDOT, A_FAM_OK, 0, T(NONE), "deny",
      "policy.bad_input", T(NONE), "input", -1, ANY_TTL, 0 },
    { "pay", "transfer", I_WORKER, A_BAD, 0, T(NONE), "deny",
      "policy.bad_input", T(NONE), "input", -1, ANY_TTL, 0 },
    { NULL, "x", I_WORKER, A_NONE, 0, T(NONE), "deny",
      "policy.bad_input", T(NONE), "rule", -1, ANY_TTL, 0 },
    /* the what-if tier with evidence: the evidence (here bound to someone
     * else) would go unchecked, so the input is refused */
    { "open", "x", I_WORKER, A_CONFLICT, 1, T(VERIFIED), "deny",
      "policy.bad_input", T(NONE), "input", -1, ANY_TTL, 0 },
};

const size_t policy_table_rows = sizeof(policy_table) / sizeof(policy_table[0]);

void
policy_table_input(const policy_row *r, wid_policy_input *in,
                   wid_policy_attestation *a)
{
    memset(in, 0, sizeof(*in));
    in->rule = r->rule;
    in->operation = r->op;
    in->now = NOW;
    in->identity = r->id >= 0 ? &policy_ids[r->id] : NULL;
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
