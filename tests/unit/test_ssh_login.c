/*
 * The helper's files and decisions: CA key loading rules, CA/receipt key
 * separation, the helper configuration, the issued-certificates index,
 * and the login decision behind `principals`.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "../../ssh_wid_helper/cakey.h"
#include "../../ssh_wid_helper/conf.h"
#include "../../ssh_wid_helper/issued.h"
#include "../../ssh_wid_helper/krl.h"
#include "../../ssh_wid_helper/login.h"

static char          tmpdir[] = "/tmp/wid-test-sshlogin-XXXXXX";
static char          ca_key_path[256], ca_pub_path[256], ca_spki_path[256];
static char          other_pub_path[256], krl_path[256], conf_path[256];
static unsigned char ca_pk[32], ca_sk[64], other_pk[32], other_sk[64];
static unsigned char user_pk[32], user_sk[64];

static void
path_in(char *out, const char *name)
{
    snprintf(out, 256, "%s/%s", tmpdir, name);
}

static void
write_text(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

/* PKCS#8 / SPKI PEM for a libsodium key pair, via OpenSSL. */
static void
write_pem(const char *path, const unsigned char *sk, int secret)
{
    EVP_PKEY *k = secret
        ? EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, 32)
        : EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, sk + 32, 32);
    FILE     *f = fopen(path, "w");

    assert_non_null(k);
    assert_non_null(f);
    if (secret) {
        assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL),
                         1);
    } else {
        assert_int_equal(PEM_write_PUBKEY(f, k), 1);
    }
    fclose(f);
    EVP_PKEY_free(k);
    assert_int_equal(chmod(path, secret ? 0600 : 0644), 0);
}

static void
write_openssh_pub(const char *path, const unsigned char *pk)
{
    ssh_wbuf b;
    char    *line;

    ssh_wbuf_init(&b, 0);
    ssh_pubkey_blob(pk, &b);
    assert_int_equal(ssh_format_line("ssh-ed25519", b.data, b.len, "ca",
                                     &line), WID_OK);
    write_text(path, line, 0644);
    free(line);
    ssh_wbuf_free(&b);
}

static void
test_ca_key_rules(void **state)
{
    char       p[256], link[256];
    wid_seckey k;
    int        i, zero = 1;

    (void) state;
    /* the helper loads its CA key through libcore/keyfile.h */
    assert_int_equal(wid_seckey_load(ca_key_path, &k), WID_OK);
    assert_memory_equal(k.pub.pk, ca_pk, 32);
    assert_memory_equal(k.sk, ca_sk, 64);
    wid_seckey_wipe(&k);
    for (i = 0; i < 64; i++) {
        zero &= k.sk[i] == 0;
    }
    assert_true(zero);

    /* group- or world-readable keys are refused */
    path_in(p, "loose.key");
    write_pem(p, ca_sk, 1);
    assert_int_equal(chmod(p, 0640), 0);
    assert_int_equal(wid_seckey_load(p, &k), WID_R_KEY_PERMISSIONS);
    assert_int_equal(chmod(p, 0604), 0);
    assert_int_equal(wid_seckey_load(p, &k), WID_R_KEY_PERMISSIONS);

    /* never through a symlink */
    path_in(link, "link.key");
    assert_int_equal(symlink(ca_key_path, link), 0);
    assert_int_equal(wid_seckey_load(link, &k), WID_R_KEY_NOT_REGULAR);

    /* not a key, or a public key given as the secret */
    path_in(p, "junk.key");
    write_text(p, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
               0600);
    assert_int_equal(wid_seckey_load(p, &k), WID_R_KEY_MALFORMED);
    write_pem(p, ca_sk, 0);
    assert_int_equal(chmod(p, 0600), 0);
    assert_int_equal(wid_seckey_load(p, &k), WID_R_KEY_MALFORMED);
    assert_int_equal(wid_seckey_load(tmpdir, &k), WID_R_KEY_NOT_REGULAR);
}

static void
test_public_keys_and_separation(void **state)
{
    unsigned char pk[32];

    (void) state;
    assert_int_equal(ssh_ca_pub_load(ca_pub_path, pk), WID_OK);
    assert_memory_equal(pk, ca_pk, 32);
    assert_int_equal(ssh_ca_pub_load(ca_spki_path, pk), WID_OK);
    assert_memory_equal(pk, ca_pk, 32);
    /* a secret key file is not a public key */
    assert_int_not_equal(ssh_ca_pub_load(ca_key_path, pk), WID_OK);

    /* the receipt key must be another key, whatever its file format */
    assert_int_equal(ssh_ca_check_separate(ca_pk, ca_spki_path),
                     WID_R_SSH_CA_IS_RECEIPT_KEY);
    assert_int_equal(ssh_ca_check_separate(ca_pk, ca_pub_path),
                     WID_R_SSH_CA_IS_RECEIPT_KEY);
    assert_int_equal(ssh_ca_check_separate(ca_pk, other_pub_path), WID_OK);
    assert_int_equal(ssh_ca_check_separate(ca_pk, NULL), WID_OK);
}

static void
test_config_rules(void **state)
{
    char     p[256], text[1024], err[512];
    ssh_conf conf;

    (void) state;
    path_in(p, "c.conf");
    snprintf(text, sizeof(text), "# helper\n\nca_pubkey %s\nkrl   %s  \n",
             ca_pub_path, krl_path);
    write_text(p, text, 0644);
    assert_int_equal(ssh_conf_load(p, &conf, err, sizeof(err)), WID_OK);
    assert_string_equal(conf.krl_path, krl_path);
    assert_memory_equal(conf.ca_pk, ca_pk, 32);
    ssh_conf_free(&conf);

    /* writable by others: refused */
    assert_int_equal(chmod(p, 0666), 0);
    assert_int_equal(ssh_conf_load(p, &conf, err, sizeof(err)),
                     WID_R_INTERNAL_CONFIG);

    snprintf(text, sizeof(text), "ca_pubkey %s\nkrl %s\nkrll x\n",
             ca_pub_path, krl_path);
    write_text(p, text, 0644);
    assert_int_equal(ssh_conf_load(p, &conf, err, sizeof(err)),
                     WID_R_INTERNAL_CONFIG);
    assert_non_null(strstr(err, "unknown keyword 'krll'"));

    snprintf(text, sizeof(text), "ca_pubkey %s\nkrl %s\nkrl %s\n",
             ca_pub_path, krl_path, krl_path);
    write_text(p, text, 0644);
    assert_int_equal(ssh_conf_load(p, &conf, err, sizeof(err)),
                     WID_R_INTERNAL_CONFIG);

    snprintf(text, sizeof(text), "ca_pubkey %s\n", ca_pub_path);
    write_text(p, text, 0644);
    assert_int_equal(ssh_conf_load(p, &conf, err, sizeof(err)),
                     WID_R_INTERNAL_CONFIG);

    snprintf(text, sizeof(text), "ca_pubkey %s\nkrl %s\nreceipt_pubkey %s\n",
             ca_pub_path, krl_path, ca_spki_path);
    write_text(p, text, 0644);
    assert_int_equal(ssh_conf_load(p, &conf, err, sizeof(err)),
                     WID_R_SSH_CA_IS_RECEIPT_KEY);
}

static char *princs[] = { "alice", "deploy" };

/* The request points at static strings: never ssh_cert_free it. */
static void
issue(ssh_cert *c, const unsigned char *sk, uint64_t va, uint64_t vb,
      const char *key_id)
{
    ssh_wbuf b;

    memset(c, 0, sizeof(*c));
    c->type = SSH_CERT_TYPE_USER;
    memcpy(c->pk, user_pk, 32);
    c->key_id = (char *) key_id;
    c->principals = princs;
    c->nprincipals = 2;
    c->valid_after = va;
    c->valid_before = vb;
    ssh_wbuf_init(&b, 0);
    assert_int_equal(ssh_cert_sign(c, sk, &b), WID_OK);
    ssh_wbuf_free(&b);
}

static wid_reason_t
decide(const ssh_conf *conf, const ssh_cert *c, const char *user,
       uint64_t now, ssh_login_result *res)
{
    ssh_login_req req = { user, c, now };

    return ssh_login_decide(conf, &req, res);
}

static void
test_login_decisions(void **state)
{
    char             err[512], logp[256], text[1024], *line = NULL;
    ssh_conf         conf;
    ssh_cert         c, foreign;
    ssh_login_req    req;
    ssh_login_result res;
    ssh_krl          krl;
    size_t           cap = 0;
    FILE            *f;

    (void) state;
    unlink(krl_path);
    assert_int_equal(ssh_conf_load(conf_path, &conf, err, sizeof(err)),
                     WID_OK);
    issue(&c, ca_sk, 100, 200, "spiffe://td/a receipt=1");
    issue(&foreign, other_sk, 100, 200, "spiffe://td/a receipt=1");

    /* no KRL file: every login refused */
    assert_int_equal(decide(&conf, &c, "alice", 150, &res),
                     WID_R_SSH_KRL_UNREADABLE);
    ssh_krl_init(&krl);
    assert_int_equal(ssh_krl_save(&krl, krl_path, 1), WID_OK);

    assert_int_equal(decide(&conf, &c, "alice", 150, &res), WID_OK);
    assert_string_equal(res.principal, "alice");
    assert_string_equal(res.options, "");
    assert_int_equal(decide(&conf, &c, "deploy", 199, &res), WID_OK);
    assert_string_equal(res.principal, "deploy");

    assert_int_equal(decide(&conf, &c, "root", 150, &res),
                     WID_R_SSH_PRINCIPAL_MISMATCH);
    assert_null(res.principal);
    assert_int_equal(decide(&conf, &c, "alice", 99, &res),
                     WID_R_SSH_CERT_NOT_YET_VALID);
    assert_int_equal(decide(&conf, &c, "alice", 200, &res),
                     WID_R_SSH_CERT_EXPIRED);
    assert_int_equal(decide(&conf, &foreign, "alice", 150, &res),
                     WID_R_SSH_CERT_WRONG_CA);

    assert_int_equal(ssh_krl_revoke_key_id(&krl, ca_pk, c.key_id), WID_OK);
    assert_int_equal(ssh_krl_save(&krl, krl_path, 2), WID_OK);
    ssh_krl_free(&krl);
    assert_int_equal(decide(&conf, &c, "alice", 150, &res),
                     WID_R_SSH_CERT_REVOKED);

    /* a torn KRL refuses everything too */
    write_text(krl_path, "SSHKRL\n", 0644);
    assert_int_equal(decide(&conf, &c, "alice", 150, &res),
                     WID_R_SSH_KRL_MALFORMED);
    ssh_conf_free(&conf);

    /* decisions are recorded as JSON lines */
    path_in(logp, "decisions.log");
    snprintf(text, sizeof(text), "ca_pubkey %s\nkrl %s\nlog %s\n",
             ca_pub_path, krl_path, logp);
    path_in(err, "logging.conf");
    write_text(err, text, 0644);
    assert_int_equal(ssh_conf_load(err, &conf, text, sizeof(text)), WID_OK);
    req.user = "root";
    req.cert = &c;
    req.now = 150;
    assert_int_equal(ssh_login_record(&conf, &req,
                                      WID_R_SSH_PRINCIPAL_MISMATCH), WID_OK);
    f = fopen(logp, "r");
    assert_non_null(f);
    assert_true(getline(&line, &cap, f) > 0);
    fclose(f);
    assert_non_null(strstr(line, "\"verdict\":\"deny\""));
    assert_non_null(strstr(line, "\"reason\":\"ssh.principal_mismatch\""));
    assert_non_null(strstr(line, "\"user\":\"root\""));
    free(line);
    ssh_conf_free(&conf);
}

static void
test_issued_index(void **state)
{
    char      p[256], sid[64], fp[64], other_fp[64];
    ssh_cert  a, b, old, other, rotated;
    uint64_t *serials;
    size_t    n, bad, skipped;
    FILE     *f;

    (void) state;
    path_in(p, "issued.jsonl");
    ssh_pubkey_fingerprint(ca_pk, fp);
    ssh_pubkey_fingerprint(other_pk, other_fp);
    issue(&a, ca_sk, 100, 1000, "spiffe://td/web receipt=1");
    issue(&b, ca_sk, 100, 1000, "spiffe://td/web receipt=2");
    issue(&old, ca_sk, 10, 50, "spiffe://td/web receipt=0");
    issue(&other, ca_sk, 100, 1000, "spiffe://td/web2 receipt=3");
    /* the same SPIFFE ID under another CA (a CA rotation) */
    issue(&rotated, other_sk, 100, 1000, "spiffe://td/web receipt=4");
    assert_int_equal(ssh_issued_append(p, &old), WID_OK);
    assert_int_equal(ssh_issued_append(p, &a), WID_OK);
    assert_int_equal(ssh_issued_append(p, &rotated), WID_OK);
    assert_int_equal(ssh_issued_append(p, &other), WID_OK);
    assert_int_equal(ssh_issued_append(p, &b), WID_OK);

    /* exact SPIFFE ID, unexpired only, this CA's only */
    assert_int_equal(ssh_issued_find(p, "spiffe://td/web", fp, 500, &serials,
                                     &n, &skipped, &bad), WID_OK);
    assert_int_equal(n, 2);
    assert_true(serials[0] == a.serial && serials[1] == b.serial);
    assert_int_equal(skipped, 1);
    free(serials);
    assert_int_equal(ssh_issued_find(p, "spiffe://td/web", other_fp, 500,
                                     &serials, &n, &skipped, &bad), WID_OK);
    assert_int_equal(n, 1);
    assert_true(serials[0] == rotated.serial);
    assert_int_equal(skipped, 2);
    free(serials);
    assert_int_equal(ssh_issued_find(p, "spiffe://td/none", fp, 500,
                                     &serials, &n, &skipped, &bad), WID_OK);
    assert_int_equal(n, 0);
    assert_int_equal(skipped, 0);

    /* a torn tail is ignored */
    f = fopen(p, "a");
    fputs("{\"serial\":\"12", f);
    fclose(f);
    assert_int_equal(ssh_issued_find(p, "spiffe://td/web", fp, 500, &serials,
                                     &n, &skipped, &bad), WID_OK);
    assert_int_equal(n, 2);
    free(serials);

    /* the next append cuts the torn line off instead of gluing onto it */
    assert_int_equal(ssh_issued_append(p, &b), WID_OK);
    assert_int_equal(ssh_issued_find(p, "spiffe://td/web", fp, 500, &serials,
                                     &n, &skipped, &bad), WID_OK);
    assert_int_equal(n, 3);
    free(serials);

    /* a complete line that does not parse is an error, with its number */
    f = fopen(p, "a");
    fputs("{\"serial\":\"12\n", f);
    fclose(f);
    assert_int_equal(ssh_issued_find(p, "spiffe://td/web", fp, 500, &serials,
                                     &n, &skipped, &bad),
                     WID_R_SSH_INDEX_MALFORMED);
    assert_int_equal(bad, 7);
    assert_null(serials);

    /* a line that does not name its CA cannot be revoked by CA */
    path_in(p, "issued-noca.jsonl");
    f = fopen(p, "w");
    fputs("{\"serial\":\"7\",\"spiffe_id\":\"spiffe://td/web\","
          "\"valid_before\":1000}\n", f);
    fclose(f);
    assert_int_equal(ssh_issued_find(p, "spiffe://td/web", fp, 500, &serials,
                                     &n, &skipped, &bad),
                     WID_R_SSH_INDEX_MALFORMED);
    assert_int_equal(bad, 1);

    assert_int_equal(ssh_key_id_spiffe("spiffe://td/a receipt=9", sid,
                                       sizeof(sid)), 0);
    assert_string_equal(sid, "spiffe://td/a");
    assert_int_equal(ssh_key_id_spiffe("alice", sid, sizeof(sid)), -1);
    assert_int_equal(ssh_key_id_spiffe("spiffe:// x", sid, sizeof(sid)), -1);
}

static int
setup(void **state)
{
    char text[1024];

    (void) state;
    if (sodium_init() < 0 || mkdtemp(tmpdir) == NULL) {
        return -1;
    }
    crypto_sign_ed25519_keypair(ca_pk, ca_sk);
    crypto_sign_ed25519_keypair(other_pk, other_sk);
    crypto_sign_ed25519_keypair(user_pk, user_sk);
    path_in(ca_key_path, "ca.key");
    path_in(ca_pub_path, "ca.pub");
    path_in(ca_spki_path, "ca.pem");
    path_in(other_pub_path, "other.pub");
    path_in(krl_path, "revoked.krl");
    path_in(conf_path, "helper.conf");
    write_pem(ca_key_path, ca_sk, 1);
    write_pem(ca_spki_path, ca_sk, 0);
    write_openssh_pub(ca_pub_path, ca_pk);
    write_openssh_pub(other_pub_path, other_pk);
    snprintf(text, sizeof(text), "ca_pubkey %s\nkrl %s\n", ca_pub_path,
             krl_path);
    write_text(conf_path, text, 0644);
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
        cmocka_unit_test(test_ca_key_rules),
        cmocka_unit_test(test_public_keys_and_separation),
        cmocka_unit_test(test_config_rules),
        cmocka_unit_test(test_login_decisions),
        cmocka_unit_test(test_issued_index),
    };
    return cmocka_run_group_tests_name("ssh_login", tests, setup, teardown);
}
