/* cmd-info.c - `mtrace-analyze info`: what a trace is and what it holds.
 *
 * Reads only the meta record, the exact counters and the thread table (never
 * the event blocks), so it is instant on any trace, also while the program
 * still runs. All traces are read first and printed after: a bad trace
 * argument fails the whole command before any output, so scripts never see
 * half a report.
 */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builtin.h"
#include "internal.h"

static const mt_opt_t options[] = {
    MT_OPT_JSON("print JSON instead of text (default: pretty);\n"
                "keys below"),
    {'v', 'v', "verbose", no_argument, NULL, "also list every thread (seq, tid, name, times)"},
    MT_OPT_HELP,
    MT_OPT_END,
};

static const mt_help_t help = {
    .synopsis = "[--json[=pretty|compact]] [-v] [TRACE...]",
    .about = "Summarizes each trace directory (mtrace.<command>.<pid>/): the process,\n"
             "whether it ended cleanly, how it was sampled, and the exact number of\n"
             "calls and bytes per allocator entry point. Counters are exact even when\n"
             "stacks are sampled. Works while the program is still running.\n",
    .opts = options,
    .json = "trace, format, pid, ppid, parent_pid, command, exe, argv: [...], "
            "start_realtime_ns, complete, end_reason, truncated, sample_interval, duration_ns, "
            "duration_s, alloc_calls, alloc_bytes, free_calls, free_bytes, mmap_calls, "
            "mmap_bytes, entry_points: {*: {calls, bytes}}, events, blocks, event_bytes, "
            "bytes_per_event, dropped, stacks, stacks_lost, threads, trace_bytes, thread_list: "
            "[{seq, tid, name, first_ns, last_ns, exited}], traces: [...]",
    .json_notes = "  One TRACE prints one object; several print {\"traces\": [object, ...]}\n"
                  "  in argument order. argv is without the trailing empty strings of a\n"
                  "  rewritten process title; sample_interval is in bytes, 0 = every call;\n"
                  "  entry_points maps each entry point with nonzero counters (malloc,\n"
                  "  ...) to its calls and bytes; threads is a count; thread_list is there\n"
                  "  with -v.\n",
    .exit_status = "0 success, 1 a trace could not be read (nothing is printed),\n"
                   "2 usage error.",
};

/* Everything info prints about one trace, read in one snapshot. */
typedef struct info_report {
    const char *path;
    mt_trace_info_t ti;
    mt_counter_t ep[MT_EP_COUNT];   /* zero when the trace has no such counter */
    uint64_t family_calls[MT_FAMILY_POOL + 1];
    uint64_t family_bytes[MT_FAMILY_POOL + 1];
    mt_counter_t events, dropped, stacks, stacks_lost, blocks;
    mt_thread_t *threads;
    size_t nthreads, nexited;
    char *argv;                     /* NUL-separated, NULL when not recorded */
    size_t argv_len;
    uint64_t trace_bytes;           /* size of data.mdb */
    bool running;                   /* not complete and the process seems alive */
} info_report_t;

static void report_free(info_report_t *rep)
{
    free(rep->threads);
    free(rep->argv);
}

/* Counter NAME into C, zero when absent. */
static int read_counter(mt_reader_t *r, const char *path, const char *name, mt_counter_t *c)
{
    int err = mt_reader_counter(r, name, c);
    if (err == MT_ENOTFOUND) {
        memset(c, 0, sizeof(*c));
        return 0;
    }
    if (err < 0 || err > 0) {
        char what[64];
        snprintf(what, sizeof(what), "counter \"%s\"", name);
        return mt_trace_error(path, what, err);
    }
    return 0;
}

/* A trace that did not end cleanly may belong to a process that is still
 * running: same pid, same executable. Only a hint for the text report. */
static bool seems_running(const mt_trace_info_t *ti)
{
    char proc[64], exe[4096];
    if (ti->pid == 0 || ti->pid > INT_MAX || ti->exe[0] == '\0')
        return false;
    snprintf(proc, sizeof(proc), "/proc/%" PRIu64 "/exe", ti->pid);
    ssize_t n = readlink(proc, exe, sizeof(exe) - 1);
    if (n < 0)
        return false;
    exe[n] = '\0';
    return strcmp(exe, ti->exe) == 0;
}

static int collect(mt_reader_t *r, const char *path, info_report_t *rep)
{
    int err, rc;
    rep->path = path;

    if ((err = mt_reader_info(r, &rep->ti)) != 0)
        return mt_trace_error(path, "the meta record", err);

    for (int i = 0; i < MT_EP_COUNT; i++) {
        if ((rc = read_counter(r, path, mt_entry_point_names[i], &rep->ep[i])) != 0)
            return rc;
        unsigned fam = mt_entry_point_family[i];
        if (fam < sizeof(rep->family_calls) / sizeof(rep->family_calls[0])) {
            rep->family_calls[fam] += rep->ep[i].calls;
            rep->family_bytes[fam] += rep->ep[i].bytes;
        }
    }
    if ((rc = read_counter(r, path, MT_COUNTER_EVENTS, &rep->events)) != 0 ||
        (rc = read_counter(r, path, MT_COUNTER_DROPPED, &rep->dropped)) != 0 ||
        (rc = read_counter(r, path, MT_COUNTER_STACKS, &rep->stacks)) != 0 ||
        (rc = read_counter(r, path, MT_COUNTER_STACKS_LOST, &rep->stacks_lost)) != 0 ||
        (rc = read_counter(r, path, MT_COUNTER_BLOCKS, &rep->blocks)) != 0)
        return rc;

    uint64_t cursor = 0;
    size_t cap = 0;
    mt_thread_t t;
    while ((err = mt_reader_next_thread(r, &cursor, &t)) == 1) {
        if (rep->nthreads == cap) {
            cap = cap ? 2 * cap : 16;
            mt_thread_t *n = realloc(rep->threads, cap * sizeof(*n));
            if (!n)
                return mt_error("reading the threads of %s: out of memory", path);
            rep->threads = n;
        }
        t.name[sizeof(t.name) - 1] = '\0';
        rep->threads[rep->nthreads++] = t;
        rep->nexited += t.exited != 0;
    }
    if (err < 0)
        return mt_trace_error(path, "the thread table", err);

    const void *val;
    size_t len;
    err = mt_reader_meta(r, MT_META_ARGV, &val, &len);
    if (err == 0 && len > 0) {
        if (!(rep->argv = malloc(len)))
            return mt_error("reading the argv of %s: out of memory", path);
        memcpy(rep->argv, val, len);
        rep->argv_len = len;
    } else if (err != 0 && err != MT_ENOTFOUND) {
        return mt_trace_error(path, "the argv record", err);
    }

    char mdb[4096 + 16];
    struct stat st;
    snprintf(mdb, sizeof(mdb), "%s/data.mdb", path);
    if (stat(mdb, &st) == 0)
        rep->trace_bytes = (uint64_t)st.st_size;

    rep->ti.command[sizeof(rep->ti.command) - 1] = '\0';
    rep->ti.exe[sizeof(rep->ti.exe) - 1] = '\0';
    rep->ti.end_reason[sizeof(rep->ti.end_reason) - 1] = '\0';
    rep->ti.truncated[sizeof(rep->ti.truncated) - 1] = '\0';
    rep->running = !rep->ti.complete && seems_running(&rep->ti);
    return 0;
}

/* ---- text ------------------------------------------------------------- */

/* Prints ARG[LEN] to stdout, single-quoted when a shell would split or expand it. */
static void print_shell_word(const char *arg, size_t len)
{
    bool plain = len > 0;
    for (size_t i = 0; i < len && plain; i++) {
        unsigned char c = (unsigned char)arg[i];
        plain = c > 0x20 && c < 0x7f && !strchr("'\"\\$`!*?[]{}()<>|&;#~", c);
    }
    if (plain) {
        fwrite(arg, 1, len, stdout);
        return;
    }
    putchar('\'');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)arg[i];
        if (c == '\'')
            fputs("'\\''", stdout);
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    putchar('\'');
}

/* End of the argv strings of REP without the last terminator and without
 * trailing empty strings: a process that rewrote its title (redis, a forked
 * child setting "redis-rdb-bgsave") leaves dozens of '' behind in
 * /proc/self/cmdline. */
static const char *argv_end(const info_report_t *rep)
{
    const char *p = rep->argv, *end = p + rep->argv_len;
    while (end > p && end[-1] == '\0')
        end--;
    return end;
}

static void print_argv(const info_report_t *rep)
{
    const char *p = rep->argv, *end = argv_end(rep);
    fputs("args      ", stdout);
    for (bool first = true; p <= end; first = false) {
        const char *z = memchr(p, '\0', (size_t)(end - p));
        size_t n = z ? (size_t)(z - p) : (size_t)(end - p);
        if (!first)
            putchar(' ');
        print_shell_word(p, n);
        p += n + 1;
    }
    putchar('\n');
}

static void print_text(const info_report_t *rep, bool verbose)
{
    const mt_trace_info_t *ti = &rep->ti;
    char a[MT_FMT_MAX], b[MT_FMT_MAX], c[MT_FMT_MAX];
    char text[sizeof(ti->exe)]; /* strings from the trace, made printable */

    printf("trace     %s  (format %u)\n", rep->path, ti->version);
    printf("command   %s (pid %" PRIu64 ", parent %" PRIu64,
           ti->command[0] ? mt_printable(text, sizeof(text), ti->command) : "?", ti->pid, ti->ppid);
    if (ti->parent_pid)
        printf("; forked from traced pid %" PRIu64 " without exec", ti->parent_pid);
    puts(")");
    if (rep->argv)
        print_argv(rep);
    if (ti->exe[0])
        printf("exe       %s\n", mt_printable(text, sizeof(text), ti->exe));
    if (ti->start_realtime_ns) {
        time_t t = (time_t)(ti->start_realtime_ns / 1000000000u);
        struct tm tm;
        char when[64];
        if (localtime_r(&t, &tm) && strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm))
            printf("started   %s\n", when);
    }
    if (ti->complete)
        printf("ended     cleanly (%s)\n",
               ti->end_reason[0] ? mt_printable(text, sizeof(text), ti->end_reason) : "exit");
    else if (rep->running)
        printf("ended     not yet: pid %" PRIu64 " is still running; this is the trace "
               "up to its last tick\n", ti->pid);
    else
        printf("ended     NOT cleanly: the process was killed or crashed; data up to "
               "the last tick is intact\n");
    if (ti->truncated[0])
        printf("stopped   recording stopped early: %s\n",
               mt_printable(text, sizeof(text), ti->truncated));
    if (ti->sample_interval == 0)
        printf("sampling  every call (stacks and counters are exact)\n");
    else
        printf("sampling  every %s on average (Poisson; stacks are estimates, "
               "counters are exact)\n", mt_fmt_bytes(a, ti->sample_interval));
    printf("duration  %s\n", mt_fmt_duration(a, ti->duration_ns));
    printf("threads   %s", mt_fmt_count(a, rep->nthreads));
    if (rep->nexited)
        printf(" (%s exited)", mt_fmt_count(b, rep->nexited));
    putchar('\n');
    printf("events    %s in %s %s", mt_fmt_count(a, rep->events.calls),
           mt_fmt_count(b, rep->blocks.calls), mt_plural(rep->blocks.calls, "block", "blocks"));
    if (rep->events.calls)
        printf(" (%.1f bytes/event)", (double)rep->blocks.bytes / (double)rep->events.calls);
    printf(", %s dropped", mt_fmt_count(c, rep->dropped.calls));
    if (rep->dropped.calls)
        printf(" (per-thread rings were full; a smaller MTRACE_FLUSH_MS flushes more often)");
    putchar('\n');
    printf("stacks    %s distinct", mt_fmt_count(a, rep->stacks.calls));
    if (rep->stacks_lost.calls)
        printf(", %s %s without a stack (stack table full)",
               mt_fmt_count(b, rep->stacks_lost.calls),
               mt_plural(rep->stacks_lost.calls, "sample", "samples"));
    putchar('\n');
    if (rep->trace_bytes)
        printf("size      %s on disk (data.mdb)\n", mt_fmt_bytes(a, rep->trace_bytes));

    if (verbose && rep->nthreads) {
        printf("\n%6s %8s  %-16s %10s %10s\n", "thread", "tid", "name", "first", "last");
        for (size_t i = 0; i < rep->nthreads; i++) {
            const mt_thread_t *t = &rep->threads[i];
            printf("%6" PRIu32 " %8" PRIu32 "  %-16s %10s %10s%s\n", t->seq, t->tid,
                   t->name[0] ? mt_printable(text, sizeof(text), t->name) : "-", mt_fmt_duration(a, t->first_ts),
                   mt_fmt_duration(b, t->last_ts), t->exited ? "  exited" : "");
        }
    }

    printf("\n%-22s %14s %12s\n", "entry point", "calls", "bytes");
    bool any = false;
    for (int i = 0; i < MT_EP_COUNT; i++) {
        const mt_counter_t *e = &rep->ep[i];
        if (!e->calls && !e->bytes)
            continue;
        any = true;
        bool no_bytes = !e->bytes && mt_entry_point_family[i] != MT_FAMILY_ALLOC;
        printf("%-22s %14s %12s\n", mt_entry_point_names[i], mt_fmt_count(a, e->calls),
               no_bytes ? "-" : mt_fmt_bytes(b, e->bytes));
    }
    if (!any)
        printf("(no calls recorded)\n");
    /* Totals of the two families whose sums mean something (adding mmap to
     * munmap bytes would not). */
    static const unsigned totals[] = {MT_FAMILY_ALLOC, MT_FAMILY_FREE};
    for (size_t i = 0; i < sizeof(totals) / sizeof(totals[0]); i++) {
        unsigned fam = totals[i];
        bool no_bytes = !rep->family_bytes[fam] && fam != MT_FAMILY_ALLOC;
        printf("%-22s %14s %12s\n", fam == MT_FAMILY_ALLOC ? "total allocations" : "total frees",
               mt_fmt_count(a, rep->family_calls[fam]),
               no_bytes ? "-" : mt_fmt_bytes(b, rep->family_bytes[fam]));
    }
}

/* ---- JSON ------------------------------------------------------------- */

static void json_string_or_null(mt_json_t *j, const char *key, const char *s)
{
    mt_json_key(j, key);
    if (s[0])
        mt_json_string(j, s);
    else
        mt_json_null(j);
}

static void print_json(mt_json_t *j, const info_report_t *rep, bool verbose)
{
    const mt_trace_info_t *ti = &rep->ti;
    mt_json_begin_object(j);
    mt_json_kv_string(j, "trace", rep->path);
    mt_json_kv_u64(j, "format", ti->version);
    mt_json_kv_u64(j, "pid", ti->pid);
    mt_json_kv_u64(j, "ppid", ti->ppid);
    mt_json_kv_u64(j, "parent_pid", ti->parent_pid);
    mt_json_kv_string(j, "command", ti->command);
    mt_json_kv_string(j, "exe", ti->exe);
    mt_json_key(j, "argv");
    mt_json_begin_array(j);
    if (rep->argv) {
        const char *p = rep->argv, *end = argv_end(rep);
        while (p <= end) {
            const char *z = memchr(p, '\0', (size_t)(end - p));
            size_t n = z ? (size_t)(z - p) : (size_t)(end - p);
            mt_json_string_len(j, p, n);
            p += n + 1;
        }
    }
    mt_json_end_array(j);
    mt_json_kv_u64(j, "start_realtime_ns", ti->start_realtime_ns);
    mt_json_kv_bool(j, "complete", ti->complete != 0);
    json_string_or_null(j, "end_reason", ti->end_reason);
    json_string_or_null(j, "truncated", ti->truncated);
    mt_json_kv_u64(j, "sample_interval", ti->sample_interval);
    mt_json_kv_u64(j, "duration_ns", ti->duration_ns);
    mt_json_kv_double(j, "duration_s", (double)ti->duration_ns / 1e9);

    mt_json_kv_u64(j, "alloc_calls", rep->family_calls[MT_FAMILY_ALLOC]);
    mt_json_kv_u64(j, "alloc_bytes", rep->family_bytes[MT_FAMILY_ALLOC]);
    mt_json_kv_u64(j, "free_calls", rep->family_calls[MT_FAMILY_FREE]);
    mt_json_kv_u64(j, "free_bytes", rep->family_bytes[MT_FAMILY_FREE]);
    mt_json_kv_u64(j, "mmap_calls", rep->ep[MT_EP_MMAP].calls);
    mt_json_kv_u64(j, "mmap_bytes", rep->ep[MT_EP_MMAP].bytes);
    mt_json_key(j, "entry_points");
    mt_json_begin_object(j);
    for (int i = 0; i < MT_EP_COUNT; i++) {
        if (!rep->ep[i].calls && !rep->ep[i].bytes)
            continue;
        mt_json_key(j, mt_entry_point_names[i]);
        mt_json_begin_object(j);
        mt_json_kv_u64(j, "calls", rep->ep[i].calls);
        mt_json_kv_u64(j, "bytes", rep->ep[i].bytes);
        mt_json_end_object(j);
    }
    mt_json_end_object(j);

    mt_json_kv_u64(j, "events", rep->events.calls);
    mt_json_kv_u64(j, "blocks", rep->blocks.calls);
    mt_json_kv_u64(j, "event_bytes", rep->blocks.bytes);
    mt_json_key(j, "bytes_per_event");
    if (rep->events.calls)
        mt_json_double(j, (double)rep->blocks.bytes / (double)rep->events.calls);
    else
        mt_json_null(j);
    mt_json_kv_u64(j, "dropped", rep->dropped.calls);
    mt_json_kv_u64(j, "stacks", rep->stacks.calls);
    mt_json_kv_u64(j, "stacks_lost", rep->stacks_lost.calls);
    mt_json_kv_u64(j, "threads", rep->nthreads);
    if (verbose) {
        mt_json_key(j, "thread_list");
        mt_json_begin_array(j);
        for (size_t i = 0; i < rep->nthreads; i++) {
            const mt_thread_t *t = &rep->threads[i];
            mt_json_begin_object(j);
            mt_json_kv_u64(j, "seq", t->seq);
            mt_json_kv_u64(j, "tid", t->tid);
            mt_json_kv_string(j, "name", t->name);
            mt_json_kv_u64(j, "first_ns", t->first_ts);
            mt_json_kv_u64(j, "last_ns", t->last_ts);
            mt_json_kv_bool(j, "exited", t->exited != 0);
            mt_json_end_object(j);
        }
        mt_json_end_array(j);
    }
    mt_json_kv_u64(j, "trace_bytes", rep->trace_bytes);
    mt_json_end_object(j);
}

/* ---- command ---------------------------------------------------------- */

/* -v, the option of info alone (mt_cli_parse's OWN). */
static int info_option(void *ctx, int opt, const char *arg)
{
    (void)arg;
    if (opt != 'v')
        return MT_CLI_SHARED;
    *(bool *)ctx = true;
    return 0;
}

int cmd_info(int argc, char **argv)
{
    bool verbose = false;
    mt_cli_t c;
    mt_cli_init(&c, "info", &help);
    int rc = mt_cli_parse(&c, argc, argv, info_option, &verbose);
    if (!rc)
        rc = mt_cli_need_traces(&c);
    if (rc)
        return mt_cli_end(&c, rc);
    int json = c.json, ntraces = c.ntraces;
    char **paths = c.traces;

    info_report_t *reps = calloc((size_t)ntraces, sizeof(*reps));
    if (!reps)
        return mt_error("info: out of memory");
    for (int i = 0; i < ntraces; i++) {
        mt_reader_t *r;
        int one = mt_trace_open(paths[i], &r);
        if (one == 0) {
            one = collect(r, paths[i], &reps[i]);
            mt_reader_close(r);
        }
        if (one != 0)
            rc = one; /* keep going: report every bad trace at once */
    }

    if (rc == MT_EXIT_OK) {
        if (json >= 0) {
            mt_json_t j;
            mt_json_init(&j, stdout, json);
            if (ntraces > 1) {
                mt_json_begin_object(&j);
                mt_json_key(&j, "traces");
                mt_json_begin_array(&j);
            }
            for (int i = 0; i < ntraces; i++)
                print_json(&j, &reps[i], verbose);
            if (ntraces > 1) {
                mt_json_end_array(&j);
                mt_json_end_object(&j);
            }
            if (mt_json_end(&j) != 0)
                rc = mt_error("info: internal error: malformed JSON output");
        } else {
            for (int i = 0; i < ntraces; i++) {
                if (i)
                    putchar('\n');
                print_text(&reps[i], verbose);
            }
        }
    }
    for (int i = 0; i < ntraces; i++)
        report_free(&reps[i]);
    free(reps);
    return mt_cli_end(&c, rc);
}
