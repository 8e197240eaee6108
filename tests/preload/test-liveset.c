/* Tests for preload/liveset.c: the direct-mapped check, the per-slot
 * overflow counts, and every-call mode. */
#include <criterion/criterion.h>

#include "internal.h"

mt__options_t mt__opt;

static uintptr_t word_of(uintptr_t p)
{
    return *mt__live_word(p);
}

Test(liveset, insert_check_remove)
{
    mt__opt.sample = 512 << 10;
    cr_assert_eq(mt__liveset_setup(), 0);
    cr_assert_eq(mt__record_all_frees, 0);
    uintptr_t p = 0x7f0000001230;
    cr_assert_eq(mt__free_maybe_sampled(p), 0);
    mt__liveset_insert(p);
    cr_assert_eq(mt__free_maybe_sampled(p), 1);
    cr_assert_eq(mt__free_maybe_sampled(p + 16), 0, "a neighbour is not a sample");
    cr_assert_eq(mt__liveset_remove(p), 1);
    cr_assert_eq(mt__liveset_remove(p), 0, "a pointer is removed once");
    cr_assert_eq(mt__free_maybe_sampled(p), 0);
}

Test(liveset, colliding_pointers_count_in_their_slot_only)
{
    mt__opt.sample = 512 << 10;
    cr_assert_eq(mt__liveset_setup(), 0);
    /* Same slot: addresses 512 KiB apart (2^16 slots of 8 bytes). */
    uintptr_t a = 0x10000010, b = a + (1u << 19), c = b + (1u << 19);
    uintptr_t elsewhere = a + 16;
    mt__liveset_insert(a);
    mt__liveset_insert(b);
    mt__liveset_insert(c);
    cr_assert_eq(word_of(a) >> MT__LIVE_COUNT_SHIFT, 2, "two samples overflowed from a's slot");
    cr_assert_eq(word_of(a) & ~MT__LIVE_COUNT_MASK, a);
    cr_assert_eq(mt__free_maybe_sampled(elsewhere), 0, "other slots stay on the fast path");
    cr_assert_eq(mt__free_maybe_sampled(a + (3u << 19)), 1, "this slot takes the slow path");
    cr_assert_eq(mt__liveset_remove(a + (3u << 19)), 0, "never inserted");
    cr_assert_eq(mt__liveset_remove(b), 1);
    cr_assert_eq(word_of(a) >> MT__LIVE_COUNT_SHIFT, 1);
    cr_assert_eq(mt__liveset_remove(a), 1);
    cr_assert_eq(word_of(a), (uintptr_t)1 << MT__LIVE_COUNT_SHIFT, "c still counted");
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
    mt__opt.sample = 512 << 10;
    cr_assert_eq(mt__liveset_setup(), 0);
    uintptr_t heap = 0x5000, pool = heap | ((uintptr_t)1 << 63);
    mt__liveset_insert(pool);
    cr_assert_eq(mt__free_maybe_sampled(pool), 1);
    /* The inline check sends a heap free of that address to the slow path
     * (the tag is in the top byte), which does not match it to the pool's. */
    cr_assert_eq(mt__liveset_remove(heap), 0);
    cr_assert_eq(mt__liveset_remove(pool), 1);
}

Test(liveset, every_call_mode_records_all_frees)
{
    mt__opt.sample = 0;
    cr_assert_eq(mt__liveset_setup(), 0);
    cr_assert_eq(mt__record_all_frees, 1);
    cr_assert_eq(mt__free_maybe_sampled(0x1234), 1);
    cr_assert_eq(mt__free_maybe_sampled(0x7f0000abcdef), 1);
}
