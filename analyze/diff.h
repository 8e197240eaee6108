/* diff.h - the comparison behind `mtrace-analyze diff` (diff.c): the rows of
 * two stack reports (BASE and NEW) matched by what their frames print, the
 * change of each number and the sampling error of that change.
 *
 * Error of a change (preload/SAMPLING.md, "Error of a difference"): the two
 * sides are independent samples, so Var(NEW - BASE) = Var NEW + Var BASE;
 * a change is "within noise" when some side is sampled (variance > 0) and
 * |change| <= mt_est_bound(that sum).
 */
#ifndef MT_ANALYZE_DIFF_H
#define MT_ANALYZE_DIFF_H

#include <stdbool.h>
#include <stdint.h>

#include "internal.h"

/* The numbers compared, in the order of --sort and of the JSON keys. */
typedef enum mt_diff_metric {
    MT_DIFF_BYTES,      /* bytes allocated */
    MT_DIFF_COUNT,      /* allocation calls */
    MT_DIFF_LIVE,       /* bytes live at the end (or at --to) */
    MT_DIFF_LIVE_COUNT, /* objects live at the end */
    MT_DIFF_PEAK,       /* bytes live at the moment of peak heap */
    MT_DIFF_NMETRICS
} mt_diff_metric_t;

/* Names as --sort and the JSON keys spell them, by mt_diff_metric_t. */
extern const char *const mt_diff_metric_names[MT_DIFF_NMETRICS];
/* True when metric M counts bytes (else objects or calls). */
bool mt_diff_metric_is_bytes(mt_diff_metric_t m);

/* One side's numbers and their variances (estimate.c units; 0 when exact). */
typedef struct mt_diff_side {
    uint64_t v[MT_DIFF_NMETRICS];
    mt_u128 var[MT_DIFF_NMETRICS];
} mt_diff_side_t;

/* One entry: a stack (or function) of BASE, of NEW, or of both. */
typedef struct mt_diff_entry {
    mt_row_t *base, *new;     /* the rows; NULL on a side without it */
    mt_diff_side_t a, b;      /* BASE's and NEW's numbers (zeros without a row) */
    int64_t change[MT_DIFF_NMETRICS];  /* b - a (saturating) */
    uint64_t error[MT_DIFF_NMETRICS];  /* mt_est_bound(var a + var b); 0 when exact */
    bool noise[MT_DIFF_NMETRICS];      /* error > 0 and |change| <= error */
    size_t order;             /* internal: tie-break, order of first sight */
} mt_diff_entry_t;

/* SIDE's numbers from the sums of a row (or of a whole replay). */
void mt_diff_side_of(mt_diff_side_t *side, const mt_stack_stats_t *st);
/* Fills E's change, error and noise from E->a and E->b. */
void mt_diff_compare(mt_diff_entry_t *e);
/* True when no number of E changed. */
bool mt_diff_unchanged(const mt_diff_entry_t *e);
/* Sorts E[N] by |change| of metric M, largest first; ties by the larger of
 * the two values of M, then by E->order. */
void mt_diff_sort(mt_diff_entry_t *e, size_t n, mt_diff_metric_t m);

/* Matches the rows of BASE and NEW (both built with the same --by), the
 * frames of every row symbolized here, into *OUT (malloc'd, *N entries,
 * compared, unsorted): rows whose frames print the same (function, file,
 * line, inlined, module, and the offset or address where there is no file)
 * are one entry. Returns 0 or ENOMEM. */
int mt_diff_match(mt_report_t *base, mt_report_t *new, mt_diff_entry_t **out, size_t *n);

#endif
