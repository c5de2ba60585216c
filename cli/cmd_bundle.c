/*
 * wid bundle show (TD=FILE | DIR | MAPFILE)... [--json]: load bundles exactly
 * as the verifiers do and print what each trust domain trusts.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bundle.h"
#include "commands.h"

static int
wid_bundle_usage(FILE *out)
{
    fprintf(out, "usage: wid bundle show (TD=FILE | DIR | MAPFILE)..."
            " [--json]\n"
            "       a directory is given alone, never as TD=DIR\n");
    return WID_EXIT_USAGE;
}

static const char *
wid_key_desc(const wid_jws_key *k, char *buf, size_t size)
{
    switch (k->type) {
    case WID_JWS_KEY_RSA:
        snprintf(buf, size, "RSA-%d", EVP_PKEY_get_bits(k->pkey));
        return buf;
    case WID_JWS_KEY_P256:
        return "EC P-256";
    case WID_JWS_KEY_P384:
        return "EC P-384";
    case WID_JWS_KEY_P521:
        return "EC P-521";
    default:
        return "unsupported";
    }
}

static json_t *
wid_x509_json(X509 *x)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int  md_len = 0;
    char          hex[2 * EVP_MAX_MD_SIZE + 1], *subj;
    struct tm     tm;
    char          na[32] = "";
    json_t       *o;

    X509_digest(x, EVP_sha256(), md, &md_len);
    wid_hex(md, md_len, hex);
    subj = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) {
        strftime(na, sizeof(na), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    o = json_pack("{s:s,s:s,s:s,s:b}", "subject", subj ? subj : "",
                  "not_after", na, "sha256", hex,
                  "ca", (X509_get_extension_flags(x) & EXFLAG_CA) != 0);
    OPENSSL_free(subj);
    return o;
}

static json_t *
wid_bundle_json(const wid_bundle *b)
{
    json_t            *o, *srcs, *x5, *jw;
    wid_jwt_authority *a;
    uint64_t           seq;
    int64_t            hint;
    char               desc[32];
    size_t             i;

    srcs = json_array();
    for (i = 0; i < wid_bundle_source_count(b); i++) {
        json_array_append_new(srcs,
            json_pack("{s:s,s:s}", "path", wid_bundle_source_path(b, i),
                      "sha256", wid_bundle_source_sha256(b, i)));
    }
    x5 = json_array();
    for (i = 0; i < wid_bundle_x509_count(b); i++) {
        json_array_append_new(x5, wid_x509_json(wid_bundle_x509_at(b, i)));
    }
    jw = json_array();
    for (i = 0; i < wid_bundle_jwt_count(b); i++) {
        a = wid_bundle_jwt_at(b, i);
        json_array_append_new(jw,
            json_pack("{s:s,s:s}", "kid", a->kid,
                      "key", wid_key_desc(&a->key, desc, sizeof(desc))));
    }
    o = json_pack("{s:s,s:o,s:o,s:o,s:I}", "trust_domain",
                  wid_bundle_trust_domain(b), "sources", srcs,
                  "x509_authorities", x5, "jwt_authorities", jw,
                  "skipped_entries", (json_int_t) wid_bundle_skipped(b));
    if (o != NULL && wid_bundle_sequence(b, &seq)) {
        json_object_set_new(o, "spiffe_sequence",
                            json_integer((json_int_t) seq));
    }
    if (o != NULL && wid_bundle_refresh_hint(b, &hint)) {
        json_object_set_new(o, "spiffe_refresh_hint",
                            json_integer((json_int_t) hint));
    }
    return o;
}

static void
wid_bundle_text(json_t *o)
{
    json_t     *v, *e;
    size_t      i;

    printf("trust_domain: %s\n",
           json_string_value(json_object_get(o, "trust_domain")));
    json_array_foreach(json_object_get(o, "sources"), i, e) {
        printf("  source: %s sha256=%s\n",
               json_string_value(json_object_get(e, "path")),
               json_string_value(json_object_get(e, "sha256")));
    }
    if ((v = json_object_get(o, "spiffe_sequence")) != NULL) {
        printf("  spiffe_sequence: %lld\n",
               (long long) json_integer_value(v));
    }
    if ((v = json_object_get(o, "spiffe_refresh_hint")) != NULL) {
        printf("  spiffe_refresh_hint: %lld\n",
               (long long) json_integer_value(v));
    }
    json_array_foreach(json_object_get(o, "x509_authorities"), i, e) {
        printf("  x509: %s not_after=%s sha256=%s%s\n",
               json_string_value(json_object_get(e, "subject")),
               json_string_value(json_object_get(e, "not_after")),
               json_string_value(json_object_get(e, "sha256")),
               json_is_true(json_object_get(e, "ca")) ? "" : " (not a CA)");
    }
    json_array_foreach(json_object_get(o, "jwt_authorities"), i, e) {
        printf("  jwt: kid=%s %s\n",
               json_string_value(json_object_get(e, "kid")),
               json_string_value(json_object_get(e, "key")));
    }
    if (json_integer_value(json_object_get(o, "skipped_entries")) > 0) {
        printf("  skipped: %lld entries of unknown use or kty\n",
               (long long) json_integer_value(
                   json_object_get(o, "skipped_entries")));
    }
}

int
wid_cmd_bundle(int argc, char **argv)
{
    wid_bundle_set *set;
    json_t         *arr, *o;
    const char     *why;
    int             json = 0, n = 0, i;
    size_t          k;
    wid_reason_t    r;

    if (wid_cli_help(argc, argv)) {
        (void) wid_bundle_usage(stdout);
        return WID_EXIT_OK;
    }
    if (argc < 2 || strcmp(argv[1], "show") != 0) {
        return wid_bundle_usage(stderr);
    }
    set = wid_bundle_set_new();
    if (set == NULL) {
        return WID_EXIT_USAGE;
    }
    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = 1;
            continue;
        }
        if (argv[i][0] == '-') {
            wid_bundle_set_free(set);
            return wid_bundle_usage(stderr);
        }
        r = wid_bundle_set_add_arg(set, argv[i]);
        if (r != WID_OK) {
            why = wid_bundle_arg_explain(argv[i], r);
            if (why == NULL) {
                why = wid_reason_text(r);
            }
            if (json) {
                o = json_pack("{s:s,s:s,s:s,s:s}", "result", "invalid",
                              "bundle", argv[i], "reason",
                              wid_reason_code(r), "message", why);
                json_dumpf(o, stdout, JSON_INDENT(2));
                putchar('\n');
                json_decref(o);
            } else {
                fprintf(stderr, "wid: bundle %s: %s: %s\n", argv[i],
                        wid_reason_code(r), why);
            }
            wid_bundle_set_free(set);
            return wid_exit_for(r);
        }
        n++;
    }
    if (n == 0) {
        wid_bundle_set_free(set);
        return wid_bundle_usage(stderr);
    }

    arr = json_array();
    for (k = 0; k < wid_bundle_set_count(set); k++) {
        json_array_append_new(arr,
                              wid_bundle_json(wid_bundle_set_at(set, k)));
    }
    if (json) {
        o = json_pack("{s:s,s:o}", "result", "valid", "trust_domains", arr);
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(o);
    } else {
        json_array_foreach(arr, k, o) {
            wid_bundle_text(o);
        }
        json_decref(arr);
    }
    wid_bundle_set_free(set);
    return WID_EXIT_OK;
}
