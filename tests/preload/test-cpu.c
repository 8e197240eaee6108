/* Tests for preload/cpu.c: the CPU of an event, from glibc's rseq area when
 * registered, else sched_getcpu. MTRACE_TEST_RSEQ says which path this run
 * must take (meson runs it twice: as is, and with glibc.pthread.rseq=0). */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "internal.h"

mt__options_t mt__opt;

static int expect_rseq(void)
{
    const char *s = getenv("MTRACE_TEST_RSEQ");
    cr_assert(s != NULL, "MTRACE_TEST_RSEQ not set (meson sets it)");
    return atoi(s);
}

/* Pins the calling thread to each allowed CPU in turn; on each, the CPU
 * mtrace records is sched_getcpu's and that CPU. Returns the CPUs tried. */
static int check_each_cpu(void)
{
    cpu_set_t allowed, one;
    cr_assert_eq(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    int tried = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed))
            continue;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0);
        cr_assert_eq(sched_getcpu(), cpu);
        cr_assert_eq(mt__cpu_now(), cpu, "recorded cpu %d, pinned to %d", mt__cpu_now(), cpu);
        cr_assert_eq(mt__cpu_from_rseq(), expect_rseq());
        tried++;
    }
    cr_assert_eq(sched_setaffinity(0, sizeof allowed, &allowed), 0);
    return tried;
}

Test(cpu, pinned_main_thread_records_its_cpu)
{
    cpu_set_t allowed;
    cr_assert_eq(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    cr_assert_eq(check_each_cpu(), CPU_COUNT(&allowed));
}

static void *in_thread(void *arg)
{
    *(int *)arg = check_each_cpu();
    return NULL;
}

Test(cpu, pinned_new_thread_records_its_cpu)
{
    cpu_set_t allowed;
    cr_assert_eq(sched_getaffinity(0, sizeof allowed, &allowed), 0);
    int tried = 0;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, in_thread, &tried), 0);
    cr_assert_eq(pthread_join(th, NULL), 0);
    cr_assert_eq(tried, CPU_COUNT(&allowed));
}
