/* test-flame.c - `mtrace-analyze flamegraph` on examples/flame traced with
 * every call recorded: the folded stacks of each weight, filters and the
 * differential profile of "flame double" (one stack doubles) line for line
 * with the values flame.c lists; the SVG well-formed XML (xmllint) even
 * with C++ template names; in headless Chromium the example's functions
 * label their frames, zoom and search work (from the URL), and a real
 * mouse click (cdp-click.py, DevTools protocol) zooms. Absent tools skip.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static void setup(void)
{
    e2e_tmpdir();
}

TestSuite(flame, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 60);

/* Traces example ARGV under the shim into <tmpdir>/LABEL.<pid>; returns the
 * trace directory (malloc'd). */
static char *trace(const char *label, const char *const argv[])
{
    e2e_result_t r;
    free(e2e_traced_info(label, argv, NULL, &r));
    e2e_result_free(&r);
    char *dirs[8], *found = NULL;
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 8);
    size_t len = strlen(label);
    for (int i = 0; i < n; i++) {
        const char *base = strrchr(dirs[i], '/') + 1;
        if (strncmp(base, label, len) == 0 && base[len] == '.')
            found = strdup(dirs[i]);
    }
    e2e_free_list(dirs, n);
    cr_assert_not_null(found, "no trace %s.*", label);
    return found;
}

/* Runs mtrace-analyze flamegraph with ARGS (NULL-terminated); asserts it
 * exited 0 and returns its stdout (malloc'd). */
static char *flamegraph(const char *const *args)
{
    const char *cmd[24] = {e2e_analyze(), "flamegraph"};
    int k = 2;
    for (; *args && k < 23; args++)
        cmd[k++] = *args;
    cmd[k] = NULL;
    e2e_result_t a;
    e2e_run(&a, cmd, NULL, NULL);
    cr_assert_eq(a.exit_code, 0, "flamegraph exited %d: %s", a.exit_code, a.err);
    char *out = a.out;
    a.out = NULL;
    e2e_result_free(&a);
    return out;
}

/* The frames below main are the C runtime's and differ between libcs:
 * returns the common prefix of every line up to and including "main;"
 * (static), after checking that it holds no frame of mtrace's own. */
static const char *runtime_prefix(const char *folded)
{
    static char prefix[512];
    const char *m = strncmp(folded, "main;", 5) == 0 ? folded - 1 : strstr(folded, ";main;");
    cr_assert_not_null(m, "no main frame in:\n%s", folded);
    size_t len = (size_t)(m - folded) + 6;
    cr_assert_lt(len, sizeof(prefix));
    memcpy(prefix, folded, len);
    prefix[len] = '\0';
    cr_expect(!strstr(prefix, "mt_") && !strstr(prefix, "libmtrace"), "mtrace frames: %s", prefix);
    return prefix;
}

/* Expects FOLDED to be exactly the lines WANT[] (each after the runtime
 * prefix), in that order. */
static void expect_folded(const char *folded, const char *const *want)
{
    const char *prefix = runtime_prefix(folded);
    char expected[4096] = "";
    for (; *want; want++) {
        strcat(expected, prefix);
        strcat(expected, *want);
        strcat(expected, "\n");
    }
    cr_expect_str_eq(folded, expected);
}

Test(flame, folded_stacks_of_every_weight_are_exact)
{
    const char *argv[] = {"flame", NULL};
    char *t = trace("flame", argv);

    char *out = flamegraph((const char *[]){"--folded", t, NULL});
    expect_folded(out, (const char *[]){
        "build_index;add_entry 4096",
        "build_index;add_entry;entry_key 256", /* inlined into add_entry: a frame of its own */
        "load_config;read_line 1024",
        "serve;handle_request;make_buffer 16384",
        NULL});
    free(out);

    out = flamegraph((const char *[]){"--folded", "--weight", "count", t, NULL});
    expect_folded(out, (const char *[]){
        "build_index;add_entry 8", "build_index;add_entry;entry_key 8",
        "load_config;read_line 4", "serve;handle_request;make_buffer 16", NULL});
    free(out);

    out = flamegraph((const char *[]){"--folded", "--weight", "live", t, NULL});
    expect_folded(out, (const char *[]){
        "build_index;add_entry 4096", "build_index;add_entry;entry_key 256", NULL});
    free(out);

    /* The peak: the index and one request buffer. */
    out = flamegraph((const char *[]){"--folded", "-w", "peak", t, NULL});
    expect_folded(out, (const char *[]){
        "build_index;add_entry 4096", "build_index;add_entry;entry_key 256",
        "serve;handle_request;make_buffer 1024", NULL});
    free(out);

    out = flamegraph((const char *[]){"--folded", "-w", "temp", t, NULL});
    expect_folded(out, (const char *[]){
        "load_config;read_line 4", "serve;handle_request;make_buffer 16", NULL});
    free(out);
    free(t);
}

Test(flame, filters_are_those_of_top)
{
    const char *argv[] = {"flame", NULL};
    char *t = trace("flame", argv);
    char *out = flamegraph((const char *[]){"--folded", "--match", "^handle_", t, NULL});
    expect_folded(out, (const char *[]){"serve;handle_request;make_buffer 16384", NULL});
    free(out);
    out = flamegraph((const char *[]){"--folded", "--min-size", "512", t, NULL});
    expect_folded(out, (const char *[]){
        "build_index;add_entry 4096", "serve;handle_request;make_buffer 16384", NULL});
    free(out);
    out = flamegraph((const char *[]){"--folded", "--max-size", "256", t, NULL});
    expect_folded(out, (const char *[]){
        "build_index;add_entry;entry_key 256", "load_config;read_line 1024", NULL});
    free(out);
    free(t);
}

Test(flame, diff_of_a_doubled_stack)
{
    const char *once[] = {"flame", NULL}, *twice[] = {"flame", "double", NULL};
    char *base = trace("base", once), *grown = trace("grown", twice);
    char *out = flamegraph((const char *[]){"--folded", "--diff", base, grown, NULL});
    expect_folded(out, (const char *[]){
        "build_index;add_entry 4096 8192",
        "build_index;add_entry;entry_key 256 512",
        "load_config;read_line 1024 1024",
        "serve;handle_request;make_buffer 16384 16384",
        NULL});
    free(out);
    /* The other way round the stack shrank. */
    out = flamegraph((const char *[]){"--folded", "--diff", grown, "-w", "count", base, NULL});
    expect_folded(out, (const char *[]){
        "build_index;add_entry 16 8", "build_index;add_entry;entry_key 16 8",
        "load_config;read_line 4 4", "serve;handle_request;make_buffer 16 16", NULL});
    free(out);

    /* The SVG: widths from the new profile, red where it grew the most,
     * white where nothing changed. */
    char svg[4200];
    snprintf(svg, sizeof(svg), "%s/diff.svg", e2e_tmpdir());
    free(flamegraph((const char *[]){"--diff", base, "-o", svg, grown, NULL}));
    FILE *f = fopen(svg, "r");
    cr_assert_not_null(f);
    static char doc[1 << 20];
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    doc[n] = '\0';
    fclose(f);
    const char *bi = strstr(doc, "<title>build_index\n");
    const char *sv = strstr(doc, "<title>serve\n");
    cr_assert(bi && sv);
    /* 8704 of 26112 bytes; 4352 in the base. */
    const char *tip = "<title>build_index\nflame\n8.5 KiB (8,704 bytes), 33.3%\n"
                      "base 4.2 KiB (4,352 bytes); change +4.2 KiB (4,352 bytes)</title>";
    cr_expect(!strncmp(bi, tip, strlen(tip)), "tooltip %.*s", (int)strlen(tip), bi);
    cr_expect(!strncmp(strstr(bi, "fill="), "fill=\"rgb(255,0,0)\"", 19), "build_index grew most");
    cr_expect(!strncmp(strstr(sv, "fill="), "fill=\"rgb(255,255,255)\"", 23), "serve unchanged");
    free(base);
    free(grown);
}

/* ---- the SVG ----------------------------------------------------------------- */

/* The path of program NAME in $PATH (static), or NULL. */
static const char *in_path(const char *name)
{
    static char path[4200];
    const char *p = getenv("PATH");
    while (p && *p) {
        size_t len = strcspn(p, ":");
        snprintf(path, sizeof(path), "%.*s/%s", (int)len, p, name);
        if (access(path, X_OK) == 0)
            return path;
        p += len + (p[len] == ':');
    }
    return NULL;
}

/* Writes the flame graph of TRACE, WIDTH px wide, to <tmpdir>/NAME.svg;
 * returns its path (static). */
static const char *write_svg(const char *trace, const char *name, const char *width)
{
    static char svg[4200];
    snprintf(svg, sizeof(svg), "%s/%s.svg", e2e_tmpdir(), name);
    char *out = flamegraph((const char *[]){"-o", svg, "--width", width, trace, NULL});
    char want[4400];
    snprintf(want, sizeof(want), "wrote %s", svg);
    cr_expect(!strncmp(out, want, strlen(want)), "stdout: %s", out);
    free(out);
    return svg;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0)
        if ((n += got) + 1 == cap)
            buf = realloc(buf, cap *= 2);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

Test(flame, svg_is_well_formed_xml_with_cxx_names)
{
    const char *xmllint = in_path("xmllint");
    if (!xmllint)
        cr_skip_test("xmllint not installed (Debian: libxml2-utils; tools/install-deps)");
    char xl[4200];
    snprintf(xl, sizeof(xl), "%s", xmllint);
    const char *argv[] = {"cxx", NULL}, *fargv[] = {"flame", NULL};
    const char *traces[2] = {trace("cxx", argv), trace("flame", fargv)};
    for (int i = 0; i < 2; i++) {
        const char *svg = write_svg(traces[i], i ? "flame" : "cxx", "1200");
        e2e_result_t r;
        e2e_run(&r, (const char *[]){xl, "--noout", svg, NULL}, NULL, NULL);
        cr_expect_eq(r.exit_code, 0, "xmllint %s: %s", svg, r.err);
        cr_expect_str_empty(r.err);
        e2e_result_free(&r);
        char *doc = read_all(svg);
        int urls = 0;
        for (const char *p = doc; (p = strstr(p, "http")) != NULL; p++)
            urls++;
        cr_expect_eq(urls, 1, "only the SVG namespace names a URL");
        cr_expect(!strstr(doc, "href"), "nothing linked");
        if (i == 0) /* std::vector<int, std::allocator<int> >::push_back(int const&) */
            cr_expect(strstr(doc, "<title>std::vector&lt;int, std::allocator&lt;int&gt; "
                                  "&gt;::push_back(int const&amp;)\n"),
                      "escaped C++ name");
        free(doc);
    }
    free((void *)traces[0]);
    free((void *)traces[1]);
}

/* Loads SVG (with URL query QUERY, may be "") in headless Chromium and
 * returns the DOM after its script ran (malloc'd). */
static char *chromium_dom(const char *chromium, const char *svg, const char *query)
{
    char url[4400], profile[4200], prof_arg[4300];
    snprintf(url, sizeof(url), "file://%s%s", svg, query);
    snprintf(profile, sizeof(profile), "%s/chromium-XXXXXX", e2e_tmpdir());
    cr_assert_not_null(mkdtemp(profile));
    snprintf(prof_arg, sizeof(prof_arg), "--user-data-dir=%s", profile);
    const char *cmd[] = {chromium, "--headless", "--no-sandbox", "--disable-gpu",
                         "--disable-background-networking", "--disable-component-update",
                         "--no-first-run", prof_arg, "--dump-dom", url, NULL};
    e2e_result_t r;
    e2e_run_for(&r, cmd, NULL, NULL, 50.0);
    cr_assert_eq(r.exit_code, 0, "chromium exited %d: %s", r.exit_code, r.err);
    char *dom = r.out;
    r.out = NULL;
    e2e_result_free(&r);
    return dom;
}

/* The <g> element of the frame named NAME in DOM, up to its end (static). */
static const char *frame_of(const char *dom, const char *name)
{
    static char g[2048];
    char title[256];
    snprintf(title, sizeof(title), "<title>%s\n", name);
    const char *t = strstr(dom, title);
    cr_assert_not_null(t, "no frame %s", name);
    const char *start = t;
    while (start > dom && strncmp(start, "<g ", 3) != 0)
        start--;
    const char *end = strstr(t, "</g>");
    cr_assert_not_null(end);
    snprintf(g, sizeof(g), "%.*s", (int)(end - start), start);
    return g;
}

Test(flame, chromium_renders_functions_zoom_and_search)
{
    const char *found = in_path("chromium");
    if (!found)
        cr_skip_test("chromium not installed (Debian: chromium; tools/install-deps)");
    char chromium[4200];
    snprintf(chromium, sizeof(chromium), "%s", found);
    const char *argv[] = {"flame", NULL};
    char *t = trace("flame", argv);
    char svg[4200];
    snprintf(svg, sizeof(svg), "%s", write_svg(t, "flame", "2400"));

    /* Rendered as is: every function of the example labels its frame (at
     * 2400 px even read_line's 1024 of 21760 bytes fits its name). */
    char *dom = chromium_dom(chromium, svg, "");
    const char *names[] = {"main", "load_config", "read_line", "build_index", "add_entry",
                           "serve", "handle_request", "make_buffer"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char label[128];
        snprintf(label, sizeof(label), ">%s</text>", names[i]);
        cr_expect(strstr(dom, label), "no label %s in the DOM", names[i]);
    }
    free(dom);

    /* Zoomed into build_index (the click handler's zoom(), called from the
     * URL): it spans the 2380 px frame area, its caller main is faded at
     * full width, serve is hidden; a search for make_ covers 16384 of 21760
     * bytes. */
    dom = chromium_dom(chromium, svg, "?zoom=build_index&s=make_");
    cr_expect(strstr(dom, "mt:zoomed=\"build_index\""), "the script did not zoom");
    const char *g = frame_of(dom, "build_index");
    cr_expect(strstr(g, "<rect x=\"10.00\"") && strstr(g, "width=\"2380.00\""), "%s", g);
    g = frame_of(dom, "entry_key");
    cr_expect(strstr(g, "width=\"140.00\""), "entry_key: 256 of 4352 bytes: %s", g);
    g = frame_of(dom, "main");
    cr_expect(strstr(g, "class=\"f parent\"") && strstr(g, "width=\"2380.00\""), "%s", g);
    g = frame_of(dom, "serve");
    cr_expect(strstr(g, "class=\"f hide\""), "%s", g);
    cr_expect(strstr(dom, ">Matched: 75.3%</text>"), "search result");
    g = frame_of(dom, "make_buffer");
    cr_expect(strstr(g, "fill=\"rgb(230,0,230)\""), "make_buffer highlighted: %s", g);
    free(dom);
    free(t);
}

/* A real click: cdp-click.py moves the mouse onto build_index and clicks it
 * through the DevTools protocol, then hands back the document. */
Test(flame, chromium_click_zooms_and_hover_shows_details)
{
    const char *found = in_path("chromium");
    if (!found)
        cr_skip_test("chromium not installed (Debian: chromium; tools/install-deps)");
    char chromium[4200], python[4200];
    snprintf(chromium, sizeof(chromium), "%s", found);
    if (!(found = in_path("python3")))
        cr_skip_test("python3 not installed");
    snprintf(python, sizeof(python), "%s", found);
    const char *script = getenv("MTRACE_CDP_CLICK");
    cr_assert_not_null(script, "MTRACE_CDP_CLICK not set (tests/e2e/meson.build)");
    const char *argv[] = {"flame", NULL};
    char *t = trace("flame", argv);
    char svg[4200];
    snprintf(svg, sizeof(svg), "%s", write_svg(t, "flame", "1200"));

    e2e_result_t r;
    e2e_run_for(&r, (const char *[]){python, script, chromium, svg, "build_index", NULL},
                NULL, NULL, 55.0);
    cr_assert_eq(r.exit_code, 0, "cdp-click.py exited %d: %s", r.exit_code, r.err);
    const char *dom = r.out;
    cr_expect(strstr(dom, "mt:zoomed=\"build_index\""), "the click did not zoom");
    const char *g = frame_of(dom, "build_index");
    cr_expect(strstr(g, "<rect x=\"10.00\"") && strstr(g, "width=\"1180.00\""), "%s", g);
    g = frame_of(dom, "make_buffer");
    cr_expect(strstr(g, "class=\"f hide\""), "%s", g);
    cr_expect(strstr(dom, "<text id=\"unzoom\" class=\"button\""), "Reset zoom shown");
    cr_expect(strstr(dom, ">build_index  flame  4.2 KiB (4,352 bytes), 20.0%</text>"),
              "hover details line");
    e2e_result_free(&r);
    free(t);
}

/* The sampled half of each allocating hook starts the stack capture at the
 * hook's caller (internal.h, MT__CALLER): under every entry point, the
 * first frame is the function that called it, with no frame of mtrace's
 * and none lost. examples/entry_points calls each once with a size of its
 * own, from c_family (C) and cxx_family (C++), both under main. */
Test(flame, each_allocating_entry_point_has_its_caller_as_first_frame)
{
    const char *argv[] = {"entry_points", NULL};
    char *t = trace("entry_points", argv);
    static const struct {
        const char *size, *caller;
    } calls[] = {
        {"101", "c_family"},   /* malloc */
        {"111", "c_family"},   /* calloc */
        {"121", "c_family"},   /* realloc */
        {"133", "c_family"},   /* reallocarray */
        {"141", "c_family"},   /* memalign */
        {"151", "c_family"},   /* posix_memalign */
        {"161", "c_family"},   /* valloc */
        {"171", "c_family"},   /* pvalloc */
        {"192", "c_family"},   /* aligned_alloc */
        {"181", "cxx_family"}, /* operator new, and the other seven */
        {"201", "cxx_family"}, {"221", "cxx_family"}, {"241", "cxx_family"},
        {"191", "cxx_family"}, {"211", "cxx_family"}, {"231", "cxx_family"},
        {"251", "cxx_family"},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        char *out = flamegraph((const char *[]){"--folded", "--min-size", calls[i].size,
                                                "--max-size", calls[i].size, t, NULL});
        char line[64];
        snprintf(line, sizeof line, "%s %s", calls[i].caller, calls[i].size);
        expect_folded(out, (const char *[]){line, NULL});
        free(out);
    }
    free(t);
}

/* Callers built with frame pointers (their frames' CFA is on rbp, so the
 * rbp the capture starts from must be the caller's), in two threads: every
 * allocation of the workers is under work, in the recursion of step_a and
 * step_b that examples/bench_alloc.c makes, each stack whole: 4746 calls
 * on 9 stacks for "2 3000" (its generator is seeded). */
Test(flame, frame_pointer_callers_in_threads_have_whole_stacks)
{
    const char *argv[] = {"bench_alloc_fp", "2", "3000", NULL};
    char *t = trace("bench_alloc_fp", argv);
    char *out = flamegraph((const char *[]){"--folded", "--weight", "count", t, NULL});
    long long total = 0;
    int stacks = 0;
    for (char *line = out, *next; *line; line = next) {
        next = strchr(line, '\n');
        cr_assert_not_null(next, "unterminated line: %s", line);
        *next++ = '\0';
        char *work = strstr(line, "start_thread;work");
        if (!work)
            continue;
        char *frames = work + strlen("start_thread;work"), *value = strrchr(line, ' ');
        cr_assert_not_null(value);
        *value = '\0';
        for (char *f = frames; *f; f += strlen(";step_a"))
            cr_assert(strncmp(f, ";step_a", 7) == 0 || strncmp(f, ";step_b", 7) == 0,
                      "a frame that is not step_a or step_b under work: %s", line);
        total += atoll(value + 1);
        stacks++;
    }
    cr_expect_eq(total, 4746, "%lld allocations under work, want 4746", total);
    cr_expect_eq(stacks, 9, "%d stacks under work, want 9", stacks);
    free(out);
    free(t);
}
