/*
 * TPM 2.0 node attestation: EK certificate, AK credential activation and
 * PCR quotes.
 *
 * The protocol has two rounds, both driven by the verifier:
 *
 *   1. challenge: the node sends its EK certificate (plus intermediates)
 *      and its AK public area (TPM2B_PUBLIC).  The verifier checks that
 *      the EK certificate chains to a configured manufacturer root and
 *      that the AK is a restricted, fixedTPM, fixedParent signing key
 *      created inside the TPM, then runs TPM2_MakeCredential in software
 *      against the certified EK for the AK's name and a fresh random
 *      secret, and picks a fresh random nonce.  The node gets the
 *      credential blob (tpm2-tools file format, so tpm2_activatecredential
 *      reads it) and the nonce; the verifier keeps the secret.
 *
 *   2. verify: the node answers with the activated secret (only a TPM
 *      holding both that EK and an AK of that name can recover it) and a
 *      quote over its PCRs with the nonce as qualifying data.  The
 *      verifier re-checks EK and AK, unmarshals TPMS_ATTEST with tpm2-tss,
 *      checks magic and type, the signature with the AK, the nonce
 *      exactly, recomputes the PCR digest from the PCR values sent, applies
 *      its PCR policy, and refuses a reset/restart count lower than the
 *      last one seen for this EK.
 *
 * Every function here is pure (no files); the replay and counter state
 * lives in attest_state.h.
 */
#ifndef WID_ATTEST_TPM_H
#define WID_ATTEST_TPM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "attest.h"
#include "reason.h"

#define WID_TPM_NONCE_LEN   32
#define WID_TPM_SECRET_LEN  32
#define WID_TPM_NAME_MAX    (2 + 64)    /* nameAlg + SHA-512 digest */
#define WID_TPM_MAX_PCRS    32

/* Magic and version of tpm2-tools' credential file (tpm2_makecredential
 * -o, tpm2_activatecredential -i). */
#define WID_TPM_CRED_MAGIC   0xbadcc0deu
#define WID_TPM_CRED_VERSION 1u

typedef struct {
    int      present;
    uint32_t reset_count;
    uint32_t restart_count;
    uint64_t clock;
} wid_tpm_counters;

/* What the verifier remembers between the two rounds. */
typedef struct {
    unsigned char nonce[WID_TPM_NONCE_LEN];
    unsigned char secret[WID_TPM_SECRET_LEN];
    unsigned char ak_name[WID_TPM_NAME_MAX];
    size_t        ak_name_len;
    unsigned char ek_sha256[32];      /* SHA-256 of the EK certificate DER */
    int64_t       expires_at;
} wid_tpm_challenge;

/* One required PCR value: the PCR policy is a list of these. */
typedef struct {
    uint16_t      hash_alg;            /* TPM2_ALG_SHA256, ... */
    unsigned      index;
    unsigned char value[64];
    size_t        value_len;
} wid_tpm_pcr_rule;

typedef struct {
    X509_STORE              *roots;    /* manufacturer roots (required) */
    const wid_tpm_challenge *challenge;/* consumed challenge (required) */
    const wid_tpm_pcr_rule  *pcr_policy;
    size_t                   npcr_policy;
    const wid_tpm_counters  *last;     /* last counters of this EK, or NULL */
    int64_t                  now;
    int64_t                  ttl;      /* lifetime of the attestation */
    const char              *verifier; /* name recorded in the result */
} wid_tpm_verify_params;

/*
 * Check an EK certificate (DER) against the manufacturer roots, with
 * optional untrusted intermediates, at time now.  On success *ek (if not
 * NULL) receives the parsed certificate (caller frees) and ek_sha256 the
 * SHA-256 of the DER.
 */
wid_reason_t wid_tpm_ek_check(const unsigned char *der, size_t len,
                              STACK_OF(X509) *intermediates,
                              X509_STORE *roots, int64_t now, X509 **ek,
                              unsigned char ek_sha256[32]);

/*
 * Check an AK public area (TPM2B_PUBLIC as tpm2_createak -u writes it):
 * exactly one canonical structure, an RSA or ECC signing key with
 * fixedTPM, fixedParent, sensitiveDataOrigin, restricted and sign set and
 * decrypt clear, a SHA-256/384/512 name algorithm and a signing scheme.
 * Computes the TPM name (nameAlg || H(TPMT_PUBLIC)).
 */
wid_reason_t wid_tpm_ak_check(const unsigned char *pub, size_t len,
                              unsigned char name[WID_TPM_NAME_MAX],
                              size_t *name_len);

/*
 * TPM2_MakeCredential in software (TPM 2.0 Part 1, credential
 * protection): a random seed encrypted to the EK with RSA-OAEP
 * (label "IDENTITY"), KDFa-derived AES-128-CFB key and HMAC key, the
 * secret wrapped for the AK name.  The EK must be an RSA-2048 key made
 * from the standard template (SHA-256, AES-128-CFB).  Output: a fresh
 * buffer in tpm2-tools' credential file format.
 */
wid_reason_t wid_tpm_make_credential(EVP_PKEY *ek_pub,
                                     const unsigned char *ak_name,
                                     size_t ak_name_len,
                                     const unsigned char *secret,
                                     size_t secret_len,
                                     unsigned char **out, size_t *out_len);

/*
 * Round 1: check EK and AK, make a fresh nonce and secret, and the
 * credential blob for the node.  challenge->expires_at = now + ttl.
 */
wid_reason_t wid_tpm_challenge_new(const unsigned char *ek_der,
                                   size_t ek_len,
                                   STACK_OF(X509) *intermediates,
                                   const unsigned char *ak_pub,
                                   size_t ak_len, X509_STORE *roots,
                                   int64_t now, int64_t ttl,
                                   wid_tpm_challenge *challenge,
                                   unsigned char **cred, size_t *cred_len);

/*
 * Round 2: verify the node's evidence document (JSON, see
 * docs/attestation.md).  On success fills *out (kind tpm, subject
 * "ek:<sha256>", selectors tpm:ek_sha256:<hex> and
 * tpm:pcr:<bank>:<index>:<hex> for every quoted PCR) and *quoted with the
 * counters of this quote, which the caller stores for the node.
 */
wid_reason_t wid_tpm_verify(const unsigned char *evidence, size_t len,
                            const wid_tpm_verify_params *p,
                            wid_attestation *out, wid_tpm_counters *quoted);

/*
 * The counter rule alone: a reset count lower than the last, or an equal
 * reset count with a lower restart count, is refused
 * (attest.tpm_counter_decreased); the same reset and restart count with a
 * clock that did not advance is a replayed quote
 * (attest.tpm_clock_replayed).  last may be NULL or not present.
 */
wid_reason_t wid_tpm_counters_check(const wid_tpm_counters *last,
                                    const wid_tpm_counters *now);

/* The challenge id of the evidence document (its "challenge" member). */
wid_reason_t wid_tpm_evidence_challenge_id(const unsigned char *evidence,
                                           size_t len, char id[65]);

/* Parse a PCR policy JSON object {"sha256": {"0": "<hex>", ...}}. */
wid_reason_t wid_tpm_pcr_policy_parse(const unsigned char *json,
                                      size_t len, wid_tpm_pcr_rule *rules,
                                      size_t max, size_t *nrules);

/*
 * Load PEM certificates from a file into a new store (manufacturer
 * roots) or stack (intermediates).  An empty or unreadable file is
 * attest.config_invalid.
 */
wid_reason_t wid_attest_load_store(const char *path, X509_STORE **out);
wid_reason_t wid_attest_load_certs(const char *path, STACK_OF(X509) **out);

/* Wipe the secret parts of a challenge. */
void wid_tpm_challenge_wipe(wid_tpm_challenge *c);

#endif
