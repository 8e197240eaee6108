/* test-predecode.c - analyze/predecode.c: blocks decoded on the second
 * thread give the events, and the error after them, that decoding them in
 * place gives; a block the replay takes before the thread comes to it is
 * left to the replay. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define NBLOCKS 40   /* 40,000 events: all of them fit ahead */
#define MANY 100     /* 100,000 events: more than MAX_AHEAD */
#define PER_BLOCK 1000

static uint8_t *blocks[MANY];
static size_t lens[MANY];

/* Block b: PER_BLOCK allocations and frees of thread b % 3; block DAMAGED
 * (unless -1) cut short in its middle. */
static void make_blocks(int nblocks, int damaged)
{
    size_t cap = MT_BLOCK_HEADER_MAX + (size_t)PER_BLOCK * MT_EVENT_MAX_ENCODED;
    for (int b = 0; b < nblocks; b++) {
        cr_assert_not_null(blocks[b] = malloc(cap));
        mt_block_encoder_t enc;
        mt_block_begin(&enc, blocks[b], cap, (uint32_t)(b % 3));
        for (int i = 0; i < PER_BLOCK; i++) {
            mt_event_t e;
            memset(&e, 0, sizeof(e));
            e.ts = (uint64_t)b * 100000 + (uint64_t)i * 10;
            e.type = i % 2 ? MT_EV_FREE : MT_EV_ALLOC;
            e.ptr = 0x10000 + (uint64_t)(i / 2) * 64;
            e.size = i % 2 ? 0 : 16 + (uint64_t)i;
            e.stack = i % 2 ? 0 : 1 + (uint32_t)(i % 7);
            e.arg[0] = i % 2 ? 0 : MT_WEIGHT_ONE;
            cr_assert_eq(mt_block_add(&enc, &e), 0);
        }
        lens[b] = mt_block_finish(&enc);
    }
    if (damaged >= 0)
        lens[damaged] /= 2;
}

/* What decoding block B in place gives: *N events into EV, then the end
 * (0) or an error. */
static int decode_here(int b, mt_event_t *ev, size_t *n)
{
    mt_block_decoder_t dec;
    *n = 0;
    int rc = mt_block_open(&dec, blocks[b], lens[b]);
    if (rc)
        return rc;
    while ((rc = mt_block_next(&dec, &ev[*n])) == 1)
        (*n)++;
    return rc;
}

static void wait_for(mt_predecode_t *pd, uint64_t n)
{
    for (int i = 0; i < 3000 && mt_predecode_count(pd) < n; i++)
        usleep(10000);
    cr_assert_eq(mt_predecode_count(pd), n);
}

Test(predecode, the_same_events_and_errors_as_decoding_in_place, .timeout = 60)
{
    make_blocks(NBLOCKS, 17);
    mt_predecode_t *pd = mt_predecode_new(NBLOCKS);
    cr_assert_not_null(pd);
    for (int b = 0; b < NBLOCKS; b++)
        mt_predecode_set(pd, (size_t)b, blocks[b], lens[b]);
    /* The replay takes block 5 first: the thread leaves it. */
    mt_predecoded_t out;
    cr_assert_eq(mt_predecode_take(pd, 5, &out), false);
    cr_assert_eq(mt_predecode_start(pd), 0);
    wait_for(pd, NBLOCKS - 1);
    static mt_event_t here[PER_BLOCK + 1];
    for (int b = 0; b < NBLOCKS; b++) {
        if (b == 5)
            continue;
        size_t n;
        int rc = decode_here(b, here, &n);
        cr_assert_eq(mt_predecode_take(pd, (size_t)b, &out), true, "block %d", b);
        cr_assert(out.opened);
        cr_assert_eq(out.n, n, "block %d: %zu events, not %zu", b, out.n, n);
        cr_assert_eq(out.rc, rc, "block %d", b);
        cr_assert_eq(memcmp(out.ev, here, n * sizeof(*here)), 0, "block %d", b);
        if (b == 17)
            cr_assert(rc < 0 && n < PER_BLOCK, "the damaged block: %d after %zu", rc, n);
        else
            cr_assert(rc == 0 && n == PER_BLOCK);
        mt_predecode_give_back(pd, &out);
        cr_assert_null(out.ev);
    }
    mt_predecode_free(pd);
    for (int b = 0; b < NBLOCKS; b++)
        free(blocks[b]);
}

/* The thread decodes at most MAX_AHEAD (65,536) events more than were
 * taken: of 100 blocks of 1000 events it decodes 66 (it stops once 66,000
 * wait), and one more when one is taken. */
Test(predecode, decodes_a_bounded_number_ahead, .timeout = 60)
{
    make_blocks(MANY, -1);
    mt_predecode_t *pd = mt_predecode_new(MANY);
    cr_assert_not_null(pd);
    for (int b = 0; b < MANY; b++)
        mt_predecode_set(pd, (size_t)b, blocks[b], lens[b]);
    cr_assert_eq(mt_predecode_start(pd), 0);
    wait_for(pd, 66);
    usleep(100000);
    cr_assert_eq(mt_predecode_count(pd), 66);
    mt_predecoded_t out;
    cr_assert_eq(mt_predecode_take(pd, 0, &out), true);
    cr_assert_eq(out.n, PER_BLOCK);
    free(out.ev);
    wait_for(pd, 67);
    mt_predecode_free(pd); /* with blocks not taken: freed */
    for (int b = 0; b < MANY; b++)
        free(blocks[b]);
}
