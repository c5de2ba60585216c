/*
 * Unix peer attestation through SO_PEERCRED and /proc.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "attest_unix.h"

#define WID_UNIX_GROUPS_MAX 32

typedef struct {
    unsigned long long starttime;
    uid_t              euid;
    gid_t              egid;
    size_t             ngroups;
    gid_t              groups[WID_UNIX_GROUPS_MAX];
} wid_unix_proc;


static int
wid_unix_read(const char *path, char *buf, size_t size)
{
    ssize_t n;
    size_t  len = 0;
    int     fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return -1;
    }
    while (len + 1 < size) {
        n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t) n;
    }
    close(fd);
    buf[len] = '\0';
    return len > 0 ? 0 : -1;
}


/* Field 22 of /proc/<pid>/stat, counted after the last ')' (the command
 * name may contain spaces and parentheses). */
static int
wid_unix_starttime(const char *stat, unsigned long long *out)
{
    const char *p = strrchr(stat, ')');
    char       *end;
    int         field;

    if (p == NULL) {
        return -1;
    }
    p++;
    for (field = 3; field <= 22; field++) {
        while (*p == ' ') {
            p++;
        }
        if (*p == '\0') {
            return -1;
        }
        if (field == 22) {
            errno = 0;
            *out = strtoull(p, &end, 10);
            return errno == 0 && end != p ? 0 : -1;
        }
        while (*p != ' ' && *p != '\0') {
            p++;
        }
    }
    return -1;
}


/* "Uid:\treal\teffective\tsaved\tfs": the effective (second) value. */
static int
wid_unix_status_id(const char *status, const char *key, unsigned long *out)
{
    const char *p = strstr(status, key);
    char       *end;

    if (p == NULL || (p != status && p[-1] != '\n')) {
        return -1;
    }
    p += strlen(key);
    errno = 0;
    (void) strtoul(p, &end, 10);
    if (errno != 0 || end == p) {
        return -1;
    }
    p = end;
    *out = strtoul(p, &end, 10);
    return errno == 0 && end != p ? 0 : -1;
}


static int
wid_unix_proc_read(const char *root, pid_t pid, wid_unix_proc *pr)
{
    char          path[256], buf[8192];
    const char   *g;
    char         *end;
    unsigned long v;

    memset(pr, 0, sizeof(*pr));
    snprintf(path, sizeof(path), "%s/%d/stat", root, (int) pid);
    if (wid_unix_read(path, buf, sizeof(buf)) != 0
        || wid_unix_starttime(buf, &pr->starttime) != 0)
    {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/%d/status", root, (int) pid);
    if (wid_unix_read(path, buf, sizeof(buf)) != 0
        || wid_unix_status_id(buf, "Uid:", &v) != 0)
    {
        return -1;
    }
    pr->euid = (uid_t) v;
    if (wid_unix_status_id(buf, "Gid:", &v) != 0) {
        return -1;
    }
    pr->egid = (gid_t) v;

    g = strstr(buf, "\nGroups:");
    if (g != NULL) {
        g += strlen("\nGroups:");
        for (;;) {
            while (*g == ' ' || *g == '\t') {
                g++;
            }
            if (*g < '0' || *g > '9') {
                break;
            }
            errno = 0;
            v = strtoul(g, &end, 10);
            if (errno != 0 || pr->ngroups >= WID_UNIX_GROUPS_MAX) {
                return -1;
            }
            pr->groups[pr->ngroups++] = (gid_t) v;
            g = end;
        }
    }
    return 0;
}


static wid_reason_t
wid_unix_hash_exe(const char *root, pid_t pid, size_t max,
                  unsigned char digest[32], char *exe, size_t exe_size)
{
    char          path[256], buf[65536];
    struct stat   st;
    EVP_MD_CTX   *ctx;
    ssize_t       n, l;
    size_t        total = 0;
    unsigned int  dlen;
    int           fd;
    wid_reason_t  rc = WID_R_ATTEST_UNIX_PROC;

    snprintf(path, sizeof(path), "%s/%d/exe", root, (int) pid);
    l = readlink(path, exe, exe_size - 1);
    if (l <= 0 || (size_t) l >= exe_size - 1) {
        return WID_R_ATTEST_UNIX_PROC;
    }
    exe[l] = '\0';

    /* Through the /proc link, not the path: the file the process runs,
     * even if the path was replaced or deleted since. */
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) {
            close(fd);
        }
        return WID_R_ATTEST_UNIX_PROC;
    }
    if ((unsigned long long) st.st_size > max) {
        close(fd);
        return WID_R_ATTEST_UNIX_EXE_TOO_LARGE;
    }
    ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        close(fd);
        return WID_R_INTERNAL_NOMEM;
    }
    for (;;) {
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            goto done;
        }
        if (n == 0) {
            break;
        }
        total += (size_t) n;
        /* The file may grow while we read: the limit holds anyway. */
        if (total > max) {
            rc = WID_R_ATTEST_UNIX_EXE_TOO_LARGE;
            goto done;
        }
        if (EVP_DigestUpdate(ctx, buf, (size_t) n) != 1) {
            rc = WID_R_INTERNAL_CRYPTO;
            goto done;
        }
    }
    rc = EVP_DigestFinal_ex(ctx, digest, &dlen) == 1 && dlen == 32
         ? WID_OK : WID_R_INTERNAL_CRYPTO;

done:
    EVP_MD_CTX_free(ctx);
    close(fd);
    return rc;
}


static wid_reason_t
wid_unix_sel_num(wid_attestation *a, const char *key, unsigned long v)
{
    char sel[64];

    snprintf(sel, sizeof(sel), "%s:%lu", key, v);
    return wid_attestation_add_selector(a, "unix", sel);
}


static wid_reason_t
wid_unix_sel_str(wid_attestation *a, const char *key, const char *v)
{
    char sel[WID_ATTEST_SEL_VALUE_MAX + 1];
    int  n = snprintf(sel, sizeof(sel), "%s:%s", key, v);

    if (n < 0 || (size_t) n >= sizeof(sel)) {
        return WID_R_ATTEST_EVIDENCE_TOO_LARGE;
    }
    return wid_attestation_add_selector(a, "unix", sel);
}


static wid_reason_t
wid_unix_names(wid_attestation *a, uid_t uid, gid_t gid)
{
    struct passwd  pw, *pwp = NULL;
    struct group   gr, *grp = NULL;
    char           buf[4096];
    wid_reason_t   rc = WID_OK;

    /* A uid without a passwd entry simply has no user: selector. */
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp) == 0 && pwp != NULL) {
        rc = wid_unix_sel_str(a, "user", pwp->pw_name);
    }
    if (rc == WID_OK && getgrgid_r(gid, &gr, buf, sizeof(buf), &grp) == 0
        && grp != NULL)
    {
        rc = wid_unix_sel_str(a, "group", grp->gr_name);
    }
    return rc;
}


wid_reason_t
wid_unix_attest_pid(pid_t pid, uid_t uid, gid_t gid,
                    const wid_unix_params *p, wid_attestation *out)
{
    const char    *root = p->proc_root != NULL ? p->proc_root : "/proc";
    wid_unix_proc  before, after;
    unsigned char  digest[32];
    char           exe[4096], hex[65], subject[64];
    size_t         i;
    wid_reason_t   rc;

    memset(out, 0, sizeof(*out));
    if (pid <= 0) {
        return WID_R_ATTEST_UNIX_PEERCRED;
    }
    if (wid_unix_proc_read(root, pid, &before) != 0) {
        /* Gone already: nothing left to attest. */
        return WID_R_ATTEST_UNIX_PROCESS_CHANGED;
    }
    if (before.euid != uid || before.egid != gid) {
        return WID_R_ATTEST_UNIX_PROCESS_CHANGED;
    }
    rc = wid_unix_hash_exe(root, pid,
                           p->exe_max != 0 ? p->exe_max
                                           : WID_UNIX_EXE_MAX_DEFAULT,
                           digest, exe, sizeof(exe));
    if (rc != WID_OK) {
        /* An exe that vanished with its process is a changed process. */
        if (rc == WID_R_ATTEST_UNIX_PROC
            && wid_unix_proc_read(root, pid, &after) != 0)
        {
            rc = WID_R_ATTEST_UNIX_PROCESS_CHANGED;
        }
        return rc;
    }

    wid_attestation_init(out, WID_ATTEST_UNIX, p->verifier);
    rc = wid_attestation_set_window(out, p->now, p->ttl);
    if (rc == WID_OK) {
        rc = wid_unix_sel_num(out, "uid", uid);
    }
    if (rc == WID_OK) {
        rc = wid_unix_sel_num(out, "gid", gid);
    }
    for (i = 0; rc == WID_OK && i < before.ngroups; i++) {
        rc = wid_unix_sel_num(out, "supplementary_gid", before.groups[i]);
    }
    if (rc == WID_OK) {
        rc = wid_unix_names(out, uid, gid);
    }
    if (rc == WID_OK) {
        rc = wid_unix_sel_str(out, "path", exe);
    }
    if (rc == WID_OK) {
        wid_attest_hex(digest, 32, hex);
        rc = wid_unix_sel_str(out, "sha256", hex);
    }
    if (rc == WID_OK) {
        snprintf(subject, sizeof(subject), "pid:%d:%llu", (int) pid,
                 before.starttime);
        rc = wid_attestation_set_subject(out, subject);
    }
    /* The evidence is what was measured: pid, start time, ids, exe hash. */
    if (rc == WID_OK) {
        char ev[160];
        int  n = snprintf(ev, sizeof(ev), "%d:%llu:%lu:%lu:%s", (int) pid,
                          before.starttime, (unsigned long) uid,
                          (unsigned long) gid, hex);

        wid_attestation_hash_evidence(out, (const unsigned char *) ev,
                                      (size_t) n);
    }

    /* PID-reuse guard: the same process, with the same ids, still. */
    if (rc == WID_OK
        && (wid_unix_proc_read(root, pid, &after) != 0
            || after.starttime != before.starttime
            || after.euid != before.euid || after.egid != before.egid))
    {
        rc = WID_R_ATTEST_UNIX_PROCESS_CHANGED;
    }
    if (rc != WID_OK) {
        memset(out, 0, sizeof(*out));
    }
    return rc;
}


wid_reason_t
wid_unix_attest_fd(int fd, const wid_unix_params *p, wid_attestation *out)
{
    struct ucred cred;
    socklen_t    len = sizeof(cred);

    memset(out, 0, sizeof(*out));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0
        || len != sizeof(cred) || cred.pid <= 0)
    {
        return WID_R_ATTEST_UNIX_PEERCRED;
    }
    return wid_unix_attest_pid(cred.pid, cred.uid, cred.gid, p, out);
}
