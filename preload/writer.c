/* writer.c - the one writer thread: every tick, one LMDB transaction.
 *
 * A tick drains every thread's ring into encoded blocks, stores new stacks,
 * module changes, thread records, exact counters, an RSS sample and the
 * duration, then commits. Ring slots are released only after the commit, so
 * a tick that fails for a full map is redone whole after the map grows. The
 * thread runs with every signal blocked and the recursion guard set. Any
 * storage error ends recording with one warning; the program goes on.
 */
#include <errno.h>
#include <sys/prctl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define BLOCK_BYTES (256u << 10)
#define BLOCK_SMALL_EVENTS 2048 /* up to this many events of a thread per tick: small blocks */
/* A thread with fewer events than this (and than a quarter of its ring)
 * keeps them in its ring for later ticks, while the oldest is younger than
 * HOLD_TICKS ticks and HOLD_MAX_NS: zstd pays its tables per block, so
 * blocks of a few dozen events cost several times more per event. Encoding
 * 16,384 events of a bench_alloc thread (default sampling) in blocks of K
 * events, instructions per event (callgrind) and bytes per event: K = 16:
 * 275, 12.0 B (stored raw, under 256 bytes); 32: 2,140, 10.8 B; 128: 947,
 * 9.0 B; 256: 684, 8.5 B; 1024: 724, 7.6 B; all in one: 412, 7.2 B. Placement
 * sees held events in the tick that first finds them. Final and sync ticks
 * and an exited thread's take everything. */
#define HOLD_EVENTS 1024
#define HOLD_TICKS 8
#define HOLD_MAX_NS 1000000000ull
#define STOP_WAIT_MS 5000
#define WRITER_SEQ 0 /* thread number of the writer's own events (RSS) */
#define NAMED_COUNTERS 5 /* put_counters' own counters, after the entry points' */
#define COUNTERS (MT_EP_COUNT + NAMED_COUNTERS)

uint32_t mt__writer_wake;
int mt__writer_alive;

/* The writer's process state, in one struct so that a fork child starts
 * from nothing in one statement (mt__writer_after_fork); a field added here
 * cannot be forgotten there. */
typedef struct writer_state {
    mt_writer_t *trace;
    char trace_dir[4096];
    int running;             /* the writer thread exists */
    int stop_requested;      /* atomic */
    const char *stop_reason;
    uint32_t done;           /* futex word: 1 when the thread has finished */
    uint32_t sync_asked;     /* ticks asked for by mt__writer_sync (atomic) */
    uint32_t sync_done;      /* futex word: the last of them committed */
    const char *sync_reason;
    int reopen_pending;      /* a failed exec: the trace is not complete after all */
    int take_all;            /* the final tick: no event waits in a ring (HOLD_EVENTS) */
    mt__thread_t *threads;   /* writer-private list */
    uint32_t stack_cursor;
    uint64_t events_total, blocks_total, block_bytes_total;
    uint64_t retired_calls[MT_EP_COUNT], retired_bytes[MT_EP_COUNT], retired_dropped;
    int counters_stored;     /* every counter is in the trace, valued as below */
    uint64_t stored_calls[COUNTERS], stored_bytes[COUNTERS];
} writer_state_t;
static writer_state_t W;
static uint8_t block_buf[BLOCK_BYTES]; /* scratch of one tick */

/* Per-thread bookkeeping for one tick, kept in the thread's region. */
typedef struct tick_state {
    uint64_t events, blocks, block_bytes;
    uint32_t stack_cursor;
    uint64_t calls[COUNTERS], bytes[COUNTERS]; /* the counters as this tick puts them */
} tick_state_t;

static int flush_block(mt_block_encoder_t *enc, tick_state_t *ts)
{
    if (enc->count == 0)
        return 0;
    size_t len = mt_block_finish(enc);
    ts->blocks++;
    ts->block_bytes += len;
    ts->events += enc->count;
    return mt_writer_put_block(W.trace, block_buf, len);
}

/* Events to encode, in runs of consecutive slots: a thread's ring (its
 * first N readable events, which the placement table also sees, run by
 * run while they are in the cache), or an array of N. */
typedef struct source {
    mt__ring_t *ring; /* NULL: ARRAY */
    const mt_event_t *array;
    uint64_t n;
    uint64_t now;      /* the tick's time, for placement */
    uint64_t observed; /* the first events, held in earlier ticks, placement saw then */
} source_t;

/* Shows the events [FROM, N) of RING to the placement table at NOW. */
static void observe_ring(mt__ring_t *ring, uint64_t from, uint64_t n, uint64_t now)
{
    for (uint64_t i = from, len; i < n; i += len) {
        len = mt__ring_run(ring, i, n);
        mt__placement_observe(mt__ring_at(ring, i), len, now);
    }
}

/* Whether thread T's N readable events wait in its ring for a later tick
 * (HOLD_EVENTS above). */
static int hold_events(mt__thread_t *t, uint64_t n, uint64_t now)
{
    if (n >= HOLD_EVENTS || n >= (t->ring.mask + 1) / 4)
        return 0;
    uint64_t hold_ns = (uint64_t)mt__opt.flush_ms * 1000000ull * HOLD_TICKS;
    if (hold_ns > HOLD_MAX_NS)
        hold_ns = HOLD_MAX_NS;
    uint64_t oldest = mt__ring_at(&t->ring, 0)->ts;
    return now < oldest + hold_ns;
}

#define RUN_EVENTS 256 /* events encoded, then observed, at a time */

/* Encodes the events of SRC into blocks of thread SEQ. */
static int put_events(uint32_t seq, const source_t *src, tick_state_t *ts)
{
    mt_block_encoder_t enc;
    /* A few events: blocks that fit LMDB's leaf pages, which appended blocks
     * fill; a bigger block would waste the tail of its last page (up to
     * half of a small tick). Many: the biggest blocks, whose pages LMDB
     * frees after the commit (its cache of single dirty pages would keep a
     * whole busy tick: 25 -> 39 MiB peak RSS on bench_alloc, every call
     * recorded) and whose last-page tails are 3% of them at most. */
    size_t cap = mt_writer_block_max(W.trace);
    if (cap > sizeof block_buf || src->n > BLOCK_SMALL_EVENTS)
        cap = sizeof block_buf;
    mt_block_begin(&enc, block_buf, cap, seq);
    uint64_t last_ts = 0;
    for (uint64_t i = 0, len; i < src->n; i += len) {
        const mt_event_t *run = src->array + i;
        len = src->n - i;
        if (src->ring) {
            run = mt__ring_at(src->ring, i);
            len = mt__ring_run(src->ring, i, src->n);
        }
        if (len > RUN_EVENTS)
            len = RUN_EVENTS;
        for (uint64_t k = 0; k < len; k++) {
            /* A signal handler's allocation inside a hook can push an event
             * with a later time before the interrupted hook pushes its own:
             * keep the stream in order (the block codec refuses time going
             * backwards). */
            const mt_event_t *e = &run[k];
            mt_event_t ordered;
            if (e->ts < last_ts) {
                ordered = *e;
                ordered.ts = last_ts;
                e = &ordered;
            }
            last_ts = e->ts;
            int rc = mt_block_add(&enc, e);
            if (rc == MT_EFULL) {
                if ((rc = flush_block(&enc, ts)))
                    return rc;
                mt_block_begin(&enc, block_buf, cap, seq);
                rc = mt_block_add(&enc, e);
            }
            if (rc)
                return rc;
        }
        if (src->ring && i + len > src->observed) {
            uint64_t seen = i < src->observed ? src->observed - i : 0;
            mt__placement_observe(run + seen, len - seen, src->now);
        }
    }
    return flush_block(&enc, ts);
}

static int put_thread(mt__thread_t *t, int exited, uint64_t now)
{
    mt_thread_t rec = {0};
    rec.seq = t->seq;
    rec.tid = t->tid;
    rec.first_ts = t->first_ts;
    rec.last_ts = now;
    rec.exited = (uint8_t)exited;
    char name[sizeof rec.name];
    if (mt__thread_name_read(t, name) == 0) /* else the last name read whole */
        memcpy(t->writer_name, name, sizeof name);
    memcpy(rec.name, t->writer_name, sizeof rec.name);
    rec.name[sizeof rec.name - 1] = '\0';
    return mt_writer_put_thread(W.trace, &rec);
}

/* Puts counter I named NAME valued as in TS, unless the trace already holds
 * that value: most entry points are never called, and each put is a B-tree
 * insert (73K instructions a tick for all of them). */
static int put_counter(const tick_state_t *ts, int i, const char *name)
{
    if (W.counters_stored && ts->calls[i] == W.stored_calls[i] &&
        ts->bytes[i] == W.stored_bytes[i])
        return 0;
    mt_counter_t c = {0};
    strncpy(c.name, name, sizeof c.name - 1);
    c.calls = ts->calls[i];
    c.bytes = ts->bytes[i];
    return mt_writer_put_counter(W.trace, &c);
}

static int put_counters(tick_state_t *ts)
{
    uint64_t dropped = W.retired_dropped;
    for (mt__thread_t *t = W.threads; t; t = t->next)
        dropped += __atomic_load_n(&t->ring.dropped, __ATOMIC_RELAXED);
    for (int ep = 0; ep < MT_EP_COUNT; ep++) {
        uint64_t calls = W.retired_calls[ep] + __atomic_load_n(&mt__late_calls[ep], __ATOMIC_RELAXED);
        uint64_t bytes = W.retired_bytes[ep] + __atomic_load_n(&mt__late_bytes[ep], __ATOMIC_RELAXED);
        for (mt__thread_t *t = W.threads; t; t = t->next) {
            calls += __atomic_load_n(&t->calls[ep], __ATOMIC_RELAXED);
            bytes += __atomic_load_n(&t->bytes[ep], __ATOMIC_RELAXED);
        }
        ts->calls[ep] = calls;
        ts->bytes[ep] = bytes;
        int rc = put_counter(ts, ep, mt_entry_point_names[ep]);
        if (rc)
            return rc;
    }
    const struct {
        const char *name;
        uint64_t calls, bytes;
    } named[NAMED_COUNTERS] = {
        {MT_COUNTER_EVENTS, W.events_total + ts->events, 0},
        {MT_COUNTER_DROPPED, dropped, 0},
        {MT_COUNTER_STACKS, ts->stack_cursor, 0},
        {MT_COUNTER_STACKS_LOST, __atomic_load_n(&mt__stacks_lost, __ATOMIC_RELAXED), 0},
        {MT_COUNTER_BLOCKS, W.blocks_total + ts->blocks, W.block_bytes_total + ts->block_bytes},
    };
    for (int i = 0; i < NAMED_COUNTERS; i++) {
        ts->calls[MT_EP_COUNT + i] = named[i].calls;
        ts->bytes[MT_EP_COUNT + i] = named[i].bytes;
        int rc = put_counter(ts, MT_EP_COUNT + i, named[i].name);
        if (rc)
            return rc;
    }
    return 0;
}

/* Everything of one tick but the commit. Records in *TS what to release. */
static int fill_tick(tick_state_t *ts, const char *end_reason)
{
    uint64_t now = mt__now();
    /* RSS at NOW, before the drain: read after it, it would count what the
     * program allocated while the rings drained, later than its timestamp
     * and than the events replayed before it (a heap growing fast then looks
     * fragmented: tests/e2e/test-summary.c, healthy). */
    uint64_t rss_now = mt__proc_rss();
    int rc = 0;
    for (mt__thread_t *t = W.threads; t && !rc; t = t->next) {
        /* Read exited before the ring: after the exit mark every event is in. */
        int exited = __atomic_load_n(&t->exited, __ATOMIC_ACQUIRE);
        uint64_t n = mt__ring_readable(&t->ring);
        if (n && !exited && !end_reason && !W.take_all && hold_events(t, n, now)) {
            /* Placement sees them now, as if drained (idempotent: a redone
             * tick shows nothing twice that matters). */
            if (n > t->writer_observed)
                observe_ring(&t->ring, t->writer_observed, n, now);
            t->writer_observed = n;
            n = 0;
        }
        t->writer_pending = n;
        t->writer_exited = exited;
        if (n)
            rc = put_events(t->seq,
                            &(source_t){.ring = &t->ring, .n = n, .now = now,
                                        .observed = t->writer_observed},
                            ts);
        if (!rc && (n || exited || !t->writer_known))
            rc = put_thread(t, exited, now);
    }
    if (!rc && rss_now) {
        mt_event_t rss = {0};
        rss.ts = now;
        rss.type = MT_EV_RSS;
        rss.size = rss_now;
        rc = put_events(WRITER_SEQ, &(source_t){.array = &rss, .n = 1}, ts);
    }
    if (!rc) { /* after the drain: placement of what is due (placement.c) */
        const mt_event_t *pl;
        size_t npl = mt__placement_poll(now, end_reason != NULL, &pl);
        if (npl)
            rc = put_events(WRITER_SEQ, &(source_t){.array = pl, .n = npl}, ts);
    }
    ts->stack_cursor = W.stack_cursor;
    const uint64_t *pcs;
    uint32_t nframes, id;
    while (!rc && (id = mt__stack_next_ready(&ts->stack_cursor, &pcs, &nframes)))
        rc = mt_writer_put_stack(W.trace, id, pcs, nframes);
    if (!rc) {
        /* Under the tick lock, which fork's prepare handler takes: a fork
         * never finds this thread holding the loader's list lock, which
         * glibc does not reset in the child. */
        mt__modules_scan(0);
        rc = mt__modules_put(W.trace);
    }
    if (!rc)
        rc = put_counters(ts);
    if (!rc)
        rc = mt_writer_put_meta_u64(W.trace, MT_META_DURATION, now);
    if (!rc && end_reason) {
        rc = mt_writer_put_meta(W.trace, MT_META_END_REASON, end_reason, strlen(end_reason));
        if (!rc)
            rc = mt_writer_put_meta_u64(W.trace, MT_META_COMPLETE, 1);
    } else if (!rc && __atomic_load_n(&W.reopen_pending, __ATOMIC_ACQUIRE)) {
        rc = mt_writer_put_meta(W.trace, MT_META_END_REASON, "", 0);
        if (!rc)
            rc = mt_writer_put_meta_u64(W.trace, MT_META_COMPLETE, 0);
        if (!rc)
            __atomic_store_n(&W.reopen_pending, 0, __ATOMIC_RELEASE);
    }
    return rc;
}

/* After a commit: hand ring slots back and retire threads that exited. */
static void release_tick(const tick_state_t *ts)
{
    W.events_total += ts->events;
    W.blocks_total += ts->blocks;
    W.block_bytes_total += ts->block_bytes;
    W.stack_cursor = ts->stack_cursor;
    memcpy(W.stored_calls, ts->calls, sizeof W.stored_calls);
    memcpy(W.stored_bytes, ts->bytes, sizeof W.stored_bytes);
    W.counters_stored = 1;
    mt__placement_done();
    mt__modules_committed();
    mt__thread_t **link = &W.threads;
    while (*link) {
        mt__thread_t *t = *link;
        mt__ring_consume(&t->ring, t->writer_pending);
        if (t->writer_pending)
            t->writer_observed = 0; /* every readable event was drained */
        t->writer_known = 1;
        if (t->writer_exited && mt__ring_readable(&t->ring) == 0) {
            for (int ep = 0; ep < MT_EP_COUNT; ep++) {
                W.retired_calls[ep] += t->calls[ep];
                W.retired_bytes[ep] += t->bytes[ep];
            }
            W.retired_dropped += t->ring.dropped;
            *link = t->next;
            mt__thread_unmap(t);
            continue;
        }
        link = &t->next;
    }
}

static void adopt_new_threads(void)
{
    mt__thread_t *t = mt__thread_take_new();
    while (t) {
        mt__thread_t *next = t->next;
        t->next = W.threads;
        W.threads = t;
        t = next;
    }
}

static void stop_recording(const char *why, int rc)
{
    mt__warn_once(MT__WARN_STORAGE, "cannot write trace %s: %s (%s); recording stopped, the "
                  "program continues", W.trace_dir, why, mt_strerror(rc));
    __atomic_store_n(&mt__recording, 0, __ATOMIC_RELEASE);
    /* Try to leave a note in the trace; it may well fail too. */
    if (rc != MT_EBADFD && mt_writer_begin(W.trace) == 0) {
        char note[256];
        size_t len = (size_t)snprintf(note, sizeof note, "%s: %s", why, mt_strerror(rc));
        if (mt_writer_put_meta(W.trace, MT_META_TRUNCATED, note, len) == 0)
            mt_writer_commit(W.trace);
        else
            mt_writer_abort(W.trace);
    }
}

/* Held for the whole of a tick, and by fork's prepare handler: a fork child
 * must not inherit a lock (the loader's, LMDB's) that the writer held in
 * the middle of a tick, since no writer thread lives on in the child. */
static pthread_mutex_t tick_lock = PTHREAD_MUTEX_INITIALIZER;

void mt__writer_fork_prepare(void)
{
    pthread_mutex_lock(&tick_lock);
}

void mt__writer_fork_parent(void)
{
    pthread_mutex_unlock(&tick_lock);
}

static int tick_locked(const char *end_reason);

/* One tick. Returns 0, or nonzero once recording has stopped for good. */
static int tick(const char *end_reason)
{
    pthread_mutex_lock(&tick_lock);
    int rc = tick_locked(end_reason);
    pthread_mutex_unlock(&tick_lock);
    return rc;
}

static int tick_locked(const char *end_reason)
{
    adopt_new_threads();
    for (int attempt = 0;; attempt++) {
        tick_state_t ts = {0};
        int rc = mt_writer_begin(W.trace);
        if (!rc)
            rc = fill_tick(&ts, end_reason);
        /* LMDB writes pages to its fd only in the commit: check that the fd
         * is still data.mdb right before, so that a program which closed it
         * and opened a file of its own under that number is not written to.
         * (The check and the write are not atomic; this keeps the window to
         * the commit itself.) */
        if (!rc && (rc = mt_writer_check_fd(W.trace)) != 0) {
            mt_writer_abort(W.trace);
            stop_recording("the program closed or replaced the trace file", rc);
            return rc;
        }
        if (!rc)
            rc = mt_writer_commit(W.trace);
        else
            mt_writer_abort(W.trace);
        if (rc == 0) {
            release_tick(&ts);
            return 0;
        }
        if (rc == MT_EMAPFULL && mt_writer_can_grow(W.trace) && attempt < 8)
            continue; /* module records not committed are put again */
        stop_recording(rc == MT_EMAPFULL ? "the trace reached MTRACE_MAP_MAX"
                                         : "storage error",
                       rc);
        return rc;
    }
}

static void wait_for_work(uint32_t seen)
{
    struct timespec timeout = {(time_t)(mt__opt.flush_ms / 1000),
                               (long)(mt__opt.flush_ms % 1000) * 1000000L};
    mt__sys_futex_wait(&mt__writer_wake, seen, &timeout);
}

static void *writer_main(void *arg)
{
    (void)arg;
    mt__tls_guard = 1; /* everything this thread allocates passes through */
    prctl(PR_SET_NAME, "mtrace-writer");
    int failed = 0, alone = 0;
    while (!failed) {
        uint32_t seen = __atomic_load_n(&mt__writer_wake, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&W.stop_requested, __ATOMIC_ACQUIRE))
            break;
        wait_for_work(seen);
        if (__atomic_load_n(&W.stop_requested, __ATOMIC_ACQUIRE))
            break;
        uint32_t asked = __atomic_load_n(&W.sync_asked, __ATOMIC_ACQUIRE);
        failed = tick(asked != W.sync_done ? W.sync_reason : NULL);
        if (asked != W.sync_done) {
            __atomic_store_n(&W.sync_done, asked, __ATOMIC_RELEASE);
            mt__sys_futex_wake(&W.sync_done, INT32_MAX);
        }
        /* main called pthread_exit and every other thread has ended: glibc
         * ends the process with exit(0) when its last thread ends, and this
         * one counts. Finish the trace and return; glibc then calls exit(0)
         * on this thread (with the shim off, the destructor does nothing). */
        if (!failed && mt__proc_only_caller_left()) {
            alone = 1;
            break;
        }
    }
    if (!failed) {
        W.take_all = 1;
        tick(alone ? "pthread_exit" : W.stop_reason);
        mt_writer_close(W.trace);
    }
    if (alone) {
        __atomic_store_n(&mt__recording, 0, __ATOMIC_RELEASE);
        __atomic_store_n(&mt__state, MT__OFF, __ATOMIC_RELEASE);
        W.running = 0;
    }
    W.trace = NULL;
    __atomic_store_n(&mt__writer_alive, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&W.done, 1, __ATOMIC_RELEASE);
    mt__sys_futex_wake(&W.done, 1);
    return NULL;
}

int mt__writer_start(const char *dir, pid_t parent_pid)
{
    mt_writer_options_t opts = {0};
    opts.map_max = mt__opt.map_max;
    if (opts.map_max < (64u << 20))
        opts.map_initial = opts.map_max;
    snprintf(W.trace_dir, sizeof W.trace_dir, "%s", dir);
    int rc = mt_writer_open(&W.trace, dir, &opts);
    if (!rc)
        mt__proc_setup();
    if (rc) {
        mt__warn_once(MT__WARN_STORAGE, "cannot create trace %s: %s; the program runs untraced",
                      dir, mt_strerror(rc));
        W.trace = NULL;
        return -1;
    }
    rc = mt_writer_begin(W.trace);
    if (!rc)
        rc = mt__proc_write_meta(W.trace, parent_pid);
    if (!rc)
        rc = mt__numa_write_meta(W.trace);
    if (!rc)
        rc = mt_writer_commit(W.trace);
    if (rc) {
        mt__warn_once(MT__WARN_STORAGE, "cannot write trace %s: %s; the program runs untraced",
                      dir, mt_strerror(rc));
        mt_writer_close(W.trace);
        W.trace = NULL;
        return -1;
    }
    /* Create the thread with every signal blocked; it inherits the mask. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    W.done = 0;
    W.stop_requested = 0;
    __atomic_store_n(&mt__writer_alive, 1, __ATOMIC_RELEASE);
    rc = pthread_create(&thread, &attr, writer_main, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        __atomic_store_n(&mt__writer_alive, 0, __ATOMIC_RELEASE);
        mt__warn_once(MT__WARN_THREAD, "cannot start the trace writer thread: %s; the program "
                      "runs untraced", strerror(rc));
        mt_writer_close(W.trace);
        W.trace = NULL;
        return -1;
    }
    W.running = 1;
    mt__path_announce(dir);
    if (!mt__opt.quiet)
        mt__say("writing %s", dir);
    return 0;
}

/* Waits until *WORD equals WANT or the writer is gone, at most STOP_WAIT_MS;
 * returns 0 when it does. */
static int wait_writer(uint32_t *word, uint32_t want)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        uint32_t cur = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        if (cur == want)
            return 0;
        if (!__atomic_load_n(&mt__writer_alive, __ATOMIC_ACQUIRE) && word != &W.done)
            return -1;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long waited_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (waited_ms >= STOP_WAIT_MS) {
            mt__warn("the trace writer did not answer within %d ms; %s may miss its last events",
                     STOP_WAIT_MS, W.trace_dir);
            return -1;
        }
        struct timespec slice = {0, 50 * 1000000L};
        mt__sys_futex_wait(word, cur, &slice);
    }
}

void mt__writer_sync(const char *end_reason)
{
    if (!W.running || !__atomic_load_n(&mt__writer_alive, __ATOMIC_ACQUIRE))
        return;
    W.sync_reason = end_reason;
    uint32_t asked = __atomic_add_fetch(&W.sync_asked, 1, __ATOMIC_ACQ_REL);
    mt__wake_writer();
    wait_writer(&W.sync_done, asked);
}

void mt__writer_reopen(void)
{
    __atomic_store_n(&W.reopen_pending, 1, __ATOMIC_RELEASE);
}

void mt__writer_stop(const char *end_reason)
{
    if (!W.running)
        return;
    W.stop_reason = end_reason;
    __atomic_store_n(&W.stop_requested, 1, __ATOMIC_RELEASE);
    mt__wake_writer();
    wait_writer(&W.done, 1);
    W.running = 0;
    __atomic_store_n(&mt__recording, 0, __ATOMIC_RELEASE);
}

void mt__writer_after_fork(void)
{
    /* The parent's environment must not be used here: forget it. The thread
     * list and blocks are copies the parent still owns; they are dropped.
     * The tick lock was taken by the prepare handler in the forking thread. */
    pthread_mutex_init(&tick_lock, NULL);
    if (W.trace)
        mt_writer_forget(W.trace);
    memset(&W, 0, sizeof W);
    mt__proc_after_fork();
    mt__writer_alive = 0;
    mt__placement_reset();
    mt__writer_wake = 0;
}
