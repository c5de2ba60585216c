/*
 * Journal scans (query, export) and standalone receipt proofs.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "base64.h"
#include "journal_read.h"

#define WID_PROOF_FORMAT "wid-receipt-proof-v1"


static wid_reason_t
wid_scan_writer(const char *dir, const char *writer, wid_journal_rec_fn fn,
                void *ctx, size_t *skipped, int *stop)
{
    const uint8_t  *map;
    uint64_t       *segs, size, off;
    size_t          n, i;
    int             dirfd;
    wid_frame       f;
    wid_seg_header  h;
    wid_journal_rec r;
    wid_reason_t    rc;

    rc = wid_writer_open_read(dir, writer, &dirfd, &segs, &n);
    if (rc != WID_OK) {
        return rc;
    }
    for (i = 0; i < n && !*stop; i++) {
        if (wid_seg_map(dirfd, segs[i], &map, &size) != WID_OK) {
            (*skipped)++;
            continue;
        }
        off = 0;
        while (off < size && !*stop) {
            if (wid_frame_parse(map, size, off, &f) != WID_OK) {
                (*skipped)++;
                break;
            }
            if (off == 0) {
                if (f.type != WID_REC_SEGMENT
                    || wid_seg_header_decode(f.data, f.len, &h) != WID_OK)
                {
                    (*skipped)++;
                    break;
                }
            } else {
                r.writer = writer;
                r.header = &h;
                r.segment = segs[i];
                r.offset = off;
                r.type = f.type;
                r.data = f.data;
                r.len = f.len;
                if (fn(ctx, &r) != 0) {
                    *stop = 1;
                }
            }
            off = f.next;
        }
        wid_seg_unmap(map, size);
    }
    free(segs);
    close(dirfd);
    return WID_OK;
}


wid_reason_t
wid_journal_scan(const char *dir, const char *writer, wid_journal_rec_fn fn,
                 void *ctx, size_t *skipped)
{
    char       **names;
    size_t       n, i, sk = 0;
    int          stop = 0;
    wid_reason_t rc = WID_OK;

    if (writer) {
        rc = wid_scan_writer(dir, writer, fn, ctx, &sk, &stop);
    } else {
        rc = wid_journal_writers(dir, &names, &n);
        if (rc != WID_OK) {
            return rc;
        }
        for (i = 0; i < n && rc == WID_OK && !stop; i++) {
            rc = wid_scan_writer(dir, names[i], fn, ctx, &sk, &stop);
        }
        wid_journal_writers_free(names, n);
    }
    if (skipped) {
        *skipped = sk;
    }
    return rc;
}


/* Pass 1 of prove: find the receipt by id. */
typedef struct {
    uint8_t  want[16];
    int      found;
    char     writer[WID_WRITER_MAX + 1];
    uint32_t epoch;
    uint64_t index;
    uint8_t *bytes;
    size_t   len;
} wid_find_ctx;


static int
wid_find_cb(void *ctx, const wid_journal_rec *r)
{
    wid_find_ctx *c = ctx;
    uint8_t       leaf[32];
    uint64_t      seq;

    if (r->type != WID_REC_RECEIPT) {
        return 0;
    }
    wid_merkle_leaf_hash(r->data, r->len, leaf);
    if (memcmp(leaf, c->want, 16) != 0
        || wid_leaf_seq(r->type, r->data, r->len, &seq) != 0
        || seq < r->header->epoch_start_seq)
    {
        return 0;
    }
    c->bytes = malloc(r->len);
    if (c->bytes == NULL) {
        return 1;
    }
    memcpy(c->bytes, r->data, r->len);
    c->len = r->len;
    c->found = 1;
    snprintf(c->writer, sizeof(c->writer), "%s", r->writer);
    c->epoch = r->header->epoch;
    c->index = seq - r->header->epoch_start_seq;
    return 1;
}


/* Pass 2: the epoch's leaves and its latest checkpoint covering index. */
typedef struct {
    uint32_t         epoch;
    uint64_t         index;
    uint8_t        (*leaves)[32];
    uint64_t         n, cap;
    char             note[WID_CHECKPOINT_MAX + 1];
    size_t           note_len;
    wid_checkpoint   cp;
    int              have_cp;
    int              nomem;
} wid_tree_ctx;


static int
wid_tree_cb(void *ctx, const wid_journal_rec *r)
{
    wid_tree_ctx *c = ctx;
    void         *nv;
    wid_checkpoint cp;

    if (r->header->epoch != c->epoch) {
        return 0;
    }
    if (WID_REC_IS_LEAF(r->type)) {
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 4096;
            nv = realloc(c->leaves, c->cap * 32);
            if (nv == NULL) {
                c->nomem = 1;
                return 1;
            }
            c->leaves = nv;
        }
        wid_merkle_leaf_hash(r->data, r->len, c->leaves[c->n++]);
    } else if (r->type == WID_REC_CHECKPOINT && r->len <= WID_CHECKPOINT_MAX
               && wid_checkpoint_parse((const char *) r->data, r->len, &cp)
                  == WID_OK
               && cp.size > c->index && cp.size == c->n)
    {
        memcpy(c->note, r->data, r->len);
        c->note[r->len] = '\0';
        c->note_len = r->len;
        c->cp = cp;
        c->have_cp = 1;
    }
    return 0;
}


static json_t *
wid_b64(const uint8_t *p, size_t n)
{
    char   *s = wid_b64_encode_alloc(p, n);
    json_t *j;

    if (s == NULL) {
        return NULL;
    }
    j = json_string(s);
    free(s);
    return j;
}


wid_reason_t
wid_journal_prove(const char *dir, const char *receipt_id, json_t **out)
{
    wid_find_ctx     fc;
    wid_tree_ctx     tc;
    wid_receipt_view v;
    uint8_t          root[32];
    uint8_t          proof[WID_MERKLE_MAX_PROOF][WID_HASH_LEN];
    size_t           count, i, bl;
    json_t          *o = NULL, *arr;
    wid_reason_t     rc;

    *out = NULL;
    memset(&fc, 0, sizeof(fc));
    memset(&tc, 0, sizeof(tc));
    if (strlen(receipt_id) != WID_RECEIPT_ID_LEN
        || strncmp(receipt_id, WID_RECEIPT_ID_PREFIX, 4) != 0
        || sodium_hex2bin(fc.want, 16, receipt_id + 4, 32, NULL, &bl, NULL)
           != 0 || bl != 16)
    {
        return WID_R_JOURNAL_NOT_FOUND;
    }
    rc = wid_journal_scan(dir, NULL, wid_find_cb, &fc, NULL);
    if (rc != WID_OK) {
        return rc;
    }
    if (!fc.found) {
        free(fc.bytes);
        return fc.bytes == NULL && fc.len ? WID_R_INTERNAL_NOMEM
                                          : WID_R_JOURNAL_NOT_FOUND;
    }
    tc.epoch = fc.epoch;
    tc.index = fc.index;
    rc = wid_journal_scan(dir, fc.writer, wid_tree_cb, &tc, NULL);
    if (rc == WID_OK && tc.nomem) {
        rc = WID_R_INTERNAL_NOMEM;
    }
    if (rc == WID_OK && !tc.have_cp) {
        rc = WID_R_JOURNAL_NOT_COVERED;
    }
    if (rc == WID_OK) {
        /* Never hand out a proof against a checkpoint the log contradicts. */
        wid_merkle_root((const uint8_t (*)[32]) tc.leaves, tc.cp.size, root);
        if (sodium_memcmp(root, tc.cp.root, 32) != 0) {
            rc = WID_R_JOURNAL_CHECKPOINT_ROOT;
        }
    }
    if (rc == WID_OK
        && wid_merkle_inclusion_proof(wid_merkle_array_range, tc.leaves,
                                      fc.index, tc.cp.size, proof, &count)
           != 0)
    {
        rc = WID_R_INTERNAL_NOMEM;
    }
    if (rc == WID_OK
        && wid_receipt_decode(fc.bytes, fc.len, &v) != WID_OK)
    {
        rc = WID_R_RECEIPT_MALFORMED;
    }
    if (rc == WID_OK) {
        o = json_object();
        arr = json_array();
        if (o == NULL || arr == NULL) {
            json_decref(arr);
            rc = WID_R_INTERNAL_NOMEM;
        } else {
            for (i = 0; i < count; i++) {
                json_array_append_new(arr, wid_b64(proof[i], 32));
            }
            json_object_set_new(o, "format", json_string(WID_PROOF_FORMAT));
            json_object_set_new(o, "id", json_string(receipt_id));
            json_object_set_new(o, "receipt", wid_b64(fc.bytes, fc.len));
            json_object_set_new(o, "leaf_index",
                                json_integer((json_int_t) fc.index));
            json_object_set_new(o, "tree_size",
                                json_integer((json_int_t) tc.cp.size));
            json_object_set_new(o, "inclusion_proof", arr);
            json_object_set_new(o, "checkpoint", json_string(tc.note));
            json_object_set_new(o, "decoded", wid_receipt_view_json(&v,
                                                                receipt_id));
            if (json_object_size(o) != 8) {
                json_decref(o);
                o = NULL;
                rc = WID_R_INTERNAL_NOMEM;
            }
        }
    }
    free(tc.leaves);
    free(fc.bytes);
    *out = o;
    return rc;
}


static int
wid_json_u64(json_t *o, const char *k, uint64_t *out)
{
    json_t *v = json_object_get(o, k);

    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        return -1;
    }
    *out = (uint64_t) json_integer_value(v);
    return 0;
}


wid_reason_t
wid_receipt_proof_verify(json_t *proof, const wid_pubkey *pk, uint8_t **bytes,
                         wid_receipt_view *v, wid_checkpoint *cp)
{
    uint8_t      hashes[WID_MERKLE_MAX_PROOF][WID_HASH_LEN], leaf[32];
    const char  *s, *note, *id, *last;
    char         calc[WID_RECEIPT_ID_SIZE], want[WID_ORIGIN_MAX + 64];
    uint64_t     index, size;
    size_t       len, n, i, bl, ol, wl;
    json_t      *arr, *e;
    uint8_t     *buf;
    wid_reason_t rc;

    *bytes = NULL;
    arr = json_object_get(proof, "inclusion_proof");
    s = json_string_value(json_object_get(proof, "receipt"));
    note = json_string_value(json_object_get(proof, "checkpoint"));
    id = json_string_value(json_object_get(proof, "id"));
    if (!json_is_object(proof)
        || json_string_value(json_object_get(proof, "format")) == NULL
        || strcmp(json_string_value(json_object_get(proof, "format")),
                  WID_PROOF_FORMAT) != 0
        || s == NULL || note == NULL || id == NULL || !json_is_array(arr)
        || json_array_size(arr) > WID_MERKLE_MAX_PROOF
        || wid_json_u64(proof, "leaf_index", &index) != 0
        || wid_json_u64(proof, "tree_size", &size) != 0
        || strlen(s) > 2 * WID_RECEIPT_MAX)
    {
        return WID_R_RECEIPT_PROOF_MALFORMED;
    }
    json_array_foreach(arr, i, e) {
        const char *h = json_string_value(e);

        if (h == NULL
            || wid_b64_decode(h, strlen(h), 0, hashes[i], 32, &bl) != 0
            || bl != 32)
        {
            return WID_R_RECEIPT_PROOF_MALFORMED;
        }
    }
    n = json_array_size(arr);
    buf = malloc(WID_RECEIPT_MAX);
    if (buf == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    if (wid_b64_decode(s, strlen(s), 0, buf, WID_RECEIPT_MAX, &len) != 0)
    {
        free(buf);
        return WID_R_RECEIPT_PROOF_MALFORMED;
    }
    rc = wid_receipt_decode(buf, len, v);
    if (rc != WID_OK) {
        free(buf);
        return rc;
    }
    wid_merkle_leaf_hash(buf, len, leaf);
    wid_receipt_id_from_leaf(leaf, calc);
    if (strcmp(calc, id) != 0) {
        free(buf);
        return WID_R_RECEIPT_ID_MISMATCH;
    }
    rc = wid_checkpoint_verify(note, strlen(note), pk->pk, cp);
    if (rc != WID_OK) {
        free(buf);
        return rc;
    }
    /* The checkpoint must be of this receipt's writer log:
     * origin = "<prefix>/<writer>/<epoch digits>". */
    ol = strlen(cp->origin);
    wl = (size_t) snprintf(want, sizeof(want), "/%.*s/",
                           (int) v->str[WID_RF_WRITER].len,
                           v->str[WID_RF_WRITER].p);
    last = strrchr(cp->origin, '/');
    if (last == NULL || last[1] == '\0'
        || strspn(last + 1, "0123456789") != strlen(last + 1)
        || (size_t) (last - cp->origin) + 1 < wl + 1
        || strncmp(last + 1 - wl, want, wl) != 0 || ol <= wl)
    {
        free(buf);
        return WID_R_JOURNAL_CHECKPOINT_ORIGIN;
    }
    if (size != cp->size
        || wid_merkle_verify_inclusion(index, cp->size, leaf,
               (const uint8_t (*)[WID_HASH_LEN]) hashes, n, cp->root) != 0)
    {
        free(buf);
        return WID_R_RECEIPT_NOT_INCLUDED;
    }
    *bytes = buf;
    return WID_OK;
}
