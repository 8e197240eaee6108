/* cmd-fit.c - `mtrace-analyze fit`: do the requested sizes fit the size
 * classes, and a pool's chunks?
 *
 * Replays the traces (the malloc heap, or one pool's annotated requests),
 * collecting weight per (stack, size) through replay's event hook. From that:
 * the exact size histogram, the rounding waste under a class table
 * (sizeclass.c), the optimal K classes (optimize.c), the waste of carving
 * pool chunks into those classes, and the stacks that waste the most.
 * Sampled traces give estimates (sums of sample weights); MTRACE_SAMPLE=all
 * gives exact numbers.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builtin.h"
#include "fit.h"
#define MTRACE_NO_ANNOTATIONS /* the pool constants and mt_pool_id only */
#include "mtrace/mtrace.h"

#define CHUNK_STEP 4096u           /* --chunk MIN..MAX tries multiples of this */
#define MAX_CHUNK_CANDIDATES (1u << 20)
#define MAX_OPTIMIZE_K 4096

static const char usage[] =
    "usage: mtrace-analyze fit [options] TRACE...\n"
    "\n"
    "How well the requested sizes fit a set of size classes: the exact size\n"
    "histogram, the bytes lost rounding each request up to the smallest class\n"
    "that holds it (internal fragmentation), the K classes that would lose the\n"
    "least, and for a pool that carves fixed-size chunks into objects of one\n"
    "class each, what the chunk size adds. Requests above the largest class\n"
    "are counted apart as oversize and not rounded. With sampling (the\n"
    "default) counts and bytes are estimates from the sample weights; with\n"
    "MTRACE_SAMPLE=all they are exact.\n"
    "\n"
    "Options:\n"
    "  -c, --classes SPEC     the classes in use: jemalloc (default), glibc,\n"
    "                         tcmalloc, mimalloc, or a comma-separated list of\n"
    "                         sizes in bytes, K and M allowed (16,32,48,1K)\n"
    "  -k, --optimize K       also find the K classes with the least rounding\n"
    "                         waste for these requests, the largest being the\n"
    "                         largest request (exact; dynamic programming)\n"
    "      --chunk SIZE       pool chunk fit: objects per chunk, tail waste per\n"
    "                         chunk and total waste when chunks of SIZE bytes\n"
    "                         are carved into objects of each class\n"
    "      --chunk MIN..MAX   the same for the best chunk size among MIN, MAX\n"
    "                         and every multiple of 4 KiB between them\n"
    "      --pool NAME        fit the requests of pool NAME (the annotation API,\n"
    "                         mtrace/mtrace.h; NAME or a numeric pool id), or\n"
    "                         of every pool with 'all', instead of malloc's\n"
    "      --by-stack         list the stacks that waste the most under the\n"
    "                         classes in use\n"
    "  -m, --match REGEX      keep only stacks with a frame whose function, file\n"
    "                         or module matches REGEX (POSIX extended)\n"
    "  -n, --top N            show N sizes and N stacks (default 10; 0 = all)\n"
    "  -d, --depth D          frames per stack with --by-stack (default 8)\n"
    "      --json[=pretty|compact]  print JSON. Keys: requested_bytes,\n"
    "                         waste_bytes (under the classes in use),\n"
    "                         waste_percent, allocations, oversize_count,\n"
    "                         oversize_bytes, estimated, sample_interval,\n"
    "                         complete, pool, pool_id, classes_name, classes\n"
    "                         [...], sizes [{size, count, bytes, class, waste}]\n"
    "                         (every distinct size, ascending; class null when\n"
    "                         oversize), top_sizes [{size, count, bytes}],\n"
    "                         buckets [{min, max, count, bytes}], pools [{id,\n"
    "                         name, count, bytes}], optimal {k, classes [...],\n"
    "                         waste_bytes, waste_percent, chunk} with --optimize,\n"
    "                         chunk {size, classes [{class, objects, tail_bytes,\n"
    "                         count}], rounding_waste_bytes, tail_waste_bytes,\n"
    "                         waste_bytes, unfit_count, unfit_bytes} with\n"
    "                         --chunk, chunk_search {min, max, step,\n"
    "                         candidates} with a range, stacks [{waste_bytes,\n"
    "                         bytes, count, oversize_count, frames}] with\n"
    "                         --by-stack, traces [...]\n"
    "  -h, --help             show this help\n"
    "\n"
    "Built-in class tables:\n";

typedef struct fit_opts {
    const char *classes_spec;
    mt_classes_t classes;
    long k;
    bool chunk, chunk_range;
    uint64_t chunk_min, chunk_max;
    const char *pool_arg;
    bool by_stack;
    bool has_match;
    regex_t match;
    long top, depth;
    int json; /* -1 text */
    mt_replay_options_t ro;
} fit_opts_t;

/* ---- collection: weight per (stack, size), pool names ------------------- */

typedef struct pair {
    uint64_t size;
    uint32_t stack; /* index in rp->stacks */
    mt_u128 w;
} pair_t;

typedef struct pool_seen {
    uint64_t id;
    char name[MT_POOL_NAME_MAX + 1];
    mt_u128 w, bw;
} pool_seen_t;

typedef struct collect {
    int64_t pool;
    pair_t *pairs;
    size_t npairs, cap;
    uint32_t *slots; /* pair index + 1, 0 = empty */
    unsigned bits;
    pool_seen_t *pools;
    size_t npools;
} collect_t;

static size_t pair_home(const collect_t *c, uint64_t size, uint32_t stack)
{
    uint64_t h = (size * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)stack * 0xC2B2AE3D27D4EB4Full);
    h ^= h >> 31;
    h *= 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> (64 - c->bits));
}

static int pair_grow(collect_t *c)
{
    unsigned bits = c->bits ? c->bits + 1 : 10;
    uint32_t *slots = calloc((size_t)1 << bits, sizeof(*slots));
    if (!slots)
        return ENOMEM;
    free(c->slots);
    c->slots = slots;
    c->bits = bits;
    size_t mask = ((size_t)1 << bits) - 1;
    for (size_t i = 0; i < c->npairs; i++) {
        size_t j = pair_home(c, c->pairs[i].size, c->pairs[i].stack);
        while (c->slots[j])
            j = (j + 1) & mask;
        c->slots[j] = (uint32_t)i + 1;
    }
    return 0;
}

static int pair_add(collect_t *c, uint32_t stack, uint64_t size, uint64_t w)
{
    if ((!c->bits || (c->npairs + 1) * 4 > ((size_t)3 << c->bits)) && pair_grow(c))
        return ENOMEM;
    size_t mask = ((size_t)1 << c->bits) - 1, j = pair_home(c, size, stack);
    for (; c->slots[j]; j = (j + 1) & mask) {
        pair_t *p = &c->pairs[c->slots[j] - 1];
        if (p->size == size && p->stack == stack) {
            p->w += w;
            return 0;
        }
    }
    if (c->npairs >= UINT32_MAX - 1)
        return ENOMEM;
    if (c->npairs == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 1024;
        pair_t *g = realloc(c->pairs, cap * sizeof(*g));
        if (!g)
            return ENOMEM;
        c->pairs = g;
        c->cap = cap;
    }
    c->pairs[c->npairs] = (pair_t){size, stack, w};
    c->slots[j] = (uint32_t)++c->npairs;
    return 0;
}

static pool_seen_t *pool_entry(collect_t *c, uint64_t id)
{
    for (size_t i = 0; i < c->npools; i++)
        if (c->pools[i].id == id)
            return &c->pools[i];
    pool_seen_t *g = realloc(c->pools, (c->npools + 1) * sizeof(*g));
    if (!g)
        return NULL;
    c->pools = g;
    memset(&g[c->npools], 0, sizeof(*g));
    g[c->npools].id = id;
    return &g[c->npools++];
}

/* Replay's event hook: runs after replay's own bookkeeping of E. */
static int on_event(void *ctx, mt_replay_t *rp, uint32_t trace, uint32_t thread,
                    const mt_event_t *e)
{
    (void)thread;
    collect_t *c = ctx;
    if (e->type == MT_EV_POOL_ALLOC) {
        pool_seen_t *ps = pool_entry(c, e->arg[1]);
        if (!ps)
            return ENOMEM;
        if (e->kind >= MT_POOL_KIND_NAME) {
            unsigned chunk = e->kind - MT_POOL_KIND_NAME;
            if ((chunk + 1) * MT_POOL_NAME_CHUNK > MT_POOL_NAME_MAX)
                return 0;
            uint64_t words[3] = {e->ptr, e->size, mt_event_weight(e)};
            unsigned char *p = (unsigned char *)ps->name + chunk * MT_POOL_NAME_CHUNK;
            for (int i = 0; i < MT_POOL_NAME_CHUNK; i++)
                p[i] = (unsigned char)(words[i / 8] >> (8 * (i % 8)));
            return 0;
        }
        ps->w += mt_event_weight(e);
        ps->bw += (mt_u128)e->size * mt_event_weight(e);
    }
    bool counted;
    if (c->pool == MT_POOL_NONE)
        counted = e->type == MT_EV_ALLOC;
    else
        counted = e->type == MT_EV_POOL_ALLOC &&
                  (c->pool == MT_POOL_ALL || e->arg[1] == (uint64_t)c->pool);
    if (!counted || (rp->opt.min_size && e->size < rp->opt.min_size) ||
        (rp->opt.max_size && e->size > rp->opt.max_size))
        return 0;
    uint32_t si = mt_replay_stack_index(rp, trace, e->stack);
    if (si == UINT32_MAX)
        return ENOMEM;
    return pair_add(c, si, e->size, mt_event_weight(e));
}

static void collect_free(collect_t *c)
{
    free(c->pairs);
    free(c->slots);
    free(c->pools);
    memset(c, 0, sizeof(*c));
}

static const char *pool_name(const collect_t *c, uint64_t id)
{
    for (size_t i = 0; i < c->npools; i++)
        if (c->pools[i].id == id && c->pools[i].name[0])
            return c->pools[i].name;
    return NULL;
}

/* ---- the analysis ---------------------------------------------------------- */

typedef struct row_waste {
    mt_u128 w, bw, waste_bw, over_w;
} row_waste_t;

typedef struct fit {
    mt_sizes_t h;
    mt_waste_t waste;
    size_t *by_count;     /* indices of h, most requested first */
    bool has_opt;
    mt_classes_t opt;
    mt_u128 opt_waste_bw;
    mt_class_use_t *use, *opt_use;
    mt_chunk_fit_t chunk, opt_chunk;
    uint64_t candidates;
    mt_report_t rep;
    bool has_rep;
    size_t nrows;         /* rows shown with --by-stack */
    mt_u128 rows_waste_bw;
} fit_t;

static int cmp_pair_size(const void *a, const void *b)
{
    const pair_t *x = a, *y = b;
    return x->size < y->size ? -1 : x->size > y->size;
}

static const mt_sizes_t *sort_h;

static int cmp_by_count(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    if (sort_h->w[x] != sort_h->w[y])
        return sort_h->w[x] > sort_h->w[y] ? -1 : 1;
    return x < y ? -1 : x > y;
}

static int by_waste(const mt_row_t *a, const mt_row_t *b)
{
    const row_waste_t *x = a->extra, *y = b->extra;
    if (x->waste_bw != y->waste_bw)
        return x->waste_bw > y->waste_bw ? -1 : 1;
    return x->bw > y->bw ? -1 : x->bw < y->bw;
}

static bool keep_allocating(const mt_stack_stats_t *st)
{
    return st->alloc_w > 0;
}

static bool row_matches(mt_report_t *rep, mt_row_t *r, const regex_t *re)
{
    if (mt_report_frames(rep, r))
        return false;
    for (size_t f = 0; f < r->nframes; f++) {
        const mt_frame_t *fr = &r->frames[f];
        if ((fr->function && !regexec(re, fr->function, 0, NULL, 0)) ||
            (fr->file && !regexec(re, fr->file, 0, NULL, 0)) ||
            (fr->module && !regexec(re, fr->module, 0, NULL, 0)))
            return true;
    }
    return false;
}

static void fit_free(fit_t *f)
{
    mt_sizes_free(&f->h);
    free(f->by_count);
    mt_classes_free(&f->opt);
    free(f->use);
    free(f->opt_use);
    if (f->has_rep)
        mt_report_free(&f->rep);
}

static int chunk_for(const fit_opts_t *o, const mt_classes_t *c, const mt_sizes_t *h,
                     mt_class_use_t **use, mt_chunk_fit_t *out, uint64_t *candidates)
{
    if (!(*use = malloc((c->n ? c->n : 1) * sizeof(**use))))
        return ENOMEM;
    mt_class_use(c, h, *use);
    if (o->chunk_range)
        *candidates = mt_chunk_best(c, *use, o->chunk_min, o->chunk_max, CHUNK_STEP, out);
    else
        mt_chunk_fit(c, *use, o->chunk_min, out);
    return 0;
}

static int analyse(const fit_opts_t *o, mt_session_t *s, collect_t *col, fit_t *f)
{
    memset(f, 0, sizeof(*f));
    mt_replay_t *rp = &s->rp;
    bool *keep_row = NULL;
    int err = 0;
    if (o->by_stack || o->has_match) {
        if ((err = mt_report_build(&f->rep, rp, s->sym, false, keep_allocating)) != 0)
            return mt_replay_error(rp, err);
        f->has_rep = true;
        for (size_t i = 0; i < f->rep.nrows; i++)
            if (!(f->rep.rows[i].extra = calloc(1, sizeof(row_waste_t))))
                return mt_error("fit: out of memory");
        if (o->has_match) {
            if (!(keep_row = calloc(f->rep.nrows + 1, sizeof(*keep_row))))
                return mt_error("fit: out of memory");
            for (size_t i = 0; i < f->rep.nrows; i++)
                keep_row[i] = row_matches(&f->rep, &f->rep.rows[i], &o->match);
        }
    }
    /* The histogram: weight per size over the kept stacks. */
    size_t k = 0;
    for (size_t i = 0; i < col->npairs; i++) {
        uint32_t row = f->has_rep ? f->rep.row_of_stack[col->pairs[i].stack] : UINT32_MAX;
        if (keep_row && (row == UINT32_MAX || !keep_row[row]))
            continue;
        col->pairs[k++] = col->pairs[i];
    }
    col->npairs = k;
    pair_t *sorted = malloc((k ? k : 1) * sizeof(*sorted));
    if (!sorted) {
        free(keep_row);
        return mt_error("fit: out of memory");
    }
    if (k) {
        memcpy(sorted, col->pairs, k * sizeof(*sorted));
        qsort(sorted, k, sizeof(*sorted), cmp_pair_size);
    }
    for (size_t i = 0; i < k && !err; i++)
        err = mt_sizes_push(&f->h, sorted[i].size, sorted[i].w);
    free(sorted);
    if (err || !(f->by_count = malloc((f->h.n ? f->h.n : 1) * sizeof(*f->by_count)))) {
        free(keep_row);
        return mt_error("fit: out of memory");
    }
    for (size_t i = 0; i < f->h.n; i++)
        f->by_count[i] = i;
    sort_h = &f->h;
    qsort(f->by_count, f->h.n, sizeof(*f->by_count), cmp_by_count);

    mt_waste_compute(&o->classes, &f->h, &f->waste);

    if (o->k && f->h.n) {
        size_t kk = (size_t)o->k < f->h.n ? (size_t)o->k : f->h.n, n = 0;
        uint64_t *v = malloc(kk * sizeof(*v));
        if (!v || mt_optimize(f->h.size, f->h.w, f->h.n, kk, v, &n, &f->opt_waste_bw) ||
            mt_classes_set(&f->opt, v, n, "optimal")) {
            free(v);
            free(keep_row);
            return mt_error("fit: out of memory finding the optimal classes "
                            "(%zu distinct sizes, K=%zu); try a smaller --optimize",
                            f->h.n, kk);
        }
        free(v);
        f->has_opt = true;
    }
    if (o->chunk) {
        if (chunk_for(o, &o->classes, &f->h, &f->use, &f->chunk, &f->candidates) ||
            (f->has_opt &&
             chunk_for(o, &f->opt, &f->h, &f->opt_use, &f->opt_chunk, &f->candidates))) {
            free(keep_row);
            return mt_error("fit: out of memory");
        }
    }
    /* Waste per stack under the classes in use. */
    if (o->by_stack) {
        for (size_t i = 0; i < col->npairs; i++) {
            const pair_t *p = &col->pairs[i];
            uint32_t row = f->rep.row_of_stack[p->stack];
            if (row == UINT32_MAX)
                continue;
            row_waste_t *rw = f->rep.rows[row].extra;
            size_t c = mt_classes_find(&o->classes, p->size);
            rw->w += p->w;
            rw->bw += (mt_u128)p->size * p->w;
            if (c == o->classes.n)
                rw->over_w += p->w;
            else
                rw->waste_bw += (mt_u128)(o->classes.v[c] - p->size) * p->w;
        }
        /* Drop the rows --match did not keep, then rank. */
        size_t kept = 0;
        for (size_t i = 0; i < f->rep.nrows; i++) {
            mt_row_t *r = &f->rep.rows[i];
            if ((keep_row && !keep_row[i]) || !((row_waste_t *)r->extra)->w) {
                free(r->key);
                free(r->frames);
                free(r->agg.growth);
                free(r->extra);
                continue;
            }
            f->rep.rows[kept++] = *r;
        }
        f->rep.nrows = kept;
        mt_report_sort(&f->rep, by_waste);
        f->nrows = o->top > 0 && (size_t)o->top < kept ? (size_t)o->top : kept;
        for (size_t i = 0; i < kept; i++)
            f->rows_waste_bw += ((row_waste_t *)f->rep.rows[i].extra)->waste_bw;
        for (size_t i = 0; i < f->nrows; i++)
            if (mt_report_frames(&f->rep, &f->rep.rows[i])) {
                free(keep_row);
                return mt_error("fit: out of memory symbolizing");
            }
    }
    free(keep_row);
    return MT_EXIT_OK;
}

/* ---- output ---------------------------------------------------------------- */

static uint64_t objs(mt_u128 w)
{
    return mt_bw_bytes(w); /* w / MT_WEIGHT_ONE, rounded */
}

static uint64_t tail_bytes(double b)
{
    return b <= 0 ? 0 : b >= 1.8e19 ? UINT64_MAX : (uint64_t)llround(b);
}

static double percent(double part, double whole)
{
    return whole > 0 ? 100.0 * part / whole : 0.0;
}

static const char *what(const fit_opts_t *o, const collect_t *col, char *buf, size_t cap)
{
    if (o->ro.pool == MT_POOL_NONE)
        snprintf(buf, cap, "malloc");
    else if (o->ro.pool == MT_POOL_ALL)
        snprintf(buf, cap, "every pool");
    else {
        const char *name = pool_name(col, (uint64_t)o->ro.pool);
        char p[MT_POOL_NAME_MAX + 1];
        if (name)
            snprintf(buf, cap, "pool %s", mt_printable(p, sizeof(p), name));
        else
            snprintf(buf, cap, "pool %s", mt_printable(p, sizeof(p), o->pool_arg));
    }
    return buf;
}

static void print_classes_line(const mt_classes_t *c)
{
    char a[MT_FMT_MAX], b[MT_FMT_MAX];
    if (c->n == 0)
        return;
    if (c->source) {
        printf("classes: %s, %zu classes from %s to %s\n", c->name, c->n,
               mt_fmt_bytes(a, c->v[0]), mt_fmt_bytes(b, c->v[c->n - 1]));
        return;
    }
    printf("classes: %zu (", c->n);
    for (size_t i = 0; i < c->n; i++)
        printf("%s%" PRIu64, i ? ", " : "", c->v[i]);
    printf(")\n");
}

static void print_class_list(const mt_classes_t *c)
{
    printf("   ");
    for (size_t i = 0; i < c->n; i++)
        printf(" %" PRIu64 "%s", c->v[i], i + 1 < c->n ? "," : "\n");
}

static void print_chunk_text(const fit_opts_t *o, const fit_t *f, const mt_classes_t *c,
                             const mt_class_use_t *use, const mt_chunk_fit_t *ch,
                             uint64_t requested)
{
    char a[MT_FMT_MAX], b[MT_FMT_MAX], d[MT_FMT_MAX], e[MT_FMT_MAX];
    if (o->chunk_range)
        printf("  best chunk size in %s..%s: %s (tried %s sizes: both ends and every "
               "multiple of 4 KiB between)\n",
               mt_fmt_bytes(a, o->chunk_min), mt_fmt_bytes(b, o->chunk_max),
               mt_fmt_bytes(d, ch->chunk), mt_fmt_count(e, f->candidates));
    printf("  %12s %12s %12s %12s\n", "class", "objects", "tail/chunk", "requests");
    for (size_t k = 0; k < c->n; k++) {
        if (!use[k].w)
            continue;
        uint64_t n = ch->chunk / c->v[k];
        if (n)
            printf("  %12" PRIu64 " %12" PRIu64 " %12s %12s\n", c->v[k], n,
                   mt_fmt_bytes(a, ch->chunk - n * c->v[k]), mt_fmt_count(b, objs(use[k].w)));
        else
            printf("  %12" PRIu64 " %12s %12s %12s\n", c->v[k], "too big", "-",
                   mt_fmt_count(b, objs(use[k].w)));
    }
    double total = mt_chunk_fit_total(ch);
    printf("  waste with %s chunks: %s rounding + %s tail share = %s (%.1f%% of requested)\n",
           mt_fmt_bytes(a, ch->chunk), mt_fmt_bytes(b, objs(ch->round_bw)),
           mt_fmt_bytes(d, tail_bytes(ch->tail_b)), mt_fmt_bytes(e, tail_bytes(total)),
           percent(total, (double)requested));
    if (ch->unfit_w)
        printf("  %s request(s) (%s) have a class larger than the chunk: not counted\n",
               mt_fmt_count(a, objs(ch->unfit_w)), mt_fmt_bytes(b, objs(ch->unfit_bw)));
}

static void print_text(const fit_opts_t *o, mt_session_t *s, const collect_t *col, fit_t *f)
{
    const mt_replay_t *rp = &s->rp;
    char a[MT_FMT_MAX], b[MT_FMT_MAX], c[MT_FMT_MAX], d[MT_FMT_MAX], w[MT_POOL_NAME_MAX + 16];
    uint64_t interval = 0;
    for (size_t i = 0; i < rp->ntraces; i++)
        if (rp->traces[i].info.sample_interval > interval)
            interval = rp->traces[i].info.sample_interval;
    uint64_t requested = objs(f->waste.bw), count = objs(f->waste.w);

    printf("%s%s: %s requests, %s requested", what(o, col, w, sizeof(w)),
           o->has_match ? " (matching)" : "", mt_fmt_count(a, count),
           mt_fmt_bytes(b, requested));
    if (rp->sampled)
        printf(" (sampled every %s: counts and bytes are estimates from sample weights)\n",
               mt_fmt_bytes(c, interval));
    else
        printf(" (every call recorded; exact)\n");
    if (rp->ntraces > 1)
        printf("%zu traces merged\n", rp->ntraces);
    if (!f->h.n) {
        printf("\n(no requests%s", o->has_match ? " match" : "");
        if (o->ro.pool != MT_POOL_NONE && col->npools) {
            printf("; pools in the trace:");
            for (size_t i = 0; i < col->npools; i++)
                printf(" %s", col->pools[i].name[0]
                                  ? mt_printable(w, sizeof(w), col->pools[i].name)
                                  : "(unnamed)");
        }
        printf(")\n");
        return;
    }
    print_classes_line(&o->classes);
    uint64_t waste = objs(f->waste.waste_bw);
    printf("rounding waste %s (%s of requested)\n", mt_fmt_bytes(a, waste),
           mt_fmt_percent(b, waste, requested));
    if (f->waste.over_w)
        printf("oversize (above the largest class, not rounded): %s request(s), %s\n",
               mt_fmt_count(a, objs(f->waste.over_w)), mt_fmt_bytes(b, objs(f->waste.over_bw)));

    size_t ntop = o->top > 0 && (size_t)o->top < f->h.n ? (size_t)o->top : f->h.n;
    printf("\n%zu distinct sizes; the %zu most requested:\n", f->h.n, ntop);
    printf("  %12s %12s %7s %12s %12s %12s\n", "size", "count", "", "bytes", "class", "waste");
    for (size_t i = 0; i < ntop; i++) {
        size_t j = f->by_count[i];
        uint64_t sz = f->h.size[j], n = objs(f->h.w[j]);
        size_t k = mt_classes_find(&o->classes, sz);
        char cls[32];
        if (k < o->classes.n)
            snprintf(cls, sizeof(cls), "%" PRIu64, o->classes.v[k]);
        else
            snprintf(cls, sizeof(cls), "oversize");
        printf("  %12" PRIu64 " %12s %7s %12s %12s %12s\n", sz, mt_fmt_count(a, n),
               mt_fmt_percent(b, n, count), mt_fmt_bytes(c, objs((mt_u128)sz * f->h.w[j])), cls,
               k < o->classes.n ? mt_fmt_bytes(d, objs((mt_u128)(o->classes.v[k] - sz) *
                                                       f->h.w[j]))
                                : "-");
    }
    printf("\nby power of two:\n  %23s %12s %12s\n", "sizes", "count", "bytes");
    for (size_t i = 0; i < f->h.n;) {
        uint64_t sz = f->h.size[i];
        uint64_t lo = sz ? (uint64_t)1 << (63 - __builtin_clzll(sz)) : 0;
        uint64_t hi = sz ? lo + (lo - 1) : 0;
        mt_u128 bw = 0, bwb = 0;
        for (; i < f->h.n && f->h.size[i] <= hi; i++) {
            bw += f->h.w[i];
            bwb += (mt_u128)f->h.size[i] * f->h.w[i];
        }
        char range[48];
        snprintf(range, sizeof(range), "%" PRIu64 "..%" PRIu64, lo, hi);
        printf("  %23s %12s %12s\n", range, mt_fmt_count(a, objs(bw)),
               mt_fmt_bytes(b, objs(bwb)));
    }
    if (f->has_opt) {
        uint64_t ow = objs(f->opt_waste_bw);
        printf("\noptimal %zu classes for these requests (exact, over %zu distinct sizes):\n",
               f->opt.n, f->h.n);
        print_class_list(&f->opt);
        printf("  rounding waste %s (%s) instead of %s (%s) with %s", mt_fmt_bytes(a, ow),
               mt_fmt_percent(b, ow, requested), mt_fmt_bytes(c, waste),
               mt_fmt_percent(d, waste, requested),
               o->classes.source ? o->classes.name : "the classes in use");
        if (f->waste.over_w)
            printf(" (which leave %s request(s) oversize)",
                   mt_fmt_count(a, objs(f->waste.over_w)));
        printf("\n");
    }
    if (o->chunk) {
        printf("\npool chunks, classes in use:\n");
        print_chunk_text(o, f, &o->classes, f->use, &f->chunk, requested);
        if (f->has_opt) {
            printf("\npool chunks, optimal %zu classes:\n", f->opt.n);
            print_chunk_text(o, f, &f->opt, f->opt_use, &f->opt_chunk, requested);
        }
    }
    if (o->by_stack) {
        printf("\nstacks by rounding waste under the classes in use:\n");
        size_t depth = o->depth > 0 ? (size_t)o->depth : 8;
        for (size_t i = 0; i < f->nrows; i++) {
            const mt_row_t *r = &f->rep.rows[i];
            const row_waste_t *rw = r->extra;
            uint64_t ww = objs(rw->waste_bw);
            uint64_t calls = objs(rw->w);
            printf("\n#%-3zu %s wasted (%s of all waste) on %s requested in %s call%s", i + 1,
                   mt_fmt_bytes(a, ww), mt_fmt_percent(b, ww, objs(f->rows_waste_bw)),
                   mt_fmt_bytes(c, objs(rw->bw)), mt_fmt_count(d, calls), calls == 1 ? "" : "s");
            if (rw->over_w)
                printf(", %s oversize", mt_fmt_count(a, objs(rw->over_w)));
            if (r->agg.min_size == r->agg.max_size)
                printf(", size %" PRIu64 "\n", r->agg.min_size);
            else
                printf(", sizes %" PRIu64 "..%" PRIu64 "\n", r->agg.min_size, r->agg.max_size);
            mt_report_print_frames(r, depth);
        }
        if (f->nrows < f->rep.nrows)
            printf("\n... %s more stacks (-n 0 shows all)\n",
                   mt_fmt_count(a, f->rep.nrows - f->nrows));
    }
}

static void json_classes(mt_json_t *j, const char *key, const mt_classes_t *c)
{
    mt_json_key(j, key);
    mt_json_begin_array(j);
    for (size_t i = 0; i < c->n; i++)
        mt_json_u64(j, c->v[i]);
    mt_json_end_array(j);
}

static void json_chunk(mt_json_t *j, const mt_classes_t *c, const mt_class_use_t *use,
                       const mt_chunk_fit_t *ch)
{
    mt_json_key(j, "chunk");
    mt_json_begin_object(j);
    mt_json_kv_u64(j, "size", ch->chunk);
    mt_json_key(j, "classes");
    mt_json_begin_array(j);
    for (size_t k = 0; k < c->n; k++) {
        if (!use[k].w)
            continue;
        uint64_t n = ch->chunk / c->v[k];
        mt_json_begin_object(j);
        mt_json_kv_u64(j, "class", c->v[k]);
        mt_json_kv_u64(j, "objects", n);
        mt_json_kv_u64(j, "tail_bytes", n ? ch->chunk - n * c->v[k] : ch->chunk);
        mt_json_kv_u64(j, "count", objs(use[k].w));
        mt_json_end_object(j);
    }
    mt_json_end_array(j);
    mt_json_kv_u64(j, "rounding_waste_bytes", objs(ch->round_bw));
    mt_json_kv_u64(j, "tail_waste_bytes", tail_bytes(ch->tail_b));
    mt_json_kv_u64(j, "waste_bytes", tail_bytes(mt_chunk_fit_total(ch)));
    mt_json_kv_u64(j, "unfit_count", objs(ch->unfit_w));
    mt_json_kv_u64(j, "unfit_bytes", objs(ch->unfit_bw));
    mt_json_end_object(j);
}

static void print_json(const fit_opts_t *o, mt_session_t *s, const collect_t *col, fit_t *f)
{
    const mt_replay_t *rp = &s->rp;
    mt_json_t j;
    mt_json_init(&j, stdout, o->json);
    mt_json_begin_object(&j);
    uint64_t requested = objs(f->waste.bw), waste = objs(f->waste.waste_bw);
    mt_json_kv_u64(&j, "requested_bytes", requested);
    mt_json_kv_u64(&j, "waste_bytes", waste);
    mt_json_kv_double(&j, "waste_percent", percent((double)waste, (double)requested));
    mt_json_kv_u64(&j, "allocations", objs(f->waste.w));
    mt_json_kv_u64(&j, "oversize_count", objs(f->waste.over_w));
    mt_json_kv_u64(&j, "oversize_bytes", objs(f->waste.over_bw));
    mt_report_json_traces(&j, rp);
    mt_json_key(&j, "pool");
    if (o->ro.pool == MT_POOL_NONE) {
        mt_json_null(&j);
    } else if (o->ro.pool == MT_POOL_ALL) {
        mt_json_string(&j, "all");
    } else {
        const char *name = pool_name(col, (uint64_t)o->ro.pool);
        mt_json_string(&j, name ? name : o->pool_arg);
        mt_json_kv_u64(&j, "pool_id", (uint64_t)o->ro.pool);
    }
    mt_json_kv_string(&j, "classes_name", o->classes.name);
    json_classes(&j, "classes", &o->classes);
    mt_json_key(&j, "sizes");
    mt_json_begin_array(&j);
    for (size_t i = 0; i < f->h.n; i++) {
        uint64_t sz = f->h.size[i];
        size_t k = mt_classes_find(&o->classes, sz);
        mt_json_begin_object(&j);
        mt_json_kv_u64(&j, "size", sz);
        mt_json_kv_u64(&j, "count", objs(f->h.w[i]));
        mt_json_kv_u64(&j, "bytes", objs((mt_u128)sz * f->h.w[i]));
        mt_json_key(&j, "class");
        if (k < o->classes.n) {
            mt_json_u64(&j, o->classes.v[k]);
            mt_json_kv_u64(&j, "waste", objs((mt_u128)(o->classes.v[k] - sz) * f->h.w[i]));
        } else {
            mt_json_null(&j);
            mt_json_kv_u64(&j, "waste", 0);
        }
        mt_json_end_object(&j);
    }
    mt_json_end_array(&j);
    size_t ntop = o->top > 0 && (size_t)o->top < f->h.n ? (size_t)o->top : f->h.n;
    mt_json_key(&j, "top_sizes");
    mt_json_begin_array(&j);
    for (size_t i = 0; i < ntop; i++) {
        size_t x = f->by_count[i];
        mt_json_begin_object(&j);
        mt_json_kv_u64(&j, "size", f->h.size[x]);
        mt_json_kv_u64(&j, "count", objs(f->h.w[x]));
        mt_json_kv_u64(&j, "bytes", objs((mt_u128)f->h.size[x] * f->h.w[x]));
        mt_json_end_object(&j);
    }
    mt_json_end_array(&j);
    mt_json_key(&j, "buckets");
    mt_json_begin_array(&j);
    for (size_t i = 0; i < f->h.n;) {
        uint64_t sz = f->h.size[i];
        uint64_t lo = sz ? (uint64_t)1 << (63 - __builtin_clzll(sz)) : 0;
        uint64_t hi = sz ? lo + (lo - 1) : 0;
        mt_u128 w = 0, bw = 0;
        for (; i < f->h.n && f->h.size[i] <= hi; i++) {
            w += f->h.w[i];
            bw += (mt_u128)f->h.size[i] * f->h.w[i];
        }
        mt_json_begin_object(&j);
        mt_json_kv_u64(&j, "min", lo);
        mt_json_kv_u64(&j, "max", hi);
        mt_json_kv_u64(&j, "count", objs(w));
        mt_json_kv_u64(&j, "bytes", objs(bw));
        mt_json_end_object(&j);
    }
    mt_json_end_array(&j);
    mt_json_key(&j, "pools");
    mt_json_begin_array(&j);
    for (size_t i = 0; i < col->npools; i++) {
        mt_json_begin_object(&j);
        mt_json_kv_u64(&j, "id", col->pools[i].id);
        mt_json_key(&j, "name");
        col->pools[i].name[0] ? mt_json_string(&j, col->pools[i].name) : mt_json_null(&j);
        mt_json_kv_u64(&j, "count", objs(col->pools[i].w));
        mt_json_kv_u64(&j, "bytes", objs(col->pools[i].bw));
        mt_json_end_object(&j);
    }
    mt_json_end_array(&j);
    if (f->has_opt) {
        mt_json_key(&j, "optimal");
        mt_json_begin_object(&j);
        mt_json_kv_u64(&j, "k", f->opt.n);
        json_classes(&j, "classes", &f->opt);
        mt_json_kv_u64(&j, "waste_bytes", objs(f->opt_waste_bw));
        mt_json_kv_double(&j, "waste_percent",
                          percent((double)objs(f->opt_waste_bw), (double)requested));
        if (o->chunk)
            json_chunk(&j, &f->opt, f->opt_use, &f->opt_chunk);
        mt_json_end_object(&j);
    }
    if (o->chunk) {
        json_chunk(&j, &o->classes, f->use, &f->chunk);
        if (o->chunk_range) {
            mt_json_key(&j, "chunk_search");
            mt_json_begin_object(&j);
            mt_json_kv_u64(&j, "min", o->chunk_min);
            mt_json_kv_u64(&j, "max", o->chunk_max);
            mt_json_kv_u64(&j, "step", CHUNK_STEP);
            mt_json_kv_u64(&j, "candidates", f->candidates);
            mt_json_end_object(&j);
        }
    }
    if (o->by_stack) {
        mt_json_key(&j, "stacks");
        mt_json_begin_array(&j);
        for (size_t i = 0; i < f->nrows; i++) {
            const mt_row_t *r = &f->rep.rows[i];
            const row_waste_t *rw = r->extra;
            mt_json_begin_object(&j);
            mt_json_kv_u64(&j, "waste_bytes", objs(rw->waste_bw));
            mt_json_kv_u64(&j, "bytes", objs(rw->bw));
            mt_json_kv_u64(&j, "count", objs(rw->w));
            mt_json_kv_u64(&j, "oversize_count", objs(rw->over_w));
            mt_json_kv_u64(&j, "min_size", r->agg.min_size);
            mt_json_kv_u64(&j, "max_size", r->agg.max_size);
            mt_report_json_frames(&j, r, o->depth > 0 ? (size_t)o->depth : 0);
            mt_json_end_object(&j);
        }
        mt_json_end_array(&j);
    }
    mt_json_end_object(&j);
    if (mt_json_end(&j) != 0)
        mt_error("fit: internal error: malformed JSON output");
}

/* ---- command ------------------------------------------------------------- */

static void print_usage(void)
{
    fputs(usage, stdout);
    for (int i = 0; mt_classes_builtin_names[i]; i++) {
        /* Wrap the provenance at 76 columns, indented. */
        printf("  %-10s", mt_classes_builtin_names[i]);
        const char *p = mt_classes_builtin_sources[i];
        int col = 12;
        while (*p) {
            const char *sp = strchr(p, ' ');
            int len = sp ? (int)(sp - p) : (int)strlen(p);
            if (col + len + 1 > 78) {
                printf("\n            ");
                col = 12;
            }
            printf(" %.*s", len, p);
            col += len + 1;
            p += len;
            while (*p == ' ')
                p++;
        }
        printf("\n");
    }
    printf("\nExit status: 0 success, 1 a trace could not be read, 2 usage error.\n");
}

static int parse_long(const char *opt, const char *s, long min, long max, long *v)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno || end == s || *end || n < min || n > max)
        return mt_usage_error("fit", "%s %s: expected a whole number from %ld to %ld", opt, s,
                              min, max);
    *v = n;
    return 0;
}

static int parse_chunk(fit_opts_t *o, const char *s)
{
    const char *dots = strstr(s, "..");
    char lo[64];
    if (!dots) {
        o->chunk_range = false;
        if (mt_parse_size(s, &o->chunk_min) || !o->chunk_min)
            return mt_usage_error("fit", "--chunk %s: expected a size in bytes (64K) or a "
                                         "range MIN..MAX (16K..1M)", s);
        o->chunk_max = o->chunk_min;
        o->chunk = true;
        return 0;
    }
    size_t n = (size_t)(dots - s);
    if (n >= sizeof(lo) || (memcpy(lo, s, n), lo[n] = '\0', mt_parse_size(lo, &o->chunk_min)) ||
        mt_parse_size(dots + 2, &o->chunk_max) || !o->chunk_min ||
        o->chunk_max < o->chunk_min)
        return mt_usage_error("fit", "--chunk %s: expected MIN..MAX with 0 < MIN <= MAX, "
                                     "e.g. 16K..1M", s);
    if ((o->chunk_max - o->chunk_min) / CHUNK_STEP > MAX_CHUNK_CANDIDATES)
        return mt_usage_error("fit", "--chunk %s: the range holds more than %u multiples of "
                                     "4 KiB; narrow it", s, MAX_CHUNK_CANDIDATES);
    o->chunk_range = true;
    o->chunk = true;
    return 0;
}

int cmd_fit(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"classes", required_argument, NULL, 'c'},
        {"optimize", required_argument, NULL, 'k'},
        {"chunk", required_argument, NULL, 'C'},
        {"pool", required_argument, NULL, 'p'},
        {"by-stack", no_argument, NULL, 'S'},
        {"match", required_argument, NULL, 'm'},
        {"top", required_argument, NULL, 'n'},
        {"depth", required_argument, NULL, 'd'},
        {"json", optional_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    fit_opts_t o;
    memset(&o, 0, sizeof(o));
    o.classes_spec = "jemalloc";
    o.top = 10;
    o.json = -1;
    o.ro.pool = MT_POOL_NONE;
    o.ro.progress = isatty(STDERR_FILENO);
    int opt, rc = 0;

    optind = 0;
    opterr = 0;
    while (!rc && (opt = getopt_long(argc, argv, ":c:k:m:n:d:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            o.classes_spec = optarg;
            break;
        case 'k':
            rc = parse_long("--optimize", optarg, 1, MAX_OPTIMIZE_K, &o.k);
            break;
        case 'C':
            rc = parse_chunk(&o, optarg);
            break;
        case 'p':
            o.pool_arg = optarg;
            if (mt_parse_pool(optarg, &o.ro.pool))
                rc = mt_usage_error("fit", "--pool %s: expected a pool name, a pool id or "
                                           "'all'", optarg);
            break;
        case 'S':
            o.by_stack = true;
            break;
        case 'm': {
            int e;
            if (o.has_match)
                regfree(&o.match);
            o.has_match = false;
            if ((e = regcomp(&o.match, optarg, REG_EXTENDED | REG_NOSUB)) != 0) {
                char msg[256];
                regerror(e, &o.match, msg, sizeof(msg));
                rc = mt_usage_error("fit", "--match '%s': %s", optarg, msg);
            } else {
                o.has_match = true;
            }
            break;
        }
        case 'n':
            rc = parse_long("-n", optarg, 0, INT32_MAX, &o.top);
            break;
        case 'd':
            rc = parse_long("--depth", optarg, 1, MT_MAX_FRAMES * 8, &o.depth);
            break;
        case 'j':
            if (!optarg || strcmp(optarg, "pretty") == 0)
                o.json = MT_JSON_PRETTY;
            else if (strcmp(optarg, "compact") == 0)
                o.json = MT_JSON_COMPACT;
            else
                rc = mt_usage_error("fit", "--json=%s: expected 'pretty' or 'compact'", optarg);
            break;
        case 'h':
            print_usage();
            rc = -1;
            break;
        case ':':
            rc = mt_usage_error("fit", "option '%s' needs a value", argv[optind - 1]);
            break;
        default:
            rc = mt_usage_error("fit", "unknown option '%s'", argv[optind - 1]);
            break;
        }
    }
    if (!rc) {
        const char *bad = NULL;
        int err = mt_classes_parse(o.classes_spec, &o.classes, &bad);
        if (err == ENOMEM)
            rc = mt_error("fit: out of memory");
        else if (err)
            rc = mt_usage_error("fit", "--classes %s: '%s' is not a size; expected jemalloc, "
                                       "glibc, tcmalloc, mimalloc or sizes like 16,32,1K",
                                o.classes_spec, bad ? bad : o.classes_spec);
    }
    if (!rc && argc - optind <= 0)
        rc = mt_usage_error("fit", "no TRACE given; pass one or more trace directories, "
                                   "e.g. mtrace.<command>.<pid>");
    if (rc) {
        if (o.has_match)
            regfree(&o.match);
        mt_classes_free(&o.classes);
        return rc < 0 ? MT_EXIT_OK : rc;
    }

    collect_t col;
    memset(&col, 0, sizeof(col));
    col.pool = o.ro.pool;
    o.ro.on_event = on_event;
    o.ro.ctx = &col;
    mt_session_t s;
    rc = mt_session_open(&s, argc - optind, argv + optind);
    if (!rc)
        rc = mt_session_replay(&s, &o.ro);
    if (!rc) {
        fit_t f;
        rc = analyse(&o, &s, &col, &f);
        if (!rc) {
            if (o.json >= 0)
                print_json(&o, &s, &col, &f);
            else
                print_text(&o, &s, &col, &f);
        }
        fit_free(&f);
    }
    mt_session_close(&s);
    collect_free(&col);
    if (o.has_match)
        regfree(&o.match);
    mt_classes_free(&o.classes);
    return rc;
}
