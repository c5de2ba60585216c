/*
 * Fuzz target: signed attestation results (attest_result.h), trusted
 * keys fixed: the fixture verifier key (Ed25519 from a seed of 32 0x10
 * bytes; a test key, never a real one; the seed corpus has results
 * signed with it by `wid attest verify --sign-key`) and a second one
 * (seed of 0x11 bytes).  The first byte picks:
 *
 *   0  a result JWS as a consumer receives it: verify, then the
 *      consumer's check for "spiffe://example.org/node/a" and the
 *      types aws_iid and tpm_quote
 *   1  a payload, signed here as a result (right header and kid), so
 *      that mutations reach the payload checks behind the signature
 *   2  an attestation (kind, s64 issuedAt, s64 expiresAt, then
 *      NUL-separated SPIFFE ID, verifier, tier, "type:value"
 *      selectors), signed with wid_attest_result_sign, then verified
 *
 * Beyond "no crash": a verified result is inside its window and the
 * maximum age at now, signed by the key its kid names, and says what
 * the signed payload says; a result that passes the consumer's check
 * binds exactly the authenticated ID and an allowed type; and what the
 * bridge signs, a consumer accepts with the same content.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "attest_fixture.h"
#include "attest_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_AGE   600
#define AUTH_ID   "spiffe://example.org/node/a"

static wid_seckey  keys[2];
static wid_pubkey  pubs[2];
static const char *const types[] = { "aws_iid", "tpm_quote" };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    unsigned char seed[32];
    int           i;

    (void) argc;
    (void) argv;
    if (sodium_init() < 0) {
        abort();
    }
    for (i = 0; i < 2; i++) {
        memset(seed, i == 0 ? 0x11 : 0x10, sizeof(seed));
        crypto_sign_seed_keypair(keys[i].pub.pk, keys[i].sk, seed);
        pubs[i] = keys[i].pub;
    }
    return 0;
}

static void
consume(const char *jws, size_t len, int64_t now, int64_t max_age,
        wid_attest_result *r, wid_reason_t *vrc)
{
    wid_reason_t rc;

    *vrc = rc = wid_attest_result_verify(jws, len, pubs, 2, now, max_age, r);
    if (getenv("FUZZ_DEBUG") != NULL) {
        fprintf(stderr, "verify: %s\n", wid_reason_code(rc));
    }
    if (rc != WID_OK) {
        return;
    }
    if (r->issued_at > now || now >= r->expires_at
        || (max_age > 0 && now - r->issued_at > max_age)
        || r->key_index >= 2)
    {
        abort();
    }
    if (wid_attest_result_check(r, AUTH_ID, types, 2) == WID_OK
        && (strcmp(r->spiffe_id, AUTH_ID) != 0
            || (strcmp(r->type, types[0]) != 0
                && strcmp(r->type, types[1]) != 0)))
    {
        abort();
    }
    /* No type allowed, nothing passes. */
    if (wid_attest_result_check(r, r->spiffe_id, types, 0) == WID_OK) {
        abort();
    }
}

static char *
b64url(const unsigned char *p, size_t n)
{
    size_t len = sodium_base64_encoded_len(
        n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char  *s = malloc(len);

    if (s != NULL) {
        sodium_bin2base64(s, len, p, n,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    }
    return s;
}

static void
signed_payload(const uint8_t *p, size_t n)
{
    char               kid[WID_KEY_ID_HEX_LEN + 1], hdr[160], *h, *b, *s;
    char              *jws;
    unsigned char      sig[WID_ED25519_SIG_LEN];
    size_t             hl, bl, len;
    wid_attest_result  r;
    wid_reason_t       rc;
    json_t            *pay;

    wid_pubkey_id(&pubs[1], kid);
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"EdDSA\",\"typ\":\"%s\","
             "\"kid\":\"%s\"}", WID_ATTEST_RESULT_TYP, kid);
    h = b64url((const unsigned char *) hdr, strlen(hdr));
    b = b64url(p, n);
    if (h == NULL || b == NULL) {
        goto out;
    }
    hl = strlen(h);
    bl = strlen(b);
    len = hl + 1 + bl + 1 + 90;
    if ((jws = malloc(len)) == NULL) {
        goto out;
    }
    memcpy(jws, h, hl);
    jws[hl] = '.';
    memcpy(jws + hl + 1, b, bl);
    wid_sign(&keys[1], (const unsigned char *) jws, hl + 1 + bl, sig);
    jws[hl + 1 + bl] = '.';
    s = b64url(sig, sizeof(sig));
    if (s != NULL) {
        memcpy(jws + hl + 1 + bl + 1, s, strlen(s) + 1);
        consume(jws, strlen(jws), ATTEST_NOW, MAX_AGE, &r, &rc);
        if (rc == WID_OK) {
            /* What was verified is what was signed. */
            pay = json_loadb((const char *) p, n, 0, NULL);
            if (pay == NULL || r.key_index != 1
                || json_integer_value(json_object_get(pay, "issuedAt"))
                   != r.issued_at
                || json_integer_value(json_object_get(pay, "expiresAt"))
                   != r.expires_at
                || strcmp(json_string_value(json_object_get(pay,
                                                            "verifier")),
                          r.verifier) != 0
                || strcmp(json_string_value(json_object_get(
                              json_object_get(pay, "workloadIdentity"),
                              "uri")), r.spiffe_id) != 0)
            {
                abort();
            }
            json_decref(pay);
        }
        free(s);
    }
    free(jws);
out:
    free(b);
    free(h);
}

static int64_t
get_s64(const uint8_t *p)
{
    uint64_t v = 0;
    int      i;

    for (i = 0; i < 8; i++) {
        v = v << 8 | p[i];
    }
    return (int64_t) v;
}

static void
round_trip(const uint8_t *p, size_t n)
{
    wid_attestation   *a;
    wid_attest_result  r;
    wid_reason_t       rc;
    char              *f[3], *sel, *colon, *jws = NULL;
    const uint8_t     *q;
    size_t             m, i;

    if (n < 20 || (a = malloc(sizeof(*a))) == NULL) {
        return;
    }
    memset(f, 0, sizeof(f));
    q = p + 20;
    m = n - 20;
    for (i = 0; i < 3; i++) {
        const uint8_t *nul = memchr(q, '\0', m);
        size_t         k = nul ? (size_t) (nul - q) : m;

        if ((f[i] = malloc(k + 1)) == NULL) {
            goto out;
        }
        memcpy(f[i], q, k);
        f[i][k] = '\0';
        q += nul ? k + 1 : k;
        m -= nul ? k + 1 : k;
    }
    wid_attestation_init(a, (wid_attest_kind) (1 + p[0] % 5), f[1]);
    a->issued_at = get_s64(p + 4);
    a->expires_at = get_s64(p + 12);
    (void) wid_attest_strlcpy(a->spiffe_id, f[0], sizeof(a->spiffe_id));
    (void) wid_attest_strlcpy(a->tier, f[2], sizeof(a->tier));
    crypto_generichash(a->evidence_sha256, 32, p, n, NULL, 0);
    /* The rest: "type:value" selectors, NUL-separated. */
    while (m > 0) {
        const uint8_t *nul = memchr(q, '\0', m);
        size_t         k = nul ? (size_t) (nul - q) : m;

        if ((sel = malloc(k + 1)) == NULL) {
            goto out;
        }
        memcpy(sel, q, k);
        sel[k] = '\0';
        if ((colon = strchr(sel, ':')) != NULL) {
            *colon = '\0';
            (void) wid_attestation_add_selector(a, sel, colon + 1);
        }
        free(sel);
        q += nul ? k + 1 : k;
        m -= nul ? k + 1 : k;
    }

    if (wid_attest_result_sign(a, &keys[1], &jws) != WID_OK) {
        goto out;
    }
    if (a->issued_at < a->expires_at) {
        consume(jws, strlen(jws), a->issued_at, 0, &r, &rc);
        /* What the bridge signs, the consumer accepts, as it was. */
        if (rc != WID_OK || strcmp(r.spiffe_id, a->spiffe_id) != 0
            || strcmp(r.verifier, a->verifier) != 0
            || strcmp(r.type, a->type) != 0
            || strcmp(r.tier, a->tier) != 0
            || r.issued_at != a->issued_at || r.expires_at != a->expires_at
            || memcmp(r.evidence_sha256, a->evidence_sha256, 32) != 0
            || r.key_index != 1)
        {
            fprintf(stderr, "round trip: %s\n", wid_reason_code(rc));
            abort();
        }
    }
out:
    free(jws);
    for (i = 0; i < 3; i++) {
        free(f[i]);
    }
    free(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wid_attest_result r;
    wid_reason_t      rc;

    if (size < 1) {
        return 0;
    }
    switch (data[0] % 3) {
    case 0:
        consume((const char *) data + 1, size - 1, ATTEST_NOW, MAX_AGE, &r,
                &rc);
        break;
    case 1:
        signed_payload(data + 1, size - 1);
        break;
    default:
        round_trip(data + 1, size - 1);
        break;
    }
    return 0;
}
