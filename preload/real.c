/* real.c - the next definitions (RTLD_NEXT) of every symbol mtrace wraps.
 *
 * Resolved once, at init, with the recursion guard set (dlsym allocates;
 * those allocations come from the bootstrap arena). Never forwards to
 * __libc_malloc: the next allocator may be jemalloc or tcmalloc. Entry points
 * the next library lacks stay NULL and the hooks build them from others.
 */
#include <dlfcn.h>

#include "internal.h"

mt__real_t mt__real;

#define RESOLVE(field, symbol) \
    (*(void **)&mt__real.field = dlsym(RTLD_NEXT, symbol))

int mt__real_resolve(void)
{
    RESOLVE(malloc, "malloc");
    RESOLVE(calloc, "calloc");
    RESOLVE(realloc, "realloc");
    RESOLVE(free, "free");
    RESOLVE(memalign, "memalign");
    RESOLVE(aligned_alloc, "aligned_alloc");
    RESOLVE(posix_memalign, "posix_memalign");
    RESOLVE(valloc, "valloc");
    RESOLVE(pvalloc, "pvalloc");
    RESOLVE(malloc_usable_size, "malloc_usable_size");
    RESOLVE(free_sized, "free_sized");
    RESOLVE(free_aligned_sized, "free_aligned_sized");
    RESOLVE(execve, "execve");
    RESOLVE(execv, "execv");
    RESOLVE(execvp, "execvp");
    RESOLVE(execvpe, "execvpe");
    RESOLVE(fexecve, "fexecve");
    RESOLVE(exit_, "_exit");
    RESOLVE(Exit_, "_Exit");
    RESOLVE(dlopen, "dlopen");
    RESOLVE(dlmopen, "dlmopen");
    RESOLVE(dlclose, "dlclose");
    RESOLVE(daemon, "daemon");
    if (!mt__real.malloc || !mt__real.free || !mt__real.calloc || !mt__real.realloc)
        return -1;
    mt__private_resolve(); /* jemalloc's and tcmalloc's own entry points */
    return 0;
}
