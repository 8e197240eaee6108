/* test-cmd-info.c - `mtrace-analyze info` on fixture traces from
 * make-trace.c: exact numbers in JSON and text, and one clear line for every
 * kind of unreadable trace. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "run.h"

static char *tmp;
static char trace[4200];

static void setup(void)
{
    mt_test_trace_setup(&tmp, trace, sizeof(trace), "mtrace.fixture-srv.4242");
}

static void teardown(void)
{
    mt_test_trace_teardown(&tmp);
}

TestSuite(info, .init = setup, .fini = teardown);

/* mtrace-analyze info ARGS... (NULL-terminated, at most 6). */
static void info(mt_run_t *r, const char *a1, const char *a2, const char *a3, const char *a4)
{
    const char *args[] = {"info", a1, a2, a3, a4, NULL};
    mt_run_analyze(r, args);
}

Test(info, json_exact_numbers)
{
    mt_make_trace(trace, "basic");
    mt_run_t r;
    info(&r, "--json=compact", trace, NULL, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_empty(r.err);
    cr_assert_eq(mt_count_lines(r.out), 1, "compact JSON is one line:\n%s", r.out);
    cr_assert(r.out[0] == '{');
    expect_has(r.out, "\"format\":4,");
    expect_has(r.out, "\"pid\":" STR(FX_PID) ",");
    expect_has(r.out, "\"ppid\":" STR(FX_PPID) ",");
    expect_has(r.out, "\"parent_pid\":0,");
    expect_has(r.out, "\"command\":\"" FX_COMMAND "\",");
    expect_has(r.out, "\"exe\":\"" FX_EXE "\",");
    expect_has(r.out, "\"argv\":[\"fixture-srv\",\"--port\",\"six three\"],");
    expect_has(r.out, "\"start_realtime_ns\":1700000000000000000,");
    expect_has(r.out, "\"complete\":true,");
    expect_has(r.out, "\"end_reason\":\"exit\",");
    expect_has(r.out, "\"truncated\":null,");
    expect_has(r.out, "\"sample_interval\":524288,");
    expect_has(r.out, "\"duration_ns\":1500000000,");
    expect_has(r.out, "\"duration_s\":1.5,");
    expect_has(r.out, "\"alloc_calls\":45785,");
    expect_has(r.out, "\"alloc_bytes\":12904585,");
    expect_has(r.out, "\"free_calls\":45005,");
    expect_has(r.out, "\"free_bytes\":0,");
    expect_has(r.out, "\"mmap_calls\":3,");
    expect_has(r.out, "\"mmap_bytes\":3145728,");
    expect_has(r.out, "\"entry_points\":{\"malloc\":{\"calls\":45678,\"bytes\":12897485},"
                      "\"calloc\":{\"calls\":100,\"bytes\":6400},"
                      "\"operator new\":{\"calls\":7,\"bytes\":700},"
                      "\"free\":{\"calls\":45000,\"bytes\":0},"
                      "\"operator delete\":{\"calls\":5,\"bytes\":0},"
                      "\"mmap\":{\"calls\":3,\"bytes\":3145728}},");
    expect_has(r.out, "\"events\":123456,");
    expect_has(r.out, "\"blocks\":78,");
    expect_has(r.out, "\"event_bytes\":756168,");
    expect_has(r.out, "\"bytes_per_event\":6.125,");
    expect_has(r.out, "\"dropped\":9,");
    expect_has(r.out, "\"stacks\":321,");
    expect_has(r.out, "\"stacks_lost\":0,");
    expect_has(r.out, "\"threads\":3,");
    expect_has(r.out, "\"trace_bytes\":");
    cr_expect(!strstr(r.out, "realloc"), "zero counters are not listed");
    cr_expect(!strstr(r.out, "thread_list"), "threads are listed only with -v");
    /* The sums agree with the fixture's definition. */
    char want[64];
    snprintf(want, sizeof(want), "\"alloc_calls\":%d,", FX_ALLOC_CALLS);
    expect_has(r.out, want);
    snprintf(want, sizeof(want), "\"alloc_bytes\":%d,", FX_ALLOC_BYTES);
    expect_has(r.out, want);
    snprintf(want, sizeof(want), "\"free_calls\":%d,", FX_FREES);
    expect_has(r.out, want);
    mt_run_free(&r);
}

Test(info, json_pretty_default_and_verbose_threads)
{
    mt_make_trace(trace, "basic");
    mt_run_t r;
    info(&r, trace, "--json", "-v", NULL); /* options after TRACE work too */
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strncmp(r.out, "{\n  \"trace\": \"", 14) == 0, "%s", r.out);
    expect_has(r.out, "\n  \"pid\": 4242,\n");
    expect_has(r.out, "\n  \"duration_s\": 1.5,\n");
    expect_has(r.out, "\n  \"thread_list\": [\n    {\n      \"seq\": 0,\n      \"tid\": 4242,\n"
                      "      \"name\": \"fixture-srv\",\n");
    expect_has(r.out, "\"name\": \"worker \\\"1\\\"\",\n      \"first_ns\": 1000,\n"
                      "      \"last_ns\": 500000000,\n      \"exited\": true\n");
    expect_has(r.out, "\"tid\": 4244,\n      \"name\": \"w\\ufffd\\u0001\",");
    cr_assert(r.out[strlen(r.out) - 2] == '}');
    mt_run_free(&r);
}

Test(info, json_several_traces)
{
    char second[4300];
    snprintf(second, sizeof(second), "%s/mtrace.fixture-srv.4243", tmp);
    mt_make_trace(trace, "basic");
    mt_make_trace(second, "incomplete");
    mt_run_t r;
    info(&r, "--json=compact", trace, second, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strncmp(r.out, "{\"traces\":[{\"trace\":\"", 21) == 0, "%s", r.out);
    cr_assert(strstr(r.out, "}]}\n"));
    const char *first = strstr(r.out, "\"complete\":true");
    const char *other = strstr(r.out, "\"complete\":false");
    cr_assert(first && other && first < other, "traces in argument order:\n%s", r.out);
    expect_has(r.out, "},{\"trace\":\"");
    mt_run_free(&r);
}

Test(info, json_incomplete_trace)
{
    mt_make_trace(trace, "incomplete");
    mt_run_t r;
    info(&r, "--json=compact", trace, NULL, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "\"complete\":false,\"end_reason\":null,"
                      "\"truncated\":\"" FX_TRUNCATED "\",\"sample_interval\":0,");
    mt_run_free(&r);
}

Test(info, text_report)
{
    mt_make_trace(trace, "basic");
    mt_run_t r;
    info(&r, trace, NULL, NULL, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert_str_empty(r.err);
    char want[4400];
    snprintf(want, sizeof(want), "trace     %s  (format 4)\n", trace);
    cr_assert(strncmp(r.out, want, strlen(want)) == 0, "%s", r.out);
    expect_has(r.out, "\ncommand   fixture-srv (pid 4242, parent 1)\n");
    expect_has(r.out, "\nargs      fixture-srv --port 'six three'\n");
    expect_has(r.out, "\nexe       /usr/bin/fixture-srv\n");
    expect_has(r.out, "\nended     cleanly (exit)\n");
    expect_has(r.out, "\nsampling  every 512 KiB on average (Poisson; stacks are estimates, "
                      "counters are exact)\n");
    expect_has(r.out, "\nduration  1.5 s\n");
    expect_has(r.out, "\nthreads   3 (1 exited)\n");
    expect_has(r.out, "\nevents    123,456 in 78 blocks (6.1 bytes/event), 9 dropped");
    expect_has(r.out, "\nstacks    321 distinct\n");
    expect_has(r.out, "\nentry point                     calls        bytes\n"
                      "malloc                         45,678     12.3 MiB\n"
                      "calloc                            100      6.2 KiB\n"
                      "operator new                        7        700 B\n"
                      "free                           45,000            -\n"
                      "operator delete                     5            -\n"
                      "mmap                                3        3 MiB\n"
                      "total allocations              45,785     12.3 MiB\n"
                      "total frees                    45,005            -\n");
    cr_expect(!strstr(r.out, "realloc"));
    cr_expect(!strstr(r.out, "\nthread "), "no thread list without -v");
    mt_run_free(&r);
}

Test(info, text_incomplete_every_call)
{
    mt_make_trace(trace, "incomplete");
    mt_run_t r;
    info(&r, "-v", trace, NULL, NULL);
    cr_assert_eq(r.status, 0, "%s", r.err);
    expect_has(r.out, "\nended     NOT cleanly: the process was killed or crashed; data up to "
                      "the last tick is intact\n");
    expect_has(r.out, "\nstopped   recording stopped early: " FX_TRUNCATED "\n");
    expect_has(r.out, "\nsampling  every call (stacks and counters are exact)\n");
    expect_has(r.out, "\nthread      tid  name                  first       last\n"
                      "     0     4242  fixture-srv            0 ns      1.5 s\n"
                      "     1     4243  worker \"1\"           1.0 us   500.0 ms  exited\n"
                      "     2     4244  w??                  2.0 us      1.5 s\n\n");
    mt_run_free(&r);
}

/* Runs info on PATH and expects failure with exactly one line on stderr,
 * nothing on stdout, containing every string of WANT (NULL-terminated). */
static void expect_error(const char *path, const char *const want[])
{
    mt_run_t r;
    info(&r, path, NULL, NULL, NULL);
    cr_assert_eq(r.status, 1, "exit status %d, stderr:\n%s", r.status, r.err);
    cr_assert_str_empty(r.out);
    cr_assert_eq(mt_count_lines(r.err), 1, "one line expected:\n%s", r.err);
    cr_assert(strncmp(r.err, "mtrace-analyze: error: ", 23) == 0, "%s", r.err);
    for (; *want; want++)
        cr_expect(strstr(r.err, *want), "missing '%s' in: %s", *want, r.err);
    mt_run_free(&r);
}

Test(info, error_nonexistent_path)
{
    expect_error(trace, (const char *const[]){trace, "no such file or directory",
                                               "check the path", NULL});
}

Test(info, error_plain_file)
{
    int fd = open(trace, O_CREAT | O_WRONLY, 0600);
    cr_assert(fd >= 0);
    cr_assert(write(fd, "hello\n", 6) == 6);
    close(fd);
    expect_error(trace, (const char *const[]){"not an mtrace trace: ", trace,
                                               "is a file, not a trace directory", NULL});
}

Test(info, error_data_mdb_given_instead_of_directory)
{
    mt_make_trace(trace, "basic");
    char mdb[4300];
    snprintf(mdb, sizeof(mdb), "%s/data.mdb", trace);
    expect_error(mdb, (const char *const[]){"this is a file inside a trace",
                                             "pass the directory that contains it", NULL});
}

Test(info, error_empty_directory)
{
    cr_assert(mkdir(trace, 0700) == 0);
    char want[4400];
    snprintf(want, sizeof(want), "not an mtrace trace: %s has no data.mdb; did the program run "
                                 "with LD_PRELOAD=libmtrace.so?\n", trace);
    mt_run_t r;
    info(&r, trace, NULL, NULL, NULL);
    cr_assert_eq(r.status, 1);
    cr_assert_str_empty(r.out);
    cr_assert(strstr(r.err, want) && mt_count_lines(r.err) == 1, "%s", r.err);
    mt_run_free(&r);
}

Test(info, error_garbage_data_mdb)
{
    cr_assert(mkdir(trace, 0700) == 0);
    char mdb[4300];
    snprintf(mdb, sizeof(mdb), "%s/data.mdb", trace);
    FILE *f = fopen(mdb, "w");
    cr_assert(f);
    for (int i = 0; i < 4 * 4096; i++)
        fputc((i * 131 + 7) & 0xff, f);
    fclose(f);
    expect_error(trace, (const char *const[]){trace, "data.mdb", "record it again", NULL});
}

Test(info, error_newer_format)
{
    mt_make_trace(trace, "newer");
    expect_error(trace, (const char *const[]){trace, ": written by a newer mtrace",
                                               "upgrade mtrace-analyze", NULL});
}

Test(info, error_older_format)
{
    mt_make_trace(trace, "older");
    expect_error(trace, (const char *const[]){trace, ": written by an older mtrace",
                                               "use the mtrace-analyze release that recorded it",
                                               NULL});
}

Test(info, error_bad_magic)
{
    mt_make_trace(trace, "bad-format");
    expect_error(trace, (const char *const[]){"not an mtrace trace: ", trace,
                                               "data.mdb has no mtrace format record",
                                               "LD_PRELOAD=libmtrace.so", NULL});
}

Test(info, one_bad_trace_prints_nothing)
{
    mt_make_trace(trace, "basic");
    char missing[4300];
    snprintf(missing, sizeof(missing), "%s/nope", tmp);
    mt_run_t r;
    info(&r, "--json", trace, missing, NULL);
    cr_assert_eq(r.status, 1);
    cr_assert_str_empty(r.out);
    cr_assert(strstr(r.err, missing) && mt_count_lines(r.err) == 1, "%s", r.err);
    mt_run_free(&r);
}

Test(info, usage_errors)
{
    mt_run_t r;
    info(&r, NULL, NULL, NULL, NULL); /* and no trace in the working directory */
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "error: no TRACE given and no trace in the current directory"), "%s",
              r.err);
    cr_assert_eq(mt_count_lines(r.err), 1, "%s", r.err);
    mt_run_free(&r);

    info(&r, "--bogus", trace, NULL, NULL);
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "error: unknown option '--bogus'"), "%s", r.err);
    mt_run_free(&r);

    info(&r, "--json=yaml", trace, NULL, NULL);
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "--json=yaml: expected 'pretty' or 'compact'"), "%s", r.err);
    mt_run_free(&r);
}

Test(info, write_error_on_stdout_fails)
{
    mt_make_trace(trace, "basic");
    const char *argv[] = {ANALYZE, "info", trace, NULL};
    mt_run_t r;
    mt_run(&r, "/dev/full", argv);
    cr_assert_eq(r.status, 1);
    cr_assert(strstr(r.err, "write error on standard output"), "%s", r.err);
    mt_run_free(&r);
}

/* With python3 around, the JSON must parse and have the contract's types. */
Test(info, json_parses_with_contract_types)
{
    const char *python = getenv("PYTHON3");
    if (!python || !*python)
        cr_skip_test("python3 not found at configure time");
    char second[4300];
    snprintf(second, sizeof(second), "%s/mtrace.fixture-srv.4243", tmp);
    mt_make_trace(trace, "basic");
    mt_make_trace(second, "incomplete");
    static const char check[] =
        "import json, sys\n"
        "for path in sys.argv[1:]:\n"
        "    d = json.load(open(path, encoding='utf-8'))\n"
        "    for t in d.get('traces', [d]):\n"
        "        for k, ty in [('pid', int), ('command', str), ('complete', bool),\n"
        "                      ('sample_interval', int), ('alloc_calls', int),\n"
        "                      ('alloc_bytes', int), ('free_calls', int),\n"
        "                      ('threads', int), ('duration_s', float)]:\n"
        "            assert type(t[k]) is ty, (path, k, t[k])\n";
    const char *variants[][3] = {{"--json", "-v", trace}, {"--json=compact", trace, second}};
    char files[2][4300];
    for (int i = 0; i < 2; i++) {
        const char *argv[] = {ANALYZE, "info", variants[i][0], variants[i][1], variants[i][2], NULL};
        snprintf(files[i], sizeof(files[i]), "%s/out%d.json", tmp, i);
        int fd = open(files[i], O_CREAT | O_WRONLY, 0600);
        cr_assert(fd >= 0);
        close(fd);
        mt_run_t r;
        mt_run(&r, files[i], argv);
        cr_assert_eq(r.status, 0, "%s", r.err);
        mt_run_free(&r);
    }
    const char *argv[] = {python, "-c", check, files[0], files[1], NULL};
    mt_run_t r;
    mt_run(&r, NULL, argv);
    cr_assert_eq(r.status, 0, "JSON check failed:\n%s", r.err);
    mt_run_free(&r);
}
