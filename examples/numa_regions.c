/* numa_regions.c - NUMA regions from libnuma, partly touched, and explicit
 * memory policies: what `mtrace-analyze numa` must report exactly.
 *
 * Exact facts (tests/e2e/test-numa.c asserts them, keep in sync):
 *   map_regions    2 x numa_alloc_onnode(.., node 0): 4 MiB and 2 MiB, each
 *                  one mmap + one mbind (MPOL_BIND to node 0) inside libnuma;
 *                  transparent huge pages are turned off for both (madvise),
 *                  so pages fault in one at a time
 *   touch_part     writes the first 1 MiB of the 4 MiB region (256 pages);
 *                  the other 3 MiB and the whole 2 MiB region stay untouched
 *   heap_block     malloc(65536), every byte written
 *   prefer_local   set_mempolicy(MPOL_PREFERRED, {0}) 3 times
 *   reset_policy   set_mempolicy(MPOL_DEFAULT) once
 * Then it sleeps 1 s, so the shim's first placement query (200 ms after it
 * saw the regions) happens while they are mapped, frees everything and exits.
 * On a one-node machine: 1 MiB + 64 KiB resident on node 0, 5 MiB untouched.
 * "numa_regions baseline" does none of it.
 */
#include <numa.h>
#include <numaif.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "example.h"

#define BIG (4u << 20)
#define SMALL (2u << 20)
#define TOUCHED (1u << 20)
#define HEAP 65536u

static void *regions[2];

__attribute__((noinline)) static int map_regions(void)
{
    regions[0] = numa_alloc_onnode(BIG, 0);
    regions[1] = numa_alloc_onnode(SMALL, 0);
    if (!regions[0] || !regions[1])
        return -1;
    /* Otherwise touching one byte may fault in a 2 MiB huge page. */
    madvise(regions[0], BIG, MADV_NOHUGEPAGE);
    madvise(regions[1], SMALL, MADV_NOHUGEPAGE);
    return 0;
}

__attribute__((noinline)) static void touch_part(void)
{
    memset(regions[0], 0x5a, TOUCHED);
    mt_example_keep(regions[0]);
}

__attribute__((noinline)) static void *heap_block(void)
{
    void *p = malloc(HEAP);
    if (p)
        memset(p, 0xa5, HEAP);
    mt_example_keep(p);
    return p;
}

__attribute__((noinline)) static int prefer_local(void)
{
    unsigned long mask = 1; /* node 0 */
    for (int i = 0; i < 3; i++)
        if (set_mempolicy(MPOL_PREFERRED, &mask, 2) != 0)
            return -1;
    return 0;
}

__attribute__((noinline)) static int reset_policy(void)
{
    return set_mempolicy(MPOL_DEFAULT, NULL, 0) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (mt_example_baseline(argc, argv))
        return 0;
    if (numa_available() < 0) {
        mt_example_say("numa_regions: no NUMA support\n");
        return 1;
    }
    if (map_regions() != 0) {
        mt_example_say("numa_regions: numa_alloc_onnode failed\n");
        return 1;
    }
    touch_part();
    void *heap = heap_block();
    if (!heap || prefer_local() != 0 || reset_policy() != 0) {
        mt_example_say("numa_regions: malloc or set_mempolicy failed\n");
        return 1;
    }
    struct timespec wait = {1, 0};
    while (nanosleep(&wait, &wait) != 0)
        ;
    free(heap);
    numa_free(regions[0], BIG);
    numa_free(regions[1], SMALL);
    mt_example_say("numa_regions: done\n");
    return 0;
}
