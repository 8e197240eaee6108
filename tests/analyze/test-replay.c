/* test-replay.c - analyze/replay.c on traces written with the writer API:
 * exact per-stack numbers, weighted estimates, the multi-thread merge,
 * separate address spaces, growth, pools, filters and corrupt blocks. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "run.h"
#include "tracegen.h"

static char *tmp;
static char dir1[4200], dir2[4200];
static mt_reader_t *r1, *r2;
static mt_replay_t rp;

static void setup(void)
{
    tmp = mt_test_tmpdir();
    snprintf(dir1, sizeof(dir1), "%s/mtrace.gen.1", tmp);
    snprintf(dir2, sizeof(dir2), "%s/mtrace.gen.2", tmp);
    r1 = r2 = NULL;
    memset(&rp, 0, sizeof(rp));
}

static void teardown(void)
{
    if (rp.priv)
        mt_replay_free(&rp);
    if (r1)
        mt_reader_close(r1);
    if (r2)
        mt_reader_close(r2);
    mt_test_rmtree(tmp);
    free(tmp);
}

TestSuite(replay, .init = setup, .fini = teardown);

/* Replays DIR1 (and DIR2 when TWO) with OPT; returns mt_replay_run's result. */
static int replay(const mt_replay_options_t *opt, bool two)
{
    cr_assert_eq(mt_reader_open(&r1, dir1), 0);
    cr_assert_eq(mt_replay_init(&rp, opt), 0);
    cr_assert_eq(mt_replay_add(&rp, dir1, r1), 0);
    if (two) {
        cr_assert_eq(mt_reader_open(&r2, dir2), 0);
        cr_assert_eq(mt_replay_add(&rp, dir2, r2), 0);
    }
    return mt_replay_run(&rp);
}

static const mt_stack_stats_t *stack(uint32_t trace, uint32_t id)
{
    for (size_t i = 0; i < rp.nstacks; i++)
        if (rp.stacks[i].trace == trace && rp.stacks[i].id == id)
            return &rp.stacks[i];
    cr_assert_fail("no stack %u of trace %u", id, trace);
    return NULL;
}

/* Sequence number of the last block the reader lists, and how many it lists. */
static uint64_t last_block(mt_reader_t *r, uint64_t *count)
{
    uint64_t seq = 0, last = 0, n = 0;
    const void *d;
    size_t len;
    while (mt_reader_next_block(r, &seq, &d, &len) == 1)
        last = seq, n++;
    if (count)
        *count = n;
    return last;
}

#define B(bw) mt_bw_bytes(bw)
#define N(w) mt_w_objects(w)

Test(replay, exact_per_stack)
{
    tg_open(dir1, 0, 0, 100);
    mt_event_t ev[] = {
        tg_alloc(10, 0x1000, 100, 1),
        tg_alloc(20, 0x2000, 200, 1),
        tg_free(30, 0x2000),           /* last allocation of the thread: temporary */
        tg_alloc(40, 0x3000, 50, 2),
        tg_alloc(50, 0x4000, 1000, 2), /* peak: 1150 = s1 100 + s2 1050 */
        tg_free(60, 0x3000),           /* not the last allocation: not temporary */
        tg_free(70, 0xdead0),          /* never allocated: ignored */
        tg_alloc(80, 0x5000, 10, 1),
    };
    tg_block(1, ev, sizeof(ev) / sizeof(ev[0]));
    tg_close(1);
    cr_assert_eq(replay(NULL, false), 0);

    cr_expect_eq(rp.nstacks, 2);
    const mt_stack_stats_t *s1 = stack(0, 1), *s2 = stack(0, 2);
    cr_expect_eq(B(s1->alloc_bw), 310);
    cr_expect_eq(N(s1->alloc_w), 3);
    cr_expect_eq(B(s1->live_bw), 110);
    cr_expect_eq(N(s1->live_w), 2);
    cr_expect_eq(B(s1->peak_bw), 100);
    cr_expect_eq(N(s1->temp_w), 1);
    cr_expect_eq(s1->min_size, 10);
    cr_expect_eq(s1->max_size, 200);
    cr_expect_eq(B(s2->alloc_bw), 1050);
    cr_expect_eq(N(s2->alloc_w), 2);
    cr_expect_eq(B(s2->live_bw), 1000);
    cr_expect_eq(N(s2->live_w), 1);
    cr_expect_eq(B(s2->peak_bw), 1050);
    cr_expect_eq(N(s2->temp_w), 0);

    cr_expect_eq(B(rp.alloc_bw), 1360);
    cr_expect_eq(N(rp.alloc_w), 5);
    cr_expect_eq(B(rp.live_bw), 1110);
    cr_expect_eq(N(rp.live_w), 3);
    cr_expect_eq(B(rp.peak_bw), 1150);
    cr_expect_eq(rp.peak_ns, 50);
    cr_expect_eq(N(rp.temp_w), 1);
    cr_expect_eq(rp.frees, 2);
    cr_expect_eq(rp.unknown_frees, 1);
    cr_expect_eq(rp.events, 8);
    cr_expect(!rp.sampled);
    cr_expect(rp.complete);
}

Test(replay, weighted_estimates)
{
    tg_open(dir1, 524288, 0, 100);
    mt_event_t ev[] = {
        tg_alloc_w(10, 0x1000, 100, 1, 3 * MT_WEIGHT_ONE),  /* 3 objects, 300 bytes */
        tg_alloc_w(20, 0x2000, 1000, 1, 98304),             /* 1.5 objects, 1500 bytes */
        tg_alloc_w(30, 0x3000, 7, 2, 65536 * 1000 + 32767), /* 1000.49998 objects */
        tg_free(40, 0x1000),
    };
    tg_block(1, ev, 4);
    tg_close(1);
    cr_assert_eq(replay(NULL, false), 0);
    const mt_stack_stats_t *s1 = stack(0, 1), *s2 = stack(0, 2);
    cr_expect(s1->alloc_bw == (mt_u128)100 * 3 * MT_WEIGHT_ONE + (mt_u128)1000 * 98304);
    cr_expect_eq(s1->alloc_w, 3 * MT_WEIGHT_ONE + 98304);
    cr_expect_eq(B(s1->alloc_bw), 1800);
    cr_expect_eq(N(s1->alloc_w), 5); /* 4.5 rounds up */
    cr_expect_eq(B(s1->live_bw), 1500);
    cr_expect_eq(N(s1->live_w), 2);  /* 1.5 */
    cr_expect_eq(N(s2->alloc_w), 1000);
    cr_expect_eq(B(s2->alloc_bw), 7003); /* 7 * 1000.49998 = 7003.4999 */
    cr_expect(rp.sampled);
}

/* Variances of the same kind of trace (estimate.c): stack 1 has a sample of
 * 100 bytes at weight 3 (p = 1/3) and one of 1000 bytes at weight 1.5; the
 * first is freed. Per sample s^2 w (w - 1) bytes^2 and w (w - 1) objects^2:
 * 10000 * 6 + 1e6 * 0.75 = 810000 (sd 900 bytes), 6.75 objects^2. */
Test(replay, variances_of_estimates)
{
    tg_open(dir1, 524288, 0, 100);
    mt_event_t ev[] = {
        tg_alloc_w(10, 0x1000, 100, 1, 3 * MT_WEIGHT_ONE),
        tg_alloc_w(20, 0x2000, 1000, 1, 98304),
        tg_alloc(30, 0x3000, 7, 2), /* exact: no variance */
        tg_free(40, 0x1000),
        tg_alloc_w(50, 0x4000, 10, 3, 2 * MT_WEIGHT_ONE), /* temporary, w = 2 */
        tg_free(60, 0x4000),
    };
    tg_block(1, ev, 6);
    tg_close(1);
    cr_assert_eq(replay(NULL, false), 0);
    const mt_stack_stats_t *s1 = stack(0, 1), *s2 = stack(0, 2);
    mt_u128 one2 = (mt_u128)MT_WEIGHT_ONE * MT_WEIGHT_ONE;
    cr_expect(s1->alloc_var_bw == 810000 * one2);
    cr_expect(s1->alloc_var_w == 6 * one2 + (mt_u128)98304 * 32768);
    cr_expect_eq(mt_est_bound(s1->alloc_var_bw), 1764);
    cr_expect_eq(mt_est_bound(s1->alloc_var_w), 6);
    /* Live at the end: the 1000-byte sample only (sd 866 bytes). */
    cr_expect(s1->live_var_bw == 750000 * one2);
    cr_expect_eq(mt_est_bound(s1->live_var_bw), 1698);
    cr_expect_eq(mt_est_bound(s1->live_var_w), 2);
    /* Peak (t = 30, 1807 bytes): both samples of stack 1 were live. */
    cr_expect(s1->peak_var_bw == 810000 * one2);
    cr_expect(rp.peak_var_bw == 810000 * one2);
    cr_expect(rp.live_var_bw == 750000 * one2);
    cr_expect(s2->alloc_var_bw == 0 && s2->live_var_w == 0);
    cr_expect(s1->temp_var_w == 0, "the free at t=40 is not of the thread's last allocation");
    /* Temporary count of stack 3: one sample of weight 2, w (w - 1) = 2. */
    cr_expect(stack(0, 3)->temp_var_w == 2 * one2);
    cr_expect(rp.temp_var_w == 2 * one2);
    cr_expect_eq(mt_est_bound(rp.temp_var_w), 3);
}

/* Blocks of two threads stored out of time order; a pointer allocated by
 * thread 1 is freed by thread 2, once before it was allocated (ignored) and
 * once after. */
Test(replay, merge_threads_by_time)
{
    tg_open(dir1, 0, 0, 1000);
    mt_event_t t2[] = {tg_free(50, 0x1000), tg_free(150, 0x1000), tg_free(160, 0x2000)};
    mt_event_t t1a[] = {tg_alloc(10, 0x2000, 8, 1), tg_alloc(100, 0x1000, 64, 1)};
    mt_event_t t1b[] = {tg_alloc(155, 0x3000, 16, 2), tg_alloc(170, 0x2000, 32, 2)};
    tg_block(2, t2, 3);
    tg_block(1, t1a, 2);
    tg_block(1, t1b, 2);
    tg_close(1);
    cr_assert_eq(replay(NULL, false), 0);
    cr_expect_eq(rp.unknown_frees, 1);
    cr_expect_eq(rp.frees, 2);
    const mt_stack_stats_t *s1 = stack(0, 1), *s2 = stack(0, 2);
    cr_expect_eq(B(s1->live_bw), 0, "thread 2 freed both blocks of stack 1");
    cr_expect_eq(B(s2->live_bw), 48);
    cr_expect_eq(B(rp.peak_bw), 72, "peak 8 + 64 at t=100, before the frees");
    cr_expect_eq(rp.peak_ns, 100);
    cr_expect_eq(N(rp.temp_w), 0, "frees by another thread are not temporary");
    uint64_t listed;
    last_block(r1, &listed);
    cr_expect_eq(rp.traces[0].blocks, listed);
    cr_expect_eq(listed, 3);
}

Test(replay, realloc_in_place_replaces)
{
    tg_open(dir1, 0, 0, 100);
    mt_event_t ev[] = {tg_alloc(10, 0x1000, 100, 1), tg_alloc(20, 0x1000, 200, 2)};
    tg_block(1, ev, 2);
    tg_close(0);
    cr_assert_eq(replay(NULL, false), 0);
    cr_expect_eq(B(stack(0, 1)->live_bw), 0);
    cr_expect_eq(B(stack(0, 2)->live_bw), 200);
    cr_expect_eq(B(rp.live_bw), 200);
    cr_expect(!rp.complete);
}

/* A parent and a fork child: same pointer values and stack ids, separate
 * address spaces; the peak is taken on the merged timeline. */
Test(replay, two_traces)
{
    tg_open(dir1, 0, 1000000, 500);
    mt_event_t p[] = {tg_alloc(10, 0x1000, 100, 1), tg_free(300, 0x1000)};
    tg_block(1, p, 2);
    tg_close(1);
    tg_open(dir2, 0, 1000100, 500); /* starts 100 ns later */
    mt_event_t c[] = {tg_free(5, 0x1000), tg_alloc(50, 0x1000, 40, 1)};
    tg_block(1, c, 2);
    tg_close(1);
    cr_assert_eq(replay(NULL, true), 0);
    cr_expect_eq(rp.nstacks, 2);
    cr_expect_eq(B(stack(0, 1)->live_bw), 0);
    cr_expect_eq(B(stack(1, 1)->live_bw), 40);
    cr_expect_eq(rp.unknown_frees, 1, "the child cannot free the parent's block");
    cr_expect_eq(B(rp.peak_bw), 140);
    cr_expect_eq(rp.peak_ns, 150);
    cr_expect_eq(B(stack(0, 1)->peak_bw), 100);
    cr_expect_eq(B(stack(1, 1)->peak_bw), 40);
    cr_expect_eq(rp.traces[1].offset_ns, 100);
}

Test(replay, growth)
{
    tg_open(dir1, 0, 0, 1600);
    mt_event_t ev[17];
    for (int i = 0; i < 16; i++)
        ev[i] = tg_alloc(50 + 100 * (uint64_t)i, 0x1000 + 16 * (uint64_t)i, 10, 1);
    ev[16] = tg_alloc(1590, 0x9000, 5, 2);
    tg_block(1, ev, 17);
    mt_event_t once[] = {tg_alloc(1, 0x8000, 7, 3)};
    tg_block(2, once, 1);
    tg_close(1);
    mt_replay_options_t opt = {.pool = MT_POOL_NONE, .growth = true};
    cr_assert_eq(replay(&opt, false), 0);
    const mt_stack_stats_t *s1 = stack(0, 1), *s3 = stack(0, 3);
    for (int k = 0; k < MT_GROWTH_POINTS; k++)
        cr_expect_eq(s1->growth[k], 10 * (uint64_t)(k + 1), "point %d: %lu", k,
                     (unsigned long)s1->growth[k]);
    cr_expect_eq(s1->growth_steps, 15);
    cr_expect_eq(s3->growth_steps, 0);
    cr_expect_eq(s3->growth[0], 7);
    const mt_stack_stats_t *s2 = stack(0, 2);
    cr_expect_eq(s2->growth[14], 0);
    cr_expect_eq(s2->growth[15], 5);
    cr_expect_eq(s2->growth_steps, 1);
}

Test(replay, pools)
{
    tg_open(dir1, 0, 0, 100);
    mt_event_t ev[] = {
        tg_alloc(1, 0x100, 1000, 1),
        tg_pool_alloc(2, 0x1000, 64, 2, 7),
        tg_pool_alloc(3, 0x2000, 128, 3, 8),
        tg_pool_alloc(4, 0x3000, 64, 2, 7),
        tg_pool_free(5, 0x1000, 7),
    };
    tg_block(1, ev, 5);
    tg_close(1);

    cr_assert_eq(replay(NULL, false), 0);
    cr_expect_eq(B(rp.alloc_bw), 1000, "pool events are skipped without --pool");
    mt_replay_free(&rp);
    mt_reader_close(r1);

    mt_replay_options_t opt = {.pool = 7};
    cr_assert_eq(replay(&opt, false), 0);
    cr_expect_eq(B(rp.alloc_bw), 128);
    cr_expect_eq(B(rp.live_bw), 64);
    cr_expect_eq(rp.nstacks, 1);
    cr_expect_eq(N(rp.temp_w), 0);
    mt_replay_free(&rp);
    mt_reader_close(r1);

    opt.pool = MT_POOL_ALL;
    cr_assert_eq(replay(&opt, false), 0);
    cr_expect_eq(B(rp.alloc_bw), 256);
    cr_expect_eq(B(rp.live_bw), 192);
}

Test(replay, size_filter)
{
    tg_open(dir1, 0, 0, 100);
    mt_event_t ev[] = {tg_alloc(1, 0x100, 10, 1), tg_alloc(2, 0x200, 100, 1),
                       tg_alloc(3, 0x300, 1000, 1), tg_free(4, 0x100)};
    tg_block(1, ev, 4);
    tg_close(1);
    mt_replay_options_t opt = {.pool = MT_POOL_NONE, .min_size = 50, .max_size = 100};
    cr_assert_eq(replay(&opt, false), 0);
    cr_expect_eq(B(rp.alloc_bw), 100);
    cr_expect_eq(B(rp.live_bw), 100);
    cr_expect_eq(rp.unknown_frees, 1, "the free of a filtered-out block is unknown");
}

/* A bound counted from the end (serve's ?seconds=N: the last N seconds):
 * the window is [span - N, span), with the window semantics of --from. */
Test(replay, window_from_the_end)
{
    tg_open(dir1, 0, 0, 100);
    mt_event_t ev[] = {tg_alloc(10, 0x100, 1, 1), tg_alloc(20, 0x200, 2, 1),
                       tg_free(30, 0x100), tg_alloc(40, 0x300, 4, 2),
                       tg_free(50, 0x200), tg_alloc(60, 0x400, 8, 2),
                       tg_free(70, 0x300), tg_alloc(90, 0x500, 16, 2)};
    tg_block(1, ev, 8);
    tg_close(1);
    mt_replay_options_t opt = {.pool = MT_POOL_NONE,
                               .from = {.v = 45, .set = true, .from_end = true}};
    cr_assert_eq(replay(&opt, false), 0);
    cr_expect_eq(rp.span_ns, 100);
    cr_expect_eq(rp.win_from, 55);
    cr_expect_eq(rp.win_to, 100);
    cr_expect_eq(B(rp.alloc_bw), 8 + 16, "allocated in the last 45 ns: 0x400, 0x500");
    cr_expect_eq(B(rp.live_bw), 24);
    cr_expect_eq(B(stack(0, 2)->live_bw), 24);
    cr_expect_eq(rp.unknown_frees, 0, "the free at 70 of 0x300 (made before) is known");
    mt_replay_free(&rp);
    mt_reader_close(r1);

    /* More than the span: the whole timeline. */
    mt_replay_options_t all = {.pool = MT_POOL_NONE,
                               .from = {.v = 1000, .set = true, .from_end = true}};
    cr_assert_eq(replay(&all, false), 0);
    cr_expect_eq(rp.win_from, 0);
    cr_expect_eq(B(rp.alloc_bw), 1 + 2 + 4 + 8 + 16);
}

typedef struct live_acc {
    uint64_t bytes, n, stack2;
} live_acc_t;

static void count_live(void *ctx, uint32_t st, uint64_t ptr, uint64_t size, uint64_t w)
{
    live_acc_t *acc = ctx;
    (void)ptr;
    acc->bytes += size * (w / MT_WEIGHT_ONE);
    acc->n++;
    acc->stack2 += rp.stacks[st].id == 2;
}

Test(replay, live_iteration)
{
    tg_open(dir1, 0, 0, 100);
    mt_event_t ev[] = {tg_alloc(1, 0x100, 10, 1), tg_alloc(2, 0x200, 20, 2),
                       tg_alloc(3, 0x300, 30, 2), tg_free(4, 0x200)};
    tg_block(1, ev, 4);
    tg_close(1);
    cr_assert_eq(replay(NULL, false), 0);
    live_acc_t acc = {0, 0, 0};
    mt_replay_foreach_live(&rp, count_live, &acc);
    cr_expect_eq(acc.bytes, 40);
    cr_expect_eq(acc.n, 2);
    cr_expect_eq(acc.stack2, 1);
}

Test(replay, corrupt_block)
{
    tg_open(dir1, 0, 0, 100);
    mt_event_t ev[] = {tg_alloc(1, 0x100, 10, 1)};
    tg_block(1, ev, 1);
    /* version 1, 3 events, thread 1, base ts 5, then an unknown event type */
    static const uint8_t bad[] = {1, 3, 0, 0, 0, 1, 5, 0xee, 0, 0, 0, 0, 0, 0};
    tg_raw_block(bad, sizeof(bad));
    tg_close(1);
    cr_assert_eq(replay(NULL, false), MT_ECORRUPT);
    cr_expect_eq(rp.err_trace, 0);
    cr_expect_eq(rp.err_block, last_block(r1, NULL), "the bad block is the last one");
}

Test(replay, corrupt_header)
{
    tg_open(dir1, 0, 0, 100);
    static const uint8_t bad[] = {9, 0, 0};
    tg_raw_block(bad, sizeof(bad));
    tg_close(1);
    cr_assert_eq(replay(NULL, false), MT_ECORRUPT);
    cr_expect_eq(rp.err_block, last_block(r1, NULL));
    cr_expect_neq(rp.err_block, 0);
}

/* Regression: format/writer.c once stored a trace's first block under key 0,
 * which the reader never returns, and the first block's events were lost. */
Test(replay, first_block_is_replayed)
{
    tg_open(dir1, 0, 0, 100);
    mt_event_t ev[] = {tg_alloc(1, 0x100, 10, 1)};
    tg_block(1, ev, 1);
    tg_close(1);
    cr_assert_eq(replay(NULL, false), 0);
    cr_expect_eq(rp.events, 1, "the first block of the trace was not replayed");
}

/* Many live allocations and frees in a random order: the live table keeps
 * exact totals through growth and backward-shift deletion. */
Test(replay, live_table_stress)
{
    enum { N = 50000 };
    tg_open(dir1, 0, 0, 10 * N);
    mt_event_t *ev = calloc(2 * N, sizeof(*ev));
    cr_assert(ev);
    uint64_t ts = 1;
    for (uint64_t i = 0; i < N; i++)
        ev[i] = tg_alloc(ts++, 0x10000 + i * 16 * 7919 % (N * 16), 1 + i % 100, 1 + (uint32_t)(i % 7));
    size_t n = N;
    uint64_t freed_bytes = 0;
    for (uint64_t i = 0; i < N; i += 2) {
        ev[n++] = tg_free(ts++, ev[i].ptr);
        freed_bytes += ev[i].size;
    }
    uint64_t all = 0;
    for (uint64_t i = 0; i < N; i++)
        all += ev[i].size;
    for (size_t off = 0; off < n; off += 500)
        tg_block(1, ev + off, n - off < 500 ? n - off : 500);
    tg_close(1);
    cr_assert_eq(replay(NULL, false), 0);
    cr_expect_eq(B(rp.alloc_bw), all);
    cr_expect_eq(B(rp.live_bw), all - freed_bytes);
    cr_expect_eq(N(rp.live_w), N / 2);
    cr_expect_eq(rp.unknown_frees, 0);
    cr_expect_eq(rp.nstacks, 7);
    free(ev);
}

static void put_timed_module(uint64_t seq, const char *path, uint64_t base, uint64_t first,
                             uint64_t last)
{
    static mt_module_t m;
    memset(&m, 0, sizeof(m));
    m.seq = seq;
    m.base = m.lo = base;
    m.hi = base + 0x10000;
    m.first_ts = first;
    m.last_ts = last;
    snprintf(m.path, sizeof(m.path), "%s", path);
    tg_check(mt_writer_put_module(tg_w, &m), "put module");
}

/* One stack id (the same pcs) before and after a dlclose + dlopen put
 * another file at its address: two stats, each with its first event's
 * time, so each is symbolized with its own module. The same file reloaded
 * at the same place keeps one. */
Test(replay, stack_split_where_an_address_was_reused)
{
    const uint64_t at = 0x7f0000000000, pcs[] = {at + 0x1234, 0x401000};
    for (int same = 0; same < 2; same++) {
        snprintf(dir1, sizeof(dir1), "%s/mtrace.gen.reuse%d", tmp, same);
        tg_open(dir1, 0, 0, 3000);
        put_timed_module(0, "/nonexistent/liba.so", at, 100, 1000);
        put_timed_module(1, same ? "/nonexistent/liba.so" : "/nonexistent/libb.so", at, 1000, 0);
        tg_stack(1, pcs, 2);
        mt_event_t ev[] = {tg_alloc(500, 0x1000, 111, 1), tg_alloc(1500, 0x2000, 222, 1),
                           tg_alloc(1600, 0x3000, 333, 1)};
        tg_block(1, ev, 3);
        tg_close(1);
        cr_assert_eq(replay(NULL, false), 0);
        if (same) {
            cr_expect_eq(rp.nstacks, 1, "same file, same place: one stack");
            cr_expect_eq(rp.stacks[0].live_bw, (mt_u128)(111 + 222 + 333) * MT_WEIGHT_ONE);
        } else {
            cr_assert_eq(rp.nstacks, 2, "one stack per module mapped there");
            cr_expect_eq(rp.stacks[0].id, 1);
            cr_expect_eq(rp.stacks[0].ts, 500);
            cr_expect_eq(rp.stacks[0].live_bw, (mt_u128)111 * MT_WEIGHT_ONE);
            cr_expect_eq(rp.stacks[1].id, 1);
            cr_expect_eq(rp.stacks[1].ts, 1500);
            cr_expect_eq(rp.stacks[1].live_bw, (mt_u128)(222 + 333) * MT_WEIGHT_ONE);
        }
        mt_replay_free(&rp);
        mt_reader_close(r1);
        r1 = NULL;
    }
}

/* The window [from, to): only allocations made in it count; live means live
 * at `to`; frees of allocations made before it are known, not counted; the
 * peak is of the window's own allocations. */
static void window_trace(void)
{
    tg_open(dir1, 0, 0, 1000);
    mt_event_t ev[] = {
        tg_alloc(100, 0x1000, 1000, 1), /* before: start-up */
        tg_alloc(110, 0x9000, 77, 1),   /* before, never freed */
        tg_alloc(200, 0x2000, 10, 2),   /* in the window: freed in it */
        tg_free(300, 0x1000),           /* the start-up block: known, not counted */
        tg_free(310, 0x2000),
        tg_alloc(400, 0x3000, 20, 2),   /* in the window, freed after it: live at `to` */
        tg_alloc(450, 0x1000, 30, 3),   /* reuses the start-up address */
        tg_free(600, 0x3000),           /* after: not replayed */
        tg_alloc(700, 0x4000, 5000, 1), /* after */
    };
    tg_block(1, ev, sizeof(ev) / sizeof(ev[0]));
    tg_close(1);
}

static void window_live(void *ctx, uint32_t stack, uint64_t ptr, uint64_t size, uint64_t weight)
{
    uint64_t *n = ctx;
    (void)ptr, (void)weight;
    cr_assert_lt(stack, rp.nstacks);
    n[0]++;
    n[1] += size;
}

Test(replay, window_counts_only_its_allocations)
{
    window_trace();
    mt_replay_options_t opt = {.pool = MT_POOL_NONE, .growth = true,
                               .from = {150, false, true}, .to = {500, false, true}};
    cr_assert_eq(replay(&opt, false), 0);
    cr_expect(rp.windowed);
    cr_expect_eq(rp.win_from, 150);
    cr_expect_eq(rp.win_to, 500);
    cr_expect_eq(rp.span_ns, 1000);
    cr_expect_eq(B(rp.alloc_bw), 60);
    cr_expect_eq(N(rp.alloc_w), 3);
    cr_expect_eq(B(rp.live_bw), 50);
    cr_expect_eq(N(rp.live_w), 2);
    cr_expect_eq(B(rp.peak_bw), 50);
    cr_expect_eq(rp.peak_ns, 450);
    cr_expect_eq(rp.frees, 1, "only the free of a window allocation counts");
    cr_expect_eq(rp.unknown_frees, 0, "the start-up block's free is known");
    cr_expect_eq(N(rp.temp_w), 1);
    const mt_stack_stats_t *s2 = stack(0, 2), *s3 = stack(0, 3);
    cr_expect_eq(B(s2->alloc_bw), 30);
    cr_expect_eq(B(s2->live_bw), 20);
    cr_expect_eq(B(s3->live_bw), 30);
    cr_expect_eq(rp.nstacks, 2, "stack 1 allocated only outside the window");
    uint64_t live[2] = {0, 0};
    mt_replay_foreach_live(&rp, window_live, live);
    cr_expect_eq(live[0], 2, "the live blocks made in the window, not the start-up ones");
    cr_expect_eq(live[1], 50);
    /* Growth points are slices of the window: s2 is 10 until 310, 0 until 400. */
    cr_expect_eq(s2->growth[MT_GROWTH_POINTS - 1], 20);
    cr_expect_eq(s2->growth[3], 10); /* 150 + 350 * 4 / 16 = 237.5 */
}

Test(replay, window_in_percent_and_open_ends)
{
    window_trace();
    /* 45% of 1000 ns = 450: allocations at 450 and after, to the end. */
    mt_replay_options_t opt = {.pool = MT_POOL_NONE, .from = {450000, true, true}};
    cr_assert_eq(replay(&opt, false), 0);
    cr_expect_eq(rp.win_from, 450);
    cr_expect_eq(rp.win_to, 1000);
    cr_expect_eq(B(rp.alloc_bw), 5030);
    cr_expect_eq(B(rp.live_bw), 5030);
    cr_expect_eq(rp.unknown_frees, 0, "the free at 600 is of a block made before the window");
    cr_expect_eq(rp.frees, 0);
}

Test(replay, window_to_only)
{
    window_trace();
    mt_replay_options_t opt = {.pool = MT_POOL_NONE, .to = {200000, true, true}}; /* 20% */
    cr_assert_eq(replay(&opt, false), 0);
    cr_expect_eq(rp.win_from, 0);
    cr_expect_eq(rp.win_to, 200);
    cr_expect_eq(B(rp.alloc_bw), 1077, "the event at 200 is not before --to");
    cr_expect_eq(B(rp.live_bw), 1077);
}

Test(replay, window_empty_is_an_error)
{
    window_trace();
    mt_replay_options_t opt = {.pool = MT_POOL_NONE, .from = {800, false, true},
                               .to = {500000, true, true}};
    cr_expect_eq(replay(&opt, false), MT_EINVAL);
    cr_expect_eq(rp.win_from, 800);
    cr_expect_eq(rp.win_to, 500);
}

Test(replay, window_on_the_merged_timeline)
{
    /* The second trace starts 1000 ns after the first; times are from the first. */
    tg_open(dir1, 0, 5000, 2000);
    mt_event_t p[] = {tg_alloc(100, 0x1000, 1, 1), tg_alloc(1500, 0x2000, 2, 1)};
    tg_block(1, p, 2);
    tg_close(1);
    tg_open(dir2, 0, 6000, 1000);
    mt_event_t c[] = {tg_alloc(100, 0x1000, 4, 1), tg_alloc(900, 0x3000, 8, 1)};
    tg_block(1, c, 2);
    tg_close(1);
    mt_replay_options_t opt = {.pool = MT_POOL_NONE, .from = {1050, false, true},
                               .to = {1600, false, true}};
    cr_assert_eq(replay(&opt, true), 0);
    cr_expect_eq(B(rp.alloc_bw), 6, "1100 (child) and 1500 (parent)");
}
