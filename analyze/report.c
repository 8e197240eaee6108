/* report.c - the rows of the stack reports (top, leaks, numa, fit): stacks
 * grouped by their symbolized frames (so a stack recorded in a parent and in
 * its fork children is one row, and so are two call sites that print alike,
 * e.g. the copies of an unrolled loop), or by allocating function; each
 * stack symbolized with the module map at its events' time; --match;
 * frames and the trace header as text and JSON.
 */
#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- grouping --------------------------------------------------------- */

/* A row's key, for the shared table's EQ. */
typedef struct group_key {
    const mt_report_t *rep;
    const uint64_t *key;
    size_t n;
} group_key_t;

static bool group_is(const void *ctx, uint32_t v)
{
    const group_key_t *k = ctx;
    const mt_row_t *r = &k->rep->rows[v];
    return r->nkey == k->n && (!k->n || !memcmp(r->key, k->key, k->n * sizeof(*k->key)));
}

/* Row of KEY[N] in REP, created when new; UINT32_MAX when out of memory. */
static uint32_t row_for(mt_report_t *rep, mt_table_t *g, size_t *cap, const uint64_t *key,
                        size_t n)
{
    uint64_t h = mt_hash_words(key, n);
    group_key_t k = {rep, key, n};
    uint32_t ri = mt_table_find(g, h, group_is, &k);
    if (ri != MT_TABLE_NONE)
        return ri;
    mt_row_t *r = MT_VEC_PUSH(NULL, rep->rows, rep->nrows, *cap);
    if (!r || rep->nrows >= UINT32_MAX - 1)
        return UINT32_MAX;
    memset(r, 0, sizeof(*r));
    if (n && !(r->key = malloc(n * sizeof(*key))))
        return UINT32_MAX;
    if (n) /* a stack of no frames (an empty stack record) has no key */
        memcpy(r->key, key, n * sizeof(*key));
    r->nkey = n;
    if (mt_table_put(g, h, (uint32_t)rep->nrows)) {
        free(r->key);
        return UINT32_MAX;
    }
    return (uint32_t)rep->nrows++;
}

static void add_stats(mt_row_t *r, const mt_stack_stats_t *st)
{
    mt_stack_stats_t *a = &r->agg;
    if (r->nstacks++ == 0) {
        uint64_t *growth = a->growth;
        *a = *st;
        a->growth = growth;
        if (growth && st->growth)
            memcpy(growth, st->growth, MT_GROWTH_POINTS * sizeof(*growth));
        return;
    }
    a->alloc_w += st->alloc_w;
    a->alloc_bw += st->alloc_bw;
    a->live_w += st->live_w;
    a->live_bw += st->live_bw;
    a->peak_w += st->peak_w;
    a->peak_bw += st->peak_bw;
    a->temp_w += st->temp_w;
    a->alloc_var_w = mt_est_var_add(a->alloc_var_w, st->alloc_var_w);
    a->alloc_var_bw = mt_est_var_add(a->alloc_var_bw, st->alloc_var_bw);
    a->live_var_w = mt_est_var_add(a->live_var_w, st->live_var_w);
    a->live_var_bw = mt_est_var_add(a->live_var_bw, st->live_var_bw);
    a->peak_var_bw = mt_est_var_add(a->peak_var_bw, st->peak_var_bw);
    a->temp_var_w = mt_est_var_add(a->temp_var_w, st->temp_var_w);
    if (st->min_size < a->min_size)
        a->min_size = st->min_size;
    if (st->max_size > a->max_size)
        a->max_size = st->max_size;
    if (a->growth && st->growth)
        for (int k = 0; k < MT_GROWTH_POINTS; k++)
            a->growth[k] += st->growth[k];
}

/* The program counters of stack ST as stored (none when it is not
 * committed yet, on a live trace, or was lost). */
static int stack_fetch(mt_report_t *rep, const mt_stack_stats_t *st, uint64_t *pcs, uint32_t *n)
{
    *n = 0;
    if (!st->id)
        return 0;
    int rc = mt_reader_stack(rep->rp->traces[st->trace].reader, st->id, pcs, n);
    if (rc == MT_ENOTFOUND) {
        *n = 0;
        return 0;
    }
    return rc;
}

/* The program counters of stack ST without mtrace's own frames. */
static int stack_pcs(mt_report_t *rep, const mt_stack_stats_t *st, uint64_t *pcs, uint32_t *n)
{
    int rc = stack_fetch(rep, st, pcs, n);
    if (rc)
        return rc;
    uint32_t k = 0;
    for (uint32_t i = 0; i < *n; i++)
        if (!mt_sym_is_self_at(rep->sym, st->trace, pcs[i], st->ts))
            pcs[k++] = pcs[i];
    *n = k;
    return 0;
}

/* stack_pcs with each pc's print id (mt_sym_pc_id_at) in IDS. */
static int stack_ids(mt_report_t *rep, const mt_stack_stats_t *st, uint64_t *pcs, uint64_t *ids,
                     uint32_t *n)
{
    int rc = stack_fetch(rep, st, pcs, n);
    if (rc)
        return rc;
    uint32_t k = 0;
    for (uint32_t i = 0; i < *n; i++) {
        bool self;
        uint32_t id = mt_sym_pc_class_at(rep->sym, st->trace, pcs[i], st->ts, &self);
        if (id == UINT32_MAX)
            return ENOMEM;
        if (!self) {
            ids[k] = id;
            pcs[k++] = pcs[i];
        }
    }
    *n = k;
    return 0;
}

int mt_report_build(mt_report_t *rep, mt_replay_t *rp, mt_symbolizer_t *sym, bool by_function,
                    bool (*keep)(const mt_stack_stats_t *st))
{
    memset(rep, 0, sizeof(*rep));
    rep->rp = rp;
    rep->sym = sym;
    rep->by_function = by_function;
    if (rp->nstacks && !(rep->row_of_stack = malloc(rp->nstacks * sizeof(uint32_t))))
        return ENOMEM;
    mt_table_t g = {0}; /* row key hash -> row */
    size_t cap = 0;
    int rc = 0;
    uint64_t pcs[MT_MAX_FRAMES], ids[MT_MAX_FRAMES];
    uint64_t key[MT_MAX_FRAMES]; /* a print id per pc (mt_sym_pc_id_at), or function, module */
    for (size_t i = 0; i < rp->nstacks; i++) {
        const mt_stack_stats_t *st = &rp->stacks[i];
        rep->row_of_stack[i] = UINT32_MAX;
        if (keep && !keep(st))
            continue;
        uint32_t n;
        if ((rc = stack_ids(rep, st, pcs, ids, &n)) != 0) {
            rp->err_trace = st->trace;
            rp->err_block = 0;
            goto out;
        }
        size_t nk = 0;
        if (by_function && n) {
            mt_frame_t fr;
            mt_sym_pc_at(sym, st->trace, pcs[0], st->ts, &fr, 1);
            if (fr.function) { /* interned: equal names are equal pointers */
                key[nk++] = (uint64_t)(uintptr_t)fr.function;
                key[nk++] = (uint64_t)(uintptr_t)fr.module;
            } else {
                n = 1;
            }
        }
        /* The whole stack is the key: what each pc prints as. A pc's
         * frames end with its one frame that is not inlined, so equal ids
         * are equal frames, also across stacks of different depths. */
        bool whole = nk == 0;
        for (uint32_t f = 0; whole && f < n; f++)
            key[nk++] = ids[f];
        uint32_t ri = row_for(rep, &g, &cap, key, nk);
        if (ri == UINT32_MAX) {
            rc = ENOMEM;
            goto out;
        }
        mt_row_t *r = &rep->rows[ri];
        if (rp->opt.growth && !r->agg.growth &&
            !(r->agg.growth = calloc(MT_GROWTH_POINTS, sizeof(uint64_t)))) {
            rc = ENOMEM;
            goto out;
        }
        add_stats(r, st);
        rep->row_of_stack[i] = ri;
    }
    for (size_t i = 0; i < rep->nrows && rp->opt.growth; i++) {
        mt_stack_stats_t *a = &rep->rows[i].agg;
        a->growth_steps = 0;
        for (int k = 1; k < MT_GROWTH_POINTS; k++)
            a->growth_steps += a->growth[k] > a->growth[k - 1];
    }
out:
    mt_table_free(&g);
    return rc;
}

int mt_report_frames(mt_report_t *rep, mt_row_t *row)
{
    if (row->frames || row->nframes)
        return 0;
    const mt_stack_stats_t *st = &row->agg;
    uint64_t pcs[MT_MAX_FRAMES];
    uint32_t n;
    if (stack_pcs(rep, st, pcs, &n) != 0)
        n = 0; /* read once already in mt_report_build */
    if (!n)
        return 0;
    if (rep->by_function)
        n = 1;
    size_t cap = (size_t)n * 4 + 8, k = 0;
    mt_frame_t *fr = malloc(cap * sizeof(*fr));
    if (!fr)
        return ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        if (cap - k < 32) {
            mt_frame_t *g = realloc(fr, 2 * cap * sizeof(*g));
            if (!g) {
                free(fr);
                return ENOMEM;
            }
            fr = g;
            cap *= 2;
        }
        k += mt_sym_pc_at(rep->sym, st->trace, pcs[i], st->ts, fr + k, 32);
    }
    if (rep->by_function) { /* the allocating function, not a line in it */
        k = 1;
        fr[0].line = 0;
        fr[0].inlined = false;
    }
    row->frames = fr;
    row->nframes = k;
    return 0;
}

bool mt_row_matches(const mt_row_t *row, const void *re)
{
    for (size_t f = 0; f < row->nframes; f++) {
        const mt_frame_t *fr = &row->frames[f];
        if ((fr->function && !regexec(re, fr->function, 0, NULL, 0)) ||
            (fr->file && !regexec(re, fr->file, 0, NULL, 0)) ||
            (fr->module && !regexec(re, fr->module, 0, NULL, 0)))
            return true;
    }
    return false;
}

void mt_row_free(mt_row_t *row)
{
    free(row->key);
    free(row->frames);
    free(row->agg.growth);
    free(row->extra);
}

bool mt_keep_allocating(const mt_stack_stats_t *st)
{
    return st->alloc_w > 0;
}

int mt_report_match(mt_report_t *rep, const void *re)
{
    size_t k = 0;
    for (size_t i = 0; i < rep->nrows; i++) {
        mt_row_t *r = &rep->rows[i];
        if (mt_report_frames(rep, r))
            return ENOMEM;
        if (mt_row_matches(r, re))
            rep->rows[k++] = *r;
        else
            mt_row_free(r);
    }
    rep->nrows = k;
    /* row_of_stack now names dropped and moved rows: rebuild it. */
    for (size_t i = 0; i < rep->rp->nstacks; i++)
        rep->row_of_stack[i] = UINT32_MAX;
    return 0;
}

static int (*row_cmp)(const mt_row_t *, const mt_row_t *);

static int sort_rows(const void *a, const void *b)
{
    const mt_row_t *x = a, *y = b;
    int c = row_cmp(x, y);
    if (c)
        return c;
    if (x->agg.trace != y->agg.trace)
        return x->agg.trace < y->agg.trace ? -1 : 1;
    return x->agg.id < y->agg.id ? -1 : x->agg.id > y->agg.id;
}

void mt_report_sort(mt_report_t *rep, int (*cmp)(const mt_row_t *a, const mt_row_t *b))
{
    row_cmp = cmp;
    if (rep->nrows > 1) /* rows is NULL when there are none: qsort's argument is nonnull */
        qsort(rep->rows, rep->nrows, sizeof(*rep->rows), sort_rows);
    for (size_t i = 0; i < rep->rp->nstacks; i++)
        rep->row_of_stack[i] = UINT32_MAX;
    /* Callers that need row_of_stack after sorting rebuild it from the rows'
     * stacks; only leaks does, before sorting. */
}

void mt_report_free(mt_report_t *rep)
{
    for (size_t i = 0; i < rep->nrows; i++)
        mt_row_free(&rep->rows[i]);
    free(rep->rows);
    free(rep->row_of_stack);
    memset(rep, 0, sizeof(*rep));
}

/* ---- output -------------------------------------------------------------- */

/* Text of the function column of FR into BUF[CAP]. */
static const char *function_text(char *buf, size_t cap, const mt_frame_t *fr)
{
    char tmp[512];
    if (fr->function && fr->file)
        return mt_printable(buf, cap, fr->function);
    if (fr->function)
        snprintf(tmp, sizeof(tmp), "%s+0x%" PRIx64, fr->function, fr->offset);
    else if (fr->module)
        snprintf(tmp, sizeof(tmp), "%s+0x%" PRIx64, mt_sym_basename(fr->module), fr->offset);
    else
        snprintf(tmp, sizeof(tmp), "0x%" PRIx64, fr->address);
    return mt_printable(buf, cap, tmp);
}

static const char *location_text(char *buf, size_t cap, const mt_frame_t *fr)
{
    char tmp[512];
    if (!fr->file)
        return "-";
    if (fr->line)
        snprintf(tmp, sizeof(tmp), "%s:%" PRIu32, mt_sym_basename(fr->file), fr->line);
    else
        snprintf(tmp, sizeof(tmp), "%s", mt_sym_basename(fr->file));
    return mt_printable(buf, cap, tmp);
}

void mt_report_print_frames(const mt_row_t *row, size_t depth)
{
    size_t n = depth && depth < row->nframes ? depth : row->nframes;
    if (!row->nframes) {
        puts("    (no stack recorded)");
        return;
    }
    int fw = 0, lw = 0;
    char f[256], l[256], m[256];
    for (size_t i = 0; i < n; i++) {
        int a = (int)strlen(function_text(f, sizeof(f), &row->frames[i]));
        int b = (int)strlen(location_text(l, sizeof(l), &row->frames[i]));
        fw = a > fw ? a : fw;
        lw = b > lw ? b : lw;
    }
    fw = fw > 60 ? 60 : fw;
    for (size_t i = 0; i < n; i++) {
        const mt_frame_t *fr = &row->frames[i];
        printf("    %-*s  %-*s  %s%s\n", fw, function_text(f, sizeof(f), fr), lw,
               location_text(l, sizeof(l), fr),
               fr->module ? mt_printable(m, sizeof(m), mt_sym_basename(fr->module)) : "?",
               fr->inlined ? "  (inlined)" : "");
    }
    if (n < row->nframes)
        printf("    ... %zu more %s (--depth)\n", row->nframes - n,
               mt_plural(row->nframes - n, "frame", "frames"));
}

void mt_report_json_frames(mt_json_t *j, const mt_row_t *row, size_t depth)
{
    size_t n = depth && depth < row->nframes ? depth : row->nframes;
    char addr[32];
    mt_json_key(j, "frames");
    mt_json_begin_array(j);
    for (size_t i = 0; i < n; i++) {
        const mt_frame_t *fr = &row->frames[i];
        mt_json_begin_object(j);
        mt_json_key(j, "function");
        fr->function ? mt_json_string(j, fr->function) : mt_json_null(j);
        mt_json_key(j, "file");
        fr->file ? mt_json_string(j, fr->file) : mt_json_null(j);
        mt_json_key(j, "line");
        fr->line ? mt_json_u64(j, fr->line) : mt_json_null(j);
        mt_json_key(j, "module");
        fr->module ? mt_json_string(j, fr->module) : mt_json_null(j);
        snprintf(addr, sizeof(addr), "0x%" PRIx64, fr->address);
        mt_json_kv_string(j, "address", addr);
        mt_json_kv_bool(j, "inlined", fr->inlined);
        if (!fr->file)
            mt_json_kv_u64(j, "offset", fr->offset);
        mt_json_end_object(j);
    }
    mt_json_end_array(j);
}

void mt_report_print_more(size_t shown, size_t total, const char *one, const char *many)
{
    char a[MT_FMT_MAX];
    if (shown < total)
        printf("\n... %s more %s (-n 0 shows all)\n", mt_fmt_count(a, total - shown),
               mt_plural(total - shown, one, many));
}

uint64_t mt_report_sample_interval(const mt_replay_t *rp)
{
    uint64_t interval = 0;
    for (size_t i = 0; i < rp->ntraces; i++)
        if (rp->traces[i].info.sample_interval > interval)
            interval = rp->traces[i].info.sample_interval;
    return interval;
}

void mt_report_json_traces(mt_json_t *j, const mt_replay_t *rp)
{
    mt_json_kv_bool(j, "estimated", rp->sampled);
    mt_json_kv_u64(j, "sample_interval", mt_report_sample_interval(rp));
    mt_json_kv_bool(j, "complete", rp->complete);
    mt_json_key(j, "traces");
    mt_json_begin_array(j);
    for (size_t i = 0; i < rp->ntraces; i++) {
        const mt_replay_trace_t *t = &rp->traces[i];
        mt_json_begin_object(j);
        mt_json_kv_string(j, "trace", t->path);
        mt_json_kv_u64(j, "pid", t->info.pid);
        mt_json_kv_string(j, "command", t->info.command);
        mt_json_kv_bool(j, "complete", t->info.complete != 0);
        mt_json_kv_u64(j, "sample_interval", t->info.sample_interval);
        mt_json_kv_u64(j, "events", t->events);
        mt_json_kv_u64(j, "unknown_frees", t->unknown_frees);
        mt_json_end_object(j);
    }
    mt_json_end_array(j);
    if (rp->windowed) {
        mt_json_key(j, "window");
        mt_json_begin_object(j);
        mt_json_kv_u64(j, "from_ns", rp->win_from);
        mt_json_kv_u64(j, "to_ns", rp->win_to);
        mt_json_kv_u64(j, "span_ns", rp->span_ns);
        mt_json_end_object(j);
    }
}

void mt_report_print_window(const mt_replay_t *rp)
{
    if (!rp->windowed)
        return;
    char a[MT_FMT_MAX], b[MT_FMT_MAX], c[MT_FMT_MAX];
    printf("window %s .. %s of %s: allocations made in it; live = not freed by its end\n",
           mt_fmt_duration(a, rp->win_from), mt_fmt_duration(b, rp->win_to),
           mt_fmt_duration(c, rp->span_ns));
}
