/* fit.h - the size-class model behind `mtrace-analyze fit`: class tables
 * (sizeclass.c), rounding and pool-chunk waste (sizeclass.c), the exact
 * optimal class set (optimize.c, algorithm in OPTIMIZE.md), and the command's
 * analysis of a replay with them (fit.c).
 *
 * Sizes are bytes. Counts are weights, objects * MT_WEIGHT_ONE, as replay
 * sums them (exact with MTRACE_SAMPLE=all, estimates otherwise); byte sums
 * are size * weight. Both are 128-bit so that no trace overflows them.
 */
#ifndef MT_ANALYZE_FIT_H
#define MT_ANALYZE_FIT_H

#include "common.h"
#include "internal.h"
#define MTRACE_NO_ANNOTATIONS /* MT_POOL_NAME_MAX and mt_pool_id only */
#include "mtrace/mtrace.h"

/* ---- sizeclass.c: class tables ----------------------------------------- */

/* A set of size classes: distinct, ascending. */
typedef struct mt_classes {
    uint64_t *v;
    size_t n;
    char name[64];      /* "jemalloc", "glibc", ..., or "custom" */
    const char *source; /* provenance of a built-in table, NULL for a list */
} mt_classes_t;

/* Built-in tables: NULL-terminated names, and for each a one-line source. */
extern const char *const mt_classes_builtin_names[];
extern const char *const mt_classes_builtin_sources[];

/* Fills C from SPEC: a built-in name or a comma-separated list of sizes
 * (K/M suffixes, any order, duplicates merged). Returns 0, MT_EINVAL (bad
 * spec; *BAD points at the offending item when BAD is not NULL) or ENOMEM. */
int mt_classes_parse(const char *spec, mt_classes_t *c, const char **bad);
/* Copies the N sizes of V (ascending, distinct) into C named NAME. */
int mt_classes_set(mt_classes_t *c, const uint64_t *v, size_t n, const char *name);
void mt_classes_free(mt_classes_t *c);
/* Index of the smallest class >= SIZE, or c->n when SIZE is above the largest. */
size_t mt_classes_find(const mt_classes_t *c, uint64_t size);

/* ---- sizeclass.c: histograms and waste ---------------------------------- */

/* Requests by size: distinct sizes, ascending, with their weights. */
typedef struct mt_sizes {
    uint64_t *size;
    mt_u128 *w;
    size_t n, cap;
} mt_sizes_t;

/* Appends SIZE with weight W; sizes must come in ascending order (equal
 * sizes merge). Returns 0 or ENOMEM. */
int mt_sizes_push(mt_sizes_t *h, uint64_t size, mt_u128 w);
void mt_sizes_free(mt_sizes_t *h);

/* The sizes LO..HI of one power-of-two bucket of a histogram, with their
 * weight and requested bytes * weight. */
typedef struct mt_bucket {
    uint64_t lo, hi;
    mt_u128 w, bw;
} mt_bucket_t;

/* Fills B with the bucket of H that holds size[*I] (2^k..2^(k+1)-1, or size
 * 0 alone) and moves *I past it: `for (i = 0; i < h->n;)` visits them all. */
void mt_sizes_bucket(const mt_sizes_t *h, size_t *i, mt_bucket_t *b);

/* Rounding waste of H under classes C. */
typedef struct mt_waste {
    mt_u128 w, bw;           /* every request: weight, requested bytes * weight */
    mt_u128 waste_bw;        /* (class - size) * weight, over the requests that fit */
    mt_u128 over_w, over_bw; /* requests above the largest class (not rounded) */
} mt_waste_t;

void mt_waste_compute(const mt_classes_t *c, const mt_sizes_t *h, mt_waste_t *out);

/* What the requests of one class add up to. */
typedef struct mt_class_use {
    mt_u128 w, bw;    /* weight and requested bytes * weight */
    mt_u128 waste_bw; /* (class - size) * weight */
} mt_class_use_t;

/* Per-class use U[C->n] of H under C (zeroed here); requests above the
 * largest class are in no class. */
void mt_class_use(const mt_classes_t *c, const mt_sizes_t *h, mt_class_use_t *u);

/* A pool that carves chunks of CHUNK bytes into objects of one class each:
 * floor(CHUNK / class) objects per chunk and a tail of CHUNK mod class bytes
 * that no object uses. */
typedef struct mt_chunk_fit {
    uint64_t chunk;
    mt_u128 round_bw;  /* rounding waste of the requests whose class fits a chunk */
    double tail_b;     /* their share of tail waste, bytes: each object of class
                          c carries tail(c) / objects(c) */
    mt_u128 unfit_w;   /* requests whose class is larger than the chunk */
    mt_u128 unfit_bw;
} mt_chunk_fit_t;

void mt_chunk_fit(const mt_classes_t *c, const mt_class_use_t *u, uint64_t chunk,
                  mt_chunk_fit_t *out);
/* Total waste of F in bytes: rounding plus tail share. */
double mt_chunk_fit_total(const mt_chunk_fit_t *f);
/* Tries the chunk sizes MIN, MAX and every multiple of STEP between them;
 * fills BEST with the smallest total waste among those that leave no
 * request unfit (ties, or when every candidate leaves some unfit: fewest
 * unfit, then the smallest chunk). Returns the number of candidates. */
uint64_t mt_chunk_best(const mt_classes_t *c, const mt_class_use_t *u, uint64_t min,
                       uint64_t max, uint64_t step, mt_chunk_fit_t *best);

/* ---- optimize.c --------------------------------------------------------- */

/* The K classes that minimise the rounding waste of the N distinct ascending
 * sizes SIZE with weights W, the largest class being SIZE[N-1] (every
 * request fits). Exact: dynamic programming over the sizes with the divide
 * and conquer optimisation, O(K N log N) time and O(K N) memory (see
 * OPTIMIZE.md). Writes min(K, N) classes to OUT (ascending), their count to
 * *NOUT and the waste (bytes * weight) to *WASTE_BW. Returns 0, MT_EINVAL
 * (K == 0 or N == 0) or ENOMEM. */
int mt_optimize(const uint64_t *size, const mt_u128 *w, size_t n, size_t k, uint64_t *out,
                size_t *nout, mt_u128 *waste_bw);

/* ---- fit.c: the analysis of one fit command ----------------------------- */

#define MT_FIT_CHUNK_STEP 4096u /* --chunk MIN..MAX tries multiples of this */

/* The options of fit. */
typedef struct mt_fit_opts {
    mt_cli_t cli;             /* cli.ro.ctx: the mt_fit_collect_t being filled */
    const char *classes_spec;
    mt_classes_t classes;
    long k;
    bool chunk, chunk_range;
    uint64_t chunk_min, chunk_max;
    const char *pool_arg;
    bool by_stack;
} mt_fit_opts_t;

/* The requests of one (stack, size). */
typedef struct mt_fit_pair {
    uint64_t size;
    uint32_t stack; /* index in rp->stacks */
    mt_u128 w;
} mt_fit_pair_t;

/* A pool seen in the traces, with the requests made of it. */
typedef struct mt_fit_pool {
    uint64_t id;
    char name[MT_POOL_NAME_MAX + 1];
    mt_u128 w, bw;
} mt_fit_pool_t;

/* What mt_fit_on_event collects. Zero it and set POOL (ro.pool) first. */
typedef struct mt_fit_collect {
    int64_t pool;
    mt_fit_pair_t *pairs;
    size_t npairs, cap;
    mt_table_t by_pair; /* pair_hash(size, stack) -> index in pairs */
    mt_fit_pool_t *pools;
    size_t npools;
} mt_fit_collect_t;

/* Replay's on_event hook, CTX an mt_fit_collect_t: weight per (stack, size)
 * of the requests counted (the heap's or the pool's, within --min-size and
 * --max-size) and every pool's name and requests. Returns 0 or ENOMEM. */
int mt_fit_on_event(void *ctx, mt_replay_t *rp, uint32_t trace, uint32_t thread,
                    const mt_event_t *e);
void mt_fit_collect_free(mt_fit_collect_t *c);
/* The recorded name of pool ID, NULL when it has none. */
const char *mt_fit_pool_name(const mt_fit_collect_t *c, uint64_t id);

/* Waste of one report row (row->extra) under the classes in use. */
typedef struct mt_fit_row {
    mt_u128 w, bw, waste_bw, over_w;
} mt_fit_row_t;

/* The result of mt_fit_analyse. */
typedef struct mt_fit {
    mt_sizes_t h;
    mt_waste_t waste;
    size_t *by_count;     /* indices of h, most requested first */
    bool has_opt;
    mt_classes_t opt;
    mt_u128 opt_waste_bw;
    mt_class_use_t *use, *opt_use;
    mt_chunk_fit_t chunk, opt_chunk;
    uint64_t candidates;
    mt_report_t rep;
    bool has_rep;
    size_t nrows;         /* rows shown with --by-stack */
    mt_u128 rows_waste_bw;
} mt_fit_t;

/* Analyses COL, collected from S's replay, under O: the histogram of the
 * stacks --match keeps, its waste, with --optimize the optimal classes, with
 * --chunk the chunk fit, with --by-stack the rows ranked by waste (the
 * first -n symbolized). Drops the pairs --match does not keep from COL.
 * Returns an exit status, after printing any error; free F with mt_fit_free
 * either way. */
int mt_fit_analyse(const mt_fit_opts_t *o, mt_session_t *s, mt_fit_collect_t *col, mt_fit_t *f);
void mt_fit_free(mt_fit_t *f);

#endif
