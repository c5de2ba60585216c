/*
 * Trust bundle sets: loading, content detection, reload with
 * last-good retention, and the per-trust-domain view the verifiers use.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include "base64.h"
#include "bundle.h"
#include "bytes.h"
#include "spiffe_id.h"

#define WID_BUNDLE_FILE_MAX  (4u * 1024u * 1024u)
#define WID_BUNDLE_DEPTH     16
#define WID_BUNDLE_READ_TRIES 3
#define WID_TRUST_BUNDLE_SUFFIX ".spiffe-trust-bundle.pem"
/* Default: FAT's 2 s, the coarsest timestamps a bundle is likely on. */
#define WID_BUNDLE_REHASH_WINDOW 2
/* How long a vanished TD=FILE bundle stays trusted (seconds). */
#define WID_BUNDLE_MISSING_GRACE 300
#define WID_BUNDLE_MISSING_GRACE_MAX 86400

/* The identity of one version of a file, as far as stat can tell. */
typedef struct {
    int             missing;
    dev_t           dev;
    ino_t           ino;
    off_t           size;
    struct timespec mtim;
    struct timespec ctim;
} wid_fstat;

/* What one source file says about one trust domain. */
typedef struct {
    char               td[WID_TRUST_DOMAIN_MAX + 1];
    STACK_OF(X509)    *x509;
    wid_jwt_authority *keys;
    size_t             nkeys;
    int                has_seq;
    uint64_t           seq;
    int                has_hint;
    int64_t            hint;
    size_t             skipped;
} wid_part;

typedef struct {
    char      *path;
    char       td[WID_TRUST_DOMAIN_MAX + 1];  /* "" = every td of a map */
    int        in_dir;       /* found by a directory scan */
    int        map_all;      /* a map contributes all its trust domains */
    int        removed;      /* directory entry gone: drop at commit */
    int        missing;      /* a named file gone: since missing_since */
    int64_t    missing_since;
    int        dropped;      /* ... and its content no longer trusted */
    wid_fstat  good;         /* version of the current parts */
    int        have_good;
    int        good_recent;  /* read within the rehash window: see refresh */
    wid_fstat  bad;          /* last version reported as bad */
    int        have_bad;
    int        bad_recent;
    char       bad_sha_hex[WID_SHA256_HEX + 1];   /* "" if unreadable */
    /* The last read attempt, good or bad. */
    char       read_sha_hex[WID_SHA256_HEX + 1];
    int        read_recent;
    char       sha_hex[WID_SHA256_HEX + 1];
    wid_part  *parts;
    size_t     nparts;
    /* A successful reload waiting for commit. */
    int        pending;
    wid_part  *new_parts;
    size_t     new_nparts;
    char       new_sha_hex[WID_SHA256_HEX + 1];
    wid_fstat  new_good;
    int        new_recent;
} wid_source;

struct wid_bundle {
    char                td[WID_TRUST_DOMAIN_MAX + 1];
    size_t              td_len;
    X509_STORE         *store;
    STACK_OF(X509)     *x509;
    /*
     * SHA-256 (hex) of the source of each authority, copied when the
     * view is built: a pointer into the source would see the hash of a
     * later read that a failed refresh never put in force.
     */
    char              (*x509_src)[WID_SHA256_HEX + 1];
    wid_jwt_authority **keys;
    size_t              nkeys;
    const wid_source  **sources;
    size_t              nsources;
    int                 has_seq;
    uint64_t            seq;
    int                 has_hint;
    int64_t             hint;
    size_t              skipped;
};

struct wid_bundle_set {
    wid_source          **src;
    size_t                nsrc;
    char                **dirs;
    size_t                ndirs;
    wid_bundle           *domains;
    size_t                ndomains;
    uint64_t              generation;
    int64_t               last_refresh;
    int64_t               min_interval;
    int                   refreshed;
    wid_bundle_report_fn  report;
    void                 *report_ctx;
    int64_t               rehash_window;   /* seconds */
    int64_t               missing_grace;   /* seconds */
    wid_bundle_stat_fn    stat_fn;
};

/* ------------------------------------------------------------------ */
/* parts */

static void
wid_part_clear(wid_part *p)
{
    size_t i;

    sk_X509_pop_free(p->x509, X509_free);
    for (i = 0; i < p->nkeys; i++) {
        free(p->keys[i].kid);
        wid_jws_key_clear(&p->keys[i].key);
    }
    free(p->keys);
    memset(p, 0, sizeof(*p));
}

static void
wid_parts_free(wid_part *parts, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        wid_part_clear(&parts[i]);
    }
    free(parts);
}

static wid_reason_t
wid_part_init(wid_part *p, const char *td)
{
    memset(p, 0, sizeof(*p));
    if (strlen(td) > WID_TRUST_DOMAIN_MAX) {
        return WID_R_BUNDLE_TD_INVALID;
    }
    strcpy(p->td, td);
    p->x509 = sk_X509_new_null();
    return p->x509 != NULL ? WID_OK : WID_R_INTERNAL_NOMEM;
}

/* PEM: CERTIFICATE blocks only; anything torn or foreign is refused. */
static wid_reason_t
wid_parse_pem(const unsigned char *buf, size_t len, wid_part *part)
{
    BIO                 *bio;
    char                *name = NULL, *header = NULL;
    unsigned char       *data = NULL;
    const unsigned char *p, *mark, *end;
    long                 dlen;
    size_t               begins = 0, parsed = 0, i;
    X509                *x;
    wid_reason_t         r = WID_OK;

    /* Count the blocks ourselves: PEM_read_bio skips what it cannot see. */
    for (p = buf; (mark = memmem(p, len - (size_t) (p - buf),
                                 "-----BEGIN ", 11)) != NULL; p = mark + 11)
    {
        begins++;
    }
    /* Nothing but whitespace may follow the last END line (torn tail). */
    end = NULL;
    for (p = buf; (mark = memmem(p, len - (size_t) (p - buf),
                                 "-----END ", 9)) != NULL; p = mark + 9)
    {
        end = mark;
    }
    if (end == NULL) {
        return WID_R_BUNDLE_PEM_INVALID;
    }
    mark = memmem(end + 9, len - (size_t) (end + 9 - buf), "-----", 5);
    if (mark == NULL) {
        return WID_R_BUNDLE_PEM_INVALID;
    }
    for (i = (size_t) (mark + 5 - buf); i < len; i++) {
        if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r'
            && buf[i] != '\n')
        {
            return WID_R_BUNDLE_PEM_INVALID;
        }
    }

    bio = BIO_new_mem_buf(buf, (int) len);
    if (bio == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    while (PEM_read_bio(bio, &name, &header, &data, &dlen) == 1) {
        parsed++;
        p = data;
        x = NULL;
        if (strcmp(name, "CERTIFICATE") != 0 || header[0] != '\0'
            || (x = d2i_X509(NULL, &p, dlen)) == NULL
            || p != data + dlen)
        {
            X509_free(x);
            r = WID_R_BUNDLE_PEM_INVALID;
        } else if (!sk_X509_push(part->x509, x)) {
            X509_free(x);
            r = WID_R_INTERNAL_NOMEM;
        }
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(data);
        name = header = NULL;
        data = NULL;
        if (r != WID_OK) {
            break;
        }
    }
    BIO_free(bio);
    ERR_clear_error();
    if (r == WID_OK && (parsed != begins || parsed == 0)) {
        r = WID_R_BUNDLE_PEM_INVALID;
    }
    return r;
}

static wid_reason_t
wid_parse_x5c(const json_t *entry, wid_part *part)
{
    const json_t        *x5c = json_object_get(entry, "x5c"), *s;
    unsigned char       *der;
    const unsigned char *p;
    size_t               der_len;
    X509                *x;

    if (!json_is_array(x5c) || json_array_size(x5c) != 1) {
        return WID_R_BUNDLE_X5C_INVALID;
    }
    s = json_array_get(x5c, 0);
    if (!json_is_string(s)
        || wid_b64_decode_alloc(json_string_value(s), json_string_length(s),
                                0, &der, &der_len) != 0)
    {
        return WID_R_BUNDLE_X5C_INVALID;
    }
    p = der;
    x = d2i_X509(NULL, &p, (long) der_len);
    if (x == NULL || p != der + der_len) {
        X509_free(x);
        free(der);
        ERR_clear_error();
        return WID_R_BUNDLE_X5C_INVALID;
    }
    free(der);
    if (!sk_X509_push(part->x509, x)) {
        X509_free(x);
        return WID_R_INTERNAL_NOMEM;
    }
    return WID_OK;
}

static wid_reason_t
wid_parse_jwt_key(const json_t *entry, wid_part *part, size_t cap)
{
    const json_t      *kid = json_object_get(entry, "kid");
    wid_jwt_authority *a;
    size_t             i;
    wid_reason_t       r;

    if (!json_is_string(kid) || json_string_length(kid) == 0) {
        return WID_R_BUNDLE_KID_MISSING;
    }
    for (i = 0; i < part->nkeys; i++) {
        if (strcmp(part->keys[i].kid, json_string_value(kid)) == 0) {
            return WID_R_BUNDLE_KID_DUPLICATE;
        }
    }
    if (part->nkeys >= cap) {
        return WID_R_INTERNAL_NOMEM;
    }
    a = &part->keys[part->nkeys];
    memset(a, 0, sizeof(*a));
    r = wid_jws_key_from_jwk(entry, &a->key);
    if (r != WID_OK) {
        return r;
    }
    a->kid = strdup(json_string_value(kid));
    if (a->kid == NULL) {
        wid_jws_key_clear(&a->key);
        return WID_R_INTERNAL_NOMEM;
    }
    part->nkeys++;
    return WID_OK;
}

/*
 * A SPIFFE bundle: a JWKS with SPIFFE's members (trust domain bundle
 * spec).  no_use is what an entry without "use" is: NULL (skipped, as
 * in a SPIFFE bundle, where use is required) or "jwt-svid" (a JWT
 * bundle in spiffe-helper's map, which go-spiffe writes without use).
 */
static wid_reason_t
wid_parse_jwks(const json_t *root, wid_part *part, const char *no_use)
{
    const json_t *keys, *v, *entry, *use, *kty;
    const char   *u, *t;
    size_t        i;
    wid_reason_t  r;

    keys = json_object_get(root, "keys");
    if (!json_is_array(keys)) {
        return WID_R_BUNDLE_KEYS_MISSING;
    }
    v = json_object_get(root, "spiffe_sequence");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            return WID_R_BUNDLE_FIELD_INVALID;
        }
        part->has_seq = 1;
        part->seq = (uint64_t) json_integer_value(v);
    }
    v = json_object_get(root, "spiffe_refresh_hint");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 0) {
            return WID_R_BUNDLE_FIELD_INVALID;
        }
        part->has_hint = 1;
        part->hint = (int64_t) json_integer_value(v);
    }

    part->keys = calloc(json_array_size(keys) + 1, sizeof(*part->keys));
    if (part->keys == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }

    json_array_foreach(keys, i, entry) {
        if (!json_is_object(entry)) {
            return WID_R_BUNDLE_FIELD_INVALID;
        }
        use = json_object_get(entry, "use");
        kty = json_object_get(entry, "kty");
        if ((use != NULL && !json_is_string(use))
            || (kty != NULL && !json_is_string(kty)))
        {
            return WID_R_BUNDLE_FIELD_INVALID;
        }
        u = use != NULL ? json_string_value(use)
            : no_use != NULL ? no_use : "";
        t = kty != NULL ? json_string_value(kty) : NULL;

        /* Unknown key types and uses are skipped, as the spec asks. */
        if (t != NULL && strcmp(t, "EC") != 0 && strcmp(t, "RSA") != 0) {
            part->skipped++;
            continue;
        }
        if (strcmp(u, "x509-svid") == 0) {
            r = wid_parse_x5c(entry, part);
        } else if (strcmp(u, "jwt-svid") == 0) {
            r = t == NULL ? WID_R_BUNDLE_JWK_INVALID
                          : wid_parse_jwt_key(entry, part,
                                              json_array_size(keys));
        } else {
            part->skipped++;
            continue;
        }
        if (r != WID_OK) {
            return r;
        }
    }
    return WID_OK;
}

static wid_reason_t
wid_json_parse(const char *buf, size_t len, wid_reason_t invalid,
               json_t **out)
{
    json_error_t err;

    *out = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    if (*out == NULL) {
        return json_error_code(&err) == json_error_duplicate_key
               ? WID_R_BUNDLE_DUPLICATE_KEY
               : json_error_code(&err) == json_error_out_of_memory
               ? WID_R_INTERNAL_NOMEM : invalid;
    }
    if (!json_is_object(*out) || !wid_json_depth_ok(*out, WID_BUNDLE_DEPTH)) {
        json_decref(*out);
        *out = NULL;
        return invalid;
    }
    return WID_OK;
}

/* spiffe-helper's jwt_bundle.json: every member a base64 string. */
static int
wid_is_map(const json_t *root)
{
    const char   *k;
    const json_t *v;

    if (json_object_get(root, "keys") != NULL || json_object_size(root) == 0)
    {
        return 0;
    }
    json_object_foreach((json_t *) root, k, v) {
        if (!json_is_string(v)) {
            return 0;
        }
    }
    return 1;
}

static wid_reason_t
wid_parse_map_entry(const char *td, const json_t *v, wid_part *part)
{
    unsigned char *jwks;
    size_t         jwks_len;
    json_t        *root;
    wid_reason_t   r;

    r = wid_trust_domain_check(td, strlen(td));
    if (r != WID_OK) {
        return WID_R_BUNDLE_TD_INVALID;
    }
    r = wid_part_init(part, td);
    if (r != WID_OK) {
        return r;
    }
    if (wid_b64_decode_alloc(json_string_value(v), json_string_length(v), 0,
                             &jwks, &jwks_len) != 0)
    {
        return WID_R_BUNDLE_MAP_INVALID;
    }
    r = wid_json_parse((const char *) jwks, jwks_len,
                       WID_R_BUNDLE_MAP_INVALID, &root);
    free(jwks);
    if (r != WID_OK) {
        return r;
    }
    r = wid_parse_jwks(root, part, "jwt-svid");
    json_decref(root);
    return r;
}

/*
 * Parse one file's bytes.  td is the trust domain the file is named
 * for ("" when none); map_all lets a map contribute all its domains.
 */
static wid_reason_t
wid_parse_bundle(const unsigned char *buf, size_t len, const char *td,
                 int map_all, wid_part **out, size_t *nout)
{
    const unsigned char *p = buf, *end = buf + len;
    wid_part            *parts;
    size_t               n = 0, cap = 1;
    json_t              *root = NULL, *v;
    const char          *k;
    wid_reason_t         r;

    *out = NULL;
    *nout = 0;
    /* Skip whitespace and a UTF-8 byte order mark. */
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0) {
        p += 3;
    }
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
    }
    if (p == end) {
        return WID_R_BUNDLE_EMPTY;
    }

    if (*p == '{') {
        r = wid_json_parse((const char *) buf, len, WID_R_BUNDLE_JSON_INVALID,
                           &root);
        if (r != WID_OK) {
            return r;
        }
        if (wid_is_map(root)) {
            cap = json_object_size(root);
        }
    } else if (memmem(buf, len, "-----BEGIN ", 11) == NULL) {
        return WID_R_BUNDLE_FORMAT_UNKNOWN;
    }

    parts = calloc(cap, sizeof(*parts));
    if (parts == NULL) {
        json_decref(root);
        return WID_R_INTERNAL_NOMEM;
    }

    if (root == NULL || !wid_is_map(root)) {
        /* PEM or a JWKS: one trust domain, named by the caller. */
        if (td[0] == '\0') {
            r = WID_R_INTERNAL_CONFIG;
            goto done;
        }
        r = wid_part_init(&parts[0], td);
        n = 1;
        if (r == WID_OK) {
            r = root == NULL ? wid_parse_pem(buf, len, &parts[0])
                             : wid_parse_jwks(root, &parts[0], NULL);
        }
        goto done;
    }

    if (td[0] != '\0' && !map_all) {
        v = json_object_get(root, td);
        if (v == NULL) {
            r = WID_R_BUNDLE_TD_MISSING;
            goto done;
        }
        n = 1;
        r = wid_parse_map_entry(td, v, &parts[0]);
        goto done;
    }
    r = WID_OK;
    json_object_foreach(root, k, v) {
        r = wid_parse_map_entry(k, v, &parts[n++]);
        if (r != WID_OK) {
            break;
        }
    }

done:
    json_decref(root);
    if (r != WID_OK) {
        wid_parts_free(parts, n);
        return r;
    }
    *out = parts;
    *nout = n;
    return WID_OK;
}

/* ------------------------------------------------------------------ */
/* sources */

static void
wid_fstat_from(wid_fstat *f, const struct stat *st)
{
    memset(f, 0, sizeof(*f));
    f->dev = st->st_dev;
    f->ino = st->st_ino;
    f->size = st->st_size;
    f->mtim = st->st_mtim;
    f->ctim = st->st_ctim;
}

static int
wid_fstat_eq(const wid_fstat *a, const wid_fstat *b)
{
    return a->missing == b->missing && a->dev == b->dev && a->ino == b->ino
           && a->size == b->size && a->mtim.tv_sec == b->mtim.tv_sec
           && a->mtim.tv_nsec == b->mtim.tv_nsec
           && a->ctim.tv_sec == b->ctim.tv_sec
           && a->ctim.tv_nsec == b->ctim.tv_nsec;
}

static int
wid_stat(const wid_bundle_set *set, const char *path, wid_fstat *f)
{
    struct stat st;

    if ((set->stat_fn != NULL ? set->stat_fn(path, &st)
                              : stat(path, &st)) != 0)
    {
        memset(f, 0, sizeof(*f));
        f->missing = 1;
        return -1;
    }
    wid_fstat_from(f, &st);
    return 0;
}

/*
 * Whether a version read at time t (before the read began) may still be
 * followed by a rewrite that stat cannot tell apart: a write within the
 * same timestamp tick, of the same size, in place (spiffe-helper writes
 * in place).  That needs a timestamp less than one granularity before
 * the read; timestamps in the future (clock skew) count as recent too.
 */
static int
wid_recent(const wid_bundle_set *set, const wid_fstat *f,
           const struct timespec *t)
{
    const struct timespec *m = &f->mtim, *c = &f->ctim, *last;
    int64_t                ns;

    if (set->rehash_window <= 0 || f->missing) {
        return 0;
    }
    last = (c->tv_sec > m->tv_sec
            || (c->tv_sec == m->tv_sec && c->tv_nsec > m->tv_nsec)) ? c : m;
    if (last->tv_sec > t->tv_sec) {
        return 1;
    }
    if ((int64_t) t->tv_sec - (int64_t) last->tv_sec
        > set->rehash_window + 1)
    {
        return 0;
    }
    ns = ((int64_t) t->tv_sec - (int64_t) last->tv_sec) * 1000000000
         + ((int64_t) t->tv_nsec - (int64_t) last->tv_nsec);
    return ns < set->rehash_window * 1000000000;
}

/*
 * Read and parse a source into its pending slot.  The file is stat'ed
 * before and after the read: a version that changed while being read
 * is read again (a writer is at work), a few times at most.  The
 * SHA-256 of the bytes read and whether the version is recent go to
 * s->read_sha_hex / s->read_recent, also when the bytes do not parse.
 */
static wid_reason_t
wid_source_read(const wid_bundle_set *set, wid_source *s, wid_fstat *seen)
{
    unsigned char  *buf = NULL, sha[SHA256_DIGEST_LENGTH];
    size_t          len;
    wid_fstat       before, after;
    wid_part       *parts;
    size_t          nparts;
    wid_reason_t    r = WID_R_BUNDLE_UNREADABLE;
    struct timespec t;
    int             tries;

    s->read_sha_hex[0] = '\0';
    s->read_recent = 0;
    for (tries = 0; tries < WID_BUNDLE_READ_TRIES; tries++) {
        free(buf);
        buf = NULL;
        clock_gettime(CLOCK_REALTIME, &t);
        if (wid_stat(set, s->path, &before) != 0) {
            *seen = before;
            return WID_R_BUNDLE_UNREADABLE;
        }
        r = wid_read_file(s->path, WID_BUNDLE_FILE_MAX, &buf, &len);
        if (r == WID_R_INTERNAL_NOMEM) {
            return r;
        }
        if (r != WID_OK) {
            r = WID_R_BUNDLE_UNREADABLE;
        }
        wid_stat(set, s->path, &after);
        if (wid_fstat_eq(&before, &after)) {
            break;
        }
        r = WID_R_BUNDLE_UNREADABLE;
    }
    *seen = before;
    if (r != WID_OK) {
        free(buf);
        return r;
    }

    r = wid_parse_bundle(buf, len, s->td, s->map_all, &parts, &nparts);
    SHA256(buf, len, sha);
    free(buf);
    wid_hex(sha, sizeof(sha), s->read_sha_hex);
    s->read_recent = wid_recent(set, &before, &t);
    if (r != WID_OK) {
        return r;
    }
    s->pending = 1;
    s->new_parts = parts;
    s->new_nparts = nparts;
    s->new_good = before;
    s->new_recent = s->read_recent;
    memcpy(s->new_sha_hex, s->read_sha_hex, sizeof(s->new_sha_hex));
    return WID_OK;
}

static void
wid_source_free(wid_source *s)
{
    if (s == NULL) {
        return;
    }
    wid_parts_free(s->parts, s->nparts);
    wid_parts_free(s->new_parts, s->new_nparts);
    free(s->path);
    free(s);
}

static wid_source *
wid_source_new(const char *path, const char *td, int in_dir, int map_all)
{
    wid_source *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        return NULL;
    }
    s->path = strdup(path);
    if (s->path == NULL || strlen(td) > WID_TRUST_DOMAIN_MAX) {
        wid_source_free(s);
        return NULL;
    }
    strcpy(s->td, td);
    s->in_dir = in_dir;
    s->map_all = map_all;
    return s;
}

/* ------------------------------------------------------------------ */
/* domains: the per-trust-domain view, rebuilt after any change */

static void
wid_domain_clear(wid_bundle *d)
{
    X509_STORE_free(d->store);
    sk_X509_pop_free(d->x509, X509_free);
    free(d->x509_src);
    free(d->keys);
    free(d->sources);
    memset(d, 0, sizeof(*d));
}

static void
wid_domains_free(wid_bundle *d, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        wid_domain_clear(&d[i]);
    }
    free(d);
}

/* The parts a source will have after commit. */
static void
wid_source_view(const wid_source *s, wid_part **parts, size_t *n,
                const char **sha)
{
    if (s->pending) {
        *parts = s->new_parts;
        *n = s->new_nparts;
        *sha = s->new_sha_hex;
    } else {
        *parts = s->parts;
        *n = s->nparts;
        *sha = s->sha_hex;
    }
}

static int
wid_domain_cmp(const void *a, const void *b)
{
    return strcmp(((const wid_bundle *) a)->td, ((const wid_bundle *) b)->td);
}

static wid_reason_t
wid_domain_add_part(wid_bundle *d, const wid_source *s, wid_part *p,
                    const char *sha)
{
    size_t  i, j, n;
    void   *tmp;
    X509   *x;
    int     dup;

    tmp = realloc(d->sources, (d->nsources + 1) * sizeof(*d->sources));
    if (tmp == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    d->sources = tmp;
    d->sources[d->nsources++] = s;

    n = (size_t) sk_X509_num(p->x509);
    tmp = realloc(d->x509_src,
                  ((size_t) sk_X509_num(d->x509) + n + 1)
                  * sizeof(*d->x509_src));
    if (tmp == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    d->x509_src = tmp;
    for (i = 0; i < n; i++) {
        x = sk_X509_value(p->x509, (int) i);
        dup = 0;
        for (j = 0; j < (size_t) sk_X509_num(d->x509); j++) {
            if (X509_cmp(x, sk_X509_value(d->x509, (int) j)) == 0) {
                dup = 1;
                break;
            }
        }
        if (dup) {
            continue;
        }
        if (!X509_STORE_add_cert(d->store, x)) {
            ERR_clear_error();
            return WID_R_INTERNAL_NOMEM;
        }
        if (!X509_up_ref(x)) {
            return WID_R_INTERNAL_CRYPTO;
        }
        if (!sk_X509_push(d->x509, x)) {
            X509_free(x);
            return WID_R_INTERNAL_NOMEM;
        }
        memcpy(d->x509_src[sk_X509_num(d->x509) - 1], sha,
               WID_SHA256_HEX + 1);
    }

    if (p->nkeys > 0) {
        tmp = realloc(d->keys, (d->nkeys + p->nkeys) * sizeof(*d->keys));
        if (tmp == NULL) {
            return WID_R_INTERNAL_NOMEM;
        }
        d->keys = tmp;
        for (i = 0; i < p->nkeys; i++) {
            memcpy(p->keys[i].source_sha256, sha, WID_SHA256_HEX + 1);
            /* The same key under the same kid from two files: keep one. */
            dup = 0;
            for (j = 0; j < d->nkeys; j++) {
                if (strcmp(d->keys[j]->kid, p->keys[i].kid) == 0
                    && EVP_PKEY_eq(d->keys[j]->key.pkey,
                                   p->keys[i].key.pkey) == 1)
                {
                    dup = 1;
                    break;
                }
            }
            if (!dup) {
                d->keys[d->nkeys++] = &p->keys[i];
            }
        }
    }

    /* Several sources: the highest sequence, the shortest refresh hint. */
    if (p->has_seq && (!d->has_seq || p->seq > d->seq)) {
        d->has_seq = 1;
        d->seq = p->seq;
    }
    if (p->has_hint && (!d->has_hint || p->hint < d->hint)) {
        d->has_hint = 1;
        d->hint = p->hint;
    }
    d->skipped += p->skipped;
    return WID_OK;
}

static wid_reason_t
wid_domains_build(const wid_bundle_set *set, wid_bundle **out, size_t *nout)
{
    wid_bundle   *doms = NULL, *d;
    size_t        ndoms = 0, cap = 0, i, j, k, np;
    wid_part     *parts;
    const char   *sha;
    void         *tmp;
    wid_reason_t  r = WID_OK;

    *out = NULL;
    *nout = 0;
    for (i = 0; i < set->nsrc; i++) {
        if (set->src[i]->removed) {
            continue;
        }
        wid_source_view(set->src[i], &parts, &np, &sha);
        for (j = 0; j < np; j++) {
            d = NULL;
            for (k = 0; k < ndoms; k++) {
                if (strcmp(doms[k].td, parts[j].td) == 0) {
                    d = &doms[k];
                    break;
                }
            }
            if (d == NULL) {
                if (ndoms == cap) {
                    cap = cap ? 2 * cap : 4;
                    tmp = realloc(doms, cap * sizeof(*doms));
                    if (tmp == NULL) {
                        r = WID_R_INTERNAL_NOMEM;
                        goto fail;
                    }
                    doms = tmp;
                }
                d = &doms[ndoms++];
                memset(d, 0, sizeof(*d));
                strcpy(d->td, parts[j].td);
                d->td_len = strlen(d->td);
                d->store = X509_STORE_new();
                d->x509 = sk_X509_new_null();
                if (d->store == NULL || d->x509 == NULL) {
                    r = WID_R_INTERNAL_NOMEM;
                    goto fail;
                }
            }
            r = wid_domain_add_part(d, set->src[i], &parts[j], sha);
            if (r != WID_OK) {
                goto fail;
            }
        }
    }
    if (ndoms > 1) {
        qsort(doms, ndoms, sizeof(*doms), wid_domain_cmp);
    }
    *out = doms;
    *nout = ndoms;
    return WID_OK;

fail:
    wid_domains_free(doms, ndoms);
    return r;
}

/* Swap in pending reloads and a freshly built domain view. */
static wid_reason_t
wid_set_commit(wid_bundle_set *set)
{
    wid_bundle *doms;
    size_t      ndoms, i, j;
    wid_source *s;
    wid_reason_t r;

    r = wid_domains_build(set, &doms, &ndoms);
    if (r != WID_OK) {
        return r;
    }
    wid_domains_free(set->domains, set->ndomains);
    set->domains = doms;
    set->ndomains = ndoms;

    for (i = 0, j = 0; i < set->nsrc; i++) {
        s = set->src[i];
        if (s->removed) {
            wid_source_free(s);
            continue;
        }
        if (s->pending) {
            wid_parts_free(s->parts, s->nparts);
            s->parts = s->new_parts;
            s->nparts = s->new_nparts;
            memcpy(s->sha_hex, s->new_sha_hex, sizeof(s->sha_hex));
            s->good = s->new_good;
            s->good_recent = s->new_recent;
            s->have_good = 1;
            s->have_bad = 0;
            s->new_parts = NULL;
            s->new_nparts = 0;
            s->pending = 0;
        }
        set->src[j++] = s;
    }
    set->nsrc = j;
    set->generation++;
    return WID_OK;
}

/* Drop pending reloads (used when a commit cannot happen). */
static void
wid_set_rollback(wid_bundle_set *set)
{
    size_t i;

    for (i = 0; i < set->nsrc; i++) {
        /* A drop that was not committed is staged again next time. */
        if (set->src[i]->pending && set->src[i]->dropped) {
            set->src[i]->dropped = 0;
        }
        wid_parts_free(set->src[i]->new_parts, set->src[i]->new_nparts);
        set->src[i]->new_parts = NULL;
        set->src[i]->new_nparts = 0;
        set->src[i]->pending = 0;
        set->src[i]->removed = 0;
    }
}

static wid_reason_t
wid_set_push_source(wid_bundle_set *set, wid_source *s)
{
    void *tmp = realloc(set->src, (set->nsrc + 1) * sizeof(*set->src));

    if (tmp == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    set->src = tmp;
    set->src[set->nsrc++] = s;
    return WID_OK;
}

static void
wid_report(wid_bundle_set *set, const wid_source *s, wid_reason_t r)
{
    if (set->report != NULL) {
        set->report(set->report_ctx, s->path, s->td, r);
    }
}

/* ------------------------------------------------------------------ */
/* directories */

/* Trust domain named by a directory entry, or "" to ignore the entry. */
static int
wid_dir_entry_td(const char *name, char *td)
{
    size_t n = strlen(name), sl = strlen(WID_TRUST_BUNDLE_SUFFIX), stem;

    td[0] = '\0';
    if (name[0] == '.') {
        return 0;
    }
    if (n > sl && strcmp(name + n - sl, WID_TRUST_BUNDLE_SUFFIX) == 0) {
        stem = n - sl;
    } else if (n > 4 && strcmp(name + n - 4, ".pem") == 0) {
        stem = n - 4;
    } else if (n > 5 && strcmp(name + n - 5, ".json") == 0) {
        stem = n - 5;
    } else {
        return 0;
    }
    if (stem > WID_TRUST_DOMAIN_MAX
        || wid_trust_domain_check(name, stem) != WID_OK)
    {
        return 0;
    }
    memcpy(td, name, stem);
    td[stem] = '\0';
    return 1;
}

static int
wid_set_has_path(const wid_bundle_set *set, const char *path)
{
    size_t i;

    for (i = 0; i < set->nsrc; i++) {
        if (strcmp(set->src[i]->path, path) == 0) {
            return 1;
        }
    }
    return 0;
}

/*
 * Scan a directory for new entries.  strict (initial load): any bad file
 * fails the scan.  Otherwise bad new files are added empty and reported.
 */
static wid_reason_t
wid_dir_scan(wid_bundle_set *set, const char *dir, int strict,
             size_t *found, wid_reason_t *first_problem)
{
    DIR           *dh;
    struct dirent *de;
    char           td[WID_TRUST_DOMAIN_MAX + 1], *path;
    wid_source    *s;
    wid_fstat      seen;
    wid_reason_t   r = WID_OK, rr;

    *found = 0;
    dh = opendir(dir);
    if (dh == NULL) {
        return WID_R_BUNDLE_UNREADABLE;
    }
    while ((de = readdir(dh)) != NULL) {
        if (!wid_dir_entry_td(de->d_name, td)) {
            continue;
        }
        if (asprintf(&path, "%s/%s", dir, de->d_name) < 0) {
            r = WID_R_INTERNAL_NOMEM;
            break;
        }
        (*found)++;
        if (wid_set_has_path(set, path)) {
            free(path);
            continue;
        }
        /*
         * A directory entry speaks only for the trust domain in its name:
         * a map-shaped <td>.json contributes its <td> entry and nothing
         * else, so whoever writes b.org.json cannot add authorities for
         * a.org.
         */
        s = wid_source_new(path, td, 1, 0);
        free(path);
        if (s == NULL) {
            r = WID_R_INTERNAL_NOMEM;
            break;
        }
        rr = wid_source_read(set, s, &seen);
        if (rr != WID_OK) {
            if (strict || rr == WID_R_INTERNAL_NOMEM) {
                wid_report(set, s, rr);
                wid_source_free(s);
                r = rr;
                break;
            }
            s->bad = seen;
            s->have_bad = 1;
            s->bad_recent = s->read_recent;
            memcpy(s->bad_sha_hex, s->read_sha_hex, sizeof(s->bad_sha_hex));
            wid_report(set, s, rr);
            if (*first_problem == WID_OK) {
                *first_problem = rr;
            }
        }
        rr = wid_set_push_source(set, s);
        if (rr != WID_OK) {
            wid_source_free(s);
            r = rr;
            break;
        }
    }
    closedir(dh);
    return r;
}

/* ------------------------------------------------------------------ */
/* public API */

void
wid_bundle_set_rehash_window(wid_bundle_set *set, int64_t seconds)
{
    set->rehash_window = seconds < 0 ? 0 : seconds > 3600 ? 3600 : seconds;
}

void
wid_bundle_set_missing_grace(wid_bundle_set *set, int64_t seconds)
{
    set->missing_grace = seconds < 0 ? 0
                         : seconds > WID_BUNDLE_MISSING_GRACE_MAX
                         ? WID_BUNDLE_MISSING_GRACE_MAX : seconds;
}

void
wid_bundle_set_stat_fn(wid_bundle_set *set, wid_bundle_stat_fn fn)
{
    set->stat_fn = fn;
}

wid_bundle_set *
wid_bundle_set_new(void)
{
    wid_bundle_set *set = calloc(1, sizeof(wid_bundle_set));

    if (set != NULL) {
        set->rehash_window = WID_BUNDLE_REHASH_WINDOW;
        set->missing_grace = WID_BUNDLE_MISSING_GRACE;
    }
    return set;
}

void
wid_bundle_set_free(wid_bundle_set *set)
{
    size_t i;

    if (set == NULL) {
        return;
    }
    wid_domains_free(set->domains, set->ndomains);
    for (i = 0; i < set->nsrc; i++) {
        wid_source_free(set->src[i]);
    }
    free(set->src);
    for (i = 0; i < set->ndirs; i++) {
        free(set->dirs[i]);
    }
    free(set->dirs);
    free(set);
}

void
wid_bundle_set_on_report(wid_bundle_set *set, wid_bundle_report_fn fn,
                         void *ctx)
{
    set->report = fn;
    set->report_ctx = ctx;
}

void
wid_bundle_set_min_interval(wid_bundle_set *set, int64_t seconds)
{
    set->min_interval = seconds > 0 ? seconds : 0;
}

uint64_t
wid_bundle_set_generation(const wid_bundle_set *set)
{
    return set->generation;
}

/* Remove sources added after index keep (a failed add). */
static void
wid_set_truncate(wid_bundle_set *set, size_t keep)
{
    while (set->nsrc > keep) {
        wid_source_free(set->src[--set->nsrc]);
    }
}

wid_reason_t
wid_bundle_set_add(wid_bundle_set *set, const char *td, const char *path)
{
    struct stat   st;
    wid_source   *s;
    wid_fstat     seen;
    size_t        keep = set->nsrc, found = 0;
    wid_reason_t  r, ignored = WID_OK;
    char         *dir;
    void         *tmp;

    if (path == NULL || path[0] == '\0') {
        return WID_R_INTERNAL_CONFIG;
    }
    if (td != NULL && wid_trust_domain_check(td, strlen(td)) != WID_OK) {
        return WID_R_BUNDLE_TD_INVALID;
    }
    if (stat(path, &st) != 0) {
        return WID_R_BUNDLE_UNREADABLE;
    }

    if (S_ISDIR(st.st_mode)) {
        /* A name in front would have to override the files' own names. */
        if (td != NULL) {
            return WID_R_BUNDLE_DIRECTORY_NAMED;
        }
        r = wid_dir_scan(set, path, 1, &found, &ignored);
        if (r == WID_OK && found == 0) {
            r = WID_R_BUNDLE_DIRECTORY_EMPTY;
        }
        if (r != WID_OK) {
            wid_set_truncate(set, keep);
            return r;
        }
        dir = strdup(path);
        tmp = dir != NULL ? realloc(set->dirs,
                                    (set->ndirs + 1) * sizeof(*set->dirs))
                          : NULL;
        if (tmp == NULL) {
            free(dir);
            wid_set_truncate(set, keep);
            return WID_R_INTERNAL_NOMEM;
        }
        set->dirs = tmp;
        set->dirs[set->ndirs++] = dir;
    } else {
        s = wid_source_new(path, td != NULL ? td : "", 0, td == NULL);
        if (s == NULL) {
            return WID_R_INTERNAL_NOMEM;
        }
        r = wid_source_read(set, s, &seen);
        if (r == WID_OK) {
            r = wid_set_push_source(set, s);
        }
        if (r != WID_OK) {
            wid_source_free(s);
            return r;
        }
    }

    r = wid_set_commit(set);
    if (r != WID_OK) {
        wid_set_rollback(set);
        wid_set_truncate(set, keep);
    }
    return r;
}

wid_reason_t
wid_bundle_set_add_arg(wid_bundle_set *set, const char *arg)
{
    const char   *eq = strchr(arg, '=');
    char          td[WID_TRUST_DOMAIN_MAX + 1];
    size_t        n;

    if (eq == NULL) {
        return wid_bundle_set_add(set, NULL, arg);
    }
    n = (size_t) (eq - arg);
    if (n == 0 || n > WID_TRUST_DOMAIN_MAX) {
        return WID_R_BUNDLE_TD_INVALID;
    }
    memcpy(td, arg, n);
    td[n] = '\0';
    return wid_bundle_set_add(set, td, eq + 1);
}

const char *
wid_bundle_arg_explain(const char *arg, wid_reason_t r)
{
    const char  *eq = strchr(arg, '=');

    if (r != WID_R_INTERNAL_CONFIG || eq == NULL || eq[1] != '\0') {
        return NULL;
    }
    return "TD= names no file";
}


/*
 * A named source whose file is missing at this refresh: report it once,
 * keep its content within the grace period, then stage an empty view of
 * it (committed by the caller).  Returns the code to report, or WID_OK.
 */
static wid_reason_t
wid_source_missing(wid_bundle_set *set, wid_source *s, int64_t now,
                   const wid_fstat *cur)
{
    wid_reason_t r = WID_OK;
    int64_t      gone;

    if (s->dropped) {
        return WID_OK;            /* reported when it was dropped */
    }
    if (!s->missing) {
        s->missing = 1;
        s->missing_since = now;
        if (set->missing_grace > 0) {
            r = WID_R_BUNDLE_SOURCE_MISSING;
            wid_report(set, s, r);
        }
    }
    if (!__builtin_sub_overflow(now, s->missing_since, &gone) && gone >= 0
        && gone < set->missing_grace)
    {
        return r;
    }
    /* Past the grace: nothing of this file is trusted any more. */
    wid_parts_free(s->new_parts, s->new_nparts);
    s->new_parts = NULL;
    s->new_nparts = 0;
    s->new_sha_hex[0] = '\0';
    s->new_good = *cur;
    s->new_recent = 0;
    s->pending = 1;
    s->dropped = 1;
    wid_report(set, s, WID_R_BUNDLE_SOURCE_DROPPED);
    return WID_R_BUNDLE_SOURCE_DROPPED;
}

wid_reason_t
wid_bundle_set_refresh(wid_bundle_set *set, int64_t now)
{
    wid_reason_t  first = WID_OK, r;
    wid_source   *s;
    wid_fstat     cur, seen;
    size_t        i, nold, found;
    int           changed = 0, same;

    if (set->refreshed && set->min_interval > 0
        && now >= set->last_refresh
        && now - set->last_refresh < set->min_interval)
    {
        return WID_OK;
    }
    set->refreshed = 1;
    set->last_refresh = now;

    nold = set->nsrc;
    for (i = 0; i < nold; i++) {
        s = set->src[i];
        wid_stat(set, s->path, &cur);
        if (cur.missing && s->in_dir) {
            /* Deleted from its directory: the trust domain is dropped. */
            s->removed = 1;
            changed = 1;
            continue;
        }
        if (cur.missing) {
            /*
             * A named file (TD=FILE or a map) is gone.  A writer may be
             * replacing it, so its last good content is kept for the
             * grace period, then dropped: a deleted bundle must not be
             * trusted forever.  A clock that went back past the moment
             * the file vanished ends the grace (fail closed).
             */
            r = wid_source_missing(set, s, now, &cur);
            if (r == WID_R_BUNDLE_SOURCE_DROPPED) {
                changed = 1;
            }
            if (r != WID_OK && first == WID_OK) {
                first = r;
            }
            continue;
        }
        s->missing = 0;
        s->dropped = 0;           /* back: read below like any change */
        /*
         * An unchanged stat proves an unchanged file only when the
         * version was read at least one timestamp granularity after it
         * was written: otherwise a same-size rewrite in the same tick
         * looks identical, so it is read again and its hash compared.
         */
        if (s->have_good && wid_fstat_eq(&cur, &s->good)
            && !s->good_recent)
        {
            continue;
        }
        if (s->have_bad && wid_fstat_eq(&cur, &s->bad) && !s->bad_recent) {
            continue;         /* this bad version was reported already */
        }
        r = wid_source_read(set, s, &seen);
        if (r == WID_R_INTERNAL_NOMEM) {
            wid_set_rollback(set);
            return r;
        }
        if (r != WID_OK) {
            /* Keep the last good parts; report this version once. */
            same = s->have_bad && wid_fstat_eq(&seen, &s->bad)
                   && strcmp(s->read_sha_hex, s->bad_sha_hex) == 0;
            s->bad = seen;
            s->have_bad = 1;
            s->bad_recent = s->read_recent;
            memcpy(s->bad_sha_hex, s->read_sha_hex, sizeof(s->bad_sha_hex));
            if (same) {
                continue;     /* read again, same bad bytes */
            }
            wid_report(set, s, r);
            if (first == WID_OK) {
                first = r;
            }
            continue;
        }
        if (s->have_good && strcmp(s->new_sha_hex, s->sha_hex) == 0) {
            /* Touched (or re-checked) but identical: no new generation. */
            wid_parts_free(s->new_parts, s->new_nparts);
            s->new_parts = NULL;
            s->new_nparts = 0;
            s->pending = 0;
            s->good = s->new_good;
            s->good_recent = s->new_recent;
            s->have_bad = 0;
            continue;
        }
        changed = 1;
    }

    for (i = 0; i < set->ndirs; i++) {
        nold = set->nsrc;
        r = wid_dir_scan(set, set->dirs[i], 0, &found, &first);
        if (r == WID_R_INTERNAL_NOMEM) {
            wid_set_rollback(set);
            wid_set_truncate(set, nold);
            return r;
        }
        if (set->nsrc > nold) {
            changed = 1;
        }
    }

    if (changed) {
        r = wid_set_commit(set);
        if (r != WID_OK) {
            wid_set_rollback(set);
            return r;
        }
    }
    return first;
}

const wid_bundle *
wid_bundle_set_find(const wid_bundle_set *set, const char *td, size_t len)
{
    size_t i;

    for (i = 0; i < set->ndomains; i++) {
        if (set->domains[i].td_len == len
            && memcmp(set->domains[i].td, td, len) == 0)
        {
            return &set->domains[i];
        }
    }
    return NULL;
}

size_t
wid_bundle_set_count(const wid_bundle_set *set)
{
    return set->ndomains;
}

const wid_bundle *
wid_bundle_set_at(const wid_bundle_set *set, size_t i)
{
    return i < set->ndomains ? &set->domains[i] : NULL;
}

const char *
wid_bundle_trust_domain(const wid_bundle *b)
{
    return b->td;
}

X509_STORE *
wid_bundle_x509_store(const wid_bundle *b)
{
    return b->store;
}

size_t
wid_bundle_x509_count(const wid_bundle *b)
{
    return (size_t) sk_X509_num(b->x509);
}

X509 *
wid_bundle_x509_at(const wid_bundle *b, size_t i)
{
    return sk_X509_value(b->x509, (int) i);
}

const char *
wid_bundle_x509_source(const wid_bundle *b, size_t i)
{
    return i < (size_t) sk_X509_num(b->x509) ? b->x509_src[i] : NULL;
}

size_t
wid_bundle_jwt_count(const wid_bundle *b)
{
    return b->nkeys;
}

wid_jwt_authority *
wid_bundle_jwt_at(const wid_bundle *b, size_t i)
{
    return i < b->nkeys ? b->keys[i] : NULL;
}

wid_jwt_authority *
wid_bundle_jwt_find(const wid_bundle *b, const char *kid)
{
    size_t i;

    for (i = 0; i < b->nkeys; i++) {
        if (strcmp(b->keys[i]->kid, kid) == 0) {
            return b->keys[i];
        }
    }
    return NULL;
}

int
wid_bundle_sequence(const wid_bundle *b, uint64_t *seq)
{
    *seq = b->seq;
    return b->has_seq;
}

int
wid_bundle_refresh_hint(const wid_bundle *b, int64_t *hint)
{
    *hint = b->hint;
    return b->has_hint;
}

size_t
wid_bundle_source_count(const wid_bundle *b)
{
    return b->nsources;
}

const char *
wid_bundle_source_path(const wid_bundle *b, size_t i)
{
    return i < b->nsources ? b->sources[i]->path : NULL;
}

const char *
wid_bundle_source_sha256(const wid_bundle *b, size_t i)
{
    return i < b->nsources ? b->sources[i]->sha_hex : NULL;
}

size_t
wid_bundle_skipped(const wid_bundle *b)
{
    return b->skipped;
}
