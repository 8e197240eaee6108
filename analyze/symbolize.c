/* symbolize.c - program counters to functions, files, lines and inlined
 * frames, from a trace's module map and the modules' ELF/DWARF (libdwfl).
 *
 * Each distinct module file (path + build id) gets its own Dwfl, reported at
 * bias 0 and opened on first use; a pc is looked up at pc - load bias, so
 * the same library in several traces (fork and exec children) is read once
 * and results are cached per (file, address). Frames are return addresses:
 * lines are looked up at pc - 1. A missing file, or one whose build id no
 * longer matches the trace, gives module+offset frames, never an error.
 */
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <dwarf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* From the C++ runtime (libstdc++), linked in for demangling. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define MAX_INLINE 32 /* frames kept for one pc */

typedef struct symfile {
    const char *path;       /* interned */
    uint8_t build_id[40];
    uint32_t build_id_len;
    int state;              /* 0 not opened yet, 1 usable, -1 unusable */
    bool self;              /* libmtrace.so */
    Dwfl *dwfl;
    Dwfl_Module *mod;
} symfile_t;

typedef struct symmod {
    uint64_t lo, hi, base, first_ts, last_ts; /* mapped in [first_ts, last_ts or forever) */
    uint32_t file;
} symmod_t;

typedef struct symtrace {
    symmod_t *mods;         /* by lo, then first_ts */
    uint64_t *maxhi;        /* maxhi[i]: the largest hi of mods[0..i] */
    size_t n, cap;
    bool sorted;
} symtrace_t;

typedef struct cache_ent {
    uint64_t rel;
    uint32_t file;
    uint32_t first;         /* index in frames */
    uint32_t n;             /* 0 = empty slot */
} cache_ent_t;

struct mt_symbolizer {
    symfile_t *files;
    size_t nfiles, files_cap;
    symtrace_t *traces;
    size_t ntraces;
    /* string intern set */
    char **strs;
    unsigned str_bits;
    size_t nstrs;
    /* (file, rel) -> frames */
    cache_ent_t *cache;
    unsigned cache_bits;
    size_t ncache;
    mt_frame_t *frames;
    size_t nframes, frames_cap;
    bool oom;
};

static char *debuginfo_path; /* NULL: libdwfl's default search path */

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

mt_symbolizer_t *mt_sym_new(void)
{
    return calloc(1, sizeof(mt_symbolizer_t));
}

void mt_sym_free(mt_symbolizer_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nfiles; i++)
        if (s->files[i].dwfl)
            dwfl_end(s->files[i].dwfl);
    free(s->files);
    for (size_t i = 0; i < s->ntraces; i++) {
        free(s->traces[i].mods);
        free(s->traces[i].maxhi);
    }
    free(s->traces);
    for (size_t i = 0; s->str_bits && i < ((size_t)1 << s->str_bits); i++)
        free(s->strs[i]);
    free(s->strs);
    free(s->cache);
    free(s->frames);
    free(s);
}

const char *mt_sym_basename(const char *path)
{
    if (!path)
        return NULL;
    const char *b = strrchr(path, '/');
    return b && b[1] ? b + 1 : path;
}

/* ---- strings ------------------------------------------------------------ */

static uint64_t hash_str(const char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
    return h;
}

/* The one stable copy of P[N]; NULL when out of memory. */
static const char *intern_len(mt_symbolizer_t *s, const char *p, size_t n)
{
    if (!p)
        return NULL;
    if (!s->str_bits || (s->nstrs + 1) * 4 > ((size_t)3 << s->str_bits)) {
        unsigned bits = s->str_bits ? s->str_bits + 1 : 10;
        char **g = calloc((size_t)1 << bits, sizeof(*g));
        if (!g) {
            s->oom = true;
            return NULL;
        }
        for (size_t i = 0; s->str_bits && i < ((size_t)1 << s->str_bits); i++) {
            if (!s->strs[i])
                continue;
            size_t j = hash_str(s->strs[i], strlen(s->strs[i])) >> (64 - bits);
            while (g[j])
                j = (j + 1) & (((size_t)1 << bits) - 1);
            g[j] = s->strs[i];
        }
        free(s->strs);
        s->strs = g;
        s->str_bits = bits;
    }
    size_t mask = ((size_t)1 << s->str_bits) - 1;
    size_t j = hash_str(p, n) >> (64 - s->str_bits);
    for (; s->strs[j]; j = (j + 1) & mask)
        if (strncmp(s->strs[j], p, n) == 0 && s->strs[j][n] == '\0')
            return s->strs[j];
    char *c = malloc(n + 1);
    if (!c) {
        s->oom = true;
        return NULL;
    }
    memcpy(c, p, n);
    c[n] = '\0';
    s->strs[j] = c;
    s->nstrs++;
    return c;
}

static const char *intern(mt_symbolizer_t *s, const char *p)
{
    return p ? intern_len(s, p, strlen(p)) : NULL;
}

/* Demangled (C++) or plain name, interned. */
static const char *function_name(mt_symbolizer_t *s, const char *name)
{
    if (!name)
        return NULL;
    if (name[0] == '_' && name[1] == 'Z') {
        int status = -1;
        char *d = __cxa_demangle(name, NULL, NULL, &status);
        if (d && status == 0) {
            const char *r = intern(s, d);
            free(d);
            return r;
        }
        free(d);
    }
    return intern(s, name);
}

/* ---- modules ------------------------------------------------------------ */

static uint32_t file_index(mt_symbolizer_t *s, const mt_module_t *m)
{
    size_t plen = strnlen(m->path, sizeof(m->path));
    uint32_t blen = m->build_id_len <= sizeof(m->build_id) ? m->build_id_len : 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        symfile_t *f = &s->files[i];
        if (f->build_id_len == blen && memcmp(f->build_id, m->build_id, blen) == 0 &&
            strncmp(f->path, m->path, plen) == 0 && f->path[plen] == '\0')
            return (uint32_t)i;
    }
    if (s->nfiles == s->files_cap) {
        size_t cap = s->files_cap ? 2 * s->files_cap : 32;
        symfile_t *g = realloc(s->files, cap * sizeof(*g));
        if (!g)
            return UINT32_MAX;
        s->files = g;
        s->files_cap = cap;
    }
    const char *path = intern_len(s, m->path, plen);
    if (!path)
        return UINT32_MAX;
    symfile_t *f = &s->files[s->nfiles];
    memset(f, 0, sizeof(*f));
    f->path = path;
    memcpy(f->build_id, m->build_id, blen);
    f->build_id_len = blen;
    size_t bl = strlen(mt_sym_basename(path));
    f->self = bl >= 12 && strcmp(mt_sym_basename(path) + bl - 12, "libmtrace.so") == 0;
    return (uint32_t)s->nfiles++;
}

int mt_sym_add_module(mt_symbolizer_t *s, uint32_t trace, const mt_module_t *m)
{
    if (trace >= s->ntraces) {
        symtrace_t *g = realloc(s->traces, (trace + 1) * sizeof(*g));
        if (!g)
            return ENOMEM;
        memset(g + s->ntraces, 0, (trace + 1 - s->ntraces) * sizeof(*g));
        s->traces = g;
        s->ntraces = trace + 1;
    }
    if (m->hi <= m->lo)
        return 0;
    symtrace_t *t = &s->traces[trace];
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 32;
        symmod_t *g = realloc(t->mods, cap * sizeof(*g));
        if (!g)
            return ENOMEM;
        t->mods = g;
        uint64_t *h = realloc(t->maxhi, cap * sizeof(*h));
        if (!h)
            return ENOMEM;
        t->maxhi = h;
        t->cap = cap;
    }
    uint32_t fi = file_index(s, m);
    if (fi == UINT32_MAX)
        return ENOMEM;
    t->mods[t->n++] = (symmod_t){m->lo, m->hi, m->base, m->first_ts, m->last_ts, fi};
    t->sorted = false;
    return 0;
}

int mt_sym_add_trace(mt_symbolizer_t *s, uint32_t trace, mt_reader_t *r)
{
    static mt_module_t m; /* 4 KiB path: not on the stack */
    uint64_t cursor = 0;
    int rc;
    if (trace < s->ntraces) /* again, after a refresh: the map may have changed */
        s->traces[trace].n = 0;
    while ((rc = mt_reader_next_module(r, &cursor, &m)) == 1)
        if ((rc = mt_sym_add_module(s, trace, &m)) != 0)
            return rc;
    if (rc == 0 && trace >= s->ntraces) /* a trace without modules */
        return mt_sym_add_module(s, trace, &(mt_module_t){0});
    return rc;
}

static int cmp_mod(const void *a, const void *b)
{
    const symmod_t *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return x->first_ts < y->first_ts ? -1 : x->first_ts > y->first_ts;
}

/* The module of TRACE that held PC at time TS (trace clock), or NULL. A
 * module is mapped in [first_ts, last_ts); when address ranges were reused
 * (dlclose, dlopen) the one mapped at TS wins. When none was (a format 1
 * trace, whose times are the ticks that saw modules come and go), the one
 * loaded first after TS, else the one unloaded last before it. */
static const symmod_t *find_module(mt_symbolizer_t *s, uint32_t trace, uint64_t pc, uint64_t ts)
{
    if (trace >= s->ntraces || !s->traces[trace].n)
        return NULL;
    symtrace_t *t = &s->traces[trace];
    if (!t->sorted) {
        qsort(t->mods, t->n, sizeof(*t->mods), cmp_mod);
        for (size_t i = 0; i < t->n; i++)
            t->maxhi[i] = i && t->maxhi[i - 1] > t->mods[i].hi ? t->maxhi[i - 1] : t->mods[i].hi;
        t->sorted = true;
    }
    size_t lo = 0, hi = t->n; /* first module with lo > pc */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->mods[mid].lo <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    const symmod_t *at = NULL, *after = NULL, *before = NULL;
    for (size_t i = lo; i > 0 && t->maxhi[i - 1] > pc; i--) {
        const symmod_t *m = &t->mods[i - 1];
        if (pc >= m->hi)
            continue;
        if (ts < m->first_ts) {
            if (!after || m->first_ts < after->first_ts)
                after = m;
        } else if (m->last_ts && ts >= m->last_ts) {
            if (!before || m->last_ts > before->last_ts)
                before = m;
        } else if (!at || m->first_ts > at->first_ts) {
            at = m;
        }
    }
    return at ? at : after ? after : before;
}

void mt_sym_locate_at(mt_symbolizer_t *s, uint32_t trace, uint64_t pc, uint64_t ts,
                      uint32_t *file, uint64_t *rel)
{
    const symmod_t *m = find_module(s, trace, pc, ts);
    *file = m ? m->file : UINT32_MAX;
    *rel = m ? pc - m->base : pc;
}

void mt_sym_locate(mt_symbolizer_t *s, uint32_t trace, uint64_t pc, uint32_t *file, uint64_t *rel)
{
    mt_sym_locate_at(s, trace, pc, MT_SYM_LATEST, file, rel);
}

bool mt_sym_is_self_at(mt_symbolizer_t *s, uint32_t trace, uint64_t pc, uint64_t ts)
{
    const symmod_t *m = find_module(s, trace, pc, ts);
    return m && s->files[m->file].self;
}

bool mt_sym_is_self(mt_symbolizer_t *s, uint32_t trace, uint64_t pc)
{
    return mt_sym_is_self_at(s, trace, pc, MT_SYM_LATEST);
}

static void open_file(symfile_t *f)
{
    f->state = -1;
    if (f->path[0] != '/') /* [vdso], linux-vdso.so.1: no file to read */
        return;
    /* The path comes from the trace: read it only if it is a regular file
     * (a FIFO or a device named there would block or never end). */
    struct stat st;
    int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !(f->dwfl = dwfl_begin(&callbacks))) {
        close(fd);
        return;
    }
    dwfl_report_begin(f->dwfl);
    f->mod = dwfl_report_elf(f->dwfl, mt_sym_basename(f->path), f->path, fd, 0, false);
    dwfl_report_end(f->dwfl, NULL, NULL);
    if (!f->mod) {
        close(fd); /* consumed only on success */
        return;
    }
    if (f->build_id_len) {
        const unsigned char *bits;
        GElf_Addr vaddr;
        int n = dwfl_module_build_id(f->mod, &bits, &vaddr);
        if (n > 0 && ((uint32_t)n != f->build_id_len || memcmp(bits, f->build_id, (size_t)n))) {
            mt_warning("%s changed since the trace was recorded (its build id differs); "
                       "its frames show as module+offset",
                       f->path);
            return;
        }
    }
    f->state = 1;
}

/* ---- lookups ------------------------------------------------------------ */

static void push(mt_symbolizer_t *s, const mt_frame_t *fr)
{
    if (s->nframes == s->frames_cap) {
        size_t cap = s->frames_cap ? 2 * s->frames_cap : 1024;
        mt_frame_t *g = realloc(s->frames, cap * sizeof(*g));
        if (!g) {
            s->oom = true;
            return;
        }
        s->frames = g;
        s->frames_cap = cap;
    }
    s->frames[s->nframes++] = *fr;
}

static const char *die_function(mt_symbolizer_t *s, Dwarf_Die *d)
{
    Dwarf_Attribute at;
    const char *name = NULL;
    if (dwarf_attr_integrate(d, DW_AT_linkage_name, &at) ||
        dwarf_attr_integrate(d, DW_AT_MIPS_linkage_name, &at))
        name = dwarf_formstring(&at);
    if (!name)
        name = dwarf_diename(d);
    return function_name(s, name);
}

/* Where the inlined subroutine D was called from: its DW_AT_call_file and
 * DW_AT_call_line, resolved through the file table of CU. */
static void call_site(Dwarf_Die *cu, Dwarf_Die *d, const char **file, int *line)
{
    Dwarf_Attribute at;
    Dwarf_Word v;
    *line = dwarf_formudata(dwarf_attr(d, DW_AT_call_line, &at), &v) == 0 ? (int)v : 0;
    *file = NULL;
    Dwarf_Files *files;
    size_t nfiles;
    if (dwarf_formudata(dwarf_attr(d, DW_AT_call_file, &at), &v) == 0 &&
        dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && v < nfiles)
        *file = dwarf_filesrc(files, v, NULL, NULL);
}

/* FILE as an absolute path: relative names in DWARF are relative to the
 * CU's compilation directory; "dir/../" is folded lexically. Interned. */
static const char *source_path(mt_symbolizer_t *s, Dwarf_Die *cu, const char *file)
{
    if (!file || file[0] == '/' || !cu)
        return intern(s, file);
    Dwarf_Attribute at;
    const char *dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &at));
    if (!dir || dir[0] != '/')
        return intern(s, file);
    char buf[4096];
    if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", dir, file) >= sizeof(buf))
        return intern(s, file);
    /* Fold "/./" and "/x/../" in place. */
    char *out = buf, *in = buf;
    while (*in) {
        if (in[0] == '/' && in[1] == '.' && (in[2] == '/' || !in[2])) {
            in += 2;
        } else if (in[0] == '/' && in[1] == '.' && in[2] == '.' && (in[3] == '/' || !in[3])) {
            in += 3;
            while (out > buf && *--out != '/')
                ;
        } else if (in[0] == '/' && in[1] == '/') {
            in++;
        } else {
            *out++ = *in++;
        }
    }
    *out = '\0';
    return intern(s, buf[0] ? buf : "/");
}

/* Appends the frames of module-relative address REL of F. */
static void resolve(mt_symbolizer_t *s, symfile_t *f, uint64_t rel)
{
    mt_frame_t base = {.module = f->path, .offset = rel};
    if (f->state == 0)
        open_file(f);
    if (f->state < 0) {
        push(s, &base);
        return;
    }
    GElf_Addr a = rel ? rel - 1 : 0; /* inside the call instruction */
    GElf_Off soff = 0;
    GElf_Sym sym;
    const char *symname = dwfl_module_addrinfo(f->mod, a, &soff, &sym, NULL, NULL, NULL);
    const char *src = NULL;
    int line = 0;
    Dwfl_Line *ln = dwfl_module_getsrc(f->mod, a);
    if (ln)
        src = dwfl_lineinfo(ln, NULL, &line, NULL, NULL, NULL);

    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(f->mod, a, &bias);
    Dwarf_Die *scopes = NULL;
    int nscopes = cu ? dwarf_getscopes(cu, a - bias, &scopes) : 0;
    int pushed = 0;
    for (int i = 0; i < nscopes && pushed < MAX_INLINE - 1; i++) {
        Dwarf_Die *d = &scopes[i];
        int tag = dwarf_tag(d);
        if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
            continue;
        mt_frame_t fr = base;
        fr.function = die_function(s, d);
        fr.file = source_path(s, cu, src);
        fr.line = line > 0 ? (uint32_t)line : 0;
        if (tag == DW_TAG_subprogram) {
            if (!fr.function)
                fr.function = function_name(s, symname);
            push(s, &fr);
            pushed = -1;
            break;
        }
        fr.inlined = true;
        push(s, &fr);
        pushed++;
        call_site(cu, d, &src, &line);
    }
    free(scopes);
    if (pushed >= 0) { /* no DWARF subprogram: the symbol table's name */
        mt_frame_t fr = base;
        fr.function = function_name(s, symname);
        fr.file = source_path(s, cu, src);
        fr.line = line > 0 ? (uint32_t)line : 0;
        if (fr.function && !fr.file)
            fr.offset = soff + (rel ? 1 : 0);
        push(s, &fr);
    }
}

static cache_ent_t *cache_slot(mt_symbolizer_t *s, uint32_t file, uint64_t rel)
{
    size_t mask = ((size_t)1 << s->cache_bits) - 1;
    size_t j = (size_t)(((rel ^ ((uint64_t)file << 48)) * 0x9E3779B97F4A7C15ull) >>
                        (64 - s->cache_bits));
    for (;; j = (j + 1) & mask)
        if (!s->cache[j].n || (s->cache[j].rel == rel && s->cache[j].file == file))
            return &s->cache[j];
}

static bool cache_grow(mt_symbolizer_t *s)
{
    unsigned bits = s->cache_bits ? s->cache_bits + 1 : 12;
    cache_ent_t *g = calloc((size_t)1 << bits, sizeof(*g));
    if (!g)
        return false;
    cache_ent_t *old = s->cache;
    size_t oldn = s->cache_bits ? (size_t)1 << s->cache_bits : 0;
    s->cache = g;
    s->cache_bits = bits;
    for (size_t i = 0; i < oldn; i++)
        if (old[i].n)
            *cache_slot(s, old[i].file, old[i].rel) = old[i];
    free(old);
    return true;
}

size_t mt_sym_pc(mt_symbolizer_t *s, uint32_t trace, uint64_t pc, mt_frame_t *out, size_t cap)
{
    return mt_sym_pc_at(s, trace, pc, MT_SYM_LATEST, out, cap);
}

size_t mt_sym_pc_at(mt_symbolizer_t *s, uint32_t trace, uint64_t pc, uint64_t ts, mt_frame_t *out,
                    size_t cap)
{
    if (!cap)
        return 0;
    const symmod_t *m = find_module(s, trace, pc, ts);
    if (!m) {
        out[0] = (mt_frame_t){.address = pc, .offset = pc};
        return 1;
    }
    uint64_t rel = pc - m->base;
    if ((!s->cache_bits || (s->ncache + 1) * 4 > ((size_t)3 << s->cache_bits)) &&
        !cache_grow(s)) {
        out[0] = (mt_frame_t){.module = s->files[m->file].path, .address = pc, .offset = rel};
        return 1;
    }
    cache_ent_t *ce = cache_slot(s, m->file, rel);
    if (!ce->n) {
        size_t first = s->nframes;
        resolve(s, &s->files[m->file], rel);
        if (s->nframes == first) { /* out of memory */
            out[0] = (mt_frame_t){.module = s->files[m->file].path, .address = pc, .offset = rel};
            return 1;
        }
        ce->rel = rel;
        ce->file = m->file;
        ce->first = (uint32_t)first;
        ce->n = (uint32_t)(s->nframes - first);
        s->ncache++;
    }
    size_t n = ce->n < cap ? ce->n : cap;
    for (size_t i = 0; i < n; i++) {
        out[i] = s->frames[ce->first + i];
        out[i].address = pc;
    }
    return n;
}
