/* leaky.c - leaks known amounts from known functions.
 *
 * Exact totals (tests/e2e/test-examples.c asserts them, keep in sync):
 *   malloc          31 calls  2296 bytes  (leak_small 10x100, pairs 20x64, chain 16)
 *   calloc           3 calls 12288 bytes  (leak_big 3x4096)
 *   realloc          3 calls   224 bytes  (chain 32, 64, 128)
 *   posix_memalign   1 call    256 bytes  (aligned)
 *   aligned_alloc    1 call   8192 bytes  (aligned)
 *   all allocations 39 calls 23256 bytes
 *   free            24 calls               (pairs 20, chain 1, aligned 2, free(NULL) 1)
 *   leaked          13 blocks 13288 bytes  (leak_small 1000, leak_big 12288)
 * "leaky baseline" does none of it.
 */
#include <stdlib.h>

#include "example.h"

static void *leaked[13];

__attribute__((noinline)) static void leak_small(void)
{
    for (int i = 0; i < 10; i++) {
        leaked[i] = malloc(100);
        mt_example_keep(leaked[i]);
    }
}

__attribute__((noinline)) static void leak_big(void)
{
    for (int i = 0; i < 3; i++) {
        leaked[10 + i] = calloc(1, 4096);
        mt_example_keep(leaked[10 + i]);
    }
}

__attribute__((noinline)) static void pairs(void)
{
    for (int i = 0; i < 20; i++) {
        char *p = malloc(64);
        mt_example_keep(p);
        free(p);
    }
}

/* Grows one block 16 -> 32 -> 64 -> 128 and frees it. */
__attribute__((noinline)) static int realloc_chain(void)
{
    char *p = malloc(16);
    if (p == NULL)
        return -1;
    for (size_t size = 32; size <= 128; size *= 2) {
        char *q = realloc(p, size);
        if (q == NULL) {
            free(p);
            return -1;
        }
        p = q;
        mt_example_keep(p);
    }
    free(p);
    return 0;
}

__attribute__((noinline)) static int aligned(void)
{
    void *p = NULL;
    if (posix_memalign(&p, 64, 256) != 0)
        return -1;
    mt_example_keep(p);
    free(p);
    p = aligned_alloc(4096, 8192);
    if (p == NULL)
        return -1;
    mt_example_keep(p);
    free(p);
    /* free(NULL) counts as a free call. The compiler deletes a literal
     * free(NULL), so launder the null pointer through an empty asm. */
    void *null = NULL;
    __asm__ volatile("" : "+r"(null));
    free(null);
    return 0;
}

int main(int argc, char **argv)
{
    if (mt_example_baseline(argc, argv))
        return mt_example_say("leaky: baseline\n") == 0 ? 0 : 1;
    leak_small();
    leak_big();
    pairs();
    if (realloc_chain() != 0 || aligned() != 0) {
        mt_example_say("leaky: out of memory\n");
        return 1;
    }
    for (int i = 0; i < 13; i++)
        if (leaked[i] == NULL)
            return 1;
    return mt_example_say("leaky: leaked 13288 bytes in 13 blocks\n") == 0 ? 0 : 1;
}
