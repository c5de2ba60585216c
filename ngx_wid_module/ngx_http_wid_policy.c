
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
#include "keyfile.h"


#include "policy.h"


struct ngx_http_wid_policy_s {
    ngx_str_t     file;
    ngx_str_t     signer;
    wid_policy   *policy;
};


static ngx_http_wid_policy_t *ngx_http_wid_policy_find(ngx_array_t *loaded,
    ngx_str_t *file, ngx_str_t *signer);
static char *ngx_http_wid_policy_compile(ngx_conf_t *cf,
    ngx_http_wid_policy_t *policy, wid_pubkey *signer);


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


void
ngx_http_wid_policy_decide(ngx_http_wid_policy_t *policy, ngx_str_t *rule,
    ngx_str_t *operation, ngx_http_wid_ident_t *ident,
    ngx_http_wid_decision_t *out)
{
    wid_policy_input     in;
    wid_policy_decision  d;
    wid_policy_identity  id;

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
