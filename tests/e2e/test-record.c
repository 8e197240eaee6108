/* test-record.c - mtrace-record, the launcher: it finds the shim, passes
 * the program's output, exit status and signals through, lists the traces a
 * run wrote, and refuses in one line what cannot be traced.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static void setup(void)
{
    e2e_tmpdir();
}

TestSuite(record, .init = setup, .fini = e2e_tmpdir_remove, .timeout = 30);

static const char *record(void)
{
    const char *p = getenv("MTRACE_RECORD");
    cr_assert(p && *p, "MTRACE_RECORD is not set (run through meson test)");
    return p;
}

/* Runs mtrace-record with ARGS (NULL-terminated) in the temporary directory. */
static void run_record(e2e_result_t *r, const char *const args[], const char *const env[])
{
    const char *argv[32];
    int n = 0;
    argv[n++] = record();
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    e2e_run(r, argv, env, e2e_tmpdir());
}

Test(record, traces_an_example_and_names_its_trace)
{
    char out[4096];
    snprintf(out, sizeof out, "%s/%%e.%%p", e2e_tmpdir());
    const char *args[] = {"-s", "all", "-o", out, e2e_example("leaky"), NULL};
    e2e_result_t r;
    run_record(&r, args, NULL);
    cr_expect_eq(r.exit_code, 0, "exit %d, stderr: %s", r.exit_code, r.err);
    cr_expect_str_eq(r.out, "leaky: leaked 13288 bytes in 13 blocks\n");

    char *dirs[4];
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 4);
    cr_assert_eq(n, 1, "%d trace directories", n);
    const char *name = strrchr(dirs[0], '/') + 1;
    char want[512];
    snprintf(want, sizeof want, "mtrace-record: 1 trace written: %s\n", name);
    cr_expect(strstr(r.err, want), "stderr lacks '%s': %s", want, r.err);
    snprintf(want, sizeof want, "mtrace-record: read with: mtrace-analyze top %s\n", name);
    cr_expect(strstr(r.err, want), "stderr lacks '%s': %s", want, r.err);

    char *info = e2e_info(dirs[0]);
    cr_expect_eq(e2e_int(info, "sample_interval"), 0);
    cr_expect_eq(e2e_int(info, "alloc_calls"), 39);
    cr_expect_eq(e2e_int(info, "alloc_bytes"), 23256);
    cr_expect_eq(e2e_int(info, "free_calls"), 24);
    free(info);
    e2e_free_list(dirs, n);
    e2e_result_free(&r);
}

Test(record, lists_fork_children_and_passes_options)
{
    char out[4096];
    snprintf(out, sizeof out, "%s/%%e.%%p", e2e_tmpdir());
    /* forker fork makes one child; --no-follow-fork leaves it untraced. */
    const char *args[] = {"-q", "-o", out, e2e_example("forker"), "fork", NULL};
    e2e_result_t r;
    run_record(&r, args, NULL);
    cr_expect_eq(r.exit_code, 0, "exit %d, stderr: %s", r.exit_code, r.err);
    cr_expect_str_eq(r.err, "", "-q must silence mtrace and the launcher: %s", r.err);
    char *dirs[16];
    int traced = e2e_list_dirs(e2e_tmpdir(), dirs, 16);
    cr_expect_eq(traced, 2, "forker with its child traced left %d traces", traced);
    for (int i = 0; i < traced; i++) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dirs[i]);
        cr_assert_eq(system(cmd), 0);
    }
    e2e_free_list(dirs, traced);
    e2e_result_free(&r);

    const char *args2[] = {"--no-follow-fork", "-o", out, e2e_example("forker"), "fork", NULL};
    run_record(&r, args2, NULL);
    cr_expect_eq(r.exit_code, 0);
    int alone = e2e_list_dirs(e2e_tmpdir(), dirs, 16);
    cr_expect_eq(alone, 1, "--no-follow-fork left %d traces", alone);
    cr_expect(strstr(r.err, "mtrace-record: 1 trace written: "), "%s", r.err);
    e2e_free_list(dirs, alone);
    e2e_result_free(&r);

    /* Without -q, the parent's and the child's traces are both listed. */
    const char *args3[] = {"-o", out, e2e_example("forker"), "fork", NULL};
    run_record(&r, args3, NULL);
    cr_expect(strstr(r.err, "mtrace-record: 2 traces written: "), "%s", r.err);
    e2e_result_free(&r);
}

Test(record, prepends_the_shim_to_ld_preload)
{
    const char *args[] = {"-q", "/bin/sh", "-c", "printf '%s' \"$LD_PRELOAD\"", NULL};
    const char *env[] = {"LD_PRELOAD=libm.so.6", NULL};
    e2e_result_t r;
    run_record(&r, args, env);
    cr_expect_eq(r.exit_code, 0, "%s", r.err);
    char want[4200];
    snprintf(want, sizeof want, "%s:libm.so.6", e2e_lib());
    char *real_want = realpath(e2e_lib(), NULL);
    /* The launcher names the shim by its own path; both spellings are the file. */
    cr_expect(strstr(r.out, ":libm.so.6") && r.out[0] == '/', "LD_PRELOAD was '%s'", r.out);
    char *colon = strstr(r.out, ":libm.so.6");
    *colon = '\0';
    char *got = realpath(r.out, NULL);
    cr_expect(got && real_want && strcmp(got, real_want) == 0, "shim '%s' is not %s", r.out, want);
    free(got);
    free(real_want);
    e2e_result_free(&r);
}

Test(record, passes_exit_status_and_signal_death_through)
{
    e2e_result_t r;
    const char *exit7[] = {"-q", "/bin/sh", "-c", "exit 7", NULL};
    run_record(&r, exit7, NULL);
    cr_expect_eq(r.exit_code, 7);
    e2e_result_free(&r);

    const char *term[] = {"-q", "/bin/sh", "-c", "kill -TERM $$", NULL};
    run_record(&r, term, NULL);
    cr_expect_eq(r.exit_code, 128 + SIGTERM, "death by SIGTERM gave %d", r.exit_code);
    e2e_result_free(&r);

    const char *kill9[] = {"-q", "/bin/sh", "-c", "kill -KILL $$", NULL};
    run_record(&r, kill9, NULL);
    cr_expect_eq(r.exit_code, 128 + SIGKILL, "death by SIGKILL gave %d", r.exit_code);
    e2e_result_free(&r);
}

Test(record, forwards_a_signal_sent_to_the_launcher)
{
    /* The program reports the SIGTERM it got, then exits 3. */
    const char *argv[] = {record(), "-q", "/bin/sh", "-c",
                          "trap 'echo got TERM; exit 3' TERM; echo ready; while :; do sleep 0.05; done",
                          NULL};
    e2e_proc_t p;
    cr_assert_eq(e2e_start(&p, argv, NULL, e2e_tmpdir()), 0);
    cr_assert(e2e_read_stdout(&p, 6, 10.0), "the program did not start");
    kill(p.pid, SIGTERM); /* the launcher alone, not its process group */
    e2e_result_t r;
    e2e_wait(&p, &r, 10.0);
    cr_expect(!r.timed_out);
    cr_expect_eq(r.exit_code, 3, "exit %d, stdout '%s'", r.exit_code, r.out);
    cr_expect(strstr(r.out, "got TERM"), "stdout '%s'", r.out);
    e2e_result_free(&r);
}

/* Exit 127 and exactly one line on stderr containing WHAT. */
static void expect_refusal(const char *const args[], const char *what)
{
    e2e_result_t r;
    run_record(&r, args, NULL);
    cr_expect_eq(r.exit_code, 127, "exit %d", r.exit_code);
    cr_expect_eq(e2e_count_lines(r.err), 1, "not one line: %s", r.err);
    cr_expect(strstr(r.err, what), "stderr lacks '%s': %s", what, r.err);
    cr_expect_str_eq(r.out, "");
    char *dirs[2];
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 2);
    cr_expect_eq(n, 0, "a refused run left %d traces", n);
    e2e_free_list(dirs, n);
    e2e_result_free(&r);
}

Test(record, refuses_a_static_program)
{
    const char *prog = e2e_example("leaky_static");
    if (access(prog, X_OK) != 0)
        cr_skip_test("no static example (this system cannot link -static)");
    const char *args[] = {prog, NULL};
    expect_refusal(args, "is statically linked (no PT_INTERP)");
}

Test(record, refuses_a_setuid_program)
{
    char copy[4200];
    snprintf(copy, sizeof copy, "%s/leaky-setuid", e2e_tmpdir());
    char cmd[8600];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && chmod 4755 '%s'", e2e_example("leaky"), copy, copy);
    cr_assert_eq(system(cmd), 0);
    const char *args[] = {copy, NULL};
    expect_refusal(args, "is setuid: the dynamic loader ignores LD_PRELOAD");
    unlink(copy);
}

Test(record, refuses_a_missing_program)
{
    const char *args[] = {"no-such-program-mtrace", NULL};
    expect_refusal(args, "no-such-program-mtrace: command not found");
}

Test(record, usage_errors)
{
    e2e_result_t r;
    const char *none[] = {NULL};
    run_record(&r, none, NULL);
    cr_expect_eq(r.exit_code, 2);
    cr_expect(strstr(r.err, "no program to run"), "%s", r.err);
    e2e_result_free(&r);

    const char *help[] = {"--help", NULL};
    run_record(&r, help, NULL);
    cr_expect_eq(r.exit_code, 0);
    cr_expect(strstr(r.out, "usage: mtrace-record [options] [--] PROGRAM [ARGS...]"), "%s", r.out);
    e2e_result_free(&r);
}

/* A directory holding an older run (leaky) and a newer one (forker's parent,
 * its fork child and the image the child exec'd): `top` and `leaks` with no
 * TRACE read the newer run, all three of its traces, and say so on stderr. */
Test(record, reports_default_to_the_newest_run_here)
{
    e2e_result_t r;
    const char *older[] = {"-q", "-s", "all", e2e_example("leaky"), NULL};
    run_record(&r, older, NULL);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    e2e_result_free(&r);
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL); /* distinct start times */
    char forker[4096];
    snprintf(forker, sizeof forker, "%s", e2e_example("forker"));
    const char *newer[] = {"-q", "-s", "all", forker, "exec", e2e_example("leaky"), NULL};
    run_record(&r, newer, NULL);
    cr_assert_eq(r.exit_code, 0, "%s", r.err);
    e2e_result_free(&r);
    char *dirs[8];
    int n = e2e_list_dirs(e2e_tmpdir(), dirs, 8);
    cr_assert_eq(n, 4, "%d traces", n);
    e2e_free_list(dirs, n);

    const char *cmds[] = {"top", "leaks"};
    for (int c = 0; c < 2; c++) {
        const char *argv[] = {e2e_analyze(), cmds[c], "--json", NULL};
        e2e_run(&r, argv, NULL, e2e_tmpdir());
        cr_expect_eq(r.exit_code, 0, "%s: %s", cmds[c], r.err);
        const char *traces = e2e_json_get(r.out, "traces");
        cr_assert(traces, "%s: no traces key: %s", cmds[c], r.out);
        int forker = 0, leaky = 0, count = 0;
        for (const char *t; (t = e2e_json_at(traces, count)); count++) {
            const char *cmd = e2e_str(t, "command");
            forker += strcmp(cmd, "forker") == 0;
            leaky += strcmp(cmd, "leaky") == 0;
        }
        cr_expect_eq(count, 3, "%s read %d traces", cmds[c], count);
        cr_expect_eq(forker, 2, "%s: forker's parent and fork child", cmds[c]);
        cr_expect_eq(leaky, 1, "%s: only the leaky that forker's child exec'd", cmds[c]);
        cr_expect(strstr(r.err, "no TRACE given; reading the newest run here: "), "%s", r.err);
        e2e_result_free(&r);
    }

    /* In a directory without traces: one line, a usage error. */
    const char *argv[] = {e2e_analyze(), "top", NULL};
    e2e_run(&r, argv, NULL, "/");
    cr_expect_eq(r.exit_code, 2);
    cr_expect_eq(e2e_count_lines(r.err), 1, "%s", r.err);
    cr_expect(strstr(r.err, "no trace in the current directory"), "%s", r.err);
    e2e_result_free(&r);
}
