/*
 * Fuzz target: compact JWS parsing and JWT-SVID verification against a
 * fixed bundle set (tests/fuzz/identity_fixture.h: a.org and b.org JWT
 * authorities; the seed tokens are valid at WID_FUZZ_NOW).
 *
 * Differential: the flat fast path (flatjson.h) and the jansson-only
 * path must give the same result for every input, in verification, in
 * generic JWS parsing, and in reading the input as decoded claims.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle.h"
#include "identity_fixture.h"
#include "jws.h"
#include "jwt_claims.h"
#include "jwtsvid.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static wid_bundle_set *set;

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        abort();
    }
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char dir[] = "/tmp/wid-fuzz-jwt-XXXXXX", path[64], arg[96];

    (void) argc;
    (void) argv;
    if (mkdtemp(dir) == NULL) {
        abort();
    }
    set = wid_bundle_set_new();
    snprintf(path, sizeof(path), "%s/a.json", dir);
    write_file(path, wid_fuzz_a_jwks);
    snprintf(arg, sizeof(arg), "a.org=%s", path);
    if (wid_bundle_set_add_arg(set, arg) != WID_OK) {
        abort();
    }
    unlink(path);
    snprintf(path, sizeof(path), "%s/b.json", dir);
    write_file(path, wid_fuzz_b_jwks);
    snprintf(arg, sizeof(arg), "b.org=%s", path);
    if (wid_bundle_set_add_arg(set, arg) != WID_OK) {
        abort();
    }
    unlink(path);
    rmdir(dir);
    return 0;
}

static void
same_jws(const char *tok, size_t size)
{
    wid_jws      *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
    wid_jws_opts  slow = { 0, 0, WID_JWS_NO_FASTPATH, NULL, NULL };
    wid_reason_t  ra, rb;

    if (a == NULL || b == NULL) {
        abort();
    }
    ra = wid_jws_parse(tok, size, NULL, a);
    rb = wid_jws_parse(tok, size, &slow, b);
    if (ra != rb) {
        abort();
    }
    if (ra == WID_OK) {
        if (a->alg != b->alg || (a->kid == NULL) != (b->kid == NULL)
            || (a->kid != NULL && strcmp(a->kid, b->kid) != 0)
            || a->sig_len != b->sig_len
            || memcmp(a->sig, b->sig, a->sig_len) != 0
            || a->signing_input_len != b->signing_input_len)
        {
            abort();
        }
    }
    wid_jws_clear(a);
    wid_jws_clear(b);
    free(a);
    free(b);
}

static void
same_claims(const uint8_t *data, size_t size)
{
    wid_jwt_claims f, g;
    wid_reason_t   rf, rg;

    rf = wid_jwt_claims_read(data, size, 16, "wid-test", 8, 0, &f);
    rg = wid_jwt_claims_read(data, size, 16, "wid-test", 8,
                             WID_JWT_CLAIMS_NO_FASTPATH, &g);
    if (rf != rg) {
        abort();
    }
    if (rf == WID_OK
        && ((f.sub == NULL) != (g.sub == NULL)
            || (f.sub != NULL && (f.sub_len != g.sub_len
                                  || memcmp(f.sub, g.sub, f.sub_len) != 0))
            || f.aud != g.aud
            || f.exp.present != g.exp.present || f.exp.status != g.exp.status
            || f.exp.value != g.exp.value
            || f.nbf.present != g.nbf.present || f.nbf.status != g.nbf.status
            || f.nbf.value != g.nbf.value
            || f.iat.present != g.iat.present || f.iat.status != g.iat.status
            || f.iat.value != g.iat.value))
    {
        abort();
    }
    wid_jwt_claims_clear(&f);
    wid_jwt_claims_clear(&g);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static wid_identity a, b;
    const char         *tok = (const char *) data;
    wid_reason_t        ra, rb;

    ra = wid_jwtsvid_verify(set, tok, size, "wid-test", WID_FUZZ_NOW, 30, &a);
    rb = wid_jwtsvid_verify_flags(set, tok, size, "wid-test", WID_FUZZ_NOW,
                                  30, WID_JWTSVID_NO_FASTPATH, &b);
    if (ra != rb || memcmp(&a, &b, sizeof(a)) != 0) {
        abort();
    }
    if (ra == WID_OK
        && (a.kind != WID_CRED_JWT_SVID || a.path[0] != '/'
            || strcmp(a.audience, "wid-test") != 0
            || a.not_after <= WID_FUZZ_NOW - 30))
    {
        abort();
    }
    same_jws(tok, size);
    same_claims(data, size);
    return 0;
}
