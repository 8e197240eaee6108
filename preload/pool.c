/* pool.c - the shim side of the pool annotation API (include/mtrace/mtrace.h).
 *
 * mt_pool_event is exported for the annotations to find with dlsym. Its fast
 * path is a hook's: bump the exact "pool alloc" / "pool free" counters and
 * the thread's sampling debt, shared with malloc (one byte sampler for
 * both). A sampled object is recorded like a sampled malloc (record.c's
 * pattern: stack, weight, CPU and node, the thread's ring) as POOL_ALLOC
 * with arg[1] = mt_pool_id(name), and enters the live set tagged with bit
 * 63, which no user-space heap pointer has, so its pool free is recorded and
 * a heap free of the same address is not. The first sampled object of a pool
 * in each process is preceded by the pool's name (MT_POOL_KIND_NAME records),
 * announced once per process through a small lock-free table.
 */
#include <string.h>

#include "internal.h"

#define MTRACE_NO_ANNOTATIONS /* this file is the other side of them */
#include "mtrace/mtrace.h"

#define POOL_TAG ((uintptr_t)1 << 63)
#define NAME_SLOTS 256 /* pools whose names are announced; more stay nameless */

/* Pools seen by this process: id, and the pid that announced its name (a fork
 * child announces again into its own trace). */
static struct {
    uint64_t id;
    int announced; /* pid, 0 = not yet; atomic */
} names[NAME_SLOTS];

static uint64_t load_le(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Pushes NAME's records (before the object event, same TS) the first time
 * this process samples pool ID. A name lost to a full ring is retried with
 * the pool's next sample. */
static void announce(mt__thread_t *t, uint64_t id, const char *name, uint64_t ts)
{
    size_t i = (size_t)(id % NAME_SLOTS);
    for (size_t probe = 0;; probe++, i = (i + 1) % NAME_SLOTS) {
        if (probe == NAME_SLOTS)
            return; /* table full: this pool stays nameless (found by name anyway) */
        uint64_t cur = __atomic_load_n(&names[i].id, __ATOMIC_ACQUIRE);
        if (cur == 0 && __atomic_compare_exchange_n(&names[i].id, &cur, id, 0, __ATOMIC_ACQ_REL,
                                                    __ATOMIC_ACQUIRE))
            break;
        if (cur == id)
            break;
    }
    int was = __atomic_load_n(&names[i].announced, __ATOMIC_ACQUIRE);
    if (was == mt__pid ||
        !__atomic_compare_exchange_n(&names[i].announced, &was, mt__pid, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return; /* done, or another thread is announcing it */
    unsigned char buf[MT_POOL_NAME_MAX] = {0};
    size_t len = strnlen(name, MT_POOL_NAME_MAX);
    memcpy(buf, name, len);
    for (size_t c = 0; c * MT_POOL_NAME_CHUNK < (len ? len : 1); c++) {
        const unsigned char *p = buf + c * MT_POOL_NAME_CHUNK;
        mt_event_t e = {0};
        e.ts = ts;
        e.type = MT_EV_POOL_ALLOC;
        e.kind = (uint8_t)(MT_POOL_KIND_NAME + c);
        e.ptr = load_le(p);
        e.size = load_le(p + 8);
        e.arg[0] = load_le(p + 16);
        e.arg[1] = id;
        if (!mt__record_push(t, &e, 1)) {
            __atomic_store_n(&names[i].announced, 0, __ATOMIC_RELEASE);
            return;
        }
    }
}

static __attribute__((noinline, cold)) void record_alloc(mt__thread_t *t, const char *pool,
                                                         const void *p, size_t size)
{
    if (!mt__record_sample_due(t, p))
        return;
    mt__record_enter();
    mt_event_t e = {0};
    mt__record_fill_alloc(&e, MT_EV_POOL_ALLOC, MT_POOL_KIND_OBJECT, p, size);
    e.arg[1] = mt_pool_id(pool);
    if (pool)
        announce(t, e.arg[1], pool, e.ts);
    mt__liveset_insert((uintptr_t)p | POOL_TAG);
    mt__record_push(t, &e, 1);
    mt__record_leave(t);
}

/* Recorded before the pool can reuse P (the caller's contract), with no
 * stack, like a free. */
static __attribute__((noinline, cold)) void record_free(mt__thread_t *t, const char *pool,
                                                        const void *p)
{
    if (!mt__record_claim_free((void *)((uintptr_t)p | POOL_TAG)) ||
        !__atomic_load_n(&mt__recording, __ATOMIC_RELAXED))
        return;
    mt__record_enter();
    mt_event_t e = {0};
    e.ts = mt__now();
    e.type = MT_EV_POOL_FREE;
    e.ptr = (uintptr_t)p;
    e.arg[1] = mt_pool_id(pool);
    mt__record_push(t, &e, 1);
    mt__record_leave(t);
}

MT__EXPORT void mt_pool_event(const char *pool, int op, const void *ptr, size_t size)
{
    mt__thread_t *t = mt__tls_thread;
    if (mt__unlikely(!t) && !(t = mt__hook_slow()))
        return; /* inside mtrace, shim off, or thread exiting */
    if (op == MT_POOL_OP_ALLOC) {
        MT__BUMP(t, MT_EP_POOL_ALLOC, size);
        if (mt__unlikely(mt__debt_add(&t->sample_debt, (int64_t)size + 1)))
            record_alloc(t, pool, ptr, size);
    } else if (op == MT_POOL_OP_FREE) {
        MT__BUMP(t, MT_EP_POOL_FREE, 0);
        if (ptr && mt__unlikely(mt__free_maybe_sampled((uintptr_t)ptr | POOL_TAG)))
            record_free(t, pool, ptr);
    }
}
