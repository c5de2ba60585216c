/*
 * wid svid verify --bundle (TD=FILE | DIR | MAPFILE)... (--x509 CHAIN.pem
 *     | --jwt TOKEN|@FILE --audience AUD [--max-lifetime S])
 *     [--now UNIX] [--leeway S] [--json]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "bundle.h"
#include "bytes.h"
#include "commands.h"
#include "jwtsvid.h"
#include "x509svid.h"

static int
wid_svid_usage(FILE *out)
{
    fprintf(out,
            "usage: wid svid verify --bundle (TD=FILE | DIR | MAPFILE)..."
            " (--x509 CHAIN.pem\n"
            "                       | --jwt TOKEN|@FILE --audience AUD"
            " [--max-lifetime SECONDS])\n"
            "                       [--now UNIX] [--leeway SECONDS] [--json]\n"
            "       a directory is given alone, never as TD=DIR\n");
    return WID_EXIT_USAGE;
}

static int
wid_parse_i64(const char *s, int64_t *out)
{
    char      *end;
    long long  v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') {
        return -1;
    }
    *out = (int64_t) v;
    return 0;
}

static void
wid_print_result(const wid_identity *id, wid_reason_t r, int json)
{
    json_t *o;

    if (json) {
        if (r == WID_OK) {
            o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:s}",
                          "result", "valid", "spiffe_id", id->spiffe_id,
                          "trust_domain", id->trust_domain, "path", id->path,
                          "credential", wid_cred_kind_name(id->kind),
                          "not_after", (json_int_t) id->not_after,
                          id->kind == WID_CRED_JWT_SVID ? "signing_input_sha256"
                                                        : "serial",
                          id->serial,
                          "bundle_sha256", id->bundle_sha256);
            if (o != NULL && id->kind == WID_CRED_X509_SVID) {
                json_object_set_new(o, "fingerprint_sha256",
                                    json_string(id->fingerprint));
            }
            if (o != NULL && id->kind == WID_CRED_JWT_SVID) {
                json_object_set_new(o, "audience", json_string(id->audience));
            }
        } else {
            o = json_pack("{s:s,s:s,s:s}", "result", "rejected",
                          "reason", wid_reason_code(r),
                          "message", wid_reason_text(r));
            if (o != NULL && id->detail != WID_OK) {
                json_object_set_new(o, "detail",
                                    json_string(wid_reason_code(id->detail)));
            }
        }
        if (o != NULL) {
            json_dumpf(o, stdout, JSON_INDENT(2));
            putchar('\n');
            json_decref(o);
        }
        return;
    }
    if (r != WID_OK) {
        fprintf(stderr, "wid: rejected: %s: %s", wid_reason_code(r),
                wid_reason_text(r));
        if (id->detail != WID_OK) {
            fprintf(stderr, " (%s)", wid_reason_code(id->detail));
        }
        fputc('\n', stderr);
        return;
    }
    printf("spiffe_id: %s\ntrust_domain: %s\npath: %s\ncredential: %s\n"
           "not_after: %lld\n%s: %s\n", id->spiffe_id, id->trust_domain,
           id->path, wid_cred_kind_name(id->kind),
           (long long) id->not_after,
           id->kind == WID_CRED_JWT_SVID ? "signing_input_sha256" : "serial",
           id->serial);
    if (id->kind == WID_CRED_X509_SVID) {
        printf("fingerprint_sha256: %s\n", id->fingerprint);
    } else {
        printf("audience: %s\n", id->audience);
    }
    printf("bundle_sha256: %s\n", id->bundle_sha256);
}

/* TOKEN or @FILE (trailing whitespace of a file is dropped). */
static wid_reason_t
wid_read_token(const char *arg, char **out, size_t *len)
{
    unsigned char *buf;
    wid_reason_t   r;

    if (arg[0] != '@') {
        *out = strdup(arg);
        *len = strlen(arg);
        return *out != NULL ? WID_OK : WID_R_INTERNAL_NOMEM;
    }
    r = wid_read_file(arg + 1, 1024 * 1024, &buf, len);
    if (r != WID_OK) {
        return r;
    }
    while (*len > 0 && (buf[*len - 1] == '\n' || buf[*len - 1] == '\r'
                        || buf[*len - 1] == ' ' || buf[*len - 1] == '\t'))
    {
        buf[--*len] = '\0';
    }
    *out = (char *) buf;
    return WID_OK;
}

int
wid_cmd_svid(int argc, char **argv)
{
    wid_bundle_set *set;
    wid_identity    id;
    const char     *x509 = NULL, *jwt = NULL, *aud = NULL, *why;
    int64_t         now = (int64_t) time(NULL), leeway = 0, lifetime = 0;
    wid_jwtsvid_opts o;
    int             json = 0, nbundles = 0, i, rc;
    unsigned char  *buf;
    size_t          len;
    char           *token;
    X509           *leaf;
    STACK_OF(X509) *rest;
    wid_reason_t    r;

    if (wid_cli_help(argc, argv)) {
        (void) wid_svid_usage(stdout);
        return WID_EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "verify") != 0) {
        return wid_svid_usage(stderr);
    }
    set = wid_bundle_set_new();
    if (set == NULL) {
        return WID_EXIT_USAGE;
    }
    memset(&id, 0, sizeof(id));

    for (i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(a, "--json") == 0) {
            json = 1;
            continue;
        }
        if (v == NULL) {
            goto usage;
        }
        i++;
        if (strcmp(a, "--bundle") == 0) {
            r = wid_bundle_set_add_arg(set, v);
            if (r != WID_OK) {
                why = wid_bundle_arg_explain(v, r);
                fprintf(stderr, "wid: bundle %s: %s: %s\n", v,
                        wid_reason_code(r), why ? why : wid_reason_text(r));
                wid_bundle_set_free(set);
                return WID_EXIT_USAGE;
            }
            nbundles++;
        } else if (strcmp(a, "--x509") == 0) {
            x509 = v;
        } else if (strcmp(a, "--jwt") == 0) {
            jwt = v;
        } else if (strcmp(a, "--audience") == 0) {
            aud = v;
        } else if (strcmp(a, "--now") == 0) {
            if (wid_parse_i64(v, &now) != 0) {
                goto usage;
            }
        } else if (strcmp(a, "--max-lifetime") == 0) {
            if (wid_parse_i64(v, &lifetime) != 0 || lifetime <= 0
                || lifetime > WID_JWTSVID_LIFETIME_MAX)
            {
                goto usage;
            }
        } else if (strcmp(a, "--leeway") == 0) {
            if (wid_parse_i64(v, &leeway) != 0 || leeway < 0
                || leeway > 86400)
            {
                goto usage;
            }
        } else {
            goto usage;
        }
    }
    if (nbundles == 0 || (x509 == NULL) == (jwt == NULL)
        || (jwt != NULL && aud == NULL)
        || (x509 != NULL && (aud != NULL || lifetime != 0)))
    {
        goto usage;
    }

    if (x509 != NULL) {
        r = wid_read_file(x509, 1024 * 1024, &buf, &len);
        if (r != WID_OK) {
            fprintf(stderr, "wid: cannot read %s: %s\n", x509,
                    wid_reason_code(r));
            wid_bundle_set_free(set);
            return WID_EXIT_USAGE;
        }
        r = wid_x509_chain_parse(buf, len, &leaf, &rest);
        free(buf);
        if (r == WID_OK) {
            r = wid_x509svid_verify(set, leaf, rest, now, leeway, &id);
            X509_free(leaf);
            sk_X509_pop_free(rest, X509_free);
        }
    } else {
        r = wid_read_token(jwt, &token, &len);
        if (r != WID_OK) {
            fprintf(stderr, "wid: cannot read %s: %s\n", jwt + 1,
                    wid_reason_code(r));
            wid_bundle_set_free(set);
            return WID_EXIT_USAGE;
        }
        memset(&o, 0, sizeof(o));
        o.audience = aud;
        o.now = now;
        o.leeway = leeway;
        o.max_lifetime = lifetime;
        r = wid_jwtsvid_verify_opts(set, token, len, &o, &id);
        free(token);
    }

    wid_print_result(&id, r, json);
    rc = r == WID_OK ? WID_EXIT_OK : wid_exit_for(r);
    wid_bundle_set_free(set);
    return rc;

usage:
    wid_bundle_set_free(set);
    return wid_svid_usage(stderr);
}
