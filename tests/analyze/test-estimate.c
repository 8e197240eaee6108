/* test-estimate.c - analyze/estimate.c: the variance one sample adds and the
 * 95% bound of a sum, with values worked out by hand from the formulas of
 * preload/SAMPLING.md ("Error bounds"). ONE = MT_WEIGHT_ONE = 65536. */
#include <criterion/criterion.h>
#include <math.h>

#include "internal.h"

#define ONE ((mt_u128)MT_WEIGHT_ONE)

Test(estimate, variance_of_one_sample)
{
    /* Recorded with certainty (MTRACE_SAMPLE=all, or s >> T): no error. */
    cr_expect(mt_est_var_objects(MT_WEIGHT_ONE) == 0);
    cr_expect(mt_est_var_bytes(1 << 20, MT_WEIGHT_ONE) == 0);
    /* p = 1/2, w = 2: w (w - 1) = 2 objects^2; s^2 w (w - 1) = 2e6 bytes^2. */
    cr_expect(mt_est_var_objects(2 * MT_WEIGHT_ONE) == 2 * ONE * ONE);
    cr_expect(mt_est_var_bytes(1000, 2 * MT_WEIGHT_ONE) == 2000000 * ONE * ONE);
    /* p = 2/3, w = 1.5: 0.75 objects^2. */
    cr_expect(mt_est_var_objects(98304) == (mt_u128)98304 * 32768);
    /* A 64-byte request at the default 512 KiB: p = 1 - exp(-65 / 524288),
     * weight round(65536 / p) = 528644128 (what sampler.c stores). */
    cr_expect(mt_est_var_objects(528644128) == (mt_u128)528644128 * (528644128 - 65536));
    cr_expect(mt_est_var_bytes(64, 528644128) == (mt_u128)528644128 * (528644128 - 65536) * 4096);
    /* Saturates instead of wrapping. */
    cr_expect(mt_est_var_bytes(UINT64_MAX, UINT64_MAX) == ~(mt_u128)0);
    cr_expect(mt_est_var_add(~(mt_u128)0, 5) == ~(mt_u128)0);
    cr_expect(mt_est_var_add(2, 3) == 5);
}

Test(estimate, bound_at_95_percent)
{
    cr_expect_eq(MT_EST_CONFIDENCE, 0.95);
    cr_expect_eq(mt_est_bound(0), 0, "exact: no bound");
    /* ceil(1.959964 * sqrt(2)) = ceil(2.7718) */
    cr_expect_eq(mt_est_bound(2 * ONE * ONE), 3);
    /* ceil(1.959964 * sqrt(2e6)) = ceil(2771.81) */
    cr_expect_eq(mt_est_bound(2000000 * ONE * ONE), 2772);
    /* sd 900: ceil(1763.97) */
    cr_expect_eq(mt_est_bound(810000 * ONE * ONE), 1764);
    /* The 64-byte sample above: it stands for 516,254 bytes +- 1,011,777
     * (one sample says little: the interval reaches below 0). */
    cr_expect_eq(mt_est_bound(mt_est_var_objects(528644128)), 15810);
    cr_expect_eq(mt_est_bound(mt_est_var_bytes(64, 528644128)), 1011777);
}

/* SAMPLING.md's claim: at T = 512 KiB, a stack of 64-byte requests with 1%
 * of 1 GiB (10,737,418 bytes) has a relative standard error near 22%
 * (sqrt(T / B) = 22.1%). Its expected variance is n p (variance of one
 * sample) with n = B / 64 requests. */
Test(estimate, relative_error_of_a_one_percent_stack)
{
    double n = 10737418.0 / 64, p = -expm1(-65.0 / 524288);
    double var = n * p * (double)mt_est_var_bytes(64, 528644128) / 65536.0 / 65536.0;
    double rel = sqrt(var) / 10737418.0;
    cr_expect(rel > 0.215 && rel < 0.225, "relative standard error %.4f", rel);
}
