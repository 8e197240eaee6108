/* ring.c - per-thread single-producer single-consumer event ring.
 *
 * The owning thread pushes, the writer thread consumes. head and tail only
 * grow; head - tail is the fill. The producer never waits: a full ring drops
 * the event and counts it. The release store of head publishes the slot; the
 * release store of tail hands the slot back.
 */
#include "internal.h"

int mt__ring_push(mt__ring_t *r, const mt_event_t *e, int *half)
{
    uint64_t head = r->head;
    uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    uint64_t cap = (uint64_t)r->mask + 1;
    *half = 0;
    if (head - tail >= cap)
        return 0;
    r->slots[head & r->mask] = *e;
    __atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
    if (head + 1 - tail >= cap / 2) {
        if (!r->wake_sent) {
            r->wake_sent = 1;
            *half = 1;
        }
    } else {
        r->wake_sent = 0;
    }
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
