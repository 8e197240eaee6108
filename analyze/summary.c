/* summary.c - the diagnosis on one screen: the timeline (timeline.c) gives
 * RSS, live heap and mapped bytes over time, one replay feeds fit.c's and
 * numa.c's event hooks; the findings are read off them, the report rows
 * (report.c) and the exact counters. Each finding is judged against a
 * threshold of mt_summary_limits_t and names the command with the detail.
 * Fragmentation is the timeline's RSS / (live heap + live mapped regions)
 * per row (TIMELINE.md defines it and its biases), with the regions mapped
 * before the shim saw them (code, libraries, stacks) counted as live.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "summary.h"

const char *const mt_verdict_names[3] = {"ok", "warn", "bad"};

/* ---- the replay hook ----------------------------------------------------- */

static int hook(void *ctx, mt_replay_t *rp, uint32_t trace, uint32_t thread, const mt_event_t *e)
{
    mt_summary_t *sm = ctx;
    int rc = mt_fit_on_event(&sm->fit, rp, trace, thread, e);
    return rc ? rc : sm->numa_ro.on_event(sm->numa_ro.ctx, rp, trace, thread, e);
}

int mt_summary_init(mt_summary_t *sm, const mt_summary_limits_t *lim, mt_replay_options_t *opt)
{
    memset(sm, 0, sizeof(*sm));
    sm->lim = *lim;
    sm->fit.pool = MT_POOL_NONE;
    if (mt_numa_init(&sm->numa, &sm->numa_ro))
        return ENOMEM;
    opt->pool = MT_POOL_NONE;
    opt->growth = true;
    opt->on_event = hook;
    opt->ctx = sm;
    return 0;
}

void mt_summary_free(mt_summary_t *sm)
{
    if (sm->has_fit)
        mt_fit_free(&sm->fitr);
    mt_classes_free(&sm->fo.classes);
    mt_fit_collect_free(&sm->fit);
    mt_numa_free(&sm->numa);
    mt_timeline_free(&sm->tl);
    memset(sm, 0, sizeof(*sm));
}

/* ---- findings -------------------------------------------------------------- */

static mt_finding_t *add(mt_summary_t *sm, const char *name)
{
    mt_finding_t *f = &sm->f[sm->nf++];
    memset(f, 0, sizeof(*f));
    f->name = name;
    return f;
}

static void num(mt_finding_t *f, const char *name, double v)
{
    if (f->nnum < MT_FINDING_NUMBERS) {
        f->num[f->nnum].name = name;
        f->num[f->nnum++].value = v;
    }
}

static void line(mt_finding_t *f, const char *fmt, ...) MT__PRINTF(2, 3);
static void line(mt_finding_t *f, const char *fmt, ...)
{
    if (f->nlines == MT_FINDING_LINES)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->lines[f->nlines++], sizeof(f->lines[0]), fmt, ap);
    va_end(ap);
}

/* "mtrace-analyze ARGS TRACE..." into f->command. */
static void command(mt_finding_t *f, const mt_cli_t *c, const char *args)
{
    size_t n = (size_t)snprintf(f->command, sizeof(f->command), "%s %s", MT_PROGNAME, args);
    for (int i = 0; i < c->ntraces && n < sizeof(f->command); i++)
        n += (size_t)snprintf(f->command + n, sizeof(f->command) - n, " %s", c->traces[i]);
}

static int judge(double v, double warn, double bad)
{
    return v >= bad ? MT_VERDICT_BAD : v >= warn ? MT_VERDICT_WARN : MT_VERDICT_OK;
}

/* Dropped events and an unfinished trace, called out first. */
static void find_trace(mt_summary_t *sm, const mt_cli_t *c, const mt_replay_t *rp)
{
    mt_finding_t *f = add(sm, "trace");
    char a[MT_FMT_MAX];
    const char *truncated = NULL;
    for (size_t i = 0; i < rp->ntraces; i++)
        if (rp->traces[i].info.truncated[0])
            truncated = rp->traces[i].info.truncated;
    num(f, "dropped_events", (double)sm->dropped);
    num(f, "stacks_lost", (double)sm->stacks_lost);
    num(f, "complete", rp->complete);
    num(f, "unknown_frees", (double)rp->unknown_frees);
    if (sm->dropped || truncated) {
        f->verdict = MT_VERDICT_BAD;
        if (sm->dropped)
            snprintf(f->text, sizeof(f->text),
                     "%s %s dropped (rings full): stacks and live bytes undercount",
                     mt_fmt_count(a, sm->dropped), mt_plural(sm->dropped, "event", "events"));
        else
            snprintf(f->text, sizeof(f->text), "recording stopped early: %.200s", truncated);
    } else if (!rp->complete) {
        f->verdict = MT_VERDICT_WARN;
        snprintf(f->text, sizeof(f->text),
                 "incomplete: the program had not ended cleanly (running, killed or "
                 "crashed); the end is the last tick");
    } else if (sm->stacks_lost) {
        f->verdict = MT_VERDICT_WARN;
        snprintf(f->text, sizeof(f->text), "complete, but %s %s lost their stack (stack table "
                 "full): they count in the totals, not in any stack",
                 mt_fmt_count(a, sm->stacks_lost), mt_plural(sm->stacks_lost, "sample", "samples"));
    } else {
        snprintf(f->text, sizeof(f->text), "complete, no event dropped");
    }
    if (sm->dropped && truncated)
        line(f, "recording stopped early: %.140s", truncated);
    if (sm->stacks_lost && f->verdict == MT_VERDICT_BAD)
        line(f, "%s samples lost their stack (stack table full)",
             mt_fmt_count(a, sm->stacks_lost));
    snprintf(f->threshold, sizeof(f->threshold),
             "bad: any dropped event or early stop; warn: not ended cleanly, or samples "
             "without a stack");
    command(f, c, "info");
}

/* The rows of the timeline (timeline.c, TIMELINE.md) that have an RSS sample. */
static bool known(const mt_tl_row_t *r)
{
    return r->rss_known && r->fragmentation > 0;
}

/* What is resident besides the heap and the recorded regions: code,
 * libraries, stacks, the shim's buffers, mapped before the shim saw them
 * (TIMELINE.md's first bias), taken at the first RSS sample (a program
 * starts with them, before its data). These are live mapped regions too,
 * so the judged ratio counts them with the live side: a small program is
 * not fragmented for having code. Not taken later: RSS lags the heap by up
 * to a tick, and a lagging row would hide it. */
static uint64_t resident_other(const mt_timeline_t *tl)
{
    for (size_t i = 0; i < tl->nrows; i++) {
        const mt_tl_row_t *r = &tl->rows[i];
        uint64_t live = r->heap_bytes + r->mapped_bytes;
        if (r->rss_known)
            return r->rss > live ? r->rss - live : 0;
    }
    return 0;
}

static double judged_ratio(const mt_tl_row_t *r, uint64_t other)
{
    return (double)r->rss / (double)(r->heap_bytes + r->mapped_bytes + other);
}

static void find_fragmentation(mt_summary_t *sm, const mt_cli_t *c)
{
    const mt_summary_limits_t *l = &sm->lim;
    const mt_timeline_t *tl = &sm->tl;
    mt_finding_t *f = add(sm, "fragmentation");
    char a[MT_FMT_MAX], b[MT_FMT_MAX], d[MT_FMT_MAX], e[MT_FMT_MAX];
    uint64_t other = resident_other(tl);
    const mt_tl_row_t *now = NULL, *worst = NULL;
    size_t judged = 0;
    for (size_t i = 0; i < tl->nrows; i++) {
        const mt_tl_row_t *r = &tl->rows[i];
        if (!known(r) || r->heap_bytes + r->mapped_bytes < l->frag_min)
            continue;
        judged++;
        now = r;
        if (!worst || judged_ratio(r, other) > judged_ratio(worst, other))
            worst = r;
    }
    snprintf(f->threshold, sizeof(f->threshold),
             "warn >= %.2f, bad >= %.2f at the worst of the timeline's rows with >= %s live",
             l->frag_warn, l->frag_bad, mt_fmt_bytes(a, l->frag_min));
    command(f, c, "timeline");
    num(f, "rows", (double)tl->nrows);
    num(f, "judged_rows", (double)judged);
    if (!worst) {
        snprintf(f->text, sizeof(f->text), "not judged: no timeline row with an RSS sample and %s live",
                 mt_fmt_bytes(a, l->frag_min));
        return;
    }
    double rn = judged_ratio(now, other), rw = judged_ratio(worst, other);
    f->verdict = judge(rw, l->frag_warn, l->frag_bad);
    num(f, "now", rn);
    num(f, "worst", rw);
    num(f, "worst_s", (double)worst->end_ns / 1e9);
    num(f, "timeline_now", now->fragmentation);
    num(f, "timeline_worst", worst->fragmentation);
    num(f, "rss_bytes", (double)now->rss);
    num(f, "heap_bytes", (double)now->heap_bytes);
    num(f, "mapped_bytes", (double)now->mapped_bytes);
    num(f, "resident_other_bytes", (double)other);
    snprintf(f->text, sizeof(f->text), "%.2f now, %.2f at worst (RSS / live heap + mapped)", rn,
             rw);
    line(f, "now: RSS %s, live heap %s, mapped %s, %s resident besides them", mt_fmt_bytes(a, now->rss),
         mt_fmt_bytes(b, now->heap_bytes), mt_fmt_bytes(d, now->mapped_bytes),
         mt_fmt_bytes(e, other));
    line(f, "worst at %.2f s: RSS %s over %s live", (double)worst->end_ns / 1e9,
         mt_fmt_bytes(a, worst->rss),
         mt_fmt_bytes(b, worst->heap_bytes + worst->mapped_bytes + other));
    line(f, "timeline's ratio (without what is resident besides): %.2f now, %.2f at worst",
         now->fragmentation, worst->fragmentation);
}

static int find_growth(mt_summary_t *sm, const mt_cli_t *c, mt_session_t *s)
{
    const mt_summary_limits_t *l = &sm->lim;
    mt_finding_t *f = add(sm, "growth");
    char a[MT_FMT_MAX], b[MT_FMT_MAX], d[MT_FMT_MAX];
    snprintf(f->threshold, sizeof(f->threshold),
             "keeps growing: RSS grew >= %.0f%% of its final value in the second half; "
             "suspect: live bytes grew in >= %ld of %d intervals",
             100 * l->growth, l->leak_steps, MT_GROWTH_POINTS - 1);
    command(f, c, "leaks --sort growth");
    /* Leak suspects: leaks --sort growth's order, those that grew often. */
    mt_cli_t rc = *c;
    rc.top = 3; /* symbolized: the suspects shown */
    rc.has_match = false;
    rc.by_function = false;
    mt_report_t rep;
    size_t nshow;
    int st = mt_cli_rows(&rc, s, &rep, mt_leaks_keep, NULL, NULL, mt_leaks_cmp_growth, &nshow);
    size_t suspects = 0;
    uint64_t suspect_bytes = 0;
    for (size_t i = 0; !st && i < rep.nrows; i++) {
        const mt_row_t *r = &rep.rows[i];
        if (r->agg.growth_steps < (uint32_t)l->leak_steps)
            break;
        suspects++;
        suspect_bytes += mt_bw_bytes(r->agg.live_bw);
        if (i < nshow) {
            const char *fn = "?";
            for (size_t k = 0; k < r->nframes; k++)
                if (r->frames[k].function) {
                    fn = r->frames[k].function;
                    break;
                }
            line(f, "suspect: %.60s, %s live, grew in %u of %d intervals", fn,
                 mt_fmt_bytes(a, mt_bw_bytes(r->agg.live_bw)), r->agg.growth_steps,
                 MT_GROWTH_POINTS - 1);
        }
    }
    mt_report_free(&rep);
    if (st)
        return st;
    num(f, "suspects", (double)suspects);
    num(f, "suspect_bytes", (double)suspect_bytes);
    /* RSS at the first row that has it, at the middle of the rest, at the end. */
    const mt_timeline_t *tl = &sm->tl;
    size_t first = 0, nknown = 0;
    while (first < tl->nrows && !tl->rows[first].rss_known)
        first++;
    for (size_t i = first; i < tl->nrows; i++)
        nknown += tl->rows[i].rss_known;
    if (nknown < 4) {
        snprintf(f->text, sizeof(f->text), "not judged: %zu timeline %s with RSS (4 needed); %zu leak %s",
                 nknown, mt_plural(nknown, "row", "rows"), suspects,
                 mt_plural(suspects, "suspect", "suspects"));
        f->verdict = suspects ? MT_VERDICT_WARN : MT_VERDICT_OK;
        return 0;
    }
    const mt_tl_row_t *r0 = &tl->rows[first], *r1 = &tl->rows[tl->nrows - 1];
    uint64_t half = r0->end_ns + (r1->end_ns - r0->end_ns) / 2, q3 = r0->rss, end = r1->rss;
    for (size_t i = first; i < tl->nrows && tl->rows[i].end_ns <= half; i++)
        q3 = tl->rows[i].rss;
    double share = end > q3 ? (double)(end - q3) / (double)end : 0;
    bool growing = share >= l->growth;
    num(f, "rss_bytes", (double)end);
    num(f, "rss_second_half_bytes", (double)(end > q3 ? end - q3 : 0));
    num(f, "second_half_share", share);
    f->verdict = growing && suspects ? MT_VERDICT_BAD
                 : growing || suspects ? MT_VERDICT_WARN
                                       : MT_VERDICT_OK;
    snprintf(f->text, sizeof(f->text), "RSS %s: %s -> %s, +%.0f%% in the second half; %zu leak %s (%s)",
             growing ? "keeps growing" : "levels off", mt_fmt_bytes(a, r0->rss),
             mt_fmt_bytes(b, end), 100 * share, suspects,
             mt_plural(suspects, "suspect", "suspects"), mt_fmt_bytes(d, suspect_bytes));
    return 0;
}

static int by_alloc_bytes(const mt_row_t *a, const mt_row_t *b)
{
    int c = mt_cmp_desc(a->agg.alloc_bw, b->agg.alloc_bw);
    return c ? c : mt_cmp_desc(a->agg.alloc_w, b->agg.alloc_w);
}

static int find_hot(mt_summary_t *sm, const mt_cli_t *c, mt_session_t *s)
{
    mt_finding_t *f = add(sm, "hot_stacks");
    char a[MT_FMT_MAX], b[MT_FMT_MAX], d[MT_FMT_MAX];
    mt_cli_t rc = *c;
    rc.top = sm->lim.hot;
    rc.has_match = false;
    rc.by_function = false;
    mt_report_t rep;
    size_t nshow;
    int st = mt_cli_rows(&rc, s, &rep, mt_keep_allocating, NULL, NULL, by_alloc_bytes, &nshow);
    if (st) {
        mt_report_free(&rep);
        return st;
    }
    uint64_t total = mt_bw_bytes(s->rp.alloc_bw);
    for (size_t i = 0; i < nshow; i++) {
        const mt_row_t *r = &rep.rows[i];
        char where[120] = "";
        size_t n = 0;
        for (size_t k = 0, shown = 0; k < r->nframes && shown < 3 && n < sizeof(where); k++) {
            if (!r->frames[k].function)
                continue;
            n += (size_t)snprintf(where + n, sizeof(where) - n, "%s%.40s", shown ? " < " : "",
                                  r->frames[k].function);
            shown++;
        }
        uint64_t bytes = mt_bw_bytes(r->agg.alloc_bw);
        line(f, "#%zu %s (%s) in %s calls: %s", i + 1, mt_fmt_bytes(a, bytes),
             mt_fmt_percent(b, bytes, total), mt_fmt_count(d, mt_w_objects(r->agg.alloc_w)),
             where[0] ? where : "(no symbols)");
        if (i == 0)
            num(f, "top_share", total ? (double)bytes / (double)total : 0);
    }
    num(f, "stacks", (double)rep.nrows);
    num(f, "allocated_bytes", (double)total);
    snprintf(f->text, sizeof(f->text), "%s allocated by %s %s; the top %zu:", mt_fmt_bytes(a, total),
             mt_fmt_count(b, rep.nrows), mt_plural(rep.nrows, "stack", "stacks"), nshow);
    snprintf(f->threshold, sizeof(f->threshold), "none: where to look first");
    command(f, c, "top");
    mt_report_free(&rep);
    return 0;
}

/* The allocator in use, from the module list of the first trace that maps one. */
static void detect_allocator(mt_summary_t *sm, const mt_replay_t *rp)
{
    static const char *const names[] = {"jemalloc", "tcmalloc", "mimalloc"};
    snprintf(sm->allocator, sizeof(sm->allocator), "glibc");
    for (size_t i = 0; i < rp->ntraces; i++) {
        uint64_t cur = 0;
        mt_module_t *m = malloc(sizeof(*m));
        if (!m)
            return;
        while (mt_reader_next_module(rp->traces[i].reader, &cur, m) == 1) {
            const char *base = mt_sym_basename(m->path);
            for (size_t k = 0; k < 3; k++) {
                char lib[32];
                snprintf(lib, sizeof(lib), "lib%s", names[k]);
                if (strncmp(base, lib, strlen(lib)) == 0) {
                    snprintf(sm->allocator, sizeof(sm->allocator), "%s", names[k]);
                    free(m);
                    return;
                }
            }
        }
        free(m);
    }
}

/* fit --optimize's classes for these requests, as many as the allocator's
 * classes that they use (at most --optimize): the same number of classes,
 * placed for this program. Fills sm->fitr's optimal fields. */
static int propose(mt_summary_t *sm)
{
    mt_fit_t *f = &sm->fitr;
    if (!f->h.n)
        return MT_EXIT_OK;
    mt_class_use_t *u = calloc(sm->fo.classes.n + 1, sizeof(*u));
    if (!u)
        return mt_error("summary: out of memory");
    mt_class_use(&sm->fo.classes, &f->h, u);
    size_t used = 0;
    for (size_t i = 0; i < sm->fo.classes.n; i++)
        used += u[i].w != 0;
    free(u);
    size_t k = (size_t)sm->lim.optimize_k < used ? (size_t)sm->lim.optimize_k : used;
    if (!k)
        k = 1; /* every request above the largest class */
    if (k > f->h.n)
        k = f->h.n;
    uint64_t *v = malloc(k * sizeof(*v));
    size_t n = 0;
    if (!v || mt_optimize(f->h.size, f->h.w, f->h.n, k, v, &n, &f->opt_waste_bw) ||
        mt_classes_set(&f->opt, v, n, "optimal")) {
        free(v);
        return mt_error("summary: out of memory finding the optimal classes (%zu sizes, K=%zu)",
                        f->h.n, k);
    }
    free(v);
    f->has_opt = true;
    return MT_EXIT_OK;
}

static int find_sizeclass(mt_summary_t *sm, const mt_cli_t *c, mt_session_t *s)
{
    const mt_summary_limits_t *l = &sm->lim;
    mt_finding_t *f = add(sm, "size_classes");
    char a[MT_FMT_MAX], b[MT_FMT_MAX], d[MT_FMT_MAX];
    detect_allocator(sm, &s->rp);
    if (mt_classes_parse(sm->allocator, &sm->fo.classes, NULL))
        return mt_error("summary: out of memory");
    sm->fo.cli = *c;
    sm->fo.cli.has_match = false;
    sm->fo.cli.ro.pool = MT_POOL_NONE;
    sm->fo.k = 0; /* the proposal below, with as many classes as are in use */
    sm->fo.classes_spec = sm->allocator;
    int st = mt_fit_analyse(&sm->fo, s, &sm->fit, &sm->fitr);
    sm->has_fit = true;
    if (st)
        return st;
    if ((st = propose(sm)) != 0)
        return st;
    const mt_fit_t *fr = &sm->fitr;
    uint64_t req = mt_bw_bytes(fr->waste.bw - fr->waste.over_bw);
    uint64_t waste = mt_bw_bytes(fr->waste.waste_bw);
    uint64_t opt = fr->has_opt ? mt_bw_bytes(fr->opt_waste_bw) : waste;
    double share = req ? (double)waste / (double)req : 0;
    f->verdict = judge(share, l->waste_warn, l->waste_bad);
    num(f, "requested_bytes", (double)req);
    num(f, "waste_bytes", (double)waste);
    num(f, "waste_share", share);
    num(f, "optimized_waste_bytes", (double)opt);
    num(f, "saving_bytes", (double)(waste > opt ? waste - opt : 0));
    num(f, "distinct_sizes", (double)fr->h.n);
    snprintf(f->text, sizeof(f->text),
             "%s classes (detected) lose %s of %s requested (%.1f%%) to rounding", sm->allocator,
             mt_fmt_bytes(a, waste), mt_fmt_bytes(b, req), 100 * share);
    if (fr->has_opt)
        line(f, "the same number of classes (%zu) placed by fit --optimize would lose %s: %s less",
             fr->opt.n, mt_fmt_bytes(a, opt), mt_fmt_bytes(d, waste > opt ? waste - opt : 0));
    if (fr->waste.over_w)
        line(f, "%s requests above the largest class (not rounded)",
             mt_fmt_count(a, mt_w_objects((uint64_t)fr->waste.over_w)));
    snprintf(f->threshold, sizeof(f->threshold), "warn >= %.0f%%, bad >= %.0f%% of requested bytes",
             100 * l->waste_warn, 100 * l->waste_bad);
    char args[96];
    snprintf(args, sizeof(args), "fit --classes %s --optimize %zu", sm->allocator,
             fr->has_opt ? fr->opt.n : (size_t)l->optimize_k);
    command(f, c, args);
    return 0;
}

static double duration_s(const mt_replay_t *rp)
{
    double d = (double)rp->span_ns / 1e9;
    return d;
}

static void find_pool(mt_summary_t *sm, const mt_cli_t *c, const mt_replay_t *rp)
{
    const mt_summary_limits_t *l = &sm->lim;
    mt_finding_t *f = add(sm, "pool_growth");
    char a[MT_FMT_MAX];
    double d = duration_s(rp);
    /* Over at least one second, so that a short run's few mmaps do not count as a rate. */
    double rate = (double)sm->mmaps / (d > 1 ? d : 1);
    f->verdict = judge(rate, l->pool_warn, l->pool_bad);
    num(f, "mmap_calls", (double)sm->mmaps);
    num(f, "duration_s", d);
    num(f, "per_second", rate);
    snprintf(f->text, sizeof(f->text), "%s mmap %s in %.2f s: %.1f per second%s",
             mt_fmt_count(a, sm->mmaps), mt_plural(sm->mmaps, "call", "calls"), d, rate,
             f->verdict ? ": the pool grows often, it is too small" : "");
    snprintf(f->threshold, sizeof(f->threshold),
             "warn >= %g/s, bad >= %g/s (numa_alloc_onnode is an mmap; over >= 1 s)",
             l->pool_warn, l->pool_bad);
    command(f, c, "numa");
}

static void find_policy(mt_summary_t *sm, const mt_cli_t *c)
{
    mt_finding_t *f = add(sm, "policy_calls");
    const mt_numa_t *nu = &sm->numa;
    char a[MT_FMT_MAX], b[MT_FMT_MAX];
    uint64_t mb = nu->calls[MT_PK_MBIND], sp = nu->calls[MT_PK_SET_MEMPOLICY];
    num(f, "mbind", (double)mb);
    num(f, "set_mempolicy", (double)sp);
    num(f, "failed", (double)nu->calls_failed);
    f->verdict = nu->calls_failed ? MT_VERDICT_WARN : MT_VERDICT_OK;
    snprintf(f->text, sizeof(f->text), "%s mbind, %s set_mempolicy; %" PRIu64 " failed",
             mt_fmt_count(a, mb), mt_fmt_count(b, sp), nu->calls_failed);
    snprintf(f->threshold, sizeof(f->threshold), "warn: any call failed");
    command(f, c, "numa");
}

static void find_numa(mt_summary_t *sm, const mt_cli_t *c)
{
    const mt_summary_limits_t *l = &sm->lim;
    mt_finding_t *f = add(sm, "numa");
    const mt_numa_t *nu = &sm->numa;
    char a[MT_FMT_MAX], b[MT_FMT_MAX];
    uint64_t local = mt_bw_bytes(nu->local_bw), remote = mt_bw_bytes(nu->remote_bw);
    uint64_t mismatch = mt_bw_bytes(nu->mismatch_bw);
    double share = local + remote ? (double)remote / (double)(local + remote) : 0;
    unsigned nodes = nu->has_topo ? nu->topo.nnodes : 1;
    num(f, "nodes", nodes);
    num(f, "local_bytes", (double)local);
    num(f, "remote_bytes", (double)remote);
    num(f, "remote_share", share);
    num(f, "mismatch_bytes", (double)mismatch);
    num(f, "mismatched_objects", (double)nu->mismatched_objects);
    f->verdict = mismatch ? MT_VERDICT_BAD : share >= l->remote_warn ? MT_VERDICT_WARN
                                                                      : MT_VERDICT_OK;
    snprintf(f->text, sizeof(f->text),
             "%u %s; %s placed remote (%.1f%%); %s on a node the policy excludes", nodes,
             mt_plural(nodes, "node", "nodes"), mt_fmt_bytes(a, remote), 100 * share,
             mt_fmt_bytes(b, mismatch));
    snprintf(f->threshold, sizeof(f->threshold),
             "bad: any byte against the requested policy; warn: remote >= %.0f%%",
             100 * l->remote_warn);
    command(f, c, "numa");
}

/* Exact counters of every trace. */
static int read_counters(mt_summary_t *sm, const mt_replay_t *rp)
{
    for (size_t i = 0; i < rp->ntraces; i++) {
        mt_reader_t *r = rp->traces[i].reader;
        static const char *const names[] = {MT_COUNTER_DROPPED, MT_COUNTER_STACKS_LOST, "mmap"};
        uint64_t *to[] = {&sm->dropped, &sm->stacks_lost, &sm->mmaps};
        for (size_t k = 0; k < 3; k++) {
            mt_counter_t cn;
            int err = mt_reader_counter(r, names[k], &cn);
            if (err == MT_ENOTFOUND)
                continue;
            if (err)
                return mt_trace_error(rp->traces[i].path, "the counters", err);
            *to[k] += cn.calls;
        }
    }
    return MT_EXIT_OK;
}

static int finish(mt_summary_t *sm, const mt_cli_t *c, mt_session_t *s)
{
    mt_replay_t *rp = &s->rp;
    int err = mt_numa_finish(&sm->numa, rp);
    if (err)
        return mt_replay_error(rp, err);
    int rc = read_counters(sm, rp);
    if (rc)
        return rc;
    find_trace(sm, c, rp);
    find_fragmentation(sm, c);
    if ((rc = find_growth(sm, c, s)) != 0 || (rc = find_hot(sm, c, s)) != 0 ||
        (rc = find_sizeclass(sm, c, s)) != 0)
        return rc;
    find_pool(sm, c, rp);
    find_policy(sm, c);
    find_numa(sm, c);
    for (size_t i = 0; i < sm->nf; i++)
        if (sm->f[i].verdict > sm->verdict)
            sm->verdict = sm->f[i].verdict;
    return MT_EXIT_OK;
}

int mt_summary_run(mt_summary_t *sm, mt_cli_t *c, int (*report)(void *ctx, mt_session_t *s),
                   void *ctx)
{
    int rc = mt_cli_need_traces(c);
    if (rc)
        return rc;
    mt_session_t s;
    if ((rc = mt_session_open(&s, c->ntraces, c->traces)) != 0)
        return rc;
    /* The timeline replays on its own; then the replay the hooks collect from. */
    mt_timeline_options_t to = {.pool = MT_POOL_NONE};
    rc = mt_timeline_build(&sm->tl, &s, &to);
    if (!rc)
        rc = mt_session_replay(&s, &c->ro);
    if (!rc)
        rc = finish(sm, c, &s);
    if (!rc)
        rc = report(ctx, &s);
    mt_session_close(&s);
    return rc;
}

/* ---- options and JSON ----------------------------------------------------- */

static int ratio_arg(const mt_cli_t *c, const char *opt, const char *s, double max, double *v)
{
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (errno || end == s || *end || !(d >= 0) || d > max)
        return mt_usage_error(c->cmd, "--%s %s: expected a number from 0 to %g", opt, s, max);
    *v = d;
    return 0;
}

int mt_summary_option(mt_cli_t *c, mt_summary_limits_t *l, int opt, const char *arg)
{
    switch (opt) {
    case 1001: return ratio_arg(c, "frag-warn", arg, 1e6, &l->frag_warn);
    case 1002: return ratio_arg(c, "frag-bad", arg, 1e6, &l->frag_bad);
    case 1003:
        if (mt_size_parse(arg, &l->frag_min))
            return mt_usage_error(c->cmd, "--frag-min %s: expected a size like 8M", arg);
        return 0;
    case 1004: return ratio_arg(c, "growth", arg, 1, &l->growth);
    case 1005: return mt_cli_long(c, "--leak-steps", arg, 1, MT_GROWTH_POINTS - 1, &l->leak_steps);
    case 1006: return ratio_arg(c, "waste-warn", arg, 1e6, &l->waste_warn);
    case 1007: return ratio_arg(c, "waste-bad", arg, 1e6, &l->waste_bad);
    case 1008: return mt_cli_long(c, "--optimize", arg, 1, 4096, &l->optimize_k);
    case 1009: return ratio_arg(c, "pool-warn", arg, 1e12, &l->pool_warn);
    case 1010: return ratio_arg(c, "pool-bad", arg, 1e12, &l->pool_bad);
    case 1011: return ratio_arg(c, "remote-warn", arg, 1, &l->remote_warn);
    default: return MT_CLI_SHARED;
    }
}

void mt_summary_json(const mt_summary_t *sm, const mt_replay_t *rp, mt_json_t *j)
{
    mt_json_kv_string(j, "verdict", mt_verdict_names[sm->verdict]);
    mt_json_kv_string(j, "allocator", sm->allocator);
    mt_report_json_traces(j, rp);
    mt_json_key(j, "findings");
    mt_json_begin_array(j);
    for (size_t i = 0; i < sm->nf; i++) {
        const mt_finding_t *f = &sm->f[i];
        mt_json_begin_object(j);
        mt_json_kv_string(j, "name", f->name);
        mt_json_kv_string(j, "verdict", mt_verdict_names[f->verdict]);
        mt_json_kv_string(j, "text", f->text);
        mt_json_key(j, "lines");
        mt_json_begin_array(j);
        for (size_t k = 0; k < f->nlines; k++)
            mt_json_string(j, f->lines[k]);
        mt_json_end_array(j);
        mt_json_kv_string(j, "threshold", f->threshold);
        mt_json_kv_string(j, "command", f->command);
        mt_json_key(j, "numbers");
        mt_json_begin_object(j);
        for (size_t k = 0; k < f->nnum; k++)
            mt_json_kv_double(j, f->num[k].name, f->num[k].value);
        mt_json_end_object(j);
        mt_json_end_object(j);
    }
    mt_json_end_array(j);
}
