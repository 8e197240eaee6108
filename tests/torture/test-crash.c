/* test-crash.c - abort() and SIGKILL at seeded random points: the program
 * dies as it would untraced, and its trace opens and says it is incomplete.
 * The seed is printed; MTRACE_TORTURE_SEED=N repeats a run. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "torture-run.h"

static void setup(void)
{
    e2e_tmpdir();
}

TestSuite(crash, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 110);

static unsigned seed_base(void)
{
    const char *s = getenv("MTRACE_TORTURE_SEED");
    unsigned seed = s && *s ? (unsigned)strtoul(s, NULL, 10) : (unsigned)time(NULL);
    fprintf(stderr, "crash: seed %u (MTRACE_TORTURE_SEED=%u repeats it)\n", seed, seed);
    return seed;
}

static void expect_incomplete(const char *label)
{
    char *infos[4] = {0};
    int n = tr_check_traces(label, false, infos, 4);
    cr_expect_eq(n, 1, "%s: %d traces, want 1", label, n);
    for (int i = 0; i < n && i < 4; i++) {
        cr_expect(!e2e_bool(infos[i], "complete"), "%s: a killed program's trace says "
                  "complete: %s", label, infos[i]);
        free(infos[i]);
    }
}

Test(crash, abort_at_random_points)
{
    unsigned seed = seed_base();
    char prog[4096], s[32], label[64];
    snprintf(prog, sizeof prog, "%s", tr_prog("t-crash"));
    for (int i = 0; i < 6; i++) {
        snprintf(s, sizeof s, "%u", seed + (unsigned)i);
        const char *argv[] = {prog, s, "abort", NULL};
        e2e_result_t plain, traced;
        snprintf(label, sizeof label, "abort-%d", i);
        tr_run(&plain, TR_UNTRACED, label, argv, NULL, NULL, 30);
        cr_assert_eq(plain.signal, SIGABRT, "seed %s: untraced ended with exit %d signal %d",
                     s, plain.exit_code, plain.signal);
        tr_run(&traced, i % 2 ? TR_SAMPLE_DEFAULT : TR_SAMPLE_ALL, label, argv, NULL, NULL, 30);
        tr_expect_same(label, &plain, &traced, 0);
        expect_incomplete(label);
        e2e_result_free(&plain);
        e2e_result_free(&traced);
    }
}

Test(crash, sigkill_at_random_points)
{
    unsigned seed = seed_base();
    char prog[4096], s[32], label[64];
    snprintf(prog, sizeof prog, "%s", tr_prog("t-crash"));
    srand(seed);
    for (int i = 0; i < 8; i++) {
        snprintf(s, sizeof s, "%u", seed + (unsigned)i);
        snprintf(label, sizeof label, "kill-%d", i);
        const char *argv[] = {prog, s, "run", NULL};
        char preload[4200], out[4200];
        snprintf(preload, sizeof preload, "LD_PRELOAD=%s", e2e_lib());
        snprintf(out, sizeof out, "MTRACE_OUT=%s/%%e.%%p", tr_dir(label));
        const char *env[] = {preload, out, "MTRACE_QUIET=1",
                             i % 2 ? "MTRACE_SAMPLE=512K" : "MTRACE_SAMPLE=all",
                             "MTRACE_FLUSH_MS=10", NULL};
        e2e_proc_t p;
        e2e_result_t r;
        cr_assert_eq(e2e_start(&p, argv, env, e2e_tmpdir()), 0);
        bool ready = e2e_read_stdout(&p, 13, 10);
        /* Anywhere from right after start-up to well into the run. */
        long ms = rand() % 400;
        struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&d, NULL);
        e2e_signal(&p, SIGKILL);
        e2e_wait(&p, &r, 10);
        cr_assert(ready, "seed %s: never printed ready; stderr: %s", s, r.err);
        cr_expect_eq(r.signal, SIGKILL, "seed %s: exit %d signal %d", s, r.exit_code, r.signal);
        cr_expect_str_eq(r.out, "crash: ready\n");
        expect_incomplete(label);
        e2e_result_free(&r);
    }
}
