/*
 * Policy compiler: walks the YAML tree against the schema and builds the
 * immutable compiled form.  Every deviation from the schema is an error
 * with line and column, because a typo must never weaken a policy: an
 * unknown key is not ignored, a duplicate is not "last one wins", a
 * string is not coerced into a number.
 *
 * The compiler keeps going after an error where it safely can, so that
 * `wid policy lint` reports as many problems as possible in one run; a
 * policy with any error is never handed out.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_impl.h"
#include "policy_yaml.h"

#define WID_POLICY_TREE_LIMIT     (64u * 1024u * 1024u)
#define WID_POLICY_COMPILED_LIMIT (32u * 1024u * 1024u)
#define WID_MAX_TD_LEN            255
#define WID_MAX_PATH_LEN          2048
#define WID_MAX_TEXT_LEN          1024
#define WID_MAX_KEY_PEM_LEN       8192

typedef struct {
    wid_arena  *arena;
    wid_diags  *diags;
    unsigned    errors;
    wid_reason_t first;         /* code of the first error */
    int         nomem;
} wid_cctx;

/* ---- diagnostics ---- */

static void wid_cdiag(wid_cctx *c, wid_diag_severity_t sev, wid_reason_t r,
                      const wid_ynode *n, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
wid_cdiag(wid_cctx *c, wid_diag_severity_t sev, wid_reason_t r,
          const wid_ynode *n, const char *fmt, ...)
{
    char    msg[WID_DIAG_MSG_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (sev == WID_DIAG_ERROR && c->errors++ == 0) {
        c->first = r;
    }
    wid_diag_add(c->diags, sev, r, n ? n->line : 0, n ? n->column : 0,
                 "%s", msg);
}

#define wid_cerr(c, r, n, ...) \
    wid_cdiag(c, WID_DIAG_ERROR, r, n, __VA_ARGS__)
#define wid_cwarn(c, n, ...) \
    wid_cdiag(c, WID_DIAG_WARNING, WID_R_POLICY_LINT_WARNING, n, __VA_ARGS__)

static void *
wid_calloc(wid_cctx *c, size_t n, size_t size)
{
    void *p = wid_arena_array(c->arena, n, size);

    if (p == NULL && !c->nomem) {
        c->nomem = 1;
        if (c->errors++ == 0) {
            c->first = WID_R_POLICY_UNREADABLE;
        }
        wid_diag_add(c->diags, WID_DIAG_ERROR, WID_R_POLICY_UNREADABLE, 0, 0,
                     "out of memory or policy too large");
    }
    return p;
}

static char *
wid_arena_strndup_c(wid_cctx *c, const char *s, size_t len)
{
    char *d = wid_calloc(c, 1, len + 1);

    if (d != NULL) {
        memcpy(d, s, len);
    }
    return d;
}

static const char *
wid_type_name(const wid_ynode *n)
{
    switch (n->type) {
    case WID_Y_MAP:
        return "a mapping";
    case WID_Y_SEQ:
        return "a list";
    default:
        return n->plain ? "a plain scalar" : "a quoted string";
    }
}

/* ---- "did you mean" for unknown keys ---- */

static size_t
wid_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j;
    size_t row[2][65];

    if (la > 64 || lb > 64) {
        return 99;
    }
    for (j = 0; j <= lb; j++) {
        row[0][j] = j;
    }
    for (i = 1; i <= la; i++) {
        size_t *cur = row[i & 1], *prev = row[(i - 1) & 1];

        cur[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

            cur[j] = sub < del ? (sub < ins ? sub : ins)
                               : (del < ins ? del : ins);
        }
    }
    return row[la & 1][lb];
}

/* ---- scalars ---- */

static int
wid_is_null_scalar(const wid_ynode *n)
{
    return n->type == WID_Y_SCALAR && n->plain
           && (n->len == 0 || strcmp(n->value, "~") == 0
               || strcmp(n->value, "null") == 0
               || strcmp(n->value, "Null") == 0
               || strcmp(n->value, "NULL") == 0);
}

/* A non-empty string without NUL or control characters. */
static const char *
wid_get_string(wid_cctx *c, const wid_ynode *n, const char *field,
               size_t maxlen)
{
    size_t i;

    if (n->type != WID_Y_SCALAR || wid_is_null_scalar(n)) {
        wid_cerr(c, WID_R_POLICY_WRONG_TYPE, n,
                 "'%s' must be a string, not %s", field,
                 wid_is_null_scalar(n) ? "empty (null)" : wid_type_name(n));
        return NULL;
    }
    if (n->len == 0) {
        wid_cerr(c, WID_R_POLICY_BAD_VALUE, n, "'%s' must not be empty",
                 field);
        return NULL;
    }
    if (n->len > maxlen) {
        wid_cerr(c, WID_R_POLICY_BAD_VALUE, n,
                 "'%s' is longer than %zu bytes", field, maxlen);
        return NULL;
    }
    for (i = 0; i < n->len; i++) {
        unsigned char ch = (unsigned char) n->value[i];

        if (ch < 0x20 || ch == 0x7f) {
            wid_cerr(c, WID_R_POLICY_BAD_VALUE, n,
                     "'%s' contains a control character (byte %zu)",
                     field, i);
            return NULL;
        }
    }
    /* The tree dies after compilation; the policy keeps its own copy. */
    return wid_arena_strndup_c(c, n->value, n->len);
}

/* String whose every byte is in the accepted set (and not empty). */
static const char *
wid_get_token(wid_cctx *c, const wid_ynode *n, const char *field,
              size_t maxlen, const char *extra, int allow_upper)
{
    const char *s = wid_get_string(c, n, field, maxlen);
    size_t      i;

    if (s == NULL) {
        return NULL;
    }
    for (i = 0; i < n->len; i++) {
        unsigned char ch = (unsigned char) s[i];

        if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
            || (allow_upper && ch >= 'A' && ch <= 'Z')
            || (ch != 0 && strchr(extra, ch) != NULL))
        {
            continue;
        }
        wid_cerr(c, WID_R_POLICY_BAD_VALUE, n,
                 "'%s' has a character not allowed here ('%c' at offset "
                 "%zu; allowed: letters%s, digits, \"%s\")", field,
                 ch >= 0x20 && ch < 0x7f ? ch : '?', i,
                 allow_upper ? "" : " (lowercase)", extra);
        return NULL;
    }
    return s;
}

static int
wid_get_bool(wid_cctx *c, const wid_ynode *n, const char *field, int *out)
{
    if (n->type == WID_Y_SCALAR && n->plain) {
        if (strcmp(n->value, "true") == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(n->value, "false") == 0) {
            *out = 0;
            return 0;
        }
    }
    /* YAML 1.1 also reads yes/no/on/off as booleans; we do not: say so. */
    wid_cerr(c, WID_R_POLICY_WRONG_TYPE, n,
             "'%s' must be true or false, not %s%s%s%s", field,
             wid_type_name(n), n->type == WID_Y_SCALAR ? " '" : "",
             n->type == WID_Y_SCALAR ? n->value : "",
             n->type == WID_Y_SCALAR ? "'" : "");
    return -1;
}

static int
wid_get_uint(wid_cctx *c, const wid_ynode *n, const char *field,
             uint32_t min, uint32_t max, uint32_t *out)
{
    unsigned long long v = 0;
    size_t             i;

    if (n->type != WID_Y_SCALAR || !n->plain || n->len == 0) {
        wid_cerr(c, WID_R_POLICY_WRONG_TYPE, n,
                 "'%s' must be an unquoted integer, not %s", field,
                 wid_type_name(n));
        return -1;
    }
    if (n->value[0] == '-') {
        wid_cerr(c, WID_R_POLICY_BAD_VALUE, n,
                 "'%s' must be positive, not %s", field, n->value);
        return -1;
    }
    /* YAML 1.1 tools read 0600 as octal (384): refuse what they disagree on. */
    if (n->len > 1 && n->value[0] == '0') {
        wid_cerr(c, WID_R_POLICY_BAD_VALUE, n,
                 "'%s' must be a decimal integer without leading zeros, "
                 "not %s", field, n->value);
        return -1;
    }
    for (i = 0; i < n->len; i++) {
        if (n->value[i] < '0' || n->value[i] > '9') {
            wid_cerr(c, WID_R_POLICY_WRONG_TYPE, n,
                     "'%s' must be a decimal integer, not '%s'", field,
                     n->value);
            return -1;
        }
        v = v * 10 + (unsigned) (n->value[i] - '0');
        if (v > max) {
            break;
        }
    }
    if (v < min || v > max) {
        wid_cerr(c, WID_R_POLICY_BAD_VALUE, n,
                 "'%s' must be between %u and %u, not %s", field, min, max,
                 n->value);
        return -1;
    }
    *out = (uint32_t) v;
    return 0;
}

static int
wid_get_tier(wid_cctx *c, const wid_ynode *n, const char *field,
             wid_tier_t *out)
{
    if (n->type != WID_Y_SCALAR || wid_is_null_scalar(n)) {
        wid_cerr(c, WID_R_POLICY_WRONG_TYPE, n,
                 "'%s' must be a tier name, not %s", field,
                 wid_type_name(n));
        return -1;
    }
    if (wid_tier_from_name(n->value, out) != 0) {
        wid_cerr(c, WID_R_POLICY_BAD_VALUE, n,
                 "'%s': unknown tier '%s' (tiers: none < basic < attested "
                 "< verified)", field, n->value);
        return -1;
    }
    return 0;
}

/* ---- mappings with a fixed set of keys ---- */

/*
 * Check a schema mapping: every key known, none twice.  vals[i] receives
 * the value node of allowed[i] (or NULL).
 */
static int
wid_map_fields(wid_cctx *c, const wid_ynode *map, const char *where,
               const char *const *allowed, size_t nallowed, wid_ynode **vals)
{
    const wid_ynode *k, *v;
    size_t           i, j, best_i = 0, best_d, d;
    int              ok = 0;

    for (i = 0; i < nallowed; i++) {
        vals[i] = NULL;
    }
    if (map->type != WID_Y_MAP) {
        wid_cerr(c, WID_R_POLICY_WRONG_TYPE, map,
                 "%s must be a mapping, not %s", where, wid_type_name(map));
        return -1;
    }
    for (k = map->first; k != NULL; k = v->next) {
        v = k->next;
        if (k->type != WID_Y_SCALAR) {
            wid_cerr(c, WID_R_POLICY_WRONG_TYPE, k,
                     "keys in %s must be plain names, not %s", where,
                     wid_type_name(k));
            ok = -1;
            continue;
        }
        if (strcmp(k->value, "<<") == 0 && k->plain) {
            wid_cerr(c, WID_R_POLICY_YAML_FEATURE, k,
                     "merge keys (<<) are not allowed in a policy");
            ok = -1;
            continue;
        }
        for (i = 0; i < nallowed; i++) {
            if (strcmp(k->value, allowed[i]) == 0) {
                break;
            }
        }
        if (i == nallowed) {
            /* Only an unknown key needs a suggestion (principals loads
             * the policy at every login). */
            best_d = 99;
            for (j = 0; j < nallowed; j++) {
                d = wid_edit_distance(k->value, allowed[j]);
                /* A truncated or extended name is a likely typo too. */
                if (strlen(k->value) >= 4 && strlen(allowed[j]) >= 4
                    && (strncmp(k->value, allowed[j], strlen(k->value)) == 0
                        || strncmp(k->value, allowed[j], strlen(allowed[j]))
                           == 0))
                {
                    d = 1;
                }
                if (d < best_d) {
                    best_d = d;
                    best_i = j;
                }
            }
            if (best_d <= 3) {
                wid_cerr(c, WID_R_POLICY_UNKNOWN_KEY, k,
                         "unknown key '%s' in %s (did you mean '%s'?)",
                         k->value, where, allowed[best_i]);
            } else {
                wid_cerr(c, WID_R_POLICY_UNKNOWN_KEY, k,
                         "unknown key '%s' in %s", k->value, where);
            }
            ok = -1;
            continue;
        }
        if (vals[i] != NULL) {
            wid_cerr(c, WID_R_POLICY_DUPLICATE_KEY, k,
                     "duplicate key '%s' in %s (first set at line %u)",
                     k->value, where, vals[i]->line);
            ok = -1;
            continue;
        }
        vals[i] = (wid_ynode *) v;
    }
    return ok;
}

static void
wid_require(wid_cctx *c, const wid_ynode *map, const char *where,
            const char *field, const wid_ynode *val)
{
    if (val == NULL) {
        wid_cerr(c, WID_R_POLICY_MISSING_KEY, map,
                 "%s lacks required key '%s'", where, field);
    }
}

/* ---- mappings of user-named entries (rules, verifiers, tiers) ---- */

static int
wid_cmp_node_value(const void *a, const void *b)
{
    const wid_ynode *x = *(const wid_ynode *const *) a;
    const wid_ynode *y = *(const wid_ynode *const *) b;
    int              r = strcmp(x->value, y->value);

    if (r != 0) {
        return r;
    }
    return x->line < y->line ? -1 : (x->line > y->line);
}

/*
 * Validate the names of a named-entry mapping and report duplicates.
 * Returns the number of entries, or -1 if the node is not a mapping.
 */
static long
wid_named_entries(wid_cctx *c, const wid_ynode *map, const char *where,
                  size_t max)
{
    const wid_ynode **keys;
    const wid_ynode  *k;
    size_t            n = map->count / 2, i = 0;

    if (map->type != WID_Y_MAP) {
        wid_cerr(c, WID_R_POLICY_WRONG_TYPE, map,
                 "'%s' must be a mapping of named entries, not %s", where,
                 wid_type_name(map));
        return -1;
    }
    if (n > max) {
        wid_cerr(c, WID_R_POLICY_BAD_VALUE, map,
                 "'%s' has %zu entries; at most %zu are allowed", where, n,
                 max);
        return -1;
    }
    if (n == 0) {
        return 0;
    }
    keys = wid_calloc(c, n, sizeof(*keys));
    if (keys == NULL) {
        return -1;
    }
    for (k = map->first; k != NULL; k = k->next->next) {
        if (k->type != WID_Y_SCALAR) {
            wid_cerr(c, WID_R_POLICY_WRONG_TYPE, k,
                     "entry names in '%s' must be plain names, not %s",
                     where, wid_type_name(k));
            continue;
        }
        if (strcmp(k->value, "<<") == 0 && k->plain) {
            wid_cerr(c, WID_R_POLICY_YAML_FEATURE, k,
                     "merge keys (<<) are not allowed in a policy");
            continue;
        }
        keys[i++] = k;
    }
    qsort(keys, i, sizeof(*keys), wid_cmp_node_value);
    for (size_t j = 1; j < i; j++) {
        if (strcmp(keys[j]->value, keys[j - 1]->value) == 0) {
            wid_cerr(c, WID_R_POLICY_DUPLICATE_KEY, keys[j],
                     "duplicate entry '%s' in '%s' (first defined at line "
                     "%u)", keys[j]->value, where, keys[j - 1]->line);
        }
    }
    return (long) n;
}

/* ---- lists ---- */

static int
wid_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * A list of tokens: checks type, emptiness, bounds, duplicates.  The
 * returned array (in the compiled arena) is in document order.
 */
static const char **
wid_get_token_list(wid_cctx *c, const wid_ynode *n, const char *field,
                   size_t min, size_t max, size_t maxlen, const char *extra,
                   int allow_upper, size_t *count)
{
    const char      **v;
    const wid_ynode  *it, *jt;
    size_t            i = 0;

    *count = 0;
    if (n->type != WID_Y_SEQ) {
        wid_cerr(c, WID_R_POLICY_WRONG_TYPE, n,
                 "'%s' must be a list, not %s", field, wid_type_name(n));
        return NULL;
    }
    if (n->count < min) {
        wid_cerr(c, WID_R_POLICY_BAD_VALUE, n,
                 "'%s' must not be an empty list (omit the key instead)",
                 field);
        return NULL;
    }
    if (n->count > max) {
        wid_cerr(c, WID_R_POLICY_BAD_VALUE, n,
                 "'%s' has %zu entries; at most %zu are allowed", field,
                 n->count, max);
        return NULL;
    }
    v = wid_calloc(c, n->count + 1, sizeof(*v));
    if (v == NULL) {
        return NULL;
    }
    for (it = n->first; it != NULL; it = it->next) {
        const char *s = wid_get_token(c, it, field, maxlen, extra,
                                      allow_upper);

        if (s == NULL) {
            return NULL;
        }
        for (jt = n->first; jt != it; jt = jt->next) {
            if (strcmp(jt->value, s) == 0) {
                wid_cerr(c, WID_R_POLICY_DUPLICATE_KEY, it,
                         "'%s' lists '%s' twice (first at line %u)", field,
                         s, jt->line);
                return NULL;
            }
        }
        v[i++] = s;
    }
    *count = i;
    return v;
}

#define WID_OP_CHARS "_.:/-"

static int
wid_compile_opset(wid_cctx *c, const wid_ynode *n, const char *field,
                  wid_opset *out)
{
    const char **v;
    size_t       count, i, j = 0;

    out->present = 1;
    out->line = n->line;
    out->column = n->column;
    v = wid_get_token_list(c, n, field, 1, WID_POLICY_MAX_LIST,
                           WID_POLICY_MAX_NAME, WID_OP_CHARS "*", 1, &count);
    if (v == NULL) {
        return -1;
    }
    for (i = 0; i < count; i++) {
        if (strchr(v[i], '*') != NULL) {
            if (strcmp(v[i], "*") != 0) {
                wid_cerr(c, WID_R_POLICY_BAD_VALUE, n,
                         "'%s': '%s' is not an operation; '*' alone means "
                         "any operation, there are no globs", field, v[i]);
                return -1;
            }
            out->any = 1;
            continue;
        }
        v[j++] = v[i];
    }
    if (out->any && j > 0) {
        wid_cwarn(c, n, "'%s' lists '*' and named operations; the names "
                  "add nothing", field);
    }
    qsort(v, j, sizeof(*v), wid_cmp_str);
    out->ops = v;
    out->nops = j;
    return 0;
}

/* ---- identity match ---- */

static int
wid_valid_prefix(const char *p, size_t len)
{
    size_t i, seg = 0, seglen = 0;

    if (len < 2 || p[0] != '/' || p[len - 1] == '/') {
        return 0;
    }
    for (i = 1; i <= len; i++) {
        if (i == len || p[i] == '/') {
            if (seglen == 0) {
                return 0;
            }
            /* "." and ".." segments are forbidden by the SPIFFE spec. */
            if ((seglen == 1 && p[seg + 1] == '.')
                || (seglen == 2 && p[seg + 1] == '.' && p[seg + 2] == '.'))
            {
                return 0;
            }
            seg = i;
            seglen = 0;
            continue;
        }
        seglen++;
    }
    return 1;
}

static void
wid_compile_idmatch(wid_cctx *c, const wid_ynode *n, const char *where,
                    wid_idmatch *m)
{
    static const char *const keys[] = {
        "scheme", "trust_domain", "path_prefixes", "credential_kinds"
    };
    wid_ynode   *v[4];
    char         field[96];
    const char **list;
    size_t       count, i;

    m->present = 1;
    m->line = n->line;
    m->column = n->column;
    /* Omitted credential_kinds: any of uri, x509_svid, jwt_svid (the
     * language's definition; docs/policy.md says what uri means). */
    m->kinds = WID_CRED_ANY;

    if (wid_map_fields(c, n, where, keys, 4, v) != 0 && n->type != WID_Y_MAP) {
        return;
    }
    if (v[0] != NULL) {
        snprintf(field, sizeof(field), "%s.scheme", where);
        const char *s = wid_get_string(c, v[0], field, 32);

        if (s != NULL && strcmp(s, "spiffe") != 0) {
            wid_cerr(c, WID_R_POLICY_BAD_VALUE, v[0],
                     "'%s': only 'spiffe' is supported, not '%s'", field, s);
        }
    }

    wid_require(c, n, where, "trust_domain", v[1]);
    if (v[1] != NULL) {
        snprintf(field, sizeof(field), "%s.trust_domain", where);
        /* SPIFFE trust domains are lowercase: an uppercase one could
         * never match, so it is an error rather than a silent deny. */
        m->trust_domain = wid_get_token(c, v[1], field, WID_MAX_TD_LEN,
                                        ".-_", 0);
        m->td_line = v[1]->line;
        m->td_column = v[1]->column;
    }

    if (v[2] != NULL) {
        snprintf(field, sizeof(field), "%s.path_prefixes", where);
        m->pfx_line = v[2]->line;
        m->pfx_column = v[2]->column;
        list = wid_get_token_list(c, v[2], field, 1, WID_POLICY_MAX_LIST,
                                  WID_MAX_PATH_LEN, "._-/", 1, &count);
        if (list != NULL) {
            size_t *lens = wid_calloc(c, count, sizeof(*lens));
            const wid_ynode *it = v[2]->first;

            for (i = 0; i < count && lens != NULL; i++, it = it->next) {
                lens[i] = strlen(list[i]);
                if (!wid_valid_prefix(list[i], lens[i])) {
                    wid_cerr(c, WID_R_POLICY_BAD_VALUE, it,
                             "'%s': '%s' is not a SPIFFE path prefix (starts "
                             "with '/', no trailing '/', no empty, '.' or "
                             "'..' segments)", field, list[i]);
                }
            }
            m->prefixes = list;
            m->prefix_lens = lens;
            m->nprefixes = count;
        }
    }

    if (v[3] != NULL) {
        snprintf(field, sizeof(field), "%s.credential_kinds", where);
        m->kinds_line = v[3]->line;
        m->kinds_column = v[3]->column;
        list = wid_get_token_list(c, v[3], field, 1, 3, 32, "_", 0, &count);
        if (list != NULL) {
            const wid_ynode *it = v[3]->first;

            m->kinds = 0;
            for (i = 0; i < count; i++, it = it->next) {
                wid_cred_kind_t k;

                if (wid_cred_kind_from_name(list[i], &k) != 0) {
                    wid_cerr(c, WID_R_POLICY_BAD_VALUE, it,
                             "'%s': unknown credential kind '%s' (uri, "
                             "x509_svid, jwt_svid)", field, list[i]);
                    continue;
                }
                m->kinds |= (unsigned) k;
            }
        }
    }
}

/* ---- ssh ---- */

static int
wid_valid_cidr(const char *s, char *why, size_t whylen)
{
    char          addr[64];
    unsigned char bin[16];
    const char   *slash = strchr(s, '/');
    size_t        alen = slash ? (size_t) (slash - s) : strlen(s);
    int           bits, maxbits, i;

    if (alen == 0 || alen >= sizeof(addr)) {
        snprintf(why, whylen, "not an address");
        return 0;
    }
    memcpy(addr, s, alen);
    addr[alen] = '\0';
    if (inet_pton(AF_INET, addr, bin) == 1) {
        maxbits = 32;
    } else if (inet_pton(AF_INET6, addr, bin) == 1) {
        maxbits = 128;
    } else {
        snprintf(why, whylen, "not an IPv4 or IPv6 address");
        return 0;
    }
    if (slash == NULL) {
        return 1;
    }
    if (slash[1] == '\0' || strlen(slash + 1) > 3) {
        snprintf(why, whylen, "bad prefix length");
        return 0;
    }
    bits = 0;
    for (i = 1; slash[i] != '\0'; i++) {
        if (slash[i] < '0' || slash[i] > '9') {
            snprintf(why, whylen, "bad prefix length");
            return 0;
        }
        bits = bits * 10 + (slash[i] - '0');
    }
    if (bits > maxbits) {
        snprintf(why, whylen, "prefix length %d exceeds %d", bits, maxbits);
        return 0;
    }
    /* Like sshd, refuse host bits set under the mask: "10.1.2.3/8" is
     * almost always a typo for a narrower or a different network. */
    for (i = bits; i < maxbits; i++) {
        if (bin[i / 8] & (0x80 >> (i % 8))) {
            snprintf(why, whylen, "host bits are set below the /%d mask",
                     bits);
            return 0;
        }
    }
    return 1;
}

static const char *const wid_ssh_ext_names[WID_SSH_EXT_COUNT] = {
    "permit-X11-forwarding", "permit-agent-forwarding",
    "permit-port-forwarding", "permit-pty", "permit-user-rc",
    "no-touch-required"
};

const char *
wid_ssh_ext_name(unsigned bit)
{
    for (unsigned i = 0; i < WID_SSH_EXT_COUNT; i++) {
        if (bit == (1u << i)) {
            return wid_ssh_ext_names[i];
        }
    }
    return NULL;
}

static void
wid_compile_ssh(wid_cctx *c, const wid_ynode *n, const char *rule,
                wid_policy_rule *r)
{
    static const char *const keys[] = {
        "principals", "max_ttl_seconds", "source_address", "force_command",
        "extensions"
    };
    wid_ynode       *v[5];
    char             where[WID_POLICY_MAX_NAME + 64];
    const char     **list;
    const wid_ynode *it;
    size_t           count, i;
    wid_policy_ssh  *s = &r->ssh;

    snprintf(where, sizeof(where), "rules.%s.ssh", rule);
    r->has_ssh = 1;
    if (wid_map_fields(c, n, where, keys, 5, v) != 0 && n->type != WID_Y_MAP) {
        return;
    }

    wid_require(c, n, where, "principals", v[0]);
    if (v[0] != NULL) {
        /* Principals end up in certificates and in sshd's principals
         * lists: no NUL, whitespace, ',' or '#', and not an option. */
        list = wid_get_token_list(c, v[0], "ssh.principals", 1,
                                  WID_SSH_MAX_PRINCIPALS,
                                  WID_SSH_MAX_PRINCIPAL_LEN, "._@+-", 1,
                                  &count);
        if (list != NULL) {
            for (i = 0, it = v[0]->first; i < count; i++, it = it->next) {
                if (list[i][0] == '-') {
                    wid_cerr(c, WID_R_POLICY_BAD_VALUE, it,
                             "ssh.principals: '%s' must not start with '-'",
                             list[i]);
                }
            }
            s->principals = list;
            s->nprincipals = count;
        }
    }

    wid_require(c, n, where, "max_ttl_seconds", v[1]);
    if (v[1] != NULL) {
        (void) wid_get_uint(c, v[1], "ssh.max_ttl_seconds", 1,
                            WID_POLICY_MAX_TTL, &s->max_ttl_seconds);
    }

    if (v[2] != NULL) {
        list = wid_get_token_list(c, v[2], "ssh.source_address", 1,
                                  WID_SSH_MAX_SOURCES, 64, ".:/", 1, &count);
        if (list != NULL) {
            char why[96];

            for (i = 0, it = v[2]->first; i < count; i++, it = it->next) {
                if (!wid_valid_cidr(list[i], why, sizeof(why))) {
                    wid_cerr(c, WID_R_POLICY_BAD_VALUE, it,
                             "ssh.source_address: '%s': %s", list[i], why);
                }
            }
            s->source_addresses = list;
            s->nsource_addresses = count;
        }
    }

    if (v[3] != NULL) {
        s->force_command = wid_get_string(c, v[3], "ssh.force_command",
                                          WID_MAX_TEXT_LEN);
    }

    if (v[4] != NULL) {
        list = wid_get_token_list(c, v[4], "ssh.extensions", 0,
                                  WID_SSH_EXT_COUNT, 64, "-", 1, &count);
        if (list != NULL) {
            for (i = 0, it = v[4]->first; i < count; i++, it = it->next) {
                unsigned b;

                for (b = 0; b < WID_SSH_EXT_COUNT; b++) {
                    if (strcmp(list[i], wid_ssh_ext_names[b]) == 0) {
                        break;
                    }
                }
                if (b == WID_SSH_EXT_COUNT) {
                    wid_cerr(c, WID_R_POLICY_BAD_VALUE, it,
                             "ssh.extensions: '%s' is not one of "
                             "permit-X11-forwarding, permit-agent-forwarding,"
                             " permit-port-forwarding, permit-pty, "
                             "permit-user-rc, no-touch-required", list[i]);
                    continue;
                }
                s->extensions |= 1u << b;
            }
        }
    }
}

/* ---- rules ---- */

static void
wid_compile_rule(wid_cctx *c, const wid_ynode *k, const wid_ynode *n,
                 wid_policy_rule *r)
{
    static const char *const keys[] = {
        "enabled", "default", "allow", "deny", "require_workload_identity",
        "prefer_workload_identity", "require_runtime_assurance_tier", "ssh"
    };
    wid_ynode *v[8];
    char       where[WID_POLICY_MAX_NAME + 64];

    r->line = k->line;
    r->column = k->column;
    r->enabled = 1;
    r->name = wid_get_token(c, k, "rule name", WID_POLICY_MAX_NAME, "_.-", 1);
    if (r->name == NULL) {
        r->name = k->type == WID_Y_SCALAR ? k->value : "?";
    }
    snprintf(where, sizeof(where), "rule '%s'", r->name);
    if (wid_map_fields(c, n, where, keys, 8, v) != 0 && n->type != WID_Y_MAP) {
        return;
    }

    if (v[0] != NULL) {
        (void) wid_get_bool(c, v[0], "enabled", &r->enabled);
        r->enabled_line = v[0]->line;
        r->enabled_column = v[0]->column;
    }
    if (v[1] != NULL) {
        r->default_line = v[1]->line;
        r->default_column = v[1]->column;
        if (v[1]->type == WID_Y_SCALAR && strcmp(v[1]->value, "allow") == 0) {
            r->default_allow = 1;
        } else if (v[1]->type != WID_Y_SCALAR
                   || strcmp(v[1]->value, "block") != 0)
        {
            wid_cerr(c, WID_R_POLICY_BAD_VALUE, v[1],
                     "'default' must be block or allow");
        }
    }
    if (v[2] != NULL) {
        (void) wid_compile_opset(c, v[2], "allow", &r->allow);
    }
    if (v[3] != NULL) {
        (void) wid_compile_opset(c, v[3], "deny", &r->deny);
    }
    if (v[4] != NULL) {
        wid_compile_idmatch(c, v[4], "require_workload_identity",
                            &r->require);
    }
    if (v[5] != NULL) {
        wid_compile_idmatch(c, v[5], "prefer_workload_identity", &r->prefer);
    }
    if (v[6] != NULL) {
        (void) wid_get_tier(c, v[6], "require_runtime_assurance_tier",
                            &r->required_tier);
        r->tier_line = v[6]->line;
        r->tier_column = v[6]->column;
    }
    if (v[7] != NULL) {
        wid_compile_ssh(c, v[7], r->name, r);
    }

    if (!r->default_allow && !r->allow.present) {
        wid_cwarn(c, k, "rule '%s' allows no operation: add 'allow' or "
                  "'default: allow'", r->name);
    }
    for (size_t i = 0; i < r->allow.nops; i++) {
        if (r->deny.any || wid_opset_has(&r->deny, r->allow.ops[i])) {
            wid_cwarn(c, v[2], "rule '%s': '%s' is allowed and denied; deny "
                      "wins, so it is never allowed", r->name,
                      r->allow.ops[i]);
        }
    }
}

/* ---- extensions.runtime_assurance ---- */

/*
 * A verifier key must be one an attestation result can be checked with:
 * attestation results are Ed25519-signed (docs/attestation.md), so any
 * other key type could never verify anything and is refused here rather
 * than silently leaving the entry unable to grant its tier.
 */
static int
wid_valid_pubkey_pem(const char *pem, size_t len)
{
    wid_pubkey pk;

    return wid_pubkey_parse_pem((const unsigned char *) pem, len, &pk)
           == WID_OK;
}

static void
wid_compile_verifier(wid_cctx *c, const wid_ynode *k, const wid_ynode *n,
                     wid_policy_verifier *tv)
{
    static const char *const keys[] = {
        "schema", "verifier", "verifier_family", "effective_tier",
        "max_evidence_age_seconds", "allowed_attestation_types", "key"
    };
    wid_ynode *v[7];
    char       where[WID_POLICY_MAX_NAME + 64];
    size_t     count;

    tv->line = k->line;
    tv->column = k->column;
    tv->name = wid_get_token(c, k, "trusted verifier name",
                             WID_POLICY_MAX_NAME, "_.-", 1);
    if (tv->name == NULL) {
        tv->name = k->type == WID_Y_SCALAR ? k->value : "?";
    }
    snprintf(where, sizeof(where), "trusted verifier '%s'", tv->name);
    if (wid_map_fields(c, n, where, keys, 7, v) != 0 && n->type != WID_Y_MAP) {
        return;
    }
    wid_require(c, n, where, "schema", v[0]);
    wid_require(c, n, where, "verifier", v[1]);
    wid_require(c, n, where, "effective_tier", v[3]);
    wid_require(c, n, where, "max_evidence_age_seconds", v[4]);
    wid_require(c, n, where, "allowed_attestation_types", v[5]);

    if (v[0] != NULL) {
        tv->schema = wid_get_string(c, v[0], "schema", WID_MAX_TEXT_LEN);
    }
    if (v[1] != NULL) {
        tv->verifier = wid_get_string(c, v[1], "verifier", WID_MAX_TEXT_LEN);
    }
    if (v[2] != NULL) {
        tv->verifier_family = wid_get_string(c, v[2], "verifier_family",
                                             WID_MAX_TEXT_LEN);
    }
    if (v[3] != NULL) {
        (void) wid_get_tier(c, v[3], "effective_tier", &tv->effective_tier);
    }
    if (v[4] != NULL) {
        (void) wid_get_uint(c, v[4], "max_evidence_age_seconds", 1,
                            WID_POLICY_MAX_EVIDENCE_AGE,
                            &tv->max_evidence_age_seconds);
    }
    if (v[5] != NULL) {
        tv->attestation_types = wid_get_token_list(c, v[5],
                                    "allowed_attestation_types", 1,
                                    WID_POLICY_MAX_LIST, WID_POLICY_MAX_NAME,
                                    WID_OP_CHARS, 1, &count);
        tv->nattestation_types = count;
    }
    if (v[6] != NULL) {
        if (v[6]->type != WID_Y_SCALAR || wid_is_null_scalar(v[6])
            || v[6]->len > WID_MAX_KEY_PEM_LEN
            || memchr(v[6]->value, '\0', v[6]->len) != NULL
            || !wid_valid_pubkey_pem(v[6]->value, v[6]->len))
        {
            wid_cerr(c, WID_R_POLICY_BAD_VALUE, v[6],
                     "'key' must be an Ed25519 PEM public key (-----BEGIN "
                     "PUBLIC KEY-----, written as a YAML block scalar '|')");
        } else {
            tv->key_pem = wid_arena_strndup_c(c, v[6]->value, v[6]->len);
        }
    }
}

static void
wid_compile_profile(wid_cctx *c, const wid_ynode *k, const wid_ynode *n,
                    wid_tier_profile *tp)
{
    static const char *const keys[] = {
        "minimum_attestation_tier", "max_scope"
    };
    static const char *const scope_keys[] = { "operations", "ttl_seconds" };
    wid_ynode *v[2], *s[2];
    char       where[WID_POLICY_MAX_NAME + 64];

    tp->line = k->line;
    tp->column = k->column;
    tp->name = wid_get_token(c, k, "tier name", WID_POLICY_MAX_NAME, "_.-", 1);
    if (tp->name == NULL) {
        tp->name = k->type == WID_Y_SCALAR ? k->value : "?";
    }
    snprintf(where, sizeof(where), "tier '%s'", tp->name);
    if (wid_map_fields(c, n, where, keys, 2, v) != 0 && n->type != WID_Y_MAP) {
        return;
    }
    wid_require(c, n, where, "minimum_attestation_tier", v[0]);
    if (v[0] != NULL) {
        (void) wid_get_tier(c, v[0], "minimum_attestation_tier",
                            &tp->minimum);
    }
    if (v[1] != NULL) {
        snprintf(where, sizeof(where), "tier '%s' max_scope", tp->name);
        if (wid_map_fields(c, v[1], where, scope_keys, 2, s) != 0
            && v[1]->type != WID_Y_MAP)
        {
            return;
        }
        if (s[0] != NULL) {
            (void) wid_compile_opset(c, s[0], "max_scope.operations",
                                     &tp->ops);
        }
        if (s[1] != NULL) {
            (void) wid_get_uint(c, s[1], "max_scope.ttl_seconds", 1,
                                WID_POLICY_MAX_TTL, &tp->ttl_seconds);
        }
    }
}

static void
wid_compile_runtime_assurance(wid_cctx *c, const wid_ynode *n, wid_policy *p)
{
    static const char *const keys[] = { "tiers", "trusted_verifiers" };
    wid_ynode       *v[2];
    const wid_ynode *k;
    long             cnt;
    size_t           i;

    if (wid_map_fields(c, n, "extensions.runtime_assurance", keys, 2, v) != 0
        && n->type != WID_Y_MAP)
    {
        return;
    }

    if (v[0] != NULL) {
        cnt = wid_named_entries(c, v[0], "tiers", 16);
        if (cnt > 0) {
            p->profiles = wid_calloc(c, (size_t) cnt, sizeof(*p->profiles));
            for (k = v[0]->first, i = 0; k != NULL && p->profiles != NULL;
                 k = k->next->next, i++)
            {
                wid_compile_profile(c, k, k->next, &p->profiles[i]);
            }
            p->nprofiles = p->profiles ? (size_t) cnt : 0;
        }
    }

    if (v[1] != NULL) {
        cnt = wid_named_entries(c, v[1], "trusted_verifiers",
                                WID_POLICY_MAX_LIST);
        if (cnt > 0) {
            p->verifiers = wid_calloc(c, (size_t) cnt, sizeof(*p->verifiers));
            for (k = v[1]->first, i = 0; k != NULL && p->verifiers != NULL;
                 k = k->next->next, i++)
            {
                wid_compile_verifier(c, k, k->next, &p->verifiers[i]);
            }
            p->nverifiers = p->verifiers ? (size_t) cnt : 0;
        }
    }
}

/* ---- whole-policy checks ---- */

static int
wid_cmp_rule(const void *a, const void *b)
{
    return strcmp(((const wid_policy_rule *) a)->name,
                  ((const wid_policy_rule *) b)->name);
}

static int
wid_cmp_profile(const void *a, const void *b)
{
    const wid_tier_profile *x = a, *y = b;

    return (int) y->minimum - (int) x->minimum;
}

static int
wid_str_eq(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static void
wid_lint_policy(wid_cctx *c, wid_policy *p)
{
    size_t      i, j;
    wid_tier_t  reachable = WID_TIER_NONE;
    wid_ynode   at;

    memset(&at, 0, sizeof(at));

    /* Trusted verifiers: a later entry that an earlier one always
     * catches first can never decide anything. */
    for (i = 0; i < p->nverifiers; i++) {
        const wid_policy_verifier *v = &p->verifiers[i];

        int                        shadowed = 0;

        if (v->key_pem == NULL && v->effective_tier > WID_TIER_NONE) {
            at.line = v->line;
            at.column = v->column;
            wid_cwarn(c, &at, "trusted verifier '%s' has no key: it can "
                      "never grant a tier ('%s' is never reached); add "
                      "the verifier's Ed25519 public key as 'key'",
                      v->name, wid_tier_name(v->effective_tier));
        }
        for (j = 0; j < i; j++) {
            const wid_policy_verifier *e = &p->verifiers[j];

            if (wid_str_eq(e->schema, v->schema)
                && wid_str_eq(e->verifier, v->verifier)
                && (e->verifier_family == NULL
                    || wid_str_eq(e->verifier_family, v->verifier_family)))
            {
                at.line = v->line;
                at.column = v->column;
                wid_cwarn(c, &at, "trusted verifier '%s' can never match: "
                          "'%s' (line %u) matches the same evidence first",
                          v->name, e->name, e->line);
                shadowed = 1;
                break;
            }
        }
        /* Only a keyed entry that some evidence can reach grants its
         * tier.  A keyless entry with effective_tier none is an explicit
         * distrust and is fine; a shadowed entry never decides. */
        if (!shadowed && v->key_pem != NULL && v->effective_tier > reachable) {
            reachable = v->effective_tier;
        }
    }

    /* Tier profiles: one per minimum tier, else "highest reached" is
     * ambiguous. */
    for (i = 1; i < p->nprofiles; i++) {
        if (p->profiles[i].minimum == p->profiles[i - 1].minimum) {
            at.line = p->profiles[i].line;
            at.column = p->profiles[i].column;
            wid_cerr(c, WID_R_POLICY_DUPLICATE_KEY, &at,
                     "tiers '%s' and '%s' have the same "
                     "minimum_attestation_tier '%s'",
                     p->profiles[i - 1].name, p->profiles[i].name,
                     wid_tier_name(p->profiles[i].minimum));
        }
    }

    for (i = 0; i < p->nrules; i++) {
        const wid_policy_rule *r = &p->rules[i];

        if (r->required_tier > reachable) {
            at.line = r->tier_line;
            at.column = r->tier_column;
            wid_cwarn(c, &at, "rule '%s' requires tier '%s' but no trusted "
                      "verifier grants it: the rule can never allow",
                      r->name, wid_tier_name(r->required_tier));
        }
    }
}

/* Diagnostics in file order (stable), as a reader expects them. */
static void
wid_sort_diags(wid_diags *d)
{
    if (d == NULL) {
        return;
    }
    for (unsigned i = 1; i < d->ndiags; i++) {
        wid_diag  t = d->diags[i];
        unsigned  j = i;

        while (j > 0 && (d->diags[j - 1].line > t.line
                         || (d->diags[j - 1].line == t.line
                             && d->diags[j - 1].column > t.column)))
        {
            d->diags[j] = d->diags[j - 1];
            j--;
        }
        d->diags[j] = t;
    }
}

wid_reason_t
wid_policy_compile(const unsigned char *bytes, size_t len, wid_policy **out,
                   wid_diags *diags)
{
    static const char *const keys[] = { "version", "rules", "extensions" };
    static const char *const ext_keys[] = { "runtime_assurance" };
    wid_arena        tree;
    wid_ynode       *root, *v[3], *e[1];
    const wid_ynode *k;
    wid_policy      *p;
    wid_cctx         c;
    wid_reason_t     rc;
    long             cnt;
    size_t           i;
    uint32_t         version;

    *out = NULL;
    if (len > WID_POLICY_MAX_BYTES) {
        wid_diag_add(diags, WID_DIAG_ERROR, WID_R_POLICY_UNREADABLE, 0, 0,
                     "the policy is larger than %u bytes",
                     WID_POLICY_MAX_BYTES);
        return WID_R_POLICY_UNREADABLE;
    }

    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return WID_R_INTERNAL_NOMEM;
    }
    wid_arena_init(&p->arena, WID_POLICY_COMPILED_LIMIT);
    wid_arena_init(&tree, WID_POLICY_TREE_LIMIT);

    rc = wid_yaml_parse(bytes, len, &tree, &root, diags);
    if (rc != WID_OK) {
        goto fail;
    }

    memset(&c, 0, sizeof(c));
    c.arena = &p->arena;
    c.diags = diags;

    if (wid_map_fields(&c, root, "the policy", keys, 3, v) != 0
        && root->type != WID_Y_MAP)
    {
        goto done;
    }
    if (v[0] != NULL
        && wid_get_uint(&c, v[0], "version", 1, 1, &version) != 0)
    {
        goto done;
    }

    wid_require(&c, root, "the policy", "rules", v[1]);
    if (v[1] != NULL) {
        cnt = wid_named_entries(&c, v[1], "rules", WID_POLICY_MAX_RULES);
        if (cnt == 0) {
            wid_cerr(&c, WID_R_POLICY_BAD_VALUE, v[1],
                     "'rules' is empty: a policy needs at least one rule");
        } else if (cnt > 0) {
            p->rules = wid_calloc(&c, (size_t) cnt, sizeof(*p->rules));
            for (k = v[1]->first, i = 0; k != NULL && p->rules != NULL;
                 k = k->next->next, i++)
            {
                wid_compile_rule(&c, k, k->next, &p->rules[i]);
            }
            p->nrules = p->rules ? (size_t) cnt : 0;
        }
    }

    if (v[2] != NULL
        && (wid_map_fields(&c, v[2], "extensions", ext_keys, 1, e) == 0
            || v[2]->type == WID_Y_MAP)
        && e[0] != NULL)
    {
        wid_compile_runtime_assurance(&c, e[0], p);
    }

    if (c.errors == 0) {
        if (p->nrules > 0) {
            qsort(p->rules, p->nrules, sizeof(*p->rules), wid_cmp_rule);
        }
        /* Stable order among equal minimums is irrelevant: they are an
         * error below. */
        if (p->nprofiles > 0) {
            qsort(p->profiles, p->nprofiles, sizeof(*p->profiles),
                  wid_cmp_profile);
        }
        wid_lint_policy(&c, p);
    }

done:
    wid_sort_diags(diags);
    if (c.errors != 0) {
        rc = c.first;
        goto fail;
    }
    wid_arena_free(&tree);
    strcpy(p->signer, "unsigned");
    *out = p;
    return WID_OK;

fail:
    wid_arena_free(&tree);
    wid_arena_free(&p->arena);
    free(p);
    return rc;
}
