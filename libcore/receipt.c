/*
 * Receipt v3 canonical encoding.  Layout (integers big-endian; a string
 * is a u16 length and its bytes; a flagged hash is u8 1 and 32 bytes, or
 * u8 0):
 *
 *   "WIDRCPT" 0x03                     magic and schema version
 *   the head, who wrote it, whom it is about, under which policy:
 *     writer, u64 not_after, flagged bundle hash,
 *     spiffe_id, trust_domain, path, credential_kind, credential_id,
 *     flagged policy hash, policy signer
 *   the decision:
 *     u64 time_ms, u64 seq, u8 surface, u8 verdict, u8 prefer,
 *     u8 hash bitmap (bit 0 evidence, 1 path), then each present hash
 *     (32 bytes) in bit order,
 *     reason, rule, operation, attestation tier, schema and verifier,
 *     method, host, request path, peer
 *   and for the SSH surfaces only:
 *     u64 ssh_serial, u64 ssh_valid_after, u64 ssh_valid_before,
 *     SSH key fingerprint, SSH principals
 *
 * The head comes first so that a writer recording many decisions about
 * one identity under one policy encodes it and hashes its leading
 * SHA-256 blocks once (wid_receipt_head); the bytes are the same either
 * way.  An HTTP decision carries nothing of SSH's, so what is hashed per
 * request is as short as the request's facts allow.
 *
 * Decoding accepts exactly this: no trailing bytes, no unknown bits, no
 * out-of-range enums, no NUL or invalid UTF-8 in strings.  So one receipt
 * has one encoding, and the stored bytes are the hashed bytes.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "bytes.h"
#include "merkle.h"
#include "receipt.h"

static const char *const wid_surface_names[] = {
    NULL, "http", "ssh_issue", "ssh_login"
};
static const char *const wid_prefer_names[] = {
    NULL, "matched", "unmatched"
};

/* JSON placement of every string field: group object (NULL: top level). */
static const struct {
    const char *group;
    const char *name;
} wid_rf[WID_RECEIPT_NSTR] = {
    [WID_RF_WRITER]          = { NULL, "writer" },
    [WID_RF_REASON]          = { NULL, "reason" },
    [WID_RF_RULE]            = { NULL, "rule" },
    [WID_RF_OPERATION]       = { NULL, "operation" },
    [WID_RF_POLICY_SIGNER]   = { "policy", "signer" },
    [WID_RF_SPIFFE_ID]       = { "identity", "spiffe_id" },
    [WID_RF_TRUST_DOMAIN]    = { "identity", "trust_domain" },
    [WID_RF_ID_PATH]         = { "identity", "path" },
    [WID_RF_CREDENTIAL_KIND] = { "identity", "credential_kind" },
    [WID_RF_CREDENTIAL_ID]   = { "identity", "credential_id" },
    [WID_RF_ATT_TIER]        = { "attestation", "tier" },
    [WID_RF_ATT_SCHEMA]      = { "attestation", "schema" },
    [WID_RF_ATT_VERIFIER]    = { "attestation", "verifier" },
    [WID_RF_METHOD]          = { "request", "method" },
    [WID_RF_HOST]            = { "request", "host" },
    [WID_RF_REQ_PATH]        = { "request", "path" },
    [WID_RF_PEER]            = { "request", "peer" },
    [WID_RF_SSH_KEY_FP]      = { "ssh", "key_fingerprint" },
    [WID_RF_SSH_PRINCIPALS]  = { "ssh", "principals" },
};

#define WID_NHASH 4
static const struct {
    const char *group;
    const char *name;
} wid_rh[WID_NHASH] = {
    { "policy", "hash" }, { "identity", "bundle_hash" },
    { "attestation", "evidence_hash" }, { "request", "path_hash" },
};

#define WID_NU64 4
static const struct {
    const char *group;
    const char *name;
} wid_ru[WID_NU64] = {
    { "identity", "not_after" }, { "ssh", "serial" },
    { "ssh", "valid_after" }, { "ssh", "valid_before" },
};
#define WID_RU_SERIAL 1     /* printed as a decimal string */


const char *
wid_surface_name(wid_surface_t s)
{
    return (s >= WID_SURFACE_HTTP && s <= WID_SURFACE_SSH_LOGIN)
           ? wid_surface_names[s] : "?";
}



int
wid_surface_parse(const char *s, wid_surface_t *out)
{
    int i;

    for (i = WID_SURFACE_HTTP; i <= WID_SURFACE_SSH_LOGIN; i++) {
        if (s && strcmp(s, wid_surface_names[i]) == 0) {
            *out = (wid_surface_t) i;
            return 0;
        }
    }
    return -1;
}



const char *
wid_receipt_field_name(wid_receipt_field f)
{
    return (unsigned) f < WID_RECEIPT_NSTR ? wid_rf[f].name : "?";
}


static void
wid_put64(uint8_t *p, uint64_t v)
{
    v = htobe64(v);
    memcpy(p, &v, 8);
}


static size_t
wid_get16(const uint8_t *p)
{
    return ((size_t) p[0] << 8) | p[1];
}


static uint64_t
wid_get64(const uint8_t *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return be64toh(v);
}


/*
 * The high bit of each byte of w that is 0x80 or above or that is NUL (a
 * NUL may also mark a byte above it: callers only ask "any?").
 */
static inline uint64_t
wid_word_not_ascii(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull;

    return (w | ((w - ones) & ~w)) & (ones << 7);
}


/* Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF) and no NUL. */
static int
wid_utf8_ok(const uint8_t *s, size_t len)
{
    size_t   i = 0, n, k;
    uint32_t cp;

    while (i < len) {
        uint8_t  c;
        uint64_t w;

        /* Runs of ASCII without NUL, eight bytes at a time. */
        while (len - i >= 8) {
            memcpy(&w, s + i, 8);
            if (wid_word_not_ascii(w) != 0) {
                break;
            }
            i += 8;
        }
        if (i == len) {
            break;
        }
        c = s[i];

        if (c == 0) {
            return 0;
        }
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (len - i <= n) {
            return 0;
        }
        for (k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return 0;
            }
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
            || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
        {
            return 0;
        }
        i += n + 1;
    }
    return 1;
}


/*
 * 1 when every byte is 0x01-0x7F, the common case: whole words, the last
 * one overlapping, and one test at the end instead of one per byte, so a
 * receipt's ASCII strings cost few branches even when the predictor has
 * forgotten them since the last request.  0: look closer (wid_utf8_ok).
 */
static int
wid_ascii_no_nul(const uint8_t *s, size_t len)
{
    uint64_t  w, bad = 0;
    size_t    i;

    if (len < 8) {
        for (i = 0; i < len; i++) {
            bad |= wid_word_not_ascii(s[i]) & 0x80;
        }
        return bad == 0;
    }
    for (i = 0; i + 8 < len; i += 8) {
        memcpy(&w, s + i, 8);
        bad |= wid_word_not_ascii(w);
    }
    memcpy(&w, s + len - 8, 8);
    bad |= wid_word_not_ascii(w);
    return bad == 0;
}


int
wid_receipt_text_ok(const void *s, size_t len)
{
    return wid_ascii_no_nul(s, len) || wid_utf8_ok(s, len);
}


/*
 * The strings of the head (the writer's first, the policy signer after
 * the policy hash), of every decision, and of an SSH decision's end.
 */
static const uint8_t wid_head_str[] = {
    WID_RF_WRITER, WID_RF_SPIFFE_ID, WID_RF_TRUST_DOMAIN, WID_RF_ID_PATH,
    WID_RF_CREDENTIAL_KIND, WID_RF_CREDENTIAL_ID, WID_RF_POLICY_SIGNER
};
#define WID_HEAD_IDENTITY_STR  6        /* writer and the identity's */
static const uint8_t wid_decision_str[] = {
    WID_RF_REASON, WID_RF_RULE, WID_RF_OPERATION,
    WID_RF_ATT_TIER, WID_RF_ATT_SCHEMA, WID_RF_ATT_VERIFIER,
    WID_RF_METHOD, WID_RF_HOST, WID_RF_REQ_PATH, WID_RF_PEER
};
static const uint8_t wid_ssh_str[] = {
    WID_RF_SSH_KEY_FP, WID_RF_SSH_PRINCIPALS
};

#define WID_NELTS(a)  (sizeof(a) / sizeof((a)[0]))

/* The decision's hashes, in bitmap order; bundle and policy are the head's. */
#define WID_NDHASH 2

/* magic, not_after, the bundle and policy hash flags */
#define WID_HEAD_FIXED      (8 + 8 + 1 + 1)
/* time, seq, surface, verdict, prefer, hash bitmap */
#define WID_DECISION_FIXED  (8 + 8 + 3 + 1)
/* an SSH decision's serial, valid_after, valid_before */
#define WID_SSH_FIXED       (3 * 8)


static int
wid_surface_is_ssh(wid_surface_t s)
{
    return s == WID_SURFACE_SSH_ISSUE || s == WID_SURFACE_SSH_LOGIN;
}


/*
 * The lengths of n of r's strings (fields[i]: WID_RF_*), into sl by
 * field, the writer's from writer; their encoded size (u16 + bytes) is
 * added to *need.  Every string is bounded, so no sum overflows.
 */
static wid_reason_t
wid_receipt_lengths(const wid_receipt *r, const char *writer,
                    const uint8_t *fields, size_t n, size_t *sl,
                    size_t *need)
{
    size_t  i, f;

    for (i = 0; i < n; i++) {
        const char *s;

        f = fields[i];
        s = f == WID_RF_WRITER ? writer : r->str[f];
        if (s == NULL) {
            sl[f] = 0;
        } else if (r->str_len != NULL && f != WID_RF_WRITER) {
            sl[f] = r->str_len[f];
        } else {
            sl[f] = strnlen(s, WID_RECEIPT_STR_MAX + 1);
        }
        if (sl[f] > WID_RECEIPT_STR_MAX) {
            return WID_R_RECEIPT_FIELD_TOO_LONG;
        }
        *need += 2 + sl[f];
    }
    return WID_OK;
}


/* One string: u16 length, bytes, checked where it is copied (one read). */
static uint8_t *
wid_put_str(uint8_t *p, const char *s, size_t len)
{
    if (len != 0 && !wid_receipt_text_ok(s, len)) {
        return NULL;
    }
    *p++ = (uint8_t) (len >> 8);
    *p++ = (uint8_t) len;
    if (len) {
        memcpy(p, s, len);
        p += len;
    }
    return p;
}


/* A flagged hash: u8 1 and its 32 bytes, or u8 0. */
static uint8_t *
wid_put_flagged_hash(uint8_t *p, const wid_receipt_hash *h)
{
    *p++ = h->set ? 1 : 0;
    if (h->set) {
        memcpy(p, h->h, 32);
        p += 32;
    }
    return p;
}


static wid_reason_t
wid_head_size(const wid_receipt *r, const char *writer, size_t *sl,
              size_t *need)
{
    *need += WID_HEAD_FIXED + (r->bundle_hash.set ? 32 : 0)
             + (r->policy_hash.set ? 32 : 0);
    return wid_receipt_lengths(r, writer, wid_head_str,
                               WID_NELTS(wid_head_str), sl, need);
}


/*
 * Magic, version and head; NULL: a string is not UTF-8 without NUL.
 * *policy_off: where the policy's part (its hash flag) starts.
 */
static uint8_t *
wid_put_head(const wid_receipt *r, const char *writer, const size_t *sl,
             uint8_t *p, size_t *policy_off)
{
    uint8_t  *start = p;
    size_t    i;

    memcpy(p, WID_RECEIPT_MAGIC, 7);
    p[7] = WID_RECEIPT_VERSION;
    p = wid_put_str(p + 8, writer, sl[WID_RF_WRITER]);
    if (p == NULL) {
        return NULL;
    }
    wid_put64(p, r->not_after);
    p = wid_put_flagged_hash(p + 8, &r->bundle_hash);
    for (i = 1; i < WID_HEAD_IDENTITY_STR && p != NULL; i++) {
        p = wid_put_str(p, r->str[wid_head_str[i]], sl[wid_head_str[i]]);
    }
    if (p == NULL) {
        return NULL;
    }
    *policy_off = (size_t) (p - start);
    p = wid_put_flagged_hash(p, &r->policy_hash);
    return wid_put_str(p, r->str[WID_RF_POLICY_SIGNER],
                       sl[WID_RF_POLICY_SIGNER]);
}


/* The decision's hashes of r, in bitmap order. */
static void
wid_decision_hashes(const wid_receipt *r,
                    const wid_receipt_hash *hs[WID_NDHASH])
{
    hs[0] = &r->evidence_hash;
    hs[1] = &r->path_hash;
}


static wid_reason_t
wid_decision_size(const wid_receipt *r, size_t *sl, size_t *need)
{
    const wid_receipt_hash *hs[WID_NDHASH];
    size_t                  i, ssh = 0;
    wid_reason_t            rc;

    if (r->surface < WID_SURFACE_HTTP || r->surface > WID_SURFACE_SSH_LOGIN
        || r->verdict < WID_VERDICT_ALLOW || r->verdict > WID_VERDICT_OBSERVE
        || r->prefer > WID_PREFER_UNMATCHED)
    {
        return WID_R_RECEIPT_FIELD_INVALID;
    }
    *need += WID_DECISION_FIXED;
    wid_decision_hashes(r, hs);
    for (i = 0; i < WID_NDHASH; i++) {
        *need += hs[i]->set ? 32 : 0;
    }
    rc = wid_receipt_lengths(r, NULL, wid_decision_str,
                             WID_NELTS(wid_decision_str), sl, need);
    if (rc == WID_OK) {
        rc = wid_receipt_lengths(r, NULL, wid_ssh_str, WID_NELTS(wid_ssh_str),
                                 sl, &ssh);
    }
    if (rc != WID_OK) {
        return rc;
    }
    if (wid_surface_is_ssh(r->surface)) {
        *need += WID_SSH_FIXED + ssh;
    } else if (ssh != 2 * WID_NELTS(wid_ssh_str) || r->ssh_serial != 0
               || r->ssh_valid_after != 0 || r->ssh_valid_before != 0)
    {
        /* An HTTP receipt has no SSH fields to hold them. */
        return WID_R_RECEIPT_FIELD_INVALID;
    }
    return WID_OK;
}


static uint8_t *
wid_put_decision(const wid_receipt *r, uint64_t seq, const size_t *sl,
                 uint8_t *p)
{
    const wid_receipt_hash *hs[WID_NDHASH];
    uint8_t                 bitmap = 0;
    size_t                  i;

    wid_decision_hashes(r, hs);
    wid_put64(p, r->time_ms);
    wid_put64(p + 8, seq);
    p += 16;
    *p++ = (uint8_t) r->surface;
    *p++ = (uint8_t) r->verdict;
    *p++ = (uint8_t) r->prefer;
    for (i = 0; i < WID_NDHASH; i++) {
        bitmap |= (uint8_t) ((hs[i]->set ? 1u : 0u) << i);
    }
    *p++ = bitmap;
    for (i = 0; i < WID_NDHASH; i++) {
        if (hs[i]->set) {
            memcpy(p, hs[i]->h, 32);
            p += 32;
        }
    }
    for (i = 0; i < WID_NELTS(wid_decision_str) && p != NULL; i++) {
        p = wid_put_str(p, r->str[wid_decision_str[i]],
                        sl[wid_decision_str[i]]);
    }
    if (p == NULL || !wid_surface_is_ssh(r->surface)) {
        return p;
    }
    wid_put64(p, r->ssh_serial);
    wid_put64(p + 8, r->ssh_valid_after);
    wid_put64(p + 16, r->ssh_valid_before);
    p += WID_SSH_FIXED;
    for (i = 0; i < WID_NELTS(wid_ssh_str) && p != NULL; i++) {
        p = wid_put_str(p, r->str[wid_ssh_str[i]], sl[wid_ssh_str[i]]);
    }
    return p;
}


wid_reason_t
wid_receipt_encode(const wid_receipt *r, const char *writer, uint64_t seq,
                   uint8_t *buf, size_t cap, size_t *len)
{
    uint8_t      *p;
    size_t        need = 0, policy_off, sl[WID_RECEIPT_NSTR];
    wid_reason_t  rc;

    *len = 0;
    rc = wid_decision_size(r, sl, &need);
    if (rc == WID_OK) {
        rc = wid_head_size(r, writer, sl, &need);
    }
    if (rc != WID_OK) {
        return rc;
    }
    if (need > cap) {
        return WID_R_INTERNAL_NOMEM;
    }
    p = wid_put_head(r, writer, sl, buf, &policy_off);
    p = p != NULL ? wid_put_decision(r, seq, sl, p) : NULL;
    if (p == NULL) {
        return WID_R_RECEIPT_FIELD_INVALID;     /* *len is still 0 */
    }
    *len = (size_t) (p - buf);
    return WID_OK;
}


wid_reason_t
wid_receipt_head_make(const wid_receipt *r, const char *writer,
                      wid_receipt_head *h)
{
    size_t        need = 0, sl[WID_RECEIPT_NSTR];
    uint8_t      *p;
    wid_reason_t  rc;

    h->len = 0;
    rc = wid_head_size(r, writer, sl, &need);
    if (rc != WID_OK) {
        return rc;
    }
    if (need > sizeof(h->bytes)) {
        return WID_R_INTERNAL_NOMEM;
    }
    p = wid_put_head(r, writer, sl, h->bytes, &h->policy_off);
    if (p == NULL) {
        return WID_R_RECEIPT_FIELD_INVALID;
    }
    h->len = (size_t) (p - h->bytes);
    wid_merkle_leaf_begin(&h->leaf, h->bytes, h->len);
    return WID_OK;
}


size_t
wid_receipt_head_size(const wid_receipt_head *h)
{
    return offsetof(wid_receipt_head, bytes) + h->len;
}


int
wid_receipt_head_fits(const wid_receipt_head *h, const char *writer,
                      const wid_receipt *r)
{
    const uint8_t  *p, *end = h->bytes + h->len;
    const char     *signer = r->str[WID_RF_POLICY_SIGNER];
    size_t          wl = strlen(writer), sl;

    if (h->len < 10 + wl || wid_get16(h->bytes + 8) != wl
        || memcmp(h->bytes + 10, writer, wl) != 0)
    {
        return 0;
    }
    p = h->bytes + h->policy_off;
    if (*p++ != (r->policy_hash.set ? 1 : 0)) {
        return 0;
    }
    if (r->policy_hash.set) {
        if (memcmp(p, r->policy_hash.h, 32) != 0) {
            return 0;
        }
        p += 32;
    }
    sl = signer == NULL ? 0
         : r->str_len != NULL ? r->str_len[WID_RF_POLICY_SIGNER]
         : strnlen(signer, WID_RECEIPT_STR_MAX + 1);
    return (size_t) (end - p) == 2 + sl && wid_get16(p) == sl
           && (sl == 0 || memcmp(p + 2, signer, sl) == 0);
}


wid_reason_t
wid_receipt_encode_after(const wid_receipt_head *h, const wid_receipt *r,
                         uint64_t seq, uint8_t *buf, size_t cap, size_t *len)
{
    uint8_t      *p;
    size_t        need = h->len, sl[WID_RECEIPT_NSTR];
    wid_reason_t  rc;

    *len = 0;
    rc = wid_decision_size(r, sl, &need);
    if (rc != WID_OK) {
        return rc;
    }
    if (need > cap) {
        return WID_R_INTERNAL_NOMEM;
    }
    memcpy(buf, h->bytes, h->len);
    p = wid_put_decision(r, seq, sl, buf + h->len);
    if (p == NULL) {
        return WID_R_RECEIPT_FIELD_INVALID;
    }
    *len = (size_t) (p - buf);
    return WID_OK;
}


int
wid_receipt_seq(const uint8_t *buf, size_t len, uint64_t *seq)
{
    size_t  off = 8, i, n, nstr;

    if (len < off) {
        return -1;
    }
    /* The head's strings and flagged hashes: skipped, not checked.  A
     * version 2 head ends after the identity (no policy). */
    nstr = buf[7] == 2 ? WID_HEAD_IDENTITY_STR : WID_NELTS(wid_head_str);
    for (i = 0; i < nstr; i++) {
        if (i == 1 || i == WID_HEAD_IDENTITY_STR) {
            /* After the writer: not_after and the bundle hash; after the
             * identity: the policy hash. */
            n = i == 1 ? 8 : 0;
            if (len - off < n + 1) {
                return -1;
            }
            off += n + 1 + (buf[off + n] ? 32 : 0);
            if (off > len) {
                return -1;
            }
        }
        if (len - off < 2) {
            return -1;
        }
        n = wid_get16(buf + off);
        off += 2;
        if (len - off < n) {
            return -1;
        }
        off += n;
    }
    if (len - off < 16) {
        return -1;
    }
    *seq = wid_get64(buf + off + 8);
    return 0;
}


/* One string of a receipt being decoded; NULL: malformed. */
static const uint8_t *
wid_get_str(const uint8_t *p, const uint8_t *end, wid_span *out)
{
    size_t  sl;

    if ((size_t) (end - p) < 2) {
        return NULL;
    }
    sl = wid_get16(p);
    p += 2;
    if (sl > WID_RECEIPT_STR_MAX || (size_t) (end - p) < sl
        || !wid_receipt_text_ok(p, sl))
    {
        return NULL;
    }
    out->p = (const char *) p;
    out->len = (uint16_t) sl;
    return p + sl;
}


/* 32 bytes of hash if flagged; NULL: malformed. */
static const uint8_t *
wid_get_hash(const uint8_t *p, const uint8_t *end, int set,
             wid_receipt_hash *out)
{
    if (!set) {
        return p;
    }
    if ((size_t) (end - p) < 32) {
        return NULL;
    }
    out->set = 1;
    memcpy(out->h, p, 32);
    return p + 32;
}


/* A flag byte (0 or 1) and, if 1, 32 bytes of hash; NULL: malformed. */
static const uint8_t *
wid_get_flagged_hash(const uint8_t *p, const uint8_t *end,
                     wid_receipt_hash *out)
{
    if (p == NULL || p == end || *p > 1) {
        return NULL;
    }
    return wid_get_hash(p + 1, end, *p, out);
}


/* The surface, verdict and prefer bytes at p; -1: out of range. */
static int
wid_get_enums(const uint8_t *p, wid_receipt_view *v)
{
    if (p[0] < WID_SURFACE_HTTP || p[0] > WID_SURFACE_SSH_LOGIN
        || p[1] < WID_VERDICT_ALLOW || p[1] > WID_VERDICT_OBSERVE
        || p[2] > WID_PREFER_UNMATCHED)
    {
        return -1;
    }
    v->surface = (wid_surface_t) p[0];
    v->verdict = (wid_verdict_t) p[1];
    v->prefer = (wid_prefer_t) p[2];
    return 0;
}


/*
 * The head's writer and identity (the same in versions 2 and 3), from
 * just after the magic and version; NULL: malformed.
 */
static const uint8_t *
wid_get_identity_head(const uint8_t *buf, const uint8_t *end,
                      wid_receipt_view *v)
{
    const uint8_t  *p;
    size_t          i;

    p = wid_get_str(buf + 8, end, &v->str[WID_RF_WRITER]);
    if (p == NULL || (size_t) (end - p) < 8) {
        return NULL;
    }
    v->not_after = wid_get64(p);
    p = wid_get_flagged_hash(p + 8, end, &v->bundle_hash);
    for (i = 1; i < WID_HEAD_IDENTITY_STR && p != NULL; i++) {
        p = wid_get_str(p, end, &v->str[wid_head_str[i]]);
    }
    return p;
}


/* An SSH decision's serial, valid_after and valid_before at p. */
static const uint8_t *
wid_get_ssh_times(const uint8_t *p, wid_receipt_view *v)
{
    v->ssh_serial = wid_get64(p);
    v->ssh_valid_after = wid_get64(p + 8);
    v->ssh_valid_before = wid_get64(p + 16);
    return p + WID_SSH_FIXED;
}


/*
 * Version 2, read so that logs written before version 3 still verify:
 * the head without the policy; every decision with the SSH fields after
 * its enums, the policy hash as bit 0 of its bitmap (evidence bit 1, path
 * bit 2) and 13 strings, the policy signer 4th and SSH's last.
 */
static wid_reason_t
wid_receipt_decode_v2(const uint8_t *buf, size_t len, wid_receipt_view *v)
{
    static const uint8_t v2_str[] = {
        WID_RF_REASON, WID_RF_RULE, WID_RF_OPERATION, WID_RF_POLICY_SIGNER,
        WID_RF_ATT_TIER, WID_RF_ATT_SCHEMA, WID_RF_ATT_VERIFIER,
        WID_RF_METHOD, WID_RF_HOST, WID_RF_REQ_PATH, WID_RF_PEER,
        WID_RF_SSH_KEY_FP, WID_RF_SSH_PRINCIPALS
    };
    wid_receipt_hash *hs[3] = {
        &v->policy_hash, &v->evidence_hash, &v->path_hash
    };
    const uint8_t    *p, *end = buf + len;
    size_t            i;
    uint8_t           flag;

    p = wid_get_identity_head(buf, end, v);
    if (p == NULL || (size_t) (end - p) < 16 + 3 + WID_SSH_FIXED + 1
        || wid_get_enums(p + 16, v) != 0)
    {
        return WID_R_RECEIPT_MALFORMED;
    }
    v->time_ms = wid_get64(p);
    v->seq = wid_get64(p + 8);
    p = wid_get_ssh_times(p + 16 + 3, v);
    flag = *p++;
    if (flag >> 3) {
        return WID_R_RECEIPT_MALFORMED;
    }
    for (i = 0; i < 3 && p != NULL; i++) {
        p = wid_get_hash(p, end, flag & (1u << i), hs[i]);
    }
    for (i = 0; i < WID_NELTS(v2_str) && p != NULL; i++) {
        p = wid_get_str(p, end, &v->str[v2_str[i]]);
    }
    return p == end ? WID_OK : WID_R_RECEIPT_MALFORMED;
}


wid_reason_t
wid_receipt_decode(const uint8_t *buf, size_t len, wid_receipt_view *v)
{
    wid_receipt_hash *hs[WID_NDHASH] = { &v->evidence_hash, &v->path_hash };
    const uint8_t    *p = buf, *end = buf + len;
    size_t            i;
    uint8_t           flag;

    memset(v, 0, sizeof(*v));
    if (len < WID_RECEIPT_FIXED || len > WID_RECEIPT_MAX
        || memcmp(p, WID_RECEIPT_MAGIC, 7) != 0)
    {
        return WID_R_RECEIPT_MALFORMED;
    }
    v->version = p[7];
    if (p[7] == 2) {
        return wid_receipt_decode_v2(buf, len, v);
    }
    if (p[7] != WID_RECEIPT_VERSION) {
        return WID_R_RECEIPT_UNSUPPORTED_VERSION;
    }

    /* The head: writer, identity, policy. */
    p = wid_get_identity_head(buf, end, v);
    p = wid_get_flagged_hash(p, end, &v->policy_hash);
    if (p != NULL) {
        p = wid_get_str(p, end, &v->str[WID_RF_POLICY_SIGNER]);
    }

    /* The decision. */
    if (p == NULL || (size_t) (end - p) < WID_DECISION_FIXED) {
        return WID_R_RECEIPT_MALFORMED;
    }
    v->time_ms = wid_get64(p);
    v->seq = wid_get64(p + 8);
    p += 16;
    if (wid_get_enums(p, v) != 0) {
        return WID_R_RECEIPT_MALFORMED;
    }
    p += 3;
    flag = *p++;
    if (flag >> WID_NDHASH) {
        return WID_R_RECEIPT_MALFORMED;
    }
    for (i = 0; i < WID_NDHASH && p != NULL; i++) {
        p = wid_get_hash(p, end, flag & (1u << i), hs[i]);
    }
    for (i = 0; i < WID_NELTS(wid_decision_str) && p != NULL; i++) {
        p = wid_get_str(p, end, &v->str[wid_decision_str[i]]);
    }

    /* An SSH decision's end. */
    if (p != NULL && wid_surface_is_ssh(v->surface)) {
        if ((size_t) (end - p) < WID_SSH_FIXED) {
            return WID_R_RECEIPT_MALFORMED;
        }
        p = wid_get_ssh_times(p, v);
        for (i = 0; i < WID_NELTS(wid_ssh_str) && p != NULL; i++) {
            p = wid_get_str(p, end, &v->str[wid_ssh_str[i]]);
        }
    }
    if (p != end) {
        return WID_R_RECEIPT_MALFORMED;
    }
    return WID_OK;
}


void
wid_receipt_id_from_leaf(const uint8_t leaf_hash[32],
                         char id[WID_RECEIPT_ID_SIZE])
{
    memcpy(id, WID_RECEIPT_ID_PREFIX, 4);
    wid_hex(leaf_hash, 16, id + 4);
}


void
wid_receipt_id(const uint8_t *buf, size_t len, char id[WID_RECEIPT_ID_SIZE])
{
    uint8_t h[32];

    wid_merkle_leaf_hash(buf, len, h);
    wid_receipt_id_from_leaf(h, id);
}


/* The group object of the JSON form, created on first use. */
static json_t *
wid_group(json_t *root, const char *group)
{
    json_t *g;

    if (group == NULL) {
        return root;
    }
    g = json_object_get(root, group);
    if (g == NULL) {
        g = json_object();
        if (g == NULL || json_object_set_new(root, group, g) != 0) {
            return NULL;
        }
    }
    return g;
}


static int
wid_set(json_t *root, const char *group, const char *name, json_t *val)
{
    json_t *g = wid_group(root, group);

    if (g == NULL || val == NULL) {
        json_decref(val);
        return -1;
    }
    return json_object_set_new(g, name, val);
}


json_t *
wid_receipt_view_json(const wid_receipt_view *v, const char *id)
{
    const wid_receipt_hash *hs[WID_NHASH] = {
        &v->policy_hash, &v->bundle_hash, &v->evidence_hash, &v->path_hash
    };
    uint64_t    us[WID_NU64] = {
        v->not_after, v->ssh_serial, v->ssh_valid_after, v->ssh_valid_before
    };
    json_t     *o = json_object();
    char        hex[65], tbuf[96];
    struct tm   tm;
    time_t      secs;
    unsigned    i;
    int         rc = 0;

    if (o == NULL) {
        return NULL;
    }
    secs = (time_t) (v->time_ms / 1000);
    if (gmtime_r(&secs, &tm) == NULL) {
        memset(&tm, 0, sizeof(tm));
    }
    snprintf(tbuf, sizeof(tbuf), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (unsigned) (v->time_ms % 1000));

    rc |= wid_set(o, NULL, "schema", json_integer(v->version));
    if (id) {
        rc |= wid_set(o, NULL, "id", json_string(id));
    }
    rc |= wid_set(o, NULL, "time", json_string(tbuf));
    /* Integers beyond 2^63 cannot appear in JSON numbers portably. */
    rc |= wid_set(o, NULL, "time_ms",
                  json_integer((json_int_t) (v->time_ms & INT64_MAX)));
    rc |= wid_set(o, NULL, "seq",
                  json_integer((json_int_t) (v->seq & INT64_MAX)));
    rc |= wid_set(o, NULL, "surface",
                  json_string(wid_surface_name(v->surface)));
    rc |= wid_set(o, NULL, "verdict",
                  json_string(wid_verdict_name(v->verdict)));
    for (i = 0; i < WID_RECEIPT_NSTR; i++) {
        if (v->str[i].len) {
            rc |= wid_set(o, wid_rf[i].group, wid_rf[i].name,
                          json_stringn(v->str[i].p, v->str[i].len));
        }
    }
    if (v->prefer != WID_PREFER_NONE) {
        rc |= wid_set(o, "identity", "prefer",
                      json_string(wid_prefer_names[v->prefer]));
    }
    for (i = 0; i < WID_NHASH; i++) {
        if (hs[i]->set) {
            sodium_bin2hex(hex, sizeof(hex), hs[i]->h, 32);
            rc |= wid_set(o, wid_rh[i].group, wid_rh[i].name,
                          json_string(hex));
        }
    }
    for (i = 0; i < WID_NU64; i++) {
        if (us[i] == 0) {
            continue;
        }
        if (i == WID_RU_SERIAL || us[i] > (uint64_t) INT64_MAX) {
            /* A certificate serial is a full 64-bit random number, and an
             * SSH validity can be "forever" (2^64-1): as a decimal string,
             * since JSON integers stop at 2^63 for many consumers (jansson
             * included).  Other values stay integers. */
            snprintf(hex, sizeof(hex), "%" PRIu64, us[i]);
            rc |= wid_set(o, wid_ru[i].group, wid_ru[i].name,
                          json_string(hex));
        } else {
            rc |= wid_set(o, wid_ru[i].group, wid_ru[i].name,
                          json_integer((json_int_t) us[i]));
        }
    }
    if (rc != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}


static json_t *
wid_get(json_t *root, const char *group, const char *name)
{
    json_t *g = group ? json_object_get(root, group) : root;

    return json_is_object(g) ? json_object_get(g, name) : NULL;
}


static int
wid_get_u64(json_t *root, const char *group, const char *name, int str_ok,
            uint64_t *out)
{
    json_t     *v = wid_get(root, group, name);
    const char *s;
    char       *end;

    *out = 0;
    if (v == NULL) {
        return 0;
    }
    if (str_ok && json_is_string(v)) {
        /* Decimal, no sign, no leading zeros, at most 2^64-1 (what the
         * JSON view prints for a serial, and for any other value from
         * 2^63 on: str_ok 2 takes only those). */
        s = json_string_value(v);
        if (s[0] < '1' || s[0] > '9' || strlen(s) != json_string_length(v)) {
            return -1;
        }
        errno = 0;
        *out = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0'
            || (str_ok == 2 && *out <= (uint64_t) INT64_MAX))
        {
            *out = 0;
            return -1;
        }
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        return -1;
    }
    *out = (uint64_t) json_integer_value(v);
    return 0;
}


wid_reason_t
wid_receipt_from_json(json_t *obj, wid_receipt *r)
{
    wid_receipt_hash *hs[WID_NHASH] = {
        &r->policy_hash, &r->bundle_hash, &r->evidence_hash, &r->path_hash
    };
    uint64_t *us[WID_NU64] = {
        &r->not_after, &r->ssh_serial, &r->ssh_valid_after,
        &r->ssh_valid_before
    };
    json_t   *v;
    unsigned  i;
    size_t    n;
    const char *s;

    memset(r, 0, sizeof(*r));
    if (!json_is_object(obj)
        || wid_surface_parse(json_string_value(json_object_get(obj,
                             "surface")), &r->surface) != 0
        || wid_verdict_parse(json_string_value(json_object_get(obj,
                             "verdict")), &r->verdict) != 0
        || wid_get_u64(obj, NULL, "time_ms", 0, &r->time_ms) != 0)
    {
        return WID_R_RECEIPT_FIELD_INVALID;
    }
    for (i = 0; i < WID_RECEIPT_NSTR; i++) {
        if (i == WID_RF_WRITER) {
            continue;
        }
        v = wid_get(obj, wid_rf[i].group, wid_rf[i].name);
        if (v == NULL) {
            continue;
        }
        if (!json_is_string(v)) {
            return WID_R_RECEIPT_FIELD_INVALID;
        }
        r->str[i] = json_string_value(v);
    }
    s = json_string_value(wid_get(obj, "identity", "prefer"));
    if (s) {
        if (strcmp(s, "matched") == 0) {
            r->prefer = WID_PREFER_MATCHED;
        } else if (strcmp(s, "unmatched") == 0) {
            r->prefer = WID_PREFER_UNMATCHED;
        } else {
            return WID_R_RECEIPT_FIELD_INVALID;
        }
    }
    for (i = 0; i < WID_NHASH; i++) {
        v = wid_get(obj, wid_rh[i].group, wid_rh[i].name);
        if (v == NULL) {
            continue;
        }
        s = json_string_value(v);
        if (s == NULL || strlen(s) != 64
            || sodium_hex2bin(hs[i]->h, 32, s, 64, NULL, &n, NULL) != 0
            || n != 32)
        {
            return WID_R_RECEIPT_FIELD_INVALID;
        }
        hs[i]->set = 1;
    }
    for (i = 0; i < WID_NU64; i++) {
        if (wid_get_u64(obj, wid_ru[i].group, wid_ru[i].name,
                        i == WID_RU_SERIAL ? 1 : 2, us[i]) != 0)
        {
            return WID_R_RECEIPT_FIELD_INVALID;
        }
    }
    return WID_OK;
}
