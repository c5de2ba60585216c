/*
 * Fuzz target: presented X.509-SVID chains into wid_x509svid_verify,
 * against a fixed bundle set (tests/fuzz/identity_fixture.h: roots of
 * a.org and b.org; the seed chains are made by the same test PKI and
 * are valid, or broken for one rule, at WID_FUZZ_NOW).
 *
 * Input: a PEM chain (wid_x509_chain_parse), or certificates as
 * concatenated DER, leaf first, split here with d2i_X509.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "bundle.h"
#include "identity_fixture.h"
#include "spiffe_id.h"
#include "x509svid.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static wid_bundle_set *set;

static void
add(const char *dir, const char *td, const char *pem)
{
    char  path[96], arg[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s.pem", dir, td);
    f = fopen(path, "w");
    if (f == NULL || fputs(pem, f) < 0 || fclose(f) != 0) {
        abort();
    }
    snprintf(arg, sizeof(arg), "%s=%s", td, path);
    if (wid_bundle_set_add_arg(set, arg) != WID_OK) {
        abort();
    }
    unlink(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[] = "/tmp/wid-fuzz-x509-XXXXXX";

    (void) argc;
    (void) argv;
    if (mkdtemp(dir) == NULL) {
        abort();
    }
    set = wid_bundle_set_new();
    add(dir, "a.org", wid_fuzz_a_pem);
    add(dir, "b.org", wid_fuzz_b_pem);
    rmdir(dir);
    return 0;
}

static void
check(X509 *leaf, STACK_OF(X509) *rest)
{
    static wid_identity id;
    wid_reason_t        r;

    r = wid_x509svid_verify(set, leaf, rest, WID_FUZZ_NOW, 60, &id);
    if (r == WID_OK
        && (id.kind != WID_CRED_X509_SVID || id.path[0] != '/'
            || wid_spiffe_id_parse(id.spiffe_id, strlen(id.spiffe_id), NULL)
               != WID_OK
            || wid_bundle_set_find(set, id.trust_domain,
                                   strlen(id.trust_domain)) == NULL
            || strlen(id.fingerprint) != 64
            || id.not_after < WID_FUZZ_NOW - 60))
    {
        abort();
    }
    if (r != WID_OK && id.spiffe_id[0] != '\0') {
        abort();        /* no identity on failure */
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned char *p = data, *end = data + size;
    X509                *leaf = NULL, *c;
    STACK_OF(X509)      *rest = NULL;
    int                  n;

    if (size >= 10 && memcmp(data, "-----BEGIN", 10) == 0) {
        if (wid_x509_chain_parse(data, size, &leaf, &rest) == WID_OK) {
            check(leaf, rest);
            X509_free(leaf);
            sk_X509_pop_free(rest, X509_free);
        }
        ERR_clear_error();
        return 0;
    }

    rest = sk_X509_new_null();
    if (rest == NULL) {
        abort();
    }
    for (n = 0; p < end && n <= WID_X509_MAX_CHAIN; n++) {
        c = d2i_X509(NULL, &p, (long) (end - p));
        if (c == NULL) {
            break;
        }
        if (leaf == NULL) {
            leaf = c;
        } else if (!sk_X509_push(rest, c)) {
            abort();
        }
    }
    if (leaf != NULL) {
        check(leaf, rest);
    }
    X509_free(leaf);
    sk_X509_pop_free(rest, X509_free);
    ERR_clear_error();
    return 0;
}
