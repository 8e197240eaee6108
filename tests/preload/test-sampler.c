/* Tests for preload/sampler.c: weights are 1/p exactly as SAMPLING.md says,
 * and the estimator recovers the true bytes and counts of a known workload. */
#include <criterion/criterion.h>
#include <math.h>

#include "internal.h"

mt__options_t mt__opt;

Test(sampler, every_call_mode_is_exact)
{
    mt__opt.sample = 0;
    uint64_t rng = 42;
    cr_assert_eq(mt__sampler_next(&rng), 0);
    cr_assert_eq(mt__sampler_weight(1), MT_WEIGHT_ONE);
    cr_assert_eq(mt__sampler_weight(1 << 30), MT_WEIGHT_ONE);
}

Test(sampler, weight_is_inverse_probability)
{
    mt__opt.sample = 1024;
    /* s + 1 = 1024 bytes: p = 1 - e^-1, weight = 65536 / p = 103676.43 */
    cr_assert_eq(mt__sampler_weight(1023), 103676);
    /* s + 1 = 1 byte: p = 1 - e^(-1/1024), weight = 65536 * 1024.5002 = 67141637.33 */
    cr_assert_eq(mt__sampler_weight(0), 67141637);
    /* far above the interval the weight is one object */
    cr_assert_eq(mt__sampler_weight(1 << 20), MT_WEIGHT_ONE);
}

Test(sampler, intervals_have_the_configured_mean)
{
    mt__opt.sample = 512 << 10;
    uint64_t rng = 0x1234567;
    double sum = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        int64_t d = mt__sampler_next(&rng);
        cr_assert_geq(d, 0);
        sum += (double)d;
    }
    double mean = sum / n;
    cr_assert(fabs(mean - 524288.0) / 524288.0 < 0.01, "mean interval %.0f", mean);
}

/* Replays the hook's countdown on a known mix of sizes and checks that the
 * weighted samples estimate the true totals. */
Test(sampler, estimator_recovers_totals)
{
    mt__opt.sample = 64 << 10;
    uint64_t rng = 99;
    int64_t countdown = mt__sampler_next(&rng);
    static const uint64_t sizes[] = {16, 48, 200, 1000, 4096, 70000};
    double true_bytes = 0, true_count = 0, est_bytes = 0, est_count = 0;
    for (int i = 0; i < 3000000; i++) {
        uint64_t s = sizes[i % 6];
        true_bytes += (double)s;
        true_count += 1;
        countdown -= (int64_t)s + 1;
        if (countdown < 0) {
            double w = (double)mt__sampler_weight(s) / MT_WEIGHT_ONE;
            est_bytes += w * (double)s;
            est_count += w;
            countdown = mt__sampler_next(&rng);
        }
    }
    cr_assert(fabs(est_bytes - true_bytes) / true_bytes < 0.02, "bytes %.0f vs %.0f", est_bytes,
              true_bytes);
    cr_assert(fabs(est_count - true_count) / true_count < 0.03, "count %.0f vs %.0f", est_count,
              true_count);
}

/* The bound `top` prints (SAMPLING.md, "Error bounds": 1.96 sqrt(V), V the
 * sum over samples of s^2 w (w - 1)) is honest: over 1000 runs of the hook's
 * countdown on one stack of bench_alloc's size mix (80% 16-256 bytes, 15% to
 * 4 KiB, 5% to 64 KiB), each seeded as MTRACE_SEED seeds thread RUN, the
 * interval covers the true bytes in 95% of the runs, twice the interval in
 * all but a few, and the estimates are unbiased. The seeds are fixed, so the
 * result is the same every time; with streams that were not independent
 * across thread numbers the coverage would be off. */
Test(sampler, bound_covers_95_percent_of_seeded_runs)
{
    mt__opt.sample = 64 << 10;
    mt__opt.seed = 1;
    const int runs = 1000, requests = 40000;
    int covered = 0, covered_twice = 0;
    double zsum = 0;
    for (int run = 1; run <= runs; run++) {
        uint64_t rng = mt__sampler_seed((uint32_t)run), sizes = 0x9E3779B97F4A7C15ull * run;
        int64_t countdown = mt__sampler_next(&rng);
        double true_bytes = 0, est = 0, var = 0;
        for (int i = 0; i < requests; i++) {
            sizes ^= sizes << 13, sizes ^= sizes >> 7, sizes ^= sizes << 17;
            unsigned bucket = (unsigned)(sizes % 100);
            uint64_t r = sizes >> 8;
            uint64_t s = bucket < 80 ? 16 + r % 241 : bucket < 95 ? 257 + r % 3840 : 4097 + r % 61440;
            true_bytes += (double)s;
            countdown -= (int64_t)s + 1;
            if (countdown < 0) {
                double w = (double)mt__sampler_weight(s) / MT_WEIGHT_ONE;
                est += w * (double)s;
                var += (double)s * (double)s * w * (w - 1);
                countdown = mt__sampler_next(&rng);
            }
        }
        double bound = 1.959964 * sqrt(var), off = fabs(est - true_bytes);
        covered += off <= bound;
        covered_twice += off <= 2 * bound;
        zsum += (est - true_bytes) / sqrt(var);
    }
    cr_log_info("95%% bound covered %d of %d runs, twice the bound %d, mean z %.3f", covered,
                runs, covered_twice, zsum / runs);
    cr_expect(covered >= 930 && covered <= 970, "the 95%% bound covered %d of %d runs", covered,
              runs);
    cr_expect_geq(covered_twice, runs - 3, "twice the bound covered %d of %d runs", covered_twice,
                  runs);
    cr_expect(fabs(zsum / runs) < 0.1, "mean error %.3f standard errors", zsum / runs);
}
