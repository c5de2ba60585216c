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
 * verification, one Ed25519 signature, one journal append), and a
 * per-connection deadline bounds a slow client.  SIGTERM or SIGINT
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
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "commands.h"
#include "conf.h"
#include "issuer.h"
#include "peer.h"
#include "util.h"

#define SERVE_USAGE "serve --config FILE --socket PATH"
#define SERVE_TICK_MS 200

/*
 * The largest answer serve_one can write, from the certificate field
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


static uint64_t
serve_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000u + (uint64_t) ts.tv_nsec / 1000000u;
}


/*
 * Read or write exactly n bytes before the deadline; 0 or -1.  A read
 * folds the pid the kernel stamped on each chunk into *sender (see
 * serve_one).
 */
static int
serve_io(int fd, void *buf, size_t n, int writing, uint64_t deadline,
         pid_t *sender)
{
    unsigned char *p = buf;
    struct pollfd  pfd;
    uint64_t       now;
    ssize_t        r;
    pid_t          who = 0;

    while (n > 0) {
        now = serve_mono_ms();
        if (now >= deadline) {
            return -1;
        }
        pfd.fd = fd;
        pfd.events = writing ? POLLOUT : POLLIN;
        pfd.revents = 0;
        r = poll(&pfd, 1, (int) (deadline - now));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        if (writing) {
            r = send(fd, p, n, MSG_NOSIGNAL);
        } else {
            r = wid_unix_recv_cred(fd, p, n, &who);
        }
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) {
            continue;
        }
        if (r <= 0) {
            return -1;
        }
        if (!writing) {
            *sender = wid_unix_sender_merge(*sender, who);
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
    if (serve_io(cfd, hdr, 4, 1, deadline, NULL) == 0) {
        (void) serve_io(cfd, out, olen, 1, deadline, NULL);
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
 * One connection: read, attest, decide, record, answer.  ticks were read
 * before accept(), no later than the peer's credentials were taken.
 *
 * Read first: SO_PEERCRED names the process that called connect(), which
 * may have forked, handed the socket to a child and exec'd an allowed
 * program.  The bytes carry their writer's pid (SO_PASSCRED), and that
 * writer must be the connecting process, the one attested.
 */
/* A request may carry a bearer token (a JWT-SVID): wiped, then freed. */
static void
serve_wipe_free(char *buf, size_t len)
{
    sodium_memzero(buf, len);
    free(buf);
}


static wid_reason_t
serve_one(ssh_issuer *is, const ssh_conf *conf, int cfd, uint64_t ticks,
          ssh_exe_cache *cache)
{
    ssh_peer          peer;
    ssh_issue_req     req;
    ssh_issue_result  res;
    unsigned char     hdr[4];
    char             *buf = NULL, *out = NULL;
    json_t           *o, *lo;
    uint64_t          deadline;
    uint32_t          len;
    size_t            olen;
    wid_reason_t      arc, prc, rc;
    pid_t             sender = 0;
    int               have_req = 0;

    deadline = serve_mono_ms() + conf->request_timeout_ms;
    memset(&req, 0, sizeof(req));
    (void) wid_unix_pass_cred(cfd);     /* inherited; without it: refused */

    /* The request is read even from a refused peer: it is recorded. */
    if (serve_io(cfd, hdr, 4, 0, deadline, &sender) != 0) {
        return WID_R_SSH_REQUEST_MALFORMED;     /* nothing to answer */
    }
    len = (uint32_t) hdr[0] << 24 | (uint32_t) hdr[1] << 16
          | (uint32_t) hdr[2] << 8 | hdr[3];
    if (len > 0 && len <= SSH_REQUEST_MAX) {
        if ((buf = malloc(len)) == NULL) {
            return WID_R_INTERNAL_NOMEM;
        }
        if (serve_io(cfd, buf, len, 0, deadline, &sender) != 0) {
            serve_wipe_free(buf, len);
            return WID_R_SSH_REQUEST_MALFORMED;
        }
    }

    arc = ssh_peer_attest(cfd, sender, ticks, conf->exe_max_bytes, cache,
                          &peer);
    prc = arc == WID_OK ? ssh_peer_allowed(conf, &peer) : arc;
    if (prc == WID_OK && (len == 0 || len > SSH_REQUEST_MAX)) {
        prc = WID_R_SSH_REQUEST_MALFORMED;
    } else if (buf != NULL) {
        if (ssh_login_submission(buf, len, &lo)) {
            serve_wipe_free(buf, len);
            return serve_login(is, cfd, lo, arc, &peer, deadline);
        }
        if (prc == WID_OK) {
            prc = ssh_issue_req_parse(buf, len, &req);
            have_req = 1;
        }
        serve_wipe_free(buf, len);
    }

    rc = ssh_issuer_handle(is, prc == WID_OK ? &req : NULL, prc, peer.desc,
                           &res);
    if (have_req) {
        ssh_issue_req_free(&req);
    }
    o = ssh_issue_result_json(&res);
    if (o != NULL) {
        json_object_set_new(o, "peer", json_string(peer.desc));
        out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
    }
    ssh_issue_result_free(&res);
    if (out != NULL) {
        olen = strlen(out);
        hdr[0] = (unsigned char) (olen >> 24);
        hdr[1] = (unsigned char) (olen >> 16);
        hdr[2] = (unsigned char) (olen >> 8);
        hdr[3] = (unsigned char) olen;
        if (serve_io(cfd, hdr, 4, 1, deadline, NULL) == 0) {
            (void) serve_io(cfd, out, olen, 1, deadline, NULL);
        }
        free(out);
    }
    return rc;
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
    struct pollfd     pfd;
    wid_reason_t      rc;
    uint64_t          ticks;
    int               i, r, lfd, cfd, ret = 0;

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
        || (lfd = serve_listen(&conf, sock)) < 0)
    {
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
        pfd.fd = lfd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        r = poll(&pfd, 1, SERVE_TICK_MS);
        if (r > 0) {
            /* Before accept(): no later than the peer's connect(). */
            ticks = ssh_peer_ticks_now();
            cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (cfd >= 0) {
                rc = serve_one(&is, &conf, cfd, ticks, cache);
                close(cfd);
                if (strncmp(wid_reason_code(rc), "journal.", 8) == 0) {
                    /* Cannot record: stop issuing rather than go blind. */
                    fprintf(stderr, "ssh-wid-helper serve: %s: stopping\n",
                            wid_reason_code(rc));
                    ret = 2;
                    break;
                }
            }
        }
        rc = ssh_issuer_tick(&is);
        if (rc != WID_OK) {
            fprintf(stderr, "ssh-wid-helper serve: journal or index: %s:"
                    " stopping\n",
                    wid_reason_code(rc));
            ret = 2;
            break;
        }
    }

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
