/*
 * bench_policy: nanoseconds per policy decision on a generated 100-rule
 * policy (every rule with an identity requirement, an operation list, a
 * tier requirement, and three trusted verifiers to search).  The inputs
 * rotate over all rules and a mix of allow and deny paths so that the
 * figure is not one cached branch.  Exits 1 when the mean exceeds the
 * budget (1000 ns, or argv[1]).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"

#define NRULES   100
#define NINPUTS  400
#define ROUNDS   20000

static double
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

int
main(int argc, char **argv)
{
    static char             yaml[256 * 1024];
    static char             names[NRULES][32];
    static char             paths[NINPUTS][64], sids[NINPUTS][96];
    static wid_policy_identity    ids[NINPUTS];
    static wid_policy_attestation atts[NINPUTS];
    static wid_policy_input       in[NINPUTS];
    double                  budget = argc > 1 ? atof(argv[1]) : 1000.0;
    size_t                  n = 0, i, allows = 0;
    wid_policy             *p;
    wid_diags               d;
    wid_policy_decision     dec;
    double                  t0, t1, ns;
    volatile unsigned       sink = 0;

    n += (size_t) snprintf(yaml + n, sizeof(yaml) - n, "rules:\n");
    for (i = 0; i < NRULES; i++) {
        snprintf(names[i], sizeof(names[i]), "service_%03zu", i);
        n += (size_t) snprintf(yaml + n, sizeof(yaml) - n,
            "  %s:\n"
            "    allow: [read, list, write_%zu, admin_%zu]\n"
            "    deny: [drop, purge_%zu]\n"
            "    require_workload_identity:\n"
            "      trust_domain: prod.example\n"
            "      path_prefixes: [/team-%zu/api, /team-%zu/worker,"
            " /shared/ops]\n"
            "      credential_kinds: [x509_svid, jwt_svid]\n"
            "    prefer_workload_identity:\n"
            "      trust_domain: prod.example\n"
            "      credential_kinds: [x509_svid]\n"
            "    require_runtime_assurance_tier: %s\n",
            names[i], i, i, i, i, i, i % 3 == 0 ? "attested" : "basic");
    }
    n += (size_t) snprintf(yaml + n, sizeof(yaml) - n,
        "extensions:\n  runtime_assurance:\n    tiers:\n"
        "      b: {minimum_attestation_tier: basic,"
        " max_scope: {ttl_seconds: 600}}\n"
        "      a: {minimum_attestation_tier: attested}\n"
        "    trusted_verifiers:\n"
        "      k8s: {schema: wid.k8s.v1, verifier: kube, effective_tier: basic,"
        " max_evidence_age_seconds: 600, allowed_attestation_types: [psat]}\n"
        "      aws: {schema: wid.aws.v1, verifier: aws, effective_tier: basic,"
        " max_evidence_age_seconds: 600, allowed_attestation_types: [iid]}\n"
        "      tpm:\n"
        "        schema: wid.tpm.v1\n"
        "        verifier: tpm-verifier\n"
        "        effective_tier: attested\n"
        "        max_evidence_age_seconds: 300\n"
        "        allowed_attestation_types: [tpm_quote]\n"
        "        key: |\n"
        "          -----BEGIN PUBLIC KEY-----\n"
        "          MCowBQYDK2VwAyEAbc1bhman1KIEwQk+G5Nu8e+AFDnOyA1loTZaoWMkhX4=\n"
        "          -----END PUBLIC KEY-----\n");
    if (n >= sizeof(yaml) - 1) {
        fprintf(stderr, "bench_policy: policy buffer too small\n");
        return 2;
    }
    if (wid_policy_load_bytes((unsigned char *) yaml, n, &p, &d) != WID_OK) {
        fprintf(stderr, "bench_policy: generated policy invalid: %s\n",
                d.ndiags ? d.diags[0].message : "?");
        return 2;
    }

    for (i = 0; i < NINPUTS; i++) {
        size_t r = (i * 37) % NRULES;

        /* 3 of 4 inputs are in the right team (allow path), 1 is not. */
        snprintf(paths[i], sizeof(paths[i]), "/team-%zu/worker/shard-%zu",
                 i % 4 == 3 ? (r + 1) % NRULES : r, i);
        snprintf(sids[i], sizeof(sids[i]), "spiffe://prod.example%s",
                 paths[i]);
        ids[i].spiffe_id = sids[i];
        ids[i].trust_domain = "prod.example";
        ids[i].path = paths[i];
        ids[i].kind = i % 2 ? WID_CRED_X509_SVID : WID_CRED_JWT_SVID;
        atts[i].schema = "wid.tpm.v1";
        atts[i].verifier = "tpm-verifier";
        atts[i].attestation_type = "tpm_quote";
        atts[i].issued_at = 1750000000 - 30;
        atts[i].expires_at = 1750000000 + 300;
        atts[i].workload_id = sids[i];
        atts[i].claimed_tier = WID_TIER_ATTESTED;
        atts[i].verified_by = "tpm";    /* its key verified the result */
        in[i].rule = names[r];
        in[i].operation = i % 5 == 0 ? "list" : "read";
        in[i].identity = &ids[i];
        in[i].attestation = &atts[i];
        in[i].now = 1750000000;
    }

    for (i = 0; i < NINPUTS; i++) {             /* warm up, count allows */
        wid_policy_decide(p, &in[i], &dec);
        allows += dec.verdict == WID_VERDICT_ALLOW;
    }

    t0 = now_ns();
    for (size_t round = 0; round < ROUNDS; round++) {
        for (i = 0; i < NINPUTS; i++) {
            wid_policy_decide(p, &in[i], &dec);
            sink += (unsigned) dec.reason;
        }
    }
    t1 = now_ns();
    ns = (t1 - t0) / ((double) ROUNDS * NINPUTS);

    printf("bench_policy: %d rules, %d inputs (%zu allow, %zu deny), "
           "%.0f decisions: %.1f ns/decision (budget %.0f ns)\n",
           NRULES, NINPUTS, allows, (size_t) NINPUTS - allows,
           (double) ROUNDS * NINPUTS, ns, budget);
    (void) sink;
    wid_policy_free(p);
    return ns <= budget ? 0 : 1;
}
