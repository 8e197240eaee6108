/* hooks_alloc.c - the malloc family, generated from hooks.def.
 *
 * Fast path of every hook: call the next allocator, bump this thread's exact
 * counters, add the bytes to the sampling debt. Only when the debt turns
 * positive (the countdown of SAMPLING.md crossed zero) does anything else
 * happen (record.c). Kept negated so that the step is lea, add, jump. The pointer
 * returned is exactly the next allocator's: no header, no realignment.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* Entry points glibc 2.36's headers do not declare. */
void cfree(void *p);
void free_sized(void *p, size_t size);
void free_aligned_sized(void *p, size_t align, size_t size);

static size_t mt__calloc_bytes(size_t n, size_t size)
{
    size_t bytes;
    return __builtin_mul_overflow(n, size, &bytes) ? 0 : bytes;
}

/* Entry points the next allocator may lack are built from ones it has. */
static void *mt__next_memalign(size_t align, size_t size)
{
    if (mt__real.memalign)
        return mt__real.memalign(align, size);
    void *p = NULL;
    int rc = mt__real.posix_memalign ? mt__real.posix_memalign(&p, align, size) : ENOMEM;
    if (rc)
        errno = rc;
    return rc ? NULL : p;
}

static void *mt__next_aligned_alloc(size_t align, size_t size)
{
    return mt__real.aligned_alloc ? mt__real.aligned_alloc(align, size)
                                  : mt__next_memalign(align, size);
}

static void *mt__next_valloc(size_t size)
{
    return mt__real.valloc ? mt__real.valloc(size)
                           : mt__next_memalign((size_t)sysconf(_SC_PAGESIZE), size);
}

void *mt__next_pvalloc(size_t size)
{
    if (mt__real.pvalloc)
        return mt__real.pvalloc(size);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t rounded = size ? (size + page - 1) & ~(page - 1) : page;
    if (rounded < size) {
        errno = ENOMEM;
        return NULL;
    }
    return mt__next_memalign(page, rounded);
}

/* reallocarray is realloc after an overflow check, as in glibc. */
/* How realloc_hook calls the next allocator: FORWARD(p, n, m). */
typedef void *(*realloc_fn)(void *, size_t, size_t);

static void *forward_realloc(void *p, size_t size, size_t unused)
{
    (void)unused;
    return mt__real.realloc(p, size);
}

/* FORWARD(p, n, m), or ENOMEM for a reallocarray whose n * m overflows. */
static void *realloc_next(void *p, int overflow, realloc_fn forward, size_t n, size_t m)
{
    if (overflow) {
        errno = ENOMEM;
        return NULL;
    }
    return forward(p, n, m);
}

static void mt__next_free_sized(void *p, size_t size)
{
    if (mt__real.free_sized)
        mt__real.free_sized(p, size);
    else
        mt__real.free(p);
}

static void mt__next_free_aligned_sized(void *p, size_t align, size_t size)
{
    if (mt__real.free_aligned_sized)
        mt__real.free_aligned_sized(p, align, size);
    else
        mt__real.free(p);
}

/* The inner half of a call an operator new/delete hook forwards (the
 * C++ runtime's new calls malloc, delete calls free: internal.h,
 * mt__tls_pass): takes the thread's state back, like mt__hook_slow, and
 * says so; the call then goes straight to the next allocator, uncounted.
 * Every new and delete of a C++ program comes this way. */
static inline int mt__inner_half(void)
{
    mt__thread_t *pass = mt__tls_pass;
    if (mt__likely(!pass) || mt__tls_guard)
        return 0;
    mt__pass_end(pass);
    return 1;
}

/* Each hook is split so that its fast path needs no stack frame: count,
 * add to the sampling debt, tail-call the next allocator. The first call
 * of a thread, calls from inside mtrace, and sampled calls leave through the
 * out-of-line functions below. A call that bypasses recording (before init,
 * inside mtrace, shim off) is served by the next allocator, or by the
 * bootstrap arena before that is known. */
#define MT_ALLOC_HOOK(sym, ep, kind, params, args, bytes, forward, bootstrap) \
    static __attribute__((noinline, cold)) MT__CALLER_FRAME void *sym##_sampled params \
    {                                                                        \
        MT__CALLER(from); /* the walk starts at the hook's caller */         \
        void *p = forward;                                                   \
        MT__RECORD_ALLOC_FROM(from, mt__tls_thread, p, bytes, kind);         \
        return p;                                                            \
    }                                                                        \
    static __attribute__((noinline, cold)) void *sym##_bypass params         \
    {                                                                        \
        if (mt__inner_half())                                                \
            return forward;                                                  \
        if (mt__hook_slow())                                                 \
            return sym args; /* now registered: the fast path counts it */   \
        if (mt__unlikely(!mt__real.malloc))                                  \
            return bootstrap;                                                \
        mt__count_late(MT_EP_##ep, bytes);                                   \
        return forward;                                                      \
    }                                                                        \
    MT__EXPORT void *sym params                                              \
    {                                                                        \
        mt__thread_t *t = mt__tls_thread;                                    \
        if (mt__unlikely(!t))                                                \
            return sym##_bypass args;                                        \
        size_t req = bytes;                                                  \
        MT__BUMP(t, MT_EP_##ep, req);                                        \
        if (mt__likely(!mt__debt_add(&t->sample_debt, (int64_t)req + 1)))             \
            return forward;                                                  \
        return sym##_sampled args;                                           \
    }

/* The free of a live sample is recorded before the real free, so that the
 * address cannot be handed out again before its free is in the ring.
 * Bootstrap pointers sit in the live-sample table too (bootstrap.c), so the
 * one inline check sends them to the slow path, which drops them. */
#define MT_FREE_HOOK(sym, ep, kind, params, args, bytes, forward)            \
    static __attribute__((noinline, cold)) void sym##_bypass params          \
    {                                                                        \
        if (mt__inner_half()) {                                              \
            if (!mt__bootstrap_owns(p))                                      \
                forward;                                                     \
            return;                                                          \
        }                                                                    \
        if (mt__hook_slow()) {                                               \
            sym args; /* now registered: the fast path counts it */          \
            return;                                                          \
        }                                                                    \
        if (mt__bootstrap_owns(p))                                           \
            return;                                                          \
        mt__count_late(MT_EP_##ep, bytes);                                   \
        if (mt__real.free)                                                   \
            forward;                                                         \
    }                                                                        \
    static __attribute__((noinline, cold)) void sym##_sampled params         \
    {                                                                        \
        if (mt__bootstrap_owns(p))                                           \
            return;                                                          \
        mt__record_free(mt__tls_thread, p, kind);                            \
        forward;                                                             \
    }                                                                        \
    MT__EXPORT void sym params                                               \
    {                                                                        \
        mt__thread_t *t = mt__tls_thread;                                    \
        if (mt__unlikely(!t)) {                                              \
            sym##_bypass args;                                               \
            return;                                                          \
        }                                                                    \
        MT__BUMP(t, MT_EP_##ep, bytes);                                      \
        if (mt__unlikely(mt__free_maybe_sampled((uintptr_t)p))) {            \
            sym##_sampled args;                                              \
            return;                                                          \
        }                                                                    \
        forward;                                                             \
    }

#include "hooks.def"

/* realloc is a free of the old block and an allocation of the new one. The
 * free's time is taken before the real call; it is recorded only if the call
 * released the old block (a failed realloc leaves it live; realloc(p, 0)
 * frees it). The call is counted before the allocator runs, like malloc's.
 * SIZE is the new size; FORWARD(p, n, m) makes the call (realloc's, or an
 * allocator-private one such as rallocx). This is the slow path of
 * realloc_hook below: the old block may be a sample (or a bootstrap block),
 * the thread is not registered or inside mtrace, or n * m overflowed. */
static __attribute__((noinline, cold)) MT__CALLER_FRAME void *
realloc_slow(void *p, size_t size, int ep, int overflow, realloc_fn forward, size_t n, size_t m)
{
    MT__CALLER(from); /* under MTRACE_SAMPLE=all, every realloc comes here */
    mt__thread_t *t = mt__tls_thread;
    if (mt__unlikely(mt__bootstrap_owns(p))) {
        size_t old = mt__bootstrap_size(p);
        void *q = overflow ? realloc_next(p, 1, forward, n, m) : malloc(size);
        if (q)
            memcpy(q, p, old < size ? old : size);
        return q;
    }
    if (mt__unlikely(!t) && !(t = mt__hook_slow())) {
        if (mt__unlikely(!mt__real.malloc))
            return mt__bootstrap_alloc(size, 16);
        mt__count_late(ep, size);
        return realloc_next(p, overflow, forward, n, m);
    }
    MT__BUMP(t, ep, size);
    int was_sampled = p && mt__free_maybe_sampled((uintptr_t)p) && mt__record_claim_free(p);
    uint64_t ts = was_sampled ? mt__now() : 0;
    void *q = realloc_next(p, overflow, forward, n, m);
    if (mt__unlikely(was_sampled)) {
        if (q == NULL && (size != 0 || overflow))
            mt__liveset_insert((uintptr_t)p); /* failed: the old block lives on */
        else
            mt__record_free_at(t, p, MT_FK_REALLOC, ts);
    }
    if (mt__unlikely(mt__debt_add(&t->sample_debt, (int64_t)size + 1)))
        MT__RECORD_ALLOC_FROM(from, t, q, size, MT_AK_REALLOC);
    return q;
}

/* A sampled new block: the sampling debt is already counted. */
static __attribute__((noinline, cold)) MT__CALLER_FRAME void *
realloc_sampled(mt__thread_t *t, void *p, size_t size, realloc_fn forward, size_t n, size_t m)
{
    MT__CALLER(from);
    void *q = forward(p, n, m);
    MT__RECORD_ALLOC_FROM(from, t, q, size, MT_AK_REALLOC);
    return q;
}

/* realloc's fast path, inlined into each entry point so that FORWARD is a
 * direct tail call: when the old block is certainly not a sample (the
 * filter, as on free) only the counters and the sampling debt change, the
 * debt before the call as in malloc. */
static inline __attribute__((always_inline)) void *realloc_hook(void *p, size_t size, int ep,
                                                                 int overflow, realloc_fn forward,
                                                                 size_t n, size_t m)
{
    mt__thread_t *t = mt__tls_thread;
    if (mt__unlikely(!t || overflow || mt__free_maybe_sampled((uintptr_t)p)))
        return realloc_slow(p, size, ep, overflow, forward, n, m);
    MT__BUMP(t, ep, size);
    if (mt__unlikely(mt__debt_add(&t->sample_debt, (int64_t)size + 1)))
        return realloc_sampled(t, p, size, forward, n, m);
    return forward(p, n, m);
}

MT__EXPORT void *realloc(void *p, size_t size)
{
    return realloc_hook(p, size, MT_EP_REALLOC, 0, forward_realloc, size, 0);
}

/* Not forwarded to the next reallocarray: glibc's calls realloc through the
 * PLT, which would count the call a second time, as a realloc. */
MT__EXPORT void *reallocarray(void *p, size_t n, size_t m)
{
    size_t bytes;
    int overflow = __builtin_mul_overflow(n, m, &bytes);
    return realloc_hook(p, overflow ? 0 : bytes, MT_EP_REALLOCARRAY, overflow, forward_realloc, bytes, 0);
}

/* posix_memalign's sampled half: the sampling debt is already counted. */
static __attribute__((noinline, cold)) MT__CALLER_FRAME int
posix_memalign_sampled(mt__thread_t *t, void **out, size_t align, size_t size)
{
    MT__CALLER(from);
    int rc = mt__real.posix_memalign(out, align, size);
    MT__RECORD_ALLOC_FROM(from, t, rc == 0 ? *out : NULL, size, MT_AK_ALIGNED);
    return rc;
}

/* Like malloc's: the debt added before the call, the unsampled call a tail
 * call. */
MT__EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
    mt__thread_t *t = mt__tls_thread;
    if (mt__unlikely(!t) && !(t = mt__hook_slow())) {
        if (mt__unlikely(!mt__real.malloc)) {
            *out = mt__bootstrap_alloc(size, align);
            return *out ? 0 : ENOMEM;
        }
        mt__count_late(MT_EP_POSIX_MEMALIGN, size);
        return mt__real.posix_memalign(out, align, size);
    }
    MT__BUMP(t, MT_EP_POSIX_MEMALIGN, size);
    if (mt__unlikely(mt__debt_add(&t->sample_debt, (int64_t)size + 1)))
        return posix_memalign_sampled(t, out, align, size);
    return mt__real.posix_memalign(out, align, size);
}

MT__EXPORT size_t malloc_usable_size(void *p)
{
    if (mt__unlikely(mt__bootstrap_owns(p)))
        return mt__bootstrap_size(p);
    if (!p || !mt__real.malloc_usable_size)
        return 0;
    return mt__real.malloc_usable_size(p);
}

/* Allocator-private entry points (jemalloc's *allocx, tcmalloc's tc_*), from
 * hooks_private.def through the same shapes, each generated as a static
 * counted_<symbol> behind an exported <symbol> that first sends the
 * allocator's calls to itself straight through (mt__private_nested). The
 * counted path forwards through mt__next_<symbol>, a real call, so that a
 * tail call inside the allocator still shows a return address in mtrace.
 * hooks_private.c says why these symbols are exported at all. */
#define MT__PRIVATE_API __attribute__((visibility("default")))
#undef MT__EXPORT
#define MT__EXPORT static
#define MT_PRIVATE_ALLOC(sym, ep, kind, params, args, bytes, align) static void *counted_##sym params;
#define MT_PRIVATE_FREE(sym, ep, kind, params, args, bytes) static void counted_##sym params;
#define MT_PRIVATE_REALLOC(sym, ep, params, size, fwdargs, narg, marg)
#define MT_PRIVATE_OTHER(ret, sym, params)
#include "hooks_private.def"
#undef MT_PRIVATE_ALLOC
#undef MT_PRIVATE_FREE
#undef MT_PRIVATE_REALLOC
#undef MT_PRIVATE_OTHER
#define MT_PRIVATE_ALLOC(sym, ep, kind, params, args, bytes, align)                       \
    MT_ALLOC_HOOK(counted_##sym, ep, kind, params, args, bytes, mt__next_##sym args,      \
                  mt__bootstrap_alloc(bytes, align))                                      \
    MT__PRIVATE_API void *sym params                                                      \
    {                                                                                     \
        if (mt__unlikely(mt__private_nested(__builtin_return_address(0))))                \
            return MT__PRIV_CALL(sym, args);                                              \
        return counted_##sym args;                                                        \
    }
#define MT_PRIVATE_FREE(sym, ep, kind, params, args, bytes)                               \
    MT_FREE_HOOK(counted_##sym, ep, kind, params, args, bytes, mt__next_##sym args)       \
    MT__PRIVATE_API void sym params                                                       \
    {                                                                                     \
        if (mt__unlikely(mt__private_nested(__builtin_return_address(0))))                \
            MT__PRIV_CALL(sym, args);                                                     \
        else                                                                              \
            counted_##sym args;                                                           \
    }
#define MT_PRIVATE_REALLOC(sym, ep, params, size, fwdargs, narg, marg)                    \
    MT__PRIVATE_API void *sym params                                                      \
    {                                                                                     \
        if (mt__unlikely(mt__private_nested(__builtin_return_address(0))))                \
            return mt__fwd_##sym(p, narg, marg);                                          \
        return realloc_hook(p, size, MT_EP_##ep, 0, mt__fwd_##sym, narg, marg);           \
    }
#define MT_PRIVATE_OTHER(ret, sym, params) /* hooks_private.c */
#include "hooks_private.def"
#undef MT__EXPORT
#define MT__EXPORT __attribute__((visibility("default")))
