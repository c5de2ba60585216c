/*
 * The normalized attestation: names, selectors, JSON form.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "attest.h"
#include "base64.h"

static const struct {
    const char      *name;
    const char      *type;
    wid_attest_role  role;
} wid_attest_kinds[WID_ATTEST_KIND_COUNT] = {
    [WID_ATTEST_NONE] = { NULL, NULL, 0 },
    [WID_ATTEST_TPM] = { "tpm", "tpm_quote", WID_ATTEST_ROLE_NODE },
    [WID_ATTEST_K8S_PSAT] = { "k8s_psat", "k8s_psat",
                              WID_ATTEST_ROLE_WORKLOAD },
    [WID_ATTEST_GITHUB_OIDC] = { "github_oidc", "github_oidc",
                                 WID_ATTEST_ROLE_WORKLOAD },
    [WID_ATTEST_AWS_IID] = { "aws_iid", "aws_iid", WID_ATTEST_ROLE_NODE },
    [WID_ATTEST_UNIX] = { "unix", "unix", WID_ATTEST_ROLE_WORKLOAD },
};


const char *
wid_attest_kind_name(wid_attest_kind kind)
{
    if ((unsigned) kind >= WID_ATTEST_KIND_COUNT) {
        return NULL;
    }
    return wid_attest_kinds[kind].name;
}


wid_attest_kind
wid_attest_kind_from_name(const char *name)
{
    unsigned i;

    for (i = 1; i < WID_ATTEST_KIND_COUNT; i++) {
        if (strcmp(wid_attest_kinds[i].name, name) == 0) {
            return (wid_attest_kind) i;
        }
    }
    return WID_ATTEST_NONE;
}


const char *
wid_attest_kind_type(wid_attest_kind kind)
{
    if ((unsigned) kind >= WID_ATTEST_KIND_COUNT) {
        return NULL;
    }
    return wid_attest_kinds[kind].type;
}


wid_attest_role
wid_attest_kind_role(wid_attest_kind kind)
{
    if ((unsigned) kind >= WID_ATTEST_KIND_COUNT) {
        return 0;
    }
    return wid_attest_kinds[kind].role;
}


int
wid_attest_strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strnlen(src, size);

    if (n >= size) {
        if (size > 0) {
            dst[0] = '\0';
        }
        return -1;
    }
    memcpy(dst, src, n + 1);
    return 0;
}


void
wid_attestation_init(wid_attestation *a, wid_attest_kind kind,
                     const char *verifier)
{
    const char *type = wid_attest_kind_type(kind);

    memset(a, 0, sizeof(*a));
    a->kind = kind;
    if (type != NULL) {
        (void) wid_attest_strlcpy(a->type, type, sizeof(a->type));
    }
    if (verifier != NULL) {
        /* A verifier name that does not fit is cut to "", never
         * truncated into another name. */
        (void) wid_attest_strlcpy(a->verifier, verifier,
                                  sizeof(a->verifier));
    }
}


/* Printable ASCII only: selectors end up in logs, JSON and receipts. */
static int
wid_attest_printable(const char *s)
{
    for (; *s != '\0'; s++) {
        if ((unsigned char) *s < 0x20 || (unsigned char) *s >= 0x7f) {
            return 0;
        }
    }
    return 1;
}


int
wid_attestation_has_selector(const wid_attestation *a, const char *type,
                             const char *value)
{
    size_t i;

    for (i = 0; i < a->nselectors; i++) {
        if (strcmp(a->selectors[i].type, type) == 0
            && strcmp(a->selectors[i].value, value) == 0)
        {
            return 1;
        }
    }
    return 0;
}


wid_reason_t
wid_attestation_add_selector(wid_attestation *a, const char *type,
                             const char *value)
{
    wid_selector *s;

    if (type[0] == '\0' || !wid_attest_printable(type)
        || !wid_attest_printable(value)
        || strlen(type) > WID_ATTEST_SEL_TYPE_MAX
        || strlen(value) > WID_ATTEST_SEL_VALUE_MAX)
    {
        return WID_R_ATTEST_EVIDENCE_MALFORMED;
    }
    if (wid_attestation_has_selector(a, type, value)) {
        return WID_OK;
    }
    if (a->nselectors >= WID_ATTEST_SELECTORS_MAX) {
        return WID_R_ATTEST_EVIDENCE_TOO_LARGE;
    }
    s = &a->selectors[a->nselectors++];
    memcpy(s->type, type, strlen(type) + 1);
    memcpy(s->value, value, strlen(value) + 1);
    return WID_OK;
}


wid_reason_t
wid_attestation_set_subject(wid_attestation *a, const char *subject)
{
    if (!wid_attest_printable(subject)
        || wid_attest_strlcpy(a->subject, subject, sizeof(a->subject)) != 0)
    {
        a->subject[0] = '\0';
        return WID_R_ATTEST_EVIDENCE_MALFORMED;
    }
    return WID_OK;
}


void
wid_attestation_hash_evidence(wid_attestation *a, const unsigned char *ev,
                              size_t len)
{
    SHA256(ev, len, a->evidence_sha256);
}


wid_reason_t
wid_attestation_set_window(wid_attestation *a, int64_t now, int64_t ttl)
{
    if (ttl <= 0 || now < 0 || now > INT64_MAX - ttl) {
        return WID_R_ATTEST_CONFIG_INVALID;
    }
    a->issued_at = now;
    a->expires_at = now + ttl;
    return WID_OK;
}


json_t *
wid_attestation_to_json(const wid_attestation *a)
{
    json_t *o, *sels, *s;
    char    hex[65];
    size_t  i;

    sels = json_array();
    if (sels == NULL) {
        return NULL;
    }
    for (i = 0; i < a->nselectors; i++) {
        s = json_pack("{s:s,s:s}", "type", a->selectors[i].type,
                      "value", a->selectors[i].value);
        if (s == NULL || json_array_append_new(sels, s) != 0) {
            json_decref(sels);
            return NULL;
        }
    }
    wid_hex(a->evidence_sha256, sizeof(a->evidence_sha256), hex);

    o = json_pack("{s:s?,s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:o}",
                  "kind", wid_attest_kind_name(a->kind),
                  "verifier", a->verifier,
                  "attestationType", a->type,
                  "issuedAt", (json_int_t) a->issued_at,
                  "expiresAt", (json_int_t) a->expires_at,
                  "evidenceSha256", hex,
                  "subject", a->subject,
                  "spiffeId", a->spiffe_id,
                  "tier", a->tier,
                  "selectors", sels);
    return o;
}


int
wid_attest_b64_decode(const char *in, size_t max, unsigned char **out,
                      size_t *out_len)
{
    size_t len = strlen(in);

    *out = NULL;
    *out_len = 0;
    /* Canonical alphabet, length and padding; the last character's
     * unused bits as OpenSSL decodes them (base64.h). */
    if (len == 0 || len > (size_t) INT32_MAX / 2
        || wid_b64_decode_alloc(in, len, WID_B64_ANY_LAST_BITS, out,
                                out_len) != 0)
    {
        return -1;
    }
    if (*out_len > max) {
        free(*out);
        *out = NULL;
        *out_len = 0;
        return -1;
    }
    return 0;
}


char *
wid_attest_b64_encode(const unsigned char *in, size_t len)
{
    if (len > (size_t) INT32_MAX / 2) {
        return NULL;
    }
    return wid_b64_encode_alloc(in, len);
}


static int
wid_attest_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}


int
wid_attest_unhex(const char *hex, unsigned char *out, size_t max,
                 size_t *out_len)
{
    size_t len = strlen(hex), i;
    int    hi, lo;

    *out_len = 0;
    if (len % 2 != 0 || len / 2 > max) {
        return -1;
    }
    for (i = 0; i < len / 2; i++) {
        hi = wid_attest_hexval(hex[2 * i]);
        lo = wid_attest_hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i] = (unsigned char) (hi << 4 | lo);
    }
    *out_len = len / 2;
    return 0;
}
