
/*
 * Glue between the module and the policy engine: policies are loaded and
 * compiled by the master while it reads the configuration (a file used
 * in several places is loaded once), and decided per request without
 * allocation.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wid.h"
#include "attest_result.h"
#include "keyfile.h"
#include "policy.h"


/*
 * The keys of the policy's trusted_verifiers, parsed once while the
 * configuration is read: nkeys entries, in policy order, each with the
 * index of its trusted_verifiers entry.  Entries without a key have no
 * slot: nothing they could vouch for is ever verified.
 */
struct ngx_http_wid_policy_s {
    ngx_str_t     file;
    ngx_str_t     signer;
    wid_policy   *policy;
    wid_pubkey   *keys;
    ngx_uint_t   *key_entry;
    ngx_uint_t    nkeys;
};


static ngx_http_wid_policy_t *ngx_http_wid_policy_find(ngx_array_t *loaded,
    ngx_str_t *file, ngx_str_t *signer);
static char *ngx_http_wid_policy_compile(ngx_conf_t *cf,
    ngx_http_wid_policy_t *policy, wid_pubkey *signer);
static char *ngx_http_wid_policy_keys(ngx_conf_t *cf,
    ngx_http_wid_policy_t *policy);


char *
ngx_http_wid_policy_load(ngx_conf_t *cf, ngx_array_t *loaded,
    ngx_str_t *file, ngx_str_t *signer, ngx_http_wid_policy_t **out)
{
    wid_reason_t            rc;
    wid_pubkey              pub;
    ngx_http_wid_policy_t  *policy, **pp;

    policy = ngx_http_wid_policy_find(loaded, file, signer);
    if (policy != NULL) {
        *out = policy;
        return NGX_CONF_OK;
    }

    if (signer) {
        rc = wid_pubkey_load((char *) signer->data, &pub);
        if (rc != WID_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "policy signer key \"%V\": %s (%s)",
                               signer, wid_reason_code(rc),
                               wid_reason_text(rc));
            return NGX_CONF_ERROR;
        }
    }

    policy = ngx_pcalloc(cf->pool, sizeof(ngx_http_wid_policy_t));
    if (policy == NULL) {
        return NGX_CONF_ERROR;
    }

    policy->file = *file;

    if (signer) {
        policy->signer = *signer;
    }

    if (ngx_http_wid_policy_compile(cf, policy, signer ? &pub : NULL)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    pp = ngx_array_push(loaded);
    if (pp == NULL) {
        return NGX_CONF_ERROR;
    }

    *pp = policy;
    *out = policy;

    return NGX_CONF_OK;
}


static ngx_http_wid_policy_t *
ngx_http_wid_policy_find(ngx_array_t *loaded, ngx_str_t *file,
    ngx_str_t *signer)
{
    ngx_uint_t              i;
    ngx_str_t              *s;
    ngx_http_wid_policy_t **pp;

    pp = loaded->elts;

    for (i = 0; i < loaded->nelts; i++) {
        if (pp[i]->file.len != file->len
            || ngx_strncmp(pp[i]->file.data, file->data, file->len) != 0)
        {
            continue;
        }

        s = &pp[i]->signer;

        if (signer == NULL) {
            if (s->len == 0) {
                return pp[i];
            }

            continue;
        }

        if (s->len == signer->len
            && ngx_strncmp(s->data, signer->data, s->len) == 0)
        {
            return pp[i];
        }
    }

    return NULL;
}


static void ngx_http_wid_policy_cleanup(void *data);


static char *
ngx_http_wid_policy_compile(ngx_conf_t *cf, ngx_http_wid_policy_t *policy,
    wid_pubkey *signer)
{
    wid_diag              *d;
    wid_diags             *diags;
    ngx_uint_t             i;
    wid_reason_t           rc;
    ngx_pool_cleanup_t    *cln;
    wid_policy_load_opts   opts;

    diags = ngx_pcalloc(cf->temp_pool, sizeof(wid_diags));
    if (diags == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&opts, sizeof(wid_policy_load_opts));

    if (signer) {
        opts.required_signer = signer;
    }

    rc = wid_policy_load_file((char *) policy->file.data, &opts,
                              &policy->policy, diags);

    if (rc != WID_OK) {
        for (i = 0; i < diags->ndiags; i++) {
            d = &diags->diags[i];

            if (d->severity != WID_DIAG_ERROR) {
                continue;
            }

            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "policy \"%V\":%uD:%uD: %s (%s)",
                               &policy->file, d->line, d->column,
                               d->message, wid_reason_code(d->reason));
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "policy \"%V\" not loaded: %s (%s)",
                           &policy->file, wid_reason_code(rc),
                           wid_reason_text(rc));
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        wid_policy_free(policy->policy);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_wid_policy_cleanup;
    cln->data = policy->policy;

    return ngx_http_wid_policy_keys(cf, policy);
}


/*
 * Trusted verifier keys: an unusable key fails the configuration (nginx
 * -t names the entry), and an entry whose key can never vouch for a wid
 * attestation result is pointed out once.
 */
static char *
ngx_http_wid_policy_keys(ngx_conf_t *cf, ngx_http_wid_policy_t *policy)
{
    size_t                      i, n;
    wid_reason_t                rc;
    const wid_policy_verifier  *v;

    n = wid_policy_verifier_count(policy->policy);

    if (n == 0) {
        return NGX_CONF_OK;
    }

    policy->keys = ngx_pcalloc(cf->pool, n * sizeof(wid_pubkey));
    policy->key_entry = ngx_pcalloc(cf->pool, n * sizeof(ngx_uint_t));

    if (policy->keys == NULL || policy->key_entry == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 0; i < n; i++) {
        v = wid_policy_verifier_at(policy->policy, i);

        if (v == NULL || v->key_pem == NULL) {
            continue;
        }

        rc = wid_pubkey_parse_pem((const unsigned char *) v->key_pem,
                                  ngx_strlen(v->key_pem),
                                  &policy->keys[policy->nkeys]);
        if (rc != WID_OK) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "policy \"%V\":%uD:%uD: trusted verifier "
                               "\"%s\": its key is not an Ed25519 public "
                               "key: %s (%s)", &policy->file, v->line,
                               v->column, v->name, wid_reason_code(rc),
                               wid_reason_text(rc));
            return NGX_CONF_ERROR;
        }

        if (ngx_strcmp(v->schema, WID_ATTEST_RESULT_SCHEMA) != 0
            || v->verifier_family != NULL)
        {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "policy \"%V\":%uD:%uD: trusted verifier "
                               "\"%s\" never matches a wid attestation "
                               "result: it needs schema \"%s\" and no "
                               "verifier_family", &policy->file, v->line,
                               v->column, v->name, WID_ATTEST_RESULT_SCHEMA);
        }

        policy->key_entry[policy->nkeys++] = i;
    }

    return NGX_CONF_OK;
}


static void
ngx_http_wid_policy_cleanup(void *data)
{
    wid_policy_free(data);
}


ngx_int_t
ngx_http_wid_policy_has_rule(ngx_http_wid_policy_t *policy, ngx_str_t *rule)
{
    return wid_policy_rule_find(policy->policy, (char *) rule->data)
           ? NGX_OK : NGX_DECLINED;
}


/*
 * Verify an attestation result against the policy's trusted verifier
 * keys, the maximum age and allowed types of the entry whose key signed
 * it, and the authenticated identity.  Every failure is a reason code and
 * denies; what the verified result is worth is left to the policy.
 */
wid_reason_t
ngx_http_wid_attest_verify(ngx_http_wid_policy_t *policy, ngx_str_t *jws,
    ngx_http_wid_ident_t *ident, ngx_pool_t *pool,
    ngx_http_wid_attest_t **out)
{
    int64_t                     now, age;
    ngx_uint_t                  i, k;
    wid_reason_t                rc;
    wid_attest_result           r;
    ngx_http_wid_attest_t       a;
    const wid_policy_verifier  *v, *e;

    *out = NULL;

    if (policy->nkeys == 0) {
        /* No key, no trust: a keyless entry never vouches for a result. */
        return WID_R_ATTEST_UNTRUSTED_VERIFIER;
    }

    now = (int64_t) ngx_time();

    rc = wid_attest_result_verify((const char *) jws->data, jws->len,
                                  policy->keys, policy->nkeys, now, 0, &r);
    if (rc != WID_OK) {
        return rc;
    }

    /*
     * The key that verified is r.key_index.  When several entries share
     * that key, the one that names this result's schema and verifier is
     * the one the policy will pick, so its limits apply; otherwise the
     * first entry with the key (the policy then finds the mismatch).
     */
    k = r.key_index;
    v = wid_policy_verifier_at(policy->policy, policy->key_entry[k]);

    for (i = k; i < policy->nkeys; i++) {
        if (ngx_memcmp(policy->keys[i].pk, policy->keys[k].pk,
                       WID_ED25519_PK_LEN)
            != 0)
        {
            continue;
        }

        e = wid_policy_verifier_at(policy->policy, policy->key_entry[i]);

        if (ngx_strcmp(e->schema, WID_ATTEST_RESULT_SCHEMA) == 0
            && ngx_strcmp(e->verifier, r.verifier) == 0
            && e->verifier_family == NULL)
        {
            k = i;
            v = e;
            break;
        }
    }

    /* issued_at <= now holds after verification: no underflow. */
    age = now - r.issued_at;

    if (age > (int64_t) v->max_evidence_age_seconds) {
        return WID_R_ATTEST_EVIDENCE_STALE;
    }

    rc = wid_attest_result_check(&r, ident ? (char *) ident->spiffe_id.data
                                           : NULL,
                                 v->attestation_types,
                                 v->nattestation_types);
    if (rc != WID_OK) {
        return rc;
    }

    /* Pack a copy into the request pool, strings and all. */
    a.verifier_index = policy->key_entry[k];
    a.issued_at = (time_t) r.issued_at;
    a.expires_at = (time_t) r.expires_at;
    a.spiffe_id.data = (u_char *) r.spiffe_id;
    a.spiffe_id.len = ngx_strlen(r.spiffe_id);
    a.verifier.data = (u_char *) r.verifier;
    a.verifier.len = ngx_strlen(r.verifier);
    a.type.data = (u_char *) r.type;
    a.type.len = ngx_strlen(r.type);
    a.tier.data = (u_char *) r.tier;
    a.tier.len = ngx_strlen(r.tier);
    ngx_memcpy(a.evidence_sha256, r.evidence_sha256,
               NGX_HTTP_WID_SHA256_LEN);

    *out = ngx_http_wid_attest_dup(pool, &a);
    if (*out == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }

    return WID_OK;
}


/*
 * The last second at which a verified result still passes: before
 * expiresAt and within the entry's maximum age.  Used to expire a cached
 * result; the policy checks the window again on every decision.
 */
time_t
ngx_http_wid_attest_valid_until(ngx_http_wid_policy_t *policy,
    const ngx_http_wid_attest_t *attest)
{
    time_t                      until;
    const wid_policy_verifier  *v;

    until = attest->expires_at - 1;

    v = wid_policy_verifier_at(policy->policy, attest->verifier_index);

    if (v == NULL) {
        return 0;
    }

    /* issued_at <= 2^40 and the age <= 30 days: no overflow. */
    if (attest->issued_at + (time_t) v->max_evidence_age_seconds < until) {
        until = attest->issued_at + (time_t) v->max_evidence_age_seconds;
    }

    return until;
}


const char *
ngx_http_wid_attest_schema(void)
{
    return WID_ATTEST_RESULT_SCHEMA;
}


void
ngx_http_wid_policy_decide(ngx_http_wid_policy_t *policy, ngx_str_t *rule,
    ngx_str_t *operation, ngx_http_wid_ident_t *ident,
    ngx_http_wid_attest_t *attest, ngx_http_wid_decision_t *out)
{
    wid_tier_t                  claimed;
    wid_policy_input            in;
    wid_policy_decision         d;
    wid_policy_identity         id;
    wid_policy_attestation      att;
    const wid_policy_verifier  *v;

    ngx_memzero(&in, sizeof(wid_policy_input));

    in.rule = (char *) rule->data;
    in.operation = (char *) operation->data;
    in.now = ngx_time();

    if (ident) {
        id.spiffe_id = (char *) ident->spiffe_id.data;
        id.trust_domain = (char *) ident->trust_domain.data;
        id.path = (char *) ident->path.data;
        id.kind = ident->kind == NGX_HTTP_WID_CRED_X509
                  ? WID_CRED_X509_SVID : WID_CRED_JWT_SVID;
        in.identity = &id;
    }

    if (attest) {
        /* Verified by ngx_http_wid_attest_verify() against this policy. */
        v = wid_policy_verifier_at(policy->policy, attest->verifier_index);

        if (wid_tier_from_name((char *) attest->tier.data, &claimed) != 0) {
            claimed = WID_TIER_NONE;
        }

        ngx_memzero(&att, sizeof(wid_policy_attestation));

        att.schema = WID_ATTEST_RESULT_SCHEMA;
        att.verifier = (char *) attest->verifier.data;
        att.verifier_family = NULL;
        att.issued_at = attest->issued_at;
        att.expires_at = attest->expires_at;
        att.attestation_type = (char *) attest->type.data;
        att.workload_id = (char *) attest->spiffe_id.data;
        att.claimed_tier = claimed;
        att.verified_by = v ? v->name : NULL;

        in.attestation = &att;
    }

    (void) wid_policy_decide(policy->policy, &in, &d);

    out->allow = (d.verdict == WID_VERDICT_ALLOW && d.reason == WID_OK);
    out->reason = out->allow ? WID_OK
                             : (d.reason != WID_OK ? d.reason
                                                   : WID_R_INTERNAL_CONFIG);
    out->rule = d.rule;
    out->failed = d.failed;
    out->tier = wid_tier_name(d.effective_tier);
    out->policy_hash = d.policy_hash_hex;
    out->signer = d.signer;
    out->soft_evaluated = d.soft_evaluated;
    out->soft_matched = d.soft_matched;
    out->need_identity = (d.reason == WID_R_POLICY_IDENTITY_MISSING);
}


const char *
ngx_http_wid_policy_hash(ngx_http_wid_policy_t *policy)
{
    return wid_policy_sha256_hex(policy->policy);
}


const char *
ngx_http_wid_policy_signer(ngx_http_wid_policy_t *policy)
{
    return wid_policy_signer(policy->policy);
}


const u_char *
ngx_http_wid_policy_sha256(ngx_http_wid_policy_t *policy)
{
    return wid_policy_sha256(policy->policy);
}
