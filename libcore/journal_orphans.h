/*
 * Sealing the logs of writers that are gone.
 *
 * A writer that dies without wid_journal_close (SIGKILL, a crash) leaves
 * the records after its last checkpoint unsigned, and no process ever
 * reopens a log named after a dead process.  Sealing reopens such a log
 * with wid_journal_open, whose recovery adopts the unsigned tail (a
 * recovery record, signed) or records a gap, and closes it at once.
 *
 * A log DIR/<writer> is sealed when its name starts with the prefix, it
 * is not the caller's own, and:
 *  - it is not marked closed (DIR/<writer>/closed, left by a clean
 *    close): a journal of closed logs costs one stat per log;
 *  - no writer holds its lock (a running writer is skipped);
 *  - it has segment files (a writer creates its first one only once it
 *    holds the lock, so a log being created is never taken over);
 *  - the first checkpoint in it is by this key, or it has none (a log of
 *    another key is never signed over with this one).
 *
 * A sealer looks for the marker again once it holds a log's lock (the
 * unless_closed option of wid_journal_open): another sealer may have
 * finished the log while this one waited for the lock.
 *
 * The marker is only a hint.  Deleting it makes the next seal reopen the
 * log, find it signed to its end and close it again: one more segment,
 * nothing else.  Forging it leaves an unsigned tail unsealed, which
 * `wid journal verify` still reports (journal.unsigned_tail).
 */
#ifndef WID_JOURNAL_ORPHANS_H
#define WID_JOURNAL_ORPHANS_H

#include <stddef.h>
#include <stdint.h>

#include "journal.h"
#include "keyfile.h"
#include "reason.h"

typedef enum {
    WID_SEAL_CLEAN = 0,     /* nothing was unsigned: reopened and closed */
    WID_SEAL_ADOPTED,       /* unsigned records (or a torn write) adopted */
    WID_SEAL_GAP,           /* damage: new epoch with a gap record */
    WID_SEAL_FOREIGN,       /* checkpoints by another key: left alone */
    WID_SEAL_FAILED         /* reopening or closing failed: reason */
} wid_seal_outcome;

/* One log that was reopened, or refused. */
typedef struct {
    const char           *writer;
    wid_seal_outcome      outcome;
    wid_reason_t          reason;    /* FOREIGN, FAILED: why */
    wid_journal_recovery  rec;       /* what recovery found and did */
} wid_seal_report;

typedef void (*wid_seal_report_fn)(void *ctx, const wid_seal_report *r);

typedef struct {
    const char          *prefix;     /* writer names starting so; NULL: all */
    const char          *self;       /* the caller's own writer, or NULL */
    size_t               max_logs;   /* reopen at most this many; 0: all */
    wid_seal_report_fn   report;     /* per log reopened or refused */
    void                *ctx;
} wid_seal_scope;

typedef struct {
    size_t  logs;           /* writer logs in scope */
    size_t  closed;         /* marked closed: not opened */
    size_t  live;           /* a writer holds the lock: not opened */
    size_t  empty;          /* no segment file: nothing to seal */
    size_t  sealed;         /* reopened and closed: clean, adopted, gap */
    uint64_t adopted;       /* of those: records adopted, in total */
    size_t  gaps;           /* of those: with a gap */
    size_t  foreign;        /* signed with another key: left alone */
    size_t  failed;         /* reopening or closing failed */
    size_t  deferred;       /* not looked at further: max_logs reached */
} wid_seal_summary;

/*
 * Seal the logs of stopped writers under dir (see above) with the key
 * and options the writers had (checkpoint_every_records and _ms bound
 * what recovery adopts; origin_prefix names the epoch after a gap).
 * Per-log results go to scope->report; a log that cannot be sealed is
 * reported and skipped, never fatal.  Errors: internal.io_error (dir
 * unreadable), internal.nomem, journal.key_is_refused.
 */
wid_reason_t wid_journal_seal_orphans(const char *dir, const wid_seckey *key,
                                      const wid_journal_options *opts,
                                      const wid_seal_scope *scope,
                                      uint64_t now_ms,
                                      wid_seal_summary *sum);

#endif
