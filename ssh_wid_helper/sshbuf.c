#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sshbuf.h"

void
ssh_wbuf_init(ssh_wbuf *b, size_t max)
{
    memset(b, 0, sizeof(*b));
    b->max = (max == 0 || max > SSH_BUF_MAX) ? SSH_BUF_MAX : max;
}


void
ssh_wbuf_free(ssh_wbuf *b)
{
    if (b->data != NULL) {
        sodium_memzero(b->data, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}


/*
 * Grow by doubling; the old allocation is wiped before it is released
 * because buffers carry certificate bodies and, briefly, key material.
 */
static int
ssh_wbuf_reserve(ssh_wbuf *b, size_t n)
{
    unsigned char *nd;
    size_t         need, ncap;

    if (b->failed) {
        return -1;
    }
    if (n > b->max || b->len > b->max - n) {
        b->failed = 1;
        return -1;
    }
    need = b->len + n;
    if (need <= b->cap) {
        return 0;
    }
    ncap = b->cap ? b->cap : 256;
    while (ncap < need) {
        ncap = (ncap > b->max / 2) ? b->max : ncap * 2;
    }
    nd = malloc(ncap);
    if (nd == NULL) {
        b->failed = 1;
        return -1;
    }
    if (b->data != NULL) {
        memcpy(nd, b->data, b->len);
        sodium_memzero(b->data, b->cap);
        free(b->data);
    }
    b->data = nd;
    b->cap = ncap;
    return 0;
}


void
ssh_wbuf_put(ssh_wbuf *b, const void *p, size_t n)
{
    if (n == 0 || ssh_wbuf_reserve(b, n) != 0) {
        return;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}


void
ssh_wbuf_put_u8(ssh_wbuf *b, uint8_t v)
{
    ssh_wbuf_put(b, &v, 1);
}


void
ssh_wbuf_put_u32(ssh_wbuf *b, uint32_t v)
{
    unsigned char x[4];

    x[0] = (unsigned char) (v >> 24);
    x[1] = (unsigned char) (v >> 16);
    x[2] = (unsigned char) (v >> 8);
    x[3] = (unsigned char) v;
    ssh_wbuf_put(b, x, 4);
}


void
ssh_wbuf_put_u64(ssh_wbuf *b, uint64_t v)
{
    ssh_wbuf_put_u32(b, (uint32_t) (v >> 32));
    ssh_wbuf_put_u32(b, (uint32_t) v);
}


void
ssh_wbuf_put_string(ssh_wbuf *b, const void *p, size_t n)
{
    if (n > UINT32_MAX) {
        b->failed = 1;
        return;
    }
    ssh_wbuf_put_u32(b, (uint32_t) n);
    ssh_wbuf_put(b, p, n);
}


void
ssh_wbuf_put_cstring(ssh_wbuf *b, const char *s)
{
    ssh_wbuf_put_string(b, s, strlen(s));
}


void
ssh_wbuf_put_wbuf(ssh_wbuf *b, const ssh_wbuf *inner)
{
    if (inner->failed) {
        b->failed = 1;
        return;
    }
    ssh_wbuf_put_string(b, inner->data, inner->len);
}


int
ssh_wbuf_error(const ssh_wbuf *b)
{
    return b->failed ? -1 : 0;
}


void
ssh_rbuf_init(ssh_rbuf *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
}


static int
ssh_rbuf_take(ssh_rbuf *r, size_t n, const unsigned char **p)
{
    if (n > r->len) {
        return -1;
    }
    *p = r->p;
    r->p += n;
    r->len -= n;
    return 0;
}


int
ssh_rbuf_get_u8(ssh_rbuf *r, uint8_t *v)
{
    const unsigned char *p;

    if (ssh_rbuf_take(r, 1, &p) != 0) {
        return -1;
    }
    *v = p[0];
    return 0;
}


int
ssh_rbuf_get_u32(ssh_rbuf *r, uint32_t *v)
{
    const unsigned char *p;

    if (ssh_rbuf_take(r, 4, &p) != 0) {
        return -1;
    }
    *v = ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
         | ((uint32_t) p[2] << 8) | (uint32_t) p[3];
    return 0;
}


int
ssh_rbuf_get_u64(ssh_rbuf *r, uint64_t *v)
{
    uint32_t hi, lo;

    if (r->len < 8) {
        return -1;
    }
    (void) ssh_rbuf_get_u32(r, &hi);
    (void) ssh_rbuf_get_u32(r, &lo);
    *v = ((uint64_t) hi << 32) | lo;
    return 0;
}


int
ssh_rbuf_get_string(ssh_rbuf *r, const unsigned char **p, size_t *n)
{
    ssh_rbuf save = *r;
    uint32_t len;

    if (ssh_rbuf_get_u32(r, &len) != 0 || ssh_rbuf_take(r, len, p) != 0) {
        *r = save;
        return -1;
    }
    *n = len;
    return 0;
}


int
ssh_rbuf_get_sub(ssh_rbuf *r, ssh_rbuf *sub)
{
    const unsigned char *p;
    size_t               n;

    if (ssh_rbuf_get_string(r, &p, &n) != 0) {
        return -1;
    }
    ssh_rbuf_init(sub, p, n);
    return 0;
}


int
ssh_rbuf_get_cstring(ssh_rbuf *r, size_t max, char **out)
{
    ssh_rbuf             save = *r;
    const unsigned char *p;
    size_t               n;
    char                *s;

    *out = NULL;
    if (ssh_rbuf_get_string(r, &p, &n) != 0) {
        return -1;
    }
    if (n > max || memchr(p, '\0', n) != NULL) {
        *r = save;
        return -1;
    }
    s = malloc(n + 1);
    if (s == NULL) {
        *r = save;
        return -1;
    }
    memcpy(s, p, n);
    s[n] = '\0';
    *out = s;
    return 0;
}


int
ssh_rbuf_expect_cstring(ssh_rbuf *r, const char *s)
{
    ssh_rbuf             save = *r;
    const unsigned char *p;
    size_t               n;

    if (ssh_rbuf_get_string(r, &p, &n) != 0) {
        return -1;
    }
    if (n != strlen(s) || memcmp(p, s, n) != 0) {
        *r = save;
        return -1;
    }
    return 0;
}
