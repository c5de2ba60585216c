/*
 * TPM 2.0 quote verification, EK certificate checking and software
 * TPM2_MakeCredential.  tpm2-tss (libtss2-mu) unmarshals the TPM
 * structures; OpenSSL does X.509, RSA/ECDSA, OAEP, KDFa (SP 800-108
 * KBKDF), AES-CFB and HMAC; libsodium compares secrets and wipes them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sodium.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "attest_tpm.h"
#include "bytes.h"

/* Largest TPM structures we accept, well above real sizes. */
#define WID_TPM_BLOB_MAX  4096
#define WID_TPM_CERT_MAX  8192
#define WID_TPM_CHAIN_MAX 8

/* The AK attributes a quote key must have (and decrypt must be clear). */
#define WID_TPM_AK_REQUIRED                                                \
    (TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT                        \
     | TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_RESTRICTED            \
     | TPMA_OBJECT_SIGN_ENCRYPT)


static const EVP_MD *
wid_tpm_md(TPMI_ALG_HASH alg)
{
    switch (alg) {
    case TPM2_ALG_SHA1:
        return EVP_sha1();
    case TPM2_ALG_SHA256:
        return EVP_sha256();
    case TPM2_ALG_SHA384:
        return EVP_sha384();
    case TPM2_ALG_SHA512:
        return EVP_sha512();
    default:
        return NULL;
    }
}


/* Hashes acceptable for names and signatures (no SHA-1). */
static const EVP_MD *
wid_tpm_strong_md(TPMI_ALG_HASH alg)
{
    return alg == TPM2_ALG_SHA1 ? NULL : wid_tpm_md(alg);
}


static const char *
wid_tpm_bank_name(TPMI_ALG_HASH alg)
{
    switch (alg) {
    case TPM2_ALG_SHA1:
        return "sha1";
    case TPM2_ALG_SHA256:
        return "sha256";
    case TPM2_ALG_SHA384:
        return "sha384";
    case TPM2_ALG_SHA512:
        return "sha512";
    default:
        return NULL;
    }
}


static int
wid_tpm_bank_from_name(const char *name, TPMI_ALG_HASH *alg)
{
    static const TPMI_ALG_HASH algs[] = {
        TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384, TPM2_ALG_SHA512
    };
    size_t i;

    for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strcmp(name, wid_tpm_bank_name(algs[i])) == 0) {
            *alg = algs[i];
            return 0;
        }
    }
    return -1;
}


/* A decimal PCR index 0..31 without sign, spaces or leading zeros. */
static int
wid_tpm_pcr_index(const char *s, unsigned *idx)
{
    unsigned v = 0;
    size_t   i, n = strlen(s);

    if (n == 0 || n > 2 || (n == 2 && s[0] == '0')) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (unsigned) (s[i] - '0');
    }
    if (v >= WID_TPM_MAX_PCRS) {
        return -1;
    }
    *idx = v;
    return 0;
}


void
wid_tpm_challenge_wipe(wid_tpm_challenge *c)
{
    sodium_memzero(c, sizeof(*c));
}


/* ---- EK certificate ---------------------------------------------------- */

wid_reason_t
wid_tpm_ek_check(const unsigned char *der, size_t len,
                 STACK_OF(X509) *intermediates, X509_STORE *roots,
                 int64_t now, X509 **ek, unsigned char ek_sha256[32])
{
    const unsigned char *p = der;
    X509                *cert;
    X509_STORE_CTX      *ctx;
    wid_reason_t         rc;

    if (ek != NULL) {
        *ek = NULL;
    }
    if (roots == NULL) {
        return WID_R_ATTEST_CONFIG_INVALID;
    }
    if (len == 0 || len > WID_TPM_CERT_MAX) {
        return WID_R_ATTEST_EVIDENCE_MALFORMED;
    }
    cert = d2i_X509(NULL, &p, (long) len);
    if (cert == NULL || p != der + len) {
        X509_free(cert);
        return WID_R_ATTEST_EVIDENCE_MALFORMED;
    }

    ctx = X509_STORE_CTX_new();
    if (ctx == NULL || !X509_STORE_CTX_init(ctx, roots, cert, intermediates))
    {
        X509_STORE_CTX_free(ctx);
        X509_free(cert);
        return WID_R_INTERNAL_NOMEM;
    }
    X509_STORE_CTX_set_time(ctx, 0, (time_t) now);
    /*
     * EK certificates carry TCG extensions OpenSSL does not know (subject
     * directory attributes; a critical SAN with a directory name, which it
     * does know).  An unknown critical extension still fails the chain:
     * we do not relax that.
     */
    rc = X509_verify_cert(ctx) == 1 ? WID_OK : WID_R_ATTEST_TPM_EK_UNTRUSTED;
    X509_STORE_CTX_free(ctx);

    if (rc == WID_OK) {
        SHA256(der, len, ek_sha256);
        if (ek != NULL) {
            *ek = cert;
            return WID_OK;
        }
    }
    X509_free(cert);
    return rc;
}


wid_reason_t
wid_attest_load_certs(const char *path, STACK_OF(X509) **out)
{
    BIO            *bio;
    X509           *x;
    STACK_OF(X509) *sk;
    unsigned char  *buf;
    size_t          len;

    *out = NULL;
    /* Through wid_read_file, not BIO_new_file: a FIFO given as --roots
     * or --aws-cert is refused at once instead of waited on. */
    if (wid_read_file(path, WID_FILE_MAX, &buf, &len) != WID_OK) {
        return WID_R_ATTEST_CONFIG_INVALID;
    }
    bio = BIO_new_mem_buf(buf, (int) len);
    sk = sk_X509_new_null();
    if (bio == NULL || sk == NULL) {
        BIO_free(bio);
        sk_X509_free(sk);
        free(buf);
        return WID_R_ATTEST_CONFIG_INVALID;
    }
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(sk, x)) {
            X509_free(x);
            break;
        }
    }
    ERR_clear_error();
    BIO_free(bio);
    free(buf);
    if (sk_X509_num(sk) == 0) {
        sk_X509_free(sk);
        return WID_R_ATTEST_CONFIG_INVALID;
    }
    *out = sk;
    return WID_OK;
}


wid_reason_t
wid_attest_load_store(const char *path, X509_STORE **out)
{
    STACK_OF(X509) *sk;
    X509_STORE     *st;
    wid_reason_t    rc;
    int             i;

    *out = NULL;
    rc = wid_attest_load_certs(path, &sk);
    if (rc != WID_OK) {
        return rc;
    }
    st = X509_STORE_new();
    for (i = 0; st != NULL && i < sk_X509_num(sk); i++) {
        if (X509_STORE_add_cert(st, sk_X509_value(sk, i)) != 1) {
            X509_STORE_free(st);
            st = NULL;
        }
    }
    sk_X509_pop_free(sk, X509_free);
    if (st == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    *out = st;
    return WID_OK;
}


/* ---- AK public area ---------------------------------------------------- */

/*
 * Unmarshal a TPM2B_PUBLIC that must be exactly len bytes and canonical
 * (re-marshalling gives the same bytes, so the name we compute is the
 * name the TPM computes).  tpmt receives the raw TPMT_PUBLIC bytes.
 */
static wid_reason_t
wid_tpm_public_parse(const unsigned char *buf, size_t len, TPM2B_PUBLIC *pub,
                     const unsigned char **tpmt, size_t *tpmt_len)
{
    uint8_t re[sizeof(TPMT_PUBLIC) + 16];
    size_t  off = 0, reoff = 0;

    memset(pub, 0, sizeof(*pub));
    if (len < 2 || len > WID_TPM_BLOB_MAX
        || Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, pub)
           != TSS2_RC_SUCCESS
        || off != len || (size_t) pub->size + 2 != len)
    {
        return WID_R_ATTEST_EVIDENCE_MALFORMED;
    }
    if (Tss2_MU_TPMT_PUBLIC_Marshal(&pub->publicArea, re, sizeof(re), &reoff)
        != TSS2_RC_SUCCESS || reoff != len - 2
        || memcmp(re, buf + 2, reoff) != 0)
    {
        return WID_R_ATTEST_EVIDENCE_MALFORMED;
    }
    *tpmt = buf + 2;
    *tpmt_len = len - 2;
    return WID_OK;
}


/* The signing hash of the AK's scheme; 0 if none or unsupported. */
static TPMI_ALG_HASH
wid_tpm_ak_scheme(const TPMT_PUBLIC *pa, TPMI_ALG_SIG_SCHEME *scheme)
{
    *scheme = 0;
    if (pa->type == TPM2_ALG_RSA) {
        *scheme = pa->parameters.rsaDetail.scheme.scheme;
        if (*scheme == TPM2_ALG_RSASSA || *scheme == TPM2_ALG_RSAPSS) {
            return pa->parameters.rsaDetail.scheme.details.anySig.hashAlg;
        }
    } else if (pa->type == TPM2_ALG_ECC) {
        *scheme = pa->parameters.eccDetail.scheme.scheme;
        if (*scheme == TPM2_ALG_ECDSA) {
            return pa->parameters.eccDetail.scheme.details.anySig.hashAlg;
        }
    }
    return 0;
}


static wid_reason_t
wid_tpm_ak_parse(const unsigned char *buf, size_t len, TPM2B_PUBLIC *pub,
                 unsigned char name[WID_TPM_NAME_MAX], size_t *name_len)
{
    const unsigned char *tpmt;
    const EVP_MD        *md;
    TPMA_OBJECT          attrs;
    TPMI_ALG_SIG_SCHEME  scheme = 0;
    size_t               tpmt_len;
    unsigned int         dlen;
    wid_reason_t         rc;

    *name_len = 0;
    rc = wid_tpm_public_parse(buf, len, pub, &tpmt, &tpmt_len);
    if (rc != WID_OK) {
        return rc;
    }

    attrs = pub->publicArea.objectAttributes;
    if ((attrs & WID_TPM_AK_REQUIRED) != WID_TPM_AK_REQUIRED
        || (attrs & TPMA_OBJECT_DECRYPT) != 0
        || (pub->publicArea.type != TPM2_ALG_RSA
            && pub->publicArea.type != TPM2_ALG_ECC)
        || wid_tpm_strong_md(wid_tpm_ak_scheme(&pub->publicArea, &scheme))
           == NULL)
    {
        return WID_R_ATTEST_TPM_AK_ATTRIBUTES;
    }

    md = wid_tpm_strong_md(pub->publicArea.nameAlg);
    if (md == NULL) {
        return WID_R_ATTEST_TPM_AK_ATTRIBUTES;
    }
    name[0] = (unsigned char) (pub->publicArea.nameAlg >> 8);
    name[1] = (unsigned char) (pub->publicArea.nameAlg & 0xff);
    if (EVP_Digest(tpmt, tpmt_len, name + 2, &dlen, md, NULL) != 1) {
        return WID_R_INTERNAL_CRYPTO;
    }
    *name_len = 2 + dlen;
    return WID_OK;
}


wid_reason_t
wid_tpm_ak_check(const unsigned char *pub, size_t len,
                 unsigned char name[WID_TPM_NAME_MAX], size_t *name_len)
{
    TPM2B_PUBLIC tp;

    return wid_tpm_ak_parse(pub, len, &tp, name, name_len);
}


/* The AK public key as an OpenSSL key. */
static wid_reason_t
wid_tpm_ak_pkey(const TPMT_PUBLIC *pa, EVP_PKEY **out)
{
    OSSL_PARAM_BLD *bld;
    OSSL_PARAM     *params = NULL;
    EVP_PKEY_CTX   *ctx = NULL;
    BIGNUM         *n = NULL, *e = NULL;
    unsigned char   point[1 + 2 * 66];
    const char     *curve, *keytype;
    size_t          flen;
    uint32_t        exp;
    wid_reason_t    rc = WID_R_INTERNAL_CRYPTO;

    *out = NULL;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }

    if (pa->type == TPM2_ALG_RSA) {
        keytype = "RSA";
        exp = pa->parameters.rsaDetail.exponent;
        n = BN_bin2bn(pa->unique.rsa.buffer, pa->unique.rsa.size, NULL);
        e = BN_new();
        if (pa->unique.rsa.size < 256 || n == NULL || e == NULL
            || !BN_set_word(e, exp == 0 ? 65537 : exp)
            || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n)
            || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
        {
            rc = pa->unique.rsa.size < 256 ? WID_R_ATTEST_TPM_AK_ATTRIBUTES
                                           : WID_R_INTERNAL_CRYPTO;
            goto done;
        }
    } else {
        keytype = "EC";
        switch (pa->parameters.eccDetail.curveID) {
        case TPM2_ECC_NIST_P256:
            curve = "P-256";
            flen = 32;
            break;
        case TPM2_ECC_NIST_P384:
            curve = "P-384";
            flen = 48;
            break;
        default:
            rc = WID_R_ATTEST_TPM_AK_ATTRIBUTES;
            goto done;
        }
        /* Coordinates may come without leading zeros: left-pad. */
        if (pa->unique.ecc.x.size > flen || pa->unique.ecc.y.size > flen) {
            rc = WID_R_ATTEST_TPM_AK_ATTRIBUTES;
            goto done;
        }
        memset(point, 0, sizeof(point));
        point[0] = 0x04;
        memcpy(point + 1 + flen - pa->unique.ecc.x.size,
               pa->unique.ecc.x.buffer, pa->unique.ecc.x.size);
        memcpy(point + 1 + 2 * flen - pa->unique.ecc.y.size,
               pa->unique.ecc.y.buffer, pa->unique.ecc.y.size);
        if (!OSSL_PARAM_BLD_push_utf8_string(bld,
                                             OSSL_PKEY_PARAM_GROUP_NAME,
                                             curve, 0)
            || !OSSL_PARAM_BLD_push_octet_string(bld,
                                                 OSSL_PKEY_PARAM_PUB_KEY,
                                                 point, 1 + 2 * flen))
        {
            goto done;
        }
    }

    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, keytype, NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1
        || EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1)
    {
        /* An EC point not on the curve ends up here too. */
        rc = WID_R_ATTEST_TPM_AK_ATTRIBUTES;
        goto done;
    }
    rc = WID_OK;

done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    return rc;
}


/* ---- MakeCredential ---------------------------------------------------- */

/*
 * KDFa (TPM 2.0 Part 1, 11.4.10.2) is SP 800-108 counter-mode KDF with
 * HMAC: counter || label || 0x00 || contextU || contextV || bits.  That is
 * OpenSSL's KBKDF with the label as salt and the contexts as info.
 */
static int
wid_tpm_kdfa(const char *digest, const unsigned char *key, size_t key_len,
             const char *label, const unsigned char *ctx_u, size_t u_len,
             unsigned char *out, size_t out_len)
{
    EVP_KDF     *kdf;
    EVP_KDF_CTX *kctx;
    OSSL_PARAM   params[7], *p = params;
    int          ok;

    kdf = EVP_KDF_fetch(NULL, "KBKDF", NULL);
    kctx = kdf != NULL ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (kctx == NULL) {
        return -1;
    }
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE,
                                            (char *) "COUNTER", 0);
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC,
                                            (char *) "HMAC", 0);
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
                                            (char *) digest, 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
                                             (void *) key, key_len);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                             (void *) label, strlen(label));
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                             (void *) ctx_u, u_len);
    *p = OSSL_PARAM_construct_end();
    ok = EVP_KDF_derive(kctx, out, out_len, params) == 1;
    EVP_KDF_CTX_free(kctx);
    return ok ? 0 : -1;
}


static void
wid_put16(unsigned char *p, size_t v)
{
    p[0] = (unsigned char) (v >> 8);
    p[1] = (unsigned char) v;
}


static void
wid_put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
}


wid_reason_t
wid_tpm_make_credential(EVP_PKEY *ek_pub, const unsigned char *ak_name,
                        size_t ak_name_len, const unsigned char *secret,
                        size_t secret_len, unsigned char **out,
                        size_t *out_len)
{
    /* Standard RSA EK template (TCG EK profile L-1): SHA-256 name
     * algorithm, AES-128-CFB symmetric protection. */
    unsigned char   seed[32], sym[16], hkey[32], hmac[32], iv[16];
    unsigned char   plain[2 + 64], enc[2 + 64], encseed[512];
    unsigned char  *label = NULL, *buf;
    unsigned int    hlen = 0;
    size_t          enclen = sizeof(encseed), plen, total, off;
    EVP_PKEY_CTX   *pctx = NULL;
    EVP_CIPHER_CTX *cctx = NULL;
    int             outl = 0;
    wid_reason_t    rc = WID_R_INTERNAL_CRYPTO;

    *out = NULL;
    *out_len = 0;
    if (EVP_PKEY_get_base_id(ek_pub) != EVP_PKEY_RSA
        || EVP_PKEY_get_bits(ek_pub) != 2048)
    {
        return WID_R_ATTEST_TPM_EK_UNSUPPORTED;
    }
    if (secret_len == 0 || secret_len > 64 || ak_name_len < 2
        || ak_name_len > WID_TPM_NAME_MAX)
    {
        return WID_R_ATTEST_CONFIG_INVALID;
    }
    if (RAND_bytes(seed, sizeof(seed)) != 1) {
        return WID_R_INTERNAL_CRYPTO;
    }

    /* The seed, RSA-OAEP(SHA-256) encrypted to the EK, label "IDENTITY"
     * with its terminating NUL. */
    label = OPENSSL_malloc(9);
    pctx = EVP_PKEY_CTX_new(ek_pub, NULL);
    if (label == NULL || pctx == NULL) {
        rc = WID_R_INTERNAL_NOMEM;
        goto done;
    }
    memcpy(label, "IDENTITY", 9);
    if (EVP_PKEY_encrypt_init(pctx) != 1
        || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) != 1
        || EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) != 1
        || EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1
        || EVP_PKEY_CTX_set0_rsa_oaep_label(pctx, label, 9) != 1)
    {
        goto done;
    }
    label = NULL;   /* owned by pctx now */
    if (EVP_PKEY_encrypt(pctx, encseed, &enclen, seed, sizeof(seed)) != 1) {
        goto done;
    }

    /* symKey = KDFa(SHA256, seed, "STORAGE", name, -, 128);
     * HMACkey = KDFa(SHA256, seed, "INTEGRITY", -, -, 256). */
    if (wid_tpm_kdfa("SHA256", seed, sizeof(seed), "STORAGE", ak_name,
                     ak_name_len, sym, sizeof(sym)) != 0
        || wid_tpm_kdfa("SHA256", seed, sizeof(seed), "INTEGRITY", NULL, 0,
                        hkey, sizeof(hkey)) != 0)
    {
        goto done;
    }

    /* encIdentity = AES-128-CFB(symKey, IV 0, TPM2B_DIGEST(secret)). */
    wid_put16(plain, secret_len);
    memcpy(plain + 2, secret, secret_len);
    plen = 2 + secret_len;
    memset(iv, 0, sizeof(iv));
    cctx = EVP_CIPHER_CTX_new();
    if (cctx == NULL
        || EVP_EncryptInit_ex(cctx, EVP_aes_128_cfb128(), NULL, sym, iv) != 1
        || EVP_EncryptUpdate(cctx, enc, &outl, plain, (int) plen) != 1
        || (size_t) outl != plen)
    {
        goto done;
    }

    /* outerHMAC = HMAC-SHA256(HMACkey, encIdentity || name). */
    {
        unsigned char mac_in[sizeof(enc) + WID_TPM_NAME_MAX];

        memcpy(mac_in, enc, plen);
        memcpy(mac_in + plen, ak_name, ak_name_len);
        if (HMAC(EVP_sha256(), hkey, sizeof(hkey), mac_in,
                 plen + ak_name_len, hmac, &hlen) == NULL || hlen != 32)
        {
            goto done;
        }
    }

    /* magic, version, TPM2B_ID_OBJECT{TPM2B_DIGEST hmac, encIdentity},
     * TPM2B_ENCRYPTED_SECRET. */
    total = 8 + 2 + 2 + hlen + plen + 2 + enclen;
    buf = malloc(total);
    if (buf == NULL) {
        rc = WID_R_INTERNAL_NOMEM;
        goto done;
    }
    wid_put32(buf, WID_TPM_CRED_MAGIC);
    wid_put32(buf + 4, WID_TPM_CRED_VERSION);
    off = 8;
    wid_put16(buf + off, 2 + hlen + plen);
    off += 2;
    wid_put16(buf + off, hlen);
    off += 2;
    memcpy(buf + off, hmac, hlen);
    off += hlen;
    memcpy(buf + off, enc, plen);
    off += plen;
    wid_put16(buf + off, enclen);
    off += 2;
    memcpy(buf + off, encseed, enclen);
    *out = buf;
    *out_len = total;
    rc = WID_OK;

done:
    OPENSSL_free(label);
    EVP_PKEY_CTX_free(pctx);
    EVP_CIPHER_CTX_free(cctx);
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(sym, sizeof(sym));
    sodium_memzero(hkey, sizeof(hkey));
    sodium_memzero(plain, sizeof(plain));
    return rc;
}


wid_reason_t
wid_tpm_challenge_new(const unsigned char *ek_der, size_t ek_len,
                      STACK_OF(X509) *intermediates,
                      const unsigned char *ak_pub, size_t ak_len,
                      X509_STORE *roots, int64_t now, int64_t ttl,
                      wid_tpm_challenge *ch, unsigned char **cred,
                      size_t *cred_len)
{
    X509         *ek = NULL;
    EVP_PKEY     *ekpub;
    wid_reason_t  rc;

    memset(ch, 0, sizeof(*ch));
    *cred = NULL;
    *cred_len = 0;
    if (ttl <= 0 || now < 0 || now > INT64_MAX - ttl) {
        return WID_R_ATTEST_CONFIG_INVALID;
    }

    rc = wid_tpm_ek_check(ek_der, ek_len, intermediates, roots, now, &ek,
                          ch->ek_sha256);
    if (rc != WID_OK) {
        return rc;
    }
    rc = wid_tpm_ak_check(ak_pub, ak_len, ch->ak_name, &ch->ak_name_len);
    if (rc != WID_OK) {
        goto done;
    }
    if (RAND_bytes(ch->nonce, sizeof(ch->nonce)) != 1
        || RAND_bytes(ch->secret, sizeof(ch->secret)) != 1)
    {
        rc = WID_R_INTERNAL_CRYPTO;
        goto done;
    }
    ekpub = X509_get0_pubkey(ek);
    if (ekpub == NULL) {
        rc = WID_R_ATTEST_TPM_EK_UNSUPPORTED;
        goto done;
    }
    rc = wid_tpm_make_credential(ekpub, ch->ak_name, ch->ak_name_len,
                                 ch->secret, sizeof(ch->secret), cred,
                                 cred_len);
    ch->expires_at = now + ttl;

done:
    X509_free(ek);
    if (rc != WID_OK) {
        wid_tpm_challenge_wipe(ch);
    }
    return rc;
}


/* ---- Counters ---------------------------------------------------------- */

wid_reason_t
wid_tpm_counters_check(const wid_tpm_counters *last,
                       const wid_tpm_counters *now)
{
    if (last == NULL || !last->present) {
        return WID_OK;
    }
    if (now->reset_count < last->reset_count
        || (now->reset_count == last->reset_count
            && now->restart_count < last->restart_count))
    {
        return WID_R_ATTEST_TPM_COUNTER_DECREASED;
    }
    if (now->reset_count == last->reset_count
        && now->restart_count == last->restart_count
        && now->clock <= last->clock)
    {
        return WID_R_ATTEST_TPM_CLOCK_REPLAY;
    }
    /*
     * Clock is kept in NV across resets and restarts; a TPM that says
     * safe=YES (required of every accepted quote) never reports a value
     * below one it reported before.  A lower one is an older copy of its
     * state, however many reboots raised the counts since (and the
     * counts of an AK outside the endorsement hierarchy are obfuscated;
     * Clock is not).
     */
    if (now->clock < last->clock) {
        return WID_R_ATTEST_TPM_COUNTER_DECREASED;
    }
    return WID_OK;
}


/* ---- Evidence document ------------------------------------------------- */

typedef struct {
    unsigned char   *ek;
    size_t           ek_len;
    STACK_OF(X509)  *chain;
    unsigned char   *ak;
    size_t           ak_len;
    unsigned char   *quote;
    size_t           quote_len;
    unsigned char   *sig;
    size_t           sig_len;
    unsigned char   *secret;
    size_t           secret_len;
    char             challenge[65];
    /* PCR values by bank slot (0 sha1, 1 sha256, 2 sha384, 3 sha512). */
    unsigned char    pcr[4][WID_TPM_MAX_PCRS][64];
    uint32_t         pcr_set[4];
} wid_tpm_evidence;

static const TPMI_ALG_HASH wid_tpm_banks[4] = {
    TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384, TPM2_ALG_SHA512
};


static int
wid_tpm_bank_slot(TPMI_ALG_HASH alg)
{
    int i;

    for (i = 0; i < 4; i++) {
        if (wid_tpm_banks[i] == alg) {
            return i;
        }
    }
    return -1;
}


static void
wid_tpm_evidence_free(wid_tpm_evidence *ev)
{
    free(ev->ek);
    free(ev->ak);
    free(ev->quote);
    free(ev->sig);
    if (ev->secret != NULL) {
        sodium_memzero(ev->secret, ev->secret_len);
        free(ev->secret);
    }
    sk_X509_pop_free(ev->chain, X509_free);
    memset(ev, 0, sizeof(*ev));
}


static int
wid_tpm_b64_member(json_t *doc, const char *key, size_t max,
                   unsigned char **out, size_t *len)
{
    json_t *v = json_object_get(doc, key);

    if (!json_is_string(v)) {
        return -1;
    }
    return wid_attest_b64_decode(json_string_value(v), max, out, len);
}


static int
wid_tpm_hex_id(const char *s, char id[65])
{
    size_t i, n = strlen(s);

    if (n != 64) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
        {
            return -1;
        }
    }
    memcpy(id, s, 65);
    return 0;
}


/* {"sha256": {"0": "<hex>", ...}, ...} into per-bank arrays. */
static int
wid_tpm_pcrs_parse(json_t *pcrs, unsigned char vals[4][WID_TPM_MAX_PCRS][64],
                   uint32_t set[4])
{
    const char    *bank, *idxs;
    json_t        *m, *v;
    TPMI_ALG_HASH  alg;
    unsigned       idx;
    size_t         n;
    int            slot;

    if (!json_is_object(pcrs)) {
        return -1;
    }
    json_object_foreach(pcrs, bank, m) {
        if (wid_tpm_bank_from_name(bank, &alg) != 0 || !json_is_object(m)) {
            return -1;
        }
        slot = wid_tpm_bank_slot(alg);
        json_object_foreach(m, idxs, v) {
            if (wid_tpm_pcr_index(idxs, &idx) != 0 || !json_is_string(v)
                || wid_attest_unhex(json_string_value(v), vals[slot][idx],
                                    64, &n) != 0
                || n != (size_t) EVP_MD_get_size(wid_tpm_md(alg)))
            {
                return -1;
            }
            set[slot] |= 1u << idx;
        }
    }
    return 0;
}


static wid_reason_t
wid_tpm_evidence_parse(const unsigned char *buf, size_t len,
                       wid_tpm_evidence *ev)
{
    json_t              *doc, *v, *c;
    json_error_t         err;
    unsigned char       *der;
    const unsigned char *p;
    size_t               dlen, i;
    X509                *x;
    wid_reason_t         rc = WID_R_ATTEST_EVIDENCE_MALFORMED;

    memset(ev, 0, sizeof(*ev));
    if (len > WID_ATTEST_EVIDENCE_MAX) {
        return WID_R_ATTEST_EVIDENCE_TOO_LARGE;
    }
    doc = json_loadb((const char *) buf, len, JSON_REJECT_DUPLICATES, &err);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return rc;
    }

    v = json_object_get(doc, "challenge");
    if (!json_is_string(v) || wid_tpm_hex_id(json_string_value(v),
                                             ev->challenge) != 0
        || wid_tpm_b64_member(doc, "ekCert", WID_TPM_CERT_MAX, &ev->ek,
                              &ev->ek_len) != 0
        || wid_tpm_b64_member(doc, "akPublic", WID_TPM_BLOB_MAX, &ev->ak,
                              &ev->ak_len) != 0
        || wid_tpm_b64_member(doc, "quote", WID_TPM_BLOB_MAX, &ev->quote,
                              &ev->quote_len) != 0
        || wid_tpm_b64_member(doc, "signature", WID_TPM_BLOB_MAX, &ev->sig,
                              &ev->sig_len) != 0
        || wid_tpm_b64_member(doc, "activatedSecret", 64, &ev->secret,
                              &ev->secret_len) != 0
        || wid_tpm_pcrs_parse(json_object_get(doc, "pcrs"), ev->pcr,
                              ev->pcr_set) != 0)
    {
        goto done;
    }

    /* Optional intermediates between the EK certificate and a root. */
    c = json_object_get(doc, "ekChain");
    ev->chain = sk_X509_new_null();
    if (ev->chain == NULL) {
        rc = WID_R_INTERNAL_NOMEM;
        goto done;
    }
    if (c != NULL) {
        if (!json_is_array(c) || json_array_size(c) > WID_TPM_CHAIN_MAX) {
            goto done;
        }
        json_array_foreach(c, i, v) {
            if (!json_is_string(v)
                || wid_attest_b64_decode(json_string_value(v),
                                         WID_TPM_CERT_MAX, &der, &dlen) != 0)
            {
                goto done;
            }
            p = der;
            x = d2i_X509(NULL, &p, (long) dlen);
            if (x == NULL || p != der + dlen || !sk_X509_push(ev->chain, x))
            {
                X509_free(x);
                free(der);
                goto done;
            }
            free(der);
        }
    }
    rc = WID_OK;

done:
    json_decref(doc);
    if (rc != WID_OK) {
        wid_tpm_evidence_free(ev);
    }
    return rc;
}


wid_reason_t
wid_tpm_evidence_challenge_id(const unsigned char *evidence, size_t len,
                              char id[65])
{
    json_t       *doc, *v;
    json_error_t  err;
    wid_reason_t  rc = WID_R_ATTEST_EVIDENCE_MALFORMED;

    id[0] = '\0';
    if (len > WID_ATTEST_EVIDENCE_MAX) {
        return WID_R_ATTEST_EVIDENCE_TOO_LARGE;
    }
    doc = json_loadb((const char *) evidence, len, JSON_REJECT_DUPLICATES,
                     &err);
    v = json_object_get(doc, "challenge");
    if (json_is_string(v) && wid_tpm_hex_id(json_string_value(v), id) == 0)
    {
        rc = WID_OK;
    }
    json_decref(doc);
    return rc;
}


wid_reason_t
wid_tpm_pcr_policy_parse(const unsigned char *buf, size_t len,
                         wid_tpm_pcr_rule *rules, size_t max, size_t *nrules)
{
    unsigned char      (*vals)[WID_TPM_MAX_PCRS][64];
    uint32_t             set[4] = { 0, 0, 0, 0 };
    json_t              *doc;
    json_error_t         err;
    unsigned             slot, idx;
    size_t               n = 0;
    wid_reason_t         rc = WID_R_ATTEST_CONFIG_INVALID;

    *nrules = 0;
    vals = calloc(4, sizeof(*vals));
    if (vals == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    doc = json_loadb((const char *) buf, len, JSON_REJECT_DUPLICATES, &err);
    if (doc == NULL || wid_tpm_pcrs_parse(doc, vals, set) != 0) {
        goto done;
    }
    for (slot = 0; slot < 4; slot++) {
        for (idx = 0; idx < WID_TPM_MAX_PCRS; idx++) {
            if (!(set[slot] & (1u << idx))) {
                continue;
            }
            if (n >= max) {
                goto done;
            }
            rules[n].hash_alg = wid_tpm_banks[slot];
            rules[n].index = idx;
            rules[n].value_len =
                (size_t) EVP_MD_get_size(wid_tpm_md(wid_tpm_banks[slot]));
            memcpy(rules[n].value, vals[slot][idx], rules[n].value_len);
            n++;
        }
    }
    *nrules = n;
    rc = WID_OK;

done:
    json_decref(doc);
    free(vals);
    return rc;
}


/* ---- Quote ------------------------------------------------------------- */

static wid_reason_t
wid_tpm_sig_verify(const TPMT_PUBLIC *ak, const TPMT_SIGNATURE *sig,
                   const unsigned char *msg, size_t msg_len)
{
    TPMI_ALG_SIG_SCHEME  scheme = 0;
    TPMI_ALG_HASH        hash;
    const EVP_MD        *md;
    EVP_PKEY            *pkey = NULL;
    EVP_MD_CTX          *mctx = NULL;
    EVP_PKEY_CTX        *pctx;
    ECDSA_SIG           *es = NULL;
    BIGNUM              *r = NULL, *s = NULL;
    unsigned char       *der = NULL;
    const unsigned char *sigp;
    size_t               siglen;
    int                  derlen;
    wid_reason_t         rc;

    hash = wid_tpm_ak_scheme(ak, &scheme);
    if (sig->sigAlg != scheme) {
        return WID_R_ATTEST_TPM_SIG_SCHEME;
    }
    switch (scheme) {
    case TPM2_ALG_RSASSA:
        if (sig->signature.rsassa.hash != hash) {
            return WID_R_ATTEST_TPM_SIG_SCHEME;
        }
        sigp = sig->signature.rsassa.sig.buffer;
        siglen = sig->signature.rsassa.sig.size;
        break;
    case TPM2_ALG_RSAPSS:
        if (sig->signature.rsapss.hash != hash) {
            return WID_R_ATTEST_TPM_SIG_SCHEME;
        }
        sigp = sig->signature.rsapss.sig.buffer;
        siglen = sig->signature.rsapss.sig.size;
        break;
    case TPM2_ALG_ECDSA:
        if (sig->signature.ecdsa.hash != hash) {
            return WID_R_ATTEST_TPM_SIG_SCHEME;
        }
        es = ECDSA_SIG_new();
        r = BN_bin2bn(sig->signature.ecdsa.signatureR.buffer,
                      sig->signature.ecdsa.signatureR.size, NULL);
        s = BN_bin2bn(sig->signature.ecdsa.signatureS.buffer,
                      sig->signature.ecdsa.signatureS.size, NULL);
        if (es == NULL || r == NULL || s == NULL
            || !ECDSA_SIG_set0(es, r, s))
        {
            BN_free(r);
            BN_free(s);
            ECDSA_SIG_free(es);
            return WID_R_INTERNAL_NOMEM;
        }
        derlen = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
        if (derlen <= 0) {
            return WID_R_INTERNAL_CRYPTO;
        }
        sigp = der;
        siglen = (size_t) derlen;
        break;
    default:
        return WID_R_ATTEST_TPM_SIG_SCHEME;
    }

    md = wid_tpm_strong_md(hash);
    if (md == NULL) {
        OPENSSL_free(der);
        return WID_R_ATTEST_TPM_SIG_SCHEME;
    }
    rc = wid_tpm_ak_pkey(ak, &pkey);
    if (rc != WID_OK) {
        OPENSSL_free(der);
        return rc;
    }

    rc = WID_R_ATTEST_TPM_BAD_SIGNATURE;
    mctx = EVP_MD_CTX_new();
    if (mctx == NULL
        || EVP_DigestVerifyInit(mctx, &pctx, md, NULL, pkey) != 1)
    {
        rc = WID_R_INTERNAL_CRYPTO;
        goto done;
    }
    if (scheme == TPM2_ALG_RSAPSS
        && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1
            || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO)
               != 1))
    {
        rc = WID_R_INTERNAL_CRYPTO;
        goto done;
    }
    if (EVP_DigestVerify(mctx, sigp, siglen, msg, msg_len) == 1) {
        rc = WID_OK;
    }

done:
    EVP_MD_CTX_free(mctx);
    EVP_PKEY_free(pkey);
    OPENSSL_free(der);
    return rc;
}


/*
 * Recompute the PCR digest: the selected PCR values, bank by bank in the
 * order of the selection list, each bank in ascending PCR order, hashed
 * with the signing scheme's hash.  Every selected PCR must have a value
 * and every value sent must be selected (values outside the quote prove
 * nothing and are refused rather than ignored).
 */
static wid_reason_t
wid_tpm_pcr_digest(const TPML_PCR_SELECTION *sel, const wid_tpm_evidence *ev,
                   const EVP_MD *md, const TPM2B_DIGEST *quoted,
                   uint32_t covered[4])
{
    EVP_MD_CTX   *mctx;
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int  dlen = 0;
    uint32_t      bits;
    unsigned      i, b, idx;
    int           slot, vlen;
    wid_reason_t  rc = WID_R_ATTEST_TPM_PCR_VALUES;

    memset(covered, 0, 4 * sizeof(uint32_t));
    if (sel->count == 0 || sel->count > TPM2_NUM_PCR_BANKS) {
        return WID_R_ATTEST_TPM_PCR_VALUES;
    }
    mctx = EVP_MD_CTX_new();
    if (mctx == NULL || EVP_DigestInit_ex(mctx, md, NULL) != 1) {
        EVP_MD_CTX_free(mctx);
        return WID_R_INTERNAL_NOMEM;
    }

    for (i = 0; i < sel->count; i++) {
        slot = wid_tpm_bank_slot(sel->pcrSelections[i].hash);
        if (slot < 0 || sel->pcrSelections[i].sizeofSelect
                        > TPM2_PCR_SELECT_MAX)
        {
            goto done;
        }
        bits = 0;
        for (b = 0; b < sel->pcrSelections[i].sizeofSelect; b++) {
            bits |= (uint32_t) sel->pcrSelections[i].pcrSelect[b] << (8 * b);
        }
        /* A bank selected twice would count its PCRs twice. */
        if (covered[slot] & bits) {
            goto done;
        }
        covered[slot] |= bits;
        vlen = EVP_MD_get_size(wid_tpm_md(wid_tpm_banks[slot]));
        for (idx = 0; idx < WID_TPM_MAX_PCRS; idx++) {
            if (!(bits & (1u << idx))) {
                continue;
            }
            if (!(ev->pcr_set[slot] & (1u << idx))
                || EVP_DigestUpdate(mctx, ev->pcr[slot][idx], (size_t) vlen)
                   != 1)
            {
                goto done;
            }
        }
    }
    for (i = 0; i < 4; i++) {
        if (ev->pcr_set[i] & ~covered[i]) {
            goto done;
        }
    }
    if (EVP_DigestFinal_ex(mctx, dig, &dlen) != 1) {
        rc = WID_R_INTERNAL_CRYPTO;
        goto done;
    }
    rc = quoted->size == dlen && sodium_memcmp(dig, quoted->buffer, dlen) == 0
         ? WID_OK : WID_R_ATTEST_TPM_PCR_DIGEST;

done:
    EVP_MD_CTX_free(mctx);
    return rc;
}


static wid_reason_t
wid_tpm_fill(const wid_tpm_evidence *ev, const wid_tpm_verify_params *p,
             const uint32_t covered[4], const unsigned char *evidence,
             size_t len, wid_attestation *out)
{
    char          hex[2 * 64 + 1], sel[WID_ATTEST_SEL_VALUE_MAX + 1];
    unsigned      slot, idx;
    size_t        vlen;
    wid_reason_t  rc;

    wid_attestation_init(out, WID_ATTEST_TPM, p->verifier);
    wid_attestation_hash_evidence(out, evidence, len);
    rc = wid_attestation_set_window(out, p->now, p->ttl);
    if (rc != WID_OK) {
        return rc;
    }
    wid_hex(p->challenge->ek_sha256, 32, hex);
    snprintf(sel, sizeof(sel), "ek:%s", hex);
    rc = wid_attestation_set_subject(out, sel);
    if (rc == WID_OK) {
        snprintf(sel, sizeof(sel), "ek_sha256:%s", hex);
        rc = wid_attestation_add_selector(out, "tpm", sel);
    }
    for (slot = 0; slot < 4 && rc == WID_OK; slot++) {
        vlen = (size_t) EVP_MD_get_size(wid_tpm_md(wid_tpm_banks[slot]));
        for (idx = 0; idx < WID_TPM_MAX_PCRS && rc == WID_OK; idx++) {
            if (!(covered[slot] & (1u << idx))) {
                continue;
            }
            wid_hex(ev->pcr[slot][idx], vlen, hex);
            snprintf(sel, sizeof(sel), "pcr:%s:%u:%s",
                     wid_tpm_bank_name(wid_tpm_banks[slot]), idx, hex);
            rc = wid_attestation_add_selector(out, "tpm", sel);
        }
    }
    return rc;
}


wid_reason_t
wid_tpm_verify(const unsigned char *evidence, size_t len,
               const wid_tpm_verify_params *p, wid_attestation *out,
               wid_tpm_counters *quoted)
{
    wid_tpm_evidence *ev;
    TPM2B_PUBLIC      ak;
    TPMS_ATTEST       att;
    TPMT_SIGNATURE    sig;
    unsigned char     name[WID_TPM_NAME_MAX], ek_sha[32];
    uint32_t          covered[4];
    size_t            name_len, off, i;
    const EVP_MD     *md;
    TPMI_ALG_SIG_SCHEME scheme = 0;
    int               slot;
    wid_reason_t      rc;

    memset(out, 0, sizeof(*out));
    memset(quoted, 0, sizeof(*quoted));
    if (p->roots == NULL || p->challenge == NULL) {
        return WID_R_ATTEST_CONFIG_INVALID;
    }
    if (p->now >= p->challenge->expires_at) {
        return WID_R_ATTEST_CHALLENGE_EXPIRED;
    }

    /* The evidence is large (PCR tables): keep it off the stack. */
    ev = calloc(1, sizeof(*ev));
    if (ev == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    rc = wid_tpm_evidence_parse(evidence, len, ev);
    if (rc != WID_OK) {
        free(ev);
        return rc;
    }

    /* 1. The EK certificate chains to a manufacturer root and is the EK
     *    the challenge's credential was made for. */
    rc = wid_tpm_ek_check(ev->ek, ev->ek_len, ev->chain, p->roots, p->now,
                          NULL, ek_sha);
    if (rc != WID_OK) {
        goto done;
    }
    if (sodium_memcmp(ek_sha, p->challenge->ek_sha256, 32) != 0) {
        rc = WID_R_ATTEST_TPM_AK_NOT_ACTIVATED;
        goto done;
    }

    /* 2. The AK: right attributes, the name the credential was bound to,
     *    and the TPM released the credential's secret. */
    rc = wid_tpm_ak_parse(ev->ak, ev->ak_len, &ak, name, &name_len);
    if (rc != WID_OK) {
        goto done;
    }
    if (name_len != p->challenge->ak_name_len
        || sodium_memcmp(name, p->challenge->ak_name, name_len) != 0
        || ev->secret_len != sizeof(p->challenge->secret)
        || sodium_memcmp(ev->secret, p->challenge->secret,
                         sizeof(p->challenge->secret)) != 0)
    {
        rc = WID_R_ATTEST_TPM_AK_NOT_ACTIVATED;
        goto done;
    }

    /* 3. TPMS_ATTEST, exactly, generated by a TPM, a quote. */
    off = 0;
    memset(&att, 0, sizeof(att));
    if (Tss2_MU_TPMS_ATTEST_Unmarshal(ev->quote, ev->quote_len, &off, &att)
        != TSS2_RC_SUCCESS || off != ev->quote_len)
    {
        /* A bad magic or type also fails here in some tss2 versions:
         * look at the raw bytes to report the precise reason. */
        if (ev->quote_len >= 6
            && ((uint32_t) ev->quote[0] << 24 | (uint32_t) ev->quote[1] << 16
                | (uint32_t) ev->quote[2] << 8 | ev->quote[3])
               != TPM2_GENERATED_VALUE)
        {
            rc = WID_R_ATTEST_TPM_BAD_MAGIC;
        } else if (ev->quote_len >= 6
                   && ((uint16_t) (ev->quote[4] << 8 | ev->quote[5]))
                      != TPM2_ST_ATTEST_QUOTE)
        {
            rc = WID_R_ATTEST_TPM_NOT_QUOTE;
        } else {
            rc = WID_R_ATTEST_EVIDENCE_MALFORMED;
        }
        goto done;
    }
    if (att.magic != TPM2_GENERATED_VALUE) {
        rc = WID_R_ATTEST_TPM_BAD_MAGIC;
        goto done;
    }
    if (att.type != TPM2_ST_ATTEST_QUOTE) {
        rc = WID_R_ATTEST_TPM_NOT_QUOTE;
        goto done;
    }

    /* 4. Signed by the AK over the exact bytes received. */
    off = 0;
    memset(&sig, 0, sizeof(sig));
    if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(ev->sig, ev->sig_len, &off, &sig)
        != TSS2_RC_SUCCESS || off != ev->sig_len)
    {
        rc = WID_R_ATTEST_EVIDENCE_MALFORMED;
        goto done;
    }
    rc = wid_tpm_sig_verify(&ak.publicArea, &sig, ev->quote, ev->quote_len);
    if (rc != WID_OK) {
        goto done;
    }

    /* 5. The nonce of this challenge, exactly: same length, same bytes. */
    if (att.extraData.size != WID_TPM_NONCE_LEN
        || sodium_memcmp(att.extraData.buffer, p->challenge->nonce,
                         WID_TPM_NONCE_LEN) != 0)
    {
        rc = WID_R_ATTEST_TPM_NONCE_MISMATCH;
        goto done;
    }

    /* 6. PCR digest over the selection, with the signing hash. */
    md = wid_tpm_strong_md(wid_tpm_ak_scheme(&ak.publicArea, &scheme));
    rc = wid_tpm_pcr_digest(&att.attested.quote.pcrSelect, ev, md,
                            &att.attested.quote.pcrDigest, covered);
    if (rc != WID_OK) {
        goto done;
    }

    /* 7. The verifier's PCR policy: every required PCR quoted and equal. */
    for (i = 0; i < p->npcr_policy; i++) {
        const wid_tpm_pcr_rule *r = &p->pcr_policy[i];

        slot = wid_tpm_bank_slot(r->hash_alg);
        if (slot < 0 || r->index >= WID_TPM_MAX_PCRS) {
            rc = WID_R_ATTEST_CONFIG_INVALID;
            goto done;
        }
        if (!(covered[slot] & (1u << r->index))) {
            rc = WID_R_ATTEST_TPM_PCR_NOT_COVERED;
            goto done;
        }
        if (r->value_len != (size_t) EVP_MD_get_size(wid_tpm_md(r->hash_alg))
            || memcmp(ev->pcr[slot][r->index], r->value, r->value_len) != 0)
        {
            rc = WID_R_ATTEST_TPM_PCR_POLICY;
            goto done;
        }
    }

    /* 8. The clock must be one the TPM vouches for (safe=0 means a
     *    larger Clock may have been reported before: after a power loss,
     *    until the TPM next saves its clock); then counters and clock
     *    never go backwards for this EK (a rolled-back or cloned TPM
     *    state). */
    quoted->present = 1;
    quoted->reset_count = att.clockInfo.resetCount;
    quoted->restart_count = att.clockInfo.restartCount;
    quoted->clock = att.clockInfo.clock;
    if (att.clockInfo.safe != TPM2_YES) {
        rc = WID_R_ATTEST_TPM_CLOCK_UNSAFE;
        goto done;
    }
    rc = wid_tpm_counters_check(p->last, quoted);
    if (rc != WID_OK) {
        goto done;
    }

    rc = wid_tpm_fill(ev, p, covered, evidence, len, out);

done:
    wid_tpm_evidence_free(ev);
    free(ev);
    if (rc != WID_OK) {
        memset(out, 0, sizeof(*out));
        if (rc != WID_R_ATTEST_TPM_COUNTER_DECREASED
            && rc != WID_R_ATTEST_TPM_CLOCK_REPLAY)
        {
            memset(quoted, 0, sizeof(*quoted));
        }
    }
    return rc;
}
