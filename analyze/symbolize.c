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
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "debugfile.h"
#include "lines.h"
#include "scopes.h"

/* From the C++ runtime (libstdc++), linked in for demangling. */
extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

#define MAX_INLINE 32 /* frames kept for one pc */

/* One function-like symbol of a file's symbol tables, for the index. */
typedef struct symidx {
    uint64_t value, end;    /* [value, end): the symbol's bytes */
    const char *name;       /* in the symbol table's strings */
    uint32_t index;         /* in the symbol table */
    int bind;               /* addrinfo's preference: global 3, weak 2, local 1, else 0 */
} symidx_t;

/* What addrinfo answered for the addresses of one class (see sym_at). */
typedef struct symans {
    uint64_t j, nc, at, scn; /* the class */
    const char *name;
    uint64_t value;         /* the symbol's: a - offset */
} symans_t;

typedef struct symfile {
    const char *path;       /* interned */
    uint8_t build_id[40];
    uint32_t build_id_len;
    int state;              /* 0 not opened yet, 1 usable, -1 unusable */
    int claim;              /* prefetch: 0 not prepared, 1 being prepared, 2 prepared */
    bool queued;            /* in the prefetch order */
    bool changed, warned;   /* its build id differs from the trace's: warned yet? */
    bool oom;               /* preparing it ran out of memory */
    bool self;              /* libmtrace.so */
    Dwfl *dwfl;
    Dwfl_Module *mod;
    mt_scopes_t *scopes;    /* its units' scope trees (scopes.c) */
    mt_lines_t *lines;      /* its units' line tables (lines.c) */
    /* The symbols addrinfo considers, by value, to answer it without its
     * linear scan of the whole table (see sym_at). */
    symidx_t *syms;
    uint64_t *maxend;       /* maxend[i]: the largest end of syms[0..i] */
    size_t nsyms;
    int first_global;       /* dwfl_module_getsymtab_first_global */
    uint64_t *labels;       /* the values of the sizeless symbols in a section, sorted */
    size_t nlabels;
    uint64_t (*scns)[2];    /* the sections' [lo, hi), in header order */
    size_t nscns;
    symans_t *ans;
    size_t nans, ans_cap;
    mt_table_t ans_by_class; /* hash of the class -> index in ans */
    int syms_state;         /* 0 not built, 1 built, -1 unusable */
} symfile_t;

typedef struct symmod {
    uint64_t lo, hi, base, first_ts, last_ts; /* mapped in [first_ts, last_ts or forever) */
    uint32_t file;
    bool alone;             /* no other module of the trace overlaps [lo, hi) */
} symmod_t;

typedef struct symtrace {
    symmod_t *mods;         /* by lo, then first_ts */
    uint64_t *maxhi;        /* maxhi[i]: the largest hi of mods[0..i] */
    size_t n, cap;
    bool sorted;
    uint32_t hot[64];       /* by page hash: index + 1 of a module found alone there */
} symtrace_t;

#define HOT(pc) (((pc) >> 12) * 0x9e3779b97f4a7c15ull >> 58)

typedef struct cache_ent {
    uint64_t rel;
    uint32_t file;
    uint32_t first;         /* index in frames */
    uint32_t n;
    uint32_t id;            /* print id (mt_sym_pc_id_at) + 1; 0 not known yet */
} cache_ent_t;

struct mt_symbolizer {
    symfile_t *files;
    size_t nfiles, files_cap;
    symtrace_t *traces;
    size_t ntraces;
    /* string intern set */
    char **strs;
    size_t nstrs, strs_cap;
    mt_table_t str_by_hash; /* hash_str -> index in strs */
    /* names as found (in a file's string tables, which live as long as
     * its Dwfl) -> index in named: their demangled, interned text */
    mt_table_t name_by_ptr;
    const char **named;
    size_t nnamed, named_cap;
    /* (file, rel) -> frames */
    cache_ent_t *cache;
    size_t ncache, cache_cap;
    mt_table_t cache_by_key; /* cache_key(file, rel) -> index in cache */
    mt_frame_t *frames;
    size_t nframes, frames_cap;
    /* print ids: one per distinct list of frames as they print */
    uint64_t *words;        /* each id's words (ID_WORDS per frame) */
    size_t nwords, words_cap;
    uint32_t *id_first, *id_n; /* by id: its words */
    size_t nids, ids_cap, id_n_cap;
    mt_table_t id_by_hash;
    /* (trace, pc) -> index in pcs: pcs whose module does not depend on the
     * time (alone on its addresses, or none), their id and self flag */
    struct pc_ent {
        uint64_t pc;
        uint32_t trace, id;
        bool self;
    } *pcs;
    size_t npcs, pcs_cap;
    mt_table_t pc_by_key;
    uint32_t pc_hot[4096]; /* by pc hash: index + 1 in pcs (most frames repeat) */
    bool oom;
    uint64_t scans;         /* dwfl_module_addrinfo calls (linear scans) */
    /* prefetch: a thread prepares files (opens them, decompresses their
     * debug sections, indexes their symbols) ahead of their first use */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool stop, thread_started;
    uint32_t *order;        /* files to prepare, by first use in the stacks */
    size_t norder, order_cap, next;
    uint64_t prefetched;    /* files the thread prepared */
};

static char *debuginfo_path; /* NULL: libdwfl's default search path */

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = mt_debugfile_find, /* the standard search, sections inflated */
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

mt_symbolizer_t *mt_sym_new(void)
{
    mt_symbolizer_t *s = calloc(1, sizeof(mt_symbolizer_t));
    if (s && (pthread_mutex_init(&s->mu, NULL) || pthread_cond_init(&s->cv, NULL))) {
        free(s);
        return NULL;
    }
    return s;
}

static void prefetch_join(mt_symbolizer_t *s);

void mt_sym_free(mt_symbolizer_t *s)
{
    if (!s)
        return;
    prefetch_join(s);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s->order);
    for (size_t i = 0; i < s->nfiles; i++)
        if (s->files[i].dwfl)
            dwfl_end(s->files[i].dwfl);
    for (size_t i = 0; i < s->nfiles; i++) {
        mt_scopes_free(s->files[i].scopes);
        mt_lines_free(s->files[i].lines);
        free(s->files[i].syms);
        free(s->files[i].maxend);
        free(s->files[i].scns);
        free(s->files[i].labels);
        free(s->files[i].ans);
        mt_table_free(&s->files[i].ans_by_class);
    }
    free(s->files);
    for (size_t i = 0; i < s->ntraces; i++) {
        free(s->traces[i].mods);
        free(s->traces[i].maxhi);
    }
    free(s->traces);
    for (size_t i = 0; i < s->nstrs; i++)
        free(s->strs[i]);
    free(s->strs);
    mt_table_free(&s->str_by_hash);
    mt_table_free(&s->name_by_ptr);
    free(s->named);
    free(s->cache);
    mt_table_free(&s->cache_by_key);
    free(s->frames);
    free(s->words);
    free(s->id_first);
    free(s->id_n);
    mt_table_free(&s->id_by_hash);
    free(s->pcs);
    mt_table_free(&s->pc_by_key);
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

typedef struct str_key {
    const mt_symbolizer_t *s;
    const char *p;
    size_t n;
} str_key_t;

static bool str_is(const void *ctx, uint32_t v)
{
    const str_key_t *k = ctx;
    return strncmp(k->s->strs[v], k->p, k->n) == 0 && k->s->strs[v][k->n] == '\0';
}

/* The one stable copy of P[N]; NULL when out of memory. */
static const char *intern_len(mt_symbolizer_t *s, const char *p, size_t n)
{
    if (!p)
        return NULL;
    uint64_t h = hash_str(p, n);
    str_key_t k = {s, p, n};
    uint32_t i = mt_table_find(&s->str_by_hash, h, str_is, &k);
    if (i != MT_TABLE_NONE)
        return s->strs[i];
    char *c = malloc(n + 1);
    if (!c || s->nstrs >= UINT32_MAX - 1 || !MT_VEC_PUSH(NULL, s->strs, s->nstrs, s->strs_cap) ||
        mt_table_put(&s->str_by_hash, h, (uint32_t)s->nstrs)) {
        free(c);
        s->oom = true;
        return NULL;
    }
    memcpy(c, p, n);
    c[n] = '\0';
    s->strs[s->nstrs++] = c;
    return c;
}

static const char *intern(mt_symbolizer_t *s, const char *p)
{
    return p ? intern_len(s, p, strlen(p)) : NULL;
}

static const char *demangle(mt_symbolizer_t *s, const char *name);

/* Demangled (C++) or plain name, interned. NAME is in a string table of an
 * open file: the same pointer is the same name, demangled once. */
static const char *function_name(mt_symbolizer_t *s, const char *name)
{
    if (!name)
        return NULL;
    uint32_t v = mt_table_get(&s->name_by_ptr, (uint64_t)(uintptr_t)name);
    if (v != MT_TABLE_NONE)
        return s->named[v];
    const char *r = demangle(s, name);
    if (r && s->nnamed < UINT32_MAX - 1) {
        const char **e = MT_VEC_PUSH(NULL, s->named, s->nnamed, s->named_cap);
        if (e && !mt_table_put(&s->name_by_ptr, (uint64_t)(uintptr_t)name, (uint32_t)s->nnamed)) {
            *e = r;
            s->nnamed++;
        }
    }
    return r;
}

static const char *demangle(mt_symbolizer_t *s, const char *name)
{
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
    prefetch_join(s); /* the files array may move */
    if (s->npcs) { /* the map changes: a pc's module may too */
        s->npcs = 0;
        mt_table_free(&s->pc_by_key);
        memset(s->pc_hot, 0, sizeof(s->pc_hot));
    }
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
    t->mods[t->n++] = (symmod_t){m->lo, m->hi, m->base, m->first_ts, m->last_ts, fi, false};
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
        for (size_t i = 0; i < t->n; i++)
            t->mods[i].alone = (!i || t->maxhi[i - 1] <= t->mods[i].lo) &&
                               (i + 1 == t->n || t->mods[i + 1].lo >= t->mods[i].hi);
        memset(t->hot, 0, sizeof(t->hot));
        t->sorted = true;
    }
    /* A module alone on its addresses is the answer at any time. */
    uint32_t h = t->hot[HOT(pc)];
    if (h && pc >= t->mods[h - 1].lo && pc < t->mods[h - 1].hi)
        return &t->mods[h - 1];
    size_t lo = 0, hi = t->n; /* first module with lo > pc */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->mods[mid].lo <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo && t->mods[lo - 1].alone && pc < t->mods[lo - 1].hi) {
        t->hot[HOT(pc)] = (uint32_t)lo;
        return &t->mods[lo - 1];
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

bool mt_sym_module_at(mt_symbolizer_t *s, uint32_t trace, uint64_t pc, uint64_t ts,
                      mt_sym_module_t *out)
{
    const symmod_t *m = find_module(s, trace, pc, ts);
    if (!m)
        return false;
    const symfile_t *f = &s->files[m->file];
    *out = (mt_sym_module_t){m->lo, m->hi, m->base, f->path, f->build_id, f->build_id_len,
                             m->file};
    return true;
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
            f->changed = true; /* warned at its first use (resolve) */
            return;
        }
    }
    f->state = 1;
}

/* ---- symbol tables ------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts S[N] by value, stably (the order of equal values does not matter:
 * choose goes by table index): a least-significant-digit radix sort, 11
 * bits a pass, skipping the digits in which no two values differ (a large
 * C++ library has 10^5 symbols; a merge sort of them cost 40M
 * instructions, the passes here about 20 a symbol each). */
static void sort_syms(symidx_t *s, size_t n)
{
    symidx_t *tmp = n > 1 ? malloc(n * sizeof(*tmp)) : NULL;
    if (!tmp) {
        for (size_t i = 1; i < n; i++) /* insertion sort: slow, but sorted */
            for (size_t j = i; j > 0 && s[j - 1].value > s[j].value; j--) {
                symidx_t t = s[j];
                s[j] = s[j - 1];
                s[j - 1] = t;
            }
        return;
    }
    uint64_t any = 0, all = ~(uint64_t)0;
    for (size_t i = 0; i < n; i++) {
        any |= s[i].value;
        all &= s[i].value;
    }
    uint64_t differ = any ^ all;
    symidx_t *src = s, *dst = tmp;
    for (unsigned shift = 0; shift < 64; shift += 11) {
        if (!((differ >> shift) & 0x7ff))
            continue;
        size_t at[2048] = {0};
        for (size_t i = 0; i < n; i++)
            at[(src[i].value >> shift) & 0x7ff]++;
        size_t sum = 0;
        for (size_t d = 0; d < 2048; d++) {
            size_t c = at[d];
            at[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[at[(src[i].value >> shift) & 0x7ff]++] = src[i];
        symidx_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != s)
        memcpy(s, src, n * sizeof(*s));
    free(tmp);
}

/* Indexes the symbols dwfl_module_addrinfo considers (named, defined, not a
 * section, file or TLS symbol), by value. ELFv1 PowerPC (function
 * descriptors, whose values addrinfo resolves) is left to addrinfo. */
static void index_symbols(symfile_t *f)
{
    f->syms_state = -1;
    GElf_Addr bias;
    Elf *elf = dwfl_module_getelf(f->mod, &bias);
    GElf_Ehdr eh;
    int n = dwfl_module_getsymtab(f->mod);
    f->first_global = dwfl_module_getsymtab_first_global(f->mod);
    if (!elf || !gelf_getehdr(elf, &eh) || eh.e_machine == EM_PPC64 || n < 0 ||
        f->first_global < 0)
        return;
    size_t cap = 0, labels_cap = 0;
    for (int i = 1; i < n; i++) {
        GElf_Sym sym;
        GElf_Addr value;
        GElf_Word shndx;
        Elf *symelf;
        Dwarf_Addr symbias;
        const char *name = dwfl_module_getsym_info(f->mod, i, &sym, &value, &shndx, &symelf,
                                                   &symbias);
        int type = GELF_ST_TYPE(sym.st_info);
        if (!name || !name[0] || sym.st_shndx == SHN_UNDEF || type == STT_SECTION ||
            type == STT_FILE || type == STT_TLS)
            continue;
        symidx_t *e = MT_VEC_PUSH(NULL, f->syms, f->nsyms, cap);
        if (!e) {
            f->oom = true;
            return;
        }
        uint64_t end = value + sym.st_size;
        int bind = GELF_ST_BIND(sym.st_info);
        if (!sym.st_size && shndx < SHN_LORESERVE) { /* absolute ones match only at their value */
            uint64_t *l = MT_VEC_PUSH(NULL, f->labels, f->nlabels, labels_cap);
            if (!l) {
                f->oom = true;
                return;
            }
            *l = value;
            f->nlabels++;
        }
        *e = (symidx_t){value, end < value ? UINT64_MAX : end, name, (uint32_t)i,
                        bind == STB_GLOBAL ? 3 : bind == STB_WEAK ? 2 : bind == STB_LOCAL};
        f->nsyms++;
    }
    if (f->nlabels)
        qsort(f->labels, f->nlabels, sizeof(*f->labels), cmp_u64);
    if (f->nsyms) {
        sort_syms(f->syms, f->nsyms);
        if (!(f->maxend = malloc(f->nsyms * sizeof(*f->maxend)))) {
            f->oom = true;
            return;
        }
        for (size_t i = 0; i < f->nsyms; i++)
            f->maxend[i] = i && f->maxend[i - 1] > f->syms[i].end ? f->maxend[i - 1] : f->syms[i].end;
    }
    size_t cap_scns = 0;
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn)) != NULL;) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh))
            return;
        uint64_t (*e)[2] = MT_VEC_PUSH(NULL, f->scns, f->nscns, cap_scns);
        if (!e) {
            f->oom = true;
            return;
        }
        (*e)[0] = sh.sh_addr + bias;
        (*e)[1] = sh.sh_addr + bias + sh.sh_size;
        f->nscns++;
    }
    f->syms_state = 1;
}

/* True when a sizeless symbol (in a section) starts in [LO, HI] at or
 * above MIN. */
static bool label_between(const symfile_t *f, uint64_t lo, uint64_t hi, uint64_t min)
{
    size_t l = 0, h = f->nlabels; /* first label > HI */
    while (l < h) {
        size_t mid = (l + h) / 2;
        if (f->labels[mid] <= hi)
            l = mid + 1;
        else
            h = mid;
    }
    return lo != UINT64_MAX && l > 0 && f->labels[l - 1] >= lo && f->labels[l - 1] >= min;
}

static bool ans_is(const void *ctx, uint32_t v)
{
    const symans_t *k = ctx, *e = (const symans_t *)k->name + v;
    return e->j == k->j && e->nc == k->nc && e->at == k->at && e->scn == k->scn;
}

/* The symbol addrinfo chooses among the N symbols IN that contain an
 * address (AT: one starts right there), when that is certain; else NULL.
 * It searches the global symbols (from first_global on), then, only if no
 * sized one contains the address, the local ones (unless a sizeless global
 * starts right at it); in each, a symbol replaces the one chosen so far
 * when it starts higher or binds more strongly, in table order. (Among
 * aliases of different sizes elfutils versions choose differently: those
 * are left to addrinfo.) */
static const symidx_t *choose(const symfile_t *f, const symidx_t **in, size_t n, bool at)
{
    uint32_t fg = f->first_global > 0 ? (uint32_t)f->first_global : 1;
    const symidx_t *best = NULL;
    for (size_t i = 0; i < n; i++) /* aliases of different sizes: versions differ */
        for (size_t j = i + 1; j < n; j++)
            if (in[i]->value == in[j]->value && in[i]->end != in[j]->end)
                return NULL;
    for (int pass = 0; pass < 2 && !best; pass++) {
        if (pass == 1 && (at || fg <= 1))
            return NULL;
        uint32_t after = 0; /* table order: the next symbol after index AFTER - 1 */
        for (;;) {
            const symidx_t *next = NULL;
            for (size_t i = 0; i < n; i++)
                if ((pass == 0 ? in[i]->index >= fg : in[i]->index < fg) && in[i]->index >= after &&
                    (!next || in[i]->index < next->index))
                    next = in[i];
            if (!next)
                break;
            if (!best || best->value < next->value || best->bind < next->bind)
                best = next;
            after = next->index + 1;
        }
    }
    return best;
}

/* dwfl_module_addrinfo's symbol name for A in F, and A's offset in it.
 *
 * addrinfo reads the whole symbol table at every call (its choice among
 * overlapping, aliased and sizeless symbols depends on their order), which
 * made symbolizing a program's stacks take seconds. But its choice depends
 * on A only through: which symbols start at or below A (J of them, by
 * value), how many of those contain A (NC: as A grows they only drop out),
 * whether one starts right at A (AT; absolute symbols match only there),
 * and A's sections (sizeless symbols count only in A's). When sized symbols
 * contain A, its choice among them is made here (choose). When none does
 * and no symbol starts at A, every symbol is searched, and a sizeless one
 * is taken only in A's section (absolute ones, as a library's versions,
 * only right at their value) and only when no symbol at or below A ends
 * above it: when no sizeless symbol is such, there is none. Otherwise it is
 * asked once per such class and the symbol it chose is reused for the
 * class's other addresses. */
static const char *sym_at(mt_symbolizer_t *s, symfile_t *f, GElf_Addr a, GElf_Off *off)
{
    if (f->syms_state == 0)
        index_symbols(f);
    symans_t k = {0};
    if (f->syms_state > 0) {
        size_t lo = 0, hi = f->nsyms;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (f->syms[mid].value <= a)
                lo = mid + 1;
            else
                hi = mid;
        }
        k.j = lo;
        const symidx_t *in[16]; /* the symbols containing A, while they fit */
        for (size_t i = lo; i > 0 && f->maxend[i - 1] > a; i--)
            if (f->syms[i - 1].end > a && k.nc++ < 16)
                in[k.nc - 1] = &f->syms[i - 1];
        k.at = lo > 0 && f->syms[lo - 1].value == a;
        k.scn = 0xcbf29ce484222325ull; /* the set of sections holding A */
        uint64_t scn_lo = UINT64_MAX; /* the start of the first one */
        for (size_t i = 0; i < f->nscns; i++)
            if (a >= f->scns[i][0] && a < f->scns[i][1]) {
                k.scn = (k.scn ^ (i + 1)) * 0x100000001b3ull;
                if (scn_lo == UINT64_MAX)
                    scn_lo = f->scns[i][0];
            }
        const symidx_t *best = k.nc && k.nc <= 16 ? choose(f, in, k.nc, k.at) : NULL;
        if (best) {
            *off = a - best->value;
            return best->name;
        }
        if (!k.nc && !k.at && !label_between(f, scn_lo, a, lo ? f->maxend[lo - 1] : 0)) {
            *off = a;
            return NULL;
        }
        uint64_t w[4] = {k.j, k.nc, k.at, k.scn};
        symans_t ctx = k;
        ctx.name = (const char *)f->ans;
        uint32_t v = mt_table_find(&f->ans_by_class, mt_hash_words(w, 4), ans_is, &ctx);
        if (v != MT_TABLE_NONE) {
            *off = a - f->ans[v].value;
            return f->ans[v].name;
        }
    }
    GElf_Sym sym;
    s->scans++;
    const char *name = dwfl_module_addrinfo(f->mod, a, off, &sym, NULL, NULL, NULL);
    if (f->syms_state > 0 && f->nans < UINT32_MAX - 1) {
        symans_t *e = MT_VEC_PUSH(NULL, f->ans, f->nans, f->ans_cap);
        uint64_t w[4] = {k.j, k.nc, k.at, k.scn};
        if (e && mt_table_put(&f->ans_by_class, mt_hash_words(w, 4), (uint32_t)f->nans) == 0) {
            k.name = name;
            k.value = name ? a - *off : 0;
            *e = k;
            f->nans++;
        }
    }
    return name;
}

uint64_t mt_sym_symtab_scans(const mt_symbolizer_t *s)
{
    return s->scans;
}

uint64_t mt_sym_prefetched(mt_symbolizer_t *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->prefetched;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void mt_sym_line_counts(const mt_symbolizer_t *s, uint64_t *decoded, uint64_t *asked_libdw)
{
    *decoded = *asked_libdw = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        uint64_t d, w;
        mt_lines_counts(s->files[i].lines, &d, &w);
        *decoded += d;
        *asked_libdw += w;
    }
}

void mt_sym_scope_counts(const mt_symbolizer_t *s, uint64_t *dies_read, uint64_t *libdw_walks)
{
    *dies_read = *libdw_walks = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        uint64_t d, w;
        mt_scopes_counts(s->files[i].scopes, &d, &w);
        *dies_read += d;
        *libdw_walks += w;
    }
}

uint64_t mt_sym_scope_abbrevs_probed(const mt_symbolizer_t *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->nfiles; i++)
        n += mt_scopes_abbrevs_probed(s->files[i].scopes);
    return n;
}

uint64_t mt_sym_scope_libdw_siblings(const mt_symbolizer_t *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->nfiles; i++)
        n += mt_scopes_libdw_siblings(s->files[i].scopes);
    return n;
}

/* ---- prefetch ----------------------------------------------------------- */

/* Opens F and does the work its first address would: libdwfl reads (and
 * decompresses) its debug sections and symbol table, and they are indexed.
 * Touches F alone: the prefetch thread runs it on files the main thread
 * does not use meanwhile (see prepared). */
static void prepare(symfile_t *f)
{
    if (f->state == 0)
        open_file(f);
    if (f->state > 0) {
        Dwarf_Addr bias;
        dwfl_module_getdwarf(f->mod, &bias);
        if (f->syms_state == 0)
            index_symbols(f);
    }
}

static void *prefetch_main(void *arg)
{
    mt_symbolizer_t *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop && s->next < s->norder) {
        symfile_t *f = &s->files[s->order[s->next++]];
        if (f->claim)
            continue; /* the main thread has it */
        f->claim = 1;
        pthread_mutex_unlock(&s->mu);
        prepare(f);
        pthread_mutex_lock(&s->mu);
        __atomic_store_n(&f->claim, 2, __ATOMIC_RELEASE);
        s->prefetched++;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Waits for the prefetch thread to stop (it finishes the file at hand). */
static void prefetch_join(mt_symbolizer_t *s)
{
    pthread_mutex_lock(&s->mu);
    bool joinable = s->thread_started;
    s->stop = true;
    s->thread_started = false;
    pthread_mutex_unlock(&s->mu);
    if (joinable)
        pthread_join(s->thread, NULL);
    s->stop = false;
}

/* F is the main thread's from here on: prepared by the prefetch thread
 * (waits while it is at it) or not touched by it at all. */
static void prepared(mt_symbolizer_t *s, symfile_t *f)
{
    if (__atomic_load_n(&f->claim, __ATOMIC_ACQUIRE) == 2)
        return;
    pthread_mutex_lock(&s->mu);
    while (f->claim == 1)
        pthread_cond_wait(&s->cv, &s->mu);
    __atomic_store_n(&f->claim, 2, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&s->mu);
}

/* Stacks looked at to choose the files to prefetch. */
#define PREFETCH_STACKS 4096

int mt_sym_prefetch(mt_symbolizer_t *s, mt_reader_t **readers, size_t n)
{
    prefetch_join(s);
    s->norder = s->next = 0;
    uint64_t pcs[MT_MAX_FRAMES];
    for (size_t t = 0; t < n; t++) {
        uint64_t cursor = 0;
        uint32_t id, nf;
        for (int k = 0; k < PREFETCH_STACKS && mt_reader_next_stack(readers[t], &cursor, &id, pcs,
                                                                   &nf) == 1; k++)
            for (uint32_t i = 0; i < nf; i++) {
                const symmod_t *m = find_module(s, (uint32_t)t, pcs[i], MT_SYM_LATEST);
                if (!m || s->files[m->file].queued || s->files[m->file].claim)
                    continue;
                uint32_t *o = MT_VEC_PUSH(NULL, s->order, s->norder, s->order_cap);
                if (!o)
                    return ENOMEM;
                *o = m->file;
                s->norder++;
                s->files[m->file].queued = true;
            }
    }
    /* The main thread takes the files in about this order, beginning with
     * the first at once: the thread begins with the second. */
    s->next = 1;
    if (s->norder < 2)
        return 0; /* nothing to do alongside */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* signals stay the main thread's */
    int rc = pthread_create(&s->thread, NULL, prefetch_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        s->thread_started = true;
    return 0; /* without the thread, the files are prepared at first use */
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
 * DW_AT_call_line, resolved through the file table of CU (lines.c's, else
 * libdw's). */
static void call_site(symfile_t *f, Dwarf_Die *cu, Dwarf_Die *d, const char **file, int *line)
{
    Dwarf_Attribute at;
    Dwarf_Word v;
    *line = dwarf_formudata(dwarf_attr(d, DW_AT_call_line, &at), &v) == 0 ? (int)v : 0;
    *file = NULL;
    Dwarf_Files *files;
    size_t nfiles;
    if (dwarf_formudata(dwarf_attr(d, DW_AT_call_file, &at), &v) == 0 &&
        (!f->lines || mt_lines_file(f->lines, f->mod, cu, v, file) < 0) &&
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

/* Appends the frames of module-relative address REL of F.
 *
 * libdwfl hands back the CU whose address range starts last at or before
 * the address, gaps included, and the nearest line at or before it: code
 * without debug information (_start, hand-written assembly) that follows a
 * unit gets a line of that unit. So a line is believed only when the CU's
 * ranges contain the address and, in a unit that describes its functions,
 * a subprogram does too.
 *
 * Inlined frames: the physical chain of scopes from the innermost inlined
 * instance (scopes.c, as dwarf_getscopes and dwarf_getscopes_die give it):
 * every inlined_subroutine up to the subprogram. Each frame's line is the
 * call site (DW_AT_call_file, DW_AT_call_line) of the frame inside it. */
static void resolve(mt_symbolizer_t *s, symfile_t *f, uint64_t rel)
{
    mt_frame_t base = {.module = f->path, .offset = rel};
    prepared(s, f);
    if (f->changed && !f->warned) {
        f->warned = true;
        mt_warning("%s changed since the trace was recorded (its build id differs); "
                   "its frames show as module+offset",
                   f->path);
    }
    if (f->oom)
        s->oom = true;
    if (f->state == 0)
        open_file(f);
    if (f->state < 0) {
        push(s, &base);
        return;
    }
    GElf_Addr a = rel ? rel - 1 : 0; /* inside the call instruction */
    GElf_Off soff = 0;
    const char *symname = sym_at(s, f, a, &soff);
    const char *src = NULL;
    int line = 0;

    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = dwfl_module_addrdie(f->mod, a, &bias);
    if (cu && dwarf_haspc(cu, a - bias) <= 0)
        cu = NULL; /* in a gap between units */
    Dwarf_Die *scopes = NULL;
    int first = 0; /* the innermost function-like scope */
    if (cu && !f->scopes && !(f->scopes = mt_scopes_new()))
        s->oom = true;
    int nscopes = cu && f->scopes ? mt_scopes_get(f->scopes, cu, a - bias, &scopes, &first) : 0;
    if (cu && first >= nscopes && (!f->scopes || mt_scopes_has_functions(f->scopes, cu)))
        cu = NULL; /* no function of this unit covers it: not its code */
    if (cu && !f->lines && !(f->lines = mt_lines_new()))
        s->oom = true;
    if (cu && (!f->lines || mt_lines_get(f->lines, f->mod, cu, a - bias, &src, &line) < 0)) {
        Dwfl_Line *ln = dwfl_module_getsrc(f->mod, a);
        if (ln)
            src = dwfl_lineinfo(ln, NULL, &line, NULL, NULL, NULL);
    }
    int pushed = 0;
    for (int i = first; cu && i < nscopes && pushed < MAX_INLINE - 1; i++) {
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
        call_site(f, cu, d, &src, &line);
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

static uint64_t cache_key(uint32_t file, uint64_t rel)
{
    return rel ^ ((uint64_t)file << 48);
}

typedef struct cache_want {
    const mt_symbolizer_t *s;
    uint32_t file;
    uint64_t rel;
} cache_want_t;

static bool cache_is(const void *ctx, uint32_t v)
{
    const cache_want_t *k = ctx;
    return k->s->cache[v].rel == k->rel && k->s->cache[v].file == k->file;
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
    cache_want_t want = {s, m->file, rel};
    uint32_t ci = mt_table_find(&s->cache_by_key, cache_key(m->file, rel), cache_is, &want);
    if (ci == MT_TABLE_NONE) {
        size_t first = s->nframes;
        cache_ent_t *e = s->ncache < UINT32_MAX - 1
                             ? MT_VEC_PUSH(NULL, s->cache, s->ncache, s->cache_cap)
                             : NULL;
        if (e)
            resolve(s, &s->files[m->file], rel);
        if (!e || s->nframes == first || /* out of memory */
            mt_table_put(&s->cache_by_key, cache_key(m->file, rel), (uint32_t)s->ncache)) {
            out[0] = (mt_frame_t){.module = s->files[m->file].path, .address = pc, .offset = rel};
            return 1;
        }
        *e = (cache_ent_t){rel, m->file, (uint32_t)first, (uint32_t)(s->nframes - first), 0};
        ci = (uint32_t)s->ncache++;
    }
    const cache_ent_t *ce = &s->cache[ci];
    size_t n = ce->n < cap ? ce->n : cap;
    for (size_t i = 0; i < n; i++) {
        out[i] = s->frames[ce->first + i];
        out[i].address = pc;
    }
    return n;
}

/* ---- print ids ------------------------------------------------------------ */

#define ID_WORDS 5 /* words per frame: what it prints as */

typedef struct id_want {
    const mt_symbolizer_t *s;
    const uint64_t *w;
    size_t n;
} id_want_t;

static bool id_is(const void *ctx, uint32_t v)
{
    const id_want_t *k = ctx;
    return k->s->id_n[v] == k->n && !memcmp(k->s->words + k->s->id_first[v], k->w, k->n * 8);
}

/* Appends to W what frame FR prints as: function, file, line and inlined
 * flag, module, and the offset when there is no file (the frame prints as
 * function+offset or module+offset). Strings are interned: equal text is
 * an equal pointer. */
static void frame_words(const mt_frame_t *fr, uint64_t *w)
{
    w[0] = (uint64_t)(uintptr_t)fr->function;
    w[1] = (uint64_t)(uintptr_t)fr->file;
    w[2] = (uint64_t)fr->line << 1 | fr->inlined;
    w[3] = (uint64_t)(uintptr_t)fr->module;
    w[4] = fr->file ? 0 : fr->offset;
}

/* The id of the frame list W[N] (ID_WORDS per frame); UINT32_MAX when out
 * of memory. */
static uint32_t intern_words(mt_symbolizer_t *s, const uint64_t *w, size_t n)
{
    uint64_t h = mt_hash_words(w, n);
    id_want_t k = {s, w, n};
    uint32_t v = mt_table_find(&s->id_by_hash, h, id_is, &k);
    if (v != MT_TABLE_NONE)
        return v;
    if (s->nids >= UINT32_MAX - 2 || s->nwords + n >= UINT32_MAX ||
        mt_vec_reserve(NULL, &s->words, &s->words_cap, s->nwords + n, sizeof(*s->words)) ||
        mt_vec_reserve(NULL, &s->id_first, &s->ids_cap, s->nids + 1, sizeof(*s->id_first)) ||
        mt_vec_reserve(NULL, &s->id_n, &s->id_n_cap, s->nids + 1, sizeof(*s->id_n)) ||
        mt_table_put(&s->id_by_hash, h, (uint32_t)s->nids))
        return UINT32_MAX;
    memcpy(s->words + s->nwords, w, n * sizeof(*w));
    s->id_first[s->nids] = (uint32_t)s->nwords;
    s->id_n[s->nids] = (uint32_t)n;
    s->nwords += n;
    return (uint32_t)s->nids++;
}

uint32_t mt_sym_pc_id_at(mt_symbolizer_t *s, uint32_t trace, uint64_t pc, uint64_t ts)
{
    uint64_t w[ID_WORDS * MAX_INLINE];
    const symmod_t *m = find_module(s, trace, pc, ts);
    if (m) { /* the cache entry mt_sym_pc_at makes keeps the id */
        uint64_t rel = pc - m->base;
        cache_want_t want = {s, m->file, rel};
        uint32_t ci = mt_table_find(&s->cache_by_key, cache_key(m->file, rel), cache_is, &want);
        if (ci != MT_TABLE_NONE && s->cache[ci].id)
            return s->cache[ci].id - 1;
    }
    mt_frame_t fr[MAX_INLINE];
    size_t n = mt_sym_pc_at(s, trace, pc, ts, fr, MAX_INLINE);
    for (size_t i = 0; i < n; i++)
        frame_words(&fr[i], w + ID_WORDS * i);
    uint32_t id = intern_words(s, w, ID_WORDS * n);
    if (m && id != UINT32_MAX) {
        uint64_t rel = pc - m->base;
        cache_want_t want = {s, m->file, rel};
        uint32_t ci = mt_table_find(&s->cache_by_key, cache_key(m->file, rel), cache_is, &want);
        if (ci != MT_TABLE_NONE)
            s->cache[ci].id = id + 1;
    }
    return id;
}

typedef struct pc_want {
    const mt_symbolizer_t *s;
    uint64_t pc;
    uint32_t trace;
} pc_want_t;

static bool pc_is(const void *ctx, uint32_t v)
{
    const pc_want_t *k = ctx;
    return k->s->pcs[v].pc == k->pc && k->s->pcs[v].trace == k->trace;
}

uint32_t mt_sym_pc_class_at(mt_symbolizer_t *s, uint32_t trace, uint64_t pc, uint64_t ts,
                            bool *self)
{
    uint32_t slot = (uint32_t)(((pc ^ ((uint64_t)trace << 40)) * 0x9e3779b97f4a7c15ull) >> 52);
    uint32_t hot = s->pc_hot[slot];
    if (hot && s->pcs[hot - 1].pc == pc && s->pcs[hot - 1].trace == trace) {
        *self = s->pcs[hot - 1].self;
        return s->pcs[hot - 1].id;
    }
    uint64_t w[2] = {pc, trace};
    uint64_t h = mt_hash_words(w, 2);
    pc_want_t k = {s, pc, trace};
    uint32_t v = mt_table_find(&s->pc_by_key, h, pc_is, &k);
    if (v != MT_TABLE_NONE) {
        s->pc_hot[slot] = v + 1;
        *self = s->pcs[v].self;
        return s->pcs[v].id;
    }
    const symmod_t *m = find_module(s, trace, pc, ts);
    *self = m && s->files[m->file].self;
    uint32_t id = *self ? 0 : mt_sym_pc_id_at(s, trace, pc, ts);
    if (id != UINT32_MAX && (!m || m->alone) && s->npcs < UINT32_MAX - 1) {
        struct pc_ent *e = MT_VEC_PUSH(NULL, s->pcs, s->npcs, s->pcs_cap);
        if (e && !mt_table_put(&s->pc_by_key, h, (uint32_t)s->npcs)) {
            *e = (struct pc_ent){pc, trace, id, *self};
            s->pc_hot[slot] = (uint32_t)++s->npcs;
        }
    }
    return id;
}
