/* flame_svg.c - a flame graph as one self-contained interactive SVG: frames
 * as rectangles (layout in FLAMEGRAPH.md), a <title> tooltip per frame with
 * its value and percent, colours by module (or by growth in a differential
 * graph), and a small inline script for click-to-zoom and regex search.
 * Nothing is fetched: no external script, font or style. Every string taken
 * from a trace is made printable and XML-escaped (C++ names have <>&).
 * In a sampled trace a value is followed by its 95% bound ("± B").
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"

#define PAD_X 10.0        /* left and right margin */
#define FRAME_H 16.0      /* one depth level */
#define TOP_H 64.0        /* title, subtitle, controls */
#define BOTTOM_H 48.0     /* details line and module legend */
#define FONT_PX 12.0
#define CHAR_W (FONT_PX * 0.59) /* average glyph width of the label font */
#define MIN_W 0.1         /* frames narrower than this (px) are left out */
#define MAX_LEGEND 8      /* modules named in the legend */

typedef struct svg {
    const mt_flame_t *f;
    FILE *out;
    double width, avail;  /* image width; width of the frame area */
    double height;
    uint64_t total;       /* root's value: the full width */
    uint64_t max_delta;   /* largest |new - base| of a frame (diff) */
} svg_t;

/* ---- text ------------------------------------------------------------------- */

/* Writes the label of a frame W px wide: NAME, or its first characters and
 * "..", or nothing when fewer than three characters fit. Same rule as the
 * script's label(). */
static void put_label(FILE *out, const char *name, double w)
{
    size_t fit = (size_t)(w / CHAR_W), chars = 0, len = strlen(name), cut = 0;
    if (fit < 3)
        return;
    for (size_t i = 0; i < len; chars++) {
        if (chars == fit - 2)
            cut = i;
        size_t n = mt_utf8_seq_len((const unsigned char *)name + i, len - i);
        i += n ? n : 1;
    }
    if (chars <= fit) {
        mt_put_xml(out, name);
        return;
    }
    char buf[1024];
    if (cut >= sizeof(buf))
        cut = sizeof(buf) - 1;
    memcpy(buf, name, cut);
    buf[cut] = '\0';
    mt_put_xml(out, buf);
    fputs("..", out);
}

/* V of the tree's weight, with sampling variance VAR, as text: "12 KiB
 * (12,288 bytes)" or "36 calls" when exact, "12 KiB ± 1.1 KiB (12,288 ±
 * 1,127 bytes)" or "36 ± 4 calls" when estimated (estimate.c). */
static void put_value(const svg_t *g, uint64_t v, mt_u128 var)
{
    char a[MT_FMT_MAX], b[MT_FMT_MAX];
    const char *s = v == 1 && !mt_est_bound(var) ? "" : "s";
    switch (g->f->weight) {
    case MT_FLAME_COUNT:
        fprintf(g->out, "%s call%s", mt_fmt_count_est(a, v, var), s);
        break;
    case MT_FLAME_TEMP:
        fprintf(g->out, "%s temporary allocation%s", mt_fmt_count_est(a, v, var), s);
        break;
    default:
        fprintf(g->out, "%s (%s byte%s)", mt_fmt_bytes_est(a, v, var),
                mt_fmt_count_est(b, v, var), s);
    }
}

/* ---- colours ---------------------------------------------------------------- */

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* A module's hue; frames of one module share it, their names vary the
 * lightness a little so that neighbours stay apart. */
static void module_colour(char *buf, size_t cap, const char *module, const char *name,
                          bool inlined)
{
    if (!module) {
        snprintf(buf, cap, "hsl(0,0%%,%u%%)", 70 + hash_str(name) % 10);
        return;
    }
    unsigned hue = hash_str(module) % 360;
    snprintf(buf, cap, "hsl(%u,%u%%,%u%%)", hue, inlined ? 35 : 70, 58 + hash_str(name) % 14);
}

/* difffolded/flamegraph.pl's scale: white when unchanged, red as the frame
 * grew, blue as it shrank, full colour at the largest change. */
static void diff_colour(const svg_t *g, char *buf, size_t cap, const mt_flame_node_t *n)
{
    uint64_t nv = n->total[MT_FLAME_NEW], bv = n->total[MT_FLAME_BASE];
    unsigned r = 255, gr = 255, b = 255;
    if (g->max_delta && nv != bv) {
        uint64_t d = nv > bv ? nv - bv : bv - nv;
        unsigned shade = (unsigned)(210.0 * (double)(g->max_delta - d) / (double)g->max_delta);
        if (nv > bv)
            gr = b = shade;
        else
            r = gr = shade;
    }
    snprintf(buf, cap, "rgb(%u,%u,%u)", r, gr, b);
}

static uint64_t max_delta(const mt_flame_node_t *n)
{
    uint64_t nv = n->total[MT_FLAME_NEW], bv = n->total[MT_FLAME_BASE];
    uint64_t m = nv > bv ? nv - bv : bv - nv;
    for (const mt_flame_node_t *c = n->child; c; c = c->next) {
        uint64_t d = max_delta(c);
        m = d > m ? d : m;
    }
    return m;
}

/* ---- frames ----------------------------------------------------------------- */

static void put_percent(const svg_t *g, uint64_t v)
{
    char p[MT_FMT_MAX];
    fputs(mt_fmt_percent(p, v, g->total), g->out);
}

static void put_frame(const svg_t *g, const mt_flame_node_t *n, uint64_t offset, size_t depth)
{
    FILE *out = g->out;
    uint64_t v = n->total[MT_FLAME_NEW];
    double x = PAD_X + g->avail * (double)offset / (double)g->total;
    double w = g->avail * (double)v / (double)g->total;
    double y = g->height - BOTTOM_H - (double)(depth + 1) * FRAME_H;
    const char *name = n->name ? n->name : "all";
    char fill[64];
    if (g->f->diff)
        diff_colour(g, fill, sizeof(fill), n);
    else if (!n->name)
        snprintf(fill, sizeof(fill), "hsl(0,0%%,80%%)");
    else
        module_colour(fill, sizeof(fill), n->module, n->name, n->inlined);

    fprintf(out, "<g class=\"f\" mt:o=\"%" PRIu64 "\" mt:v=\"%" PRIu64 "\" mt:d=\"%zu\"><title>",
            offset, v, depth);
    mt_put_xml(out, name);
    fputc('\n', out);
    if (n->module) {
        mt_put_xml(out, n->module);
        fputs(n->inlined ? " (inlined)\n" : "\n", out);
    } else if (n->name) {
        fputs(n->inlined ? "(inlined)\n" : "", out);
    }
    mt_u128 var = n->total_var[MT_FLAME_NEW];
    put_value(g, v, var);
    fputs(", ", out);
    put_percent(g, v);
    if (g->f->diff) {
        uint64_t b = n->total[MT_FLAME_BASE];
        mt_u128 bvar = n->total_var[MT_FLAME_BASE];
        fputs("\nbase ", out);
        put_value(g, b, bvar);
        /* Two independent profiles: the variance of the change is the sum. */
        fprintf(out, "; change %s", v >= b ? "+" : "-");
        put_value(g, v >= b ? v - b : b - v, mt_est_var_add(var, bvar));
    }
    fprintf(out, "</title><rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" "
                 "fill=\"%s\" rx=\"2\"/><text x=\"%.2f\" y=\"%.1f\">",
            x, y, w, FRAME_H - 1, fill, x + 3, y + FRAME_H - 4.5);
    put_label(out, name, w - 3);
    fputs("</text></g>\n", out);

    for (const mt_flame_node_t *c = n->child; c; c = c->next) {
        uint64_t cv = c->total[MT_FLAME_NEW];
        if (cv && g->avail * (double)cv / (double)g->total >= MIN_W)
            put_frame(g, c, offset, depth + 1);
        offset += cv;
    }
}

/* ---- module legend ------------------------------------------------------------ */

typedef struct legend {
    const char *module[MAX_LEGEND * 4];
    uint64_t value[MAX_LEGEND * 4];
    size_t n;
} legend_t;

static void legend_add(legend_t *l, const mt_flame_node_t *n)
{
    if (n->module) {
        size_t i = 0;
        while (i < l->n && strcmp(l->module[i], n->module) != 0)
            i++;
        if (i == l->n && l->n < sizeof(l->module) / sizeof(l->module[0])) {
            l->module[l->n] = n->module;
            l->value[l->n++] = 0;
        }
        if (i < l->n)
            l->value[i] += n->self[MT_FLAME_NEW];
    }
    for (const mt_flame_node_t *c = n->child; c; c = c->next)
        legend_add(l, c);
}

/* The modules by the bytes their own frames allocate, with their colours. */
static void put_legend(const svg_t *g)
{
    legend_t l = {0};
    legend_add(&l, &g->f->root);
    for (size_t i = 1; i < l.n; i++) /* insertion sort, largest first */
        for (size_t j = i; j > 0 && l.value[j] > l.value[j - 1]; j--) {
            const char *m = l.module[j];
            uint64_t v = l.value[j];
            l.module[j] = l.module[j - 1];
            l.value[j] = l.value[j - 1];
            l.module[j - 1] = m;
            l.value[j - 1] = v;
        }
    double x = PAD_X, y = g->height - 12;
    fprintf(g->out, "<g id=\"legend\"><text x=\"%.1f\" y=\"%.1f\">modules:</text>\n", x, y);
    x += 64;
    for (size_t i = 0; i < l.n && i < MAX_LEGEND; i++) {
        char fill[64];
        module_colour(fill, sizeof(fill), l.module[i], "", false);
        fprintf(g->out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                        "<text x=\"%.1f\" y=\"%.1f\">", x, y - 9, fill, x + 14, y);
        mt_put_xml(g->out, l.module[i]);
        fputs("</text>\n", g->out);
        x += 14 + CHAR_W * (double)strlen(l.module[i]) + 16;
    }
    fputs("</g>\n", g->out);
}

/* ---- document ------------------------------------------------------------------ */

/* The interactive part, at the end of the document: zoom on click, search, details on hover; also
 * ?s=REGEX (search) and ?zoom=NAME (zoom into the first frame so named) in
 * the URL. Kept free of "]]>" and of the network. */
static const char script[] =
    "'use strict';\n"
    "(function () {\n"
    "  var svg = document.documentElement, NS = 'urn:mtrace:flame';\n"
    "  var PAD = +svg.getAttributeNS(NS, 'pad'), AVAIL = +svg.getAttributeNS(NS, 'avail');\n"
    "  var CHAR_W = +svg.getAttributeNS(NS, 'charw');\n"
    "  var frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));\n"
    "  var details = document.getElementById('details');\n"
    "  var matched = document.getElementById('matched');\n"
    "  var unzoomBtn = document.getElementById('unzoom');\n"
    "  if (!frames.length) return;\n"
    "  function num(g, k) { return +g.getAttributeNS(NS, k); }\n"
    "  function name(g) { return g.querySelector('title').textContent.split('\\n')[0]; }\n"
    "  function label(s, w) {\n"
    "    var fit = Math.floor(w / CHAR_W), chars = Array.from(s);\n"
    "    if (fit < 3) return '';\n"
    "    return chars.length <= fit ? s : chars.slice(0, fit - 2).join('') + '..';\n"
    "  }\n"
    "  function place(g, x, w) {\n"
    "    var r = g.querySelector('rect'), t = g.querySelector('text');\n"
    "    r.setAttribute('x', x.toFixed(2));\n"
    "    r.setAttribute('width', w.toFixed(2));\n"
    "    t.setAttribute('x', (x + 3).toFixed(2));\n"
    "    t.textContent = label(name(g), w - 3);\n"
    "  }\n"
    "  /* Zooms into frame z (null: the whole graph). Its descendants are\n"
    "     rescaled to its range, its ancestors drawn full width and faded,\n"
    "     every other frame hidden. */\n"
    "  function zoom(z) {\n"
    "    var zo = z ? num(z, 'o') : 0, zv = z ? num(z, 'v') : num(frames[0], 'v');\n"
    "    var zd = z ? num(z, 'd') : 0;\n"
    "    frames.forEach(function (g) {\n"
    "      var o = num(g, 'o'), v = num(g, 'v'), d = num(g, 'd');\n"
    "      g.classList.remove('parent', 'hide');\n"
    "      if (d >= zd && o >= zo && o + v <= zo + zv) {\n"
    "        var w = AVAIL * v / zv;\n"
    "        if (w < 0.1) g.classList.add('hide');\n"
    "        place(g, PAD + AVAIL * (o - zo) / zv, w);\n"
    "      } else if (d < zd && o <= zo && o + v >= zo + zv) {\n"
    "        g.classList.add('parent');\n"
    "        place(g, PAD, AVAIL);\n"
    "      } else {\n"
    "        g.classList.add('hide');\n"
    "      }\n"
    "    });\n"
    "    unzoomBtn.classList.toggle('hide', !z);\n"
    "    svg.setAttributeNS(NS, 'mt:zoomed', z ? name(z) : '');\n"
    "  }\n"
    "  /* Highlights the frames whose name matches regex re (null: none) and\n"
    "     shows the share of the total they cover, nested matches once. */\n"
    "  function search(re) {\n"
    "    var spans = [];\n"
    "    frames.forEach(function (g) {\n"
    "      var r = g.querySelector('rect');\n"
    "      if (!r.hasAttributeNS(NS, 'fill')) r.setAttributeNS(NS, 'mt:fill', r.getAttribute('fill'));\n"
    "      var hit = re && num(g, 'd') > 0 && re.test(name(g));\n"
    "      r.setAttribute('fill', hit ? 'rgb(230,0,230)' : r.getAttributeNS(NS, 'fill'));\n"
    "      if (hit) spans.push([num(g, 'o'), num(g, 'o') + num(g, 'v')]);\n"
    "    });\n"
    "    spans.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });\n"
    "    var covered = 0, end = -1;\n"
    "    spans.forEach(function (s) {\n"
    "      if (s[0] >= end) { covered += s[1] - s[0]; end = s[1]; }\n"
    "      else if (s[1] > end) { covered += s[1] - end; end = s[1]; }\n"
    "    });\n"
    "    var total = num(frames[0], 'v');\n"
    "    matched.textContent = re ? 'Matched: ' + (total ? 100 * covered / total : 0).toFixed(1) + '%' : '';\n"
    "  }\n"
    "  function ask() {\n"
    "    var s = window.prompt('Search frames (regular expression)', '');\n"
    "    if (s === null) return;\n"
    "    try { search(s ? new RegExp(s) : null); } catch (e) { details.textContent = 'bad regex: ' + e.message; }\n"
    "  }\n"
    "  frames.forEach(function (g) {\n"
    "    g.addEventListener('click', function () { zoom(g); });\n"
    "    g.addEventListener('mouseover', function () {\n"
    "      details.textContent = g.querySelector('title').textContent.replace(/\\n/g, '  ');\n"
    "    });\n"
    "    g.addEventListener('mouseout', function () { details.textContent = ' '; });\n"
    "  });\n"
    "  unzoomBtn.addEventListener('click', function () { zoom(null); });\n"
    "  document.getElementById('search').addEventListener('click', ask);\n"
    "  document.addEventListener('keydown', function (e) {\n"
    "    if ((e.ctrlKey && e.key === 'f') || e.key === '/') { e.preventDefault(); ask(); }\n"
    "    if (e.key === 'Escape') { search(null); zoom(null); }\n"
    "  });\n"
    "  var q = new URLSearchParams(window.location.search);\n"
    "  if (q.get('zoom')) {\n"
    "    var z = frames.filter(function (g) { return name(g) === q.get('zoom'); })[0];\n"
    "    if (z) zoom(z);\n"
    "  }\n"
    "  if (q.get('s')) search(new RegExp(q.get('s')));\n"
    "})();\n";

static const char style[] =
    "text { font-family: monospace; font-size: 12px; fill: #000; }\n"
    "g.f { cursor: pointer; }\n"
    "g.f:hover rect { stroke: #000; stroke-width: 0.5; }\n"
    "g.parent { opacity: 0.55; }\n"
    ".hide { display: none; }\n"
    "#title { font-size: 17px; text-anchor: middle; }\n"
    "#subtitle { fill: #555; text-anchor: middle; }\n"
    ".button { fill: #1a55a0; cursor: pointer; text-decoration: underline; }\n";

int mt_flame_write_svg(const mt_flame_t *f, const mt_flame_svg_options_t *o, FILE *out)
{
    svg_t g = {.f = f, .out = out};
    g.width = o->width ? o->width : 1200;
    g.avail = g.width - 2 * PAD_X;
    g.height = TOP_H + (double)(f->max_depth + 1) * FRAME_H + BOTTOM_H;
    g.total = f->root.total[MT_FLAME_NEW];
    if (f->diff)
        g.max_delta = max_delta(&f->root);
    char buf[2048];

    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:mt=\"urn:mtrace:flame\" "
                 "version=\"1.1\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
                 "mt:pad=\"%.1f\" mt:avail=\"%.1f\" mt:charw=\"%.2f\">\n",
            g.width, g.height, g.width, g.height, PAD_X, g.avail, CHAR_W);
    fprintf(out, "<style>\n%s</style>\n", style);
    fprintf(out, "<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"#f8f8f4\"/>\n");
    fprintf(out, "<text id=\"title\" x=\"%.1f\" y=\"22\">", g.width / 2);
    mt_put_xml(out, mt_printable(buf, sizeof(buf), o->title ? o->title : "Flame graph"));
    fputs("</text>\n", out);
    if (o->subtitle) {
        fprintf(out, "<text id=\"subtitle\" x=\"%.1f\" y=\"40\">", g.width / 2);
        mt_put_xml(out, mt_printable(buf, sizeof(buf), o->subtitle));
        fputs("</text>\n", out);
    }
    fprintf(out, "<text id=\"unzoom\" class=\"button hide\" x=\"%.1f\" y=\"56\">Reset zoom</text>\n"
                 "<text id=\"search\" class=\"button\" x=\"%.1f\" y=\"56\" "
                 "text-anchor=\"end\">Search</text>\n"
                 "<text id=\"matched\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\"> </text>\n"
                 "<text id=\"details\" x=\"%.1f\" y=\"%.1f\"> </text>\n",
            PAD_X, g.width - PAD_X, g.width - PAD_X, g.height - BOTTOM_H + 18, PAD_X,
            g.height - BOTTOM_H + 18);
    if (!g.total) {
        fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">"
                     "(no allocations to show)</text>\n", g.width / 2, TOP_H + FRAME_H);
    } else {
        fputs("<g id=\"frames\">\n", out);
        put_frame(&g, &f->root, 0, 0);
        fputs("</g>\n", out);
    }
    if (!f->diff)
        put_legend(&g);
    /* Last: an inline script runs as it is parsed, and needs the frames. */
    fprintf(out, "<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n</svg>\n", script);
    return ferror(out) ? (errno ? errno : EIO) : 0;
}
