/* test-sizeclass.c - the class tables, class lists, rounding waste and pool
 * chunk fit of analyze/sizeclass.c, with exact numbers. */
#include <criterion/criterion.h>
#include <string.h>

#include "fit.h"

#define W1 ((mt_u128)MT_WEIGHT_ONE)

static void sizes(mt_sizes_t *h, const uint64_t *s, const uint64_t *count, size_t n)
{
    memset(h, 0, sizeof(*h));
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(mt_sizes_push(h, s[i], count[i] * W1), 0);
}

Test(sizeclass, jemalloc_table)
{
    mt_classes_t c;
    cr_assert_eq(mt_classes_parse("jemalloc", &c, NULL), 0);
    static const uint64_t head[] = {8,   16,  32,  48,  64,  80,  96,  112, 128,
                                    160, 192, 224, 256, 320, 384, 448, 512};
    for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
        cr_expect_eq(c.v[i], head[i], "class %zu: %lu", i, (unsigned long)c.v[i]);
    /* 36 small classes, the last 14 KiB; large ones start at 16 KiB. */
    cr_expect_eq(c.v[35], 14336);
    cr_expect_eq(c.v[36], 16384);
    cr_expect_eq(c.v[37], 20480);
    cr_expect_eq(c.v[c.n - 1], (uint64_t)1 << 47);
    cr_expect_str_eq(c.name, "jemalloc");
    cr_expect_not_null(c.source);
    mt_classes_free(&c);
}

Test(sizeclass, glibc_table)
{
    mt_classes_t c;
    cr_assert_eq(mt_classes_parse("glibc", &c, NULL), 0);
    cr_expect_eq(c.v[0], 24);
    cr_expect_eq(c.v[1], 40);
    cr_expect_eq(c.v[c.n - 1], 131048);
    cr_expect_eq(c.n, 8190);
    /* malloc(25) has a 48-byte chunk: 40 usable bytes. */
    cr_expect_eq(c.v[mt_classes_find(&c, 25)], 40);
    cr_expect_eq(mt_classes_find(&c, 131049), c.n, "above the mmap threshold: oversize");
    mt_classes_free(&c);
}

Test(sizeclass, tcmalloc_and_mimalloc_tables)
{
    mt_classes_t c;
    cr_assert_eq(mt_classes_parse("tcmalloc", &c, NULL), 0);
    cr_expect_eq(c.n, 85);
    cr_expect_eq(c.v[0], 8);
    cr_expect_eq(c.v[2], 32);
    cr_expect_eq(c.v[c.n - 1], 262144);
    mt_classes_free(&c);
    cr_assert_eq(mt_classes_parse("mimalloc", &c, NULL), 0);
    static const uint64_t head[] = {8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160};
    for (size_t i = 0; i < sizeof(head) / sizeof(head[0]); i++)
        cr_expect_eq(c.v[i], head[i]);
    cr_expect_eq(c.v[c.n - 1], 4u << 20);
    cr_expect_eq(c.n, 8 + 4 * 16); /* bins 1..72 */
    mt_classes_free(&c);
}

Test(sizeclass, lists)
{
    mt_classes_t c;
    const char *bad = NULL;
    cr_assert_eq(mt_classes_parse("1K,16,32,16,4k,1M", &c, NULL), 0);
    cr_assert_eq(c.n, 5);
    uint64_t want[] = {16, 32, 1024, 4096, 1048576};
    for (size_t i = 0; i < 5; i++)
        cr_expect_eq(c.v[i], want[i]);
    cr_expect_str_eq(c.name, "custom");
    mt_classes_free(&c);
    cr_expect_eq(mt_classes_parse("16,,32", &c, &bad), MT_EINVAL);
    cr_expect_str_eq(bad, ",32");
    cr_expect_eq(mt_classes_parse("16,x", &c, &bad), MT_EINVAL);
    cr_expect_str_eq(bad, "x");
    cr_expect_eq(mt_classes_parse("0", &c, NULL), MT_EINVAL);
    cr_expect_eq(mt_classes_parse("", &c, NULL), MT_EINVAL);
    cr_expect_eq(mt_classes_parse("jemallocx", &c, NULL), MT_EINVAL);
}

Test(sizeclass, rounding_waste_exact)
{
    /* 10 x3, 16 x1, 24 x2, 100 x1, 5000 x1 under 16, 32, 128. */
    uint64_t s[] = {10, 16, 24, 100, 5000}, n[] = {3, 1, 2, 1, 1};
    mt_sizes_t h;
    sizes(&h, s, n, 5);
    mt_classes_t c;
    cr_assert_eq(mt_classes_parse("16,32,128", &c, NULL), 0);
    mt_waste_t w;
    mt_waste_compute(&c, &h, &w);
    cr_expect(w.w == 8 * W1);
    cr_expect(w.bw == (30 + 16 + 48 + 100 + 5000) * W1);
    cr_expect(w.waste_bw == (3 * 6 + 0 + 2 * 8 + 28) * W1, "waste %lu",
              (unsigned long)(w.waste_bw / W1));
    cr_expect(w.over_w == 1 * W1);
    cr_expect(w.over_bw == 5000 * W1);
    mt_sizes_free(&h);
    mt_classes_free(&c);
}

Test(sizeclass, chunk_fit_exact)
{
    /* Classes 48 and 100 in a 1000-byte chunk: 20 objects + 40 B tail, and 10
     * objects + 0 B tail; 2000 is larger than the chunk. */
    uint64_t s[] = {40, 48, 90, 1500}, n[] = {10, 10, 5, 2};
    mt_sizes_t h;
    sizes(&h, s, n, 4);
    mt_classes_t c;
    cr_assert_eq(mt_classes_parse("48,100,2000", &c, NULL), 0);
    mt_class_use_t u[3];
    mt_class_use(&c, &h, u);
    cr_expect(u[0].w == 20 * W1 && u[1].w == 5 * W1 && u[2].w == 2 * W1);
    mt_chunk_fit_t f;
    mt_chunk_fit(&c, u, 1000, &f);
    cr_expect(f.round_bw == (10 * 8 + 5 * 10) * W1);
    cr_expect_float_eq(f.tail_b, 20.0 * 40 / 20, 1e-9, "tail %f", f.tail_b);
    cr_expect(f.unfit_w == 2 * W1 && f.unfit_bw == 3000 * W1);
    cr_expect_float_eq(mt_chunk_fit_total(&f), 130.0 + 40.0, 1e-9);

    /* Best in 1000..8192, trying 1000, 4096 and 8192: 1000 leaves 2000 unfit,
     * so it loses whatever its waste. */
    mt_chunk_fit_t best;
    uint64_t tried = mt_chunk_best(&c, u, 1000, 8192, 4096, &best);
    cr_expect_eq(tried, 3, "1000, 4096 and 8192");
    cr_expect_eq(best.unfit_w, 0);
    /* 4096: 20*16/85 + 5*96/40 + 2*96/2 = 3.76 + 12 + 96; 8192: 48 -> 170 objs
     * tail 32: 20*32/170 = 3.76; 100 -> 81 objs tail 92: 5*92/81 = 5.68;
     * 2000 -> 4 objs tail 192: 2*192/4 = 96. 8192 wins. */
    cr_expect_eq(best.chunk, 8192);
    mt_sizes_free(&h);
    mt_classes_free(&c);
}
