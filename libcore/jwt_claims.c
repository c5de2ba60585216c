#include <math.h>
#include <string.h>

#include "jws.h"
#include "json_arena.h"
#include "jwt_claims.h"

/*
 * A NumericDate (RFC 7519): integer or real seconds.  A fraction is
 * rounded towards the stricter check: exp down (expires no later), nbf
 * and iat up (valid no earlier).
 */
static void
wid_claim_date_json(const json_t *v, int round_up, wid_jwt_time *t)
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
            /* Truncate, then step to floor or ceiling. */
            t->value = (int64_t) d;
            if (!round_up && (double) t->value > d) {
                t->value--;
            } else if (round_up && (double) t->value < d) {
                t->value++;
            }
            return;
        }
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

wid_reason_t
wid_jwt_claims_read(const unsigned char *buf, size_t len, unsigned max_depth,
                    const char *audience, size_t aud_len, wid_jwt_claims *c)
{
    const json_t *sub;
    wid_reason_t  r;

    memset(c, 0, sizeof(*c));
    /* The tree lives until wid_jwt_claims_clear(): the thread's arena. */
    c->arena = wid_json_arena_take();
    /* Members are looked up by name: no unpack format to interpret. */
    r = wid_jws_json_object(buf, len, max_depth, WID_R_JWT_PAYLOAD_INVALID,
                            &c->json);
    wid_json_arena_stop();
    if (r != WID_OK) {
        return r;
    }
    sub = json_object_get(c->json, "sub");
    if (json_is_string(sub)) {
        c->sub = json_string_value(sub);
        c->sub_len = json_string_length(sub);
    }
    wid_claim_date_json(json_object_get(c->json, "exp"), 0, &c->exp);
    wid_claim_date_json(json_object_get(c->json, "nbf"), 1, &c->nbf);
    wid_claim_date_json(json_object_get(c->json, "iat"), 1, &c->iat);
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
    if (c->arena) {
        wid_json_arena_give();
    }
    memset(c, 0, sizeof(*c));
}
