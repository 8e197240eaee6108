/* unrolled.c - two call sites of malloc on one source line: the loop in
 * unrolled_pair is unrolled by the compiler (built at -O2), so each of its
 * two iterations has its own call instruction, and both are at the line of
 * the malloc. Reports must list them as one stack.
 *
 * Exact totals (tests/e2e/test-reports.c asserts them, keep in sync):
 *   malloc          200 calls  12800 bytes  (unrolled_pair 100 x 2 x 64)
 *   free            200 calls
 *   leaked            0
 * "unrolled baseline" does none of it.
 */
#include <stdlib.h>

#include "example.h"

__attribute__((noinline)) static void unrolled_pair(void *out[2])
{
#pragma GCC unroll 2
    for (int i = 0; i < 2; i++)
        out[i] = malloc(64); /* UNROLLED_LINE: two calls, one line */
}

int main(int argc, char **argv)
{
    if (mt_example_baseline(argc, argv))
        return 0;
    for (int k = 0; k < 100; k++) {
        void *p[2];
        unrolled_pair(p);
        mt_example_keep(p[0]);
        mt_example_keep(p[1]);
        free(p[0]);
        free(p[1]);
    }
    return mt_example_say("unrolled: done\n");
}
