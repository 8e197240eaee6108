/* test-trace-size.c - how big the shim's traces are on disk: a small trace
 * keeps no LMDB free pages after a clean end (format/writer.c compacts it),
 * small ticks are written in blocks that fit LMDB's leaf pages and busy
 * ticks in big blocks (preload/writer.c, put_events). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void setup(void)
{
    e2e_tmpdir();
}

TestSuite(trace_size, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 60);

/* bench_alloc, default sampling, a commit every millisecond: dozens of
 * ticks, each rewriting the counters, meta, threads and events pages, so
 * LMDB keeps about 16 pages free for copy-on-write (30 pages, 120 KiB).
 * A clean end drops them: about 15 pages (60 KiB). */
Test(trace_size, small_trace_is_compact)
{
    const char *argv[] = {"bench_alloc", "2", "200000", NULL};
    const char *env[] = {"MTRACE_FLUSH_MS=1", "MTRACE_SAMPLE=512K", NULL};
    char *info = e2e_traced_info("ticks", argv, env, NULL);
    long long bytes = e2e_int(info, "trace_bytes");
    cr_expect_leq(bytes, 96 * 1024, "the trace is %lld bytes", bytes);
    cr_expect_eq(bytes % 4096, 0);
    free(info);
}

/* bench_alloc with 2 x 800 operations, every call recorded: about 1,500
 * events (13 KB) per thread, in one tick or two: blocks of at most 2022
 * bytes, two or more to a leaf page, instead of one 13 KB block whose last
 * page is mostly empty. */
Test(trace_size, small_ticks_fit_leaf_pages)
{
    const char *argv[] = {"bench_alloc", "2", "800", NULL};
    const char *env[] = {"MTRACE_SAMPLE=all", NULL};
    char *info = e2e_traced_info("small", argv, env, NULL);
    long long blocks = e2e_int(info, "blocks"), event_bytes = e2e_int(info, "event_bytes");
    long long events = e2e_int(info, "events");
    /* Format 4 compresses the blocks (15 KB here): count the events, and
     * that they needed several leaf-page blocks. */
    cr_assert_geq(events, 2 * 1400, "%lld events", events);
    cr_assert_gt(event_bytes, 4 * 2022, "%lld bytes of events", event_bytes);
    cr_expect_leq(event_bytes, blocks * 2022, "%lld bytes in %lld blocks", event_bytes, blocks);
    free(info);
}

/* bench_alloc recording every call drains thousands of events per thread
 * per tick: 64 KiB blocks, not 2022-byte ones, so that LMDB does not keep a
 * whole tick of dirty leaf pages (peak RSS 39 MiB instead of 25). */
Test(trace_size, busy_ticks_use_big_blocks)
{
    const char *argv[] = {"bench_alloc", "2", "400000", NULL};
    const char *env[] = {"MTRACE_SAMPLE=all", NULL};
    char *info = e2e_traced_info("bench", argv, env, NULL);
    long long blocks = e2e_int(info, "blocks"), event_bytes = e2e_int(info, "event_bytes");
    cr_assert_geq(blocks, 1);
    cr_expect_gt(event_bytes, blocks * 8192, "%lld bytes in %lld blocks", event_bytes, blocks);
    free(info);
}
