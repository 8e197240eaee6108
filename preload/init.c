/* init.c - bringing the shim up and down: lazy init, constructor,
 * destructor, fork handlers, and the hooks' slow path.
 *
 * The first hook call initialises (resolve the next allocator, read options,
 * set up tables); the constructor then opens the trace and starts the writer.
 * Anything that fails leaves the shim off with one warning: hooks forward
 * to the next allocator and the program runs untraced.
 */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "internal.h"

int mt__state;
int mt__recording;
pid_t mt__pid;
uintptr_t mt__self_lo, mt__self_hi;
static int finished;

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uintptr_t probe = (uintptr_t)data;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (start < lo)
            lo = start;
        if (start + ph->p_memsz > hi)
            hi = start + ph->p_memsz;
    }
    if (probe >= lo && probe < hi) {
        mt__self_lo = lo;
        mt__self_hi = hi;
        return 1;
    }
    return 0;
}

static void off(const char *why)
{
    mt__warn_once(MT__WARN_SETUP, "%s; the program runs untraced", why);
    __atomic_store_n(&mt__recording, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&mt__state, MT__OFF, __ATOMIC_RELEASE);
}

static void on_fork_prepare(void);
static void on_fork_parent(void);
static void on_fork_child(void);

int mt__init(void)
{
    int expect = MT__UNINIT;
    if (!__atomic_compare_exchange_n(&mt__state, &expect, MT__INITIALIZING, 0, __ATOMIC_ACQ_REL,
                                      __ATOMIC_ACQUIRE))
        return expect;
    mt__scope_t scope = mt__enter();
    mt__log_setup();
    if (mt__real_resolve() < 0) {
        /* Nothing to forward to: keep serving from the bootstrap arena. */
        mt__warn("cannot find the next malloc/free (dlsym RTLD_NEXT); mtrace is off");
        __atomic_store_n(&mt__state, MT__OFF, __ATOMIC_RELEASE);
        mt__leave(scope);
        return MT__OFF;
    }
    mt__cxx_resolve();
    mt__options_load();
    if (getauxval(AT_SECURE)) {
        off("secure-execution (setuid/setgid) program");
    } else if (dl_iterate_phdr(find_self, (void *)(uintptr_t)&mt__init) == 0) {
        off("cannot locate libmtrace.so in memory");
    } else if (mt__liveset_setup() < 0 || mt__stacks_setup() < 0) {
        off("cannot reserve memory for mtrace's tables");
    } else {
        mt__clock_reset();
        mt__pid = getpid();
        mt__thread_setup();
        mt__path_capture_cwd();
        pthread_atfork(on_fork_prepare, on_fork_parent, on_fork_child);
        __atomic_store_n(&mt__recording, 1, __ATOMIC_RELEASE);
        __atomic_store_n(&mt__state, MT__ON, __ATOMIC_RELEASE);
    }
    mt__leave(scope);
    return __atomic_load_n(&mt__state, __ATOMIC_ACQUIRE);
}

mt__thread_t *mt__hook_slow(void)
{
    if (mt__tls_guard)
        return NULL;
    mt__thread_t *pass = mt__tls_pass;
    if (pass) {
        mt__pass_end(pass); /* before the inner half calls the allocator */
        return NULL;
    }
    if (mt__tls_exiting)
        return NULL;
    int state = __atomic_load_n(&mt__state, __ATOMIC_ACQUIRE);
    if (state == MT__UNINIT)
        state = mt__init();
    if (state != MT__ON)
        return NULL;
    mt__scope_t scope = mt__enter();
    mt__thread_t *t = mt__thread_register();
    mt__leave(scope);
    if (!t) {
        mt__warn_once(MT__WARN_THREAD, "cannot map a thread's event ring; its calls are not traced");
        return NULL;
    }
    mt__tls_thread = t;
    return t;
}

/* Late mapping calls are not counted: at thread exit they come from runtime
 * teardown (libunwind unmaps its per-thread trace cache from its own key
 * destructor, after ours), not from the program. */
void mt__count_late(int ep, uint64_t bytes)
{
    if (mt__tls_exiting && !mt__tls_guard && mt_entry_point_family[ep] != MT_FAMILY_MAP) {
        __atomic_fetch_add(&mt__late_calls[ep], 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&mt__late_bytes[ep], bytes, __ATOMIC_RELAXED);
    }
}

static int open_trace(pid_t parent_pid)
{
    char dir[4096];
    if (mt__path_resolve(dir, sizeof dir, mt__opt.out, mt__pid) < 0) {
        off("MTRACE_OUT does not give a usable directory name");
        return -1;
    }
    if (mt__writer_start(dir, parent_pid) < 0) {
        __atomic_store_n(&mt__recording, 0, __ATOMIC_RELEASE);
        __atomic_store_n(&mt__state, MT__OFF, __ATOMIC_RELEASE);
        return -1;
    }
    return 0;
}

__attribute__((constructor)) static void mt__on_load(void)
{
    if (__atomic_load_n(&mt__state, __ATOMIC_ACQUIRE) == MT__UNINIT)
        mt__init();
    if (__atomic_load_n(&mt__state, __ATOMIC_ACQUIRE) != MT__ON)
        return;
    mt__scope_t scope = mt__enter();
    mt__unwind_warm();
    mt__sampler_weight(1); /* libm's expm1: its PLT binds lazily too */
    mt__numa_setup();
    if (mt__opt.verbose)
        mt__options_print();
    open_trace(0);
    mt__process_setup();
    mt__leave(scope);
}

void mt__finish(const char *end_reason)
{
    if (__atomic_exchange_n(&finished, 1, __ATOMIC_ACQ_REL))
        return;
    mt__scope_t scope = mt__enter();
    mt__writer_stop(end_reason);
    __atomic_store_n(&mt__state, MT__OFF, __ATOMIC_RELEASE);
    mt__leave(scope);
}

__attribute__((destructor)) static void mt__on_unload(void)
{
    if (__atomic_load_n(&mt__state, __ATOMIC_ACQUIRE) == MT__ON && getpid() == mt__pid)
        mt__finish("exit");
}

static int fork_locked; /* set by the forking thread, which holds the tick lock */

static void on_fork_prepare(void)
{
    if (__atomic_load_n(&mt__state, __ATOMIC_ACQUIRE) == MT__ON) {
        mt__writer_fork_prepare();
        fork_locked = 1;
    }
}

static void on_fork_parent(void)
{
    if (fork_locked) {
        fork_locked = 0;
        mt__writer_fork_parent();
    }
    mt__process_fork_parent();
}

/* Only the forking thread lives on in the child. The parent's writer and
 * its LMDB environment must not be touched here; the child starts a trace
 * of its own (MTRACE_FOLLOW_FORK=1) or turns tracing off. */
static void on_fork_child(void)
{
    if (__atomic_load_n(&mt__state, __ATOMIC_ACQUIRE) != MT__ON)
        return;
    pid_t parent = mt__pid;
    mt__pid = getpid();
    fork_locked = 0; /* the child re-initialises the tick lock, or never ticks */
    if (!mt__opt.follow_fork) {
        __atomic_store_n(&mt__recording, 0, __ATOMIC_RELEASE);
        __atomic_store_n(&mt__state, MT__OFF, __ATOMIC_RELEASE);
        return;
    }
    mt__scope_t scope = mt__enter();
    mt__clock_reset();
    mt__thread_after_fork(scope.thread);
    mt__stacks_after_fork();
    mt__writer_after_fork();
    mt__modules_reset();
    finished = 0;
    open_trace(parent);
    mt__leave(scope);
}
