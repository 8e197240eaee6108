/* main.c - mtrace-analyze: the dispatcher and the one table of subcommands.
 *
 * `mtrace-analyze [--version] [--help] COMMAND [ARGS]` runs cmd_COMMAND with
 * argv[0] = COMMAND. Only this file exits. After the command it checks that
 * stdout was flushed and closed without error, so a full disk or a closed
 * pipe never passes for a complete report. Add commands per builtin.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "builtin.h"
#include "internal.h"

#ifndef MT_VERSION
#define MT_VERSION "unknown"
#endif

typedef struct mt_command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} mt_command_t;

static const mt_command_t commands[] = {
    {"info", cmd_info, "what a trace holds: process, sampling, exact calls and bytes"},
    {"top", cmd_top, "the stacks that allocate the most (bytes, calls, peak, live, temporary)"},
    {"leaks", cmd_leaks, "what is still allocated at the end, by stack and size"},
    {"numa", cmd_numa, "which NUMA node memory landed on, by stack; policies and mismatches"},
    {"flamegraph", cmd_flamegraph, "allocation stacks as a flame graph (interactive SVG, folded stacks)"},
    {"export", cmd_export, "allocation stacks as a pprof profile (go tool pprof, Pyroscope, Parca)"},
    {"serve", cmd_serve, "serve pprof profiles over HTTP at /debug/pprof/heap and /debug/pprof/allocs"},
    {"timeline", cmd_timeline, "memory over time: RSS, heap, mapped, rates, fragmentation"},
    {"fit", cmd_fit, "requested sizes against size classes and pool chunks; optimal classes"},
    {"diff", cmd_diff, "what changed between two runs, by stack: bytes, calls, live, peak"},
    {"summary", cmd_summary, "the diagnosis on one screen: verdicts, numbers, where to look"},
    {"report", cmd_report, "one self-contained HTML file: summary, flame graph, tables"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: %s [--version] [--help] COMMAND [ARGS]\n"
            "\n"
            "Reports on the trace directories mtrace.<command>.<pid>/ that the\n"
            "libmtrace.so shim writes, e.g. after\n"
            "    LD_PRELOAD=libmtrace.so redis-server\n"
            "\n"
            "Commands:\n",
            MT_PROGNAME);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out,
            "\n"
            "Every command takes --help, every report --json (export and serve write\n"
            "pprof). Run '%s help COMMAND' for the options of one command.\n"
            "Given no TRACE, a command reads the newest run\n"
            "in the current directory (a trace and its fork and exec children).\n"
            "\n"
            "Exit status: 0 success, 1 error (unreadable trace, write error),\n"
            "2 usage error.\n",
            MT_PROGNAME);
}

static const mt_command_t *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static int unknown_command(const char *name)
{
    return mt_usage_error(NULL, "'%s' is not a %s command", name, MT_PROGNAME);
}

/* `help [COMMAND]`: the dispatcher's usage, or COMMAND's own --help. */
static int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stdout);
        return MT_EXIT_OK;
    }
    if (argc > 2)
        return mt_usage_error(NULL, "help takes one COMMAND, got %d arguments", argc - 1);
    const mt_command_t *cmd = find_command(argv[1]);
    if (!cmd)
        return unknown_command(argv[1]);
    char help_opt[] = "--help";
    char *cmd_argv[] = {(char *)cmd->name, help_opt, NULL};
    return cmd->fn(2, cmd_argv);
}

/* Flushes and closes stdout; a failure there means the report is incomplete
 * and turns a success into an error. */
static int close_stdout(int rc)
{
    errno = 0;
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int err = errno ? errno : EIO;
        int e = mt_error("write error on standard output: %s; the output is incomplete",
                         strerror(err));
        fclose(stdout);
        return rc ? rc : e;
    }
    if (fclose(stdout) != 0) {
        /* Not mt_error: it would flush the stdout just closed. */
        fprintf(stderr, "%s: error: closing standard output: %s; the output may be "
                        "incomplete\n", MT_PROGNAME, strerror(errno));
        return rc ? rc : MT_EXIT_ERROR;
    }
    return rc;
}

static int dispatch(int argc, char **argv)
{
    if (argc < 2) {
        print_usage(stderr);
        return MT_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_usage(stdout);
        return MT_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        printf("%s %s (trace format %u)\n", MT_PROGNAME, MT_VERSION, MT_FORMAT_VERSION);
        return MT_EXIT_OK;
    }
    if (strcmp(name, "--list-cmds") == 0) { /* for tests and shell completion */
        for (size_t i = 0; i < NCOMMANDS; i++)
            puts(commands[i].name);
        return MT_EXIT_OK;
    }
    if (name[0] == '-')
        return mt_usage_error(NULL, "unknown option '%s'", name);
    if (strcmp(name, "help") == 0)
        return cmd_help(argc - 1, argv + 1);
    const mt_command_t *cmd = find_command(name);
    if (!cmd)
        return unknown_command(name);
    return cmd->fn(argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
    return close_stdout(dispatch(argc, argv));
}
