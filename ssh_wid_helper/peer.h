/*
 * Who is on the other end of a Unix socket: the `serve` daemon's peer
 * attestation, done by libcore's Unix peer attestor (attest_unix.h):
 * SO_PEERCRED uid, gid and pid (which must also be the pid on the bytes
 * read: SCM_CREDENTIALS), then /proc/<pid> opened once and read
 * relative to that directory (start time, ids, the executable's path and
 * SHA-256 through the exe link, cached by inode and times), with the PID
 * reuse guards (a process that started after the connection was ready to
 * accept is not the peer; start time and ids must not change while we look).
 *
 * This file only turns the result into what the daemon records and
 * allow-lists.  Anything that cannot be established is
 * ssh.peer_unverifiable on the decision (the surface's stable code), with
 * libcore's finer attest.unix_* code in the peer description.  Reading
 * another user's /proc/<pid>/exe needs root or the same uid.
 */
#ifndef SSH_WID_PEER_H
#define SSH_WID_PEER_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "attest_unix.h"
#include "conf.h"
#include "reason.h"

#define SSH_PEER_DESC_MAX  (PATH_MAX + 256)

typedef wid_unix_exe_cache ssh_exe_cache;

typedef struct {
    pid_t          pid;
    uid_t          uid;
    gid_t          gid;
    uint64_t       starttime;            /* clock ticks after boot */
    char           exe[PATH_MAX];        /* printable ASCII ('?' else) */
    unsigned char  exe_sha256[32];
    char           exe_sha256_hex[65];
    wid_reason_t   detail;               /* libcore's code on failure */
    char           desc[SSH_PEER_DESC_MAX];   /* for the receipt */
} ssh_peer;

/* Boot-relative clock ticks now (for "started after accept"). */
uint64_t ssh_peer_ticks_now(void);

/*
 * Attest the peer of connected socket fd.  accept_ticks: read before the
 * connection was accepted (0: not checked).  sender: the pid the kernel
 * stamped on the request's bytes (wid_unix_recv_cred(), folded with
 * wid_unix_sender_merge(); 0: not checked): it must be the connecting
 * process, the one attested, else ssh.peer_unverifiable with
 * attest.unix_process_changed and "sender_pid=" in the description.
 * cache may be NULL.  On failure out->desc still says what is known, and
 * out->detail the attest.unix_* reason.
 */
wid_reason_t ssh_peer_attest(int fd, pid_t sender, uint64_t accept_ticks,
                             uint64_t exe_max, ssh_exe_cache *cache,
                             ssh_peer *out);

/* ssh.peer_not_allowed unless the allow-lists (if any) admit it. */
wid_reason_t ssh_peer_allowed(const ssh_conf *conf, const ssh_peer *p);

#endif
