/*
 * Checkpoints: C2SP tlog-checkpoint v1.0.0 bodies in C2SP signed-note
 * v1.0.0 envelopes, signed with Ed25519 (libsodium).
 *
 *   <origin>\n<tree size>\n<base64 root hash>\n
 *   \n
 *   \u2014 <key name> <base64(key id || signature)>\n
 *
 * key id = first 4 bytes of SHA-256(key name || 0x0A || 0x01 || public
 * key); the signature covers the body (the first three lines).
 */
#ifndef WID_CHECKPOINT_H
#define WID_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "reason.h"

#define WID_ORIGIN_MAX      255
#define WID_KEY_NAME_MAX    128
#define WID_CHECKPOINT_MAX  2048      /* longest note we write or accept */

typedef struct {
    char     origin[WID_ORIGIN_MAX + 1];
    uint64_t size;
    uint8_t  root[32];
} wid_checkpoint;

/* Key names: 1..128 printable ASCII, no space and no '+'. */
int wid_note_key_name_ok(const char *name);

void wid_note_key_id(const char *name,
                     const uint8_t pk[crypto_sign_PUBLICKEYBYTES],
                     uint8_t id[4]);

/*
 * Write the signed note for c into out (NUL-terminated, *len without the
 * NUL).  sk is a libsodium Ed25519 secret key (seed || public key).
 */
wid_reason_t wid_checkpoint_sign(const wid_checkpoint *c,
                                 const char *key_name,
                                 const uint8_t sk[crypto_sign_SECRETKEYBYTES],
                                 char *out, size_t cap, size_t *len);

/*
 * Parse and verify a signed note: one signature line must be by pk (name
 * and key id match, signature valid); lines by other keys are ignored as
 * the spec asks.  On success fills *c.  Errors:
 * journal.checkpoint_malformed, journal.checkpoint_unsigned (no line by
 * this key), journal.checkpoint_signature (a line by this key that does
 * not verify).
 */
wid_reason_t wid_checkpoint_verify(const char *note, size_t len,
                                   const uint8_t pk[crypto_sign_PUBLICKEYBYTES],
                                   wid_checkpoint *c);

/* Parse the body only, without any signature check (for reports). */
wid_reason_t wid_checkpoint_parse(const char *note, size_t len,
                                  wid_checkpoint *c);

#endif
