/* bench_alloc.c - the allocation-heavy microbenchmark of tools/bench.
 *
 *   bench_alloc [THREADS [OPS_PER_THREAD]]      (defaults 2, 2000000)
 *
 * Each thread keeps 4096 slots and, driven by a fixed-seed xorshift RNG,
 * frees a random occupied slot (so frees come out of allocation order),
 * reallocs it (1 in 8), or fills an empty one with malloc or calloc of a
 * mixed size (80% 16-256 B, 15% up to 4 KiB, 5% up to 64 KiB), each through
 * one of eight call paths of different depth, so stacks vary. The work is
 * deterministic: the same arguments give the same calls. Prints one line
 * with the number of calls made. Built twice: with and without frame
 * pointers (bench_alloc_fp).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4096

typedef struct worker {
    uint64_t rng;
    long ops;
    long calls;
    void *slot[SLOTS];
    size_t size[SLOTS];
} worker_t;

static uint64_t next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static size_t pick_size(uint64_t r)
{
    unsigned bucket = (unsigned)(r % 100);
    r >>= 8;
    if (bucket < 80)
        return 16 + r % 241;
    if (bucket < 95)
        return 257 + r % 3840;
    return 4097 + r % 61440;
}

/* Eight call paths: allocate at depth 1..8 below the worker. */
typedef void *(*alloc_fn)(int depth, size_t size, int zero);

static __attribute__((noinline)) void *alloc_at(int depth, size_t size, int zero);

static __attribute__((noinline)) void *step_a(int depth, size_t size, int zero)
{
    void *p = alloc_at(depth - 1, size, zero);
    __asm__ volatile("" ::: "memory"); /* keep the frame: no tail call */
    return p;
}

static __attribute__((noinline)) void *step_b(int depth, size_t size, int zero)
{
    void *p = alloc_at(depth - 1, size, zero);
    __asm__ volatile("" ::: "memory");
    return p;
}

static __attribute__((noinline)) void *alloc_at(int depth, size_t size, int zero)
{
    if (depth > 0)
        return (depth & 1 ? step_a : step_b)(depth, size, zero);
    return zero ? calloc(1, size) : malloc(size);
}

static void *work(void *arg)
{
    worker_t *w = arg;
    for (long i = 0; i < w->ops; i++) {
        uint64_t r = next(&w->rng);
        unsigned s = (unsigned)(r % SLOTS);
        r >>= 12;
        if (w->slot[s]) {
            if (r % 8 == 0) {
                size_t n = pick_size(r >> 3);
                void *q = realloc(w->slot[s], n);
                if (q) {
                    w->slot[s] = q;
                    w->size[s] = n;
                }
            } else {
                free(w->slot[s]);
                w->slot[s] = NULL;
            }
        } else {
            size_t n = pick_size(r);
            w->slot[s] = alloc_at((int)(r >> 40) % 8 + 1, n, r % 5 == 0);
            w->size[s] = n;
            if (w->slot[s])
                memset(w->slot[s], 1, n < 64 ? n : 64);
        }
        w->calls++;
    }
    for (unsigned s = 0; s < SLOTS; s++) {
        if (w->slot[s]) {
            free(w->slot[s]);
            w->calls++;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    long ops = argc > 2 ? atol(argv[2]) : 2000000;
    if (threads < 1 || threads > 64 || ops < 1) {
        fprintf(stderr, "usage: bench_alloc [THREADS 1-64 [OPS_PER_THREAD]]\n");
        return 2;
    }
    pthread_t tid[64];
    worker_t *w = calloc((size_t)threads, sizeof *w);
    if (!w)
        return 1;
    for (int t = 0; t < threads; t++) {
        w[t].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(t + 1);
        w[t].ops = ops;
        pthread_create(&tid[t], NULL, work, &w[t]);
    }
    long calls = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(tid[t], NULL);
        calls += w[t].calls;
    }
    printf("bench_alloc: %d threads, %ld allocator calls\n", threads, calls);
    free(w);
    return 0;
}
