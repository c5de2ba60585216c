/*
 * The `serve` daemon's open connections, read side by side.
 *
 * Each connection sends one framed request (4-byte big-endian length,
 * then that many bytes).  The daemon reads every open connection as its
 * bytes arrive, so a client that connects and sends nothing (or sends
 * slowly) holds only its own slot until its deadline, never the daemon:
 * a complete request is decided as soon as it is complete, whoever else
 * is still writing.  At most SERVE_CONN_MAX connections are open, and at
 * most SERVE_CONN_PER_UID of one user: past that a new connection is
 * closed at once, so one local user cannot take every slot.
 */
#ifndef SSH_SERVE_CONN_H
#define SSH_SERVE_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SERVE_CONN_MAX      64
#define SERVE_CONN_PER_UID  16

typedef struct {
    int            fd;
    uid_t          uid;        /* SO_PEERCRED at accept, for the cap */
    uint64_t       ticks;      /* ssh_peer_ticks_now() before accept() */
    uint64_t       deadline;   /* monotonic ms: the whole exchange */
    unsigned char  hdr[4];
    uint32_t       len;        /* the request length, once hdr is read */
    size_t         got;        /* header and body bytes read so far */
    char          *buf;        /* the body, when 0 < len <= max */
    pid_t          sender;     /* the pid stamped on the bytes read */
} serve_conn;

typedef struct {
    serve_conn  c[SERVE_CONN_MAX];
    size_t      n;
    uint64_t    capped;        /* connections closed by the per-uid cap */
    /* accept() failed (no file descriptor left): the listening socket is
     * not polled before this time, or the loop would spin on it. */
    uint64_t    accept_again;
} serve_conns;

/* Monotonic milliseconds. */
uint64_t serve_mono_ms(void);

/*
 * Accept every pending connection that fits (non-blocking), each with
 * the deadline now + timeout_ms.  Only call while t->n < SERVE_CONN_MAX.
 * When accept() fails for another reason than an empty backlog (EMFILE,
 * ENFILE, ENOMEM), t->accept_again is set SERVE_ACCEPT_BACKOFF_MS ahead.
 */
#define SERVE_ACCEPT_BACKOFF_MS  100

void serve_conns_accept(serve_conns *t, int lfd, uint64_t now,
                        uint64_t timeout_ms);

/*
 * Read what c has ready.  Returns 1 when its request is complete (a
 * length of 0 or above max is complete with its header: nothing more is
 * read), 0 when more is to come, -1 when the peer closed or failed before
 * finishing (nothing to answer).
 */
int serve_conn_read(serve_conn *c, uint32_t max);

/* Close slot i (its body wiped: it may hold a bearer token). */
void serve_conns_drop(serve_conns *t, size_t i);

#endif
