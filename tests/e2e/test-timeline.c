/* test-timeline.c - `mtrace-analyze timeline` on examples/phases_frag (known
 * heap phases, each held 600 ms) and examples/numa_pool (a pool on 64 KiB
 * chunks), traced for real. Timing-robust: the rows are 50 ms, a phase
 * spans at least 11 of them, and the tests compare the sequence of plateaus
 * (values held for >= 6 consecutive rows, 300 ms: longer than a phase
 * change takes even on a loaded machine), never a value at a given time.
 * Exact: the live heap, its objects and the mapped bytes of each plateau,
 * the per-row calls summing to the exact counters, the stacks that grew,
 * the pool's chunks (the count the example prints); within stated bounds:
 * RSS and the fragmentation ratio; the CSV header byte for byte; the SVG
 * well-formed XML (xmllint) and self-contained; a trace read while written.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define MiB (1024.0 * 1024.0)
#define PLATEAU_ROWS 6

static char phases[4200], sampled[4200], pool[4200];
static long long pool_chunks; /* numa_pool's own count of its chunks */

static void record(char *out, const char *label, const char *const argv[], const char *env2)
{
    char o[4300];
    snprintf(out, 4200, "%s/%s", e2e_tmpdir(), label);
    snprintf(o, sizeof o, "MTRACE_OUT=%s", out);
    const char *env[] = {o, env2, NULL};
    e2e_result_t r;
    e2e_proc_t p;
    cr_assert_eq(e2e_start_traced(&p, argv, env), 0);
    e2e_wait(&p, &r, 30.0);
    cr_assert(!r.timed_out, "%s timed out", label);
    cr_assert_eq(r.exit_code, 0, "%s exited %d: %s", label, r.exit_code, r.err);
    if (strcmp(label, "pool") == 0) {
        const char *c = strstr(r.out, "rounding waste, ");
        cr_assert_not_null(c, "numa_pool printed: %s", r.out);
        pool_chunks = atoll(c + strlen("rounding waste, "));
    }
    e2e_result_free(&r);
}

static void make_traces(void)
{
    record(phases, "phases", (const char *[]){"phases_frag", NULL}, NULL);
    record(sampled, "sampled", (const char *[]){"phases_frag", "300", NULL},
           "MTRACE_SAMPLE=512K");
    record(pool, "pool", (const char *[]){"numa_pool", NULL}, NULL);
}

TestSuite(timeline, .init = make_traces, .fini = e2e_tmpdir_remove, .timeout = 120);

/* Runs `mtrace-analyze timeline ARGS...`; asserts exit 0; returns stdout. */
static char *timeline(const char *const args[])
{
    const char *argv[16] = {e2e_analyze(), "timeline"};
    int n = 2;
    for (; args[n - 2] && n < 15; n++)
        argv[n] = args[n - 2];
    argv[n] = NULL;
    e2e_result_t r;
    e2e_run(&r, argv, NULL, NULL);
    cr_assert_eq(r.exit_code, 0, "timeline exited %d: %s", r.exit_code, r.err);
    free(r.err);
    return r.out;
}

/* ---- CSV ------------------------------------------------------------------ */

#define MAX_ROWS 4096
#define MAX_COLS 24

typedef struct csv {
    char *text;
    char *header;
    int nrows, ncols;
    char *cell[MAX_ROWS][MAX_COLS];
} csv_t;

static void csv_parse(csv_t *c, char *text)
{
    memset(c, 0, sizeof(*c));
    c->text = text;
    char *save, *line = strtok_r(text, "\n", &save);
    cr_assert_not_null(line);
    c->header = line;
    for (const char *p = line; *p; p++)
        c->ncols += *p == ',';
    c->ncols++;
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        cr_assert_lt(c->nrows, MAX_ROWS);
        int k = 0;
        char *p = line;
        for (;;) {
            cr_assert_lt(k, MAX_COLS);
            c->cell[c->nrows][k++] = p;
            char *comma = strchr(p, ',');
            if (!comma)
                break;
            *comma = '\0';
            p = comma + 1;
        }
        cr_assert_eq(k, c->ncols, "row %d has %d cells, the header %d", c->nrows, k, c->ncols);
        c->nrows++;
    }
}

static int col(const csv_t *c, const char *name)
{
    /* The header was split by strtok on '\n' only: find NAME between commas. */
    int k = 0;
    size_t len = strlen(name);
    for (const char *p = c->header;; k++) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == len && !memcmp(p, name, len))
            return k;
        if (!e)
            break;
        p = e + 1;
    }
    cr_assert_fail("no column %s in %s", name, c->header);
    return -1;
}

static unsigned long long u(const csv_t *c, int row, int k)
{
    return strtoull(c->cell[row][k], NULL, 10);
}

/* The values of column K held for PLATEAU_ROWS rows or more, in order,
 * consecutive repeats merged, into OUT[MAX]; returns how many. */
static int plateaus(const csv_t *c, int k, unsigned long long *out, int max)
{
    int n = 0;
    for (int i = 0; i < c->nrows;) {
        int j = i;
        while (j < c->nrows && u(c, j, k) == u(c, i, k))
            j++;
        if (j - i >= PLATEAU_ROWS && (n == 0 || out[n - 1] != u(c, i, k))) {
            cr_assert_lt(n, max);
            out[n++] = u(c, i, k);
        }
        i = j;
    }
    return n;
}

/* The last row of the first plateau of column K at value V. */
static int plateau_end(const csv_t *c, int k, unsigned long long v)
{
    for (int i = 0; i < c->nrows;) {
        int j = i;
        while (j < c->nrows && u(c, j, k) == u(c, i, k))
            j++;
        if (j - i >= PLATEAU_ROWS && u(c, i, k) == v)
            return j - 1;
        i = j;
    }
    cr_assert_fail("no plateau at %llu", v);
    return -1;
}

#define EXPECT_SEQ(c, name, ...)                                                        \
    do {                                                                                \
        const unsigned long long want[] = {__VA_ARGS__};                                \
        unsigned long long got[16];                                                     \
        int n = plateaus(c, col(c, name), got, 16);                                     \
        int nw = (int)(sizeof want / sizeof want[0]);                                   \
        cr_expect_eq(n, nw, "%s: %d plateaus, want %d", name, n, nw);                   \
        for (int i_ = 0; i_ < n && i_ < nw; i_++)                                       \
            cr_expect_eq(got[i_], want[i_], "%s plateau %d: %llu, want %llu", name, i_, \
                         got[i_], want[i_]);                                            \
    } while (0)

Test(timeline, csv_header_is_exact)
{
    char *out = timeline((const char *[]){"--csv", phases, NULL});
    const char *h = "time_s,rss_bytes,heap_bytes,heap_bytes_error,heap_objects,"
                    "heap_objects_error,mapped_bytes,alloc_calls_per_s,alloc_bytes_per_s,"
                    "free_calls_per_s,free_bytes_per_s,fragmentation,fragmentation_low,"
                    "fragmentation_high\n";
    cr_expect_eq(strncmp(out, h, strlen(h)), 0, "header: %.300s", out);
    free(out);
    /* --help lists the same columns (wrapped). */
    char *help = timeline((const char *[]){"--help", NULL});
    const char *p = strstr(help, "CSV columns (--csv)");
    cr_assert_not_null(p);
    p = strchr(p, '\n') + 1;
    const char *end = strstr(p, "  then with --pool");
    cr_assert_not_null(end);
    char cols[512];
    size_t n = 0;
    for (; p < end && n + 1 < sizeof cols; p++)
        if (*p != ' ' && *p != '\n')
            cols[n++] = *p;
    cols[n] = '\0';
    cr_expect_eq(strncmp(cols, h, strlen(h) - 1), 0, "--help lists %s", cols);
    cr_expect_eq(strlen(cols), strlen(h) - 1);
    free(help);
    out = timeline((const char *[]){"--csv", "--pool", "kv", "--stacks", "2", pool, NULL});
    const char *h2 = "time_s,rss_bytes,heap_bytes,heap_bytes_error,heap_objects,"
                     "heap_objects_error,mapped_bytes,alloc_calls_per_s,alloc_bytes_per_s,"
                     "free_calls_per_s,free_bytes_per_s,fragmentation,fragmentation_low,"
                     "fragmentation_high,pool_bytes,"
                     "pool_chunk_bytes,stack_1_bytes,stack_2_bytes\n";
    cr_expect_eq(strncmp(out, h2, strlen(h2)), 0, "header: %.300s", out);
    free(out);
}

Test(timeline, heap_and_mapped_plateaus_are_exact)
{
    csv_t *c = malloc(sizeof(*c));
    csv_parse(c, timeline((const char *[]){"--csv", "--interval", "50ms", phases, NULL}));
    EXPECT_SEQ(c, "heap_bytes", 0, 10485760, 5242880, 5882880);
    EXPECT_SEQ(c, "heap_objects", 0, 160, 80, 20080);
    EXPECT_SEQ(c, "mapped_bytes", 0, 2097152, 0);
    int e1 = col(c, "heap_bytes_error"), e2 = col(c, "heap_objects_error");
    int f = col(c, "fragmentation"), fl = col(c, "fragmentation_low");
    int fh = col(c, "fragmentation_high");
    for (int i = 0; i < c->nrows; i++) {
        cr_expect(u(c, i, e1) == 0 && u(c, i, e2) == 0, "row %d: an error bound when exact", i);
        cr_expect_str_eq(c->cell[i][fl], c->cell[i][f], "row %d: exact, no range", i);
        cr_expect_str_eq(c->cell[i][fh], c->cell[i][f], "row %d: exact, no range", i);
    }
    /* 4 phases of 600 ms: at least 2.4 s of 50 ms rows; the last is partial. */
    cr_expect_geq(c->nrows, 48);
    double last = strtod(c->cell[c->nrows - 1][0], NULL);
    double prev = strtod(c->cell[c->nrows - 2][0], NULL);
    cr_expect(fabs(prev - 0.05 * (c->nrows - 1)) < 1e-9, "row ends every 50 ms: %f", prev);
    cr_expect(last > prev && last <= prev + 0.05, "the last row ends the trace: %f", last);
    free(c->text);
    free(c);
}

Test(timeline, rss_and_fragmentation_within_bounds)
{
    csv_t *c = malloc(sizeof(*c));
    csv_parse(c, timeline((const char *[]){"--csv", "--interval", "50ms", phases, NULL}));
    int heap = col(c, "heap_bytes"), rss = col(c, "rss_bytes"), frag = col(c, "fragmentation");
    /* Phase 1: 10 MiB of blocks and a 2 MiB region, every byte written:
     * RSS holds them plus the runtime, the libraries and the shim's own
     * rings and map (a few MiB). */
    int r1 = plateau_end(c, heap, 10485760);
    double rss1 = (double)u(c, r1, rss), f1 = strtod(c->cell[r1][frag], NULL);
    cr_expect(rss1 >= 12 * MiB && rss1 <= 24 * MiB, "phase 1 RSS %.1f MiB", rss1 / MiB);
    cr_expect(f1 >= 1.0 && f1 <= 2.0, "phase 1 fragmentation %.3f", f1);
    cr_expect(fabs(f1 - rss1 / (12 * MiB)) < 0.001, "fragmentation = RSS / (heap + mapped)");
    /* Phase 2: half the blocks freed, pages kept by glibc: RSS stays above
     * the 10 MiB the blocks touched, the heap is 5 MiB: severe. */
    int r2 = plateau_end(c, heap, 5242880);
    double rss2 = (double)u(c, r2, rss), f2 = strtod(c->cell[r2][frag], NULL);
    cr_expect(rss2 >= 10 * MiB && rss2 <= 22 * MiB, "phase 2 RSS %.1f MiB", rss2 / MiB);
    cr_expect(f2 >= 2.0 && f2 <= 4.4, "phase 2 fragmentation %.3f", f2);
    /* Phase 3: small objects fill some holes; still severe. */
    int r3 = c->nrows - 1;
    double rss3 = (double)u(c, r3, rss), f3 = strtod(c->cell[r3][frag], NULL);
    cr_expect(rss3 >= 10 * MiB && rss3 <= 24 * MiB, "phase 3 RSS %.1f MiB", rss3 / MiB);
    cr_expect(f3 >= 10485760.0 / 5882880 && f3 <= 4.3, "phase 3 fragmentation %.3f", f3);
    free(c->text);
    free(c);

    char *js = timeline((const char *[]){"--json", phases, NULL});
    cr_expect_str_eq(e2e_str(js, "verdict"), "severe");
    cr_expect_eq(e2e_bool(js, "estimated"), false);
    free(js);
}

/* The text report of an exact trace ends with one fragmentation verdict,
 * never "unknown" after a known ratio (the exact case has no bound line). */
Test(timeline, text_ends_with_one_fragmentation_verdict)
{
    char *txt = timeline((const char *[]){phases, NULL});
    const char *v = strstr(txt, "\nfragmentation (RSS / (heap + mapped)) at the end ");
    cr_assert_not_null(v, "%s", txt);
    cr_expect(strstr(v, ": severe (") != NULL, "%s", v);
    cr_expect_null(strstr(txt, "fragmentation: unknown"), "%s", v);
    cr_expect_null(strstr(txt, "95% bound"), "exact: no bound line: %s", v);
    cr_expect_eq(strchr(v + 1, '\n')[1], '\0', "the verdict is the last line: %s", v);
    free(txt);
}

/* Per-row calls and bytes add up to the exact counters of the trace. */
Test(timeline, rates_sum_to_the_exact_counters)
{
    char *js = timeline((const char *[]){"--json", "--interval", "50ms", phases, NULL});
    cr_expect_eq(e2e_int(js, "exact_alloc_calls"), 20160);
    cr_expect_eq(e2e_int(js, "exact_alloc_bytes"), 11125760);
    cr_expect_eq(e2e_int(js, "exact_free_calls"), 80);
    cr_expect_eq(e2e_int(js, "interval_ns"), 50000000);
    const char *rows = e2e_json_get(js, "rows");
    cr_assert_not_null(rows);
    long long ac = 0, ab = 0, fc = 0, fb = 0, n = 0, nrows = e2e_int(js, "rows_count");
    for (const char *r; (r = e2e_json_at(rows, (int)n)) != NULL; n++) {
        long long a = e2e_int(r, "alloc_calls"), start = e2e_int(r, "start_ns");
        long long end = e2e_int(r, "end_ns");
        ac += a;
        ab += e2e_int(r, "alloc_bytes");
        cr_expect_eq(e2e_int(r, "alloc_calls_error") + e2e_int(r, "alloc_bytes_error") +
                         e2e_int(r, "free_calls_error") + e2e_int(r, "free_bytes_error"),
                     0, "row %lld: exact counts have no bound", n);
        fc += e2e_int(r, "free_calls");
        fb += e2e_int(r, "free_bytes");
        long long ps = e2e_int(r, "alloc_calls_per_s");
        cr_expect(llabs(ps - (long long)((double)a * 1e9 / (double)(end - start) + 0.5)) <= 1,
                  "row %lld: %lld calls/s for %lld calls", n, ps, a);
    }
    cr_expect_eq(n, nrows);
    cr_expect_eq(ac, 20160);
    cr_expect_eq(ab, 11125760);
    cr_expect_eq(fc, 80);
    cr_expect_eq(fb, 80 * 65536);
    free(js);
}

Test(timeline, stacks_that_grew_most)
{
    char *js = timeline((const char *[]){"--json", "--stacks", "2", phases, NULL});
    const char *st = e2e_json_get(js, "stacks");
    cr_assert_not_null(st);
    const char *s1 = e2e_json_at(st, 0), *s2 = e2e_json_at(st, 1);
    cr_assert(s1 && s2);
    cr_expect_eq(strncmp(e2e_str(s1, "label"), "make_blocks (phases_frag.c:", 27), 0, "%s",
                 e2e_str(s1, "label"));
    cr_expect_eq(e2e_int(s1, "growth_bytes"), 5242880);
    cr_expect_eq(e2e_int(s1, "peak_bytes"), 10485760);
    cr_expect_eq(strncmp(e2e_str(s2, "label"), "make_small (phases_frag.c:", 26), 0, "%s",
                 e2e_str(s2, "label"));
    cr_expect_eq(e2e_int(s2, "growth_bytes"), 640000);
    free(js);
    csv_t *c = malloc(sizeof(*c));
    csv_parse(c, timeline((const char *[]){"--csv", "--interval", "50ms", "--stacks", "2",
                                           phases, NULL}));
    EXPECT_SEQ(c, "stack_1_bytes", 0, 10485760, 5242880);
    EXPECT_SEQ(c, "stack_2_bytes", 0, 640000);
    free(c->text);
    free(c);
}

/* The pool's chunks are the regions its objects lie in: numa_pool's 64 KiB
 * chunks, as many as it says it made; its requested bytes fit in them. */
Test(timeline, pool_against_its_chunks)
{
    cr_assert_gt(pool_chunks, 0);
    /* Rows of a 2000th of the run, whatever its speed: the chunks stay at
     * their peak while 2000 entries are deleted, a fifth of the run. */
    char *js = timeline((const char *[]){"--json", "--interval", "1min", pool, NULL});
    long long span = e2e_int(js, "span_ns");
    free(js);
    char iv[32];
    snprintf(iv, sizeof iv, "%lldns", span / 2000 > 0 ? span / 2000 : 1);
    csv_t *c = malloc(sizeof(*c));
    csv_parse(c, timeline((const char *[]){"--csv", "--pool", "kv", "--interval", iv, pool,
                                           NULL}));
    int pb = col(c, "pool_bytes"), pc = col(c, "pool_chunk_bytes"), mb = col(c, "mapped_bytes");
    unsigned long long max_chunks = 0, max_pool = 0, max_mapped = 0;
    for (int i = 0; i < c->nrows; i++) {
        cr_expect_geq(u(c, i, pc), u(c, i, pb), "row %d: pool bytes outside its chunks", i);
        cr_expect_eq(u(c, i, pc) % 65536, 0, "row %d: chunks are 64 KiB", i);
        max_chunks = u(c, i, pc) > max_chunks ? u(c, i, pc) : max_chunks;
        max_pool = u(c, i, pb) > max_pool ? u(c, i, pb) : max_pool;
        max_mapped = u(c, i, mb) > max_mapped ? u(c, i, mb) : max_mapped;
    }
    cr_expect_eq(max_chunks, (unsigned long long)pool_chunks * 65536);
    cr_expect_eq(max_mapped, max_chunks, "its chunks are the program's only mappings");
    cr_expect_gt(max_pool, 0);
    cr_expect_eq(u(c, c->nrows - 1, pb), 0, "FLUSHALL frees every object");
    cr_expect_eq(u(c, c->nrows - 1, pc), 0, "the pool gives its chunks back");
    free(c->text);
    free(c);
}

Test(timeline, sampled_heap_is_labelled_with_its_bound)
{
    char *js = timeline((const char *[]){"--json", sampled, NULL});
    cr_expect_eq(e2e_bool(js, "estimated"), true);
    const char *rows = e2e_json_get(js, "rows");
    cr_assert_not_null(rows);
    long long bounded = 0;
    const char *r;
    for (int i = 0; (r = e2e_json_at(rows, i)) != NULL; i++)
        bounded += e2e_int(r, "heap_bytes") > 0 && e2e_int(r, "heap_bytes_error") > 0;
    cr_expect_gt(bounded, 0, "an estimated heap carries its error bound");
    /* The ratio's range follows the heap's bound: low <= ratio <= high. */
    long ranged = 0;
    for (int i = 0; (r = e2e_json_at(rows, i)) != NULL; i++) {
        const char *fv = e2e_json_get(r, "fragmentation");
        const char *lo = e2e_json_get(r, "fragmentation_low");
        const char *hi = e2e_json_get(r, "fragmentation_high");
        cr_assert(fv && lo && hi);
        if (*fv == 'n' || *hi == 'n')
            continue;
        double x = strtod(fv, NULL), l = strtod(lo, NULL), h = strtod(hi, NULL);
        cr_expect(l <= x && x <= h, "row %d: %f not in [%f, %f]", i, x, l, h);
        ranged += e2e_int(r, "heap_bytes_error") > 0 && l < x && x < h;
    }
    cr_expect_gt(ranged, 0, "an estimated ratio has a range");
    long rates = 0;
    for (int i = 0; (r = e2e_json_at(rows, i)) != NULL; i++)
        rates += e2e_int(r, "alloc_calls") > 0 && e2e_int(r, "alloc_calls_error") > 0 &&
                 e2e_int(r, "alloc_bytes_error") > 0;
    cr_expect_gt(rates, 0, "estimated allocation counts carry their bound");
    free(js);
    char svg[4300];
    snprintf(svg, sizeof svg, "%s/sampled.svg", e2e_tmpdir());
    free(timeline((const char *[]){"--svg", svg, sampled, NULL}));
    FILE *f = fopen(svg, "r");
    cr_assert_not_null(f);
    static char doc[1 << 21];
    doc[fread(doc, 1, sizeof doc - 1, f)] = '\0';
    fclose(f);
    cr_expect(strstr(doc, "<polygon") != NULL, "sampled: the heap's bound as a band");
    cr_expect(strstr(doc, "live heap (estimate") != NULL, "sampled: labelled an estimate");
    char *txt = timeline((const char *[]){sampled, NULL});
    cr_expect(strstr(txt, "estimates") != NULL, "%.400s", txt);
    cr_expect(strstr(txt, "\u00b1") != NULL, "an estimate is printed with its bound");
    free(txt);
}

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

Test(timeline, svg_is_self_contained_xml)
{
    char svg[4300];
    snprintf(svg, sizeof svg, "%s/phases.svg", e2e_tmpdir());
    free(timeline((const char *[]){"--stacks", "2", "--svg", svg, phases, NULL}));
    FILE *f = fopen(svg, "r");
    cr_assert_not_null(f);
    static char doc[1 << 21];
    size_t n = fread(doc, 1, sizeof doc - 1, f);
    fclose(f);
    doc[n] = '\0';
    int lines = 0, titles = 0, urls = 0;
    for (const char *p = doc; (p = strstr(p, "<polyline")) != NULL; p++)
        lines++;
    for (const char *p = doc; (p = strstr(p, "<title>")) != NULL; p++)
        titles++;
    for (const char *p = doc; (p = strstr(p, "http")) != NULL; p++)
        urls++;
    /* RSS, heap, mapped, fragmentation and the 2 stacks. */
    cr_expect_eq(lines, 6);
    cr_expect_gt(titles, 100, "a tooltip per row");
    cr_expect_eq(urls, 1, "only the SVG namespace names a URL");
    cr_expect(!strstr(doc, "<script") && !strstr(doc, "href"), "nothing run or linked");
    cr_expect(strstr(doc, "make_blocks") != NULL, "the stacks are named");
    cr_expect(!strstr(doc, "<polygon"), "exact: no band around the heap");
    const char *xmllint = in_path("xmllint");
    if (!xmllint)
        cr_skip_test("xmllint not installed (Debian: libxml2-utils; tools/install-deps)");
    char xl[4200];
    snprintf(xl, sizeof xl, "%s", xmllint);
    e2e_result_t r;
    e2e_run(&r, (const char *[]){xl, "--noout", svg, NULL}, NULL, NULL);
    cr_expect_eq(r.exit_code, 0, "xmllint %s: %s", svg, r.err);
    cr_expect_str_empty(r.err);
    e2e_result_free(&r);
}

/* A trace still being written: the rows reach its last committed tick.
 * Polls until phase 1 (held 3 s) shows, while the program still runs. */
Test(timeline, reads_a_trace_still_being_written)
{
    char live[4300], out[4400];
    snprintf(live, sizeof live, "%s/live", e2e_tmpdir());
    snprintf(out, sizeof out, "MTRACE_OUT=%s", live);
    const char *env[] = {out, NULL};
    e2e_proc_t p;
    cr_assert_eq(e2e_start_traced(&p, (const char *[]){"phases_frag", "3000", NULL}, env), 0);
    bool seen = false, complete = true;
    for (int i = 0; i < 200 && !seen; i++) {
        usleep(100000);
        const char *argv[] = {e2e_analyze(), "timeline", "--json", live, NULL};
        e2e_result_t r;
        e2e_run(&r, argv, NULL, NULL);
        if (r.exit_code == 0) {
            const char *rows = e2e_json_get(r.out, "rows");
            long long n = e2e_int(r.out, "rows_count");
            const char *last = rows ? e2e_json_at(rows, (int)n - 1) : NULL;
            if (last && e2e_int(last, "heap_bytes") == 10485760) {
                seen = true;
                complete = e2e_bool(r.out, "complete");
            }
        }
        e2e_result_free(&r);
    }
    e2e_result_t r;
    e2e_wait(&p, &r, 30.0);
    cr_expect_eq(r.exit_code, 0, "phases_frag: %s", r.err);
    e2e_result_free(&r);
    cr_expect(seen, "phase 1 never showed in the live trace");
    cr_expect_not(complete, "seen while the program still ran");
}

Test(timeline, usage_errors)
{
    static const char *const bad[][2] = {
        {"--interval", "0"}, {"--interval", "5 parsecs"}, {"--csv", "--json"}, {"--stacks", "-1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *argv[] = {e2e_analyze(), "timeline", bad[i][0], bad[i][1], phases, NULL};
        e2e_result_t r;
        e2e_run(&r, argv, NULL, NULL);
        cr_expect_eq(r.exit_code, 2, "%s %s: exit %d", bad[i][0], bad[i][1], r.exit_code);
        cr_expect(strstr(r.err, "timeline") != NULL, "%s", r.err);
        e2e_result_free(&r);
    }
}
