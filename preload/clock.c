/* clock.c - event timestamps: CLOCK_MONOTONIC ns since the trace started.
 * Read only on the sampled path (vDSO, no syscall). */
#include <time.h>

#include "internal.h"

static uint64_t clock_base;

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t mt__now(void)
{
    uint64_t now = monotonic_ns();
    return now > clock_base ? now - clock_base : 0;
}

void mt__clock_reset(void)
{
    clock_base = monotonic_ns();
}
