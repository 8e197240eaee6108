/* estimate.c - the error bounds of sampled estimates: the variance that one
 * sample adds to an estimated sum of objects or bytes, and the half-width of
 * the confidence interval of a sum from its summed variance. The derivation
 * is in preload/SAMPLING.md ("Error bounds"); every report that prints an
 * estimate with "±" or a *_error key uses these and nothing else.
 */
#include <math.h>

#include "internal.h"

mt_u128 mt_est_var_objects(uint64_t weight)
{
    if (weight <= MT_WEIGHT_ONE) /* recorded with certainty: no error */
        return 0;
    return (mt_u128)weight * (weight - MT_WEIGHT_ONE);
}

mt_u128 mt_est_var_bytes(uint64_t size, uint64_t weight)
{
    mt_u128 v = mt_est_var_objects(weight);
    mt_u128 max = ~(mt_u128)0;
    for (int i = 0; i < 2; i++) { /* v * size * size, saturating */
        if (size && v > max / size)
            return max;
        v *= size;
    }
    return v;
}

mt_u128 mt_est_var_add(mt_u128 a, mt_u128 b)
{
    mt_u128 s = a + b;
    return s < a ? ~(mt_u128)0 : s;
}

uint64_t mt_est_bound(mt_u128 var)
{
    if (!var)
        return 0;
    long double sd = sqrtl((long double)var) / MT_WEIGHT_ONE;
    long double b = ceill(MT_EST_Z * sd);
    return b >= 0x1p64L ? UINT64_MAX : (uint64_t)b;
}

/* "V ± BOUND" with FMT for both numbers, or V alone when BOUND is 0. */
static const char *fmt_pm(char *buf, uint64_t v, uint64_t bound,
                          const char *(*fmt)(char *, uint64_t))
{
    char a[MT_FMT_MAX], b[MT_FMT_MAX];
    if (!bound)
        return fmt(buf, v);
    snprintf(buf, MT_FMT_MAX, "%s \u00b1 %s", fmt(a, v), fmt(b, bound));
    return buf;
}

const char *mt_fmt_bytes_pm(char *buf, uint64_t bytes, uint64_t bound)
{
    return fmt_pm(buf, bytes, bound, mt_fmt_bytes);
}

const char *mt_fmt_count_pm(char *buf, uint64_t count, uint64_t bound)
{
    return fmt_pm(buf, count, bound, mt_fmt_count);
}

const char *mt_fmt_bytes_est(char *buf, uint64_t bytes, mt_u128 var)
{
    return mt_fmt_bytes_pm(buf, bytes, mt_est_bound(var));
}

const char *mt_fmt_count_est(char *buf, uint64_t count, mt_u128 var)
{
    return mt_fmt_count_pm(buf, count, mt_est_bound(var));
}

void mt_json_kv_error(mt_json_t *j, const char *key, mt_u128 var)
{
    mt_json_kv_u64(j, key, mt_est_bound(var));
}
