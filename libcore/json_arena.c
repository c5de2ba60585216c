#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#include "json_arena.h"

/* Enough for the claims of a typical JWT-SVID many times over. */
#define WID_JSON_ARENA_SIZE  4096
#define WID_JSON_ARENA_ALIGN 16

typedef struct {
    _Alignas(WID_JSON_ARENA_ALIGN) unsigned char buf[WID_JSON_ARENA_SIZE];
    size_t used;
    int    held;
    int    active;
} wid_json_arena;

static _Thread_local wid_json_arena wid_arena;

static json_malloc_t  wid_json_prev_malloc;
static json_free_t    wid_json_prev_free;
static pthread_once_t wid_json_arena_once = PTHREAD_ONCE_INIT;

static void *
wid_json_arena_malloc(size_t n)
{
    wid_json_arena *a = &wid_arena;
    size_t          need;

    if (a->active && n <= WID_JSON_ARENA_SIZE) {
        need = (n + WID_JSON_ARENA_ALIGN - 1)
               & ~(size_t) (WID_JSON_ARENA_ALIGN - 1);
        if (need <= WID_JSON_ARENA_SIZE - a->used) {
            a->used += need;
            return a->buf + a->used - need;
        }
    }
    return wid_json_prev_malloc(n);
}

static void
wid_json_arena_free(void *p)
{
    /* Arena blocks go when the arena is given back. */
    if ((uintptr_t) p - (uintptr_t) wid_arena.buf < WID_JSON_ARENA_SIZE) {
        return;
    }
    wid_json_prev_free(p);
}

static void
wid_json_arena_install(void)
{
    json_get_alloc_funcs(&wid_json_prev_malloc, &wid_json_prev_free);
    if (wid_json_prev_malloc == NULL || wid_json_prev_free == NULL) {
        wid_json_prev_malloc = malloc;
        wid_json_prev_free = free;
    }
    json_set_alloc_funcs(wid_json_arena_malloc, wid_json_arena_free);
}

int
wid_json_arena_take(void)
{
    pthread_once(&wid_json_arena_once, wid_json_arena_install);
    if (wid_arena.held) {
        return 0;
    }
    wid_arena.held = 1;
    wid_arena.active = 1;
    wid_arena.used = 0;
    return 1;
}

void
wid_json_arena_stop(void)
{
    wid_arena.active = 0;
}

void
wid_json_arena_give(void)
{
    wid_arena.active = 0;
    wid_arena.held = 0;
    wid_arena.used = 0;
}
