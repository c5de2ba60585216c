/*
 * Sealing the logs of writers that are gone: reopen (recovery adopts the
 * unsigned tail or records a gap, and signs) and close at once.  See
 * journal_orphans.h for which logs and why that is safe.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "checkpoint.h"
#include "journal_format.h"
#include "journal_orphans.h"

/* The first checkpoint is the second frame of a log's first segment;
 * look no further than this many frames for it. */
#define WID_SEAL_SCAN_FRAMES  16


/*
 * Is the first checkpoint of the log (in its first segment) by another
 * key?  Only a note that carries no line by this key says so; a
 * malformed note or a bad signature by this key is damage, which
 * recovery records as a gap.  No checkpoint found: not foreign.
 */
static wid_reason_t
wid_seal_foreign(int wdir, uint64_t segno, const uint8_t *pk)
{
    const uint8_t  *map;
    uint64_t        size, off = 0;
    wid_frame       f;
    wid_checkpoint  c;
    wid_reason_t    rc = WID_OK;
    int             i;

    if (wid_seg_map(wdir, segno, &map, &size) != WID_OK) {
        return WID_OK;          /* recovery will see what is wrong */
    }
    for (i = 0; i < WID_SEAL_SCAN_FRAMES && off < size; i++) {
        if (wid_frame_parse(map, size, off, &f) != WID_OK) {
            break;
        }
        if (f.type == WID_REC_CHECKPOINT) {
            if (wid_checkpoint_verify((const char *) f.data, f.len, pk, &c)
                == WID_R_JOURNAL_CHECKPOINT_UNSIGNED)
            {
                rc = WID_R_JOURNAL_CHECKPOINT_UNSIGNED;
            }
            break;
        }
        off = f.next;
    }
    wid_seg_unmap(map, size);
    return rc;
}


static void
wid_seal_report_one(const wid_seal_scope *scope, wid_seal_report *r)
{
    if (scope->report) {
        scope->report(scope->ctx, r);
    }
}


/* A log not reopened: another key, or it could not be looked at. */
static void
wid_seal_skipped(const wid_seal_scope *scope, const char *name,
                 wid_seal_outcome outcome, wid_reason_t why)
{
    wid_seal_report r;

    memset(&r, 0, sizeof(r));
    r.writer = name;
    r.outcome = outcome;
    r.reason = why;
    wid_seal_report_one(scope, &r);
}


/* Reopen and close one log that is in scope, not marked closed and not
 * running (as far as the probe saw). */
static void
wid_seal_log(const char *dir, const char *name, const wid_seckey *key,
             const wid_journal_options *o, const wid_seal_scope *scope,
             uint64_t now_ms, wid_seal_summary *sum)
{
    wid_seal_report  r;
    wid_journal     *j;
    wid_reason_t     rc;

    memset(&r, 0, sizeof(r));
    r.writer = name;
    rc = wid_journal_open(dir, name, key, o, now_ms, &j, &r.rec);
    if (rc == WID_R_JOURNAL_WRITER_BUSY) {
        /* A writer (or another sealer) took it meanwhile. */
        sum->live++;
        return;
    }
    if (rc == WID_OK && j == NULL) {
        sum->closed++;
        return;
    }
    if (rc == WID_OK) {
        rc = wid_journal_close(j, now_ms);
    }
    if (rc != WID_OK) {
        sum->failed++;
        r.outcome = WID_SEAL_FAILED;
        r.reason = rc;
        wid_seal_report_one(scope, &r);
        return;
    }
    sum->sealed++;
    if (r.rec.gap) {
        sum->gaps++;
        r.outcome = WID_SEAL_GAP;
        r.reason = r.rec.gap_reason;
    } else if (r.rec.adopted || r.rec.torn_tail) {
        sum->adopted += r.rec.adopted;
        r.outcome = WID_SEAL_ADOPTED;
    } else {
        r.outcome = WID_SEAL_CLEAN;
    }
    wid_seal_report_one(scope, &r);
}


/* A writer log marked closed?  One stat: the path may pass through a
 * symlink, which is no worse than a forged marker (see the header). */
static int
wid_seal_marked(int topfd, const char *name)
{
    char        path[WID_WRITER_MAX + sizeof("/" WID_CLOSED_NAME)];
    struct stat st;

    memcpy(path, name, strlen(name));
    memcpy(path + strlen(name), "/" WID_CLOSED_NAME,
           sizeof("/" WID_CLOSED_NAME));
    return fstatat(topfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0
           && S_ISREG(st.st_mode);
}


wid_reason_t
wid_journal_seal_orphans(const char *dir, const wid_seckey *key,
                         const wid_journal_options *opts,
                         const wid_seal_scope *scope, uint64_t now_ms,
                         wid_seal_summary *sum)
{
    wid_journal_options  o;
    uint8_t              pk[WID_ED25519_PK_LEN];
    char               **names;
    uint64_t            *segs;
    size_t               n, i, nsegs, opened = 0, plen;
    int                  topfd, wdir;
    wid_reason_t         rc;

    memset(sum, 0, sizeof(*sum));
    memset(&o, 0, sizeof(o));
    if (opts) {
        o = *opts;
    }
    /* Closing right after opening: each syncs itself.  A log that another
     * sealer finished while this one waited for its lock stays closed. */
    o.external_sync = 0;
    o.unless_closed = 1;
    for (i = 0; i < o.nrefuse_keys; i++) {
        if (sodium_memcmp(o.refuse_keys[i].pk, key->pub.pk,
                          WID_ED25519_PK_LEN) == 0)
        {
            return WID_R_JOURNAL_KEY_REFUSED;
        }
    }
    /* The key that signs: what the first checkpoint must verify with. */
    crypto_sign_ed25519_sk_to_pk(pk, key->sk);
    plen = scope->prefix ? strlen(scope->prefix) : 0;

    topfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (topfd < 0) {
        return WID_R_INTERNAL_IO;
    }
    rc = wid_journal_writers(dir, &names, &n);
    if (rc != WID_OK) {
        close(topfd);
        return rc;
    }
    for (i = 0; i < n; i++) {
        if (strncmp(names[i], scope->prefix ? scope->prefix : "", plen) != 0
            || (scope->self && strcmp(names[i], scope->self) == 0))
        {
            continue;
        }
        sum->logs++;
        if (wid_seal_marked(topfd, names[i])) {
            sum->closed++;
            continue;
        }
        wdir = openat(topfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                      | O_CLOEXEC);
        if (wdir < 0) {
            wid_seal_skipped(scope, names[i], WID_SEAL_FAILED,
                             WID_R_INTERNAL_IO);
            sum->failed++;
            continue;
        }
        /*
         * Lock first, then segments: a writer creates its first segment
         * only once it holds the lock, so segments seen here with the
         * lock free belong to a writer that has closed or died.  A
         * marker seen now was left by a sealer that just finished.
         */
        segs = NULL;
        nsegs = 0;
        if (wid_writer_live(wdir)) {
            sum->live++;
        } else if (wid_seal_marked(topfd, names[i])) {
            sum->closed++;
        } else if ((rc = wid_seg_list(wdir, &segs, &nsegs)) != WID_OK) {
            wid_seal_skipped(scope, names[i], WID_SEAL_FAILED, rc);
            sum->failed++;
        } else if (nsegs == 0) {
            sum->empty++;
        } else if (scope->max_logs && opened == scope->max_logs) {
            sum->deferred++;
        } else if ((rc = wid_seal_foreign(wdir, segs[0], pk))
                   != WID_OK)
        {
            wid_seal_skipped(scope, names[i], WID_SEAL_FOREIGN, rc);
            sum->foreign++;
        } else {
            opened++;
            wid_seal_log(dir, names[i], key, &o, scope, now_ms, sum);
        }
        free(segs);
        close(wdir);
    }
    wid_journal_writers_free(names, n);
    close(topfd);
    return WID_OK;
}
