/*
 * Key files: generation, strict loading rules, and interoperability of
 * the PEM formats and signatures with the openssl command-line tool.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "keyfile.h"

static char dir[] = "/tmp/wid-test-keyfile-XXXXXX";
static char path[512], path2[512];
static char cwd[4096];

static const char *
in_dir(char *buf, const char *name)
{
    snprintf(buf, 512, "%s/%s", dir, name);
    return buf;
}

/* Run a shell command in the test directory (cwd is set in setup). */
static int
sh(const char *cmd)
{
    return system(cmd);
}

static void
test_generate_load_sign_verify(void **state)
{
    wid_seckey     sk;
    wid_pubkey     pk;
    unsigned char  sig[WID_ED25519_SIG_LEN];
    char           id[WID_KEY_ID_HEX_LEN + 1];
    struct stat    st;

    (void) state;
    assert_int_equal(wid_keypair_generate(in_dir(path, "k")), WID_OK);
    assert_int_equal(stat(in_dir(path, "k.key"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    assert_int_equal(wid_seckey_load(in_dir(path, "k.key"), &sk), WID_OK);
    assert_int_equal(wid_pubkey_load(in_dir(path, "k.pub"), &pk), WID_OK);
    assert_memory_equal(sk.pub.pk, pk.pk, sizeof(pk.pk));

    wid_sign(&sk, (const unsigned char *) "msg", 3, sig);
    assert_true(wid_verify(&pk, (const unsigned char *) "msg", 3, sig));
    assert_false(wid_verify(&pk, (const unsigned char *) "msh", 3, sig));

    wid_pubkey_id(&pk, id);
    assert_int_equal(strlen(id), WID_KEY_ID_HEX_LEN);

    wid_seckey_wipe(&sk);
    for (size_t i = 0; i < sizeof(sk); i++) {
        assert_int_equal(((unsigned char *) &sk)[i], 0);
    }

    /* Never overwrite. */
    assert_int_equal(wid_keypair_generate(in_dir(path, "k")),
                     WID_R_KEY_EXISTS);
}

static void
test_openssl_interop(void **state)
{
    wid_seckey     sk;
    unsigned char  sig[WID_ED25519_SIG_LEN];
    FILE          *f;

    (void) state;
    /* A key made by openssl loads; our signature verifies with openssl. */
    assert_int_equal(sh("openssl genpkey -algorithm ed25519 -out o.key"
                        " && chmod 600 o.key"), 0);
    assert_int_equal(wid_seckey_load(in_dir(path, "o.key"), &sk), WID_OK);
    wid_sign(&sk, (const unsigned char *) "hello", 5, sig);
    wid_seckey_wipe(&sk);

    f = fopen(in_dir(path, "o.sig"), "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(sig, 1, sizeof(sig), f), sizeof(sig));
    fclose(f);
    f = fopen(in_dir(path, "o.msg"), "wb");
    assert_non_null(f);
    fputs("hello", f);
    fclose(f);
    assert_int_equal(sh("openssl pkeyutl -verify -rawin -inkey o.key"
                        " -in o.msg -sigfile o.sig >/dev/null"), 0);
}

static void
test_refuses_bad_key_files(void **state)
{
    wid_seckey sk;
    wid_pubkey pk;

    (void) state;
    assert_int_equal(wid_keypair_generate(in_dir(path, "p")), WID_OK);

    chmod(in_dir(path, "p.key"), 0640);
    assert_int_equal(wid_seckey_load(path, &sk), WID_R_KEY_PERMISSIONS);
    chmod(path, 0604);
    assert_int_equal(wid_seckey_load(path, &sk), WID_R_KEY_PERMISSIONS);
    chmod(path, 0600);

    assert_int_equal(symlink(path, in_dir(path2, "link.key")), 0);
    assert_int_equal(wid_seckey_load(path2, &sk), WID_R_KEY_NOT_REGULAR);
    assert_int_equal(wid_seckey_load(dir, &sk), WID_R_KEY_NOT_REGULAR);
    assert_int_equal(wid_seckey_load(in_dir(path2, "none.key"), &sk),
                     WID_R_KEY_UNREADABLE);

    if (geteuid() == 0) {
        assert_int_equal(chown(path, 65534, 65534), 0);
        assert_int_equal(wid_seckey_load(path, &sk), WID_R_KEY_WRONG_OWNER);
    }

    /* Garbage, an RSA key, and a public key where a secret is expected. */
    assert_int_equal(sh("printf 'not a key' > g.key; chmod 600 g.key"), 0);
    assert_int_equal(wid_seckey_load(in_dir(path, "g.key"), &sk),
                     WID_R_KEY_MALFORMED);
    assert_int_equal(sh("openssl genpkey -algorithm rsa -pkeyopt"
                        " rsa_keygen_bits:1024 -out r.key 2>/dev/null"
                        " && chmod 600 r.key"
                        " && openssl pkey -in r.key -pubout -out r.pub"), 0);
    assert_int_equal(wid_seckey_load(in_dir(path, "r.key"), &sk),
                     WID_R_KEY_WRONG_TYPE);
    assert_int_equal(wid_pubkey_load(in_dir(path, "r.pub"), &pk),
                     WID_R_KEY_WRONG_TYPE);
    assert_int_equal(wid_pubkey_load(in_dir(path, "g.key"), &pk),
                     WID_R_KEY_MALFORMED);
    assert_int_equal(wid_pubkey_load(in_dir(path, "k.key"), &pk),
                     WID_R_KEY_MALFORMED);
}

/* Write DER as a "PRIVATE KEY" PEM file, mode 0600. */
static void
write_pkcs8(const char *name, const unsigned char *der, size_t len)
{
    unsigned char b64[256];
    FILE         *f;
    int           n;

    assert_true(len <= 150);
    n = EVP_EncodeBlock(b64, der, (int) len);
    assert_true(n > 0);
    f = fopen(in_dir(path, name), "w");
    assert_non_null(f);
    fprintf(f, "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n",
            (char *) b64);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
}

/*
 * The PKCS#8 Ed25519 shape is decoded without OpenSSL's decoder
 * framework: it must yield exactly the key OpenSSL sees, refuse every
 * deviation, and leave other shapes to the general decoder.
 */
static void
test_pkcs8_shapes(void **state)
{
    /* RFC 8410 section 10.3's example key, and its public key. */
    static const unsigned char good[] = {
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65,
        0x70, 0x04, 0x22, 0x04, 0x20,
        0xd4, 0xee, 0x72, 0xdb, 0xf9, 0x13, 0x58, 0x4a, 0xd5, 0xb6, 0xd8,
        0xf1, 0xf7, 0x69, 0xf8, 0xad, 0x3a, 0xfe, 0x7c, 0x28, 0xcb, 0xf1,
        0xd4, 0xfb, 0xe0, 0x97, 0xa8, 0x8f, 0x44, 0x75, 0x58, 0x42
    };
    static const unsigned char good_pk[] = {
        0x19, 0xbf, 0x44, 0x09, 0x69, 0x84, 0xcd, 0xfe, 0x85, 0x41, 0xba,
        0xc1, 0x67, 0xdc, 0x3b, 0x96, 0xc8, 0x50, 0x86, 0xaa, 0x30, 0xb6,
        0xb6, 0xcb, 0x0c, 0x5c, 0x38, 0xad, 0x70, 0x31, 0x66, 0xe1
    };
    unsigned char  der[64];
    wid_seckey     sk;
    wid_pubkey     pk;

    (void) state;
    write_pkcs8("rfc.key", good, sizeof(good));
    assert_int_equal(wid_seckey_load(path, &sk), WID_OK);
    assert_memory_equal(sk.pub.pk, good_pk, 32);

    /* The same public key as openssl derives from a key it made. */
    assert_int_equal(sh("openssl genpkey -algorithm ed25519 -out s.key"
                        " && chmod 600 s.key"
                        " && openssl pkey -in s.key -pubout -out s.pub"), 0);
    assert_int_equal(wid_seckey_load(in_dir(path, "s.key"), &sk), WID_OK);
    assert_int_equal(wid_pubkey_load(in_dir(path, "s.pub"), &pk), WID_OK);
    assert_memory_equal(sk.pub.pk, pk.pk, 32);

    /* A 31-byte seed. */
    memcpy(der, good, sizeof(good));
    der[1] = 0x2d;
    der[13] = 0x21;
    der[15] = 0x1f;
    write_pkcs8("short.key", der, sizeof(good) - 1);
    assert_int_equal(wid_seckey_load(path, &sk), WID_R_KEY_MALFORMED);

    /* Algorithm parameters present (NULL): RFC 8410 forbids them. */
    memcpy(der, good, 5);
    der[1] = 0x30;
    der[5] = 0x30; der[6] = 0x07;
    memcpy(der + 7, good + 7, 5);               /* 06 03 2b 65 70 */
    der[12] = 0x05; der[13] = 0x00;
    memcpy(der + 14, good + 12, sizeof(good) - 12);
    write_pkcs8("params.key", der, sizeof(good) + 2);
    assert_int_equal(wid_seckey_load(path, &sk), WID_R_KEY_MALFORMED);

    /* The private key not an OCTET STRING inside the OCTET STRING. */
    memcpy(der, good, sizeof(good));
    der[14] = 0x03;                             /* BIT STRING tag */
    write_pkcs8("bits.key", der, sizeof(good));
    assert_int_equal(wid_seckey_load(path, &sk), WID_R_KEY_MALFORMED);

    /* X25519 (another RFC 8410 algorithm): a PKCS#8 key of the wrong
     * type, and a traditional-format EC key (the general decoder). */
    memcpy(der, good, sizeof(good));
    der[11] = 0x6e;                             /* 1.3.101.110 */
    write_pkcs8("x25519.key", der, sizeof(good));
    assert_int_equal(wid_seckey_load(path, &sk), WID_R_KEY_WRONG_TYPE);
    assert_int_equal(sh("openssl ecparam -name prime256v1 -genkey -noout"
                        " -out ec.key && chmod 600 ec.key"), 0);
    assert_int_equal(wid_seckey_load(in_dir(path, "ec.key"), &sk),
                     WID_R_KEY_WRONG_TYPE);
}


/* reference_pubkey() on DER wrapped as a "PUBLIC KEY" PEM. */
static wid_reason_t reference_pubkey(const char *pem, unsigned char pk[32]);

static wid_reason_t
reference_pubkey_der(const unsigned char *der, size_t len)
{
    unsigned char b64[200], pk[32];
    char          pem[400];

    assert_true(EVP_EncodeBlock(b64, der, (int) len) > 0);
    snprintf(pem, sizeof(pem), "-----BEGIN PUBLIC KEY-----\n%s\n"
             "-----END PUBLIC KEY-----\n", (char *) b64);
    return reference_pubkey(pem, pk);
}

/*
 * What OpenSSL's general decoder makes of a "PUBLIC KEY" PEM: the
 * verdict wid_pubkey_parse_pem must reach, with or without its
 * template-only path for the Ed25519 shape.
 */
static wid_reason_t
reference_pubkey(const char *pem, unsigned char pk[32])
{
    size_t        n = 32;
    wid_reason_t  rc = WID_R_KEY_MALFORMED;
    BIO          *bio = BIO_new_mem_buf(pem, (int) strlen(pem));
    EVP_PKEY     *k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);

    if (k != NULL) {
        rc = EVP_PKEY_get_id(k) != EVP_PKEY_ED25519 ? WID_R_KEY_WRONG_TYPE
             : EVP_PKEY_get_raw_public_key(k, pk, &n) == 1 && n == 32
               ? WID_OK : WID_R_KEY_MALFORMED;
    }
    EVP_PKEY_free(k);
    BIO_free(bio);
    return rc;
}

static void
check_spki(const char *what, const unsigned char *der, size_t len,
           const char *label, wid_reason_t want)
{
    unsigned char b64[200], ref[32];
    char          pem[400];
    wid_pubkey    pk;
    wid_reason_t  rc;

    assert_true(len <= 120);
    assert_true(EVP_EncodeBlock(b64, der, (int) len) > 0);
    snprintf(pem, sizeof(pem), "-----BEGIN %s-----\n%s\n-----END %s-----\n",
             label, (char *) b64, label);
    rc = wid_pubkey_parse_pem((const unsigned char *) pem, strlen(pem), &pk);
    if (rc != want || reference_pubkey(pem, ref) != want) {
        fail_msg("%s: got %d, OpenSSL %d, expected %d", what, rc,
                 reference_pubkey(pem, ref), want);
    }
    if (want == WID_OK) {
        assert_memory_equal(pk.pk, ref, 32);
    }
}

/*
 * Public keys of the Ed25519 shape are read without OpenSSL's decoder
 * framework: the same key as OpenSSL finds, and every deviation decided
 * as OpenSSL's general decoder decides it (check_spki compares with it
 * too).
 */
static void
test_spki_shapes(void **state)
{
    /* RFC 8410 section 10.1: the public key of section 10.3's key. */
    static const unsigned char good[] = {
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21,
        0x00,
        0x19, 0xbf, 0x44, 0x09, 0x69, 0x84, 0xcd, 0xfe, 0x85, 0x41, 0xba,
        0xc1, 0x67, 0xdc, 0x3b, 0x96, 0xc8, 0x50, 0x86, 0xaa, 0x30, 0xb6,
        0xb6, 0xcb, 0x0c, 0x5c, 0x38, 0xad, 0x70, 0x31, 0x66, 0xe1
    };
    unsigned char der[80];
    wid_pubkey    pk;
    size_t        n = sizeof(good);

    (void) state;
    check_spki("RFC 8410 key", good, n, "PUBLIC KEY", WID_OK);
    assert_int_equal(wid_pubkey_parse_pem((const unsigned char *)
        "-----BEGIN PUBLIC KEY-----\n"
        "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n"
        "-----END PUBLIC KEY-----\n", 113, &pk), WID_OK);
    assert_memory_equal(pk.pk, good + 12, 32);

    /* Another label: not a public key file. */
    check_spki("label", good, n, "PRIVATE KEY", WID_R_KEY_MALFORMED);

    /* Parameters present (NULL). */
    memcpy(der, good, 4);
    der[1] = 0x2c; der[3] = 0x07;
    memcpy(der + 4, good + 4, 5);
    der[9] = 0x05; der[10] = 0x00;
    memcpy(der + 11, good + 9, n - 9);
    check_spki("parameters", der, n + 2, "PUBLIC KEY", WID_R_KEY_MALFORMED);

    /* A 31-byte key. */
    memcpy(der, good, n);
    der[1] = 0x29; der[10] = 0x20;
    check_spki("short key", der, n - 1, "PUBLIC KEY", WID_R_KEY_MALFORMED);

    /* Unused bits in the BIT STRING: left to the general decoder. */
    memcpy(der, good, n);
    der[11] = 0x01;
    check_spki("unused bits", der, n, "PUBLIC KEY",
               reference_pubkey_der(der, n));

    /* A long-form length (BER, not DER) on the outer SEQUENCE. */
    der[0] = 0x30; der[1] = 0x81; der[2] = 0x2a;
    memcpy(der + 3, good + 2, n - 2);
    check_spki("BER length", der, n + 1, "PUBLIC KEY",
               reference_pubkey_der(der, n + 1));

    /* Trailing bytes after the SEQUENCE. */
    memcpy(der, good, n);
    der[n] = 0x00;
    check_spki("trailing byte", der, n + 1, "PUBLIC KEY",
               reference_pubkey_der(der, n + 1));

    /* X25519 (1.3.101.110): a public key of another type. */
    memcpy(der, good, n);
    der[8] = 0x6e;
    check_spki("X25519", der, n, "PUBLIC KEY", WID_R_KEY_WRONG_TYPE);
}

static int
setup(void **state)
{
    (void) state;
    if (mkdtemp(dir) == NULL || getcwd(cwd, sizeof(cwd)) == NULL) {
        return -1;
    }
    return chdir(dir);
}

static int
teardown(void **state)
{
    char cmd[600];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return chdir(cwd) == 0 && sh(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_load_sign_verify),
        cmocka_unit_test(test_openssl_interop),
        cmocka_unit_test(test_pkcs8_shapes),
        cmocka_unit_test(test_spki_shapes),
        cmocka_unit_test(test_refuses_bad_key_files),
    };
    return cmocka_run_group_tests_name("keyfile", tests, setup, teardown);
}
