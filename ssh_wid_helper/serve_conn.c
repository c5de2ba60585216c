#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "attest_unix.h"
#include "peer.h"
#include "serve_conn.h"
#include "util.h"


uint64_t
serve_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}


static size_t
serve_conns_of_uid(const serve_conns *t, uid_t uid)
{
    size_t i, n = 0;

    for (i = 0; i < t->n; i++) {
        n += t->c[i].uid == uid;
    }
    return n;
}


void
serve_conns_accept(serve_conns *t, int lfd, uint64_t now,
                   uint64_t timeout_ms)
{
    struct ucred  cred;
    socklen_t     clen;
    serve_conn   *c;
    uint64_t      ticks;
    int           fd;

    while (t->n < SERVE_CONN_MAX) {
        /* Before accept(): no later than the peer's connect(). */
        ticks = ssh_peer_ticks_now();
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR
                && errno != ECONNABORTED)
            {
                /* The connection stays queued: try again a little later. */
                t->accept_again = now + SERVE_ACCEPT_BACKOFF_MS;
            }
            return;
        }
        clen = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0
            || clen != sizeof(cred)
            || serve_conns_of_uid(t, cred.uid) >= SERVE_CONN_PER_UID)
        {
            t->capped += 1;
            close(fd);
            continue;
        }
        (void) wid_unix_pass_cred(fd);  /* inherited; without it: refused */
        c = &t->c[t->n++];
        memset(c, 0, sizeof(*c));
        c->fd = fd;
        c->uid = cred.uid;
        c->ticks = ticks;
        c->deadline = now + timeout_ms;
    }
}


int
serve_conn_read(serve_conn *c, uint32_t max)
{
    unsigned char *p;
    size_t         want;
    ssize_t        r;
    pid_t          who;

    for ( ;; ) {
        if (c->got < 4) {
            p = c->hdr + c->got;
            want = 4 - c->got;
        } else {
            p = (unsigned char *) c->buf + (c->got - 4);
            want = c->len - (c->got - 4);
        }
        r = wid_unix_recv_cred(c->fd, p, want, &who);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0;
        }
        if (r <= 0) {
            return -1;
        }
        c->sender = wid_unix_sender_merge(c->sender, who);
        c->got += (size_t) r;

        if (c->got == 4) {
            c->len = (uint32_t) c->hdr[0] << 24 | (uint32_t) c->hdr[1] << 16
                     | (uint32_t) c->hdr[2] << 8 | c->hdr[3];
            if (c->len == 0 || c->len > max) {
                return 1;       /* refused as malformed, body unread */
            }
            if ((c->buf = malloc(c->len)) == NULL) {
                return -1;
            }
        }
        if (c->got > 4 && c->got == 4 + (size_t) c->len) {
            return 1;
        }
    }
}


void
serve_conns_drop(serve_conns *t, size_t i)
{
    serve_conn *c = &t->c[i];

    ssh_wid_free_secret_len(c->buf, c->len);   /* a bearer token, maybe */
    close(c->fd);
    t->c[i] = t->c[--t->n];
}
