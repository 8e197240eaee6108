/* liveset.c - which pointers are live samples, so free records only those.
 *
 * A direct-mapped table indexed by (ptr >> 4): the common negative check on
 * free is one load and one compare, inlined in the hook (internal.h). A
 * sample whose slot is taken goes to a small linearly probed overflow table,
 * counted in mt__live_overflow so that free probes it only when non-empty.
 * If even that fills, every free is recorded from then on (the analyzer
 * ignores frees of unknown pointers): correct, only slower.
 */

#include "internal.h"

#define OVERFLOW_BITS 16
#define OVERFLOW_PROBES 64
#define TOMBSTONE ((uintptr_t)1)
#define DIRECT_MASK ((1u << MT__LIVE_BITS) - 1)

uintptr_t mt__live_slots[1u << MT__LIVE_BITS]; /* 8 MiB of BSS, touched lazily */
uint64_t mt__live_overflow;
int mt__record_all_frees;
static uintptr_t *overflow;

int mt__liveset_setup(void)
{
    if (mt__opt.sample == 0) {
        mt__record_all_frees = 1;
        mt__live_overflow = 1; /* every free takes the slow check */
        return 0;
    }
    overflow = mt__sys_reserve(((size_t)1 << OVERFLOW_BITS) * sizeof(uintptr_t));
    return overflow ? 0 : -1;
}

static void record_every_free(void)
{
    __atomic_store_n(&mt__record_all_frees, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&mt__live_overflow, 1, __ATOMIC_RELAXED);
}

void mt__liveset_mark_bootstrap(uintptr_t p)
{
    /* The arena spans fewer than 2^20 slots of 16 bytes: no two of its
     * pointers share a slot, but a slot may hold an unrelated sample. */
    uintptr_t expect = 0;
    if (!__atomic_compare_exchange_n(&mt__live_slots[(p >> 4) & DIRECT_MASK], &expect, p, 0,
                                     __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        record_every_free();
}

static uint64_t overflow_home(uintptr_t p)
{
    return ((p >> 4) * 0x9E3779B97F4A7C15ull) >> (64 - OVERFLOW_BITS);
}

void mt__liveset_insert(uintptr_t p)
{
    if (mt__record_all_frees)
        return;
    uintptr_t expect = 0;
    if (__atomic_compare_exchange_n(&mt__live_slots[(p >> 4) & DIRECT_MASK], &expect, p, 0,
                                    __ATOMIC_RELEASE, __ATOMIC_RELAXED))
        return;
    uint64_t i = overflow_home(p);
    for (int probe = 0; probe < OVERFLOW_PROBES; probe++) {
        uintptr_t *slot = &overflow[(i + (uint64_t)probe) & ((1u << OVERFLOW_BITS) - 1)];
        uintptr_t cur = __atomic_load_n(slot, __ATOMIC_RELAXED);
        if ((cur == 0 || cur == TOMBSTONE) &&
            __atomic_compare_exchange_n(slot, &cur, p, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
            __atomic_fetch_add(&mt__live_overflow, 1, __ATOMIC_RELAXED);
            return;
        }
    }
    record_every_free();
}

int mt__liveset_remove(uintptr_t p)
{
    uintptr_t expect = p;
    if (__atomic_compare_exchange_n(&mt__live_slots[(p >> 4) & DIRECT_MASK], &expect, 0, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return 1;
    if (!overflow || __atomic_load_n(&mt__live_overflow, __ATOMIC_RELAXED) == 0)
        return 0;
    uint64_t i = overflow_home(p);
    for (int probe = 0; probe < OVERFLOW_PROBES; probe++) {
        uintptr_t *slot = &overflow[(i + (uint64_t)probe) & ((1u << OVERFLOW_BITS) - 1)];
        uintptr_t cur = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
        if (cur == 0)
            return 0;
        if (cur == p && __atomic_compare_exchange_n(slot, &cur, TOMBSTONE, 0, __ATOMIC_ACQ_REL,
                                                    __ATOMIC_RELAXED)) {
            __atomic_fetch_sub(&mt__live_overflow, 1, __ATOMIC_RELAXED);
            return 1;
        }
    }
    return 0;
}
