/*
 * wid: the command-line tool over libcore and policy.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "wid_version.h"

/* Absent (weak, unresolved) groups have a NULL fn and report so. */
static const struct {
    const char *name;
    wid_cmd_fn  fn;
    const char *usage;
} wid_groups[] = {
    { "id", wid_cmd_id, "id parse SPIFFE_ID [--json]" },
    { "svid", wid_cmd_svid,
      "svid verify --bundle (TD=FILE | DIR | MAPFILE)... (--x509 CHAIN.pem\n"
      "                | --jwt TOKEN|@FILE --audience AUD"
      " [--max-lifetime SECONDS])\n"
      "                [--now UNIX] [--leeway SECONDS] [--json]" },
    { "bundle", wid_cmd_bundle,
      "bundle show (TD=FILE | DIR | MAPFILE)... [--json]" },
    { "policy", wid_cmd_policy, "policy lint|explain|sign|verify ..." },
    { "keygen", wid_cmd_keygen, "keygen --out PREFIX" },
    { "journal", wid_cmd_journal,
      "journal verify|query|export|prove|append|seal DIR ..." },
    { "receipt", wid_cmd_receipt,
      "receipt verify PROOF --pubkey PUB [--json]" },
    { "attest", wid_cmd_attest,
      "attest challenge --kind tpm --state DIR --roots PEM --ek-cert FILE"
      " ..." },
    { "attest", wid_cmd_attest,
      "attest verify --kind KIND --evidence FILE ... [--json]" },
    { "attest", wid_cmd_attest,
      "attest result verify JWS|@FILE --pubkey PUB... ..." },
    { "reasons", wid_cmd_reasons, "reasons [--markdown|--json]" },
};

#define WID_NGROUPS (sizeof(wid_groups) / sizeof(wid_groups[0]))


static wid_cmd_fn
wid_group_fn(const char *name)
{
    size_t i;

    for (i = 0; i < WID_NGROUPS; i++) {
        if (strcmp(wid_groups[i].name, name) == 0) {
            return wid_groups[i].fn;
        }
    }
    return NULL;
}


static void
wid_usage(FILE *out)
{
    size_t i;

    fprintf(out, "usage: wid --version | --help\n");
    for (i = 0; i < WID_NGROUPS; i++) {
        fprintf(out, "       wid %s%s\n", wid_groups[i].usage,
                wid_groups[i].fn ? "" : "  (not built)");
    }
    fprintf(out, "\nexit: 0 valid/allow, 1 rejected/deny,"
                 " 2 usage or operational error\n");
}

/*
 * Only right after the group or its subcommand ("wid journal --help",
 * "wid journal query --help"), where no option value can stand: a value
 * that happens to read "--help" is never taken for a request for help.
 */
int
wid_cli_help(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc && i <= 2; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return 1;
        }
    }
    return 0;
}


int
wid_exit_for(wid_reason_t r)
{
    if (r == WID_R_BUNDLE_UNREADABLE || r == WID_R_BUNDLE_DIRECTORY_EMPTY
        || r == WID_R_BUNDLE_DIRECTORY_NAMED
        || strncmp(wid_reason_code(r), "internal.", 9) == 0)
    {
        return WID_EXIT_USAGE;
    }
    return WID_EXIT_REJECTED;
}

int
main(int argc, char **argv)
{
    wid_cmd_fn fn;

    if (argc < 2) {
        wid_usage(stderr);
        return WID_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("wid %s\n", WID_VERSION);
        return WID_EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        wid_usage(stdout);
        return WID_EXIT_OK;
    }

    fn = wid_group_fn(argv[1]);
    if (fn == NULL) {
        fprintf(stderr, "wid: unknown or unavailable command '%s'\n",
                argv[1]);
        wid_usage(stderr);
        return WID_EXIT_USAGE;
    }
    return fn(argc - 1, argv + 1);
}
