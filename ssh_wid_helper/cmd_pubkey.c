/*
 * ssh-wid-helper pubkey: print the CA's public key as the OpenSSH line
 * sshd's TrustedUserCAKeys (and `revoke --ca`, `ca_pubkey`) expect.
 *
 *   pubkey --ca-key CA.key | --pub CA.pub (SPKI PEM or OpenSSH)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cakey.h"
#include "commands.h"
#include "util.h"

#define PUBKEY_USAGE "pubkey (--ca-key FILE | --pub FILE) [--comment TEXT]"


int
ssh_wid_cmd_pubkey(int argc, char **argv)
{
    const char    *key = NULL, *pub = NULL, *comment = "wid-ssh-ca";
    unsigned char  pk[SSH_ED25519_PK_LEN];
    wid_seckey     ca;
    ssh_wbuf       blob;
    wid_reason_t   rc;
    char          *line = NULL;
    int            i, r;

    for (i = 1; i < argc; i++) {
        if ((r = ssh_wid_opt(argc, argv, &i, "--ca-key", &key)) == 0
            && (r = ssh_wid_opt(argc, argv, &i, "--pub", &pub)) == 0)
        {
            r = ssh_wid_opt(argc, argv, &i, "--comment", &comment);
        }
        if (r <= 0) {
            return ssh_wid_usage_error("pubkey", "bad argument",
                                       PUBKEY_USAGE);
        }
    }
    if ((key == NULL) == (pub == NULL)) {
        return ssh_wid_usage_error("pubkey", "give one of --ca-key, --pub",
                                   PUBKEY_USAGE);
    }
    /* The line goes into TrustedUserCAKeys: one line, nothing added. */
    if (ssh_check_comment(comment) != 0) {
        return ssh_wid_fail("pubkey", WID_R_INTERNAL_CONFIG,
                            SSH_COMMENT_RULE);
    }
    if (key != NULL) {
        rc = wid_seckey_load(key, &ca);
        if (rc == WID_OK) {
            memcpy(pk, ca.pub.pk, sizeof(pk));
        }
        wid_seckey_wipe(&ca);
    } else {
        rc = ssh_ca_pub_load(pub, pk);
    }
    if (rc != WID_OK) {
        return ssh_wid_fail("pubkey", rc, key ? key : pub);
    }
    ssh_wbuf_init(&blob, 0);
    ssh_pubkey_blob(pk, &blob);
    rc = ssh_wbuf_error(&blob) == 0
         ? ssh_format_line(SSH_ED25519_NAME, blob.data, blob.len, comment,
                           &line)
         : WID_R_INTERNAL_NOMEM;
    ssh_wbuf_free(&blob);
    if (rc != WID_OK) {
        return ssh_wid_fail("pubkey", rc, NULL);
    }
    fputs(line, stdout);
    free(line);
    return fflush(stdout) == 0 ? 0 : 2;
}
