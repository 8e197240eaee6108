/* mtrace/mtrace.h - mtrace's public API: annotations for custom memory pools.
 *
 * A pool that carves objects out of its own chunks reports each object it
 * hands out and takes back; under LD_PRELOAD=libmtrace.so these become pool
 * events with stacks, sampled like malloc, and
 *     mtrace-analyze fit|top|leaks --pool NAME TRACE
 * analyse them like the malloc heap. C and C++, header only.
 *
 * No link dependency on mtrace: the first annotation in each translation unit
 * looks up libmtrace.so's entry point mt_pool_event with
 * dlsym(RTLD_DEFAULT, ...) (in libc since glibc 2.34; older glibc needs -ldl)
 * and caches the result in a static. Without the shim every later annotation
 * costs one load and one never-taken branch; with it, one indirect call. Define MTRACE_NO_ANNOTATIONS
 * before including this header to compile them out altogether.
 *
 *     #include <mtrace/mtrace.h>
 *     void *kv_alloc(size_t n) {
 *         void *p = carve(n);
 *         MTRACE_POOL_ALLOC("kv", p, n);     // n: the bytes asked for, not the class
 *         return p;
 *     }
 *     void kv_free(void *p) {
 *         MTRACE_POOL_FREE("kv", p);         // before p can be handed out again
 *         give_back(p);
 *     }
 *
 * NAME is a NUL-terminated string (a literal is typical); pools are told
 * apart by name alone, so one name may be used from many call sites and
 * threads. Names of up to MT_POOL_NAME_MAX bytes are recorded in the trace;
 * the pool id is mt_pool_id(NAME) of the whole name.
 */
#ifndef MTRACE_MTRACE_H
#define MTRACE_MTRACE_H

#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Operations of mt_pool_event. */
#define MT_POOL_OP_ALLOC 1 /* PTR now holds an object of SIZE requested bytes */
#define MT_POOL_OP_FREE 2  /* the object at PTR is given back (SIZE unused) */

/* Bytes of a pool name that traces keep (longer names are cut there). */
#define MT_POOL_NAME_MAX 72

/* The pool id recorded in the trace: 64-bit FNV-1a of NAME with the top bit
 * cleared (ids stay positive as int64), never 0. Tools map --pool NAME to an
 * id with this function, so a pool is found by name even in a trace that
 * lost its name records. */
static inline uint64_t mt_pool_id(const char *name)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)name; p && *p; p++) {
        h ^= *p;
        h *= 0x100000001b3ull;
    }
    h &= 0x7fffffffffffffffull;
    return h ? h : 1;
}

typedef void (*mt_pool_event_fn)(const char *pool, int op, const void *ptr, size_t size);

/* libmtrace.so's entry point, exported only by the shim. Do not call it by
 * name (that would link against the shim): use the macros below. It counts
 * every call exactly (entry points "pool alloc" / "pool free") and records
 * the sampled ones with their stacks. */
void mt_pool_event(const char *pool, int op, const void *ptr, size_t size);

#ifndef MTRACE_NO_ANNOTATIONS

/* glibc defines RTLD_DEFAULT as 0, and only under _GNU_SOURCE. */
#ifdef RTLD_DEFAULT
#define MT__RTLD_DEFAULT RTLD_DEFAULT
#else
#define MT__RTLD_DEFAULT ((void *)0)
#endif

static void mt__pool_unresolved(const char *pool, int op, const void *ptr, size_t size);

/* Per translation unit: mt__pool_unresolved (a marker, never called) until
 * the first annotation looks the shim up, then its entry point, or NULL for
 * good when it is absent. Threads racing on the first call store the same
 * value. */
static mt_pool_event_fn mt__pool_hook __attribute__((unused)) = mt__pool_unresolved;

__attribute__((unused)) static void mt__pool_unresolved(const char *pool, int op,
                                                        const void *ptr, size_t size)
{
    (void)pool, (void)op, (void)ptr, (void)size;
}

__attribute__((unused, noinline, cold)) static mt_pool_event_fn mt__pool_resolve(void)
{
    union {
        void *sym;
        mt_pool_event_fn fn;
    } u;
    u.sym = dlsym(MT__RTLD_DEFAULT, "mt_pool_event");
    __atomic_store_n(&mt__pool_hook, u.fn, __ATOMIC_RELAXED);
    return u.fn;
}

/* A macro, not a function, so that no frame of this header appears in the
 * recorded stacks. Without the shim: one load and one branch never taken. */
#define MT__POOL_CALL(pool, op, ptr, size)                                        \
    do {                                                                         \
        mt_pool_event_fn mt__fn_ = __atomic_load_n(&mt__pool_hook, __ATOMIC_RELAXED); \
        if (__builtin_expect(mt__fn_ != 0, 0)) {                                 \
            if (mt__fn_ == mt__pool_unresolved)                                  \
                mt__fn_ = mt__pool_resolve();                                    \
            if (mt__fn_)                                                         \
                mt__fn_((pool), (op), (const void *)(ptr), (size_t)(size));      \
        }                                                                        \
    } while (0)

/* Reports that pool POOL (a name) handed out PTR for a request of SIZE bytes:
 * call it after the object is carved. */
#define MTRACE_POOL_ALLOC(pool, ptr, size) MT__POOL_CALL(pool, MT_POOL_OP_ALLOC, ptr, size)
/* Reports that POOL took PTR back: call it before PTR can be handed out
 * again (before it goes back on a free list another thread may pop). */
#define MTRACE_POOL_FREE(pool, ptr) MT__POOL_CALL(pool, MT_POOL_OP_FREE, ptr, 0)

#else

#define MTRACE_POOL_ALLOC(pool, ptr, size) ((void)(pool), (void)(ptr), (void)(size))
#define MTRACE_POOL_FREE(pool, ptr) ((void)(pool), (void)(ptr))

#endif

#ifdef __cplusplus
}
#endif

#endif
