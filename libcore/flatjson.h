/*
 * flatjson: a recognizer for the one narrow shape of JSON that JOSE
 * headers and JWT claims have in practice, so that the per-request
 * path need not build a jansson tree.
 *
 * Recognized, and nothing else: one object, no whitespace anywhere,
 * at most WID_FLATJSON_MAX members with distinct names, every name and
 * string value printable ASCII (0x20-0x7e) without '"' or '\' (so no
 * escapes and no decoding: the bytes are the value), every number a
 * non-negative integer of at most 18 digits without a leading zero,
 * every array made only of such strings (at most WID_FLATJSON_MAX_ITEMS).
 *
 * Anything else (whitespace, escapes, non-ASCII, reals, negative or
 * huge numbers, true/false/null, nested objects, duplicate names,
 * trailing bytes, invalid JSON) is "not recognized": the caller then
 * hands the text to jansson, which decides.  So a recognized text is
 * always one jansson would parse to the same members and values; the
 * fast path never accepts what the general path would refuse.
 */
#ifndef WID_FLATJSON_H
#define WID_FLATJSON_H

#include <stddef.h>
#include <stdint.h>

#define WID_FLATJSON_MAX        16
#define WID_FLATJSON_MAX_ITEMS  16

typedef enum {
    WID_FJ_STRING = 1,
    WID_FJ_INTEGER,
    WID_FJ_ARRAY              /* of strings */
} wid_fj_type;

typedef struct {
    const char  *name;        /* into the text, not NUL-terminated */
    size_t       name_len;
    wid_fj_type  type;
    const char  *str;         /* STRING: the value's bytes */
    size_t       str_len;
    int64_t      integer;     /* INTEGER */
    size_t       nitems;      /* ARRAY: the items, str/str_len the text */
} wid_fj_member;                /* between the brackets */

/*
 * Scan len bytes at text.  Returns the number of members (0 for "{}")
 * with m[0..n-1] filled, or -1 when the text is not of the recognized
 * shape (not an error: use jansson).
 */
int wid_flatjson_scan(const char *text, size_t len, wid_fj_member *m);

/* The member named name (NUL-terminated), or NULL. */
const wid_fj_member *wid_flatjson_get(const wid_fj_member *m, int n,
                                      const char *name);

/*
 * Iterate the items of an ARRAY member: *pos starts at 0; returns 1
 * with the next item's bytes in *s / *len, 0 after the last one.
 */
int wid_flatjson_item(const wid_fj_member *m, size_t *pos, const char **s,
                      size_t *len);

#endif
