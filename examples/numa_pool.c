/* numa_pool.c - a small NUMA-aware pool allocator, annotated for mtrace.
 *
 * The pool "kv" takes 64 KiB chunks from numa_alloc_onnode on the node of
 * the CPU it runs on (plain mmap when the kernel has no NUMA support) and
 * carves each chunk into objects of one of 8 size classes, with a free list
 * per class. Every object it hands out and takes back is reported with
 * MTRACE_POOL_ALLOC / MTRACE_POOL_FREE (mtrace/mtrace.h): no link dependency
 * on mtrace, one branch per call when the shim is absent.
 *
 * The workload is Redis-like and deterministic: 2000 SETs, each a key of
 * 16..64 bytes and a value from a fixed mix (32 B x 600, 100 B x 500,
 * 200 B x 400, 500 B x 300, 1000 B x 150, 4000 B x 50), with every fourth
 * SET deleting the entry made two SETs before (interleaved frees); then a
 * FLUSHALL frees the rest.
 *
 * Exact totals (tests/e2e/test-fit.c asserts them, keep in sync):
 *   pool alloc  4000 calls  723,165 bytes requested (keys 73,965, values 649,200)
 *   pool free   4000 calls
 *   waste under the pool's classes 16,32,64,128,256,512,1024,4096:
 *               70,403 bytes of rounding (9.7% of requested)
 * "numa_pool baseline" does none of it.
 */
#include <numa.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>

#include <mtrace/mtrace.h>

#include "example.h"

#define POOL "kv"
#define CHUNK (64u << 10)
#define NCLASSES 8
#define NSETS 2000
#define MAX_CHUNKS 256

static const size_t class_size[NCLASSES] = {16, 32, 64, 128, 256, 512, 1024, 4096};

typedef struct free_obj {
    struct free_obj *next;
} free_obj_t;

typedef struct pool {
    int node;
    int numa;                     /* libnuma usable */
    free_obj_t *free[NCLASSES];   /* objects given back, per class */
    char *bump[NCLASSES];         /* the class's current chunk: next object */
    char *end[NCLASSES];          /* and its end */
    void *chunks[MAX_CHUNKS];
    size_t nchunks;
} pool_t;

static int class_of(size_t size)
{
    for (int c = 0; c < NCLASSES; c++)
        if (size <= class_size[c])
            return c;
    return -1;
}

static void *new_chunk(pool_t *p)
{
    if (p->nchunks == MAX_CHUNKS)
        return NULL;
    void *c = p->numa ? numa_alloc_onnode(CHUNK, p->node)
                      : mmap(NULL, CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                             -1, 0);
    if (c == MAP_FAILED)
        c = NULL;
    if (c)
        p->chunks[p->nchunks++] = c;
    return c;
}

/* An object of the class that holds SIZE, or NULL. */
__attribute__((noinline)) static void *pool_alloc(pool_t *p, size_t size)
{
    int c = class_of(size);
    if (c < 0)
        return NULL;
    void *obj;
    if (p->free[c]) {
        obj = p->free[c];
        p->free[c] = p->free[c]->next;
    } else {
        if (p->bump[c] == p->end[c]) {
            char *chunk = new_chunk(p);
            if (!chunk)
                return NULL;
            p->bump[c] = chunk;
            p->end[c] = chunk + CHUNK / class_size[c] * class_size[c];
        }
        obj = p->bump[c];
        p->bump[c] += class_size[c];
    }
    MTRACE_POOL_ALLOC(POOL, obj, size);
    return obj;
}

__attribute__((noinline)) static void pool_free(pool_t *p, void *obj, size_t size)
{
    if (!obj)
        return;
    /* Reported before the object goes back on the free list. */
    MTRACE_POOL_FREE(POOL, obj);
    int c = class_of(size);
    free_obj_t *f = obj;
    f->next = p->free[c];
    p->free[c] = f;
}

static void pool_destroy(pool_t *p)
{
    for (size_t i = 0; i < p->nchunks; i++) {
        if (p->numa)
            numa_free(p->chunks[i], CHUNK);
        else
            munmap(p->chunks[i], CHUNK);
    }
    p->nchunks = 0;
}

/* ---- a Redis-like key-value workload ------------------------------------ */

typedef struct entry {
    char *key, *val;
    size_t klen, vlen;
} entry_t;

static entry_t table[NSETS];

/* 40 slots: 12 x 32, 10 x 100, 8 x 200, 6 x 500, 3 x 1000, 1 x 4000. */
static const size_t value_mix[40] = {
    32,  32,  32,  32,  32,  32,  32,  32,  32,  32,  32,  32,   100,  100,
    100, 100, 100, 100, 100, 100, 100, 100, 200, 200, 200, 200,  200,  200,
    200, 200, 500, 500, 500, 500, 500, 500, 1000, 1000, 1000, 4000,
};

static size_t key_size(int i)
{
    return 16 + (size_t)(i * 7) % 49; /* 16..64 */
}

static size_t value_size(int i)
{
    return value_mix[(i * 17) % 40]; /* 17 is prime to 40: each round of 40 SETs takes every slot */
}

__attribute__((noinline)) static int kv_set(pool_t *p, int i)
{
    entry_t *e = &table[i];
    e->klen = key_size(i);
    e->vlen = value_size(i);
    e->key = pool_alloc(p, e->klen);
    e->val = pool_alloc(p, e->vlen);
    if (!e->key || !e->val)
        return -1;
    e->key[0] = (char)i;
    e->val[0] = (char)i;
    return 0;
}

__attribute__((noinline)) static void kv_del(pool_t *p, int i)
{
    entry_t *e = &table[i];
    pool_free(p, e->key, e->klen);
    pool_free(p, e->val, e->vlen);
    e->key = e->val = NULL;
}

static char *fmt_u(char *out, unsigned long v)
{
    char tmp[24];
    int n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n)
        *out++ = tmp[--n];
    *out = '\0';
    return out;
}

int main(int argc, char **argv)
{
    if (mt_example_baseline(argc, argv))
        return mt_example_say("numa_pool: baseline\n") == 0 ? 0 : 1;
    static pool_t pool;
    pool.numa = numa_available() >= 0;
    int cpu = sched_getcpu();
    pool.node = pool.numa && cpu >= 0 ? numa_node_of_cpu(cpu) : 0;
    if (pool.node < 0)
        pool.node = 0;

    unsigned long requested = 0, rounded = 0;
    for (int i = 0; i < NSETS; i++) {
        if (kv_set(&pool, i) != 0) {
            mt_example_say("numa_pool: out of memory\n");
            return 1;
        }
        requested += table[i].klen + table[i].vlen;
        rounded += class_size[class_of(table[i].klen)] + class_size[class_of(table[i].vlen)];
        if (i % 4 == 3)
            kv_del(&pool, i - 2); /* DEL of an older key: interleaved frees */
    }
    for (int i = 0; i < NSETS; i++) /* FLUSHALL */
        if (table[i].key)
            kv_del(&pool, i);
    size_t chunks = pool.nchunks;
    pool_destroy(&pool);

    char line[160], *p = line;
    const char *parts[] = {"numa_pool: 4000 objects, ", " bytes requested, ",
                           " bytes rounding waste, ", " chunks of 64 KiB\n"};
    unsigned long nums[] = {requested, rounded - requested, (unsigned long)chunks};
    for (int k = 0; k < 4; k++) {
        for (const char *s = parts[k]; *s; s++)
            *p++ = *s;
        if (k < 3)
            p = fmt_u(p, nums[k]);
    }
    *p = '\0';
    return mt_example_say(line) == 0 ? 0 : 1;
}
