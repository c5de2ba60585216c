/*
 * wid journal verify: replay every writer log from its first byte and
 * check everything the writer promised.  Within an epoch (one Merkle
 * tree) the first error stops the checks of that epoch: what follows
 * cannot be trusted and would only repeat the finding.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal_read.h"

/* A trusted checkpoint that names this writer log. */
typedef struct {
    wid_checkpoint  cp;
    int             active;     /* its epoch is being verified */
    int             seen;       /* its epoch was met */
    int             done;       /* checked, or moot after an error */
} wid_vtrust;

struct wid_journal_verifier {
    char                       writer[WID_WRITER_MAX + 1];
    wid_pubkey                 pk;
    const wid_journal_verify_cb *cb;
    wid_journal_verify_result  res;
    int                        accept_gaps;
    int                        allow_tail;  /* flag, or writer running */

    int                        have_epoch;
    uint32_t                   epoch;
    uint64_t                   epoch_start;
    char                       origin[WID_ORIGIN_MAX + 1];
    int                        broken;
    int                        expect_gap;
    uint64_t                   next_seq;
    wid_merkle_frontier        tree;

    /* The unsigned end of the previous epoch, until the gap record that
     * starts this one says those seqs were not recovered. */
    int                        pend_tail;
    uint32_t                   pend_epoch;
    uint64_t                   pend_first, pend_n;
    uint64_t                   pend_seg, pend_off;

    /* Where the first record not covered by a checkpoint is. */
    uint64_t                   open_seg, open_off;

    int                        have_cp;
    uint64_t                   cp_size;
    uint8_t                    cp_root[32];
    wid_merkle_frontier        cp_tree;
    uint8_t                  (*recent)[32];
    size_t                     nrecent, caprecent;

    wid_vtrust                *trust;
    size_t                     ntrust;

    uint64_t                   expect_seg;
    uint64_t                   end_seg, end_off;   /* where reading ended */
    wid_journal_writer_report  rep;
};

typedef struct wid_journal_verifier wid_vstate;


static void wid_vfind(wid_vstate *s, uint64_t seg, uint64_t off,
                      int has_seq, uint64_t seq, wid_reason_t reason,
                      const char *kind, int warning, const char *fmt, ...)
    __attribute__((format(printf, 9, 10)));


static void wid_vfind(wid_vstate *s, uint64_t seg, uint64_t off, int has_seq,
    uint64_t seq, wid_reason_t reason, const char *kind, int warning,
    const char *fmt, ...) __attribute__((format(printf, 9, 10)));


static void
wid_vfind(wid_vstate *s, uint64_t seg, uint64_t off, int has_seq, uint64_t seq,
          wid_reason_t reason, const char *kind, int warning,
          const char *fmt, ...)
{
    wid_journal_finding f;
    va_list             ap;

    memset(&f, 0, sizeof(f));
    f.writer = s->writer;
    f.segment = seg;
    f.offset = off;
    f.has_seq = has_seq;
    f.seq = seq;
    f.reason = reason;
    f.kind = kind;
    f.warning = warning;
    va_start(ap, fmt);
    vsnprintf(f.detail, sizeof(f.detail), fmt, ap);
    va_end(ap);
    if (warning) {
        s->res.warnings++;
    } else {
        s->res.errors++;
        s->broken = 1;
    }
    if (s->cb && s->cb->finding) {
        s->cb->finding(s->cb->ctx, &f);
    }
}


/* Node hashes for the consistency proof: old ones from the frontier saved
 * at the previous checkpoint, new ones from the leaves since. */
static int
wid_vrange(void *ctx, uint64_t lo, uint64_t hi, uint8_t out[WID_HASH_LEN])
{
    wid_vstate *s = ctx;

    if (hi <= s->cp_size) {
        return wid_merkle_frontier_node(&s->cp_tree, lo, hi, out);
    }
    if (lo < s->cp_size || hi - s->cp_size > s->nrecent) {
        return -1;
    }
    wid_merkle_root((const uint8_t (*)[WID_HASH_LEN]) s->recent
                    + (lo - s->cp_size), hi - lo, out);
    return 0;
}


static int
wid_vpush_leaf(wid_vstate *s, const uint8_t leaf[32])
{
    void *n;

    if (s->nrecent == s->caprecent) {
        s->caprecent = s->caprecent ? s->caprecent * 2 : 1024;
        n = realloc(s->recent, s->caprecent * 32);
        if (n == NULL) {
            return -1;
        }
        s->recent = n;
    }
    memcpy(s->recent[s->nrecent++], leaf, 32);
    (void) wid_merkle_frontier_append(&s->tree, leaf);
    return 0;
}


/*
 * Trusted checkpoints of the epoch being verified whose size the tree
 * has just reached: the leaves so far must hash to their root.
 */
static void
wid_vtrust_check(wid_vstate *s, uint64_t seg, uint64_t off)
{
    uint8_t  root[32];
    size_t   i;
    int      have_root = 0;

    for (i = 0; i < s->ntrust; i++) {
        wid_vtrust *t = &s->trust[i];

        if (!t->active || t->done || t->cp.size != s->tree.size) {
            continue;
        }
        if (!have_root) {
            wid_merkle_frontier_root(&s->tree, root);
            have_root = 1;
        }
        t->done = 1;
        if (sodium_memcmp(root, t->cp.root, 32) != 0) {
            wid_vfind(s, seg, off, 1, s->next_seq,
                      WID_R_JOURNAL_CHECKPOINT_INCONSISTENT, "trusted", 0,
                      "the first %llu leaves of epoch %u differ from the"
                      " trusted checkpoint of that size (log rewritten)",
                      (unsigned long long) t->cp.size, (unsigned) s->epoch);
        }
    }
}


/*
 * The end of an epoch (last: of the log).  Leaves no checkpoint covers:
 *  - none covered at all: an error always (a writer signs every epoch at
 *    its start, so only an edit of the log makes that);
 *  - after the last checkpoint of the log: an error unless the writer is
 *    running (it signs within its interval) or the caller allows it;
 *  - after the last checkpoint of an older epoch: the writer gave them up
 *    at recovery; the gap record starting the next epoch must say so.
 */
static void
wid_vend_epoch(wid_vstate *s, int last)
{
    uint64_t covered = s->have_cp ? s->cp_size : 0;
    size_t   i;

    if (s->pend_tail) {
        s->pend_tail = 0;
        wid_vfind(s, s->pend_seg, s->pend_off, 1, s->pend_first,
                  WID_R_JOURNAL_UNSIGNED_TAIL,
                  "unsigned", 0, "epoch %u: %llu record(s) after its last"
                  " checkpoint were never signed and no gap record gives"
                  " them up", (unsigned) s->pend_epoch,
                  (unsigned long long) s->pend_n);
    }
    if (s->have_epoch && !s->broken && s->tree.size > covered) {
        if (!s->have_cp) {
            wid_vfind(s, s->open_seg, s->open_off, 1, s->epoch_start,
                      WID_R_JOURNAL_NO_CHECKPOINT, "unsigned", 0,
                      "epoch %u: %llu record(s) and no valid checkpoint at"
                      " all", (unsigned) s->epoch,
                      (unsigned long long) s->tree.size);
        } else if (!last) {
            s->pend_tail = 1;
            s->pend_epoch = s->epoch;
            s->pend_first = s->epoch_start + covered;
            s->pend_n = s->tree.size - covered;
            s->pend_seg = s->open_seg;
            s->pend_off = s->open_off;
        } else {
            wid_vfind(s, s->open_seg, s->open_off, 1,
                      s->epoch_start + covered,
                      WID_R_JOURNAL_UNSIGNED_TAIL, "unsigned",
                      s->allow_tail,
                      "epoch %u: %llu record(s) after the last checkpoint"
                      " are not signed (%s)", (unsigned) s->epoch,
                      (unsigned long long) (s->tree.size - covered),
                      s->rep.live ? "the writer is running"
                      : s->allow_tail ? "allowed by --allow-unsigned-tail"
                      : "no writer holds the log: crashed, or records"
                        " were added without the key");
        }
    }
    for (i = 0; i < s->ntrust; i++) {
        wid_vtrust *t = &s->trust[i];

        if (t->active && !t->done && !s->broken) {
            wid_vfind(s, s->end_seg, s->end_off, 1,
                      s->epoch_start + s->tree.size,
                      WID_R_JOURNAL_TRUNCATED, "truncated", 0,
                      "epoch %u ends after %llu leaves but a trusted"
                      " checkpoint covers %llu: records were cut from the"
                      " end of the log", (unsigned) s->epoch,
                      (unsigned long long) s->tree.size,
                      (unsigned long long) t->cp.size);
        }
        if (t->active) {
            t->done = 1;
            t->active = 0;
        }
    }
}


static void
wid_vcheckpoint(wid_vstate *s, uint64_t seg, const wid_frame *f)
{
    wid_checkpoint  c;
    wid_reason_t    rc;
    uint8_t         root[32];
    uint8_t         proof[WID_MERKLE_MAX_PROOF][WID_HASH_LEN];
    size_t          count;
    uint64_t        at = s->next_seq;

    s->rep.checkpoints++;
    rc = wid_checkpoint_verify((const char *) f->data, f->len, s->pk.pk, &c);
    if (rc != WID_OK) {
        wid_vfind(s, seg, f->offset, 1, at, rc, "sig", 0,
                  "checkpoint after %llu record(s) does not verify with"
                  " this public key", (unsigned long long) s->tree.size);
        return;
    }
    if (strcmp(c.origin, s->origin) != 0) {
        wid_vfind(s, seg, f->offset, 1, at, WID_R_JOURNAL_CHECKPOINT_ORIGIN,
                  "origin", 0, "checkpoint origin '%s', log origin '%s'",
                  c.origin, s->origin);
        return;
    }
    if (s->have_cp && c.size <= s->cp_size) {
        wid_vfind(s, seg, f->offset, 1, at, WID_R_JOURNAL_CHECKPOINT_ROLLBACK,
                  "rollback", 0, "checkpoint of size %llu after one of size"
                  " %llu: an older checkpoint replayed",
                  (unsigned long long) c.size,
                  (unsigned long long) s->cp_size);
        return;
    }
    wid_merkle_frontier_root(&s->tree, root);
    if (c.size != s->tree.size || sodium_memcmp(c.root, root, 32) != 0) {
        wid_vfind(s, seg, f->offset, 1, at, WID_R_JOURNAL_CHECKPOINT_ROOT,
                  "root", 0, "checkpoint (size %llu) does not match the %llu"
                  " record(s) before it", (unsigned long long) c.size,
                  (unsigned long long) s->tree.size);
        return;
    }
    if (s->have_cp && s->cp_size > 0) {
        if (wid_merkle_consistency_proof(wid_vrange, s, s->cp_size, c.size,
                                         proof, &count) != 0
            || wid_merkle_verify_consistency(s->cp_size, c.size, s->cp_root,
                   c.root, (const uint8_t (*)[WID_HASH_LEN]) proof, count)
               != 0)
        {
            wid_vfind(s, seg, f->offset, 1, at,
                      WID_R_JOURNAL_CHECKPOINT_INCONSISTENT, "consistency", 0,
                      "checkpoint of size %llu is not an extension of the"
                      " one of size %llu", (unsigned long long) c.size,
                      (unsigned long long) s->cp_size);
            return;
        }
    }
    s->have_cp = 1;
    s->cp_size = c.size;
    memcpy(s->cp_root, c.root, 32);
    s->cp_tree = s->tree;
    s->nrecent = 0;
    s->rep.signed_size = c.size;
    if (s->cb && s->cb->checkpoint) {
        s->cb->checkpoint(s->cb->ctx, s->writer, (const char *) f->data,
                          f->len, &c);
    }
}


/* The gap record starting an epoch gives up the unsigned end of the
 * epoch before it when it says recovery kept only seqs below it. */
static void
wid_vpend_resolve(wid_vstate *s, uint64_t seg, const wid_frame *f,
                  const wid_gap_record *g)
{
    int disowned = g->last_good_seq_end <= s->pend_first;

    s->pend_tail = 0;
    wid_vfind(s, seg, f->offset, 1, s->pend_first,
              WID_R_JOURNAL_UNSIGNED_TAIL, "unsigned",
              disowned && s->accept_gaps,
              "epoch %u: %llu record(s) after its last checkpoint were never"
              " signed; %s", (unsigned) s->pend_epoch,
              (unsigned long long) s->pend_n,
              disowned ? "the gap record gives them up"
                       : "yet the gap record counts them as recovered");
}


static void
wid_vleaf(wid_vstate *s, uint64_t seg, const wid_frame *f)
{
    wid_receipt_view    v;
    wid_gap_record      g;
    wid_recovery_record r;
    uint8_t             leaf[32];
    uint64_t            seq, covered = s->have_cp ? s->cp_size : 0;
    wid_reason_t        rc;

    if (f->type == WID_REC_RECEIPT || f->type == WID_REC_RECOVERY) {
        if (f->type == WID_REC_RECEIPT) {
            rc = wid_receipt_decode(f->data, f->len, &v);
            if (rc != WID_OK) {
                wid_vfind(s, seg, f->offset, 1, s->next_seq, rc, "record", 0,
                          "record does not decode as a receipt");
                return;
            }
            seq = v.seq;
            if (v.str[WID_RF_WRITER].len != strlen(s->writer)
                || memcmp(v.str[WID_RF_WRITER].p, s->writer,
                          v.str[WID_RF_WRITER].len) != 0)
            {
                wid_vfind(s, seg, f->offset, 1, seq,
                          WID_R_JOURNAL_WRITER_MISMATCH, "writer", 0,
                          "receipt written by '%.*s'",
                          (int) v.str[WID_RF_WRITER].len,
                          v.str[WID_RF_WRITER].p);
                return;
            }
        } else {
            rc = wid_recovery_decode(f->data, f->len, &r);
            if (rc != WID_OK || strcmp(r.writer, s->writer) != 0
                || r.epoch != s->epoch || r.signed_size != covered
                || r.adopted != s->tree.size - covered)
            {
                wid_vfind(s, seg, f->offset, 1, s->next_seq,
                          WID_R_RECEIPT_MALFORMED, "record", 0,
                          "recovery record malformed or not matching the"
                          " log before it");
                return;
            }
            seq = r.seq;
        }
        if (s->expect_gap) {
            wid_vfind(s, seg, f->offset, 1, seq, WID_R_JOURNAL_SEGMENT_HEADER,
                      "header", 0, "epoch %u does not start with a gap"
                      " record", (unsigned) s->epoch);
            return;
        }
    } else {
        rc = wid_gap_decode(f->data, f->len, &g);
        if (rc != WID_OK || strcmp(g.writer, s->writer) != 0
            || g.new_epoch != s->epoch || s->tree.size != 0)
        {
            wid_vfind(s, seg, f->offset, 1, s->next_seq,
                      WID_R_RECEIPT_MALFORMED, "record", 0,
                      "gap record malformed or out of place");
            return;
        }
        seq = g.seq;
    }
    if (seq != s->next_seq) {
        wid_vfind(s, seg, f->offset, 1, seq, WID_R_JOURNAL_SEQ, "seq", 0,
                  "found seq %llu where %llu was expected (record deleted,"
                  " moved or duplicated)", (unsigned long long) seq,
                  (unsigned long long) s->next_seq);
        return;
    }
    if (f->type == WID_REC_GAP) {
        s->expect_gap = 0;
        wid_vfind(s, seg, f->offset, 1, seq, WID_R_JOURNAL_GAP, "gap",
                  s->accept_gaps, "writer recorded damage (%s) in segment"
                  " %llu at offset %llu; seqs %llu..%llu were not recovered",
                  wid_reason_code((wid_reason_t) g.reason),
                  (unsigned long long) g.damaged_segment,
                  (unsigned long long) g.damaged_offset,
                  (unsigned long long) g.last_good_seq_end,
                  (unsigned long long) (seq ? seq - 1 : 0));
        if (!s->accept_gaps) {
            /* Reported; keep checking the new epoch all the same. */
            s->broken = 0;
        }
        if (s->pend_tail) {
            wid_vpend_resolve(s, seg, f, &g);
            s->broken = 0;
        }
    } else if (f->type == WID_REC_RECOVERY) {
        if (r.adopted > 0) {
            wid_vfind(s, seg, f->offset, 1, seq,
                      WID_R_JOURNAL_RECOVERED_UNSIGNED, "recovered", 1,
                      "the writer restarted after a crash and adopted %llu"
                      " unsigned record(s) (seqs %llu..%llu), signed only"
                      " from here on", (unsigned long long) r.adopted,
                      (unsigned long long) (s->epoch_start + covered),
                      (unsigned long long) (seq - 1));
        }
    } else {
        s->rep.records++;
        s->res.records++;
    }
    if (s->tree.size == covered) {
        /* The first record the last checkpoint does not cover (yet). */
        s->open_seg = seg;
        s->open_off = f->offset;
    }
    wid_merkle_leaf_hash(f->data, f->len, leaf);
    if (wid_vpush_leaf(s, leaf) != 0) {
        wid_vfind(s, seg, f->offset, 1, seq, WID_R_INTERNAL_NOMEM, "record",
                  0, "out of memory");
        return;
    }
    s->next_seq++;
    if (s->ntrust) {
        wid_vtrust_check(s, seg, f->offset);
    }
}


/* The segment header: starts, continues or wrongly breaks an epoch. */
static int
wid_vheader(wid_vstate *s, uint64_t segno, const wid_frame *f)
{
    wid_seg_header h;
    char           want[WID_ORIGIN_MAX + 64];
    size_t         ol, wl, i;

    if (f->type != WID_REC_SEGMENT
        || wid_seg_header_decode(f->data, f->len, &h) != WID_OK)
    {
        wid_vfind(s, segno, 0, 0, 0, WID_R_JOURNAL_SEGMENT_HEADER, "header",
                  0, "segment does not start with a valid header");
        return -1;
    }
    if (strcmp(h.writer, s->writer) != 0 || h.segment != segno) {
        wid_vfind(s, segno, 0, 0, 0, WID_R_JOURNAL_SEGMENT_HEADER, "header",
                  0, "segment is segment %llu of writer '%s' (moved or"
                  " swapped between logs)", (unsigned long long) h.segment,
                  h.writer);
        return -1;
    }
    if (s->have_epoch && h.epoch == s->epoch) {
        if (s->broken) {
            return -1;
        }
        if (strcmp(h.origin, s->origin) != 0) {
            wid_vfind(s, segno, 0, 1, s->next_seq,
                      WID_R_JOURNAL_SEGMENT_HEADER, "header", 0,
                      "segment names origin '%s' in an epoch of origin '%s'",
                      h.origin, s->origin);
            return -1;
        }
        if (h.first_seq != s->next_seq || h.epoch_start_seq != s->epoch_start)
        {
            wid_vfind(s, segno, 0, 1, s->next_seq, WID_R_JOURNAL_SEQ, "seq",
                      0, "segment starts at seq %llu (epoch from %llu), "
                      "expected %llu (epoch from %llu)",
                      (unsigned long long) h.first_seq,
                      (unsigned long long) h.epoch_start_seq,
                      (unsigned long long) s->next_seq,
                      (unsigned long long) s->epoch_start);
            return -1;
        }
        return 0;
    }
    if (s->have_epoch && h.epoch < s->epoch) {
        wid_vfind(s, segno, 0, 0, 0, WID_R_JOURNAL_SEGMENT_HEADER, "header",
                  0, "epoch goes back from %u to %u", (unsigned) s->epoch,
                  (unsigned) h.epoch);
        return -1;
    }
    wid_vend_epoch(s, 0);
    s->have_epoch = 1;
    s->rep.epochs++;
    s->broken = 0;
    s->epoch = h.epoch;
    s->epoch_start = h.epoch_start_seq;
    s->next_seq = h.first_seq;
    s->expect_gap = h.epoch > 0;
    memcpy(s->origin, h.origin, sizeof(s->origin));
    wid_merkle_frontier_init(&s->tree);
    s->have_cp = 0;
    s->cp_size = 0;
    s->nrecent = 0;
    snprintf(want, sizeof(want), "/%s/%u", s->writer, (unsigned) h.epoch);
    ol = strlen(h.origin);
    wl = strlen(want);
    if (ol <= wl || strcmp(h.origin + ol - wl, want) != 0) {
        wid_vfind(s, segno, 0, 0, 0, WID_R_JOURNAL_CHECKPOINT_ORIGIN,
                  "origin", 0, "origin '%s' does not end in '%s'", h.origin,
                  want);
        return -1;
    }
    for (i = 0; i < s->ntrust; i++) {
        if (!s->trust[i].seen && strcmp(s->trust[i].cp.origin, h.origin) == 0)
        {
            s->trust[i].seen = 1;
            s->trust[i].active = 1;
        }
    }
    if (h.first_seq != h.epoch_start_seq
        || (h.epoch == 0 && h.first_seq != 0))
    {
        wid_vfind(s, segno, 0, 1, h.first_seq, WID_R_JOURNAL_SEGMENT_MISSING,
                  "segment", 0, "epoch %u starts in the middle (seq %llu):"
                  " earlier segments are missing", (unsigned) h.epoch,
                  (unsigned long long) h.first_seq);
        return -1;
    }
    if (s->ntrust) {
        wid_vtrust_check(s, segno, 0);      /* a trusted empty tree */
    }
    return 0;
}


static void
wid_vsegment(wid_vstate *s, uint64_t segno, const uint8_t *map,
             uint64_t size, int last)
{
    uint64_t       off = 0;
    wid_frame      f;
    wid_reason_t   rc;

    s->rep.segments++;
    if (segno != s->expect_seg) {
        wid_vfind(s, segno, 0, 0, 0, WID_R_JOURNAL_SEGMENT_MISSING, "segment",
                  0, "segment %llu follows segment %llu",
                  (unsigned long long) segno,
                  (unsigned long long) (s->expect_seg - 1));
    }
    s->expect_seg = segno + 1;
    if (map == NULL && size != 0) {
        wid_vfind(s, segno, 0, 0, 0, WID_R_INTERNAL_IO, "io", 0,
                  "cannot read the segment");
        return;
    }
    while (off < size) {
        rc = wid_frame_parse(map, size, off, &f);
        if (rc != WID_OK) {
            if (last && wid_frame_torn(map, size, off, rc)) {
                /* An error until recovery (reopening the writer) cuts it:
                 * verify cannot tell a torn write from a cut record.
                 * While the writer runs it is a write in progress. */
                wid_vfind(s, segno, off, 1, s->next_seq,
                          WID_R_JOURNAL_TORN_TAIL, "torn", s->rep.live,
                          "last %llu byte(s) are an incomplete record (%s)",
                          (unsigned long long) (size - off),
                          s->rep.live ? "the writer is running: a write in"
                                        " progress"
                          : "crash during a write; reopening the writer"
                            " cuts it off");
            } else {
                wid_vfind(s, segno, off, 1, s->next_seq, rc,
                          rc == WID_R_JOURNAL_FRAME_CRC ? "crc" : "framing",
                          0, "damaged record frame");
            }
            break;
        }
        if (off == 0) {
            if (wid_vheader(s, segno, &f) != 0) {
                break;
            }
        } else if (s->broken) {
            break;
        } else if (WID_REC_IS_LEAF(f.type)) {
            wid_vleaf(s, segno, &f);
        } else if (f.type == WID_REC_CHECKPOINT) {
            wid_vcheckpoint(s, segno, &f);
        } else {
            wid_vfind(s, segno, off, 1, s->next_seq,
                      WID_R_JOURNAL_FRAME_MALFORMED, "framing", 0,
                      "segment header in the middle of a segment");
        }
        if (s->broken) {
            break;
        }
        off = f.next;
    }
    s->end_seg = segno;
    s->end_off = off;
}


int
wid_origin_writer(const char *origin, char writer[WID_WRITER_MAX + 1],
                  uint32_t *epoch)
{
    const char *last, *prev;
    size_t      n, i;
    uint64_t    e = 0;

    last = strrchr(origin, '/');
    if (last == NULL || last == origin || last[1] == '\0') {
        return -1;
    }
    for (i = 1; last[i] != '\0'; i++) {
        if (last[i] < '0' || last[i] > '9' || i > 10) {
            return -1;
        }
        e = e * 10 + (uint64_t) (last[i] - '0');
    }
    if (e > UINT32_MAX) {
        return -1;
    }
    prev = last - 1;
    while (prev > origin && *prev != '/') {
        prev--;
    }
    if (*prev != '/') {
        return -1;
    }
    n = (size_t) (last - prev - 1);
    if (n == 0 || n > WID_WRITER_MAX) {
        return -1;
    }
    memcpy(writer, prev + 1, n);
    writer[n] = '\0';
    if (!wid_journal_writer_name_ok(writer)) {
        return -1;
    }
    *epoch = (uint32_t) e;
    return 0;
}


wid_reason_t
wid_journal_verifier_new(const char *writer, const wid_pubkey *pk,
                         int flags, const wid_journal_trusted *trusted,
                         const wid_journal_verify_cb *cb,
                         wid_journal_verifier **out)
{
    wid_vstate *s;
    char        w[WID_WRITER_MAX + 1];
    uint32_t    epoch;
    size_t      i;

    *out = NULL;
    if (!wid_journal_writer_name_ok(writer)) {
        return WID_R_JOURNAL_WRITER_NAME;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    snprintf(s->writer, sizeof(s->writer), "%s", writer);
    s->pk = *pk;
    s->cb = cb;
    s->accept_gaps = (flags & WID_JOURNAL_VERIFY_ACCEPT_GAPS) != 0;
    s->rep.live = (flags & WID_JOURNAL_VERIFY_WRITER_LIVE) != 0;
    s->allow_tail = s->rep.live
                    || (flags & WID_JOURNAL_VERIFY_ALLOW_UNSIGNED_TAIL) != 0;
    s->expect_seg = 1;
    s->rep.writer = s->writer;
    for (i = 0; trusted && i < trusted->n; i++) {
        if (wid_origin_writer(trusted->cps[i].origin, w, &epoch) != 0
            || strcmp(w, writer) != 0)
        {
            continue;
        }
        if (s->ntrust % 8 == 0) {
            void *n = realloc(s->trust, (s->ntrust + 8) * sizeof(*s->trust));

            if (n == NULL) {
                wid_journal_verifier_free(s);
                return WID_R_INTERNAL_NOMEM;
            }
            s->trust = n;
        }
        memset(&s->trust[s->ntrust], 0, sizeof(*s->trust));
        s->trust[s->ntrust++].cp = trusted->cps[i];
    }
    *out = s;
    return WID_OK;
}


void
wid_journal_verifier_segment(wid_journal_verifier *s, uint64_t segno,
                             const uint8_t *buf, uint64_t size, int last)
{
    if (buf == NULL) {
        /* Unreadable: report it as such, whatever the size. */
        wid_vsegment(s, segno, NULL, 1, last);
        return;
    }
    wid_vsegment(s, segno, buf, size, last);
}


size_t
wid_journal_verifier_errors(const wid_journal_verifier *s)
{
    return s->res.errors;
}


wid_journal_verifier *
wid_journal_verifier_dup(const wid_journal_verifier *s)
{
    wid_vstate *d = malloc(sizeof(*d));

    if (d == NULL) {
        return NULL;
    }
    *d = *s;
    d->rep.writer = d->writer;
    d->recent = NULL;
    d->trust = NULL;
    if (s->caprecent) {
        d->recent = malloc(s->caprecent * 32);
        if (d->recent == NULL) {
            free(d);
            return NULL;
        }
        memcpy(d->recent, s->recent, s->nrecent * 32);
    }
    if (s->ntrust) {
        d->trust = malloc(((s->ntrust + 7) / 8) * 8 * sizeof(*d->trust));
        if (d->trust == NULL) {
            free(d->recent);
            free(d);
            return NULL;
        }
        memcpy(d->trust, s->trust, s->ntrust * sizeof(*d->trust));
    }
    return d;
}


void
wid_journal_verifier_finish(wid_journal_verifier *s,
                            wid_journal_verify_result *res)
{
    size_t i;

    if (s->expect_seg == 1) {
        wid_vfind(s, 0, 0, 0, 0, WID_R_JOURNAL_SEGMENT_MISSING, "segment", 0,
                  "writer log has no segments");
    }
    wid_vend_epoch(s, 1);
    for (i = 0; i < s->ntrust; i++) {
        if (!s->trust[i].seen) {
            s->trust[i].seen = 1;
            wid_vfind(s, 0, 0, 0, 0, WID_R_JOURNAL_TRUNCATED, "truncated", 0,
                      "no epoch of the log has the origin '%s' of a trusted"
                      " checkpoint (size %llu): its segments were removed",
                      s->trust[i].cp.origin,
                      (unsigned long long) s->trust[i].cp.size);
        }
    }
    s->rep.tree_size = s->tree.size;
    wid_merkle_frontier_root(&s->tree, s->rep.root);
    if (s->cb && s->cb->writer) {
        s->cb->writer(s->cb->ctx, &s->rep);
    }
    if (res) {
        res->writers++;
        res->errors += s->res.errors;
        res->warnings += s->res.warnings;
        res->records += s->res.records;
    }
}


void
wid_journal_verifier_free(wid_journal_verifier *s)
{
    if (s) {
        free(s->recent);
        free(s->trust);
        free(s);
    }
}


static wid_reason_t
wid_verify_writer(const char *dir, const char *writer, const wid_pubkey *pk,
                  int flags, const wid_journal_trusted *trusted,
                  const wid_journal_verify_cb *cb,
                  wid_journal_verify_result *res)
{
    wid_vstate    *s;
    const uint8_t *map;
    uint64_t      *segs, size;
    size_t         n, i;
    int            dirfd, live;
    wid_reason_t   rc;

    rc = wid_writer_open_read(dir, writer, &dirfd, &segs, &n);
    if (rc != WID_OK) {
        return rc;
    }
    /* Running before or after the segments are read: either way it may
     * have had records not yet signed while they were read. */
    live = wid_writer_live(dirfd);
    rc = wid_journal_verifier_new(writer, pk,
                                  live ? flags | WID_JOURNAL_VERIFY_WRITER_LIVE
                                  : flags & ~WID_JOURNAL_VERIFY_WRITER_LIVE,
                                  trusted, cb, &s);
    if (rc != WID_OK) {
        free(segs);
        close(dirfd);
        return rc;
    }
    for (i = 0; i < n; i++) {
        if (wid_seg_map(dirfd, segs[i], &map, &size) != WID_OK) {
            wid_journal_verifier_segment(s, segs[i], NULL, 0, i + 1 == n);
            continue;
        }
        /* An empty file maps to NULL: it is readable, just empty. */
        wid_journal_verifier_segment(s, segs[i],
                                     map ? map : (const uint8_t *) "", size,
                                     i + 1 == n);
        wid_seg_unmap(map, size);
    }
    if (live || wid_writer_live(dirfd)) {
        s->rep.live = 1;
        s->allow_tail = 1;
    }
    wid_journal_verifier_finish(s, res);
    wid_journal_verifier_free(s);
    free(segs);
    close(dirfd);
    return WID_OK;
}


wid_reason_t
wid_journal_verify_trusted(const char *dir, const wid_pubkey *pk,
                           int flags,
                           const wid_journal_trusted *trusted,
                           const wid_journal_verify_cb *cb,
                           wid_journal_verify_result *res)
{
    char              **names;
    char                w[WID_WRITER_MAX + 1];
    uint32_t            epoch;
    size_t              n, i, k;
    wid_journal_finding f;
    wid_reason_t        rc;

    memset(res, 0, sizeof(*res));
    rc = wid_journal_writers(dir, &names, &n);
    if (rc != WID_OK) {
        return rc;
    }
    if (n == 0) {
        free(names);
        return WID_R_JOURNAL_EMPTY;
    }
    for (i = 0; i < n && rc == WID_OK; i++) {
        rc = wid_verify_writer(dir, names[i], pk, flags, trusted, cb, res);
    }
    /* A trusted checkpoint of a writer whose whole log is gone. */
    for (k = 0; rc == WID_OK && trusted && k < trusted->n; k++) {
        if (wid_origin_writer(trusted->cps[k].origin, w, &epoch) != 0) {
            snprintf(w, sizeof(w), "?");
        } else {
            for (i = 0; i < n && strcmp(names[i], w) != 0; i++) {
            }
            if (i < n) {
                continue;
            }
        }
        memset(&f, 0, sizeof(f));
        f.writer = w;
        f.reason = WID_R_JOURNAL_TRUNCATED;
        f.kind = "truncated";
        snprintf(f.detail, sizeof(f.detail), "the writer log named by the"
                 " trusted checkpoint '%.120s' (size %llu) is missing",
                 trusted->cps[k].origin,
                 (unsigned long long) trusted->cps[k].size);
        res->errors++;
        if (cb && cb->finding) {
            cb->finding(cb->ctx, &f);
        }
    }
    wid_journal_writers_free(names, n);
    return rc;
}


wid_reason_t
wid_journal_verify(const char *dir, const wid_pubkey *pk, int flags,
                   const wid_journal_verify_cb *cb,
                   wid_journal_verify_result *res)
{
    return wid_journal_verify_trusted(dir, pk, flags, NULL, cb, res);
}
