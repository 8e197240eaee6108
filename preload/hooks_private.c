/* hooks_private.c - jemalloc's and tcmalloc's private entry points
 * (hooks_private.def): their next definitions, their stand-ins, the two
 * hooks of a shape of their own (xallocx, tc_posix_memalign), and where the
 * next allocator's code lies, so that its own mmaps are told apart.
 *
 * Why these symbols are exported even where no jemalloc or tcmalloc is loaded:
 * an LD_PRELOAD library interposes only by exporting, and what it exports is
 * fixed when it is built. The alternatives were worse: an IFUNC that resolves
 * to NULL when the next library lacks the symbol would have to call dlsym
 * from a resolver that runs while libmtrace.so itself may not be relocated
 * yet (a library loaded after it, with a weak reference, is relocated first);
 * weak definitions bind like strong ones in ld.so; patching GOTs misses
 * dlopen'ed and lazily bound objects. So the design is:
 *  - export only the allocation and free calls (mallocx, rallocx, xallocx,
 *    dallocx, sdallocx, tc_* of tcmalloc.h that allocate or free), never the
 *    symbols programs probe for an allocator: jemalloc's nallocx, sallocx,
 *    mallctl*, malloc_stats_print, the je_ prefixed names (redis), tcmalloc's
 *    tc_version, tc_malloc_size, tc_mallopt. folly's usingJEMalloc() requires
 *    nallocx, sallocx and mallctl too, RocksDB's HasJemalloc() checks
 *    malloc_stats_print, so their probes keep answering "no jemalloc".
 *  - a call that reaches a hook whose symbol no later library defines is
 *    served by a stand-in with the documented semantics on top of the next
 *    malloc family (mallocx: MALLOCX_LG_ALIGN and MALLOCX_ZERO honoured,
 *    arena and tcache flags ignored; xallocx: never grows in place, returns
 *    the usable size; tc_new: returns NULL instead of throwing), so a program
 *    that found one with a lone dlsym or weak-symbol probe still works
 *    instead of jumping to address 0. With jemalloc or tcmalloc next, every
 *    hook forwards to the real definition.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

mt__priv_t mt__priv;
uintptr_t mt__allocator_lo, mt__allocator_len;

/* ---- stand-ins, on the next malloc family ----------------------------- */

#define MT__MALLOCX_ZERO 0x40

static void *aligned(size_t align, size_t size)
{
    if (align <= 16)
        return mt__real.malloc(size);
    void *p = NULL;
    int rc = mt__real.posix_memalign ? mt__real.posix_memalign(&p, align, size) : ENOMEM;
    if (rc)
        errno = rc;
    return rc ? NULL : p;
}

static size_t usable(void *p)
{
    return p && mt__real.malloc_usable_size ? mt__real.malloc_usable_size(p) : 0;
}

void *mt__emul_mallocx(size_t size, int flags)
{
    void *p = aligned(mt__mallocx_align(flags), size);
    if (p && (flags & MT__MALLOCX_ZERO))
        memset(p, 0, size);
    return p;
}

void *mt__emul_rallocx(void *p, size_t size, int flags)
{
    size_t align = mt__mallocx_align(flags), old = usable(p);
    void *q;
    if (align <= 16) {
        q = mt__real.realloc(p, size);
    } else if ((q = aligned(align, size)) != NULL) {
        memcpy(q, p, old < size ? old : size);
        mt__real.free(p);
    }
    if (q && (flags & MT__MALLOCX_ZERO) && size > old)
        memset((char *)q + old, 0, size - old);
    return q;
}

size_t mt__emul_xallocx(void *p, size_t size, size_t extra, int flags)
{
    (void)size, (void)extra, (void)flags;
    return usable(p);
}

void mt__emul_dallocx(void *p, int flags)
{
    (void)flags;
    mt__real.free(p);
}

void mt__emul_sdallocx(void *p, size_t size, int flags)
{
    (void)size, (void)flags;
    mt__real.free(p);
}

void *mt__emul_tc_malloc(size_t size) { return mt__real.malloc(size); }
void *mt__emul_tc_malloc_skip_new_handler(size_t size) { return mt__real.malloc(size); }
void *mt__emul_tc_calloc(size_t n, size_t size) { return mt__real.calloc(n, size); }
void *mt__emul_tc_realloc(void *p, size_t size) { return mt__real.realloc(p, size); }
void *mt__emul_tc_memalign(size_t align, size_t size) { return aligned(align, size); }
void *mt__emul_tc_valloc(size_t size) { return aligned((size_t)sysconf(_SC_PAGESIZE), size); }

void *mt__emul_tc_pvalloc(size_t size) { return mt__next_pvalloc(size); }

int mt__emul_tc_posix_memalign(void **out, size_t align, size_t size)
{
    return mt__real.posix_memalign ? mt__real.posix_memalign(out, align, size) : ENOMEM;
}

void mt__emul_tc_free(void *p) { mt__real.free(p); }
void mt__emul_tc_cfree(void *p) { mt__real.free(p); }
void mt__emul_tc_free_sized(void *p, size_t size) { (void)size, mt__real.free(p); }

void *mt__emul_tc_new(size_t size) { return mt__real.malloc(size ? size : 1); }
void *mt__emul_tc_new_nothrow(size_t size, const void *nt)
{
    (void)nt;
    return mt__real.malloc(size ? size : 1);
}
void *mt__emul_tc_new_aligned(size_t size, size_t al) { return aligned(al, size ? size : 1); }
void *mt__emul_tc_new_aligned_nothrow(size_t size, size_t al, const void *nt)
{
    (void)nt;
    return aligned(al, size ? size : 1);
}
void *mt__emul_tc_newarray(size_t size) { return mt__emul_tc_new(size); }
void *mt__emul_tc_newarray_nothrow(size_t size, const void *nt)
{
    return mt__emul_tc_new_nothrow(size, nt);
}
void *mt__emul_tc_newarray_aligned(size_t size, size_t al)
{
    return mt__emul_tc_new_aligned(size, al);
}
void *mt__emul_tc_newarray_aligned_nothrow(size_t size, size_t al, const void *nt)
{
    return mt__emul_tc_new_aligned_nothrow(size, al, nt);
}

/* Every delete form frees: the size, alignment and nothrow tag only help an
 * allocator that has them. */
void mt__emul_tc_delete(void *p) { mt__real.free(p); }
void mt__emul_tc_delete_sized(void *p, size_t n) { (void)n, mt__real.free(p); }
void mt__emul_tc_delete_nothrow(void *p, const void *nt) { (void)nt, mt__real.free(p); }
void mt__emul_tc_delete_aligned(void *p, size_t al) { (void)al, mt__real.free(p); }
void mt__emul_tc_delete_sized_aligned(void *p, size_t n, size_t al)
{
    (void)n, (void)al, mt__real.free(p);
}
void mt__emul_tc_delete_aligned_nothrow(void *p, size_t al, const void *nt)
{
    (void)al, (void)nt, mt__real.free(p);
}
void mt__emul_tc_deletearray(void *p) { mt__real.free(p); }
void mt__emul_tc_deletearray_sized(void *p, size_t n) { (void)n, mt__real.free(p); }
void mt__emul_tc_deletearray_nothrow(void *p, const void *nt) { (void)nt, mt__real.free(p); }
void mt__emul_tc_deletearray_aligned(void *p, size_t al) { (void)al, mt__real.free(p); }
void mt__emul_tc_deletearray_sized_aligned(void *p, size_t n, size_t al)
{
    (void)n, (void)al, mt__real.free(p);
}
void mt__emul_tc_deletearray_aligned_nothrow(void *p, size_t al, const void *nt)
{
    (void)al, (void)nt, mt__real.free(p);
}

/* The forwarders of the counted paths (hooks_alloc.c). Never a tail call:
 * the empty asm after the call keeps this frame, and so a return address in
 * mtrace, under any call the allocator makes to itself from there. The
 * realloc shapes' forwarders take realloc_hook's (p, n, m), and realloc_hook
 * does work after its call. */
#define MT_PRIVATE_ALLOC(sym, ep, kind, params, args, bytes, align) \
    __attribute__((noinline)) void *mt__next_##sym params            \
    {                                                                \
        void *r = MT__PRIV_CALL(sym, args);                          \
        __asm__ volatile("" : : "r"(r) : "memory");                  \
        return r;                                                    \
    }
#define MT_PRIVATE_FREE(sym, ep, kind, params, args, bytes) \
    __attribute__((noinline)) void mt__next_##sym params     \
    {                                                        \
        MT__PRIV_CALL(sym, args);                            \
        __asm__ volatile("" : : : "memory");                 \
    }
#define MT_PRIVATE_REALLOC(sym, ep, params, size, fwdargs, narg, marg) \
    void *mt__fwd_##sym(void *p, size_t n, size_t m)             \
    {                                                            \
        (void)n, (void)m;                                        \
        return MT__PRIV_CALL(sym, fwdargs);                      \
    }
#define MT_PRIVATE_OTHER(ret, sym, params)
#include "hooks_private.def"
#undef MT_PRIVATE_ALLOC
#undef MT_PRIVATE_FREE
#undef MT_PRIVATE_REALLOC
#undef MT_PRIVATE_OTHER

/* ---- the hooks of a shape of their own ---------------------------------- */

/* xallocx resizes P in place and returns its usable size afterwards; it
 * succeeded when that is at least SIZE. Recorded like a realloc that kept
 * its address: the old block's free (time taken before the call) and an
 * allocation of SIZE bytes at P. A failed one leaves the block as it was. */
MT__EXPORT MT__CALLER_FRAME size_t xallocx(void *p, size_t size, size_t extra, int flags)
{
    MT__CALLER(from); /* a sample's walk starts at the caller */
    if (mt__unlikely(mt__private_nested(__builtin_return_address(0))))
        return MT__PRIV_CALL(xallocx, (p, size, extra, flags));
    mt__thread_t *t = mt__tls_thread;
    if (mt__unlikely(mt__bootstrap_owns(p)))
        return mt__bootstrap_size(p); /* never grows */
    if (mt__unlikely(!t) && !(t = mt__hook_slow())) {
        mt__count_late(MT_EP_XALLOCX, size);
        return mt__real.malloc ? MT__PRIV_CALL(xallocx, (p, size, extra, flags)) : 0;
    }
    int was_sampled = p && mt__free_maybe_sampled((uintptr_t)p) && mt__record_claim_free(p);
    uint64_t ts = was_sampled ? mt__now() : 0;
    size_t got = MT__PRIV_CALL(xallocx, (p, size, extra, flags));
    MT__BUMP(t, MT_EP_XALLOCX, size);
    int resized = got >= size;
    if (mt__unlikely(was_sampled)) {
        if (resized)
            mt__record_free_at(t, p, MT_FK_REALLOC, ts);
        else
            mt__liveset_insert((uintptr_t)p); /* unchanged: still live */
    }
    if (resized && mt__unlikely(mt__debt_add(&t->sample_debt, (int64_t)size + 1)))
        MT__RECORD_ALLOC_FROM(from, t, p, size, MT_AK_REALLOC);
    return got;
}

MT__EXPORT MT__CALLER_FRAME int tc_posix_memalign(void **out, size_t align, size_t size)
{
    MT__CALLER(from);
    if (mt__unlikely(mt__private_nested(__builtin_return_address(0))))
        return MT__PRIV_CALL(tc_posix_memalign, (out, align, size));
    mt__thread_t *t = mt__tls_thread;
    if (mt__unlikely(!t) && !(t = mt__hook_slow())) {
        if (mt__unlikely(!mt__real.malloc)) {
            *out = mt__bootstrap_alloc(size, align);
            return *out ? 0 : ENOMEM;
        }
        mt__count_late(MT_EP_TC_POSIX_MEMALIGN, size);
        return MT__PRIV_CALL(tc_posix_memalign, (out, align, size));
    }
    int rc = MT__PRIV_CALL(tc_posix_memalign, (out, align, size));
    MT__BUMP(t, MT_EP_TC_POSIX_MEMALIGN, size);
    if (mt__unlikely(mt__debt_add(&t->sample_debt, (int64_t)size + 1)))
        MT__RECORD_ALLOC_FROM(from, t, rc == 0 ? *out : NULL, size, MT_AK_ALIGNED);
    return rc;
}

/* ---- resolution ----------------------------------------------------------- */

typedef struct image_query {
    uintptr_t want;   /* an address in the image sought */
    uintptr_t libc;   /* an address in libc */
    uintptr_t lo, hi; /* out: the image's PT_LOAD span */
    int has_libc;     /* out: that image is libc's */
} image_query_t;

static int find_image(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    image_query_t *q = arg;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < lo)
            lo = a;
        if (a + ph->p_memsz > hi)
            hi = a + ph->p_memsz;
    }
    if (q->want < lo || q->want >= hi)
        return 0;
    q->lo = lo;
    q->hi = hi;
    q->has_libc = q->libc >= lo && q->libc < hi;
    return 1;
}

void mt__private_resolve(void)
{
#define MT_PRIVATE_ALLOC(sym, ep, kind, params, args, bytes, align) MT__RESOLVE(sym)
#define MT_PRIVATE_FREE(sym, ep, kind, params, args, bytes) MT__RESOLVE(sym)
#define MT_PRIVATE_REALLOC(sym, ep, params, size, fwdargs, narg, marg) MT__RESOLVE(sym)
#define MT_PRIVATE_OTHER(ret, sym, params) MT__RESOLVE(sym)
#define MT__RESOLVE(sym) *(void **)&mt__priv.sym = dlsym(RTLD_NEXT, #sym);
#include "hooks_private.def"
#undef MT__RESOLVE
#undef MT_PRIVATE_ALLOC
#undef MT_PRIVATE_FREE
#undef MT_PRIVATE_REALLOC
#undef MT_PRIVATE_OTHER

    /* glibc's malloc maps through its internal __mmap and never reaches the
     * hooks; other libc code that does is not its allocator. So the range
     * stays empty when the next malloc is libc's. */
    image_query_t q = {.want = (uintptr_t)mt__real.malloc, .libc = (uintptr_t)&abort};
    if (q.want && dl_iterate_phdr(find_image, &q) && !q.has_libc) {
        mt__allocator_lo = q.lo;
        mt__allocator_len = q.hi - q.lo;
    }
}
