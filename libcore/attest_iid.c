/*
 * AWS instance identity document verification with a pinned certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>

#include "attest_iid.h"

#define WID_IID_DOC_MAX   8192
#define WID_IID_P7_MAX    16384


/* [a-z0-9-] (and '.' for instance types), bounded: the value ends up in
 * a file name and in selectors. */
static int
wid_iid_token(const char *s, size_t max, int dots)
{
    size_t n = strlen(s), i;

    if (n == 0 || n > max) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')
              || s[i] == '-' || (dots && s[i] == '.')))
        {
            return -1;
        }
    }
    return 0;
}


static wid_reason_t
wid_iid_check_signature(const char *doc, size_t doc_len,
                        const unsigned char *der, size_t der_len,
                        STACK_OF(X509) *pinned)
{
    const unsigned char *p = der;
    PKCS7               *p7;
    BIO                 *in = NULL, *out = NULL;
    BUF_MEM             *mem;
    wid_reason_t         rc = WID_R_ATTEST_IID_BAD_SIGNATURE;

    p7 = d2i_PKCS7(NULL, &p, (long) der_len);
    if (p7 == NULL || p != der + der_len || !PKCS7_type_is_signed(p7)) {
        PKCS7_free(p7);
        return WID_R_ATTEST_EVIDENCE_MALFORMED;
    }
    out = BIO_new(BIO_s_mem());
    if (out == NULL) {
        PKCS7_free(p7);
        return WID_R_INTERNAL_NOMEM;
    }
    /* Detached signatures are checked over the document itself. */
    if (PKCS7_get_detached(p7)) {
        in = BIO_new_mem_buf(doc, (int) doc_len);
        if (in == NULL) {
            rc = WID_R_INTERNAL_NOMEM;
            goto done;
        }
    }
    if (PKCS7_verify(p7, pinned, NULL, in, out,
                     PKCS7_NOINTERN | PKCS7_NOVERIFY | PKCS7_BINARY) != 1)
    {
        goto done;
    }
    BIO_get_mem_ptr(out, &mem);
    rc = mem->length == doc_len && memcmp(mem->data, doc, doc_len) == 0
         ? WID_OK : WID_R_ATTEST_IID_CONTENT_MISMATCH;

done:
    ERR_clear_error();
    BIO_free(in);
    BIO_free(out);
    PKCS7_free(p7);
    return rc;
}


static wid_reason_t
wid_iid_selector(wid_attestation *a, json_t *doc, const char *member,
                 const char *prefix, int dots, int required)
{
    char        sel[WID_ATTEST_SEL_VALUE_MAX + 1];
    json_t     *v = json_object_get(doc, member);
    const char *s;

    if (v == NULL && !required) {
        return WID_OK;
    }
    if (!json_is_string(v)) {
        return WID_R_ATTEST_EVIDENCE_MALFORMED;
    }
    s = json_string_value(v);
    if (wid_iid_token(s, 64, dots) != 0) {
        return WID_R_ATTEST_EVIDENCE_MALFORMED;
    }
    snprintf(sel, sizeof(sel), "%s:%s", prefix, s);
    return wid_attestation_add_selector(a, "aws_iid", sel);
}


wid_reason_t
wid_iid_verify(const unsigned char *evidence, size_t len,
               const wid_iid_params *p, wid_attestation *out,
               char instance_id[WID_IID_INSTANCE_MAX + 1])
{
    json_t        *ev, *docj = NULL, *d, *s, *acct, *inst;
    json_error_t   err;
    unsigned char *der = NULL;
    size_t         der_len;
    const char    *doc;
    char           subject[WID_ATTEST_SEL_VALUE_MAX + 1];
    wid_reason_t   rc = WID_R_ATTEST_EVIDENCE_MALFORMED;

    memset(out, 0, sizeof(*out));
    instance_id[0] = '\0';
    if (p->pinned == NULL || sk_X509_num(p->pinned) == 0) {
        return WID_R_ATTEST_CONFIG_INVALID;
    }
    if (len > WID_ATTEST_EVIDENCE_MAX) {
        return WID_R_ATTEST_EVIDENCE_TOO_LARGE;
    }
    ev = json_loadb((const char *) evidence, len, JSON_REJECT_DUPLICATES,
                    &err);
    d = json_object_get(ev, "document");
    s = json_object_get(ev, "pkcs7");
    if (!json_is_string(d) || !json_is_string(s)
        || json_string_length(d) == 0
        || json_string_length(d) > WID_IID_DOC_MAX
        || strlen(json_string_value(d)) != json_string_length(d)
        || wid_attest_b64_decode(json_string_value(s), WID_IID_P7_MAX, &der,
                                 &der_len) != 0)
    {
        goto done;
    }
    doc = json_string_value(d);

    /* Signature first: nothing in the document counts before it. */
    rc = wid_iid_check_signature(doc, json_string_length(d), der, der_len,
                                 p->pinned);
    if (rc != WID_OK) {
        goto done;
    }

    rc = WID_R_ATTEST_EVIDENCE_MALFORMED;
    docj = json_loads(doc, JSON_REJECT_DUPLICATES, &err);
    inst = json_object_get(docj, "instanceId");
    acct = json_object_get(docj, "accountId");
    if (!json_is_object(docj) || !json_is_string(inst)
        || !json_is_string(acct)
        || wid_iid_token(json_string_value(inst), WID_IID_INSTANCE_MAX, 0)
           != 0
        || wid_iid_token(json_string_value(acct), 32, 0) != 0)
    {
        goto done;
    }

    wid_attestation_init(out, WID_ATTEST_AWS_IID, p->verifier);
    wid_attestation_hash_evidence(out, evidence, len);
    snprintf(subject, sizeof(subject), "aws:%s:%s", json_string_value(acct),
             json_string_value(inst));
    rc = wid_attestation_set_window(out, p->now, p->ttl);
    if (rc == WID_OK) {
        rc = wid_attestation_set_subject(out, subject);
    }
    if (rc == WID_OK) {
        rc = wid_iid_selector(out, docj, "accountId", "account", 0, 1);
    }
    if (rc == WID_OK) {
        rc = wid_iid_selector(out, docj, "instanceId", "instance", 0, 1);
    }
    if (rc == WID_OK) {
        rc = wid_iid_selector(out, docj, "region", "region", 0, 1);
    }
    if (rc == WID_OK) {
        rc = wid_iid_selector(out, docj, "availabilityZone", "az", 0, 0);
    }
    if (rc == WID_OK) {
        rc = wid_iid_selector(out, docj, "imageId", "image", 0, 0);
    }
    if (rc == WID_OK) {
        rc = wid_iid_selector(out, docj, "instanceType", "instance_type", 1,
                              0);
    }
    if (rc == WID_OK) {
        memcpy(instance_id, json_string_value(inst),
               strlen(json_string_value(inst)) + 1);
    }

done:
    if (rc != WID_OK) {
        memset(out, 0, sizeof(*out));
    }
    free(der);
    json_decref(docj);
    json_decref(ev);
    return rc;
}
