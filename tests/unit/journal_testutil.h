/*
 * Helpers shared by the journal unit tests (linked into every unit test
 * binary, like any non-test_ file in tests/unit/).
 */
#ifndef WID_JOURNAL_TESTUTIL_H
#define WID_JOURNAL_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "journal.h"
#include "journal_read.h"

/* A fresh key pair (libsodium) as the journal takes it. */
void jt_keypair(wid_seckey *sk, wid_pubkey *pk);

/* Fill a plausible HTTP receipt; i varies the identity and verdict. */
void jt_receipt(wid_receipt *r, unsigned i);

/* mkdtemp under /tmp; returns a static buffer per call slot. */
char *jt_tmpdir(char *buf, size_t cap);
void jt_rmrf(const char *path);

/* Verify dir; returns the error count, *first = first error's reason and
 * *first_kind its kind (optional). */
size_t jt_verify(const char *dir, const wid_pubkey *pk, int accept_gaps,
                 wid_reason_t *first, const char **first_kind,
                 size_t *warnings);

/* dir/<writer>/seg-<n, 16 digits>.wjl */
void jt_seg_path(char *out, size_t cap, const char *dir, const char *writer,
                 unsigned n);

/* Read / write a whole file. */
unsigned char *jt_read(const char *path, size_t *len);
void jt_write(const char *path, const unsigned char *buf, size_t len);

/* Overwrite one byte in place (no truncation: ext4 flushes files that
 * are truncated and rewritten, which would make the flip test slow). */
void jt_poke(const char *path, size_t off, unsigned char byte);

/* Offsets of the frames of a segment file (up to max). */
size_t jt_frames(const unsigned char *buf, size_t len, uint64_t *offs,
                 uint8_t *types, size_t max);

#endif
