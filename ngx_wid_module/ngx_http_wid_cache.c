
/*
 * Verified identities, reused instead of verified again:
 *
 * - JWT-SVIDs in a shared-memory zone that all workers use: a hash table
 *   keyed by a SHA-256 over the token's SHA-256 (bound to the audience,
 *   leeway and maximum lifetime it was verified for), CLOCK eviction that
 *   bounds it to the zone's size, entries that expire with the token (the
 *   last second the verifier accepts it).  A hit counts only while the
 *   bundle that verified the token is still the one this worker holds
 *   for its trust domain (content hash), so a rotated or withdrawn
 *   authority invalidates its entries in every worker, and so does a
 *   reload that changes them.  A verified attestation result sent with
 *   the token is kept in the same entry (the caller's key then binds the
 *   result bytes and the policy hash, and the entry's expiry the
 *   result's validity).  Policy results are never cached: the policy is
 *   asked on every request.
 *
 * - the X.509-SVID of a TLS connection, kept on the SSL object (ex_data)
 *   for the life of the connection, shared by its HTTP/2 streams, and
 *   checked against its expiry and the bundle on every use.
 *
 * - the last JWT-SVID a TLS connection presented (without an attestation
 *   result), kept the same way with the exact token bytes: a keepalive
 *   client that sends the same token again is recognised by comparing
 *   bytes, without hashing the token or taking the zone's lock.  Checked
 *   against its expiry and the bundle on every use, like the zone's
 *   entries.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wid.h"
#include "bytes.h"


/*
 * The zone: a table of buckets (offsets of the first entry of each chain)
 * and the entries, each one slab allocation sized to fit.  Offsets, not
 * pointers, are relative to the zone's start: 4 bytes each.  Eviction is
 * CLOCK (second chance): a hand sweeps the buckets, an entry used since
 * the hand last passed is spared once, so no per-entry LRU links are
 * needed.
 */
typedef struct {
    uint32_t                   *buckets;
    ngx_uint_t                  mask;         /* buckets - 1 */
    ngx_uint_t                  hand;         /* next bucket to sweep */
} ngx_http_wid_cache_sh_t;


typedef struct {
    ngx_http_wid_cache_sh_t    *sh;
    ngx_slab_pool_t            *shpool;
} ngx_http_wid_cache_t;


#define NGX_HTTP_WID_CE_USED        0x01      /* hit since the hand passed */
#define NGX_HTTP_WID_CE_ATTEST      0x02      /* an attestation follows */

#define NGX_HTTP_WID_CE_BUNDLE      16        /* bundle hash bytes kept */


/*
 * One verified JWT-SVID: what a hit needs and no more.  The trust domain
 * and path are parts of the SPIFFE ID; the receipt's credential id (the
 * SHA-256 of the token's signing input) comes from the pass that hashes
 * the token for the key; the audience is the location's (the key binds
 * it); the bundle is named by the first 16 bytes of its SHA-256 and its
 * full hash is taken from the worker's bundle that matches.  68 bytes
 * and the SPIFFE ID: 128 with an ID of up to 60 bytes.
 */
typedef struct {
    uint32_t                    next;         /* offset, 0: end of chain */
    uint32_t                    expires;      /* Unix seconds */
    int64_t                     not_after;
    u_char                      key[NGX_HTTP_WID_SHA256_LEN];
    u_char                      bundle[NGX_HTTP_WID_CE_BUNDLE];
    uint16_t                    id_len;
    u_char                      td_len;
    u_char                      flags;
    u_char                      data[];       /* SPIFFE ID [, attestation] */
} ngx_http_wid_cache_node_t;


#define NGX_HTTP_WID_CE_HEAD  offsetof(ngx_http_wid_cache_node_t, data)

/* Buckets per zone byte: about one per two 512-byte pages of entries. */
#define NGX_HTTP_WID_CACHE_BUCKET_BYTES  1024

/* Buckets swept per eviction attempt, and attempts per insert. */
#define NGX_HTTP_WID_CACHE_SWEEP    16
#define NGX_HTTP_WID_CACHE_EVICT    32


static ngx_int_t ngx_http_wid_cache_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_wid_cache_node_t *ngx_http_wid_cache_lookup(
    ngx_http_wid_cache_t *cache, const u_char *key, uint32_t **link);
static void ngx_http_wid_cache_sweep(ngx_http_wid_cache_t *cache,
    time_t now, ngx_uint_t n, ngx_uint_t expired_only);
static void ngx_http_wid_conn_cleanup(void *data);


static int  ngx_http_wid_ssl_index = -1;


char *
ngx_http_wid_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_wid_main_conf_t *wmcf = conf;

    u_char                *p;
    ssize_t                size;
    ngx_str_t             *value, name, s;
    ngx_http_wid_cache_t  *cache;

    if (wmcf->cache_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    p = (u_char *) ngx_strchr(value[1].data, ':');

    if (p == NULL || p == value[1].data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone \"%V\", expected NAME:SIZE",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    name.data = value[1].data;
    name.len = p - value[1].data;

    s.data = p + 1;
    s.len = value[1].data + value[1].len - s.data;

    size = ngx_parse_size(&s);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid zone size \"%V\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too small", &value[1]);
        return NGX_CONF_ERROR;
    }

    /* Entries are linked by 32-bit offsets into the zone. */
    if ((uint64_t) size > 0xffffffffULL - ngx_pagesize) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "zone \"%V\" is too large (at most 4095m)",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    cache = ngx_pcalloc(cf->pool, sizeof(ngx_http_wid_cache_t));
    if (cache == NULL) {
        return NGX_CONF_ERROR;
    }

    wmcf->cache_zone = ngx_shared_memory_add(cf, &name, size,
                                             &ngx_http_wid_module);
    if (wmcf->cache_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (wmcf->cache_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate zone \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    wmcf->cache_zone->init = ngx_http_wid_cache_init_zone;
    wmcf->cache_zone->data = cache;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_wid_cache_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_wid_cache_t  *ocache = data;

    size_t                 len;
    ngx_uint_t             n;
    ngx_http_wid_cache_t  *cache;

    cache = shm_zone->data;

    if (ocache) {
        /* Reload: entries stay; each hit is checked against the bundles. */
        cache->sh = ocache->sh;
        cache->shpool = ocache->shpool;
        return NGX_OK;
    }

    cache->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        cache->sh = cache->shpool->data;
        return NGX_OK;
    }

    cache->sh = ngx_slab_alloc(cache->shpool, sizeof(ngx_http_wid_cache_sh_t));
    if (cache->sh == NULL) {
        return NGX_ERROR;
    }

    cache->shpool->data = cache->sh;

    /* A power of two, at least 64. */
    for (n = 64; n < shm_zone->shm.size / NGX_HTTP_WID_CACHE_BUCKET_BYTES;
         n <<= 1)
    {
        /* void */
    }

    cache->sh->buckets = ngx_slab_alloc(cache->shpool, n * sizeof(uint32_t));
    if (cache->sh->buckets == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(cache->sh->buckets, n * sizeof(uint32_t));
    cache->sh->mask = n - 1;
    cache->sh->hand = 0;

    len = sizeof(" in wid_cache_zone \"\"") + shm_zone->shm.name.len;

    cache->shpool->log_ctx = ngx_slab_alloc(cache->shpool, len);
    if (cache->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(cache->shpool->log_ctx, " in wid_cache_zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* A full zone evicts entries, quietly. */
    cache->shpool->log_nomem = 0;

    return NGX_OK;
}


#define ngx_http_wid_cache_ptr(cache, off)                                    \
    ((ngx_http_wid_cache_node_t *) ((u_char *) (cache)->shpool + (off)))

#define ngx_http_wid_cache_off(cache, cn)                                     \
    ((uint32_t) ((u_char *) (cn) - (u_char *) (cache)->shpool))


static uint32_t *
ngx_http_wid_cache_bucket(ngx_http_wid_cache_t *cache, const u_char *key)
{
    uint64_t  k;

    /* The key is a SHA-256: any of its bits are as good as a hash. */
    ngx_memcpy(&k, key, sizeof(uint64_t));

    return &cache->sh->buckets[k & cache->sh->mask];
}


/* The entry for key, and the link that points to it (for unlinking). */
static ngx_http_wid_cache_node_t *
ngx_http_wid_cache_lookup(ngx_http_wid_cache_t *cache, const u_char *key,
    uint32_t **link)
{
    uint32_t                   *l;
    ngx_http_wid_cache_node_t  *cn;

    for (l = ngx_http_wid_cache_bucket(cache, key); *l; l = &cn->next) {
        cn = ngx_http_wid_cache_ptr(cache, *l);

        if (ngx_memcmp(cn->key, key, NGX_HTTP_WID_SHA256_LEN) == 0) {
            *link = l;
            return cn;
        }
    }

    return NULL;
}


static void
ngx_http_wid_cache_unlink(ngx_http_wid_cache_t *cache, uint32_t *link,
    ngx_http_wid_cache_node_t *cn)
{
    *link = cn->next;
    ngx_slab_free_locked(cache->shpool, cn);
}


/*
 * Move the hand over n buckets: drop expired entries and, unless
 * expired_only, entries not used since the hand last passed (clearing
 * the mark of those that were).
 */
static void
ngx_http_wid_cache_sweep(ngx_http_wid_cache_t *cache, time_t now,
    ngx_uint_t n, ngx_uint_t expired_only)
{
    uint32_t                   *l;
    ngx_http_wid_cache_node_t  *cn;

    while (n--) {
        l = &cache->sh->buckets[cache->sh->hand];
        cache->sh->hand = (cache->sh->hand + 1) & cache->sh->mask;

        while (*l) {
            cn = ngx_http_wid_cache_ptr(cache, *l);

            if ((time_t) cn->expires < now
                || (!expired_only && !(cn->flags & NGX_HTTP_WID_CE_USED)))
            {
                ngx_http_wid_cache_unlink(cache, l, cn);
                continue;
            }

            if (!expired_only) {
                cn->flags &= ~NGX_HTTP_WID_CE_USED;
            }

            l = &cn->next;
        }
    }
}


ngx_int_t
ngx_http_wid_jwt_cache_get(ngx_http_request_t *r, ngx_shm_zone_t *zone,
    ngx_http_wid_trust_t *trust, const u_char key[NGX_HTTP_WID_SHA256_LEN],
    const u_char input_sha256[NGX_HTTP_WID_SHA256_LEN],
    ngx_http_wid_ident_t **out, ngx_http_wid_attest_t **attest)
{
    u_char                      td[256];
    u_char                      bundle[NGX_HTTP_WID_CE_BUNDLE];
    u_char                     *p;
    size_t                      id_len, td_len;
    time_t                      now;
    uint32_t                   *link;
    ngx_uint_t                  found, nomem;
    ngx_http_wid_cache_t       *cache;
    ngx_http_wid_ident_t       *ident;
    ngx_http_wid_attest_t      *att;
    ngx_http_wid_cache_node_t  *cn;

    cache = zone->data;
    now = ngx_time();
    ident = NULL;
    att = NULL;
    found = 0;
    nomem = 0;
    td_len = 0;

    ngx_shmtx_lock(&cache->shpool->mutex);

    cn = ngx_http_wid_cache_lookup(cache, key, &link);

    if (cn != NULL) {
        if ((time_t) cn->expires < now) {
            ngx_http_wid_cache_unlink(cache, link, cn);

        } else {
            found = 1;
            cn->flags |= NGX_HTTP_WID_CE_USED;

            /*
             * Copied out, as the identity a request holds (C strings):
             * the entry may be evicted once we unlock.
             */
            id_len = cn->id_len;
            td_len = cn->td_len;

            /* Aligned (ngx_palloc): a struct heads the block. */
            ident = ngx_palloc(r->pool, sizeof(ngx_http_wid_ident_t)
                               + 2 * id_len + 3
                               + NGX_HTTP_WID_SHA256_HEX + 2);
            if (ident == NULL) {
                nomem = 1;

            } else {
                p = (u_char *) (ident + 1);

                ident->kind = NGX_HTTP_WID_CRED_JWT;
                ident->not_after = (time_t) cn->not_after;

                ident->spiffe_id.data = p;
                ident->spiffe_id.len = id_len;
                p = ngx_cpymem(p, cn->data, id_len);
                *p++ = '\0';

                ident->trust_domain.data = p;
                ident->trust_domain.len = td_len;
                p = ngx_cpymem(p, cn->data + sizeof("spiffe://") - 1, td_len);
                *p++ = '\0';

                ident->path.data = p;
                ident->path.len = id_len - (sizeof("spiffe://") - 1) - td_len;
                p = ngx_cpymem(p, cn->data + (sizeof("spiffe://") - 1)
                                  + td_len, ident->path.len);
                *p++ = '\0';

                ident->serial.data = p;
                ident->serial.len = NGX_HTTP_WID_SHA256_HEX;
                p = ngx_hex_dump(p, (u_char *) input_sha256,
                                 NGX_HTTP_WID_SHA256_LEN);
                *p++ = '\0';

                ident->fingerprint.data = p;
                ident->fingerprint.len = 0;
                *p = '\0';

                ngx_memcpy(td, ident->trust_domain.data, td_len);
                ngx_memcpy(bundle, cn->bundle, NGX_HTTP_WID_CE_BUNDLE);

                if (cn->flags & NGX_HTTP_WID_CE_ATTEST) {
                    att = ngx_http_wid_attest_dup(r->pool,
                              (ngx_http_wid_attest_t *)
                              ngx_align_ptr(cn->data + id_len, NGX_ALIGNMENT));
                    nomem = (att == NULL);
                }
            }
        }
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    if (!found || nomem) {
        return NGX_DECLINED;
    }

    if (ngx_http_wid_trust_match(trust, td, td_len, bundle,
                                 NGX_HTTP_WID_CE_BUNDLE, ident->bundle_sha256)
        != NGX_OK)
    {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "wid: cached JWT-SVID of a replaced bundle");
        return NGX_DECLINED;
    }

    *out = ident;
    *attest = att;

    return NGX_OK;
}


void
ngx_http_wid_jwt_cache_put(ngx_http_request_t *r, ngx_shm_zone_t *zone,
    const u_char key[NGX_HTTP_WID_SHA256_LEN], time_t expires,
    const ngx_http_wid_ident_t *ident, const ngx_http_wid_attest_t *attest)
{
    size_t                      size, off;
    time_t                      now;
    uint32_t                   *link;
    ngx_uint_t                  i;
    ngx_http_wid_cache_t       *cache;
    ngx_http_wid_cache_node_t  *cn, *old;

    cache = zone->data;
    now = ngx_time();

    if (expires < now) {
        return;
    }

    if (expires > (time_t) 0xffffffff) {
        /* Kept no longer than 32 bits of time say: sooner is safe. */
        expires = (time_t) 0xffffffff;
    }

    /* The trust domain and path are stored as parts of the SPIFFE ID. */
    if (ident->trust_domain.len > 255
        || ident->spiffe_id.len > 0xffff
        || ident->spiffe_id.len != sizeof("spiffe://") - 1
                                   + ident->trust_domain.len + ident->path.len
        || ngx_strncmp(ident->spiffe_id.data, "spiffe://",
                       sizeof("spiffe://") - 1) != 0
        || ngx_memcmp(ident->spiffe_id.data + sizeof("spiffe://") - 1,
                      ident->trust_domain.data, ident->trust_domain.len) != 0
        || ngx_memcmp(ident->spiffe_id.data + sizeof("spiffe://") - 1
                      + ident->trust_domain.len, ident->path.data,
                      ident->path.len) != 0)
    {
        return;
    }

    off = NGX_HTTP_WID_CE_HEAD + ident->spiffe_id.len;
    size = off;

    if (attest) {
        off = ngx_align(off, NGX_ALIGNMENT);
        size = off + sizeof(ngx_http_wid_attest_t)
               + ngx_http_wid_attest_size(attest);
    }

    ngx_shmtx_lock(&cache->shpool->mutex);

    old = ngx_http_wid_cache_lookup(cache, key, &link);
    if (old != NULL) {
        ngx_http_wid_cache_unlink(cache, link, old);
    }

    /* Expired entries go a little at a time, whether or not we are full. */
    ngx_http_wid_cache_sweep(cache, now, 1, 1);

    cn = ngx_slab_alloc_locked(cache->shpool, size);

    for (i = 0; cn == NULL && i < NGX_HTTP_WID_CACHE_EVICT; i++) {
        ngx_http_wid_cache_sweep(cache, now, NGX_HTTP_WID_CACHE_SWEEP, 0);
        cn = ngx_slab_alloc_locked(cache->shpool, size);
    }

    if (cn == NULL) {
        ngx_shmtx_unlock(&cache->shpool->mutex);
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "wid: cache zone \"%V\" is too small for an entry",
                      &zone->shm.name);
        return;
    }

    ngx_memcpy(cn->key, key, NGX_HTTP_WID_SHA256_LEN);
    cn->expires = (uint32_t) expires;
    cn->not_after = (int64_t) ident->not_after;
    ngx_memcpy(cn->bundle, ident->bundle_sha256, NGX_HTTP_WID_CE_BUNDLE);
    cn->id_len = (uint16_t) ident->spiffe_id.len;
    cn->td_len = (u_char) ident->trust_domain.len;
    cn->flags = NGX_HTTP_WID_CE_USED;
    ngx_memcpy(cn->data, ident->spiffe_id.data, ident->spiffe_id.len);

    if (attest) {
        cn->flags |= NGX_HTTP_WID_CE_ATTEST;
        ngx_http_wid_attest_pack((ngx_http_wid_attest_t *)
                                 ((u_char *) cn + off),
                                 (u_char *) cn + off
                                 + sizeof(ngx_http_wid_attest_t), attest);
    }

    link = ngx_http_wid_cache_bucket(cache, key);
    cn->next = *link;
    *link = ngx_http_wid_cache_off(cache, cn);

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


/*
 * What a TLS connection keeps: its verified X.509-SVID and its last
 * JWT-SVID, each one malloc'd block replaced as it changes.  The slot is
 * found through the SSL object's ex_data (every HTTP/2 stream's fake
 * connection shares the connection's SSL and pool) and freed by a
 * cleanup of the connection's pool.  The ex_data index has no callbacks:
 * OpenSSL's table outlives the module when a reload unloads it, and a
 * free callback left there would jump into unmapped code on every
 * SSL_free.
 */
typedef struct ngx_http_wid_conn_x509_s  ngx_http_wid_conn_x509_t;
typedef struct ngx_http_wid_conn_jwt_s   ngx_http_wid_conn_jwt_t;

typedef struct {
    ngx_http_wid_conn_x509_t   *x509;
    ngx_http_wid_conn_jwt_t    *jwt;
} ngx_http_wid_conn_t;


static void ngx_http_wid_conn_x509_free(ngx_http_wid_conn_x509_t *cx);
static void ngx_http_wid_conn_jwt_free(ngx_http_wid_conn_jwt_t *cj);


ngx_int_t
ngx_http_wid_cache_init(ngx_conf_t *cf)
{
    if (ngx_http_wid_ssl_index == -1) {
        ngx_http_wid_ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
                                                      NULL);
        if (ngx_http_wid_ssl_index == -1) {
            ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                          "SSL_get_ex_new_index() failed");
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* The connection's slot; with create, made on first use.  NULL: no TLS. */
static ngx_http_wid_conn_t *
ngx_http_wid_conn(ngx_connection_t *c, ngx_uint_t create)
{
    ngx_pool_cleanup_t   *cln;
    ngx_http_wid_conn_t  *wc;

    if (c->ssl == NULL) {
        return NULL;
    }

    wc = SSL_get_ex_data(c->ssl->connection, ngx_http_wid_ssl_index);

    if (wc != NULL || !create) {
        return wc;
    }

    cln = ngx_pool_cleanup_add(c->pool, sizeof(ngx_http_wid_conn_t));
    if (cln == NULL) {
        return NULL;
    }

    wc = cln->data;
    wc->x509 = NULL;
    wc->jwt = NULL;
    cln->handler = ngx_http_wid_conn_cleanup;

    if (SSL_set_ex_data(c->ssl->connection, ngx_http_wid_ssl_index, wc) == 0)
    {
        return NULL;
    }

    return wc;
}


static void
ngx_http_wid_conn_cleanup(void *data)
{
    ngx_http_wid_conn_t  *wc = data;

    ngx_http_wid_conn_x509_free(wc->x509);
    ngx_http_wid_conn_jwt_free(wc->jwt);
}


/* Start what a connection keeps for an identity verified just now. */
static void
ngx_http_wid_conn_keep_init(ngx_http_wid_conn_keep_t *keep,
    ngx_http_wid_main_conf_t *wmcf)
{
    keep->conf_generation = wmcf->generation;
    keep->trust_generation = ngx_http_wid_trust_generation(wmcf->trust);
    keep->wlcf = NULL;
    keep->receipt_head = NULL;
}


/*
 * Whether a kept identity still stands: while neither the configuration
 * nor the bundles changed it does; after a change, while the bundle file
 * that vouched for it is still one this worker trusts for its domain.
 */
static ngx_int_t
ngx_http_wid_conn_keep_current(ngx_http_wid_conn_keep_t *keep,
    ngx_http_wid_main_conf_t *wmcf, const ngx_http_wid_ident_t *ident)
{
    uint64_t  generation;

    generation = ngx_http_wid_trust_generation(wmcf->trust);

    if (keep->conf_generation == wmcf->generation
        && keep->trust_generation == generation)
    {
        return NGX_OK;
    }

    if (ngx_http_wid_trust_current(wmcf->trust, ident) != NGX_OK) {
        return NGX_DECLINED;
    }

    if (keep->conf_generation != wmcf->generation) {
        /* The decision was made under another configuration. */
        keep->wlcf = NULL;
    }

    keep->conf_generation = wmcf->generation;
    keep->trust_generation = generation;

    return NGX_OK;
}


ngx_int_t
ngx_http_wid_conn_decision_get(ngx_http_wid_conn_keep_t *keep,
    ngx_http_wid_loc_conf_t *wlcf, ngx_str_t *operation,
    ngx_http_wid_decision_t *decision)
{
    if (keep->wlcf != wlcf
        || keep->operation_len != operation->len
        || ngx_memcmp(keep->operation, operation->data, operation->len) != 0)
    {
        return NGX_DECLINED;
    }

    *decision = keep->decision;

    return NGX_OK;
}


void
ngx_http_wid_conn_decision_set(ngx_http_wid_conn_keep_t *keep,
    ngx_http_wid_loc_conf_t *wlcf, ngx_str_t *operation,
    const ngx_http_wid_decision_t *decision)
{
    if (operation->len > NGX_HTTP_WID_KEEP_OP_MAX) {
        keep->wlcf = NULL;
        return;
    }

    ngx_memcpy(keep->operation, operation->data, operation->len);
    keep->operation_len = operation->len;
    keep->decision = *decision;
    keep->wlcf = wlcf;
}


/* The connection's verified X.509-SVID: one block. */
struct ngx_http_wid_conn_x509_s {
    ngx_http_wid_conn_keep_t    keep;
    ngx_http_wid_ident_t        ident;
    /* the identity's strings */
};


static void
ngx_http_wid_conn_x509_free(ngx_http_wid_conn_x509_t *cx)
{
    if (cx != NULL) {
        ngx_free(cx->keep.receipt_head);
        ngx_free(cx);
    }
}


ngx_http_wid_ident_t *
ngx_http_wid_conn_ident_get(ngx_http_request_t *r,
    ngx_http_wid_main_conf_t *wmcf, ngx_http_wid_conn_keep_t **keep)
{
    ngx_http_wid_conn_t       *wc;
    ngx_http_wid_ident_t      *ident;
    ngx_http_wid_conn_x509_t  *cx;

    wc = ngx_http_wid_conn(r->connection, 0);
    cx = wc ? wc->x509 : NULL;

    if (cx == NULL
        || cx->ident.not_after < ngx_time()
        || ngx_http_wid_conn_keep_current(&cx->keep, wmcf, &cx->ident)
           != NGX_OK)
    {
        return NULL;
    }

    /*
     * A copy: another HTTP/2 stream of this connection may replace the
     * connection's entry while this request still uses it.  The keep only
     * with the copy: on a miss the entry is replaced and freed.
     */
    ident = ngx_http_wid_ident_dup(r->pool, &cx->ident);

    if (ident != NULL) {
        *keep = &cx->keep;
    }

    return ident;
}


void
ngx_http_wid_conn_ident_set(ngx_http_request_t *r,
    ngx_http_wid_main_conf_t *wmcf, const ngx_http_wid_ident_t *ident)
{
    ngx_http_wid_conn_t       *wc;
    ngx_http_wid_conn_x509_t  *cx;

    wc = ngx_http_wid_conn(r->connection, 1);
    if (wc == NULL) {
        return;
    }

    cx = ngx_alloc(sizeof(ngx_http_wid_conn_x509_t)
                   + ngx_http_wid_ident_size(ident), r->connection->log);
    if (cx == NULL) {
        return;
    }

    ngx_http_wid_conn_keep_init(&cx->keep, wmcf);
    ngx_http_wid_ident_pack(&cx->ident, (u_char *) (cx + 1), ident);

    ngx_http_wid_conn_x509_free(wc->x509);
    wc->x509 = cx;
}


/* The connection's last JWT-SVID: one block. */
struct ngx_http_wid_conn_jwt_s {
    size_t                      size;         /* the block's, allocated */
    time_t                      expires;      /* last second accepted */
    time_t                      leeway;
    time_t                      max_lifetime;
    size_t                      token_len;
    size_t                      audience_len;
    ngx_http_wid_conn_keep_t    keep;
    ngx_http_wid_ident_t        ident;
    /* the token, the audience, then the identity's strings */
};


static void
ngx_http_wid_conn_jwt_free(ngx_http_wid_conn_jwt_t *cj)
{
    if (cj != NULL) {
        ngx_free(cj->keep.receipt_head);
        ngx_free(cj);
    }
}


/* Longer tokens are not kept on the connection (the zone still has them). */
#define NGX_HTTP_WID_CONN_JWT_MAX   8192


ngx_http_wid_ident_t *
ngx_http_wid_conn_jwt_get(ngx_http_request_t *r,
    ngx_http_wid_main_conf_t *wmcf, ngx_str_t *token,
    ngx_http_wid_loc_conf_t *wlcf, ngx_http_wid_conn_keep_t **keep)
{
    u_char                   *p;
    ngx_http_wid_conn_t      *wc;
    ngx_http_wid_ident_t     *ident;
    ngx_http_wid_conn_jwt_t  *cj;

    wc = ngx_http_wid_conn(r->connection, 0);
    cj = wc ? wc->jwt : NULL;

    /*
     * Everything the verification depended on besides the token, the
     * bundle and the clock: the location's audience, leeway and maximum
     * lifetime (another location of this connection may differ).
     */
    if (cj == NULL
        || cj->token_len != token->len
        || cj->leeway != wlcf->jwt_leeway
        || cj->max_lifetime != wlcf->jwt_max_lifetime
        || cj->audience_len != wlcf->audience.len)
    {
        return NULL;
    }

    p = (u_char *) (cj + 1);

    /*
     * Constant time: behind a proxy that reuses upstream connections the
     * kept token may be another client's.
     */
    if (!wid_ct_equal(p, token->data, token->len)
        || ngx_memcmp(p + token->len, wlcf->audience.data,
                      wlcf->audience.len) != 0
        || cj->expires < ngx_time()
        || ngx_http_wid_conn_keep_current(&cj->keep, wmcf, &cj->ident)
           != NGX_OK)
    {
        return NULL;
    }

    /* A copy: another HTTP/2 stream may replace the connection's entry. */
    ident = ngx_http_wid_ident_dup(r->pool, &cj->ident);

    if (ident != NULL) {
        *keep = &cj->keep;
    }

    return ident;
}


void
ngx_http_wid_conn_jwt_set(ngx_http_request_t *r,
    ngx_http_wid_main_conf_t *wmcf, ngx_str_t *token,
    ngx_http_wid_loc_conf_t *wlcf, time_t expires,
    const ngx_http_wid_ident_t *ident)
{
    size_t                    size;
    u_char                   *p;
    ngx_http_wid_conn_t      *wc;
    ngx_http_wid_conn_jwt_t  *cj;

    if (token->len > NGX_HTTP_WID_CONN_JWT_MAX) {
        return;
    }

    wc = ngx_http_wid_conn(r->connection, 1);
    if (wc == NULL) {
        return;
    }

    size = sizeof(ngx_http_wid_conn_jwt_t) + token->len + wlcf->audience.len
           + ngx_http_wid_ident_size(ident);

    /*
     * A client that sends a new token on every request (one per call, or
     * rotating) gets its block rewritten in place: no malloc and free per
     * request.  The block never shrinks: at most the longest token kept.
     */
    cj = wc->jwt;

    if (cj != NULL && cj->size >= size) {
        ngx_free(cj->keep.receipt_head);

    } else {
        cj = ngx_alloc(size, r->connection->log);
        if (cj == NULL) {
            return;
        }

        cj->size = size;
        ngx_http_wid_conn_jwt_free(wc->jwt);
        wc->jwt = cj;
    }

    cj->expires = expires;
    cj->leeway = wlcf->jwt_leeway;
    cj->max_lifetime = wlcf->jwt_max_lifetime;
    cj->token_len = token->len;
    cj->audience_len = wlcf->audience.len;
    ngx_http_wid_conn_keep_init(&cj->keep, wmcf);

    p = ngx_cpymem((u_char *) (cj + 1), token->data, token->len);
    p = ngx_cpymem(p, wlcf->audience.data, wlcf->audience.len);
    ngx_http_wid_ident_pack(&cj->ident, p, ident);
}
