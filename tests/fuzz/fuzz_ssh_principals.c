/*
 * Fuzz target: `ssh-wid-helper principals` as sshd runs it, in process
 * and hermetic.  The decision (ssh_login_decide) runs against a fixed
 * configuration: the fixed test CA, a KRL and a policy written once into
 * a private temporary directory at start (removed at exit); nothing is
 * recorded (syslog, journal) and nothing outside that directory is read.
 *
 * Input: a flags byte, a time byte, then NUL-separated fields as sshd
 * passes them: %t (type), %u (user), %i (key id), %s (serial), and last
 * the certificate: %k base64 text, or (flag RESIGN) a certificate body
 * that is re-signed here by the fixed CA and base64-encoded, so that
 * mutations reach the decision behind the signature.
 *
 * Beyond "no crash", an allow must be one sshd could safely act on: the
 * printed principal is the login user and one of the certificate's
 * principals, the certificate is from the configured CA, valid now, not
 * revoked by serial or key id, sshd's %i/%s (when given) match it, the
 * options are empty or a from="..." list, and with the policy the key id
 * names a rule this helper serves that grants the user.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyid.h"
#include "krl.h"
#include "login.h"
#include "ssh_fixture.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define F_RESIGN    0x01    /* field 5 is a body to re-sign */
#define F_KEY_ID    0x02    /* pass --key-id */
#define F_SERIAL    0x04    /* pass --serial */
#define F_NO_POLICY 0x08    /* certificate checks only */

#define REVOKED_SERIAL  UINT64_C(666)
#define REVOKED_KEY_ID  "revoked"

/* The example policy of docs/ssh.md, trimmed: two rules with ssh blocks. */
static const char policy_yaml[] =
    "version: 1\n"
    "rules:\n"
    "  ssh_deploy:\n"
    "    allow: [ssh_issue, ssh_login]\n"
    "    require_workload_identity:\n"
    "      trust_domain: example.org\n"
    "      path_prefixes: [/ci/deployer]\n"
    "      credential_kinds: [jwt_svid, x509_svid]\n"
    "    require_runtime_assurance_tier: attested\n"
    "    ssh:\n"
    "      principals: [deploy]\n"
    "      max_ttl_seconds: 600\n"
    "      source_address: [10.20.0.0/16, \"fd00:20::/32\"]\n"
    "      force_command: /usr/local/bin/deploy --from-ci\n"
    "      extensions: []\n"
    "  ssh_operators:\n"
    "    allow: [ssh_issue, ssh_login]\n"
    "    require_workload_identity:\n"
    "      trust_domain: example.org\n"
    "      path_prefixes: [/humans/operators]\n"
    "      credential_kinds: [x509_svid]\n"
    "    ssh:\n"
    "      principals: [ops, ops-oncall]\n"
    "      max_ttl_seconds: 3600\n"
    "      extensions: [permit-pty, permit-agent-forwarding,"
    " permit-port-forwarding]\n"
    "  http_only:\n"
    "    allow: [GET]\n"
    "    require_workload_identity:\n"
    "      trust_domain: example.org\n"
    "extensions:\n"
    "  runtime_assurance:\n"
    "    tiers:\n"
    "      attested:\n"
    "        minimum_attestation_tier: attested\n"
    "        max_scope:\n"
    "          ttl_seconds: 3600\n";

static char     dir[] = "/tmp/wid-fuzz-principals-XXXXXX";
static char     krl_path[sizeof(dir) + 16], policy_path[sizeof(dir) + 16];
static char     rule_deploy[] = "ssh_deploy", rule_ops[] = "ssh_operators",
                rule_http[] = "http_only";
static ssh_conf conf;
static int      debug;              /* FUZZ_DEBUG=1: print each decision */

static void
cleanup(void)
{
    unlink(krl_path);
    unlink(policy_path);
    rmdir(dir);
}

static int
write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wbx");

    if (f == NULL) {
        return -1;
    }
    if (fwrite(p, 1, n, f) != n) {
        fclose(f);
        return -1;
    }
    return fclose(f);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ssh_krl  krl;
    ssh_wbuf b;

    (void) argc;
    (void) argv;
    if (fuzz_ssh_fixture_init() != 0 || mkdtemp(dir) == NULL) {
        abort();
    }
    atexit(cleanup);
    snprintf(krl_path, sizeof(krl_path), "%s/krl", dir);
    snprintf(policy_path, sizeof(policy_path), "%s/policy.yaml", dir);

    ssh_krl_init(&krl);
    ssh_wbuf_init(&b, 0);
    if (ssh_krl_revoke_serial(&krl, fuzz_ssh_ca_pk, REVOKED_SERIAL) != WID_OK
        || ssh_krl_revoke_key_id(&krl, fuzz_ssh_ca_pk, REVOKED_KEY_ID)
           != WID_OK
        || ssh_krl_serialize(&krl, &b) != WID_OK
        || write_file(krl_path, b.data, b.len) != 0
        || write_file(policy_path, policy_yaml, sizeof(policy_yaml) - 1) != 0)
    {
        abort();
    }
    ssh_wbuf_free(&b);
    ssh_krl_free(&krl);

    memset(&conf, 0, sizeof(conf));
    memcpy(conf.ca_pk, fuzz_ssh_ca_pk, sizeof(conf.ca_pk));
    conf.krl_path = krl_path;
    conf.policy_path = policy_path;
    conf.rules[0] = rule_deploy;
    conf.rules[1] = rule_ops;
    conf.rules[2] = rule_http;
    conf.nrules = 2;                /* http_only is not served */
    debug = getenv("FUZZ_DEBUG") != NULL;
    return 0;
}

/* An allow, checked independently of ssh_login_decide. */
static void
check_allow(const ssh_conf *cf, const ssh_login_req *req,
            const ssh_login_result *res, const char *key_id,
            const char *serial_s)
{
    const ssh_cert *c = req->cert;
    ssh_wid_key_id  kid;
    uint64_t        serial;
    size_t          i;
    int             found = 0;

    if (res->principal == NULL || strcmp(res->principal, req->user) != 0) {
        abort();
    }
    for (i = 0; i < c->nprincipals; i++) {
        found |= strcmp(c->principals[i], req->user) == 0;
    }
    if (!found
        || memcmp(c->ca_pk, fuzz_ssh_ca_pk, sizeof(c->ca_pk)) != 0
        || req->now < c->valid_after || req->now >= c->valid_before
        || c->serial == REVOKED_SERIAL
        || strcmp(c->key_id, REVOKED_KEY_ID) == 0
        || (key_id != NULL && strcmp(key_id, c->key_id) != 0)
        || (serial_s != NULL && (ssh_wid_parse_u64(serial_s, &serial) != 0
                                 || serial != c->serial))
        || (res->options[0] != '\0'
            && strncmp(res->options, "from=\"", 6) != 0))
    {
        abort();
    }
    if (cf->policy_path != NULL) {
        if (ssh_key_id_parse(c->key_id, &kid) != WID_OK
            || !ssh_conf_has_rule(cf, kid.rule)
            || !res->have_kid || !res->have_dec
            || strcmp(kid.id.trust_domain, "example.org") != 0)
        {
            abort();
        }
        if (strcmp(kid.rule, "ssh_deploy") == 0
            && (strcmp(req->user, "deploy") != 0
                || c->force_command == NULL
                || strcmp(res->options,
                          "from=\"10.20.0.0/16,fd00:20::/32\"") != 0))
        {
            abort();
        }
        if (strcmp(kid.rule, "ssh_operators") == 0
            && strcmp(req->user, "ops") != 0
            && strcmp(req->user, "ops-oncall") != 0)
        {
            abort();
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char             *type = NULL, *user = NULL, *key_id = NULL;
    char             *serial_s = NULL, *b64 = NULL;
    const uint8_t    *p;
    unsigned char    *blob = NULL;
    size_t            n, len;
    uint8_t           flags;
    ssh_conf          cf;
    ssh_cert          cert;
    ssh_login_req     req;
    ssh_login_result  res;
    uint64_t          serial;
    wid_reason_t      rc;

    if (size < 2) {
        return 0;
    }
    flags = data[0];
    p = data + 2;
    n = size - 2;
    if ((type = fuzz_next_field(&p, &n)) == NULL
        || (user = fuzz_next_field(&p, &n)) == NULL
        || (key_id = fuzz_next_field(&p, &n)) == NULL
        || (serial_s = fuzz_next_field(&p, &n)) == NULL)
    {
        goto out;
    }
    if (flags & F_RESIGN) {
        if (fuzz_ssh_resign(p, n, &blob, &len) != 0) {
            goto out;
        }
        b64 = malloc(sodium_base64_encoded_len(len,
                                               sodium_base64_VARIANT_ORIGINAL));
        if (b64 == NULL) {
            goto out;
        }
        sodium_bin2base64(b64, sodium_base64_encoded_len(
                              len, sodium_base64_VARIANT_ORIGINAL),
                          blob, len, sodium_base64_VARIANT_ORIGINAL);
    } else if ((b64 = fuzz_strndup(p, n)) == NULL) {
        goto out;
    }

    cf = conf;
    if (flags & F_NO_POLICY) {
        cf.policy_path = NULL;
    }
    memset(&req, 0, sizeof(req));
    req.user = user;
    /* Around the seeds' validity: -128..127 minutes from FUZZ_SSH_NOW. */
    req.now = FUZZ_SSH_NOW + (uint64_t) ((int64_t) (int8_t) data[1] * 60);

    /* As cmd_principals.c does it. */
    rc = ssh_cert_parse_base64(type, b64, &cert);
    if (rc != WID_OK) {
        if (debug) {
            fprintf(stderr, "parse: %s\n", wid_reason_code(rc));
        }
        goto out;
    }
    req.cert = &cert;
    if ((flags & F_KEY_ID) && strcmp(key_id, cert.key_id) != 0) {
        rc = WID_R_SSH_ARG_MISMATCH;
    } else if ((flags & F_SERIAL)
               && (ssh_wid_parse_u64(serial_s, &serial) != 0
                   || serial != cert.serial))
    {
        rc = WID_R_SSH_ARG_MISMATCH;
    }
    if (rc == WID_OK) {
        rc = ssh_login_decide(&cf, &req, &res);
        if (debug) {
            fprintf(stderr, "decide: %s %s\n", wid_reason_code(rc),
                    rc == WID_OK ? res.options : "");
        }
        if (rc == WID_OK) {
            check_allow(&cf, &req, &res,
                        (flags & F_KEY_ID) ? key_id : NULL,
                        (flags & F_SERIAL) ? serial_s : NULL);
        } else if (res.principal != NULL || res.options[0] != '\0') {
            abort();                /* a deny prints nothing */
        }
    }
    ssh_cert_free(&cert);

out:
    free(blob);
    free(b64);
    free(serial_s);
    free(key_id);
    free(user);
    free(type);
    return 0;
}
