/*
 * jwtmint: JWT-SVIDs and their trust bundle for the wid benchmarks.
 *
 * The cache-miss scenario needs hundreds of thousands of distinct,
 * validly signed tokens in a few seconds; a script minting them one by
 * one would dominate the benchmark's time budget.  This tool signs with
 * OpenSSL and writes one compact JWS a line.
 *
 *   jwtmint jwks OUT.json KID=KEY.pem...
 *       a SPIFFE bundle (JWKS, "use": "jwt-svid") holding the public
 *       halves of the given private keys (EC P-256 or RSA)
 *   jwtmint mint --key KEY.pem --kid KID --sub SPIFFE_ID --aud AUD
 *                [--ttl SECONDS] [--count N] [--jti PREFIX] [--out FILE]
 *       N tokens (default 1), ES256 for an EC P-256 key, RS256 for RSA;
 *       each carries a distinct "jti" (PREFIX-index) so every token,
 *       and its hash, is different
 *
 * Test material only: keys are generated at run time by the caller.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define JM_B64_MAX  4096


static void
jm_die(const char *what)
{
    unsigned long e = ERR_get_error();
    char          buf[256];

    if (e) {
        ERR_error_string_n(e, buf, sizeof(buf));
        fprintf(stderr, "jwtmint: %s: %s\n", what, buf);
    } else {
        fprintf(stderr, "jwtmint: %s\n", what);
    }
    exit(2);
}


static void
jm_usage(FILE *out)
{
    fprintf(out,
"usage: jwtmint jwks OUT.json KID=KEY.pem...\n"
"       jwtmint mint --key KEY.pem --kid KID --sub SPIFFE_ID --aud AUD\n"
"                    [--ttl SECONDS] [--count N] [--jti PREFIX]"
" [--out FILE]\n");
}


/* base64url without padding (RFC 7515 section 2). */
static size_t
b64url(const unsigned char *in, size_t len, char *out, size_t cap)
{
    size_t n, i;

    if (len > (cap / 4) * 3 - 3) {
        jm_die("value too long to encode");
    }
    n = (size_t) EVP_EncodeBlock((unsigned char *) out, in, (int) len);
    while (n && out[n - 1] == '=') {
        n--;
    }
    for (i = 0; i < n; i++) {
        if (out[i] == '+') {
            out[i] = '-';
        } else if (out[i] == '/') {
            out[i] = '_';
        }
    }
    out[n] = '\0';
    return n;
}


static EVP_PKEY *
load_key(const char *path)
{
    FILE     *f = fopen(path, "r");
    EVP_PKEY *k;

    if (f == NULL) {
        perror(path);
        exit(2);
    }
    k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (k == NULL) {
        jm_die(path);
    }
    if (!EVP_PKEY_is_a(k, "RSA") && !EVP_PKEY_is_a(k, "EC")) {
        jm_die("only EC P-256 and RSA keys are supported");
    }
    if (EVP_PKEY_is_a(k, "EC")) {
        char group[64];

        if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME,
                                            group, sizeof(group), NULL)
            || strcmp(group, "prime256v1") != 0)
        {
            jm_die("EC keys must be on P-256 (ES256)");
        }
    }
    return k;
}


/* A big-number parameter as base64url, left-padded to pad bytes. */
static json_t *
bn_param(EVP_PKEY *k, const char *name, int pad)
{
    BIGNUM        *bn = NULL;
    unsigned char  bin[1024];
    char           b64[JM_B64_MAX];
    int            n;

    if (!EVP_PKEY_get_bn_param(k, name, &bn)) {
        jm_die(name);
    }
    n = pad ? pad : BN_num_bytes(bn);
    if (n > (int) sizeof(bin) || BN_bn2binpad(bn, bin, n) != n) {
        jm_die("key parameter too large");
    }
    BN_free(bn);
    b64url(bin, (size_t) n, b64, sizeof(b64));
    return json_string(b64);
}


static int
cmd_jwks(int argc, char **argv)
{
    json_t *keys = json_array(), *doc;
    int     i;

    if (argc < 4) {
        jm_usage(stderr);
        return 2;
    }
    for (i = 3; i < argc; i++) {
        char     *eq = strchr(argv[i], '=');
        EVP_PKEY *k;
        json_t   *jwk;

        if (eq == NULL || eq == argv[i]) {
            fprintf(stderr, "jwtmint: want KID=KEY.pem, got %s\n", argv[i]);
            return 2;
        }
        *eq = '\0';
        k = load_key(eq + 1);
        if (EVP_PKEY_is_a(k, "EC")) {
            jwk = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s}",
                            "kty", "EC", "kid", argv[i], "crv", "P-256",
                            "x", bn_param(k, OSSL_PKEY_PARAM_EC_PUB_X, 32),
                            "y", bn_param(k, OSSL_PKEY_PARAM_EC_PUB_Y, 32),
                            "use", "jwt-svid");
        } else {
            jwk = json_pack("{s:s, s:s, s:o, s:o, s:s}",
                            "kty", "RSA", "kid", argv[i],
                            "n", bn_param(k, OSSL_PKEY_PARAM_RSA_N, 0),
                            "e", bn_param(k, OSSL_PKEY_PARAM_RSA_E, 0),
                            "use", "jwt-svid");
        }
        EVP_PKEY_free(k);
        if (jwk == NULL || json_array_append_new(keys, jwk) != 0) {
            jm_die("building the JWKS");
        }
    }
    doc = json_pack("{s:o, s:i}", "keys", keys, "spiffe_refresh_hint", 300);
    if (doc == NULL || json_dump_file(doc, argv[2], JSON_INDENT(2)) != 0) {
        jm_die(argv[2]);
    }
    json_decref(doc);
    return 0;
}


/* ECDSA signatures are DER in OpenSSL, raw R || S in JWS (RFC 7518). */
static size_t
ecdsa_raw(const unsigned char *der, size_t der_len, unsigned char *out)
{
    const unsigned char *p = der;
    ECDSA_SIG           *sig = d2i_ECDSA_SIG(NULL, &p, (long) der_len);
    const BIGNUM        *r, *s;

    if (sig == NULL) {
        jm_die("ECDSA signature");
    }
    ECDSA_SIG_get0(sig, &r, &s);
    if (BN_bn2binpad(r, out, 32) != 32 || BN_bn2binpad(s, out + 32, 32) != 32)
    {
        jm_die("ECDSA signature size");
    }
    ECDSA_SIG_free(sig);
    return 64;
}


static long long
jm_count(const char *s, const char *name, long long min, long long max)
{
    char      *end;
    long long  v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max) {
        fprintf(stderr, "jwtmint: bad %s: %s\n", name, s);
        exit(2);
    }
    return v;
}


static int
cmd_mint(int argc, char **argv)
{
    static const struct option longopts[] = {
        { "key", required_argument, NULL, 'k' },
        { "kid", required_argument, NULL, 'i' },
        { "sub", required_argument, NULL, 's' },
        { "aud", required_argument, NULL, 'a' },
        { "ttl", required_argument, NULL, 't' },
        { "count", required_argument, NULL, 'n' },
        { "jti", required_argument, NULL, 'j' },
        { "out", required_argument, NULL, 'o' },
        { NULL, 0, NULL, 0 }
    };
    const char    *keyf = NULL, *kid = NULL, *sub = NULL, *aud = NULL;
    const char    *jti = "bench", *outf = NULL;
    long long      ttl = 3600, count = 1, i;
    EVP_PKEY      *k;
    EVP_MD_CTX    *md;
    FILE          *out = stdout;
    json_t        *hdr;
    char          *hjson;
    char           hb64[JM_B64_MAX], pb64[JM_B64_MAX], sb64[JM_B64_MAX];
    char           input[2 * JM_B64_MAX + 2];
    unsigned char  sig[1024], raw[64];
    int            c, ec;
    time_t         now = time(NULL);

    optind = 2;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'k': keyf = optarg; break;
        case 'i': kid = optarg; break;
        case 's': sub = optarg; break;
        case 'a': aud = optarg; break;
        case 't': ttl = jm_count(optarg, "--ttl", 1, 10L * 365 * 86400);
                  break;
        case 'n': count = jm_count(optarg, "--count", 1, 100000000);
                  break;
        case 'j': jti = optarg; break;
        case 'o': outf = optarg; break;
        default:
            jm_usage(stderr);
            return 2;
        }
    }
    if (optind != argc || !keyf || !kid || !sub || !aud) {
        jm_usage(stderr);
        return 2;
    }

    k = load_key(keyf);
    ec = EVP_PKEY_is_a(k, "EC");
    hdr = json_pack("{s:s, s:s, s:s}", "alg", ec ? "ES256" : "RS256",
                    "kid", kid, "typ", "JWT");
    hjson = json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (hjson == NULL) {
        jm_die("header");
    }
    b64url((unsigned char *) hjson, strlen(hjson), hb64, sizeof(hb64));
    free(hjson);
    json_decref(hdr);

    if (outf && (out = fopen(outf, "w")) == NULL) {
        perror(outf);
        return 2;
    }
    md = EVP_MD_CTX_new();
    if (md == NULL) {
        jm_die("EVP_MD_CTX_new");
    }

    for (i = 0; i < count; i++) {
        json_t *pl;
        char   *pjson, jtibuf[256];
        size_t  siglen = sizeof(sig), inlen;
        int     n;

        snprintf(jtibuf, sizeof(jtibuf), "%s-%lld", jti, i);
        pl = json_pack("{s:s, s:[s], s:I, s:I, s:s}", "sub", sub,
                       "aud", aud, "exp", (json_int_t) (now + ttl),
                       "iat", (json_int_t) now, "jti", jtibuf);
        pjson = pl ? json_dumps(pl, JSON_COMPACT | JSON_PRESERVE_ORDER)
                   : NULL;
        if (pjson == NULL) {
            jm_die("payload");
        }
        b64url((unsigned char *) pjson, strlen(pjson), pb64, sizeof(pb64));
        free(pjson);
        json_decref(pl);

        n = snprintf(input, sizeof(input), "%s.%s", hb64, pb64);
        if (n < 0 || (size_t) n >= sizeof(input)) {
            jm_die("token too long");
        }
        inlen = (size_t) n;
        if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1
            || EVP_DigestSign(md, sig, &siglen, (unsigned char *) input,
                              inlen) != 1)
        {
            jm_die("signing");
        }
        if (ec) {
            b64url(raw, ecdsa_raw(sig, siglen, raw), sb64, sizeof(sb64));
        } else {
            b64url(sig, siglen, sb64, sizeof(sb64));
        }
        if (fprintf(out, "%s.%s\n", input, sb64) < 0) {
            jm_die("write");
        }
    }
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    if (out != stdout ? fclose(out) != 0 : fflush(out) != 0) {
        perror(outf ? outf : "stdout");
        return 2;
    }
    return 0;
}


int
main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "jwks") == 0) {
        return cmd_jwks(argc, argv);
    }
    if (argc >= 2 && strcmp(argv[1], "mint") == 0) {
        return cmd_mint(argc, argv);
    }
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0
                      || strcmp(argv[1], "-h") == 0))
    {
        jm_usage(stdout);
        return 0;
    }
    jm_usage(stderr);
    return 2;
}
