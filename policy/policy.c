/*
 * Loading entry points, accessors and names.  See policy.h.
 */
#include <stdlib.h>
#include <string.h>

#include "policy_impl.h"
#include "policy_yaml.h"

static const char *const wid_tier_names[] = {
    "none", "basic", "attested", "verified"
};

const char *
wid_tier_name(wid_tier_t t)
{
    if ((unsigned) t > WID_TIER_VERIFIED) {
        return "invalid";
    }
    return wid_tier_names[t];
}

int
wid_tier_from_name(const char *name, wid_tier_t *out)
{
    for (unsigned i = 0; i <= WID_TIER_VERIFIED; i++) {
        if (strcmp(name, wid_tier_names[i]) == 0) {
            *out = (wid_tier_t) i;
            return 0;
        }
    }
    return -1;
}

/* Hash the exact bytes: this is the policy's identity. */
void
wid_policy_set_identity(wid_policy *p, const unsigned char *bytes, size_t len)
{
    static const char hex[] = "0123456789abcdef";

    wid_policy_hash(bytes, len, p->hash);
    for (size_t i = 0; i < WID_POLICY_HASH_LEN; i++) {
        p->hash_hex[2 * i] = hex[p->hash[i] >> 4];
        p->hash_hex[2 * i + 1] = hex[p->hash[i] & 0x0f];
    }
    p->hash_hex[2 * WID_POLICY_HASH_LEN] = '\0';
}

wid_reason_t
wid_policy_load_bytes(const unsigned char *bytes, size_t len,
                      wid_policy **out, wid_diags *diags)
{
    wid_reason_t rc;

    if (diags != NULL) {
        memset(diags, 0, sizeof(*diags));
    }
    *out = NULL;
    if (bytes == NULL) {
        return WID_R_POLICY_UNREADABLE;
    }
    rc = wid_policy_compile(bytes, len, out, diags);
    if (rc == WID_OK) {
        wid_policy_set_identity(*out, bytes, len);
    }
    return rc;
}

void
wid_policy_free(wid_policy *p)
{
    if (p != NULL) {
        wid_arena_free(&p->arena);
        free(p);
    }
}

/* ---- accessors ---- */

static int
wid_rule_cmp_key(const void *key, const void *elem)
{
    return strcmp((const char *) key, ((const wid_policy_rule *) elem)->name);
}

const wid_policy_rule *
wid_policy_rule_find(const wid_policy *p, const char *name)
{
    if (p == NULL || name == NULL || p->nrules == 0) {
        return NULL;
    }
    return bsearch(name, p->rules, p->nrules, sizeof(*p->rules),
                   wid_rule_cmp_key);
}

size_t
wid_policy_rule_count(const wid_policy *p)
{
    return p ? p->nrules : 0;
}

const wid_policy_rule *
wid_policy_rule_at(const wid_policy *p, size_t i)
{
    return p && i < p->nrules ? &p->rules[i] : NULL;
}

const char *
wid_policy_rule_name(const wid_policy_rule *r)
{
    return r->name;
}

int
wid_policy_rule_enabled(const wid_policy_rule *r)
{
    return r->enabled;
}

wid_tier_t
wid_policy_rule_required_tier(const wid_policy_rule *r)
{
    return r->required_tier;
}

const wid_policy_ssh *
wid_policy_rule_ssh(const wid_policy_rule *r)
{
    return r != NULL && r->has_ssh ? &r->ssh : NULL;
}

size_t
wid_policy_verifier_count(const wid_policy *p)
{
    return p ? p->nverifiers : 0;
}

const wid_policy_verifier *
wid_policy_verifier_at(const wid_policy *p, size_t i)
{
    return p && i < p->nverifiers ? &p->verifiers[i] : NULL;
}

const unsigned char *
wid_policy_sha256(const wid_policy *p)
{
    return p->hash;
}

const char *
wid_policy_sha256_hex(const wid_policy *p)
{
    return p->hash_hex;
}

const char *
wid_policy_signer(const wid_policy *p)
{
    return p->signer;
}
