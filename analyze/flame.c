/* flame.c - the call tree of a flame graph, built from the symbolized rows of
 * a stack report, and its folded-stack text (flamegraph.pl, inferno,
 * speedscope). A frame is named by its function (no offset, so every call
 * site in one function is one frame), else module+0xOFFSET, else 0xADDRESS;
 * inlined functions are frames of their own. Children with the same name,
 * module and inlined flag are one node; values are rounded once per node.
 * In a sampled trace each node also sums the variances of its stacks, and a
 * frame's total variance is the sum over its subtree (samples are
 * independent); the 95% bounds are taken from them at output (estimate.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "flame.h"

const char *const mt_flame_weight_names[MT_FLAME_NWEIGHTS] = {
    "bytes", "count", "live", "peak", "temp",
};

bool mt_flame_weight_is_bytes(mt_flame_weight_t w)
{
    return w == MT_FLAME_BYTES || w == MT_FLAME_LIVE || w == MT_FLAME_PEAK;
}

void mt_flame_init(mt_flame_t *f, mt_flame_weight_t weight)
{
    memset(f, 0, sizeof(*f));
    f->weight = weight;
}

mt_u128 mt_flame_raw(const mt_stack_stats_t *st, mt_flame_weight_t w)
{
    switch (w) {
    case MT_FLAME_BYTES: return st->alloc_bw;
    case MT_FLAME_COUNT: return st->alloc_w;
    case MT_FLAME_LIVE: return st->live_bw;
    case MT_FLAME_PEAK: return st->peak_bw;
    case MT_FLAME_TEMP: return st->temp_w;
    default: return 0;
    }
}

mt_u128 mt_flame_var(const mt_stack_stats_t *st, mt_flame_weight_t w)
{
    switch (w) {
    case MT_FLAME_BYTES: return st->alloc_var_bw;
    case MT_FLAME_COUNT: return st->alloc_var_w;
    case MT_FLAME_LIVE: return st->live_var_bw;
    case MT_FLAME_PEAK: return st->peak_var_bw;
    case MT_FLAME_TEMP: return st->temp_var_w;
    default: return 0;
    }
}

/* S made safe for a folded line and for display: control characters and
 * bytes that are not UTF-8 become '?' (mt_printable), ';' becomes ':'. */
static void clean_name(char *buf, size_t cap, const char *s)
{
    mt_printable(buf, cap, s);
    for (char *p = buf; *p; p++)
        if (*p == ';')
            *p = ':';
}

/* The display name of frame FR into BUF[CAP]. */
static void frame_name(char *buf, size_t cap, const mt_frame_t *fr)
{
    char tmp[1024];
    if (fr->function)
        snprintf(tmp, sizeof(tmp), "%s", fr->function);
    else if (fr->module)
        snprintf(tmp, sizeof(tmp), "%s+0x%" PRIx64, mt_sym_basename(fr->module), fr->offset);
    else
        snprintf(tmp, sizeof(tmp), "0x%" PRIx64, fr->address);
    clean_name(buf, cap, tmp);
}

static bool same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* The child of PARENT for frame FR, created when new; NULL when out of memory. */
static mt_flame_node_t *child_for(mt_flame_t *f, mt_flame_node_t *parent, const mt_frame_t *fr)
{
    char name[1024], module[256];
    frame_name(name, sizeof(name), fr);
    if (fr->module)
        clean_name(module, sizeof(module), mt_sym_basename(fr->module));
    const char *mod = fr->module ? module : NULL;
    for (mt_flame_node_t *c = parent->child; c; c = c->next)
        if (c->inlined == fr->inlined && strcmp(c->name, name) == 0 && same(c->module, mod))
            return c;
    mt_flame_node_t *c = calloc(1, sizeof(*c));
    if (!c || !(c->name = strdup(name)) || (mod && !(c->module = strdup(mod)))) {
        if (c)
            free(c->name);
        free(c);
        return NULL;
    }
    c->inlined = fr->inlined;
    c->next = parent->child;
    parent->child = c;
    parent->nchildren++;
    f->nodes++;
    return c;
}

int mt_flame_add(mt_flame_t *f, const mt_report_t *rep, int slot)
{
    if (slot == MT_FLAME_BASE)
        f->diff = true;
    for (size_t i = 0; i < rep->nrows; i++) {
        const mt_row_t *r = &rep->rows[i];
        mt_flame_node_t *n = &f->root;
        for (size_t k = r->nframes; k-- > 0;) /* root first */
            if (!(n = child_for(f, n, &r->frames[k])))
                return ENOMEM;
        n->raw[slot] += mt_flame_raw(&r->agg, f->weight);
        n->var[slot] = mt_est_var_add(n->var[slot], mt_flame_var(&r->agg, f->weight));
    }
    return 0;
}

static uint64_t round_raw(mt_u128 raw)
{
    mt_u128 v = (raw + MT_WEIGHT_ONE / 2) / MT_WEIGHT_ONE;
    return v > UINT64_MAX ? UINT64_MAX : (uint64_t)v;
}

static int by_name(const void *a, const void *b)
{
    const mt_flame_node_t *x = *(mt_flame_node_t *const *)a, *y = *(mt_flame_node_t *const *)b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    c = strcmp(x->module ? x->module : "", y->module ? y->module : "");
    return c ? c : (int)x->inlined - (int)y->inlined;
}

/* Sorts N's children by name (relinking them in that order); falls back to
 * the insertion order when out of memory. */
static void sort_children(mt_flame_node_t *n)
{
    if (n->nchildren < 2)
        return;
    mt_flame_node_t **v = malloc(n->nchildren * sizeof(*v));
    if (!v)
        return;
    size_t k = 0;
    for (mt_flame_node_t *c = n->child; c; c = c->next)
        v[k++] = c;
    qsort(v, k, sizeof(*v), by_name);
    for (size_t i = 0; i + 1 < k; i++)
        v[i]->next = v[i + 1];
    v[k - 1]->next = NULL;
    n->child = v[0];
    free(v);
}

static size_t finish(mt_flame_node_t *n)
{
    size_t depth = 0;
    sort_children(n);
    for (int s = 0; s < 2; s++) {
        n->total[s] = n->self[s] = round_raw(n->raw[s]);
        n->total_var[s] = n->var[s];
    }
    for (mt_flame_node_t *c = n->child; c; c = c->next) {
        size_t d = finish(c);
        depth = d > depth ? d : depth;
        for (int s = 0; s < 2; s++) { /* independent stacks: variances add */
            n->total[s] += c->total[s];
            n->total_var[s] = mt_est_var_add(n->total_var[s], c->total_var[s]);
        }
    }
    return depth + 1;
}

void mt_flame_finish(mt_flame_t *f)
{
    f->max_depth = finish(&f->root) - 1;
}

/* ---- folded stacks ---------------------------------------------------------- */

typedef struct path {
    char *buf;
    size_t len, cap;
} path_t;

static int write_folded(const mt_flame_t *f, const mt_flame_node_t *n, path_t *p, FILE *out)
{
    size_t len = p->len;
    if (n != &f->root) {
        size_t need = len + 1 + strlen(n->name) + 1;
        if (need > p->cap) {
            size_t cap = need * 2;
            char *b = realloc(p->buf, cap);
            if (!b)
                return ENOMEM;
            p->buf = b;
            p->cap = cap;
        }
        if (len)
            p->buf[p->len++] = ';';
        strcpy(p->buf + p->len, n->name);
        p->len += strlen(n->name);
        if (f->diff && (n->self[MT_FLAME_BASE] || n->self[MT_FLAME_NEW]))
            fprintf(out, "%s %" PRIu64 " %" PRIu64 "\n", p->buf, n->self[MT_FLAME_BASE],
                    n->self[MT_FLAME_NEW]);
        else if (!f->diff && n->self[MT_FLAME_NEW])
            fprintf(out, "%s %" PRIu64 "\n", p->buf, n->self[MT_FLAME_NEW]);
    }
    int rc = 0;
    for (const mt_flame_node_t *c = n->child; c && !rc; c = c->next)
        rc = write_folded(f, c, p, out);
    p->len = len;
    return rc;
}

int mt_flame_write_folded(const mt_flame_t *f, FILE *out)
{
    path_t p = {0};
    int rc = write_folded(f, &f->root, &p, out);
    free(p.buf);
    if (!rc && ferror(out))
        rc = errno ? errno : EIO;
    return rc;
}

/* ---- JSON ------------------------------------------------------------------ */

static void write_json(const mt_flame_t *f, const mt_flame_node_t *n,
                       const mt_flame_node_t **path, size_t depth, mt_json_t *j)
{
    if (n != &f->root) {
        path[depth++] = n;
        if (n->self[MT_FLAME_NEW] || (f->diff && n->self[MT_FLAME_BASE])) {
            mt_json_begin_object(j);
            mt_json_key(j, "frames");
            mt_json_begin_array(j);
            for (size_t i = 0; i < depth; i++) {
                mt_json_begin_object(j);
                mt_json_kv_string(j, "name", path[i]->name);
                mt_json_key(j, "module");
                path[i]->module ? mt_json_string(j, path[i]->module) : mt_json_null(j);
                mt_json_kv_bool(j, "inlined", path[i]->inlined);
                mt_json_end_object(j);
            }
            mt_json_end_array(j);
            mt_json_kv_u64(j, "value", n->self[MT_FLAME_NEW]);
            mt_json_kv_error(j, "value_error", n->var[MT_FLAME_NEW]);
            if (f->diff) {
                mt_json_kv_u64(j, "base", n->self[MT_FLAME_BASE]);
                mt_json_kv_error(j, "base_error", n->var[MT_FLAME_BASE]);
            }
            mt_json_end_object(j);
        }
    }
    for (const mt_flame_node_t *c = n->child; c; c = c->next)
        write_json(f, c, path, depth, j);
}

int mt_flame_write_json(const mt_flame_t *f, mt_json_t *j)
{
    /* A path has max_depth frames at most. */
    const mt_flame_node_t **path = malloc((f->max_depth + 1) * sizeof(*path));
    if (!path)
        return ENOMEM;
    mt_json_key(j, "stacks");
    mt_json_begin_array(j);
    write_json(f, &f->root, path, 0, j);
    mt_json_end_array(j);
    free(path);
    return 0;
}

static void free_children(mt_flame_node_t *n)
{
    mt_flame_node_t *c = n->child;
    while (c) {
        mt_flame_node_t *next = c->next;
        free_children(c);
        free(c->name);
        free(c->module);
        free(c);
        c = next;
    }
    n->child = NULL;
}

void mt_flame_free(mt_flame_t *f)
{
    free_children(&f->root);
    memset(f, 0, sizeof(*f));
}
