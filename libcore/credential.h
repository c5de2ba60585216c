/*
 * Credential kinds, shared by identity verification, the policy engine
 * and receipts.  Values are bits so a policy rule can hold a set of
 * kinds; NONE (0) is "no credential".
 */
#ifndef WID_CREDENTIAL_H
#define WID_CREDENTIAL_H

typedef enum {
    WID_CRED_NONE      = 0,
    WID_CRED_URI       = 1u << 0,
    WID_CRED_X509_SVID = 1u << 1,
    WID_CRED_JWT_SVID  = 1u << 2
} wid_cred_kind_t;

#define WID_CRED_ANY (WID_CRED_URI | WID_CRED_X509_SVID | WID_CRED_JWT_SVID)

/* "uri", "x509_svid", "jwt_svid"; "none" for anything else. */
const char *wid_cred_kind_name(wid_cred_kind_t k);

/* Inverse of wid_cred_kind_name for the three kinds; -1 otherwise. */
int wid_cred_kind_from_name(const char *name, wid_cred_kind_t *out);

#endif
