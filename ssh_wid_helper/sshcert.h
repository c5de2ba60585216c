/*
 * OpenSSH Ed25519 user certificates (ssh-ed25519-cert-v01@openssh.com):
 * request checks, encoding, signing with libsodium, strict parsing, and
 * OpenSSH public key lines.  Format: draft-miller-ssh-cert (formerly
 * PROTOCOL.certkeys in OpenSSH); see docs/ssh.md.
 *
 * Everything a certificate carries is checked before anything is
 * signed, and the parser applies the same rules to what it reads, so a
 * certificate wid would not issue is a certificate wid does not accept.
 */
#ifndef SSH_WID_SSHCERT_H
#define SSH_WID_SSHCERT_H

#include <stddef.h>
#include <stdint.h>

#include "reason.h"
#include "sshbuf.h"

#define SSH_ED25519_NAME       "ssh-ed25519"
#define SSH_ED25519_CERT_NAME  "ssh-ed25519-cert-v01@openssh.com"
#define SSH_ED25519_PK_LEN     32
#define SSH_ED25519_SK_LEN     64       /* libsodium layout: seed || pk */
#define SSH_ED25519_SIG_LEN    64
#define SSH_CERT_NONCE_LEN     32
#define SSH_CERT_TYPE_USER     1
#define SSH_CERT_TYPE_HOST     2

#define SSH_CERT_MAX_PRINCIPALS  256     /* sshd's own limit */
#define SSH_PRINCIPAL_MAX        256     /* bytes per principal */
#define SSH_KEY_ID_MAX           2400    /* a 2048-byte SPIFFE ID + wid fields */
#define SSH_FORCE_COMMAND_MAX    4096
#define SSH_SOURCE_ADDRESS_MAX   4096
#define SSH_COMMENT_MAX          1024    /* pubkey --comment, revoke --comment */
#define SSH_TTL_MAX              (7u * 24u * 3600u)  /* operator ceiling */
#define SSH_BACKDATE_MAX         60u

/* Extensions OpenSSH defines, as bits; bit order is sorted name order. */
#define SSH_EXT_NO_TOUCH_REQUIRED        (1u << 0)
#define SSH_EXT_PERMIT_X11_FORWARDING    (1u << 1)
#define SSH_EXT_PERMIT_AGENT_FORWARDING  (1u << 2)
#define SSH_EXT_PERMIT_PORT_FORWARDING   (1u << 3)
#define SSH_EXT_PERMIT_PTY               (1u << 4)
#define SSH_EXT_PERMIT_USER_RC           (1u << 5)
#define SSH_EXT_COUNT                    6

typedef struct {
    /* Filled by ssh_cert_sign or by the parser. */
    unsigned char  nonce[SSH_CERT_NONCE_LEN];
    uint64_t       serial;                     /* 0 on input: drawn */
    unsigned char  ca_pk[SSH_ED25519_PK_LEN];  /* signature key */
    unsigned char  sig[SSH_ED25519_SIG_LEN];

    /* The request. */
    unsigned char  pk[SSH_ED25519_PK_LEN];     /* the certified key */
    uint32_t       type;                       /* SSH_CERT_TYPE_USER */
    char          *key_id;
    char         **principals;
    size_t         nprincipals;
    uint64_t       valid_after;
    uint64_t       valid_before;               /* exclusive */
    char          *force_command;              /* NULL: none */
    char          *source_address;             /* NULL: none */
    unsigned       extensions;                 /* SSH_EXT_* bits */
} ssh_cert;

/* Field checks, also used on CLI and policy input before a request. */
wid_reason_t ssh_check_principal(const char *p);
wid_reason_t ssh_check_key_id(const char *id);
wid_reason_t ssh_check_force_command(const char *cmd);
wid_reason_t ssh_check_source_address(const char *cidr_list);

/*
 * A free-text comment for a file sshd or ssh-keygen reads: printable
 * ASCII (space included), at most SSH_COMMENT_MAX bytes, so that it stays
 * one comment on one line (a newline would start a forged key line in
 * TrustedUserCAKeys).  0 or -1.
 */
int ssh_check_comment(const char *comment);

#define SSH_COMMENT_RULE \
    "--comment must be printable ASCII (no newline, tab or other control " \
    "character), at most 1024 bytes"
/* Name -> SSH_EXT_* bit; 0 when OpenSSH defines no such extension. */
unsigned ssh_extension_bit(const char *name);
const char *ssh_extension_name(unsigned bit);

/*
 * Validity window: valid_after = now - backdate, valid_before =
 * min(now + ttl, not_after) where not_after 0 means "no credential
 * expiry to respect".  ttl in 1..ttl_max, backdate <= SSH_BACKDATE_MAX,
 * every sum checked for overflow; an empty window is refused.
 */
wid_reason_t ssh_cert_validity(uint64_t now, uint64_t backdate,
                               uint64_t ttl, uint64_t ttl_max,
                               uint64_t not_after, uint64_t *valid_after,
                               uint64_t *valid_before);

/* Every check ssh_cert_sign makes on the request, without signing. */
wid_reason_t ssh_cert_check(const ssh_cert *c);

/* A random serial, never 0 (a KRL cannot revoke serial 0). */
uint64_t ssh_cert_random_serial(void);

/*
 * Check the request in c, draw a random nonce and (when c->serial is 0)
 * a random non-zero serial, and sign with the CA's libsodium secret key.
 * A non-zero c->serial is kept: evidence-gated issuance draws it first
 * so that the receipt recorded before signing names it.  On success out
 * holds the certificate blob (caller initialises and frees it) and
 * c->nonce, c->serial, c->ca_pk, c->sig are set.  Nothing is signed
 * unless every check passed.
 */
wid_reason_t ssh_cert_sign(ssh_cert *c,
                           const unsigned char ca_sk[SSH_ED25519_SK_LEN],
                           ssh_wbuf *out);

/*
 * Parse a certificate blob strictly and verify its signature with the
 * signature key it names (the caller then checks that key is the CA it
 * trusts).  On failure *c is left empty.
 */
wid_reason_t ssh_cert_parse(const unsigned char *blob, size_t len,
                            ssh_cert *c);
/* Base64 of the blob, as sshd passes it with %k; type is %t (may be NULL). */
wid_reason_t ssh_cert_parse_base64(const char *type, const char *b64,
                                   ssh_cert *c);
/* A "ssh-ed25519-cert-v01@openssh.com AAAA... [comment]" line. */
wid_reason_t ssh_cert_parse_line(const char *line, ssh_cert *c);
void ssh_cert_free(ssh_cert *c);

/* "TYPE BASE64 comment\n" line for a blob; caller frees *out. */
wid_reason_t ssh_format_line(const char *type, const unsigned char *blob,
                             size_t len, const char *comment, char **out);

/* OpenSSH public keys: "ssh-ed25519 AAAA... [comment]" and their blobs. */
wid_reason_t ssh_pubkey_parse_line(const char *line,
                                   unsigned char pk[SSH_ED25519_PK_LEN]);
wid_reason_t ssh_pubkey_parse_blob(const unsigned char *blob, size_t len,
                                   unsigned char pk[SSH_ED25519_PK_LEN]);
void ssh_pubkey_blob(const unsigned char pk[SSH_ED25519_PK_LEN],
                     ssh_wbuf *out);
/* "SHA256:..." fingerprint of a key (as ssh-keygen -l prints it). */
void ssh_pubkey_fingerprint(const unsigned char pk[SSH_ED25519_PK_LEN],
                            char out[64]);

/* Strict standard base64 (padding required, no whitespace). */
wid_reason_t ssh_base64_decode(const char *s, size_t len,
                               unsigned char **out, size_t *out_len);

#endif
