/* timeline_svg.c - a timeline (timeline.c) as one self-contained SVG line
 * chart: RSS, live heap, mapped regions and the chosen stacks against a
 * bytes axis on the left, the fragmentation ratio against its own axis on
 * the right with its 1.3 and 1.5 marks, and per row a transparent column
 * whose <title> is the row's values as a tooltip. No script, no font, no
 * style sheet, nothing fetched; strings from the trace are made printable
 * and XML-escaped.
 */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "timeline.h"

#define MARGIN_L 78.0
#define MARGIN_R 52.0
#define MARGIN_T 52.0
#define LEGEND_ROW 16.0
#define AXIS_B 36.0   /* below the plot: time labels */
#define TICKS 5

static const char *const stack_colours[] = {
    "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#1f3f77", "#aa3377",
};
#define RSS_COLOUR "#d62728"
#define HEAP_COLOUR "#1f77b4"
#define MAPPED_COLOUR "#2ca02c"
#define FRAG_COLOUR "#000000"
#define POOL_COLOUR "#ff7f0e"
#define CHUNKS_COLOUR "#8c6d31"

typedef struct chart {
    FILE *out;
    const mt_timeline_t *tl;
    double x0, x1, y0, y1;  /* plot area: left, right, top, bottom */
    double bytes_max, frag_max;
} chart_t;

/* S, printable and XML-escaped. */
static void put_text(FILE *out, const char *s)
{
    char buf[1024];
    for (const char *p = mt_printable(buf, sizeof buf, s ? s : ""); *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", out); break;
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*p, out);
        }
    }
}

static double x_of(const chart_t *c, uint64_t ns)
{
    double span = c->tl->span_ns ? (double)c->tl->span_ns : 1;
    return c->x0 + (c->x1 - c->x0) * (double)ns / span;
}

static double y_bytes(const chart_t *c, uint64_t v)
{
    return c->y1 - (c->y1 - c->y0) * (double)v / c->bytes_max;
}

static double y_frag(const chart_t *c, double f)
{
    if (f > c->frag_max)
        f = c->frag_max; /* clipped at the top */
    return c->y1 - (c->y1 - c->y0) * f / c->frag_max;
}

/* The smallest round number >= V: 1, 2, 2.5 or 5 times a power of ten
 * (times), or 1, 1.25, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of 1024
 * (bytes: ticks of a fifth of it stay readable in KiB, MiB, GiB). */
static double nice_up(double v, bool binary)
{
    if (v <= 0)
        return 1;
    static const double dec[] = {1, 2, 2.5, 5, 10};
    static const double bin[] = {1,  1.25, 1.5, 2,   2.5, 3,   4,   5,   6,   8,  10,  12.5, 15,
                                 20, 25,   30,  40,  50,  60,  80,  100, 125, 150, 200, 250, 300,
                                 400, 500, 600, 800, 1000, 1024};
    const double *steps = binary ? bin : dec;
    size_t n = binary ? sizeof bin / sizeof bin[0] : sizeof dec / sizeof dec[0];
    double base = binary ? 1024 : 10, p = 1;
    while (p * base <= v)
        p *= base;
    while (p > v) /* below 1 (decimal only) */
        p /= base;
    for (size_t i = 0; i < n; i++)
        if (steps[i] * p >= v)
            return steps[i] * p;
    return base * p;
}

/* The series of the chart: RSS, heap, mapped, pool, chunks, then the stacks. */
enum { S_RSS, S_HEAP, S_MAPPED, S_POOL, S_CHUNKS, S_STACK0 };

/* The value of series S (S_STACK0 + j: stack j) in row R of TL; false when
 * unknown or not drawn. */
static bool series(const mt_timeline_t *tl, const mt_tl_row_t *r, int s, uint64_t *v)
{
    switch (s) {
    case S_RSS: *v = r->rss; return r->rss_known;
    case S_HEAP: *v = r->heap_bytes; return true;
    case S_MAPPED: *v = r->mapped_bytes; return true;
    case S_POOL: *v = r->pool_bytes; return tl->has_pool;
    case S_CHUNKS: *v = r->pool_chunk_bytes; return tl->has_pool;
    default: *v = r->stack_bytes[s - S_STACK0]; return true;
    }
}

static void polyline(const chart_t *c, int s, const char *colour, double width, const char *dash)
{
    const mt_timeline_t *tl = c->tl;
    bool any = false;
    for (size_t k = 0; k < tl->nrows; k++) {
        uint64_t v;
        if (!series(tl, &tl->rows[k], s, &v))
            continue;
        if (!any)
            fprintf(c->out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\"%s%s%s "
                            "points=\"", colour, width, dash ? " stroke-dasharray=\"" : "",
                    dash ? dash : "", dash ? "\"" : "");
        fprintf(c->out, "%s%.1f,%.1f", any ? " " : "", x_of(c, tl->rows[k].end_ns),
                y_bytes(c, v));
        any = true;
    }
    if (any)
        fputs("\"/>\n", c->out);
}

static void frag_line(const chart_t *c)
{
    const mt_timeline_t *tl = c->tl;
    bool any = false;
    for (size_t k = 0; k < tl->nrows; k++) {
        double f = tl->rows[k].fragmentation;
        if (f <= 0)
            continue;
        if (!any)
            fprintf(c->out, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
                            "stroke-dasharray=\"6,3\" points=\"", FRAG_COLOUR);
        fprintf(c->out, "%s%.1f,%.1f", any ? " " : "", x_of(c, tl->rows[k].end_ns),
                y_frag(c, f));
        any = true;
    }
    if (any)
        fputs("\"/>\n", c->out);
}

static void axes(const chart_t *c)
{
    FILE *o = c->out;
    char a[MT_FMT_MAX];
    fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fafafa\" "
               "stroke=\"#999\"/>\n", c->x0, c->y0, c->x1 - c->x0, c->y1 - c->y0);
    for (int i = 0; i <= TICKS; i++) {
        double v = c->bytes_max * i / TICKS, y = y_bytes(c, (uint64_t)v);
        fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n",
                c->x0, y, c->x1, y);
        fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", c->x0 - 4,
                y + 4, mt_fmt_bytes(a, (uint64_t)v));
        double f = c->frag_max * i / TICKS;
        fprintf(o, "<text x=\"%.1f\" y=\"%.1f\">%.2f</text>\n", c->x1 + 4, y_frag(c, f) + 4, f);
    }
    /* The fragmentation marks: 1.3 acceptable, 1.5 severe. */
    static const struct {
        double at;
        const char *colour, *name;
    } marks[] = {{1.3, "#e6a000", "1.3: acceptable above"}, {1.5, "#d62728", "1.5: severe above"}};
    for (size_t i = 0; i < 2; i++) {
        if (marks[i].at > c->frag_max)
            continue;
        double y = y_frag(c, marks[i].at);
        fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                   "stroke-dasharray=\"2,4\"><title>fragmentation %s</title></line>\n",
                c->x0, y, c->x1, y, marks[i].colour, marks[i].name);
    }
    /* Time ticks at round multiples: about TICKS of them. */
    double step = nice_up((double)c->tl->span_ns / TICKS, false);
    for (double t = 0; t <= (double)c->tl->span_ns; t += step) {
        fprintf(o, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/>\n",
                x_of(c, (uint64_t)t), c->y1, x_of(c, (uint64_t)t), c->y1 + 4);
        fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.9g s</text>\n",
                x_of(c, (uint64_t)t), c->y1 + 16, t / 1e9);
    }
    fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time</text>\n",
            (c->x0 + c->x1) / 2, c->y1 + 30);
    fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">fragmentation</text>\n",
            c->x1 + MARGIN_R - 4, c->y0 - 6);
    fprintf(o, "<text x=\"%.1f\" y=\"%.1f\">bytes</text>\n", 4.0, c->y0 - 6);
}

/* One transparent column per row with the row's values as its tooltip. */
static void tooltips(const chart_t *c)
{
    const mt_timeline_t *tl = c->tl;
    FILE *o = c->out;
    char a[MT_FMT_MAX], b[MT_FMT_MAX];
    for (size_t k = 0; k < tl->nrows; k++) {
        const mt_tl_row_t *r = &tl->rows[k];
        double xa = x_of(c, r->start_ns), xb = x_of(c, r->end_ns);
        fprintf(o, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"#000\" "
                   "fill-opacity=\"0\"><title>%.3f s to %.3f s\n", xa, c->y0, xb - xa > 0.5 ? xb - xa : 0.5,
                c->y1 - c->y0, (double)r->start_ns / 1e9, (double)r->end_ns / 1e9);
        fprintf(o, "RSS: %s\n", r->rss_known ? mt_fmt_bytes(a, r->rss) : "no sample yet");
        fprintf(o, "heap: %s", mt_fmt_bytes(a, r->heap_bytes));
        if (r->heap_bytes_error)
            fprintf(o, " \u00b1 %s", mt_fmt_bytes(b, r->heap_bytes_error));
        fprintf(o, " in %s objects%s\n", mt_fmt_count(a, r->heap_objects),
                tl->sampled ? " (estimate)" : "");
        fprintf(o, "mapped: %s\n", mt_fmt_bytes(a, r->mapped_bytes));
        if (r->fragmentation > 0)
            fprintf(o, "fragmentation: %.2f (%s)\n", r->fragmentation,
                    mt_tl_frag_verdict(r->fragmentation));
        fprintf(o, "allocs: %s (%s), frees: %s", mt_fmt_count(a, r->alloc_calls),
                mt_fmt_bytes(b, r->alloc_bytes), mt_fmt_count(a, r->free_calls));
        if (tl->has_pool)
            fprintf(o, "\npool: %s in chunks of %s total", mt_fmt_bytes(a, r->pool_bytes),
                    mt_fmt_bytes(b, r->pool_chunk_bytes));
        for (size_t j = 0; j < tl->nstacks; j++) {
            fprintf(o, "\n#%zu %s: ", j + 1, mt_fmt_bytes(a, r->stack_bytes[j]));
            put_text(o, tl->stacks[j].label);
        }
        fputs("</title></rect>\n", o);
    }
}

static double legend_item(const chart_t *c, double x, double y, const char *colour,
                          const char *dash, const char *name)
{
    fprintf(c->out, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                    "stroke-width=\"2\"%s%s%s/>\n<text x=\"%.1f\" y=\"%.1f\">",
            x, y - 4, x + 18, y - 4, colour, dash ? " stroke-dasharray=\"" : "", dash ? dash : "",
            dash ? "\"" : "", x + 22, y);
    put_text(c->out, name);
    fputs("</text>\n", c->out);
    return x + 30 + 7.0 * (double)strlen(name);
}

int mt_timeline_write_svg(const mt_timeline_t *tl, const mt_tl_svg_options_t *so, FILE *out)
{
    double w = so && so->width ? so->width : 1000, h = so && so->height ? so->height : 420;
    double legend_h = LEGEND_ROW * (2 + (double)tl->nstacks + tl->has_pool);
    chart_t c = {out, tl, MARGIN_L, w - MARGIN_R, MARGIN_T, h - AXIS_B - legend_h, 0, 0};
    if (c.y1 < c.y0 + 60) { /* many stacks: grow the image */
        h += c.y0 + 60 - c.y1;
        c.y1 = c.y0 + 60;
    }
    uint64_t top = 0;
    for (size_t k = 0; k < tl->nrows; k++)
        for (int s = 0; s < S_STACK0 + (int)tl->nstacks; s++) {
            uint64_t v;
            if (series(tl, &tl->rows[k], s, &v) && v > top)
                top = v;
        }
    c.bytes_max = nice_up((double)top * 1.05, true);
    double fm = tl->peak_fragmentation * 1.1;
    /* A multiple of 2.5, so that the TICKS ticks fall on multiples of 0.5. */
    c.frag_max = fm < 2.5 ? 2.5 : fm > 10 ? 10 : ceil(fm / 2.5) * 2.5;

    errno = 0;
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
                 "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" "
                 "font-size=\"11\">\n", w, h, w, h);
    fprintf(out, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n");
    fprintf(out, "<text x=\"%.1f\" y=\"20\" font-size=\"15\" text-anchor=\"middle\">", w / 2);
    put_text(out, so && so->title ? so->title : "Memory over time");
    fputs("</text>\n", out);
    if (so && so->subtitle) {
        fprintf(out, "<text x=\"%.1f\" y=\"36\" text-anchor=\"middle\" fill=\"#555\">", w / 2);
        put_text(out, so->subtitle);
        fputs("</text>\n", out);
    }
    axes(&c);
    polyline(&c, S_MAPPED, MAPPED_COLOUR, 1.5, NULL);
    polyline(&c, S_CHUNKS, CHUNKS_COLOUR, 1.5, "4,2");
    polyline(&c, S_POOL, POOL_COLOUR, 1.5, NULL);
    for (size_t j = 0; j < tl->nstacks; j++)
        polyline(&c, S_STACK0 + (int)j, stack_colours[j % 8], 1.2, NULL);
    polyline(&c, S_HEAP, HEAP_COLOUR, 2, NULL);
    polyline(&c, S_RSS, RSS_COLOUR, 2, NULL);
    frag_line(&c);
    tooltips(&c);

    double y = c.y1 + AXIS_B + LEGEND_ROW - 4, x = c.x0;
    x = legend_item(&c, x, y, RSS_COLOUR, NULL, "RSS");
    x = legend_item(&c, x, y, HEAP_COLOUR, NULL, tl->sampled ? "live heap (estimate)" : "live heap");
    x = legend_item(&c, x, y, MAPPED_COLOUR, NULL, "mapped regions");
    legend_item(&c, x, y, FRAG_COLOUR, "6,3", "fragmentation = RSS / (heap + mapped), right axis");
    if (tl->has_pool) {
        char name[160];
        y += LEGEND_ROW;
        snprintf(name, sizeof name, "pool %.100s: requested bytes",
                 tl->opt.pool_name ? tl->opt.pool_name : "");
        x = legend_item(&c, c.x0, y, POOL_COLOUR, NULL, name);
        legend_item(&c, x, y, CHUNKS_COLOUR, "4,2", "its chunks");
    }
    for (size_t j = 0; j < tl->nstacks; j++) {
        char name[160];
        snprintf(name, sizeof name, "#%zu %.140s", j + 1, tl->stacks[j].label);
        legend_item(&c, c.x0, y + LEGEND_ROW * (double)(j + 1), stack_colours[j % 8], NULL, name);
    }
    fputs("</svg>\n", out);
    if (fflush(out) != 0 || ferror(out))
        return errno ? errno : EIO;
    return 0;
}
