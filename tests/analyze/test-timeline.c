/* test-timeline.c - timeline.c on a trace written event by event
 * (tracegen.h): rows of 1 ms over 10 ms; mapped regions replaced by a
 * MAP_FIXED mmap, split by a munmap, moved by mremap; an event exactly at a
 * row's end counted in the next row; RSS as the last sample; the
 * fragmentation ratio; a pool's chunk found by the object inside it; the
 * default interval. Every number is exact.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "timeline.h"
#include "tracegen.h"

#define MS 1000000ull
#define K 1024ull

static char dir[256];

static mt_event_t ev(int type, uint64_t ts, uint64_t ptr, uint64_t size)
{
    mt_event_t e;
    memset(&e, 0, sizeof(e));
    e.type = (uint8_t)type;
    e.ts = ts;
    e.ptr = ptr;
    e.size = size;
    if (type == MT_EV_MMAP)
        e.arg[1] = (uint64_t)-1; /* fd */
    return e;
}

static mt_event_t remap(uint64_t ts, uint64_t old, uint64_t old_size, uint64_t ptr,
                        uint64_t size)
{
    mt_event_t e = ev(MT_EV_MREMAP, ts, ptr, size);
    e.arg[0] = old;
    e.arg[1] = old_size;
    return e;
}

static void write_trace(void)
{
    snprintf(dir, sizeof dir, "/tmp/mt-test-timeline.%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
    tg_open(dir, 0, 1000000000ull, 10 * MS);
    mt_event_t e[] = {
        ev(MT_EV_RSS, 200000, 0, 1024 * K),                 /* row 0: RSS 1 MiB */
        ev(MT_EV_MMAP, 500000, 0x10000, 256 * K),           /* row 0: 256 KiB mapped */
        ev(MT_EV_MMAP, 1500000, 0x20000, 64 * K),           /* row 1: over the middle: 256 KiB */
        ev(MT_EV_MUNMAP, 2500000, 0x30000, 64 * K),         /* row 2: a hole: 192 KiB */
        remap(3500000, 0x10000, 64 * K, 0x100000, 128 * K), /* row 3: 192 - 64 + 128 */
        ev(MT_EV_MUNMAP, 4500000, 0, 0x200000),             /* row 4: all gone */
        tg_alloc(5 * MS, 0x9000, 100, 1),                   /* at the end of row 4: row 5 */
        ev(MT_EV_RSS, 6200000, 0, 2048 * K),                /* row 6: RSS 2 MiB */
        ev(MT_EV_MMAP, 7 * MS, 0x400000, 64 * K),           /* row 7: a chunk */
        tg_pool_alloc(7500000, 0x400100, 1000, 1, 7),       /* inside it */
        tg_pool_free(8500000, 0x400100, 7),                 /* row 8 */
        ev(MT_EV_MUNMAP, 9500000, 0x400000, 64 * K),        /* row 9 */
    };
    tg_block(1, e, sizeof e / sizeof e[0]);
    uint64_t pcs[] = {0x1234};
    tg_stack(1, pcs, 1);
    tg_counter("malloc", 1, 100);
    tg_close(1);
}

static void remove_trace(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", dir);
}

TestSuite(timeline, .init = write_trace, .fini = remove_trace);

static void build(mt_timeline_t *tl, mt_session_t *s, uint64_t interval, int64_t pool)
{
    static char *paths[1];
    paths[0] = dir;
    cr_assert_eq(mt_session_open(s, 1, paths), 0);
    mt_timeline_options_t o = {.interval_ns = interval, .pool = pool};
    cr_assert_eq(mt_timeline_build(tl, s, &o), 0);
}

Test(timeline, rows_regions_rss_and_the_row_boundary)
{
    mt_session_t s;
    mt_timeline_t tl;
    build(&tl, &s, MS, MT_POOL_NONE);
    cr_assert_eq(tl.nrows, 10);
    cr_expect_eq(tl.interval_ns, MS);
    cr_expect_eq(tl.span_ns, 10 * MS);
    static const uint64_t mapped[10] = {256 * K, 256 * K, 192 * K, 256 * K, 0, 0, 0, 64 * K,
                                        64 * K, 0};
    static const uint64_t heap[10] = {0, 0, 0, 0, 0, 100, 100, 100, 100, 100};
    for (size_t k = 0; k < 10; k++) {
        const mt_tl_row_t *r = &tl.rows[k];
        cr_expect_eq(r->start_ns, k * MS);
        cr_expect_eq(r->end_ns, (k + 1) * MS);
        cr_expect_eq(r->mapped_bytes, mapped[k], "row %zu: mapped %llu, want %llu", k,
                     (unsigned long long)r->mapped_bytes, (unsigned long long)mapped[k]);
        cr_expect_eq(r->heap_bytes, heap[k], "row %zu: heap %llu", k,
                     (unsigned long long)r->heap_bytes);
        cr_expect_eq(r->heap_objects, heap[k] ? 1 : 0);
        cr_expect(r->rss_known);
        cr_expect_eq(r->rss, k < 6 ? 1024 * K : 2048 * K, "row %zu", k);
        cr_expect_eq(r->alloc_calls, k == 5 ? 1 : 0, "row %zu", k);
        cr_expect_eq(r->alloc_bytes, k == 5 ? 100 : 0);
        cr_expect_eq(r->heap_bytes_error, 0);
    }
    /* RSS / (heap + mapped) */
    cr_expect_float_eq(tl.rows[0].fragmentation, 4.0, 1e-12);
    cr_expect_float_eq(tl.rows[2].fragmentation, 1024.0 / 192, 1e-12);
    cr_expect_float_eq(tl.rows[8].fragmentation, 2048.0 * K / (64 * K + 100), 1e-12);
    cr_expect_eq(tl.rows[4].fragmentation, 0, "nothing live: no ratio");
    cr_expect_eq(tl.exact_alloc_calls, 1);
    cr_expect_eq(tl.exact_alloc_bytes, 100);
    cr_expect_not(tl.has_pool);
    mt_timeline_free(&tl);
    mt_session_close(&s);
}

Test(timeline, pool_chunk_is_the_region_holding_its_object)
{
    mt_session_t s;
    mt_timeline_t tl;
    build(&tl, &s, MS, 7);
    cr_assert_eq(tl.nrows, 10);
    cr_expect(tl.has_pool);
    static const uint64_t pool[10] = {0, 0, 0, 0, 0, 0, 0, 1000, 0, 0};
    static const uint64_t chunks[10] = {0, 0, 0, 0, 0, 0, 0, 64 * K, 64 * K, 0};
    for (size_t k = 0; k < 10; k++) {
        cr_expect_eq(tl.rows[k].pool_bytes, pool[k], "row %zu", k);
        cr_expect_eq(tl.rows[k].pool_chunk_bytes, chunks[k], "row %zu: %llu", k,
                     (unsigned long long)tl.rows[k].pool_chunk_bytes);
    }
    /* The heap pass ran last: the heap columns are there too. */
    cr_expect_eq(tl.rows[9].heap_bytes, 100);
    cr_expect_eq(s.rp.opt.pool, MT_POOL_NONE);
    mt_timeline_free(&tl);
    mt_session_close(&s);

    /* Another pool's objects make no chunk. */
    build(&tl, &s, MS, 8);
    for (size_t k = 0; k < 10; k++)
        cr_expect_eq(tl.rows[k].pool_chunk_bytes, 0);
    mt_timeline_free(&tl);
    mt_session_close(&s);
}

Test(timeline, default_interval_about_200_rows)
{
    mt_session_t s;
    mt_timeline_t tl;
    build(&tl, &s, 0, MT_POOL_NONE);
    /* 10 ms / 200 = 50 us, a whole number of microseconds. */
    cr_expect_eq(tl.interval_ns, 50000);
    cr_expect_eq(tl.nrows, 200);
    cr_expect_eq(tl.rows[199].end_ns, 10 * MS);
    mt_timeline_free(&tl);
    mt_session_close(&s);
}

Test(timeline, verdicts)
{
    cr_expect_str_eq(mt_tl_frag_verdict(0), "unknown");
    cr_expect_str_eq(mt_tl_frag_verdict(1.29), "good");
    cr_expect_str_eq(mt_tl_frag_verdict(1.3), "acceptable");
    cr_expect_str_eq(mt_tl_frag_verdict(1.5), "acceptable");
    cr_expect_str_eq(mt_tl_frag_verdict(1.51), "severe");
}
