/*
 * Small helpers for reading and wiping files and buffers, shared by the
 * CLI, the SSH helper and tests.
 */
#ifndef WID_BYTES_H
#define WID_BYTES_H

#include <stddef.h>
#include <sys/stat.h>

#include "reason.h"

/* Upper bound for any file wid reads whole (bundles, policies, keys). */
#define WID_FILE_MAX (16u * 1024u * 1024u)

/*
 * Read a whole regular file into a fresh NUL-terminated buffer.
 * The caller frees *out.  Refuses files larger than max.
 */
wid_reason_t wid_read_file(const char *path, size_t max, unsigned char **out,
                           size_t *out_len);

/*
 * Open a regular file for reading, with extra open flags (O_NOFOLLOW).
 * O_NONBLOCK: a FIFO in the file's place is refused at once instead of
 * waiting for a writer (regular files ignore the flag).  The descriptor
 * (st filled when not NULL), or -1 with errno set: the open's, or
 * EINVAL when the path is not a regular file.  For files read as a
 * stream (an index that grows); whole files go through wid_read_file.
 */
int wid_open_regular(const char *path, int flags, struct stat *st);

/*
 * Write all of buf to fd, retrying short writes and EINTR; 0 or -1 (errno
 * set by write, or EIO for a zero-length write).
 */
int wid_fd_write_all(int fd, const void *buf, size_t len);

/* Lowercase hex of len bytes into out (2*len+1 bytes, NUL-terminated). */
void wid_hex(const unsigned char *in, size_t len, char *out);

/*
 * 1 if the n bytes at a and b are equal, else 0, in a time that depends
 * on n only.  A word at a time: CRYPTO_memcmp and sodium_memcmp go byte
 * by byte, about 2,000 instructions for a bearer token that nginx
 * compares with a connection's kept token on every request.
 */
int wid_ct_equal(const void *a, const void *b, size_t n);

#endif
