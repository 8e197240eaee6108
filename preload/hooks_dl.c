/* hooks_dl.c - dlopen, dlmopen and dlclose: keep the module map exact.
 *
 * Before the loader maps anything (dlopen, dlmopen, dlclose) the module map
 * is scanned, so a module loaded now gets a load time right before it; after
 * dlclose it is scanned again, so a module unloaded now gets its unload time
 * right after, and its record (path, build id) was taken while it was still
 * mapped: events of it still in the rings are symbolized with it offline.
 *
 * dlopen and dlmopen look at their caller's return address (the caller's
 * RUNPATH, $ORIGIN, namespace): the real call must be a tail call, so that
 * the loader sees the program's return address, not ours. Hence nothing may
 * follow it, and a module a dlopen adds is found by the next scan (the next
 * hook or tick) with the load time of the scan before it. glibc's internal
 * loads (NSS, iconv, libgcc_s) do not come through here; the writer's tick
 * finds them, bounded by the ticks around them.
 *
 * Unlike the allocation hooks these take a lock and allocate (modules.c,
 * with the recursion guard set): the calls they wrap are rare and lock and
 * allocate themselves. They wait at most for the writer copying the module
 * records into its transaction, never for a tick or a commit.
 */
#include <dlfcn.h>
#include <errno.h>
#include <unistd.h>

#include "internal.h"

/* Scans the module map now, on behalf of a loader call of the program. */
static void sync_map(void)
{
    int saved = errno;
    if (__atomic_load_n(&mt__state, __ATOMIC_ACQUIRE) == MT__UNINIT)
        mt__init();
    if (__atomic_load_n(&mt__state, __ATOMIC_ACQUIRE) == MT__ON &&
        __atomic_load_n(&mt__recording, __ATOMIC_ACQUIRE) && getpid() == mt__pid) {
        mt__scope_t scope = mt__enter();
        mt__modules_scan(1);
        mt__leave(scope);
    }
    errno = saved;
}

/* The next definition of NAME when init did not resolve it (shim off). */
static void *next(void *resolved, const char *name)
{
    return resolved ? resolved : dlsym(RTLD_NEXT, name);
}

MT__EXPORT void *dlopen(const char *file, int mode)
{
    sync_map();
    void *(*real)(const char *, int) = next(mt__real.dlopen, "dlopen");
    return real(file, mode); /* a tail call: see above */
}

MT__EXPORT void *dlmopen(Lmid_t lmid, const char *file, int mode)
{
    sync_map();
    void *(*real)(Lmid_t, const char *, int) = next(mt__real.dlmopen, "dlmopen");
    return real(lmid, file, mode); /* a tail call: see above */
}

MT__EXPORT int dlclose(void *handle)
{
    sync_map(); /* capture what is about to go, while it is mapped */
    int (*real)(void *) = next(mt__real.dlclose, "dlclose");
    int rc = real(handle);
    int saved = errno;
    mt__unwind_code_changed(); /* other code may be mapped where it was */
    sync_map(); /* and when it went */
    errno = saved;
    return rc;
}
