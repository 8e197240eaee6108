/* cmd-top.c - `mtrace-analyze top`: the stacks that allocate the most.
 *
 * Replays every trace given (a process and its children, merged), groups
 * the stacks, symbolizes only the rows it prints (all rows with --match or
 * --by function) and ranks them by allocated bytes, calls, contribution to
 * the peak, live bytes at the end or temporary allocations. Totals come from
 * the exact counters unless a filter makes them a sum of estimates. With -i
 * it re-reads the traces every interval until SIGINT (live mode).
 */
#include <getopt.h>
#include <inttypes.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "builtin.h"
#include "internal.h"

static const char usage[] =
    "usage: mtrace-analyze top [options] TRACE...\n"
    "\n"
    "Ranks allocation stacks by what they allocated. Several TRACEs (a process\n"
    "and its fork/exec children) are replayed together on one timeline; the\n"
    "same stack in several of them is one entry. With sampling (the default)\n"
    "per-stack numbers are estimates and totals are exact; with\n"
    "MTRACE_SAMPLE=all everything is exact.\n"
    "\n"
    "Options:\n"
    "  -n, --top N            show N entries (default 10; 0 = all)\n"
    "  -s, --sort KEY         bytes (allocated, default), count (calls), peak\n"
    "                         (live at the moment of peak heap), live (live at\n"
    "                         the end), temp (temporary allocations: freed by\n"
    "                         the same thread before its next allocation)\n"
    "      --min-size B       count only allocations of at least B bytes (K/M/G)\n"
    "      --max-size B       count only allocations of at most B bytes\n"
    "  -m, --match REGEX      keep stacks with a frame whose function, file or\n"
    "                         module matches REGEX (POSIX extended)\n"
    "  -d, --depth D          show D frames per entry (default 12 in text, all in JSON)\n"
    "      --by function|stack  group by allocating function (the innermost\n"
    "                         frame) or by whole stack (default)\n"
    "      --pool NAME        report pool allocations (annotation API) of pool\n"
    "                         id NAME, or of every pool with 'all'\n"
    "  -i, --interval MS      live mode: re-read the traces every MS ms and print\n"
    "                         again, until interrupted (works while recording)\n"
    "      --json[=pretty|compact]  print JSON (compact in live mode, one line\n"
    "                         per refresh). Keys: total_bytes, total_count,\n"
    "                         total_exact, estimated, sample_interval, complete,\n"
    "                         sort, peak_bytes, peak_ns, live_bytes, live_count,\n"
    "                         temp_count, traces: [{trace, pid, command, complete,\n"
    "                         sample_interval, events, unknown_frees}], stacks:\n"
    "                         [{bytes, count, peak_bytes, live_bytes, live_count,\n"
    "                         temp_count, min_size, max_size, stacks, frames:\n"
    "                         [{function, file, line, module, address (hex\n"
    "                         string), inlined, offset (when file is null)}]}];\n"
    "                         frames innermost first, unknown parts null.\n"
    "  -h, --help             show this help\n"
    "\n"
    "Exit status: 0 success, 1 a trace could not be read, 2 usage error.\n";

enum sort_key { SORT_BYTES, SORT_COUNT, SORT_PEAK, SORT_LIVE, SORT_TEMP };
static const char *const sort_names[] = {"bytes", "count", "peak", "live", "temp"};

typedef struct top_opts {
    long top;
    enum sort_key sort;
    bool by_function;
    bool has_match;
    regex_t match;
    long depth;              /* -1: default */
    int json;                /* -1 text */
    long interval_ms;        /* 0: once */
    mt_replay_options_t ro;
} top_opts_t;

static bool keep_allocating(const mt_stack_stats_t *st)
{
    return st->alloc_w > 0;
}

static int cmp_u128(mt_u128 a, mt_u128 b)
{
    return a > b ? -1 : a < b;
}

static int by_bytes(const mt_row_t *a, const mt_row_t *b)
{
    int c = cmp_u128(a->agg.alloc_bw, b->agg.alloc_bw);
    return c ? c : cmp_u128(a->agg.alloc_w, b->agg.alloc_w);
}
static int by_count(const mt_row_t *a, const mt_row_t *b)
{
    int c = cmp_u128(a->agg.alloc_w, b->agg.alloc_w);
    return c ? c : by_bytes(a, b);
}
static int by_peak(const mt_row_t *a, const mt_row_t *b)
{
    int c = cmp_u128(a->agg.peak_bw, b->agg.peak_bw);
    return c ? c : by_bytes(a, b);
}
static int by_live(const mt_row_t *a, const mt_row_t *b)
{
    int c = cmp_u128(a->agg.live_bw, b->agg.live_bw);
    return c ? c : by_bytes(a, b);
}
static int by_temp(const mt_row_t *a, const mt_row_t *b)
{
    int c = cmp_u128(a->agg.temp_w, b->agg.temp_w);
    return c ? c : by_count(a, b);
}

static int (*const comparators[])(const mt_row_t *, const mt_row_t *) = {
    by_bytes, by_count, by_peak, by_live, by_temp,
};

/* ---- output ------------------------------------------------------------ */

typedef struct totals {
    uint64_t bytes, count;
    bool exact;
} totals_t;

static totals_t totals(const top_opts_t *o, const mt_replay_t *rp, const mt_report_t *rep)
{
    totals_t t = {0};
    bool filtered = o->has_match || o->ro.min_size || o->ro.max_size ||
                    (o->ro.pool != MT_POOL_NONE && o->ro.pool != MT_POOL_ALL);
    if (!filtered && rp->exact_calls) {
        t.bytes = rp->exact_bytes;
        t.count = rp->exact_calls;
        t.exact = true;
        return t;
    }
    mt_u128 bw = 0, w = 0;
    for (size_t i = 0; i < rep->nrows; i++) {
        bw += rep->rows[i].agg.alloc_bw;
        w += rep->rows[i].agg.alloc_w;
    }
    t.bytes = mt_bw_bytes(bw);
    t.count = mt_bw_bytes(w); /* w / 65536, rounded */
    t.exact = !rp->sampled;
    return t;
}

static const char *what_name(const top_opts_t *o, char *buf, size_t cap)
{
    if (o->ro.pool == MT_POOL_NONE)
        snprintf(buf, cap, "malloc");
    else if (o->ro.pool == MT_POOL_ALL)
        snprintf(buf, cap, "pool");
    else
        snprintf(buf, cap, "pool %" PRId64, o->ro.pool);
    return buf;
}

static void print_text(const top_opts_t *o, mt_session_t *s, mt_report_t *rep, size_t nshow)
{
    const mt_replay_t *rp = &s->rp;
    totals_t t = totals(o, rp, rep);
    char a[MT_FMT_MAX], b[MT_FMT_MAX], c[MT_FMT_MAX], d[MT_FMT_MAX], w[32];
    uint64_t interval = 0;
    for (size_t i = 0; i < rp->ntraces; i++)
        if (rp->traces[i].info.sample_interval > interval)
            interval = rp->traces[i].info.sample_interval;

    printf("%s%s total %s in %s calls", what_name(o, w, sizeof(w)),
           o->has_match || o->ro.min_size || o->ro.max_size ? " (matching)" : "",
           mt_fmt_bytes(a, t.bytes), mt_fmt_count(b, t.count));
    if (rp->sampled)
        printf(" (sampled every %s; %s)\n", mt_fmt_bytes(c, interval),
               t.exact ? "totals exact, stacks are estimates" : "estimates");
    else
        printf(" (every call recorded; exact)\n");
    printf("peak heap %s at %s; %s live in %s objects at the end%s",
           mt_fmt_bytes(a, mt_bw_bytes(rp->peak_bw)), mt_fmt_duration(b, rp->peak_ns),
           mt_fmt_bytes(c, mt_bw_bytes(rp->live_bw)), mt_fmt_count(d, mt_w_objects(rp->live_w)),
           rp->complete ? "" : " (trace still running or not ended cleanly)");
    printf("; %s temporary allocations\n", mt_fmt_count(a, mt_w_objects(rp->temp_w)));
    if (rp->ntraces > 1)
        printf("%zu traces merged\n", rp->ntraces);
    if (!rep->nrows) {
        printf("\n(no allocation stacks%s)\n", o->has_match ? " match" : "");
        return;
    }
    size_t depth = o->depth >= 0 ? (size_t)o->depth : 12;
    for (size_t i = 0; i < nshow; i++) {
        const mt_row_t *r = &rep->rows[i];
        const mt_stack_stats_t *st = &r->agg;
        uint64_t bytes = mt_bw_bytes(st->alloc_bw), count = mt_w_objects(st->alloc_w);
        printf("\n#%-3zu %s (%s) in %s call%s (%s)%s\n", i + 1, mt_fmt_bytes(a, bytes),
               mt_fmt_percent(b, bytes, t.bytes), mt_fmt_count(c, count), count == 1 ? "" : "s",
               mt_fmt_percent(d, count, t.count), rp->sampled ? ", estimated" : "");
        uint64_t lc = mt_w_objects(st->live_w);
        printf("     peak %s, live %s in %s object%s", mt_fmt_bytes(a, mt_bw_bytes(st->peak_bw)),
               mt_fmt_bytes(b, mt_bw_bytes(st->live_bw)), mt_fmt_count(c, lc), lc == 1 ? "" : "s");
        printf(", %s temporary", mt_fmt_count(a, mt_w_objects(st->temp_w)));
        if (st->min_size == st->max_size)
            printf(", size %s\n", mt_fmt_bytes(b, st->min_size));
        else
            printf(", sizes %s..%s\n", mt_fmt_bytes(b, st->min_size), mt_fmt_bytes(c, st->max_size));
        mt_report_print_frames(r, depth);
    }
    if (nshow < rep->nrows)
        printf("\n... %s more entries (-n 0 shows all)\n", mt_fmt_count(a, rep->nrows - nshow));
}

static void print_json(const top_opts_t *o, mt_session_t *s, mt_report_t *rep, size_t nshow,
                       int style)
{
    const mt_replay_t *rp = &s->rp;
    totals_t t = totals(o, rp, rep);
    mt_json_t j;
    mt_json_init(&j, stdout, style);
    mt_json_begin_object(&j);
    mt_json_kv_u64(&j, "total_bytes", t.bytes);
    mt_json_kv_u64(&j, "total_count", t.count);
    mt_json_kv_bool(&j, "total_exact", t.exact);
    mt_report_json_traces(&j, rp);
    mt_json_kv_string(&j, "sort", sort_names[o->sort]);
    mt_json_kv_string(&j, "by", o->by_function ? "function" : "stack");
    mt_json_kv_u64(&j, "peak_bytes", mt_bw_bytes(rp->peak_bw));
    mt_json_kv_u64(&j, "peak_ns", rp->peak_ns);
    mt_json_kv_u64(&j, "live_bytes", mt_bw_bytes(rp->live_bw));
    mt_json_kv_u64(&j, "live_count", mt_w_objects(rp->live_w));
    mt_json_kv_u64(&j, "temp_count", mt_w_objects(rp->temp_w));
    mt_json_kv_u64(&j, "entries", rep->nrows);
    mt_json_key(&j, "stacks");
    mt_json_begin_array(&j);
    for (size_t i = 0; i < nshow; i++) {
        const mt_row_t *r = &rep->rows[i];
        const mt_stack_stats_t *st = &r->agg;
        mt_json_begin_object(&j);
        mt_json_kv_u64(&j, "bytes", mt_bw_bytes(st->alloc_bw));
        mt_json_kv_u64(&j, "count", mt_w_objects(st->alloc_w));
        mt_json_kv_u64(&j, "peak_bytes", mt_bw_bytes(st->peak_bw));
        mt_json_kv_u64(&j, "live_bytes", mt_bw_bytes(st->live_bw));
        mt_json_kv_u64(&j, "live_count", mt_w_objects(st->live_w));
        mt_json_kv_u64(&j, "temp_count", mt_w_objects(st->temp_w));
        mt_json_kv_u64(&j, "min_size", st->min_size);
        mt_json_kv_u64(&j, "max_size", st->max_size);
        mt_json_kv_u64(&j, "stacks", r->nstacks);
        mt_report_json_frames(&j, r, o->depth > 0 ? (size_t)o->depth : 0);
        mt_json_end_object(&j);
    }
    mt_json_end_array(&j);
    mt_json_end_object(&j);
    if (mt_json_end(&j) != 0)
        mt_error("top: internal error: malformed JSON output");
}

/* One report from the current snapshot. */
static int report_once(const top_opts_t *o, mt_session_t *s)
{
    int rc = mt_session_replay(s, &o->ro);
    if (rc)
        return rc;
    mt_report_t rep;
    int err = mt_report_build(&rep, &s->rp, s->sym, o->by_function, keep_allocating);
    if (!err && o->has_match)
        err = mt_report_match(&rep, &o->match);
    if (err) {
        mt_report_free(&rep);
        return mt_replay_error(&s->rp, err);
    }
    mt_report_sort(&rep, comparators[o->sort]);
    size_t nshow = o->top > 0 && (size_t)o->top < rep.nrows ? (size_t)o->top : rep.nrows;
    for (size_t i = 0; i < nshow; i++)
        if (mt_report_frames(&rep, &rep.rows[i])) {
            mt_report_free(&rep);
            return mt_error("top: out of memory symbolizing");
        }
    if (o->json >= 0)
        print_json(o, s, &rep, nshow, o->interval_ms ? MT_JSON_COMPACT : o->json);
    else
        print_text(o, s, &rep, nshow);
    mt_report_free(&rep);
    return MT_EXIT_OK;
}

/* ---- live mode ---------------------------------------------------------- */

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int live(const top_opts_t *o, mt_session_t *s)
{
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint; /* no SA_RESTART: nanosleep returns at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    bool tty = isatty(STDOUT_FILENO) && o->json < 0;
    int rc = MT_EXIT_OK;
    while (!interrupted) {
        if (tty)
            fputs("\033[H\033[2J", stdout);
        if (o->json < 0) {
            time_t now = time(NULL);
            struct tm tm;
            char when[32] = "";
            if (localtime_r(&now, &tm))
                strftime(when, sizeof(when), "%H:%M:%S", &tm);
            printf("mtrace-analyze top: %s, every %ld ms (Ctrl-C to stop)\n", when, o->interval_ms);
        }
        if ((rc = report_once(o, s)) != 0)
            break;
        if (fflush(stdout) != 0)
            break; /* main reports the write error */
        struct timespec ts = {o->interval_ms / 1000, (o->interval_ms % 1000) * 1000000L};
        while (!interrupted && nanosleep(&ts, &ts) != 0)
            ;
        if (interrupted || (rc = mt_session_refresh(s)) != 0)
            break;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}

/* ---- command ------------------------------------------------------------ */

static int parse_long(const char *opt, const char *s, long min, long *v)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (end == s || *end || n < min)
        return mt_usage_error("top", "%s %s: expected a whole number >= %ld", opt, s, min);
    *v = n;
    return 0;
}

int cmd_top(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"top", required_argument, NULL, 'n'},
        {"sort", required_argument, NULL, 's'},
        {"min-size", required_argument, NULL, 'a'},
        {"max-size", required_argument, NULL, 'b'},
        {"match", required_argument, NULL, 'm'},
        {"depth", required_argument, NULL, 'd'},
        {"by", required_argument, NULL, 'y'},
        {"pool", required_argument, NULL, 'p'},
        {"interval", required_argument, NULL, 'i'},
        {"json", optional_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    top_opts_t o;
    memset(&o, 0, sizeof(o));
    o.top = 10;
    o.depth = -1;
    o.json = -1;
    o.ro.pool = MT_POOL_NONE;
    o.ro.progress = isatty(STDERR_FILENO);
    int opt, rc = 0;

    optind = 0;
    opterr = 0;
    while (!rc && (opt = getopt_long(argc, argv, ":n:s:m:d:i:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'n':
            rc = parse_long("-n", optarg, 0, &o.top);
            break;
        case 's': {
            size_t k = 0;
            while (k < 5 && strcmp(optarg, sort_names[k]) != 0)
                k++;
            if (k == 5)
                rc = mt_usage_error("top", "--sort %s: expected bytes, count, peak, live or temp",
                                    optarg);
            o.sort = (enum sort_key)k;
            break;
        }
        case 'a':
        case 'b':
            if (mt_parse_size(optarg, opt == 'a' ? &o.ro.min_size : &o.ro.max_size))
                rc = mt_usage_error("top", "--%s %s: expected a size in bytes, e.g. 4096 or 64K",
                                    opt == 'a' ? "min-size" : "max-size", optarg);
            break;
        case 'm': {
            int e;
            if (o.has_match)
                regfree(&o.match);
            o.has_match = false;
            if ((e = regcomp(&o.match, optarg, REG_EXTENDED | REG_NOSUB)) != 0) {
                char msg[256];
                regerror(e, &o.match, msg, sizeof(msg));
                rc = mt_usage_error("top", "--match '%s': %s", optarg, msg);
            } else {
                o.has_match = true;
            }
            break;
        }
        case 'd':
            rc = parse_long("--depth", optarg, 1, &o.depth);
            break;
        case 'y':
            if (strcmp(optarg, "function") == 0)
                o.by_function = true;
            else if (strcmp(optarg, "stack") == 0)
                o.by_function = false;
            else
                rc = mt_usage_error("top", "--by %s: expected 'function' or 'stack'", optarg);
            break;
        case 'p':
            if (mt_parse_pool(optarg, &o.ro.pool))
                rc = mt_usage_error("top", "--pool %s: expected a pool id or 'all'", optarg);
            break;
        case 'i':
            rc = parse_long("-i", optarg, 1, &o.interval_ms);
            break;
        case 'j':
            if (!optarg || strcmp(optarg, "pretty") == 0)
                o.json = MT_JSON_PRETTY;
            else if (strcmp(optarg, "compact") == 0)
                o.json = MT_JSON_COMPACT;
            else
                rc = mt_usage_error("top", "--json=%s: expected 'pretty' or 'compact'", optarg);
            break;
        case 'h':
            fputs(usage, stdout);
            rc = -1;
            break;
        case ':':
            rc = mt_usage_error("top", "option '%s' needs a value", argv[optind - 1]);
            break;
        default:
            rc = mt_usage_error("top", "unknown option '%s'", argv[optind - 1]);
            break;
        }
    }
    if (!rc && o.ro.max_size && o.ro.min_size > o.ro.max_size)
        rc = mt_usage_error("top", "--min-size is larger than --max-size");
    if (!rc && argc - optind <= 0)
        rc = mt_usage_error("top", "no TRACE given; pass one or more trace directories, "
                                   "e.g. mtrace.<command>.<pid>");
    if (rc) {
        if (o.has_match)
            regfree(&o.match);
        return rc < 0 ? MT_EXIT_OK : rc;
    }

    mt_session_t s;
    rc = mt_session_open(&s, argc - optind, argv + optind);
    if (!rc)
        rc = o.interval_ms ? live(&o, &s) : report_once(&o, &s);
    mt_session_close(&s);
    if (o.has_match)
        regfree(&o.match);
    return rc;
}
