/*
 * ssh-wid-helper sign-challenge: the client side of the X.509-SVID proof
 * of possession (pop.h).  Signs the challenge for an SSH public key and
 * the helper's audience with the SVID's private key, and prints the
 * proof line to pass as `issue --proof FILE` or as "proof" in a request.
 *
 *   ssh-wid-helper sign-challenge --key SVID.key --pubkey id_ed25519.pub
 *                                 --audience AUD [--time UNIX] [--print-challenge]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "commands.h"
#include "pop.h"
#include "util.h"

#define SIGN_USAGE \
    "sign-challenge --key SVID.key --pubkey FILE --audience AUD " \
    "[--time UNIX] [--print-challenge]"


int
ssh_wid_cmd_sign_challenge(int argc, char **argv)
{
    const char    *key = NULL, *pub = NULL, *aud = NULL, *time_s = NULL;
    unsigned char  pk[SSH_ED25519_PK_LEN], *text = NULL;
    size_t         len;
    char          *proof = NULL, *msg = NULL;
    uint64_t       t = ssh_wid_now();
    EVP_PKEY      *k;
    wid_reason_t   rc;
    int            i, r, print_challenge = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--print-challenge") == 0) {
            print_challenge = 1;
            continue;
        }
        if ((r = ssh_wid_opt(argc, argv, &i, "--key", &key)) == 0
            && (r = ssh_wid_opt(argc, argv, &i, "--pubkey", &pub)) == 0
            && (r = ssh_wid_opt(argc, argv, &i, "--audience", &aud)) == 0)
        {
            r = ssh_wid_opt(argc, argv, &i, "--time", &time_s);
        }
        if (r <= 0) {
            return ssh_wid_usage_error("sign-challenge",
                                       r < 0 ? "option needs a value"
                                             : "unknown argument", SIGN_USAGE);
        }
    }
    if ((key == NULL && !print_challenge) || pub == NULL || aud == NULL) {
        return ssh_wid_usage_error("sign-challenge", "--key, --pubkey and "
                                   "--audience are required", SIGN_USAGE);
    }
    /* Signed as one line of the challenge: nothing may be added to it. */
    if (ssh_pop_audience_ok(aud) != 0) {
        return ssh_wid_fail("sign-challenge", WID_R_INTERNAL_CONFIG,
                            "--audience: " SSH_POP_AUDIENCE_RULE);
    }
    if (time_s != NULL && ssh_wid_parse_u64(time_s, &t) != 0) {
        return ssh_wid_usage_error("sign-challenge", "bad --time", SIGN_USAGE);
    }
    if ((rc = wid_read_file(pub, 65536, &text, &len)) != WID_OK) {
        return ssh_wid_fail("sign-challenge", rc, pub);
    }
    rc = memchr(text, '\0', len) != NULL ? WID_R_SSH_PUBKEY_MALFORMED
         : ssh_pubkey_parse_line((char *) text, pk);
    free(text);
    if (rc != WID_OK) {
        return ssh_wid_fail("sign-challenge", rc, pub);
    }
    if (print_challenge) {
        if ((rc = ssh_pop_challenge(aud, t, pk, &msg, &len)) != WID_OK) {
            return ssh_wid_fail("sign-challenge", rc, NULL);
        }
        fwrite(msg, 1, len, stdout);
        free(msg);
        return fflush(stdout) == 0 ? 0 : 2;
    }
    if ((rc = ssh_pop_key_load(key, &k)) != WID_OK) {
        return ssh_wid_fail("sign-challenge", rc, key);
    }
    rc = ssh_pop_sign(k, aud, t, pk, &proof);
    EVP_PKEY_free(k);
    if (rc != WID_OK) {
        return ssh_wid_fail("sign-challenge", rc, key);
    }
    printf("%s\n", proof);
    free(proof);
    return fflush(stdout) == 0 ? 0 : 2;
}
