/*
 * ssh-wid-helper serve: the issuance daemon on a Unix socket.
 *
 *   ssh-wid-helper serve --config FILE --socket PATH
 *
 * Protocol (docs/ssh.md): one request per connection.  The client sends
 * a 4-byte big-endian length and that many bytes of JSON (at most
 * SSH_REQUEST_MAX); the daemon answers the same way and closes.  The
 * whole exchange must finish within request_timeout_ms.  Every request
 * is decided and recorded (ssh_issue receipt), a refused peer too.
 *
 * The daemon is single-threaded: requests are short (one signature
 * verification, one Ed25519 signature, one journal append).  Open
 * connections are read side by side (serve_conn.c), so a slow or silent
 * client holds only its own slot, until its deadline.  SIGTERM or SIGINT
 * stops it cleanly: the journal's final checkpoint is written, the
 * socket removed, the CA key wiped.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "commands.h"
#include "conf.h"
#include "issuer.h"
#include "peer.h"
#include "serve_conn.h"
#include "util.h"

#define SERVE_USAGE "serve --config FILE --socket PATH"
#define SERVE_TICK_MS 200

/*
 * The largest answer serve_decide can write, from the certificate field
 * limits (sshcert.h), so that SSH_ANSWER_MAX, what clients accept, covers
 * it: the certificate blob (name, nonce, key, serial, type, key id,
 * principals, validity, force-command and source-address, extensions,
 * reserved, CA key, signature), its line (base64, then the key id as the
 * comment), the key id and principals again, the peer description, and
 * room for the names, numbers and receipt id.  JSON escaping at most
 * doubles printable text (principals and key ids are printable ASCII).
 */
#define SERVE_CERT_BLOB_BOUND                                              \
    (3 * (4 + 64) + 8 + 4 + (4 + SSH_KEY_ID_MAX)                            \
     + 4 + SSH_CERT_MAX_PRINCIPALS * (4 + SSH_PRINCIPAL_MAX) + 16           \
     + 4 + 2 * (4 + 64 + 4 + 4) + SSH_FORCE_COMMAND_MAX                     \
     + SSH_SOURCE_ADDRESS_MAX + 4 + SSH_EXT_COUNT * (4 + 64 + 4) + 4        \
     + (4 + 64) + (4 + 4 + 64 + 4 + SSH_ED25519_SIG_LEN))
#define SERVE_ANSWER_BOUND                                                 \
    (2 * (4 * (SERVE_CERT_BLOB_BOUND / 3 + 1) + 64 + SSH_KEY_ID_MAX)        \
     + 2 * SSH_KEY_ID_MAX                                                   \
     + SSH_CERT_MAX_PRINCIPALS * (2 * SSH_PRINCIPAL_MAX + 3)                \
     + 2 * SSH_PEER_DESC_MAX + 4096)
_Static_assert(SERVE_ANSWER_BOUND <= SSH_ANSWER_MAX,
               "a certificate answer could exceed what clients accept");

static volatile sig_atomic_t serve_stop;


static void
serve_on_signal(int sig)
{
    (void) sig;
    serve_stop = 1;
}


/* Write exactly n bytes before the deadline; 0 or -1. */
static int
serve_write(int fd, const void *buf, size_t n, uint64_t deadline)
{
    const unsigned char *p = buf;
    struct pollfd        pfd;
    uint64_t             now;
    ssize_t              r;

    while (n > 0) {
        now = serve_mono_ms();
        if (now >= deadline) {
            return -1;
        }
        pfd.fd = fd;
        pfd.events = POLLOUT;
        pfd.revents = 0;
        r = poll(&pfd, 1, (int) (deadline - now));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        r = send(fd, p, n, MSG_NOSIGNAL);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        p += r;
        n -= (size_t) r;
    }
    return 0;
}


static int
serve_listen(const ssh_conf *conf, const char *path)
{
    struct sockaddr_un  sa;
    struct stat         st;
    struct group       *gr;
    mode_t              old;
    int                 fd;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        fprintf(stderr, "ssh-wid-helper serve: socket path too long\n");
        return -1;
    }
    /* Replace a stale socket, never anything else. */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            fprintf(stderr, "ssh-wid-helper serve: %s exists and is not a "
                    "socket\n", path);
            return -1;
        }
        unlink(path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    /* Accepted sockets inherit SO_PASSCRED: even the bytes a client sends
     * before it is accepted carry the sender's pid. */
    if (fd < 0 || wid_unix_pass_cred(fd) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    /* Created owner-only; opened up to socket_mode once it exists. */
    old = umask(0177);
    if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
        umask(old);
        fprintf(stderr, "ssh-wid-helper serve: bind %s: %s\n", path,
                strerror(errno));
        close(fd);
        return -1;
    }
    umask(old);
    if (conf->socket_group != NULL) {
        gr = getgrnam(conf->socket_group);
        if (gr == NULL || chown(path, (uid_t) -1, gr->gr_gid) != 0) {
            fprintf(stderr, "ssh-wid-helper serve: socket_group %s: %s\n",
                    conf->socket_group, gr ? strerror(errno) : "no such group");
            unlink(path);
            close(fd);
            return -1;
        }
    }
    if (chmod(path, conf->socket_mode) != 0 || listen(fd, 128) != 0) {
        fprintf(stderr, "ssh-wid-helper serve: %s: %s\n", path,
                strerror(errno));
        unlink(path);
        close(fd);
        return -1;
    }
    return fd;
}


/* Send one framed JSON answer; the object is consumed. */
static void
serve_answer(int cfd, json_t *o, uint64_t deadline)
{
    unsigned char  hdr[4];
    char          *out;
    size_t         olen;

    out = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)
                    : NULL;
    json_decref(o);
    if (out == NULL) {
        return;
    }
    olen = strlen(out);
    hdr[0] = (unsigned char) (olen >> 24);
    hdr[1] = (unsigned char) (olen >> 16);
    hdr[2] = (unsigned char) (olen >> 8);
    hdr[3] = (unsigned char) olen;
    if (serve_write(cfd, hdr, 4, deadline) == 0) {
        (void) serve_write(cfd, out, olen, deadline);
    }
    free(out);
}


/* An ssh_login receipt handed over by `principals`. */
static wid_reason_t
serve_login(ssh_issuer *is, int cfd, json_t *req, wid_reason_t prc,
            const ssh_peer *peer, uint64_t deadline)
{
    char          id[WID_RECEIPT_ID_SIZE];
    json_t       *o;
    wid_reason_t  rc;

    rc = ssh_issuer_login_receipt(is, req, prc, (uint64_t) peer->uid,
                                  peer->desc, id);
    json_decref(req);
    o = json_object();
    if (o != NULL) {
        json_object_set_new(o, "verdict", json_string(rc == WID_OK
                                                      ? "recorded"
                                                      : "refused"));
        json_object_set_new(o, "reason", json_string(wid_reason_code(rc)));
        if (id[0] != '\0') {
            json_object_set_new(o, "receipt", json_string(id));
        }
    }
    serve_answer(cfd, o, deadline);
    return rc;
}


/*
 * One complete request (serve_conn.c read it): attest, decide, record,
 * answer.  c->ticks were read before accept(), no later than the peer's
 * credentials were taken.
 *
 * Read first: SO_PEERCRED names the process that called connect(), which
 * may have forked, handed the socket to a child and exec'd an allowed
 * program.  The bytes carry their writer's pid (SO_PASSCRED), and that
 * writer must be the connecting process, the one attested.  The request
 * is read even from a refused peer: it is recorded.
 */
static wid_reason_t
serve_decide(ssh_issuer *is, const ssh_conf *conf, serve_conn *c,
             ssh_exe_cache *cache)
{
    ssh_peer          peer;
    ssh_issue_req     req;
    ssh_issue_result  res;
    char             *buf = c->buf;
    json_t           *o, *lo;
    uint64_t          deadline = c->deadline;
    uint32_t          len = c->len;
    wid_reason_t      arc, prc, rc;
    int               cfd = c->fd, have_req = 0;

    memset(&req, 0, sizeof(req));
    c->buf = NULL;                      /* wiped and freed here */

    arc = ssh_peer_attest(cfd, c->sender, c->ticks, conf->exe_max_bytes,
                          cache, &peer);
    prc = arc == WID_OK ? ssh_peer_allowed(conf, &peer) : arc;
    if (prc == WID_OK && (len == 0 || len > SSH_REQUEST_MAX)) {
        prc = WID_R_SSH_REQUEST_MALFORMED;
    } else if (buf != NULL) {
        if (ssh_login_submission(buf, len, &lo)) {
            ssh_wid_free_secret_len(buf, len);
            return serve_login(is, cfd, lo, arc, &peer, deadline);
        }
        if (prc == WID_OK) {
            prc = ssh_issue_req_parse(buf, len, &req);
            have_req = 1;
        }
        ssh_wid_free_secret_len(buf, len);
    }

    rc = ssh_issuer_handle(is, prc == WID_OK ? &req : NULL, prc, peer.desc,
                           &res);
    if (have_req) {
        ssh_issue_req_free(&req);
    }
    o = ssh_issue_result_json(&res);
    if (o != NULL) {
        json_object_set_new(o, "peer", json_string(peer.desc));
    }
    ssh_issue_result_free(&res);
    serve_answer(cfd, o, deadline);
    return rc;
}


/*
 * One pass of the loop: wait up to a tick (or the nearest deadline) for
 * new connections and request bytes, decide every request that became
 * complete, close connections past their deadline.  Returns the first
 * failure to record (journal.*), else WID_OK.
 */
static wid_reason_t
serve_turn(ssh_issuer *is, const ssh_conf *conf, int lfd, serve_conns *t,
           ssh_exe_cache *cache)
{
    struct pollfd  pfd[SERVE_CONN_MAX + 1];
    uint64_t       now = serve_mono_ms(), wait = SERVE_TICK_MS;
    wid_reason_t   rc, ret = WID_OK;
    size_t         i, np = 0, first;
    int            r;

    /* Full (or out of descriptors): new connections wait in the backlog. */
    if (t->n < SERVE_CONN_MAX && now >= t->accept_again) {
        pfd[np].fd = lfd;
        pfd[np].events = POLLIN;
        pfd[np++].revents = 0;

    } else if (t->n < SERVE_CONN_MAX && t->accept_again - now < wait) {
        wait = t->accept_again - now;
    }
    first = np;
    for (i = 0; i < t->n; i++) {
        pfd[np].fd = t->c[i].fd;
        pfd[np].events = POLLIN;
        pfd[np++].revents = 0;
        if (t->c[i].deadline <= now) {
            wait = 0;
        } else if (t->c[i].deadline - now < wait) {
            wait = t->c[i].deadline - now;
        }
    }
    r = poll(pfd, np, (int) wait);
    if (r < 0) {
        return WID_OK;                  /* EINTR: a signal, the loop sees */
    }
    now = serve_mono_ms();

    /* Backwards: dropping slot i moves the last one into it. */
    for (i = t->n; i-- > 0; ) {
        serve_conn *c = &t->c[i];

        r = pfd[first + i].revents != 0 ? serve_conn_read(c, SSH_REQUEST_MAX)
                                        : 0;
        if (r == 1) {
            rc = serve_decide(is, conf, c, cache);
            if (ret == WID_OK
                && strncmp(wid_reason_code(rc), "journal.", 8) == 0)
            {
                ret = rc;
            }
        }
        if (r != 0 || c->deadline <= now) {
            /* Decided, gone, or out of time (nothing to answer). */
            serve_conns_drop(t, i);
        }
    }
    if (first == 1 && pfd[0].revents != 0) {
        serve_conns_accept(t, lfd, now, conf->request_timeout_ms);
    }
    return ret;
}


int
ssh_wid_cmd_serve(int argc, char **argv)
{
    const char       *config = NULL, *sock = NULL;
    char              err[512];
    ssh_conf          conf;
    ssh_issuer        is;
    ssh_exe_cache    *cache;
    struct sigaction  sa;
    serve_conns      *conns = NULL;
    wid_reason_t      rc;
    int               i, r, lfd, stalled = 0, ret = 0;

    for (i = 1; i < argc; i++) {
        if ((r = ssh_wid_opt(argc, argv, &i, "--config", &config)) == 0) {
            r = ssh_wid_opt(argc, argv, &i, "--socket", &sock);
        }
        if (r <= 0) {
            return ssh_wid_usage_error("serve", r < 0 ? "option needs a value"
                                       : "unknown argument", SERVE_USAGE);
        }
    }
    if (config == NULL || sock == NULL) {
        return ssh_wid_usage_error("serve", "--config and --socket are "
                                   "required", SERVE_USAGE);
    }
    rc = ssh_conf_load_issuer(config, &conf, err, sizeof(err));
    if (rc != WID_OK) {
        return ssh_wid_fail("serve", rc, err);
    }
    rc = ssh_issuer_open(&is, &conf, "serve", err, sizeof(err));
    if (rc != WID_OK) {
        ssh_conf_free(&conf);
        fprintf(stderr, "ssh-wid-helper serve: %s (%s): %s\n",
                wid_reason_code(rc), wid_reason_text(rc), err);
        return 2;
    }
    if ((cache = calloc(1, sizeof(*cache))) == NULL
        || (conns = calloc(1, sizeof(*conns))) == NULL
        || (lfd = serve_listen(&conf, sock)) < 0)
    {
        free(conns);
        free(cache);
        (void) ssh_issuer_close(&is);
        ssh_conf_free(&conf);
        return 2;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = serve_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    fprintf(stderr, "ssh-wid-helper serve: listening on %s\n", sock);
    while (!serve_stop) {
        rc = serve_turn(&is, &conf, lfd, conns, cache);
        if (strncmp(wid_reason_code(rc), "journal.", 8) == 0) {
            /* Cannot record: stop issuing rather than go blind. */
            fprintf(stderr, "ssh-wid-helper serve: %s: stopping\n",
                    wid_reason_code(rc));
            ret = 2;
            break;
        }
        rc = ssh_issuer_tick(&is);
        if (rc == WID_R_INTERNAL_IO) {
            /*
             * A full disk: the journal keeps what it acknowledged and
             * refuses new records (requests are denied) until a tick
             * gets them written.  Said once, when it starts and ends.
             */
            if (!stalled) {
                fprintf(stderr, "ssh-wid-helper serve: journal or index: "
                        "%s: requests are refused until it can be "
                        "written\n", wid_reason_code(rc));
                stalled = 1;
            }
        } else if (rc != WID_OK) {
            fprintf(stderr, "ssh-wid-helper serve: journal or index: %s:"
                    " stopping\n",
                    wid_reason_code(rc));
            ret = 2;
            break;
        } else if (stalled) {
            fprintf(stderr, "ssh-wid-helper serve: journal: written "
                    "again\n");
            stalled = 0;
        }
    }

    while (conns->n > 0) {
        serve_conns_drop(conns, 0);
    }
    free(conns);
    close(lfd);
    unlink(sock);
    rc = ssh_issuer_close(&is);
    if (rc != WID_OK) {
        fprintf(stderr, "ssh-wid-helper serve: closing the journal: %s\n",
                wid_reason_code(rc));
        ret = 2;
    }
    free(cache);
    ssh_conf_free(&conf);
    if (ret == 0) {
        fprintf(stderr, "ssh-wid-helper serve: stopped\n");
    }
    return ret;
}
