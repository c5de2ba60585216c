#include <string.h>

#include "jws.h"
#include "jwt_claims.h"
#include "jwtsvid.h"
#include "spiffe_id.h"

/* The time claims, in the order of their rules. */
static wid_reason_t
wid_jwt_times(const wid_jwt_claims *c, int64_t now, int64_t leeway)
{
    int64_t lo, hi;

    /* |now| is bounded by the caller, |leeway| by WID_LEEWAY_MAX. */
    if (__builtin_add_overflow(now, leeway, &hi)) {
        hi = INT64_MAX;
    }
    if (__builtin_sub_overflow(now, leeway, &lo)) {
        lo = INT64_MIN;
    }

    if (!c->exp.present) {
        return WID_R_JWT_EXP_MISSING;
    }
    if (c->exp.status != WID_OK) {
        return c->exp.status;
    }
    /* RFC 7519 4.1.4: the current time must be before exp. */
    if (lo >= c->exp.value) {
        return WID_R_JWT_EXPIRED;
    }
    if (c->nbf.present) {
        if (c->nbf.status != WID_OK) {
            return c->nbf.status;
        }
        if (c->nbf.value > hi) {
            return WID_R_JWT_NOT_YET_VALID;
        }
    }
    if (c->iat.present) {
        if (c->iat.status != WID_OK) {
            return c->iat.status;
        }
        if (c->iat.value > hi) {
            return WID_R_JWT_IAT_FUTURE;
        }
    }
    return WID_OK;
}

/*
 * An optional bound on how long a token may live: exp - iat, or, with
 * no iat, exp - now (plus the leeway, for an issuer whose clock is
 * ahead).  Overflow counts as too long.  Times are valid here.
 */
static wid_reason_t
wid_jwt_lifetime(const wid_jwt_claims *c, int64_t now, int64_t leeway,
                 int64_t max_lifetime)
{
    int64_t life, limit = max_lifetime;

    if (max_lifetime == 0) {
        return WID_OK;
    }
    if (c->iat.present) {
        if (__builtin_sub_overflow(c->exp.value, c->iat.value, &life)) {
            return WID_R_JWT_LIFETIME_TOO_LONG;
        }
    } else {
        if (__builtin_sub_overflow(c->exp.value, now, &life)) {
            return WID_R_JWT_LIFETIME_TOO_LONG;
        }
        limit += leeway;      /* both bounded: no overflow */
    }
    return life > limit ? WID_R_JWT_LIFETIME_TOO_LONG : WID_OK;
}

/* wid_jws_parse hands the decoded claims over at the payload step. */
typedef struct {
    wid_jwt_claims  claims;
    const char     *audience;
    size_t          aud_len;
} wid_jwt_payload_ctx;

static wid_reason_t
wid_jwt_payload(void *ctx, const unsigned char *buf, size_t len)
{
    wid_jwt_payload_ctx *pc = ctx;

    return wid_jwt_claims_read(buf, len, WID_JWS_MAX_DEPTH, pc->audience,
                               pc->aud_len, &pc->claims);
}

/* Find the key: by kid within the trust domain, else each that fits. */
static wid_reason_t
wid_jwt_signature(const wid_bundle *b, const wid_jws *jws,
                  const char **bundle_sha)
{
    wid_jwt_authority *a;
    wid_jws_key_type   need = wid_jws_alg_key_type(jws->alg);
    wid_reason_t       r, last = WID_R_JWT_NO_KEY;
    size_t             i;
    int                named = 0;

    for (i = 0; i < wid_bundle_jwt_count(b); i++) {
        a = wid_bundle_jwt_at(b, i);
        if (jws->kid != NULL) {
            /* The same kid may come from two files of one domain. */
            if (strcmp(a->kid, jws->kid) != 0) {
                continue;
            }
            named = 1;
            if (a->key.type != need) {
                last = WID_R_JWT_ALG_KEY_MISMATCH;
                continue;
            }
        } else if (a->key.type != need) {
            continue;
        }
        r = wid_jws_verify(jws, &a->key);
        if (r == WID_OK) {
            *bundle_sha = a->source_sha256;
            return WID_OK;
        }
        last = r;
    }
    if (jws->kid != NULL && !named) {
        return WID_R_JWT_KID_UNKNOWN;
    }
    return last;
}

wid_reason_t
wid_jwtsvid_verify(const wid_bundle_set *set, const char *token, size_t len,
                   const char *audience, int64_t now, int64_t leeway,
                   wid_identity *out)
{
    wid_jwtsvid_opts o = { audience, now, leeway, 0, 0 };

    return wid_jwtsvid_verify_opts(set, token, len, &o, out);
}

wid_reason_t
wid_jwtsvid_verify_opts(const wid_bundle_set *set, const char *token,
                        size_t len, const wid_jwtsvid_opts *o,
                        wid_identity *out)
{
    wid_jws_opts         opts = {
        WID_JWTSVID_MAX_LEN, WID_JWS_MAX_DEPTH,
        WID_JWS_HDR_STRICT | WID_JWS_HDR_TYP_JWT, wid_jwt_payload, NULL
    };
    wid_jwt_payload_ctx  pc;
    wid_jws              jws;
    wid_spiffe_id        id;
    const wid_bundle    *b;
    const char          *bundle_sha = "", *audience = o->audience;
    unsigned char        md[32];
    size_t               aud_len;
    int64_t              now = o->now, leeway = o->leeway;
    wid_reason_t         r;

    memset(out, 0, sizeof(*out));
    if (audience == NULL || audience[0] == '\0') {
        r = WID_R_JWT_AUD_NOT_CONFIGURED;
        goto fail;
    }
    aud_len = strlen(audience);
    if (aud_len > WID_AUDIENCE_MAX || leeway < 0 || leeway > WID_LEEWAY_MAX
        || now > INT64_MAX / 2 || now < INT64_MIN / 2
        || o->max_lifetime < 0 || o->max_lifetime > WID_JWTSVID_LIFETIME_MAX)
    {
        r = WID_R_INTERNAL_CONFIG;
        goto fail;
    }

    memset(&pc, 0, sizeof(pc));
    pc.audience = audience;
    pc.aud_len = aud_len;
    if (o->flags & WID_JWTSVID_NO_MEMO) {
        opts.flags |= WID_JWS_NO_MEMO;
    }
    opts.payload_ctx = &pc;

    r = wid_jws_parse(token, len, &opts, &jws);
    if (r != WID_OK) {
        wid_jwt_claims_clear(&pc.claims);
        goto fail;
    }

    if (pc.claims.sub == NULL) {
        r = WID_R_JWT_SUB_MISSING;
        goto done;
    }
    r = wid_spiffe_id_parse(pc.claims.sub, pc.claims.sub_len, &id);
    if (r != WID_OK) {
        out->detail = r;
        r = WID_R_JWT_SUB_INVALID;
        goto done;
    }
    /* Like an X.509-SVID's: a bare trust domain names no workload. */
    if (id.path_len == 0) {
        r = WID_R_JWT_SUB_ROOT_PATH;
        goto done;
    }

    b = wid_bundle_set_find(set, id.trust_domain, id.td_len);
    if (b == NULL) {
        r = WID_R_BUNDLE_UNKNOWN_TD;
        goto done;
    }
    /*
     * One digest for every key tried, and the credential id with it: the
     * SHA-256 of the signed bytes, the same for every encoding of one
     * signature (an ECDSA s or n - s: both verify).
     */
    r = wid_jws_digest(&jws, md);
    if (r != WID_OK) {
        goto done;
    }
    r = wid_jwt_signature(b, &jws, &bundle_sha);
    if (r != WID_OK) {
        goto done;
    }
    /* An authenticated header: the next token with it skips the check. */
    wid_jws_memo_remember(&jws);

    /* Only authenticated claims from here on. */
    r = wid_jwt_times(&pc.claims, now, leeway);
    if (r != WID_OK) {
        goto done;
    }
    r = wid_jwt_lifetime(&pc.claims, now, leeway, o->max_lifetime);
    if (r != WID_OK) {
        goto done;
    }
    r = pc.claims.aud;
    if (r != WID_OK) {
        goto done;
    }

    wid_hex(md, sizeof(md), out->serial);
    memcpy(out->spiffe_id, id.id, 9 + id.td_len + id.path_len + 1);
    memcpy(out->trust_domain, id.trust_domain, id.td_len + 1);
    memcpy(out->path, id.path, id.path_len + 1);
    memcpy(out->audience, audience, aud_len + 1);
    memcpy(out->bundle_sha256, bundle_sha, strlen(bundle_sha) + 1);
    out->kind = WID_CRED_JWT_SVID;
    out->not_after = pc.claims.exp.value;

done:
    wid_jwt_claims_clear(&pc.claims);
    wid_jws_clear(&jws);
    if (r == WID_OK) {
        return WID_OK;
    }
fail:
    {
        wid_reason_t detail = out->detail;

        memset(out, 0, sizeof(*out));
        out->detail = detail;
    }
    return r;
}
