/* test-symbolize.c - analyze/symbolize.c on this test program itself: its
 * module record is built from dl_iterate_phdr (the real load bias), and
 * return addresses taken at known lines must come back as the right
 * function, file and line, inlined frames included (also three levels deep
 * at -O2, symbolize-o2.c). Fallbacks: a missing file, a build-id mismatch,
 * an address outside every module, code without debug information. */
#include <criterion/criterion.h>
#include <elfutils/libdwfl.h>
#include <elf.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "debugfile.h"
#include "lines.h"
#include "scopes.h"
#include "symbolize-o2.h"
#include "tracegen.h"

static mt_module_t self;
static uint64_t text_lo, text_hi; /* the executable segment */
static int marker_line, inner_line, outer_line;

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size, (void)data;
    if (info->dlpi_name && info->dlpi_name[0])
        return 0; /* the main program has an empty name */
    self.base = info->dlpi_addr;
    self.lo = UINT64_MAX;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD) {
            uint64_t a = info->dlpi_addr + ph->p_vaddr;
            if (a < self.lo)
                self.lo = a;
            if (a + ph->p_memsz > self.hi)
                self.hi = a + ph->p_memsz;
            if (ph->p_flags & PF_X)
                text_lo = a, text_hi = a + ph->p_memsz;
        }
        if (ph->p_type == PT_NOTE) { /* the GNU build id, as the shim records it */
            const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
            while (p + sizeof(ElfW(Nhdr)) <= end) {
                const ElfW(Nhdr) *nh = (const void *)p;
                const char *name = p + sizeof(*nh);
                const char *desc = name + ((nh->n_namesz + 3) & ~3u);
                if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
                    memcmp(name, "GNU", 4) == 0 && nh->n_descsz <= sizeof(self.build_id)) {
                    memcpy(self.build_id, desc, nh->n_descsz);
                    self.build_id_len = nh->n_descsz;
                }
                p = desc + ((nh->n_descsz + 3) & ~3u);
            }
        }
    }
    return 1;
}

static void load_self(void)
{
    ssize_t n = readlink("/proc/self/exe", self.path, sizeof(self.path) - 1);
    cr_assert(n > 0);
    self.path[n] = '\0';
    dl_iterate_phdr(find_self, NULL);
    cr_assert(self.hi > self.lo);
}

__attribute__((noinline)) static uint64_t caller_pc(void)
{
    return (uint64_t)(uintptr_t)__builtin_return_address(0);
}

__attribute__((noinline)) uint64_t marker_function(void)
{
    uint64_t pc = caller_pc(); marker_line = __LINE__;
    __asm__ volatile("" ::: "memory");
    return pc;
}

static inline __attribute__((always_inline)) uint64_t inner_inline(void)
{
    uint64_t pc = caller_pc(); inner_line = __LINE__;
    return pc;
}

__attribute__((noinline)) uint64_t outer_function(void)
{
    uint64_t pc = inner_inline(); outer_line = __LINE__;
    __asm__ volatile("" ::: "memory");
    return pc;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = s ? strlen(s) : 0, b = strlen(suffix);
    return s && a >= b && strcmp(s + a - b, suffix) == 0;
}

Test(symbolize, function_file_line)
{
    load_self();
    cr_assert_neq(self.build_id_len, 0, "the test binary has a build id");
    mt_symbolizer_t *s = mt_sym_new();
    cr_assert(s);
    cr_assert_eq(mt_sym_add_module(s, 0, &self), 0);
    uint64_t pc = marker_function();
    mt_frame_t fr[8];
    size_t n = mt_sym_pc(s, 0, pc, fr, 8);
    cr_assert_geq(n, 1);
    cr_expect_str_eq(fr[0].function, "marker_function");
    cr_expect(ends_with(fr[0].file, "/tests/analyze/test-symbolize.c"), "file %s", fr[0].file);
    cr_expect(fr[0].file && fr[0].file[0] == '/', "absolute: %s", fr[0].file);
    cr_expect_eq(fr[0].line, (uint32_t)marker_line);
    cr_expect_str_eq(fr[0].module, self.path);
    cr_expect_eq(fr[0].address, pc);
    cr_expect(!fr[0].inlined);
    cr_expect(!mt_sym_is_self(s, 0, pc));

    uint32_t file;
    uint64_t rel;
    mt_sym_locate(s, 0, pc, &file, &rel);
    cr_expect_eq(file, 0);
    cr_expect_eq(rel, pc - self.base);

    /* Cached: the same answer again. */
    mt_frame_t again[8];
    cr_expect_eq(mt_sym_pc(s, 0, pc, again, 8), n);
    cr_expect_eq(again[0].function, fr[0].function);
    mt_sym_free(s);
}

Test(symbolize, inlined_frames)
{
    load_self();
    mt_symbolizer_t *s = mt_sym_new();
    cr_assert_eq(mt_sym_add_module(s, 0, &self), 0);
    uint64_t pc = outer_function();
    mt_frame_t fr[8];
    size_t n = mt_sym_pc(s, 0, pc, fr, 8);
    cr_assert_eq(n, 2, "inline_inline inlined into outer_function: %zu frames", n);
    cr_expect_str_eq(fr[0].function, "inner_inline");
    cr_expect(fr[0].inlined);
    cr_expect_eq(fr[0].line, (uint32_t)inner_line);
    cr_expect_str_eq(fr[1].function, "outer_function");
    cr_expect(!fr[1].inlined);
    cr_expect_eq(fr[1].line, (uint32_t)outer_line);
    cr_expect(ends_with(fr[1].file, "test-symbolize.c"), "%s", fr[1].file);
    mt_sym_free(s);
}

/* o2_chain inlines o2_level1, which inlines o2_level2, which inlines
 * o2_level3 (-O2): every level is a frame, and each line is the call in
 * that function (what `addr2line -i` prints), not only the innermost. */
Test(symbolize, nested_inlined_frames_at_O2)
{
    load_self();
    mt_symbolizer_t *s = mt_sym_new();
    cr_assert_eq(mt_sym_add_module(s, 0, &self), 0);
    uint64_t pc = o2_chain(5);
    mt_frame_t fr[8];
    size_t n = mt_sym_pc(s, 0, pc, fr, 8);
    cr_assert_eq(n, 4, "three inlined levels and o2_chain: %zu frames", n);
    const char *fn[] = {"o2_level3", "o2_level2", "o2_level1", "o2_chain"};
    const int line[] = {o2_level3_line, o2_level2_line, o2_level1_line, o2_chain_line};
    for (size_t i = 0; i < 4; i++) {
        cr_expect_str_eq(fr[i].function, fn[i], "frame %zu", i);
        cr_expect_eq(fr[i].line, (uint32_t)line[i], "frame %zu (%s): line %u, not %d", i,
                     fn[i], fr[i].line, line[i]);
        cr_expect(ends_with(fr[i].file, "/tests/analyze/symbolize-o2.c"), "%s", fr[i].file);
        cr_expect_eq(fr[i].inlined, i < 3, "frame %zu", i);
    }
    mt_sym_free(s);
}

/* o2_no_debug is assembly placed after o2_chain, inside the range of that
 * unit's line table but in no function of it: its name comes from the
 * symbol table, and it gets no file and line (not one of o2_chain's). */
Test(symbolize, no_line_for_code_without_debug_info)
{
    load_self();
    mt_symbolizer_t *s = mt_sym_new();
    cr_assert_eq(mt_sym_add_module(s, 0, &self), 0);
    uint64_t pc = o2_no_debug();
    mt_frame_t fr[8];
    size_t n = mt_sym_pc(s, 0, pc, fr, 8);
    cr_assert_eq(n, 1);
    cr_expect_str_eq(fr[0].function, "o2_no_debug");
    cr_expect_null(fr[0].file, "a line of another function: %s:%u", fr[0].file, fr[0].line);
    cr_expect_eq(fr[0].line, 0);
    cr_expect_eq(fr[0].offset, O2_NO_DEBUG_RETURN, "o2_no_debug+%d (after its call), not %lu",
                 O2_NO_DEBUG_RETURN, (unsigned long)fr[0].offset);
    mt_sym_free(s);
}

Test(symbolize, fallbacks)
{
    load_self();
    mt_symbolizer_t *s = mt_sym_new();
    /* trace 0: a file that does not exist */
    mt_module_t *m = calloc(1, sizeof(*m));
    snprintf(m->path, sizeof(m->path), "/nonexistent/libgone.so");
    m->base = 0x7f0000000000;
    m->lo = 0x7f0000000000;
    m->hi = 0x7f0000010000;
    cr_assert_eq(mt_sym_add_module(s, 0, m), 0);
    /* trace 1: this program, recorded with another build id */
    mt_module_t *changed = malloc(sizeof(*changed));
    *changed = self;
    changed->build_id[0] ^= 0xff;
    cr_assert_eq(mt_sym_add_module(s, 1, changed), 0);
    /* trace 2: the shim itself */
    snprintf(m->path, sizeof(m->path), "/usr/lib/x86_64-linux-gnu/libmtrace.so");
    cr_assert_eq(mt_sym_add_module(s, 2, m), 0);

    mt_frame_t fr[4];
    cr_assert_eq(mt_sym_pc(s, 0, 0x7f0000001234, fr, 4), 1);
    cr_expect_null(fr[0].function);
    cr_expect_null(fr[0].file);
    cr_expect_str_eq(fr[0].module, "/nonexistent/libgone.so");
    cr_expect_eq(fr[0].offset, 0x1234);

    uint64_t pc = marker_function();
    cr_assert_eq(mt_sym_pc(s, 1, pc, fr, 4), 1);
    cr_expect_null(fr[0].function, "a changed file must not be trusted");
    cr_expect_eq(fr[0].offset, pc - self.base);

    cr_assert_eq(mt_sym_pc(s, 0, 0x1000, fr, 4), 1); /* no module at all */
    cr_expect_null(fr[0].module);
    cr_expect_null(fr[0].function);
    cr_expect_eq(fr[0].address, 0x1000);

    cr_expect(mt_sym_is_self(s, 2, 0x7f0000000100));
    cr_expect(!mt_sym_is_self(s, 0, 0x7f0000000100));
    cr_expect_str_eq(mt_sym_basename("/a/b/libc.so.6"), "libc.so.6");
    free(m);
    free(changed);
    mt_sym_free(s);
}

/* Thousands of distinct addresses resolve quickly thanks to the per-file
 * Dwfl and the cache (a coarse guard, not a benchmark). */
Test(symbolize, many_addresses, .timeout = 20)
{
    load_self();
    mt_symbolizer_t *s = mt_sym_new();
    cr_assert_eq(mt_sym_add_module(s, 0, &self), 0);
    mt_frame_t fr[8];
    size_t named = 0;
    /* Code only: the segments before it (200 KiB of them in an ASan build)
     * hold no function. */
    for (uint64_t a = text_lo; a < text_hi && a < text_lo + 200000; a += 7)
        named += mt_sym_pc(s, 0, a, fr, 8) && fr[0].function != NULL;
    cr_expect_gt(named, 100);
    mt_sym_free(s);
}

/* Adds module PATH over [LO, LO + 0x10000) of trace 0, mapped in [FIRST, LAST). */
static void add_timed(mt_symbolizer_t *s, const char *path, uint64_t lo, uint64_t first,
                      uint64_t last)
{
    static mt_module_t m;
    memset(&m, 0, sizeof(m));
    snprintf(m.path, sizeof(m.path), "%s", path);
    m.base = m.lo = lo;
    m.hi = lo + 0x10000;
    m.first_ts = first;
    m.last_ts = last;
    cr_assert_eq(mt_sym_add_module(s, 0, &m), 0);
}

/* dlclose then dlopen of another library at the same address: a pc is the
 * module that was mapped there at the event's time, not the last loaded. */
Test(symbolize, module_mapped_at_the_event_time)
{
    mt_symbolizer_t *s = mt_sym_new();
    const uint64_t at = 0x7f0000000000, pc = at + 0x1234;
    add_timed(s, "/nonexistent/libb.so", at, 200, 0);
    add_timed(s, "/nonexistent/liba.so", at, 100, 200);
    add_timed(s, "/nonexistent/libother.so", at + 0x10000, 0, 0);
    mt_frame_t fr[4];
    const struct {
        uint64_t ts;
        const char *module;
    } want[] = {
        {100, "/nonexistent/liba.so"}, {199, "/nonexistent/liba.so"},
        {200, "/nonexistent/libb.so"}, {5000, "/nonexistent/libb.so"},
        {MT_SYM_LATEST, "/nonexistent/libb.so"},
        /* before any load (a format 1 trace, whose first_ts is a later
         * tick): the one loaded first after it */
        {50, "/nonexistent/liba.so"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        cr_assert_eq(mt_sym_pc_at(s, 0, pc, want[i].ts, fr, 4), 1);
        cr_expect_str_eq(fr[0].module, want[i].module, "at ts %llu",
                         (unsigned long long)want[i].ts);
        cr_expect_eq(fr[0].offset, 0x1234);
    }
    uint32_t fa, fb;
    uint64_t rel;
    mt_sym_locate_at(s, 0, pc, 150, &fa, &rel);
    mt_sym_locate_at(s, 0, pc, 250, &fb, &rel);
    cr_expect_neq(fa, fb, "two files, two grouping keys");
    cr_expect_eq(rel, 0x1234);
    mt_sym_free(s);
}

/* A plugin loaded and unloaded 300 times at one address, alternating two
 * files: the lookup still finds the instance of each time. */
Test(symbolize, many_reloads_at_one_address)
{
    mt_symbolizer_t *s = mt_sym_new();
    const uint64_t at = 0x7f0000000000;
    for (uint64_t i = 0; i < 300; i++)
        add_timed(s, i & 1 ? "/nonexistent/odd.so" : "/nonexistent/even.so", at, 10 * i,
                  10 * i + 10);
    mt_frame_t fr[4];
    for (uint64_t i = 0; i < 300; i += 37) {
        cr_assert_eq(mt_sym_pc_at(s, 0, at + 0x100, 10 * i + 5, fr, 4), 1);
        cr_expect_str_eq(fr[0].module, i & 1 ? "/nonexistent/odd.so" : "/nonexistent/even.so",
                         "instance %llu", (unsigned long long)i);
    }
    /* after the last unload: the one unloaded last */
    cr_assert_eq(mt_sym_pc_at(s, 0, at + 0x100, 99999, fr, 4), 1);
    cr_expect_str_eq(fr[0].module, "/nonexistent/odd.so");
    mt_sym_free(s);
}

/* ---- symbol tables: read once per function, not per address ----------- */

static mt_module_t lib_mod;
static uint64_t lib_text_lo, lib_text_hi;

/* The module record of the loaded library named DATA (e.g. "/libdw.so.1"). */
static int find_lib(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    if (!info->dlpi_name || !strstr(info->dlpi_name, data))
        return 0;
    snprintf(lib_mod.path, sizeof(lib_mod.path), "%s", info->dlpi_name);
    lib_mod.base = info->dlpi_addr;
    lib_mod.lo = UINT64_MAX;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uint64_t a = info->dlpi_addr + ph->p_vaddr;
        if (a < lib_mod.lo)
            lib_mod.lo = a;
        if (a + ph->p_memsz > lib_mod.hi)
            lib_mod.hi = a + ph->p_memsz;
        if (ph->p_flags & PF_X)
            lib_text_lo = a, lib_text_hi = a + ph->p_memsz;
    }
    return 1;
}

static const Dwfl_Callbacks plain_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
};

/* Every address of MOD's code in [LO, HI) (step STEP) gets the symbol
 * dwfl_module_addrinfo gives for it when it has no source line (libc,
 * assembly): the same name and offset. Returns the addresses compared;
 * NAMED: how many of them have a symbol. */
static size_t compare_with_addrinfo(const mt_module_t *mod, uint64_t lo, uint64_t hi,
                                    uint64_t step, size_t *named, uint64_t *scans)
{
    mt_symbolizer_t *s = mt_sym_new();
    cr_assert_eq(mt_sym_add_module(s, 0, mod), 0);
    Dwfl *d = dwfl_begin(&plain_callbacks);
    cr_assert_not_null(d);
    dwfl_report_begin(d);
    Dwfl_Module *dm = dwfl_report_elf(d, "m", mod->path, -1, 0, false);
    dwfl_report_end(d, NULL, NULL);
    cr_assert_not_null(dm);
    size_t compared = 0;
    *named = 0;
    mt_frame_t fr[8];
    for (uint64_t pc = lo + 1; pc < hi; pc += step) {
        size_t n = mt_sym_pc(s, 0, pc, fr, 8);
        cr_assert_geq(n, 1);
        if (fr[0].file)
            continue; /* named by DWARF */
        uint64_t rel = pc - mod->base;
        GElf_Off off = 0;
        GElf_Sym sym;
        const char *want = dwfl_module_addrinfo(dm, rel - 1, &off, &sym, NULL, NULL, NULL);
        if (want && want[0] == '_' && want[1] == 'Z')
            continue; /* demangled: not the same text */
        compared++;
        if (!want) {
            cr_assert_null(fr[0].function, "%#lx: %s, addrinfo has none", (unsigned long)rel,
                           fr[0].function);
            continue;
        }
        (*named)++;
        cr_assert_str_eq(fr[0].function ? fr[0].function : "(none)", want, "at %#lx",
                         (unsigned long)rel);
        cr_assert_eq(fr[0].offset, off + 1, "%s+%#lx, not +%#lx", want, (unsigned long)off + 1,
                     (unsigned long)fr[0].offset);
    }
    *scans = mt_sym_symtab_scans(s);
    dwfl_end(d);
    mt_sym_free(s);
    return compared;
}

/* The symbol table is not scanned again for each address (a whole-table
 * scan each, which made `top` take seconds on a compiler's trace): libdw's
 * code (no debug information installed: symbols only), every 13th byte,
 * needs at most one scan per 10 addresses, and every name and offset is
 * still the one dwfl_module_addrinfo gives. */
Test(symbolize, symbol_table_scanned_once_per_function, .timeout = 60)
{
    dl_iterate_phdr(find_lib, "/libdw.so.1");
    cr_assert(lib_text_hi > lib_text_lo, "libdw is loaded");
    uint64_t scans;
    size_t named;
    size_t n = compare_with_addrinfo(&lib_mod, lib_text_lo, lib_text_hi, 13, &named, &scans);
    cr_assert_gt(n, 10000, "%zu addresses compared", n);
    cr_expect_gt(named, 1000, "%zu of %zu addresses named", named, n);
    cr_expect_lt(scans * 10, n, "%lu scans for %zu addresses", (unsigned long)scans, n);
}

/* The same names on this program (a full symbol table: local, global,
 * weak and sizeless symbols), where DWARF does not name the address. */
Test(symbolize, symbol_names_as_addrinfo_gives_them, .timeout = 60)
{
    load_self();
    uint64_t scans;
    size_t named;
    size_t n = compare_with_addrinfo(&self, text_lo, text_hi, 3, &named, &scans);
    cr_assert_gt(n, 100, "%zu addresses compared", n);
    cr_expect_gt(named, 50, "%zu of %zu addresses named", named, n);
}

/* ---- scopes.c, print ids, prefetch --------------------------------------- */

static uint64_t last_abbrevs_probed; /* by frames_of's symbolizer */
static uint64_t last_libdw_siblings;

/* The frames of [LO, HI) (every STEP-th byte) of module MOD, as one string
 * per address: function, file, line, inlined flag, module of each frame and
 * its offset when it has no file (what a frame prints as). With LIBDW the scopes are libdw's own (dwarf_getscopes). */
static char **frames_of(const mt_module_t *mod, uint64_t lo, uint64_t hi, uint64_t step,
                        bool libdw, size_t *count, uint64_t *dies, uint64_t *walks,
                        uint32_t *ids)
{
    mt__scopes_libdw_only = mt__lines_libdw_only = mt__debugfile_standard_only = libdw;
    mt_symbolizer_t *s = mt_sym_new();
    cr_assert_eq(mt_sym_add_module(s, 0, mod), 0);
    size_t n = 0, cap = (hi - lo) / step + 1;
    char **out = calloc(cap, sizeof(*out));
    cr_assert_not_null(out);
    for (uint64_t pc = lo + 1; pc < hi; pc += step) {
        mt_frame_t fr[32];
        size_t k = mt_sym_pc(s, 0, pc, fr, 32);
        char buf[16384];
        size_t len = 0;
        for (size_t i = 0; i < k && len < sizeof(buf) - 512; i++)
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s|%s|%u|%d|%s|%lx;",
                                    fr[i].function ? fr[i].function : "-",
                                    fr[i].file ? fr[i].file : "-", fr[i].line, fr[i].inlined,
                                    fr[i].module ? fr[i].module : "-",
                                    (unsigned long)(fr[i].file ? 0 : fr[i].offset));
        if (ids)
            ids[n] = mt_sym_pc_id_at(s, 0, pc, MT_SYM_LATEST);
        out[n++] = strdup(buf);
    }
    mt_sym_scope_counts(s, dies, walks);
    last_abbrevs_probed = mt_sym_scope_abbrevs_probed(s);
    last_libdw_siblings = mt_sym_scope_libdw_siblings(s);
    uint64_t lines_decoded, lines_libdw;
    mt_sym_line_counts(s, &lines_decoded, &lines_libdw);
    cr_log_info("%zu addresses: %lu units' lines decoded here, %lu lookups left to libdw", n,
                (unsigned long)lines_decoded, (unsigned long)lines_libdw);
    mt_sym_free(s);
    mt__scopes_libdw_only = mt__lines_libdw_only = mt__debugfile_standard_only = false;
    *count = n;
    return out;
}

/* Every address of this program's code (its -O2 fixture inlines three
 * levels deep) gets the same frames from scopes.c's index as from libdw's
 * walks of the unit, and the index leaves no address to libdw: its work is
 * one read of the DIEs an address descends into, not three walks of the
 * unit per address. */
Test(symbolize, scopes_as_libdw_gives_them, .timeout = 120)
{
    load_self();
    size_t n, nref;
    uint64_t dies, walks, ref_dies, ref_walks;
    char **idx = frames_of(&self, text_lo, text_hi, 5, false, &n, &dies, &walks, NULL);
    char **ref = frames_of(&self, text_lo, text_hi, 5, true, &nref, &ref_dies, &ref_walks, NULL);
    cr_assert_eq(n, nref);
    size_t inlined = 0;
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(idx[i], ref[i], "address %#lx", (unsigned long)(text_lo + 1 + 5 * i));
        inlined += strstr(idx[i], "|1|") != NULL;
        free(idx[i]);
        free(ref[i]);
    }
    free(idx);
    free(ref);
    cr_expect_gt(inlined, 10, "%zu addresses with inlined frames", inlined);
    cr_expect_eq(walks, 0, "%lu addresses left to libdw", (unsigned long)walks);
    cr_expect_gt(ref_walks, n / 2, "the reference walks: %lu", (unsigned long)ref_walks);
    cr_expect_eq(ref_dies, 0);
    cr_expect_gt(dies, 0);
}

/* Whether a top-level DIE has pc ranges is its abbreviation's to say:
 * the index asks libdw once per abbreviation, not twice per DIE (most of a
 * unit's DIEs are types and declarations sharing a few abbreviations). */
Test(symbolize, scopes_ask_libdw_once_per_abbreviation, .timeout = 120)
{
    load_self();
    size_t n;
    uint64_t dies, walks;
    char **fr = frames_of(&self, text_lo, text_hi, 5, false, &n, &dies, &walks, NULL);
    for (size_t i = 0; i < n; i++)
        free(fr[i]);
    free(fr);
    cr_log_info("%lu DIEs read, %lu abbreviations asked about", (unsigned long)dies,
                (unsigned long)last_abbrevs_probed);
    cr_assert_gt(dies, 1000, "the index read the units' DIEs: %lu", (unsigned long)dies);
    cr_expect_gt(last_abbrevs_probed, 0);
    cr_expect_lt(last_abbrevs_probed * 4, dies, "%lu abbreviations asked about for %lu DIEs",
                 (unsigned long)last_abbrevs_probed, (unsigned long)dies);
}

/* The index steps from a DIE to its sibling itself (by DW_AT_sibling, or
 * past a childless DIE's attributes) and leaves to dwarf_siblingof only
 * what it does not model; the frames are still libdw's (checked above on
 * every address of this program and of libc). */
Test(symbolize, scopes_walk_siblings_without_libdw, .timeout = 120)
{
    load_self();
    size_t n;
    uint64_t dies, walks;
    char **fr = frames_of(&self, text_lo, text_hi, 5, false, &n, &dies, &walks, NULL);
    for (size_t i = 0; i < n; i++)
        free(fr[i]);
    free(fr);
    cr_log_info("%lu DIEs read, %lu steps to a sibling left to libdw", (unsigned long)dies,
                (unsigned long)last_libdw_siblings);
    cr_assert_gt(dies, 1000, "the index read the units' DIEs: %lu", (unsigned long)dies);
    cr_expect_lt(last_libdw_siblings * 3, dies, "%lu of %lu steps left to libdw",
                 (unsigned long)last_libdw_siblings, (unsigned long)dies);
}

/* The same on libc when its debug information is installed (libc6-dbg):
 * GCC -O2 DWARF 5 with deep inlining, range lists and assembly units, in a
 * separate file whose sections are zlib-compressed: handed to libdw
 * inflated here (debugfile.c) against libdw inflating them itself. */
Test(symbolize, scopes_as_libdw_gives_them_in_libc, .timeout = 300)
{
    dl_iterate_phdr(find_lib, "/libc.so.6");
    cr_assert(lib_text_hi > lib_text_lo, "libc is loaded");
    size_t n, nref;
    uint64_t dies, walks, ref_dies, ref_walks;
    char **idx = frames_of(&lib_mod, lib_text_lo, lib_text_hi, 97, false, &n, &dies, &walks, NULL);
    char **ref = frames_of(&lib_mod, lib_text_lo, lib_text_hi, 97, true, &nref, &ref_dies,
                           &ref_walks, NULL);
    cr_assert_eq(n, nref);
    for (size_t i = 0; i < n; i++) {
        cr_assert_str_eq(idx[i], ref[i], "libc+%#lx",
                         (unsigned long)(lib_text_lo + 1 + 97 * i - lib_mod.base));
        free(idx[i]);
        free(ref[i]);
    }
    free(idx);
    free(ref);
    cr_log_info("libc: %zu addresses, %lu in units (%lu DIEs indexed), %lu debug file "
                "inflated here%s", n, (unsigned long)ref_walks, (unsigned long)dies,
                mt_debugfile_inflated(),
                ref_walks ? "" : ": no debug information installed, symbols only");
    struct stat dbg;
    if (!stat("/usr/lib/debug/.build-id", &dbg) && ref_walks)
        cr_expect_eq(mt_debugfile_inflated(), 1, "libc's debug file inflated here, once");
    cr_expect_eq(walks, 0, "%lu addresses left to libdw", (unsigned long)walks);
}

/* Two addresses get the same print id exactly when their frames print
 * alike (what top and leaks merge rows by). */
Test(symbolize, print_ids_are_equal_exactly_when_frames_print_alike, .timeout = 60)
{
    load_self();
    size_t n;
    uint64_t dies, walks;
    uint64_t span = text_hi - text_lo < 60000 ? text_hi - text_lo : 60000;
    uint32_t *ids = calloc(span / 7 + 2, sizeof(*ids));
    cr_assert_not_null(ids);
    char **fr = frames_of(&self, text_lo, text_lo + span, 7, false, &n, &dies, &walks, ids);
    size_t alike = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            bool same = strcmp(fr[i], fr[j]) == 0;
            cr_assert_eq(ids[i] == ids[j], same, "%s and %s: ids %u and %u", fr[i], fr[j],
                         ids[i], ids[j]);
            alike += same;
        }
    cr_expect_gt(alike, 0);
    for (size_t i = 0; i < n; i++)
        free(fr[i]);
    free(fr);
    free(ids);
}

/* While the traces replay, a thread prepares the module files their stacks
 * use (opens them, decompresses and reads their debug sections and symbol
 * tables), all but the first, which the symbolizer takes at once; the
 * frames are those of a symbolizer without it. */
Test(symbolize, prefetch_prepares_the_files_the_stacks_use, .timeout = 60)
{
    load_self();
    dl_iterate_phdr(find_lib, "/libdw.so.1");
    cr_assert(lib_text_hi > lib_text_lo, "libdw is loaded");
    char dir[] = "/tmp/mt-prefetch-XXXXXX", trace[64];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(trace, sizeof(trace), "%s/t", dir);
    tg_open(trace, 0, 0, 1000);
    tg_module(1, self.path, self.base, self.lo, self.hi);
    tg_module(2, lib_mod.path, lib_mod.base, lib_mod.lo, lib_mod.hi);
    tg_module(3, "/nonexistent/libunused.so", 0x10000000, 0x10000000, 0x10100000);
    uint64_t pcs[3] = {o2_chain(5), lib_text_lo + 0x101, self.lo + 0x10};
    tg_stack(1, pcs, 3);
    tg_close(1);
    mt_reader_t *r;
    cr_assert_eq(mt_reader_open(&r, trace), 0);
    mt_symbolizer_t *with = mt_sym_new(), *without = mt_sym_new();
    cr_assert_eq(mt_sym_add_trace(with, 0, r), 0);
    cr_assert_eq(mt_sym_add_trace(without, 0, r), 0);
    cr_assert_eq(mt_sym_prefetch(with, &r, 1), 0);
    for (int i = 0; i < 2000 && mt_sym_prefetched(with) < 1; i++)
        usleep(10000);
    cr_assert_eq(mt_sym_prefetched(with), 1, "libdw's file prepared alongside");
    for (int i = 0; i < 3; i++) {
        mt_frame_t a[32], b[32];
        size_t na = mt_sym_pc(with, 0, pcs[i], a, 32), nb = mt_sym_pc(without, 0, pcs[i], b, 32);
        cr_assert_eq(na, nb);
        for (size_t k = 0; k < na; k++) {
            cr_assert_str_eq(a[k].function ? a[k].function : "-", b[k].function ? b[k].function : "-");
            cr_assert_str_eq(a[k].file ? a[k].file : "-", b[k].file ? b[k].file : "-");
            cr_assert_eq(a[k].line, b[k].line);
            cr_assert_eq(a[k].offset, b[k].offset);
        }
    }
    cr_assert_eq(mt_sym_prefetched(with), 1);
    mt_sym_free(with);
    mt_sym_free(without);
    mt_reader_close(r);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* A pc's print id is remembered per (trace, pc) while the module map
 * stays; a module added later (a live trace's refresh) over a pc that had
 * none gives it that module's id. */
Test(symbolize, pc_ids_follow_a_changed_module_map)
{
    mt_symbolizer_t *s = mt_sym_new();
    const uint64_t at = 0x7f0000000000, pc = at + 0x20010;
    add_timed(s, "/nonexistent/liba.so", at, 0, 0);
    bool self;
    uint32_t before = mt_sym_pc_class_at(s, 0, pc, 5, &self);
    cr_assert_eq(mt_sym_pc_class_at(s, 0, pc, 5, &self), before, "remembered");
    mt_frame_t fr[4];
    cr_assert_eq(mt_sym_pc(s, 0, pc, fr, 4), 1);
    cr_assert_null(fr[0].module, "no module at %#lx yet", (unsigned long)pc);
    add_timed(s, "/nonexistent/libb.so", at + 0x20000, 0, 0);
    uint32_t after = mt_sym_pc_class_at(s, 0, pc, 5, &self);
    cr_assert_neq(after, before, "the id of libb.so+0x10, not of a bare address");
    cr_assert_eq(mt_sym_pc(s, 0, pc, fr, 4), 1);
    cr_assert_str_eq(mt_sym_basename(fr[0].module), "libb.so");
    cr_assert_eq(fr[0].offset, 0x10);
    mt_sym_free(s);
}
