/*
 * wid policy lint | explain | sign | verify
 *
 * explain runs the very evaluator nginx and the SSH helper run
 * (wid_policy_decide); the CLI only builds its input from flags.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "bytes.h"
#include "commands.h"
#include "keyfile.h"
#include "policy.h"
#include "policy_sig.h"

#define WID_ID_MAX 2048

static void
wid_policy_usage(FILE *out)
{
    fprintf(out,
        "usage: wid policy lint FILE [--strict] [--pubkey PUB [--sig SIG]]"
        " [--json]\n"
        "       wid policy explain FILE --rule NAME [--spiffe-id ID"
        " --credential uri|x509_svid|jwt_svid]\n"
        "                          [--operation OP] [--tier T |"
        " --attestation FILE.json] [--now UNIX]\n"
        "                          [--pubkey PUB [--sig SIG]] [--json]\n"
        "       wid policy sign FILE --key KEY [--sig SIG]\n"
        "       wid policy verify FILE --pubkey PUB [--sig SIG] [--json]\n");
}

/* ---- option parsing: FILE first, then --flag [value] pairs ---- */

typedef struct {
    const char *file;
    const char *rule, *spiffe_id, *credential, *operation, *tier;
    const char *attestation, *now, *pubkey, *sig, *key;
    int         json, strict;
} wid_policy_args;

static int
wid_policy_parse_args(int argc, char **argv, wid_policy_args *a)
{
    static const struct {
        const char *flag;
        size_t      off;
    } opts[] = {
        { "--rule", offsetof(wid_policy_args, rule) },
        { "--spiffe-id", offsetof(wid_policy_args, spiffe_id) },
        { "--credential", offsetof(wid_policy_args, credential) },
        { "--operation", offsetof(wid_policy_args, operation) },
        { "--tier", offsetof(wid_policy_args, tier) },
        { "--attestation", offsetof(wid_policy_args, attestation) },
        { "--now", offsetof(wid_policy_args, now) },
        { "--pubkey", offsetof(wid_policy_args, pubkey) },
        { "--sig", offsetof(wid_policy_args, sig) },
        { "--key", offsetof(wid_policy_args, key) },
    };
    int    i;
    size_t j;

    memset(a, 0, sizeof(*a));
    for (i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            a->json = 1;
            continue;
        }
        if (strcmp(argv[i], "--strict") == 0) {
            a->strict = 1;
            continue;
        }
        for (j = 0; j < sizeof(opts) / sizeof(opts[0]); j++) {
            if (strcmp(argv[i], opts[j].flag) == 0) {
                break;
            }
        }
        if (j < sizeof(opts) / sizeof(opts[0])) {
            const char **slot = (const char **) ((char *) a + opts[j].off);

            if (i + 1 >= argc || *slot != NULL) {
                fprintf(stderr, "wid policy: %s needs one value\n",
                        argv[i]);
                return -1;
            }
            *slot = argv[++i];
            continue;
        }
        if (argv[i][0] == '-' || a->file != NULL) {
            fprintf(stderr, "wid policy: unexpected argument '%s'\n",
                    argv[i]);
            return -1;
        }
        a->file = argv[i];
    }
    if (a->file == NULL) {
        fprintf(stderr, "wid policy: missing FILE\n");
        return -1;
    }
    return 0;
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

/* ---- loading, shared by lint and explain ---- */

static void
wid_print_diags(const char *file, const wid_diags *d)
{
    for (unsigned i = 0; i < d->ndiags; i++) {
        const wid_diag *g = &d->diags[i];

        if (g->line != 0) {
            fprintf(stderr, "%s:%u:%u: ", file, g->line, g->column);
        } else {
            fprintf(stderr, "%s: ", file);
        }
        fprintf(stderr, "%s: %s [%s]\n",
                g->severity == WID_DIAG_ERROR ? "error" : "warning",
                g->message, wid_reason_code(g->reason));
    }
    if (d->dropped) {
        fprintf(stderr, "%s: %u more diagnostics not shown\n", file,
                d->dropped);
    }
}

static json_t *
wid_diags_json(const wid_diags *d, wid_diag_severity_t sev)
{
    json_t *arr = json_array();

    for (unsigned i = 0; i < d->ndiags; i++) {
        const wid_diag *g = &d->diags[i];

        if (g->severity != sev) {
            continue;
        }
        json_array_append_new(arr, json_pack("{s:i,s:i,s:s,s:s}",
                              "line", (json_int_t) g->line,
                              "column", (json_int_t) g->column,
                              "code", wid_reason_code(g->reason),
                              "message", g->message));
    }
    return arr;
}

/*
 * Load FILE (signed when --pubkey is given).  Returns the reason; a
 * policy.unreadable or key error is an operational error (exit 2).
 */
static wid_reason_t
wid_policy_cli_load(const wid_policy_args *a, wid_policy **p, wid_diags *d)
{
    wid_policy_load_opts opts = { NULL, a->sig };
    wid_pubkey           pub;
    wid_reason_t         rc;

    if (a->pubkey != NULL) {
        rc = wid_pubkey_load(a->pubkey, &pub);
        if (rc != WID_OK) {
            memset(d, 0, sizeof(*d));
            fprintf(stderr, "wid policy: %s: %s [%s]\n", a->pubkey,
                    wid_reason_text(rc), wid_reason_code(rc));
            return rc;
        }
        opts.required_signer = &pub;
    } else if (a->sig != NULL) {
        fprintf(stderr, "wid policy: --sig needs --pubkey\n");
        return WID_R_INTERNAL_CONFIG;
    }
    return wid_policy_load_file(a->file, &opts, p, d);
}

static int
wid_is_operational(wid_reason_t rc)
{
    const char *code = wid_reason_code(rc);

    return rc == WID_R_POLICY_UNREADABLE || strncmp(code, "key.", 4) == 0
           || strncmp(code, "internal.", 9) == 0;
}

/* ---- lint ---- */

static int
wid_policy_lint(const wid_policy_args *a)
{
    wid_policy   *p = NULL;
    wid_diags     d;
    wid_reason_t  rc, verdict;
    int           exit_code;
    json_t       *j;

    rc = wid_policy_cli_load(a, &p, &d);
    /* Under --strict a warning makes the policy invalid: the text, the
     * JSON and the exit code all say so. */
    verdict = rc == WID_OK && a->strict && d.nwarnings
              ? WID_R_POLICY_LINT_WARNING : rc;
    if (verdict == WID_OK) {
        exit_code = WID_EXIT_OK;
    } else {
        exit_code = wid_is_operational(verdict) ? WID_EXIT_USAGE
                                                : WID_EXIT_REJECTED;
    }

    if (a->json) {
        j = json_pack("{s:s,s:b,s:s,s:o,s:o}",
                      "file", a->file,
                      "valid", verdict == WID_OK,
                      "reason", wid_reason_code(verdict),
                      "errors", wid_diags_json(&d, WID_DIAG_ERROR),
                      "warnings", wid_diags_json(&d, WID_DIAG_WARNING));
        if (p != NULL) {
            json_object_set_new(j, "sha256",
                                json_string(wid_policy_sha256_hex(p)));
            json_object_set_new(j, "signer",
                                json_string(wid_policy_signer(p)));
            json_object_set_new(j, "rules",
                                json_integer((json_int_t)
                                             wid_policy_rule_count(p)));
        }
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(j);
    } else {
        wid_print_diags(a->file, &d);
        if (p != NULL && verdict != WID_OK) {
            fprintf(stderr, "%s: invalid under --strict: %zu rules, %u"
                    " warnings, sha256 %s, %s [%s]\n", a->file,
                    wid_policy_rule_count(p), d.nwarnings,
                    wid_policy_sha256_hex(p), wid_policy_signer(p),
                    wid_reason_code(verdict));
        } else if (p != NULL) {
            printf("%s: ok: %zu rules, %u warnings, sha256 %s, %s\n",
                   a->file, wid_policy_rule_count(p), d.nwarnings,
                   wid_policy_sha256_hex(p), wid_policy_signer(p));
        } else {
            fprintf(stderr, "%s: invalid: %u errors, %u warnings [%s]\n",
                    a->file, d.nerrors, d.nwarnings, wid_reason_code(rc));
        }
    }
    wid_policy_free(p);
    return exit_code;
}

/* ---- explain ---- */

/*
 * Split "spiffe://td/path" for the decision input.  Strict: lowercase
 * trust domain, path segments of [A-Za-z0-9._-], no empty, "." or ".."
 * segment, no trailing slash, no query or fragment.
 */
static int
wid_split_spiffe_id(const char *id, char *td, size_t tdcap, const char **path)
{
    const char *s, *slash;
    size_t      len, i, seg = 0;

    if (strncmp(id, "spiffe://", 9) != 0 || strlen(id) > WID_ID_MAX) {
        return -1;
    }
    s = id + 9;
    slash = strchr(s, '/');
    len = slash ? (size_t) (slash - s) : strlen(s);
    if (len == 0 || len >= tdcap) {
        return -1;
    }
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.'
              || c == '-' || c == '_'))
        {
            return -1;
        }
    }
    memcpy(td, s, len);
    td[len] = '\0';
    *path = s + len;

    s = *path;
    if (*s == '\0') {
        return 0;
    }
    for (i = 1;; i++) {
        char c = s[i];

        if (c == '/' || c == '\0') {
            size_t n = i - seg - 1;

            if (n == 0 || (n == 1 && s[seg + 1] == '.')
                || (n == 2 && s[seg + 1] == '.' && s[seg + 2] == '.'))
            {
                return -1;
            }
            if (c == '\0') {
                return 0;
            }
            seg = i;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
        {
            return -1;
        }
    }
}

/* Attestation claim for what-if runs: a JSON object, see docs/policy.md. */
static int
wid_load_attestation(const char *file, json_t **root,
                     wid_policy_attestation *at)
{
    json_error_t   err;
    json_t        *o, *v;
    const char    *tier = NULL;
    unsigned char *buf;
    size_t         len;
    wid_reason_t   rc;

    /* Through wid_read_file: a FIFO is refused, not waited on. */
    rc = wid_read_file(file, WID_FILE_MAX, &buf, &len);
    if (rc != WID_OK) {
        fprintf(stderr, "wid policy: %s: cannot read (not a readable regular"
                " file of at most 16 MiB) [%s]\n", file, wid_reason_code(rc));
        return -1;
    }
    o = json_loadb((const char *) buf, len, JSON_REJECT_DUPLICATES, &err);
    free(buf);
    if (o == NULL || !json_is_object(o)) {
        fprintf(stderr, "wid policy: %s: not a JSON object (%s)\n", file,
                o ? "wrong type" : err.text);
        json_decref(o);
        return -1;
    }
    memset(at, 0, sizeof(*at));
    at->schema = json_string_value(json_object_get(o, "schema"));
    at->verifier = json_string_value(json_object_get(o, "verifier"));
    at->verifier_family = json_string_value(json_object_get(o,
                                            "verifier_family"));
    at->attestation_type = json_string_value(json_object_get(o,
                                             "attestation_type"));
    at->workload_id = json_string_value(json_object_get(o,
                                        "workload_identity"));
    at->verified_by = json_string_value(json_object_get(o, "verified_by"));
    v = json_object_get(o, "issued_at");
    at->issued_at = json_is_integer(v) ? json_integer_value(v) : 0;
    if (!json_is_integer(v)
        || !json_is_integer(json_object_get(o, "expires_at")))
    {
        fprintf(stderr, "wid policy: %s: issued_at and expires_at must be "
                "integers (Unix seconds)\n", file);
        json_decref(o);
        return -1;
    }
    at->expires_at = json_integer_value(json_object_get(o, "expires_at"));
    tier = json_string_value(json_object_get(o, "tier"));
    if (tier != NULL && wid_tier_from_name(tier, &at->claimed_tier) != 0) {
        fprintf(stderr, "wid policy: %s: unknown tier '%s'\n", file, tier);
        json_decref(o);
        return -1;
    }
    if (at->schema == NULL || at->verifier == NULL
        || at->attestation_type == NULL)
    {
        fprintf(stderr, "wid policy: %s: schema, verifier and "
                "attestation_type are required strings\n", file);
        json_decref(o);
        return -1;
    }
    *root = o;
    return 0;
}

static json_t *
wid_str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *
wid_decision_json(const wid_policy_args *a, const wid_policy_input *in,
                  const wid_policy_decision *d)
{
    json_t *j, *notes;

    j = json_object();
    json_object_set_new(j, "verdict", json_string(wid_verdict_name(d->verdict)));
    json_object_set_new(j, "reason", json_string(wid_reason_code(d->reason)));
    json_object_set_new(j, "reason_text",
                        json_string(wid_reason_text(d->reason)));
    json_object_set_new(j, "rule", json_string(in->rule));
    json_object_set_new(j, "operation", wid_str_or_null(in->operation));
    if (in->identity != NULL) {
        json_object_set_new(j, "identity", json_pack("{s:s,s:s,s:s,s:s}",
            "spiffe_id", in->identity->spiffe_id,
            "trust_domain", in->identity->trust_domain,
            "path", in->identity->path,
            "credential_kind", wid_cred_kind_name(in->identity->kind)));
    } else {
        json_object_set_new(j, "identity", json_null());
    }
    if (d->failed != NULL) {
        json_object_set_new(j, "failed", json_pack("{s:s,s:i,s:i}",
            "requirement", d->failed,
            "line", (json_int_t) d->failed_line,
            "column", (json_int_t) d->failed_column));
    } else {
        json_object_set_new(j, "failed", json_null());
    }
    if (d->soft_evaluated) {
        notes = json_array();
        for (unsigned i = 0; i < d->nnotes; i++) {
            json_array_append_new(notes, json_pack("{s:s,s:s}",
                "reason", wid_reason_code(d->notes[i].reason),
                "requirement", d->notes[i].requirement));
        }
        json_object_set_new(j, "soft_match", json_pack("{s:b,s:o}",
            "matched", d->soft_matched, "notes", notes));
    } else {
        json_object_set_new(j, "soft_match", json_null());
    }
    json_object_set_new(j, "tier", json_pack("{s:s,s:s,s:o,s:o,s:o}",
        "required", wid_tier_name(d->required_tier),
        "effective", wid_tier_name(d->effective_tier),
        "verifier", wid_str_or_null(d->verifier),
        "evidence_reason", d->evidence_reason == WID_OK ? json_null()
                           : json_string(wid_reason_code(d->evidence_reason)),
        "profile", wid_str_or_null(d->tier_profile)));
    json_object_set_new(j, "max_ttl_seconds",
                        d->max_ttl_seconds ? json_integer(d->max_ttl_seconds)
                                           : json_null());
    json_object_set_new(j, "policy", json_pack("{s:s,s:o,s:o}",
        "file", a->file,
        "sha256", wid_str_or_null(d->policy_hash_hex),
        "signer", wid_str_or_null(d->signer)));
    return j;
}

static void
wid_decision_print(const wid_policy_args *a, const wid_policy_input *in,
                   const wid_policy_decision *d)
{
    printf("verdict:   %s\n", wid_verdict_name(d->verdict));
    printf("reason:    %s (%s)\n", wid_reason_code(d->reason),
           wid_reason_text(d->reason));
    printf("rule:      %s\n", in->rule);
    printf("operation: %s\n", in->operation ? in->operation : "(none)");
    if (in->identity != NULL) {
        printf("identity:  %s (%s)\n", in->identity->spiffe_id,
               wid_cred_kind_name(in->identity->kind));
    } else {
        printf("identity:  (none)\n");
    }
    if (d->failed != NULL) {
        if (d->failed_line != 0) {
            printf("failed:    %s at %s:%u:%u\n", d->failed, a->file,
                   d->failed_line, d->failed_column);
        } else {
            printf("failed:    %s\n", d->failed);
        }
    }
    if (d->soft_evaluated) {
        printf("soft:      prefer_workload_identity %s\n",
               d->soft_matched ? "matched" : "did not match");
        for (unsigned i = 0; i < d->nnotes; i++) {
            printf("           - %s (%s)\n", d->notes[i].requirement,
                   wid_reason_code(d->notes[i].reason));
        }
    }
    printf("tier:      effective %s, required %s",
           wid_tier_name(d->effective_tier), wid_tier_name(d->required_tier));
    if (d->verifier != NULL) {
        printf(", verifier %s", d->verifier);
    }
    if (d->evidence_reason != WID_OK) {
        printf(", evidence %s", wid_reason_code(d->evidence_reason));
    }
    if (d->tier_profile != NULL) {
        printf(", profile %s", d->tier_profile);
    }
    printf("\n");
    if (d->max_ttl_seconds != 0) {
        printf("max ttl:   %u s\n", d->max_ttl_seconds);
    }
    if (d->policy_hash_hex != NULL) {
        printf("policy:    %s sha256 %s, %s\n", a->file, d->policy_hash_hex,
               d->signer);
    }
}

static int
wid_policy_explain(const wid_policy_args *a)
{
    wid_policy             *p = NULL;
    wid_diags               d;
    wid_reason_t            rc;
    wid_policy_identity     id;
    wid_policy_attestation  at;
    wid_policy_input        in;
    wid_policy_decision     dec;
    char                    td[256];
    json_t                 *att_json = NULL, *j;
    int                     exit_code;

    memset(&in, 0, sizeof(in));
    if (a->rule == NULL) {
        fprintf(stderr, "wid policy explain: --rule is required\n");
        return WID_EXIT_USAGE;
    }
    if ((a->spiffe_id == NULL) != (a->credential == NULL)) {
        fprintf(stderr, "wid policy explain: --spiffe-id and --credential "
                "go together\n");
        return WID_EXIT_USAGE;
    }
    if (a->tier != NULL && a->attestation != NULL) {
        fprintf(stderr, "wid policy explain: --tier (what-if) and "
                "--attestation exclude each other\n");
        return WID_EXIT_USAGE;
    }
    in.rule = a->rule;
    in.operation = a->operation;
    if (a->spiffe_id != NULL) {
        memset(&id, 0, sizeof(id));
        if (wid_split_spiffe_id(a->spiffe_id, td, sizeof(td), &id.path) != 0)
        {
            fprintf(stderr, "wid policy explain: '%s' is not a valid SPIFFE "
                    "ID\n", a->spiffe_id);
            return WID_EXIT_USAGE;
        }
        if (wid_cred_kind_from_name(a->credential, &id.kind) != 0) {
            fprintf(stderr, "wid policy explain: --credential must be uri, "
                    "x509_svid or jwt_svid\n");
            return WID_EXIT_USAGE;
        }
        id.spiffe_id = a->spiffe_id;
        id.trust_domain = td;
        in.identity = &id;
    }
    if (a->tier != NULL) {
        if (wid_tier_from_name(a->tier, &in.assumed_tier) != 0) {
            fprintf(stderr, "wid policy explain: unknown tier '%s'\n",
                    a->tier);
            return WID_EXIT_USAGE;
        }
        in.assume_tier = 1;
    }
    in.now = (int64_t) time(NULL);
    if (a->now != NULL && wid_parse_i64(a->now, &in.now) != 0) {
        fprintf(stderr, "wid policy explain: --now must be Unix seconds\n");
        return WID_EXIT_USAGE;
    }
    if (a->attestation != NULL) {
        if (wid_load_attestation(a->attestation, &att_json, &at) != 0) {
            return WID_EXIT_USAGE;
        }
        in.attestation = &at;
    }

    rc = wid_policy_cli_load(a, &p, &d);
    if (rc != WID_OK) {
        wid_print_diags(a->file, &d);
        fprintf(stderr, "%s: policy not loaded [%s]\n", a->file,
                wid_reason_code(rc));
        json_decref(att_json);
        return wid_is_operational(rc) ? WID_EXIT_USAGE : WID_EXIT_REJECTED;
    }

    (void) wid_policy_decide(p, &in, &dec);
    if (a->json) {
        j = wid_decision_json(a, &in, &dec);
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(j);
    } else {
        wid_decision_print(a, &in, &dec);
    }
    if (dec.verdict != WID_VERDICT_ALLOW) {
        fprintf(stderr, "deny: %s\n", wid_reason_code(dec.reason));
    }
    exit_code = dec.verdict == WID_VERDICT_ALLOW ? WID_EXIT_OK
                                                 : WID_EXIT_REJECTED;
    wid_policy_free(p);
    json_decref(att_json);
    return exit_code;
}

/* ---- sign / verify ---- */

/* Write atomically: a reader never sees half a signature. */
static int
wid_write_file_atomic(const char *path, const char *data, size_t len)
{
    char   *tmp = NULL;
    int     fd, ok = -1;
    ssize_t n;
    size_t  off = 0;

    if (asprintf(&tmp, "%s.tmp.%ld", path, (long) getpid()) < 0) {
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0644);
    if (fd < 0) {
        free(tmp);
        return -1;
    }
    while (off < len) {
        n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        off += (size_t) n;
    }
    if (off == len && fsync(fd) == 0 && close(fd) == 0) {
        fd = -1;
        if (rename(tmp, path) == 0) {
            ok = 0;
        }
    }
    if (fd >= 0) {
        close(fd);
    }
    if (ok != 0) {
        unlink(tmp);
    }
    free(tmp);
    return ok;
}

static int
wid_policy_sign(const wid_policy_args *a)
{
    wid_seckey     key;
    unsigned char *bytes = NULL;
    size_t         len, sig_len;
    char          *sig = NULL, *sig_path = NULL, kid[WID_KEY_ID_HEX_LEN + 1];
    unsigned char  hash[WID_POLICY_HASH_LEN];
    wid_reason_t   rc;
    int            exit_code = WID_EXIT_USAGE;

    if (a->key == NULL) {
        fprintf(stderr, "wid policy sign: --key KEY is required\n");
        return WID_EXIT_USAGE;
    }
    rc = wid_read_file(a->file, WID_POLICY_MAX_BYTES, &bytes, &len);
    if (rc != WID_OK) {
        fprintf(stderr, "wid policy sign: %s: cannot read [%s]\n", a->file,
                wid_reason_code(WID_R_POLICY_UNREADABLE));
        return WID_EXIT_USAGE;
    }
    rc = wid_seckey_load(a->key, &key);
    if (rc != WID_OK) {
        fprintf(stderr, "wid policy sign: %s: %s [%s]\n", a->key,
                wid_reason_text(rc), wid_reason_code(rc));
        free(bytes);
        return WID_EXIT_USAGE;
    }
    rc = wid_policy_sig_create(bytes, len, &key, &sig, &sig_len);
    wid_pubkey_id(&key.pub, kid);
    wid_seckey_wipe(&key);
    if (rc != WID_OK) {
        fprintf(stderr, "wid policy sign: [%s]\n", wid_reason_code(rc));
        goto out;
    }
    if (a->sig == NULL && asprintf(&sig_path, "%s.sig", a->file) < 0) {
        sig_path = NULL;
        goto out;
    }
    if (wid_write_file_atomic(a->sig ? a->sig : sig_path, sig, sig_len) != 0)
    {
        fprintf(stderr, "wid policy sign: cannot write %s: %s\n",
                a->sig ? a->sig : sig_path, strerror(errno));
        goto out;
    }
    wid_policy_hash(bytes, len, hash);
    printf("signed %s: sha256 ", a->file);
    for (size_t i = 0; i < sizeof(hash); i++) {
        printf("%02x", hash[i]);
    }
    printf(", key-id %s, signature %s\n", kid, a->sig ? a->sig : sig_path);
    exit_code = WID_EXIT_OK;
out:
    free(sig_path);
    free(sig);
    free(bytes);
    return exit_code;
}

static int
wid_policy_verify(const wid_policy_args *a)
{
    wid_pubkey     pub;
    unsigned char *bytes = NULL, *sig = NULL;
    size_t         len, sig_len;
    char          *sig_path = NULL, kid[WID_KEY_ID_HEX_LEN + 1] = "";
    char           want[WID_KEY_ID_HEX_LEN + 1];
    char           hex[2 * WID_POLICY_HASH_LEN + 1];
    unsigned char  hash[WID_POLICY_HASH_LEN];
    wid_reason_t   rc;
    int            exit_code = WID_EXIT_USAGE;
    json_t        *j;

    if (a->pubkey == NULL) {
        fprintf(stderr, "wid policy verify: --pubkey PUB is required\n");
        return WID_EXIT_USAGE;
    }
    rc = wid_pubkey_load(a->pubkey, &pub);
    if (rc != WID_OK) {
        fprintf(stderr, "wid policy verify: %s: %s [%s]\n", a->pubkey,
                wid_reason_text(rc), wid_reason_code(rc));
        return WID_EXIT_USAGE;
    }
    if (wid_read_file(a->file, WID_POLICY_MAX_BYTES, &bytes, &len) != WID_OK)
    {
        fprintf(stderr, "wid policy verify: %s: cannot read [%s]\n", a->file,
                wid_reason_code(WID_R_POLICY_UNREADABLE));
        return WID_EXIT_USAGE;
    }
    if (a->sig == NULL && asprintf(&sig_path, "%s.sig", a->file) < 0) {
        free(bytes);
        return WID_EXIT_USAGE;
    }
    if (wid_read_file(a->sig ? a->sig : sig_path, WID_POLICY_SIG_MAX, &sig,
                      &sig_len) != WID_OK)
    {
        rc = WID_R_POLICY_SIG_MISSING;
    } else {
        rc = wid_policy_sig_verify(bytes, len, sig, sig_len, &pub, kid);
    }
    exit_code = rc == WID_OK ? WID_EXIT_OK : WID_EXIT_REJECTED;

    wid_policy_hash(bytes, len, hash);
    for (size_t i = 0; i < sizeof(hash); i++) {
        snprintf(hex + 2 * i, 3, "%02x", hash[i]);
    }
    wid_pubkey_id(&pub, want);
    if (a->json) {
        j = json_pack("{s:s,s:b,s:s,s:s,s:s,s:s}",
                      "file", a->file, "valid", rc == WID_OK,
                      "reason", wid_reason_code(rc), "sha256", hex,
                      "key_id", want, "signed_by", kid);
        json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        putchar('\n');
        json_decref(j);
    } else if (rc == WID_OK) {
        printf("%s: valid signature by key-id %s, sha256 %s\n", a->file, kid,
               hex);
    }
    if (rc != WID_OK) {
        fprintf(stderr, "%s: %s%s%s [%s]\n", a->file, wid_reason_text(rc),
                kid[0] ? "; signature names key-id " : "", kid,
                wid_reason_code(rc));
    }
    free(sig_path);
    free(sig);
    free(bytes);
    return exit_code;
}

int
wid_cmd_policy(int argc, char **argv)
{
    wid_policy_args a;

    if (argc < 2) {
        wid_policy_usage(stderr);
        return WID_EXIT_USAGE;
    }
    if (wid_cli_help(argc, argv)) {
        wid_policy_usage(stdout);
        return WID_EXIT_OK;
    }
    if (wid_policy_parse_args(argc, argv, &a) != 0) {
        wid_policy_usage(stderr);
        return WID_EXIT_USAGE;
    }
    if (strcmp(argv[1], "lint") == 0) {
        return wid_policy_lint(&a);
    }
    if (strcmp(argv[1], "explain") == 0) {
        return wid_policy_explain(&a);
    }
    if (strcmp(argv[1], "sign") == 0) {
        return wid_policy_sign(&a);
    }
    if (strcmp(argv[1], "verify") == 0) {
        return wid_policy_verify(&a);
    }
    fprintf(stderr, "wid policy: unknown subcommand '%s'\n", argv[1]);
    wid_policy_usage(stderr);
    return WID_EXIT_USAGE;
}
