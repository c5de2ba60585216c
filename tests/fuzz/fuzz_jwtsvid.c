/*
 * Fuzz target: compact JWS parsing and JWT-SVID verification against a
 * fixed bundle set (tests/fuzz/identity_fixture.h: a.org and b.org JWT
 * authorities; the seed tokens are valid at WID_FUZZ_NOW).
 *
 * Differential: the memo of validated headers (jws.h) must never change
 * a result.  Each input is verified with the memo (which remembers the
 * header once a signature verified), without it, and with it again (now
 * a hit for every token that verified): all three must agree, and so
 * must generic JWS parsing with and without the memo.  The input is
 * also read as decoded claims.
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
    wid_jws_opts  memo = {
        WID_JWTSVID_MAX_LEN, 0, WID_JWS_HDR_STRICT | WID_JWS_HDR_TYP_JWT,
        NULL, NULL
    };
    wid_jws_opts  full = memo;
    wid_reason_t  ra, rb;

    if (a == NULL || b == NULL) {
        abort();
    }
    full.flags |= WID_JWS_NO_MEMO;
    ra = wid_jws_parse(tok, size, &memo, a);
    rb = wid_jws_parse(tok, size, &full, b);
    if (ra != rb) {
        abort();
    }
    if (ra == WID_OK) {
        if (a->alg != b->alg || (a->kid == NULL) != (b->kid == NULL)
            || (a->kid != NULL && strcmp(a->kid, b->kid) != 0)
            || a->sig_len != b->sig_len
            || memcmp(a->sig, b->sig, a->sig_len) != 0
            || a->signing_input_len != b->signing_input_len
            || b->from_memo)
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
read_claims(const uint8_t *data, size_t size)
{
    wid_jwt_claims c;
    wid_reason_t   r;

    r = wid_jwt_claims_read(data, size, 16, "wid-test", 8, &c);
    if (r == WID_OK
        && (c.json == NULL
            || (c.sub != NULL && strlen(c.sub) != c.sub_len)
            || (c.aud != WID_OK && c.aud != WID_R_JWT_AUD_MISSING
                && c.aud != WID_R_JWT_AUD_MISMATCH
                && c.aud != WID_R_JWT_CLAIM_INVALID)))
    {
        abort();
    }
    wid_jwt_claims_clear(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static wid_identity a, b, c;
    wid_jwtsvid_opts    o = { "wid-test", WID_FUZZ_NOW, 30, 0, 0 };
    const char         *tok = (const char *) data;
    wid_reason_t        ra, rb, rc;

    ra = wid_jwtsvid_verify_opts(set, tok, size, &o, &a);
    o.flags = WID_JWTSVID_NO_MEMO;
    rb = wid_jwtsvid_verify_opts(set, tok, size, &o, &b);
    o.flags = 0;
    rc = wid_jwtsvid_verify_opts(set, tok, size, &o, &c);
    if (ra != rb || rb != rc || memcmp(&a, &b, sizeof(a)) != 0
        || memcmp(&b, &c, sizeof(b)) != 0)
    {
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
    read_claims(data, size);
    return 0;
}
