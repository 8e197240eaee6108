/* unwind.c - stack capture with libunwind, without mtrace's own frames.
 *
 * unw_backtrace walks with libunwind's fast trace path, which caches unwind
 * information per PC; the per-thread cache avoids a global lock. Frames
 * inside libmtrace.so (the hook and this file) are cut from the top.
 */
#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "internal.h"

void mt__unwind_setup(void)
{
    unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
}

uint32_t mt__unwind_stack(void)
{
    void *frames[MT_MAX_FRAMES + 8];
    int want = (int)mt__opt.depth + 8;
    int n = unw_backtrace(frames, want);
    int first = 0;
    while (first < n && (uintptr_t)frames[first] >= mt__self_lo &&
           (uintptr_t)frames[first] < mt__self_hi)
        first++;
    int count = n - first;
    if (count > (int)mt__opt.depth)
        count = (int)mt__opt.depth;
    if (count <= 0)
        return 0;
    uint64_t pcs[MT_MAX_FRAMES];
    for (int i = 0; i < count; i++)
        pcs[i] = (uint64_t)(uintptr_t)frames[first + i];
    return mt__stack_intern(pcs, (uint32_t)count);
}
