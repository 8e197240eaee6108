/* cpu.c - the CPU a sampled event ran on, read from the thread's rseq area.
 *
 * glibc 2.35+ registers an rseq area for every thread it starts and exports
 * where it lies (__rseq_offset from the thread pointer, __rseq_size). The
 * kernel keeps its cpu_id field current, so the CPU is one load (the inline
 * mt__cpu_now in internal.h). cpu_id is negative when registration failed or
 * was turned off (GLIBC_TUNABLES=glibc.pthread.rseq=0, valgrind, seccomp),
 * and __rseq_size is 0 then: sched_getcpu (vDSO getcpu) answers instead.
 */
#include <sched.h>

#include "internal.h"

int mt__cpu_slow(void)
{
    return sched_getcpu();
}

int mt__cpu_from_rseq(void)
{
    return __rseq_size != 0 && mt__cpu_rseq_id() >= 0;
}
