/*
 * Journal writer: open/recover, append, checkpoints, rotation, fsync.
 *
 * The append path is: encode the receipt (in place at the end of the
 * write buffer, or into a reused one), hash it (RFC 6962 leaf), frame it
 * (CRC-32C), write(2) with O_APPEND (once per 64 KiB when buffered),
 * extend the Merkle frontier.  No lock, no allocation, no signature:
 * checkpoints (one Ed25519 signature each) come every N records or T ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "bytes.h"
#include "checkpoint.h"
#include "journal.h"
#include "journal_format.h"

#define WID_DEF_CP_RECORDS   1000
#define WID_DEF_CP_MS        1000
#define WID_DEF_SEG_BYTES    (64ull * 1024 * 1024)
#define WID_DEF_SYNC_MS      200
#define WID_MIN_SEG_BYTES    4096
#define WID_MAX_PENDING      16
/* A damaged tail longer than this is not treated as a torn last write. */
#define WID_TORN_SCAN_MAX    (4u * 1024 * 1024)
/*
 * Bytes checksummed in vain while looking for frames after damage, for
 * one open (see wid_recover_resync): a few milliseconds of CRC-32C.
 */
#define WID_RESYNC_BUDGET    (64u * 1024 * 1024)
/*
 * Recovery adopts unsigned records only if their times span at most
 * checkpoint_every_ms plus this (late timer ticks, a busy event loop).
 */
#define WID_RECOVER_MARGIN_MS 10000
/* Taking the writer lock: tries and pause (see wid_journal_open). */
#define WID_LOCK_TRIES       20
#define WID_LOCK_RETRY_US    1000
/* Append buffer of fsync=interval|never: one write(2) per 64 KiB. */
#define WID_WBUF_SIZE        (64u * 1024)

struct wid_journal {
    int                  dirfd;
    int                  lockfd;
    int                  fd;
    uint64_t             seg_no;
    uint64_t             seg_size;
    char                 writer[WID_WRITER_MAX + 1];
    char                 origin[WID_ORIGIN_MAX + 1];
    char                 key_name[WID_KEY_NAME_MAX + 1];
    unsigned char       *sk;            /* sodium_malloc'd, read-only */
    uint8_t              pk[WID_ED25519_PK_LEN];  /* checks old checkpoints */
    wid_journal_options  opt;
    uint32_t             epoch;
    uint64_t             epoch_start_seq;
    uint64_t             next_seq;
    wid_merkle_frontier  tree;
    uint64_t             cp_size;
    int                  have_cp;
    uint64_t             cp_ms;
    uint64_t             sync_ms;
    int                  dirty;
    int                  dir_dirty;
    int                  pending[WID_MAX_PENDING];
    size_t               npending;
    int                  failed;
    /* wbuf holds frames write(2) refused; see wid_journal_held */
    int                  stalled;
    uint64_t             disk_size;     /* seg_size minus unflushed bytes */
    size_t               wlen;          /* bytes waiting in wbuf */
    uint8_t              wbuf[WID_WBUF_SIZE];
    uint8_t              buf[WID_FRAME_HDR + WID_FRAME_MAX];
};


int
wid_journal_writer_name_ok(const char *name)
{
    size_t i, n = name ? strlen(name) : 0;

    if (n == 0 || n > WID_WRITER_MAX || name[0] == '.') {
        return 0;
    }
    for (i = 0; i < n; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
        {
            return 0;
        }
    }
    return 1;
}


const char *
wid_journal_origin(const wid_journal *j)
{
    return j->origin;
}


/*
 * Hand the buffered frames to the kernel.  If that fails (a full disk)
 * they are records the caller was told are recorded: they stay in the
 * buffer, the segment is cut back to what is whole, and the journal
 * stalls: appends are refused and wid_journal_tick tries again.  Only a
 * segment that cannot be cut back closes the journal for good.
 */
static wid_reason_t
wid_journal_flush(wid_journal *j)
{
    if (j->wlen == 0) {
        j->stalled = 0;
        return WID_OK;
    }
    if (j->fd < 0 || wid_fd_write_all(j->fd, j->wbuf, j->wlen) != 0) {
        if (j->fd >= 0 && ftruncate(j->fd, (off_t) j->disk_size) != 0) {
            j->failed = 1;
        }
        j->stalled = 1;
        return WID_R_INTERNAL_IO;
    }
    j->disk_size += j->wlen;
    j->wlen = 0;
    j->stalled = 0;
    return WID_OK;
}


/* A sealed frame of n bytes now ends the write buffer. */
static void
wid_journal_buffered(wid_journal *j, size_t n)
{
    j->wlen += n;
    j->seg_size += n;
    j->dirty = 1;
}


/*
 * Write one frame whose data is already at j->buf + WID_FRAME_HDR.  With
 * fsync=always (or a frame too big to buffer) it goes straight to the
 * file; on failure the segment is cut back so no partial frame stays
 * behind, and if even that fails the journal refuses further writes.
 */
static wid_reason_t
wid_journal_put(wid_journal *j, uint8_t type, uint32_t len)
{
    size_t       n = WID_FRAME_HDR + (size_t) len;
    wid_reason_t rc;

    wid_frame_seal(j->buf, type, len);
    if (j->opt.fsync != WID_FSYNC_ALWAYS && n <= WID_WBUF_SIZE) {
        if (j->wlen + n > WID_WBUF_SIZE) {
            rc = wid_journal_flush(j);
            if (rc != WID_OK) {
                return rc;
            }
        }
        memcpy(j->wbuf + j->wlen, j->buf, n);
        wid_journal_buffered(j, n);
        return WID_OK;
    }
    rc = wid_journal_flush(j);
    if (rc != WID_OK) {
        return rc;
    }
    if (wid_fd_write_all(j->fd, j->buf, n) != 0) {
        if (ftruncate(j->fd, (off_t) j->disk_size) != 0) {
            j->failed = 1;
        }
        return WID_R_INTERNAL_IO;
    }
    j->seg_size += n;
    j->disk_size += n;
    j->dirty = 1;
    return WID_OK;
}


/*
 * Encode a receipt as the next frame.  Buffered journals encode it in
 * place at the end of the write buffer (no copy afterwards) when it fits
 * there; otherwise, and with fsync=always, it goes through j->buf.
 * *data and *len: the encoded receipt; *in_place: which of the two.
 */
static wid_reason_t
wid_journal_encode_to(wid_journal *j, const wid_receipt_head *h,
                      const wid_receipt *r, uint64_t seq, uint8_t *data,
                      size_t cap, size_t *len)
{
    return h != NULL ? wid_receipt_encode_after(h, r, seq, data, cap, len)
                     : wid_receipt_encode(r, j->writer, seq, data, cap, len);
}


static wid_reason_t
wid_journal_encode_receipt(wid_journal *j, const wid_receipt_head *h,
                           const wid_receipt *r, uint64_t seq,
                           uint8_t **data, size_t *len, int *in_place)
{
    size_t       room;
    wid_reason_t rc;

    *in_place = 0;
    if (j->opt.fsync != WID_FSYNC_ALWAYS
        && WID_WBUF_SIZE - j->wlen > WID_FRAME_HDR)
    {
        room = WID_WBUF_SIZE - j->wlen - WID_FRAME_HDR;
        *data = j->wbuf + j->wlen + WID_FRAME_HDR;
        rc = wid_journal_encode_to(j, h, r, seq, *data, room, len);
        if (rc != WID_R_INTERNAL_NOMEM) {
            /* Encoded, or invalid whatever the room: nothing was kept. */
            *in_place = rc == WID_OK;
            return rc;
        }
    }
    *data = j->buf + WID_FRAME_HDR;
    return wid_journal_encode_to(j, h, r, seq, *data, WID_FRAME_MAX, len);
}


static void
wid_journal_set_origin(wid_journal *j, const char *prefix)
{
    snprintf(j->origin, sizeof(j->origin), "%s/%s/%u", prefix, j->writer,
             (unsigned) j->epoch);
}


/*
 * Remove the current segment, of which nothing reached the disk (its
 * start could not be written): a retry creates it again under the same
 * number, and no empty file is left per attempt.
 */
static void
wid_journal_drop_segment(wid_journal *j)
{
    char name[WID_SEG_NAME_LEN + 1];

    snprintf(name, sizeof(name), WID_SEG_NAME_FMT,
             (unsigned long long) j->seg_no);
    (void) unlinkat(j->dirfd, name, 0);
    close(j->fd);
    j->fd = -1;
}


/*
 * Held by a full disk: frames a write refused wait in the buffer, or the
 * next segment could not be created (no current one).  Appends and
 * checkpoints are refused until wid_journal_tick gets past it.
 */
static int
wid_journal_held(const wid_journal *j)
{
    return j->stalled || j->fd < 0;
}


/* Create segment seg_no and write its header. */
static wid_reason_t
wid_journal_new_segment(wid_journal *j)
{
    char           name[WID_SEG_NAME_LEN + 1];
    wid_seg_header h;
    size_t         n;

    snprintf(name, sizeof(name), WID_SEG_NAME_FMT,
             (unsigned long long) j->seg_no);
    j->fd = openat(j->dirfd, name,
                   O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW
                   | O_CLOEXEC, 0640);
    if (j->fd < 0) {
        return WID_R_INTERNAL_IO;
    }
    j->seg_size = 0;
    j->disk_size = 0;
    j->dir_dirty = 1;
    memset(&h, 0, sizeof(h));
    h.segment = j->seg_no;
    h.epoch = j->epoch;
    h.first_seq = j->next_seq;
    h.epoch_start_seq = j->epoch_start_seq;
    memcpy(h.writer, j->writer, sizeof(h.writer));
    memcpy(h.origin, j->origin, sizeof(h.origin));
    n = wid_seg_header_encode(&h, j->buf + WID_FRAME_HDR, WID_FRAME_MAX);
    if (wid_journal_put(j, WID_REC_SEGMENT, (uint32_t) n) != WID_OK) {
        /* Not a segment without its header. */
        wid_journal_drop_segment(j);
        return WID_R_INTERNAL_IO;
    }
    return WID_OK;
}


/*
 * Start the segment after seg_no.  If it cannot be created (no inode,
 * no space for its header) the number is not used up: the journal
 * stalls without a segment and wid_journal_tick tries again, so that no
 * receipt is ever buffered ahead of its segment's header.
 */
static wid_reason_t
wid_journal_next_segment(wid_journal *j)
{
    if (j->seg_no == UINT64_MAX) {
        j->failed = 1;
        return WID_R_INTERNAL_IO;
    }
    j->seg_no++;
    if (wid_journal_new_segment(j) != WID_OK) {
        j->seg_no--;
        return WID_R_INTERNAL_IO;
    }
    return WID_OK;
}


static wid_reason_t
wid_journal_rotate(wid_journal *j, int keep_old_for_sync)
{
    if (j->fd >= 0 && wid_journal_flush(j) != WID_OK) {
        return WID_R_INTERNAL_IO;
    }
    if (j->fd >= 0) {
        if (keep_old_for_sync && j->opt.fsync != WID_FSYNC_NEVER) {
            if (j->npending == WID_MAX_PENDING) {
                /* Rare: sync is far behind; do it now rather than lose it. */
                (void) fdatasync(j->pending[0]);
                close(j->pending[0]);
                memmove(j->pending, j->pending + 1,
                        (WID_MAX_PENDING - 1) * sizeof(int));
                j->npending--;
            }
            j->pending[j->npending++] = j->fd;
        } else {
            close(j->fd);
        }
        j->fd = -1;
    }
    return wid_journal_next_segment(j);
}


static wid_reason_t
wid_journal_write_checkpoint(wid_journal *j, uint64_t now_ms)
{
    wid_checkpoint c;
    size_t         len;
    wid_reason_t   rc;

    memset(&c, 0, sizeof(c));
    memcpy(c.origin, j->origin, sizeof(c.origin));
    c.size = j->tree.size;
    wid_merkle_frontier_root(&j->tree, c.root);
    rc = wid_checkpoint_sign(&c, j->key_name, j->sk,
                             (char *) j->buf + WID_FRAME_HDR,
                             WID_CHECKPOINT_MAX, &len);
    if (rc != WID_OK) {
        return rc;
    }
    rc = wid_journal_put(j, WID_REC_CHECKPOINT, (uint32_t) len);
    if (rc != WID_OK) {
        return rc;
    }
    j->cp_size = j->tree.size;
    j->have_cp = 1;
    j->cp_ms = now_ms;
    return wid_journal_flush(j);
}


wid_reason_t
wid_journal_checkpoint(wid_journal *j, uint64_t now_ms)
{
    if (j->failed) {
        return WID_R_JOURNAL_CLOSED;
    }
    if (wid_journal_held(j)) {
        return WID_R_INTERNAL_IO;
    }
    if (j->have_cp && j->cp_size == j->tree.size) {
        return WID_OK;
    }
    return wid_journal_write_checkpoint(j, now_ms);
}


int
wid_journal_sync_due(const wid_journal *j, uint64_t now_ms)
{
    return !j->failed && j->opt.fsync == WID_FSYNC_INTERVAL
           && (j->dirty || j->npending || j->dir_dirty)
           && (now_ms < j->sync_ms
               || now_ms - j->sync_ms >= j->opt.fsync_interval_ms);
}


void
wid_journal_sync_begin(wid_journal *j, uint64_t now_ms,
                       wid_journal_sync_job *job)
{
    size_t i;

    memset(job, 0, sizeof(*job));
    job->seq = j->next_seq;
    if (wid_journal_flush(j) != WID_OK) {
        /* Not an fsync failure: the records wait in the buffer. */
        job->unwritten = 1;
    }
    for (i = 0; i < j->npending; i++) {
        job->drop_below[job->nfds] = UINT64_MAX;
        job->fds[job->nfds++] = j->pending[i];
    }
    j->npending = 0;
    /*
     * No descriptor to sync through (EMFILE) is no fsync failure: the
     * file is left dirty and synced at a later turn, not abandoned.
     */
    if (j->fd >= 0 && j->dirty) {
        int fd = dup(j->fd);

        if (fd < 0) {
            job->unwritten = 1;
        } else {
            job->drop_below[job->nfds] = j->disk_size;
            job->fds[job->nfds++] = fd;
            j->dirty = 0;
        }
    }
    if (j->dir_dirty) {
        int fd = dup(j->dirfd);

        if (fd < 0) {
            job->unwritten = 1;
        } else {
            job->fds[job->nfds++] = fd;
            j->dir_dirty = 0;
        }
    }
    j->sync_ms = now_ms;
}


/* Drop the first n bytes of fd, now on disk, from the page cache (see
 * journal.h); advisory: a kernel that cannot keeps them cached. */
static void
wid_journal_drop_cached(int fd, uint64_t n)
{
    if (n == UINT64_MAX) {
        (void) posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    } else if (n > 0 && n <= (uint64_t) INT64_MAX) {
        (void) posix_fadvise(fd, 0, (off_t) n, POSIX_FADV_DONTNEED);
    }
}


void
wid_journal_sync_run(wid_journal_sync_job *job)
{
    size_t i;

    for (i = 0; i < job->nfds; i++) {
        if (fsync(job->fds[i]) != 0) {
            job->failed = 1;
        } else {
            wid_journal_drop_cached(job->fds[i], job->drop_below[i]);
        }
        close(job->fds[i]);
    }
    job->nfds = 0;
}


wid_reason_t
wid_journal_sync_end(wid_journal *j, wid_journal_sync_job *job)
{
    if (!job->failed) {
        return job->unwritten ? WID_R_INTERNAL_IO : WID_OK;
    }
    /*
     * Never fsync the same file again after a failure: the kernel may
     * have dropped the dirty pages and would report success next time.
     * Abandon the segment; records after this point go to a new one.
     */
    if (!j->failed) {
        (void) wid_journal_rotate(j, 0);
    }
    return WID_R_JOURNAL_FSYNC_FAILED;
}


static wid_reason_t
wid_journal_sync_now(wid_journal *j, uint64_t now_ms)
{
    wid_journal_sync_job job;

    wid_journal_sync_begin(j, now_ms, &job);
    wid_journal_sync_run(&job);
    return wid_journal_sync_end(j, &job);
}


wid_reason_t
wid_journal_receipt_head(const wid_journal *j, const wid_receipt *r,
                         wid_receipt_head *h)
{
    return wid_receipt_head_make(r, j->writer, h);
}


wid_reason_t
wid_journal_append(wid_journal *j, const wid_receipt *r, uint64_t now_ms,
                   char id_out[WID_RECEIPT_ID_SIZE], uint64_t *seq_out)
{
    uint8_t       leaf[WID_HASH_LEN];
    uint64_t      seq = UINT64_MAX;
    wid_reason_t  rc;

    rc = wid_journal_append_after(j, NULL, r, now_ms, leaf, &seq);
    /* A receipt written whose sync then failed still has its id. */
    if (seq != UINT64_MAX && id_out != NULL) {
        wid_receipt_id_from_leaf(leaf, id_out);
    }
    if (seq != UINT64_MAX && seq_out != NULL) {
        *seq_out = seq;
    }
    return rc;
}


wid_reason_t
wid_journal_append_after(wid_journal *j, const wid_receipt_head *h,
                         const wid_receipt *r, uint64_t now_ms,
                         uint8_t leaf_out[WID_HASH_LEN], uint64_t *seq_out)
{
    wid_receipt   tmp;
    uint8_t       leaf[WID_HASH_LEN], *data;
    size_t        len;
    int           in_place;
    uint64_t      seq;
    wid_reason_t  rc;

    if (j->failed) {
        return WID_R_JOURNAL_CLOSED;
    }
    if (wid_journal_held(j)) {
        return WID_R_INTERNAL_IO;       /* until a tick gets past it */
    }
    if (j->next_seq == UINT64_MAX || j->tree.size == UINT64_MAX) {
        return WID_R_JOURNAL_CLOSED;
    }
    if (r->time_ms == 0) {
        tmp = *r;
        tmp.time_ms = now_ms;
        r = &tmp;
    }
    if (h != NULL && !wid_receipt_head_fits(h, j->writer, r)) {
        h = NULL;
    }
    seq = j->next_seq;
    rc = wid_journal_encode_receipt(j, h, r, seq, &data, &len, &in_place);
    if (rc != WID_OK) {
        return rc;
    }
    if (h != NULL) {
        wid_merkle_leaf_finish(&h->leaf, data + h->len, len - h->len, leaf);
    } else {
        wid_merkle_leaf_hash(data, len, leaf);
    }
    if (in_place) {
        wid_frame_seal(data - WID_FRAME_HDR, WID_REC_RECEIPT, (uint32_t) len);
        wid_journal_buffered(j, WID_FRAME_HDR + len);
    } else {
        rc = wid_journal_put(j, WID_REC_RECEIPT, (uint32_t) len);
        if (rc != WID_OK) {
            return rc;
        }
    }
    (void) wid_merkle_frontier_append(&j->tree, leaf);
    j->next_seq++;
    if (leaf_out) {
        memcpy(leaf_out, leaf, WID_HASH_LEN);
    }
    if (seq_out) {
        *seq_out = seq;
    }

    if (j->opt.fsync == WID_FSYNC_ALWAYS) {
        rc = wid_journal_sync_now(j, now_ms);
        if (rc != WID_OK) {
            return rc;
        }
    }
    /*
     * The record is in: a checkpoint or rotation that cannot be written
     * now stalls the journal (the next append is refused, a tick tries
     * again) but does not unsay this one, which the caller will act on.
     */
    if (j->tree.size - j->cp_size >= j->opt.checkpoint_every_records) {
        rc = wid_journal_write_checkpoint(j, now_ms);
        if (rc != WID_OK && !wid_journal_held(j)) {
            return rc;
        }
    }
    if (!wid_journal_held(j) && j->seg_size >= j->opt.segment_max_bytes) {
        rc = wid_journal_rotate(j, 1);
        if (rc != WID_OK && !wid_journal_held(j)) {
            return rc;
        }
    }
    return WID_OK;
}


size_t
wid_journal_unwritten(const wid_journal *j)
{
    return j->wlen;
}


wid_reason_t
wid_journal_tick(wid_journal *j, uint64_t now_ms)
{
    struct stat  st;
    wid_reason_t rc;

    if (j->failed) {
        return WID_R_JOURNAL_CLOSED;
    }
    /* Removed under the writer (its directory deleted): what is written
     * to it now would vanish with the process.  Fail closed. */
    if (j->fd >= 0 && fstat(j->fd, &st) == 0 && st.st_nlink == 0) {
        j->failed = 1;
        return WID_R_JOURNAL_SEGMENT_REMOVED;
    }
    if (j->fd < 0 && wid_journal_next_segment(j) != WID_OK) {
        return WID_R_INTERNAL_IO;
    }
    if (j->stalled && wid_journal_flush(j) != WID_OK) {
        return WID_R_INTERNAL_IO;
    }
    if (j->tree.size != j->cp_size
        && (now_ms < j->cp_ms
            || now_ms - j->cp_ms >= j->opt.checkpoint_every_ms))
    {
        rc = wid_journal_write_checkpoint(j, now_ms);
        if (rc != WID_OK) {
            return rc;
        }
    }
    if (!j->opt.external_sync && wid_journal_sync_due(j, now_ms)) {
        return wid_journal_sync_now(j, now_ms);
    }
    return wid_journal_flush(j);
}


/* State carried through the recovery scan of an existing log. */
typedef struct {
    int       damaged;
    uint64_t  dmg_segment, dmg_offset;
    wid_reason_t dmg_reason;
    uint64_t  good_seq_end;       /* next_seq when damage was found */
    uint64_t  max_seq_end;        /* highest seq seen anywhere, + 1 */
    uint32_t  max_epoch;
    int       have_header;
    char      origin[WID_ORIGIN_MAX + 1];
    uint64_t  last_seg;           /* segment of the last header read */
    /* Leaves of the current epoch after its last valid checkpoint. */
    int       have_tail;
    uint64_t  tail_seg, tail_off; /* where the first of them is */
    int       have_time;
    uint64_t  tmin, tmax;         /* the times of its receipts */
    uint64_t  resync_budget;      /* see wid_recover_resync */
} wid_recover_state;


static void
wid_recover_damage(wid_journal *j, wid_recover_state *s, uint64_t segno,
                   uint64_t off, wid_reason_t why)
{
    if (!s->damaged) {
        s->damaged = 1;
        s->dmg_segment = segno;
        s->dmg_offset = off;
        s->dmg_reason = why;
        /* Only what a valid checkpoint covers counts as recovered. */
        s->good_seq_end = j->epoch_start_seq + (j->have_cp ? j->cp_size : 0);
    }
}


/*
 * A leaf of the epoch being replayed, before it joins the tree: it must
 * decode, name this writer and fit where it stands, as verify demands.
 */
static wid_reason_t
wid_recover_leaf(wid_journal *j, wid_recover_state *s, const wid_frame *f)
{
    wid_receipt_view    v;
    wid_gap_record      g;
    wid_recovery_record r;
    uint64_t            covered = j->have_cp ? j->cp_size : 0;

    if (j->epoch > 0 && j->tree.size == 0 && f->type != WID_REC_GAP) {
        return WID_R_JOURNAL_SEGMENT_HEADER;
    }
    switch (f->type) {
    case WID_REC_RECEIPT:
        if (wid_receipt_decode(f->data, f->len, &v) != WID_OK) {
            return WID_R_RECEIPT_MALFORMED;
        }
        if (v.str[WID_RF_WRITER].len != strlen(j->writer)
            || memcmp(v.str[WID_RF_WRITER].p, j->writer,
                      v.str[WID_RF_WRITER].len) != 0)
        {
            return WID_R_JOURNAL_WRITER_MISMATCH;
        }
        if (!s->have_time) {
            s->have_time = 1;
            s->tmin = s->tmax = v.time_ms;
        } else if (v.time_ms < s->tmin) {
            s->tmin = v.time_ms;
        } else if (v.time_ms > s->tmax) {
            s->tmax = v.time_ms;
        }
        return WID_OK;
    case WID_REC_GAP:
        if (wid_gap_decode(f->data, f->len, &g) != WID_OK
            || strcmp(g.writer, j->writer) != 0 || g.new_epoch != j->epoch
            || j->tree.size != 0)
        {
            return WID_R_RECEIPT_MALFORMED;
        }
        return WID_OK;
    default:
        if (wid_recovery_decode(f->data, f->len, &r) != WID_OK
            || strcmp(r.writer, j->writer) != 0 || r.epoch != j->epoch
            || r.signed_size != covered
            || r.adopted != j->tree.size - covered)
        {
            return WID_R_RECEIPT_MALFORMED;
        }
        return WID_OK;
    }
}


/*
 * A checkpoint found in the log: it must be the writer's own, signed with
 * this key, name this log, and match the tree recomputed from the leaves
 * before it.  Anything else is damage: never adopted, never signed over.
 */
static wid_reason_t
wid_recover_checkpoint(wid_journal *j, wid_recover_state *s,
                       const wid_frame *f)
{
    wid_checkpoint c;
    uint8_t        root[WID_HASH_LEN];
    wid_reason_t   rc;

    rc = wid_checkpoint_verify((const char *) f->data, f->len, j->pk, &c);
    if (rc != WID_OK) {
        return rc;
    }
    if (strcmp(c.origin, s->origin) != 0) {
        return WID_R_JOURNAL_CHECKPOINT_ORIGIN;
    }
    if (j->have_cp && c.size <= j->cp_size) {
        return WID_R_JOURNAL_CHECKPOINT_ROLLBACK;
    }
    wid_merkle_frontier_root(&j->tree, root);
    if (c.size != j->tree.size || sodium_memcmp(c.root, root, 32) != 0) {
        return WID_R_JOURNAL_CHECKPOINT_ROOT;
    }
    j->cp_size = c.size;
    j->have_cp = 1;
    s->have_tail = 0;
    s->have_time = 0;
    return WID_OK;
}


/*
 * After damage, learn the seqs of whatever well-framed leaves follow it,
 * so that the new epoch never reuses one.  Nothing here is trusted for
 * anything else.  Frames are looked for at every offset, but the CRC
 * work spent on bytes that turn out to be no frame is bounded for the
 * whole open: garbage crafted to look like frame headers everywhere
 * would otherwise cost 128 KiB of CRC per byte, at every open.  On a
 * real log the search stops at the next whole frame after the damage.
 */
static void
wid_recover_resync(wid_recover_state *s, const uint8_t *map, uint64_t size,
                   uint64_t off)
{
    wid_frame f;
    uint64_t  seq;

    while (wid_frame_find(map, size, off, &s->resync_budget, &f) == 1) {
        if (wid_leaf_seq(f.type, f.data, f.len, &seq) == 0
            && seq < UINT64_MAX && seq + 1 > s->max_seq_end)
        {
            s->max_seq_end = seq + 1;
        }
        off = f.next;
    }
}


/* Scan one segment; may truncate a torn tail if it is the last one. */
static wid_reason_t
wid_recover_segment(wid_journal *j, wid_recover_state *s, uint64_t segno,
                    int last, wid_journal_recovery *rec)
{
    const uint8_t  *map;
    uint64_t        size, off = 0, seq;
    wid_frame       f;
    wid_seg_header  h;
    wid_reason_t    rc;
    uint8_t         leaf[WID_HASH_LEN];
    int             first = 1;
    char            name[WID_SEG_NAME_LEN + 1];

    rc = wid_seg_map(j->dirfd, segno, &map, &size);
    if (rc != WID_OK) {
        return rc;
    }
    while (off < size) {
        rc = wid_frame_parse(map, size, off, &f);
        if (rc != WID_OK) {
            if (last && !s->damaged && size - off <= WID_TORN_SCAN_MAX
                && wid_frame_torn(map, size, off, rc))
            {
                /* A write cut short by a crash: cut it off. */
                rec->torn_tail = 1;
                rec->torn_segment = segno;
                rec->torn_offset = off;
                rec->torn_bytes = size - off;
                wid_seg_unmap(map, size);
                snprintf(name, sizeof(name), WID_SEG_NAME_FMT,
                         (unsigned long long) segno);
                if (off == 0) {
                    /* Not even a header survived: nothing to keep. */
                    return unlinkat(j->dirfd, name, 0) == 0
                           ? WID_OK : WID_R_INTERNAL_IO;
                }
                {
                    int fd = openat(j->dirfd, name,
                                    O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
                    int bad = fd < 0 || ftruncate(fd, (off_t) off) != 0
                              || fsync(fd) != 0;

                    if (fd >= 0) {
                        close(fd);
                    }
                    return bad ? WID_R_INTERNAL_IO : WID_OK;
                }
            }
            wid_recover_damage(j, s, segno, off, rc);
            break;
        }
        if (first) {
            first = 0;
            if (f.type != WID_REC_SEGMENT
                || wid_seg_header_decode(f.data, f.len, &h) != WID_OK
                || h.segment != segno || strcmp(h.writer, j->writer) != 0)
            {
                wid_recover_damage(j, s, segno, off,
                                   WID_R_JOURNAL_SEGMENT_HEADER);
                break;
            }
            /*
             * A later epoch after damage, after every seq seen so far, is
             * the one a writer started when it met that damage: its gap
             * record accounts for the damage.  Replay it as a fresh log
             * (its checks below and at the end apply in full), so that
             * its crash tails are adopted and torn tails cut, and reopens
             * do not record the same damage again.
             */
            if (s->damaged && h.epoch > s->max_epoch
                && h.first_seq >= s->max_seq_end)
            {
                s->damaged = 0;
            }
            if (h.epoch > s->max_epoch) {
                s->max_epoch = h.epoch;
            }
            if (h.first_seq > s->max_seq_end) {
                s->max_seq_end = h.first_seq;
            }
            if (!s->damaged) {
                if (s->have_header && h.epoch == j->epoch
                    && (h.first_seq != j->next_seq
                        || h.epoch_start_seq != j->epoch_start_seq
                        || strcmp(h.origin, s->origin) != 0))
                {
                    wid_recover_damage(j, s, segno, off,
                                       WID_R_JOURNAL_SEGMENT_MISSING);
                    break;
                }
                if (!s->have_header || h.epoch != j->epoch) {
                    if ((s->have_header && h.epoch < j->epoch)
                        || h.first_seq != h.epoch_start_seq
                        || h.first_seq < j->next_seq)
                    {
                        wid_recover_damage(j, s, segno, off,
                                           WID_R_JOURNAL_SEGMENT_HEADER);
                        break;
                    }
                    j->epoch = h.epoch;
                    j->epoch_start_seq = h.epoch_start_seq;
                    j->next_seq = h.first_seq;
                    wid_merkle_frontier_init(&j->tree);
                    j->cp_size = 0;
                    j->have_cp = 0;
                    s->have_tail = 0;
                    s->have_time = 0;
                }
                s->have_header = 1;
                s->last_seg = segno;
                memcpy(s->origin, h.origin, sizeof(s->origin));
            }
            off = f.next;
            continue;
        }
        switch (f.type) {
        case WID_REC_RECEIPT:
        case WID_REC_GAP:
        case WID_REC_RECOVERY:
            if (wid_leaf_seq(f.type, f.data, f.len, &seq) != 0) {
                wid_recover_damage(j, s, segno, off, WID_R_RECEIPT_MALFORMED);
                goto done;
            }
            if (seq < UINT64_MAX && seq + 1 > s->max_seq_end) {
                s->max_seq_end = seq + 1;
            }
            if (!s->damaged) {
                if (seq != j->next_seq) {
                    wid_recover_damage(j, s, segno, off, WID_R_JOURNAL_SEQ);
                    goto done;
                }
                rc = wid_recover_leaf(j, s, &f);
                if (rc != WID_OK) {
                    wid_recover_damage(j, s, segno, off, rc);
                    goto done;
                }
                if (!s->have_tail) {
                    s->have_tail = 1;
                    s->tail_seg = segno;
                    s->tail_off = off;
                }
                wid_merkle_leaf_hash(f.data, f.len, leaf);
                (void) wid_merkle_frontier_append(&j->tree, leaf);
                j->next_seq++;
                rec->records++;
            }
            break;
        case WID_REC_CHECKPOINT:
            if (!s->damaged) {
                rc = wid_recover_checkpoint(j, s, &f);
                if (rc != WID_OK) {
                    wid_recover_damage(j, s, segno, off, rc);
                    goto done;
                }
            }
            break;
        default:
            wid_recover_damage(j, s, segno, off,
                               WID_R_JOURNAL_FRAME_MALFORMED);
            goto done;
        }
        off = f.next;
    }
done:
    if (s->damaged && off < size) {
        wid_recover_resync(s, map, size, off + 1);
    }
    wid_seg_unmap(map, size);
    return WID_OK;
}


/*
 * The end of a log that replayed without damage: adopt the leaves after
 * its last valid checkpoint only if a crash could have left them: the
 * epoch has a valid checkpoint, at most checkpoint_every_records leaves
 * follow it, and their receipts' times span at most checkpoint_every_ms
 * plus a margin (a running writer signs at least that often).  Anything
 * more is treated as damage: a new epoch and a gap, the bytes left alone.
 * Returns 0 when the tail may be adopted.
 */
static int
wid_recover_tail_ok(wid_journal *j, wid_recover_state *s)
{
    uint64_t covered = j->have_cp ? j->cp_size : 0;
    uint64_t unsigned_n = j->tree.size - covered;
    uint64_t seg = s->have_tail ? s->tail_seg : s->last_seg;
    uint64_t off = s->have_tail ? s->tail_off : 0;

    if (!j->have_cp && (j->tree.size > 0 || j->epoch > 0)) {
        wid_recover_damage(j, s, seg, off, WID_R_JOURNAL_NO_CHECKPOINT);
        return -1;
    }
    if (unsigned_n > j->opt.checkpoint_every_records
        || (s->have_time && s->tmax - s->tmin
            > j->opt.checkpoint_every_ms + WID_RECOVER_MARGIN_MS))
    {
        wid_recover_damage(j, s, seg, off, WID_R_JOURNAL_TAIL_NOT_ADOPTED);
        return -1;
    }
    return 0;
}


static wid_reason_t
wid_journal_add_leaf(wid_journal *j, uint8_t type, size_t len)
{
    uint8_t      leaf[WID_HASH_LEN];
    wid_reason_t rc;

    wid_merkle_leaf_hash(j->buf + WID_FRAME_HDR, len, leaf);
    rc = wid_journal_put(j, type, (uint32_t) len);
    if (rc == WID_OK) {
        (void) wid_merkle_frontier_append(&j->tree, leaf);
        j->next_seq++;
    }
    return rc;
}


static wid_reason_t
wid_journal_recover(wid_journal *j, const char *prefix, uint64_t now_ms,
                    wid_journal_recovery *rec)
{
    wid_recover_state   s;
    uint64_t           *segs;
    size_t              n, i;
    wid_reason_t        rc;
    wid_gap_record      g;
    wid_recovery_record r;
    size_t              len;

    memset(&s, 0, sizeof(s));
    s.resync_budget = WID_RESYNC_BUDGET;
    rc = wid_seg_list(j->dirfd, &segs, &n);
    if (rc != WID_OK) {
        return rc;
    }
    rec->existed = n > 0;
    for (i = 0; i < n; i++) {
        rc = wid_recover_segment(j, &s, segs[i], i + 1 == n, rec);
        if (rc != WID_OK) {
            free(segs);
            return rc;
        }
    }
    /* The new segment takes the next number, after anything on disk. */
    j->seg_no = n ? segs[n - 1] + 1 : 1;
    if (n && rec->torn_tail && rec->torn_offset == 0) {
        j->seg_no = segs[n - 1];
    }
    free(segs);

    if (s.have_header && !s.damaged && wid_recover_tail_ok(j, &s) == 0) {
        /* Continue the same epoch and tree. */
        rec->signed_size = j->have_cp ? j->cp_size : 0;
        rec->adopted = j->tree.size - rec->signed_size;
        memcpy(j->origin, s.origin, sizeof(j->origin));
        rc = wid_journal_new_segment(j);
        if (rc == WID_OK && (rec->adopted > 0 || rec->torn_tail)) {
            /* Say on the record (a leaf, signed below) what was taken
             * over unsigned and what was cut off. */
            memset(&r, 0, sizeof(r));
            r.epoch = j->epoch;
            r.seq = j->next_seq;
            r.signed_size = rec->signed_size;
            r.adopted = rec->adopted;
            if (rec->torn_tail) {
                r.torn_segment = rec->torn_segment;
                r.torn_offset = rec->torn_offset;
                r.torn_bytes = rec->torn_bytes;
            }
            memcpy(r.writer, j->writer, sizeof(r.writer));
            len = wid_recovery_encode(&r, j->buf + WID_FRAME_HDR,
                                      WID_FRAME_MAX);
            rc = wid_journal_add_leaf(j, WID_REC_RECOVERY, len);
        }
    } else {
        if (s.damaged) {
            /*
             * Damage we must not write over: leave it as it is, start a
             * new epoch (a new tree) after every seq ever used, and
             * record the gap as its first leaf.
             */
            j->epoch = s.max_epoch + 1;
            if (s.max_seq_end > j->next_seq) {
                j->next_seq = s.max_seq_end;
            }
            j->epoch_start_seq = j->next_seq;
            wid_merkle_frontier_init(&j->tree);
            j->cp_size = 0;
            j->have_cp = 0;
            rec->gap = 1;
            rec->gap_segment = s.dmg_segment;
            rec->gap_offset = s.dmg_offset;
            rec->gap_reason = s.dmg_reason;
        }
        wid_journal_set_origin(j, prefix);
        rc = wid_journal_new_segment(j);
        if (rc == WID_OK && s.damaged) {
            memset(&g, 0, sizeof(g));
            g.new_epoch = j->epoch;
            g.seq = j->next_seq;
            g.damaged_segment = s.dmg_segment;
            g.damaged_offset = s.dmg_offset;
            g.last_good_seq_end = s.good_seq_end;
            g.reason = (uint32_t) s.dmg_reason;
            memcpy(g.writer, j->writer, sizeof(g.writer));
            len = wid_gap_encode(&g, j->buf + WID_FRAME_HDR, WID_FRAME_MAX);
            rc = wid_journal_add_leaf(j, WID_REC_GAP, len);
        }
    }
    /*
     * Sign at once whatever the epoch holds (an empty tree for a new
     * log): every epoch has a checkpoint from its start, so a log with
     * records and no valid checkpoint is never a writer's doing, and
     * adopted records are signed now, not at the next interval.
     */
    if (rc == WID_OK && (!j->have_cp || j->cp_size != j->tree.size)) {
        rc = wid_journal_write_checkpoint(j, now_ms);
    }
    rec->epoch = j->epoch;
    rec->next_seq = j->next_seq;
    return rc;
}


static void
wid_journal_free(wid_journal *j)
{
    size_t i;

    for (i = 0; i < j->npending; i++) {
        close(j->pending[i]);
    }
    if (j->fd >= 0) {
        close(j->fd);
    }
    if (j->lockfd >= 0) {
        close(j->lockfd);       /* releases the flock */
    }
    if (j->dirfd >= 0) {
        close(j->dirfd);
    }
    if (j->sk) {
        sodium_free(j->sk);     /* wipes before freeing */
    }
    sodium_memzero(j->buf, sizeof(j->buf));
    free(j);
}


/*
 * A process forked from the writer (journal_syncer.h's helper) finds the
 * key's pages zeroed: it never signs, and must not hold the key.  (Such a
 * child never frees them: sodium_free would find its canary gone.)
 */
static void
wid_journal_key_wipe_on_fork(void *p, size_t len)
{
    uintptr_t  pg = (uintptr_t) sysconf(_SC_PAGESIZE);
    uintptr_t  a = (uintptr_t) p & ~(pg - 1);
    uintptr_t  e = ((uintptr_t) p + len + pg - 1) & ~(pg - 1);

    (void) madvise((void *) a, e - a, MADV_WIPEONFORK);
}


wid_reason_t
wid_journal_open(const char *dir, const char *writer_name,
                 const wid_seckey *key, const wid_journal_options *opts,
                 uint64_t now_ms, wid_journal **out,
                 wid_journal_recovery *rec)
{
    wid_journal          *j;
    wid_journal_recovery  dummy;
    char                  host[HOST_NAME_MAX + 1];
    const char           *prefix;
    size_t                i;
    int                   topfd;
    struct stat           st;
    wid_reason_t          rc;

    *out = NULL;
    if (rec == NULL) {
        rec = &dummy;
    }
    memset(rec, 0, sizeof(*rec));
    if (!wid_journal_writer_name_ok(writer_name)) {
        return WID_R_JOURNAL_WRITER_NAME;
    }
    for (i = 0; opts && i < opts->nrefuse_keys; i++) {
        if (sodium_memcmp(opts->refuse_keys[i].pk, key->pub.pk,
                          WID_ED25519_PK_LEN) == 0)
        {
            return WID_R_JOURNAL_KEY_REFUSED;
        }
    }
    if (sodium_init() < 0) {
        return WID_R_INTERNAL_CRYPTO;
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    j->dirfd = j->lockfd = j->fd = -1;
    if (opts) {
        j->opt = *opts;
    }
    if (j->opt.checkpoint_every_records == 0) {
        j->opt.checkpoint_every_records = WID_DEF_CP_RECORDS;
    }
    if (j->opt.checkpoint_every_ms == 0) {
        j->opt.checkpoint_every_ms = WID_DEF_CP_MS;
    }
    if (j->opt.segment_max_bytes == 0) {
        j->opt.segment_max_bytes = WID_DEF_SEG_BYTES;
    }
    if (j->opt.segment_max_bytes < WID_MIN_SEG_BYTES) {
        j->opt.segment_max_bytes = WID_MIN_SEG_BYTES;
    }
    if (j->opt.fsync_interval_ms == 0) {
        j->opt.fsync_interval_ms = WID_DEF_SYNC_MS;
    }
    j->opt.refuse_keys = NULL;
    j->opt.nrefuse_keys = 0;
    j->opt.origin_prefix = NULL;
    j->opt.key_name = NULL;
    snprintf(j->key_name, sizeof(j->key_name), "%s",
             opts && opts->key_name ? opts->key_name : WID_JOURNAL_KEY_NAME);
    if (!wid_note_key_name_ok(j->key_name)) {
        wid_journal_free(j);
        return WID_R_INTERNAL_CONFIG;
    }
    prefix = opts ? opts->origin_prefix : NULL;
    if (prefix == NULL) {
        if (gethostname(host, sizeof(host)) != 0) {
            snprintf(host, sizeof(host), "localhost");
        }
        host[HOST_NAME_MAX] = '\0';
        prefix = host;
    }
    if (strlen(prefix) + 1 + strlen(writer_name) + 11 > WID_ORIGIN_MAX) {
        wid_journal_free(j);
        return WID_R_INTERNAL_CONFIG;
    }
    for (i = 0; prefix[i]; i++) {
        if ((unsigned char) prefix[i] <= 0x20 || prefix[i] == 0x7f) {
            wid_journal_free(j);
            return WID_R_INTERNAL_CONFIG;
        }
    }
    memcpy(j->writer, writer_name, strlen(writer_name) + 1);

    /* Private copy of the key in guarded, locked, read-only memory. */
    j->sk = sodium_malloc(WID_ED25519_SK_LEN);
    if (j->sk == NULL) {
        wid_journal_free(j);
        return WID_R_INTERNAL_NOMEM;
    }
    memcpy(j->sk, key->sk, WID_ED25519_SK_LEN);
    crypto_sign_ed25519_sk_to_pk(j->pk, key->sk);
    sodium_mprotect_readonly(j->sk);
    wid_journal_key_wipe_on_fork(j->sk, WID_ED25519_SK_LEN);

    topfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (topfd < 0 && errno == ENOENT && mkdir(dir, 0750) == 0) {
        topfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (topfd < 0) {
        wid_journal_free(j);
        return WID_R_INTERNAL_IO;
    }
    if (mkdirat(topfd, writer_name, 0750) != 0 && errno != EEXIST) {
        close(topfd);
        wid_journal_free(j);
        return WID_R_INTERNAL_IO;
    }
    j->dirfd = openat(topfd, writer_name,
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(topfd);
    if (j->dirfd < 0) {
        wid_journal_free(j);
        return WID_R_INTERNAL_IO;
    }
    j->lockfd = openat(j->dirfd, "lock",
                       O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (j->lockfd < 0) {
        wid_journal_free(j);
        return WID_R_INTERNAL_IO;
    }
    /*
     * A verifier probes the lock (a shared lock held for a moment) to see
     * whether a writer runs: retry briefly before calling the log busy.
     */
    for (i = 0; flock(j->lockfd, LOCK_EX | LOCK_NB) != 0; i++) {
        if (errno != EWOULDBLOCK || i == WID_LOCK_TRIES) {
            rc = errno == EWOULDBLOCK ? WID_R_JOURNAL_WRITER_BUSY
                                      : WID_R_INTERNAL_IO;
            wid_journal_free(j);
            return rc;
        }
        (void) usleep(WID_LOCK_RETRY_US);
    }
    if (j->opt.unless_closed
        && fstatat(j->dirfd, WID_CLOSED_NAME, &st, AT_SYMLINK_NOFOLLOW) == 0
        && S_ISREG(st.st_mode))
    {
        rec->existed = 1;
        rec->was_closed = 1;
        wid_journal_free(j);
        return WID_OK;
    }
    /*
     * Open again, so no longer cleanly closed.  The removal is made
     * durable with the new segment's directory entry (sync below).
     */
    if (unlinkat(j->dirfd, WID_CLOSED_NAME, 0) != 0 && errno != ENOENT) {
        wid_journal_free(j);
        return WID_R_INTERNAL_IO;
    }

    rc = wid_journal_recover(j, prefix, now_ms, rec);
    if (rc == WID_OK) {
        rc = wid_journal_flush(j);
    }
    if (rc == WID_OK && j->opt.fsync != WID_FSYNC_NEVER) {
        rc = wid_journal_sync_now(j, now_ms);
    }
    if (rc != WID_OK) {
        /*
         * A segment this open started and could not write (a full
         * disk) is removed, so that a caller retrying the open does not
         * leave one empty file, and use up one number, per attempt.
         */
        if (j->fd >= 0 && j->disk_size == 0) {
            wid_journal_drop_segment(j);
        }
        wid_journal_free(j);
        return rc;
    }
    j->cp_ms = now_ms;
    j->sync_ms = now_ms;
    *out = j;
    return WID_OK;
}


/*
 * Leave DIR/<writer>/closed once the final checkpoint is durable: the
 * log has nothing unsigned, so wid_journal_seal_orphans need not replay
 * it.  Only a hint (see journal_orphans.h): without it the log is merely
 * reopened and closed again, so a failure here is not the close's.
 */
static void
wid_journal_mark_closed(wid_journal *j)
{
    int fd;

    fd = openat(j->dirfd, WID_CLOSED_NAME,
                O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd >= 0) {
        close(fd);
    }
}


wid_reason_t
wid_journal_close(wid_journal *j, uint64_t now_ms)
{
    wid_reason_t rc = WID_OK, rc2;

    if (j == NULL) {
        return WID_OK;
    }
    if (j->failed) {
        rc = WID_R_JOURNAL_CLOSED;
    } else {
        rc = wid_journal_checkpoint(j, now_ms);
        rc2 = wid_journal_flush(j);
        if (rc == WID_OK) {
            rc = rc2;
        }
        if (j->opt.fsync != WID_FSYNC_NEVER) {
            rc2 = wid_journal_sync_now(j, now_ms);
            if (rc == WID_OK) {
                rc = rc2;
            }
        }
        if (rc == WID_OK) {
            wid_journal_mark_closed(j);
        }
    }
    wid_journal_free(j);
    return rc;
}
