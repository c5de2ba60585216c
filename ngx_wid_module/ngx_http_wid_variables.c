
/*
 * The $wid_* variables: the identity and the decision of the request,
 * for log_format, proxy_set_header, map and the like.  They read the
 * main request's context, so subrequests (auth_request, SSI) see the
 * identity their parent was admitted with.  Before the access phase,
 * and where wid is off, they are empty.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wid.h"
#include "receipt.h"
#include "wid_version.h"


typedef enum {
    NGX_HTTP_WID_VAR_SPIFFE_ID = 0,
    NGX_HTTP_WID_VAR_TRUST_DOMAIN,
    NGX_HTTP_WID_VAR_PATH,
    NGX_HTTP_WID_VAR_CREDENTIAL,
    NGX_HTTP_WID_VAR_TIER,
    NGX_HTTP_WID_VAR_VERDICT,
    NGX_HTTP_WID_VAR_REASON,
    NGX_HTTP_WID_VAR_RULE,
    NGX_HTTP_WID_VAR_RECEIPT_ID,
    NGX_HTTP_WID_VAR_CACHE
} ngx_http_wid_var_e;


/* $wid_cache, by NGX_HTTP_WID_CACHE_*: empty where no cache was used. */
static const char  *ngx_http_wid_cache_names[] = {
    NULL, "miss", "zone_hit", "conn_hit"
};


static ngx_str_t *ngx_http_wid_receipt_id(ngx_http_request_t *r,
    ngx_http_wid_ctx_t *ctx);
static ngx_int_t ngx_http_wid_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_wid_version_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_http_variable_t  ngx_http_wid_vars[] = {

    { ngx_string("wid_version"), NULL, ngx_http_wid_version_variable, 0,
      0, 0 },

    { ngx_string("wid_spiffe_id"), NULL, ngx_http_wid_variable,
      NGX_HTTP_WID_VAR_SPIFFE_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("wid_trust_domain"), NULL, ngx_http_wid_variable,
      NGX_HTTP_WID_VAR_TRUST_DOMAIN, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("wid_path"), NULL, ngx_http_wid_variable,
      NGX_HTTP_WID_VAR_PATH, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("wid_credential"), NULL, ngx_http_wid_variable,
      NGX_HTTP_WID_VAR_CREDENTIAL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("wid_tier"), NULL, ngx_http_wid_variable,
      NGX_HTTP_WID_VAR_TIER, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("wid_verdict"), NULL, ngx_http_wid_variable,
      NGX_HTTP_WID_VAR_VERDICT, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("wid_reason"), NULL, ngx_http_wid_variable,
      NGX_HTTP_WID_VAR_REASON, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("wid_rule"), NULL, ngx_http_wid_variable,
      NGX_HTTP_WID_VAR_RULE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("wid_receipt_id"), NULL, ngx_http_wid_variable,
      NGX_HTTP_WID_VAR_RECEIPT_ID, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("wid_cache"), NULL, ngx_http_wid_variable,
      NGX_HTTP_WID_VAR_CACHE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


ngx_int_t
ngx_http_wid_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_wid_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/*
 * The receipt id, formatted from the leaf hash when first asked for: most
 * configurations never log it, and the handler need not pay for it.
 */
static ngx_str_t *
ngx_http_wid_receipt_id(ngx_http_request_t *r, ngx_http_wid_ctx_t *ctx)
{
    char  *id;

    if (!ctx->recorded) {
        return NULL;
    }

    if (ctx->receipt_id.len == 0) {
        id = ngx_pnalloc(r->pool, WID_RECEIPT_ID_SIZE);
        if (id == NULL) {
            return NULL;
        }

        wid_receipt_id_from_leaf(ctx->receipt_leaf, id);

        ctx->receipt_id.data = (u_char *) id;
        ctx->receipt_id.len = WID_RECEIPT_ID_LEN;
    }

    return &ctx->receipt_id;
}


static ngx_int_t
ngx_http_wid_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v,
    uintptr_t data)
{
    const char            *s;
    ngx_str_t             *str;
    ngx_http_wid_ctx_t    *ctx;
    ngx_http_wid_ident_t  *ident;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_wid_module);

    if (ctx == NULL || !ctx->done) {
        v->not_found = 1;
        return NGX_OK;
    }

    ident = ctx->ident;
    str = NULL;
    s = NULL;

    switch (data) {

    case NGX_HTTP_WID_VAR_SPIFFE_ID:
        str = ident ? &ident->spiffe_id : NULL;
        break;

    case NGX_HTTP_WID_VAR_TRUST_DOMAIN:
        str = ident ? &ident->trust_domain : NULL;
        break;

    case NGX_HTTP_WID_VAR_PATH:
        str = ident ? &ident->path : NULL;
        break;

    case NGX_HTTP_WID_VAR_CREDENTIAL:
        s = ctx->credential ? ngx_http_wid_cred_name(ctx->credential) : NULL;
        break;

    case NGX_HTTP_WID_VAR_TIER:
        s = ctx->decided && ctx->decision.tier ? ctx->decision.tier : "none";
        break;

    case NGX_HTTP_WID_VAR_VERDICT:
        s = ctx->verdict == NGX_HTTP_WID_VERDICT_ALLOW ? "allow" : "deny";
        break;

    case NGX_HTTP_WID_VAR_REASON:
        s = wid_reason_code(ctx->reason);
        break;

    case NGX_HTTP_WID_VAR_RULE:
        str = ctx->rule.len ? &ctx->rule : NULL;
        break;

    case NGX_HTTP_WID_VAR_RECEIPT_ID:
        str = ngx_http_wid_receipt_id(r, ctx);
        break;

    case NGX_HTTP_WID_VAR_CACHE:
        s = ngx_http_wid_cache_names[ctx->cache];
        break;
    }

    if (str != NULL) {
        v->data = str->data;
        v->len = str->len;

    } else if (s != NULL) {
        v->data = (u_char *) s;
        v->len = ngx_strlen(s);

    } else {
        v->not_found = 1;
        return NGX_OK;
    }

    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_int_t
ngx_http_wid_version_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    v->len = sizeof(WID_VERSION) - 1;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = (u_char *) WID_VERSION;

    return NGX_OK;
}
