/* fit.c - the analysis behind `mtrace-analyze fit`: weight per (stack, size)
 * of the requests replayed (replay's event hook) and the pools seen; from
 * them the exact size histogram, the rounding waste under the classes in use,
 * the optimal classes, the pool-chunk fit and the waste per stack. Printing
 * and options are cmd-fit.c's.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fit.h"

/* ---- collection: weight per (stack, size), pool names ------------------- */

static uint64_t pair_hash(uint64_t size, uint32_t stack)
{
    uint64_t h = (size * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)stack * 0xC2B2AE3D27D4EB4Full);
    return h ^ h >> 31;
}

typedef struct pair_key {
    const mt_fit_collect_t *c;
    uint64_t size;
    uint32_t stack;
} pair_key_t;

static bool pair_is(const void *ctx, uint32_t v)
{
    const pair_key_t *k = ctx;
    return k->c->pairs[v].size == k->size && k->c->pairs[v].stack == k->stack;
}

static int pair_add(mt_fit_collect_t *c, uint32_t stack, uint64_t size, uint64_t w)
{
    pair_key_t k = {c, size, stack};
    uint64_t h = pair_hash(size, stack);
    uint32_t i = mt_table_find(&c->by_pair, h, pair_is, &k);
    if (i != MT_TABLE_NONE) {
        c->pairs[i].w += w;
        return 0;
    }
    if (c->npairs >= UINT32_MAX - 1 || !MT_VEC_PUSH(NULL, c->pairs, c->npairs, c->cap) ||
        mt_table_put(&c->by_pair, h, (uint32_t)c->npairs))
        return ENOMEM;
    c->pairs[c->npairs++] = (mt_fit_pair_t){size, stack, w};
    return 0;
}

static mt_fit_pool_t *pool_entry(mt_fit_collect_t *c, uint64_t id)
{
    for (size_t i = 0; i < c->npools; i++)
        if (c->pools[i].id == id)
            return &c->pools[i];
    mt_fit_pool_t *g = realloc(c->pools, (c->npools + 1) * sizeof(*g));
    if (!g)
        return NULL;
    c->pools = g;
    memset(&g[c->npools], 0, sizeof(*g));
    g[c->npools].id = id;
    return &g[c->npools++];
}

/* Replay's event hook: runs after replay's own bookkeeping of E. */
int mt_fit_on_event(void *ctx, mt_replay_t *rp, uint32_t trace, uint32_t thread,
                    const mt_event_t *e)
{
    (void)thread;
    mt_fit_collect_t *c = ctx;
    if (e->type == MT_EV_POOL_ALLOC) {
        mt_fit_pool_t *ps = pool_entry(c, e->arg[1]);
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
        if (mt_replay_in_window(rp)) {
            ps->w += mt_event_weight(e);
            ps->bw += (mt_u128)e->size * mt_event_weight(e);
        }
    }
    bool counted;
    if (c->pool == MT_POOL_NONE)
        counted = e->type == MT_EV_ALLOC;
    else
        counted = e->type == MT_EV_POOL_ALLOC &&
                  (c->pool == MT_POOL_ALL || e->arg[1] == (uint64_t)c->pool);
    if (!counted || !mt_replay_in_window(rp) || (rp->opt.min_size && e->size < rp->opt.min_size) ||
        (rp->opt.max_size && e->size > rp->opt.max_size))
        return 0;
    uint32_t si = mt_replay_stack_index(rp, trace, e->stack);
    if (si == UINT32_MAX)
        return ENOMEM;
    return pair_add(c, si, e->size, mt_event_weight(e));
}

void mt_fit_collect_free(mt_fit_collect_t *c)
{
    free(c->pairs);
    mt_table_free(&c->by_pair);
    free(c->pools);
    memset(c, 0, sizeof(*c));
}

const char *mt_fit_pool_name(const mt_fit_collect_t *c, uint64_t id)
{
    for (size_t i = 0; i < c->npools; i++)
        if (c->pools[i].id == id && c->pools[i].name[0])
            return c->pools[i].name;
    return NULL;
}

/* ---- the analysis ---------------------------------------------------------- */

static int cmp_pair_size(const void *a, const void *b)
{
    const mt_fit_pair_t *x = a, *y = b;
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
    const mt_fit_row_t *x = a->extra, *y = b->extra;
    int c = mt_cmp_desc(x->waste_bw, y->waste_bw);
    return c ? c : mt_cmp_desc(x->bw, y->bw);
}

void mt_fit_free(mt_fit_t *f)
{
    mt_sizes_free(&f->h);
    free(f->by_count);
    mt_classes_free(&f->opt);
    free(f->use);
    free(f->opt_use);
    if (f->has_rep)
        mt_report_free(&f->rep);
}

static int chunk_for(const mt_fit_opts_t *o, const mt_classes_t *c, const mt_sizes_t *h,
                     mt_class_use_t **use, mt_chunk_fit_t *out, uint64_t *candidates)
{
    if (!(*use = malloc((c->n ? c->n : 1) * sizeof(**use))))
        return ENOMEM;
    mt_class_use(c, h, *use);
    if (o->chunk_range)
        *candidates =
            mt_chunk_best(c, *use, o->chunk_min, o->chunk_max, MT_FIT_CHUNK_STEP, out);
    else
        mt_chunk_fit(c, *use, o->chunk_min, out);
    return 0;
}

int mt_fit_analyse(const mt_fit_opts_t *o, mt_session_t *s, mt_fit_collect_t *col, mt_fit_t *f)
{
    memset(f, 0, sizeof(*f));
    mt_replay_t *rp = &s->rp;
    bool *keep_row = NULL;
    int err = 0;
    if (o->by_stack || o->cli.has_match) {
        if ((err = mt_report_build(&f->rep, rp, s->sym, false, mt_keep_allocating)) != 0)
            return mt_replay_error(rp, err);
        f->has_rep = true;
        for (size_t i = 0; i < f->rep.nrows; i++)
            if (!(f->rep.rows[i].extra = calloc(1, sizeof(mt_fit_row_t))))
                return mt_error("fit: out of memory");
        if (o->cli.has_match) {
            if (!(keep_row = calloc(f->rep.nrows + 1, sizeof(*keep_row))))
                return mt_error("fit: out of memory");
            for (size_t i = 0; i < f->rep.nrows; i++)
                keep_row[i] = !mt_report_frames(&f->rep, &f->rep.rows[i]) &&
                              mt_row_matches(&f->rep.rows[i], &o->cli.match);
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
    mt_fit_pair_t *sorted = malloc((k ? k : 1) * sizeof(*sorted));
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
            const mt_fit_pair_t *p = &col->pairs[i];
            uint32_t row = f->rep.row_of_stack[p->stack];
            if (row == UINT32_MAX)
                continue;
            mt_fit_row_t *rw = f->rep.rows[row].extra;
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
            if ((keep_row && !keep_row[i]) || !((mt_fit_row_t *)r->extra)->w) {
                mt_row_free(r);
                continue;
            }
            f->rep.rows[kept++] = *r;
        }
        f->rep.nrows = kept;
        mt_report_sort(&f->rep, by_waste);
        f->nrows = mt_cli_shown(&o->cli, kept);
        for (size_t i = 0; i < kept; i++)
            f->rows_waste_bw += ((mt_fit_row_t *)f->rep.rows[i].extra)->waste_bw;
        for (size_t i = 0; i < f->nrows; i++)
            if (mt_report_frames(&f->rep, &f->rep.rows[i])) {
                free(keep_row);
                return mt_error("fit: out of memory symbolizing");
            }
    }
    free(keep_row);
    return MT_EXIT_OK;
}
