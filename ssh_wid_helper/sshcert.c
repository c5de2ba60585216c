#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base64.h"
#include "sshcert.h"

/* Sorted by strcmp: the bit order is also the order they are emitted. */
static const char *const ssh_ext_names[SSH_EXT_COUNT] = {
    "no-touch-required",
    "permit-X11-forwarding",
    "permit-agent-forwarding",
    "permit-port-forwarding",
    "permit-pty",
    "permit-user-rc",
};

#define SSH_OPT_NAME_MAX  64
#define SSH_CIDR_MAX      (INET6_ADDRSTRLEN + 3)   /* as sshd bounds it */


wid_reason_t
ssh_check_principal(const char *p)
{
    size_t n = strlen(p), i;

    if (n == 0 || n > SSH_PRINCIPAL_MAX) {
        return WID_R_SSH_PRINCIPAL_INVALID;
    }
    /*
     * Principals end up as the last token of an AuthorizedPrincipals line
     * and in comma-separated lists: refuse anything that could split or
     * comment a line, quote, or act as a pattern.  Reject, never repair.
     */
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char) p[i];

        if (c <= 0x20 || c >= 0x7f || strchr(",#\"'\\*?!", c) != NULL) {
            return WID_R_SSH_PRINCIPAL_INVALID;
        }
    }
    return WID_OK;
}


static int
ssh_printable(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];

        if (c < 0x20 || c >= 0x7f) {
            return 0;
        }
    }
    return 1;
}


wid_reason_t
ssh_check_key_id(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > SSH_KEY_ID_MAX || !ssh_printable(id, n)) {
        return WID_R_SSH_KEY_ID_INVALID;
    }
    return WID_OK;
}


wid_reason_t
ssh_check_force_command(const char *cmd)
{
    size_t n = strlen(cmd);

    if (n == 0 || n > SSH_FORCE_COMMAND_MAX || !ssh_printable(cmd, n)) {
        return WID_R_SSH_FORCE_COMMAND_INVALID;
    }
    return WID_OK;
}


int
ssh_check_comment(const char *comment)
{
    size_t n = strlen(comment);

    return n <= SSH_COMMENT_MAX && ssh_printable(comment, n) ? 0 : -1;
}


/* One "ADDR[/LEN]" entry; host bits must be zero, as sshd requires. */
static int
ssh_check_cidr(const char *e, size_t n)
{
    char            addr[SSH_CIDR_MAX + 1];
    unsigned char   bin[16];
    const char     *slash;
    size_t          alen, i, nbytes, bits;
    unsigned long   mask;

    if (n == 0 || n > SSH_CIDR_MAX
        || strspn(e, "0123456789abcdefABCDEF.:/") < n)
    {
        return -1;
    }
    slash = memchr(e, '/', n);
    alen = slash ? (size_t) (slash - e) : n;
    memcpy(addr, e, alen);
    addr[alen] = '\0';

    if (inet_pton(AF_INET, addr, bin) == 1) {
        nbytes = 4;
    } else if (inet_pton(AF_INET6, addr, bin) == 1) {
        nbytes = 16;
    } else {
        return -1;
    }

    mask = nbytes * 8;
    if (slash != NULL) {
        const char *m = slash + 1;
        size_t      mlen = n - alen - 1;

        if (mlen == 0 || mlen > 3) {
            return -1;
        }
        mask = 0;
        for (i = 0; i < mlen; i++) {
            if (m[i] < '0' || m[i] > '9') {
                return -1;
            }
            mask = mask * 10 + (unsigned long) (m[i] - '0');
        }
        if (mask > nbytes * 8) {
            return -1;
        }
    }

    /* Every bit after the prefix must be zero. */
    for (bits = 0; bits < nbytes * 8; bits++) {
        if (bits >= mask && (bin[bits / 8] & (0x80u >> (bits % 8)))) {
            return -1;
        }
    }
    return 0;
}


wid_reason_t
ssh_check_source_address(const char *list)
{
    const char *p = list, *comma;
    size_t      n = strlen(list);

    if (n == 0 || n > SSH_SOURCE_ADDRESS_MAX) {
        return WID_R_SSH_SOURCE_ADDRESS_INVALID;
    }
    for ( ;; ) {
        comma = strchr(p, ',');
        n = comma ? (size_t) (comma - p) : strlen(p);
        if (ssh_check_cidr(p, n) != 0) {
            return WID_R_SSH_SOURCE_ADDRESS_INVALID;
        }
        if (comma == NULL) {
            return WID_OK;
        }
        p = comma + 1;
    }
}


unsigned
ssh_extension_bit(const char *name)
{
    unsigned i;

    for (i = 0; i < SSH_EXT_COUNT; i++) {
        if (strcmp(name, ssh_ext_names[i]) == 0) {
            return 1u << i;
        }
    }
    return 0;
}


const char *
ssh_extension_name(unsigned bit)
{
    unsigned i;

    for (i = 0; i < SSH_EXT_COUNT; i++) {
        if (bit == (1u << i)) {
            return ssh_ext_names[i];
        }
    }
    return NULL;
}


wid_reason_t
ssh_cert_validity(uint64_t now, uint64_t backdate, uint64_t ttl,
                  uint64_t ttl_max, uint64_t not_after,
                  uint64_t *valid_after, uint64_t *valid_before)
{
    uint64_t va, vb;

    if (ttl == 0 || ttl > ttl_max) {
        return WID_R_SSH_TTL_INVALID;
    }
    if (backdate > SSH_BACKDATE_MAX) {
        return WID_R_SSH_VALIDITY_INVALID;
    }
    if (now > UINT64_MAX - ttl) {
        return WID_R_SSH_VALIDITY_INVALID;
    }
    va = now >= backdate ? now - backdate : 0;
    vb = now + ttl;
    /* Never outlive the credential that justified the certificate. */
    if (not_after != 0 && not_after < vb) {
        vb = not_after;
    }
    if (vb <= now || va >= vb) {
        return WID_R_SSH_VALIDITY_INVALID;
    }
    *valid_after = va;
    *valid_before = vb;
    return WID_OK;
}


/* Everything in the request, as the parser also insists. */
wid_reason_t
ssh_cert_check(const ssh_cert *c)
{
    wid_reason_t rc;
    size_t       i, j;

    if (c->type != SSH_CERT_TYPE_USER) {
        return WID_R_SSH_CERT_NOT_USER;
    }
    if (c->key_id == NULL) {
        return WID_R_SSH_KEY_ID_INVALID;
    }
    if ((rc = ssh_check_key_id(c->key_id)) != WID_OK) {
        return rc;
    }
    if (c->nprincipals == 0 || c->principals == NULL) {
        return WID_R_SSH_PRINCIPALS_EMPTY;
    }
    if (c->nprincipals > SSH_CERT_MAX_PRINCIPALS) {
        return WID_R_SSH_TOO_MANY_PRINCIPALS;
    }
    for (i = 0; i < c->nprincipals; i++) {
        if (c->principals[i] == NULL) {
            return WID_R_SSH_PRINCIPAL_INVALID;
        }
        if ((rc = ssh_check_principal(c->principals[i])) != WID_OK) {
            return rc;
        }
        for (j = 0; j < i; j++) {
            if (strcmp(c->principals[i], c->principals[j]) == 0) {
                return WID_R_SSH_PRINCIPAL_DUPLICATE;
            }
        }
    }
    if (c->valid_after >= c->valid_before) {
        return WID_R_SSH_VALIDITY_INVALID;
    }
    if (c->force_command != NULL
        && (rc = ssh_check_force_command(c->force_command)) != WID_OK)
    {
        return rc;
    }
    if (c->source_address != NULL
        && (rc = ssh_check_source_address(c->source_address)) != WID_OK)
    {
        return rc;
    }
    if (c->extensions >> SSH_EXT_COUNT) {
        return WID_R_SSH_EXTENSION_UNKNOWN;
    }
    return WID_OK;
}


void
ssh_pubkey_blob(const unsigned char pk[SSH_ED25519_PK_LEN], ssh_wbuf *out)
{
    ssh_wbuf_put_cstring(out, SSH_ED25519_NAME);
    ssh_wbuf_put_string(out, pk, SSH_ED25519_PK_LEN);
}


/* A critical option: name, then the value as a string inside a string. */
static void
ssh_put_option(ssh_wbuf *b, const char *name, const char *value)
{
    ssh_wbuf inner;

    ssh_wbuf_init(&inner, 0);
    ssh_wbuf_put_cstring(&inner, value);
    ssh_wbuf_put_cstring(b, name);
    ssh_wbuf_put_wbuf(b, &inner);
    ssh_wbuf_free(&inner);
}


static void
ssh_cert_put_body(const ssh_cert *c, ssh_wbuf *out)
{
    ssh_wbuf sub;
    size_t   i;

    ssh_wbuf_put_cstring(out, SSH_ED25519_CERT_NAME);
    ssh_wbuf_put_string(out, c->nonce, sizeof(c->nonce));
    ssh_wbuf_put_string(out, c->pk, sizeof(c->pk));
    ssh_wbuf_put_u64(out, c->serial);
    ssh_wbuf_put_u32(out, c->type);
    ssh_wbuf_put_cstring(out, c->key_id);

    ssh_wbuf_init(&sub, 0);
    for (i = 0; i < c->nprincipals; i++) {
        ssh_wbuf_put_cstring(&sub, c->principals[i]);
    }
    ssh_wbuf_put_wbuf(out, &sub);
    ssh_wbuf_free(&sub);

    ssh_wbuf_put_u64(out, c->valid_after);
    ssh_wbuf_put_u64(out, c->valid_before);

    /* Critical options in name order: force-command < source-address. */
    ssh_wbuf_init(&sub, 0);
    if (c->force_command != NULL) {
        ssh_put_option(&sub, "force-command", c->force_command);
    }
    if (c->source_address != NULL) {
        ssh_put_option(&sub, "source-address", c->source_address);
    }
    ssh_wbuf_put_wbuf(out, &sub);
    ssh_wbuf_free(&sub);

    /* Extensions are flags: name and an empty string, in name order. */
    ssh_wbuf_init(&sub, 0);
    for (i = 0; i < SSH_EXT_COUNT; i++) {
        if (c->extensions & (1u << i)) {
            ssh_wbuf_put_cstring(&sub, ssh_ext_names[i]);
            ssh_wbuf_put_string(&sub, "", 0);
        }
    }
    ssh_wbuf_put_wbuf(out, &sub);
    ssh_wbuf_free(&sub);

    ssh_wbuf_put_string(out, "", 0);                /* reserved */

    ssh_wbuf_init(&sub, 0);
    ssh_pubkey_blob(c->ca_pk, &sub);
    ssh_wbuf_put_wbuf(out, &sub);
    ssh_wbuf_free(&sub);
}


uint64_t
ssh_cert_random_serial(void)
{
    uint64_t serial;

    /*
     * 64 random bits; serial 0 cannot be revoked by a KRL: draw until
     * non-zero.  Receipts, the index and the daemon's answer carry the
     * serial to JSON as a decimal string, so every value survives.
     */
    do {
        randombytes_buf(&serial, sizeof(serial));
    } while (serial == 0);
    return serial;
}


wid_reason_t
ssh_cert_sign(ssh_cert *c, const unsigned char ca_sk[SSH_ED25519_SK_LEN],
              ssh_wbuf *out)
{
    ssh_wbuf     sig;
    wid_reason_t rc;

    if ((rc = ssh_cert_check(c)) != WID_OK) {
        return rc;
    }

    randombytes_buf(c->nonce, sizeof(c->nonce));
    if (c->serial == 0) {
        c->serial = ssh_cert_random_serial();
    }
    if (crypto_sign_ed25519_sk_to_pk(c->ca_pk, ca_sk) != 0) {
        return WID_R_INTERNAL_CRYPTO;
    }

    ssh_cert_put_body(c, out);
    if (ssh_wbuf_error(out) != 0) {
        return WID_R_INTERNAL_NOMEM;
    }
    if (crypto_sign_ed25519_detached(c->sig, NULL, out->data, out->len,
                                     ca_sk) != 0)
    {
        return WID_R_INTERNAL_CRYPTO;
    }

    ssh_wbuf_init(&sig, 0);
    ssh_wbuf_put_cstring(&sig, SSH_ED25519_NAME);
    ssh_wbuf_put_string(&sig, c->sig, sizeof(c->sig));
    ssh_wbuf_put_wbuf(out, &sig);
    ssh_wbuf_free(&sig);
    return ssh_wbuf_error(out) == 0 ? WID_OK : WID_R_INTERNAL_NOMEM;
}


void
ssh_cert_free(ssh_cert *c)
{
    size_t i;

    if (c->principals != NULL) {
        for (i = 0; i < c->nprincipals; i++) {
            free(c->principals[i]);
        }
        free(c->principals);
    }
    free(c->key_id);
    free(c->force_command);
    free(c->source_address);
    memset(c, 0, sizeof(*c));
}


/* "string ssh-ed25519, string pk[32]" and nothing else. */
wid_reason_t
ssh_pubkey_parse_blob(const unsigned char *blob, size_t len,
                      unsigned char pk[SSH_ED25519_PK_LEN])
{
    ssh_rbuf             r;
    const unsigned char *p;
    size_t               n;

    ssh_rbuf_init(&r, blob, len);
    if (ssh_rbuf_get_string(&r, &p, &n) != 0) {
        return WID_R_SSH_PUBKEY_MALFORMED;
    }
    if (n != strlen(SSH_ED25519_NAME) || memcmp(p, SSH_ED25519_NAME, n) != 0) {
        return WID_R_SSH_KEY_TYPE_UNSUPPORTED;
    }
    if (ssh_rbuf_get_string(&r, &p, &n) != 0 || n != SSH_ED25519_PK_LEN
        || r.len != 0)
    {
        return WID_R_SSH_PUBKEY_MALFORMED;
    }
    memcpy(pk, p, SSH_ED25519_PK_LEN);
    return WID_OK;
}


static wid_reason_t
ssh_cert_parse_options(ssh_rbuf *sub, ssh_cert *c, int critical)
{
    char                *name = NULL, *prev = NULL;
    const unsigned char *data;
    size_t               dlen;
    ssh_rbuf             val;
    wid_reason_t         rc = WID_OK;
    unsigned             bit;

    while (sub->len > 0) {
        if (ssh_rbuf_get_cstring(sub, SSH_OPT_NAME_MAX, &name) != 0
            || ssh_rbuf_get_string(sub, &data, &dlen) != 0)
        {
            rc = WID_R_SSH_CERT_MALFORMED;
            break;
        }
        /* Strictly increasing names: sorted and no duplicates. */
        if (prev != NULL && strcmp(prev, name) >= 0) {
            rc = WID_R_SSH_CERT_OPTIONS_UNSORTED;
            break;
        }
        if (critical) {
            char **slot;

            if (strcmp(name, "force-command") == 0) {
                slot = &c->force_command;
            } else if (strcmp(name, "source-address") == 0) {
                slot = &c->source_address;
            } else {
                rc = WID_R_SSH_CERT_CRITICAL_UNKNOWN;
                break;
            }
            ssh_rbuf_init(&val, data, dlen);
            if (ssh_rbuf_get_cstring(&val, slot == &c->force_command
                                           ? SSH_FORCE_COMMAND_MAX
                                           : SSH_SOURCE_ADDRESS_MAX,
                                     slot) != 0
                || val.len != 0)
            {
                rc = WID_R_SSH_CERT_OPTION_MALFORMED;
                break;
            }
            rc = slot == &c->force_command
                 ? ssh_check_force_command(*slot)
                 : ssh_check_source_address(*slot);
            if (rc != WID_OK) {
                break;
            }
        } else {
            bit = ssh_extension_bit(name);
            if (bit == 0) {
                rc = WID_R_SSH_EXTENSION_UNKNOWN;
                break;
            }
            if (dlen != 0) {
                rc = WID_R_SSH_CERT_OPTION_MALFORMED;
                break;
            }
            c->extensions |= bit;
        }
        free(prev);
        prev = name;
        name = NULL;
    }
    free(prev);
    free(name);
    return rc;
}


static wid_reason_t
ssh_cert_parse_principals(ssh_rbuf *sub, ssh_cert *c)
{
    char **np;
    char  *p;

    while (sub->len > 0) {
        if (c->nprincipals == SSH_CERT_MAX_PRINCIPALS) {
            return WID_R_SSH_TOO_MANY_PRINCIPALS;
        }
        if (ssh_rbuf_get_cstring(sub, SSH_PRINCIPAL_MAX, &p) != 0) {
            return WID_R_SSH_PRINCIPAL_INVALID;
        }
        np = realloc(c->principals, (c->nprincipals + 1) * sizeof(*np));
        if (np == NULL) {
            free(p);
            return WID_R_INTERNAL_NOMEM;
        }
        c->principals = np;
        c->principals[c->nprincipals++] = p;
    }
    return WID_OK;
}


static wid_reason_t
ssh_cert_parse_inner(const unsigned char *blob, size_t len, ssh_cert *c)
{
    ssh_rbuf             r, sub;
    const unsigned char *p;
    size_t               n, signed_len;
    wid_reason_t         rc;

    ssh_rbuf_init(&r, blob, len);
    if (ssh_rbuf_get_string(&r, &p, &n) != 0) {
        return WID_R_SSH_CERT_MALFORMED;
    }
    if (n != strlen(SSH_ED25519_CERT_NAME)
        || memcmp(p, SSH_ED25519_CERT_NAME, n) != 0)
    {
        return WID_R_SSH_KEY_TYPE_UNSUPPORTED;
    }
    if (ssh_rbuf_get_string(&r, &p, &n) != 0 || n != SSH_CERT_NONCE_LEN) {
        return WID_R_SSH_CERT_MALFORMED;
    }
    memcpy(c->nonce, p, n);
    if (ssh_rbuf_get_string(&r, &p, &n) != 0 || n != SSH_ED25519_PK_LEN) {
        return WID_R_SSH_CERT_MALFORMED;
    }
    memcpy(c->pk, p, n);
    if (ssh_rbuf_get_u64(&r, &c->serial) != 0
        || ssh_rbuf_get_u32(&r, &c->type) != 0)
    {
        return WID_R_SSH_CERT_MALFORMED;
    }
    if (ssh_rbuf_get_string(&r, &p, &n) != 0) {
        return WID_R_SSH_CERT_MALFORMED;
    }
    if (n > SSH_KEY_ID_MAX || memchr(p, '\0', n) != NULL) {
        return WID_R_SSH_KEY_ID_INVALID;
    }
    if ((c->key_id = malloc(n + 1)) == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    memcpy(c->key_id, p, n);
    c->key_id[n] = '\0';

    if (ssh_rbuf_get_sub(&r, &sub) != 0) {
        return WID_R_SSH_CERT_MALFORMED;
    }
    if ((rc = ssh_cert_parse_principals(&sub, c)) != WID_OK) {
        return rc;
    }
    if (ssh_rbuf_get_u64(&r, &c->valid_after) != 0
        || ssh_rbuf_get_u64(&r, &c->valid_before) != 0)
    {
        return WID_R_SSH_CERT_MALFORMED;
    }
    if (ssh_rbuf_get_sub(&r, &sub) != 0) {
        return WID_R_SSH_CERT_MALFORMED;
    }
    if ((rc = ssh_cert_parse_options(&sub, c, 1)) != WID_OK) {
        return rc;
    }
    if (ssh_rbuf_get_sub(&r, &sub) != 0) {
        return WID_R_SSH_CERT_MALFORMED;
    }
    if ((rc = ssh_cert_parse_options(&sub, c, 0)) != WID_OK) {
        return rc;
    }
    /* reserved: OpenSSH writes it empty; anything else is not ours. */
    if (ssh_rbuf_get_string(&r, &p, &n) != 0 || n != 0) {
        return WID_R_SSH_CERT_MALFORMED;
    }
    if (ssh_rbuf_get_string(&r, &p, &n) != 0) {
        return WID_R_SSH_CERT_MALFORMED;
    }
    if ((rc = ssh_pubkey_parse_blob(p, n, c->ca_pk)) != WID_OK) {
        return rc;
    }

    signed_len = len - r.len;

    if (ssh_rbuf_get_sub(&r, &sub) != 0 || r.len != 0) {
        return WID_R_SSH_CERT_MALFORMED;               /* trailing data */
    }
    if (ssh_rbuf_expect_cstring(&sub, SSH_ED25519_NAME) != 0) {
        return WID_R_SSH_KEY_TYPE_UNSUPPORTED;
    }
    if (ssh_rbuf_get_string(&sub, &p, &n) != 0 || n != SSH_ED25519_SIG_LEN
        || sub.len != 0)
    {
        return WID_R_SSH_CERT_MALFORMED;
    }
    memcpy(c->sig, p, n);

    /* Same rules as issuance: what we would not sign we do not accept. */
    if ((rc = ssh_cert_check(c)) != WID_OK) {
        return rc;
    }
    if (crypto_sign_ed25519_verify_detached(c->sig, blob, signed_len,
                                            c->ca_pk) != 0)
    {
        return WID_R_SSH_CERT_SIGNATURE_INVALID;
    }
    return WID_OK;
}


wid_reason_t
ssh_cert_parse(const unsigned char *blob, size_t len, ssh_cert *c)
{
    wid_reason_t rc;

    memset(c, 0, sizeof(*c));
    rc = ssh_cert_parse_inner(blob, len, c);
    if (rc != WID_OK) {
        ssh_cert_free(c);
    }
    return rc;
}


wid_reason_t
ssh_base64_decode(const char *s, size_t len, unsigned char **out,
                  size_t *out_len)
{
    unsigned char *bin;
    size_t         cap, n = 0;

    *out = NULL;
    *out_len = 0;
    if (len == 0 || len % 4 != 0 || len > SSH_BUF_MAX) {
        return WID_R_SSH_CERT_MALFORMED;
    }
    cap = len / 4 * 3;
    if ((bin = malloc(cap)) == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    /* Canonical padded standard base64, no stray bytes (base64.h). */
    if (wid_b64_decode(s, len, 0, bin, cap, &n) != 0) {
        free(bin);
        return WID_R_SSH_CERT_MALFORMED;
    }
    *out = bin;
    *out_len = n;
    return WID_OK;
}


wid_reason_t
ssh_cert_parse_base64(const char *type, const char *b64, ssh_cert *c)
{
    unsigned char *blob;
    size_t         len;
    wid_reason_t   rc;

    memset(c, 0, sizeof(*c));
    if (type != NULL && strcmp(type, SSH_ED25519_CERT_NAME) != 0) {
        return WID_R_SSH_KEY_TYPE_UNSUPPORTED;
    }
    if ((rc = ssh_base64_decode(b64, strlen(b64), &blob, &len)) != WID_OK) {
        return rc;
    }
    rc = ssh_cert_parse(blob, len, c);
    free(blob);
    return rc;
}


/*
 * Split "TYPE BASE64 [comment]" (trailing newline allowed).  The two
 * tokens are returned as pointers/lengths into line.
 */
static int
ssh_split_line(const char *line, const char **type, size_t *tlen,
               const char **b64, size_t *blen)
{
    const char *p = line;

    *type = p;
    *tlen = strcspn(p, " \t\r\n");
    p += *tlen;
    if (*tlen == 0 || (*p != ' ' && *p != '\t')) {
        return -1;
    }
    p += strspn(p, " \t");
    *b64 = p;
    *blen = strcspn(p, " \t\r\n");
    return *blen == 0 ? -1 : 0;
}


wid_reason_t
ssh_cert_parse_line(const char *line, ssh_cert *c)
{
    const char    *type, *b64;
    size_t         tlen, blen;
    unsigned char *blob;
    size_t         len;
    wid_reason_t   rc;

    memset(c, 0, sizeof(*c));
    if (ssh_split_line(line, &type, &tlen, &b64, &blen) != 0) {
        return WID_R_SSH_CERT_MALFORMED;
    }
    if (tlen != strlen(SSH_ED25519_CERT_NAME)
        || memcmp(type, SSH_ED25519_CERT_NAME, tlen) != 0)
    {
        return WID_R_SSH_KEY_TYPE_UNSUPPORTED;
    }
    if ((rc = ssh_base64_decode(b64, blen, &blob, &len)) != WID_OK) {
        return rc;
    }
    rc = ssh_cert_parse(blob, len, c);
    free(blob);
    return rc;
}


wid_reason_t
ssh_pubkey_parse_line(const char *line, unsigned char pk[SSH_ED25519_PK_LEN])
{
    const char    *type, *b64;
    size_t         tlen, blen, len;
    unsigned char *blob;
    wid_reason_t   rc;

    if (ssh_split_line(line, &type, &tlen, &b64, &blen) != 0) {
        return WID_R_SSH_PUBKEY_MALFORMED;
    }
    if (tlen != strlen(SSH_ED25519_NAME)
        || memcmp(type, SSH_ED25519_NAME, tlen) != 0)
    {
        return WID_R_SSH_KEY_TYPE_UNSUPPORTED;
    }
    if (ssh_base64_decode(b64, blen, &blob, &len) != WID_OK) {
        return WID_R_SSH_PUBKEY_MALFORMED;
    }
    rc = ssh_pubkey_parse_blob(blob, len, pk);
    free(blob);
    return rc;
}


wid_reason_t
ssh_format_line(const char *type, const unsigned char *blob, size_t len,
                const char *comment, char **out)
{
    size_t  b64len, tlen = strlen(type), clen, total;
    char   *s, *p;

    *out = NULL;
    if (len > SSH_BUF_MAX) {
        return WID_R_INTERNAL_NOMEM;
    }
    clen = comment ? strlen(comment) : 0;
    if (clen > SSH_BUF_MAX) {
        return WID_R_INTERNAL_NOMEM;
    }
    b64len = WID_B64_ENCODED_LEN(len) + 1;
    /* type + ' ' + base64 (includes NUL) + ' ' + comment + '\n' */
    total = tlen + 1 + b64len + 1 + clen + 1;
    if ((s = malloc(total)) == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    memcpy(s, type, tlen);
    s[tlen] = ' ';
    if (wid_b64_encode(blob, len, s + tlen + 1, b64len) < 0) {
        free(s);
        return WID_R_INTERNAL_NOMEM;
    }
    p = s + strlen(s);
    if (clen > 0) {
        *p++ = ' ';
        memcpy(p, comment, clen);
        p += clen;
    }
    *p++ = '\n';
    *p = '\0';
    *out = s;
    return WID_OK;
}


void
ssh_pubkey_fingerprint(const unsigned char pk[SSH_ED25519_PK_LEN],
                       char out[64])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    ssh_wbuf      b;

    ssh_wbuf_init(&b, 0);
    ssh_pubkey_blob(pk, &b);
    if (ssh_wbuf_error(&b) != 0) {
        ssh_wbuf_free(&b);
        strcpy(out, "SHA256:?");
        return;
    }
    /* libsodium's SHA-256: no OpenSSL provider fetch, which costs more
     * than the rest of a `principals` run. */
    crypto_hash_sha256(digest, b.data, b.len);
    ssh_wbuf_free(&b);
    memcpy(out, "SHA256:", 7);
    (void) wid_b64_encode_nopad(digest, sizeof(digest), out + 7, 64 - 7);
}
