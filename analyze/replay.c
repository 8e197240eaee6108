/* replay.c - the replay engine behind top and leaks: streams the event blocks
 * of one or several traces in time order and keeps per-stack totals.
 *
 * Order: a block is one thread's run of events in time order, and a thread's
 * blocks follow each other in block sequence order. A first pass over the
 * block headers lists each thread's blocks (8 bytes per block); the second
 * pass is a k-way merge, a binary heap of one cursor per thread of every
 * trace, keyed by time on a merged timeline (start_realtime_ns + ts). Blocks
 * are decoded in place from the reader's snapshot. Memory is bounded by
 * distinct stacks + live allocations + threads + blocks, never by events.
 *
 * Traces are separate address spaces (a parent and its fork children): each
 * has its own live table, and stacks are keyed by (trace, stack id). The
 * peak is the peak of the sum over traces on the merged timeline.
 *
 * A window [from, to) (--from / --to) keeps the allocations made in it: the
 * ones made before `from` go into the live table with stack PRE_WINDOW, so
 * that their frees are known, and count nowhere; the merge stops at `to`.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "internal.h"

/* ---- live allocations of one address space ----------------------------
 * Entries in an array (freed ones chained for reuse), found by ptr through
 * the shared table (a null pointer is never live). */

#define PRE_WINDOW UINT32_MAX /* live_ent_t.stack of an allocation made before --from */

typedef struct live_ent {
    uint64_t ptr, size, weight; /* ptr 0: a free entry */
    uint32_t stack;             /* index into rp->stacks */
    uint32_t next_free;
} live_ent_t;

typedef struct live {
    mt_table_t by_ptr; /* ptr -> index in ent */
    live_ent_t *ent;
    size_t nent, cap;
    uint32_t free_head; /* MT_TABLE_NONE: none */
} live_t;

static live_ent_t *live_find(const live_t *t, uint64_t ptr)
{
    uint32_t i = mt_table_get(&t->by_ptr, ptr);
    return i == MT_TABLE_NONE ? NULL : &t->ent[i];
}

/* Inserts E (its ptr must be absent and nonzero). Returns 0 or ENOMEM. */
static int live_put(live_t *t, const live_ent_t *e)
{
    uint32_t i = t->free_head;
    if (i == MT_TABLE_NONE) {
        if (t->nent >= MT_TABLE_NONE - 1 || !MT_VEC_PUSH(NULL, t->ent, t->nent, t->cap))
            return ENOMEM;
        i = (uint32_t)t->nent;
    }
    if (mt_table_put(&t->by_ptr, e->ptr, i))
        return ENOMEM;
    if (i == t->free_head)
        t->free_head = t->ent[i].next_free;
    else
        t->nent++;
    t->ent[i] = *e;
    return 0;
}

static void live_del(live_t *t, live_ent_t *e)
{
    uint32_t i = (uint32_t)(e - t->ent);
    mt_table_del(&t->by_ptr, e->ptr, i);
    e->ptr = 0;
    e->next_free = t->free_head;
    t->free_head = i;
}

/* ---- cursors: one per thread of each trace ---------------------------- */

typedef struct cursor {
    uint32_t trace;
    uint32_t thread;      /* the shim's thread sequence number */
    uint64_t *blocks;     /* this thread's block sequence numbers, in order */
    uint32_t *jobs;       /* and their numbers in the predecoder */
    size_t nblocks, cap, jobs_cap, pos;
    uint64_t block;       /* sequence number of the block being decoded */
    mt_block_decoder_t dec;
    mt_predecoded_t pre;  /* or its events, decoded by the predecoder */
    size_t pre_i;         /* the next of them */
    bool from_pre;
    mt_event_t ev;        /* the next event, when decoded here */
    const mt_event_t *e;  /* the next event: &ev or in pre.ev */
    uint64_t key;         /* its time on the merged timeline */
    uint64_t last_ptr;    /* this thread's last allocation, while not followed */
    bool last_valid;      /* by another one (temporary allocations) */
} cursor_t;

typedef struct priv {
    mt_table_t stack_map; /* trace << 32 | stack id -> index in rp->stacks */
    size_t stack_cap;
    mt_table_t thread_map;     /* trace << 32 | thread seq -> index in cursors */
    cursor_t *cursors;
    size_t ncursors, cursor_cap;
    cursor_t **heap;
    size_t nheap;
    uint64_t cur_ts;      /* ts of the event being replayed (its trace's clock) */
    bool pre;             /* that event is before the window */
    uint64_t peak_gen;    /* bumped at each new peak */
    uint32_t growth_next; /* growth points whose time has passed */
    /* blocks decoded ahead (predecode.c): each block's cursor and place */
    mt_predecode_t *pd;
    struct block_ref {
        uint64_t key;     /* its first event's time on the merged timeline */
        uint32_t cursor, pos;
        const void *data;
        size_t len;
    } *refs;
    size_t nrefs, refs_cap;
    /* progress */
    uint64_t blocks_total, blocks_done;
    struct timespec t0, last_print;
    bool printed;
} priv_t;

static priv_t *P(const mt_replay_t *rp)
{
    return rp->priv;
}

int mt_replay_init(mt_replay_t *rp, const mt_replay_options_t *opt)
{
    memset(rp, 0, sizeof(*rp));
    if (opt)
        rp->opt = *opt;
    else
        rp->opt.pool = MT_POOL_NONE;
    rp->complete = true;
    if (!(rp->priv = calloc(1, sizeof(priv_t))))
        return ENOMEM;
    return 0;
}

void mt_replay_free(mt_replay_t *rp)
{
    priv_t *p = P(rp);
    for (size_t i = 0; i < rp->ntraces; i++) {
        live_t *t = rp->traces[i].live;
        if (t) {
            mt_table_free(&t->by_ptr);
            free(t->ent);
        }
        free(t);
        free(rp->traces[i].reuse_ts);
    }
    free(rp->traces);
    for (size_t i = 0; i < rp->nstacks; i++)
        free(rp->stacks[i].growth);
    free(rp->stacks);
    if (p) {
        mt_table_free(&p->stack_map);
        mt_table_free(&p->thread_map);
        for (size_t i = 0; i < p->ncursors; i++) {
            free(p->cursors[i].blocks);
            mt_block_close(&p->cursors[i].dec); /* a block left mid-way (--to) */
            free(p->cursors[i].jobs);
            free(p->cursors[i].pre.ev);
        }
        mt_predecode_free(p->pd);
        free(p->refs);
        free(p->cursors);
        free(p->heap);
        free(p);
    }
    memset(rp, 0, sizeof(*rp));
}

/* ---- address reuse ------------------------------------------------------
 * A stack id is a list of pcs; after a dlclose, a dlopen may map another
 * library at those addresses. Events of one stack are kept apart at every
 * unload time after which a different file (or the same at another bias)
 * was mapped over the unloaded range, so each is symbolized with the module
 * mapped at its own time. Reloading the same file at the same place does not
 * split (its pcs mean the same). */

typedef struct reuse_mod {
    uint64_t lo, hi, base, first_ts, last_ts, ident;
} reuse_mod_t;

#define REUSE_WINDOW 64 /* neighbours compared; beyond, split anyway */

static int cmp_reuse_mod(const void *a, const void *b)
{
    const reuse_mod_t *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return x->first_ts < y->first_ts ? -1 : x->first_ts > y->first_ts;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t ident_of(const mt_module_t *m)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (const char *p = m->path; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    for (uint32_t i = 0; i < m->build_id_len && i < sizeof(m->build_id); i++)
        h = (h ^ m->build_id[i]) * 0x100000001b3ull;
    return h;
}

static int load_reuse(mt_replay_trace_t *t, mt_reader_t *r)
{
    static mt_module_t m; /* 4 KiB path: not on the stack */
    reuse_mod_t *v = NULL;
    size_t n = 0, cap = 0;
    uint64_t cursor = 0;
    int rc;
    while ((rc = mt_reader_next_module(r, &cursor, &m)) == 1) {
        if (m.hi <= m.lo)
            continue;
        reuse_mod_t *x = MT_VEC_PUSH(NULL, v, n, cap);
        if (!x) {
            free(v);
            return ENOMEM;
        }
        *x = (reuse_mod_t){m.lo, m.hi, m.base, m.first_ts, m.last_ts, ident_of(&m)};
        n++;
    }
    if (rc < 0) {
        free(v);
        return rc;
    }
    if (!n)
        return 0;
    qsort(v, n, sizeof(*v), cmp_reuse_mod);
    uint64_t *maxhi = malloc(n * sizeof(uint64_t));
    if (!maxhi || !(t->reuse_ts = malloc(n * sizeof(uint64_t)))) {
        free(maxhi);
        free(v);
        return ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        maxhi[i] = i && maxhi[i - 1] > v[i].hi ? maxhi[i - 1] : v[i].hi;
    for (size_t i = 0; i < n; i++) {
        if (!v[i].last_ts)
            continue;
        bool split = false;
        size_t seen = 0;
        /* The others over its range: after it in the order while they start
         * inside it, and before it while one of them may still reach it. */
        for (size_t j = i + 1; j < n && v[j].lo < v[i].hi && !split; j++)
            split = ++seen > REUSE_WINDOW || v[j].ident != v[i].ident || v[j].base != v[i].base;
        for (size_t j = i; j > 0 && maxhi[j - 1] > v[i].lo && !split; j--) {
            const reuse_mod_t *o = &v[j - 1];
            split = ++seen > REUSE_WINDOW ||
                    (o->hi > v[i].lo && (o->ident != v[i].ident || o->base != v[i].base));
        }
        if (split)
            t->reuse_ts[t->nreuse++] = v[i].last_ts;
    }
    free(maxhi);
    free(v);
    qsort(t->reuse_ts, t->nreuse, sizeof(uint64_t), cmp_u64);
    return 0;
}

/* The address-reuse epoch of time TS in trace T: reuse times at or before it. */
static uint32_t epoch_of(const mt_replay_trace_t *t, uint64_t ts)
{
    size_t lo = 0, hi = t->nreuse;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->reuse_ts[mid] <= ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (uint32_t)lo;
}

int mt_replay_add(mt_replay_t *rp, const char *path, mt_reader_t *r)
{
    size_t ti = rp->ntraces;
    rp->err_trace = ti;
    mt_replay_trace_t *t = MT_VEC_PUSH(NULL, rp->traces, ti, rp->captraces);
    if (!t)
        return ENOMEM;
    memset(t, 0, sizeof(*t));
    t->path = path;
    t->reader = r;
    live_t *live = calloc(1, sizeof(live_t));
    if (!(t->live = live))
        return ENOMEM;
    live->free_head = MT_TABLE_NONE;
    rp->ntraces++;

    int err = mt_reader_info(r, &t->info);
    if (err)
        return err;
    for (int ep = 0; ep < MT_EP_COUNT; ep++) {
        bool pool = rp->opt.pool != MT_POOL_NONE;
        if (pool ? ep != MT_EP_POOL_ALLOC : mt_entry_point_family[ep] != MT_FAMILY_ALLOC)
            continue;
        mt_counter_t c;
        err = mt_reader_counter(r, mt_entry_point_names[ep], &c);
        if (err == MT_ENOTFOUND)
            continue;
        if (err)
            return err;
        t->exact_calls += c.calls;
        t->exact_bytes += c.bytes;
    }
    if ((err = load_reuse(t, r)) != 0)
        return err;
    rp->exact_calls += t->exact_calls;
    rp->exact_bytes += t->exact_bytes;
    rp->sampled |= t->info.sample_interval != 0;
    rp->complete &= t->info.complete != 0;
    return 0;
}

/* ---- progress ----------------------------------------------------------- */

static double since(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Prints "replaying: N% of M blocks" (or "indexing: M blocks") at most ten
 * times a second, starting after one second. The caller decides whether
 * stderr is a terminal (mt_replay_options_t.progress). */
static void progress(mt_replay_t *rp, const char *what)
{
    priv_t *p = P(rp);
    if (!rp->opt.progress)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (since(&p->t0, &now) < 1.0 || (p->printed && since(&p->last_print, &now) < 0.1))
        return;
    p->last_print = now;
    p->printed = true;
    uint64_t total = p->blocks_total ? p->blocks_total : 1;
    char a[MT_FMT_MAX];
    if (strcmp(what, "indexing") == 0) /* the total is not known yet */
        fprintf(stderr, "\r%s: indexing: %s blocks\033[K", MT_PROGNAME,
                mt_fmt_count(a, p->blocks_total));
    else
        fprintf(stderr, "\r%s: %s: %3u%% of %s blocks\033[K", MT_PROGNAME, what,
                (unsigned)(p->blocks_done * 100 / total), mt_fmt_count(a, p->blocks_total));
}

static void progress_done(mt_replay_t *rp)
{
    if (P(rp)->printed)
        fputs("\r\033[K", stderr);
    P(rp)->printed = false;
}

/* ---- stacks --------------------------------------------------------------- */

/* Index of the stats of stack ID of trace TI, created on first sight;
 * UINT32_MAX when out of memory. Pointers into rp->stacks do not survive it. */
typedef struct stack_epoch {
    const mt_replay_t *rp;
    uint32_t epoch;
} stack_epoch_t;

static bool same_epoch(const void *ctx, uint32_t v)
{
    const stack_epoch_t *k = ctx;
    return k->rp->stacks[v].epoch == k->epoch;
}

static uint32_t stack_index(mt_replay_t *rp, uint32_t ti, uint32_t id)
{
    priv_t *p = P(rp);
    uint64_t key = (uint64_t)ti << 32 | id;
    /* One entry per stack id and module epoch: the table holds every epoch's. */
    stack_epoch_t want = {rp, epoch_of(&rp->traces[ti], p->cur_ts)};
    uint32_t idx = mt_table_find(&p->stack_map, key, same_epoch, &want);
    if (idx != MT_TABLE_NONE)
        return idx;
    mt_stack_stats_t *st;
    if (rp->nstacks >= UINT32_MAX - 1 || !(st = MT_VEC_PUSH(NULL, rp->stacks, rp->nstacks,
                                                            p->stack_cap)))
        return UINT32_MAX;
    memset(st, 0, sizeof(*st));
    st->trace = ti;
    st->id = id;
    st->ts = p->cur_ts;
    st->epoch = want.epoch;
    st->min_size = UINT64_MAX;
    st->snap_gen = p->peak_gen; /* it had nothing live at the last peak */
    if (rp->opt.growth && !(st->growth = calloc(MT_GROWTH_POINTS, sizeof(uint64_t))))
        return UINT32_MAX;
    idx = (uint32_t)rp->nstacks;
    if (mt_table_put(&p->stack_map, key, idx)) {
        free(st->growth);
        return UINT32_MAX;
    }
    /* Growth points that passed before the stack existed saw 0 bytes. */
    st->growth_filled = rp->opt.growth ? p->growth_next : 0;
    rp->nstacks++;
    return idx;
}

/* Call before changing ST's live totals: keeps the value it had at the last
 * peak (peak_bw, valid while snap_gen is current), and the growth points
 * that passed since it last changed. */
static void stack_touch(mt_replay_t *rp, mt_stack_stats_t *st)
{
    priv_t *p = P(rp);
    if (st->snap_gen != p->peak_gen) {
        st->peak_w = st->live_w;
        st->peak_bw = st->live_bw;
        st->peak_var_bw = st->live_var_bw;
        st->snap_gen = p->peak_gen;
    }
    if (st->growth) {
        uint64_t b = mt_bw_bytes(st->live_bw);
        while (st->growth_filled < p->growth_next)
            st->growth[st->growth_filled++] = b;
    }
}

/* ---- events --------------------------------------------------------------- */

static void live_remove(mt_replay_t *rp, live_t *t, live_ent_t *e)
{
    if (e->stack == PRE_WINDOW) { /* counted nowhere */
        live_del(t, e);
        return;
    }
    mt_stack_stats_t *st = &rp->stacks[e->stack];
    mt_u128 bw = (mt_u128)e->size * e->weight;
    mt_u128 vw = mt_est_var_objects(e->weight), vbw = mt_est_var_bytes(e->size, e->weight);
    stack_touch(rp, st);
    st->live_w -= e->weight;
    st->live_bw -= bw;
    st->live_var_w -= vw;
    st->live_var_bw -= vbw;
    rp->live_w -= e->weight;
    rp->live_bw -= bw;
    rp->live_var_w -= vw;
    rp->live_var_bw -= vbw;
    live_del(t, e);
}

static int on_alloc(mt_replay_t *rp, cursor_t *c, const mt_event_t *e)
{
    if (e->size < rp->opt.min_size || (rp->opt.max_size && e->size > rp->opt.max_size))
        return 0;
    live_t *t = rp->traces[c->trace].live;
    if (P(rp)->pre) { /* before the window: only so that its free is known */
        c->last_valid = false;
        if (!e->ptr)
            return 0;
        live_ent_t *old = live_find(t, e->ptr);
        if (old)
            live_remove(rp, t, old);
        live_ent_t ne = {e->ptr, e->size, mt_event_weight(e), PRE_WINDOW, 0};
        return live_put(t, &ne);
    }
    uint32_t si = stack_index(rp, c->trace, e->stack);
    if (si == UINT32_MAX)
        return ENOMEM;
    uint64_t w = mt_event_weight(e);
    mt_u128 bw = (mt_u128)e->size * w;
    mt_u128 vw = mt_est_var_objects(w), vbw = mt_est_var_bytes(e->size, w);
    mt_stack_stats_t *st = &rp->stacks[si];
    st->alloc_w += w;
    st->alloc_bw += bw;
    st->alloc_var_w = mt_est_var_add(st->alloc_var_w, vw);
    st->alloc_var_bw = mt_est_var_add(st->alloc_var_bw, vbw);
    if (e->size < st->min_size)
        st->min_size = e->size;
    if (e->size > st->max_size)
        st->max_size = e->size;
    rp->alloc_w += w;
    rp->alloc_bw += bw;
    c->last_ptr = e->ptr;
    c->last_valid = e->ptr != 0;
    if (!e->ptr)
        return 0;

    live_ent_t *old = live_find(t, e->ptr);
    if (old) /* its free was not recorded (or was dropped): replaced */
        live_remove(rp, t, old);
    live_ent_t ne = {e->ptr, e->size, w, si, 0};
    if (live_put(t, &ne))
        return ENOMEM;
    st = &rp->stacks[si];
    stack_touch(rp, st);
    st->live_w += w;
    st->live_bw += bw;
    st->live_var_w += vw;
    st->live_var_bw += vbw;
    rp->live_w += w;
    rp->live_bw += bw;
    rp->live_var_w += vw;
    rp->live_var_bw += vbw;
    if (rp->live_bw > rp->peak_bw) {
        /* Every stack's current live total is now its peak contribution:
         * stacks that change later snapshot it first (stack_touch). */
        rp->peak_bw = rp->live_bw;
        rp->peak_w = rp->live_w;
        rp->peak_var_bw = rp->live_var_bw;
        rp->peak_ns = c->key;
        P(rp)->peak_gen++;
    }
    return 0;
}

static void on_free(mt_replay_t *rp, cursor_t *c, const mt_event_t *e)
{
    live_t *t = rp->traces[c->trace].live;
    live_ent_t *le = e->ptr ? live_find(t, e->ptr) : NULL;
    if (!le) {
        rp->unknown_frees++;
        rp->traces[c->trace].unknown_frees++;
        return;
    }
    if (le->stack == PRE_WINDOW) {
        live_remove(rp, t, le);
        return;
    }
    if (c->last_valid && c->last_ptr == e->ptr) {
        mt_u128 v = mt_est_var_objects(le->weight);
        rp->stacks[le->stack].temp_w += le->weight;
        rp->stacks[le->stack].temp_var_w = mt_est_var_add(rp->stacks[le->stack].temp_var_w, v);
        rp->temp_w += le->weight;
        rp->temp_var_w = mt_est_var_add(rp->temp_var_w, v);
        c->last_valid = false;
    }
    rp->frees++;
    live_remove(rp, t, le);
}

static int replay_event(mt_replay_t *rp, cursor_t *c)
{
    const mt_event_t *e = c->e;
    bool pool = rp->opt.pool != MT_POOL_NONE;
    switch (e->type) {
    case MT_EV_ALLOC:
        return pool ? 0 : on_alloc(rp, c, e);
    case MT_EV_FREE:
        if (!pool)
            on_free(rp, c, e);
        return 0;
    case MT_EV_POOL_ALLOC:
    case MT_EV_POOL_FREE:
        if (!pool || (rp->opt.pool != MT_POOL_ALL && e->arg[1] != (uint64_t)rp->opt.pool))
            return 0;
        if (e->type == MT_EV_POOL_ALLOC && e->kind >= MT_POOL_KIND_NAME)
            return 0; /* a pool's name (format.h), not an object */
        if (e->type == MT_EV_POOL_ALLOC)
            return on_alloc(rp, c, e);
        on_free(rp, c, e);
        return 0;
    default: /* mmap and friends are not heap; placement and rss are not allocations */
        return 0;
    }
}

static int on_event(mt_replay_t *rp, cursor_t *c)
{
    P(rp)->cur_ts = c->e->ts;
    int rc = rp->opt.before_event ? rp->opt.before_event(rp->opt.ctx, rp, c->key) : 0;
    if (!rc)
        rc = replay_event(rp, c);
    if (!rc && rp->opt.on_event)
        rc = rp->opt.on_event(rp->opt.ctx, rp, c->trace, c->thread, c->e);
    return rc;
}

bool mt_replay_in_window(const mt_replay_t *rp)
{
    return !P(rp)->pre;
}

uint32_t mt_replay_stack_index(mt_replay_t *rp, uint32_t trace, uint32_t id)
{
    return stack_index(rp, trace, id);
}

/* ---- the merge ------------------------------------------------------------ */

static bool before(const cursor_t *a, const cursor_t *b)
{
    if (a->key != b->key)
        return a->key < b->key;
    if (a->trace != b->trace)
        return a->trace < b->trace;
    return a->thread < b->thread;
}

static void heap_down(cursor_t **h, size_t n, size_t i)
{
    cursor_t *x = h[i];
    for (;;) {
        size_t l = 2 * i + 1, m;
        if (l >= n)
            break;
        m = l + 1 < n && before(h[l + 1], h[l]) ? l + 1 : l;
        if (!before(h[m], x))
            break;
        h[i] = h[m];
        i = m;
    }
    h[i] = x;
}

static void heap_push(priv_t *p, cursor_t *c)
{
    size_t i = p->nheap++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!before(c, p->heap[up]))
            break;
        p->heap[i] = p->heap[up];
        i = up;
    }
    p->heap[i] = c;
}

/* Loads C's next event. Returns 1, 0 when the thread has no more, or an error. */
static int cursor_next(mt_replay_t *rp, cursor_t *c)
{
    mt_replay_trace_t *t = &rp->traces[c->trace];
    for (;;) {
        if (c->from_pre) {
            if (c->pre_i < c->pre.n) {
                c->e = &c->pre.ev[c->pre_i++];
                c->key = t->offset_ns + c->e->ts;
                t->events++;
                return 1;
            }
            if (c->pre.rc < 0) {
                rp->err_trace = c->trace;
                rp->err_block = c->block;
                return c->pre.rc;
            }
            mt_predecode_give_back(P(rp)->pd, &c->pre);
            c->from_pre = false;
        } else if (c->block) {
            int rc = mt_block_next(&c->dec, &c->ev);
            if (rc == 1) {
                c->e = &c->ev;
                c->key = t->offset_ns + c->ev.ts;
                t->events++;
                return 1;
            }
            if (rc < 0) {
                rp->err_trace = c->trace;
                rp->err_block = c->block;
                return rc;
            }
        }
        if (c->pos == c->nblocks)
            return 0;
        uint64_t seq = c->blocks[c->pos++], cur = seq - 1;
        if (P(rp)->pd && mt_predecode_take(P(rp)->pd, c->jobs[c->pos - 1], &c->pre)) {
            rp->err_trace = c->trace;
            rp->err_block = seq;
            if (!c->pre.opened)
                return c->pre.rc;
            c->pre_i = 0;
            c->from_pre = true;
            c->block = seq;
            t->blocks++;
            P(rp)->blocks_done++;
            continue;
        }
        const void *data;
        size_t len;
        int rc = mt_reader_next_block(t->reader, &cur, &data, &len);
        rp->err_trace = c->trace;
        rp->err_block = seq;
        if (rc == 0 || (rc == 1 && cur != seq))
            return MT_ECORRUPT; /* the block vanished from the snapshot */
        if (rc < 0)
            return rc;
        if ((rc = mt_block_open(&c->dec, data, len)) != 0)
            return rc;
        c->block = seq;
        t->blocks++;
        P(rp)->blocks_done++;
    }
}

/* First pass over trace TI: each thread's list of blocks. */
static int index_blocks(mt_replay_t *rp, uint32_t ti, uint64_t *last_base)
{
    priv_t *p = P(rp);
    mt_replay_trace_t *t = &rp->traces[ti];
    uint64_t seq = 0;
    const void *data;
    size_t len;
    int rc;
    while ((rc = mt_reader_next_block(t->reader, &seq, &data, &len)) == 1) {
        mt_block_decoder_t dec;
        if (mt_block_open(&dec, data, len) != 0) {
            rp->err_trace = ti;
            rp->err_block = seq;
            return MT_ECORRUPT;
        }
        if (t->offset_ns + dec.prev_ts > *last_base)
            *last_base = t->offset_ns + dec.prev_ts;
        uint64_t key = (uint64_t)ti << 32 | dec.thread;
        uint32_t ci = mt_table_get(&p->thread_map, key);
        if (ci == MT_TABLE_NONE) {
            if (!MT_VEC_PUSH(NULL, p->cursors, p->ncursors, p->cursor_cap))
                return ENOMEM;
            ci = (uint32_t)p->ncursors;
            if (mt_table_put(&p->thread_map, key, ci))
                return ENOMEM;
            cursor_t *c = &p->cursors[p->ncursors++];
            memset(c, 0, sizeof(*c));
            c->trace = ti;
            c->thread = dec.thread;
        }
        cursor_t *c = &p->cursors[ci];
        struct block_ref *ref = MT_VEC_PUSH(NULL, p->refs, p->nrefs, p->refs_cap);
        if (!MT_VEC_PUSH(NULL, c->blocks, c->nblocks, c->cap) || !ref)
            return ENOMEM;
        *ref = (struct block_ref){t->offset_ns + dec.prev_ts, ci, (uint32_t)c->nblocks, data, len};
        p->nrefs++;
        c->blocks[c->nblocks++] = seq;
        p->blocks_total++;
        if ((p->blocks_total & 1023) == 0)
            progress(rp, "indexing");
    }
    if (rc < 0) {
        rp->err_trace = ti;
        rp->err_block = 0;
    }
    return rc;
}

static int cmp_ref(const void *a, const void *b)
{
    const struct block_ref *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->cursor != y->cursor)
        return x->cursor < y->cursor ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Blocks before which a second thread decoding ahead does not pay. */
#define PREDECODE_MIN_BLOCKS 8

/* True when a second thread would get a core of its own: decoding ahead
 * costs about a tenth more CPU in all (the arrays, the hand-over), which
 * only pays when the decoding then runs beside the merge. */
static bool core_to_spare(void)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    double load;
    return ncpu >= 2 && (getloadavg(&load, 1) != 1 || load <= (double)ncpu - 1);
}

/* Hands every block to a predecoder, in the order of their first events
 * (about the order the merge needs them), and starts its thread. Without
 * one (few blocks, no core to spare, no memory, no thread) the cursors
 * decode every block. The events and errors are the same either way. */
static int start_predecode(mt_replay_t *rp)
{
    priv_t *p = P(rp);
    if (p->nrefs < PREDECODE_MIN_BLOCKS || p->nrefs > UINT32_MAX || !core_to_spare())
        return 0;
    qsort(p->refs, p->nrefs, sizeof(*p->refs), cmp_ref);
    for (size_t i = 0; i < p->ncursors; i++) {
        cursor_t *c = &p->cursors[i];
        if (!(c->jobs = malloc(c->nblocks * sizeof(*c->jobs))))
            return ENOMEM;
    }
    if (!(p->pd = mt_predecode_new(p->nrefs)))
        return ENOMEM;
    for (size_t i = 0; i < p->nrefs; i++) {
        const struct block_ref *r = &p->refs[i];
        p->cursors[r->cursor].jobs[r->pos] = (uint32_t)i;
        mt_predecode_set(p->pd, i, r->data, r->len);
    }
    if (mt_predecode_start(p->pd) != 0) {
        mt_predecode_free(p->pd);
        p->pd = NULL;
    }
    return 0;
}

/* After the last event: peak contributions, final growth points. */
static void finish(mt_replay_t *rp)
{
    priv_t *p = P(rp);
    p->growth_next = rp->opt.growth ? MT_GROWTH_POINTS : 0;
    for (size_t i = 0; i < rp->nstacks; i++) {
        mt_stack_stats_t *st = &rp->stacks[i];
        if (st->snap_gen != p->peak_gen) { /* unchanged since the last peak */
            st->peak_w = st->live_w;
            st->peak_bw = st->live_bw;
            st->peak_var_bw = st->live_var_bw;
            st->snap_gen = p->peak_gen;
        }
        if (st->growth) {
            stack_touch(rp, st);
            st->growth[MT_GROWTH_POINTS - 1] = mt_bw_bytes(st->live_bw);
            st->growth_steps = 0;
            for (int k = 1; k < MT_GROWTH_POINTS; k++)
                st->growth_steps += st->growth[k] > st->growth[k - 1];
        }
    }
}

int mt_replay_run(mt_replay_t *rp)
{
    priv_t *p = P(rp);
    int rc = 0;
    clock_gettime(CLOCK_MONOTONIC, &p->t0);

    /* The merged timeline starts with the earliest trace. */
    uint64_t t0 = UINT64_MAX;
    for (size_t i = 0; i < rp->ntraces; i++)
        if (rp->traces[i].info.start_realtime_ns && rp->traces[i].info.start_realtime_ns < t0)
            t0 = rp->traces[i].info.start_realtime_ns;
    uint64_t end = 0;
    for (size_t i = 0; i < rp->ntraces; i++) {
        mt_replay_trace_t *t = &rp->traces[i];
        t->offset_ns = t->info.start_realtime_ns ? t->info.start_realtime_ns - t0 : 0;
        if (t->offset_ns + t->info.duration_ns > end)
            end = t->offset_ns + t->info.duration_ns;
        if ((rc = index_blocks(rp, (uint32_t)i, &end)) != 0)
            goto out;
    }
    rp->span_ns = end;
    if ((rc = start_predecode(rp)) != 0)
        goto out;

    /* The window, in ns on the merged timeline; a percentage is of span_ns. */
    const mt_time_arg_t *fa = &rp->opt.from, *ta = &rp->opt.to;
    rp->windowed = fa->set || ta->set;
    rp->win_from = !fa->set ? 0 : fa->percent ? (uint64_t)((mt_u128)end * fa->v / 1000000) : fa->v;
    rp->win_to = !ta->set ? end : ta->percent ? (uint64_t)((mt_u128)end * ta->v / 1000000) : ta->v;
    if (fa->set && fa->from_end)
        rp->win_from = end > fa->v ? end - fa->v : 0;
    if (ta->set && ta->from_end)
        rp->win_to = end > ta->v ? end - ta->v : 0;
    /* Past the last event with --to 100% or without --to. */
    uint64_t stop = !ta->set || (ta->percent && ta->v >= 1000000) ? UINT64_MAX : rp->win_to;
    if (rp->win_from > rp->win_to) {
        rp->err_trace = SIZE_MAX; /* the message is about the window */
        rc = MT_EINVAL;
        goto out;
    }

    if (p->ncursors && !(p->heap = malloc(p->ncursors * sizeof(*p->heap)))) {
        rc = ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < p->ncursors; i++) {
        cursor_t *c = &p->cursors[i];
        if ((rc = cursor_next(rp, c)) < 0)
            goto out;
        if (rc == 1)
            heap_push(p, c);
    }
    rc = 0;

    /* Time of growth point k: the end of the k-th of MT_GROWTH_POINTS equal
     * slices of the window (the whole timeline without one). */
    uint64_t g0 = rp->win_from, glen = rp->win_to - rp->win_from;
    uint64_t next_point = rp->opt.growth ? g0 + glen / MT_GROWTH_POINTS : UINT64_MAX;
    while (p->nheap) {
        cursor_t *c = p->heap[0];
        if (c->key >= stop)
            break;
        p->pre = c->key < rp->win_from;
        if (c->key > next_point) {
            while (p->growth_next < MT_GROWTH_POINTS - 1 &&
                   c->key > g0 + (mt_u128)glen * (p->growth_next + 1) / MT_GROWTH_POINTS)
                p->growth_next++;
            next_point = p->growth_next < MT_GROWTH_POINTS - 1
                             ? g0 + (uint64_t)((mt_u128)glen * (p->growth_next + 1) /
                                               MT_GROWTH_POINTS)
                             : UINT64_MAX;
        }
        if ((rc = on_event(rp, c)) != 0) {
            rp->err_trace = c->trace;
            rp->err_block = c->block;
            goto out;
        }
        if ((++rp->events & 4095) == 0)
            progress(rp, "replaying");
        if ((rc = cursor_next(rp, c)) < 0)
            goto out;
        if (rc == 1) {
            heap_down(p->heap, p->nheap, 0);
        } else {
            p->heap[0] = p->heap[--p->nheap];
            if (p->nheap)
                heap_down(p->heap, p->nheap, 0);
        }
        rc = 0;
    }
    p->pre = false;
    finish(rp);
out:
    mt_predecode_free(p->pd); /* stops its thread; what it decoded ahead is dropped */
    p->pd = NULL;
    progress_done(rp);
    return rc;
}

int mt_replay_error(const mt_replay_t *rp, int err)
{
    if (err == MT_EINVAL && rp->err_trace == SIZE_MAX) {
        char a[MT_FMT_MAX], b[MT_FMT_MAX], c[MT_FMT_MAX];
        return mt_error("the window is empty: --from is %s, after --to at %s (the traces "
                        "last %s); give a --from before --to",
                        mt_fmt_duration(a, rp->win_from), mt_fmt_duration(b, rp->win_to),
                        mt_fmt_duration(c, rp->span_ns));
    }
    const char *path = rp->err_trace < rp->ntraces ? rp->traces[rp->err_trace].path : "trace";
    if (err == MT_ECORRUPT && rp->err_block)
        return mt_error("%s: event block %llu is corrupt; the trace may be damaged "
                        "(record it again, or report the blocks before it with info)",
                        path, (unsigned long long)rp->err_block);
    if (err == ENOMEM)
        return mt_error("%s: out of memory replaying the trace (%zu stacks so far); "
                        "try --pool, --min-size or fewer traces at once",
                        path, rp->nstacks);
    return mt_trace_error(path, rp->err_block ? "the event blocks" : "the trace", err);
}

void mt_replay_foreach_live(const mt_replay_t *rp,
                            void (*fn)(void *ctx, uint32_t stack, uint64_t ptr, uint64_t size,
                                       uint64_t weight),
                            void *ctx)
{
    for (size_t i = 0; i < rp->ntraces; i++) {
        const live_t *t = rp->traces[i].live;
        for (size_t j = 0; j < t->nent; j++)
            if (t->ent[j].ptr && t->ent[j].stack != PRE_WINDOW)
                fn(ctx, t->ent[j].stack, t->ent[j].ptr, t->ent[j].size, t->ent[j].weight);
    }
}
