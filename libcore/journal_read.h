/*
 * Reading a journal directory: verification, record scans (query and
 * export), and standalone receipt proofs.  Readers never write.
 */
#ifndef WID_JOURNAL_READ_H
#define WID_JOURNAL_READ_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "checkpoint.h"
#include "journal.h"
#include "journal_format.h"
#include "keyfile.h"
#include "receipt.h"

/* One problem found by verify, located as precisely as possible. */
typedef struct {
    const char   *writer;
    uint64_t      segment;       /* 0: not about one segment */
    uint64_t      offset;        /* of the frame in the segment */
    uint64_t      seq;           /* seq expected or found there */
    int           has_seq;
    wid_reason_t  reason;
    const char   *kind;          /* crc, framing, torn, header, segment,
                                    seq, writer, record, sig, origin, root,
                                    consistency, rollback, gap, unsigned */
    int           warning;       /* does not make the journal invalid */
    char          detail[200];
} wid_journal_finding;

typedef struct {
    const char *writer;
    uint64_t    segments;
    uint64_t    records;         /* receipts */
    uint64_t    checkpoints;
    uint32_t    epochs;
    uint64_t    tree_size;       /* of the last epoch */
    uint64_t    signed_size;     /* covered by its last valid checkpoint */
    uint8_t     root[32];
} wid_journal_writer_report;

typedef struct {
    void (*finding)(void *ctx, const wid_journal_finding *f);
    void (*writer)(void *ctx, const wid_journal_writer_report *w);
    void  *ctx;
} wid_journal_verify_cb;

typedef struct {
    size_t writers, errors, warnings;
    uint64_t records;
} wid_journal_verify_result;

/*
 * Verify every writer log under dir against the public key: framing,
 * segment headers and numbering, record decoding and writer names,
 * sequence continuity, checkpoint signatures, origins, roots, consistency
 * with the previous checkpoint (proof recomputed and checked), rollbacks,
 * recorded gaps and the uncovered tail.  Gaps are errors unless
 * accept_gaps.  Returns WID_OK when it could read the directory (look at
 * res->errors for the verdict); internal.io_error / journal.empty
 * otherwise.
 */
wid_reason_t wid_journal_verify(const char *dir, const wid_pubkey *pk,
                                int accept_gaps,
                                const wid_journal_verify_cb *cb,
                                wid_journal_verify_result *res);

/* A record met by a scan. */
typedef struct {
    const char           *writer;
    const wid_seg_header *header;
    uint64_t              segment, offset;
    uint8_t               type;
    const uint8_t        *data;
    uint32_t              len;
} wid_journal_rec;

/* Return nonzero from the callback to stop the scan. */
typedef int (*wid_journal_rec_fn)(void *ctx, const wid_journal_rec *r);

/*
 * Visit every well-framed record of every writer (or only `writer`) in
 * order.  A segment is read up to its first damaged frame; *skipped
 * (optional) counts segments cut short that way.
 */
wid_reason_t wid_journal_scan(const char *dir, const char *writer,
                              wid_journal_rec_fn fn, void *ctx,
                              size_t *skipped);

/*
 * Build the standalone proof of one receipt: its bytes, an RFC 6962
 * inclusion proof and the latest checkpoint of its tree that covers it.
 * *out is a new JSON object (docs/receipts.md, "Receipt proofs").
 */
wid_reason_t wid_journal_prove(const char *dir, const char *receipt_id,
                               json_t **out);

/*
 * Verify a proof object with nothing but the public key.  On WID_OK, *v
 * points into *bytes (the caller frees *bytes) and *cp is the checkpoint.
 */
wid_reason_t wid_receipt_proof_verify(json_t *proof, const wid_pubkey *pk,
                                      uint8_t **bytes,
                                      wid_receipt_view *v,
                                      wid_checkpoint *cp);

#endif
