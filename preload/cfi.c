/* cfi.c - a small interpreter of .eh_frame call frame information (x86-64).
 *
 * It answers one question for a code address: how to find the caller's
 * frame. It models what compilers emit for ordinary functions: a CFA of rsp
 * or rbp plus an offset, the return address at CFA - 8, and rbp saved at an
 * offset from the CFA. Anything else (DWARF expressions, signal frames,
 * registers saved in registers) is reported as COMPLEX so that the caller
 * uses the general unwinder. All reads stay inside the CIE and FDE bounds.
 */
#include <string.h>

#include "internal.h"

/* libgcc's lookup (exported; not in <unwind.h>). */
struct dwarf_eh_bases {
    void *tbase;
    void *dbase;
    void *func;
};
extern const void *_Unwind_Find_FDE(void *pc, struct dwarf_eh_bases *bases);

enum { REG_RBP = 6, REG_RSP = 7, REG_RA = 16 };
enum { RULE_SAME = 0, RULE_OFFSET, RULE_UNDEFINED, RULE_OTHER };

typedef struct cfi_state {
    int cfa_reg;
    int64_t cfa_offset;
    int rbp_rule, ra_rule;
    int64_t rbp_offset, ra_offset;
} cfi_state_t;

typedef struct reader {
    const uint8_t *p, *end;
    int bad;
} reader_t;

static uint64_t get_uleb(reader_t *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            break;
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

static int64_t get_sleb(reader_t *r)
{
    int64_t v = 0;
    int shift = 0;
    while (shift < 64) {
        if (r->p >= r->end)
            break;
        uint8_t b = *r->p++;
        v |= (int64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40))
                v |= -((int64_t)1 << shift);
            return v;
        }
    }
    r->bad = 1;
    return 0;
}

static uint64_t get_fixed(reader_t *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    memcpy(&v, r->p, n); /* little-endian */
    r->p += n;
    return v;
}

/* Skips a pointer in DW_EH_PE encoding ENC (only its size matters here). */
static void skip_encoded(reader_t *r, uint8_t enc)
{
    if (enc == 0xff) /* DW_EH_PE_omit */
        return;
    switch (enc & 0x0f) {
    case 0x00: get_fixed(r, 8); break; /* absptr */
    case 0x01: get_uleb(r); break;
    case 0x02: case 0x0a: get_fixed(r, 2); break;
    case 0x03: case 0x0b: get_fixed(r, 4); break;
    case 0x04: case 0x0c: get_fixed(r, 8); break;
    case 0x09: get_sleb(r); break;
    default: r->bad = 1;
    }
}

/* Opens a CIE or FDE record at P: sets R to its body. */
static int open_record(const uint8_t *p, reader_t *r)
{
    uint32_t len;
    memcpy(&len, p, 4);
    if (len == 0 || len == 0xffffffffu) /* terminator, or 64-bit DWARF: not emitted for eh_frame */
        return -1;
    r->p = p + 4;
    r->end = p + 4 + len;
    r->bad = 0;
    return 0;
}

typedef struct cie {
    uint64_t code_align;
    int64_t data_align;
    uint8_t fde_enc;
    int has_z;
    reader_t initial; /* initial instructions */
} cie_t;

static int parse_cie(const uint8_t *p, cie_t *cie)
{
    reader_t r;
    if (open_record(p, &r) < 0 || get_fixed(&r, 4) != 0)
        return -1;
    uint8_t version = (uint8_t)get_fixed(&r, 1);
    const char *aug = (const char *)r.p;
    size_t auglen = strnlen(aug, (size_t)(r.end - r.p));
    if (r.p + auglen >= r.end)
        return -1;
    r.p += auglen + 1;
    if (version >= 4)
        get_fixed(&r, 2); /* address and segment sizes */
    cie->code_align = get_uleb(&r);
    cie->data_align = get_sleb(&r);
    uint64_t ra_reg = version == 1 ? get_fixed(&r, 1) : get_uleb(&r);
    if (ra_reg != REG_RA)
        return -1;
    cie->fde_enc = 0; /* absptr */
    cie->has_z = aug[0] == 'z';
    if (cie->has_z) {
        uint64_t len = get_uleb(&r);
        if (r.bad || len > (uint64_t)(r.end - r.p))
            return -1;
        reader_t data = {r.p, r.p + len, 0};
        for (const char *a = aug + 1; *a; a++) {
            if (*a == 'R') {
                cie->fde_enc = (uint8_t)get_fixed(&data, 1);
            } else if (*a == 'P') {
                uint8_t enc = (uint8_t)get_fixed(&data, 1);
                skip_encoded(&data, enc);
            } else if (*a == 'L') {
                get_fixed(&data, 1);
            } else {
                return -1; /* 'S' (signal frame) and unknown augmentations */
            }
        }
        if (data.bad)
            return -1;
        r.p += len;
    } else if (aug[0]) {
        return -1;
    }
    if (r.bad)
        return -1;
    cie->initial = r;
    return 0;
}

static void set_rule(cfi_state_t *s, uint64_t reg, int rule, int64_t offset)
{
    if (reg == REG_RBP) {
        s->rbp_rule = rule;
        s->rbp_offset = offset;
    } else if (reg == REG_RA) {
        s->ra_rule = rule;
        s->ra_offset = offset;
    }
}

#define MAX_REMEMBER 8

/* Runs instructions until the location passes TARGET. Returns 0 or -1. */
static int run(reader_t *r, const cie_t *cie, cfi_state_t *s, const cfi_state_t *initial,
               uintptr_t loc, uintptr_t target)
{
    cfi_state_t stack[MAX_REMEMBER];
    int depth = 0;
    while (r->p < r->end && !r->bad) {
        uint8_t op = *r->p++;
        uint64_t reg, delta = 0;
        switch (op >> 6) {
        case 1: /* DW_CFA_advance_loc */
            delta = (uint64_t)(op & 0x3f) * cie->code_align;
            break;
        case 2: /* DW_CFA_offset */
            set_rule(s, op & 0x3f, RULE_OFFSET, (int64_t)get_uleb(r) * cie->data_align);
            continue;
        case 3: /* DW_CFA_restore */
            reg = op & 0x3f;
            if (reg == REG_RBP) {
                s->rbp_rule = initial->rbp_rule;
                s->rbp_offset = initial->rbp_offset;
            } else if (reg == REG_RA) {
                s->ra_rule = initial->ra_rule;
                s->ra_offset = initial->ra_offset;
            }
            continue;
        default:
            switch (op) {
            case 0x00: continue; /* nop */
            case 0x02: delta = get_fixed(r, 1) * cie->code_align; break;
            case 0x03: delta = get_fixed(r, 2) * cie->code_align; break;
            case 0x04: delta = get_fixed(r, 4) * cie->code_align; break;
            case 0x05: /* offset_extended */
                reg = get_uleb(r);
                set_rule(s, reg, RULE_OFFSET, (int64_t)get_uleb(r) * cie->data_align);
                continue;
            case 0x06: /* restore_extended */
                reg = get_uleb(r);
                if (reg == REG_RBP || reg == REG_RA)
                    set_rule(s, reg, reg == REG_RBP ? initial->rbp_rule : initial->ra_rule,
                             reg == REG_RBP ? initial->rbp_offset : initial->ra_offset);
                continue;
            case 0x07: set_rule(s, get_uleb(r), RULE_UNDEFINED, 0); continue;
            case 0x08: set_rule(s, get_uleb(r), RULE_SAME, 0); continue;
            case 0x09: /* register */
                reg = get_uleb(r);
                get_uleb(r);
                set_rule(s, reg, RULE_OTHER, 0);
                continue;
            case 0x0a: /* remember_state */
                if (depth == MAX_REMEMBER)
                    return -1;
                stack[depth++] = *s;
                continue;
            case 0x0b: /* restore_state */
                if (depth == 0)
                    return -1;
                *s = stack[--depth];
                continue;
            case 0x0c: /* def_cfa */
                s->cfa_reg = (int)get_uleb(r);
                s->cfa_offset = (int64_t)get_uleb(r);
                continue;
            case 0x0d: s->cfa_reg = (int)get_uleb(r); continue;
            case 0x0e: s->cfa_offset = (int64_t)get_uleb(r); continue;
            case 0x10: /* expression: a rule we do not model */
            case 0x16: /* val_expression */
                reg = get_uleb(r);
                delta = get_uleb(r);
                if (delta > (uint64_t)(r->end - r->p))
                    return -1;
                r->p += delta;
                set_rule(s, reg, RULE_OTHER, 0);
                delta = 0;
                continue;
            case 0x11: /* offset_extended_sf */
                reg = get_uleb(r);
                set_rule(s, reg, RULE_OFFSET, get_sleb(r) * cie->data_align);
                continue;
            case 0x12: /* def_cfa_sf */
                s->cfa_reg = (int)get_uleb(r);
                s->cfa_offset = get_sleb(r) * cie->data_align;
                continue;
            case 0x13: s->cfa_offset = get_sleb(r) * cie->data_align; continue;
            case 0x14: /* val_offset */
            case 0x15: /* val_offset_sf */
                reg = get_uleb(r);
                if (op == 0x14)
                    get_uleb(r);
                else
                    get_sleb(r);
                set_rule(s, reg, RULE_OTHER, 0);
                continue;
            case 0x2e: get_uleb(r); continue; /* GNU_args_size */
            default:
                return -1; /* def_cfa_expression, set_loc and the rest */
            }
        }
        if (loc + delta > target)
            return 0;
        loc += delta;
    }
    return r->bad ? -1 : 0;
}

void mt__cfi_find(uintptr_t pc, mt__cfi_rule_t *rule)
{
    rule->kind = MT__CFI_COMPLEX;
    struct dwarf_eh_bases bases;
    const uint8_t *fde = _Unwind_Find_FDE((void *)pc, &bases);
    if (!fde) {
        rule->kind = MT__CFI_END; /* no unwind information: the general unwinder stops too */
        return;
    }
    reader_t r;
    if (open_record(fde, &r) < 0)
        return;
    int32_t cie_offset = (int32_t)get_fixed(&r, 4);
    cie_t cie;
    if (parse_cie(r.p - 4 - cie_offset, &cie) < 0)
        return;
    skip_encoded(&r, cie.fde_enc);        /* pc_begin: libgcc decoded it into bases.func */
    skip_encoded(&r, cie.fde_enc & 0x0f); /* pc_range */
    if (cie.has_z) {
        uint64_t len = get_uleb(&r);
        if (len > (uint64_t)(r.end - r.p))
            return;
        r.p += len;
    }
    if (r.bad)
        return;
    cfi_state_t s = {REG_RSP, 8, RULE_SAME, RULE_OFFSET, 0, -8};
    uintptr_t start = (uintptr_t)bases.func;
    reader_t initial = cie.initial;
    if (run(&initial, &cie, &s, &s, start, UINTPTR_MAX) < 0)
        return;
    cfi_state_t at_entry = s;
    if (run(&r, &cie, &s, &at_entry, start, pc) < 0)
        return;
    if (s.ra_rule == RULE_UNDEFINED) {
        rule->kind = MT__CFI_END;
        return;
    }
    if ((s.cfa_reg != REG_RSP && s.cfa_reg != REG_RBP) || s.ra_rule != RULE_OFFSET ||
        s.ra_offset != -8 || s.cfa_offset <= 0 || s.cfa_offset > INT32_MAX ||
        (s.rbp_rule != RULE_SAME && s.rbp_rule != RULE_OFFSET) ||
        (s.rbp_rule == RULE_OFFSET &&
         (s.rbp_offset == 0 || s.rbp_offset < INT16_MIN || s.rbp_offset > INT16_MAX)))
        return;
    rule->cfa_reg = (uint8_t)s.cfa_reg;
    rule->cfa_offset = (int32_t)s.cfa_offset;
    rule->rbp_offset = s.rbp_rule == RULE_OFFSET ? (int16_t)s.rbp_offset : 0;
    rule->kind = MT__CFI_OK;
}
