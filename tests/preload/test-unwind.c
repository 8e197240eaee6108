/* Tests for preload/unwind.c and cfi.c: the cached-rule unwinder gives the
 * same return addresses as libgcc's general unwinder, for frames built on
 * rsp, on rbp (alloca, -O0 style), with large frames, and deep recursion;
 * and a signal frame sends it to the general unwinder. */
#include <alloca.h>
#include <criterion/criterion.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

mt__options_t mt__opt;
uintptr_t mt__self_lo, mt__self_hi;
MT__TLS mt__cfi_rule_t *mt__tls_cfi_cache;

static void setup(void)
{
    size_t len = sizeof(mt__cfi_rule_t) << MT__CFI_CACHE_BITS;
    mt__tls_cfi_cache = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(mt__tls_cfi_cache, MAP_FAILED);
}

/* The suffix of both captures starting at the frame of compare_here's caller. */
static __attribute__((noinline)) void compare_here(int expect_fast)
{
    uint64_t fast[64], slow[64];
    int nf = mt__unwind_fast(fast, 64);
    uint32_t ns = mt__unwind_slow(slow, 64);
    if (!expect_fast) {
        cr_assert_eq(nf, -1, "a signal frame needs the general unwinder");
        return;
    }
    cr_assert_gt(nf, 3);
    /* Align on the first address both contain (the callers of compare_here). */
    int i = 0, j = 0, found = 0;
    for (i = 0; i < nf && !found; i++)
        for (j = 0; j < (int)ns; j++)
            if (fast[i] == slow[j]) {
                found = 1;
                break;
            }
    cr_assert(found, "no common frame");
    i--;
    int common = 0;
    while (i < nf && j < (int)ns) {
        cr_assert_eq(fast[i], slow[j], "frame %d differs: %#lx vs %#lx", common,
                     (unsigned long)fast[i], (unsigned long)slow[j]);
        i++, j++, common++;
    }
    cr_assert_eq(i, nf, "fast path stopped at a different frame");
    cr_assert_eq(j, (int)ns, "general unwinder stopped at a different frame");
    cr_assert_geq(common, 4);
}

static volatile int sink;

static __attribute__((noinline)) void leaf_rsp(int depth)
{
    volatile char big[20000]; /* a large frame: CFA offset beyond a byte */
    big[depth] = 1;
    compare_here(1);
    sink += big[depth];
}

static __attribute__((noinline)) void with_alloca(int n)
{
    char *p = alloca((size_t)n); /* forces an rbp-based CFA */
    memset(p, 1, (size_t)n);
    leaf_rsp(n % 7);
    sink += p[0];
}

static __attribute__((noinline, optimize("O0", "no-omit-frame-pointer"))) void frame_pointer(int n)
{
    with_alloca(n + 16);
}

static __attribute__((noinline)) void recurse(int n)
{
    if (n == 0)
        frame_pointer(3);
    else
        recurse(n - 1);
    sink++;
}

Test(unwind, matches_the_general_unwinder, .init = setup)
{
    mt__opt.depth = 64;
    recurse(12);
    recurse(12); /* second time from the cache */
}

static void on_signal(int sig)
{
    (void)sig;
    compare_here(0);
}

Test(unwind, signal_frames_fall_back, .init = setup)
{
    signal(SIGUSR1, on_signal);
    raise(SIGUSR1);
}
