/* Tests for preload/ring.c: order, drops when full, the half-full wake. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "internal.h"

mt__options_t mt__opt;

static mt__ring_t make_ring(uint32_t cap)
{
    mt__ring_t r = {0};
    r.mask = cap - 1;
    r.slots = calloc(cap, sizeof(mt_event_t));
    return r;
}

static mt_event_t ev(uint64_t ts)
{
    mt_event_t e = {0};
    e.ts = ts;
    e.type = MT_EV_FREE;
    return e;
}

Test(ring, keeps_order_and_refuses_when_full)
{
    mt__ring_t r = make_ring(8);
    int half, wakes = 0, refused = 0;
    for (uint64_t i = 0; i < 10; i++) {
        mt_event_t e = ev(i);
        refused += !mt__ring_push(&r, &e, &half);
        wakes += half;
    }
    cr_assert_eq(refused, 2, "the 9th and 10th events find the ring full");
    cr_assert_eq(wakes, 1, "one wake when the ring first reaches half");
    cr_assert_eq(mt__ring_readable(&r), 8);
    for (uint64_t i = 0; i < 8; i++)
        cr_assert_eq(mt__ring_at(&r, i)->ts, i);
    mt__ring_consume(&r, 5);
    cr_assert_eq(mt__ring_readable(&r), 3);
    cr_assert_eq(mt__ring_at(&r, 0)->ts, 5);
    free(r.slots);
}

Test(ring, wraps_and_rearms_the_wake)
{
    mt__ring_t r = make_ring(4);
    int half, wakes = 0;
    for (uint64_t round = 0; round < 3; round++) {
        for (uint64_t i = 0; i < 3; i++) {
            mt_event_t e = ev(round * 10 + i);
            cr_assert_eq(mt__ring_push(&r, &e, &half), 1);
            wakes += half;
        }
        cr_assert_eq(mt__ring_at(&r, 2)->ts, round * 10 + 2);
        mt__ring_consume(&r, 3);
    }
    cr_assert_eq(wakes, 3, "each refill past half wakes the writer once");
}

Test(ring, reserve_and_commit_write_in_place)
{
    mt__ring_t r = make_ring(4);
    for (uint64_t i = 0; i < 4; i++) {
        mt_event_t *slot = mt__ring_reserve(&r);
        cr_assert_eq(slot, &r.slots[i], "the next slot itself");
        *slot = ev(100 + i);
        cr_assert_eq(mt__ring_readable(&r), i, "not readable before the commit");
        cr_assert_eq(mt__ring_commit(&r), i == 1, "one wake, when the ring reaches half");
    }
    cr_assert_null(mt__ring_reserve(&r), "full: no slot");
    cr_assert_eq(mt__ring_at(&r, 3)->ts, 103);
    mt__ring_consume(&r, 3);
    mt_event_t *slot = mt__ring_reserve(&r);
    cr_assert_eq(slot, &r.slots[0], "the consumer's progress is seen when the ring looked full");
    *slot = ev(104);
    cr_assert_eq(mt__ring_commit(&r), 0, "half full again, but the wake was re-armed only below half");
    cr_assert_eq(mt__ring_readable(&r), 2);
    cr_assert_eq(mt__ring_at(&r, 1)->ts, 104);
    free(r.slots);
}
