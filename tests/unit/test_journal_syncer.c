/*
 * The fsync helper process: a job's descriptors go over and come back
 * synced (and closed on the writer's side); a failing fsync is reported
 * as failed; a helper that died is reported as gone, never as synced;
 * stop reaps it; the helper keeps nothing the writer had open.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "journal_syncer.h"

/* The helper's answer, waited for (the socket is non-blocking). */
static int
answer(wid_syncer *s, wid_journal_sync_job *job)
{
    struct pollfd  p = { s->sock, POLLIN, 0 };
    int            n;

    for (;;) {
        n = wid_syncer_answer(s, job);
        if (n != 0) {
            return n;
        }
        assert_true(poll(&p, 1, 5000) == 1);
    }
}

static int
fd_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

static void
test_sync_and_fail(void **state)
{
    wid_syncer            s;
    wid_journal_sync_job  job;
    char                  path[] = "/tmp/wid-syncer-XXXXXX";
    int                   fd, p[2], kept;

    (void) state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "receipts", 8), 8);
    /* Opened before the fork: the helper must not keep it. */
    kept = open("/dev/null", O_RDONLY);
    assert_true(kept >= 0);
    assert_int_equal(wid_syncer_start(&s, NULL, NULL), 0);
    assert_true(s.sock >= 0 && s.pid > 0);
    /* A real file: synced, and the writer's copy closed by the send. */
    memset(&job, 0, sizeof(job));
    job.fds[0] = dup(fd);
    job.drop_below[0] = 8;
    job.nfds = 1;
    assert_int_equal(wid_syncer_send(&s, &job), 0);
    assert_int_equal(job.nfds, 0);
    assert_int_equal(answer(&s, &job), 1);
    assert_int_equal(job.failed, 0);
    {
        char link[64], fdpath[64];
        ssize_t n;

        snprintf(fdpath, sizeof(fdpath), "/proc/%d/fd/%d", (int) s.pid,
                 kept);
        n = readlink(fdpath, link, sizeof(link) - 1);
        /* Either gone, or (fd number reused) not /dev/null. */
        if (n > 0) {
            link[n] = '\0';
            assert_string_not_equal(link, "/dev/null");
        }
    }


    /* fsync of a pipe fails (EINVAL): reported as failed. */
    assert_int_equal(pipe(p), 0);
    memset(&job, 0, sizeof(job));
    job.fds[0] = p[0];
    job.nfds = 1;
    assert_int_equal(wid_syncer_send(&s, &job), 0);
    assert_false(fd_open(p[0]));
    assert_int_equal(answer(&s, &job), 1);
    assert_int_equal(job.failed, 1);
    close(p[1]);

    /* A job with nothing to sync succeeds. */
    memset(&job, 0, sizeof(job));
    assert_int_equal(wid_syncer_send(&s, &job), 0);
    assert_int_equal(answer(&s, &job), 1);
    assert_int_equal(job.failed, 0);

    wid_syncer_stop(&s);
    assert_int_equal(s.sock, -1);
    assert_int_equal(s.pid, -1);
    close(kept);
    close(fd);
    unlink(path);
}

static void
test_helper_dies(void **state)
{
    wid_syncer            s;
    wid_journal_sync_job  job;
    pid_t                 pid;

    (void) state;
    assert_int_equal(wid_syncer_start(&s, NULL, NULL), 0);
    pid = s.pid;
    assert_int_equal(kill(pid, SIGKILL), 0);
    memset(&job, 0, sizeof(job));
    /* Either the send fails (the caller syncs itself) or the answer says
     * the helper is gone: never a success. */
    if (wid_syncer_send(&s, &job) == 0) {
        assert_int_equal(answer(&s, &job), -1);
        assert_int_equal(job.failed, 1);
    }
    wid_syncer_stop(&s);
    assert_int_equal(kill(pid, 0), -1);           /* reaped */
    assert_int_equal(errno, ESRCH);
}

/* forget runs in the helper, first, and not in the writer. */
static int forget_pipe[2];
static int forgot;

static void
forget(void *arg)
{
    *(int *) arg = 1;
    if (write(forget_pipe[1], "f", 1) != 1) {
        _exit(3);
    }
}

static void
test_forget_runs_in_child(void **state)
{
    wid_syncer     s;
    struct pollfd  p;
    char           c = 0;

    (void) state;
    assert_int_equal(pipe(forget_pipe), 0);
    assert_int_equal(wid_syncer_start(&s, forget, &forgot), 0);
    p.fd = forget_pipe[0];
    p.events = POLLIN;
    assert_int_equal(poll(&p, 1, 5000), 1);
    assert_int_equal(read(forget_pipe[0], &c, 1), 1);
    assert_int_equal(c, 'f');
    assert_int_equal(forgot, 0);        /* the writer's memory untouched */
    wid_syncer_stop(&s);
    close(forget_pipe[0]);
    close(forget_pipe[1]);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sync_and_fail),
        cmocka_unit_test(test_helper_dies),
        cmocka_unit_test(test_forget_runs_in_child),
    };

    return cmocka_run_group_tests_name("journal_syncer", tests, NULL, NULL);
}
