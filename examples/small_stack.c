/* small_stack.c - allocation calls from a thread with almost no stack left.
 *
 *   small_stack HEADROOM     run the calls with HEADROOM bytes of stack below
 *                            the caller's frame; prints "small_stack: ok"
 *   small_stack measure      paint the stack, run the calls twice with all
 *                            the stack below, print the most any call used
 *                            (first pass: includes the thread's first call)
 *
 * The thread has a 64 KiB stack; the calls run from a frame placed so that
 * exactly HEADROOM bytes remain above the guard page. A hook that needs more
 * than that (or lazy binding through a PLT, whose resolver saves the vector
 * registers on the stack) runs into the guard page and the program dies
 * with SIGSEGV, where run bare it prints "small_stack: ok".
 * Exact totals in the thread, per pass: malloc 3 calls 16777312 bytes
 * (32 + 64 + 16 MiB: that one is sampled at any mean, so the thread makes the
 * process's first sampled call), calloc 1 call 48 bytes, realloc 1 call 128
 * bytes, free 4 calls; run with
 * HEADROOM, one pass; with "measure", two. main allocates nothing itself, so
 * the thread's calls are the first the shim records (pthread_create's own
 * allocations aside). The program is linked with -z now: run bare, its own
 * PLT needs no lazy binding in the thread.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example.h"

#define STACK_SIZE (64 * 1024)
#define PAINT 0xa5
#define BIG (16u << 20) /* sampled even at the default mean of 512 KiB */

static char *stack_lo; /* the thread's lowest usable stack byte */
static size_t headroom;
static int measuring;
static size_t used[2];

static __attribute__((noinline)) void calls(void)
{
    void *a = malloc(32);
    mt_example_keep(a);
    void *b = calloc(3, 16);
    mt_example_keep(b);
    void *c = malloc(64);
    mt_example_keep(c);
    c = realloc(c, 128);
    mt_example_keep(c);
    void *big = malloc(BIG);
    mt_example_keep(big);
    free(big);
    free(a);
    free(b);
    free(c);
}

/* Lowest painted byte that was written, as a distance below TOP. */
static size_t depth_below(const char *top)
{
    const volatile char *p = stack_lo;
    while (p < top && *p == (char)PAINT)
        p++;
    return (size_t)(top - (const char *)p);
}

/* Moves the stack pointer down so that HEADROOM bytes remain, then calls. */
static __attribute__((noinline)) void at_headroom(int pass)
{
    char here;
    size_t eat = (size_t)(&here - stack_lo) - headroom;
    volatile char *floor = __builtin_alloca(measuring ? 16 : eat);
    floor[0] = 0;
    char *top = (char *)floor; /* the stack pointer, give or take 16 bytes */
    if (measuring)
        for (volatile char *p = stack_lo; p < top - 128; p++)
            *p = (char)PAINT;
    calls();
    if (measuring)
        used[pass] = depth_below(top);
}

static void *thread_main(void *arg)
{
    (void)arg;
    pthread_attr_t attr;
    void *addr;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0 ||
        pthread_attr_getstack(&attr, &addr, &size) != 0)
        abort();
    pthread_attr_destroy(&attr);
    stack_lo = addr;
    for (int pass = 0; pass < (measuring ? 2 : 1); pass++)
        at_headroom(pass);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    measuring = strcmp(argv[1], "measure") == 0;
    headroom = measuring ? 0 : strtoul(argv[1], NULL, 0);
    if (!measuring && (headroom < 256 || headroom > STACK_SIZE / 2))
        return 2;
    pthread_attr_t attr;
    pthread_t th;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, STACK_SIZE);
    if (pthread_create(&th, &attr, thread_main, NULL) != 0 || pthread_join(th, NULL) != 0)
        return 1;
    if (measuring) {
        char line[96];
        snprintf(line, sizeof line, "small_stack: first pass %zu, second pass %zu bytes\n",
                 used[0], used[1]);
        return mt_example_say(line);
    }
    return mt_example_say("small_stack: ok\n");
}
