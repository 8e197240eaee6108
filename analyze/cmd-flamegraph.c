/* cmd-flamegraph.c - `mtrace-analyze flamegraph`: the allocation stacks of
 * one or more traces as a flame graph, an interactive SVG (flame_svg.c) or
 * folded stacks (flame.c), weighted by bytes, calls, live or peak bytes or
 * temporary allocations; with --diff, against a base profile (red grew,
 * blue shrank). Replay, filters and symbolization are the stack reports'
 * (cli.c, report.c): the same rows as `top -n 0`, drawn as a tree.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "flame.h"

static const mt_opt_t options[] = {
    {'w', 'w', "weight", required_argument, "W",
     "what a frame's width is: bytes (allocated, default),\n"
     "count (calls), live (bytes live at the end), peak\n"
     "(bytes live at the peak heap), temp (temporary\n"
     "allocations: freed by the same thread before its\n"
     "next allocation)"},
    {'F', 0, "folded", no_argument, NULL,
     "print folded stacks, one line per stack: frames\n"
     "root first, ';'-separated, a space and the value\n"
     "(with --diff: the base value and the new value)"},
    {'o', 'o', "output", required_argument, "FILE", "write to FILE instead of standard output"},
    {'D', 0, "diff", required_argument, "BASE",
     "differential graph: widths from the TRACEs, colour\n"
     "from the change since trace BASE (red grew, blue\n"
     "shrank; as difffolded.pl + flamegraph.pl). Repeat\n"
     "to merge several BASE traces"},
    {'a', 0, "min-size", required_argument, "B",
     "count only allocations of at least B bytes (K/M/G/T)"},
    {'b', 0, "max-size", required_argument, "B", "count only allocations of at most B bytes"},
    MT_OPT_MATCH("keep stacks with a frame whose function, file or\n"
                 "module matches REGEX (POSIX extended)"),
    MT_OPT_POOL("the allocations of pool NAME (annotation API), a\n"
                "pool id, or of every pool: 'all'"),
    {'T', 0, "title", required_argument, "TEXT", "the SVG's title"},
    {'W', 0, "width", required_argument, "PX", "the SVG's width in pixels (default 1200)"},
    MT_OPT_FROM,
    MT_OPT_TO,
    MT_OPT_JSON("the folded stacks as JSON; keys below"),
    MT_OPT_HELP,
    MT_OPT_END,
};

static void examples(FILE *out)
{
    fputs("\nExamples:\n"
          "  mtrace-analyze flamegraph -o heap.svg mtrace.myprog.*\n"
          "  mtrace-analyze flamegraph --folded --weight live mtrace.myprog.* > live.folded\n"
          "  mtrace-analyze flamegraph --diff mtrace.old.123 -o diff.svg mtrace.new.456\n",
          out);
}

static const mt_help_t help = {
    .synopsis = "[options] [TRACE...]",
    .about = "Draws the allocation stacks of the TRACEs (a process and its children are\n"
             "merged) as a flame graph: one self-contained interactive SVG (click a frame\n"
             "to zoom, 'Search' or Ctrl-F to highlight frames by regex, hover for the\n"
             "value and percent; colours by module), or folded stacks for flamegraph.pl,\n"
             "inferno or speedscope. A frame is a function (module+0xOFFSET without\n"
             "symbols); inlined functions are frames of their own. Values are exact with\n"
             "MTRACE_SAMPLE=all, estimates when sampled, shown with their 95% error\n"
             "bound (\u00b1) in the SVG; --folded prints the estimates alone.\n",
    .opts = options,
    .json = "weight, unit, total, total_error, base_total, base_total_error, frames, estimated, "
            "sample_interval, complete, "
            "traces: [{trace, pid, command, complete, sample_interval, events, unknown_frees}], window: {from_ns, to_ns, span_ns}, "
            "stacks: [{frames: [{name, module, inlined}], value, value_error, base, base_error}]",
    .json_notes = "  unit is bytes or objects; frames counts the nodes of the tree;\n"
                  "  base_total, an entry's base and their *_error are there with --diff;\n"
                  "  a stack's frames are root first, name as in --folded. Each *_error\n"
                  "  is the half-width of the 95% confidence interval of the value\n"
                  "  before it (preload/SAMPLING.md), 0 when exact.\n",
    .extra = examples,
    .exit_status = "0 success, 1 a trace could not be read or the output not written,\n"
                   "2 usage error.",
};

typedef struct flame_opts {
    mt_cli_t cli;
    mt_flame_weight_t weight;
    bool folded;
    const char *output;
    const char *title;
    long width;
    char **base;              /* --diff traces */
    int nbase;
} flame_opts_t;

static const char *const titles[MT_FLAME_NWEIGHTS] = {
    "Allocated bytes", "Allocation calls", "Bytes live at the end",
    "Bytes live at the peak heap", "Temporary allocations",
};

/* What the root's value is, after the number: "44 KiB allocated". */
static const char *const totals[MT_FLAME_NWEIGHTS] = {
    "allocated", "allocation calls", "live at the end", "live at the peak heap",
    "temporary allocations",
};

static bool keep_bytes(const mt_stack_stats_t *st) { return st->alloc_bw > 0; }
static bool keep_count(const mt_stack_stats_t *st) { return st->alloc_w > 0; }
static bool keep_live(const mt_stack_stats_t *st) { return st->live_bw > 0; }
static bool keep_peak(const mt_stack_stats_t *st) { return st->peak_bw > 0; }
static bool keep_temp(const mt_stack_stats_t *st) { return st->temp_w > 0; }

static bool (*const keeps[MT_FLAME_NWEIGHTS])(const mt_stack_stats_t *) = {
    keep_bytes, keep_count, keep_live, keep_peak, keep_temp,
};

/* The tree does not depend on the rows' order: keep replay's. */
static int first_seen(const mt_row_t *a, const mt_row_t *b)
{
    (void)a;
    (void)b;
    return 0;
}

/* Adds the stacks of S's replay to slot SLOT of F. Returns an exit status. */
static int add_session(const flame_opts_t *o, mt_session_t *s, mt_flame_t *f, int slot)
{
    mt_report_t rep;
    size_t nshow;
    int rc = mt_cli_rows(&o->cli, s, &rep, keeps[o->weight], NULL, NULL, first_seen, &nshow);
    if (!rc && mt_flame_add(f, &rep, slot))
        rc = mt_error("flamegraph: out of memory building the call tree");
    mt_report_free(&rep);
    return rc;
}

/* "leaky (pid 42); every call recorded (exact); --match REGEX" into BUF. */
static void subtitle(const flame_opts_t *o, const mt_replay_t *rp, char *buf, size_t cap)
{
    size_t n = 0;
#define ADD(...) (n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, __VA_ARGS__))
    buf[0] = '\0';
    for (size_t i = 0; i < rp->ntraces && i < 3; i++)
        ADD("%s%s (pid %llu)", i ? ", " : "", rp->traces[i].info.command,
            (unsigned long long)rp->traces[i].info.pid);
    if (rp->ntraces > 3)
        ADD(" and %zu more", rp->ntraces - 3);
    char a[MT_FMT_MAX];
    if (rp->sampled)
        ADD("; sampled every %s (estimates, \u00b1 at %.0f%% confidence)",
            mt_fmt_bytes(a, mt_report_sample_interval(rp)), 100 * MT_EST_CONFIDENCE);
    else
        ADD("; every call recorded (exact)");
    if (o->cli.pool_arg)
        ADD("; pool %s", o->cli.pool_arg);
    if (o->cli.has_match)
        ADD("; matching stacks only");
    if (o->cli.ro.min_size || o->cli.ro.max_size)
        ADD("; sizes filtered");
    if (rp->windowed) {
        char b[MT_FMT_MAX];
        ADD("; window %s .. %s", mt_fmt_duration(a, rp->win_from), mt_fmt_duration(b, rp->win_to));
    }
    if (o->nbase)
        ADD("; red grew, blue shrank since %s%s", o->base[0], o->nbase > 1 ? " and more" : "");
#undef ADD
    if (n >= cap && cap > 4)
        memcpy(buf + cap - 4, "...", 4);
}

static int write_output(const flame_opts_t *o, const mt_replay_t *rp, const mt_flame_t *f)
{
    FILE *out = stdout;
    if (o->output && !(out = fopen(o->output, "w")))
        return mt_error("flamegraph: cannot create %s: %s; check that its directory exists "
                        "and is writable", o->output, strerror(errno));
    int err;
    if (o->folded) {
        err = mt_flame_write_folded(f, out);
    } else if (o->cli.json >= 0) {
        mt_json_t j;
        mt_json_init(&j, out, o->cli.json);
        mt_json_begin_object(&j);
        mt_json_kv_string(&j, "weight", mt_flame_weight_names[o->weight]);
        mt_json_kv_string(&j, "unit", mt_flame_weight_is_bytes(o->weight) ? "bytes" : "objects");
        mt_json_kv_u64(&j, "total", f->root.total[MT_FLAME_NEW]);
        mt_json_kv_error(&j, "total_error", f->root.total_var[MT_FLAME_NEW]);
        if (f->diff) {
            mt_json_kv_u64(&j, "base_total", f->root.total[MT_FLAME_BASE]);
            mt_json_kv_error(&j, "base_total_error", f->root.total_var[MT_FLAME_BASE]);
        }
        mt_json_kv_u64(&j, "frames", f->nodes);
        mt_report_json_traces(&j, rp);
        err = mt_flame_write_json(f, &j);
        mt_json_end_object(&j);
        if (!err && mt_json_end(&j) != 0)
            return mt_error("flamegraph: internal error: malformed JSON output");
    } else {
        char sub[512], title[256];
        subtitle(o, rp, sub, sizeof(sub));
        snprintf(title, sizeof(title), "%s%s", o->nbase ? "Differential: " : "",
                 titles[o->weight]);
        mt_flame_svg_options_t so = {
            .title = o->title ? o->title : title,
            .subtitle = sub,
            .width = (unsigned)o->width,
        };
        err = mt_flame_write_svg(f, &so, out);
    }
    if (o->output) {
        if (fclose(out) != 0 && !err)
            err = errno ? errno : EIO;
        if (err)
            return mt_error("flamegraph: writing %s: %s; the file is incomplete", o->output,
                            strerror(err));
        char a[MT_FMT_MAX];
        uint64_t v = f->root.total[MT_FLAME_NEW];
        mt_u128 var = f->root.total_var[MT_FLAME_NEW];
        printf("wrote %s: %zu frames, %s %s\n", o->output, f->nodes,
               mt_flame_weight_is_bytes(o->weight) ? mt_fmt_bytes_est(a, v, var)
                                                   : mt_fmt_count_est(a, v, var),
               totals[o->weight]);
    }
    /* Errors writing stdout are main's to report. */
    return MT_EXIT_OK;
}

/* mt_cli_run's REPORT: the tree of this replay (and of the BASE traces). */
static int report(void *ctx, mt_session_t *s)
{
    const flame_opts_t *o = ctx;
    mt_flame_t f;
    mt_flame_init(&f, o->weight);
    int rc = add_session(o, s, &f, MT_FLAME_NEW);
    if (!rc && o->nbase) {
        mt_session_t b;
        rc = mt_session_open(&b, o->nbase, o->base);
        if (!rc) {
            rc = mt_session_replay(&b, &o->cli.ro);
            if (!rc)
                rc = add_session(o, &b, &f, MT_FLAME_BASE);
            mt_session_close(&b);
        }
    }
    if (!rc) {
        mt_flame_finish(&f);
        if (!f.root.total[MT_FLAME_NEW] && !f.root.total[MT_FLAME_BASE])
            mt_warning("flamegraph: no allocation stacks to draw%s",
                       o->cli.has_match ? " (none matches --match)" : "");
        rc = write_output(o, &s->rp, &f);
    }
    mt_flame_free(&f);
    return rc;
}

/* The options of flamegraph alone (mt_cli_parse's OWN). */
static int flame_option(void *ctx, int opt, const char *arg)
{
    flame_opts_t *o = ctx;
    switch (opt) {
    case 'w':
        for (int k = 0; k < MT_FLAME_NWEIGHTS; k++)
            if (strcmp(arg, mt_flame_weight_names[k]) == 0) {
                o->weight = (mt_flame_weight_t)k;
                return 0;
            }
        return mt_usage_error("flamegraph", "--weight %s: expected bytes, count, live, peak "
                                            "or temp", arg);
    case 'F':
        o->folded = true;
        return 0;
    case 'o':
        o->output = arg;
        return 0;
    case 'D': {
        char **grown = realloc(o->base, (size_t)(o->nbase + 1) * sizeof(*grown));
        if (!grown)
            return mt_error("flamegraph: out of memory");
        o->base = grown;
        o->base[o->nbase++] = (char *)arg;
        return 0;
    }
    case 'a':
    case 'b':
        if (mt_size_parse(arg, opt == 'a' ? &o->cli.ro.min_size : &o->cli.ro.max_size))
            return mt_usage_error("flamegraph", "--%s %s: expected a size in bytes, e.g. 4096 "
                                  "or 64K", opt == 'a' ? "min-size" : "max-size", arg);
        return 0;
    case 'T':
        o->title = arg;
        return 0;
    case 'W':
        return mt_cli_long(&o->cli, "--width", arg, 200, 100000, &o->width);
    default:
        return MT_CLI_SHARED;
    }
}

int cmd_flamegraph(int argc, char **argv)
{
    flame_opts_t o = {.weight = MT_FLAME_BYTES};
    mt_cli_init(&o.cli, "flamegraph", &help);
    o.cli.top = 0; /* every row is drawn, so every row is symbolized */
    int rc = mt_cli_parse(&o.cli, argc, argv, flame_option, &o);
    if (!rc && o.cli.ro.max_size && o.cli.ro.min_size > o.cli.ro.max_size)
        rc = mt_usage_error("flamegraph", "--min-size is larger than --max-size");
    if (!rc && o.folded && o.cli.json >= 0)
        rc = mt_usage_error("flamegraph", "--folded and --json are two formats; give one");
    if (!rc && (o.folded || o.cli.json >= 0) && (o.title || o.width))
        rc = mt_usage_error("flamegraph", "--title and --width are for the SVG; drop them, "
                                          "or --%s", o.folded ? "folded" : "json");
    if (!rc)
        rc = mt_cli_need_traces(&o.cli);
    if (!rc && !o.folded && o.cli.json < 0 && !o.output && isatty(STDOUT_FILENO))
        rc = mt_usage_error("flamegraph", "not writing an SVG to a terminal; give -o FILE.svg, "
                                          "redirect standard output, or use --folded");
    if (!rc)
        rc = mt_cli_run(&o.cli, report, &o);
    free(o.base);
    return mt_cli_end(&o.cli, rc);
}
