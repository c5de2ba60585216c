/*
 * The compiled policy: private to policy/.  Everything lives in one
 * arena owned by struct wid_policy and is never written after
 * compilation.  Lookup structures (sorted rule and operation arrays)
 * are built here so that a decision is a handful of binary searches.
 */
#ifndef WID_POLICY_IMPL_H
#define WID_POLICY_IMPL_H

#include "policy.h"
#include "policy_arena.h"

/* A sorted set of operation names; "*" is kept as a flag. */
typedef struct {
    const char *const *ops;
    size_t             nops;
    int                any;
    int                present;
    uint32_t           line, column;
} wid_opset;

typedef struct {
    int                present;
    uint32_t           line, column;
    const char        *trust_domain;
    uint32_t           td_line, td_column;
    const char *const *prefixes;
    const size_t      *prefix_lens;
    size_t             nprefixes;
    uint32_t           pfx_line, pfx_column;
    unsigned           kinds;           /* wid_cred_kind_t bits */
    uint32_t           kinds_line, kinds_column;
} wid_idmatch;

struct wid_policy_rule {
    const char     *name;
    uint32_t        line, column;
    int             enabled;
    uint32_t        enabled_line, enabled_column;
    int             default_allow;
    uint32_t        default_line, default_column;
    wid_opset       allow;
    wid_opset       deny;
    wid_idmatch     require;
    wid_idmatch     prefer;
    wid_tier_t      required_tier;
    uint32_t        tier_line, tier_column;
    int             has_ssh;
    wid_policy_ssh  ssh;
};

typedef struct {
    const char *name;
    wid_tier_t  minimum;
    wid_opset   ops;            /* max_scope.operations */
    uint32_t    ttl_seconds;    /* max_scope.ttl_seconds; 0 = none */
    uint32_t    line, column;
} wid_tier_profile;

struct wid_policy {
    wid_arena               arena;
    wid_policy_rule        *rules;      /* sorted by name */
    size_t                  nrules;
    wid_policy_verifier    *verifiers;  /* in document order */
    size_t                  nverifiers;
    wid_tier_profile       *profiles;   /* sorted by minimum, highest first */
    size_t                  nprofiles;
    unsigned char           hash[WID_POLICY_HASH_LEN];
    char                    hash_hex[2 * WID_POLICY_HASH_LEN + 1];
    char                    signer[64];
};

/* Compile parsed bytes into *out (hash and signer filled by caller). */
wid_reason_t wid_policy_compile(const unsigned char *bytes, size_t len,
                                wid_policy **out, wid_diags *diags);

/* Set the SHA-256 identity of the exact bytes the policy came from. */
void wid_policy_set_identity(wid_policy *p, const unsigned char *bytes,
                             size_t len);

int wid_opset_has(const wid_opset *s, const char *op);

#endif
