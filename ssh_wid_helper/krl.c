#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/sha.h>
#include <sodium.h>

#include "bytes.h"
#include "krl.h"

#define KRL_SECTION_CERTIFICATES      1
#define KRL_SECTION_EXPLICIT_KEY      2
#define KRL_SECTION_FINGERPRINT_SHA1  3
#define KRL_SECTION_SIGNATURE         4
#define KRL_SECTION_FINGERPRINT_SHA256 5
#define KRL_SECTION_EXTENSION         255

#define KRL_CERT_SERIAL_LIST    0x20
#define KRL_CERT_SERIAL_RANGE   0x21
#define KRL_CERT_SERIAL_BITMAP  0x22
#define KRL_CERT_KEY_ID         0x23
#define KRL_CERT_EXTENSION      0x39

#define KRL_MAGIC_LEN           8
#define KRL_KEY_ID_MAX          65536
#define KRL_COMMENT_MAX         65536
#define KRL_BITMAP_MAX          2048    /* sshd's mpint bound, in bytes */
/* A KRL is a whole file in memory: bound it like every other input. */
#define KRL_FILE_MAX            WID_FILE_MAX


void
ssh_krl_init(ssh_krl *krl)
{
    memset(krl, 0, sizeof(*krl));
}


static void
ssh_krl_blobs_free(ssh_krl_blob *b, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(b[i].data);
    }
    free(b);
}


void
ssh_krl_free(ssh_krl *krl)
{
    size_t i, j;

    for (i = 0; i < krl->ncerts; i++) {
        ssh_krl_certs *c = &krl->certs[i];

        free(c->ca_blob);
        free(c->serials);
        free(c->ranges);
        for (j = 0; j < c->nbitmaps; j++) {
            free(c->bitmaps[j].bits);
        }
        free(c->bitmaps);
        for (j = 0; j < c->nkey_ids; j++) {
            free(c->key_ids[j]);
        }
        free(c->key_ids);
    }
    free(krl->certs);
    ssh_krl_blobs_free(krl->keys, krl->nkeys);
    ssh_krl_blobs_free(krl->sha1s, krl->nsha1s);
    ssh_krl_blobs_free(krl->sha256s, krl->nsha256s);
    free(krl->comment);
    memset(krl, 0, sizeof(*krl));
}


/*
 * Make room for element n (the current count).  The capacity is the
 * next power of two at or above n, so growing happens at 0 and at powers
 * of two only: appending n entries costs O(n), not n reallocations.
 * Counts only grow, or shrink when duplicates are dropped, which keeps
 * the real capacity at or above the one implied.
 */
static void *
ssh_krl_grow(void *arr, size_t n, size_t size)
{
    size_t cap;

    if (n != 0 && (n & (n - 1)) != 0) {
        return arr;
    }
    cap = n == 0 ? 1 : n * 2;
    if (cap < n || cap > SIZE_MAX / size) {
        return NULL;
    }
    return realloc(arr, cap * size);
}


static ssh_krl_certs *
ssh_krl_certs_for(ssh_krl *krl, const unsigned char *blob, size_t len,
                  int create)
{
    ssh_krl_certs *c;
    size_t         i;

    for (i = 0; i < krl->ncerts; i++) {
        c = &krl->certs[i];
        if (c->ca_len == len && (len == 0 || memcmp(c->ca_blob, blob, len) == 0)) {
            return c;
        }
    }
    if (!create) {
        return NULL;
    }
    c = ssh_krl_grow(krl->certs, krl->ncerts, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    krl->certs = c;
    c = &krl->certs[krl->ncerts];
    memset(c, 0, sizeof(*c));
    if (len > 0) {
        if ((c->ca_blob = malloc(len)) == NULL) {
            return NULL;
        }
        memcpy(c->ca_blob, blob, len);
        c->ca_len = len;
    }
    krl->ncerts++;
    return c;
}


/* Binary search; returns the index where v is or would be inserted. */
static size_t
ssh_krl_serial_pos(const ssh_krl_certs *c, uint64_t v)
{
    size_t lo = 0, hi = c->nserials, mid;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (c->serials[mid] < v) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}


static wid_reason_t
ssh_krl_add_serial(ssh_krl_certs *c, uint64_t v)
{
    uint64_t *ns;
    size_t    pos;

    pos = ssh_krl_serial_pos(c, v);
    if (pos < c->nserials && c->serials[pos] == v) {
        return WID_OK;
    }
    ns = ssh_krl_grow(c->serials, c->nserials, sizeof(*ns));
    if (ns == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    c->serials = ns;
    memmove(ns + pos + 1, ns + pos, (c->nserials - pos) * sizeof(*ns));
    ns[pos] = v;
    c->nserials++;
    return WID_OK;
}


static size_t
ssh_krl_key_id_pos(const ssh_krl_certs *c, const char *id, int *found)
{
    size_t lo = 0, hi = c->nkey_ids, mid;
    int    cmp;

    *found = 0;
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        cmp = strcmp(c->key_ids[mid], id);
        if (cmp == 0) {
            *found = 1;
            return mid;
        }
        if (cmp < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}


static wid_reason_t
ssh_krl_add_key_id(ssh_krl_certs *c, const char *id)
{
    char  **nk, *copy;
    size_t  pos;
    int     found;

    pos = ssh_krl_key_id_pos(c, id, &found);
    if (found) {
        return WID_OK;
    }
    if ((copy = strdup(id)) == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    nk = ssh_krl_grow(c->key_ids, c->nkey_ids, sizeof(*nk));
    if (nk == NULL) {
        free(copy);
        return WID_R_INTERNAL_NOMEM;
    }
    c->key_ids = nk;
    memmove(nk + pos + 1, nk + pos, (c->nkey_ids - pos) * sizeof(*nk));
    nk[pos] = copy;
    c->nkey_ids++;
    return WID_OK;
}


/* Appended as read; ssh_krl_normalize sorts and drops duplicates once
 * the whole file is read (comparing each entry with all earlier ones
 * made an 80000-fingerprint KRL take seconds per login). */
static wid_reason_t
ssh_krl_add_blob(ssh_krl_blob **arr, size_t *n, const unsigned char *p,
                 size_t len)
{
    ssh_krl_blob *nb;

    nb = ssh_krl_grow(*arr, *n, sizeof(*nb));
    if (nb == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    *arr = nb;
    if ((nb[*n].data = malloc(len ? len : 1)) == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    memcpy(nb[*n].data, p, len);
    nb[*n].len = len;
    (*n)++;
    return WID_OK;
}


/* The parser appends serials and key ids as read (a KRL lists them
 * sorted already, a hostile one maybe not); ssh_krl_normalize sorts. */
static wid_reason_t
ssh_krl_push_serial(ssh_krl_certs *c, uint64_t v)
{
    uint64_t *ns = ssh_krl_grow(c->serials, c->nserials, sizeof(*ns));

    if (ns == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    c->serials = ns;
    ns[c->nserials++] = v;
    return WID_OK;
}


/* Takes id (malloc'd) on success. */
static wid_reason_t
ssh_krl_push_key_id(ssh_krl_certs *c, char *id)
{
    char **nk = ssh_krl_grow(c->key_ids, c->nkey_ids, sizeof(*nk));

    if (nk == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    c->key_ids = nk;
    nk[c->nkey_ids++] = id;
    return WID_OK;
}


static int
ssh_krl_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

    return (x > y) - (x < y);
}


static int
ssh_krl_str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}


static int
ssh_krl_blob_cmp(const void *a, const void *b)
{
    const ssh_krl_blob *x = a, *y = b;
    size_t              n = x->len < y->len ? x->len : y->len;
    int                 c = memcmp(x->data, y->data, n);

    if (c != 0) {
        return c;
    }
    return (x->len > y->len) - (x->len < y->len);
}


/* Sort, then drop duplicates (freeing them): O(n log n) in all. */
static void
ssh_krl_sort_unique(void *arr, size_t *n, size_t size,
                    int (*cmp)(const void *, const void *),
                    void (*drop)(void *))
{
    unsigned char *a = arr;
    size_t         i, j;

    if (*n < 2) {
        return;
    }
    qsort(a, *n, size, cmp);
    for (i = 1, j = 1; i < *n; i++) {
        if (cmp(a + (j - 1) * size, a + i * size) == 0) {
            if (drop != NULL) {
                drop(a + i * size);
            }
            continue;
        }
        if (i != j) {
            memcpy(a + j * size, a + i * size, size);
        }
        j++;
    }
    *n = j;
}


static void
ssh_krl_drop_str(void *p)
{
    free(*(char **) p);
}


static void
ssh_krl_drop_blob(void *p)
{
    free(((ssh_krl_blob *) p)->data);
}


/* What the lookups and the writer rely on: sorted, unique lists. */
static void
ssh_krl_normalize(ssh_krl *krl)
{
    size_t i;

    for (i = 0; i < krl->ncerts; i++) {
        ssh_krl_certs *c = &krl->certs[i];

        ssh_krl_sort_unique(c->serials, &c->nserials, sizeof(*c->serials),
                            ssh_krl_u64_cmp, NULL);
        ssh_krl_sort_unique(c->key_ids, &c->nkey_ids, sizeof(*c->key_ids),
                            ssh_krl_str_cmp, ssh_krl_drop_str);
    }
    ssh_krl_sort_unique(krl->keys, &krl->nkeys, sizeof(*krl->keys),
                        ssh_krl_blob_cmp, ssh_krl_drop_blob);
    ssh_krl_sort_unique(krl->sha1s, &krl->nsha1s, sizeof(*krl->sha1s),
                        ssh_krl_blob_cmp, ssh_krl_drop_blob);
    ssh_krl_sort_unique(krl->sha256s, &krl->nsha256s, sizeof(*krl->sha256s),
                        ssh_krl_blob_cmp, ssh_krl_drop_blob);
}


static wid_reason_t
ssh_krl_parse_certs(ssh_krl *krl, ssh_rbuf *sect)
{
    const unsigned char *blob, *p;
    size_t               blen, n;
    ssh_krl_certs       *c;
    ssh_rbuf             sub, key;
    uint8_t              type;
    uint64_t             v, lo, hi;
    wid_reason_t         rc;
    char                *id;

    if (ssh_rbuf_get_string(sect, &blob, &blen) != 0
        || ssh_rbuf_get_string(sect, &p, &n) != 0)            /* reserved */
    {
        return WID_R_SSH_KRL_MALFORMED;
    }
    if (blen > 0) {
        /* A wire public key starts with its type name. */
        ssh_rbuf_init(&key, blob, blen);
        if (ssh_rbuf_get_string(&key, &p, &n) != 0 || n == 0) {
            return WID_R_SSH_KRL_MALFORMED;
        }
        if (n == strlen(SSH_ED25519_NAME)
            && memcmp(p, SSH_ED25519_NAME, n) == 0)
        {
            unsigned char pk[SSH_ED25519_PK_LEN];

            if (ssh_pubkey_parse_blob(blob, blen, pk) != WID_OK) {
                return WID_R_SSH_KRL_MALFORMED;
            }
        }
    }
    if ((c = ssh_krl_certs_for(krl, blob, blen, 1)) == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }

    while (sect->len > 0) {
        if (ssh_rbuf_get_u8(sect, &type) != 0
            || ssh_rbuf_get_sub(sect, &sub) != 0)
        {
            return WID_R_SSH_KRL_MALFORMED;
        }
        switch (type) {
        case KRL_CERT_SERIAL_LIST:
            while (sub.len > 0) {
                /* sshd refuses a KRL revoking serial 0 (and then every
                 * public key login): so do we. */
                if (ssh_rbuf_get_u64(&sub, &v) != 0 || v == 0) {
                    return WID_R_SSH_KRL_MALFORMED;
                }
                if ((rc = ssh_krl_push_serial(c, v)) != WID_OK) {
                    return rc;
                }
            }
            break;

        case KRL_CERT_SERIAL_RANGE: {
            ssh_krl_range *nr;

            /* As sshd: no serial 0, not upside down. */
            if (ssh_rbuf_get_u64(&sub, &lo) != 0
                || ssh_rbuf_get_u64(&sub, &hi) != 0 || lo > hi || lo == 0)
            {
                return WID_R_SSH_KRL_MALFORMED;
            }
            nr = ssh_krl_grow(c->ranges, c->nranges, sizeof(*nr));
            if (nr == NULL) {
                return WID_R_INTERNAL_NOMEM;
            }
            c->ranges = nr;
            nr[c->nranges].lo = lo;
            nr[c->nranges].hi = hi;
            c->nranges++;
            break;
        }

        case KRL_CERT_SERIAL_BITMAP: {
            ssh_krl_bitmap *nb;

            if (ssh_rbuf_get_u64(&sub, &lo) != 0
                || ssh_rbuf_get_string(&sub, &p, &n) != 0)
            {
                return WID_R_SSH_KRL_MALFORMED;
            }
            /* mpint: non-negative, bounded like sshd bounds it */
            if ((n > 0 && (p[0] & 0x80)) || n > KRL_BITMAP_MAX + 1
                || (n == KRL_BITMAP_MAX + 1 && p[0] != 0))
            {
                return WID_R_SSH_KRL_MALFORMED;
            }
            while (n > 0 && p[0] == 0) {
                p++;
                n--;
            }
            if (n > 0) {
                /* sshd's rules: the highest set bit (not the last bit of
                 * its byte) must not wrap the serial space, and no bit
                 * may stand for serial 0 (bit 0 is the last byte's
                 * least significant bit). */
                uint64_t top = (uint64_t) (n - 1) * 8;
                unsigned b = p[0];

                while (b > 1) {
                    b >>= 1;
                    top++;
                }
                if (top > UINT64_MAX - lo || (lo == 0 && (p[n - 1] & 1))) {
                    return WID_R_SSH_KRL_MALFORMED;
                }
            }
            nb = ssh_krl_grow(c->bitmaps, c->nbitmaps, sizeof(*nb));
            if (nb == NULL) {
                return WID_R_INTERNAL_NOMEM;
            }
            c->bitmaps = nb;
            nb = &c->bitmaps[c->nbitmaps];
            if ((nb->bits = malloc(n ? n : 1)) == NULL) {
                return WID_R_INTERNAL_NOMEM;
            }
            memcpy(nb->bits, p, n);
            nb->len = n;
            nb->offset = lo;
            c->nbitmaps++;
            break;
        }

        case KRL_CERT_KEY_ID:
            while (sub.len > 0) {
                if (ssh_rbuf_get_cstring(&sub, KRL_KEY_ID_MAX, &id) != 0) {
                    return WID_R_SSH_KRL_MALFORMED;
                }
                if ((rc = ssh_krl_push_key_id(c, id)) != WID_OK) {
                    free(id);
                    return rc;
                }
            }
            break;

        case KRL_CERT_EXTENSION:
            return WID_R_SSH_KRL_UNSUPPORTED;

        default:
            return WID_R_SSH_KRL_MALFORMED;
        }
        if (sub.len != 0) {
            return WID_R_SSH_KRL_MALFORMED;
        }
    }
    return WID_OK;
}


static wid_reason_t
ssh_krl_parse_blobs(ssh_rbuf *sect, ssh_krl_blob **arr, size_t *n,
                    size_t want)
{
    const unsigned char *p;
    size_t               len;
    wid_reason_t         rc;

    while (sect->len > 0) {
        if (ssh_rbuf_get_string(sect, &p, &len) != 0
            || (want != 0 && len != want))
        {
            return WID_R_SSH_KRL_MALFORMED;
        }
        if ((rc = ssh_krl_add_blob(arr, n, p, len)) != WID_OK) {
            return rc;
        }
    }
    return WID_OK;
}


static wid_reason_t
ssh_krl_parse_inner(const unsigned char *data, size_t len, ssh_krl *krl)
{
    ssh_rbuf             r, sect;
    const unsigned char *p;
    size_t               n;
    uint32_t             fmt;
    uint8_t              type;
    wid_reason_t         rc;

    if (len < KRL_MAGIC_LEN || memcmp(data, SSH_KRL_MAGIC, KRL_MAGIC_LEN) != 0) {
        return WID_R_SSH_KRL_MALFORMED;
    }
    ssh_rbuf_init(&r, data + KRL_MAGIC_LEN, len - KRL_MAGIC_LEN);
    if (ssh_rbuf_get_u32(&r, &fmt) != 0 || fmt != SSH_KRL_FORMAT_VERSION
        || ssh_rbuf_get_u64(&r, &krl->version) != 0
        || ssh_rbuf_get_u64(&r, &krl->generated) != 0
        || ssh_rbuf_get_u64(&r, &krl->flags) != 0
        || ssh_rbuf_get_string(&r, &p, &n) != 0              /* reserved */
        || ssh_rbuf_get_cstring(&r, KRL_COMMENT_MAX, &krl->comment) != 0)
    {
        return WID_R_SSH_KRL_MALFORMED;
    }

    while (r.len > 0) {
        if (ssh_rbuf_get_u8(&r, &type) != 0
            || ssh_rbuf_get_sub(&r, &sect) != 0)
        {
            return WID_R_SSH_KRL_MALFORMED;
        }
        switch (type) {
        case KRL_SECTION_CERTIFICATES:
            rc = ssh_krl_parse_certs(krl, &sect);
            break;
        case KRL_SECTION_EXPLICIT_KEY:
            rc = ssh_krl_parse_blobs(&sect, &krl->keys, &krl->nkeys, 0);
            break;
        case KRL_SECTION_FINGERPRINT_SHA1:
            rc = ssh_krl_parse_blobs(&sect, &krl->sha1s, &krl->nsha1s, 20);
            break;
        case KRL_SECTION_FINGERPRINT_SHA256:
            rc = ssh_krl_parse_blobs(&sect, &krl->sha256s, &krl->nsha256s,
                                     32);
            break;
        case KRL_SECTION_SIGNATURE:
        case KRL_SECTION_EXTENSION:
            return WID_R_SSH_KRL_UNSUPPORTED;
        default:
            return WID_R_SSH_KRL_MALFORMED;
        }
        if (rc != WID_OK) {
            return rc;
        }
        if (sect.len != 0) {
            return WID_R_SSH_KRL_MALFORMED;
        }
    }
    return WID_OK;
}


wid_reason_t
ssh_krl_parse(const unsigned char *data, size_t len, ssh_krl *krl)
{
    wid_reason_t rc;

    ssh_krl_init(krl);
    rc = ssh_krl_parse_inner(data, len, krl);
    if (rc != WID_OK) {
        ssh_krl_free(krl);
        return rc;
    }
    ssh_krl_normalize(krl);
    return WID_OK;
}


wid_reason_t
ssh_krl_load(const char *path, ssh_krl *krl)
{
    unsigned char *data;
    size_t         len;
    wid_reason_t   rc;

    ssh_krl_init(krl);
    if (wid_read_file(path, KRL_FILE_MAX, &data, &len) != WID_OK) {
        return WID_R_SSH_KRL_UNREADABLE;
    }
    rc = ssh_krl_parse(data, len, krl);
    free(data);
    return rc;
}


static void
ssh_krl_put_blobs(ssh_wbuf *out, uint8_t type, ssh_krl_blob *arr, size_t n)
{
    ssh_wbuf sect;
    size_t   i;

    if (n == 0) {
        return;
    }
    /* Fingerprints must be in numeric (big-endian) order; sort all. */
    qsort(arr, n, sizeof(*arr), ssh_krl_blob_cmp);
    ssh_wbuf_init(&sect, 0);
    for (i = 0; i < n; i++) {
        ssh_wbuf_put_string(&sect, arr[i].data, arr[i].len);
    }
    ssh_wbuf_put_u8(out, type);
    ssh_wbuf_put_wbuf(out, &sect);
    ssh_wbuf_free(&sect);
}


static void
ssh_krl_put_certs(ssh_wbuf *out, const ssh_krl_certs *c)
{
    ssh_wbuf sect, sub;
    size_t   i;

    if (c->nserials + c->nranges + c->nbitmaps + c->nkey_ids == 0) {
        return;
    }
    ssh_wbuf_init(&sect, 0);
    ssh_wbuf_put_string(&sect, c->ca_blob, c->ca_len);
    ssh_wbuf_put_string(&sect, "", 0);                     /* reserved */

    if (c->nserials > 0) {
        ssh_wbuf_init(&sub, 0);
        for (i = 0; i < c->nserials; i++) {
            ssh_wbuf_put_u64(&sub, c->serials[i]);
        }
        ssh_wbuf_put_u8(&sect, KRL_CERT_SERIAL_LIST);
        ssh_wbuf_put_wbuf(&sect, &sub);
        ssh_wbuf_free(&sub);
    }
    for (i = 0; i < c->nranges; i++) {
        ssh_wbuf_init(&sub, 0);
        ssh_wbuf_put_u64(&sub, c->ranges[i].lo);
        ssh_wbuf_put_u64(&sub, c->ranges[i].hi);
        ssh_wbuf_put_u8(&sect, KRL_CERT_SERIAL_RANGE);
        ssh_wbuf_put_wbuf(&sect, &sub);
        ssh_wbuf_free(&sub);
    }
    for (i = 0; i < c->nbitmaps; i++) {
        const ssh_krl_bitmap *b = &c->bitmaps[i];

        ssh_wbuf_init(&sub, 0);
        ssh_wbuf_put_u64(&sub, b->offset);
        /* mpint: a leading zero byte keeps the number positive */
        if (b->len > 0 && (b->bits[0] & 0x80)) {
            ssh_wbuf_put_u32(&sub, (uint32_t) b->len + 1);
            ssh_wbuf_put_u8(&sub, 0);
            ssh_wbuf_put(&sub, b->bits, b->len);
        } else {
            ssh_wbuf_put_string(&sub, b->bits, b->len);
        }
        ssh_wbuf_put_u8(&sect, KRL_CERT_SERIAL_BITMAP);
        ssh_wbuf_put_wbuf(&sect, &sub);
        ssh_wbuf_free(&sub);
    }
    if (c->nkey_ids > 0) {
        ssh_wbuf_init(&sub, 0);
        for (i = 0; i < c->nkey_ids; i++) {
            ssh_wbuf_put_cstring(&sub, c->key_ids[i]);
        }
        ssh_wbuf_put_u8(&sect, KRL_CERT_KEY_ID);
        ssh_wbuf_put_wbuf(&sect, &sub);
        ssh_wbuf_free(&sub);
    }
    ssh_wbuf_put_u8(out, KRL_SECTION_CERTIFICATES);
    ssh_wbuf_put_wbuf(out, &sect);
    ssh_wbuf_free(&sect);
}


wid_reason_t
ssh_krl_serialize(const ssh_krl *krl, ssh_wbuf *out)
{
    size_t i;

    ssh_wbuf_put(out, SSH_KRL_MAGIC, KRL_MAGIC_LEN);   /* includes the NUL */
    ssh_wbuf_put_u32(out, SSH_KRL_FORMAT_VERSION);
    ssh_wbuf_put_u64(out, krl->version);
    ssh_wbuf_put_u64(out, krl->generated);
    ssh_wbuf_put_u64(out, krl->flags);
    ssh_wbuf_put_string(out, "", 0);                       /* reserved */
    ssh_wbuf_put_cstring(out, krl->comment ? krl->comment : "");
    for (i = 0; i < krl->ncerts; i++) {
        ssh_krl_put_certs(out, &krl->certs[i]);
    }
    ssh_krl_put_blobs(out, KRL_SECTION_EXPLICIT_KEY, krl->keys, krl->nkeys);
    ssh_krl_put_blobs(out, KRL_SECTION_FINGERPRINT_SHA1, krl->sha1s,
                      krl->nsha1s);
    ssh_krl_put_blobs(out, KRL_SECTION_FINGERPRINT_SHA256, krl->sha256s,
                      krl->nsha256s);
    return ssh_wbuf_error(out) == 0 ? WID_OK : WID_R_INTERNAL_NOMEM;
}


static wid_reason_t
ssh_krl_ca_section(ssh_krl *krl, const unsigned char ca_pk[SSH_ED25519_PK_LEN],
                   ssh_krl_certs **out)
{
    ssh_wbuf b;

    ssh_wbuf_init(&b, 0);
    ssh_pubkey_blob(ca_pk, &b);
    if (ssh_wbuf_error(&b) != 0) {
        ssh_wbuf_free(&b);
        return WID_R_INTERNAL_NOMEM;
    }
    *out = ssh_krl_certs_for(krl, b.data, b.len, 1);
    ssh_wbuf_free(&b);
    return *out ? WID_OK : WID_R_INTERNAL_NOMEM;
}


wid_reason_t
ssh_krl_revoke_serial(ssh_krl *krl,
                      const unsigned char ca_pk[SSH_ED25519_PK_LEN],
                      uint64_t serial)
{
    ssh_krl_certs *c;
    wid_reason_t   rc;

    if (serial == 0) {
        return WID_R_SSH_SERIAL_INVALID;
    }
    if ((rc = ssh_krl_ca_section(krl, ca_pk, &c)) != WID_OK) {
        return rc;
    }
    return ssh_krl_add_serial(c, serial);
}


wid_reason_t
ssh_krl_revoke_key_id(ssh_krl *krl,
                      const unsigned char ca_pk[SSH_ED25519_PK_LEN],
                      const char *key_id)
{
    ssh_krl_certs *c;
    wid_reason_t   rc;

    if ((rc = ssh_check_key_id(key_id)) != WID_OK) {
        return rc;
    }
    if ((rc = ssh_krl_ca_section(krl, ca_pk, &c)) != WID_OK) {
        return rc;
    }
    return ssh_krl_add_key_id(c, key_id);
}


/* The lists are sorted (ssh_krl_normalize): a binary search. */
static int
ssh_krl_blob_in(const ssh_krl_blob *arr, size_t n, const unsigned char *p,
                size_t len)
{
    ssh_krl_blob key;

    if (n == 0) {
        return 0;
    }
    key.data = (unsigned char *) p;
    key.len = len;
    return bsearch(&key, arr, n, sizeof(*arr), ssh_krl_blob_cmp) != NULL;
}


/* A plain key revoked explicitly or by its SHA-1/SHA-256 fingerprint. */
static int
ssh_krl_key_revoked(const ssh_krl *krl, const unsigned char pk[SSH_ED25519_PK_LEN])
{
    unsigned char h1[SHA_DIGEST_LENGTH], h256[crypto_hash_sha256_BYTES];
    ssh_wbuf      b;
    int           revoked;

    ssh_wbuf_init(&b, 0);
    ssh_pubkey_blob(pk, &b);
    if (ssh_wbuf_error(&b) != 0) {
        ssh_wbuf_free(&b);
        return 1;                                       /* fail closed */
    }
    /* Hash only when the KRL has such sections: this runs per login. */
    revoked = ssh_krl_blob_in(krl->keys, krl->nkeys, b.data, b.len);
    if (!revoked && krl->nsha1s > 0) {
        SHA1(b.data, b.len, h1);
        revoked = ssh_krl_blob_in(krl->sha1s, krl->nsha1s, h1, sizeof(h1));
    }
    if (!revoked && krl->nsha256s > 0) {
        crypto_hash_sha256(h256, b.data, b.len);       /* no fetch */
        revoked = ssh_krl_blob_in(krl->sha256s, krl->nsha256s, h256,
                                  sizeof(h256));
    }
    ssh_wbuf_free(&b);
    return revoked;
}


static int
ssh_krl_certs_revoke(const ssh_krl_certs *c, const ssh_cert *cert)
{
    size_t i, pos;
    int    found;

    (void) ssh_krl_key_id_pos(c, cert->key_id, &found);
    if (found) {
        return 1;
    }
    if (cert->serial == 0) {
        return 0;
    }
    pos = ssh_krl_serial_pos(c, cert->serial);
    if (pos < c->nserials && c->serials[pos] == cert->serial) {
        return 1;
    }
    for (i = 0; i < c->nranges; i++) {
        if (cert->serial >= c->ranges[i].lo && cert->serial <= c->ranges[i].hi) {
            return 1;
        }
    }
    for (i = 0; i < c->nbitmaps; i++) {
        const ssh_krl_bitmap *b = &c->bitmaps[i];
        uint64_t              bit;

        if (cert->serial < b->offset) {
            continue;
        }
        bit = cert->serial - b->offset;
        if (bit / 8 >= b->len) {
            continue;
        }
        /* bit 0 is the least significant bit of the last byte */
        if (b->bits[b->len - 1 - bit / 8] & (1u << (bit % 8))) {
            return 1;
        }
    }
    return 0;
}


wid_reason_t
ssh_krl_check_cert(const ssh_krl *krl, const ssh_cert *cert)
{
    const ssh_krl_certs *c;
    ssh_wbuf             ca;
    size_t               i;
    int                  revoked = 0;

    if (ssh_krl_key_revoked(krl, cert->pk)
        || ssh_krl_key_revoked(krl, cert->ca_pk))
    {
        return WID_R_SSH_CERT_REVOKED;
    }
    ssh_wbuf_init(&ca, 0);
    ssh_pubkey_blob(cert->ca_pk, &ca);
    if (ssh_wbuf_error(&ca) != 0) {
        ssh_wbuf_free(&ca);
        return WID_R_INTERNAL_NOMEM;
    }
    for (i = 0; i < krl->ncerts && !revoked; i++) {
        c = &krl->certs[i];
        if (c->ca_len == 0
            || (c->ca_len == ca.len && memcmp(c->ca_blob, ca.data, ca.len) == 0))
        {
            revoked = ssh_krl_certs_revoke(c, cert);
        }
    }
    ssh_wbuf_free(&ca);
    return revoked ? WID_R_SSH_CERT_REVOKED : WID_OK;
}



wid_reason_t
ssh_krl_save(ssh_krl *krl, const char *path, uint64_t now)
{
    char         tmp[4096], dirbuf[4096];
    ssh_wbuf     out;
    wid_reason_t rc;
    int          fd, dfd;

    if (krl->version == UINT64_MAX) {
        return WID_R_SSH_KRL_MALFORMED;
    }
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int) sizeof(tmp)
        || snprintf(dirbuf, sizeof(dirbuf), "%s", path) >= (int) sizeof(dirbuf))
    {
        return WID_R_INTERNAL_CONFIG;
    }
    krl->version++;
    krl->generated = now;

    ssh_wbuf_init(&out, 0);
    if ((rc = ssh_krl_serialize(krl, &out)) != WID_OK) {
        ssh_wbuf_free(&out);
        return rc;
    }

    /* Same directory as the target, so rename() is atomic. */
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        ssh_wbuf_free(&out);
        return WID_R_INTERNAL_IO;
    }
    if (fchmod(fd, 0644) != 0 || wid_fd_write_all(fd, out.data, out.len) != 0
        || fsync(fd) != 0)
    {
        close(fd);
        unlink(tmp);
        ssh_wbuf_free(&out);
        return WID_R_INTERNAL_IO;
    }
    ssh_wbuf_free(&out);
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return WID_R_INTERNAL_IO;
    }
    /* Make the rename itself durable. */
    dfd = open(dirname(dirbuf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void) fsync(dfd);
        close(dfd);
    }
    return WID_OK;
}


int
ssh_krl_lock(const char *path)
{
    char lock[4096];
    int  fd;

    if (snprintf(lock, sizeof(lock), "%s.lock", path) >= (int) sizeof(lock)) {
        return -1;
    }
    fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}
