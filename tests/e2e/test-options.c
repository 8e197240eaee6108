/* test-options.c - the shim's user-facing behaviour: where the trace goes,
 * what it prints on stderr, and that bad settings never change the program.
 *
 * The promise tested here: the shim prints at most the one line
 * "mtrace: writing DIR" (none with MTRACE_QUIET=1), one "mtrace: warning:"
 * line per problem, and the program's stdout and exit status are exactly
 * those of a run without the shim.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h" /* mt_size_parse: the shim's own size grammar */
#include "harness.h"

static void setup(void)
{
    e2e_tmpdir();
}

TestSuite(options, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 30);

static bool is_dir(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Runs example ARGV without the shim; its stdout and exit code are the
 * reference a traced run must reproduce. */
static void run_plain(e2e_result_t *r, const char *const argv[])
{
    char exe[4096];
    const char *args[8] = {exe};
    snprintf(exe, sizeof exe, "%s", e2e_example(argv[0]));
    for (int i = 1; argv[i] && i < 7; i++)
        args[i] = argv[i];
    e2e_run(r, args, NULL, e2e_tmpdir());
}

/* Runs ARGV traced with ENV and checks that the program behaved exactly as
 * without the shim and that stderr is one "mtrace: warning:" line naming
 * MENTION. */
static void expect_one_warning(const char *const argv[], const char *const env[],
                               const char *mention)
{
    e2e_result_t plain, traced;
    run_plain(&plain, argv);
    e2e_run_traced(&traced, argv, env);

    cr_expect_str_eq(traced.out, plain.out, "stdout changed under the shim");
    cr_expect_eq(traced.exit_code, plain.exit_code, "exit code %d, without the shim %d",
                 traced.exit_code, plain.exit_code);
    cr_expect_eq(e2e_count_lines(traced.err), 1, "want one line on stderr, got: %s", traced.err);
    cr_expect(strncmp(traced.err, "mtrace: warning: ", 17) == 0, "not a warning: %s", traced.err);
    cr_expect(strstr(traced.err, mention) != NULL, "warning does not mention %s: %s", mention,
              traced.err);
    e2e_result_free(&plain);
    e2e_result_free(&traced);
}

Test(options, announces_trace_directory)
{
    const char *argv[] = {"leaky", NULL};
    const char *env[] = {"MTRACE_QUIET=0", NULL};
    char want[4200], dir[4096];
    e2e_result_t r;

    e2e_run_traced(&r, argv, env);
    cr_assert_eq(r.exit_code, 0);
    snprintf(dir, sizeof dir, "%s/leaky.%d", e2e_tmpdir(), (int)r.pid);
    snprintf(want, sizeof want, "mtrace: writing %s\n", dir);
    cr_expect_str_eq(r.err, want);
    cr_expect(is_dir(dir), "%s was not created", dir);
    e2e_result_free(&r);
}

Test(options, quiet_prints_nothing)
{
    const char *argv[] = {"leaky", NULL};
    const char *env[] = {"MTRACE_QUIET=1", NULL};
    char dir[4096];
    e2e_result_t r;

    e2e_run_traced(&r, argv, env);
    cr_assert_eq(r.exit_code, 0);
    cr_expect_str_eq(r.err, "");
    cr_expect_str_eq(r.out, "leaky: leaked 13288 bytes in 13 blocks\n");
    snprintf(dir, sizeof dir, "%s/leaky.%d", e2e_tmpdir(), (int)r.pid);
    cr_expect(is_dir(dir), "%s was not created", dir);
    e2e_result_free(&r);
}

/* Without MTRACE_OUT the trace is ./mtrace.<command>.<pid>. */
Test(options, default_directory_name)
{
    const char *argv[] = {"leaky", NULL};
    const char *env[] = {"MTRACE_OUT", "MTRACE_QUIET=0", NULL};
    char dir[4096], tail[64];
    e2e_result_t r;

    e2e_run_traced(&r, argv, env);
    cr_assert_eq(r.exit_code, 0);
    snprintf(dir, sizeof dir, "%s/mtrace.leaky.%d", e2e_tmpdir(), (int)r.pid);
    cr_expect(is_dir(dir), "%s was not created", dir);
    snprintf(tail, sizeof tail, "mtrace.leaky.%d\n", (int)r.pid);
    size_t len = strlen(r.err), tlen = strlen(tail);
    cr_expect(strncmp(r.err, "mtrace: writing ", 16) == 0 && len >= tlen &&
                  strcmp(r.err + len - tlen, tail) == 0 && e2e_count_lines(r.err) == 1,
              "want one line \"mtrace: writing ...%s\", got: %s", "mtrace.leaky.<pid>", r.err);
    e2e_result_free(&r);
}

/* A template without %p resolves to the same name twice: the second run
 * gets NAME.1, and both are complete traces of their own process. */
Test(options, existing_directory_gets_suffix)
{
    const char *argv[] = {"leaky", NULL};
    char out[4200], first[4096], second[4096];
    e2e_result_t r1, r2;

    snprintf(out, sizeof out, "MTRACE_OUT=%s/fixed", e2e_tmpdir());
    const char *env[] = {out, NULL};
    e2e_run_traced(&r1, argv, env);
    e2e_run_traced(&r2, argv, env);
    cr_assert(r1.exit_code == 0 && r2.exit_code == 0);
    snprintf(first, sizeof first, "%s/fixed", e2e_tmpdir());
    snprintf(second, sizeof second, "%s/fixed.1", e2e_tmpdir());
    cr_assert(is_dir(first) && is_dir(second), "want %s and %s", first, second);

    char *a = e2e_info(first), *b = e2e_info(second);
    cr_expect_eq(e2e_int(a, "pid"), r1.pid);
    cr_expect_eq(e2e_int(b, "pid"), r2.pid);
    cr_expect_eq(e2e_int(a, "alloc_calls"), 39);
    cr_expect_eq(e2e_int(b, "alloc_calls"), 39);
    free(a);
    free(b);
    e2e_result_free(&r1);
    e2e_result_free(&r2);
}

Test(options, verbose_prints_resolved_options)
{
    const char *argv[] = {"leaky", NULL};
    const char *env[] = {"MTRACE_VERBOSE=1", NULL};
    e2e_result_t r;

    e2e_run_traced(&r, argv, env);
    cr_assert_eq(r.exit_code, 0);
    cr_expect_str_eq(r.out, "leaky: leaked 13288 bytes in 13 blocks\n");
    static const char *const names[] = {"MTRACE_OUT", "MTRACE_SAMPLE", "MTRACE_DEPTH",
                                        "MTRACE_FLUSH_MS", "MTRACE_FOLLOW_FORK",
                                        "MTRACE_MAP_MAX"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cr_expect(strstr(r.err, names[i]) != NULL, "%s missing from: %s", names[i], r.err);
    e2e_result_free(&r);
}

/* docs/OPTIONS.md documents MTRACE_MAP_MAX up to 16T and sizes in K/M/G/T
 * with an optional i and B: all of them are taken without a warning, and
 * the resolved values are the bytes they name. */
Test(options, sizes_take_every_documented_suffix)
{
    const char *argv[] = {"leaky", NULL};
    const char *env[] = {"MTRACE_VERBOSE=1", "MTRACE_MAP_MAX=16T", "MTRACE_SAMPLE=64KiB", NULL};
    e2e_result_t r;

    e2e_run_traced(&r, argv, env);
    cr_assert_eq(r.exit_code, 0);
    cr_expect_str_eq(r.out, "leaky: leaked 13288 bytes in 13 blocks\n");
    cr_expect(strstr(r.err, "warning") == NULL, "a documented size was rejected: %s", r.err);
    cr_expect(strstr(r.err, "MTRACE_MAP_MAX     17592186044416 ") != NULL,
              "MTRACE_MAP_MAX=16T is not 2^44 bytes: %s", r.err);
    cr_expect(strstr(r.err, "MTRACE_SAMPLE      65536 ") != NULL,
              "MTRACE_SAMPLE=64KiB is not 65536 bytes: %s", r.err);
    e2e_result_free(&r);

    char *dirs[4];
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 4);
    cr_assert_eq(n, 1);
    char *info = e2e_info(dirs[0]);
    cr_expect_eq(e2e_int(info, "sample_interval"), 65536);
    cr_expect_eq(e2e_int(info, "alloc_calls"), 39);
    cr_expect_eq(e2e_int(info, "alloc_bytes"), 23256);
    free(info);
    e2e_free_list(dirs, n);
}

Test(options, bad_depth_warns_once)
{
    const char *argv[] = {"leaky", NULL};
    const char *env[] = {"MTRACE_DEPTH=banana", NULL};
    expect_one_warning(argv, env, "MTRACE_DEPTH");
}

Test(options, out_of_range_depth_warns_once)
{
    const char *argv[] = {"leaky", NULL};
    const char *env[] = {"MTRACE_DEPTH=100000", NULL};
    expect_one_warning(argv, env, "MTRACE_DEPTH");
}

/* leaky traced with MTRACE_SAMPLE=VALUE: one warning containing MENTION,
 * and the one trace records sample INTERVAL with exact counters (they stay
 * exact whatever the sampling). */
static void expect_sample_warning(const char *value, const char *mention, long long interval)
{
    const char *argv[] = {"leaky", NULL};
    char out[4200], sample[64];
    snprintf(out, sizeof out, "MTRACE_OUT=%s/sample.%%p", e2e_tmpdir());
    snprintf(sample, sizeof sample, "MTRACE_SAMPLE=%s", value);
    const char *env[] = {sample, out, NULL};
    expect_one_warning(argv, env, mention);

    char *dirs[4];
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 4);
    cr_assert_eq(n, 1);
    char *info = e2e_info(dirs[0]);
    cr_expect_eq(e2e_int(info, "sample_interval"), interval, "sample_interval %lld",
                 e2e_int(info, "sample_interval"));
    cr_expect_eq(e2e_int(info, "alloc_calls"), 39);
    cr_expect_eq(e2e_int(info, "alloc_bytes"), 23256);
    free(info);
    e2e_free_list(dirs, n);
}

/* A bad sample size falls back to the default, which the trace records. */
Test(options, bad_sample_uses_default)
{
    expect_sample_warning("12Q", "MTRACE_SAMPLE", 512 * 1024);
}

/* MTRACE_SAMPLE=0 is below the documented range (1 to 1T, or all): one
 * warning, clipped to 1 byte; it was silently taken as "all". */
Test(options, zero_sample_is_clipped_not_all)
{
    expect_sample_warning("0", "MTRACE_SAMPLE=0 is out of range [1, 1099511627776]; using 1", 1);
}

/* The output path cannot be created: one warning, the program is untouched
 * (also its exit status, here forker's usage error 2). */
Test(options, unwritable_out_warns_once)
{
    const char *leaky[] = {"leaky", NULL};
    const char *usage[] = {"forker", NULL};
    const char *env[] = {"MTRACE_OUT=/proc/nonexistent/x", "MTRACE_QUIET=0", NULL};
    expect_one_warning(leaky, env, "/proc/nonexistent/x");
    expect_one_warning(usage, env, "/proc/nonexistent/x");
}

/* ---- docs/OPTIONS.md and the shim's table (preload/options.c) agree ------- */

typedef struct doc_row {
    char name[64];
    char def[128];   /* the Default cell */
    char range[128]; /* the Range / values cell */
} doc_row_t;

static char *trim(char *s)
{
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        s[--n] = '\0';
    return s;
}

/* The rows of the option table of docs/OPTIONS.md. */
static int doc_rows(doc_row_t *rows, int max)
{
    const char *src = getenv("MTRACE_SOURCE");
    cr_assert_not_null(src, "MTRACE_SOURCE is not set (tests/e2e/meson.build sets it)");
    char path[4200], line[4096];
    snprintf(path, sizeof path, "%s/docs/OPTIONS.md", src);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "cannot open %s", path);
    int n = 0;
    while (fgets(line, sizeof line, f) && n < max) {
        if (strncmp(line, "| `MTRACE_", 10) != 0)
            continue;
        char *cell[5] = {0}, *save = NULL;
        int c = 0;
        for (char *t = strtok_r(line, "|", &save); t && c < 5; t = strtok_r(NULL, "|", &save))
            cell[c++] = trim(t);
        cr_assert_geq(c, 4, "short row in %s", path);
        snprintf(rows[n].name, sizeof rows[n].name, "%.*s", (int)strlen(cell[0]) - 2, cell[0] + 1);
        snprintf(rows[n].def, sizeof rows[n].def, "%s", cell[1]);
        snprintf(rows[n].range, sizeof rows[n].range, "%s", cell[2]);
        n++;
    }
    fclose(f);
    return n;
}

/* The value of `X` (a size or a number) starting at or after P; P moves past it. */
static bool doc_value(const char **p, uint64_t *v)
{
    const char *a = strchr(*p, '`');
    if (!a)
        return false;
    const char *b = strchr(a + 1, '`');
    char tok[64];
    if (!b || b - a - 1 >= (long)sizeof tok)
        return false;
    memcpy(tok, a + 1, (size_t)(b - a - 1));
    tok[b - a - 1] = '\0';
    *p = b + 1;
    return mt_size_parse(tok, v) == 0;
}

/* The value the shim's MTRACE_VERBOSE table printed for NAME in ERR. */
static bool printed_value(const char *err, const char *name, char *buf, size_t size)
{
    char key[80];
    snprintf(key, sizeof key, "mtrace:   %s ", name);
    const char *p = strstr(err, key);
    if (!p)
        return false;
    p += strlen(key);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, " \n");
    snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), p);
    return true;
}

/* Every option the shim has is documented with its default and range, and
 * every documented one exists: the resolved table (MTRACE_VERBOSE=1, all
 * else unset) gives the names and defaults, the out-of-range warnings of a
 * run with every option 0 the ranges. */
Test(options, options_md_matches_the_shims_table)
{
    doc_row_t rows[32];
    int nrows = doc_rows(rows, 32);
    cr_assert_geq(nrows, 10);

    const char *argv[] = {"leaky", NULL};
    const char *defaults[] = {"MTRACE_VERBOSE=1", "MTRACE_OUT", "MTRACE_SAMPLE", "MTRACE_QUIET",
                              NULL};
    e2e_result_t r;
    e2e_run_traced(&r, argv, defaults);
    cr_assert_eq(r.exit_code, 0);
    int printed = 0;
    for (const char *p = r.err; (p = strstr(p, "mtrace:   MTRACE_")); p++)
        printed++;
    cr_expect_eq(printed, nrows, "the shim has %d options, docs/OPTIONS.md documents %d:\n%s",
                 printed, nrows, r.err);
    for (int i = 0; i < nrows; i++) {
        char v[4200];
        cr_assert(printed_value(r.err, rows[i].name, v, sizeof v),
                  "docs/OPTIONS.md documents %s, which the shim does not have", rows[i].name);
        if (!strcmp(rows[i].name, "MTRACE_OUT") || !strcmp(rows[i].name, "MTRACE_MANIFEST")) {
            /* Text options: the shim prints the text, or "unset". */
            cr_expect_str_eq(v, strcmp(rows[i].name, "MTRACE_OUT") ? "unset" : "./mtrace.%e.%p");
            cr_expect(strstr(rows[i].def, v), "%s: documented default %s, the shim's %s",
                      rows[i].name, rows[i].def, v);
            continue;
        }
        if (!strcmp(rows[i].name, "MTRACE_VERBOSE"))
            continue; /* set for this run */
        /* "`1` with `MTRACE_SAMPLE=all`, else `0`": sampling here, so the else. */
        const char *d = strstr(rows[i].def, "else") ? strstr(rows[i].def, "else") : rows[i].def;
        uint64_t want;
        cr_assert(doc_value(&d, &want), "%s: no default in '%s'", rows[i].name, rows[i].def);
        cr_expect_eq(strtoull(v, NULL, 10), want, "%s: documented default %s, the shim's %s",
                     rows[i].name, rows[i].def, v);
    }
    e2e_result_free(&r);

    /* Ranges: 0 is below every numeric option's minimum; MTRACE_SAMPLE's
     * other value, all, is tested above its maximum instead. */
    const char *zeros[16] = {"MTRACE_OUT"};
    char envs[16][80];
    int ne = 1;
    for (int i = 0; i < nrows && ne < 15; i++)
        if (strstr(rows[i].range, "` to `")) {
            snprintf(envs[ne], sizeof envs[ne], "%s=%s", rows[i].name,
                     strstr(rows[i].range, "`all`") ? "99999999999999999" : "0");
            zeros[ne] = envs[ne];
            ne++;
        }
    zeros[ne] = NULL;
    cr_assert_geq(ne, 5, "fewer ranged options documented than the shim has");
    e2e_run_traced(&r, argv, zeros);
    cr_assert_eq(r.exit_code, 0);
    for (int i = 1; i < ne; i++) {
        const char *name = envs[i], *row = NULL;
        for (int k = 0; k < nrows; k++)
            if (!strncmp(rows[k].name, name, strlen(rows[k].name)) &&
                name[strlen(rows[k].name)] == '=')
                row = rows[k].range;
        const char *p = row;
        uint64_t lo, hi;
        cr_assert(doc_value(&p, &lo) && doc_value(&p, &hi), "no range in '%s'", row);
        char want[200];
        snprintf(want, sizeof want, "%s is out of range [%llu, %llu]", name,
                 (unsigned long long)lo, (unsigned long long)hi);
        cr_expect(strstr(r.err, want), "docs/OPTIONS.md says '%s' for %s; the shim:\n%s", row,
                  name, r.err);
    }
    e2e_result_free(&r);
}
