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
        cmocka_unit_test(test_refuses_bad_key_files),
    };
    return cmocka_run_group_tests_name("keyfile", tests, setup, teardown);
}
