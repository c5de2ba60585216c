
/*
 * ngx_http_wid_module: SPIFFE workload identity, policy and signed
 * receipts in the access phase of stock nginx.
 *
 * The module is split by concept:
 *
 *   ngx_http_wid_module.c     directives, configuration, access handler
 *   ngx_http_wid_variables.c  the $wid_* variables
 *   ngx_http_wid_identity.c   glue to libcore: bundles, X.509/JWT-SVIDs
 *   ngx_http_wid_policy.c     glue to the policy engine
 *   ngx_http_wid_cache.c      the shared-memory JWT-SVID cache and the
 *                             per-connection X.509-SVID result
 *   ngx_http_wid_journal.c    per-worker journal writer and its timers
 *
 * libcore's identity and the policy engine each have a header of their
 * own; they are included only by their glue file, never here, so this
 * header speaks nginx types and wid_reason_t only.
 */


#ifndef _NGX_HTTP_WID_H_INCLUDED_
#define _NGX_HTTP_WID_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/ssl.h>

#include "reason.h"


#define NGX_HTTP_WID_OFF            0
#define NGX_HTTP_WID_ON             1
#define NGX_HTTP_WID_OBSERVE        2

#define NGX_HTTP_WID_CRED_X509      0x01
#define NGX_HTTP_WID_CRED_JWT       0x02
#define NGX_HTTP_WID_CRED_ANY       0x03

#define NGX_HTTP_WID_SHA256_LEN     32
#define NGX_HTTP_WID_SHA256_HEX     64

/* Receipt ids are short printable strings made by the journal. */
#define NGX_HTTP_WID_RECEIPT_ID_MAX 128


typedef struct ngx_http_wid_trust_s    ngx_http_wid_trust_t;
typedef struct ngx_http_wid_policy_s   ngx_http_wid_policy_t;
typedef struct ngx_http_wid_journal_s  ngx_http_wid_journal_t;


/*
 * A verified workload identity.  Every string is NUL-terminated (the
 * policy engine takes C strings) and the whole value can be packed into
 * one block (ngx_http_wid_ident_pack) for the caches.  serial is the
 * X.509 serial number, or for a JWT-SVID the hex SHA-256 of its signing
 * input (the token up to its last '.').
 */
typedef struct {
    ngx_uint_t                  kind;         /* NGX_HTTP_WID_CRED_* */
    time_t                      not_after;
    ngx_str_t                   spiffe_id;
    ngx_str_t                   trust_domain;
    ngx_str_t                   path;
    ngx_str_t                   serial;
    ngx_str_t                   fingerprint;
    /* SHA-256 of the bundle file that held the verifying authority */
    u_char                      bundle_sha256[NGX_HTTP_WID_SHA256_LEN];
} ngx_http_wid_ident_t;


/*
 * A verified attestation result (the attestation-result header), as the
 * policy needs it.  verifier_index is the trusted_verifiers entry whose
 * key verified the signature: an index rather than a name so that the
 * value can be cached in shared memory across reloads (the cache key
 * binds the policy's hash, so the index means the same entry).
 * Strings are NUL-terminated.
 */
typedef struct {
    ngx_uint_t                  verifier_index;
    time_t                      issued_at;
    time_t                      expires_at;
    ngx_str_t                   spiffe_id;    /* workloadIdentity.uri */
    ngx_str_t                   verifier;     /* the result's "verifier" */
    ngx_str_t                   type;         /* attestationType */
    ngx_str_t                   tier;         /* claimed, informative */
    u_char                      evidence_sha256[NGX_HTTP_WID_SHA256_LEN];
} ngx_http_wid_attest_t;


/* A policy decision, in nginx terms; strings live as long as the policy. */
typedef struct {
    ngx_uint_t                  allow;
    wid_reason_t                reason;
    const char                 *rule;
    const char                 *failed;
    const char                 *tier;         /* effective tier */
    const char                 *policy_hash;
    const char                 *signer;
    ngx_uint_t                  soft_evaluated;
    ngx_uint_t                  soft_matched;
    ngx_uint_t                  need_identity;  /* denied for want of one */
} ngx_http_wid_decision_t;


typedef struct {
    ngx_http_wid_trust_t       *trust;
    ngx_msec_t                  bundle_refresh;
    ngx_array_t                 policies;     /* ngx_http_wid_policy_t * */
    ngx_http_wid_journal_t     *journal;
    ngx_shm_zone_t             *cache_zone;
    ngx_uint_t                  used;         /* wid on|observe somewhere */
    ngx_uint_t                  generation;   /* of this configuration */
} ngx_http_wid_main_conf_t;


typedef struct {
    ngx_uint_t                  mode;
    ngx_http_wid_policy_t      *policy;
    ngx_str_t                   rule;
    ngx_http_complex_value_t   *operation;
    ngx_uint_t                  credential;   /* as configured */
    ngx_uint_t                  accept;       /* effective */
    ngx_str_t                   audience;
    ngx_str_t                   jwt_header;   /* lowercase */
    ngx_uint_t                  jwt_header_is_authorization;
    time_t                      jwt_leeway;
    time_t                      jwt_max_lifetime;  /* 0: no limit */
    ngx_str_t                   attestation_header;  /* lowercase */
    ngx_str_t                   realm;
    ngx_str_t                   challenge;    /* WWW-Authenticate */
    ngx_str_t                   challenge_invalid;
} ngx_http_wid_loc_conf_t;


/* Operations longer than this are not kept with a connection's decision. */
#define NGX_HTTP_WID_KEEP_OP_MAX    32


/*
 * What a TLS connection keeps with the identity it proved, so that its
 * next request needs neither a bundle check nor a policy evaluation: the
 * configuration and bundle generations under which the identity was last
 * found current, and the last decision made for it.  Without an
 * attestation result a decision depends on nothing but the location
 * (policy and rule), the operation and the identity, so it holds for the
 * same location and operation.  From the identity's second request on, the
 * receipt head too (libcore's wid_receipt_head, ngx_alloc()ed): the
 * identity's and the policy's part of every receipt, encoded and hashed
 * once, with the policy it names.
 */
typedef struct {
    ngx_uint_t                  conf_generation;
    uint64_t                    trust_generation;
    void                       *wlcf;         /* NULL: no decision kept */
    size_t                      operation_len;
    u_char                      operation[NGX_HTTP_WID_KEEP_OP_MAX];
    ngx_http_wid_decision_t     decision;
    void                       *receipt_head;
    ngx_http_wid_policy_t      *receipt_policy;
} ngx_http_wid_conn_keep_t;


/* Per-request state: loc_conf is never written at request time. */
typedef struct {
    ngx_http_wid_ident_t       *ident;        /* NULL: unauthenticated */
    ngx_uint_t                  credential;   /* kind presented, or 0 */
    ngx_uint_t                  decided;      /* the policy was asked */
    ngx_uint_t                  verdict;      /* NGX_HTTP_WID_VERDICT_* */
    ngx_http_wid_decision_t     decision;
    wid_reason_t                reason;       /* why, when not allowed */
    ngx_str_t                   rule;
    ngx_str_t                   operation;
    ngx_str_t                   att_header;   /* attestation result sent */
    ngx_http_wid_attest_t      *attest;       /* ... and verified */
    u_char                      evidence_sha256[NGX_HTTP_WID_SHA256_HEX + 1];
    ngx_uint_t                  has_evidence;
    u_char                      cache_key[NGX_HTTP_WID_SHA256_LEN];
    time_t                      cache_expires;
    /* the receipt's leaf hash; its id formatted on first use */
    u_char                      receipt_leaf[NGX_HTTP_WID_SHA256_LEN];
    ngx_str_t                   receipt_id;
    ngx_int_t                   status;
    ngx_uint_t                  cache;        /* NGX_HTTP_WID_CACHE_* */
    /* the connection's, while the handler runs (NULL afterwards) */
    ngx_http_wid_conn_keep_t   *keep;
    unsigned                    done:1;
    unsigned                    cache_put:1;  /* after the attestation */
    unsigned                    has_att_header:1;
    unsigned                    attest_failed:1;
    unsigned                    recorded:1;   /* receipt_leaf is set */
    /* not recorded while the journal was already known to be failing:
     * logged at info, the first one of the outage at alert */
    unsigned                    journal_quiet:1;
} ngx_http_wid_ctx_t;


#define NGX_HTTP_WID_VERDICT_DENY   0
#define NGX_HTTP_WID_VERDICT_ALLOW  1

/* Where the credential's verification came from ($wid_cache). */
#define NGX_HTTP_WID_CACHE_NONE     0         /* no cache in play */
#define NGX_HTTP_WID_CACHE_MISS     1         /* verified now */
#define NGX_HTTP_WID_CACHE_ZONE     2         /* wid_cache_zone entry */
#define NGX_HTTP_WID_CACHE_CONN     3         /* kept on the connection */


extern ngx_module_t  ngx_http_wid_module;


/* ngx_http_wid_variables.c */
ngx_int_t ngx_http_wid_add_variables(ngx_conf_t *cf);


/* identity values */
size_t ngx_http_wid_ident_size(const ngx_http_wid_ident_t *src);
void ngx_http_wid_ident_pack(ngx_http_wid_ident_t *dst, u_char *p,
    const ngx_http_wid_ident_t *src);
ngx_http_wid_ident_t *ngx_http_wid_ident_dup(ngx_pool_t *pool,
    const ngx_http_wid_ident_t *src);
const char *ngx_http_wid_cred_name(ngx_uint_t kind);


/* ngx_http_wid_identity.c */
ngx_http_wid_trust_t *ngx_http_wid_trust_create(ngx_conf_t *cf);
char *ngx_http_wid_trust_add_file(ngx_conf_t *cf, ngx_http_wid_trust_t *trust,
    ngx_str_t *td, ngx_str_t *file);
char *ngx_http_wid_trust_add_dir(ngx_conf_t *cf, ngx_http_wid_trust_t *trust,
    ngx_str_t *dir);
ngx_uint_t ngx_http_wid_trust_count(ngx_http_wid_trust_t *trust);
void ngx_http_wid_trust_refresh(ngx_http_wid_trust_t *trust, ngx_log_t *log);
uint64_t ngx_http_wid_trust_generation(ngx_http_wid_trust_t *trust);
ngx_int_t ngx_http_wid_trust_current(ngx_http_wid_trust_t *trust,
    const ngx_http_wid_ident_t *ident);
ngx_int_t ngx_http_wid_trust_match(ngx_http_wid_trust_t *trust,
    const u_char *td, size_t td_len, const u_char *sha, size_t sha_len,
    u_char full[NGX_HTTP_WID_SHA256_LEN]);
ngx_int_t ngx_http_wid_hex_decode(u_char *dst, const u_char *hex,
    size_t len);
ngx_int_t ngx_http_wid_sha256(u_char out[NGX_HTTP_WID_SHA256_LEN],
    const ngx_str_t *parts, ngx_uint_t n);
/* In one pass: the SHA-256 of a JWT and that of its signing input. */
void ngx_http_wid_token_sha256(ngx_str_t *token,
    u_char token_sha256[NGX_HTTP_WID_SHA256_LEN],
    u_char input_sha256[NGX_HTTP_WID_SHA256_LEN]);
wid_reason_t ngx_http_wid_verify_x509(ngx_http_wid_trust_t *trust,
    ngx_connection_t *c, ngx_pool_t *pool, ngx_http_wid_ident_t **out);
wid_reason_t ngx_http_wid_verify_jwt(ngx_http_wid_trust_t *trust,
    ngx_str_t *token, ngx_str_t *audience, time_t leeway,
    time_t max_lifetime, ngx_pool_t *pool,
    ngx_http_wid_ident_t **out);
time_t ngx_http_wid_jwt_lifetime_max(void);


/* ngx_http_wid_policy.c */
char *ngx_http_wid_policy_load(ngx_conf_t *cf, ngx_array_t *loaded,
    ngx_str_t *file, ngx_str_t *signer, ngx_http_wid_policy_t **out);
ngx_int_t ngx_http_wid_policy_has_rule(ngx_http_wid_policy_t *policy,
    ngx_str_t *rule);
void ngx_http_wid_policy_decide(ngx_http_wid_policy_t *policy,
    ngx_str_t *rule, ngx_str_t *operation, ngx_http_wid_ident_t *ident,
    ngx_http_wid_attest_t *attest, ngx_http_wid_decision_t *out);
wid_reason_t ngx_http_wid_attest_verify(ngx_http_wid_policy_t *policy,
    ngx_str_t *jws, ngx_http_wid_ident_t *ident, ngx_pool_t *pool,
    ngx_http_wid_attest_t **out);
time_t ngx_http_wid_attest_valid_until(ngx_http_wid_policy_t *policy,
    const ngx_http_wid_attest_t *attest);
const u_char *ngx_http_wid_policy_sha256(ngx_http_wid_policy_t *policy);
const char *ngx_http_wid_attest_schema(void);
const char *ngx_http_wid_policy_hash(ngx_http_wid_policy_t *policy);
const char *ngx_http_wid_policy_signer(ngx_http_wid_policy_t *policy);


/* attestation values */
size_t ngx_http_wid_attest_size(const ngx_http_wid_attest_t *src);
void ngx_http_wid_attest_pack(ngx_http_wid_attest_t *dst, u_char *p,
    const ngx_http_wid_attest_t *src);
ngx_http_wid_attest_t *ngx_http_wid_attest_dup(ngx_pool_t *pool,
    const ngx_http_wid_attest_t *src);


/* ngx_http_wid_cache.c */
char *ngx_http_wid_cache_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_wid_cache_init(ngx_conf_t *cf);
ngx_int_t ngx_http_wid_jwt_cache_get(ngx_http_request_t *r,
    ngx_shm_zone_t *zone, ngx_http_wid_trust_t *trust,
    const u_char key[NGX_HTTP_WID_SHA256_LEN],
    const u_char input_sha256[NGX_HTTP_WID_SHA256_LEN],
    ngx_http_wid_ident_t **out, ngx_http_wid_attest_t **attest);
void ngx_http_wid_jwt_cache_put(ngx_http_request_t *r, ngx_shm_zone_t *zone,
    const u_char key[NGX_HTTP_WID_SHA256_LEN], time_t expires,
    const ngx_http_wid_ident_t *ident, const ngx_http_wid_attest_t *attest);
ngx_http_wid_ident_t *ngx_http_wid_conn_ident_get(ngx_http_request_t *r,
    ngx_http_wid_main_conf_t *wmcf, ngx_http_wid_conn_keep_t **keep);
void ngx_http_wid_conn_ident_set(ngx_http_request_t *r,
    ngx_http_wid_main_conf_t *wmcf, const ngx_http_wid_ident_t *ident);
ngx_http_wid_ident_t *ngx_http_wid_conn_jwt_get(ngx_http_request_t *r,
    ngx_http_wid_main_conf_t *wmcf, ngx_str_t *token,
    ngx_http_wid_loc_conf_t *wlcf, ngx_http_wid_conn_keep_t **keep);
void ngx_http_wid_conn_jwt_set(ngx_http_request_t *r,
    ngx_http_wid_main_conf_t *wmcf, ngx_str_t *token,
    ngx_http_wid_loc_conf_t *wlcf, time_t expires,
    const ngx_http_wid_ident_t *ident);
ngx_int_t ngx_http_wid_conn_decision_get(ngx_http_wid_conn_keep_t *keep,
    ngx_http_wid_loc_conf_t *wlcf, ngx_str_t *operation,
    ngx_http_wid_decision_t *decision);
void ngx_http_wid_conn_decision_set(ngx_http_wid_conn_keep_t *keep,
    ngx_http_wid_loc_conf_t *wlcf, ngx_str_t *operation,
    const ngx_http_wid_decision_t *decision);

/* ngx_http_wid_journal.c */
char *ngx_http_wid_journal(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_wid_journal_init_process(ngx_cycle_t *cycle,
    ngx_http_wid_journal_t *journal);
void ngx_http_wid_journal_exit_process(ngx_cycle_t *cycle,
    ngx_http_wid_journal_t *journal);
wid_reason_t ngx_http_wid_journal_record(ngx_http_request_t *r,
    ngx_http_wid_journal_t *journal, ngx_http_wid_loc_conf_t *wlcf,
    ngx_http_wid_ctx_t *ctx);


#endif /* _NGX_HTTP_WID_H_INCLUDED_ */
