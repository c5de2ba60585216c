/*
 * A journal's fsync in a helper process, for a single-threaded writer
 * with an event loop (an nginx worker).
 *
 * Why a process and not a thread: a process with a second thread pays on
 * every file descriptor system call it makes, not just the journal's.
 * The kernel takes and drops a reference on the file for each read,
 * write or close once the descriptor table is shared (it skips that for
 * a table with one user), and glibc marks each such call a cancellation
 * point.  For an nginx worker that is a few hundred nanoseconds on every
 * request it serves (bench/NOTES.md).  The helper shares nothing with the
 * writer but a socket: the file descriptors of a sync job are passed over
 * it (SCM_RIGHTS, the same open files), the helper runs
 * wid_journal_sync_run() on them, and answers with the outcome.
 *
 * The helper is forked by the writer and exits when the writer closes
 * its end of the socket or dies (PR_SET_PDEATHSIG).  It holds nothing
 * but the descriptors of the job in hand.
 */
#ifndef WID_JOURNAL_SYNCER_H
#define WID_JOURNAL_SYNCER_H

#include <sys/types.h>

#include "journal.h"

typedef struct {
    int    sock;        /* the writer's end; -1: no helper */
    pid_t  pid;
} wid_syncer;

/*
 * Fork the helper.  In the child, forget(arg) runs first (when not
 * NULL): it wipes what the helper must not keep, such as a signing key.
 * s->sock is non-blocking and close-on-exec.  0, or -1 with errno.
 */
int wid_syncer_start(wid_syncer *s, void (*forget)(void *), void *arg);

/*
 * Hand the job to the helper: on success its descriptors are the
 * helper's (closed here) and the answer comes on s->sock.  -1 with errno:
 * the job is as it was, for the caller to run itself.
 */
int wid_syncer_send(wid_syncer *s, wid_journal_sync_job *job);

/*
 * Read the helper's answer into job->failed.  1: answered; 0: not yet
 * (EAGAIN); -1: the helper is gone (job->failed is set: nothing says the
 * data reached the disk) and the caller stops s.
 */
int wid_syncer_answer(wid_syncer *s, wid_journal_sync_job *job);

/* Close the writer's end and reap the helper (it exits on EOF). */
void wid_syncer_stop(wid_syncer *s);

#endif
