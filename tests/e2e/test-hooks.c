/* test-hooks.c - the hooks count each call once and keep recording after a
 * longjmp out of the allocator.
 *
 * examples/entry_points calls every counted entry point once with a size no
 * other call uses; examples/longjmp_hooks jumps out of faulting or failing
 * allocator calls and allocates after each jump. Both are C++ programs, so
 * each also runs as "baseline" (libstdc++'s load-time emergency pool) and
 * the exact difference is asserted.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static void setup(void)
{
    e2e_tmpdir();
}

TestSuite(hooks, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 60);

#define EXPECT_EQ(what, got, want)                                                          \
    cr_expect_eq((long long)(got), (long long)(want), "%s: got %lld, want %lld", (what),    \
                 (long long)(got), (long long)(want))

static long long entry_delta(const char *full, const char *base, const char *name,
                             const char *field)
{
    return e2e_entry(full, name, field) - e2e_entry(base, name, field);
}

static void expect_entry(const char *full, const char *base, const char *name, long long calls,
                         long long bytes)
{
    char what[96];
    snprintf(what, sizeof what, "%s calls", name);
    EXPECT_EQ(what, entry_delta(full, base, name, "calls"), calls);
    snprintf(what, sizeof what, "%s bytes", name);
    EXPECT_EQ(what, entry_delta(full, base, name, "bytes"), bytes);
}

/* Every entry point exactly once, under its own name only: reallocarray is
 * not also a realloc, new[] not also a new, sized delete not also a delete,
 * and so on. The numbers are those of the example's header. */
Test(hooks, every_entry_point_is_counted_once)
{
    const char *full_argv[] = {"entry_points", NULL};
    const char *base_argv[] = {"entry_points", "baseline", NULL};
    e2e_result_t r;
    char *full = e2e_traced_info("full", full_argv, NULL, &r);
    char *base = e2e_traced_info("base", base_argv, NULL, NULL);
    cr_expect_str_eq(r.out, "entry points: 8\n");

    expect_entry(full, base, "malloc", 1, 101);
    expect_entry(full, base, "calloc", 1, 111);
    expect_entry(full, base, "realloc", 1, 121);
    expect_entry(full, base, "reallocarray", 1, 133);
    expect_entry(full, base, "memalign", 1, 141);
    expect_entry(full, base, "aligned_alloc", 1, 192);
    expect_entry(full, base, "posix_memalign", 1, 151);
    expect_entry(full, base, "valloc", 1, 161);
    expect_entry(full, base, "pvalloc", 1, 171);
    expect_entry(full, base, "operator new", 4, 181 + 201 + 221 + 241);
    expect_entry(full, base, "operator new[]", 4, 191 + 211 + 231 + 251);
    expect_entry(full, base, "free", 1, 0);
    expect_entry(full, base, "cfree", 1, 0);
    expect_entry(full, base, "free_sized", 1, 161);
    expect_entry(full, base, "free_aligned_sized", 1, 192);
    expect_entry(full, base, "operator delete", 6, 0);
    expect_entry(full, base, "operator delete[]", 6, 0);
    expect_entry(full, base, "mmap", 2, 8192 + 4096);
    expect_entry(full, base, "munmap", 2, 8192 + 8192);
    expect_entry(full, base, "mremap", 1, 8192);
    expect_entry(full, base, "mbind", 1, 8192);
    expect_entry(full, base, "set_mempolicy", 1, 0);
    expect_entry(full, base, "move_pages", 1, 1);
    expect_entry(full, base, "migrate_pages", 1, 0);
    expect_entry(full, base, "pool alloc", 1, 271);
    expect_entry(full, base, "pool free", 1, 0);
    /* The sums: 9 C calls + 8 C++ news; 1 free + 3 free-likes + 12 deletes
     * (the pool's calls are counted apart). */
    EXPECT_EQ("alloc_calls delta", e2e_int(full, "alloc_calls") - e2e_int(base, "alloc_calls"),
              17);
    EXPECT_EQ("alloc_bytes delta", e2e_int(full, "alloc_bytes") - e2e_int(base, "alloc_bytes"),
              101 + 111 + 121 + 133 + 141 + 192 + 151 + 161 + 171 + 844 + 884);
    EXPECT_EQ("free_calls delta", e2e_int(full, "free_calls") - e2e_int(base, "free_calls"), 16);
    free(full);
    free(base);
    e2e_result_free(&r);
}

/* leaks --json of TRACE: total_bytes and total_count. */
static void leaks_of(const char *trace, long long *bytes, long long *count)
{
    const char *argv[] = {e2e_analyze(), "leaks", "--json", trace, NULL};
    e2e_result_t r;
    e2e_run(&r, argv, NULL, NULL);
    cr_assert_eq(r.exit_code, 0, "leaks failed: %s", r.err);
    const char *obj = strchr(r.out, '{');
    cr_assert_not_null(obj, "no JSON from leaks: %s", r.out);
    *bytes = e2e_int(obj, "total_bytes");
    *count = e2e_int(obj, "total_count");
    e2e_result_free(&r);
}

/* After a siglongjmp out of glibc's free and realloc (SIGSEGV on a bad
 * pointer), out of libstdc++'s operator delete, sized delete and delete[]
 * (the free inside faults), and out of operator new, new[] and aligned new
 * (the new_handler jumps), the thread is still counted and recorded: every
 * later malloc and free is in the totals and the final leak is found. */
Test(hooks, longjmp_out_of_a_hook_keeps_recording)
{
    const char *full_argv[] = {"longjmp_hooks", NULL};
    const char *base_argv[] = {"longjmp_hooks", "baseline", NULL};
    e2e_result_t r;
    char *full = e2e_traced_info("full", full_argv, NULL, &r);
    char *base = e2e_traced_info("base", base_argv, NULL, NULL);
    cr_expect_str_eq(r.out, "jumped 8\n");

    expect_entry(full, base, "malloc", 9, 1001 + 1002 + 1003 + 1004 + 1005 + 1006 + 1007 + 1008 + 777);
    EXPECT_EQ("free calls", entry_delta(full, base, "free", "calls"), 9);
    expect_entry(full, base, "realloc", 1, 64);
    EXPECT_EQ("operator delete calls", entry_delta(full, base, "operator delete", "calls"), 2);
    EXPECT_EQ("operator delete[] calls", entry_delta(full, base, "operator delete[]", "calls"), 1);
    expect_entry(full, base, "operator new", 2, 2ll << 60);
    expect_entry(full, base, "operator new[]", 1, 1ll << 60);

    char trace[4096];
    snprintf(trace, sizeof trace, "%s/full.%d", e2e_tmpdir(), (int)r.pid);
    long long bytes, count, base_bytes, base_count;
    leaks_of(trace, &bytes, &count);
    char *dirs[4];
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 4);
    cr_assert_eq(n, 2, "want the full and base traces, found %d", n);
    leaks_of(dirs[0], &base_bytes, &base_count); /* "base.<pid>" sorts first */
    e2e_free_list(dirs, n);
    EXPECT_EQ("leaked bytes", bytes - base_bytes, 777);
    EXPECT_EQ("leaked blocks", count - base_count, 1);
    free(full);
    free(base);
    e2e_result_free(&r);
}

/* Sampled mode (MTRACE_SAMPLE=1: every block of examples/sampled_frees is
 * a sample of weight 1): 12,000 live samples freed through every free entry
 * point, after realloc, and half of them by another thread while the
 * allocating one allocates more, so that the filter free checks (liveset.c)
 * grows and shrinks under them. A free missed by the check would leave its
 * block in `leaks`: exactly the 3 blocks the example leaks must be there. */
Test(hooks, sampled_frees_are_never_missed)
{
    const char *full_argv[] = {"sampled_frees", NULL};
    const char *base_argv[] = {"sampled_frees", "baseline", NULL};
    const char *env[] = {"MTRACE_SAMPLE=1", "MTRACE_SEED=15", NULL};
    e2e_result_t r;
    char *full = e2e_traced_info("full", full_argv, env, &r);
    char *base = e2e_traced_info("base", base_argv, env, NULL);
    cr_expect_str_eq(r.out, "sampled frees: 12000\n");
    EXPECT_EQ("sample interval", e2e_int(full, "sample_interval"), 1);

    char trace[4096];
    snprintf(trace, sizeof trace, "%s/full.%d", e2e_tmpdir(), (int)r.pid);
    long long bytes, count, base_bytes, base_count;
    leaks_of(trace, &bytes, &count);
    char *dirs[4];
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 4);
    cr_assert_eq(n, 2, "want the full and base traces, found %d", n);
    leaks_of(dirs[0], &base_bytes, &base_count); /* "base.<pid>" sorts first */
    e2e_free_list(dirs, n);
    EXPECT_EQ("leaked bytes", bytes - base_bytes, 1111 + 2222 + 3333);
    EXPECT_EQ("leaked blocks", count - base_count, 3);
    free(full);
    free(base);
    e2e_result_free(&r);
}

/* The stack a hook may take beyond what the program's own calls need, as
 * README ("Stack") states it; examples/small_stack needs 362 bytes bare. */
#define HOOK_STACK 1024
#define SMALL_STACK_HEADROOM "1536"

/* A thread with 1.5 KiB of stack left below the frame that calls malloc,
 * calloc, realloc and free: run bare it prints "small_stack: ok", and so it
 * must under the shim, both when every call is sampled and when its 16 MiB
 * malloc is the process's first sampled call (which once bound libgcc_s's
 * and mtrace's PLT entries lazily, on that thread's stack). */
Test(hooks, small_stack_thread_runs_as_bare)
{
    cr_assert_geq(1536, 362 + HOOK_STACK);
    const char *argv[] = {"small_stack", SMALL_STACK_HEADROOM, NULL};
    const char *bare_argv[] = {e2e_example("small_stack"), SMALL_STACK_HEADROOM, NULL};
    e2e_result_t bare;
    e2e_run(&bare, bare_argv, NULL, NULL);
    cr_assert_eq(bare.exit_code, 0, "bare run failed (signal %d)", bare.signal);
    cr_assert_str_eq(bare.out, "small_stack: ok\n");

    e2e_result_t r;
    char *info = e2e_traced_info("all", argv, NULL, &r);
    cr_expect_str_eq(r.out, bare.out);
    cr_expect(e2e_bool(info, "complete"));
    EXPECT_EQ("sample_interval", e2e_int(info, "sample_interval"), 0);
    EXPECT_EQ("malloc calls", e2e_entry(info, "malloc", "calls"), 3);
    EXPECT_EQ("malloc bytes", e2e_entry(info, "malloc", "bytes"), 32 + 64 + (16 << 20));
    EXPECT_EQ("threads", e2e_int(info, "threads"), 2);
    free(info);
    e2e_result_free(&r);

    const char *dflt[] = {"MTRACE_SAMPLE", NULL}; /* the default mean, 512 KiB */
    info = e2e_traced_info("default", argv, dflt, &r);
    cr_expect_str_eq(r.out, bare.out);
    cr_expect(e2e_bool(info, "complete"));
    EXPECT_EQ("sample_interval", e2e_int(info, "sample_interval"), 512 << 10);
    EXPECT_EQ("malloc calls", e2e_entry(info, "malloc", "calls"), 3);
    free(info);
    e2e_result_free(&r);
    e2e_result_free(&bare);
}

/* The NUMA policy wrappers read the program's mask, page and node lists
 * for the trace: at a bad address the system call fails with EFAULT, and
 * the wrapper must return just that (it read them directly and crashed). */
Test(hooks, policy_calls_with_bad_pointers_fail_as_the_kernel)
{
    const char *argv[] = {"bad_policy", NULL};
    e2e_result_t r;
    char *info = e2e_traced_info("bad", argv, NULL, &r);
    cr_expect_str_eq(r.out, "bad_policy: 4 of 4 as the kernel\n");
    cr_expect(e2e_bool(info, "complete"));
    EXPECT_EQ("mbind calls", e2e_entry(info, "mbind", "calls"), 1);
    EXPECT_EQ("mbind bytes", e2e_entry(info, "mbind", "bytes"), 4096);
    EXPECT_EQ("set_mempolicy calls", e2e_entry(info, "set_mempolicy", "calls"), 1);
    EXPECT_EQ("move_pages calls", e2e_entry(info, "move_pages", "calls"), 1);
    EXPECT_EQ("move_pages bytes", e2e_entry(info, "move_pages", "bytes"), 1);
    EXPECT_EQ("migrate_pages calls", e2e_entry(info, "migrate_pages", "calls"), 1);
    free(info);
    e2e_result_free(&r);
}
