/* floor.c - the cost floor of any LD_PRELOAD allocation profiler: a shim that
 * interposes malloc, free, calloc, realloc and the aligned entry points and
 * only forwards them to the next library (dlsym RTLD_NEXT). tools/bench's
 * `floor` stage builds it (cc -O2 -shared -fPIC tools/floor.c -ldl) and runs
 * the workload bare, under it and under libmtrace.so: what mtrace adds
 * beyond this is its own cost. dlsym's own allocations come from a small
 * static buffer that free recognises.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>

static void *(*next_malloc)(size_t);
static void (*next_free)(void *);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static int (*next_posix_memalign)(void **, size_t, size_t);
static void *(*next_aligned_alloc)(size_t, size_t);
static void *(*next_memalign)(size_t, size_t);

static _Alignas(16) char boot[64 << 10];
static size_t boot_used;
static int resolving;

static void *boot_alloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (boot_used + n > sizeof boot)
        return NULL;
    void *p = boot + boot_used;
    boot_used += n;
    return p; /* static storage: already zero */
}

static int is_boot(const void *p)
{
    return (const char *)p >= boot && (const char *)p < boot + sizeof boot;
}

static void resolve(void)
{
    resolving = 1;
    next_malloc = dlsym(RTLD_NEXT, "malloc");
    next_free = dlsym(RTLD_NEXT, "free");
    next_calloc = dlsym(RTLD_NEXT, "calloc");
    next_realloc = dlsym(RTLD_NEXT, "realloc");
    next_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    next_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    next_memalign = dlsym(RTLD_NEXT, "memalign");
    resolving = 0;
}

#define READY(fallback)                                                                         \
    do {                                                                                        \
        if (__builtin_expect(!next_realloc, 0)) {                                               \
            if (resolving)                                                                      \
                return fallback;                                                                \
            resolve();                                                                          \
        }                                                                                       \
    } while (0)

__attribute__((visibility("default"))) void *malloc(size_t n)
{
    READY(boot_alloc(n));
    return next_malloc(n);
}

__attribute__((visibility("default"))) void free(void *p)
{
    if (is_boot(p))
        return;
    READY((void)0);
    next_free(p);
}

__attribute__((visibility("default"))) void *calloc(size_t a, size_t b)
{
    READY(b && a > SIZE_MAX / b ? NULL : boot_alloc(a * b));
    return next_calloc(a, b);
}

__attribute__((visibility("default"))) void *realloc(void *p, size_t n)
{
    READY(NULL);
    if (is_boot(p)) {
        void *q = next_malloc(n);
        if (q) {
            size_t left = (size_t)(boot + sizeof boot - (char *)p);
            __builtin_memcpy(q, p, n < left ? n : left);
        }
        return q;
    }
    return next_realloc(p, n);
}

__attribute__((visibility("default"))) int posix_memalign(void **out, size_t align, size_t n)
{
    READY(12 /* ENOMEM */);
    return next_posix_memalign(out, align, n);
}

__attribute__((visibility("default"))) void *aligned_alloc(size_t align, size_t n)
{
    READY(NULL);
    return next_aligned_alloc(align, n);
}

__attribute__((visibility("default"))) void *memalign(size_t align, size_t n)
{
    READY(NULL);
    return next_memalign(align, n);
}
