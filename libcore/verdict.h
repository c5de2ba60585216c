/*
 * A decision's verdict, shared by the policy engine (allow | deny), the
 * surfaces (which add observe) and receipts.  The values are part of the
 * receipt encoding: never renumber them.  Zero is no verdict at all, so a
 * forgotten initialisation never reads as allow.
 */
#ifndef WID_VERDICT_H
#define WID_VERDICT_H

typedef enum {
    WID_VERDICT_ALLOW = 1,
    WID_VERDICT_DENY = 2,
    WID_VERDICT_OBSERVE = 3
} wid_verdict_t;

/* "allow", "deny", "observe"; "?" for anything else. */
const char *wid_verdict_name(wid_verdict_t v);

/* Inverse of wid_verdict_name; -1 when s names no verdict. */
int wid_verdict_parse(const char *s, wid_verdict_t *out);

#endif
