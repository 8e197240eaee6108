/* cmd-fit.c - `mtrace-analyze fit`: do the requested sizes fit the size
 * classes, and a pool's chunks?
 *
 * Replays the traces (the malloc heap, or one pool's annotated requests) with
 * fit.c's event hook, which analyses them: the exact size histogram, the
 * rounding waste under a class table (sizeclass.c), the optimal K classes
 * (optimize.c), the waste of carving pool chunks into those classes, and the
 * stacks that waste the most. This file holds the options and the printing.
 * Sampled traces give estimates (sums of sample weights); MTRACE_SAMPLE=all
 * gives exact numbers.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "fit.h"

#define MAX_CHUNK_CANDIDATES (1u << 20)
#define MAX_OPTIMIZE_K 4096

static void print_classes(FILE *out);

static const mt_opt_t options[] = {
    {'c', 'c', "classes", required_argument, "SPEC",
     "the classes in use: jemalloc (default), glibc,\n"
     "tcmalloc, mimalloc, or a comma-separated list of\n"
     "sizes in bytes, K and M allowed (16,32,48,1K)"},
    {'k', 'k', "optimize", required_argument, "K",
     "also find the K classes with the least rounding\n"
     "waste for these requests, the largest being the\n"
     "largest request (exact; dynamic programming)"},
    {'C', 0, "chunk", required_argument, "SIZE",
     "pool chunk fit: objects per chunk, tail waste per\n"
     "chunk and total waste when chunks of SIZE bytes\n"
     "are carved into objects of each class\n"
     "--chunk MIN..MAX: the same for the best chunk size\n"
     "among MIN, MAX and every multiple of 4 KiB between"},
    MT_OPT_POOL("fit the requests of pool NAME (the annotation API,\n"
                "mtrace/mtrace.h; NAME or a numeric pool id), or\n"
                "of every pool with 'all', instead of malloc's"),
    {'S', 0, "by-stack", no_argument, NULL,
     "list the stacks that waste the most under the\n"
     "classes in use"},
    MT_OPT_MATCH("keep only stacks with a frame whose function, file\n"
                 "or module matches REGEX (POSIX extended)"),
    MT_OPT_TOP("show N sizes and N stacks (default 10; 0 = all)"),
    MT_OPT_DEPTH("frames per stack with --by-stack (default 8)"),
    MT_OPT_FROM,
    MT_OPT_TO,
    MT_OPT_JSON("print JSON; keys below"),
    MT_OPT_HELP,
    MT_OPT_END,
};

static const mt_help_t help = {
    .synopsis = "[options] [TRACE...]",
    .about = "How well the requested sizes fit a set of size classes: the exact size\n"
             "histogram, the bytes lost rounding each request up to the smallest class\n"
             "that holds it (internal fragmentation), the K classes that would lose the\n"
             "least, and for a pool that carves fixed-size chunks into objects of one\n"
             "class each, what the chunk size adds. Requests above the largest class\n"
             "are counted apart as oversize and not rounded. With sampling (the\n"
             "default) counts and bytes are estimates from the sample weights; with\n"
             "MTRACE_SAMPLE=all they are exact.\n",
    .opts = options,
    .json = "requested_bytes, waste_bytes, waste_percent, allocations, oversize_count, "
            "oversize_bytes, estimated, sample_interval, complete, traces: [{trace, pid, command, complete, sample_interval, events, unknown_frees}], window: {from_ns, to_ns, span_ns}, pool, "
            "pool_id, classes_name, classes: [...], sizes: [{size, count, bytes, class, waste}], "
            "top_sizes: [{size, count, bytes}], buckets: [{min, max, count, bytes}], pools: "
            "[{id, name, count, bytes}], optimal: {k, classes: [...], waste_bytes, "
            "waste_percent, chunk: {...}}, chunk: {size, classes: [{class, objects, tail_bytes, "
            "count}], rounding_waste_bytes, tail_waste_bytes, waste_bytes, unfit_count, "
            "unfit_bytes}, chunk_search: {min, max, step, candidates}, stacks: [{waste_bytes, "
            "bytes, count, oversize_count, min_size, max_size, frames: [{function, file, line, module, address, inlined, offset}]}]",
    .json_notes = "  waste_bytes is under the classes in use; sizes lists every distinct\n"
                  "  size, ascending, with class null when oversize; pool_id is there for\n"
                  "  one pool; optimal is there with --optimize, chunk with --chunk,\n"
                  "  chunk_search with a --chunk range, stacks with --by-stack (min_size\n"
                  "  and max_size: a stack's smallest and largest request).\n",
    .extra = print_classes,
};

/* ---- output ---------------------------------------------------------------- */

static uint64_t objs(mt_u128 w)
{
    return mt_bw_bytes(w); /* w / MT_WEIGHT_ONE, rounded */
}

static uint64_t tail_bytes(double b)
{
    return b <= 0 ? 0 : b >= 1.8e19 ? UINT64_MAX : (uint64_t)llround(b);
}

static double percent(double part, double whole)
{
    return whole > 0 ? 100.0 * part / whole : 0.0;
}

static const char *what(const mt_fit_opts_t *o, const mt_fit_collect_t *col, char *buf, size_t cap)
{
    if (o->cli.ro.pool == MT_POOL_NONE)
        snprintf(buf, cap, "malloc");
    else if (o->cli.ro.pool == MT_POOL_ALL)
        snprintf(buf, cap, "every pool");
    else {
        const char *name = mt_fit_pool_name(col, (uint64_t)o->cli.ro.pool);
        char p[MT_POOL_NAME_MAX + 1];
        if (name)
            snprintf(buf, cap, "pool %s", mt_printable(p, sizeof(p), name));
        else
            snprintf(buf, cap, "pool %s", mt_printable(p, sizeof(p), o->pool_arg));
    }
    return buf;
}

static void print_classes_line(const mt_classes_t *c)
{
    char a[MT_FMT_MAX], b[MT_FMT_MAX];
    if (c->n == 0)
        return;
    if (c->source) {
        printf("classes: %s, %zu %s from %s to %s\n", c->name, c->n,
               mt_plural(c->n, "class", "classes"),
               mt_fmt_bytes(a, c->v[0]), mt_fmt_bytes(b, c->v[c->n - 1]));
        return;
    }
    printf("classes: %zu (", c->n);
    for (size_t i = 0; i < c->n; i++)
        printf("%s%" PRIu64, i ? ", " : "", c->v[i]);
    printf(")\n");
}

static void print_class_list(const mt_classes_t *c)
{
    printf("   ");
    for (size_t i = 0; i < c->n; i++)
        printf(" %" PRIu64 "%s", c->v[i], i + 1 < c->n ? "," : "\n");
}

static void print_chunk_text(const mt_fit_opts_t *o, const mt_fit_t *f, const mt_classes_t *c,
                             const mt_class_use_t *use, const mt_chunk_fit_t *ch,
                             uint64_t requested)
{
    char a[MT_FMT_MAX], b[MT_FMT_MAX], d[MT_FMT_MAX], e[MT_FMT_MAX];
    if (o->chunk_range)
        printf("  best chunk size in %s..%s: %s (tried %s %s: both ends and every "
               "multiple of 4 KiB between)\n",
               mt_fmt_bytes(a, o->chunk_min), mt_fmt_bytes(b, o->chunk_max),
               mt_fmt_bytes(d, ch->chunk), mt_fmt_count(e, f->candidates),
               mt_plural(f->candidates, "size", "sizes"));
    printf("  %12s %12s %12s %12s\n", "class", "objects", "tail/chunk", "requests");
    for (size_t k = 0; k < c->n; k++) {
        if (!use[k].w)
            continue;
        uint64_t n = ch->chunk / c->v[k];
        if (n)
            printf("  %12" PRIu64 " %12" PRIu64 " %12s %12s\n", c->v[k], n,
                   mt_fmt_bytes(a, ch->chunk - n * c->v[k]), mt_fmt_count(b, objs(use[k].w)));
        else
            printf("  %12" PRIu64 " %12s %12s %12s\n", c->v[k], "too big", "-",
                   mt_fmt_count(b, objs(use[k].w)));
    }
    double total = mt_chunk_fit_total(ch);
    printf("  waste with %s chunks: %s rounding + %s tail share = %s (%.1f%% of requested)\n",
           mt_fmt_bytes(a, ch->chunk), mt_fmt_bytes(b, objs(ch->round_bw)),
           mt_fmt_bytes(d, tail_bytes(ch->tail_b)), mt_fmt_bytes(e, tail_bytes(total)),
           percent(total, (double)requested));
    if (ch->unfit_w)
        printf("  %s %s (%s) %s a class larger than the chunk: not counted\n",
               mt_fmt_count(a, objs(ch->unfit_w)), mt_plural(objs(ch->unfit_w), "request", "requests"),
               mt_fmt_bytes(b, objs(ch->unfit_bw)), mt_plural(objs(ch->unfit_w), "has", "have"));
}

static void print_text(const mt_fit_opts_t *o, mt_session_t *s, const mt_fit_collect_t *col, mt_fit_t *f)
{
    const mt_replay_t *rp = &s->rp;
    char a[MT_FMT_MAX], b[MT_FMT_MAX], c[MT_FMT_MAX], d[MT_FMT_MAX], w[MT_POOL_NAME_MAX + 16];
    uint64_t requested = objs(f->waste.bw), count = objs(f->waste.w);

    printf("%s%s: %s requests, %s requested", what(o, col, w, sizeof(w)),
           o->cli.has_match ? " (matching)" : "", mt_fmt_count(a, count),
           mt_fmt_bytes(b, requested));
    if (rp->sampled)
        printf(" (sampled every %s: counts and bytes are estimates from sample weights)\n",
               mt_fmt_bytes(c, mt_report_sample_interval(rp)));
    else
        printf(" (every call recorded; exact)\n");
    if (rp->ntraces > 1)
        printf("%zu traces merged\n", rp->ntraces);
    mt_report_print_window(rp);
    if (!f->h.n) {
        printf("\n(no requests%s", o->cli.has_match ? " match" : "");
        if (o->cli.ro.pool != MT_POOL_NONE && col->npools) {
            printf("; pools in the trace:");
            for (size_t i = 0; i < col->npools; i++)
                printf(" %s", col->pools[i].name[0]
                                  ? mt_printable(w, sizeof(w), col->pools[i].name)
                                  : "(unnamed)");
        }
        printf(")\n");
        return;
    }
    print_classes_line(&o->classes);
    uint64_t waste = objs(f->waste.waste_bw);
    printf("rounding waste %s (%s of requested)\n", mt_fmt_bytes(a, waste),
           mt_fmt_percent(b, waste, requested));
    if (f->waste.over_w)
        printf("oversize (above the largest class, not rounded): %s %s, %s\n",
               mt_fmt_count(a, objs(f->waste.over_w)),
               mt_plural(objs(f->waste.over_w), "request", "requests"),
               mt_fmt_bytes(b, objs(f->waste.over_bw)));

    size_t ntop = mt_cli_shown(&o->cli, f->h.n);
    printf("\n%zu distinct sizes; the %zu most requested:\n", f->h.n, ntop);
    printf("  %12s %12s %7s %12s %12s %12s\n", "size", "count", "", "bytes", "class", "waste");
    for (size_t i = 0; i < ntop; i++) {
        size_t j = f->by_count[i];
        uint64_t sz = f->h.size[j], n = objs(f->h.w[j]);
        size_t k = mt_classes_find(&o->classes, sz);
        char cls[32];
        if (k < o->classes.n)
            snprintf(cls, sizeof(cls), "%" PRIu64, o->classes.v[k]);
        else
            snprintf(cls, sizeof(cls), "oversize");
        printf("  %12" PRIu64 " %12s %7s %12s %12s %12s\n", sz, mt_fmt_count(a, n),
               mt_fmt_percent(b, n, count), mt_fmt_bytes(c, objs((mt_u128)sz * f->h.w[j])), cls,
               k < o->classes.n ? mt_fmt_bytes(d, objs((mt_u128)(o->classes.v[k] - sz) *
                                                       f->h.w[j]))
                                : "-");
    }
    printf("\nby power of two:\n  %23s %12s %12s\n", "sizes", "count", "bytes");
    for (size_t i = 0; i < f->h.n;) {
        mt_bucket_t bk;
        mt_sizes_bucket(&f->h, &i, &bk);
        char range[48];
        snprintf(range, sizeof(range), "%" PRIu64 "..%" PRIu64, bk.lo, bk.hi);
        printf("  %23s %12s %12s\n", range, mt_fmt_count(a, objs(bk.w)),
               mt_fmt_bytes(b, objs(bk.bw)));
    }
    if (f->has_opt) {
        uint64_t ow = objs(f->opt_waste_bw);
        printf("\noptimal %zu %s for these requests (exact, over %zu distinct %s):\n",
               f->opt.n, mt_plural(f->opt.n, "class", "classes"), f->h.n,
               mt_plural(f->h.n, "size", "sizes"));
        print_class_list(&f->opt);
        printf("  rounding waste %s (%s) instead of %s (%s) with %s", mt_fmt_bytes(a, ow),
               mt_fmt_percent(b, ow, requested), mt_fmt_bytes(c, waste),
               mt_fmt_percent(d, waste, requested),
               o->classes.source ? o->classes.name : "the classes in use");
        if (f->waste.over_w)
            printf(" (which leave %s %s oversize)", mt_fmt_count(a, objs(f->waste.over_w)),
                   mt_plural(objs(f->waste.over_w), "request", "requests"));
        printf("\n");
    }
    if (o->chunk) {
        printf("\npool chunks, classes in use:\n");
        print_chunk_text(o, f, &o->classes, f->use, &f->chunk, requested);
        if (f->has_opt) {
            printf("\npool chunks, optimal %zu %s:\n", f->opt.n,
                   mt_plural(f->opt.n, "class", "classes"));
            print_chunk_text(o, f, &f->opt, f->opt_use, &f->opt_chunk, requested);
        }
    }
    if (o->by_stack) {
        printf("\nstacks by rounding waste under the classes in use:\n");
        size_t depth = mt_cli_depth(&o->cli, 8);
        for (size_t i = 0; i < f->nrows; i++) {
            const mt_row_t *r = &f->rep.rows[i];
            const mt_fit_row_t *rw = r->extra;
            uint64_t ww = objs(rw->waste_bw);
            uint64_t calls = objs(rw->w);
            printf("\n#%-3zu %s wasted (%s of all waste) on %s requested in %s %s", i + 1,
                   mt_fmt_bytes(a, ww), mt_fmt_percent(b, ww, objs(f->rows_waste_bw)),
                   mt_fmt_bytes(c, objs(rw->bw)), mt_fmt_count(d, calls),
                   mt_plural(calls, "call", "calls"));
            if (rw->over_w)
                printf(", %s oversize", mt_fmt_count(a, objs(rw->over_w)));
            if (r->agg.min_size == r->agg.max_size)
                printf(", size %" PRIu64 "\n", r->agg.min_size);
            else
                printf(", sizes %" PRIu64 "..%" PRIu64 "\n", r->agg.min_size, r->agg.max_size);
            mt_report_print_frames(r, depth);
        }
        mt_report_print_more(f->nrows, f->rep.nrows, "stack", "stacks");
    }
}

static void json_classes(mt_json_t *j, const char *key, const mt_classes_t *c)
{
    mt_json_key(j, key);
    mt_json_begin_array(j);
    for (size_t i = 0; i < c->n; i++)
        mt_json_u64(j, c->v[i]);
    mt_json_end_array(j);
}

static void json_chunk(mt_json_t *j, const mt_classes_t *c, const mt_class_use_t *use,
                       const mt_chunk_fit_t *ch)
{
    mt_json_key(j, "chunk");
    mt_json_begin_object(j);
    mt_json_kv_u64(j, "size", ch->chunk);
    mt_json_key(j, "classes");
    mt_json_begin_array(j);
    for (size_t k = 0; k < c->n; k++) {
        if (!use[k].w)
            continue;
        uint64_t n = ch->chunk / c->v[k];
        mt_json_begin_object(j);
        mt_json_kv_u64(j, "class", c->v[k]);
        mt_json_kv_u64(j, "objects", n);
        mt_json_kv_u64(j, "tail_bytes", n ? ch->chunk - n * c->v[k] : ch->chunk);
        mt_json_kv_u64(j, "count", objs(use[k].w));
        mt_json_end_object(j);
    }
    mt_json_end_array(j);
    mt_json_kv_u64(j, "rounding_waste_bytes", objs(ch->round_bw));
    mt_json_kv_u64(j, "tail_waste_bytes", tail_bytes(ch->tail_b));
    mt_json_kv_u64(j, "waste_bytes", tail_bytes(mt_chunk_fit_total(ch)));
    mt_json_kv_u64(j, "unfit_count", objs(ch->unfit_w));
    mt_json_kv_u64(j, "unfit_bytes", objs(ch->unfit_bw));
    mt_json_end_object(j);
}

static void print_json(const mt_fit_opts_t *o, mt_session_t *s, const mt_fit_collect_t *col, mt_fit_t *f)
{
    const mt_replay_t *rp = &s->rp;
    mt_json_t j;
    mt_cli_json_begin(&j, &o->cli);
    uint64_t requested = objs(f->waste.bw), waste = objs(f->waste.waste_bw);
    mt_json_kv_u64(&j, "requested_bytes", requested);
    mt_json_kv_u64(&j, "waste_bytes", waste);
    mt_json_kv_double(&j, "waste_percent", percent((double)waste, (double)requested));
    mt_json_kv_u64(&j, "allocations", objs(f->waste.w));
    mt_json_kv_u64(&j, "oversize_count", objs(f->waste.over_w));
    mt_json_kv_u64(&j, "oversize_bytes", objs(f->waste.over_bw));
    mt_report_json_traces(&j, rp);
    mt_json_key(&j, "pool");
    if (o->cli.ro.pool == MT_POOL_NONE) {
        mt_json_null(&j);
    } else if (o->cli.ro.pool == MT_POOL_ALL) {
        mt_json_string(&j, "all");
    } else {
        const char *name = mt_fit_pool_name(col, (uint64_t)o->cli.ro.pool);
        mt_json_string(&j, name ? name : o->pool_arg);
        mt_json_kv_u64(&j, "pool_id", (uint64_t)o->cli.ro.pool);
    }
    mt_json_kv_string(&j, "classes_name", o->classes.name);
    json_classes(&j, "classes", &o->classes);
    mt_json_key(&j, "sizes");
    mt_json_begin_array(&j);
    for (size_t i = 0; i < f->h.n; i++) {
        uint64_t sz = f->h.size[i];
        size_t k = mt_classes_find(&o->classes, sz);
        mt_json_begin_object(&j);
        mt_json_kv_u64(&j, "size", sz);
        mt_json_kv_u64(&j, "count", objs(f->h.w[i]));
        mt_json_kv_u64(&j, "bytes", objs((mt_u128)sz * f->h.w[i]));
        mt_json_key(&j, "class");
        if (k < o->classes.n) {
            mt_json_u64(&j, o->classes.v[k]);
            mt_json_kv_u64(&j, "waste", objs((mt_u128)(o->classes.v[k] - sz) * f->h.w[i]));
        } else {
            mt_json_null(&j);
            mt_json_kv_u64(&j, "waste", 0);
        }
        mt_json_end_object(&j);
    }
    mt_json_end_array(&j);
    size_t ntop = mt_cli_shown(&o->cli, f->h.n);
    mt_json_key(&j, "top_sizes");
    mt_json_begin_array(&j);
    for (size_t i = 0; i < ntop; i++) {
        size_t x = f->by_count[i];
        mt_json_begin_object(&j);
        mt_json_kv_u64(&j, "size", f->h.size[x]);
        mt_json_kv_u64(&j, "count", objs(f->h.w[x]));
        mt_json_kv_u64(&j, "bytes", objs((mt_u128)f->h.size[x] * f->h.w[x]));
        mt_json_end_object(&j);
    }
    mt_json_end_array(&j);
    mt_json_key(&j, "buckets");
    mt_json_begin_array(&j);
    for (size_t i = 0; i < f->h.n;) {
        mt_bucket_t bk;
        mt_sizes_bucket(&f->h, &i, &bk);
        mt_json_begin_object(&j);
        mt_json_kv_u64(&j, "min", bk.lo);
        mt_json_kv_u64(&j, "max", bk.hi);
        mt_json_kv_u64(&j, "count", objs(bk.w));
        mt_json_kv_u64(&j, "bytes", objs(bk.bw));
        mt_json_end_object(&j);
    }
    mt_json_end_array(&j);
    mt_json_key(&j, "pools");
    mt_json_begin_array(&j);
    for (size_t i = 0; i < col->npools; i++) {
        mt_json_begin_object(&j);
        mt_json_kv_u64(&j, "id", col->pools[i].id);
        mt_json_key(&j, "name");
        col->pools[i].name[0] ? mt_json_string(&j, col->pools[i].name) : mt_json_null(&j);
        mt_json_kv_u64(&j, "count", objs(col->pools[i].w));
        mt_json_kv_u64(&j, "bytes", objs(col->pools[i].bw));
        mt_json_end_object(&j);
    }
    mt_json_end_array(&j);
    if (f->has_opt) {
        mt_json_key(&j, "optimal");
        mt_json_begin_object(&j);
        mt_json_kv_u64(&j, "k", f->opt.n);
        json_classes(&j, "classes", &f->opt);
        mt_json_kv_u64(&j, "waste_bytes", objs(f->opt_waste_bw));
        mt_json_kv_double(&j, "waste_percent",
                          percent((double)objs(f->opt_waste_bw), (double)requested));
        if (o->chunk)
            json_chunk(&j, &f->opt, f->opt_use, &f->opt_chunk);
        mt_json_end_object(&j);
    }
    if (o->chunk) {
        json_chunk(&j, &o->classes, f->use, &f->chunk);
        if (o->chunk_range) {
            mt_json_key(&j, "chunk_search");
            mt_json_begin_object(&j);
            mt_json_kv_u64(&j, "min", o->chunk_min);
            mt_json_kv_u64(&j, "max", o->chunk_max);
            mt_json_kv_u64(&j, "step", MT_FIT_CHUNK_STEP);
            mt_json_kv_u64(&j, "candidates", f->candidates);
            mt_json_end_object(&j);
        }
    }
    if (o->by_stack) {
        mt_json_key(&j, "stacks");
        mt_json_begin_array(&j);
        for (size_t i = 0; i < f->nrows; i++) {
            const mt_row_t *r = &f->rep.rows[i];
            const mt_fit_row_t *rw = r->extra;
            mt_json_begin_object(&j);
            mt_json_kv_u64(&j, "waste_bytes", objs(rw->waste_bw));
            mt_json_kv_u64(&j, "bytes", objs(rw->bw));
            mt_json_kv_u64(&j, "count", objs(rw->w));
            mt_json_kv_u64(&j, "oversize_count", objs(rw->over_w));
            mt_json_kv_u64(&j, "min_size", r->agg.min_size);
            mt_json_kv_u64(&j, "max_size", r->agg.max_size);
            mt_report_json_frames(&j, r, mt_cli_depth(&o->cli, 0));
            mt_json_end_object(&j);
        }
        mt_json_end_array(&j);
    }
    mt_cli_json_end(&j, &o->cli);
}

/* ---- command ------------------------------------------------------------- */

/* fit's part of --help: the built-in class tables and where they come from. */
static void print_classes(FILE *out)
{
    fputs("\nBuilt-in class tables:\n", out);
    for (int i = 0; mt_classes_builtin_names[i]; i++) {
        /* Wrap the provenance at 76 columns, indented. */
        fprintf(out, "  %-10s", mt_classes_builtin_names[i]);
        const char *p = mt_classes_builtin_sources[i];
        int col = 12;
        while (*p) {
            const char *sp = strchr(p, ' ');
            int len = sp ? (int)(sp - p) : (int)strlen(p);
            if (col + len + 1 > 78) {
                fputs("\n            ", out);
                col = 12;
            }
            fprintf(out, " %.*s", len, p);
            col += len + 1;
            p += len;
            while (*p == ' ')
                p++;
        }
        fputs("\n", out);
    }
}

static int parse_chunk(mt_fit_opts_t *o, const char *s)
{
    const char *dots = strstr(s, "..");
    char lo[64];
    if (!dots) {
        o->chunk_range = false;
        if (mt_size_parse(s, &o->chunk_min) || !o->chunk_min)
            return mt_usage_error("fit", "--chunk %s: expected a size in bytes (64K) or a "
                                         "range MIN..MAX (16K..1M)", s);
        o->chunk_max = o->chunk_min;
        o->chunk = true;
        return 0;
    }
    size_t n = (size_t)(dots - s);
    if (n >= sizeof(lo) || (memcpy(lo, s, n), lo[n] = '\0', mt_size_parse(lo, &o->chunk_min)) ||
        mt_size_parse(dots + 2, &o->chunk_max) || !o->chunk_min ||
        o->chunk_max < o->chunk_min)
        return mt_usage_error("fit", "--chunk %s: expected MIN..MAX with 0 < MIN <= MAX, "
                                     "e.g. 16K..1M", s);
    if ((o->chunk_max - o->chunk_min) / MT_FIT_CHUNK_STEP > MAX_CHUNK_CANDIDATES)
        return mt_usage_error("fit", "--chunk %s: the range holds more than %u multiples of "
                                     "4 KiB; narrow it", s, MAX_CHUNK_CANDIDATES);
    o->chunk_range = true;
    o->chunk = true;
    return 0;
}

/* The options of fit alone (mt_cli_parse's OWN), and its own forms of
 * shared ones: -n and --depth with upper bounds, --pool that keeps the name
 * given. */
static int fit_option(void *ctx, int opt, const char *arg)
{
    mt_fit_opts_t *o = ctx;
    switch (opt) {
    case 'c':
        o->classes_spec = arg;
        return 0;
    case 'k':
        return mt_cli_long(&o->cli, "--optimize", arg, 1, MAX_OPTIMIZE_K, &o->k);
    case 'C':
        return parse_chunk(o, arg);
    case 'p':
        o->pool_arg = arg;
        if (mt_parse_pool(arg, &o->cli.ro.pool))
            return mt_usage_error("fit", "--pool %s: expected a pool name, a pool id or "
                                         "'all'", arg);
        return 0;
    case 'S':
        o->by_stack = true;
        return 0;
    case 'n':
        return mt_cli_long(&o->cli, "-n", arg, 0, INT32_MAX, &o->cli.top);
    case 'd':
        return mt_cli_long(&o->cli, "--depth", arg, 1, MT_MAX_FRAMES * 8, &o->cli.depth);
    default:
        return MT_CLI_SHARED;
    }
}

/* The report of the current replay (mt_cli_run's REPORT). */
static int report(void *ctx, mt_session_t *s)
{
    const mt_fit_opts_t *o = ctx;
    mt_fit_collect_t *col = o->cli.ro.ctx;
    mt_fit_t f;
    int rc = mt_fit_analyse(o, s, col, &f);
    if (!rc && o->cli.json >= 0)
        print_json(o, s, col, &f);
    else if (!rc)
        print_text(o, s, col, &f);
    mt_fit_free(&f);
    return rc;
}

int cmd_fit(int argc, char **argv)
{
    mt_fit_opts_t o = {.classes_spec = "jemalloc"};
    mt_cli_init(&o.cli, "fit", &help);
    int rc = mt_cli_parse(&o.cli, argc, argv, fit_option, &o);
    if (!rc) {
        const char *bad = NULL;
        int err = mt_classes_parse(o.classes_spec, &o.classes, &bad);
        if (err == ENOMEM)
            rc = mt_error("fit: out of memory");
        else if (err)
            rc = mt_usage_error("fit", "--classes %s: '%s' is not a size; expected jemalloc, "
                                       "glibc, tcmalloc, mimalloc or sizes like 16,32,1K",
                                o.classes_spec, bad ? bad : o.classes_spec);
    }
    mt_fit_collect_t col = {.pool = o.cli.ro.pool};
    o.cli.ro.on_event = mt_fit_on_event;
    o.cli.ro.ctx = &col;
    if (!rc)
        rc = mt_cli_run(&o.cli, report, &o);
    mt_fit_collect_free(&col);
    mt_classes_free(&o.classes);
    return mt_cli_end(&o.cli, rc);
}
