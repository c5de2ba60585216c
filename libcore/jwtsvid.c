#include <math.h>
#include <string.h>

#include <openssl/sha.h>

#include "jws.h"
#include "jwtsvid.h"
#include "spiffe_id.h"

#define WID_LEEWAY_MAX (24 * 3600)

/* A NumericDate (RFC 7519): integer or real seconds. */
static wid_reason_t
wid_numeric_date(const json_t *v, int64_t *out)
{
    double d;

    if (json_is_integer(v)) {
        *out = (int64_t) json_integer_value(v);
        return WID_OK;
    }
    if (json_is_real(v)) {
        d = json_real_value(v);
        /* 2^62 keeps later additions of the leeway far from overflow. */
        if (!isfinite(d) || d > 4611686018427387904.0
            || d < -4611686018427387904.0)
        {
            return WID_R_JWT_CLAIM_INVALID;
        }
        /* floor() without libm: truncate, then step down if needed. */
        *out = (int64_t) d;
        if ((double) *out > d) {
            (*out)--;
        }
        return WID_OK;
    }
    return WID_R_JWT_CLAIM_INVALID;
}

static wid_reason_t
wid_jwt_audience(const json_t *aud, const char *expected, size_t exp_len)
{
    const json_t *v;
    size_t        i;
    int           found = 0;

    if (aud == NULL) {
        return WID_R_JWT_AUD_MISSING;
    }
    if (json_is_string(aud)) {
        if (json_string_length(aud) == 0) {
            return WID_R_JWT_AUD_MISSING;
        }
        return json_string_length(aud) == exp_len
               && memcmp(json_string_value(aud), expected, exp_len) == 0
               ? WID_OK : WID_R_JWT_AUD_MISMATCH;
    }
    if (!json_is_array(aud)) {
        return WID_R_JWT_CLAIM_INVALID;
    }
    if (json_array_size(aud) == 0) {
        return WID_R_JWT_AUD_MISSING;
    }
    json_array_foreach(aud, i, v) {
        if (!json_is_string(v)) {
            return WID_R_JWT_CLAIM_INVALID;
        }
        if (json_string_length(v) == exp_len
            && memcmp(json_string_value(v), expected, exp_len) == 0)
        {
            found = 1;
        }
    }
    return found ? WID_OK : WID_R_JWT_AUD_MISMATCH;
}

static wid_reason_t
wid_jwt_times(const json_t *claims, int64_t now, int64_t leeway,
              int64_t *exp_out)
{
    const json_t *v;
    int64_t       t, lo, hi;
    wid_reason_t  r;

    /* |now| is bounded by the caller, |leeway| by WID_LEEWAY_MAX. */
    if (__builtin_add_overflow(now, leeway, &hi)) {
        hi = INT64_MAX;
    }
    if (__builtin_sub_overflow(now, leeway, &lo)) {
        lo = INT64_MIN;
    }

    v = json_object_get(claims, "exp");
    if (v == NULL) {
        return WID_R_JWT_EXP_MISSING;
    }
    r = wid_numeric_date(v, &t);
    if (r != WID_OK) {
        return r;
    }
    /* RFC 7519 4.1.4: the current time must be before exp. */
    if (lo >= t) {
        return WID_R_JWT_EXPIRED;
    }
    *exp_out = t;

    v = json_object_get(claims, "nbf");
    if (v != NULL) {
        r = wid_numeric_date(v, &t);
        if (r != WID_OK) {
            return r;
        }
        if (t > hi) {
            return WID_R_JWT_NOT_YET_VALID;
        }
    }
    v = json_object_get(claims, "iat");
    if (v != NULL) {
        r = wid_numeric_date(v, &t);
        if (r != WID_OK) {
            return r;
        }
        if (t > hi) {
            return WID_R_JWT_IAT_FUTURE;
        }
    }
    return WID_OK;
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
    static const wid_jws_opts opts = {
        WID_JWTSVID_MAX_LEN, WID_JWS_MAX_DEPTH,
        WID_JWS_HDR_STRICT | WID_JWS_HDR_TYP_JWT
    };
    wid_jws           jws;
    const json_t     *sub;
    wid_spiffe_id     id;
    const wid_bundle *b;
    const char       *bundle_sha = "";
    unsigned char     md[SHA256_DIGEST_LENGTH];
    size_t            aud_len;
    int64_t           exp = 0;
    wid_reason_t      r;

    memset(out, 0, sizeof(*out));
    if (audience == NULL || audience[0] == '\0') {
        return WID_R_JWT_AUD_NOT_CONFIGURED;
    }
    aud_len = strlen(audience);
    if (aud_len > WID_AUDIENCE_MAX || leeway < 0 || leeway > WID_LEEWAY_MAX
        || now > INT64_MAX / 2 || now < INT64_MIN / 2)
    {
        return WID_R_INTERNAL_CONFIG;
    }

    r = wid_jws_parse(token, len, &opts, &jws);
    if (r != WID_OK) {
        return r;
    }

    sub = json_object_get(jws.payload, "sub");
    if (!json_is_string(sub)) {
        r = WID_R_JWT_SUB_MISSING;
        goto done;
    }
    r = wid_spiffe_id_parse(json_string_value(sub), json_string_length(sub),
                            &id);
    if (r != WID_OK) {
        out->detail = r;
        r = WID_R_JWT_SUB_INVALID;
        goto done;
    }

    b = wid_bundle_set_find(set, id.trust_domain, id.td_len);
    if (b == NULL) {
        r = WID_R_BUNDLE_UNKNOWN_TD;
        goto done;
    }
    r = wid_jwt_signature(b, &jws, &bundle_sha);
    if (r != WID_OK) {
        goto done;
    }

    /* Only authenticated claims from here on. */
    r = wid_jwt_times(jws.payload, now, leeway, &exp);
    if (r != WID_OK) {
        goto done;
    }
    r = wid_jwt_audience(json_object_get(jws.payload, "aud"), audience,
                         aud_len);
    if (r != WID_OK) {
        goto done;
    }

    SHA256((const unsigned char *) token, len, md);
    wid_hex(md, sizeof(md), out->serial);
    memcpy(out->spiffe_id, id.id, sizeof(out->spiffe_id));
    memcpy(out->trust_domain, id.trust_domain, sizeof(out->trust_domain));
    memcpy(out->path, id.path, sizeof(out->path));
    memcpy(out->audience, audience, aud_len + 1);
    memcpy(out->bundle_sha256, bundle_sha, strlen(bundle_sha) + 1);
    out->kind = WID_CRED_JWT_SVID;
    out->not_after = exp;

done:
    wid_jws_clear(&jws);
    if (r != WID_OK) {
        wid_reason_t detail = out->detail;

        memset(out, 0, sizeof(*out));
        out->detail = detail;
    }
    return r;
}
