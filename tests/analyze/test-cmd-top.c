/* test-cmd-top.c - `mtrace-analyze top` and `leaks` on the replay fixture
 * of make-trace.c (exact numbers in JSON and text), corrupt blocks, usage
 * errors, the cmd-info title fix and live mode. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "run.h"

static char *tmp;
static char trace[4200];

static void setup(void)
{
    mt_test_trace_setup(&tmp, trace, sizeof(trace), "mtrace.gen.100");
}

static void teardown(void)
{
    mt_test_trace_teardown(&tmp);
}

TestSuite(top, .init = setup, .fini = teardown);

#define FRAME_401 "{\"function\":null,\"file\":null,\"line\":null,\"module\":\"" FX_R_MODULE \
                  "\",\"address\":\"0x401000\",\"inlined\":false,\"offset\":4096}"
#define FRAME_402 "{\"function\":null,\"file\":null,\"line\":null,\"module\":\"" FX_R_MODULE \
                  "\",\"address\":\"0x402000\",\"inlined\":false,\"offset\":8192}"

Test(top, json_exact)
{
    mt_make_trace(trace, "replay");
    mt_run_t r;
    mt_analyze(&r, "top", "--json=compact", trace, NULL, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect_str_empty(r.err);
    cr_expect_eq(mt_count_lines(r.out), 1);
    expect_has(r.out, "{\"total_bytes\":" STR(FX_R_BYTES) ",\"total_count\":" STR(FX_R_CALLS)
                      ",\"total_exact\":true,\"total_bytes_error\":0,\"total_count_error\":0,"
                      "\"confidence\":0.95,\"estimated\":false,\"sample_interval\":0,"
                      "\"complete\":true,");
    expect_has(r.out, "\"peak_bytes\":" STR(FX_R_PEAK) ",\"peak_bytes_error\":0,\"peak_ns\":70,"
                      "\"live_bytes\":" STR(FX_R_LIVE) ",\"live_bytes_error\":0,\"live_count\":4,"
                      "\"live_count_error\":0,\"temp_count\":1,\"temp_count_error\":0,\"entries\":3,");
    expect_has(r.out, "\"unknown_frees\":1");
    expect_has(r.out, "\"stacks\":[{\"bytes\":12288,\"bytes_error\":0,\"count\":3,"
                      "\"count_error\":0,\"peak_bytes\":12288,\"peak_bytes_error\":0,"
                      "\"live_bytes\":12288,\"live_bytes_error\":0,\"live_count\":3,"
                      "\"live_count_error\":0,\"temp_count\":0,\"temp_count_error\":0,\"min_size\":4096,"
                      "\"max_size\":4096,\"stacks\":1,\"frames\":[" FRAME_401 "," FRAME_402 "]},"
                      "{\"bytes\":200,\"bytes_error\":0,\"count\":2,\"count_error\":0,"
                      "\"peak_bytes\":100,\"peak_bytes_error\":0,\"live_bytes\":0,"
                      "\"live_bytes_error\":0,\"live_count\":0,\"live_count_error\":0,"
                      "\"temp_count\":1,\"temp_count_error\":0,\"min_size\":100,\"max_size\":100,");
    expect_has(r.out, "{\"bytes\":16,\"bytes_error\":0,\"count\":1,");
    expect_has(r.out, "\"frames\":[{\"function\":null,\"file\":null,\"line\":null,"
                      "\"module\":null,\"address\":\"0x7f0000000010\",\"inlined\":false,"
                      "\"offset\":139637976727568}]}]}");
    mt_run_free(&r);

    mt_analyze(&r, "top", "--json=compact", "--sort", "temp", "-n1", trace);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "\"stacks\":[{\"bytes\":200,\"bytes_error\":0,\"count\":2,");
    cr_expect(!strstr(r.out, "\"bytes\":12288"), "-n 1 shows one entry:\n%s", r.out);
    mt_run_free(&r);

    mt_analyze(&r, "top", "--json=compact", "--max-size", "100", trace, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "{\"total_bytes\":216,\"total_count\":3,\"total_exact\":true,"
                      "\"total_bytes_error\":0,\"total_count_error\":0,");
    mt_run_free(&r);
}

Test(top, text)
{
    mt_make_trace(trace, "replay");
    mt_run_t r;
    mt_analyze(&r, "top", trace, NULL, NULL, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strncmp(r.out, "malloc total 12.2 KiB in 6 calls (every call recorded; exact)\n"
                             "peak heap 12.1 KiB at 70 ns; 12.0 KiB live in 4 objects at the "
                             "end; 1 temporary allocation\n\n"
                             "#1   12 KiB (98.3%) in 3 calls (50.0%)\n"
                             "     peak 12 KiB, live 12 KiB in 3 objects, 0 temporary, size 4 KiB\n"
                             "    libfix.so+0x1000  -  libfix.so\n"
                             "    libfix.so+0x2000  -  libfix.so\n",
                      strlen("malloc total 12.2 KiB in 6 calls (every call recorded; exact)\n")) == 0,
              "%s", r.out);
    expect_has(r.out, "#1   12 KiB (98.3%) in 3 calls (50.0%)\n"
                      "     peak 12 KiB, live 12 KiB in 3 objects, 0 temporary, size 4 KiB\n"
                      "    libfix.so+0x1000  -  libfix.so\n"
                      "    libfix.so+0x2000  -  libfix.so\n");
    expect_has(r.out, "#3   16 B (0.1%) in 1 call (16.7%)\n");
    expect_has(r.out, "    0x7f0000000010  -  ?\n");
    mt_run_free(&r);

    mt_analyze(&r, "top", "--match", "nothing-matches-this", trace, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "malloc (matching) total 0 B in 0 calls");
    expect_has(r.out, "(no allocation stacks match)");
    mt_run_free(&r);

    mt_analyze(&r, "top", "--match", "libfix", "--json=compact", trace, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "\"total_bytes\":12488,\"total_count\":5,\"total_exact\":true");
    expect_has(r.out, "\"entries\":2,");
    mt_run_free(&r);
}

Test(top, leaks)
{
    mt_make_trace(trace, "replay");
    mt_run_t r;
    mt_analyze(&r, "leaks", "--json=compact", trace, NULL, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "{\"total_bytes\":" STR(FX_R_LIVE) ",\"total_count\":4,"
                      "\"total_bytes_error\":0,\"total_count_error\":0,\"confidence\":0.95,");
    expect_has(r.out, "\"ended\":\"exit\",\"sort\":\"bytes\",\"entries\":2,");
    expect_has(r.out, "\"stacks\":[{\"bytes\":12288,\"bytes_error\":0,\"count\":3,"
                      "\"count_error\":0,\"allocated_bytes\":12288,\"allocated_bytes_error\":0,"
                      "\"allocated_count\":3,\"allocated_count_error\":0,"
                      "\"sizes\":[{\"size\":4096,\"count\":3}],"
                      "\"distinct_sizes\":1,\"growth_steps\":");
    expect_has(r.out, "\"frames\":[" FRAME_401 "," FRAME_402 "]}");
    expect_has(r.out, "{\"bytes\":16,\"bytes_error\":0,\"count\":1,\"count_error\":0,"
                      "\"allocated_bytes\":16,\"allocated_bytes_error\":0,\"allocated_count\":1,"
                      "\"allocated_count_error\":0,\"sizes\":[{\"size\":16,\"count\":1}]");
    mt_run_free(&r);

    mt_analyze(&r, "leaks", trace, NULL, NULL, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strncmp(r.out, "12.0 KiB in 4 objects not freed before exit (every call "
                             "recorded; exact)\n", 70) == 0, "%s", r.out);
    expect_has(r.out, "#1   12 KiB (99.9%) in 3 objects (75.0%), 3 x 4 KiB\n"
                      "     allocated 12 KiB in 3 calls\n");
    expect_has(r.out, "#2   16 B (0.1%) in 1 object (25.0%), 1 x 16 B\n");
    mt_run_free(&r);

    mt_analyze(&r, "leaks", "--sort", "growth", "--json=compact", trace, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "\"sort\":\"growth\"");
    mt_run_free(&r);
}

/* One call, one live object: singular nouns everywhere (was "1 calls",
 * "live in 1 objects"). */
Test(top, singular_nouns)
{
    mt_make_trace(trace, "replay");
    mt_run_t r;
    mt_analyze(&r, "top", "--max-size", "16", trace, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_expect(strncmp(r.out, "malloc (matching) total 16 B in 1 call (every call recorded; "
                             "exact)\n"
                             "peak heap 16 B at 70 ns; 16 B live in 1 object at the end; "
                             "0 temporary allocations\n\n"
                             "#1   16 B (100.0%) in 1 call (100.0%)\n"
                             "     peak 16 B, live 16 B in 1 object, 0 temporary, size 16 B\n",
                      200) == 0,
              "%s", r.out);
    mt_run_free(&r);

    mt_analyze(&r, "leaks", "-n", "1", trace, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "\n... 1 more entry (-n 0 shows all)\n");
    mt_run_free(&r);
}

/* The sampled fixture (make-trace.c sampled_events): two samples of 1000
 * bytes at weight 2 give 4000 B with variance 2 * 1000^2 * 2 * 1 = 4e6 B^2,
 * a 95% bound of ceil(1.959964 * 2000) = 3920 B; 4 calls +- ceil(1.96 * 2);
 * live (one sample) 2000 B +- ceil(1.96 * 1414.2) = 2772 B in 2 +- 3. The
 * 64 KiB sample of weight 1 is exact: no bound. */
Test(top, sampled_error_bounds)
{
    mt_make_trace(trace, "sampled");
    mt_run_t r;
    mt_analyze(&r, "top", trace, NULL, NULL, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "malloc total 66.9 KiB in 5 calls (sampled every 512 KiB; totals exact, "
                      "stacks are estimates, \u00b1 at 95% confidence)\n");
    expect_has(r.out, "#1   64 KiB (95.6%) in 1 call (20.0%), estimated\n"
                      "     peak 64 KiB, live 64 KiB in 1 object, 0 temporary, size 64 KiB\n");
    expect_has(r.out, "#2   3.9 KiB \u00b1 3.8 KiB (5.8%) in 4 \u00b1 4 calls (80.0%), estimated\n"
                      "     peak 2.0 KiB \u00b1 2.7 KiB, live 2.0 KiB \u00b1 2.7 KiB in 2 \u00b1 3 "
                      "objects, 2 \u00b1 3 temporary, size 1000 B\n");
    mt_run_free(&r);

    mt_analyze(&r, "top", "--json=compact", "--max-size", "1000", trace, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "{\"total_bytes\":4000,\"total_count\":4,\"total_exact\":false,"
                      "\"total_bytes_error\":3920,\"total_count_error\":4,\"confidence\":0.95,");
    expect_has(r.out, "\"stacks\":[{\"bytes\":4000,\"bytes_error\":3920,\"count\":4,"
                      "\"count_error\":4,\"peak_bytes\":4000,\"peak_bytes_error\":3920,"
                      "\"live_bytes\":2000,\"live_bytes_error\":2772,\"live_count\":2,"
                      "\"live_count_error\":3,\"temp_count\":2,\"temp_count_error\":3,");
    mt_run_free(&r);

    mt_analyze(&r, "leaks", trace, NULL, NULL, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "66.0 KiB \u00b1 2.7 KiB in 3 \u00b1 3 objects not freed before exit "
                      "(sampled every 512 KiB; estimates, \u00b1 at 95% confidence)\n");
    expect_has(r.out, "#2   2.0 KiB \u00b1 2.7 KiB (3.0%) in 2 \u00b1 3 objects (66.7%), "
                      "2 x 1000 B, estimated\n"
                      "     allocated 3.9 KiB \u00b1 3.8 KiB in 4 \u00b1 4 calls\n");
    mt_run_free(&r);

    mt_analyze(&r, "leaks", "--json=compact", trace, NULL, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "{\"total_bytes\":67536,\"total_count\":3,\"total_bytes_error\":2772,"
                      "\"total_count_error\":3,\"confidence\":0.95,");
    expect_has(r.out, "{\"bytes\":2000,\"bytes_error\":2772,\"count\":2,\"count_error\":3,"
                      "\"allocated_bytes\":4000,\"allocated_bytes_error\":3920,"
                      "\"allocated_count\":4,\"allocated_count_error\":4,");
    mt_run_free(&r);
}

Test(top, corrupt_block)
{
    mt_make_trace(trace, "corrupt");
    const char *cmds[] = {"top", "leaks"};
    for (int i = 0; i < 2; i++) {
        mt_run_t r;
        mt_analyze(&r, cmds[i], trace, NULL, NULL, NULL);
        cr_expect_eq(r.status, 1);
        cr_expect_str_empty(r.out, "nothing is printed before the error:\n%s", r.out);
        expect_has(r.err, "mtrace-analyze: error: ");
        expect_has(r.err, ": event block ");
        expect_has(r.err, " is corrupt; the trace may be damaged");
        cr_expect_eq(mt_count_lines(r.err), 1, "%s", r.err);
        mt_run_free(&r);
    }
}

Test(top, usage_errors)
{
    mt_make_trace(trace, "replay");
    static const char *const bad[][3] = {
        {"top", "--sort", "nope"}, {"top", "--by", "file"},     {"top", "--match", "("},
        {"top", "-n", "x"},        {"top", "--min-size", "1Q"}, {"leaks", "--sort", "count"},
        {"top", "-i", "0"},        {"leaks", "--pool", "-3"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mt_run_t r;
        mt_analyze(&r, bad[i][0], bad[i][1], bad[i][2], trace, NULL);
        cr_expect_eq(r.status, 2, "%s %s %s: %d\n%s", bad[i][0], bad[i][1], bad[i][2], r.status,
                     r.err);
        cr_expect_str_empty(r.out);
        mt_run_free(&r);
    }
    mt_run_t r;
    mt_analyze(&r, "leaks", NULL, NULL, NULL, NULL);
    cr_expect_eq(r.status, 2);
    expect_has(r.err, "no TRACE given");
    mt_run_free(&r);
}

Test(top, info_trims_rewritten_title)
{
    mt_make_trace(trace, "title");
    mt_run_t r;
    mt_analyze(&r, "info", trace, NULL, NULL, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "\nargs      'redis-server *:6379'\n");
    mt_run_free(&r);
    mt_analyze(&r, "info", "--json=compact", trace, NULL, NULL);
    expect_has(r.out, "\"argv\":[\"redis-server *:6379\"],");
    mt_run_free(&r);
}

/* -i: prints a report per interval until SIGINT, then exits 0. */
Test(top, live_mode, .timeout = 20)
{
    mt_make_trace(trace, "replay");
    char out[] = "/tmp/mtrace-live-XXXXXX";
    int fd = mkstemp(out);
    cr_assert(fd >= 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        dup2(fd, 1);
        execl(ANALYZE, ANALYZE, "top", "-i", "50", trace, (char *)NULL);
        _exit(127);
    }
    usleep(400 * 1000);
    kill(pid, SIGINT);
    int ws;
    cr_assert_eq(waitpid(pid, &ws, 0), pid);
    cr_expect(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "status %d", ws);
    FILE *f = fopen(out, "r");
    cr_assert(f);
    char line[512];
    int reports = 0;
    while (fgets(line, sizeof(line), f))
        reports += strncmp(line, "malloc total 12.2 KiB in 6 calls", 32) == 0;
    fclose(f);
    unlink(out);
    close(fd);
    cr_expect_geq(reports, 2, "expected a report per 50 ms, got %d", reports);
}
