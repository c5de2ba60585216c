/*
 * Unix-socket peer attestation (workload), for the SSH helper's socket.
 *
 * SO_PEERCRED gives the peer's pid, uid and gid as of connect().  wid then
 * reads /proc/<pid>/stat (start time), /proc/<pid>/status (uids, gids,
 * supplementary groups), resolves /proc/<pid>/exe and hashes the
 * executable through that link (SHA-256, bounded size).  Afterwards the
 * start time and ids are read again: if the process exited and its pid was
 * reused, or it changed its ids, meanwhile, the attestation is refused
 * (attest.unix_process_changed).
 *
 * Selectors (type "unix"): uid:<n> user:<name> gid:<n> group:<name>
 * supplementary_gid:<n> path:<exe path> sha256:<hex>.
 */
#ifndef WID_ATTEST_UNIX_H
#define WID_ATTEST_UNIX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "attest.h"
#include "reason.h"

#define WID_UNIX_EXE_MAX_DEFAULT (256u * 1024u * 1024u)

typedef struct {
    size_t      exe_max;      /* 0: WID_UNIX_EXE_MAX_DEFAULT */
    int64_t     now;
    int64_t     ttl;
    const char *verifier;
    const char *proc_root;    /* NULL: "/proc" (tests may redirect) */
} wid_unix_params;

/* Attest the peer of a connected AF_UNIX socket. */
wid_reason_t wid_unix_attest_fd(int fd, const wid_unix_params *p,
                                wid_attestation *out);

/*
 * Attest a process known by pid and the uid/gid the kernel reported for
 * it (SO_PEERCRED).  Exposed for the socket path above and for tests.
 */
wid_reason_t wid_unix_attest_pid(pid_t pid, uid_t uid, gid_t gid,
                                 const wid_unix_params *p,
                                 wid_attestation *out);

#endif
