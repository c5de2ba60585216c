/*
 * X.509-SVID verification over chains made at test time by
 * tests/tools/widpki (leaves with chosen, also wrong, extensions) and
 * tests/tools/mint-x509-signers (broken signing certificates).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "bundle.h"
#include "identity_support.h"
#include "jws.h"
#include "x509svid.h"

static char            dir[256];
static wid_bundle_set *set;
static long long       now;

static const struct {
    const char *out;
    const char *td;
    const char *args;
} leaves[] = {
    { "good", "a.org", "--id spiffe://a.org/svc" },
    { "good_root", "a.org", "--id spiffe://a.org/svc --signer root" },
    { "good_rsa", "a.org", "--id spiffe://a.org/svc --key rsa2048" },
    { "good_ed25519", "a.org", "--id spiffe://a.org/svc --key ed25519" },
    { "good_eku", "a.org",
      "--id spiffe://a.org/svc --eku serverAuth,clientAuth" },
    { "eku_server", "a.org", "--id spiffe://a.org/svc --eku serverAuth" },
    { "ca", "a.org", "--id spiffe://a.org/svc --ca" },
    { "two_uris", "a.org", "--id spiffe://a.org/a --id spiffe://a.org/b" },
    { "https_uri", "a.org", "--id https://a.org/svc" },
    { "no_uri", "a.org", "--dns a.org" },
    { "root_path", "a.org", "--id spiffe://a.org" },
    { "dot_path", "a.org", "--id spiffe://a.org/x/../admin" },
    { "upper_td", "a.org", "--id spiffe://A.org/svc" },
    { "no_digsig", "a.org", "--id spiffe://a.org/svc --ku keyEncipherment" },
    { "no_ku", "a.org", "--id spiffe://a.org/svc --ku none" },
    { "certsign", "a.org",
      "--id spiffe://a.org/svc --ku digitalSignature,keyCertSign" },
    { "crlsign", "a.org",
      "--id spiffe://a.org/svc --ku digitalSignature,cRLSign" },
    { "expired", "a.org",
      "--id spiffe://a.org/svc --not-before=-2d --not-after=-1d" },
    { "not_yet", "a.org",
      "--id spiffe://a.org/svc --not-before=+1d --not-after=+2d" },
    { "edge_after", "a.org",
      "--id spiffe://a.org/svc --not-before=-1d --not-after=-90s" },
    { "edge_before", "a.org", "--id spiffe://a.org/svc --not-before=+90s" },
    { "leaf_only", "a.org", "--id spiffe://a.org/svc --no-chain" },
    { "unknown_td", "c.org", "--id spiffe://c.org/svc" },
    /* The cross-trust-domain attack: b.org's CA vouches for a.org. */
    { "cross", "b.org", "--id spiffe://a.org/svc" },
};

static const struct {
    const char   *file;
    wid_reason_t  want;
} cases[] = {
    { "good.pem", WID_OK },
    { "good_root.pem", WID_OK },
    { "good_rsa.pem", WID_OK },
    { "good_ed25519.pem", WID_OK },
    { "good_eku.pem", WID_OK },
    { "eku_server.pem", WID_R_X509_LEAF_EKU },
    { "ca.pem", WID_R_X509_LEAF_CA },
    { "two_uris.pem", WID_R_X509_MULTIPLE_URI_SANS },
    { "https_uri.pem", WID_R_X509_URI_NOT_SPIFFE },
    { "no_uri.pem", WID_R_X509_NO_URI_SAN },
    { "root_path.pem", WID_R_X509_ROOT_PATH },
    { "dot_path.pem", WID_R_X509_ID_INVALID },
    { "upper_td.pem", WID_R_X509_ID_INVALID },
    { "no_digsig.pem", WID_R_X509_LEAF_NO_DIGSIG },
    { "no_ku.pem", WID_R_X509_LEAF_NO_DIGSIG },
    { "certsign.pem", WID_R_X509_LEAF_KEYCERTSIGN },
    { "crlsign.pem", WID_R_X509_LEAF_CRLSIGN },
    { "expired.pem", WID_R_X509_EXPIRED },
    { "not_yet.pem", WID_R_X509_NOT_YET_VALID },
    { "leaf_only.pem", WID_R_X509_UNTRUSTED },
    { "unknown_td.pem", WID_R_BUNDLE_UNKNOWN_TD },
    { "cross.pem", WID_R_X509_TD_MISMATCH },
    { "foreign.pem", WID_R_X509_UNTRUSTED },
    { "lookalike.pem", WID_R_X509_UNTRUSTED },
    { "odd/noca.pem", WID_R_X509_SIGNER_NOT_CA },
    { "odd/nocertsign.pem", WID_R_X509_SIGNER_NO_KEYCERTSIGN },
    { "odd/weakroot.pem", WID_R_X509_SIGNER_NO_KEYCERTSIGN },
    { "odd/capath.pem", WID_R_X509_SIGNER_PATH },
    { "odd/catd.pem", WID_R_X509_TD_MISMATCH },
    { "odd/long.pem", WID_R_X509_CHAIN_TOO_LONG },
    { "odd/critext.pem", WID_R_X509_CHAIN_INVALID },
    { "odd/noku.pem", WID_R_X509_SIGNER_NO_KEYCERTSIGN },
    { "odd/kunoncrit.pem", WID_R_X509_LEAF_KU_NOT_CRITICAL },
};

static wid_reason_t
verify_file(const char *file, long long at, long long leeway,
            wid_identity *id)
{
    char            path[512];
    unsigned char  *buf;
    size_t          len;
    X509           *leaf;
    STACK_OF(X509) *rest;
    wid_reason_t    r;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    buf = (unsigned char *) idt_slurp(path, &len);
    if (buf == NULL) {
        fail_msg("missing %s", path);
    }
    r = wid_x509_chain_parse(buf, len, &leaf, &rest);
    free(buf);
    if (r != WID_OK) {
        return r;
    }
    r = wid_x509svid_verify(set, leaf, rest, at, leeway, id);
    X509_free(leaf);
    sk_X509_pop_free(rest, X509_free);
    return r;
}

static void
test_cases(void **state)
{
    wid_identity id;
    wid_reason_t r;
    size_t       i;
    int          bad = 0;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        r = verify_file(cases[i].file, now, 0, &id);
        if (r != cases[i].want) {
            print_error("%s: got %s, want %s\n", cases[i].file,
                        wid_reason_code(r), wid_reason_code(cases[i].want));
            bad++;
        }
        if (r != WID_OK) {
            assert_string_equal(id.spiffe_id, "");
        }
    }
    assert_int_equal(bad, 0);
}

static void
test_identity_fields(void **state)
{
    wid_identity id;
    char         path[512], *txt, *b, *p, want[200], hex[65];
    unsigned char md[32];
    size_t       n, i, j;

    (void) state;
    /* Whatever the caller's buffer held, the result is fully defined:
     * nothing of it (or of the stack) survives past the strings. */
    memset(&id, 0xa5, sizeof(id));
    assert_int_equal(verify_file("good.pem", now, 0, &id), WID_OK);
    for (i = strlen(id.spiffe_id); i < sizeof(id.spiffe_id); i++) {
        assert_int_equal(id.spiffe_id[i], 0);
    }
    for (i = strlen(id.path); i < sizeof(id.path); i++) {
        assert_int_equal(id.path[i], 0);
    }
    for (i = strlen(id.trust_domain); i < sizeof(id.trust_domain); i++) {
        assert_int_equal(id.trust_domain[i], 0);
    }
    assert_string_equal(id.spiffe_id, "spiffe://a.org/svc");
    assert_string_equal(id.trust_domain, "a.org");
    assert_string_equal(id.path, "/svc");
    assert_int_equal(id.kind, WID_CRED_X509_SVID);
    assert_true(id.not_after > now && id.not_after < now + 40 * 86400);

    /* Serial and fingerprint as the openssl tool prints them. */
    assert_int_equal(idt_run("openssl x509 -in %s/good.leaf.pem -noout"
                             " -serial -fingerprint -sha256 > %s/good.txt",
                             dir, dir), 0);
    snprintf(path, sizeof(path), "%s/good.txt", dir);
    txt = idt_slurp(path, NULL);
    assert_non_null(txt);
    p = strstr(txt, "serial=");
    assert_non_null(p);
    for (p += 7, n = 0; *p != '\n' && n < sizeof(want) - 1; p++) {
        want[n++] = (char) (*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
    }
    want[n] = '\0';
    /* openssl drops nothing; compare ignoring a leading "00". */
    assert_true(strcmp(id.serial, want) == 0
                || (strncmp(id.serial, "00", 2) == 0
                    && strcmp(id.serial + 2, want) == 0));
    p = strstr(txt, "Fingerprint=");
    assert_non_null(p);
    for (p += 12, i = 0, j = 0; p[i] != '\n' && p[i] != '\0'; i++) {
        if (p[i] != ':') {
            want[j++] = (char) (p[i] >= 'A' && p[i] <= 'F' ? p[i] + 32 : p[i]);
        }
    }
    want[j] = '\0';
    assert_string_equal(id.fingerprint, want);
    free(txt);

    /* The hash of the bundle file that held the anchor. */
    snprintf(path, sizeof(path), "%s/a.org.pem", dir);
    b = idt_slurp(path, &n);
    SHA256((unsigned char *) b, n, md);
    wid_hex(md, sizeof(md), hex);
    assert_string_equal(id.bundle_sha256, hex);
    free(b);
}

static void
test_leeway(void **state)
{
    wid_identity id;

    (void) state;
    /* notAfter = now - 90 s; notBefore = now + 90 s. */
    assert_int_equal(verify_file("edge_after.pem", now, 60, &id),
                     WID_R_X509_EXPIRED);
    assert_int_equal(verify_file("edge_after.pem", now, 150, &id), WID_OK);
    assert_int_equal(verify_file("edge_before.pem", now, 60, &id),
                     WID_R_X509_NOT_YET_VALID);
    assert_int_equal(verify_file("edge_before.pem", now, 150, &id), WID_OK);
    /* Testable time: valid a little while ago, not now. */
    assert_int_equal(verify_file("edge_after.pem", now - 100, 0, &id),
                     WID_OK);
    assert_int_equal(verify_file("good.pem", now, -1, &id),
                     WID_R_INTERNAL_CONFIG);
}

static void
test_detail(void **state)
{
    wid_identity id;

    (void) state;
    assert_int_equal(verify_file("dot_path.pem", now, 0, &id),
                     WID_R_X509_ID_INVALID);
    assert_int_equal(id.detail, WID_R_ID_PATH_DOT_SEGMENT);
    assert_int_equal(verify_file("upper_td.pem", now, 0, &id),
                     WID_R_X509_ID_INVALID);
    assert_int_equal(id.detail, WID_R_ID_TD_UPPERCASE);
}

/* The attack also fails when B's root is presented in the chain. */
static void
test_cross_with_foreign_root_presented(void **state)
{
    wid_identity id;

    (void) state;
    assert_int_equal(idt_run("cat %s/cross.pem %s/b.org.pem > %s/cross2.pem",
                             dir, dir, dir), 0);
    assert_int_equal(verify_file("cross2.pem", now, 0, &id),
                     WID_R_X509_TD_MISMATCH);
}

/* A leaf whose signature was altered after issuance. */
static void
test_bad_signature(void **state)
{
    X509           *leaf;
    STACK_OF(X509) *rest;
    wid_identity    id;
    char            path[512];
    unsigned char  *der;
    size_t          len;

    (void) state;
    assert_int_equal(idt_run("openssl x509 -in %s/good_root.leaf.pem"
                             " -outform DER -out %s/forged.der", dir, dir),
                     0);
    snprintf(path, sizeof(path), "%s/forged.der", dir);
    der = (unsigned char *) idt_slurp(path, &len);
    assert_non_null(der);
    der[len - 1] ^= 0x01;       /* last byte of the signature value */
    assert_int_equal(wid_x509_chain_parse(der, len, &leaf, &rest), WID_OK);
    assert_int_equal(wid_x509svid_verify(set, leaf, rest, now, 0, &id),
                     WID_R_X509_BAD_SIGNATURE);
    X509_free(leaf);
    sk_X509_pop_free(rest, X509_free);
    free(der);
}

static void
test_chain_parse(void **state)
{
    X509           *leaf;
    STACK_OF(X509) *rest;
    wid_identity    id;
    char            path[512];
    unsigned char  *der;
    size_t          len;

    (void) state;
    assert_int_equal(wid_x509_chain_parse((const unsigned char *) "", 0,
                                          &leaf, &rest), WID_R_X509_NO_CERT);
    assert_int_equal(wid_x509_chain_parse((const unsigned char *) "garbage",
                                          7, &leaf, &rest), WID_R_X509_PARSE);
    assert_int_equal(wid_x509_chain_parse(
                         (const unsigned char *)
                         "-----BEGIN CERTIFICATE-----\nAAAA\n", 33,
                         &leaf, &rest), WID_R_X509_PARSE);
    assert_int_equal(wid_x509svid_verify(set, NULL, NULL, now, 0, &id),
                     WID_R_X509_NO_CERT);

    /* A single DER certificate (root-signed leaf: no chain needed). */
    assert_int_equal(idt_run("openssl x509 -in %s/good_root.leaf.pem"
                             " -outform DER -out %s/good_root.der", dir, dir),
                     0);
    snprintf(path, sizeof(path), "%s/good_root.der", dir);
    der = (unsigned char *) idt_slurp(path, &len);
    assert_int_equal(wid_x509_chain_parse(der, len, &leaf, &rest), WID_OK);
    assert_int_equal(sk_X509_num(rest), 0);
    assert_int_equal(wid_x509svid_verify(set, leaf, rest, now, 0, &id),
                     WID_OK);
    X509_free(leaf);
    sk_X509_pop_free(rest, X509_free);
    free(der);
}

/*
 * An SVID is good only while its whole path is: not_after is the earliest
 * notAfter of leaf, intermediate and anchor (a TLS connection's cached
 * result and SSH certificates end there), not the leaf's own.
 */
static void
test_not_after_of_the_path(void **state)
{
    wid_bundle_set *s;
    wid_identity    id;
    char            arg[512], path[512];
    unsigned char  *buf;
    size_t          len;
    X509           *leaf;
    STACK_OF(X509) *rest;
    const char     *t = idt_tools_dir();

    (void) state;
    assert_int_equal(idt_run("%s/widpki td %s/short e.org --intermediates 1"
                             " --not-after=+2d >/dev/null", t, dir), 0);
    assert_int_equal(idt_run("%s/widpki leaf %s/short e.org %s/short/svid"
                             " --id spiffe://e.org/svc --not-after=+30d"
                             " >/dev/null", t, dir, dir), 0);
    s = wid_bundle_set_new();
    assert_non_null(s);
    snprintf(arg, sizeof(arg), "e.org=%s/short/e.org.pem", dir);
    assert_int_equal(wid_bundle_set_add_arg(s, arg), WID_OK);
    snprintf(path, sizeof(path), "%s/short/svid.pem", dir);
    buf = (unsigned char *) idt_slurp(path, &len);
    assert_non_null(buf);
    assert_int_equal(wid_x509_chain_parse(buf, len, &leaf, &rest), WID_OK);
    free(buf);
    assert_int_equal(wid_x509svid_verify(s, leaf, rest, now, 0, &id),
                     WID_OK);
    assert_true(id.not_after > now + 2 * 86400 - 600
                && id.not_after < now + 2 * 86400 + 600);
    /* The authorities' end, not the leaf's own. */
    assert_true(X509_cmp_time(X509_get0_notAfter(leaf),
                              &(time_t) { (time_t) now + 20 * 86400 }) > 0);
    X509_free(leaf);
    sk_X509_pop_free(rest, X509_free);
    wid_bundle_set_free(s);
}

/* verify_file against a set of one trust domain's bundle file. */
static wid_reason_t
verify_with(const char *td, const char *bundle, const char *file)
{
    wid_bundle_set *s = wid_bundle_set_new();
    wid_identity    id;
    char            arg[512];
    unsigned char  *buf;
    size_t          len;
    X509           *leaf;
    STACK_OF(X509) *rest;
    wid_reason_t    r;

    assert_non_null(s);
    snprintf(arg, sizeof(arg), "%s=%s/%s", td, dir, bundle);
    assert_int_equal(wid_bundle_set_add_arg(s, arg), WID_OK);
    snprintf(arg, sizeof(arg), "%s/%s", dir, file);
    buf = (unsigned char *) idt_slurp(arg, &len);
    assert_non_null(buf);
    assert_int_equal(wid_x509_chain_parse(buf, len, &leaf, &rest), WID_OK);
    free(buf);
    r = wid_x509svid_verify(s, leaf, rest, now, 0, &id);
    X509_free(leaf);
    sk_X509_pop_free(rest, X509_free);
    wid_bundle_set_free(s);
    return r;
}

/*
 * A root renewed with the same name and key: whichever certificate the
 * bundle lists first, the one valid now anchors the path; with only the
 * expired one, the SVID is refused.
 */
static void
test_renewed_root(void **state)
{
    (void) state;
    assert_int_equal(idt_run("cd %s/odd && cat renew-old.pem renew-new.pem"
                             " > old-first.pem && cat renew-new.pem"
                             " renew-old.pem > new-first.pem", dir), 0);
    assert_int_equal(verify_with("renew.org", "odd/old-first.pem",
                                 "odd/renew.pem"), WID_OK);
    assert_int_equal(verify_with("renew.org", "odd/new-first.pem",
                                 "odd/renew.pem"), WID_OK);
    assert_int_equal(verify_with("renew.org", "odd/renew-old.pem",
                                 "odd/renew.pem"), WID_R_X509_EXPIRED);
}

/* A leaf that a bundle holds is still not its own authority. */
static void
test_leaf_in_bundle(void **state)
{
    (void) state;
    assert_int_equal(verify_with("self.org", "odd/self.org.pem",
                                 "odd/self.pem"), WID_R_X509_UNTRUSTED);
}

static int
setup(void **state)
{
    static const char *tds[] = { "a.org", "b.org", "odd.org", "weak.org" };
    const char *t = idt_tools_dir();
    char        arg[512];
    size_t      i;

    (void) state;
    now = (long long) time(NULL);
    if (idt_mkdtemp(dir, sizeof(dir), "x509") != 0
        || idt_run("%s/widpki td %s a.org --intermediates 1 >/dev/null", t,
                   dir) != 0
        || idt_run("%s/widpki td %s b.org >/dev/null", t, dir) != 0
        || idt_run("%s/widpki td %s c.org >/dev/null", t, dir) != 0
        /* Not loaded: an unrelated CA, and a look-alike of a.org. */
        || idt_run("%s/widpki td %s/other d.org >/dev/null", t, dir) != 0
        || idt_run("%s/widpki leaf %s/other d.org %s/foreign"
                   " --id spiffe://a.org/svc >/dev/null", t, dir, dir) != 0
        || idt_run("%s/widpki td %s/evil a.org --intermediates 1 >/dev/null",
                   t, dir) != 0
        || idt_run("%s/widpki leaf %s/evil a.org %s/lookalike"
                   " --id spiffe://a.org/svc >/dev/null", t, dir, dir) != 0
        || idt_run("/usr/bin/python3 %s/mint-x509-signers %s/odd", t, dir)
           != 0)
    {
        return -1;
    }
    for (i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
        if (idt_run("%s/widpki leaf %s %s %s/%s %s >/dev/null", t, dir,
                    leaves[i].td, dir, leaves[i].out, leaves[i].args) != 0)
        {
            return -1;
        }
    }
    set = wid_bundle_set_new();
    for (i = 0; i < sizeof(tds) / sizeof(tds[0]); i++) {
        snprintf(arg, sizeof(arg), "%s=%s/%s%s.pem", tds[i], dir,
                 i >= 2 ? "odd/" : "", tds[i]);
        if (wid_bundle_set_add_arg(set, arg) != WID_OK) {
            return -1;
        }
    }
    return 0;
}

static int
teardown(void **state)
{
    (void) state;
    wid_bundle_set_free(set);
    idt_rmtree(dir);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_identity_fields),
        cmocka_unit_test(test_leeway),
        cmocka_unit_test(test_detail),
        cmocka_unit_test(test_cross_with_foreign_root_presented),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_chain_parse),
        cmocka_unit_test(test_not_after_of_the_path),
        cmocka_unit_test(test_renewed_root),
        cmocka_unit_test(test_leaf_in_bundle),
    };
    return cmocka_run_group_tests_name("x509svid", tests, setup, teardown);
}
