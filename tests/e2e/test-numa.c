/* test-numa.c - examples/numa_regions under the shim, read with
 * `mtrace-analyze numa --json`: the regions libnuma maps and binds are seen,
 * touched memory is resident on node 0 (this machine has one node: honestly
 * node 0), never-touched memory is untouched, and the set_mempolicy calls are
 * counted with their stacks. The numbers are in examples/numa_regions.c.
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

TestSuite(numa, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 60);

#define MiB (1024ll * 1024)
#define EXPECT_EQ(what, got, want)                                                          \
    cr_expect_eq((long long)(got), (long long)(want), "%s: got %lld, want %lld", (what),    \
                 (long long)(got), (long long)(want))

/* Runs numa_regions (ARG: NULL or "baseline") under the shim into
 * <tmpdir>/LABEL.<pid> and returns that trace's directory (malloc'd). */
static char *traced(const char *label, const char *arg)
{
    const char *argv[] = {"numa_regions", arg, NULL};
    e2e_result_t r;
    free(e2e_traced_info(label, argv, NULL, &r));
    if (!arg)
        cr_expect_str_eq(r.out, "numa_regions: done\n");
    e2e_result_free(&r);
    char *dirs[64], prefix[256], *found = NULL;
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 64);
    snprintf(prefix, sizeof prefix, "%s/%s.", e2e_tmpdir(), label);
    for (int i = 0; i < n; i++)
        if (strncmp(dirs[i], prefix, strlen(prefix)) == 0)
            found = strdup(dirs[i]);
    e2e_free_list(dirs, n);
    cr_assert_not_null(found);
    return found;
}

/* `mtrace-analyze numa --json -n 0 EXTRA... TRACE`: its stdout (malloc'd). */
static char *numa_json(const char *trace, const char *extra1, const char *extra2)
{
    const char *argv[8];
    int a = 0;
    argv[a++] = e2e_analyze();
    argv[a++] = "numa";
    argv[a++] = "--json";
    argv[a++] = "-n";
    argv[a++] = "0";
    if (extra1)
        argv[a++] = extra1;
    if (extra2)
        argv[a++] = extra2;
    argv[a++] = trace;
    argv[a] = NULL;
    e2e_result_t r;
    e2e_run(&r, argv, NULL, NULL);
    cr_assert_eq(r.exit_code, 0, "mtrace-analyze numa exited %d: %s", r.exit_code, r.err);
    cr_assert_not_null(strchr(r.out, '{'), "no JSON: %s", r.out);
    free(r.err);
    return r.out;
}

/* The node-0 entry of "nodes". */
static const char *node0(const char *json)
{
    const char *nodes = e2e_json_get(json, "nodes");
    cr_assert_not_null(nodes);
    const char *n = e2e_json_at(nodes, 0);
    cr_assert_not_null(n, "no nodes: %s", json);
    EXPECT_EQ("first node id", e2e_int(n, "node"), 0);
    cr_expect_null(e2e_json_at(nodes, 1), "more than one node on a one-node machine: %s", json);
    return n;
}

/* Innermost frame of STACK whose function is FN, with its file's base name. */
static bool has_frame(const char *stack, const char *fn, const char *file)
{
    const char *frames = e2e_json_get(stack, "frames");
    char buf[256];
    for (int i = 0; frames && e2e_json_at(frames, i); i++) {
        const char *f = e2e_json_at(frames, i);
        if (!e2e_json_str(f, "function", buf, sizeof buf) || strcmp(buf, fn) != 0)
            continue;
        if (!file)
            return true;
        if (!e2e_json_str(f, "file", buf, sizeof buf))
            return false;
        const char *base = strrchr(buf, '/');
        return strcmp(base ? base + 1 : buf, file) == 0;
    }
    return false;
}

Test(numa, regions_placement_and_policy_calls)
{
    char *trace = traced("full", NULL);
    char *base_trace = traced("base", "baseline");
    char *json = numa_json(trace, NULL, NULL);
    char *base = numa_json(base_trace, NULL, NULL);

    /* Two numa_alloc_onnode regions: both seen (mmap) and both answered. */
    EXPECT_EQ("regions", e2e_int(json, "regions"), 2);
    EXPECT_EQ("regions_placed", e2e_int(json, "regions_placed"), 2);
    const char *calls = e2e_json_get(json, "calls"), *base_calls = e2e_json_get(base, "calls");
    cr_assert_not_null(calls);
    cr_assert_not_null(base_calls);
    EXPECT_EQ("mbind calls", e2e_int(calls, "mbind") - e2e_int(base_calls, "mbind"), 2);
    /* libnuma's constructor probes set_mempolicy itself: count the difference. */
    EXPECT_EQ("set_mempolicy calls",
              e2e_int(calls, "set_mempolicy") - e2e_int(base_calls, "set_mempolicy"), 4);
    EXPECT_EQ("move_pages calls", e2e_int(calls, "move_pages"), 0);
    EXPECT_EQ("migrate_pages calls", e2e_int(calls, "migrate_pages"), 0);

    /* Touched: 1 MiB of region pages, resident on node 0; the other 5 MiB never touched. */
    const char *n0 = node0(json);
    EXPECT_EQ("node 0 region bytes", e2e_int(n0, "region_bytes"), 1 * MiB);
    EXPECT_EQ("region untouched bytes", e2e_int(json, "region_untouched_bytes"), 5 * MiB);
    EXPECT_EQ("untouched bytes", e2e_int(json, "untouched_bytes"), 5 * MiB);
    cr_expect_geq(e2e_int(n0, "resident_bytes"), 1 * MiB + 65536);
    EXPECT_EQ("remote bytes", e2e_int(json, "remote_bytes"), 0);
    EXPECT_EQ("mismatch bytes", e2e_int(json, "mismatch_bytes"), 0);
    EXPECT_EQ("migrated bytes", e2e_int(json, "migrated_bytes"), 0);
    free(base);
    free(json);

    /* The stacks that mapped the regions: one row each, bound to node 0 by mbind. */
    json = numa_json(trace, "--match", "^map_regions$");
    const char *stacks = e2e_json_get(json, "stacks");
    cr_assert_not_null(stacks);
    int nstacks = 0;
    long long big = -1, small = -1;
    for (const char *s; (s = e2e_json_at(stacks, nstacks)) != NULL; nstacks++) {
        cr_expect_str_eq(e2e_str(s, "kind"), "region");
        cr_expect(has_frame(s, "map_regions", "numa_regions.c"), "no map_regions frame: %s", s);
        const char *pol = e2e_json_get(s, "policy");
        cr_assert_not_null(pol);
        cr_expect_str_eq(e2e_str(pol, "source"), "mbind");
        cr_expect_str_eq(e2e_str(pol, "mode"), "bind");
        cr_expect(!e2e_bool(s, "mismatch"));
        const char *nodes = e2e_json_get(s, "nodes");
        long long on0 = e2e_int(e2e_json_at(nodes, 0), "bytes");
        if (e2e_int(s, "bytes") == 4 * MiB) {
            big = on0;
            EXPECT_EQ("4 MiB region untouched", e2e_int(s, "untouched_bytes"), 3 * MiB);
        } else {
            EXPECT_EQ("2 MiB region bytes", e2e_int(s, "bytes"), 2 * MiB);
            small = on0;
            EXPECT_EQ("2 MiB region untouched", e2e_int(s, "untouched_bytes"), 2 * MiB);
        }
    }
    EXPECT_EQ("region stacks", nstacks, 2);
    EXPECT_EQ("4 MiB region on node 0", big, 1 * MiB);
    EXPECT_EQ("2 MiB region on node 0", small, 0);

    /* set_mempolicy and mbind, by stack, with function and file. */
    const char *ps = e2e_json_get(json, "policy_stacks");
    cr_assert_not_null(ps);
    int mbinds = 0, npolicy = 0;
    for (const char *s; (s = e2e_json_at(ps, npolicy)) != NULL; npolicy++) {
        cr_expect_str_eq(e2e_str(s, "call"), "mbind");
        EXPECT_EQ("mbind count per stack", e2e_int(s, "count"), 1);
        cr_expect(has_frame(s, "map_regions", "numa_regions.c"));
        mbinds++;
    }
    EXPECT_EQ("mbind stacks", mbinds, 2);
    free(json);

    json = numa_json(trace, "--match", "^(prefer_local|reset_policy)$");
    ps = e2e_json_get(json, "policy_stacks");
    cr_assert_not_null(ps);
    int prefer = 0, reset = 0, n = 0;
    for (const char *s; (s = e2e_json_at(ps, n)) != NULL; n++) {
        cr_expect_str_eq(e2e_str(s, "call"), "set_mempolicy");
        if (has_frame(s, "prefer_local", "numa_regions.c")) {
            prefer++;
            EXPECT_EQ("prefer_local calls", e2e_int(s, "count"), 3);
            cr_expect_str_eq(e2e_str(s, "mode"), "preferred");
        } else if (has_frame(s, "reset_policy", "numa_regions.c")) {
            reset++;
            EXPECT_EQ("reset_policy calls", e2e_int(s, "count"), 1);
            cr_expect_str_eq(e2e_str(s, "mode"), "default");
        }
    }
    EXPECT_EQ("set_mempolicy stacks", n, 2);
    EXPECT_EQ("prefer_local stacks", prefer, 1);
    EXPECT_EQ("reset_policy stacks", reset, 1);
    free(json);

    /* The heap block: 64 KiB, every byte written, resident on node 0. */
    json = numa_json(trace, "--match", "^heap_block$");
    stacks = e2e_json_get(json, "stacks");
    const char *hb = stacks ? e2e_json_at(stacks, 0) : NULL;
    cr_assert_not_null(hb, "no heap_block stack: %s", json);
    cr_expect_str_eq(e2e_str(hb, "kind"), "heap");
    EXPECT_EQ("heap_block resident", e2e_int(hb, "resident_bytes"), 65536);
    EXPECT_EQ("heap_block untouched", e2e_int(hb, "untouched_bytes"), 0);
    EXPECT_EQ("heap_block local", e2e_int(hb, "local_bytes"), 65536);
    cr_expect_null(e2e_json_at(stacks, 1));
    free(json);

    /* The text report says the same. */
    const char *argv[] = {e2e_analyze(), "numa", trace, NULL};
    e2e_result_t r;
    e2e_run(&r, argv, NULL, NULL);
    EXPECT_EQ("numa text exit", r.exit_code, 0);
    cr_expect(strstr(r.out, "untouched      5 MiB") != NULL, "%s", r.out);
    cr_expect(strstr(r.out, "requested: mbind bind nodes 0") != NULL, "%s", r.out);
    e2e_result_free(&r);
    free(trace);
    free(base_trace);
}
