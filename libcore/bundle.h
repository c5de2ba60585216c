/*
 * Trust bundles, one per trust domain, never merged across domains.
 *
 * A wid_bundle_set maps trust domain -> bundle (X.509 authorities in an
 * X509_STORE of their own, JWT authorities by kid).  Bundles come from
 * sources: "TD=FILE" (FILE is PEM certificates, a SPIFFE bundle JWKS, or
 * spiffe-helper's jwt_bundle.json map {"td": base64(JWKS)}, detected by
 * content), or a directory of <trust-domain>.pem|.json files.  Several
 * sources may feed one trust domain (spiffe-helper writes its X.509 and
 * JWT bundles to different files): the domain trusts their union.
 *
 * Everything is parsed and imported once, at load or refresh; the
 * verifiers (x509svid.h, jwtsvid.h) do no parsing of bundles.
 *
 * Reload: wid_bundle_set_refresh() re-stats every source and reloads the
 * ones that changed.  A torn or invalid rewrite (spiffe-helper writes in
 * place, not atomically) keeps the last good content and is reported
 * once per bad version.  A set is owned by one process and not
 * thread-safe.  Pointers obtained from a set (wid_bundle) stay valid
 * until the next refresh that changes the generation.
 */
#ifndef WID_BUNDLE_H
#define WID_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include <sys/stat.h>

#include <openssl/x509.h>

#include "identity.h"
#include "jws.h"
#include "reason.h"

typedef struct wid_bundle_set wid_bundle_set;
typedef struct wid_bundle     wid_bundle;

/* A JWT authority. */
typedef struct {
    char        *kid;
    wid_jws_key  key;
    char         source_sha256[WID_SHA256_HEX + 1];
} wid_jwt_authority;

/* Called for each problem found while loading or refreshing. */
typedef void (*wid_bundle_report_fn)(void *ctx, const char *path,
                                     const char *td, wid_reason_t reason);

wid_bundle_set *wid_bundle_set_new(void);
void wid_bundle_set_free(wid_bundle_set *set);

void wid_bundle_set_on_report(wid_bundle_set *set, wid_bundle_report_fn fn,
                              void *ctx);

/*
 * Add and load a source now.  td names the trust domain of FILE; td may
 * be NULL for a directory, or for a jwt_bundle.json map (every trust
 * domain in the map is loaded).  Any failure is returned (fail closed:
 * an unreadable or invalid bundle at start is an error) and the source
 * is not added.
 */
wid_reason_t wid_bundle_set_add(wid_bundle_set *set, const char *td,
                                const char *path);

/* Parse "TD=FILE", "DIR" or "FILE" (map) and add it. */
wid_reason_t wid_bundle_set_add_arg(wid_bundle_set *set, const char *arg);

/*
 * When the reason code alone does not say why wid_bundle_set_add_arg
 * refused arg with r, a sentence that does ("TD=" with no file:
 * internal.config_error); NULL otherwise.
 */
const char *wid_bundle_arg_explain(const char *arg, wid_reason_t r);

/*
 * Re-stat every source (and re-scan directories) and reload what
 * changed.  Returns WID_OK, or the reason of the first problem not
 * reported before (each bad version of a file is reported once, via
 * the report callback too).  now is recorded; refreshes closer than the
 * minimum interval (default 0) to the previous one do nothing.
 */
wid_reason_t wid_bundle_set_refresh(wid_bundle_set *set, int64_t now);

void wid_bundle_set_min_interval(wid_bundle_set *set, int64_t seconds);

/*
 * A file version read less than this many seconds after its mtime or
 * ctime is read again and its SHA-256 compared at each refresh until it
 * has been quiet that long: stat cannot tell apart a same-size rewrite
 * in place within one timestamp tick (coarse kernel ticks, 1 s or 2 s on
 * FAT and some network filesystems).  Default 2, at most 3600; 0 trusts
 * stat alone.  Identical bytes never count as a change.
 */
void wid_bundle_set_rehash_window(wid_bundle_set *set, int64_t seconds);

/*
 * A source named by TD=FILE (or a map file) that disappears keeps its
 * last good content for this many seconds of refresh time (the now of
 * wid_bundle_set_refresh), reported once as bundle.source_missing; then
 * its authorities are dropped, reported as bundle.source_dropped (the
 * trust domain goes away unless another source feeds it).  A file that
 * comes back is read again like any change.  Default 300, at most 86400;
 * 0 drops at the first refresh that finds the file gone.  A refresh time
 * before the moment the file was found missing ends the grace.
 * (A file deleted from a bundle directory is dropped at once.)
 */
void wid_bundle_set_missing_grace(wid_bundle_set *set, int64_t seconds);

/*
 * Replace stat(2) for this set (NULL restores it): for tests that
 * simulate coarse timestamp granularity on a fine-grained filesystem.
 */
typedef int (*wid_bundle_stat_fn)(const char *path, struct stat *st);

void wid_bundle_set_stat_fn(wid_bundle_set *set, wid_bundle_stat_fn fn);

/* Increments whenever any trust domain's content actually changes. */
uint64_t wid_bundle_set_generation(const wid_bundle_set *set);

/* Lookup by trust domain name (len bytes, need not be NUL-terminated). */
const wid_bundle *wid_bundle_set_find(const wid_bundle_set *set,
                                      const char *td, size_t len);

size_t wid_bundle_set_count(const wid_bundle_set *set);
const wid_bundle *wid_bundle_set_at(const wid_bundle_set *set, size_t i);

/* Per trust domain. */
const char *wid_bundle_trust_domain(const wid_bundle *b);
X509_STORE *wid_bundle_x509_store(const wid_bundle *b);
size_t wid_bundle_x509_count(const wid_bundle *b);
X509 *wid_bundle_x509_at(const wid_bundle *b, size_t i);
/* SHA-256 (hex) of the source file that holds authority i. */
const char *wid_bundle_x509_source(const wid_bundle *b, size_t i);
size_t wid_bundle_jwt_count(const wid_bundle *b);
wid_jwt_authority *wid_bundle_jwt_at(const wid_bundle *b, size_t i);
/* NULL when no key of this trust domain has this kid. */
wid_jwt_authority *wid_bundle_jwt_find(const wid_bundle *b,
                                       const char *kid);
/* spiffe_sequence / spiffe_refresh_hint; 0 when absent. */
int wid_bundle_sequence(const wid_bundle *b, uint64_t *seq);
int wid_bundle_refresh_hint(const wid_bundle *b, int64_t *hint);
/* Source files feeding this trust domain, with their SHA-256. */
size_t wid_bundle_source_count(const wid_bundle *b);
const char *wid_bundle_source_path(const wid_bundle *b, size_t i);
const char *wid_bundle_source_sha256(const wid_bundle *b, size_t i);
/* JWKS entries skipped because their use or kty is unknown. */
size_t wid_bundle_skipped(const wid_bundle *b);

#endif
