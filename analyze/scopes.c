/* scopes.c - the DWARF scopes that contain an address, from an index of
 * each compilation unit's scope tree built once, not from a walk of the
 * unit at every address.
 *
 * dwarf_getscopes walks a unit's DIEs from the top for every address (and
 * once more to find an inlined instance's abstract origin), and
 * dwarf_getscopes_die a third time: on a program whose units are large
 * (an interpreter's eval loop) that was millions of instructions per
 * address. Here a unit's top-level DIEs, and the children of each DIE an
 * address descends into, are read once and kept with their address ranges,
 * sorted; an address then finds its path by binary search. The path is the
 * one libdw takes: at each level the first child in DIE order whose ranges
 * hold the address, descending only into the tags libdw descends into.
 * Whatever the index does not model (imported units, an abstract origin
 * that is not a top-level DIE of the same unit, a libdw error) is answered
 * by libdw itself, so the answers are libdw's in every case.
 */
#include <elfutils/libdw.h>
#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "scopes.h"

typedef struct node {
    Dwarf_Die die;
    uint32_t parent;  /* node index; UINT32_MAX for the unit */
    uint32_t kids;    /* index in kidsets + 1; 0 not read yet */
    int tag;
    bool descend;     /* libdw descends into it: a scope tag with children */
} node_t;

typedef struct span {
    uint64_t lo, hi;
    uint32_t node;    /* nodes are numbered in DIE order among siblings */
} span_t;

typedef struct kidset {
    size_t first, n;  /* in spans, sorted by lo; maxhi alongside */
    int state;        /* 1 usable, -1 use libdw */
} kidset_t;

typedef struct unit {
    void *addr;       /* the unit DIE's */
    uint32_t root;    /* node of the unit DIE */
    void **top;       /* every top-level DIE's addr, sorted (abstract origins) */
    size_t ntop;
    int has_functions; /* -1 not known yet */
    bool libdw;       /* not modelled: ask libdw for every address */
} unit_t;

struct mt_scopes {
    node_t *nodes;
    size_t nnodes, nodes_cap;
    span_t *spans;
    uint64_t *maxhi;
    size_t nspans, spans_cap, maxhi_cap;
    kidset_t *kidsets;
    size_t nkidsets, kidsets_cap;
    unit_t *units;
    size_t nunits, units_cap;
    mt_table_t unit_by_addr;
    mt_table_t ranged_by_abbrev; /* abbrev -> 1 + whether it has low_pc or ranges */
    uint64_t dies_read, libdw_walks, abbrevs_probed;
};

bool mt__scopes_libdw_only; /* tests: answer everything with libdw */

mt_scopes_t *mt_scopes_new(void)
{
    return calloc(1, sizeof(mt_scopes_t));
}

void mt_scopes_free(mt_scopes_t *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->nunits; i++)
        free(x->units[i].top);
    free(x->units);
    free(x->nodes);
    free(x->spans);
    free(x->maxhi);
    free(x->kidsets);
    mt_table_free(&x->unit_by_addr);
    mt_table_free(&x->ranged_by_abbrev);
    free(x);
}

void mt_scopes_counts(const mt_scopes_t *x, uint64_t *dies_read, uint64_t *libdw_walks)
{
    *dies_read = x ? x->dies_read : 0;
    *libdw_walks = x ? x->libdw_walks : 0;
}

uint64_t mt_scopes_abbrevs_probed(const mt_scopes_t *x)
{
    return x ? x->abbrevs_probed : 0;
}

/* ---- libdw -------------------------------------------------------------- */

/* libdw's answer: dwarf_getscopes, then, when the innermost function-like
 * scope is an inlined instance, dwarf_getscopes_die on it (dwarf_getscopes
 * continues with the abstract definition's scopes, not the caller's). */
static int scopes_libdw(mt_scopes_t *x, Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die **scopes,
                        int *first)
{
    x->libdw_walks++;
    *scopes = NULL;
    int n = dwarf_getscopes(cu, pc, scopes);
    int f = 0;
    while (f < n && dwarf_tag(&(*scopes)[f]) != DW_TAG_inlined_subroutine &&
           dwarf_tag(&(*scopes)[f]) != DW_TAG_subprogram)
        f++;
    if (f < n && dwarf_tag(&(*scopes)[f]) == DW_TAG_inlined_subroutine) {
        Dwarf_Die inl = (*scopes)[f];
        free(*scopes);
        *scopes = NULL;
        n = dwarf_getscopes_die(&inl, scopes);
        f = 0;
    }
    *first = f;
    return n;
}

/* ---- the index ---------------------------------------------------------- */

/* The tags __libdw_visit_scopes descends into (may_have_scopes). */
static bool scope_tag(int tag)
{
    switch (tag) {
    case DW_TAG_compile_unit:
    case DW_TAG_module:
    case DW_TAG_lexical_block:
    case DW_TAG_with_stmt:
    case DW_TAG_catch_block:
    case DW_TAG_try_block:
    case DW_TAG_entry_point:
    case DW_TAG_inlined_subroutine:
    case DW_TAG_subprogram:
    case DW_TAG_namespace:
    case DW_TAG_class_type:
    case DW_TAG_structure_type:
        return true;
    default:
        return false;
    }
}

static uint32_t new_node(mt_scopes_t *x, const Dwarf_Die *d, uint32_t parent)
{
    node_t *n = MT_VEC_PUSH(NULL, x->nodes, x->nnodes, x->nodes_cap);
    if (!n || x->nnodes >= UINT32_MAX - 1)
        return UINT32_MAX;
    int tag = dwarf_tag((Dwarf_Die *)d);
    *n = (node_t){*d, parent, 0, tag, scope_tag(tag) && dwarf_haschildren((Dwarf_Die *)d) > 0};
    return (uint32_t)x->nnodes++;
}

static int cmp_span(const void *a, const void *b)
{
    const span_t *p = a, *q = b;
    if (p->lo != q->lo)
        return p->lo < q->lo ? -1 : 1;
    return p->node < q->node ? -1 : p->node > q->node;
}

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t p = (uintptr_t) * (void *const *)a, q = (uintptr_t) * (void *const *)b;
    return p < q ? -1 : p > q;
}

/* Whether D's abbreviation has DW_AT_low_pc or DW_AT_ranges (what
 * dwarf_hasattr reads from it), asked of libdw once per abbreviation: a
 * unit's thousands of top-level DIEs share a few dozen. dwarf_tag, called
 * on D before, has set D->abbrev (libdw's own cache of it). */
static bool ranged(mt_scopes_t *x, Dwarf_Die *d)
{
    uint64_t key = (uint64_t)(uintptr_t)d->abbrev;
    bool cacheable = d->abbrev && key != UINT64_MAX; /* DWARF_END_ABBREV is (void *)-1 */
    size_t slot = 0;
    if (cacheable && mt_table_probe(&x->ranged_by_abbrev, key, &slot))
        return mt_table_at(&x->ranged_by_abbrev, slot) == 2;
    x->abbrevs_probed++;
    bool r = dwarf_hasattr(d, DW_AT_low_pc) || dwarf_hasattr(d, DW_AT_ranges);
    if (cacheable)
        (void)mt_table_put_at(&x->ranged_by_abbrev, slot, key, r ? 2 : 1); /* no room: ask again */
    return r;
}

/* Reads the children of node NI: those whose ranges hold an address, with
 * their ranges (pc_match's dwarf_haspc), and for the unit the addresses
 * of all of them (TOP, when not NULL). Returns the kidset index, or -1. */
static long read_kids(mt_scopes_t *x, uint32_t ni, unit_t *top)
{
    kidset_t *ks = MT_VEC_PUSH(NULL, x->kidsets, x->nkidsets, x->kidsets_cap);
    if (!ks)
        return -1;
    size_t ki = x->nkidsets++;
    x->kidsets[ki] = (kidset_t){x->nspans, 0, -1};
    size_t top_cap = 0;
    Dwarf_Die child;
    Dwarf_Die parent = x->nodes[ni].die;
    int rc = dwarf_child(&parent, &child);
    if (rc < 0)
        return (long)ki;
    while (rc == 0) {
        x->dies_read++;
        if (dwarf_tag(&child) == DW_TAG_imported_unit)
            return (long)ki; /* its children count as siblings: libdw's case */
        if (top) {
            void **p = MT_VEC_PUSH(NULL, top->top, top->ntop, top_cap);
            if (!p)
                return (long)ki;
            *p = child.addr;
            top->ntop++;
        }
        Dwarf_Addr base, lo, hi;
        ptrdiff_t off = 0;
        uint32_t ci = UINT32_MAX;
        /* dwarf_ranges finds none without low_pc or ranges (its abbrev
         * says, without decoding the DIE): most top-level DIEs are types */
        if (!ranged(x, &child)) {
            rc = dwarf_siblingof(&child, &child);
            continue;
        }
        while ((off = dwarf_ranges(&child, off, &base, &lo, &hi)) > 0) {
            if (ci == UINT32_MAX && (ci = new_node(x, &child, ni)) == UINT32_MAX)
                return (long)ki;
            span_t *s = MT_VEC_PUSH(NULL, x->spans, x->nspans, x->spans_cap);
            if (!s)
                return (long)ki;
            *s = (span_t){lo, hi, ci};
            x->nspans++;
        }
        if (off < 0) { /* libdw tells errors from a missing section: let it */
            dwarf_errno();
            return (long)ki;
        }
        rc = dwarf_siblingof(&child, &child);
    }
    if (rc < 0)
        return (long)ki;
    ks = &x->kidsets[ki];
    ks->n = x->nspans - ks->first;
    bool sorted = true; /* DIEs mostly come in address order */
    for (size_t i = ks->first + 1; i < x->nspans && sorted; i++)
        sorted = cmp_span(&x->spans[i - 1], &x->spans[i]) <= 0;
    if (!sorted)
        qsort(x->spans + ks->first, ks->n, sizeof(*x->spans), cmp_span);
    if (mt_vec_reserve(NULL, &x->maxhi, &x->maxhi_cap, x->nspans, sizeof(*x->maxhi)))
        return (long)ki;
    for (size_t i = ks->first; i < x->nspans; i++)
        x->maxhi[i] = i > ks->first && x->maxhi[i - 1] > x->spans[i].hi ? x->maxhi[i - 1]
                                                                         : x->spans[i].hi;
    bool top_sorted = true; /* DIEs are read in the order they are stored */
    for (size_t i = 1; top && i < top->ntop && top_sorted; i++)
        top_sorted = (uintptr_t)top->top[i - 1] < (uintptr_t)top->top[i];
    if (top && !top_sorted)
        qsort(top->top, top->ntop, sizeof(*top->top), cmp_ptr);
    ks->state = 1;
    return (long)ki;
}

/* The child of node NI that libdw's walk enters for PC: the first in DIE
 * order whose ranges hold it. UINT32_MAX when none; *BAD when the index
 * cannot tell. */
static uint32_t kid_at(mt_scopes_t *x, uint32_t ni, Dwarf_Addr pc, unit_t *u, bool *bad)
{
    if (!x->nodes[ni].kids) {
        long k = read_kids(x, ni, ni == u->root ? u : NULL);
        if (k < 0) {
            *bad = true;
            return UINT32_MAX;
        }
        x->nodes[ni].kids = (uint32_t)k + 1;
    }
    const kidset_t *ks = &x->kidsets[x->nodes[ni].kids - 1];
    if (ks->state < 0) {
        *bad = true;
        return UINT32_MAX;
    }
    size_t lo = ks->first, hi = ks->first + ks->n; /* first span with lo > pc */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (x->spans[mid].lo <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint32_t best = UINT32_MAX;
    for (size_t i = lo; i > ks->first && x->maxhi[i - 1] > pc; i--)
        if (x->spans[i - 1].hi > pc && x->spans[i - 1].node < best)
            best = x->spans[i - 1].node;
    return best;
}

static unit_t *unit_of(mt_scopes_t *x, Dwarf_Die *cu)
{
    uint32_t v = mt_table_get(&x->unit_by_addr, (uint64_t)(uintptr_t)cu->addr);
    if (v != MT_TABLE_NONE)
        return &x->units[v];
    unit_t *u = MT_VEC_PUSH(NULL, x->units, x->nunits, x->units_cap);
    if (!u)
        return NULL;
    uint32_t root = new_node(x, cu, UINT32_MAX);
    if (root == UINT32_MAX ||
        mt_table_put(&x->unit_by_addr, (uint64_t)(uintptr_t)cu->addr, (uint32_t)x->nunits))
        return NULL;
    *u = (unit_t){cu->addr, root, NULL, 0, -1, false};
    x->nunits++;
    return u;
}

/* True when libdw's second walk (origin_match) finds the abstract origin of
 * the inlined instance D: its origin is a top-level DIE of unit U. *FAILS
 * when dwarf_getscopes fails on it (no origin). False: ask libdw. */
static bool origin_found(unit_t *u, Dwarf_Die *d, bool *fails)
{
    Dwarf_Attribute at;
    Dwarf_Die origin;
    *fails = false;
    if (!dwarf_formref_die(dwarf_attr(d, DW_AT_abstract_origin, &at), &origin)) {
        *fails = true;
        return true;
    }
    size_t lo = 0, hi = u->ntop;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if ((uintptr_t)u->top[mid] < (uintptr_t)origin.addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < u->ntop && u->top[lo] == origin.addr;
}

int mt_scopes_get(mt_scopes_t *x, Dwarf_Die *cu, Dwarf_Addr pc, Dwarf_Die **scopes, int *first)
{
    unit_t *u = mt__scopes_libdw_only ? NULL : unit_of(x, cu);
    if (!u || u->libdw)
        return scopes_libdw(x, cu, pc, scopes, first);
    /* The path libdw's walk takes. */
    uint32_t path[256];
    int depth = 0, inl = -1;
    bool bad = false;
    uint32_t ni = u->root;
    while (depth < (int)(sizeof(path) / sizeof(*path))) {
        uint32_t k = kid_at(x, ni, pc, u, &bad);
        if (bad) {
            if (ni == u->root)
                u->libdw = true;
            return scopes_libdw(x, cu, pc, scopes, first);
        }
        if (k == UINT32_MAX)
            break;
        path[depth] = k;
        if (x->nodes[k].tag == DW_TAG_inlined_subroutine)
            inl = depth;
        depth++;
        ni = k;
        if (!x->nodes[k].descend)
            break;
    }
    if (depth == (int)(sizeof(path) / sizeof(*path)))
        return scopes_libdw(x, cu, pc, scopes, first);
    *scopes = NULL;
    *first = 0;
    if (!depth)
        return 0; /* no scope holds it: dwarf_getscopes finds none */
    if (inl >= 0) {
        bool fails;
        if (!origin_found(u, &x->nodes[path[inl]].die, &fails))
            return scopes_libdw(x, cu, pc, scopes, first);
        if (fails)
            return -1;
    }
    int f = depth - 1; /* the innermost function-like scope */
    while (f >= 0 && x->nodes[path[f]].tag != DW_TAG_inlined_subroutine &&
           x->nodes[path[f]].tag != DW_TAG_subprogram)
        f--;
    if (f < 0)
        return 0; /* what dwarf_getscopes gives has no function either */
    /* From the innermost function-like scope out to the unit. */
    int n = f + 2;
    if (!(*scopes = malloc((size_t)n * sizeof(**scopes))))
        return -1;
    for (int i = 0; i <= f; i++)
        (*scopes)[i] = x->nodes[path[f - i]].die;
    (*scopes)[f + 1] = *cu;
    return n;
}

int mt_scopes_has_functions(mt_scopes_t *x, Dwarf_Die *cu)
{
    unit_t *u = unit_of(x, cu);
    if (u && u->has_functions >= 0)
        return u->has_functions;
    int r = 0;
    Dwarf_Die child;
    if (dwarf_child(cu, &child) == 0) {
        do {
            Dwarf_Addr lo;
            if (dwarf_tag(&child) == DW_TAG_subprogram &&
                (dwarf_lowpc(&child, &lo) == 0 || dwarf_hasattr(&child, DW_AT_ranges))) {
                r = 1;
                break;
            }
        } while (dwarf_siblingof(&child, &child) == 0);
    }
    if (u)
        u->has_functions = r;
    return r;
}
