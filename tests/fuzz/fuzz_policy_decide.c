/*
 * Fuzz target: wid_policy_decide() on fuzzed decision inputs against one
 * fixed compiled policy.  The inputs are what nginx and the SSH helper
 * build from a request: a rule name from configuration, an operation, an
 * identity and an attestation claim made of attacker-influenced strings
 * and times.
 *
 * Beyond "no crash" (ASan+UBSan), each decision is checked against
 * properties the engine promises, so a wrong allow aborts:
 *   - verdict is allow or deny, allow exactly when the reason is ok, and
 *     the return value is the decision's reason;
 *   - the same input decides the same way twice (no hidden state);
 *   - evidence raises the tier only through a trusted_verifiers entry
 *     that has a key and that verified_by names, within its window, for
 *     evidence bound to the authenticated identity, and the tier is that
 *     entry's effective_tier (never the claimed one);
 *   - an allow meets the rule's required tier, and for the rules below an
 *     independent re-check of trust domain, whole-segment path prefix,
 *     credential kind and operation.
 *
 * Input layout (see decode()): a 16-byte header, then one slot per
 * string: 0xff = NULL; 0x80..0xfe = that many (& 0x7f) raw bytes follow;
 * anything else picks a word from the dictionary, so the fuzzer reaches
 * deep paths without guessing names.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy_text[] =
    "rules:\n"
    "  pay:\n"
    "    allow: [transfer, reconcile, shared]\n"
    "    deny: [shared]\n"
    "    require_workload_identity:\n"
    "      trust_domain: prod.example\n"
    "      path_prefixes: [/payments/worker, /payments/reconciler]\n"
    "      credential_kinds: [x509_svid, jwt_svid]\n"
    "    require_runtime_assurance_tier: attested\n"
    "  anyop:\n"
    "    allow: ['*']\n"
    "    deny: [drop]\n"
    "    require_workload_identity:\n"
    "      trust_domain: prod.example\n"
    "  open:\n"
    "    default: allow\n"
    "    prefer_workload_identity:\n"
    "      trust_domain: prod.example\n"
    "      path_prefixes: [/payments]\n"
    "      credential_kinds: [x509_svid]\n"
    "  off:\n"
    "    enabled: false\n"
    "    allow: ['*']\n"
    "  basic_rule:\n"
    "    allow: [op, wipe]\n"
    "    require_runtime_assurance_tier: basic\n"
    "  verified_rule:\n"
    "    allow: [op]\n"
    "    require_runtime_assurance_tier: verified\n"
    "  ssh_rule:\n"
    "    allow: [ssh_issue]\n"
    "    require_runtime_assurance_tier: basic\n"
    "    ssh:\n"
    "      principals: [deploy]\n"
    "      max_ttl_seconds: 600\n"
    "extensions:\n"
    "  runtime_assurance:\n"
    "    tiers:\n"
    "      b:\n"
    "        minimum_attestation_tier: basic\n"
    "        max_scope:\n"
    "          operations: [op, ssh_issue, transfer]\n"
    "          ttl_seconds: 120\n"
    "      v:\n"
    "        minimum_attestation_tier: verified\n"
    "    trusted_verifiers:\n"
    "      fam:\n"
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
    "      any:\n"
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
    "      nokey:\n"
    "        schema: s4\n"
    "        verifier: v4\n"
    "        effective_tier: verified\n"
    "        max_evidence_age_seconds: 300\n"
    "        allowed_attestation_types: [tpm_quote]\n";

static const char *const dict[] = {
    /* rules */
    "pay", "anyop", "open", "off", "basic_rule", "verified_rule",
    "ssh_rule", "nope", "",
    /* operations */
    "transfer", "reconcile", "shared", "drop", "op", "wipe", "ssh_issue",
    "Transfer", "*",
    /* identities */
    "spiffe://prod.example/payments/worker",
    "spiffe://prod.example/payments/worker/shard-3",
    "spiffe://prod.example/payments/worker-evil",
    "spiffe://prod.example/payments/reconciler",
    "spiffe://prod.example", "spiffe://prod.example.evil/payments/worker",
    "spiffe://evil.example/payments/worker",
    "prod.example", "prod.example.evil", "evil.example",
    "/payments/worker", "/payments/worker/", "/payments", "/payments/worker-evil",
    /* evidence */
    "s1", "s2", "s4", "v1", "v2", "v4", "spiffe", "k8s", "x509_svid",
    "jwt_svid", "tpm_quote",
    /* trusted verifier names */
    "fam", "any", "tpm", "nokey",
};

#define NDICT (sizeof(dict) / sizeof(dict[0]))
#define NSLOTS 11
#define SLOT_MAX 127
#define BASE_NOW 1750000000

enum {
    F_IDENTITY = 1u << 0,   /* an identity is present */
    F_ATTEST   = 1u << 1,   /* an attestation is present */
    F_ASSUME   = 1u << 2,   /* explain's what-if tier */
    F_DERIVE   = 1u << 3,   /* trust domain and path from the SPIFFE ID */
    F_BIND     = 1u << 4,   /* workload_id = the identity's SPIFFE ID */
    F_HONEST   = 1u << 5,   /* verified_by = first entry matching */
    F_EXTREME  = 1u << 6    /* times at the ends of int64 */
};

typedef struct {
    char        buf[NSLOTS][SLOT_MAX + 1];
    char        td[SLOT_MAX + 1];
    char        path[SLOT_MAX + 1];
    const char *s[NSLOTS];
} strings;

static const wid_policy *policy;

static int32_t
get_i32(const uint8_t *p)
{
    uint32_t v = (uint32_t) p[0] | (uint32_t) p[1] << 8
                 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
    int32_t  r;

    memcpy(&r, &v, sizeof(r));
    return r;
}

static void
decode_strings(const uint8_t *data, size_t size, strings *st)
{
    size_t off = 0;

    for (size_t i = 0; i < NSLOTS; i++) {
        uint8_t sel;

        st->s[i] = NULL;
        if (off >= size) {
            continue;
        }
        sel = data[off++];
        if (sel == 0xff) {
            continue;
        }
        if (sel & 0x80) {
            size_t len = sel & 0x7f;

            if (len > size - off) {
                len = size - off;
            }
            memcpy(st->buf[i], data + off, len);
            st->buf[i][len] = '\0';
            off += len;
            st->s[i] = st->buf[i];
        } else {
            st->s[i] = dict[sel % NDICT];
        }
    }
}

/* "spiffe://td/path" -> td, path, as an honest caller splits it. */
static void
derive(const char *id, strings *st)
{
    const char *rest, *slash;
    size_t      tdlen;

    st->td[0] = '\0';
    st->path[0] = '\0';
    if (id == NULL || strncmp(id, "spiffe://", 9) != 0) {
        return;
    }
    rest = id + 9;
    slash = strchr(rest, '/');
    tdlen = slash ? (size_t) (slash - rest) : strlen(rest);
    if (tdlen > SLOT_MAX) {
        return;
    }
    memcpy(st->td, rest, tdlen);
    st->td[tdlen] = '\0';
    if (slash != NULL && strlen(slash) <= SLOT_MAX) {
        strcpy(st->path, slash);
    }
}

static void
check(int ok)
{
    if (!ok) {
        abort();
    }
}

/* NULL, or a string that can be read to its end. */
static void
readable(const char *s)
{
    if (s != NULL) {
        check(strlen(s) < 4096);
    }
}

static int
under(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);

    return strncmp(path, prefix, n) == 0
           && (path[n] == '\0' || path[n] == '/');
}

static const wid_policy_verifier *
verifier_named(const char *name)
{
    for (size_t i = 0; i < wid_policy_verifier_count(policy); i++) {
        const wid_policy_verifier *v = wid_policy_verifier_at(policy, i);

        if (strcmp(v->name, name) == 0) {
            return v;
        }
    }
    return NULL;
}

static const wid_policy_verifier *
first_match(const wid_policy_attestation *a)
{
    if (a->schema == NULL || a->verifier == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < wid_policy_verifier_count(policy); i++) {
        const wid_policy_verifier *v = wid_policy_verifier_at(policy, i);

        if (strcmp(v->schema, a->schema) == 0
            && strcmp(v->verifier, a->verifier) == 0
            && (v->verifier_family == NULL
                || (a->verifier_family != NULL
                    && strcmp(v->verifier_family, a->verifier_family) == 0)))
        {
            return v;
        }
    }
    return NULL;
}

/* Independent re-check of what an allow of these rules requires. */
static void
check_allow(const wid_policy_input *in, const wid_policy_decision *d)
{
    const wid_policy_identity *id = in->identity;
    const wid_policy_rule     *r = wid_policy_rule_find(policy, in->rule);

    check(r != NULL && wid_policy_rule_enabled(r));
    check(d->effective_tier >= wid_policy_rule_required_tier(r));
    check(d->failed == NULL);
    if (in->attestation != NULL && in->attestation->workload_id != NULL
        && id != NULL)
    {
        check(strcmp(in->attestation->workload_id, id->spiffe_id) == 0);
    }
    if (strcmp(in->rule, "pay") == 0) {
        check(id != NULL && strcmp(id->trust_domain, "prod.example") == 0);
        check(under(id->path, "/payments/worker")
              || under(id->path, "/payments/reconciler"));
        check(id->kind == WID_CRED_X509_SVID || id->kind == WID_CRED_JWT_SVID);
        check(in->operation != NULL
              && (strcmp(in->operation, "transfer") == 0
                  || strcmp(in->operation, "reconcile") == 0));
        check(d->effective_tier >= WID_TIER_ATTESTED);
    } else if (strcmp(in->rule, "anyop") == 0) {
        check(id != NULL && strcmp(id->trust_domain, "prod.example") == 0);
        check(in->operation == NULL || strcmp(in->operation, "drop") != 0);
    } else if (strcmp(in->rule, "off") == 0) {
        check(0);
    }
}

static void
check_decision(const wid_policy_input *in, const wid_policy_decision *d,
               wid_reason_t rc)
{
    const wid_policy_attestation *a = in->attestation;

    check(rc == d->reason);
    check(d->verdict == WID_VERDICT_ALLOW || d->verdict == WID_VERDICT_DENY);
    check((d->verdict == WID_VERDICT_ALLOW) == (d->reason == WID_OK));
    check(d->nnotes <= WID_POLICY_MAX_NOTES);
    check((unsigned) d->effective_tier <= WID_TIER_VERIFIED);
    /* Every string handed out is readable (ASan checks the bounds). */
    check(strlen(wid_reason_code(d->reason)) > 0);
    check(strlen(wid_reason_code(d->evidence_reason)) > 0);
    readable(d->rule);
    readable(d->failed);
    readable(d->verifier);
    readable(d->tier_profile);
    for (unsigned i = 0; i < d->nnotes; i++) {
        check(strlen(d->notes[i].requirement) > 0);
    }

    /* A tier from evidence: only through a keyed entry that verified it. */
    if (!in->assume_tier && d->effective_tier > WID_TIER_NONE) {
        const wid_policy_verifier *v;
        int64_t                    age;

        check(a != NULL && in->identity != NULL && d->verifier != NULL);
        v = verifier_named(d->verifier);
        check(v != NULL && v == first_match(a));
        check(v->key_pem != NULL);
        check(a->verified_by != NULL && strcmp(a->verified_by, v->name) == 0);
        check(a->workload_id != NULL
              && strcmp(a->workload_id, in->identity->spiffe_id) == 0);
        check(a->issued_at <= in->now && in->now < a->expires_at);
        check(!__builtin_sub_overflow(in->now, a->issued_at, &age)
              && age <= (int64_t) v->max_evidence_age_seconds);
        check(d->effective_tier == v->effective_tier);
        check(d->evidence_reason == WID_OK);
    }
    if (d->verdict == WID_VERDICT_ALLOW) {
        check_allow(in, d);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static wid_policy     *compiled;
    static strings         st;
    wid_policy_identity    id;
    wid_policy_attestation a;
    wid_policy_input       in;
    wid_policy_decision    d1, d2;
    wid_reason_t           rc;
    uint8_t                flags;
    int64_t                now;

    if (compiled == NULL) {
        wid_diags diags;

        if (wid_policy_load_bytes((const unsigned char *) policy_text,
                                  sizeof(policy_text) - 1, &compiled,
                                  &diags) != WID_OK)
        {
            abort();
        }
        policy = compiled;
    }
    if (size < 16) {
        return 0;
    }
    flags = data[0];
    decode_strings(data + 16, size - 16, &st);

    memset(&in, 0, sizeof(in));
    now = (int64_t) BASE_NOW + get_i32(data + 4);
    in.now = now;
    in.rule = st.s[0];
    in.operation = st.s[1];

    if (flags & F_IDENTITY) {
        memset(&id, 0, sizeof(id));
        id.spiffe_id = st.s[2];
        if (flags & F_DERIVE) {
            derive(st.s[2], &st);
            id.trust_domain = st.td;
            id.path = st.path;
        } else {
            id.trust_domain = st.s[3];
            id.path = st.s[4];
        }
        id.kind = (wid_cred_kind_t) data[1];
        in.identity = &id;
    }
    if (flags & F_ATTEST) {
        memset(&a, 0, sizeof(a));
        a.schema = st.s[5];
        a.verifier = st.s[6];
        a.verifier_family = st.s[7];
        a.attestation_type = st.s[8];
        a.workload_id = st.s[9];
        a.verified_by = st.s[10];
        a.claimed_tier = (wid_tier_t) data[3];
        if (flags & F_EXTREME) {
            a.issued_at = INT64_MIN + (uint8_t) data[8];
            a.expires_at = INT64_MAX - (uint8_t) data[12];
        } else {
            a.issued_at = now + get_i32(data + 8);
            a.expires_at = now + get_i32(data + 12);
        }
        if ((flags & F_BIND) && in.identity != NULL) {
            a.workload_id = in.identity->spiffe_id;
        }
        if (flags & F_HONEST) {
            const wid_policy_verifier *v = first_match(&a);

            a.verified_by = v ? v->name : NULL;
        }
        in.attestation = &a;
    }
    if (flags & F_ASSUME) {
        in.assume_tier = 1;
        in.assumed_tier = (wid_tier_t) data[2];
    }

    rc = wid_policy_decide(policy, &in, &d1);
    check_decision(&in, &d1, rc);
    (void) wid_policy_decide(policy, &in, &d2);
    check(memcmp(&d1, &d2, sizeof(d1)) == 0);
    return 0;
}
