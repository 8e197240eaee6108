/* ring.c - per-thread single-producer single-consumer event ring.
 *
 * The owning thread pushes, the writer thread consumes. head and tail only
 * grow; head - tail is the fill. The producer never waits: a full ring drops
 * the event and counts it. The release store of head publishes the slot; the
 * release store of tail hands the slot back. The producer keeps the last
 * tail it read (seen_tail, never ahead of tail) and reads the consumer's
 * cache line again only when that one says the ring is full or half full
 * (mt__ring_reserve and mt__ring_commit, inline in internal.h).
 */
#include "internal.h"

int mt__ring_push(mt__ring_t *r, const mt_event_t *e, int *half)
{
    mt_event_t *slot = mt__ring_reserve(r);
    *half = 0;
    if (!slot)
        return 0;
    *slot = *e;
    *half = mt__ring_commit(r);
    return 1;
}

uint64_t mt__ring_readable(mt__ring_t *r)
{
    return __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) - r->tail;
}

const mt_event_t *mt__ring_at(mt__ring_t *r, uint64_t i)
{
    return &r->slots[(r->tail + i) & r->mask];
}

void mt__ring_consume(mt__ring_t *r, uint64_t n)
{
    __atomic_store_n(&r->tail, r->tail + n, __ATOMIC_RELEASE);
}

uint64_t mt__ring_run(const mt__ring_t *r, uint64_t i, uint64_t n)
{
    uint64_t room = (uint64_t)r->mask + 1 - ((r->tail + i) & r->mask);
    return n - i < room ? n - i : room;
}
