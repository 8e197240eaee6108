/* threads.c - four workers and one self-naming thread allocate known totals.
 *
 * Worker t (0..3) does 500 x (malloc(16 << t); free) and leaks calloc(10, 10).
 * The namer thread calls pthread_setname_np(self, "mt-namer"), then
 * malloc(777) and frees it. All five exit (joined) before main returns, so a
 * tracer that loses an exited thread's counters is caught. Exact totals:
 *   malloc  2001 calls  120777 bytes  (500 x (16+32+64+128) + 777)
 *   calloc     4 calls     400 bytes
 *   all     2005 calls  121177 bytes
 *   free    2001 calls
 * "threads baseline" creates and joins the same five threads, which then
 * allocate nothing: the difference between the two runs is exactly the above.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "example.h"

#define WORKERS 4
#define ROUNDS 500

static int baseline;
static pthread_barrier_t start; /* all workers allocate at the same time */

static void *worker(void *arg)
{
    size_t size = (size_t)16 << (uintptr_t)arg;
    pthread_barrier_wait(&start);
    if (baseline)
        return NULL;
    for (int i = 0; i < ROUNDS; i++) {
        char *p = malloc(size);
        if (p == NULL)
            return (void *)1;
        p[0] = (char)i;
        mt_example_keep(p);
        free(p);
    }
    void *leak = calloc(10, 10);
    mt_example_keep(leak);
    return leak == NULL ? (void *)1 : NULL;
}

static void *namer(void *arg)
{
    (void)arg;
    if (pthread_setname_np(pthread_self(), "mt-namer") != 0)
        return (void *)1;
    if (baseline)
        return NULL;
    char *p = malloc(777);
    if (p == NULL)
        return (void *)1;
    mt_example_keep(p);
    free(p);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t tid[WORKERS + 1];
    int failed = 0;

    baseline = mt_example_baseline(argc, argv);
    if (pthread_barrier_init(&start, NULL, WORKERS) != 0)
        return 1;
    for (uintptr_t t = 0; t < WORKERS; t++)
        if (pthread_create(&tid[t], NULL, worker, (void *)t) != 0)
            return 1;
    if (pthread_create(&tid[WORKERS], NULL, namer, NULL) != 0)
        return 1;
    for (int t = 0; t <= WORKERS; t++) {
        void *ret;
        if (pthread_join(tid[t], &ret) != 0 || ret != NULL)
            failed = 1;
    }
    pthread_barrier_destroy(&start);
    if (failed)
        return mt_example_say("threads: a thread failed\n"), 1;
    return mt_example_say(baseline ? "threads: baseline\n" : "threads: 5 threads done\n") == 0 ? 0 : 1;
}
