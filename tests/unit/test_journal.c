/*
 * The journal: append and verify; every kind of tampering is caught
 * (each byte flipped, records deleted / reordered / duplicated, the
 * middle cut out, segments swapped between writers, an old checkpoint
 * replayed); recovery cuts a torn tail and never writes over damage.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#include "journal_testutil.h"

#define NREC 100

static wid_seckey sk;
static wid_pubkey pk;

static int
setup(void **state)
{
    (void) state;
    jt_keypair(&sk, &pk);
    return 0;
}


/* Append receipts 0..n-1 at 1000 + i ms, each accepted; ids may be NULL. */
static void
append_receipts(wid_journal *j, unsigned n,
                char (*ids)[WID_RECEIPT_ID_SIZE])
{
    wid_receipt r;
    unsigned    i;

    for (i = 0; i < n; i++) {
        jt_receipt(&r, i);
        assert_int_equal(wid_journal_append(j, &r, 1000 + i,
                                            ids != NULL ? ids[i] : NULL,
                                            NULL),
                         WID_OK);
    }
}

/* A closed journal of n records by writer w, small segments. */
static void
build(const char *dir, const char *w, unsigned n, uint64_t seg_bytes)
{
    wid_journal_options o;
    wid_journal        *j;

    memset(&o, 0, sizeof(o));
    o.checkpoint_every_records = 25;
    o.segment_max_bytes = seg_bytes;
    o.fsync = WID_FSYNC_NEVER;
    o.origin_prefix = "test.example/wid";
    assert_int_equal(wid_journal_open(dir, w, &sk, &o, 1000, &j, NULL),
                     WID_OK);
    append_receipts(j, n, NULL);
    assert_int_equal(wid_journal_close(j, 5000), WID_OK);
}

static int
count_cb(void *ctx, const wid_journal_rec *r)
{
    if (r->type == WID_REC_RECEIPT) {
        (*(unsigned *) ctx)++;
    }
    return 0;
}

/* The (last) recovery record of a log, decoded. */
static int
recovery_cb(void *ctx, const wid_journal_rec *r)
{
    if (r->type == WID_REC_RECOVERY) {
        assert_int_equal(wid_recovery_decode(r->data, r->len, ctx), WID_OK);
    }
    return 0;
}

/*
 * Appending after a receipt head gives the receipts, ids and log that
 * plain appends give (two logs of one writer name, side by side, through
 * a checkpoint and a segment rotation); a head made for another writer is
 * not used: the receipt is encoded whole from what it carries.
 */
static void
test_append_after_head(void **state)
{
    char              d1[64], d2[64];
    wid_journal      *j1, *j2;
    wid_journal_options o;
    wid_receipt       r, other;
    wid_receipt_head  h, foreign;
    char              id1[WID_RECEIPT_ID_SIZE], id2[WID_RECEIPT_ID_SIZE];
    uint8_t           leaf[WID_HASH_LEN];
    uint64_t          s1, s2;
    unsigned          i;

    (void) state;
    jt_tmpdir(d1, sizeof(d1));
    jt_tmpdir(d2, sizeof(d2));
    memset(&o, 0, sizeof(o));
    o.fsync = WID_FSYNC_NEVER;
    o.checkpoint_every_records = 16;
    o.segment_max_bytes = 8192;
    assert_int_equal(wid_journal_open(d1, "w1", &sk, &o, 5000, &j1, NULL),
                     WID_OK);
    assert_int_equal(wid_journal_open(d2, "w1", &sk, &o, 5000, &j2, NULL),
                     WID_OK);
    jt_receipt(&r, 1);
    assert_int_equal(wid_receipt_head_make(&r, "w2", &foreign), WID_OK);

    for (i = 0; i < 100; i++) {
        jt_receipt(&r, i);
        assert_int_equal(wid_journal_append(j1, &r, 5000 + i, id1, &s1),
                         WID_OK);
        if (i % 10 == 9) {
            assert_int_equal(wid_journal_append_after(j2, &foreign, &r,
                                                      5000 + i, leaf, &s2),
                             WID_OK);
        } else if (i % 10 == 4) {
            /* A head made under another policy is not this receipt's. */
            other = r;
            other.policy_hash.set = 1;
            other.policy_hash.h[0] ^= 0x5a;
            assert_int_equal(wid_journal_receipt_head(j2, &other, &h),
                             WID_OK);
            assert_int_equal(wid_journal_append_after(j2, &h, &r, 5000 + i,
                                                      leaf, &s2),
                             WID_OK);
        } else {
            assert_int_equal(wid_journal_receipt_head(j2, &r, &h), WID_OK);
            assert_int_equal(wid_journal_append_after(j2, &h, &r, 5000 + i,
                                                      leaf, &s2),
                             WID_OK);
        }
        wid_receipt_id_from_leaf(leaf, id2);
        assert_string_equal(id2, id1);
        assert_int_equal(s2, s1);
    }
    assert_int_equal(wid_journal_close(j1, 6000), WID_OK);
    assert_int_equal(wid_journal_close(j2, 6000), WID_OK);
    assert_int_equal(jt_verify(d1, &pk, 0, NULL, NULL, NULL), 0);
    assert_int_equal(jt_verify(d2, &pk, 0, NULL, NULL, NULL), 0);
    jt_rmrf(d1);
    jt_rmrf(d2);
}

static void
test_append_then_verify(void **state)
{
    char          dir[64];
    wid_journal  *j;
    wid_receipt   r;
    char          id[WID_RECEIPT_ID_SIZE], id2[WID_RECEIPT_ID_SIZE];
    uint64_t      seq;
    unsigned      n = 0;
    size_t        warn;
    wid_journal_options o;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    build(dir, "w1", NREC, 4096);
    assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, &warn), 0);
    assert_int_equal(warn, 0);
    assert_int_equal(wid_journal_scan(dir, NULL, count_cb, &n, NULL), WID_OK);
    assert_int_equal(n, NREC);

    /* Reopen: the same tree continues; seqs go on; ids are stable. */
    memset(&o, 0, sizeof(o));
    o.fsync = WID_FSYNC_NEVER;
    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 9000, &j, NULL),
                     WID_OK);
    jt_receipt(&r, 7);
    assert_int_equal(wid_journal_append(j, &r, 9001, id, &seq), WID_OK);
    assert_int_equal(seq, NREC);
    assert_int_equal(strncmp(id, "wr1-", 4), 0);
    assert_int_equal(strlen(id), WID_RECEIPT_ID_LEN);
    /* The same content at another seq is another receipt. */
    assert_int_equal(wid_journal_append(j, &r, 9002, id2, &seq), WID_OK);
    assert_string_not_equal(id, id2);
    assert_int_equal(wid_journal_close(j, 9003), WID_OK);
    assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, NULL), 0);

    /* A different key does not verify any checkpoint. */
    {
        wid_seckey sk2;
        wid_pubkey pk2;
        wid_reason_t first;

        jt_keypair(&sk2, &pk2);
        assert_true(jt_verify(dir, &pk2, 0, &first, NULL, NULL) > 0);
        assert_int_equal(first, WID_R_JOURNAL_CHECKPOINT_UNSIGNED);
    }
    jt_rmrf(dir);
}

/* Verify the segments of one writer from memory, each copy a fresh start
 * or resumed from a saved verifier state; returns the errors found.
 * Stops feeding once an error is found: more segments cannot undo it. */
static size_t
verify_from(const wid_journal_verifier *start, unsigned char **segs,
            const size_t *lens, unsigned nseg, unsigned from)
{
    wid_journal_verifier     *v = wid_journal_verifier_dup(start);
    wid_journal_verify_result res;
    unsigned                  k;

    assert_non_null(v);
    for (k = from; k < nseg && wid_journal_verifier_errors(v) == 0; k++) {
        wid_journal_verifier_segment(v, k + 1, segs[k], lens[k],
                                     k + 1 == nseg);
    }
    memset(&res, 0, sizeof(res));
    wid_journal_verifier_finish(v, &res);
    wid_journal_verifier_free(v);
    return res.errors;
}

/*
 * journald's idea: change every byte, one at a time; all are caught.
 * Every byte of every segment of a 100-record log is flipped and the log
 * verified from memory: verification resumes from the state saved before
 * the changed segment (the segments before it are unchanged), so the
 * whole sweep takes about a second instead of re-reading the directory
 * tens of thousands of times.  A sample of flips also goes through the
 * files and wid_journal_verify, the path the CLI takes.
 */
static void
test_flip_every_byte(void **state)
{
    char                  dir[64], path[256];
    unsigned char        *segs[64];
    size_t                lens[64], i, flips = 0, total = 0;
    unsigned              s, nseg, k;
    wid_journal_verifier *snap[64];

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    build(dir, "w1", NREC, 8192);
    for (nseg = 0; nseg < 64; nseg++) {
        jt_seg_path(path, sizeof(path), dir, "w1", nseg + 1);
        if (access(path, F_OK) != 0) {
            break;
        }
        segs[nseg] = jt_read(path, &lens[nseg]);
        total += lens[nseg];
    }
    assert_true(nseg > 2);          /* several segments are exercised */

    /* snap[s]: the verifier state before segment s + 1. */
    assert_int_equal(wid_journal_verifier_new("w1", &pk, 0, NULL, NULL,
                                              &snap[0]), WID_OK);
    for (s = 1; s < nseg; s++) {
        snap[s] = wid_journal_verifier_dup(snap[s - 1]);
        assert_non_null(snap[s]);
        wid_journal_verifier_segment(snap[s], s, segs[s - 1], lens[s - 1],
                                     0);
        assert_int_equal(wid_journal_verifier_errors(snap[s]), 0);
    }
    /* The untouched log verifies, from every saved state. */
    for (s = 0; s < nseg; s++) {
        assert_int_equal(verify_from(snap[s], segs, lens, nseg, s), 0);
    }

    for (s = 0; s < nseg; s++) {
        for (i = 0; i < lens[s]; i++) {
            segs[s][i] ^= 0x5a;
            if (verify_from(snap[s], segs, lens, nseg, s) == 0) {
                fail_msg("flip of byte %zu of segment %u not detected", i,
                         s + 1);
            }
            if (i % 97 == 0) {
                /* The same change on disk, through the directory. */
                jt_seg_path(path, sizeof(path), dir, "w1", s + 1);
                jt_poke(path, i, segs[s][i]);
                if (jt_verify(dir, &pk, 0, NULL, NULL, NULL) == 0) {
                    fail_msg("flip of byte %zu of segment %u not detected"
                             " on disk", i, s + 1);
                }
                jt_poke(path, i, segs[s][i] ^ 0x5a);
            }
            segs[s][i] ^= 0x5a;
            flips++;
        }
    }
    assert_int_equal(flips, total);
    assert_true(flips > NREC * 100);
    assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, NULL), 0);
    for (k = 0; k < nseg; k++) {
        wid_journal_verifier_free(snap[k]);
        free(segs[k]);
    }
    jt_rmrf(dir);
}

/* Rebuild segment 1 from its frames in another order. */
static void
rewrite(const char *path, const unsigned char *buf, size_t len,
        const uint64_t *offs, size_t nf, const int *order, size_t no)
{
    unsigned char *out = malloc(len * 2);
    size_t         k, o = 0, a, b;

    for (k = 0; k < no; k++) {
        a = offs[order[k]];
        b = (size_t) order[k] + 1 < nf ? offs[order[k] + 1] : len;
        memcpy(out + o, buf + a, b - a);
        o += b - a;
    }
    jt_write(path, out, o);
    free(out);
}

static void
test_delete_reorder_duplicate(void **state)
{
    char           dir[64], path[256];
    unsigned char *buf;
    size_t         len, nf, k;
    uint64_t       offs[256];
    uint8_t        types[256];
    int            order[300];
    wid_reason_t   first;
    const char    *kind;
    int            victim = 3, mode;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    build(dir, "w1", NREC, 1u << 20);
    jt_seg_path(path, sizeof(path), dir, "w1", 1);
    buf = jt_read(path, &len);
    nf = jt_frames(buf, len, offs, types, 256);
    assert_int_equal(types[victim], WID_REC_RECEIPT);
    assert_int_equal(types[victim + 1], WID_REC_RECEIPT);

    for (mode = 0; mode < 3; mode++) {
        size_t no = 0;

        for (k = 0; k < nf; k++) {
            if (mode == 0 && (int) k == victim) {
                continue;                           /* delete */
            }
            if (mode == 1 && (int) k == victim) {
                order[no++] = victim + 1;           /* swap two */
                order[no++] = victim;
                k++;
                continue;
            }
            order[no++] = (int) k;
            if (mode == 2 && (int) k == victim) {
                order[no++] = victim;               /* duplicate */
            }
        }
        rewrite(path, buf, len, offs, nf, order, no);
        assert_true(jt_verify(dir, &pk, 0, &first, &kind, NULL) > 0);
        assert_int_equal(first, WID_R_JOURNAL_SEQ);
        assert_string_equal(kind, "seq");
    }

    /* Cut bytes out of the middle of the segment. */
    {
        unsigned char *cut = malloc(len);
        size_t         a = len / 3, b = len / 2;

        memcpy(cut, buf, a);
        memcpy(cut + a, buf + b, len - b);
        jt_write(path, cut, len - (b - a));
        free(cut);
        assert_true(jt_verify(dir, &pk, 0, &first, NULL, NULL) > 0);
    }
    /* Cut exactly whole records out of the middle: seq catches it. */
    {
        size_t no = 0;

        for (k = 0; k < nf; k++) {
            if (k < 10 || k > 20) {
                order[no++] = (int) k;
            }
        }
        rewrite(path, buf, len, offs, nf, order, no);
        assert_true(jt_verify(dir, &pk, 0, &first, NULL, NULL) > 0);
        assert_int_equal(first, WID_R_JOURNAL_SEQ);
    }
    jt_write(path, buf, len);
    assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, NULL), 0);
    free(buf);
    jt_rmrf(dir);
}

static void
test_swap_segments_between_writers(void **state)
{
    char         dir[64], a[256], b[256], t[256];
    wid_reason_t first;
    const char  *kind;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    build(dir, "w1", NREC, 4096);
    build(dir, "w2", NREC, 4096);
    assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, NULL), 0);
    jt_seg_path(a, sizeof(a), dir, "w1", 2);
    jt_seg_path(b, sizeof(b), dir, "w2", 2);
    snprintf(t, sizeof(t), "%s/tmp", dir);
    assert_int_equal(rename(a, t), 0);
    assert_int_equal(rename(b, a), 0);
    assert_int_equal(rename(t, b), 0);
    assert_int_equal(jt_verify(dir, &pk, 0, &first, &kind, NULL), 2);
    assert_int_equal(first, WID_R_JOURNAL_SEGMENT_HEADER);
    jt_rmrf(dir);
}

static void
test_replayed_checkpoint(void **state)
{
    char           dir[64], path[256];
    unsigned char *buf, *out;
    size_t         len, nf, k, cp1 = 0, last_cp = 0, e1, i;
    uint64_t       offs[256];
    uint8_t        types[256];
    wid_reason_t   first;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    build(dir, "w1", NREC, 1u << 20);
    jt_seg_path(path, sizeof(path), dir, "w1", 1);
    buf = jt_read(path, &len);
    nf = jt_frames(buf, len, offs, types, 256);
    for (k = 0; k < nf; k++) {
        /* Frame 1 is the empty tree's checkpoint, signed at open. */
        if (types[k] == WID_REC_CHECKPOINT && k > 1) {
            if (cp1 == 0) {
                cp1 = k;
            }
            last_cp = k;
        }
    }
    assert_true(cp1 > 0 && last_cp > cp1 && last_cp == nf - 1);
    e1 = offs[cp1 + 1] - offs[cp1];

    /* An old checkpoint appended as the newest. */
    out = malloc(len + e1);
    memcpy(out, buf, len);
    memcpy(out + len, buf + offs[cp1], e1);
    jt_write(path, out, len + e1);
    assert_true(jt_verify(dir, &pk, 0, &first, NULL, NULL) > 0);
    assert_int_equal(first, WID_R_JOURNAL_CHECKPOINT_ROLLBACK);

    /* The newest checkpoint replaced by an older one. */
    memcpy(out, buf, offs[last_cp]);
    memcpy(out + offs[last_cp], buf + offs[cp1], e1);
    jt_write(path, out, offs[last_cp] + e1);
    assert_true(jt_verify(dir, &pk, 0, &first, NULL, NULL) > 0);
    assert_int_equal(first, WID_R_JOURNAL_CHECKPOINT_ROLLBACK);

    /* A checkpoint moved before the records it covers. */
    i = 0;
    memcpy(out + i, buf, offs[cp1 - 1]);
    i += offs[cp1 - 1];
    memcpy(out + i, buf + offs[cp1], e1);
    i += e1;
    memcpy(out + i, buf + offs[cp1 - 1], offs[cp1] - offs[cp1 - 1]);
    i += offs[cp1] - offs[cp1 - 1];
    memcpy(out + i, buf + offs[cp1 + 1], len - offs[cp1 + 1]);
    i += len - offs[cp1 + 1];
    jt_write(path, out, i);
    assert_true(jt_verify(dir, &pk, 0, &first, NULL, NULL) > 0);
    assert_int_equal(first, WID_R_JOURNAL_CHECKPOINT_ROOT);

    free(out);
    free(buf);
    jt_rmrf(dir);
}

static void
test_torn_tail_is_cut_at_recovery(void **state)
{
    char                 dir[64], path[256];
    unsigned char       *buf, *out;
    size_t               len, nf, len2;
    uint64_t             offs[256];
    uint8_t              types[256];
    wid_journal         *j;
    wid_journal_recovery rec;
    wid_journal_options  o;
    wid_reason_t         first;
    const char          *kind;
    unsigned             n = 0;
    wid_recovery_record  rr;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    build(dir, "w1", 10, 1u << 20);
    jt_seg_path(path, sizeof(path), dir, "w1", 1);
    buf = jt_read(path, &len);
    nf = jt_frames(buf, len, offs, types, 256);
    /* Half of a copy of record 2 at the end: a write cut by a crash. */
    len2 = (offs[3] - offs[2]) / 2;
    out = malloc(len + len2);
    memcpy(out, buf, len);
    memcpy(out + len, buf + offs[2], len2);
    jt_write(path, out, len + len2);
    assert_int_equal(jt_verify(dir, &pk, 0, &first, &kind, NULL), 1);
    assert_int_equal(first, WID_R_JOURNAL_TORN_TAIL);
    assert_string_equal(kind, "torn");

    memset(&o, 0, sizeof(o));
    o.fsync = WID_FSYNC_ALWAYS;
    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 1, &j, &rec),
                     WID_OK);
    assert_true(rec.existed);
    assert_true(rec.torn_tail);
    assert_false(rec.gap);
    assert_int_equal(rec.torn_segment, 1);
    assert_int_equal(rec.torn_offset, len);
    assert_int_equal(rec.torn_bytes, len2);
    assert_int_equal(rec.records, 10);
    assert_int_equal(rec.signed_size, 10);
    assert_int_equal(rec.adopted, 0);
    /* Seq 10 is the recovery record that says what was cut. */
    assert_int_equal(rec.next_seq, 11);
    assert_int_equal(wid_journal_close(j, 2), WID_OK);
    free(out);
    out = jt_read(path, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(out, buf, len);
    assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, NULL), 0);
    assert_int_equal(wid_journal_scan(dir, NULL, count_cb, &n, NULL), WID_OK);
    assert_int_equal(n, 10);
    memset(&rr, 0, sizeof(rr));
    assert_int_equal(wid_journal_scan(dir, NULL, recovery_cb, &rr, NULL),
                     WID_OK);
    assert_int_equal(rr.seq, 10);
    assert_int_equal(rr.signed_size, 10);
    assert_int_equal(rr.adopted, 0);
    assert_int_equal(rr.torn_segment, 1);
    assert_int_equal(rr.torn_offset, len);
    assert_int_equal(rr.torn_bytes, (offs[3] - offs[2]) / 2);
    (void) nf;
    free(out);
    free(buf);
    jt_rmrf(dir);
}

static void
test_damage_is_never_written_over(void **state)
{
    char                 dir[64], path[256], path2[256];
    unsigned char       *buf, *after;
    size_t               len, len2, nf;
    uint64_t             offs[256];
    uint8_t              types[256];
    wid_journal         *j;
    wid_journal_recovery rec;
    wid_journal_options  o;
    wid_receipt          r;
    wid_reason_t         first;
    const char          *kind;
    size_t               warn;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    build(dir, "w1", 30, 1u << 20);
    jt_seg_path(path, sizeof(path), dir, "w1", 1);
    buf = jt_read(path, &len);
    nf = jt_frames(buf, len, offs, types, 256);
    buf[offs[5] + 20] ^= 0x01;            /* bit rot inside record 5 */
    jt_write(path, buf, len);

    memset(&o, 0, sizeof(o));
    o.fsync = WID_FSYNC_NEVER;
    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 1, &j, &rec),
                     WID_OK);
    assert_true(rec.gap);
    assert_false(rec.torn_tail);
    assert_int_equal(rec.gap_segment, 1);
    assert_int_equal(rec.gap_offset, offs[5]);
    assert_int_equal(rec.gap_reason, WID_R_JOURNAL_FRAME_CRC);
    assert_int_equal(rec.epoch, 1);
    /* Seqs are never reused: the new epoch starts after all 30, +1 gap. */
    assert_int_equal(rec.next_seq, 31);
    jt_receipt(&r, 1);
    assert_int_equal(wid_journal_append(j, &r, 2, NULL, NULL), WID_OK);
    assert_int_equal(wid_journal_close(j, 3), WID_OK);

    after = jt_read(path, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(after, buf, len);       /* untouched */
    free(after);
    jt_seg_path(path2, sizeof(path2), dir, "w1", 2);
    assert_int_equal(access(path2, F_OK), 0);   /* a new segment */

    /* verify names the damage and the recorded gap. */
    assert_int_equal(jt_verify(dir, &pk, 0, &first, &kind, NULL), 2);
    assert_int_equal(first, WID_R_JOURNAL_FRAME_CRC);
    assert_string_equal(kind, "crc");
    assert_int_equal(jt_verify(dir, &pk, 1, &first, &kind, &warn), 1);
    assert_int_equal(warn, 1);
    (void) nf;
    free(buf);
    jt_rmrf(dir);
}

static void
test_open_refusals(void **state)
{
    char                dir[64];
    wid_journal        *j, *j2;
    wid_journal_options o;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    memset(&o, 0, sizeof(o));
    o.fsync = WID_FSYNC_NEVER;
    assert_int_equal(wid_journal_open(dir, "../x", &sk, &o, 1, &j, NULL),
                     WID_R_JOURNAL_WRITER_NAME);
    assert_int_equal(wid_journal_open(dir, "", &sk, &o, 1, &j, NULL),
                     WID_R_JOURNAL_WRITER_NAME);
    assert_int_equal(wid_journal_open(dir, ".hidden", &sk, &o, 1, &j, NULL),
                     WID_R_JOURNAL_WRITER_NAME);
    /* The receipt key must not be the SSH CA key. */
    o.refuse_keys = &pk;
    o.nrefuse_keys = 1;
    assert_int_equal(wid_journal_open(dir, "w", &sk, &o, 1, &j, NULL),
                     WID_R_JOURNAL_KEY_REFUSED);
    o.nrefuse_keys = 0;
    /* One process per writer name. */
    assert_int_equal(wid_journal_open(dir, "w", &sk, &o, 1, &j, NULL),
                     WID_OK);
    assert_int_equal(wid_journal_open(dir, "w", &sk, &o, 1, &j2, NULL),
                     WID_R_JOURNAL_WRITER_BUSY);
    assert_int_equal(wid_journal_close(j, 2), WID_OK);
    assert_int_equal(wid_journal_open(dir, "w", &sk, &o, 3, &j2, NULL),
                     WID_OK);
    assert_int_equal(wid_journal_close(j2, 4), WID_OK);
    jt_rmrf(dir);
}

/* Checkpoints by time, fsync off the owner thread, rotation by size. */
/* A writer as nginx runs it: buffered (fsync interval), synced by the
 * caller through wid_journal_sync_*; tests adjust the rest. */
static void
buffered_options(wid_journal_options *o)
{
    memset(o, 0, sizeof(*o));
    o->fsync = WID_FSYNC_INTERVAL;
    o->external_sync = 1;
}

static void
test_tick_sync_and_rotation(void **state)
{
    char                 dir[64], path[256];
    wid_journal         *j;
    wid_journal_options  o;
    wid_journal_sync_job job;
    wid_receipt          r;
    size_t               warn;
    wid_reason_t         first;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    buffered_options(&o);
    o.checkpoint_every_records = 1000000;
    o.checkpoint_every_ms = 100;
    o.segment_max_bytes = 4096;
    o.fsync_interval_ms = 50;
    assert_int_equal(wid_journal_open(dir, "w", &sk, &o, 1000, &j, NULL),
                     WID_OK);
    append_receipts(j, 40, NULL);
    /* Before T ms nothing is signed: verify warns of the unsigned tail. */
    assert_int_equal(wid_journal_tick(j, 1050), WID_OK);
    assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, &warn), 0);
    assert_int_equal(warn, 1);
    assert_int_equal(wid_journal_tick(j, 1200), WID_OK);
    assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, &warn), 0);
    assert_int_equal(warn, 0);
    assert_true(wid_journal_sync_due(j, 1200));
    wid_journal_sync_begin(j, 1200, &job);
    assert_true(job.nfds >= 2);       /* rotated segments + current */
    wid_journal_sync_run(&job);       /* may run on any thread */
    assert_int_equal(wid_journal_sync_end(j, &job), WID_OK);
    assert_false(wid_journal_sync_due(j, 1201));
    /* A failed fsync is never retried: a new segment is started. */
    wid_journal_sync_begin(j, 1300, &job);
    job.failed = 1;
    wid_journal_sync_run(&job);
    assert_int_equal(wid_journal_sync_end(j, &job),
                     WID_R_JOURNAL_FSYNC_FAILED);
    jt_receipt(&r, 99);
    assert_int_equal(wid_journal_append(j, &r, 1400, NULL, NULL), WID_OK);
    assert_int_equal(wid_journal_close(j, 1500), WID_OK);
    jt_seg_path(path, sizeof(path), dir, "w", 3);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(jt_verify(dir, &pk, 0, &first, NULL, &warn), 0);
    assert_int_equal(warn, 0);
    jt_rmrf(dir);
}

/* Every receipt of dir/w can be proved (so it is there), or not. */
static int
all_provable(const char *dir, char (*ids)[WID_RECEIPT_ID_SIZE], size_t n)
{
    json_t *proof;
    size_t  i;

    for (i = 0; i < n; i++) {
        if (wid_journal_prove(dir, ids[i], &proof) != WID_OK) {
            return 0;
        }
        json_decref(proof);
    }
    return 1;
}

/*
 * Resource limits standing in for a full disk without a mount: writes
 * past max bytes fail (EFBIG, SIGXFSZ ignored) / no new file descriptor
 * can be made.  Each returns the limit to put back with setrlimit.
 */
static struct rlimit
limit_file_size(rlim_t max)
{
    struct rlimit lim, saved;

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &saved), 0);
    signal(SIGXFSZ, SIG_IGN);
    lim = saved;
    lim.rlim_cur = max;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    return saved;
}

static struct rlimit
limit_descriptors_to_open_ones(void)
{
    struct rlimit lim, saved;
    int           lowest_free;

    /* The lowest free descriptor number as the limit: no new one. */
    lowest_free = dup(0);
    assert_true(lowest_free >= 0);
    close(lowest_free);
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &saved), 0);
    lim = saved;
    lim.rlim_cur = (rlim_t) lowest_free;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &lim), 0);
    return saved;
}

/* Whole pages of segment seg (writer w in dir) held in the page cache. */
static size_t
cached_pages(const char *dir, uint64_t seg)
{
    char           path[256];
    struct stat    st;
    unsigned char *vec;
    size_t         page = (size_t) sysconf(_SC_PAGESIZE), n, i, in = 0;
    void          *map;
    int            fd;

    jt_seg_path(path, sizeof(path), dir, "w", seg);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    n = (size_t) st.st_size / page;          /* whole pages only */
    if (n == 0) {
        close(fd);
        return 0;
    }
    map = mmap(NULL, n * page, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(map != MAP_FAILED);
    vec = malloc(n);
    assert_non_null(vec);
    assert_int_equal(mincore(map, n * page, vec), 0);
    for (i = 0; i < n; i++) {
        in += vec[i] & 1;
    }
    free(vec);
    munmap(map, n * page);
    close(fd);
    return in;
}

/*
 * What a sync has made durable leaves the page cache: rotated segments
 * whole, the current one up to what was written (journal.h says why).
 */
static void
test_sync_drops_synced_pages(void **state)
{
    char                 dir[64], path[256];
    struct statfs        fs;
    wid_journal         *j;
    wid_journal_options  o;
    wid_journal_sync_job job;
    uint64_t             seg, nseg;
    size_t               before = 0;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    assert_int_equal(statfs(dir, &fs), 0);
    if (fs.f_type == TMPFS_MAGIC) {         /* nothing to drop */
        jt_rmrf(dir);
        skip();
    }
    buffered_options(&o);
    o.checkpoint_every_records = 1000000;
    o.segment_max_bytes = 32 * 1024;
    assert_int_equal(wid_journal_open(dir, "w", &sk, &o, 1000, &j, NULL),
                     WID_OK);
    append_receipts(j, 400, NULL);
    assert_int_equal(wid_journal_checkpoint(j, 2000), WID_OK);
    for (nseg = 0; ; nseg++) {
        jt_seg_path(path, sizeof(path), dir, "w", nseg + 1);
        if (access(path, F_OK) != 0) {
            break;
        }
        before += cached_pages(dir, nseg + 1);
    }
    assert_true(nseg >= 3);                 /* rotated ones and current */
    assert_true(before > 0);                /* written, not yet dropped */

    wid_journal_sync_begin(j, 2000, &job);
    wid_journal_sync_run(&job);
    assert_int_equal(wid_journal_sync_end(j, &job), WID_OK);
    /*
     * Under valgrind this runs for memcheck only: valgrind reads the
     * start of a file mapped (looking for debug information), and the
     * kernel's readahead brings back the pages the check looks at.
     */
    for (seg = 1; seg <= nseg && !RUNNING_ON_VALGRIND; seg++) {
        assert_int_equal(cached_pages(dir, seg), 0);
    }

    /* Appends go on in the current segment, read back from the disk. */
    append_receipts(j, 20, NULL);
    assert_int_equal(wid_journal_close(j, 4000), WID_OK);
    assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, NULL), 0);
    jt_rmrf(dir);
}


/*
 * A full disk (here: RLIMIT_FSIZE, which fails write(2) the same way
 * without a mount) must not lose receipts whose appends succeeded: they
 * stay buffered, appends are refused meanwhile, and the first tick after
 * space returns writes them.  Before, the buffer was thrown away and the
 * journal closed for good.
 */
static void
test_full_disk_keeps_acknowledged_receipts(void **state)
{
    char                 dir[64], path[256];
    char                 ids[41][WID_RECEIPT_ID_SIZE];
    wid_journal         *j;
    wid_journal_options  o;
    wid_receipt          r;
    struct rlimit        saved;
    struct stat          st;
    size_t               warn;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    buffered_options(&o);
    o.checkpoint_every_records = 1000000;
    o.checkpoint_every_ms = 1000000;
    assert_int_equal(wid_journal_open(dir, "w", &sk, &o, 1000, &j, NULL),
                     WID_OK);
    append_receipts(j, 40, ids);

    /* The disk fills: room for a few hundred bytes more. */
    jt_seg_path(path, sizeof(path), dir, "w", 1);
    assert_int_equal(stat(path, &st), 0);
    saved = limit_file_size((rlim_t) st.st_size + 300);
    assert_int_equal(wid_journal_tick(j, 2000), WID_R_INTERNAL_IO);
    jt_receipt(&r, 40);
    assert_int_equal(wid_journal_append(j, &r, 2001, NULL, NULL),
                     WID_R_INTERNAL_IO);
    assert_int_equal(wid_journal_tick(j, 2002), WID_R_INTERNAL_IO);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, &warn), 0);

    /* Space again: the next tick writes what was acknowledged. */
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    assert_int_equal(wid_journal_tick(j, 3000), WID_OK);
    assert_int_equal(wid_journal_append(j, &r, 3001, ids[40], NULL), WID_OK);
    assert_int_equal(wid_journal_close(j, 4000), WID_OK);
    assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, &warn), 0);
    assert_int_equal(warn, 0);
    assert_true(all_provable(dir, ids, 41));
    jt_rmrf(dir);
}

/* A segment removed under the writer stops it (fail closed). */
static void
test_removed_segment_stops_the_writer(void **state)
{
    char                 dir[64], path[256];
    wid_journal         *j;
    wid_journal_options  o;
    wid_receipt          r;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    buffered_options(&o);
    assert_int_equal(wid_journal_open(dir, "w", &sk, &o, 1000, &j, NULL),
                     WID_OK);
    jt_receipt(&r, 1);
    assert_int_equal(wid_journal_append(j, &r, 1001, NULL, NULL), WID_OK);
    assert_int_equal(wid_journal_tick(j, 1002), WID_OK);
    jt_seg_path(path, sizeof(path), dir, "w", 1);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(wid_journal_tick(j, 1003),
                     WID_R_JOURNAL_SEGMENT_REMOVED);
    assert_int_equal(wid_journal_append(j, &r, 1004, NULL, NULL),
                     WID_R_JOURNAL_CLOSED);
    (void) wid_journal_close(j, 1005);
    jt_rmrf(dir);
}


/* Receipt frames in the segments of dir/w. */
static size_t
receipts_in(const char *dir)
{
    char           path[256];
    unsigned char *buf;
    uint64_t       offs[4096];
    uint8_t        types[4096];
    size_t         len, i, n, count = 0;
    unsigned       s;

    for (s = 1; ; s++) {
        jt_seg_path(path, sizeof(path), dir, "w", s);
        if (access(path, F_OK) != 0) {
            break;
        }
        buf = jt_read(path, &len);
        n = jt_frames(buf, len, offs, types, 4096);
        for (i = 0; i < n; i++) {
            count += types[i] == 2;         /* a receipt frame */
        }
        free(buf);
    }
    return count;
}

/*
 * A rotation that cannot create the next segment (here: no file
 * descriptor left) uses up no segment number and buffers nothing ahead
 * of a header: appends are refused until a tick creates the segment.
 * Before, every append bumped the number again and the header landed
 * after receipts, in a segment with a hole before it.
 */
static void
test_failed_rotation_is_retried(void **state)
{
    char                 dir[64];
    char                 ids[200][WID_RECEIPT_ID_SIZE];
    wid_journal         *j;
    wid_journal_options  o;
    wid_receipt          r;
    struct rlimit        saved;
    unsigned             i, n = 0;
    size_t               warn;
    wid_reason_t         rc = WID_OK;

    (void) state;
    if (RUNNING_ON_VALGRIND) {
        /*
         * valgrind applies the descriptor limit after the kernel's open:
         * the next segment is created, then its descriptor refused, so
         * the retry finds it taken.  The kernel refuses before creating.
         */
        skip();
    }
    jt_tmpdir(dir, sizeof(dir));
    buffered_options(&o);
    o.segment_max_bytes = 4096;
    assert_int_equal(wid_journal_open(dir, "w", &sk, &o, 1000, &j, NULL),
                     WID_OK);
    saved = limit_descriptors_to_open_ones();
    for (i = 0; i < 200 && rc == WID_OK; i++) {
        jt_receipt(&r, i);
        rc = wid_journal_append(j, &r, 1000 + i, ids[n], NULL);
        n += rc == WID_OK;
    }
    /*
     * The append that filled the segment succeeded (its record is in;
     * the rotation after it could not be made): the next is refused.
     */
    assert_int_equal(rc, WID_R_INTERNAL_IO);
    assert_true(n >= 1);
    assert_int_equal(wid_journal_append(j, &r, 1300, NULL, NULL),
                     WID_R_INTERNAL_IO);
    assert_int_equal(wid_journal_tick(j, 1301), WID_R_INTERNAL_IO);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
    assert_int_equal(wid_journal_tick(j, 1302), WID_OK);
    jt_receipt(&r, 500);
    assert_int_equal(wid_journal_append(j, &r, 1303, ids[n], NULL), WID_OK);
    n++;
    assert_int_equal(wid_journal_close(j, 1400), WID_OK);
    /* No hole in the numbering (verify finds any), every receipt in. */
    assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, &warn), 0);
    assert_int_equal(warn, 0);
    assert_true(all_provable(dir, ids, n));
    /* Exactly the appends reported done are in: none said failed is. */
    assert_int_equal(receipts_in(dir), n);
    jt_rmrf(dir);
}

/*
 * An open that cannot write its first segment (a full disk) removes it:
 * nginx retries the open every second, and each attempt used to leave
 * an empty segment file behind and use up its number.
 */
static void
test_failed_open_leaves_no_segment(void **state)
{
    char                 dir[64], path[256];
    wid_journal         *j = NULL;
    wid_journal_options  o;
    struct rlimit        saved;
    int                  k;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    memset(&o, 0, sizeof(o));
    o.fsync = WID_FSYNC_INTERVAL;
    saved = limit_file_size(0);
    for (k = 0; k < 3; k++) {
        assert_int_not_equal(wid_journal_open(dir, "w", &sk, &o, 1000 + k,
                                              &j, NULL), WID_OK);
    }
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &saved), 0);
    jt_seg_path(path, sizeof(path), dir, "w", 1);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(wid_journal_open(dir, "w", &sk, &o, 2000, &j, NULL),
                     WID_OK);
    assert_int_equal(wid_journal_close(j, 2001), WID_OK);
    assert_int_equal(access(path, F_OK), 0);        /* the first: seg 1 */
    jt_seg_path(path, sizeof(path), dir, "w", 2);
    assert_int_equal(access(path, F_OK), -1);
    jt_rmrf(dir);
}

/*
 * No descriptor left to sync through (EMFILE at dup) is not an fsync
 * failure: the segment is kept and synced at a later turn.  Before, it
 * counted as one: the segment was abandoned (journal.fsync_failed) and
 * the serve daemon, which stops on journal failures, stopped.
 */
static void
test_sync_without_descriptors_is_retried(void **state)
{
    char                 dir[64], path[256];
    wid_journal         *j;
    wid_journal_options  o;
    wid_journal_sync_job job;
    wid_receipt          r;
    struct rlimit        saved;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    buffered_options(&o);
    o.fsync_interval_ms = 50;
    assert_int_equal(wid_journal_open(dir, "w", &sk, &o, 1000, &j, NULL),
                     WID_OK);
    jt_receipt(&r, 1);
    assert_int_equal(wid_journal_append(j, &r, 1001, NULL, NULL), WID_OK);

    saved = limit_descriptors_to_open_ones();
    wid_journal_sync_begin(j, 1100, &job);
    wid_journal_sync_run(&job);
    assert_int_equal(wid_journal_sync_end(j, &job), WID_R_INTERNAL_IO);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);

    /* Still due, and this time synced; no segment was abandoned. */
    assert_true(wid_journal_sync_due(j, 1200));
    wid_journal_sync_begin(j, 1200, &job);
    wid_journal_sync_run(&job);
    assert_int_equal(wid_journal_sync_end(j, &job), WID_OK);
    assert_int_equal(wid_journal_append(j, &r, 1201, NULL, NULL), WID_OK);
    assert_int_equal(wid_journal_close(j, 1300), WID_OK);
    jt_seg_path(path, sizeof(path), dir, "w", 2);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, NULL), 0);
    jt_rmrf(dir);
}

static void
test_prove_and_verify_receipt(void **state)
{
    char             dir[64];
    wid_journal     *j;
    wid_journal_options o;
    wid_receipt      r;
    char             ids[20][WID_RECEIPT_ID_SIZE];
    json_t          *proof;
    uint8_t         *bytes;
    wid_receipt_view v;
    wid_checkpoint   cp;
    unsigned         i;
    wid_seckey       sk2;
    wid_pubkey       pk2;
    char            *s;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    memset(&o, 0, sizeof(o));
    o.fsync = WID_FSYNC_NEVER;
    o.checkpoint_every_records = 7;
    assert_int_equal(wid_journal_open(dir, "w", &sk, &o, 1, &j, NULL),
                     WID_OK);
    for (i = 0; i < 20; i++) {
        jt_receipt(&r, i);
        assert_int_equal(wid_journal_append(j, &r, 2, ids[i], NULL), WID_OK);
    }
    /* Flushed (tick) but not yet covered by a checkpoint: no proof. */
    assert_int_equal(wid_journal_tick(j, 3), WID_OK);
    assert_int_equal(wid_journal_prove(dir, ids[19], &proof),
                     WID_R_JOURNAL_NOT_COVERED);
    assert_int_equal(wid_journal_close(j, 3), WID_OK);
    assert_int_equal(wid_journal_prove(dir, "wr1-00000000000000000000000000000000",
                                       &proof), WID_R_JOURNAL_NOT_FOUND);
    jt_keypair(&sk2, &pk2);
    for (i = 0; i < 20; i++) {
        assert_int_equal(wid_journal_prove(dir, ids[i], &proof), WID_OK);
        assert_int_equal(wid_receipt_proof_verify(proof, &pk, &bytes, &v,
                                                  &cp), WID_OK);
        assert_int_equal(v.seq, i);
        assert_int_equal(cp.size, 20);
        free(bytes);
        assert_int_not_equal(wid_receipt_proof_verify(proof, &pk2, &bytes,
                                                      &v, &cp), WID_OK);
        /* Another receipt's bytes under this id: refused. */
        json_object_set_new(proof, "leaf_index",
                            json_integer((json_int_t) ((i + 1) % 20)));
        assert_int_equal(wid_receipt_proof_verify(proof, &pk, &bytes, &v,
                                                  &cp),
                         WID_R_RECEIPT_NOT_INCLUDED);
        json_object_set_new(proof, "leaf_index", json_integer(i));
        s = strdup(json_string_value(json_object_get(proof, "receipt")));
        s[10] = s[10] == 'A' ? 'B' : 'A';
        json_object_set_new(proof, "receipt", json_string(s));
        free(s);
        assert_int_not_equal(wid_receipt_proof_verify(proof, &pk, &bytes,
                                                      &v, &cp), WID_OK);
        json_decref(proof);
    }
    jt_rmrf(dir);
}

/*
 * Telling a torn write from damage scans the rest of the segment for a
 * valid frame.  Bytes crafted so that every ninth offset claims a 128 KiB
 * frame would make that scan checksum gigabytes; the scan gives up after
 * its budget and answers "a frame may follow", so the bytes count as
 * damage (left in place), never as a torn tail to cut.
 */
static void
test_torn_scan_is_bounded(void **state)
{
    size_t         n = 4u << 20, o;
    unsigned char *b = calloc(1, n);
    uint8_t        frame[WID_FRAME_HDR + 4];

    (void) state;
    assert_non_null(b);
    for (o = 0; o + 9 <= n; o += 9) {
        b[o + 5] = 0x01;                /* len 0x0001fff0 */
        b[o + 6] = 0xff;
        b[o + 7] = 0xf0;
        b[o + 8] = WID_REC_RECEIPT;
    }
    assert_int_equal(wid_frame_any_after(b, n, 1), 1);
    assert_false(wid_frame_torn(b, n, 0, WID_R_JOURNAL_TORN_TAIL));
    /* Within the budget the answer is exact. */
    assert_int_equal(wid_frame_any_after(b, 64 * 1024, 1), 0);
    memcpy(frame + WID_FRAME_HDR, "abcd", 4);
    wid_frame_seal(frame, WID_REC_RECEIPT, 4);
    memcpy(b + 1000, frame, sizeof(frame));
    assert_int_equal(wid_frame_any_after(b, 64 * 1024, 1), 1);
    free(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_then_verify),
        cmocka_unit_test(test_append_after_head),
        cmocka_unit_test(test_flip_every_byte),
        cmocka_unit_test(test_delete_reorder_duplicate),
        cmocka_unit_test(test_swap_segments_between_writers),
        cmocka_unit_test(test_replayed_checkpoint),
        cmocka_unit_test(test_torn_tail_is_cut_at_recovery),
        cmocka_unit_test(test_damage_is_never_written_over),
        cmocka_unit_test(test_open_refusals),
        cmocka_unit_test(test_tick_sync_and_rotation),
        cmocka_unit_test(test_sync_drops_synced_pages),
        cmocka_unit_test(test_full_disk_keeps_acknowledged_receipts),
        cmocka_unit_test(test_removed_segment_stops_the_writer),
        cmocka_unit_test(test_failed_rotation_is_retried),
        cmocka_unit_test(test_failed_open_leaves_no_segment),
        cmocka_unit_test(test_sync_without_descriptors_is_retried),
        cmocka_unit_test(test_prove_and_verify_receipt),
        cmocka_unit_test(test_torn_scan_is_bounded),
    };
    return cmocka_run_group_tests_name("journal", tests, setup, NULL);
}
