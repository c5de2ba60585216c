/*
 * Compact JWS parsing and verification.  OpenSSL does the public-key
 * work, the digests and the base64 decoding, jansson the JSON; this
 * file only applies the rules and keeps per-key contexts.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "base64.h"
#include "ecdsa_jose.h"
#include "json_arena.h"
#include "jws.h"
#include "sha256.h"

#define WID_RSA_MIN_BITS 2048
#define WID_RSA_MAX_BITS 8192

static const struct {
    const char       *name;
    wid_jws_key_type  key;
    int               pss;
    size_t            md_len;
} wid_jws_algs[WID_JWS_ALG_COUNT] = {
    [WID_JWS_RS256] = { "RS256", WID_JWS_KEY_RSA, 0, 32 },
    [WID_JWS_RS384] = { "RS384", WID_JWS_KEY_RSA, 0, 48 },
    [WID_JWS_RS512] = { "RS512", WID_JWS_KEY_RSA, 0, 64 },
    [WID_JWS_PS256] = { "PS256", WID_JWS_KEY_RSA, 1, 32 },
    [WID_JWS_PS384] = { "PS384", WID_JWS_KEY_RSA, 1, 48 },
    [WID_JWS_PS512] = { "PS512", WID_JWS_KEY_RSA, 1, 64 },
    [WID_JWS_ES256] = { "ES256", WID_JWS_KEY_P256, 0, 32 },
    [WID_JWS_ES384] = { "ES384", WID_JWS_KEY_P384, 0, 48 },
    [WID_JWS_ES512] = { "ES512", WID_JWS_KEY_P521, 0, 64 },
};

const char *
wid_jws_alg_name(wid_jws_alg alg)
{
    if (alg <= WID_JWS_ALG_NONE || alg >= WID_JWS_ALG_COUNT) {
        return NULL;
    }
    return wid_jws_algs[alg].name;
}

wid_jws_alg
wid_jws_alg_from_name(const char *name)
{
    int i;

    if (name == NULL) {
        return WID_JWS_ALG_NONE;
    }
    for (i = WID_JWS_ALG_NONE + 1; i < WID_JWS_ALG_COUNT; i++) {
        if (strcmp(name, wid_jws_algs[i].name) == 0) {
            return (wid_jws_alg) i;
        }
    }
    return WID_JWS_ALG_NONE;
}

wid_jws_key_type
wid_jws_alg_key_type(wid_jws_alg alg)
{
    if (alg <= WID_JWS_ALG_NONE || alg >= WID_JWS_ALG_COUNT) {
        return WID_JWS_KEY_UNSUPPORTED;
    }
    return wid_jws_algs[alg].key;
}

/*
 * jansson has no run-time depth limit (only its compile-time guard of
 * 2048 levels against stack exhaustion), so the nesting of the parsed
 * tree is bounded here.  Recursion stops at max_depth.
 */
int
wid_json_depth_ok(const json_t *j, unsigned max_depth)
{
    const char *k;
    json_t     *v;
    size_t      i;

    if (!json_is_object(j) && !json_is_array(j)) {
        return 1;
    }
    if (max_depth == 0) {
        return 0;
    }
    if (json_is_object(j)) {
        json_object_foreach((json_t *) j, k, v) {
            if (!wid_json_depth_ok(v, max_depth - 1)) {
                return 0;
            }
        }
    } else {
        json_array_foreach(j, i, v) {
            if (!wid_json_depth_ok(v, max_depth - 1)) {
                return 0;
            }
        }
    }
    return 1;
}

wid_reason_t
wid_jws_json_object(const unsigned char *buf, size_t len, unsigned max_depth,
                    wid_reason_t invalid, json_t **out)
{
    json_error_t err;
    json_t      *j;

    *out = NULL;
    /*
     * The cheapest parse that keeps every rule: duplicates refused by
     * jansson itself, no JSON_DECODE_ANY (the top level must be an
     * object or array), no JSON_ALLOW_NUL (a \u0000 is refused).
     */
    j = json_loadb((const char *) buf, len, JSON_REJECT_DUPLICATES, &err);
    if (j == NULL) {
        switch (json_error_code(&err)) {
        case json_error_duplicate_key:
            return WID_R_JWT_DUPLICATE_KEY;
        case json_error_stack_overflow:
            return WID_R_JWT_TOO_DEEP;
        case json_error_out_of_memory:
            return WID_R_INTERNAL_NOMEM;
        default:
            return invalid;
        }
    }
    if (!json_is_object(j)) {
        json_decref(j);
        return invalid;
    }
    if (!wid_json_depth_ok(j, max_depth)) {
        json_decref(j);
        return WID_R_JWT_TOO_DEEP;
    }
    *out = j;
    return WID_OK;
}

static wid_reason_t
wid_jws_check_header(wid_jws *jws, unsigned flags)
{
    const char *name;
    json_t     *v, *alg = NULL, *kid = NULL, *typ = NULL;

    json_object_foreach(jws->header, name, v) {
        if (strcmp(name, "alg") == 0) {
            alg = v;
        } else if (strcmp(name, "kid") == 0) {
            kid = v;
        } else if (strcmp(name, "typ") == 0) {
            typ = v;
        } else if (strcmp(name, "crit") == 0) {
            /* No extension is understood, so any crit must fail. */
            return WID_R_JWT_CRIT_NOT_ALLOWED;
        } else if (flags & WID_JWS_HDR_STRICT) {
            return WID_R_JWT_HEADER_NOT_ALLOWED;
        }
    }

    if (!json_is_string(alg)) {
        return WID_R_JWT_ALG_MISSING;
    }
    jws->alg = wid_jws_alg_from_name(json_string_value(alg));
    if (jws->alg == WID_JWS_ALG_NONE) {
        return WID_R_JWT_ALG_NOT_ALLOWED;
    }
    if (typ != NULL && (flags & WID_JWS_HDR_TYP_JWT)) {
        if (!json_is_string(typ)
            || (strcmp(json_string_value(typ), "JWT") != 0
                && strcmp(json_string_value(typ), "JOSE") != 0))
        {
            return WID_R_JWT_TYP_NOT_ALLOWED;
        }
    }
    if (kid != NULL) {
        if (!json_is_string(kid) || json_string_length(kid) == 0) {
            return WID_R_JWT_KID_INVALID;
        }
        jws->kid = json_string_value(kid);
    }
    return WID_OK;
}

/*
 * Memo of validated headers.  An issuer signs all its tokens with one
 * header ({"alg":...,"kid":...,"typ":"JWT"}), so the outcome of the full
 * header check (base64url, jansson, every header rule) is kept per
 * thread, keyed by the exact base64url bytes of the header and the rules
 * it was checked under.  Only headers of tokens whose signature then
 * verified are remembered (wid_jws_memo_remember), so unauthenticated
 * input cannot fill the table; a miss does the full check.  The table is
 * small and bounded; when full, the oldest entry is replaced.
 */
#define WID_JWS_MEMO_SLOTS 16

typedef struct {
    size_t       len;                       /* 0: empty slot */
    unsigned     rules;                     /* WID_JWS_HDR_* flags */
    unsigned     depth;
    wid_jws_alg  alg;
    int          has_kid;
    char         kid[WID_JWS_MEMO_HDR_MAX];   /* decoded: shorter */
    char         b64[WID_JWS_MEMO_HDR_MAX];
} wid_jws_memo_entry;

typedef struct {
    wid_jws_memo_entry  e[WID_JWS_MEMO_SLOTS];
    unsigned            next;
} wid_jws_memo_table;

static _Thread_local wid_jws_memo_table wid_jws_memo;

#define WID_JWS_RULES (WID_JWS_HDR_STRICT | WID_JWS_HDR_TYP_JWT)

static const wid_jws_memo_entry *
wid_jws_memo_find(const wid_jws_memo_table *t, const char *b64, size_t len,
                  unsigned rules, unsigned depth)
{
    size_t i;

    for (i = 0; i < WID_JWS_MEMO_SLOTS; i++) {
        if (t->e[i].len == len && t->e[i].rules == rules
            && t->e[i].depth == depth && memcmp(t->e[i].b64, b64, len) == 0)
        {
            return &t->e[i];
        }
    }
    return NULL;
}

void
wid_jws_memo_remember(const wid_jws *jws)
{
    wid_jws_memo_table *t = &wid_jws_memo;
    wid_jws_memo_entry *e;
    size_t              kid_len = 0;

    if (!jws->memo_ok || jws->hdr_b64 == NULL
        || jws->hdr_b64_len == 0 || jws->hdr_b64_len > WID_JWS_MEMO_HDR_MAX
        || jws->alg <= WID_JWS_ALG_NONE || jws->alg >= WID_JWS_ALG_COUNT)
    {
        return;
    }
    if (jws->kid != NULL) {
        kid_len = strlen(jws->kid);
        if (kid_len >= sizeof(e->kid)) {
            return;
        }
    }
    if (wid_jws_memo_find(t, jws->hdr_b64, jws->hdr_b64_len, jws->memo_rules,
                          jws->memo_depth) != NULL)
    {
        return;
    }
    e = &t->e[t->next];
    t->next = (t->next + 1) % WID_JWS_MEMO_SLOTS;
    memcpy(e->b64, jws->hdr_b64, jws->hdr_b64_len);
    e->len = jws->hdr_b64_len;
    e->rules = jws->memo_rules;
    e->depth = jws->memo_depth;
    e->alg = jws->alg;
    e->has_kid = jws->kid != NULL;
    if (jws->kid != NULL) {
        memcpy(e->kid, jws->kid, kid_len + 1);
    }
}

void
wid_jws_memo_clear(void)
{
    memset(&wid_jws_memo, 0, sizeof(wid_jws_memo));
}

void
wid_jws_thread_init(void)
{
    wid_jws_memo_clear();
    if (wid_json_arena_take()) {
        wid_json_arena_stop();
        wid_json_arena_give();
    }
}

size_t
wid_jws_memo_count(void)
{
    size_t i, n = 0;

    for (i = 0; i < WID_JWS_MEMO_SLOTS; i++) {
        n += wid_jws_memo.e[i].len != 0;
    }
    return n;
}

/* Only the members that own or point; the buffers need no wiping. */
static void
wid_jws_reset(wid_jws *jws)
{
    jws->header = NULL;
    jws->payload = NULL;
    jws->alg = WID_JWS_ALG_NONE;
    jws->kid = NULL;
    jws->signing_input = NULL;
    jws->signing_input_len = 0;
    jws->sig_len = 0;
    jws->md_len = 0;
    jws->hdr_b64 = NULL;
    jws->hdr_b64_len = 0;
    jws->memo_rules = 0;
    jws->memo_depth = 0;
    jws->memo_ok = 0;
    jws->from_memo = 0;
}

void
wid_jws_clear(wid_jws *jws)
{
    if (jws == NULL) {
        return;
    }
    json_decref(jws->header);
    json_decref(jws->payload);
    wid_jws_reset(jws);
}

wid_reason_t
wid_jws_parse(const char *token, size_t len, const wid_jws_opts *opts,
              wid_jws *out)
{
    const char               *d1, *d2, *p;
    size_t                    max_len, hlen, plen, slen, n;
    unsigned                  depth, flags, rules;
    const wid_jws_memo_entry *memo;
    wid_reason_t              r;

    wid_jws_reset(out);
    max_len = opts != NULL && opts->max_len != 0
              && opts->max_len < WID_JWS_MAX_LEN
              ? opts->max_len : WID_JWS_MAX_LEN;
    depth = opts != NULL && opts->max_depth != 0
            ? opts->max_depth : WID_JWS_MAX_DEPTH;
    flags = opts != NULL ? opts->flags : 0;

    if (token == NULL || len == 0) {
        return WID_R_JWT_MALFORMED;
    }
    if (len > max_len) {
        return WID_R_JWT_TOO_LARGE;
    }
    for (p = token; p < token + len && (*p == ' ' || *p == '\t'
                                        || *p == '\r' || *p == '\n'); p++)
    {
        /* skip */
    }
    if (p < token + len && *p == '{') {
        return WID_R_JWT_NOT_COMPACT;
    }

    d1 = memchr(token, '.', len);
    d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t) (d1 + 1 - token))
                    : NULL;
    if (d2 == NULL
        || memchr(d2 + 1, '.', len - (size_t) (d2 + 1 - token)) != NULL)
    {
        return WID_R_JWT_MALFORMED;
    }
    hlen = (size_t) (d1 - token);
    plen = (size_t) (d2 - d1 - 1);
    slen = len - (size_t) (d2 + 1 - token);
    if (hlen == 0 || plen == 0) {
        return WID_R_JWT_MALFORMED;
    }

    /* A header checked before, under the same rules: take the outcome. */
    rules = flags & WID_JWS_RULES;
    memo = (flags & WID_JWS_NO_MEMO)
           ? NULL : wid_jws_memo_find(&wid_jws_memo, token, hlen, rules,
                                      depth);
    if (memo != NULL) {
        out->alg = memo->alg;
        if (memo->has_kid) {
            memcpy(out->kid_buf, memo->kid, strlen(memo->kid) + 1);
            out->kid = out->kid_buf;
        }
        out->from_memo = 1;
    } else {
        /* Decoded bytes are fewer than encoded ones: raw suffices. */
        if (wid_b64url_decode(token, hlen, out->raw, sizeof(out->raw), &n)
            != 0)
        {
            return WID_R_JWT_BAD_BASE64;
        }
        r = wid_jws_json_object(out->raw, n, depth, WID_R_JWT_HEADER_INVALID,
                                &out->header);
        if (r != WID_OK) {
            goto fail;
        }
        r = wid_jws_check_header(out, flags);
        if (r != WID_OK) {
            goto fail;
        }
        out->hdr_b64 = token;
        out->hdr_b64_len = hlen;
        out->memo_rules = rules;
        out->memo_depth = depth;
        out->memo_ok = !(flags & WID_JWS_NO_MEMO);
    }

    if (wid_b64url_decode(d1 + 1, plen, out->raw, sizeof(out->raw), &n) != 0)
    {
        r = WID_R_JWT_BAD_BASE64;
        goto fail;
    }
    if (opts != NULL && opts->payload_fn != NULL) {
        r = opts->payload_fn(opts->payload_ctx, out->raw, n);
    } else {
        r = wid_jws_json_object(out->raw, n, depth, WID_R_JWT_PAYLOAD_INVALID,
                                &out->payload);
    }
    if (r != WID_OK) {
        goto fail;
    }

    /* An unsigned token ("alg":"none" style) ends with a bare dot. */
    if (slen == 0) {
        r = WID_R_JWT_MALFORMED;
        goto fail;
    }
    if (slen > (sizeof(out->sig) * 4 + 2) / 3) {
        r = WID_R_JWT_SIGNATURE_LENGTH;
        goto fail;
    }
    if (wid_b64url_decode(d2 + 1, slen, out->sig, sizeof(out->sig),
                          &out->sig_len) != 0)
    {
        r = WID_R_JWT_BAD_BASE64;
        goto fail;
    }

    out->signing_input = token;
    out->signing_input_len = (size_t) (d2 - token);
    return WID_OK;

fail:
    wid_jws_clear(out);
    return r;
}

/*
 * Digests fetched once per process: EVP_sha256() and the one-shot
 * SHA256() look the implementation up again on every call, which costs
 * more than hashing a token.  Immutable after the once-initialisation.
 */
static EVP_MD        *wid_jws_md_fetched[3];
static pthread_once_t wid_jws_md_once = PTHREAD_ONCE_INIT;

static void
wid_jws_md_init(void)
{
    wid_jws_md_fetched[0] = EVP_MD_fetch(NULL, "SHA256", NULL);
    wid_jws_md_fetched[1] = EVP_MD_fetch(NULL, "SHA384", NULL);
    wid_jws_md_fetched[2] = EVP_MD_fetch(NULL, "SHA512", NULL);
    ERR_clear_error();
}

static const EVP_MD *
wid_jws_md(size_t md_len)
{
    int i = md_len == 32 ? 0 : md_len == 48 ? 1 : 2;

    pthread_once(&wid_jws_md_once, wid_jws_md_init);
    if (wid_jws_md_fetched[i] != NULL) {
        return wid_jws_md_fetched[i];
    }
    return i == 0 ? EVP_sha256() : i == 1 ? EVP_sha384() : EVP_sha512();
}

/* The md_len-byte SHA-2 digest of len bytes at data: 0, or -1. */
static int
wid_jws_md_of(const void *data, size_t len, size_t md_len, unsigned char *md)
{
    unsigned int n;

    if (md_len == WID_SHA256_LEN) {
        wid_sha256(data, len, md);
        return 0;
    }
    if (EVP_Digest(data, len, md, &n, wid_jws_md(md_len), NULL) != 1
        || n != md_len)
    {
        ERR_clear_error();
        return -1;
    }
    return 0;
}

wid_reason_t
wid_jws_digest(wid_jws *jws, unsigned char *input_sha256)
{
    size_t  md_len;

    if (jws->alg <= WID_JWS_ALG_NONE || jws->alg >= WID_JWS_ALG_COUNT
        || jws->signing_input == NULL)
    {
        return WID_R_JWT_ALG_NOT_ALLOWED;
    }
    md_len = wid_jws_algs[jws->alg].md_len;
    if (md_len == WID_SHA256_LEN) {
        wid_sha256(jws->signing_input, jws->signing_input_len, jws->md);
        jws->md_len = md_len;
        if (input_sha256 != NULL) {
            memcpy(input_sha256, jws->md, WID_SHA256_LEN);
        }
        return WID_OK;
    }
    if (input_sha256 != NULL) {
        wid_sha256(jws->signing_input, jws->signing_input_len, input_sha256);
    }
    if (wid_jws_md_of(jws->signing_input, jws->signing_input_len, md_len,
                      jws->md) != 0)
    {
        jws->md_len = 0;
        return WID_R_INTERNAL_CRYPTO;
    }
    jws->md_len = md_len;
    return WID_OK;
}

static EVP_PKEY_CTX *
wid_jws_vctx(wid_jws_key *key, wid_jws_alg alg)
{
    EVP_PKEY_CTX *ctx;
    const EVP_MD *md;

    if (key->vctx[alg] != NULL) {
        return key->vctx[alg];
    }
    md = wid_jws_md(wid_jws_algs[alg].md_len);
    ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL);
    if (ctx == NULL
        || EVP_PKEY_verify_init(ctx) <= 0
        || EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0
        || (wid_jws_algs[alg].pss
            && (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) <= 0
                || EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx,
                                                    RSA_PSS_SALTLEN_DIGEST)
                   <= 0
                || EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) <= 0))
        || (key->type == WID_JWS_KEY_RSA && !wid_jws_algs[alg].pss
            && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0))
    {
        EVP_PKEY_CTX_free(ctx);
        ERR_clear_error();
        return NULL;
    }
    key->vctx[alg] = ctx;
    return ctx;
}

wid_reason_t
wid_jws_verify(const wid_jws *jws, wid_jws_key *key)
{
    unsigned char        md[64];
    const unsigned char *mdp;
    size_t               sig_len = jws->sig_len, coord = 0, md_len;
    EVP_PKEY_CTX        *ctx;
    int                  rc;

    if (jws->alg <= WID_JWS_ALG_NONE || jws->alg >= WID_JWS_ALG_COUNT
        || key == NULL || key->pkey == NULL)
    {
        return WID_R_JWT_ALG_NOT_ALLOWED;
    }
    if (key->type != wid_jws_algs[jws->alg].key) {
        return WID_R_JWT_ALG_KEY_MISMATCH;
    }

    switch (key->type) {
    case WID_JWS_KEY_RSA:
        if (sig_len != (size_t) EVP_PKEY_get_size(key->pkey)) {
            return WID_R_JWT_SIGNATURE_LENGTH;
        }
        break;
    default:
        coord = key->type == WID_JWS_KEY_P256 ? 32
                : key->type == WID_JWS_KEY_P384 ? 48 : 66;
        /* A DER-encoded signature is never exactly 2 * coord bytes. */
        if (sig_len != 2 * coord) {
            return WID_R_JWT_SIGNATURE_LENGTH;
        }
        break;
    }

    md_len = wid_jws_algs[jws->alg].md_len;
    if (jws->md_len == md_len) {
        mdp = jws->md;
    } else if (wid_jws_md_of(jws->signing_input, jws->signing_input_len,
                             md_len, md) == 0)
    {
        mdp = md;
    } else {
        ERR_clear_error();
        return WID_R_INTERNAL_CRYPTO;
    }

    if (key->type != WID_JWS_KEY_RSA) {
        rc = wid_ecdsa_jose_verify(key->pkey, &key->ec, mdp, md_len,
                                   jws->sig, coord);
        if (rc < 0) {
            return WID_R_INTERNAL_CRYPTO;
        }
        return rc == 1 ? WID_OK : WID_R_JWT_BAD_SIGNATURE;
    }

    ctx = wid_jws_vctx(key, jws->alg);
    if (ctx == NULL) {
        return WID_R_INTERNAL_CRYPTO;
    }
    rc = EVP_PKEY_verify(ctx, jws->sig, sig_len, mdp, md_len);
    if (rc != 1) {
        ERR_clear_error();
        return WID_R_JWT_BAD_SIGNATURE;
    }
    return WID_OK;
}

void
wid_jws_key_clear(wid_jws_key *key)
{
    int i;

    if (key == NULL) {
        return;
    }
    for (i = 0; i < WID_JWS_ALG_COUNT; i++) {
        EVP_PKEY_CTX_free(key->vctx[i]);
    }
    EVP_PKEY_free(key->pkey);
    memset(key, 0, sizeof(*key));
}

wid_reason_t
wid_jws_key_init(wid_jws_key *key, EVP_PKEY *pkey)
{
    char group[64];
    int  bits, nid;

    memset(key, 0, sizeof(*key));
    if (pkey == NULL) {
        return WID_R_BUNDLE_JWK_INVALID;
    }
    key->pkey = pkey;

    switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
        bits = EVP_PKEY_get_bits(pkey);
        if (bits < WID_RSA_MIN_BITS || bits > WID_RSA_MAX_BITS) {
            goto invalid;
        }
        key->type = WID_JWS_KEY_RSA;
        return WID_OK;
    case EVP_PKEY_EC:
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
                                           group, sizeof(group), NULL) != 1)
        {
            goto invalid;
        }
        nid = OBJ_txt2nid(group);
        if (nid == NID_undef) {
            nid = EC_curve_nist2nid(group);
        }
        key->type = nid == NID_X9_62_prime256v1 ? WID_JWS_KEY_P256
                    : nid == NID_secp384r1 ? WID_JWS_KEY_P384
                    : nid == NID_secp521r1 ? WID_JWS_KEY_P521
                    : WID_JWS_KEY_UNSUPPORTED;
        if (key->type == WID_JWS_KEY_UNSUPPORTED) {
            goto invalid;
        }
        /*
         * OpenSSL makes the legacy view (a copy of the group, Montgomery
         * contexts) on first request; made here, its blocks are allocated
         * with the bundle's rather than amid a request's.
         */
        key->ec = wid_ecdsa_jose_key(pkey);
        if (key->ec == NULL) {
            goto invalid;
        }
        return WID_OK;
    default:
        break;
    }

invalid:
    ERR_clear_error();
    wid_jws_key_clear(key);
    return WID_R_BUNDLE_JWK_INVALID;
}

/* Decode a base64url JWK member of at most max bytes. */
static int
wid_jwk_member(const json_t *jwk, const char *name, unsigned char *out,
               size_t max, size_t *out_len)
{
    const json_t *v = json_object_get(jwk, name);

    if (!json_is_string(v) || json_string_length(v) == 0) {
        return -1;
    }
    return wid_b64url_decode(json_string_value(v), json_string_length(v),
                             out, max, out_len);
}

static EVP_PKEY *
wid_jwk_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    OSSL_PARAM   *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY     *pkey = NULL;

    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0
        || EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
    {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

wid_reason_t
wid_jws_key_from_jwk(const json_t *jwk, wid_jws_key *key)
{
    unsigned char   n[1024], e[16], pub[1 + 2 * 66];
    size_t          n_len, e_len, x_len, y_len, coord;
    const char     *kty, *crv;
    OSSL_PARAM_BLD *bld = NULL;
    BIGNUM         *bn_n = NULL, *bn_e = NULL;
    EVP_PKEY       *pkey = NULL;
    EVP_PKEY_CTX   *chk = NULL;

    memset(key, 0, sizeof(*key));
    if (!json_is_object(jwk)
        || !json_is_string(json_object_get(jwk, "kty")))
    {
        return WID_R_BUNDLE_JWK_INVALID;
    }
    /* A bundle publishes public keys; private material is a mistake. */
    if (json_object_get(jwk, "d") != NULL) {
        return WID_R_BUNDLE_JWK_INVALID;
    }
    kty = json_string_value(json_object_get(jwk, "kty"));
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }

    if (strcmp(kty, "RSA") == 0) {
        if (wid_jwk_member(jwk, "n", n, sizeof(n), &n_len) != 0
            || wid_jwk_member(jwk, "e", e, sizeof(e), &e_len) != 0)
        {
            goto invalid;
        }
        bn_n = BN_bin2bn(n, (int) n_len, NULL);
        bn_e = BN_bin2bn(e, (int) e_len, NULL);
        if (bn_n == NULL || bn_e == NULL || !BN_is_odd(bn_e)
            || BN_is_one(bn_e)
            || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n)
            || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
        {
            goto invalid;
        }
        pkey = wid_jwk_fromdata("RSA", bld);

    } else if (strcmp(kty, "EC") == 0) {
        if (!json_is_string(json_object_get(jwk, "crv"))) {
            goto invalid;
        }
        crv = json_string_value(json_object_get(jwk, "crv"));
        coord = strcmp(crv, "P-256") == 0 ? 32
                : strcmp(crv, "P-384") == 0 ? 48
                : strcmp(crv, "P-521") == 0 ? 66 : 0;
        if (coord == 0
            || wid_jwk_member(jwk, "x", pub + 1, coord, &x_len) != 0
            || wid_jwk_member(jwk, "y", pub + 1 + coord, coord, &y_len) != 0
            || x_len != coord || y_len != coord)
        {
            goto invalid;
        }
        pub[0] = 0x04;    /* uncompressed point */
        if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                             crv, 0)
            || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
                                                 pub, 1 + 2 * coord))
        {
            goto invalid;
        }
        pkey = wid_jwk_fromdata("EC", bld);
        /* Off-curve points must never reach a verify call. */
        chk = pkey != NULL ? EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)
                           : NULL;
        if (chk == NULL || EVP_PKEY_public_check(chk) != 1) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
        EVP_PKEY_CTX_free(chk);
    }

    if (pkey == NULL) {
        goto invalid;
    }
    BN_free(bn_n);
    BN_free(bn_e);
    OSSL_PARAM_BLD_free(bld);
    return wid_jws_key_init(key, pkey);

invalid:
    ERR_clear_error();
    BN_free(bn_n);
    BN_free(bn_e);
    OSSL_PARAM_BLD_free(bld);
    return WID_R_BUNDLE_JWK_INVALID;
}
