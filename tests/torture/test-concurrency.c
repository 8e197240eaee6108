/* test-concurrency.c - thread churn, fork, posix_spawn, signals and dlopen
 * under the shim: the program's output and exit status are unchanged, with
 * MTRACE_SAMPLE=all and with default sampling, and every trace opens. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>

#include "torture-run.h"

static void setup(void)
{
    e2e_tmpdir();
}

TestSuite(concurrency, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 150);

Test(concurrency, thousands_of_short_threads)
{
    char prog[4096];
    snprintf(prog, sizeof prog, "%s", tr_prog("t-threads"));
    const char *argv[] = {prog, "3000", NULL};
    tr_case("threads", argv, NULL, 1, 60);
}

/* 8 plain fork children and 8 exec'd ones (each with its pre-exec trace):
 * 1 + 8 + 8 * 2 traces with MTRACE_FOLLOW_FORK=1 (the default). */
Test(concurrency, fork_and_exec_while_allocating)
{
    char prog[4096];
    snprintf(prog, sizeof prog, "%s", tr_prog("t-fork"));
    const char *argv[] = {prog, "8", NULL};
    tr_case("fork", argv, NULL, 1 + 8 + 16, 60);
}

Test(concurrency, posix_spawn_from_threads)
{
    char prog[4096];
    snprintf(prog, sizeof prog, "%s", tr_prog("t-spawn"));
    const char *argv[] = {prog, "4", "6", NULL};
    tr_case("spawn", argv, NULL, 1 + 24, 60);
}

Test(concurrency, timer_signal_handler_allocates)
{
    char prog[4096];
    snprintf(prog, sizeof prog, "%s", tr_prog("t-signal"));
    const char *argv[] = {prog, "500", "timer_create", "spin", NULL};
    tr_case("signal-timer", argv, NULL, 1, 30);
}

Test(concurrency, setitimer_signal_handler_allocates)
{
    char prog[4096];
    snprintf(prog, sizeof prog, "%s", tr_prog("t-signal"));
    const char *argv[] = {prog, "500", "setitimer", "spin", NULL};
    tr_case("signal-itimer", argv, NULL, 1, 30);
}

/* The signal lands inside the shim's munmap hook, between its timestamp and
 * its push: the handler's events reach the ring first, with later times. The
 * writer must keep recording (it orders the stream), not stop. */
Test(concurrency, timer_signal_inside_map_hooks)
{
    char prog[4096];
    snprintf(prog, sizeof prog, "%s", tr_prog("t-signal"));
    const char *argv[] = {prog, "500", "timer_create", "map", NULL};
    tr_case("signal-map", argv, NULL, 1, 30);
}

/* A run of 1 ms sees a few signals at most: the program runs on until 50
 * were handled, as it must when a loaded machine lets its main thread run
 * only a few times in 500 ms (it exited 3, "only 47 signals handled, 243
 * maps", beside the full test suite and two busy loops). */
Test(concurrency, timer_signal_counts_fifty_however_short_the_run)
{
    char prog[4096];
    snprintf(prog, sizeof prog, "%s", tr_prog("t-signal"));
    const char *argv[] = {prog, "1", "timer_create", "map", NULL};
    tr_case("signal-short", argv, NULL, 1, 60);
}

Test(concurrency, dlopen_dlclose_churn)
{
    char prog[4096], plugin[4096];
    snprintf(plugin, sizeof plugin, "%s", tr_prog("libtorture-plugin.so"));
    snprintf(prog, sizeof prog, "%s", tr_prog("t-dlopen"));
    const char *argv[] = {prog, plugin, "300", NULL};
    tr_case("dlopen", argv, NULL, 1, 60);
}
