/* test-fit.c - `mtrace-analyze fit` end to end: examples run under the shim
 * with MTRACE_SAMPLE=all, and fit must report the exact sizes and waste
 * their sources list: leaky's heap, and numa_pool's annotated pool "kv"
 * (which also checks the annotation API without a link to mtrace). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void setup(void)
{
    e2e_tmpdir();
}

TestSuite(fit, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 60);

#define EXPECT_EQ(what, got, want)                                                          \
    cr_expect_eq((long long)(got), (long long)(want), "%s: got %lld, want %lld", (what),    \
                 (long long)(got), (long long)(want))

/* Runs example ARGV under the shim; returns its one trace directory (malloc'd). */
static char *traced(const char *const argv[], e2e_result_t *r)
{
    e2e_run_traced(r, argv, NULL);
    cr_assert_eq(r->exit_code, 0, "%s exited %d: %s", argv[0], r->exit_code, r->err);
    char *dirs[8];
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 8);
    cr_assert_eq(n, 1, "want one trace, found %d", n);
    char *dir = strdup(dirs[0]);
    e2e_free_list(dirs, n);
    return dir;
}

/* Runs mtrace-analyze ARGS... and returns its stdout (malloc'd), asserting it
 * exited 0. */
static char *analyze(const char *const args[])
{
    const char *argv[24] = {e2e_analyze()};
    int n = 1;
    for (; args[n - 1] && n < 23; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    e2e_result_t r;
    e2e_run(&r, argv, NULL, NULL);
    cr_assert_eq(r.exit_code, 0, "%s %s exited %d: %s", args[0], args[1], r.exit_code, r.err);
    char *out = r.out;
    r.out = NULL;
    e2e_result_free(&r);
    return out;
}

Test(fit, numa_pool_exact)
{
    const char *argv[] = {"numa_pool", NULL};
    e2e_result_t r;
    char *trace = traced(argv, &r);
    cr_expect(strstr(r.out, "numa_pool: 4000 objects, 723165 bytes requested, 70403 bytes "
                            "rounding waste, "),
              "%s", r.out);
    e2e_result_free(&r);

    const char *fit[] = {"fit", "--json=compact", "--pool", "kv", "--classes",
                         "16,32,64,128,256,512,1024,4096", "--optimize", "8", "--chunk", "64K",
                         trace, NULL};
    char *out = analyze(fit);
    EXPECT_EQ("requested_bytes", e2e_int(out, "requested_bytes"), 723165);
    EXPECT_EQ("waste_bytes", e2e_int(out, "waste_bytes"), 70403);
    EXPECT_EQ("allocations", e2e_int(out, "allocations"), 4000);
    EXPECT_EQ("oversize_count", e2e_int(out, "oversize_count"), 0);
    cr_expect_str_eq(e2e_str(out, "pool"), "kv");
    cr_expect(!e2e_bool(out, "estimated"));
    /* The value mix, exactly. */
    cr_expect(strstr(out, "{\"size\":32,\"count\":600,\"bytes\":19200,\"class\":32,\"waste\":0}"),
              "%s", out);
    cr_expect(strstr(out, "{\"size\":100,\"count\":500,\"bytes\":50000,\"class\":128,"
                          "\"waste\":14000}"), "%s", out);
    cr_expect(strstr(out, "{\"size\":4000,\"count\":50,\"bytes\":200000,\"class\":4096,"
                          "\"waste\":4800}"), "%s", out);
    /* The optimum keeps the value sizes as classes and beats the pool's. */
    const char *opt = e2e_json_get(out, "optimal");
    cr_assert_not_null(opt, "%s", out);
    EXPECT_EQ("optimal k", e2e_int(opt, "k"), 8);
    cr_expect(strstr(opt, "\"classes\":[32,44,58,100,200,500,1000,4000]"), "%s", opt);
    EXPECT_EQ("optimal waste", e2e_int(opt, "waste_bytes"), 11719);
    /* 64 KiB chunks of power-of-two classes leave no tail. */
    const char *chunk = e2e_json_get(out, "chunk");
    cr_assert_not_null(chunk);
    EXPECT_EQ("chunk size", e2e_int(chunk, "size"), 65536);
    EXPECT_EQ("chunk waste", e2e_int(chunk, "waste_bytes"), 70403);
    free(out);

    /* top and leaks by pool name: every object was freed. */
    const char *top[] = {"top", "--json=compact", "--pool", "kv", trace, NULL};
    out = analyze(top);
    EXPECT_EQ("top total_bytes", e2e_int(out, "total_bytes"), 723165);
    EXPECT_EQ("top total_count", e2e_int(out, "total_count"), 4000);
    EXPECT_EQ("top live_bytes", e2e_int(out, "live_bytes"), 0);
    free(out);
    const char *info[] = {"info", "--json=compact", trace, NULL};
    out = analyze(info);
    EXPECT_EQ("pool alloc calls", e2e_entry(out, "pool alloc", "calls"), 4000);
    EXPECT_EQ("pool alloc bytes", e2e_entry(out, "pool alloc", "bytes"), 723165);
    EXPECT_EQ("pool free calls", e2e_entry(out, "pool free", "calls"), 4000);
    free(out);
    free(trace);
}

Test(fit, numa_pool_runs_without_the_shim)
{
    const char *argv[] = {e2e_example("numa_pool"), NULL};
    e2e_result_t r;
    e2e_run(&r, argv, NULL, e2e_tmpdir());
    EXPECT_EQ("exit", r.exit_code, 0);
    cr_expect(strstr(r.out, "numa_pool: 4000 objects, 723165 bytes requested"), "%s", r.out);
    e2e_result_free(&r);
}

Test(fit, leaky_heap_exact)
{
    const char *argv[] = {"leaky", NULL};
    e2e_result_t r;
    char *trace = traced(argv, &r);
    e2e_result_free(&r);
    /* leaky: 100 x10, 4096 x3, 64 x21, 16, 32, 128, 256, 8192 = 23256 B. With
     * 32, 64, 128, 4096: 10 x 28 + 16 + 3840 = 4136 B, 8192 oversize. */
    const char *fit[] = {"fit", "--json=compact", "--classes", "32,64,128,4096", trace, NULL};
    char *out = analyze(fit);
    EXPECT_EQ("requested_bytes", e2e_int(out, "requested_bytes"), 23256);
    EXPECT_EQ("waste_bytes", e2e_int(out, "waste_bytes"), 4136);
    EXPECT_EQ("allocations", e2e_int(out, "allocations"), 39);
    EXPECT_EQ("oversize_count", e2e_int(out, "oversize_count"), 1);
    EXPECT_EQ("oversize_bytes", e2e_int(out, "oversize_bytes"), 8192);
    cr_expect(strstr(out, "\"sizes\":[{\"size\":16,\"count\":1,\"bytes\":16,\"class\":32,"
                          "\"waste\":16},{\"size\":32,\"count\":1,\"bytes\":32,\"class\":32,"
                          "\"waste\":0},{\"size\":64,\"count\":21,\"bytes\":1344,\"class\":64,"
                          "\"waste\":0},{\"size\":100,\"count\":10,\"bytes\":1000,\"class\":128,"
                          "\"waste\":280},"),
              "%s", out);
    free(out);
    /* --by-stack names the function that wastes the most: aligned()'s 256 B
     * request rounds to 4096. */
    const char *by[] = {"fit", "--json=compact", "--classes", "32,64,128,4096", "--by-stack",
                        "-n", "1", trace, NULL};
    out = analyze(by);
    const char *st = e2e_json_at(e2e_json_get(out, "stacks"), 0);
    cr_assert_not_null(st, "%s", out);
    EXPECT_EQ("top stack waste", e2e_int(st, "waste_bytes"), 3840);
    cr_expect(strstr(st, "\"function\":\"aligned\""), "%s", st);
    free(out);
    free(trace);
}
