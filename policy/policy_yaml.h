/*
 * A strict YAML reader for policies: libyaml's event parser builds a
 * small tree of mappings, sequences and scalars that keeps the source
 * position of every node, so the compiler can point at file:line:column.
 *
 * Refused here, because each can silently change what a policy means:
 * anchors and aliases (one edit changes many places, and alias bombs),
 * merge keys "<<" (keys appear that are not written where they apply),
 * explicit tags (a "!!str" or custom tag changes how a value reads) and
 * more than one document (which one is the policy?).  Duplicate keys are
 * refused by the compiler, which also knows the schema.
 */
#ifndef WID_POLICY_YAML_H
#define WID_POLICY_YAML_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "policy_arena.h"

typedef enum {
    WID_Y_SCALAR = 0,
    WID_Y_SEQ,
    WID_Y_MAP
} wid_ynode_type;

typedef struct wid_ynode wid_ynode;

struct wid_ynode {
    wid_ynode_type  type;
    uint32_t        line;       /* 1-based */
    uint32_t        column;     /* 1-based */
    /* scalars */
    const char     *value;      /* NUL-terminated copy */
    size_t          len;
    int             plain;      /* unquoted: may be a number, bool, null */
    /* sequences: children; mappings: key, value, key, value, ... */
    wid_ynode      *first;
    wid_ynode      *last;
    wid_ynode      *next;
    size_t          count;      /* children (mappings: 2 per entry) */
};

#define WID_YAML_MAX_DEPTH 32

/*
 * Parse bytes into a tree allocated in arena.  On failure returns the
 * reason code and adds one diagnostic to diags (which may be NULL).
 */
wid_reason_t wid_yaml_parse(const unsigned char *bytes, size_t len,
                            wid_arena *arena, wid_ynode **root,
                            wid_diags *diags);

/* Append a diagnostic; shared with the compiler. */
void wid_diag_add(wid_diags *d, wid_diag_severity_t sev, wid_reason_t reason,
                  uint32_t line, uint32_t column, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

#endif
