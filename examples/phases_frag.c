/* phases_frag.c - memory in known phases, each held for a known time, that
 * leave the heap fragmented: the fixture of `mtrace-analyze timeline`.
 *
 * Phases (tests/e2e/test-timeline.c asserts them, keep in sync), each
 * followed by a sleep of HOLD_MS (argv[1] overrides it, in ms):
 *   0 start        nothing allocated                       heap 0
 *   1 grow         160 x 64 KiB blocks (make_blocks),      heap 10,485,760 in 160 objects
 *                  every byte written; a 2 MiB anonymous   mapped 2,097,152
 *                  mmap (map_region), written
 *   2 free half    the even blocks freed (80 x 64 KiB);    heap 5,242,880 in 80 objects
 *                  the region unmapped                     mapped 0
 *   3 fragment     20,000 x 32-byte objects (make_small),  heap 5,882,880 in 20,080 objects
 *                  written
 * glibc keeps the freed blocks' pages (they lie between live blocks, below
 * its mmap threshold), so RSS stays near its phase-1 level from phase 2 on
 * while the heap halves: the fragmentation ratio goes from about 1 to about
 * 2. The program exits with phase 3's heap live.
 * "phases_frag baseline" does none of it.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "example.h"

#define NBLOCKS 160
#define BLOCK (64u << 10)
#define REGION (2u << 20)
#define NSMALL 20000
#define SMALL 32
#define HOLD_MS 600

static void *blocks[NBLOCKS];
static void *small[NSMALL];

static void hold(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

__attribute__((noinline)) static void make_blocks(void)
{
    for (int i = 0; i < NBLOCKS; i++) {
        blocks[i] = malloc(BLOCK);
        if (blocks[i])
            memset(blocks[i], i, BLOCK);
    }
}

__attribute__((noinline)) static void *map_region(void)
{
    void *p = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    memset(p, 1, REGION);
    return p;
}

__attribute__((noinline)) static void make_small(void)
{
    for (int i = 0; i < NSMALL; i++) {
        small[i] = malloc(SMALL);
        if (small[i])
            memset(small[i], 2, SMALL);
    }
}

int main(int argc, char **argv)
{
    if (mt_example_baseline(argc, argv))
        return 0;
    long ms = argc > 1 ? atol(argv[1]) : HOLD_MS;
    if (ms <= 0)
        ms = HOLD_MS;
    hold(ms);
    make_blocks();
    void *region = map_region();
    hold(ms);
    for (int i = 0; i < NBLOCKS; i += 2) {
        free(blocks[i]);
        blocks[i] = NULL;
    }
    if (region)
        munmap(region, REGION);
    hold(ms);
    make_small();
    hold(ms);
    return 0; /* with phase 3's heap live */
}
