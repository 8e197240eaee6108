/* thread.c - per-thread state: exact counters, sampler, and the event ring.
 *
 * Each thread's state is one mmap'd region, created on its first hook call
 * and handed to the writer through a lock-free list. A thread never frees its
 * own region: its exit destructor only marks it exited, and the writer unmaps
 * it after draining the ring. The destructor re-arms itself so that it runs
 * in the last destructor round and sees other keys' late frees. A thread
 * reads its own name (prctl: the writer reading /proc would open a descriptor
 * that a program closing all of its descriptors can close and reuse before
 * the writer's close(), which then closes the program's file).
 */
#include <limits.h>
#include <string.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "internal.h"

MT__TLS mt__thread_t *mt__tls_thread;
MT__TLS int mt__tls_guard;
MT__TLS int mt__tls_exiting;
MT__TLS mt__thread_t *mt__tls_pass;
MT__TLS mt__cfi_rule_t *mt__tls_cfi_cache;
static MT__TLS int destructor_rounds;

uint64_t mt__late_calls[MT_EP_COUNT], mt__late_bytes[MT_EP_COUNT];
static mt__thread_t *incoming;
static uint32_t last_seq;
static pthread_key_t exit_key;
static int exit_key_ok;

static void on_thread_exit(void *arg)
{
    mt__thread_t *t = arg;
    if (++destructor_rounds < PTHREAD_DESTRUCTOR_ITERATIONS &&
        pthread_setspecific(exit_key, t) == 0)
        return;
    mt__tls_thread = NULL;
    mt__tls_cfi_cache = NULL; /* the writer unmaps the region */
    mt__tls_exiting = 1;
    t->name_ts = 0;
    mt__thread_name_refresh(t, 0);
    __atomic_store_n(&t->exited, 1, __ATOMIC_RELEASE);
}

int mt__thread_setup(void)
{
    exit_key_ok = pthread_key_create(&exit_key, on_thread_exit) == 0;
    return exit_key_ok ? 0 : -1;
}

mt__thread_t *mt__thread_register(void)
{
    size_t head = (sizeof(mt__thread_t) + 4095) & ~(size_t)4095;
    size_t cache = (sizeof(mt__cfi_rule_t) << MT__CFI_CACHE_BITS) + mt__unwind_scratch_size();
    size_t len = head + cache + mt__opt.ring_events * sizeof(mt_event_t);
    mt__thread_t *t = mt__sys_reserve(len);
    if (!t)
        return NULL;
    mt__tls_cfi_cache = (mt__cfi_rule_t *)((char *)t + head);
    head += cache;
    t->map_len = len;
    t->ring.slots = (mt_event_t *)((char *)t + head);
    t->ring.mask = (uint32_t)(mt__opt.ring_events - 1);
    t->seq = __atomic_add_fetch(&last_seq, 1, __ATOMIC_RELAXED);
    t->rng = mt__sampler_seed(t->seq);
    t->sample_debt = -mt__sampler_next(&t->rng);
    t->tid = (uint32_t)gettid();
    t->first_ts = mt__now();
    prctl(PR_GET_NAME, t->name);
    if (exit_key_ok)
        pthread_setspecific(exit_key, t); /* may allocate: caller holds the guard */
    t->next = __atomic_load_n(&incoming, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(&incoming, &t->next, t, 1, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
        ;
    return t;
}

void mt__thread_name_refresh(mt__thread_t *t, uint64_t now)
{
    if (!mt__thread_name_due(t, now))
        return;
    t->name_ts = now ? now : 1;
    char name[sizeof t->name] = {0};
    prctl(PR_GET_NAME, name);
    if (memcmp(name, t->name, sizeof name) == 0)
        return;
    /* A sequence lock with one writer, the owner: odd while it writes. */
    uint32_t seq = t->name_seq;
    __atomic_store_n(&t->name_seq, seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    for (size_t i = 0; i < sizeof name; i++)
        __atomic_store_n(&t->name[i], name[i], __ATOMIC_RELAXED);
    __atomic_store_n(&t->name_seq, seq + 2, __ATOMIC_RELEASE);
}

int mt__thread_name_read(const mt__thread_t *t, char out[16])
{
    for (int tries = 0; tries < 16; tries++) {
        uint32_t seq = __atomic_load_n(&t->name_seq, __ATOMIC_ACQUIRE);
        if (seq & 1)
            continue;
        for (size_t i = 0; i < sizeof t->name; i++)
            out[i] = __atomic_load_n(&t->name[i], __ATOMIC_RELAXED);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&t->name_seq, __ATOMIC_RELAXED) == seq)
            return 0;
    }
    return -1;
}

mt__thread_t *mt__thread_take_new(void)
{
    return __atomic_exchange_n(&incoming, NULL, __ATOMIC_ACQUIRE);
}

void mt__thread_unmap(mt__thread_t *t)
{
    mt__sys_munmap(t, t->map_len);
}

void mt__thread_after_fork(mt__thread_t *self)
{
    for (int i = 0; i < MT_EP_COUNT; i++)
        mt__late_calls[i] = mt__late_bytes[i] = 0;
    last_seq = 0;
    incoming = NULL;
    if (!self)
        return;
    for (int i = 0; i < MT_EP_COUNT; i++)
        self->calls[i] = self->bytes[i] = 0;
    self->ring.tail = self->ring.head;
    self->ring.dropped = 0;
    self->ring.wake_sent = 0;
    self->seq = ++last_seq;
    self->tid = (uint32_t)gettid();
    self->first_ts = 0;
    self->writer_pending = 0;
    self->writer_exited = 0;
    self->writer_known = 0; /* the child's trace has no record of it yet */
    self->writer_observed = 0;
    self->next = NULL;
    incoming = self;
}
