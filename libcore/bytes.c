#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bytes.h"

int
wid_open_regular(const char *path, int flags, struct stat *st)
{
    struct stat  sb;
    int          fd, err;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | flags);
    if (fd < 0) {
        return -1;
    }
    err = fstat(fd, &sb) != 0 ? errno : !S_ISREG(sb.st_mode) ? EINVAL : 0;
    if (err != 0) {
        close(fd);
        errno = err;
        return -1;
    }
    if (st != NULL) {
        *st = sb;
    }
    return fd;
}


wid_reason_t
wid_read_file(const char *path, size_t max, unsigned char **out,
              size_t *out_len)
{
    struct stat  st;
    unsigned char *buf;
    size_t       len = 0;
    ssize_t      n;
    int          fd;

    *out = NULL;
    *out_len = 0;

    /* A FIFO in the file's place must not hang us (nginx's event loop
     * included): wid_open_regular refuses it at once. */
    fd = wid_open_regular(path, 0, &st);
    if (fd < 0) {
        return WID_R_INTERNAL_IO;
    }
    if ((unsigned long long) st.st_size > max) {
        close(fd);
        return WID_R_INTERNAL_IO;
    }

    /* +1 for the terminating NUL; st_size <= max so this cannot wrap. */
    buf = malloc((size_t) st.st_size + 1);
    if (buf == NULL) {
        close(fd);
        return WID_R_INTERNAL_NOMEM;
    }

    /* The file may change under us: never read past the allocation. */
    while (len < (size_t) st.st_size) {
        n = read(fd, buf + len, (size_t) st.st_size - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        len += (size_t) n;
    }
    close(fd);

    if (len != (size_t) st.st_size) {
        free(buf);
        return WID_R_INTERNAL_IO;
    }

    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return WID_OK;
}


int
wid_fd_write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    ssize_t              n;

    while (len > 0) {
        n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = EIO;
            }
            return -1;
        }
        p += n;
        len -= (size_t) n;
    }
    return 0;
}


int
wid_ct_equal(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    uint64_t             u, v, diff = 0;
    size_t               i;

    /* No early exit: every byte is read and folded into diff. */
    for (i = 0; n - i >= 8; i += 8) {
        memcpy(&u, x + i, 8);
        memcpy(&v, y + i, 8);
        diff |= u ^ v;
    }
    for (; i < n; i++) {
        diff |= (uint64_t) (x[i] ^ y[i]);
    }
    /* 1 when diff is 0, without a data-dependent branch. */
    return (int) (1 & ((diff - 1) & ~diff) >> 63);
}


void
wid_hex(const unsigned char *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    size_t            i;

    for (i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0xf];
    }
    out[2 * len] = '\0';
}
