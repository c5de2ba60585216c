/*
 * Bounded SSH wire-format (RFC 4251 section 5) writer and reader.
 *
 * The writer grows up to a fixed cap and remembers the first error, so
 * a sequence of puts needs one check at the end.  The reader never
 * copies: strings are returned as pointers into the input, and every
 * length is checked against what is left before it is used.
 */
#ifndef SSH_WID_SSHBUF_H
#define SSH_WID_SSHBUF_H

#include <stddef.h>
#include <stdint.h>

/* Nothing wid writes or parses on the SSH side is larger than this. */
#define SSH_BUF_MAX  (16u * 1024u * 1024u)

typedef struct {
    unsigned char *data;
    size_t         len;
    size_t         cap;
    size_t         max;     /* hard limit on len */
    int            failed;  /* sticky: allocation or limit error */
} ssh_wbuf;

typedef struct {
    const unsigned char *p;
    size_t               len;   /* bytes left */
} ssh_rbuf;

/* Writer.  max 0 means SSH_BUF_MAX. */
void ssh_wbuf_init(ssh_wbuf *b, size_t max);
/* Wipe and release the contents (buffers may hold signed or secret data). */
void ssh_wbuf_free(ssh_wbuf *b);
void ssh_wbuf_put(ssh_wbuf *b, const void *p, size_t n);
void ssh_wbuf_put_u8(ssh_wbuf *b, uint8_t v);
void ssh_wbuf_put_u32(ssh_wbuf *b, uint32_t v);
void ssh_wbuf_put_u64(ssh_wbuf *b, uint64_t v);
void ssh_wbuf_put_string(ssh_wbuf *b, const void *p, size_t n);
void ssh_wbuf_put_cstring(ssh_wbuf *b, const char *s);
/* string whose contents are another writer's bytes */
void ssh_wbuf_put_wbuf(ssh_wbuf *b, const ssh_wbuf *inner);
/* 0 when every put so far succeeded */
int ssh_wbuf_error(const ssh_wbuf *b);

/* Reader.  Each get returns 0 on success, -1 when the input is short. */
void ssh_rbuf_init(ssh_rbuf *r, const void *p, size_t len);
int ssh_rbuf_get_u8(ssh_rbuf *r, uint8_t *v);
int ssh_rbuf_get_u32(ssh_rbuf *r, uint32_t *v);
int ssh_rbuf_get_u64(ssh_rbuf *r, uint64_t *v);
/* A string as a pointer into the input (may contain any byte). */
int ssh_rbuf_get_string(ssh_rbuf *r, const unsigned char **p, size_t *n);
/* A string as a nested reader. */
int ssh_rbuf_get_sub(ssh_rbuf *r, ssh_rbuf *sub);
/*
 * A text string: no embedded NUL, at most max bytes.  Returns a fresh
 * NUL-terminated copy in *out (caller frees); -1 on short input, NUL or
 * length above max.
 */
int ssh_rbuf_get_cstring(ssh_rbuf *r, size_t max, char **out);
/* A string equal to the given text (for fixed type names). */
int ssh_rbuf_expect_cstring(ssh_rbuf *r, const char *s);

#endif
