/* test-lifecycle.c - fork, exec and SIGKILL under the shim.
 *
 * forker's exact per-process totals are listed in examples/forker.c. Traces
 * go to <tmpdir>/%e.%p, so each process's directory is named for its command
 * and pid, and the test tells them apart by the pids info reports.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static void setup(void)
{
    e2e_tmpdir();
}

TestSuite(lifecycle, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 30);

#define EXPECT_EQ(what, got, want)                                                          \
    cr_expect_eq((long long)(got), (long long)(want), "%s: got %lld, want %lld", (what),    \
                 (long long)(got), (long long)(want))

#define MAX_TRACES 8

typedef struct traces {
    int n;
    char *dir[MAX_TRACES];
    char *info[MAX_TRACES];
} traces_t;

/* Reads the info of every trace directory in the temporary directory. */
static void read_traces(traces_t *t)
{
    t->n = e2e_list_dirs(e2e_tmpdir(), t->dir, MAX_TRACES);
    for (int i = 0; i < t->n; i++)
        t->info[i] = e2e_info(t->dir[i]);
}

static void free_traces(traces_t *t)
{
    for (int i = 0; i < t->n; i++)
        free(t->info[i]);
    e2e_free_list(t->dir, t->n);
}

/* The info of the trace whose pid is PID and command COMMAND, or NULL. */
static const char *trace_of(const traces_t *t, long long pid, const char *command)
{
    const char *found = NULL;
    for (int i = 0; i < t->n; i++) {
        if (e2e_int(t->info[i], "pid") != pid || strcmp(e2e_str(t->info[i], "command"), command))
            continue;
        cr_assert_null(found, "two traces of %s pid %lld", command, pid);
        found = t->info[i];
    }
    return found;
}

/* The info of the one trace other than those of pid EXCEPT, or NULL. */
static const char *trace_not_of(const traces_t *t, long long except)
{
    const char *found = NULL;
    for (int i = 0; i < t->n; i++)
        if (e2e_int(t->info[i], "pid") != except)
            found = t->info[i];
    return found;
}

static void expect_totals(const char *who, const char *info, long long calls, long long bytes,
                          long long frees)
{
    cr_expect(e2e_int(info, "alloc_calls") == calls && e2e_int(info, "alloc_bytes") == bytes &&
                  e2e_int(info, "free_calls") == frees,
              "%s: alloc_calls %lld alloc_bytes %lld free_calls %lld, want %lld %lld %lld", who,
              e2e_int(info, "alloc_calls"), e2e_int(info, "alloc_bytes"),
              e2e_int(info, "free_calls"), calls, bytes, frees);
}

static void expect_end(const char *who, const char *info, const char *end_reason)
{
    cr_expect(e2e_bool(info, "complete"), "%s: complete is false: %s", who, info);
    cr_expect_str_eq(e2e_str(info, "end_reason"), end_reason, "%s: end_reason", who);
}

/* Fork without exec (redis BGSAVE's pattern): the child gets its own trace
 * with only what it allocated after the fork, and it ends with _exit. */
Test(lifecycle, fork_child_gets_own_trace)
{
    const char *argv[] = {"forker", "fork", NULL};
    const char *env[] = {"MTRACE_FOLLOW_FORK=1", NULL};
    e2e_result_t r;
    traces_t t;

    e2e_run_traced(&r, argv, env);
    cr_assert_eq(r.exit_code, 0, "forker exited %d; stderr: %s", r.exit_code, r.err);
    cr_expect_str_eq(r.out, "forker: child exited 0\n");
    read_traces(&t);
    cr_assert_eq(t.n, 2, "want 2 traces (parent, child), found %d", t.n);

    const char *parent = trace_of(&t, r.pid, "forker");
    const char *child = trace_not_of(&t, r.pid);
    cr_assert_not_null(parent, "no trace with the parent's pid %d", (int)r.pid);
    cr_assert_not_null(child, "no trace of the child");
    expect_totals("parent", parent, 2, 2000, 2);
    expect_end("parent", parent, "exit");
    expect_totals("child", child, 5, 1000, 2);
    expect_end("child", child, "_exit");
    EXPECT_EQ("child ppid", e2e_int(child, "ppid"), r.pid);
    EXPECT_EQ("child parent_pid", e2e_int(child, "parent_pid"), r.pid);
    EXPECT_EQ("parent parent_pid", e2e_int(parent, "parent_pid"), 0);
    free_traces(&t);
    e2e_result_free(&r);
}

Test(lifecycle, follow_fork_off_traces_parent_only)
{
    const char *argv[] = {"forker", "fork", NULL};
    const char *env[] = {"MTRACE_FOLLOW_FORK=0", NULL};
    e2e_result_t r;
    traces_t t;

    e2e_run_traced(&r, argv, env);
    cr_assert_eq(r.exit_code, 0, "forker exited %d; stderr: %s", r.exit_code, r.err);
    cr_expect_str_eq(r.out, "forker: child exited 0\n");
    cr_expect_str_eq(r.err, "", "stderr: %s", r.err);
    read_traces(&t);
    cr_assert_eq(t.n, 1, "want only the parent's trace, found %d", t.n);
    EXPECT_EQ("pid", e2e_int(t.info[0], "pid"), r.pid);
    expect_totals("parent", t.info[0], 2, 2000, 2);
    expect_end("parent", t.info[0], "exit");
    free_traces(&t);
    e2e_result_free(&r);
}

/* fork + exec: the child's pre-exec trace ends with "exec"; the new image
 * (leaky, same pid) has a trace of its own with leaky's exact totals. */
Test(lifecycle, exec_starts_new_trace)
{
    char leaky[4096];
    snprintf(leaky, sizeof leaky, "%s", e2e_example("leaky"));
    const char *argv[] = {"forker", "exec", leaky, NULL};
    e2e_result_t r;
    traces_t t;

    e2e_run_traced(&r, argv, NULL);
    cr_assert_eq(r.exit_code, 0, "forker exited %d; stderr: %s", r.exit_code, r.err);
    cr_expect_str_eq(r.out, "leaky: leaked 13288 bytes in 13 blocks\n"
                            "forker: exec'd child exited 0\n");
    read_traces(&t);
    cr_assert_eq(t.n, 3, "want 3 traces (parent, child before exec, leaky), found %d", t.n);

    const char *parent = trace_of(&t, r.pid, "forker");
    cr_assert_not_null(parent, "no trace of the parent, pid %d", (int)r.pid);
    expect_totals("parent", parent, 1, 1000, 1);
    expect_end("parent", parent, "exit");

    const char *image = NULL;
    for (int i = 0; i < t.n; i++)
        if (strcmp(e2e_str(t.info[i], "command"), "leaky") == 0)
            image = t.info[i];
    cr_assert_not_null(image, "no trace of the exec'd leaky");
    long long child_pid = e2e_int(image, "pid");
    const char *before = trace_of(&t, child_pid, "forker");
    cr_assert_not_null(before, "no trace of the child before exec (pid %lld)", child_pid);
    expect_totals("child before exec", before, 2, 600, 1);
    expect_end("child before exec", before, "exec");
    EXPECT_EQ("child ppid", e2e_int(before, "ppid"), r.pid);
    expect_totals("leaky", image, 39, 23256, 24);
    expect_end("leaky", image, "exit");
    EXPECT_EQ("leaky ppid", e2e_int(image, "ppid"), r.pid);
    free_traces(&t);
    e2e_result_free(&r);
}

/* An exec that fails returns to a program that goes on: the child's trace,
 * committed as complete for the exec, keeps recording and ends with _exit. */
Test(lifecycle, failed_exec_keeps_tracing)
{
    const char *argv[] = {"forker", "exec", "/nonexistent/mtrace-no-such-program", NULL};
    e2e_result_t r;
    traces_t t;

    e2e_run_traced(&r, argv, NULL);
    cr_assert_eq(r.exit_code, 127, "forker exited %d; stderr: %s", r.exit_code, r.err);
    cr_expect_str_eq(r.out, "forker: exec'd child failed\n");
    read_traces(&t);
    cr_assert_eq(t.n, 2, "want 2 traces (parent, child), found %d", t.n);
    const char *parent = trace_of(&t, r.pid, "forker");
    cr_assert_not_null(parent);
    expect_totals("parent", parent, 1, 1000, 1);
    const char *child = NULL;
    for (int i = 0; i < t.n; i++)
        if (t.info[i] != parent)
            child = t.info[i];
    cr_assert_not_null(child);
    expect_totals("child", child, 3, 650, 1);
    expect_end("child", child, "_exit");
    free_traces(&t);
    e2e_result_free(&r);
}

/* The allocation events the trace of T->info[I] holds (MTRACE_SAMPLE=all:
 * one per call), read back with `top --json`. */
static void expect_recorded(const char *who, const traces_t *t, const char *info,
                            long long count, long long bytes)
{
    const char *dir = NULL;
    for (int i = 0; i < t->n; i++)
        if (t->info[i] == info)
            dir = t->dir[i];
    cr_assert_not_null(dir);
    const char *cmd[] = {e2e_analyze(), "top", "-n", "0", "--json=compact", dir, NULL};
    e2e_result_t r;
    e2e_run(&r, cmd, NULL, NULL);
    cr_assert_eq(r.exit_code, 0, "%s: top exited %d: %s", who, r.exit_code, r.err);
    cr_expect(e2e_int(r.out, "total_count") == count && e2e_int(r.out, "total_bytes") == bytes,
              "%s: %lld allocation events of %lld bytes recorded, want %lld of %lld", who,
              e2e_int(r.out, "total_count"), e2e_int(r.out, "total_bytes"), count, bytes);
    e2e_result_free(&r);
}

/* daemon(): glibc forks and its parent leaves through the internal _exit,
 * which no hook sees. The parent's trace holds its events and ends with
 * "daemon"; the child (the daemon) has its own trace ending with "exit". */
Test(lifecycle, daemon_parent_trace_complete)
{
    const char *argv[] = {"exits", "daemon", NULL};
    e2e_result_t r;
    traces_t t;

    e2e_run_traced(&r, argv, NULL); /* the child keeps stdout: waits for it too */
    cr_assert_eq(r.exit_code, 0, "exits exited %d; stderr: %s", r.exit_code, r.err);
    cr_expect_str_eq(r.out, "exits: daemon child done\n");
    read_traces(&t);
    cr_assert_eq(t.n, 2, "want 2 traces (parent, daemon), found %d", t.n);
    const char *parent = trace_of(&t, r.pid, "exits");
    const char *child = trace_not_of(&t, r.pid);
    cr_assert_not_null(parent, "no trace of the parent, pid %d", (int)r.pid);
    cr_assert_not_null(child, "no trace of the daemon");
    expect_totals("parent", parent, 3, 3000, 1);
    expect_end("parent", parent, "daemon");
    expect_recorded("parent", &t, parent, 3, 3000);
    expect_totals("daemon", child, 2, 1000, 1);
    expect_end("daemon", child, "exit");
    expect_recorded("daemon", &t, child, 2, 1000);
    EXPECT_EQ("daemon parent_pid", e2e_int(child, "parent_pid"), r.pid);
    free_traces(&t);
    e2e_result_free(&r);
}

/* With MTRACE_FOLLOW_FORK=0 the daemon runs untraced; the parent's trace is
 * still complete. */
Test(lifecycle, daemon_follow_fork_off)
{
    const char *argv[] = {"exits", "daemon", NULL};
    const char *env[] = {"MTRACE_FOLLOW_FORK=0", NULL};
    e2e_result_t r;
    traces_t t;

    e2e_run_traced(&r, argv, env);
    cr_assert_eq(r.exit_code, 0, "exits exited %d; stderr: %s", r.exit_code, r.err);
    cr_expect_str_eq(r.out, "exits: daemon child done\n");
    read_traces(&t);
    cr_assert_eq(t.n, 1, "want only the parent's trace, found %d", t.n);
    EXPECT_EQ("pid", e2e_int(t.info[0], "pid"), r.pid);
    expect_totals("parent", t.info[0], 3, 3000, 1);
    expect_end("parent", t.info[0], "daemon");
    expect_recorded("parent", &t, t.info[0], 3, 3000);
    free_traces(&t);
    e2e_result_free(&r);
}

/* quick_exit() runs its handlers, then glibc's internal _exit: the trace
 * holds the handler's allocation too and ends with "quick_exit". */
Test(lifecycle, quick_exit_trace_complete)
{
    const char *argv[] = {"exits", "quick_exit", NULL};
    e2e_result_t r;
    traces_t t;

    e2e_run_traced(&r, argv, NULL);
    cr_assert_eq(r.exit_code, 0, "exits exited %d; stderr: %s", r.exit_code, r.err);
    read_traces(&t);
    cr_assert_eq(t.n, 1, "want 1 trace, found %d", t.n);
    expect_totals("quick_exit", t.info[0], 4, 3700, 1);
    expect_end("quick_exit", t.info[0], "quick_exit");
    expect_recorded("quick_exit", &t, t.info[0], 4, 3700);
    free_traces(&t);
    e2e_result_free(&r);
}

/* main calls pthread_exit: the process ends when its last thread does, and
 * mtrace's writer thread must not be that last thread (it kept the process
 * alive for ever). Totals are the difference from the baseline run. */
Test(lifecycle, main_pthread_exit_ends_process)
{
    const char *argv[] = {"exits", "pthread_exit", NULL};
    const char *base_argv[] = {"exits", "pthread_exit", "baseline", NULL};
    e2e_result_t r;
    traces_t t;
    long long base[3];

    e2e_run_traced(&r, base_argv, NULL);
    cr_assert_eq(r.exit_code, 0, "baseline exited %d signal %d; stderr: %s", r.exit_code,
                 r.signal, r.err);
    read_traces(&t);
    cr_assert_eq(t.n, 1, "want 1 baseline trace, found %d", t.n);
    expect_end("baseline", t.info[0], "pthread_exit");
    base[0] = e2e_int(t.info[0], "alloc_calls");
    base[1] = e2e_int(t.info[0], "alloc_bytes");
    base[2] = e2e_int(t.info[0], "free_calls");
    free_traces(&t);
    e2e_result_free(&r);
    e2e_tmpdir_remove();
    e2e_tmpdir();

    e2e_run_traced(&r, argv, NULL);
    cr_assert_eq(r.exit_code, 0, "exits exited %d signal %d; stderr: %s", r.exit_code, r.signal,
                 r.err);
    cr_expect_str_eq(r.out, "exits: worker done\n");
    read_traces(&t);
    cr_assert_eq(t.n, 1, "want 1 trace, found %d", t.n);
    expect_totals("pthread_exit", t.info[0], base[0] + 5, base[1] + 4000, base[2] + 2);
    expect_end("pthread_exit", t.info[0], "pthread_exit");
    free_traces(&t);
    e2e_result_free(&r);
}

/* system and popen: glibc spawns the shell with an internal clone and exec,
 * no hook on the way; the parent's trace goes on and ends with "exit", the
 * shell has a complete trace of its own. popen's totals include glibc's
 * FILE and buffers (glibc 2.36). */
static void expect_spawned_shell(const char *mode, long long calls, long long bytes,
                                 long long frees)
{
    const char *argv[] = {"exits", mode, NULL};
    e2e_result_t r;
    traces_t t;

    e2e_run_traced(&r, argv, NULL);
    cr_assert_eq(r.exit_code, 0, "exits %s exited %d; stderr: %s", mode, r.exit_code, r.err);
    read_traces(&t);
    cr_assert_eq(t.n, 2, "%s: want 2 traces (program, sh), found %d", mode, t.n);
    const char *parent = trace_of(&t, r.pid, "exits");
    cr_assert_not_null(parent, "%s: no trace of the program", mode);
    expect_totals(mode, parent, calls, bytes, frees);
    expect_end(mode, parent, "exit");
    expect_recorded(mode, &t, parent, calls, bytes);
    const char *sh = trace_not_of(&t, r.pid);
    cr_assert_not_null(sh);
    cr_expect_str_eq(e2e_str(sh, "command"), "sh");
    cr_expect(e2e_bool(sh, "complete"), "%s: the shell's trace is incomplete: %s", mode, sh);
    EXPECT_EQ("sh ppid", e2e_int(sh, "ppid"), r.pid);
    free_traces(&t);
    e2e_result_free(&r);
}

Test(lifecycle, system_and_popen_traces_complete)
{
    expect_spawned_shell("system", 3, 3000, 1);
    e2e_tmpdir_remove();
    e2e_tmpdir();
    expect_spawned_shell("popen", 6, 7608, 4);
}

/* _Fork runs no fork handlers: its child stays untraced (it may only make
 * async-signal-safe calls) and leaves the parent's trace alone. */
Test(lifecycle, underscore_fork_child_untraced)
{
    const char *argv[] = {"exits", "_Fork", NULL};
    e2e_result_t r;
    traces_t t;

    e2e_run_traced(&r, argv, NULL);
    cr_assert_eq(r.exit_code, 0, "exits exited %d; stderr: %s", r.exit_code, r.err);
    cr_expect_str_eq(r.err, "", "stderr: %s", r.err);
    read_traces(&t);
    cr_assert_eq(t.n, 1, "want only the parent's trace, found %d", t.n);
    EXPECT_EQ("pid", e2e_int(t.info[0], "pid"), r.pid);
    expect_totals("parent", t.info[0], 3, 3000, 1);
    expect_end("parent", t.info[0], "exit");
    expect_recorded("parent", &t, t.info[0], 3, 3000);
    free_traces(&t);
    e2e_result_free(&r);
}

/* Runs `fdlimit LIMIT` untraced; returns its "child K" count, the first
 * number in *FIRST, and asserts the parent's are the same. */
static int fdlimit_bare(const char *limit, int *first)
{
    char prog[4096];
    snprintf(prog, sizeof prog, "%s", e2e_example("fdlimit"));
    const char *argv[] = {prog, limit, NULL};
    e2e_result_t r;
    int child = -1, parent = -2, parent_first = -2;
    e2e_run(&r, argv, NULL, NULL);
    cr_assert_eq(r.exit_code, 0, "untraced fdlimit exited %d: %s", r.exit_code, r.err);
    cr_assert_eq(sscanf(r.out, "child %d from %d\nparent %d from %d\n", &child, first, &parent,
                        &parent_first), 4, "out: %s", r.out);
    cr_assert(child == parent && *first == parent_first, "untraced: %s", r.out);
    e2e_result_free(&r);
    return child;
}

/* RLIMIT_NOFILE=8, fork: a trace holds 3 descriptors, the top 3 numbers
 * (the program's files get the numbers they get untraced), and the fork
 * child closes the 3 it inherited from the parent's trace before opening its
 * own (it could not open one: 3 + 3 of its 5 free). */
Test(lifecycle, low_fd_limit_fork_child_traced)
{
    int first;
    int bare = fdlimit_bare("8", &first);
    const char *argv[] = {"fdlimit", "8", NULL};
    e2e_result_t r;
    traces_t t;
    char want[64];

    e2e_run_traced(&r, argv, NULL);
    cr_assert_eq(r.exit_code, 0, "fdlimit exited %d; stderr: %s", r.exit_code, r.err);
    snprintf(want, sizeof want, "child %d from %d\nparent %d from %d\n", bare - 3, first,
             bare - 3, first);
    cr_expect_str_eq(r.out, want, "untraced each opened %d from %d", bare, first);
    cr_expect_str_eq(r.err, "", "stderr: %s", r.err);
    read_traces(&t);
    cr_assert_eq(t.n, 3, "want 3 traces (before exec, parent, child), found %d", t.n);
    int before = 0, parent = 0, child = 0;
    for (int i = 0; i < t.n; i++) {
        const char *end = e2e_str(t.info[i], "end_reason");
        cr_expect(e2e_bool(t.info[i], "complete"), "trace %s incomplete", t.dir[i]);
        if (e2e_int(t.info[i], "pid") != r.pid) {
            child++;
            cr_expect_str_eq(end, "exit");
            EXPECT_EQ("child parent_pid", e2e_int(t.info[i], "parent_pid"), r.pid);
        } else if (strcmp(end, "exec") == 0) {
            before++;
        } else {
            parent++;
            cr_expect_str_eq(end, "exit");
        }
    }
    cr_expect(before == 1 && parent == 1 && child == 1,
              "traces: %d before exec, %d parent, %d child; want 1 each", before, parent, child);
    free_traces(&t);
    e2e_result_free(&r);
}

/* RLIMIT_NOFILE=5 leaves 2 free: too few for a trace. One warning, and the
 * program opens exactly as many files as untraced. */
Test(lifecycle, fd_limit_too_low_steps_aside)
{
    int first;
    int bare = fdlimit_bare("5", &first);
    const char *argv[] = {"fdlimit", "5", NULL};
    e2e_result_t r;
    traces_t t;
    char want[64];

    e2e_run_traced(&r, argv, NULL);
    cr_assert_eq(r.exit_code, 0, "fdlimit exited %d; stderr: %s", r.exit_code, r.err);
    snprintf(want, sizeof want, "child %d from %d\nparent %d from %d\n", bare, first, bare,
             first);
    cr_expect_str_eq(r.out, want);
    cr_expect_eq(e2e_count_lines(r.err), 1, "want one warning, stderr: %s", r.err);
    cr_expect(strstr(r.err, "mtrace: warning: cannot create trace") != NULL, "stderr: %s", r.err);
    read_traces(&t);
    cr_assert_eq(t.n, 1, "want only the trace before exec, found %d", t.n);
    cr_expect_str_eq(e2e_str(t.info[0], "end_reason"), "exec");
    free_traces(&t);
    e2e_result_free(&r);
}

/* SIGKILL: what was committed before the kill is readable, and the trace
 * says it did not end cleanly. */
Test(lifecycle, sigkill_leaves_readable_incomplete_trace)
{
    const char *argv[] = {"spin", NULL};
    const char *env[] = {"MTRACE_FLUSH_MS=10", NULL};
    const struct timespec settle = {0, 300 * 1000000}; /* 30 commit intervals */
    e2e_proc_t p;
    e2e_result_t r;
    traces_t t;

    cr_assert_eq(e2e_start_traced(&p, argv, env), 0);
    bool started = e2e_read_stdout(&p, 1, E2E_TIMEOUT);
    if (started)
        nanosleep(&settle, NULL);
    e2e_signal(&p, SIGKILL);
    e2e_wait(&p, &r, E2E_TIMEOUT);
    cr_assert(started, "spin never said it started; stderr: %s", r.err);
    cr_assert_eq(r.signal, SIGKILL, "spin ended with exit %d signal %d", r.exit_code, r.signal);

    read_traces(&t);
    cr_assert_eq(t.n, 1, "want 1 trace, found %d", t.n);
    const char *info = t.info[0];
    cr_expect(!e2e_bool(info, "complete"), "a killed program's trace says complete: %s", info);
    /* spin wrote its byte after 100 malloc/free pairs, 300 ms ago. */
    cr_expect_gt(e2e_int(info, "events"), 0, "no events committed: %s", info);
    cr_expect_geq(e2e_int(info, "alloc_calls"), 100, "alloc_calls %lld",
                  e2e_int(info, "alloc_calls"));
    cr_expect_geq(e2e_int(info, "free_calls"), 100, "free_calls %lld",
                  e2e_int(info, "free_calls"));
    free_traces(&t);
    e2e_result_free(&r);
}
