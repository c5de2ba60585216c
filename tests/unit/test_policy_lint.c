/*
 * The loader refuses anything that could silently weaken a policy, and
 * says where: file:line:column with a reason code.  Also: the shipped
 * examples lint clean, the ssh block and verifiers read back exactly,
 * and the policy's identity is the SHA-256 of its bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/sha.h>

#include "bytes.h"
#include "policy.h"

typedef struct {
    const char *yaml;
    const char *code;       /* expected reason of the load */
    unsigned    line, column;
    const char *message;    /* substring of that diagnostic */
} lint_case;

#define R "rules:\n  r:\n    allow: [a]\n"

static const lint_case bad[] = {
    /* typos never pass */
    { "rules:\n  r:\n    alow: [a]\n", "policy.unknown_key", 3, 5,
      "did you mean 'allow'" },
    { "rules:\n  r:\n    allow: [a]\n    require_workload_identity:\n"
      "      trust_domian: x.org\n", "policy.unknown_key", 5, 7,
      "did you mean 'trust_domain'" },
    { "rule:\n  r:\n    allow: [a]\n", "policy.unknown_key", 1, 1,
      "did you mean 'rules'" },
    { R "extensions:\n  runtime_assurence: {}\n", "policy.unknown_key", 5, 3,
      "runtime_assurance" },
    { R "    ssh:\n      principals: [a]\n      max_ttl_seconds: 60\n"
        "      force_comand: x\n", "policy.unknown_key", 7, 7,
      "force_command" },
    { R "extensions:\n  runtime_assurance:\n    trusted_verifiers:\n"
        "      t:\n        schema: s\n        verifier: v\n"
        "        effective_tier: basic\n        max_evidence_age: 5\n"
        "        allowed_attestation_types: [x]\n", "policy.unknown_key",
      11, 9, "max_evidence_age_seconds" },
    /* duplicates */
    { "rules:\n  r:\n    allow: [a]\n    allow: [b]\n",
      "policy.duplicate_key", 4, 5, "first set at line 3" },
    { "rules:\n  r:\n    allow: [a]\n  r:\n    default: allow\n",
      "policy.duplicate_key", 4, 3, "duplicate entry 'r'" },
    { "rules:\n  r:\n    allow: [a, b, a]\n", "policy.duplicate_key", 3, 19,
      "lists 'a' twice" },
    { R "extensions:\n  runtime_assurance:\n    tiers:\n"
        "      one: {minimum_attestation_tier: basic}\n"
        "      two: {minimum_attestation_tier: basic}\n",
      "policy.duplicate_key", 8, 7, "same minimum_attestation_tier" },
    /* YAML features that change meaning */
    { "rules:\n  r: &x\n    allow: [a]\n", "policy.yaml_feature_forbidden",
      2, 6, "anchors" },
    { "rules:\n  r:\n    allow: [a]\n  s: *x\n",
      "policy.yaml_feature_forbidden", 4, 6, "" },
    { "rules:\n  r:\n    <<: {allow: [a]}\n", "policy.yaml_feature_forbidden",
      3, 5, "merge keys" },
    { "rules:\n  r:\n    allow: !!seq [a]\n", "policy.yaml_feature_forbidden",
      3, 12, "tags" },
    { R "---\n" R, "policy.yaml_feature_forbidden", 4, 1,
      "exactly one YAML document" },
    /* syntax */
    { "rules:\n  r:\n    allow: [a\n", "policy.syntax_error", 4, 1,
      "YAML syntax" },
    { "rules:\n\tr: {}\n", "policy.syntax_error", 2, 1, "YAML syntax" },
    /* wrong types */
    { "rules:\n  r:\n    enabled: yes\n    allow: [a]\n",
      "policy.wrong_type", 3, 14, "true or false" },
    { "rules:\n  r:\n    enabled: \"true\"\n    allow: [a]\n",
      "policy.wrong_type", 3, 14, "true or false" },
    { "rules:\n  r:\n    allow: a\n", "policy.wrong_type", 3, 12,
      "must be a list" },
    { "rules: [a]\n", "policy.wrong_type", 1, 8, "mapping" },
    { "rules:\n  r: 5\n", "policy.wrong_type", 2, 6, "mapping" },
    { R "    ssh:\n      principals: [a]\n      max_ttl_seconds: \"60\"\n",
      "policy.wrong_type", 6, 24, "unquoted integer" },
    { R "    ssh:\n      principals: [a]\n      max_ttl_seconds: 1e3\n",
      "policy.wrong_type", 6, 24, "decimal integer" },
    { R "    require_workload_identity:\n      trust_domain:\n",
      "policy.wrong_type", 5, 20, "empty (null)" },
    { "[1, 2]\n", "policy.wrong_type", 1, 1, "mapping" },
    /* impossible values */
    { R "    require_runtime_assurance_tier: gold\n", "policy.bad_value", 4, 37,
      "unknown tier 'gold'" },
    { R "    default: deny\n", "policy.bad_value", 4, 14, "block or allow" },
    { "rules:\n  r:\n    allow: []\n", "policy.bad_value", 3, 12,
      "empty list" },
    { "rules:\n  r:\n    allow: ['get*']\n", "policy.bad_value", 3, 12,
      "no globs" },
    { "rules:\n  r:\n    allow: ['a b']\n", "policy.bad_value", 3, 13,
      "not allowed" },
    { "rules: {}\n", "policy.bad_value", 1, 8, "at least one rule" },
    { R "    require_workload_identity:\n      scheme: x509\n"
        "      trust_domain: a.org\n", "policy.bad_value", 5, 15,
      "only 'spiffe'" },
    { R "    require_workload_identity:\n      trust_domain: Prod.Org\n",
      "policy.bad_value", 5, 21, "lowercase" },
    { R "    require_workload_identity:\n      trust_domain: a.org\n"
        "      path_prefixes: [payments]\n", "policy.bad_value", 6, 23,
      "not a SPIFFE path prefix" },
    { R "    require_workload_identity:\n      trust_domain: a.org\n"
        "      path_prefixes: [/a/../b]\n", "policy.bad_value", 6, 23,
      "not a SPIFFE path prefix" },
    { R "    require_workload_identity:\n      trust_domain: a.org\n"
        "      path_prefixes: []\n", "policy.bad_value", 6, 22,
      "empty list" },
    { R "    require_workload_identity:\n      trust_domain: a.org\n"
        "      credential_kinds: [x509]\n", "policy.bad_value", 6, 26,
      "unknown credential kind" },
    { R "    ssh:\n      principals: [a]\n      max_ttl_seconds: -60\n",
      "policy.bad_value", 6, 24, "positive" },
    { R "    ssh:\n      principals: [a]\n      max_ttl_seconds: 0\n",
      "policy.bad_value", 6, 24, "between 1 and" },
    { R "    ssh:\n      principals: [a]\n      max_ttl_seconds: 9999999\n",
      "policy.bad_value", 6, 24, "between 1 and" },
    { R "    ssh:\n      principals: []\n      max_ttl_seconds: 60\n",
      "policy.bad_value", 5, 19, "empty list" },
    { R "    ssh:\n      principals: [\"root admin\"]\n"
        "      max_ttl_seconds: 60\n", "policy.bad_value", 5, 20,
      "not allowed" },
    { R "    ssh:\n      principals: [\"a,b\"]\n      max_ttl_seconds: 60\n",
      "policy.bad_value", 5, 20, "not allowed" },
    { R "    ssh:\n      principals: [\"#a\"]\n      max_ttl_seconds: 60\n",
      "policy.bad_value", 5, 20, "not allowed" },
    { R "    ssh:\n      principals: [\"a\\0b\"]\n      max_ttl_seconds: 60\n",
      "policy.bad_value", 5, 20, "NUL byte" },
    { R "    ssh:\n      principals: [-oProxyCommand]\n"
        "      max_ttl_seconds: 60\n", "policy.bad_value", 5, 20,
      "must not start with '-'" },
    { R "    ssh:\n      principals: [a]\n      max_ttl_seconds: 60\n"
        "      source_address: [10.0.0.1/8]\n", "policy.bad_value", 7, 24,
      "host bits" },
    { R "    ssh:\n      principals: [a]\n      max_ttl_seconds: 60\n"
        "      source_address: [10.0.0.0/33]\n", "policy.bad_value", 7, 24,
      "exceeds 32" },
    { R "    ssh:\n      principals: [a]\n      max_ttl_seconds: 60\n"
        "      source_address: [example.org]\n", "policy.bad_value", 7, 24,
      "not an IPv4 or IPv6" },
    { R "    ssh:\n      principals: [a]\n      max_ttl_seconds: 60\n"
        "      extensions: [permit-root]\n", "policy.bad_value", 7, 20,
      "is not one of" },
    { R "    ssh:\n      principals: [a]\n      max_ttl_seconds: 60\n"
        "      force_command: \"a\\nb\"\n", "policy.bad_value", 7, 22,
      "control character" },
    { R "extensions:\n  runtime_assurance:\n    trusted_verifiers:\n"
        "      t:\n        schema: s\n        verifier: v\n"
        "        effective_tier: basic\n        max_evidence_age_seconds: 5\n"
        "        allowed_attestation_types: [x]\n        key: nope\n",
      "policy.bad_value", 13, 14, "PEM public key" },
    /* A key no attestation result can be verified with (P-256; results
     * are Ed25519) would leave the entry unable to grant anything. */
    { R "extensions:\n  runtime_assurance:\n    trusted_verifiers:\n"
        "      t:\n        schema: s\n        verifier: v\n"
        "        effective_tier: basic\n        max_evidence_age_seconds: 5\n"
        "        allowed_attestation_types: [x]\n        key: |\n"
        "          -----BEGIN PUBLIC KEY-----\n"
        "          MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1yxdbKJtKwx1s4rdNOuN3DZJWSbH\n"
        "          1O2kjs1pmAJRdxK5v4T9CjhCm/VsX2+b9SqvGrRTgK7+kbii/RgGd84lbA==\n"
        "          -----END PUBLIC KEY-----\n",
      "policy.bad_value", 13, 14, "Ed25519 PEM public key" },
    { R "extensions:\n  runtime_assurance:\n    trusted_verifiers:\n"
        "      t:\n        schema: s\n        verifier: v\n"
        "        effective_tier: basic\n        max_evidence_age_seconds: 5\n"
        "        allowed_attestation_types: []\n", "policy.bad_value", 12, 36,
      "empty list" },
    { "version: 2\n" R, "policy.bad_value", 1, 10, "between 1 and 1" },
    /* missing keys */
    { R "    require_workload_identity:\n      path_prefixes: [/a]\n",
      "policy.missing_key", 5, 7, "'trust_domain'" },
    { R "    ssh:\n      principals: [a]\n", "policy.missing_key", 5, 7,
      "'max_ttl_seconds'" },
    { R "extensions:\n  runtime_assurance:\n    trusted_verifiers:\n"
        "      t:\n        schema: s\n        verifier: v\n"
        "        effective_tier: basic\n"
        "        allowed_attestation_types: [x]\n", "policy.missing_key", 8, 9,
      "'max_evidence_age_seconds'" },
    { R "extensions:\n  runtime_assurance:\n    tiers:\n      t: {}\n",
      "policy.missing_key", 7, 10, "'minimum_attestation_tier'" },
    { "version: 1\n", "policy.missing_key", 1, 1, "'rules'" },
    { "", "policy.missing_key", 1, 1, "empty" },
    { "# only a comment\n", "policy.missing_key", 1, 1, "empty" },
};

static void
test_bad_policies(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const lint_case *c = &bad[i];
        wid_policy      *p = (wid_policy *) 1;
        wid_diags        d;
        wid_reason_t     rc;
        unsigned         j;

        rc = wid_policy_load_bytes((const unsigned char *) c->yaml,
                                   strlen(c->yaml), &p, &d);
        if (rc == WID_OK || p != NULL) {
            fail_msg("case %zu loaded:\n%s", i, c->yaml);
        }
        if (strcmp(wid_reason_code(rc), c->code) != 0) {
            fail_msg("case %zu: %s, want %s", i, wid_reason_code(rc),
                     c->code);
        }
        for (j = 0; j < d.ndiags; j++) {
            const wid_diag *g = &d.diags[j];

            if (g->severity == WID_DIAG_ERROR
                && strcmp(wid_reason_code(g->reason), c->code) == 0
                && g->line == c->line && g->column == c->column
                && strstr(g->message, c->message) != NULL)
            {
                break;
            }
        }
        if (j == d.ndiags) {
            for (j = 0; j < d.ndiags; j++) {
                fprintf(stderr, "  %u:%u %s [%s]\n", d.diags[j].line,
                        d.diags[j].column, d.diags[j].message,
                        wid_reason_code(d.diags[j].reason));
            }
            fail_msg("case %zu: no %s at %u:%u containing '%s'", i, c->code,
                     c->line, c->column, c->message);
        }
        assert_true(d.nerrors >= 1);
    }
}

#define ED25519_KEY_W \
    "        key: |\n" \
    "          -----BEGIN PUBLIC KEY-----\n" \
    "          MCowBQYDK2VwAyEAfL6wEndbhX9MTJsmcFv7xQzvP+PWQDw20rezSZ5nJms=\n" \
    "          -----END PUBLIC KEY-----\n"

/* Valid, but something can never take effect: warnings, not errors. */
static const lint_case warn[] = {
    { "rules:\n  r:\n    default: block\n", NULL, 2, 3, "allows no operation" },
    { "rules:\n  r:\n    allow: [a, b]\n    deny: [b]\n", NULL, 3, 12,
      "deny wins" },
    { "rules:\n  r:\n    allow: ['*', a]\n", NULL, 3, 12, "add nothing" },
    { R "    require_runtime_assurance_tier: verified\n", NULL, 4, 37,
      "no trusted verifier grants it" },
    { R "    require_runtime_assurance_tier: verified\n"
        "extensions:\n  runtime_assurance:\n    trusted_verifiers:\n"
        "      t:\n        schema: s\n        verifier: v\n"
        "        effective_tier: attested\n        max_evidence_age_seconds: 5\n"
        "        allowed_attestation_types: [x]\n", NULL, 4, 37,
      "no trusted verifier grants it" },
    { R "extensions:\n  runtime_assurance:\n    trusted_verifiers:\n"
        "      a: {schema: s, verifier: v, effective_tier: basic,"
        " max_evidence_age_seconds: 5, allowed_attestation_types: [x]}\n"
        "      b: {schema: s, verifier: v, verifier_family: f,"
        " effective_tier: verified, max_evidence_age_seconds: 5,"
        " allowed_attestation_types: [x]}\n", NULL, 8, 7,
      "can never match" },
    /* A keyless verifier can never grant its tier ... */
    { R "extensions:\n  runtime_assurance:\n    trusted_verifiers:\n"
        "      t:\n        schema: s\n        verifier: v\n"
        "        effective_tier: basic\n        max_evidence_age_seconds: 5\n"
        "        allowed_attestation_types: [x]\n", NULL, 7, 7,
      "has no key: it can never grant a tier" },
    /* ... so it does not make a required tier reachable. */
    { R "    require_runtime_assurance_tier: basic\n"
        "extensions:\n  runtime_assurance:\n    trusted_verifiers:\n"
        "      t:\n        schema: s\n        verifier: v\n"
        "        effective_tier: verified\n        max_evidence_age_seconds: 5\n"
        "        allowed_attestation_types: [x]\n", NULL, 4, 37,
      "no trusted verifier grants it" },
    /* ... nor does a keyed entry that an earlier one always shadows. */
    { R "    require_runtime_assurance_tier: verified\n"
        "extensions:\n  runtime_assurance:\n    trusted_verifiers:\n"
        "      distrust:\n        schema: s\n        verifier: v\n"
        "        effective_tier: none\n        max_evidence_age_seconds: 5\n"
        "        allowed_attestation_types: [x]\n"
        "      t:\n        schema: s\n        verifier: v\n"
        "        effective_tier: verified\n        max_evidence_age_seconds: 5\n"
        "        allowed_attestation_types: [x]\n" ED25519_KEY_W, NULL, 4, 37,
      "no trusted verifier grants it" },
};

/* Valid and without warnings: a keyed verifier grants the tier a rule
 * requires; a keyless entry with effective_tier none (an explicit
 * distrust, which shadows later entries) grants nothing by design. */
#define ED25519_KEY \
    "        key: |\n" \
    "          -----BEGIN PUBLIC KEY-----\n" \
    "          MCowBQYDK2VwAyEAfL6wEndbhX9MTJsmcFv7xQzvP+PWQDw20rezSZ5nJms=\n" \
    "          -----END PUBLIC KEY-----\n"

static const char *const clean[] = {
    R "    require_runtime_assurance_tier: verified\n"
      "extensions:\n  runtime_assurance:\n    trusted_verifiers:\n"
      "      t:\n        schema: s\n        verifier: v\n"
      "        effective_tier: verified\n        max_evidence_age_seconds: 5\n"
      "        allowed_attestation_types: [x]\n" ED25519_KEY,
    R "    require_runtime_assurance_tier: basic\n"
      "extensions:\n  runtime_assurance:\n    trusted_verifiers:\n"
      "      legacy:\n        schema: s\n        verifier: old\n"
      "        effective_tier: none\n        max_evidence_age_seconds: 5\n"
      "        allowed_attestation_types: [x]\n"
      "      t:\n        schema: s\n        verifier: v\n"
      "        effective_tier: basic\n        max_evidence_age_seconds: 5\n"
      "        allowed_attestation_types: [x]\n" ED25519_KEY,
};

static void
test_clean(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof(clean) / sizeof(clean[0]); i++) {
        wid_policy *p = NULL;
        wid_diags   d;

        if (wid_policy_load_bytes((const unsigned char *) clean[i],
                                  strlen(clean[i]), &p, &d) != WID_OK)
        {
            fail_msg("clean case %zu did not load: %s", i,
                     d.ndiags ? d.diags[0].message : "?");
        }
        if (d.ndiags != 0) {
            fail_msg("clean case %zu: %u:%u: %s", i, d.diags[0].line,
                     d.diags[0].column, d.diags[0].message);
        }
        wid_policy_free(p);
    }
}

static void
test_warnings(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof(warn) / sizeof(warn[0]); i++) {
        const lint_case *c = &warn[i];
        wid_policy      *p = NULL;
        wid_diags        d;
        unsigned         j;

        if (wid_policy_load_bytes((const unsigned char *) c->yaml,
                                  strlen(c->yaml), &p, &d) != WID_OK)
        {
            fail_msg("warning case %zu did not load: %s", i,
                     d.ndiags ? d.diags[0].message : "?");
        }
        assert_int_equal(d.nerrors, 0);
        for (j = 0; j < d.ndiags; j++) {
            if (d.diags[j].severity == WID_DIAG_WARNING
                && d.diags[j].reason == WID_R_POLICY_LINT_WARNING
                && d.diags[j].line == c->line
                && d.diags[j].column == c->column
                && strstr(d.diags[j].message, c->message) != NULL)
            {
                break;
            }
        }
        if (j == d.ndiags) {
            fail_msg("warning case %zu: nothing at %u:%u containing '%s'",
                     i, c->line, c->column, c->message);
        }
        wid_policy_free(p);
    }
}

/* Several errors are all reported, in file order. */
static void
test_many_errors_in_order(void **state)
{
    static const char y[] =
        "rules:\n"
        "  r:\n"
        "    alow: [a]\n"
        "    enabled: maybe\n"
        "    require_runtime_assurance_tier: high\n";
    wid_policy *p;
    wid_diags   d;

    (void) state;
    assert_int_not_equal(wid_policy_load_bytes((const unsigned char *) y,
                                               sizeof(y) - 1, &p, &d),
                         WID_OK);
    assert_null(p);
    assert_int_equal(d.nerrors, 3);
    assert_int_equal(d.diags[0].line, 2);       /* warning: no operation */
    assert_int_equal(d.diags[1].line, 3);
    assert_int_equal(d.diags[2].line, 4);
    assert_int_equal(d.diags[3].line, 5);
}

static void
test_limits(void **state)
{
    wid_policy *p;
    wid_diags   d;
    char       *deep, *big;
    size_t      i, n = 0;

    (void) state;
    /* Nesting beyond the bound is refused, not recursed into. */
    deep = malloc(4096);
    assert_non_null(deep);
    n += (size_t) sprintf(deep, "rules:\n  r:\n    allow: ");
    for (i = 0; i < 100; i++) {
        deep[n++] = '[';
    }
    for (i = 0; i < 100; i++) {
        deep[n++] = ']';
    }
    deep[n++] = '\n';
    assert_int_equal(wid_policy_load_bytes((unsigned char *) deep, n, &p, &d),
                     WID_R_POLICY_BAD_VALUE);
    assert_non_null(strstr(d.diags[0].message, "nesting deeper"));
    free(deep);

    /* Size bound. */
    big = calloc(1, WID_POLICY_MAX_BYTES + 2);
    assert_non_null(big);
    memset(big, '#', WID_POLICY_MAX_BYTES + 1);
    assert_int_equal(wid_policy_load_bytes((unsigned char *) big,
                                           WID_POLICY_MAX_BYTES + 1, &p, &d),
                     WID_R_POLICY_UNREADABLE);
    free(big);

    /* Unreadable file. */
    assert_int_equal(wid_policy_load_file("/nonexistent/policy.yaml", NULL,
                                          &p, &d),
                     WID_R_POLICY_UNREADABLE);
    assert_null(p);
    assert_int_equal(wid_policy_load_file("/tmp", NULL, &p, &d),
                     WID_R_POLICY_UNREADABLE);
}

static void
test_examples_lint_clean(void **state)
{
    static const char *const files[] = {
        "policy/examples/payments.yaml",
        "policy/examples/http-gateway.yaml",
        "policy/examples/ssh-access.yaml",
    };

    (void) state;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        wid_policy *p;
        wid_diags   d;

        if (wid_policy_load_file(files[i], NULL, &p, &d) != WID_OK) {
            fail_msg("%s: %s", files[i], d.ndiags ? d.diags[0].message : "");
        }
        assert_int_equal(d.nerrors, 0);
        if (d.nwarnings != 0) {
            fail_msg("%s:%u: %s", files[i], d.diags[0].line,
                     d.diags[0].message);
        }
        assert_true(wid_policy_rule_count(p) >= 2);
        wid_policy_free(p);
    }
}

/* The identity is the SHA-256 of the exact bytes; one byte changes it. */
static void
test_hash_is_exact_bytes(void **state)
{
    static const char a[] = "rules:\n  r:\n    allow: [a]\n";
    static const char b[] = "rules:\n  r:\n    allow: [a]\n\n";
    unsigned char     want[SHA256_DIGEST_LENGTH];
    wid_policy       *pa, *pb;
    wid_diags         d;

    (void) state;
    assert_int_equal(wid_policy_load_bytes((const unsigned char *) a,
                                           sizeof(a) - 1, &pa, &d), WID_OK);
    assert_int_equal(wid_policy_load_bytes((const unsigned char *) b,
                                           sizeof(b) - 1, &pb, &d), WID_OK);
    SHA256((const unsigned char *) a, sizeof(a) - 1, want);
    assert_memory_equal(wid_policy_sha256(pa), want, sizeof(want));
    assert_int_equal(strlen(wid_policy_sha256_hex(pa)), 64);
    assert_string_not_equal(wid_policy_sha256_hex(pa),
                            wid_policy_sha256_hex(pb));
    assert_string_equal(wid_policy_signer(pa), "unsigned");
    wid_policy_free(pa);
    wid_policy_free(pb);
}

static void
test_ssh_block_accessor(void **state)
{
    wid_policy                *p;
    wid_diags                  d;
    const wid_policy_rule     *r;
    const wid_policy_ssh      *s;
    const wid_policy_verifier *v;
    wid_pubkey                 pk;

    (void) state;
    assert_int_equal(wid_policy_load_file("policy/examples/ssh-access.yaml",
                                          NULL, &p, &d), WID_OK);
    r = wid_policy_rule_find(p, "ssh_deploy");
    assert_non_null(r);
    assert_string_equal(wid_policy_rule_name(r), "ssh_deploy");
    assert_true(wid_policy_rule_enabled(r));
    assert_int_equal(wid_policy_rule_required_tier(r), WID_TIER_ATTESTED);
    s = wid_policy_rule_ssh(r);
    assert_non_null(s);
    assert_int_equal(s->nprincipals, 1);
    assert_string_equal(s->principals[0], "deploy");
    assert_int_equal(s->max_ttl_seconds, 600);
    assert_int_equal(s->nsource_addresses, 2);
    assert_string_equal(s->source_addresses[0], "10.20.0.0/16");
    assert_string_equal(s->source_addresses[1], "fd00:20::/32");
    assert_string_equal(s->force_command, "/usr/local/bin/deploy --from-ci");
    assert_int_equal(s->extensions, 0);

    s = wid_policy_rule_ssh(wid_policy_rule_find(p, "ssh_operators"));
    assert_non_null(s);
    assert_int_equal(s->nprincipals, 2);
    assert_null(s->force_command);
    assert_int_equal(s->nsource_addresses, 0);
    assert_int_equal(s->extensions, WID_SSH_EXT_PTY
                     | WID_SSH_EXT_AGENT_FORWARDING
                     | WID_SSH_EXT_PORT_FORWARDING);
    assert_string_equal(wid_ssh_ext_name(WID_SSH_EXT_PTY), "permit-pty");
    assert_string_equal(wid_ssh_ext_name(WID_SSH_EXT_NO_TOUCH),
                        "no-touch-required");
    assert_null(wid_ssh_ext_name(3));

    assert_null(wid_policy_rule_find(p, "ssh_deplo"));
    assert_int_equal(wid_policy_verifier_count(p), 2);
    v = wid_policy_verifier_at(p, 0);
    assert_string_equal(v->name, "spire_ci");     /* document order */
    assert_string_equal(v->verifier_family, "spiffe");
    assert_int_equal(v->effective_tier, WID_TIER_ATTESTED);
    assert_int_equal(v->max_evidence_age_seconds, 300);
    assert_int_equal(v->nattestation_types, 2);
    /* Every shipped verifier carries its key, and it is one an
     * attestation result can be verified with. */
    assert_non_null(v->key_pem);
    assert_int_equal(wid_pubkey_parse_pem((const unsigned char *) v->key_pem,
                                          strlen(v->key_pem), &pk), WID_OK);
    assert_non_null(wid_policy_verifier_at(p, 1)->key_pem);
    assert_null(wid_policy_verifier_at(p, 2));
    wid_policy_free(p);

    /* A rule without an ssh block has none. */
    assert_int_equal(wid_policy_load_file("policy/examples/payments.yaml",
                                          NULL, &p, &d), WID_OK);
    assert_null(wid_policy_rule_ssh(wid_policy_rule_find(p,
                                                         "payments_write")));
    wid_policy_free(p);
}

/*
 * Worst input: thousands of byte-level mutations and truncations of a
 * real policy.  Each must load or be refused with a diagnostic; never
 * crash (the ASan run checks memory), never load with an error counted.
 */
static void
test_mutations_never_crash(void **state)
{
    unsigned char *orig, *buf;
    size_t         len;
    uint32_t       seed = 12345;
    unsigned       loaded = 0;
    static const unsigned char pool[] = "\n\t :-[]{}&*!|>'\"#%@`,?<<~\0aZ9";

    (void) state;
    assert_int_equal(wid_read_file("policy/examples/http-gateway.yaml",
                                   WID_FILE_MAX, &orig, &len), WID_OK);
    buf = malloc(len + 1);
    assert_non_null(buf);
    for (unsigned i = 0; i < 3000; i++) {
        wid_policy         *p;
        wid_diags           d;
        wid_policy_input    in;
        wid_policy_decision dec;
        size_t              n = len, k;

        memcpy(buf, orig, len);
        for (k = 0; k < 1 + i % 4; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[(seed >> 8) % len] = pool[(seed >> 20) % (sizeof(pool) - 1)];
        }
        if (i % 5 == 0) {
            seed = seed * 1103515245u + 12345u;
            n = (seed >> 8) % len;
        }
        if (wid_policy_load_bytes(buf, n, &p, &d) == WID_OK) {
            assert_int_equal(d.nerrors, 0);
            memset(&in, 0, sizeof(in));
            in.rule = "orders_api";
            in.operation = "GET";
            wid_policy_decide(p, &in, &dec);
            wid_policy_free(p);
            loaded++;
        } else {
            assert_null(p);
            assert_true(d.nerrors >= 1);
        }
    }
    /* Sanity: the corpus is not all-broken nor all-fine. */
    assert_true(loaded > 0 && loaded < 3000);
    free(buf);
    free(orig);
}

static void
test_names(void **state)
{
    wid_tier_t      t;
    wid_cred_kind_t k;

    (void) state;
    assert_int_equal(wid_tier_from_name("attested", &t), 0);
    assert_int_equal(t, WID_TIER_ATTESTED);
    assert_int_equal(wid_tier_from_name("Attested", &t), -1);
    assert_true(WID_TIER_NONE < WID_TIER_BASIC
                && WID_TIER_BASIC < WID_TIER_ATTESTED
                && WID_TIER_ATTESTED < WID_TIER_VERIFIED);
    assert_string_equal(wid_tier_name(WID_TIER_VERIFIED), "verified");
    assert_string_equal(wid_tier_name((wid_tier_t) 9), "invalid");
    assert_int_equal(wid_cred_kind_from_name("jwt_svid", &k), 0);
    assert_int_equal(k, WID_CRED_JWT_SVID);
    assert_int_equal(wid_cred_kind_from_name("jwt", &k), -1);
    assert_string_equal(wid_cred_kind_name(WID_CRED_URI), "uri");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_policies),
        cmocka_unit_test(test_warnings),
        cmocka_unit_test(test_clean),
        cmocka_unit_test(test_many_errors_in_order),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_examples_lint_clean),
        cmocka_unit_test(test_hash_is_exact_bytes),
        cmocka_unit_test(test_ssh_block_accessor),
        cmocka_unit_test(test_mutations_never_crash),
        cmocka_unit_test(test_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
