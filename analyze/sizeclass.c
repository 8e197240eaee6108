/* sizeclass.c - size-class tables and what rounding to them costs: built-in
 * tables of four allocators, class lists from the command line, the
 * rounding waste of a size histogram and the fit of a pool's chunk size.
 *
 * Each built-in table states the allocator version and configuration it
 * reproduces (mt_classes_builtin_sources, also printed by fit --help). A
 * request is rounded up to the smallest class that holds it; one above the
 * largest class is "oversize" and is not rounded.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"

const char *const mt_classes_builtin_names[] = {"jemalloc", "glibc", "tcmalloc", "mimalloc", NULL};

const char *const mt_classes_builtin_sources[] = {
    /* jemalloc */
    "jemalloc 5.x (src/sc.c) with the x86-64 defaults LG_QUANTUM=4 and "
    "LG_PAGE=12: a tiny class of 8 B, 16..64 B by 16, then 4 classes per "
    "doubling (size = 2^g + i * 2^(g-2), i = 1..4): 36 small classes up to "
    "14 KiB, large classes from 16 KiB by the same formula (generated up to "
    "128 TiB)",
    /* glibc */
    "glibc malloc (ptmalloc2, 2.26 and later) on 64-bit: a request n gets a "
    "chunk of max(32, n + 8 rounded up to 16) bytes whose usable size is the "
    "chunk - 8, so the classes are 24, 40, 56, ... 131048 B; a larger request "
    "needs a chunk of at least the default mmap threshold (128 KiB) and is "
    "mmap'd: oversize",
    /* tcmalloc */
    "Google tcmalloc (github.com/google/tcmalloc, tcmalloc/size_classes.cc at "
    "commit 078e62e; not gperftools): the 85 classes of the default build, "
    "8 KiB pages and 16-byte alignment, 8 B to 256 KiB; larger requests get "
    "whole pages: oversize",
    /* mimalloc */
    "mimalloc 2.x and 3.x (src/init.c, MI_PAGE_QUEUES_EMPTY, 64-bit): bins of "
    "8..64 B by 8, then 4 per doubling up to 4 MiB (bin 72); larger requests "
    "are huge pages: oversize",
};

/* Google tcmalloc, TCMALLOC_PAGE_SHIFT 13, __STDCPP_DEFAULT_NEW_ALIGNMENT__ 16. */
static const uint64_t tcmalloc_classes[] = {
    8,      16,     32,     48,     64,     80,     96,     112,    128,    144,    160,
    176,    192,    208,    224,    240,    256,    272,    288,    304,    320,    336,
    352,    368,    384,    400,    416,    448,    480,    512,    576,    640,    704,
    768,    896,    1024,   1152,   1280,   1408,   1536,   1792,   2048,   2304,   2688,
    2816,   3200,   3456,   3584,   4096,   4736,   5376,   6144,   6528,   6784,   7168,
    8192,   9472,   10240,  12288,  13568,  14336,  16384,  20480,  24576,  28672,  32768,
    40960,  49152,  57344,  65536,  73728,  81920,  90112,  98304,  106496, 122880, 131072,
    139264, 155648, 163840, 180224, 204800, 221184, 237568, 262144,
};

#define NTCMALLOC (sizeof(tcmalloc_classes) / sizeof(tcmalloc_classes[0]))

static int reserve(mt_classes_t *c, size_t n)
{
    uint64_t *v = realloc(c->v, (n ? n : 1) * sizeof(*v));
    if (!v)
        return ENOMEM;
    c->v = v;
    return 0;
}

/* FIRST..., then groups of 4 classes per doubling: base + i * base / 4 for
 * bases from BASE up to the last group ending at LAST. */
static int four_per_doubling(mt_classes_t *c, const uint64_t *first, size_t nfirst,
                             uint64_t base, uint64_t last)
{
    size_t n = nfirst;
    for (uint64_t b = base; b < last; b *= 2)
        n += 4;
    if (reserve(c, n))
        return ENOMEM;
    memcpy(c->v, first, nfirst * sizeof(*first));
    c->n = nfirst;
    for (uint64_t b = base; b < last; b *= 2)
        for (uint64_t i = 1; i <= 4; i++)
            c->v[c->n++] = b + i * (b / 4);
    return 0;
}

static int builtin(int which, mt_classes_t *c)
{
    static const uint64_t je_first[] = {8, 16, 32, 48, 64};
    static const uint64_t mi_first[] = {8, 16, 24, 32, 40, 48, 56, 64};
    int rc = 0;
    switch (which) {
    case 0: /* jemalloc: groups from 64 (80..128) until the one ending at 2^47 */
        rc = four_per_doubling(c, je_first, 5, 64, (uint64_t)1 << 47);
        break;
    case 1: { /* glibc: usable sizes of chunks below the mmap threshold */
        size_t n = (131048 - 24) / 16 + 1;
        if ((rc = reserve(c, n)) == 0)
            for (c->n = 0; c->n < n; c->n++)
                c->v[c->n] = 24 + 16 * (uint64_t)c->n;
        break;
    }
    case 2:
        if ((rc = reserve(c, NTCMALLOC)) == 0) {
            memcpy(c->v, tcmalloc_classes, sizeof(tcmalloc_classes));
            c->n = NTCMALLOC;
        }
        break;
    default: /* mimalloc: word bins, 8 words (64 B) then 4 per doubling to 4 MiB */
        rc = four_per_doubling(c, mi_first, 8, 64, (uint64_t)4 << 20);
        break;
    }
    if (rc)
        return rc;
    snprintf(c->name, sizeof(c->name), "%s", mt_classes_builtin_names[which]);
    c->source = mt_classes_builtin_sources[which];
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int mt_classes_parse(const char *spec, mt_classes_t *c, const char **bad)
{
    memset(c, 0, sizeof(*c));
    for (int i = 0; mt_classes_builtin_names[i]; i++)
        if (strcmp(spec, mt_classes_builtin_names[i]) == 0)
            return builtin(i, c);
    size_t n = 1;
    for (const char *p = spec; *p; p++)
        n += *p == ',';
    if (reserve(c, n))
        return ENOMEM;
    char item[64];
    const char *p = spec;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        uint64_t v;
        if (len == 0 || len >= sizeof(item)) {
            if (bad)
                *bad = p;
            mt_classes_free(c);
            return MT_EINVAL;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (mt_size_parse(item, &v) != 0 || v == 0) {
            if (bad)
                *bad = p;
            mt_classes_free(c);
            return MT_EINVAL;
        }
        c->v[c->n++] = v;
        if (!end)
            break;
        p = end + 1;
    }
    qsort(c->v, c->n, sizeof(*c->v), cmp_u64);
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++)
        if (k == 0 || c->v[i] != c->v[k - 1])
            c->v[k++] = c->v[i];
    c->n = k;
    snprintf(c->name, sizeof(c->name), "custom");
    return 0;
}

int mt_classes_set(mt_classes_t *c, const uint64_t *v, size_t n, const char *name)
{
    memset(c, 0, sizeof(*c));
    if (reserve(c, n))
        return ENOMEM;
    memcpy(c->v, v, n * sizeof(*v));
    c->n = n;
    snprintf(c->name, sizeof(c->name), "%s", name);
    return 0;
}

void mt_classes_free(mt_classes_t *c)
{
    free(c->v);
    memset(c, 0, sizeof(*c));
}

size_t mt_classes_find(const mt_classes_t *c, uint64_t size)
{
    size_t lo = 0, hi = c->n; /* answer in [lo, hi] */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->v[mid] >= size)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* ---- histograms and waste ------------------------------------------------ */

int mt_sizes_push(mt_sizes_t *h, uint64_t size, mt_u128 w)
{
    if (h->n && h->size[h->n - 1] == size) {
        h->w[h->n - 1] += w;
        return 0;
    }
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 256;
        uint64_t *s = realloc(h->size, cap * sizeof(*s));
        if (!s)
            return ENOMEM;
        h->size = s;
        mt_u128 *nw = realloc(h->w, cap * sizeof(*nw));
        if (!nw)
            return ENOMEM;
        h->w = nw;
        h->cap = cap;
    }
    h->size[h->n] = size;
    h->w[h->n++] = w;
    return 0;
}

void mt_sizes_free(mt_sizes_t *h)
{
    free(h->size);
    free(h->w);
    memset(h, 0, sizeof(*h));
}

void mt_sizes_bucket(const mt_sizes_t *h, size_t *i, mt_bucket_t *b)
{
    uint64_t sz = h->size[*i];
    b->lo = sz ? (uint64_t)1 << (63 - __builtin_clzll(sz)) : 0;
    b->hi = sz ? b->lo + (b->lo - 1) : 0;
    b->w = b->bw = 0;
    for (; *i < h->n && h->size[*i] <= b->hi; ++*i) {
        b->w += h->w[*i];
        b->bw += (mt_u128)h->size[*i] * h->w[*i];
    }
}

void mt_waste_compute(const mt_classes_t *c, const mt_sizes_t *h, mt_waste_t *out)
{
    memset(out, 0, sizeof(*out));
    size_t k = 0; /* sizes ascend: the class index only moves up */
    for (size_t i = 0; i < h->n; i++) {
        uint64_t s = h->size[i];
        mt_u128 w = h->w[i];
        while (k < c->n && c->v[k] < s)
            k++;
        out->w += w;
        out->bw += (mt_u128)s * w;
        if (k == c->n) {
            out->over_w += w;
            out->over_bw += (mt_u128)s * w;
        } else {
            out->waste_bw += (mt_u128)(c->v[k] - s) * w;
        }
    }
}

void mt_class_use(const mt_classes_t *c, const mt_sizes_t *h, mt_class_use_t *u)
{
    memset(u, 0, c->n * sizeof(*u));
    size_t k = 0;
    for (size_t i = 0; i < h->n; i++) {
        uint64_t s = h->size[i];
        while (k < c->n && c->v[k] < s)
            k++;
        if (k == c->n)
            break;
        u[k].w += h->w[i];
        u[k].bw += (mt_u128)s * h->w[i];
        u[k].waste_bw += (mt_u128)(c->v[k] - s) * h->w[i];
    }
}

void mt_chunk_fit(const mt_classes_t *c, const mt_class_use_t *u, uint64_t chunk,
                  mt_chunk_fit_t *out)
{
    memset(out, 0, sizeof(*out));
    out->chunk = chunk;
    for (size_t k = 0; k < c->n; k++) {
        if (!u[k].w)
            continue;
        uint64_t objs = chunk / c->v[k];
        if (objs == 0) {
            out->unfit_w += u[k].w;
            out->unfit_bw += u[k].bw;
            continue;
        }
        uint64_t tail = chunk - objs * c->v[k];
        out->round_bw += u[k].waste_bw;
        out->tail_b += (double)u[k].w / MT_WEIGHT_ONE * (double)tail / (double)objs;
    }
}

double mt_chunk_fit_total(const mt_chunk_fit_t *f)
{
    return (double)f->round_bw / MT_WEIGHT_ONE + f->tail_b;
}

static bool better(const mt_chunk_fit_t *a, const mt_chunk_fit_t *b)
{
    if (a->unfit_w != b->unfit_w)
        return a->unfit_w < b->unfit_w;
    double x = mt_chunk_fit_total(a), y = mt_chunk_fit_total(b);
    if (x != y)
        return x < y;
    return a->chunk < b->chunk;
}

uint64_t mt_chunk_best(const mt_classes_t *c, const mt_class_use_t *u, uint64_t min,
                       uint64_t max, uint64_t step, mt_chunk_fit_t *best)
{
    /* Only the classes with requests matter: fit those alone. */
    mt_classes_t used = {0};
    mt_class_use_t *uu = malloc((c->n ? c->n : 1) * sizeof(*uu));
    uint64_t *v = malloc((c->n ? c->n : 1) * sizeof(*v));
    if (!uu || !v) { /* fall back to the full table */
        free(uu);
        free(v);
        uu = NULL;
        v = NULL;
    } else {
        for (size_t k = 0; k < c->n; k++)
            if (u[k].w) {
                v[used.n] = c->v[k];
                uu[used.n++] = u[k];
            }
        used.v = v;
    }
    const mt_classes_t *cc = v ? &used : c;
    const mt_class_use_t *cu = v ? uu : u;
    uint64_t tried = 0;
    mt_chunk_fit_t f;
    mt_chunk_fit(cc, cu, min, best);
    tried++;
    uint64_t first = step ? (min / step + 1) * step : max;
    for (uint64_t s = first; step && s < max; s += step) {
        mt_chunk_fit(cc, cu, s, &f);
        tried++;
        if (better(&f, best))
            *best = f;
    }
    if (max != min) {
        mt_chunk_fit(cc, cu, max, &f);
        tried++;
        if (better(&f, best))
            *best = f;
    }
    free(uu);
    free(v);
    return tried;
}
