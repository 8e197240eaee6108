/* timeline.c - memory over time: the traces cut into equal intervals, and
 * for each the RSS, live heap, live mapped regions, allocation and free
 * rates, the fragmentation ratio, a pool's bytes against its chunks and the
 * live bytes of the stacks that grew most (definitions: TIMELINE.md).
 *
 * Each pass is one replay (replay.c) with two hooks: before_event closes
 * every interval that ends at or before the next event, with replay's
 * totals as they are just before it, so a level is exact at the interval's
 * end; on_event follows what replay does not (RSS samples, mmap regions).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "timeline.h"

/* ---- mapped regions of one address space --------------------------------
 * Sorted, disjoint [lo, hi) ranges; a range is a pool chunk once an object
 * of the pool was seen inside it. */

typedef struct region {
    uint64_t lo, hi;
    bool chunk;
} region_t;

typedef struct regions {
    region_t *r;
    size_t n, cap;
} regions_t;

typedef struct pass {
    mt_timeline_t *tl;
    bool pool;                  /* the pool pass (pool columns), else the heap pass */
    size_t next;                /* next row to close */
    regions_t *regions;         /* per trace */
    uint64_t *rss;              /* per trace: last sample */
    bool *rss_seen;
    uint64_t *end_ns;           /* per trace: end on the merged timeline */
    uint64_t *last_ns;          /* per trace: time of its last event so far */
    uint64_t *row_rss;          /* per row and trace: its last RSS sample + 1, 0 = none */
    uint64_t mapped, chunks;    /* bytes, over all traces */
    uint64_t prev_alloc_w, prev_free_w; /* at the previous row's end */
    mt_u128 prev_alloc_bw, prev_free_bw;
    uint32_t *stack_row;        /* per rp->stacks index: chosen stack + 1, 0 = none */
    size_t nstack_row;
    bool started;               /* start() ran */
} pass_t;

/* Index of the first region with lo >= X. */
static size_t lower(const regions_t *g, uint64_t x)
{
    size_t a = 0, b = g->n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (g->r[m].lo < x)
            a = m + 1;
        else
            b = m;
    }
    return a;
}

static void count(pass_t *p, const region_t *r, int sign)
{
    uint64_t len = r->hi - r->lo;
    p->mapped += sign > 0 ? len : -len;
    if (r->chunk)
        p->chunks += sign > 0 ? len : -len;
}

/* Removes [LO, HI) from G: regions inside go, regions across an end are cut. */
static int region_cut(pass_t *p, regions_t *g, uint64_t lo, uint64_t hi)
{
    size_t i = lower(g, lo);
    if (i > 0 && g->r[i - 1].hi > lo)
        i--;
    while (i < g->n && g->r[i].lo < hi) {
        region_t r = g->r[i];
        count(p, &r, -1);
        if (r.lo < lo && r.hi > hi) { /* a hole in the middle: split */
            if (mt_vec_reserve(NULL, &g->r, &g->cap, g->n + 1, sizeof(*g->r)))
                return ENOMEM;
            memmove(g->r + i + 2, g->r + i + 1, (g->n - i - 1) * sizeof(*g->r));
            g->n++;
            g->r[i] = (region_t){r.lo, lo, r.chunk};
            g->r[i + 1] = (region_t){hi, r.hi, r.chunk};
            count(p, &g->r[i], 1);
            count(p, &g->r[i + 1], 1);
            return 0;
        }
        if (r.lo < lo) { /* keep the head */
            g->r[i].hi = lo;
            count(p, &g->r[i], 1);
            i++;
        } else if (r.hi > hi) { /* keep the tail */
            g->r[i].lo = hi;
            count(p, &g->r[i], 1);
            i++;
        } else {
            memmove(g->r + i, g->r + i + 1, (g->n - i - 1) * sizeof(*g->r));
            g->n--;
        }
    }
    return 0;
}

/* Maps [LO, HI): replaces whatever was there (MAP_FIXED). */
static int region_map(pass_t *p, regions_t *g, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return 0;
    int rc = region_cut(p, g, lo, hi);
    if (rc)
        return rc;
    if (mt_vec_reserve(NULL, &g->r, &g->cap, g->n + 1, sizeof(*g->r)))
        return ENOMEM;
    size_t i = lower(g, lo);
    memmove(g->r + i + 1, g->r + i, (g->n - i) * sizeof(*g->r));
    g->r[i] = (region_t){lo, hi, false};
    g->n++;
    count(p, &g->r[i], 1);
    return 0;
}

/* Marks the region holding PTR as a pool chunk. */
static void region_mark(pass_t *p, regions_t *g, uint64_t ptr)
{
    size_t i = lower(g, ptr + 1);
    if (i == 0 || g->r[i - 1].hi <= ptr || g->r[i - 1].chunk)
        return;
    g->r[i - 1].chunk = true;
    p->chunks += g->r[i - 1].hi - g->r[i - 1].lo;
}

/* ---- rows -------------------------------------------------------------------- */

/* Closes row K with RP's state now. */
static void close_row(pass_t *p, mt_replay_t *rp, size_t k)
{
    mt_timeline_t *tl = p->tl;
    mt_tl_row_t *row = &tl->rows[k];
    if (p->pool) {
        row->pool_bytes = mt_bw_bytes(rp->live_bw);
        row->pool_chunk_bytes = p->chunks;
        return;
    }
    row->heap_bytes = mt_bw_bytes(rp->live_bw);
    row->heap_objects = mt_w_objects(rp->live_w);
    row->heap_bytes_error = mt_est_bound(rp->live_var_bw);
    row->heap_objects_error = mt_est_bound(rp->live_var_w);
    row->mapped_bytes = p->mapped;
    /* Freed so far = allocated - live (replay's sums, weighted). */
    uint64_t free_w = rp->alloc_w - rp->live_w;
    mt_u128 free_bw = rp->alloc_bw - rp->live_bw;
    row->alloc_calls = mt_w_objects(rp->alloc_w - p->prev_alloc_w);
    row->alloc_bytes = mt_bw_bytes(rp->alloc_bw - p->prev_alloc_bw);
    row->free_calls = mt_w_objects(free_w - p->prev_free_w);
    row->free_bytes = mt_bw_bytes(free_bw - p->prev_free_bw);
    p->prev_alloc_w = rp->alloc_w;
    p->prev_alloc_bw = rp->alloc_bw;
    p->prev_free_w = free_w;
    p->prev_free_bw = free_bw;
    /* Each trace's last sample + 1 (0: none yet); summed by settle_rss
     * once it is known when each trace ended. */
    for (size_t i = 0; i < rp->ntraces; i++)
        p->row_rss[k * rp->ntraces + i] = p->rss_seen[i] ? p->rss[i] + 1 : 0;
    if (row->stack_bytes) {
        memset(row->stack_bytes, 0, tl->nstacks * sizeof(uint64_t));
        for (size_t i = 0; i < rp->nstacks && i < p->nstack_row; i++)
            if (p->stack_row[i])
                row->stack_bytes[p->stack_row[i] - 1] += mt_bw_bytes(rp->stacks[i].live_bw);
    }
}

/* The rows of a timeline SPAN_NS long. Returns 0 or ENOMEM. */
static int make_rows(mt_timeline_t *tl, uint64_t span_ns)
{
    tl->span_ns = span_ns;
    uint64_t iv = tl->opt.interval_ns;
    if (!iv) { /* about MT_TL_DEFAULT_ROWS rows, a whole number of ms or us */
        iv = (span_ns + MT_TL_DEFAULT_ROWS - 1) / MT_TL_DEFAULT_ROWS;
        uint64_t unit = iv >= 1000000 ? 1000000 : iv >= 1000 ? 1000 : 1;
        iv = (iv + unit - 1) / unit * unit;
        if (!iv)
            iv = 1;
    }
    tl->interval_ns = iv;
    size_t n = span_ns ? (size_t)((span_ns + iv - 1) / iv) : 1;
    if (!(tl->rows = calloc(n, sizeof(*tl->rows))))
        return ENOMEM;
    tl->nrows = n;
    for (size_t k = 0; k < n; k++) {
        tl->rows[k].start_ns = k * iv;
        tl->rows[k].end_ns = k + 1 == n && span_ns ? span_ns : (k + 1) * iv;
        if (tl->opt.nstacks &&
            !(tl->rows[k].stack_bytes = calloc(tl->opt.nstacks, sizeof(uint64_t))))
            return ENOMEM;
    }
    return 0;
}

/* ---- hooks ------------------------------------------------------------------- */

/* At the first event (or the end of an empty replay): the rows, and where
 * each trace ends. Returns 0 or ENOMEM. */
static int start(pass_t *p, mt_replay_t *rp)
{
    p->started = true;
    for (size_t i = 0; i < rp->ntraces; i++) {
        const mt_replay_trace_t *t = &rp->traces[i];
        /* A trace still running has no end yet. */
        p->end_ns[i] = t->info.complete ? t->offset_ns + t->info.duration_ns : UINT64_MAX;
    }
    if (!p->tl->rows && make_rows(p->tl, rp->span_ns))
        return ENOMEM;
    p->row_rss = calloc(p->tl->nrows * (rp->ntraces ? rp->ntraces : 1), sizeof(*p->row_rss));
    return p->row_rss ? 0 : ENOMEM;
}

/* After the replay: each row's RSS, the sum over the processes still
 * running at its start (one that ended holds nothing; its exit tick's
 * events may come after the duration its meta gives, hence last_ns), and
 * the fragmentation ratio. */
static void settle_rss(pass_t *p, const mt_replay_t *rp)
{
    mt_timeline_t *tl = p->tl;
    for (size_t k = 0; k < tl->nrows; k++) {
        mt_tl_row_t *row = &tl->rows[k];
        row->rss = 0;
        row->rss_known = false;
        for (size_t i = 0; i < rp->ntraces; i++) {
            uint64_t v = p->row_rss[k * rp->ntraces + i];
            if (!v)
                continue;
            row->rss_known = true;
            if (row->start_ns < p->end_ns[i] || row->start_ns <= p->last_ns[i])
                row->rss += v - 1;
        }
        uint64_t held = row->heap_bytes + row->mapped_bytes;
        row->fragmentation = row->rss && held ? (double)row->rss / (double)held : 0;
    }
}

static int before_event(void *ctx, mt_replay_t *rp, uint64_t ns)
{
    pass_t *p = ctx;
    mt_timeline_t *tl = p->tl;
    if (!p->started && start(p, rp))
        return ENOMEM;
    /* An event at a row's end belongs to the next row. Events after the
     * span (a live trace's last tick) fall in the last row. */
    while (p->next + 1 < tl->nrows && ns >= tl->rows[p->next].end_ns)
        close_row(p, rp, p->next++);
    return 0;
}

static int on_event(void *ctx, mt_replay_t *rp, uint32_t ti, uint32_t thread,
                    const mt_event_t *e)
{
    (void)thread;
    pass_t *p = ctx;
    regions_t *g = &p->regions[ti];
    p->last_ns[ti] = rp->traces[ti].offset_ns + e->ts;
    switch (e->type) {
    case MT_EV_RSS:
        p->rss[ti] = e->size;
        p->rss_seen[ti] = true;
        return 0;
    case MT_EV_MMAP:
        return region_map(p, g, e->ptr, e->ptr + e->size);
    case MT_EV_MUNMAP:
        return region_cut(p, g, e->ptr, e->ptr + e->size);
    case MT_EV_MREMAP: {
        /* The old range goes; the new one keeps the old one's chunk mark. */
        size_t i = lower(g, e->arg[0] + 1);
        bool chunk = i > 0 && g->r[i - 1].hi > e->arg[0] && g->r[i - 1].chunk;
        int rc = region_cut(p, g, e->arg[0], e->arg[0] + e->arg[1]);
        if (!rc)
            rc = region_map(p, g, e->ptr, e->ptr + e->size);
        if (!rc && chunk)
            region_mark(p, g, e->ptr);
        return rc;
    }
    case MT_EV_POOL_ALLOC:
        if (p->pool && e->kind < MT_POOL_KIND_NAME && e->ptr &&
            (p->tl->opt.pool == MT_POOL_ALL || e->arg[1] == (uint64_t)p->tl->opt.pool))
            region_mark(p, g, e->ptr);
        return 0;
    default:
        return 0;
    }
}

/* One replay of S: the heap pass, or the pool pass with POOL. */
static int run_pass(mt_timeline_t *tl, mt_session_t *s, bool pool, uint32_t *stack_row,
                    size_t nstack_row)
{
    size_t n = (size_t)s->ntraces;
    pass_t p = {.tl = tl, .pool = pool, .stack_row = stack_row, .nstack_row = nstack_row};
    p.regions = calloc(n, sizeof(*p.regions));
    p.rss = calloc(n, sizeof(*p.rss));
    p.rss_seen = calloc(n, sizeof(*p.rss_seen));
    p.end_ns = calloc(n, sizeof(*p.end_ns));
    p.last_ns = calloc(n, sizeof(*p.last_ns));
    int rc = MT_EXIT_OK;
    if (!p.regions || !p.rss || !p.rss_seen || !p.end_ns || !p.last_ns) {
        rc = mt_error("timeline: out of memory");
        goto out;
    }
    mt_replay_options_t ro = {
        .pool = pool ? tl->opt.pool : MT_POOL_NONE,
        .progress = false,
        .before_event = before_event,
        .on_event = on_event,
        .ctx = &p,
    };
    if ((rc = mt_session_replay(s, &ro)) != 0)
        goto out;
    mt_replay_t *rp = &s->rp;
    if (!p.started && start(&p, rp)) {
        rc = mt_error("timeline: out of memory");
        goto out;
    }
    /* The rows after the last event: the state at the end. */
    while (p.next < tl->nrows)
        close_row(&p, rp, p.next++);
    if (!pool)
        settle_rss(&p, rp);
out:
    for (size_t i = 0; p.regions && i < n; i++)
        free(p.regions[i].r);
    free(p.regions);
    free(p.rss);
    free(p.rss_seen);
    free(p.end_ns);
    free(p.last_ns);
    free(p.row_rss);
    return rc;
}

/* ---- the stacks that grew most -------------------------------------------- */

static bool keep_live(const mt_stack_stats_t *st) { return st->live_bw > 0; }

static const mt_row_t *sort_rows;

static int by_live_desc(const void *a, const void *b)
{
    const mt_row_t *ra = &sort_rows[*(const uint32_t *)a], *rb = &sort_rows[*(const uint32_t *)b];
    int c = mt_cmp_desc(ra->agg.live_bw, rb->agg.live_bw);
    if (c)
        return c;
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

/* Copies ROW's frames (strings too) and label into ST. Returns 0 or ENOMEM. */
static int copy_stack(mt_tl_stack_t *st, const mt_row_t *row)
{
    bool oom = false;
    if (row->nframes && !(st->frames = calloc(row->nframes, sizeof(*st->frames))))
        return ENOMEM;
    st->nframes = row->nframes;
    for (size_t i = 0; i < row->nframes; i++) {
        st->frames[i] = row->frames[i];
        st->frames[i].function = dup_or_null(row->frames[i].function, &oom);
        st->frames[i].file = dup_or_null(row->frames[i].file, &oom);
        st->frames[i].module = dup_or_null(row->frames[i].module, &oom);
    }
    char buf[512], pr[400];
    const mt_frame_t *f = row->nframes ? &row->frames[0] : NULL;
    if (f && f->function && f->file)
        snprintf(buf, sizeof buf, "%s (%s:%u)", mt_printable(pr, sizeof pr, f->function),
                 mt_sym_basename(f->file), f->line);
    else if (f && f->function)
        snprintf(buf, sizeof buf, "%s", mt_printable(pr, sizeof pr, f->function));
    else if (f && f->module)
        snprintf(buf, sizeof buf, "%s+0x%llx", mt_sym_basename(f->module),
                 (unsigned long long)f->offset);
    else if (f)
        snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)f->address);
    else
        snprintf(buf, sizeof buf, "(no stack recorded)");
    st->label = dup_or_null(buf, &oom);
    return oom ? ENOMEM : 0;
}

/* Chooses the opt.nstacks stacks that grew most (a replay of S) and fills
 * *STACK_ROW[*N]: per stack index, its chosen row + 1. Returns an exit status. */
static int choose_stacks(mt_timeline_t *tl, mt_session_t *s, uint32_t **stack_row, size_t *n)
{
    mt_replay_options_t ro = {.pool = MT_POOL_NONE};
    int rc = mt_session_replay(s, &ro);
    if (rc)
        return rc;
    mt_report_t rep;
    int err = mt_report_build(&rep, &s->rp, s->sym, false, keep_live);
    uint32_t *order = NULL;
    if (!err && rep.nrows && !(order = malloc(rep.nrows * sizeof(*order))))
        err = ENOMEM;
    if (!err && s->rp.nstacks && !(*stack_row = calloc(s->rp.nstacks, sizeof(**stack_row))))
        err = ENOMEM;
    if (!err && rep.nrows && !(tl->stacks = calloc(tl->opt.nstacks, sizeof(*tl->stacks))))
        err = ENOMEM;
    if (!err && rep.nrows) {
        for (size_t i = 0; i < rep.nrows; i++)
            order[i] = (uint32_t)i;
        sort_rows = rep.rows;
        qsort(order, rep.nrows, sizeof(*order), by_live_desc);
        size_t take = rep.nrows < tl->opt.nstacks ? rep.nrows : tl->opt.nstacks;
        *n = s->rp.nstacks;
        for (size_t k = 0; k < take && !err; k++) {
            mt_row_t *row = &rep.rows[order[k]];
            for (size_t i = 0; i < s->rp.nstacks; i++)
                if (rep.row_of_stack[i] == order[k])
                    (*stack_row)[i] = (uint32_t)k + 1;
            if (!(err = mt_report_frames(&rep, row)))
                err = copy_stack(&tl->stacks[k], row);
            tl->stacks[k].growth = mt_bw_bytes(row->agg.live_bw);
            tl->nstacks = k + 1;
        }
    }
    free(order);
    mt_report_free(&rep);
    if (err)
        return err == ENOMEM ? mt_error("timeline: out of memory choosing stacks")
                             : mt_replay_error(&s->rp, err);
    return MT_EXIT_OK;
}

/* ---- API --------------------------------------------------------------------- */

const char *mt_tl_frag_verdict(double ratio)
{
    if (ratio <= 0)
        return "unknown";
    return ratio < 1.3 ? "good" : ratio <= 1.5 ? "acceptable" : "severe";
}

int mt_timeline_build(mt_timeline_t *tl, mt_session_t *s, const mt_timeline_options_t *o)
{
    memset(tl, 0, sizeof(*tl));
    tl->opt = *o;
    tl->has_pool = o->pool != MT_POOL_NONE;
    uint32_t *stack_row = NULL;
    size_t nstack_row = 0;
    int rc = MT_EXIT_OK;
    if (o->nstacks)
        rc = choose_stacks(tl, s, &stack_row, &nstack_row);
    /* The rows are made by the first pass that runs; the heap pass last, so
     * that s->rp is the heap replay afterwards. */
    if (!rc && tl->has_pool)
        rc = run_pass(tl, s, true, NULL, 0);
    if (!rc)
        rc = run_pass(tl, s, false, stack_row, nstack_row);
    free(stack_row);
    if (rc)
        return rc;
    mt_replay_t *rp = &s->rp;
    tl->sampled = rp->sampled;
    tl->complete = rp->complete;
    for (size_t i = 0; i < rp->ntraces; i++) {
        mt_counter_t c;
        for (int ep = 0; ep < MT_EP_COUNT; ep++) {
            uint8_t fam = mt_entry_point_family[ep];
            if ((fam != MT_FAMILY_ALLOC && fam != MT_FAMILY_FREE) ||
                mt_reader_counter(rp->traces[i].reader, mt_entry_point_names[ep], &c) != 0)
                continue;
            if (fam == MT_FAMILY_ALLOC) {
                tl->exact_alloc_calls += c.calls;
                tl->exact_alloc_bytes += c.bytes;
            } else {
                tl->exact_free_calls += c.calls;
            }
        }
    }
    for (size_t k = 0; k < tl->nrows; k++) {
        const mt_tl_row_t *row = &tl->rows[k];
        if (row->rss > tl->peak_rss)
            tl->peak_rss = row->rss;
        if (row->fragmentation > tl->peak_fragmentation)
            tl->peak_fragmentation = row->fragmentation;
        for (size_t j = 0; j < tl->nstacks; j++)
            if (row->stack_bytes[j] > tl->stacks[j].peak)
                tl->stacks[j].peak = row->stack_bytes[j];
    }
    return MT_EXIT_OK;
}

void mt_timeline_free(mt_timeline_t *tl)
{
    for (size_t k = 0; k < tl->nrows; k++)
        free(tl->rows[k].stack_bytes);
    free(tl->rows);
    for (size_t j = 0; tl->stacks && j < tl->opt.nstacks; j++) {
        for (size_t i = 0; i < tl->stacks[j].nframes; i++) {
            free((char *)tl->stacks[j].frames[i].function);
            free((char *)tl->stacks[j].frames[i].file);
            free((char *)tl->stacks[j].frames[i].module);
        }
        free(tl->stacks[j].frames);
        free(tl->stacks[j].label);
    }
    free(tl->stacks);
    memset(tl, 0, sizeof(*tl));
}
