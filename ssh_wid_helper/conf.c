#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cakey.h"
#include "conf.h"
#include "pop.h"
#include "util.h"

#define SSH_CONF_MAX  (64u * 1024u)


/* Owned by root or by the user the helper runs as. */
static int
ssh_conf_owner_ok(uid_t uid)
{
    return uid == 0 || uid == geteuid();
}


/*
 * Every directory above the absolute path dir/... (modified in place)
 * must be owned by root or the helper's user and not writable by group
 * or others, unless sticky.
 */
static wid_reason_t
ssh_conf_safe_dirs(const char *path, char *p, char *err, size_t errlen)
{
    struct stat  st;
    char        *slash;

    for (;;) {
        slash = strrchr(p, '/');
        if (slash == NULL) {
            return WID_OK;
        }
        if (slash == p) {
            slash[1] = '\0';           /* "/" itself */
        } else {
            *slash = '\0';
        }
        if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err, errlen, "%s: directory %s: cannot be checked",
                     path, p);
            return WID_R_INTERNAL_CONFIG;
        }
        if (!ssh_conf_owner_ok(st.st_uid)) {
            snprintf(err, errlen, "%s: directory %s is owned by uid %lu, "
                     "neither root nor the user the helper runs as: anyone "
                     "who can replace the configuration decides who logs in",
                     path, p, (unsigned long) st.st_uid);
            return WID_R_INTERNAL_CONFIG;
        }
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0
            && (st.st_mode & S_ISVTX) == 0)
        {
            snprintf(err, errlen, "%s: directory %s is writable by group or "
                     "others: anyone who can replace the configuration "
                     "decides who logs in", path, p);
            return WID_R_INTERNAL_CONFIG;
        }
        if (slash == p) {
            return WID_OK;
        }
    }
}


/*
 * Like sshd's safe_path(): the configuration names the CA, the KRL and
 * the policy, so whoever can replace it decides who logs in.  The file
 * (already checked through its descriptor) and every directory above it
 * must be owned by root or the helper's user and not writable by group
 * or others.  Both the path as given (a symlink in an open directory
 * could be swapped) and its real path are walked.  One exception sshd
 * does not make: a sticky directory (/tmp) is accepted, because there
 * nobody but the owner of an entry (or of the directory) can rename or
 * remove it.
 */
static wid_reason_t
ssh_conf_safe_path(const char *path, const struct stat *fst, char *err,
                   size_t errlen)
{
    struct stat   st;
    char          given[PATH_MAX + 1], cwd[PATH_MAX];
    char         *real;
    int           n;
    wid_reason_t  rc;

    if (path[0] == '/') {
        n = snprintf(given, sizeof(given), "%s", path);
    } else if (getcwd(cwd, sizeof(cwd)) != NULL) {
        n = snprintf(given, sizeof(given), "%s/%s", cwd, path);
    } else {
        n = -1;
    }
    if (n < 0 || (size_t) n >= sizeof(given)) {
        snprintf(err, errlen, "%s: path cannot be checked", path);
        return WID_R_INTERNAL_CONFIG;
    }
    if ((real = realpath(path, NULL)) == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return WID_R_INTERNAL_CONFIG;
    }
    /* The path still names the file that was opened. */
    if (stat(real, &st) != 0 || st.st_dev != fst->st_dev
        || st.st_ino != fst->st_ino)
    {
        snprintf(err, errlen, "%s: changed while being read", path);
        free(real);
        return WID_R_INTERNAL_CONFIG;
    }
    rc = ssh_conf_safe_dirs(path, given, err, errlen);
    if (rc == WID_OK) {
        rc = ssh_conf_safe_dirs(path, real, err, errlen);
    }
    free(real);
    return rc;
}


static wid_reason_t
ssh_conf_read(const char *path, char *buf, size_t cap, size_t *len,
              char *err, size_t errlen)
{
    struct stat st;
    ssize_t     n;
    int         fd;

    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
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
    if (!ssh_conf_owner_ok(st.st_uid)) {
        close(fd);
        snprintf(err, errlen, "%s: owned by uid %lu, neither root nor the "
                 "user the helper runs as (uid %lu)", path,
                 (unsigned long) st.st_uid, (unsigned long) geteuid());
        return WID_R_INTERNAL_CONFIG;
    }
    if (ssh_conf_safe_path(path, &st, err, errlen) != WID_OK) {
        close(fd);
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


typedef enum {
    CONF_STR,           /* one string, given once */
    CONF_LIST,          /* a string, repeatable */
    CONF_U64,           /* a decimal number, given once */
    CONF_UID,           /* a uid, repeatable */
    CONF_SHA256,        /* 64 hex digits, repeatable */
    CONF_MODE,          /* an octal file mode */
    CONF_FSYNC          /* always | interval | never */
} ssh_conf_type;

typedef struct {
    const char    *name;
    ssh_conf_type  type;
    size_t         off;         /* of the value (or the list) */
    size_t         count_off;   /* of the list's counter */
    uint64_t       max;         /* CONF_U64 upper bound */
} ssh_conf_kw;

#define KW_STR(n, f)  { n, CONF_STR, offsetof(ssh_conf, f), 0, 0 }
#define KW_LIST(n, f, c) { n, CONF_LIST, offsetof(ssh_conf, f), \
                           offsetof(ssh_conf, c), 0 }
#define KW_U64(n, f, m) { n, CONF_U64, offsetof(ssh_conf, f), 0, m }

static const ssh_conf_kw ssh_conf_kws[] = {
    KW_STR("ca_pubkey", ca_pubkey_path),
    KW_STR("krl", krl_path),
    KW_STR("receipt_pubkey", receipt_pubkey_path),
    KW_STR("log", log_path),
    KW_STR("journal_socket", journal_socket),
    KW_STR("policy", policy_path),
    KW_STR("policy_signer", policy_signer_path),
    KW_LIST("rule", rules, nrules),
    KW_STR("journal", journal_dir),
    KW_STR("receipt_key", receipt_key_path),
    { "journal_fsync", CONF_FSYNC, offsetof(ssh_conf, journal_fsync), 0, 0 },
    KW_STR("ca_key", ca_key_path),
    KW_STR("audience", audience),
    KW_LIST("bundle", bundles, nbundles),
    KW_STR("index", index_path),
    KW_U64("backdate", backdate, SSH_BACKDATE_MAX),
    KW_U64("pop_max_age", pop_max_age, 3600),
    { "allow_uid", CONF_UID, offsetof(ssh_conf, allow_uids),
      offsetof(ssh_conf, nallow_uids), 0 },
    { "allow_login_uid", CONF_UID, offsetof(ssh_conf, login_uids),
      offsetof(ssh_conf, nlogin_uids), 0 },
    { "allow_exe_sha256", CONF_SHA256, offsetof(ssh_conf, allow_exe),
      offsetof(ssh_conf, nallow_exe), 0 },
    { "socket_mode", CONF_MODE, offsetof(ssh_conf, socket_mode), 0, 0 },
    KW_STR("socket_group", socket_group),
    KW_U64("request_timeout_ms", request_timeout_ms, 60000),
    KW_U64("exe_max_bytes", exe_max_bytes, UINT64_C(1) << 32),
};

#define SSH_CONF_NKWS (sizeof(ssh_conf_kws) / sizeof(ssh_conf_kws[0]))


static int
ssh_conf_hex32(const char *s, unsigned char out[32])
{
    size_t i;
    int    hi, lo;

    if (strlen(s) != 64) {
        return -1;
    }
    for (i = 0; i < 32; i++) {
        hi = s[2 * i];
        lo = s[2 * i + 1];
        hi = hi >= '0' && hi <= '9' ? hi - '0'
             : hi >= 'a' && hi <= 'f' ? hi - 'a' + 10 : -1;
        lo = lo >= '0' && lo <= '9' ? lo - '0'
             : lo >= 'a' && lo <= 'f' ? lo - 'a' + 10 : -1;
        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i] = (unsigned char) (hi << 4 | lo);
    }
    return 0;
}


/* Store one value; returns 0 or -1 with err set. */
static int
ssh_conf_set(ssh_conf *conf, const ssh_conf_kw *kw, unsigned char *seen,
             const char *val, const char *where, char *err, size_t errlen)
{
    char      *base = (char *) conf;
    size_t    *count;
    uint64_t   v;
    char      *end;
    unsigned long mode;

    if (kw->type != CONF_LIST && kw->type != CONF_UID
        && kw->type != CONF_SHA256)
    {
        if (*seen) {
            snprintf(err, errlen, "%s: '%s' given twice", where, kw->name);
            return -1;
        }
        *seen = 1;
    }
    switch (kw->type) {
    case CONF_STR:
        if ((*(char **) (base + kw->off) = strdup(val)) == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        return 0;
    case CONF_LIST:
        count = (size_t *) (base + kw->count_off);
        if (*count == SSH_CONF_MAX_LIST) {
            snprintf(err, errlen, "%s: more than %d '%s' lines", where,
                     SSH_CONF_MAX_LIST, kw->name);
            return -1;
        }
        if ((((char **) (base + kw->off))[*count] = strdup(val)) == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        (*count)++;
        return 0;
    case CONF_U64:
        if (ssh_wid_parse_u64(val, &v) != 0 || v > kw->max) {
            snprintf(err, errlen, "%s: '%s' must be a number from 0 to %llu",
                     where, kw->name, (unsigned long long) kw->max);
            return -1;
        }
        *(uint64_t *) (base + kw->off) = v;
        return 0;
    case CONF_UID:
        count = (size_t *) (base + kw->count_off);
        if (ssh_wid_parse_u64(val, &v) != 0 || v >= UINT32_MAX
            || *count == SSH_CONF_MAX_LIST)
        {
            snprintf(err, errlen, "%s: bad '%s'", where, kw->name);
            return -1;
        }
        ((uint64_t *) (base + kw->off))[(*count)++] = v;
        return 0;
    case CONF_SHA256:
        count = (size_t *) (base + kw->count_off);
        if (*count == SSH_CONF_MAX_LIST
            || ssh_conf_hex32(val, conf->allow_exe[*count]) != 0)
        {
            snprintf(err, errlen, "%s: '%s' must be 64 lowercase hex digits",
                     where, kw->name);
            return -1;
        }
        (*count)++;
        return 0;
    case CONF_MODE:
        errno = 0;
        mode = strtoul(val, &end, 8);
        if (*val != '0' || *end != '\0' || errno != 0 || mode > 0777
            || (mode & 0007) != 0 || (mode & 0600) != 0600)
        {
            snprintf(err, errlen, "%s: 'socket_mode' must be octal, owner "
                     "read-write, no access for others (e.g. 0660)", where);
            return -1;
        }
        conf->socket_mode = (unsigned) mode;
        return 0;
    case CONF_FSYNC:
        if (strcmp(val, "always") == 0) {
            conf->journal_fsync = WID_FSYNC_ALWAYS;
        } else if (strcmp(val, "interval") == 0) {
            conf->journal_fsync = WID_FSYNC_INTERVAL;
        } else if (strcmp(val, "never") == 0) {
            conf->journal_fsync = WID_FSYNC_NEVER;
        } else {
            snprintf(err, errlen, "%s: 'journal_fsync' is always, interval "
                     "or never", where);
            return -1;
        }
        return 0;
    }
    return -1;
}


static wid_reason_t
ssh_conf_parse(const char *path, ssh_conf *conf, char *err, size_t errlen)
{
    unsigned char  seen[SSH_CONF_NKWS];
    char          *buf, *line, *next, *key, *val, *end;
    char           where[320];
    size_t         len, lineno = 0, k;
    wid_reason_t   rc;

    memset(conf, 0, sizeof(*conf));
    memset(seen, 0, sizeof(seen));
    conf->journal_fsync = WID_FSYNC_ALWAYS;
    conf->backdate = SSH_CONF_DEFAULT_BACKDATE;
    conf->pop_max_age = SSH_CONF_DEFAULT_POP_AGE;
    conf->socket_mode = 0660;
    conf->request_timeout_ms = SSH_CONF_DEFAULT_TIMEOUT;
    conf->exe_max_bytes = SSH_CONF_DEFAULT_EXE_MAX;
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
        goto fail;
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
        snprintf(where, sizeof(where), "%.256s:%zu", path, lineno);
        for (k = 0; k < SSH_CONF_NKWS; k++) {
            if (strcmp(key, ssh_conf_kws[k].name) == 0) {
                break;
            }
        }
        if (k == SSH_CONF_NKWS) {
            snprintf(err, errlen, "%s: unknown keyword '%.64s'", where, key);
            goto fail;
        }
        if (*val == '\0') {
            snprintf(err, errlen, "%s: '%s' needs a value", where, key);
            goto fail;
        }
        if (ssh_conf_set(conf, &ssh_conf_kws[k], &seen[k], val, where, err,
                         errlen) != 0)
        {
            goto fail;
        }
    }
    free(buf);
    return WID_OK;

fail:
    free(buf);
    ssh_conf_free(conf);
    return WID_R_INTERNAL_CONFIG;
}


/* A rule named by the policy's grammar: never a path or an option. */
static int
ssh_conf_rules_ok(const ssh_conf *conf, char *err, size_t errlen)
{
    size_t i;

    for (i = 0; i < conf->nrules; i++) {
        const char *r = conf->rules[i];

        if (r[0] == '\0' || strlen(r) > 128
            || strspn(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                         "0123456789_.-") != strlen(r))
        {
            snprintf(err, errlen, "rule '%.64s': not a rule name", r);
            return -1;
        }
    }
    if ((conf->policy_path != NULL) != (conf->nrules > 0)) {
        snprintf(err, errlen, "'policy' and 'rule' go together");
        return -1;
    }
    if ((conf->journal_dir != NULL) != (conf->receipt_key_path != NULL)) {
        snprintf(err, errlen, "'journal' and 'receipt_key' go together");
        return -1;
    }
    return 0;
}


wid_reason_t
ssh_conf_load(const char *path, ssh_conf *conf, char *err, size_t errlen)
{
    wid_reason_t rc;

    if ((rc = ssh_conf_parse(path, conf, err, errlen)) != WID_OK) {
        return rc;
    }
    if (conf->ca_pubkey_path == NULL || conf->krl_path == NULL) {
        snprintf(err, errlen, "%s: 'ca_pubkey' and 'krl' are required", path);
        goto fail;
    }
    if (ssh_conf_rules_ok(conf, err, errlen) != 0) {
        goto fail;
    }
    rc = ssh_ca_pub_load(conf->ca_pubkey_path, conf->ca_pk);
    if (rc != WID_OK) {
        snprintf(err, errlen, "ca_pubkey %s: %s", conf->ca_pubkey_path,
                 wid_reason_code(rc));
        goto fail;
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
    ssh_conf_free(conf);
    return WID_R_INTERNAL_CONFIG;
}


wid_reason_t
ssh_conf_load_issuer(const char *path, ssh_conf *conf, char *err,
                     size_t errlen)
{
    static const char *const need[] = {
        "ca_key", "policy", "audience", "journal", "receipt_key", "index"
    };
    const char  *have[6];
    size_t       i;
    wid_reason_t rc;

    if ((rc = ssh_conf_parse(path, conf, err, errlen)) != WID_OK) {
        return rc;
    }
    have[0] = conf->ca_key_path;
    have[1] = conf->policy_path;
    have[2] = conf->audience;
    have[3] = conf->journal_dir;
    have[4] = conf->receipt_key_path;
    have[5] = conf->index_path;
    for (i = 0; i < 6; i++) {
        if (have[i] == NULL) {
            snprintf(err, errlen, "%s: '%s' is required for issuance", path,
                     need[i]);
            goto fail;
        }
    }
    if (conf->nbundles == 0) {
        snprintf(err, errlen, "%s: at least one 'bundle' is required", path);
        goto fail;
    }
    if (ssh_pop_audience_ok(conf->audience) != 0) {
        snprintf(err, errlen, "%s: 'audience': " SSH_POP_AUDIENCE_RULE,
                 path);
        goto fail;
    }
    if (ssh_conf_rules_ok(conf, err, errlen) != 0) {
        goto fail;
    }
    return WID_OK;

fail:
    ssh_conf_free(conf);
    return WID_R_INTERNAL_CONFIG;
}


int
ssh_conf_has_rule(const ssh_conf *conf, const char *rule)
{
    size_t i;

    for (i = 0; i < conf->nrules; i++) {
        if (strcmp(conf->rules[i], rule) == 0) {
            return 1;
        }
    }
    return 0;
}


void
ssh_conf_free(ssh_conf *conf)
{
    size_t i;

    free(conf->ca_pubkey_path);
    free(conf->krl_path);
    free(conf->receipt_pubkey_path);
    free(conf->log_path);
    free(conf->policy_path);
    free(conf->policy_signer_path);
    for (i = 0; i < conf->nrules; i++) {
        free(conf->rules[i]);
    }
    free(conf->journal_socket);
    free(conf->journal_dir);
    free(conf->receipt_key_path);
    free(conf->ca_key_path);
    free(conf->audience);
    for (i = 0; i < conf->nbundles; i++) {
        free(conf->bundles[i]);
    }
    free(conf->index_path);
    free(conf->socket_group);
    memset(conf, 0, sizeof(*conf));
}
