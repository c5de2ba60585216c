/*
 * Detached policy signatures and the signed loader.  See policy_sig.h
 * for the file format.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "bytes.h"
#include "policy_impl.h"
#include "policy_sig.h"
#include "policy_yaml.h"

#define WID_SIG_B64_LEN 88      /* base64 of 64 bytes, with "==" */

/* context || NUL || bytes: the exact message signed and verified. */
static unsigned char *
wid_policy_sig_message(const unsigned char *bytes, size_t len,
                       size_t *msg_len)
{
    static const char ctx[] = WID_POLICY_SIG_CONTEXT;   /* includes NUL */
    unsigned char    *msg;

    if (len > SIZE_MAX - sizeof(ctx)) {
        return NULL;
    }
    msg = malloc(sizeof(ctx) + len);
    if (msg == NULL) {
        return NULL;
    }
    memcpy(msg, ctx, sizeof(ctx));
    if (len > 0) {
        memcpy(msg + sizeof(ctx), bytes, len);
    }
    *msg_len = sizeof(ctx) + len;
    return msg;
}

wid_reason_t
wid_policy_sig_create(const unsigned char *bytes, size_t len,
                      const wid_seckey *key, char **out, size_t *out_len)
{
    unsigned char  sig[WID_ED25519_SIG_LEN];
    char           b64[WID_SIG_B64_LEN + 1];
    char           kid[WID_KEY_ID_HEX_LEN + 1];
    unsigned char *msg;
    size_t         msg_len;
    char          *text;
    int            n;

    *out = NULL;
    *out_len = 0;
    msg = wid_policy_sig_message(bytes, len, &msg_len);
    if (msg == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    wid_sign(key, msg, msg_len, sig);
    free(msg);

    if (wid_b64_encode(sig, sizeof(sig), b64, sizeof(b64))
        != WID_SIG_B64_LEN)
    {
        return WID_R_INTERNAL_CRYPTO;
    }
    wid_pubkey_id(&key->pub, kid);

    text = malloc(256);
    if (text == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    n = snprintf(text, 256, "%s\nalgorithm: ed25519\nkey-id: %s\n"
                 "signature: %s\n", WID_POLICY_SIG_CONTEXT, kid, b64);
    if (n < 0 || n >= 256) {
        free(text);
        return WID_R_INTERNAL_CRYPTO;
    }
    *out = text;
    *out_len = (size_t) n;
    return WID_OK;
}

/*
 * Take one line "<prefix><value>\n" from *p; the value is returned in
 * place (not NUL-terminated) with its length.
 */
static int
wid_sig_line(const unsigned char **p, const unsigned char *end,
             const char *prefix, const unsigned char **val, size_t *vlen)
{
    size_t               plen = strlen(prefix);
    const unsigned char *nl;

    if ((size_t) (end - *p) < plen || memcmp(*p, prefix, plen) != 0) {
        return -1;
    }
    nl = memchr(*p + plen, '\n', (size_t) (end - *p) - plen);
    if (nl == NULL) {
        return -1;
    }
    *val = *p + plen;
    *vlen = (size_t) (nl - *val);
    *p = nl + 1;
    return 0;
}

static int
wid_is_lower_hex(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return 0;
        }
    }
    return 1;
}

wid_reason_t
wid_policy_sig_verify(const unsigned char *bytes, size_t len,
                      const unsigned char *sig, size_t sig_len,
                      const wid_pubkey *pub,
                      char key_id[WID_KEY_ID_HEX_LEN + 1])
{
    const unsigned char *p = sig, *end = sig + sig_len, *v;
    unsigned char        raw[WID_ED25519_SIG_LEN];
    char                 want[WID_KEY_ID_HEX_LEN + 1];
    char                 named[WID_KEY_ID_HEX_LEN + 1];
    unsigned char       *msg;
    size_t               vlen, msg_len, rlen;
    int                  ok;

    if (key_id != NULL) {
        key_id[0] = '\0';
    }
    if (sig_len > WID_POLICY_SIG_MAX
        || wid_sig_line(&p, end, WID_POLICY_SIG_CONTEXT, &v, &vlen) != 0
        || vlen != 0
        || wid_sig_line(&p, end, "algorithm: ", &v, &vlen) != 0
        || vlen != 7 || memcmp(v, "ed25519", 7) != 0
        || wid_sig_line(&p, end, "key-id: ", &v, &vlen) != 0
        || vlen != WID_KEY_ID_HEX_LEN || !wid_is_lower_hex(v, vlen))
    {
        return WID_R_POLICY_SIG_MALFORMED;
    }
    memcpy(named, v, WID_KEY_ID_HEX_LEN);
    named[WID_KEY_ID_HEX_LEN] = '\0';

    if (wid_sig_line(&p, end, "signature: ", &v, &vlen) != 0
        || vlen != WID_SIG_B64_LEN || p != end)
    {
        return WID_R_POLICY_SIG_MALFORMED;
    }
    /* Canonical base64 only: exactly one spelling per signature. */
    if (wid_b64_decode((const char *) v, vlen, 0, raw, sizeof(raw), &rlen)
        != 0 || rlen != WID_ED25519_SIG_LEN)
    {
        return WID_R_POLICY_SIG_MALFORMED;
    }
    if (key_id != NULL) {
        memcpy(key_id, named, sizeof(named));
    }

    wid_pubkey_id(pub, want);
    if (strcmp(want, named) != 0) {
        return WID_R_POLICY_SIGNER_MISMATCH;
    }

    msg = wid_policy_sig_message(bytes, len, &msg_len);
    if (msg == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    ok = wid_verify(pub, msg, msg_len, raw);
    free(msg);
    return ok ? WID_OK : WID_R_POLICY_SIG_INVALID;
}

wid_reason_t
wid_policy_load_file(const char *path, const wid_policy_load_opts *opts,
                     wid_policy **out, wid_diags *diags)
{
    unsigned char *bytes = NULL, *sig = NULL;
    size_t         len = 0, sig_len = 0;
    char           kid[WID_KEY_ID_HEX_LEN + 1];
    char          *sig_path = NULL;
    wid_reason_t   rc;

    if (diags != NULL) {
        memset(diags, 0, sizeof(*diags));
    }
    *out = NULL;

    /* The bytes are read once; everything below uses this one copy. */
    rc = wid_read_file(path, WID_POLICY_MAX_BYTES, &bytes, &len);
    if (rc != WID_OK) {
        wid_diag_add(diags, WID_DIAG_ERROR, WID_R_POLICY_UNREADABLE, 0, 0,
                     "cannot read the policy (missing, not a regular file, "
                     "or larger than %u bytes)", WID_POLICY_MAX_BYTES);
        return rc == WID_R_INTERNAL_NOMEM ? rc : WID_R_POLICY_UNREADABLE;
    }

    if (opts != NULL && opts->required_signer != NULL) {
        if (opts->sig_path == NULL
            && asprintf(&sig_path, "%s.sig", path) < 0)
        {
            sig_path = NULL;
            rc = WID_R_INTERNAL_NOMEM;
            goto out;
        }
        if (wid_read_file(opts->sig_path ? opts->sig_path : sig_path,
                          WID_POLICY_SIG_MAX, &sig, &sig_len) != WID_OK)
        {
            rc = WID_R_POLICY_SIG_MISSING;
            wid_diag_add(diags, WID_DIAG_ERROR, rc, 0, 0,
                         "a signed policy is required and %s cannot be read",
                         opts->sig_path ? opts->sig_path : sig_path);
            goto out;
        }
        rc = wid_policy_sig_verify(bytes, len, sig, sig_len,
                                   opts->required_signer, kid);
        if (rc != WID_OK) {
            wid_diag_add(diags, WID_DIAG_ERROR, rc, 0, 0, "%s%s%s",
                         wid_reason_text(rc),
                         kid[0] ? ": signed by key " : "", kid);
            goto out;
        }
    }

    rc = wid_policy_compile(bytes, len, out, diags);
    if (rc == WID_OK) {
        wid_policy_set_identity(*out, bytes, len);
        if (opts != NULL && opts->required_signer != NULL) {
            snprintf((*out)->signer, sizeof((*out)->signer), "ed25519:%s",
                     kid);
        }
    }

out:
    free(sig_path);
    free(sig);
    free(bytes);
    return rc;
}
