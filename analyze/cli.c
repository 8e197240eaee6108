/* cli.c - the frame every report subcommand (top, leaks, numa, fit) runs in:
 * the options they share and their messages, the traces opened as one
 * session, replayed and reported once or again every interval (live mode),
 * the ranked rows of a report and the --json document around it. A command
 * keeps only its own options, analysis and printing (see builtin.h).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#define MTRACE_NO_ANNOTATIONS /* mt_pool_id only */
#include "mtrace/mtrace.h"

/* ---- options --------------------------------------------------------------- */

#define HELP_COL 25 /* where option help starts */
#define WRAP_COL 78
#define MAX_OPTS 32

void mt_help_print(const mt_help_t *h, const char *cmd, FILE *out)
{
    fprintf(out, "usage: %s %s %s\n\n%s\nOptions:\n", MT_PROGNAME, cmd, h->synopsis, h->about);
    for (const mt_opt_t *o = h->opts; o->name; o++) {
        char label[128];
        int n = o->shrt ? snprintf(label, sizeof(label), "  -%c, --%s", o->shrt, o->name)
                    : snprintf(label, sizeof(label), "      --%s", o->name);
        if (o->arg && n > 0 && (size_t)n < sizeof(label))
            snprintf(label + n, sizeof(label) - (size_t)n, "%s%s",
                     o->has_arg == optional_argument ? "" : " ", o->arg);
        n = (int)strlen(label);
        fprintf(out, "%s%*s", label, n < HELP_COL ? HELP_COL - n : 2, "");
        for (const char *p = o->help; *p;) {
            const char *nl = strchr(p, '\n');
            int len = nl ? (int)(nl - p) : (int)strlen(p);
            fprintf(out, "%s%.*s\n", p == o->help ? "" : "                         ", len, p);
            p += len + (nl != NULL);
        }
    }
    if (h->json) {
        /* The keys, wrapped after a comma or a space. */
        fputs("\nJSON keys (--json):\n ", out);
        int col = 1;
        for (const char *p = h->json; *p;) {
            const char *sp = strchr(p, ' ');
            int len = sp ? (int)(sp - p) : (int)strlen(p);
            if (col + 1 + len > WRAP_COL) {
                fputs("\n ", out);
                col = 1;
            }
            fprintf(out, " %.*s", len, p);
            col += 1 + len;
            p += len + (sp != NULL);
        }
        fputs("\n", out);
        if (h->json_notes)
            fprintf(out, "\n%s", h->json_notes);
    }
    if (h->extra)
        h->extra(out);
    fprintf(out, "\nExit status: %s\n",
            h->exit_status ? h->exit_status
                           : "0 success, 1 a trace could not be read, 2 usage error.");
}

void mt_cli_init(mt_cli_t *c, const char *cmd, const mt_help_t *help)
{
    memset(c, 0, sizeof(*c));
    c->cmd = cmd;
    c->help = help;
    c->top = 10;
    c->depth = -1;
    c->json = -1;
    c->ro.pool = MT_POOL_NONE;
    c->ro.progress = isatty(STDERR_FILENO);
}

int mt_cli_long(const mt_cli_t *c, const char *opt, const char *s, long min, long max, long *v)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno || end == s || *end || n < min || n > max) {
        if (max == LONG_MAX)
            return mt_usage_error(c->cmd, "%s %s: expected a whole number >= %ld", opt, s, min);
        return mt_usage_error(c->cmd, "%s %s: expected a whole number from %ld to %ld", opt, s,
                              min, max);
    }
    *v = n;
    return 0;
}

static int parse_match(mt_cli_t *c, const char *arg)
{
    if (c->has_match)
        regfree(&c->match);
    c->has_match = false;
    int e = regcomp(&c->match, arg, REG_EXTENDED | REG_NOSUB);
    if (e) {
        char msg[256];
        regerror(e, &c->match, msg, sizeof(msg));
        return mt_usage_error(c->cmd, "--match '%s': %s", arg, msg);
    }
    c->has_match = true;
    return 0;
}

/* --from / --to T: the one time grammar (common/time.c). */
static int parse_time(mt_cli_t *c, const char *opt, const char *arg, mt_time_arg_t *t)
{
    if (mt_time_parse(arg, &t->v, &t->percent))
        return mt_usage_error(c->cmd, "%s %s: expected a time from the trace's start, "
                              "e.g. 1.5s, 200ms, 3m or 2 (seconds), or a share of its length "
                              "from 0%% to 100%%, e.g. 25%%", opt, arg);
    t->set = true;
    return 0;
}

/* The shared options, by the values their longopts rows give. */
static int shared_option(mt_cli_t *c, int opt, char **argv)
{
    switch (opt) {
    case 'n':
        return mt_cli_long(c, "-n", optarg, 0, LONG_MAX, &c->top);
    case 'm':
        return parse_match(c, optarg);
    case 'd':
        return mt_cli_long(c, "--depth", optarg, 1, LONG_MAX, &c->depth);
    case 'y':
        if (strcmp(optarg, "function") == 0)
            c->by_function = true;
        else if (strcmp(optarg, "stack") == 0)
            c->by_function = false;
        else
            return mt_usage_error(c->cmd, "--by %s: expected 'function' or 'stack'", optarg);
        return 0;
    case 'p':
        if (mt_parse_pool(optarg, &c->ro.pool))
            return mt_usage_error(c->cmd, "--pool %s: expected a pool name, a pool id or 'all'",
                                  optarg);
        c->pool_arg = optarg;
        return 0;
    case MT_OPTV_FROM:
        return parse_time(c, "--from", optarg, &c->ro.from);
    case MT_OPTV_TO:
        return parse_time(c, "--to", optarg, &c->ro.to);
    case 'j':
        if (!optarg || strcmp(optarg, "pretty") == 0)
            c->json = MT_JSON_PRETTY;
        else if (strcmp(optarg, "compact") == 0)
            c->json = MT_JSON_COMPACT;
        else
            return mt_usage_error(c->cmd, "--json=%s: expected 'pretty' or 'compact'", optarg);
        return 0;
    case 'h':
        mt_help_print(c->help, c->cmd, stdout);
        return -1;
    case ':':
        return mt_usage_error(c->cmd, "option '%s' needs a value", argv[optind - 1]);
    default:
        return mt_usage_error(c->cmd, "unknown option '%s'", argv[optind - 1]);
    }
}

int mt_cli_parse(mt_cli_t *c, int argc, char **argv,
                 int (*own)(void *ctx, int opt, const char *arg), void *ctx)
{
    /* getopt's tables, from the one table of options. */
    struct option longopts[MAX_OPTS + 1];
    char shortopts[3 * MAX_OPTS + 2] = ":";
    size_t n = 0, ns = 1;
    for (const mt_opt_t *o = c->help->opts; o->name && n < MAX_OPTS; o++, n++) {
        longopts[n] = (struct option){o->name, o->has_arg, NULL, o->val};
        if (o->shrt) {
            shortopts[ns++] = o->shrt;
            if (o->has_arg != no_argument)
                shortopts[ns++] = ':';
            if (o->has_arg == optional_argument)
                shortopts[ns++] = ':';
        }
    }
    longopts[n] = (struct option){NULL, 0, NULL, 0};
    shortopts[ns] = '\0';
    int opt, rc = 0;
    optind = 0; /* glibc: full re-initialisation of getopt */
    opterr = 0;
    while (!rc && (opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        rc = own ? own(ctx, opt, optarg) : MT_CLI_SHARED;
        if (rc == MT_CLI_SHARED)
            rc = shared_option(c, opt, argv);
    }
    c->ntraces = argc - optind;
    c->traces = argv + optind;
    const mt_time_arg_t *f = &c->ro.from, *t = &c->ro.to;
    if (!rc && f->set && t->set && f->percent == t->percent && f->v > t->v) {
        char a[MT_FMT_MAX], b[MT_FMT_MAX];
        if (f->percent)
            snprintf(a, sizeof(a), "%g%%", (double)f->v / 10000), snprintf(b, sizeof(b), "%g%%", (double)t->v / 10000);
        else
            mt_fmt_duration(a, f->v), mt_fmt_duration(b, t->v);
        rc = mt_usage_error(c->cmd, "--from %s is after --to %s: the window would be empty", a, b);
    }
    return rc;
}

int mt_cli_need_traces(mt_cli_t *c)
{
    if (c->ntraces > 0)
        return 0;
    size_t n;
    int rc = mt_discover_traces(".", &c->found, &n);
    if (rc)
        return rc;
    c->traces = c->found;
    c->ntraces = (int)n;
    return 0;
}

size_t mt_cli_shown(const mt_cli_t *c, size_t n)
{
    return c->top > 0 && (size_t)c->top < n ? (size_t)c->top : n;
}

size_t mt_cli_depth(const mt_cli_t *c, size_t dflt)
{
    return c->depth > 0 ? (size_t)c->depth : dflt;
}

int mt_cli_end(mt_cli_t *c, int rc)
{
    for (int i = 0; c->found && i < c->ntraces; i++)
        free(c->found[i]);
    free(c->found);
    c->found = NULL;
    if (c->has_match)
        regfree(&c->match);
    c->has_match = false;
    return rc < 0 ? MT_EXIT_OK : rc;
}

int mt_parse_pool(const char *s, int64_t *pool)
{
    if (strcmp(s, "all") == 0) {
        *pool = MT_POOL_ALL;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long long n = strtoull(s, &end, 0);
    if (*s >= '0' && *s <= '9' && !errno && end != s && !*end && n <= INT64_MAX) {
        *pool = (int64_t)n; /* a pool id */
        return 0;
    }
    /* A pool name: its id is the hash the annotations record. */
    if (!*s || *s == '-')
        return MT_EINVAL;
    *pool = (int64_t)mt_pool_id(s);
    return 0;
}

/* ---- session ------------------------------------------------------------- */

int mt_session_open(mt_session_t *s, int n, char **paths)
{
    memset(s, 0, sizeof(*s));
    s->ntraces = n;
    s->paths = paths;
    if (!(s->readers = calloc((size_t)n, sizeof(*s->readers))) || !(s->sym = mt_sym_new())) {
        mt_session_close(s);
        return mt_error("out of memory opening %d %s", n, mt_plural((uint64_t)n, "trace", "traces"));
    }
    int rc = MT_EXIT_OK;
    for (int i = 0; i < n; i++) {
        int one = mt_trace_open(paths[i], &s->readers[i]);
        if (one)
            rc = one; /* keep going: report every bad trace at once */
    }
    if (rc)
        mt_session_close(s);
    return rc;
}

int mt_session_replay(mt_session_t *s, const mt_replay_options_t *opt)
{
    if (s->replayed)
        mt_replay_free(&s->rp);
    s->replayed = false;
    int err = mt_replay_init(&s->rp, opt);
    if (err) {
        mt_replay_free(&s->rp);
        return mt_error("out of memory");
    }
    s->replayed = true;
    for (int i = 0; i < s->ntraces; i++)
        if ((err = mt_replay_add(&s->rp, s->paths[i], s->readers[i])) != 0)
            return mt_replay_error(&s->rp, err);
    for (int i = 0; i < s->ntraces; i++)
        if ((err = mt_sym_add_trace(s->sym, (uint32_t)i, s->readers[i])) != 0)
            return mt_trace_error(s->paths[i], "the module map", err);
    if (s->prefetch && mt_sym_prefetch(s->sym, s->readers, (size_t)s->ntraces) != 0)
        return mt_error("out of memory");
    if ((err = mt_replay_run(&s->rp)) != 0)
        return mt_replay_error(&s->rp, err);
    return MT_EXIT_OK;
}

int mt_session_refresh(mt_session_t *s)
{
    for (int i = 0; i < s->ntraces; i++) {
        int err = mt_reader_refresh(s->readers[i]);
        if (err)
            return mt_trace_error(s->paths[i], "a new snapshot", err);
    }
    return MT_EXIT_OK;
}

void mt_session_close(mt_session_t *s)
{
    if (s->replayed)
        mt_replay_free(&s->rp);
    mt_sym_free(s->sym);
    for (int i = 0; s->readers && i < s->ntraces; i++)
        if (s->readers[i])
            mt_reader_close(s->readers[i]);
    free(s->readers);
    memset(s, 0, sizeof(*s));
}

/* ---- running a report ------------------------------------------------------ */

typedef struct job {
    mt_cli_t *c;
    mt_session_t *s;
    int (*report)(void *ctx, mt_session_t *s);
    void *ctx;
} job_t;

/* One report from the current snapshot. */
static int report_once(const job_t *job)
{
    int rc = mt_session_replay(job->s, &job->c->ro);
    return rc ? rc : job->report(job->ctx, job->s);
}

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int live(const job_t *job)
{
    const mt_cli_t *c = job->c;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint; /* no SA_RESTART: nanosleep returns at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    bool tty = isatty(STDOUT_FILENO) && c->json < 0;
    int rc = MT_EXIT_OK;
    while (!interrupted) {
        if (tty)
            fputs("\033[H\033[2J", stdout);
        if (c->json < 0) {
            time_t now = time(NULL);
            struct tm tm;
            char when[32] = "";
            if (localtime_r(&now, &tm))
                strftime(when, sizeof(when), "%H:%M:%S", &tm);
            printf("%s %s: %s, every %ld ms (Ctrl-C to stop)\n", MT_PROGNAME, c->cmd, when,
                   c->interval_ms);
        }
        if ((rc = report_once(job)) != 0)
            break;
        if (fflush(stdout) != 0)
            break; /* main reports the write error */
        struct timespec ts = {c->interval_ms / 1000, (c->interval_ms % 1000) * 1000000L};
        while (!interrupted && nanosleep(&ts, &ts) != 0)
            ;
        if (interrupted || (rc = mt_session_refresh(job->s)) != 0)
            break;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}

int mt_cli_run(mt_cli_t *c, int (*report)(void *ctx, mt_session_t *s), void *ctx)
{
    int rc = mt_cli_need_traces(c);
    if (rc)
        return rc;
    mt_session_t s;
    rc = mt_session_open(&s, c->ntraces, c->traces);
    if (!rc) {
        s.prefetch = true; /* every report of mt_cli_run symbolizes */
        job_t job = {c, &s, report, ctx};
        rc = c->interval_ms ? live(&job) : report_once(&job);
    }
    mt_session_close(&s);
    return rc;
}

int mt_cli_rows(const mt_cli_t *c, mt_session_t *s, mt_report_t *rep,
                bool (*keep)(const mt_stack_stats_t *st),
                int (*fill)(mt_report_t *rep, void *ctx), void *ctx,
                int (*cmp)(const mt_row_t *a, const mt_row_t *b), size_t *nshow)
{
    *nshow = 0;
    int err = mt_report_build(rep, &s->rp, s->sym, c->by_function, keep);
    if (!err && fill)
        err = fill(rep, ctx);
    if (!err && c->has_match)
        err = mt_report_match(rep, &c->match);
    if (err)
        return mt_replay_error(&s->rp, err);
    mt_report_sort(rep, cmp);
    *nshow = mt_cli_shown(c, rep->nrows);
    for (size_t i = 0; i < *nshow; i++)
        if (mt_report_frames(rep, &rep->rows[i]))
            return mt_error("%s: out of memory symbolizing", c->cmd);
    return MT_EXIT_OK;
}

/* ---- --json ---------------------------------------------------------------- */

void mt_cli_json_begin(mt_json_t *j, const mt_cli_t *c)
{
    mt_json_init(j, stdout, c->interval_ms ? MT_JSON_COMPACT : c->json);
    mt_json_begin_object(j);
}

void mt_cli_json_end(mt_json_t *j, const mt_cli_t *c)
{
    mt_json_end_object(j);
    if (mt_json_end(j) != 0)
        mt_error("%s: internal error: malformed JSON output", c->cmd);
}
