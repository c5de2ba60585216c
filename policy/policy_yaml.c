#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include "policy_yaml.h"

/*
 * Messages quote the policy's own bytes and end up on terminals and in
 * nginx's error log: control characters (C0, DEL, and C1 as UTF-8) become
 * '?', so a key cannot move the cursor or forge a line of output.
 */
static void
wid_diag_printable(char *m)
{
    unsigned char *p = (unsigned char *) m;

    for (; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            *p = '?';
        } else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            p[0] = '?';
            p[1] = '?';
            p++;
        }
    }
}

void
wid_diag_add(wid_diags *d, wid_diag_severity_t sev, wid_reason_t reason,
             uint32_t line, uint32_t column, const char *fmt, ...)
{
    wid_diag *g;
    va_list   ap;

    if (d == NULL) {
        return;
    }
    if (sev == WID_DIAG_ERROR) {
        d->nerrors++;
    } else {
        d->nwarnings++;
    }
    if (d->ndiags >= WID_DIAG_MAX) {
        d->dropped++;
        return;
    }
    g = &d->diags[d->ndiags++];
    g->severity = sev;
    g->reason = reason;
    g->line = line;
    g->column = column;
    va_start(ap, fmt);
    vsnprintf(g->message, sizeof(g->message), fmt, ap);
    va_end(ap);
    wid_diag_printable(g->message);
}

static uint32_t
wid_mark_u32(size_t v)
{
    /* libyaml marks are 0-based; ours are 1-based and saturate. */
    return v >= UINT32_MAX - 1 ? UINT32_MAX : (uint32_t) v + 1;
}

static wid_ynode *
wid_ynode_new(wid_arena *a, wid_ynode_type type, const yaml_mark_t *m)
{
    wid_ynode *n = wid_arena_alloc(a, sizeof(*n));

    if (n != NULL) {
        n->type = type;
        n->line = wid_mark_u32(m->line);
        n->column = wid_mark_u32(m->column);
    }
    return n;
}

static void
wid_ynode_append(wid_ynode *parent, wid_ynode *child)
{
    if (parent->last == NULL) {
        parent->first = child;
    } else {
        parent->last->next = child;
    }
    parent->last = child;
    parent->count++;
}

/* Anchors, explicit tags: see the header for why they are refused. */
static int
wid_yaml_forbidden(const yaml_event_t *ev, wid_diags *diags)
{
    const unsigned char *anchor = NULL, *tag = NULL;
    const yaml_mark_t   *m = &ev->start_mark;

    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        wid_diag_add(diags, WID_DIAG_ERROR, WID_R_POLICY_YAML_FEATURE,
                     wid_mark_u32(m->line), wid_mark_u32(m->column),
                     "aliases (*%s) are not allowed in a policy: write the "
                     "value out", (const char *) ev->data.alias.anchor);
        return -1;
    case YAML_SCALAR_EVENT:
        anchor = ev->data.scalar.anchor;
        tag = ev->data.scalar.tag;
        break;
    case YAML_SEQUENCE_START_EVENT:
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
        break;
    case YAML_MAPPING_START_EVENT:
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
        break;
    default:
        return 0;
    }
    if (anchor != NULL) {
        wid_diag_add(diags, WID_DIAG_ERROR, WID_R_POLICY_YAML_FEATURE,
                     wid_mark_u32(m->line), wid_mark_u32(m->column),
                     "anchors (&%s) are not allowed in a policy",
                     (const char *) anchor);
        return -1;
    }
    /* libyaml reports a tag only when one is written explicitly. */
    if (tag != NULL) {
        wid_diag_add(diags, WID_DIAG_ERROR, WID_R_POLICY_YAML_FEATURE,
                     wid_mark_u32(m->line), wid_mark_u32(m->column),
                     "tags (%s) are not allowed in a policy",
                     (const char *) tag);
        return -1;
    }
    return 0;
}

wid_reason_t
wid_yaml_parse(const unsigned char *bytes, size_t len, wid_arena *arena,
               wid_ynode **root, wid_diags *diags)
{
    yaml_parser_t  parser;
    yaml_event_t   ev;
    wid_ynode     *stack[WID_YAML_MAX_DEPTH];
    wid_ynode     *n;
    size_t         depth = 0;
    int            docs = 0, done = 0;
    wid_reason_t   rc = WID_OK;

    *root = NULL;
    if (!yaml_parser_initialize(&parser)) {
        return WID_R_INTERNAL_NOMEM;
    }
    yaml_parser_set_input_string(&parser, bytes, len);

    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            wid_diag_add(diags, WID_DIAG_ERROR, WID_R_POLICY_SYNTAX,
                         wid_mark_u32(parser.problem_mark.line),
                         wid_mark_u32(parser.problem_mark.column),
                         "YAML syntax: %s%s%s",
                         parser.problem ? parser.problem : "parse error",
                         parser.context ? " " : "",
                         parser.context ? parser.context : "");
            rc = WID_R_POLICY_SYNTAX;
            break;
        }
        if (wid_yaml_forbidden(&ev, diags) != 0) {
            yaml_event_delete(&ev);
            rc = WID_R_POLICY_YAML_FEATURE;
            break;
        }

        n = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) {
                wid_diag_add(diags, WID_DIAG_ERROR, WID_R_POLICY_YAML_FEATURE,
                             wid_mark_u32(ev.start_mark.line),
                             wid_mark_u32(ev.start_mark.column),
                             "a policy file holds exactly one YAML document");
                rc = WID_R_POLICY_YAML_FEATURE;
            }
            break;
        case YAML_SCALAR_EVENT:
            /*
             * A "\0" escape: everything after it would be invisible to
             * the C strings the policy is compiled into ("default\0x"
             * read as default).  No scalar of a policy may hold one.
             */
            if (memchr(ev.data.scalar.value, '\0', ev.data.scalar.length)
                != NULL)
            {
                wid_diag_add(diags, WID_DIAG_ERROR, WID_R_POLICY_BAD_VALUE,
                             wid_mark_u32(ev.start_mark.line),
                             wid_mark_u32(ev.start_mark.column),
                             "a NUL byte (\\0) in a key or value");
                rc = WID_R_POLICY_BAD_VALUE;
                break;
            }
            n = wid_ynode_new(arena, WID_Y_SCALAR, &ev.start_mark);
            if (n != NULL) {
                n->value = wid_arena_strndup(arena,
                                             (const char *) ev.data.scalar.value,
                                             ev.data.scalar.length);
                n->len = ev.data.scalar.length;
                n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                if (n->value == NULL) {
                    n = NULL;
                }
            }
            if (n == NULL) {
                rc = WID_R_INTERNAL_NOMEM;
            }
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            n = wid_ynode_new(arena, ev.type == YAML_SEQUENCE_START_EVENT
                                     ? WID_Y_SEQ : WID_Y_MAP, &ev.start_mark);
            if (n == NULL) {
                rc = WID_R_INTERNAL_NOMEM;
            }
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0) {
                depth--;
            }
            break;
        default:
            break;
        }

        if (rc == WID_OK && n != NULL) {
            if (depth > 0) {
                wid_ynode_append(stack[depth - 1], n);
            } else if (*root == NULL) {
                *root = n;
            }
            if (n->type != WID_Y_SCALAR) {
                if (depth == WID_YAML_MAX_DEPTH) {
                    wid_diag_add(diags, WID_DIAG_ERROR, WID_R_POLICY_BAD_VALUE,
                                 n->line, n->column,
                                 "nesting deeper than %d levels",
                                 WID_YAML_MAX_DEPTH);
                    rc = WID_R_POLICY_BAD_VALUE;
                } else {
                    stack[depth++] = n;
                }
            }
        }
        yaml_event_delete(&ev);
        if (rc != WID_OK) {
            break;
        }
    }
    yaml_parser_delete(&parser);

    if (rc == WID_R_INTERNAL_NOMEM) {
        wid_diag_add(diags, WID_DIAG_ERROR, WID_R_POLICY_UNREADABLE, 0, 0,
                     "out of memory or policy too large");
        return WID_R_POLICY_UNREADABLE;
    }
    if (rc == WID_OK && *root == NULL) {
        wid_diag_add(diags, WID_DIAG_ERROR, WID_R_POLICY_MISSING_KEY, 1, 1,
                     "the policy is empty: it needs a 'rules' mapping");
        rc = WID_R_POLICY_MISSING_KEY;
    }
    if (rc != WID_OK) {
        *root = NULL;
    }
    return rc;
}
