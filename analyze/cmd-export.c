/* cmd-export.c - `mtrace-analyze export --format pprof -o FILE.pb.gz`: the
 * allocation stacks of one or more traces as a gzip'd pprof profile
 * (pprof.c), for `go tool pprof`, Pyroscope, Parca, Grafana and every
 * other pprof reader. The rows are the stack reports' (cli.c, report.c),
 * all of them (`top -n 0`). No --json: the output is the profile itself.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "pprof.h"

static const mt_opt_t options[] = {
    {'f', 0, "format", required_argument, "FMT", "the output format: pprof (the only one, default)"},
    {'o', 'o', "output", required_argument, "FILE",
     "write to FILE (e.g. heap.pb.gz); '-' is standard\n"
     "output, when it is not a terminal"},
    {'l', 0, "labels", no_argument, NULL,
     "split each stack's samples by thread (label\n"
     "'thread') and NUMA node of the allocating CPU\n"
     "(label 'numa_node'); off by default to keep the\n"
     "profile's cardinality low"},
    {'A', 0, "alloc", no_argument, NULL,
     "make alloc_space the default sample type (as\n"
     "/debug/pprof/allocs); default inuse_space"},
    {'a', 0, "min-size", required_argument, "B",
     "count only allocations of at least B bytes (K/M/G/T)"},
    {'b', 0, "max-size", required_argument, "B", "count only allocations of at most B bytes"},
    MT_OPT_FROM,
    MT_OPT_TO,
    MT_OPT_MATCH("keep stacks with a frame whose function, file or\n"
                 "module matches REGEX (POSIX extended)"),
    MT_OPT_POOL("the allocations of pool NAME (annotation API), a\n"
                "pool id, or of every pool: 'all'"),
    MT_OPT_HELP,
    MT_OPT_END,
};

static void examples(FILE *out)
{
    fputs("\nExamples:\n"
          "  mtrace-analyze export --format pprof -o heap.pb.gz mtrace.myprog.*\n"
          "  go tool pprof -top -sample_index=alloc_space heap.pb.gz\n"
          "  go tool pprof -http=:8080 heap.pb.gz\n",
          out);
}

static const mt_help_t help = {
    .synopsis = "--format pprof -o FILE [options] [TRACE...]",
    .about = "Writes the allocation stacks of the TRACEs (a process and its children are\n"
             "merged) as a gzip'd pprof profile (google/pprof profile.proto). Sample types\n"
             "alloc_objects/count, alloc_space/bytes, inuse_objects/count and\n"
             "inuse_space/bytes (the default); values are estimates scaled from the\n"
             "samples (exact with MTRACE_SAMPLE=all), period the sampling interval.\n"
             "Locations carry their inlined frames, innermost first; mappings carry the\n"
             "module's path and build-id, so a server can symbolize them again.\n"
             "No --json: the profile is the output.\n",
    .opts = options,
    .extra = examples,
    .exit_status = "0 success, 1 a trace could not be read or the output not written,\n"
                   "2 usage error.",
};

typedef struct export_opts {
    mt_cli_t cli;
    const char *output;
    mt_pprof_options_t po;
} export_opts_t;

static int write_all(FILE *f, const uint8_t *p, size_t n)
{
    if (fwrite(p, 1, n, f) != n)
        return errno ? errno : EIO;
    return 0;
}

/* A profile does not depend on the rows' order: keep replay's. */
static int no_order(const mt_row_t *a, const mt_row_t *b)
{
    (void)a;
    (void)b;
    return 0;
}

/* mt_cli_run's REPORT. */
static int report(void *ctx, mt_session_t *s)
{
    export_opts_t *o = ctx;
    mt_report_t rep;
    size_t nshow;
    int rc = mt_cli_rows(&o->cli, s, &rep, mt_keep_allocating,
                         o->po.labels ? mt_pprof_labels_fill : NULL, o->po.labels_ctx,
                         no_order, &nshow);
    uint8_t *buf = NULL;
    size_t len = 0;
    mt_pprof_stats_t st;
    if (!rc) {
        int err = mt_pprof_encode(&rep, &o->po, &buf, &len, &st);
        if (err)
            rc = mt_error("export: encoding the profile: %s", strerror(err));
    }
    mt_report_free(&rep);
    if (rc)
        return rc;
    bool to_stdout = strcmp(o->output, "-") == 0;
    FILE *out = to_stdout ? stdout : fopen(o->output, "wb");
    if (!out) {
        free(buf);
        return mt_error("export: cannot create %s: %s; check that its directory exists and "
                        "is writable", o->output, strerror(errno));
    }
    int err = write_all(out, buf, len);
    free(buf);
    if (!to_stdout) {
        if (fclose(out) != 0 && !err)
            err = errno ? errno : EIO;
        if (err)
            return mt_error("export: writing %s: %s; the file is incomplete", o->output,
                            strerror(err));
        char a[MT_FMT_MAX], b[MT_FMT_MAX];
        printf("wrote %s: %zu %s, %zu %s; %s allocated, %s in use at the end%s\n", o->output,
               st.samples, mt_plural(st.samples, "sample", "samples"), st.locations,
               mt_plural(st.locations, "location", "locations"), mt_fmt_bytes(a, st.alloc_space),
               mt_fmt_bytes(b, st.inuse_space), s->rp.sampled ? " (estimates)" : "");
    }
    return err ? mt_error("export: writing standard output: %s", strerror(err)) : MT_EXIT_OK;
}

static int export_option(void *ctx, int opt, const char *arg)
{
    export_opts_t *o = ctx;
    switch (opt) {
    case 'f':
        if (strcmp(arg, "pprof") != 0)
            return mt_usage_error("export", "--format %s: the one format is pprof", arg);
        return 0;
    case 'o':
        o->output = arg;
        return 0;
    case 'l':
        o->po.labels = true;
        return 0;
    case 'A':
        o->po.alloc_default = true;
        return 0;
    case 'a':
    case 'b':
        if (mt_size_parse(arg, opt == 'a' ? &o->cli.ro.min_size : &o->cli.ro.max_size))
            return mt_usage_error("export", "--%s %s: expected a size in bytes, e.g. 4096 or 64K",
                                  opt == 'a' ? "min-size" : "max-size", arg);
        return 0;
    default:
        return MT_CLI_SHARED;
    }
}

int cmd_export(int argc, char **argv)
{
    export_opts_t o = {0};
    mt_cli_init(&o.cli, "export", &help);
    o.cli.top = 0; /* every row is a sample, so every row is symbolized */
    int rc = mt_cli_parse(&o.cli, argc, argv, export_option, &o);
    if (!rc && o.cli.ro.max_size && o.cli.ro.min_size > o.cli.ro.max_size)
        rc = mt_usage_error("export", "--min-size is larger than --max-size");
    if (!rc && !o.output)
        rc = mt_usage_error("export", "no output file; give -o FILE.pb.gz");
    if (!rc && strcmp(o.output, "-") == 0 && isatty(STDOUT_FILENO))
        rc = mt_usage_error("export", "not writing a gzip'd profile to a terminal; give "
                                      "-o FILE.pb.gz or redirect standard output");
    if (!rc)
        rc = mt_cli_need_traces(&o.cli);
    if (!rc && o.po.labels) {
        if (!(o.po.labels_ctx = mt_pprof_labels_new()))
            rc = mt_error("export: out of memory");
        else
            mt_pprof_labels_hook(&o.cli.ro, o.po.labels_ctx);
    }
    if (!rc)
        rc = mt_cli_run(&o.cli, report, &o);
    mt_pprof_labels_free(o.po.labels_ctx);
    return mt_cli_end(&o.cli, rc);
}
