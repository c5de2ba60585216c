#include <math.h>
#include <string.h>

#include "flatjson.h"
#include "jws.h"
#include "jwt_claims.h"

/* A NumericDate (RFC 7519): integer or real seconds, rounded down. */
static void
wid_claim_date_json(const json_t *v, wid_jwt_time *t)
{
    double d;

    t->present = v != NULL;
    t->status = WID_OK;
    t->value = 0;
    if (v == NULL) {
        return;
    }
    if (json_is_integer(v)) {
        t->value = (int64_t) json_integer_value(v);
        return;
    }
    if (json_is_real(v)) {
        d = json_real_value(v);
        /* 2^62 keeps later additions of the leeway far from overflow. */
        if (isfinite(d) && d <= 4611686018427387904.0
            && d >= -4611686018427387904.0)
        {
            /* floor() without libm: truncate, then step down if needed. */
            t->value = (int64_t) d;
            if ((double) t->value > d) {
                t->value--;
            }
            return;
        }
    }
    t->status = WID_R_JWT_CLAIM_INVALID;
}

static void
wid_claim_date_flat(const wid_fj_member *m, wid_jwt_time *t)
{
    t->present = m != NULL;
    t->status = WID_OK;
    t->value = 0;
    if (m == NULL) {
        return;
    }
    if (m->type == WID_FJ_INTEGER) {
        t->value = m->integer;      /* at most 18 digits: no overflow */
        return;
    }
    t->status = WID_R_JWT_CLAIM_INVALID;
}

static int
wid_aud_equal(const char *s, size_t len, const char *expected,
              size_t exp_len)
{
    return len == exp_len && memcmp(s, expected, exp_len) == 0;
}

static wid_reason_t
wid_claim_aud_json(const json_t *aud, const char *expected, size_t exp_len)
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
        return wid_aud_equal(json_string_value(aud), json_string_length(aud),
                             expected, exp_len)
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
        if (wid_aud_equal(json_string_value(v), json_string_length(v),
                          expected, exp_len))
        {
            found = 1;
        }
    }
    return found ? WID_OK : WID_R_JWT_AUD_MISMATCH;
}

static wid_reason_t
wid_claim_aud_flat(const wid_fj_member *m, const char *expected,
                   size_t exp_len)
{
    const char *s;
    size_t      len, pos = 0;

    if (m == NULL) {
        return WID_R_JWT_AUD_MISSING;
    }
    switch (m->type) {
    case WID_FJ_STRING:
        if (m->str_len == 0) {
            return WID_R_JWT_AUD_MISSING;
        }
        return wid_aud_equal(m->str, m->str_len, expected, exp_len)
               ? WID_OK : WID_R_JWT_AUD_MISMATCH;
    case WID_FJ_ARRAY:
        if (m->nitems == 0) {
            return WID_R_JWT_AUD_MISSING;
        }
        /* Every item is a string: the scan took no other arrays. */
        while (wid_flatjson_item(m, &pos, &s, &len)) {
            if (wid_aud_equal(s, len, expected, exp_len)) {
                return WID_OK;
            }
        }
        return WID_R_JWT_AUD_MISMATCH;
    default:
        return WID_R_JWT_CLAIM_INVALID;
    }
}

static int
wid_claims_flat(const unsigned char *buf, size_t len, const char *audience,
                size_t aud_len, wid_jwt_claims *c)
{
    wid_fj_member        m[WID_FLATJSON_MAX];
    const wid_fj_member *sub;
    int                  n;

    n = wid_flatjson_scan((const char *) buf, len, m);
    if (n < 0) {
        return 0;
    }
    sub = wid_flatjson_get(m, n, "sub");
    if (sub != NULL && sub->type == WID_FJ_STRING) {
        c->sub = sub->str;
        c->sub_len = sub->str_len;
    }
    wid_claim_date_flat(wid_flatjson_get(m, n, "exp"), &c->exp);
    wid_claim_date_flat(wid_flatjson_get(m, n, "nbf"), &c->nbf);
    wid_claim_date_flat(wid_flatjson_get(m, n, "iat"), &c->iat);
    c->aud = wid_claim_aud_flat(wid_flatjson_get(m, n, "aud"), audience,
                                aud_len);
    c->fast = 1;
    return 1;
}

wid_reason_t
wid_jwt_claims_read(const unsigned char *buf, size_t len, unsigned max_depth,
                    const char *audience, size_t aud_len, unsigned flags,
                    wid_jwt_claims *c)
{
    const json_t *sub;
    wid_reason_t  r;

    memset(c, 0, sizeof(*c));
    /* The flat shape nests two deep (an array in the object). */
    if (!(flags & WID_JWT_CLAIMS_NO_FASTPATH) && max_depth >= 2
        && wid_claims_flat(buf, len, audience, aud_len, c))
    {
        return WID_OK;
    }

    r = wid_jws_json_object(buf, len, max_depth, WID_R_JWT_PAYLOAD_INVALID,
                            &c->json);
    if (r != WID_OK) {
        return r;
    }
    sub = json_object_get(c->json, "sub");
    if (json_is_string(sub)) {
        c->sub = json_string_value(sub);
        c->sub_len = json_string_length(sub);
    }
    wid_claim_date_json(json_object_get(c->json, "exp"), &c->exp);
    wid_claim_date_json(json_object_get(c->json, "nbf"), &c->nbf);
    wid_claim_date_json(json_object_get(c->json, "iat"), &c->iat);
    c->aud = wid_claim_aud_json(json_object_get(c->json, "aud"), audience,
                                aud_len);
    return WID_OK;
}

void
wid_jwt_claims_clear(wid_jwt_claims *c)
{
    if (c == NULL) {
        return;
    }
    json_decref(c->json);
    memset(c, 0, sizeof(*c));
}
