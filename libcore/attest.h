/*
 * wid_attestation: the normalized result of verifying runtime evidence.
 *
 * Every verifier (TPM quote, Kubernetes PSAT, GitHub Actions OIDC, AWS
 * instance identity document, Unix peer) fills the same structure, so
 * registration entries, signed attestation results and receipts never
 * look at evidence-specific formats.  A verifier fills it only when the
 * evidence verified; on any failure it returns a reason code and leaves
 * the structure cleared.
 *
 * Selectors follow SPIRE's model: a type (the attestor, "tpm", "k8s",
 * "github", "aws_iid", "unix") and a value ("ns:payments").  A
 * registration entry matches when all its selectors are present.
 */
#ifndef WID_ATTEST_H
#define WID_ATTEST_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "bytes.h"
#include "reason.h"

#define WID_ATTEST_SELECTORS_MAX 64
#define WID_ATTEST_SEL_TYPE_MAX  32
#define WID_ATTEST_SEL_VALUE_MAX 512
#define WID_ATTEST_NAME_MAX      255
#define WID_ATTEST_ID_MAX        2048   /* a SPIFFE ID, without the NUL */

/* Upper bound for any evidence document or token wid reads. */
#define WID_ATTEST_EVIDENCE_MAX  (256u * 1024u)

typedef enum {
    WID_ATTEST_NONE = 0,
    WID_ATTEST_TPM,           /* node: TPM 2.0 quote + EK/AK */
    WID_ATTEST_K8S_PSAT,      /* node or workload: projected SA token */
    WID_ATTEST_GITHUB_OIDC,   /* workload: GitHub Actions OIDC token */
    WID_ATTEST_AWS_IID,       /* node: AWS instance identity document */
    WID_ATTEST_UNIX,          /* workload: Unix socket peer */
    WID_ATTEST_KIND_COUNT
} wid_attest_kind;

/* Does evidence of this kind attest a node (1) or a workload (0)? */
typedef enum {
    WID_ATTEST_ROLE_NODE = 1,
    WID_ATTEST_ROLE_WORKLOAD = 2
} wid_attest_role;

typedef struct {
    char type[WID_ATTEST_SEL_TYPE_MAX + 1];
    char value[WID_ATTEST_SEL_VALUE_MAX + 1];
} wid_selector;

typedef struct {
    wid_attest_kind kind;

    /* Who verified the evidence (an operator-chosen name or URL). */
    char          verifier[WID_ATTEST_NAME_MAX + 1];

    /* Attestation type, the name trusted_verifiers allow:
     * "tpm_quote", "k8s_psat", "github_oidc", "aws_iid", "unix". */
    char          type[WID_ATTEST_SEL_TYPE_MAX + 1];

    /* Validity of the attestation, unix seconds: issued_at <= now <
     * expires_at.  Taken from the evidence where it has a lifetime
     * (token exp), else issued_at + the verifier's configured TTL. */
    int64_t       issued_at;
    int64_t       expires_at;

    /* SHA-256 of the exact evidence bytes that were verified. */
    unsigned char evidence_sha256[32];

    /* The stable identity of the attested subject: the EK certificate
     * hash, the instance id, the token's sub, the pid:starttime. */
    char          subject[WID_ATTEST_SEL_VALUE_MAX + 1];

    /* The SPIFFE ID the attestation binds, "" until a registration entry
     * (or the caller) binds one; tier from the same entry, "" if none. */
    char          spiffe_id[WID_ATTEST_ID_MAX + 1];
    char          tier[WID_ATTEST_SEL_TYPE_MAX + 1];

    size_t        nselectors;
    wid_selector  selectors[WID_ATTEST_SELECTORS_MAX];
} wid_attestation;

/* "tpm", "k8s_psat", "github_oidc", "aws_iid", "unix"; NULL if none. */
const char *wid_attest_kind_name(wid_attest_kind kind);

/* Reverse of wid_attest_kind_name; WID_ATTEST_NONE when unknown. */
wid_attest_kind wid_attest_kind_from_name(const char *name);

/* The attestation type recorded for a kind ("tpm_quote", ...). */
const char *wid_attest_kind_type(wid_attest_kind kind);

/* Node or workload evidence. */
wid_attest_role wid_attest_kind_role(wid_attest_kind kind);

/* Zero the structure and set kind, type and verifier. */
void wid_attestation_init(wid_attestation *a, wid_attest_kind kind,
                          const char *verifier);

/*
 * Add a selector.  Values longer than the bound or containing control
 * characters are refused (attest.evidence_malformed); too many selectors
 * give attest.evidence_too_large.  A duplicate is silently ignored.
 */
wid_reason_t wid_attestation_add_selector(wid_attestation *a,
                                          const char *type,
                                          const char *value);

/* 1 when the attestation carries exactly this selector. */
int wid_attestation_has_selector(const wid_attestation *a, const char *type,
                                 const char *value);

/* Set the subject (bounded copy; refuses over-long or control bytes). */
wid_reason_t wid_attestation_set_subject(wid_attestation *a,
                                         const char *subject);

/* SHA-256 of evidence bytes into a->evidence_sha256. */
void wid_attestation_hash_evidence(wid_attestation *a,
                                   const unsigned char *ev, size_t len);

/*
 * Issued-at / expires-at from now and a TTL, overflow-checked.
 * Returns WID_R_ATTEST_CONFIG_INVALID for a non-positive TTL or a sum
 * that would overflow.
 */
wid_reason_t wid_attestation_set_window(wid_attestation *a, int64_t now,
                                        int64_t ttl);

/*
 * The normalized attestation as a JSON object (new reference):
 * {"kind","verifier","attestationType","issuedAt","expiresAt",
 *  "evidenceSha256","subject","spiffeId","tier","selectors":[
 *  {"type","value"}...]}.  NULL on allocation failure.
 */
json_t *wid_attestation_to_json(const wid_attestation *a);


/*
 * Standard base64 (with padding, no whitespace; the last character's
 * unused bits are not checked) into a fresh buffer of at most max bytes
 * (base64.h).  Returns 0 or -1.
 */
int wid_attest_b64_decode(const char *in, size_t max, unsigned char **out,
                          size_t *out_len);

/* Standard base64 of len bytes, fresh NUL-terminated string or NULL. */
char *wid_attest_b64_encode(const unsigned char *in, size_t len);

/* Lowercase or uppercase hex into out (at most max bytes); 0 or -1. */
int wid_attest_unhex(const char *hex, unsigned char *out, size_t max,
                     size_t *out_len);

/* Bounded string copy; returns -1 (and writes "") if src does not fit. */
int wid_attest_strlcpy(char *dst, const char *src, size_t size);

#endif
