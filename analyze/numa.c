/* numa.c - where allocations landed: the analysis behind `mtrace-analyze numa`.
 *
 * A replay hook follows, per trace (address space), every heap allocation
 * (ALLOC/FREE) and mmap region (MMAP/MUNMAP/MREMAP) as an object, the
 * PLACEMENT answers the shim's writer recorded for it (one query = the events
 * of one object with one timestamp: bytes per node or untouched), mbind
 * ranges and each thread's set_mempolicy. When an object ends (freed,
 * unmapped, or live at the end of the trace) its last answer is added to its
 * stack and to the totals: resident bytes per node, untouched, local or
 * remote against the allocating thread's node, and bytes on a node its
 * requested policy excludes. Two consecutive answers that differ move bytes
 * from node to node: a migration. Heap samples are weighted like replay's.
 * Memory: the live objects, the mbind ranges and the stacks, never events.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "numa.h"

#define NIL UINT32_MAX

typedef struct place {
    int32_t node;
    uint64_t bytes; /* not weighted */
} place_t;

typedef struct nobj {
    uint64_t key;         /* ptr | MT_OBJ_REGION; 0 = unused */
    uint64_t size, weight;
    uint32_t trace, stack; /* stack: index into rp->stacks */
    uint32_t next_free;
    int16_t alloc_node;   /* the allocating thread's node */
    uint8_t task_mode;    /* its thread's set_mempolicy when it was made */
    bool has_task;
    uint64_t task_mask;
    uint64_t pass_ts;     /* time of the answer in cur */
    place_t *prev, *cur;  /* the answer before, the last answer */
    uint32_t nprev, ncur, capprev, capcur;
} nobj_t;

typedef struct range {
    uint64_t lo, hi;
    uint32_t mode;
    uint64_t mask;
} range_t;

typedef struct task_pol {
    uint32_t thread;
    uint32_t mode;
    uint64_t mask;
} task_pol_t;

typedef struct vec {
    void *p;
    size_t n, cap;
} vec_t;

typedef struct per_trace {
    vec_t regions;  /* range_t of live regions, sorted by lo (for containment) */
    vec_t mbinds;   /* range_t, in call order */
    vec_t tasks;    /* task_pol_t */
} per_trace_t;

typedef struct priv {
    nobj_t *objs;
    size_t nobjs, capobjs;
    uint32_t free_head;
    mt_table_t by_key; /* obj_hash(trace, key) -> index in objs */
    per_trace_t *traces;
    size_t ntraces, captraces;
} priv_t;

static void *vec_push(vec_t *v, size_t size)
{
    void *x = mt_vec_push(NULL, &v->p, v->n, &v->cap, size);
    v->n += x != NULL;
    return x;
}

/* ---- objects: keyed by (trace, key) in the shared table ------------------- */

static uint64_t obj_hash(uint32_t trace, uint64_t key)
{
    return key ^ ((uint64_t)trace << 56 | trace);
}

typedef struct obj_key {
    const priv_t *p;
    uint32_t trace;
    uint64_t key;
} obj_key_t;

static bool obj_is(const void *ctx, uint32_t v)
{
    const obj_key_t *k = ctx;
    return k->p->objs[v].key == k->key && k->p->objs[v].trace == k->trace;
}

static nobj_t *find(priv_t *p, uint32_t trace, uint64_t key)
{
    obj_key_t k = {p, trace, key};
    uint32_t i = mt_table_find(&p->by_key, obj_hash(trace, key), obj_is, &k);
    return i == MT_TABLE_NONE ? NULL : &p->objs[i];
}

static nobj_t *obj_new(priv_t *p, uint32_t trace, uint64_t key)
{
    uint32_t idx = p->free_head;
    if (idx == NIL) {
        if (p->nobjs >= NIL - 1 || !MT_VEC_PUSH(NULL, p->objs, p->nobjs, p->capobjs))
            return NULL;
        idx = (uint32_t)p->nobjs;
        memset(&p->objs[idx], 0, sizeof(p->objs[idx]));
    }
    if (mt_table_put(&p->by_key, obj_hash(trace, key), idx))
        return NULL;
    if (idx == p->free_head)
        p->free_head = p->objs[idx].next_free;
    else
        p->nobjs++;
    nobj_t *o = &p->objs[idx];
    place_t *pv = o->prev, *cu = o->cur; /* keep the place buffers of a reused entry */
    uint32_t cp = o->capprev, cc = o->capcur;
    memset(o, 0, sizeof(*o));
    o->prev = pv, o->cur = cu, o->capprev = cp, o->capcur = cc;
    o->key = key;
    o->trace = trace;
    o->alloc_node = MT_NODE_UNKNOWN;
    return o;
}

static void obj_del(priv_t *p, nobj_t *o)
{
    uint32_t idx = (uint32_t)(o - p->objs);
    mt_table_del(&p->by_key, obj_hash(o->trace, o->key), idx);
    o->key = 0;
    o->next_free = p->free_head;
    p->free_head = idx;
}

/* ---- per trace ------------------------------------------------------------- */

static per_trace_t *trace_of(priv_t *p, uint32_t ti)
{
    if (ti >= p->ntraces) {
        if (mt_vec_reserve(NULL, &p->traces, &p->captraces, (size_t)ti + 1, sizeof(*p->traces)))
            return NULL;
        memset(p->traces + p->ntraces, 0, (ti + 1 - p->ntraces) * sizeof(*p->traces));
        p->ntraces = ti + 1;
    }
    return &p->traces[ti];
}

/* Index of the first region whose lo is above PTR. */
static size_t region_upper(const vec_t *v, uint64_t ptr)
{
    const range_t *r = v->p;
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid].lo <= ptr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int region_add(per_trace_t *t, uint64_t lo, uint64_t hi)
{
    if (!vec_push(&t->regions, sizeof(range_t)))
        return ENOMEM;
    range_t *r = t->regions.p;
    size_t at = region_upper(&t->regions, lo), n = t->regions.n - 1;
    if (at > n)
        at = n;
    memmove(r + at + 1, r + at, (n - at) * sizeof(*r));
    r[at] = (range_t){lo, hi, 0, 0};
    return 0;
}

static void region_remove(per_trace_t *t, uint64_t lo)
{
    range_t *r = t->regions.p;
    size_t at = region_upper(&t->regions, lo);
    while (at > 0 && r[at - 1].lo == lo) { /* the last one with this start */
        memmove(r + at - 1, r + at, (t->regions.n - at) * sizeof(*r));
        t->regions.n--;
        return;
    }
}

static bool in_region(const per_trace_t *t, uint64_t ptr)
{
    size_t at = region_upper(&t->regions, ptr);
    return at > 0 && ptr < ((const range_t *)t->regions.p)[at - 1].hi;
}

static const range_t *mbind_of(const per_trace_t *t, uint64_t ptr)
{
    const range_t *r = t->mbinds.p;
    for (size_t i = t->mbinds.n; i-- > 0;)
        if (ptr >= r[i].lo && ptr < r[i].hi)
            return &r[i];
    return NULL;
}

static task_pol_t *task_of(per_trace_t *t, uint32_t thread)
{
    task_pol_t *tp = t->tasks.p;
    for (size_t i = 0; i < t->tasks.n; i++)
        if (tp[i].thread == thread)
            return &tp[i];
    return NULL;
}

/* ---- per stack -------------------------------------------------------------- */

static mt_numa_stack_t *stack_at(mt_numa_t *nu, uint32_t si)
{
    if (si >= nu->nstacks) {
        /* nstacks is the capacity: every entry up to it is zeroed. */
        size_t old = nu->nstacks;
        if (mt_vec_reserve(NULL, &nu->stacks, &nu->nstacks, (size_t)si + 1, sizeof(*nu->stacks)))
            return NULL;
        memset(nu->stacks + old, 0, (nu->nstacks - old) * sizeof(*nu->stacks));
    }
    return &nu->stacks[si];
}

static mt_u128 *node_bw(mt_numa_stack_t *s)
{
    if (!s->node_bw)
        s->node_bw = calloc(MT_NUMA_NODES, sizeof(*s->node_bw));
    return s->node_bw;
}

/* ---- answers ---------------------------------------------------------------- */

static bool restricts(uint32_t mode, uint64_t mask)
{
    mode &= 0xff;
    return mask && (mode == MT_MPOL_PREFERRED || mode == MT_MPOL_BIND ||
                    mode == MT_MPOL_INTERLEAVE || mode == MT_MPOL_PREFERRED_MANY ||
                    mode == MT_MPOL_WEIGHTED_INTERLEAVE);
}

static uint64_t on_node(const place_t *pl, uint32_t n, int32_t node)
{
    uint64_t b = 0;
    for (uint32_t i = 0; i < n; i++)
        if (pl[i].node == node)
            b += pl[i].bytes;
    return b;
}

/* Bytes that left one node and arrived on another between O's last two answers. */
static int migration(mt_numa_t *nu, nobj_t *o, per_trace_t *t)
{
    if (!o->nprev || !o->ncur)
        return 0;
    uint64_t leave = 0, arrive = 0;
    for (uint32_t i = 0; i < o->nprev; i++) {
        int32_t n = o->prev[i].node;
        if (n < 0)
            continue;
        uint64_t a = on_node(o->prev, o->nprev, n), b = on_node(o->cur, o->ncur, n);
        bool first = true; /* count each node once */
        for (uint32_t k = 0; k < i; k++)
            first &= o->prev[k].node != n;
        if (first && a > b)
            leave += a - b;
    }
    for (uint32_t i = 0; i < o->ncur; i++) {
        int32_t n = o->cur[i].node;
        if (n < 0)
            continue;
        uint64_t a = on_node(o->prev, o->nprev, n), b = on_node(o->cur, o->ncur, n);
        bool first = true;
        for (uint32_t k = 0; k < i; k++)
            first &= o->cur[k].node != n;
        if (first && b > a)
            arrive += b - a;
    }
    uint64_t moved = leave < arrive ? leave : arrive;
    if (!moved)
        return 0;
    mt_numa_stack_t *s = stack_at(nu, o->stack);
    if (!s)
        return ENOMEM;
    mt_u128 bw = (mt_u128)moved * o->weight;
    s->migrated_bw += bw;
    s->migrations++;
    if (!(o->key & MT_OBJ_REGION) && in_region(t, o->key))
        return 0;
    nu->migrated_bw += bw;
    nu->migrations++;
    return 0;
}

/* O ends (freed, unmapped, or live at the end: AT_END): its last answer
 * goes to its stack and the totals. */
static int settle(mt_numa_t *nu, nobj_t *o, bool at_end)
{
    priv_t *p = nu->priv;
    per_trace_t *t = trace_of(p, o->trace);
    mt_numa_stack_t *s = stack_at(nu, o->stack);
    if (!t || !s)
        return ENOMEM;
    int rc = migration(nu, o, t);
    if (rc)
        return rc;
    bool region = o->key & MT_OBJ_REGION;
    uint64_t ptr = o->key & ~(uint64_t)MT_OBJ_REGION;
    if (region) {
        s->regions++;
        nu->regions++;
    } else {
        s->heap_objects++;
        nu->heap_objects++;
    }
    if (!o->ncur) {
        s->unplaced_bw += (mt_u128)o->size * o->weight;
        nu->unplaced_bw += (mt_u128)o->size * o->weight;
        return 0;
    }
    if (region)
        nu->regions_placed++;
    else
        nu->heap_placed++;
    bool inside = !region && in_region(t, ptr); /* the region counts these pages */
    uint32_t mode = 0;
    uint64_t mask = 0;
    const range_t *mb = mbind_of(t, ptr);
    if (mb) {
        mode = mb->mode, mask = mb->mask;
        s->req_source = MT_NUMA_REQ_MBIND;
    } else if (o->has_task) {
        mode = o->task_mode, mask = o->task_mask;
        s->req_source = MT_NUMA_REQ_TASK;
    }
    if (mb || o->has_task) {
        s->req_mode = (uint8_t)mode;
        s->req_mask = mask;
    }
    bool mismatched = false, remote = false;
    for (uint32_t i = 0; i < o->ncur; i++) {
        mt_u128 bw = (mt_u128)o->cur[i].bytes * o->weight;
        int32_t n = o->cur[i].node;
        if (n == MT_NODE_UNTOUCHED) {
            s->untouched_bw += bw;
            if (!inside) {
                nu->untouched_bw += bw;
                *(region ? &nu->region_untouched_bw : &nu->heap_untouched_bw) += bw;
            }
            continue;
        }
        if (n < 0 || n >= MT_NUMA_NODES) {
            s->unknown_bw += bw;
            if (!inside)
                nu->unknown_bw += bw;
            continue;
        }
        mt_u128 *sn = node_bw(s);
        if (!sn)
            return ENOMEM;
        sn[n] += bw;
        (region ? nu->region_bw : nu->heap_bw)[n] += bw;
        bool is_remote = o->alloc_node >= 0 && n != o->alloc_node;
        bool is_mismatch = restricts(mode, mask) && (n >= 64 || !(mask >> n & 1));
        if (o->alloc_node >= 0)
            *(is_remote ? &s->remote_bw : &s->local_bw) += bw;
        if (is_mismatch)
            s->mismatch_bw += bw;
        if (inside)
            continue;
        nu->resident_bw[n] += bw;
        nu->nodes_seen |= 1ull << n;
        if (at_end)
            nu->live_resident_bw[n] += bw;
        if (o->alloc_node >= 0)
            *(is_remote ? &nu->remote_bw : &nu->local_bw) += bw;
        if (is_mismatch)
            nu->mismatch_bw += bw;
        mismatched |= is_mismatch;
        remote |= is_remote;
    }
    nu->mismatched_objects += mismatched;
    nu->remote_objects += remote;
    return 0;
}

/* Settles and forgets O (and its region range). */
static int end_obj(mt_numa_t *nu, nobj_t *o)
{
    priv_t *p = nu->priv;
    int rc = settle(nu, o, false);
    if (o->key & MT_OBJ_REGION) {
        per_trace_t *t = trace_of(p, o->trace);
        if (t)
            region_remove(t, o->key & ~(uint64_t)MT_OBJ_REGION);
    }
    obj_del(p, o);
    return rc;
}

static int add_place(place_t **pl, uint32_t *n, uint32_t *cap, int32_t node, uint64_t bytes)
{
    for (uint32_t i = 0; i < *n; i++)
        if ((*pl)[i].node == node) {
            (*pl)[i].bytes += bytes;
            return 0;
        }
    if (*n == *cap) {
        uint32_t c = *cap ? 2 * *cap : 2;
        place_t *g = realloc(*pl, c * sizeof(*g));
        if (!g)
            return ENOMEM;
        *pl = g;
        *cap = c;
    }
    (*pl)[(*n)++] = (place_t){node, bytes};
    return 0;
}

static int on_placement(mt_numa_t *nu, priv_t *p, uint32_t ti, const mt_event_t *e)
{
    nu->placements++;
    nobj_t *o = find(p, ti, e->ptr | MT_OBJ_REGION);
    if (!o && !(e->ptr & MT_OBJ_REGION))
        o = find(p, ti, e->ptr);
    if (!o) { /* its object ended before the answer was replayed */
        nu->orphan_placements++;
        return 0;
    }
    if (!o->ncur || o->pass_ts != e->ts) { /* a new answer */
        per_trace_t *t = trace_of(p, ti);
        if (!t)
            return ENOMEM;
        int rc = migration(nu, o, t);
        if (rc)
            return rc;
        place_t *sw = o->prev;
        uint32_t swcap = o->capprev;
        o->prev = o->cur, o->nprev = o->ncur, o->capprev = o->capcur;
        o->cur = sw, o->ncur = 0, o->capcur = swcap;
        o->pass_ts = e->ts;
    }
    return add_place(&o->cur, &o->ncur, &o->capcur, e->node, e->size);
}

/* A new object of trace TI at KEY from event E (its stack, size, node). */
static int begin_obj(mt_numa_t *nu, mt_replay_t *rp, uint32_t ti, uint32_t thread, uint64_t key,
                     const mt_event_t *e, uint32_t stack_id, uint64_t weight)
{
    priv_t *p = nu->priv;
    per_trace_t *t = trace_of(p, ti);
    if (!t)
        return ENOMEM;
    nobj_t *old = find(p, ti, key);
    if (old) { /* its end was not recorded: replaced */
        int rc = end_obj(nu, old);
        if (rc)
            return rc;
    }
    uint32_t si = mt_replay_stack_index(rp, ti, stack_id);
    if (si == UINT32_MAX || !stack_at(nu, si))
        return ENOMEM;
    nobj_t *o = obj_new(p, ti, key);
    if (!o)
        return ENOMEM;
    o->size = e->size;
    o->weight = weight;
    o->stack = si;
    o->alloc_node = e->node;
    const task_pol_t *tp = task_of(t, thread);
    if (tp) {
        o->has_task = true;
        o->task_mode = (uint8_t)tp->mode;
        o->task_mask = tp->mask;
    }
    if (key & MT_OBJ_REGION)
        return region_add(t, e->ptr, e->ptr + e->size);
    return 0;
}

static int on_policy(mt_numa_t *nu, mt_replay_t *rp, uint32_t ti, uint32_t thread,
                     const mt_event_t *e)
{
    priv_t *p = nu->priv;
    if (e->kind > MT_PK_MAX)
        return 0;
    uint32_t si = mt_replay_stack_index(rp, ti, e->stack);
    mt_numa_stack_t *s = si == UINT32_MAX ? NULL : stack_at(nu, si);
    per_trace_t *t = trace_of(p, ti);
    if (!s || !t)
        return ENOMEM;
    bool failed = (int64_t)e->arg[2] < 0;
    nu->call_events[e->kind]++;
    nu->calls_failed += failed;
    s->calls[e->kind]++;
    s->calls_failed += failed;
    s->call_mode = (uint32_t)e->arg[1];
    s->call_mask = e->arg[0];
    s->call_arg = e->ptr;
    if (failed)
        return 0;
    if (e->kind == MT_PK_MBIND && e->size) {
        range_t *r = vec_push(&t->mbinds, sizeof(*r));
        if (!r)
            return ENOMEM;
        *r = (range_t){e->ptr, e->ptr + e->size, (uint32_t)e->arg[1], e->arg[0]};
    } else if (e->kind == MT_PK_SET_MEMPOLICY) {
        uint32_t mode = (uint32_t)e->arg[1];
        task_pol_t *tp = task_of(t, thread);
        if ((mode & 0xff) == MT_MPOL_DEFAULT) {
            if (tp) /* back to the default: forget it */
                *tp = ((task_pol_t *)t->tasks.p)[--t->tasks.n];
            return 0;
        }
        if (!tp && !(tp = vec_push(&t->tasks, sizeof(*tp))))
            return ENOMEM;
        *tp = (task_pol_t){thread, mode, e->arg[0]};
    }
    return 0;
}

typedef struct obj_ctx {
    priv_t *p;
    uint32_t trace;
} obj_ctx_t;

static bool obj_live(void *ctx, uint64_t key, uint64_t *size)
{
    obj_ctx_t *c = ctx;
    nobj_t *o = find(c->p, c->trace, key);
    if (o)
        *size = o->size;
    return o != NULL;
}

/* Applies the object steps of E (format/objects.h has the rules, shared with
 * the shim's placement poller): an object ends settled with the answers and
 * the policy it had; a region that continues another (trimmed by munmap,
 * moved by mremap) keeps the stack and node of the one it continues. */
static int apply_objects(mt_numa_t *nu, mt_replay_t *rp, uint32_t ti, uint32_t thread,
                         const mt_event_t *e)
{
    priv_t *p = nu->priv;
    obj_ctx_t c = {p, ti};
    mt_obj_step_t steps[MT_OBJ_MAX_STEPS];
    size_t n = mt_obj_steps(e, obj_live, &c, steps);
    uint64_t ended_key = 0;
    uint32_t ended_stack = 0;
    int16_t ended_node = 0;
    for (size_t i = 0; i < n; i++) {
        const mt_obj_step_t *st = &steps[i];
        int rc;
        if (st->op == MT_OBJ_END) {
            nobj_t *o = find(p, ti, st->key);
            ended_key = st->key;
            ended_stack = rp->stacks[o->stack].id;
            ended_node = o->alloc_node;
            rc = end_obj(nu, o);
        } else if (!(st->key & MT_OBJ_REGION)) {
            rc = begin_obj(nu, rp, ti, thread, st->key, e, e->stack, mt_event_weight(e));
        } else {
            mt_event_t made = *e;
            made.ptr = st->key & ~(uint64_t)MT_OBJ_REGION;
            made.size = st->size;
            uint32_t stack = e->stack;
            if (st->from && st->from == ended_key) {
                stack = ended_stack;
                made.node = ended_node;
            }
            rc = begin_obj(nu, rp, ti, thread, st->key, &made, stack, MT_WEIGHT_ONE);
        }
        if (rc)
            return rc;
    }
    return 0;
}

static int hook(void *ctx, mt_replay_t *rp, uint32_t ti, uint32_t thread, const mt_event_t *e)
{
    mt_numa_t *nu = ctx;
    priv_t *p = nu->priv;
    switch (e->type) {
    case MT_EV_ALLOC:
        /* With --from, the heap is the window's allocations, as in top. */
        if (!mt_replay_in_window(rp))
            return 0;
        return apply_objects(nu, rp, ti, thread, e);
    case MT_EV_FREE:
    case MT_EV_MMAP:
    case MT_EV_MREMAP:
        return apply_objects(nu, rp, ti, thread, e);
    case MT_EV_MUNMAP: {
        per_trace_t *t = trace_of(p, ti);
        int rc = t ? apply_objects(nu, rp, ti, thread, e) : ENOMEM;
        if (rc)
            return rc;
        /* Policies of the unmapped range end with it (after the region
         * was settled with them). */
        range_t *r = t->mbinds.p;
        size_t k = 0;
        for (size_t i = 0; i < t->mbinds.n; i++)
            if (!(r[i].lo >= e->ptr && r[i].hi <= e->ptr + e->size))
                r[k++] = r[i];
        t->mbinds.n = k;
        return 0;
    }
    case MT_EV_POLICY:
        return on_policy(nu, rp, ti, thread, e);
    case MT_EV_PLACEMENT:
        return on_placement(nu, p, ti, e);
    default:
        return 0;
    }
}

/* ---- API ------------------------------------------------------------------- */

int mt_numa_init(mt_numa_t *nu, mt_replay_options_t *opt)
{
    memset(nu, 0, sizeof(*nu));
    priv_t *p = calloc(1, sizeof(*p));
    if (!p)
        return ENOMEM;
    p->free_head = NIL;
    nu->priv = p;
    opt->on_event = hook;
    opt->ctx = nu;
    return 0;
}

int mt_numa_finish(mt_numa_t *nu, mt_replay_t *rp)
{
    priv_t *p = nu->priv;
    /* Objects live at the end: their last answer, in table order. */
    for (size_t i = 0; i < p->nobjs; i++) {
        nobj_t *o = &p->objs[i];
        if (!o->key)
            continue;
        int rc = settle(nu, o, true);
        if (rc)
            return rc;
    }
    bool exact = false;
    for (size_t i = 0; i < rp->ntraces; i++) {
        mt_reader_t *r = rp->traces[i].reader;
        const void *val;
        size_t len;
        if (!nu->has_topo && mt_reader_meta(r, MT_META_TOPOLOGY, &val, &len) == 0 &&
            mt_topology_decode(val, len, &nu->topo) == 0)
            nu->has_topo = true;
        for (int k = 0; k <= MT_PK_MAX; k++) {
            mt_counter_t c;
            int rc = mt_reader_counter(r, mt_policy_names[k], &c);
            if (rc == MT_ENOTFOUND)
                continue;
            if (rc) {
                rp->err_trace = i;
                rp->err_block = 0;
                return rc;
            }
            nu->calls[k] += c.calls;
            exact = true;
        }
    }
    if (!exact)
        memcpy(nu->calls, nu->call_events, sizeof(nu->calls));
    /* Parallel to rp->stacks from here on (stack_at only grew it for
     * existing stacks, so entries past rp->nstacks hold nothing). */
    if (rp->nstacks && !stack_at(nu, (uint32_t)(rp->nstacks - 1)))
        return ENOMEM;
    nu->nstacks = rp->nstacks;
    return 0;
}

void mt_numa_free(mt_numa_t *nu)
{
    priv_t *p = nu->priv;
    if (p) {
        for (size_t i = 0; i < p->nobjs; i++) {
            free(p->objs[i].prev);
            free(p->objs[i].cur);
        }
        free(p->objs);
        mt_table_free(&p->by_key);
        for (size_t i = 0; i < p->ntraces; i++) {
            free(p->traces[i].regions.p);
            free(p->traces[i].mbinds.p);
            free(p->traces[i].tasks.p);
        }
        free(p->traces);
        free(p);
    }
    if (nu->stacks)
        for (size_t i = 0; i < nu->nstacks; i++)
            free(nu->stacks[i].node_bw);
    free(nu->stacks);
    memset(nu, 0, sizeof(*nu));
}

void mt_numa_stack_add(mt_numa_stack_t *a, const mt_numa_stack_t *b)
{
    for (int n = 0; b->node_bw && n < MT_NUMA_NODES; n++)
        a->node_bw[n] += b->node_bw[n];
    a->untouched_bw += b->untouched_bw;
    a->unknown_bw += b->unknown_bw;
    a->unplaced_bw += b->unplaced_bw;
    a->local_bw += b->local_bw;
    a->remote_bw += b->remote_bw;
    a->migrated_bw += b->migrated_bw;
    a->mismatch_bw += b->mismatch_bw;
    a->heap_objects += b->heap_objects;
    a->regions += b->regions;
    a->migrations += b->migrations;
    if (b->req_source) {
        a->req_source = b->req_source;
        a->req_mode = b->req_mode;
        a->req_mask = b->req_mask;
    }
    for (int k = 0; k <= MT_PK_MAX; k++)
        a->calls[k] += b->calls[k];
    a->calls_failed += b->calls_failed;
    if (b->calls[0] || b->calls[1] || b->calls[2] || b->calls[3]) {
        a->call_mode = b->call_mode;
        a->call_mask = b->call_mask;
        a->call_arg = b->call_arg;
    }
}

uint64_t mt_numa_stack_resident(const mt_numa_stack_t *s)
{
    mt_u128 bw = 0;
    for (int n = 0; s->node_bw && n < MT_NUMA_NODES; n++)
        bw += s->node_bw[n];
    return mt_bw_bytes(bw);
}

const char *mt_numa_mode_name(uint32_t mode, char buf[32])
{
    static const char *const names[] = {"default", "preferred", "bind", "interleave",
                                        "local", "preferred_many", "weighted_interleave"};
    uint32_t m = mode & 0xff;
    if (m < sizeof(names) / sizeof(names[0]))
        return names[m];
    snprintf(buf, 32, "mode %" PRIu32, m);
    return buf;
}

const char *mt_numa_mask_text(uint64_t mask, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    if (!mask) {
        snprintf(buf, cap, "none");
        return buf;
    }
    for (int n = 0; n < 64; n++) {
        if (!(mask >> n & 1))
            continue;
        int end = n;
        while (end + 1 < 64 && (mask >> (end + 1) & 1))
            end++;
        int w = end > n ? snprintf(buf + len, cap - len, "%s%d-%d", len ? "," : "", n, end)
                        : snprintf(buf + len, cap - len, "%s%d", len ? "," : "", n);
        if (w < 0 || (size_t)w >= cap - len)
            break;
        len += (size_t)w;
        n = end;
    }
    return buf;
}
