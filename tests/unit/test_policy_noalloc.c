/*
 * The allocation trap: a decision must not allocate (policy.h promises
 * it; nginx calls it per request, the SSH helper per login).
 *
 * This binary is linked with -Wl,--wrap for the allocator functions (a
 * rule of its own in the Makefile), so every call that this file and
 * the static policy and core libraries make to malloc, calloc, realloc,
 * reallocarray, free, strdup, strndup, posix_memalign or aligned_alloc
 * lands in the counting wrappers below.  Built without the wrap, it does
 * not link (the __real_ symbols are missing), so the trap cannot be
 * silently off; test_trap_catches_library_allocations shows it fires.
 *
 * Every row of the decision table (tests/unit/policy_table.c) is decided
 * many times with the trap armed, then every rule of the shipped
 * examples, together with the accessors and name lookups a consumer
 * uses while building a receipt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"
#include "policy_table.h"

#define ROUNDS 200

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_reallocarray(void *p, size_t n, size_t size);
void  __real_free(void *p);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int   __real_posix_memalign(void **p, size_t align, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_reallocarray(void *p, size_t n, size_t size);
void  __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int   __wrap_posix_memalign(void **p, size_t align, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);

/* Counted only while armed; loading and cmocka run unarmed. */
static volatile int armed;
static size_t       nalloc, nfree;

void *
__wrap_malloc(size_t n)
{
    nalloc += armed != 0;
    return __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
    nalloc += armed != 0;
    return __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
    nalloc += armed != 0;
    return __real_realloc(p, n);
}

void *
__wrap_reallocarray(void *p, size_t n, size_t size)
{
    nalloc += armed != 0;
    return __real_reallocarray(p, n, size);
}

void
__wrap_free(void *p)
{
    nfree += armed != 0;
    __real_free(p);
}

char *
__wrap_strdup(const char *s)
{
    nalloc += armed != 0;
    return __real_strdup(s);
}

char *
__wrap_strndup(const char *s, size_t n)
{
    nalloc += armed != 0;
    return __real_strndup(s, n);
}

int
__wrap_posix_memalign(void **p, size_t align, size_t n)
{
    nalloc += armed != 0;
    return __real_posix_memalign(p, align, n);
}

void *
__wrap_aligned_alloc(size_t align, size_t n)
{
    nalloc += armed != 0;
    return __real_aligned_alloc(align, n);
}

static void
arm(void)
{
    nalloc = 0;
    nfree = 0;
    armed = 1;
}

static void
disarm(void)
{
    armed = 0;
}

/*
 * What a consumer does per request besides deciding: names for the
 * receipt and the log, the ssh block, the policy's identity.  Returns a
 * value derived from all of it so that nothing is optimised away.
 */
static size_t
consume(const wid_policy *p, const wid_policy_input *in,
        const wid_policy_decision *d)
{
    size_t n = 0;

    n += strlen(wid_verdict_name(d->verdict));
    n += strlen(wid_reason_code(d->reason));
    n += strlen(wid_reason_text(d->reason));
    n += strlen(wid_tier_name(d->effective_tier));
    n += strlen(wid_tier_name(d->required_tier));
    n += d->rule ? strlen(d->rule) : 0;
    n += d->failed ? strlen(d->failed) : 0;
    n += d->verifier ? strlen(d->verifier) : 0;
    n += d->tier_profile ? strlen(d->tier_profile) : 0;
    n += strlen(wid_reason_code(d->evidence_reason));
    for (unsigned i = 0; i < d->nnotes; i++) {
        n += strlen(d->notes[i].requirement);
    }
    if (d->policy_hash_hex != NULL) {
        n += strlen(d->policy_hash_hex) + strlen(d->signer);
    }
    if (in->identity != NULL) {
        n += strlen(wid_cred_kind_name(in->identity->kind));
    }
    if (p != NULL && in->rule != NULL) {
        const wid_policy_rule *r = wid_policy_rule_find(p, in->rule);

        if (r != NULL && wid_policy_rule_ssh(r) != NULL) {
            n += wid_policy_rule_ssh(r)->nprincipals;
        }
    }
    return n;
}

/* The trap is live: allocations made inside the static libraries (the
 * loader's arena, the YAML tree) are counted. */
static void
test_trap_catches_library_allocations(void **state)
{
    wid_policy *p = NULL;
    wid_diags   d;
    size_t      loaded;

    (void) state;
    arm();
    assert_int_equal(wid_policy_load_bytes(
                         (const unsigned char *) policy_fixture,
                         policy_fixture_len, &p, &d), WID_OK);
    loaded = nalloc;
    wid_policy_free(p);
    disarm();
    assert_true(loaded > 0);
    assert_true(nfree > 0);
}

static void
test_table_decisions_allocate_nothing(void **state)
{
    wid_policy             *p = NULL;
    wid_diags               d;
    wid_policy_input        in;
    wid_policy_attestation  a;
    wid_policy_decision     dec;
    size_t                  sink = 0, decided = 0;

    (void) state;
    assert_int_equal(wid_policy_load_bytes(
                         (const unsigned char *) policy_fixture,
                         policy_fixture_len, &p, &d), WID_OK);
    assert_true(policy_table_rows >= 60);

    arm();
    for (int round = 0; round < ROUNDS; round++) {
        for (size_t i = 0; i < policy_table_rows; i++) {
            policy_table_input(&policy_table[i], &in, &a);
            sink += (size_t) wid_policy_decide(p, &in, &dec);
            sink += consume(p, &in, &dec);
            decided++;
        }
    }
    /* The fail-closed paths too: no policy, no input. */
    sink += (size_t) wid_policy_decide(NULL, &in, &dec);
    sink += (size_t) wid_policy_decide(p, NULL, &dec);
    disarm();

    if (nalloc != 0 || nfree != 0) {
        fail_msg("%zu decisions made %zu allocations and %zu frees",
                 decided, nalloc, nfree);
    }
    assert_int_equal(decided, ROUNDS * policy_table_rows);
    assert_true(sink > 0);
    wid_policy_free(p);
}

/* The shipped examples: every rule, with and without an identity, with
 * evidence from each of its trusted verifiers. */
static void
test_example_decisions_allocate_nothing(void **state)
{
    static const char *const files[] = {
        "policy/examples/payments.yaml",
        "policy/examples/http-gateway.yaml",
        "policy/examples/ssh-access.yaml",
    };
    static const char *const ops[] = {
        NULL, "GET", "transfer_funds", "ssh_issue", "read_ledger", "x"
    };
    static const wid_policy_identity id = {
        "spiffe://example.org/ci/deployer/a", "example.org",
        "/ci/deployer/a", WID_CRED_JWT_SVID
    };
    size_t sink = 0, decided = 0;

    (void) state;
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        wid_policy *p = NULL;
        wid_diags   d;

        assert_int_equal(wid_policy_load_file(files[f], NULL, &p, &d),
                         WID_OK);
        arm();
        for (size_t r = 0; r < wid_policy_rule_count(p); r++) {
            for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
                for (size_t v = 0; v <= wid_policy_verifier_count(p); v++) {
                    const wid_policy_verifier *tv =
                        wid_policy_verifier_at(p, v);
                    wid_policy_attestation     a;
                    wid_policy_input           in;
                    wid_policy_decision        dec;

                    memset(&in, 0, sizeof(in));
                    in.rule = wid_policy_rule_name(wid_policy_rule_at(p, r));
                    in.operation = ops[o];
                    in.identity = (o & 1) ? &id : NULL;
                    in.now = NOW;
                    if (tv != NULL) {
                        memset(&a, 0, sizeof(a));
                        a.schema = tv->schema;
                        a.verifier = tv->verifier;
                        a.verifier_family = tv->verifier_family;
                        a.issued_at = NOW - 1;
                        a.expires_at = NOW + 60;
                        a.attestation_type = tv->attestation_types[0];
                        a.workload_id = id.spiffe_id;
                        a.verified_by = tv->name;
                        in.attestation = &a;
                    }
                    sink += (size_t) wid_policy_decide(p, &in, &dec);
                    sink += consume(p, &in, &dec);
                    decided++;
                }
            }
        }
        disarm();
        if (nalloc != 0 || nfree != 0) {
            fail_msg("%s: decisions made %zu allocations and %zu frees",
                     files[f], nalloc, nfree);
        }
        wid_policy_free(p);
    }
    assert_true(decided > 50);
    assert_true(sink > 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_trap_catches_library_allocations),
        cmocka_unit_test(test_table_decisions_allocate_nothing),
        cmocka_unit_test(test_example_decisions_allocate_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
