/*
 * Recovery of logs that already went through damage, and of tails that
 * crashes and power losses leave:
 *
 *  - a gap epoch is a fresh start: later opens replay it, do not record
 *    the old damage again, adopt its crash tails and cut its torn tails;
 *  - the search for frames after damage is bounded (garbage that looks
 *    like frame headers everywhere used to cost 128 KiB of CRC a byte);
 *  - a last frame zero-filled from inside it to the end of the file is
 *    a torn write; zeros after a damaged whole frame are not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "journal_format.h"
#include "journal_testutil.h"

static wid_seckey sk;
static wid_pubkey pk;

static int
setup(void **state)
{
    (void) state;
    jt_keypair(&sk, &pk);
    return 0;
}


static wid_journal_options
opts(uint64_t every, wid_fsync_mode fsync)
{
    wid_journal_options o;

    memset(&o, 0, sizeof(o));
    o.checkpoint_every_records = every;
    o.fsync = fsync;
    o.origin_prefix = "host.test";
    return o;
}

/* Append n receipts (numbered from first) to an open journal. */
static void
append_n(wid_journal *j, unsigned first, unsigned n)
{
    wid_receipt r;
    unsigned    i;

    for (i = first; i < first + n; i++) {
        jt_receipt(&r, i);
        assert_int_equal(wid_journal_append(j, &r, 1000, NULL, NULL), WID_OK);
    }
}

/* A closed log of 30 receipts (signed every 25) in segment 1. */
static void
build(const char *dir)
{
    wid_journal_options o = opts(25, WID_FSYNC_NEVER);
    wid_journal        *j;

    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 1000, &j, NULL),
                     WID_OK);
    append_n(j, 0, 30);
    assert_int_equal(wid_journal_close(j, 2000), WID_OK);
}

/* Frame offsets of segment n (buffer returned, caller frees). */
static unsigned char *
frames_of(const char *dir, unsigned n, size_t *len, uint64_t *offs,
          uint8_t *types, size_t *nf)
{
    char           path[256];
    unsigned char *b;

    jt_seg_path(path, sizeof(path), dir, "w1", n);
    b = jt_read(path, len);
    assert_non_null(b);
    *nf = jt_frames(b, *len, offs, types, 512);
    return b;
}

/*
 * The log of build() with a bit flipped in receipt 5 (frame 7: header,
 * checkpoint of the empty tree, receipts 0..), reopened once: epoch 1
 * starts at seq 30 with the gap record, and is signed.
 */
static void
damage_and_gap(const char *dir)
{
    char                 path[256];
    unsigned char       *b;
    size_t               len, nf;
    uint64_t             offs[512];
    uint8_t              types[512];
    wid_journal         *j;
    wid_journal_recovery rec;
    wid_journal_options  o = opts(25, WID_FSYNC_NEVER);

    build(dir);
    b = frames_of(dir, 1, &len, offs, types, &nf);
    assert_int_equal(types[7], WID_REC_RECEIPT);
    jt_seg_path(path, sizeof(path), dir, "w1", 1);
    jt_poke(path, offs[7] + 20, b[offs[7] + 20] ^ 0x01);
    free(b);

    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 3000, &j, &rec),
                     WID_OK);
    assert_true(rec.gap);
    assert_int_equal(rec.gap_segment, 1);
    assert_int_equal(rec.gap_reason, WID_R_JOURNAL_FRAME_CRC);
    assert_int_equal(rec.epoch, 1);
    assert_int_equal(rec.next_seq, 31);
    assert_int_equal(wid_journal_close(j, 3001), WID_OK);
}

/*
 * Crash (kill -9 as far as the files go) a writer of dir after n appends
 * with fsync=always, signing every `every` leaves: the child exits
 * without closing.
 */
static void
crash_writer(const char *dir, unsigned first, unsigned n, uint64_t every)
{
    pid_t pid;
    int   st;

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        wid_journal_options o = opts(every, WID_FSYNC_ALWAYS);
        wid_journal        *j;
        wid_receipt         r;
        unsigned            i;

        if (wid_journal_open(dir, "w1", &sk, &o, 4000, &j, NULL) != WID_OK) {
            _exit(1);
        }
        for (i = first; i < first + n; i++) {
            jt_receipt(&r, i);
            if (wid_journal_append(j, &r, 4000, NULL, NULL) != WID_OK) {
                _exit(1);
            }
        }
        _exit(0);
    }
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* The highest numbered segment of w1. */
static unsigned
last_seg(const char *dir)
{
    char     path[256];
    unsigned n = 1;

    for (;;) {
        jt_seg_path(path, sizeof(path), dir, "w1", n + 1);
        if (access(path, F_OK) != 0) {
            return n;
        }
        n++;
    }
}

/* Finding: after any damage, every reopen recorded another gap, whose
 * "not recovered" seqs took in the signed records of the gap epoch. */
static void
test_gap_epoch_is_replayed(void **state)
{
    char                 dir[64];
    wid_journal         *j;
    wid_journal_recovery rec;
    wid_journal_options  o = opts(2, WID_FSYNC_NEVER);
    wid_reason_t         first;
    size_t               warn;
    int                  k;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    damage_and_gap(dir);
    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 5000, &j, &rec),
                     WID_OK);
    assert_false(rec.gap);
    assert_int_equal(rec.epoch, 1);
    append_n(j, 100, 5);
    assert_int_equal(wid_journal_close(j, 5001), WID_OK);

    for (k = 0; k < 3; k++) {
        assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 6000 + k, &j,
                                          &rec), WID_OK);
        assert_false(rec.gap);
        assert_false(rec.torn_tail);
        assert_int_equal(rec.epoch, 1);
        assert_int_equal(rec.adopted, 0);
        assert_int_equal(rec.signed_size, 6);   /* gap record + 5 */
        assert_int_equal(rec.next_seq, 36);
        assert_int_equal(wid_journal_close(j, 6100 + k), WID_OK);
    }
    /* The damage and the one gap, nothing else. */
    assert_int_equal(jt_verify(dir, &pk, 1, &first, NULL, &warn), 1);
    assert_int_equal(first, WID_R_JOURNAL_FRAME_CRC);
    assert_int_equal(warn, 1);
    jt_rmrf(dir);
}

/* A writer killed in the gap epoch: its unsigned tail is adopted as in
 * epoch 0, not given up with a new gap. */
static void
test_gap_epoch_crash_tail_adopted(void **state)
{
    char                 dir[64];
    wid_journal         *j;
    wid_journal_recovery rec;
    wid_journal_options  o = opts(10, WID_FSYNC_ALWAYS);
    size_t               warn;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    damage_and_gap(dir);
    /* Leaves 1..10 of epoch 1 signed, 11 and 12 not. */
    crash_writer(dir, 100, 12, 10);
    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 5000, &j, &rec),
                     WID_OK);
    assert_false(rec.gap);
    assert_int_equal(rec.epoch, 1);
    assert_int_equal(rec.signed_size, 11);
    assert_int_equal(rec.adopted, 2);
    assert_int_equal(rec.next_seq, 31 + 12 + 1);    /* + recovery record */
    assert_int_equal(wid_journal_close(j, 5001), WID_OK);
    /* The damage; the gap and the adoption as warnings. */
    assert_int_equal(jt_verify(dir, &pk, 1, NULL, NULL, &warn), 1);
    assert_int_equal(warn, 2);
    jt_rmrf(dir);
}

/* A torn tail in the gap epoch is cut as in epoch 0. */
static void
test_gap_epoch_torn_tail_cut(void **state)
{
    char                 dir[64], path[256];
    unsigned char       *b, *torn, *after;
    size_t               len, alen, nf;
    uint64_t             offs[512];
    uint8_t              types[512];
    wid_journal         *j;
    wid_journal_recovery rec;
    wid_journal_options  o = opts(25, WID_FSYNC_NEVER);
    unsigned             last;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    damage_and_gap(dir);
    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 5000, &j, &rec),
                     WID_OK);
    append_n(j, 100, 3);
    assert_int_equal(wid_journal_close(j, 5001), WID_OK);

    /* The first 50 bytes of a copy of its receipt 0 at the end. */
    last = last_seg(dir);
    b = frames_of(dir, last, &len, offs, types, &nf);
    assert_true(nf >= 2 && types[1] == WID_REC_RECEIPT);
    torn = malloc(len + 50);
    memcpy(torn, b, len);
    memcpy(torn + len, b + offs[1], 50);
    jt_seg_path(path, sizeof(path), dir, "w1", last);
    jt_write(path, torn, len + 50);

    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 6000, &j, &rec),
                     WID_OK);
    assert_false(rec.gap);
    assert_true(rec.torn_tail);
    assert_int_equal(rec.torn_segment, last);
    assert_int_equal(rec.torn_offset, len);
    assert_int_equal(rec.torn_bytes, 50);
    assert_int_equal(rec.epoch, 1);
    assert_int_equal(wid_journal_close(j, 6001), WID_OK);
    after = jt_read(path, &alen);
    assert_int_equal(alen, len);
    assert_memory_equal(after, b, len);
    assert_int_equal(jt_verify(dir, &pk, 1, NULL, NULL, NULL), 1);
    free(after);
    free(torn);
    free(b);
    jt_rmrf(dir);
}

/* A forged later epoch (no checkpoint by the key) is no fresh start: it
 * is damage, and the next gap names it. */
static void
test_forged_epoch_is_damage(void **state)
{
    char                 dir[64], path[256];
    unsigned char       *b, *out;
    size_t               len, nf, n, k, end;
    uint64_t             offs[512];
    uint8_t              types[512];
    wid_journal         *j;
    wid_journal_recovery rec;
    wid_journal_options  o = opts(25, WID_FSYNC_NEVER);
    unsigned             last;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    damage_and_gap(dir);
    /* Drop the checkpoints of the gap epoch's segment. */
    last = last_seg(dir);
    b = frames_of(dir, last, &len, offs, types, &nf);
    out = malloc(len);
    for (n = 0, k = 0; k < nf; k++) {
        end = k + 1 < nf ? offs[k + 1] : len;
        if (types[k] != WID_REC_CHECKPOINT) {
            memcpy(out + n, b + offs[k], end - offs[k]);
            n += end - offs[k];
        }
    }
    jt_seg_path(path, sizeof(path), dir, "w1", last);
    jt_write(path, out, n);

    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 5000, &j, &rec),
                     WID_OK);
    assert_true(rec.gap);
    assert_int_equal(rec.gap_reason, WID_R_JOURNAL_NO_CHECKPOINT);
    assert_int_equal(rec.gap_segment, last);
    assert_int_equal(rec.epoch, 2);
    assert_int_equal(rec.next_seq, 32);
    assert_int_equal(wid_journal_close(j, 5001), WID_OK);
    free(out);
    free(b);
    jt_rmrf(dir);
}

/*
 * Finding: after damage, the search for frames tried every offset with
 * up to 128 KiB of CRC each: 4 s per MiB of bytes that look like frame
 * headers everywhere (ff 00 01 ...), at every open.  The watchdog is far
 * above what the bounded search takes (milliseconds); the old code took
 * minutes here.
 */
#define GARBAGE_BYTES (32u * 1024 * 1024)

static void
test_resync_is_bounded(void **state)
{
    char                 dir[64], path[256];
    unsigned char       *b, *big;
    size_t               len, nf, i;
    uint64_t             offs[512];
    uint8_t              types[512];
    wid_journal         *j;
    wid_journal_recovery rec;
    wid_journal_options  o = opts(25, WID_FSYNC_NEVER);

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    build(dir);
    b = frames_of(dir, 1, &len, offs, types, &nf);
    big = malloc(len + GARBAGE_BYTES);
    assert_non_null(big);
    memcpy(big, b, len);
    big[offs[7] + 20] ^= 0x01;          /* receipt 5 */
    for (i = 0; i < GARBAGE_BYTES; i++) {
        big[len + i] = (unsigned char) (i % 3 == 0 ? 0xff : i % 3 - 1);
    }
    jt_seg_path(path, sizeof(path), dir, "w1", 1);
    jt_write(path, big, len + GARBAGE_BYTES);

    alarm(60);
    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 3000, &j, &rec),
                     WID_OK);
    /* What recovery finds on the log is the same: the damage, and the
     * seqs of the whole frames after it (up to 29). */
    assert_true(rec.gap);
    assert_int_equal(rec.gap_offset, offs[7]);
    assert_int_equal(rec.next_seq, 31);
    assert_int_equal(wid_journal_close(j, 3001), WID_OK);
    /* And the next open replays the gap epoch, as quickly. */
    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 4000, &j, &rec),
                     WID_OK);
    assert_false(rec.gap);
    assert_int_equal(wid_journal_close(j, 4001), WID_OK);
    alarm(0);
    free(big);
    free(b);
    jt_rmrf(dir);
}

/* wid_frame_find: exact within the budget, charges only bytes that are
 * no frame, and gives up (-1) past it. */
static void
test_frame_find_budget(void **state)
{
    size_t         n = 1u << 20, i;
    unsigned char *b = malloc(n);
    uint8_t        frame[WID_FRAME_HDR + 4];
    uint64_t       budget;
    wid_frame      f;

    (void) state;
    assert_non_null(b);
    for (i = 0; i < n; i++) {
        b[i] = (unsigned char) (i % 3 == 0 ? 0xff : i % 3 - 1);
    }
    budget = 64u * 1024 * 1024;
    assert_int_equal(wid_frame_find(b, n, 0, &budget, &f), -1);
    assert_true(budget < 256u * 1024);

    /* A frame after a few hundred bytes of it is found, and is free. */
    memcpy(frame + WID_FRAME_HDR, "abcd", 4);
    wid_frame_seal(frame, WID_REC_RECEIPT, 4);
    memset(b, 0x5a, 4096);
    memcpy(b + 1000, frame, sizeof(frame));
    budget = 1000;
    assert_int_equal(wid_frame_find(b, 4096, 0, &budget, &f), 1);
    assert_int_equal(f.offset, 1000);
    assert_int_equal(f.next, 1000 + sizeof(frame));
    assert_int_equal(f.len, 4);
    assert_int_equal(budget, 1000);
    assert_int_equal(wid_frame_find(b, 4096, 1001, &budget, &f), 0);
    /* Spent: only a frame right at from is still found. */
    budget = 0;
    assert_int_equal(wid_frame_find(b, 4096, 1000, &budget, &f), 1);
    /* Candidates at 979 (len 0, type 1) and 980 (len 1, type 2). */
    memset(b + 980, 0, 9);
    b[980 + 7] = 1;
    b[980 + 8] = WID_REC_RECEIPT;
    assert_int_equal(wid_frame_find(b, 4096, 970, &budget, &f), -1);
    /* Enough for them and to try the frame at 1000 (4 + 5 bytes). */
    budget = 5 + 6 + 8;
    assert_int_equal(wid_frame_find(b, 4096, 970, &budget, &f), -1);
    budget = 5 + 6 + 9;
    assert_int_equal(wid_frame_find(b, 4096, 970, &budget, &f), 1);
    assert_int_equal(f.offset, 1000);
    assert_int_equal(budget, 9);
    free(b);
}

/*
 * A writer killed with 2 unsigned receipts after a checkpoint, the file
 * then zero-filled (size kept) from `cut` bytes into its last frame: a
 * power loss.  Returns the frames of segment 1 as they were.
 */
static unsigned char *
crash_zero_filled(const char *dir, uint64_t cut, size_t *len, uint64_t *offs,
                  uint8_t *types, size_t *nf)
{
    char           path[256];
    unsigned char *b, *z;
    uint64_t       last;

    crash_writer(dir, 0, 12, 10);
    b = frames_of(dir, 1, len, offs, types, nf);
    /* header, checkpoint 0, r0..r9, checkpoint 10, r10, r11 */
    assert_int_equal(*nf, 15);
    assert_int_equal(types[12], WID_REC_CHECKPOINT);
    last = offs[14];
    assert_true(last + cut < *len);
    z = malloc(*len);
    memcpy(z, b, *len);
    memset(z + last + cut, 0, *len - last - cut);
    jt_seg_path(path, sizeof(path), dir, "w1", 1);
    jt_write(path, z, *len);
    free(z);
    return b;
}

/* Finding: zeros from inside the last frame were damage (a gap that gave
 * up the complete receipt before it); from its start they were torn. */
static void
test_zero_filled_tail_is_torn(void **state)
{
    static const uint64_t cuts[] = { 0, 1, 4, 6, 8, 9, 12, 40, 200 };
    char                 dir[64], path[256];
    unsigned char       *b, *after;
    size_t               len, alen, nf, k;
    uint64_t             offs[512];
    uint8_t              types[512];
    wid_journal         *j;
    wid_journal_recovery rec;
    wid_journal_options  o = opts(10, WID_FSYNC_ALWAYS);
    size_t               warn;

    (void) state;
    for (k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
        jt_tmpdir(dir, sizeof(dir));
        b = crash_zero_filled(dir, cuts[k], &len, offs, types, &nf);
        assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 5000, &j,
                                          &rec), WID_OK);
        assert_false(rec.gap);
        assert_true(rec.torn_tail);
        assert_int_equal(rec.torn_segment, 1);
        assert_int_equal(rec.torn_offset, offs[14]);
        assert_int_equal(rec.torn_bytes, len - offs[14]);
        assert_int_equal(rec.signed_size, 10);
        assert_int_equal(rec.adopted, 1);       /* r10, complete */
        assert_int_equal(rec.next_seq, 12);     /* + recovery record */
        assert_int_equal(wid_journal_close(j, 5001), WID_OK);
        jt_seg_path(path, sizeof(path), dir, "w1", 1);
        after = jt_read(path, &alen);
        assert_int_equal(alen, offs[14]);
        assert_memory_equal(after, b, alen);
        assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, &warn), 0);
        assert_int_equal(warn, 1);              /* recovered_unsigned */
        free(after);
        free(b);
        jt_rmrf(dir);
    }
}

/* Zeros to the end are no licence to cut a whole frame that is damaged
 * before them, nor anything in an older segment. */
static void
test_zeros_after_damage_are_not_torn(void **state)
{
    char                 dir[64], path[256];
    unsigned char       *b;
    size_t               len, nf;
    uint64_t             offs[512];
    uint8_t              types[512];
    wid_journal         *j;
    wid_journal_recovery rec;
    wid_journal_options  o = opts(10, WID_FSYNC_ALWAYS);

    (void) state;
    /* r10 whole but with a bit flipped; zeros from inside r11. */
    jt_tmpdir(dir, sizeof(dir));
    b = crash_zero_filled(dir, 20, &len, offs, types, &nf);
    jt_seg_path(path, sizeof(path), dir, "w1", 1);
    jt_poke(path, offs[13] + 30, b[offs[13] + 30] ^ 0x04);
    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 5000, &j, &rec),
                     WID_OK);
    assert_true(rec.gap);
    assert_false(rec.torn_tail);
    assert_int_equal(rec.gap_offset, offs[13]);
    assert_int_equal(rec.gap_reason, WID_R_JOURNAL_FRAME_CRC);
    assert_int_equal(wid_journal_close(j, 5001), WID_OK);
    free(b);
    jt_rmrf(dir);

    /* A header whose length is impossible, then zeros: not a frame. */
    jt_tmpdir(dir, sizeof(dir));
    b = crash_zero_filled(dir, 20, &len, offs, types, &nf);
    jt_seg_path(path, sizeof(path), dir, "w1", 1);
    jt_poke(path, offs[14] + 4, 0x7f);
    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 5000, &j, &rec),
                     WID_OK);
    assert_true(rec.gap);
    assert_false(rec.torn_tail);
    assert_int_equal(rec.gap_offset, offs[14]);
    assert_int_equal(wid_journal_close(j, 5001), WID_OK);
    free(b);
    jt_rmrf(dir);

    /* The same zeros in a segment that is no longer the last. */
    jt_tmpdir(dir, sizeof(dir));
    crash_writer(dir, 0, 12, 10);
    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 5000, &j, &rec),
                     WID_OK);
    assert_int_equal(rec.adopted, 2);
    assert_int_equal(wid_journal_close(j, 5001), WID_OK);
    b = frames_of(dir, 1, &len, offs, types, &nf);
    assert_int_equal(nf, 15);
    jt_seg_path(path, sizeof(path), dir, "w1", 1);
    memset(b + offs[14] + 20, 0, len - offs[14] - 20);
    jt_write(path, b, len);
    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 6000, &j, &rec),
                     WID_OK);
    assert_true(rec.gap);
    assert_false(rec.torn_tail);
    assert_int_equal(rec.gap_segment, 1);
    assert_int_equal(rec.gap_offset, offs[14]);
    assert_int_equal(wid_journal_close(j, 6001), WID_OK);
    free(b);
    jt_rmrf(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gap_epoch_is_replayed),
        cmocka_unit_test(test_gap_epoch_crash_tail_adopted),
        cmocka_unit_test(test_gap_epoch_torn_tail_cut),
        cmocka_unit_test(test_forged_epoch_is_damage),
        cmocka_unit_test(test_resync_is_bounded),
        cmocka_unit_test(test_frame_find_budget),
        cmocka_unit_test(test_zero_filled_tail_is_torn),
        cmocka_unit_test(test_zeros_after_damage_are_not_torn),
    };
    return cmocka_run_group_tests_name("journal_recovery", tests, setup,
                                       NULL);
}
