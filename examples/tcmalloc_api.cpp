/* tcmalloc_api.cpp - every allocating and freeing tc_* entry point of
 * gperftools' tcmalloc.h once or more with known sizes, a known leak, and one
 * mapping of its own, in a program linked to Debian's libtcmalloc.
 *
 * Exact facts (tests/e2e/test-allocators.c asserts them, keep in sync):
 *   tc_malloc          3 calls  710 bytes (tc_malloc 100, _skip_new_handler 110,
 *                                          tc_malloc 500 freed with free)
 *   tc_calloc          1 call   120 bytes (4 x 30)
 *   tc_realloc         2 calls 1430 bytes (NULL to 130, then to 1300)
 *   tc_memalign        1 call   140 bytes
 *   tc_posix_memalign  1 call   150 bytes
 *   tc_valloc          1 call   160 bytes
 *   tc_pvalloc         1 call   170 bytes
 *   tc_new             6 calls 1350 bytes (200 plain, 210 nothrow, 220 aligned,
 *                                          230 aligned nothrow, 240, 250 aligned)
 *   tc_newarray        7 calls 2310 bytes (300 .. 360 the same way, 360 plain)
 *   tc_free            5 calls  140 bytes (tc_free x2, tc_cfree, tc_free_sized 140,
 *                                          tc_free of a malloc'ed 600-byte block)
 *   malloc, free       1 call each, 600 bytes (mixed with tc_free, tc_malloc)
 *   tc_delete          6 calls            (plain, nothrow, aligned, aligned
 *                                          nothrow, sized, sized aligned)
 *   tc_deletearray     6 calls            (the same forms)
 *   map_own            1 mmap of 1 MiB, every page written, left mapped
 *   leaked by keep_some 5 blocks 2100 bytes (120 + 1300 + 150 + 170 + 360)
 * Output goes through write(2); alignments are 64.
 */
#include <gperftools/tcmalloc.h>
#include <new>
#include <stdlib.h>
#include <sys/mman.h>

#include "example.h"

#define MAPPED (1u << 20)

static void *kept[5];
static const std::align_val_t al{64};

__attribute__((noinline)) static int free_all(void)
{
    void *a = tc_malloc(100), *b = tc_malloc_skip_new_handler(110);
    void *c = tc_memalign(64, 140), *d = tc_valloc(160);
    if (!a || !b || !c || !d)
        return -1;
    tc_free(a);
    tc_cfree(b);
    tc_free_sized(c, 140);
    tc_free(d);
    /* tcmalloc's API and the standard one free each other's blocks. */
    void *mixed = tc_malloc(500), *plain = malloc(600);
    if (!mixed || !plain)
        return -1;
    mt_example_keep(mixed);
    mt_example_keep(plain);
    free(mixed);
    tc_free(plain);

    void *n[6] = {tc_new(200), tc_new_nothrow(210, std::nothrow), tc_new_aligned(220, al),
                  tc_new_aligned_nothrow(230, al, std::nothrow), tc_new(240),
                  tc_new_aligned(250, al)};
    for (void *p : n)
        if (!p)
            return -1;
    tc_delete(n[0]);
    tc_delete_nothrow(n[1], std::nothrow);
    tc_delete_aligned(n[2], al);
    tc_delete_aligned_nothrow(n[3], al, std::nothrow);
    tc_delete_sized(n[4], 240);
    tc_delete_sized_aligned(n[5], 250, al);

    void *m[6] = {tc_newarray(300), tc_newarray_nothrow(310, std::nothrow),
                  tc_newarray_aligned(320, al), tc_newarray_aligned_nothrow(330, al, std::nothrow),
                  tc_newarray(340), tc_newarray_aligned(350, al)};
    for (void *p : m)
        if (!p)
            return -1;
    tc_deletearray(m[0]);
    tc_deletearray_nothrow(m[1], std::nothrow);
    tc_deletearray_aligned(m[2], al);
    tc_deletearray_aligned_nothrow(m[3], al, std::nothrow);
    tc_deletearray_sized(m[4], 340);
    tc_deletearray_sized_aligned(m[5], 350, al);
    return 0;
}

__attribute__((noinline)) static int keep_some(void)
{
    kept[0] = tc_calloc(4, 30);
    void *r = tc_realloc(nullptr, 130);
    kept[1] = r ? tc_realloc(r, 1300) : nullptr;
    if (tc_posix_memalign(&kept[2], 64, 150) != 0)
        kept[2] = nullptr;
    kept[3] = tc_pvalloc(170);
    kept[4] = tc_newarray(360);
    mt_example_keep(kept);
    for (void *p : kept)
        if (!p)
            return -1;
    return 0;
}

__attribute__((noinline)) static void *map_own(void)
{
    void *p = mmap(nullptr, MAPPED, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED)
        memset(p, 0x5a, MAPPED);
    return p;
}

int main(int argc, char **argv)
{
    if (mt_example_baseline(argc, argv))
        return 0;
    if (free_all() != 0 || keep_some() != 0 || map_own() == MAP_FAILED) {
        mt_example_say("tcmalloc_api: an allocation failed\n");
        return 1;
    }
    return mt_example_say("tcmalloc_api: done\n") ? 1 : 0;
}
