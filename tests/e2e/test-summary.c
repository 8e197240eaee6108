/* test-summary.c - `mtrace-analyze summary` end to end: examples/kvstore run
 * under the shim (MTRACE_SAMPLE=all, a tick every 20 ms) in the three
 * phases made for it, and summary must give each the expected verdicts with
 * the exact numbers the example's header implies. The example sleeps 30 ms
 * per step, so the verdicts keep wide margins on a loaded machine: healthy
 * fragments ~1.15 (warn at 1.3), fragment ~2.9 (bad at 1.5), leak's RSS grows
 * ~50% in the second half of the run (10% needed) with one stack growing in 14-15 of
 * 15 intervals (10 needed; 32 steps, two or more per interval). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static void setup(void)
{
    e2e_tmpdir();
}

TestSuite(summary, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 120);

/* Runs kvstore MODE under the shim; returns its trace directory (malloc'd). */
static char *traced(const char *mode)
{
    char out[4200];
    snprintf(out, sizeof(out), "MTRACE_OUT=%s/%s.%%p", e2e_tmpdir(), mode);
    const char *argv[] = {"kvstore", mode, NULL};
    const char *env[] = {"MTRACE_FLUSH_MS=20", out, NULL};
    e2e_proc_t p;
    e2e_result_t r;
    cr_assert_eq(e2e_start_traced(&p, argv, env), 0);
    e2e_wait(&p, &r, 60);
    cr_assert(!r.timed_out, "kvstore %s timed out", mode);
    cr_assert_eq(r.exit_code, 0, "kvstore %s exited %d: %s", mode, r.exit_code, r.err);
    e2e_result_free(&r);
    char *dirs[8], prefix[4200], *found = NULL;
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 8);
    snprintf(prefix, sizeof(prefix), "%s/%s.", e2e_tmpdir(), mode);
    for (int i = 0; i < n; i++)
        if (strncmp(dirs[i], prefix, strlen(prefix)) == 0)
            found = strdup(dirs[i]);
    e2e_free_list(dirs, n);
    cr_assert(found, "no trace %s*", prefix);
    return found;
}

/* mtrace-analyze summary [--json] TRACE; its stdout (malloc'd). */
static char *summary(const char *trace, bool json)
{
    const char *argv[] = {e2e_analyze(), "summary", json ? "--json" : trace,
                          json ? trace : NULL, NULL};
    e2e_result_t r;
    e2e_run_for(&r, argv, NULL, NULL, 60);
    cr_assert_eq(r.exit_code, 0, "summary exited %d: %s", r.exit_code, r.err);
    char *out = r.out;
    r.out = NULL;
    e2e_result_free(&r);
    return out;
}

/* The finding NAME of a summary --json object. */
static const char *finding(const char *doc, const char *name)
{
    const char *arr = e2e_json_get(doc, "findings");
    cr_assert(arr, "no findings: %s", doc);
    for (int i = 0;; i++) {
        const char *f = e2e_json_at(arr, i);
        cr_assert(f, "no finding %s in %s", name, doc);
        if (strcmp(e2e_str(f, "name"), name) == 0)
            return f;
    }
}

/* numbers.KEY of finding F. */
static double number(const char *f, const char *key)
{
    const char *nums = e2e_json_get(f, "numbers");
    cr_assert(nums, "no numbers");
    const char *v = e2e_json_get(nums, key);
    cr_assert(v, "no number %s", key);
    return strtod(v, NULL);
}

static void expect_verdict(const char *doc, const char *name, const char *want)
{
    const char *f = finding(doc, name);
    cr_expect_str_eq(e2e_str(f, "verdict"), want, "%s: %s", name, f);
}

Test(summary, healthy)
{
    char *trace = traced("healthy");
    char *doc = summary(trace, true);
    cr_expect_str_eq(e2e_str(doc, "verdict"), "ok", "%s", doc);
    cr_expect_str_eq(e2e_str(doc, "allocator"), "glibc");
    for (const char *const *n = (const char *const[]){"trace", "fragmentation", "growth",
                                                       "hot_stacks", "size_classes",
                                                       "pool_growth", "policy_calls", "numa",
                                                       NULL};
         *n; n++)
        expect_verdict(doc, *n, "ok");
    const char *frag = finding(doc, "fragmentation");
    cr_expect(number(frag, "worst") < 1.3 && number(frag, "worst") > 0.9, "worst %g",
              number(frag, "worst"));
    /* 12 Ki values filled, 32 steps of 1024 overwrites, 4000 bytes each. */
    const char *hot = finding(doc, "hot_stacks");
    cr_expect_eq(number(hot, "allocated_bytes"), (12 * 1024 + 32 * 1024) * 4000.0);
    cr_expect_eq(number(hot, "stacks"), 2);
    cr_expect_eq(number(finding(doc, "growth"), "suspects"), 0);
    cr_expect_eq(number(finding(doc, "trace"), "dropped_events"), 0);
    free(doc);
    free(trace);
}

Test(summary, fragmenting_pool)
{
    char *trace = traced("fragment");
    char *doc = summary(trace, true);
    cr_expect_str_eq(e2e_str(doc, "verdict"), "bad", "%s", doc);
    expect_verdict(doc, "fragmentation", "bad");
    expect_verdict(doc, "growth", "ok");
    expect_verdict(doc, "trace", "ok");
    const char *frag = finding(doc, "fragmentation");
    cr_expect(number(frag, "now") >= 2.0, "now %g", number(frag, "now"));
    /* 64 Ki values, 2 of every 3 deleted: 21,845 kept and the last, 1000 bytes each. */
    cr_expect_eq(number(frag, "heap_bytes"), 21846 * 1000.0);
    cr_expect_eq(number(finding(doc, "growth"), "suspects"), 0);
    free(doc);
    free(trace);
}

Test(summary, growing_leak)
{
    char *trace = traced("leak");
    char *doc = summary(trace, true);
    cr_expect_str_eq(e2e_str(doc, "verdict"), "bad", "%s", doc);
    expect_verdict(doc, "growth", "bad");
    expect_verdict(doc, "fragmentation", "ok");
    const char *g = finding(doc, "growth");
    cr_expect_eq(number(g, "suspects"), 1);
    /* 512 values at the start and 256 per step for 32 steps, never deleted: 4000 bytes each. */
    cr_expect_eq(number(g, "suspect_bytes"), (512 + 32 * 256) * 4000.0);
    cr_expect(number(g, "second_half_share") >= 0.10, "%g", number(g, "second_half_share"));
    char cmd[4300];
    snprintf(cmd, sizeof(cmd), "mtrace-analyze leaks --sort growth %s", trace);
    cr_expect_str_eq(e2e_str(g, "command"), cmd);
    free(doc);
    /* The text: the verdict, the suspect and the command, in that order. */
    char *text = summary(trace, false);
    const char *bad = strstr(text, "BAD  growth: RSS keeps growing: ");
    cr_expect(bad, "%s", text);
    cr_expect(bad && strstr(bad, "suspect: set_value, 33.2 MiB live, grew in "), "%s", text);
    snprintf(cmd, sizeof(cmd), "     detail: mtrace-analyze leaks --sort growth %s\n", trace);
    cr_expect(bad && strstr(bad, cmd), "%s", text);
    free(text);
    free(trace);
}

/* A run killed in the middle: the trace finding says so, first, and warns. */
Test(summary, killed_run_is_called_out_first)
{
    char out[4200];
    snprintf(out, sizeof(out), "MTRACE_OUT=%s/killed.%%p", e2e_tmpdir());
    const char *argv[] = {"kvstore", "leak", NULL};
    const char *env[] = {"MTRACE_FLUSH_MS=20", out, NULL};
    e2e_proc_t p;
    e2e_result_t r;
    cr_assert_eq(e2e_start_traced(&p, argv, env), 0);
    /* Until a tick has committed something: the trace directory has a data.mdb. */
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    e2e_signal(&p, SIGKILL);
    e2e_wait(&p, &r, 30);
    cr_assert_eq(r.signal, SIGKILL, "kvstore was not killed: exit %d", r.exit_code);
    e2e_result_free(&r);
    char *dirs[4];
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 4);
    cr_assert_eq(n, 1);
    char *doc = summary(dirs[0], true);
    const char *first = e2e_json_at(e2e_json_get(doc, "findings"), 0);
    cr_assert(first, "%s", doc);
    cr_expect_str_eq(e2e_str(first, "name"), "trace");
    cr_expect_str_eq(e2e_str(first, "verdict"), "warn", "%s", first);
    cr_expect(strstr(e2e_str(first, "text"), "incomplete: the program had not ended cleanly"),
              "%s", first);
    cr_expect_eq(number(first, "complete"), 0);
    free(doc);
    e2e_free_list(dirs, n);
}
