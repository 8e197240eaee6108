/* t-dlopen - dlopen/dlsym/dlclose churn of a small library while two other
 * threads allocate. usage: t-dlopen PLUGIN.so [ROUNDS]
 * Prints "dlopen: R rounds sum S"; exits 0. */
#include <dlfcn.h>
#include <pthread.h>

#include "torture.h"

static int stop;

static void *worker(void *arg)
{
    for (uint64_t i = (uint64_t)(uintptr_t)arg; !__atomic_load_n(&stop, __ATOMIC_ACQUIRE); i++)
        churn(i, 100);
    return NULL;
}

int main(int argc, char **argv)
{
    CHECK(argc > 1, "usage: t-dlopen PLUGIN.so [ROUNDS]");
    int rounds = argc > 2 ? atoi(argv[2]) : 300;
    pthread_t w[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&w[i], NULL, worker, (void *)(uintptr_t)(i * 77)) == 0, "create");
    unsigned long sum = 0;
    for (int r = 0; r < rounds; r++) {
        void *h = dlopen(argv[1], (r & 1 ? RTLD_LAZY : RTLD_NOW) | RTLD_LOCAL);
        CHECK(h, "dlopen: %s", dlerror());
        unsigned long (*fn)(unsigned) = (unsigned long (*)(unsigned))dlsym(h, "plugin_work");
        CHECK(fn, "dlsym: %s", dlerror());
        sum += fn(20 + (unsigned)(r % 10));
        CHECK(dlclose(h) == 0, "dlclose: %s", dlerror());
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++)
        pthread_join(w[i], NULL);
    printf("dlopen: %d rounds sum %lu\n", rounds, sum);
    return 0;
}
