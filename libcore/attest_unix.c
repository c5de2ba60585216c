/*
 * Unix peer attestation through SO_PEERCRED and /proc.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "attest_unix.h"

#define WID_UNIX_GROUPS_MAX 32

typedef struct {
    unsigned long long starttime;
    uid_t              euid;
    gid_t              egid;
    size_t             ngroups;
    gid_t              groups[WID_UNIX_GROUPS_MAX];
} wid_unix_proc;


static int
wid_unix_read(int dirfd, const char *name, char *buf, size_t size)
{
    ssize_t n;
    size_t  len = 0;
    int     fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd < 0) {
        return -1;
    }
    while (len + 1 < size) {
        n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t) n;
    }
    close(fd);
    buf[len] = '\0';
    return len > 0 ? 0 : -1;
}


uint64_t
wid_unix_ticks_now(void)
{
    struct timespec ts;
    long            hz = sysconf(_SC_CLK_TCK);

    if (hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &ts) != 0) {
        return 0;
    }
    return (uint64_t) ts.tv_sec * (uint64_t) hz
           + (uint64_t) ts.tv_nsec / (1000000000u / (uint64_t) hz);
}


/* Field 22 of /proc/<pid>/stat, counted after the last ')' (the command
 * name may contain spaces and parentheses). */
static int
wid_unix_starttime(const char *stat, unsigned long long *out)
{
    const char *p = strrchr(stat, ')');
    char       *end;
    int         field;

    if (p == NULL) {
        return -1;
    }
    p++;
    for (field = 3; field <= 22; field++) {
        while (*p == ' ') {
            p++;
        }
        if (*p == '\0') {
            return -1;
        }
        if (field == 22) {
            errno = 0;
            *out = strtoull(p, &end, 10);
            return errno == 0 && end != p ? 0 : -1;
        }
        while (*p != ' ' && *p != '\0') {
            p++;
        }
    }
    return -1;
}


/* "Uid:\treal\teffective\tsaved\tfs": the effective (second) value. */
static int
wid_unix_status_id(const char *status, const char *key, unsigned long *out)
{
    const char *p = strstr(status, key);
    char       *end;

    if (p == NULL || (p != status && p[-1] != '\n')) {
        return -1;
    }
    p += strlen(key);
    errno = 0;
    (void) strtoul(p, &end, 10);
    if (errno != 0 || end == p) {
        return -1;
    }
    p = end;
    *out = strtoul(p, &end, 10);
    return errno == 0 && end != p ? 0 : -1;
}


static int
wid_unix_proc_read(int dirfd, wid_unix_proc *pr)
{
    char          buf[8192];
    const char   *g;
    char         *end;
    unsigned long v;

    memset(pr, 0, sizeof(*pr));
    if (wid_unix_read(dirfd, "stat", buf, sizeof(buf)) != 0
        || wid_unix_starttime(buf, &pr->starttime) != 0)
    {
        return -1;
    }
    if (wid_unix_read(dirfd, "status", buf, sizeof(buf)) != 0
        || wid_unix_status_id(buf, "Uid:", &v) != 0)
    {
        return -1;
    }
    pr->euid = (uid_t) v;
    if (wid_unix_status_id(buf, "Gid:", &v) != 0) {
        return -1;
    }
    pr->egid = (gid_t) v;

    g = strstr(buf, "\nGroups:");
    if (g != NULL) {
        g += strlen("\nGroups:");
        for (;;) {
            while (*g == ' ' || *g == '\t') {
                g++;
            }
            if (*g < '0' || *g > '9') {
                break;
            }
            errno = 0;
            v = strtoul(g, &end, 10);
            if (errno != 0 || pr->ngroups >= WID_UNIX_GROUPS_MAX) {
                return -1;
            }
            pr->groups[pr->ngroups++] = (gid_t) v;
            g = end;
        }
    }
    return 0;
}


static wid_reason_t
wid_unix_hash_fd(int fd, size_t max, unsigned char digest[32])
{
    unsigned char  buf[65536];
    EVP_MD_CTX    *ctx;
    ssize_t        n;
    size_t         total = 0;
    unsigned int   dlen;
    wid_reason_t   rc = WID_R_ATTEST_UNIX_PROC;

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return WID_R_INTERNAL_NOMEM;
    }
    for (;;) {
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            goto done;
        }
        if (n == 0) {
            break;
        }
        total += (size_t) n;
        /* The file may grow while we read: the limit holds anyway. */
        if (total > max) {
            rc = WID_R_ATTEST_UNIX_EXE_TOO_LARGE;
            goto done;
        }
        if (EVP_DigestUpdate(ctx, buf, (size_t) n) != 1) {
            rc = WID_R_INTERNAL_CRYPTO;
            goto done;
        }
    }
    rc = EVP_DigestFinal_ex(ctx, digest, &dlen) == 1 && dlen == 32
         ? WID_OK : WID_R_INTERNAL_CRYPTO;

done:
    EVP_MD_CTX_free(ctx);
    return rc;
}


static int
wid_unix_cache_hit(const wid_unix_exe_cache *c, const struct stat *st,
                   unsigned char digest[32])
{
    unsigned i;

    for (i = 0; c != NULL && i < WID_UNIX_EXE_CACHE; i++) {
        if (c->e[i].used && c->e[i].dev == st->st_dev
            && c->e[i].ino == st->st_ino && c->e[i].size == st->st_size
            && c->e[i].mtime_s == st->st_mtim.tv_sec
            && c->e[i].mtime_ns == st->st_mtim.tv_nsec
            && c->e[i].ctime_s == st->st_ctim.tv_sec
            && c->e[i].ctime_ns == st->st_ctim.tv_nsec)
        {
            memcpy(digest, c->e[i].h, 32);
            return 1;
        }
    }
    return 0;
}


static void
wid_unix_cache_put(wid_unix_exe_cache *c, const struct stat *st,
                   const unsigned char digest[32])
{
    unsigned i;

    if (c == NULL) {
        return;
    }
    i = c->next++ % WID_UNIX_EXE_CACHE;
    c->e[i].dev = st->st_dev;
    c->e[i].ino = st->st_ino;
    c->e[i].size = st->st_size;
    c->e[i].mtime_s = st->st_mtim.tv_sec;
    c->e[i].mtime_ns = st->st_mtim.tv_nsec;
    c->e[i].ctime_s = st->st_ctim.tv_sec;
    c->e[i].ctime_ns = st->st_ctim.tv_nsec;
    memcpy(c->e[i].h, digest, 32);
    c->e[i].used = 1;
}


static wid_reason_t
wid_unix_hash_exe(int dirfd, size_t max, wid_unix_exe_cache *cache,
                  unsigned char digest[32], char *exe, size_t exe_size)
{
    struct stat   st;
    ssize_t       l;
    int           fd;
    wid_reason_t  rc;

    l = readlinkat(dirfd, "exe", exe, exe_size - 1);
    if (l <= 0 || (size_t) l >= exe_size - 1) {
        return WID_R_ATTEST_UNIX_PROC;
    }
    exe[l] = '\0';

    /* Through the /proc link, not the path: the file the process runs,
     * even if the path was replaced or deleted since. */
    fd = openat(dirfd, "exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)
        || st.st_size < 0)
    {
        if (fd >= 0) {
            close(fd);
        }
        return WID_R_ATTEST_UNIX_PROC;
    }
    if ((unsigned long long) st.st_size > max) {
        close(fd);
        return WID_R_ATTEST_UNIX_EXE_TOO_LARGE;
    }
    if (wid_unix_cache_hit(cache, &st, digest)) {
        close(fd);
        return WID_OK;
    }
    rc = wid_unix_hash_fd(fd, max, digest);
    close(fd);
    if (rc == WID_OK) {
        wid_unix_cache_put(cache, &st, digest);
    }
    return rc;
}


static wid_reason_t
wid_unix_sel_num(wid_attestation *a, const char *key, unsigned long v)
{
    char sel[64];

    snprintf(sel, sizeof(sel), "%s:%lu", key, v);
    return wid_attestation_add_selector(a, "unix", sel);
}


static wid_reason_t
wid_unix_sel_str(wid_attestation *a, const char *key, const char *v)
{
    char sel[WID_ATTEST_SEL_VALUE_MAX + 1];
    int  n = snprintf(sel, sizeof(sel), "%s:%s", key, v);

    if (n < 0 || (size_t) n >= sizeof(sel)) {
        return WID_R_ATTEST_EVIDENCE_TOO_LARGE;
    }
    return wid_attestation_add_selector(a, "unix", sel);
}


static wid_reason_t
wid_unix_names(wid_attestation *a, uid_t uid, gid_t gid)
{
    struct passwd  pw, *pwp = NULL;
    struct group   gr, *grp = NULL;
    char           buf[4096];
    wid_reason_t   rc = WID_OK;

    /* A uid without a passwd entry simply has no user: selector. */
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp) == 0 && pwp != NULL) {
        rc = wid_unix_sel_str(a, "user", pwp->pw_name);
    }
    if (rc == WID_OK && getgrgid_r(gid, &gr, buf, sizeof(buf), &grp) == 0
        && grp != NULL)
    {
        rc = wid_unix_sel_str(a, "group", grp->gr_name);
    }
    return rc;
}


/* The work of wid_unix_attest_pid, filling facts as it goes. */
static wid_reason_t
wid_unix_attest(pid_t pid, uid_t uid, gid_t gid, const wid_unix_params *p,
                wid_unix_peer *facts, wid_attestation *out)
{
    const char    *root = p->proc_root != NULL ? p->proc_root : "/proc";
    wid_unix_proc  before, after;
    unsigned char  digest[32];
    char           exe[PATH_MAX], hex[65], subject[64], path[256];
    size_t         i;
    int            dirfd, n;
    wid_reason_t   rc;

    memset(out, 0, sizeof(*out));
    if (pid <= 0) {
        return WID_R_ATTEST_UNIX_PEERCRED;
    }
    n = snprintf(path, sizeof(path), "%s/%d", root, (int) pid);
    if (n < 0 || (size_t) n >= sizeof(path)) {
        return WID_R_ATTEST_UNIX_PROC;
    }
    /* Opened once: a dead process's directory reads as nothing, even if
     * a new process gets its pid meanwhile. */
    dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0 || wid_unix_proc_read(dirfd, &before) != 0) {
        /* Gone already: nothing left to attest. */
        if (dirfd >= 0) {
            close(dirfd);
        }
        return WID_R_ATTEST_UNIX_PROCESS_CHANGED;
    }
    facts->starttime = before.starttime;
    /* Started after the credentials were taken: not the peer.  (One tick
     * of slack: the two clocks are read at different moments.) */
    if ((p->accept_ticks != 0 && before.starttime > p->accept_ticks + 1)
        || before.euid != uid || before.egid != gid)
    {
        close(dirfd);
        return WID_R_ATTEST_UNIX_PROCESS_CHANGED;
    }
    rc = wid_unix_hash_exe(dirfd,
                           p->exe_max != 0 ? p->exe_max
                                           : WID_UNIX_EXE_MAX_DEFAULT,
                           p->cache, digest, exe, sizeof(exe));
    if (rc != WID_OK) {
        /* An exe that vanished with its process is a changed process. */
        if (rc == WID_R_ATTEST_UNIX_PROC
            && wid_unix_proc_read(dirfd, &after) != 0)
        {
            rc = WID_R_ATTEST_UNIX_PROCESS_CHANGED;
        }
        close(dirfd);
        return rc;
    }
    memcpy(facts->exe, exe, sizeof(facts->exe));
    memcpy(facts->exe_sha256, digest, 32);

    wid_attestation_init(out, WID_ATTEST_UNIX, p->verifier);
    rc = wid_attestation_set_window(out, p->now, p->ttl);
    if (rc == WID_OK) {
        rc = wid_unix_sel_num(out, "uid", uid);
    }
    if (rc == WID_OK) {
        rc = wid_unix_sel_num(out, "gid", gid);
    }
    for (i = 0; rc == WID_OK && i < before.ngroups; i++) {
        rc = wid_unix_sel_num(out, "supplementary_gid", before.groups[i]);
    }
    if (rc == WID_OK && !p->no_names) {
        rc = wid_unix_names(out, uid, gid);
    }
    if (rc == WID_OK) {
        rc = wid_unix_sel_str(out, "path", exe);
    }
    if (rc == WID_OK) {
        wid_hex(digest, 32, hex);
        rc = wid_unix_sel_str(out, "sha256", hex);
    }
    if (rc == WID_OK) {
        snprintf(subject, sizeof(subject), "pid:%d:%llu", (int) pid,
                 before.starttime);
        rc = wid_attestation_set_subject(out, subject);
    }
    /* The evidence is what was measured: pid, start time, ids, exe hash. */
    if (rc == WID_OK) {
        char ev[160];

        n = snprintf(ev, sizeof(ev), "%d:%llu:%lu:%lu:%s", (int) pid,
                     before.starttime, (unsigned long) uid,
                     (unsigned long) gid, hex);
        wid_attestation_hash_evidence(out, (const unsigned char *) ev,
                                      (size_t) n);
    }

    /* PID-reuse guard: the same process, with the same ids, still. */
    if (rc == WID_OK
        && (wid_unix_proc_read(dirfd, &after) != 0
            || after.starttime != before.starttime
            || after.euid != before.euid || after.egid != before.egid))
    {
        rc = WID_R_ATTEST_UNIX_PROCESS_CHANGED;
    }
    close(dirfd);
    if (rc != WID_OK) {
        memset(out, 0, sizeof(*out));
        return rc;
    }
    facts->complete = 1;
    return WID_OK;
}


wid_reason_t
wid_unix_attest_pid(pid_t pid, uid_t uid, gid_t gid,
                    const wid_unix_params *p, wid_attestation *out)
{
    wid_unix_peer facts;

    memset(&facts, 0, sizeof(facts));
    return wid_unix_attest(pid, uid, gid, p, &facts, out);
}


wid_reason_t
wid_unix_attest_peer(int fd, const wid_unix_params *p, wid_unix_peer *facts,
                     wid_attestation *out)
{
    struct ucred   cred;
    socklen_t      len = sizeof(cred);
    wid_unix_peer  local;

    if (facts == NULL) {
        facts = &local;
    }
    memset(facts, 0, sizeof(*facts));
    memset(out, 0, sizeof(*out));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0
        || len != sizeof(cred) || cred.pid <= 0)
    {
        return WID_R_ATTEST_UNIX_PEERCRED;
    }
    facts->pid = cred.pid;
    facts->uid = cred.uid;
    facts->gid = cred.gid;
    facts->have_cred = 1;
    /* The process that wrote must be the one that connected: the one
     * attested below.  A fork after connect() would otherwise let a child
     * speak while its parent execs an allowed program. */
    if (p->sender != 0 && p->sender != cred.pid) {
        return WID_R_ATTEST_UNIX_PROCESS_CHANGED;
    }
    return wid_unix_attest(cred.pid, cred.uid, cred.gid, p, facts, out);
}


int
wid_unix_pass_cred(int fd)
{
    int on = 1;

    return setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
}


ssize_t
wid_unix_recv_cred(int fd, void *buf, size_t n, pid_t *sender)
{
    union {
        struct cmsghdr h;
        unsigned char  b[CMSG_SPACE(sizeof(struct ucred))];
    }               ctl;
    struct iovec    iov;
    struct msghdr   msg;
    struct cmsghdr *c;
    struct ucred    cred;
    ssize_t         r;

    *sender = 0;
    iov.iov_base = buf;
    iov.iov_len = n;
    memset(&msg, 0, sizeof(msg));
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.b;
    msg.msg_controllen = sizeof(ctl.b);
    r = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (r <= 0) {
        return r;
    }
    for (c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS
            && c->cmsg_len == CMSG_LEN(sizeof(cred)))
        {
            memcpy(&cred, CMSG_DATA(c), sizeof(cred));
            *sender = cred.pid > 0 ? cred.pid : 0;
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            /* Descriptors nobody asked for: not kept open here. */
            unsigned char *d = CMSG_DATA(c);
            size_t         k, nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            int            sfd;

            for (k = 0; k < nfd; k++) {
                memcpy(&sfd, d + k * sizeof(int), sizeof(int));
                close(sfd);
            }
        }
    }
    return r;
}


pid_t
wid_unix_sender_merge(pid_t so_far, pid_t chunk)
{
    if (so_far == WID_UNIX_SENDER_MIXED || chunk <= 0
        || (so_far != 0 && so_far != chunk))
    {
        return WID_UNIX_SENDER_MIXED;
    }
    return chunk;
}


wid_reason_t
wid_unix_attest_fd(int fd, const wid_unix_params *p, wid_attestation *out)
{
    return wid_unix_attest_peer(fd, p, NULL, out);
}
