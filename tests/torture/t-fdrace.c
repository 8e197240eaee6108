/* t-fdrace - a program that keeps closing every descriptor it did not start
 * with and reopening its own file (which takes the lowest free number) while
 * named threads allocate: any descriptor the shim opens for a moment is
 * closed under it and its number reused by the program. The shim must never
 * close or touch the program's reused descriptor.
 * usage: t-fdrace DIR MILLISECONDS
 * Prints "fdrace: ok" and exits 0, or "fdrace: lost descriptor" and exits 3
 * when a write to a descriptor it had just opened failed with EBADF. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "torture.h"

#define NTHREADS 200
#define MAXFD 1024

static int stop;

static void *worker(void *arg)
{
    char name[16];
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    snprintf(name, sizeof name, "fdrace-%d", (int)seed);
    pthread_setname_np(pthread_self(), name);
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        churn(seed++, 5); /* a few events in most ticks: each thread stays active */
        struct timespec ms = {0, 2000000L};
        nanosleep(&ms, NULL);
    }
    return NULL;
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    char path[4096];
    snprintf(path, sizeof path, "%s/own", argv[1]);
    uint64_t ms = (uint64_t)atoll(argv[2]);
    /* The descriptors open at start (stdio, the shim's trace) stay: the
     * program closes all the others, as a daemon closes all it inherited. */
    static unsigned char keep[MAXFD];
    for (int fd = 0; fd < MAXFD; fd++)
        keep[fd] = fcntl(fd, F_GETFD) >= 0;
    pthread_t w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&w[i], NULL, worker, (void *)(uintptr_t)(i + 1)) == 0,
              "pthread_create");
    int lost = 0;
    uint64_t end = now_ms() + ms;
    while (!lost && now_ms() < end) {
        for (int lo = 3; lo < MAXFD;) {
            while (lo < MAXFD && keep[lo])
                lo++;
            int hi = lo;
            while (hi + 1 < MAXFD && !keep[hi + 1])
                hi++;
            if (lo < MAXFD)
                syscall(SYS_close_range, (unsigned)lo, (unsigned)hi, 0u);
            lo = hi + 1;
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
        for (int k = 0; k < 2 && !lost; k++)
            if (pwrite(fd, "x", 1, k) != 1) {
                CHECK(errno == EBADF, "pwrite: %s", strerror(errno));
                lost = 1;
            }
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(w[i], NULL);
    printf(lost ? "fdrace: lost descriptor\n" : "fdrace: ok\n");
    return lost ? 3 : 0;
}
