#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "spiffe_id.h"
#include "x509svid.h"


/*
 * Parse the leaf's URI SAN as a SPIFFE ID: there must be exactly one
 * URI SAN, and it must be a valid spiffe:// ID.
 */
static wid_reason_t
wid_x509_spiffe_id(X509 *cert, wid_spiffe_id *id, wid_reason_t *detail)
{
    GENERAL_NAMES     *gens;
    GENERAL_NAME      *g;
    const ASN1_STRING *uri = NULL;
    int                crit = 0, i, n = 0;
    wid_reason_t       r;

    gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    if (gens == NULL) {
        /* -1: absent; -2: the extension occurs twice; else undecodable. */
        ERR_clear_error();
        return crit == -1 ? WID_R_X509_NO_URI_SAN : WID_R_X509_PARSE;
    }
    for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_URI) {
            n++;
            uri = g->d.uniformResourceIdentifier;
        }
    }
    if (n != 1) {
        GENERAL_NAMES_free(gens);
        return n == 0 ? WID_R_X509_NO_URI_SAN : WID_R_X509_MULTIPLE_URI_SANS;
    }
    /* The IA5String may hold NUL bytes: parse by length. */
    r = wid_spiffe_id_parse((const char *) ASN1_STRING_get0_data(uri),
                            (size_t) ASN1_STRING_length(uri), id);
    GENERAL_NAMES_free(gens);
    if (r == WID_R_ID_WRONG_SCHEME) {
        return WID_R_X509_URI_NOT_SPIFFE;
    }
    if (r != WID_OK) {
        *detail = r;
        return WID_R_X509_ID_INVALID;
    }
    return WID_OK;
}

static wid_reason_t
wid_x509_leaf_rules(X509 *leaf)
{
    uint32_t flags = X509_get_extension_flags(leaf);
    uint32_t ku = X509_get_key_usage(leaf);
    uint32_t xku;

    if (flags & EXFLAG_INVALID) {
        return WID_R_X509_PARSE;
    }
    if (flags & EXFLAG_CA) {
        return WID_R_X509_LEAF_CA;
    }
    if (flags & EXFLAG_KUSAGE) {
        if (ku & KU_KEY_CERT_SIGN) {
            return WID_R_X509_LEAF_KEYCERTSIGN;
        }
        if (ku & KU_CRL_SIGN) {
            return WID_R_X509_LEAF_CRLSIGN;
        }
    }
    if (!(flags & EXFLAG_KUSAGE) || !(ku & KU_DIGITAL_SIGNATURE)) {
        return WID_R_X509_LEAF_NO_DIGSIG;
    }
    /* X509-SVID 4.3: the leaf's keyUsage MUST be marked critical. */
    if (!X509_EXTENSION_get_critical(
            X509_get_ext(leaf, X509_get_ext_by_NID(leaf, NID_key_usage, -1))))
    {
        return WID_R_X509_LEAF_KU_NOT_CRITICAL;
    }
    if (flags & EXFLAG_XKUSAGE) {
        xku = X509_get_extended_key_usage(leaf);
        if (!(xku & XKU_SSL_SERVER) || !(xku & XKU_SSL_CLIENT)) {
            return WID_R_X509_LEAF_EKU;
        }
    }
    return WID_OK;
}

static int
wid_asn1_time(const ASN1_TIME *t, int64_t *out)
{
    struct tm tm;

    memset(&tm, 0, sizeof(tm));
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1) {
        return -1;
    }
    *out = (int64_t) timegm(&tm);
    return 0;
}

static wid_reason_t
wid_x509_validity(X509 *cert, int64_t now, int64_t leeway)
{
    int64_t nb, na, lo, hi;

    if (wid_asn1_time(X509_get0_notBefore(cert), &nb) != 0
        || wid_asn1_time(X509_get0_notAfter(cert), &na) != 0)
    {
        return WID_R_X509_PARSE;
    }
    if (__builtin_add_overflow(now, leeway, &hi)) {
        hi = INT64_MAX;
    }
    if (__builtin_sub_overflow(now, leeway, &lo)) {
        lo = INT64_MIN;
    }
    if (nb > hi) {
        return WID_R_X509_NOT_YET_VALID;
    }
    if (na < lo) {
        return WID_R_X509_EXPIRED;
    }
    return WID_OK;
}

/* Rules for every certificate above the leaf in the validated chain. */
static wid_reason_t
wid_x509_signer_rules(X509 *cert, const wid_spiffe_id *leaf_id)
{
    uint32_t       flags = X509_get_extension_flags(cert);
    GENERAL_NAMES *gens;
    GENERAL_NAME  *g;
    wid_spiffe_id  id;
    const char    *uri;
    int            i, crit;
    wid_reason_t   r = WID_OK;

    if (flags & EXFLAG_INVALID) {
        return WID_R_X509_PARSE;
    }
    if (!(flags & EXFLAG_CA)) {
        return WID_R_X509_SIGNER_NOT_CA;
    }
    if (!(flags & EXFLAG_KUSAGE)
        || !(X509_get_key_usage(cert) & KU_KEY_CERT_SIGN))
    {
        return WID_R_X509_SIGNER_NO_KEYCERTSIGN;
    }

    gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
    for (i = 0; gens != NULL && i < sk_GENERAL_NAME_num(gens); i++) {
        g = sk_GENERAL_NAME_value(gens, i);
        if (g->type != GEN_URI) {
            continue;
        }
        uri = (const char *) ASN1_STRING_get0_data(g->d.uniformResourceIdentifier);
        if (wid_spiffe_id_parse(uri,
                                (size_t) ASN1_STRING_length(
                                    g->d.uniformResourceIdentifier),
                                &id) != WID_OK)
        {
            continue;     /* not a SPIFFE ID: no claim about domains */
        }
        if (strcmp(id.trust_domain, leaf_id->trust_domain) != 0) {
            r = WID_R_X509_TD_MISMATCH;
            break;
        }
        if (id.path_len != 0) {
            r = WID_R_X509_SIGNER_PATH;
            break;
        }
    }
    GENERAL_NAMES_free(gens);
    return r;
}

/*
 * The chain did not lead to the leaf's trust domain.  Tell the
 * operator when it leads (by issuer name) to another loaded domain's
 * authority: the cross-trust-domain attack.  No signature is checked:
 * this only chooses the reason code of a rejection.
 */
static wid_reason_t
wid_x509_untrusted(const wid_bundle_set *set, const wid_bundle *own,
                   X509 *leaf, STACK_OF(X509) *untrusted)
{
    X509             *top = leaf;
    const X509_NAME  *issuer;
    const wid_bundle *b;
    size_t            i, j;

    if (untrusted != NULL && sk_X509_num(untrusted) > 0) {
        top = sk_X509_value(untrusted, sk_X509_num(untrusted) - 1);
    }
    issuer = X509_get_issuer_name(top);
    for (i = 0; i < wid_bundle_set_count(set); i++) {
        b = wid_bundle_set_at(set, i);
        if (b == own) {
            continue;
        }
        for (j = 0; j < wid_bundle_x509_count(b); j++) {
            if (X509_NAME_cmp(issuer,
                              X509_get_subject_name(wid_bundle_x509_at(b, j)))
                == 0)
            {
                return WID_R_X509_TD_MISMATCH;
            }
        }
    }
    return WID_R_X509_UNTRUSTED;
}

static wid_reason_t
wid_x509_verify_error(int err)
{
    switch (err) {
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
        return WID_R_X509_BAD_SIGNATURE;
    case X509_V_ERR_INVALID_CA:
        return WID_R_X509_SIGNER_NOT_CA;
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_CA_CERT_MISSING_KEY_USAGE:
        return WID_R_X509_SIGNER_NO_KEYCERTSIGN;
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
        return WID_R_X509_CHAIN_TOO_LONG;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
        return WID_R_X509_UNTRUSTED;
    default:
        return WID_R_X509_CHAIN_INVALID;
    }
}

/* Verify callback: validity periods are checked afterwards, with the
 * leeway, on the chain OpenSSL built. */
static int
wid_x509_time_later(int ok, X509_STORE_CTX *ctx)
{
    switch (X509_STORE_CTX_get_error(ctx)) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return 1;
    default:
        return ok;
    }
}

static wid_reason_t
wid_x509_serial(X509 *leaf, char *out, size_t out_size)
{
    const ASN1_INTEGER *sn = X509_get0_serialNumber(leaf);
    int                 len = ASN1_STRING_length(sn);

    if (ASN1_STRING_type(sn) == V_ASN1_NEG_INTEGER || len < 0
        || (size_t) len * 2 + 1 > out_size)
    {
        return WID_R_X509_PARSE;
    }
    wid_hex(ASN1_STRING_get0_data(sn), (size_t) len, out);
    return WID_OK;
}

wid_reason_t
wid_x509svid_verify(const wid_bundle_set *set, X509 *leaf,
                    STACK_OF(X509) *intermediates, int64_t now,
                    int64_t leeway, wid_identity *out)
{
    wid_spiffe_id     id;
    const wid_bundle *b;
    X509_STORE_CTX   *ctx = NULL;
    X509_VERIFY_PARAM *vp;
    STACK_OF(X509)   *chain;
    X509             *anchor;
    unsigned char     md[EVP_MAX_MD_SIZE];
    unsigned int      md_len = 0;
    wid_reason_t      r, detail = WID_OK;
    size_t            i;
    int               n;

    memset(out, 0, sizeof(*out));
    if (leaf == NULL) {
        return WID_R_X509_NO_CERT;
    }
    if (intermediates != NULL
        && sk_X509_num(intermediates) >= WID_X509_MAX_CHAIN)
    {
        return WID_R_X509_CHAIN_TOO_LONG;
    }
    if (leeway < 0 || leeway > WID_LEEWAY_MAX) {
        return WID_R_INTERNAL_CONFIG;
    }

    /* The leaf's own claims first: they pick the trust domain. */
    r = wid_x509_spiffe_id(leaf, &id, &detail);
    if (r != WID_OK) {
        out->detail = detail;
        return r;
    }
    if (id.path_len == 0) {
        return WID_R_X509_ROOT_PATH;
    }
    r = wid_x509_leaf_rules(leaf);
    if (r != WID_OK) {
        return r;
    }

    b = wid_bundle_set_find(set, id.trust_domain, id.td_len);
    if (b == NULL) {
        return WID_R_BUNDLE_UNKNOWN_TD;
    }

    ctx = X509_STORE_CTX_new();
    if (ctx == NULL
        || !X509_STORE_CTX_init(ctx, wid_bundle_x509_store(b), leaf,
                                intermediates))
    {
        r = WID_R_INTERNAL_NOMEM;
        goto done;
    }
    vp = X509_STORE_CTX_get0_param(ctx);
    /*
     * Bundle authorities are anchors even when they are intermediates
     * (PARTIAL_CHAIN).  OpenSSL verifies at now so that, of several
     * certificates of one issuer (a root renewed with its key), it picks
     * one valid now; its time errors are left to the check with the
     * leeway below.
     */
    X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_X509_STRICT
                                    | X509_V_FLAG_PARTIAL_CHAIN);
    X509_VERIFY_PARAM_set_time(vp, (time_t) now);
    X509_VERIFY_PARAM_set_depth(vp, WID_X509_MAX_CHAIN);
    X509_STORE_CTX_set_verify_cb(ctx, wid_x509_time_later);

    if (X509_verify_cert(ctx) != 1) {
        r = wid_x509_verify_error(X509_STORE_CTX_get_error(ctx));
        if (r == WID_R_X509_SIGNER_NOT_CA) {
            /*
             * OpenSSL calls a cA=true certificate without keyCertSign
             * "not a CA" too; tell the two rules apart.
             */
            X509 *bad = X509_STORE_CTX_get_current_cert(ctx);

            if (bad != NULL && (X509_get_extension_flags(bad) & EXFLAG_CA)
                && (X509_get_extension_flags(bad) & EXFLAG_KUSAGE)
                && !(X509_get_key_usage(bad) & KU_KEY_CERT_SIGN))
            {
                r = WID_R_X509_SIGNER_NO_KEYCERTSIGN;
            }
        }
        if (r == WID_R_X509_UNTRUSTED) {
            r = wid_x509_untrusted(set, b, leaf, intermediates);
        }
        goto done;
    }

    chain = X509_STORE_CTX_get0_chain(ctx);
    n = sk_X509_num(chain);
    if (n < 2) {
        /*
         * The leaf itself is in the bundle: a certificate is never its
         * own authority (bundles hold CAs; none of them signed it).
         */
        r = WID_R_X509_UNTRUSTED;
        goto done;
    }
    for (i = 0; i < (size_t) n; i++) {
        r = wid_x509_validity(sk_X509_value(chain, (int) i), now, leeway);
        if (r != WID_OK) {
            goto done;
        }
    }
    for (i = 1; i < (size_t) n; i++) {
        r = wid_x509_signer_rules(sk_X509_value(chain, (int) i), &id);
        if (r != WID_OK) {
            goto done;
        }
    }

    r = wid_x509_serial(leaf, out->serial, sizeof(out->serial));
    if (r != WID_OK) {
        goto done;
    }
    if (!X509_digest(leaf, EVP_sha256(), md, &md_len) || md_len != 32) {
        r = WID_R_INTERNAL_CRYPTO;
        goto done;
    }
    /*
     * The SVID is good only while its whole path is: the earliest
     * notAfter of leaf, intermediates and anchor.  Caches that keep the
     * result (a TLS connection's) and certificates cut from it (SSH)
     * end there.
     */
    for (i = 0; i < (size_t) n; i++) {
        int64_t t;

        if (wid_asn1_time(X509_get0_notAfter(sk_X509_value(chain, (int) i)),
                          &t) != 0)
        {
            r = WID_R_INTERNAL_CRYPTO;
            goto done;
        }
        if (i == 0 || t < out->not_after) {
            out->not_after = t;
        }
    }
    wid_hex(md, md_len, out->fingerprint);

    anchor = sk_X509_value(chain, n - 1);
    for (i = 0; i < wid_bundle_x509_count(b); i++) {
        if (X509_cmp(anchor, wid_bundle_x509_at(b, i)) == 0) {
            strcpy(out->bundle_sha256, wid_bundle_x509_source(b, i));
            break;
        }
    }

    /* The strings only: the rest of out stays zero. */
    memcpy(out->spiffe_id, id.id, 9 + id.td_len + id.path_len + 1);
    memcpy(out->trust_domain, id.trust_domain, id.td_len + 1);
    memcpy(out->path, id.path, id.path_len + 1);
    out->kind = WID_CRED_X509_SVID;
    r = WID_OK;

done:
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    if (r != WID_OK) {
        memset(out, 0, sizeof(*out));
        out->detail = detail;
    }
    return r;
}

wid_reason_t
wid_x509_chain_parse(const unsigned char *buf, size_t len, X509 **leaf,
                     STACK_OF(X509) **rest)
{
    BIO                 *bio;
    X509                *x;
    STACK_OF(X509)      *all;
    const unsigned char *p = buf;
    unsigned long        e;
    wid_reason_t         r = WID_OK;

    *leaf = NULL;
    *rest = NULL;
    if (len > 1024 * 1024) {
        return WID_R_X509_PARSE;    /* BIO and d2i lengths are ints */
    }
    all = sk_X509_new_null();
    if (all == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }

    if (memmem(buf, len, "-----BEGIN ", 11) == NULL) {
        /* A single DER certificate. */
        x = len > 0 ? d2i_X509(NULL, &p, (long) len) : NULL;
        if (x == NULL || p != buf + len) {
            X509_free(x);
            r = len > 0 ? WID_R_X509_PARSE : WID_R_X509_NO_CERT;
        } else if (!sk_X509_push(all, x)) {
            X509_free(x);
            r = WID_R_INTERNAL_NOMEM;
        }
    } else {
        bio = BIO_new_mem_buf(buf, (int) len);
        if (bio == NULL) {
            sk_X509_free(all);
            return WID_R_INTERNAL_NOMEM;
        }
        while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
            if (!sk_X509_push(all, x)) {
                X509_free(x);
                r = WID_R_INTERNAL_NOMEM;
                break;
            }
            if (sk_X509_num(all) > WID_X509_MAX_CHAIN) {
                r = WID_R_X509_CHAIN_TOO_LONG;
                break;
            }
        }
        e = ERR_peek_last_error();
        if (r == WID_OK && !(ERR_GET_LIB(e) == ERR_LIB_PEM
                             && ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
        {
            r = WID_R_X509_PARSE;
        }
        BIO_free(bio);
    }
    ERR_clear_error();

    if (r == WID_OK && sk_X509_num(all) == 0) {
        r = WID_R_X509_NO_CERT;
    }
    if (r != WID_OK) {
        sk_X509_pop_free(all, X509_free);
        return r;
    }
    *leaf = sk_X509_shift(all);
    *rest = all;
    return WID_OK;
}
