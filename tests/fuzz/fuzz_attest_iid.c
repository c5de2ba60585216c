/*
 * Fuzz target: AWS instance identity evidence (wid_iid_verify) with a
 * fixed pinned certificate (the fixture's stand-in for AWS's, see
 * tests/fuzz/make-attest-seeds) and a second one made at start with a
 * key drawn then.  The first byte picks:
 *
 *   0  an evidence document {"document", "pkcs7"} as a node sends it
 *   1  a document text, signed here with the second pinned key, so that
 *      mutations reach the document checks behind the signature
 *
 * Beyond "no crash": verified evidence has the subject
 * "aws:<accountId>:<instanceId>" of the signed document, an instance id
 * that is a safe file name (the replay record is named after it), the
 * hash of the exact evidence, and the configured window; the document
 * signed by the other key, or by no pinned key, never verifies.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/sha.h>

#include "attest_fixture.h"
#include "attest_iid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define TTL 300

static STACK_OF(X509) *pinned, *fixture_only;
static EVP_PKEY       *key, *stranger;
static X509           *cert, *stranger_cert;

static X509 *
self_signed(EVP_PKEY *k, const char *cn)
{
    X509      *x = X509_new();
    X509_NAME *n;

    if (x == NULL || X509_set_version(x, 2) != 1
        || ASN1_INTEGER_set(X509_get_serialNumber(x), 7) != 1
        || X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL
        || X509_gmtime_adj(X509_getm_notAfter(x), 3600) == NULL
        || (n = X509_get_subject_name(x)) == NULL
        || X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                                      (const unsigned char *) cn, -1, -1,
                                      0) != 1
        || X509_set_issuer_name(x, n) != 1
        || X509_set_pubkey(x, k) != 1 || X509_sign(x, k, EVP_sha256()) <= 0)
    {
        abort();
    }
    return x;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    BIO  *bio;
    X509 *x;

    (void) argc;
    (void) argv;
    bio = BIO_new_mem_buf(iid_pinned_pem, -1);
    x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    key = EVP_EC_gen("P-256");
    stranger = EVP_EC_gen("P-256");
    if (x == NULL || key == NULL || stranger == NULL) {
        abort();
    }
    cert = self_signed(key, "pinned");
    stranger_cert = self_signed(stranger, "attacker");
    pinned = sk_X509_new_null();
    fixture_only = sk_X509_new_null();
    if (pinned == NULL || fixture_only == NULL
        || !sk_X509_push(pinned, x) || !sk_X509_push(pinned, cert)
        || !sk_X509_push(fixture_only, x))
    {
        abort();
    }
    return 0;
}

/* {"document": text, "pkcs7": base64(PKCS#7 signed by k)}; NULL if the
 * text cannot be a JSON string. */
static char *
evidence(const uint8_t *text, size_t n, EVP_PKEY *k, X509 *x)
{
    BIO           *in;
    PKCS7         *p7;
    unsigned char *der = NULL;
    char          *b64, *out = NULL;
    json_t        *j, *doc;
    int            len;

    doc = json_stringn((const char *) text, n);
    if (doc == NULL) {
        return NULL;
    }
    in = BIO_new_mem_buf(text, (int) n);
    p7 = in ? PKCS7_sign(x, k, NULL, in, PKCS7_BINARY) : NULL;
    len = p7 ? i2d_PKCS7(p7, &der) : -1;
    PKCS7_free(p7);
    BIO_free(in);
    if (len <= 0) {
        json_decref(doc);
        return NULL;
    }
    b64 = wid_attest_b64_encode(der, (size_t) len);
    OPENSSL_free(der);
    j = json_object();
    if (b64 != NULL && j != NULL
        && json_object_set_new(j, "document", doc) == 0
        && json_object_set_new(j, "pkcs7", json_string(b64)) == 0)
    {
        out = json_dumps(j, JSON_COMPACT);
    } else if (j == NULL) {
        json_decref(doc);
    }
    json_decref(j);
    free(b64);
    return out;
}

static int
safe_name(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n <= WID_IID_INSTANCE_MAX && s[0] != '.'
           && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789._-") == n;
}

static wid_reason_t
verify(const char *ev, size_t len, STACK_OF(X509) *pins)
{
    wid_iid_params    p;
    wid_attestation  *a;
    char              inst[WID_IID_INSTANCE_MAX + 1], subject[128];
    unsigned char     h[32];
    json_t           *outer, *doc;
    const char       *acct, *id;
    wid_reason_t      rc;

    memset(&p, 0, sizeof(p));
    p.pinned = pins;
    p.now = ATTEST_NOW;
    p.ttl = TTL;
    p.verifier = "fuzz";
    if ((a = malloc(sizeof(*a))) == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    rc = wid_iid_verify((const unsigned char *) ev, len, &p, a, inst);
    if (getenv("FUZZ_DEBUG") != NULL) {
        fprintf(stderr, "verify: %s\n", wid_reason_code(rc));
    }
    if (rc == WID_OK) {
        /* The signed document says who this is. */
        outer = json_loadb(ev, len, 0, NULL);
        doc = json_loads(json_string_value(json_object_get(outer,
                                                           "document")),
                         0, NULL);
        acct = json_string_value(json_object_get(doc, "accountId"));
        id = json_string_value(json_object_get(doc, "instanceId"));
        if (acct == NULL || id == NULL) {
            abort();
        }
        snprintf(subject, sizeof(subject), "aws:%s:%s", acct, id);
        SHA256((const unsigned char *) ev, len, h);
        if (a->kind != WID_ATTEST_AWS_IID || strcmp(inst, id) != 0
            || !safe_name(inst) || strcmp(a->subject, subject) != 0
            || memcmp(a->evidence_sha256, h, 32) != 0
            || a->issued_at != p.now || a->expires_at != p.now + TTL)
        {
            abort();
        }
        json_decref(doc);
        json_decref(outer);
    } else if (a->kind != WID_ATTEST_NONE || inst[0] != '\0') {
        abort();
    }
    free(a);
    return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *ev;

    if (size < 1) {
        return 0;
    }
    if (data[0] % 2 == 0) {
        (void) verify((const char *) data + 1, size - 1, pinned);
        return 0;
    }
    if ((ev = evidence(data + 1, size - 1, key, cert)) != NULL) {
        (void) verify(ev, strlen(ev), pinned);
        /* Only a pinned key's signature counts. */
        if (verify(ev, strlen(ev), fixture_only) == WID_OK) {
            abort();
        }
        free(ev);
    }
    if ((ev = evidence(data + 1, size - 1, stranger, stranger_cert))
        != NULL)
    {
        if (verify(ev, strlen(ev), pinned) == WID_OK) {
            abort();
        }
        free(ev);
    }
    return 0;
}
