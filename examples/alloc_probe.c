/* alloc_probe.c - a glibc program (no jemalloc, no tcmalloc) that probes for
 * the allocators the way libraries do, with dlsym, and calls what it finds.
 *
 * Exact facts (tests/e2e/test-allocators.c asserts them, keep in sync):
 *   probes     nallocx, sallocx, mallctl, malloc_stats_print, je_malloc,
 *              tc_version, tc_malloc_size: none found, with or without the shim
 *   use_found  only when dlsym finds mallocx (the shim exports its hooks):
 *              mallocx(256, MALLOCX_LG_ALIGN(6) | MALLOCX_ZERO): 64-aligned, zeroed
 *              rallocx(p, 8192, MALLOCX_LG_ALIGN(6)): 64-aligned, contents kept
 *              xallocx(p, 100000, 0, 0): refused (returns less than 100000)
 *              dallocx(p, 0); tc_free(tc_malloc(100))
 *   prints     "alloc_probe: no probe found; private API served\n" under the
 *              shim, "alloc_probe: no probe found; no private API\n" without
 */
#include <dlfcn.h>
#include <stdint.h>

#include "example.h"

#define LG_ALIGN_64 6
#define ZERO 0x40

static const char *const probes[] = {"nallocx",   "sallocx",    "mallctl",       "malloc_stats_print",
                                     "je_malloc", "tc_version", "tc_malloc_size"};

__attribute__((noinline)) static int use_found(void *mallocx_sym)
{
    void *(*mallocx)(size_t, int) = (void *(*)(size_t, int))mallocx_sym;
    void *(*rallocx)(void *, size_t, int) = (void *(*)(void *, size_t, int))dlsym(RTLD_DEFAULT, "rallocx");
    size_t (*xallocx)(void *, size_t, size_t, int) =
        (size_t(*)(void *, size_t, size_t, int))dlsym(RTLD_DEFAULT, "xallocx");
    void (*dallocx)(void *, int) = (void (*)(void *, int))dlsym(RTLD_DEFAULT, "dallocx");
    void *(*tc_malloc)(size_t) = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "tc_malloc");
    void (*tc_free)(void *) = (void (*)(void *))dlsym(RTLD_DEFAULT, "tc_free");
    if (!rallocx || !xallocx || !dallocx || !tc_malloc || !tc_free)
        return -1;
    unsigned char *p = mallocx(256, LG_ALIGN_64 | ZERO);
    if (!p || (uintptr_t)p % 64)
        return -1;
    for (int i = 0; i < 256; i++)
        if (p[i])
            return -1;
    memset(p, 7, 256);
    p = rallocx(p, 8192, LG_ALIGN_64);
    if (!p || (uintptr_t)p % 64 || p[0] != 7 || p[255] != 7)
        return -1;
    if (xallocx(p, 100000, 0, 0) >= 100000)
        return -1;
    dallocx(p, 0);
    void *q = tc_malloc(100);
    if (!q)
        return -1;
    mt_example_keep(q);
    tc_free(q);
    return 0;
}

int main(void)
{
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
        if (dlsym(RTLD_DEFAULT, probes[i])) {
            mt_example_say("alloc_probe: found ");
            mt_example_say(probes[i]);
            mt_example_say("\n");
            return 1;
        }
    void *m = dlsym(RTLD_DEFAULT, "mallocx");
    if (!m)
        return mt_example_say("alloc_probe: no probe found; no private API\n") ? 1 : 0;
    if (use_found(m) != 0) {
        mt_example_say("alloc_probe: the private API misbehaved\n");
        return 1;
    }
    return mt_example_say("alloc_probe: no probe found; private API served\n") ? 1 : 0;
}
