/* t-threads - thousands of short-lived threads, half joined and half
 * detached, each allocating a little. usage: t-threads [N]
 * Prints "threads: joined J detached D sum S"; exits 0. */
#include <pthread.h>
#include <sched.h>

#include "torture.h"

static uint64_t total;
static int detached_done;

static void *work(void *arg)
{
    uint64_t s = churn((uint64_t)(uintptr_t)arg, 20);
    char *name = strdup("worker");
    CHECK(name, "strdup");
    free(name);
    __atomic_add_fetch(&total, s, __ATOMIC_RELAXED);
    return NULL;
}

static void *work_detached(void *arg)
{
    work(arg);
    __atomic_add_fetch(&detached_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 2000, joined = 0, detached = 0;
    pthread_t t[16];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (int i = 0; i < n / 2; i += 16) {
        int k = 0;
        for (; k < 16 && i + k < n / 2; k++)
            CHECK(pthread_create(&t[k], NULL, work, (void *)(uintptr_t)(i + k)) == 0, "create");
        for (int j = 0; j < k; j++)
            CHECK(pthread_join(t[j], NULL) == 0, "join");
        joined += k;
    }
    for (int i = 0; i < n - n / 2; i++) {
        pthread_t d;
        /* Bounded: at most 64 detached threads alive at once. */
        while (i - __atomic_load_n(&detached_done, __ATOMIC_ACQUIRE) >= 64)
            sched_yield();
        CHECK(pthread_create(&d, &attr, work_detached, (void *)(uintptr_t)(n + i)) == 0,
              "create detached");
        detached++;
    }
    while (__atomic_load_n(&detached_done, __ATOMIC_ACQUIRE) < detached)
        sched_yield();
    printf("threads: joined %d detached %d sum %llu\n", joined, detached,
           (unsigned long long)total);
    return 0;
}
