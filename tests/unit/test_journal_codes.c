/*
 * Every journal and receipt-proof reason code, triggered by the change a
 * user would make or suffer: malformed and forged checkpoints (as notes,
 * inside a log, inside a receipt proof), a checkpoint or a record moved
 * from another writer's log, an empty journal, receipt proofs edited in
 * every field, and trusted checkpoints that catch a log cut back to an
 * earlier state (which the journal alone cannot show).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "journal_testutil.h"

static wid_seckey sk;
static wid_pubkey pk;

static int
setup(void **state)
{
    (void) state;
    jt_keypair(&sk, &pk);
    return 0;
}


/* n records by w, checkpoints every 10, one segment, closed. */
static void
build(const char *dir, const char *w, unsigned n, unsigned salt)
{
    wid_journal_options o;
    wid_journal        *j;
    wid_receipt         r;
    unsigned            i;

    memset(&o, 0, sizeof(o));
    o.checkpoint_every_records = 10;
    o.segment_max_bytes = 1u << 20;
    o.fsync = WID_FSYNC_NEVER;
    o.origin_prefix = "test.example/wid";
    assert_int_equal(wid_journal_open(dir, w, &sk, &o, 1000, &j, NULL),
                     WID_OK);
    for (i = 0; i < n; i++) {
        jt_receipt(&r, i + salt);
        assert_int_equal(wid_journal_append(j, &r, 1000 + i, NULL, NULL),
                         WID_OK);
    }
    assert_int_equal(wid_journal_close(j, 5000), WID_OK);
}

/* A segment file held in memory with its frame table. */
typedef struct {
    char           path[256];
    unsigned char *buf;
    size_t         len, nf;
    uint64_t       offs[512];
    uint8_t        types[512];
} seg_t;

static void
seg_load(seg_t *s, const char *dir, const char *w)
{
    jt_seg_path(s->path, sizeof(s->path), dir, w, 1);
    s->buf = jt_read(s->path, &s->len);
    assert_non_null(s->buf);
    s->nf = jt_frames(s->buf, s->len, s->offs, s->types, 512);
}

/*
 * Index of the k-th frame of a type (k from 0).  Checkpoint 0 of a log is
 * the one of the empty tree its writer signs when it opens the log.
 */
static size_t
seg_nth(const seg_t *s, uint8_t type, unsigned k)
{
    size_t i;

    for (i = 0; i < s->nf; i++) {
        if (s->types[i] == type && k-- == 0) {
            return i;
        }
    }
    fail_msg("no frame %u of type %u", k, (unsigned) type);
    return 0;
}

static const unsigned char *
frame_data(const seg_t *s, size_t i, uint32_t *len)
{
    size_t end = i + 1 < s->nf ? s->offs[i + 1] : s->len;

    *len = (uint32_t) (end - s->offs[i] - WID_FRAME_HDR);
    return s->buf + s->offs[i] + WID_FRAME_HDR;
}

/*
 * Write s back with frame i replaced by a correctly framed (CRC sealed)
 * frame of the given type and data: the damage is in the content, which
 * the CRC cannot reveal since whoever changed it could recompute it.
 */
static void
seg_replace(const seg_t *s, size_t i, uint8_t type, const void *data,
            uint32_t len)
{
    size_t         end = i + 1 < s->nf ? s->offs[i + 1] : s->len;
    size_t         total = s->offs[i] + WID_FRAME_HDR + len + (s->len - end);
    unsigned char *out = malloc(total);

    assert_non_null(out);
    memcpy(out, s->buf, s->offs[i]);
    memcpy(out + s->offs[i] + WID_FRAME_HDR, data, len);
    wid_frame_seal(out + s->offs[i], type, len);
    memcpy(out + s->offs[i] + WID_FRAME_HDR + len, s->buf + end,
           s->len - end);
    jt_write(s->path, out, total);
    free(out);
}

static void
seg_restore(const seg_t *s)
{
    jt_write(s->path, s->buf, s->len);
}

/* The checkpoint in frame i, verified. */
static void
seg_checkpoint(const seg_t *s, size_t i, wid_checkpoint *cp, char *note,
               size_t cap)
{
    uint32_t             len;
    const unsigned char *d = frame_data(s, i, &len);

    assert_int_equal(s->types[i], WID_REC_CHECKPOINT);
    assert_true(len < cap);
    memcpy(note, d, len);
    note[len] = '\0';
    assert_int_equal(wid_checkpoint_verify(note, len, pk.pk, cp), WID_OK);
}

static void
expect_first(const char *dir, wid_reason_t want, const char *kind)
{
    wid_reason_t first = WID_OK;
    const char  *k = NULL;
    size_t       n = jt_verify(dir, &pk, 0, &first, &k, NULL);

    if (n == 0 || n == (size_t) -1 || first != want) {
        fail_msg("verify: %zu error(s), first %s, want %s", n,
                 wid_reason_code(first), wid_reason_code(want));
    }
    assert_string_equal(k, kind);
}

/* ---------------------------------------------------------- notes */

static void
sign_note(const char *origin, uint64_t size, char *out, size_t cap)
{
    wid_checkpoint c;
    size_t         len;

    memset(&c, 0, sizeof(c));
    snprintf(c.origin, sizeof(c.origin), "%s", origin);
    c.size = size;
    memset(c.root, 0xab, 32);
    assert_int_equal(wid_checkpoint_sign(&c, "wid-receipts", sk.sk, out, cap,
                                         &len), WID_OK);
    assert_int_equal(strlen(out), len);
}

static wid_reason_t
note_verify(const char *note)
{
    wid_checkpoint c;

    return wid_checkpoint_verify(note, strlen(note), pk.pk, &c);
}

static void
test_checkpoint_notes(void **state)
{
    char           good[WID_CHECKPOINT_MAX + 1], b[4096], *sig, *p;
    wid_checkpoint c;
    wid_seckey     sk2;
    wid_pubkey     pk2;
    size_t         n, i;
    static const char *const malformed[] = {
        "",
        "a/w/0\n1\n",
        "a/w/0\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n",
        "a/w/0\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n",
        "\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n"
            "\xe2\x80\x94 k AAAAAA==\n",
        "a/w/0\n01\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n"
            "\xe2\x80\x94 k AAAAAA==\n",
        "a/w/0\n18446744073709551616\n"
            "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n"
            "\xe2\x80\x94 k AAAAAA==\n",
        "a/w/0\n-1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n"
            "\xe2\x80\x94 k AAAAAA==\n",
        "a/w/0\n1\nq6urq6ur\n\n\xe2\x80\x94 k AAAAAA==\n",
        "a/w/0\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n"
            "- k AAAAAA==\n",
        "a/w/0\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n"
            "\xe2\x80\x94 k !!!!\n",
        "a/w/0\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n"
            "\xe2\x80\x94 kAAAAAA==\n",
        "a/w/0\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n"
            "\xe2\x80\x94 k AAAAAA==",
        "a/w/0\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n"
            "\xe2\x80\x94 k AAAA\n",
        "a/w\t/0\n1\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n"
            "\xe2\x80\x94 k AAAAAA==\n",
    };

    (void) state;
    sign_note("test.example/wid/w1/0", 17, good, sizeof(good));
    assert_int_equal(wid_checkpoint_verify(good, strlen(good), pk.pk, &c),
                     WID_OK);
    assert_string_equal(c.origin, "test.example/wid/w1/0");
    assert_int_equal(c.size, 17);

    for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        if (note_verify(malformed[i]) != WID_R_JOURNAL_CHECKPOINT_MALFORMED) {
            fail_msg("malformed note %zu accepted as %s", i,
                     wid_reason_code(note_verify(malformed[i])));
        }
    }
    /* Longer than any checkpoint we accept. */
    memset(b, 'a', sizeof(b) - 1);
    b[sizeof(b) - 1] = '\0';
    assert_int_equal(note_verify(b), WID_R_JOURNAL_CHECKPOINT_MALFORMED);

    /* Our key's line with a wrong signature: a forgery. */
    snprintf(b, sizeof(b), "%s", good);
    sig = strstr(b, "wid-receipts ") + strlen("wid-receipts ");
    sig[10] = sig[10] == 'A' ? 'B' : 'A';       /* still base64 */
    assert_int_equal(note_verify(b), WID_R_JOURNAL_CHECKPOINT_SIGNATURE);
    /* The body changed under a valid signature. */
    snprintf(b, sizeof(b), "%s", good);
    b[strlen("test.example/wid/w1/0\n")] = '2';
    assert_int_equal(note_verify(b), WID_R_JOURNAL_CHECKPOINT_SIGNATURE);
    /* Our key id with a signature of the wrong length. */
    {
        uint8_t blob[4 + 10];

        memset(blob, 0, sizeof(blob));
        wid_note_key_id("wid-receipts", pk.pk, blob);
        snprintf(b, sizeof(b), "%s", good);
        p = strstr(b, "wid-receipts ") + strlen("wid-receipts ");
        sodium_bin2base64(p, sizeof(b) - (size_t) (p - b), blob, sizeof(blob),
                          sodium_base64_VARIANT_ORIGINAL);
        n = strlen(b);
        b[n] = '\n';
        b[n + 1] = '\0';
        assert_int_equal(note_verify(b), WID_R_JOURNAL_CHECKPOINT_SIGNATURE);
    }

    /* Signed by another key only: unsigned for us. */
    jt_keypair(&sk2, &pk2);
    assert_int_equal(wid_checkpoint_verify(good, strlen(good), pk2.pk, &c),
                     WID_R_JOURNAL_CHECKPOINT_UNSIGNED);
    /* Other keys' lines (a witness cosignature) are ignored. */
    snprintf(b, sizeof(b), "%s\xe2\x80\x94 witness.example AAAAAAAAAAAA\n",
             good);
    assert_int_equal(note_verify(b), WID_OK);
    /* ... whatever their size (a tlog-cosignature is 4 + 72 bytes) and
     * whatever their name (UTF-8, longer than ours may be). */
    {
        static const char *names[] = {
            "witness.example", "w\xc3\xaftness.example",
            "a-very-long-witness-name-that-is-longer-than-any-key-name-"
            "a-wid-writer-could-have-by-a-margin-of-quite-a-few-bytes-"
            "really-quite-a-few-of-them-indeed.example"
        };
        uint8_t blob[4 + 72];
        size_t  k;

        memset(blob, 0x5a, sizeof(blob));
        for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
            n = (size_t) snprintf(b, sizeof(b), "%s\xe2\x80\x94 %s ", good,
                                  names[k]);
            sodium_bin2base64(b + n, sizeof(b) - n, blob, sizeof(blob),
                              sodium_base64_VARIANT_ORIGINAL);
            n = strlen(b);
            b[n] = '\n';
            b[n + 1] = '\0';
            assert_int_equal(note_verify(b), WID_OK);
        }
    }
    /* A name with '+' or a control character is no key name at all. */
    snprintf(b, sizeof(b), "%s\xe2\x80\x94 wit+ness AAAAAAAAAAAA\n", good);
    assert_int_equal(note_verify(b), WID_R_JOURNAL_CHECKPOINT_MALFORMED);
    snprintf(b, sizeof(b), "%s\xe2\x80\x94 wit\x01ness AAAAAAAAAAAA\n", good);
    assert_int_equal(note_verify(b), WID_R_JOURNAL_CHECKPOINT_MALFORMED);
}

/* -------------------------------------------------- inside the log */

static void
test_log_checkpoint_codes(void **state)
{
    char        dir[64], note[WID_CHECKPOINT_MAX + 1], *sig;
    seg_t       s1, s2;
    size_t      i, k;
    uint32_t    len;
    wid_checkpoint cp;
    const unsigned char *d;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    build(dir, "w1", 30, 0);
    build(dir, "w2", 30, 100);
    assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, NULL), 0);
    seg_load(&s1, dir, "w1");
    seg_load(&s2, dir, "w2");

    /* Garbage where the second checkpoint (after 10 records) was. */
    i = seg_nth(&s1, WID_REC_CHECKPOINT, 2);
    seg_replace(&s1, i, WID_REC_CHECKPOINT, "not a note\n", 11);
    expect_first(dir, WID_R_JOURNAL_CHECKPOINT_MALFORMED, "sig");

    /* Its signature changed (a forged checkpoint). */
    seg_checkpoint(&s1, i, &cp, note, sizeof(note));
    sig = strstr(note, "wid-receipts ") + strlen("wid-receipts ");
    sig[12] = sig[12] == 'Q' ? 'R' : 'Q';
    seg_replace(&s1, i, WID_REC_CHECKPOINT, note, (uint32_t) strlen(note));
    expect_first(dir, WID_R_JOURNAL_CHECKPOINT_SIGNATURE, "sig");

    /* w2's checkpoint (validly signed, same key) put into w1's log. */
    k = seg_nth(&s2, WID_REC_CHECKPOINT, 2);
    d = frame_data(&s2, k, &len);
    seg_replace(&s1, i, WID_REC_CHECKPOINT, d, len);
    expect_first(dir, WID_R_JOURNAL_CHECKPOINT_ORIGIN, "origin");

    /* w2's receipt put into w1's log at the same seq. */
    seg_restore(&s1);
    i = seg_nth(&s1, WID_REC_RECEIPT, 12);
    k = seg_nth(&s2, WID_REC_RECEIPT, 12);
    d = frame_data(&s2, k, &len);
    seg_replace(&s1, i, WID_REC_RECEIPT, d, len);
    expect_first(dir, WID_R_JOURNAL_WRITER_MISMATCH, "writer");

    /* A receipt of an unknown schema version, correctly framed. */
    {
        unsigned char rec[WID_RECEIPT_MAX];
        wid_reason_t  first;
        const char   *kind;

        seg_restore(&s1);
        d = frame_data(&s1, i, &len);
        memcpy(rec, d, len);
        rec[7] = WID_RECEIPT_VERSION + 1;
        seg_replace(&s1, i, WID_REC_RECEIPT, rec, len);
        assert_true(jt_verify(dir, &pk, 0, &first, &kind, NULL) > 0);
        assert_int_equal(first, WID_R_RECEIPT_UNSUPPORTED_VERSION);
        assert_string_equal(kind, "record");
    }
    seg_restore(&s1);
    assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, NULL), 0);
    free(s1.buf);
    free(s2.buf);
    jt_rmrf(dir);
}

static void
test_empty_journal(void **state)
{
    char                      dir[64], sub[128];
    wid_journal_verify_result res;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    assert_int_equal(wid_journal_verify(dir, &pk, 0, NULL, &res),
                     WID_R_JOURNAL_EMPTY);
    /* Things that are not writer logs do not count. */
    snprintf(sub, sizeof(sub), "%s/.hidden", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    snprintf(sub, sizeof(sub), "%s/file", dir);
    jt_write(sub, (const unsigned char *) "x", 1);
    assert_int_equal(wid_journal_verify(dir, &pk, 0, NULL, &res),
                     WID_R_JOURNAL_EMPTY);
    snprintf(sub, sizeof(sub), "%s/nope", dir);
    assert_int_equal(wid_journal_verify(sub, &pk, 0, NULL, &res),
                     WID_R_INTERNAL_IO);
    jt_rmrf(dir);
}

/* ------------------------------------------------------ trusted */

typedef struct {
    size_t       errors;
    wid_reason_t first;
    const char  *kind;
    char         writer[WID_WRITER_MAX + 1];
} tctx;

static void
tfind(void *ctx, const wid_journal_finding *f)
{
    tctx *c = ctx;

    if (!f->warning && c->errors++ == 0) {
        c->first = f->reason;
        c->kind = f->kind;
        snprintf(c->writer, sizeof(c->writer), "%s", f->writer);
    }
}

static size_t
verify_trusted(const char *dir, const wid_checkpoint *cps, size_t n,
               tctx *c)
{
    wid_journal_trusted       t = { cps, n };
    wid_journal_verify_cb     cb = { tfind, NULL, c, NULL };
    wid_journal_verify_result res;

    memset(c, 0, sizeof(*c));
    assert_int_equal(wid_journal_verify_trusted(dir, &pk, 0, &t, &cb, &res),
                     WID_OK);
    assert_int_equal(res.errors, c->errors);
    return c->errors;
}

static void
test_trusted_checkpoint(void **state)
{
    char           dir[64], other[64], note[WID_CHECKPOINT_MAX + 1];
    char           w[WID_WRITER_MAX + 1], path[256];
    seg_t          s;
    size_t         last, second;
    wid_checkpoint cps[3], cp_old;
    uint32_t       epoch;
    tctx           c;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    build(dir, "w1", 30, 0);
    build(dir, "w2", 5, 0);
    seg_load(&s, dir, "w1");
    last = seg_nth(&s, WID_REC_CHECKPOINT, 3);
    second = seg_nth(&s, WID_REC_CHECKPOINT, 2);
    seg_checkpoint(&s, last, &cps[0], note, sizeof(note));
    seg_checkpoint(&s, second, &cp_old, note, sizeof(note));
    assert_int_equal(cps[0].size, 30);
    assert_int_equal(cp_old.size, 20);
    assert_int_equal(wid_origin_writer(cps[0].origin, w, &epoch), 0);
    assert_string_equal(w, "w1");
    assert_int_equal(epoch, 0);

    /* The intact log agrees with the saved checkpoints. */
    assert_int_equal(verify_trusted(dir, cps, 1, &c), 0);
    assert_int_equal(verify_trusted(dir, &cp_old, 1, &c), 0);

    /* Cut back to its state at the second checkpoint: a valid journal
     * on its own, but not with the checkpoint saved later. */
    jt_write(s.path, s.buf, s.offs[second + 1]);
    assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, NULL), 0);
    assert_int_equal(verify_trusted(dir, cps, 1, &c), 1);
    assert_int_equal(c.first, WID_R_JOURNAL_TRUNCATED);
    assert_string_equal(c.kind, "truncated");
    assert_string_equal(c.writer, "w1");
    assert_int_equal(verify_trusted(dir, &cp_old, 1, &c), 0);

    /* The whole writer log removed. */
    seg_restore(&s);
    snprintf(path, sizeof(path), "%s/w1/lock", dir);
    remove(path);
    snprintf(path, sizeof(path), "%s/w1/closed", dir);
    remove(path);
    remove(s.path);
    snprintf(path, sizeof(path), "%s/w1", dir);
    assert_int_equal(rmdir(path), 0);
    assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, NULL), 0);
    assert_int_equal(verify_trusted(dir, cps, 1, &c), 1);
    assert_int_equal(c.first, WID_R_JOURNAL_TRUNCATED);
    assert_string_equal(c.writer, "w1");

    /* An epoch the log does not have (its segments removed). */
    cps[1] = cp_old;
    snprintf(cps[1].origin, sizeof(cps[1].origin), "test.example/wid/w2/3");
    assert_int_equal(verify_trusted(dir, &cps[1], 1, &c), 1);
    assert_int_equal(c.first, WID_R_JOURNAL_TRUNCATED);
    assert_string_equal(c.writer, "w2");

    /* Another log under the same name and origin (rewritten history):
     * the saved checkpoint's root does not match its leaves. */
    jt_tmpdir(other, sizeof(other));
    build(other, "w1", 30, 7);
    assert_int_equal(jt_verify(other, &pk, 0, NULL, NULL, NULL), 0);
    assert_int_equal(verify_trusted(other, cps, 1, &c), 1);
    assert_int_equal(c.first, WID_R_JOURNAL_CHECKPOINT_INCONSISTENT);
    assert_string_equal(c.kind, "trusted");
    assert_int_equal(verify_trusted(other, &cp_old, 1, &c), 1);
    assert_int_equal(c.first, WID_R_JOURNAL_CHECKPOINT_INCONSISTENT);

    free(s.buf);
    jt_rmrf(other);
    jt_rmrf(dir);
}

/* A later segment of an epoch naming another origin: a header fault,
 * said as such (it was reported as a seq fault with equal numbers). */
static void
test_segment_origin_mismatch(void **state)
{
    char                 dir[64];
    wid_journal_options  o;
    wid_journal         *j;
    wid_receipt          r;
    wid_seg_header       h;
    seg_t                s;
    unsigned             i;
    uint32_t             len;
    uint8_t              hdr[512];
    size_t               n;
    const unsigned char *d;
    wid_reason_t         first = WID_OK;
    const char          *kind = NULL;

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    memset(&o, 0, sizeof(o));
    o.checkpoint_every_records = 10;
    o.segment_max_bytes = 4096;
    o.fsync = WID_FSYNC_NEVER;
    o.origin_prefix = "test.example/wid";
    assert_int_equal(wid_journal_open(dir, "w1", &sk, &o, 1000, &j, NULL),
                     WID_OK);
    for (i = 0; i < 40; i++) {
        jt_receipt(&r, i);
        assert_int_equal(wid_journal_append(j, &r, 1000 + i, NULL, NULL),
                         WID_OK);
    }
    assert_int_equal(wid_journal_close(j, 5000), WID_OK);
    assert_int_equal(jt_verify(dir, &pk, 0, NULL, NULL, NULL), 0);

    jt_seg_path(s.path, sizeof(s.path), dir, "w1", 2);
    s.buf = jt_read(s.path, &s.len);
    assert_non_null(s.buf);
    s.nf = jt_frames(s.buf, s.len, s.offs, s.types, 512);
    d = frame_data(&s, 0, &len);
    assert_int_equal(wid_seg_header_decode(d, len, &h), WID_OK);
    snprintf(h.origin, sizeof(h.origin), "elsewhere.example/w1/0");
    n = wid_seg_header_encode(&h, hdr, sizeof(hdr));
    assert_true(n > 0);
    seg_replace(&s, 0, WID_REC_SEGMENT, hdr, (uint32_t) n);

    n = jt_verify(dir, &pk, 0, &first, &kind, NULL);
    assert_true(n > 0 && n != (size_t) -1);
    assert_int_equal(first, WID_R_JOURNAL_SEGMENT_HEADER);
    assert_string_equal(kind, "header");

    free(s.buf);
    jt_rmrf(dir);
}

static void
test_origin_writer(void **state)
{
    char     w[WID_WRITER_MAX + 1];
    uint32_t e;

    (void) state;
    assert_int_equal(wid_origin_writer("host/nginx-1/12", w, &e), 0);
    assert_string_equal(w, "nginx-1");
    assert_int_equal(e, 12);
    assert_int_equal(wid_origin_writer("a/b/w/0", w, &e), 0);
    assert_string_equal(w, "w");
    assert_int_equal(wid_origin_writer("w/0", w, &e), -1);
    assert_int_equal(wid_origin_writer("host/w/", w, &e), -1);
    assert_int_equal(wid_origin_writer("host/w/x1", w, &e), -1);
    assert_int_equal(wid_origin_writer("host/w/4294967296", w, &e), -1);
    assert_int_equal(wid_origin_writer("host//1", w, &e), -1);
    assert_int_equal(wid_origin_writer("host/../1", w, &e), -1);
}

/* ------------------------------------------------- receipt proofs */

static json_t *
proof_of(const char *dir, unsigned seq)
{
    seg_t    s;
    size_t   i;
    uint32_t len;
    char     id[WID_RECEIPT_ID_SIZE];
    json_t  *p;
    const unsigned char *d;

    seg_load(&s, dir, "w1");
    i = seg_nth(&s, WID_REC_RECEIPT, seq);
    d = frame_data(&s, i, &len);
    wid_receipt_id(d, len, id);
    free(s.buf);
    assert_int_equal(wid_journal_prove(dir, id, &p), WID_OK);
    return p;
}

static wid_reason_t
proof_check(json_t *p)
{
    uint8_t         *bytes = NULL;
    wid_receipt_view v;
    wid_checkpoint   cp;
    wid_reason_t     rc = wid_receipt_proof_verify(p, &pk, &bytes, &v, &cp);

    free(bytes);
    return rc;
}

static void
set_b64(json_t *p, const char *key, const uint8_t *b, size_t n)
{
    char s[2 * WID_RECEIPT_MAX];

    sodium_bin2base64(s, sizeof(s), b, n, sodium_base64_VARIANT_ORIGINAL);
    json_object_set_new(p, key, json_string(s));
}

static void
test_proof_codes(void **state)
{
    char        dir[64], note[WID_CHECKPOINT_MAX + 1], *sig;
    json_t     *p, *q, *arr;
    uint8_t     rec[WID_RECEIPT_MAX];
    size_t      n, i;
    seg_t       s2;
    uint32_t    len;
    wid_checkpoint cp;
    static const char *const required[] = {
        "format", "id", "receipt", "leaf_index", "tree_size",
        "inclusion_proof", "checkpoint",
    };

    (void) state;
    jt_tmpdir(dir, sizeof(dir));
    build(dir, "w1", 30, 0);
    build(dir, "w2", 30, 100);
    p = proof_of(dir, 11);
    assert_int_equal(proof_check(p), WID_OK);
    /* The informative "decoded" member plays no part. */
    json_object_del(p, "decoded");
    assert_int_equal(proof_check(p), WID_OK);

    /* Any required member missing or of the wrong type. */
    for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        q = json_deep_copy(p);
        json_object_del(q, required[i]);
        assert_int_equal(proof_check(q), WID_R_RECEIPT_PROOF_MALFORMED);
        json_object_set_new(q, required[i], json_real(1.5));
        assert_int_equal(proof_check(q), WID_R_RECEIPT_PROOF_MALFORMED);
        json_decref(q);
    }
    q = json_array();
    assert_int_equal(proof_check(q), WID_R_RECEIPT_PROOF_MALFORMED);
    json_decref(q);
    q = json_deep_copy(p);
    json_object_set_new(q, "format", json_string("wid-receipt-proof-v2"));
    assert_int_equal(proof_check(q), WID_R_RECEIPT_PROOF_MALFORMED);
    json_object_set_new(q, "format", json_string("wid-receipt-proof-v1"));
    json_object_set_new(q, "leaf_index", json_integer(-1));
    assert_int_equal(proof_check(q), WID_R_RECEIPT_PROOF_MALFORMED);
    json_decref(q);
    q = json_deep_copy(p);
    json_object_set_new(q, "receipt", json_string("not base64!"));
    assert_int_equal(proof_check(q), WID_R_RECEIPT_PROOF_MALFORMED);
    json_decref(q);
    q = json_deep_copy(p);
    arr = json_object_get(q, "inclusion_proof");
    json_array_append_new(arr, json_string("AAAA"));
    assert_int_equal(proof_check(q), WID_R_RECEIPT_PROOF_MALFORMED);
    json_array_clear(arr);
    for (i = 0; i < WID_MERKLE_MAX_PROOF + 1; i++) {
        json_array_append_new(arr, json_string(
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
    }
    assert_int_equal(proof_check(q), WID_R_RECEIPT_PROOF_MALFORMED);
    json_decref(q);

    /* The id of another receipt. */
    q = json_deep_copy(p);
    json_object_set_new(q, "id",
                        json_string("wr1-00000000000000000000000000000000"));
    assert_int_equal(proof_check(q), WID_R_RECEIPT_ID_MISMATCH);
    json_decref(q);

    /* Receipt bytes changed: new schema version, or not a receipt. */
    q = json_deep_copy(p);
    n = 0;
    assert_int_equal(sodium_base642bin(rec, sizeof(rec),
        json_string_value(json_object_get(q, "receipt")),
        strlen(json_string_value(json_object_get(q, "receipt"))), NULL, &n,
        NULL, sodium_base64_VARIANT_ORIGINAL), 0);
    rec[7] = WID_RECEIPT_VERSION + 1;
    set_b64(q, "receipt", rec, n);
    assert_int_equal(proof_check(q), WID_R_RECEIPT_UNSUPPORTED_VERSION);
    rec[7] = WID_RECEIPT_VERSION;
    set_b64(q, "receipt", rec, n - 1);
    assert_int_equal(proof_check(q), WID_R_RECEIPT_MALFORMED);
    json_decref(q);

    /* The checkpoint: garbage, forged, another writer's. */
    q = json_deep_copy(p);
    json_object_set_new(q, "checkpoint", json_string("hello\n"));
    assert_int_equal(proof_check(q), WID_R_JOURNAL_CHECKPOINT_MALFORMED);
    snprintf(note, sizeof(note), "%s",
             json_string_value(json_object_get(p, "checkpoint")));
    sig = strstr(note, "wid-receipts ") + strlen("wid-receipts ");
    sig[12] = sig[12] == 'Q' ? 'R' : 'Q';
    json_object_set_new(q, "checkpoint", json_string(note));
    assert_int_equal(proof_check(q), WID_R_JOURNAL_CHECKPOINT_SIGNATURE);
    seg_load(&s2, dir, "w2");
    i = seg_nth(&s2, WID_REC_CHECKPOINT, 3);
    seg_checkpoint(&s2, i, &cp, note, sizeof(note));
    assert_int_equal(cp.size, 30);
    json_object_set_new(q, "checkpoint", json_string(note));
    assert_int_equal(proof_check(q), WID_R_JOURNAL_CHECKPOINT_ORIGIN);
    json_decref(q);

    /* The inclusion proof altered. */
    q = json_deep_copy(p);
    arr = json_object_get(q, "inclusion_proof");
    json_array_set_new(arr, 0, json_string(
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
    assert_int_equal(proof_check(q), WID_R_RECEIPT_NOT_INCLUDED);
    json_decref(q);
    q = json_deep_copy(p);
    json_object_set_new(q, "tree_size", json_integer(29));
    assert_int_equal(proof_check(q), WID_R_RECEIPT_NOT_INCLUDED);
    json_decref(q);

    (void) len;
    free(s2.buf);
    json_decref(p);
    jt_rmrf(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checkpoint_notes),
        cmocka_unit_test(test_log_checkpoint_codes),
        cmocka_unit_test(test_empty_journal),
        cmocka_unit_test(test_trusted_checkpoint),
        cmocka_unit_test(test_segment_origin_mismatch),
        cmocka_unit_test(test_origin_writer),
        cmocka_unit_test(test_proof_codes),
    };
    return cmocka_run_group_tests_name("journal_codes", tests, setup, NULL);
}
