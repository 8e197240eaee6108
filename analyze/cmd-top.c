/* cmd-top.c - `mtrace-analyze top`: the stacks that allocate the most.
 *
 * Replays every trace given (a process and its children, merged), groups
 * the stacks, symbolizes only the rows it prints (all rows with --match or
 * --by function) and ranks them by allocated bytes, calls, contribution to
 * the peak, live bytes at the end or temporary allocations. Totals come from
 * the exact counters unless a filter makes them a sum of estimates. With -i
 * it re-reads the traces every interval until SIGINT (live mode).
 */
#include <getopt.h>
#include <string.h>

#include "builtin.h"
#include "internal.h"

static const mt_opt_t options[] = {
    MT_OPT_TOP("show N entries (default 10; 0 = all)"),
    {'s', 's', "sort", required_argument, "KEY",
     "bytes (allocated, default), count (calls), peak\n"
     "(live at the moment of peak heap), live (live at\n"
     "the end), temp (temporary allocations: freed by\n"
     "the same thread before its next allocation)"},
    {'a', 0, "min-size", required_argument, "B",
     "count only allocations of at least B bytes (K/M/G/T)"},
    {'b', 0, "max-size", required_argument, "B", "count only allocations of at most B bytes"},
    MT_OPT_MATCH("keep stacks with a frame whose function, file or\n"
                 "module matches REGEX (POSIX extended)"),
    MT_OPT_DEPTH("show D frames per entry (default 12 in text, all in JSON)"),
    MT_OPT_BY("group by allocating function (the innermost\n"
              "frame) or by whole stack (default)"),
    MT_OPT_POOL("report the pool allocations (annotation API) of the\n"
                "pool NAME (or a pool id), or of every pool: 'all'"),
    {'i', 'i', "interval", required_argument, "MS",
     "live mode: re-read the traces every MS ms and print\n"
     "again, until interrupted (works while recording)"},
    MT_OPT_FROM,
    MT_OPT_TO,
    MT_OPT_JSON("print JSON (compact in live mode, one line per\n"
                "refresh); keys below"),
    MT_OPT_HELP,
    MT_OPT_END,
};

static const mt_help_t help = {
    .synopsis = "[options] [TRACE...]",
    .about = "Ranks allocation stacks by what they allocated. Several TRACEs (a process\n"
             "and its fork/exec children) are replayed together on one timeline; the\n"
             "same stack in several of them is one entry. With sampling (the default)\n"
             "per-stack numbers are estimates and totals are exact; with\n"
             "MTRACE_SAMPLE=all everything is exact. An estimate is printed as\n"
             "'12.3 MiB \u00b1 1.1 MiB': the half-width of its 95% confidence interval\n"
             "(preload/SAMPLING.md); exact numbers have no \u00b1.\n",
    .opts = options,
    .json = "total_bytes, total_count, total_exact, total_bytes_error, total_count_error, "
            "confidence, estimated, sample_interval, complete, "
            "traces: [{trace, pid, command, complete, sample_interval, events, unknown_frees}], window: {from_ns, to_ns, span_ns}, sort, by, peak_bytes, peak_bytes_error, peak_ns, live_bytes, "
            "live_bytes_error, live_count, live_count_error, temp_count, temp_count_error, entries, "
            "stacks: [{bytes, bytes_error, count, count_error, peak_bytes, peak_bytes_error, "
            "live_bytes, live_bytes_error, live_count, live_count_error, temp_count, "
            "temp_count_error, min_size, max_size, stacks, frames: [{function, file, line, module, address, inlined, offset}]}]",
    .json_notes = "  by is 'stack' or 'function'; entries counts all entries, also those\n"
                  "  -n leaves out; an entry's stacks counts the recorded stacks it merges;\n"
                  "  min_size and max_size are its smallest and largest request. Frames\n"
                  "  innermost first, unknown parts null; address is a hex string, offset\n"
                  "  (from the module) is there when file is null. Each *_error is the\n"
                  "  \u00b1 of the number before it at the confidence given (0.95; 0 when\n"
                  "  that number is exact).\n",
};

enum sort_key { SORT_BYTES, SORT_COUNT, SORT_PEAK, SORT_LIVE, SORT_TEMP };
static const char *const sort_names[] = {"bytes", "count", "peak", "live", "temp"};

typedef struct top_opts {
    mt_cli_t cli;
    enum sort_key sort;
} top_opts_t;

static int by_bytes(const mt_row_t *a, const mt_row_t *b)
{
    int c = mt_cmp_desc(a->agg.alloc_bw, b->agg.alloc_bw);
    return c ? c : mt_cmp_desc(a->agg.alloc_w, b->agg.alloc_w);
}
static int by_count(const mt_row_t *a, const mt_row_t *b)
{
    int c = mt_cmp_desc(a->agg.alloc_w, b->agg.alloc_w);
    return c ? c : by_bytes(a, b);
}
static int by_peak(const mt_row_t *a, const mt_row_t *b)
{
    int c = mt_cmp_desc(a->agg.peak_bw, b->agg.peak_bw);
    return c ? c : by_bytes(a, b);
}
static int by_live(const mt_row_t *a, const mt_row_t *b)
{
    int c = mt_cmp_desc(a->agg.live_bw, b->agg.live_bw);
    return c ? c : by_bytes(a, b);
}
static int by_temp(const mt_row_t *a, const mt_row_t *b)
{
    int c = mt_cmp_desc(a->agg.temp_w, b->agg.temp_w);
    return c ? c : by_count(a, b);
}

static int (*const comparators[])(const mt_row_t *, const mt_row_t *) = {
    by_bytes, by_count, by_peak, by_live, by_temp,
};

/* ---- output ------------------------------------------------------------ */

typedef struct totals {
    uint64_t bytes, count;
    mt_u128 var_bytes, var_count; /* 0 when exact */
    bool exact;
} totals_t;

static totals_t totals(const top_opts_t *o, const mt_replay_t *rp, const mt_report_t *rep)
{
    totals_t t = {0};
    const mt_cli_t *c = &o->cli;
    bool filtered = c->has_match || c->ro.min_size || c->ro.max_size ||
                    (c->ro.pool != MT_POOL_NONE && c->ro.pool != MT_POOL_ALL) ||
                    rp->windowed;
    if (!filtered && rp->exact_calls) {
        t.bytes = rp->exact_bytes;
        t.count = rp->exact_calls;
        t.exact = true;
        return t;
    }
    mt_u128 bw = 0, w = 0;
    for (size_t i = 0; i < rep->nrows; i++) {
        bw += rep->rows[i].agg.alloc_bw;
        w += rep->rows[i].agg.alloc_w;
        t.var_bytes = mt_est_var_add(t.var_bytes, rep->rows[i].agg.alloc_var_bw);
        t.var_count = mt_est_var_add(t.var_count, rep->rows[i].agg.alloc_var_w);
    }
    t.bytes = mt_bw_bytes(bw);
    t.count = mt_bw_bytes(w); /* w / 65536, rounded */
    t.exact = !rp->sampled;
    return t;
}

static const char *what_name(const top_opts_t *o, char *buf, size_t cap)
{
    if (o->cli.ro.pool == MT_POOL_NONE)
        snprintf(buf, cap, "malloc");
    else if (o->cli.ro.pool == MT_POOL_ALL)
        snprintf(buf, cap, "pool");
    else
        snprintf(buf, cap, "pool %s", o->cli.pool_arg);
    return buf;
}

static void print_text(const top_opts_t *o, mt_session_t *s, mt_report_t *rep, size_t nshow)
{
    const mt_replay_t *rp = &s->rp;
    const mt_cli_t *cli = &o->cli;
    totals_t t = totals(o, rp, rep);
    char a[MT_FMT_MAX], b[MT_FMT_MAX], c[MT_FMT_MAX], d[MT_FMT_MAX], w[32];

    printf("%s%s total %s in %s %s", what_name(o, w, sizeof(w)),
           cli->has_match || cli->ro.min_size || cli->ro.max_size ? " (matching)" : "",
           mt_fmt_bytes_est(a, t.bytes, t.var_bytes), mt_fmt_count_est(b, t.count, t.var_count),
           mt_plural(t.count, "call", "calls"));
    if (rp->sampled)
        printf(" (sampled every %s; %s, \u00b1 at %.0f%% confidence)\n",
               mt_fmt_bytes(c, mt_report_sample_interval(rp)),
               t.exact ? "totals exact, stacks are estimates" : "estimates",
               100 * MT_EST_CONFIDENCE);
    else
        printf(" (every call recorded; exact)\n");
    uint64_t live = mt_w_objects(rp->live_w);
    printf("peak heap %s at %s; %s live in %s %s at the end%s",
           mt_fmt_bytes_est(a, mt_bw_bytes(rp->peak_bw), rp->peak_var_bw),
           mt_fmt_duration(b, rp->peak_ns), mt_fmt_bytes_est(c, mt_bw_bytes(rp->live_bw), rp->live_var_bw),
           mt_fmt_count_est(d, live, rp->live_var_w),
           mt_plural(live, "object", "objects"),
           rp->windowed   ? " of the window"
           : rp->complete ? ""
                          : " (trace still running or not ended cleanly)");
    uint64_t temp = mt_w_objects(rp->temp_w);
    printf("; %s temporary %s\n", mt_fmt_count_est(a, temp, rp->temp_var_w),
           mt_plural(temp, "allocation", "allocations"));
    if (rp->ntraces > 1)
        printf("%zu traces merged\n", rp->ntraces);
    mt_report_print_window(rp);
    if (!rep->nrows) {
        printf("\n(no allocation stacks%s)\n", cli->has_match ? " match" : "");
        return;
    }
    size_t depth = mt_cli_depth(cli, 12);
    for (size_t i = 0; i < nshow; i++) {
        const mt_row_t *r = &rep->rows[i];
        const mt_stack_stats_t *st = &r->agg;
        uint64_t bytes = mt_bw_bytes(st->alloc_bw), count = mt_w_objects(st->alloc_w);
        printf("\n#%-3zu %s (%s) in %s %s (%s)%s\n", i + 1,
               mt_fmt_bytes_est(a, bytes, st->alloc_var_bw), mt_fmt_percent(b, bytes, t.bytes),
               mt_fmt_count_est(c, count, st->alloc_var_w),
               mt_plural(count, "call", "calls"),
               mt_fmt_percent(d, count, t.count), rp->sampled ? ", estimated" : "");
        uint64_t lc = mt_w_objects(st->live_w);
        printf("     peak %s, live %s in %s %s",
               mt_fmt_bytes_est(a, mt_bw_bytes(st->peak_bw), st->peak_var_bw),
               mt_fmt_bytes_est(b, mt_bw_bytes(st->live_bw), st->live_var_bw),
               mt_fmt_count_est(c, lc, st->live_var_w),
               mt_plural(lc, "object", "objects"));
        printf(", %s temporary", mt_fmt_count_est(a, mt_w_objects(st->temp_w), st->temp_var_w));
        if (st->min_size == st->max_size)
            printf(", size %s\n", mt_fmt_bytes(b, st->min_size));
        else
            printf(", sizes %s..%s\n", mt_fmt_bytes(b, st->min_size), mt_fmt_bytes(c, st->max_size));
        mt_report_print_frames(r, depth);
    }
    mt_report_print_more(nshow, rep->nrows, "entry", "entries");
}

static void print_json(const top_opts_t *o, mt_session_t *s, mt_report_t *rep, size_t nshow)
{
    const mt_replay_t *rp = &s->rp;
    totals_t t = totals(o, rp, rep);
    mt_json_t j;
    mt_cli_json_begin(&j, &o->cli);
    mt_json_kv_u64(&j, "total_bytes", t.bytes);
    mt_json_kv_u64(&j, "total_count", t.count);
    mt_json_kv_bool(&j, "total_exact", t.exact);
    mt_json_kv_error(&j, "total_bytes_error", t.var_bytes);
    mt_json_kv_error(&j, "total_count_error", t.var_count);
    mt_json_kv_double(&j, "confidence", MT_EST_CONFIDENCE);
    mt_report_json_traces(&j, rp);
    mt_json_kv_string(&j, "sort", sort_names[o->sort]);
    mt_json_kv_string(&j, "by", o->cli.by_function ? "function" : "stack");
    mt_json_kv_u64(&j, "peak_bytes", mt_bw_bytes(rp->peak_bw));
    mt_json_kv_error(&j, "peak_bytes_error", rp->peak_var_bw);
    mt_json_kv_u64(&j, "peak_ns", rp->peak_ns);
    mt_json_kv_u64(&j, "live_bytes", mt_bw_bytes(rp->live_bw));
    mt_json_kv_error(&j, "live_bytes_error", rp->live_var_bw);
    mt_json_kv_u64(&j, "live_count", mt_w_objects(rp->live_w));
    mt_json_kv_error(&j, "live_count_error", rp->live_var_w);
    mt_json_kv_u64(&j, "temp_count", mt_w_objects(rp->temp_w));
    mt_json_kv_error(&j, "temp_count_error", rp->temp_var_w);
    mt_json_kv_u64(&j, "entries", rep->nrows);
    mt_json_key(&j, "stacks");
    mt_json_begin_array(&j);
    for (size_t i = 0; i < nshow; i++) {
        const mt_row_t *r = &rep->rows[i];
        const mt_stack_stats_t *st = &r->agg;
        mt_json_begin_object(&j);
        mt_json_kv_u64(&j, "bytes", mt_bw_bytes(st->alloc_bw));
        mt_json_kv_error(&j, "bytes_error", st->alloc_var_bw);
        mt_json_kv_u64(&j, "count", mt_w_objects(st->alloc_w));
        mt_json_kv_error(&j, "count_error", st->alloc_var_w);
        mt_json_kv_u64(&j, "peak_bytes", mt_bw_bytes(st->peak_bw));
        mt_json_kv_error(&j, "peak_bytes_error", st->peak_var_bw);
        mt_json_kv_u64(&j, "live_bytes", mt_bw_bytes(st->live_bw));
        mt_json_kv_error(&j, "live_bytes_error", st->live_var_bw);
        mt_json_kv_u64(&j, "live_count", mt_w_objects(st->live_w));
        mt_json_kv_error(&j, "live_count_error", st->live_var_w);
        mt_json_kv_u64(&j, "temp_count", mt_w_objects(st->temp_w));
        mt_json_kv_error(&j, "temp_count_error", st->temp_var_w);
        mt_json_kv_u64(&j, "min_size", st->min_size);
        mt_json_kv_u64(&j, "max_size", st->max_size);
        mt_json_kv_u64(&j, "stacks", r->nstacks);
        mt_report_json_frames(&j, r, mt_cli_depth(&o->cli, 0));
        mt_json_end_object(&j);
    }
    mt_json_end_array(&j);
    mt_cli_json_end(&j, &o->cli);
}

/* ---- command ------------------------------------------------------------ */

/* One report of the current replay (mt_cli_run's REPORT). */
static int report(void *ctx, mt_session_t *s)
{
    const top_opts_t *o = ctx;
    mt_report_t rep;
    size_t nshow;
    int rc = mt_cli_rows(&o->cli, s, &rep, mt_keep_allocating, NULL, NULL, comparators[o->sort],
                         &nshow);
    if (!rc && o->cli.json >= 0)
        print_json(o, s, &rep, nshow);
    else if (!rc)
        print_text(o, s, &rep, nshow);
    mt_report_free(&rep);
    return rc;
}

/* The options of top alone (mt_cli_parse's OWN). */
static int top_option(void *ctx, int opt, const char *arg)
{
    top_opts_t *o = ctx;
    switch (opt) {
    case 's': {
        size_t k = 0;
        while (k < 5 && strcmp(arg, sort_names[k]) != 0)
            k++;
        o->sort = (enum sort_key)k;
        if (k == 5)
            return mt_usage_error("top", "--sort %s: expected bytes, count, peak, live or temp",
                                  arg);
        return 0;
    }
    case 'a':
    case 'b':
        if (mt_size_parse(arg, opt == 'a' ? &o->cli.ro.min_size : &o->cli.ro.max_size))
            return mt_usage_error("top", "--%s %s: expected a size in bytes, e.g. 4096 or 64K",
                                  opt == 'a' ? "min-size" : "max-size", arg);
        return 0;
    case 'i':
        return mt_cli_long(&o->cli, "-i", arg, 1, LONG_MAX, &o->cli.interval_ms);
    default:
        return MT_CLI_SHARED;
    }
}

int cmd_top(int argc, char **argv)
{
    top_opts_t o = {.sort = SORT_BYTES};
    mt_cli_init(&o.cli, "top", &help);
    int rc = mt_cli_parse(&o.cli, argc, argv, top_option, &o);
    if (!rc && o.cli.ro.max_size && o.cli.ro.min_size > o.cli.ro.max_size)
        rc = mt_usage_error("top", "--min-size is larger than --max-size");
    if (!rc)
        rc = mt_cli_run(&o.cli, report, &o);
    return mt_cli_end(&o.cli, rc);
}
