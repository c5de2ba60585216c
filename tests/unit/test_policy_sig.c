/*
 * Governance: detached Ed25519 policy signatures and the loader that
 * only accepts a policy signed by a configured key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "bytes.h"
#include "keyfile.h"
#include "policy.h"
#include "policy_sig.h"

static const char pol[] =
    "rules:\n  r:\n    allow: [a]\n";

typedef struct {
    char       dir[64];
    char       path[128];
    wid_seckey a, b;
    wid_pubkey apub, bpub;
} fixture;

static void
write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    char     pfx[160];

    if (f == NULL) {
        return -1;
    }
    strcpy(f->dir, "/tmp/wid-polsig-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/policy.yaml", f->dir);
    write_file(f->path, pol, sizeof(pol) - 1);

    snprintf(pfx, sizeof(pfx), "%s/a", f->dir);
    if (wid_keypair_generate(pfx) != WID_OK) {
        return -1;
    }
    strcat(pfx, ".key");
    if (wid_seckey_load(pfx, &f->a) != WID_OK) {
        return -1;
    }
    snprintf(pfx, sizeof(pfx), "%s/a.pub", f->dir);
    if (wid_pubkey_load(pfx, &f->apub) != WID_OK) {
        return -1;
    }
    snprintf(pfx, sizeof(pfx), "%s/b", f->dir);
    if (wid_keypair_generate(pfx) != WID_OK) {
        return -1;
    }
    strcat(pfx, ".key");
    if (wid_seckey_load(pfx, &f->b) != WID_OK) {
        return -1;
    }
    f->bpub = f->b.pub;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    char     cmd[128];

    wid_seckey_wipe(&f->a);
    wid_seckey_wipe(&f->b);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0) {
        return -1;
    }
    free(f);
    return 0;
}

static char *
sign(const fixture *f, const wid_seckey *k, const char *bytes, size_t len)
{
    char   *sig;
    size_t  sig_len;

    assert_int_equal(wid_policy_sig_create((const unsigned char *) bytes,
                                           len, k, &sig, &sig_len), WID_OK);
    assert_int_equal(strlen(sig), sig_len);
    (void) f;
    return sig;
}

static wid_reason_t
check(const wid_pubkey *pub, const char *bytes, size_t len, const char *sig)
{
    return wid_policy_sig_verify((const unsigned char *) bytes, len,
                                 (const unsigned char *) sig, strlen(sig),
                                 pub, NULL);
}

static void
test_sign_verify(void **state)
{
    fixture *f = *state;
    char    *sig = sign(f, &f->a, pol, sizeof(pol) - 1);
    char     kid[WID_KEY_ID_HEX_LEN + 1], got[WID_KEY_ID_HEX_LEN + 1];
    char     expect_head[128];

    /* The documented format, line by line. */
    wid_pubkey_id(&f->apub, kid);
    snprintf(expect_head, sizeof(expect_head),
             "wid-policy-signature-v1\nalgorithm: ed25519\nkey-id: %s\n"
             "signature: ", kid);
    assert_memory_equal(sig, expect_head, strlen(expect_head));
    assert_int_equal(strlen(sig), strlen(expect_head) + 88 + 1);
    assert_int_equal(sig[strlen(sig) - 1], '\n');

    assert_int_equal(wid_policy_sig_verify((const unsigned char *) pol,
                                           sizeof(pol) - 1,
                                           (const unsigned char *) sig,
                                           strlen(sig), &f->apub, got),
                     WID_OK);
    assert_string_equal(got, kid);
    free(sig);
}

static void
test_tampered_policy(void **state)
{
    fixture *f = *state;
    char    *sig = sign(f, &f->a, pol, sizeof(pol) - 1);
    char     t[sizeof(pol)];

    memcpy(t, pol, sizeof(pol));
    t[sizeof(pol) - 3] = 'b';                   /* allow: [b] */
    assert_int_equal(check(&f->apub, t, sizeof(pol) - 1, sig),
                     WID_R_POLICY_SIG_INVALID);
    /* Appending a byte is a different policy too. */
    assert_int_equal(check(&f->apub, pol, sizeof(pol), sig),
                     WID_R_POLICY_SIG_INVALID);
    free(sig);
}

static void
test_other_key(void **state)
{
    fixture *f = *state;
    char    *sig = sign(f, &f->b, pol, sizeof(pol) - 1);
    char     akid[WID_KEY_ID_HEX_LEN + 1], *p;

    assert_int_equal(check(&f->apub, pol, sizeof(pol) - 1, sig),
                     WID_R_POLICY_SIGNER_MISMATCH);
    /* Relabelled with the required key's id: still not its signature. */
    wid_pubkey_id(&f->apub, akid);
    p = strstr(sig, "key-id: ") + 8;
    memcpy(p, akid, WID_KEY_ID_HEX_LEN);
    assert_int_equal(check(&f->apub, pol, sizeof(pol) - 1, sig),
                     WID_R_POLICY_SIG_INVALID);
    free(sig);
}

/* A bare Ed25519 signature over the bytes (no domain prefix) is not a
 * policy signature. */
static void
test_domain_separation(void **state)
{
    fixture       *f = *state;
    unsigned char  raw[WID_ED25519_SIG_LEN];
    char          *sig = sign(f, &f->a, pol, sizeof(pol) - 1);
    char          *p = strstr(sig, "signature: ") + 11;
    unsigned char  b64[89];

    wid_sign(&f->a, (const unsigned char *) pol, sizeof(pol) - 1, raw);
    assert_int_equal(EVP_EncodeBlock(b64, raw, sizeof(raw)), 88);
    memcpy(p, b64, 88);
    assert_int_equal(check(&f->apub, pol, sizeof(pol) - 1, sig),
                     WID_R_POLICY_SIG_INVALID);
    free(sig);
}

static void
test_malformed(void **state)
{
    fixture *f = *state;
    char    *good = sign(f, &f->a, pol, sizeof(pol) - 1);
    char     buf[512];
    char    *p;
    size_t   n = strlen(good);

    assert_true(n < sizeof(buf) - 8);

    /* Each variant breaks the format in one way. */
    assert_int_equal(check(&f->apub, pol, sizeof(pol) - 1, ""),
                     WID_R_POLICY_SIG_MALFORMED);
    memcpy(buf, good, n + 1);
    buf[n - 1] = '\0';                          /* no final newline */
    assert_int_equal(check(&f->apub, pol, sizeof(pol) - 1, buf),
                     WID_R_POLICY_SIG_MALFORMED);
    snprintf(buf, sizeof(buf), "%sextra\n", good);
    assert_int_equal(check(&f->apub, pol, sizeof(pol) - 1, buf),
                     WID_R_POLICY_SIG_MALFORMED);
    snprintf(buf, sizeof(buf), "%s", good);
    memcpy(strstr(buf, "ed25519"), "ed25518", 7);
    assert_int_equal(check(&f->apub, pol, sizeof(pol) - 1, buf),
                     WID_R_POLICY_SIG_MALFORMED);
    snprintf(buf, sizeof(buf), "%s", good);
    p = strstr(buf, "key-id: ") + 8;
    p[0] = 'A';                                 /* uppercase hex */
    assert_int_equal(check(&f->apub, pol, sizeof(pol) - 1, buf),
                     WID_R_POLICY_SIG_MALFORMED);
    snprintf(buf, sizeof(buf), "%s", good);
    p = strstr(buf, "signature: ") + 11;
    p[5] = '*';                                 /* not base64 */
    assert_int_equal(check(&f->apub, pol, sizeof(pol) - 1, buf),
                     WID_R_POLICY_SIG_MALFORMED);
    snprintf(buf, sizeof(buf), "%s", good);
    p = strstr(buf, "signature: ") + 11;
    /* Last data char carries 4 unused bits: setting one makes a second
     * spelling of the same bytes, which is refused. */
    p[85] = p[85] == 'A' ? 'B' : (p[85] == 'Q' ? 'R' : (p[85] == 'g' ? 'h'
            : 'x'));
    assert_int_equal(check(&f->apub, pol, sizeof(pol) - 1, buf),
                     WID_R_POLICY_SIG_MALFORMED);
    /* CRLF line ends */
    snprintf(buf, sizeof(buf), "wid-policy-signature-v1\r\nalgorithm: ed25519"
             "\r\n%s", strstr(good, "key-id"));
    assert_int_equal(check(&f->apub, pol, sizeof(pol) - 1, buf),
                     WID_R_POLICY_SIG_MALFORMED);
    /* Lines out of order */
    snprintf(buf, sizeof(buf), "algorithm: ed25519\nwid-policy-signature-v1\n"
             "%s", strstr(good, "key-id"));
    assert_int_equal(check(&f->apub, pol, sizeof(pol) - 1, buf),
                     WID_R_POLICY_SIG_MALFORMED);
    free(good);
}

static void
test_signed_loader(void **state)
{
    fixture              *f = *state;
    char                 *sig = sign(f, &f->a, pol, sizeof(pol) - 1);
    char                  sig_path[160], alt[160];
    char                  kid[WID_KEY_ID_HEX_LEN + 1], signer[64];
    unsigned char         want[SHA256_DIGEST_LENGTH];
    wid_policy_load_opts  o = { &f->apub, NULL };
    wid_policy           *p;
    wid_diags             d;

    snprintf(sig_path, sizeof(sig_path), "%s.sig", f->path);
    snprintf(alt, sizeof(alt), "%s/elsewhere.sig", f->dir);

    /* No signature file: refused when one is required. */
    unlink(sig_path);
    assert_int_equal(wid_policy_load_file(f->path, &o, &p, &d),
                     WID_R_POLICY_SIG_MISSING);
    assert_null(p);
    assert_int_equal(d.diags[0].reason, WID_R_POLICY_SIG_MISSING);

    /* Unsigned loading still works where no signer is configured. */
    assert_int_equal(wid_policy_load_file(f->path, NULL, &p, &d), WID_OK);
    assert_string_equal(wid_policy_signer(p), "unsigned");
    wid_policy_free(p);

    write_file(sig_path, sig, strlen(sig));
    assert_int_equal(wid_policy_load_file(f->path, &o, &p, &d), WID_OK);
    wid_pubkey_id(&f->apub, kid);
    snprintf(signer, sizeof(signer), "ed25519:%s", kid);
    assert_string_equal(wid_policy_signer(p), signer);
    SHA256((const unsigned char *) pol, sizeof(pol) - 1, want);
    assert_memory_equal(wid_policy_sha256(p), want, sizeof(want));
    wid_policy_free(p);

    /* Signed by someone else: refused. */
    o.required_signer = &f->bpub;
    assert_int_equal(wid_policy_load_file(f->path, &o, &p, &d),
                     WID_R_POLICY_SIGNER_MISMATCH);
    assert_null(p);

    /* Explicit signature path. */
    o.required_signer = &f->apub;
    o.sig_path = alt;
    assert_int_equal(wid_policy_load_file(f->path, &o, &p, &d),
                     WID_R_POLICY_SIG_MISSING);
    write_file(alt, sig, strlen(sig));
    assert_int_equal(wid_policy_load_file(f->path, &o, &p, &d), WID_OK);
    wid_policy_free(p);
    o.sig_path = NULL;

    /* The policy changed after signing: refused. */
    write_file(f->path, "rules:\n  r:\n    allow: ['*']\n", 28);
    assert_int_equal(wid_policy_load_file(f->path, &o, &p, &d),
                     WID_R_POLICY_SIG_INVALID);
    assert_null(p);
    write_file(f->path, pol, sizeof(pol) - 1);

    /* A signed but invalid policy is still refused by the compiler. */
    {
        static const char badpol[] = "rules:\n  r:\n    alow: [a]\n";
        char *bs = sign(f, &f->a, badpol, sizeof(badpol) - 1);

        write_file(f->path, badpol, sizeof(badpol) - 1);
        write_file(sig_path, bs, strlen(bs));
        assert_int_equal(wid_policy_load_file(f->path, &o, &p, &d),
                         WID_R_POLICY_UNKNOWN_KEY);
        assert_null(p);
        free(bs);
        write_file(f->path, pol, sizeof(pol) - 1);
        write_file(sig_path, sig, strlen(sig));
    }
    free(sig);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_tampered_policy),
        cmocka_unit_test(test_other_key),
        cmocka_unit_test(test_domain_separation),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_signed_loader),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
