/* cmd-diff.c - `mtrace-analyze diff BASE NEW`: what changed between two runs,
 * by stack or by function: bytes, calls, live and peak of each, ranked by
 * absolute change. BASE and NEW are each one run: a trace or several
 * (comma-separated: a process and its children) replayed together, each side
 * on its own timeline (--from / --to apply to both). Rows are matched by
 * what their frames print (diff.c), so the two runs' address layouts may
 * differ. When a side is sampled, each change carries its error bound and
 * the changes within it are marked as noise (diff.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "diff.h"
#include "internal.h"

static const mt_opt_t options[] = {
    MT_OPT_TOP("show N entries (default 10; 0 = all)"),
    {'s', 's', "sort", required_argument, "KEY",
     "rank by the absolute change of: bytes (allocated,\n"
     "default), count (calls), live (bytes live at the\n"
     "end), live_count, peak (live at the moment of peak)"},
    MT_OPT_MATCH("keep stacks with a frame whose function, file or\n"
                 "module matches REGEX (POSIX extended)"),
    MT_OPT_DEPTH("show D frames per entry (default 8 in text, all in JSON)"),
    MT_OPT_BY("compare by allocating function (the innermost\n"
              "frame) or by whole stack (default)"),
    MT_OPT_POOL("compare the pool allocations (annotation API) of\n"
                "the pool NAME (or a pool id), or of every pool: 'all'"),
    MT_OPT_FROM,
    MT_OPT_TO,
    MT_OPT_JSON("print JSON; keys below"),
    MT_OPT_HELP,
    MT_OPT_END,
};

#define SIDE_KEYS                                                                            \
    "bytes, bytes_error, count, count_error, live_bytes, live_bytes_error, live_count, "     \
    "live_count_error, peak_bytes, peak_bytes_error, estimated, sample_interval, complete, " \
    "traces: [{trace, pid, command, complete, sample_interval, events, unknown_frees}], "   \
    "window: {from_ns, to_ns, span_ns}"
#define CHANGE_KEYS "{base, new, change, error, noise}"

static const mt_help_t help = {
    .synopsis = "[options] BASE NEW",
    .about = "Compares two runs: for each allocation stack (or function, --by function)\n"
             "the bytes and calls it allocated, its live bytes and objects at the end and\n"
             "its contribution to the peak, in BASE and in NEW, and the change NEW - BASE;\n"
             "entries are ranked by the absolute change (--sort) and unchanged ones are\n"
             "left out. BASE and NEW are each a trace directory, or several separated by\n"
             "commas (a process and its children: a,b,c), replayed together. Stacks are\n"
             "matched by their symbolized frames, so the two runs may be different builds\n"
             "or address layouts. With --from / --to both runs are cut to the window, each\n"
             "relative to its own start.\n"
             "\n"
             "When either run is sampled the numbers are estimates: a change is printed\n"
             "with '\u00b1 E', the half-width of its 95% confidence interval (the variances\n"
             "of the two independent estimates add; preload/SAMPLING.md, 'Error of a\n"
             "difference'), and marked 'within noise' when |change| <= E: sampling alone\n"
             "could explain it. With MTRACE_SAMPLE=all on both sides every change is exact.\n",
    .opts = options,
    .json = "sort, by, confidence, estimated, entries, unchanged, base: {" SIDE_KEYS "}, "
            "new: {" SIDE_KEYS "}, stacks: [{bytes: " CHANGE_KEYS ", count: " CHANGE_KEYS
            ", live_bytes: " CHANGE_KEYS ", live_count: " CHANGE_KEYS
            ", peak_bytes: " CHANGE_KEYS ", in_base, in_new, "
            "frames: [{function, file, line, module, address, inlined, offset}]}]",
    .json_notes = "  estimated is true when either run is sampled; entries counts the entries\n"
                  "  that changed (also those -n leaves out), unchanged the others. For each\n"
                  "  number, base and new are its values, change is new - base, error the\n"
                  "  \u00b1 of change at the confidence given (0 when both are exact), noise\n"
                  "  true when |change| <= error > 0. in_base / in_new say on which sides\n"
                  "  the entry was seen. Frames innermost first, as in top.\n",
};

/* --sort's names, by mt_diff_metric_t. */
static const char *const sort_names[MT_DIFF_NMETRICS] = {"bytes", "count", "live", "live_count",
                                                         "peak"};

typedef struct diff_opts {
    mt_cli_t cli;
    mt_diff_metric_t sort;
} diff_opts_t;

/* One side: its traces (split at commas), session and report. */
typedef struct side {
    const char *arg;          /* as given */
    char *buf;                /* its copy, cut at the commas */
    char **paths;
    int npaths;
    mt_session_t s;
    bool open;
    mt_report_t rep;
    bool built;
    mt_diff_side_t total;
} side_t;

/* Splits ARG at commas into S->paths. Returns 0 or an exit status. */
static int split(side_t *s, const char *which)
{
    size_t n = 1;
    for (const char *p = s->arg; *p; p++)
        n += *p == ',';
    if (!(s->buf = strdup(s->arg)) || !(s->paths = calloc(n, sizeof(char *))))
        return mt_error("out of memory");
    char *save = NULL;
    for (char *p = s->buf;; p = NULL) {
        char *t = strtok_r(p, ",", &save);
        if (!t)
            break;
        s->paths[s->npaths++] = t;
    }
    if ((size_t)s->npaths != n)
        return mt_usage_error("diff", "%s '%s': an empty trace name between commas; "
                              "give TRACE or TRACE,TRACE,...", which, s->arg);
    return 0;
}

static void side_free(side_t *s)
{
    if (s->built)
        mt_report_free(&s->rep);
    if (s->open)
        mt_session_close(&s->s);
    free(s->paths);
    free(s->buf);
}

/* Opens, replays and groups one side. Returns an exit status. */
static int side_load(const diff_opts_t *o, side_t *s)
{
    const mt_cli_t *c = &o->cli;
    int rc = mt_session_open(&s->s, s->npaths, s->paths);
    if (rc)
        return rc;
    s->open = true;
    if ((rc = mt_session_replay(&s->s, &c->ro)) != 0)
        return rc;
    int err = mt_report_build(&s->rep, &s->s.rp, s->s.sym, c->by_function, mt_keep_allocating);
    s->built = true;
    if (!err && c->has_match)
        err = mt_report_match(&s->rep, &c->match);
    if (err)
        return mt_replay_error(&s->s.rp, err);
    for (size_t i = 0; i < s->rep.nrows; i++) {
        mt_diff_side_t one;
        mt_diff_side_of(&one, &s->rep.rows[i].agg);
        for (int m = 0; m < MT_DIFF_NMETRICS; m++) {
            s->total.v[m] += one.v[m];
            s->total.var[m] = mt_est_var_add(s->total.var[m], one.var[m]);
        }
    }
    return MT_EXIT_OK;
}

/* ---- text ------------------------------------------------------------------ */

/* "+4 KiB", "-12", "0" for a change of metric M. */
static const char *fmt_change(char *buf, mt_diff_metric_t m, int64_t c)
{
    char a[MT_FMT_MAX];
    uint64_t mag = c < 0 ? (uint64_t)-(c + 1) + 1 : (uint64_t)c;
    const char *v = mt_diff_metric_is_bytes(m) ? mt_fmt_bytes(a, mag) : mt_fmt_count(a, mag);
    snprintf(buf, MT_FMT_MAX, "%s%s", c > 0 ? "+" : c < 0 ? "-" : "", v);
    return buf;
}

static const char *fmt_value(char *buf, mt_diff_metric_t m, uint64_t v)
{
    return mt_diff_metric_is_bytes(m) ? mt_fmt_bytes(buf, v) : mt_fmt_count(buf, v);
}

/* "bytes +4 KiB (4 KiB -> 8 KiB)", with "± E, within noise" when sampled. */
static void print_change(const mt_diff_entry_t *e, mt_diff_metric_t m, const char *label)
{
    char a[MT_FMT_MAX], b[MT_FMT_MAX], c[MT_FMT_MAX], d[MT_FMT_MAX];
    printf("%s %s", label, fmt_change(a, m, e->change[m]));
    if (e->error[m])
        printf(" \u00b1 %s%s", fmt_value(b, m, e->error[m]), e->noise[m] ? ", within noise" : "");
    printf(" (%s -> %s)", fmt_value(c, m, e->a.v[m]), fmt_value(d, m, e->b.v[m]));
}

static void print_side(const char *name, const side_t *s)
{
    char a[MT_FMT_MAX], b[MT_FMT_MAX], c[MT_FMT_MAX], d[MT_FMT_MAX];
    const mt_diff_side_t *t = &s->total;
    printf("%s %s in %s %s, live %s, peak %s: %s", name,
           mt_fmt_bytes_est(a, t->v[MT_DIFF_BYTES], t->var[MT_DIFF_BYTES]),
           mt_fmt_count_est(b, t->v[MT_DIFF_COUNT], t->var[MT_DIFF_COUNT]),
           mt_plural(t->v[MT_DIFF_COUNT], "call", "calls"),
           mt_fmt_bytes_est(c, t->v[MT_DIFF_LIVE], t->var[MT_DIFF_LIVE]),
           mt_fmt_bytes_est(d, t->v[MT_DIFF_PEAK], t->var[MT_DIFF_PEAK]), s->arg);
    const mt_replay_t *rp = &s->s.rp;
    if (rp->sampled)
        printf(" (sampled every %s)", mt_fmt_bytes(a, mt_report_sample_interval(rp)));
    printf("\n");
    if (rp->windowed) {
        printf("     ");
        mt_report_print_window(rp);
    }
}

static void print_text(const diff_opts_t *o, const side_t *base, const side_t *new,
                       const mt_diff_entry_t *e, size_t n, size_t unchanged, size_t nshow)
{
    const mt_cli_t *c = &o->cli;
    bool sampled = base->s.rp.sampled || new->s.rp.sampled;
    printf("diff NEW - BASE by %s, ranked by the change in %s: %zu %s changed, %zu unchanged\n",
           c->by_function ? "function" : "stack", mt_diff_metric_names[o->sort], n,
           n == 1 ? "entry" : "entries", unchanged);
    print_side("base", base);
    print_side("new ", new);
    if (sampled)
        printf("(sampled: a change is \u00b1 its error at %.0f%% confidence; 'within noise' "
               "means sampling alone could explain it)\n", 100 * MT_EST_CONFIDENCE);
    else
        printf("(every call recorded in both runs: changes are exact)\n");
    if (!n) {
        printf("\n(no changes%s)\n", c->has_match ? " in the matching stacks" : "");
        return;
    }
    size_t depth = mt_cli_depth(c, 8);
    for (size_t i = 0; i < nshow; i++) {
        const mt_diff_entry_t *x = &e[i];
        printf("\n#%-3zu ", i + 1);
        print_change(x, o->sort, mt_diff_metric_names[o->sort]);
        if (!x->base || !x->new)
            printf(", only in %s", x->base ? "BASE" : "NEW");
        printf("\n");
        int shown = 0;
        for (int m = 0; m < MT_DIFF_NMETRICS; m++) {
            if (m == (int)o->sort || !x->change[m])
                continue;
            printf(shown++ ? ", " : "     ");
            print_change(x, (mt_diff_metric_t)m,
                         m == MT_DIFF_COUNT ? "calls" : m == MT_DIFF_LIVE ? "live"
                         : m == MT_DIFF_LIVE_COUNT ? "live objects" : m == MT_DIFF_PEAK ? "peak"
                         : "bytes");
        }
        if (shown)
            printf("\n");
        mt_report_print_frames(x->new ? x->new : x->base, depth);
    }
    mt_report_print_more(nshow, n, "entry", "entries");
}

/* ---- JSON ------------------------------------------------------------------- */

static void json_side(mt_json_t *j, const char *key, const side_t *s)
{
    mt_json_key(j, key);
    mt_json_begin_object(j);
    for (int m = 0; m < MT_DIFF_NMETRICS; m++) {
        char k[48];
        mt_json_kv_u64(j, mt_diff_metric_names[m], s->total.v[m]);
        snprintf(k, sizeof(k), "%s_error", mt_diff_metric_names[m]);
        mt_json_kv_error(j, k, s->total.var[m]);
    }
    mt_report_json_traces(j, &s->s.rp);
    mt_json_end_object(j);
}

static void print_json(const diff_opts_t *o, const side_t *base, const side_t *new,
                       const mt_diff_entry_t *e, size_t n, size_t unchanged, size_t nshow)
{
    const mt_cli_t *c = &o->cli;
    mt_json_t j;
    mt_cli_json_begin(&j, c);
    mt_json_kv_string(&j, "sort", sort_names[o->sort]);
    mt_json_kv_string(&j, "by", c->by_function ? "function" : "stack");
    mt_json_kv_double(&j, "confidence", MT_EST_CONFIDENCE);
    mt_json_kv_bool(&j, "estimated", base->s.rp.sampled || new->s.rp.sampled);
    mt_json_kv_u64(&j, "entries", n);
    mt_json_kv_u64(&j, "unchanged", unchanged);
    json_side(&j, "base", base);
    json_side(&j, "new", new);
    mt_json_key(&j, "stacks");
    mt_json_begin_array(&j);
    for (size_t i = 0; i < nshow; i++) {
        const mt_diff_entry_t *x = &e[i];
        mt_json_begin_object(&j);
        for (int m = 0; m < MT_DIFF_NMETRICS; m++) {
            mt_json_key(&j, mt_diff_metric_names[m]);
            mt_json_begin_object(&j);
            mt_json_kv_u64(&j, "base", x->a.v[m]);
            mt_json_kv_u64(&j, "new", x->b.v[m]);
            mt_json_key(&j, "change");
            mt_json_i64(&j, x->change[m]);
            mt_json_kv_u64(&j, "error", x->error[m]);
            mt_json_kv_bool(&j, "noise", x->noise[m]);
            mt_json_end_object(&j);
        }
        mt_json_kv_bool(&j, "in_base", x->base != NULL);
        mt_json_kv_bool(&j, "in_new", x->new != NULL);
        mt_report_json_frames(&j, x->new ? x->new : x->base, mt_cli_depth(c, 0));
        mt_json_end_object(&j);
    }
    mt_json_end_array(&j);
    mt_cli_json_end(&j, c);
}

/* ---- command ------------------------------------------------------------------ */

static int run(diff_opts_t *o, side_t *base, side_t *new)
{
    int rc;
    if ((rc = split(base, "BASE")) != 0 || (rc = split(new, "NEW")) != 0)
        return rc;
    if ((rc = side_load(o, base)) != 0 || (rc = side_load(o, new)) != 0)
        return rc;
    mt_diff_entry_t *e;
    size_t n;
    if (mt_diff_match(&base->rep, &new->rep, &e, &n) != 0)
        return mt_error("diff: out of memory matching the stacks of %s and %s", base->arg,
                        new->arg);
    size_t changed = 0;
    for (size_t i = 0; i < n; i++)
        if (!mt_diff_unchanged(&e[i]))
            e[changed++] = e[i];
    mt_diff_sort(e, changed, o->sort);
    size_t nshow = mt_cli_shown(&o->cli, changed);
    if (o->cli.json >= 0)
        print_json(o, base, new, e, changed, n - changed, nshow);
    else
        print_text(o, base, new, e, changed, n - changed, nshow);
    free(e);
    return MT_EXIT_OK;
}

/* The options of diff alone (mt_cli_parse's OWN). */
static int diff_option(void *ctx, int opt, const char *arg)
{
    diff_opts_t *o = ctx;
    if (opt != 's')
        return MT_CLI_SHARED;
    for (int m = 0; m < MT_DIFF_NMETRICS; m++)
        if (strcmp(arg, sort_names[m]) == 0) {
            o->sort = (mt_diff_metric_t)m;
            return 0;
        }
    return mt_usage_error("diff", "--sort %s: expected bytes, count, live, live_count or peak",
                          arg);
}

int cmd_diff(int argc, char **argv)
{
    diff_opts_t o = {.sort = MT_DIFF_BYTES};
    mt_cli_init(&o.cli, "diff", &help);
    o.cli.ro.progress = false; /* two replays: one line each would be confusing */
    int rc = mt_cli_parse(&o.cli, argc, argv, diff_option, &o);
    side_t base = {0}, new = {0};
    if (!rc && o.cli.ntraces != 2)
        rc = mt_usage_error("diff", "expected two runs, BASE and NEW (%d given); each is a "
                            "trace directory or several joined by commas",
                            o.cli.ntraces);
    if (!rc) {
        base.arg = o.cli.traces[0];
        new.arg = o.cli.traces[1];
        rc = run(&o, &base, &new);
    }
    side_free(&base);
    side_free(&new);
    return mt_cli_end(&o.cli, rc);
}
