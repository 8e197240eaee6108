/* builtin.h - the subcommands of mtrace-analyze, one file each.
 *
 * Adding a new subcommand FOO:
 *  1. Write analyze/cmd-FOO.c defining `int cmd_FOO(int argc, char **argv)`.
 *     argv[0] is "FOO" (the dispatcher has already consumed its own
 *     options). Describe each option once, as a row of a `static const
 *     mt_opt_t options[]` (internal.h): getopt's tables and the --help line
 *     both come from it. Use the MT_OPT_* rows for the shared options
 *     (-n, --match, --depth, --by, --pool, --json, --help) and end with
 *     MT_OPT_END. Parse with mt_cli_parse (cli.c): it handles the shared
 *     options and passes the others to FOO's own handler.
 *  2. Give it a `static const mt_help_t help` for mt_cli_init: synopsis,
 *     what it does, the options, and in .json every key --json may print
 *     (tests/e2e/test-json-keys.c compares them with a real run; add FOO
 *     there). --help prints it to stdout and the command exits with
 *     MT_EXIT_OK; `mtrace-analyze help FOO` runs exactly that.
 *  3. Report failures with `return mt_error(...)` (MT_EXIT_ERROR) or
 *     `return mt_usage_error("FOO", ...)` (MT_EXIT_USAGE): one line naming the
 *     operation, the cause and the next step. Never exit(); main() exits, and
 *     checks that stdout was written completely. End with mt_cli_end.
 *  4. Run a stack report with mt_cli_run, which opens and replays the traces
 *     (trace_open.c, replay.c) and calls the command's report function; take
 *     its rows (report.c) from mt_cli_rows. Print text with the units.c
 *     formatters and JSON with json.c between mt_cli_json_begin and
 *     mt_cli_json_end. Read every trace before printing anything, so a bad
 *     argument never leaves half a report.
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
int cmd_flamegraph(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_summary(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_timeline(int argc, char **argv);
int cmd_diff(int argc, char **argv);

#endif
