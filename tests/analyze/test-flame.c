/* test-flame.c - analyze/flame.c and flame_svg.c on hand-made report rows:
 * the call tree (merging, inlined frames, names without symbols, rounding of
 * sampled weights), folded lines with ';' and control characters cleaned,
 * the differential form, and the SVG's escaping, tooltips, geometry and
 * colours; in a sampled profile, the 95% bounds of stacks and frames (the
 * variances summed up the tree) in the JSON and the tooltips.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"

#define ONE ((mt_u128)MT_WEIGHT_ONE)

static const mt_frame_t f_new = {.function = "operator new<&>;x", .module = "/lib/libstdc++.so.6"};
static const mt_frame_t f_insert = {.function = "std::map<int, std::string>::insert",
                                    .module = "/usr/bin/app", .inlined = true};
static const mt_frame_t f_main = {.function = "main", .module = "/usr/bin/app"};
static const mt_frame_t f_libz = {.module = "/usr/lib/libz.so", .offset = 0x1234};
static const mt_frame_t f_bare = {.address = 0xdead};
static const mt_frame_t f_ctl = {.function = "\x01" "bad", .module = "/usr/bin/app"};

/* A report of rows, each FRAMES[N] innermost first, allocating BW. */
typedef struct fake {
    mt_report_t rep;
    mt_row_t rows[8];
    mt_frame_t frames[8][4];
} fake_t;

static void add_row(fake_t *f, mt_u128 bw, size_t n, const mt_frame_t *frames[])
{
    mt_row_t *r = &f->rows[f->rep.nrows];
    memset(r, 0, sizeof(*r));
    for (size_t i = 0; i < n; i++)
        f->frames[f->rep.nrows][i] = *frames[i];
    r->frames = f->frames[f->rep.nrows];
    r->nframes = n;
    r->agg.alloc_bw = bw;
    r->agg.alloc_w = ONE;
    f->rep.nrows++;
    f->rep.rows = f->rows;
}

/* The new profile: 125 + 50 + 7 bytes, one row sampled (1.5 -> 2), one
 * with a control character in its name. */
static void profile(fake_t *f)
{
    memset(f, 0, sizeof(*f));
    add_row(f, 100 * ONE, 3, (const mt_frame_t *[]){&f_new, &f_insert, &f_main});
    add_row(f, 50 * ONE, 2, (const mt_frame_t *[]){&f_libz, &f_main});
    add_row(f, 7 * ONE, 1, (const mt_frame_t *[]){&f_bare});
    /* The same functions from other lines: one node. */
    add_row(f, 25 * ONE, 3, (const mt_frame_t *[]){&f_new, &f_insert, &f_main});
    add_row(f, ONE * 3 / 2, 2, (const mt_frame_t *[]){&f_ctl, &f_main});
}

static char *folded(const mt_flame_t *fl)
{
    char *buf;
    size_t len;
    FILE *m = open_memstream(&buf, &len);
    cr_assert_eq(mt_flame_write_folded(fl, m), 0);
    fclose(m);
    return buf;
}

static char *svg(const mt_flame_t *fl)
{
    char *buf;
    size_t len;
    FILE *m = open_memstream(&buf, &len);
    mt_flame_svg_options_t o = {.title = "a <title> & more", .subtitle = "sub\x02title"};
    cr_assert_eq(mt_flame_write_svg(fl, &o, m), 0);
    fclose(m);
    return buf;
}

Test(flame, folded_tree)
{
    fake_t f;
    profile(&f);
    mt_flame_t fl;
    mt_flame_init(&fl, MT_FLAME_BYTES);
    cr_assert_eq(mt_flame_add(&fl, &f.rep, MT_FLAME_NEW), 0);
    mt_flame_finish(&fl);
    cr_expect_eq(fl.nodes, 6);
    cr_expect_eq(fl.max_depth, 3);
    cr_expect_eq(fl.root.total[MT_FLAME_NEW], 184);
    char *out = folded(&fl);
    cr_expect_str_eq(out, "0xdead 7\n"
                          "main;?bad 2\n"
                          "main;libz.so+0x1234 50\n"
                          "main;std::map<int, std::string>::insert;operator new<&>:x 125\n");
    free(out);
    mt_flame_free(&fl);
}

Test(flame, folded_diff)
{
    fake_t base, grown;
    memset(&base, 0, sizeof(base));
    add_row(&base, 100 * ONE, 3, (const mt_frame_t *[]){&f_new, &f_insert, &f_main});
    add_row(&base, 40 * ONE, 1, (const mt_frame_t *[]){&f_libz}); /* gone in the new one */
    profile(&grown);
    mt_flame_t fl;
    mt_flame_init(&fl, MT_FLAME_BYTES);
    cr_assert_eq(mt_flame_add(&fl, &grown.rep, MT_FLAME_NEW), 0);
    cr_assert_eq(mt_flame_add(&fl, &base.rep, MT_FLAME_BASE), 0);
    mt_flame_finish(&fl);
    char *out = folded(&fl);
    cr_expect_str_eq(out, "0xdead 0 7\n"
                          "libz.so+0x1234 40 0\n"
                          "main;?bad 0 2\n"
                          "main;libz.so+0x1234 0 50\n"
                          "main;std::map<int, std::string>::insert;operator new<&>:x 100 125\n");
    free(out);

    /* Widths from the new profile (libz.so at the root, 0 now, is not
     * drawn); main grew by 177 - 100, the most: full red; operator new by
     * 25: 210 * (77 - 25) / 77 = 141. */
    char *doc = svg(&fl);
    cr_expect_null(strstr(doc, "<title>libz.so+0x1234\nlibz.so\n0 B"));
    const char *m = strstr(doc, "<title>main\n");
    cr_assert_not_null(m);
    cr_expect(!strncmp(m, "<title>main\napp\n177 B (177 bytes), 96.2%\nbase 100 B (100 bytes); "
                          "change +77 B (77 bytes)</title>", 93), "%.120s", m);
    cr_expect(!strncmp(strstr(m, "fill="), "fill=\"rgb(255,0,0)\"", 19));
    const char *n = strstr(doc, "<title>operator new&lt;&amp;&gt;:x\n");
    cr_assert_not_null(n);
    cr_expect(!strncmp(strstr(n, "fill="), "fill=\"rgb(255,141,141)\"", 23), "%.300s", n);
    free(doc);
    mt_flame_free(&fl);
}

Test(flame, svg_escapes_and_lays_out)
{
    fake_t f;
    profile(&f);
    mt_flame_t fl;
    mt_flame_init(&fl, MT_FLAME_BYTES);
    cr_assert_eq(mt_flame_add(&fl, &f.rep, MT_FLAME_NEW), 0);
    mt_flame_finish(&fl);
    char *doc = svg(&fl);
    if (getenv("FLAME_DUMP"))
        fputs(doc, stderr);
    cr_expect(!strncmp(doc, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
                            "<svg xmlns=\"http://www.w3.org/2000/svg\"", 95));
    cr_expect(strstr(doc, ">a &lt;title&gt; &amp; more</text>"), "title escaped");
    cr_expect(strstr(doc, ">sub?title</text>"), "control character replaced");
    /* 125 of 184 bytes: 67.9%; 1180 px * 125 / 184 = 801.63 px wide, at the
     * right of 0xdead (7) and ?bad (2) and libz (50): x = 10 + 1180 * 59 / 184. */
    const char *n = strstr(doc, "<title>operator new&lt;&amp;&gt;:x\nlibstdc++.so.6\n"
                                "125 B (125 bytes), 67.9%</title><rect x=\"388.37\" y=\"");
    cr_expect_not_null(n, "operator new's frame");
    cr_expect(n && strstr(n, "width=\"801.63\" height=\"15.0\""), "%.300s", n);
    cr_expect(n && strstr(n, ">operator new&lt;&amp;&gt;:x</text>"), "label");
    cr_expect(strstr(doc, "<title>std::map&lt;int, std::string&gt;::insert\napp (inlined)\n"
                          "125 B (125 bytes), 67.9%</title>"), "inlined frame");
    cr_expect(strstr(doc, "<title>all\n184 B (184 bytes), 100.0%</title>"));
    /* 0xdead: 7 bytes, 44.89 px; a label 3 px in fits 5 characters of
     * 7.08 px: "0xd..". */
    cr_expect(strstr(doc, "width=\"44.89\" height=\"15.0\" fill=\"hsl(0,0%,"), "grey: no module");
    cr_expect(strstr(doc, ">0xd..</text>"));
    /* ?bad: 2 bytes, 12.83 px: too narrow for a label. */
    const char *b = strstr(doc, "<title>?bad\n");
    cr_expect(b && !strncmp(strstr(b, "<text"), "<text x=\"", 9) &&
              strstr(b, "\"></text>") < strstr(b, "</g>"), "no label");
    /* Outside the CDATA script, no raw '<' starts anything but a tag. */
    const char *end = strstr(doc, "<script");
    cr_assert_not_null(end);
    for (const char *p = doc; p < end; p++)
        cr_expect(p[0] != '<' || p[1] == '/' || p[1] == '?' || (p[1] >= 'a' && p[1] <= 'z'),
                  "raw < at %.40s", p);
    cr_expect(strstr(doc, "]]></script>\n</svg>\n"), "the script closes the document");
    free(doc);
    mt_flame_free(&fl);
}

Test(flame, empty_profile)
{
    mt_flame_t fl;
    mt_flame_init(&fl, MT_FLAME_COUNT);
    mt_flame_finish(&fl);
    char *out = folded(&fl);
    cr_expect_str_empty(out);
    free(out);
    char *doc = svg(&fl);
    cr_expect(strstr(doc, ">(no allocations to show)</text>"));
    cr_expect_null(strstr(doc, "class=\"f\""));
    free(doc);
    mt_flame_free(&fl);
}

/* Row R of F with sampling variance VAR (units of ONE^2 bytes^2). */
static void set_var(fake_t *f, size_t r, mt_u128 var)
{
    f->rows[r].agg.alloc_var_bw = var;
}

static char *json(const mt_flame_t *fl)
{
    char *buf;
    size_t len;
    FILE *m = open_memstream(&buf, &len);
    mt_json_t j;
    mt_json_init(&j, m, MT_JSON_COMPACT);
    mt_json_begin_object(&j);
    cr_assert_eq(mt_flame_write_json(fl, &j), 0);
    mt_json_end_object(&j);
    cr_assert_eq(mt_json_end(&j), 0);
    fclose(m);
    return buf;
}

/* Sampled rows with known variances (SD^2 in ONE^2 bytes^2): operator new
 * 1000 B (SD 300) + 500 B (SD 400) = 1500 B, variance 250000, bound
 * ceil(1.959964 * 500) = 980; libz 200 B (SD 120), bound ceil(1.959964 *
 * 120) = 236; 0xdead 64 B exact. main sums its subtree: variance 264400,
 * bound ceil(1.959964 * 514.198) = 1008, and so does the root. The base
 * profile is the first row alone: 1000 B, bound 588; main's change +700 B
 * has variance 264400 + 90000, bound ceil(1.959964 * 595.315) = 1167. */
Test(flame, sampled_bounds)
{
    fake_t f, base;
    memset(&f, 0, sizeof(f));
    add_row(&f, 1000 * ONE, 3, (const mt_frame_t *[]){&f_new, &f_insert, &f_main});
    set_var(&f, 0, 300 * ONE * 300 * ONE);
    add_row(&f, 500 * ONE, 3, (const mt_frame_t *[]){&f_new, &f_insert, &f_main});
    set_var(&f, 1, 400 * ONE * 400 * ONE);
    add_row(&f, 200 * ONE, 2, (const mt_frame_t *[]){&f_libz, &f_main});
    set_var(&f, 2, 120 * ONE * 120 * ONE);
    add_row(&f, 64 * ONE, 1, (const mt_frame_t *[]){&f_bare});
    mt_flame_t fl;
    mt_flame_init(&fl, MT_FLAME_BYTES);
    cr_assert_eq(mt_flame_add(&fl, &f.rep, MT_FLAME_NEW), 0);
    mt_flame_finish(&fl);
    cr_expect_eq(fl.root.total[MT_FLAME_NEW], 1764);
    cr_expect(fl.root.total_var[MT_FLAME_NEW] == 264400 * ONE * ONE);
    cr_expect_eq(mt_est_bound(fl.root.total_var[MT_FLAME_NEW]), 1008);

    char *out = json(&fl);
    cr_expect_str_eq(out,
        "{\"stacks\":[{\"frames\":[{\"name\":\"0xdead\",\"module\":null,\"inlined\":false}],"
        "\"value\":64,\"value_error\":0},"
        "{\"frames\":[{\"name\":\"main\",\"module\":\"app\",\"inlined\":false},"
        "{\"name\":\"libz.so+0x1234\",\"module\":\"libz.so\",\"inlined\":false}],"
        "\"value\":200,\"value_error\":236},"
        "{\"frames\":[{\"name\":\"main\",\"module\":\"app\",\"inlined\":false},"
        "{\"name\":\"std::map<int, std::string>::insert\",\"module\":\"app\",\"inlined\":true},"
        "{\"name\":\"operator new<&>:x\",\"module\":\"libstdc++.so.6\",\"inlined\":false}],"
        "\"value\":1500,\"value_error\":980}]}\n");
    free(out);
    /* The estimates stay plain integers in the folded form. */
    out = folded(&fl);
    cr_expect_str_eq(out, "0xdead 64\n"
                          "main;libz.so+0x1234 200\n"
                          "main;std::map<int, std::string>::insert;operator new<&>:x 1500\n");
    free(out);

    char *doc = svg(&fl);
    cr_expect(strstr(doc, "<title>all\n1.7 KiB \u00b1 1008 B (1,764 \u00b1 1,008 bytes), "
                          "100.0%</title>"), "root's bound");
    cr_expect(strstr(doc, "<title>main\napp\n1.7 KiB \u00b1 1008 B (1,700 \u00b1 1,008 bytes), "
                          "96.4%</title>"), "main: its subtree's variances summed");
    cr_expect(strstr(doc, "<title>operator new&lt;&amp;&gt;:x\nlibstdc++.so.6\n1.5 KiB \u00b1 "
                          "980 B (1,500 \u00b1 980 bytes), 85.0%</title>"), "two rows' variances");
    cr_expect(strstr(doc, "<title>libz.so+0x1234\nlibz.so\n200 B \u00b1 236 B (200 \u00b1 236 "
                          "bytes), 11.3%</title>"));
    cr_expect(strstr(doc, "<title>0xdead\n64 B (64 bytes), 3.6%</title>"), "exact: no \u00b1");
    free(doc);

    memset(&base, 0, sizeof(base));
    add_row(&base, 1000 * ONE, 3, (const mt_frame_t *[]){&f_new, &f_insert, &f_main});
    set_var(&base, 0, 300 * ONE * 300 * ONE);
    mt_flame_free(&fl);
    mt_flame_init(&fl, MT_FLAME_BYTES);
    cr_assert_eq(mt_flame_add(&fl, &f.rep, MT_FLAME_NEW), 0);
    cr_assert_eq(mt_flame_add(&fl, &base.rep, MT_FLAME_BASE), 0);
    mt_flame_finish(&fl);
    doc = svg(&fl);
    cr_expect(strstr(doc, "<title>main\napp\n1.7 KiB \u00b1 1008 B (1,700 \u00b1 1,008 bytes), "
                          "96.4%\nbase 1000 B \u00b1 588 B (1,000 \u00b1 588 bytes); change "
                          "+700 B \u00b1 1.1 KiB (700 \u00b1 1,167 bytes)</title>"),
              "%.300s", strstr(doc, "<title>main\n"));
    free(doc);
    out = json(&fl);
    cr_expect(strstr(out, "\"value\":1500,\"value_error\":980,\"base\":1000,\"base_error\":588}"),
              "%s", out);
    free(out);
    mt_flame_free(&fl);
}
