#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <jansson.h>

#include "bytes.h"
#include "issued.h"


int
ssh_key_id_spiffe(const char *key_id, char *out, size_t outlen)
{
    size_t n;

    if (strncmp(key_id, "spiffe://", 9) != 0) {
        return -1;
    }
    n = strcspn(key_id, " ");
    if (n <= 9 || n >= outlen) {
        return -1;
    }
    memcpy(out, key_id, n);
    out[n] = '\0';
    return 0;
}


wid_reason_t
ssh_issued_append(const char *path, const ssh_cert *c)
{
    return ssh_issued_append_sync(path, c, 1);
}


/*
 * A last line without its newline is an append that never completed (a
 * crash, a full disk): readers ignore it while it is last, so it is cut
 * off before a new line would make it a malformed line mid-file.  Called
 * under the lock; *end is the size the next line starts at.
 */
static int
ssh_issued_drop_torn(int fd, off_t *end)
{
    char     buf[4096];
    off_t    size, pos, limit;
    ssize_t  n, i = 0;

    if ((size = lseek(fd, 0, SEEK_END)) < 0) {
        return -1;
    }
    /* A tail longer than any line we write is not ours to cut. */
    limit = size > (off_t) SSH_ISSUED_LINE_MAX
            ? size - (off_t) SSH_ISSUED_LINE_MAX : 0;
    for (pos = size; pos > limit && i == 0; pos -= n - i) {
        n = pos - limit < (off_t) sizeof(buf) ? (ssize_t) (pos - limit)
                                               : (ssize_t) sizeof(buf);
        if (pread(fd, buf, (size_t) n, pos - n) != n) {
            return -1;
        }
        for (i = n; i > 0 && buf[i - 1] != '\n'; i--) {
            /* back to the last newline of the chunk */
        }
    }
    if (i == 0 && pos > 0) {
        return -1;
    }
    if (pos != size && ftruncate(fd, pos) != 0) {
        return -1;
    }
    *end = pos;
    return 0;
}


wid_reason_t
ssh_issued_append_sync(const char *path, const ssh_cert *c, int do_fsync)
{
    char          serial[24], sid[SSH_KEY_ID_MAX + 1], kfp[64], cfp[64];
    json_t       *o, *pr;
    char         *line = NULL;
    size_t        i, len;
    wid_reason_t  rc = WID_R_INTERNAL_NOMEM;
    ssize_t       w;
    off_t         end;
    int           fd;

    snprintf(serial, sizeof(serial), "%" PRIu64, c->serial);
    ssh_pubkey_fingerprint(c->pk, kfp);
    ssh_pubkey_fingerprint(c->ca_pk, cfp);

    o = json_object();
    pr = json_array();
    if (o == NULL || pr == NULL) {
        json_decref(pr);
        goto done;
    }
    for (i = 0; i < c->nprincipals; i++) {
        if (json_array_append_new(pr, json_string(c->principals[i])) != 0) {
            json_decref(pr);
            goto done;
        }
    }
    if (json_object_set_new(o, "serial", json_string(serial)) != 0
        || json_object_set_new(o, "key_id", json_string(c->key_id)) != 0
        || json_object_set_new(o, "spiffe_id",
                               ssh_key_id_spiffe(c->key_id, sid,
                                                 sizeof(sid)) == 0
                               ? json_string(sid) : json_null()) != 0
        || json_object_set_new(o, "principals", pr) != 0
        || json_object_set_new(o, "valid_after",
                               json_integer((json_int_t) c->valid_after)) != 0
        || json_object_set_new(o, "valid_before",
                               json_integer((json_int_t) c->valid_before)) != 0
        || json_object_set_new(o, "key_fp", json_string(kfp)) != 0
        || json_object_set_new(o, "ca_fp", json_string(cfp)) != 0)
    {
        goto done;
    }
    /* Our certificates' times are far below 2^63: json ints hold them. */
    if (c->valid_before > (uint64_t) INT64_MAX) {
        rc = WID_R_SSH_VALIDITY_INVALID;
        goto done;
    }
    line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (line == NULL) {
        goto done;
    }
    len = strlen(line);
    if (len + 1 > SSH_ISSUED_LINE_MAX) {
        rc = WID_R_INTERNAL_IO;
        goto done;
    }
    line[len] = '\n';                 /* replaces the NUL; len + 1 bytes */

    rc = WID_R_INTERNAL_IO;
    fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
              0640);
    if (fd < 0) {
        goto done;
    }
    /* One write per entry under a lock: lines never interleave. */
    if (flock(fd, LOCK_EX) == 0 && ssh_issued_drop_torn(fd, &end) == 0) {
        do {
            w = write(fd, line, len + 1);
        } while (w < 0 && errno == EINTR);
        if (w == (ssize_t) (len + 1) && (!do_fsync || fsync(fd) == 0)) {
            rc = WID_OK;
        } else if (w >= 0) {
            /* A short write leaves no torn line; else the next append
             * cuts it. */
            if (ftruncate(fd, end) != 0) {
                rc = WID_R_INTERNAL_IO;
            }
        }
    }
    close(fd);

done:
    free(line);
    json_decref(o);
    return rc;
}


static int
ssh_issued_parse_u64(const char *s, uint64_t *v)
{
    uint64_t x = 0;

    if (*s == '\0' || (s[0] == '0' && s[1] != '\0')) {
        return -1;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || x > (UINT64_MAX - (uint64_t) (*s - '0')) / 10) {
            return -1;
        }
        x = x * 10 + (uint64_t) (*s - '0');
    }
    *v = x;
    return 0;
}


wid_reason_t
ssh_issued_find(const char *path, const char *spiffe_id, const char *ca_fp,
                uint64_t now, uint64_t **serials, size_t *n, size_t *skipped,
                size_t *bad_line)
{
    FILE         *f;
    char         *line = NULL;
    size_t        cap = 0, lineno = 0;
    ssize_t       len;
    json_t       *o;
    json_t       *js, *jid, *jvb, *jca;
    uint64_t      serial, *ns;
    wid_reason_t  rc = WID_OK;
    int           fd;

    *serials = NULL;
    *n = 0;
    *skipped = 0;
    *bad_line = 0;

    /* Not fopen: a FIFO in the index's place is refused at once. */
    fd = wid_open_regular(path, 0, NULL);
    if (fd < 0) {
        return WID_R_INTERNAL_IO;
    }
    if ((f = fdopen(fd, "r")) == NULL) {
        close(fd);
        return WID_R_INTERNAL_IO;
    }
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[len - 1] != '\n') {
            /*
             * Only the last line can lack its newline (getline stops at
             * EOF): a torn tail, whose certificate was never handed out.
             */
            break;
        }
        if ((size_t) len > SSH_ISSUED_LINE_MAX) {
            rc = WID_R_SSH_INDEX_MALFORMED;
            break;
        }
        o = json_loadb(line, (size_t) len, JSON_REJECT_DUPLICATES, NULL);
        js = json_object_get(o, "serial");
        jid = json_object_get(o, "spiffe_id");
        jvb = json_object_get(o, "valid_before");
        jca = json_object_get(o, "ca_fp");
        if (!json_is_object(o) || !json_is_string(js) || !json_is_string(jca)
            || !(json_is_string(jid) || json_is_null(jid))
            || !json_is_integer(jvb) || json_integer_value(jvb) < 0
            || ssh_issued_parse_u64(json_string_value(js), &serial) != 0
            || serial == 0)
        {
            json_decref(o);
            rc = WID_R_SSH_INDEX_MALFORMED;
            break;
        }
        if (json_is_string(jid)
            && strcmp(json_string_value(jid), spiffe_id) == 0
            && (uint64_t) json_integer_value(jvb) > now)
        {
            if (strcmp(json_string_value(jca), ca_fp) != 0) {
                (*skipped)++;
                json_decref(o);
                continue;
            }
            ns = realloc(*serials, (*n + 1) * sizeof(*ns));
            if (ns == NULL) {
                json_decref(o);
                rc = WID_R_INTERNAL_NOMEM;
                break;
            }
            *serials = ns;
            ns[(*n)++] = serial;
        }
        json_decref(o);
    }
    if (rc == WID_OK && ferror(f)) {
        rc = WID_R_INTERNAL_IO;
    }
    free(line);
    fclose(f);
    if (rc != WID_OK) {
        if (rc == WID_R_SSH_INDEX_MALFORMED) {
            *bad_line = lineno;
        }
        free(*serials);
        *serials = NULL;
        *n = 0;
        *skipped = 0;
    }
    return rc;
}
