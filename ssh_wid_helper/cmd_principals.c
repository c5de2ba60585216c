/*
 * ssh-wid-helper principals: sshd's AuthorizedPrincipalsCommand.
 *
 *   AuthorizedPrincipalsCommand /usr/local/libexec/ssh-wid-helper principals
 *       --config /etc/wid/ssh-helper.conf --user %u --type %t --cert %k
 *       --key-id %i --serial %s
 *
 * sshd expands the tokens after splitting the line, without a shell, so
 * each value arrives as exactly one argument; all of them come from the
 * client and are treated as hostile.  On allow: one line
 * "[options ]principal" and exit 0.  On deny: nothing on stdout, exit 1
 * (2 for configuration errors); sshd denies on any non-zero exit.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <sodium.h>

#include "commands.h"
#include "conf.h"
#include "login.h"
#include "sshcert.h"
#include "util.h"

#define PRINCIPALS_USAGE \
    "principals --config FILE --user %u --type %t --cert %k " \
    "[--key-id %i] [--serial %s]"


int
ssh_wid_cmd_principals(int argc, char **argv)
{
    const char       *config = NULL, *user = NULL, *type = NULL, *b64 = NULL;
    const char       *key_id = NULL, *serial_s = NULL, **slot;
    char              err[512], receipt[WID_RECEIPT_ID_SIZE];
    ssh_conf          conf;
    ssh_cert          cert;
    ssh_login_req     req;
    ssh_login_result  res;
    wid_reason_t      rc, lrc;
    uint64_t          serial;
    int               i, r, have_cert = 0;

    for (i = 1; i < argc; i++) {
        static const char *const names[] = {
            "--config", "--user", "--type", "--cert", "--key-id", "--serial"
        };
        const char **slots[] = {
            &config, &user, &type, &b64, &key_id, &serial_s
        };
        size_t k;

        r = 0;
        slot = NULL;
        for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
            r = ssh_wid_opt(argc, argv, &i, names[k], slots[k]);
            if (r != 0) {
                slot = slots[k];
                break;
            }
        }
        if (r < 0) {
            return ssh_wid_usage_error("principals", "option needs a value",
                                       PRINCIPALS_USAGE);
        }
        if (slot == NULL) {
            return ssh_wid_usage_error("principals", "unknown argument",
                                       PRINCIPALS_USAGE);
        }
    }
    if (config == NULL || user == NULL || type == NULL || b64 == NULL) {
        return ssh_wid_usage_error("principals",
                                   "--config, --user, --type and --cert "
                                   "are required", PRINCIPALS_USAGE);
    }

    /*
     * sshd runs this twice per login: no start-up work that is not
     * needed.  OpenSSL's configuration file plays no part here (keys are
     * parsed, nothing is negotiated), and reading it costs milliseconds;
     * its clean-up at exit frees what the exit frees anyway.  jansson
     * seeds its hash function from libsodium's generator instead of
     * opening /dev/urandom.
     */
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT,
                        NULL);
    json_object_seed((size_t) randombytes_random());

    memset(&req, 0, sizeof(req));
    memset(&res, 0, sizeof(res));
    req.user = user;
    req.now = ssh_wid_now();

    rc = ssh_conf_load(config, &conf, err, sizeof(err));
    if (rc != WID_OK) {
        (void) ssh_login_record(NULL, &req, rc);
        return ssh_wid_fail("principals", rc, err);
    }

    rc = ssh_cert_parse_base64(type, b64, &cert);
    if (rc == WID_OK) {
        have_cert = 1;
        req.cert = &cert;
        /* What sshd says about the certificate must match what it is. */
        if (key_id != NULL && strcmp(key_id, cert.key_id) != 0) {
            rc = WID_R_SSH_ARG_MISMATCH;
        } else if (serial_s != NULL
                   && (ssh_wid_parse_u64(serial_s, &serial) != 0
                       || serial != cert.serial))
        {
            rc = WID_R_SSH_ARG_MISMATCH;
        }
    }
    if (rc == WID_OK) {
        rc = ssh_login_decide(&conf, &req, &res);
    } else {
        ssh_login_note_policy(&conf, &res);
    }
    lrc = ssh_login_record_result(&conf, &req, &res, rc, receipt);
    if (rc == WID_OK && lrc != WID_OK) {
        rc = lrc;                   /* an unrecorded allow is a deny */
    }

    if (rc == WID_OK) {
        if (res.options[0] != '\0') {
            printf("%s %s\n", res.options, res.principal);
        } else {
            printf("%s\n", res.principal);
        }
        if (fflush(stdout) != 0) {
            rc = WID_R_INTERNAL_IO;
        }
    }
    if (have_cert) {
        ssh_cert_free(&cert);
    }
    ssh_conf_free(&conf);
    if (rc != WID_OK) {
        return ssh_wid_fail("principals", rc, NULL);
    }
    return 0;
}
