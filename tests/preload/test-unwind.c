/* Tests for preload/unwind.c and cfi.c: the cached-rule unwinder gives the
 * same return addresses as libgcc's general unwinder, for frames built on
 * rsp, on rbp (alloca, -O0 style), with large frames, and deep recursion;
 * a signal frame sends it to the general unwinder. The shadow-stack capture
 * (what the hooks use) is compared, at every capture, with the rules-only
 * walk and with libgcc's _Unwind_Backtrace over many call shapes: recursion
 * of varying depth, longjmp out of deep stacks, C++ exceptions (captures in
 * destructors run by the unwinder and in catch blocks), signal handlers on
 * the thread's stack and on an alternate one, swapcontext coroutines whose
 * stacks are reused, equal frames under different callers, threads, and a
 * fork child. */
#include <alloca.h>
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"

mt__options_t mt__opt;
uintptr_t mt__self_lo, mt__self_hi;
MT__TLS mt__cfi_rule_t *mt__tls_cfi_cache;

typedef void (*check_fn)(void);
int mt_test_cxx_throw(int depth, int throw_at, check_fn check); /* unwind-shapes.cc */

/* This thread's rule cache and unwinder scratch, as thread.c lays them out. */
static void region(void)
{
    size_t len = (sizeof(mt__cfi_rule_t) << MT__CFI_CACHE_BITS) + mt__unwind_scratch_size();
    mt__tls_cfi_cache = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(mt__tls_cfi_cache, MAP_FAILED);
}

static void setup(void)
{
    mt__opt.depth = 64;
    region();
    cr_assert_eq(mt__stacks_setup(), 0);
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

/* ---- the shadow stack against the full walks, at every capture ---------- */

#define MAXF MT_MAX_FRAMES

/* Results of check(), kept in counters: it also runs in signal handlers,
 * coroutines, C++ frames and fork children, where an assert cannot jump. */
static unsigned long checks, failures, fallbacks, reused_frames, walked_frames;
static char first_failure[256];
static uint32_t cached_max = MAXF; /* the cached capture's MAX (truncation) */

static void fail(const char *fmt, unsigned long a, unsigned long b)
{
    if (__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED) == 0)
        snprintf(first_failure, sizeof first_failure, fmt, a, b);
}

static int index_of(const uint64_t *pcs, int n, uintptr_t pc)
{
    for (int i = 0; i < n; i++)
        if (pcs[i] == pc)
            return i;
    return -1;
}

/* Captures the stack three ways and compares the frames from check's caller
 * outwards: the shadow-stack capture must be the rules-only walk exactly
 * (cut at cached_max frames), which must be libgcc's walk exactly. A signal
 * frame makes both of ours fall back (-1) together. */
static __attribute__((noinline)) void check(void)
{
    uint64_t cached[MAXF], fast[MAXF], slow[MAXF];
    uintptr_t ra = (uintptr_t)__builtin_return_address(0);
    int nc = mt__unwind_cached(cached, cached_max);
    int nf = mt__unwind_fast(fast, MAXF);
    int ns = (int)mt__unwind_slow(slow, MAXF);
    __atomic_fetch_add(&checks, 1, __ATOMIC_RELAXED);
    if (nc < 0 || nf < 0) {
        if (nc != nf)
            fail("one path fell back and the other did not: cached %ld, rules %ld", (long)nc,
                 (long)nf);
        __atomic_fetch_add(&fallbacks, 1, __ATOMIC_RELAXED);
        return;
    }
    uint32_t walked, reused;
    mt__unwind_cached_stats(&walked, &reused);
    __atomic_fetch_add(&walked_frames, walked, __ATOMIC_RELAXED);
    __atomic_fetch_add(&reused_frames, reused, __ATOMIC_RELAXED);
    int ic = index_of(cached, nc, ra), jf = index_of(fast, nf, ra), js = index_of(slow, ns, ra);
    if (ic < 0 || jf < 0 || js < 0) {
        fail("the caller's frame is missing: cached at %ld, rules at %ld", (long)ic, (long)jf);
        return;
    }
    if (nf == MAXF || ns == MAXF) {
        fail("test stack too deep for a full walk (%lu, %lu frames)", (unsigned long)nf,
             (unsigned long)ns);
        return;
    }
    int tail_c = nc - ic, tail_f = nf - jf, tail_s = ns - js;
    if (tail_f != tail_s) {
        fail("rules walk has %lu frames outside the caller, libgcc %lu", (unsigned long)tail_f,
             (unsigned long)tail_s);
        return;
    }
    for (int k = 0; k < tail_f; k++)
        if (fast[jf + k] != slow[js + k]) {
            fail("rules walk and libgcc differ: %#lx vs %#lx", (unsigned long)fast[jf + k],
                 (unsigned long)slow[js + k]);
            return;
        }
    int cut = nc == (int)cached_max; /* the cached capture is cut at MAX frames */
    if (cut ? tail_c > tail_f : tail_c != tail_f) {
        fail("cached capture has %lu frames outside the caller, the full walk %lu",
             (unsigned long)tail_c, (unsigned long)tail_f);
        return;
    }
    for (int k = 0; k < tail_c; k++)
        if (cached[ic + k] != fast[jf + k]) {
            fail("cached capture and the full walk differ: %#lx vs %#lx",
                 (unsigned long)cached[ic + k], (unsigned long)fast[jf + k]);
            return;
        }
}

static void reset_counts(void)
{
    checks = failures = fallbacks = reused_frames = walked_frames = 0;
    first_failure[0] = 0;
    cached_max = MAXF;
}

#define assert_all_equal(min_checks)                                                   \
    do {                                                                               \
        cr_assert_eq(failures, 0, "%lu of %lu captures wrong; first: %s", failures, checks, \
                     first_failure);                                                   \
        cr_assert_geq(checks, (min_checks));                                           \
    } while (0)

static uint32_t lcg_state = 12345;
static uint32_t lcg(void)
{
    lcg_state = lcg_state * 1103515245u + 12345u;
    return lcg_state >> 16;
}

/* Recursion whose frames differ in size and CFA register. */
static __attribute__((noinline)) void down(int n, int shape);

static __attribute__((noinline)) void down_small(int n, int shape)
{
    check(); /* on the way down */
    down(n - 1, shape);
    check(); /* on the way back up: deeper frames left below */
    sink++;
}

static __attribute__((noinline)) void down_big(int n, int shape)
{
    volatile char big[3000];
    big[n % 3000] = 1;
    down(n - 1, shape);
    sink += big[n % 3000];
}

static __attribute__((noinline)) void down_alloca(int n, int shape)
{
    char *p = alloca((size_t)(16 + n * 8));
    p[0] = 1;
    down(n - 1, shape);
    sink += p[0];
}

static __attribute__((noinline, optimize("O0", "no-omit-frame-pointer"))) void down_fp(int n, int shape)
{
    down(n - 1, shape);
}

static __attribute__((noinline)) void down(int n, int shape)
{
    if (n <= 0) {
        check();
        return;
    }
    switch ((shape >> (n % 8 * 2)) & 3) {
    case 0: down_small(n, shape); break;
    case 1: down_big(n, shape); break;
    case 2: down_alloca(n, shape); break;
    default: down_fp(n, shape); break;
    }
    sink++;
}

static void varying_depths(int rounds, int max_depth)
{
    for (int r = 0; r < rounds; r++)
        down((int)(lcg() % (unsigned)max_depth), (int)lcg());
}

Test(shadow, recursion_of_varying_depth, .init = setup)
{
    reset_counts();
    varying_depths(400, 40);
    assert_all_equal(800);
    cr_assert_gt(reused_frames, walked_frames, "the shadow saved no work (%lu reused, %lu walked)",
                 reused_frames, walked_frames);
}

/* Frame 0 of a repeated capture is the previous one's: nothing is walked. */
static __attribute__((noinline)) void mid(int n)
{
    if (n == 0)
        check();
    else
        mid(n - 1);
    sink++;
}

Test(shadow, cut_at_max_frames, .init = setup)
{
    reset_counts();
    cached_max = 12; /* shadows left incomplete, matched only when enough frames follow */
    varying_depths(300, 40);
    cached_max = 5;
    varying_depths(100, 20);
    cached_max = 40;
    varying_depths(100, 20);
    /* The same stack under a larger MAX than its kept walk was cut at: the
     * kept walk cannot serve it whole. */
    const uint32_t maxes[4] = {5, 40, 4, 7};
    volatile int four = 4;
    for (int k = 0; k < four; k++) {
        cached_max = maxes[k];
        mid(6);
    }
    assert_all_equal(804);
}

Test(shadow, reuses_what_did_not_change, .init = setup)
{
    reset_counts();
    uint32_t walked[3], reused[3];
    volatile int twice = 2, thrice = 3; /* loops the compiler cannot unroll: one call site */
    for (int k = 0; k < twice; k++) {
        check();
        mt__unwind_cached_stats(&walked[k], &reused[k]);
    }
    cr_assert_eq(walked[1], 0, "an identical stack is taken whole from the shadow");
    cr_assert_eq(reused[1], walked[0] + reused[0]);

    /* mid(5), then mid(3) from the same call: the frames from mid(1) out
     * are unchanged. The capture starts at its caller's frame and steps
     * check's and mid(0)'s, whose pc differs from the frame the shadow has
     * at that CFA (mid(2) of the first walk); then mid(3) again. */
    const int depth[3] = {5, 3, 3};
    for (int k = 0; k < thrice; k++) {
        mid(depth[k]);
        mt__unwind_cached_stats(&walked[k], &reused[k]);
    }
    cr_assert_eq(walked[1], 2, "stepped %u frames", walked[1]);
    cr_assert_eq(walked[1] + reused[1], walked[0] + reused[0] - 2);
    cr_assert_eq(walked[2], 0);
    cr_assert_eq(reused[2], walked[1] + reused[1]);
    assert_all_equal(5);
}

/* Two callers with identical frames: the frames inside them have the same
 * pc and CFA, but not the same outer frames. */
static __attribute__((noinline)) void leaf_under(void)
{
    check();
    sink++;
}

static __attribute__((noinline)) void caller_one(void)
{
    volatile char pad[64];
    pad[0] = 1;
    leaf_under();
    sink += pad[0];
}

static __attribute__((noinline)) void caller_two(void)
{
    volatile char pad[64];
    pad[0] = 2;
    leaf_under();
    sink += pad[0];
}

Test(shadow, same_frame_under_another_caller, .init = setup)
{
    reset_counts();
    for (int k = 0; k < 10; k++) {
        if (k % 3)
            caller_one();
        else
            caller_two();
    }
    assert_all_equal(10);
}

/* longjmp out of deep stacks, then new stacks over the same memory. */
static jmp_buf escape;

static __attribute__((noinline)) void down_then_jump(int n, int shape)
{
    if (n == 0) {
        check();
        longjmp(escape, 1);
    }
    if (shape & 1)
        down_then_jump(n - 1, shape >> 1);
    else
        down_big(n, 0); /* a different frame, then down() to the end */
    sink++;
}

Test(shadow, longjmp_out_and_back_in, .init = setup)
{
    reset_counts();
    for (volatile int r = 0; r < 200; r++) {
        if (setjmp(escape) == 0)
            down_then_jump((int)(lcg() % 30), (int)lcg());
        check(); /* right after the jump, at the setjmp's depth */
        down((int)(lcg() % 20), (int)lcg());
    }
    assert_all_equal(400);
}

Test(shadow, cxx_exceptions, .init = setup)
{
    reset_counts();
    for (int r = 0; r < 60; r++) {
        int depth = (int)(lcg() % 25);
        int at = (int)(lcg() % 30) - 4; /* some never throw */
        int rc = mt_test_cxx_throw(depth, at, check);
        cr_assert_eq(rc, at >= 0 && at <= depth ? -1 : depth + 1);
        down((int)(lcg() % 20), (int)lcg());
    }
    assert_all_equal(500);
}

/* Signal handlers: on the interrupted stack and on an alternate one. Both of
 * our paths fall back inside them; the captures around them must not be
 * fooled by what the handlers left on the stack. */
static int handler_depth;

static void on_sig_check(int sig)
{
    (void)sig;
    down(handler_depth, (int)lcg()); /* every capture in here sees the signal frame */
}

static __attribute__((noinline)) void raise_at(int n)
{
    if (n == 0) {
        check();
        raise(SIGUSR2);
        check();
        return;
    }
    raise_at(n - 1);
    sink++;
}

Test(shadow, signal_handlers, .init = setup)
{
    reset_counts();
    struct sigaction sa = {0};
    sa.sa_handler = on_sig_check;
    sigaction(SIGUSR2, &sa, NULL);
    for (int r = 0; r < 40; r++) {
        handler_depth = (int)(lcg() % 10);
        raise_at((int)(lcg() % 15));
    }
    unsigned long on_stack_fallbacks = fallbacks;
    cr_assert_gt(on_stack_fallbacks, 39, "captures in handlers fall back");

    stack_t ss = {.ss_sp = malloc(1 << 16), .ss_size = 1 << 16};
    cr_assert_eq(sigaltstack(&ss, NULL), 0);
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR2, &sa, NULL);
    for (int r = 0; r < 40; r++) {
        handler_depth = (int)(lcg() % 10);
        raise_at((int)(lcg() % 15));
    }
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, NULL);
    signal(SIGUSR2, SIG_DFL);
    assert_all_equal(160);
    cr_assert_gt(fallbacks, on_stack_fallbacks + 39);
}

/* Coroutines: two stacks switched with swapcontext, then one stack reused by
 * a coroutine of another function whose frames are the same size. */
#define CO_STACK (128 * 1024)
static ucontext_t main_ctx, co_ctx[2];
static char *co_stack[2];

static __attribute__((noinline)) void co_body_a(int which)
{
    for (int r = 0; r < 30; r++) {
        down((int)(lcg() % 25), (int)lcg());
        check();
        swapcontext(&co_ctx[which], &main_ctx);
    }
}

static __attribute__((noinline)) void co_body_b(int which)
{
    for (int r = 0; r < 30; r++) {
        down((int)(lcg() % 25), (int)lcg());
        check();
        swapcontext(&co_ctx[which], &main_ctx);
    }
}

static void co_start(int which, void (*body)(int))
{
    getcontext(&co_ctx[which]);
    co_ctx[which].uc_stack.ss_sp = co_stack[which];
    co_ctx[which].uc_stack.ss_size = CO_STACK;
    co_ctx[which].uc_link = &main_ctx;
    makecontext(&co_ctx[which], (void (*)(void))body, 1, which);
}

Test(shadow, swapcontext_coroutines, .init = setup)
{
    reset_counts();
    co_stack[0] = malloc(CO_STACK);
    co_stack[1] = malloc(CO_STACK);
    for (int round = 0; round < 2; round++) {
        /* Round 1 runs the other body on each stack: same frame sizes,
         * other return addresses. */
        co_start(0, round ? co_body_b : co_body_a);
        co_start(1, round ? co_body_a : co_body_b);
        for (int r = 0; r < 31; r++) {
            swapcontext(&main_ctx, &co_ctx[r & 1]);
            check();
            swapcontext(&main_ctx, &co_ctx[!(r & 1)]);
            down((int)(lcg() % 10), (int)lcg());
        }
    }
    free(co_stack[0]);
    free(co_stack[1]);
    assert_all_equal(240);
    cr_assert_eq(fallbacks, 0);
}

static void *thread_shapes(void *arg)
{
    (void)arg;
    region(); /* each thread has its own rules and shadow */
    for (int r = 0; r < 200; r++) {
        down(r * 7 % 33, r * 2654435761u >> 7);
        check();
    }
    return NULL;
}

Test(shadow, threads, .init = setup)
{
    reset_counts();
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, thread_shapes, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    assert_all_equal(1800);
}

Test(shadow, fork_child, .init = setup)
{
    reset_counts();
    varying_depths(20, 30); /* a shadow for the child to inherit */
    unsigned long before = checks;
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        varying_depths(100, 30);
        mid(3);
        _exit(failures == 0 && checks - before >= 101 ? 0 : 1);
    }
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "captures in the fork child differ");
    assert_all_equal(20);
}

/* mtrace's own frames (here: all of this test program's) are stepped
 * before the shadow and cut from the capture, as the general unwinder's
 * collect() cuts them. */
extern char __executable_start[], etext[];

static __attribute__((noinline)) void check_cut(void)
{
    uint64_t cached[MAXF], fast[MAXF], slow[MAXF];
    int nc = mt__unwind_cached(cached, MAXF);
    int nf = mt__unwind_fast(fast, MAXF);
    int ns = (int)mt__unwind_slow(slow, MAXF);
    __atomic_fetch_add(&checks, 1, __ATOMIC_RELAXED);
    if (nc != nf || nf != ns || nf <= 0) {
        fail("cut captures have %lu and %lu frames", (unsigned long)nc, (unsigned long)nf);
        return;
    }
    for (int k = 0; k < nf; k++)
        if (cached[k] != fast[k] || fast[k] != slow[k]) {
            fail("cut captures differ at frame %lu: %#lx", (unsigned long)k,
                 (unsigned long)cached[k]);
            return;
        }
    if ((uintptr_t)cached[0] - (uintptr_t)__executable_start <
        (uintptr_t)etext - (uintptr_t)__executable_start)
        fail("frame %lu %#lx is the test program's", 0, (unsigned long)cached[0]);
}

static __attribute__((noinline)) void cut_down(int n)
{
    if (n == 0)
        check_cut();
    else
        cut_down(n - 1);
    sink++;
}

Test(shadow, leading_mtrace_frames_are_cut, .init = setup)
{
    reset_counts();
    mt__self_lo = (uintptr_t)__executable_start;
    mt__self_hi = (uintptr_t)etext;
    for (int r = 0; r < 50; r++)
        cut_down((int)(lcg() % 20));
    uint32_t walked, reused;
    mt__unwind_cached_stats(&walked, &reused);
    mt__self_lo = mt__self_hi = 0;
    assert_all_equal(50);
    cr_assert_eq(walked, 0, "only the test program's frames changed");
    cr_assert_gt(reused, 2);
}

/* A library closed, another mapped where it was: the return address into
 * it has the same value and another rule. What the dlclose hook does
 * (forget the rules and walks of code that may be gone) keeps the captures
 * exact. */
typedef void (*lib_call_fn)(void (*)(void));

static lib_call_fn open_lib(const char *variant, void **handle)
{
    char dir[4096] = ".", path[4200];
    const char *env = getenv("MTRACE_TEST_LIBDIR"); /* meson sets it; else this program's */
    ssize_t n = env ? -1 : readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n > 0) {
        dir[n] = 0;
        *strrchr(dir, '/') = 0;
    }
    snprintf(path, sizeof path, "%s/libunwind-lib-%s.so", env ? env : dir, variant);
    *handle = dlopen(path, RTLD_NOW);
    cr_assert_not_null(*handle, "dlopen %s: %s", path, dlerror());
    lib_call_fn call = (lib_call_fn)dlsym(*handle, "unwind_lib_call");
    cr_assert_not_null(call);
    return call;
}

Test(shadow, code_loaded_where_other_code_was, .init = setup)
{
    reset_counts();
    void *a, *b;
    lib_call_fn call_a = open_lib("a", &a);
    volatile int twice = 2;
    for (int k = 0; k < twice; k++)
        call_a(check); /* A's rule for the return address is cached, its walk kept */
    cr_assert_eq(dlclose(a), 0);
    mt__unwind_code_changed();
    lib_call_fn call_b = open_lib("b", &b);
    cr_assert_eq((uintptr_t)call_b, (uintptr_t)call_a, "B is mapped where A was");
    for (int k = 0; k < twice; k++)
        call_b(check);
    dlclose(b);
    assert_all_equal(4);
}

/* ---- the stack id: the shadow's incremental hash is the table's -------- */

static __attribute__((noinline)) uint32_t id_here(void)
{
    return mt__unwind_stack();
}

static __attribute__((noinline)) uint32_t site(int n)
{
    uint32_t id = n ? site(n - 1) : id_here();
    sink++;
    return id;
}

Test(shadow, stack_ids_from_the_shadow_match_the_table, .init = setup)
{
    const int depth[4] = {5, 5, 2, 2};
    uint32_t id[4], walked, reused;
    volatile int four = 4; /* a loop the compiler cannot unroll: one call site */
    for (int k = 0; k < four; k++) {
        id[k] = site(depth[k]);
        mt__unwind_cached_stats(&walked, &reused);
        if (k % 2)
            cr_assert_eq(walked, 0, "capture %d was taken whole from the shadow", k);
    }
    cr_assert_neq(id[0], 0);
    cr_assert_eq(id[1], id[0], "the same stack, from the shadow, has the same id");
    cr_assert_eq(id[3], id[2]);
    cr_assert_neq(id[2], id[0]);

    /* The frames stored for an id, interned again (hashed from the array,
     * not from the shadow), find the same id. */
    for (int k = 0; k < 4; k += 2) {
        uint32_t cursor = 0, n = 0, got;
        const uint64_t *pcs = NULL;
        while ((got = mt__stack_next_ready(&cursor, &pcs, &n)) && got != id[k])
            ;
        cr_assert_eq(got, id[k]);
        cr_assert_gt(n, (uint32_t)depth[k] + 3);
        uint64_t copy[MAXF];
        memcpy(copy, pcs, n * sizeof *copy);
        cr_assert_eq(mt__stack_intern(copy, n), id[k]);
        cr_assert_eq(mt__stack_intern(copy + 1, n - 1) == id[k], 0);
    }
}
