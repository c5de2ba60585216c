/*
 * wid reason codes: one stable, dotted code per rejection.
 *
 * The list is defined once, in libcore/reasons/<area>.def (one file per
 * area so each component owns its codes).  The dotted string is the
 * contract: it appears in logs, receipts, CLI output and tests, and it
 * never changes meaning once released.  The enum value is internal.
 */
#ifndef WID_REASON_H
#define WID_REASON_H

#include <stdint.h>

typedef enum {
    WID_OK = 0,
#define WID_REASON(sym, code, text) WID_R_##sym,
#include "reasons/all.def"
#undef WID_REASON
    WID_R__COUNT
} wid_reason_t;

/* The dotted code, e.g. "jwt.alg_not_allowed"; "ok" for WID_OK. */
const char *wid_reason_code(wid_reason_t r);

/* One-line human explanation of the code. */
const char *wid_reason_text(wid_reason_t r);

/* Reverse lookup; returns WID_R__COUNT when the code is unknown. */
wid_reason_t wid_reason_from_code(const char *code);

/*
 * The number a reason is stored as on disk (the journal's gap record):
 * the first four bytes, big-endian, of the SHA-256 of its dotted code.
 * Unlike the enum value it never changes when codes are added.
 */
uint32_t wid_reason_wire_id(wid_reason_t r);

/* The reason whose wire id is id; WID_R__COUNT when none is. */
wid_reason_t wid_reason_from_wire_id(uint32_t id);

#endif
