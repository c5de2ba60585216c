
/*
 * ngx_http_wid_module: SPIFFE workload identity and policy for nginx.
 *
 * Directives, configuration and the access-phase handler.  Everything
 * that can fail is read by the master while it parses the configuration
 * (bundles, policy, receipt key), so `nginx -t` reports the file and the
 * reason; workers only open their own journal and refresh their copy of
 * the bundles.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "identity.h"
#include "jws.h"
#include "ngx_http_wid.h"


#define NGX_HTTP_WID_MAX_LEEWAY     3600


static ngx_int_t ngx_http_wid_handler(ngx_http_request_t *r);
static wid_reason_t ngx_http_wid_authenticate(ngx_http_request_t *r,
    ngx_http_wid_main_conf_t *wmcf, ngx_http_wid_loc_conf_t *wlcf,
    ngx_http_wid_ctx_t *ctx);
static ngx_int_t ngx_http_wid_find_header(ngx_http_request_t *r,
    ngx_str_t *name, ngx_table_elt_t **out);
static wid_reason_t ngx_http_wid_find_token(ngx_http_request_t *r,
    ngx_http_wid_loc_conf_t *wlcf, ngx_str_t *token);
static wid_reason_t ngx_http_wid_b64token_check(ngx_str_t *token);
static wid_reason_t ngx_http_wid_verify_token(ngx_http_request_t *r,
    ngx_http_wid_main_conf_t *wmcf, ngx_http_wid_loc_conf_t *wlcf,
    ngx_http_wid_ctx_t *ctx, ngx_str_t *token);
static wid_reason_t ngx_http_wid_verify_peer(ngx_http_request_t *r,
    ngx_http_wid_main_conf_t *wmcf, ngx_http_wid_ctx_t *ctx);
static wid_reason_t ngx_http_wid_evidence(ngx_http_request_t *r,
    ngx_http_wid_loc_conf_t *wlcf, ngx_http_wid_ctx_t *ctx);
static wid_reason_t ngx_http_wid_attestation(ngx_http_request_t *r,
    ngx_http_wid_main_conf_t *wmcf, ngx_http_wid_loc_conf_t *wlcf,
    ngx_http_wid_ctx_t *ctx);
static ngx_int_t ngx_http_wid_operation(ngx_http_request_t *r,
    ngx_http_wid_loc_conf_t *wlcf, ngx_http_wid_ctx_t *ctx);
static void ngx_http_wid_decide(ngx_http_wid_loc_conf_t *wlcf,
    ngx_http_wid_ctx_t *ctx);
static ngx_int_t ngx_http_wid_finish(ngx_http_request_t *r,
    ngx_http_wid_loc_conf_t *wlcf, ngx_http_wid_ctx_t *ctx,
    wid_reason_t journal_rc);
static ngx_int_t ngx_http_wid_challenge(ngx_http_request_t *r,
    ngx_str_t *value);
static void ngx_http_wid_log_decision(ngx_http_request_t *r,
    ngx_http_wid_loc_conf_t *wlcf, ngx_http_wid_ctx_t *ctx);

static void *ngx_http_wid_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_wid_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_wid_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_wid_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_wid_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_wid_init_process(ngx_cycle_t *cycle);
static void ngx_http_wid_exit_process(ngx_cycle_t *cycle);
static void ngx_http_wid_refresh_handler(ngx_event_t *ev);

static char *ngx_http_wid_trust_bundle(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_wid_trust_bundle_dir(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_wid_policy(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_wid_header_name(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_wid_check_leeway(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_wid_max_lifetime(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_wid_check_audience(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_wid_check_token(ngx_conf_t *cf, void *post,
    void *data);
static char *ngx_http_wid_make_challenges(ngx_conf_t *cf,
    ngx_http_wid_loc_conf_t *conf);


static ngx_conf_enum_t  ngx_http_wid_modes[] = {
    { ngx_string("off"), NGX_HTTP_WID_OFF },
    { ngx_string("on"), NGX_HTTP_WID_ON },
    { ngx_string("observe"), NGX_HTTP_WID_OBSERVE },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_wid_credentials[] = {
    { ngx_string("x509"), NGX_HTTP_WID_CRED_X509 },
    { ngx_string("jwt"), NGX_HTTP_WID_CRED_JWT },
    { ngx_string("any"), NGX_HTTP_WID_CRED_ANY },
    { ngx_null_string, 0 }
};


static ngx_conf_post_t  ngx_http_wid_leeway_post =
    { ngx_http_wid_check_leeway };

static ngx_conf_post_t  ngx_http_wid_token_post =
    { ngx_http_wid_check_token };

static ngx_conf_post_t  ngx_http_wid_audience_post =
    { ngx_http_wid_check_audience };


static ngx_command_t  ngx_http_wid_commands[] = {

    { ngx_string("wid"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wid_loc_conf_t, mode),
      &ngx_http_wid_modes },

    { ngx_string("wid_trust_bundle"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_wid_trust_bundle,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("wid_trust_bundle_dir"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_wid_trust_bundle_dir,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("wid_bundle_refresh"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_wid_main_conf_t, bundle_refresh),
      NULL },

    { ngx_string("wid_policy"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_wid_policy,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("wid_rule"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wid_loc_conf_t, rule),
      &ngx_http_wid_token_post },

    { ngx_string("wid_operation"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_set_complex_value_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wid_loc_conf_t, operation),
      NULL },

    { ngx_string("wid_credential"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wid_loc_conf_t, credential),
      &ngx_http_wid_credentials },

    { ngx_string("wid_jwt_audience"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wid_loc_conf_t, audience),
      &ngx_http_wid_audience_post },

    { ngx_string("wid_jwt_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_wid_header_name,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wid_loc_conf_t, jwt_header),
      NULL },

    { ngx_string("wid_jwt_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wid_loc_conf_t, jwt_leeway),
      &ngx_http_wid_leeway_post },

    { ngx_string("wid_jwt_max_lifetime"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_wid_max_lifetime,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wid_loc_conf_t, jwt_max_lifetime),
      NULL },

    { ngx_string("wid_attestation_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_wid_header_name,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wid_loc_conf_t, attestation_header),
      NULL },

    { ngx_string("wid_journal"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_2MORE,
      ngx_http_wid_journal,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("wid_cache_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_wid_cache_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("wid_realm"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_wid_loc_conf_t, realm),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_wid_module_ctx = {
    ngx_http_wid_add_variables,            /* preconfiguration */
    ngx_http_wid_init,                     /* postconfiguration */

    ngx_http_wid_create_main_conf,         /* create main configuration */
    ngx_http_wid_init_main_conf,           /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_wid_create_loc_conf,          /* create location configuration */
    ngx_http_wid_merge_loc_conf            /* merge location configuration */
};


ngx_module_t  ngx_http_wid_module = {
    NGX_MODULE_V1,
    &ngx_http_wid_module_ctx,              /* module context */
    ngx_http_wid_commands,                 /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_wid_init_process,             /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_wid_exit_process,             /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* The bundle refresh timer of this worker. */
static ngx_event_t  ngx_http_wid_refresh_event;

/* Counts configurations read by this process (see conn_keep). */
static ngx_uint_t   ngx_http_wid_conf_generation;


static ngx_int_t
ngx_http_wid_handler(ngx_http_request_t *r)
{
    wid_reason_t               rc, evidence_rc, journal_rc;
    ngx_http_wid_ctx_t        *ctx;
    ngx_http_wid_loc_conf_t   *wlcf;
    ngx_http_wid_main_conf_t  *wmcf;

    /* The core never runs the access phase for subrequests; be explicit. */
    if (r != r->main) {
        return NGX_DECLINED;
    }

    wlcf = ngx_http_get_module_loc_conf(r, ngx_http_wid_module);

    if (wlcf->mode == NGX_HTTP_WID_OFF) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_wid_module);

    if (ctx != NULL && ctx->done) {
        return ctx->status;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_wid_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_set_ctx(r, ctx, ngx_http_wid_module);

    wmcf = ngx_http_get_module_main_conf(r, ngx_http_wid_module);

    ctx->verdict = NGX_HTTP_WID_VERDICT_DENY;
    ctx->rule = wlcf->rule;

    if (ngx_http_wid_operation(r, wlcf, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    evidence_rc = ngx_http_wid_evidence(r, wlcf, ctx);

    rc = ngx_http_wid_authenticate(r, wmcf, wlcf, ctx);

    if (rc == WID_OK) {
        rc = evidence_rc;

        if (rc == WID_OK && ctx->has_att_header) {
            rc = ngx_http_wid_attestation(r, wmcf, wlcf, ctx);
        }

        if (rc != WID_OK) {
            ctx->attest_failed = 1;
        }
    }

    if (rc == WID_OK) {
        /*
         * Authenticated, or no credential at all: the policy decides
         * whether the rule admits anonymous callers.  A credential that
         * was presented and failed never reaches the policy: it is not
         * downgraded to "anonymous".
         */
        ngx_http_wid_decide(wlcf, ctx);
        ctx->decided = 1;
        ctx->reason = ctx->decision.reason;

        if (ctx->decision.allow) {
            ctx->verdict = NGX_HTTP_WID_VERDICT_ALLOW;
        }

    } else {
        ctx->reason = rc;
    }

    journal_rc = ngx_http_wid_journal_record(r, wmcf->journal, wlcf, ctx);

    /* The connection's entry may be replaced once the handler returns. */
    ctx->keep = NULL;

    return ngx_http_wid_finish(r, wlcf, ctx, journal_rc);
}


/*
 * The policy's decision; for an identity kept on the connection, without
 * an attestation result, the one made for its last request at the same
 * location with the same operation.
 */
static void
ngx_http_wid_decide(ngx_http_wid_loc_conf_t *wlcf, ngx_http_wid_ctx_t *ctx)
{
    ngx_http_wid_conn_keep_t  *keep;

    keep = ctx->attest == NULL ? ctx->keep : NULL;

    if (keep != NULL
        && ngx_http_wid_conn_decision_get(keep, wlcf, &ctx->operation,
                                          &ctx->decision)
           == NGX_OK)
    {
        return;
    }

    ngx_http_wid_policy_decide(wlcf->policy, &wlcf->rule, &ctx->operation,
                               ctx->ident, ctx->attest, &ctx->decision);

    if (keep != NULL) {
        ngx_http_wid_conn_decision_set(keep, wlcf, &ctx->operation,
                                       &ctx->decision);
    }
}


static ngx_int_t
ngx_http_wid_finish(ngx_http_request_t *r, ngx_http_wid_loc_conf_t *wlcf,
    ngx_http_wid_ctx_t *ctx, wid_reason_t journal_rc)
{
    ngx_int_t   status;
    ngx_uint_t  level;

    if (journal_rc != WID_OK) {
        if (ctx->verdict == NGX_HTTP_WID_VERDICT_ALLOW
            && wlcf->mode == NGX_HTTP_WID_ON)
        {
            /* No receipt, no access: an unrecorded allow is never granted. */
            ctx->verdict = NGX_HTTP_WID_VERDICT_DENY;
            ctx->reason = WID_R_HTTP_JOURNAL_UNAVAILABLE;

        } else {
            /* A deny, or what observe mode let through: said, not kept
             * (at info once the outage has been reported). */
            level = ctx->journal_quiet ? NGX_LOG_INFO : NGX_LOG_ALERT;

            ngx_log_error(level, r->connection->log, 0,
                          "wid: %sdecision not recorded: %s, "
                          "verdict %s %s, rule \"%V\"",
                          wlcf->mode == NGX_HTTP_WID_OBSERVE
                          ? "observe: " : "",
                          wid_reason_code(journal_rc),
                          ctx->verdict == NGX_HTTP_WID_VERDICT_ALLOW
                          ? "allow" : "deny",
                          wid_reason_code(ctx->reason), &wlcf->rule);
        }
    }

    ngx_http_wid_log_decision(r, wlcf, ctx);

    if (wlcf->mode == NGX_HTTP_WID_OBSERVE) {
        /* Decided and recorded; the request goes on as if wid were off. */
        status = NGX_DECLINED;

    } else if (ctx->verdict == NGX_HTTP_WID_VERDICT_ALLOW) {
        status = NGX_OK;

    } else if (ctx->reason >= WID_R_INTERNAL_NOMEM
               && ctx->reason <= WID_R_INTERNAL_CRYPTO)
    {
        status = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else if (ctx->reason == WID_R_HTTP_JOURNAL_UNAVAILABLE) {
        status = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else if (ctx->attest_failed) {
        /*
         * The credential is valid; the attestation result that came with
         * it is not (or is not this workload's): refused, not challenged.
         */
        status = NGX_HTTP_FORBIDDEN;

    } else if (!ctx->decided) {
        /* A credential was presented and is not valid (RFC 6750 3.1). */
        status = ngx_http_wid_challenge(r, &wlcf->challenge_invalid);

    } else if (ctx->ident == NULL && ctx->decision.need_identity) {
        /* No credential, and the rule wants one: ask for it. */
        status = ngx_http_wid_challenge(r, &wlcf->challenge);

    } else {
        status = NGX_HTTP_FORBIDDEN;
    }

    ctx->status = status;
    ctx->done = 1;

    return status;
}


static ngx_int_t
ngx_http_wid_challenge(ngx_http_request_t *r, ngx_str_t *value)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    ngx_str_set(&h->key, "WWW-Authenticate");
    h->value = *value;

    /* Lets the core drop the challenge when "satisfy any" grants access. */
    r->headers_out.www_authenticate = h;

    return NGX_HTTP_UNAUTHORIZED;
}


static wid_reason_t
ngx_http_wid_authenticate(ngx_http_request_t *r,
    ngx_http_wid_main_conf_t *wmcf, ngx_http_wid_loc_conf_t *wlcf,
    ngx_http_wid_ctx_t *ctx)
{
    ngx_str_t     token;
    wid_reason_t  rc;

    /*
     * A bearer token, when accepted and present, is the credential of
     * this request; otherwise the TLS peer certificate of the connection.
     */
    if (wlcf->accept & NGX_HTTP_WID_CRED_JWT) {

        rc = ngx_http_wid_find_token(r, wlcf, &token);
        if (rc != WID_OK) {
            ctx->credential = NGX_HTTP_WID_CRED_JWT;
            return rc;
        }

        if (token.len) {
            ctx->credential = NGX_HTTP_WID_CRED_JWT;
            return ngx_http_wid_verify_token(r, wmcf, wlcf, ctx, &token);
        }
    }

    if (wlcf->accept & NGX_HTTP_WID_CRED_X509) {

        if (r->connection->ssl == NULL) {
            if (wlcf->accept == NGX_HTTP_WID_CRED_X509) {
                /* Refused, though no credential could be presented. */
                return WID_R_HTTP_TLS_REQUIRED;
            }

            return WID_OK;
        }

        if (SSL_get0_peer_certificate(r->connection->ssl->connection)
            == NULL)
        {
            return WID_OK;
        }

        ctx->credential = NGX_HTTP_WID_CRED_X509;
        return ngx_http_wid_verify_peer(r, wmcf, ctx);
    }

    return WID_OK;
}


static wid_reason_t
ngx_http_wid_verify_peer(ngx_http_request_t *r,
    ngx_http_wid_main_conf_t *wmcf, ngx_http_wid_ctx_t *ctx)
{
    wid_reason_t           rc;
    ngx_http_wid_ident_t  *ident;

    /* One verification per TLS connection, while its bundle stands. */
    ctx->cache = NGX_HTTP_WID_CACHE_MISS;

    ident = ngx_http_wid_conn_ident_get(r, wmcf, &ctx->keep);
    if (ident != NULL) {
        ctx->ident = ident;
        ctx->cache = NGX_HTTP_WID_CACHE_CONN;
        return WID_OK;
    }

    rc = ngx_http_wid_verify_x509(wmcf->trust, r->connection, r->pool,
                                  &ident);
    if (rc != WID_OK) {
        return rc;
    }

    ngx_http_wid_conn_ident_set(r, wmcf, ident);
    ctx->ident = ident;

    return WID_OK;
}


static wid_reason_t
ngx_http_wid_verify_token(ngx_http_request_t *r,
    ngx_http_wid_main_conf_t *wmcf, ngx_http_wid_loc_conf_t *wlcf,
    ngx_http_wid_ctx_t *ctx, ngx_str_t *token)
{
    u_char                 *key;
    u_char                  leeway[8], lifetime[8], len[8];
    u_char                  token_sha256[NGX_HTTP_WID_SHA256_LEN];
    u_char                  input_sha256[NGX_HTTP_WID_SHA256_LEN];
    time_t                  expires;
    ngx_str_t               parts[8];
    ngx_uint_t              i, n;
    wid_reason_t            rc;
    ngx_http_wid_ident_t   *ident;
    ngx_http_wid_attest_t  *attest;

    if (wmcf->cache_zone != NULL) {
        ctx->cache = NGX_HTTP_WID_CACHE_MISS;

        /*
         * The same token again on this TLS connection: recognised by its
         * bytes, no hashing, no zone lock.  Not with an attestation
         * result, whose verification binds more than the token.
         */
        if (!ctx->has_att_header) {
            ident = ngx_http_wid_conn_jwt_get(r, wmcf, token, wlcf,
                                              &ctx->keep);
            if (ident != NULL) {
                ctx->ident = ident;
                ctx->cache = NGX_HTTP_WID_CACHE_CONN;
                return WID_OK;
            }
        }
    }

    rc = ngx_http_wid_b64token_check(token);
    if (rc != WID_OK) {
        return rc;
    }

    if (wmcf->cache_zone == NULL) {
        rc = ngx_http_wid_verify_jwt(wmcf->trust, token,
                                     &wlcf->audience, wlcf->jwt_leeway,
                                     wlcf->jwt_max_lifetime, r->pool, &ident);
        if (rc == WID_OK) {
            ctx->ident = ident;
        }

        return rc;
    }

    /*
     * The cache key is a SHA-256 over the token's SHA-256 and everything
     * else the verification depended on besides the bundles (checked on
     * every hit) and the clock: the expected audience, the leeway and the
     * maximum lifetime.  With an attestation result the entry holds the
     * verified result too, so the key also binds the exact result bytes
     * and the policy whose trusted verifiers checked them (another
     * policy, or a changed one, trusts other keys).  The hash of the
     * token's signing input is the credential id a hit puts on the
     * receipt, as the verifier would.
     */
    ngx_http_wid_token_sha256(token, token_sha256, input_sha256);

    key = ctx->cache_key;

    for (i = 0; i < 8; i++) {
        leeway[i] = (u_char) ((uint64_t) wlcf->jwt_leeway >> (56 - 8 * i));
        lifetime[i] = (u_char) ((uint64_t) wlcf->jwt_max_lifetime
                                >> (56 - 8 * i));
        len[i] = (u_char) ((uint64_t) ctx->att_header.len >> (56 - 8 * i));
    }

    n = 0;

    if (ctx->has_att_header) {
        ngx_str_set(&parts[n], "wid-jwt-att-cache-v3"); n++;
        parts[n].data = (u_char *) ngx_http_wid_policy_sha256(wlcf->policy);
        parts[n].len = NGX_HTTP_WID_SHA256_LEN; n++;
        parts[n].data = len;
        parts[n].len = sizeof(len); n++;
        parts[n] = ctx->att_header; n++;

    } else {
        ngx_str_set(&parts[n], "wid-jwt-cache-v3"); n++;
    }

    /* The audience with its NUL: no audience is a prefix of another. */
    parts[n].data = wlcf->audience.data;
    parts[n].len = wlcf->audience.len + 1; n++;
    parts[n].data = leeway;
    parts[n].len = sizeof(leeway); n++;
    parts[n].data = lifetime;
    parts[n].len = sizeof(lifetime); n++;
    parts[n].data = token_sha256;
    parts[n].len = NGX_HTTP_WID_SHA256_LEN; n++;

    if (ngx_http_wid_sha256(key, parts, n) != NGX_OK) {
        return WID_R_INTERNAL_CRYPTO;
    }

    if (ngx_http_wid_jwt_cache_get(r, wmcf->cache_zone, wmcf->trust, key,
                                   input_sha256, &ident, &attest)
        == NGX_OK
        && (attest != NULL || !ctx->has_att_header))
    {
        ctx->ident = ident;
        ctx->attest = attest;
        ctx->cache = NGX_HTTP_WID_CACHE_ZONE;

        if (!ctx->has_att_header
            && ident->not_after <= NGX_MAX_TIME_T_VALUE - wlcf->jwt_leeway)
        {
            /* Seen twice: worth keeping on the connection. */
            ngx_http_wid_conn_jwt_set(r, wmcf, token, wlcf,
                                      ident->not_after + wlcf->jwt_leeway - 1,
                                      ident);
        }

        return WID_OK;
    }

    rc = ngx_http_wid_verify_jwt(wmcf->trust, token, &wlcf->audience,
                                 wlcf->jwt_leeway, wlcf->jwt_max_lifetime,
                                 r->pool, &ident);
    if (rc != WID_OK) {
        return rc;
    }

    ctx->ident = ident;

    if (ident->not_after <= NGX_MAX_TIME_T_VALUE - wlcf->jwt_leeway) {
        /*
         * The last second the verifier accepts the token: it is expired
         * once now - leeway >= exp.  Verified just now, so exp + leeway
         * is later than now: no underflow.
         */
        expires = ident->not_after + wlcf->jwt_leeway - 1;

        if (ctx->has_att_header) {
            /* Cached once the attestation result has verified too. */
            ctx->cache_expires = expires;
            ctx->cache_put = 1;

        } else {
            ngx_http_wid_jwt_cache_put(r, wmcf->cache_zone, key, expires,
                                       ident, NULL);
        }
    }

    return WID_OK;
}


/*
 * Find the one header named name.  NGX_DECLINED: absent; NGX_BUSY: sent
 * more than once (which of them would be the credential is ambiguous).
 */
static ngx_int_t
ngx_http_wid_find_header(ngx_http_request_t *r, ngx_str_t *name,
    ngx_table_elt_t **out)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *found;

    found = NULL;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len != name->len
            || ngx_strncmp(h[i].lowcase_key, name->data, name->len) != 0)
        {
            continue;
        }

        if (found != NULL) {
            return NGX_BUSY;
        }

        found = &h[i];
    }

    if (found == NULL) {
        return NGX_DECLINED;
    }

    *out = found;

    return NGX_OK;
}


/* The characters of a b64token (RFC 6750 2.1), one bit each. */
static uint32_t  ngx_http_wid_b64token[] = {
    0x00000000, /* 0000 0000 0000 0000  0000 0000 0000 0000 */

                /* ?>=< ;:98 7654 3210  /.-, +*)( '&%$ #"!  */
    0x23ffe800, /* 0010 0011 1111 1111  1110 1000 0000 0000 */

                /* _^]\ [ZYX WVUT SRQP  ONML KJIH GFED CBA@ */
    0x87fffffe, /* 1000 0111 1111 1111  1111 1111 1111 1110 */

                /*  ~}| {zyx wvut srqp  onml kjih gfed cba` */
    0x47fffffe, /* 0100 0111 1111 1111  1111 1111 1111 1110 */

    0x00000000, 0x00000000, 0x00000000, 0x00000000
};


static wid_reason_t
ngx_http_wid_find_token(ngx_http_request_t *r, ngx_http_wid_loc_conf_t *wlcf,
    ngx_str_t *token)
{
    u_char           *p, *last;
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    ngx_str_null(token);

    if (wlcf->jwt_header_is_authorization) {
        /*
         * nginx keeps the one Authorization header here and answers a
         * request that sends two with 400 before any module runs.
         */
        h = r->headers_in.authorization;

        if (h == NULL) {
            return WID_OK;
        }

    } else {
        rc = ngx_http_wid_find_header(r, &wlcf->jwt_header, &h);

        if (rc == NGX_DECLINED) {
            return WID_OK;
        }

        if (rc == NGX_BUSY) {
            return WID_R_HTTP_MULTIPLE_CREDENTIALS;
        }
    }

    p = h->value.data;
    last = p + h->value.len;

    if (wlcf->jwt_header_is_authorization) {
        /*
         * RFC 6750 2.1: "Bearer" 1*SP b64token.  Another scheme (e.g.
         * Basic for auth_basic under "satisfy any") is not ours: it is
         * no bearer token rather than a broken one.  The scheme ends at
         * whitespace: "Bearer" and a tab is a bearer token sent wrong,
         * which is refused, never taken for no credential.
         */
        if (h->value.len < sizeof("Bearer") - 1
            || ngx_strncasecmp(p, (u_char *) "Bearer", sizeof("Bearer") - 1)
               != 0
            || (h->value.len > sizeof("Bearer") - 1
                && p[sizeof("Bearer") - 1] != ' '
                && p[sizeof("Bearer") - 1] != '\t'))
        {
            return WID_OK;
        }

        p += sizeof("Bearer") - 1;

        if (p < last && *p == '\t') {
            return WID_R_HTTP_AUTHORIZATION_MALFORMED;
        }

        while (p < last && *p == ' ') {
            p++;
        }
    }

    while (last > p && last[-1] == ' ') {
        last--;
    }

    if (p == last) {
        return WID_R_HTTP_AUTHORIZATION_MALFORMED;
    }

    token->data = p;
    token->len = last - p;

    return WID_OK;
}


/*
 * b64token (RFC 6750 2.1); a JWT uses only its base64url subset.  Checked
 * only for a token not kept on the connection: a kept one passed.
 * Tokens are hundreds of bytes: no branch per byte.
 */
static wid_reason_t
ngx_http_wid_b64token_check(ngx_str_t *token)
{
    u_char    *q, *last;
    uint32_t   bad;

    bad = 0;
    last = token->data + token->len;

    for (q = token->data; q < last; q++) {
        bad |= ~ngx_http_wid_b64token[*q >> 5] & (1U << (*q & 0x1f));
    }

    return bad ? WID_R_HTTP_AUTHORIZATION_MALFORMED : WID_OK;
}


static ngx_int_t
ngx_http_wid_operation(ngx_http_request_t *r, ngx_http_wid_loc_conf_t *wlcf,
    ngx_http_wid_ctx_t *ctx)
{
    u_char     *p;
    ngx_str_t   value;

    if (wlcf->operation == NULL) {
        value = r->method_name;

    } else if (wlcf->operation->lengths == NULL) {
        /* A constant. */
        value = wlcf->operation->value;

    } else if (wlcf->operation->value.len == sizeof("$request_method") - 1
               && ngx_strncmp(wlcf->operation->value.data, "$request_method",
                              sizeof("$request_method") - 1) == 0)
    {
        /* The usual value, without running the script. */
        value = r->method_name;

    } else if (ngx_http_complex_value(r, wlcf->operation, &value) != NGX_OK) {
        return NGX_ERROR;
    }

    /* The policy takes C strings: a NUL inside would cut the operation. */
    if (ngx_strlchr(value.data, value.data + value.len, '\0') != NULL) {
        ngx_str_set(&value, "");
    }

    p = ngx_pnalloc(r->pool, value.len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, value.data, value.len);
    p[value.len] = '\0';

    ctx->operation.data = p;
    ctx->operation.len = value.len;

    return NGX_OK;
}


/*
 * The attestation-result header: found (once) and hashed before the
 * credential is verified, because a JWT-SVID's cache entry is keyed by
 * it too.  The hash goes on the receipt when the result is refused.
 */
static wid_reason_t
ngx_http_wid_evidence(ngx_http_request_t *r, ngx_http_wid_loc_conf_t *wlcf,
    ngx_http_wid_ctx_t *ctx)
{
    u_char            md[NGX_HTTP_WID_SHA256_LEN];
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    if (wlcf->attestation_header.len == 0) {
        return WID_OK;
    }

    rc = ngx_http_wid_find_header(r, &wlcf->attestation_header, &h);

    if (rc == NGX_DECLINED) {
        return WID_OK;
    }

    if (rc == NGX_BUSY) {
        /* Which of two results counts is ambiguous: neither does. */
        return WID_R_HTTP_MULTIPLE_ATTESTATIONS;
    }

    if (ngx_http_wid_sha256(md, &h->value, 1) != NGX_OK) {
        return WID_R_INTERNAL_CRYPTO;
    }

    ngx_hex_dump(ctx->evidence_sha256, md, NGX_HTTP_WID_SHA256_LEN);
    ctx->has_evidence = 1;

    ctx->att_header = h->value;
    ctx->has_att_header = 1;

    return WID_OK;
}


/*
 * Verify the attestation result for the authenticated identity (unless
 * the JWT-SVID cache already held it, verified, with this token), then
 * cache the token's entry with the result.  Evidence with no identity to
 * bind to is refused: it cannot be checked against anyone.
 */
static wid_reason_t
ngx_http_wid_attestation(ngx_http_request_t *r,
    ngx_http_wid_main_conf_t *wmcf, ngx_http_wid_loc_conf_t *wlcf,
    ngx_http_wid_ctx_t *ctx)
{
    time_t        expires, until;
    wid_reason_t  rc;

    if (ctx->attest != NULL) {
        return WID_OK;
    }

    if (ctx->ident == NULL) {
        return WID_R_POLICY_EVIDENCE_UNBOUND;
    }

    rc = ngx_http_wid_attest_verify(wlcf->policy, &ctx->att_header,
                                    ctx->ident, r->pool, &ctx->attest);
    if (rc != WID_OK) {
        return rc;
    }

    if (ctx->cache_put) {
        /* The entry lives while both the token and the result do. */
        expires = ctx->cache_expires;
        until = ngx_http_wid_attest_valid_until(wlcf->policy, ctx->attest);

        if (until < expires) {
            expires = until;
        }

        ngx_http_wid_jwt_cache_put(r, wmcf->cache_zone, ctx->cache_key,
                                   expires, ctx->ident, ctx->attest);
    }

    return WID_OK;
}


static void
ngx_http_wid_log_decision(ngx_http_request_t *r,
    ngx_http_wid_loc_conf_t *wlcf, ngx_http_wid_ctx_t *ctx)
{
    ngx_uint_t   level;
    const char  *what, *failed;

    failed = ctx->decided ? ctx->decision.failed : NULL;

    if (ctx->verdict == NGX_HTTP_WID_VERDICT_ALLOW) {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "wid: allow \"%V\" rule \"%V\"",
                       ctx->ident ? &ctx->ident->spiffe_id : &wlcf->rule,
                       &wlcf->rule);
        return;
    }

    if (ctx->reason == WID_R_HTTP_JOURNAL_UNAVAILABLE
        || (ctx->reason >= WID_R_INTERNAL_NOMEM
            && ctx->reason <= WID_R_INTERNAL_CRYPTO))
    {
        level = ctx->journal_quiet ? NGX_LOG_INFO : NGX_LOG_ALERT;
        what = "failed";

    } else if (ctx->attest_failed) {
        level = NGX_LOG_ERR;
        what = "attestation result refused";

    } else if (!ctx->decided) {
        level = ctx->credential ? NGX_LOG_ERR : NGX_LOG_INFO;
        what = "credential rejected";

    } else {
        /* Like auth_basic: a client that sent nothing is no error. */
        level = ctx->credential ? NGX_LOG_ERR : NGX_LOG_INFO;
        what = "access denied";
    }

    ngx_log_error(level, r->connection->log, 0,
                  "wid: %s%s: %s (%s), %s \"%s\", rule \"%V\", "
                  "operation \"%V\"%s%s%s",
                  wlcf->mode == NGX_HTTP_WID_OBSERVE ? "observe: " : "",
                  what, wid_reason_code(ctx->reason),
                  wid_reason_text(ctx->reason),
                  ctx->credential
                      ? ngx_http_wid_cred_name(ctx->credential) : "credential",
                  ctx->ident ? (char *) ctx->ident->spiffe_id.data : "none",
                  &wlcf->rule, &ctx->operation,
                  failed ? ", failed \"" : "", failed ? failed : "",
                  failed ? "\"" : "");
}


static void *
ngx_http_wid_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_wid_main_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_wid_main_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->trust = NULL;
     *     conf->journal = NULL;
     *     conf->cache_zone = NULL;
     *     conf->used = 0;
     */

    conf->bundle_refresh = NGX_CONF_UNSET_MSEC;
    conf->generation = ++ngx_http_wid_conf_generation;

    if (ngx_array_init(&conf->policies, cf->pool, 4,
                       sizeof(ngx_http_wid_policy_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return conf;
}


static char *
ngx_http_wid_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_wid_main_conf_t *wmcf = conf;

    ngx_conf_init_msec_value(wmcf->bundle_refresh, 5000);

    return NGX_CONF_OK;
}


static void *
ngx_http_wid_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_wid_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_wid_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->rule = { 0, NULL };
     *     conf->audience = { 0, NULL };
     *     conf->jwt_header = { 0, NULL };
     *     conf->attestation_header = { 0, NULL };
     *     conf->realm = { 0, NULL };
     *     conf->challenge = { 0, NULL };
     *     conf->challenge_invalid = { 0, NULL };
     */

    conf->mode = NGX_CONF_UNSET_UINT;
    conf->policy = NGX_CONF_UNSET_PTR;
    conf->operation = NGX_CONF_UNSET_PTR;
    conf->credential = NGX_CONF_UNSET_UINT;
    conf->jwt_leeway = NGX_CONF_UNSET;
    conf->jwt_max_lifetime = NGX_CONF_UNSET;

    return conf;
}


static char *
ngx_http_wid_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_wid_loc_conf_t *prev = parent;
    ngx_http_wid_loc_conf_t *conf = child;

    ngx_http_wid_main_conf_t  *wmcf;

    ngx_conf_merge_uint_value(conf->mode, prev->mode, NGX_HTTP_WID_OFF);
    ngx_conf_merge_ptr_value(conf->policy, prev->policy, NULL);
    ngx_conf_merge_str_value(conf->rule, prev->rule, "");
    ngx_conf_merge_ptr_value(conf->operation, prev->operation, NULL);
    ngx_conf_merge_str_value(conf->audience, prev->audience, "");
    ngx_conf_merge_sec_value(conf->jwt_leeway, prev->jwt_leeway, 0);
    ngx_conf_merge_sec_value(conf->jwt_max_lifetime, prev->jwt_max_lifetime,
                             0);
    ngx_conf_merge_str_value(conf->realm, prev->realm, "wid");

    if (conf->jwt_header.data == NULL) {
        if (prev->jwt_header.data) {
            conf->jwt_header = prev->jwt_header;

        } else {
            ngx_str_set(&conf->jwt_header, "authorization");
        }
    }

    conf->jwt_header_is_authorization =
        conf->jwt_header.len == sizeof("authorization") - 1
        && ngx_strncmp(conf->jwt_header.data, "authorization",
                       sizeof("authorization") - 1) == 0;

    if (conf->attestation_header.data == NULL) {
        conf->attestation_header = prev->attestation_header;
    }

    /*
     * Default: X.509-SVIDs, and JWT-SVIDs too where an audience is set.
     * "credential" stays unset through the merges so that the default
     * follows the audience of each level; "accept" is what is enforced.
     */
    if (conf->credential == NGX_CONF_UNSET_UINT) {
        conf->credential = prev->credential;
    }

    if (conf->credential != NGX_CONF_UNSET_UINT) {
        conf->accept = conf->credential;

    } else {
        conf->accept = conf->audience.len ? NGX_HTTP_WID_CRED_ANY
                                          : NGX_HTTP_WID_CRED_X509;
    }

    if (ngx_http_wid_make_challenges(cf, conf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (conf->mode == NGX_HTTP_WID_OFF) {
        return NGX_CONF_OK;
    }

    /* Everything a decision needs is checked here: nginx -t fails. */

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_wid_module);
    wmcf->used = 1;

    if (conf->policy == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"wid\" is enabled but no \"wid_policy\" is "
                           "configured (internal.config_error)");
        return NGX_CONF_ERROR;
    }

    if (conf->rule.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"wid\" is enabled but no \"wid_rule\" is "
                           "configured (internal.config_error)");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_wid_policy_has_rule(conf->policy, &conf->rule) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"wid_rule\" \"%V\" is not a rule of the policy "
                           "(policy.unknown_rule)", &conf->rule);
        return NGX_CONF_ERROR;
    }

    if ((conf->accept & NGX_HTTP_WID_CRED_JWT) && conf->audience.len == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"wid_credential\" accepts JWT-SVIDs but no "
                           "\"wid_jwt_audience\" is configured "
                           "(jwt.audience_not_configured)");
        return NGX_CONF_ERROR;
    }

    if (wmcf->trust == NULL || ngx_http_wid_trust_count(wmcf->trust) == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"wid\" is enabled but no \"wid_trust_bundle\" "
                           "or \"wid_trust_bundle_dir\" is configured "
                           "(internal.config_error)");
        return NGX_CONF_ERROR;
    }

    if (wmcf->journal == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"wid\" is enabled but no \"wid_journal\" is "
                           "configured: every decision needs a receipt "
                           "(internal.config_error)");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* RFC 6750 3: Bearer realm="..." [, error="invalid_token"]. */
static char *
ngx_http_wid_make_challenges(ngx_conf_t *cf, ngx_http_wid_loc_conf_t *conf)
{
    u_char  *p;
    size_t   len;

    if (conf->challenge.data != NULL) {
        return NGX_CONF_OK;
    }

    for (p = conf->realm.data; p < conf->realm.data + conf->realm.len; p++) {
        if (*p == '"' || *p == '\\' || *p < 0x20 || *p == 0x7f) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"wid_realm\" \"%V\" must not contain "
                               "quotes, backslashes or control characters",
                               &conf->realm);
            return NGX_CONF_ERROR;
        }
    }

    len = sizeof("Bearer realm=\"\"") - 1 + conf->realm.len;

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    conf->challenge.data = p;
    conf->challenge.len = ngx_sprintf(p, "Bearer realm=\"%V\"", &conf->realm)
                          - p;

    len += sizeof(", error=\"invalid_token\"") - 1;

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    conf->challenge_invalid.data = p;
    conf->challenge_invalid.len = ngx_sprintf(p, "Bearer realm=\"%V\", "
                                              "error=\"invalid_token\"",
                                              &conf->realm)
                                  - p;

    return NGX_CONF_OK;
}


static char *
ngx_http_wid_trust_bundle(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_wid_main_conf_t *wmcf = conf;

    ngx_str_t  *value;

    value = cf->args->elts;

    if (ngx_conf_full_name(cf->cycle, &value[2], 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (wmcf->trust == NULL) {
        wmcf->trust = ngx_http_wid_trust_create(cf);
        if (wmcf->trust == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    return ngx_http_wid_trust_add_file(cf, wmcf->trust, &value[1], &value[2]);
}


static char *
ngx_http_wid_trust_bundle_dir(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_wid_main_conf_t *wmcf = conf;

    ngx_str_t  *value;

    value = cf->args->elts;

    if (ngx_conf_full_name(cf->cycle, &value[1], 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (wmcf->trust == NULL) {
        wmcf->trust = ngx_http_wid_trust_create(cf);
        if (wmcf->trust == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    return ngx_http_wid_trust_add_dir(cf, wmcf->trust, &value[1]);
}


static char *
ngx_http_wid_policy(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_wid_loc_conf_t *wlcf = conf;

    ngx_str_t                 *value, signer;
    ngx_http_wid_main_conf_t  *wmcf;

    if (wlcf->policy != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    value = cf->args->elts;

    ngx_str_null(&signer);

    if (cf->args->nelts == 3) {
        if (ngx_strncmp(value[2].data, "signed_by=", 10) != 0
            || value[2].len == 10)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\"", &value[2]);
            return NGX_CONF_ERROR;
        }

        signer.data = value[2].data + 10;
        signer.len = value[2].len - 10;

        if (ngx_conf_full_name(cf->cycle, &signer, 1) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_conf_full_name(cf->cycle, &value[1], 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_wid_module);

    return ngx_http_wid_policy_load(cf, &wmcf->policies, &value[1],
                                    signer.len ? &signer : NULL,
                                    &wlcf->policy);
}


/* A request header name, kept lowercase as nginx stores lowcase_key. */
static char *
ngx_http_wid_header_name(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_str_t   *field, *value;
    ngx_uint_t   i;

    field = (ngx_str_t *) (p + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0) {
        return "must not be empty";
    }

    for (i = 0; i < value[1].len; i++) {
        if (!((value[1].data[i] >= 'a' && value[1].data[i] <= 'z')
              || (value[1].data[i] >= 'A' && value[1].data[i] <= 'Z')
              || (value[1].data[i] >= '0' && value[1].data[i] <= '9')
              || value[1].data[i] == '-' || value[1].data[i] == '_'))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid header name \"%V\"", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    field->len = value[1].len;
    field->data = ngx_pnalloc(cf->pool, value[1].len);
    if (field->data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_strlow(field->data, value[1].data, value[1].len);

    return NGX_CONF_OK;
}


static char *
ngx_http_wid_check_leeway(ngx_conf_t *cf, void *post, void *data)
{
    time_t  *sp = data;

    if (*sp > NGX_HTTP_WID_MAX_LEEWAY) {
        return "must be at most 1h";
    }

    return NGX_CONF_OK;
}


/*
 * "off" (no limit, the default) or a time up to the verifier's maximum.
 * A zero time is refused: it would read as "no lifetime at all".
 */
static char *
ngx_http_wid_max_lifetime(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    time_t     *sp, max;
    ngx_str_t  *value;

    sp = (time_t *) (p + cmd->offset);

    if (*sp != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 3 && ngx_strncmp(value[1].data, "off", 3) == 0) {
        *sp = 0;
        return NGX_CONF_OK;
    }

    *sp = ngx_parse_time(&value[1], 1);
    max = ngx_http_wid_jwt_lifetime_max();

    if (*sp == (time_t) NGX_ERROR || *sp == 0 || *sp > max) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"wid_jwt_max_lifetime\" \"%V\" is invalid: "
                           "expected \"off\" or a time from 1s to %Td "
                           "(%T seconds)",
                           &value[1], max / 86400, max);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* Rule names and audiences become C strings: no NUL, not empty. */
/* The verifier's own bound, so that nginx -t finds what it would refuse. */
static char *
ngx_http_wid_check_audience(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *s = data;

    if (s->len > WID_AUDIENCE_MAX) {
        return "is longer than 1024 bytes";
    }

    return ngx_http_wid_check_token(cf, post, data);
}


static char *
ngx_http_wid_check_token(ngx_conf_t *cf, void *post, void *data)
{
    ngx_str_t  *s = data;

    if (s->len == 0) {
        return "must not be empty";
    }

    if (ngx_strlchr(s->data, s->data + s->len, '\0') != NULL) {
        return "must not contain NUL";
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_wid_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;
    ngx_http_wid_main_conf_t   *wmcf;

    if (ngx_http_wid_cache_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    wmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_wid_module);

    if (!wmcf->used) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_wid_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_wid_init_process(ngx_cycle_t *cycle)
{
    ngx_http_wid_main_conf_t  *wmcf;

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_wid_module);

    if (wmcf == NULL || !wmcf->used) {
        return NGX_OK;
    }

    /* Before the first request, so that it does not land among one's. */
    wid_jws_thread_init();

    if (wmcf->journal
        && ngx_http_wid_journal_init_process(cycle, wmcf->journal) != NGX_OK)
    {
        /*
         * The worker keeps running and denies what it cannot record
         * (http.journal_unavailable) rather than being respawned in a
         * loop; its journal tick opens the log once it can.
         */
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "wid: journal unavailable in this worker: every "
                      "request that wid would allow is denied until the "
                      "log can be opened");
    }

    if (wmcf->trust && wmcf->bundle_refresh) {
        ngx_http_wid_refresh_event.handler = ngx_http_wid_refresh_handler;
        ngx_http_wid_refresh_event.data = wmcf;
        ngx_http_wid_refresh_event.log = cycle->log;
        ngx_http_wid_refresh_event.cancelable = 1;

        ngx_add_timer(&ngx_http_wid_refresh_event, wmcf->bundle_refresh);
    }

    return NGX_OK;
}


static void
ngx_http_wid_refresh_handler(ngx_event_t *ev)
{
    ngx_http_wid_main_conf_t  *wmcf = ev->data;

    if (ngx_exiting) {
        return;
    }

    ngx_http_wid_trust_refresh(wmcf->trust, ev->log);

    ngx_add_timer(ev, wmcf->bundle_refresh);
}


static void
ngx_http_wid_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_wid_main_conf_t  *wmcf;

    wmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_wid_module);

    if (wmcf == NULL || wmcf->journal == NULL) {
        return;
    }

    ngx_http_wid_journal_exit_process(cycle, wmcf->journal);
}
