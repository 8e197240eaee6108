/* test-trace-size.c - how big the shim's traces are on disk: a small trace
 * keeps no LMDB free pages after a clean end (format/writer.c compacts it),
 * small ticks are written in blocks that fit LMDB's leaf pages and busy
 * ticks in big blocks (preload/writer.c, put_events), and a thread with few
 * events keeps them for a few ticks to write fewer, bigger blocks. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
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

/* Blocks and events of the program's threads (not the writer's) in the trace
 * of LABEL (the one directory LABEL.* in the test's directory). */
static void thread_blocks(const char *label, long long *blocks, long long *events)
{
    char *dirs[16], *dir = NULL;
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 16);
    size_t len = strlen(label);
    for (int i = 0; i < n; i++) {
        const char *base = strrchr(dirs[i], '/') + 1;
        if (strncmp(base, label, len) == 0 && base[len] == '.')
            dir = strdup(dirs[i]);
    }
    e2e_free_list(dirs, n);
    cr_assert_not_null(dir, "no trace %s.*", label);
    mt_reader_t *r;
    cr_assert_eq(mt_reader_open(&r, dir), 0, "cannot open %s", dir);
    cr_assert_eq(mt_reader_refresh(r), 0);
    *blocks = *events = 0;
    uint64_t cursor = 0;
    const void *data;
    size_t size;
    while (mt_reader_next_block(r, &cursor, &data, &size) == 1) {
        mt_block_decoder_t dec;
        cr_assert_eq(mt_block_open(&dec, data, size), 0);
        if (dec.thread != 0) {
            mt_event_t e;
            (*blocks)++;
            int rc;
            while ((rc = mt_block_next(&dec, &e)) == 1)
                (*events)++;
            cr_assert_eq(rc, 0);
        }
        mt_block_close(&dec);
    }
    mt_reader_close(r);
    free(dir);
}

/* examples/phases, every call recorded: 17 events of its main thread in
 * three bursts 300 ms apart. With a commit every 200 ms, a thread's few
 * events wait in its ring up to 1 s (8 ticks): all 17 are written at exit,
 * in one block, not in one block per burst. */
Test(trace_size, few_events_wait_for_one_block)
{
    const char *argv[] = {"phases", NULL};
    const char *env[] = {"MTRACE_SAMPLE=all", "MTRACE_FLUSH_MS=200", NULL};
    free(e2e_traced_info("held", argv, env, NULL));
    long long blocks, events;
    thread_blocks("held", &blocks, &events);
    cr_expect_eq(events, 17, "%lld events of the program", events);
    cr_expect_eq(blocks, 1, "%lld blocks of the program's events", blocks);
}

/* The wait is bounded by 8 ticks: with a commit every 10 ms each burst of
 * examples/phases is written within about 80 ms, before the next one (a
 * live trace shows it), so the 17 events are in three blocks. */
Test(trace_size, held_events_are_written_within_eight_ticks)
{
    const char *argv[] = {"phases", NULL};
    const char *env[] = {"MTRACE_SAMPLE=all", "MTRACE_FLUSH_MS=10", NULL};
    free(e2e_traced_info("bounded", argv, env, NULL));
    long long blocks, events;
    thread_blocks("bounded", &blocks, &events);
    cr_expect_eq(events, 17, "%lld events of the program", events);
    cr_expect_eq(blocks, 3, "%lld blocks of the program's events", blocks);
}
