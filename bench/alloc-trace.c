/*
 * An allocation tracer for `bench/nginx-callgrind.sh --alloc`: loaded
 * with LD_PRELOAD into nginx, it records every malloc, calloc, realloc,
 * aligned allocation and free of the process, with the wall-clock time
 * and the caller's stack, to $WID_ALLOC_TRACE (binary records, read by
 * bench/alloc-trace.py), with snapshots of /proc/self/maps in
 * $WID_ALLOC_TRACE.maps so that the stacks can be symbolised.
 *
 * What it is for: finding blocks that a scenario leaves on the heap for
 * the life of the worker (lazily made caches, per-thread state), which
 * land among requests' short-lived blocks and change where later
 * requests' blocks go.  A development tool: single-threaded use (nginx's
 * event loop; other threads' records may interleave but are not lost),
 * never in a build that ships.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* glibc's own entry points: no dlsym (which may allocate) needed. */
extern void *__libc_malloc(size_t n);
extern void  __libc_free(void *p);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);

#define WID_AT_FRAMES  8
#define WID_AT_BUFFER  1024

enum { WID_AT_ALLOC = 1, WID_AT_FREE = 2, WID_AT_REALLOC = 3 };

/* One record; bench/alloc-trace.py reads the same layout. */
typedef struct {
    uint64_t  time_ns;                  /* CLOCK_REALTIME */
    uint64_t  ptr;
    uint64_t  old;                      /* realloc: the block given back */
    uint32_t  size;
    uint32_t  op;
    uint64_t  stack[WID_AT_FRAMES];     /* return addresses, 0-padded */
} wid_at_record;

/* Read at load: nginx replaces the environment of the process it runs. */
static char               wid_at_path[4096];
static wid_at_record      wid_at_buf[WID_AT_BUFFER];
static int                wid_at_n;
static int                wid_at_fd = -1;
static __thread int       wid_at_busy;     /* no records from inside */

/*
 * Append /proc/self/maps to the trace's .maps file.  Taken while the
 * process runs, not at exit: nginx unloads its modules (dlclose) before
 * it exits, and their addresses would be unknown.  The reader merges the
 * snapshots.
 */
static void
wid_at_save_maps(void)
{
    char     buf[8192], path[sizeof(wid_at_path) + sizeof(".maps")];
    ssize_t  k;
    int      in, out;

    snprintf(path, sizeof(path), "%s.maps", wid_at_path);
    in = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    out = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    while (in >= 0 && out >= 0 && (k = read(in, buf, sizeof(buf))) > 0) {
        if (write(out, buf, (size_t) k) != k) {
            break;
        }
    }
    if (in >= 0) {
        close(in);
    }
    if (out >= 0) {
        close(out);
    }
}

static void
wid_at_flush(void)
{
    static unsigned  flushes;
    size_t           len = sizeof(wid_at_record) * (size_t) wid_at_n;

    if (wid_at_fd == -1) {
        wid_at_fd = wid_at_path[0] != '\0'
                    ? open(wid_at_path, O_WRONLY | O_CREAT | O_APPEND
                                        | O_CLOEXEC, 0600)
                    : -2;
    }
    if (wid_at_fd >= 0 && write(wid_at_fd, wid_at_buf, len) != (ssize_t) len) {
        wid_at_fd = -2;                /* stop tracing rather than lie */
    }
    wid_at_n = 0;

    /* The mappings of start-up (modules loaded), then now and again. */
    if (wid_at_fd >= 0 && (flushes < 8 || flushes % 256 == 0)) {
        wid_at_save_maps();
    }
    flushes++;
}

static void
wid_at_record_op(int op, void *ptr, void *old, size_t size)
{
    void            *frames[WID_AT_FRAMES + 2];
    wid_at_record   *r;
    struct timespec  ts;
    int              i, n;

    if (wid_at_busy || wid_at_fd == -2) {
        return;
    }
    wid_at_busy = 1;

    r = &wid_at_buf[wid_at_n];
    memset(r, 0, sizeof(*r));
    clock_gettime(CLOCK_REALTIME, &ts);
    r->time_ns = (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
    r->ptr = (uintptr_t) ptr;
    r->old = (uintptr_t) old;
    r->size = size > UINT32_MAX ? UINT32_MAX : (uint32_t) size;
    r->op = (uint32_t) op;

    if (op != WID_AT_FREE) {
        /* Skip this function and the interposed entry point. */
        n = backtrace(frames, WID_AT_FRAMES + 2);
        for (i = 2; i < n; i++) {
            r->stack[i - 2] = (uintptr_t) frames[i];
        }
    }

    if (++wid_at_n == WID_AT_BUFFER) {
        wid_at_flush();
    }
    wid_at_busy = 0;
}

void *
malloc(size_t n)
{
    void *p = __libc_malloc(n);

    wid_at_record_op(WID_AT_ALLOC, p, NULL, n);
    return p;
}

void
free(void *p)
{
    if (p != NULL) {
        wid_at_record_op(WID_AT_FREE, p, NULL, 0);
    }
    __libc_free(p);
}

void *
calloc(size_t n, size_t size)
{
    void *p = __libc_calloc(n, size);

    wid_at_record_op(WID_AT_ALLOC, p, NULL, p ? n * size : 0);
    return p;
}

void *
realloc(void *old, size_t n)
{
    void *p = __libc_realloc(old, n);

    wid_at_record_op(WID_AT_REALLOC, p, old, n);
    return p;
}

int
posix_memalign(void **out, size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);

    if (p == NULL) {
        return ENOMEM;
    }
    *out = p;
    wid_at_record_op(WID_AT_ALLOC, p, NULL, n);
    return 0;
}

void *
memalign(size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);

    wid_at_record_op(WID_AT_ALLOC, p, NULL, n);
    return p;
}

void *
aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

__attribute__((constructor)) static void
wid_at_start(void)
{
    const char *path = getenv("WID_ALLOC_TRACE");

    if (path != NULL && strlen(path) < sizeof(wid_at_path) - sizeof(".maps")) {
        memcpy(wid_at_path, path, strlen(path) + 1);
    }
}

__attribute__((destructor)) static void
wid_at_finish(void)
{
    wid_at_busy = 1;
    wid_at_flush();
}
