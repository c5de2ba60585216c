/*
 * The evaluator.  A decision reads the compiled policy and the input and
 * writes the caller's result struct: no allocation, no I/O, no clock, no
 * global state, so the same input always gives the same decision.
 *
 * Order of checks (the first failure decides the reason code):
 *   rule exists, rule enabled, input well-formed,
 *   operation (deny beats allow, then allow list or default),
 *   attestation's workload identity vs the authenticated identity,
 *   require_workload_identity (trust domain, path prefix, credential kind),
 *   runtime assurance tier (trusted verifiers decide what evidence is
 *   worth), then max_scope of the tier reached.
 * prefer_workload_identity is evaluated on the way and never denies.
 */
#include <stdlib.h>
#include <string.h>

#include "policy_impl.h"
#include "spiffe_id.h"

static int
wid_op_cmp(const void *key, const void *elem)
{
    return strcmp((const char *) key, *(const char *const *) elem);
}

/* NULL op (none given) is matched only by "*". */
int
wid_opset_has(const wid_opset *s, const char *op)
{
    if (!s->present) {
        return 0;
    }
    if (s->any) {
        return 1;
    }
    if (op == NULL || s->nops == 0) {
        return 0;
    }
    return bsearch(op, s->ops, s->nops, sizeof(*s->ops), wid_op_cmp) != NULL;
}

/*
 * Whole-segment prefix: "/payments/worker" admits "/payments/worker" and
 * "/payments/worker/shard-3", never "/payments/worker-evil".
 */
static int
wid_path_under(const char *path, const char *prefix, size_t plen)
{
    return strncmp(path, prefix, plen) == 0
           && (path[plen] == '\0' || path[plen] == '/');
}

static int
wid_path_matches(const wid_idmatch *m, const char *path)
{
    if (m->nprefixes == 0) {
        return 1;
    }
    for (size_t i = 0; i < m->nprefixes; i++) {
        if (wid_path_under(path, m->prefixes[i], m->prefix_lens[i])) {
            return 1;
        }
    }
    return 0;
}

/* The identity struct must be self-consistent: a caller bug must not
 * turn into a match on a field nobody verified. */
static int
wid_identity_ok(const wid_policy_identity *id)
{
    size_t tdlen;

    if (id->spiffe_id == NULL || id->trust_domain == NULL || id->path == NULL
        || id->trust_domain[0] == '\0'
        || (id->path[0] != '\0' && id->path[0] != '/'))
    {
        return 0;
    }
    if (id->kind != WID_CRED_URI && id->kind != WID_CRED_X509_SVID
        && id->kind != WID_CRED_JWT_SVID)
    {
        return 0;
    }
    /* A valid SPIFFE ID only: a path with "..", "." or empty segments
     * would otherwise match a prefix it does not stay under. */
    if (wid_spiffe_id_parse(id->spiffe_id, strlen(id->spiffe_id), NULL)
        != WID_OK)
    {
        return 0;
    }
    tdlen = strlen(id->trust_domain);
    return strncmp(id->spiffe_id + 9, id->trust_domain, tdlen) == 0
           && strcmp(id->spiffe_id + 9 + tdlen, id->path) == 0;
}

static int
wid_attestation_ok(const wid_policy_attestation *a)
{
    return a->schema != NULL && a->verifier != NULL
           && a->attestation_type != NULL
           && (unsigned) a->claimed_tier <= WID_TIER_VERIFIED;
}

static void
wid_fail(wid_policy_decision *out, wid_reason_t r, const char *what,
         uint32_t line, uint32_t column)
{
    out->verdict = WID_VERDICT_DENY;
    out->reason = r;
    out->failed = what;
    out->failed_line = line;
    out->failed_column = column;
}

/*
 * Match an identity against a require_/prefer_ block.  Returns WID_OK or
 * the first failing reason with the field that failed.
 */
static wid_reason_t
wid_idmatch_first(const wid_idmatch *m, const wid_policy_identity *id,
                  unsigned *field)
{
    if (id == NULL) {
        *field = 0;
        return WID_R_POLICY_IDENTITY_MISSING;
    }
    if (strcmp(id->trust_domain, m->trust_domain) != 0) {
        *field = 1;
        return WID_R_POLICY_TRUST_DOMAIN;
    }
    if (!wid_path_matches(m, id->path)) {
        *field = 2;
        return WID_R_POLICY_PATH_PREFIX;
    }
    if (!(m->kinds & (unsigned) id->kind)) {
        *field = 3;
        return WID_R_POLICY_CREDENTIAL_KIND;
    }
    return WID_OK;
}

static const char *const wid_require_fields[] = {
    "require_workload_identity",
    "require_workload_identity.trust_domain",
    "require_workload_identity.path_prefixes",
    "require_workload_identity.credential_kinds"
};

static const char *const wid_prefer_fields[] = {
    "prefer_workload_identity",
    "prefer_workload_identity.trust_domain",
    "prefer_workload_identity.path_prefixes",
    "prefer_workload_identity.credential_kinds"
};

static void
wid_field_pos(const wid_idmatch *m, unsigned field, uint32_t *line,
              uint32_t *column)
{
    switch (field) {
    case 1:
        *line = m->td_line;
        *column = m->td_column;
        break;
    case 2:
        *line = m->pfx_line;
        *column = m->pfx_column;
        break;
    case 3:
        *line = m->kinds_line;
        *column = m->kinds_column;
        break;
    default:
        *line = m->line;
        *column = m->column;
    }
}

/* Soft match: record every way the identity misses, never deny. */
static void
wid_soft_match(const wid_idmatch *m, const wid_policy_identity *id,
               wid_policy_decision *out)
{
    out->soft_evaluated = 1;
    if (id == NULL) {
        out->notes[out->nnotes].reason = WID_R_POLICY_IDENTITY_MISSING;
        out->notes[out->nnotes++].requirement = wid_prefer_fields[0];
        return;
    }
    if (strcmp(id->trust_domain, m->trust_domain) != 0) {
        out->notes[out->nnotes].reason = WID_R_POLICY_TRUST_DOMAIN;
        out->notes[out->nnotes++].requirement = wid_prefer_fields[1];
    }
    if (!wid_path_matches(m, id->path)) {
        out->notes[out->nnotes].reason = WID_R_POLICY_PATH_PREFIX;
        out->notes[out->nnotes++].requirement = wid_prefer_fields[2];
    }
    if (!(m->kinds & (unsigned) id->kind)) {
        out->notes[out->nnotes].reason = WID_R_POLICY_CREDENTIAL_KIND;
        out->notes[out->nnotes++].requirement = wid_prefer_fields[3];
    }
    out->soft_matched = out->nnotes == 0;
}

/*
 * What the evidence is worth.  The first trusted_verifiers entry whose
 * schema and verifier (and family, if the entry names one) match decides;
 * there is no fall-through to later entries, and no match means the
 * evidence is untrusted: tier none, whatever it claims for itself.  The
 * entry grants its tier only if it has a key and the caller verified the
 * evidence's signature with that key (verified_by names the entry).
 */
static wid_reason_t
wid_evidence_tier(const wid_policy *p, const wid_policy_input *in,
                  wid_tier_t *tier, const char **verifier)
{
    const wid_policy_attestation *a = in->attestation;
    const wid_policy_verifier    *v = NULL;
    int64_t                       age;
    size_t                        i;

    *tier = WID_TIER_NONE;
    *verifier = NULL;

    if (a == NULL) {
        return WID_R_POLICY_ATTESTATION_MISSING;
    }
    if (in->identity == NULL || a->workload_id == NULL) {
        return WID_R_POLICY_EVIDENCE_UNBOUND;
    }
    if (strcmp(a->workload_id, in->identity->spiffe_id) != 0) {
        return WID_R_POLICY_IDENTITY_CONFLICT;
    }
    for (i = 0; i < p->nverifiers; i++) {
        const wid_policy_verifier *e = &p->verifiers[i];

        if (strcmp(e->schema, a->schema) == 0
            && strcmp(e->verifier, a->verifier) == 0
            && (e->verifier_family == NULL
                || (a->verifier_family != NULL
                    && strcmp(e->verifier_family, a->verifier_family) == 0)))
        {
            v = e;
            break;
        }
    }
    if (v == NULL) {
        return WID_R_POLICY_UNTRUSTED_EVIDENCE;
    }
    *verifier = v->name;

    /*
     * Matching schema and verifier strings proves nothing: anyone can
     * write them.  Evidence counts only when the caller checked its
     * signature with the key of exactly this entry.  An entry without a
     * key cannot authenticate anything, whatever verified_by says.
     */
    if (v->key_pem == NULL) {
        return WID_R_POLICY_VERIFIER_NO_KEY;
    }
    if (a->verified_by == NULL || strcmp(a->verified_by, v->name) != 0) {
        return WID_R_POLICY_VERIFIER_KEY;
    }
    for (i = 0; i < v->nattestation_types; i++) {
        if (strcmp(v->attestation_types[i], a->attestation_type) == 0) {
            break;
        }
    }
    if (i == v->nattestation_types) {
        return WID_R_POLICY_ATTESTATION_TYPE;
    }

    /* Window: issued_at <= now < expires_at, and not older than allowed. */
    if (a->issued_at > in->now) {
        return WID_R_POLICY_EVIDENCE_NOT_YET_VALID;
    }
    if (in->now >= a->expires_at) {
        return WID_R_POLICY_EVIDENCE_EXPIRED;
    }
    if (__builtin_sub_overflow(in->now, a->issued_at, &age)
        || age > (int64_t) v->max_evidence_age_seconds)
    {
        return WID_R_POLICY_EVIDENCE_STALE;
    }

    *tier = v->effective_tier;
    return WID_OK;
}

wid_reason_t
wid_policy_decide(const wid_policy *p, const wid_policy_input *in,
                  wid_policy_decision *out)
{
    const wid_policy_rule  *r;
    const wid_tier_profile *prof = NULL;
    wid_reason_t            rc;
    unsigned                field;
    uint32_t                line, column;
    size_t                  i;

    memset(out, 0, sizeof(*out));
    out->verdict = WID_VERDICT_DENY;

    if (p == NULL) {
        wid_fail(out, WID_R_POLICY_BAD_INPUT, "policy", 0, 0);
        return out->reason;
    }
    out->policy_hash = p->hash;
    out->policy_hash_hex = p->hash_hex;
    out->signer = p->signer;

    if (in == NULL || in->rule == NULL) {
        wid_fail(out, WID_R_POLICY_BAD_INPUT, "rule", 0, 0);
        return out->reason;
    }

    r = wid_policy_rule_find(p, in->rule);
    if (r == NULL) {
        wid_fail(out, WID_R_POLICY_UNKNOWN_RULE, "rules", 0, 0);
        return out->reason;
    }
    out->rule = r->name;
    out->required_tier = r->required_tier;

    if (!r->enabled) {
        wid_fail(out, WID_R_POLICY_RULE_DISABLED, "enabled",
                 r->enabled_line, r->enabled_column);
        return out->reason;
    }
    if ((in->identity != NULL && !wid_identity_ok(in->identity))
        || (in->attestation != NULL && !wid_attestation_ok(in->attestation))
        || (in->assume_tier && (unsigned) in->assumed_tier > WID_TIER_VERIFIED)
        /* The what-if ignores evidence: evidence given with it would be
         * skipped unchecked, identity conflict included. */
        || (in->assume_tier && in->attestation != NULL))
    {
        wid_fail(out, WID_R_POLICY_BAD_INPUT, "input", 0, 0);
        return out->reason;
    }

    /*
     * What the evidence is worth is settled first, so that every decision
     * (a deny too) records the effective tier and the verifier for the
     * receipt; it decides below, in its place in the order.
     */
    if (in->assume_tier) {
        out->effective_tier = in->assumed_tier;
        rc = WID_OK;
    } else {
        rc = wid_evidence_tier(p, in, &out->effective_tier, &out->verifier);
        if (in->attestation != NULL) {
            out->evidence_reason = rc;
        }
    }

    /* Deny beats allow. */
    if (wid_opset_has(&r->deny, in->operation)) {
        wid_fail(out, WID_R_POLICY_OPERATION_DENIED, "deny",
                 r->deny.line, r->deny.column);
        return out->reason;
    }
    if (!wid_opset_has(&r->allow, in->operation) && !r->default_allow) {
        if (r->allow.present) {
            wid_fail(out, WID_R_POLICY_OPERATION_NOT_ALLOWED, "allow",
                     r->allow.line, r->allow.column);
        } else {
            wid_fail(out, WID_R_POLICY_OPERATION_NOT_ALLOWED, "default",
                     r->default_line ? r->default_line : r->line,
                     r->default_line ? r->default_column : r->column);
        }
        return out->reason;
    }

    if (r->prefer.present) {
        wid_soft_match(&r->prefer, in->identity, out);
    }

    /* Evidence bound to someone else is a fail-closed condition, whether
     * or not this rule asks for a tier. */
    if (out->evidence_reason == WID_R_POLICY_IDENTITY_CONFLICT) {
        wid_fail(out, WID_R_POLICY_IDENTITY_CONFLICT,
                 "attestation.workload_identity", 0, 0);
        return out->reason;
    }

    if (r->require.present) {
        rc = wid_idmatch_first(&r->require, in->identity, &field);
        if (rc != WID_OK) {
            wid_field_pos(&r->require, field, &line, &column);
            wid_fail(out, rc, wid_require_fields[field], line, column);
            return out->reason;
        }
    }

    /* Runtime assurance. */
    if (out->effective_tier < r->required_tier) {
        if (out->evidence_reason != WID_OK) {
            rc = out->evidence_reason;
        } else if (in->attestation == NULL && !in->assume_tier) {
            rc = WID_R_POLICY_ATTESTATION_MISSING;
        } else {
            rc = WID_R_POLICY_TIER_INSUFFICIENT;
        }
        wid_fail(out, rc, "require_runtime_assurance_tier", r->tier_line,
                 r->tier_column);
        return out->reason;
    }

    /* The highest tier profile reached caps scope and lifetime. */
    for (i = 0; i < p->nprofiles; i++) {
        if (p->profiles[i].minimum <= out->effective_tier) {
            prof = &p->profiles[i];
            break;
        }
    }
    if (r->has_ssh) {
        out->max_ttl_seconds = r->ssh.max_ttl_seconds;
    }
    if (prof != NULL) {
        out->tier_profile = prof->name;
        if (prof->ops.present && !wid_opset_has(&prof->ops, in->operation)) {
            wid_fail(out, WID_R_POLICY_TIER_SCOPE, "max_scope.operations",
                     prof->ops.line, prof->ops.column);
            return out->reason;
        }
        if (prof->ttl_seconds != 0
            && (out->max_ttl_seconds == 0
                || prof->ttl_seconds < out->max_ttl_seconds))
        {
            out->max_ttl_seconds = prof->ttl_seconds;
        }
    }

    out->verdict = WID_VERDICT_ALLOW;
    out->reason = WID_OK;
    return WID_OK;
}
