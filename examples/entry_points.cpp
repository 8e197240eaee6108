/* entry_points.cpp - every entry point mtrace counts, called exactly once
 * each, with a size no other call uses, so a call counted under two names
 * (glibc's reallocarray calls realloc; libstdc++'s new[] calls new, nothrow
 * new calls new, sized and array delete call delete) shows in the totals.
 *
 * Exact totals under the shim (entry point: calls, bytes):
 *   malloc 1 101, calloc 1 111 (3 x 37), realloc 1 121, reallocarray 1 133
 *   (7 x 19), memalign 1 141, aligned_alloc 1 192, posix_memalign 1 151,
 *   valloc 1 161, pvalloc 1 171,
 *   operator new 4 844 (181 + nothrow 201 + aligned 221 + aligned nothrow 241),
 *   operator new[] 4 884 (191 + 211 + 231 + 251),
 *   free 1 0, cfree 1 0, free_sized 1 161, free_aligned_sized 1 192,
 *   operator delete 6 0, operator delete[] 6 0 (the nothrow ones get NULL),
 *   mmap 2 12288 (mmap 8192 + mmap64 4096), munmap 2 16384,
 *   mremap 1 8192 (4096 grown to 8192), mbind 1 8192, set_mempolicy 1 0,
 *   move_pages 1 1, migrate_pages 1 0, pool alloc 1 271, pool free 1 0.
 * Leaked: calloc 111, memalign 141, posix_memalign 151, pvalloc 171.
 * glibc lacks cfree, free_sized, free_aligned_sized, the NUMA calls and
 * mt_pool_event: they are weak references, bound to the shim's under
 * LD_PRELOAD; run bare, the program uses free and skips the others. Prints
 * "entry points: N" with N the number of those found (8 under the shim).
 * "baseline" skips the work.
 */
#include <cstdlib>
#include <malloc.h>
#include <new>
#include <sys/mman.h>

#include "example.h"

extern "C" {
void cfree(void *p) __attribute__((weak));
void free_sized(void *p, size_t size) __attribute__((weak));
void free_aligned_sized(void *p, size_t align, size_t size) __attribute__((weak));
long mbind(void *addr, unsigned long len, int mode, const unsigned long *mask,
           unsigned long maxnode, unsigned flags) __attribute__((weak));
long set_mempolicy(int mode, const unsigned long *mask, unsigned long maxnode)
    __attribute__((weak));
long move_pages(int pid, unsigned long count, void **pages, const int *nodes, int *status,
                int flags) __attribute__((weak));
long migrate_pages(int pid, unsigned long maxnode, const unsigned long *from,
                   const unsigned long *to) __attribute__((weak));
/* The pool API's entry point (mtrace/mtrace.h finds it with dlsym, which
 * may allocate: a weak reference keeps the totals exact). */
void mt_pool_event(const char *pool, int op, const void *ptr, size_t size) __attribute__((weak));
}

static void c_family(int *found)
{
    void *p = malloc(101);
    mt_example_keep(p);
    void *c = calloc(3, 37);
    mt_example_keep(c);
    p = realloc(p, 121);
    mt_example_keep(p);
    p = reallocarray(p, 7, 19);
    mt_example_keep(p);
    void *m = memalign(64, 141);
    mt_example_keep(m);
    void *a = aligned_alloc(64, 192);
    mt_example_keep(a);
    void *pm = NULL;
    if (posix_memalign(&pm, 64, 151) != 0)
        abort();
    mt_example_keep(pm);
    void *v = valloc(161);
    mt_example_keep(v);
    void *pv = pvalloc(171);
    mt_example_keep(pv);
    free(p);
    void *extra = NULL;
    if (cfree) {
        (*found)++;
        cfree(extra); /* cfree(NULL): one call, nothing freed */
    }
    if (free_sized) {
        (*found)++;
        free_sized(v, 161);
    } else {
        free(v);
    }
    if (free_aligned_sized) {
        (*found)++;
        free_aligned_sized(a, 64, 192);
    } else {
        free(a);
    }
}

static void cxx_family(void)
{
    const std::align_val_t al{64};
    void *n = ::operator new(181);
    void *nn = ::operator new(201, std::nothrow);
    void *na = ::operator new(221, al);
    void *nna = ::operator new(241, al, std::nothrow);
    void *a = ::operator new[](191);
    void *an = ::operator new[](211, std::nothrow);
    void *aa = ::operator new[](231, al);
    void *ana = ::operator new[](251, al, std::nothrow);
    mt_example_keep(n), mt_example_keep(nn), mt_example_keep(na), mt_example_keep(nna);
    mt_example_keep(a), mt_example_keep(an), mt_example_keep(aa), mt_example_keep(ana);
    ::operator delete(n);
    ::operator delete(nn, (size_t)201);
    ::operator delete(nullptr, std::nothrow);
    ::operator delete(na, al);
    ::operator delete(nna, (size_t)241, al);
    ::operator delete(nullptr, al, std::nothrow);
    ::operator delete[](a);
    ::operator delete[](an, (size_t)211);
    ::operator delete[](nullptr, std::nothrow);
    ::operator delete[](aa, al);
    ::operator delete[](ana, (size_t)251, al);
    ::operator delete[](nullptr, al, std::nothrow);
}

static void map_family(int *found)
{
    char *m = (char *)mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *m64 = (char *)mmap64(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                               -1, 0);
    if (m == MAP_FAILED || m64 == MAP_FAILED)
        abort();
    m64 = (char *)mremap(m64, 4096, 8192, MREMAP_MAYMOVE);
    if (m64 == MAP_FAILED)
        abort();
    m[0] = 1;
    if (mbind && set_mempolicy && move_pages && migrate_pages) {
        *found += 4;
        mbind(m, 8192, 0 /* MPOL_DEFAULT */, NULL, 0, 0);
        set_mempolicy(0 /* MPOL_DEFAULT */, NULL, 0);
        void *page = m;
        int status = 0;
        move_pages(0, 1, &page, NULL, &status, 0);
        unsigned long from = 1, to = 1;
        migrate_pages(0, 2, &from, &to);
    }
    munmap(m, 8192);
    munmap(m64, 8192);
}

int main(int argc, char **argv)
{
    if (mt_example_baseline(argc, argv))
        return 0;
    int found = 0;
    c_family(&found);
    cxx_family();
    map_family(&found);
    static long pool_object[34];
    if (mt_pool_event) {
        found++;
        mt_pool_event("entry-points", 1 /* MT_POOL_OP_ALLOC */, pool_object, 271);
        mt_pool_event("entry-points", 2 /* MT_POOL_OP_FREE */, pool_object, 0);
    }
    char line[] = "entry points: 0\n";
    line[14] = (char)('0' + found);
    return mt_example_say(line);
}
