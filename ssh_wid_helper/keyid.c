#include <stdio.h>
#include <string.h>

#include "keyid.h"


int
ssh_rule_name_ok(const char *s, size_t len)
{
    size_t i;

    if (len == 0 || len > SSH_RULE_NAME_MAX) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
        {
            return 0;
        }
    }
    return 1;
}


int
ssh_key_id_format(char *out, size_t outlen, const char *spiffe_id,
                  const char *receipt, const char *rule,
                  wid_cred_kind_t kind, wid_tier_t tier)
{
    int n;

    n = snprintf(out, outlen, "%s receipt=%s rule=%s cred=%s tier=%s",
                 spiffe_id, receipt, rule, wid_cred_kind_name(kind),
                 wid_tier_name(tier));
    return n < 0 || (size_t) n >= outlen ? -1 : 0;
}


/* "name=" then the value up to the next space (or the end). */
static int
ssh_key_id_field(const char **p, const char *name, const char **val,
                 size_t *len)
{
    size_t n = strlen(name);

    if (strncmp(*p, name, n) != 0 || (*p)[n] != '=') {
        return -1;
    }
    *val = *p + n + 1;
    *len = strcspn(*val, " ");
    *p = *val + *len;
    if (**p == ' ') {
        (*p)++;
    }
    return 0;
}


static int
ssh_receipt_id_ok(const char *s, size_t len)
{
    size_t i;

    if (len != WID_RECEIPT_ID_LEN || strncmp(s, WID_RECEIPT_ID_PREFIX, 4) != 0) {
        return 0;
    }
    for (i = 4; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}


wid_reason_t
ssh_key_id_parse(const char *key_id, ssh_wid_key_id *out)
{
    const char *p, *v;
    size_t      n;
    char        tmp[16];

    memset(out, 0, sizeof(*out));
    n = strcspn(key_id, " ");
    if (key_id[n] != ' '
        || wid_spiffe_id_parse(key_id, n, &out->id) != WID_OK
        || out->id.path[0] == '\0')
    {
        goto bad;
    }
    p = key_id + n + 1;

    if (ssh_key_id_field(&p, "receipt", &v, &n) != 0
        || !ssh_receipt_id_ok(v, n))
    {
        goto bad;
    }
    memcpy(out->receipt, v, n);
    out->receipt[n] = '\0';

    if (ssh_key_id_field(&p, "rule", &v, &n) != 0 || !ssh_rule_name_ok(v, n)) {
        goto bad;
    }
    memcpy(out->rule, v, n);
    out->rule[n] = '\0';

    if (ssh_key_id_field(&p, "cred", &v, &n) != 0 || n >= sizeof(tmp)) {
        goto bad;
    }
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    if (wid_cred_kind_from_name(tmp, &out->kind) != 0
        || (out->kind != WID_CRED_X509_SVID && out->kind != WID_CRED_JWT_SVID))
    {
        goto bad;
    }

    if (ssh_key_id_field(&p, "tier", &v, &n) != 0 || n >= sizeof(tmp)) {
        goto bad;
    }
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    if (wid_tier_from_name(tmp, &out->tier) != 0 || *p != '\0'
        || p[-1] == ' ')
    {
        goto bad;
    }
    return WID_OK;

bad:
    memset(out, 0, sizeof(*out));
    return WID_R_SSH_KEY_ID_FOREIGN;
}
