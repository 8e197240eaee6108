/* test-optimize.c - the optimal size classes of analyze/optimize.c against
 * brute force (every subset, n <= 12) and against the plain O(K n^2)
 * dynamic program (2000 sizes); and that 10^5 sizes with K = 16 run. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* N distinct ascending sizes in 1..RANGE with weights 1..MAXW (x 65536). */
static void random_input(uint64_t *s, mt_u128 *w, size_t n, uint64_t range, uint64_t maxw)
{
    size_t k = 0;
    while (k < n) {
        uint64_t v = 1 + next() % range;
        bool dup = false;
        for (size_t i = 0; i < k && !dup; i++)
            dup = s[i] == v;
        if (!dup)
            s[k++] = v;
    }
    for (size_t i = 1; i < n; i++) /* insertion sort */
        for (size_t j = i; j > 0 && s[j - 1] > s[j]; j--) {
            uint64_t t = s[j];
            s[j] = s[j - 1];
            s[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++)
        w[i] = (mt_u128)(1 + next() % maxw) * MT_WEIGHT_ONE;
}

static mt_u128 waste_of(const uint64_t *s, const mt_u128 *w, size_t n, const uint64_t *c,
                        size_t k)
{
    mt_u128 t = 0;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        while (j < k && c[j] < s[i])
            j++;
        cr_assert(j < k, "size %lu not covered", (unsigned long)s[i]);
        t += (mt_u128)(c[j] - s[i]) * w[i];
    }
    return t;
}

/* Every subset of the sizes that contains the largest, with exactly K classes. */
static mt_u128 brute(const uint64_t *s, const mt_u128 *w, size_t n, size_t k)
{
    mt_u128 best = ~(mt_u128)0;
    uint64_t c[16];
    for (uint32_t mask = 0; mask < (1u << (n - 1)); mask++) {
        if ((size_t)__builtin_popcount(mask) != k - 1)
            continue;
        size_t m = 0;
        for (size_t i = 0; i + 1 < n; i++)
            if (mask & (1u << i))
                c[m++] = s[i];
        c[m++] = s[n - 1];
        mt_u128 v = waste_of(s, w, n, c, m);
        if (v < best)
            best = v;
    }
    return best;
}

/* The plain dynamic program, O(K n^2). */
static mt_u128 slow_dp(const uint64_t *s, const mt_u128 *w, size_t n, size_t k)
{
    mt_u128 *f = malloc((n + 1) * sizeof(*f)), *g = malloc((n + 1) * sizeof(*g));
    mt_u128 INF = ~(mt_u128)0;
    f[0] = 0;
    for (size_t j = 1; j <= n; j++)
        f[j] = INF;
    for (size_t layer = 1; layer <= k; layer++) {
        g[0] = INF;
        for (size_t j = 1; j <= n; j++) {
            mt_u128 best = INF, cw = 0, cb = 0;
            for (size_t i = j; i-- > 0;) { /* group i+1..j, in 1-based sizes */
                cw += w[i];
                cb += (mt_u128)s[i] * w[i];
                if (f[i] == INF)
                    continue;
                mt_u128 v = f[i] + (mt_u128)s[j - 1] * cw - cb;
                if (v < best)
                    best = v;
            }
            g[j] = best;
        }
        mt_u128 *t = f;
        f = g;
        g = t;
    }
    mt_u128 r = f[n];
    free(f);
    free(g);
    return r;
}

Test(optimize, matches_brute_force_on_small_inputs)
{
    uint64_t s[12], out[12];
    mt_u128 w[12];
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + next() % 12, k = 1 + next() % n;
        random_input(s, w, n, round % 2 ? 64 : 5000, round % 3 ? 1000 : 3);
        size_t nout;
        mt_u128 waste;
        cr_assert_eq(mt_optimize(s, w, n, k, out, &nout, &waste), 0);
        cr_assert_eq(nout, k);
        cr_assert_eq(out[nout - 1], s[n - 1], "the largest class is the largest size");
        for (size_t i = 1; i < nout; i++)
            cr_assert_lt(out[i - 1], out[i]);
        mt_u128 want = brute(s, w, n, k);
        cr_assert(waste == want, "round %d n %zu k %zu: waste %llu, brute force %llu", round, n,
                  k, (unsigned long long)waste, (unsigned long long)want);
        cr_assert(waste_of(s, w, n, out, nout) == waste, "the classes give the waste reported");
    }
}

Test(optimize, known_answer)
{
    /* 10 x1, 20 x1, 30 x100, 40 x1: with 2 classes, 30 must be one. */
    uint64_t s[] = {10, 20, 30, 40}, out[4];
    mt_u128 w[] = {65536, 65536, 100 * 65536, 65536}, waste;
    size_t n;
    cr_assert_eq(mt_optimize(s, w, 4, 2, out, &n, &waste), 0);
    cr_expect_eq(n, 2);
    cr_expect_eq(out[0], 30);
    cr_expect_eq(out[1], 40);
    cr_expect(waste == 30 * 65536);
    /* K >= n: every size is a class. */
    cr_assert_eq(mt_optimize(s, w, 4, 9, out, &n, &waste), 0);
    cr_expect_eq(n, 4);
    cr_expect(waste == 0);
    cr_expect_eq(mt_optimize(s, w, 0, 2, out, &n, &waste), MT_EINVAL);
    cr_expect_eq(mt_optimize(s, w, 4, 0, out, &n, &waste), MT_EINVAL);
}

Test(optimize, matches_quadratic_dp_on_2000_sizes)
{
    size_t n = 2000;
    uint64_t *s = malloc(n * sizeof(*s)), out[40];
    mt_u128 *w = malloc(n * sizeof(*w));
    for (size_t i = 0; i < n; i++) { /* distinct, ascending, irregular */
        s[i] = 8 + i * 13 + next() % 13;
        w[i] = (mt_u128)(1 + next() % 100000) * 65536;
    }
    size_t ks[] = {1, 2, 7, 16, 40};
    for (size_t t = 0; t < 5; t++) {
        size_t nout;
        mt_u128 waste;
        cr_assert_eq(mt_optimize(s, w, n, ks[t], out, &nout, &waste), 0);
        cr_assert(waste == slow_dp(s, w, n, ks[t]), "k %zu", ks[t]);
        cr_assert(waste_of(s, w, n, out, nout) == waste);
    }
    free(s);
    free(w);
}

Test(optimize, hundred_thousand_sizes_k16)
{
    size_t n = 100000;
    uint64_t *s = malloc(n * sizeof(*s)), out[16];
    mt_u128 *w = malloc(n * sizeof(*w));
    for (size_t i = 0; i < n; i++) {
        s[i] = 1 + i * 7 + next() % 7;
        w[i] = (mt_u128)(1 + next() % 1000) * 65536;
    }
    size_t nout;
    mt_u128 waste;
    cr_assert_eq(mt_optimize(s, w, n, 16, out, &nout, &waste), 0);
    cr_expect_eq(nout, 16);
    cr_expect_eq(out[15], s[n - 1]);
    cr_expect(waste_of(s, w, n, out, nout) == waste);
    /* Optimal for 16 is no worse than 16 evenly spaced classes. */
    uint64_t even[16];
    for (size_t i = 0; i < 16; i++)
        even[i] = s[(i + 1) * n / 16 - 1];
    cr_expect(waste <= waste_of(s, w, n, even, 16));
    free(s);
    free(w);
}
