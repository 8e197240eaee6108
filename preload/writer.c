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
#include <fcntl.h>
#include <sys/prctl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define BLOCK_BYTES (64u << 10)
#define STOP_WAIT_MS 5000
#define WRITER_SEQ 0 /* thread number of the writer's own events (RSS) */
#define NAME_REFRESH_NS 1000000000ull

uint32_t mt__writer_wake;
int mt__writer_alive;

static mt_writer_t *trace;
static char trace_dir[4096];
static int running;          /* the writer thread exists */
static int stop_requested;   /* atomic */
static const char *stop_reason;
static uint32_t done;        /* futex word: 1 when the thread has finished */
static uint32_t sync_asked;  /* ticks asked for by mt__writer_sync (atomic) */
static uint32_t sync_done;   /* futex word: the last of them committed */
static const char *sync_reason;
static int reopen_pending;   /* a failed exec: the trace is not complete after all */
static mt__thread_t *threads; /* writer-private list */
static uint32_t stack_cursor;
static uint64_t events_total, blocks_total, block_bytes_total;
static uint64_t retired_calls[MT_EP_COUNT], retired_bytes[MT_EP_COUNT], retired_dropped;
static uint8_t block_buf[BLOCK_BYTES];

/* Per-thread bookkeeping for one tick, kept in the thread's region. */
typedef struct tick_state {
    uint64_t events, blocks, block_bytes;
    uint32_t stack_cursor;
} tick_state_t;

static int flush_block(mt_block_encoder_t *enc, tick_state_t *ts)
{
    if (enc->count == 0)
        return 0;
    size_t len = mt_block_finish(enc);
    ts->blocks++;
    ts->block_bytes += len;
    ts->events += enc->count;
    return mt_writer_put_block(trace, block_buf, len);
}

/* Encodes N events that FETCH yields into blocks of thread SEQ. */
static int put_events(uint32_t seq, uint64_t n, const mt_event_t *(*fetch)(void *, uint64_t),
                      void *ctx, tick_state_t *ts)
{
    mt_block_encoder_t enc;
    mt_block_begin(&enc, block_buf, sizeof block_buf, seq);
    uint64_t last_ts = 0;
    for (uint64_t i = 0; i < n; i++) {
        /* A signal handler's allocation inside a hook can push an event with a
         * later time before the interrupted hook pushes its own: keep the
         * stream in order (the block codec refuses time going backwards). */
        mt_event_t ordered = *fetch(ctx, i);
        if (ordered.ts < last_ts)
            ordered.ts = last_ts;
        last_ts = ordered.ts;
        const mt_event_t *e = &ordered;
        int rc = mt_block_add(&enc, e);
        if (rc == MT_EFULL) {
            if ((rc = flush_block(&enc, ts)))
                return rc;
            mt_block_begin(&enc, block_buf, sizeof block_buf, seq);
            rc = mt_block_add(&enc, e);
        }
        if (rc)
            return rc;
    }
    return flush_block(&enc, ts);
}

static const mt_event_t *ring_fetch(void *ctx, uint64_t i)
{
    return mt__ring_at(ctx, i);
}

static const mt_event_t *single_fetch(void *ctx, uint64_t i)
{
    (void)i;
    return ctx;
}

static const mt_event_t *array_fetch(void *ctx, uint64_t i)
{
    return (const mt_event_t *)ctx + i;
}

/* Threads are often named after their first allocation: re-read the name
 * of an active thread at most once a second (one small /proc read). */
static void refresh_name(mt__thread_t *t, uint64_t now)
{
    if (now - t->writer_name_ts < NAME_REFRESH_NS && t->writer_name_ts)
        return;
    t->writer_name_ts = now;
    char path[64], name[sizeof t->name];
    snprintf(path, sizeof path, "/proc/self/task/%u/comm", t->tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, name, sizeof name - 1);
    close(fd);
    if (n <= 0)
        return;
    name[n] = '\0';
    name[strcspn(name, "\n")] = '\0';
    memcpy(t->name, name, sizeof name);
}

static int put_thread(mt__thread_t *t, int exited, uint64_t now)
{
    mt_thread_t rec = {0};
    rec.seq = t->seq;
    rec.tid = t->tid;
    rec.first_ts = t->first_ts;
    rec.last_ts = now;
    rec.exited = (uint8_t)exited;
    memcpy(rec.name, t->name, sizeof rec.name);
    rec.name[sizeof rec.name - 1] = '\0';
    return mt_writer_put_thread(trace, &rec);
}

static int put_counters(tick_state_t *ts)
{
    uint64_t dropped = retired_dropped;
    for (mt__thread_t *t = threads; t; t = t->next)
        dropped += __atomic_load_n(&t->ring.dropped, __ATOMIC_RELAXED);
    for (int ep = 0; ep < MT_EP_COUNT; ep++) {
        mt_counter_t c = {0};
        strncpy(c.name, mt_entry_point_names[ep], sizeof c.name - 1);
        c.calls = retired_calls[ep] + __atomic_load_n(&mt__late_calls[ep], __ATOMIC_RELAXED);
        c.bytes = retired_bytes[ep] + __atomic_load_n(&mt__late_bytes[ep], __ATOMIC_RELAXED);
        for (mt__thread_t *t = threads; t; t = t->next) {
            c.calls += __atomic_load_n(&t->calls[ep], __ATOMIC_RELAXED);
            c.bytes += __atomic_load_n(&t->bytes[ep], __ATOMIC_RELAXED);
        }
        int rc = mt_writer_put_counter(trace, &c);
        if (rc)
            return rc;
    }
    const struct {
        const char *name;
        uint64_t calls, bytes;
    } named[] = {
        {MT_COUNTER_EVENTS, events_total + ts->events, 0},
        {MT_COUNTER_DROPPED, dropped, 0},
        {MT_COUNTER_STACKS, ts->stack_cursor, 0},
        {MT_COUNTER_STACKS_LOST, __atomic_load_n(&mt__stacks_lost, __ATOMIC_RELAXED), 0},
        {MT_COUNTER_BLOCKS, blocks_total + ts->blocks, block_bytes_total + ts->block_bytes},
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        mt_counter_t c = {0};
        strncpy(c.name, named[i].name, sizeof c.name - 1);
        c.calls = named[i].calls;
        c.bytes = named[i].bytes;
        int rc = mt_writer_put_counter(trace, &c);
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
    for (mt__thread_t *t = threads; t && !rc; t = t->next) {
        /* Read exited before the ring: after the exit mark every event is in. */
        int exited = __atomic_load_n(&t->exited, __ATOMIC_ACQUIRE);
        uint64_t n = mt__ring_readable(&t->ring);
        t->writer_pending = n;
        t->writer_exited = exited;
        if (n)
            rc = put_events(t->seq, n, ring_fetch, &t->ring, ts);
        mt__placement_observe(&t->ring, n, now);
        if (n && !exited)
            refresh_name(t, now);
        if (!rc && (n || exited || !t->writer_known))
            rc = put_thread(t, exited, now);
    }
    if (!rc) {
        mt_event_t rss = {0};
        rss.ts = now;
        rss.type = MT_EV_RSS;
        rss.size = rss_now;
        rc = put_events(WRITER_SEQ, 1, single_fetch, &rss, ts);
    }
    if (!rc) { /* after the drain: placement of what is due (placement.c) */
        const mt_event_t *pl;
        size_t npl = mt__placement_poll(now, end_reason != NULL, &pl);
        if (npl)
            rc = put_events(WRITER_SEQ, npl, array_fetch, (void *)pl, ts);
    }
    ts->stack_cursor = stack_cursor;
    const uint64_t *pcs;
    uint32_t nframes, id;
    while (!rc && (id = mt__stack_next_ready(&ts->stack_cursor, &pcs, &nframes)))
        rc = mt_writer_put_stack(trace, id, pcs, nframes);
    if (!rc) {
        /* Under the tick lock, which fork's prepare handler takes: a fork
         * never finds this thread holding the loader's list lock, which
         * glibc does not reset in the child. */
        mt__modules_scan(0);
        rc = mt__modules_put(trace);
    }
    if (!rc)
        rc = put_counters(ts);
    if (!rc)
        rc = mt_writer_put_meta_u64(trace, MT_META_DURATION, now);
    if (!rc && end_reason) {
        rc = mt_writer_put_meta(trace, MT_META_END_REASON, end_reason, strlen(end_reason));
        if (!rc)
            rc = mt_writer_put_meta_u64(trace, MT_META_COMPLETE, 1);
    } else if (!rc && __atomic_load_n(&reopen_pending, __ATOMIC_ACQUIRE)) {
        rc = mt_writer_put_meta(trace, MT_META_END_REASON, "", 0);
        if (!rc)
            rc = mt_writer_put_meta_u64(trace, MT_META_COMPLETE, 0);
        if (!rc)
            __atomic_store_n(&reopen_pending, 0, __ATOMIC_RELEASE);
    }
    return rc;
}

/* After a commit: hand ring slots back and retire threads that exited. */
static void release_tick(const tick_state_t *ts)
{
    events_total += ts->events;
    blocks_total += ts->blocks;
    block_bytes_total += ts->block_bytes;
    stack_cursor = ts->stack_cursor;
    mt__placement_done();
    mt__modules_committed();
    mt__thread_t **link = &threads;
    while (*link) {
        mt__thread_t *t = *link;
        mt__ring_consume(&t->ring, t->writer_pending);
        t->writer_known = 1;
        if (t->writer_exited && mt__ring_readable(&t->ring) == 0) {
            for (int ep = 0; ep < MT_EP_COUNT; ep++) {
                retired_calls[ep] += t->calls[ep];
                retired_bytes[ep] += t->bytes[ep];
            }
            retired_dropped += t->ring.dropped;
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
        t->next = threads;
        threads = t;
        t = next;
    }
}

static void stop_recording(const char *why, int rc)
{
    mt__warn_once(MT__WARN_STORAGE, "cannot write trace %s: %s (%s); recording stopped, the "
                  "program continues", trace_dir, why, mt_strerror(rc));
    __atomic_store_n(&mt__recording, 0, __ATOMIC_RELEASE);
    /* Try to leave a note in the trace; it may well fail too. */
    if (rc != MT_EBADFD && mt_writer_begin(trace) == 0) {
        char note[256];
        size_t len = (size_t)snprintf(note, sizeof note, "%s: %s", why, mt_strerror(rc));
        if (mt_writer_put_meta(trace, MT_META_TRUNCATED, note, len) == 0)
            mt_writer_commit(trace);
        else
            mt_writer_abort(trace);
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
        int rc = mt_writer_begin(trace);
        if (!rc)
            rc = fill_tick(&ts, end_reason);
        /* LMDB writes pages to its fd only in the commit: check that the fd
         * is still data.mdb right before, so that a program which closed it
         * and opened a file of its own under that number is not written to.
         * (The check and the write are not atomic; this keeps the window to
         * the commit itself.) */
        if (!rc && (rc = mt_writer_check_fd(trace)) != 0) {
            mt_writer_abort(trace);
            stop_recording("the program closed or replaced the trace file", rc);
            return rc;
        }
        if (!rc)
            rc = mt_writer_commit(trace);
        else
            mt_writer_abort(trace);
        if (rc == 0) {
            release_tick(&ts);
            return 0;
        }
        if (rc == MT_EMAPFULL && mt_writer_can_grow(trace) && attempt < 8)
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
    int failed = 0;
    while (!failed) {
        uint32_t seen = __atomic_load_n(&mt__writer_wake, __ATOMIC_ACQUIRE);
        if (__atomic_load_n(&stop_requested, __ATOMIC_ACQUIRE))
            break;
        wait_for_work(seen);
        if (__atomic_load_n(&stop_requested, __ATOMIC_ACQUIRE))
            break;
        uint32_t asked = __atomic_load_n(&sync_asked, __ATOMIC_ACQUIRE);
        failed = tick(asked != sync_done ? sync_reason : NULL);
        if (asked != sync_done) {
            __atomic_store_n(&sync_done, asked, __ATOMIC_RELEASE);
            mt__sys_futex_wake(&sync_done, INT32_MAX);
        }
    }
    if (!failed) {
        tick(stop_reason);
        mt_writer_close(trace);
    }
    trace = NULL;
    __atomic_store_n(&mt__writer_alive, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&done, 1, __ATOMIC_RELEASE);
    mt__sys_futex_wake(&done, 1);
    return NULL;
}

int mt__writer_start(const char *dir, pid_t parent_pid)
{
    mt_writer_options_t opts = {0};
    opts.map_max = mt__opt.map_max;
    if (opts.map_max < (64u << 20))
        opts.map_initial = opts.map_max;
    snprintf(trace_dir, sizeof trace_dir, "%s", dir);
    int rc = mt_writer_open(&trace, dir, &opts);
    if (rc) {
        mt__warn_once(MT__WARN_STORAGE, "cannot create trace %s: %s; the program runs untraced",
                      dir, mt_strerror(rc));
        trace = NULL;
        return -1;
    }
    rc = mt_writer_begin(trace);
    if (!rc)
        rc = mt__proc_write_meta(trace, parent_pid);
    if (!rc)
        rc = mt__numa_write_meta(trace);
    if (!rc)
        rc = mt_writer_commit(trace);
    if (rc) {
        mt__warn_once(MT__WARN_STORAGE, "cannot write trace %s: %s; the program runs untraced",
                      dir, mt_strerror(rc));
        mt_writer_close(trace);
        trace = NULL;
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
    done = 0;
    stop_requested = 0;
    __atomic_store_n(&mt__writer_alive, 1, __ATOMIC_RELEASE);
    rc = pthread_create(&thread, &attr, writer_main, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        __atomic_store_n(&mt__writer_alive, 0, __ATOMIC_RELEASE);
        mt__warn_once(MT__WARN_THREAD, "cannot start the trace writer thread: %s; the program "
                      "runs untraced", strerror(rc));
        mt_writer_close(trace);
        trace = NULL;
        return -1;
    }
    running = 1;
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
        if (!__atomic_load_n(&mt__writer_alive, __ATOMIC_ACQUIRE) && word != &done)
            return -1;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long waited_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (waited_ms >= STOP_WAIT_MS) {
            mt__warn("the trace writer did not answer within %d ms; %s may miss its last events",
                     STOP_WAIT_MS, trace_dir);
            return -1;
        }
        struct timespec slice = {0, 50 * 1000000L};
        mt__sys_futex_wait(word, cur, &slice);
    }
}

void mt__writer_sync(const char *end_reason)
{
    if (!running || !__atomic_load_n(&mt__writer_alive, __ATOMIC_ACQUIRE))
        return;
    sync_reason = end_reason;
    uint32_t asked = __atomic_add_fetch(&sync_asked, 1, __ATOMIC_ACQ_REL);
    mt__wake_writer();
    wait_writer(&sync_done, asked);
}

void mt__writer_reopen(void)
{
    __atomic_store_n(&reopen_pending, 1, __ATOMIC_RELEASE);
}

void mt__writer_stop(const char *end_reason)
{
    if (!running)
        return;
    stop_reason = end_reason;
    __atomic_store_n(&stop_requested, 1, __ATOMIC_RELEASE);
    mt__wake_writer();
    wait_writer(&done, 1);
    running = 0;
    __atomic_store_n(&mt__recording, 0, __ATOMIC_RELEASE);
}

void mt__writer_after_fork(void)
{
    /* The parent's environment must not be used here: forget it. The thread
     * list and blocks are copies the parent still owns; they are dropped.
     * The tick lock was taken by the prepare handler in the forking thread. */
    pthread_mutex_init(&tick_lock, NULL);
    if (trace)
        mt_writer_forget(trace);
    trace = NULL;
    running = 0;
    mt__writer_alive = 0;
    stop_requested = 0;
    sync_asked = sync_done = 0;
    reopen_pending = 0;
    done = 0;
    threads = NULL;
    stack_cursor = 0;
    events_total = blocks_total = block_bytes_total = 0;
    retired_dropped = 0;
    mt__placement_reset();
    memset(retired_calls, 0, sizeof retired_calls);
    memset(retired_bytes, 0, sizeof retired_bytes);
    mt__writer_wake = 0;
}
