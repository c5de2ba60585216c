/*
 * wid keygen --out PREFIX: a new Ed25519 key pair, PREFIX.key (0600,
 * PKCS#8 PEM) and PREFIX.pub (SPKI PEM).  Never overwrites.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "commands.h"
#include "keyfile.h"

#define WID_KEYGEN_USAGE "usage: wid keygen --out PREFIX\n"

/*
 * PREFIX must end in a file name: "d/" or "d/." would make the hidden
 * files d/.key and d/.pub (d/..key), and a PREFIX naming a directory was
 * surely meant as one.  NULL, or why PREFIX is refused.
 */
static const char *
wid_keygen_prefix_bad(const char *prefix)
{
    const char  *base = strrchr(prefix, '/');
    struct stat  st;

    base = base != NULL ? base + 1 : prefix;
    if (*base == '\0') {
        return "ends in '/'";
    }
    if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        return "ends in '.' or '..'";
    }
    if (stat(prefix, &st) == 0 && S_ISDIR(st.st_mode)) {
        return "is a directory";
    }
    return NULL;
}


int
wid_cmd_keygen(int argc, char **argv)
{
    const char   *bad;
    wid_reason_t  rc;
    wid_pubkey    pub;
    char          path[4096], id[WID_KEY_ID_HEX_LEN + 1];

    if (wid_cli_help(argc, argv)) {
        fputs(WID_KEYGEN_USAGE, stdout);
        return WID_EXIT_OK;
    }
    if (argc != 3 || strcmp(argv[1], "--out") != 0 || argv[2][0] == '\0') {
        fputs(WID_KEYGEN_USAGE, stderr);
        return WID_EXIT_USAGE;
    }
    bad = wid_keygen_prefix_bad(argv[2]);
    if (bad != NULL) {
        fprintf(stderr, "wid keygen: --out %s %s: PREFIX names the files"
                " PREFIX.key and PREFIX.pub (e.g. --out DIR/receipt)\n",
                argv[2], bad);
        return WID_EXIT_USAGE;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "wid keygen: %s\n",
                wid_reason_code(WID_R_INTERNAL_CRYPTO));
        return WID_EXIT_USAGE;
    }

    rc = wid_keypair_generate(argv[2]);
    if (rc != WID_OK) {
        fprintf(stderr, "wid keygen: %s: %s (%s)\n", argv[2],
                wid_reason_code(rc), wid_reason_text(rc));
        return WID_EXIT_USAGE;
    }

    snprintf(path, sizeof(path), "%s.pub", argv[2]);
    if (wid_pubkey_load(path, &pub) == WID_OK) {
        wid_pubkey_id(&pub, id);
        printf("%s.key %s.pub key-id %s\n", argv[2], argv[2], id);
    }
    return WID_EXIT_OK;
}
