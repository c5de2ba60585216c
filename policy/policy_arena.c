#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy_arena.h"

#define WID_ARENA_CHUNK  (16u * 1024u)
#define WID_ARENA_ALIGN  16u

struct wid_arena_chunk {
    wid_arena_chunk *next;
    size_t           used;
    size_t           cap;
    /* Keeps data[] aligned for any object we place there. */
    _Alignas(16) unsigned char data[];
};

void
wid_arena_init(wid_arena *a, size_t limit)
{
    a->head = NULL;
    a->total = 0;
    a->limit = limit;
}

void *
wid_arena_alloc(wid_arena *a, size_t size)
{
    wid_arena_chunk *c = a->head;
    size_t           need, cap;
    void            *p;

    if (size == 0) {
        size = 1;
    }
    if (size > SIZE_MAX - WID_ARENA_ALIGN) {
        return NULL;
    }
    need = (size + WID_ARENA_ALIGN - 1) & ~(size_t) (WID_ARENA_ALIGN - 1);
    if (a->limit != 0 && (need > a->limit || a->total > a->limit - need)) {
        return NULL;
    }

    if (c == NULL || c->cap - c->used < need) {
        cap = need > WID_ARENA_CHUNK ? need : WID_ARENA_CHUNK;
        if (cap > SIZE_MAX - sizeof(*c)) {
            return NULL;
        }
        c = malloc(sizeof(*c) + cap);
        if (c == NULL) {
            return NULL;
        }
        c->cap = cap;
        c->used = 0;
        /* A big one-off allocation goes behind the current chunk so the
         * remaining room of the current chunk stays usable. */
        if (a->head != NULL && need > WID_ARENA_CHUNK) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }

    p = c->data + c->used;
    c->used += need;
    a->total += need;
    memset(p, 0, need);
    return p;
}

void *
wid_arena_array(wid_arena *a, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size) {
        return NULL;
    }
    return wid_arena_alloc(a, n * size);
}

char *
wid_arena_strndup(wid_arena *a, const char *s, size_t len)
{
    char *d;

    if (len == SIZE_MAX) {
        return NULL;
    }
    d = wid_arena_alloc(a, len + 1);
    if (d != NULL) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

void
wid_arena_free(wid_arena *a)
{
    wid_arena_chunk *c = a->head, *next;

    while (c != NULL) {
        next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->total = 0;
}
