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
 * Steps from a DIE to its sibling are taken here from the abbreviation
 * (its attributes' forms, read from libdw once) and DW_AT_sibling, not
 * by dwarf_siblingof and dwarf_tag, which decode every attribute and look
 * the abbreviation up under a lock at each DIE; the rare steps not modelled
 * (no sibling attribute past children, a null entry next) are libdw's.
 */
#include <elfutils/libdw.h>
#include <dwarf.h>
#include <libelf.h>
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

#define MT__CODE_CACHE 1024
typedef struct code_slot {
    void *cu; /* a Dwarf_CU; NULL: empty */
    uint32_t code, abbr;
} code_slot_t;

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
    struct abbr *abbrs;          /* what the walk knows of each abbreviation */
    size_t nabbrs, abbrs_cap;
    mt_table_t abbr_by_ptr;      /* libdw's abbreviation -> index in abbrs */
    code_slot_t code_cache[MT__CODE_CACHE]; /* (unit, code) -> abbrs index */
    uint32_t *attrs;             /* the abbreviations' attributes */
    size_t nattrs, attrs_cap;
    uint64_t dies_read, libdw_walks, abbrevs_probed, libdw_siblings;
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
    mt_table_free(&x->abbr_by_ptr);
    free(x->abbrs);
    free(x->attrs);
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

uint64_t mt_scopes_libdw_siblings(const mt_scopes_t *x)
{
    return x ? x->libdw_siblings : 0;
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

/* The unit a walk of siblings is in: its bytes, as its header gives them. */
typedef struct walk {
    const uint8_t *start, *end; /* the unit header; the end of the unit */
    unsigned offset_size, address_size, version;
    bool ok;                    /* little-endian DWARF 2-5: the walk's own */
} walk_t;

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static walk_t walk_of(Dwarf_Die *parent)
{
    walk_t w = {0};
    Dwarf_Die cu;
    Dwarf_Half version;
    uint8_t asz, osz;
    Dwarf *dw = dwarf_cu_getdwarf(parent->cu);
    Elf *elf = dw ? dwarf_getelf(dw) : NULL;
    const char *ident = elf ? elf_getident(elf, NULL) : NULL;
    if (!ident || ident[EI_DATA] != ELFDATA2LSB ||
        !dwarf_cu_die(parent->cu, &cu, &version, NULL, &asz, &osz, NULL, NULL) ||
        version < 2 || version > 5 || (osz != 4 && osz != 8) || (asz != 4 && asz != 8))
        return w;
    w.start = (const uint8_t *)parent->addr - dwarf_cuoffset(parent);
    uint64_t len = le(w.start, 4);
    if (len == 0xffffffff && osz == 8)
        w.end = w.start + 12 + le(w.start + 4, 8);
    else if (len < 0xfffffff0 && osz == 4)
        w.end = w.start + 4 + len;
    else
        return w;
    w.offset_size = osz;
    w.address_size = asz;
    w.version = version;
    w.ok = w.end > (const uint8_t *)parent->addr;
    return w;
}

static const uint8_t *skip_uleb(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; p < end; shift += 7) {
        uint8_t b = *p++;
        if (shift < 64)
            r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (v)
                *v = r;
            return p;
        }
    }
    return NULL;
}

/* What the walk needs of an abbreviation, read from libdw once: its
 * attributes' names and forms, whether it has children, and whether it has
 * DW_AT_low_pc or DW_AT_ranges (all dwarf_hasattr reads). A unit's
 * thousands of top-level DIEs share a few dozen abbreviations. */
typedef struct abbr {
    Dwarf_Abbrev *ab;
    uint32_t first, n; /* attributes in x->attrs: name << 16 | form */
    int32_t fixed;     /* bytes from the code's end to DW_AT_sibling's value (when
                        * sib), else to the DIE's end; -1: not the same for all */
    int tag;
    bool children, ranged, known; /* known: every form's size is known here */
    bool sib;          /* DW_AT_sibling, ref4, with fixed-size attributes before */
} abbr_t;

/* Size of FORM's value when the same for every value, else -1. */
static int fixed_size(const walk_t *w, unsigned form)
{
    switch (form) {
    case DW_FORM_flag_present: case DW_FORM_implicit_const:
        return 0;
    case DW_FORM_addr:
        return (int)w->address_size;
    case DW_FORM_data1: case DW_FORM_ref1: case DW_FORM_flag: case DW_FORM_strx1:
    case DW_FORM_addrx1:
        return 1;
    case DW_FORM_data2: case DW_FORM_ref2: case DW_FORM_strx2: case DW_FORM_addrx2:
        return 2;
    case DW_FORM_strx3: case DW_FORM_addrx3:
        return 3;
    case DW_FORM_data4: case DW_FORM_ref4: case DW_FORM_strx4: case DW_FORM_addrx4:
    case DW_FORM_ref_sup4:
        return 4;
    case DW_FORM_data8: case DW_FORM_ref8: case DW_FORM_ref_sig8: case DW_FORM_ref_sup8:
        return 8;
    case DW_FORM_data16:
        return 16;
    case DW_FORM_ref_addr:
        return (int)(w->version == 2 ? w->address_size : w->offset_size);
    case DW_FORM_strp: case DW_FORM_line_strp: case DW_FORM_sec_offset: case DW_FORM_strp_sup:
    case DW_FORM_GNU_ref_alt: case DW_FORM_GNU_strp_alt:
        return (int)w->offset_size;
    default:
        return -1;
    }
}

/* D's abbreviation (libdw's, which dwarf_tag, called on D before, left in
 * D->abbrev), or NULL when libdw has none. */
static const abbr_t *abbr_of(mt_scopes_t *x, const walk_t *w, Dwarf_Die *d)
{
    uint64_t key = (uint64_t)(uintptr_t)d->abbrev;
    if (!d->abbrev || key == UINT64_MAX) /* DWARF_END_ABBREV is (void *)-1 */
        return NULL;
    size_t slot;
    if (mt_table_probe(&x->abbr_by_ptr, key, &slot))
        return &x->abbrs[mt_table_at(&x->abbr_by_ptr, slot)];
    x->abbrevs_probed++;
    abbr_t a = {d->abbrev, (uint32_t)x->nattrs, 0, 0, (int)dwarf_getabbrevtag(d->abbrev),
                dwarf_abbrevhaschildren(d->abbrev) > 0,
                dwarf_hasattr(d, DW_AT_low_pc) || dwarf_hasattr(d, DW_AT_ranges), w->ok, false};
    size_t cnt;
    if (dwarf_getattrcnt(d->abbrev, &cnt) != 0 || cnt > 0xffff)
        a.known = false;
    for (size_t i = 0; a.known && i < cnt; i++) {
        unsigned name, form;
        Dwarf_Sword data;
        uint32_t *e = MT_VEC_PUSH(NULL, x->attrs, x->nattrs, x->attrs_cap);
        if (!e || dwarf_getabbrevattr_data(d->abbrev, i, &name, &form, &data, NULL) != 0 ||
            name > 0xffff || form > 0xffff) {
            a.known = false;
            break;
        }
        *e = name << 16 | form;
        x->nattrs++;
        a.n++;
        if (a.fixed >= 0 && !a.sib) {
            if (name == DW_AT_sibling && form == DW_FORM_ref4)
                a.sib = true;
            else if (name == DW_AT_sibling || fixed_size(w, form) < 0)
                a.fixed = -1;
            else
                a.fixed += fixed_size(w, form);
        }
    }
    if (!a.known)
        a.fixed = -1;
    abbr_t *p = MT_VEC_PUSH(NULL, x->abbrs, x->nabbrs, x->abbrs_cap);
    if (!p || x->nabbrs >= UINT32_MAX - 1)
        return NULL;
    *p = a;
    if (mt_table_put_at(&x->abbr_by_ptr, slot, key, (uint32_t)x->nabbrs))
        return NULL;
    return &x->abbrs[x->nabbrs++];
}

/* D's abbreviation by its code in its unit, remembered here, which sets
 * D->abbrev as libdw's dwarf_tag would (to the same libdw abbreviation);
 * NULL when libdw has none for it. */
static const abbr_t *abbr_at(mt_scopes_t *x, const walk_t *w, Dwarf_Die *d)
{
    uint64_t code = 0;
    const uint8_t *p = w->ok ? skip_uleb(d->addr, w->end, &code) : NULL;
    size_t h = 0;
    if (p && code < 0x8000) {
        h = (size_t)((((uintptr_t)d->cu >> 4) * 31 + code) & (MT__CODE_CACHE - 1));
        if (x->code_cache[h].cu == d->cu && x->code_cache[h].code == code) {
            const abbr_t *a = &x->abbrs[x->code_cache[h].abbr];
            if (!d->abbrev)
                d->abbrev = a->ab;
            if (d->abbrev == a->ab)
                return a;
        }
    }
    dwarf_tag(d); /* libdw finds the abbreviation */
    const abbr_t *a = abbr_of(x, w, d);
    if (a && p && code < 0x8000)
        x->code_cache[h] = (code_slot_t){d->cu, (uint32_t)code, (uint32_t)(a - x->abbrs)};
    return a;
}

/* P past an attribute value of FORM; NULL when the form is not one sized
 * here (libdw then walks) or the value runs past END. */
static const uint8_t *skip_form(const walk_t *w, unsigned form, const uint8_t *p,
                                const uint8_t *end)
{
    uint64_t n = 0;
    switch (form) {
    case DW_FORM_flag_present:
    case DW_FORM_implicit_const:
        return p;
    case DW_FORM_addr:
        n = w->address_size;
        break;
    case DW_FORM_data1: case DW_FORM_ref1: case DW_FORM_flag: case DW_FORM_strx1:
    case DW_FORM_addrx1:
        n = 1;
        break;
    case DW_FORM_data2: case DW_FORM_ref2: case DW_FORM_strx2: case DW_FORM_addrx2:
        n = 2;
        break;
    case DW_FORM_strx3: case DW_FORM_addrx3:
        n = 3;
        break;
    case DW_FORM_data4: case DW_FORM_ref4: case DW_FORM_strx4: case DW_FORM_addrx4:
    case DW_FORM_ref_sup4:
        n = 4;
        break;
    case DW_FORM_data8: case DW_FORM_ref8: case DW_FORM_ref_sig8: case DW_FORM_ref_sup8:
        n = 8;
        break;
    case DW_FORM_data16:
        n = 16;
        break;
    case DW_FORM_ref_addr:
        n = w->version == 2 ? w->address_size : w->offset_size;
        break;
    case DW_FORM_strp: case DW_FORM_line_strp: case DW_FORM_sec_offset: case DW_FORM_strp_sup:
    case DW_FORM_GNU_ref_alt: case DW_FORM_GNU_strp_alt:
        n = w->offset_size;
        break;
    case DW_FORM_udata: case DW_FORM_sdata: case DW_FORM_ref_udata: case DW_FORM_strx:
    case DW_FORM_addrx: case DW_FORM_loclistx: case DW_FORM_rnglistx:
    case DW_FORM_GNU_addr_index: case DW_FORM_GNU_str_index:
        return skip_uleb(p, end, NULL);
    case DW_FORM_string: {
        const uint8_t *z = memchr(p, 0, (size_t)(end - p));
        return z ? z + 1 : NULL;
    }
    case DW_FORM_block1:
        if (p >= end)
            return NULL;
        n = 1 + (uint64_t)*p;
        break;
    case DW_FORM_block2:
        if (end - p < 2)
            return NULL;
        n = 2 + le(p, 2);
        break;
    case DW_FORM_block4:
        if (end - p < 4)
            return NULL;
        n = 4 + le(p, 4);
        break;
    case DW_FORM_block:
    case DW_FORM_exprloc: {
        const uint8_t *q = skip_uleb(p, end, &n);
        if (!q || n > (uint64_t)(end - q))
            return NULL;
        return q + n;
    }
    default:
        return NULL;
    }
    return n <= (uint64_t)(end - p) ? p + n : NULL;
}

/* dwarf_siblingof(D, D) in the cases that are most DIEs: D (whose
 * abbreviation is A) has a DW_AT_sibling (ref4 or ref_udata) or no
 * children, and a DIE follows. Anything else (a null entry next, the end
 * of the unit, a form not sized here) is libdw's: then *D is left as it was
 * and -2 returned. */
static int next_sibling(mt_scopes_t *x, const walk_t *w, const abbr_t *a, Dwarf_Die *d)
{
    if (!a || !a->known)
        return -2;
    const uint8_t *p = skip_uleb(d->addr, w->end, NULL), *next = NULL;
    if (p && a->fixed >= 0) {
        if (a->fixed > w->end - p)
            return -2;
        p += a->fixed;
        if (a->sib) {
            if (w->end - p < 4)
                return -2;
            uint64_t off = le(p, 4), die_off = (uint64_t)((const uint8_t *)d->addr - w->start);
            if (off >= (uint64_t)(w->end - w->start) || off <= die_off)
                return -2;
            next = w->start + off;
        }
    } else {
        for (uint32_t i = 0; p && i < a->n; i++) {
            unsigned name = x->attrs[a->first + i] >> 16, form = x->attrs[a->first + i] & 0xffff;
            if (name == DW_AT_sibling) {
                uint64_t off;
                if (form == DW_FORM_ref4 && w->end - p >= 4)
                    off = le(p, 4);
                else if (form != DW_FORM_ref_udata || !skip_uleb(p, w->end, &off))
                    return -2;
                uint64_t die_off = (uint64_t)((const uint8_t *)d->addr - w->start);
                if (off >= (uint64_t)(w->end - w->start) || off <= die_off)
                    return -2;
                next = w->start + off;
                break;
            }
            p = skip_form(w, form, p, w->end);
        }
    }
    if (!next) {
        if (!p || a->children)
            return -2;
        next = p;
    }
    if (next >= w->end || !*next)
        return -2;
    *d = (Dwarf_Die){.addr = (void *)next, .cu = d->cu};
    return 0;
}

static int sibling(mt_scopes_t *x, const walk_t *w, const abbr_t *a, Dwarf_Die *d)
{
    int rc = next_sibling(x, w, a, d);
    if (rc != -2)
        return rc;
    x->libdw_siblings++;
    return dwarf_siblingof(d, d);
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
    walk_t w = walk_of(&parent);
    int rc = dwarf_child(&parent, &child);
    if (rc < 0)
        return (long)ki;
    while (rc == 0) {
        x->dies_read++;
        const abbr_t *a = abbr_at(x, &w, &child);
        if ((a ? a->tag : dwarf_tag(&child)) == DW_TAG_imported_unit)
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
        if (a ? !a->ranged
              : !dwarf_hasattr(&child, DW_AT_low_pc) && !dwarf_hasattr(&child, DW_AT_ranges)) {
            rc = sibling(x, &w, a, &child);
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
        rc = sibling(x, &w, a, &child);
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
