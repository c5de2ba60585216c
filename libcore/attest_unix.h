/*
 * Unix-socket peer attestation (workload), for the SSH helper's socket.
 *
 * SO_PEERCRED gives the peer's pid, uid and gid as of connect().  That
 * names the process that called connect(), not necessarily the one that
 * writes: a client can fork and hand the socket to a child, then exec an
 * allowed program.  So a reader that wants the writer attested turns on
 * SO_PASSCRED and reads with wid_unix_recv_cred(): the kernel stamps the
 * writer's pid on the bytes (SCM_CREDENTIALS), and the attestation then
 * requires that pid to be SO_PEERCRED's (params.sender).  wid then
 * opens /proc/<pid> once and reads everything relative to that directory
 * (the directory of a process that died reads as nothing, even if its pid
 * is reused): stat (start time), status (uids, gids, supplementary
 * groups), the exe link, and the executable's SHA-256 through that link
 * (bounded size; optionally cached by inode and times).  PID reuse is
 * guarded three ways: a process that started after the credentials were
 * taken (params.accept_ticks) is not the peer; the start time and ids are read again at the
 * end and must not have changed; and the /proc directory stays the one
 * opened first (attest.unix_process_changed).
 *
 * Selectors (type "unix"): uid:<n> user:<name> gid:<n> group:<name>
 * supplementary_gid:<n> path:<exe path> sha256:<hex>.
 */
#ifndef WID_ATTEST_UNIX_H
#define WID_ATTEST_UNIX_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "attest.h"
#include "reason.h"

#define WID_UNIX_EXE_MAX_DEFAULT (256u * 1024u * 1024u)
#define WID_UNIX_EXE_CACHE       16

/*
 * Hashes of executables by (device, inode, size, mtime, ctime), for a
 * daemon that attests many peers running the same few programs.  Zero it
 * before first use; owned by the caller.
 */
typedef struct {
    struct {
        dev_t         dev;
        ino_t         ino;
        off_t         size;
        int64_t       mtime_s, mtime_ns, ctime_s, ctime_ns;
        unsigned char h[32];
        int           used;
    } e[WID_UNIX_EXE_CACHE];
    unsigned next;
} wid_unix_exe_cache;

typedef struct {
    size_t              exe_max;      /* 0: WID_UNIX_EXE_MAX_DEFAULT */
    int64_t             now;
    int64_t             ttl;
    const char         *verifier;
    const char         *proc_root;    /* NULL: "/proc" (tests may redirect) */
    /*
     * Boot-relative clock ticks (wid_unix_ticks_now()) read no later than
     * the credentials were taken: before accept() (the connect() is
     * behind it) and before the bytes were read.  A process that started
     * later cannot be the peer (attest.unix_process_changed).  0: not
     * checked.
     */
    uint64_t            accept_ticks;
    /*
     * The pid stamped on every byte read (wid_unix_recv_cred()): it must
     * be SO_PEERCRED's pid, else attest.unix_process_changed (the
     * process that wrote is not the one that connected).  0: not
     * checked; WID_UNIX_SENDER_MIXED: bytes from several processes, or
     * without credentials (always refused).
     */
    pid_t               sender;
    wid_unix_exe_cache *cache;        /* NULL: hash every time */
    /* No user:/group: selectors: skips the passwd/group (NSS) lookups,
     * for a caller that only needs the ids, the executable and its hash. */
    int                 no_names;
} wid_unix_params;

/* What was established about the peer, for callers that log or allow-list
 * it.  Fields are filled as far as attestation got (pid/uid/gid first). */
typedef struct {
    pid_t              pid;
    uid_t              uid;
    gid_t              gid;
    int                have_cred;     /* pid/uid/gid from SO_PEERCRED */
    unsigned long long starttime;     /* clock ticks after boot */
    char               exe[PATH_MAX]; /* as /proc/<pid>/exe reads */
    unsigned char      exe_sha256[32];
    int                complete;      /* everything above is verified */
} wid_unix_peer;

#define WID_UNIX_SENDER_MIXED ((pid_t) -1)

/* Boot-relative clock ticks now (the unit of /proc/<pid>/stat field 22). */
uint64_t wid_unix_ticks_now(void);

/*
 * Ask for SCM_CREDENTIALS on what fd receives; on a listening socket, the
 * sockets it accepts inherit it from their first byte.  0 or -1.
 */
int wid_unix_pass_cred(int fd);

/*
 * recv() on an AF_UNIX stream socket with SO_PASSCRED on, also giving
 * the pid the kernel stamped on the bytes when they were sent (one read
 * never joins two writers' bytes).  *sender is 0 when none came with
 * them.  Returns what recv() returns.
 */
ssize_t wid_unix_recv_cred(int fd, void *buf, size_t n, pid_t *sender);

/* Fold one read's sender into the connection's (0 = nothing read yet):
 * a second process, or bytes without credentials, make it
 * WID_UNIX_SENDER_MIXED for good. */
pid_t wid_unix_sender_merge(pid_t so_far, pid_t chunk);

/* Attest the peer of a connected AF_UNIX socket. */
wid_reason_t wid_unix_attest_fd(int fd, const wid_unix_params *p,
                                wid_attestation *out);

/* The same, also returning the facts (facts may be NULL). */
wid_reason_t wid_unix_attest_peer(int fd, const wid_unix_params *p,
                                  wid_unix_peer *facts,
                                  wid_attestation *out);

/*
 * Attest a process known by pid and the uid/gid the kernel reported for
 * it (SO_PEERCRED).  Exposed for the socket path above and for tests.
 */
wid_reason_t wid_unix_attest_pid(pid_t pid, uid_t uid, gid_t gid,
                                 const wid_unix_params *p,
                                 wid_attestation *out);

#endif
