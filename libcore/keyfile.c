#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/asn1t.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "bytes.h"
#include "keyfile.h"

/* Key files are small; anything larger is not ours. */
#define WID_KEYFILE_MAX 16384


/* Never let OpenSSL prompt for a passphrase on a terminal. */
static int
wid_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void) buf;
    (void) size;
    (void) rwflag;
    (void) u;
    return 0;
}


static wid_reason_t
wid_read_key_fd(int fd, unsigned char *buf, size_t cap, size_t *len)
{
    ssize_t n;

    *len = 0;
    for ( ;; ) {
        if (*len == cap) {
            return WID_R_KEY_MALFORMED;          /* too large */
        }
        n = read(fd, buf + *len, cap - *len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return WID_R_KEY_UNREADABLE;
        }
        if (n == 0) {
            return WID_OK;
        }
        *len += (size_t) n;
    }
}


/*
 * An unencrypted PKCS#8 "PRIVATE KEY" PEM holding an Ed25519 key (RFC
 * 8410: algorithm id-Ed25519 without parameters, the private key an
 * OCTET STRING of the 32-byte seed), decoded with OpenSSL's ASN.1
 * templates only.  Returns WID_OK with the seed, WID_R_KEY_WRONG_TYPE for
 * a PKCS#8 key of another algorithm, or WID_R_KEY_MALFORMED when this is
 * not such a file (the caller then tries the general decoder).
 */
static wid_reason_t
wid_seckey_pkcs8_ed25519(const unsigned char *pem, size_t len,
                         unsigned char seed[32])
{
    PKCS8_PRIV_KEY_INFO  *p8 = NULL;
    const ASN1_OBJECT    *oid;
    const X509_ALGOR     *alg;
    const unsigned char  *pk, *q;
    unsigned char        *der = NULL;
    long                  derlen = 0;
    ASN1_OCTET_STRING    *os = NULL;
    const void           *pval;
    int                   pklen, ptype;
    wid_reason_t          rc = WID_R_KEY_MALFORMED;
    BIO                  *bio;

    if (len > WID_KEYFILE_MAX
        || (bio = BIO_new_mem_buf(pem, (int) len)) == NULL)
    {
        return WID_R_KEY_MALFORMED;
    }
    /*
     * The DER is decoded into memory that is cleared when freed (the
     * _secmem variant): PEM_read_bio_PKCS8_PRIV_KEY_INFO frees its copy
     * as it is, and the seed would stay in the heap of every process
     * forked after the load.
     */
    if (PEM_bytes_read_bio_secmem(&der, &derlen, NULL, PEM_STRING_PKCS8INF,
                                  bio, wid_no_passphrase, NULL) == 1)
    {
        q = der;
        p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &q, derlen);
    }
    BIO_free(bio);
    if (p8 == NULL
        || PKCS8_pkey_get0(&oid, &pk, &pklen, &alg, p8) != 1)
    {
        goto done;
    }
    if (OBJ_obj2nid(oid) != NID_ED25519) {
        rc = WID_R_KEY_WRONG_TYPE;
        goto done;
    }
    X509_ALGOR_get0(NULL, &ptype, &pval, alg);
    if (ptype != V_ASN1_UNDEF) {
        goto done;                      /* parameters must be absent */
    }
    q = pk;
    os = d2i_ASN1_OCTET_STRING(NULL, &q, pklen);
    if (os == NULL || q != pk + pklen || ASN1_STRING_length(os) != 32) {
        goto done;
    }
    memcpy(seed, ASN1_STRING_get0_data(os), 32);
    rc = WID_OK;

done:
    if (os != NULL) {
        OPENSSL_cleanse(os->data, (size_t) os->length);
        ASN1_OCTET_STRING_free(os);
    }
    PKCS8_PRIV_KEY_INFO_free(p8);       /* clears the key material */
    OPENSSL_secure_clear_free(der, der != NULL ? (size_t) derlen : 0);
    return rc;
}


wid_reason_t
wid_seckey_load(const char *path, wid_seckey *out)
{
    unsigned char  buf[WID_KEYFILE_MAX];
    unsigned char  seed[32];
    size_t         len = 0, seedlen = sizeof(seed);
    struct stat    st;
    wid_reason_t   rc;
    EVP_PKEY      *pkey = NULL;
    BIO           *bio = NULL;
    int            fd;

    memset(out, 0, sizeof(*out));

    fd = open(path,
              O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return errno == ELOOP ? WID_R_KEY_NOT_REGULAR : WID_R_KEY_UNREADABLE;
    }
    if (fstat(fd, &st) != 0) {
        close(fd);
        return WID_R_KEY_UNREADABLE;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return WID_R_KEY_NOT_REGULAR;
    }
    if (st.st_uid != geteuid()) {
        close(fd);
        return WID_R_KEY_WRONG_OWNER;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        close(fd);
        return WID_R_KEY_PERMISSIONS;
    }

    rc = wid_read_key_fd(fd, buf, sizeof(buf), &len);
    close(fd);
    if (rc != WID_OK) {
        goto done;
    }

    /* The usual case, an unencrypted PKCS#8 Ed25519 key, without
     * OpenSSL 3's decoder framework (a large part of a short-lived
     * process's run time); anything else takes the general path. */
    rc = wid_seckey_pkcs8_ed25519(buf, len, seed);
    if (rc != WID_R_KEY_MALFORMED) {
        if (rc == WID_OK
            && crypto_sign_seed_keypair(out->pub.pk, out->sk, seed) != 0)
        {
            rc = WID_R_INTERNAL_CRYPTO;
        }
        goto done;
    }

    rc = WID_R_KEY_MALFORMED;
    bio = BIO_new_mem_buf(buf, (int) len);
    if (bio == NULL) {
        rc = WID_R_INTERNAL_NOMEM;
        goto done;
    }
    pkey = PEM_read_bio_PrivateKey(bio, NULL, wid_no_passphrase, NULL);
    if (pkey == NULL) {
        goto done;
    }
    if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
        rc = WID_R_KEY_WRONG_TYPE;
        goto done;
    }
    if (EVP_PKEY_get_raw_private_key(pkey, seed, &seedlen) != 1
        || seedlen != sizeof(seed))
    {
        goto done;
    }
    if (crypto_sign_seed_keypair(out->pub.pk, out->sk, seed) != 0) {
        rc = WID_R_INTERNAL_CRYPTO;
        goto done;
    }
    rc = WID_OK;

done:
    sodium_memzero(buf, sizeof(buf));
    sodium_memzero(seed, sizeof(seed));
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    if (rc != WID_OK) {
        wid_seckey_wipe(out);
    }
    return rc;
}


void
wid_seckey_wipe(wid_seckey *key)
{
    sodium_memzero(key, sizeof(*key));
}


/* SubjectPublicKeyInfo (RFC 5280 section 4.1), as an ASN.1 template. */
typedef struct {
    X509_ALGOR      *alg;
    ASN1_BIT_STRING *key;
} WID_SPKI;

ASN1_SEQUENCE(WID_SPKI) = {
    ASN1_SIMPLE(WID_SPKI, alg, X509_ALGOR),
    ASN1_SIMPLE(WID_SPKI, key, ASN1_BIT_STRING)
} static_ASN1_SEQUENCE_END(WID_SPKI)


/*
 * A "PUBLIC KEY" PEM whose first block is the DER SubjectPublicKeyInfo
 * of an Ed25519 key (RFC 8410: id-Ed25519 without parameters, the key a
 * 32-byte BIT STRING), decoded with OpenSSL's PEM reader and ASN.1
 * templates only.  Returns WID_OK with the key, or WID_R_KEY_MALFORMED
 * for anything else (the caller then asks the general decoder, which
 * decides as it always did).  OpenSSL 3's decoder framework costs a
 * short-lived process (`principals`, at every login) more than all its
 * other work.
 */
static wid_reason_t
wid_pubkey_spki_ed25519(const unsigned char *pem, size_t len,
                        unsigned char pk[WID_ED25519_PK_LEN])
{
    char                *name = NULL, *header = NULL;
    unsigned char       *der = NULL, *re = NULL;
    const unsigned char *q;
    const ASN1_OBJECT   *oid;
    const void          *pval;
    WID_SPKI            *spki = NULL;
    long                 dlen = 0;
    int                  ptype, rlen;
    wid_reason_t         rc = WID_R_KEY_MALFORMED;
    BIO                 *bio;

    if ((bio = BIO_new_mem_buf(pem, (int) len)) == NULL) {
        return WID_R_KEY_MALFORMED;
    }
    if (PEM_read_bio(bio, &name, &header, &der, &dlen) != 1
        || strcmp(name, PEM_STRING_PUBLIC) != 0 || header[0] != '\0')
    {
        goto done;
    }
    q = der;
    spki = (WID_SPKI *) ASN1_item_d2i(NULL, &q, dlen,
                                      ASN1_ITEM_rptr(WID_SPKI));
    if (spki == NULL || q != der + dlen) {
        goto done;
    }
    /* DER only: the bytes must be the canonical encoding of what was
     * read, so that one key has exactly one accepted file. */
    rlen = ASN1_item_i2d((ASN1_VALUE *) spki, &re, ASN1_ITEM_rptr(WID_SPKI));
    if (rlen != dlen || memcmp(re, der, (size_t) dlen) != 0) {
        goto done;
    }
    X509_ALGOR_get0(&oid, &ptype, &pval, spki->alg);
    if (OBJ_obj2nid(oid) != NID_ED25519 || ptype != V_ASN1_UNDEF
        || ASN1_STRING_length(spki->key) != WID_ED25519_PK_LEN
        || (spki->key->flags & 0x07) != 0)      /* no unused bits */
    {
        goto done;
    }
    memcpy(pk, ASN1_STRING_get0_data(spki->key), WID_ED25519_PK_LEN);
    rc = WID_OK;

done:
    ASN1_item_free((ASN1_VALUE *) spki, ASN1_ITEM_rptr(WID_SPKI));
    OPENSSL_free(re);
    OPENSSL_free(name);
    OPENSSL_free(header);
    OPENSSL_free(der);
    BIO_free(bio);
    return rc;
}


wid_reason_t
wid_pubkey_parse_pem(const unsigned char *pem, size_t len, wid_pubkey *out)
{
    size_t        pklen = WID_ED25519_PK_LEN;
    wid_reason_t  rc = WID_R_KEY_MALFORMED;
    EVP_PKEY     *pkey = NULL;
    BIO          *bio;

    memset(out, 0, sizeof(*out));
    if (len > WID_KEYFILE_MAX) {
        return WID_R_KEY_MALFORMED;
    }
    /* The usual case without the decoder framework; else the general
     * path below decides. */
    if (wid_pubkey_spki_ed25519(pem, len, out->pk) == WID_OK) {
        return WID_OK;
    }
    memset(out, 0, sizeof(*out));
    bio = BIO_new_mem_buf(pem, (int) len);
    if (bio == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    pkey = PEM_read_bio_PUBKEY(bio, NULL, wid_no_passphrase, NULL);
    if (pkey == NULL) {
        goto done;
    }
    if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
        rc = WID_R_KEY_WRONG_TYPE;
        goto done;
    }
    if (EVP_PKEY_get_raw_public_key(pkey, out->pk, &pklen) == 1
        && pklen == WID_ED25519_PK_LEN)
    {
        rc = WID_OK;
    }

done:
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    return rc;
}


wid_reason_t
wid_pubkey_load(const char *path, wid_pubkey *out)
{
    unsigned char  buf[WID_KEYFILE_MAX];
    size_t         len;
    wid_reason_t   rc;
    struct stat    st;
    int            fd;

    memset(out, 0, sizeof(*out));
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        return WID_R_KEY_UNREADABLE;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return WID_R_KEY_NOT_REGULAR;
    }
    rc = wid_read_key_fd(fd, buf, sizeof(buf), &len);
    close(fd);
    if (rc != WID_OK) {
        return rc;
    }
    return wid_pubkey_parse_pem(buf, len, out);
}


/* Write a whole buffer to a new file; never replaces an existing one. */
static wid_reason_t
wid_write_new_file(const char *path, const char *data, size_t len, mode_t mode)
{
    int  fd;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              mode);
    if (fd < 0) {
        return errno == EEXIST ? WID_R_KEY_EXISTS : WID_R_INTERNAL_IO;
    }
    /* The umask may have narrowed the mode: make it exact. */
    if (fchmod(fd, mode) != 0) {
        goto fail;
    }
    if (wid_fd_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        goto fail;
    }
    close(fd);
    return WID_OK;

fail:
    close(fd);
    unlink(path);
    return WID_R_INTERNAL_IO;
}


wid_reason_t
wid_keypair_generate(const char *prefix)
{
    unsigned char  pk[WID_ED25519_PK_LEN], sk[WID_ED25519_SK_LEN];
    char           keypath[4096], pubpath[4096];
    char          *data;
    long           dlen;
    wid_reason_t   rc = WID_R_INTERNAL_CRYPTO;
    EVP_PKEY      *pkey = NULL;
    BIO           *sbio = NULL, *pbio = NULL;
    int            n;

    n = snprintf(keypath, sizeof(keypath), "%s.key", prefix);
    if (n < 0 || (size_t) n >= sizeof(keypath)) {
        return WID_R_INTERNAL_CONFIG;
    }
    n = snprintf(pubpath, sizeof(pubpath), "%s.pub", prefix);
    if (n < 0 || (size_t) n >= sizeof(pubpath)) {
        return WID_R_INTERNAL_CONFIG;
    }
    if (access(keypath, F_OK) == 0 || access(pubpath, F_OK) == 0) {
        return WID_R_KEY_EXISTS;
    }

    if (sodium_init() < 0) {
        return WID_R_INTERNAL_CRYPTO;
    }
    crypto_sign_keypair(pk, sk);
    /* libsodium's secret key starts with the 32-byte seed RFC 8032 uses. */
    pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, 32);
    sodium_memzero(sk, sizeof(sk));
    if (pkey == NULL) {
        goto done;
    }

    sbio = BIO_new(BIO_s_mem());
    pbio = BIO_new(BIO_s_mem());
    if (sbio == NULL || pbio == NULL) {
        rc = WID_R_INTERNAL_NOMEM;
        goto done;
    }
    if (PEM_write_bio_PrivateKey(sbio, pkey, NULL, NULL, 0, NULL, NULL) != 1
        || PEM_write_bio_PUBKEY(pbio, pkey) != 1)
    {
        goto done;
    }

    dlen = BIO_get_mem_data(sbio, &data);
    rc = wid_write_new_file(keypath, data, (size_t) dlen, 0600);
    OPENSSL_cleanse(data, (size_t) dlen);
    if (rc != WID_OK) {
        goto done;
    }
    dlen = BIO_get_mem_data(pbio, &data);
    rc = wid_write_new_file(pubpath, data, (size_t) dlen, 0644);
    if (rc != WID_OK) {
        unlink(keypath);
    }

done:
    BIO_free(sbio);
    BIO_free(pbio);
    EVP_PKEY_free(pkey);
    return rc;
}


void
wid_sign(const wid_seckey *key, const unsigned char *msg, size_t len,
         unsigned char sig[WID_ED25519_SIG_LEN])
{
    crypto_sign_detached(sig, NULL, msg, len, key->sk);
}


int
wid_verify(const wid_pubkey *pub, const unsigned char *msg, size_t len,
           const unsigned char sig[WID_ED25519_SIG_LEN])
{
    return crypto_sign_verify_detached(sig, msg, len, pub->pk) == 0;
}


void
wid_pubkey_id(const wid_pubkey *pub, char out[WID_KEY_ID_HEX_LEN + 1])
{
    unsigned char digest[crypto_hash_sha256_BYTES];

    /* libsodium's SHA-256: no OpenSSL provider fetch. */
    crypto_hash_sha256(digest, pub->pk, sizeof(pub->pk));
    sodium_bin2hex(out, WID_KEY_ID_HEX_LEN + 1, digest, WID_KEY_ID_HEX_LEN / 2);
}
