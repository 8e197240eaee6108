/* test-report.c - `mtrace-analyze report -o FILE.html` end to end: the HTML
 * report of examples/kvstore's leak phase (MTRACE_SAMPLE=all) opened in
 * headless Chromium by cdp-report.py: no console error, nothing loaded from
 * outside, the totals in the DOM equal `info --json`, a click on a flame
 * graph frame zooms it, and the top table sorts both ways; and the file
 * itself: self-contained, capped by --max-stacks with the cut said. */
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

TestSuite(report, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 150);

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

/* kvstore leak under the shim; its trace directory (malloc'd). */
static char *traced(void)
{
    char out[4200];
    snprintf(out, sizeof(out), "MTRACE_OUT=%s/leak.%%p", e2e_tmpdir());
    const char *env[] = {"MTRACE_FLUSH_MS=20", out, NULL};
    e2e_proc_t p;
    e2e_result_t r;
    cr_assert_eq(e2e_start_traced(&p, (const char *const[]){"kvstore", "leak", NULL}, env), 0);
    e2e_wait(&p, &r, 60);
    cr_assert_eq(r.exit_code, 0, "kvstore exited %d: %s", r.exit_code, r.err);
    e2e_result_free(&r);
    char *dirs[4];
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 4);
    cr_assert_eq(n, 1, "want one trace, found %d", n);
    char *t = strdup(dirs[0]);
    e2e_free_list(dirs, n);
    return t;
}

/* Writes the report of TRACE with EXTRA options (NULL-terminated, up to 4)
 * to <tmpdir>/NAME; returns the file's text (malloc'd) and its path in PATH. */
static char *write_report(const char *trace, const char *name, const char *const extra[],
                          char path[4200])
{
    snprintf(path, 4200, "%s/%s", e2e_tmpdir(), name);
    const char *argv[12] = {e2e_analyze(), "report", "-o", path};
    int n = 4;
    for (; extra && *extra && n < 9; extra++)
        argv[n++] = *extra;
    argv[n++] = trace;
    argv[n] = NULL;
    e2e_result_t r;
    e2e_run_for(&r, argv, NULL, NULL, 60);
    cr_assert_eq(r.exit_code, 0, "report exited %d: %s", r.exit_code, r.err);
    e2e_result_free(&r);
    FILE *f = fopen(path, "r");
    cr_assert(f, "no %s", path);
    char *text = NULL;
    size_t cap = 0;
    ssize_t len = getdelim(&text, &cap, '\0', f);
    fclose(f);
    cr_assert(len > 0);
    return text;
}

/* The integers of the JSON array at ARR, into V[MAX]; returns how many. */
static int ints(const char *arr, long long *v, int max)
{
    int n = 0;
    for (const char *e; n < max && (e = e2e_json_at(arr, n)); n++)
        v[n] = strtoll(e, NULL, 10);
    return n;
}

Test(report, chromium_loads_totals_zoom_and_sort)
{
    const char *found = in_path("chromium");
    if (!found)
        cr_skip_test("chromium not installed (Debian: chromium; tools/install-deps)");
    char chromium[4200], python[4200], path[4200];
    snprintf(chromium, sizeof(chromium), "%s", found);
    if (!(found = in_path("python3")))
        cr_skip_test("python3 not installed");
    snprintf(python, sizeof(python), "%s", found);
    const char *script = getenv("MTRACE_CDP_REPORT");
    cr_assert_not_null(script, "MTRACE_CDP_REPORT not set (tests/e2e/meson.build)");

    char *trace = traced();
    char *html = write_report(trace, "report.html", NULL, path);
    free(html);
    char *info = e2e_info(trace);

    e2e_result_t r;
    e2e_run_for(&r, (const char *[]){python, script, chromium, path, NULL}, NULL, NULL, 55.0);
    cr_assert_eq(r.exit_code, 0, "cdp-report.py exited %d: %s", r.exit_code, r.err);
    const char *doc = r.out;
    const char *errors = e2e_json_get(doc, "errors");
    cr_expect(errors && strncmp(errors, "[]", 2) == 0, "console errors: %s", doc);
    const char *ext = e2e_json_get(doc, "external");
    cr_expect(ext && strncmp(ext, "[]", 2) == 0, "external resources: %s", doc);
    const char *totals = e2e_json_get(doc, "totals");
    cr_assert(totals, "%s", doc);
    for (const char *const *k = (const char *const[]){"alloc_calls", "alloc_bytes", "free_calls",
                                                      NULL};
         *k; k++)
        cr_expect_eq(e2e_int(totals, *k), e2e_int(info, *k), "%s: page %lld, info %lld", *k,
                     e2e_int(totals, *k), e2e_int(info, *k));
    /* kvstore leak: 512 + 32 * (256 + 256) values. */
    cr_expect_eq(e2e_int(totals, "alloc_calls"), 512 + 32 * 512);
    cr_expect_str_eq(e2e_str(doc, "verdict"), "bad");
    char clicked[256];
    cr_assert(e2e_json_str(doc, "clicked", clicked, sizeof(clicked)), "%s", doc);
    cr_expect_str_eq(e2e_str(doc, "zoomed"), clicked, "the click did not zoom: %s", doc);
    long long before[8], desc[8], asc[8];
    int n = ints(e2e_json_get(doc, "calls_before"), before, 8);
    cr_assert_eq(n, 2, "%s", doc); /* the fill's stack and the steps' stack */
    cr_expect_eq(ints(e2e_json_get(doc, "calls_desc"), desc, 8), 2);
    cr_expect_eq(ints(e2e_json_get(doc, "calls_asc"), asc, 8), 2);
    cr_expect(desc[0] == 32 * 512 && desc[1] == 512, "desc %lld %lld", desc[0], desc[1]);
    cr_expect(asc[0] == 512 && asc[1] == 32 * 512, "asc %lld %lld", asc[0], asc[1]);
    e2e_result_free(&r);
    free(info);
    free(trace);
}

Test(report, self_contained_and_capped)
{
    char path[4200];
    char *trace = traced();
    char *html = write_report(trace, "capped.html", (const char *const[]){"--max-stacks", "1", NULL},
                              path);
    cr_expect(!strstr(html, "http:") && !strstr(html, "https:"), "a URL in the page");
    cr_expect(!strstr(html, "<link") && !strstr(html, "@import") && !strstr(html, "url("),
              "an external resource");
    cr_expect(strstr(html, "Tables and flame graphs hold at most 1 stacks each."), "cap said");
    cr_expect(strstr(html, "1 of 2 stacks shown"), "top's cut said");
    cr_expect(strstr(html, "The 1 heaviest of 2 stacks per weight"), "flame graph's cut said");
    /* One flame graph per weight, the first shown, the others loaded on demand. */
    int frames = 0;
    for (const char *p = html; (p = strstr(p, "<iframe class=\"flame")); p++)
        frames++;
    cr_expect_eq(frames, 4);
    cr_expect(strstr(html, "data-weight=\"bytes\" height="), "bytes first");
    cr_expect(strstr(html, "<tr data-name=\"growth\"><td><span class=\"v v-bad\">bad</span>"),
              "the growth finding is bad");
    /* Without -o the same page goes to stdout. */
    e2e_result_t r;
    e2e_run_for(&r, (const char *[]){e2e_analyze(), "report", "--max-stacks", "1", trace, NULL},
                NULL, NULL, 60);
    cr_expect_eq(r.exit_code, 0, "%s", r.err);
    cr_expect(strncmp(r.out, "<!DOCTYPE html>\n", 16) == 0 && strstr(r.out, "</html>\n") &&
                  strstr(r.out, "1 of 2 stacks shown"),
              "%.200s", r.out);
    e2e_result_free(&r);
    free(html);
    free(trace);
}
