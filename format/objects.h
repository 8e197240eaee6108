/* objects.h - the NUMA object model: which objects an event starts and ends.
 *
 * Placement is tracked per object: a sampled heap block (keyed by its
 * address) or an mmap region (keyed by its address | MT_OBJ_REGION). The
 * shim's placement poller (preload/placement.c) and the analyzer's NUMA
 * replay (analyze/numa.c) both follow objects through the same events, so
 * the rules live here, once, and each side applies the steps to its own
 * table:
 *   - ALLOC starts a heap block, replacing one whose free was not recorded;
 *     a block that starts exactly where a region starts is the region (an
 *     allocator that maps an arena: the region's pages already count it);
 *   - FREE ends the heap block;
 *   - MMAP starts a region and ends a heap block or region at its start;
 *   - MUNMAP of a region's head trims it: the rest is a region of its own
 *     that continues the old one (stack, node); unmapped pages elsewhere are
 *     found by asking the kernel, not here;
 *   - MREMAP ends the old region and starts the new one, continuing it.
 * Inline: the shim's writer thread runs it for every event it drains (under
 * MTRACE_SAMPLE=all, millions a second), and inlined, the caller's FIND
 * becomes a direct call and one table probe per ALLOC and FREE.
 */
#ifndef MT_FORMAT_OBJECTS_H
#define MT_FORMAT_OBJECTS_H

#include "format.h"

/* Appends a step to OUT[*N]. */
static inline void mt__obj_step(mt_obj_step_t *out, size_t *n, uint8_t op, uint64_t key,
                                uint64_t size, uint64_t from)
{
    out[(*n)++] = (mt_obj_step_t){op, key, size, from};
}

static inline bool mt__obj_has(mt_obj_find_fn find, void *ctx, uint64_t key)
{
    uint64_t size;
    return find(ctx, key, &size);
}

static inline size_t mt_obj_steps(const mt_event_t *e, mt_obj_find_fn find, void *ctx,
                                  mt_obj_step_t out[MT_OBJ_MAX_STEPS])
{
    size_t n = 0;
    uint64_t region = e->ptr | MT_OBJ_REGION, old;
    switch (e->type) {
    case MT_EV_ALLOC:
        if (!e->ptr || (e->ptr & MT_OBJ_REGION) || mt__obj_has(find, ctx, region))
            break;
        if (mt__obj_has(find, ctx, e->ptr))
            mt__obj_step(out, &n, MT_OBJ_END, e->ptr, 0, 0);
        mt__obj_step(out, &n, MT_OBJ_BEGIN, e->ptr, e->size, 0);
        break;
    case MT_EV_FREE:
        if (e->ptr && mt__obj_has(find, ctx, e->ptr))
            mt__obj_step(out, &n, MT_OBJ_END, e->ptr, 0, 0);
        break;
    case MT_EV_MMAP:
        if (!e->size)
            break;
        if (mt__obj_has(find, ctx, e->ptr))
            mt__obj_step(out, &n, MT_OBJ_END, e->ptr, 0, 0);
        if (mt__obj_has(find, ctx, region))
            mt__obj_step(out, &n, MT_OBJ_END, region, 0, 0);
        mt__obj_step(out, &n, MT_OBJ_BEGIN, region, e->size, 0);
        break;
    case MT_EV_MUNMAP:
        if (!find(ctx, region, &old))
            break;
        mt__obj_step(out, &n, MT_OBJ_END, region, 0, 0);
        if (e->size < old)
            mt__obj_step(out, &n, MT_OBJ_BEGIN, (e->ptr + e->size) | MT_OBJ_REGION, old - e->size, region);
        break;
    case MT_EV_MREMAP: {
        uint64_t from = e->arg[0] | MT_OBJ_REGION;
        bool had = find(ctx, from, &old);
        if (had)
            mt__obj_step(out, &n, MT_OBJ_END, from, 0, 0);
        if (e->size)
            mt__obj_step(out, &n, MT_OBJ_BEGIN, region, e->size, had ? from : 0);
        break;
    }
    default:
        break;
    }
    return n;
}

#endif
