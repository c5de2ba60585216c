/*
 * bench_journal: appends per second on one core (fsync=interval, the
 * default) and `wid journal query` over one million receipts.
 *
 *   make bench-journal            (N=1000000 by default)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "journal.h"

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static uint64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

int
main(int argc, char **argv)
{
    const char          *dir = argc > 1 ? argv[1] : "build/bench-journal";
    const char          *wid = argc > 2 ? argv[2] : "build/bin/wid";
    unsigned long        n = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000000;
    wid_seckey           sk;
    wid_journal         *j;
    wid_journal_options  o;
    wid_receipt          r;
    char                 ids[8][80], cmd[512];
    unsigned long        i;
    double               t0, t;
    int                  rc;

    if (sodium_init() < 0) {
        return 2;
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        return 2;
    }
    crypto_sign_keypair(sk.pub.pk, sk.sk);
    memset(&o, 0, sizeof(o));
    o.fsync = WID_FSYNC_INTERVAL;
    if (wid_journal_open(dir, "bench", &sk, &o, now_ms(), &j, NULL)
        != WID_OK)
    {
        fprintf(stderr, "open failed\n");
        return 2;
    }
    sodium_memzero(&sk, sizeof(sk));
    for (i = 0; i < 8; i++) {
        snprintf(ids[i], sizeof(ids[i]),
                 "spiffe://example.org/payments/worker/%lu", i);
    }
    memset(&r, 0, sizeof(r));
    r.surface = WID_SURFACE_HTTP;
    r.str[WID_RF_TRUST_DOMAIN] = "example.org";
    r.str[WID_RF_RULE] = "payments";
    r.str[WID_RF_OPERATION] = "GET";
    r.str[WID_RF_METHOD] = "GET";
    r.str[WID_RF_HOST] = "api.example.org";
    r.str[WID_RF_REQ_PATH] = "/v1/charges";
    r.str[WID_RF_PEER] = "10.1.2.3";
    r.str[WID_RF_CREDENTIAL_KIND] = "x509_svid";
    r.str[WID_RF_CREDENTIAL_ID] = "4f:21:9a:0c:77:13:be:42";
    r.str[WID_RF_ATT_TIER] = "attested";
    r.policy_hash.set = 1;
    r.bundle_hash.set = 1;
    r.not_after = 1900000000;

    t0 = now_s();
    for (i = 0; i < n; i++) {
        r.verdict = i % 10 == 0 ? WID_VERDICT_DENY : WID_VERDICT_ALLOW;
        r.str[WID_RF_REASON] = i % 10 == 0 ? "policy.path_prefix" : "ok";
        r.str[WID_RF_SPIFFE_ID] = ids[i % 8];
        if (wid_journal_append(j, &r, 0, NULL, NULL) != WID_OK) {
            fprintf(stderr, "append failed at %lu\n", i);
            return 2;
        }
        if ((i & 1023) == 0) {
            (void) wid_journal_tick(j, now_ms());   /* the nginx timer */
        }
    }
    t = now_s() - t0;
    if (wid_journal_close(j, now_ms()) != WID_OK) {
        return 2;
    }
    printf("append: %lu receipts in %.3f s = %.0f appends/s"
           " (fsync=interval, one core; target >= 200000)\n", n, t,
           (double) n / t);

    snprintf(cmd, sizeof(cmd), "%s journal query '%s' --verdict deny"
             " --spiffe-id spiffe://example.org/payments/worker/0"
             " > /dev/null", wid, dir);
    t0 = now_s();
    rc = system(cmd);
    t = now_s() - t0;
    printf("query: %lu receipts scanned in %.3f s (target <= 2 s)%s\n", n, t,
           rc == 0 ? "" : " FAILED");
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "cleanup of %s failed\n", dir);
    }
    return rc == 0 ? 0 : 1;
}
