/*
 * AWS EC2 instance identity documents (node attestation).
 *
 * Evidence: {"document": "<the document text exactly as served by the
 * metadata service>", "pkcs7": "<base64 DER PKCS#7 signed-data>"}.
 *
 * The PKCS#7 is verified ONLY against the pinned AWS certificate(s) the
 * operator configured: PKCS7_NOINTERN keeps OpenSSL from taking a signer
 * certificate embedded in the message (an attacker can embed their own),
 * PKCS7_NOVERIFY because a pinned certificate is trusted as such.  The
 * signed content must then equal the document byte for byte.
 *
 * A document is static (no nonce): the caller records the first use of
 * each instance id (attest_state.h) and refuses later uses.
 */
#ifndef WID_ATTEST_IID_H
#define WID_ATTEST_IID_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "attest.h"
#include "reason.h"

#define WID_IID_INSTANCE_MAX 32

typedef struct {
    STACK_OF(X509) *pinned;     /* the AWS signing certificate(s) */
    int64_t         now;
    int64_t         ttl;
    const char     *verifier;
} wid_iid_params;

/*
 * Verify the evidence; on success fill *out (kind aws_iid, subject
 * "aws:<account>:<instance>", selectors aws_iid:account:, region:, az:,
 * image:, instance_type:, instance:) and instance_id for the replay
 * record.
 */
wid_reason_t wid_iid_verify(const unsigned char *evidence, size_t len,
                            const wid_iid_params *p, wid_attestation *out,
                            char instance_id[WID_IID_INSTANCE_MAX + 1]);

#endif
