#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "util.h"


int
ssh_wid_parse_u64(const char *s, uint64_t *v)
{
    uint64_t x = 0, d;

    if (s == NULL || *s == '\0' || (s[0] == '0' && s[1] != '\0')) {
        return -1;
    }
    for (; *s; s++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }
        d = (uint64_t) (*s - '0');
        if (x > (UINT64_MAX - d) / 10) {
            return -1;
        }
        x = x * 10 + d;
    }
    *v = x;
    return 0;
}


int
ssh_wid_opt(int argc, char **argv, int *i, const char *name,
            const char **val)
{
    if (strcmp(argv[*i], name) != 0) {
        return 0;
    }
    if (*i + 1 >= argc) {
        return -1;
    }
    *val = argv[*i + 1];
    (*i)++;
    return 1;
}


int
ssh_wid_exit_code(wid_reason_t rc)
{
    const char *code = wid_reason_code(rc);

    if (strncmp(code, "internal.", 9) == 0 || strncmp(code, "key.", 4) == 0
        || rc == WID_R_SSH_CA_IS_RECEIPT_KEY
        || rc == WID_R_SSH_KRL_UNREADABLE || rc == WID_R_SSH_KRL_MALFORMED
        || rc == WID_R_SSH_KRL_UNSUPPORTED
        || rc == WID_R_SSH_INDEX_MALFORMED)
    {
        return 2;
    }
    return 1;
}


int
ssh_wid_fail(const char *cmd, wid_reason_t rc, const char *detail)
{
    fprintf(stderr, "ssh-wid-helper %s: %s (%s)%s%s\n", cmd,
            wid_reason_code(rc), wid_reason_text(rc),
            detail ? ": " : "", detail ? detail : "");
    return ssh_wid_exit_code(rc);
}


int
ssh_wid_usage_error(const char *cmd, const char *msg, const char *usage)
{
    fprintf(stderr, "ssh-wid-helper %s: %s\nusage: ssh-wid-helper %s\n",
            cmd, msg, usage);
    return 2;
}


uint64_t
ssh_wid_now(void)
{
    time_t t = time(NULL);

    return t < 0 ? 0 : (uint64_t) t;
}


void
ssh_wid_free_secret_len(void *p, size_t len)
{
    if (p != NULL) {
        sodium_memzero(p, len);
        free(p);
    }
}


void
ssh_wid_free_secret(char *s)
{
    ssh_wid_free_secret_len(s, s != NULL ? strlen(s) : 0);
}
