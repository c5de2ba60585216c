/*
 * A bump allocator: the compiled policy and the YAML tree each live in
 * one arena and are released in one call.  Nothing is freed piecemeal,
 * which keeps the immutable compiled form contiguous-ish and leak-proof.
 */
#ifndef WID_POLICY_ARENA_H
#define WID_POLICY_ARENA_H

#include <stddef.h>

typedef struct wid_arena_chunk wid_arena_chunk;

typedef struct {
    wid_arena_chunk *head;
    size_t           total;     /* bytes handed out, for the size bound */
    size_t           limit;     /* 0 = no limit */
} wid_arena;

void wid_arena_init(wid_arena *a, size_t limit);

/* Zeroed, 16-byte aligned memory; NULL on overflow, limit or ENOMEM. */
void *wid_arena_alloc(wid_arena *a, size_t size);

/* Array of n elements of size each, with the multiplication checked. */
void *wid_arena_array(wid_arena *a, size_t n, size_t size);

/* Copy of len bytes plus a terminating NUL. */
char *wid_arena_strndup(wid_arena *a, const char *s, size_t len);

void wid_arena_free(wid_arena *a);

#endif
