/* test-objects.c - the NUMA object model (format/objects.h): the exact
 * steps each event makes, against a small table standing in for the
 * placement poller's and the analyzer's. */
#include <criterion/criterion.h>

#include "format.h"

#define R MT_OBJ_REGION

/* A tiny table of live objects: key -> size. */
typedef struct table {
    uint64_t key[8], size[8];
    int n;
} table_t;

static bool live(void *ctx, uint64_t key, uint64_t *size)
{
    table_t *t = ctx;
    for (int i = 0; i < t->n; i++)
        if (t->key[i] == key) {
            *size = t->size[i];
            return true;
        }
    return false;
}

static mt_event_t ev(uint8_t type, uint64_t ptr, uint64_t size, uint64_t old)
{
    mt_event_t e = {0};
    e.type = type;
    e.ptr = ptr;
    e.size = size;
    e.arg[0] = old;
    return e;
}

static void expect_step(const mt_obj_step_t *s, uint8_t op, uint64_t key, uint64_t size,
                        uint64_t from)
{
    cr_expect_eq(s->op, op, "op %d, want %d", s->op, op);
    cr_expect_eq(s->key, key, "key %#lx, want %#lx", (unsigned long)s->key, (unsigned long)key);
    cr_expect_eq(s->size, size, "size %lu, want %lu", (unsigned long)s->size, (unsigned long)size);
    cr_expect_eq(s->from, from, "from %#lx, want %#lx", (unsigned long)s->from, (unsigned long)from);
}

Test(objects, alloc_starts_a_block_and_replaces_an_unfreed_one)
{
    table_t t = {.n = 0};
    mt_obj_step_t s[MT_OBJ_MAX_STEPS];
    mt_event_t e = ev(MT_EV_ALLOC, 0x1000, 64, 0);
    cr_assert_eq(mt_obj_steps(&e, live, &t, s), 1);
    expect_step(&s[0], MT_OBJ_BEGIN, 0x1000, 64, 0);
    t = (table_t){{0x1000}, {32}, 1};
    cr_assert_eq(mt_obj_steps(&e, live, &t, s), 2);
    expect_step(&s[0], MT_OBJ_END, 0x1000, 0, 0);
    expect_step(&s[1], MT_OBJ_BEGIN, 0x1000, 64, 0);
    e.ptr = 0;
    cr_expect_eq(mt_obj_steps(&e, live, &t, s), 0, "a NULL block is no object");
}

Test(objects, a_block_at_a_regions_start_is_the_region)
{
    table_t t = {{0x4000 | R}, {1 << 20}, 1};
    mt_obj_step_t s[MT_OBJ_MAX_STEPS];
    mt_event_t e = ev(MT_EV_ALLOC, 0x4000, 4096, 0);
    cr_expect_eq(mt_obj_steps(&e, live, &t, s), 0);
    e.ptr = 0x4010; /* inside, not at the start: a block of its own */
    cr_assert_eq(mt_obj_steps(&e, live, &t, s), 1);
    expect_step(&s[0], MT_OBJ_BEGIN, 0x4010, 4096, 0);
}

Test(objects, free_ends_only_a_live_block)
{
    table_t t = {{0x1000}, {64}, 1};
    mt_obj_step_t s[MT_OBJ_MAX_STEPS];
    mt_event_t e = ev(MT_EV_FREE, 0x1000, 0, 0);
    cr_assert_eq(mt_obj_steps(&e, live, &t, s), 1);
    expect_step(&s[0], MT_OBJ_END, 0x1000, 0, 0);
    e.ptr = 0x2000;
    cr_expect_eq(mt_obj_steps(&e, live, &t, s), 0);
}

Test(objects, mmap_starts_a_region_over_what_started_there)
{
    table_t t = {{0x8000, 0x8000 | R}, {16, 8192}, 2};
    mt_obj_step_t s[MT_OBJ_MAX_STEPS];
    mt_event_t e = ev(MT_EV_MMAP, 0x8000, 1 << 20, 0);
    cr_assert_eq(mt_obj_steps(&e, live, &t, s), 3);
    expect_step(&s[0], MT_OBJ_END, 0x8000, 0, 0);
    expect_step(&s[1], MT_OBJ_END, 0x8000 | R, 0, 0);
    expect_step(&s[2], MT_OBJ_BEGIN, 0x8000 | R, 1 << 20, 0);
    e.size = 0;
    cr_expect_eq(mt_obj_steps(&e, live, &t, s), 0);
}

Test(objects, munmap_of_the_head_trims_the_region)
{
    table_t t = {{0x10000 | R}, {0x10000}, 1};
    mt_obj_step_t s[MT_OBJ_MAX_STEPS];
    mt_event_t e = ev(MT_EV_MUNMAP, 0x10000, 0x4000, 0);
    cr_assert_eq(mt_obj_steps(&e, live, &t, s), 2);
    expect_step(&s[0], MT_OBJ_END, 0x10000 | R, 0, 0);
    expect_step(&s[1], MT_OBJ_BEGIN, 0x14000 | R, 0xc000, 0x10000 | R);
    e.size = 0x10000; /* all of it */
    cr_assert_eq(mt_obj_steps(&e, live, &t, s), 1);
    expect_step(&s[0], MT_OBJ_END, 0x10000 | R, 0, 0);
    e.ptr = 0x18000; /* the middle: the kernel's answers show it, not a step */
    cr_expect_eq(mt_obj_steps(&e, live, &t, s), 0);
}

Test(objects, mremap_moves_the_region)
{
    table_t t = {{0x20000 | R}, {0x2000}, 1};
    mt_obj_step_t s[MT_OBJ_MAX_STEPS];
    mt_event_t e = ev(MT_EV_MREMAP, 0x90000, 0x8000, 0x20000);
    cr_assert_eq(mt_obj_steps(&e, live, &t, s), 2);
    expect_step(&s[0], MT_OBJ_END, 0x20000 | R, 0, 0);
    expect_step(&s[1], MT_OBJ_BEGIN, 0x90000 | R, 0x8000, 0x20000 | R);
    t.n = 0; /* an mremap of a mapping never seen: a new region */
    cr_assert_eq(mt_obj_steps(&e, live, &t, s), 1);
    expect_step(&s[0], MT_OBJ_BEGIN, 0x90000 | R, 0x8000, 0);
}

Test(objects, other_events_make_no_steps)
{
    table_t t = {.n = 0};
    mt_obj_step_t s[MT_OBJ_MAX_STEPS];
    mt_event_t e = ev(MT_EV_PLACEMENT, 0x1000, 4096, 0);
    cr_expect_eq(mt_obj_steps(&e, live, &t, s), 0);
}
