/*
 * Verifier state files: single-use challenges, per-node TPM counters,
 * first-use records.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/sha.h>
#include <sodium.h>

#include "attest_state.h"
#include "bytes.h"

#define WID_STATE_FILE_MAX 4096


/* dir/sub, created 0700 if missing (dir itself too). */
static int
wid_state_subdir(const char *dir, const char *sub, char *out, size_t size)
{
    int n;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        return -1;
    }
    n = snprintf(out, size, "%s/%s", dir, sub);
    if (n < 0 || (size_t) n >= size) {
        return -1;
    }
    if (mkdir(out, 0700) != 0 && errno != EEXIST) {
        return -1;
    }
    return 0;
}



/* Read a small file through an open descriptor into buf (NUL-ended). */
static int
wid_state_read_fd(int fd, char *buf, size_t size, size_t *len)
{
    ssize_t n;

    *len = 0;
    for (;;) {
        if (*len + 1 >= size) {
            return -1;
        }
        n = read(fd, buf + *len, size - 1 - *len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            break;
        }
        *len += (size_t) n;
    }
    buf[*len] = '\0';
    return 0;
}


static int
wid_state_hex_member(json_t *doc, const char *key, unsigned char *out,
                     size_t max, size_t *len)
{
    json_t *v = json_object_get(doc, key);

    return json_is_string(v)
           ? wid_attest_unhex(json_string_value(v), out, max, len) : -1;
}


wid_reason_t
wid_attest_state_challenge_put(const char *dir, const wid_tpm_challenge *ch,
                               char id[65])
{
    char           sub[4096], path[4096 + 80];
    char           h[5][2 * 64 + 1];
    unsigned char  digest[32];
    char          *text;
    json_t        *doc;
    int            fd, ok;

    SHA256(ch->nonce, sizeof(ch->nonce), digest);
    wid_hex(digest, sizeof(digest), id);
    if (wid_state_subdir(dir, "challenges", sub, sizeof(sub)) != 0) {
        return WID_R_ATTEST_STATE_UNAVAILABLE;
    }
    snprintf(path, sizeof(path), "%s/%s.json", sub, id);

    wid_hex(ch->nonce, sizeof(ch->nonce), h[0]);
    wid_hex(ch->secret, sizeof(ch->secret), h[1]);
    wid_hex(ch->ak_name, ch->ak_name_len, h[2]);
    wid_hex(ch->ek_sha256, sizeof(ch->ek_sha256), h[3]);
    doc = json_pack("{s:s,s:s,s:s,s:s,s:I}", "nonce", h[0], "secret", h[1],
                    "akName", h[2], "ekSha256", h[3],
                    "expiresAt", (json_int_t) ch->expires_at);
    text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    sodium_memzero(h, sizeof(h));
    if (text == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
    ok = fd >= 0 && wid_fd_write_all(fd, text, strlen(text)) == 0
         && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0) {
        ok = 0;
    }
    sodium_memzero(text, strlen(text));
    free(text);
    if (!ok) {
        unlink(path);
        return WID_R_ATTEST_STATE_UNAVAILABLE;
    }
    return WID_OK;
}


wid_reason_t
wid_attest_state_challenge_take(const char *dir, const char *id,
                                wid_tpm_challenge *ch)
{
    char          path[4096 + 80], buf[WID_STATE_FILE_MAX];
    size_t        len, i, n;
    json_t       *doc, *v;
    json_error_t  err;
    int           fd;
    wid_reason_t  rc = WID_R_ATTEST_CHALLENGE_UNKNOWN;

    memset(ch, 0, sizeof(*ch));
    if (strlen(id) != 64) {
        return WID_R_ATTEST_CHALLENGE_UNKNOWN;
    }
    for (i = 0; i < 64; i++) {
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
        {
            return WID_R_ATTEST_CHALLENGE_UNKNOWN;
        }
    }
    snprintf(path, sizeof(path), "%s/challenges/%s.json", dir, id);

    /* A FIFO put in the state directory is refused, not waited on. */
    fd = wid_open_regular(path, O_NOFOLLOW, NULL);
    if (fd < 0) {
        return errno == ENOENT ? WID_R_ATTEST_CHALLENGE_UNKNOWN
                               : WID_R_ATTEST_STATE_UNAVAILABLE;
    }
    if (wid_state_read_fd(fd, buf, sizeof(buf), &len) != 0) {
        close(fd);
        return WID_R_ATTEST_STATE_UNAVAILABLE;
    }
    close(fd);

    /* Whoever unlinks the file owns the challenge: a concurrent second
     * verification of the same answer loses here. */
    if (unlink(path) != 0) {
        sodium_memzero(buf, sizeof(buf));
        return errno == ENOENT ? WID_R_ATTEST_CHALLENGE_UNKNOWN
                               : WID_R_ATTEST_STATE_UNAVAILABLE;
    }

    doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    sodium_memzero(buf, sizeof(buf));
    v = json_object_get(doc, "expiresAt");
    if (json_is_object(doc)
        && wid_state_hex_member(doc, "nonce", ch->nonce, sizeof(ch->nonce),
                                &n) == 0 && n == sizeof(ch->nonce)
        && wid_state_hex_member(doc, "secret", ch->secret,
                                sizeof(ch->secret), &n) == 0
        && n == sizeof(ch->secret)
        && wid_state_hex_member(doc, "akName", ch->ak_name,
                                sizeof(ch->ak_name), &ch->ak_name_len) == 0
        && ch->ak_name_len > 2
        && wid_state_hex_member(doc, "ekSha256", ch->ek_sha256,
                                sizeof(ch->ek_sha256), &n) == 0 && n == 32
        && json_is_integer(v))
    {
        ch->expires_at = (int64_t) json_integer_value(v);
        rc = WID_OK;
    }
    if (doc != NULL) {
        /* The secret's hex text lives in the JSON tree. */
        json_t *s = json_object_get(doc, "secret");

        if (json_is_string(s)) {
            sodium_memzero((void *) json_string_value(s),
                           json_string_length(s));
        }
    }
    json_decref(doc);
    if (rc != WID_OK) {
        wid_tpm_challenge_wipe(ch);
    }
    return rc;
}


wid_reason_t
wid_attest_state_node_begin(const char *dir, const unsigned char ek[32],
                            wid_attest_node_lock *lk, wid_tpm_counters *last)
{
    char          sub[4096], hex[65], lockpath[4096 + 80], buf[512];
    size_t        len;
    json_t       *doc, *r, *s, *c;
    json_error_t  err;
    int           fd;

    memset(last, 0, sizeof(*last));
    lk->fd = -1;
    lk->path[0] = '\0';
    if (wid_state_subdir(dir, "tpm", sub, sizeof(sub)) != 0) {
        return WID_R_ATTEST_STATE_UNAVAILABLE;
    }
    wid_hex(ek, 32, hex);
    snprintf(lockpath, sizeof(lockpath), "%s/%s.lock", sub, hex);
    if ((size_t) snprintf(lk->path, sizeof(lk->path), "%s/%s.json", sub, hex)
        >= sizeof(lk->path))
    {
        return WID_R_ATTEST_STATE_UNAVAILABLE;
    }

    lk->fd = open(lockpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lk->fd < 0 || flock(lk->fd, LOCK_EX) != 0) {
        wid_attest_state_node_end(lk);
        return WID_R_ATTEST_STATE_UNAVAILABLE;
    }

    fd = wid_open_regular(lk->path, O_NOFOLLOW, NULL);
    if (fd < 0) {
        if (errno == ENOENT) {
            return WID_OK;          /* first quote of this node */
        }
        wid_attest_state_node_end(lk);
        return WID_R_ATTEST_STATE_UNAVAILABLE;
    }
    if (wid_state_read_fd(fd, buf, sizeof(buf), &len) != 0) {
        close(fd);
        wid_attest_state_node_end(lk);
        return WID_R_ATTEST_STATE_UNAVAILABLE;
    }
    close(fd);

    /* A record that exists but does not parse is not "never seen". */
    doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    r = json_object_get(doc, "resetCount");
    s = json_object_get(doc, "restartCount");
    c = json_object_get(doc, "clock");
    if (!json_is_integer(r) || !json_is_integer(s) || !json_is_integer(c)
        || json_integer_value(r) < 0 || json_integer_value(r) > UINT32_MAX
        || json_integer_value(s) < 0 || json_integer_value(s) > UINT32_MAX
        || json_integer_value(c) < 0)
    {
        json_decref(doc);
        wid_attest_state_node_end(lk);
        return WID_R_ATTEST_STATE_UNAVAILABLE;
    }
    last->present = 1;
    last->reset_count = (uint32_t) json_integer_value(r);
    last->restart_count = (uint32_t) json_integer_value(s);
    last->clock = (uint64_t) json_integer_value(c);
    json_decref(doc);
    return WID_OK;
}


wid_reason_t
wid_attest_state_node_commit(wid_attest_node_lock *lk,
                             const wid_tpm_counters *c)
{
    char tmp[4096 + 8], text[160];
    int  fd, ok, n;

    if (lk->fd < 0 || c->clock > INT64_MAX) {
        return WID_R_ATTEST_STATE_UNAVAILABLE;
    }
    n = snprintf(text, sizeof(text),
                 "{\"resetCount\":%u,\"restartCount\":%u,\"clock\":%llu}\n",
                 (unsigned) c->reset_count, (unsigned) c->restart_count,
                 (unsigned long long) c->clock);
    if ((size_t) snprintf(tmp, sizeof(tmp), "%s.tmp", lk->path)
        >= sizeof(tmp))
    {
        return WID_R_ATTEST_STATE_UNAVAILABLE;
    }
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
    ok = fd >= 0 && wid_fd_write_all(fd, text, (size_t) n) == 0
         && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0) {
        ok = 0;
    }
    if (!ok || rename(tmp, lk->path) != 0) {
        unlink(tmp);
        return WID_R_ATTEST_STATE_UNAVAILABLE;
    }
    return WID_OK;
}


void
wid_attest_state_node_end(wid_attest_node_lock *lk)
{
    if (lk->fd >= 0) {
        (void) flock(lk->fd, LOCK_UN);
        close(lk->fd);
    }
    lk->fd = -1;
}


wid_reason_t
wid_attest_state_first_use(const char *dir, const char *ns, const char *key,
                           const char *note, wid_reason_t replay_code)
{
    char   sub[4096], path[4096 + 160];
    size_t n = strlen(key), i;
    int    fd, ok;

    if (n == 0 || n > 128 || key[0] == '.') {
        return WID_R_ATTEST_EVIDENCE_MALFORMED;
    }
    for (i = 0; i < n; i++) {
        char c = key[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
        {
            return WID_R_ATTEST_EVIDENCE_MALFORMED;
        }
    }
    if (wid_state_subdir(dir, ns, sub, sizeof(sub)) != 0) {
        return WID_R_ATTEST_STATE_UNAVAILABLE;
    }
    snprintf(path, sizeof(path), "%s/%s", sub, key);

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
    if (fd < 0) {
        return errno == EEXIST ? replay_code : WID_R_ATTEST_STATE_UNAVAILABLE;
    }
    ok = wid_fd_write_all(fd, note, strlen(note)) == 0 && fsync(fd) == 0;
    if (close(fd) != 0 || !ok) {
        /* Leave no half record: a torn marker still refuses the
         * instance, so remove it and report the failure instead. */
        unlink(path);
        return WID_R_ATTEST_STATE_UNAVAILABLE;
    }
    return WID_OK;
}
