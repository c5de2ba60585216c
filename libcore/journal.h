/*
 * The receipt journal: a directory with one log per writer process.
 *
 *   DIR/<writer>/lock                 held (flock) while a writer is open
 *   DIR/<writer>/seg-<16 digits>.wjl  segment files, numbered from 1
 *   DIR/<writer>/closed               empty; left by a clean close, removed
 *                                     by the next open (a hint only)
 *
 * Each writer appends only to its own log, so the append path takes no
 * cross-process lock.  Records are framed (CRC-32C, length, type); the
 * receipts of a log are the leaves of an RFC 6962 Merkle tree; signed
 * checkpoints (C2SP signed note, Ed25519) are records in the same log.
 * docs/receipts.md specifies the formats byte for byte.
 *
 * Threads: a wid_journal is owned by one thread.  The only step that may
 * run on another thread is wid_journal_sync_run() on a job taken with
 * wid_journal_sync_begin() (see there).
 */
#ifndef WID_JOURNAL_H
#define WID_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "keyfile.h"
#include "merkle.h"
#include "reason.h"
#include "receipt.h"

#define WID_WRITER_MAX       64
#define WID_JOURNAL_KEY_NAME "wid-receipts"

typedef enum {
    WID_FSYNC_INTERVAL = 0,     /* default: every fsync_interval_ms */
    WID_FSYNC_ALWAYS,           /* before every append returns */
    WID_FSYNC_NEVER             /* leave it to the kernel */
} wid_fsync_mode;

typedef struct {
    uint64_t        checkpoint_every_records;  /* 0: default 1000 */
    uint64_t        checkpoint_every_ms;       /* 0: default 1000 */
    uint64_t        segment_max_bytes;         /* 0: default 64 MiB */
    wid_fsync_mode  fsync;
    uint64_t        fsync_interval_ms;         /* 0: default 200 */
    /*
     * Nonzero: wid_journal_tick() leaves fsync to the caller, who runs
     * wid_journal_sync_begin/run/end (e.g. run in journal_syncer.h's helper).
     */
    int             external_sync;
    /* Origin prefix of checkpoints; NULL: the host name.  The origin of
     * a log is "<prefix>/<writer>/<epoch>". */
    const char     *origin_prefix;
    /* Checkpoint signer key name; NULL: WID_JOURNAL_KEY_NAME. */
    const char     *key_name;
    /* Public keys the receipt key must not be (e.g. the SSH CA key). */
    const wid_pubkey *refuse_keys;
    size_t          nrefuse_keys;
    /*
     * Nonzero (sealing): a log found marked closed once its lock is held
     * is left as it is: open returns WID_OK with *out NULL and
     * rec->was_closed set.  Another sealer may have finished it while
     * this one waited for the lock.
     */
    int             unless_closed;
} wid_journal_options;

/* What opening an existing log found and did. */
typedef struct {
    int       existed;          /* the writer log was there before */
    int       was_closed;       /* unless_closed: marked, left alone */
    uint64_t  records;          /* leaves found */
    int       torn_tail;        /* a torn last record was cut off */
    uint64_t  torn_segment, torn_offset, torn_bytes;
    int       gap;              /* damage elsewhere: new epoch + gap */
    uint64_t  gap_segment, gap_offset;
    wid_reason_t gap_reason;
    /* When the epoch is continued: leaves its last valid checkpoint
     * covered, and unsigned leaves after it that were adopted (a crash
     * tail; recorded in a recovery record and signed at open). */
    uint64_t  signed_size;
    uint64_t  adopted;
    uint32_t  epoch;            /* epoch now being written */
    uint64_t  next_seq;
} wid_journal_recovery;

typedef struct wid_journal wid_journal;

/*
 * Open (create or recover) the log of writer_name under dir.  The secret
 * key is copied into locked memory and wiped at close; the caller may
 * wipe its copy at once.  Recovery checks every checkpoint in the log
 * against this key and the recomputed tree, and adopts unsigned records
 * after the last valid one only up to one checkpoint interval (records,
 * and checkpoint_every_ms plus a margin between their times); anything
 * else is left in place and a new epoch starts with a gap record (see
 * docs/receipts.md, "Crash recovery").  Before returning, the writer
 * signs a checkpoint over everything its epoch holds.  Errors:
 * journal.bad_writer_name, journal.writer_busy, journal.key_is_refused,
 * internal.io_error, ...
 */
wid_reason_t wid_journal_open(const char *dir, const char *writer_name,
                              const wid_seckey *key,
                              const wid_journal_options *opts,
                              uint64_t now_ms, wid_journal **out,
                              wid_journal_recovery *rec);

/*
 * Append one receipt (writer and seq are the journal's; time_ms 0 means
 * now_ms).  On WID_OK the record is written (and, with fsync=always,
 * durable) and id_out holds its receipt id.  A failure leaves nothing
 * half-written in the log.
 */
wid_reason_t wid_journal_append(wid_journal *j, const wid_receipt *r,
                                uint64_t now_ms,
                                char id_out[WID_RECEIPT_ID_SIZE],
                                uint64_t *seq_out);

/*
 * The head of receipts about r's identity in this journal
 * (wid_receipt_head_make with the journal's writer), for
 * wid_journal_append_after.
 */
wid_reason_t wid_journal_receipt_head(const wid_journal *j,
                                      const wid_receipt *r,
                                      wid_receipt_head *h);

/*
 * wid_journal_append of a receipt whose head is h: its bytes and leading
 * hash blocks are reused.  r still carries its identity and policy: a
 * head made for another writer or policy is ignored and r encoded whole.
 * h may be NULL.  Gives
 * the receipt's leaf hash (leaf_out, may be NULL) rather than its id: a
 * caller that names few of its receipts formats the id only when asked
 * (wid_receipt_id_from_leaf).
 */
wid_reason_t wid_journal_append_after(wid_journal *j,
                                      const wid_receipt_head *h,
                                      const wid_receipt *r, uint64_t now_ms,
                                      uint8_t leaf_out[WID_HASH_LEN],
                                      uint64_t *seq_out);

/* Bytes appended but not yet handed to the kernel (0: every record
 * acknowledged so far is at least in the page cache). */
size_t wid_journal_unwritten(const wid_journal *j);

/* Due work: checkpoint every T ms, fsync every interval (unless
 * external_sync).  Cheap when nothing is due; call it from a timer. */
wid_reason_t wid_journal_tick(wid_journal *j, uint64_t now_ms);
/*
 * Buffering: with fsync=interval|never appends are collected in a 64 KiB
 * buffer and written with one write(2) when it is full, at every
 * checkpoint, tick, sync and close.  Until then readers do not see them
 * and a crash of the process loses them (see docs/receipts.md, "Loss
 * window").  fsync=always writes and syncs every append before it
 * returns.
 */

/* Write a checkpoint now if any record is not yet covered. */
wid_reason_t wid_journal_checkpoint(wid_journal *j, uint64_t now_ms);

/*
 * fsync off the owner thread.  begin (owner thread) duplicates the file
 * descriptors that need syncing into job; run (any thread or process,
 * concurrently with appends) fsyncs them, drops what is now on disk from
 * the page cache, and closes them, touching nothing else; end (owner thread)
 * consumes the result: after a failure it never retries (the data may
 * be gone, see "fsyncgate"): the segment is abandoned, a new one
 * started, and journal.fsync_failed returned.
 *
 * Why drop: the writer never reads a segment back, so its pages would
 * only crowd the page cache (the files nginx serves), and each receipt
 * would be written into a newly allocated page.  Dropped, they are
 * freed and the next writes reuse them.  Only whole pages below what
 * was synced are dropped; the kernel keeps dirty and partial pages.
 */
typedef struct {
    int      fds[17];
    /* bytes at the start of fds[i] to drop once synced: 0 none, or
     * UINT64_MAX for a whole rotated segment */
    uint64_t drop_below[17];
    size_t   nfds;
    int      failed;
    int      unwritten;         /* not all handed over: retried later */
    uint64_t seq;               /* records below this seq were covered */
} wid_journal_sync_job;

int wid_journal_sync_due(const wid_journal *j, uint64_t now_ms);
void wid_journal_sync_begin(wid_journal *j, uint64_t now_ms,
                            wid_journal_sync_job *job);
void wid_journal_sync_run(wid_journal_sync_job *job);
wid_reason_t wid_journal_sync_end(wid_journal *j, wid_journal_sync_job *job);

/* Final checkpoint, fsync (unless never), then the "closed" marker,
 * close, unlock, wipe the key.  Frees j whatever the result. */
wid_reason_t wid_journal_close(wid_journal *j, uint64_t now_ms);

/* The origin of the log being written (for logs and tests). */
const char *wid_journal_origin(const wid_journal *j);

/* Name rule for writers: 1..64 of [A-Za-z0-9._-], not starting with '.'. */
int wid_journal_writer_name_ok(const char *name);

#endif
