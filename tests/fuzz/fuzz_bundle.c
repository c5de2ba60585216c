/*
 * Fuzz target: trust bundle files as spiffe-helper, SPIRE and operators
 * write them, through the real loader (files on disk, content
 * detection, the per-trust-domain view).  The first input byte picks
 * how the rest is used:
 *   0  a.org=FILE (PEM certificates or a SPIFFE bundle JWKS, or a map)
 *   1  FILE as spiffe-helper's jwt_bundle.json map (every trust domain)
 *   2  a directory holding a.org.pem with this content
 *   3  reload: a good a.org bundle is loaded, then rewritten in place
 *      with this content and refreshed; a bad rewrite must keep the
 *      last good bundle (same keys, same generation)
 *   4  a directory holding a.org.json with this content
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "identity_fixture.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/wid-fuzz-bundle-XXXXXX";
static char file[64], sub[64], subfile[96];

static void
write_bytes(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "w");

    if (f == NULL || (len > 0 && fwrite(buf, 1, len, f) != len)
        || fclose(f) != 0)
    {
        abort();
    }
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    if (mkdtemp(dir) == NULL) {
        abort();
    }
    snprintf(file, sizeof(file), "%s/bundle", dir);
    snprintf(sub, sizeof(sub), "%s/d", dir);
    if (mkdir(sub, 0700) != 0) {
        abort();
    }
    return 0;
}

/* Walk everything a verifier could look at. */
static void
touch(const wid_bundle_set *set)
{
    const wid_bundle *b;
    size_t            i, k;
    uint64_t          seq;
    int64_t           hint;

    for (i = 0; i < wid_bundle_set_count(set); i++) {
        b = wid_bundle_set_at(set, i);
        if (wid_bundle_set_find(set, wid_bundle_trust_domain(b),
                                strlen(wid_bundle_trust_domain(b))) != b
            || wid_bundle_x509_store(b) == NULL)
        {
            abort();
        }
        for (k = 0; k < wid_bundle_x509_count(b); k++) {
            if (wid_bundle_x509_at(b, k) == NULL
                || strlen(wid_bundle_x509_source(b, k)) != 64)
            {
                abort();
            }
        }
        for (k = 0; k < wid_bundle_jwt_count(b); k++) {
            wid_jwt_authority *a = wid_bundle_jwt_at(b, k);

            if (a->key.pkey == NULL
                || wid_bundle_jwt_find(b, a->kid) == NULL)
            {
                abort();
            }
        }
        (void) wid_bundle_sequence(b, &seq);
        (void) wid_bundle_refresh_hint(b, &hint);
        (void) wid_bundle_skipped(b);
    }
}

static void
reload(const uint8_t *data, size_t size)
{
    wid_bundle_set   *set = wid_bundle_set_new();
    const wid_bundle *b;
    uint64_t          gen;
    size_t            nkeys;
    wid_reason_t      r;
    char              arg[96];
    struct timespec   ts[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };

    write_bytes(file, wid_fuzz_a_jwks, strlen(wid_fuzz_a_jwks));
    snprintf(arg, sizeof(arg), "a.org=%s", file);
    if (wid_bundle_set_add_arg(set, arg) != WID_OK) {
        abort();
    }
    gen = wid_bundle_set_generation(set);
    nkeys = wid_bundle_jwt_count(wid_bundle_set_find(set, "a.org", 5));

    write_bytes(file, data, size);
    /* A different mtime even within the clock's granularity. */
    ts[1].tv_sec = 1000000000 + (time_t) (size % 1000);
    ts[1].tv_nsec = 0;
    (void) utimensat(AT_FDCWD, file, ts, 0);
    r = wid_bundle_set_refresh(set, WID_FUZZ_NOW);
    b = wid_bundle_set_find(set, "a.org", 5);
    if (r != WID_OK
        && (b == NULL || wid_bundle_set_generation(set) != gen
            || wid_bundle_jwt_count(b) != nkeys))
    {
        abort();        /* a bad rewrite lost the last good bundle */
    }
    if (r == WID_OK && b == NULL) {
        abort();
    }
    touch(set);
    /* Unchanged file: nothing new, nothing reported again. */
    gen = wid_bundle_set_generation(set);
    (void) wid_bundle_set_refresh(set, WID_FUZZ_NOW + 1);
    if (wid_bundle_set_generation(set) != gen) {
        abort();
    }
    wid_bundle_set_free(set);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wid_bundle_set *set;
    wid_reason_t    r;
    int             mode;

    if (size == 0) {
        return 0;
    }
    mode = data[0] % 5;
    data++;
    size--;
    if (mode == 3) {
        reload(data, size);
        return 0;
    }

    set = wid_bundle_set_new();
    switch (mode) {
    case 0:
        write_bytes(file, data, size);
        r = wid_bundle_set_add(set, "a.org", file);
        break;
    case 1:
        write_bytes(file, data, size);
        r = wid_bundle_set_add(set, NULL, file);
        break;
    default:
        snprintf(subfile, sizeof(subfile), "%s/a.org.%s", sub,
                 mode == 2 ? "pem" : "json");
        write_bytes(subfile, data, size);
        r = wid_bundle_set_add(set, NULL, sub);
        unlink(subfile);
        break;
    }
    if (r == WID_OK) {
        touch(set);
    } else if (wid_bundle_set_count(set) != 0) {
        abort();        /* a failed first load trusts nothing */
    }
    wid_bundle_set_free(set);
    return 0;
}
