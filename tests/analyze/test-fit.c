/* test-fit.c - `mtrace-analyze fit` on traces written here with known sizes:
 * exact histogram, waste, oversize, optimal classes and chunk fit in JSON
 * and text, pools by name (top too), --match, --by-stack, usage errors. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtrace/mtrace.h"
#include "run.h"
#include "tracegen.h"

static char *tmp;
static char trace[4200];

static void setup(void)
{
    mt_test_trace_setup(&tmp, trace, sizeof(trace), "mtrace.gen.100");
}

static void teardown(void)
{
    mt_test_trace_teardown(&tmp);
}

TestSuite(fit, .init = setup, .fini = teardown);

/* The name records of pool NAME, as libmtrace.so writes them. */
static size_t name_events(mt_event_t *ev, uint64_t ts, const char *name)
{
    unsigned char buf[MT_POOL_NAME_MAX] = {0};
    size_t len = strlen(name), n = 0;
    memcpy(buf, name, len);
    for (size_t c = 0; c * MT_POOL_NAME_CHUNK < len; c++) {
        uint64_t v[3] = {0};
        for (int i = 0; i < MT_POOL_NAME_CHUNK; i++)
            v[i / 8] |= (uint64_t)buf[c * MT_POOL_NAME_CHUNK + i] << (8 * (i % 8));
        mt_event_t e = tg_pool_alloc(ts, v[0], v[1], 0, mt_pool_id(name));
        e.arg[0] = v[2];
        e.kind = (uint8_t)(MT_POOL_KIND_NAME + c);
        ev[n++] = e;
    }
    return n;
}

/* Heap: stack 1 allocates 10 B x3 and 24 B x2, stack 2 100 B x1 and 5000 B
 * x1 (one freed). Pool "kv-values-of-a-long-pool-name" (3 name records):
 * 30 B x4 and 60 B x1 from stack 3; pool "other": 8 B x1. */
static void make_trace(void)
{
    mt_event_t ev[32];
    size_t n = 0;
    tg_open(trace, 0, 1700000000000000000ull, 1000);
    ev[n++] = tg_alloc(1, 0x1000, 10, 1);
    ev[n++] = tg_alloc(2, 0x1100, 10, 1);
    ev[n++] = tg_alloc(3, 0x1200, 10, 1);
    ev[n++] = tg_alloc(4, 0x1300, 24, 1);
    ev[n++] = tg_alloc(5, 0x1400, 24, 1);
    ev[n++] = tg_alloc(6, 0x2000, 100, 2);
    ev[n++] = tg_alloc(7, 0x3000, 5000, 2);
    ev[n++] = tg_free(8, 0x3000);
    const char *kv = "kv-values-of-a-long-pool-name";
    n += name_events(ev + n, 9, kv);
    for (int i = 0; i < 4; i++)
        ev[n++] = tg_pool_alloc(10 + (uint64_t)i, 0x9000 + 64 * (uint64_t)i, 30, 3, mt_pool_id(kv));
    ev[n++] = tg_pool_alloc(20, 0x9800, 60, 3, mt_pool_id(kv));
    ev[n++] = tg_pool_free(21, 0x9000, mt_pool_id(kv));
    n += name_events(ev + n, 22, "other");
    ev[n++] = tg_pool_alloc(23, 0xa000, 8, 3, mt_pool_id("other"));
    tg_block(1, ev, n);
    uint64_t pcs1[] = {0x401000}, pcs2[] = {0x402000}, pcs3[] = {0x403000};
    tg_stack(1, pcs1, 1);
    tg_stack(2, pcs2, 1);
    tg_stack(3, pcs3, 1);
    tg_counter("malloc", 7, 5178);
    tg_counter("pool alloc", 6, 218);
    tg_close(1);
}

Test(fit, heap_json_exact)
{
    make_trace();
    mt_run_t r;
    mt_analyze(&r, "fit", "--json=compact", "--classes", "16,32,128", trace);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_str_empty(r.err);
    /* requested 30 + 48 + 100 + 5000; waste 3*6 + 2*8 + 28; 5000 oversize. */
    expect_has(r.out, "{\"requested_bytes\":5178,\"waste_bytes\":62,");
    expect_has(r.out, "\"allocations\":7,\"oversize_count\":1,\"oversize_bytes\":5000,");
    expect_has(r.out, "\"pool\":null,\"classes_name\":\"custom\",\"classes\":[16,32,128],");
    expect_has(r.out, "\"sizes\":[{\"size\":10,\"count\":3,\"bytes\":30,\"class\":16,\"waste\":18},"
                      "{\"size\":24,\"count\":2,\"bytes\":48,\"class\":32,\"waste\":16},"
                      "{\"size\":100,\"count\":1,\"bytes\":100,\"class\":128,\"waste\":28},"
                      "{\"size\":5000,\"count\":1,\"bytes\":5000,\"class\":null,\"waste\":0}]");
    expect_has(r.out, "\"top_sizes\":[{\"size\":10,\"count\":3,\"bytes\":30},"
                      "{\"size\":24,\"count\":2,\"bytes\":48},");
    expect_has(r.out, "\"buckets\":[{\"min\":8,\"max\":15,\"count\":3,\"bytes\":30},"
                      "{\"min\":16,\"max\":31,\"count\":2,\"bytes\":48},"
                      "{\"min\":64,\"max\":127,\"count\":1,\"bytes\":100},"
                      "{\"min\":4096,\"max\":8191,\"count\":1,\"bytes\":5000}]");
    expect_has(r.out, "\"pools\":[{\"id\":");
    expect_has(r.out, "\"name\":\"kv-values-of-a-long-pool-name\",\"count\":5,\"bytes\":180}");
    expect_has(r.out, "\"name\":\"other\",\"count\":1,\"bytes\":8}");
    cr_expect_null(strstr(r.out, "\"optimal\""), "optimal only with --optimize");
    mt_run_free(&r);
}

Test(fit, optimize_and_chunk_json)
{
    make_trace();
    mt_run_t r;
    mt_analyze(&r, "fit", "--json=compact", "--classes", "16,32,128", "--optimize", "2",
            "--chunk", "4K", trace);
    cr_assert_eq(r.status, 0, "%s", r.err);
    /* Best 2 classes over 10 x3, 24 x2, 100, 5000: {100, 5000} wastes
     * 270 + 152 + 0 = 422; {24, 5000}: 42 + 4900 = 4942. */
    expect_has(r.out, "\"optimal\":{\"k\":2,\"classes\":[100,5000],\"waste_bytes\":422,");
    /* 4 KiB chunks, classes in use: 16 -> 256 objects, 32 -> 128, 128 -> 32,
     * no tail; the oversize 5000 is in no class. */
    expect_has(r.out, "\"chunk\":{\"size\":4096,\"classes\":[{\"class\":16,\"objects\":256,"
                      "\"tail_bytes\":0,\"count\":3},{\"class\":32,\"objects\":128,"
                      "\"tail_bytes\":0,\"count\":2},{\"class\":128,\"objects\":32,"
                      "\"tail_bytes\":0,\"count\":1}],\"rounding_waste_bytes\":62,"
                      "\"tail_waste_bytes\":0,\"waste_bytes\":62,\"unfit_count\":0,");
    /* Optimal classes in 4 KiB chunks: 100 -> 40 objects, 96 B tail (6
     * requests: 6 * 96 / 40 = 14.4 B); 5000 does not fit a chunk. */
    expect_has(r.out, "\"chunk\":{\"size\":4096,\"classes\":[{\"class\":100,\"objects\":40,"
                      "\"tail_bytes\":96,\"count\":6},{\"class\":5000,\"objects\":0,"
                      "\"tail_bytes\":4096,\"count\":1}],\"rounding_waste_bytes\":422,"
                      "\"tail_waste_bytes\":14,\"waste_bytes\":436,\"unfit_count\":1,"
                      "\"unfit_bytes\":5000}");
    mt_run_free(&r);

    mt_analyze(&r, "fit", "--json=compact", "--classes", "16,32,128", "--chunk", "1K..9K", trace);
    cr_assert_eq(r.status, 0, "%s", r.err);
    /* Candidates 1024, 4096, 8192, 9216: all leave no tail for 16/32/128;
     * the smallest wins. */
    expect_has(r.out, "\"chunk\":{\"size\":1024,");
    expect_has(r.out, "\"chunk_search\":{\"min\":1024,\"max\":9216,\"step\":4096,"
                      "\"candidates\":4}");
    mt_run_free(&r);
}

Test(fit, pool_by_name)
{
    make_trace();
    mt_run_t r;
    mt_analyze(&r, "fit", "--json=compact", "--pool", "kv-values-of-a-long-pool-name", "--classes",
            "32,64", trace);
    cr_assert_eq(r.status, 0, "%s", r.err);
    /* 30 x4 -> 32, 60 -> 64: waste 8 + 4; the name records are not objects. */
    expect_has(r.out, "{\"requested_bytes\":180,\"waste_bytes\":12,");
    expect_has(r.out, "\"allocations\":5,\"oversize_count\":0,");
    expect_has(r.out, "\"pool\":\"kv-values-of-a-long-pool-name\",\"pool_id\":");
    mt_run_free(&r);

    mt_analyze(&r, "fit", "--pool", "kv-values-of-a-long-pool-name", "--classes", "32,64", trace);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "pool kv-values-of-a-long-pool-name: 5 requests, 180 B requested "
                      "(every call recorded; exact)\n");
    expect_has(r.out, "rounding waste 12 B (6.7% of requested)\n");
    mt_run_free(&r);

    mt_analyze(&r, "fit", "--pool", "nope", trace);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "(no requests; pools in the trace: kv-values-of-a-long-pool-name other)");
    mt_run_free(&r);

    /* top takes pool names too. */
    mt_analyze(&r, "top", "--json=compact", "--pool", "other", trace);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "{\"total_bytes\":8,\"total_count\":1,");
    mt_run_free(&r);
    mt_analyze(&r, "leaks", "--json=compact", "--pool", "kv-values-of-a-long-pool-name", trace);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "\"total_bytes\":150,");
    mt_run_free(&r);
}

Test(fit, optimize_text_and_by_stack)
{
    make_trace();
    mt_run_t r;
    mt_analyze(&r, "fit", "--classes", "16,32,128", "--optimize", "2", "--by-stack", trace);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "malloc: 7 requests, 5.1 KiB requested (every call recorded; exact)\n"
                      "classes: 3 (16, 32, 128)\n"
                      "rounding waste 62 B (1.2% of requested)\n"
                      "oversize (above the largest class, not rounded): 1 request, 4.9 KiB\n");
    expect_has(r.out, "optimal 2 classes for these requests (exact, over 4 distinct sizes):\n"
                      "    100, 5000\n"
                      "  rounding waste 422 B (8.1%) instead of 62 B (1.2%) with the classes in "
                      "use (which leave 1 request oversize)\n");
    /* Stack 1 wastes 34 B, stack 2 28 B (and has the oversize request). */
    expect_has(r.out, "#1   34 B wasted (54.8% of all waste) on 78 B requested in 5 calls, "
                      "sizes 10..24\n");
    expect_has(r.out, "#2   28 B wasted (45.2% of all waste) on 5.0 KiB requested in 2 calls, "
                      "1 oversize, sizes 100..5000\n");
    mt_run_free(&r);
}

Test(fit, usage_errors)
{
    make_trace();
    static const char *const bad[][3] = {
        {"--classes", "16,x", NULL}, {"--classes", "0", NULL},   {"--optimize", "0", NULL},
        {"--chunk", "9K..1K", NULL}, {"--chunk", "0", NULL},     {"--match", "(", NULL},
        {"--pool", "-1", NULL},      {"--json=yaml", NULL, NULL}, {"--chunk", "1K..100G", NULL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mt_run_t r;
        const char *argv[] = {ANALYZE, "fit", bad[i][0], bad[i][1], bad[i][1] ? trace : NULL,
                              NULL};
        mt_run(&r, NULL, argv);
        cr_expect_eq(r.status, 2, "%s %s: status %d", bad[i][0], bad[i][1], r.status);
        cr_expect(strstr(r.err, "fit --help"), "%s", r.err);
        mt_run_free(&r);
    }
    mt_run_t r;
    mt_analyze(&r, "fit", "--help");
    cr_expect_eq(r.status, 0);
    expect_has(r.out, "commit 078e62e");
    expect_has(r.out, "mmap threshold (128 KiB)");
    mt_run_free(&r);
}
