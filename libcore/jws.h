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
    /* Verify contexts, created on first use of each algorithm. */
    EVP_PKEY_CTX     *vctx[WID_JWS_ALG_COUNT];
} wid_jws_key;

/* Header rules. */
#define WID_JWS_HDR_STRICT  0x1u   /* only alg, kid, typ members allowed */
#define WID_JWS_HDR_TYP_JWT 0x2u   /* typ, if present, is JWT or JOSE */

typedef struct {
    size_t   max_len;              /* 0 = WID_JWS_MAX_LEN */
    unsigned max_depth;            /* 0 = WID_JWS_MAX_DEPTH */
    unsigned flags;
} wid_jws_opts;

typedef struct {
    json_t        *header;         /* owned */
    json_t        *payload;        /* owned; NULL unless a JSON object */
    wid_jws_alg    alg;
    const char    *kid;            /* into header, or NULL */
    const char    *signing_input;  /* into the token: header.payload */
    size_t         signing_input_len;
    unsigned char  sig[1056];      /* up to RSA-8192 */
    size_t         sig_len;
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
 * On success the caller owns *out and frees it with wid_jws_clear();
 * on failure *out holds nothing to free.
 */
wid_reason_t wid_jws_parse(const char *token, size_t len,
                           const wid_jws_opts *opts, wid_jws *out);

void wid_jws_clear(wid_jws *jws);

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
 * Strict base64url without padding (canonical trailing bits) into out.
 * Returns 0 and sets *out_len, or -1.
 */
int wid_b64url_decode(const char *in, size_t in_len, unsigned char *out,
                      size_t out_max, size_t *out_len);

/* 1 if the JSON text nests objects/arrays at most max_depth deep. */
int wid_json_depth_ok(const char *text, size_t len, unsigned max_depth);

/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void wid_hex(const unsigned char *in, size_t len, char *out);

#endif
