/*
 * Trust bundles: formats detected by content, every malformation its
 * own reason code, reload keeping the last good bundle through torn
 * rewrites (reported once per bad version), directories, generations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "bundle.h"
#include "identity_support.h"

static char dir[256];

#define WID_BUNDLE_TEST_WINDOW 2

/*
 * Fixtures that need real keys and certificates: JWKS variants written
 * by python3-cryptography from the material mint-jwt and widpki made.
 */
static const char fixtures_py[] =
    "import base64,json,sys\n"
    "from cryptography import x509\n"
    "from cryptography.hazmat.primitives import serialization as s\n"
    "from cryptography.hazmat.primitives.asymmetric import rsa\n"
    "d=sys.argv[1]\n"
    "def u(b): return base64.urlsafe_b64encode(b).rstrip(b'=').decode()\n"
    "a=json.load(open(d+'/jwt/a.org.json'))\n"
    "ec=[k for k in a['keys'] if k.get('kid')=='a-ec256'][0]\n"
    "eb=json.load(open(d+'/jwt/b.org.json'))['keys'][0]\n"
    "der=x509.load_pem_x509_certificate(open(d+'/pki/a.org.pem','rb')"
    ".read()).public_bytes(s.Encoding.DER)\n"
    "x5=base64.b64encode(der).decode()\n"
    "r=rsa.generate_private_key(public_exponent=65537,key_size=1024)"
    ".public_key().public_numbers()\n"
    "rs={'kty':'RSA','use':'jwt-svid','kid':'r','e':u(r.e.to_bytes(3,'big')),"
    "'n':u(r.n.to_bytes(128,'big'))}\n"
    "off=dict(ec,x=u(b'\\x01'*32),y=u(b'\\x02'*32))\n"
    "F={'x5c_ok':{'keys':[{'use':'x509-svid','kty':'EC','x5c':[x5]}]},\n"
    " 'x5c_two':{'keys':[{'use':'x509-svid','x5c':[x5,x5]}]},\n"
    " 'x5c_none':{'keys':[{'use':'x509-svid','kty':'EC'}]},\n"
    " 'x5c_b64':{'keys':[{'use':'x509-svid','x5c':['!!'+x5]}]},\n"
    " 'jwk_offcurve':{'keys':[off]},\n"
    " 'jwk_rsa1024':{'keys':[rs]},\n"
    " 'jwk_private':{'keys':[dict(ec,d=u(b'\\x03'*32))]},\n"
    " 'jwk_nokty':{'keys':[{k:v for k,v in ec.items() if k!='kty'}]},\n"
    " 'kid_missing':{'keys':[{k:v for k,v in ec.items() if k!='kid'}]},\n"
    " 'kid_dup':{'keys':[ec,ec]},\n"
    " 'map_badb64':{'a.org':'!!!'},\n"
    " 'map_notjson':{'a.org':base64.b64encode(b'not json').decode()},\n"
    " 'map_badtd':{'Bad TD':base64.b64encode(b'{\"keys\":[]}').decode()},\n"
    " 'same_a':{'keys':[ec]},\n"
    " 'same_b':{'keys':[dict(ec,kid='b-ec256',x=eb['x'],y=eb['y'])]},\n"
    "}\n"
    "for n,o in F.items(): json.dump(o,open(d+'/'+n+'.json','w'))\n";

static const struct {
    const char   *name;
    const char   *text;     /* file content, or NULL: a fixture file */
    wid_reason_t  want;
} bad[] = {
    { "empty", "", WID_R_BUNDLE_EMPTY },
    { "blank", " \n\t\n", WID_R_BUNDLE_EMPTY },
    { "text", "hello world\n", WID_R_BUNDLE_FORMAT_UNKNOWN },
    { "array", "[]", WID_R_BUNDLE_FORMAT_UNKNOWN },
    { "pem_key", "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIHR4\n"
      "-----END PRIVATE KEY-----\n", WID_R_BUNDLE_PEM_INVALID },
    { "pem_torn", "-----BEGIN CERTIFICATE-----\nMIIB", 
      WID_R_BUNDLE_PEM_INVALID },
    { "json_torn", "{\"keys\": [ {\"use\": \"jwt-svid\"",
      WID_R_BUNDLE_JSON_INVALID },
    { "json_deep", "{\"keys\":[],\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}",
      WID_R_BUNDLE_JSON_INVALID },
    { "dup", "{\"keys\":[],\"keys\":[]}", WID_R_BUNDLE_DUPLICATE_KEY },
    { "nokeys", "{\"spiffe_sequence\":1}", WID_R_BUNDLE_KEYS_MISSING },
    { "seq_str", "{\"keys\":[],\"spiffe_sequence\":\"1\"}",
      WID_R_BUNDLE_FIELD_INVALID },
    { "hint_neg", "{\"keys\":[],\"spiffe_refresh_hint\":-1}",
      WID_R_BUNDLE_FIELD_INVALID },
    { "entry_num", "{\"keys\":[5]}", WID_R_BUNDLE_FIELD_INVALID },
    { "use_num", "{\"keys\":[{\"use\":5,\"kty\":\"EC\"}]}",
      WID_R_BUNDLE_FIELD_INVALID },
    { "x5c_two", NULL, WID_R_BUNDLE_X5C_INVALID },
    { "x5c_none", NULL, WID_R_BUNDLE_X5C_INVALID },
    { "x5c_b64", NULL, WID_R_BUNDLE_X5C_INVALID },
    { "jwk_offcurve", NULL, WID_R_BUNDLE_JWK_INVALID },
    { "jwk_rsa1024", NULL, WID_R_BUNDLE_JWK_INVALID },
    { "jwk_private", NULL, WID_R_BUNDLE_JWK_INVALID },
    { "jwk_nokty", NULL, WID_R_BUNDLE_JWK_INVALID },
    { "kid_missing", NULL, WID_R_BUNDLE_KID_MISSING },
    { "kid_dup", NULL, WID_R_BUNDLE_KID_DUPLICATE },
    { "map_badb64", NULL, WID_R_BUNDLE_MAP_INVALID },
    { "map_notjson", NULL, WID_R_BUNDLE_MAP_INVALID },
    { "map_badtd", NULL, WID_R_BUNDLE_TD_INVALID },
};

static wid_reason_t
add(wid_bundle_set *s, const char *td, const char *file)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    return wid_bundle_set_add(s, td, path);
}

static void
test_bad_bundles(void **state)
{
    wid_bundle_set *s;
    char            path[512];
    size_t          i;
    wid_reason_t    r;
    int             fails = 0;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s.%s", dir, bad[i].name,
                 bad[i].text != NULL ? "in" : "json");
        if (bad[i].text != NULL) {
            assert_int_equal(idt_write(path, bad[i].text,
                                       strlen(bad[i].text)), 0);
        }
        s = wid_bundle_set_new();
        /* Maps are loaded whole, so their own trust domains are checked. */
        r = wid_bundle_set_add(s, strncmp(bad[i].name, "map_", 4) == 0
                                  ? NULL : "a.org", path);
        if (r != bad[i].want) {
            print_error("%s: got %s, want %s\n", bad[i].name,
                        wid_reason_code(r), wid_reason_code(bad[i].want));
            fails++;
        }
        /* Fail closed: nothing of a bad bundle is trusted. */
        assert_int_equal(wid_bundle_set_count(s), 0);
        wid_bundle_set_free(s);
    }
    assert_int_equal(fails, 0);
}

static void
test_torn_pem_tail(void **state)
{
    wid_bundle_set *s = wid_bundle_set_new();
    char            path[512];
    char           *pem;
    size_t          len;

    (void) state;
    snprintf(path, sizeof(path), "%s/pki/a.org.pem", dir);
    pem = idt_slurp(path, &len);
    assert_non_null(pem);
    /* Two certificates, the second cut in its END line. */
    snprintf(path, sizeof(path), "%s/two_torn.pem", dir);
    assert_int_equal(idt_run("cat %s/pki/a.org.pem %s/pki/b.org.pem"
                             " | head -c -10 > %s", dir, dir, path), 0);
    assert_int_equal(wid_bundle_set_add(s, "a.org", path),
                     WID_R_BUNDLE_PEM_INVALID);
    /* One certificate plus a stray BEGIN line. */
    assert_int_equal(idt_run("(cat %s/pki/a.org.pem; echo '-----BEGIN CERT')"
                             " > %s", dir, path), 0);
    assert_int_equal(wid_bundle_set_add(s, "a.org", path),
                     WID_R_BUNDLE_PEM_INVALID);
    /* Trailing garbage. */
    assert_int_equal(idt_run("(cat %s/pki/a.org.pem; echo 'junk') > %s", dir,
                             path), 0);
    assert_int_equal(wid_bundle_set_add(s, "a.org", path),
                     WID_R_BUNDLE_PEM_INVALID);
    assert_int_equal(wid_bundle_set_count(s), 0);
    free(pem);
    wid_bundle_set_free(s);
}

static void
test_formats(void **state)
{
    wid_bundle_set   *s = wid_bundle_set_new();
    const wid_bundle *b;
    uint64_t          seq;
    int64_t           hint;
    char              path[512];

    (void) state;
    /* PEM authorities. */
    assert_int_equal(add(s, "a.org", "pki/a.org.pem"), WID_OK);
    b = wid_bundle_set_find(s, "a.org", 5);
    assert_non_null(b);
    assert_int_equal(wid_bundle_x509_count(b), 1);
    assert_int_equal(wid_bundle_jwt_count(b), 0);
    assert_false(wid_bundle_sequence(b, &seq));

    /* SPIFFE JWKS for the same trust domain: the domain trusts both. */
    assert_int_equal(add(s, "a.org", "jwt/a.org.json"), WID_OK);
    b = wid_bundle_set_find(s, "a.org", 5);
    assert_int_equal(wid_bundle_x509_count(b), 1);
    assert_int_equal(wid_bundle_jwt_count(b), 4);
    assert_non_null(wid_bundle_jwt_find(b, "a-rsa"));
    assert_null(wid_bundle_jwt_find(b, "a-ed"));     /* OKP: skipped */
    assert_null(wid_bundle_jwt_find(b, "a-enc"));    /* use enc: skipped */
    assert_int_equal(wid_bundle_skipped(b), 2);
    assert_true(wid_bundle_sequence(b, &seq));
    assert_int_equal(seq, 7);
    assert_true(wid_bundle_refresh_hint(b, &hint));
    assert_int_equal(hint, 300);
    assert_int_equal(wid_bundle_source_count(b), 2);

    /* x509-svid JWKS entries. */
    assert_int_equal(add(s, "x.org", "x5c_ok.json"), WID_OK);
    b = wid_bundle_set_find(s, "x.org", 5);
    assert_non_null(b);
    assert_int_equal(wid_bundle_x509_count(b), 1);
    assert_int_equal(wid_bundle_set_count(s), 2);
    /* Lookup is exact, by length too. */
    assert_null(wid_bundle_set_find(s, "a.or", 4));
    assert_null(wid_bundle_set_find(s, "a.org.", 6));
    wid_bundle_set_free(s);

    /* A single-domain bundle needs a trust domain name. */
    s = wid_bundle_set_new();
    snprintf(path, sizeof(path), "%s/jwt/a.org.json", dir);
    assert_int_equal(wid_bundle_set_add_arg(s, path), WID_R_INTERNAL_CONFIG);
    assert_int_equal(wid_bundle_set_add(s, "A.org", path),
                     WID_R_BUNDLE_TD_INVALID);
    snprintf(path, sizeof(path), "Bad=%s/jwt/a.org.json", dir);
    assert_int_equal(wid_bundle_set_add_arg(s, path), WID_R_BUNDLE_TD_INVALID);
    snprintf(path, sizeof(path), "c.org=%s/jwt/jwt_bundle.json", dir);
    assert_int_equal(wid_bundle_set_add_arg(s, path), WID_R_BUNDLE_TD_MISSING);
    assert_int_equal(add(s, "a.org", "missing.pem"), WID_R_BUNDLE_UNREADABLE);
    assert_int_equal(wid_bundle_set_count(s), 0);
    assert_int_equal(wid_bundle_set_generation(s), 0);
    wid_bundle_set_free(s);
}

static int reports;
static wid_reason_t last_report;

static void
on_report(void *ctx, const char *path, const char *td, wid_reason_t r)
{
    (void) ctx;
    (void) path;
    (void) td;
    reports++;
    last_report = r;
}

static void
copy(const char *from, const char *to)
{
    assert_int_equal(idt_run("cat %s/%s > %s/%s", dir, from, dir, to), 0);
}

static void
test_reload(void **state)
{
    wid_bundle_set   *s = wid_bundle_set_new();
    const wid_bundle *b;
    uint64_t          g;

    (void) state;
    reports = 0;
    wid_bundle_set_on_report(s, on_report, NULL);
    copy("jwt/a.org.json", "live.json");
    assert_int_equal(add(s, "a.org", "live.json"), WID_OK);
    g = wid_bundle_set_generation(s);
    assert_int_equal(wid_bundle_set_refresh(s, 1), WID_OK);
    assert_int_equal(wid_bundle_set_generation(s), g);

    /* A torn rewrite: the last good bundle stays, reported once. */
    assert_int_equal(idt_run("head -c 100 %s/jwt/a.org.json > %s/live.json",
                             dir, dir), 0);
    assert_int_equal(wid_bundle_set_refresh(s, 2), WID_R_BUNDLE_JSON_INVALID);
    assert_int_equal(reports, 1);
    assert_int_equal(last_report, WID_R_BUNDLE_JSON_INVALID);
    assert_int_equal(wid_bundle_set_generation(s), g);
    b = wid_bundle_set_find(s, "a.org", 5);
    assert_non_null(b);
    assert_int_equal(wid_bundle_jwt_count(b), 4);
    assert_int_equal(wid_bundle_set_refresh(s, 3), WID_OK);
    assert_int_equal(reports, 1);

    /* Another bad version is reported again. */
    assert_int_equal(idt_run("head -c 50 %s/jwt/a.org.json > %s/live.json",
                             dir, dir), 0);
    assert_int_equal(wid_bundle_set_refresh(s, 4), WID_R_BUNDLE_JSON_INVALID);
    assert_int_equal(reports, 2);

    /* The writer finishes with new content: new generation. */
    copy("jwt/b.org.json", "live.json");
    assert_int_equal(wid_bundle_set_refresh(s, 5), WID_OK);
    assert_int_equal(wid_bundle_set_generation(s), g + 1);
    b = wid_bundle_set_find(s, "a.org", 5);
    assert_int_equal(wid_bundle_jwt_count(b), 1);
    assert_non_null(wid_bundle_jwt_find(b, "b-ec256"));

    /* Rewritten with identical bytes: no new generation. */
    usleep(20000);
    copy("jwt/b.org.json", "live.json");
    assert_int_equal(wid_bundle_set_refresh(s, 6), WID_OK);
    assert_int_equal(wid_bundle_set_generation(s), g + 1);

    /* Gone: kept within the grace period, reported once. */
    assert_int_equal(idt_run("rm %s/live.json", dir), 0);
    assert_int_equal(wid_bundle_set_refresh(s, 7),
                     WID_R_BUNDLE_SOURCE_MISSING);
    assert_int_equal(wid_bundle_set_refresh(s, 8), WID_OK);
    assert_int_equal(reports, 3);
    assert_non_null(wid_bundle_set_find(s, "a.org", 5));

    /* Minimum interval: refreshes closer than it do nothing. */
    copy("jwt/a.org.json", "live.json");
    wid_bundle_set_min_interval(s, 60);
    assert_int_equal(wid_bundle_set_refresh(s, 9), WID_OK);
    assert_int_equal(wid_bundle_set_generation(s), g + 1);
    assert_int_equal(wid_bundle_set_refresh(s, 100), WID_OK);
    assert_int_equal(wid_bundle_set_generation(s), g + 2);
    assert_int_equal(wid_bundle_jwt_count(wid_bundle_set_find(s, "a.org", 5)),
                     4);
    wid_bundle_set_free(s);
}

/* A filesystem with 1 s timestamps (ext3, FAT's 2 s, coarse NFS). */
static int
coarse_stat(const char *path, struct stat *st)
{
    int r = stat(path, st);

    if (r == 0) {
        st->st_mtim.tv_nsec = 0;
        st->st_ctim.tv_nsec = 0;
    }
    return r;
}

static int
coarse_same(const char *path, const struct stat *a)
{
    struct stat b;

    return coarse_stat(path, &b) == 0 && a->st_ino == b.st_ino
           && a->st_size == b.st_size
           && a->st_mtim.tv_sec == b.st_mtim.tv_sec
           && a->st_ctim.tv_sec == b.st_ctim.tv_sec;
}

/*
 * In-place rewrites of the same size within one timestamp tick: stat
 * shows nothing, the content hash does.  window 0 is the stat-only
 * behaviour, which misses them (the control that shows the test bites).
 * Returns 1 when the scenario was produced (no tick boundary crossed).
 */
static int
same_tick(int window)
{
    wid_bundle_set   *s = wid_bundle_set_new();
    const wid_bundle *b;
    struct stat       st0;
    char              live[512], pa[512], pb[512], *a, *bb, *torn;
    size_t            alen, blen;
    uint64_t          g;
    int               produced = 0;

    snprintf(live, sizeof(live), "%s/tick.json", dir);
    snprintf(pa, sizeof(pa), "%s/same_a.json", dir);
    snprintf(pb, sizeof(pb), "%s/same_b.json", dir);
    a = idt_slurp(pa, &alen);
    bb = idt_slurp(pb, &blen);
    assert_non_null(a);
    assert_non_null(bb);
    assert_int_equal(alen, blen);
    torn = malloc(alen);
    assert_non_null(torn);
    memcpy(torn, a, alen);
    torn[alen - 1] = ',';                 /* same size, not JSON */

    reports = 0;
    wid_bundle_set_on_report(s, on_report, NULL);
    wid_bundle_set_stat_fn(s, coarse_stat);
    wid_bundle_set_rehash_window(s, window);
    assert_int_equal(idt_write(live, a, alen), 0);
    assert_int_equal(coarse_stat(live, &st0), 0);
    assert_int_equal(wid_bundle_set_add(s, "a.org", live), WID_OK);
    g = wid_bundle_set_generation(s);

    /* Torn, same size, same tick: reported once, last good kept. */
    assert_int_equal(idt_write(live, torn, alen), 0);
    if (!coarse_same(live, &st0)) {
        goto out;
    }
    if (window > 0) {
        assert_int_equal(wid_bundle_set_refresh(s, 1),
                         WID_R_BUNDLE_JSON_INVALID);
        assert_int_equal(wid_bundle_set_refresh(s, 2), WID_OK);
        assert_int_equal(reports, 1);
    } else {
        assert_int_equal(wid_bundle_set_refresh(s, 1), WID_OK);
        assert_int_equal(reports, 0);
    }
    b = wid_bundle_set_find(s, "a.org", 5);
    assert_non_null(wid_bundle_jwt_find(b, "a-ec256"));
    assert_int_equal(wid_bundle_set_generation(s), g);

    /* The writer finishes: new key, same size, same tick. */
    assert_int_equal(idt_write(live, bb, blen), 0);
    if (!coarse_same(live, &st0)) {
        goto out;
    }
    produced = 1;
    assert_int_equal(wid_bundle_set_refresh(s, 3), WID_OK);
    b = wid_bundle_set_find(s, "a.org", 5);
    if (window > 0) {
        assert_int_equal(wid_bundle_set_generation(s), g + 1);
        assert_non_null(wid_bundle_jwt_find(b, "b-ec256"));
        assert_null(wid_bundle_jwt_find(b, "a-ec256"));
        /* Re-checked and identical: no new generation, no report. */
        assert_int_equal(wid_bundle_set_refresh(s, 4), WID_OK);
        assert_int_equal(wid_bundle_set_generation(s), g + 1);
        assert_int_equal(reports, 1);
    } else {
        /* Stat alone: the old key stays trusted, the new one unknown. */
        assert_int_equal(wid_bundle_set_generation(s), g);
        assert_non_null(wid_bundle_jwt_find(b, "a-ec256"));
        assert_null(wid_bundle_jwt_find(b, "b-ec256"));
    }

out:
    free(a);
    free(bb);
    free(torn);
    wid_bundle_set_free(s);
    return produced;
}

static void
test_reload_same_tick(void **state)
{
    int i, done;

    (void) state;
    /* Retry when a second boundary falls inside the scenario. */
    for (i = 0, done = 0; i < 20 && !done; i++) {
        done = same_tick(WID_BUNDLE_TEST_WINDOW);
    }
    assert_true(done);
    for (i = 0, done = 0; i < 20 && !done; i++) {
        done = same_tick(0);
    }
    assert_true(done);
}

static void
test_directory(void **state)
{
    wid_bundle_set *s = wid_bundle_set_new();
    char            d[512];
    uint64_t        g;

    (void) state;
    reports = 0;
    wid_bundle_set_on_report(s, on_report, NULL);
    snprintf(d, sizeof(d), "%s/bdir", dir);
    assert_int_equal(idt_run("mkdir -p %s && touch %s/README %s/.hidden.pem",
                             d, d, d), 0);
    assert_int_equal(wid_bundle_set_add(s, NULL, d),
                     WID_R_BUNDLE_DIRECTORY_EMPTY);
    /* A name in front of a directory is refused, with its own code. */
    assert_int_equal(wid_bundle_set_add(s, "a.org", d),
                     WID_R_BUNDLE_DIRECTORY_NAMED);

    copy("pki/a.org.pem", "bdir/a.org.pem");
    copy("jwt/b.org.json", "bdir/b.org.json");
    assert_int_equal(wid_bundle_set_add(s, NULL, d), WID_OK);
    assert_int_equal(wid_bundle_set_count(s), 2);
    g = wid_bundle_set_generation(s);

    /* A new file: a new trust domain. */
    copy("pki/b.org.pem", "bdir/c.org.spiffe-trust-bundle.pem");
    assert_int_equal(wid_bundle_set_refresh(s, 1), WID_OK);
    assert_int_equal(wid_bundle_set_count(s), 3);
    assert_non_null(wid_bundle_set_find(s, "c.org", 5));
    assert_true(wid_bundle_set_generation(s) > g);

    /* A new file that is bad: reported, not trusted, fixed later. */
    assert_int_equal(idt_run("echo garbage > %s/d.org.pem", d), 0);
    assert_int_equal(wid_bundle_set_refresh(s, 2),
                     WID_R_BUNDLE_FORMAT_UNKNOWN);
    assert_int_equal(wid_bundle_set_refresh(s, 3), WID_OK);
    assert_int_equal(reports, 1);
    assert_null(wid_bundle_set_find(s, "d.org", 5));
    copy("pki/a.org.pem", "bdir/d.org.pem");
    assert_int_equal(wid_bundle_set_refresh(s, 4), WID_OK);
    assert_non_null(wid_bundle_set_find(s, "d.org", 5));

    /* Deleted from the directory: the trust domain is gone. */
    assert_int_equal(idt_run("rm %s/a.org.pem", d), 0);
    assert_int_equal(wid_bundle_set_refresh(s, 5), WID_OK);
    assert_null(wid_bundle_set_find(s, "a.org", 5));
    assert_int_equal(wid_bundle_set_count(s), 3);

    /*
     * A directory entry speaks only for the trust domain in its name: a
     * spiffe-helper map dropped in as jwt_bundle.json is the bundle of
     * "jwt_bundle" and brings no other domain (pass the map file itself
     * to load all its domains).
     */
    copy("jwt/jwt_bundle.json", "bdir/jwt_bundle.json");
    assert_int_equal(wid_bundle_set_refresh(s, 6),
                     WID_R_BUNDLE_TD_MISSING);
    assert_null(wid_bundle_set_find(s, "a.org", 5));
    assert_null(wid_bundle_set_find(s, "jwt_bundle", 10));
    assert_int_equal(idt_run("rm %s/jwt_bundle.json", d), 0);
    wid_bundle_set_free(s);

    /* A bad file at start fails the whole directory. */
    s = wid_bundle_set_new();
    assert_int_equal(idt_run("echo '{' > %s/e.org.json", d), 0);
    assert_int_equal(wid_bundle_set_add(s, NULL, d),
                     WID_R_BUNDLE_JSON_INVALID);
    assert_int_equal(wid_bundle_set_count(s), 0);
    wid_bundle_set_free(s);
}

/*
 * A TD=FILE bundle that is deleted is trusted for the grace period
 * only, then dropped and reported; it comes back when the file does.
 */
static void
test_missing_grace(void **state)
{
    wid_bundle_set   *s = wid_bundle_set_new();
    const wid_bundle *b;
    uint64_t          g;

    (void) state;
    reports = 0;
    wid_bundle_set_on_report(s, on_report, NULL);
    copy("pki/a.org.pem", "gone.pem");
    copy("jwt/b.org.json", "stays.json");
    assert_int_equal(add(s, "a.org", "gone.pem"), WID_OK);
    assert_int_equal(add(s, "a.org", "stays.json"), WID_OK);
    copy("jwt/b.org.json", "gone-b.json");
    assert_int_equal(add(s, "b.org", "gone-b.json"), WID_OK);
    g = wid_bundle_set_generation(s);

    assert_int_equal(idt_run("rm %s/gone.pem %s/gone-b.json", dir, dir), 0);
    assert_int_equal(wid_bundle_set_refresh(s, 1000),
                     WID_R_BUNDLE_SOURCE_MISSING);
    assert_int_equal(reports, 2);
    assert_int_equal(last_report, WID_R_BUNDLE_SOURCE_MISSING);
    /* Within the default 300 s: still trusted, not reported again. */
    assert_int_equal(wid_bundle_set_refresh(s, 1299), WID_OK);
    assert_int_equal(reports, 2);
    b = wid_bundle_set_find(s, "a.org", 5);
    assert_non_null(b);
    assert_int_equal(wid_bundle_x509_count(b), 1);
    assert_non_null(wid_bundle_set_find(s, "b.org", 5));
    assert_int_equal(wid_bundle_set_generation(s), g);

    /* Past it: dropped and reported once; a.org keeps its other file. */
    assert_int_equal(wid_bundle_set_refresh(s, 1300),
                     WID_R_BUNDLE_SOURCE_DROPPED);
    assert_int_equal(reports, 4);
    assert_int_equal(last_report, WID_R_BUNDLE_SOURCE_DROPPED);
    assert_null(wid_bundle_set_find(s, "b.org", 5));
    b = wid_bundle_set_find(s, "a.org", 5);
    assert_non_null(b);
    assert_int_equal(wid_bundle_x509_count(b), 0);
    assert_int_equal(wid_bundle_jwt_count(b), 1);
    assert_int_equal(wid_bundle_source_count(b), 1);
    assert_true(wid_bundle_set_generation(s) > g);
    g = wid_bundle_set_generation(s);
    assert_int_equal(wid_bundle_set_refresh(s, 5000), WID_OK);
    assert_int_equal(reports, 4);
    assert_int_equal(wid_bundle_set_generation(s), g);

    /* The file comes back (same bytes as before): trusted again. */
    copy("jwt/b.org.json", "gone-b.json");
    assert_int_equal(wid_bundle_set_refresh(s, 5001), WID_OK);
    assert_non_null(wid_bundle_set_find(s, "b.org", 5));
    assert_true(wid_bundle_set_generation(s) > g);

    /* Grace 0: dropped at the first refresh that finds it gone. */
    wid_bundle_set_missing_grace(s, 0);
    assert_int_equal(idt_run("rm %s/gone-b.json", dir), 0);
    assert_int_equal(wid_bundle_set_refresh(s, 5002),
                     WID_R_BUNDLE_SOURCE_DROPPED);
    assert_null(wid_bundle_set_find(s, "b.org", 5));

    /* A clock that goes back ends the grace (fail closed). */
    copy("jwt/b.org.json", "gone-b.json");
    assert_int_equal(wid_bundle_set_refresh(s, 5003), WID_OK);
    assert_non_null(wid_bundle_set_find(s, "b.org", 5));
    wid_bundle_set_missing_grace(s, 60);
    assert_int_equal(idt_run("rm %s/gone-b.json", dir), 0);
    assert_int_equal(wid_bundle_set_refresh(s, 6000),
                     WID_R_BUNDLE_SOURCE_MISSING);
    assert_non_null(wid_bundle_set_find(s, "b.org", 5));
    assert_int_equal(wid_bundle_set_refresh(s, 5990),
                     WID_R_BUNDLE_SOURCE_DROPPED);
    assert_null(wid_bundle_set_find(s, "b.org", 5));
    wid_bundle_set_free(s);

    /* Grace bounds: negative means 0, and at most a day. */
    s = wid_bundle_set_new();
    copy("jwt/b.org.json", "gone-b.json");
    assert_int_equal(add(s, "b.org", "gone-b.json"), WID_OK);
    wid_bundle_set_missing_grace(s, 1000000);
    assert_int_equal(idt_run("rm %s/gone-b.json", dir), 0);
    assert_int_equal(wid_bundle_set_refresh(s, 0),
                     WID_R_BUNDLE_SOURCE_MISSING);
    assert_int_equal(wid_bundle_set_refresh(s, 86399), WID_OK);
    assert_non_null(wid_bundle_set_find(s, "b.org", 5));
    assert_int_equal(wid_bundle_set_refresh(s, 86400),
                     WID_R_BUNDLE_SOURCE_DROPPED);
    wid_bundle_set_free(s);
    assert_int_equal(idt_run("rm -f %s/gone.pem %s/stays.json", dir, dir),
                     0);
}

static int
setup(void **state)
{
    const char *t = idt_tools_dir();
    char        py[512];

    (void) state;
    if (idt_mkdtemp(dir, sizeof(dir), "bundle") != 0
        || idt_run("%s/widpki td %s/pki a.org >/dev/null", t, dir) != 0
        || idt_run("%s/widpki td %s/pki b.org >/dev/null", t, dir) != 0
        || idt_run("/usr/bin/python3 %s/mint-jwt suite %s/jwt >/dev/null", t,
                   dir) != 0)
    {
        return -1;
    }
    snprintf(py, sizeof(py), "%s/fixtures.py", dir);
    if (idt_write(py, fixtures_py, sizeof(fixtures_py) - 1) != 0) {
        return -1;
    }
    return idt_run("/usr/bin/python3 %s %s", py, dir) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
    (void) state;
    idt_rmtree(dir);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_bundles),
        cmocka_unit_test(test_torn_pem_tail),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_reload),
        cmocka_unit_test(test_reload_same_tick),
        cmocka_unit_test(test_directory),
        cmocka_unit_test(test_missing_grace),
    };
    return cmocka_run_group_tests_name("bundle", tests, setup, teardown);
}
