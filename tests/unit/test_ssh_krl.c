/*
 * OpenSSH KRLs: what we write we read back; every way a KRL can revoke
 * a certificate is honoured; hostile or unsupported KRLs are refused;
 * saving replaces the file atomically.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/sha.h>
#include <sodium.h>

#include "../../ssh_wid_helper/krl.h"

static unsigned char ca_pk[32], ca_sk[64], other_pk[32], other_sk[64];
static unsigned char user_pk[32], user_sk[64];
static char *alice[] = { "alice" };
static char tmpdir[] = "/tmp/wid-test-krl-XXXXXX";

static void
make_cert(ssh_cert *c, const unsigned char *sk, const char *key_id)
{
    ssh_wbuf b;

    memset(c, 0, sizeof(*c));
    c->type = SSH_CERT_TYPE_USER;
    memcpy(c->pk, user_pk, 32);
    c->key_id = (char *) key_id;
    c->principals = alice;
    c->nprincipals = 1;
    c->valid_after = 1;
    c->valid_before = 2;
    ssh_wbuf_init(&b, 0);
    assert_int_equal(ssh_cert_sign(c, sk, &b), WID_OK);
    ssh_wbuf_free(&b);
}

/* serialise and parse again: every check below runs on the re-read KRL */
static void
reload(ssh_krl *krl)
{
    ssh_wbuf b;

    ssh_wbuf_init(&b, 0);
    assert_int_equal(ssh_krl_serialize(krl, &b), WID_OK);
    ssh_krl_free(krl);
    assert_int_equal(ssh_krl_parse(b.data, b.len, krl), WID_OK);
    ssh_wbuf_free(&b);
}

static void
test_empty_krl_revokes_nothing(void **state)
{
    ssh_krl  krl;
    ssh_cert c;

    (void) state;
    ssh_krl_init(&krl);
    reload(&krl);
    make_cert(&c, ca_sk, "k");
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_OK);
    ssh_krl_free(&krl);
}

static void
test_serial_and_key_id_for_our_ca_only(void **state)
{
    ssh_krl  krl;
    ssh_cert c, other, by_id;

    (void) state;
    make_cert(&c, ca_sk, "k1");
    make_cert(&by_id, ca_sk, "spiffe://td/x receipt=1");
    make_cert(&other, other_sk, "k1");
    other.serial = c.serial;                 /* same serial, other CA */

    ssh_krl_init(&krl);
    assert_int_equal(ssh_krl_revoke_serial(&krl, ca_pk, c.serial), WID_OK);
    assert_int_equal(ssh_krl_revoke_serial(&krl, ca_pk, c.serial), WID_OK);
    assert_int_equal(ssh_krl_revoke_key_id(&krl, ca_pk,
                                           "spiffe://td/x receipt=1"), WID_OK);
    assert_int_equal(ssh_krl_revoke_serial(&krl, ca_pk, 0),
                     WID_R_SSH_SERIAL_INVALID);
    assert_int_equal(ssh_krl_revoke_key_id(&krl, ca_pk, "bad\nid"),
                     WID_R_SSH_KEY_ID_INVALID);
    reload(&krl);
    assert_int_equal(krl.ncerts, 1);
    assert_int_equal(krl.certs[0].nserials, 1);      /* deduplicated */

    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_R_SSH_CERT_REVOKED);
    assert_int_equal(ssh_krl_check_cert(&krl, &by_id), WID_R_SSH_CERT_REVOKED);
    assert_int_equal(ssh_krl_check_cert(&krl, &other), WID_OK);
    ssh_krl_free(&krl);
}

/* Hand-built sections, as ssh-keygen may write them. */
static void
put_section(ssh_wbuf *out, uint8_t type, const ssh_wbuf *data)
{
    ssh_wbuf_put_u8(out, type);
    ssh_wbuf_put_wbuf(out, data);
}

static void
krl_header(ssh_wbuf *b)
{
    ssh_wbuf_put(b, "SSHKRL\n\0", 8);
    ssh_wbuf_put_u32(b, 1);
    ssh_wbuf_put_u64(b, 7);
    ssh_wbuf_put_u64(b, 0);
    ssh_wbuf_put_u64(b, 0);
    ssh_wbuf_put_string(b, "", 0);
    ssh_wbuf_put_cstring(b, "test");
}

static wid_reason_t
parse_wbuf(const ssh_wbuf *b, ssh_krl *krl)
{
    assert_int_equal(ssh_wbuf_error(b), 0);
    return ssh_krl_parse(b->data, b->len, krl);
}

static void
test_ranges_bitmaps_and_any_ca(void **state)
{
    ssh_wbuf  b, certs, sub, ca;
    ssh_krl   krl;
    ssh_cert  c;
    uint64_t  s;

    (void) state;
    make_cert(&c, ca_sk, "k");
    s = c.serial;

    /* range around the serial, for our CA */
    ssh_wbuf_init(&b, 0);
    krl_header(&b);
    ssh_wbuf_init(&certs, 0);
    ssh_wbuf_init(&ca, 0);
    ssh_pubkey_blob(ca_pk, &ca);
    ssh_wbuf_put_wbuf(&certs, &ca);
    ssh_wbuf_put_string(&certs, "", 0);
    ssh_wbuf_init(&sub, 0);
    ssh_wbuf_put_u64(&sub, s > 5 ? s - 5 : 1);
    ssh_wbuf_put_u64(&sub, s < UINT64_MAX - 5 ? s + 5 : UINT64_MAX);
    put_section(&certs, 0x21, &sub);
    ssh_wbuf_free(&sub);
    put_section(&b, 1, &certs);
    ssh_wbuf_free(&certs);
    assert_int_equal(parse_wbuf(&b, &krl), WID_OK);
    assert_int_equal(krl.version, 7);
    assert_string_equal(krl.comment, "test");
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_R_SSH_CERT_REVOKED);
    reload(&krl);
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_R_SSH_CERT_REVOKED);
    ssh_krl_free(&krl);
    ssh_wbuf_free(&b);

    /* bitmap with bit 9 set, offset s - 9; any-CA section */
    ssh_wbuf_init(&b, 0);
    krl_header(&b);
    ssh_wbuf_init(&certs, 0);
    ssh_wbuf_put_string(&certs, "", 0);              /* any CA */
    ssh_wbuf_put_string(&certs, "", 0);
    ssh_wbuf_init(&sub, 0);
    c.serial = s = 1000;
    ssh_wbuf_put_u64(&sub, s - 9);
    ssh_wbuf_put_string(&sub, "\x02\x00", 2);         /* bit 9 */
    put_section(&certs, 0x22, &sub);
    ssh_wbuf_free(&sub);
    put_section(&b, 1, &certs);
    ssh_wbuf_free(&certs);
    assert_int_equal(parse_wbuf(&b, &krl), WID_OK);
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_R_SSH_CERT_REVOKED);
    c.serial = 999;
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_OK);
    c.serial = 1000;
    reload(&krl);
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_R_SSH_CERT_REVOKED);
    ssh_krl_free(&krl);
    ssh_wbuf_free(&b);
    ssh_wbuf_free(&ca);
}

static void
test_keys_and_fingerprints(void **state)
{
    ssh_wbuf       b, sect, blob;
    ssh_krl        krl;
    ssh_cert       c;
    unsigned char  h[32];

    (void) state;
    make_cert(&c, ca_sk, "k");

    /* the certified key, revoked by SHA-256 fingerprint */
    ssh_wbuf_init(&blob, 0);
    ssh_pubkey_blob(user_pk, &blob);
    SHA256(blob.data, blob.len, h);
    ssh_wbuf_init(&b, 0);
    krl_header(&b);
    ssh_wbuf_init(&sect, 0);
    ssh_wbuf_put_string(&sect, h, 32);
    put_section(&b, 5, &sect);
    ssh_wbuf_free(&sect);
    assert_int_equal(parse_wbuf(&b, &krl), WID_OK);
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_R_SSH_CERT_REVOKED);
    reload(&krl);
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_R_SSH_CERT_REVOKED);
    ssh_krl_free(&krl);
    ssh_wbuf_free(&b);
    ssh_wbuf_free(&blob);

    /* the CA key itself, revoked explicitly */
    ssh_wbuf_init(&blob, 0);
    ssh_pubkey_blob(ca_pk, &blob);
    ssh_wbuf_init(&b, 0);
    krl_header(&b);
    ssh_wbuf_init(&sect, 0);
    ssh_wbuf_put_wbuf(&sect, &blob);
    put_section(&b, 2, &sect);
    ssh_wbuf_free(&sect);
    assert_int_equal(parse_wbuf(&b, &krl), WID_OK);
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_R_SSH_CERT_REVOKED);
    ssh_krl_free(&krl);
    ssh_wbuf_free(&b);
    ssh_wbuf_free(&blob);
}

static void
test_hostile_krls(void **state)
{
    ssh_wbuf b, sect;
    ssh_krl  krl;

    (void) state;
    /* bad magic, bad version, truncated header */
    assert_int_equal(ssh_krl_parse((const unsigned char *) "SSHKRL\n\1", 8,
                                   &krl), WID_R_SSH_KRL_MALFORMED);
    ssh_wbuf_init(&b, 0);
    krl_header(&b);
    b.data[11] = 2;                                  /* format version */
    assert_int_equal(parse_wbuf(&b, &krl), WID_R_SSH_KRL_MALFORMED);
    b.data[11] = 1;
    assert_int_equal(ssh_krl_parse(b.data, b.len - 1, &krl),
                     WID_R_SSH_KRL_MALFORMED);

    /* signature section: not rewritten, not trusted */
    ssh_wbuf_init(&sect, 0);
    ssh_wbuf_put_cstring(&sect, "x");
    put_section(&b, 4, &sect);
    assert_int_equal(parse_wbuf(&b, &krl), WID_R_SSH_KRL_UNSUPPORTED);
    ssh_wbuf_free(&b);

    /* unknown section type */
    ssh_wbuf_init(&b, 0);
    krl_header(&b);
    put_section(&b, 9, &sect);
    assert_int_equal(parse_wbuf(&b, &krl), WID_R_SSH_KRL_MALFORMED);
    ssh_wbuf_free(&b);
    ssh_wbuf_free(&sect);

    /* SHA-1 fingerprint of the wrong length; data left in a section */
    ssh_wbuf_init(&b, 0);
    krl_header(&b);
    ssh_wbuf_init(&sect, 0);
    ssh_wbuf_put_string(&sect, "short", 5);
    put_section(&b, 3, &sect);
    assert_int_equal(parse_wbuf(&b, &krl), WID_R_SSH_KRL_MALFORMED);
    ssh_wbuf_free(&sect);
    ssh_wbuf_free(&b);

    /* serial range upside down; trailing bytes in a serial list */
    ssh_wbuf_init(&b, 0);
    krl_header(&b);
    {
        ssh_wbuf certs, sub;

        ssh_wbuf_init(&certs, 0);
        ssh_wbuf_put_string(&certs, "", 0);
        ssh_wbuf_put_string(&certs, "", 0);
        ssh_wbuf_init(&sub, 0);
        ssh_wbuf_put_u64(&sub, 10);
        ssh_wbuf_put_u64(&sub, 5);
        put_section(&certs, 0x21, &sub);
        ssh_wbuf_free(&sub);
        put_section(&b, 1, &certs);
        ssh_wbuf_free(&certs);
    }
    assert_int_equal(parse_wbuf(&b, &krl), WID_R_SSH_KRL_MALFORMED);
    ssh_wbuf_free(&b);

    ssh_wbuf_init(&b, 0);
    krl_header(&b);
    {
        ssh_wbuf certs, sub;

        ssh_wbuf_init(&certs, 0);
        ssh_wbuf_put_string(&certs, "", 0);
        ssh_wbuf_put_string(&certs, "", 0);
        ssh_wbuf_init(&sub, 0);
        ssh_wbuf_put_u64(&sub, 10);
        ssh_wbuf_put_u8(&sub, 1);
        put_section(&certs, 0x20, &sub);
        ssh_wbuf_free(&sub);
        put_section(&b, 1, &certs);
        ssh_wbuf_free(&certs);
    }
    assert_int_equal(parse_wbuf(&b, &krl), WID_R_SSH_KRL_MALFORMED);
    ssh_wbuf_free(&b);
}

static int
count_entries(const char *dir)
{
    DIR           *d = opendir(dir);
    struct dirent *e;
    int            n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.') {
            n++;
        }
    }
    closedir(d);
    return n;
}

static void
test_save_is_atomic_and_versioned(void **state)
{
    char        path[256];
    ssh_krl     krl, back;
    ssh_cert    c;
    struct stat st;

    (void) state;
    snprintf(path, sizeof(path), "%s/revoked.krl", tmpdir);
    make_cert(&c, ca_sk, "k");
    assert_int_equal(ssh_krl_load(path, &krl), WID_R_SSH_KRL_UNREADABLE);

    ssh_krl_init(&krl);
    assert_int_equal(ssh_krl_revoke_serial(&krl, ca_pk, c.serial), WID_OK);
    assert_int_equal(ssh_krl_save(&krl, path, 1234), WID_OK);
    assert_int_equal(ssh_krl_save(&krl, path, 1235), WID_OK);
    ssh_krl_free(&krl);

    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(count_entries(tmpdir), 1);       /* no temp files */
    assert_int_equal(ssh_krl_load(path, &back), WID_OK);
    assert_int_equal(back.version, 2);
    assert_int_equal(back.generated, 1235);
    assert_int_equal(ssh_krl_check_cert(&back, &c), WID_R_SSH_CERT_REVOKED);
    ssh_krl_free(&back);
    {
        int fd = ssh_krl_lock(path);

        assert_true(fd >= 0);
        close(fd);
    }
}

static int
setup(void **state)
{
    (void) state;
    if (sodium_init() < 0 || mkdtemp(tmpdir) == NULL) {
        return -1;
    }
    crypto_sign_ed25519_keypair(ca_pk, ca_sk);
    crypto_sign_ed25519_keypair(other_pk, other_sk);
    crypto_sign_ed25519_keypair(user_pk, user_sk);
    return 0;
}

static int
teardown(void **state)
{
    char cmd[300];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_krl_revokes_nothing),
        cmocka_unit_test(test_serial_and_key_id_for_our_ca_only),
        cmocka_unit_test(test_ranges_bitmaps_and_any_ca),
        cmocka_unit_test(test_keys_and_fingerprints),
        cmocka_unit_test(test_hostile_krls),
        cmocka_unit_test(test_save_is_atomic_and_versioned),
    };
    return cmocka_run_group_tests_name("ssh_krl", tests, setup, teardown);
}
