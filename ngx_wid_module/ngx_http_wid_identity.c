
/*
 * Glue between the module and libcore's identity core: trust bundles per
 * trust domain, X.509-SVID and JWT-SVID verification, and the identity
 * values the module keeps (packed into one block for the caches).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wid.h"
#include "bytes.h"


#if defined(__has_include)
#if __has_include("bundle.h") && __has_include("x509svid.h") \
    && __has_include("jwtsvid.h")
#define NGX_HTTP_WID_HAVE_IDENTITY  1
#endif
#endif


static ngx_str_t  ngx_http_wid_empty = ngx_string("");


const char *
ngx_http_wid_cred_name(ngx_uint_t kind)
{
    switch (kind) {

    case NGX_HTTP_WID_CRED_X509:
        return "x509_svid";

    case NGX_HTTP_WID_CRED_JWT:
        return "jwt_svid";

    default:
        return "none";
    }
}


size_t
ngx_http_wid_ident_size(const ngx_http_wid_ident_t *src)
{
    return src->spiffe_id.len + 1 + src->trust_domain.len + 1
           + src->path.len + 1 + src->serial.len + 1
           + src->fingerprint.len + 1 + src->bundle_sha256.len + 1
           + src->audience.len + 1;
}


static u_char *
ngx_http_wid_pack_str(ngx_str_t *dst, u_char *p, const ngx_str_t *src)
{
    dst->data = p;
    dst->len = src->len;

    p = ngx_cpymem(p, src->data, src->len);
    *p++ = '\0';

    return p;
}


/* Copy src into dst; its strings go to p (ngx_http_wid_ident_size bytes). */
void
ngx_http_wid_ident_pack(ngx_http_wid_ident_t *dst, u_char *p,
    const ngx_http_wid_ident_t *src)
{
    dst->kind = src->kind;
    dst->not_after = src->not_after;

    p = ngx_http_wid_pack_str(&dst->spiffe_id, p, &src->spiffe_id);
    p = ngx_http_wid_pack_str(&dst->trust_domain, p, &src->trust_domain);
    p = ngx_http_wid_pack_str(&dst->path, p, &src->path);
    p = ngx_http_wid_pack_str(&dst->serial, p, &src->serial);
    p = ngx_http_wid_pack_str(&dst->fingerprint, p, &src->fingerprint);
    p = ngx_http_wid_pack_str(&dst->bundle_sha256, p, &src->bundle_sha256);
    (void) ngx_http_wid_pack_str(&dst->audience, p, &src->audience);
}


ngx_http_wid_ident_t *
ngx_http_wid_ident_dup(ngx_pool_t *pool, const ngx_http_wid_ident_t *src)
{
    u_char                *p;
    ngx_http_wid_ident_t  *dst;

    p = ngx_pnalloc(pool, sizeof(ngx_http_wid_ident_t)
                          + ngx_http_wid_ident_size(src));
    if (p == NULL) {
        return NULL;
    }

    dst = (ngx_http_wid_ident_t *) p;
    ngx_http_wid_ident_pack(dst, p + sizeof(ngx_http_wid_ident_t), src);

    return dst;
}


#if (NGX_HTTP_WID_HAVE_IDENTITY)

#error "identity core landed: wire ngx_http_wid_identity.c to it"

#else

/*
 * Without the identity core the module still parses its configuration
 * (bundle files must exist and be readable) but never authenticates
 * anybody: every presented credential is refused as a configuration
 * error.  Fail closed.
 */

struct ngx_http_wid_trust_s {
    ngx_uint_t  count;
};


ngx_http_wid_trust_t *
ngx_http_wid_trust_create(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_wid_trust_t));
}


char *
ngx_http_wid_trust_add_file(ngx_conf_t *cf, ngx_http_wid_trust_t *trust,
    ngx_str_t *td, ngx_str_t *file)
{
    size_t          len;
    unsigned char  *bytes;
    wid_reason_t    rc;

    rc = wid_read_file((char *) file->data, WID_FILE_MAX, &bytes, &len);
    if (rc != WID_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "trust bundle \"%V\" for \"%V\": %s (%s)",
                           file, td, wid_reason_code(rc),
                           wid_reason_text(rc));
        return NGX_CONF_ERROR;
    }

    free(bytes);
    trust->count++;

    return NGX_CONF_OK;
}


char *
ngx_http_wid_trust_add_dir(ngx_conf_t *cf, ngx_http_wid_trust_t *trust,
    ngx_str_t *dir)
{
    ngx_file_info_t  fi;

    if (ngx_file_info(dir->data, &fi) == NGX_FILE_ERROR || !ngx_is_dir(&fi)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "trust bundle directory \"%V\" cannot be read",
                           dir);
        return NGX_CONF_ERROR;
    }

    trust->count++;

    return NGX_CONF_OK;
}


ngx_uint_t
ngx_http_wid_trust_count(ngx_http_wid_trust_t *trust)
{
    return trust->count;
}


void
ngx_http_wid_trust_refresh(ngx_http_wid_trust_t *trust, ngx_log_t *log)
{
}


ngx_int_t
ngx_http_wid_trust_current(ngx_http_wid_trust_t *trust,
    const ngx_http_wid_ident_t *ident)
{
    return NGX_DECLINED;
}


wid_reason_t
ngx_http_wid_verify_x509(ngx_http_wid_trust_t *trust, ngx_connection_t *c,
    ngx_pool_t *pool, ngx_http_wid_ident_t **out)
{
    (void) ngx_http_wid_empty;

    ngx_log_error(NGX_LOG_ALERT, c->log, 0,
                  "wid: built without X.509-SVID verification");

    return WID_R_INTERNAL_CONFIG;
}


wid_reason_t
ngx_http_wid_verify_jwt(ngx_http_wid_trust_t *trust, ngx_str_t *token,
    ngx_str_t *audience, time_t leeway, ngx_pool_t *pool,
    ngx_http_wid_ident_t **out)
{
    ngx_log_error(NGX_LOG_ALERT, pool->log, 0,
                  "wid: built without JWT-SVID verification");

    return WID_R_INTERNAL_CONFIG;
}

#endif
