/* test-cmd-flamegraph.c - `mtrace-analyze flamegraph` on the replay fixture
 * of make-trace.c: exact folded stacks of each weight (frames without
 * symbols are module+offset or an address), the differential form, the
 * SVG file and the messages of every usage and output error. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "run.h"

static char *tmp;
static char trace[4200];

static void setup(void)
{
    mt_test_trace_setup(&tmp, trace, sizeof(trace), "mtrace.gen.100");
    mt_make_trace(trace, "replay");
}

static void teardown(void)
{
    mt_test_trace_teardown(&tmp);
}

TestSuite(flamegraph, .init = setup, .fini = teardown);

Test(flamegraph, folded_exact)
{
    mt_run_t r;
    mt_analyze(&r, "flamegraph", "--folded", trace);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_str_empty(r.err);
    /* Stack 1: 3 x 4096 at 0x401000 called from 0x402000; stack 2: 2 x 100
     * at 0x403000 from 0x402000; stack 3: 16 bytes, no module. */
    cr_expect_str_eq(r.out, "0x7f0000000010 16\n"
                            "libfix.so+0x2000;libfix.so+0x1000 12288\n"
                            "libfix.so+0x2000;libfix.so+0x3000 200\n");
    mt_run_free(&r);

    mt_analyze(&r, "flamegraph", "--folded", "--weight=count", trace);
    cr_expect_str_eq(r.out, "0x7f0000000010 1\n"
                            "libfix.so+0x2000;libfix.so+0x1000 3\n"
                            "libfix.so+0x2000;libfix.so+0x3000 2\n");
    mt_run_free(&r);
    mt_analyze(&r, "flamegraph", "--folded", "-w", "temp", trace);
    cr_expect_str_eq(r.out, "libfix.so+0x2000;libfix.so+0x3000 1\n");
    mt_run_free(&r);
    mt_analyze(&r, "flamegraph", "--folded", "-w", "live", "--min-size", "20", trace);
    cr_expect_str_eq(r.out, "libfix.so+0x2000;libfix.so+0x1000 12288\n");
    mt_run_free(&r);
    /* Against itself: nothing changed. */
    mt_analyze(&r, "flamegraph", "--folded", "--diff", trace, "--match", "libfix", trace);
    cr_expect_str_eq(r.out, "libfix.so+0x2000;libfix.so+0x1000 12288 12288\n"
                            "libfix.so+0x2000;libfix.so+0x3000 200 200\n");
    mt_run_free(&r);
}

Test(flamegraph, json_exact)
{
    mt_run_t r;
    mt_analyze(&r, "flamegraph", "--json=compact", "--diff", trace, "-w", "count", "--min-size",
               "100", "--max-size", "100", trace);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_str_empty(r.err);
    cr_expect_eq(mt_count_lines(r.out), 1);
    expect_has(r.out, "{\"weight\":\"count\",\"unit\":\"objects\",\"total\":2,"
                      "\"total_error\":0,\"base_total\":2,\"base_total_error\":0,"
                      "\"frames\":2,\"estimated\":false,");
    expect_has(r.out, ",\"stacks\":[{\"frames\":[{\"name\":\"libfix.so+0x2000\","
                      "\"module\":\"libfix.so\",\"inlined\":false},{\"name\":"
                      "\"libfix.so+0x3000\",\"module\":\"libfix.so\",\"inlined\":false}],"
                      "\"value\":2,\"value_error\":0,\"base\":2,\"base_error\":0}]}\n");
    mt_run_free(&r);
}

Test(flamegraph, svg_file)
{
    char svg[4300];
    snprintf(svg, sizeof(svg), "%s/out.svg", tmp);
    mt_run_t r;
    mt_analyze(&r, "flamegraph", "-o", svg, "--title", "fixture <1>", trace);
    cr_assert_eq(r.status, 0, "%s", r.err);
    char want[4400];
    snprintf(want, sizeof(want), "wrote %s: 4 frames, 12.2 KiB allocated\n", svg);
    cr_expect_str_eq(r.out, want);
    mt_run_free(&r);
    FILE *f = fopen(svg, "r");
    cr_assert_not_null(f);
    static char doc[1 << 16];
    doc[fread(doc, 1, sizeof(doc) - 1, f)] = '\0';
    fclose(f);
    cr_expect(strstr(doc, "<text id=\"title\" x=\"600.0\" y=\"22\">fixture &lt;1&gt;</text>"));
    cr_expect(strstr(doc, "<text id=\"subtitle\" x=\"600.0\" y=\"40\">" FX_COMMAND " (pid "
                          STR(FX_PID) "); every call recorded (exact)</text>"));
    cr_expect(strstr(doc, "<title>libfix.so+0x1000\nlibfix.so\n12 KiB (12,288 bytes), 98.3%"
                          "</title>"));
}

/* The sampled fixture (make-trace.c sampled_events, bounds as in
 * test-cmd-top.c): stack 1 is 4000 B +- 3920 B in 4 +- 4 calls, the 64 KiB
 * stack exact. Folded stays plain integers; JSON and tooltips carry the
 * bounds, the root's too. */
Test(flamegraph, sampled_error_bounds)
{
    char trace[4300]; /* the suite's is the replay fixture */
    snprintf(trace, sizeof(trace), "%s/mtrace.sampled.1", tmp);
    mt_make_trace(trace, "sampled");
    mt_run_t r;
    mt_analyze(&r, "flamegraph", "--folded", trace);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_str_eq(r.out, "libfix.so+0x2000;libfix.so+0x1000 4000\n"
                            "libfix.so+0x3000 65536\n");
    mt_run_free(&r);

    mt_analyze(&r, "flamegraph", "--json=compact", trace);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "{\"weight\":\"bytes\",\"unit\":\"bytes\",\"total\":69536,"
                      "\"total_error\":3920,\"frames\":3,\"estimated\":true,");
    expect_has(r.out, "\"inlined\":false}],\"value\":65536,\"value_error\":0}");
    expect_has(r.out, "\"inlined\":false}],\"value\":4000,\"value_error\":3920}");
    mt_run_free(&r);
    mt_analyze(&r, "flamegraph", "--json=compact", "-w", "count", trace);
    expect_has(r.out, "\"total\":5,\"total_error\":4,");
    mt_run_free(&r);

    char svg[4300];
    snprintf(svg, sizeof(svg), "%s/sampled.svg", tmp);
    mt_analyze(&r, "flamegraph", "-o", svg, trace);
    cr_assert_eq(r.status, 0, "%s", r.err);
    char want[4400];
    snprintf(want, sizeof(want), "wrote %s: 3 frames, 67.9 KiB \u00b1 3.8 KiB allocated\n", svg);
    cr_expect_str_eq(r.out, want);
    mt_run_free(&r);
    FILE *f = fopen(svg, "r");
    cr_assert_not_null(f);
    static char doc[1 << 16];
    doc[fread(doc, 1, sizeof(doc) - 1, f)] = '\0';
    fclose(f);
    cr_expect(strstr(doc, "; sampled every 512 KiB (estimates, \u00b1 at 95% confidence)</text>"));
    cr_expect(strstr(doc, "<title>libfix.so+0x1000\nlibfix.so\n3.9 KiB \u00b1 3.8 KiB "
                          "(4,000 \u00b1 3,920 bytes), 5.8%</title>"));
    cr_expect(strstr(doc, "<title>all\n67.9 KiB \u00b1 3.8 KiB (69,536 \u00b1 3,920 bytes), "
                          "100.0%</title>"));
    cr_expect(strstr(doc, "<title>libfix.so+0x3000\nlibfix.so\n64 KiB (65,536 bytes), "
                          "94.2%</title>"), "exact stack: no \u00b1");
}

Test(flamegraph, errors)
{
    mt_run_t r;
    mt_analyze(&r, "flamegraph", "--json", "--folded", trace);
    cr_expect_eq(r.status, 2);
    expect_has(r.err, "error: --folded and --json are two formats; give one\n");
    mt_run_free(&r);
    mt_analyze(&r, "flamegraph", "--weight", "bogus", trace);
    cr_expect_eq(r.status, 2);
    expect_has(r.err, "error: --weight bogus: expected bytes, count, live, peak or temp\n"
                      "Run 'mtrace-analyze flamegraph --help' for usage.\n");
    mt_run_free(&r);
    mt_analyze(&r, "flamegraph", "--folded");
    cr_expect_eq(r.status, 2);
    expect_has(r.err, "error: no TRACE given");
    mt_run_free(&r);
    mt_analyze(&r, "flamegraph", "--folded", "--width", "800", trace);
    cr_expect_eq(r.status, 2);
    expect_has(r.err, "--title and --width are for the SVG");
    mt_run_free(&r);
    mt_analyze(&r, "flamegraph", "--min-size", "2K", "--max-size", "1K", trace);
    cr_expect_eq(r.status, 2);
    expect_has(r.err, "--min-size is larger than --max-size");
    mt_run_free(&r);
    mt_analyze(&r, "flamegraph", "-o", "/nonexistent/dir/x.svg", trace);
    cr_expect_eq(r.status, 1);
    expect_has(r.err, "error: flamegraph: cannot create /nonexistent/dir/x.svg: No such file "
                      "or directory; check that its directory exists and is writable\n");
    mt_run_free(&r);
    mt_analyze(&r, "flamegraph", "-o", "/dev/full", trace);
    cr_expect_eq(r.status, 1);
    expect_has(r.err, "error: flamegraph: writing /dev/full: No space left on device; the file "
                      "is incomplete\n");
    mt_run_free(&r);
    mt_analyze(&r, "flamegraph", "--folded", "--diff", "/nonexistent", trace);
    cr_expect_eq(r.status, 1);
    expect_has(r.err, "cannot open trace /nonexistent");
    mt_run_free(&r);
    /* stdout on a full disk: main's check. */
    mt_run(&r, "/dev/full", (const char *[]){ANALYZE, "flamegraph", trace, NULL});
    cr_expect_eq(r.status, 1);
    expect_has(r.err, "write error on standard output");
    mt_run_free(&r);
}
