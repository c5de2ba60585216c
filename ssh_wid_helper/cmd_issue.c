/*
 * ssh-wid-helper issue: operator mode.  Signs a certificate for an
 * explicitly given SSH public key, principals, lifetime and options,
 * with the CA key file.  Evidence-gated issuance (JWT-SVID / X.509-SVID
 * plus the policy's ssh block) replaces these flags once identity and
 * policy are integrated; every value given here goes through the same
 * checks the gated path will use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "cakey.h"
#include "commands.h"
#include "issued.h"
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


int
ssh_wid_cmd_issue(int argc, char **argv)
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
