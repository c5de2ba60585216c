#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "bytes.h"
#include "cakey.h"

#define SSH_CA_FILE_MAX 16384

/* The libsodium layout the signer relies on is the keyfile layout. */
_Static_assert(WID_ED25519_SK_LEN == SSH_ED25519_SK_LEN, "secret key size");
_Static_assert(WID_ED25519_PK_LEN == SSH_ED25519_PK_LEN, "public key size");


wid_reason_t
ssh_ca_pub_load(const char *path, unsigned char pk[SSH_ED25519_PK_LEN])
{
    unsigned char *buf;
    size_t         len;
    wid_reason_t   rc;
    wid_pubkey     pub;

    if ((rc = wid_read_file(path, SSH_CA_FILE_MAX, &buf, &len)) != WID_OK) {
        return rc;
    }
    if (memchr(buf, '\0', len) != NULL) {
        rc = WID_R_SSH_PUBKEY_MALFORMED;
    } else if (strncmp((char *) buf, "-----BEGIN ", 11) == 0) {
        rc = wid_pubkey_parse_pem(buf, len, &pub);
        if (rc == WID_OK) {
            memcpy(pk, pub.pk, SSH_ED25519_PK_LEN);
        }
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
