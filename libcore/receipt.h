/*
 * Receipts, schema v3: what wid decided, about whom, under which policy,
 * for which request.  A receipt is stored as its canonical encoding (see
 * docs/receipts.md); those exact bytes are the Merkle leaf data, so they
 * are never re-serialised.  The receipt id is derived from them.
 *
 * Two shapes: wid_receipt is what a caller fills in (C strings, NULL or ""
 * for absent), wid_receipt_view is a decoded receipt whose strings point
 * into the encoded bytes (not NUL-terminated; valid while those live).
 */
#ifndef WID_RECEIPT_H
#define WID_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include "reason.h"
#include "sha256.h"
#include "verdict.h"

#define WID_RECEIPT_VERSION    3
#define WID_RECEIPT_MAGIC      "WIDRCPT"     /* 7 bytes, then the version */
#define WID_RECEIPT_STR_MAX    4096          /* longest string field */
#define WID_RECEIPT_NSTR       19
/* The fixed-size fields of an HTTP receipt: its shortest encoding less
 * its strings' u16 lengths; an SSH receipt has 3 x 8 bytes more. */
#define WID_RECEIPT_FIXED      (8 + 8 + 1 + 1 + 8 + 8 + 3 + 1)
#define WID_RECEIPT_MAX        (WID_RECEIPT_FIXED + 3 * 8 + 4 * 32 \
                                + WID_RECEIPT_NSTR * (2 + WID_RECEIPT_STR_MAX))
#define WID_RECEIPT_ID_PREFIX  "wr1-"
#define WID_RECEIPT_ID_LEN     (4 + 32)      /* without the NUL */
#define WID_RECEIPT_ID_SIZE    (WID_RECEIPT_ID_LEN + 1)

typedef enum {
    WID_SURFACE_HTTP = 1,
    WID_SURFACE_SSH_ISSUE = 2,
    WID_SURFACE_SSH_LOGIN = 3
} wid_surface_t;

/* prefer_workload_identity outcome (soft match, never denies). */
typedef enum {
    WID_PREFER_NONE = 0,          /* rule has no preference */
    WID_PREFER_MATCHED = 1,
    WID_PREFER_UNMATCHED = 2
} wid_prefer_t;

typedef struct {
    uint8_t set;                  /* 0: absent */
    uint8_t h[32];                /* SHA-256 */
} wid_receipt_hash;

/* The string fields, in their encoding order. */
typedef enum {
    WID_RF_WRITER, WID_RF_REASON, WID_RF_RULE, WID_RF_OPERATION,
    WID_RF_POLICY_SIGNER,
    WID_RF_SPIFFE_ID, WID_RF_TRUST_DOMAIN, WID_RF_ID_PATH,
    WID_RF_CREDENTIAL_KIND, WID_RF_CREDENTIAL_ID,
    WID_RF_ATT_TIER, WID_RF_ATT_SCHEMA, WID_RF_ATT_VERIFIER,
    WID_RF_METHOD, WID_RF_HOST, WID_RF_REQ_PATH, WID_RF_PEER,
    WID_RF_SSH_KEY_FP, WID_RF_SSH_PRINCIPALS
} wid_receipt_field;

typedef struct {
    uint64_t          time_ms;        /* Unix ms; 0: the journal's now */
    uint64_t          seq;            /* set by the journal */
    wid_surface_t     surface;
    wid_verdict_t     verdict;
    wid_prefer_t      prefer;
    uint64_t          not_after;      /* credential expiry, Unix s; 0 none */
    uint64_t          ssh_serial;     /* 0: none */
    uint64_t          ssh_valid_after;
    uint64_t          ssh_valid_before;
    wid_receipt_hash  policy_hash;    /* SHA-256 of the exact policy bytes */
    wid_receipt_hash  bundle_hash;    /* bundle that verified the SVID */
    wid_receipt_hash  evidence_hash;  /* attestation evidence */
    wid_receipt_hash  path_hash;      /* request path, when not recorded */
    /* Indexed by wid_receipt_field; NULL or "" means absent.  writer is
     * set by the journal.  Strings are UTF-8 without NUL bytes. */
    const char       *str[WID_RECEIPT_NSTR];
    /* Optional: the byte length of each str[i] (writer excepted), which
     * then needs no NUL terminator; NULL: every str[i] is a C string.
     * Saves a caller that knows its lengths a copy and a strlen each. */
    const size_t     *str_len;
} wid_receipt;

typedef struct {
    const char *p;
    uint16_t    len;
} wid_span;

typedef struct {
    unsigned          version;        /* WID_RECEIPT_VERSION, or 2 */
    uint64_t          time_ms, seq;
    wid_surface_t     surface;
    wid_verdict_t     verdict;
    wid_prefer_t      prefer;
    uint64_t          not_after, ssh_serial, ssh_valid_after,
                      ssh_valid_before;
    wid_receipt_hash  policy_hash, bundle_hash, evidence_hash, path_hash;
    wid_span          str[WID_RECEIPT_NSTR];
} wid_receipt_view;

/* Names used in JSON and docs. */
const char *wid_surface_name(wid_surface_t s);
int wid_surface_parse(const char *s, wid_surface_t *out);
const char *wid_receipt_field_name(wid_receipt_field f);

/*
 * 1 when len bytes at s may be a receipt string as they are: strict UTF-8
 * without NUL, the rule wid_receipt_encode() and the decoder apply.  A
 * caller that records a hash of a raw request fact rather than lose the
 * receipt asks this first.
 */
int wid_receipt_text_ok(const void *s, size_t len);

/*
 * Canonical encoding into buf (capacity cap, WID_RECEIPT_MAX always
 * suffices).  writer and seq override r's.  Errors: receipt.field_too_long,
 * internal.out_of_memory (buffer too small; checked before the strings'
 * contents), receipt.field_invalid.  On error *len is 0 and what was
 * written to buf is no receipt.
 */
wid_reason_t wid_receipt_encode(const wid_receipt *r, const char *writer,
                                uint64_t seq, uint8_t *buf, size_t cap,
                                size_t *len);

/*
 * A receipt's head (docs/receipts.md): magic, writer, the identity fields
 * (not_after, bundle_hash, spiffe_id, trust_domain, path, credential kind
 * and id) and the policy's (policy_hash, policy signer), encoded once
 * with the leaf hash of its bytes begun, for a writer that records many
 * decisions about one identity under one policy.  Encoding after a head
 * gives the very bytes wid_receipt_encode() would.
 */
#define WID_RECEIPT_HEAD_MAX   1024
typedef struct {
    wid_sha256_ctx    leaf;       /* SHA-256 of 0x00 and bytes, so far */
    size_t            len;
    size_t            policy_off; /* where the policy's fields start */
    uint8_t           bytes[WID_RECEIPT_HEAD_MAX];
} wid_receipt_head;

/*
 * The head of r's receipts by writer.  Errors as wid_receipt_encode(), and
 * internal.out_of_memory for a head over WID_RECEIPT_HEAD_MAX bytes (such
 * receipts are encoded whole).
 */
wid_reason_t wid_receipt_head_make(const wid_receipt *r, const char *writer,
                                   wid_receipt_head *h);

/* Bytes of h in use: a copy of that many bytes of h is a head too. */
size_t wid_receipt_head_size(const wid_receipt_head *h);

/*
 * 1 when h was made for writer and r's policy (hash and signer).  r's
 * identity is the caller's to match: a head is kept with the identity
 * it was made for.
 */
int wid_receipt_head_fits(const wid_receipt_head *h, const char *writer,
                          const wid_receipt *r);

/*
 * wid_receipt_encode() of a receipt whose head is h: r's identity and
 * policy fields are not read (wid_receipt_head_fits() says whether h is
 * r's), the rest as there.
 */
wid_reason_t wid_receipt_encode_after(const wid_receipt_head *h,
                                      const wid_receipt *r, uint64_t seq,
                                      uint8_t *buf, size_t cap, size_t *len);

/*
 * The sequence number of len bytes at buf that may be a receipt, found
 * without decoding it (the encoding's other rules are not checked);
 * -1 when too short to hold one.
 */
int wid_receipt_seq(const uint8_t *buf, size_t len, uint64_t *seq);

/*
 * Strict decoding: anything but the one canonical encoding of some
 * receipt is receipt.malformed (or receipt.unsupported_version).  Reads
 * version 3 and, so that older logs still verify, version 2.
 */
wid_reason_t wid_receipt_decode(const uint8_t *buf, size_t len,
                                wid_receipt_view *v);

/* "wr1-" + hex of the first 16 bytes of the RFC 6962 leaf hash. */
void wid_receipt_id_from_leaf(const uint8_t leaf_hash[32],
                              char id[WID_RECEIPT_ID_SIZE]);
void wid_receipt_id(const uint8_t *buf, size_t len,
                    char id[WID_RECEIPT_ID_SIZE]);

/*
 * JSON form (export, query --json, proofs): a new jansson object, NULL on
 * allocation failure.  id may be NULL.
 */
struct json_t;
struct json_t *wid_receipt_view_json(const wid_receipt_view *v,
                                     const char *id);

/*
 * Fill r from the JSON form (the fields a caller sets; id, writer and seq
 * are ignored).  Strings in r point into obj: keep obj alive.
 */
wid_reason_t wid_receipt_from_json(struct json_t *obj, wid_receipt *r);

#endif
