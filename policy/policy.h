/*
 * The wid policy engine: the seed-000 policy language, loaded from YAML,
 * compiled once into an immutable form, and evaluated per request with no
 * allocation.
 *
 * One engine answers nginx, the SSH helper and `wid policy explain`: all
 * three build a wid_policy_input from plain data and call
 * wid_policy_decide().  The policy knows nothing of how an identity or an
 * attestation was verified; it decides what verified facts are worth.
 *
 * Ownership: a wid_policy is created by a loader and released with
 * wid_policy_free().  Every pointer the engine hands out (rule names,
 * ssh blocks, strings in a decision) points into the compiled policy and
 * lives exactly as long as it.  A compiled policy is never modified, so
 * it may be shared by threads and by forked processes.
 */
#ifndef WID_POLICY_H
#define WID_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "keyfile.h"
#include "policy_hash.h"
#include "reason.h"
#include "credential.h"
#include "verdict.h"

/* Runtime assurance tiers, ordered: a higher value satisfies a lower. */
typedef enum {
    WID_TIER_NONE = 0,
    WID_TIER_BASIC,
    WID_TIER_ATTESTED,
    WID_TIER_VERIFIED
} wid_tier_t;

/* OpenSSH certificate extensions a rule may grant (bits). */
typedef enum {
    WID_SSH_EXT_X11_FORWARDING   = 1u << 0,  /* permit-X11-forwarding */
    WID_SSH_EXT_AGENT_FORWARDING = 1u << 1,  /* permit-agent-forwarding */
    WID_SSH_EXT_PORT_FORWARDING  = 1u << 2,  /* permit-port-forwarding */
    WID_SSH_EXT_PTY              = 1u << 3,  /* permit-pty */
    WID_SSH_EXT_USER_RC          = 1u << 4,  /* permit-user-rc */
    WID_SSH_EXT_NO_TOUCH         = 1u << 5   /* no-touch-required */
} wid_ssh_ext_t;

#define WID_SSH_EXT_COUNT 6

/* Bounds of the language (also enforced by the loader). */
#define WID_POLICY_MAX_BYTES        (1024u * 1024u)
#define WID_POLICY_MAX_RULES        4096
#define WID_POLICY_MAX_LIST         256
#define WID_POLICY_MAX_NAME         128
#define WID_POLICY_MAX_TTL          604800      /* 7 days */
#define WID_POLICY_MAX_EVIDENCE_AGE 2592000     /* 30 days */
#define WID_SSH_MAX_PRINCIPALS      256
#define WID_SSH_MAX_PRINCIPAL_LEN   256
#define WID_SSH_MAX_SOURCES         64

typedef struct wid_policy       wid_policy;
typedef struct wid_policy_rule  wid_policy_rule;

/*
 * An authenticated identity, as verified by the caller.  kind says how:
 * WID_CRED_X509_SVID or WID_CRED_JWT_SVID when wid verified the SVID
 * itself (what nginx and the SSH helper produce), WID_CRED_URI for a bare
 * SPIFFE ID that another trusted component authenticated and handed over
 * (no wid surface produces it today).  A rule without credential_kinds
 * admits all three.  All strings are NUL-terminated; spiffe_id must equal
 * "spiffe://" trust_domain path.
 */
typedef struct {
    const char      *spiffe_id;
    const char      *trust_domain;
    const char      *path;          /* "" or "/seg/seg..." */
    wid_cred_kind_t  kind;
} wid_policy_identity;

/*
 * An attestation claim whose signature the caller has already checked.
 * verified_by names the trusted_verifiers entry whose key verified the
 * signature, or is NULL when no configured key did.  The claim is worth
 * the entry's effective_tier only when verified_by names the first entry
 * that matches it and that entry has a key: a keyless entry never grants
 * a tier (policy.verifier_without_key).  claimed_tier is what the
 * evidence says about itself: it is recorded, never trusted.
 */
typedef struct {
    const char *schema;
    const char *verifier;
    const char *verifier_family;    /* NULL when the claim names none */
    int64_t     issued_at;          /* Unix seconds */
    int64_t     expires_at;         /* Unix seconds */
    const char *attestation_type;
    const char *workload_id;        /* SPIFFE ID the evidence binds */
    wid_tier_t  claimed_tier;
    const char *verified_by;
} wid_policy_attestation;

typedef struct {
    const char                   *rule;
    const char                   *operation;    /* NULL: only "*" admits */
    const wid_policy_identity    *identity;     /* NULL: unauthenticated */
    const wid_policy_attestation *attestation;  /* NULL: no evidence */
    int64_t                       now;          /* Unix seconds */
    /*
     * What-if for `wid policy explain --tier`: skip evidence evaluation
     * and take this effective tier.  Enforcement points never set it.
     * Setting it together with an attestation is refused (bad_input).
     */
    int                           assume_tier;
    wid_tier_t                    assumed_tier;
} wid_policy_input;

/* One way an identity missed prefer_workload_identity. */
typedef struct {
    wid_reason_t  reason;
    const char   *requirement;      /* "prefer_workload_identity.<part>" */
} wid_policy_note;

#define WID_POLICY_MAX_NOTES 4

typedef struct {
    wid_verdict_t    verdict;
    wid_reason_t     reason;        /* WID_OK when allowed */
    const char      *rule;          /* compiled rule name; NULL if unknown */

    /* The requirement that failed: a field path and where it is written. */
    const char      *failed;        /* NULL when allowed */
    uint32_t         failed_line;   /* 0 when not tied to a policy line */
    uint32_t         failed_column;

    /* prefer_workload_identity: evaluated, matched, and why not. */
    int              soft_evaluated;
    int              soft_matched;
    unsigned         nnotes;
    wid_policy_note  notes[WID_POLICY_MAX_NOTES];

    /* Runtime assurance. */
    wid_tier_t       required_tier;
    wid_tier_t       effective_tier;
    const char      *verifier;          /* trusted_verifiers entry, or NULL */
    wid_reason_t     evidence_reason;   /* why evidence counted for nothing */
    const char      *tier_profile;      /* runtime_assurance.tiers entry */
    uint32_t         max_ttl_seconds;   /* credential lifetime cap; 0 none */

    /* Governance: which policy decided. */
    const unsigned char *policy_hash;   /* WID_POLICY_HASH_LEN bytes */
    const char      *policy_hash_hex;
    const char      *signer;            /* "unsigned" or "ed25519:<key id>" */
} wid_policy_decision;

/* The per-rule ssh block, consumed by ssh-wid-helper. Read-only. */
typedef struct {
    const char *const *principals;      /* 1..256, unique */
    size_t             nprincipals;
    uint32_t           max_ttl_seconds; /* 1..WID_POLICY_MAX_TTL */
    const char *const *source_addresses;/* CIDRs as written; 0 = any */
    size_t             nsource_addresses;
    const char        *force_command;   /* NULL when none */
    unsigned           extensions;      /* wid_ssh_ext_t bits */
} wid_policy_ssh;

/* A trusted_verifiers entry, read-only (for the attestation verifier). */
typedef struct {
    const char *name;
    const char *schema;
    const char *verifier;
    const char *verifier_family;        /* NULL: any family */
    wid_tier_t  effective_tier;
    uint32_t    max_evidence_age_seconds;
    const char *const *attestation_types;
    size_t      nattestation_types;
    /* Ed25519 SPKI PEM public key (checked at load), or NULL: a
     * keyless entry matches evidence but never grants its tier. */
    const char *key_pem;
    uint32_t    line, column;
} wid_policy_verifier;

/* ---- diagnostics (loader and lint) ---- */

typedef enum {
    WID_DIAG_ERROR = 0,
    WID_DIAG_WARNING
} wid_diag_severity_t;

#define WID_DIAG_MAX      64
#define WID_DIAG_MSG_LEN  200

typedef struct {
    wid_diag_severity_t severity;
    wid_reason_t        reason;
    uint32_t            line;       /* 1-based; 0 = whole file */
    uint32_t            column;     /* 1-based */
    char                message[WID_DIAG_MSG_LEN];
} wid_diag;

typedef struct {
    unsigned  nerrors;
    unsigned  nwarnings;
    unsigned  ndiags;               /* stored, at most WID_DIAG_MAX */
    unsigned  dropped;              /* not stored because the list was full */
    wid_diag  diags[WID_DIAG_MAX];
} wid_diags;

/* ---- loading ---- */

typedef struct {
    /*
     * When set, the policy loads only if FILE.sig (or sig_path) is a valid
     * wid-policy-signature-v1 by exactly this Ed25519 public key.
     */
    const wid_pubkey *required_signer;
    const char       *sig_path;         /* NULL: "<path>.sig" */
} wid_policy_load_opts;

/*
 * Load a policy file: its bytes are read once, the signature (if
 * required) is checked over exactly those bytes, they are hashed, and
 * the same bytes are parsed.  diags may be NULL; when given it receives
 * every error and warning with line and column.  Returns WID_OK and sets
 * *out, or a reason code and leaves *out NULL.
 */
wid_reason_t wid_policy_load_file(const char *path,
                                  const wid_policy_load_opts *opts,
                                  wid_policy **out, wid_diags *diags);

/* Compile a policy held in memory (unsigned). */
wid_reason_t wid_policy_load_bytes(const unsigned char *bytes, size_t len,
                                   wid_policy **out, wid_diags *diags);

void wid_policy_free(wid_policy *p);

/* ---- deciding ---- */

/*
 * Decide.  Never allocates, never fails: every failure is a deny with a
 * reason code.  Returns out->reason.
 */
wid_reason_t wid_policy_decide(const wid_policy *p,
                               const wid_policy_input *in,
                               wid_policy_decision *out);

/* ---- read-only accessors ---- */

const wid_policy_rule *wid_policy_rule_find(const wid_policy *p,
                                            const char *name);
size_t wid_policy_rule_count(const wid_policy *p);
const wid_policy_rule *wid_policy_rule_at(const wid_policy *p, size_t i);
const char *wid_policy_rule_name(const wid_policy_rule *r);
int wid_policy_rule_enabled(const wid_policy_rule *r);
wid_tier_t wid_policy_rule_required_tier(const wid_policy_rule *r);
/* The rule's ssh block, or NULL when it has none. */
const wid_policy_ssh *wid_policy_rule_ssh(const wid_policy_rule *r);

size_t wid_policy_verifier_count(const wid_policy *p);
const wid_policy_verifier *wid_policy_verifier_at(const wid_policy *p,
                                                  size_t i);

const unsigned char *wid_policy_sha256(const wid_policy *p);
const char *wid_policy_sha256_hex(const wid_policy *p);
const char *wid_policy_signer(const wid_policy *p);

/* ---- names ---- */

const char *wid_tier_name(wid_tier_t t);
/* Returns 0 and sets *out when name is a tier name, else -1. */
int wid_tier_from_name(const char *name, wid_tier_t *out);
/* "permit-pty" etc. for one bit; NULL for anything else. */
const char *wid_ssh_ext_name(unsigned bit);

#endif
