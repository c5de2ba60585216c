/*
 * Who is on the other end of a Unix socket: the `serve` daemon's peer
 * attestation.
 *
 * SO_PEERCRED gives the uid, gid and pid the kernel recorded when the
 * peer connected.  The pid is then looked up in /proc: the executable
 * (/proc/<pid>/exe, its path and the SHA-256 of its contents, at most
 * exe_max bytes) and the process start time.  A pid can be reused by a
 * new process once the peer exits, so:
 *   - /proc/<pid> is opened once and everything is read relative to that
 *     directory (a directory of a dead process reads as nothing);
 *   - the start time is read before and after, and must not change;
 *   - a process that started after the connection was accepted cannot be
 *     the peer.
 * Anything that cannot be established is ssh.peer_unverifiable (fail
 * closed).  Reading another user's /proc/<pid>/exe needs root or the
 * same uid.
 */
#ifndef SSH_WID_PEER_H
#define SSH_WID_PEER_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "conf.h"
#include "reason.h"

#define SSH_PEER_DESC_MAX  (PATH_MAX + 256)
#define SSH_EXE_CACHE      16

typedef struct {
    pid_t          pid;
    uid_t          uid;
    gid_t          gid;
    uint64_t       starttime;            /* clock ticks after boot */
    char           exe[PATH_MAX];
    unsigned char  exe_sha256[32];
    char           exe_sha256_hex[65];
    char           desc[SSH_PEER_DESC_MAX];   /* for the receipt */
} ssh_peer;

/* Hashes of executables by (dev, inode, size, mtime, ctime). */
typedef struct {
    struct {
        dev_t           dev;
        ino_t           ino;
        off_t           size;
        int64_t         mtime_s, mtime_ns, ctime_s, ctime_ns;
        unsigned char   h[32];
        int             used;
    } e[SSH_EXE_CACHE];
    unsigned next;
} ssh_exe_cache;

/* Boot-relative clock ticks now (for "started after accept"). */
uint64_t ssh_peer_ticks_now(void);

/*
 * Attest the peer of connected socket fd, accepted at accept_ticks.
 * cache may be NULL.  On failure out->desc still says what is known.
 */
wid_reason_t ssh_peer_attest(int fd, uint64_t accept_ticks,
                             uint64_t exe_max, ssh_exe_cache *cache,
                             ssh_peer *out);

/* ssh.peer_not_allowed unless the allow-lists (if any) admit it. */
wid_reason_t ssh_peer_allowed(const ssh_conf *conf, const ssh_peer *p);

#endif
