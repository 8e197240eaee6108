/* diff.c - the comparison of two stack reports (diff.h): rows matched by
 * their printed frames across two separately symbolized sessions, the change
 * of every number and its sampling error, the ranking by absolute change.
 * Pure functions of the rows, so tests/analyze/test-diff.c checks them with
 * exact numbers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "diff.h"

const char *const mt_diff_metric_names[MT_DIFF_NMETRICS] = {
    "bytes", "count", "live_bytes", "live_count", "peak_bytes",
};

bool mt_diff_metric_is_bytes(mt_diff_metric_t m)
{
    return m != MT_DIFF_COUNT && m != MT_DIFF_LIVE_COUNT;
}

void mt_diff_side_of(mt_diff_side_t *side, const mt_stack_stats_t *st)
{
    side->v[MT_DIFF_BYTES] = mt_bw_bytes(st->alloc_bw);
    side->var[MT_DIFF_BYTES] = st->alloc_var_bw;
    side->v[MT_DIFF_COUNT] = mt_w_objects(st->alloc_w);
    side->var[MT_DIFF_COUNT] = st->alloc_var_w;
    side->v[MT_DIFF_LIVE] = mt_bw_bytes(st->live_bw);
    side->var[MT_DIFF_LIVE] = st->live_var_bw;
    side->v[MT_DIFF_LIVE_COUNT] = mt_w_objects(st->live_w);
    side->var[MT_DIFF_LIVE_COUNT] = st->live_var_w;
    side->v[MT_DIFF_PEAK] = mt_bw_bytes(st->peak_bw);
    side->var[MT_DIFF_PEAK] = st->peak_var_bw;
}

void mt_diff_compare(mt_diff_entry_t *e)
{
    for (int m = 0; m < MT_DIFF_NMETRICS; m++) {
        uint64_t a = e->a.v[m], b = e->b.v[m];
        uint64_t mag = b >= a ? b - a : a - b;
        if (mag > (uint64_t)INT64_MAX)
            mag = (uint64_t)INT64_MAX;
        e->change[m] = b >= a ? (int64_t)mag : -(int64_t)mag;
        /* Independent samples: the variances add (SAMPLING.md). */
        e->error[m] = mt_est_bound(mt_est_var_add(e->a.var[m], e->b.var[m]));
        e->noise[m] = e->error[m] > 0 && mag <= e->error[m];
    }
}

bool mt_diff_unchanged(const mt_diff_entry_t *e)
{
    for (int m = 0; m < MT_DIFF_NMETRICS; m++)
        if (e->change[m])
            return false;
    return true;
}

static mt_diff_metric_t sort_metric;

static uint64_t mag(int64_t c)
{
    return c < 0 ? (uint64_t)-(c + 1) + 1 : (uint64_t)c;
}

static int cmp_entries(const void *pa, const void *pb)
{
    const mt_diff_entry_t *x = pa, *y = pb;
    mt_diff_metric_t m = sort_metric;
    uint64_t cx = mag(x->change[m]), cy = mag(y->change[m]);
    if (cx != cy)
        return cx > cy ? -1 : 1;
    uint64_t lx = x->a.v[m] > x->b.v[m] ? x->a.v[m] : x->b.v[m];
    uint64_t ly = y->a.v[m] > y->b.v[m] ? y->a.v[m] : y->b.v[m];
    if (lx != ly)
        return lx > ly ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

void mt_diff_sort(mt_diff_entry_t *e, size_t n, mt_diff_metric_t m)
{
    sort_metric = m; /* qsort has no context; the analyzer is single-threaded */
    if (n > 1)
        qsort(e, n, sizeof(*e), cmp_entries);
}

/* ---- matching ------------------------------------------------------------ */

/* Appends S and a separator to the key KEY[*N] (grown in *CAP). */
static int key_add(char **key, size_t *n, size_t *cap, const char *s)
{
    size_t len = s ? strlen(s) : 1;
    if (*n + len + 2 > *cap) {
        size_t c = (*n + len + 2) * 2;
        char *g = realloc(*key, c);
        if (!g)
            return ENOMEM;
        *key = g;
        *cap = c;
    }
    /* NULL and "" differ: NULL is \x01. */
    memcpy(*key + *n, s ? s : "\x01", len);
    *n += len;
    (*key)[(*n)++] = '\x1f';
    (*key)[*n] = '\0';
    return 0;
}

/* What ROW's frames print, as one string in *KEY. */
static int row_key(const mt_row_t *row, char **key, size_t *cap, size_t *n)
{
    *n = 0;
    int rc = key_add(key, n, cap, "");
    for (size_t i = 0; !rc && i < row->nframes; i++) {
        const mt_frame_t *f = &row->frames[i];
        char num[64];
        /* Without a file a frame prints as function+offset or module+offset:
         * the same in both runs. Without a module either, the address. */
        uint64_t where = f->file ? 0 : (f->module || f->function) ? f->offset : f->address;
        snprintf(num, sizeof(num), "%u:%d:%llx", f->line, f->inlined, (unsigned long long)where);
        rc = key_add(key, n, cap, f->function);
        if (!rc)
            rc = key_add(key, n, cap, f->file);
        if (!rc)
            rc = key_add(key, n, cap, f->module);
        if (!rc)
            rc = key_add(key, n, cap, num);
    }
    return rc;
}

typedef struct match_ctx {
    char **keys;
    const char *want;
} match_ctx_t;

static bool key_is(const void *ctx, uint32_t v)
{
    const match_ctx_t *m = ctx;
    return strcmp(m->keys[v], m->want) == 0;
}

int mt_diff_match(mt_report_t *base, mt_report_t *new, mt_diff_entry_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t total = base->nrows + new->nrows, cap = 0, klen;
    mt_diff_entry_t *e = calloc(total ? total : 1, sizeof(*e));
    char **keys = calloc(total ? total : 1, sizeof(*keys)); /* per entry */
    char *key = NULL;
    mt_table_t t = {0}; /* key hash -> entry */
    int rc = e && keys ? 0 : ENOMEM;
    size_t ne = 0;
    for (int side = 0; side < 2 && !rc; side++) {
        mt_report_t *rep = side ? new : base;
        for (size_t i = 0; i < rep->nrows && !rc; i++) {
            mt_row_t *row = &rep->rows[i];
            if ((rc = mt_report_frames(rep, row)) != 0 || (rc = row_key(row, &key, &cap, &klen)))
                break;
            uint64_t h = mt_hash_bytes(key, klen);
            match_ctx_t m = {keys, key};
            uint32_t ei = mt_table_find(&t, h, key_is, &m);
            /* Two rows of one side that print alike (possible with --by
             * function across modules of one name) stay separate entries. */
            if (ei != MT_TABLE_NONE && (side ? e[ei].new : e[ei].base))
                ei = MT_TABLE_NONE;
            if (ei == MT_TABLE_NONE) {
                ei = (uint32_t)ne;
                if (!(keys[ne] = strdup(key)) || mt_table_put(&t, h, ei)) {
                    rc = ENOMEM;
                    break;
                }
                e[ne].order = ne;
                ne++;
            }
            if (side) {
                e[ei].new = row;
                mt_diff_side_of(&e[ei].b, &row->agg);
            } else {
                e[ei].base = row;
                mt_diff_side_of(&e[ei].a, &row->agg);
            }
        }
    }
    for (size_t i = 0; i < ne; i++) {
        mt_diff_compare(&e[i]);
        free(keys[i]);
    }
    free(keys);
    free(key);
    mt_table_free(&t);
    if (rc) {
        free(e);
        return rc;
    }
    *out = e;
    *n = ne;
    return 0;
}
