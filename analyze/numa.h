/* numa.h - the NUMA analysis behind `mtrace-analyze numa` (numa.c), kept
 * apart from the command so that tests drive it on traces they build.
 *
 * Fed by a replay (mt_numa_hook), it follows every heap allocation and mmap
 * region of each trace, their PLACEMENT answers, mbind ranges and each
 * thread's set_mempolicy, and sums, per stack and overall, where each object
 * was last seen resident. Byte sums are weighted like replay's (`_bw`: bytes
 * * weight, see mt_bw_bytes): heap samples stand for their weight, regions
 * are counted once.
 */
#ifndef MT_ANALYZE_NUMA_H
#define MT_ANALYZE_NUMA_H

#include "internal.h"

#define MT_NUMA_NODES 64 /* node ids 0..63 are reported; others count as unknown */

/* The policy modes of set_mempolicy(2) / mbind(2) (the low byte of mode). */
enum { MT_MPOL_DEFAULT, MT_MPOL_PREFERRED, MT_MPOL_BIND, MT_MPOL_INTERLEAVE, MT_MPOL_LOCAL,
       MT_MPOL_PREFERRED_MANY, MT_MPOL_WEIGHTED_INTERLEAVE };

/* Where a requested policy came from. */
enum { MT_NUMA_REQ_NONE, MT_NUMA_REQ_MBIND, MT_NUMA_REQ_TASK };

/* Per stack (parallel to rp->stacks), or summed into a report row. */
typedef struct mt_numa_stack {
    mt_u128 *node_bw;               /* resident, by node: MT_NUMA_NODES entries, or NULL
                                       while none (allocated on first use) */
    mt_u128 untouched_bw, unknown_bw; /* never faulted in / node unknown */
    mt_u128 unplaced_bw;            /* objects freed before any placement answer */
    mt_u128 local_bw, remote_bw;    /* resident on / off the allocating thread's node */
    mt_u128 migrated_bw;            /* moved between nodes between two answers */
    mt_u128 mismatch_bw;            /* resident on a node the requested policy excludes */
    uint64_t heap_objects, regions; /* objects of each kind (heap: weighted, * 65536) */
    uint64_t migrations;            /* answers that showed a move */
    uint8_t req_source;             /* MT_NUMA_REQ_*: policy of the last object with one */
    uint8_t req_mode;
    uint64_t req_mask;
    uint64_t calls[MT_PK_MAX + 1];  /* policy calls made from this stack */
    uint64_t calls_failed;
    uint32_t call_mode;             /* of the last call: mode, nodemask / target */
    uint64_t call_mask;
    uint64_t call_arg;
} mt_numa_stack_t;

typedef struct mt_numa {
    mt_topology_t topo;             /* of the first trace that has one */
    bool has_topo;
    /* Overall, each object once, as last seen (heap inside a recorded region
     * is left out of resident and untouched: the region counts its pages). */
    mt_u128 heap_bw[MT_NUMA_NODES], region_bw[MT_NUMA_NODES];
    mt_u128 resident_bw[MT_NUMA_NODES];
    mt_u128 untouched_bw, heap_untouched_bw, region_untouched_bw;
    mt_u128 unknown_bw, unplaced_bw;
    mt_u128 local_bw, remote_bw, migrated_bw, mismatch_bw;
    mt_u128 live_resident_bw[MT_NUMA_NODES]; /* objects still live at the end */
    uint64_t nodes_seen;            /* bit n: node n has resident bytes */
    uint64_t heap_objects, heap_placed, regions, regions_placed; /* counts */
    uint64_t migrations, mismatched_objects, remote_objects;
    uint64_t placements, orphan_placements; /* PLACEMENT events; of unknown objects */
    uint64_t calls[MT_PK_MAX + 1];  /* exact counters when present, else events */
    uint64_t call_events[MT_PK_MAX + 1];
    uint64_t calls_failed;
    mt_numa_stack_t *stacks;        /* parallel to rp->stacks (nstacks entries) */
    size_t nstacks;
    void *priv;
} mt_numa_t;

/* Sets NU up and OPT's hook so that a replay with OPT feeds it. Returns 0 or ENOMEM. */
int mt_numa_init(mt_numa_t *nu, mt_replay_options_t *opt);
/* After mt_replay_run: settles the objects still live, reads the topology
 * and exact policy counters of RP's traces. Returns 0, ENOMEM or a reader error. */
int mt_numa_finish(mt_numa_t *nu, mt_replay_t *rp);
void mt_numa_free(mt_numa_t *nu);

/* Adds stack statistics B into A, whose node_bw must not be NULL. */
void mt_numa_stack_add(mt_numa_stack_t *a, const mt_numa_stack_t *b);
/* Resident bytes of S over every node (weighted sum, rounded). */
uint64_t mt_numa_stack_resident(const mt_numa_stack_t *s);
/* Name of policy mode MODE ("bind", "preferred", ...); "mode N" for others in BUF[32]. */
const char *mt_numa_mode_name(uint32_t mode, char buf[32]);
/* "0,2-3" for MASK into BUF[CAP]; "none" when empty. */
const char *mt_numa_mask_text(uint64_t mask, char *buf, size_t cap);

#endif
