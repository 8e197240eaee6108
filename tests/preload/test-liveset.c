/* Tests for preload/liveset.c: the direct-mapped check and its overflow. */
#include <criterion/criterion.h>

#include "internal.h"

mt__options_t mt__opt;

Test(liveset, insert_check_remove)
{
    mt__opt.sample = 512 << 10;
    cr_assert_eq(mt__liveset_setup(), 0);
    cr_assert_eq(mt__record_all_frees, 0);
    uintptr_t p = 0x7f0000001230;
    cr_assert_eq(mt__free_maybe_sampled(p), 0);
    mt__liveset_insert(p);
    cr_assert_eq(mt__free_maybe_sampled(p), 1);
    cr_assert_eq(mt__liveset_remove(p), 1);
    cr_assert_eq(mt__liveset_remove(p), 0, "a pointer is removed once");
    cr_assert_eq(mt__free_maybe_sampled(p), 0);
}

Test(liveset, colliding_pointers_use_the_overflow)
{
    mt__opt.sample = 512 << 10;
    cr_assert_eq(mt__liveset_setup(), 0);
    /* Same slot: addresses 16 MiB apart (2^20 slots of 16 bytes). */
    uintptr_t a = 0x10000010, b = a + (1u << 24), c = b + (1u << 24);
    mt__liveset_insert(a);
    mt__liveset_insert(b);
    mt__liveset_insert(c);
    cr_assert_eq(mt__live_overflow, 2);
    cr_assert_eq(mt__liveset_remove(b), 1);
    cr_assert_eq(mt__live_overflow, 1);
    cr_assert_eq(mt__liveset_remove(a), 1);
    cr_assert_eq(mt__liveset_remove(c), 1);
    cr_assert_eq(mt__live_overflow, 0);
    cr_assert_eq(mt__liveset_remove(a + 16), 0, "never inserted");
    cr_assert_eq(mt__free_maybe_sampled(a), 0, "the check is negative again");
}

Test(liveset, every_call_mode_records_all_frees)
{
    mt__opt.sample = 0;
    cr_assert_eq(mt__liveset_setup(), 0);
    cr_assert_eq(mt__record_all_frees, 1);
    cr_assert_eq(mt__free_maybe_sampled(0x1234), 1);
}
