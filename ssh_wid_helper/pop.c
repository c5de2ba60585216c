#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "base64.h"
#include "bytes.h"
#include "pop.h"
#include "util.h"


wid_reason_t
ssh_pop_challenge(const char *audience, uint64_t t,
                  const unsigned char pk[SSH_ED25519_PK_LEN], char **out,
                  size_t *len)
{
    ssh_wbuf      blob;
    char         *line = NULL, *msg;
    size_t        cap;
    int           n;
    wid_reason_t  rc;

    *out = NULL;
    ssh_wbuf_init(&blob, 0);
    ssh_pubkey_blob(pk, &blob);
    rc = ssh_wbuf_error(&blob) ? WID_R_INTERNAL_NOMEM
         : ssh_format_line(SSH_ED25519_NAME, blob.data, blob.len, NULL,
                           &line);
    ssh_wbuf_free(&blob);
    if (rc != WID_OK) {
        return rc;
    }
    line[strcspn(line, "\n")] = '\0';           /* "ssh-ed25519 AAAA..." */

    cap = strlen(audience) + strlen(line) + 96;
    if ((msg = malloc(cap)) == NULL) {
        free(line);
        return WID_R_INTERNAL_NOMEM;
    }
    n = snprintf(msg, cap, SSH_POP_VERSION "\naudience %s\ntime %llu\n"
                 "ssh-key %s\n", audience, (unsigned long long) t, line);
    free(line);
    if (n < 0 || (size_t) n >= cap) {
        free(msg);
        return WID_R_INTERNAL_NOMEM;
    }
    *out = msg;
    *len = (size_t) n;
    return WID_OK;
}


int
ssh_pop_audience_ok(const char *aud)
{
    size_t i, n = strlen(aud);

    if (n == 0 || n > SSH_POP_AUDIENCE_MAX || aud[0] == ' '
        || aud[n - 1] == ' ')
    {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if ((unsigned char) aud[i] < 0x20 || aud[i] == 0x7f) {
            return -1;
        }
    }
    return 0;
}


wid_reason_t
ssh_pop_key_load(const char *path, EVP_PKEY **key)
{
    unsigned char *buf;
    size_t         len;
    BIO           *bio;
    wid_reason_t   rc;

    *key = NULL;
    if ((rc = wid_read_file(path, SSH_POP_KEY_MAX, &buf, &len)) != WID_OK) {
        return rc;
    }
    bio = BIO_new_mem_buf(buf, (int) len);
    if (bio != NULL) {
        *key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
        BIO_free(bio);
    }
    OPENSSL_cleanse(buf, len);
    free(buf);
    if (bio == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    return *key != NULL ? WID_OK : WID_R_KEY_MALFORMED;
}


/* The digest to use with this key type; -1 for types we do not accept. */
static int
ssh_pop_md(EVP_PKEY *k, const EVP_MD **md)
{
    switch (EVP_PKEY_get_base_id(k)) {
    case EVP_PKEY_ED25519:
        *md = NULL;
        return 0;
    case EVP_PKEY_EC:
    case EVP_PKEY_RSA:
        *md = EVP_sha256();
        return 0;
    default:
        return -1;
    }
}


wid_reason_t
ssh_pop_verify(X509 *leaf, const char *audience,
               const unsigned char pk[SSH_ED25519_PK_LEN], const char *proof,
               uint64_t now, uint64_t max_age)
{
    const char    *p, *sp;
    char           tbuf[24];
    uint64_t       t;
    unsigned char *sig = NULL;
    size_t         siglen, msglen, n;
    char          *msg = NULL;
    EVP_PKEY      *k;
    EVP_MD_CTX    *ctx = NULL;
    const EVP_MD  *md;
    wid_reason_t   rc;

    if (proof == NULL) {
        return WID_R_SSH_POP_MISSING;
    }
    if (strlen(proof) > SSH_POP_MAX
        || strncmp(proof, SSH_POP_VERSION " ", sizeof(SSH_POP_VERSION)) != 0)
    {
        return WID_R_SSH_POP_MALFORMED;
    }
    p = proof + sizeof(SSH_POP_VERSION);
    sp = strchr(p, ' ');
    n = sp ? (size_t) (sp - p) : 0;
    if (sp == NULL || n == 0 || n >= sizeof(tbuf)) {
        return WID_R_SSH_POP_MALFORMED;
    }
    memcpy(tbuf, p, n);
    tbuf[n] = '\0';
    if (ssh_wid_parse_u64(tbuf, &t) != 0
        || ssh_base64_decode(sp + 1, strlen(sp + 1), &sig, &siglen) != WID_OK
        || siglen == 0)
    {
        free(sig);
        return WID_R_SSH_POP_MALFORMED;
    }

    /* Freshness, with every sum checked. */
    if ((now <= UINT64_MAX - SSH_POP_FUTURE_SKEW
         && t > now + SSH_POP_FUTURE_SKEW)
        || (now > t && now - t > max_age))
    {
        free(sig);
        return WID_R_SSH_POP_STALE;
    }

    rc = ssh_pop_challenge(audience, t, pk, &msg, &msglen);
    if (rc != WID_OK) {
        free(sig);
        return rc;
    }
    rc = WID_R_SSH_POP_INVALID;
    k = X509_get0_pubkey(leaf);
    if (k != NULL && ssh_pop_md(k, &md) == 0
        && (ctx = EVP_MD_CTX_new()) != NULL
        && EVP_DigestVerifyInit(ctx, NULL, md, NULL, k) == 1
        && EVP_DigestVerify(ctx, sig, siglen, (unsigned char *) msg,
                            msglen) == 1)
    {
        rc = WID_OK;
    }
    EVP_MD_CTX_free(ctx);
    free(msg);
    free(sig);
    return rc;
}


wid_reason_t
ssh_pop_sign(EVP_PKEY *key, const char *audience, uint64_t t,
             const unsigned char pk[SSH_ED25519_PK_LEN], char **proof)
{
    char          *msg = NULL, *out = NULL;
    size_t         msglen, siglen = 0, cap;
    unsigned char *sig = NULL;
    EVP_MD_CTX    *ctx = NULL;
    const EVP_MD  *md;
    wid_reason_t   rc;
    int            n;

    *proof = NULL;
    if (ssh_pop_md(key, &md) != 0) {
        return WID_R_SSH_KEY_TYPE_UNSUPPORTED;
    }
    if ((rc = ssh_pop_challenge(audience, t, pk, &msg, &msglen)) != WID_OK) {
        return rc;
    }
    rc = WID_R_INTERNAL_CRYPTO;
    if ((ctx = EVP_MD_CTX_new()) == NULL
        || EVP_DigestSignInit(ctx, NULL, md, NULL, key) != 1
        || EVP_DigestSign(ctx, NULL, &siglen, (unsigned char *) msg,
                          msglen) != 1
        || (sig = malloc(siglen)) == NULL
        || EVP_DigestSign(ctx, sig, &siglen, (unsigned char *) msg,
                          msglen) != 1)
    {
        goto done;
    }
    cap = sizeof(SSH_POP_VERSION) + 24 + 4 * (siglen / 3 + 1) + 2;
    if ((out = malloc(cap)) == NULL) {
        goto done;
    }
    n = snprintf(out, cap, "%s %llu ", SSH_POP_VERSION,
                 (unsigned long long) t);
    if (n < 0 || (size_t) n >= cap
        || wid_b64_encode(sig, siglen, out + n, cap - (size_t) n) < 0)
    {
        free(out);
        goto done;
    }
    *proof = out;
    rc = WID_OK;

done:
    EVP_MD_CTX_free(ctx);
    free(sig);
    free(msg);
    return rc;
}
