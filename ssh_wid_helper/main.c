/*
 * ssh-wid-helper: issues attestation-gated short-lived OpenSSH user
 * certificates and serves sshd's AuthorizedPrincipalsCommand.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "commands.h"
#include "wid_version.h"

/* Absent (weak, unresolved) commands have a NULL fn and report so. */
static const struct {
    const char     *name;
    ssh_wid_cmd_fn  fn;
    const char     *usage;
} ssh_wid_cmds[] = {
    { "issue", ssh_wid_cmd_issue,
      "issue (--config FILE | --socket PATH) --pubkey FILE\n"
      "              (--jwt TOKEN|@FILE | --x509 CHAIN.pem (--proof FILE"
      " | --svid-key KEY [--audience AUD]))\n"
      "              [--rule NAME] [--principal NAME]... [--ttl SECONDS]"
      " [--extension NAME]...\n"
      "              [--attestation-result JWS|@FILE] [--out FILE] [--json]"
      },
    { "issue", ssh_wid_cmd_issue,
      "issue --ca-key FILE --pubkey FILE --principal NAME... --ttl SECONDS\n"
      "              --key-id ID [--backdate SECONDS] [--force-command CMD]\n"
      "              [--source-address CIDR[,CIDR...]] [--extension NAME]..."
      "\n"
      "              [--receipt-pubkey FILE] [--index FILE] [--out FILE]"
      "   (operator mode)" },
    { "serve", ssh_wid_cmd_serve, "serve --config FILE --socket PATH" },
    { "principals", ssh_wid_cmd_principals,
      "principals --config FILE --user %u --type %t --cert %k "
      "[--key-id %i] [--serial %s]" },
    { "revoke", ssh_wid_cmd_revoke,
      "revoke --krl FILE --ca CA.pub (--serial N | --key-id ID |\n"
      "              --spiffe-id ID --index FILE)... [--comment TEXT]" },
    { "pubkey", ssh_wid_cmd_pubkey,
      "pubkey (--ca-key FILE | --pub FILE) [--comment TEXT]" },
    { "sign-challenge", ssh_wid_cmd_sign_challenge,
      "sign-challenge --key SVID.key --pubkey FILE --audience AUD "
      "[--time UNIX] [--print-challenge]" },
};

#define SSH_WID_NCMDS (sizeof(ssh_wid_cmds) / sizeof(ssh_wid_cmds[0]))


static void
ssh_wid_usage(FILE *out)
{
    size_t i;

    fprintf(out, "usage: ssh-wid-helper --version | --help\n");
    for (i = 0; i < SSH_WID_NCMDS; i++) {
        fprintf(out, "       ssh-wid-helper %s%s\n", ssh_wid_cmds[i].usage,
                ssh_wid_cmds[i].fn ? "" : "  (not built)");
    }
}


/*
 * "CMD --help": that command's usage lines, on stdout.  Only as the first
 * argument, where no value can stand: principals gets the key id of a
 * certificate in its arguments, and a key id "--help" must not make it
 * print usage and exit 0.
 */
static int
ssh_wid_cmd_help(int argc, char **argv)
{
    size_t i;
    int    found = 0;

    if (argc < 3
        || (strcmp(argv[2], "--help") != 0 && strcmp(argv[2], "-h") != 0))
    {
        return 0;
    }
    for (i = 0; i < SSH_WID_NCMDS; i++) {
        if (strcmp(ssh_wid_cmds[i].name, argv[1]) == 0) {
            printf("%s ssh-wid-helper %s\n", found ? "      " : "usage:",
                   ssh_wid_cmds[i].usage);
            found = 1;
        }
    }
    return found;
}


int
main(int argc, char **argv)
{
    size_t i;

    if (argc < 2) {
        ssh_wid_usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ssh-wid-helper %s\n", WID_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        ssh_wid_usage(stdout);
        return 0;
    }
    if (ssh_wid_cmd_help(argc, argv)) {
        return 0;
    }

    /* Guarded memory and the RNG need libsodium initialised. */
    if (sodium_init() < 0) {
        fprintf(stderr, "ssh-wid-helper: libsodium failed to initialise\n");
        return 2;
    }
    for (i = 0; i < SSH_WID_NCMDS; i++) {
        if (strcmp(ssh_wid_cmds[i].name, argv[1]) == 0
            && ssh_wid_cmds[i].fn != NULL)
        {
            return ssh_wid_cmds[i].fn(argc - 1, argv + 1);
        }
    }

    fprintf(stderr, "ssh-wid-helper: unknown or unavailable command '%s'\n",
            argv[1]);
    ssh_wid_usage(stderr);
    return 2;
}
