/* t-signal - a 10 kHz timer signal whose handler mallocs and frees.
 * usage: t-signal [MS] [setitimer|timer_create] [spin|map]
 * The handler runs on the main thread, which meanwhile never calls the
 * allocator (so a handler's malloc never interrupts a malloc and the program
 * is correct untraced): it computes (spin), or calls mmap and munmap (map),
 * which enter the shim's hooks, so the signal lands inside them. Two other
 * threads, with the signal blocked, allocate all along. Runs MS
 * milliseconds and then on until 50 signals were handled (on a loaded
 * machine the main thread may run only a few times in MS: a count, not a
 * time, says the signal landed often enough). Prints "signal: ok"; exits 3
 * when fewer than 50 signals arrived within GIVE_UP_S seconds. */
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>

#include "torture.h"

#define GIVE_UP_S 20.0

static volatile sig_atomic_t handled;
static int stop;

static void on_alarm(int sig)
{
    (void)sig;
    unsigned char *p = malloc(64 + (size_t)(handled % 512));
    if (p) {
        p[0] = 1;
        free(p);
    }
    void *q = calloc(4, 100);
    free(q);
    handled++;
}

static void *worker(void *arg)
{
    for (uint64_t i = (uint64_t)(uintptr_t)arg; !__atomic_load_n(&stop, __ATOMIC_ACQUIRE); i++)
        churn(i, 100);
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int ms = argc > 1 ? atoi(argv[1]) : 500;
    int use_itimer = argc > 2 && strcmp(argv[2], "setitimer") == 0;
    int use_map = argc > 3 && strcmp(argv[3], "map") == 0;
    sigset_t alrm, old;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction");

    /* Workers never take the signal. */
    pthread_t w[2];
    pthread_sigmask(SIG_BLOCK, &alrm, &old);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&w[i], NULL, worker, (void *)(uintptr_t)(i * 1000)) == 0, "create");
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    timer_t timer;
    if (use_itimer) {
        struct itimerval it = {{0, 100}, {0, 100}};
        CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");
    } else {
        struct sigevent sev;
        memset(&sev, 0, sizeof sev);
        sev.sigev_notify = SIGEV_SIGNAL;
        sev.sigev_signo = SIGALRM;
        CHECK(timer_create(CLOCK_MONOTONIC, &sev, &timer) == 0, "timer_create");
        struct itimerspec its = {{0, 100000}, {0, 100000}};
        CHECK(timer_settime(timer, 0, &its, NULL) == 0, "timer_settime");
    }
    double start = now(), end = start + ms / 1000.0;
    unsigned long maps = 0;
    volatile uint64_t spin = 1;
    for (double t = start; t < end || (handled < 50 && t < start + GIVE_UP_S); t = now()) {
        if (!use_map) {
            for (int i = 0; i < 1000; i++)
                spin = spin * 31 + (uint64_t)i;
            maps++;
            continue;
        }
        void *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        CHECK(p != MAP_FAILED, "mmap");
        ((char *)p)[0] = 1;
        munmap(p, 8192);
        maps++;
    }
    /* The signal off before anything else may call malloc on this thread. */
    pthread_sigmask(SIG_BLOCK, &alrm, NULL);
    if (use_itimer) {
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, NULL);
    } else {
        timer_delete(timer);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++)
        pthread_join(w[i], NULL);
    CHECK(handled >= 50 && maps > 0, "only %d signals handled, %lu maps", (int)handled, maps);
    printf("signal: ok\n");
    return 0;
}
