/*
 * The issued-certificates index: one JSON object per line, appended
 * (and fsync'd) for every certificate before the certificate is handed
 * out, so every certificate in the wild is in the index.
 *
 *   {"serial":"1234","key_id":"spiffe://td/p receipt=r1",
 *    "spiffe_id":"spiffe://td/p","principals":["deploy"],
 *    "valid_after":1700000000,"valid_before":1700000300,
 *    "key_fp":"SHA256:...","ca_fp":"SHA256:..."}
 *
 * KRL key-id revocation is exact-match, and wid key ids also carry the
 * receipt id, so revoking "everything for this SPIFFE ID" means finding
 * the serials here.  A final line without its newline is the trace of a
 * crash before the certificate was returned and is ignored; any other
 * line that does not parse is an error (revocation must not guess).
 */
#ifndef SSH_WID_ISSUED_H
#define SSH_WID_ISSUED_H

#include <stddef.h>
#include <stdint.h>

#include "reason.h"
#include "sshcert.h"

/* 256 principals of 256 bytes and two 2400-byte ids fit easily. */
#define SSH_ISSUED_LINE_MAX  (128u * 1024u)

/* Append one entry for c (signed); the file is created mode 0640. */
wid_reason_t ssh_issued_append(const char *path, const ssh_cert *c);
/* The same; fsync only when do_fsync (else the line is written to the
 * kernel before returning, durable at the next writeback). */
wid_reason_t ssh_issued_append_sync(const char *path, const ssh_cert *c,
                                    int do_fsync);

/*
 * Serials of certificates for spiffe_id still valid at now (valid_before
 * > now) and signed by the CA whose fingerprint is ca_fp ("SHA256:...").
 * A serial means nothing without its CA: after a CA rotation the index
 * holds both CAs' certificates, and a KRL entry names one CA.  *skipped
 * counts those of another CA.  Every line must name its CA.  *serials is
 * malloc'd (caller frees).  On SSH_INDEX_MALFORMED, *bad_line holds the
 * 1-based line number.
 */
wid_reason_t ssh_issued_find(const char *path, const char *spiffe_id,
                             const char *ca_fp, uint64_t now,
                             uint64_t **serials, size_t *n, size_t *skipped,
                             size_t *bad_line);

/*
 * The SPIFFE ID a wid key id carries: "spiffe://..." up to the first
 * space.  Copies into out (size outlen); returns 0, or -1 when the key
 * id does not start with a SPIFFE ID.
 */
int ssh_key_id_spiffe(const char *key_id, char *out, size_t outlen);

#endif
