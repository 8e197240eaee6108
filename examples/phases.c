/* phases.c - allocations in three phases separated by sleeps, the fixture of
 * the time-window tests (tests/e2e/test-window.c asserts these, keep in sync):
 *
 *   phase 1, start_up:  4 x malloc(1024) =  4096 bytes
 *   sleep PHASE_GAP_MS
 *   phase 2, benchmark: 8 x malloc(2048) = 16384 bytes
 *   sleep PHASE_GAP_MS
 *   phase 3, shut_down: frees 2 of phase 1's blocks and 3 of phase 2's
 *
 * In all 12 calls, 20480 bytes; live at the end 2 x 1024 + 5 x 2048 = 12288
 * bytes in 7 blocks. The sleeps are the two longest gaps between its events,
 * so a test finds the phase boundaries in the trace itself. Prints nothing.
 */
#include <stdlib.h>
#include <time.h>

#include "example.h"

#define PHASE_GAP_MS 300

static void *early[4], *bench[8];

__attribute__((noinline)) static int start_up(void)
{
    for (int i = 0; i < 4; i++)
        if (!(early[i] = malloc(1024)))
            return -1;
    return 0;
}

__attribute__((noinline)) static int benchmark(void)
{
    for (int i = 0; i < 8; i++)
        if (!(bench[i] = malloc(2048)))
            return -1;
    return 0;
}

__attribute__((noinline)) static void shut_down(void)
{
    free(early[0]);
    free(early[1]);
    for (int i = 0; i < 3; i++)
        free(bench[i]);
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int main(void)
{
    if (start_up())
        return 1;
    pause_ms(PHASE_GAP_MS);
    if (benchmark())
        return 1;
    pause_ms(PHASE_GAP_MS);
    shut_down();
    for (int i = 0; i < 4; i++)
        mt_example_keep(early[i]);
    for (int i = 0; i < 8; i++)
        mt_example_keep(bench[i]);
    return 0;
}
