/* t-crash - allocating threads, then an abort at a point chosen by SEED.
 * usage: t-crash SEED abort|run
 *   abort: prints "crash: ready", allocates for a seeded number of rounds,
 *          then calls abort() from a worker or the main thread (seeded too);
 *   run:   prints "crash: ready" and allocates until killed (at most 30 s).
 */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "torture.h"

static uint64_t seed;
static int abort_at = -1, abort_thread;
static int rounds;

static void *worker(void *arg)
{
    int me = (int)(intptr_t)arg;
    for (uint64_t i = 0;; i++) {
        churn(seed + i, 50);
        int r = __atomic_add_fetch(&rounds, 1, __ATOMIC_RELAXED);
        if (abort_at >= 0 && r >= abort_at && me == abort_thread)
            abort();
    }
    return NULL;
}

int main(int argc, char **argv)
{
    CHECK(argc > 2, "usage: t-crash SEED abort|run");
    seed = strtoull(argv[1], NULL, 10);
    srand((unsigned)seed);
    if (strcmp(argv[2], "abort") == 0) {
        abort_at = 1 + rand() % 2000;
        abort_thread = rand() % 4; /* 3 = the main thread */
    }
    churn(seed, 1000);
    printf("crash: ready\n");
    fflush(stdout);
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0, "create");
    alarm(30);
    for (uint64_t i = 0;; i++) {
        churn(seed * 3 + i, 50);
        int r = __atomic_add_fetch(&rounds, 1, __ATOMIC_RELAXED);
        if (abort_at >= 0 && r >= abort_at && abort_thread == 3)
            abort();
    }
}
