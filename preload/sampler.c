/* sampler.c - Poisson sampling by bytes (see SAMPLING.md for the math).
 *
 * Each thread counts down a byte budget drawn from an exponential
 * distribution with mean T = MTRACE_SAMPLE; an allocation that crosses zero
 * is sampled. A request of s bytes (counted as s+1, so malloc(0) can be
 * sampled) is then sampled with probability p = 1 - exp(-(s+1)/T) and stands
 * for 1/p objects. With T = 0 every call is recorded with weight 1.
 */
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* xorshift64*: small, fast, and good enough for sampling intervals. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* splitmix64's finalizer: nearby inputs (seed, seed + 1) give unrelated
 * xorshift states. */
static uint64_t mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

uint64_t mt__sampler_seed(uint32_t seq)
{
    uint64_t seed;
    if (mt__opt.seed) {
        seed = mix(mt__opt.seed * 0x9E3779B97F4A7C15ull + seq);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
               ((uint64_t)gettid() * 0x9E3779B97F4A7C15ull);
    }
    return seed ? seed : 0x9E3779B97F4A7C15ull;
}

int64_t mt__sampler_next(uint64_t *rng)
{
    if (mt__opt.sample == 0)
        return 0;
    /* u in (0, 1]: 53 random bits, never 0, so log(u) is finite. */
    double u = ((double)(next_random(rng) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double bytes = -log(u) * (double)mt__opt.sample;
    if (bytes > (double)INT64_MAX / 2)
        return INT64_MAX / 2;
    return (int64_t)bytes;
}

uint64_t mt__sampler_weight(uint64_t size)
{
    if (mt__opt.sample == 0)
        return MT_WEIGHT_ONE;
    double p = -expm1(-((double)size + 1.0) / (double)mt__opt.sample);
    double w = (double)MT_WEIGHT_ONE / p;
    return w >= 18446744073709549568.0 ? UINT64_MAX : (uint64_t)(w + 0.5);
}
