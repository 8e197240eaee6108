/* test-window.c - `--from` / `--to` on examples/phases traced with every call
 * recorded: each window between its sleeps reports exactly that phase's
 * allocations, and "live" is live at --to. The phase boundaries are the
 * middles of the two longest gaps between the trace's own events (the two
 * 300 ms sleeps), so a slow or loaded machine moves them with the phases.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "harness.h"

static char *trace_dir;
static char b1[32], b2[32]; /* the boundaries, "<ns>ns" */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Traces phases once and finds the middles of its two longest event gaps. */
static void setup(void)
{
    e2e_tmpdir();
    const char *argv[] = {"phases", NULL};
    e2e_result_t r;
    e2e_run_traced(&r, argv, NULL);
    cr_assert_eq(r.exit_code, 0, "phases exited %d: %s", r.exit_code, r.err);
    cr_assert_str_empty(r.out, "phases prints nothing");
    e2e_result_free(&r);
    char *dirs[4];
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 4);
    cr_assert_eq(n, 1, "one trace expected, found %d", n);
    trace_dir = strdup(dirs[0]);
    e2e_free_list(dirs, n);

    mt_reader_t *rd;
    cr_assert_eq(mt_reader_open(&rd, trace_dir), 0);
    uint64_t ts[256], seq = 0;
    size_t nts = 0;
    const void *data;
    size_t len;
    while (mt_reader_next_block(rd, &seq, &data, &len) == 1) {
        mt_block_decoder_t dec;
        cr_assert_eq(mt_block_open(&dec, data, len), 0);
        mt_event_t e;
        while (mt_block_next(&dec, &e) == 1)
            if ((e.type == MT_EV_ALLOC || e.type == MT_EV_FREE) && nts < 256)
                ts[nts++] = e.ts; /* one thread, one trace: its time is the timeline's */
    }
    mt_reader_close(rd);
    cr_assert_geq(nts, 17, "12 allocations and 5 frees, found %zu events", nts);
    qsort(ts, nts, sizeof(ts[0]), cmp_u64);
    size_t g1 = 1, g2 = 0; /* the two longest gaps: ts[g - 1] .. ts[g] */
    for (size_t i = 2; i < nts; i++) {
        uint64_t gap = ts[i] - ts[i - 1];
        if (gap > ts[g1] - ts[g1 - 1]) {
            g2 = g1;
            g1 = i;
        } else if (!g2 || gap > ts[g2] - ts[g2 - 1]) {
            g2 = i;
        }
    }
    if (g1 > g2) {
        size_t t = g1;
        g1 = g2;
        g2 = t;
    }
    cr_assert_geq(ts[g1] - ts[g1 - 1], 300000000ull, "the first sleep is 300 ms");
    cr_assert_geq(ts[g2] - ts[g2 - 1], 300000000ull, "the second sleep is 300 ms");
    snprintf(b1, sizeof(b1), "%lluns", (unsigned long long)(ts[g1 - 1] + ts[g1]) / 2);
    snprintf(b2, sizeof(b2), "%lluns", (unsigned long long)(ts[g2 - 1] + ts[g2]) / 2);
}

static void teardown(void)
{
    free(trace_dir);
    e2e_tmpdir_remove();
}

TestSuite(window, .init = setup, .fini = teardown, .timeout = 60);

/* Runs `mtrace-analyze CMD ARGS... --json=compact TRACE`; returns stdout. */
static char *analyze(const char *cmd, const char *const *args)
{
    const char *argv[16] = {e2e_analyze(), cmd};
    int k = 2;
    for (; *args && k < 13; args++)
        argv[k++] = *args;
    argv[k++] = "--json=compact";
    argv[k++] = trace_dir;
    argv[k] = NULL;
    e2e_result_t a;
    e2e_run(&a, argv, NULL, NULL);
    cr_assert_eq(a.exit_code, 0, "%s exited %d: %s", cmd, a.exit_code, a.err);
    char *out = a.out;
    a.out = NULL;
    e2e_result_free(&a);
    return out;
}

/* top's totals and live numbers in a window. */
static void expect_top(const char *const *args, long long bytes, long long count,
                       long long live_bytes, long long live_count, long long entries,
                       const char *fn)
{
    char *out = analyze("top", args);
    cr_expect_eq(e2e_int(out, "total_bytes"), bytes, "%s", out);
    cr_expect_eq(e2e_int(out, "total_count"), count, "%s", out);
    cr_expect_eq(e2e_int(out, "live_bytes"), live_bytes, "%s", out);
    cr_expect_eq(e2e_int(out, "live_count"), live_count, "%s", out);
    cr_expect_eq(e2e_int(out, "entries"), entries, "%s", out);
    if (fn)
        cr_expect(strstr(out, fn) != NULL, "no %s in %s", fn, out);
    free(out);
}

Test(window, phase_one_is_start_up)
{
    const char *const a[] = {"--to", b1, NULL};
    expect_top(a, 4096, 4, 4096, 4, 1, "\"start_up\"");
    const char *const b[] = {"--from", "0", "--to", b1, NULL};
    expect_top(b, 4096, 4, 4096, 4, 1, "\"start_up\"");
}

Test(window, phase_two_is_the_benchmark)
{
    /* All 8 blocks are live at --to: phase 3 frees 3 of them only later. */
    const char *const a[] = {"--from", b1, "--to", b2, NULL};
    expect_top(a, 16384, 8, 16384, 8, 1, "\"benchmark\"");
    /* To the end: the window's blocks that phase 3 did not free. */
    const char *const b[] = {"--from", b1, NULL};
    expect_top(b, 16384, 8, 5 * 2048, 5, 1, "\"benchmark\"");
}

Test(window, phase_three_allocates_nothing)
{
    const char *const a[] = {"--from", b2, NULL};
    expect_top(a, 0, 0, 0, 0, 0, NULL);
    const char *const b[] = {"--from", b2, "--to", "100%", NULL};
    expect_top(b, 0, 0, 0, 0, 0, NULL);
}

Test(window, whole_run_and_leaks)
{
    const char *const none[] = {NULL};
    expect_top(none, 20480, 12, 12288, 7, 2, "\"benchmark\"");
    /* leaks in the benchmark phase, live at its end: its 8 blocks. */
    const char *const a[] = {"--from", b1, "--to", b2, NULL};
    char *out = analyze("leaks", a);
    cr_expect_eq(e2e_int(out, "total_bytes"), 16384, "%s", out);
    cr_expect_eq(e2e_int(out, "total_count"), 8, "%s", out);
    cr_expect(strstr(out, "\"benchmark\"") && !strstr(out, "\"start_up\""), "%s", out);
    const char *w = e2e_json_get(out, "window");
    cr_assert_not_null(w, "%s", out);
    cr_expect_eq(e2e_int(w, "from_ns"), atoll(b1));
    cr_expect_eq(e2e_int(w, "to_ns"), atoll(b2));
    free(out);
}

Test(window, fit_and_flamegraph_see_the_phase)
{
    const char *const a[] = {"--from", b1, "--to", b2, NULL};
    char *out = analyze("fit", a);
    cr_expect_eq(e2e_int(out, "requested_bytes"), 16384, "%s", out);
    cr_expect_eq(e2e_int(out, "allocations"), 8, "%s", out);
    free(out);
    const char *const f[] = {"--to", b1, NULL};
    out = analyze("flamegraph", f);
    cr_expect_eq(e2e_int(out, "total"), 4096, "%s", out);
    cr_expect(strstr(out, "start_up") && !strstr(out, "benchmark"), "%s", out);
    free(out);
}
