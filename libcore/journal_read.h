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
                                    consistency, rollback, gap, unsigned,
                                    recovered, truncated, trusted, io */
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
    int         live;            /* its writer holds the log's lock */
} wid_journal_writer_report;

typedef struct {
    void (*finding)(void *ctx, const wid_journal_finding *f);
    void (*writer)(void *ctx, const wid_journal_writer_report *w);
    void  *ctx;
    /* Optional: every checkpoint that passed all checks (signature,
     * origin, root, consistency), with its exact note bytes. */
    void (*checkpoint)(void *ctx, const char *writer, const char *note,
                       size_t len, const wid_checkpoint *cp);
} wid_journal_verify_cb;

typedef struct {
    size_t writers, errors, warnings;
    uint64_t records;
} wid_journal_verify_result;

/*
 * A checkpoint the auditor saved earlier (verified against the public key
 * by the caller, e.g. with wid_checkpoint_verify).  Its origin names the
 * writer log and epoch ("<prefix>/<writer>/<epoch>"); the journal must
 * still hold at least cp.size leaves of that epoch, and the first cp.size
 * of them must hash to cp.root.  This is what detects a log cut back at
 * its end to an earlier, self-consistent state: the journal alone cannot.
 * Findings: journal.truncated (kind "truncated") when the log, the epoch
 * or its leaves are gone; journal.checkpoint_inconsistent (kind
 * "trusted") when the leaves differ.
 */
typedef struct {
    const wid_checkpoint *cps;
    size_t                n;
} wid_journal_trusted;

/*
 * Verification flags.  ACCEPT_GAPS: a recorded gap (and the unsigned end
 * of the epoch before it, which the gap disowns) is a warning, not an
 * error.  ALLOW_UNSIGNED_TAIL: leaves after the last checkpoint of a log
 * are a warning even if no writer holds the log's lock (by default they
 * are an error unless a running writer does).  WRITER_LIVE (verifier_new
 * only; the directory verifier finds it out itself with a non-blocking
 * flock of DIR/<writer>/lock): the log's writer is running.
 * A value of 1 still means "accept gaps", as before the flags existed.
 */
#define WID_JOURNAL_VERIFY_ACCEPT_GAPS          0x1
#define WID_JOURNAL_VERIFY_ALLOW_UNSIGNED_TAIL  0x2
#define WID_JOURNAL_VERIFY_WRITER_LIVE          0x4

/*
 * Verify every writer log under dir against the public key: framing,
 * segment headers and numbering, record decoding and writer names,
 * sequence continuity, checkpoint signatures, origins, roots, consistency
 * with the previous checkpoint (proof recomputed and checked), rollbacks,
 * recorded gaps, records of an epoch without any valid checkpoint (an
 * error), and the uncovered tail (an error unless the writer is running
 * or ALLOW_UNSIGNED_TAIL).  Gaps are errors unless ACCEPT_GAPS.  Returns WID_OK when it could read the directory (look at
 * res->errors for the verdict); internal.io_error / journal.empty
 * otherwise.
 */
wid_reason_t wid_journal_verify(const char *dir, const wid_pubkey *pk,
                                int flags,
                                const wid_journal_verify_cb *cb,
                                wid_journal_verify_result *res);

/* The same, with trusted checkpoints (trusted may be NULL). */
wid_reason_t wid_journal_verify_trusted(const char *dir,
                                        const wid_pubkey *pk,
                                        int flags,
                                        const wid_journal_trusted *trusted,
                                        const wid_journal_verify_cb *cb,
                                        wid_journal_verify_result *res);

/*
 * The verifier of one writer log, fed segment by segment in order.  The
 * directory verifier above maps files and feeds them here; tests and
 * fuzzers feed memory.  A verifier can be duplicated to verify several
 * variants of the rest of a log from one saved state (each copy reports
 * through the same callbacks).
 *
 *   new -> segment (each, in file order; last = 1 for the final one)
 *       -> finish (ends the last epoch, reports the writer, adds the
 *          counts to res) -> free
 *
 * A segment passed as buf NULL is reported as unreadable.  writer, pk and
 * the trusted checkpoints are copied; cb must outlive the verifier.
 */
typedef struct wid_journal_verifier wid_journal_verifier;

wid_reason_t wid_journal_verifier_new(const char *writer,
                                      const wid_pubkey *pk, int flags,
                                      const wid_journal_trusted *trusted,
                                      const wid_journal_verify_cb *cb,
                                      wid_journal_verifier **out);
void wid_journal_verifier_segment(wid_journal_verifier *v, uint64_t segno,
                                  const uint8_t *buf, uint64_t size,
                                  int last);
/* Errors found so far (a caller may stop feeding once one is found). */
size_t wid_journal_verifier_errors(const wid_journal_verifier *v);
wid_journal_verifier *wid_journal_verifier_dup(const wid_journal_verifier *v);
void wid_journal_verifier_finish(wid_journal_verifier *v,
                                 wid_journal_verify_result *res);
void wid_journal_verifier_free(wid_journal_verifier *v);

/*
 * The writer name and epoch an origin "<prefix>/<writer>/<epoch>" names;
 * -1 when it has not that shape.
 */
int wid_origin_writer(const char *origin, char writer[WID_WRITER_MAX + 1],
                      uint32_t *epoch);

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
