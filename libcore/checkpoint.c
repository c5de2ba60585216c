/*
 * C2SP signed-note v1.0.0 / tlog-checkpoint v1.0.0 with Ed25519.
 * Parsing is strict about what we rely on (exact line structure, decimal
 * size without leading zeros, 32-byte root) and bounded everywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "checkpoint.h"
#include "merkle.h"

/* U+2014 EM DASH, then a space, starts every signature line. */
#define WID_NOTE_DASH      "\xe2\x80\x94 "
#define WID_NOTE_DASH_LEN  4
#define WID_ED25519_TYPE   0x01


int
wid_note_key_name_ok(const char *name)
{
    size_t i, n = name ? strlen(name) : 0;

    if (n == 0 || n > WID_KEY_NAME_MAX) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (name[i] <= 0x20 || name[i] >= 0x7f || name[i] == '+') {
            return 0;
        }
    }
    return 1;
}


void
wid_note_key_id(const char *name,
                const uint8_t pk[crypto_sign_PUBLICKEYBYTES], uint8_t id[4])
{
    uint8_t buf[WID_KEY_NAME_MAX + 2 + crypto_sign_PUBLICKEYBYTES];
    uint8_t h[32];
    size_t  n = strnlen(name, WID_KEY_NAME_MAX);

    memcpy(buf, name, n);
    buf[n] = 0x0a;
    buf[n + 1] = WID_ED25519_TYPE;
    memcpy(buf + n + 2, pk, crypto_sign_PUBLICKEYBYTES);
    wid_sha256(buf, n + 2 + crypto_sign_PUBLICKEYBYTES, h);
    memcpy(id, h, 4);
}


static int
wid_origin_ok(const char *o)
{
    size_t i, n = strlen(o);

    if (n == 0 || n > WID_ORIGIN_MAX) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if ((unsigned char) o[i] < 0x20 || o[i] == 0x7f) {
            return 0;
        }
    }
    return 1;
}


wid_reason_t
wid_checkpoint_sign(const wid_checkpoint *c, const char *key_name,
                    const uint8_t sk[crypto_sign_SECRETKEYBYTES], char *out,
                    size_t cap, size_t *len)
{
    char     root64[WID_B64_ENCODED_LEN(32) + 1];
    char     sig64[WID_B64_ENCODED_LEN(4 + crypto_sign_BYTES) + 1];
    uint8_t  blob[4 + crypto_sign_BYTES];
    int      body, n;

    *len = 0;
    if (!wid_origin_ok(c->origin) || !wid_note_key_name_ok(key_name)) {
        return WID_R_INTERNAL_CONFIG;
    }
    if (wid_b64_encode(c->root, 32, root64, sizeof(root64)) < 0) {
        return WID_R_INTERNAL_NOMEM;
    }
    body = snprintf(out, cap, "%s\n%llu\n%s\n", c->origin,
                    (unsigned long long) c->size, root64);
    if (body < 0 || (size_t) body >= cap) {
        return WID_R_INTERNAL_NOMEM;
    }
    /* The public half of a libsodium secret key is its last 32 bytes. */
    wid_note_key_id(key_name, sk + crypto_sign_SEEDBYTES, blob);
    if (crypto_sign_detached(blob + 4, NULL, (const uint8_t *) out,
                             (size_t) body, sk) != 0)
    {
        return WID_R_INTERNAL_CRYPTO;
    }
    if (wid_b64_encode(blob, sizeof(blob), sig64, sizeof(sig64)) < 0) {
        return WID_R_INTERNAL_NOMEM;
    }
    n = snprintf(out + body, cap - (size_t) body, "\n" WID_NOTE_DASH "%s %s\n",
                 key_name, sig64);
    if (n < 0 || (size_t) n >= cap - (size_t) body) {
        return WID_R_INTERNAL_NOMEM;
    }
    *len = (size_t) body + (size_t) n;
    return WID_OK;
}


/* Body: origin, size, root, optional extension lines; all non-empty. */
static wid_reason_t
wid_checkpoint_parse_body(const char *b, size_t blen, wid_checkpoint *c)
{
    const char *line[3], *p = b, *nl;
    size_t      ll[3], i, rlen;
    uint64_t    size = 0;
    uint8_t     root[33];

    for (i = 0; i < 3; i++) {
        nl = memchr(p, '\n', blen - (size_t) (p - b));
        if (nl == NULL || nl == p) {
            return WID_R_JOURNAL_CHECKPOINT_MALFORMED;
        }
        line[i] = p;
        ll[i] = (size_t) (nl - p);
        p = nl + 1;
    }
    if (ll[0] > WID_ORIGIN_MAX) {
        return WID_R_JOURNAL_CHECKPOINT_MALFORMED;
    }
    memcpy(c->origin, line[0], ll[0]);
    c->origin[ll[0]] = '\0';
    if (!wid_origin_ok(c->origin)) {
        return WID_R_JOURNAL_CHECKPOINT_MALFORMED;
    }
    /* Decimal, no sign, no leading zero, no overflow. */
    if (ll[1] > 20 || (ll[1] > 1 && line[1][0] == '0')) {
        return WID_R_JOURNAL_CHECKPOINT_MALFORMED;
    }
    for (i = 0; i < ll[1]; i++) {
        unsigned d = (unsigned) (line[1][i] - '0');

        if (d > 9 || size > (UINT64_MAX - d) / 10) {
            return WID_R_JOURNAL_CHECKPOINT_MALFORMED;
        }
        size = size * 10 + d;
    }
    c->size = size;
    if (wid_b64_decode(line[2], ll[2], 0, root, sizeof(root), &rlen) != 0
        || rlen != 32)
    {
        return WID_R_JOURNAL_CHECKPOINT_MALFORMED;
    }
    memcpy(c->root, root, 32);
    /* Extension lines are allowed and ignored, but never empty. */
    while ((size_t) (p - b) < blen) {
        nl = memchr(p, '\n', blen - (size_t) (p - b));
        if (nl == NULL || nl == p) {
            return WID_R_JOURNAL_CHECKPOINT_MALFORMED;
        }
        p = nl + 1;
    }
    return WID_OK;
}


/* Split a note into body (ending in '\n') and the signature block. */
static wid_reason_t
wid_note_split(const char *note, size_t len, size_t *body_len)
{
    const char *sep;
    size_t      i;

    if (len == 0 || len > WID_CHECKPOINT_MAX || note[len - 1] != '\n') {
        return WID_R_JOURNAL_CHECKPOINT_MALFORMED;
    }
    for (i = 0; i < len; i++) {
        unsigned char ch = (unsigned char) note[i];

        if ((ch < 0x20 && ch != '\n') || ch == 0x7f) {
            return WID_R_JOURNAL_CHECKPOINT_MALFORMED;
        }
    }
    sep = memmem(note, len, "\n\n", 2);
    if (sep == NULL || sep == note) {
        return WID_R_JOURNAL_CHECKPOINT_MALFORMED;
    }
    *body_len = (size_t) (sep - note) + 1;
    return WID_OK;
}


wid_reason_t
wid_checkpoint_parse(const char *note, size_t len, wid_checkpoint *c)
{
    size_t       blen;
    wid_reason_t rc;

    rc = wid_note_split(note, len, &blen);
    if (rc != WID_OK) {
        return rc;
    }
    return wid_checkpoint_parse_body(note, blen, c);
}


wid_reason_t
wid_checkpoint_verify(const char *note, size_t len,
                      const uint8_t pk[crypto_sign_PUBLICKEYBYTES],
                      wid_checkpoint *c)
{
    const char  *p, *end = note + len, *nl, *sp, *q;
    char         name[WID_KEY_NAME_MAX + 1];
    uint8_t     *blob, id[4];
    size_t       blen, nlen, slen, b64len;
    int          signed_ok = 0, bad = 0, ours;
    wid_reason_t rc;

    rc = wid_note_split(note, len, &blen);
    if (rc != WID_OK) {
        return rc;
    }
    rc = wid_checkpoint_parse_body(note, blen, c);
    if (rc != WID_OK) {
        return rc;
    }
    p = note + blen + 1;
    if (p >= end) {
        return WID_R_JOURNAL_CHECKPOINT_MALFORMED;
    }
    while (p < end) {
        nl = memchr(p, '\n', (size_t) (end - p));
        if (nl == NULL || (size_t) (nl - p) <= WID_NOTE_DASH_LEN
            || memcmp(p, WID_NOTE_DASH, WID_NOTE_DASH_LEN) != 0)
        {
            return WID_R_JOURNAL_CHECKPOINT_MALFORMED;
        }
        p += WID_NOTE_DASH_LEN;
        sp = memchr(p, ' ', (size_t) (nl - p));
        if (sp == NULL || sp == p) {
            return WID_R_JOURNAL_CHECKPOINT_MALFORMED;
        }
        /*
         * Any key may cosign (C2SP signed-note: witnesses, with their
         * own names and signature sizes): a line is well-formed if its
         * name has no space, control character or '+', and its base64
         * holds a key id and a signature.  Only a line that can be ours
         * (an ASCII name this writer could have) is checked further.
         */
        nlen = (size_t) (sp - p);
        for (q = p; q < sp; q++) {
            if ((unsigned char) *q <= 0x20 || *q == 0x7f || *q == '+') {
                return WID_R_JOURNAL_CHECKPOINT_MALFORMED;
            }
        }
        ours = nlen <= WID_KEY_NAME_MAX;
        if (ours) {
            memcpy(name, p, nlen);
            name[nlen] = '\0';
            ours = wid_note_key_name_ok(name);
        }
        b64len = (size_t) (nl - sp - 1);
        blob = malloc(b64len / 4 * 3 + 3);
        if (blob == NULL) {
            return WID_R_INTERNAL_NOMEM;
        }
        if (wid_b64_decode(sp + 1, b64len, 0, blob, b64len / 4 * 3 + 3,
                           &slen) != 0
            || slen < 5)
        {
            free(blob);
            return WID_R_JOURNAL_CHECKPOINT_MALFORMED;
        }
        if (ours) {
            wid_note_key_id(name, pk, id);
        }
        if (ours && memcmp(id, blob, 4) == 0) {
            /* Our key: it must be an Ed25519 signature that verifies. */
            if (slen != 4 + crypto_sign_BYTES
                || crypto_sign_verify_detached(blob + 4,
                                               (const uint8_t *) note, blen,
                                               pk) != 0)
            {
                bad = 1;
            } else {
                signed_ok = 1;
            }
        }
        free(blob);
        p = nl + 1;
    }
    if (bad) {
        return WID_R_JOURNAL_CHECKPOINT_SIGNATURE;
    }
    return signed_ok ? WID_OK : WID_R_JOURNAL_CHECKPOINT_UNSIGNED;
}
