/* test-examples.c - each example under the shim with MTRACE_SAMPLE=all must
 * produce exactly the totals its source file lists.
 *
 * A C program allocates nothing on its own, so leaky's totals are absolute.
 * threads and cxx also run as "baseline" (same program, no work): glibc's
 * pthread_create and libstdc++'s load-time emergency pool allocate on their
 * own, and the test asserts the exact difference between the two runs.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "harness.h"

static void setup(void)
{
    e2e_tmpdir();
}

TestSuite(examples, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 30);

#define EXPECT_EQ(what, got, want)                                                          \
    cr_expect_eq((long long)(got), (long long)(want), "%s: got %lld, want %lld", (what),    \
                 (long long)(got), (long long)(want))

/* What every clean, unsampled trace of a program that exited says. */
static void expect_clean(const char *info, const char *end_reason)
{
    cr_expect(e2e_bool(info, "complete"), "complete is false: %s", info);
    cr_expect_str_eq(e2e_str(info, "end_reason"), end_reason);
    EXPECT_EQ("sample_interval", e2e_int(info, "sample_interval"), 0);
    EXPECT_EQ("dropped", e2e_int(info, "dropped"), 0);
}

/* The examples never call mmap, munmap or mremap themselves, and glibc's
 * malloc maps memory through its internal __mmap, which is not interposed.
 * So any mapping call in these traces is one mtrace (or a library it brought
 * in, such as libunwind) made and wrongly counted as the program's. */
static void expect_no_mapping_calls(const char *info)
{
    EXPECT_EQ("mmap calls", e2e_entry(info, "mmap", "calls"), 0);
    EXPECT_EQ("munmap calls", e2e_entry(info, "munmap", "calls"), 0);
    EXPECT_EQ("mremap calls", e2e_entry(info, "mremap", "calls"), 0);
}

/* FIELD of FULL minus FIELD of BASE. */
static long long delta(const char *full, const char *base, const char *field)
{
    return e2e_int(full, field) - e2e_int(base, field);
}

static long long entry_delta(const char *full, const char *base, const char *name,
                             const char *field)
{
    return e2e_entry(full, name, field) - e2e_entry(base, name, field);
}

Test(examples, leaky_exact_totals)
{
    const char *argv[] = {"leaky", NULL};
    e2e_result_t r;
    char *info = e2e_traced_info("leaky", argv, NULL, &r);

    cr_expect_str_eq(r.out, "leaky: leaked 13288 bytes in 13 blocks\n");
    expect_clean(info, "exit");
    cr_expect_str_eq(e2e_str(info, "command"), "leaky");
    EXPECT_EQ("alloc_calls", e2e_int(info, "alloc_calls"), 39);
    EXPECT_EQ("alloc_bytes", e2e_int(info, "alloc_bytes"), 23256);
    EXPECT_EQ("free_calls", e2e_int(info, "free_calls"), 24);
    EXPECT_EQ("malloc calls", e2e_entry(info, "malloc", "calls"), 31);
    EXPECT_EQ("malloc bytes", e2e_entry(info, "malloc", "bytes"), 2296);
    EXPECT_EQ("calloc calls", e2e_entry(info, "calloc", "calls"), 3);
    EXPECT_EQ("calloc bytes", e2e_entry(info, "calloc", "bytes"), 12288);
    EXPECT_EQ("realloc calls", e2e_entry(info, "realloc", "calls"), 3);
    EXPECT_EQ("realloc bytes", e2e_entry(info, "realloc", "bytes"), 224);
    EXPECT_EQ("posix_memalign calls", e2e_entry(info, "posix_memalign", "calls"), 1);
    EXPECT_EQ("posix_memalign bytes", e2e_entry(info, "posix_memalign", "bytes"), 256);
    EXPECT_EQ("aligned_alloc calls", e2e_entry(info, "aligned_alloc", "calls"), 1);
    EXPECT_EQ("aligned_alloc bytes", e2e_entry(info, "aligned_alloc", "bytes"), 8192);
    EXPECT_EQ("free calls", e2e_entry(info, "free", "calls"), 24);
    EXPECT_EQ("operator new calls", e2e_entry(info, "operator new", "calls"), 0);
    expect_no_mapping_calls(info);
    /* Every call is an event: 39 allocations + 24 frees, and then some
     * (mmap, RSS samples), never fewer. */
    cr_expect_geq(e2e_int(info, "events"), 39 + 24, "events %lld", e2e_int(info, "events"));
    free(info);
    e2e_result_free(&r);
}

Test(examples, leaky_baseline_allocates_nothing)
{
    const char *argv[] = {"leaky", "baseline", NULL};
    char *info = e2e_traced_info("base", argv, NULL, NULL);

    expect_clean(info, "exit");
    EXPECT_EQ("alloc_calls", e2e_int(info, "alloc_calls"), 0);
    EXPECT_EQ("alloc_bytes", e2e_int(info, "alloc_bytes"), 0);
    EXPECT_EQ("free_calls", e2e_int(info, "free_calls"), 0);
    free(info);
}

/* Four workers and a namer exit before the process does: nothing they counted
 * may be lost, and every thread is in the thread table. */
Test(examples, threads_exact_totals_after_thread_exit)
{
    const char *full_argv[] = {"threads", NULL};
    const char *base_argv[] = {"threads", "baseline", NULL};
    e2e_result_t r;
    char *full = e2e_traced_info("full", full_argv, NULL, &r);
    char *base = e2e_traced_info("base", base_argv, NULL, NULL);

    cr_expect_str_eq(r.out, "threads: 5 threads done\n");
    expect_clean(full, "exit");
    expect_clean(base, "exit");
    EXPECT_EQ("alloc_calls delta", delta(full, base, "alloc_calls"), 2005);
    EXPECT_EQ("alloc_bytes delta", delta(full, base, "alloc_bytes"), 121177);
    EXPECT_EQ("free_calls delta", delta(full, base, "free_calls"), 2001);
    EXPECT_EQ("malloc calls delta", entry_delta(full, base, "malloc", "calls"), 2001);
    EXPECT_EQ("malloc bytes delta", entry_delta(full, base, "malloc", "bytes"), 120777);
    EXPECT_EQ("calloc calls delta", entry_delta(full, base, "calloc", "calls"), 4);
    EXPECT_EQ("calloc bytes delta", entry_delta(full, base, "calloc", "bytes"), 400);
    /* The baseline's own calls come from glibc (pthread_create's DTV), never
     * from malloc in these threads. */
    EXPECT_EQ("baseline malloc calls", e2e_entry(base, "malloc", "calls"), 0);
    expect_no_mapping_calls(full);
    expect_no_mapping_calls(base);

    /* main + 4 workers + namer; the namer's name is recorded. */
    EXPECT_EQ("threads", e2e_int(full, "threads"), 6);
    const char *list = e2e_json_get(full, "thread_list");
    cr_assert_not_null(list, "no thread_list in %s", full);
    int named = 0, n = 0;
    for (const char *t; (t = e2e_json_at(list, n)) != NULL; n++)
        if (strcmp(e2e_str(t, "name"), "mt-namer") == 0)
            named++;
    EXPECT_EQ("thread_list entries", n, 6);
    EXPECT_EQ("threads named mt-namer", named, 1);
    free(full);
    free(base);
    e2e_result_free(&r);
}

Test(examples, cxx_exact_totals)
{
    const char *full_argv[] = {"cxx", NULL};
    const char *base_argv[] = {"cxx", "baseline", NULL};
    e2e_result_t r;
    char *full = e2e_traced_info("full", full_argv, NULL, &r);
    char *base = e2e_traced_info("base", base_argv, NULL, NULL);

    cr_expect_str_eq(r.out, "cxx: leaked 48 bytes in 1 block\n");
    expect_clean(full, "exit");
    EXPECT_EQ("alloc_calls delta", delta(full, base, "alloc_calls"), 21);
    EXPECT_EQ("alloc_bytes delta", delta(full, base, "alloc_bytes"), 1729);
    EXPECT_EQ("free_calls delta", delta(full, base, "free_calls"), 20);
    EXPECT_EQ("operator new calls", entry_delta(full, base, "operator new", "calls"), 20);
    EXPECT_EQ("operator new bytes", entry_delta(full, base, "operator new", "bytes"), 1329);
    EXPECT_EQ("operator new[] calls", entry_delta(full, base, "operator new[]", "calls"), 1);
    EXPECT_EQ("operator new[] bytes", entry_delta(full, base, "operator new[]", "bytes"), 400);
    EXPECT_EQ("operator delete calls", entry_delta(full, base, "operator delete", "calls"), 19);
    EXPECT_EQ("operator delete[] calls", entry_delta(full, base, "operator delete[]", "calls"), 1);
    /* operator new's own malloc inside libstdc++ is allocator-internal. */
    EXPECT_EQ("malloc calls delta", entry_delta(full, base, "malloc", "calls"), 0);
    EXPECT_EQ("free calls delta", entry_delta(full, base, "free", "calls"), 0);
    /* The baseline is libstdc++'s emergency exception pool, one malloc. */
    EXPECT_EQ("baseline alloc_calls", e2e_int(base, "alloc_calls"), 1);
    EXPECT_EQ("baseline malloc calls", e2e_entry(base, "malloc", "calls"), 1);
    EXPECT_EQ("baseline free_calls", e2e_int(base, "free_calls"), 0);
    expect_no_mapping_calls(full);
    free(full);
    free(base);
    e2e_result_free(&r);
}

/* operator new[] throwing std::bad_alloc through the hook: every call is
 * counted (the three that threw too), and the thread is still traced after
 * the exceptions, so the guard was dropped while they unwound. */
Test(examples, cxx_throwing_new_is_counted_and_recovers)
{
    const char *argv[] = {"cxx_throw", NULL};
    e2e_result_t r;
    char *info = e2e_traced_info("throw", argv, NULL, &r);
    cr_expect_str_eq(r.out, "caught 3\n");
    expect_clean(info, "exit");
    EXPECT_EQ("operator new[] calls", e2e_entry(info, "operator new[]", "calls"), 8);
    EXPECT_EQ("operator new[] bytes", e2e_entry(info, "operator new[]", "bytes"),
              3ll * (1ll << 60) + 5 * 40);
    EXPECT_EQ("operator delete[] calls", e2e_entry(info, "operator delete[]", "calls"), 5);
    free(info);
    e2e_result_free(&r);
}
