/*
 * wid journal verify: replay every writer log from its first byte and
 * check everything the writer promised.  Within an epoch (one Merkle
 * tree) the first error stops the checks of that epoch: what follows
 * cannot be trusted and would only repeat the finding.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal_read.h"

typedef struct {
    const char                *writer;
    const wid_pubkey          *pk;
    const wid_journal_verify_cb *cb;
    wid_journal_verify_result *res;
    int                        accept_gaps;

    int                        have_epoch;
    uint32_t                   epoch;
    uint64_t                   epoch_start;
    char                       origin[WID_ORIGIN_MAX + 1];
    int                        broken;
    int                        expect_gap;
    uint64_t                   next_seq;
    wid_merkle_frontier        tree;

    int                        have_cp;
    uint64_t                   cp_size;
    uint8_t                    cp_root[32];
    wid_merkle_frontier        cp_tree;
    uint8_t                  (*recent)[32];
    size_t                     nrecent, caprecent;

    uint64_t                   expect_seg;
    wid_journal_writer_report  rep;
} wid_vstate;


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
        s->res->warnings++;
    } else {
        s->res->errors++;
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


static void
wid_vend_epoch(wid_vstate *s)
{
    uint64_t covered = s->have_cp ? s->cp_size : 0;

    if (s->have_epoch && !s->broken && s->tree.size > covered) {
        wid_vfind(s, 0, 0, 1, s->epoch_start + covered,
                  WID_R_JOURNAL_UNSIGNED_TAIL, "unsigned", 1,
                  "epoch %u: %llu record(s) after the last checkpoint are"
                  " not signed yet (writer running, or it crashed)",
                  (unsigned) s->epoch,
                  (unsigned long long) (s->tree.size - covered));
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
    rc = wid_checkpoint_verify((const char *) f->data, f->len, s->pk->pk, &c);
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
}


static void
wid_vleaf(wid_vstate *s, uint64_t seg, const wid_frame *f)
{
    wid_receipt_view v;
    wid_gap_record   g;
    uint8_t          leaf[32];
    uint64_t         seq;
    wid_reason_t     rc;

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
            wid_vfind(s, seg, f->offset, 1, seq, WID_R_JOURNAL_WRITER_MISMATCH,
                      "writer", 0, "receipt written by '%.*s'",
                      (int) v.str[WID_RF_WRITER].len, v.str[WID_RF_WRITER].p);
            return;
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
    } else {
        s->rep.records++;
        s->res->records++;
    }
    wid_merkle_leaf_hash(f->data, f->len, leaf);
    if (wid_vpush_leaf(s, leaf) != 0) {
        wid_vfind(s, seg, f->offset, 1, seq, WID_R_INTERNAL_NOMEM, "record",
                  0, "out of memory");
        return;
    }
    s->next_seq++;
}


/* The segment header: starts, continues or wrongly breaks an epoch. */
static int
wid_vheader(wid_vstate *s, uint64_t segno, const wid_frame *f)
{
    wid_seg_header h;
    char           want[WID_ORIGIN_MAX + 64];
    size_t         ol, wl;

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
        if (h.first_seq != s->next_seq || h.epoch_start_seq != s->epoch_start
            || strcmp(h.origin, s->origin) != 0)
        {
            wid_vfind(s, segno, 0, 1, s->next_seq, WID_R_JOURNAL_SEQ, "seq",
                      0, "segment starts at seq %llu, expected %llu",
                      (unsigned long long) h.first_seq,
                      (unsigned long long) s->next_seq);
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
    wid_vend_epoch(s);
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
    if (h.first_seq != h.epoch_start_seq
        || (h.epoch == 0 && h.first_seq != 0))
    {
        wid_vfind(s, segno, 0, 1, h.first_seq, WID_R_JOURNAL_SEGMENT_MISSING,
                  "segment", 0, "epoch %u starts in the middle (seq %llu):"
                  " earlier segments are missing", (unsigned) h.epoch,
                  (unsigned long long) h.first_seq);
        return -1;
    }
    return 0;
}


static void
wid_vsegment(wid_vstate *s, int dirfd, uint64_t segno, int last)
{
    const uint8_t *map;
    uint64_t       size, off = 0;
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
    if (wid_seg_map(dirfd, segno, &map, &size) != WID_OK) {
        wid_vfind(s, segno, 0, 0, 0, WID_R_INTERNAL_IO, "io", 0,
                  "cannot read the segment");
        return;
    }
    while (off < size) {
        rc = wid_frame_parse(map, size, off, &f);
        if (rc != WID_OK) {
            if (last && wid_frame_torn(map, size, off, rc)) {
                /* An error until recovery (reopening the writer) cuts it:
                 * verify cannot tell a torn write from a cut record. */
                wid_vfind(s, segno, off, 1, s->next_seq,
                          WID_R_JOURNAL_TORN_TAIL, "torn", 0,
                          "last %llu byte(s) are an incomplete record"
                          " (crash during a write; reopening the writer"
                          " cuts it off)", (unsigned long long) (size - off));
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
        } else if (f.type == WID_REC_RECEIPT || f.type == WID_REC_GAP) {
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
    wid_seg_unmap(map, size);
}


static wid_reason_t
wid_verify_writer(const char *dir, const char *writer, const wid_pubkey *pk,
                  int accept_gaps, const wid_journal_verify_cb *cb,
                  wid_journal_verify_result *res)
{
    wid_vstate  *s;
    uint64_t    *segs;
    size_t       n, i;
    int          top, dirfd;
    wid_reason_t rc;

    top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (top < 0) {
        return WID_R_INTERNAL_IO;
    }
    dirfd = openat(top, writer, O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                   | O_CLOEXEC);
    close(top);
    if (dirfd < 0) {
        return WID_R_INTERNAL_IO;
    }
    rc = wid_seg_list(dirfd, &segs, &n);
    if (rc != WID_OK) {
        close(dirfd);
        return rc;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        free(segs);
        close(dirfd);
        return WID_R_INTERNAL_NOMEM;
    }
    s->writer = writer;
    s->pk = pk;
    s->cb = cb;
    s->res = res;
    s->accept_gaps = accept_gaps;
    s->expect_seg = 1;
    s->rep.writer = writer;
    if (n == 0) {
        wid_vfind(s, 0, 0, 0, 0, WID_R_JOURNAL_SEGMENT_MISSING, "segment", 0,
                  "writer log has no segments");
    }
    for (i = 0; i < n; i++) {
        wid_vsegment(s, dirfd, segs[i], i + 1 == n);
    }
    wid_vend_epoch(s);
    s->rep.tree_size = s->tree.size;
    wid_merkle_frontier_root(&s->tree, s->rep.root);
    if (cb && cb->writer) {
        cb->writer(cb->ctx, &s->rep);
    }
    free(s->recent);
    free(s);
    free(segs);
    close(dirfd);
    return WID_OK;
}


wid_reason_t
wid_journal_verify(const char *dir, const wid_pubkey *pk, int accept_gaps,
                   const wid_journal_verify_cb *cb,
                   wid_journal_verify_result *res)
{
    char       **names;
    size_t       n, i;
    wid_reason_t rc;

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
        res->writers++;
        rc = wid_verify_writer(dir, names[i], pk, accept_gaps, cb, res);
    }
    wid_journal_writers_free(names, n);
    return rc;
}
