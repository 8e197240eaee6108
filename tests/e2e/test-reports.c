/* test-reports.c - `top` and `leaks` on examples traced with every call
 * recorded must report exactly what the sources do: bytes and counts per
 * stack, and the allocating function, file and line of each.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void setup(void)
{
    e2e_tmpdir();
}

TestSuite(reports, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 30);

/* Traces example NAME with MTRACE_SAMPLE=all, runs `mtrace-analyze ARGS...
 * --json=compact TRACE`, returns its stdout (malloc'd). */
static char *report(const char *example, const char *const *args)
{
    const char *argv[] = {example, NULL};
    e2e_result_t r;
    e2e_run_traced(&r, argv, NULL);
    cr_assert_eq(r.exit_code, 0, "%s exited %d", example, r.exit_code);
    e2e_result_free(&r);
    char *dirs[4];
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 4);
    cr_assert_eq(n, 1, "one trace expected, found %d", n);
    const char *cmd[16] = {e2e_analyze()};
    int k = 1;
    for (; *args && k < 13; args++)
        cmd[k++] = *args;
    cmd[k++] = "--json=compact";
    cmd[k++] = dirs[0];
    cmd[k] = NULL;
    e2e_result_t a;
    e2e_run(&a, cmd, NULL, NULL);
    cr_assert_eq(a.exit_code, 0, "analyzer exited %d: %s", a.exit_code, a.err);
    e2e_free_list(dirs, n);
    char *out = a.out;
    a.out = NULL;
    e2e_result_free(&a);
    return out;
}

/* Asserts that STACK's innermost frame is FUNCTION at examples/FILE:LINE. */
static void expect_frame(const char *stack, const char *function, const char *file, long long line)
{
    const char *frames = e2e_json_get(stack, "frames");
    cr_assert_not_null(frames);
    const char *f = e2e_json_at(frames, 0);
    cr_assert_not_null(f);
    cr_expect_str_eq(e2e_str(f, "function"), function);
    const char *path = e2e_str(f, "file");
    size_t len = strlen(path), want = strlen(file);
    cr_expect(len >= want && strcmp(path + len - want, file) == 0, "file %s, want .../%s", path,
              file);
    cr_expect_eq(e2e_int(f, "line"), line, "line %lld, want %lld", e2e_int(f, "line"), line);
}

Test(reports, leaks_reports_exact_stacks_with_source_lines)
{
    const char *args[] = {"leaks", NULL};
    char *json = report("leaky", args);
    cr_expect_eq(e2e_int(json, "total_bytes"), 13288);
    cr_expect_eq(e2e_int(json, "total_count"), 13);
    cr_expect_str_eq(e2e_str(json, "ended"), "exit");
    const char *stacks = e2e_json_get(json, "stacks");
    cr_assert_not_null(stacks);
    const char *big = e2e_json_at(stacks, 0), *small = e2e_json_at(stacks, 1);
    cr_assert_not_null(big);
    cr_assert_not_null(small);
    cr_assert_null(e2e_json_at(stacks, 2), "exactly two leaking stacks");
    /* leak_big: 3 x calloc(1, 4096) at leaky.c:31 */
    cr_expect_eq(e2e_int(big, "bytes"), 12288);
    cr_expect_eq(e2e_int(big, "count"), 3);
    expect_frame(big, "leak_big", "examples/leaky.c", 31);
    /* leak_small: 10 x malloc(100) at leaky.c:23 */
    cr_expect_eq(e2e_int(small, "bytes"), 1000);
    cr_expect_eq(e2e_int(small, "count"), 10);
    expect_frame(small, "leak_small", "examples/leaky.c", 23);
    free(json);
}

Test(reports, top_counts_every_call_of_leaky)
{
    const char *args[] = {"top", "-n", "0", NULL};
    char *json = report("leaky", args);
    /* 39 calls, 23256 bytes: the totals leaky.c lists. */
    cr_expect_eq(e2e_int(json, "total_bytes"), 23256);
    cr_expect_eq(e2e_int(json, "total_count"), 39);
    const char *stacks = e2e_json_get(json, "stacks");
    cr_assert_not_null(stacks);
    long long bytes = 0, count = 0;
    int found_pairs = 0;
    for (int i = 0; e2e_json_at(stacks, i); i++) {
        const char *s = e2e_json_at(stacks, i);
        bytes += e2e_int(s, "bytes");
        count += e2e_int(s, "count");
        const char *f = e2e_json_at(e2e_json_get(s, "frames"), 0);
        if (f && strcmp(e2e_str(f, "function"), "pairs") == 0) {
            /* pairs: 20 x malloc(64), each freed before the next */
            cr_expect_eq(e2e_int(s, "bytes"), 1280);
            cr_expect_eq(e2e_int(s, "count"), 20);
            cr_expect_eq(e2e_int(s, "temp_count"), 20);
            cr_expect_eq(e2e_int(s, "live_bytes"), 0);
            found_pairs = 1;
        }
    }
    cr_expect(found_pairs, "no stack allocates in pairs()");
    cr_expect_eq(bytes, 23256, "stacks add up to the total");
    cr_expect_eq(count, 39);
    free(json);
}

/* examples/unrolled.c: the unrolled loop has two malloc call sites on line
 * 20 of unrolled_pair. They print identically, so they are one entry: 200
 * calls of 64 bytes, made of the two recorded stacks. */
Test(reports, call_sites_that_print_alike_are_one_entry)
{
    const char *args[] = {"top", "-n", "0", NULL};
    char *json = report("unrolled", args);
    const char *stacks = e2e_json_get(json, "stacks");
    cr_assert_not_null(stacks);
    int found = 0;
    for (int i = 0; e2e_json_at(stacks, i); i++) {
        const char *s = e2e_json_at(stacks, i);
        const char *f = e2e_json_at(e2e_json_get(s, "frames"), 0);
        if (!f || strcmp(e2e_str(f, "function"), "unrolled_pair") != 0)
            continue;
        found++;
        cr_expect_eq(e2e_int(s, "count"), 200, "count %lld", e2e_int(s, "count"));
        cr_expect_eq(e2e_int(s, "bytes"), 12800);
        cr_expect_eq(e2e_int(s, "stacks"), 2, "two call sites merged");
        expect_frame(s, "unrolled_pair", "examples/unrolled.c", 20);
    }
    cr_expect_eq(found, 1, "%d entries for unrolled_pair's malloc line", found);
    free(json);
}
