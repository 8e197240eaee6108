/* record.c - the sampled path: build an event, capture its stack, push it.
 *
 * Runs with the recursion guard set, so the allocations libunwind makes and
 * any signal handler's allocations pass straight through. An allocation is
 * recorded after the real allocator returned it and a free before the real
 * free runs; with the timestamp taken at that moment, an address can never
 * appear reused out of order when the analyzer merges threads by time.
 */
#include <errno.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define LOSSLESS_WAIT_MS 2000

static MT__TLS int saved_errno;

/* Inlined into the sampled paths (mt__record_free is cold, built for size:
 * the calls cost MTRACE_SAMPLE=all about 20 instructions a free). */
static inline __attribute__((always_inline)) void enter(void)
{
    mt__enter();
    saved_errno = errno;
}

static inline __attribute__((always_inline)) void leave(mt__thread_t *t)
{
    errno = saved_errno;
    mt__leave((mt__scope_t){t, 0});
}

void mt__record_enter(void)
{
    enter();
}

void mt__record_leave(mt__thread_t *t)
{
    leave(t);
}


void mt__wake_writer(void)
{
    __atomic_add_fetch(&mt__writer_wake, 1, __ATOMIC_RELEASE);
    mt__sys_futex_wake(&mt__writer_wake, 1);
}

/* A full ring drops the event, or with MTRACE_LOSSLESS waits for the writer
 * to drain it: bounded, and only while the writer thread is alive, so a
 * stopped or absent writer can never hang the program. Mapping events never
 * wait: the next allocator may call mmap holding its own locks, which the
 * writer's allocations need. */
int mt__record_push(mt__thread_t *t, const mt_event_t *e, int may_wait)
{
    int half;
    if (mt__thread_name_due(t, e->ts)) /* threads are often named after their first allocation */
        mt__thread_name_refresh(t, e->ts);
    for (int waited_ms = 0;; waited_ms++) {
        if (mt__ring_push(&t->ring, e, &half)) {
            if (half)
                mt__wake_writer();
            return 1;
        }
        if (!may_wait || !mt__opt.lossless || waited_ms >= LOSSLESS_WAIT_MS ||
            !__atomic_load_n(&mt__writer_alive, __ATOMIC_ACQUIRE))
            break;
        mt__wake_writer();
        struct timespec ms = {0, 1000000L};
        nanosleep(&ms, NULL);
    }
    t->ring.dropped++;
    return 0;
}

/* The allocation and free paths write their event into the ring slot itself
 * (no copy); a full ring takes the general path, which may wait. */
static inline void commit(mt__thread_t *t, uint64_t ts)
{
    if (mt__unlikely(mt__thread_name_due(t, ts)))
        mt__thread_name_refresh(t, ts);
    if (mt__unlikely(mt__ring_commit(&t->ring)))
        mt__wake_writer();
}

void mt__record_locate(mt_event_t *e)
{
    int cpu = mt__cpu_now();
    e->cpu = (uint16_t)(cpu < 0 ? 0 : cpu);
    e->node = cpu < 0 ? MT_NODE_UNKNOWN : mt__node_of_cpu(cpu);
}

int mt__record_sample_due(mt__thread_t *t, const void *p)
{
    if (!__atomic_load_n(&mt__recording, __ATOMIC_RELAXED)) {
        t->sample_debt = INT64_MIN / 2; /* stopped for good: stay on the fast path */
        return 0;
    }
    t->sample_debt = -mt__sampler_next(&t->rng);
    return p != NULL;
}

/* FROM: where the stack capture starts, or NULL for the caller of
 * mt__unwind_stack (a frame of mtrace's, stepped). */
static inline __attribute__((always_inline)) void fill_alloc(mt_event_t *e, int type, int kind,
                                                            const void *p, size_t size,
                                                            const mt__caller_t *from)
{
    e->ts = mt__now();
    e->ptr = (uintptr_t)p;
    e->size = size;
    e->arg[0] = mt__sampler_weight(size);
    e->arg[1] = 0;
    e->arg[2] = 0;
    e->type = (uint8_t)type;
    e->kind = (uint8_t)kind;
    __builtin_memset(e->pad, 0, sizeof e->pad);
    e->stack = from ? mt__unwind_stack_at(from->pc, from->sp, from->fp) : mt__unwind_stack();
    mt__record_locate(e);
}

void mt__record_fill_alloc(mt_event_t *e, int type, int kind, const void *p, size_t size)
{
    fill_alloc(e, type, kind, p, size, NULL);
}

static __attribute__((noinline, cold)) void alloc_ring_full(mt__thread_t *t, void *p, size_t size,
                                                             int kind, const mt__caller_t *from)
{
    mt_event_t e;
    fill_alloc(&e, MT_EV_ALLOC, kind, p, size, from);
    mt__record_push(t, &e, 1);
}

static inline __attribute__((always_inline)) void record_alloc(mt__thread_t *t, void *p,
                                                              size_t size, int kind,
                                                              const mt__caller_t *from)
{
    if (!mt__record_sample_due(t, p))
        return;
    enter();
    mt__liveset_insert((uintptr_t)p);
    mt_event_t *slot = mt__ring_reserve(&t->ring);
    if (mt__likely(slot)) {
        fill_alloc(slot, MT_EV_ALLOC, kind, p, size, from); /* inline: one frame less to walk */
        commit(t, slot->ts);
    } else {
        alloc_ring_full(t, p, size, kind, from);
    }
    leave(t);
}

void mt__record_alloc(mt__thread_t *t, void *p, size_t size, int kind)
{
    record_alloc(t, p, size, kind, NULL);
}

void mt__record_alloc_from(mt__thread_t *t, void *p, size_t size, int kind,
                           const mt__caller_t *from)
{
    record_alloc(t, p, size, kind, from);
}

static inline __attribute__((always_inline)) int claim_free(void *p)
{
    return mt__record_all_frees || mt__liveset_remove((uintptr_t)p);
}

int mt__record_claim_free(void *p)
{
    return claim_free(p);
}

static void fill_free(mt_event_t *e, const void *p, int kind, uint64_t ts)
{
    e->ts = ts;
    e->ptr = (uintptr_t)p;
    e->size = 0;
    e->arg[0] = e->arg[1] = e->arg[2] = 0;
    e->stack = 0;
    e->cpu = 0;
    e->node = 0;
    e->type = MT_EV_FREE;
    e->kind = (uint8_t)kind;
    __builtin_memset(e->pad, 0, sizeof e->pad);
}

static __attribute__((noinline, cold)) void free_ring_full(mt__thread_t *t, void *p, int kind,
                                                            uint64_t ts)
{
    mt_event_t e;
    fill_free(&e, p, kind, ts);
    mt__record_push(t, &e, 1);
}

static inline __attribute__((always_inline)) void free_at(mt__thread_t *t, void *p, int kind,
                                                         uint64_t ts)
{
    if (!__atomic_load_n(&mt__recording, __ATOMIC_RELAXED))
        return;
    enter();
    mt_event_t *slot = mt__ring_reserve(&t->ring);
    if (mt__likely(slot)) {
        fill_free(slot, p, kind, ts);
        commit(t, ts);
    } else {
        free_ring_full(t, p, kind, ts);
    }
    leave(t);
}

void mt__record_free_at(mt__thread_t *t, void *p, int kind, uint64_t ts)
{
    free_at(t, p, kind, ts);
}

void mt__record_free(mt__thread_t *t, void *p, int kind)
{
    if (p && claim_free(p))
        free_at(t, p, kind, mt__now());
}

void mt__record_map(mt__thread_t *t, const mt_event_t *proto, int with_stack)
{
    if (!__atomic_load_n(&mt__recording, __ATOMIC_RELAXED))
        return;
    mt__record_enter();
    mt_event_t e = *proto;
    if (with_stack)
        e.stack = mt__unwind_stack();
    mt__record_locate(&e);
    mt__record_push(t, &e, 0);
    mt__record_leave(t);
}
