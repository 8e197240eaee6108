/* Tests for preload/stacks.c: dedup, dense ids, publication order, threads. */
#include <criterion/criterion.h>
#include <pthread.h>

#include "internal.h"

mt__options_t mt__opt;

Test(stacks, same_stack_same_id_dense_ids)
{
    cr_assert_eq(mt__stacks_setup(), 0);
    uint64_t a[] = {0x401000, 0x401100, 0x401200};
    uint64_t b[] = {0x401000, 0x401100};
    uint64_t c[] = {0x500000};
    cr_assert_eq(mt__stack_intern(a, 3), 1);
    cr_assert_eq(mt__stack_intern(b, 2), 2);
    cr_assert_eq(mt__stack_intern(a, 3), 1);
    cr_assert_eq(mt__stack_intern(c, 1), 3);

    uint32_t cursor = 0, n;
    const uint64_t *pcs;
    cr_assert_eq(mt__stack_next_ready(&cursor, &pcs, &n), 1);
    cr_assert_eq(n, 3);
    cr_assert_eq(pcs[2], 0x401200);
    cr_assert_eq(mt__stack_next_ready(&cursor, &pcs, &n), 2);
    cr_assert_eq(n, 2);
    cr_assert_eq(mt__stack_next_ready(&cursor, &pcs, &n), 3);
    cr_assert_eq(pcs[0], 0x500000);
    cr_assert_eq(mt__stack_next_ready(&cursor, &pcs, &n), 0, "no more stacks");
}

static void *intern_many(void *arg)
{
    uintptr_t salt = (uintptr_t)arg;
    for (uint64_t i = 0; i < 5000; i++) {
        uint64_t pcs[2] = {0x1000 + i, 0x2000 + (i % 7)};
        uint32_t id = mt__stack_intern(pcs, 2);
        cr_assert_neq(id, 0);
        (void)salt;
    }
    return NULL;
}

Test(stacks, concurrent_interning_gives_one_id_per_stack)
{
    cr_assert_eq(mt__stacks_setup(), 0);
    pthread_t th[4];
    for (uintptr_t i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, intern_many, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    uint32_t cursor = 0, n, count = 0;
    const uint64_t *pcs;
    while (mt__stack_next_ready(&cursor, &pcs, &n))
        count++;
    cr_assert_eq(count, 5000, "5000 distinct stacks from 4 threads, each stored once");
    cr_assert_eq(mt__stacks_lost, 0);
}
