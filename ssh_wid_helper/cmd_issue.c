/*
 * ssh-wid-helper issue, in three modes:
 *
 *   --config FILE   evidence-gated issuance in this process: the request
 *                   built from the flags goes through the same issuer as
 *                   the daemon's (issuer.c), receipt included;
 *   --socket PATH   the same request sent to a running `serve` daemon;
 *   neither         operator mode: the CA holder signs explicitly given
 *                   principals, lifetime and options (like ssh-keygen -s);
 *                   every value goes through the same certificate checks.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <jansson.h>

#include "attest_result.h"
#include "bytes.h"
#include "cakey.h"
#include "client.h"
#include "commands.h"
#include "conf.h"
#include "issued.h"
#include "issuer.h"
#include "pop.h"
#include "sshcert.h"
#include "util.h"

#define ISSUE_USAGE \
    "issue --ca-key FILE --pubkey FILE --principal NAME [--principal ...] " \
    "--ttl SECONDS --key-id ID [--backdate SECONDS] [--force-command CMD] " \
    "[--source-address CIDR[,CIDR...]] [--extension NAME ...] " \
    "[--receipt-pubkey FILE] [--index FILE] [--out FILE]"

#define ISSUE_DEFAULT_BACKDATE 30


static wid_reason_t
issue_write_out(const char *path, const char *line)
{
    size_t  len = strlen(line), off = 0;
    ssize_t w;
    int     fd;

    if (path == NULL) {
        if (fputs(line, stdout) == EOF || fflush(stdout) != 0) {
            return WID_R_INTERNAL_IO;
        }
        return WID_OK;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
              0644);
    if (fd < 0) {
        return WID_R_INTERNAL_IO;
    }
    while (off < len) {
        w = write(fd, line + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            close(fd);
            return WID_R_INTERNAL_IO;
        }
        off += (size_t) w;
    }
    return close(fd) == 0 ? WID_OK : WID_R_INTERNAL_IO;
}


static int
issue_operator(int argc, char **argv)
{
    const char     *ca_path = NULL, *pub_path = NULL, *ttl_s = NULL;
    const char     *key_id = NULL, *backdate_s = NULL, *force = NULL;
    const char     *source = NULL, *receipt = NULL, *index = NULL;
    const char     *out = NULL, *v;
    char          **principals = NULL, *line = NULL;
    size_t          nprincipals = 0;
    unsigned        ext = 0, bit;
    uint64_t        ttl, backdate = ISSUE_DEFAULT_BACKDATE;
    unsigned char  *pubfile = NULL;
    size_t          publen;
    wid_seckey      ca;
    ssh_cert        cert;
    ssh_wbuf        blob;
    wid_reason_t    rc;
    int             i, r, ret = 2;

    memset(&ca, 0, sizeof(ca));
    memset(&cert, 0, sizeof(cert));
    ssh_wbuf_init(&blob, 0);

    /* Each principal slot is argv storage; the array holds pointers. */
    principals = calloc((size_t) argc, sizeof(*principals));
    if (principals == NULL) {
        return ssh_wid_fail("issue", WID_R_INTERNAL_NOMEM, NULL);
    }

    for (i = 1; i < argc; i++) {
        if ((r = ssh_wid_opt(argc, argv, &i, "--principal", &v)) > 0) {
            if ((rc = ssh_check_principal(v)) != WID_OK) {
                ret = ssh_wid_fail("issue", rc, NULL);
                goto done;
            }
            principals[nprincipals++] = (char *) v;
            continue;
        }
        if (r == 0 && (r = ssh_wid_opt(argc, argv, &i, "--extension", &v)) > 0) {
            if ((bit = ssh_extension_bit(v)) == 0) {
                ret = ssh_wid_fail("issue", WID_R_SSH_EXTENSION_UNKNOWN, v);
                goto done;
            }
            ext |= bit;
            continue;
        }
        if (r == 0) {
            static const char *const names[] = {
                "--ca-key", "--pubkey", "--ttl", "--key-id", "--backdate",
                "--force-command", "--source-address", "--receipt-pubkey",
                "--index", "--out"
            };
            const char **slots[] = {
                &ca_path, &pub_path, &ttl_s, &key_id, &backdate_s, &force,
                &source, &receipt, &index, &out
            };
            size_t k;

            for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
                if ((r = ssh_wid_opt(argc, argv, &i, names[k], slots[k])) != 0) {
                    break;
                }
            }
        }
        if (r < 0) {
            ret = ssh_wid_usage_error("issue", "option needs a value",
                                      ISSUE_USAGE);
            goto done;
        }
        if (r == 0) {
            ret = ssh_wid_usage_error("issue", "unknown argument",
                                      ISSUE_USAGE);
            goto done;
        }
    }
    if (ca_path == NULL || pub_path == NULL || ttl_s == NULL
        || key_id == NULL)
    {
        ret = ssh_wid_usage_error("issue", "--ca-key, --pubkey, --principal, "
                                  "--ttl and --key-id are required",
                                  ISSUE_USAGE);
        goto done;
    }

    /* Every check on the request happens before the CA key is opened. */
    if (nprincipals == 0) {
        ret = ssh_wid_fail("issue", WID_R_SSH_PRINCIPALS_EMPTY, NULL);
        goto done;
    }
    if (nprincipals > SSH_CERT_MAX_PRINCIPALS) {
        ret = ssh_wid_fail("issue", WID_R_SSH_TOO_MANY_PRINCIPALS, NULL);
        goto done;
    }
    if (ssh_wid_parse_u64(ttl_s, &ttl) != 0) {
        ret = ssh_wid_fail("issue", WID_R_SSH_TTL_INVALID, ttl_s);
        goto done;
    }
    if (backdate_s != NULL
        && (ssh_wid_parse_u64(backdate_s, &backdate) != 0
            || backdate > SSH_BACKDATE_MAX))
    {
        ret = ssh_wid_fail("issue", WID_R_SSH_VALIDITY_INVALID,
                           "--backdate is at most 60 seconds");
        goto done;
    }
    if ((rc = ssh_check_key_id(key_id)) != WID_OK
        || (force != NULL && (rc = ssh_check_force_command(force)) != WID_OK)
        || (source != NULL
            && (rc = ssh_check_source_address(source)) != WID_OK))
    {
        ret = ssh_wid_fail("issue", rc, NULL);
        goto done;
    }

    cert.type = SSH_CERT_TYPE_USER;
    cert.key_id = (char *) key_id;
    cert.principals = principals;
    cert.nprincipals = nprincipals;
    cert.force_command = (char *) force;
    cert.source_address = (char *) source;
    cert.extensions = ext;
    rc = ssh_cert_validity(ssh_wid_now(), backdate, ttl, SSH_TTL_MAX, 0,
                           &cert.valid_after, &cert.valid_before);
    if (rc != WID_OK) {
        ret = ssh_wid_fail("issue", rc, NULL);
        goto done;
    }

    rc = wid_read_file(pub_path, 65536, &pubfile, &publen);
    if (rc != WID_OK) {
        ret = ssh_wid_fail("issue", rc, pub_path);
        goto done;
    }
    if (memchr(pubfile, '\0', publen) != NULL) {
        rc = WID_R_SSH_PUBKEY_MALFORMED;
    } else {
        rc = ssh_pubkey_parse_line((char *) pubfile, cert.pk);
    }
    if (rc != WID_OK) {
        ret = ssh_wid_fail("issue", rc, pub_path);
        goto done;
    }

    if ((rc = wid_seckey_load(ca_path, &ca)) != WID_OK) {
        ret = ssh_wid_fail("issue", rc, ca_path);
        goto done;
    }
    if ((rc = ssh_ca_check_separate(ca.pub.pk, receipt)) != WID_OK) {
        ret = ssh_wid_fail("issue", rc, receipt);
        goto done;
    }

    rc = ssh_cert_sign(&cert, ca.sk, &blob);
    wid_seckey_wipe(&ca);
    if (rc != WID_OK) {
        ret = ssh_wid_fail("issue", rc, NULL);
        goto done;
    }

    /* Recorded before it is handed out: revocation can always find it. */
    if (index != NULL && (rc = ssh_issued_append(index, &cert)) != WID_OK) {
        ret = ssh_wid_fail("issue", rc, index);
        goto done;
    }
    rc = ssh_format_line(SSH_ED25519_CERT_NAME, blob.data, blob.len,
                         key_id, &line);
    if (rc == WID_OK) {
        rc = issue_write_out(out, line);
    }
    if (rc != WID_OK) {
        ret = ssh_wid_fail("issue", rc, out);
        goto done;
    }
    fprintf(stderr, "ssh-wid-helper issue: serial %llu valid %llu..%llu\n",
            (unsigned long long) cert.serial,
            (unsigned long long) cert.valid_after,
            (unsigned long long) cert.valid_before);
    ret = 0;

done:
    wid_seckey_wipe(&ca);
    ssh_wbuf_free(&blob);
    free(line);
    free(pubfile);
    free(principals);
    return ret;
}


/* ---- evidence-gated: --config (local) and --socket (daemon) ---- */

#define GATED_USAGE \
    "issue (--config FILE | --socket PATH) --pubkey FILE " \
    "(--jwt TOKEN|@FILE | --x509 CHAIN.pem (--proof FILE | --svid-key KEY " \
    "[--audience AUD])) [--rule NAME] [--principal NAME ...] " \
    "[--ttl SECONDS] [--extension NAME ...] " \
    "[--attestation-result JWS|@FILE] [--out FILE] [--json]"


/* A whole small file as a string (NUL-free), trailing newlines cut. */
static wid_reason_t
issue_read_text(const char *path, size_t max, char **out)
{
    unsigned char *b;
    size_t         n;
    wid_reason_t   rc;

    if ((rc = wid_read_file(path, max, &b, &n)) != WID_OK) {
        return rc;
    }
    if (memchr(b, '\0', n) != NULL) {
        free(b);
        return WID_R_SSH_REQUEST_MALFORMED;
    }
    while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r')) {
        n--;
    }
    b[n] = '\0';
    *out = (char *) b;
    return WID_OK;
}


static wid_reason_t
issue_proof_from_key(const char *key_path, const char *audience,
                     const char *publine, char **proof)
{
    unsigned char pk[SSH_ED25519_PK_LEN];
    EVP_PKEY     *k;
    wid_reason_t  rc;

    if ((rc = ssh_pubkey_parse_line(publine, pk)) != WID_OK) {
        return rc;
    }
    if ((rc = ssh_pop_key_load(key_path, &k)) != WID_OK) {
        return rc;
    }
    rc = ssh_pop_sign(k, audience, ssh_wid_now(), pk, proof);
    EVP_PKEY_free(k);
    return rc;
}


/* Send one framed request to the daemon and read the framed answer. */
static int
issue_gated(int argc, char **argv)
{
    const char   *config = NULL, *sock = NULL, *pub = NULL, *jwt = NULL;
    const char   *x509 = NULL, *proof = NULL, *svid_key = NULL;
    const char   *audience = NULL, *rule = NULL, *ttl_s = NULL;
    const char   *out = NULL, *att = NULL, *v;
    char         *text = NULL, *reqs = NULL, *resp = NULL, *proof_line = NULL;
    char          err[512], peer[128];
    json_t       *req, *pr, *ex, *ro = NULL;
    ssh_conf      conf;
    ssh_issuer    is;
    ssh_issue_req ir;
    ssh_issue_result res;
    int           i, r, json_out = 0, ret = 2, have_conf = 0, have_is = 0;
    uint64_t      ttl;
    wid_reason_t  rc, prc;

    req = json_object();
    pr = json_array();
    ex = json_array();
    if (req == NULL || pr == NULL || ex == NULL) {
        json_decref(req);
        json_decref(pr);
        json_decref(ex);
        return ssh_wid_fail("issue", WID_R_INTERNAL_NOMEM, NULL);
    }
    for (i = 1; i < argc; i++) {
        static const char *const names[] = {
            "--config", "--socket", "--pubkey", "--jwt", "--x509", "--proof",
            "--svid-key", "--audience", "--rule", "--ttl", "--out",
            "--attestation-result"
        };
        const char **slots[] = {
            &config, &sock, &pub, &jwt, &x509, &proof, &svid_key, &audience,
            &rule, &ttl_s, &out, &att
        };
        size_t k;

        if (strcmp(argv[i], "--json") == 0) {
            json_out = 1;
            continue;
        }
        if ((r = ssh_wid_opt(argc, argv, &i, "--principal", &v)) > 0) {
            json_array_append_new(pr, json_string_nocheck(v));
            continue;
        }
        if (r == 0 && (r = ssh_wid_opt(argc, argv, &i, "--extension", &v)) > 0) {
            json_array_append_new(ex, json_string_nocheck(v));
            continue;
        }
        for (k = 0; r == 0 && k < sizeof(names) / sizeof(names[0]); k++) {
            r = ssh_wid_opt(argc, argv, &i, names[k], slots[k]);
        }
        if (r <= 0) {
            ret = ssh_wid_usage_error("issue", r < 0 ? "option needs a value"
                                      : "unknown argument", GATED_USAGE);
            goto done;
        }
    }
    if ((config == NULL) == (sock == NULL) || pub == NULL) {
        ret = ssh_wid_usage_error("issue", "one of --config or --socket, and "
                                  "--pubkey, are required", GATED_USAGE);
        goto done;
    }
    if (audience != NULL && ssh_pop_audience_ok(audience) != 0) {
        ret = ssh_wid_fail("issue", WID_R_INTERNAL_CONFIG,
                           "--audience: " SSH_POP_AUDIENCE_RULE);
        goto done;
    }
    /* One proof: a second source of it would be silently ignored. */
    if (proof != NULL && svid_key != NULL) {
        ret = ssh_wid_usage_error("issue", "--proof and --svid-key exclude "
                                  "each other", GATED_USAGE);
        goto done;
    }

    if (config != NULL) {
        rc = ssh_conf_load_issuer(config, &conf, err, sizeof(err));
        if (rc != WID_OK) {
            ret = ssh_wid_fail("issue", rc, err);
            goto done;
        }
        have_conf = 1;
        if (audience == NULL) {
            audience = conf.audience;
        }
    }

    /* The request, as the daemon would receive it. */
    if ((rc = issue_read_text(pub, 65536, &text)) != WID_OK) {
        ret = ssh_wid_fail("issue", rc, pub);
        goto done;
    }
    json_object_set_new(req, "version", json_integer(1));
    json_object_set_new(req, "pubkey", json_string_nocheck(text));
    if (jwt != NULL) {
        ssh_wid_free_secret(text);
        text = NULL;
        if (jwt[0] == '@'
            && (rc = issue_read_text(jwt + 1, 65536, &text)) != WID_OK)
        {
            ret = ssh_wid_fail("issue", rc, jwt + 1);
            goto done;
        }
        json_object_set_new(req, "jwt", json_string_nocheck(text ? text
                                                                 : jwt));
    }
    if (x509 != NULL) {
        ssh_wid_free_secret(text);
        text = NULL;
        if ((rc = issue_read_text(x509, 65536, &text)) != WID_OK) {
            ret = ssh_wid_fail("issue", rc, x509);
            goto done;
        }
        json_object_set_new(req, "x509", json_string_nocheck(text));
    }
    if (proof != NULL) {
        if ((rc = issue_read_text(proof, SSH_POP_MAX, &proof_line)) != WID_OK) {
            ret = ssh_wid_fail("issue", rc, proof);
            goto done;
        }
    } else if (svid_key != NULL) {
        if (audience == NULL) {
            ret = ssh_wid_usage_error("issue", "--svid-key needs --audience "
                                      "with --socket", GATED_USAGE);
            goto done;
        }
        rc = issue_proof_from_key(svid_key, audience,
                                  json_string_value(json_object_get(req,
                                                                    "pubkey")),
                                  &proof_line);
        if (rc != WID_OK) {
            ret = ssh_wid_fail("issue", rc, svid_key);
            goto done;
        }
    }
    if (proof_line != NULL) {
        json_object_set_new(req, "proof", json_string_nocheck(proof_line));
    }
    if (att != NULL) {
        ssh_wid_free_secret(text);
        text = NULL;
        if (att[0] == '@'
            && (rc = issue_read_text(att + 1, WID_ATTEST_RESULT_MAX, &text))
               != WID_OK)
        {
            ret = ssh_wid_fail("issue", rc, att + 1);
            goto done;
        }
        json_object_set_new(req, "attestation",
                            json_string_nocheck(text ? text : att));
    }
    if (rule != NULL) {
        json_object_set_new(req, "rule", json_string_nocheck(rule));
    }
    if (json_array_size(pr) > 0) {
        json_object_set(req, "principals", pr);
    }
    if (json_array_size(ex) > 0) {
        json_object_set(req, "extensions", ex);
    }
    if (ttl_s != NULL) {
        /* Not a number the daemon can take: let the issuer refuse it
         * (and record the refusal) as ssh.ttl_invalid. */
        json_object_set_new(req, "ttl",
                            ssh_wid_parse_u64(ttl_s, &ttl) == 0
                            && ttl <= (uint64_t) INT64_MAX
                            ? json_integer((json_int_t) ttl)
                            : json_integer(-1));
    }
    if ((reqs = json_dumps(req, JSON_COMPACT)) == NULL) {
        ret = ssh_wid_fail("issue", WID_R_INTERNAL_NOMEM, NULL);
        goto done;
    }

    if (sock != NULL) {
        if ((rc = ssh_socket_call(sock, reqs, 0, &resp)) != WID_OK) {
            ret = ssh_wid_fail("issue", rc, sock);
            goto done;
        }
        ro = json_loads(resp, 0, NULL);
        if (!json_is_object(ro)) {
            ret = ssh_wid_fail("issue", WID_R_SSH_REQUEST_MALFORMED,
                               "unreadable answer from the daemon");
            goto done;
        }
    } else {
        rc = ssh_issuer_open(&is, &conf, "issue", err, sizeof(err));
        if (rc != WID_OK) {
            fprintf(stderr, "ssh-wid-helper issue: %s (%s): %s\n",
                    wid_reason_code(rc), wid_reason_text(rc), err);
            goto done;
        }
        have_is = 1;
        snprintf(peer, sizeof(peer), "cli uid=%lu pid=%ld",
                 (unsigned long) getuid(), (long) getpid());
        prc = ssh_issue_req_parse(reqs, strlen(reqs), &ir);
        (void) ssh_issuer_handle(&is, prc == WID_OK ? &ir : NULL, prc, peer,
                                 &res);
        ssh_issue_req_free(&ir);
        ro = ssh_issue_result_json(&res);
        ssh_issue_result_free(&res);
        rc = ssh_issuer_close(&is);
        have_is = 0;
        if (rc != WID_OK) {
            /* The receipt may not be durable: do not hand anything out. */
            ret = ssh_wid_fail("issue", rc, "closing the journal");
            goto done;
        }
        if (ro == NULL) {
            ret = ssh_wid_fail("issue", WID_R_INTERNAL_NOMEM, NULL);
            goto done;
        }
    }

    v = json_string_value(json_object_get(ro, "verdict"));
    if (json_out) {
        free(resp);
        resp = json_dumps(ro, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (resp != NULL) {
            printf("%s\n", resp);
        }
    }
    if (v != NULL && strcmp(v, "allow") == 0) {
        if (!json_out || out != NULL) {
            rc = issue_write_out(out, json_string_value(
                                     json_object_get(ro, "certificate")));
            if (rc != WID_OK) {
                ret = ssh_wid_fail("issue", rc, out);
                goto done;
            }
        }
        fprintf(stderr, "ssh-wid-helper issue: allow serial %s valid %lld..%lld "
                "receipt %s\n",
                json_string_value(json_object_get(ro, "serial")),
                json_integer_value(json_object_get(ro, "valid_after")),
                json_integer_value(json_object_get(ro, "valid_before")),
                json_string_value(json_object_get(ro, "receipt")));
        ret = 0;
    } else {
        v = json_string_value(json_object_get(ro, "reason"));
        fprintf(stderr, "ssh-wid-helper issue: deny %s receipt %s\n",
                v ? v : "?",
                json_string_value(json_object_get(ro, "receipt"))
                ? json_string_value(json_object_get(ro, "receipt")) : "none");
        ret = v != NULL && (strncmp(v, "journal.", 8) == 0
                            || strncmp(v, "internal.", 9) == 0) ? 2 : 1;
    }

done:
    if (have_is) {
        (void) ssh_issuer_close(&is);
    }
    if (have_conf) {
        ssh_conf_free(&conf);
    }
    json_decref(ro);
    json_decref(req);
    json_decref(pr);
    json_decref(ex);
    ssh_wid_free_secret(text);
    ssh_wid_free_secret(reqs);
    free(resp);
    free(proof_line);
    return ret;
}


int
ssh_wid_cmd_issue(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0
            || strcmp(argv[i], "--socket") == 0)
        {
            return issue_gated(argc, argv);
        }
    }
    return issue_operator(argc, argv);
}
