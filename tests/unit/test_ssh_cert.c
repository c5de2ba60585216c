/*
 * OpenSSH Ed25519 user certificates: request checks, encoding, signing,
 * strict parsing, public key lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../ssh_wid_helper/sshcert.h"

static unsigned char ca_pk[32], ca_sk[64];
static unsigned char user_pk[32], user_sk[64];
static char *two[] = { "alice", "deploy" };

static void
req_init(ssh_cert *c)
{
    memset(c, 0, sizeof(*c));
    c->type = SSH_CERT_TYPE_USER;
    memcpy(c->pk, user_pk, 32);
    c->key_id = "spiffe://example.org/ci receipt=r1";
    c->principals = two;
    c->nprincipals = 2;
    c->valid_after = 1000;
    c->valid_before = 2000;
}

static void
test_sign_parse_round_trip(void **state)
{
    ssh_cert  c, p;
    ssh_wbuf  b;

    (void) state;
    req_init(&c);
    c.force_command = "echo hi";
    c.source_address = "10.0.0.0/8,::1";
    c.extensions = SSH_EXT_PERMIT_PTY | SSH_EXT_PERMIT_X11_FORWARDING;
    ssh_wbuf_init(&b, 0);
    assert_int_equal(ssh_cert_sign(&c, ca_sk, &b), WID_OK);
    assert_true(c.serial != 0);
    assert_memory_equal(c.ca_pk, ca_pk, 32);

    assert_int_equal(ssh_cert_parse(b.data, b.len, &p), WID_OK);
    assert_int_equal(p.serial, c.serial);
    assert_int_equal(p.type, SSH_CERT_TYPE_USER);
    assert_string_equal(p.key_id, c.key_id);
    assert_int_equal(p.nprincipals, 2);
    assert_string_equal(p.principals[0], "alice");
    assert_string_equal(p.principals[1], "deploy");
    assert_int_equal(p.valid_after, 1000);
    assert_int_equal(p.valid_before, 2000);
    assert_string_equal(p.force_command, "echo hi");
    assert_string_equal(p.source_address, "10.0.0.0/8,::1");
    assert_int_equal(p.extensions,
                     SSH_EXT_PERMIT_PTY | SSH_EXT_PERMIT_X11_FORWARDING);
    assert_memory_equal(p.pk, user_pk, 32);
    assert_memory_equal(p.ca_pk, ca_pk, 32);
    assert_memory_equal(p.nonce, c.nonce, 32);
    ssh_cert_free(&p);
    ssh_wbuf_free(&b);
}

/* Values are string-in-string; names sorted; flags carry empty data. */
static void
test_option_encoding_is_string_in_string(void **state)
{
    static const unsigned char force[] = {
        0, 0, 0, 13, 'f', 'o', 'r', 'c', 'e', '-', 'c', 'o', 'm', 'm', 'a',
        'n', 'd', 0, 0, 0, 6, 0, 0, 0, 2, 'l', 's',
        0, 0, 0, 14, 's', 'o', 'u', 'r', 'c', 'e', '-', 'a', 'd', 'd', 'r',
        'e', 's', 's', 0, 0, 0, 11, 0, 0, 0, 7, '1', '.', '2', '.', '3', '.',
        '4'
    };
    static const unsigned char exts[] = {
        0, 0, 0, 21, 'p', 'e', 'r', 'm', 'i', 't', '-', 'X', '1', '1', '-',
        'f', 'o', 'r', 'w', 'a', 'r', 'd', 'i', 'n', 'g', 0, 0, 0, 0,
        0, 0, 0, 10, 'p', 'e', 'r', 'm', 'i', 't', '-', 'p', 't', 'y',
        0, 0, 0, 0
    };
    ssh_cert  c;
    ssh_wbuf  b;

    (void) state;
    req_init(&c);
    c.force_command = "ls";
    c.source_address = "1.2.3.4";
    c.extensions = SSH_EXT_PERMIT_PTY | SSH_EXT_PERMIT_X11_FORWARDING;
    ssh_wbuf_init(&b, 0);
    assert_int_equal(ssh_cert_sign(&c, ca_sk, &b), WID_OK);
    assert_non_null(memmem(b.data, b.len, force, sizeof(force)));
    assert_non_null(memmem(b.data, b.len, exts, sizeof(exts)));
    ssh_wbuf_free(&b);
}

static void
test_serials_are_random_and_non_zero(void **state)
{
    uint64_t seen[16];
    ssh_cert c;
    ssh_wbuf b;
    int      i, j;

    (void) state;
    for (i = 0; i < 16; i++) {
        req_init(&c);
        ssh_wbuf_init(&b, 0);
        assert_int_equal(ssh_cert_sign(&c, ca_sk, &b), WID_OK);
        assert_true(c.serial != 0);
        seen[i] = c.serial;
        for (j = 0; j < i; j++) {
            assert_true(seen[j] != seen[i]);
        }
        ssh_wbuf_free(&b);
    }
}

static void
test_principal_charset(void **state)
{
    static const char *bad[] = {
        "", "a b", "a\nb", "a\tb", "a,b", "a#b", "a\"b", "a'b", "a\\b",
        "a*", "a?", "!a", "caf\xc3\xa9", "a\x7f", "a\rb",
    };
    char   longp[SSH_PRINCIPAL_MAX + 2];
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ssh_check_principal(bad[i]),
                         WID_R_SSH_PRINCIPAL_INVALID);
    }
    memset(longp, 'a', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    assert_int_equal(ssh_check_principal(longp), WID_R_SSH_PRINCIPAL_INVALID);
    longp[SSH_PRINCIPAL_MAX] = '\0';
    assert_int_equal(ssh_check_principal(longp), WID_OK);
    assert_int_equal(ssh_check_principal("deploy"), WID_OK);
    assert_int_equal(ssh_check_principal("user@REALM.example"), WID_OK);
    assert_int_equal(ssh_check_principal("role:db-admin_2"), WID_OK);
}

static void
test_nothing_signed_for_bad_requests(void **state)
{
    static char *dup[] = { "a", "b", "a" };
    static char *nl[] = { "ok", "bad\nroot" };
    char       **many;
    char         huge[SSH_KEY_ID_MAX + 2];
    ssh_cert     c;
    ssh_wbuf     b;
    size_t       i;

    (void) state;
    ssh_wbuf_init(&b, 0);

    req_init(&c);
    c.nprincipals = 0;
    assert_int_equal(ssh_cert_sign(&c, ca_sk, &b), WID_R_SSH_PRINCIPALS_EMPTY);

    req_init(&c);
    c.principals = dup;
    c.nprincipals = 3;
    assert_int_equal(ssh_cert_sign(&c, ca_sk, &b),
                     WID_R_SSH_PRINCIPAL_DUPLICATE);

    req_init(&c);
    c.principals = nl;
    assert_int_equal(ssh_cert_sign(&c, ca_sk, &b),
                     WID_R_SSH_PRINCIPAL_INVALID);

    many = calloc(SSH_CERT_MAX_PRINCIPALS + 1, sizeof(*many));
    assert_non_null(many);
    for (i = 0; i <= SSH_CERT_MAX_PRINCIPALS; i++) {
        many[i] = malloc(8);
        snprintf(many[i], 8, "u%zu", i);
    }
    req_init(&c);
    c.principals = many;
    c.nprincipals = SSH_CERT_MAX_PRINCIPALS + 1;
    assert_int_equal(ssh_cert_sign(&c, ca_sk, &b),
                     WID_R_SSH_TOO_MANY_PRINCIPALS);
    c.nprincipals = SSH_CERT_MAX_PRINCIPALS;           /* 256 is fine */
    assert_int_equal(ssh_cert_sign(&c, ca_sk, &b), WID_OK);
    ssh_wbuf_free(&b);
    for (i = 0; i <= SSH_CERT_MAX_PRINCIPALS; i++) {
        free(many[i]);
    }
    free(many);

    ssh_wbuf_init(&b, 0);
    req_init(&c);
    memset(huge, 'k', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    c.key_id = huge;
    assert_int_equal(ssh_cert_sign(&c, ca_sk, &b), WID_R_SSH_KEY_ID_INVALID);
    c.key_id = "id\nwith newline";
    assert_int_equal(ssh_cert_sign(&c, ca_sk, &b), WID_R_SSH_KEY_ID_INVALID);

    req_init(&c);
    c.valid_after = 2000;
    assert_int_equal(ssh_cert_sign(&c, ca_sk, &b), WID_R_SSH_VALIDITY_INVALID);

    req_init(&c);
    c.source_address = "10.0.0.1/8";
    assert_int_equal(ssh_cert_sign(&c, ca_sk, &b),
                     WID_R_SSH_SOURCE_ADDRESS_INVALID);

    req_init(&c);
    c.force_command = "rm -rf /\n";
    assert_int_equal(ssh_cert_sign(&c, ca_sk, &b),
                     WID_R_SSH_FORCE_COMMAND_INVALID);

    req_init(&c);
    c.extensions = 1u << SSH_EXT_COUNT;
    assert_int_equal(ssh_cert_sign(&c, ca_sk, &b), WID_R_SSH_EXTENSION_UNKNOWN);

    req_init(&c);
    c.type = SSH_CERT_TYPE_HOST;
    assert_int_equal(ssh_cert_sign(&c, ca_sk, &b), WID_R_SSH_CERT_NOT_USER);

    /* nothing was written by any refused request */
    assert_int_equal(b.len, 0);
    ssh_wbuf_free(&b);
}

static void
test_source_address_lists(void **state)
{
    static const char *good[] = {
        "127.0.0.1", "10.0.0.0/8", "0.0.0.0/0", "::1", "2001:db8::/32",
        "192.168.1.0/24,10.1.2.3/32,::/0", "::ffff:1.2.3.4",
    };
    static const char *bad[] = {
        "", ",", "10.0.0.0/8,", ",10.0.0.0/8", "10.0.0.1/8", "10.0.0.0/33",
        "::1/129", "10.0.0.0/", "10.0.0.0/+8", "host.example", "10.0.0.0 /8",
        "1.2.3.4/08x", "1.2.3", "2001:db8::1/32", "10.0.0.0/8, 10.1.0.0/16",
    };
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(ssh_check_source_address(good[i]), WID_OK);
    }
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ssh_check_source_address(bad[i]) == WID_OK) {
            fail_msg("accepted source-address '%s'", bad[i]);
        }
    }
}

static void
test_validity_window(void **state)
{
    uint64_t va, vb;

    (void) state;
    assert_int_equal(ssh_cert_validity(1000, 30, 300, 600, 0, &va, &vb),
                     WID_OK);
    assert_int_equal(va, 970);
    assert_int_equal(vb, 1300);
    /* clamped to the credential's own expiry */
    assert_int_equal(ssh_cert_validity(1000, 30, 300, 600, 1100, &va, &vb),
                     WID_OK);
    assert_int_equal(vb, 1100);
    /* a credential already expired yields nothing */
    assert_int_equal(ssh_cert_validity(1000, 30, 300, 600, 1000, &va, &vb),
                     WID_R_SSH_VALIDITY_INVALID);
    /* backdate never goes below zero, never above 60 s */
    assert_int_equal(ssh_cert_validity(10, 30, 300, 600, 0, &va, &vb), WID_OK);
    assert_int_equal(va, 0);
    assert_int_equal(ssh_cert_validity(1000, 61, 300, 600, 0, &va, &vb),
                     WID_R_SSH_VALIDITY_INVALID);
    /* TTL zero, above the maximum, and overflowing the clock */
    assert_int_equal(ssh_cert_validity(1000, 0, 0, 600, 0, &va, &vb),
                     WID_R_SSH_TTL_INVALID);
    assert_int_equal(ssh_cert_validity(1000, 0, 601, 600, 0, &va, &vb),
                     WID_R_SSH_TTL_INVALID);
    assert_int_equal(ssh_cert_validity(1000, 0, UINT64_MAX, UINT64_MAX, 0,
                                       &va, &vb),
                     WID_R_SSH_VALIDITY_INVALID);
    assert_int_equal(ssh_cert_validity(UINT64_MAX - 5, 0, 10, 600, 0,
                                       &va, &vb),
                     WID_R_SSH_VALIDITY_INVALID);
}

/*
 * Raw certificate builder for hostile inputs: the body is assembled
 * from the given sections and signed, so the parser's structural
 * checks (not the signature) must reject it.
 */
typedef struct {
    const char     *type;
    uint32_t        cert_type;
    const ssh_wbuf *principals;
    const ssh_wbuf *crit;
    const ssh_wbuf *exts;
    const char     *reserved;
    int             trailing;
    int             corrupt_sig;
} raw_cert;

static void
raw_build(const raw_cert *rc, ssh_wbuf *out)
{
    unsigned char nonce[32] = { 1 }, sig[64];
    ssh_wbuf      sub, empty;

    ssh_wbuf_init(&empty, 0);
    ssh_wbuf_put_cstring(out, rc->type ? rc->type : SSH_ED25519_CERT_NAME);
    ssh_wbuf_put_string(out, nonce, 32);
    ssh_wbuf_put_string(out, user_pk, 32);
    ssh_wbuf_put_u64(out, 42);
    ssh_wbuf_put_u32(out, rc->cert_type ? rc->cert_type : SSH_CERT_TYPE_USER);
    ssh_wbuf_put_cstring(out, "kid");
    if (rc->principals) {
        ssh_wbuf_put_wbuf(out, rc->principals);
    } else {
        ssh_wbuf_init(&sub, 0);
        ssh_wbuf_put_cstring(&sub, "alice");
        ssh_wbuf_put_wbuf(out, &sub);
        ssh_wbuf_free(&sub);
    }
    ssh_wbuf_put_u64(out, 1000);
    ssh_wbuf_put_u64(out, 2000);
    ssh_wbuf_put_wbuf(out, rc->crit ? rc->crit : &empty);
    ssh_wbuf_put_wbuf(out, rc->exts ? rc->exts : &empty);
    ssh_wbuf_put_cstring(out, rc->reserved ? rc->reserved : "");
    ssh_wbuf_init(&sub, 0);
    ssh_pubkey_blob(ca_pk, &sub);
    ssh_wbuf_put_wbuf(out, &sub);
    ssh_wbuf_free(&sub);
    assert_int_equal(ssh_wbuf_error(out), 0);

    crypto_sign_ed25519_detached(sig, NULL, out->data, out->len, ca_sk);
    if (rc->corrupt_sig) {
        sig[5] ^= 1;
    }
    ssh_wbuf_init(&sub, 0);
    ssh_wbuf_put_cstring(&sub, "ssh-ed25519");
    ssh_wbuf_put_string(&sub, sig, 64);
    ssh_wbuf_put_wbuf(out, &sub);
    ssh_wbuf_free(&sub);
    if (rc->trailing) {
        ssh_wbuf_put_u8(out, 0);
    }
    ssh_wbuf_free(&empty);
}

static wid_reason_t
raw_parse(const raw_cert *rc)
{
    ssh_wbuf     b;
    ssh_cert     c;
    wid_reason_t r;

    ssh_wbuf_init(&b, 0);
    raw_build(rc, &b);
    r = ssh_cert_parse(b.data, b.len, &c);
    if (r == WID_OK) {
        ssh_cert_free(&c);
    }
    ssh_wbuf_free(&b);
    return r;
}

static void
put_opt(ssh_wbuf *b, const char *name, const char *val)
{
    ssh_wbuf in;

    ssh_wbuf_put_cstring(b, name);
    ssh_wbuf_init(&in, 0);
    if (val != NULL) {
        ssh_wbuf_put_cstring(&in, val);
    }
    ssh_wbuf_put_wbuf(b, &in);
    ssh_wbuf_free(&in);
}

static void
test_parser_accepts_baseline(void **state)
{
    raw_cert rc = { 0 };

    (void) state;
    assert_int_equal(raw_parse(&rc), WID_OK);
}

static void
test_parser_rejects_structure(void **state)
{
    raw_cert rc = { 0 };
    ssh_wbuf w;

    (void) state;
    rc.trailing = 1;
    assert_int_equal(raw_parse(&rc), WID_R_SSH_CERT_MALFORMED);

    memset(&rc, 0, sizeof(rc));
    rc.corrupt_sig = 1;
    assert_int_equal(raw_parse(&rc), WID_R_SSH_CERT_SIGNATURE_INVALID);

    memset(&rc, 0, sizeof(rc));
    rc.type = "ssh-rsa-cert-v01@openssh.com";
    assert_int_equal(raw_parse(&rc), WID_R_SSH_KEY_TYPE_UNSUPPORTED);

    memset(&rc, 0, sizeof(rc));
    rc.cert_type = SSH_CERT_TYPE_HOST;
    assert_int_equal(raw_parse(&rc), WID_R_SSH_CERT_NOT_USER);

    memset(&rc, 0, sizeof(rc));
    rc.reserved = "x";
    assert_int_equal(raw_parse(&rc), WID_R_SSH_CERT_MALFORMED);

    /* empty principals: never "any principal" */
    memset(&rc, 0, sizeof(rc));
    ssh_wbuf_init(&w, 0);
    rc.principals = &w;
    assert_int_equal(raw_parse(&rc), WID_R_SSH_PRINCIPALS_EMPTY);
    ssh_wbuf_put_cstring(&w, "root,admin");
    assert_int_equal(raw_parse(&rc), WID_R_SSH_PRINCIPAL_INVALID);
    ssh_wbuf_free(&w);

    /* a principal with an embedded NUL */
    ssh_wbuf_init(&w, 0);
    ssh_wbuf_put_string(&w, "root\0x", 6);
    rc.principals = &w;
    assert_int_equal(raw_parse(&rc), WID_R_SSH_PRINCIPAL_INVALID);
    ssh_wbuf_free(&w);
}

static void
test_parser_rejects_options(void **state)
{
    raw_cert rc = { 0 };
    ssh_wbuf w;

    (void) state;
    /* unsorted critical options */
    ssh_wbuf_init(&w, 0);
    put_opt(&w, "source-address", "10.0.0.0/8");
    put_opt(&w, "force-command", "true");
    rc.crit = &w;
    assert_int_equal(raw_parse(&rc), WID_R_SSH_CERT_OPTIONS_UNSORTED);
    ssh_wbuf_free(&w);

    /* duplicate */
    ssh_wbuf_init(&w, 0);
    put_opt(&w, "force-command", "true");
    put_opt(&w, "force-command", "false");
    assert_int_equal(raw_parse(&rc), WID_R_SSH_CERT_OPTIONS_UNSORTED);
    ssh_wbuf_free(&w);

    /* unknown critical option (even a real OpenSSH one we do not use) */
    ssh_wbuf_init(&w, 0);
    put_opt(&w, "verify-required", NULL);
    assert_int_equal(raw_parse(&rc), WID_R_SSH_CERT_CRITICAL_UNKNOWN);
    ssh_wbuf_free(&w);

    /* value not wrapped in a second string (the classic encoding bug) */
    ssh_wbuf_init(&w, 0);
    ssh_wbuf_put_cstring(&w, "force-command");
    ssh_wbuf_put_cstring(&w, "true");
    assert_int_equal(raw_parse(&rc), WID_R_SSH_CERT_OPTION_MALFORMED);
    ssh_wbuf_free(&w);

    /* bad CIDR inside source-address */
    ssh_wbuf_init(&w, 0);
    put_opt(&w, "source-address", "10.0.0.1/8");
    assert_int_equal(raw_parse(&rc), WID_R_SSH_SOURCE_ADDRESS_INVALID);
    ssh_wbuf_free(&w);

    rc.crit = NULL;
    /* extension flag carrying data */
    ssh_wbuf_init(&w, 0);
    put_opt(&w, "permit-pty", "yes");
    rc.exts = &w;
    assert_int_equal(raw_parse(&rc), WID_R_SSH_CERT_OPTION_MALFORMED);
    ssh_wbuf_free(&w);

    /* unknown extension */
    ssh_wbuf_init(&w, 0);
    ssh_wbuf_put_cstring(&w, "permit-everything@example.com");
    ssh_wbuf_put_string(&w, "", 0);
    assert_int_equal(raw_parse(&rc), WID_R_SSH_EXTENSION_UNKNOWN);
    ssh_wbuf_free(&w);

    /* unsorted extensions */
    ssh_wbuf_init(&w, 0);
    ssh_wbuf_put_cstring(&w, "permit-pty");
    ssh_wbuf_put_string(&w, "", 0);
    ssh_wbuf_put_cstring(&w, "permit-agent-forwarding");
    ssh_wbuf_put_string(&w, "", 0);
    assert_int_equal(raw_parse(&rc), WID_R_SSH_CERT_OPTIONS_UNSORTED);
    ssh_wbuf_free(&w);
}

static void
test_parser_survives_truncation(void **state)
{
    ssh_cert c;
    ssh_wbuf b;
    size_t   n;

    (void) state;
    req_init(&c);
    c.force_command = "x";
    ssh_wbuf_init(&b, 0);
    assert_int_equal(ssh_cert_sign(&c, ca_sk, &b), WID_OK);
    /* every proper prefix is refused, never read past */
    for (n = 0; n < b.len; n++) {
        ssh_cert p;
        unsigned char *copy = malloc(n ? n : 1);

        memcpy(copy, b.data, n);
        assert_int_not_equal(ssh_cert_parse(copy, n, &p), WID_OK);
        free(copy);
    }
    ssh_wbuf_free(&b);
}

static void
test_lines_and_base64(void **state)
{
    ssh_cert       c, p;
    ssh_wbuf       b;
    char          *line, *b64;
    unsigned char  pk[32];
    char           fp[64];

    (void) state;
    req_init(&c);
    ssh_wbuf_init(&b, 0);
    assert_int_equal(ssh_cert_sign(&c, ca_sk, &b), WID_OK);
    assert_int_equal(ssh_format_line(SSH_ED25519_CERT_NAME, b.data, b.len,
                                     "a comment", &line), WID_OK);
    assert_int_equal(ssh_cert_parse_line(line, &p), WID_OK);
    ssh_cert_free(&p);

    /* %t / %k as sshd passes them */
    b64 = strchr(line, ' ') + 1;
    *strchr(b64, ' ') = '\0';
    assert_int_equal(ssh_cert_parse_base64(SSH_ED25519_CERT_NAME, b64, &p),
                     WID_OK);
    ssh_cert_free(&p);
    assert_int_equal(ssh_cert_parse_base64("ssh-ed25519", b64, &p),
                     WID_R_SSH_KEY_TYPE_UNSUPPORTED);
    b64[strlen(b64) - 1] = '*';
    assert_int_equal(ssh_cert_parse_base64(SSH_ED25519_CERT_NAME, b64, &p),
                     WID_R_SSH_CERT_MALFORMED);
    free(line);
    ssh_wbuf_free(&b);

    /* OpenSSH public key lines */
    ssh_wbuf_init(&b, 0);
    ssh_pubkey_blob(user_pk, &b);
    assert_int_equal(ssh_format_line("ssh-ed25519", b.data, b.len, "me@host",
                                     &line), WID_OK);
    assert_int_equal(ssh_pubkey_parse_line(line, pk), WID_OK);
    assert_memory_equal(pk, user_pk, 32);
    free(line);
    assert_int_equal(ssh_format_line("ssh-rsa", b.data, b.len, NULL, &line),
                     WID_OK);
    assert_int_equal(ssh_pubkey_parse_line(line, pk),
                     WID_R_SSH_KEY_TYPE_UNSUPPORTED);
    free(line);
    ssh_wbuf_put_u8(&b, 0);                       /* trailing byte */
    assert_int_equal(ssh_format_line("ssh-ed25519", b.data, b.len, NULL,
                                     &line), WID_OK);
    assert_int_equal(ssh_pubkey_parse_line(line, pk),
                     WID_R_SSH_PUBKEY_MALFORMED);
    free(line);
    ssh_wbuf_free(&b);
    assert_int_equal(ssh_pubkey_parse_line("ssh-ed25519", pk),
                     WID_R_SSH_PUBKEY_MALFORMED);
    assert_int_equal(ssh_pubkey_parse_line("ssh-ed25519 AAAA=", pk),
                     WID_R_SSH_PUBKEY_MALFORMED);

    /* fingerprint in ssh-keygen's format */
    ssh_pubkey_fingerprint(user_pk, fp);
    assert_int_equal(strncmp(fp, "SHA256:", 7), 0);
    assert_int_equal(strlen(fp), 7 + 43);
}

static int
setup(void **state)
{
    (void) state;
    if (sodium_init() < 0) {
        return -1;
    }
    crypto_sign_ed25519_keypair(ca_pk, ca_sk);
    crypto_sign_ed25519_keypair(user_pk, user_sk);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_parse_round_trip),
        cmocka_unit_test(test_option_encoding_is_string_in_string),
        cmocka_unit_test(test_serials_are_random_and_non_zero),
        cmocka_unit_test(test_principal_charset),
        cmocka_unit_test(test_nothing_signed_for_bad_requests),
        cmocka_unit_test(test_source_address_lists),
        cmocka_unit_test(test_validity_window),
        cmocka_unit_test(test_parser_accepts_baseline),
        cmocka_unit_test(test_parser_rejects_structure),
        cmocka_unit_test(test_parser_rejects_options),
        cmocka_unit_test(test_parser_survives_truncation),
        cmocka_unit_test(test_lines_and_base64),
    };
    return cmocka_run_group_tests_name("ssh_cert", tests, setup, NULL);
}
