#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cakey.h"
#include "conf.h"

#define SSH_CONF_MAX  (64u * 1024u)


static wid_reason_t
ssh_conf_read(const char *path, char *buf, size_t cap, size_t *len,
              char *err, size_t errlen)
{
    struct stat st;
    ssize_t     n;
    int         fd;

    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return WID_R_INTERNAL_CONFIG;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)
        || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    {
        close(fd);
        snprintf(err, errlen, "%s: not a regular file, or writable by "
                 "group or others", path);
        return WID_R_INTERNAL_CONFIG;
    }
    for ( ;; ) {
        if (*len == cap) {
            close(fd);
            snprintf(err, errlen, "%s: larger than %u bytes", path,
                     SSH_CONF_MAX);
            return WID_R_INTERNAL_CONFIG;
        }
        n = read(fd, buf + *len, cap - *len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            close(fd);
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            return WID_R_INTERNAL_CONFIG;
        }
        if (n == 0) {
            break;
        }
        *len += (size_t) n;
    }
    close(fd);
    return WID_OK;
}


wid_reason_t
ssh_conf_load(const char *path, ssh_conf *conf, char *err, size_t errlen)
{
    char         *buf, *line, *next, *key, *val, *end, **slot;
    size_t        len, lineno = 0;
    wid_reason_t  rc;

    memset(conf, 0, sizeof(*conf));
    err[0] = '\0';
    if ((buf = malloc(SSH_CONF_MAX + 1)) == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    rc = ssh_conf_read(path, buf, SSH_CONF_MAX, &len, err, errlen);
    if (rc != WID_OK) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    if (memchr(buf, '\0', len) != NULL) {
        snprintf(err, errlen, "%s: contains a NUL byte", path);
        free(buf);
        return WID_R_INTERNAL_CONFIG;
    }

    for (line = buf; line != NULL && *line != '\0'; line = next) {
        lineno++;
        next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }
        key = line + strspn(line, " \t\r");
        if (*key == '\0' || *key == '#') {
            continue;
        }
        val = key + strcspn(key, " \t\r");
        if (*val != '\0') {
            *val++ = '\0';
            val += strspn(val, " \t");
        }
        end = val + strlen(val);
        while (end > val && (end[-1] == ' ' || end[-1] == '\t'
                             || end[-1] == '\r'))
        {
            *--end = '\0';
        }
        if (strcmp(key, "ca_pubkey") == 0) {
            slot = &conf->ca_pubkey_path;
        } else if (strcmp(key, "krl") == 0) {
            slot = &conf->krl_path;
        } else if (strcmp(key, "receipt_pubkey") == 0) {
            slot = &conf->receipt_pubkey_path;
        } else if (strcmp(key, "log") == 0) {
            slot = &conf->log_path;
        } else {
            snprintf(err, errlen, "%s:%zu: unknown keyword '%.64s'", path,
                     lineno, key);
            goto fail;
        }
        if (*val == '\0') {
            snprintf(err, errlen, "%s:%zu: '%s' needs a value", path,
                     lineno, key);
            goto fail;
        }
        if (*slot != NULL) {
            snprintf(err, errlen, "%s:%zu: '%s' given twice", path, lineno,
                     key);
            goto fail;
        }
        if ((*slot = strdup(val)) == NULL) {
            free(buf);
            ssh_conf_free(conf);
            return WID_R_INTERNAL_NOMEM;
        }
    }
    free(buf);
    buf = NULL;

    if (conf->ca_pubkey_path == NULL || conf->krl_path == NULL) {
        snprintf(err, errlen, "%s: 'ca_pubkey' and 'krl' are required", path);
        goto fail;
    }
    rc = ssh_ca_pub_load(conf->ca_pubkey_path, conf->ca_pk);
    if (rc != WID_OK) {
        snprintf(err, errlen, "ca_pubkey %s: %s", conf->ca_pubkey_path,
                 wid_reason_code(rc));
        ssh_conf_free(conf);
        return WID_R_INTERNAL_CONFIG;
    }
    rc = ssh_ca_check_separate(conf->ca_pk, conf->receipt_pubkey_path);
    if (rc != WID_OK) {
        snprintf(err, errlen, "receipt_pubkey %s: %s",
                 conf->receipt_pubkey_path, wid_reason_code(rc));
        ssh_conf_free(conf);
        return rc == WID_R_SSH_CA_IS_RECEIPT_KEY ? rc : WID_R_INTERNAL_CONFIG;
    }
    return WID_OK;

fail:
    free(buf);
    ssh_conf_free(conf);
    return WID_R_INTERNAL_CONFIG;
}


void
ssh_conf_free(ssh_conf *conf)
{
    free(conf->ca_pubkey_path);
    free(conf->krl_path);
    free(conf->receipt_pubkey_path);
    free(conf->log_path);
    memset(conf, 0, sizeof(*conf));
}
