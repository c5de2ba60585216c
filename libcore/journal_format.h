/*
 * On-disk format of journal segments, shared by the writer, recovery and
 * the readers (verify, query, export, prove).  See docs/receipts.md.
 *
 * Frame:  u32 crc32c | u32 len | u8 type | data[len]     (big-endian)
 *         crc32c covers len, type and data.
 */
#ifndef WID_JOURNAL_FORMAT_H
#define WID_JOURNAL_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "journal.h"
#include "reason.h"

#define WID_FRAME_HDR        9
#define WID_FRAME_MAX        (128u * 1024u)   /* largest data length */

#define WID_REC_SEGMENT      1   /* segment header, first frame */
#define WID_REC_RECEIPT      2   /* leaf: canonical receipt */
#define WID_REC_CHECKPOINT   3   /* signed note */
#define WID_REC_GAP          4   /* leaf: gap record (first of an epoch) */
#define WID_REC_RECOVERY     5   /* leaf: what recovery adopted */
#define WID_REC_MAX          WID_REC_RECOVERY

/* Types that are leaves of the Merkle tree (and carry a seq). */
#define WID_REC_IS_LEAF(t)   ((t) == WID_REC_RECEIPT || (t) == WID_REC_GAP \
                              || (t) == WID_REC_RECOVERY)

#define WID_SEG_MAGIC        "WIDJSEG1"
#define WID_GAP_MAGIC        "WIDGAP01"
#define WID_RCV_MAGIC        "WIDRCV01"
#define WID_SEG_NAME_FMT     "seg-%016llu.wjl"
#define WID_SEG_NAME_LEN     24
/* Empty file left by a clean close, removed by the next open: a hint
 * that the log has nothing unsigned (see journal_orphans.h).  Readers
 * look only at segment files, so they never see it. */
#define WID_CLOSED_NAME      "closed"

typedef struct {
    uint64_t segment;           /* its number, as in the file name */
    uint32_t epoch;
    uint64_t first_seq;         /* seq of the first leaf in the segment */
    uint64_t epoch_start_seq;   /* seq of leaf 0 of the epoch's tree */
    char     writer[WID_WRITER_MAX + 1];
    char     origin[WID_ORIGIN_MAX + 1];
} wid_seg_header;

typedef struct {
    uint32_t new_epoch;
    uint64_t seq;               /* this record's seq (= epoch start) */
    uint64_t damaged_segment, damaged_offset;
    uint64_t last_good_seq_end; /* seqs below this were read intact */
    uint32_t reason;            /* reason code ordinal, informative */
    char     writer[WID_WRITER_MAX + 1];
} wid_gap_record;

/*
 * Written by a writer that reopened a log and continued its epoch after
 * an unclean end: how many leaves the last valid checkpoint covered, how
 * many unsigned leaves after it were adopted, and the torn bytes cut off.
 * It is a leaf, so the checkpoint written right after it signs it.
 */
typedef struct {
    uint32_t epoch;
    uint64_t seq;               /* this record's seq */
    uint64_t signed_size;       /* leaves of the epoch the last valid
                                   checkpoint covered */
    uint64_t adopted;           /* unsigned leaves adopted after those */
    uint64_t torn_segment, torn_offset, torn_bytes;  /* 0: none cut */
    char     writer[WID_WRITER_MAX + 1];
} wid_recovery_record;

typedef struct {
    uint8_t        type;
    const uint8_t *data;
    uint32_t       len;
    uint64_t       offset;      /* of the frame in the segment */
    uint64_t       next;        /* offset after the frame */
} wid_frame;

/* Frame at buf[off..size): WID_OK, journal.frame_crc,
 * journal.frame_malformed, or journal.torn_tail (runs past the end). */
wid_reason_t wid_frame_parse(const uint8_t *buf, uint64_t size, uint64_t off,
                             wid_frame *f);

/*
 * The first valid frame starting in buf[from..size): 1 (*f is it), 0
 * (none), or -1 when checksumming candidates that are no frame would
 * take more than *budget bytes (*budget is what is left; the frame found
 * is not charged, and a candidate at from is always tried).  Linear in
 * the bytes examined plus the budget.
 */
int wid_frame_find(const uint8_t *buf, uint64_t size, uint64_t from,
                   uint64_t *budget, wid_frame *f);

/* Does a valid frame start anywhere in buf[from..size)?  The CRC work is
 * bounded: past WID_FRAME_SCAN_BUDGET bytes checksummed the answer is
 * yes (conservative: the bytes are then treated as damage, not as a
 * torn write that may be cut off). */
#define WID_FRAME_SCAN_BUDGET (256u * 1024u * 1024u)
int wid_frame_any_after(const uint8_t *buf, uint64_t size, uint64_t from);

/*
 * Is the bad frame at off (parse result rc) the torn end of an
 * interrupted write, with no valid frame after it?  Torn: incomplete (it
 * runs past the end), or cut by zeros that run from inside it to the end
 * of the file (a power loss zero-fills from a block boundary): the zeros
 * start at off, inside its header, or before the end its (plausible)
 * header gives it.  A frame that ends before the zeros, or one whose
 * CRC does not match with no zeros to the end, is damage, not a torn
 * write.
 */
int wid_frame_torn(const uint8_t *buf, uint64_t size, uint64_t off,
                   wid_reason_t rc);

/* Build a frame header for data in place (buf has 9 bytes before data). */
void wid_frame_seal(uint8_t *frame, uint8_t type, uint32_t len);

size_t wid_seg_header_encode(const wid_seg_header *h, uint8_t *buf,
                             size_t cap);
wid_reason_t wid_seg_header_decode(const uint8_t *d, size_t len,
                                   wid_seg_header *h);

size_t wid_gap_encode(const wid_gap_record *g, uint8_t *buf, size_t cap);
wid_reason_t wid_gap_decode(const uint8_t *d, size_t len, wid_gap_record *g);

size_t wid_recovery_encode(const wid_recovery_record *r, uint8_t *buf,
                           size_t cap);
wid_reason_t wid_recovery_decode(const uint8_t *d, size_t len,
                                 wid_recovery_record *r);

/* Seq of a leaf record (receipt, gap, recovery) without full decoding. */
int wid_leaf_seq(uint8_t type, const uint8_t *d, size_t len, uint64_t *seq);

/* Segment numbers of DIR/<writer>, sorted; caller frees *out. */
wid_reason_t wid_seg_list(int writer_dirfd, uint64_t **out, size_t *n);

/*
 * Open DIR/<writer> for reading (never through a symlink) and list its
 * segments; on success the caller closes *dirfd and frees *segs.
 */
wid_reason_t wid_writer_open_read(const char *dir, const char *writer,
                                  int *dirfd, uint64_t **segs, size_t *n);

/*
 * Does a writer hold DIR/<writer>/lock (writer_dirfd: the writer's
 * directory)?  A probe with a shared lock, released at once.
 */
int wid_writer_live(int writer_dirfd);

/* Map a segment read-only (size 0 gives a NULL map).  Unmap with
 * wid_seg_unmap. */
wid_reason_t wid_seg_map(int writer_dirfd, uint64_t segno,
                         const uint8_t **map, uint64_t *size);
void wid_seg_unmap(const uint8_t *map, uint64_t size);

/* The writer names (subdirectories) of a journal, sorted. */
wid_reason_t wid_journal_writers(const char *dir, char ***names, size_t *n);
void wid_journal_writers_free(char **names, size_t n);

#endif
