/*
 * Someone who can write the journal directory but has not the receipt
 * key must not be able to rewrite history and have the writer sign it
 * at its next open, nor pass verify with records nobody signed:
 *
 *  - a log replaced by one written with another key, checkpoints
 *    stripped (the security review's reproducer): verify refuses it,
 *    recovery starts a new epoch with a gap and leaves the bytes alone;
 *  - the same with checkpoints signed by the other key, or with the real
 *    writer's checkpoints spliced in: refused by both;
 *  - an unsigned tail: adopted at recovery only up to what a crash
 *    leaves (checkpoint_every_records records, checkpoint_every_ms plus
 *    a margin), and then recorded on the journal; verify calls it an
 *    error unless the writer is running (its lock is held) or
 *    WID_JOURNAL_VERIFY_ALLOW_UNSIGNED_TAIL.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "journal_testutil.h"

static wid_seckey sk, evil_sk;
static wid_pubkey pk, evil_pk;

static int
setup(void **state)
{
    (void) state;
    jt_keypair(&sk, &pk);
    jt_keypair(&evil_sk, &evil_pk);
    return 0;
}


static wid_journal_options
opts(uint64_t every_records, uint64_t every_ms)
{
    wid_journal_options o;

    memset(&o, 0, sizeof(o));
    o.checkpoint_every_records = every_records;
    o.checkpoint_every_ms = every_ms;
    o.fsync = WID_FSYNC_NEVER;
    o.origin_prefix = "host.test";
    return o;
}

/* A closed log of n receipts by w1 with key k; deny if deny, else allow. */
static void
build(const char *dir, const wid_seckey *k, unsigned n, int deny,
      uint64_t every)
{
    wid_journal_options o = opts(every, 0);
    wid_journal        *j;
    wid_receipt         r;
    unsigned            i;

    assert_int_equal(wid_journal_open(dir, "w1", k, &o, 1000, &j, NULL),
                     WID_OK);
    for (i = 0; i < n; i++) {
        jt_receipt(&r, i);
        r.verdict = deny ? WID_VERDICT_DENY : WID_VERDICT_ALLOW;
        r.str[WID_RF_REASON] = deny ? "policy.path_prefix" : "ok";
        assert_int_equal(wid_journal_append(j, &r, 1000 + i, NULL, NULL),
                         WID_OK);
    }
    assert_int_equal(wid_journal_close(j, 2000), WID_OK);
}

/* Copy segment 1 of w1 from one journal to another, dropping every frame
 * of type drop (0: none). */
static void
copy_seg(const char *from, const char *to, uint8_t drop)
{
    char           p1[256], p2[256];
    unsigned char *b, *out;
    size_t         len, nf, k, n = 0, end;
    uint64_t       offs[512];
    uint8_t        types[512];

    jt_seg_path(p1, sizeof(p1), from, "w1", 1);
    jt_seg_path(p2, sizeof(p2), to, "w1", 1);
    b = jt_read(p1, &len);
    assert_non_null(b);
    out = malloc(len);
    nf = jt_frames(b, len, offs, types, 512);
    for (k = 0; k < nf; k++) {
        end = k + 1 < nf ? offs[k + 1] : len;
        if (types[k] != drop) {
            memcpy(out + n, b + offs[k], end - offs[k]);
            n += end - offs[k];
        }
    }
    jt_write(p2, out, n);
    free(out);
    free(b);
}

static int
same_file(const char *path, const unsigned char *want, size_t len)
{
    size_t         n;
    unsigned char *b = jt_read(path, &n);
    int            same = b && n == len && memcmp(b, want, len) == 0;

    free(b);
    return same;
}

/* Verify with flags; the error count, first error and warnings. */
static size_t
verify(const char *dir, int flags, wid_reason_t *first, const char **kind,
       size_t *warnings)
{
    return jt_verify(dir, &pk, flags, first, kind, warnings);
}

/*
 * The reviewer's reproducer: five denies replaced by five allows written
 * with another key, checkpoint frames stripped.  verify used to say "OK,
 * 1 warning"; reopening the writer then signed the forgery.
 */
static void
test_stripped_forgery(void **state)
{
    char                 dir[64], evil[64], path[256];
    unsigned char       *forged;
    size_t               flen, warn;
    wid_journal         *j;
    wid_journal_recovery rec;
    wid_journal_options  o = opts(0, 0);
    wid_reason_t         first;
    const char          *kind;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    jt_tmpdir(evil, sizeof(evil));
    build(dir, &sk, 5, 1, 0);
    build(evil, &evil_sk, 5, 0, 0);
    assert_int_equal(verify(dir, 0, NULL, NULL, NULL), 0);
    copy_seg(evil, dir, WID_REC_CHECKPOINT);
    jt_seg_path(path, sizeof(path), dir, "w1", 1);
    forged = jt_read(path, &flen);

    /* (a) verify: an epoch with records and no checkpoint is an error,
     * whatever the flags. */
    assert_int_equal(verify(dir, 0, &first, &kind, NULL), 1);
    assert_int_equal(first, WID_R_JOURNAL_NO_CHECKPOINT);
    assert_string_equal(kind, "unsigned");
    assert_int_equal(verify(dir, WID_JOURNAL_VERIFY_ALLOW_UNSIGNED_TAIL
                                 | WID_JOURNAL_VERIFY_ACCEPT_GAPS,
                            &first, NULL, NULL), 1);
    assert_int_equal(first, WID_R_JOURNAL_NO_CHECKPOINT);

    /* (b) recovery with the real key: not adopted, a new epoch and a
     * gap; the forged bytes stay as they are. */
    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 5000, &j, &rec),
                     WID_OK);
    assert_true(rec.gap);
    assert_int_equal(rec.gap_reason, WID_R_JOURNAL_NO_CHECKPOINT);
    assert_int_equal(rec.epoch, 1);
    assert_int_equal(rec.adopted, 0);
    assert_int_equal(rec.next_seq, 6);          /* after seqs 0..4, gap */
    assert_int_equal(wid_journal_close(j, 5001), WID_OK);
    assert_true(same_file(path, forged, flen));
    /* ... and verify still refuses the forged epoch, gaps accepted or
     * not, an unsigned tail allowed or not. */
    assert_true(verify(dir, 0, &first, NULL, NULL) >= 2);
    assert_int_equal(first, WID_R_JOURNAL_NO_CHECKPOINT);
    assert_int_equal(verify(dir, WID_JOURNAL_VERIFY_ACCEPT_GAPS
                                 | WID_JOURNAL_VERIFY_ALLOW_UNSIGNED_TAIL,
                            &first, NULL, &warn), 1);
    assert_int_equal(first, WID_R_JOURNAL_NO_CHECKPOINT);
    assert_int_equal(warn, 1);                  /* the accepted gap */
    free(forged);
    jt_rmrf(evil);
    jt_rmrf(dir);
}

/* Valid framing, checkpoints signed by another key. */
static void
test_forged_checkpoints_other_key(void **state)
{
    char                 dir[64], evil[64], path[256];
    unsigned char       *forged;
    size_t               flen, nf;
    uint64_t             offs[512];
    uint8_t              types[512];
    wid_journal         *j;
    wid_journal_recovery rec;
    wid_journal_options  o = opts(0, 0);
    wid_reason_t         first;
    const char          *kind;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    jt_tmpdir(evil, sizeof(evil));
    build(dir, &sk, 5, 1, 0);
    build(evil, &evil_sk, 5, 0, 0);
    copy_seg(evil, dir, 0);
    jt_seg_path(path, sizeof(path), dir, "w1", 1);
    forged = jt_read(path, &flen);
    nf = jt_frames(forged, flen, offs, types, 512);
    assert_true(nf > 2);
    assert_int_equal(types[1], WID_REC_CHECKPOINT);

    assert_int_equal(verify(dir, WID_JOURNAL_VERIFY_ALLOW_UNSIGNED_TAIL,
                            &first, &kind, NULL), 1);
    assert_int_equal(first, WID_R_JOURNAL_CHECKPOINT_UNSIGNED);
    assert_string_equal(kind, "sig");

    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 5000, &j, &rec),
                     WID_OK);
    assert_true(rec.gap);
    assert_int_equal(rec.gap_reason, WID_R_JOURNAL_CHECKPOINT_UNSIGNED);
    assert_int_equal(rec.gap_segment, 1);
    assert_int_equal(rec.gap_offset, offs[1]);  /* the first checkpoint */
    assert_int_equal(rec.epoch, 1);
    assert_int_equal(wid_journal_close(j, 5001), WID_OK);
    assert_true(same_file(path, forged, flen));
    assert_true(verify(dir, WID_JOURNAL_VERIFY_ACCEPT_GAPS, &first, NULL,
                       NULL) >= 1);
    assert_int_equal(first, WID_R_JOURNAL_CHECKPOINT_UNSIGNED);
    free(forged);
    jt_rmrf(evil);
    jt_rmrf(dir);
}

/*
 * The real writer's own checkpoints (valid signatures, right origin and
 * sizes) spliced into a forged log: their roots do not match the leaves
 * before them.  The empty tree's checkpoint matches any log, the one of
 * size 10 does not.
 */
static void
test_real_checkpoints_spliced(void **state)
{
    char                 dir[64], evil[64], p1[256], p2[256];
    unsigned char       *real, *fake, *out;
    size_t               rlen, flen, nr, nfk, k, r = 0, n = 0, end;
    uint64_t             roffs[512], foffs[512];
    uint8_t              rtypes[512], ftypes[512];
    wid_journal         *j;
    wid_journal_recovery rec;
    wid_journal_options  o = opts(10, 0);
    wid_reason_t         first;
    uint64_t             cp10 = 0;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    jt_tmpdir(evil, sizeof(evil));
    build(dir, &sk, 20, 1, 10);
    build(evil, &evil_sk, 20, 0, 10);
    jt_seg_path(p1, sizeof(p1), dir, "w1", 1);
    jt_seg_path(p2, sizeof(p2), evil, "w1", 1);
    real = jt_read(p1, &rlen);
    fake = jt_read(p2, &flen);
    nr = jt_frames(real, rlen, roffs, rtypes, 512);
    nfk = jt_frames(fake, flen, foffs, ftypes, 512);
    out = malloc(rlen + flen);
    /* The forged frames, each checkpoint swapped for the real one. */
    for (k = 0; k < nfk; k++) {
        const unsigned char *src = fake + foffs[k];
        size_t               len;

        end = k + 1 < nfk ? foffs[k + 1] : flen;
        len = end - foffs[k];
        if (ftypes[k] == WID_REC_CHECKPOINT) {
            while (r < nr && rtypes[r] != WID_REC_CHECKPOINT) {
                r++;
            }
            assert_true(r < nr);
            src = real + roffs[r];
            len = (r + 1 < nr ? roffs[r + 1] : rlen) - roffs[r];
            r++;
            if (cp10 == 0 && k > 1) {
                cp10 = n;
            }
        }
        memcpy(out + n, src, len);
        n += len;
    }
    jt_write(p1, out, n);

    assert_int_equal(verify(dir, 0, &first, NULL, NULL), 1);
    assert_int_equal(first, WID_R_JOURNAL_CHECKPOINT_ROOT);
    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 5000, &j, &rec),
                     WID_OK);
    assert_true(rec.gap);
    assert_int_equal(rec.gap_reason, WID_R_JOURNAL_CHECKPOINT_ROOT);
    assert_int_equal(rec.gap_offset, cp10);
    assert_int_equal(wid_journal_close(j, 5001), WID_OK);
    assert_true(same_file(p1, out, n));
    free(out);
    free(real);
    free(fake);
    jt_rmrf(evil);
    jt_rmrf(dir);
}

/*
 * A writer stopped without closing: n receipts after its last checkpoint
 * (every `every` records, `ms` ms), times 1 s apart.  The state of the
 * files at that moment is copied to snap (as a crash would leave them),
 * then the writer is closed.
 */
static void
crashed(const char *dir, const char *snap, unsigned signed_n, unsigned n,
        uint64_t every, uint64_t ms)
{
    wid_journal_options o = opts(every, ms);
    wid_journal        *j;
    wid_receipt         r;
    unsigned            i;
    char                w[256];

    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 1000, &j, NULL),
                     WID_OK);
    for (i = 0; i < signed_n + n; i++) {
        jt_receipt(&r, i);
        assert_int_equal(wid_journal_append(j, &r, 1000, NULL, NULL),
                         WID_OK);
        if (i + 1 == signed_n) {
            assert_int_equal(wid_journal_checkpoint(j, 1000), WID_OK);
        }
    }
    assert_int_equal(wid_journal_tick(j, 1001), WID_OK);  /* flush only */
    snprintf(w, sizeof(w), "%s/w1", snap);
    assert_int_equal(mkdir(w, 0750), 0);
    copy_seg(dir, snap, 0);
    assert_int_equal(wid_journal_close(j, 1002), WID_OK);
}

/* A genuine crash tail within the interval is adopted, recorded and
 * signed; verify then passes with a warning that says so. */
static void
test_crash_tail_adopted(void **state)
{
    char                 dir[64], snap[64], path[256];
    unsigned char       *before;
    size_t               blen, warn;
    wid_journal         *j;
    wid_journal_recovery rec;
    wid_journal_options  o = opts(10, 1000);
    wid_reason_t         first;
    const char          *kind;
    int                  fd;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    jt_tmpdir(snap, sizeof(snap));
    crashed(dir, snap, 3, 9, 10, 1000);
    jt_seg_path(path, sizeof(path), snap, "w1", 1);
    before = jt_read(path, &blen);

    /* Before recovery: an error, unless allowed or a writer holds the
     * lock. */
    assert_int_equal(verify(snap, 0, &first, &kind, NULL), 1);
    assert_int_equal(first, WID_R_JOURNAL_UNSIGNED_TAIL);
    assert_string_equal(kind, "unsigned");
    assert_int_equal(verify(snap, WID_JOURNAL_VERIFY_ALLOW_UNSIGNED_TAIL,
                            NULL, NULL, &warn), 0);
    assert_int_equal(warn, 1);
    snprintf(path, sizeof(path), "%s/w1/lock", snap);
    fd = open(path, O_RDWR | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
    assert_int_equal(verify(snap, 0, NULL, NULL, &warn), 0);
    assert_int_equal(warn, 1);
    /* A second writer is still refused (after its brief retries). */
    assert_int_equal(wid_journal_open(snap, "w1", &sk, &o, 5000, &j, &rec),
                     WID_R_JOURNAL_WRITER_BUSY);
    close(fd);

    assert_int_equal(wid_journal_open(snap, "w1", &sk, &o, 5000, &j, &rec),
                     WID_OK);
    assert_false(rec.gap);
    assert_int_equal(rec.signed_size, 3);
    assert_int_equal(rec.adopted, 9);
    assert_int_equal(rec.epoch, 0);
    assert_int_equal(rec.next_seq, 13);         /* 12 receipts + record */
    assert_int_equal(wid_journal_close(j, 5001), WID_OK);
    jt_seg_path(path, sizeof(path), snap, "w1", 1);
    assert_true(same_file(path, before, blen));
    assert_int_equal(verify(snap, 0, &first, NULL, &warn), 0);
    assert_int_equal(warn, 1);                  /* recovered_unsigned */
    free(before);
    jt_rmrf(snap);
    jt_rmrf(dir);
}

static void
expect_not_adopted(const char *snap, uint64_t every, uint64_t ms)
{
    wid_journal         *j;
    wid_journal_recovery rec;
    wid_journal_options  o = opts(every, ms);
    wid_reason_t         first;
    const char          *kind;
    size_t               warn;

    assert_int_equal(wid_journal_open(snap, "w1", &sk, &o, 5000, &j, &rec),
                     WID_OK);
    assert_true(rec.gap);
    assert_int_equal(rec.gap_reason, WID_R_JOURNAL_TAIL_NOT_ADOPTED);
    assert_int_equal(rec.epoch, 1);
    assert_int_equal(rec.adopted, 0);
    assert_int_equal(wid_journal_close(j, 5001), WID_OK);
    /* The gap gives up the unsigned records: with gaps accepted both are
     * warnings; otherwise both are errors. */
    assert_int_equal(verify(snap, 0, &first, &kind, NULL), 2);
    assert_int_equal(first, WID_R_JOURNAL_GAP);
    assert_int_equal(verify(snap, WID_JOURNAL_VERIFY_ACCEPT_GAPS, NULL,
                            NULL, &warn), 0);
    assert_int_equal(warn, 2);
}

/* More unsigned records than the checkpoint interval: not adopted. */
static void
test_long_tail_not_adopted(void **state)
{
    char           dir[64], snap[64];

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    jt_tmpdir(snap, sizeof(snap));
    crashed(dir, snap, 3, 9, 10, 1000);
    /* The same crash seen by a writer configured to sign every 8. */
    expect_not_adopted(snap, 8, 1000);
    jt_rmrf(snap);
    jt_rmrf(dir);
}

/* Unsigned records whose times span more than the interval + margin. */
static void
test_old_tail_not_adopted(void **state)
{
    char           dir[64], snap[64];

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    jt_tmpdir(snap, sizeof(snap));
    /* 15 receipts 1 s apart: a 14 s span, more than 1 s + 10 s. */
    crashed(dir, snap, 3, 15, 100, 1000);
    expect_not_adopted(snap, 100, 1000);
    jt_rmrf(snap);
    jt_rmrf(dir);
}

/* A recovery record that lies about what it adopted is caught. */
static void
test_recovery_record_checked(void **state)
{
    char                 dir[64], snap[64], path[256];
    unsigned char       *b;
    size_t               len, nf, k;
    uint64_t             offs[512];
    uint8_t              types[512];
    wid_journal         *j;
    wid_journal_recovery rec;
    wid_journal_options  o = opts(10, 1000);
    wid_reason_t         first;
    const char          *kind;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    jt_tmpdir(snap, sizeof(snap));
    crashed(dir, snap, 3, 4, 10, 1000);
    assert_int_equal(wid_journal_open(snap, "w1", &sk, &o, 5000, &j, &rec),
                     WID_OK);
    assert_int_equal(rec.adopted, 4);
    assert_int_equal(wid_journal_close(j, 5001), WID_OK);
    jt_seg_path(path, sizeof(path), snap, "w1", 2);
    b = jt_read(path, &len);
    nf = jt_frames(b, len, offs, types, 512);
    for (k = 0; k < nf && types[k] != WID_REC_RECOVERY; k++) {
    }
    assert_true(k < nf);
    b[offs[k] + WID_FRAME_HDR + 35] = 3;        /* adopted: 4 -> 3 */
    wid_frame_seal(b + offs[k], WID_REC_RECOVERY,
                   (uint32_t) (offs[k + 1] - offs[k] - WID_FRAME_HDR));
    jt_write(path, b, len);
    assert_int_equal(verify(snap, 0, &first, &kind, NULL), 1);
    assert_int_equal(first, WID_R_RECEIPT_MALFORMED);
    assert_string_equal(kind, "record");
    free(b);
    jt_rmrf(snap);
    jt_rmrf(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stripped_forgery),
        cmocka_unit_test(test_forged_checkpoints_other_key),
        cmocka_unit_test(test_real_checkpoints_spliced),
        cmocka_unit_test(test_crash_tail_adopted),
        cmocka_unit_test(test_long_tail_not_adopted),
        cmocka_unit_test(test_old_tail_not_adopted),
        cmocka_unit_test(test_recovery_record_checked),
    };
    return cmocka_run_group_tests_name("journal_forgery", tests, setup,
                                       NULL);
}
