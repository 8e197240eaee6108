/* jemalloc_api.c - jemalloc's own API (mallocx, rallocx, xallocx, dallocx,
 * sdallocx) with known sizes, a known leak, and one mapping of its own, in
 * a program linked to Debian's libjemalloc.
 *
 * Exact facts (tests/e2e/test-allocators.c asserts them, keep in sync):
 *   mallocx   6 calls 8394304 bytes  (100; 1000 zeroed; 4096 aligned to 64;
 *                                     8 MiB, for which jemalloc maps a new
 *                                     extent from inside itself; 200; 300)
 *   rallocx   1 call     3000 bytes  (the 1000-byte block grows to 3000)
 *   xallocx   2 calls  100110 bytes  (the 100-byte block, class 112, to 110:
 *                                     done in place; the 200-byte block,
 *                                     class 224, to 100000: refused, unchanged)
 *   dallocx   3 calls                (the 4096-byte and the 8 MiB blocks,
 *                                     a malloc'ed 400-byte block)
 *   sdallocx  1 call      200 bytes  (the 200-byte block, with its size)
 *   malloc    1 call      400 bytes  (mixed: freed with dallocx)
 *   free      1 call                 (mixed: the mallocx'ed 300-byte block)
 *   map_own   1 mmap of 1 MiB, every page written, left mapped
 *   leaked    2 blocks   3110 bytes  (the 110-byte block, the 3000-byte block)
 * No other allocation call, mmap or munmap: the output goes through write(2).
 * (libjemalloc loads libstdc++, whose start-up pool is the baseline's leak.)
 * "jemalloc_api baseline" does none of it.
 */
#include <jemalloc/jemalloc.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "example.h"

#define MAPPED (1u << 20)

static void *leaked[2];

__attribute__((noinline)) static int use_api(void)
{
    void *small = mallocx(100, 0);
    void *zeroed = mallocx(1000, MALLOCX_ZERO);
    void *aligned = mallocx(4096, MALLOCX_ALIGN(64));
    void *big = mallocx(8u << 20, 0);
    void *sized = mallocx(200, 0);
    if (!small || !zeroed || !aligned || !big || !sized)
        return -1;
    memset(big, 1, 8u << 20);
    zeroed = rallocx(zeroed, 3000, 0);
    if (!zeroed)
        return -1;
    if (xallocx(small, 110, 0, 0) < 110 || xallocx(sized, 100000, 0, 0) >= 100000)
        return -1;
    dallocx(aligned, MALLOCX_ALIGN(64));
    dallocx(big, 0);
    sdallocx(sized, 200, 0);
    /* jemalloc's API and the standard one free each other's blocks. */
    void *mixed = mallocx(300, 0), *plain = malloc(400);
    if (!mixed || !plain)
        return -1;
    mt_example_keep(mixed);
    mt_example_keep(plain);
    free(mixed);
    dallocx(plain, 0);
    leaked[0] = small;
    leaked[1] = zeroed;
    mt_example_keep(leaked);
    return 0;
}

__attribute__((noinline)) static void *map_own(void)
{
    void *p = mmap(NULL, MAPPED, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED)
        memset(p, 0x5a, MAPPED);
    return p;
}

int main(int argc, char **argv)
{
    if (mt_example_baseline(argc, argv))
        return 0;
    if (use_api() != 0 || map_own() == MAP_FAILED) {
        mt_example_say("jemalloc_api: an allocation failed\n");
        return 1;
    }
    return mt_example_say("jemalloc_api: done\n") ? 1 : 0;
}
