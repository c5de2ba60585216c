/*
 * flatjson: see flatjson.h.  This is not a JSON parser: it accepts a
 * strict subset whose every text means exactly its bytes, and says "not
 * mine" for everything else, which then goes to jansson.
 */
#include <string.h>

#include "flatjson.h"

/* A string of printable ASCII without '"' or '\'. */
static int
wid_fj_plain(unsigned char c)
{
    return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
}

/* At *p a string; its bytes to *s / *len, *p past the closing quote. */
static int
wid_fj_string(const char **p, const char *end, const char **s, size_t *len)
{
    const char *q = *p;

    if (q >= end || *q != '"') {
        return -1;
    }
    q++;
    *s = q;
    while (q < end && wid_fj_plain((unsigned char) *q)) {
        q++;
    }
    if (q >= end || *q != '"') {
        return -1;              /* escape, control, non-ASCII or the end */
    }
    *len = (size_t) (q - *s);
    *p = q + 1;
    return 0;
}

/* 0 or [1-9][0-9]{0,17}: always within int64_t. */
static int
wid_fj_integer(const char **p, const char *end, int64_t *out)
{
    const char *q = *p;
    int64_t     v = 0;
    int         digits = 0;

    if (q >= end || *q < '0' || *q > '9') {
        return -1;
    }
    if (*q == '0') {
        q++;
    } else {
        while (q < end && *q >= '0' && *q <= '9') {
            if (++digits > 18) {
                return -1;
            }
            v = v * 10 + (*q - '0');
            q++;
        }
    }
    /* A fraction or exponent makes it a real: not ours. */
    if (q < end && (*q == '.' || *q == 'e' || *q == 'E')) {
        return -1;
    }
    *out = v;
    *p = q;
    return 0;
}

static int
wid_fj_array(const char **p, const char *end, wid_fj_member *m)
{
    const char *q = *p + 1, *s;
    size_t      n;

    m->str = q;
    m->nitems = 0;
    if (q < end && *q == ']') {
        m->str_len = 0;
        *p = q + 1;
        return 0;
    }
    for (;;) {
        if (m->nitems == WID_FLATJSON_MAX_ITEMS
            || wid_fj_string(&q, end, &s, &n) != 0)
        {
            return -1;
        }
        m->nitems++;
        if (q < end && *q == ',') {
            q++;
            continue;
        }
        if (q < end && *q == ']') {
            break;
        }
        return -1;
    }
    m->str_len = (size_t) (q - m->str);
    *p = q + 1;
    return 0;
}

int
wid_flatjson_scan(const char *text, size_t len, wid_fj_member *m)
{
    const char *p = text, *end = text + len;
    int         n = 0, i;

    if (len < 2 || *p != '{') {
        return -1;
    }
    p++;
    if (*p == '}') {
        return p + 1 == end ? 0 : -1;
    }
    for (;;) {
        if (n == WID_FLATJSON_MAX
            || wid_fj_string(&p, end, &m[n].name, &m[n].name_len) != 0
            || p >= end || *p != ':' || ++p >= end)
        {
            return -1;
        }
        if (*p == '"') {
            m[n].type = WID_FJ_STRING;
            if (wid_fj_string(&p, end, &m[n].str, &m[n].str_len) != 0) {
                return -1;
            }
        } else if (*p == '[') {
            m[n].type = WID_FJ_ARRAY;
            if (wid_fj_array(&p, end, &m[n]) != 0) {
                return -1;
            }
        } else {
            m[n].type = WID_FJ_INTEGER;
            if (wid_fj_integer(&p, end, &m[n].integer) != 0) {
                return -1;
            }
        }
        /* Duplicate names go to jansson, which refuses them. */
        for (i = 0; i < n; i++) {
            if (m[i].name_len == m[n].name_len
                && memcmp(m[i].name, m[n].name, m[n].name_len) == 0)
            {
                return -1;
            }
        }
        n++;
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        if (p < end && *p == '}' && p + 1 == end) {
            return n;
        }
        return -1;
    }
}

const wid_fj_member *
wid_flatjson_get(const wid_fj_member *m, int n, const char *name)
{
    size_t len = strlen(name);
    int    i;

    for (i = 0; i < n; i++) {
        if (m[i].name_len == len && memcmp(m[i].name, name, len) == 0) {
            return &m[i];
        }
    }
    return NULL;
}

int
wid_flatjson_item(const wid_fj_member *m, size_t *pos, const char **s,
                  size_t *len)
{
    const char *q, *close;

    /* The scan checked the shape: "a","b",... with no quote inside. */
    if (m->type != WID_FJ_ARRAY || *pos >= m->str_len) {
        return 0;
    }
    q = m->str + *pos;
    if (*q == ',') {
        q++;
    }
    close = memchr(q + 1, '"', m->str_len - (size_t) (q + 1 - m->str));
    if (*q != '"' || close == NULL) {
        return 0;
    }
    *s = q + 1;
    *len = (size_t) (close - q - 1);
    *pos = (size_t) (close + 1 - m->str);
    return 1;
}
