/*
 * OpenSSH key revocation lists (PROTOCOL.krl in OpenSSH), read and
 * written by our own code so sshd's RevokedKeys and the helper share
 * one file.
 *
 * The reader takes what OpenSSH 9.2 accepts (certificate sections with
 * serial lists, ranges, bitmaps and key ids; explicit keys; SHA-1 and
 * SHA-256 fingerprints), refuses what it refuses (serial 0 in a list, a
 * range or a bitmap; a bitmap whose highest set bit passes 2^64-1), in
 * O(n log n), and refuses signature and extension sections:
 * newer sshd refuses signed KRLs, and rewriting one would silently drop
 * its signature.  The writer emits sorted, merged sections and keeps
 * every entry it read.  Updates replace the file atomically: sshd
 * refuses every public key login while RevokedKeys is unreadable.
 */
#ifndef SSH_WID_KRL_H
#define SSH_WID_KRL_H

#include <stddef.h>
#include <stdint.h>

#include "reason.h"
#include "sshcert.h"

#define SSH_KRL_MAGIC          "SSHKRL\n"      /* plus a NUL: 8 bytes */
#define SSH_KRL_FORMAT_VERSION 1

typedef struct {
    uint64_t lo;
    uint64_t hi;
} ssh_krl_range;

typedef struct {
    uint64_t       offset;
    unsigned char *bits;          /* big-endian, no leading zero bytes */
    size_t         len;
} ssh_krl_bitmap;

typedef struct {
    unsigned char *data;
    size_t         len;
} ssh_krl_blob;

typedef struct {
    unsigned char  *ca_blob;      /* SSH wire public key; len 0 = any CA */
    size_t          ca_len;
    uint64_t       *serials;      /* sorted, unique, non-zero */
    size_t          nserials;
    ssh_krl_range  *ranges;
    size_t          nranges;
    ssh_krl_bitmap *bitmaps;
    size_t          nbitmaps;
    char          **key_ids;      /* sorted, unique */
    size_t          nkey_ids;
} ssh_krl_certs;

typedef struct {
    uint64_t        version;
    uint64_t        generated;
    uint64_t        flags;
    char           *comment;
    ssh_krl_certs  *certs;
    size_t          ncerts;
    /* Each sorted (bytewise) and unique once parsed: looked up by
     * binary search, since ssh-keygen -k writes tens of thousands. */
    ssh_krl_blob   *keys;         /* explicit plain public keys */
    size_t          nkeys;
    ssh_krl_blob   *sha1s;
    size_t          nsha1s;
    ssh_krl_blob   *sha256s;
    size_t          nsha256s;
} ssh_krl;

void ssh_krl_init(ssh_krl *krl);
void ssh_krl_free(ssh_krl *krl);

wid_reason_t ssh_krl_parse(const unsigned char *data, size_t len,
                           ssh_krl *krl);
/* SSH_KRL_UNREADABLE when the file is missing or unreadable. */
wid_reason_t ssh_krl_load(const char *path, ssh_krl *krl);
/* Serialise into out (caller initialises and frees). */
wid_reason_t ssh_krl_serialize(const ssh_krl *krl, ssh_wbuf *out);

/* Revoke one serial (non-zero) / one key id of certificates by a CA. */
wid_reason_t ssh_krl_revoke_serial(ssh_krl *krl,
                                   const unsigned char ca_pk[SSH_ED25519_PK_LEN],
                                   uint64_t serial);
wid_reason_t ssh_krl_revoke_key_id(ssh_krl *krl,
                                   const unsigned char ca_pk[SSH_ED25519_PK_LEN],
                                   const char *key_id);

/*
 * WID_OK when nothing in the KRL revokes the certificate: its serial or
 * key id (for its CA or any CA), its key or its CA key (explicitly or by
 * fingerprint).  SSH_CERT_REVOKED otherwise.
 */
wid_reason_t ssh_krl_check_cert(const ssh_krl *krl, const ssh_cert *cert);

/*
 * Bump the version, stamp the time and replace path atomically: write a
 * temporary file in the same directory, fsync, rename, fsync the
 * directory.  The file is left mode 0644 (sshd reads it).
 */
wid_reason_t ssh_krl_save(ssh_krl *krl, const char *path, uint64_t now);

/*
 * Serialise concurrent updaters: an exclusive flock on "<path>.lock".
 * Returns the lock fd (>= 0), or -1; close it to unlock.
 */
int ssh_krl_lock(const char *path);

#endif
