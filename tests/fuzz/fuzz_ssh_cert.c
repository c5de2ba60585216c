/*
 * Fuzz target: OpenSSH certificates and public keys as the SSH helper
 * reads them.  The first byte picks the entry point:
 *
 *   0  raw certificate blob        ssh_cert_parse
 *   1  "TYPE BASE64 [comment]"     ssh_cert_parse_line
 *   2  "%t\0%k" as sshd passes them to the principals command
 *                                  ssh_cert_parse_base64
 *   3  raw public key blob         ssh_pubkey_parse_blob
 *   4  public key line             ssh_pubkey_parse_line
 *   5  certificate body, re-signed here by the fixed test CA, so that
 *      mutations reach every check behind the signature
 *
 * Beyond "no crash": a certificate that parses passes ssh_cert_check
 * (what wid would not issue it does not accept), survives formatting as
 * a line and parsing back unchanged, and a re-signed body that parses
 * names the fixed CA; a key that parses survives blob encoding.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ssh_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same_cert(const ssh_cert *a, const ssh_cert *b)
{
    size_t i;

    if (memcmp(a->nonce, b->nonce, sizeof(a->nonce)) != 0
        || a->serial != b->serial || a->type != b->type
        || memcmp(a->pk, b->pk, sizeof(a->pk)) != 0
        || memcmp(a->ca_pk, b->ca_pk, sizeof(a->ca_pk)) != 0
        || memcmp(a->sig, b->sig, sizeof(a->sig)) != 0
        || strcmp(a->key_id, b->key_id) != 0
        || a->nprincipals != b->nprincipals
        || a->valid_after != b->valid_after
        || a->valid_before != b->valid_before
        || a->extensions != b->extensions
        || (a->force_command == NULL) != (b->force_command == NULL)
        || (a->force_command && strcmp(a->force_command, b->force_command))
        || (a->source_address == NULL) != (b->source_address == NULL)
        || (a->source_address
            && strcmp(a->source_address, b->source_address)))
    {
        abort();
    }
    for (i = 0; i < a->nprincipals; i++) {
        if (strcmp(a->principals[i], b->principals[i]) != 0) {
            abort();
        }
    }
}

/* A certificate that parsed: the parser's own rules hold, and it
 * survives the line format. */
static void
check_cert(const unsigned char *blob, size_t len, const ssh_cert *c)
{
    ssh_cert  again;
    char     *line;

    if (ssh_cert_check(c) != WID_OK || c->valid_after >= c->valid_before
        || c->nprincipals == 0 || c->nprincipals > SSH_CERT_MAX_PRINCIPALS)
    {
        abort();
    }
    if (ssh_format_line(SSH_ED25519_CERT_NAME, blob, len, "fuzz", &line)
        != WID_OK)
    {
        abort();
    }
    if (ssh_cert_parse_line(line, &again) != WID_OK) {
        abort();
    }
    same_cert(c, &again);
    ssh_cert_free(&again);
    free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int     init;
    ssh_cert       c;
    unsigned char  pk[SSH_ED25519_PK_LEN], pk2[SSH_ED25519_PK_LEN];
    unsigned char *blob;
    size_t         len;
    char          *s, *t;
    const uint8_t *p;
    size_t         n;
    ssh_wbuf       b;
    wid_reason_t   rc;

    if (!init) {
        if (fuzz_ssh_fixture_init() != 0) {
            abort();
        }
        init = 1;
    }
    if (size < 1) {
        return 0;
    }
    p = data + 1;
    n = size - 1;

    switch (data[0] % 6) {
    case 0:
        if (ssh_cert_parse(p, n, &c) == WID_OK) {
            check_cert(p, n, &c);
            ssh_cert_free(&c);
        }
        break;

    case 1:
        if ((s = fuzz_strndup(p, n)) == NULL) {
            return 0;
        }
        if (ssh_cert_parse_line(s, &c) == WID_OK) {
            ssh_cert_free(&c);
        }
        free(s);
        break;

    case 2:
        if ((t = fuzz_next_field(&p, &n)) == NULL) {
            return 0;
        }
        if ((s = fuzz_strndup(p, n)) == NULL) {
            free(t);
            return 0;
        }
        if (ssh_cert_parse_base64(t, s, &c) == WID_OK) {
            ssh_cert_free(&c);
        }
        free(s);
        free(t);
        break;

    case 3:
        if (ssh_pubkey_parse_blob(p, n, pk) == WID_OK) {
            ssh_wbuf_init(&b, 0);
            ssh_pubkey_blob(pk, &b);
            if (ssh_wbuf_error(&b) != 0 || b.len != n
                || memcmp(b.data, p, n) != 0)
            {
                abort();
            }
            ssh_wbuf_free(&b);
        }
        break;

    case 4:
        if ((s = fuzz_strndup(p, n)) == NULL) {
            return 0;
        }
        if (ssh_pubkey_parse_line(s, pk) == WID_OK) {
            ssh_wbuf_init(&b, 0);
            ssh_pubkey_blob(pk, &b);
            if (ssh_pubkey_parse_blob(b.data, b.len, pk2) != WID_OK
                || memcmp(pk, pk2, sizeof(pk)) != 0)
            {
                abort();
            }
            ssh_wbuf_free(&b);
        }
        free(s);
        break;

    default:
        if (fuzz_ssh_resign(p, n, &blob, &len) != 0) {
            return 0;
        }
        rc = ssh_cert_parse(blob, len, &c);
        if (rc == WID_OK) {
            /* Only the fixed CA's signature can verify. */
            if (memcmp(c.ca_pk, fuzz_ssh_ca_pk, sizeof(c.ca_pk)) != 0) {
                abort();
            }
            check_cert(blob, len, &c);
            ssh_cert_free(&c);
        }
        free(blob);
        break;
    }
    return 0;
}
