/*
 * Segment framing and the fixed records (segment header, gap), shared by
 * the journal writer and its readers.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "journal_format.h"
#include "receipt.h"

static void
wid_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t) (v >> 24);
    p[1] = (uint8_t) (v >> 16);
    p[2] = (uint8_t) (v >> 8);
    p[3] = (uint8_t) v;
}


static uint32_t
wid_rd32(const uint8_t *p)
{
    return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16)
           | ((uint32_t) p[2] << 8) | p[3];
}


static void
wid_be64(uint8_t *p, uint64_t v)
{
    wid_be32(p, (uint32_t) (v >> 32));
    wid_be32(p + 4, (uint32_t) v);
}


static uint64_t
wid_rd64(const uint8_t *p)
{
    return ((uint64_t) wid_rd32(p) << 32) | wid_rd32(p + 4);
}


void
wid_frame_seal(uint8_t *frame, uint8_t type, uint32_t len)
{
    wid_be32(frame + 4, len);
    frame[8] = type;
    wid_be32(frame, wid_crc32c(0, frame + 4, 5 + (size_t) len));
}


wid_reason_t
wid_frame_parse(const uint8_t *buf, uint64_t size, uint64_t off, wid_frame *f)
{
    uint32_t len;

    if (off > size || size - off < WID_FRAME_HDR) {
        return WID_R_JOURNAL_TORN_TAIL;
    }
    len = wid_rd32(buf + off + 4);
    if (len > WID_FRAME_MAX || buf[off + 8] < WID_REC_SEGMENT
        || buf[off + 8] > WID_REC_MAX)
    {
        /* Could still be a partly written header: the caller decides. */
        return WID_R_JOURNAL_FRAME_MALFORMED;
    }
    if (size - off - WID_FRAME_HDR < len) {
        return WID_R_JOURNAL_TORN_TAIL;
    }
    if (wid_crc32c(0, buf + off + 4, 5 + (size_t) len) != wid_rd32(buf + off)) {
        return WID_R_JOURNAL_FRAME_CRC;
    }
    f->type = buf[off + 8];
    f->data = buf + off + WID_FRAME_HDR;
    f->len = len;
    f->offset = off;
    f->next = off + WID_FRAME_HDR + len;
    return WID_OK;
}


int
wid_frame_find(const uint8_t *buf, uint64_t size, uint64_t from,
               uint64_t *budget, wid_frame *f)
{
    uint64_t o;
    uint32_t len;

    for (o = from; o + WID_FRAME_HDR <= size; o++) {
        len = wid_rd32(buf + o + 4);
        if (len > WID_FRAME_MAX || buf[o + 8] < WID_REC_SEGMENT
            || buf[o + 8] > WID_REC_MAX || size - o - WID_FRAME_HDR < len)
        {
            continue;
        }
        /*
         * Bytes crafted so that every offset looks like a frame header
         * would make the search quadratic: checksumming is bounded.  A
         * frame found is not charged (the caller moves past it, so that
         * work is linear); a candidate that is no frame is.  The one at
         * from (where a frame follows the one before) is always tried.
         */
        if (o != from && *budget < (uint64_t) len + 5) {
            return -1;
        }
        if (wid_crc32c(0, buf + o + 4, 5 + (size_t) len) == wid_rd32(buf + o)) {
            f->type = buf[o + 8];
            f->data = buf + o + WID_FRAME_HDR;
            f->len = len;
            f->offset = o;
            f->next = o + WID_FRAME_HDR + len;
            return 1;
        }
        *budget -= *budget < (uint64_t) len + 5 ? *budget
                                                 : (uint64_t) len + 5;
    }
    return 0;
}


int
wid_frame_any_after(const uint8_t *buf, uint64_t size, uint64_t from)
{
    uint64_t  budget = WID_FRAME_SCAN_BUDGET;
    wid_frame f;

    /*
     * Past the budget, answer "there may be a frame": the damage is then
     * reported (and left in place) as damage, never cut off as a torn
     * write.
     */
    return wid_frame_find(buf, size, from, &budget, &f) != 0;
}


int
wid_frame_torn(const uint8_t *buf, uint64_t size, uint64_t off,
               wid_reason_t rc)
{
    uint64_t z = size;
    uint32_t len;

    /* z: where the zeros that run to the end of the file start. */
    while (z > off && buf[z - 1] == 0) {
        z--;
    }
    if (rc != WID_R_JOURNAL_TORN_TAIL && z > off) {
        /*
         * A power loss zero-fills the end of a file from a block
         * boundary, usually inside the last frame.  That frame is torn
         * if the zeros reach into its header, or its header (intact,
         * plausible) says it runs into them.  A frame that ends before
         * the zeros was written whole: a bad CRC there is damage.
         */
        if (z - off >= WID_FRAME_HDR) {
            len = wid_rd32(buf + off + 4);
            if (len > WID_FRAME_MAX || buf[off + 8] < WID_REC_SEGMENT
                || buf[off + 8] > WID_REC_MAX
                || off + WID_FRAME_HDR + len <= z)
            {
                return 0;
            }
        }
    }
    return !wid_frame_any_after(buf, size, off + 1);
}


static size_t
wid_put_str(uint8_t *p, const char *s)
{
    size_t n = strlen(s);

    p[0] = (uint8_t) (n >> 8);
    p[1] = (uint8_t) n;
    memcpy(p + 2, s, n);
    return 2 + n;
}


/* Read a u16-prefixed string into out (bounded by max). */
static int
wid_get_str(const uint8_t **p, const uint8_t *end, char *out, size_t max)
{
    size_t n, i;

    if (end - *p < 2) {
        return -1;
    }
    n = ((size_t) (*p)[0] << 8) | (*p)[1];
    if (n == 0 || n > max || (size_t) (end - *p - 2) < n) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if ((*p)[2 + i] < 0x20 || (*p)[2 + i] == 0x7f) {
            return -1;
        }
    }
    memcpy(out, *p + 2, n);
    out[n] = '\0';
    *p += 2 + n;
    return 0;
}


size_t
wid_seg_header_encode(const wid_seg_header *h, uint8_t *buf, size_t cap)
{
    uint8_t *p = buf;

    if (cap < 8 + 8 + 4 + 8 + 8 + 4 + WID_WRITER_MAX + WID_ORIGIN_MAX) {
        return 0;
    }
    memcpy(p, WID_SEG_MAGIC, 8);
    wid_be64(p + 8, h->segment);
    wid_be32(p + 16, h->epoch);
    wid_be64(p + 20, h->first_seq);
    wid_be64(p + 28, h->epoch_start_seq);
    p += 36;
    p += wid_put_str(p, h->writer);
    p += wid_put_str(p, h->origin);
    return (size_t) (p - buf);
}


wid_reason_t
wid_seg_header_decode(const uint8_t *d, size_t len, wid_seg_header *h)
{
    const uint8_t *p, *end = d + len;

    memset(h, 0, sizeof(*h));
    if (len < 36 || memcmp(d, WID_SEG_MAGIC, 8) != 0) {
        return WID_R_JOURNAL_SEGMENT_HEADER;
    }
    p = d + 36;
    h->segment = wid_rd64(d + 8);
    h->epoch = wid_rd32(d + 16);
    h->first_seq = wid_rd64(d + 20);
    h->epoch_start_seq = wid_rd64(d + 28);
    if (wid_get_str(&p, end, h->writer, WID_WRITER_MAX) != 0
        || wid_get_str(&p, end, h->origin, WID_ORIGIN_MAX) != 0
        || p != end || h->epoch_start_seq > h->first_seq)
    {
        return WID_R_JOURNAL_SEGMENT_HEADER;
    }
    return WID_OK;
}


size_t
wid_gap_encode(const wid_gap_record *g, uint8_t *buf, size_t cap)
{
    uint8_t *p = buf;

    if (cap < 8 + 4 + 8 * 4 + 4 + 2 + WID_WRITER_MAX) {
        return 0;
    }
    memcpy(p, WID_GAP_MAGIC, 8);
    wid_be32(p + 8, g->new_epoch);
    wid_be64(p + 12, g->seq);
    wid_be64(p + 20, g->damaged_segment);
    wid_be64(p + 28, g->damaged_offset);
    wid_be64(p + 36, g->last_good_seq_end);
    /* A stable number: the enum's moves when codes are added. */
    wid_be32(p + 44, wid_reason_wire_id((wid_reason_t) g->reason));
    p += 48;
    p += wid_put_str(p, g->writer);
    return (size_t) (p - buf);
}


wid_reason_t
wid_gap_decode(const uint8_t *d, size_t len, wid_gap_record *g)
{
    const uint8_t *p, *end = d + len;

    memset(g, 0, sizeof(*g));
    if (len < 48 || memcmp(d, WID_GAP_MAGIC, 8) != 0) {
        return WID_R_RECEIPT_MALFORMED;
    }
    p = d + 48;
    g->new_epoch = wid_rd32(d + 8);
    g->seq = wid_rd64(d + 12);
    g->damaged_segment = wid_rd64(d + 20);
    g->damaged_offset = wid_rd64(d + 28);
    g->last_good_seq_end = wid_rd64(d + 36);
    g->reason = wid_reason_from_wire_id(wid_rd32(d + 44));
    if (g->reason == WID_R__COUNT) {
        /* A code this build does not know (or a log of an older one). */
        g->reason = WID_R_JOURNAL_GAP;
    }
    if (wid_get_str(&p, end, g->writer, WID_WRITER_MAX) != 0 || p != end) {
        return WID_R_RECEIPT_MALFORMED;
    }
    return WID_OK;
}


size_t
wid_recovery_encode(const wid_recovery_record *r, uint8_t *buf, size_t cap)
{
    uint8_t *p = buf;

    if (cap < 8 + 4 + 8 * 6 + 2 + WID_WRITER_MAX) {
        return 0;
    }
    memcpy(p, WID_RCV_MAGIC, 8);
    wid_be32(p + 8, r->epoch);
    wid_be64(p + 12, r->seq);
    wid_be64(p + 20, r->signed_size);
    wid_be64(p + 28, r->adopted);
    wid_be64(p + 36, r->torn_segment);
    wid_be64(p + 44, r->torn_offset);
    wid_be64(p + 52, r->torn_bytes);
    p += 60;
    p += wid_put_str(p, r->writer);
    return (size_t) (p - buf);
}


wid_reason_t
wid_recovery_decode(const uint8_t *d, size_t len, wid_recovery_record *r)
{
    const uint8_t *p, *end = d + len;

    memset(r, 0, sizeof(*r));
    if (len < 60 || memcmp(d, WID_RCV_MAGIC, 8) != 0) {
        return WID_R_RECEIPT_MALFORMED;
    }
    p = d + 60;
    r->epoch = wid_rd32(d + 8);
    r->seq = wid_rd64(d + 12);
    r->signed_size = wid_rd64(d + 20);
    r->adopted = wid_rd64(d + 28);
    r->torn_segment = wid_rd64(d + 36);
    r->torn_offset = wid_rd64(d + 44);
    r->torn_bytes = wid_rd64(d + 52);
    if (wid_get_str(&p, end, r->writer, WID_WRITER_MAX) != 0 || p != end) {
        return WID_R_RECEIPT_MALFORMED;
    }
    return WID_OK;
}


int
wid_leaf_seq(uint8_t type, const uint8_t *d, size_t len, uint64_t *seq)
{
    if (type == WID_REC_RECEIPT) {
        return wid_receipt_seq(d, len, seq);
    }
    if ((type == WID_REC_GAP || type == WID_REC_RECOVERY) && len >= 20) {
        *seq = wid_rd64(d + 12);
        return 0;
    }
    return -1;
}


static int
wid_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return x < y ? -1 : x > y;
}


/* "seg-" 16 digits ".wjl", nothing else. */
static int
wid_seg_name_parse(const char *name, uint64_t *segno)
{
    uint64_t v = 0;
    int      i;

    if (strlen(name) != WID_SEG_NAME_LEN || strncmp(name, "seg-", 4) != 0
        || strcmp(name + 20, ".wjl") != 0)
    {
        return -1;
    }
    for (i = 4; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return -1;
        }
        v = v * 10 + (uint64_t) (name[i] - '0');
    }
    *segno = v;
    return 0;
}


/*
 * Is a writer running on this log?  It holds an exclusive flock on
 * DIR/<writer>/lock for as long as it has the log open.  Probe with a
 * non-blocking shared lock, released at once (a writer opening just then
 * retries for a moment).  A missing or odd lock file means no writer.
 */
int
wid_writer_live(int dirfd)
{
    struct stat st;
    int         fd, live = 0;

    fd = openat(dirfd, "lock", O_RDONLY | O_NOFOLLOW | O_NONBLOCK
                | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
            (void) flock(fd, LOCK_UN);
        } else {
            live = errno == EWOULDBLOCK;
        }
    }
    close(fd);
    return live;
}


wid_reason_t
wid_writer_open_read(const char *dir, const char *writer, int *dirfd,
                     uint64_t **segs, size_t *n)
{
    wid_reason_t  rc;
    int           top;

    top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (top < 0) {
        return WID_R_INTERNAL_IO;
    }
    *dirfd = openat(top, writer, O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                    | O_CLOEXEC);
    close(top);
    if (*dirfd < 0) {
        return WID_R_INTERNAL_IO;
    }
    rc = wid_seg_list(*dirfd, segs, n);
    if (rc != WID_OK) {
        close(*dirfd);
        *dirfd = -1;
    }
    return rc;
}


wid_reason_t
wid_seg_list(int writer_dirfd, uint64_t **out, size_t *n)
{
    DIR           *d;
    struct dirent *e;
    uint64_t      *v = NULL, *nv, segno;
    size_t         cnt = 0, cap = 0;
    int            fd;

    *out = NULL;
    *n = 0;
    fd = openat(writer_dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || (d = fdopendir(fd)) == NULL) {
        if (fd >= 0) {
            close(fd);
        }
        return WID_R_INTERNAL_IO;
    }
    while ((e = readdir(d)) != NULL) {
        if (wid_seg_name_parse(e->d_name, &segno) != 0) {
            continue;
        }
        if (cnt == cap) {
            cap = cap ? cap * 2 : 16;
            nv = realloc(v, cap * sizeof(*v));
            if (nv == NULL) {
                free(v);
                closedir(d);
                return WID_R_INTERNAL_NOMEM;
            }
            v = nv;
        }
        v[cnt++] = segno;
    }
    closedir(d);
    if (cnt) {
        qsort(v, cnt, sizeof(*v), wid_u64_cmp);
    }
    *out = v;
    *n = cnt;
    return WID_OK;
}


wid_reason_t
wid_seg_map(int writer_dirfd, uint64_t segno, const uint8_t **map,
            uint64_t *size)
{
    char        name[WID_SEG_NAME_LEN + 1];
    struct stat st;
    void       *m;
    int         fd;

    *map = NULL;
    *size = 0;
    snprintf(name, sizeof(name), WID_SEG_NAME_FMT, (unsigned long long) segno);
    /* O_NONBLOCK: a FIFO named like a segment is refused below, not
     * waited on (verify, query and recovery all read through here). */
    fd = openat(writer_dirfd, name,
                O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        return WID_R_INTERNAL_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return WID_R_INTERNAL_IO;
    }
    if (st.st_size == 0) {
        close(fd);
        return WID_OK;
    }
    m = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED) {
        return WID_R_INTERNAL_IO;
    }
    (void) madvise(m, (size_t) st.st_size, MADV_SEQUENTIAL);
    *map = m;
    *size = (uint64_t) st.st_size;
    return WID_OK;
}


void
wid_seg_unmap(const uint8_t *map, uint64_t size)
{
    if (map) {
        munmap((void *) map, (size_t) size);
    }
}


static int
wid_str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


wid_reason_t
wid_journal_writers(const char *dir, char ***names, size_t *n)
{
    DIR           *d;
    struct dirent *e;
    struct stat    st;
    char         **v = NULL, **nv;
    size_t         cnt = 0, cap = 0;

    *names = NULL;
    *n = 0;
    d = opendir(dir);
    if (d == NULL) {
        return WID_R_INTERNAL_IO;
    }
    while ((e = readdir(d)) != NULL) {
        if (!wid_journal_writer_name_ok(e->d_name)
            || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0
            || !S_ISDIR(st.st_mode))
        {
            continue;
        }
        if (cnt == cap) {
            cap = cap ? cap * 2 : 8;
            nv = realloc(v, cap * sizeof(*v));
            if (nv == NULL) {
                wid_journal_writers_free(v, cnt);
                closedir(d);
                return WID_R_INTERNAL_NOMEM;
            }
            v = nv;
        }
        v[cnt] = strdup(e->d_name);
        if (v[cnt] == NULL) {
            wid_journal_writers_free(v, cnt);
            closedir(d);
            return WID_R_INTERNAL_NOMEM;
        }
        cnt++;
    }
    closedir(d);
    if (cnt) {
        qsort(v, cnt, sizeof(*v), wid_str_cmp);
    }
    *names = v;
    *n = cnt;
    return WID_OK;
}


void
wid_journal_writers_free(char **names, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(names[i]);
    }
    free(names);
}
