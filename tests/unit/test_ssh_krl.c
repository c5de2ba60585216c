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

    /* An empty explicit-key blob matches no key; sshd and ssh-keygen -Q
     * accept the KRL, so it must not refuse every login here. */
    ssh_wbuf_init(&b, 0);
    krl_header(&b);
    ssh_wbuf_init(&sect, 0);
    ssh_wbuf_put_string(&sect, "", 0);
    put_section(&b, 2, &sect);
    assert_int_equal(parse_wbuf(&b, &krl), WID_OK);
    reload(&krl);
    ssh_krl_free(&krl);
    ssh_wbuf_free(&sect);
    ssh_wbuf_free(&b);

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

/* A certificates section for any CA holding one subsection. */
static void
one_cert_sub(ssh_wbuf *b, uint8_t type, const ssh_wbuf *sub)
{
    ssh_wbuf certs;

    krl_header(b);
    ssh_wbuf_init(&certs, 0);
    ssh_wbuf_put_string(&certs, "", 0);
    ssh_wbuf_put_string(&certs, "", 0);
    put_section(&certs, type, sub);
    put_section(b, 1, &certs);
    ssh_wbuf_free(&certs);
}

static wid_reason_t
parse_sub(uint8_t type, const ssh_wbuf *sub)
{
    ssh_wbuf     b;
    ssh_krl      krl;
    wid_reason_t rc;

    ssh_wbuf_init(&b, 0);
    one_cert_sub(&b, type, sub);
    rc = parse_wbuf(&b, &krl);
    if (rc == WID_OK) {
        ssh_krl_free(&krl);
    }
    ssh_wbuf_free(&b);
    return rc;
}

/*
 * What OpenSSH 9.2 refuses ("Invalid KRL file"; sshd then refuses every
 * public key login) we refuse too: serial 0 anywhere, in a list, as the
 * start of a range, or as bit 0 of a bitmap at offset 0.
 */
static void
test_serial_zero_refused(void **state)
{
    ssh_wbuf sub;

    (void) state;
    ssh_wbuf_init(&sub, 0);
    ssh_wbuf_put_u64(&sub, 0);
    ssh_wbuf_put_u64(&sub, 7);
    assert_int_equal(parse_sub(0x20, &sub), WID_R_SSH_KRL_MALFORMED);
    assert_int_equal(parse_sub(0x21, &sub), WID_R_SSH_KRL_MALFORMED);
    ssh_wbuf_free(&sub);

    /* without the 0 both are fine */
    ssh_wbuf_init(&sub, 0);
    ssh_wbuf_put_u64(&sub, 1);
    ssh_wbuf_put_u64(&sub, 7);
    assert_int_equal(parse_sub(0x20, &sub), WID_OK);
    assert_int_equal(parse_sub(0x21, &sub), WID_OK);
    ssh_wbuf_free(&sub);

    /* bitmap at offset 0: bit 0 is serial 0 */
    ssh_wbuf_init(&sub, 0);
    ssh_wbuf_put_u64(&sub, 0);
    ssh_wbuf_put_string(&sub, "\x05", 1);          /* serials 0 and 2 */
    assert_int_equal(parse_sub(0x22, &sub), WID_R_SSH_KRL_MALFORMED);
    ssh_wbuf_free(&sub);
    ssh_wbuf_init(&sub, 0);
    ssh_wbuf_put_u64(&sub, 0);
    ssh_wbuf_put_string(&sub, "\x01\x04", 2);      /* 2 and 8 */
    assert_int_equal(parse_sub(0x22, &sub), WID_OK);
    ssh_wbuf_free(&sub);
}

/*
 * A bitmap ending at 2^64-1 exactly is valid (ssh-keygen writes one for
 * serials 2^64-41, 2^64-39, ..., 2^64-1): only the highest set bit counts,
 * not the unused high bits of its byte.  One bit further wraps.
 */
static void
test_bitmap_at_the_top(void **state)
{
    ssh_wbuf      sub, b;
    ssh_krl       krl;
    ssh_cert      c;
    unsigned char bits[6] = { 0x01, 0x55, 0x55, 0x55, 0x55, 0x55 };

    (void) state;
    /* bits 0, 2, ..., 40 from offset 2^64-41: 2^64-41 ... 2^64-1 */
    ssh_wbuf_init(&sub, 0);
    ssh_wbuf_put_u64(&sub, UINT64_MAX - 40);
    ssh_wbuf_put_string(&sub, bits, sizeof(bits));
    ssh_wbuf_init(&b, 0);
    one_cert_sub(&b, 0x22, &sub);
    assert_int_equal(parse_wbuf(&b, &krl), WID_OK);
    make_cert(&c, ca_sk, "k");
    c.serial = UINT64_MAX;
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_R_SSH_CERT_REVOKED);
    c.serial = UINT64_MAX - 1;
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_OK);
    c.serial = UINT64_MAX - 40;
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_R_SSH_CERT_REVOKED);
    reload(&krl);
    c.serial = UINT64_MAX;
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_R_SSH_CERT_REVOKED);
    ssh_krl_free(&krl);
    ssh_wbuf_free(&b);
    ssh_wbuf_free(&sub);

    /* bit 41 from there is serial 2^64: wraps */
    bits[0] = 0x02;
    ssh_wbuf_init(&sub, 0);
    ssh_wbuf_put_u64(&sub, UINT64_MAX - 40);
    ssh_wbuf_put_string(&sub, bits, sizeof(bits));
    assert_int_equal(parse_sub(0x22, &sub), WID_R_SSH_KRL_MALFORMED);
    ssh_wbuf_free(&sub);
    /* a single bit at offset 2^64-1 */
    ssh_wbuf_init(&sub, 0);
    ssh_wbuf_put_u64(&sub, UINT64_MAX);
    ssh_wbuf_put_string(&sub, "\x01", 1);
    assert_int_equal(parse_sub(0x22, &sub), WID_OK);
    ssh_wbuf_free(&sub);
    ssh_wbuf_init(&sub, 0);
    ssh_wbuf_put_u64(&sub, UINT64_MAX);
    ssh_wbuf_put_string(&sub, "\x02", 1);
    assert_int_equal(parse_sub(0x22, &sub), WID_R_SSH_KRL_MALFORMED);
    ssh_wbuf_free(&sub);
}

/*
 * Big KRLs (ssh-keygen -k writes one fingerprint per revoked key) read in
 * O(n log n): 60000 SHA-256 fingerprints, 60000 SHA-1 ones, 60000
 * descending serials and key ids, out of order and with duplicates.  The
 * old reader compared each entry with every earlier one (seconds for
 * this file, once per login); no timing is asserted, only the result.
 */
#define BIG_N 60000

static void
test_big_krl(void **state)
{
    ssh_wbuf       b, sect, certs, sub, blob;
    ssh_krl        krl;
    ssh_cert       c;
    unsigned char  h[32], seed[8];
    char           id[32];
    size_t         i;

    (void) state;
    ssh_wbuf_init(&b, 0);
    krl_header(&b);

    ssh_wbuf_init(&certs, 0);
    ssh_wbuf_put_string(&certs, "", 0);
    ssh_wbuf_put_string(&certs, "", 0);
    ssh_wbuf_init(&sub, 0);
    for (i = BIG_N; i > 0; i--) {
        ssh_wbuf_put_u64(&sub, 2 * (uint64_t) i);       /* descending */
    }
    ssh_wbuf_put_u64(&sub, 2 * (uint64_t) BIG_N);      /* a duplicate */
    put_section(&certs, 0x20, &sub);
    ssh_wbuf_free(&sub);
    ssh_wbuf_init(&sub, 0);
    for (i = BIG_N; i > 0; i--) {
        snprintf(id, sizeof(id), "id-%06zu", i);
        ssh_wbuf_put_cstring(&sub, id);
    }
    ssh_wbuf_put_cstring(&sub, "id-000001");
    put_section(&certs, 0x23, &sub);
    ssh_wbuf_free(&sub);
    put_section(&b, 1, &certs);
    ssh_wbuf_free(&certs);

    /* fingerprints in hash order (not sorted), each listed twice */
    ssh_wbuf_init(&sect, 0);
    for (i = 0; i < 2 * BIG_N; i++) {
        memcpy(seed, &(uint64_t) { i % BIG_N }, 8);
        SHA256(seed, sizeof(seed), h);
        ssh_wbuf_put_string(&sect, h, 32);
    }
    put_section(&b, 5, &sect);
    ssh_wbuf_free(&sect);
    ssh_wbuf_init(&sect, 0);
    for (i = 0; i < BIG_N; i++) {
        memcpy(seed, &(uint64_t) { i }, 8);
        SHA1(seed, sizeof(seed), h);
        ssh_wbuf_put_string(&sect, h, 20);
    }
    put_section(&b, 3, &sect);
    ssh_wbuf_free(&sect);

    /* our user key's fingerprint among them, last */
    ssh_wbuf_init(&blob, 0);
    ssh_pubkey_blob(user_pk, &blob);
    SHA256(blob.data, blob.len, h);
    ssh_wbuf_free(&blob);
    ssh_wbuf_init(&sect, 0);
    ssh_wbuf_put_string(&sect, h, 32);
    put_section(&b, 5, &sect);
    ssh_wbuf_free(&sect);

    assert_int_equal(parse_wbuf(&b, &krl), WID_OK);
    ssh_wbuf_free(&b);
    assert_int_equal(krl.nsha256s, BIG_N + 1);
    assert_int_equal(krl.nsha1s, BIG_N);
    assert_int_equal(krl.ncerts, 1);
    assert_int_equal(krl.certs[0].nserials, BIG_N);
    assert_int_equal(krl.certs[0].nkey_ids, BIG_N);
    for (i = 1; i < krl.nsha256s; i++) {
        assert_true(memcmp(krl.sha256s[i - 1].data, krl.sha256s[i].data,
                           32) < 0);
    }
    for (i = 1; i < krl.certs[0].nserials; i++) {
        assert_true(krl.certs[0].serials[i - 1] < krl.certs[0].serials[i]);
    }

    /* lookups: the key by fingerprint; serials and key ids for any CA */
    make_cert(&c, other_sk, "not-listed");
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_R_SSH_CERT_REVOKED);
    ssh_krl_free(&krl);

    /* and the same file without our key: serials and ids decide */
    ssh_wbuf_init(&b, 0);
    krl_header(&b);
    ssh_wbuf_init(&certs, 0);
    ssh_wbuf_put_string(&certs, "", 0);
    ssh_wbuf_put_string(&certs, "", 0);
    ssh_wbuf_init(&sub, 0);
    for (i = BIG_N; i > 0; i--) {
        ssh_wbuf_put_u64(&sub, 2 * (uint64_t) i);
    }
    put_section(&certs, 0x20, &sub);
    ssh_wbuf_free(&sub);
    ssh_wbuf_init(&sub, 0);
    for (i = BIG_N; i > 0; i--) {
        snprintf(id, sizeof(id), "id-%06zu", i);
        ssh_wbuf_put_cstring(&sub, id);
    }
    put_section(&certs, 0x23, &sub);
    ssh_wbuf_free(&sub);
    put_section(&b, 1, &certs);
    ssh_wbuf_free(&certs);
    assert_int_equal(parse_wbuf(&b, &krl), WID_OK);
    ssh_wbuf_free(&b);
    make_cert(&c, ca_sk, "id-000777");
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_R_SSH_CERT_REVOKED);
    make_cert(&c, ca_sk, "id-x");
    c.serial = 2 * (uint64_t) BIG_N;
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_R_SSH_CERT_REVOKED);
    c.serial = 2 * (uint64_t) BIG_N - 1;
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_OK);
    reload(&krl);
    assert_int_equal(krl.certs[0].nserials, BIG_N);
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_OK);
    c.serial = 2;
    assert_int_equal(ssh_krl_check_cert(&krl, &c), WID_R_SSH_CERT_REVOKED);
    ssh_krl_free(&krl);
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
        cmocka_unit_test(test_serial_zero_refused),
        cmocka_unit_test(test_bitmap_at_the_top),
        cmocka_unit_test(test_big_krl),
        cmocka_unit_test(test_save_is_atomic_and_versioned),
    };
    return cmocka_run_group_tests_name("ssh_krl", tests, setup, teardown);
}
