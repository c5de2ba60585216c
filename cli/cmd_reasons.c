/*
 * wid reasons: print every reason code (the one list of libcore).
 * `--markdown` produces docs/reason-codes.md.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "reason.h"

#define WID_REASONS_USAGE "usage: wid reasons [--markdown|--json]\n"

int
wid_cmd_reasons(int argc, char **argv)
{
    const char *fmt = argc > 1 ? argv[1] : "--text";
    unsigned    i;
    json_t     *arr;

    if (wid_cli_help(argc, argv)) {
        fputs(WID_REASONS_USAGE, stdout);
        return WID_EXIT_OK;
    }
    if (strcmp(fmt, "--json") == 0) {
        arr = json_array();
        for (i = 1; i < WID_R__COUNT; i++) {
            json_array_append_new(arr, json_pack("{s:s,s:s}",
                                  "code", wid_reason_code(i),
                                  "text", wid_reason_text(i)));
        }
        json_dumpf(arr, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(arr);
        return WID_EXIT_OK;
    }

    if (strcmp(fmt, "--markdown") == 0) {
        printf("# Reason codes\n\n"
               "Every rejection in wid carries exactly one of these"
               " stable codes: in\nthe nginx error log, on receipts,"
               " in CLI output and in `--json`.\nThis page is generated"
               " by `wid reasons --markdown` (`make docs`).\n\n"
               "| code | meaning |\n|---|---|\n");
        for (i = 1; i < WID_R__COUNT; i++) {
            printf("| `%s` | %s |\n", wid_reason_code(i),
                   wid_reason_text(i));
        }
        return WID_EXIT_OK;
    }

    if (strcmp(fmt, "--text") != 0) {
        fputs(WID_REASONS_USAGE, stderr);
        return WID_EXIT_USAGE;
    }
    for (i = 1; i < WID_R__COUNT; i++) {
        printf("%-36s %s\n", wid_reason_code(i), wid_reason_text(i));
    }
    return WID_EXIT_OK;
}
