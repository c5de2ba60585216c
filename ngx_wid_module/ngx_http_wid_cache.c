
/*
 * Verified identities, reused instead of verified again:
 *
 * - JWT-SVIDs in a shared-memory zone that all workers use: an rbtree
 *   keyed by a SHA-256 over the token (bound to the audience and leeway
 *   it was verified for), an LRU queue that bounds it to the zone's size,
 *   entries that expire with the token.  A hit counts only while the
 *   bundle that verified the token is still the one this worker holds
 *   for its trust domain (content hash), so a rotated or withdrawn
 *   authority invalidates its entries in every worker, and so does a
 *   reload that changes them.  Policy results are never cached: the
 *   policy is asked on every request.
 *
 * - the X.509-SVID of a TLS connection, kept on the SSL object (ex_data)
 *   for the life of the connection, shared by its HTTP/2 streams, and
 *   checked against its expiry and the bundle on every use.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_wid.h"


typedef struct {
    ngx_rbtree_t                rbtree;
    ngx_rbtree_node_t           sentinel;
    ngx_queue_t                 lru;
} ngx_http_wid_cache_sh_t;


typedef struct {
    ngx_http_wid_cache_sh_t    *sh;
    ngx_slab_pool_t            *shpool;
} ngx_http_wid_cache_t;


typedef struct {
    ngx_rbtree_node_t           node;
    ngx_queue_t                 queue;
    u_char                      key[NGX_HTTP_WID_SHA256_LEN];
    time_t                      expires;
    ngx_http_wid_ident_t        ident;
    /* the identity's strings follow */
} ngx_http_wid_cache_node_t;


/* Entries evicted at most per insert when the zone is full. */
#define NGX_HTTP_WID_CACHE_EVICT    32


static ngx_int_t ngx_http_wid_cache_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_wid_cache_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_http_wid_cache_node_t *ngx_http_wid_cache_lookup(
    ngx_http_wid_cache_t *cache, const u_char *key);
static void ngx_http_wid_cache_delete(ngx_http_wid_cache_t *cache,
    ngx_http_wid_cache_node_t *cn);
static void ngx_http_wid_cache_expire(ngx_http_wid_cache_t *cache,
    time_t now, ngx_uint_t n);
static void ngx_http_wid_ssl_free(void *parent, void *ptr,
    CRYPTO_EX_DATA *ad, int idx, long argl, void *argp);


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

    ngx_rbtree_init(&cache->sh->rbtree, &cache->sh->sentinel,
                    ngx_http_wid_cache_rbtree_insert);
    ngx_queue_init(&cache->sh->lru);

    len = sizeof(" in wid_cache_zone \"\"") + shm_zone->shm.name.len;

    cache->shpool->log_ctx = ngx_slab_alloc(cache->shpool, len);
    if (cache->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(cache->shpool->log_ctx, " in wid_cache_zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* A full zone evicts the least recently used entries, quietly. */
    cache->shpool->log_nomem = 0;

    return NGX_OK;
}


static void
ngx_http_wid_cache_rbtree_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t          **p;
    ngx_http_wid_cache_node_t   *cn, *cnt;

    for ( ;; ) {

        if (node->key < temp->key) {
            p = &temp->left;

        } else if (node->key > temp->key) {
            p = &temp->right;

        } else {
            cn = (ngx_http_wid_cache_node_t *) node;
            cnt = (ngx_http_wid_cache_node_t *) temp;

            p = (ngx_memcmp(cn->key, cnt->key, NGX_HTTP_WID_SHA256_LEN) < 0)
                ? &temp->left : &temp->right;
        }

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


static ngx_rbtree_key_t
ngx_http_wid_cache_key(const u_char *key)
{
    ngx_rbtree_key_t  k;

    ngx_memcpy(&k, key, sizeof(ngx_rbtree_key_t));

    return k;
}


static ngx_http_wid_cache_node_t *
ngx_http_wid_cache_lookup(ngx_http_wid_cache_t *cache, const u_char *key)
{
    ngx_int_t                   rc;
    ngx_rbtree_key_t            k;
    ngx_rbtree_node_t          *node, *sentinel;
    ngx_http_wid_cache_node_t  *cn;

    k = ngx_http_wid_cache_key(key);

    node = cache->sh->rbtree.root;
    sentinel = cache->sh->rbtree.sentinel;

    while (node != sentinel) {

        if (k < node->key) {
            node = node->left;
            continue;
        }

        if (k > node->key) {
            node = node->right;
            continue;
        }

        cn = (ngx_http_wid_cache_node_t *) node;

        rc = ngx_memcmp(key, cn->key, NGX_HTTP_WID_SHA256_LEN);

        if (rc == 0) {
            return cn;
        }

        node = (rc < 0) ? node->left : node->right;
    }

    return NULL;
}


static void
ngx_http_wid_cache_delete(ngx_http_wid_cache_t *cache,
    ngx_http_wid_cache_node_t *cn)
{
    ngx_queue_remove(&cn->queue);
    ngx_rbtree_delete(&cache->sh->rbtree, &cn->node);
    ngx_slab_free_locked(cache->shpool, cn);
}


/* Drop up to n entries from the cold end that have expired. */
static void
ngx_http_wid_cache_expire(ngx_http_wid_cache_t *cache, time_t now,
    ngx_uint_t n)
{
    ngx_queue_t                *q;
    ngx_http_wid_cache_node_t  *cn;

    while (n-- && !ngx_queue_empty(&cache->sh->lru)) {
        q = ngx_queue_last(&cache->sh->lru);
        cn = ngx_queue_data(q, ngx_http_wid_cache_node_t, queue);

        if (cn->expires >= now) {
            return;
        }

        ngx_http_wid_cache_delete(cache, cn);
    }
}


ngx_int_t
ngx_http_wid_jwt_cache_get(ngx_http_request_t *r, ngx_shm_zone_t *zone,
    ngx_http_wid_trust_t *trust, const u_char key[NGX_HTTP_WID_SHA256_LEN],
    ngx_http_wid_ident_t **out)
{
    time_t                      now;
    ngx_http_wid_cache_t       *cache;
    ngx_http_wid_ident_t       *ident;
    ngx_http_wid_cache_node_t  *cn;

    cache = zone->data;
    now = ngx_time();
    ident = NULL;

    ngx_shmtx_lock(&cache->shpool->mutex);

    cn = ngx_http_wid_cache_lookup(cache, key);

    if (cn != NULL) {
        if (cn->expires < now) {
            ngx_http_wid_cache_delete(cache, cn);

        } else {
            ngx_queue_remove(&cn->queue);
            ngx_queue_insert_head(&cache->sh->lru, &cn->queue);

            /* Copied out: the entry may be evicted once we unlock. */
            ident = ngx_http_wid_ident_dup(r->pool, &cn->ident);
        }
    }

    ngx_shmtx_unlock(&cache->shpool->mutex);

    if (ident == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_http_wid_trust_current(trust, ident) != NGX_OK) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "wid: cached JWT-SVID of a replaced bundle");
        return NGX_DECLINED;
    }

    *out = ident;

    return NGX_OK;
}


void
ngx_http_wid_jwt_cache_put(ngx_http_request_t *r, ngx_shm_zone_t *zone,
    const u_char key[NGX_HTTP_WID_SHA256_LEN], time_t expires,
    const ngx_http_wid_ident_t *ident)
{
    size_t                      size;
    ngx_uint_t                  i;
    ngx_queue_t                *q;
    ngx_http_wid_cache_t       *cache;
    ngx_http_wid_cache_node_t  *cn, *old;

    cache = zone->data;
    size = sizeof(ngx_http_wid_cache_node_t) + ngx_http_wid_ident_size(ident);

    ngx_shmtx_lock(&cache->shpool->mutex);

    old = ngx_http_wid_cache_lookup(cache, key);
    if (old != NULL) {
        ngx_http_wid_cache_delete(cache, old);
    }

    ngx_http_wid_cache_expire(cache, ngx_time(), 2);

    cn = ngx_slab_alloc_locked(cache->shpool, size);

    for (i = 0; cn == NULL && i < NGX_HTTP_WID_CACHE_EVICT; i++) {

        if (ngx_queue_empty(&cache->sh->lru)) {
            break;
        }

        q = ngx_queue_last(&cache->sh->lru);
        ngx_http_wid_cache_delete(cache,
                                  ngx_queue_data(q, ngx_http_wid_cache_node_t,
                                                 queue));

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
    cn->node.key = ngx_http_wid_cache_key(key);
    cn->expires = expires;
    ngx_http_wid_ident_pack(&cn->ident, (u_char *) (cn + 1), ident);

    ngx_rbtree_insert(&cache->sh->rbtree, &cn->node);
    ngx_queue_insert_head(&cache->sh->lru, &cn->queue);

    ngx_shmtx_unlock(&cache->shpool->mutex);
}


ngx_int_t
ngx_http_wid_cache_init(ngx_conf_t *cf)
{
    if (ngx_http_wid_ssl_index == -1) {
        ngx_http_wid_ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
                                                      ngx_http_wid_ssl_free);
        if (ngx_http_wid_ssl_index == -1) {
            ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                          "SSL_get_ex_new_index() failed");
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void
ngx_http_wid_ssl_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
    ngx_free(ptr);
}


ngx_http_wid_ident_t *
ngx_http_wid_conn_ident_get(ngx_http_request_t *r, ngx_http_wid_trust_t *trust)
{
    ngx_connection_t      *c;
    ngx_http_wid_ident_t  *ident;

    c = r->connection;

    if (c->ssl == NULL) {
        return NULL;
    }

    ident = SSL_get_ex_data(c->ssl->connection, ngx_http_wid_ssl_index);

    if (ident == NULL
        || ident->not_after < ngx_time()
        || ngx_http_wid_trust_current(trust, ident) != NGX_OK)
    {
        return NULL;
    }

    /*
     * A copy: another HTTP/2 stream of this connection may replace the
     * connection's entry while this request still uses it.
     */
    return ngx_http_wid_ident_dup(r->pool, ident);
}


void
ngx_http_wid_conn_ident_set(ngx_http_request_t *r,
    const ngx_http_wid_ident_t *ident)
{
    u_char            *p;
    ngx_connection_t  *c;

    c = r->connection;

    if (c->ssl == NULL) {
        return;
    }

    p = ngx_alloc(sizeof(ngx_http_wid_ident_t)
                  + ngx_http_wid_ident_size(ident), c->log);
    if (p == NULL) {
        return;
    }

    ngx_http_wid_ident_pack((ngx_http_wid_ident_t *) p,
                            p + sizeof(ngx_http_wid_ident_t), ident);

    ngx_free(SSL_get_ex_data(c->ssl->connection, ngx_http_wid_ssl_index));

    if (SSL_set_ex_data(c->ssl->connection, ngx_http_wid_ssl_index, p) == 0) {
        SSL_set_ex_data(c->ssl->connection, ngx_http_wid_ssl_index, NULL);
        ngx_free(p);
    }
}
