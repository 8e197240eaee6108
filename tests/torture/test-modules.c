/* test-modules.c - the module map at every event: a library dlopen'ed,
 * leaking and dlclose'd between two writer ticks, then another library
 * loaded at the same address that leaks through the same program counters.
 * Each leak must keep its own function, file, line and module. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "torture-run.h"

static void setup(void)
{
    e2e_tmpdir();
}

TestSuite(modules, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 60);

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

/* Asserts that the one stack of LEAKS that leaked BYTES (once) was
 * allocated in FUNCTION at reuse-X.c:LINE of libreuse-X.so. */
static void expect_leak(const char *leaks, long long bytes, const char *function,
                        const char *file, long long line, const char *module)
{
    const char *stacks = e2e_json_get(leaks, "stacks"), *found = NULL;
    cr_assert_not_null(stacks);
    for (int i = 0; e2e_json_at(stacks, i); i++)
        if (e2e_int(e2e_json_at(stacks, i), "bytes") == bytes) {
            cr_assert_null(found, "two stacks leaked %lld bytes", bytes);
            found = e2e_json_at(stacks, i);
        }
    cr_assert_not_null(found, "no stack leaked exactly %lld bytes (leaks of the same pcs "
                       "merged?): %s", bytes, leaks);
    cr_expect_eq(e2e_int(found, "count"), 1);
    const char *f = e2e_json_at(e2e_json_get(found, "frames"), 0);
    cr_assert_not_null(f);
    cr_expect_str_eq(e2e_str(f, "function"), function);
    cr_expect(ends_with(e2e_str(f, "file"), file), "file %s, want .../%s", e2e_str(f, "file"),
              file);
    cr_expect_eq(e2e_int(f, "line"), line, "line %lld, want %lld", e2e_int(f, "line"), line);
    cr_expect(ends_with(e2e_str(f, "module"), module), "module %s, want .../%s",
              e2e_str(f, "module"), module);
}

Test(modules, library_unloaded_within_a_tick_and_its_address_reused)
{
    char prog[4096], dir[4096];
    snprintf(dir, sizeof dir, "%s", tr_prog(""));
    dir[strlen(dir) - 1] = '\0'; /* the torture build directory */
    snprintf(prog, sizeof prog, "%s", tr_prog("t-reuse"));
    const char *argv[] = {prog, dir, NULL};
    const char *want = "A leaked 111, B leaked 222, same base 1\n";

    /* Without LD_LIBRARY_PATH (meson sets it to this directory): B is found
     * only through the RUNPATH of the library that dlopens it. */
    const char *const env[] = {"LD_LIBRARY_PATH", NULL};
    e2e_result_t plain, traced;
    e2e_run_for(&plain, argv, env, e2e_tmpdir(), 30);
    cr_assert_eq(plain.exit_code, 0, "t-reuse exited %d: %s", plain.exit_code, plain.err);
    cr_assert_str_eq(plain.out, want, "B must be mapped where A was");
    tr_run(&traced, TR_SAMPLE_ALL, "reuse", argv, env, NULL, 30);
    cr_assert_eq(traced.exit_code, 0, "t-reuse exited %d: %s", traced.exit_code, traced.err);
    cr_assert_str_eq(traced.out, want, "under the shim too (B by name via RUNPATH $ORIGIN)");

    char *dirs[4];
    int n = e2e_list_dirs(tr_dir("reuse"), dirs, 4);
    cr_assert_eq(n, 1, "one trace expected, found %d", n);
    const char *cmd[] = {e2e_analyze(), "leaks", "-n", "0", "--json=compact", dirs[0], NULL};
    e2e_result_t a;
    e2e_run(&a, cmd, NULL, NULL);
    cr_assert_eq(a.exit_code, 0, "analyzer exited %d: %s", a.exit_code, a.err);
    /* The malloc lines of reuse-a.c and reuse-b.c. */
    expect_leak(a.out, 111, "reuse_leak_a", "tests/torture/reuse-a.c", 10, "libreuse-a.so");
    expect_leak(a.out, 222, "reuse_leak_b", "tests/torture/reuse-b.c", 13, "libreuse-b.so");
    e2e_result_free(&a);
    e2e_free_list(dirs, n);
    e2e_result_free(&plain);
    e2e_result_free(&traced);
}

/* 200 rounds of dlopen, leak and dlclose of A or B in turn, each inside a
 * dl_iterate_phdr callback (the loader's lock held while the hooks scan),
 * while the writer ticks every millisecond and scans too: no deadlock, and
 * the leaks of each library stay its own, however often its address was
 * reused by the other. */
Test(modules, reloads_inside_dl_iterate_phdr_while_the_writer_ticks)
{
    char prog[4096], dir[4096];
    snprintf(dir, sizeof dir, "%s", tr_prog(""));
    dir[strlen(dir) - 1] = '\0';
    snprintf(prog, sizeof prog, "%s", tr_prog("t-reuse"));
    const char *argv[] = {prog, dir, "200", NULL};
    const char *const env[] = {"MTRACE_FLUSH_MS=1", NULL};
    e2e_result_t traced;
    tr_run(&traced, TR_SAMPLE_ALL, "reload", argv, env, NULL, 30);
    cr_assert_eq(traced.exit_code, 0, "t-reuse exited %d: %s", traced.exit_code, traced.err);
    cr_assert_str_eq(traced.out, "200 rounds, A leaked 11100, B leaked 22200\n");

    char *dirs[4];
    int n = e2e_list_dirs(tr_dir("reload"), dirs, 4);
    cr_assert_eq(n, 1, "one trace expected, found %d", n);
    const char *cmd[] = {e2e_analyze(), "leaks", "-n", "0", "--json=compact", dirs[0], NULL};
    e2e_result_t a;
    e2e_run(&a, cmd, NULL, NULL);
    cr_assert_eq(a.exit_code, 0, "analyzer exited %d: %s", a.exit_code, a.err);
    const char *stacks = e2e_json_get(a.out, "stacks");
    cr_assert_not_null(stacks);
    long long a_bytes = 0, a_count = 0, b_bytes = 0, b_count = 0;
    for (int i = 0; e2e_json_at(stacks, i); i++) {
        const char *s = e2e_json_at(stacks, i);
        const char *f = e2e_json_at(e2e_json_get(s, "frames"), 0);
        char fn[256] = ""; /* null when no symbol covers it */
        if (f && !e2e_json_str(f, "function", fn, sizeof fn))
            fn[0] = '\0';
        if (strcmp(fn, "reuse_leak_a") == 0) {
            cr_expect(ends_with(e2e_str(f, "file"), "reuse-a.c") && e2e_int(f, "line") == 10);
            cr_expect(ends_with(e2e_str(f, "module"), "libreuse-a.so"));
            a_bytes += e2e_int(s, "bytes");
            a_count += e2e_int(s, "count");
        } else if (strcmp(fn, "reuse_leak_b") == 0) {
            cr_expect(ends_with(e2e_str(f, "file"), "reuse-b.c") && e2e_int(f, "line") == 13);
            cr_expect(ends_with(e2e_str(f, "module"), "libreuse-b.so"));
            b_bytes += e2e_int(s, "bytes");
            b_count += e2e_int(s, "count");
        }
    }
    cr_expect_eq(a_count, 100);
    cr_expect_eq(a_bytes, 11100, "every 111-byte leak in reuse_leak_a");
    cr_expect_eq(b_count, 100);
    cr_expect_eq(b_bytes, 22200, "every 222-byte leak in reuse_leak_b");
    e2e_result_free(&a);
    e2e_free_list(dirs, n);
    e2e_result_free(&traced);
}
