/*
 * Evidence-gated issuance pieces: the wid key id, the X.509-SVID proof of
 * possession, the serve daemon's peer attestation, the issuance request
 * parser and the new configuration keywords.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "../../ssh_wid_helper/conf.h"
#include "../../ssh_wid_helper/issuer.h"
#include "../../ssh_wid_helper/keyid.h"
#include "../../ssh_wid_helper/peer.h"
#include "../../ssh_wid_helper/pop.h"

#define RID "wr1-0123456789abcdef0123456789abcdef"

static void
test_key_id(void **state)
{
    ssh_wid_key_id k;
    char           buf[SSH_KEY_ID_MAX + 1];
    size_t         i;
    static const char *const bad[] = {
        "hand-made",
        "spiffe://a.org/w receipt=" RID,
        "spiffe://a.org/w receipt=" RID " rule=r cred=jwt_svid",
        "spiffe://a.org/w receipt=" RID " rule=r cred=jwt_svid tier=none ",
        "spiffe://a.org/w receipt=" RID " rule=r cred=jwt_svid tier=none x=1",
        "spiffe://a.org/w receipt=" RID " rule=r cred=uri tier=none",
        "spiffe://a.org/w receipt=" RID " rule=r cred=jwt_svid tier=gold",
        "spiffe://a.org/w receipt=wr1-XYZ rule=r cred=jwt_svid tier=none",
        "spiffe://a.org/w receipt=" RID " rule=r/x cred=jwt_svid tier=none",
        "spiffe://a.org/w rule=r receipt=" RID " cred=jwt_svid tier=none",
        "spiffe://a.org receipt=" RID " rule=r cred=jwt_svid tier=none",
        "spiffe://A.org/w receipt=" RID " rule=r cred=jwt_svid tier=none",
        "spiffe://a.org/../w receipt=" RID " rule=r cred=jwt_svid tier=none",
        "spiffe://a.org/w  receipt=" RID " rule=r cred=jwt_svid tier=none",
    };

    (void) state;
    assert_int_equal(ssh_key_id_format(buf, sizeof(buf), "spiffe://a.org/ci/x",
                                       RID, "ssh_deploy", WID_CRED_X509_SVID,
                                       WID_TIER_ATTESTED), 0);
    assert_string_equal(buf, "spiffe://a.org/ci/x receipt=" RID
                        " rule=ssh_deploy cred=x509_svid tier=attested");
    assert_int_equal(ssh_key_id_parse(buf, &k), WID_OK);
    assert_string_equal(k.id.id, "spiffe://a.org/ci/x");
    assert_string_equal(k.id.trust_domain, "a.org");
    assert_string_equal(k.id.path, "/ci/x");
    assert_string_equal(k.receipt, RID);
    assert_string_equal(k.rule, "ssh_deploy");
    assert_int_equal(k.kind, WID_CRED_X509_SVID);
    assert_int_equal(k.tier, WID_TIER_ATTESTED);

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(ssh_key_id_parse(bad[i], &k),
                         WID_R_SSH_KEY_ID_FOREIGN);
        assert_string_equal(k.rule, "");
    }
    /* too small a buffer is refused, never truncated */
    assert_int_equal(ssh_key_id_format(buf, 20, "spiffe://a.org/ci/x", RID,
                                       "r", WID_CRED_JWT_SVID, WID_TIER_NONE),
                     -1);
    assert_int_equal(ssh_key_id_parse(SSH_RECEIPT_ID_PLACEHOLDER, &k),
                     WID_R_SSH_KEY_ID_FOREIGN);
}

static EVP_PKEY *
keygen(int type, int nid)
{
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(type, NULL);
    EVP_PKEY     *k = NULL;

    assert_non_null(c);
    assert_int_equal(EVP_PKEY_keygen_init(c), 1);
    if (type == EVP_PKEY_EC) {
        assert_int_equal(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(c, nid), 1);
    }
    assert_int_equal(EVP_PKEY_keygen(c, &k), 1);
    EVP_PKEY_CTX_free(c);
    return k;
}

/* A throwaway self-signed certificate carrying key k. */
static X509 *
cert_for(EVP_PKEY *k)
{
    X509 *x = X509_new();

    assert_non_null(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    assert_true(X509_sign(x, k, EVP_PKEY_get_base_id(k) == EVP_PKEY_ED25519
                                ? NULL : EVP_sha256()) > 0);
    return x;
}

static void
test_pop(void **state)
{
    unsigned char pk[32], other[32], sk[64];
    char         *msg, *proof, *bad;
    size_t        len;
    EVP_PKEY     *keys[2], *stranger;
    X509         *x, *xs;
    int           i;
    uint64_t      now = 1800000000;

    (void) state;
    crypto_sign_keypair(pk, sk);
    crypto_sign_keypair(other, sk);
    sodium_memzero(sk, sizeof(sk));

    assert_int_equal(ssh_pop_challenge("aud-1", 1700000000, pk, &msg, &len),
                     WID_OK);
    assert_int_equal(strncmp(msg, "wid-ssh-pop-v1\naudience aud-1\n"
                             "time 1700000000\nssh-key ssh-ed25519 AAAA", 69),
                     0);
    assert_int_equal(msg[len - 1], '\n');
    assert_int_equal(strlen(msg), len);
    free(msg);

    keys[0] = keygen(EVP_PKEY_EC, NID_X9_62_prime256v1);
    keys[1] = keygen(EVP_PKEY_ED25519, 0);
    stranger = keygen(EVP_PKEY_EC, NID_X9_62_prime256v1);
    xs = cert_for(stranger);
    for (i = 0; i < 2; i++) {
        x = cert_for(keys[i]);
        assert_int_equal(ssh_pop_sign(keys[i], "aud-1", now, pk, &proof),
                         WID_OK);
        assert_int_equal(ssh_pop_verify(x, "aud-1", pk, proof, now, 120),
                         WID_OK);
        /* within the freshness window, either side */
        assert_int_equal(ssh_pop_verify(x, "aud-1", pk, proof, now + 120, 120),
                         WID_OK);
        assert_int_equal(ssh_pop_verify(x, "aud-1", pk, proof, now - 30, 120),
                         WID_OK);
        assert_int_equal(ssh_pop_verify(x, "aud-1", pk, proof, now + 121, 120),
                         WID_R_SSH_POP_STALE);
        assert_int_equal(ssh_pop_verify(x, "aud-1", pk, proof, now - 31, 120),
                         WID_R_SSH_POP_STALE);
        assert_int_equal(ssh_pop_verify(x, "aud-1", pk, proof, UINT64_MAX,
                                        120), WID_R_SSH_POP_STALE);
        /* bound to the SSH key, the audience and the SVID key */
        assert_int_equal(ssh_pop_verify(x, "aud-1", other, proof, now, 120),
                         WID_R_SSH_POP_INVALID);
        assert_int_equal(ssh_pop_verify(x, "aud-2", pk, proof, now, 120),
                         WID_R_SSH_POP_INVALID);
        assert_int_equal(ssh_pop_verify(xs, "aud-1", pk, proof, now, 120),
                         WID_R_SSH_POP_INVALID);
        /* the time is covered by the signature */
        bad = strdup(proof);
        assert_non_null(bad);
        bad[sizeof("wid-ssh-pop-v1 1799999999") - 2] = '9';
        assert_int_equal(ssh_pop_verify(x, "aud-1", pk, bad, now, 120),
                         WID_R_SSH_POP_INVALID);
        free(bad);
        free(proof);
        X509_free(x);
        EVP_PKEY_free(keys[i]);
    }
    x = xs;
    assert_int_equal(ssh_pop_verify(x, "a", pk, NULL, now, 120),
                     WID_R_SSH_POP_MISSING);
    assert_int_equal(ssh_pop_verify(x, "a", pk, "wid-ssh-pop-v2 1 AAAA", now,
                                    120), WID_R_SSH_POP_MALFORMED);
    assert_int_equal(ssh_pop_verify(x, "a", pk, "wid-ssh-pop-v1 1800000000",
                                    now, 120), WID_R_SSH_POP_MALFORMED);
    assert_int_equal(ssh_pop_verify(x, "a", pk, "wid-ssh-pop-v1 -5 AAAA", now,
                                    120), WID_R_SSH_POP_MALFORMED);
    assert_int_equal(ssh_pop_verify(x, "a", pk,
                                    "wid-ssh-pop-v1 99999999999999999999 AAAA",
                                    now, 120), WID_R_SSH_POP_MALFORMED);
    assert_int_equal(ssh_pop_verify(x, "a", pk, "wid-ssh-pop-v1 1800000000 A=A=",
                                    now, 120), WID_R_SSH_POP_MALFORMED);
    assert_int_equal(ssh_pop_verify(x, "a", pk, "wid-ssh-pop-v1 1800000000 ",
                                    now, 120), WID_R_SSH_POP_MALFORMED);
    X509_free(x);
    EVP_PKEY_free(stranger);
}

static void
test_peer(void **state)
{
    ssh_peer      p;
    ssh_exe_cache cache;
    ssh_conf      conf;
    int           sv[2], pfd[2];
    char          self[4096], want[64];
    ssize_t       n;

    (void) state;
    memset(&cache, 0, sizeof(cache));
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(ssh_peer_attest(sv[0], 0, ssh_peer_ticks_now(),
                                     SSH_CONF_DEFAULT_EXE_MAX, &cache, &p),
                     WID_OK);
    assert_int_equal(p.pid, getpid());
    assert_int_equal(p.uid, getuid());
    /*
     * The kernel's answer, read as the helper reads it (readlinkat on the
     * /proc/PID directory): valgrind rewrites readlink("/proc/self/exe")
     * to the program it runs, but the process's executable is valgrind.
     */
    {
        int pdir = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        assert_true(pdir >= 0);
        n = readlinkat(pdir, "exe", self, sizeof(self) - 1);
        close(pdir);
    }
    assert_true(n > 0);
    self[n] = '\0';
    assert_string_equal(p.exe, self);
    assert_int_equal(strlen(p.exe_sha256_hex), 64);
    snprintf(want, sizeof(want), "uid=%lu gid=%lu pid=%ld start=",
             (unsigned long) getuid(), (unsigned long) getgid(),
             (long) getpid());
    assert_int_equal(strncmp(p.desc, want, strlen(want)), 0);
    assert_non_null(strstr(p.desc, p.exe_sha256_hex));
    /* second time from the cache: same hash */
    assert_int_equal(ssh_peer_attest(sv[0], 0, 0, SSH_CONF_DEFAULT_EXE_MAX,
                                     &cache, &p), WID_OK);
    assert_non_null(strstr(p.desc, p.exe_sha256_hex));

    /* an executable above the size limit cannot be vouched for */
    assert_int_equal(ssh_peer_attest(sv[0], 0, 0, 16, NULL, &p),
                     WID_R_SSH_PEER_UNVERIFIABLE);
    assert_int_equal(p.detail, WID_R_ATTEST_UNIX_EXE_TOO_LARGE);
    assert_non_null(strstr(p.desc, " unverified=attest.unix_exe_too_large"));
    assert_int_equal(strncmp(p.desc, want, strlen("uid=")), 0);
    /* a process that started after the connection was accepted */
    assert_int_equal(ssh_peer_attest(sv[0], 0, 1, SSH_CONF_DEFAULT_EXE_MAX,
                                     NULL, &p),
                     WID_R_SSH_PEER_UNVERIFIABLE);
    assert_int_equal(p.detail, WID_R_ATTEST_UNIX_PROCESS_CHANGED);
    /* not a socket: no credentials */
    assert_int_equal(pipe(pfd), 0);
    assert_int_equal(ssh_peer_attest(pfd[0], 0, 0, SSH_CONF_DEFAULT_EXE_MAX,
                                     NULL, &p), WID_R_SSH_PEER_UNVERIFIABLE);
    assert_string_equal(p.desc, "peer=unknown");

    /*
     * The process whose bytes were read must be the one that connected
     * (fork after connect(), the child writes, the parent execs an
     * allowed program): another pid, or bytes from several writers, and
     * the peer cannot be vouched for.
     */
    assert_int_equal(ssh_peer_attest(sv[0], getpid(), 0,
                                     SSH_CONF_DEFAULT_EXE_MAX, &cache, &p),
                     WID_OK);
    assert_int_equal(ssh_peer_attest(sv[0], getpid() + 1, 0,
                                     SSH_CONF_DEFAULT_EXE_MAX, &cache, &p),
                     WID_R_SSH_PEER_UNVERIFIABLE);
    assert_int_equal(p.detail, WID_R_ATTEST_UNIX_PROCESS_CHANGED);
    assert_int_equal(p.pid, getpid());
    snprintf(want, sizeof(want), " sender_pid=%ld", (long) getpid() + 1);
    assert_non_null(strstr(p.desc, want));
    assert_int_equal(ssh_peer_attest(sv[0], WID_UNIX_SENDER_MIXED, 0,
                                     SSH_CONF_DEFAULT_EXE_MAX, &cache, &p),
                     WID_R_SSH_PEER_UNVERIFIABLE);
    assert_non_null(strstr(p.desc, " sender_pid=mixed"));

    /* allow-lists */
    assert_int_equal(ssh_peer_attest(sv[0], 0, 0, SSH_CONF_DEFAULT_EXE_MAX,
                                     &cache, &p), WID_OK);
    memset(&conf, 0, sizeof(conf));
    assert_int_equal(ssh_peer_allowed(&conf, &p), WID_OK);
    conf.allow_uids[conf.nallow_uids++] = (uint64_t) getuid() + 1;
    assert_int_equal(ssh_peer_allowed(&conf, &p), WID_R_SSH_PEER_NOT_ALLOWED);
    conf.allow_uids[conf.nallow_uids++] = getuid();
    assert_int_equal(ssh_peer_allowed(&conf, &p), WID_OK);
    memset(conf.allow_exe[0], 0xab, 32);
    conf.nallow_exe = 1;
    assert_int_equal(ssh_peer_allowed(&conf, &p), WID_R_SSH_PEER_NOT_ALLOWED);
    memcpy(conf.allow_exe[1], p.exe_sha256, 32);
    conf.nallow_exe = 2;
    assert_int_equal(ssh_peer_allowed(&conf, &p), WID_OK);

    close(pfd[0]);
    close(pfd[1]);
    close(sv[0]);
    close(sv[1]);
}

/* What the daemon reads with: the writer's pid comes with its bytes. */
static void
test_recv_cred(void **state)
{
    int    sv[2];
    char   buf[16];
    pid_t  child, who = 0, all = 0;
    int    status;

    (void) state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(wid_unix_pass_cred(sv[0]), 0);

    assert_int_equal(write(sv[1], "ab", 2), 2);
    assert_int_equal(wid_unix_recv_cred(sv[0], buf, sizeof(buf), &who), 2);
    assert_int_equal(who, getpid());
    all = wid_unix_sender_merge(all, who);
    assert_int_equal(all, getpid());

    /* A child writes on the same socket: its pid, not the creator's. */
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        _exit(write(sv[1], "cd", 2) == 2 ? 0 : 1);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(write(sv[1], "ef", 2), 2);
    /* One read never joins the two writers' bytes. */
    assert_int_equal(wid_unix_recv_cred(sv[0], buf, sizeof(buf), &who), 2);
    assert_memory_equal(buf, "cd", 2);
    assert_int_equal(who, child);
    all = wid_unix_sender_merge(all, who);
    assert_int_equal(all, WID_UNIX_SENDER_MIXED);
    assert_int_equal(wid_unix_recv_cred(sv[0], buf, sizeof(buf), &who), 2);
    assert_memory_equal(buf, "ef", 2);
    assert_int_equal(who, getpid());
    /* once mixed, always mixed; bytes without credentials too */
    assert_int_equal(wid_unix_sender_merge(all, who), WID_UNIX_SENDER_MIXED);
    assert_int_equal(wid_unix_sender_merge(0, 0), WID_UNIX_SENDER_MIXED);
    assert_int_equal(wid_unix_sender_merge(getpid(), getpid()), getpid());

    close(sv[0]);
    close(sv[1]);
}

static wid_reason_t
parse(const char *json)
{
    ssh_issue_req r;
    wid_reason_t  rc = ssh_issue_req_parse(json, strlen(json), &r);

    ssh_issue_req_free(&r);
    return rc;
}

static void
test_request(void **state)
{
    ssh_issue_req r;
    const char   *ok = "{\"version\":1,\"pubkey\":\"ssh-ed25519 "
        "AAAAC3NzaC1lZDI1NTE5AAAAIJ3d0Y3Rz9zYQ9h6T1uZy9k7yO2Vq0w0q6x3m0kD8b1W"
        " c\",\"rule\":\"r\",\"principals\":[\"a\",\"b\"],\"ttl\":60,"
        "\"extensions\":[\"permit-pty\"],\"jwt\":\"x.y.z\"}";

    (void) state;
    assert_int_equal(ssh_issue_req_parse(ok, strlen(ok), &r), WID_OK);
    assert_true(r.have_pk);
    assert_string_equal(r.rule, "r");
    assert_int_equal(r.nprincipals, 2);
    assert_string_equal(r.principals[1], "b");
    assert_int_equal(r.ttl, 60);
    assert_int_equal(r.nextensions, 1);
    assert_string_equal(r.jwt, "x.y.z");
    ssh_issue_req_free(&r);

    assert_int_equal(parse("[]"), WID_R_SSH_REQUEST_MALFORMED);
    assert_int_equal(parse("{"), WID_R_SSH_REQUEST_MALFORMED);
    assert_int_equal(parse("{\"version\":2}"), WID_R_SSH_REQUEST_MALFORMED);
    assert_int_equal(parse("{\"admin\":true}"), WID_R_SSH_REQUEST_MALFORMED);
    assert_int_equal(parse("{\"rule\":\"a\",\"rule\":\"b\"}"),
                     WID_R_SSH_REQUEST_MALFORMED);
    assert_int_equal(parse("{\"rule\":\"a\\u0000b\"}"),
                     WID_R_SSH_REQUEST_MALFORMED);
    assert_int_equal(parse("{\"principals\":\"a\"}"),
                     WID_R_SSH_REQUEST_MALFORMED);
    assert_int_equal(parse("{\"principals\":[1]}"),
                     WID_R_SSH_REQUEST_MALFORMED);
    assert_int_equal(parse("{\"principals\":[\"a\\u0000\"]}"),
                     WID_R_SSH_REQUEST_MALFORMED);
    assert_int_equal(parse("{\"ttl\":0}"), WID_R_SSH_TTL_INVALID);
    assert_int_equal(parse("{\"ttl\":-1}"), WID_R_SSH_TTL_INVALID);
    assert_int_equal(parse("{\"ttl\":1.5}"), WID_R_SSH_TTL_INVALID);
    assert_int_equal(parse("{\"ttl\":\"60\"}"), WID_R_SSH_TTL_INVALID);
    assert_int_equal(parse("{\"pubkey\":\"ssh-ed25519 !!\"}"),
                     WID_R_SSH_PUBKEY_MALFORMED);
    assert_int_equal(parse("{\"proof\":5}"), WID_R_SSH_POP_MALFORMED);
}

static void
test_conf_keywords(void **state)
{
    char     dir[] = "/tmp/wid-test-sshconf-XXXXXX", p[256], text[2048];
    char     err[512];
    ssh_conf c;
    FILE    *f;
    size_t   i;
    static const char *const bad[] = {
        "journal_fsync sometimes\n",
        "socket_mode 0666\n",
        "socket_mode 0400\n",
        "socket_mode 660\n",
        "backdate 61\n",
        "pop_max_age 1e3\n",
        "allow_uid -1\n",
        "allow_exe_sha256 ABCDEF\n",
        "rule ../x\n",
        "policy /p.yaml\n",                     /* policy without rule */
        "journal /j\n",                         /* journal without key */
    };

    (void) state;
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof(p), "%s/c.conf", dir);

    f = fopen(p, "w");
    assert_non_null(f);
    fputs("ca_key /k\npolicy /p.yaml\nrule a\nrule b\naudience ssh.example\n"
          "bundle a.org=/b.pem\nbundle /dir\njournal /j\nreceipt_key /r\n"
          "index /i\njournal_fsync interval\nbackdate 0\npop_max_age 30\n"
          "allow_uid 0\nallow_uid 1000\nsocket_mode 0600\n"
          "allow_exe_sha256 "
          "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
          f);
    fclose(f);
    chmod(p, 0600);
    assert_int_equal(ssh_conf_load_issuer(p, &c, err, sizeof(err)), WID_OK);
    assert_int_equal(c.nrules, 2);
    assert_true(ssh_conf_has_rule(&c, "b"));
    assert_false(ssh_conf_has_rule(&c, "c"));
    assert_int_equal(c.nbundles, 2);
    assert_int_equal(c.journal_fsync, WID_FSYNC_INTERVAL);
    assert_int_equal(c.backdate, 0);
    assert_int_equal(c.pop_max_age, 30);
    assert_int_equal(c.nallow_uids, 2);
    assert_int_equal(c.allow_uids[1], 1000);
    assert_int_equal(c.socket_mode, 0600);
    assert_int_equal(c.nallow_exe, 1);
    assert_int_equal(c.allow_exe[0][31], 0xff);
    ssh_conf_free(&c);

    /* issuance needs its keys: each missing one is named */
    f = fopen(p, "w");
    fputs("ca_key /k\npolicy /p.yaml\nrule a\n", f);
    fclose(f);
    assert_int_equal(ssh_conf_load_issuer(p, &c, err, sizeof(err)),
                     WID_R_INTERNAL_CONFIG);
    assert_non_null(strstr(err, "'audience' is required"));

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(text, sizeof(text), "ca_key /k\naudience a\nbundle /b\n"
                 "index /i\n%s", bad[i]);
        f = fopen(p, "w");
        fputs(text, f);
        fclose(f);
        assert_int_equal(ssh_conf_load_issuer(p, &c, err, sizeof(err)),
                         WID_R_INTERNAL_CONFIG);
        assert_true(err[0] != '\0');
    }
    unlink(p);
    rmdir(dir);
}

/* One rule for the audience of the configuration and of --audience. */
static void
test_audience(void **state)
{
    char  dir[] = "/tmp/wid-conf-aud-XXXXXX", p[64], err[512], big[1100];
    FILE *f;
    ssh_conf c;

    (void) state;
    assert_int_equal(ssh_pop_audience_ok("ssh.example.org"), 0);
    assert_int_equal(ssh_pop_audience_ok("spiffe://a.org/ssh helper"), 0);
    assert_int_equal(ssh_pop_audience_ok(""), -1);
    assert_int_equal(ssh_pop_audience_ok("a\nb"), -1);
    assert_int_equal(ssh_pop_audience_ok("a\rb"), -1);
    assert_int_equal(ssh_pop_audience_ok("a\tb"), -1);
    assert_int_equal(ssh_pop_audience_ok("a\x7f"), -1);
    assert_int_equal(ssh_pop_audience_ok(" a"), -1);
    assert_int_equal(ssh_pop_audience_ok("a "), -1);
    memset(big, 'a', sizeof(big));
    big[1024] = '\0';
    assert_int_equal(ssh_pop_audience_ok(big), 0);
    big[1024] = 'a';
    big[1025] = '\0';
    assert_int_equal(ssh_pop_audience_ok(big), -1);

    /* The configuration applies it too (a tab inside the value). */
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof(p), "%s/c.conf", dir);
    f = fopen(p, "w");
    assert_non_null(f);
    fputs("ca_key /k\npolicy /p.yaml\nrule a\naudience a\tb\n"
          "bundle /b\njournal /j\nreceipt_key /r\nindex /i\n", f);
    fclose(f);
    chmod(p, 0600);
    assert_int_equal(ssh_conf_load_issuer(p, &c, err, sizeof(err)),
                     WID_R_INTERNAL_CONFIG);
    assert_non_null(strstr(err, "'audience': an audience is 1-1024 bytes"));
    unlink(p);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_id),
        cmocka_unit_test(test_pop),
        cmocka_unit_test(test_peer),
        cmocka_unit_test(test_recv_cred),
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_conf_keywords),
        cmocka_unit_test(test_audience),
    };

    if (sodium_init() < 0) {
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
