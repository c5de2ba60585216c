/*
 * Sealing the logs of writers that are gone (journal_orphans.h): a
 * writer killed with SIGKILL in a child process leaves an unsigned tail;
 * sealing adopts it (verify then passes without allowing unsigned
 * tails), records a gap for a damaged log, and leaves alone running
 * writers, cleanly closed logs (no new segment), logs of another key,
 * logs out of scope and logs beyond the bound.
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
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

#include "journal_format.h"
#include "journal_orphans.h"
#include "journal_testutil.h"

static wid_seckey sk, other_sk;
static wid_pubkey pk, other_pk;

#define MAX_REPORTS 16

typedef struct {
    size_t           n;
    char             writer[MAX_REPORTS][WID_WRITER_MAX + 1];
    wid_seal_report  r[MAX_REPORTS];
} reports;

static int
setup(void **state)
{
    (void) state;
    jt_keypair(&sk, &pk);
    jt_keypair(&other_sk, &other_pk);
    return 0;
}

static wid_journal_options
opts(void)
{
    wid_journal_options o;

    memset(&o, 0, sizeof(o));
    o.checkpoint_every_records = 100;
    o.checkpoint_every_ms = 1000;
    o.fsync = WID_FSYNC_NEVER;
    o.origin_prefix = "host.test";
    return o;
}

static void
collect(void *ctx, const wid_seal_report *r)
{
    reports *c = ctx;

    assert_true(c->n < MAX_REPORTS);
    snprintf(c->writer[c->n], sizeof(c->writer[0]), "%s", r->writer);
    c->r[c->n] = *r;
    c->r[c->n].writer = c->writer[c->n];
    c->n++;
}

static wid_reason_t
seal(const char *dir, const wid_seckey *k, const char *prefix,
     const char *self, size_t max, reports *c, wid_seal_summary *sum)
{
    wid_journal_options o = opts();
    wid_seal_scope      scope;

    memset(c, 0, sizeof(*c));
    memset(&scope, 0, sizeof(scope));
    scope.prefix = prefix;
    scope.self = self;
    scope.max_logs = max;
    scope.report = collect;
    scope.ctx = c;
    return wid_journal_seal_orphans(dir, k, &o, &scope, 9000, sum);
}

/*
 * A writer that appends n receipts (handed to the kernel, no checkpoint
 * after the one of its open) and is then killed with SIGKILL, as a
 * crashed nginx worker is.
 */
static void
killed_writer(const char *dir, const char *writer, const wid_seckey *k,
              unsigned n)
{
    wid_journal_options o = opts();
    pid_t               pid;
    int                 status;

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        wid_journal *j;
        wid_receipt  r;
        unsigned     i;

        if (wid_journal_open(dir, writer, k, &o, 1000, &j, NULL) != WID_OK) {
            _exit(3);
        }
        for (i = 0; i < n; i++) {
            jt_receipt(&r, i);
            if (wid_journal_append(j, &r, 1000, NULL, NULL) != WID_OK) {
                _exit(4);
            }
        }
        /* Flush only: less than checkpoint_every_ms since the open. */
        if (wid_journal_tick(j, 1001) != WID_OK) {
            _exit(5);
        }
        kill(getpid(), SIGKILL);
        _exit(6);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
}

/* A log closed cleanly after n receipts. */
static void
closed_writer(const char *dir, const char *writer, unsigned n)
{
    wid_journal_options o = opts();
    wid_journal        *j;
    wid_receipt         r;
    unsigned            i;

    assert_int_equal(wid_journal_open(dir, writer, &sk, &o, 1000, &j, NULL),
                     WID_OK);
    for (i = 0; i < n; i++) {
        jt_receipt(&r, i);
        assert_int_equal(wid_journal_append(j, &r, 1000, NULL, NULL), WID_OK);
    }
    assert_int_equal(wid_journal_close(j, 1002), WID_OK);
}

static size_t
nsegs(const char *dir, const char *writer)
{
    uint64_t *segs;
    size_t    n;
    int       fd;

    assert_int_equal(wid_writer_open_read(dir, writer, &fd, &segs, &n),
                     WID_OK);
    free(segs);
    close(fd);
    return n;
}

static int
has_marker(const char *dir, const char *writer)
{
    char        path[256];
    struct stat st;

    snprintf(path, sizeof(path), "%s/%s/" WID_CLOSED_NAME, dir, writer);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0;
}

static size_t
verify(const char *dir, int flags, wid_reason_t *first, size_t *warnings)
{
    return jt_verify(dir, &pk, flags, first, NULL, warnings);
}

/* Recovery records of a journal, found by verify: adopted counts. */
typedef struct {
    size_t recovered;
    char   detail[200];
} rec_ctx;

static void
find_recovered(void *ctx, const wid_journal_finding *f)
{
    rec_ctx *c = ctx;

    if (strcmp(f->kind, "recovered") == 0) {
        c->recovered++;
        snprintf(c->detail, sizeof(c->detail), "%s", f->detail);
    }
}


static void
test_killed_writer_is_sealed(void **state)
{
    char                      dir[64];
    reports                   c;
    wid_seal_summary          sum;
    wid_reason_t              first;
    size_t                    warn;
    rec_ctx                   rc;
    wid_journal_verify_cb     cb = { find_recovered, NULL, &rc, NULL };
    wid_journal_verify_result res;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    killed_writer(dir, "nginx-101-1", &sk, 7);
    assert_false(has_marker(dir, "nginx-101-1"));
    assert_int_equal(nsegs(dir, "nginx-101-1"), 1);

    /* The defect: an unsigned tail that nobody will ever sign. */
    assert_int_equal(verify(dir, 0, &first, NULL), 1);
    assert_int_equal(first, WID_R_JOURNAL_UNSIGNED_TAIL);

    assert_int_equal(seal(dir, &sk, "nginx-", NULL, 0, &c, &sum), WID_OK);
    assert_int_equal(sum.logs, 1);
    assert_int_equal(sum.sealed, 1);
    assert_int_equal(sum.adopted, 7);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.r[0].writer, "nginx-101-1");
    assert_int_equal(c.r[0].outcome, WID_SEAL_ADOPTED);
    assert_int_equal(c.r[0].rec.adopted, 7);
    assert_int_equal(c.r[0].rec.signed_size, 0);
    assert_false(c.r[0].rec.gap);
    assert_int_equal(c.r[0].rec.next_seq, 8);   /* 7 receipts + record */
    assert_true(has_marker(dir, "nginx-101-1"));
    assert_int_equal(nsegs(dir, "nginx-101-1"), 2);

    /* Verifies now without allowing unsigned tails; the adoption is a
     * warning, and the recovery record in the log says 7. */
    assert_int_equal(verify(dir, 0, &first, &warn), 0);
    assert_int_equal(warn, 1);
    memset(&rc, 0, sizeof(rc));
    assert_int_equal(wid_journal_verify(dir, &pk, 0, &cb, &res), WID_OK);
    assert_int_equal(res.errors, 0);
    assert_int_equal(rc.recovered, 1);
    assert_non_null(strstr(rc.detail, "adopted 7 unsigned record(s)"));
    assert_int_equal(res.records, 7);

    /* A second seal finds it closed: no reopen, no new segment. */
    assert_int_equal(seal(dir, &sk, "nginx-", NULL, 0, &c, &sum), WID_OK);
    assert_int_equal(sum.closed, 1);
    assert_int_equal(sum.sealed, 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(nsegs(dir, "nginx-101-1"), 2);
    jt_rmrf(dir);
}


static void
test_live_writer_is_skipped(void **state)
{
    char                 dir[64];
    reports              c;
    wid_seal_summary     sum;
    wid_journal_options  o = opts();
    wid_journal         *j;
    wid_receipt          r;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    assert_int_equal(wid_journal_open(dir, "nginx-102-1", &sk, &o, 1000, &j,
                                      NULL), WID_OK);
    jt_receipt(&r, 1);
    assert_int_equal(wid_journal_append(j, &r, 1000, NULL, NULL), WID_OK);
    assert_int_equal(wid_journal_tick(j, 1001), WID_OK);
    killed_writer(dir, "nginx-103-1", &sk, 2);

    assert_int_equal(seal(dir, &sk, "nginx-", NULL, 0, &c, &sum), WID_OK);
    assert_int_equal(sum.logs, 2);
    assert_int_equal(sum.live, 1);
    assert_int_equal(sum.sealed, 1);
    assert_int_equal(c.n, 1);                   /* silent about the live */
    assert_string_equal(c.r[0].writer, "nginx-103-1");
    assert_int_equal(nsegs(dir, "nginx-102-1"), 1);

    /* The running writer goes on undisturbed and closes cleanly. */
    assert_int_equal(wid_journal_append(j, &r, 1002, NULL, NULL), WID_OK);
    assert_int_equal(wid_journal_close(j, 1003), WID_OK);
    assert_true(has_marker(dir, "nginx-102-1"));
    assert_int_equal(verify(dir, 0, NULL, NULL), 0);
    jt_rmrf(dir);
}


static void
test_closed_log_is_not_reopened(void **state)
{
    char             dir[64], path[256];
    reports          c;
    wid_seal_summary sum;
    wid_reason_t     first;
    size_t           n;
    uint64_t        *segs;
    int              fd;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    closed_writer(dir, "nginx-104-1", 5);
    assert_true(has_marker(dir, "nginx-104-1"));
    /* Readers ignore the marker: the log verifies and scans as before. */
    assert_int_equal(verify(dir, 0, NULL, NULL), 0);
    assert_int_equal(nsegs(dir, "nginx-104-1"), 1);

    assert_int_equal(seal(dir, &sk, "nginx-", NULL, 0, &c, &sum), WID_OK);
    assert_int_equal(sum.closed, 1);
    assert_int_equal(sum.sealed, 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(nsegs(dir, "nginx-104-1"), 1);

    /* Deleting the marker costs one reopen: signed to its end, a new
     * segment and nothing else, and the marker is back. */
    snprintf(path, sizeof(path), "%s/nginx-104-1/" WID_CLOSED_NAME, dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(seal(dir, &sk, "nginx-", NULL, 0, &c, &sum), WID_OK);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.r[0].outcome, WID_SEAL_CLEAN);
    assert_int_equal(c.r[0].rec.adopted, 0);
    assert_int_equal(nsegs(dir, "nginx-104-1"), 2);
    assert_true(has_marker(dir, "nginx-104-1"));
    assert_int_equal(verify(dir, 0, NULL, NULL), 0);

    /* Reopening a log removes its marker while it is open. */
    {
        wid_journal_options o = opts();
        wid_journal        *j;

        assert_int_equal(wid_journal_open(dir, "nginx-104-1", &sk, &o, 2000,
                                          &j, NULL), WID_OK);
        assert_false(has_marker(dir, "nginx-104-1"));
        assert_int_equal(wid_journal_close(j, 2001), WID_OK);
        assert_true(has_marker(dir, "nginx-104-1"));
    }

    /* A forged marker on a crashed log: left unsealed, and verify still
     * reports the unsigned tail. */
    killed_writer(dir, "nginx-105-1", &sk, 3);
    snprintf(path, sizeof(path), "%s/nginx-105-1/" WID_CLOSED_NAME, dir);
    fd = open(path, O_WRONLY | O_CREAT, 0640);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(seal(dir, &sk, "nginx-", NULL, 0, &c, &sum), WID_OK);
    assert_int_equal(sum.closed, 2);
    assert_int_equal(c.n, 0);
    assert_int_equal(verify(dir, 0, &first, NULL), 1);
    assert_int_equal(first, WID_R_JOURNAL_UNSIGNED_TAIL);
    assert_int_equal(wid_writer_open_read(dir, "nginx-105-1", &fd, &segs, &n),
                     WID_OK);
    assert_int_equal(n, 1);
    free(segs);
    close(fd);
    jt_rmrf(dir);
}


static void
test_damaged_orphan_gets_gap(void **state)
{
    char             dir[64], path[256];
    unsigned char   *buf;
    size_t           len, nf, warn;
    uint64_t         offs[32];
    uint8_t          types[32];
    reports          c;
    wid_seal_summary sum;
    wid_reason_t     first;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    killed_writer(dir, "nginx-106-1", &sk, 6);
    snprintf(path, sizeof(path), "%s/nginx-106-1/seg-%016u.wjl", dir, 1);
    buf = jt_read(path, &len);
    assert_non_null(buf);
    /* header, checkpoint, receipts 0..5: damage receipt 3's data. */
    nf = jt_frames(buf, len, offs, types, 32);
    assert_int_equal(nf, 8);
    assert_int_equal(types[5], WID_REC_RECEIPT);
    jt_poke(path, (size_t) offs[5] + WID_FRAME_HDR + 20,
            (unsigned char) (buf[offs[5] + WID_FRAME_HDR + 20] ^ 0x01));
    free(buf);

    assert_int_equal(seal(dir, &sk, "nginx-", NULL, 0, &c, &sum), WID_OK);
    assert_int_equal(sum.sealed, 1);
    assert_int_equal(sum.gaps, 1);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.r[0].outcome, WID_SEAL_GAP);
    assert_int_equal(c.r[0].reason, WID_R_JOURNAL_FRAME_CRC);
    assert_int_equal(c.r[0].rec.gap_segment, 1);
    assert_int_equal(c.r[0].rec.gap_offset, offs[5]);
    assert_int_equal(c.r[0].rec.epoch, 1);
    assert_true(has_marker(dir, "nginx-106-1"));

    /* The damage stays where it was and verify names it, and the gap:
     * accepted only when asked. */
    assert_int_equal(verify(dir, 0, &first, NULL), 2);
    assert_int_equal(first, WID_R_JOURNAL_FRAME_CRC);
    assert_int_equal(verify(dir, WID_JOURNAL_VERIFY_ACCEPT_GAPS, &first,
                            &warn), 1);
    assert_int_equal(first, WID_R_JOURNAL_FRAME_CRC);
    assert_int_equal(warn, 1);                  /* the gap */
    jt_rmrf(dir);
}


static void
test_scope_and_foreign_key(void **state)
{
    char             dir[64], path[256];
    unsigned char   *before, *after;
    size_t           blen, alen;
    reports          c;
    wid_seal_summary sum;
    wid_reason_t     first;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    killed_writer(dir, "nginx-107-1", &sk, 2);         /* the caller's */
    killed_writer(dir, "ssh-issue-108-1", &sk, 2);     /* out of scope */
    killed_writer(dir, "nginx-109-1", &other_sk, 2);   /* another key */
    snprintf(path, sizeof(path), "%s/nginx-109-1/seg-%016u.wjl", dir, 1);
    before = jt_read(path, &blen);
    /* A directory without segments: nothing to seal, nothing created. */
    snprintf(path, sizeof(path), "%s/nginx-110-1", dir);
    assert_int_equal(mkdir(path, 0750), 0);

    assert_int_equal(seal(dir, &sk, "nginx-", "nginx-107-1", 0, &c, &sum),
                     WID_OK);
    assert_int_equal(sum.logs, 2);
    assert_int_equal(sum.foreign, 1);
    assert_int_equal(sum.empty, 1);
    assert_int_equal(sum.sealed, 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.r[0].writer, "nginx-109-1");
    assert_int_equal(c.r[0].outcome, WID_SEAL_FOREIGN);
    assert_int_equal(c.r[0].reason, WID_R_JOURNAL_CHECKPOINT_UNSIGNED);
    assert_int_equal(nsegs(dir, "nginx-107-1"), 1);
    assert_int_equal(nsegs(dir, "ssh-issue-108-1"), 1);
    assert_int_equal(nsegs(dir, "nginx-110-1"), 0);
    assert_false(has_marker(dir, "nginx-110-1"));
    snprintf(path, sizeof(path), "%s/nginx-109-1/seg-%016u.wjl", dir, 1);
    after = jt_read(path, &alen);
    assert_int_equal(alen, blen);
    assert_memory_equal(after, before, blen);
    assert_int_equal(nsegs(dir, "nginx-109-1"), 1);
    free(after);
    free(before);

    /* The same log sealed with its own key. */
    assert_int_equal(seal(dir, &other_sk, "nginx-109", NULL, 0, &c, &sum),
                     WID_OK);
    assert_int_equal(sum.sealed, 1);
    assert_int_equal(c.r[0].outcome, WID_SEAL_ADOPTED);
    assert_int_equal(c.r[0].rec.adopted, 2);

    /* No prefix: every log, the ssh one too. */
    assert_int_equal(seal(dir, &sk, NULL, NULL, 0, &c, &sum), WID_OK);
    assert_int_equal(sum.logs, 4);
    assert_int_equal(sum.sealed, 2);
    assert_int_equal(sum.closed, 1);
    assert_int_equal(sum.empty, 1);
    snprintf(path, sizeof(path), "%s/nginx-110-1", dir);
    assert_int_equal(rmdir(path), 0);
    snprintf(path, sizeof(path), "%s/nginx-109-1", dir);
    jt_rmrf(path);
    assert_int_equal(verify(dir, 0, &first, NULL), 0);

    /* The refused key is refused before anything is looked at. */
    {
        wid_journal_options o = opts();
        wid_seal_scope      scope;

        memset(&scope, 0, sizeof(scope));
        o.refuse_keys = &pk;
        o.nrefuse_keys = 1;
        assert_int_equal(wid_journal_seal_orphans(dir, &sk, &o, &scope, 9000,
                                                  &sum),
                         WID_R_JOURNAL_KEY_REFUSED);
    }
    assert_int_equal(seal("/nonexistent/wid", &sk, NULL, NULL, 0, &c, &sum),
                     WID_R_INTERNAL_IO);
    jt_rmrf(dir);
}


/* A log that cannot be reopened is reported and skipped; the others are
 * sealed all the same. */
static void
test_failure_is_reported(void **state)
{
    char             dir[64], path[256];
    reports          c;
    wid_seal_summary sum;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    killed_writer(dir, "nginx-114-1", &sk, 2);
    killed_writer(dir, "nginx-115-1", &sk, 3);
    /* Not a marker (a directory), and open cannot remove it. */
    snprintf(path, sizeof(path), "%s/nginx-114-1/" WID_CLOSED_NAME, dir);
    assert_int_equal(mkdir(path, 0750), 0);

    assert_int_equal(seal(dir, &sk, "nginx-", NULL, 0, &c, &sum), WID_OK);
    assert_int_equal(sum.failed, 1);
    assert_int_equal(sum.sealed, 1);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.r[0].writer, "nginx-114-1");
    assert_int_equal(c.r[0].outcome, WID_SEAL_FAILED);
    assert_int_equal(c.r[0].reason, WID_R_INTERNAL_IO);
    assert_int_equal(nsegs(dir, "nginx-114-1"), 1);
    assert_string_equal(c.r[1].writer, "nginx-115-1");
    assert_int_equal(c.r[1].outcome, WID_SEAL_ADOPTED);
    assert_int_equal(c.r[1].rec.adopted, 3);
    jt_rmrf(dir);
}


static void
test_bound(void **state)
{
    char             dir[64];
    reports          c;
    wid_seal_summary sum;
    wid_reason_t     first;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    killed_writer(dir, "nginx-111-1", &sk, 1);
    killed_writer(dir, "nginx-112-1", &sk, 2);
    killed_writer(dir, "nginx-113-1", &sk, 3);

    assert_int_equal(seal(dir, &sk, "nginx-", NULL, 2, &c, &sum), WID_OK);
    assert_int_equal(sum.sealed, 2);
    assert_int_equal(sum.deferred, 1);
    assert_int_equal(sum.adopted, 3);
    assert_int_equal(verify(dir, 0, &first, NULL), 1);
    assert_int_equal(first, WID_R_JOURNAL_UNSIGNED_TAIL);
    assert_int_equal(nsegs(dir, "nginx-113-1"), 1);

    assert_int_equal(seal(dir, &sk, "nginx-", NULL, 2, &c, &sum), WID_OK);
    assert_int_equal(sum.closed, 2);
    assert_int_equal(sum.sealed, 1);
    assert_int_equal(sum.deferred, 0);
    assert_string_equal(c.r[0].writer, "nginx-113-1");
    assert_int_equal(c.r[0].rec.adopted, 3);
    assert_int_equal(verify(dir, 0, NULL, NULL), 0);
    jt_rmrf(dir);
}


/*
 * A sealer that found a log unlocked and unmarked may wait for its lock
 * while another sealer (or the writer) finishes and marks it closed: it
 * must then leave the log alone, not reopen it.  Here the open of the
 * sealer starts while a writer holds the lock and closes 5 ms later.
 */
static void
test_log_closed_while_waiting(void **state)
{
    char                 dir[64];
    wid_journal_options  o = opts();
    wid_journal_recovery rec;
    wid_journal         *j, *w;
    wid_receipt          r;
    int                  go[2], status;
    char                 b;
    pid_t                pid;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    killed_writer(dir, "nginx-130-1", &sk, 2);
    assert_int_equal(pipe(go), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* Another sealer: holds the lock, then closes (marker). */
        close(go[0]);
        if (wid_journal_open(dir, "nginx-130-1", &sk, &o, 2000, &w, NULL)
            != WID_OK || write(go[1], "x", 1) != 1)
        {
            _exit(3);
        }
        usleep(5000);
        _exit(wid_journal_close(w, 2001) == WID_OK ? 0 : 4);
    }
    close(go[1]);
    assert_int_equal(read(go[0], &b, 1), 1);
    close(go[0]);

    o.unless_closed = 1;
    assert_int_equal(wid_journal_open(dir, "nginx-130-1", &sk, &o, 2002, &j,
                                      &rec), WID_OK);
    assert_null(j);
    assert_true(rec.was_closed);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    /* The killed writer's segment and the other sealer's: no third. */
    assert_int_equal(nsegs(dir, "nginx-130-1"), 2);
    assert_true(has_marker(dir, "nginx-130-1"));

    /* Without the marker the option changes nothing: a normal open. */
    killed_writer(dir, "nginx-131-1", &sk, 2);
    assert_int_equal(wid_journal_open(dir, "nginx-131-1", &sk, &o, 2003, &j,
                                      &rec), WID_OK);
    assert_non_null(j);
    assert_false(rec.was_closed);
    assert_int_equal(rec.adopted, 2);
    jt_receipt(&r, 9);
    assert_int_equal(wid_journal_append(j, &r, 2003, NULL, NULL), WID_OK);
    assert_int_equal(wid_journal_close(j, 2004), WID_OK);
    assert_int_equal(verify(dir, 0, NULL, NULL), 0);
    jt_rmrf(dir);
}


/* Two sealers at once (two workers starting together): each orphan is
 * adopted exactly once, neither sealer fails, the journal verifies. */
static void
test_two_sealers(void **state)
{
    char             dir[64], name[32];
    reports          c;
    wid_seal_summary sum;
    pid_t            pid[2];
    int              status, k, adopted = 0;
    unsigned         i;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    for (i = 0; i < 6; i++) {
        snprintf(name, sizeof(name), "nginx-%u-1", 120 + i);
        killed_writer(dir, name, &sk, 1 + i);
    }
    for (k = 0; k < 2; k++) {
        pid[k] = fork();
        assert_true(pid[k] >= 0);
        if (pid[k] == 0) {
            size_t n, a = 0;

            if (seal(dir, &sk, "nginx-", NULL, 0, &c, &sum) != WID_OK
                || sum.failed || sum.foreign)
            {
                _exit(100);
            }
            for (n = 0; n < c.n; n++) {
                a += c.r[n].outcome == WID_SEAL_ADOPTED;
            }
            _exit((int) a);
        }
    }
    for (k = 0; k < 2; k++) {
        assert_int_equal(waitpid(pid[k], &status, 0), pid[k]);
        assert_true(WIFEXITED(status));
        assert_true(WEXITSTATUS(status) <= 6);
        adopted += WEXITSTATUS(status);
    }
    assert_int_equal(adopted, 6);
    /* Sealed once each: the killed writer's segment and the seal's.  A
     * second sealer that waited for the lock must not reopen the log. */
    for (i = 0; i < 6; i++) {
        snprintf(name, sizeof(name), "nginx-%u-1", 120 + i);
        assert_int_equal(nsegs(dir, name), 2);
    }
    assert_int_equal(verify(dir, 0, NULL, NULL), 0);
    assert_int_equal(seal(dir, &sk, "nginx-", NULL, 0, &c, &sum), WID_OK);
    assert_int_equal(sum.closed, 6);
    jt_rmrf(dir);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_writer_is_sealed),
        cmocka_unit_test(test_live_writer_is_skipped),
        cmocka_unit_test(test_closed_log_is_not_reopened),
        cmocka_unit_test(test_damaged_orphan_gets_gap),
        cmocka_unit_test(test_scope_and_foreign_key),
        cmocka_unit_test(test_failure_is_reported),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_log_closed_while_waiting),
        cmocka_unit_test(test_two_sealers),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
