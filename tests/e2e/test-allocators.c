/* test-allocators.c - programs linked to Debian's jemalloc and tcmalloc that
 * call the allocators' own APIs (examples/jemalloc_api.c, tcmalloc_api.cpp)
 * must be traced exactly: every private entry point counted once per call
 * (none twice when the allocator calls itself), every free matched, the
 * leaks exact, and the mappings the allocator makes for itself kept out of
 * the program's mmap totals and NUMA regions. Built with -DHAVE_JEMALLOC
 * and/or -DHAVE_TCMALLOC, for the libraries meson found. And a glibc
 * program that probes for them (examples/alloc_probe.c) must still find
 * none of the probe symbols, and be served by the shim's stand-ins when it
 * calls the private API it finds.
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

TestSuite(allocators, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 60);

#define MiB (1024ll * 1024)
#define EXPECT_EQ(what, got, want)                                                          \
    cr_expect_eq((long long)(got), (long long)(want), "%s: got %lld, want %lld", (what),    \
                 (long long)(got), (long long)(want))

/* Runs EXAMPLE (ARG: NULL or "baseline") under the shim with every call
 * recorded into <tmpdir>/LABEL.<pid>, expecting it to print WANT (or
 * "EXAMPLE: done" when WANT is NULL and ARG too); returns its info JSON
 * (malloc'd) and its trace directory in *TRACE (malloc'd). */
static char *traced_saying(const char *example, const char *label, const char *arg,
                           const char *want, char **trace)
{
    const char *argv[] = {example, arg, NULL};
    e2e_result_t r;
    char *info = e2e_traced_info(label, argv, NULL, &r);
    char done[128];
    snprintf(done, sizeof done, "%s: done\n", example);
    if (want || !arg)
        cr_expect_str_eq(r.out, want ? want : done);
    e2e_result_free(&r);
    char *dirs[64], prefix[256];
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 64);
    snprintf(prefix, sizeof prefix, "%s/%s.", e2e_tmpdir(), label);
    *trace = NULL;
    for (int i = 0; i < n; i++)
        if (strncmp(dirs[i], prefix, strlen(prefix)) == 0)
            *trace = strdup(dirs[i]);
    e2e_free_list(dirs, n);
    cr_assert_not_null(*trace);
    return info;
}

static char *traced(const char *example, const char *label, const char *arg, char **trace)
{
    return traced_saying(example, label, arg, NULL, trace);
}

/* `mtrace-analyze CMD --json=compact [--match RE] TRACE`: stdout (malloc'd). */
static char *analyze(const char *cmd, const char *match, const char *trace)
{
    const char *argv[8];
    int a = 0;
    argv[a++] = e2e_analyze();
    argv[a++] = cmd;
    argv[a++] = "--json=compact";
    if (match) {
        argv[a++] = "--match";
        argv[a++] = match;
    }
    argv[a++] = trace;
    argv[a] = NULL;
    e2e_result_t r;
    e2e_run(&r, argv, NULL, NULL);
    cr_assert_eq(r.exit_code, 0, "mtrace-analyze %s exited %d: %s", cmd, r.exit_code, r.err);
    cr_assert_not_null(strchr(r.out, '{'), "no JSON: %s", r.out);
    free(r.err);
    return r.out;
}

/* Live bytes and objects of the leak stacks with a frame matching MATCH, and
 * that no free in the trace was of an unknown pointer. */
static void expect_leaks(const char *trace, const char *match, long long bytes, long long count)
{
    char *json = analyze("leaks", match, trace);
    const char *stacks = e2e_json_get(json, "stacks");
    cr_assert_not_null(stacks, "%s", json);
    long long b = 0, c = 0;
    for (int i = 0; e2e_json_at(stacks, i); i++) {
        b += e2e_int(e2e_json_at(stacks, i), "bytes");
        c += e2e_int(e2e_json_at(stacks, i), "count");
    }
    EXPECT_EQ("leaked bytes", b, bytes);
    EXPECT_EQ("leaked blocks", c, count);
    const char *traces = e2e_json_get(json, "traces");
    cr_assert_not_null(traces);
    EXPECT_EQ("unknown frees", e2e_int(e2e_json_at(traces, 0), "unknown_frees"), 0);
    free(json);
}

/* The program maps exactly one 1 MiB region itself and writes all of it:
 * that is all the info mmap totals and the numa report's regions may show. */
static void expect_only_own_mapping(const char *info, const char *trace)
{
    EXPECT_EQ("mmap_calls", e2e_int(info, "mmap_calls"), 1);
    EXPECT_EQ("mmap_bytes", e2e_int(info, "mmap_bytes"), MiB);
    EXPECT_EQ("munmap calls", e2e_entry(info, "munmap", "calls"), 0);
    EXPECT_EQ("mremap calls", e2e_entry(info, "mremap", "calls"), 0);
    char *json = analyze("numa", NULL, trace);
    EXPECT_EQ("regions", e2e_int(json, "regions"), 1);
    EXPECT_EQ("regions placed", e2e_int(json, "regions_placed"), 1);
    EXPECT_EQ("region untouched bytes", e2e_int(json, "region_untouched_bytes"), 0);
    const char *nodes = e2e_json_get(json, "nodes");
    cr_assert_not_null(nodes, "%s", json);
    long long region_bytes = 0;
    for (int i = 0; e2e_json_at(nodes, i); i++)
        region_bytes += e2e_int(e2e_json_at(nodes, i), "region_bytes");
    EXPECT_EQ("region bytes on all nodes", region_bytes, MiB);
    free(json);
}

static long long delta(const char *full, const char *base, const char *field)
{
    return e2e_int(full, field) - e2e_int(base, field);
}


/* The sampled half of each private allocating hook starts its stack at the
 * hook's caller (internal.h, MT__CALLER): the allocation of SIZE bytes in
 * TRACE (the only one of that size) is one stack, main;CALLER, with no frame
 * of mtrace's or the allocator's and none lost. */
static void expect_first_frame(const char *trace, const char *size, const char *caller)
{
    const char *argv[] = {e2e_analyze(), "flamegraph", "--folded", "--weight", "count",
                          "--min-size", size, "--max-size", size, trace, NULL};
    e2e_result_t r;
    e2e_run(&r, argv, NULL, NULL);
    cr_assert_eq(r.exit_code, 0, "flamegraph exited %d: %s", r.exit_code, r.err);
    char want[128];
    snprintf(want, sizeof want, "main;%s 1\n", caller);
    size_t n = strlen(r.out), w = strlen(want);
    const char *line = n >= w ? r.out + n - w : r.out;
    cr_expect(n >= w && strcmp(line, want) == 0 && !strchr(r.out, '\n')[1] &&
                  (line == r.out || line[-1] == ';'),
              "size %s: want ...;%s, got: %s", size, want, r.out);
    e2e_result_free(&r);
}

#ifdef HAVE_JEMALLOC
/* The numbers are in examples/jemalloc_api.c. */
Test(allocators, jemalloc_private_api_exact)
{
    char *trace, *base_trace;
    char *info = traced("jemalloc_api", "je", NULL, &trace);
    char *base = traced("jemalloc_api", "jebase", "baseline", &base_trace);

    EXPECT_EQ("mallocx calls", e2e_entry(info, "mallocx", "calls"), 6);
    EXPECT_EQ("mallocx bytes", e2e_entry(info, "mallocx", "bytes"), 8394304);
    EXPECT_EQ("rallocx calls", e2e_entry(info, "rallocx", "calls"), 1);
    EXPECT_EQ("rallocx bytes", e2e_entry(info, "rallocx", "bytes"), 3000);
    EXPECT_EQ("xallocx calls", e2e_entry(info, "xallocx", "calls"), 2);
    EXPECT_EQ("xallocx bytes", e2e_entry(info, "xallocx", "bytes"), 100110);
    EXPECT_EQ("dallocx calls", e2e_entry(info, "dallocx", "calls"), 3);
    EXPECT_EQ("sdallocx calls", e2e_entry(info, "sdallocx", "calls"), 1);
    EXPECT_EQ("sdallocx bytes", e2e_entry(info, "sdallocx", "bytes"), 200);
    EXPECT_EQ("malloc calls - baseline",
              e2e_entry(info, "malloc", "calls") - e2e_entry(base, "malloc", "calls"), 1);
    EXPECT_EQ("free calls - baseline",
              e2e_entry(info, "free", "calls") - e2e_entry(base, "free", "calls"), 1);
    /* Nothing else: the private calls are not also seen as malloc or free. */
    EXPECT_EQ("alloc_calls - baseline", delta(info, base, "alloc_calls"), 6 + 1 + 2 + 1);
    EXPECT_EQ("alloc_bytes - baseline", delta(info, base, "alloc_bytes"),
              8394304 + 3000 + 100110 + 400);
    EXPECT_EQ("free_calls - baseline", delta(info, base, "free_calls"), 3 + 1 + 1);

    expect_leaks(trace, "^use_api$", 3110, 2);
    /* mallocx, rallocx (3000), xallocx in place (110): under use_api. */
    static const char *const je_sizes[] = {"100", "1000", "4096", "200", "300", "3000", "110"};
    for (size_t i = 0; i < sizeof je_sizes / sizeof je_sizes[0]; i++)
        expect_first_frame(trace, je_sizes[i], "use_api");
    /* The baseline's own leak (libstdc++'s pool) plus these two blocks. */
    char *leaks = analyze("leaks", NULL, trace), *base_leaks = analyze("leaks", NULL, base_trace);
    EXPECT_EQ("leaked bytes - baseline", delta(leaks, base_leaks, "total_bytes"), 3110);
    EXPECT_EQ("leaked blocks - baseline", delta(leaks, base_leaks, "total_count"), 2);
    free(leaks);
    free(base_leaks);

    /* jemalloc maps the 8 MiB block's extent (and its arenas) with mmap
     * through its PLT: counted as the allocator's, not the program's. */
    expect_only_own_mapping(info, trace);
    cr_expect_geq(e2e_entry(info, "allocator mmap", "calls"), 1, "%s", info);
    cr_expect_geq(e2e_entry(info, "allocator mmap", "bytes"), 8 * MiB, "%s", info);
    EXPECT_EQ("baseline mmap_calls", e2e_int(base, "mmap_calls"), 0);

    free(info);
    free(base);
    free(trace);
    free(base_trace);
}
#endif

#ifdef HAVE_TCMALLOC
/* The numbers are in examples/tcmalloc_api.cpp. tcmalloc calls itself
 * through its PLT (tc_valloc, tc_pvalloc and tc_posix_memalign call
 * tc_memalign; the sized frees tc_free; its start-up check tc_malloc and
 * tc_free): none of that may be counted. */
Test(allocators, tcmalloc_private_api_exact)
{
    char *trace, *base_trace;
    char *info = traced("tcmalloc_api", "tc", NULL, &trace);
    char *base = traced("tcmalloc_api", "tcbase", "baseline", &base_trace);

    static const struct {
        const char *name;
        long long calls, bytes;
    } want[] = {
        {"tc_malloc", 3, 710},       {"tc_calloc", 1, 120},        {"tc_realloc", 2, 1430},
        {"tc_memalign", 1, 140},     {"tc_posix_memalign", 1, 150}, {"tc_valloc", 1, 160},
        {"tc_pvalloc", 1, 170},      {"tc_new", 6, 1350},          {"tc_newarray", 7, 2310},
        {"tc_free", 5, 140},         {"tc_delete", 6, 0},          {"tc_deletearray", 6, 0},
    };
    long long calls = 0, bytes = 0, frees = 0;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "%s calls", want[i].name);
        EXPECT_EQ(what, e2e_entry(info, want[i].name, "calls"), want[i].calls);
        snprintf(what, sizeof what, "%s bytes", want[i].name);
        EXPECT_EQ(what, e2e_entry(info, want[i].name, "bytes"), want[i].bytes);
        if (strstr(want[i].name, "free") || strstr(want[i].name, "delete"))
            frees += want[i].calls;
        else
            calls += want[i].calls, bytes += want[i].bytes;
    }
    EXPECT_EQ("baseline tc_malloc calls", e2e_entry(base, "tc_malloc", "calls"), 0);
    EXPECT_EQ("baseline tc_free calls", e2e_entry(base, "tc_free", "calls"), 0);
    EXPECT_EQ("malloc calls - baseline",
              e2e_entry(info, "malloc", "calls") - e2e_entry(base, "malloc", "calls"), 1);
    EXPECT_EQ("free calls - baseline",
              e2e_entry(info, "free", "calls") - e2e_entry(base, "free", "calls"), 1);
    /* Nothing else: the private calls are not also seen as malloc or free. */
    EXPECT_EQ("alloc_calls - baseline", delta(info, base, "alloc_calls"), calls + 1);
    EXPECT_EQ("alloc_bytes - baseline", delta(info, base, "alloc_bytes"), bytes + 600);
    EXPECT_EQ("free_calls - baseline", delta(info, base, "free_calls"), frees + 1);

    expect_leaks(trace, "^keep_some$", 2100, 5);
    static const struct {
        const char *size, *caller;
    } tc_first[] = {
        {"100", "free_all"},  {"110", "free_all"},  {"140", "free_all"},  /* malloc, memalign */
        {"160", "free_all"},  {"500", "free_all"},  {"200", "free_all"},  /* valloc, new */
        {"210", "free_all"},  {"220", "free_all"},  {"230", "free_all"},
        {"250", "free_all"},  {"300", "free_all"},  {"350", "free_all"},  /* newarray */
        {"120", "keep_some"}, {"130", "keep_some"}, {"1300", "keep_some"}, /* calloc, realloc */
        {"150", "keep_some"}, {"170", "keep_some"}, {"360", "keep_some"}, /* posix_memalign */
    };
    for (size_t i = 0; i < sizeof tc_first / sizeof tc_first[0]; i++)
        expect_first_frame(trace, tc_first[i].size, tc_first[i].caller);
    char *leaks = analyze("leaks", NULL, trace), *base_leaks = analyze("leaks", NULL, base_trace);
    EXPECT_EQ("leaked bytes - baseline", delta(leaks, base_leaks, "total_bytes"), 2100);
    EXPECT_EQ("leaked blocks - baseline", delta(leaks, base_leaks, "total_count"), 5);
    free(leaks);
    free(base_leaks);

    expect_only_own_mapping(info, trace);
    EXPECT_EQ("baseline mmap_calls", e2e_int(base, "mmap_calls"), 0);

    free(info);
    free(base);
    free(trace);
    free(base_trace);
}
#endif

/* The numbers are in examples/alloc_probe.c. */
Test(allocators, glibc_program_probes_nothing_and_is_served)
{
    const char *argv[] = {e2e_example("alloc_probe"), NULL};
    e2e_result_t r;
    e2e_run(&r, argv, NULL, NULL);
    EXPECT_EQ("exit without the shim", r.exit_code, 0);
    cr_expect_str_eq(r.out, "alloc_probe: no probe found; no private API\n");
    e2e_result_free(&r);

    char *trace;
    char *info = traced_saying("alloc_probe", "probe", NULL,
                               "alloc_probe: no probe found; private API served\n", &trace);
    EXPECT_EQ("mallocx calls", e2e_entry(info, "mallocx", "calls"), 1);
    EXPECT_EQ("mallocx bytes", e2e_entry(info, "mallocx", "bytes"), 256);
    EXPECT_EQ("rallocx calls", e2e_entry(info, "rallocx", "calls"), 1);
    EXPECT_EQ("rallocx bytes", e2e_entry(info, "rallocx", "bytes"), 8192);
    EXPECT_EQ("xallocx calls", e2e_entry(info, "xallocx", "calls"), 1);
    EXPECT_EQ("dallocx calls", e2e_entry(info, "dallocx", "calls"), 1);
    EXPECT_EQ("tc_malloc calls", e2e_entry(info, "tc_malloc", "calls"), 1);
    EXPECT_EQ("tc_free calls", e2e_entry(info, "tc_free", "calls"), 1);
    /* glibc's malloc is the next allocator: no mapping is its own. */
    EXPECT_EQ("allocator mmap calls", e2e_entry(info, "allocator mmap", "calls"), 0);
    EXPECT_EQ("mmap calls", e2e_entry(info, "mmap", "calls"), 0);
    expect_leaks(trace, "^use_found$", 0, 0);
    free(info);
    free(trace);
}
