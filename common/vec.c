/* vec.c - the allocator indirection and the growable vector of common.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

void *mt_realloc(const mt_alloc_t *a, void *p, size_t n)
{
    if (a)
        return a->realloc(a->ctx, p, n);
    if (!n) {
        free(p);
        return NULL;
    }
    return realloc(p, n);
}

int mt_vec_reserve(const mt_alloc_t *a, void *arrp, size_t *cap, size_t need, size_t esize)
{
    if (need <= *cap)
        return 0;
    if (*cap > SIZE_MAX / 2)
        return ENOMEM;
    size_t c = *cap ? 2 * *cap : 16;
    while (c < need) {
        if (c > SIZE_MAX / 2)
            return ENOMEM;
        c *= 2;
    }
    if (c > SIZE_MAX / esize)
        return ENOMEM;
    void *old;
    memcpy(&old, arrp, sizeof(old));
    void *g = mt_realloc(a, old, c * esize);
    if (!g)
        return ENOMEM;
    memcpy(arrp, &g, sizeof(g));
    *cap = c;
    return 0;
}

void *mt_vec_push(const mt_alloc_t *a, void *arrp, size_t n, size_t *cap, size_t esize)
{
    if (n == SIZE_MAX || mt_vec_reserve(a, arrp, cap, n + 1, esize))
        return NULL;
    char *arr;
    memcpy(&arr, arrp, sizeof(arr));
    return arr + n * esize;
}
