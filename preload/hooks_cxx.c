/* hooks_cxx.c - C++ operator new and delete, generated from hooks_cxx.def.
 *
 * Each operator forwards to the next definition (libstdc++, or an allocator
 * that replaces it) with the recursion guard set, so the malloc it makes
 * inside is not counted twice. operator new may throw: this file is built
 * with -fexceptions and the guard is dropped by a cleanup that also runs
 * while the exception unwinds through the hook.
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

/* The next definition; looked up again if the C++ runtime was loaded after
 * mtrace initialised (a dlopen'ed plugin). */
static void *next_symbol(int i)
{
    void *f = __atomic_load_n(&cxx_next[i], __ATOMIC_ACQUIRE);
    if (mt__likely(f != NULL))
        return f;
    mt__scope_t scope = mt__enter();
    f = dlsym(RTLD_NEXT, cxx_names[i]);
    mt__leave(scope);
    __atomic_store_n(&cxx_next[i], f, __ATOMIC_RELEASE);
    return f;
}

void mt__cxx_resolve(void)
{
    for (int i = 0; i < CXX_COUNT; i++)
        cxx_next[i] = dlsym(RTLD_NEXT, cxx_names[i]);
}

static void scope_release(mt__scope_t *s)
{
    mt__leave(*s);
}

#define GUARDED(t) mt__scope_t scope __attribute__((cleanup(scope_release))) = mt__enter()

#define MT_NEW_HOOK(sym, ep, kind, params, args, bytes)                     \
    MT__EXPORT void *sym params                                            \
    {                                                                      \
        typedef void *(*fn_t) params;                                      \
        fn_t next = (fn_t)next_symbol(CXX_##sym);                          \
        mt__thread_t *t = mt__tls_thread;                                  \
        if (mt__unlikely(!t) && !(t = mt__hook_slow())) {                  \
            mt__count_late(MT_EP_##ep, bytes);                             \
            return next ? next args : malloc(bytes);                       \
        }                                                                  \
        MT__BUMP(t, MT_EP_##ep, bytes); /* before: a call that throws counts */ \
        void *p;                                                           \
        {                                                                  \
            GUARDED(t);                                                    \
            p = next ? next args : malloc(bytes);                          \
        }                                                                  \
        if (mt__unlikely(mt__debt_add(&t->sample_debt, (int64_t)(bytes) + 1))) \
            mt__record_alloc(t, p, bytes, kind);                           \
        return p;                                                          \
    }

#define MT_DELETE_HOOK(sym, ep, kind, params, args)                         \
    MT__EXPORT void sym params                                             \
    {                                                                      \
        typedef void (*fn_t) params;                                       \
        if (mt__unlikely(mt__bootstrap_owns(p)))                           \
            return;                                                        \
        fn_t next = (fn_t)next_symbol(CXX_##sym);                          \
        mt__thread_t *t = mt__tls_thread;                                  \
        if (mt__unlikely(!t) && !(t = mt__hook_slow())) {                  \
            mt__count_late(MT_EP_##ep, 0);                                 \
            if (next)                                                      \
                next args;                                                 \
            else                                                           \
                free(p);                                                   \
            return;                                                        \
        }                                                                  \
        MT__BUMP(t, MT_EP_##ep, 0);                                        \
        if (mt__unlikely(mt__free_maybe_sampled((uintptr_t)p)))            \
            mt__record_free(t, p, kind);                                   \
        GUARDED(t);                                                        \
        if (next)                                                          \
            next args;                                                     \
        else                                                               \
            free(p);                                                       \
    }

#include "hooks_cxx.def"
