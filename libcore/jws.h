/*
 * Compact JWS (RFC 7515) parsing and signature verification for the
 * asymmetric algorithms RS/PS/ES 256/384/512 only.
 *
 * Used for JWT-SVIDs (jwtsvid.h) and reusable for other signed tokens
 * (projected service-account tokens, OIDC).  Keys are imported once
 * (wid_jws_key_from_jwk / wid_jws_key_init) and keep a verify context
 * per algorithm, so that a verification costs one digest and one
 * public-key operation.  A wid_jws_key is not thread-safe: each process
 * owns its copy.
 */
#ifndef WID_JWS_H
#define WID_JWS_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "base64.h"
#include "bytes.h"
#include "reason.h"

/* Hard upper bound for a token; wid_jws_opts.max_len may lower it. */
#define WID_JWS_MAX_LEN   16384
#define WID_JWS_MAX_DEPTH 16

typedef enum {
    WID_JWS_ALG_NONE = 0,          /* not an accepted algorithm */
    WID_JWS_RS256, WID_JWS_RS384, WID_JWS_RS512,
    WID_JWS_PS256, WID_JWS_PS384, WID_JWS_PS512,
    WID_JWS_ES256, WID_JWS_ES384, WID_JWS_ES512,
    WID_JWS_ALG_COUNT
} wid_jws_alg;

typedef enum {
    WID_JWS_KEY_UNSUPPORTED = 0,
    WID_JWS_KEY_RSA,               /* RS* and PS*, modulus >= 2048 bits */
    WID_JWS_KEY_P256,              /* ES256 */
    WID_JWS_KEY_P384,              /* ES384 */
    WID_JWS_KEY_P521               /* ES512 */
} wid_jws_key_type;

typedef struct {
    EVP_PKEY         *pkey;
    wid_jws_key_type  type;
    /* RSA keys: verify contexts, made on first use of each algorithm. */
    EVP_PKEY_CTX     *vctx[WID_JWS_ALG_COUNT];
    /* EC keys: pkey's EC_KEY, looked up when the key is loaded. */
    EC_KEY           *ec;
} wid_jws_key;

/* Header rules. */
#define WID_JWS_HDR_STRICT  0x1u   /* only alg, kid, typ members allowed */
#define WID_JWS_HDR_TYP_JWT 0x2u   /* typ, if present, is JWT or JOSE */
/*
 * Do not use the memo of validated headers (always the full check) and
 * do not let wid_jws_memo_remember keep this header.  The result is the
 * same either way; tests and fuzzers compare the two.
 */
#define WID_JWS_NO_MEMO     0x4u

/* Longest base64url header the memo keeps (longer ones: full check). */
#define WID_JWS_MEMO_HDR_MAX 256

/*
 * Called by wid_jws_parse with the decoded payload instead of parsing
 * it with jansson, at the same point of the checks (so the order of
 * rejections does not change).  buf stays valid until wid_jws_clear.
 */
typedef wid_reason_t (*wid_jws_payload_fn)(void *ctx,
                                           const unsigned char *buf,
                                           size_t len);

typedef struct {
    size_t              max_len;   /* 0 = WID_JWS_MAX_LEN */
    unsigned            max_depth; /* 0 = WID_JWS_MAX_DEPTH */
    unsigned            flags;
    wid_jws_payload_fn  payload_fn;   /* NULL: payload parsed to json_t */
    void               *payload_ctx;
} wid_jws_opts;

typedef struct {
    /* owned; NULL when the header came from the memo */
    json_t        *header;
    json_t        *payload;        /* owned; NULL with a payload_fn */
    wid_jws_alg    alg;
    /* into header or into kid_buf of this struct (do not copy a wid_jws
     * by value), or NULL */
    const char    *kid;
    const char    *signing_input;  /* into the token: header.payload */
    size_t         signing_input_len;
    unsigned char  sig[1056];      /* up to RSA-8192 */
    size_t         sig_len;
    /* Digest of the signing input once wid_jws_digest ran (md_len). */
    unsigned char  md[64];
    size_t         md_len;
    char           kid_buf[WID_JWS_MEMO_HDR_MAX];
    /* The header as sent (into the token) and the rules it passed. */
    const char    *hdr_b64;
    size_t         hdr_b64_len;
    unsigned       memo_rules, memo_depth;
    int            memo_ok;        /* may be remembered */
    int            from_memo;      /* the header check came from the memo */
    /* Decoded header, then payload (what payload_fn sees). */
    unsigned char  raw[WID_JWS_MAX_LEN / 4 * 3];
} wid_jws;

/* "RS256" ... ; NULL for WID_JWS_ALG_NONE. */
const char *wid_jws_alg_name(wid_jws_alg alg);

/* WID_JWS_ALG_NONE for anything not accepted (none, HS256, EdDSA...). */
wid_jws_alg wid_jws_alg_from_name(const char *name);

/* The key type an algorithm needs. */
wid_jws_key_type wid_jws_alg_key_type(wid_jws_alg alg);

/*
 * Parse a compact JWS: split, decode (strict base64url), parse header
 * and payload as JSON objects with duplicate members rejected and a
 * depth limit, check the header.  Reason codes are of the jwt area.
 * A header whose exact bytes passed the same checks before (see
 * wid_jws_memo_remember) is not decoded again: header stays NULL,
 * from_memo is 1 and kid is in kid_buf.
 * On success the caller owns *out and frees it with wid_jws_clear();
 * on failure *out holds nothing to free.
 */
wid_reason_t wid_jws_parse(const char *token, size_t len,
                           const wid_jws_opts *opts, wid_jws *out);

void wid_jws_clear(wid_jws *jws);

/*
 * Remember the outcome of the header check of a parsed token, for the
 * calling thread: call it once the token's signature has verified, so
 * that only authenticated headers enter the bounded table (16 entries,
 * headers of at most WID_JWS_MEMO_HDR_MAX characters; the oldest entry
 * gives way).  The token must still be valid.  Does nothing for a
 * header that came from the memo or was parsed with WID_JWS_NO_MEMO.
 */
void wid_jws_memo_remember(const wid_jws *jws);

/* Forget every remembered header of the calling thread. */
void wid_jws_memo_clear(void);

/* Entries in use in the calling thread's table (for tests). */
size_t wid_jws_memo_count(void);

/*
 * Set up the calling thread's verification state (the memo above and the
 * arena of json_arena.h) now rather than at its first token.  Where
 * libcore is part of a library loaded with dlopen(), as in nginx's
 * modules, that state is allocated on first use: inside a request, among
 * its short-lived blocks, where it stays for the life of the process and
 * splits the heap's free space (bench/NOTES.md).  A long-lived process
 * calls this once per thread before serving.
 */
void wid_jws_thread_init(void);

/*
 * Digest the signing input with the algorithm's hash once, into
 * jws->md (wid_jws_verify then reuses it, so trying several keys hashes
 * once).  If input_sha256 is not NULL, also the SHA-256 of the signing
 * input (32 bytes): for the *256 algorithms that is the digest itself.
 */
wid_reason_t wid_jws_digest(wid_jws *jws, unsigned char *input_sha256);

/*
 * Parse one decoded JOSE part with jansson as a JSON object: duplicate
 * members refused, depth limit (jwt.duplicate_key, jwt.json_too_deep,
 * else invalid).
 */
wid_reason_t wid_jws_json_object(const unsigned char *buf, size_t len,
                                 unsigned max_depth, wid_reason_t invalid,
                                 json_t **out);

/*
 * Verify the signature of a parsed JWS with key.  Returns
 * WID_R_JWT_ALG_KEY_MISMATCH when the key cannot serve the alg,
 * WID_R_JWT_SIGNATURE_LENGTH when the signature has the wrong size for
 * the key (e.g. a DER-encoded ECDSA signature), WID_R_JWT_BAD_SIGNATURE.
 */
wid_reason_t wid_jws_verify(const wid_jws *jws, wid_jws_key *key);

/* Take ownership of pkey (also on failure): classify, reject weak keys. */
wid_reason_t wid_jws_key_init(wid_jws_key *key, EVP_PKEY *pkey);

/* Import a public JWK (kty RSA or EC) into key.  bundle.jwk_invalid. */
wid_reason_t wid_jws_key_from_jwk(const json_t *jwk, wid_jws_key *key);

void wid_jws_key_clear(wid_jws_key *key);

/*
 * 1 if the parsed JSON value nests objects/arrays at most max_depth deep
 * (a scalar is depth 0, {} depth 1).
 */
int wid_json_depth_ok(const json_t *j, unsigned max_depth);

#endif
