/* summary.h - the diagnosis behind `mtrace-analyze summary` and the HTML
 * report (summary.c): the timeline (timeline.c) of RSS, heap and mapped
 * bytes, and one replay that feeds fit.c's and numa.c's hooks; from them,
 * and from the report rows, a short list
 * of findings, each with a verdict, its numbers, the threshold applied and
 * the command that shows the detail. Printing is cmd-summary.c's.
 */
#ifndef MT_ANALYZE_SUMMARY_H
#define MT_ANALYZE_SUMMARY_H

#include "fit.h"
#include "numa.h"
#include "timeline.h"

enum { MT_VERDICT_OK, MT_VERDICT_WARN, MT_VERDICT_BAD };
/* "ok", "warn", "bad". */
extern const char *const mt_verdict_names[3];

/* The thresholds, each an option of summary and report (defaults in
 * summary.c: MT_SUMMARY_LIMITS_DEFAULT). */
typedef struct mt_summary_limits {
    double frag_warn, frag_bad;  /* RSS / (live heap + live mapped regions) */
    uint64_t frag_min;           /* judge only samples with this much live memory */
    double growth;               /* RSS growth over the second half of the run,
                                    as a share of the final RSS, that counts as
                                    "keeps growing" */
    long leak_steps;             /* a stack whose live bytes grew in at least this
                                    many of the 15 intervals is a leak suspect */
    double waste_warn, waste_bad; /* size-class rounding waste, share of requested */
    long optimize_k;             /* at most this many classes proposed */
    double pool_warn, pool_bad;  /* mmap calls per second */
    double remote_warn;          /* share of placed bytes on a remote node */
    long hot;                    /* hottest stacks listed */
} mt_summary_limits_t;

#define MT_SUMMARY_LIMITS_DEFAULT                                                        \
    {.frag_warn = 1.3, .frag_bad = 1.5, .frag_min = 16u << 20, .growth = 0.10,           \
     .leak_steps = 10, .waste_warn = 0.20, .waste_bad = 0.40, .optimize_k = 32,        \
     .pool_warn = 50, .pool_bad = 500, .remote_warn = 0.25, .hot = 3}

#define MT_FINDING_NUMBERS 12
#define MT_FINDING_LINES 8

/* One finding. */
typedef struct mt_finding {
    const char *name;           /* "trace", "fragmentation", ... (JSON key "name") */
    int verdict;                /* MT_VERDICT_* */
    char text[256];             /* the finding in one line */
    char lines[MT_FINDING_LINES][160]; /* more lines (hot stacks, suspects) */
    size_t nlines;
    char threshold[200];        /* the threshold applied, in words */
    char command[512];          /* the mtrace-analyze command with the detail */
    struct {
        const char *name;
        double value;
    } num[MT_FINDING_NUMBERS];  /* the numbers behind it */
    size_t nnum;
} mt_finding_t;

typedef struct mt_summary {
    mt_summary_limits_t lim;
    mt_fit_collect_t fit;       /* fit.c's hook */
    mt_numa_t numa;             /* numa.c's hook */
    mt_replay_options_t numa_ro;
    mt_timeline_t tl;           /* RSS, heap and mapped over time (timeline.c) */
    char allocator[16];         /* "jemalloc", "tcmalloc", "mimalloc", "glibc" */
    mt_fit_opts_t fo;           /* fit's analysis under the allocator's classes */
    mt_fit_t fitr;
    bool has_fit;
    uint64_t dropped, stacks_lost, mmaps, mbinds, mempolicies;
    mt_finding_t f[8];
    size_t nf;
    int verdict;                /* the worst */
} mt_summary_t;

/* Sets SM up with limits LIM and hooks OPT (growth on, heap replay) so that
 * a replay with OPT feeds it. Returns 0 or ENOMEM. */
int mt_summary_init(mt_summary_t *sm, const mt_summary_limits_t *lim, mt_replay_options_t *opt);
/* Opens the traces of C, builds their timeline into sm->tl, replays them
 * with c->ro (hooked by mt_summary_init), fills sm->f and calls REPORT(CTX,
 * SESSION) to print. The commands in the findings name c->traces. Returns an
 * exit status, after printing any error. */
int mt_summary_run(mt_summary_t *sm, mt_cli_t *c, int (*report)(void *ctx, mt_session_t *s),
                   void *ctx);
void mt_summary_free(mt_summary_t *sm);

/* The summary's options (thresholds), shared by summary and report: rows for
 * an mt_opt_t table, and their handler (mt_cli_parse's OWN; returns
 * MT_CLI_SHARED for others). */
#define MT_SUMMARY_OPTS                                                                  \
    {1001, 0, "frag-warn", required_argument, "R",                                      \
     "fragmentation (RSS / live heap + mapped) that warns\n(default 1.3)"},             \
    {1002, 0, "frag-bad", required_argument, "R", "fragmentation that is bad (default 1.5)"}, \
    {1003, 0, "frag-min", required_argument, "SIZE",                                    \
     "judge fragmentation only where this much memory is\nlive (default 16M)"},          \
    {1004, 0, "growth", required_argument, "R",                                         \
     "RSS growth over the second half of the run, share\nof the final RSS, that means it keeps growing\n(default 0.10)"}, \
    {1005, 0, "leak-steps", required_argument, "N",                                     \
     "a stack whose live bytes grew in N of the 15\nintervals is a leak suspect (default 10)"}, \
    {1006, 0, "waste-warn", required_argument, "R",                                     \
     "size-class waste, share of requested bytes, that\nwarns (default 0.20)"},         \
    {1007, 0, "waste-bad", required_argument, "R", "size-class waste that is bad (default 0.40)"}, \
    {1008, 0, "optimize", required_argument, "K",                                       \
     "the optimiser proposes as many classes as the\nrequests use, at most K (default 32)"},                                    \
    {1009, 0, "pool-warn", required_argument, "N",                                      \
     "mmap calls per second that warn: the pool grows\noften, it is too small (default 50)"}, \
    {1010, 0, "pool-bad", required_argument, "N", "mmap calls per second that are bad (default 500)"}, \
    {1011, 0, "remote-warn", required_argument, "R",                                    \
     "share of placed bytes on a remote node that warns\n(default 0.25)"}

int mt_summary_option(mt_cli_t *c, mt_summary_limits_t *lim, int opt, const char *arg);

/* The JSON keys of mt_summary_json, for the commands' help. */
#define MT_SUMMARY_JSON_KEYS                                                             \
    "verdict, allocator, estimated, sample_interval, complete, traces: [{trace, pid, "  \
    "command, complete, sample_interval, events, unknown_frees}], findings: [{name, "  \
    "verdict, text, lines: [...], threshold, command, numbers: {*}}]"
/* Writes the keys above into the open object of J. */
void mt_summary_json(const mt_summary_t *sm, const mt_replay_t *rp, mt_json_t *j);

#endif
