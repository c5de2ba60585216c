#include <string.h>

#include "spiffe_id.h"

#define WID_SCHEME     "spiffe://"
#define WID_SCHEME_LEN (sizeof(WID_SCHEME) - 1)

static int
wid_td_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || c == '.' || c == '-' || c == '_';
}

static int
wid_path_char(unsigned char c)
{
    return wid_td_char(c) || (c >= 'A' && c <= 'Z');
}

/*
 * URI delimiters get their own codes so that an operator sees which URI
 * feature was used; they are checked over the whole remainder first so
 * that "spiffe://td/a?x" is a query, not a bad path byte.
 */
static wid_reason_t
wid_uri_feature(const char *s, size_t len)
{
    if (memchr(s, '%', len) != NULL) {
        return WID_R_ID_PERCENT;
    }
    if (memchr(s, '#', len) != NULL) {
        return WID_R_ID_FRAGMENT;
    }
    if (memchr(s, '?', len) != NULL) {
        return WID_R_ID_QUERY;
    }
    return WID_OK;
}

static wid_reason_t
wid_td_check(const char *td, size_t len)
{
    size_t        i;
    unsigned char c;
    wid_reason_t  r = WID_OK;

    if (len == 0) {
        return WID_R_ID_TD_EMPTY;
    }
    if (memchr(td, '@', len) != NULL) {
        return WID_R_ID_USERINFO;
    }
    /* An IPv6 literal is not allowed; its colons are not a port. */
    if (memchr(td, '[', len) != NULL) {
        return WID_R_ID_TD_BAD_CHAR;
    }
    if (memchr(td, ':', len) != NULL) {
        return WID_R_ID_PORT;
    }
    for (i = 0; i < len; i++) {
        c = (unsigned char) td[i];
        if (c >= 'A' && c <= 'Z') {
            /* Keep looking: a forbidden byte elsewhere is worse news. */
            r = WID_R_ID_TD_UPPERCASE;
        } else if (!wid_td_char(c)) {
            return WID_R_ID_TD_BAD_CHAR;
        }
    }
    if (r != WID_OK) {
        return r;
    }
    if (len > WID_TRUST_DOMAIN_MAX) {
        return WID_R_ID_TD_TOO_LONG;
    }
    return WID_OK;
}

wid_reason_t
wid_trust_domain_check(const char *td, size_t len)
{
    wid_reason_t r;

    if (td == NULL || len == 0) {
        return WID_R_ID_TD_EMPTY;
    }
    r = wid_uri_feature(td, len);
    if (r != WID_OK) {
        return r;
    }
    if (memchr(td, '/', len) != NULL) {
        return WID_R_ID_TD_BAD_CHAR;
    }
    return wid_td_check(td, len);
}

static wid_reason_t
wid_path_check(const char *p, size_t len)
{
    size_t i, seg, n;

    /* p[0] == '/' here; walk the segments after each slash. */
    for (i = 0; i < len; i = seg + n) {
        seg = i + 1;
        n = 0;
        while (seg + n < len && p[seg + n] != '/') {
            n++;
        }
        if (n == 0) {
            return seg == len ? WID_R_ID_PATH_TRAILING_SLASH
                              : WID_R_ID_PATH_EMPTY_SEGMENT;
        }
        if ((n == 1 && p[seg] == '.')
            || (n == 2 && p[seg] == '.' && p[seg + 1] == '.'))
        {
            return WID_R_ID_PATH_DOT_SEGMENT;
        }
        for (size_t k = 0; k < n; k++) {
            if (!wid_path_char((unsigned char) p[seg + k])) {
                return WID_R_ID_PATH_BAD_CHAR;
            }
        }
    }
    return WID_OK;
}

wid_reason_t
wid_spiffe_id_parse(const char *s, size_t len, wid_spiffe_id *out)
{
    const char   *rest, *slash;
    size_t        rest_len, td_len;
    wid_reason_t  r;

    if (out != NULL) {
        memset(out, 0, sizeof(*out));
    }
    if (s == NULL || len == 0) {
        return WID_R_ID_EMPTY;
    }
    if (len > WID_SPIFFE_ID_MAX) {
        return WID_R_ID_TOO_LONG;
    }
    /* The scheme is compared exactly: "SPIFFE://" is refused. */
    if (len < WID_SCHEME_LEN || memcmp(s, WID_SCHEME, WID_SCHEME_LEN) != 0) {
        return WID_R_ID_WRONG_SCHEME;
    }

    rest = s + WID_SCHEME_LEN;
    rest_len = len - WID_SCHEME_LEN;

    r = wid_uri_feature(rest, rest_len);
    if (r != WID_OK) {
        return r;
    }

    slash = memchr(rest, '/', rest_len);
    td_len = slash != NULL ? (size_t) (slash - rest) : rest_len;

    r = wid_td_check(rest, td_len);
    if (r != WID_OK) {
        return r;
    }
    if (td_len < rest_len) {
        r = wid_path_check(rest + td_len, rest_len - td_len);
        if (r != WID_OK) {
            return r;
        }
    }

    if (out != NULL) {
        memcpy(out->id, s, len);
        memcpy(out->trust_domain, rest, td_len);
        out->td_len = td_len;
        out->path_len = rest_len - td_len;
        memcpy(out->path, rest + td_len, out->path_len);
    }
    return WID_OK;
}
