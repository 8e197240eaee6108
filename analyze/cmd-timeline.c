/* cmd-timeline.c - `mtrace-analyze timeline`: memory over time, one row per
 * interval (RSS, live heap, mapped regions, rates, fragmentation, a pool
 * against its chunks, the stacks that grew most) as a table, CSV, JSON or an
 * SVG chart. The series are timeline.c's, the chart timeline_svg.c's; this
 * file parses options and prints. Definitions: analyze/TIMELINE.md.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "timeline.h"

static const mt_opt_t options[] = {
    {'I', 0, "interval", required_argument, "T",
     "row length: 100ms, 1.5s, 2m, 2 (seconds), or 1%\n"
     "of the window; default: about 200 rows"},
    {MT_OPTV_FROM, 0, "from", required_argument, "T",
     "rows from T on (1.5s, 200ms, 25% of the trace's\n"
     "length); levels still count what was live before"},
    {MT_OPTV_TO, 0, "to", required_argument, "T", "rows up to T"},
    {'c', 0, "csv", no_argument, NULL, "print CSV, one line per row; columns below"},
    {'S', 0, "svg", required_argument, "FILE",
     "also write the chart to FILE: one self-contained\n"
     "SVG (RSS, heap, mapped, stacks, fragmentation)"},
    {'k', 0, "stacks", required_argument, "N",
     "add the live bytes of the N stacks that grew most\n"
     "in the window (0 to 64), one column each"},
    MT_OPT_POOL("add the pool NAME's (or a pool id's, or 'all')\n"
                "live requested bytes and its chunks' bytes (the\n"
                "mapped regions its objects lie in)"),
    MT_OPT_JSON("print JSON; keys below"),
    MT_OPT_HELP,
    MT_OPT_END,
};

#define CSV_COLUMNS                                                                     \
    "time_s,rss_bytes,heap_bytes,heap_bytes_error,heap_objects,heap_objects_error,"     \
    "mapped_bytes,alloc_calls_per_s,alloc_bytes_per_s,free_calls_per_s,free_bytes_per_s," \
    "fragmentation,fragmentation_low,fragmentation_high"

static void extra(FILE *out)
{
    /* The columns print_csv writes, wrapped after a comma. */
    fputs("\nCSV columns (--csv), one header line, then one line per row:\n ", out);
    int col = 1;
    for (const char *p = CSV_COLUMNS; *p;) {
        size_t len = strcspn(p, ",");
        if (col > 1 && col + (int)len + 1 > 76) {
            fputs("\n ", out);
            col = 1;
        }
        fprintf(out, "%s%.*s", col == 1 ? " " : "", (int)len + (p[len] == ','), p);
        col += (int)len + 1;
        p += len + (p[len] == ',');
    }
    fputs("\n"
          "  then with --pool: pool_bytes,pool_chunk_bytes\n"
          "  then with --stacks N: stack_1_bytes .. stack_N_bytes (the stacks are\n"
          "  named in the text and JSON output).\n"
          "  time_s is the end of the row's interval in seconds; rss_bytes and\n"
          "  fragmentation are empty before the first RSS sample; *_error is the\n"
          "  half-width of a 95% confidence interval, 0 when exact;\n"
          "  fragmentation_low and _high are the ratio with the heap at the ends\n"
          "  of that interval (equal to fragmentation when exact).\n"
          "\nExamples:\n"
          "  mtrace-analyze timeline mtrace.redis-server.*\n"
          "  mtrace-analyze timeline --interval 1s --csv mtrace.myprog.* > mem.csv\n"
          "  mtrace-analyze timeline --stacks 3 --svg mem.svg mtrace.myprog.*\n"
          "  mtrace-analyze timeline --pool kv --json mtrace.myprog.*\n",
          out);
}

static const mt_help_t help = {
    .synopsis = "[options] [TRACE...]",
    .about = "Memory over time, one row per interval: the RSS the kernel reported, the\n"
             "live heap (bytes and objects), the program's live mmap'd regions, the\n"
             "allocation and free rates and the fragmentation ratio RSS / (heap +\n"
             "mapped): below 1.3 good, 1.3 to 1.5 acceptable, above 1.5 severe. Heap\n"
             "and rates are exact with MTRACE_SAMPLE=all and estimates (with a 95%\n"
             "bound) when sampled. Works on a trace still being written (up to its\n"
             "last tick). Definitions: analyze/TIMELINE.md.\n",
    .opts = options,
    .json = "interval_ns, span_ns, rows_count, window: {from_ns, to_ns, span_ns}, "
            "estimated, sample_interval, complete, "
            "traces: [{trace, pid, command, complete, sample_interval, events, unknown_frees}], "
            "exact_alloc_calls, exact_alloc_bytes, exact_free_calls, peak_rss_bytes, "
            "peak_fragmentation, final_fragmentation, verdict, rss_trend, pool, "
            "stacks: [{rank, label, growth_bytes, peak_bytes, frames: [{function, file, line, "
            "module, address, inlined, offset}]}], "
            "rows: [{time_s, start_ns, end_ns, rss_bytes, heap_bytes, heap_bytes_error, "
            "heap_objects, heap_objects_error, mapped_bytes, alloc_calls, alloc_bytes, "
            "free_calls, free_bytes, alloc_calls_error, alloc_bytes_error, free_calls_error, "
            "free_bytes_error, alloc_calls_per_s, alloc_bytes_per_s, free_calls_per_s, "
            "free_bytes_per_s, fragmentation, fragmentation_low, fragmentation_high, "
            "pool_bytes, pool_chunk_bytes, stack_bytes: [...]}]",
    .json_notes = "  rows are in time order, times from the earliest trace's start;\n"
                  "  rss_bytes and fragmentation are null before the first RSS sample;\n"
                  "  fragmentation_low and _high use the heap's 95% bounds (null: no\n"
                  "  bound, the low heap is 0), equal to fragmentation when exact;\n"
                  "  alloc_calls .. free_bytes are the row's (estimates when sampled, with\n"
                  "  the *_error 95% bounds; the exact counters are whole-trace totals);\n"
                  "  pool, pool_bytes and pool_chunk_bytes are there with --pool, stacks\n"
                  "  and stack_bytes with --stacks (stack_bytes[i] is stacks[i]'s; a\n"
                  "  stack's growth is its live bytes at the window's end minus at its\n"
                  "  start), window with --from or --to; verdict is good, acceptable,\n"
                  "  severe or unknown (of final_fragmentation); rss_trend is levels_off,\n"
                  "  growing, shrinking or unknown (the last quarter of the rows).\n",
    .extra = extra,
    .exit_status = "0 success, 1 a trace could not be read or the SVG not written,\n"
                   "2 usage error.",
};

typedef struct tl_opts {
    mt_cli_t cli;
    mt_timeline_options_t to;
    bool csv;
    const char *svg;
} tl_opts_t;

/* ---- summaries ----------------------------------------------------------- */

/* The last row that has a fragmentation ratio, or NULL. */
static const mt_tl_row_t *last_frag_row(const mt_timeline_t *tl)
{
    for (size_t k = tl->nrows; k-- > 0;)
        if (tl->rows[k].fragmentation > 0)
            return &tl->rows[k];
    return NULL;
}

static double final_fragmentation(const mt_timeline_t *tl)
{
    const mt_tl_row_t *r = last_frag_row(tl);
    return r ? r->fragmentation : 0;
}

/* Does RSS level off or keep growing? The last quarter of the rows (at
 * least 4 with an RSS sample): "levels_off" when it moved less than 5% of
 * its level, else "growing" or "shrinking" by the sign of last - first. */
static const char *rss_trend(const mt_timeline_t *tl)
{
    size_t from = tl->nrows - tl->nrows / 4, n = 0;
    uint64_t lo = UINT64_MAX, hi = 0, first = 0, last = 0;
    for (size_t k = from; k < tl->nrows; k++) {
        const mt_tl_row_t *r = &tl->rows[k];
        if (!r->rss_known)
            continue;
        if (!n++)
            first = r->rss;
        last = r->rss;
        lo = r->rss < lo ? r->rss : lo;
        hi = r->rss > hi ? r->rss : hi;
    }
    if (n < 4 || !hi)
        return "unknown";
    if ((double)(hi - lo) < 0.05 * (double)hi)
        return "levels_off";
    return last >= first ? "growing" : "shrinking";
}

static uint64_t per_s(uint64_t v, const mt_tl_row_t *r)
{
    uint64_t len = r->end_ns - r->start_ns;
    return len ? (uint64_t)llround((double)v * 1e9 / (double)len) : 0;
}

/* Decimals of a time in seconds that tell the rows apart, the last one
 * partial: 3 for rows of 10 ms to 99 ms, 6 for 10 us to 99 us. */
static int time_decimals(const mt_timeline_t *tl)
{
    int d = 1;
    for (uint64_t u = 1000000000; u > tl->interval_ns && d < 9; u /= 10)
        d++;
    return d;
}

/* ---- CSV ----------------------------------------------------------------- */

static void print_csv(const mt_timeline_t *tl)
{
    fputs(CSV_COLUMNS, stdout);
    if (tl->has_pool)
        fputs(",pool_bytes,pool_chunk_bytes", stdout);
    for (size_t j = 0; j < tl->nstacks; j++)
        printf(",stack_%zu_bytes", j + 1);
    putchar('\n');
    int decimals = time_decimals(tl);
    for (size_t k = 0; k < tl->nrows; k++) {
        const mt_tl_row_t *r = &tl->rows[k];
        printf("%.*f,", decimals, (double)r->end_ns / 1e9);
        if (r->rss_known)
            printf("%llu", (unsigned long long)r->rss);
        printf(",%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,",
               (unsigned long long)r->heap_bytes, (unsigned long long)r->heap_bytes_error,
               (unsigned long long)r->heap_objects, (unsigned long long)r->heap_objects_error,
               (unsigned long long)r->mapped_bytes,
               (unsigned long long)per_s(r->alloc_calls, r),
               (unsigned long long)per_s(r->alloc_bytes, r),
               (unsigned long long)per_s(r->free_calls, r),
               (unsigned long long)per_s(r->free_bytes, r));
        if (r->fragmentation > 0)
            printf("%.3f", r->fragmentation);
        putchar(',');
        if (r->frag_low > 0)
            printf("%.3f", r->frag_low);
        putchar(',');
        if (r->frag_high > 0)
            printf("%.3f", r->frag_high);
        if (tl->has_pool)
            printf(",%llu,%llu", (unsigned long long)r->pool_bytes,
                   (unsigned long long)r->pool_chunk_bytes);
        for (size_t j = 0; j < tl->nstacks; j++)
            printf(",%llu", (unsigned long long)r->stack_bytes[j]);
        putchar('\n');
    }
}

/* ---- JSON ---------------------------------------------------------------- */

static void print_json(const tl_opts_t *o, mt_session_t *s, const mt_timeline_t *tl)
{
    mt_json_t j;
    mt_cli_json_begin(&j, &o->cli);
    mt_json_kv_u64(&j, "interval_ns", tl->interval_ns);
    mt_json_kv_u64(&j, "span_ns", tl->span_ns);
    mt_json_kv_u64(&j, "rows_count", tl->nrows);
    if (tl->windowed) {
        mt_json_key(&j, "window");
        mt_json_begin_object(&j);
        mt_json_kv_u64(&j, "from_ns", tl->from_ns);
        mt_json_kv_u64(&j, "to_ns", tl->to_ns);
        mt_json_kv_u64(&j, "span_ns", tl->span_ns);
        mt_json_end_object(&j);
    }
    mt_report_json_traces(&j, &s->rp);
    mt_json_kv_u64(&j, "exact_alloc_calls", tl->exact_alloc_calls);
    mt_json_kv_u64(&j, "exact_alloc_bytes", tl->exact_alloc_bytes);
    mt_json_kv_u64(&j, "exact_free_calls", tl->exact_free_calls);
    mt_json_kv_u64(&j, "peak_rss_bytes", tl->peak_rss);
    mt_json_kv_double(&j, "peak_fragmentation", tl->peak_fragmentation);
    double fin = final_fragmentation(tl);
    mt_json_kv_double(&j, "final_fragmentation", fin);
    mt_json_kv_string(&j, "verdict", mt_tl_frag_verdict(fin));
    mt_json_kv_string(&j, "rss_trend", rss_trend(tl));
    if (tl->has_pool)
        mt_json_kv_string(&j, "pool", o->cli.pool_arg);
    if (o->to.nstacks) {
        mt_json_key(&j, "stacks");
        mt_json_begin_array(&j);
        for (size_t k = 0; k < tl->nstacks; k++) {
            const mt_tl_stack_t *st = &tl->stacks[k];
            mt_json_begin_object(&j);
            mt_json_kv_u64(&j, "rank", k + 1);
            mt_json_kv_string(&j, "label", st->label);
            mt_json_kv_u64(&j, "growth_bytes", st->growth);
            mt_json_kv_u64(&j, "peak_bytes", st->peak);
            mt_row_t row = {.frames = st->frames, .nframes = st->nframes};
            mt_report_json_frames(&j, &row, 0);
            mt_json_end_object(&j);
        }
        mt_json_end_array(&j);
    }
    mt_json_key(&j, "rows");
    mt_json_begin_array(&j);
    for (size_t k = 0; k < tl->nrows; k++) {
        const mt_tl_row_t *r = &tl->rows[k];
        mt_json_begin_object(&j);
        mt_json_kv_double(&j, "time_s", (double)r->end_ns / 1e9);
        mt_json_kv_u64(&j, "start_ns", r->start_ns);
        mt_json_kv_u64(&j, "end_ns", r->end_ns);
        mt_json_key(&j, "rss_bytes");
        r->rss_known ? mt_json_u64(&j, r->rss) : mt_json_null(&j);
        mt_json_kv_u64(&j, "heap_bytes", r->heap_bytes);
        mt_json_kv_u64(&j, "heap_bytes_error", r->heap_bytes_error);
        mt_json_kv_u64(&j, "heap_objects", r->heap_objects);
        mt_json_kv_u64(&j, "heap_objects_error", r->heap_objects_error);
        mt_json_kv_u64(&j, "mapped_bytes", r->mapped_bytes);
        mt_json_kv_u64(&j, "alloc_calls", r->alloc_calls);
        mt_json_kv_u64(&j, "alloc_bytes", r->alloc_bytes);
        mt_json_kv_u64(&j, "free_calls", r->free_calls);
        mt_json_kv_u64(&j, "free_bytes", r->free_bytes);
        mt_json_kv_u64(&j, "alloc_calls_error", r->alloc_calls_error);
        mt_json_kv_u64(&j, "alloc_bytes_error", r->alloc_bytes_error);
        mt_json_kv_u64(&j, "free_calls_error", r->free_calls_error);
        mt_json_kv_u64(&j, "free_bytes_error", r->free_bytes_error);
        mt_json_kv_u64(&j, "alloc_calls_per_s", per_s(r->alloc_calls, r));
        mt_json_kv_u64(&j, "alloc_bytes_per_s", per_s(r->alloc_bytes, r));
        mt_json_kv_u64(&j, "free_calls_per_s", per_s(r->free_calls, r));
        mt_json_kv_u64(&j, "free_bytes_per_s", per_s(r->free_bytes, r));
        mt_json_key(&j, "fragmentation");
        r->fragmentation > 0 ? mt_json_double(&j, r->fragmentation) : mt_json_null(&j);
        mt_json_key(&j, "fragmentation_low");
        r->frag_low > 0 ? mt_json_double(&j, r->frag_low) : mt_json_null(&j);
        mt_json_key(&j, "fragmentation_high");
        r->frag_high > 0 ? mt_json_double(&j, r->frag_high) : mt_json_null(&j);
        if (tl->has_pool) {
            mt_json_kv_u64(&j, "pool_bytes", r->pool_bytes);
            mt_json_kv_u64(&j, "pool_chunk_bytes", r->pool_chunk_bytes);
        }
        if (o->to.nstacks) {
            mt_json_key(&j, "stack_bytes");
            mt_json_begin_array(&j);
            for (size_t i = 0; i < tl->nstacks; i++)
                mt_json_u64(&j, r->stack_bytes[i]);
            mt_json_end_array(&j);
        }
        mt_json_end_object(&j);
    }
    mt_json_end_array(&j);
    mt_cli_json_end(&j, &o->cli);
}

/* ---- text ---------------------------------------------------------------- */

/* "2.5 MiB/s" or "1,234/s" into BUF. */
static const char *rate(char *buf, uint64_t v, bool bytes)
{
    char a[MT_FMT_MAX];
    snprintf(buf, MT_FMT_MAX, "%s/s", bytes ? mt_fmt_bytes(a, v) : mt_fmt_count(a, v));
    return buf;
}

static void print_text(mt_session_t *s, const mt_timeline_t *tl)
{
    const mt_replay_t *rp = &s->rp;
    char a[MT_FMT_MAX], b[MT_FMT_MAX], c[MT_FMT_MAX], e[MT_FMT_MAX];
    char f[MT_FMT_MAX], g[MT_FMT_MAX], h[MT_FMT_MAX];
    printf("timeline of ");
    for (size_t i = 0; i < rp->ntraces && i < 3; i++)
        printf("%s%s (pid %llu)", i ? ", " : "",
               mt_printable(a, sizeof a, rp->traces[i].info.command),
               (unsigned long long)rp->traces[i].info.pid);
    if (rp->ntraces > 3)
        printf(" and %zu more", rp->ntraces - 3);
    printf(": %s in %zu %s of %s%s\n", mt_fmt_duration(a, tl->span_ns), tl->nrows,
           mt_plural(tl->nrows, "row", "rows"), mt_fmt_duration(b, tl->interval_ns),
           tl->complete ? "" : " (trace not complete: up to its last tick)");
    if (tl->windowed)
        printf("window %s .. %s of %s: levels count everything live, rates the window's "
               "events\n", mt_fmt_duration(a, tl->from_ns), mt_fmt_duration(b, tl->to_ns),
               mt_fmt_duration(c, tl->span_ns));
    if (tl->sampled)
        printf("heap and rates sampled every %s: estimates, \u00b1 a 95%% bound; "
               "exact totals: %s alloc calls, %s\n",
               mt_fmt_bytes(a, mt_report_sample_interval(rp)),
               mt_fmt_count(b, tl->exact_alloc_calls), mt_fmt_bytes(c, tl->exact_alloc_bytes));
    else
        printf("every call recorded: heap and rates exact\n");
    int ow = tl->sampled ? 17 : 9; /* "12,345 ± 1,234" when sampled */
    printf("\n%12s %10s %21s %*s %10s %10s %11s %10s %11s %6s", "time", "RSS", "heap", ow,
           "objects", "mapped", "allocs", "alloc rate", "frees", "free rate", "frag");
    if (tl->has_pool)
        printf(" %10s %10s", "pool", "chunks");
    for (size_t j = 0; j < tl->nstacks; j++)
        printf(" %9s#%zu", "", j + 1);
    putchar('\n');
    int decimals = time_decimals(tl);
    for (size_t k = 0; k < tl->nrows; k++) {
        const mt_tl_row_t *r = &tl->rows[k];
        char t[32], fr[16];
        snprintf(t, sizeof t, "%.*f s", decimals, (double)r->end_ns / 1e9);
        if (r->fragmentation > 0)
            snprintf(fr, sizeof fr, "%.2f", r->fragmentation);
        else
            snprintf(fr, sizeof fr, "-");
        char heap[MT_FMT_MAX], objs[MT_FMT_MAX];
        mt_fmt_bytes_pm(heap, r->heap_bytes, r->heap_bytes_error);
        mt_fmt_count_pm(objs, r->heap_objects, r->heap_objects_error);
        printf("%12s %10s %21s %*s %10s %10s %11s %10s %11s %6s", t,
               r->rss_known ? mt_fmt_bytes(c, r->rss) : "-", heap, ow, objs,
               mt_fmt_bytes(e, r->mapped_bytes), rate(f, per_s(r->alloc_calls, r), false),
               rate(g, per_s(r->alloc_bytes, r), true), rate(h, per_s(r->free_calls, r), false),
               rate(b, per_s(r->free_bytes, r), true), fr);
        if (tl->has_pool)
            printf(" %10s %10s", mt_fmt_bytes(a, r->pool_bytes),
                   mt_fmt_bytes(c, r->pool_chunk_bytes));
        for (size_t j = 0; j < tl->nstacks; j++)
            printf(" %10s", mt_fmt_bytes(a, r->stack_bytes[j]));
        putchar('\n');
    }
    for (size_t j = 0; j < tl->nstacks; j++)
        printf("%s#%zu %s: grew %s, peak %s\n", j ? "" : "\n", j + 1, tl->stacks[j].label,
               mt_fmt_bytes(a, tl->stacks[j].growth), mt_fmt_bytes(b, tl->stacks[j].peak));
    double fin = final_fragmentation(tl);
    const char *trend = rss_trend(tl);
    printf("\nRSS peak %s; in the last quarter it %s\n", mt_fmt_bytes(a, tl->peak_rss),
           strcmp(trend, "levels_off") == 0 ? "levels off"
           : strcmp(trend, "growing") == 0  ? "keeps growing"
           : strcmp(trend, "shrinking") == 0 ? "shrinks"
                                             : "has too few RSS samples to tell");
    const mt_tl_row_t *lr = last_frag_row(tl);
    if (fin <= 0) {
        printf("fragmentation: unknown (no RSS sample, or nothing live)\n");
        return;
    }
    printf("fragmentation (RSS / (heap + mapped)) at the end %.2f: %s "
           "(below 1.3 good, to 1.5 acceptable, above severe); peak %.2f\n",
           fin, mt_tl_frag_verdict(fin), tl->peak_fragmentation);
    if (lr->heap_bytes_error) {
        if (lr->frag_high > 0)
            printf("  with the heap's 95%% bound: %.2f to %.2f\n", lr->frag_low, lr->frag_high);
        else
            printf("  with the heap's 95%% bound: at least %.2f\n", lr->frag_low);
    }
}

/* ---- the command --------------------------------------------------------- */

static int write_svg(const tl_opts_t *o, mt_session_t *s, const mt_timeline_t *tl)
{
    FILE *out = fopen(o->svg, "w");
    if (!out)
        return mt_error("timeline: cannot create %s: %s; check that its directory exists "
                        "and is writable", o->svg, strerror(errno));
    char sub[256], a[MT_FMT_MAX];
    const mt_replay_t *rp = &s->rp;
    snprintf(sub, sizeof sub, "%s (pid %llu)%s; %zu %s of %s; %s",
             rp->ntraces ? rp->traces[0].info.command : "",
             rp->ntraces ? (unsigned long long)rp->traces[0].info.pid : 0ull,
             rp->ntraces > 1 ? " and children" : "", tl->nrows, mt_plural(tl->nrows, "row", "rows"),
             mt_fmt_duration(a, tl->interval_ns),
             tl->sampled ? "heap sampled (estimates)" : "every call recorded (exact)");
    mt_tl_svg_options_t so = {.subtitle = sub};
    int err = mt_timeline_write_svg(tl, &so, out);
    if (fclose(out) != 0 && !err)
        err = errno ? errno : EIO;
    if (err)
        return mt_error("timeline: writing %s: %s; the file is incomplete", o->svg,
                        strerror(err));
    return MT_EXIT_OK;
}

static int report(void *ctx, mt_session_t *s)
{
    tl_opts_t *o = ctx;
    mt_timeline_t tl;
    int rc = mt_timeline_build(&tl, s, &o->to);
    if (!rc && o->svg)
        rc = write_svg(o, s, &tl);
    if (!rc) {
        if (o->csv)
            print_csv(&tl);
        else if (o->cli.json >= 0)
            print_json(o, s, &tl);
        else
            print_text(s, &tl);
    }
    mt_timeline_free(&tl);
    return rc;
}

static int own_option(void *ctx, int opt, const char *arg)
{
    tl_opts_t *o = ctx;
    long n;
    switch (opt) {
    case 'I':
        if (mt_time_parse(arg, &o->to.interval.v, &o->to.interval.percent) ||
            !o->to.interval.v)
            return mt_usage_error("timeline", "--interval %s: expected a length above 0 such "
                                              "as 100ms, 1.5s, 2m or 1%%", arg);
        o->to.interval.set = true;
        return 0;
    case 'c':
        o->csv = true;
        return 0;
    case 'S':
        o->svg = arg;
        return 0;
    case 'k': {
        int rc = mt_cli_long(&o->cli, "--stacks", arg, 0, 64, &n);
        o->to.nstacks = (size_t)n;
        return rc;
    }
    default:
        return MT_CLI_SHARED;
    }
}

int cmd_timeline(int argc, char **argv)
{
    tl_opts_t o = {.to = {.pool = MT_POOL_NONE}};
    mt_cli_init(&o.cli, "timeline", &help);
    int rc = mt_cli_parse(&o.cli, argc, argv, own_option, &o);
    if (!rc && o.csv && o.cli.json >= 0)
        rc = mt_usage_error("timeline", "--csv and --json are two formats; give one");
    if (!rc)
        rc = mt_cli_need_traces(&o.cli);
    if (!rc) {
        /* Not mt_cli_run: the timeline replays the traces itself (the
         * window bounds its rows, not the replay). */
        o.to.pool = o.cli.ro.pool;
        o.to.pool_name = o.cli.pool_arg;
        o.to.from = o.cli.ro.from;
        o.to.to = o.cli.ro.to;
        mt_session_t s;
        rc = mt_session_open(&s, o.cli.ntraces, o.cli.traces);
        if (!rc)
            rc = report(&o, &s);
        mt_session_close(&s);
    }
    return mt_cli_end(&o.cli, rc);
}
