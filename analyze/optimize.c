/* optimize.c - the K size classes that minimise rounding waste, exactly.
 *
 * Dynamic programming over the distinct request sizes, one layer per class,
 * each layer computed with the divide and conquer optimisation: the cost of
 * a group of consecutive sizes satisfies the quadrangle inequality, so the
 * best split point is monotone in the group's end. O(K N log N) time,
 * O(K N) memory for the split points. OPTIMIZE.md has the recurrence, the
 * proof of monotonicity and the complexity.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"

#define INF (~(mt_u128)0)

typedef struct dp {
    const uint64_t *s;
    mt_u128 *W, *B;    /* prefix sums: W[j] = w[0..j), B[j] = (s*w)[0..j) */
    const mt_u128 *prev; /* f_{k-1} */
    mt_u128 *cur;        /* f_k */
    uint32_t *opt;       /* this layer's split points */
} dp_t;

/* Waste of one class s[j-1] serving the sizes [i, j). */
static inline mt_u128 cost(const dp_t *d, size_t i, size_t j)
{
    return (mt_u128)d->s[j - 1] * (d->W[j] - d->W[i]) - (d->B[j] - d->B[i]);
}

/* f_k(j) for j in [lo, hi], knowing the smallest best split of each lies in
 * [optlo, opthi]. */
static void solve(dp_t *d, size_t lo, size_t hi, size_t optlo, size_t opthi)
{
    while (lo <= hi) {
        size_t mid = lo + (hi - lo) / 2;
        size_t last = opthi < mid - 1 ? opthi : mid - 1, best = optlo;
        mt_u128 bestv = INF;
        for (size_t i = optlo; i <= last; i++) {
            if (d->prev[i] == INF)
                continue;
            mt_u128 v = d->prev[i] + cost(d, i, mid);
            if (v < bestv) {
                bestv = v;
                best = i;
            }
        }
        d->cur[mid] = bestv;
        d->opt[mid] = (uint32_t)best;
        /* Left half recursively, right half by looping (bounded depth). */
        if (mid > lo)
            solve(d, lo, mid - 1, optlo, best);
        lo = mid + 1;
        optlo = best;
    }
}

int mt_optimize(const uint64_t *size, const mt_u128 *w, size_t n, size_t k, uint64_t *out,
                size_t *nout, mt_u128 *waste_bw)
{
    if (k == 0 || n == 0)
        return MT_EINVAL;
    if (n >= UINT32_MAX)
        return ENOMEM;
    if (k >= n) { /* a class per size: nothing is wasted */
        memcpy(out, size, n * sizeof(*size));
        *nout = n;
        *waste_bw = 0;
        return 0;
    }
    dp_t d = {.s = size};
    mt_u128 *f0 = malloc((n + 1) * sizeof(*f0)), *f1 = malloc((n + 1) * sizeof(*f1));
    d.W = malloc((n + 1) * sizeof(*d.W));
    d.B = malloc((n + 1) * sizeof(*d.B));
    uint32_t *opt = malloc(k * (n + 1) * sizeof(*opt));
    int rc = 0;
    if (!f0 || !f1 || !d.W || !d.B || !opt) {
        rc = ENOMEM;
        goto out;
    }
    d.W[0] = d.B[0] = 0;
    for (size_t j = 0; j < n; j++) {
        d.W[j + 1] = d.W[j] + w[j];
        d.B[j + 1] = d.B[j] + (mt_u128)size[j] * w[j];
    }
    /* f_0: only the empty prefix costs nothing. */
    f0[0] = 0;
    for (size_t j = 1; j <= n; j++)
        f0[j] = INF;
    for (size_t layer = 1; layer <= k; layer++) {
        d.prev = f0;
        d.cur = f1;
        d.opt = opt + (layer - 1) * (n + 1);
        for (size_t j = 0; j < layer; j++) {
            f1[j] = INF; /* fewer sizes than classes so far: not a layer-k state */
            d.opt[j] = 0;
        }
        /* With `layer` classes the prefix holds at least `layer` sizes, and
         * the previous layer's split is at least layer - 1. */
        solve(&d, layer, n, layer - 1, n - 1);
        mt_u128 *t = f0;
        f0 = f1;
        f1 = t;
    }
    *waste_bw = f0[n];
    size_t j = n;
    for (size_t layer = k; layer >= 1; layer--) {
        out[layer - 1] = size[j - 1];
        j = opt[(layer - 1) * (n + 1) + j];
    }
    *nout = k;
out:
    free(f0);
    free(f1);
    free(d.W);
    free(d.B);
    free(opt);
    return rc;
}
