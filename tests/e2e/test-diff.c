/* test-diff.c - `mtrace-analyze diff` on two real runs of examples/flame
 * with every call recorded: "flame double" builds the index twice, so
 * exactly the stacks of add_entry (+4096 bytes, +8 calls) and of its inlined
 * entry_key (+256 bytes, +8 calls) change, in that order, exactly; the
 * other two stacks are unchanged. Both runs differ in their address layout
 * (ASLR), so this also checks that stacks match by their frames.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void setup(void)
{
    e2e_tmpdir();
}

TestSuite(diff, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 60);

/* Traces ARGV into <tmpdir>/LABEL.<pid>; returns the directory (malloc'd). */
static char *trace(const char *label, const char *const argv[])
{
    e2e_result_t r;
    free(e2e_traced_info(label, argv, NULL, &r));
    e2e_result_free(&r);
    char *dirs[8], *found = NULL;
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 8);
    size_t len = strlen(label);
    for (int i = 0; i < n; i++) {
        const char *b = strrchr(dirs[i], '/') + 1;
        if (strncmp(b, label, len) == 0 && b[len] == '.')
            found = strdup(dirs[i]);
    }
    e2e_free_list(dirs, n);
    cr_assert_not_null(found, "no trace %s.*", label);
    return found;
}

static char *diff(const char *const *args)
{
    const char *argv[16] = {e2e_analyze(), "diff"};
    int k = 2;
    for (; *args && k < 15; args++)
        argv[k++] = *args;
    argv[k] = NULL;
    e2e_result_t a;
    e2e_run(&a, argv, NULL, NULL);
    cr_assert_eq(a.exit_code, 0, "diff exited %d: %s", a.exit_code, a.err);
    char *out = a.out;
    a.out = NULL;
    e2e_result_free(&a);
    return out;
}

/* Expects entry E's metric KEY to be BASE -> NEW exactly. */
static void expect_change(const char *e, const char *key, long long base, long long new)
{
    const char *m = e2e_json_get(e, key);
    cr_assert_not_null(m, "no %s", key);
    cr_expect_eq(e2e_int(m, "base"), base, "%s base", key);
    cr_expect_eq(e2e_int(m, "new"), new, "%s new", key);
    cr_expect_eq(e2e_int(m, "change"), new - base, "%s change", key);
    cr_expect_eq(e2e_int(m, "error"), 0, "%s: exact", key);
    cr_expect(!e2e_bool(m, "noise"), "%s: exact", key);
}

Test(diff, the_doubled_stack_is_the_largest_change)
{
    const char *const one[] = {"flame", NULL}, *const two[] = {"flame", "double", NULL};
    char *base = trace("base", one), *new = trace("new", two);

    const char *const a[] = {"--json=compact", base, new, NULL};
    char *out = diff(a);
    cr_expect_eq(e2e_int(out, "entries"), 2, "%s", out);
    cr_expect_eq(e2e_int(out, "unchanged"), 2, "%s", out);
    cr_expect(!e2e_bool(out, "estimated"));
    const char *b = e2e_json_get(out, "base"), *n = e2e_json_get(out, "new");
    cr_expect_eq(e2e_int(b, "bytes"), 21760);
    cr_expect_eq(e2e_int(b, "count"), 36);
    cr_expect_eq(e2e_int(n, "bytes"), 21760 + 4096 + 256);
    cr_expect_eq(e2e_int(n, "count"), 52);
    const char *stacks = e2e_json_get(out, "stacks");
    const char *e0 = e2e_json_at(stacks, 0), *e1 = e2e_json_at(stacks, 1);
    cr_assert(e0 && e1, "%s", out);
    cr_expect_null(e2e_json_at(stacks, 2));
    expect_change(e0, "bytes", 4096, 8192);
    expect_change(e0, "count", 8, 16);
    expect_change(e0, "live_bytes", 4096, 8192);
    expect_change(e0, "live_count", 8, 16);
    expect_change(e0, "peak_bytes", 4096, 8192);
    cr_expect_str_eq(e2e_str(e2e_json_at(e2e_json_get(e0, "frames"), 0), "function"),
                     "add_entry");
    expect_change(e1, "bytes", 256, 512);
    expect_change(e1, "count", 8, 16);
    cr_expect_str_eq(e2e_str(e2e_json_at(e2e_json_get(e1, "frames"), 0), "function"),
                     "entry_key");
    cr_expect(e2e_bool(e0, "in_base") && e2e_bool(e0, "in_new"));
    free(out);

    /* Text, by function, the other way round: the same two, negative. */
    const char *const t[] = {"--by", "function", new, base, NULL};
    out = diff(t);
    cr_expect(strstr(out, "diff NEW - BASE by function, ranked by the change in bytes: "
                          "2 entries changed, 2 unchanged\n"), "%s", out);
    cr_expect(strstr(out, "(every call recorded in both runs: changes are exact)\n"), "%s", out);
    const char *x = strstr(out, "#1   bytes -4 KiB (8 KiB -> 4 KiB)\n     calls -8 (16 -> 8)");
    const char *y = strstr(out, "#2   bytes -256 B (512 B -> 256 B)\n");
    cr_expect(x && y && x < y, "%s", out);
    cr_expect(x && strstr(x, "add_entry") < y, "%s", out);
    free(out);
    free(base);
    free(new);
}
