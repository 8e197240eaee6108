/* test-table.c - the shared hash table (common/table.c): lookups against a
 * reference array through growth and backward-shift deletes (also one probe
 * then an insertion or removal at its slot), colliding
 * compound keys told apart by EQ, and a caller-provided allocator. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

Test(table, empty_and_missing)
{
    mt_table_t t = {0};
    cr_assert_eq(mt_table_get(&t, 42), MT_TABLE_NONE);
    cr_assert_not(mt_table_del(&t, 42, 0));
    cr_assert_eq(mt_table_put(&t, 42, 7), 0);
    cr_assert_eq(t.bits, 10, "starts at 1024 slots");
    cr_assert_eq(mt_table_get(&t, 42), 7);
    cr_assert_eq(mt_table_get(&t, 43), MT_TABLE_NONE);
    cr_assert_eq(mt_table_put(&t, 1, MT_TABLE_NONE), EINVAL);
    mt_table_free(&t);
    cr_assert_eq(t.n, 0);
    cr_assert_eq(mt_table_get(&t, 42), MT_TABLE_NONE);
}

Test(table, grows_at_three_quarters)
{
    mt_table_t t = {0};
    for (uint32_t i = 0; i < 768; i++)
        cr_assert_eq(mt_table_put(&t, i, i), 0);
    cr_assert_eq(t.bits, 10, "768 of 1024 slots: no growth yet");
    cr_assert_eq(mt_table_put(&t, 768, 768), 0);
    cr_assert_eq(t.bits, 11, "the 769th entry doubles the table");
    for (uint32_t i = 0; i <= 768; i++)
        cr_assert_eq(mt_table_get(&t, i), i);
    mt_table_free(&t);
}

/* Keys chosen so that many share a home slot and probe chains wrap: every
 * delete must keep every other key reachable (backward shift). */
Test(table, deletes_keep_the_rest_reachable)
{
    enum { N = 20000 };
    static uint64_t keys[N];
    static bool present[N];
    mt_table_t t = {0};
    uint64_t x = 88172645463325252ull;
    for (uint32_t i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        keys[i] = i % 3 ? x : (uint64_t)i << 40; /* low bits zero */
    }
    size_t live = 0;
    for (int round = 0; round < 4; round++) {
        for (uint32_t i = 0; i < N; i++) {
            bool want = ((i * 2654435761u) >> (round + 3)) & 1;
            if (want && !present[i]) {
                cr_assert_eq(mt_table_put(&t, keys[i], i), 0);
                present[i] = true, live++;
            } else if (!want && present[i]) {
                cr_assert(mt_table_del(&t, keys[i], i));
                present[i] = false, live--;
            }
        }
        cr_assert_eq(t.n, live);
        for (uint32_t i = 0; i < N; i++)
            cr_assert_eq(mt_table_get(&t, keys[i]), present[i] ? i : MT_TABLE_NONE,
                         "round %d key %u", round, i);
    }
    mt_table_free(&t);
}

/* One probe, then an insertion or a removal at the slot it found: the same
 * table as mt_table_put / mt_table_del would make (through growth too). */
Test(table, probe_then_put_at_or_del_at)
{
    enum { N = 20000 };
    static uint64_t keys[N];
    static bool present[N];
    mt_table_t t = {0};
    size_t slot;
    cr_assert_not(mt_table_probe(&t, 5, &slot));
    cr_assert_eq(slot, MT_TABLE_NOSLOT, "no slots yet");
    cr_assert_eq(mt_table_put_at(&t, slot, 5, 0), 0);
    cr_assert(mt_table_probe(&t, 5, &slot));
    cr_assert_eq(mt_table_at(&t, slot), 0);
    mt_table_del_at(&t, slot);
    cr_assert_eq(t.n, 0);
    uint64_t x = 88172645463325252ull;
    for (uint32_t i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        keys[i] = i % 3 ? x : (uint64_t)i << 40; /* low bits zero: shared homes */
    }
    size_t live = 0;
    for (int round = 0; round < 4; round++) {
        for (uint32_t i = 0; i < N; i++) {
            bool want = ((i * 2654435761u) >> (round + 3)) & 1;
            bool found = mt_table_probe(&t, keys[i], &slot);
            cr_assert_eq(found, present[i], "round %d key %u", round, i);
            if (found)
                cr_assert_eq(mt_table_at(&t, slot), i);
            if (want && !found) {
                cr_assert_eq(mt_table_put_at(&t, slot, keys[i], i), 0);
                present[i] = true, live++;
            } else if (!want && found) {
                mt_table_del_at(&t, slot);
                present[i] = false, live--;
            }
        }
        cr_assert_eq(t.n, live);
        cr_assert_leq(t.n * 4, (size_t)3 << t.bits, "grown like mt_table_put");
        for (uint32_t i = 0; i < N; i++)
            cr_assert_eq(mt_table_get(&t, keys[i]), present[i] ? i : MT_TABLE_NONE,
                         "round %d key %u", round, i);
    }
    mt_table_free(&t);
}

typedef struct pair {
    uint64_t a, b;
} pair_t;

static const pair_t *pairs;
static bool pair_eq(const void *ctx, uint32_t v)
{
    const pair_t *want = ctx;
    return pairs[v].a == want->a && pairs[v].b == want->b;
}

Test(table, same_hash_told_apart_by_eq)
{
    static const pair_t p[3] = {{1, 2}, {3, 4}, {5, 6}};
    pairs = p;
    mt_table_t t = {0};
    for (uint32_t i = 0; i < 3; i++) /* one hash for all: the worst collision */
        cr_assert_eq(mt_table_put(&t, 99, i), 0);
    for (uint32_t i = 0; i < 3; i++)
        cr_assert_eq(mt_table_find(&t, 99, pair_eq, &p[i]), i);
    pair_t absent = {7, 8};
    cr_assert_eq(mt_table_find(&t, 99, pair_eq, &absent), MT_TABLE_NONE);
    cr_assert(mt_table_del(&t, 99, 1));
    cr_assert_not(mt_table_del(&t, 99, 1));
    cr_assert_eq(mt_table_find(&t, 99, pair_eq, &p[1]), MT_TABLE_NONE);
    cr_assert_eq(mt_table_find(&t, 99, pair_eq, &p[2]), 2);
    mt_table_free(&t);
}

Test(table, hashes)
{
    uint64_t a[2] = {1, 2}, b[2] = {2, 1};
    cr_assert_neq(mt_hash_words(a, 2), mt_hash_words(b, 2));
    cr_assert_neq(mt_hash_words(a, 1), mt_hash_words(a, 2));
    cr_assert_eq(mt_hash_bytes("abc", 3), mt_hash_bytes("abcd", 3));
    cr_assert_neq(mt_hash_bytes("abc", 3), mt_hash_bytes("abd", 3));
}

typedef struct counting {
    size_t live, calls;
    size_t fail_after; /* 0: never fail */
} counting_t;

static void *counting_realloc(void *ctx, void *p, size_t n)
{
    counting_t *c = ctx;
    if (!n) {
        if (p)
            c->live--;
        free(p);
        return NULL;
    }
    if (c->fail_after && ++c->calls > c->fail_after)
        return NULL;
    void *q = realloc(p, n);
    if (q && !p)
        c->live++;
    return q;
}

Test(table, uses_the_given_allocator_and_survives_its_failure)
{
    counting_t c = {0, 0, 0};
    mt_alloc_t a = {counting_realloc, &c};
    mt_table_t t = {.alloc = &a};
    for (uint32_t i = 0; i < 2000; i++)
        cr_assert_eq(mt_table_put(&t, i * 7919u, i), 0);
    cr_assert_eq(c.live, 2, "one key array, one value array");
    mt_table_free(&t);
    cr_assert_eq(c.live, 0);

    counting_t f = {0, 0, 3}; /* the first growth (2 calls) works, the second does not */
    mt_alloc_t fa = {counting_realloc, &f};
    mt_table_t u = {.alloc = &fa};
    uint32_t i = 0;
    while (mt_table_put(&u, i, i) == 0)
        i++;
    cr_assert_eq(i, 768, "full at 3/4 of 1024 slots");
    cr_assert_eq(u.n, 768);
    cr_assert_eq(mt_table_get(&u, 767), 767, "a failed growth leaves the table as it was");
    mt_table_free(&u);
    cr_assert_eq(f.live, 0, "the half-made arrays of the failed growth were freed");
}
