/* sampled_frees.cpp - thousands of live samples freed through every free
 * entry point, half of them by another thread than the one that allocated
 * them, while that thread allocates the next batch: the live-sample filter
 * that free checks grows and shrinks under concurrent frees.
 *
 * Run with MTRACE_SAMPLE=1 every block here (64 bytes or more) is sampled
 * with weight exactly 1, so a missed free shows as a leak. Each of 4 rounds
 * allocates 3000 blocks (sizes 64-1656) through 13 allocation/free pairs:
 * malloc/free, malloc/cfree, malloc/free_sized, aligned_alloc/
 * free_aligned_sized, calloc/realloc (grown 4x)/free, malloc/reallocarray/
 * free, malloc/realloc(p, 0), new[]/delete[], new/sized delete, aligned
 * new/aligned delete, new/delete, posix_memalign/free, memalign/free. A
 * worker thread frees the odd-numbered blocks of a round while the main
 * thread allocates the next round; the main thread frees the even ones.
 * Leaked: exactly 3 blocks, malloc 1111, calloc 2222 (2 x 1111),
 * operator new 3333: 3 blocks, 6666 bytes. Prints "sampled frees: 12000".
 * "baseline" only creates and joins one idle thread (glibc keeps a joined
 * thread's stack and TLS blocks for the next one, so both runs leave those).
 */
#include <cstdlib>
#include <malloc.h>
#include <new>
#include <pthread.h>

#include "example.h"

extern "C" {
void cfree(void *p) __attribute__((weak));
void free_sized(void *p, size_t size) __attribute__((weak));
void free_aligned_sized(void *p, size_t align, size_t size) __attribute__((weak));
}

enum { ROUNDS = 4, BATCH = 3000, KINDS = 13 };

typedef struct block {
    void *p;
    size_t size;
    int kind;
} block_t;

static block_t blocks[ROUNDS][BATCH];
static const std::align_val_t al{64};

static void *alloc_kind(int kind, size_t size)
{
    void *p = NULL;
    switch (kind) {
    case 3:
        return aligned_alloc(64, size);
    case 4:
        return calloc(1, size);
    case 7:
        return new char[size];
    case 8:
    case 10:
        return ::operator new(size);
    case 9:
        return ::operator new(size, al);
    case 11:
        if (posix_memalign(&p, 64, size) != 0)
            abort();
        return p;
    case 12:
        return memalign(64, size);
    default:
        return malloc(size);
    }
}

static void free_kind(block_t *b)
{
    void *q;
    switch (b->kind) {
    case 1:
        cfree ? cfree(b->p) : free(b->p);
        break;
    case 2:
        free_sized ? free_sized(b->p, b->size) : free(b->p);
        break;
    case 3:
        free_aligned_sized ? free_aligned_sized(b->p, 64, b->size) : free(b->p);
        break;
    case 4:
        q = realloc(b->p, b->size * 4);
        mt_example_keep(q);
        free(q);
        break;
    case 5:
        q = reallocarray(b->p, 2, b->size);
        mt_example_keep(q);
        free(q);
        break;
    case 6:
        q = realloc(b->p, 0); /* glibc frees the block and returns NULL */
        mt_example_keep(q);
        free(q);
        break;
    case 7:
        delete[] (char *)b->p;
        break;
    case 8:
        ::operator delete(b->p, b->size);
        break;
    case 9:
        ::operator delete(b->p, al);
        break;
    case 10:
        ::operator delete(b->p);
        break;
    default:
        free(b->p);
    }
}

static void allocate_round(int round)
{
    for (int i = 0; i < BATCH; i++) {
        block_t *b = &blocks[round][i];
        b->kind = (i / 2 + round) % KINDS;
        b->size = 64 + (size_t)(i % 200) * 8;
        b->p = alloc_kind(b->kind, b->size);
        if (!b->p)
            abort();
        mt_example_keep(b->p);
    }
}

static void *idle(void *arg)
{
    return arg;
}

static void *free_odd(void *arg)
{
    block_t *round = (block_t *)arg;
    for (int i = 1; i < BATCH; i += 2)
        free_kind(&round[i]);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t worker;
    if (mt_example_baseline(argc, argv)) {
        if (pthread_create(&worker, NULL, idle, NULL) != 0)
            abort();
        pthread_join(worker, NULL);
        return 0;
    }
    void *leak_m = malloc(1111), *leak_c = calloc(2, 1111), *leak_n = ::operator new(3333);
    mt_example_keep(leak_m), mt_example_keep(leak_c), mt_example_keep(leak_n);
    allocate_round(0);
    for (int r = 0; r < ROUNDS; r++) {
        if (pthread_create(&worker, NULL, free_odd, blocks[r]) != 0)
            abort();
        if (r + 1 < ROUNDS)
            allocate_round(r + 1); /* while the worker frees round r */
        for (int i = 0; i < BATCH; i += 2)
            free_kind(&blocks[r][i]);
        pthread_join(worker, NULL);
    }
    mt_example_say("sampled frees: 12000\n");
    return 0;
}
