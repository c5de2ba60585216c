/*
 * wid id parse SPIFFE_ID [--json]: check an ID against the SPIFFE-ID
 * rules and print its parts.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "spiffe_id.h"

static int
wid_id_usage(FILE *out)
{
    fprintf(out, "usage: wid id parse SPIFFE_ID [--json]\n");
    return WID_EXIT_USAGE;
}

int
wid_cmd_id(int argc, char **argv)
{
    wid_spiffe_id  id;
    const char    *arg = NULL;
    int            json = 0, i;
    wid_reason_t   r;
    json_t        *o;

    if (wid_cli_help(argc, argv)) {
        (void) wid_id_usage(stdout);
        return WID_EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "parse") != 0) {
        return wid_id_usage(stderr);
    }
    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (arg == NULL) {
            arg = argv[i];
        } else {
            return wid_id_usage(stderr);
        }
    }
    if (arg == NULL) {
        return wid_id_usage(stderr);
    }

    r = wid_spiffe_id_parse(arg, strlen(arg), &id);
    if (json) {
        o = r == WID_OK
            ? json_pack("{s:s,s:s,s:s,s:s}", "result", "valid",
                        "spiffe_id", id.id, "trust_domain", id.trust_domain,
                        "path", id.path)
            : json_pack("{s:s,s:s,s:s}", "result", "invalid",
                        "reason", wid_reason_code(r),
                        "message", wid_reason_text(r));
        if (o == NULL) {
            return WID_EXIT_USAGE;
        }
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(o);
    } else if (r == WID_OK) {
        printf("spiffe_id: %s\ntrust_domain: %s\npath: %s\n", id.id,
               id.trust_domain, id.path[0] ? id.path : "(root)");
    } else {
        fprintf(stderr, "wid: invalid SPIFFE ID: %s: %s\n",
                wid_reason_code(r), wid_reason_text(r));
    }
    return r == WID_OK ? WID_EXIT_OK : WID_EXIT_REJECTED;
}
