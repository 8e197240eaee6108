/* internal.h - shared state and functions of libmtrace.so, grouped by defining file.
 *
 * Invariants: hooks never lock, never call LMDB and never call dlsym after
 * init; everything a hook touches lives in mmap'd or static memory. A thread
 * is "inside mtrace" while mt__tls_thread is NULL and mt__tls_guard is set:
 * every allocation it makes then passes straight to the real allocator. The
 * guard is never held while the next allocator or the program's code runs
 * (a longjmp out of them would leave it set): see mt__tls_pass.
 */
#ifndef MT_PRELOAD_INTERNAL_H
#define MT_PRELOAD_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "format.h"

/* Everything declared below is internal to libmtrace.so. */
#pragma GCC visibility push(hidden)

#define MT__TLS __thread __attribute__((tls_model("initial-exec")))
#define mt__likely(x) __builtin_expect(!!(x), 1)
#define mt__unlikely(x) __builtin_expect(!!(x), 0)
#define MT__CACHE_LINE 64

typedef struct mt__thread mt__thread_t;
#define MT__EXPORT __attribute__((visibility("default")))

/* Adds N to *DEBT and says whether it became positive: one add to memory and
 * a conditional jump on x86-64 (compilers otherwise load, add, store and
 * test). */
static inline int mt__debt_add(int64_t *debt, int64_t n)
{
#if defined(__x86_64__) && defined(__GCC_ASM_FLAG_OUTPUTS__)
    int positive;
    __asm__("addq %2, %0" : "+m"(*debt), "=@ccg"(positive) : "r"(n) : "cc");
    return positive;
#else
    return (*debt += n) > 0;
#endif
}

/* Bumps an exact counter of the calling thread. Only the owner writes it;
 * the writer thread reads it with relaxed atomic loads. Plain adds keep the
 * hot path to two add-to-memory instructions; an aligned 64-bit store is
 * never torn on x86-64 and aarch64. */
#define MT__BUMP(t, ep, n)               \
    do {                                 \
        (t)->calls[ep] += 1;             \
        (t)->bytes[ep] += (uint64_t)(n); \
    } while (0)

/* ---- init.c ------------------------------------------------------------ */

enum mt__state { MT__UNINIT = 0, MT__INITIALIZING, MT__ON, MT__OFF };
extern int mt__state;          /* enum mt__state; atomic */
extern int mt__recording;      /* 0 once the writer has stopped for good; atomic */
extern pid_t mt__pid;          /* the traced process (updated in a fork child) */
extern uintptr_t mt__self_lo, mt__self_hi; /* libmtrace.so's own text, for frame skipping */

/* Brings the shim up on the first hook call; safe to call from any thread.
 * Returns the state after the attempt. */
int mt__init(void);
/* The hooks' slow path: the state to record with, or NULL when the call must
 * pass straight through (inside mtrace, shim off, thread exiting, or the
 * inner half of a forwarded call: see mt__tls_pass). */
mt__thread_t *mt__hook_slow(void);
/* Counts a call that passed through on a thread past its exit destructor. */
void mt__count_late(int ep, uint64_t bytes);
/* Stops recording, lets the writer drain every ring, marks the trace with
 * END_REASON and closes it. Bounded in time; never called in a vfork child. */
void mt__finish(const char *end_reason);
/* hooks_process.c: the parent side of a fork inside daemon() (which leaves
 * with glibc's internal _exit), and exits that skip destructors. */
void mt__process_fork_parent(void);
void mt__process_setup(void);

/* ---- log.c --------------------------------------------------------------- */

/* Prints "mtrace: warning: ..." once per KEY slot (see MT__WARN_*). */
enum { MT__WARN_OPTION, MT__WARN_STORAGE, MT__WARN_SETUP, MT__WARN_NUMA, MT__WARN_THREAD,
       MT__WARN_COUNT };
void mt__warn_once(int key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mt__warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mt__say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mt__vlog(const char *prefix, const char *fmt, va_list ap);
/* Remembers which file fd 2 is, at start: lines go there only while it is. */
void mt__log_setup(void);

/* ---- options.c --------------------------------------------------------- */

#define MT__OPT_TEXT 4096 /* bytes of a text option, its NUL included */
typedef struct mt__options { /* numbers are all u64: one table stores them */
    char out[MT__OPT_TEXT];      /* MTRACE_OUT template */
    char manifest[MT__OPT_TEXT]; /* MTRACE_MANIFEST: list of traces written (launcher) */
    uint64_t sample;      /* MTRACE_SAMPLE mean bytes; 0 = every call */
    uint64_t depth;       /* MTRACE_DEPTH */
    uint64_t flush_ms;    /* MTRACE_FLUSH_MS */
    uint64_t follow_fork; /* MTRACE_FOLLOW_FORK */
    uint64_t verbose;     /* MTRACE_VERBOSE */
    uint64_t quiet;       /* MTRACE_QUIET */
    uint64_t map_max;     /* MTRACE_MAP_MAX */
    uint64_t lossless;    /* MTRACE_LOSSLESS: wait for the writer when a ring is full */
    uint64_t ring_events; /* MTRACE_RING: events per thread ring (power of two) */
    uint64_t seed;        /* MTRACE_SEED: sampler seed; 0 = from the clock */
} mt__options_t;

extern mt__options_t mt__opt;
/* Reads every MTRACE_* variable with secure_getenv, warning once per bad value. */
void mt__options_load(void);
/* Prints the resolved table (MTRACE_VERBOSE=1). */
void mt__options_print(void);

/* ---- real.c -------------------------------------------------------------- */

typedef struct mt__real {
    void *(*malloc)(size_t);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void (*free)(void *);
    void *(*memalign)(size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*malloc_usable_size)(void *);
    void (*free_sized)(void *, size_t);
    void (*free_aligned_sized)(void *, size_t, size_t);
    int (*execve)(const char *, char *const[], char *const[]);
    int (*execv)(const char *, char *const[]);
    int (*execvp)(const char *, char *const[]);
    int (*execvpe)(const char *, char *const[], char *const[]);
    int (*fexecve)(int, char *const[], char *const[]);
    void (*exit_)(int) __attribute__((noreturn));
    void (*Exit_)(int) __attribute__((noreturn));
    void *(*dlopen)(const char *, int);
    void *(*dlmopen)(long, const char *, int); /* Lmid_t is a long */
    int (*dlclose)(void *);
    int (*daemon)(int, int);
} mt__real_t;

extern mt__real_t mt__real;
/* Resolves every RTLD_NEXT symbol. Returns 0, or -1 when malloc/free are missing. */
int mt__real_resolve(void);

/* ---- sys.c --------------------------------------------------------------- */

void *mt__sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int mt__sys_munmap(void *addr, size_t len);
/* Anonymous read-write memory, reserved lazily (MAP_NORESERVE); NULL on failure. */
void *mt__sys_reserve(size_t len);
/* futex(2) on a process-private word: waits while *WORD == VAL, at most
 * TIMEOUT (NULL: no limit); wakes up to N waiters. */
struct timespec;
void mt__sys_futex_wait(uint32_t *word, uint32_t val, const struct timespec *timeout);
void mt__sys_futex_wake(uint32_t *word, int n);
/* move_pages(2) itself: the shim's exported move_pages would record the call. */
long mt__sys_move_pages(int pid, unsigned long count, void **pages, const int *nodes,
                        int *status, int flags);
/* The system calls behind the mremap, mbind, set_mempolicy and migrate_pages
 * hooks (TARGET: MREMAP_FIXED's new address). -1 with errno on failure. */
void *mt__sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *target);
long mt__sys_mbind(void *addr, unsigned long len, int mode, const unsigned long *mask,
                   unsigned long maxnode, unsigned flags);
long mt__sys_set_mempolicy(int mode, const unsigned long *mask, unsigned long maxnode);
long mt__sys_migrate_pages(int pid, unsigned long maxnode, const unsigned long *from,
                           const unsigned long *to);

/* ---- bootstrap.c ------------------------------------------------------- */

/* A static arena that serves allocations made before the real allocator is
 * known (dlsym allocates). Its pointers are never passed to the real free. */
#define MT__BOOTSTRAP_SIZE (2u << 20)
extern unsigned char mt__bootstrap_arena[MT__BOOTSTRAP_SIZE];
void *mt__bootstrap_alloc(size_t size, size_t align);
size_t mt__bootstrap_size(const void *p);
static inline int mt__bootstrap_owns(const void *p)
{
    return (uintptr_t)p - (uintptr_t)mt__bootstrap_arena < MT__BOOTSTRAP_SIZE;
}

/* ---- clock.c ------------------------------------------------------------- */

uint64_t mt__now(void); /* ns since the trace's start */
void mt__clock_reset(void);

/* ---- ring.c -------------------------------------------------------------- */

/* Single-producer single-consumer ring of events; never blocks. */
typedef struct mt__ring {
    uint64_t head __attribute__((aligned(MT__CACHE_LINE))); /* producer */
    uint64_t dropped;                                       /* producer: events lost */
    int wake_sent;                                          /* producer: half-full wake sent */
    uint64_t seen_tail;                                     /* producer: tail as last read */
    uint64_t tail __attribute__((aligned(MT__CACHE_LINE))); /* consumer */
    uint32_t mask;
    mt_event_t *slots;
} mt__ring_t;

/* Returns 1 when pushed, 0 when the ring was full (not counted). Sets
 * *HALF when this push filled the ring to half for the first time since the
 * consumer last caught up. */
int mt__ring_push(mt__ring_t *r, const mt_event_t *e, int *half);
/* The same in two steps, so that the producer writes the event in place:
 * the slot for the next event (every field to be written), or NULL when the
 * ring is full; then publish it, returning what mt__ring_push sets *HALF to. */
static inline mt_event_t *mt__ring_reserve(mt__ring_t *r)
{
    uint64_t head = r->head;
    if (mt__unlikely(head - r->seen_tail > r->mask)) {
        r->seen_tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
        if (head - r->seen_tail > r->mask)
            return NULL;
    }
    return &r->slots[head & r->mask];
}

static inline int mt__ring_commit(mt__ring_t *r)
{
    uint64_t head = r->head + 1, half = ((uint64_t)r->mask + 1) / 2;
    __atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
    if (mt__likely(head - r->seen_tail < half))
        return 0; /* the consumer's tail is at least the one seen: below half */
    r->seen_tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    if (head - r->seen_tail < half) {
        r->wake_sent = 0;
        return 0;
    }
    if (r->wake_sent)
        return 0;
    r->wake_sent = 1;
    return 1;
}
/* Consumer: number of readable events and a pointer to the I-th of them. */
uint64_t mt__ring_readable(mt__ring_t *r);
const mt_event_t *mt__ring_at(mt__ring_t *r, uint64_t i);
/* Consumer: how many of the N readable events from the I-th on lie in one
 * run of slots from mt__ring_at(R, I) (until the end of N or of the slots). */
uint64_t mt__ring_run(const mt__ring_t *r, uint64_t i, uint64_t n);
void mt__ring_consume(mt__ring_t *r, uint64_t n);

/* ---- thread.c ------------------------------------------------------------ */

/* Per-thread state, plain data in its own mmap'd region (with its ring). */
struct mt__thread {
    int64_t sample_debt;               /* minus the bytes until the next sample */
    uint64_t calls[MT_EP_COUNT];       /* exact counters, owner-written */
    uint64_t bytes[MT_EP_COUNT];
    uint64_t rng;                      /* sampler state */
    mt__ring_t ring;
    uint32_t seq;                      /* trace-wide thread number (blocks use it) */
    uint32_t tid;
    uint64_t first_ts;
    int exited;                        /* atomic; set by the thread's destructor */
    char name[16];                     /* owner-written under name_seq (thread.c) */
    uint32_t name_seq;                 /* odd while the owner rewrites name */
    uint64_t name_ts;                  /* owner only: when it last read its name */
    size_t map_len;                    /* length of this mapping */
    uint64_t writer_pending;           /* writer only: events in the open tick */
    int writer_exited;                 /* writer only: exit seen in the open tick */
    int writer_known;                  /* writer only: thread record written */
    uint64_t writer_observed;          /* writer only: readable events held, placement saw */
    char writer_name[16];              /* writer only: the last name read whole */
    struct mt__thread *next;           /* incoming list, then writer-private list */
};

extern MT__TLS mt__thread_t *mt__tls_thread; /* NULL while inside mtrace */
extern MT__TLS int mt__tls_guard;            /* nonzero while inside mtrace */
extern MT__TLS int mt__tls_exiting;          /* thread passed its mtrace destructor */

/* A hook that counted its call and forwards it to a next definition that
 * calls back into the hooks (libstdc++'s operator new calls malloc, new[]
 * calls new, sized delete calls delete, ...) parks the thread's state here
 * and sets mt__tls_thread to NULL. The first allocator hook the call reaches
 * is its inner half: it takes the state back before it calls anything
 * (mt__hook_slow) and passes through uncounted. No guard is held across the
 * allocator, so a longjmp out of it, or out of a new_handler, leaves nothing
 * behind; the unsampled fast path is unchanged (it already tests for NULL). */
extern MT__TLS mt__thread_t *mt__tls_pass;

static inline void mt__pass_begin(mt__thread_t *t)
{
    mt__tls_pass = t;
    mt__tls_thread = NULL;
}

/* After the forwarded call returned (or unwound): normal state again. */
static inline void mt__pass_end(mt__thread_t *t)
{
    mt__tls_pass = NULL;
    mt__tls_thread = t;
}

/* Enters mtrace on this thread: every allocation until mt__leave passes
 * straight through, uncounted. Scopes nest. */
typedef struct mt__scope {
    mt__thread_t *thread;
    int guard;
} mt__scope_t;

static inline mt__scope_t mt__enter(void)
{
    mt__scope_t s = {mt__tls_thread, mt__tls_guard};
    mt__tls_thread = NULL;
    mt__tls_guard = 1;
    return s;
}

static inline void mt__leave(mt__scope_t s)
{
    mt__tls_guard = s.guard;
    mt__tls_thread = s.thread;
}

/* Creates this thread's state; NULL when it cannot (counted by the caller). */
mt__thread_t *mt__thread_register(void);
/* Writer: moves newly registered threads onto its private list. */
mt__thread_t *mt__thread_take_new(void);
/* The sampled path, in the thread T itself: re-reads its name (prctl, no
 * descriptor) when NOW is a second or more past the last read. */
void mt__thread_name_refresh(mt__thread_t *t, uint64_t now);
#define MT__NAME_REFRESH_NS 1000000000ull
static inline int mt__thread_name_due(const mt__thread_t *t, uint64_t now)
{
    return !t->name_ts || now - t->name_ts >= MT__NAME_REFRESH_NS;
}
/* The writer: copies T's name into OUT; -1 when T was rewriting it. */
int mt__thread_name_read(const mt__thread_t *t, char out[16]);
void mt__thread_unmap(mt__thread_t *t);
/* Sets up the key whose destructor marks a thread exited. */
int mt__thread_setup(void);
/* Fork child: forgets every thread but the caller, whose ring is emptied. */
void mt__thread_after_fork(mt__thread_t *self);
/* Calls/bytes of threads that were retired, and calls made by threads after
 * their destructor ran (atomic adds). */
extern uint64_t mt__late_calls[MT_EP_COUNT], mt__late_bytes[MT_EP_COUNT];

/* ---- sampler.c ----------------------------------------------------------- */

/* Bytes until the next sample: an exponential draw with mean mt__opt.sample
 * (0 when every call is sampled). */
int64_t mt__sampler_next(uint64_t *rng);
/* Weight of a sampled request of SIZE bytes (objects it stands for * 65536). */
uint64_t mt__sampler_weight(uint64_t size);
/* The sampler state of thread SEQ: from MTRACE_SEED and SEQ when set (the
 * same program, seed and thread order sample the same calls), else from the
 * clock and the thread id. */
uint64_t mt__sampler_seed(uint32_t seq);

/* ---- stacks.c ------------------------------------------------------------ */

/* Returns the id of the stack PCS[N] (1-based), inserting it lock-free, or 0
 * when the table is full. */
uint32_t mt__stack_intern(const uint64_t *pcs, uint32_t n);
/* The stack hash, computed from the outermost frame in, so that the unwinder
 * extends the hash of the frames it kept from its last capture: H = SEED,
 * then H = step(H, pc) for each frame outermost first; final(H, n). */
#define MT__STACK_HASH_SEED 0x84222325cbf29ce4ull
static inline uint64_t mt__stack_hash_step(uint64_t h, uint64_t pc)
{
    h = (h ^ pc) * 0x9E3779B97F4A7C15ull;
    return h ^ (h >> 29);
}
static inline uint64_t mt__stack_hash_final(uint64_t h, uint32_t n)
{
    h = (h ^ n) * 0xD6E8FEB86659FD93ull;
    h ^= h >> 32;
    return h ? h : 1;
}
/* The id of the stack whose hash is H, if it is published; 0 otherwise. */
uint32_t mt__stack_lookup(uint64_t h);
/* mt__stack_intern for a stack whose hash H the caller computed. */
uint32_t mt__stack_intern_hashed(uint64_t h, const uint64_t *pcs, uint32_t n);
/* Writer: the next published stack after *CURSOR, or 0 when none is ready. */
uint32_t mt__stack_next_ready(uint32_t *cursor, const uint64_t **pcs, uint32_t *n);
int mt__stacks_setup(void);
void mt__stacks_after_fork(void);
extern uint64_t mt__stacks_lost;
extern uint32_t mt__stacks_epoch; /* bumped when the table starts over (fork child) */

/* ---- cfi.c --------------------------------------------------------------- */

/* How to step from a frame to its caller (x86-64): CFA = reg + cfa_offset,
 * return address at CFA - 8, caller's rbp at CFA + rbp_offset if that is
 * not 0 (a saved register is never at the CFA itself). 16 bytes. */
enum { MT__CFI_OK = 1, MT__CFI_END, MT__CFI_COMPLEX };
enum { MT__CFI_RSP = 7, MT__CFI_RBP = 6 };
typedef struct mt__cfi_rule {
    uint64_t pc;        /* the address this rule is for (cache key) */
    int32_t cfa_offset;
    int16_t rbp_offset; /* 0: rbp is not saved (keeps the callee's value) */
    uint8_t cfa_reg;    /* MT__CFI_RSP or MT__CFI_RBP */
    uint8_t kind;       /* MT__CFI_OK; END: outermost frame; COMPLEX: not modelled */
} mt__cfi_rule_t;

/* Fills RULE for code address PC from its .eh_frame FDE. */
void mt__cfi_find(uintptr_t pc, mt__cfi_rule_t *rule);

/* Each thread caches rules in its own region (thread.c), lock-free. The
 * region holds, right after the cache, mt__unwind_scratch_size() bytes of
 * the unwinder's (its shadow stack and the buffer a stack is captured into),
 * so that a capture takes little of the thread's stack. */
#define MT__CFI_CACHE_BITS 12
extern MT__TLS mt__cfi_rule_t *mt__tls_cfi_cache;

/* ---- unwind.c ------------------------------------------------------------ */

/* Captures the caller's stack without mtrace's own frames; returns its id. */
uint32_t mt__unwind_stack(void);
/* The same from the frame executing at return address PC with rsp SP and
 * rbp FP (mtrace's own frames among the first are stepped). */
uint32_t mt__unwind_stack_at(uintptr_t pc, uintptr_t sp, uintptr_t fp);
/* Bytes of the thread's region the unwinder uses after the rule cache. */
size_t mt__unwind_scratch_size(void);
/* The capture paths, for tests: up to MAX return addresses into PCS. The
 * cached path (mt__unwind_stack's: rules and the thread's shadow stack) and
 * the rules-only path return -1 when a frame needs the general unwinder. */
int mt__unwind_cached(uint64_t *pcs, uint32_t max);
int mt__unwind_fast(uint64_t *pcs, uint32_t max);
uint32_t mt__unwind_slow(uint64_t *pcs, uint32_t max);
/* Code may have been unmapped (dlclose): every thread forgets its cached
 * rules and kept walks at its next capture, since other code may be mapped
 * at the same addresses. */
void mt__unwind_code_changed(void);
/* Frames the last cached capture of this thread stepped with rules, and
 * frames it took from its shadow stack. */
void mt__unwind_cached_stats(uint32_t *walked, uint32_t *reused);
/* Runs both capture paths once, from the constructor: libgcc_s binds its
 * PLT lazily (_dl_find_object, ...), and the resolver needs about 3 KiB of
 * stack, which the first sampled call must not take from a small thread. */
void mt__unwind_warm(void);

/* ---- liveset.c ----------------------------------------------------------- */

/* The set of live sampled pointers, so that free records only those. */
#define MT__LIVE_BITS 14
#define MT__LIVE_COUNT_SHIFT 56
#define MT__LIVE_COUNT_MASK ((uintptr_t)0x3f << MT__LIVE_COUNT_SHIFT)
int mt__liveset_setup(void);
void mt__liveset_insert(uintptr_t p);
/* Removes P and returns 1 if it was a live sample. */
int mt__liveset_remove(uintptr_t p);
/* Enters bootstrap pointer P so that free's inline check finds it. */
void mt__liveset_mark_bootstrap(uintptr_t p);
/* The exact set: direct-mapped by (p >> 3), a sampled pointer and in bits
 * 56-61 how many samples of the slot went to the overflow table (2^17
 * words, reserved, touched only when slots collide). */
extern uintptr_t mt__live_slots[1u << MT__LIVE_BITS];
extern int mt__record_all_frees; /* every free is recorded (the filter is all ones) */

/* P's word: indexed by address bits 3-16. */
static inline uintptr_t *mt__live_word(uintptr_t p)
{
    return (uintptr_t *)((char *)mt__live_slots +
                         (p & ((uintptr_t)((1u << MT__LIVE_BITS) - 1) << 3)));
}

/* The filter in front of the set (liveset.c): COUNTS is the address of the
 * byte counters of the size in use, and its low 6 bits are that size's shift
 * (64 - log2 of its buckets): bucket I's count is at COUNTS + I. */
#define MT__LIVE_HASH 0x9E3779B97F4A7C15ull
#define MT__FILTER_MIN_BITS 10
#define MT__FILTER_MAX_BITS 18
#define MT__FILTER_STEP 2 /* sizes 2^10, 2^12, ... 2^18 */
struct mt__live_filter {
    unsigned char *counts;
    char pad[MT__CACHE_LINE - sizeof(unsigned char *)];
};
extern struct mt__live_filter mt__live_filter;
/* For tests: log2 of the buckets the check uses (0: every free is
 * recorded), and P's count in the size of 2^BITS buckets (BITS one of the
 * sizes). */
int mt__liveset_filter_bits(void);
unsigned mt__liveset_filter_count(uintptr_t p, int bits);

/* The hooks' inline negative check: 0 means P is certainly not a sample.
 * One load of the filter's pointer, a multiply and a shift (the shift count
 * is the pointer's low bits: x86 shifts use only those), one byte compared
 * in memory (a plain load: other threads change it with atomic RMWs, and
 * a sample's count was raised before its pointer left the allocating
 * thread, which the program's own hand-over orders before this free). */
static inline int mt__free_maybe_sampled(uintptr_t p)
{
    uintptr_t w = (uintptr_t)__atomic_load_n(&mt__live_filter.counts, __ATOMIC_RELAXED);
    uintptr_t i = (p * MT__LIVE_HASH) >> (w & 63);
    return ((const unsigned char *)w)[i] != 0;
}

/* ---- record.c ------------------------------------------------------------ */

/* Slow paths of the hooks: build the event, capture the stack, push it. */
void mt__record_alloc(mt__thread_t *t, void *p, size_t size, int kind);
/* Where a capture starts: the frame of the hook's caller, as it is after
 * the hook returns (PC its return address, SP and FP rsp and rbp then).
 * MT__CALLER(c), first in a hook's sampled half built with MT__CALLER_FRAME
 * (its own frame pointer, so that the frame address is where the caller's
 * state was saved), reads it from the hook's frame: the walk then starts at
 * the caller, without stepping mtrace's own two frames (record.c and the
 * sampled half). Any caller is right: should the hook have called its
 * sampled half with a frame of its own, the walk steps that frame. */
typedef struct mt__caller {
    uintptr_t pc, sp, fp;
} mt__caller_t;
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MT__CALLER_FRAME __attribute__((optimize("no-omit-frame-pointer")))
#define MT__CALLER(c)                                                                   \
    const uintptr_t *c##_fa = (const uintptr_t *)__builtin_frame_address(0);            \
    const mt__caller_t c = {c##_fa[1], (uintptr_t)(c##_fa + 2), c##_fa[0]}
#define MT__RECORD_ALLOC_FROM(c, t, p, size, kind) mt__record_alloc_from(t, p, size, kind, &(c))
#else
#define MT__CALLER_FRAME
#define MT__CALLER(c) const int c = 0
#define MT__RECORD_ALLOC_FROM(c, t, p, size, kind) ((void)(c), mt__record_alloc(t, p, size, kind))
#endif
/* mt__record_alloc with the capture starting at FROM. */
void mt__record_alloc_from(mt__thread_t *t, void *p, size_t size, int kind,
                           const mt__caller_t *from);
/* Before the real free: 1 when P's free must be recorded (P is a live
 * sample, now removed from the set, or every call is recorded). */
int mt__record_claim_free(void *p);
/* Records the free of P at time TS (taken before the real free ran). */
void mt__record_free_at(mt__thread_t *t, void *p, int kind, uint64_t ts);
/* A free hook's slow path, out of line, before the real free: records P's
 * free now if P is a live sample (or every call is recorded). */
void mt__record_free(mt__thread_t *t, void *p, int kind) __attribute__((noinline, cold));
void mt__record_map(mt__thread_t *t, const mt_event_t *proto, int with_stack);
void mt__wake_writer(void);
/* The pieces of the sampled path, for other recorders (pool.c): enter and
 * leave mtrace keeping errno; push into the thread's ring (a full ring drops
 * the event, counted, or with MTRACE_LOSSLESS and MAY_WAIT waits a bounded
 * time for a live writer; returns 1 when pushed); fill in cpu and node. */
void mt__record_enter(void);
void mt__record_leave(mt__thread_t *t);
int mt__record_push(mt__thread_t *t, const mt_event_t *e, int may_wait);
void mt__record_locate(mt_event_t *e);
/* The start of every sampled allocation: redraws the thread's sampling debt
 * and says whether P is to be recorded (recording still on, P not NULL). */
int mt__record_sample_due(mt__thread_t *t, const void *p);
/* Fills an allocation event of TYPE: time, KIND, P, SIZE, weight, stack,
 * cpu and node. Call between mt__record_enter and mt__record_leave. */
void mt__record_fill_alloc(mt_event_t *e, int type, int kind, const void *p, size_t size);

/* ---- hooks_cxx.c ------------------------------------------------------- */

/* Resolves the next operator new/delete definitions. */
void mt__cxx_resolve(void);

/* ---- hooks_alloc.c ------------------------------------------------------ */

/* pvalloc from the next allocator, or built from its memalign when it has
 * none: SIZE rounded up to whole pages (0: one page), ENOMEM on overflow.
 * Also the stand-in of tcmalloc's tc_pvalloc (hooks_private.c). */
void *mt__next_pvalloc(size_t size);

/* ---- hooks_private.c ---------------------------------------------------- */

/* The next definitions of the allocator-private entry points of
 * hooks_private.def (NULL when no later library defines one), and the
 * stand-ins (mt__emul_<symbol>) that serve a call when it is NULL. */
#define MT_PRIVATE_ALLOC(sym, ep, kind, params, args, bytes, align) void *(*sym) params;
#define MT_PRIVATE_FREE(sym, ep, kind, params, args, bytes) void (*sym) params;
#define MT_PRIVATE_REALLOC(sym, ep, params, size, fwdargs, narg, marg) void *(*sym) params;
#define MT_PRIVATE_OTHER(ret, sym, params) ret (*sym) params;
typedef struct mt__priv {
#include "hooks_private.def"
} mt__priv_t;
#undef MT_PRIVATE_ALLOC
#undef MT_PRIVATE_FREE
#undef MT_PRIVATE_REALLOC
#undef MT_PRIVATE_OTHER
#define MT_PRIVATE_ALLOC(sym, ep, kind, params, args, bytes, align) \
    void *mt__emul_##sym params;                                       \
    void *mt__next_##sym params;
#define MT_PRIVATE_FREE(sym, ep, kind, params, args, bytes) \
    void mt__emul_##sym params;                              \
    void mt__next_##sym params;
#define MT_PRIVATE_REALLOC(sym, ep, params, size, fwdargs, narg, marg) \
    void *mt__emul_##sym params;                                   \
    void *mt__fwd_##sym(void *p, size_t n, size_t m);
#define MT_PRIVATE_OTHER(ret, sym, params) ret mt__emul_##sym params;
#include "hooks_private.def"
#undef MT_PRIVATE_ALLOC
#undef MT_PRIVATE_FREE
#undef MT_PRIVATE_REALLOC
#undef MT_PRIVATE_OTHER

extern mt__priv_t mt__priv;
/* The next call of private entry point SYM, or its stand-in. */
#define MT__PRIV_CALL(sym, args) (mt__priv.sym ? mt__priv.sym args : mt__emul_##sym args)
/* The alignment jemalloc's FLAGS ask for (MALLOCX_LG_ALIGN), at least 16. */
static inline size_t mt__mallocx_align(int flags)
{
    return (flags & 0x3f) ? (size_t)1 << (flags & 0x3f) : 16;
}
/* Resolves mt__priv and finds the next allocator's image (at init). */
void mt__private_resolve(void);
/* The address range [lo, lo + len) of the next allocator's loaded image when
 * that is not libc (len 0 otherwise): mapping calls made from code in it are
 * the allocator's own (hooks_map.c). */
extern uintptr_t mt__allocator_lo, mt__allocator_len;
static inline int mt__from_allocator(const void *caller)
{
    return (uintptr_t)caller - mt__allocator_lo < mt__allocator_len;
}
/* Whether a private entry point called from CALLER is the allocator's own
 * call: made from its image, or reached through a tail call inside it from
 * one of mtrace's forwarders (mt__next_<symbol>: tcmalloc's tc_valloc jumps
 * to tc_memalign, its sized frees to tc_free, through the PLT). Such a call
 * is passed straight through, uncounted. Decided by the return address
 * alone, so nothing is left to reset when an exception or a longjmp leaves
 * the allocator. */
static inline int mt__private_nested(const void *caller)
{
    return mt__from_allocator(caller) ||
           (uintptr_t)caller - mt__self_lo < mt__self_hi - mt__self_lo;
}

/* ---- cpu.c --------------------------------------------------------------- */

/* glibc's rseq area (sys/rseq.h, glibc 2.35+, in ld.so). Not weak: a weak
 * reference is left unresolved by ld, ld.so being only an as-needed input. */
extern const ptrdiff_t __rseq_offset __attribute__((visibility("default")));
extern const unsigned int __rseq_size __attribute__((visibility("default")));
#define MT__RSEQ_CPU_ID 4 /* offsetof(struct rseq, cpu_id) */
/* This thread's rseq cpu_id: the current CPU, or negative when the area is
 * not registered. */
static inline int mt__cpu_rseq_id(void)
{
    const char *tp = (const char *)__builtin_thread_pointer();
    return *(const volatile int32_t *)(tp + __rseq_offset + MT__RSEQ_CPU_ID);
}
/* sched_getcpu(): the CPU when rseq does not say (-1 on failure). */
int mt__cpu_slow(void) __attribute__((cold));
/* The CPU this thread runs on (-1 when unknown): one load from the rseq area
 * where glibc registered one, otherwise sched_getcpu. */
static inline int mt__cpu_now(void)
{
    if (mt__likely(__rseq_size != 0)) {
        int cpu = mt__cpu_rseq_id();
        if (mt__likely(cpu >= 0))
            return cpu;
    }
    return mt__cpu_slow();
}
/* For tests: 1 when mt__cpu_now reads this thread's rseq area. */
int mt__cpu_from_rseq(void);

/* ---- numa.c -------------------------------------------------------------- */

/* CPU -> node table and the topology, built at start from libnuma. */
int16_t mt__node_of_cpu(int cpu);
void mt__numa_setup(void);
/* Writes meta "numa_topology" into the open transaction. Returns 0 or a writer error. */
int mt__numa_write_meta(mt_writer_t *w);

/* ---- placement.c (writer thread only) ------------------------------------ */

/* Shows N events drained this tick (in ring order) to the placement table.
 * Idempotent, so a redone tick may show them again. */
void mt__placement_observe(const mt_event_t *e, size_t n, uint64_t now);
/* Asks where the pages of the objects due at NOW are (FINAL: the last tick,
 * every object not asked yet); *OUT = the PLACEMENT events to write, valid
 * until mt__placement_done. A redone tick gets the same events again. */
size_t mt__placement_poll(uint64_t now, int final, const mt_event_t **out);
/* After the tick committed. */
void mt__placement_done(void);
/* Forgets every object (fork child). */
void mt__placement_reset(void);

/* ---- writer.c ------------------------------------------------------------ */

/* Opens the trace and starts the writer thread. Returns 0 or -1 (warned). */
int mt__writer_start(const char *dir, pid_t parent_pid);
/* Asks the writer to finish (final tick, END_REASON) and waits a bounded time. */
void mt__writer_stop(const char *end_reason);
/* Commits everything buffered now, marking the trace complete with
 * END_REASON, and waits a bounded time; the writer keeps running (exec: if
 * it fails, mt__writer_reopen marks the trace incomplete again). */
void mt__writer_sync(const char *end_reason);
void mt__writer_reopen(void);
/* Fork child: forgets the parent's writer without touching its LMDB env. */
void mt__writer_after_fork(void);
/* fork's prepare and parent handlers: no tick runs across a fork. */
void mt__writer_fork_prepare(void);
void mt__writer_fork_parent(void);
extern uint32_t mt__writer_wake; /* futex word */
extern int mt__writer_alive;     /* the writer thread runs and can drain rings */

/* ---- path.c -------------------------------------------------------------- */

/* Expands the MTRACE_OUT template for PID into an absolute, not yet
 * existing directory name. Returns 0 or -1. */
int mt__path_resolve(char *out, size_t cap, const char *tmpl, pid_t pid);
void mt__path_capture_cwd(void);
/* Appends DIR and a newline to the MTRACE_MANIFEST file, if one is set; a
 * failure is silent (only the launcher's closing list loses a line). */
void mt__path_announce(const char *dir);

/* ---- procinfo.c ---------------------------------------------------------- */

/* Opens what the ticks read (/proc/self/stat) where the trace starts. */
void mt__proc_setup(void);
/* A fork child: drops the parent's (single-threaded: safe to close). */
void mt__proc_after_fork(void);
/* Resident bytes (/proc/self/stat); 0 when unknown (no RSS event). */
uint64_t mt__proc_rss(void);
/* Whether main ended (pthread_exit) and the caller is the only thread left. */
int mt__proc_only_caller_left(void);
/* Writes the process metadata (command, exe, argv, pids) into the open txn. */
int mt__proc_write_meta(mt_writer_t *w, pid_t parent_pid);

/* ---- modules.c ----------------------------------------------------------- */

/* Re-reads the module map if the loader added or removed objects since the
 * last scan: new modules get the previous scan's time as load time, gone
 * ones now as unload time. HOOKED: called from a dlopen/dlclose hook (set
 * the recursion guard first). Any thread; never holds a lock across a call
 * into the loader. */
void mt__modules_scan(int hooked);
/* Writer, in a tick: puts every record changed since the last commit. */
int mt__modules_put(mt_writer_t *w);
/* Writer, after the tick committed. */
void mt__modules_committed(void);
/* Fork child: forgets every record (the child's trace gets them anew). */
void mt__modules_reset(void);

#pragma GCC visibility pop

#endif
