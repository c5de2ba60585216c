/*
 * ssh-wid-helper revoke: add certificates to the OpenSSH KRL that sshd
 * reads through RevokedKeys (and `principals` reads too).
 *
 *   revoke --krl FILE --ca CA.pub (--serial N | --key-id ID |
 *          --spiffe-id ID --index FILE)... [--comment TEXT]
 *
 * Serials and key ids are revoked for our CA only.  --spiffe-id looks up
 * every unexpired certificate issued for that SPIFFE ID by the --ca CA in
 * the issued-certificates index and revokes their serials (KRL key ids
 * match exactly, and wid key ids also carry a receipt id).  Certificates
 * of another CA (the index spans CA rotations) are counted and left: a
 * serial revoked under the wrong CA revokes nothing, or someone else.  The KRL is created
 * when missing and always replaced atomically under a lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cakey.h"
#include "commands.h"
#include "issued.h"
#include "krl.h"
#include "util.h"

#define REVOKE_USAGE \
    "revoke --krl FILE --ca CA.pub (--serial N | --key-id ID | " \
    "--spiffe-id ID --index FILE)... [--comment TEXT]"


int
ssh_wid_cmd_revoke(int argc, char **argv)
{
    const char    *krl_path = NULL, *ca_path = NULL, *index = NULL;
    const char    *comment = NULL, *v;
    unsigned char  ca_pk[SSH_ED25519_PK_LEN];
    uint64_t       serial, *found = NULL, now = ssh_wid_now();
    size_t         nfound = 0, bad_line, nserials = 0, nids = 0, j;
    size_t         skipped, nskipped = 0;
    char           ca_fp[64];
    ssh_krl        krl;
    struct stat    st;
    wid_reason_t   rc;
    char           detail[128];
    int            i, r, lock = -1, ret = 2, nspecs = 0;

    ssh_krl_init(&krl);

    /* First pass: the files and syntax of every revocation spec. */
    for (i = 1; i < argc; i++) {
        if ((r = ssh_wid_opt(argc, argv, &i, "--krl", &krl_path)) == 0
            && (r = ssh_wid_opt(argc, argv, &i, "--ca", &ca_path)) == 0
            && (r = ssh_wid_opt(argc, argv, &i, "--index", &index)) == 0
            && (r = ssh_wid_opt(argc, argv, &i, "--comment", &comment)) == 0)
        {
            if ((r = ssh_wid_opt(argc, argv, &i, "--serial", &v)) > 0) {
                if (ssh_wid_parse_u64(v, &serial) != 0 || serial == 0) {
                    return ssh_wid_fail("revoke", WID_R_SSH_SERIAL_INVALID, v);
                }
            } else if (r == 0
                       && (r = ssh_wid_opt(argc, argv, &i, "--key-id", &v)) > 0)
            {
                if ((rc = ssh_check_key_id(v)) != WID_OK) {
                    return ssh_wid_fail("revoke", rc, NULL);
                }
            } else if (r == 0
                       && (r = ssh_wid_opt(argc, argv, &i, "--spiffe-id",
                                           &v)) > 0)
            {
                if (strncmp(v, "spiffe://", 9) != 0 || v[9] == '\0'
                    || strchr(v, ' ') != NULL)
                {
                    return ssh_wid_usage_error("revoke", "--spiffe-id needs "
                                               "a spiffe:// ID", REVOKE_USAGE);
                }
            }
            if (r > 0) {
                nspecs++;
            }
        }
        if (r < 0) {
            return ssh_wid_usage_error("revoke", "option needs a value",
                                       REVOKE_USAGE);
        }
        if (r == 0) {
            return ssh_wid_usage_error("revoke", "unknown argument",
                                       REVOKE_USAGE);
        }
    }
    /* Printed as one line by `ssh-keygen -Q -l`: no forged lines there. */
    if (comment != NULL && ssh_check_comment(comment) != 0) {
        return ssh_wid_fail("revoke", WID_R_INTERNAL_CONFIG,
                            SSH_COMMENT_RULE);
    }
    if (krl_path == NULL || ca_path == NULL || nspecs == 0) {
        return ssh_wid_usage_error("revoke", "--krl, --ca and at least one "
                                   "of --serial/--key-id/--spiffe-id are "
                                   "required", REVOKE_USAGE);
    }
    if ((rc = ssh_ca_pub_load(ca_path, ca_pk)) != WID_OK) {
        return ssh_wid_fail("revoke", rc, ca_path);
    }
    ssh_pubkey_fingerprint(ca_pk, ca_fp);

    if ((lock = ssh_krl_lock(krl_path)) < 0) {
        return ssh_wid_fail("revoke", WID_R_INTERNAL_IO, "cannot lock KRL");
    }
    if (stat(krl_path, &st) != 0 && errno == ENOENT) {
        /* A new KRL: sshd needs the file to exist before any login. */
        ssh_krl_init(&krl);
    } else if ((rc = ssh_krl_load(krl_path, &krl)) != WID_OK) {
        ret = ssh_wid_fail("revoke", rc, krl_path);
        goto done;
    }

    /* Second pass: apply, in order. */
    for (i = 1; i < argc; i++) {
        if (ssh_wid_opt(argc, argv, &i, "--serial", &v) > 0) {
            (void) ssh_wid_parse_u64(v, &serial);
            rc = ssh_krl_revoke_serial(&krl, ca_pk, serial);
            nserials++;
        } else if (ssh_wid_opt(argc, argv, &i, "--key-id", &v) > 0) {
            rc = ssh_krl_revoke_key_id(&krl, ca_pk, v);
            nids++;
        } else if (ssh_wid_opt(argc, argv, &i, "--spiffe-id", &v) > 0) {
            if (index == NULL) {
                ret = ssh_wid_usage_error("revoke", "--spiffe-id needs "
                                          "--index", REVOKE_USAGE);
                goto done;
            }
            rc = ssh_issued_find(index, v, ca_fp, now, &found, &nfound,
                                 &skipped, &bad_line);
            if (rc == WID_R_SSH_INDEX_MALFORMED) {
                snprintf(detail, sizeof(detail), "%s line %zu", index,
                         bad_line);
                ret = ssh_wid_fail("revoke", rc, detail);
                goto done;
            }
            if (rc == WID_OK && nfound == 0) {
                snprintf(detail, sizeof(detail), "%zu certificate(s) of "
                         "another CA than %s", skipped, ca_fp);
                ret = ssh_wid_fail("revoke", WID_R_SSH_REVOKE_NO_MATCH,
                                   skipped > 0 ? detail : v);
                goto done;
            }
            nskipped += skipped;
            for (j = 0; rc == WID_OK && j < nfound; j++) {
                rc = ssh_krl_revoke_serial(&krl, ca_pk, found[j]);
                nserials++;
            }
            free(found);
            found = NULL;
        } else {
            rc = WID_OK;
            if (i + 1 < argc && strncmp(argv[i], "--", 2) == 0) {
                i++;                           /* --krl/--ca/... values */
            }
        }
        if (rc != WID_OK) {
            ret = ssh_wid_fail("revoke", rc, NULL);
            goto done;
        }
    }

    if (comment != NULL) {
        free(krl.comment);
        if ((krl.comment = strdup(comment)) == NULL) {
            ret = ssh_wid_fail("revoke", WID_R_INTERNAL_NOMEM, NULL);
            goto done;
        }
    }
    if ((rc = ssh_krl_save(&krl, krl_path, now)) != WID_OK) {
        ret = ssh_wid_fail("revoke", rc, krl_path);
        goto done;
    }
    printf("revoked %zu serial(s), %zu key id(s); %s version %llu\n",
           nserials, nids, krl_path, (unsigned long long) krl.version);
    if (nskipped > 0) {
        printf("skipped %zu certificate(s) of another CA than %s (revoke "
               "them with that CA's --ca)\n", nskipped, ca_fp);
    }
    ret = 0;

done:
    free(found);
    ssh_krl_free(&krl);
    if (lock >= 0) {
        close(lock);
    }
    return ret;
}
