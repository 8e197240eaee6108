/* lines.c - the source line of an address, from a compilation unit's line
 * table decoded here once, as libdw would decode it.
 *
 * libdw's dwarf_getsrclines (under dwfl_module_getsrc) builds a unit's rows
 * as a linked list with a malloc per row and sorts them with qsort: on an
 * interpreter's units that was most of `top`'s time. Here the line program
 * is run into an array of rows (address, line, file, end of sequence), in
 * libdw's order (by address; at one address ends of sequences first, then
 * the program's order), and an address gets the row dwfl_module_getsrc
 * gives: the last at or below it, unless that ends a sequence. File names
 * are built as libdw builds them. Anything this file does not decode as
 * libdw does (a header or opcode libdw rejects, a form or a byte order not
 * handled here, split units) is left to libdw: the caller asks it.
 */
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "lines.h"

typedef struct row {
    uint64_t addr;
    int32_t line;
    uint32_t file;
    uint32_t seq;   /* creation order */
    uint32_t end;   /* ends a sequence */
} row_t;

typedef struct unit {
    uint64_t offset; /* of its program in .debug_line */
    row_t *rows;
    size_t nrows;
    char **files;    /* names; NULL entries are libdw's own "???" */
    size_t nfiles;
    int state;       /* 1 decoded, -1 ask libdw */
} unit_t;

struct mt_lines {
    unit_t *units;
    size_t nunits, cap;
    mt_table_t by_offset;
    bool have_sections;
    bool no_sections; /* the sections or their byte order are not ours to read */
    const uint8_t *line, *line_str, *str;
    size_t line_len, line_str_len, str_len;
    uint64_t decoded, asked_libdw;
};

bool mt__lines_libdw_only; /* tests: answer everything with libdw */

mt_lines_t *mt_lines_new(void)
{
    return calloc(1, sizeof(mt_lines_t));
}

void mt_lines_free(mt_lines_t *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->nunits; i++) {
        free(x->units[i].rows);
        for (size_t k = 0; k < x->units[i].nfiles; k++)
            free(x->units[i].files[k]);
        free(x->units[i].files);
    }
    free(x->units);
    mt_table_free(&x->by_offset);
    free(x);
}

void mt_lines_counts(const mt_lines_t *x, uint64_t *decoded, uint64_t *asked_libdw)
{
    *decoded = x ? x->decoded : 0;
    *asked_libdw = x ? x->asked_libdw : 0;
}

/* ---- reading -------------------------------------------------------------- */

typedef struct rd {
    const uint8_t *p, *end;
    bool bad;
} rd_t;

static uint64_t uleb_long(rd_t *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (r->p >= r->end) {
            r->bad = true;
            return 0;
        }
        uint8_t b = *r->p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
}

static int64_t sleb_long(rd_t *r)
{
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        if (r->p >= r->end) {
            r->bad = true;
            return 0;
        }
        b = *r->p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40))
        v |= ~(uint64_t)0 << shift;
    return (int64_t)v;
}

/* Most numbers of a line program fit in one byte. */
static inline uint64_t uleb(rd_t *r)
{
    if (r->p < r->end && !(*r->p & 0x80))
        return *r->p++;
    return uleb_long(r);
}

static inline int64_t sleb(rd_t *r)
{
    if (r->p < r->end && !(*r->p & 0x80)) {
        uint8_t b = *r->p++;
        return b & 0x40 ? (int64_t)b - 128 : (int64_t)b;
    }
    return sleb_long(r);
}

static uint64_t fixed(rd_t *r, size_t n) /* little-endian (checked by the caller) */
{
    if ((size_t)(r->end - r->p) < n) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += n;
    return v;
}

static const char *cstr(rd_t *r)
{
    const uint8_t *z = r->p < r->end ? memchr(r->p, 0, (size_t)(r->end - r->p)) : NULL;
    if (!z) {
        r->bad = true;
        return NULL;
    }
    const char *s = (const char *)r->p;
    r->p = z + 1;
    return s;
}

/* The string at OFF of a string section, or NULL. */
static const char *str_at(const uint8_t *sec, size_t len, uint64_t off)
{
    if (!sec || off >= len || !memchr(sec + off, 0, len - off))
        return NULL;
    return (const char *)sec + off;
}

/* Reads the sections from DWARF's ELF file (as libdw holds them:
 * decompressed). */
static void find_sections(mt_lines_t *x, Dwarf *dw)
{
    x->have_sections = true;
    Elf *elf = dwarf_getelf(dw);
    size_t shstrndx;
    GElf_Ehdr eh;
    if (!elf || !gelf_getehdr(elf, &eh) || elf_getshdrstrndx(elf, &shstrndx) != 0 ||
        eh.e_ident[EI_DATA] != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : 0)) {
        x->no_sections = true;
        return;
    }
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn)) != NULL;) {
        GElf_Shdr sh;
        const char *name;
        if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
            continue;
        const uint8_t **p = !strcmp(name, ".debug_line")       ? &x->line
                            : !strcmp(name, ".debug_line_str") ? &x->line_str
                            : !strcmp(name, ".debug_str")      ? &x->str
                                                               : NULL;
        if (!p || sh.sh_type == SHT_NOBITS)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        if (!d || !d->d_buf || (sh.sh_flags & SHF_COMPRESSED))
            continue; /* libdw decompresses what it reads; not here: let it */
        *p = d->d_buf;
        *(p == &x->line ? &x->line_len : p == &x->line_str ? &x->line_str_len : &x->str_len) =
            d->d_size;
    }
    if (!x->line)
        x->no_sections = true;
}

/* libdw_valid_user_form, and whether this file skips or reads it. */
static bool form_ok(uint64_t form)
{
    switch (form) {
    case DW_FORM_block:
    case DW_FORM_block1:
    case DW_FORM_block2:
    case DW_FORM_block4:
    case DW_FORM_data1:
    case DW_FORM_data2:
    case DW_FORM_data4:
    case DW_FORM_data8:
    case DW_FORM_data16:
    case DW_FORM_flag:
    case DW_FORM_line_strp:
    case DW_FORM_sdata:
    case DW_FORM_sec_offset:
    case DW_FORM_string:
    case DW_FORM_strp:
    case DW_FORM_udata:
        return true;
    default: /* strx (no string offsets here), strp_sup (another file) */
        return false;
    }
}

/* One entry's value of FORM: a string (*S) or a number (*V). */
static void form_value(mt_lines_t *x, rd_t *r, uint64_t form, unsigned offset_size,
                       const char **s, uint64_t *v, bool *is_num)
{
    *s = NULL;
    *is_num = false;
    switch (form) {
    case DW_FORM_string:
        *s = cstr(r);
        return;
    case DW_FORM_line_strp:
        *s = str_at(x->line_str, x->line_str_len, fixed(r, offset_size));
        return;
    case DW_FORM_strp:
        *s = str_at(x->str, x->str_len, fixed(r, offset_size));
        return;
    case DW_FORM_sec_offset:
        fixed(r, offset_size);
        return;
    case DW_FORM_data1:
    case DW_FORM_flag:
        *v = fixed(r, 1);
        *is_num = form == DW_FORM_data1;
        return;
    case DW_FORM_data2:
        *v = fixed(r, 2);
        *is_num = true;
        return;
    case DW_FORM_data4:
        *v = fixed(r, 4);
        *is_num = true;
        return;
    case DW_FORM_data8:
        *v = fixed(r, 8);
        *is_num = true;
        return;
    case DW_FORM_data16:
        fixed(r, 8);
        fixed(r, 8);
        return;
    case DW_FORM_udata:
        *v = uleb(r);
        *is_num = true;
        return;
    case DW_FORM_sdata:
        sleb(r);
        return;
    case DW_FORM_block1:
    case DW_FORM_block2:
    case DW_FORM_block4:
    case DW_FORM_block: {
        uint64_t n = form == DW_FORM_block ? uleb(r)
                                           : fixed(r, form == DW_FORM_block1   ? 1
                                                      : form == DW_FORM_block2 ? 2
                                                                               : 4);
        if ((uint64_t)(r->end - r->p) < n)
            r->bad = true;
        else
            r->p += n;
        return;
    }
    default:
        r->bad = true;
    }
}

/* libdw's name of a file: FNAME when absolute, else DIR/FNAME (FNAME when
 * DIR is NULL). Malloc'd; NULL when out of memory (then *BAD). */
static char *file_name(const char *dir, const char *fname, bool *bad)
{
    size_t dl = dir && fname[0] != '/' ? strlen(dir) : 0, fl = strlen(fname);
    char *n = malloc(dl + 1 + fl + 1);
    if (!n) {
        *bad = true;
        return NULL;
    }
    if (dir && fname[0] != '/') {
        memcpy(n, dir, dl);
        n[dl++] = '/';
    }
    memcpy(n + dl, fname, fl + 1);
    return n;
}

static bool push_file(unit_t *u, size_t *cap, char *name)
{
    if (!MT_VEC_PUSH(NULL, u->files, u->nfiles, *cap)) {
        free(name);
        return false;
    }
    u->files[u->nfiles++] = name;
    return true;
}

typedef struct lstate {
    uint64_t addr;
    uint32_t op_index, file, column, isa, discriminator, context, function_name;
    int64_t line;
    uint32_t is_stmt;
} lstate_t;

static int cmp_row(const void *a, const void *b)
{
    const row_t *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if (x->end != y->end)
        return x->end ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static inline bool row_before(const row_t *x, const row_t *y)
{
    return x->addr != y->addr ? x->addr < y->addr : x->end != y->end ? x->end > y->end
                                                                     : x->seq < y->seq;
}

/* Sorts R[N] by cmp_row: a merge of the runs already in order (rows come
 * in long ascending runs). False when out of memory. */
static bool merge_sort(row_t *r, size_t n)
{
    row_t *tmp = malloc(n * sizeof(*tmp));
    if (!tmp)
        return false;
    row_t *src = r, *dst = tmp;
    for (;;) {
        size_t runs = 0;
        for (size_t i = 0; i < n;) {
            size_t mid = i + 1;
            while (mid < n && row_before(&src[mid - 1], &src[mid]))
                mid++;
            size_t end = mid;
            if (end < n) {
                end++;
                while (end < n && row_before(&src[end - 1], &src[end]))
                    end++;
            }
            size_t a = i, b = mid, o = i;
            while (a < mid && b < end)
                dst[o++] = row_before(&src[b], &src[a]) ? src[b++] : src[a++];
            while (a < mid)
                dst[o++] = src[a++];
            while (b < end)
                dst[o++] = src[b++];
            runs++;
            i = end;
        }
        row_t *t = src;
        src = dst;
        dst = t;
        if (runs <= 1)
            break;
    }
    if (src != r)
        memcpy(r, src, n * sizeof(*r));
    free(tmp);
    return true;
}

typedef struct run {
    size_t first, n;
} run_t;

static const row_t *sort_base;

static int cmp_run(const void *a, const void *b)
{
    return cmp_row(&sort_base[((const run_t *)a)->first], &sort_base[((const run_t *)b)->first]);
}

/* Sorts U's rows in libdw's order (cmp_row). A unit's sequences (one per
 * function with -ffunction-sections) are each in order and do not overlap:
 * then sorting the sequences by their first rows is enough. Otherwise the
 * rows are sorted one by one. False when out of memory. */
static bool sort_rows(unit_t *u)
{
    size_t nruns = 0, cap = 0;
    run_t *runs = NULL;
    bool ordered = true, whole = true;
    for (size_t i = 0; i < u->nrows;) {
        size_t j = i + 1;
        while (j < u->nrows && !u->rows[j - 1].end) {
            if (cmp_row(&u->rows[j - 1], &u->rows[j]) >= 0)
                whole = false; /* a sequence out of order */
            j++;
        }
        run_t *r = MT_VEC_PUSH(NULL, runs, nruns, cap);
        if (!r) {
            free(runs);
            return false;
        }
        *r = (run_t){i, j - i};
        nruns++;
        if (nruns > 1 && cmp_row(&u->rows[runs[nruns - 2].first + runs[nruns - 2].n - 1],
                                 &u->rows[i]) >= 0)
            ordered = false;
        i = j;
    }
    if (ordered && whole) {
        free(runs);
        return true;
    }
    if (whole) {
        sort_base = u->rows;
        qsort(runs, nruns, sizeof(*runs), cmp_run);
        for (size_t k = 1; k < nruns && whole; k++) /* no overlaps */
            whole = cmp_row(&u->rows[runs[k - 1].first + runs[k - 1].n - 1],
                            &u->rows[runs[k].first]) < 0;
    }
    if (whole) {
        row_t *sorted = malloc(u->nrows * sizeof(*sorted));
        if (!sorted) {
            free(runs);
            return false;
        }
        for (size_t k = 0, o = 0; k < nruns; o += runs[k].n, k++)
            memcpy(sorted + o, u->rows + runs[k].first, runs[k].n * sizeof(*sorted));
        free(u->rows);
        u->rows = sorted;
    } else if (!merge_sort(u->rows, u->nrows)) {
        free(runs);
        return false;
    }
    free(runs);
    return true;
}

/* Runs the line program at OFFSET of unit CU into U, as read_srclines in
 * libdw's dwarf_getsrclines does; U->state -1 for anything it would reject
 * or this file does not read. */
static void decode_unit(mt_lines_t *x, unit_t *u, const char *comp_dir, unsigned address_size)
{
    u->state = -1;
    if (u->offset >= x->line_len || (address_size != 4 && address_size != 8))
        return;
    rd_t r = {x->line + u->offset, x->line + x->line_len, false};
    uint64_t unit_length = fixed(&r, 4);
    unsigned offset_size = 4;
    if (unit_length == 0xffffffffu) {
        unit_length = fixed(&r, 8);
        offset_size = 8;
    }
    if (r.bad || unit_length > (uint64_t)(r.end - r.p))
        return;
    r.end = r.p + unit_length;
    unsigned version = (unsigned)fixed(&r, 2);
    if (r.bad || version < 2 || version > 5)
        return;
    if (version >= 5) {
        unsigned asz = (unsigned)fixed(&r, 1), seg = (unsigned)fixed(&r, 1);
        if (r.bad || asz != address_size || seg != 0)
            return;
    }
    uint64_t header_length = fixed(&r, offset_size);
    const uint8_t *header_start = r.p;
    unsigned min_len = (unsigned)fixed(&r, 1), max_ops = 1;
    if (version >= 4 && ((max_ops = (unsigned)fixed(&r, 1)) == 0 || r.bad))
        return;
    unsigned default_is_stmt = (unsigned)fixed(&r, 1);
    int line_base = (int8_t)fixed(&r, 1);
    unsigned line_range = (unsigned)fixed(&r, 1), opcode_base = (unsigned)fixed(&r, 1);
    if (r.bad || opcode_base == 0 || (uint64_t)(r.end - r.p) < opcode_base - 1)
        return;
    const uint8_t *std_len = r.p - 1; /* std_len[op] for op in 1 .. opcode_base - 1 */
    r.p += opcode_base - 1;
    /* The standard opcodes whose operand count is not the one decoded
     * here (libdw rejects the program when one of them comes). */
    bool std_bad[DW_LNS_set_isa + 1] = {false};
    for (unsigned op = 1; op <= DW_LNS_set_isa && op < opcode_base; op++) {
        unsigned want = op == DW_LNS_advance_pc || op == DW_LNS_advance_line ||
                                op == DW_LNS_set_file || op == DW_LNS_set_column ||
                                op == DW_LNS_fixed_advance_pc || op == DW_LNS_set_isa
                            ? 1
                            : 0;
        std_bad[op] = std_len[op] != want;
    }

    /* Directories. */
    const char *dirstack[256], **dirs = dirstack;
    size_t ndirs = 0;
    size_t files_cap = 0;
    bool bad = false;
    if (version < 5) {
        dirs[ndirs++] = comp_dir;
        while (r.p < r.end && *r.p) {
            const char *d = cstr(&r);
            if (r.bad)
                return;
            if (ndirs == 256)
                return; /* many: let libdw */
            dirs[ndirs++] = d;
        }
        if (r.p >= r.end)
            return;
        r.p++;
        /* Files: index 0 is libdw's "???". */
        if (r.p >= r.end || !push_file(u, &files_cap, NULL))
            return;
        while (r.p < r.end && *r.p) {
            const char *fname = cstr(&r);
            uint64_t di = r.bad ? 0 : uleb(&r);
            uleb(&r);
            uleb(&r);
            if (r.bad || di >= ndirs)
                return;
            char *n = file_name(dirs[di], fname, &bad);
            if (bad || !push_file(u, &files_cap, n))
                return;
        }
        if (r.p >= r.end)
            return;
        r.p++;
    } else {
        for (int pass = 0; pass < 2; pass++) { /* directories, then files */
            unsigned nforms = (unsigned)fixed(&r, 1);
            uint64_t forms[256];
            int form_path = -1, form_idx = -1;
            for (unsigned i = 0; i < nforms; i++) {
                uint64_t desc = uleb(&r), form = uleb(&r);
                if (r.bad || !form_ok(form))
                    return;
                forms[i] = form;
                if (desc == DW_LNCT_path)
                    form_path = (int)i;
                else if (desc == DW_LNCT_directory_index && pass == 1)
                    form_idx = (int)i;
            }
            if (nforms > 0 && (form_path < 0 || (pass == 1 && form_idx < 0)))
                return;
            uint64_t n = uleb(&r);
            if (r.bad || (nforms == 0 && n != 0) ||
                (nforms && n > (uint64_t)(r.end - r.p) / nforms))
                return;
            if (pass == 0 && n > 256)
                return; /* many: let libdw */
            for (uint64_t k = 0; k < n; k++) {
                const char *path = NULL;
                uint64_t di = UINT64_MAX;
                for (unsigned m = 0; m < nforms; m++) {
                    const char *s;
                    uint64_t v = 0;
                    bool num;
                    form_value(x, &r, forms[m], offset_size, &s, &v, &num);
                    if (r.bad)
                        return;
                    if ((int)m == form_path) {
                        if (!s)
                            return; /* not a string form libdw reads like this */
                        path = s;
                    } else if ((int)m == form_idx) {
                        if (!num)
                            return;
                        di = v;
                    }
                }
                if (!path)
                    return;
                if (pass == 0) {
                    dirs[ndirs++] = path;
                    continue;
                }
                if (di >= ndirs)
                    return;
                char *name = file_name(dirs[di], path, &bad);
                if (bad || !push_file(u, &files_cap, name))
                    return;
            }
            if (pass == 1 && n == 0 && !push_file(u, &files_cap, NULL))
                return; /* libdw's "???" stays at index 0 */
        }
    }
    if (r.p != header_start + header_length)
        return; /* also NVIDIA's CUBIN offset: let libdw */

    /* The program. */
    lstate_t st = {0, 0, 1, 0, 0, 0, 0, 0, 1, default_is_stmt};
    /* Every opcode byte makes at most one row: room for them all at once
     * (pages never written are never touched) instead of a doubling
     * array's copies of a large unit's rows; trimmed to the rows made. */
    size_t rows_cap = (size_t)(r.end - r.p) + 1;
    if (!(u->rows = malloc(rows_cap * sizeof(*u->rows))))
        return;
    uint32_t seq = 0;
#define NEW_ROW(endseq)                                                                          \
    do {                                                                                         \
        if (st.line < INT_MIN || st.line > INT_MAX || st.column > USHRT_MAX || st.is_stmt > 1 || \
            st.op_index > 255 || st.isa > 255 || st.discriminator > 0xffffff)                    \
            return; /* libdw: invalid data */                                                    \
        if (u->nrows == rows_cap &&                                                              \
            mt_vec_reserve(NULL, &u->rows, &rows_cap, u->nrows + 1, sizeof(*u->rows)))           \
            return;                                                                              \
        u->rows[u->nrows++] = (row_t){st.addr, (int32_t)st.line, st.file, seq++, (endseq)};      \
    } while (0)
#define ADVANCE(adv)                                                                             \
    do {                                                                                         \
        uint32_t a_ = st.op_index + (uint32_t)(adv);                                             \
        st.addr += (uint32_t)(min_len * (a_ / max_ops));                                         \
        st.op_index = a_ % max_ops;                                                              \
    } while (0)
    while (r.p < r.end) {
        unsigned op = *r.p++;
        if (op >= opcode_base) {
            if (line_range == 0)
                return;
            st.line += (int)(line_base + (op - opcode_base) % line_range);
            ADVANCE((op - opcode_base) / line_range);
            NEW_ROW(0);
            st.discriminator = 0;
        } else if (op == 0) {
            if (r.end - r.p < 2)
                return;
            unsigned len = *r.p++;
            if ((unsigned)(r.end - r.p) < len)
                return;
            unsigned sub = *r.p++;
            switch (sub) {
            case DW_LNE_end_sequence:
                NEW_ROW(1);
                st = (lstate_t){0, 0, 1, 0, 0, 0, 0, 0, 1, default_is_stmt};
                break;
            case DW_LNE_set_address:
                st.op_index = 0;
                if ((unsigned)(r.end - r.p) < address_size)
                    return;
                st.addr = fixed(&r, address_size);
                break;
            case DW_LNE_define_file: {
                const char *fname = cstr(&r);
                uint64_t di = r.bad ? 0 : uleb(&r);
                uleb(&r);
                uleb(&r);
                if (r.bad || (uint32_t)di >= ndirs)
                    return;
                char *name = file_name(dirs[(uint32_t)di], fname, &bad);
                if (bad || !push_file(u, &files_cap, name))
                    return;
                break;
            }
            case DW_LNE_set_discriminator:
                if (opcode_base <= DW_LNE_set_discriminator || std_len[sub] != 1)
                    return;
                st.discriminator = (uint32_t)uleb(&r);
                break;
            case DW_LNE_NVIDIA_inlined_call:
            case DW_LNE_NVIDIA_set_function_name:
                return; /* let libdw */
            default:
                if ((unsigned)(r.end - (r.p - 1)) < len || len == 0)
                    return;
                r.p += len - 1;
                break;
            }
        } else if (op <= DW_LNS_set_isa) {
            if (std_bad[op])
                return;
            switch (op) {
            case DW_LNS_copy:
                NEW_ROW(0);
                st.discriminator = 0;
                break;
            case DW_LNS_advance_pc:
                ADVANCE((uint32_t)uleb(&r));
                break;
            case DW_LNS_advance_line:
                st.line += (int32_t)sleb(&r);
                break;
            case DW_LNS_set_file:
                st.file = (uint32_t)uleb(&r);
                break;
            case DW_LNS_set_column:
                st.column = (uint32_t)uleb(&r);
                break;
            case DW_LNS_negate_stmt:
                st.is_stmt = 1 - st.is_stmt;
                break;
            case DW_LNS_set_basic_block:
                break;
            case DW_LNS_const_add_pc:
                if (line_range == 0)
                    return;
                ADVANCE((255 - opcode_base) / line_range);
                break;
            case DW_LNS_fixed_advance_pc:
                if (r.end - r.p < 2)
                    return;
                st.addr += fixed(&r, 2);
                st.op_index = 0;
                break;
            case DW_LNS_set_prologue_end:
            case DW_LNS_set_epilogue_begin:
                break;
            case DW_LNS_set_isa:
                st.isa = (uint32_t)uleb(&r);
                break;
            }
        } else {
            for (unsigned n = std_len[op]; n > 0; n--)
                uleb(&r);
        }
        if (r.bad)
            return;
    }
#undef NEW_ROW
#undef ADVANCE
    row_t *trimmed = realloc(u->rows, (u->nrows ? u->nrows : 1) * sizeof(*u->rows));
    if (trimmed)
        u->rows = trimmed;
    if (!sort_rows(u))
        return;
    if (u->nrows)
        u->rows[u->nrows - 1].end = 1; /* as libdw: the last ends a sequence */
    u->state = 1;
}

/* The decoded table of unit CU of MOD, or NULL: ask libdw. */
static unit_t *unit_of(mt_lines_t *x, Dwfl_Module *mod, Dwarf_Die *cu)
{
    if (mt__lines_libdw_only)
        return NULL;
    Dwarf_Addr bias;
    Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
    if (!dw)
        return NULL;
    if (!x->have_sections)
        find_sections(x, dw);
    Dwarf_Half version;
    uint8_t unit_type, address_size;
    Dwarf_Attribute at;
    Dwarf_Word offset;
    if (x->no_sections || dwarf_cu_info(cu->cu, &version, &unit_type, NULL, NULL, NULL,
                                        &address_size, NULL) != 0 ||
        unit_type != DW_UT_compile || dwarf_cu_getdwarf(cu->cu) != dw ||
        dwarf_formudata(dwarf_attr(cu, DW_AT_stmt_list, &at), &offset) != 0) {
        x->asked_libdw++;
        return NULL;
    }
    uint32_t v = mt_table_get(&x->by_offset, offset);
    unit_t *u;
    if (v != MT_TABLE_NONE) {
        u = &x->units[v];
    } else {
        if (!(u = MT_VEC_PUSH(NULL, x->units, x->nunits, x->cap)) ||
            mt_table_put(&x->by_offset, offset, (uint32_t)x->nunits))
            return NULL;
        memset(u, 0, sizeof(*u));
        u->offset = offset;
        x->nunits++;
        decode_unit(x, u, dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &at)), address_size);
        if (u->state > 0)
            x->decoded++;
    }
    if (u->state < 0) {
        x->asked_libdw++;
        return NULL;
    }
    return u;
}

int mt_lines_get(mt_lines_t *x, Dwfl_Module *mod, Dwarf_Die *cu, Dwarf_Addr a, const char **file,
                 int *line)
{
    const unit_t *u = unit_of(x, mod, cu);
    if (!u)
        return -1;
    /* dwfl_module_getsrc: the last row at or below A, unless it ends a
     * sequence; dwfl_lineinfo: its line, and its file when the file
     * index is in the table. */
    if (!u->nrows)
        return 0;
    size_t l = 0, h = u->nrows - 1;
    while (l < h) {
        size_t mid = h - (h - l) / 2;
        if (a < u->rows[mid].addr)
            h = mid - 1;
        else
            l = mid;
    }
    const row_t *rw = &u->rows[l];
    if (rw->end || rw->addr > a)
        return 0;
    *line = rw->line;
    *file = rw->file < u->nfiles ? (u->files[rw->file] ? u->files[rw->file] : "???") : NULL;
    return 1;
}

int mt_lines_file(mt_lines_t *x, Dwfl_Module *mod, Dwarf_Die *cu, uint64_t idx, const char **file)
{
    const unit_t *u = unit_of(x, mod, cu);
    if (!u)
        return -1;
    *file = idx < u->nfiles ? (u->files[idx] ? u->files[idx] : "???") : NULL;
    return 1;
}
