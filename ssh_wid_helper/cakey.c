#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>

#include "bytes.h"
#include "cakey.h"

#define SSH_CA_FILE_MAX 16384


static int
ssh_ca_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void) buf;
    (void) size;
    (void) rwflag;
    (void) u;
    return 0;
}


wid_reason_t
ssh_ca_key_load(const char *path, ssh_ca_key *out)
{
    unsigned char  buf[SSH_CA_FILE_MAX];
    unsigned char  seed[32];
    size_t         len = 0, seedlen = sizeof(seed);
    ssize_t        n;
    struct stat    st;
    wid_reason_t   rc = WID_R_SSH_CA_KEY_MALFORMED;
    EVP_PKEY      *pkey = NULL;
    BIO           *bio = NULL;
    int            fd;

    memset(out, 0, sizeof(*out));

    /* O_NOFOLLOW: a symlink planted in place of the key is refused. */
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        return errno == ELOOP ? WID_R_SSH_CA_KEY_UNSAFE : WID_R_INTERNAL_IO;
    }
    if (fstat(fd, &st) != 0) {
        close(fd);
        return WID_R_INTERNAL_IO;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()
        || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    {
        close(fd);
        return WID_R_SSH_CA_KEY_UNSAFE;
    }

    for ( ;; ) {
        if (len == sizeof(buf)) {
            close(fd);
            goto done;                                  /* too large */
        }
        n = read(fd, buf + len, sizeof(buf) - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            close(fd);
            rc = WID_R_INTERNAL_IO;
            goto done;
        }
        if (n == 0) {
            break;
        }
        len += (size_t) n;
    }
    close(fd);

    bio = BIO_new_mem_buf(buf, (int) len);
    if (bio == NULL) {
        rc = WID_R_INTERNAL_NOMEM;
        goto done;
    }
    pkey = PEM_read_bio_PrivateKey(bio, NULL, ssh_ca_no_passphrase, NULL);
    if (pkey == NULL || EVP_PKEY_id(pkey) != EVP_PKEY_ED25519
        || EVP_PKEY_get_raw_private_key(pkey, seed, &seedlen) != 1
        || seedlen != sizeof(seed))
    {
        goto done;
    }
    if (crypto_sign_ed25519_seed_keypair(out->pk, out->sk, seed) != 0) {
        rc = WID_R_INTERNAL_CRYPTO;
        goto done;
    }
    rc = WID_OK;

done:
    EVP_PKEY_free(pkey);                 /* OpenSSL clears key material */
    BIO_free(bio);
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(buf, sizeof(buf));
    if (rc != WID_OK) {
        ssh_ca_key_wipe(out);
    }
    return rc;
}


void
ssh_ca_key_wipe(ssh_ca_key *key)
{
    sodium_memzero(key, sizeof(*key));
}


static wid_reason_t
ssh_spki_pem_parse(const unsigned char *pem, size_t len,
                   unsigned char pk[SSH_ED25519_PK_LEN])
{
    EVP_PKEY     *pkey;
    BIO          *bio;
    size_t        pklen = SSH_ED25519_PK_LEN;
    wid_reason_t  rc = WID_R_SSH_PUBKEY_MALFORMED;

    if (len > SSH_CA_FILE_MAX) {
        return rc;
    }
    if ((bio = BIO_new_mem_buf(pem, (int) len)) == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    pkey = PEM_read_bio_PUBKEY(bio, NULL, ssh_ca_no_passphrase, NULL);
    if (pkey != NULL) {
        if (EVP_PKEY_id(pkey) != EVP_PKEY_ED25519) {
            rc = WID_R_SSH_KEY_TYPE_UNSUPPORTED;
        } else if (EVP_PKEY_get_raw_public_key(pkey, pk, &pklen) == 1
                   && pklen == SSH_ED25519_PK_LEN)
        {
            rc = WID_OK;
        }
    }
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    return rc;
}


wid_reason_t
ssh_ca_pub_load(const char *path, unsigned char pk[SSH_ED25519_PK_LEN])
{
    unsigned char *buf;
    size_t         len;
    wid_reason_t   rc;

    if ((rc = wid_read_file(path, SSH_CA_FILE_MAX, &buf, &len)) != WID_OK) {
        return rc;
    }
    if (memchr(buf, '\0', len) != NULL) {
        rc = WID_R_SSH_PUBKEY_MALFORMED;
    } else if (strncmp((char *) buf, "-----BEGIN ", 11) == 0) {
        rc = ssh_spki_pem_parse(buf, len, pk);
    } else {
        rc = ssh_pubkey_parse_line((char *) buf, pk);
    }
    free(buf);
    return rc;
}


wid_reason_t
ssh_ca_check_separate(const unsigned char ca_pk[SSH_ED25519_PK_LEN],
                      const char *receipt_pub_path)
{
    unsigned char rpk[SSH_ED25519_PK_LEN];
    wid_reason_t  rc;

    if (receipt_pub_path == NULL) {
        return WID_OK;
    }
    if ((rc = ssh_ca_pub_load(receipt_pub_path, rpk)) != WID_OK) {
        return rc;
    }
    if (sodium_memcmp(rpk, ca_pk, SSH_ED25519_PK_LEN) == 0) {
        return WID_R_SSH_CA_IS_RECEIPT_KEY;
    }
    return WID_OK;
}
