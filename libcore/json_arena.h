/*
 * A per-thread arena for one short-lived jansson tree at a time (the
 * claims of the JWT being verified).  jansson allocates a block for
 * every object, member, string and hash bucket, about twenty for a
 * JWT-SVID's claims; from the arena each is a pointer bump and its free
 * a range check, which takes a sixth off the cost of parsing the claims.
 *
 * The arena is installed with json_set_alloc_funcs() on first use and
 * chains to the functions that were in place, so trees made before,
 * outside the arena or after it overflows are allocated and freed as
 * before.  A process that calls json_set_alloc_funcs() itself after
 * libcore has verified a JWT must not: arena blocks would reach its
 * free().
 */
#ifndef WID_JSON_ARENA_H
#define WID_JSON_ARENA_H

/*
 * Take this thread's arena for one tree: returns 1 when it was free
 * (allocations go to it until wid_json_arena_stop()), 0 when a tree of
 * this thread already holds it (allocations then use the heap).
 */
int wid_json_arena_take(void);

/* Stop allocating from the arena: call once the parse returned. */
void wid_json_arena_stop(void);

/* Give the arena back after json_decref() of its tree (only after a
 * take that returned 1). */
void wid_json_arena_give(void);

#endif
