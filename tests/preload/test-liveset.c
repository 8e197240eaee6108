/* Tests for preload/liveset.c: the filter that free checks inline (its size
 * follows the live samples, a sample is never missed, saturated counts
 * stay), the exact set behind it (per-slot overflow counts), and
 * every-call mode. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>

#include "internal.h"

mt__options_t mt__opt;

static uintptr_t word_of(uintptr_t p)
{
    return *mt__live_word(p);
}

static void setup_sampled(void)
{
    mt__opt.sample = 512 << 10;
    cr_assert_eq(mt__liveset_setup(), 0);
    cr_assert_eq(mt__record_all_frees, 0);
    cr_assert_eq(mt__liveset_filter_bits(), MT__FILTER_MIN_BITS);
}

/* Heap-like pointers: 16-byte aligned, 48 bytes apart. */
static uintptr_t heap_ptr(long i)
{
    return 0x55555555a010 + (uintptr_t)i * 48;
}

Test(liveset, insert_check_remove)
{
    setup_sampled();
    uintptr_t p = 0x7f0000001230;
    cr_assert_eq(mt__free_maybe_sampled(p), 0);
    mt__liveset_insert(p);
    cr_assert_eq(mt__free_maybe_sampled(p), 1);
    cr_assert_eq(mt__free_maybe_sampled(p + 16), 0, "a neighbour is not a sample");
    cr_assert_eq(mt__liveset_remove(p), 1);
    cr_assert_eq(mt__liveset_remove(p), 0, "a pointer is removed once");
    cr_assert_eq(mt__free_maybe_sampled(p), 0);
    for (int bits = MT__FILTER_MIN_BITS; bits <= MT__FILTER_MAX_BITS; bits += MT__FILTER_STEP)
        cr_assert_eq(mt__liveset_filter_count(p, bits), 0, "size 2^%d still counts p", bits);
}

/* The check uses the smallest of 2^10, 2^12, ... 2^18 buckets with 32 per
 * live sample: bigger as soon as a sample needs it, smaller only when four
 * times the samples would fit a smaller size. Every live sample is found at every step, and
 * when all are gone every count is 0 again. */
Test(liveset, filter_size_follows_the_live_samples)
{
    setup_sampled();
    enum { N = 5000 };
    static const struct {
        long live;
        int bits;
    } up[] = {{16, 10}, {32, 10}, {33, 12}, {128, 12}, {129, 14}, {512, 14}, {513, 16},
              {2048, 16}, {2049, 18}, {N, 18}},
      down[] = {{2049, 18}, {513, 18}, {512, 14}, {33, 14}, {32, 10}, {0, 10}};
    long live = 0;
    for (size_t s = 0; s < sizeof up / sizeof up[0]; s++) {
        while (live < up[s].live)
            mt__liveset_insert(heap_ptr(live++));
        cr_assert_eq(mt__liveset_filter_bits(), up[s].bits, "%ld live: 2^%d buckets, want 2^%d",
                     live, mt__liveset_filter_bits(), up[s].bits);
        for (long i = 0; i < live; i++)
            cr_assert_eq(mt__free_maybe_sampled(heap_ptr(i)), 1, "live sample %ld missed", i);
    }
    for (size_t s = 0; s < sizeof down / sizeof down[0]; s++) {
        while (live > down[s].live)
            cr_assert_eq(mt__liveset_remove(heap_ptr(--live)), 1);
        cr_assert_eq(mt__liveset_filter_bits(), down[s].bits, "%ld live: 2^%d buckets, want 2^%d",
                     live, mt__liveset_filter_bits(), down[s].bits);
        for (long i = 0; i < live; i++)
            cr_assert_eq(mt__free_maybe_sampled(heap_ptr(i)), 1, "live sample %ld missed", i);
    }
    for (long i = 0; i < N; i++)
        for (int bits = MT__FILTER_MIN_BITS; bits <= MT__FILTER_MAX_BITS; bits += MT__FILTER_STEP)
            cr_assert_eq(mt__liveset_filter_count(heap_ptr(i), bits), 0);
}

/* More live samples than the direct table has slots (2^14): the rest go to
 * the overflow table, every one is found and removed, and sampled mode
 * stays on (it falls back to recording every free only when both are full). */
Test(liveset, samples_beyond_the_direct_table_stay_exact)
{
    setup_sampled();
    enum { N = 40000 };
    for (long i = 0; i < N; i++)
        mt__liveset_insert(heap_ptr(i));
    cr_assert_eq(mt__record_all_frees, 0);
    cr_assert_eq(mt__liveset_filter_bits(), MT__FILTER_MAX_BITS);
    for (long i = 0; i < N; i++)
        cr_assert_eq(mt__free_maybe_sampled(heap_ptr(i)), 1, "live sample %ld missed", i);
    for (long i = 0; i < N; i++)
        cr_assert_eq(mt__liveset_remove(heap_ptr(i)), 1, "sample %ld not in the set", i);
    cr_assert_eq(mt__liveset_remove(heap_ptr(0)), 0);
    cr_assert_eq(mt__liveset_filter_bits(), MT__FILTER_MIN_BITS);
    for (uint32_t i = 0; i < (1u << MT__LIVE_BITS); i++)
        cr_assert_eq(mt__live_slots[i], 0, "slot %u left %#lx", i, (unsigned long)mt__live_slots[i]);
}

/* How many of N unsampled pointers FIRST, FIRST + STEP, ... the check sends
 * to the slow path. */
static long slow_frees(uintptr_t first, uintptr_t step, long n)
{
    long slow = 0;
    for (long i = 0; i < n; i++)
        slow += mt__free_maybe_sampled(first + (uintptr_t)i * step);
    return slow;
}

/* Under 2% of the frees of unsampled pointers take the slow path, for heap
 * and for page-aligned addresses (the hash uses all the bits), with the 36
 * samples bench_alloc keeps live at the default interval and with 4096. */
Test(liveset, unsampled_frees_take_the_fast_path)
{
    setup_sampled();
    long live = 0;
    for (int round = 0; round < 2; round++) {
        long want = round == 0 ? 36 : 4096;
        while (live < want)
            mt__liveset_insert(heap_ptr(live++ * 1000));
        long heap = slow_frees(0x55555555a020, 48, 100000);
        long pages = slow_frees(0x7f3a12340000, 4096, 100000);
        cr_log_info("%ld live samples, 2^%d buckets: %ld heap and %ld page frees of 100000 slow",
                    live, mt__liveset_filter_bits(), heap, pages);
        cr_expect_lt(heap, 2000, "%ld live: %ld of 100000 heap frees slow", live, heap);
        cr_expect_lt(pages, 2000, "%ld live: %ld of 100000 page frees slow", live, pages);
    }
}

/* Samples that hash to one bucket: its count stops at 255 and stays, so
 * removing some of them never makes the others look unsampled. */
Test(liveset, saturated_count_never_forgets_a_sample)
{
    setup_sampled();
    enum { SAME = 300 };
    static uintptr_t same[SAME];
    uintptr_t first = heap_ptr(0);
    uint64_t bucket = (first * MT__LIVE_HASH) >> (64 - MT__FILTER_MIN_BITS);
    int n = 0;
    for (uintptr_t p = first; n < SAME; p += 16)
        if ((p * MT__LIVE_HASH) >> (64 - MT__FILTER_MIN_BITS) == bucket)
            same[n++] = p;
    for (int i = 0; i < SAME; i++)
        mt__liveset_insert(same[i]);
    cr_assert_eq(mt__liveset_filter_count(first, MT__FILTER_MIN_BITS), 255);
    for (int i = 0; i < SAME - 1; i++)
        cr_assert_eq(mt__liveset_remove(same[i]), 1);
    cr_assert_eq(mt__liveset_filter_count(first, MT__FILTER_MIN_BITS), 255, "sticky");
    for (int bits = MT__FILTER_MIN_BITS; bits <= MT__FILTER_MAX_BITS; bits += MT__FILTER_STEP)
        cr_assert_geq(mt__liveset_filter_count(same[SAME - 1], bits), 1, "2^%d buckets", bits);
    cr_assert_eq(mt__free_maybe_sampled(same[SAME - 1]), 1);
    cr_assert_eq(mt__liveset_remove(same[SAME - 1]), 1);
}

Test(liveset, colliding_pointers_count_in_their_slot_only)
{
    setup_sampled();
    /* Same slot: addresses 512 KiB apart (a multiple of 2^14 slots of 8 bytes). */
    uintptr_t a = 0x10000010, b = a + (1u << 19), c = b + (1u << 19);
    uintptr_t elsewhere = a + 16;
    mt__liveset_insert(a);
    mt__liveset_insert(b);
    mt__liveset_insert(c);
    cr_assert_eq(word_of(a) >> MT__LIVE_COUNT_SHIFT, 2, "two samples overflowed from a's slot");
    cr_assert_eq(word_of(a) & ~MT__LIVE_COUNT_MASK, a);
    cr_assert_eq(mt__free_maybe_sampled(elsewhere), 0, "other slots stay on the fast path");
    cr_assert_eq(mt__free_maybe_sampled(a + (3u << 19)), 0,
                 "a collision in the set costs other frees of its slot nothing");
    cr_assert_eq(mt__liveset_remove(a + (3u << 19)), 0, "never inserted");
    cr_assert_eq(mt__liveset_remove(b), 1);
    cr_assert_eq(word_of(a) >> MT__LIVE_COUNT_SHIFT, 1);
    cr_assert_eq(mt__liveset_remove(a), 1);
    cr_assert_eq(word_of(a), (uintptr_t)1 << MT__LIVE_COUNT_SHIFT, "c still counted");
    cr_assert_eq(mt__free_maybe_sampled(c), 1, "c is found");
    cr_assert_eq(mt__liveset_remove(c), 1);
    cr_assert_eq(word_of(a), 0);
    cr_assert_eq(mt__free_maybe_sampled(b), 0, "the check is negative again");
    /* a sample inserted into an empty word that still counts overflow */
    mt__liveset_insert(a);
    mt__liveset_insert(b);
    mt__liveset_remove(a);
    mt__liveset_insert(c);
    cr_assert_eq(word_of(c) & ~MT__LIVE_COUNT_MASK, c, "c took the free word");
    cr_assert_eq(mt__liveset_remove(b), 1);
    cr_assert_eq(mt__liveset_remove(c), 1);
    cr_assert_eq(word_of(a), 0);
}

Test(liveset, pool_tagged_pointers_keep_their_tag)
{
    setup_sampled();
    uintptr_t heap = 0x5000, pool = heap | ((uintptr_t)1 << 63);
    mt__liveset_insert(pool);
    cr_assert_eq(mt__free_maybe_sampled(pool), 1);
    cr_assert_eq(mt__free_maybe_sampled(heap), 0, "a heap free of that address is not the pool's");
    cr_assert_eq(mt__liveset_remove(heap), 0);
    cr_assert_eq(mt__liveset_remove(pool), 1);
}

Test(liveset, every_call_mode_records_all_frees)
{
    mt__opt.sample = 0;
    cr_assert_eq(mt__liveset_setup(), 0);
    cr_assert_eq(mt__record_all_frees, 1);
    cr_assert_eq(mt__liveset_filter_bits(), 0);
    cr_assert_eq(mt__free_maybe_sampled(0x1234), 1);
    cr_assert_eq(mt__free_maybe_sampled(0x7f0000abcdef), 1);
    cr_assert_eq(mt__free_maybe_sampled(0), 1);
}

/* Two threads: each keeps a batch of 3000 samples live (the filter grows
 * to its largest size), hands 2000 new samples one by one to the other,
 * which must find each with the check and remove it, then checks and
 * removes its batch (the filter shrinks while the other may still be
 * handing over), ten rounds. */
enum { ROUNDS = 10, BATCH = 3000, PER_ROUND = 2000 };
static uintptr_t mailbox[2];
static long missed[2];

static void *swap_samples(void *arg)
{
    int self = (int)(intptr_t)arg, other = !self;
    uintptr_t base = self ? 0x7f0000000010 : 0x560000000010;
    uintptr_t batch = base + 0x100000000ull;
    long sent = 0, got = 0;
    for (long round = 0; round < ROUNDS; round++) {
        for (long i = 0; i < BATCH; i++)
            mt__liveset_insert(batch + (uintptr_t)i * 32);
        long want = (round + 1) * PER_ROUND;
        while (sent < want || got < want) {
            int idle = 1;
            if (sent < want && __atomic_load_n(&mailbox[other], __ATOMIC_ACQUIRE) == 0) {
                uintptr_t p = base + (uintptr_t)sent * 16;
                mt__liveset_insert(p);
                __atomic_store_n(&mailbox[other], p, __ATOMIC_RELEASE);
                sent++;
                idle = 0;
            }
            uintptr_t q = __atomic_load_n(&mailbox[self], __ATOMIC_ACQUIRE);
            if (q) {
                missed[self] += !mt__free_maybe_sampled(q);
                missed[self] += !mt__liveset_remove(q);
                __atomic_store_n(&mailbox[self], 0, __ATOMIC_RELEASE);
                got++;
                idle = 0;
            }
            if (idle)
                sched_yield(); /* the other thread may not be running: a loaded machine */
        }
        for (long i = 0; i < BATCH; i++) {
            missed[self] += !mt__free_maybe_sampled(batch + (uintptr_t)i * 32);
            missed[self] += !mt__liveset_remove(batch + (uintptr_t)i * 32);
        }
    }
    return NULL;
}

Test(liveset, samples_freed_by_another_thread_are_never_missed, .timeout = 60)
{
    setup_sampled();
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&th[i], NULL, swap_samples, (void *)(intptr_t)i), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    cr_assert_eq(missed[0] + missed[1], 0, "%ld samples missed", missed[0] + missed[1]);
    cr_assert_eq(mt__liveset_filter_bits(), MT__FILTER_MIN_BITS);
}
