/*
 * A journal's fsync in a helper process (see journal_syncer.h for why).
 *
 * One message each way on a SOCK_SEQPACKET pair.  Writer to helper: the
 * job's descriptor count and drop offsets, its descriptors as
 * SCM_RIGHTS.  Helper to writer: one byte, 1 if an fsync failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "journal_syncer.h"

#define WID_SYNC_MAXFDS  (sizeof(((wid_journal_sync_job *) 0)->fds) \
                          / sizeof(int))

typedef struct {
    uint32_t  nfds;
    uint64_t  drop_below[WID_SYNC_MAXFDS];
} wid_sync_msg;


/* The helper's descriptors: its socket as 3, /dev/null below, no other. */
static int
wid_syncer_fds(int sock)
{
    int null = open("/dev/null", O_RDWR);

    if (null < 0 || sock < 0) {
        return -1;
    }
    if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0
        || (sock != 3 && dup2(sock, 3) < 0))
    {
        return -1;
    }
    return close_range(4, ~0U, 0);
}


/* Run jobs until the writer closes its end. */
static void
wid_syncer_serve(int sock)
{
    wid_sync_msg          m;
    wid_journal_sync_job  job;
    char                  cbuf[CMSG_SPACE(sizeof(job.fds))];
    struct iovec          iov;
    struct msghdr         mh;
    struct cmsghdr       *c;
    ssize_t               n;
    uint8_t               failed;
    size_t                nfds, i;

    for (;;) {
        memset(&mh, 0, sizeof(mh));
        iov.iov_base = &m;
        iov.iov_len = sizeof(m);
        mh.msg_iov = &iov;
        mh.msg_iovlen = 1;
        mh.msg_control = cbuf;
        mh.msg_controllen = sizeof(cbuf);
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;                      /* the writer is gone */
        }

        memset(&job, 0, sizeof(job));
        c = CMSG_FIRSTHDR(&mh);
        nfds = 0;
        if (c != NULL && c->cmsg_level == SOL_SOCKET
            && c->cmsg_type == SCM_RIGHTS)
        {
            nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            memcpy(job.fds, CMSG_DATA(c), nfds * sizeof(int));
        }
        failed = 0;
        if ((size_t) n != sizeof(m) || (mh.msg_flags & MSG_CTRUNC)
            || m.nfds != nfds || nfds > WID_SYNC_MAXFDS)
        {
            /* Not a job this writer sends: say it failed. */
            failed = 1;
            for (i = 0; i < nfds && i < WID_SYNC_MAXFDS; i++) {
                close(job.fds[i]);
            }
        } else {
            job.nfds = nfds;
            memcpy(job.drop_below, m.drop_below, sizeof(m.drop_below));
            wid_journal_sync_run(&job);        /* closes the fds */
            failed = job.failed ? 1 : 0;
        }
        while (send(sock, &failed, 1, MSG_NOSIGNAL) < 0) {
            if (errno != EINTR) {
                return;
            }
        }
    }
}


/* The child, right after fork(): never returns. */
static void
wid_syncer_child(int sock, pid_t writer, void (*forget)(void *), void *arg)
{
    sigset_t  none;
    int       sig;

    if (forget != NULL) {
        forget(arg);
    }
    /* The writer's handlers and mask are not the helper's. */
    for (sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) {
            (void) signal(sig, SIG_DFL);
        }
    }
    sigemptyset(&none);
    (void) sigprocmask(SIG_SETMASK, &none, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != writer) {
        _exit(1);                        /* the writer died already */
    }
    (void) prctl(PR_SET_NAME, "wid-fsync");
    if (wid_syncer_fds(sock) != 0) {
        _exit(1);
    }
    wid_syncer_serve(3);
    _exit(0);
}


int
wid_syncer_start(wid_syncer *s, void (*forget)(void *), void *arg)
{
    int    sv[2], err;
    pid_t  writer = getpid(), pid;

    s->sock = -1;
    s->pid = -1;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        err = errno;
        close(sv[0]);
        close(sv[1]);
        errno = err;
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        wid_syncer_child(sv[1], writer, forget, arg);
    }
    close(sv[1]);
    if (fcntl(sv[0], F_SETFL, O_NONBLOCK) != 0) {
        err = errno;
        s->sock = sv[0];
        s->pid = pid;
        wid_syncer_stop(s);
        errno = err;
        return -1;
    }
    s->sock = sv[0];
    s->pid = pid;
    return 0;
}


int
wid_syncer_send(wid_syncer *s, wid_journal_sync_job *job)
{
    wid_sync_msg    m;
    char            cbuf[CMSG_SPACE(sizeof(job->fds))];
    struct iovec    iov;
    struct msghdr   mh;
    struct cmsghdr *c;
    size_t          i;
    ssize_t         n;

    if (s->sock < 0 || job->nfds > WID_SYNC_MAXFDS) {
        errno = EINVAL;
        return -1;
    }
    memset(&m, 0, sizeof(m));
    memset(cbuf, 0, sizeof(cbuf));
    memset(&mh, 0, sizeof(mh));
    m.nfds = (uint32_t) job->nfds;
    memcpy(m.drop_below, job->drop_below, sizeof(m.drop_below));
    iov.iov_base = &m;
    iov.iov_len = sizeof(m);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (job->nfds > 0) {
        mh.msg_control = cbuf;
        mh.msg_controllen = CMSG_SPACE(job->nfds * sizeof(int));
        c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(job->nfds * sizeof(int));
        memcpy(CMSG_DATA(c), job->fds, job->nfds * sizeof(int));
    }
    do {
        n = sendmsg(s->sock, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n != (ssize_t) sizeof(m)) {
        return -1;
    }
    /* The helper has its own references to these files now. */
    for (i = 0; i < job->nfds; i++) {
        close(job->fds[i]);
    }
    job->nfds = 0;
    return 0;
}


int
wid_syncer_answer(wid_syncer *s, wid_journal_sync_job *job)
{
    uint8_t  failed;
    ssize_t  n;

    if (s->sock < 0) {
        job->failed = 1;
        return -1;
    }
    do {
        n = recv(s->sock, &failed, 1, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return 0;
    }
    if (n != 1) {
        job->failed = 1;
        return -1;
    }
    job->failed = failed != 0;
    return 1;
}


void
wid_syncer_stop(wid_syncer *s)
{
    sigset_t  chld, old;

    /*
     * SIGCHLD held until the helper is reaped here, so that the writer's
     * own handler (nginx's) does not reap it and report an unknown child.
     */
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    (void) sigprocmask(SIG_BLOCK, &chld, &old);
    if (s->sock >= 0) {
        close(s->sock);
        s->sock = -1;
    }
    if (s->pid > 0) {
        /* It exits on EOF, once the fsync in hand (if any) is done. */
        while (waitpid(s->pid, NULL, 0) < 0 && errno == EINTR) {
            /* again */
        }
        s->pid = -1;
    }
    (void) sigprocmask(SIG_SETMASK, &old, NULL);
}
