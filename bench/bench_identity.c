/*
 * bench_identity: verification rates of the identity core, next to the
 * raw public-key operation measured in the same run (in process, and by
 * `openssl speed`).
 *
 *   bench_identity DIR [SECONDS]
 *
 * DIR holds what `make bench-identity` generates: jwt/ (mint-jwt suite)
 * and pki/bench.org.pem + svid.pem (widpki, leaf + one intermediate).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "bundle.h"
#include "bytes.h"
#include "jws.h"
#include "jwtsvid.h"
#include "x509svid.h"

static double
wid_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static char *
slurp(const char *dir, const char *name, size_t *len)
{
    char           path[4096];
    unsigned char *buf;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (wid_read_file(path, WID_FILE_MAX, &buf, len) != WID_OK) {
        fprintf(stderr, "bench: cannot read %s\n", path);
        exit(2);
    }
    while (*len > 0 && (buf[*len - 1] == '\n' || buf[*len - 1] == ' ')) {
        buf[--*len] = '\0';
    }
    return (char *) buf;
}

typedef struct {
    double rate;        /* operations per second */
    double us;          /* microseconds per operation */
} wid_rate;

/* JWT-SVID verifications per second. */
static wid_rate
bench_jwt(const wid_bundle_set *set, const char *tok, size_t len,
          int64_t now, double secs)
{
    wid_identity id;
    double       t0 = wid_now(), t;
    long         n = 0;
    wid_rate     r;

    do {
        for (int i = 0; i < 64; i++) {
            if (wid_jwtsvid_verify(set, tok, len, "wid-test", now, 0, &id)
                != WID_OK)
            {
                fprintf(stderr, "bench: token does not verify\n");
                exit(2);
            }
        }
        n += 64;
        t = wid_now() - t0;
    } while (t < secs);
    r.rate = (double) n / t;
    r.us = 1e6 * t / (double) n;
    return r;
}

/* The bare public-key verify of the same token with the same key. */
static wid_rate
bench_raw(const wid_bundle_set *set, const char *tok, size_t len,
          double secs)
{
    wid_jws            jws;
    const wid_bundle  *b = wid_bundle_set_find(set, "a.org", 5);
    wid_jwt_authority *a;
    double             t0, t;
    long               n = 0;
    wid_rate           r;

    if (wid_jws_parse(tok, len, NULL, &jws) != WID_OK || b == NULL) {
        fprintf(stderr, "bench: cannot parse token\n");
        exit(2);
    }
    a = jws.kid != NULL ? wid_bundle_jwt_find(b, jws.kid) : NULL;
    if (a == NULL) {
        fprintf(stderr, "bench: no key\n");
        exit(2);
    }
    /* wid_jws_verify = digest + (ES: r||s to DER) + EVP_PKEY_verify. */
    t0 = wid_now();
    do {
        for (int i = 0; i < 64; i++) {
            if (wid_jws_verify(&jws, &a->key) != WID_OK) {
                fprintf(stderr, "bench: raw verify failed\n");
                exit(2);
            }
        }
        n += 64;
        t = wid_now() - t0;
    } while (t < secs);
    wid_jws_clear(&jws);
    r.rate = (double) n / t;
    r.us = 1e6 * t / (double) n;
    return r;
}

static wid_rate
bench_x509(const wid_bundle_set *set, X509 *leaf, STACK_OF(X509) *rest,
           int64_t now, double secs)
{
    wid_identity id;
    double       t0 = wid_now(), t;
    long         n = 0;
    wid_rate     r;

    do {
        for (int i = 0; i < 16; i++) {
            if (wid_x509svid_verify(set, leaf, rest, now, 0, &id) != WID_OK) {
                fprintf(stderr, "bench: X.509-SVID does not verify\n");
                exit(2);
            }
        }
        n += 16;
        t = wid_now() - t0;
    } while (t < secs);
    r.rate = (double) n / t;
    r.us = 1e6 * t / (double) n;
    return r;
}

/*
 * `openssl speed -mr` prints "+F2:<i>:<bits>:<sign/s>:<verify/s>" for
 * RSA and "+F4:..." for ECDSA: operations per second.
 */
static void
openssl_speed(double secs, double *rsa_us, double *ecdsa_us)
{
    char  cmd[256], line[512];
    FILE *p;
    int   bits;
    double s, v;

    *rsa_us = *ecdsa_us = 0;
    snprintf(cmd, sizeof(cmd),
             "openssl speed -mr -seconds %d ecdsap256 rsa2048 2>/dev/null",
             (int) secs);
    p = popen(cmd, "r");
    if (p == NULL) {
        return;
    }
    while (fgets(line, sizeof(line), p) != NULL) {
        if (sscanf(line, "+F2:%*d:%d:%lf:%lf", &bits, &s, &v) == 3
            && bits == 2048)
        {
            *rsa_us = v > 0 ? 1e6 / v : 0;
        } else if (sscanf(line, "+F4:%*d:%d:%lf:%lf", &bits, &s, &v) == 3
                   && bits == 256)
        {
            *ecdsa_us = v > 0 ? 1e6 / v : 0;
        }
    }
    pclose(p);
}

int
main(int argc, char **argv)
{
    static const struct {
        const char *alg;
        const char *file;
        int         rsa;
    } jwts[] = {
        { "ES256", "jwt/tok/valid_es256.jwt", 0 },
        { "RS256", "jwt/tok/valid_rs256.jwt", 1 },
        { "PS256", "jwt/tok/valid_ps256.jwt", 1 },
    };
    wid_bundle_set *set;
    char            arg[4096], *tok, *pem;
    size_t          len, i;
    double          secs = argc > 2 ? atof(argv[2]) : 2.0, rsa_us, ec_us, o;
    int64_t         now = (int64_t) time(NULL);
    X509           *leaf;
    STACK_OF(X509) *rest;
    wid_rate        jr, rr, xr;

    if (argc < 2 || secs <= 0) {
        fprintf(stderr, "usage: bench_identity DIR [SECONDS]\n");
        return 2;
    }
    set = wid_bundle_set_new();
    snprintf(arg, sizeof(arg), "a.org=%s/jwt/a.org.json", argv[1]);
    if (wid_bundle_set_add_arg(set, arg) != WID_OK) {
        fprintf(stderr, "bench: cannot load %s\n", arg);
        return 2;
    }
    snprintf(arg, sizeof(arg), "bench.org=%s/pki/bench.org.pem", argv[1]);
    if (wid_bundle_set_add_arg(set, arg) != WID_OK) {
        fprintf(stderr, "bench: cannot load %s\n", arg);
        return 2;
    }

    printf("openssl speed -seconds %d ecdsap256 rsa2048 ...\n", (int) secs);
    fflush(stdout);
    openssl_speed(secs, &rsa_us, &ec_us);
    printf("openssl speed: ecdsa p256 verify %.1f us (%.0f/s),"
           " rsa2048 verify %.1f us (%.0f/s)\n\n", ec_us,
           ec_us > 0 ? 1e6 / ec_us : 0, rsa_us, rsa_us > 0 ? 1e6 / rsa_us : 0);
    fflush(stdout);

    printf("%-22s %10s %9s | %9s %7s | %9s %7s\n", "credential",
           "verify/s", "us/op", "raw us", "ratio", "speed us", "ratio");
    for (i = 0; i < sizeof(jwts) / sizeof(jwts[0]); i++) {
        tok = slurp(argv[1], jwts[i].file, &len);
        jr = bench_jwt(set, tok, len, now, secs);
        rr = bench_raw(set, tok, len, secs);
        o = jwts[i].rsa ? rsa_us : ec_us;
        printf("JWT-SVID %-13s %10.0f %9.2f | %9.2f %7.3f | %9.2f %7.3f\n",
               jwts[i].alg, jr.rate, jr.us, rr.us, jr.us / rr.us, o,
               o > 0 ? jr.us / o : 0);
        free(tok);
    }

    pem = slurp(argv[1], "svid.pem", &len);
    if (wid_x509_chain_parse((unsigned char *) pem, len, &leaf, &rest)
        != WID_OK)
    {
        fprintf(stderr, "bench: cannot parse svid.pem\n");
        return 2;
    }
    free(pem);
    xr = bench_x509(set, leaf, rest, now, secs);
    /* Two ECDSA P-256 signatures: leaf by intermediate, intermediate by root. */
    printf("X.509-SVID %-11s %10.0f %9.2f | %9s %7s | %9.2f %7.3f\n",
           "2-level", xr.rate, xr.us, "-", "-", 2 * ec_us,
           ec_us > 0 ? xr.us / (2 * ec_us) : 0);
    printf("\nraw = wid_jws_verify (digest + public-key verify) in process;"
           " speed = openssl speed,\nsame primitive; X.509 compares with two"
           " ECDSA P-256 verifies.  Target: JWT ratio <= 1.15.\n");
    X509_free(leaf);
    sk_X509_pop_free(rest, X509_free);
    wid_bundle_set_free(set);
    return 0;
}
