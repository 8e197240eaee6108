/* flame.h - flame graphs of allocation stacks: the call tree built from the
 * rows of a stack report (flame.c), written as folded stacks (flame.c) or as
 * a self-contained interactive SVG (flame_svg.c, layout in FLAMEGRAPH.md).
 *
 * A tree has two value slots per node: MT_FLAME_NEW, the profile drawn, and
 * MT_FLAME_BASE, the profile it is compared with in a differential graph.
 */
#ifndef MT_ANALYZE_FLAME_H
#define MT_ANALYZE_FLAME_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "internal.h"

/* What a frame's width stands for. */
typedef enum mt_flame_weight {
    MT_FLAME_BYTES, /* bytes allocated */
    MT_FLAME_COUNT, /* allocation calls */
    MT_FLAME_LIVE,  /* bytes live at the end */
    MT_FLAME_PEAK,  /* bytes live at the moment of peak heap */
    MT_FLAME_TEMP,  /* temporary allocations (freed before the thread's next one) */
    MT_FLAME_NWEIGHTS
} mt_flame_weight_t;

/* Names of the weights as --weight spells them, by mt_flame_weight_t. */
extern const char *const mt_flame_weight_names[MT_FLAME_NWEIGHTS];
/* True when weight W counts bytes (else objects or calls). */
bool mt_flame_weight_is_bytes(mt_flame_weight_t w);

enum { MT_FLAME_BASE = 0, MT_FLAME_NEW = 1 };

/* One frame of the call tree: a function called along one path. */
typedef struct mt_flame_node {
    char *name;               /* display name (see flame.c), no ';' or control chars */
    char *module;             /* module base name, NULL when unknown */
    bool inlined;             /* inlined into its parent */
    mt_u128 raw[2];           /* weighted sum of the stacks ending here (internal) */
    uint64_t self[2];         /* raw rounded to bytes or objects, after mt_flame_finish */
    uint64_t total[2];        /* self plus the children's totals */
    /* Sampling variances (estimate.c; 0 when exact) of self, summed over the
     * stacks ending here, and of total: var plus the children's total_var,
     * after mt_flame_finish. Bounds: mt_est_bound at output. */
    mt_u128 var[2], total_var[2];
    struct mt_flame_node *child, *next; /* first child; next sibling */
    size_t nchildren;
} mt_flame_node_t;

typedef struct mt_flame {
    mt_flame_node_t root;     /* "all": name NULL */
    mt_flame_weight_t weight;
    bool diff;                /* a base profile was added */
    size_t nodes;
    size_t max_depth;         /* frames on the deepest path, after mt_flame_finish */
} mt_flame_t;

void mt_flame_init(mt_flame_t *f, mt_flame_weight_t weight);
/* The value of stack statistics ST for weight W, in MT_WEIGHT_ONE units. */
mt_u128 mt_flame_raw(const mt_stack_stats_t *st, mt_flame_weight_t w);
/* The sampling variance of that value (estimate.c); 0 when exact. */
mt_u128 mt_flame_var(const mt_stack_stats_t *st, mt_flame_weight_t w);
/* Adds the symbolized rows of REP (frames innermost first, mt_report_frames
 * already called) to slot SLOT of F. Returns 0 or ENOMEM. */
int mt_flame_add(mt_flame_t *f, const mt_report_t *rep, int slot);
/* Rounds the values, sums the totals and sorts every node's children by
 * name. Call once, after the last mt_flame_add. */
void mt_flame_finish(mt_flame_t *f);
/* Writes F as folded stacks: one line per path with a nonzero self value,
 * frames root first separated by ';', then " VALUE", or " BASE NEW" when
 * F is a differential tree (difffolded.pl's format). Returns 0 or the errno
 * of the write. */
int mt_flame_write_folded(const mt_flame_t *f, FILE *out);
/* Writes the key "stacks" and the same paths as mt_flame_write_folded as a
 * JSON array: [{"frames": [{"name", "module", "inlined"}] root first,
 * "value", "value_error", and "base", "base_error" when F is differential}];
 * an *_error is the 95% bound of the value (mt_est_bound), 0 when exact. Flat, so that deep stacks
 * stay within the writer's nesting limit. Returns 0 or ENOMEM (before
 * writing anything). */
int mt_flame_write_json(const mt_flame_t *f, mt_json_t *j);
void mt_flame_free(mt_flame_t *f);

/* ---- flame_svg.c ---------------------------------------------------------- */

typedef struct mt_flame_svg_options {
    const char *title;        /* drawn at the top */
    const char *subtitle;     /* a second line: traces, sampling, filters; may be NULL */
    unsigned width;           /* pixels; 0 = 1200 */
} mt_flame_svg_options_t;

/* Writes F as one self-contained interactive SVG document to OUT. Returns 0
 * or the errno of the write. */
int mt_flame_write_svg(const mt_flame_t *f, const mt_flame_svg_options_t *o, FILE *out);

#endif
