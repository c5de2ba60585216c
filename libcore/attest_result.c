/*
 * Attestation result JWS (EdDSA over Ed25519 keys from keyfile.h).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "attest_result.h"
#include "base64.h"
#include "spiffe_id.h"


/* Strict base64url (no padding, no ignored characters), never empty. */
static int
wid_result_unb64url(const char *in, size_t in_len, unsigned char *out,
                    size_t max, size_t *out_len)
{
    if (in_len == 0) {
        return -1;
    }
    return wid_b64url_decode(in, in_len, out, max, out_len);
}


/* issuedAt and expiresAt as the verifier reads them: 0..2^40. */
#define WID_RESULT_TIME_MAX ((int64_t) 1 << 40)


wid_reason_t
wid_attest_result_sign(const wid_attestation *a, const wid_seckey *key,
                       char **jws)
{
    unsigned char  sig[WID_ED25519_SIG_LEN];
    char           kid[WID_KEY_ID_HEX_LEN + 1], hex[65];
    wid_spiffe_id  sid;
    char           sel[WID_ATTEST_SEL_TYPE_MAX + WID_ATTEST_SEL_VALUE_MAX + 2];
    char          *h = NULL, *p = NULL, *hb = NULL, *pb = NULL, *sb = NULL;
    char          *out = NULL;
    json_t        *hdr = NULL, *pay = NULL, *sels;
    size_t         i, n;
    wid_reason_t   rc = WID_R_INTERNAL_NOMEM;

    *jws = NULL;
    /* Sign nothing wid_attest_result_verify would refuse: a bridge must
     * fail where the operator sees it, not at every consumer. */
    if (a->type[0] == '\0' || a->verifier[0] == '\0'
        || a->issued_at < 0 || a->issued_at > WID_RESULT_TIME_MAX
        || a->expires_at <= a->issued_at
        || a->expires_at > WID_RESULT_TIME_MAX
        || wid_spiffe_id_parse(a->spiffe_id, strlen(a->spiffe_id), &sid)
           != WID_OK)
    {
        return WID_R_ATTEST_RESULT_MALFORMED;
    }
    wid_pubkey_id(&key->pub, kid);
    wid_hex(a->evidence_sha256, 32, hex);

    sels = json_array();
    for (i = 0; sels != NULL && i < a->nselectors; i++) {
        snprintf(sel, sizeof(sel), "%s:%s", a->selectors[i].type,
                 a->selectors[i].value);
        if (json_array_append_new(sels, json_string(sel)) != 0) {
            json_decref(sels);
            sels = NULL;
        }
    }
    if (sels == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    hdr = json_pack("{s:s,s:s,s:s}", "alg", "EdDSA",
                    "typ", WID_ATTEST_RESULT_TYP, "kid", kid);
    pay = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s,s:{s:s,s:s,s:s,s:s},s:s,"
                    "s:s,s:o}",
                    "schema", WID_ATTEST_RESULT_SCHEMA,
                    "verifier", a->verifier,
                    "issuedAt", (json_int_t) a->issued_at,
                    "expiresAt", (json_int_t) a->expires_at,
                    "evidenceSha256", hex,
                    "attestationType", a->type,
                    "workloadIdentity", "scheme", "spiffe",
                    "uri", sid.id, "trustDomain", sid.trust_domain,
                    "path", sid.path,
                    "tier", a->tier, "subject", a->subject,
                    "selectors", sels);
    if (hdr == NULL || pay == NULL) {
        goto done;
    }
    h = json_dumps(hdr, JSON_COMPACT | JSON_SORT_KEYS);
    p = json_dumps(pay, JSON_COMPACT | JSON_SORT_KEYS);
    if (h == NULL || p == NULL) {
        goto done;
    }
    hb = wid_b64url_encode_alloc((const unsigned char *) h, strlen(h));
    pb = wid_b64url_encode_alloc((const unsigned char *) p, strlen(p));
    if (hb == NULL || pb == NULL) {
        goto done;
    }
    n = strlen(hb) + 1 + strlen(pb);
    out = malloc(n + 1 + 128);
    if (out == NULL) {
        goto done;
    }
    memcpy(out, hb, strlen(hb));
    out[strlen(hb)] = '.';
    memcpy(out + strlen(hb) + 1, pb, strlen(pb) + 1);
    wid_sign(key, (const unsigned char *) out, n, sig);
    sb = wid_b64url_encode_alloc(sig, sizeof(sig));
    if (sb == NULL) {
        free(out);
        out = NULL;
        goto done;
    }
    out[n] = '.';
    memcpy(out + n + 1, sb, strlen(sb) + 1);
    if (strlen(out) > WID_ATTEST_RESULT_MAX) {
        free(out);                  /* too large for any consumer */
        rc = WID_R_ATTEST_RESULT_MALFORMED;
        goto done;
    }
    *jws = out;
    rc = WID_OK;

done:
    json_decref(hdr);
    json_decref(pay);
    free(h);
    free(p);
    free(hb);
    free(pb);
    free(sb);
    return rc;
}


static int
wid_result_int(json_t *o, const char *k, int64_t *v)
{
    json_t *j = json_object_get(o, k);

    if (!json_is_integer(j) || json_integer_value(j) < 0
        || json_integer_value(j) > WID_RESULT_TIME_MAX)
    {
        return -1;
    }
    *v = (int64_t) json_integer_value(j);
    return 0;
}


static int
wid_result_str(json_t *o, const char *k, char *out, size_t size, int empty)
{
    json_t *j = json_object_get(o, k);

    if (!json_is_string(j)
        || strlen(json_string_value(j)) != json_string_length(j)
        || (!empty && json_string_length(j) == 0))
    {
        return -1;
    }
    return wid_attest_strlcpy(out, json_string_value(j), size);
}


/* An optional string member: absent, or exactly want. */
static int
wid_result_member_is(json_t *o, const char *k, const char *want)
{
    json_t *j = json_object_get(o, k);

    return j == NULL
           || (json_is_string(j) && json_string_length(j) == strlen(want)
               && memcmp(json_string_value(j), want, strlen(want)) == 0);
}


wid_reason_t
wid_attest_result_verify(const char *jws, size_t len, const wid_pubkey *keys,
                         size_t nkeys, int64_t now, int64_t max_age,
                         wid_attest_result *out)
{
    const char    *d1, *d2;
    unsigned char *buf = NULL, sig[WID_ED25519_SIG_LEN + 1];
    char           kid[WID_KEY_ID_HEX_LEN + 1], hex[65];
    size_t         blen, slen, i, n;
    json_t        *hdr = NULL, *pay = NULL, *wi, *v;
    json_error_t   err;
    wid_spiffe_id  sid;
    const char    *k;
    wid_reason_t   rc = WID_R_ATTEST_RESULT_MALFORMED;

    memset(out, 0, sizeof(*out));
    if (len == 0 || len > WID_ATTEST_RESULT_MAX || memchr(jws, '\0', len)) {
        return WID_R_ATTEST_RESULT_MALFORMED;
    }
    d1 = memchr(jws, '.', len);
    d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t) (d1 + 1 - jws))
                    : NULL;
    if (d1 == NULL || d2 == NULL
        || memchr(d2 + 1, '.', len - (size_t) (d2 + 1 - jws)) != NULL)
    {
        return WID_R_ATTEST_RESULT_MALFORMED;
    }
    buf = malloc(len);
    if (buf == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }

    /* Header: exactly alg EdDSA, our typ, a kid. */
    if (wid_result_unb64url(jws, (size_t) (d1 - jws), buf, len, &blen) != 0)
    {
        goto done;
    }
    hdr = json_loadb((const char *) buf, blen, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(hdr) || json_object_size(hdr) != 3) {
        goto done;
    }
    json_object_foreach(hdr, k, v) {
        if (!json_is_string(v)) {
            goto done;
        }
    }
    if (!json_is_string(json_object_get(hdr, "alg"))
        || !json_is_string(json_object_get(hdr, "typ")))
    {
        goto done;
    }
    if (strcmp(json_string_value(json_object_get(hdr, "alg")), "EdDSA") != 0
        || strcmp(json_string_value(json_object_get(hdr, "typ")),
                  WID_ATTEST_RESULT_TYP) != 0
        || wid_result_str(hdr, "kid", out->kid, sizeof(out->kid), 0) != 0)
    {
        goto done;
    }

    /* The key: one of the trusted verifier keys, by kid. */
    for (i = 0; i < nkeys; i++) {
        wid_pubkey_id(&keys[i], kid);
        if (strcmp(kid, out->kid) == 0) {
            break;
        }
    }
    if (i == nkeys) {
        rc = WID_R_ATTEST_UNTRUSTED_VERIFIER;
        goto done;
    }
    out->key_index = i;
    n = len - (size_t) (d2 + 1 - jws);
    if (wid_result_unb64url(d2 + 1, n, sig, sizeof(sig), &slen) != 0
        || slen != WID_ED25519_SIG_LEN)
    {
        goto done;
    }
    if (!wid_verify(&keys[i], (const unsigned char *) jws,
                    (size_t) (d2 - jws), sig))
    {
        rc = WID_R_ATTEST_RESULT_BAD_SIGNATURE;
        goto done;
    }

    /* Payload, signed: now its contents count. */
    if (wid_result_unb64url(d1 + 1, (size_t) (d2 - d1 - 1), buf, len, &blen)
        != 0)
    {
        goto done;
    }
    pay = json_loadb((const char *) buf, blen, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(pay)) {
        goto done;
    }
    v = json_object_get(pay, "schema");
    if (!json_is_string(v)) {
        goto done;
    }
    if (strcmp(json_string_value(v), WID_ATTEST_RESULT_SCHEMA) != 0) {
        rc = WID_R_ATTEST_RESULT_SCHEMA;
        goto done;
    }
    wi = json_object_get(pay, "workloadIdentity");
    v = json_object_get(wi, "scheme");
    if (wid_result_str(pay, "verifier", out->verifier, sizeof(out->verifier),
                       0) != 0
        || wid_result_str(pay, "attestationType", out->type,
                          sizeof(out->type), 0) != 0
        || (json_object_get(pay, "tier") != NULL
            && wid_result_str(pay, "tier", out->tier, sizeof(out->tier), 1)
               != 0)
        || wid_result_int(pay, "issuedAt", &out->issued_at) != 0
        || wid_result_int(pay, "expiresAt", &out->expires_at) != 0
        || wid_result_str(pay, "evidenceSha256", hex, sizeof(hex), 0) != 0
        || wid_attest_unhex(hex, out->evidence_sha256, 32, &n) != 0
        || n != 32 || !json_is_object(wi) || !json_is_string(v)
        || wid_result_str(wi, "uri", out->spiffe_id, sizeof(out->spiffe_id),
                          0) != 0
        || out->expires_at <= out->issued_at)
    {
        goto done;
    }

    /*
     * A verifier that projects something other than a SPIFFE ID (a
     * service-account name, an ARN) or a malformed one gets the identity
     * core's own reason: the operator fixes the projection on the bridge
     * and needs to know what is wrong with the exact string.
     */
    if (strcmp(json_string_value(v), "spiffe") != 0) {
        rc = WID_R_ID_WRONG_SCHEME;
        goto done;
    }
    rc = wid_spiffe_id_parse(out->spiffe_id, strlen(out->spiffe_id), &sid);
    if (rc != WID_OK) {
        goto done;
    }
    rc = WID_R_ATTEST_RESULT_MALFORMED;

    /*
     * trustDomain and path restate the uri; a document whose parts
     * disagree is not one a bridge made, whichever part a reader uses.
     */
    if (!wid_result_member_is(wi, "trustDomain", sid.trust_domain)
        || !wid_result_member_is(wi, "path", sid.path))
    {
        goto done;
    }

    if (now < out->issued_at) {
        rc = WID_R_ATTEST_NOT_YET_VALID;
        goto done;
    }
    if (now >= out->expires_at
        || (max_age > 0 && now - out->issued_at > max_age))
    {
        rc = WID_R_ATTEST_EVIDENCE_STALE;
        goto done;
    }
    rc = WID_OK;

done:
    free(buf);
    json_decref(hdr);
    json_decref(pay);
    if (rc != WID_OK) {
        memset(out, 0, sizeof(*out));
    }
    return rc;
}


wid_reason_t
wid_attest_result_check(const wid_attest_result *r,
                        const char *authenticated_spiffe_id,
                        const char *const *allowed_types, size_t ntypes)
{
    size_t i;

    for (i = 0; i < ntypes; i++) {
        if (strcmp(allowed_types[i], r->type) == 0) {
            break;
        }
    }
    if (i == ntypes) {
        return WID_R_ATTEST_TYPE_NOT_ALLOWED;
    }
    if (authenticated_spiffe_id == NULL
        || strcmp(authenticated_spiffe_id, r->spiffe_id) != 0)
    {
        return WID_R_ATTEST_IDENTITY_CONFLICT;
    }
    return WID_OK;
}
