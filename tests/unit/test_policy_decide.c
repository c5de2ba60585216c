/*
 * The decision table: one compiled policy, many inputs, each with the
 * verdict, reason code, effective tier and failed requirement a user
 * would see.  The same rows are then replayed through
 * `wid policy explain --json` to show the CLI answers with the very
 * engine nginx and the SSH helper call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "policy.h"
#include "policy_table.h"

#define NROWS policy_table_rows

static wid_policy *policy;

static int
setup(void **state)
{
    wid_diags d;

    (void) state;
    if (wid_policy_load_bytes((const unsigned char *) policy_fixture,
                              policy_fixture_len, &policy, &d) != WID_OK)
    {
        for (unsigned i = 0; i < d.ndiags; i++) {
            fprintf(stderr, "fixture:%u:%u: %s\n", d.diags[i].line,
                    d.diags[i].column, d.diags[i].message);
        }
        return -1;
    }
    return 0;
}

static int
teardown(void **state)
{
    (void) state;
    wid_policy_free(policy);
    return 0;
}


static void
check_row(size_t i, const policy_row *r, const wid_policy_decision *d)
{
    const char *verdict = wid_verdict_name(d->verdict);
    const char *reason = wid_reason_code(d->reason);

    if (strcmp(verdict, r->verdict) != 0 || strcmp(reason, r->reason) != 0) {
        fail_msg("row %zu (%s/%s): got %s %s, want %s %s", i,
                 r->rule ? r->rule : "(null)", r->op ? r->op : "(null)",
                 verdict, reason, r->verdict, r->reason);
    }
    if (d->effective_tier != r->eff) {
        fail_msg("row %zu: effective tier %s, want %s", i,
                 wid_tier_name(d->effective_tier), wid_tier_name(r->eff));
    }
    if ((r->failed == NULL) != (d->failed == NULL)
        || (r->failed && strcmp(r->failed, d->failed) != 0))
    {
        fail_msg("row %zu: failed '%s', want '%s'", i,
                 d->failed ? d->failed : "(none)",
                 r->failed ? r->failed : "(none)");
    }
    if (r->nnotes >= 0) {
        if (!d->soft_evaluated || (int) d->nnotes != r->nnotes
            || d->soft_matched != (r->nnotes == 0))
        {
            fail_msg("row %zu: soft match %d/%u notes, want %d", i,
                     d->soft_evaluated, d->nnotes, r->nnotes);
        }
    } else if (strcmp(r->verdict, "allow") == 0 && d->soft_evaluated) {
        fail_msg("row %zu: unexpected soft match", i);
    }
    if (r->ttl != ANY_TTL && d->max_ttl_seconds != r->ttl) {
        fail_msg("row %zu: max ttl %u, want %u", i, d->max_ttl_seconds,
                 r->ttl);
    }
    /* Every decision names the policy that made it. */
    assert_non_null(d->policy_hash);
    assert_string_equal(d->policy_hash_hex, wid_policy_sha256_hex(policy));
    assert_string_equal(d->signer, "unsigned");
    if (d->verdict == WID_VERDICT_DENY) {
        assert_int_not_equal(d->reason, WID_OK);
    }
}

static void
test_table(void **state)
{
    wid_policy_input       in;
    wid_policy_attestation a;
    wid_policy_decision    d;

    (void) state;
    assert_true(NROWS >= 60);
    for (size_t i = 0; i < NROWS; i++) {
        wid_reason_t rc;

        policy_table_input(&policy_table[i], &in, &a);
        rc = wid_policy_decide(policy, &in, &d);
        assert_int_equal(rc, d.reason);
        check_row(i, &policy_table[i], &d);
    }
}

/* Every decision reason code of the policy area appears in the table. */
static void
test_table_covers_every_decision_code(void **state)
{
    static const char *const codes[] = {
        "policy.bad_input", "policy.unknown_rule", "policy.rule_disabled",
        "policy.operation_denied", "policy.operation_not_allowed",
        "policy.identity_missing", "policy.trust_domain_mismatch",
        "policy.path_prefix", "policy.credential_kind",
        "policy.identity_conflict", "policy.attestation_missing",
        "policy.evidence_unbound", "policy.untrusted_evidence",
        "policy.verifier_without_key", "policy.verifier_key_mismatch",
        "policy.attestation_type_not_allowed",
        "policy.evidence_not_yet_valid", "policy.evidence_expired",
        "policy.evidence_stale", "policy.tier_insufficient",
        "policy.tier_scope_exceeded",
    };

    (void) state;
    for (size_t c = 0; c < sizeof(codes) / sizeof(codes[0]); c++) {
        size_t i;

        assert_int_not_equal(wid_reason_from_code(codes[c]), WID_R__COUNT);
        for (i = 0; i < NROWS; i++) {
            if (strcmp(policy_table[i].reason, codes[c]) == 0) {
                break;
            }
        }
        if (i == NROWS) {
            fail_msg("no row triggers %s", codes[c]);
        }
    }
}

/* Soft-match notes say which part missed. */
static void
test_soft_notes(void **state)
{
    wid_policy_input       in;
    wid_policy_attestation a;
    wid_policy_decision    d;
    policy_row r = ALLOW("soft", "read", I_SVC_URI, A_NONE, T(NONE), 2, 0);

    (void) state;
    policy_table_input(&r, &in, &a);
    wid_policy_decide(policy, &in, &d);
    assert_int_equal(d.verdict, WID_VERDICT_ALLOW);
    assert_int_equal(d.nnotes, 2);
    assert_int_equal(d.notes[0].reason, WID_R_POLICY_PATH_PREFIX);
    assert_string_equal(d.notes[0].requirement,
                        "prefer_workload_identity.path_prefixes");
    assert_int_equal(d.notes[1].reason, WID_R_POLICY_CREDENTIAL_KIND);
    assert_string_equal(d.notes[1].requirement,
                        "prefer_workload_identity.credential_kinds");
}

/* A deny names where the failed requirement is written. */
static void
test_failed_position(void **state)
{
    wid_policy_input       in;
    wid_policy_attestation a;
    wid_policy_decision    d;
    policy_row r = DENY("pay", "transfer", I_EVIL, A_NONE, "policy.path_prefix",
                 T(NONE), "require_workload_identity.path_prefixes");

    (void) state;
    policy_table_input(&r, &in, &a);
    wid_policy_decide(policy, &in, &d);
    assert_int_equal(d.failed_line, 11);        /* path_prefixes: [...] */
    assert_int_equal(d.failed_column, 22);
    assert_string_equal(d.rule, "pay");
    assert_int_equal(d.required_tier, WID_TIER_ATTESTED);
}

/* Trusted verifier reported on the decision; evidence problems recorded
 * even where they did not decide. */
static void
test_evidence_recorded(void **state)
{
    wid_policy_input       in;
    wid_policy_attestation a;
    wid_policy_decision    d;
    policy_row ok = ALLOW("pay", "transfer", I_WORKER, A_FAM_OK, T(VERIFIED),
                          -1, 60);
    policy_row un = ALLOW("open", "x", I_WORKER, A_UNTRUSTED, T(NONE), -1, 0);
    policy_row nk = ALLOW("open", "x", I_WORKER, A_NOKEY_SELF, T(NONE), -1,
                          0);

    (void) state;
    policy_table_input(&ok, &in, &a);
    wid_policy_decide(policy, &in, &d);
    assert_string_equal(d.verifier, "spire_fam");
    assert_string_equal(d.tier_profile, "verified_scope");
    assert_int_equal(d.evidence_reason, WID_OK);

    policy_table_input(&un, &in, &a);
    wid_policy_decide(policy, &in, &d);
    assert_null(d.verifier);
    assert_int_equal(d.evidence_reason, WID_R_POLICY_UNTRUSTED_EVIDENCE);
    assert_null(d.tier_profile);

    /* A keyless entry is named (it matched and decided) but its claim of
     * "verified" counts for nothing, and the receipt says why. */
    policy_table_input(&nk, &in, &a);
    wid_policy_decide(policy, &in, &d);
    assert_int_equal(d.verdict, WID_VERDICT_ALLOW);
    assert_string_equal(d.verifier, "nokey");
    assert_int_equal(d.effective_tier, WID_TIER_NONE);
    assert_int_equal(d.evidence_reason, WID_R_POLICY_VERIFIER_NO_KEY);
    assert_null(d.tier_profile);
}

/* Same input, same answer: no hidden state between decisions. */
static void
test_deterministic(void **state)
{
    wid_policy_input       in;
    wid_policy_attestation a;
    wid_policy_decision    d1, d2;

    (void) state;
    for (size_t i = 0; i < NROWS; i++) {
        policy_table_input(&policy_table[i], &in, &a);
        wid_policy_decide(policy, &in, &d1);
        for (size_t j = 0; j < NROWS; j += 7) {
            wid_policy_input       in2;
            wid_policy_attestation a2;

            policy_table_input(&policy_table[j], &in2, &a2);
            wid_policy_decide(policy, &in2, &d2);
        }
        wid_policy_decide(policy, &in, &d2);
        assert_memory_equal(&d1, &d2, sizeof(d1));
    }
}

static void
test_null_policy_denies(void **state)
{
    wid_policy_input    in;
    wid_policy_decision d;

    (void) state;
    memset(&in, 0, sizeof(in));
    in.rule = "pay";
    assert_int_equal(wid_policy_decide(NULL, &in, &d), WID_R_POLICY_BAD_INPUT);
    assert_int_equal(d.verdict, WID_VERDICT_DENY);
    assert_int_equal(wid_policy_decide(policy, NULL, &d),
                     WID_R_POLICY_BAD_INPUT);
}

/* ---- the CLI answers with the same engine ---- */

static char *
write_temp(const char *dir, const char *name, const char *text)
{
    char *path = NULL;
    FILE *f;

    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void
test_cli_explain_matches_library(void **state)
{
    const char            *wid = getenv("WID_BIN");
    char                   dir[] = "/tmp/wid-policy-XXXXXX";
    char                  *pol, *att = NULL, *cmd;
    wid_policy_input       in;
    wid_policy_attestation a;
    wid_policy_decision    d;
    size_t                 replayed = 0;

    (void) state;
    if (wid == NULL) {
        skip();
    }
    assert_non_null(mkdtemp(dir));
    pol = write_temp(dir, "p.yaml", policy_fixture);

    for (size_t i = 0; i < NROWS; i++) {
        const policy_row *r = &policy_table[i];
        char          args[1024] = "";
        size_t        off = 0;
        FILE         *p;
        json_t       *j;
        json_error_t  err;
        int           status;

        if (!r->cli || r->rule == NULL || r->rule[0] == '\0') {
            continue;
        }
        policy_table_input(r, &in, &a);
        wid_policy_decide(policy, &in, &d);

        off += (size_t) snprintf(args + off, sizeof(args) - off,
                                 " --rule %s --now %d", r->rule, NOW);
        if (r->op != NULL) {
            off += (size_t) snprintf(args + off, sizeof(args) - off,
                                     " --operation %s", r->op);
        }
        if (in.identity != NULL) {
            off += (size_t) snprintf(args + off, sizeof(args) - off,
                                     " --spiffe-id %s --credential %s",
                                     in.identity->spiffe_id,
                                     wid_cred_kind_name(in.identity->kind));
        }
        if (r->assume) {
            off += (size_t) snprintf(args + off, sizeof(args) - off,
                                     " --tier %s", wid_tier_name(r->assumed));
        }
        if (in.attestation != NULL) {
            json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s}",
                                  "schema", a.schema, "verifier", a.verifier,
                                  "issued_at", (json_int_t) a.issued_at,
                                  "expires_at", (json_int_t) a.expires_at,
                                  "attestation_type", a.attestation_type,
                                  "tier", wid_tier_name(a.claimed_tier));
            char   *text;

            if (a.verifier_family) {
                json_object_set_new(o, "verifier_family",
                                    json_string(a.verifier_family));
            }
            if (a.workload_id) {
                json_object_set_new(o, "workload_identity",
                                    json_string(a.workload_id));
            }
            if (a.verified_by) {
                json_object_set_new(o, "verified_by",
                                    json_string(a.verified_by));
            }
            text = json_dumps(o, 0);
            json_decref(o);
            free(att);
            att = write_temp(dir, "att.json", text);
            free(text);
            off += (size_t) snprintf(args + off, sizeof(args) - off,
                                     " --attestation %s", att);
        }
        assert_true(off < sizeof(args));

        assert_true(asprintf(&cmd, "%s policy explain %s%s --json 2>/dev/null",
                             wid, pol, args) > 0);
        p = popen(cmd, "r");
        assert_non_null(p);
        j = json_loadf(p, 0, &err);
        status = pclose(p);
        if (j == NULL) {
            fail_msg("row %zu: no JSON from: %s", i, cmd);
        }
        if (strcmp(json_string_value(json_object_get(j, "verdict")),
                   wid_verdict_name(d.verdict)) != 0
            || strcmp(json_string_value(json_object_get(j, "reason")),
                      wid_reason_code(d.reason)) != 0)
        {
            fail_msg("row %zu: CLI says %s %s, library %s %s (%s)", i,
                     json_string_value(json_object_get(j, "verdict")),
                     json_string_value(json_object_get(j, "reason")),
                     wid_verdict_name(d.verdict), wid_reason_code(d.reason),
                     cmd);
        }
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(j, "tier"), "effective")),
                            wid_tier_name(d.effective_tier));
        assert_int_equal(WEXITSTATUS(status),
                         d.verdict == WID_VERDICT_ALLOW ? 0 : 1);
        json_decref(j);
        free(cmd);
        replayed++;
    }
    assert_true(replayed >= 60);
    unlink(pol);
    if (att) {
        unlink(att);
    }
    free(pol);
    free(att);
    rmdir(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_table_covers_every_decision_code),
        cmocka_unit_test(test_soft_notes),
        cmocka_unit_test(test_failed_position),
        cmocka_unit_test(test_evidence_recorded),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_null_policy_denies),
        cmocka_unit_test(test_cli_explain_matches_library),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
