#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

#include "peer.h"

#define SSH_STAT_MAX 4096


uint64_t
ssh_peer_ticks_now(void)
{
    struct timespec ts;
    long            hz = sysconf(_SC_CLK_TCK);

    if (hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &ts) != 0) {
        return 0;
    }
    return (uint64_t) ts.tv_sec * (uint64_t) hz
           + (uint64_t) ts.tv_nsec / (1000000000u / (uint64_t) hz);
}


/* Field 22 of /proc/<pid>/stat, read relative to the /proc/<pid> dir. */
static int
ssh_peer_starttime(int dirfd, uint64_t *out)
{
    char        buf[SSH_STAT_MAX + 1], *p, *end;
    ssize_t     n;
    int         fd, field;
    unsigned long long v;

    fd = openat(dirfd, "stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    do {
        n = read(fd, buf, SSH_STAT_MAX);
    } while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0) {
        return -1;
    }
    buf[n] = '\0';
    /* The command name may hold anything, ')' included: skip to the last. */
    if ((p = strrchr(buf, ')')) == NULL) {
        return -1;
    }
    p++;
    for (field = 2; field < 22; field++) {
        p = strchr(p, ' ');
        if (p == NULL) {
            return -1;
        }
        p++;
    }
    errno = 0;
    v = strtoull(p, &end, 10);
    if (errno != 0 || end == p || (*end != ' ' && *end != '\n')) {
        return -1;
    }
    *out = v;
    return 0;
}


static int
ssh_peer_hash(int fd, uint64_t max, unsigned char h[32])
{
    unsigned char  buf[65536];
    EVP_MD_CTX    *ctx;
    uint64_t       total = 0;
    ssize_t        n;
    int            ok = -1;

    if ((ctx = EVP_MD_CTX_new()) == NULL
        || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
    {
        EVP_MD_CTX_free(ctx);
        return -1;
    }
    for ( ;; ) {
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
        total += (uint64_t) n;
        if (total > max || EVP_DigestUpdate(ctx, buf, (size_t) n) != 1) {
            goto done;
        }
    }
    ok = EVP_DigestFinal_ex(ctx, h, NULL) == 1 ? 0 : -1;

done:
    EVP_MD_CTX_free(ctx);
    return ok;
}


static int
ssh_peer_exe_sha256(int exefd, uint64_t max, ssh_exe_cache *cache,
                    unsigned char h[32])
{
    struct stat st;
    unsigned    i;

    if (fstat(exefd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0
        || (uint64_t) st.st_size > max)
    {
        return -1;
    }
    for (i = 0; cache != NULL && i < SSH_EXE_CACHE; i++) {
        if (cache->e[i].used && cache->e[i].dev == st.st_dev
            && cache->e[i].ino == st.st_ino
            && cache->e[i].size == st.st_size
            && cache->e[i].mtime_s == st.st_mtim.tv_sec
            && cache->e[i].mtime_ns == st.st_mtim.tv_nsec
            && cache->e[i].ctime_s == st.st_ctim.tv_sec
            && cache->e[i].ctime_ns == st.st_ctim.tv_nsec)
        {
            memcpy(h, cache->e[i].h, 32);
            return 0;
        }
    }
    if (ssh_peer_hash(exefd, max, h) != 0) {
        return -1;
    }
    if (cache != NULL) {
        i = cache->next++ % SSH_EXE_CACHE;
        cache->e[i].dev = st.st_dev;
        cache->e[i].ino = st.st_ino;
        cache->e[i].size = st.st_size;
        cache->e[i].mtime_s = st.st_mtim.tv_sec;
        cache->e[i].mtime_ns = st.st_mtim.tv_nsec;
        cache->e[i].ctime_s = st.st_ctim.tv_sec;
        cache->e[i].ctime_ns = st.st_ctim.tv_nsec;
        memcpy(cache->e[i].h, h, 32);
        cache->e[i].used = 1;
    }
    return 0;
}


/* Printable ASCII only in what goes to the receipt. */
static void
ssh_peer_sanitize(char *s)
{
    for (; *s; s++) {
        if ((unsigned char) *s < 0x20 || (unsigned char) *s >= 0x7f) {
            *s = '?';
        }
    }
}


wid_reason_t
ssh_peer_attest(int fd, uint64_t accept_ticks, uint64_t exe_max,
                ssh_exe_cache *cache, ssh_peer *out)
{
    struct ucred  cred;
    socklen_t     len = sizeof(cred);
    char          path[64];
    uint64_t      t2;
    ssize_t       n;
    int           dirfd = -1, exefd = -1;
    wid_reason_t  rc = WID_R_SSH_PEER_UNVERIFIABLE;

    memset(out, 0, sizeof(*out));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0
        || len != sizeof(cred) || cred.pid <= 0)
    {
        snprintf(out->desc, sizeof(out->desc), "peer=unknown");
        return rc;
    }
    out->pid = cred.pid;
    out->uid = cred.uid;
    out->gid = cred.gid;
    snprintf(out->desc, sizeof(out->desc), "uid=%lu gid=%lu pid=%ld",
             (unsigned long) cred.uid, (unsigned long) cred.gid,
             (long) cred.pid);

    snprintf(path, sizeof(path), "/proc/%ld", (long) cred.pid);
    dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0 || ssh_peer_starttime(dirfd, &out->starttime) != 0) {
        goto done;
    }
    /* Started after we accepted the connection: not the peer. */
    if (accept_ticks != 0 && out->starttime > accept_ticks + 1) {
        goto done;
    }
    n = readlinkat(dirfd, "exe", out->exe, sizeof(out->exe) - 1);
    if (n <= 0) {
        goto done;
    }
    out->exe[n] = '\0';
    exefd = openat(dirfd, "exe", O_RDONLY | O_CLOEXEC);
    if (exefd < 0
        || ssh_peer_exe_sha256(exefd, exe_max, cache, out->exe_sha256) != 0)
    {
        goto done;
    }
    /* Same process before and after: the pid was not reused meanwhile. */
    if (ssh_peer_starttime(dirfd, &t2) != 0 || t2 != out->starttime) {
        goto done;
    }
    sodium_bin2hex(out->exe_sha256_hex, sizeof(out->exe_sha256_hex),
                   out->exe_sha256, 32);
    ssh_peer_sanitize(out->exe);
    snprintf(out->desc, sizeof(out->desc),
             "uid=%lu gid=%lu pid=%ld start=%" PRIu64 " exe=%.2048s "
             "exe_sha256=%s", (unsigned long) cred.uid,
             (unsigned long) cred.gid, (long) cred.pid, out->starttime,
             out->exe, out->exe_sha256_hex);
    rc = WID_OK;

done:
    if (exefd >= 0) {
        close(exefd);
    }
    if (dirfd >= 0) {
        close(dirfd);
    }
    return rc;
}


wid_reason_t
ssh_peer_allowed(const ssh_conf *conf, const ssh_peer *p)
{
    size_t i;
    int    ok;

    if (conf->nallow_uids > 0) {
        for (ok = 0, i = 0; i < conf->nallow_uids; i++) {
            ok |= conf->allow_uids[i] == (uint64_t) p->uid;
        }
        if (!ok) {
            return WID_R_SSH_PEER_NOT_ALLOWED;
        }
    }
    if (conf->nallow_exe > 0) {
        for (ok = 0, i = 0; i < conf->nallow_exe; i++) {
            ok |= memcmp(conf->allow_exe[i], p->exe_sha256, 32) == 0;
        }
        if (!ok) {
            return WID_R_SSH_PEER_NOT_ALLOWED;
        }
    }
    return WID_OK;
}
