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
#include <string.h>
#include <sys/stat.h>

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

/* A bad sample size falls back to the default, which the trace records. */
Test(options, bad_sample_uses_default)
{
    const char *argv[] = {"leaky", NULL};
    char out[4200];
    snprintf(out, sizeof out, "MTRACE_OUT=%s/bad.%%p", e2e_tmpdir());
    const char *env[] = {"MTRACE_SAMPLE=12Q", out, NULL};
    expect_one_warning(argv, env, "MTRACE_SAMPLE");

    char *dirs[4];
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 4);
    cr_assert_eq(n, 1);
    char *info = e2e_info(dirs[0]);
    cr_expect_eq(e2e_int(info, "sample_interval"), 512 * 1024, "sample_interval %lld",
                 e2e_int(info, "sample_interval"));
    /* Counters stay exact when sampling. */
    cr_expect_eq(e2e_int(info, "alloc_calls"), 39);
    cr_expect_eq(e2e_int(info, "alloc_bytes"), 23256);
    free(info);
    e2e_free_list(dirs, n);
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
