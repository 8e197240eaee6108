/* liveset.c - which pointers are live samples, so free records only those.
 *
 * Two layers. The filter, checked inline on every free (internal.h), is a
 * counting filter: one byte per bucket counts the live samples whose
 * address hashes there (multiplicative hash, top bits). A free whose bucket
 * counts 0 is certainly not of a sample: one load of a small table that
 * stays in cache. The filter is kept at five sizes at once, 2^10, 2^12, ...
 * 2^18 buckets (each sample counts in one byte of each), so that the check
 * can switch to the size that fits the number of live samples (32 to 128
 * buckets per sample: about 1-3% of unsampled frees take the slow path)
 * with one store and no copy, never losing a sample. A count that reaches
 * 255 stays there (only extra slow paths, never a missed free).
 * The exact set, probed only on the slow path: a direct-mapped table of
 * 2^14 words indexed by address bits 3-16 (128 KiB: few pages touched, in
 * L2 for the filter's false positives); a word holds a sampled pointer,
 * and in its bits 56-61 how many samples of this slot went to the overflow
 * table because the slot was taken. Pointers keep bits 0-55 and 63 (pool.c
 * tags pool objects with bit 63). When every free must be recorded
 * (MTRACE_SAMPLE=all, or the overflow table filled up), the check points at
 * a table of all ones: every free takes the slow path, which records it (the
 * analyzer ignores frees of unknown pointers).
 * Ordering: a sample is counted in the filter before it enters the set and
 * before its allocation returns; it leaves the filter after it left the set.
 */
#include "internal.h"

#define OVERFLOW_BITS 17
#define OVERFLOW_PROBES 64
#define TOMBSTONE ((uintptr_t)1)
#define COUNT_ONE ((uintptr_t)1 << MT__LIVE_COUNT_SHIFT)
#define COUNT_MAX ((MT__LIVE_COUNT_MASK >> MT__LIVE_COUNT_SHIFT) - 1)

#define FILTER_SLACK 64     /* bytes after a size's counters: its base carries the shift */
#define FILTER_PER_SAMPLE 5 /* at least 2^5 buckets per live sample */
#define FILTER_STICKY 255   /* a count that stays */
#define FILTER_BYTES (((size_t)0x55400 << (MT__FILTER_MIN_BITS - 10)) + 5 * FILTER_SLACK)
_Static_assert(MT__FILTER_MAX_BITS == MT__FILTER_MIN_BITS + 4 * MT__FILTER_STEP,
               "FILTER_BYTES counts five sizes: 1 + 4 + 16 + 64 + 256 KiB at 2^10");

uintptr_t mt__live_slots[1u << MT__LIVE_BITS];
int mt__record_all_frees;
static uintptr_t *overflow;

/* Every size of the filter, smallest first, each followed by FILTER_SLACK bytes. */
static unsigned char filter_mem[FILTER_BYTES] __attribute__((aligned(64)));
/* What the check reads when every free is recorded: ones at any index (0, 1). */
static unsigned char filter_all[2 * FILTER_SLACK] __attribute__((aligned(64))) = {
    [0 ... 2 * FILTER_SLACK - 1] = 0xff};
/* Alone on its cache line: read by every free, written on a resize. Until
 * setup every free takes the slow path. */
struct mt__live_filter mt__live_filter __attribute__((aligned(MT__CACHE_LINE))) = {
    filter_all + 63, {0}};
/* Live samples in the set; written by the sampled path only. */
static uint64_t live_count __attribute__((aligned(MT__CACHE_LINE)));

/* The counters of the size of 2^BITS buckets, offset by the shift that
 * mt__free_maybe_sampled reads from the low bits of the pointer. */
static unsigned char *filter_at(int bits)
{
    size_t off = 0;
    for (int b = MT__FILTER_MIN_BITS; b < bits; b += MT__FILTER_STEP)
        off += ((size_t)1 << b) + FILTER_SLACK;
    return filter_mem + off + (64 - bits);
}

static int filter_bits_of(const unsigned char *w)
{
    return 64 - (int)((uintptr_t)w & 63);
}

int mt__liveset_filter_bits(void)
{
    unsigned char *w = __atomic_load_n(&mt__live_filter.counts, __ATOMIC_RELAXED);
    return w == filter_all + 63 ? 0 : filter_bits_of(w);
}

unsigned mt__liveset_filter_count(uintptr_t p, int bits)
{
    return filter_at(bits)[(p * MT__LIVE_HASH) >> (64 - bits)];
}

/* The smallest size with 2^FILTER_PER_SAMPLE buckets per sample of N. */
static int filter_bits_for(uint64_t n)
{
    int bits = MT__FILTER_MIN_BITS;
    while (bits < MT__FILTER_MAX_BITS && ((uint64_t)1 << bits) < (n << FILTER_PER_SAMPLE))
        bits += MT__FILTER_STEP;
    return bits;
}

/* Points the check at the size that fits N live samples: bigger as soon as
 * N needs it, smaller only when 4 N would still fit (no flapping). Any size
 * is exact, so a lost race only leaves a size less fitting. */
static void filter_fit(uint64_t n)
{
    unsigned char *w = __atomic_load_n(&mt__live_filter.counts, __ATOMIC_RELAXED);
    if (w == filter_all + 63)
        return;
    int cur = filter_bits_of(w), want = filter_bits_for(n);
    if (want < cur && filter_bits_for(4 * n) >= cur)
        return;
    if (want != cur)
        __atomic_compare_exchange_n(&mt__live_filter.counts, &w, filter_at(want), 0,
                                    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* Adds DELTA (1 or -1) to P's count in every size of the filter. */
static void filter_count(uintptr_t p, int delta)
{
    uint64_t h = p * MT__LIVE_HASH;
    unsigned char *size = filter_mem;
    for (int bits = MT__FILTER_MIN_BITS; bits <= MT__FILTER_MAX_BITS; bits += MT__FILTER_STEP) {
        unsigned char *c = size + (64 - bits) + (h >> (64 - bits));
        size += ((size_t)1 << bits) + FILTER_SLACK;
        /* A guess, not a load: the first touch of a page is then the
         * locked write alone (one page fault, not a read fault and a
         * copy-on-write fault); a wrong guess only costs a retry. */
        unsigned char cur = delta > 0 ? 0 : 1;
        while (cur != FILTER_STICKY &&
               !__atomic_compare_exchange_n(c, &cur, (unsigned char)(cur + delta), 1,
                                            __ATOMIC_RELAXED, __ATOMIC_RELAXED))
            ;
    }
}

/* From now on every free is recorded. */
static void record_every_free(void)
{
    __atomic_store_n(&mt__record_all_frees, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&mt__live_filter.counts, filter_all + 63, __ATOMIC_RELEASE);
}

int mt__liveset_setup(void)
{
    if (mt__opt.sample == 0 || mt__record_all_frees) {
        record_every_free();
        return 0;
    }
    overflow = mt__sys_reserve(((size_t)1 << OVERFLOW_BITS) * sizeof(uintptr_t));
    if (!overflow)
        return -1;
    /* The bootstrap arena's blocks may already be in (bootstrap.c). */
    __atomic_store_n(&mt__live_filter.counts,
                     filter_at(filter_bits_for(__atomic_load_n(&live_count, __ATOMIC_RELAXED))),
                     __ATOMIC_RELEASE);
    return 0;
}

static uint64_t overflow_home(uintptr_t p)
{
    return ((p >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - OVERFLOW_BITS);
}

static int overflow_insert(uintptr_t p)
{
    if (!overflow)
        return 0;
    uint64_t i = overflow_home(p);
    for (int probe = 0; probe < OVERFLOW_PROBES; probe++) {
        uintptr_t *slot = &overflow[(i + (uint64_t)probe) & ((1u << OVERFLOW_BITS) - 1)];
        uintptr_t cur = __atomic_load_n(slot, __ATOMIC_RELAXED);
        if ((cur == 0 || cur == TOMBSTONE) &&
            __atomic_compare_exchange_n(slot, &cur, p, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            return 1;
    }
    return 0;
}

static int overflow_remove(uintptr_t p)
{
    if (!overflow)
        return 0;
    uint64_t i = overflow_home(p);
    for (int probe = 0; probe < OVERFLOW_PROBES; probe++) {
        uintptr_t *slot = &overflow[(i + (uint64_t)probe) & ((1u << OVERFLOW_BITS) - 1)];
        uintptr_t cur = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
        if (cur == 0)
            return 0;
        if (cur == p && __atomic_compare_exchange_n(slot, &cur, TOMBSTONE, 0, __ATOMIC_ACQ_REL,
                                                    __ATOMIC_RELAXED))
            return 1;
    }
    return 0;
}

/* Enters P in the exact set; 0 when it is full (every free is recorded from
 * then on). */
static int set_insert(uintptr_t p)
{
    uintptr_t *word = mt__live_word(p);
    uintptr_t cur = 0; /* a guess, as in filter_count */
    while ((cur & ~MT__LIVE_COUNT_MASK) == 0) {
        if (__atomic_compare_exchange_n(word, &cur, cur | p, 0, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
            return 1;
    }
    /* Taken: count an overflow entry in the word first, so that a remove of
     * P that races with this insert already looks in the overflow table. */
    if ((cur & MT__LIVE_COUNT_MASK) >> MT__LIVE_COUNT_SHIFT >= COUNT_MAX)
        return 0;
    __atomic_fetch_add(word, COUNT_ONE, __ATOMIC_ACQ_REL);
    if (overflow_insert(p))
        return 1;
    __atomic_fetch_sub(word, COUNT_ONE, __ATOMIC_RELAXED);
    return 0;
}

void mt__liveset_insert(uintptr_t p)
{
    if (mt__record_all_frees)
        return;
    filter_count(p, 1); /* first: the check must find P as soon as P is in the set */
    if (!set_insert(p)) {
        record_every_free();
        return;
    }
    filter_fit(__atomic_add_fetch(&live_count, 1, __ATOMIC_RELAXED));
}

void mt__liveset_mark_bootstrap(uintptr_t p)
{
    /* Bootstrap pointers are entered like samples; free's slow path drops them. */
    mt__liveset_insert(p);
}

static int set_remove(uintptr_t p)
{
    uintptr_t *word = mt__live_word(p);
    uintptr_t cur = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    while ((cur & ~MT__LIVE_COUNT_MASK) == p) {
        if (__atomic_compare_exchange_n(word, &cur, cur & MT__LIVE_COUNT_MASK, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return 1;
    }
    if (!(cur & MT__LIVE_COUNT_MASK) || !overflow_remove(p))
        return 0;
    __atomic_fetch_sub(word, COUNT_ONE, __ATOMIC_RELAXED);
    return 1;
}

int mt__liveset_remove(uintptr_t p)
{
    if (mt__record_all_frees || !set_remove(p))
        return 0;
    filter_count(p, -1); /* last: P left the set */
    filter_fit(__atomic_sub_fetch(&live_count, 1, __ATOMIC_RELAXED));
    return 1;
}
