/*
 * wid receipt verify PROOF --pubkey PUB [--json]: check a receipt proof
 * (from `wid journal prove`) with nothing but the file and the receipt
 * public key: receipt bytes -> id -> inclusion proof -> signed checkpoint.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bytes.h"
#include "commands.h"
#include "journal_read.h"
#include "keyfile.h"

#define WID_RECEIPT_USAGE \
    "usage: wid receipt verify PROOF --pubkey PUB [--json]\n"

int
wid_cmd_receipt(int argc, char **argv)
{
    static const struct option opts[] = {
        { "pubkey", required_argument, NULL, 'p' },
        { "json", no_argument, NULL, 'j' },
        { NULL, 0, NULL, 0 }
    };
    const char       *pub = NULL;
    int               c, json = 0;
    wid_pubkey        pk;
    unsigned char    *file;
    size_t            len;
    json_t           *proof, *out;
    json_error_t      err;
    uint8_t          *bytes = NULL;
    wid_receipt_view  v;
    wid_checkpoint    cp;
    wid_reason_t      rc;

    if (wid_cli_help(argc, argv)) {
        fputs(WID_RECEIPT_USAGE, stdout);
        return WID_EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "verify") != 0) {
        fputs(WID_RECEIPT_USAGE, stderr);
        return WID_EXIT_USAGE;
    }
    argc--;
    argv++;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p': pub = optarg; break;
        case 'j': json = 1; break;
        default:
            fputs(WID_RECEIPT_USAGE, stderr);
            return WID_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || pub == NULL) {
        fputs(WID_RECEIPT_USAGE, stderr);
        return WID_EXIT_USAGE;
    }
    rc = wid_pubkey_load(pub, &pk);
    if (rc != WID_OK) {
        fprintf(stderr, "wid receipt verify: %s: %s\n", pub,
                wid_reason_code(rc));
        return WID_EXIT_USAGE;
    }
    rc = wid_read_file(argv[optind], 1024 * 1024, &file, &len);
    if (rc != WID_OK) {
        fprintf(stderr, "wid receipt verify: %s: %s\n", argv[optind],
                wid_reason_code(rc));
        return WID_EXIT_USAGE;
    }
    proof = json_loadb((const char *) file, len, 0, &err);
    free(file);
    rc = proof ? wid_receipt_proof_verify(proof, &pk, &bytes, &v, &cp)
               : WID_R_RECEIPT_PROOF_MALFORMED;
    if (rc != WID_OK) {
        json_decref(proof);
        if (json) {
            printf("{\"valid\": false, \"code\": \"%s\"}\n",
                   wid_reason_code(rc));
        }
        fprintf(stderr, "wid receipt verify: %s (%s)\n", wid_reason_code(rc),
                wid_reason_text(rc));
        return WID_EXIT_REJECTED;
    }
    out = wid_receipt_view_json(&v, json_string_value(json_object_get(proof,
                                                                      "id")));
    if (json) {
        json_t *r = json_pack("{s:b,s:o,s:{s:s,s:I}}", "valid", 1,
                              "receipt", out, "checkpoint", "origin",
                              cp.origin, "size", (json_int_t) cp.size);

        json_dumpf(r, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(r);
    } else {
        printf("receipt %s verified: included in %s at size %llu\n",
               json_string_value(json_object_get(proof, "id")), cp.origin,
               (unsigned long long) cp.size);
        json_dumpf(out, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(out);
    }
    free(bytes);
    json_decref(proof);
    return WID_EXIT_OK;
}
