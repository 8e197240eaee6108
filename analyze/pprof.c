/* pprof.c - the rows of a stack report as a pprof profile: google/pprof's
 * profile.proto, encoded with protobuf-c (code generated at build time from
 * the .proto Debian ships, see analyze/meson.build) and gzip'd with zlib.
 *
 * One sample per row (the same rows as `top -n 0`), values [alloc_objects,
 * alloc_space, inuse_objects, inuse_space] scaled to estimates as the proto
 * asks. A row's source frames (innermost first) are cut into Locations at
 * each recorded pc: the frames inlined at one pc are one Location's Lines,
 * innermost first. A Location's address is the return address minus one
 * (inside the call, as pprof symbolizers expect) and its Mapping is the
 * module record mapped there at the stack's time (start, limit, build-id in
 * hex), so a server can symbolize it again by build-id. File offset 0 is the
 * start of the lowest PT_LOAD segment, which maps the ELF header (true of
 * what ld, gold, lld and mold link).
 *
 * With labels, the rows' allocations are split by thread (label "thread",
 * the thread's name, "tid N" without one) and NUMA node of the allocating
 * CPU (numeric label "numa_node"), collected by a replay hook below.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pprof.h"
#include "profile.pb-c.h"

typedef Perftools__Profiles__Profile pb_profile_t;
typedef Perftools__Profiles__ValueType pb_value_type_t;
typedef Perftools__Profiles__Sample pb_sample_t;
typedef Perftools__Profiles__Label pb_label_t;
typedef Perftools__Profiles__Mapping pb_mapping_t;
typedef Perftools__Profiles__Location pb_location_t;
typedef Perftools__Profiles__Line pb_line_t;
typedef Perftools__Profiles__Function pb_function_t;

enum { V_ALLOC_OBJECTS, V_ALLOC_SPACE, V_INUSE_OBJECTS, V_INUSE_SPACE, NVALUES };

/* ---- labels: a replay hook ---------------------------------------------- */

typedef struct bucket {
    uint32_t stack;           /* index in rp->stacks */
    uint32_t trace, thread;
    int32_t node;
    uint64_t alloc_w, live_w;
    mt_u128 alloc_bw, live_bw;
} bucket_t;

typedef struct live_ent {
    uint64_t ptr, size, weight;
    uint32_t trace, bucket;   /* bucket UINT32_MAX: a free slot */
    uint32_t next_free;
} live_ent_t;

typedef struct labels {
    bucket_t *b;
    size_t nb, capb;
    mt_table_t by_key;        /* hash of (stack, trace, thread, node) -> bucket */
    live_ent_t *live;
    size_t nlive, caplive;
    uint32_t free_head;
    mt_table_t live_by_ptr;   /* hash of (trace, ptr) -> live */
    const mt_replay_t *rp;
} labels_t;

typedef struct bucket_key {
    const labels_t *l;
    bucket_t k;
} bucket_key_t;

static bool bucket_is(const void *ctx, uint32_t v)
{
    const bucket_key_t *k = ctx;
    const bucket_t *b = &k->l->b[v];
    return b->stack == k->k.stack && b->trace == k->k.trace && b->thread == k->k.thread &&
           b->node == k->k.node;
}

typedef struct ptr_key {
    const labels_t *l;
    uint32_t trace;
    uint64_t ptr;
} ptr_key_t;

static bool ptr_is(const void *ctx, uint32_t v)
{
    const ptr_key_t *k = ctx;
    const live_ent_t *e = &k->l->live[v];
    return e->bucket != UINT32_MAX && e->ptr == k->ptr && e->trace == k->trace;
}

static uint64_t ptr_hash(uint32_t trace, uint64_t ptr)
{
    uint64_t w[2] = {trace, ptr};
    return mt_hash_words(w, 2);
}

static void live_drop(labels_t *l, uint32_t trace, uint64_t ptr)
{
    uint64_t h = ptr_hash(trace, ptr);
    ptr_key_t k = {l, trace, ptr};
    uint32_t i = mt_table_find(&l->live_by_ptr, h, ptr_is, &k);
    if (i == MT_TABLE_NONE)
        return;
    live_ent_t *e = &l->live[i];
    bucket_t *b = &l->b[e->bucket];
    b->live_w -= e->weight;
    b->live_bw -= (mt_u128)e->size * e->weight;
    mt_table_del(&l->live_by_ptr, h, i);
    e->bucket = UINT32_MAX;
    e->next_free = l->free_head;
    l->free_head = i;
}

/* The heap events replay counts (replay.c on_alloc, on_free): the same
 * size filter; pools are not split by labels. */
static int labels_event(void *ctx, mt_replay_t *rp, uint32_t trace, uint32_t thread,
                        const mt_event_t *e)
{
    labels_t *l = ctx;
    l->rp = rp;
    if (rp->opt.pool != MT_POOL_NONE)
        return 0;
    if (e->type == MT_EV_ALLOC && !mt_replay_in_window(rp))
        return 0; /* made before --from: counts nowhere */
    if (e->type == MT_EV_FREE) {
        if (e->ptr)
            live_drop(l, trace, e->ptr);
        return 0;
    }
    if (e->type != MT_EV_ALLOC || e->size < rp->opt.min_size ||
        (rp->opt.max_size && e->size > rp->opt.max_size))
        return 0;
    uint32_t si = mt_replay_stack_index(rp, trace, e->stack);
    if (si == UINT32_MAX)
        return ENOMEM;
    bucket_key_t k = {l, {.stack = si, .trace = trace, .thread = thread, .node = e->node}};
    uint64_t words[4] = {si, trace, thread, (uint64_t)(int64_t)e->node};
    uint64_t h = mt_hash_words(words, 4);
    uint32_t bi = mt_table_find(&l->by_key, h, bucket_is, &k);
    if (bi == MT_TABLE_NONE) {
        bucket_t *b = MT_VEC_PUSH(NULL, l->b, l->nb, l->capb);
        if (!b || mt_table_put(&l->by_key, h, (uint32_t)l->nb))
            return ENOMEM;
        *b = k.k;
        bi = (uint32_t)l->nb++;
    }
    uint64_t w = mt_event_weight(e);
    bucket_t *b = &l->b[bi];
    b->alloc_w += w;
    b->alloc_bw += (mt_u128)e->size * w;
    if (!e->ptr)
        return 0;
    live_drop(l, trace, e->ptr); /* its free was not recorded: replaced (as replay does) */
    uint32_t li = l->free_head;
    if (li == MT_TABLE_NONE) {
        if (!MT_VEC_PUSH(NULL, l->live, l->nlive, l->caplive))
            return ENOMEM;
        li = (uint32_t)l->nlive++;
    } else {
        l->free_head = l->live[li].next_free;
    }
    l->live[li] = (live_ent_t){e->ptr, e->size, w, trace, bi, MT_TABLE_NONE};
    if (mt_table_put(&l->live_by_ptr, ptr_hash(trace, e->ptr), li))
        return ENOMEM;
    b->live_w += w;
    b->live_bw += (mt_u128)e->size * w;
    return 0;
}

void *mt_pprof_labels_new(void)
{
    labels_t *l = calloc(1, sizeof(*l));
    if (l)
        l->free_head = MT_TABLE_NONE;
    return l;
}

void mt_pprof_labels_hook(mt_replay_options_t *opt, void *labels)
{
    opt->on_event = labels_event;
    opt->ctx = labels;
}

int mt_pprof_labels_fill(mt_report_t *rep, void *labels)
{
    const labels_t *l = labels;
    for (size_t i = 0; i < l->nb; i++) {
        if (l->b[i].stack >= rep->rp->nstacks)
            continue;
        uint32_t r = rep->row_of_stack[l->b[i].stack];
        if (r == UINT32_MAX)
            continue;
        mt_row_t *row = &rep->rows[r];
        uint32_t *x = row->extra; /* [n, cap, bucket...] */
        if (!x || x[0] == x[1]) {
            uint32_t cap = x ? 2 * x[1] : 4;
            uint32_t *g = realloc(x, (2 + (size_t)cap) * sizeof(*g));
            if (!g)
                return ENOMEM;
            if (!x)
                g[0] = 0;
            g[1] = cap;
            row->extra = x = g;
        }
        x[2 + x[0]++] = (uint32_t)i;
    }
    return 0;
}

void mt_pprof_labels_free(void *labels)
{
    labels_t *l = labels;
    if (!l)
        return;
    free(l->b);
    free(l->live);
    mt_table_free(&l->by_key);
    mt_table_free(&l->live_by_ptr);
    free(l);
}

/* ---- the profile under construction --------------------------------------- */

typedef struct builder {
    const mt_report_t *rep;
    /* string table: index 0 is "" */
    char **strs;
    bool *owned;
    size_t nstrs, capstrs, capowned;
    mt_table_t str_by_hash;
    pb_mapping_t *maps;
    size_t nmaps, capmaps;
    uint64_t (*map_key)[5];   /* trace, lo, hi, base, file */
    size_t capmapkey;
    mt_table_t map_by_key;
    pb_location_t *locs;
    size_t nlocs, caplocs;
    uint64_t (*loc_key)[3];   /* trace, mapping id, address */
    size_t caplockey;
    mt_table_t loc_by_key;
    pb_line_t *lines;         /* all locations' lines; locations point into it at the end */
    size_t nlines, caplines;
    size_t *loc_first_line;
    size_t caplocfirst;
    pb_function_t *funcs;
    size_t nfuncs, capfuncs;
    mt_table_t func_by_key;   /* hash of (name, file) string indexes */
    pb_sample_t *samples;
    size_t nsamples, capsamples;
    uint64_t *loc_ids;        /* all samples' location ids */
    size_t nloc_ids, caploc_ids;
    size_t *sample_first_loc;
    size_t capsamplefirst;
    int64_t *values;          /* NVALUES per sample */
    size_t nvalues, capvalues;
    pb_label_t *labels;       /* 2 per sample with labels */
    size_t nlabels, caplabels;
    bool with_labels;         /* two label slots per sample */
    mt_table_t thread_names;  /* trace << 32 | thread seq -> string index */
} builder_t;

typedef struct str_key {
    const builder_t *b;
    const char *s;
} str_key_t;

static bool str_is(const void *ctx, uint32_t v)
{
    const str_key_t *k = ctx;
    return strcmp(k->b->strs[v], k->s) == 0;
}

/* Index of S in the string table, added when new (copied when COPY). -1
 * when out of memory. */
static int64_t str_index(builder_t *b, const char *s, bool copy)
{
    if (!s)
        s = "";
    uint64_t h = mt_hash_bytes(s, strlen(s));
    str_key_t k = {b, s};
    uint32_t i = mt_table_find(&b->str_by_hash, h, str_is, &k);
    if (i != MT_TABLE_NONE)
        return i;
    char **slot = MT_VEC_PUSH(NULL, b->strs, b->nstrs, b->capstrs);
    bool *own = MT_VEC_PUSH(NULL, b->owned, b->nstrs, b->capowned);
    if (!slot || !own)
        return -1;
    char *c = copy ? strdup(s) : (char *)s;
    if (!c)
        return -1;
    if (mt_table_put(&b->str_by_hash, h, (uint32_t)b->nstrs)) {
        if (copy)
            free(c);
        return -1;
    }
    *slot = c;
    *own = copy;
    return (int64_t)b->nstrs++;
}

static bool map_is(const void *ctx, uint32_t v)
{
    const uint64_t *k = ((const uint64_t *const *)ctx)[0];
    const builder_t *b = ((const builder_t *const *)ctx)[1];
    return memcmp(b->map_key[v], k, sizeof(b->map_key[v])) == 0;
}

/* Mapping id (1-based) of PC of TRACE at TS; 0 when no module covers it;
 * UINT64_MAX when out of memory. */
static uint64_t mapping_id(builder_t *b, uint32_t trace, uint64_t pc, uint64_t ts)
{
    mt_sym_module_t m;
    if (!mt_sym_module_at(b->rep->sym, trace, pc, ts, &m))
        return 0;
    uint64_t key[5] = {trace, m.lo, m.hi, m.base, m.file};
    uint64_t h = mt_hash_words(key, 5);
    const void *ctx[2] = {key, b};
    uint32_t i = mt_table_find(&b->map_by_key, h, map_is, ctx);
    if (i != MT_TABLE_NONE)
        return (uint64_t)i + 1;
    pb_mapping_t *mp = MT_VEC_PUSH(NULL, b->maps, b->nmaps, b->capmaps);
    uint64_t(*mk)[5] = MT_VEC_PUSH(NULL, b->map_key, b->nmaps, b->capmapkey);
    if (!mp || !mk)
        return UINT64_MAX;
    memcpy(*mk, key, sizeof(key));
    pb_mapping_t init = PERFTOOLS__PROFILES__MAPPING__INIT;
    *mp = init;
    mp->id = b->nmaps + 1;
    mp->memory_start = m.lo;
    mp->memory_limit = m.hi;
    mp->file_offset = 0;
    char hex[2 * sizeof(((mt_module_t *)0)->build_id) + 1];
    uint32_t n = m.build_id_len < 40 ? m.build_id_len : 40;
    for (uint32_t k = 0; k < n; k++)
        snprintf(hex + 2 * k, 3, "%02x", m.build_id[k]);
    hex[2 * n] = '\0';
    int64_t fi = str_index(b, m.path, false), bi = str_index(b, hex, true);
    if (fi < 0 || bi < 0 || mt_table_put(&b->map_by_key, h, (uint32_t)b->nmaps))
        return UINT64_MAX;
    mp->filename = fi;
    mp->build_id = bi;
    return ++b->nmaps;
}

static bool func_is(const void *ctx, uint32_t v)
{
    const int64_t *k = ((const int64_t *const *)ctx)[0];
    const builder_t *b = ((const builder_t *const *)ctx)[1];
    return b->funcs[v].name == k[0] && b->funcs[v].filename == k[1];
}

/* Function id of FR (which has a function name); 0 when out of memory. */
static uint64_t function_id(builder_t *b, const mt_frame_t *fr)
{
    int64_t key[2] = {str_index(b, fr->function, false), str_index(b, fr->file, false)};
    if (key[0] < 0 || key[1] < 0)
        return 0;
    uint64_t h = mt_hash_words((const uint64_t *)key, 2);
    const void *ctx[2] = {key, b};
    uint32_t i = mt_table_find(&b->func_by_key, h, func_is, ctx);
    if (i != MT_TABLE_NONE)
        return (uint64_t)i + 1;
    pb_function_t *f = MT_VEC_PUSH(NULL, b->funcs, b->nfuncs, b->capfuncs);
    if (!f || mt_table_put(&b->func_by_key, h, (uint32_t)b->nfuncs))
        return 0;
    pb_function_t init = PERFTOOLS__PROFILES__FUNCTION__INIT;
    *f = init;
    f->id = b->nfuncs + 1;
    f->name = key[0];
    f->system_name = key[0]; /* the trace keeps demangled names only */
    f->filename = key[1];
    return ++b->nfuncs;
}

static bool loc_is(const void *ctx, uint32_t v)
{
    const uint64_t *k = ((const uint64_t *const *)ctx)[0];
    const builder_t *b = ((const builder_t *const *)ctx)[1];
    return memcmp(b->loc_key[v], k, sizeof(b->loc_key[v])) == 0;
}

/* Location id of the source frames FR[N] of one pc (innermost first, the
 * last one not inlined) of TRACE at TS; 0 when out of memory. */
static uint64_t location_id(builder_t *b, uint32_t trace, uint64_t ts, const mt_frame_t *fr,
                            size_t n)
{
    uint64_t pc = fr[0].address;
    uint64_t map = mapping_id(b, trace, pc, ts);
    if (map == UINT64_MAX)
        return 0;
    uint64_t key[3] = {trace, map, pc};
    uint64_t h = mt_hash_words(key, 3);
    const void *ctx[2] = {key, b};
    uint32_t i = mt_table_find(&b->loc_by_key, h, loc_is, ctx);
    if (i != MT_TABLE_NONE)
        return (uint64_t)i + 1;
    pb_location_t *l = MT_VEC_PUSH(NULL, b->locs, b->nlocs, b->caplocs);
    uint64_t(*lk)[3] = MT_VEC_PUSH(NULL, b->loc_key, b->nlocs, b->caplockey);
    size_t *first = MT_VEC_PUSH(NULL, b->loc_first_line, b->nlocs, b->caplocfirst);
    if (!l || !lk || !first)
        return 0;
    memcpy(*lk, key, sizeof(key));
    pb_location_t init = PERFTOOLS__PROFILES__LOCATION__INIT;
    *l = init;
    l->id = b->nlocs + 1;
    l->mapping_id = map;
    l->address = pc ? pc - 1 : 0; /* inside the call instruction */
    *first = b->nlines;
    pb_mapping_t *mp = map ? &b->maps[map - 1] : NULL;
    for (size_t k = 0; k < n; k++) {
        if (!fr[k].function) /* no symbol: left for pprof to symbolize by mapping */
            continue;
        uint64_t fid = function_id(b, &fr[k]);
        pb_line_t *ln = MT_VEC_PUSH(NULL, b->lines, b->nlines, b->caplines);
        if (!fid || !ln)
            return 0;
        pb_line_t linit = PERFTOOLS__PROFILES__LINE__INIT;
        *ln = linit;
        ln->function_id = fid;
        ln->line = fr[k].line;
        b->nlines++;
        l->n_line++;
        if (mp) {
            mp->has_functions = true;
            mp->has_filenames |= fr[k].file != NULL;
            mp->has_line_numbers |= fr[k].line != 0;
            mp->has_inline_frames |= fr[k].inlined;
        }
    }
    if (mt_table_put(&b->loc_by_key, h, (uint32_t)b->nlocs))
        return 0;
    return ++b->nlocs;
}

/* Reads the thread names of TRACE into the string table, once: names[]
 * holds (trace << 32 | seq) -> string index. Returns 0 or ENOMEM. */
static int load_threads(builder_t *b, uint32_t trace)
{
    uint64_t loaded = (uint64_t)trace << 32 | UINT32_MAX; /* marks TRACE as read */
    if (mt_table_get(&b->thread_names, loaded) != MT_TABLE_NONE)
        return 0;
    mt_reader_t *r = b->rep->rp->traces[trace].reader;
    mt_thread_t t;
    uint64_t cursor = 0;
    while (mt_reader_next_thread(r, &cursor, &t) == 1) {
        char name[sizeof(t.name) + 1], buf[64];
        memcpy(name, t.name, sizeof(t.name));
        name[sizeof(t.name)] = '\0';
        if (name[0])
            mt_printable(buf, sizeof(buf), name);
        else
            snprintf(buf, sizeof(buf), "tid %" PRIu32, t.tid);
        int64_t si = str_index(b, buf, true);
        if (si < 0 || mt_table_put(&b->thread_names, (uint64_t)trace << 32 | t.seq, (uint32_t)si))
            return ENOMEM;
    }
    return mt_table_put(&b->thread_names, loaded, 0) ? ENOMEM : 0;
}

/* String index of the name of thread SEQ of TRACE; -1 when out of memory. */
static int64_t thread_name(builder_t *b, uint32_t trace, uint32_t seq)
{
    if (load_threads(b, trace))
        return -1;
    uint32_t si = mt_table_get(&b->thread_names, (uint64_t)trace << 32 | seq);
    if (si != MT_TABLE_NONE)
        return si;
    char buf[64]; /* not (yet) in the trace's thread records */
    snprintf(buf, sizeof(buf), "thread %" PRIu32, seq);
    return str_index(b, buf, true);
}

/* Adds a sample of LOCS[NLOCS] (already in loc_ids from FIRST) with the
 * values of the weighted sums; with a bucket, its labels. */
static int add_sample(builder_t *b, size_t first, uint64_t alloc_w, mt_u128 alloc_bw,
                      uint64_t live_w, mt_u128 live_bw, const bucket_t *bk,
                      mt_pprof_stats_t *st)
{
    int64_t v[NVALUES] = {
        (int64_t)mt_w_objects(alloc_w), (int64_t)mt_bw_bytes(alloc_bw),
        (int64_t)mt_w_objects(live_w), (int64_t)mt_bw_bytes(live_bw),
    };
    if (!v[0] && !v[1] && !v[2] && !v[3])
        return 0;
    pb_sample_t *s = MT_VEC_PUSH(NULL, b->samples, b->nsamples, b->capsamples);
    size_t *sf = MT_VEC_PUSH(NULL, b->sample_first_loc, b->nsamples, b->capsamplefirst);
    if (!s || !sf || mt_vec_reserve(NULL, &b->values, &b->capvalues, b->nvalues + NVALUES,
                                    sizeof(*b->values)))
        return ENOMEM;
    pb_sample_t init = PERFTOOLS__PROFILES__SAMPLE__INIT;
    *s = init;
    *sf = first;
    s->n_location_id = b->nloc_ids - first;
    memcpy(b->values + b->nvalues, v, sizeof(v));
    b->nvalues += NVALUES;
    s->n_value = NVALUES;
    st->alloc_objects += (uint64_t)v[0];
    st->alloc_space += (uint64_t)v[1];
    st->inuse_objects += (uint64_t)v[2];
    st->inuse_space += (uint64_t)v[3];
    if (b->with_labels &&
        mt_vec_reserve(NULL, &b->labels, &b->caplabels, b->nlabels + 2, sizeof(*b->labels)))
        return ENOMEM;
    if (b->with_labels)
        b->nlabels += 2; /* used or not: sample i's labels are at 2 i */
    if (bk) {
        pb_label_t linit = PERFTOOLS__PROFILES__LABEL__INIT;
        pb_label_t *l = b->labels + b->nlabels - 2;
        l[0] = linit;
        l[1] = linit;
        l[0].key = str_index(b, "thread", false);
        l[0].str = thread_name(b, bk->trace, bk->thread);
        l[1].key = str_index(b, "numa_node", false);
        l[1].num = bk->node;
        if (l[0].key < 0 || l[0].str < 0 || l[1].key < 0)
            return ENOMEM;
        s->n_label = bk->node >= 0 ? 2 : 1; /* node -1: unknown */
    }
    b->nsamples++;
    return 0;
}

/* Appends the location ids of ROW to loc_ids. Returns 0 or ENOMEM. */
static int row_locations(builder_t *b, const mt_row_t *row)
{
    for (size_t k = 0; k < row->nframes;) {
        size_t n = 1; /* the frames of one pc: inlined ones, then their caller */
        while (k + n - 1 < row->nframes - 1 && row->frames[k + n - 1].inlined)
            n++;
        uint64_t id = location_id(b, row->agg.trace, row->agg.ts, row->frames + k, n);
        uint64_t *slot = MT_VEC_PUSH(NULL, b->loc_ids, b->nloc_ids, b->caploc_ids);
        if (!id || !slot)
            return ENOMEM;
        *slot = id;
        b->nloc_ids++;
        k += n;
    }
    return 0;
}

static void builder_free(builder_t *b)
{
    for (size_t i = 0; i < b->nstrs; i++)
        if (b->owned[i])
            free(b->strs[i]);
    free(b->strs);
    free(b->owned);
    mt_table_free(&b->str_by_hash);
    free(b->maps);
    free(b->map_key);
    mt_table_free(&b->map_by_key);
    free(b->locs);
    free(b->loc_key);
    mt_table_free(&b->loc_by_key);
    free(b->lines);
    free(b->loc_first_line);
    free(b->funcs);
    mt_table_free(&b->func_by_key);
    free(b->samples);
    free(b->sample_first_loc);
    free(b->loc_ids);
    free(b->values);
    free(b->labels);
    mt_table_free(&b->thread_names);
}

/* gzip of IN[N] into *OUT (malloc'd), *LEN bytes. Returns 0, ENOMEM or EIO. */
static int gzip(const uint8_t *in, size_t n, uint8_t **out, size_t *len)
{
    z_stream z = {0};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16 /* gzip */, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return ENOMEM;
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&z);
        return ENOMEM;
    }
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    int zr = deflate(&z, Z_FINISH);
    *len = z.total_out;
    deflateEnd(&z);
    if (zr != Z_STREAM_END) {
        free(buf);
        return EIO;
    }
    *out = buf;
    return 0;
}

/* Fills the profile's pointers into the builder's arrays (which no longer
 * move), packs it and gzips it. */
static int pack(builder_t *b, const mt_pprof_options_t *o, uint8_t **out, size_t *len)
{
    const mt_replay_t *rp = b->rep->rp;
    pb_profile_t p = PERFTOOLS__PROFILES__PROFILE__INIT;
    static const char *const types[NVALUES][2] = {
        {"alloc_objects", "count"}, {"alloc_space", "bytes"},
        {"inuse_objects", "count"}, {"inuse_space", "bytes"},
    };
    pb_value_type_t vt[NVALUES], period;
    pb_value_type_t *vtp[NVALUES];
    pb_value_type_t vinit = PERFTOOLS__PROFILES__VALUE_TYPE__INIT;
    for (int i = 0; i < NVALUES; i++) {
        vt[i] = vinit;
        vt[i].type = str_index(b, types[i][0], false);
        vt[i].unit = str_index(b, types[i][1], false);
        vtp[i] = &vt[i];
    }
    period = vinit;
    period.type = str_index(b, "space", false);
    period.unit = str_index(b, "bytes", false);
    uint64_t interval = mt_report_sample_interval(rp);
    char comment[160];
    if (interval)
        snprintf(comment, sizeof(comment),
                 "mtrace: sampled every %" PRIu64 " bytes; values are estimates", interval);
    else
        snprintf(comment, sizeof(comment), "mtrace: every call recorded (exact)");
    int64_t comments[1] = {str_index(b, comment, true)};
    bool oom = comments[0] < 0 || period.type < 0 || period.unit < 0;
    for (int i = 0; i < NVALUES; i++)
        oom |= vt[i].type < 0 || vt[i].unit < 0;
    if (oom)
        return ENOMEM;

    int rc = ENOMEM;
    pb_sample_t **sp = malloc((b->nsamples + 1) * sizeof(*sp));
    pb_location_t **lp = malloc((b->nlocs + 1) * sizeof(*lp));
    pb_line_t **lnp = malloc((b->nlines + 1) * sizeof(*lnp));
    pb_mapping_t **mp = malloc((b->nmaps + 1) * sizeof(*mp));
    pb_function_t **fp = malloc((b->nfuncs + 1) * sizeof(*fp));
    pb_label_t **labp = malloc((b->nlabels + 1) * sizeof(*labp));
    uint8_t *raw = NULL;
    if (!sp || !lp || !lnp || !mp || !fp || !labp)
        goto out;
    for (size_t i = 0, lab = 0; i < b->nsamples; i++) {
        pb_sample_t *s = &b->samples[i];
        s->location_id = b->loc_ids + b->sample_first_loc[i];
        s->value = b->values + i * NVALUES;
        if (o->labels) {
            s->label = labp + lab;
            for (size_t k = 0; k < s->n_label; k++)
                labp[lab + k] = &b->labels[lab + k];
            lab += 2;
        }
        sp[i] = s;
    }
    for (size_t i = 0; i < b->nlines; i++)
        lnp[i] = &b->lines[i];
    for (size_t i = 0; i < b->nlocs; i++) {
        b->locs[i].line = lnp + b->loc_first_line[i];
        lp[i] = &b->locs[i];
    }
    for (size_t i = 0; i < b->nmaps; i++)
        mp[i] = &b->maps[i];
    for (size_t i = 0; i < b->nfuncs; i++)
        fp[i] = &b->funcs[i];
    p.n_sample_type = NVALUES;
    p.sample_type = vtp;
    p.n_sample = b->nsamples;
    p.sample = sp;
    p.n_mapping = b->nmaps;
    p.mapping = mp;
    p.n_location = b->nlocs;
    p.location = lp;
    p.n_function = b->nfuncs;
    p.function = fp;
    p.n_string_table = b->nstrs;
    p.string_table = b->strs;
    /* The window on the wall clock: the earliest trace's start + from. */
    uint64_t t0 = rp->ntraces ? rp->traces[0].info.start_realtime_ns - rp->traces[0].offset_ns : 0;
    p.time_nanos = (int64_t)(t0 + rp->win_from);
    p.duration_nanos = (int64_t)(rp->win_to - rp->win_from);
    p.period_type = &period;
    p.period = (int64_t)(interval ? interval : 1);
    p.n_comment = 1;
    p.comment = comments;
    p.default_sample_type = o->alloc_default ? vt[V_ALLOC_SPACE].type : vt[V_INUSE_SPACE].type;
    size_t n = perftools__profiles__profile__get_packed_size(&p);
    if (!(raw = malloc(n ? n : 1)))
        goto out;
    perftools__profiles__profile__pack(&p, raw);
    rc = gzip(raw, n, out, len);
out:
    free(raw);
    free(sp);
    free(lp);
    free(lnp);
    free(mp);
    free(fp);
    free(labp);
    return rc;
}

int mt_pprof_encode(const mt_report_t *rep, const mt_pprof_options_t *o, uint8_t **out,
                    size_t *len, mt_pprof_stats_t *stats)
{
    builder_t b = {.rep = rep};
    mt_pprof_stats_t st = {0};
    int rc = ENOMEM;
    if (str_index(&b, "", false) != 0)
        goto out;
    const labels_t *lab = o->labels ? o->labels_ctx : NULL;
    b.with_labels = o->labels;
    for (size_t r = 0; r < rep->nrows; r++) {
        const mt_row_t *row = &rep->rows[r];
        size_t first = b.nloc_ids;
        if ((rc = row_locations(&b, row)) != 0)
            goto out;
        const uint32_t *bi = lab ? row->extra : NULL; /* [n, cap, bucket...] */
        for (uint32_t k = 0; bi && k < bi[0]; k++) {
            const bucket_t *bk = &lab->b[bi[2 + k]];
            if ((rc = add_sample(&b, first, bk->alloc_w, bk->alloc_bw, bk->live_w, bk->live_bw,
                                 bk, &st)) != 0)
                goto out;
        }
        if (!bi && (rc = add_sample(&b, first, row->agg.alloc_w, row->agg.alloc_bw,
                                    row->agg.live_w, row->agg.live_bw, NULL, &st)) != 0)
            goto out;
    }
    rc = pack(&b, o, out, len);
    st.samples = b.nsamples;
    st.locations = b.nlocs;
    st.functions = b.nfuncs;
    st.mappings = b.nmaps;
out:
    builder_free(&b);
    if (stats)
        *stats = st;
    return rc;
}
