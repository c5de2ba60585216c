
/*
 * Glue between the module and libcore's identity core: trust bundles per
 * trust domain, X.509-SVID and JWT-SVID verification, and the identity
 * values the module keeps (packed into one block for the caches).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "sha256.h"

#include "ngx_http_wid.h"
#include "bundle.h"
#include "identity.h"
#include "x509svid.h"
#include "jwtsvid.h"


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
           + src->fingerprint.len + 1;
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
    ngx_memcpy(dst->bundle_sha256, src->bundle_sha256,
               NGX_HTTP_WID_SHA256_LEN);

    p = ngx_http_wid_pack_str(&dst->spiffe_id, p, &src->spiffe_id);
    p = ngx_http_wid_pack_str(&dst->trust_domain, p, &src->trust_domain);
    p = ngx_http_wid_pack_str(&dst->path, p, &src->path);
    p = ngx_http_wid_pack_str(&dst->serial, p, &src->serial);
    (void) ngx_http_wid_pack_str(&dst->fingerprint, p, &src->fingerprint);
}


ngx_http_wid_ident_t *
ngx_http_wid_ident_dup(ngx_pool_t *pool, const ngx_http_wid_ident_t *src)
{
    u_char                *p;
    ngx_http_wid_ident_t  *dst;

    /* Aligned (ngx_palloc, not ngx_pnalloc): a struct heads the block. */
    p = ngx_palloc(pool, sizeof(ngx_http_wid_ident_t)
                         + ngx_http_wid_ident_size(src));
    if (p == NULL) {
        return NULL;
    }

    dst = (ngx_http_wid_ident_t *) p;
    ngx_http_wid_ident_pack(dst, p + sizeof(ngx_http_wid_ident_t), src);

    return dst;
}


size_t
ngx_http_wid_attest_size(const ngx_http_wid_attest_t *src)
{
    return src->spiffe_id.len + 1 + src->verifier.len + 1 + src->type.len + 1
           + src->tier.len + 1;
}


/* Copy src into dst; its strings go to p (ngx_http_wid_attest_size bytes). */
void
ngx_http_wid_attest_pack(ngx_http_wid_attest_t *dst, u_char *p,
    const ngx_http_wid_attest_t *src)
{
    dst->verifier_index = src->verifier_index;
    dst->issued_at = src->issued_at;
    dst->expires_at = src->expires_at;
    ngx_memcpy(dst->evidence_sha256, src->evidence_sha256,
               NGX_HTTP_WID_SHA256_LEN);

    p = ngx_http_wid_pack_str(&dst->spiffe_id, p, &src->spiffe_id);
    p = ngx_http_wid_pack_str(&dst->verifier, p, &src->verifier);
    p = ngx_http_wid_pack_str(&dst->type, p, &src->type);
    (void) ngx_http_wid_pack_str(&dst->tier, p, &src->tier);
}


ngx_http_wid_attest_t *
ngx_http_wid_attest_dup(ngx_pool_t *pool, const ngx_http_wid_attest_t *src)
{
    u_char                 *p;
    ngx_http_wid_attest_t  *dst;

    p = ngx_palloc(pool, sizeof(ngx_http_wid_attest_t)
                         + ngx_http_wid_attest_size(src));
    if (p == NULL) {
        return NULL;
    }

    dst = (ngx_http_wid_attest_t *) p;
    ngx_http_wid_attest_pack(dst, p + sizeof(ngx_http_wid_attest_t), src);

    return dst;
}



struct ngx_http_wid_trust_s {
    wid_bundle_set  *set;
    ngx_log_t       *log;
    uint64_t         generation;
    ngx_uint_t       running;      /* refreshed by a worker: a last good
                                      bundle exists */
};


static void ngx_http_wid_trust_cleanup(void *data);
static void ngx_http_wid_trust_report(void *data, const char *path,
    const char *td, wid_reason_t reason);
static ngx_http_wid_ident_t *ngx_http_wid_ident_from(ngx_pool_t *pool,
    wid_identity *id, ngx_uint_t kind);


ngx_http_wid_trust_t *
ngx_http_wid_trust_create(ngx_conf_t *cf)
{
    ngx_pool_cleanup_t    *cln;
    ngx_http_wid_trust_t  *trust;

    trust = ngx_pcalloc(cf->pool, sizeof(ngx_http_wid_trust_t));
    if (trust == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    trust->set = wid_bundle_set_new();
    if (trust->set == NULL) {
        return NULL;
    }

    cln->handler = ngx_http_wid_trust_cleanup;
    cln->data = trust->set;

    trust->log = cf->log;
    wid_bundle_set_on_report(trust->set, ngx_http_wid_trust_report, trust);

    return trust;
}


static void
ngx_http_wid_trust_cleanup(void *data)
{
    wid_bundle_set_free(data);
}


/* Each bad version of a bundle file is reported once by libcore. */
static void
ngx_http_wid_trust_report(void *data, const char *path, const char *td,
    wid_reason_t reason)
{
    ngx_http_wid_trust_t *trust = data;

    ngx_log_error(NGX_LOG_ERR, trust->log, 0,
                  "wid: trust bundle \"%s\"%s%s%s: %s (%s)%s",
                  path ? path : "", td ? " (trust domain \"" : "",
                  td ? td : "", td ? "\")" : "",
                  wid_reason_code(reason), wid_reason_text(reason),
                  trust->running ? "; the last good bundle stays in use"
                                 : "");
}


char *
ngx_http_wid_trust_add_file(ngx_conf_t *cf, ngx_http_wid_trust_t *trust,
    ngx_str_t *td, ngx_str_t *file)
{
    wid_reason_t  rc;

    rc = wid_bundle_set_add(trust->set, (char *) td->data,
                            (char *) file->data);

    if (rc == WID_R_BUNDLE_DIRECTORY_NAMED) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "trust bundle \"%V\" for \"%V\": %s (a directory: "
                           "wid_trust_bundle_dir reads directories)",
                           file, td, wid_reason_code(rc));
        return NGX_CONF_ERROR;
    }

    if (rc != WID_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "trust bundle \"%V\" for \"%V\": %s (%s)",
                           file, td, wid_reason_code(rc),
                           wid_reason_text(rc));
        return NGX_CONF_ERROR;
    }

    trust->generation = wid_bundle_set_generation(trust->set);

    return NGX_CONF_OK;
}


char *
ngx_http_wid_trust_add_dir(ngx_conf_t *cf, ngx_http_wid_trust_t *trust,
    ngx_str_t *dir)
{
    wid_reason_t  rc;

    rc = wid_bundle_set_add(trust->set, NULL, (char *) dir->data);
    if (rc != WID_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "trust bundle directory \"%V\": %s (%s)",
                           dir, wid_reason_code(rc), wid_reason_text(rc));
        return NGX_CONF_ERROR;
    }

    trust->generation = wid_bundle_set_generation(trust->set);

    return NGX_CONF_OK;
}


ngx_uint_t
ngx_http_wid_trust_count(ngx_http_wid_trust_t *trust)
{
    return wid_bundle_set_count(trust->set);
}


void
ngx_http_wid_trust_refresh(ngx_http_wid_trust_t *trust, ngx_log_t *log)
{
    uint64_t  generation;

    trust->log = log;
    trust->running = 1;

    /* Problems are reported through ngx_http_wid_trust_report(). */
    (void) wid_bundle_set_refresh(trust->set, (int64_t) ngx_time());

    generation = wid_bundle_set_generation(trust->set);

    if (generation != trust->generation) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "wid: trust bundles changed on disk and were "
                      "reloaded (generation %uL)", generation);
        trust->generation = generation;
    }
}


/* Changes whenever this worker's bundles do (reload, rotation on disk). */
uint64_t
ngx_http_wid_trust_generation(ngx_http_wid_trust_t *trust)
{
    return wid_bundle_set_generation(trust->set);
}


/*
 * An identity verified earlier still stands while the bundle file that
 * vouched for it is, byte for byte, one this worker trusts now for the
 * identity's trust domain.
 */
ngx_int_t
ngx_http_wid_trust_current(ngx_http_wid_trust_t *trust,
    const ngx_http_wid_ident_t *ident)
{
    return ngx_http_wid_trust_match(trust, ident->trust_domain.data,
                                    ident->trust_domain.len,
                                    ident->bundle_sha256,
                                    NGX_HTTP_WID_SHA256_LEN, NULL);
}


/*
 * Whether a bundle file whose SHA-256 starts with sha (sha_len bytes, at
 * least 16) is in force for the trust domain td; if so and full is not
 * NULL, its whole SHA-256 goes there.  libcore keeps the hashes as hex.
 */
ngx_int_t
ngx_http_wid_trust_match(ngx_http_wid_trust_t *trust, const u_char *td,
    size_t td_len, const u_char *sha, size_t sha_len,
    u_char full[NGX_HTTP_WID_SHA256_LEN])
{
    u_char             hex[NGX_HTTP_WID_SHA256_HEX];
    size_t             i, n;
    const char        *src;
    const wid_bundle  *b;

    if (sha_len < 16 || sha_len > NGX_HTTP_WID_SHA256_LEN) {
        return NGX_DECLINED;
    }

    b = wid_bundle_set_find(trust->set, (const char *) td, td_len);
    if (b == NULL) {
        return NGX_DECLINED;
    }

    ngx_hex_dump(hex, (u_char *) sha, sha_len);

    n = wid_bundle_source_count(b);

    for (i = 0; i < n; i++) {
        src = wid_bundle_source_sha256(b, i);

        if (src == NULL
            || ngx_strncmp(src, hex, 2 * sha_len) != 0
            || ngx_strnlen((u_char *) src, NGX_HTTP_WID_SHA256_HEX + 1)
               != NGX_HTTP_WID_SHA256_HEX)
        {
            continue;
        }

        if (full != NULL
            && ngx_http_wid_hex_decode(full, (u_char *) src,
                                       NGX_HTTP_WID_SHA256_LEN)
               != NGX_OK)
        {
            return NGX_DECLINED;
        }

        return NGX_OK;
    }

    return NGX_DECLINED;
}


/* len bytes from 2 * len lowercase or uppercase hex digits. */
ngx_int_t
ngx_http_wid_hex_decode(u_char *dst, const u_char *hex, size_t len)
{
    u_char  c, hi, lo;
    size_t  i, k;

    for (i = 0; i < len; i++) {
        hi = lo = 0;

        for (k = 0; k < 2; k++) {
            c = hex[2 * i + k];

            if (c >= '0' && c <= '9') {
                c -= '0';

            } else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') {
                c = (u_char) ((c | 0x20) - 'a' + 10);

            } else {
                return NGX_ERROR;
            }

            if (k == 0) {
                hi = c;
            } else {
                lo = c;
            }
        }

        dst[i] = (u_char) ((hi << 4) | lo);
    }

    return NGX_OK;
}


/* SHA-256 over the concatenation of n parts (at most 8). */
ngx_int_t
ngx_http_wid_sha256(u_char out[NGX_HTTP_WID_SHA256_LEN],
    const ngx_str_t *parts, ngx_uint_t n)
{
    ngx_uint_t       i;
    wid_sha256_part  p[8];

    if (n > 8) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        p[i].data = parts[i].data;
        p[i].len = parts[i].len;
    }

    wid_sha256_parts(p, n, out);

    return NGX_OK;
}


void
ngx_http_wid_token_sha256(ngx_str_t *token,
    u_char token_sha256[NGX_HTTP_WID_SHA256_LEN],
    u_char input_sha256[NGX_HTTP_WID_SHA256_LEN])
{
    u_char  *dot;

    /* The signing input: the token up to its last '.' (none: empty). */
    for (dot = token->data + token->len;
         dot > token->data && dot[-1] != '.';
         dot--)
    {
        /* void */
    }

    wid_sha256_prefix(token->data,
                      dot > token->data ? (size_t) (dot - 1 - token->data) : 0,
                      token->len, input_sha256, token_sha256);
}


static ngx_http_wid_ident_t *
ngx_http_wid_ident_from(ngx_pool_t *pool, wid_identity *id, ngx_uint_t kind)
{
    ngx_http_wid_ident_t  v;

    v.kind = kind;
    v.not_after = (time_t) id->not_after;

    v.spiffe_id.data = (u_char *) id->spiffe_id;
    v.spiffe_id.len = ngx_strlen(id->spiffe_id);
    v.trust_domain.data = (u_char *) id->trust_domain;
    v.trust_domain.len = ngx_strlen(id->trust_domain);
    v.path.data = (u_char *) id->path;
    v.path.len = ngx_strlen(id->path);
    v.serial.data = (u_char *) id->serial;
    v.serial.len = ngx_strlen(id->serial);
    v.fingerprint.data = (u_char *) id->fingerprint;
    v.fingerprint.len = ngx_strlen(id->fingerprint);

    /* libcore gives the bundle's hash as hex; every user wants bytes. */
    if (ngx_strlen(id->bundle_sha256) != NGX_HTTP_WID_SHA256_HEX
        || ngx_http_wid_hex_decode(v.bundle_sha256,
                                   (u_char *) id->bundle_sha256,
                                   NGX_HTTP_WID_SHA256_LEN)
           != NGX_OK)
    {
        return NULL;
    }

    return ngx_http_wid_ident_dup(pool, &v);
}


wid_reason_t
ngx_http_wid_verify_x509(ngx_http_wid_trust_t *trust, ngx_connection_t *c,
    ngx_pool_t *pool, ngx_http_wid_ident_t **out)
{
    X509            *leaf;
    wid_reason_t     rc;
    wid_identity     id;
    STACK_OF(X509)  *chain;

    leaf = SSL_get0_peer_certificate(c->ssl->connection);
    if (leaf == NULL) {
        return WID_R_X509_NO_CERT;
    }

    /*
     * On the server side the chain holds the peer's intermediates only
     * (never the leaf); a resumed session may have none.
     */
    chain = SSL_get_peer_cert_chain(c->ssl->connection);
    id.detail = WID_OK;

    rc = wid_x509svid_verify(trust->set, leaf, chain, (int64_t) ngx_time(),
                             0, &id);
    if (rc != WID_OK) {
        if (id.detail != WID_OK) {
            ngx_log_error(NGX_LOG_INFO, c->log, 0,
                          "wid: X.509-SVID rejected: %s, detail %s",
                          wid_reason_code(rc), wid_reason_code(id.detail));
        }

        return rc;
    }

    *out = ngx_http_wid_ident_from(pool, &id, NGX_HTTP_WID_CRED_X509);

    return *out ? WID_OK : WID_R_INTERNAL_NOMEM;
}


wid_reason_t
ngx_http_wid_verify_jwt(ngx_http_wid_trust_t *trust, ngx_str_t *token,
    ngx_str_t *audience, time_t leeway, time_t max_lifetime,
    ngx_pool_t *pool, ngx_http_wid_ident_t **out)
{
    wid_reason_t      rc;
    wid_identity      id;
    wid_jwtsvid_opts  opts;

    ngx_memzero(&opts, sizeof(wid_jwtsvid_opts));

    opts.audience = (char *) audience->data;
    opts.now = (int64_t) ngx_time();
    opts.leeway = (int64_t) leeway;
    opts.max_lifetime = (int64_t) max_lifetime;

    id.detail = WID_OK;

    rc = wid_jwtsvid_verify_opts(trust->set, (char *) token->data, token->len,
                                 &opts, &id);
    if (rc != WID_OK) {
        if (id.detail != WID_OK) {
            ngx_log_error(NGX_LOG_INFO, pool->log, 0,
                          "wid: JWT-SVID rejected: %s, detail %s",
                          wid_reason_code(rc), wid_reason_code(id.detail));
        }

        return rc;
    }

    *out = ngx_http_wid_ident_from(pool, &id, NGX_HTTP_WID_CRED_JWT);

    return *out ? WID_OK : WID_R_INTERNAL_NOMEM;
}


/* The longest wid_jwt_max_lifetime the verifier takes, in seconds. */
time_t
ngx_http_wid_jwt_lifetime_max(void)
{
    return (time_t) WID_JWTSVID_LIFETIME_MAX;
}
