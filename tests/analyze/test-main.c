/* test-main.c - analyze/main.c: the dispatcher, help for every command,
 * usage errors and the stdout check. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

static void run(mt_run_t *r, const char *a1, const char *a2, const char *a3)
{
    const char *args[] = {a1, a2, a3, NULL};
    mt_run_analyze(r, args);
}

Test(main, help_and_version)
{
    mt_run_t r;
    run(&r, "--help", NULL, NULL);
    cr_assert_eq(r.status, 0);
    cr_assert(strncmp(r.out, "usage: mtrace-analyze ", 22) == 0, "%s", r.out);
    cr_assert(strstr(r.out, "\n  info "), "the command table lists info:\n%s", r.out);
    cr_assert_str_empty(r.err);
    char *top = strdup(r.out);
    mt_run_free(&r);

    run(&r, "help", NULL, NULL);
    cr_assert_eq(r.status, 0);
    cr_assert_str_eq(r.out, top);
    mt_run_free(&r);
    free(top);

    run(&r, "--version", NULL, NULL);
    cr_assert_eq(r.status, 0);
    cr_assert(strncmp(r.out, "mtrace-analyze 0.1.0 (trace format 4)\n", 39) == 0, "%s", r.out);
    mt_run_free(&r);
}

Test(main, every_command_has_help)
{
    mt_run_t list;
    run(&list, "--list-cmds", NULL, NULL);
    cr_assert_eq(list.status, 0);
    int n = 0;
    for (char *save, *name = strtok_r(list.out, "\n", &save); name;
         name = strtok_r(NULL, "\n", &save), n++) {
        char want[128];
        snprintf(want, sizeof(want), "usage: mtrace-analyze %s ", name);
        mt_run_t r;
        run(&r, name, "--help", NULL);
        cr_assert_eq(r.status, 0, "%s --help exited %d", name, r.status);
        cr_assert(strncmp(r.out, want, strlen(want)) == 0, "%s --help:\n%s", name, r.out);
        cr_assert(strstr(r.out, "--json"), "%s --help does not document --json", name);
        cr_assert_str_empty(r.err);
        mt_run_t h;
        run(&h, "help", name, NULL);
        cr_assert_eq(h.status, 0);
        cr_assert_str_eq(h.out, r.out, "help %s differs from %s --help", name, name);
        mt_run_free(&h);
        mt_run_free(&r);
    }
    cr_assert_geq(n, 1);
    mt_run_free(&list);
}

Test(main, no_arguments_is_usage_error)
{
    mt_run_t r;
    run(&r, NULL, NULL, NULL);
    cr_assert_eq(r.status, 2);
    cr_assert_str_empty(r.out);
    cr_assert(strncmp(r.err, "usage: mtrace-analyze", 21) == 0, "%s", r.err);
    mt_run_free(&r);
}

Test(main, unknown_command)
{
    mt_run_t r;
    run(&r, "frobnicate", "x", NULL);
    cr_assert_eq(r.status, 2);
    cr_assert_str_empty(r.out);
    cr_assert_str_eq(r.err, "mtrace-analyze: error: 'frobnicate' is not a mtrace-analyze command\n"
                            "Run 'mtrace-analyze --help' for usage.\n");
    mt_run_free(&r);

    run(&r, "help", "frobnicate", NULL);
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "'frobnicate' is not a mtrace-analyze command"), "%s", r.err);
    mt_run_free(&r);

    run(&r, "--frobnicate", NULL, NULL);
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "error: unknown option '--frobnicate'"), "%s", r.err);
    mt_run_free(&r);
}

Test(main, write_error_on_stdout_fails)
{
    const char *argv[] = {ANALYZE, "--help", NULL};
    mt_run_t r;
    mt_run(&r, "/dev/full", argv);
    cr_assert_eq(r.status, 1);
    cr_assert_str_eq(r.err, "mtrace-analyze: error: write error on standard output: No space "
                            "left on device; the output is incomplete\n");
    mt_run_free(&r);
}
