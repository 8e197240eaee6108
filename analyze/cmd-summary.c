/* cmd-summary.c - `mtrace-analyze summary`: the diagnosis on one screen.
 *
 * Each finding of summary.c on one line with its verdict (ok, warn, bad),
 * then its numbers, the threshold applied and the command that shows the
 * detail. The trace's own health (dropped events, an unfinished run) comes
 * first: it qualifies every number after it. Exit status 0 whatever the
 * verdicts; scripts read "verdict" from --json.
 */
#include <getopt.h>
#include <string.h>

#include "builtin.h"
#include "summary.h"

static const mt_opt_t options[] = {
    MT_SUMMARY_OPTS,
    MT_OPT_JSON("print JSON; keys below"),
    MT_OPT_HELP,
    MT_OPT_END,
};

static const mt_help_t help = {
    .synopsis = "[options] [TRACE...]",
    .about = "The diagnosis on one screen. Each finding has a verdict (ok, warn, bad),\n"
             "the numbers behind it, the threshold used and the command that shows the\n"
             "detail: dropped events and an incomplete trace (first); fragmentation,\n"
             "RSS / (live heap + live mapped regions), now and at its worst; whether RSS\n"
             "levels off or keeps growing, with the leak suspects; the hottest stacks;\n"
             "size-class waste under the allocator in use (detected from the modules:\n"
             "jemalloc, tcmalloc, mimalloc, else glibc) and what fit --optimize would\n"
             "save; mmap calls per second (pool growth); mbind and set_mempolicy\n"
             "calls; NUMA placement against the requested policy. With sampling the\n"
             "heap numbers are estimates; RSS and call counts are exact.\n",
    .opts = options,
    .json = MT_SUMMARY_JSON_KEYS,
    .json_notes = "  verdict is the worst finding's; each finding's numbers map names to\n"
                  "  values (shares are fractions, sizes bytes); findings come in the\n"
                  "  order: trace, fragmentation, growth, hot_stacks, size_classes,\n"
                  "  pool_growth, policy_calls, numa.\n",
};

typedef struct summary_opts {
    mt_cli_t cli;
    mt_summary_limits_t lim;
    mt_summary_t sm;
} summary_opts_t;

static const char *tag(int v)
{
    return v == MT_VERDICT_BAD ? "BAD " : v == MT_VERDICT_WARN ? "WARN" : "ok  ";
}

static void print_text(const summary_opts_t *o, const mt_replay_t *rp)
{
    const mt_summary_t *sm = &o->sm;
    char a[MT_FMT_MAX], b[MT_FMT_MAX], p[64];
    const mt_trace_info_t *ti = &rp->traces[0].info;
    printf("%s (pid %lu)%s, %s, %s allocator; ",
           mt_printable(p, sizeof(p), ti->command), (unsigned long)ti->pid,
           rp->ntraces > 1 ? " and children" : "", mt_fmt_duration(a, rp->span_ns),
           sm->allocator);
    if (rp->sampled)
        printf("sampled every %s (heap numbers are estimates)\n",
               mt_fmt_bytes(b, mt_report_sample_interval(rp)));
    else
        printf("every call recorded\n");
    printf("verdict: %s\n", mt_verdict_names[sm->verdict]);
    for (size_t i = 0; i < sm->nf; i++) {
        const mt_finding_t *f = &sm->f[i];
        printf("\n%s %s: %s\n", tag(f->verdict), f->name, f->text);
        for (size_t k = 0; k < f->nlines; k++)
            printf("     %s\n", f->lines[k]);
        printf("     threshold: %s\n", f->threshold);
        printf("     detail: %s\n", f->command);
    }
}

static int report(void *ctx, mt_session_t *s)
{
    summary_opts_t *o = ctx;
    if (o->cli.json >= 0) {
        mt_json_t j;
        mt_cli_json_begin(&j, &o->cli);
        mt_summary_json(&o->sm, &s->rp, &j);
        mt_cli_json_end(&j, &o->cli);
    } else {
        print_text(o, &s->rp);
    }
    return MT_EXIT_OK;
}

static int summary_option(void *ctx, int opt, const char *arg)
{
    summary_opts_t *o = ctx;
    return mt_summary_option(&o->cli, &o->lim, opt, arg);
}

int cmd_summary(int argc, char **argv)
{
    summary_opts_t o = {.lim = MT_SUMMARY_LIMITS_DEFAULT};
    mt_cli_init(&o.cli, "summary", &help);
    int rc = mt_cli_parse(&o.cli, argc, argv, summary_option, &o);
    if (!rc && mt_summary_init(&o.sm, &o.lim, &o.cli.ro))
        rc = mt_error("summary: out of memory");
    if (!rc)
        rc = mt_summary_run(&o.sm, &o.cli, report, &o);
    mt_summary_free(&o.sm);
    return mt_cli_end(&o.cli, rc);
}
