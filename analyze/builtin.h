/* builtin.h - the subcommands of mtrace-analyze, one file each.
 *
 * Adding a new subcommand FOO:
 *  1. Write analyze/cmd-FOO.c defining `int cmd_FOO(int argc, char **argv)`.
 *     argv[0] is "FOO"; parse with getopt_long after `optind = 0; opterr = 0;`
 *     (the dispatcher has already consumed its own options).
 *  2. Give it a `static const char usage[]` and handle -h/--help by printing
 *     it to stdout and returning MT_EXIT_OK; `mtrace-analyze help FOO` runs
 *     exactly that. Document the --json keys scripts may rely on there.
 *  3. Report failures with `return mt_error(...)` (MT_EXIT_ERROR) or
 *     `return mt_usage_error("FOO", ...)` (MT_EXIT_USAGE): one line naming the
 *     operation, the cause and the next step. Never exit(); main() exits, and
 *     checks that stdout was written completely.
 *  4. Open traces with mt_trace_open() (trace_open.c), print text with the
 *     units.c formatters and JSON with json.c. Read every trace before
 *     printing anything, so a bad argument never leaves half a report.
 *  5. Declare cmd_FOO below, add one row to commands[] in analyze/main.c
 *     (name, function, one-line summary) and add cmd-FOO.c to analyze_src in
 *     analyze/meson.build.
 *  6. Add tests/analyze/test-cmd-FOO.c: exact numbers on a fixture trace from
 *     tests/analyze/make-trace.c, error cases, and --help (the help test
 *     covers every command in the table automatically).
 */
#ifndef MT_ANALYZE_BUILTIN_H
#define MT_ANALYZE_BUILTIN_H

int cmd_info(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_leaks(int argc, char **argv);
int cmd_numa(int argc, char **argv);
int cmd_fit(int argc, char **argv);

#endif
