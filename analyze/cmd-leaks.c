/* cmd-leaks.c - `mtrace-analyze leaks`: what is still allocated at the end,
 * by stack, with the sizes of the live blocks.
 *
 * "At the end" is the process's exit when the trace ended cleanly, and the
 * last committed tick otherwise (killed, crashed, or still running). With
 * --sort growth, stacks whose live bytes grew over most of the run come
 * first: the signature of a leak in a long-running server, as opposed to a
 * cache that was simply full at exit.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "internal.h"

static const mt_opt_t options[] = {
    MT_OPT_TOP("show N entries (default 10; 0 = all)"),
    {'s', 's', "sort", required_argument, "KEY",
     "bytes (live bytes, default) or growth (stacks whose\n"
     "live bytes kept growing over the run first)"},
    MT_OPT_MATCH("keep stacks with a frame whose function, file or\n"
                 "module matches REGEX (POSIX extended)"),
    MT_OPT_DEPTH("show D frames per entry (default 12 in text, all in JSON)"),
    MT_OPT_POOL("report the live pool allocations of the pool NAME\n"
                "(or a pool id), or of every pool: 'all'"),
    MT_OPT_FROM,
    MT_OPT_TO,
    MT_OPT_JSON("print JSON; keys below"),
    MT_OPT_HELP,
    MT_OPT_END,
};

static const mt_help_t help = {
    .synopsis = "[options] [TRACE...]",
    .about = "Lists the allocations still live at the end of each trace, grouped by\n"
             "stack, with their bytes, objects and sizes: not freed before exit when\n"
             "the program ended cleanly, live when the trace stopped otherwise.\n"
             "Several TRACEs (a process and its children) are replayed together.\n"
             "With sampling, numbers are estimates, printed as '12.3 MiB \u00b1 1.1 MiB' (the\n"
             "half-width of the 95% confidence interval, preload/SAMPLING.md); with\n"
             "MTRACE_SAMPLE=all they are exact.\n",
    .opts = options,
    .json = "total_bytes, total_count, total_bytes_error, total_count_error, confidence, "
            "estimated, sample_interval, complete, traces: [{trace, pid, command, complete, sample_interval, events, unknown_frees}], window: {from_ns, to_ns, span_ns}, "
            "ended, sort, entries, stacks: [{bytes, bytes_error, count, count_error, allocated_bytes, "
            "allocated_bytes_error, allocated_count, allocated_count_error, "
            "sizes: [{size, count}], distinct_sizes, growth_steps, growth: [...], stacks, "
            "frames: [{function, file, line, module, address, inlined, offset}]}]",
    .json_notes = "  total_bytes and total_count are the live bytes and objects of the\n"
                  "  entries listed and not listed; ended is 'exit' or 'stopped'; entries\n"
                  "  counts all entries, also those -n leaves out; an entry's count is its\n"
                  "  live objects, growth its 16 live byte samples over the run, stacks the\n"
                  "  recorded stacks it merges. Frames innermost first, as in top. Each\n"
                  "  *_error is the \u00b1 of the number before it (95% confidence; 0 when\n"
                  "  that number is exact).\n",
};

#define MAX_SIZES 32 /* sizes kept per entry */

typedef struct size_count {
    uint64_t size, w;
} size_count_t;

typedef struct sizes {
    size_t n, distinct;
    size_count_t v[];
} sizes_t;

typedef struct live_item {
    uint32_t row;
    uint64_t size, w;
} live_item_t;

typedef struct collect {
    const mt_report_t *rep;
    live_item_t *items;
    size_t n, cap;
    bool oom;
} collect_t;

static void collect_live(void *ctx, uint32_t stack, uint64_t ptr, uint64_t size, uint64_t w)
{
    collect_t *c = ctx;
    (void)ptr;
    uint32_t row = c->rep->row_of_stack[stack];
    if (row == UINT32_MAX || c->oom)
        return;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 1024;
        live_item_t *g = realloc(c->items, cap * sizeof(*g));
        if (!g) {
            c->oom = true;
            return;
        }
        c->items = g;
        c->cap = cap;
    }
    c->items[c->n++] = (live_item_t){row, size, w};
}

static int cmp_item(const void *a, const void *b)
{
    const live_item_t *x = a, *y = b;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    return x->size < y->size ? -1 : x->size > y->size;
}

static int cmp_size_count(const void *a, const void *b)
{
    const size_count_t *x = a, *y = b;
    if (x->w != y->w)
        return x->w > y->w ? -1 : 1;
    return x->size > y->size ? -1 : x->size < y->size;
}

/* Attaches to every row the sizes of its live blocks, most frequent first
 * (mt_cli_rows's FILL; CTX unused). Memory: one item per live allocation,
 * for the time of the call. */
static int attach_sizes(mt_report_t *rep, void *ctx)
{
    (void)ctx;
    collect_t c = {rep, NULL, 0, 0, false};
    mt_replay_foreach_live(rep->rp, collect_live, &c);
    if (c.oom) {
        free(c.items);
        return ENOMEM;
    }
    if (c.n > 1) /* items is NULL when nothing is live: qsort's argument is nonnull */
        qsort(c.items, c.n, sizeof(*c.items), cmp_item);
    size_count_t all[MAX_SIZES * 4];
    for (size_t i = 0; i < c.n;) {
        uint32_t row = c.items[i].row;
        size_t distinct = 0, kept = 0;
        for (; i < c.n && c.items[i].row == row;) {
            uint64_t size = c.items[i].size, w = 0;
            for (; i < c.n && c.items[i].row == row && c.items[i].size == size; i++)
                w += c.items[i].w;
            distinct++;
            if (kept < sizeof(all) / sizeof(all[0]))
                all[kept++] = (size_count_t){size, w};
        }
        qsort(all, kept, sizeof(all[0]), cmp_size_count);
        size_t n = kept < MAX_SIZES ? kept : MAX_SIZES;
        sizes_t *s = malloc(sizeof(*s) + n * sizeof(s->v[0]));
        if (!s) {
            free(c.items);
            return ENOMEM;
        }
        s->n = n;
        s->distinct = distinct;
        memcpy(s->v, all, n * sizeof(all[0]));
        rep->rows[row].extra = s;
    }
    free(c.items);
    return 0;
}

bool mt_leaks_keep(const mt_stack_stats_t *st)
{
    return st->live_w > 0;
}

static int by_bytes(const mt_row_t *a, const mt_row_t *b)
{
    int c = mt_cmp_desc(a->agg.live_bw, b->agg.live_bw);
    return c ? c : mt_cmp_desc(a->agg.live_w, b->agg.live_w);
}

/* Growth: more intervals with an increase first, then the larger increase
 * from the first sample to the last, then live bytes. */
int mt_leaks_cmp_growth(const mt_row_t *a, const mt_row_t *b)
{
    if (a->agg.growth_steps != b->agg.growth_steps)
        return a->agg.growth_steps > b->agg.growth_steps ? -1 : 1;
    int64_t ga = (int64_t)(a->agg.growth[MT_GROWTH_POINTS - 1] - a->agg.growth[0]);
    int64_t gb = (int64_t)(b->agg.growth[MT_GROWTH_POINTS - 1] - b->agg.growth[0]);
    if (ga != gb)
        return ga > gb ? -1 : 1;
    return by_bytes(a, b);
}

typedef struct leaks_opts {
    mt_cli_t cli;
    bool growth;
} leaks_opts_t;

static void print_sizes(const sizes_t *s)
{
    char a[MT_FMT_MAX], b[MT_FMT_MAX];
    if (!s)
        return;
    size_t show = s->n < 4 ? s->n : 4;
    for (size_t i = 0; i < show; i++)
        printf(", %s x %s", mt_fmt_count(a, mt_w_objects(s->v[i].w)),
               mt_fmt_bytes(b, s->v[i].size));
    if (s->distinct > show)
        printf(", %zu other %s", s->distinct - show,
               mt_plural(s->distinct - show, "size", "sizes"));
}

/* Live bytes and objects of all the rows, and their variances. */
typedef struct leak_totals {
    uint64_t bytes, count;
    mt_u128 var_bytes, var_count;
} leak_totals_t;

static void print_text(const leaks_opts_t *o, const mt_replay_t *rp, const mt_report_t *rep,
                       size_t nshow, const leak_totals_t *t)
{
    char a[MT_FMT_MAX], b[MT_FMT_MAX], c[MT_FMT_MAX], d[MT_FMT_MAX];
    uint64_t tb = t->bytes, tc = t->count;
    printf("%s in %s %s %s", mt_fmt_bytes_est(a, tb, t->var_bytes),
           mt_fmt_count_est(b, tc, t->var_count),
           mt_plural(tc, "object", "objects"),
           rp->windowed   ? "made in the window and live at its end"
           : rp->complete ? "not freed before exit"
                          : "live when the trace stopped");
    if (rp->sampled)
        printf(" (sampled every %s; estimates, \u00b1 at %.0f%% confidence)\n",
               mt_fmt_bytes(c, mt_report_sample_interval(rp)), 100 * MT_EST_CONFIDENCE);
    else
        printf(" (every call recorded; exact)\n");
    mt_report_print_window(rp);
    if (!rp->complete)
        printf("the program had not ended cleanly (still running, killed or crashed): "
               "some of this may be freed later\n");
    if (!rep->nrows) {
        printf("\n(no live allocations%s)\n", o->cli.has_match ? " match" : "");
        return;
    }
    size_t depth = mt_cli_depth(&o->cli, 12);
    for (size_t i = 0; i < nshow; i++) {
        const mt_row_t *r = &rep->rows[i];
        const mt_stack_stats_t *st = &r->agg;
        uint64_t bytes = mt_bw_bytes(st->live_bw), count = mt_w_objects(st->live_w);
        printf("\n#%-3zu %s (%s) in %s %s (%s)", i + 1,
               mt_fmt_bytes_est(a, bytes, st->live_var_bw), mt_fmt_percent(b, bytes, tb),
               mt_fmt_count_est(c, count, st->live_var_w),
               mt_plural(count, "object", "objects"),
               mt_fmt_percent(d, count, tc));
        print_sizes(r->extra);
        printf("%s\n", rp->sampled ? ", estimated" : "");
        uint64_t calls = mt_w_objects(st->alloc_w);
        printf("     allocated %s in %s %s",
               mt_fmt_bytes_est(a, mt_bw_bytes(st->alloc_bw), st->alloc_var_bw),
               mt_fmt_count_est(b, calls, st->alloc_var_w), mt_plural(calls, "call", "calls"));
        if (o->growth)
            printf("; grew in %u of %d intervals, %s -> %s", st->growth_steps,
                   MT_GROWTH_POINTS - 1, mt_fmt_bytes(c, st->growth[0]),
                   mt_fmt_bytes(d, st->growth[MT_GROWTH_POINTS - 1]));
        putchar('\n');
        mt_report_print_frames(r, depth);
    }
    mt_report_print_more(nshow, rep->nrows, "entry", "entries");
}

static void print_json(const leaks_opts_t *o, const mt_replay_t *rp, const mt_report_t *rep,
                       size_t nshow, const leak_totals_t *t)
{
    mt_json_t j;
    mt_cli_json_begin(&j, &o->cli);
    mt_json_kv_u64(&j, "total_bytes", t->bytes);
    mt_json_kv_u64(&j, "total_count", t->count);
    mt_json_kv_error(&j, "total_bytes_error", t->var_bytes);
    mt_json_kv_error(&j, "total_count_error", t->var_count);
    mt_json_kv_double(&j, "confidence", MT_EST_CONFIDENCE);
    mt_report_json_traces(&j, rp);
    mt_json_kv_string(&j, "ended", rp->complete ? "exit" : "stopped");
    mt_json_kv_string(&j, "sort", o->growth ? "growth" : "bytes");
    mt_json_kv_u64(&j, "entries", rep->nrows);
    mt_json_key(&j, "stacks");
    mt_json_begin_array(&j);
    for (size_t i = 0; i < nshow; i++) {
        const mt_row_t *r = &rep->rows[i];
        const mt_stack_stats_t *st = &r->agg;
        const sizes_t *s = r->extra;
        mt_json_begin_object(&j);
        mt_json_kv_u64(&j, "bytes", mt_bw_bytes(st->live_bw));
        mt_json_kv_error(&j, "bytes_error", st->live_var_bw);
        mt_json_kv_u64(&j, "count", mt_w_objects(st->live_w));
        mt_json_kv_error(&j, "count_error", st->live_var_w);
        mt_json_kv_u64(&j, "allocated_bytes", mt_bw_bytes(st->alloc_bw));
        mt_json_kv_error(&j, "allocated_bytes_error", st->alloc_var_bw);
        mt_json_kv_u64(&j, "allocated_count", mt_w_objects(st->alloc_w));
        mt_json_kv_error(&j, "allocated_count_error", st->alloc_var_w);
        mt_json_key(&j, "sizes");
        mt_json_begin_array(&j);
        for (size_t k = 0; s && k < s->n; k++) {
            mt_json_begin_object(&j);
            mt_json_kv_u64(&j, "size", s->v[k].size);
            mt_json_kv_u64(&j, "count", mt_w_objects(s->v[k].w));
            mt_json_end_object(&j);
        }
        mt_json_end_array(&j);
        mt_json_kv_u64(&j, "distinct_sizes", s ? s->distinct : 0);
        if (st->growth) {
            mt_json_kv_u64(&j, "growth_steps", st->growth_steps);
            mt_json_key(&j, "growth");
            mt_json_begin_array(&j);
            for (int k = 0; k < MT_GROWTH_POINTS; k++)
                mt_json_u64(&j, st->growth[k]);
            mt_json_end_array(&j);
        }
        mt_json_kv_u64(&j, "stacks", r->nstacks);
        mt_report_json_frames(&j, r, mt_cli_depth(&o->cli, 0));
        mt_json_end_object(&j);
    }
    mt_json_end_array(&j);
    mt_cli_json_end(&j, &o->cli);
}

/* The report of the current replay (mt_cli_run's REPORT). */
static int report(void *ctx, mt_session_t *s)
{
    const leaks_opts_t *o = ctx;
    mt_report_t rep;
    size_t nshow;
    int rc = mt_cli_rows(&o->cli, s, &rep, mt_leaks_keep, attach_sizes, NULL,
                         o->growth ? mt_leaks_cmp_growth : by_bytes, &nshow);
    if (!rc) {
        mt_u128 bw = 0, w = 0;
        leak_totals_t t = {0};
        for (size_t i = 0; i < rep.nrows; i++) {
            bw += rep.rows[i].agg.live_bw;
            w += rep.rows[i].agg.live_w;
            t.var_bytes = mt_est_var_add(t.var_bytes, rep.rows[i].agg.live_var_bw);
            t.var_count = mt_est_var_add(t.var_count, rep.rows[i].agg.live_var_w);
        }
        t.bytes = mt_bw_bytes(bw);
        t.count = mt_bw_bytes(w);
        if (o->cli.json >= 0)
            print_json(o, &s->rp, &rep, nshow, &t);
        else
            print_text(o, &s->rp, &rep, nshow, &t);
    }
    mt_report_free(&rep);
    return rc;
}

/* The options of leaks alone (mt_cli_parse's OWN). */
static int leaks_option(void *ctx, int opt, const char *arg)
{
    leaks_opts_t *o = ctx;
    if (opt != 's')
        return MT_CLI_SHARED;
    if (strcmp(arg, "growth") == 0)
        o->growth = true;
    else if (strcmp(arg, "bytes") == 0)
        o->growth = false;
    else
        return mt_usage_error("leaks", "--sort %s: expected 'bytes' or 'growth'", arg);
    return 0;
}

int cmd_leaks(int argc, char **argv)
{
    leaks_opts_t o = {0};
    mt_cli_init(&o.cli, "leaks", &help);
    o.cli.ro.growth = true; /* cheap next to the live table; shown in JSON either way */
    int rc = mt_cli_parse(&o.cli, argc, argv, leaks_option, &o);
    if (!rc)
        rc = mt_cli_run(&o.cli, report, &o);
    return mt_cli_end(&o.cli, rc);
}
