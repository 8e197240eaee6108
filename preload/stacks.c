/* stacks.c - lock-free stack dedup: identical stacks share one small id.
 *
 * An open-addressing table keyed by a 64-bit hash of the frames (internal.h:
 * computed outermost frame first, so that the unwinder extends the hash of
 * the frames its shadow stack kept). The thread whose CAS claims an empty
 * slot copies the frames into an append-only arena, takes the next id (1, 2,
 * ... so ids stay short in the varint encoding) and publishes it; a thread
 * that finds the hash already claimed waits a few spins for the id. The
 * writer walks ids in order and stores each stack once.
 * Two stacks whose 64-bit hashes collide would share an id (odds 2^-64).
 * The wait for another thread's id is long enough for a publisher that was
 * preempted on a loaded machine (it sleeps in 50 us steps, up to 1 s); only
 * a signal handler that interrupted this very thread's own publication
 * would wait for itself, so there it gives up after the spins.
 */
#include <string.h>

#include "internal.h"

#define SLOT_BITS 18
#define SLOTS (1u << SLOT_BITS)
#define ARENA_FRAMES (8u << 20) /* 64 MiB of frames, reserved lazily */
#define MAX_PROBES 64
#define ID_SPINS 4096
#define ID_SLEEPS 20000 /* of 50 us: a publisher preempted for up to 1 s */

typedef struct stack_slot {
    uint64_t hash; /* 0 = empty; claimed by CAS */
    uint32_t id;   /* 0 until published */
    uint32_t n;
    uint64_t off;  /* first frame in the arena */
    uint64_t pad;
} stack_slot_t;

static stack_slot_t *slots;
static uint64_t *arena;
static uint64_t arena_used;
static uint32_t *slot_of_id; /* id - 1 -> slot + 1, 0 until published */
static uint32_t ids_used;
uint64_t mt__stacks_lost;
uint32_t mt__stacks_epoch;
static MT__TLS int publishing; /* between this thread's claim and its id */

int mt__stacks_setup(void)
{
    slots = mt__sys_reserve(SLOTS * sizeof *slots);
    arena = mt__sys_reserve(ARENA_FRAMES * sizeof *arena);
    slot_of_id = mt__sys_reserve(SLOTS * sizeof *slot_of_id);
    if (!slots || !arena || !slot_of_id)
        return -1;
    return 0;
}

void mt__stacks_after_fork(void)
{
    /* The child writes a new trace: start from an empty table so that no
     * slot half-claimed by a thread that does not exist here can stall. */
    mt__sys_munmap(slots, SLOTS * sizeof *slots);
    mt__sys_munmap(arena, ARENA_FRAMES * sizeof *arena);
    mt__sys_munmap(slot_of_id, SLOTS * sizeof *slot_of_id);
    arena_used = 0;
    ids_used = 0;
    mt__stacks_lost = 0;
    __atomic_add_fetch(&mt__stacks_epoch, 1, __ATOMIC_RELAXED); /* ids kept by unwind.c are void */
    mt__stacks_setup();
}

static uint64_t hash_frames(const uint64_t *pcs, uint32_t n)
{
    uint64_t h = MT__STACK_HASH_SEED;
    for (uint32_t i = n; i-- > 0;)
        h = mt__stack_hash_step(h, pcs[i]);
    return mt__stack_hash_final(h, n);
}

/* The publisher is a few stores away from its id, unless it was preempted:
 * spin briefly, then sleep in short steps, bounded. */
static uint32_t wait_for_id(stack_slot_t *s)
{
    static const struct timespec step = {0, 50000};
    int sleeps = publishing ? 0 : ID_SLEEPS;
    for (int round = 0; round < ID_SPINS + sleeps; round++) {
        uint32_t id = __atomic_load_n(&s->id, __ATOMIC_ACQUIRE);
        if (id)
            return id;
        if (round < ID_SPINS)
            __builtin_ia32_pause();
        else
            mt__sys_futex_wait(&s->id, 0, &step);
    }
    return 0;
}

static uint32_t publish(stack_slot_t *s, uint32_t slot, const uint64_t *pcs, uint32_t n)
{
    uint64_t off = __atomic_fetch_add(&arena_used, n, __ATOMIC_RELAXED);
    if (off + n > ARENA_FRAMES)
        n = 0; /* arena full: the stack is kept, its frames are not */
    memcpy(arena + off, pcs, n * sizeof *pcs);
    s->n = n;
    s->off = off;
    uint32_t id = __atomic_fetch_add(&ids_used, 1, __ATOMIC_RELAXED) + 1;
    __atomic_store_n(&s->id, id, __ATOMIC_RELEASE);
    __atomic_store_n(&slot_of_id[id - 1], slot + 1, __ATOMIC_RELEASE);
    return id;
}

uint32_t mt__stack_lookup(uint64_t h)
{
    if (!slots)
        return 0;
    uint32_t i = (uint32_t)h & (SLOTS - 1);
    for (int probe = 0; probe < MAX_PROBES; probe++, i = (i + 1) & (SLOTS - 1)) {
        uint64_t cur = __atomic_load_n(&slots[i].hash, __ATOMIC_ACQUIRE);
        if (cur == h)
            return __atomic_load_n(&slots[i].id, __ATOMIC_ACQUIRE);
        if (cur == 0)
            return 0;
    }
    return 0;
}

uint32_t mt__stack_intern_hashed(uint64_t h, const uint64_t *pcs, uint32_t n)
{
    if (!slots)
        return 0;
    uint32_t i = (uint32_t)h & (SLOTS - 1);
    for (int probe = 0; probe < MAX_PROBES; probe++, i = (i + 1) & (SLOTS - 1)) {
        stack_slot_t *s = &slots[i];
        uint64_t cur = __atomic_load_n(&s->hash, __ATOMIC_ACQUIRE);
        if (cur == 0) {
            publishing++;
            if (__atomic_compare_exchange_n(&s->hash, &cur, h, 0, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE)) {
                uint32_t id = publish(s, i, pcs, n);
                publishing--;
                return id;
            }
            publishing--;
        }
        if (cur == h) {
            uint32_t id = wait_for_id(s);
            if (id)
                return id;
            break;
        }
    }
    __atomic_fetch_add(&mt__stacks_lost, 1, __ATOMIC_RELAXED);
    return 0;
}

uint32_t mt__stack_intern(const uint64_t *pcs, uint32_t n)
{
    return mt__stack_intern_hashed(hash_frames(pcs, n), pcs, n);
}

uint32_t mt__stack_next_ready(uint32_t *cursor, const uint64_t **pcs, uint32_t *n)
{
    if (!slots || *cursor >= __atomic_load_n(&ids_used, __ATOMIC_ACQUIRE))
        return 0;
    uint32_t slot = __atomic_load_n(&slot_of_id[*cursor], __ATOMIC_ACQUIRE);
    if (slot == 0)
        return 0; /* claimed but not yet published: next tick */
    stack_slot_t *s = &slots[slot - 1];
    *pcs = arena + s->off;
    *n = s->n;
    return ++*cursor;
}
