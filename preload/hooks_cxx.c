/* hooks_cxx.c - C++ operator new and delete, generated from hooks_cxx.def.
 *
 * Each operator counts its call and forwards it to the next definition
 * (libstdc++, or an allocator that replaces it). libstdc++'s operators call
 * back into the hooks (new -> malloc, new[] -> new, nothrow new -> new,
 * sized delete -> delete, delete -> free): those inner calls are the same
 * call and must not be counted again, so the hook forwards with the
 * thread's state parked in mt__tls_pass, and the first malloc-family hook
 * reached takes it back before it calls the allocator (internal.h). An
 * operator hook reached while the state is parked is itself an inner half
 * and forwards without counting. Nothing is held while the allocator or a
 * new_handler runs: a longjmp out of them leaves the thread traced. This
 * file is built with -fexceptions so that an exception thrown through
 * operator new also restores the state.
 */
#include <dlfcn.h>
#include <stdlib.h>

#include "internal.h"

enum {
#define MT_NEW_HOOK(sym, ep, kind, params, args, bytes) CXX_##sym,
#define MT_DELETE_HOOK(sym, ep, kind, params, args) CXX_##sym,
#include "hooks_cxx.def"
#undef MT_NEW_HOOK
#undef MT_DELETE_HOOK
    CXX_COUNT
};

static const char *const cxx_names[CXX_COUNT] = {
#define MT_NEW_HOOK(sym, ep, kind, params, args, bytes) #sym,
#define MT_DELETE_HOOK(sym, ep, kind, params, args) #sym,
#include "hooks_cxx.def"
#undef MT_NEW_HOOK
#undef MT_DELETE_HOOK
};

static void *cxx_next[CXX_COUNT];

/* Looks the next definition up again: the C++ runtime was loaded after
 * mtrace initialised (a dlopen'ed plugin), or there is none. */
static __attribute__((noinline, cold)) void *next_symbol_lookup(int i)
{
    mt__scope_t scope = mt__enter();
    void *f = dlsym(RTLD_NEXT, cxx_names[i]);
    mt__leave(scope);
    __atomic_store_n(&cxx_next[i], f, __ATOMIC_RELEASE);
    return f;
}

/* The next definition: one load on every call, outer and inner half. */
static inline void *next_symbol(int i)
{
    void *f = __atomic_load_n(&cxx_next[i], __ATOMIC_ACQUIRE);
    return mt__likely(f != NULL) ? f : next_symbol_lookup(i);
}

void mt__cxx_resolve(void)
{
    for (int i = 0; i < CXX_COUNT; i++)
        cxx_next[i] = dlsym(RTLD_NEXT, cxx_names[i]);
}

static void pass_release(mt__thread_t **t)
{
    mt__pass_end(*t);
}

/* Forwards the rest of the block's call with the state parked; restored
 * when the block ends, also by unwinding. */
#define FORWARDING(t)                                                       \
    mt__thread_t *fwd_ __attribute__((cleanup(pass_release))) = (t);        \
    mt__pass_begin(fwd_)

/* Each operator is split: the exported entry point has no stack frame and
 * sends the inner half of a forwarded call (mt__tls_pass set) straight to
 * the next definition; the counted call continues in sym_counted, the
 * first call of a thread and calls outside tracing in sym_slow. */
#define MT_NEW_HOOK(sym, ep, kind, params, args, bytes)                     \
    static __attribute__((noinline, cold)) MT__CALLER_FRAME void *sym##_sampled params \
    {                                                                      \
        MT__CALLER(from); /* tail-called: the walk starts at the caller */ \
        typedef void *(*fn_t) params;                                      \
        fn_t next = (fn_t)next_symbol(CXX_##sym);                          \
        mt__thread_t *t = mt__tls_thread;                                  \
        void *p;                                                           \
        {                                                                  \
            FORWARDING(t);                                                 \
            p = next ? next args : malloc(bytes);                          \
        }                                                                  \
        MT__RECORD_ALLOC_FROM(from, t, p, bytes, kind);                    \
        return p;                                                          \
    }                                                                      \
    static __attribute__((noinline)) void *sym##_counted params            \
    {                                                                      \
        typedef void *(*fn_t) params;                                      \
        mt__thread_t *t = mt__tls_thread;                                  \
        MT__BUMP(t, MT_EP_##ep, bytes); /* before: a call that throws counts */ \
        /* The debt before the call, as malloc's: a sampled call leaves    \
         * through its own half, with no frame pointer kept here. */       \
        if (mt__unlikely(mt__debt_add(&t->sample_debt, (int64_t)(bytes) + 1))) \
            return sym##_sampled args;                                     \
        fn_t next = (fn_t)next_symbol(CXX_##sym);                          \
        FORWARDING(t);                                                     \
        return next ? next args : malloc(bytes);                           \
    }                                                                      \
    static __attribute__((noinline, cold)) void *sym##_slow params         \
    {                                                                      \
        typedef void *(*fn_t) params;                                      \
        if (mt__hook_slow())                                               \
            return sym##_counted args;                                     \
        mt__count_late(MT_EP_##ep, bytes);                                 \
        fn_t next = (fn_t)next_symbol(CXX_##sym);                          \
        return next ? next args : malloc(bytes);                           \
    }                                                                      \
    MT__EXPORT void *sym params                                            \
    {                                                                      \
        typedef void *(*fn_t) params;                                      \
        if (mt__likely(mt__tls_thread != NULL))                            \
            return sym##_counted args;                                     \
        if (!mt__tls_pass)                                                 \
            return sym##_slow args;                                        \
        fn_t next = (fn_t)next_symbol(CXX_##sym); /* inner half: counted */ \
        return next ? next args : malloc(bytes);                           \
    }

#define MT_DELETE_HOOK(sym, ep, kind, params, args)                         \
    static __attribute__((noinline)) void sym##_counted params             \
    {                                                                      \
        typedef void (*fn_t) params;                                       \
        fn_t next = (fn_t)next_symbol(CXX_##sym);                          \
        mt__thread_t *t = mt__tls_thread;                                  \
        MT__BUMP(t, MT_EP_##ep, 0);                                        \
        if (mt__unlikely(mt__free_maybe_sampled((uintptr_t)p)))            \
            mt__record_free(t, p, kind);                                   \
        FORWARDING(t);                                                     \
        if (next)                                                          \
            next args;                                                     \
        else                                                               \
            free(p);                                                       \
    }                                                                      \
    static __attribute__((noinline, cold)) void sym##_slow params          \
    {                                                                      \
        typedef void (*fn_t) params;                                       \
        if (mt__hook_slow()) {                                             \
            sym##_counted args;                                            \
            return;                                                        \
        }                                                                  \
        mt__count_late(MT_EP_##ep, 0);                                     \
        fn_t next = (fn_t)next_symbol(CXX_##sym);                          \
        if (next)                                                          \
            next args;                                                     \
        else                                                               \
            free(p);                                                       \
    }                                                                      \
    MT__EXPORT void sym params                                             \
    {                                                                      \
        typedef void (*fn_t) params;                                       \
        if (mt__unlikely(mt__bootstrap_owns(p)))                           \
            return;                                                        \
        if (mt__likely(mt__tls_thread != NULL)) {                          \
            sym##_counted args;                                            \
            return;                                                        \
        }                                                                  \
        if (!mt__tls_pass) {                                               \
            sym##_slow args;                                               \
            return;                                                        \
        }                                                                  \
        fn_t next = (fn_t)next_symbol(CXX_##sym); /* inner half: counted */ \
        if (next)                                                          \
            next args;                                                     \
        else                                                               \
            free(p);                                                       \
    }

#include "hooks_cxx.def"
