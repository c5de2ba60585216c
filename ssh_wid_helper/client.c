#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "issuer.h"


wid_reason_t
ssh_socket_call(const char *path, const char *req, uint64_t timeout_ms,
                char **resp)
{
    struct timeval     tv;
    struct sockaddr_un sa;
    unsigned char      hdr[4];
    size_t             len = strlen(req), off;
    uint32_t           rlen;
    ssize_t            n;
    char              *buf;
    int                fd;

    *resp = NULL;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        return WID_R_INTERNAL_IO;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (fd >= 0 && timeout_ms > 0) {
        tv.tv_sec = (time_t) (timeout_ms / 1000);
        tv.tv_usec = (suseconds_t) (timeout_ms % 1000) * 1000;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0
            || setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
        {
            close(fd);
            return WID_R_INTERNAL_IO;
        }
    }
    if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0) {
        if (fd >= 0) {
            close(fd);
        }
        return WID_R_INTERNAL_IO;
    }
    hdr[0] = (unsigned char) (len >> 24);
    hdr[1] = (unsigned char) (len >> 16);
    hdr[2] = (unsigned char) (len >> 8);
    hdr[3] = (unsigned char) len;
    if (send(fd, hdr, 4, MSG_NOSIGNAL) != 4) {
        close(fd);
        return WID_R_INTERNAL_IO;
    }
    for (off = 0; off < len; off += (size_t) n) {
        n = send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (n <= 0) {
            close(fd);
            return WID_R_INTERNAL_IO;
        }
    }
    for (off = 0; off < 4; off += (size_t) n) {
        n = recv(fd, hdr + off, 4 - off, 0);
        if (n <= 0) {
            close(fd);
            return WID_R_INTERNAL_IO;
        }
    }
    rlen = (uint32_t) hdr[0] << 24 | (uint32_t) hdr[1] << 16
           | (uint32_t) hdr[2] << 8 | hdr[3];
    /* The daemon's answers, not requests: one can carry 256 principals
     * twice (SSH_ANSWER_MAX). */
    if (rlen > SSH_ANSWER_MAX || (buf = malloc(rlen + 1)) == NULL) {
        close(fd);
        return WID_R_INTERNAL_IO;
    }
    for (off = 0; off < rlen; off += (size_t) n) {
        n = recv(fd, buf + off, rlen - off, 0);
        if (n <= 0) {
            free(buf);
            close(fd);
            return WID_R_INTERNAL_IO;
        }
    }
    buf[rlen] = '\0';
    close(fd);
    *resp = buf;
    return WID_OK;
}
