/* fit.h - the size-class model behind `mtrace-analyze fit`: class tables
 * (sizeclass.c), rounding and pool-chunk waste (sizeclass.c) and the exact
 * optimal class set (optimize.c, algorithm in OPTIMIZE.md).
 *
 * Sizes are bytes. Counts are weights, objects * MT_WEIGHT_ONE, as replay
 * sums them (exact with MTRACE_SAMPLE=all, estimates otherwise); byte sums
 * are size * weight. Both are 128-bit so that no trace overflows them.
 */
#ifndef MT_ANALYZE_FIT_H
#define MT_ANALYZE_FIT_H

#include "internal.h"

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

#endif
