#include <string.h>

#include "credential.h"


const char *
wid_cred_kind_name(wid_cred_kind_t k)
{
    switch (k) {
    case WID_CRED_URI:
        return "uri";
    case WID_CRED_X509_SVID:
        return "x509_svid";
    case WID_CRED_JWT_SVID:
        return "jwt_svid";
    default:
        return "none";
    }
}


int
wid_cred_kind_from_name(const char *name, wid_cred_kind_t *out)
{
    if (strcmp(name, "uri") == 0) {
        *out = WID_CRED_URI;
    } else if (strcmp(name, "x509_svid") == 0) {
        *out = WID_CRED_X509_SVID;
    } else if (strcmp(name, "jwt_svid") == 0) {
        *out = WID_CRED_JWT_SVID;
    } else {
        return -1;
    }
    return 0;
}
