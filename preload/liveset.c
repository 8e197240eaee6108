/* liveset.c - which pointers are live samples, so free records only those.
 *
 * A direct-mapped table indexed by address bits 3-18, 2^16 words (512 KiB, so the
 * probe on every free stays in cache). A word holds a sampled pointer, and in
 * its bits 56-61 how many samples of this slot went to the overflow table
 * because the slot was taken. The common negative check on free, inlined in
 * the hooks (internal.h), is one load and two compares: the word is not the
 * pointer and counts no overflow. Only frees whose slot has overflow entries
 * probe the overflow table, so collisions cost those slots, not every free.
 * Pointers keep bits 0-55 and 63 (pool.c tags pool objects with bit 63).
 * When every free must be recorded (MTRACE_SAMPLE=all, or the overflow table
 * filled up), every word counts an overflow, so every free takes the slow
 * path, which records it (the analyzer ignores frees of unknown pointers).
 */
#include "internal.h"

#define OVERFLOW_BITS 16
#define OVERFLOW_PROBES 64
#define TOMBSTONE ((uintptr_t)1)
#define DIRECT_MASK ((1u << MT__LIVE_BITS) - 1)
#define COUNT_ONE ((uintptr_t)1 << MT__LIVE_COUNT_SHIFT)
#define COUNT_MAX ((MT__LIVE_COUNT_MASK >> MT__LIVE_COUNT_SHIFT) - 1)

uintptr_t mt__live_slots[1u << MT__LIVE_BITS];
int mt__record_all_frees;
static uintptr_t *overflow;

/* From now on every free is recorded: mark every slot. */
static void record_every_free(void)
{
    __atomic_store_n(&mt__record_all_frees, 1, __ATOMIC_RELAXED);
    for (uint32_t i = 0; i <= DIRECT_MASK; i++)
        __atomic_fetch_or(&mt__live_slots[i], MT__LIVE_COUNT_MASK, __ATOMIC_RELAXED);
}

int mt__liveset_setup(void)
{
    if (mt__opt.sample == 0) {
        record_every_free();
        return 0;
    }
    overflow = mt__sys_reserve(((size_t)1 << OVERFLOW_BITS) * sizeof(uintptr_t));
    return overflow ? 0 : -1;
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

void mt__liveset_insert(uintptr_t p)
{
    if (mt__record_all_frees)
        return;
    uintptr_t *word = mt__live_word(p);
    uintptr_t cur = __atomic_load_n(word, __ATOMIC_RELAXED);
    while ((cur & ~MT__LIVE_COUNT_MASK) == 0) {
        if (__atomic_compare_exchange_n(word, &cur, cur | p, 0, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
            return;
    }
    /* Taken: count an overflow entry in the word first, so that a free of P
     * that races with this insert already takes the slow path. */
    if ((cur & MT__LIVE_COUNT_MASK) >> MT__LIVE_COUNT_SHIFT >= COUNT_MAX) {
        record_every_free();
        return;
    }
    __atomic_fetch_add(word, COUNT_ONE, __ATOMIC_ACQ_REL);
    if (!overflow_insert(p)) {
        __atomic_fetch_sub(word, COUNT_ONE, __ATOMIC_RELAXED);
        record_every_free();
    }
}

void mt__liveset_mark_bootstrap(uintptr_t p)
{
    /* Bootstrap pointers are entered like samples; free's slow path drops them. */
    mt__liveset_insert(p);
}

int mt__liveset_remove(uintptr_t p)
{
    uintptr_t *word = mt__live_word(p);
    uintptr_t cur = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    while ((cur & ~MT__LIVE_COUNT_MASK) == p) {
        if (__atomic_compare_exchange_n(word, &cur, cur & MT__LIVE_COUNT_MASK, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return 1;
    }
    if (!(cur & MT__LIVE_COUNT_MASK) || mt__record_all_frees)
        return 0;
    if (!overflow_remove(p))
        return 0;
    __atomic_fetch_sub(word, COUNT_ONE, __ATOMIC_RELAXED);
    return 1;
}
