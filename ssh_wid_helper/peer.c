#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "peer.h"

/* How long the daemon's own view of a peer is good for (not exported). */
#define SSH_PEER_TTL 60


uint64_t
ssh_peer_ticks_now(void)
{
    return wid_unix_ticks_now();
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
ssh_peer_attest(int fd, pid_t sender, uint64_t accept_ticks, uint64_t exe_max,
                ssh_exe_cache *cache, ssh_peer *out)
{
    wid_unix_params  prm;
    wid_unix_peer    f;
    wid_attestation *att;
    wid_reason_t     rc;

    memset(out, 0, sizeof(*out));
    /* Large (selectors): not on the stack. */
    if ((att = malloc(sizeof(*att))) == NULL) {
        snprintf(out->desc, sizeof(out->desc), "peer=unknown");
        out->detail = WID_R_INTERNAL_NOMEM;
        return WID_R_SSH_PEER_UNVERIFIABLE;
    }
    memset(&prm, 0, sizeof(prm));
    prm.exe_max = (size_t) exe_max;
    prm.now = (int64_t) time(NULL);
    prm.ttl = SSH_PEER_TTL;
    prm.verifier = "ssh-wid-helper";
    prm.accept_ticks = accept_ticks;
    prm.sender = sender;
    prm.cache = cache;
    prm.no_names = 1;       /* ids are what the daemon records and checks */
    rc = wid_unix_attest_peer(fd, &prm, &f, att);
    free(att);

    if (!f.have_cred) {
        snprintf(out->desc, sizeof(out->desc), "peer=unknown");
        out->detail = rc;
        return WID_R_SSH_PEER_UNVERIFIABLE;
    }
    out->pid = f.pid;
    out->uid = f.uid;
    out->gid = f.gid;
    if (rc != WID_OK || !f.complete) {
        out->detail = rc != WID_OK ? rc : WID_R_ATTEST_UNIX_PROC;
        snprintf(out->desc, sizeof(out->desc),
                 "uid=%lu gid=%lu pid=%ld unverified=%s",
                 (unsigned long) f.uid, (unsigned long) f.gid,
                 (long) f.pid, wid_reason_code(out->detail));
        /* Who wrote the request, when that is not who connected. */
        if (sender != 0 && sender != f.pid) {
            size_t l = strlen(out->desc);

            if (sender == WID_UNIX_SENDER_MIXED) {
                snprintf(out->desc + l, sizeof(out->desc) - l,
                         " sender_pid=mixed");
            } else {
                snprintf(out->desc + l, sizeof(out->desc) - l,
                         " sender_pid=%ld", (long) sender);
            }
        }
        return WID_R_SSH_PEER_UNVERIFIABLE;
    }
    out->starttime = f.starttime;
    memcpy(out->exe, f.exe, sizeof(out->exe));
    memcpy(out->exe_sha256, f.exe_sha256, 32);
    sodium_bin2hex(out->exe_sha256_hex, sizeof(out->exe_sha256_hex),
                   out->exe_sha256, 32);
    ssh_peer_sanitize(out->exe);
    snprintf(out->desc, sizeof(out->desc),
             "uid=%lu gid=%lu pid=%ld start=%" PRIu64 " exe=%.2048s "
             "exe_sha256=%s", (unsigned long) f.uid, (unsigned long) f.gid,
             (long) f.pid, out->starttime, out->exe, out->exe_sha256_hex);
    return WID_OK;
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
