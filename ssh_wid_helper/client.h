/*
 * The client side of the `serve` socket protocol (docs/ssh.md): one
 * framed request (4-byte big-endian length, then that many bytes), one
 * framed answer.  Used by `issue --socket` and by `principals` to hand
 * its ssh_login receipt to the daemon's journal writer.
 */
#ifndef SSH_WID_CLIENT_H
#define SSH_WID_CLIENT_H

#include <stdint.h>

#include "reason.h"

/*
 * Send req (NUL-terminated) to the daemon at path and return its answer
 * in *resp (fresh, NUL-terminated).  timeout_ms > 0 bounds each send and
 * receive; 0 waits as long as the daemon takes.  Any failure is
 * internal.io and *resp is NULL.
 */
wid_reason_t ssh_socket_call(const char *path, const char *req,
                             uint64_t timeout_ms, char **resp);

#endif
