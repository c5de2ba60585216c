/*
 * Fuzz target: the journal verifier on arbitrary segment bytes.  The input
 * is one writer log ("w1"): its segments, in order, separated by the
 * 8-byte marker "WIDSPLIT".  Every receipt frame is also decoded and
 * rendered as JSON, as query and export do.  The key is fixed (seed of
 * 0x07 bytes), the one tests/fuzz/make-journal-corpus signs the seed
 * corpus with, so valid checkpoints are reachable.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "journal_format.h"
#include "journal_read.h"
#include "receipt.h"

#define SPLIT     "WIDSPLIT"
#define SPLIT_LEN 8
#define MAX_SEGS  16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
decode_receipts(const uint8_t *seg, size_t len)
{
    wid_frame        f;
    wid_receipt_view v;
    uint64_t         off = 0;
    json_t          *j;
    char             id[WID_RECEIPT_ID_SIZE];

    while (off < len && wid_frame_parse(seg, len, off, &f) == WID_OK) {
        if (f.type == WID_REC_RECEIPT
            && wid_receipt_decode(f.data, f.len, &v) == WID_OK)
        {
            wid_receipt_id(f.data, f.len, id);
            j = wid_receipt_view_json(&v, id);
            json_decref(j);
        }
        off = f.next;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static wid_pubkey      pk;
    static int             init;
    wid_journal_verifier  *v, *v2;
    wid_journal_verify_result res;
    wid_journal_trusted    t;
    wid_checkpoint         cp;
    const uint8_t         *segs[MAX_SEGS], *p, *end = data + size, *m;
    size_t                 lens[MAX_SEGS], n = 0, i;

    if (!init) {
        uint8_t seed[32], sk[64];

        if (sodium_init() < 0) {
            return 0;
        }
        memset(seed, 7, sizeof(seed));
        crypto_sign_seed_keypair(pk.pk, sk, seed);
        init = 1;
    }
    p = data;
    while (n < MAX_SEGS) {
        m = memmem(p, (size_t) (end - p), SPLIT, SPLIT_LEN);
        segs[n] = p;
        lens[n] = (size_t) ((m ? m : end) - p);
        n++;
        if (m == NULL) {
            break;
        }
        p = m + SPLIT_LEN;
    }

    /* A trusted checkpoint of the log, so those checks run too. */
    memset(&cp, 0, sizeof(cp));
    strcpy(cp.origin, "fuzz/w1/0");
    cp.size = 2;
    t.cps = &cp;
    t.n = 1;
    /* Flags from the input size: gaps, unsigned tail, running writer. */
    if (wid_journal_verifier_new("w1", &pk, (int) (size & 7), &t, NULL, &v)
        != WID_OK)
    {
        return 0;
    }
    for (i = 0; i < n; i++) {
        if (i == 1) {
            /* Duplicated state must behave like the original. */
            v2 = wid_journal_verifier_dup(v);
            if (v2) {
                wid_journal_verifier_free(v);
                v = v2;
            }
        }
        wid_journal_verifier_segment(v, i + 1, segs[i], lens[i], i + 1 == n);
        decode_receipts(segs[i], lens[i]);
    }
    memset(&res, 0, sizeof(res));
    wid_journal_verifier_finish(v, &res);
    wid_journal_verifier_free(v);
    return 0;
}
