/* timeline.h - the time series behind `mtrace-analyze timeline` (timeline.c)
 * and its SVG chart (timeline_svg.c), kept apart from the command so that
 * other reports (the HTML report) embed them: build a timeline from an open
 * session, then print, write CSV/JSON or draw it. Definitions of every
 * column, the fragmentation ratio and how pool chunks are found: TIMELINE.md.
 */
#ifndef MT_ANALYZE_TIMELINE_H
#define MT_ANALYZE_TIMELINE_H

#include "internal.h"

/* One interval [start_ns, end_ns) of the merged timeline. Levels (rss,
 * heap, mapped, pool, stacks) are the state at end_ns; rates are the
 * events inside the interval divided by its length. */
typedef struct mt_tl_row {
    uint64_t start_ns, end_ns;
    uint64_t rss;                /* sum of each running trace's last RSS sample; 0 = none yet */
    bool rss_known;              /* some trace had an RSS sample by end_ns */
    uint64_t heap_bytes, heap_objects; /* live heap (weighted estimate when sampled) */
    uint64_t heap_bytes_error, heap_objects_error; /* 95% bounds (estimate.c); 0 = exact */
    uint64_t mapped_bytes;       /* live mmap'd regions of the program (not the allocator's) */
    uint64_t alloc_calls, alloc_bytes, free_calls, free_bytes; /* in the interval */
    double fragmentation;        /* rss / (heap + mapped); 0 when unknown */
    uint64_t pool_bytes;         /* --pool: requested bytes live in the pool */
    uint64_t pool_chunk_bytes;   /* --pool: its chunks (regions that hold its objects) */
    uint64_t *stack_bytes;       /* --stacks: live bytes of each chosen stack */
} mt_tl_row_t;

/* One of the stacks that grew most. */
typedef struct mt_tl_stack {
    char *label;                 /* "function (file:line)", or module+0xOFFSET */
    uint64_t growth;             /* live bytes at the end minus at the start */
    uint64_t peak;               /* its largest value in the series */
    mt_frame_t *frames;          /* innermost first; strings owned here */
    size_t nframes;
} mt_tl_stack_t;

typedef struct mt_timeline_options {
    uint64_t interval_ns;        /* row length; 0 = about MT_TL_DEFAULT_ROWS rows */
    int64_t pool;                /* MT_POOL_NONE, or the pool id for the pool columns */
    const char *pool_name;       /* as given, for titles; NULL: none */
    size_t nstacks;              /* --stacks N: series of the N stacks that grew most */
} mt_timeline_options_t;

#define MT_TL_DEFAULT_ROWS 200

typedef struct mt_timeline {
    mt_timeline_options_t opt;
    uint64_t interval_ns;        /* as used */
    uint64_t span_ns;            /* length of the merged timeline */
    mt_tl_row_t *rows;
    size_t nrows;
    mt_tl_stack_t *stacks;       /* opt.nstacks at most */
    size_t nstacks;
    bool sampled;                /* heap columns and rates are estimates */
    bool complete;               /* every trace ended cleanly */
    bool has_pool;               /* opt.pool is set: pool columns are filled */
    uint64_t exact_alloc_calls, exact_alloc_bytes, exact_free_calls; /* whole trace */
    uint64_t peak_rss;           /* largest rss of the rows */
    double peak_fragmentation;   /* largest fragmentation of the rows */
} mt_timeline_t;

/* Builds the timeline of the traces of session S (opened, not necessarily
 * replayed) with options O: replays them (once, twice with --stacks, once
 * more with a pool), leaving s->rp the heap replay. Returns an exit status
 * after printing any error; free TL with mt_timeline_free either way. */
int mt_timeline_build(mt_timeline_t *tl, mt_session_t *s, const mt_timeline_options_t *o);
void mt_timeline_free(mt_timeline_t *tl);

/* The fragmentation verdict of RATIO (TIMELINE.md): "good" below 1.3,
 * "acceptable" to 1.5, "severe" above; "unknown" for 0. */
const char *mt_tl_frag_verdict(double ratio);

typedef struct mt_tl_svg_options {
    const char *title;           /* NULL: "Memory over time" */
    const char *subtitle;        /* NULL: none */
    unsigned width, height;      /* pixels; 0: 1000 x 420 */
} mt_tl_svg_options_t;

/* Writes TL as one self-contained SVG chart to OUT (timeline_svg.c): RSS,
 * heap, mapped and stack lines against bytes, fragmentation against its own
 * axis, a <title> tooltip per row. Returns 0 or the errno of a failed
 * write. */
int mt_timeline_write_svg(const mt_timeline_t *tl, const mt_tl_svg_options_t *so, FILE *out);

#endif
