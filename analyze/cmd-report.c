/* cmd-report.c - `mtrace-analyze report -o FILE.html`: everything at a
 * glance in one self-contained HTML file (no network, no external script,
 * font or style): the summary (summary.c), memory over time (timeline.c),
 * the flame graph (flame_svg.c, one SVG per weight in a data: iframe), the
 * top and leaks tables (sortable, stacks expandable), fit with the
 * optimiser's proposal, NUMA when it matters, and what was read how.
 * What is embedded is capped (--max-stacks) so that a trace of 10^5 stacks
 * opens fast; the page says where it cut.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "builtin.h"
#include "flame.h"
#include "summary.h"


static const mt_opt_t options[] = {
    {'o', 'o', "output", required_argument, "FILE",
     "write the HTML report to FILE; without -o it goes to\nstdout (with --json: only the JSON is printed)"},
    {'M', 0, "max-stacks", required_argument, "N",
     "embed at most N rows per table and N stacks per\nflame graph weight (default 500)"},
    MT_SUMMARY_OPTS,
    MT_OPT_JSON("also print the summary as JSON on stdout; keys below"),
    MT_OPT_HELP,
    MT_OPT_END,
};

static const mt_help_t help = {
    .synopsis = "[-o FILE.html] [options] [TRACE...]",
    .about = "Writes one self-contained HTML file (no network, no external script,\n"
             "font or style) that holds the summary, RSS and live heap over time, the\n"
             "interactive flame graph with a weight switch (bytes, count, live, peak),\n"
             "sortable top and leaks tables with expandable stacks, fit with the\n"
             "optimiser's proposal, NUMA placement when there is more than one node or\n"
             "a policy call, and which traces and options it was made from. Tables and\n"
             "flame graphs hold at most --max-stacks stacks each; the page says so.\n",
    .opts = options,
    .json = "output, " MT_SUMMARY_JSON_KEYS,
    .json_notes = "  output is the HTML file written (\"\" without -o: none); the other\n"
                  "  keys are summary's"
                  " (mtrace-analyze summary --help).\n",
};

typedef struct report_opts {
    mt_cli_t cli;
    mt_summary_limits_t lim;
    mt_summary_t sm;
    const char *out;
    long max_stacks;
    int argc;
    char **argv;
} report_opts_t;

/* ---- writing ------------------------------------------------------------- */

/* S (NULL: nothing) made printable, then escaped as XML, which HTML reads. */
static void put_html(FILE *out, const char *s)
{
    char buf[4096];
    mt_put_xml(out, mt_printable(buf, sizeof(buf), s ? s : ""));
}

static void put_base64(FILE *out, const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        fputc(tab[v >> 18 & 63], out);
        fputc(tab[v >> 12 & 63], out);
        fputc(i + 1 < n ? tab[v >> 6 & 63] : '=', out);
        fputc(i + 2 < n ? tab[v & 63] : '=', out);
    }
}

static const char style[] =
    "body{font:14px/1.4 sans-serif;margin:0 auto;max-width:1250px;padding:0 1em;color:#222}\n"
    "h1{font-size:20px}h2{font-size:17px;border-bottom:1px solid #ccc;margin-top:1.6em}\n"
    "code,td.fn,.frames{font-family:monospace}\n"
    "table{border-collapse:collapse;width:100%}th,td{padding:2px 6px;text-align:left;"
    "vertical-align:top;border-bottom:1px solid #eee}\n"
    "td.n,th.n{text-align:right;white-space:nowrap}\n"
    "table.sortable th{cursor:pointer;background:#f4f4f0}table.sortable th:hover{background:#e8e8e0}\n"
    ".v{font-weight:bold;padding:1px 6px;border-radius:3px;color:#fff}\n"
    ".v-ok{background:#3a7d3a}.v-warn{background:#c08000}.v-bad{background:#b02020}\n"
    ".note{color:#666}.frames{margin:2px 0 4px 1em;padding:0;list-style:none;color:#444}\n"
    "dl.totals{display:grid;grid-template-columns:max-content auto;gap:2px 1em}dd{margin:0}\n"
    "#weights button{margin-right:4px}#weights button.on{font-weight:bold}\n"
    "iframe.flame{width:100%;border:1px solid #ddd}.hide{display:none}\n"
    "svg.chart text{font:11px sans-serif}\n";

/* Sorting (numbers from data-v, else text) and the flame graph's weight switch. */
static const char script[] =
    "'use strict';\n"
    "document.querySelectorAll('table.sortable').forEach(function (t) {\n"
    "  t.querySelectorAll('th').forEach(function (th, col) {\n"
    "    th.addEventListener('click', function () {\n"
    "      var desc = th.getAttribute('data-dir') !== 'desc';\n"
    "      t.querySelectorAll('th').forEach(function (h) { h.removeAttribute('data-dir'); });\n"
    "      th.setAttribute('data-dir', desc ? 'desc' : 'asc');\n"
    "      var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);\n"
    "      function key(r) {\n"
    "        var c = r.cells[col], v = c.getAttribute('data-v');\n"
    "        return v === null ? c.textContent : +v;\n"
    "      }\n"
    "      rows.sort(function (a, b) {\n"
    "        var x = key(a), y = key(b), c = x < y ? -1 : x > y ? 1 : 0;\n"
    "        return desc ? -c : c;\n"
    "      });\n"
    "      rows.forEach(function (r) { body.appendChild(r); });\n"
    "    });\n"
    "  });\n"
    "});\n"
    "document.querySelectorAll('#weights button').forEach(function (b) {\n"
    "  b.addEventListener('click', function () {\n"
    "    document.querySelectorAll('#weights button').forEach(function (o) {\n"
    "      o.classList.toggle('on', o === b);\n"
    "    });\n"
    "    document.querySelectorAll('iframe.flame').forEach(function (f) {\n"
    "      var on = f.getAttribute('data-weight') === b.getAttribute('data-weight');\n"
    "      if (on && !f.getAttribute('src')) f.setAttribute('src', f.getAttribute('data-src'));\n"
    "      f.classList.toggle('hide', !on);\n"
    "    });\n"
    "  });\n"
    "});\n";

/* ---- sections ------------------------------------------------------------- */

static void put_bytes_cell(FILE *out, uint64_t v)
{
    char a[MT_FMT_MAX];
    fprintf(out, "<td class=\"n\" data-v=\"%" PRIu64 "\">%s</td>", v, mt_fmt_bytes(a, v));
}

static void put_count_cell(FILE *out, uint64_t v)
{
    char a[MT_FMT_MAX];
    fprintf(out, "<td class=\"n\" data-v=\"%" PRIu64 "\">%s</td>", v, mt_fmt_count(a, v));
}

static void put_header(FILE *out, const report_opts_t *o, const mt_replay_t *rp)
{
    const mt_trace_info_t *ti = &rp->traces[0].info;
    char a[MT_FMT_MAX];
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>mtrace report: ",
          out);
    put_html(out, ti->command);
    fprintf(out, "</title>\n<style>\n%s</style>\n</head><body>\n<h1>mtrace report: ", style);
    put_html(out, ti->command);
    fprintf(out, " (pid %" PRIu64 ")</h1>\n<p class=\"note\" id=\"about\">", ti->pid);
    if (rp->sampled)
        fprintf(out, "Allocations sampled every %s on average: stack numbers are estimates "
                     "(totals are exact counters). ",
                mt_fmt_bytes(a, mt_report_sample_interval(rp)));
    else
        fputs("Every call recorded: the numbers are exact. ", out);
    fprintf(out, "Tables and flame graphs hold at most %ld stacks each.</p>\n", o->max_stacks);
    fputs("<p>Traces:", out);
    for (size_t i = 0; i < rp->ntraces; i++) {
        fputs(i ? ", <code>" : " <code>", out);
        put_html(out, rp->traces[i].path);
        fputs("</code> (", out);
        put_html(out, rp->traces[i].info.command);
        fprintf(out, ", pid %" PRIu64 "%s)", rp->traces[i].info.pid,
                rp->traces[i].info.complete ? "" : ", incomplete");
    }
    fputs("<br>Command: <code>mtrace-analyze", out);
    for (int i = 0; i < o->argc; i++) {
        fputc(' ', out);
        put_html(out, o->argv[i]);
    }
    fputs("</code></p>\n", out);
}

/* The exact totals, as info --json prints them. */
static int put_totals(FILE *out, const mt_replay_t *rp)
{
    char a[MT_FMT_MAX];
    uint64_t free_calls = 0;
    for (size_t i = 0; i < rp->ntraces; i++)
        for (int ep = 0; ep < MT_EP_COUNT; ep++) {
            mt_counter_t c;
            if (mt_entry_point_family[ep] != MT_FAMILY_FREE)
                continue;
            int err = mt_reader_counter(rp->traces[i].reader, mt_entry_point_names[ep], &c);
            if (err == MT_ENOTFOUND)
                continue;
            if (err)
                return mt_trace_error(rp->traces[i].path, "the counters", err);
            free_calls += c.calls;
        }
    fputs("<h2>Totals</h2>\n<dl class=\"totals\">\n", out);
    fprintf(out, "<dt>allocation calls</dt><dd id=\"alloc_calls\" data-v=\"%" PRIu64 "\">%s</dd>\n",
            rp->exact_calls, mt_fmt_count(a, rp->exact_calls));
    fprintf(out, "<dt>bytes allocated</dt><dd id=\"alloc_bytes\" data-v=\"%" PRIu64 "\">%s</dd>\n",
            rp->exact_bytes, mt_fmt_bytes(a, rp->exact_bytes));
    fprintf(out, "<dt>free calls</dt><dd id=\"free_calls\" data-v=\"%" PRIu64 "\">%s</dd>\n",
            free_calls, mt_fmt_count(a, free_calls));
    fprintf(out, "<dt>duration</dt><dd id=\"duration\">%s</dd>\n</dl>\n",
            mt_fmt_duration(a, rp->span_ns));
    return MT_EXIT_OK;
}

static void put_summary(FILE *out, const mt_summary_t *sm)
{
    fprintf(out, "<h2>Summary</h2>\n<p>Verdict: <span class=\"v v-%s\" id=\"verdict\">%s</span> "
                 "(allocator: %s)</p>\n<table id=\"findings\"><tbody>\n",
            mt_verdict_names[sm->verdict], mt_verdict_names[sm->verdict], sm->allocator);
    for (size_t i = 0; i < sm->nf; i++) {
        const mt_finding_t *f = &sm->f[i];
        fprintf(out, "<tr data-name=\"%s\"><td><span class=\"v v-%s\">%s</span></td><td><b>%s</b>: ",
                f->name, mt_verdict_names[f->verdict], mt_verdict_names[f->verdict], f->name);
        put_html(out, f->text);
        for (size_t k = 0; k < f->nlines; k++) {
            fputs("<br>&nbsp;&nbsp;", out);
            put_html(out, f->lines[k]);
        }
        fputs("<br><span class=\"note\">threshold: ", out);
        put_html(out, f->threshold);
        fputs("; detail: <code>", out);
        put_html(out, f->command);
        fputs("</code></span></td></tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
}

/* RSS, live heap, mapped and fragmentation over time: the timeline's own
 * chart (timeline_svg.c), as an image. */
static int put_chart(FILE *out, const mt_summary_t *sm)
{
    fputs("<h2>Over time</h2>\n", out);
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        return mt_error("report: out of memory drawing the timeline");
    mt_tl_svg_options_t so = {.width = 1200, .height = 420};
    int err = mt_timeline_write_svg(&sm->tl, &so, mem);
    if (fclose(mem) != 0 || err) {
        free(buf);
        return mt_error("report: out of memory drawing the timeline");
    }
    fputs("<img id=\"timeline\" alt=\"memory over time\" width=\"1200\" "
          "src=\"data:image/svg+xml;base64,", out);
    put_base64(out, (const unsigned char *)buf, len);
    fputs("\">\n<p class=\"note\">Detail: <code>mtrace-analyze timeline</code> "
          "(<code>--svg</code> for this chart, <code>--stacks N</code> for the stacks that "
          "grew most)</p>\n", out);
    free(buf);
    return MT_EXIT_OK;
}

static void put_frames(FILE *out, const mt_row_t *r)
{
    const char *fn = NULL;
    for (size_t k = 0; k < r->nframes && !fn; k++)
        fn = r->frames[k].function;
    fputs("<td class=\"fn\"><details><summary>", out);
    put_html(out, fn ? fn : "(no symbol)");
    fputs("</summary><ol class=\"frames\">", out);
    for (size_t k = 0; k < r->nframes; k++) {
        const mt_frame_t *f = &r->frames[k];
        fputs("<li>", out);
        if (f->function)
            put_html(out, f->function);
        else
            fprintf(out, "0x%" PRIx64, f->address);
        if (f->file) {
            fputs(" ", out);
            put_html(out, f->file);
            fprintf(out, ":%u", f->line);
        }
        if (f->module) {
            fputs(" <span class=\"note\">", out);
            put_html(out, mt_sym_basename(f->module));
            fputs("</span>", out);
        }
        fputs("</li>", out);
    }
    fputs("</ol></details></td>", out);
}

static int by_alloc(const mt_row_t *a, const mt_row_t *b)
{
    int c = mt_cmp_desc(a->agg.alloc_bw, b->agg.alloc_bw);
    return c ? c : mt_cmp_desc(a->agg.alloc_w, b->agg.alloc_w);
}

static int by_live(const mt_row_t *a, const mt_row_t *b)
{
    int c = mt_cmp_desc(a->agg.live_bw, b->agg.live_bw);
    return c ? c : by_alloc(a, b);
}

static int table(FILE *out, const report_opts_t *o, mt_session_t *s, bool leaks)
{
    mt_cli_t c = o->cli;
    c.top = o->max_stacks;
    mt_report_t rep;
    size_t nshow;
    int rc = mt_cli_rows(&c, s, &rep, leaks ? mt_leaks_keep : mt_keep_allocating, NULL, NULL,
                         leaks ? by_live : by_alloc, &nshow);
    if (rc) {
        mt_report_free(&rep);
        return rc;
    }
    const char *id = leaks ? "leaks" : "top";
    fprintf(out, "<h2>%s</h2>\n<p class=\"note\">%s; %zu of %zu %s shown; click a column to "
                 "sort, a function for its stack. Detail: <code>mtrace-analyze %s</code></p>\n",
            leaks ? "Leaks: live at the end" : "Top: allocating stacks",
            leaks ? "by live bytes" : "by bytes allocated", nshow, rep.nrows,
            mt_plural(rep.nrows, "stack", "stacks"), leaks ? "leaks --sort growth" : "top");
    fprintf(out, "<table class=\"sortable\" id=\"%s\"><thead><tr><th class=\"n\">#</th>"
                 "<th class=\"n\">%s</th><th class=\"n\">%s</th><th class=\"n\">%s</th>"
                 "<th class=\"n\">%s</th><th>function</th></tr></thead><tbody>\n",
            id, leaks ? "live bytes" : "bytes", leaks ? "live objects" : "calls",
            leaks ? "grew in" : "peak bytes", leaks ? "allocated bytes" : "live bytes");
    for (size_t i = 0; i < nshow; i++) {
        const mt_row_t *r = &rep.rows[i];
        fprintf(out, "<tr><td class=\"n\" data-v=\"%zu\">%zu</td>", i + 1, i + 1);
        if (leaks) {
            put_bytes_cell(out, mt_bw_bytes(r->agg.live_bw));
            put_count_cell(out, mt_w_objects(r->agg.live_w));
            fprintf(out, "<td class=\"n\" data-v=\"%u\">%u of %d</td>", r->agg.growth_steps,
                    r->agg.growth_steps, MT_GROWTH_POINTS - 1);
            put_bytes_cell(out, mt_bw_bytes(r->agg.alloc_bw));
        } else {
            put_bytes_cell(out, mt_bw_bytes(r->agg.alloc_bw));
            put_count_cell(out, mt_w_objects(r->agg.alloc_w));
            put_bytes_cell(out, mt_bw_bytes(r->agg.peak_bw));
            put_bytes_cell(out, mt_bw_bytes(r->agg.live_bw));
        }
        put_frames(out, r);
        fputs("</tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
    mt_report_free(&rep);
    return MT_EXIT_OK;
}

static const mt_flame_weight_t flame_weights[] = {MT_FLAME_BYTES, MT_FLAME_COUNT, MT_FLAME_LIVE,
                                                  MT_FLAME_PEAK};
static mt_flame_weight_t sort_weight;

static int by_weight(const mt_row_t *a, const mt_row_t *b)
{
    int c = mt_cmp_desc(mt_flame_raw(&a->agg, sort_weight), mt_flame_raw(&b->agg, sort_weight));
    return c ? c : by_alloc(a, b);
}

/* One SVG per weight, each of the --max-stacks heaviest stacks, base64 in an
 * iframe's data: URL (its script runs there; loaded when first shown). */
static int flames(FILE *out, const report_opts_t *o, mt_session_t *s)
{
    mt_report_t rep;
    int err = mt_report_build(&rep, &s->rp, s->sym, false, mt_keep_allocating);
    if (err) {
        mt_report_free(&rep);
        return mt_replay_error(&s->rp, err);
    }
    fprintf(out, "<h2>Flame graph</h2>\n<p class=\"note\">The %ld heaviest of %zu stacks per "
                 "weight; click a frame to zoom. Detail: <code>mtrace-analyze flamegraph "
                 "--weight W</code></p>\n<p id=\"weights\">",
            o->max_stacks, rep.nrows);
    size_t nw = sizeof(flame_weights) / sizeof(flame_weights[0]);
    for (size_t w = 0; w < nw; w++)
        fprintf(out, "<button type=\"button\" data-weight=\"%s\"%s>%s</button>",
                mt_flame_weight_names[flame_weights[w]], w ? "" : " class=\"on\"",
                mt_flame_weight_names[flame_weights[w]]);
    fputs("</p>\n", out);
    int rc = MT_EXIT_OK;
    for (size_t w = 0; w < nw && !rc; w++) {
        sort_weight = flame_weights[w];
        mt_report_sort(&rep, by_weight);
        size_t n = 0;
        while (n < rep.nrows && n < (size_t)o->max_stacks &&
               mt_flame_raw(&rep.rows[n].agg, sort_weight))
            n++;
        for (size_t i = 0; i < n && !rc; i++)
            if (mt_report_frames(&rep, &rep.rows[i]))
                rc = mt_error("report: out of memory symbolizing");
        mt_report_t view = rep;
        view.nrows = n;
        mt_flame_t f;
        mt_flame_init(&f, sort_weight);
        char *buf = NULL;
        size_t len = 0;
        FILE *mem = rc ? NULL : open_memstream(&buf, &len);
        if (!rc && (!mem || mt_flame_add(&f, &view, MT_FLAME_NEW)))
            rc = mt_error("report: out of memory drawing the flame graph");
        if (!rc) {
            mt_flame_finish(&f);
            char title[96];
            snprintf(title, sizeof(title), "Allocations by %s", mt_flame_weight_names[sort_weight]);
            mt_flame_svg_options_t so = {.title = title, .width = 1200};
            mt_flame_write_svg(&f, &so, mem);
        }
        if (mem)
            fclose(mem);
        if (!rc) {
            unsigned height = (unsigned)(110 + 17 * (f.max_depth + 1));
            fprintf(out, "<iframe class=\"flame%s\" data-weight=\"%s\" height=\"%u\" %s=\"data:image/svg+xml;base64,",
                    w ? " hide" : "", mt_flame_weight_names[sort_weight], height,
                    w ? "data-src" : "src");
            put_base64(out, (const unsigned char *)buf, len);
            fputs("\"></iframe>\n", out);
        }
        free(buf);
        mt_flame_free(&f);
    }
    mt_report_free(&rep);
    return rc;
}

static void put_fit(FILE *out, const mt_summary_t *sm)
{
    char a[MT_FMT_MAX], b[MT_FMT_MAX];
    const mt_fit_t *f = &sm->fitr;
    fputs("<h2>Size classes</h2>\n", out);
    if (!sm->has_fit || !f->h.n) {
        fputs("<p class=\"note\">(no heap requests)</p>\n", out);
        return;
    }
    uint64_t req = mt_bw_bytes(f->waste.bw - f->waste.over_bw);
    fprintf(out, "<p id=\"fit\">%zu distinct sizes; under the %s classes (detected from the "
                 "modules) rounding loses %s of %s requested.",
            f->h.n, sm->allocator, mt_fmt_bytes(a, mt_bw_bytes(f->waste.waste_bw)),
            mt_fmt_bytes(b, req));
    if (f->has_opt) {
        fprintf(out, " The optimiser's %zu classes would lose %s:</p>\n<p><code>",
                f->opt.n, mt_fmt_bytes(a, mt_bw_bytes(f->opt_waste_bw)));
        for (size_t i = 0; i < f->opt.n; i++)
            fprintf(out, "%s%" PRIu64, i ? ", " : "", f->opt.v[i]);
        fputs("</code>", out);
    }
    fprintf(out, "</p>\n<p class=\"note\">Detail: <code>mtrace-analyze fit --classes %s "
                 "--optimize %zu</code></p>\n",
            sm->allocator, f->has_opt ? f->opt.n : (size_t)sm->lim.optimize_k);
}

static void put_numa(FILE *out, const mt_summary_t *sm)
{
    const mt_numa_t *nu = &sm->numa;
    char a[MT_FMT_MAX];
    bool calls = false;
    for (int k = 0; k <= MT_PK_MAX; k++)
        calls |= nu->calls[k] != 0;
    if (!calls && (!nu->has_topo || nu->topo.nnodes < 2))
        return;
    fputs("<h2>NUMA</h2>\n<table id=\"numa\"><thead><tr><th>node</th><th class=\"n\">resident "
          "bytes</th></tr></thead><tbody>\n", out);
    for (int n = 0; n < MT_NUMA_NODES; n++)
        if (nu->nodes_seen >> n & 1)
            fprintf(out, "<tr><td>%d</td><td class=\"n\">%s</td></tr>\n", n,
                    mt_fmt_bytes(a, mt_bw_bytes(nu->resident_bw[n])));
    fputs("</tbody></table>\n<p>", out);
    for (int k = 0; k <= MT_PK_MAX; k++)
        fprintf(out, "%s%s: %s", k ? ", " : "", mt_policy_names[k],
                mt_fmt_count(a, nu->calls[k]));
    char b[MT_FMT_MAX];
    fprintf(out, "; remote %s, against the policy %s.</p>\n<p class=\"note\">Detail: "
                 "<code>mtrace-analyze numa</code></p>\n",
            mt_fmt_bytes(a, mt_bw_bytes(nu->remote_bw)),
            mt_fmt_bytes(b, mt_bw_bytes(nu->mismatch_bw)));
}

static int report(void *ctx, mt_session_t *s)
{
    report_opts_t *o = ctx;
    if (!o->out && o->cli.json >= 0) { /* stdout is the JSON's */
        mt_json_t j;
        mt_cli_json_begin(&j, &o->cli);
        mt_json_kv_string(&j, "output", "");
        mt_summary_json(&o->sm, &s->rp, &j);
        mt_cli_json_end(&j, &o->cli);
        return MT_EXIT_OK;
    }
    FILE *out = o->out ? fopen(o->out, "w") : stdout;
    if (!out)
        return mt_error("report: cannot create %s: %s; check the directory exists and is "
                        "writable", o->out, strerror(errno));
    put_header(out, o, &s->rp);
    int rc = put_totals(out, &s->rp);
    if (!rc) {
        put_summary(out, &o->sm);
        rc = put_chart(out, &o->sm);
    }
    if (!rc)
        rc = flames(out, o, s);
    if (!rc)
        rc = table(out, o, s, false);
    if (!rc)
        rc = table(out, o, s, true);
    if (!rc) {
        put_fit(out, &o->sm);
        put_numa(out, &o->sm);
        fprintf(out, "<script>\n%s</script>\n</body></html>\n", script);
    }
    if (out == stdout) /* main checks that stdout was written completely */
        return rc;
    errno = 0;
    bool bad = ferror(out);
    if (fclose(out) != 0 || bad) {
        if (!rc)
            rc = mt_error("report: writing %s: %s; the file is incomplete", o->out,
                          strerror(errno ? errno : EIO));
    }
    if (!rc && o->cli.json >= 0) {
        mt_json_t j;
        mt_cli_json_begin(&j, &o->cli);
        mt_json_kv_string(&j, "output", o->out);
        mt_summary_json(&o->sm, &s->rp, &j);
        mt_cli_json_end(&j, &o->cli);
    } else if (!rc) {
        printf("report written to %s\n", o->out);
    }
    return rc;
}

static int report_option(void *ctx, int opt, const char *arg)
{
    report_opts_t *o = ctx;
    if (opt == 'o') {
        o->out = arg;
        return 0;
    }
    if (opt == 'M')
        return mt_cli_long(&o->cli, "--max-stacks", arg, 1, 1000000, &o->max_stacks);
    return mt_summary_option(&o->cli, &o->lim, opt, arg);
}

int cmd_report(int argc, char **argv)
{
    report_opts_t o = {.lim = MT_SUMMARY_LIMITS_DEFAULT, .max_stacks = 500, .argc = argc,
                       .argv = argv};
    mt_cli_init(&o.cli, "report", &help);
    int rc = mt_cli_parse(&o.cli, argc, argv, report_option, &o);
    if (!rc && mt_summary_init(&o.sm, &o.lim, &o.cli.ro))
        rc = mt_error("report: out of memory");
    if (!rc)
        rc = mt_summary_run(&o.sm, &o.cli, report, &o);
    mt_summary_free(&o.sm);
    return mt_cli_end(&o.cli, rc);
}
