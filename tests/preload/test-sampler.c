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
