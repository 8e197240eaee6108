/* pprof.h - the rows of a stack report as a pprof profile (google/pprof's
 * profile.proto, gzip'd), what `export --format pprof` writes and `serve`
 * answers /debug/pprof/heap and /debug/pprof/allocs with (pprof.c).
 */
#ifndef MT_ANALYZE_PPROF_H
#define MT_ANALYZE_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

typedef struct mt_pprof_options {
    bool alloc_default;  /* default_sample_type alloc_space (the allocs endpoint);
                            else inuse_space (heap) */
    bool labels;         /* label samples with thread and NUMA node (needs
                            mt_pprof_labels_hook on the replay) */
    void *labels_ctx;    /* mt_pprof_labels_new's, when labels */
} mt_pprof_options_t;

/* What a profile holds, for the summary line. */
typedef struct mt_pprof_stats {
    size_t samples, locations, functions, mappings;
    uint64_t alloc_objects, alloc_space, inuse_objects, inuse_space; /* sums of the samples */
} mt_pprof_stats_t;

/* Encodes the rows of REP (frames symbolized: mt_report_frames) as a gzip'd
 * profile.proto: sample types alloc_objects/count, alloc_space/bytes,
 * inuse_objects/count, inuse_space/bytes, one sample per row (per row,
 * thread and node with labels), values estimates (exact with
 * MTRACE_SAMPLE=all). *OUT is malloc'd, *LEN bytes. Returns 0, ENOMEM or EIO
 * (zlib failed). */
int mt_pprof_encode(const mt_report_t *rep, const mt_pprof_options_t *o, uint8_t **out,
                    size_t *len, mt_pprof_stats_t *stats);

/* ---- labels: allocations by (stack, thread, node), collected in replay --- */

/* A collector for REPLAY's on_event hook (set opt->on_event and opt->ctx
 * with mt_pprof_labels_hook). NULL when out of memory. */
void *mt_pprof_labels_new(void);
void mt_pprof_labels_hook(mt_replay_options_t *opt, void *labels);
/* mt_cli_rows's FILL: gives each row of REP (row->extra) the buckets of its
 * stacks. Returns 0 or ENOMEM. */
int mt_pprof_labels_fill(mt_report_t *rep, void *labels);
void mt_pprof_labels_free(void *labels);

#endif
